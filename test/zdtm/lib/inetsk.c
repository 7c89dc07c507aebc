/*
 * inetsk.c: inet sockets for the tests (see inetsk.h). The listen backlog is
 * read back through sock_diag, the only place the kernel shows it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inetsk.h"
#include "ngutil.h"
#include "zdtmtst.h"

/* Returns -err with errno set to err, so that a caller's fail() names it. */
static int tsk_err(int err)
{
	errno = err;
	return -err;
}

static int tsk_errno(void)
{
	return tsk_err(errno ? errno : EIO);
}

int tsk_domain(enum tsk_kind kind)
{
	return kind == TSK_INET4 ? AF_INET : AF_INET6;
}

const char *tsk_kind_name(enum tsk_kind kind)
{
	switch (kind) {
	case TSK_INET4:
		return "IPv4";
	case TSK_INET6:
		return "IPv6";
	case TSK_MAPPED:
		return "v4-mapped IPv6";
	}
	return "?";
}

void tsk_addr_loopback(enum tsk_kind kind, uint16_t port, struct tsk_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (kind == TSK_INET4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (kind == TSK_INET6) {
			sin6->sin6_addr = in6addr_loopback;
		} else {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			sin6->sin6_addr.s6_addr32[3] = htonl(INADDR_LOOPBACK);
		}
		a->len = sizeof(*sin6);
	}
}

uint16_t tsk_addr_port(const struct tsk_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

bool tsk_addr_equal(const struct tsk_addr *a, const struct tsk_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family || a->len != b->len)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) &&
		       x->sin6_scope_id == y->sin6_scope_id;
	}
	return !memcmp(&a->ss, &b->ss, a->len);
}

const char *tsk_addr_str(const struct tsk_addr *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (a->ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, tsk_addr_port(a));
	} else if (a->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, tsk_addr_port(a));
	} else {
		snprintf(buf, size, "(family %d)", a->ss.ss_family);
	}
	return buf;
}

int tsk_sockname(int fd, struct tsk_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->len = sizeof(a->ss);
	return getsockname(fd, (struct sockaddr *)&a->ss, &a->len) ? tsk_errno() : 0;
}

int tsk_peername(int fd, struct tsk_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->len = sizeof(a->ss);
	return getpeername(fd, (struct sockaddr *)&a->ss, &a->len) ? tsk_errno() : 0;
}

int tsk_socket(enum tsk_kind kind, int type)
{
	return tsk_socket_proto(kind, type, 0);
}

int tsk_socket_proto(enum tsk_kind kind, int type, int proto)
{
	int fd, v6only = kind == TSK_INET6;

	fd = socket(tsk_domain(kind), type, proto);
	if (fd < 0)
		return tsk_errno();
	if (kind != TSK_INET4 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only))) {
		int ret = tsk_errno();

		close(fd);
		return ret;
	}
	return fd;
}

int tsk_bind_loopback(int fd, enum tsk_kind kind, struct tsk_addr *name)
{
	struct tsk_addr a;

	tsk_addr_loopback(kind, 0, &a);
	if (bind(fd, (struct sockaddr *)&a.ss, a.len))
		return tsk_errno();
	return name ? tsk_sockname(fd, name) : 0;
}

static int tsk_set_rcvbuf(int fd, int rcvbuf)
{
	if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		return tsk_errno();
	return 0;
}

int tsk_listener(enum tsk_kind kind, int backlog, int rcvbuf)
{
	int fd, ret;

	fd = tsk_socket(kind, SOCK_STREAM);
	if (fd < 0)
		return fd;
	ret = tsk_set_rcvbuf(fd, rcvbuf);
	if (!ret)
		ret = tsk_bind_loopback(fd, kind, NULL);
	if (!ret && listen(fd, backlog))
		ret = tsk_errno();
	if (ret) {
		close(fd);
		return tsk_err(-ret);
	}
	return fd;
}

int tsk_connect(enum tsk_kind kind, const struct tsk_addr *to, int rcvbuf)
{
	int fd, ret;

	fd = tsk_socket(kind, SOCK_STREAM);
	if (fd < 0)
		return fd;
	ret = tsk_set_rcvbuf(fd, rcvbuf);
	if (!ret && connect(fd, (const struct sockaddr *)&to->ss, to->len))
		ret = tsk_errno();
	if (ret) {
		close(fd);
		return tsk_err(-ret);
	}
	return fd;
}

/* Waits for events on fd until deadline (ng_now_ms() based): 0, -ETIMEDOUT or the poll error. */
static int tsk_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - (int64_t)ng_now_ms();
		int n;

		if (left < 0)
			left = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return tsk_err(ETIMEDOUT);
		if (errno != EINTR)
			return tsk_errno();
	}
}

int tsk_accept(int lfd, int timeout_ms)
{
	int ret = tsk_wait(lfd, POLLIN, (int64_t)ng_now_ms() + timeout_ms);

	if (ret)
		return ret;
	ret = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return ret < 0 ? tsk_errno() : ret;
}

int tsk_pair(int lfd, enum tsk_kind kind, int rcvbuf, int *cli, int *srv)
{
	struct tsk_addr lname, to;
	int ret;

	ret = tsk_sockname(lfd, &lname);
	if (ret)
		return ret;
	tsk_addr_loopback(kind, tsk_addr_port(&lname), &to);
	*cli = tsk_connect(kind, &to, rcvbuf);
	if (*cli < 0)
		return *cli;
	*srv = tsk_accept(lfd, TSK_TIMEOUT_MS);
	if (*srv < 0) {
		ret = *srv;
		close(*cli);
		return tsk_err(-ret);
	}
	return 0;
}

int tsk_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = (int64_t)ng_now_ms() + timeout_ms;
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return tsk_errno();
		n = tsk_wait(fd, POLLOUT, deadline);
		if (n)
			return n;
	}
	return 0;
}

int tsk_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = (int64_t)ng_now_ms() + timeout_ms;
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= n;
			continue;
		}
		if (n == 0)
			return tsk_err(ENODATA);
		if (errno != EAGAIN && errno != EINTR)
			return tsk_errno();
		n = tsk_wait(fd, POLLIN, deadline);
		if (n)
			return n;
	}
	return 0;
}

int tsk_send_stream(int fd, struct tsk_stream *s, size_t len, int timeout_ms)
{
	uint8_t buf[16384];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		int ret;

		pattern_fill(buf, s->id, s->off, n);
		ret = tsk_write_all(fd, buf, n, timeout_ms);
		if (ret)
			return ret;
		s->off += n;
		len -= n;
	}
	return 0;
}

int tsk_recv_stream(int fd, struct tsk_stream *s, size_t len, int timeout_ms)
{
	uint8_t buf[16384];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		long bad;
		int ret;

		ret = tsk_read_all(fd, buf, n, timeout_ms);
		if (ret)
			return ret;
		bad = pattern_check(buf, s->id, s->off, n);
		if (bad >= 0) {
			test_msg("fd %d, stream %u: byte %llu is %#x, expected %#x\n", fd, s->id,
				 (unsigned long long)(s->off + bad), buf[bad], pattern_byte(s->id, s->off + bad));
			return tsk_err(EILSEQ);
		}
		s->off += n;
		len -= n;
	}
	return 0;
}

int tsk_read_eof(int fd, int timeout_ms)
{
	char c;
	int ret = tsk_read_all(fd, &c, 1, timeout_ms);

	if (ret == -ENODATA)
		return 0;
	return ret ? ret : tsk_err(EPROTO);
}

int tsk_queues(int fd, struct tsk_queues *q)
{
	int type;
	socklen_t len = sizeof(type);

	memset(q, 0, sizeof(*q));
	if (ioctl(fd, SIOCINQ, &q->inq) || ioctl(fd, SIOCOUTQ, &q->outq))
		return tsk_errno();
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return tsk_errno();
	if (type == SOCK_STREAM && ioctl(fd, SIOCOUTQNSD, &q->unsent))
		return tsk_errno();
	return 0;
}

int tsk_wait_inq(int fd, int inq, int timeout_ms)
{
	int64_t deadline = (int64_t)ng_now_ms() + timeout_ms;

	for (;;) {
		int have;

		if (ioctl(fd, SIOCINQ, &have))
			return tsk_errno();
		if (have >= inq)
			return have;
		if ((int64_t)ng_now_ms() >= deadline)
			return tsk_err(ETIMEDOUT);
		usleep(1000);
	}
}

int tsk_tcp_state(int fd)
{
	struct tcp_info info;
	socklen_t len = sizeof(info);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len))
		return tsk_errno();
	return info.tcpi_state;
}

int tsk_tcp_repair(int fd)
{
	int on;
	socklen_t len = sizeof(on);

	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, &len))
		return tsk_errno();
	return on;
}

const char *tsk_tcp_state_name(int state)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "ESTABLISHED",
		[TCP_SYN_SENT] = "SYN_SENT",
		[TCP_SYN_RECV] = "SYN_RECV",
		[TCP_FIN_WAIT1] = "FIN_WAIT1",
		[TCP_FIN_WAIT2] = "FIN_WAIT2",
		[TCP_TIME_WAIT] = "TIME_WAIT",
		[TCP_CLOSE] = "CLOSE",
		[TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[TCP_LAST_ACK] = "LAST_ACK",
		[TCP_LISTEN] = "LISTEN",
		[TCP_CLOSING] = "CLOSING",
	};

	if (state < 0 || state >= (int)(sizeof(names) / sizeof(names[0])) || !names[state])
		return "?";
	return names[state];
}

/* Asks sock_diag for every listening TCP socket of the family and picks the one with inode ino. */
static int tsk_diag_listener(int family, ino_t ino, struct inet_diag_msg *out)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		},
		.req = {
			.sdiag_family = family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = 1 << TCP_LISTEN,
		},
	};
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	int nl, ret = -ENOENT;
	bool done = false;

	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return tsk_errno();
	if (send(nl, &msg, sizeof(msg), 0) != sizeof(msg)) {
		ret = tsk_errno();
		goto out_close;
	}
	while (!done) {
		ssize_t n = recv(nl, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0) {
			ret = tsk_errno();
			goto out_close;
		}
		for (; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct inet_diag_msg *m = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				ret = e->error ? e->error : -EPROTO;
				done = true;
				break;
			}
			if (m->idiag_inode == ino) {
				*out = *m;
				ret = 0;
			}
		}
	}
out_close:
	close(nl);
	return ret < 0 ? tsk_err(-ret) : 0;
}

int tsk_listen_backlog(int fd, int *backlog, int *queued)
{
	struct inet_diag_msg m;
	struct stat st;
	int domain, ret;
	socklen_t len = sizeof(domain);

	if (fstat(fd, &st) || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return tsk_errno();
	ret = tsk_diag_listener(domain, st.st_ino, &m);
	if (ret)
		return ret;
	*backlog = (int)m.idiag_wqueue;
	*queued = (int)m.idiag_rqueue;
	return 0;
}

/* What criu must carry over, by the level the option belongs to. */
#define TSK_OPTS_SOCKET                                                                                           \
	TSK_OPT(SOL_SOCKET, SO_REUSEADDR), TSK_OPT(SOL_SOCKET, SO_REUSEPORT), TSK_OPT(SOL_SOCKET, SO_KEEPALIVE),  \
		TSK_OPT(SOL_SOCKET, SO_SNDBUF), TSK_OPT(SOL_SOCKET, SO_RCVBUF), TSK_OPT(SOL_SOCKET, SO_PRIORITY), \
		TSK_OPT(SOL_SOCKET, SO_MARK), TSK_OPT(SOL_SOCKET, SO_RCVLOWAT), TSK_OPT(SOL_SOCKET, SO_LINGER),   \
		TSK_OPT(SOL_SOCKET, SO_RCVTIMEO), TSK_OPT(SOL_SOCKET, SO_SNDTIMEO),                               \
		TSK_OPT(SOL_SOCKET, SO_BINDTODEVICE)
#define TSK_OPTS_TCP                                                                                           \
	TSK_OPT(IPPROTO_TCP, TCP_NODELAY), TSK_OPT(IPPROTO_TCP, TCP_CORK), TSK_OPT(IPPROTO_TCP, TCP_KEEPIDLE), \
		TSK_OPT(IPPROTO_TCP, TCP_KEEPINTVL), TSK_OPT(IPPROTO_TCP, TCP_KEEPCNT)
#define TSK_OPTS_IP4 TSK_OPT(IPPROTO_IP, IP_TOS)
#define TSK_OPTS_IP6 TSK_OPT(IPPROTO_IPV6, IPV6_TCLASS), TSK_OPT(IPPROTO_IPV6, IPV6_V6ONLY)

static const struct tsk_opt tsk_opts_tcp4[] = { TSK_OPTS_SOCKET, TSK_OPTS_TCP, TSK_OPTS_IP4 };
static const struct tsk_opt tsk_opts_tcp6[] = { TSK_OPTS_SOCKET, TSK_OPTS_TCP, TSK_OPTS_IP6 };
static const struct tsk_opt tsk_opts_udp4[] = { TSK_OPTS_SOCKET, TSK_OPTS_IP4 };
static const struct tsk_opt tsk_opts_udp6[] = { TSK_OPTS_SOCKET, TSK_OPTS_IP6 };

#define TSK_NR(a) (int)(sizeof(a) / sizeof((a)[0]))
#define TSK_OPTS_MAX TSK_NR(tsk_opts_tcp6)

int tsk_opts_table(enum tsk_kind kind, int type, const struct tsk_opt **opts)
{
	bool stream = (type & 0xf) == SOCK_STREAM;

	if (kind == TSK_INET4) {
		*opts = stream ? tsk_opts_tcp4 : tsk_opts_udp4;
		return stream ? TSK_NR(tsk_opts_tcp4) : TSK_NR(tsk_opts_udp4);
	}
	*opts = stream ? tsk_opts_tcp6 : tsk_opts_udp6;
	return stream ? TSK_NR(tsk_opts_tcp6) : TSK_NR(tsk_opts_udp6);
}

int tsk_opts_get(int fd, const struct tsk_opt *opts, int n, struct tsk_optval *vals)
{
	for (int i = 0; i < n; i++) {
		memset(&vals[i], 0, sizeof(vals[i]));
		vals[i].len = sizeof(vals[i].val);
		if (getsockopt(fd, opts[i].level, opts[i].name, vals[i].val, &vals[i].len)) {
			int ret = tsk_errno();

			test_msg("fd %d: getsockopt(%s): %s\n", fd, opts[i].label, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* An option's value for a message: the int, or the first bytes in hex. */
static const char *tsk_optval_str(const struct tsk_optval *v, char *buf, size_t size)
{
	int n = 0;

	if (v->len == sizeof(int)) {
		int x;

		memcpy(&x, v->val, sizeof(x));
		snprintf(buf, size, "%d", x);
		return buf;
	}
	buf[0] = '\0';
	for (socklen_t i = 0; i < v->len && n + 3 < (int)size; i++)
		n += snprintf(buf + n, size - n, "%02x", v->val[i]);
	return buf;
}

int tsk_opts_changed(int fd, const char *what, const struct tsk_opt *opts, int n, const struct tsk_optval *vals)
{
	struct tsk_optval now[TSK_OPTS_MAX];
	char a[72], b[72];
	int changed = 0, ret;

	if (n > TSK_NR(now))
		return tsk_err(E2BIG);
	ret = tsk_opts_get(fd, opts, n, now);
	if (ret)
		return ret;
	for (int i = 0; i < n; i++) {
		if (now[i].len == vals[i].len && !memcmp(now[i].val, vals[i].val, now[i].len))
			continue;
		test_msg("%s: %s is %s, was %s\n", what, opts[i].label, tsk_optval_str(&now[i], a, sizeof(a)),
			 tsk_optval_str(&vals[i], b, sizeof(b)));
		changed++;
	}
	return changed;
}

int tsk_nofile_raise(int n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return tsk_errno();
	if (rl.rlim_cur >= (rlim_t)n)
		return 0;
	if (rl.rlim_max < (rlim_t)n)
		return tsk_err(EMFILE);
	rl.rlim_cur = n;
	return setrlimit(RLIMIT_NOFILE, &rl) ? tsk_errno() : 0;
}
