/*
 * socket_tcp_bound: TCP sockets bound to a loopback address but neither
 * listening nor connected, of each kind (IPv4, IPv6, v4-mapped), plus two that
 * share one port through SO_REUSEPORT. After restore each has the same domain,
 * type, protocol, address and options, is in state CLOSE with no peer, still
 * holds its port (binding a new socket there fails with EADDRINUSE), and can
 * listen there and take a connection that carries data both ways.
 *
 * socket_tcp_unconn is this test with sockets never bound (TEST_UNBOUND):
 * after restore they have no address yet, and each connects to a new listener
 * of its kind and carries data both ways.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "inetsk.h"
#include "zdtmtst.h"

#define TRIP_BYTES 1000

struct sock {
	const char *label;
	enum tsk_kind kind;
	bool reuseport;
	int fd;
	struct tsk_addr addr; /* getsockname() before the checkpoint */
	int domain, type, protocol;
	const struct tsk_opt *opts;
	int nr_opts;
	struct tsk_optval vals[64];
};

static struct sock socks[] = {
	{ .label = "ipv4", .kind = TSK_INET4 },
	{ .label = "ipv6", .kind = TSK_INET6 },
	{ .label = "mapped", .kind = TSK_MAPPED },
#ifndef TEST_UNBOUND
	{ .label = "reuseport-a", .kind = TSK_INET4, .reuseport = true },
	{ .label = "reuseport-b", .kind = TSK_INET4, .reuseport = true }, /* bound to reuseport-a's port */
#endif
};

#define NR_SOCKS (int)(sizeof(socks) / sizeof(socks[0]))

static int sock_int(int fd, int name, int *val)
{
	socklen_t len = sizeof(*val);

	return getsockopt(fd, SOL_SOCKET, name, val, &len);
}

static int sock_open(struct sock *s, const struct sock *prev)
{
	int one = 1;

	s->fd = tsk_socket(s->kind, SOCK_STREAM);
	if (s->fd < 0) {
		fail("%s: socket", s->label);
		return -1;
	}
	if (s->reuseport && setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
		fail("%s: SO_REUSEPORT", s->label);
		return -1;
	}
#ifndef TEST_UNBOUND
	if (s->reuseport && prev && prev->reuseport) {
		if (bind(s->fd, (const struct sockaddr *)&prev->addr.ss, prev->addr.len)) {
			fail("%s: binding to %s's port", s->label, prev->label);
			return -1;
		}
	} else if (tsk_bind_loopback(s->fd, s->kind, NULL)) {
		fail("%s: bind", s->label);
		return -1;
	}
#else
	(void)prev;
#endif
	s->nr_opts = tsk_opts_table(s->kind, SOCK_STREAM, &s->opts);
	if (tsk_sockname(s->fd, &s->addr) || sock_int(s->fd, SO_DOMAIN, &s->domain) ||
	    sock_int(s->fd, SO_TYPE, &s->type) || sock_int(s->fd, SO_PROTOCOL, &s->protocol) ||
	    tsk_opts_get(s->fd, s->opts, s->nr_opts, s->vals)) {
		fail("%s: reading it back", s->label);
		return -1;
	}
	return 0;
}

/* The socket is as it was: same identity, address, options; not connected. */
static int sock_check(struct sock *s)
{
	char a[TSK_ADDR_STRLEN], b[TSK_ADDR_STRLEN];
	int domain, type, protocol, state, changed;
	struct tsk_addr addr;

	if (sock_int(s->fd, SO_DOMAIN, &domain) || sock_int(s->fd, SO_TYPE, &type) ||
	    sock_int(s->fd, SO_PROTOCOL, &protocol)) {
		fail("%s: SO_DOMAIN/TYPE/PROTOCOL", s->label);
		return -1;
	}
	if (domain != s->domain || type != s->type || protocol != s->protocol) {
		fail("%s: domain %d type %d protocol %d, were %d %d %d", s->label, domain, type, protocol, s->domain,
		     s->type, s->protocol);
		return -1;
	}
	if (tsk_sockname(s->fd, &addr)) {
		fail("%s: getsockname", s->label);
		return -1;
	}
	if (!tsk_addr_equal(&addr, &s->addr)) {
		fail("%s: address %s, was %s", s->label, tsk_addr_str(&addr, a, sizeof(a)),
		     tsk_addr_str(&s->addr, b, sizeof(b)));
		return -1;
	}
	state = tsk_tcp_state(s->fd);
	if (state != TCP_CLOSE) {
		fail("%s: state %s, expected CLOSE", s->label, tsk_tcp_state_name(state));
		return -1;
	}
	if (tsk_peername(s->fd, &addr) != -ENOTCONN) {
		fail("%s: has a peer", s->label);
		return -1;
	}
	changed = tsk_opts_changed(s->fd, s->label, s->opts, s->nr_opts, s->vals);
	if (changed) {
		fail("%s: %d options changed (listed above)", s->label, changed);
		return -1;
	}
	return 0;
}

static int exchange(const char *label, int a, int b, int id)
{
	struct tsk_stream out, in;

	tsk_stream_init(&out, id);
	tsk_stream_init(&in, id);
	if (tsk_send_stream(a, &out, TRIP_BYTES, TSK_TIMEOUT_MS) ||
	    tsk_recv_stream(b, &in, TRIP_BYTES, TSK_TIMEOUT_MS)) {
		fail("%s: data one way", label);
		return -1;
	}
	tsk_stream_init(&out, id + 1);
	tsk_stream_init(&in, id + 1);
	if (tsk_send_stream(b, &out, TRIP_BYTES, TSK_TIMEOUT_MS) ||
	    tsk_recv_stream(a, &in, TRIP_BYTES, TSK_TIMEOUT_MS)) {
		fail("%s: data the other way", label);
		return -1;
	}
	return 0;
}

#ifndef TEST_UNBOUND
/* The port is held: nobody else may bind it; the socket listens there and accepts. */
static int sock_use(struct sock *s, int idx)
{
	int other, cli, srv;

	other = tsk_socket(s->kind, SOCK_STREAM);
	if (other < 0) {
		fail("socket");
		return -1;
	}
	if (!bind(other, (const struct sockaddr *)&s->addr.ss, s->addr.len) || errno != EADDRINUSE) {
		fail("%s: a new socket could bind its port", s->label);
		return -1;
	}
	close(other);
	if (s->reuseport && strcmp(s->label, "reuseport-a"))
		return 0; /* one of the pair listens */
	if (listen(s->fd, 4)) {
		fail("%s: listen", s->label);
		return -1;
	}
	cli = tsk_connect(s->kind, &s->addr, 0);
	srv = cli < 0 ? -1 : tsk_accept(s->fd, TSK_TIMEOUT_MS);
	if (srv < 0) {
		fail("%s: connect and accept", s->label);
		return -1;
	}
	if (exchange(s->label, cli, srv, idx * 2))
		return -1;
	close(cli);
	close(srv);
	return 0;
}
#else
/* The socket connects to a new listener of its kind. */
static int sock_use(struct sock *s, int idx)
{
	struct tsk_addr to;
	int lfd, srv;

	lfd = tsk_listener(s->kind, 4, 0);
	if (lfd < 0 || tsk_sockname(lfd, &to)) {
		fail("%s: a listener to connect to", s->label);
		return -1;
	}
	if (connect(s->fd, (const struct sockaddr *)&to.ss, to.len)) {
		fail("%s: connect", s->label);
		return -1;
	}
	srv = tsk_accept(lfd, TSK_TIMEOUT_MS);
	if (srv < 0) {
		fail("%s: accept", s->label);
		return -1;
	}
	if (exchange(s->label, s->fd, srv, idx * 2))
		return -1;
	close(srv);
	close(lfd);
	return 0;
}
#endif

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (int i = 0; i < NR_SOCKS; i++)
		if (sock_open(&socks[i], i ? &socks[i - 1] : NULL))
			return 1;

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_SOCKS; i++)
		if (sock_check(&socks[i]))
			return 1;
	for (int i = 0; i < NR_SOCKS; i++)
		if (sock_use(&socks[i], i))
			return 1;
	pass();
	return 0;
}
