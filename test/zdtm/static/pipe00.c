/*
 * pipe00: a pipe with bytes queued, both ends held. The read end is
 * non-blocking, the write end close-on-exec, and the pipe was made larger
 * than the default (F_SETPIPE_SZ). The bytes went in by several writes, so
 * they sit in several pipe buffers.
 *
 * Afterwards both ends have their flags and fd flags, the two are one pipe of
 * the same size, as many bytes are queued, they read back right, the read end
 * then says EAGAIN, and the pipe still carries new bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ngutil.h"
#include "zdtmtst.h"

#define PIPE_SIZE (256 * 1024)
#define QUEUED (100 * 1024 + 123)
#define CHUNK 7000

struct end {
	int fd;
	int flags, fdflags;
};

static int end_get(int fd, struct end *e)
{
	e->fd = fd;
	e->flags = fcntl(fd, F_GETFL);
	e->fdflags = fcntl(fd, F_GETFD);
	return e->flags < 0 || e->fdflags < 0 ? -1 : 0;
}

static int end_check(const struct end *want)
{
	struct end now;

	if (end_get(want->fd, &now)) {
		fail("fd %d is gone", want->fd);
		return -1;
	}
	if (now.flags != want->flags || now.fdflags != want->fdflags) {
		fail("fd %d: flags %#o fd flags %d, expected %#o %d", want->fd, now.flags, now.fdflags, want->flags,
		     want->fdflags);
		return -1;
	}
	return 0;
}

static int read_all(int fd, char *buf, size_t len)
{
	int ret = ng_read_full(fd, buf, len);

	if (ret)
		fail("can't read %zu bytes: %s", len, strerror(-ret));
	return ret ? -1 : 0;
}

int main(int argc, char **argv)
{
	static char data[QUEUED], back[QUEUED];
	struct end r, w;
	struct stat sr, sw;
	int p[2], queued;
	uint32_t crc;
	char c;

	test_init(argc, argv);
	if (pipe2(p, 0) || fcntl(p[0], F_SETFL, O_NONBLOCK) || fcntl(p[1], F_SETFD, FD_CLOEXEC)) {
		fail("making the pipe");
		return 1;
	}
	if (fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE) != PIPE_SIZE) {
		fail("F_SETPIPE_SZ %d", PIPE_SIZE);
		return 1;
	}
	datagen(data, QUEUED, &crc);
	for (size_t off = 0; off < QUEUED; off += CHUNK) {
		size_t n = QUEUED - off < CHUNK ? QUEUED - off : CHUNK;

		if (write(p[1], data + off, n) != (ssize_t)n) {
			fail("queueing bytes at %zu", off);
			return 1;
		}
	}
	if (end_get(p[0], &r) || end_get(p[1], &w)) {
		fail("reading the ends' flags");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (end_check(&r) || end_check(&w))
		return 1;
	if (fstat(p[0], &sr) || fstat(p[1], &sw) || !S_ISFIFO(sr.st_mode) || sr.st_ino != sw.st_ino) {
		fail("the two ends are not one pipe any more");
		return 1;
	}
	if (fcntl(p[0], F_GETPIPE_SZ) != PIPE_SIZE) {
		fail("the pipe holds %d bytes, expected %d", fcntl(p[0], F_GETPIPE_SZ), PIPE_SIZE);
		return 1;
	}
	if (ioctl(p[0], FIONREAD, &queued) || queued != QUEUED) {
		fail("%d bytes queued, expected %d", queued, QUEUED);
		return 1;
	}
	if (read_all(p[0], back, QUEUED))
		return 1;
	if (datachk(back, QUEUED, crc) || memcmp(back, data, QUEUED)) {
		fail("the queued bytes came back different");
		return 1;
	}
	if (read(p[0], &c, 1) != -1 || errno != EAGAIN) {
		fail("the empty non-blocking read end did not say EAGAIN");
		return 1;
	}
	if (write(p[1], "x", 1) != 1 || read(p[0], &c, 1) != 1 || c != 'x') {
		fail("the pipe no longer carries bytes");
		return 1;
	}
	pass();
	return 0;
}
