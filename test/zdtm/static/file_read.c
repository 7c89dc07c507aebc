/*
 * file_read: regular files open at an offset. The same file is open read-only,
 * read-write with O_CLOEXEC and write-only with O_APPEND, each at its own
 * offset, and the read-only one is dup()ed, so two fds share one offset.
 * Afterwards flags, offsets, the sharing and the data read are as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "file_read.test";
TEST_OPTION(filename, TEST_OPT_STRING, "file to open", false);

#define FILE_BYTES 65536
#define SEED 0xf11e
#define NR_FDS 4

struct fd_state {
	int fd;
	int flags;   /* F_GETFL */
	int fdflags; /* F_GETFD */
	off_t pos;
	ino_t ino;
};

static int fd_state_get(int fd, struct fd_state *st)
{
	struct stat sb;

	st->fd = fd;
	st->flags = fcntl(fd, F_GETFL);
	st->fdflags = fcntl(fd, F_GETFD);
	st->pos = lseek(fd, 0, SEEK_CUR);
	if (st->flags < 0 || st->fdflags < 0 || st->pos < 0 || fstat(fd, &sb))
		return -1;
	st->ino = sb.st_ino;
	return 0;
}

static int check_fd(const struct fd_state *want)
{
	struct fd_state now;

	if (fd_state_get(want->fd, &now)) {
		fail("fd %d is gone", want->fd);
		return -1;
	}
	if (now.flags != want->flags || now.fdflags != want->fdflags || now.pos != want->pos || now.ino != want->ino) {
		fail("fd %d: flags %#o/%d pos %lld ino %llu, expected %#o/%d pos %lld ino %llu", want->fd, now.flags,
		     now.fdflags, (long long)now.pos, (unsigned long long)now.ino, want->flags, want->fdflags,
		     (long long)want->pos, (unsigned long long)want->ino);
		return -1;
	}
	return 0;
}

/* Reads len bytes at the fd's offset and compares them with the file's data. */
static int check_read(int fd, const uint8_t *data, size_t len)
{
	uint8_t buf[512];
	off_t pos = lseek(fd, 0, SEEK_CUR);

	if (pos < 0 || len > sizeof(buf) || read(fd, buf, len) != (ssize_t)len) {
		fail("read from fd %d", fd);
		return -1;
	}
	if (memcmp(buf, data + pos, len)) {
		fail("fd %d: wrong data at offset %lld", fd, (long long)pos);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t data[FILE_BYTES];
	struct fd_state fds[NR_FDS];
	int ro, rw, app, dup_fd, ret = 0;

	test_init(argc, argv);
	datagen_seed(data, sizeof(data), SEED);
	rw = open(filename, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (rw < 0 || write(rw, data, sizeof(data)) != sizeof(data)) {
		fail("can't write %s", filename);
		return 1;
	}
	ro = open(filename, O_RDONLY);
	app = open(filename, O_WRONLY | O_APPEND);
	if (ro < 0 || app < 0) {
		fail("open %s", filename);
		return 1;
	}
	dup_fd = dup2(ro, 100);
	if (dup_fd < 0 || lseek(ro, 12345, SEEK_SET) != 12345 || lseek(rw, 40000, SEEK_SET) != 40000 ||
	    lseek(app, 777, SEEK_SET) != 777) {
		fail("dup2/lseek");
		return 1;
	}
	if (fd_state_get(ro, &fds[0]) || fd_state_get(rw, &fds[1]) || fd_state_get(app, &fds[2]) ||
	    fd_state_get(dup_fd, &fds[3])) {
		fail("fcntl/lseek/fstat");
		return 1;
	}

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_FDS; i++)
		if (check_fd(&fds[i]))
			ret = 1;
	if (ret)
		return 1;
	if (check_read(rw, data, 100) || check_read(ro, data, 200))
		return 1;
	/* ro and its dup share one file description, hence one offset */
	if (lseek(dup_fd, 0, SEEK_CUR) != 12345 + 200) {
		fail("fd %d no longer shares its offset with fd %d", dup_fd, ro);
		return 1;
	}
	pass();
	return 0;
}
