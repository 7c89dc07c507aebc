/*
 * stack: data on a deep stack. A recursion fills a pattern into each frame's
 * locals, waits at the bottom, and checks every frame on the way back up.
 */
#include <string.h>

#include "zdtmtst.h"

#define DEPTH 256
#define FRAME_BYTES 1024

/* Returns the number of frames whose data changed. */
static int __attribute__((noinline)) descend(int level)
{
	volatile uint8_t frame[FRAME_BYTES];
	uint8_t copy[FRAME_BYTES];
	uint32_t crc;
	int bad;

	datagen_seed(copy, sizeof(copy), (uint32_t)level * 2654435761u);
	memcpy((void *)frame, copy, sizeof(copy));
	crc = data_crc32(copy, sizeof(copy));

	if (level < DEPTH)
		bad = descend(level + 1);
	else {
		test_daemon();
		test_waitsig();
		bad = 0;
	}

	memcpy(copy, (const void *)frame, sizeof(copy));
	if (datachk(copy, sizeof(copy), crc)) {
		fail("stack frame of level %d changed", level);
		bad++;
	}
	return bad;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (descend(0))
		return 1;
	pass();
	return 0;
}
