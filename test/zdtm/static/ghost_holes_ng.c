/*
 * ghost_holes_ng: unlinked files with holes keep them. Three files are opened,
 * made sparse and unlinked: one with data in its middle pages and holes at its
 * head, between and after (odd size), one of holes only, and one small file
 * (under three pages, the dense layout). After restore each has its size, its
 * data where it was, zeroes elsewhere, and SEEK_DATA/SEEK_HOLE find the same
 * stretches as before the dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "ghost_holes_ng.test";
TEST_OPTION(filename, TEST_OPT_STRING, "prefix of the files to create and unlink", false);

#define PG 4096
#define NR_FILES 3
#define MAX_STRETCHES 8

/* A stretch of data: @len bytes at @off, made from @seed. */
struct stretch {
	off_t off;
	size_t len;
	uint32_t seed;
};

struct sparse {
	const char *what;
	off_t size;
	struct stretch data[MAX_STRETCHES];
	int nr;
	int fd;
};

static struct sparse files[NR_FILES] = {
	{ "mixed", 9 * PG + 123, { { 2 * PG, 2 * PG, 11 }, { 6 * PG, PG, 12 } }, 2, -1 },
	{ "holes only", 17 * PG, { { 0 } }, 0, -1 },
	{ "small", 2 * PG + 5, { { PG, 700, 13 } }, 1, -1 },
};

static int make_file(struct sparse *f, int i)
{
	static uint8_t buf[2 * PG];
	char name[256];

	snprintf(name, sizeof(name), "%s.%d", filename, i);
	f->fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f->fd < 0 || ftruncate(f->fd, f->size)) {
		fail("can't create the %s file %s", f->what, name);
		return -1;
	}
	for (int k = 0; k < f->nr; k++) {
		const struct stretch *s = &f->data[k];

		datagen_seed(buf, s->len, s->seed);
		if (pwrite(f->fd, buf, s->len, s->off) != (ssize_t)s->len) {
			fail("can't write the %s file", f->what);
			return -1;
		}
	}
	if (unlink(name)) {
		fail("can't unlink %s", name);
		return -1;
	}
	return 0;
}

/* The stretches, to whole pages (the file system's holes are), must be what SEEK_DATA/SEEK_HOLE see. */
static int check_layout(const struct sparse *f, const char *when)
{
	off_t pos = 0;

	for (int k = 0; k < f->nr; k++) {
		const struct stretch *s = &f->data[k];
		off_t d = lseek(f->fd, pos, SEEK_DATA), h = d < 0 ? -1 : lseek(f->fd, d, SEEK_HOLE);
		off_t end = (s->off + (off_t)s->len + PG - 1) / PG * PG;

		end = end < f->size ? end : f->size;
		if (d != s->off || h != end) {
			fail("%s file %s: data found at [%lld, %lld), expected [%lld, %lld)", f->what, when,
			     (long long)d, (long long)h, (long long)s->off, (long long)end);
			return -1;
		}
		pos = h;
	}
	if (pos < f->size && (lseek(f->fd, pos, SEEK_DATA) != -1 || errno != ENXIO)) {
		fail("%s file %s: data after %lld", f->what, when, (long long)pos);
		return -1;
	}
	return 0;
}

/* Every byte: the stretch's data inside one, zero outside. */
static int check_bytes(const struct sparse *f)
{
	static uint8_t got[32 * PG], want[2 * PG];
	struct stat st;

	if (fstat(f->fd, &st) || st.st_size != f->size || st.st_nlink != 0 || (st.st_mode & 07777) != 0600) {
		fail("%s file: %lld bytes, %lu links, mode %o", f->what, (long long)st.st_size,
		     (unsigned long)st.st_nlink, st.st_mode & 07777);
		return -1;
	}
	if (pread(f->fd, got, sizeof(got), 0) != f->size) {
		fail("%s file: can't read its %lld bytes", f->what, (long long)f->size);
		return -1;
	}
	for (int k = 0; k < f->nr; k++) {
		const struct stretch *s = &f->data[k];

		datagen_seed(want, s->len, s->seed);
		if (memcmp(got + s->off, want, s->len)) {
			fail("%s file: the data at %lld changed", f->what, (long long)s->off);
			return -1;
		}
		memset(got + s->off, 0, s->len);
	}
	for (off_t i = 0; i < f->size; i++)
		if (got[i]) {
			fail("%s file: byte %lld of a hole is %#x", f->what, (long long)i, got[i]);
			return -1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (int i = 0; i < NR_FILES; i++)
		if (make_file(&files[i], i) || check_layout(&files[i], "before the dump"))
			return 1;

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_FILES; i++)
		if (check_bytes(&files[i]) || check_layout(&files[i], "after restore"))
			return 1;
	pass();
	return 0;
}
