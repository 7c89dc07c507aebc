/*
 * memfd00: two memfds open through fds. The first (O_RDWR, sealing allowed)
 * holds a page of data, a hole, a page far past it and a short tail; its fd
 * sits at a position mid-file and it is sealed against shrinking and growing.
 * The second was made without MFD_ALLOW_SEALING and is read through an
 * O_RDONLY reopening of it, at its own position.
 *
 * After restore: names (the /proc links), sizes, contents, the hole, seals
 * (F_SEAL_SEAL alone on the second), the access modes and the positions are
 * as they were, and the first memfd still takes writes inside its size and
 * refuses to grow.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PAGE 4096
#define SIZE (PAGE * 40 + 123)
#define POS1 (PAGE + 17)
#define POS2 5

static int check_link(int fd, const char *want)
{
	char path[64], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		fail("readlink %s", path);
		return 1;
	}
	link[n] = '\0';
	if (strcmp(link, want)) {
		fail("fd %d is %s, want %s", fd, link, want);
		return 1;
	}
	return 0;
}

static void fill(char *buf, size_t len, int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(seed + i * 7);
}

static int check_at(int fd, off_t off, size_t len, int seed, const char *what)
{
	char *want = malloc(len), *got = malloc(len);
	int ret = 0;

	if (!want || !got) {
		fail("malloc");
		ret = 1;
	} else {
		if (seed >= 0)
			fill(want, len, seed);
		else
			memset(want, 0, len);
		if (pread(fd, got, len, off) != (ssize_t)len || memcmp(want, got, len)) {
			fail("%s: %zu bytes at %lld differ", what, len, (long long)off);
			ret = 1;
		}
	}
	free(want);
	free(got);
	return ret;
}

int main(int argc, char **argv)
{
	char page[PAGE], tail[123];
	int fd1, fd2, fd2ro, seals, ret = 0;
	struct stat st;
	char self[64];

	test_init(argc, argv);
	fd1 = memfd_create("zdtm-memfd00 one", MFD_ALLOW_SEALING);
	fd2 = memfd_create("zdtm-memfd00-two", 0);
	if (fd1 < 0 || fd2 < 0) {
		fail("memfd_create");
		return 1;
	}
	fill(page, sizeof(page), 1);
	fill(tail, sizeof(tail), 3);
	if (ftruncate(fd1, SIZE) || pwrite(fd1, page, PAGE, 0) != PAGE) {
		fail("filling memfd one");
		return 1;
	}
	fill(page, sizeof(page), 2);
	if (pwrite(fd1, page, PAGE, PAGE * 30) != PAGE || pwrite(fd1, tail, sizeof(tail), PAGE * 40) != sizeof(tail)) {
		fail("filling memfd one");
		return 1;
	}
	if (fcntl(fd1, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) || lseek(fd1, POS1, SEEK_SET) != POS1) {
		fail("sealing memfd one");
		return 1;
	}
	fill(page, 300, 4);
	if (write(fd2, page, 300) != 300) {
		fail("filling memfd two");
		return 1;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd2);
	fd2ro = open(self, O_RDONLY);
	if (fd2ro < 0 || lseek(fd2ro, POS2, SEEK_SET) != POS2) {
		fail("reopening memfd two");
		return 1;
	}
	close(fd2);

	test_daemon();
	test_waitsig();

	ret |= check_link(fd1, "/memfd:zdtm-memfd00 one (deleted)");
	ret |= check_link(fd2ro, "/memfd:zdtm-memfd00-two (deleted)");
	if (fstat(fd1, &st) || st.st_size != SIZE) {
		fail("memfd one is %lld bytes, want %d", (long long)st.st_size, SIZE);
		ret = 1;
	}
	ret |= check_at(fd1, 0, PAGE, 1, "page 0");
	ret |= check_at(fd1, PAGE, PAGE * 29, -1, "the hole");
	ret |= check_at(fd1, PAGE * 30, PAGE, 2, "page 30");
	ret |= check_at(fd1, PAGE * 40, sizeof(tail), 3, "the tail");
	ret |= check_at(fd2ro, 0, 300, 4, "memfd two");
	seals = fcntl(fd1, F_GET_SEALS);
	if (seals != (F_SEAL_SHRINK | F_SEAL_GROW)) {
		fail("memfd one has seals %#x", seals);
		ret = 1;
	}
	seals = fcntl(fd2ro, F_GET_SEALS);
	if (seals != F_SEAL_SEAL) {
		fail("memfd two has seals %#x", seals);
		ret = 1;
	}
	if ((fcntl(fd1, F_GETFL) & O_ACCMODE) != O_RDWR || (fcntl(fd2ro, F_GETFL) & O_ACCMODE) != O_RDONLY) {
		fail("access modes changed");
		ret = 1;
	}
	if (lseek(fd1, 0, SEEK_CUR) != POS1 || lseek(fd2ro, 0, SEEK_CUR) != POS2) {
		fail("positions changed");
		ret = 1;
	}
	if (write(fd2ro, "x", 1) != -1) {
		fail("the O_RDONLY fd took a write");
		ret = 1;
	}
	if (pwrite(fd1, "abc", 3, 10) != 3 || pwrite(fd1, "abc", 3, SIZE) != -1 || errno != EPERM) {
		fail("memfd one: a write inside works and growing is refused");
		ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
