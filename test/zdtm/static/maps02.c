/*
 * maps02: a shared file mapping. Writes through it reach the file, before the
 * checkpoint and after it: the restored mapping must be the file itself, not
 * a private copy of its pages.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "maps02.test";
TEST_OPTION(filename, TEST_OPT_STRING, "file to map", false);

#define NR_PAGES 4

static int check_file(int fd, const char *map, size_t len)
{
	char buf[NR_PAGES * 4096];

	if (len > sizeof(buf) || pread(fd, buf, len, 0) != (ssize_t)len) {
		fail("pread %s", filename);
		return -1;
	}
	if (memcmp(buf, map, len)) {
		fail("%s and its shared mapping differ", filename);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = NR_PAGES * page;
	struct test_vma vma;
	uint32_t crc;
	char *map;
	int fd;

	test_init(argc, argv);
	fd = open(filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, len)) {
		fail("create %s", filename);
		return 1;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fail("mmap");
		return 1;
	}
	datagen(map, len - page, &crc); /* the last page stays a hole */

	test_daemon();
	test_waitsig();

	if (test_vma_find(map, &vma) || strcmp(vma.perms, "rw-s") || vma.start != (uintptr_t)map ||
	    vma.end != (uintptr_t)map + len) {
		fail("the shared mapping at %p is not there as it was", (void *)map);
		return 1;
	}
	if (datachk(map, len - page, crc)) {
		fail("the shared mapping's data changed");
		return 1;
	}
	if (check_file(fd, map, len))
		return 1;
	/* still shared: a write through the mapping shows in the file */
	memset(map + page, 0x5a, 100);
	if (check_file(fd, map, len))
		return 1;
	pass();
	return 0;
}
