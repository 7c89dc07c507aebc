/*
 * umask00: the file creation mask survives.
 */
#include <sys/stat.h>

#include "zdtmtst.h"

#define TEST_UMASK 0253

int main(int argc, char **argv)
{
	mode_t now;

	test_init(argc, argv);
	umask(TEST_UMASK);

	test_daemon();
	test_waitsig();

	now = umask(0);
	if (now != TEST_UMASK) {
		fail("umask is %04o, expected %04o", now, TEST_UMASK);
		return 1;
	}
	pass();
	return 0;
}
