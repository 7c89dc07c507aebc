/*
 * sk-unix-opts: options and states of unix sockets.
 * - a stream pair, one end with SO_PASSCRED, a larger send buffer, timeouts,
 *   a priority, a mark and O_NONBLOCK, the other with SO_PASSSEC and a larger
 *   receive buffer, which sent data and then shut its sending side down;
 * - a datagram pair, the receiver with SO_PASSCRED and a datagram queued;
 * - a stream socket whose peer sent data and closed.
 * After restore every option and flag reads back as before; the shut-down
 * connection delivers its data, then the end, and refuses to send the other
 * way; the receiver with SO_PASSCRED gets credentials; the orphaned socket
 * reads its data, then the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define QUEUED 150000
#define ORPHAN_BYTES 5000

struct opt {
	int name;
	const char *label;
	bool tmo;
};

static const struct opt opts[] = {
	{ SO_SNDBUF, "SO_SNDBUF", false },     { SO_RCVBUF, "SO_RCVBUF", false },
	{ SO_PASSCRED, "SO_PASSCRED", false }, { SO_PASSSEC, "SO_PASSSEC", false },
	{ SO_PRIORITY, "SO_PRIORITY", false }, { SO_MARK, "SO_MARK", false },
	{ SO_SNDTIMEO, "SO_SNDTIMEO", true },  { SO_RCVTIMEO, "SO_RCVTIMEO", true },
};

#define NR_OPTS (int)(sizeof(opts) / sizeof(opts[0]))

enum {
	S0,
	S1,
	D0,
	D1,
	ORPHAN,
	NR_SK
};

static int sk[NR_SK];
static struct timeval tv_vals[NR_SK][NR_OPTS];
static int int_vals[NR_SK][NR_OPTS];
static int fl_vals[NR_SK];
static uint8_t buf[QUEUED], want[QUEUED];

static int set_int(int fd, int name, int v)
{
	return setsockopt(fd, SOL_SOCKET, name, &v, sizeof(v));
}

static int read_opts(int i, struct timeval *tv, int *iv, int *fl)
{
	for (int o = 0; o < NR_OPTS; o++) {
		socklen_t len = opts[o].tmo ? sizeof(tv[o]) : sizeof(iv[o]);

		if (getsockopt(sk[i], SOL_SOCKET, opts[o].name, opts[o].tmo ? (void *)&tv[o] : (void *)&iv[o], &len))
			return -1;
	}
	*fl = fcntl(sk[i], F_GETFL);
	return *fl < 0 ? -1 : 0;
}

static int setup(void)
{
	struct timeval snd = { 2, 250000 }, rcv = { 1, 500000 };
	int c[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, &sk[S0]) || socketpair(AF_UNIX, SOCK_DGRAM, 0, &sk[D0]) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, c)) {
		fail("socketpair");
		return -1;
	}
	if (set_int(sk[S0], SO_PASSCRED, 1) || set_int(sk[S0], SO_SNDBUF, 300000) || set_int(sk[S0], SO_PRIORITY, 3) ||
	    set_int(sk[S0], SO_MARK, 42) || setsockopt(sk[S0], SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd)) ||
	    setsockopt(sk[S0], SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv)) || fcntl(sk[S0], F_SETFL, O_NONBLOCK) ||
	    set_int(sk[S1], SO_PASSSEC, 1) || set_int(sk[S1], SO_RCVBUF, 100000) || set_int(sk[D1], SO_PASSCRED, 1)) {
		fail("setting options");
		return -1;
	}
	datagen_seed(buf, QUEUED, 1);
	if (send(sk[S1], buf, QUEUED, 0) != QUEUED || shutdown(sk[S1], SHUT_WR)) {
		fail("queue and shutdown");
		return -1;
	}
	datagen_seed(buf, 100, 2);
	if (send(sk[D0], buf, 100, 0) != 100) {
		fail("datagram");
		return -1;
	}
	datagen_seed(buf, ORPHAN_BYTES, 3);
	if (send(c[0], buf, ORPHAN_BYTES, 0) != ORPHAN_BYTES || close(c[0])) {
		fail("orphan");
		return -1;
	}
	sk[ORPHAN] = c[1];
	for (int i = 0; i < NR_SK; i++)
		if (read_opts(i, tv_vals[i], int_vals[i], &fl_vals[i])) {
			fail("reading options of socket %d", i);
			return -1;
		}
	return 0;
}

static int check_opts(void)
{
	for (int i = 0; i < NR_SK; i++) {
		struct timeval tv[NR_OPTS];
		int iv[NR_OPTS], fl;

		if (read_opts(i, tv, iv, &fl)) {
			fail("reading options of socket %d", i);
			return -1;
		}
		for (int o = 0; o < NR_OPTS; o++)
			if (opts[o].tmo ? memcmp(&tv[o], &tv_vals[i][o], sizeof(tv[o])) : iv[o] != int_vals[i][o]) {
				fail("socket %d: %s changed (%d, was %d)", i, opts[o].label, iv[o], int_vals[i][o]);
				return -1;
			}
		if (fl != fl_vals[i]) {
			fail("socket %d: flags %#x, were %#x", i, fl, fl_vals[i]);
			return -1;
		}
	}
	return 0;
}

/* Reads @len bytes of seed @seed, then the end of the stream. */
static int read_then_eof(int fd, size_t len, uint32_t seed, const char *what)
{
	size_t got = 0;
	ssize_t n;

	datagen_seed(want, len, seed);
	while (got < len) {
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n <= 0) {
			fail("%s: %zu of %zu bytes", what, got, len);
			return -1;
		}
		got += (size_t)n;
	}
	if (memcmp(buf, want, len) || recv(fd, buf, 1, MSG_DONTWAIT) != 0) {
		fail("%s: wrong data, or no end after it", what);
		return -1;
	}
	return 0;
}

static int check_states(void)
{
	struct msghdr mh = { 0 };
	struct iovec iov = { buf, sizeof(buf) };
	char cbuf[CMSG_SPACE(sizeof(struct ucred))];
	struct cmsghdr *ch;
	ssize_t n;

	if (read_then_eof(sk[S0], QUEUED, 1, "shut-down stream"))
		return -1;
	if (send(sk[S1], "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE) {
		fail("the shut-down end can still send");
		return -1;
	}
	if (send(sk[S0], "yz", 2, 0) != 2 || recv(sk[S1], buf, 2, MSG_DONTWAIT) != 2 || memcmp(buf, "yz", 2)) {
		fail("the other way is broken");
		return -1;
	}
	if (recv(sk[D1], buf, sizeof(buf), MSG_DONTWAIT) != 100 ||
	    (datagen_seed(want, 100, 2), memcmp(buf, want, 100))) {
		fail("the queued datagram");
		return -1;
	}
	if (send(sk[D0], "cred", 4, 0) != 4) {
		fail("datagram after restore");
		return -1;
	}
	mh.msg_iov = &iov, mh.msg_iovlen = 1, mh.msg_control = cbuf, mh.msg_controllen = sizeof(cbuf);
	n = recvmsg(sk[D1], &mh, MSG_DONTWAIT);
	ch = CMSG_FIRSTHDR(&mh);
	if (n != 4 || !ch || ch->cmsg_type != SCM_CREDENTIALS || ((struct ucred *)CMSG_DATA(ch))->pid != getpid() ||
	    ((struct ucred *)CMSG_DATA(ch))->uid != getuid()) {
		fail("no credentials with a datagram (SO_PASSCRED lost?)");
		return -1;
	}
	if (read_then_eof(sk[ORPHAN], ORPHAN_BYTES, 3, "orphaned stream"))
		return -1;
	if (send(sk[ORPHAN], "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE) {
		fail("the orphaned socket can still send");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_opts() || check_states())
		return 1;
	pass();
	return 0;
}
