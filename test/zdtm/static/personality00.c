/*
 * personality00: the execution domain flags (personality(2)) survive.
 */
#include <sys/personality.h>

#include "zdtmtst.h"

#define TEST_PERSONALITY (PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26)

int main(int argc, char **argv)
{
	int now;

	test_init(argc, argv);
	if (personality(TEST_PERSONALITY) < 0 || personality(0xffffffff) != TEST_PERSONALITY) {
		fail("personality(%#x)", TEST_PERSONALITY);
		return 1;
	}

	test_daemon();
	test_waitsig();

	now = personality(0xffffffff);
	if (now != TEST_PERSONALITY) {
		fail("personality is %#x, expected %#x", now, TEST_PERSONALITY);
		return 1;
	}
	pass();
	return 0;
}
