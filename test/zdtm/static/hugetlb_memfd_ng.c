/*
 * hugetlb_memfd_ng: hugetlb memfds (MFD_HUGETLB) come back as hugetlb memfds:
 * one held by an fd (its offset, seals) and mapped shared, one only mapped
 * (its fd closed), written through a private mapping too. Each keeps its
 * contents and huge page size; a write through the shared mapping after
 * restore is seen through the fd (one file still); the private copy stays
 * private. Skipped, saying why, when the machine has too few free huge pages.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#define HUGETLBFS_MAGIC_NG 0x958458f6
#define NR_HUGE 2
#define MARK "written after restore"

/* The filesystem block size of the file behind the mapping at @addr (its huge page size), or 0. */
static long map_bsize(const void *addr)
{
	char path[96], line[256];
	unsigned long s = 0, e = 0, a = (unsigned long)addr;
	struct statfs sfs;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && a >= s && a < e)
			break;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", s, e);
	if (statfs(path, &sfs) || sfs.f_type != HUGETLBFS_MAGIC_NG)
		return 0;
	return (long)sfs.f_bsize;
}

int main(int argc, char **argv)
{
	long hp_kb = 0, free_pages = -1;
	uint8_t *shared, *only, *priv;
	uint32_t crc[3];
	struct statfs sfs;
	char line[256], buf[sizeof(MARK)];
	size_t hp, len;
	FILE *f;
	int fd, fd2;

	test_init(argc, argv);
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "Hugepagesize: %ld kB", &hp_kb);
		sscanf(line, "HugePages_Free: %ld", &free_pages);
	}
	if (f)
		fclose(f);
	if (hp_kb <= 0 || free_pages < 3 * NR_HUGE)
		test_skip("%ld free huge pages of %ld kB, %d needed: set /proc/sys/vm/nr_hugepages", free_pages, hp_kb,
			  3 * NR_HUGE);
	hp = (size_t)hp_kb * 1024;
	len = NR_HUGE * hp;

	fd = memfd_create("hugetlb_memfd_ng", MFD_HUGETLB | MFD_ALLOW_SEALING);
	fd2 = memfd_create("hugetlb_memfd_ng only mapped", MFD_HUGETLB);
	if (fd < 0 || fd2 < 0 || ftruncate(fd, (off_t)len) || ftruncate(fd2, (off_t)len)) {
		fail("memfd_create(MFD_HUGETLB)");
		return 1;
	}
	shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	only = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd2, 0);
	if (shared == MAP_FAILED || only == MAP_FAILED || priv == MAP_FAILED) {
		fail("mmap");
		return 1;
	}
	close(fd2);
	/* the first huge page of each; the second never touched */
	datagen(shared, hp, &crc[0]);
	datagen(only, hp, &crc[1]);
	datagen(priv, hp, &crc[2]);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) || lseek(fd, 4096, SEEK_SET) != 4096) {
		fail("seals, offset");
		return 1;
	}

	test_daemon();
	test_waitsig();

	/* the private copy, written last, would have overwritten the shared contents if it were shared */
	if (datachk(shared, hp, crc[0]) || datachk(only, hp, crc[1]) || datachk(priv, hp, crc[2])) {
		fail("hugetlb memfd contents changed");
		return 1;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != HUGETLBFS_MAGIC_NG || (size_t)sfs.f_bsize != hp ||
	    map_bsize(shared) != (long)hp || map_bsize(only) != (long)hp || map_bsize(priv) != (long)hp) {
		fail("not hugetlb memfds of %zu-byte pages any more", hp);
		return 1;
	}
	if (fcntl(fd, F_GET_SEALS) != (F_SEAL_GROW | F_SEAL_SHRINK) || lseek(fd, 0, SEEK_CUR) != 4096) {
		fail("seals %#x, offset %lld", fcntl(fd, F_GET_SEALS), (long long)lseek(fd, 0, SEEK_CUR));
		return 1;
	}
	for (size_t i = 0; i < hp; i += 4096) {
		if (shared[hp + i] || only[hp + i]) {
			fail("a huge page never written isn't zero");
			return 1;
		}
	}
	memcpy(shared + hp, MARK, sizeof(MARK));
	if (pread(fd, buf, sizeof(buf), (off_t)hp) != (ssize_t)sizeof(buf) || memcmp(buf, MARK, sizeof(MARK))) {
		fail("the mapping and the fd are not one hugetlb memfd any more");
		return 1;
	}
	pass();
	return 0;
}
