/*
 * sk-unix-scm_ng: files in flight in unix socket queues (SCM_RIGHTS).
 * - a datagram pair: the first datagram carries the read end of a pipe that
 *   the process closed since (it keeps the write end, at another fd); the
 *   second none; the third a memfd (closed since, with contents) and a
 *   duplicate of the pipe's write end;
 * - a stream pair: bytes without files, then bytes carrying the read end of a
 *   second pipe, which the process still holds too.
 * After restore each datagram comes in order with its bytes and its files; the
 * stream's bytes come in order with the one file (a stream peek reports a
 * packet's files for the bytes queued before it too, so they may come with
 * those). The pipe ends received read what the process writes to the ends it
 * kept, the memfd has its contents, the received ends are new fds.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scm.h"
#include "zdtmtst.h"

#define MEMFD_TEXT "contents of the memfd in flight"

/* The stream's bytes, @msg, and the one file that comes with them, into *@fd. */
static int recv_stream(int sk, const char *msg, int *fd)
{
	size_t len = strlen(msg), got = 0;
	char data[64];
	int nr = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr align;
		} cm;
		struct iovec iov = { .iov_base = data + got, .iov_len = len - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm)
		};
		ssize_t n = recvmsg(sk, &mh, MSG_DONTWAIT);
		struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);

		if (n <= 0) {
			fail("stream: %zu of %zu bytes", got, len);
			return -1;
		}
		if (ch && ch->cmsg_type == SCM_RIGHTS && ch->cmsg_len == CMSG_LEN(sizeof(int))) {
			memcpy(fd, CMSG_DATA(ch), sizeof(int));
			nr++;
		} else if (ch) {
			fail("stream: an unexpected control message");
			return -1;
		}
		got += (size_t)n;
	}
	if (memcmp(data, msg, len) || nr != 1) {
		fail("stream: wrong bytes or %d files", nr);
		return -1;
	}
	return 0;
}

/* Bytes written to @w come out of @r. */
static int check_pipe(int w, int r, const char *what)
{
	char buf[16];

	if (write(w, "through", 7) != 7 || read(r, buf, sizeof(buf)) != 7 || memcmp(buf, "through", 7)) {
		fail("%s: the received pipe end is not the pipe's", what);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int dg[2], st[2], p1[2], p2[2], mfd, w1, r1, got[2], r2 = -1;
	char buf[64];

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) || socketpair(AF_UNIX, SOCK_STREAM, 0, st) || pipe(p1) || pipe(p2)) {
		fail("socketpair or pipe");
		return 1;
	}
	mfd = memfd_create("scm-inflight", 0);
	if (mfd < 0 || write(mfd, MEMFD_TEXT, strlen(MEMFD_TEXT)) != (ssize_t)strlen(MEMFD_TEXT)) {
		fail("memfd");
		return 1;
	}
	if (scm_send(dg[0], "first", &p1[0], 1) || scm_send(dg[0], "second", NULL, 0)) {
		fail("send the first datagrams");
		return 1;
	}
	got[0] = mfd;
	got[1] = p1[1];
	if (scm_send(dg[0], "third", got, 2) || scm_send(st[0], "plain", NULL, 0) ||
	    scm_send(st[0], "carrying", &p2[0], 1)) {
		fail("send the rest");
		return 1;
	}
	/* The first pipe's read end and the memfd are only in flight now; the write end moves. */
	close(p1[0]);
	close(mfd);
	w1 = dup(p1[1]);
	close(p1[1]);
	if (w1 < 0) {
		fail("dup");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (scm_recv(dg[1], "first", &r1, 1) || check_pipe(w1, r1, "first"))
		return 1;
	if (scm_recv(dg[1], "second", NULL, 0) || scm_recv(dg[1], "third", got, 2))
		return 1;
	memset(buf, 0, sizeof(buf));
	if (pread(got[0], buf, sizeof(buf) - 1, 0) != (ssize_t)strlen(MEMFD_TEXT) || strcmp(buf, MEMFD_TEXT)) {
		fail("the memfd in flight lost its contents (\"%s\")", buf);
		return 1;
	}
	/* The write end that was in flight writes into the first pipe too. */
	if (write(got[1], "x", 1) != 1 || write(w1, "y", 1) != 1 || read(r1, buf, 2) != 2 || memcmp(buf, "xy", 2)) {
		fail("the write end in flight does not write into the first pipe");
		return 1;
	}
	if (recv_stream(st[1], "plaincarrying", &r2))
		return 1;
	if (r2 == p2[0] || check_pipe(p2[1], r2, "stream") || check_pipe(p2[1], p2[0], "stream, kept end"))
		return 1;
	pass();
	return 0;
}
