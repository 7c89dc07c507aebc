/*
 * memfd01: a memfd mapped MAP_SHARED twice (read-write over its whole size,
 * read-only over its second half) while its fd stays open, and mapped
 * MAP_PRIVATE once with a page written through that mapping.
 *
 * After restore: the mappings hold what they held; a write through the fd is
 * seen through both shared mappings and a write through the read-write
 * mapping is read through the fd (one file for all); the private mapping
 * keeps its own page and does not see writes to the file there.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PAGE 4096
#define PAGES 8

int main(int argc, char **argv)
{
	char *rw, *ro, *priv, buf[16];
	int fd, ret = 0;

	test_init(argc, argv);
	fd = memfd_create("zdtm-memfd01", 0);
	if (fd < 0 || ftruncate(fd, PAGE * PAGES)) {
		fail("memfd_create");
		return 1;
	}
	rw = mmap(NULL, PAGE * PAGES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ro = mmap(NULL, PAGE * PAGES / 2, PROT_READ, MAP_SHARED, fd, PAGE * PAGES / 2);
	priv = mmap(NULL, PAGE * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (rw == MAP_FAILED || ro == MAP_FAILED || priv == MAP_FAILED) {
		fail("mmap");
		return 1;
	}
	for (int i = 0; i < PAGES; i++)
		snprintf(rw + i * PAGE, 16, "page %d", i);
	strcpy(priv + PAGE, "private");

	test_daemon();
	test_waitsig();

	for (int i = 0; i < PAGES; i++) {
		char want[16];

		snprintf(want, sizeof(want), "page %d", i);
		if (strcmp(rw + i * PAGE, want) || pread(fd, buf, sizeof(buf), i * PAGE) != sizeof(buf) ||
		    strcmp(buf, want)) {
			fail("page %d lost its data", i);
			ret = 1;
		}
	}
	if (strcmp(ro, "page 4") || strcmp(priv, "page 0") || strcmp(priv + PAGE, "private")) {
		fail("the read-only or private mapping lost its data");
		ret = 1;
	}
	/* Through the fd, seen in both shared mappings. */
	if (pwrite(fd, "fd-write", 9, PAGE * 5) != 9 || strcmp(rw + PAGE * 5, "fd-write") ||
	    strcmp(ro + PAGE, "fd-write")) {
		fail("a write through the fd is not seen through the mappings");
		ret = 1;
	}
	/* Through the mapping, seen through the fd. */
	strcpy(rw + PAGE * 6, "map-write");
	if (pread(fd, buf, 10, PAGE * 6) != 10 || strcmp(buf, "map-write") || strcmp(ro + PAGE * 2, "map-write")) {
		fail("a write through the mapping is not seen through the fd");
		ret = 1;
	}
	/* The private copy of page 1 stays its own. */
	strcpy(rw + PAGE, "shared-1");
	if (strcmp(priv + PAGE, "private")) {
		fail("the private mapping sees a write to the file");
		ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
