/*
 * heap: malloc()ed data, small blocks on the brk heap and large ones that
 * malloc maps by itself, must come back unchanged, and so must the program
 * break.
 */
#include <stdlib.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_BLOCKS 64

int main(int argc, char **argv)
{
	void *blocks[NR_BLOCKS];
	size_t sizes[NR_BLOCKS];
	uint32_t crcs[NR_BLOCKS];
	void *brk_before;
	int ret = 0;

	test_init(argc, argv);
	for (int i = 0; i < NR_BLOCKS; i++) {
		/* 16 bytes up to 1 MiB: both sides of the mmap threshold */
		sizes[i] = (size_t)16 << (i % 17);
		blocks[i] = malloc(sizes[i]);
		if (!blocks[i]) {
			fail("malloc(%zu)", sizes[i]);
			return 1;
		}
		datagen(blocks[i], sizes[i], &crcs[i]);
	}
	/* free a few so the heap has holes */
	for (int i = 0; i < NR_BLOCKS; i += 7) {
		free(blocks[i]);
		blocks[i] = NULL;
	}
	brk_before = sbrk(0);

	test_daemon();
	test_waitsig();

	if (sbrk(0) != brk_before) {
		fail("program break moved from %p to %p", brk_before, sbrk(0));
		ret = 1;
	}
	for (int i = 0; i < NR_BLOCKS; i++) {
		if (blocks[i] && datachk(blocks[i], sizes[i], crcs[i])) {
			fail("heap block %d (%zu bytes at %p) changed", i, sizes[i], blocks[i]);
			ret = 1;
		}
	}
	for (int i = 0; i < NR_BLOCKS; i++)
		free(blocks[i]);
	if (!ret)
		pass();
	return ret;
}
