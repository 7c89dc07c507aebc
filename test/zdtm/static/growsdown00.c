/*
 * growsdown00: a MAP_GROWSDOWN mapping keeps its data and its growsdown flag.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_PAGES 8

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = NR_PAGES * page;
	struct test_vma vma;
	uint32_t crc;
	char *map;

	test_init(argc, argv);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	if (map == MAP_FAILED) {
		fail("mmap");
		return 1;
	}
	datagen(map, len, &crc);
	if (test_vma_find(map, &vma) || !test_vma_has_flag(&vma, "gd")) {
		fail("the kernel does not show the mapping as growsdown");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (test_vma_find(map, &vma)) {
		fail("nothing mapped at %p", (void *)map);
		return 1;
	}
	if (!test_vma_has_flag(&vma, "gd") || vma.end != (uintptr_t)map + len) {
		fail("mapping %#lx-%#lx (flags %s) is not the growsdown one", (unsigned long)vma.start,
		     (unsigned long)vma.end, vma.flags);
		return 1;
	}
	if (datachk(map, len, crc)) {
		fail("the growsdown mapping's data changed");
		return 1;
	}
	pass();
	return 0;
}
