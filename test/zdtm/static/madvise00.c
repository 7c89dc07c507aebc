/*
 * madvise00: madvise() state that outlives the call: MADV_DONTFORK,
 * MADV_WIPEONFORK and MADV_DONTDUMP show as VmFlags (dc, wf, dd) and must
 * come back with the data of each mapping.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

struct advised {
	int advice;
	const char *flag;
	char *addr;
	uint32_t crc;
};

int main(int argc, char **argv)
{
	struct advised areas[] = {
		{ MADV_DONTFORK, "dc", NULL, 0 },
		{ MADV_WIPEONFORK, "wf", NULL, 0 },
		{ MADV_DONTDUMP, "dd", NULL, 0 },
	};
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = 4 * page;
	struct test_vma vma = { 0 };
	int ret = 0;

	test_init(argc, argv);
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		/* a guard page on each side keeps the mappings from merging */
		char *map = mmap(NULL, len + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (map == MAP_FAILED || mprotect(map + page, len, PROT_READ | PROT_WRITE)) {
			fail("mmap");
			return 1;
		}
		areas[i].addr = map + page;
		datagen(areas[i].addr, len, &areas[i].crc);
		if (madvise(areas[i].addr, len, areas[i].advice)) {
			fail("madvise(%d)", areas[i].advice);
			return 1;
		}
	}

	test_daemon();
	test_waitsig();

	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		if (test_vma_find(areas[i].addr, &vma) || !test_vma_has_flag(&vma, areas[i].flag)) {
			fail("mapping %p lost VmFlag %s (flags: %s)", (void *)areas[i].addr, areas[i].flag, vma.flags);
			ret = 1;
		} else if (datachk(areas[i].addr, len, areas[i].crc)) {
			fail("mapping %p (%s) lost its data", (void *)areas[i].addr, areas[i].flag);
			ret = 1;
		}
	}
	if (!ret)
		pass();
	return ret;
}
