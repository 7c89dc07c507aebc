/*
 * pipe_tree01: a three-process pipeline, `producer | filter | consumer` as a
 * shell sets it up: the root (the producer) makes pipe A, forks the filter,
 * makes pipe B, forks the consumer, and each process closes the ends it does
 * not use. At the dump bytes are in flight in both pipes: the producer's in A
 * (the filter has not read them), the filter's in B (the consumer has not).
 * The filter reads A non-blocking; B was made larger (F_SETPIPE_SZ).
 *
 * After restore each stage holds only its own ends, with their flags and B's
 * size; the bytes in flight come out once, exactly; a new line goes through
 * the whole pipeline; and when the producer closes A the end of file travels
 * down to the consumer, which shows that no process holds a write end it did
 * not have (a stray copy would keep the pipe open).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define IN_A "in flight in A\n"
#define IN_B "in flight in B\n"
#define AFTER "through the whole pipeline\n"
#define B_SIZE (128 * 1024)

/* The next @len bytes of @fd (waiting for them) are @want. */
static bool read_exactly(int fd, const char *want, size_t len)
{
	char buf[256];
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 5000) != 1)
			return false;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return !memcmp(buf, want, len);
}

/* End of file on @fd within 5 s (-1 on a timeout or an error). */
static int wait_eof(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, 5000) != 1)
		return -1;
	return read(fd, &c, 1) == 0 ? 0 : -1;
}

static int filter_main(int r, int w, pid_t consumer, int ready)
{
	int nfds;

	if (write(w, IN_B, strlen(IN_B)) != (ssize_t)strlen(IN_B) || write(ready, "F", 1) != 1)
		return 2;
	close(ready);
	nfds = tree_nr_fds();
	test_waitsig();
	if (kill(consumer, SIGTERM)) {
		fail("can't pass SIGTERM on to the consumer");
		return 1;
	}
	if (tree_nr_fds() != nfds || !(fcntl(r, F_GETFL) & O_NONBLOCK) || fcntl(w, F_GETPIPE_SZ) != B_SIZE) {
		fail("the filter holds %d fds (%d before), or its ends lost their flags or size", tree_nr_fds(), nfds);
		return 1;
	}
	/* Once each: the line sent after restore comes right after the bytes in flight, then the end. */
	if (!read_exactly(r, IN_A, strlen(IN_A)) || !read_exactly(r, AFTER, strlen(AFTER))) {
		fail("the filter did not read the bytes in flight in A, then the new line");
		return 1;
	}
	if (write(w, AFTER, strlen(AFTER)) != (ssize_t)strlen(AFTER)) {
		fail("the filter did not pass the new line on");
		return 1;
	}
	if (wait_eof(r)) {
		fail("the filter saw no end of file on A once the producer closed it");
		return 1;
	}
	close(w); /* the end of file on to the consumer */
	return 0;
}

static int consumer_main(int r, int ready)
{
	int nfds;

	if (write(ready, "C", 1) != 1)
		return 2;
	close(ready);
	nfds = tree_nr_fds();

	test_waitsig();
	if (tree_nr_fds() != nfds || (fcntl(r, F_GETFL) & O_NONBLOCK)) {
		fail("the consumer holds %d fds (%d before), or its end is non-blocking", tree_nr_fds(), nfds);
		return 1;
	}
	if (!read_exactly(r, IN_B, strlen(IN_B)) || !read_exactly(r, AFTER, strlen(AFTER))) {
		fail("the consumer did not read the bytes in flight in B, then the new line");
		return 1;
	}
	if (wait_eof(r)) {
		fail("the consumer saw no end of file on B once the filter closed it");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int a[2], b[2], ready[2], nfds;
	pid_t filter, consumer;
	char got[4];
	size_t n = 0;
	ssize_t r;

	test_init(argc, argv);
	if (pipe(ready) || pipe(a)) {
		fail("can't make pipe A");
		return 1;
	}
	filter = tree_fork();
	if (filter == 0) {
		close(ready[0]);
		close(a[1]);
		if (pipe(b) || fcntl(a[0], F_SETFL, O_NONBLOCK) || fcntl(b[1], F_SETPIPE_SZ, B_SIZE) != B_SIZE)
			_exit(2);
		consumer = fork();
		if (consumer == 0) {
			close(a[0]);
			close(b[1]);
			_exit(consumer_main(b[0], ready[1]));
		}
		close(b[0]);
		if (consumer < 0)
			_exit(2);
		_exit(filter_main(a[0], b[1], consumer, ready[1]) ?: !tree_end_child(consumer, 0, "consumer"));
	}
	close(ready[1]);
	close(a[0]);
	/* Both stages set up (each wrote its letter and closed its end), B's bytes written. */
	while (filter > 0 && (r = read(ready[0], got + n, sizeof(got) - n)) > 0)
		n += (size_t)r;
	if (n != 2 || write(a[1], IN_A, strlen(IN_A)) != (ssize_t)strlen(IN_A)) {
		fail("the pipeline did not get ready");
		return 1;
	}
	close(ready[0]);

	test_daemon();
	nfds = tree_nr_fds();
	test_waitsig();
	if (tree_nr_fds() != nfds || (fcntl(a[1], F_GETFL) & O_NONBLOCK)) {
		fail("the producer holds %d fds after restore, %d before, or its end became non-blocking",
		     tree_nr_fds(), nfds);
		return 1;
	}
	if (kill(filter, SIGTERM) || write(a[1], AFTER, strlen(AFTER)) != (ssize_t)strlen(AFTER)) {
		fail("can't send the new line down the pipeline");
		return 1;
	}
	close(a[1]);
	if (!tree_end_child(filter, 0, "filter"))
		return 1;
	pass();
	return 0;
}
