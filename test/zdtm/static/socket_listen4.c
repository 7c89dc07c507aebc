/*
 * socket_listen4: listening TCP sockets. One is given a backlog of its own and
 * options (SO_REUSEADDR, SO_KEEPALIVE with TCP_KEEPIDLE/INTVL/CNT, buffer
 * sizes, TCP_NODELAY), one is left with the defaults. After restore each is
 * still listening (SO_ACCEPTCONN) on the same address with the same backlog
 * (sock_diag) and every option as before; each accepts a new connection that
 * carries data both ways, and the connection accepted from the first one
 * inherits its keepalive settings and TCP_NODELAY (the kernel copies them from
 * the listener, so they must really be set on it), while the one accepted from
 * the second has the values of a fresh socket.
 *
 * socket_listen6 and socket_listen_mapped are this test with other kinds of
 * socket (TEST_KIND); the mapped one takes an IPv4 client.
 */
#include <string.h>
#include <unistd.h>

#include "inetsk.h"
#include "zdtmtst.h"

#ifndef TEST_KIND
#define TEST_KIND TSK_INET4
#endif
#ifndef TEST_CLIENT_KIND
#define TEST_CLIENT_KIND TEST_KIND
#endif

#define TUNED_BACKLOG 37
#define PLAIN_BACKLOG 5
#define TRIP_BYTES 3000

struct setting {
	int level, name, value;
	const char *label;
};

/* Non-default values; the keepalive ones and TCP_NODELAY pass to accepted sockets. */
static const struct setting tuned[] = {
	{ SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR" },    { SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE" },
	{ IPPROTO_TCP, TCP_KEEPIDLE, 321, "TCP_KEEPIDLE" }, { IPPROTO_TCP, TCP_KEEPINTVL, 17, "TCP_KEEPINTVL" },
	{ IPPROTO_TCP, TCP_KEEPCNT, 4, "TCP_KEEPCNT" },	    { SOL_SOCKET, SO_SNDBUF, 98304, "SO_SNDBUF" },
	{ SOL_SOCKET, SO_RCVBUF, 196608, "SO_RCVBUF" },	    { IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY" },
};

#define NR_TUNED (int)(sizeof(tuned) / sizeof(tuned[0]))
#define INHERITED_FROM 1 /* tuned[1] (SO_KEEPALIVE) on */

struct listener {
	const char *label;
	int backlog;
	bool tune;
	int fd;
	struct tsk_addr addr;
	const struct tsk_opt *opts;
	int nr_opts;
	struct tsk_optval vals[64];
};

static struct listener listeners[] = {
	{ .label = "tuned", .backlog = TUNED_BACKLOG, .tune = true },
	{ .label = "plain", .backlog = PLAIN_BACKLOG },
};

#define NR_LISTENERS (int)(sizeof(listeners) / sizeof(listeners[0]))

static int listener_open(struct listener *l)
{
	int fd = tsk_socket(TEST_KIND, SOCK_STREAM);

	if (fd < 0) {
		fail("%s: socket", l->label);
		return -1;
	}
	for (int i = 0; l->tune && i < NR_TUNED; i++) {
		if (setsockopt(fd, tuned[i].level, tuned[i].name, &tuned[i].value, sizeof(int))) {
			fail("%s: setting %s", l->label, tuned[i].label);
			return -1;
		}
	}
	if (tsk_bind_loopback(fd, TEST_KIND, &l->addr) || listen(fd, l->backlog)) {
		fail("%s: bind and listen", l->label);
		return -1;
	}
	l->fd = fd;
	l->nr_opts = tsk_opts_table(TEST_KIND, SOCK_STREAM, &l->opts);
	if (tsk_opts_get(fd, l->opts, l->nr_opts, l->vals)) {
		fail("%s: reading its options", l->label);
		return -1;
	}
	return 0;
}

static int listener_check(struct listener *l)
{
	char a[TSK_ADDR_STRLEN], b[TSK_ADDR_STRLEN];
	int backlog, queued, on, changed;
	socklen_t len = sizeof(on);
	struct tsk_addr addr;

	if (getsockopt(l->fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) || !on) {
		fail("%s: not listening any more", l->label);
		return -1;
	}
	if (tsk_sockname(l->fd, &addr)) {
		fail("%s: getsockname", l->label);
		return -1;
	}
	if (!tsk_addr_equal(&addr, &l->addr)) {
		fail("%s: listens on %s, was %s", l->label, tsk_addr_str(&addr, a, sizeof(a)),
		     tsk_addr_str(&l->addr, b, sizeof(b)));
		return -1;
	}
	if (tsk_listen_backlog(l->fd, &backlog, &queued)) {
		fail("%s: backlog from sock_diag", l->label);
		return -1;
	}
	if (backlog != l->backlog || queued) {
		fail("%s: backlog %d with %d waiting, expected %d with none", l->label, backlog, queued, l->backlog);
		return -1;
	}
	changed = tsk_opts_changed(l->fd, l->label, l->opts, l->nr_opts, l->vals);
	if (changed) {
		fail("%s: %d options changed (listed above)", l->label, changed);
		return -1;
	}
	return 0;
}

/*
 * The accepted socket srv has the tuned listener's keepalive settings and
 * TCP_NODELAY, or, from the plain one, the values of a fresh socket.
 */
static int inherited_check(struct listener *l, int srv)
{
	int fresh = tsk_socket(TEST_KIND, SOCK_STREAM);

	if (fresh < 0) {
		fail("socket");
		return -1;
	}
	for (int i = INHERITED_FROM; i < NR_TUNED; i++) {
		int val, want = tuned[i].value;
		socklen_t len = sizeof(val);

		if (tuned[i].name == SO_SNDBUF || tuned[i].name == SO_RCVBUF)
			continue; /* not inherited as set: the listener's own check covers them */
		if (!l->tune && getsockopt(fresh, tuned[i].level, tuned[i].name, &want, &len)) {
			fail("a fresh socket's %s", tuned[i].label);
			return -1;
		}
		if (getsockopt(srv, tuned[i].level, tuned[i].name, &val, &len)) {
			fail("%s: the accepted socket's %s", l->label, tuned[i].label);
			return -1;
		}
		if (val != want) {
			fail("%s: the accepted socket has %s %d, expected %d", l->label, tuned[i].label, val, want);
			return -1;
		}
	}
	close(fresh);
	return 0;
}

/* A new connection through l: data both ways, and what the accepted socket inherited. */
static int listener_accepts(struct listener *l, int idx)
{
	struct tsk_stream out, in;
	int cli, srv;

	if (tsk_pair(l->fd, TEST_CLIENT_KIND, 0, &cli, &srv)) {
		fail("%s: connect and accept", l->label);
		return -1;
	}
	tsk_stream_init(&out, idx * 2);
	tsk_stream_init(&in, idx * 2);
	if (tsk_send_stream(cli, &out, TRIP_BYTES, TSK_TIMEOUT_MS) ||
	    tsk_recv_stream(srv, &in, TRIP_BYTES, TSK_TIMEOUT_MS)) {
		fail("%s: client to server", l->label);
		return -1;
	}
	tsk_stream_init(&out, idx * 2 + 1);
	tsk_stream_init(&in, idx * 2 + 1);
	if (tsk_send_stream(srv, &out, TRIP_BYTES, TSK_TIMEOUT_MS) ||
	    tsk_recv_stream(cli, &in, TRIP_BYTES, TSK_TIMEOUT_MS)) {
		fail("%s: server to client", l->label);
		return -1;
	}
	if (inherited_check(l, srv))
		return -1;
	close(cli);
	close(srv);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (int i = 0; i < NR_LISTENERS; i++)
		if (listener_open(&listeners[i]))
			return 1;

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_LISTENERS; i++)
		if (listener_check(&listeners[i]))
			return 1;
	for (int i = 0; i < NR_LISTENERS; i++)
		if (listener_accepts(&listeners[i], i))
			return 1;
	pass();
	return 0;
}
