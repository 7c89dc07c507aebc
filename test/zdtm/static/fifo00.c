/*
 * fifo00: named pipes with bytes queued. FIFO 1 is open at both ends (the
 * reader non-blocking, opened first); FIFO 2 only for writing, its bytes left
 * by a reader that is gone, and it was made larger (F_SETPIPE_SZ).
 *
 * Afterwards the fds are the FIFOs at their paths with their flags, FIFO 1's
 * bytes read back through its reader, FIFO 2's through a reader opened now,
 * with its size kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "fifo00.test";
TEST_OPTION(filename, TEST_OPT_STRING, "prefix of the FIFOs to create", false);

#define FIFO2_SIZE (128 * 1024)
#define QUEUED 5000

static int is_fifo_at(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(path, &b) && S_ISFIFO(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int read_check(int fd, const char *want, size_t len, const char *what)
{
	static char buf[QUEUED + 1];
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len || memcmp(buf, want, len)) {
		fail("%s: read %zu bytes, expected %zu, or they differ", what, got, len);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char data1[QUEUED], data2[QUEUED];
	char path1[256], path2[256];
	int r1, w1, w2, r2, fl_r1, fl_w1, fl_w2;
	uint32_t crc;

	test_init(argc, argv);
	snprintf(path1, sizeof(path1), "%s.1", filename);
	snprintf(path2, sizeof(path2), "%s.2", filename);
	if (mkfifo(path1, 0600) || mkfifo(path2, 0600)) {
		fail("mkfifo");
		return 1;
	}
	datagen(data1, QUEUED, &crc);
	datagen(data2, QUEUED, &crc);
	r1 = open(path1, O_RDONLY | O_NONBLOCK);
	w1 = open(path1, O_WRONLY);
	r2 = open(path2, O_RDONLY | O_NONBLOCK);
	w2 = open(path2, O_WRONLY | O_CLOEXEC);
	if (r1 < 0 || w1 < 0 || r2 < 0 || w2 < 0) {
		fail("opening the FIFOs");
		return 1;
	}
	if (fcntl(w2, F_SETPIPE_SZ, FIFO2_SIZE) != FIFO2_SIZE || write(w1, data1, QUEUED) != QUEUED ||
	    write(w2, data2, QUEUED) != QUEUED || close(r2)) {
		fail("queueing bytes");
		return 1;
	}
	fl_r1 = fcntl(r1, F_GETFL);
	fl_w1 = fcntl(w1, F_GETFL);
	fl_w2 = fcntl(w2, F_GETFL);

	test_daemon();
	test_waitsig();

	if (!is_fifo_at(r1, path1) || !is_fifo_at(w1, path1) || !is_fifo_at(w2, path2)) {
		fail("the fds are not the FIFOs at their paths");
		return 1;
	}
	if (fcntl(r1, F_GETFL) != fl_r1 || fcntl(w1, F_GETFL) != fl_w1 || fcntl(w2, F_GETFL) != fl_w2 ||
	    fcntl(w2, F_GETFD) != FD_CLOEXEC) {
		fail("flags %#o %#o %#o, expected %#o %#o %#o", fcntl(r1, F_GETFL), fcntl(w1, F_GETFL),
		     fcntl(w2, F_GETFL), fl_r1, fl_w1, fl_w2);
		return 1;
	}
	if (read_check(r1, data1, QUEUED, "FIFO 1"))
		return 1;
	if (fcntl(w2, F_GETPIPE_SZ) != FIFO2_SIZE) {
		fail("FIFO 2 holds %d bytes, expected %d", fcntl(w2, F_GETPIPE_SZ), FIFO2_SIZE);
		return 1;
	}
	r2 = open(path2, O_RDONLY | O_NONBLOCK);
	if (r2 < 0 || read_check(r2, data2, QUEUED, "FIFO 2"))
		return 1;
	pass();
	return 0;
}
