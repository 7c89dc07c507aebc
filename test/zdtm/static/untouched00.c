/*
 * untouched00: pages never touched are neither dumped nor restored. A large
 * private mapping with one written page must come back with that page and
 * nothing else resident, its other pages still reading as zero.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MAP_BYTES (256ul << 20)
#define TOUCHED_OFFSET (100ul << 20)

static int check_rss(const char *map, size_t page, const char *when)
{
	struct test_vma vma = { 0 };

	if (test_vma_find(map, &vma)) {
		fail("nothing mapped at %p %s", (const void *)map, when);
		return -1;
	}
	if (vma.rss_kb > page / 1024) {
		fail("%lu kB of the mapping resident %s, expected one page", vma.rss_kb, when);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint32_t crc;
	char *map;

	test_init(argc, argv);
	map = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED) {
		fail("mmap");
		return 1;
	}
	/* a huge page would make one write resident for 2 MiB */
	if (madvise(map, MAP_BYTES, MADV_NOHUGEPAGE)) {
		fail("madvise(MADV_NOHUGEPAGE)");
		return 1;
	}
	datagen(map + TOUCHED_OFFSET, page, &crc);
	if (check_rss(map, page, "before the checkpoint"))
		return 1;

	test_daemon();
	test_waitsig();

	if (check_rss(map, page, "after the restore"))
		return 1;
	if (datachk(map + TOUCHED_OFFSET, page, crc)) {
		fail("the touched page changed");
		return 1;
	}
	for (size_t off = 0; off < MAP_BYTES; off += 16 << 20) {
		if (map[off] || map[off + page - 1]) {
			fail("untouched page at offset %zu is not zero", off);
			return 1;
		}
	}
	pass();
	return 0;
}
