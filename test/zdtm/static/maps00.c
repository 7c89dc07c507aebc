/*
 * maps00: private anonymous memory. Several mappings of different sizes are
 * filled with pattern data, one page of each left untouched; after the wait
 * every byte must be as it was and the untouched pages still zero.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_MAPS 6

struct area {
	char *addr;
	size_t len;
	uint32_t crc; /* of all but the last page */
};

static int check_area(const struct area *a, size_t page)
{
	size_t data = a->len - page;

	if (datachk(a->addr, data, a->crc)) {
		fail("mapping %p (%zu bytes) lost its data", (void *)a->addr, a->len);
		return -1;
	}
	for (size_t i = data; i < a->len; i++) {
		if (a->addr[i]) {
			fail("untouched page of mapping %p is not zero at %zu", (void *)a->addr, i);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t pages[NR_MAPS] = { 2, 3, 16, 65, 257, 1024 };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct area areas[NR_MAPS];
	int ret = 0;

	test_init(argc, argv);
	for (int i = 0; i < NR_MAPS; i++) {
		areas[i].len = pages[i] * page;
		areas[i].addr = mmap(NULL, areas[i].len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (areas[i].addr == MAP_FAILED) {
			fail("mmap of %zu bytes", areas[i].len);
			return 1;
		}
		datagen(areas[i].addr, areas[i].len - page, &areas[i].crc);
	}

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_MAPS; i++)
		if (check_area(&areas[i], page))
			ret = 1;
	if (!ret)
		pass();
	return ret;
}
