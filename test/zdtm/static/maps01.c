/*
 * maps01: several kinds of mappings at once. A private file mapping with some
 * pages dirtied (the file itself must stay as it was), shared anonymous
 * memory, a private mapping whose parts were mprotect()ed read-only and
 * inaccessible, and a read-write range between two PROT_NONE guard pages.
 * Afterwards every range has its address, protection and contents back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "maps01.test";
TEST_OPTION(filename, TEST_OPT_STRING, "file to map", false);

#define FILE_PAGES 8
#define SHARED_PAGES 4
#define PROT_PAGES 8
#define SEED_FILE 0x51
#define SEED_DIRTY 0xd1

/* Pages of the file mapping written to after mmap(). */
static const int dirty_pages[] = { 1, 3, 4 };

struct maps01 {
	size_t page;
	char *file_map;
	char *shared;
	uint32_t shared_crc;
	char *prot;
	uint32_t prot_crc;
	char *guarded; /* guard page, 2 pages rw, guard page */
	uint32_t guarded_crc;
};

static int expect_perms(const void *addr, const char *want, const char *what)
{
	struct test_vma vma;

	if (test_vma_find(addr, &vma)) {
		fail("%s at %p is not mapped", what, addr);
		return -1;
	}
	if (strcmp(vma.perms, want)) {
		fail("%s at %p has permissions %s, expected %s", what, addr, vma.perms, want);
		return -1;
	}
	return 0;
}

static bool page_is_dirty(int idx)
{
	for (size_t i = 0; i < sizeof(dirty_pages) / sizeof(dirty_pages[0]); i++)
		if (dirty_pages[i] == idx)
			return true;
	return false;
}

static int setup_file_map(struct maps01 *m)
{
	size_t len = FILE_PAGES * m->page;
	char *buf = malloc(len);
	int fd;

	if (!buf)
		return -1;
	datagen_seed(buf, len, SEED_FILE);
	fd = open(filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
		fail("can't write %s", filename);
		if (fd >= 0)
			close(fd);
		free(buf);
		return -1;
	}
	free(buf);
	m->file_map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->file_map == MAP_FAILED) {
		fail("mmap of %s", filename);
		return -1;
	}
	for (size_t i = 0; i < sizeof(dirty_pages) / sizeof(dirty_pages[0]); i++)
		datagen_seed(m->file_map + dirty_pages[i] * m->page, m->page, SEED_DIRTY + dirty_pages[i]);
	return 0;
}

static int check_file_map(const struct maps01 *m)
{
	size_t len = FILE_PAGES * m->page;
	char *want = malloc(len), *disk = malloc(len);
	int fd, ret = -1;

	if (!want || !disk)
		goto out_free;
	datagen_seed(want, len, SEED_FILE);
	fd = open(filename, O_RDONLY);
	if (fd < 0 || read(fd, disk, len) != (ssize_t)len) {
		fail("can't read %s back", filename);
		if (fd >= 0)
			close(fd);
		goto out_free;
	}
	close(fd);
	if (memcmp(want, disk, len)) {
		fail("%s changed on disk: private mapping written through", filename);
		goto out_free;
	}
	for (int i = 0; i < FILE_PAGES; i++) {
		char *page = want + i * m->page;

		if (page_is_dirty(i))
			datagen_seed(page, m->page, SEED_DIRTY + i);
		if (memcmp(page, m->file_map + i * m->page, m->page)) {
			fail("page %d (%s) of the private file mapping changed", i,
			     page_is_dirty(i) ? "dirty" : "clean");
			goto out_free;
		}
	}
	ret = expect_perms(m->file_map, "rw-p", "private file mapping");
out_free:
	free(want);
	free(disk);
	return ret;
}

static int setup_anon(struct maps01 *m)
{
	m->shared = mmap(NULL, SHARED_PAGES * m->page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	m->prot = mmap(NULL, PROT_PAGES * m->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m->guarded = mmap(NULL, 4 * m->page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->shared == MAP_FAILED || m->prot == MAP_FAILED || m->guarded == MAP_FAILED) {
		fail("mmap");
		return -1;
	}
	datagen(m->shared, SHARED_PAGES * m->page, &m->shared_crc);
	datagen(m->prot, PROT_PAGES * m->page, &m->prot_crc);
	/* pages 2-3 read-only, page 5 inaccessible */
	if (mprotect(m->prot + 2 * m->page, 2 * m->page, PROT_READ) ||
	    mprotect(m->prot + 5 * m->page, m->page, PROT_NONE)) {
		fail("mprotect");
		return -1;
	}
	if (mprotect(m->guarded + m->page, 2 * m->page, PROT_READ | PROT_WRITE)) {
		fail("mprotect");
		return -1;
	}
	datagen(m->guarded + m->page, 2 * m->page, &m->guarded_crc);
	return 0;
}

static int check_anon(const struct maps01 *m)
{
	size_t pg = m->page;

	if (expect_perms(m->shared, "rw-s", "shared anonymous mapping") ||
	    datachk(m->shared, SHARED_PAGES * pg, m->shared_crc)) {
		fail("shared anonymous mapping lost its data");
		return -1;
	}
	if (expect_perms(m->prot, "rw-p", "mprotect range 0-1") ||
	    expect_perms(m->prot + 2 * pg, "r--p", "mprotect range 2-3") ||
	    expect_perms(m->prot + 4 * pg, "rw-p", "mprotect range 4") ||
	    expect_perms(m->prot + 5 * pg, "---p", "mprotect range 5") ||
	    expect_perms(m->prot + 6 * pg, "rw-p", "mprotect range 6-7"))
		return -1;
	if (mprotect(m->prot + 5 * pg, pg, PROT_READ)) {
		fail("mprotect");
		return -1;
	}
	if (datachk(m->prot, PROT_PAGES * pg, m->prot_crc)) {
		fail("mprotected mapping lost its data");
		return -1;
	}
	if (expect_perms(m->guarded, "---p", "lower guard page") ||
	    expect_perms(m->guarded + pg, "rw-p", "guarded range") ||
	    expect_perms(m->guarded + 3 * pg, "---p", "upper guard page"))
		return -1;
	if (datachk(m->guarded + pg, 2 * pg, m->guarded_crc)) {
		fail("guarded range lost its data");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct maps01 m = { .page = (size_t)sysconf(_SC_PAGESIZE) };
	int ret = 0;

	test_init(argc, argv);
	if (setup_file_map(&m) || setup_anon(&m))
		return 1;

	test_daemon();
	test_waitsig();

	if (check_file_map(&m))
		ret = 1;
	if (check_anon(&m))
		ret = 1;
	if (!ret)
		pass();
	return ret;
}
