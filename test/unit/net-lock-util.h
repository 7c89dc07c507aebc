/* net-lock-util.h: helpers shared by the net-lock tests and lock-bench: private netns, TCP pairs, inspection. */
#ifndef NET_LOCK_UTIL_H
#define NET_LOCK_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net-lock.h"
#include "ngutil.h"

#define NLT_PASS 0
#define NLT_FAIL 1
#define NLT_SKIP 77

#define nlt_fail(fmt, ...)                                                                   \
	do {                                                                                 \
		fprintf(stderr, "FAIL %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__); \
		exit(NLT_FAIL);                                                              \
	} while (0)

#define nlt_skip(fmt, ...)                                         \
	do {                                                       \
		fprintf(stderr, "SKIP: " fmt "\n", ##__VA_ARGS__); \
		exit(NLT_SKIP);                                    \
	} while (0)

#define nlt_check(cond, fmt, ...)                                   \
	do {                                                        \
		if (!(cond))                                        \
			nlt_fail("%s: " fmt, #cond, ##__VA_ARGS__); \
	} while (0)

static inline void nlt_log(void *arg, unsigned int level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "?", "err", "warn", "info", "debug" };

	fprintf(stderr, "[%s%s%s] ", arg ? (const char *)arg : "", arg ? " " : "", names[level < 5 ? level : 0]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static inline double nlt_now_ms(void)
{
	return (double)ng_now_ns() / 1e6;
}

/* Enter a private network namespace with lo up, so the host firewall is never touched. */
static inline void nlt_enter_netns(void)
{
	struct ifreq ifr = { 0 };
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		nlt_skip("unshare(CLONE_NEWNET): %s", strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		nlt_fail("socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		nlt_fail("SIOCGIFFLAGS lo: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		nlt_fail("SIOCSIFFLAGS lo: %s", strerror(errno));
	close(fd);
}

static inline int nlt_have_prog(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "PATH=$PATH:/usr/sbin:/sbin command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Run a shell command, keep the start of its stdout in out; returns its exit status or -1. */
static inline int nlt_run(const char *cmd, char *out, size_t size)
{
	char full[1024];
	size_t len = 0;
	FILE *f;
	int st;

	snprintf(full, sizeof(full), "PATH=$PATH:/usr/sbin:/sbin %s", cmd);
	f = popen(full, "r");
	if (!f)
		return -1;
	if (out && size) {
		size_t r;

		while (len + 1 < size && (r = fread(out + len, 1, size - 1 - len, f)) > 0)
			len += r;
		out[len] = '\0';
	}
	while (fgetc(f) != EOF)
		;
	st = pclose(f);
	return st < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline size_t nlt_count(const char *hay, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += len;
	}
	return n;
}

/* Number of elements in an nftables set of the lock table, or -1. */
static inline long nlt_nft_set_elems(const char *table, const char *set)
{
	static char out[4 << 20];
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "nft -j list set inet %s %s 2>/dev/null", table, set);
	if (nlt_run(cmd, out, sizeof(out)) != 0)
		return -1;
	return (long)nlt_count(out, "\"concat\"");
}

static inline int nlt_nft_table_exists(const char *table)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "nft list table inet %s >/dev/null 2>&1", table);
	return nlt_run(cmd, NULL, 0) == 0;
}

/*
 * The iptables side of lock @name in family @af (iptables or ip6tables -S, whole filter table):
 * *chains counts the chain and its sub-chains "@name+<k>", *drops their DROP rules. -1 if the
 * listing fails. Sub-chains are what a split lock adds; a flat one has the chain alone.
 */
static inline int nlt_ipt_lock(const char *name, int af, long *chains, long *drops)
{
	static char out[8 << 20];
	char cmd[128], sub[64], plain[64];
	const char *line;

	snprintf(cmd, sizeof(cmd), "%s -w -S 2>/dev/null", af == AF_INET ? "iptables" : "ip6tables");
	if (nlt_run(cmd, out, sizeof(out)) != 0)
		return -1;
	*chains = 0;
	*drops = 0;
	for (line = out; *line;) {
		const char *eol = strchrnul(line, '\n');
		size_t len = (size_t)(eol - line);

		snprintf(plain, sizeof(plain), "-N %s", name);
		snprintf(sub, sizeof(sub), "-N %s+", name);
		if ((len == strlen(plain) && !strncmp(line, plain, len)) || !strncmp(line, sub, strlen(sub)))
			(*chains)++;
		snprintf(plain, sizeof(plain), "-A %s ", name);
		snprintf(sub, sizeof(sub), "-A %s+", name);
		if ((!strncmp(line, plain, strlen(plain)) || !strncmp(line, sub, strlen(sub))) && len >= 8 &&
		    !strncmp(eol - 8, " -j DROP", 8))
			(*drops)++;
		line = *eol ? eol + 1 : eol;
	}
	return 0;
}

union nlt_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
	struct sockaddr_storage ss;
};

static inline void nlt_loopback(int family, union nlt_addr *a, socklen_t *len)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->v4.sin_family = AF_INET;
		a->v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(a->v4);
	} else {
		a->v6.sin6_family = AF_INET6;
		a->v6.sin6_addr = in6addr_loopback;
		*len = sizeof(a->v6);
	}
}

/* An established TCP connection on loopback: *cl connected to *srv. mark: SO_MARK on both, 0 = none. */
static inline void nlt_tcp_pair(int family, uint32_t mark, int *cl, int *srv)
{
	union nlt_addr a;
	socklen_t len;
	int lfd;

	nlt_loopback(family, &a, &len);
	lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*cl = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || *cl < 0)
		nlt_fail("socket: %s", strerror(errno));
	if (mark && (setsockopt(lfd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 ||
		     setsockopt(*cl, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0))
		nlt_fail("SO_MARK: %s", strerror(errno));
	if (bind(lfd, &a.sa, len) < 0 || listen(lfd, 8) < 0 || getsockname(lfd, &a.sa, &len) < 0)
		nlt_fail("listen: %s", strerror(errno));
	if (connect(*cl, &a.sa, len) < 0)
		nlt_fail("connect: %s", strerror(errno));
	*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*srv < 0)
		nlt_fail("accept: %s", strerror(errno));
	close(lfd);
}

/*
 * An IPv4 connection with an IPv6 server socket: *cl (AF_INET) connected to 127.0.0.1, accepted
 * by a dual-stack AF_INET6 listener, so *srv sees both ends as ::ffff:127.0.0.1.
 */
static inline void nlt_tcp_pair_v4mapped(int *cl, int *srv)
{
	union nlt_addr a, c;
	socklen_t len, clen;
	int lfd, off = 0;

	nlt_loopback(AF_INET6, &a, &len);
	a.v6.sin6_addr = in6addr_any;
	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*cl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || *cl < 0)
		nlt_fail("socket: %s", strerror(errno));
	if (setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
		nlt_fail("IPV6_V6ONLY: %s", strerror(errno));
	if (bind(lfd, &a.sa, len) < 0 || listen(lfd, 8) < 0 || getsockname(lfd, &a.sa, &len) < 0)
		nlt_fail("listen: %s", strerror(errno));
	nlt_loopback(AF_INET, &c, &clen);
	c.v4.sin_port = a.v6.sin6_port;
	if (connect(*cl, &c.sa, clen) < 0)
		nlt_fail("connect: %s", strerror(errno));
	*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*srv < 0)
		nlt_fail("accept: %s", strerror(errno));
	close(lfd);
}

/* The tuple of a connected socket, seen from that socket. */
static inline void nlt_tuple_of(int fd, struct netlock_tuple *t)
{
	union nlt_addr l, p;
	socklen_t ll = sizeof(l), pl = sizeof(p);

	if (getsockname(fd, &l.sa, &ll) < 0 || getpeername(fd, &p.sa, &pl) < 0)
		nlt_fail("getsockname/getpeername: %s", strerror(errno));
	memset(t, 0, sizeof(*t));
	t->family = l.sa.sa_family;
	if (t->family == AF_INET) {
		t->src.v4 = l.v4.sin_addr;
		t->dst.v4 = p.v4.sin_addr;
		t->sport = ntohs(l.v4.sin_port);
		t->dport = ntohs(p.v4.sin_port);
	} else {
		t->src.v6 = l.v6.sin6_addr;
		t->dst.v6 = p.v6.sin6_addr;
		t->sport = ntohs(l.v6.sin6_port);
		t->dport = ntohs(p.v6.sin6_port);
	}
}

static inline void nlt_send(int fd, const char *msg)
{
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg))
		nlt_fail("send: %s", strerror(errno));
}

/* Wait up to timeout_ms for data on fd; return the bytes read (0 on timeout), fail on error. */
static inline ssize_t nlt_recv(int fd, char *buf, size_t size, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t r;
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		nlt_fail("poll: %s", strerror(errno));
	if (ret == 0)
		return 0;
	r = recv(fd, buf, size - 1, MSG_DONTWAIT);
	if (r < 0)
		nlt_fail("recv: %s", strerror(errno));
	buf[r] = '\0';
	return r;
}

/* Expect exactly msg on fd within timeout_ms. */
static inline void nlt_expect(int fd, const char *msg, int timeout_ms, const char *what)
{
	char buf[256];
	ssize_t r = nlt_recv(fd, buf, sizeof(buf), timeout_ms);

	if (r == 0)
		nlt_fail("%s: nothing arrived within %d ms", what, timeout_ms);
	if (strcmp(buf, msg))
		nlt_fail("%s: got \"%s\", expected \"%s\"", what, buf, msg);
}

/* Expect nothing on fd for timeout_ms. */
static inline void nlt_expect_none(int fd, int timeout_ms, const char *what)
{
	char buf[256];

	if (nlt_recv(fd, buf, sizeof(buf), timeout_ms) > 0)
		nlt_fail("%s: \"%s\" arrived through the lock", what, buf);
}

/* n distinct synthetic tuples; every 4th one IPv6 when mixed. */
static inline struct netlock_tuple *nlt_synth_tuples(size_t n, int mixed)
{
	struct netlock_tuple *t = calloc(n ? n : 1, sizeof(*t));
	size_t i;

	if (!t)
		nlt_fail("calloc %zu tuples", n);
	for (i = 0; i < n; i++) {
		uint32_t host = (uint32_t)(i / 50000), port = (uint32_t)(i % 50000);

		if (mixed && i % 4 == 3) {
			t[i].family = AF_INET6;
			t[i].src.v6.s6_addr[0] = 0xfd;
			t[i].src.v6.s6_addr[15] = 1;
			t[i].dst.v6.s6_addr[0] = 0xfd;
			t[i].dst.v6.s6_addr[14] = (uint8_t)(host >> 8);
			t[i].dst.v6.s6_addr[15] = (uint8_t)(host + 2);
		} else {
			t[i].family = AF_INET;
			t[i].src.v4.s_addr = htonl(0x0a000001);
			t[i].dst.v4.s_addr = htonl(0x0a010000 + host);
		}
		t[i].sport = 8080;
		t[i].dport = (uint16_t)(10000 + port);
	}
	return t;
}

#endif /* NET_LOCK_UTIL_H */
