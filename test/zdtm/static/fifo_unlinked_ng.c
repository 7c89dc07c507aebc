/*
 * fifo_unlinked_ng: FIFOs whose path was removed while open. One has a read end
 * and a write end with bytes queued; another is held only O_RDWR, with bytes
 * queued too. After restore each fd is on an unlinked FIFO (no link, its mode),
 * the two ends are still one FIFO, the queued bytes come out in order and the
 * names are not back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "fifo_unlinked_ng.test";
TEST_OPTION(filename, TEST_OPT_STRING, "prefix of the FIFOs to create and unlink", false);

#define QUEUED 3000
#define MODE 0640

static int make_fifo(const char *name, int flags, int *fd)
{
	if (mkfifo(name, MODE) || chmod(name, MODE)) {
		fail("can't make the FIFO %s", name);
		return -1;
	}
	*fd = open(name, flags);
	if (*fd < 0) {
		fail("can't open the FIFO %s", name);
		return -1;
	}
	return 0;
}

static int check_fd(int fd, const char *what, ino_t ino)
{
	struct stat st;

	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode) || st.st_nlink || (st.st_mode & 07777) != MODE) {
		fail("%s: mode %o, %lu links", what, st.st_mode, (unsigned long)st.st_nlink);
		return -1;
	}
	if (ino && st.st_ino != ino) {
		fail("%s: not the same FIFO as its other end", what);
		return -1;
	}
	return 0;
}

static int read_back(int fd, const uint8_t *want, size_t len, const char *what)
{
	static uint8_t got[QUEUED + 1];
	ssize_t n = read(fd, got, sizeof(got));

	if (n != (ssize_t)len || memcmp(got, want, len)) {
		fail("%s: %zd bytes back of %zu, or other bytes", what, n, len);
		return -1;
	}
	if (read(fd, got, 1) != -1 || errno != EAGAIN) {
		fail("%s: more bytes than queued", what);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t a[QUEUED], b[QUEUED / 3], c[100];
	char name_a[256], name_b[256];
	int rd, wr, rw;
	struct stat st;

	test_init(argc, argv);
	datagen_seed(a, sizeof(a), 21);
	datagen_seed(b, sizeof(b), 22);
	datagen_seed(c, sizeof(c), 23);
	snprintf(name_a, sizeof(name_a), "%s.pair", filename);
	snprintf(name_b, sizeof(name_b), "%s.rdwr", filename);
	if (make_fifo(name_a, O_RDONLY | O_NONBLOCK, &rd) || (wr = open(name_a, O_WRONLY)) < 0 ||
	    make_fifo(name_b, O_RDWR | O_NONBLOCK, &rw)) {
		fail("can't open the FIFOs");
		return 1;
	}
	if (write(wr, a, sizeof(a)) != sizeof(a) || write(rw, b, sizeof(b)) != sizeof(b) || unlink(name_a) ||
	    unlink(name_b)) {
		fail("can't fill or unlink the FIFOs");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (fstat(rd, &st) || check_fd(rd, "read end", 0) || check_fd(wr, "write end", st.st_ino) ||
	    check_fd(rw, "O_RDWR FIFO", 0))
		return 1;
	if (read_back(rd, a, sizeof(a), "the pair") || read_back(rw, b, sizeof(b), "the O_RDWR FIFO"))
		return 1;
	/* still one FIFO: what the write end writes, the read end reads */
	if (write(wr, c, sizeof(c)) != sizeof(c) || read_back(rd, c, sizeof(c), "the pair after restore"))
		return 1;
	if (access(name_a, F_OK) == 0 || access(name_b, F_OK) == 0) {
		fail("a FIFO's name is back");
		return 1;
	}
	pass();
	return 0;
}
