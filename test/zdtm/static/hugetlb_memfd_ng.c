/*
 * hugetlb_memfd_ng: a hugetlb memfd (MFD_HUGETLB) mapped by the process, its
 * fd closed, is not supported yet: the dump is refused ("a hugetlb memfd") and
 * the process runs on untouched, its memory as before. Skipped, saying why,
 * when the machine has no free huge page.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

int main(int argc, char **argv)
{
	long hp_kb = 0, free_pages = -1;
	char line[256];
	uint8_t *p;
	uint32_t crc;
	size_t hp;
	FILE *f;
	int fd;

	test_init(argc, argv);
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "Hugepagesize: %ld kB", &hp_kb);
		sscanf(line, "HugePages_Free: %ld", &free_pages);
	}
	if (f)
		fclose(f);
	if (hp_kb <= 0 || free_pages < 1)
		test_skip("%ld free huge pages of %ld kB, 1 needed: set /proc/sys/vm/nr_hugepages", free_pages, hp_kb);
	hp = (size_t)hp_kb * 1024;
	fd = memfd_create("hugetlb_memfd_ng", MFD_HUGETLB);
	if (fd < 0 || ftruncate(fd, (off_t)hp)) {
		fail("memfd_create(MFD_HUGETLB)");
		return 1;
	}
	p = mmap(NULL, hp, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fail("mmap");
		return 1;
	}
	close(fd);
	datagen(p, hp, &crc);

	test_daemon();
	test_waitsig();

	if (datachk(p, hp, crc)) {
		fail("the hugetlb memfd's contents changed");
		return 1;
	}
	pass();
	return 0;
}
