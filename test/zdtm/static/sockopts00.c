/*
 * sockopts00: socket options set to values that are not the defaults, on
 * every kind of inet socket criu handles: a TCP listener, one end of an
 * established TCP connection (the other end left alone), an IPv6 TCP socket
 * bound but not listening and a bound UDP socket; one more TCP socket is
 * bound and left alone. The options are SO_REUSEADDR, SO_REUSEPORT,
 * SO_KEEPALIVE with TCP_KEEPIDLE/INTVL/CNT, SO_SNDBUF, SO_RCVBUF, TCP_NODELAY,
 * TCP_CORK, IP_TOS (IPV6_TCLASS), IPV6_V6ONLY, SO_BINDTODEVICE ("lo"),
 * SO_PRIORITY, SO_MARK, SO_RCVLOWAT, SO_LINGER, SO_RCVTIMEO and SO_SNDTIMEO,
 * with values that differ from socket to socket. SO_PRIORITY is set after
 * IP_TOS, which resets it: restoring them in the other order shows.
 *
 * After restore every option of every socket, the untouched ones included,
 * reads back as before, and the connection still carries data both ways.
 */
#include <net/if.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "inetsk.h"
#include "zdtmtst.h"

#define TRIP_BYTES 100

enum sock_role {
	LISTENER,
	CONNECTED,
	BOUND6,
	UDP,
	PEER,
	PRISTINE,
	NR_SOCKS
};

static const char *const labels[NR_SOCKS] = {
	[LISTENER] = "tcp listener", [CONNECTED] = "tcp connected",   [BOUND6] = "tcp6 bound",
	[UDP] = "udp bound",	     [PEER] = "tcp connected (peer)", [PRISTINE] = "tcp bound, untouched",
};

struct sock {
	int fd;
	enum tsk_kind kind;
	int type;
	const struct tsk_opt *opts;
	int nr_opts;
	struct tsk_optval vals[64];
};

static struct sock socks[NR_SOCKS];

/* Sets one option, naming it on failure. */
static int opt_set(int i, int level, int name, const char *label, const void *val, socklen_t len)
{
	if (setsockopt(socks[i].fd, level, name, val, len)) {
		fail("%s: setting %s", labels[i], label);
		return -1;
	}
	return 0;
}

#define OPT_INT(i, level, name, v)                                 \
	({                                                         \
		int __v = (v);                                     \
		opt_set(i, level, name, #name, &__v, sizeof(__v)); \
	})
#define OPT_ANY(i, level, name, v) opt_set(i, level, name, #name, &(v), sizeof(v))

/* Every option that fits socket i, with values of its own. */
static int opts_tune(int i)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 5 + i };
	struct timeval rcvtimeo = { .tv_sec = 3 + i, .tv_usec = 250000 };
	struct timeval sndtimeo = { .tv_sec = 1 + i, .tv_usec = 500000 };
	bool tcp = socks[i].type == SOCK_STREAM, v4 = socks[i].kind == TSK_INET4;
	char dev[IFNAMSIZ] = "lo";

	if (v4 ? OPT_INT(i, IPPROTO_IP, IP_TOS, 0x20 + 4 * i) : OPT_INT(i, IPPROTO_IPV6, IPV6_TCLASS, 0x40 + 4 * i))
		return -1;
	if (OPT_INT(i, SOL_SOCKET, SO_REUSEADDR, 1) || OPT_INT(i, SOL_SOCKET, SO_REUSEPORT, 1) ||
	    OPT_INT(i, SOL_SOCKET, SO_KEEPALIVE, 1) || OPT_INT(i, SOL_SOCKET, SO_SNDBUF, 65536 + 4096 * i) ||
	    OPT_INT(i, SOL_SOCKET, SO_RCVBUF, 131072 + 8192 * i) || OPT_INT(i, SOL_SOCKET, SO_PRIORITY, 3 + i % 4) ||
	    OPT_INT(i, SOL_SOCKET, SO_MARK, 0x5a00 + i) || OPT_INT(i, SOL_SOCKET, SO_RCVLOWAT, 2 + i) ||
	    OPT_ANY(i, SOL_SOCKET, SO_LINGER, linger) || OPT_ANY(i, SOL_SOCKET, SO_RCVTIMEO, rcvtimeo) ||
	    OPT_ANY(i, SOL_SOCKET, SO_SNDTIMEO, sndtimeo) ||
	    opt_set(i, SOL_SOCKET, SO_BINDTODEVICE, "SO_BINDTODEVICE", dev, strlen(dev) + 1))
		return -1;
	if (tcp && (OPT_INT(i, IPPROTO_TCP, TCP_NODELAY, 1) || OPT_INT(i, IPPROTO_TCP, TCP_CORK, 1) ||
		    OPT_INT(i, IPPROTO_TCP, TCP_KEEPIDLE, 100 + i) || OPT_INT(i, IPPROTO_TCP, TCP_KEEPINTVL, 20 + i) ||
		    OPT_INT(i, IPPROTO_TCP, TCP_KEEPCNT, 3 + i)))
		return -1;
	return 0;
}

static int socks_open(void)
{
	struct tsk_addr addr;
	int lfd;

	for (int i = 0; i < NR_SOCKS; i++) {
		socks[i].kind = i == BOUND6 ? TSK_INET6 : TSK_INET4;
		socks[i].type = i == UDP ? SOCK_DGRAM : SOCK_STREAM;
	}
	/* the connection comes through a listener of its own, closed before the checkpoint */
	lfd = tsk_listener(TSK_INET4, 1, 0);
	if (lfd < 0 || tsk_pair(lfd, TSK_INET4, 0, &socks[CONNECTED].fd, &socks[PEER].fd)) {
		fail("a connection");
		return -1;
	}
	close(lfd);
	for (int i = 0; i < NR_SOCKS; i++) {
		if (i == CONNECTED || i == PEER)
			continue;
		socks[i].fd = tsk_socket(socks[i].kind, socks[i].type);
		if (socks[i].fd < 0) {
			fail("%s: socket", labels[i]);
			return -1;
		}
	}
	for (int i = 0; i < NR_SOCKS; i++)
		if (i != PEER && i != PRISTINE && opts_tune(i))
			return -1;
	if (tsk_bind_loopback(socks[LISTENER].fd, TSK_INET4, &addr) || listen(socks[LISTENER].fd, 8)) {
		fail("%s: bind and listen", labels[LISTENER]);
		return -1;
	}
	/* every other socket is bound too: unbound ones are socket_tcp_unconn's subject, not this test's */
	for (int i = 0; i < NR_SOCKS; i++) {
		if (i == LISTENER || i == CONNECTED || i == PEER)
			continue;
		if (tsk_bind_loopback(socks[i].fd, socks[i].kind, &addr)) {
			fail("%s: bind", labels[i]);
			return -1;
		}
	}
	for (int i = 0; i < NR_SOCKS; i++) {
		socks[i].nr_opts = tsk_opts_table(socks[i].kind, socks[i].type, &socks[i].opts);
		if (tsk_opts_get(socks[i].fd, socks[i].opts, socks[i].nr_opts, socks[i].vals)) {
			fail("%s: reading the options back", labels[i]);
			return -1;
		}
	}
	return 0;
}

/* The corked end flushes when it is uncorked: data both ways. */
static int connection_check(void)
{
	struct tsk_stream out, in;
	int zero = 0;

	tsk_stream_init(&out, 1);
	tsk_stream_init(&in, 1);
	if (tsk_send_stream(socks[CONNECTED].fd, &out, TRIP_BYTES, TSK_TIMEOUT_MS) ||
	    opt_set(CONNECTED, IPPROTO_TCP, TCP_CORK, "TCP_CORK", &zero, sizeof(zero)) ||
	    tsk_recv_stream(socks[PEER].fd, &in, TRIP_BYTES, TSK_TIMEOUT_MS)) {
		fail("connection: to the peer");
		return -1;
	}
	tsk_stream_init(&out, 2);
	tsk_stream_init(&in, 2);
	if (tsk_send_stream(socks[PEER].fd, &out, TRIP_BYTES, TSK_TIMEOUT_MS) ||
	    tsk_recv_stream(socks[CONNECTED].fd, &in, TRIP_BYTES, TSK_TIMEOUT_MS)) {
		fail("connection: from the peer");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int bad = 0;

	test_init(argc, argv);
	if (socks_open())
		return 1;

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_SOCKS; i++) {
		int changed = tsk_opts_changed(socks[i].fd, labels[i], socks[i].opts, socks[i].nr_opts, socks[i].vals);

		if (changed < 0) {
			fail("%s: reading the options", labels[i]);
			return 1;
		}
		bad += changed;
	}
	if (bad) {
		fail("%d options changed (listed above)", bad);
		return 1;
	}
	if (connection_check())
		return 1;
	pass();
	return 0;
}
