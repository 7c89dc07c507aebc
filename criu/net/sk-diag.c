/*
 * The sockets of criu's network namespace through sock_diag (see
 * include/sk-diag.h): one NLM_F_DUMP request per inet (family, protocol) and
 * one for every unix socket, every answer kept by inode.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "array.h"
#include "sk-diag.h"

#define LOG_PREFIX "sk-diag: "
#include "log.h"

#define DIAG_BUF_SIZE (256u << 10)

#ifndef TCP_NEW_SYN_RECV
#define TCP_NEW_SYN_RECV 12
#endif
/*
 * Every state but those of sockets no fd holds (TIME_WAIT, a request in a
 * listener's queue): a busy server's namespace has thousands of them.
 */
#define SK_DIAG_STATES (~0u & ~((1u << TCP_TIME_WAIT) | (1u << TCP_NEW_SYN_RECV)))

/* TCP 0, UDP 1, UDP-Lite 4; +2 for IPv6. */
static int pair_bit(int family, int proto)
{
	return (family == AF_INET6 ? 2 : 0) + (proto == IPPROTO_UDP ? 1 : proto == IPPROTO_UDPLITE ? 4 : 0);
}

/* Sends @req (@len bytes: an inet_diag_req_v2 or a unix_diag_req) as a sock_diag dump request. */
static int send_request(int nl, const void *req, size_t len)
{
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };
	struct nlmsghdr nlh = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(len),
				.nlmsg_type = SOCK_DIAG_BY_FAMILY,
				.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
				.nlmsg_seq = 1 };
	struct iovec iov[2] = { { .iov_base = &nlh, .iov_len = NLMSG_HDRLEN },
				{ .iov_base = (void *)req, .iov_len = len } };
	struct msghdr mh = { .msg_name = &nladdr, .msg_namelen = sizeof(nladdr), .msg_iov = iov, .msg_iovlen = 2 };

	if (sendmsg(nl, &mh, 0) != (ssize_t)(NLMSG_HDRLEN + len)) {
		pr_perror("Can't send a sock_diag request");
		return -errno;
	}
	return 0;
}

static void add_attr(struct sk_diag *d, const struct rtattr *a)
{
	const void *v = RTA_DATA(a);
	size_t len = RTA_PAYLOAD(a);

	switch (a->rta_type) {
	case INET_DIAG_SHUTDOWN:
		if (len >= 1)
			d->shutdown = *(const uint8_t *)v;
		break;
	case INET_DIAG_SKV6ONLY:
		if (len >= 1)
			d->v6only = *(const uint8_t *)v;
		break;
	case INET_DIAG_TOS:
		if (len >= 1 && d->family == AF_INET)
			d->tos = *(const uint8_t *)v, d->has |= SK_DIAG_HAS_TOS;
		break;
	case INET_DIAG_TCLASS:
		if (len >= 1 && d->family == AF_INET6)
			d->tos = *(const uint8_t *)v, d->has |= SK_DIAG_HAS_TOS;
		break;
	case INET_DIAG_MARK:
		if (len >= 4)
			d->mark = *(const uint32_t *)v, d->has |= SK_DIAG_HAS_MARK;
		break;
	case INET_DIAG_CLASS_ID:
		if (len >= 4)
			d->priority = *(const uint32_t *)v, d->has |= SK_DIAG_HAS_PRIORITY;
		break;
	case INET_DIAG_SOCKOPT:
		if (len >= sizeof(struct inet_diag_sockopt))
			d->freebind = ((const struct inet_diag_sockopt *)v)->freebind, d->has |= SK_DIAG_HAS_FREEBIND;
		break;
	}
}

/* What the walker hands each answer to, with its argument. */
struct diag_sink {
	int (*add)(struct diag_sink *sink, const struct nlmsghdr *h);
	struct sk_diag_table *inet;
	int proto;
	struct sk_diag_unix_table *unix_t;
};

/* One inet_diag_msg with its attributes; sockets without an inode (in accept queues, TIME_WAIT) are skipped. */
static int add_msg(struct diag_sink *sink, const struct nlmsghdr *h)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	struct sk_diag_table *t = sink->inet;
	int proto = sink->proto;
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	const struct rtattr *a;
	struct sk_diag *d;
	int ret;

	if (len < 0) {
		pr_err("a sock_diag answer of %u bytes is too short\n", h->nlmsg_len);
		return -EINVAL;
	}
	if (!m->idiag_inode)
		return 0;
	ret = ARRAY_RESERVE(t->v, t->nr, t->cap, 256);
	if (ret)
		return ret;
	d = &t->v[t->nr];
	memset(d, 0, sizeof(*d));
	d->ino = m->idiag_inode;
	d->family = m->idiag_family;
	d->proto = (uint8_t)proto;
	d->state = m->idiag_state;
	d->sport = ntohs(m->id.idiag_sport);
	d->dport = ntohs(m->id.idiag_dport);
	memcpy(d->src, m->id.idiag_src, sizeof(d->src));
	memcpy(d->dst, m->id.idiag_dst, sizeof(d->dst));
	d->rqueue = m->idiag_rqueue;
	d->wqueue = m->idiag_wqueue;
	d->ifindex = m->id.idiag_if;
	for (a = (const struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len))
		add_attr(d, a);
	t->nr++;
	return 0;
}

/* Reads the answers until NLMSG_DONE; 1 when the dump ended, 0 to read on, or -errno. */
static int read_answers(int nl, char *buf, struct diag_sink *sink)
{
	ssize_t n = recv(nl, buf, DIAG_BUF_SIZE, 0);
	struct nlmsghdr *h;
	int len, ret;

	if (n < 0) {
		if (errno == EINTR)
			return 0;
		pr_perror("Can't read sock_diag answers");
		return -errno;
	}
	len = (int)n;
	for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			return e->error ? e->error : 1;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		ret = sink->add(sink, h);
		if (ret)
			return ret;
	}
	return 0;
}

/* Both tables' entries start with the socket's inode. */
static int cmp_ino(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static const void *find_ino(const void *v, size_t nr, size_t size, uint32_t ino)
{
	return nr ? bsearch(&ino, v, nr, size, cmp_ino) : NULL;
}

/*
 * Sends the dump request @req (@len bytes) on a new sock_diag socket and hands
 * every answer to @sink until the dump ends. Returns 0 or -errno.
 */
static int diag_walk(const void *req, size_t len, struct diag_sink *sink)
{
	char *buf;
	int nl, ret;

	buf = malloc(DIAG_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0) {
		pr_perror("Can't open a sock_diag socket");
		ret = -errno;
		goto out_free_buf;
	}
	ret = send_request(nl, req, len);
	while (!ret)
		ret = read_answers(nl, buf, sink);
	close(nl);
	if (ret > 0)
		ret = 0;
out_free_buf:
	free(buf);
	return ret;
}

int sk_diag_collect(struct sk_diag_table *t, int family, int proto)
{
	struct diag_sink sink = { .add = add_msg, .inet = t, .proto = proto };
	/* TOS and TCLASS also bring the class id, which is the priority under cgroup v2. */
	struct inet_diag_req_v2 req = { .sdiag_family = (uint8_t)family,
					.sdiag_protocol = (uint8_t)proto,
					.idiag_states = SK_DIAG_STATES,
					.idiag_ext = (1 << (INET_DIAG_TOS - 1)) | (1 << (INET_DIAG_TCLASS - 1)) };
	uint32_t bit = 1u << pair_bit(family, proto);
	size_t before = t->nr;
	int ret;

	if (t->collected & bit)
		return 0;
	ret = diag_walk(&req, sizeof(req), &sink);
	if (ret == -ENOENT || ret == -EOPNOTSUPP || ret == -EINVAL) {
		pr_info("the kernel has no sock_diag for family %d protocol %d (%s)\n", family, proto, strerror(-ret));
		t->nr = before;
		return -EPROTONOSUPPORT;
	}
	if (ret < 0) {
		pr_err("sock_diag dump of family %d protocol %d failed: %s\n", family, proto, strerror(-ret));
		t->nr = before;
		return ret;
	}
	t->collected |= bit;
	if (t->nr)
		qsort(t->v, t->nr, sizeof(*t->v), cmp_ino);
	pr_debug("%zu sockets of family %d protocol %d\n", t->nr - before, family, proto);
	return 0;
}

const struct sk_diag *sk_diag_find(const struct sk_diag_table *t, uint32_t ino)
{
	return find_ino(t->v, t->nr, sizeof(*t->v), ino);
}

void sk_diag_free(struct sk_diag_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* AF_UNIX: one dump of every unix socket with its name, peer, queues and, for a listener, its in-flight peers. */

static int add_unix_attr(struct sk_diag_unix *d, const struct rtattr *a)
{
	const void *v = RTA_DATA(a);
	size_t len = RTA_PAYLOAD(a);

	switch (a->rta_type) {
	case UNIX_DIAG_NAME:
		if (len > sizeof(d->name))
			return -EINVAL;
		memcpy(d->name, v, len);
		d->name_len = (uint16_t)len;
		break;
	case UNIX_DIAG_VFS:
		if (len >= sizeof(struct unix_diag_vfs)) {
			d->vfs_ino = ((const struct unix_diag_vfs *)v)->udiag_vfs_ino;
			d->vfs_dev = ((const struct unix_diag_vfs *)v)->udiag_vfs_dev;
		}
		break;
	case UNIX_DIAG_PEER:
		if (len >= 4)
			d->peer = *(const uint32_t *)v;
		break;
	case UNIX_DIAG_ICONS:
		d->nr_icons = (uint32_t)(len / sizeof(uint32_t));
		if (d->nr_icons) {
			d->icons = malloc(len);
			if (!d->icons)
				return -ENOMEM;
			memcpy(d->icons, v, d->nr_icons * sizeof(uint32_t));
		}
		break;
	case UNIX_DIAG_RQLEN:
		if (len >= sizeof(struct unix_diag_rqlen)) {
			d->rqlen = ((const struct unix_diag_rqlen *)v)->udiag_rqueue;
			d->wqlen = ((const struct unix_diag_rqlen *)v)->udiag_wqueue;
		}
		break;
	case UNIX_DIAG_SHUTDOWN:
		if (len >= 1)
			d->shutdown = *(const uint8_t *)v;
		break;
	}
	return 0;
}

static int add_unix_msg(struct diag_sink *sink, const struct nlmsghdr *h)
{
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	struct sk_diag_unix_table *t = sink->unix_t;
	const struct rtattr *a;
	struct sk_diag_unix *d;
	int ret;

	if (len < 0) {
		pr_err("a unix sock_diag answer of %u bytes is too short\n", h->nlmsg_len);
		return -EINVAL;
	}
	ret = ARRAY_RESERVE(t->v, t->nr, t->cap, 64);
	if (ret)
		return ret;
	d = &t->v[t->nr];
	memset(d, 0, sizeof(*d));
	d->ino = m->udiag_ino;
	d->type = m->udiag_type;
	d->state = m->udiag_state;
	t->nr++; /* counted before its attributes, so that sk_diag_unix_free() frees its icons */
	for (a = (const struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		ret = add_unix_attr(d, a);
		if (ret) {
			pr_err("unix socket %u: malformed sock_diag attribute %u\n", d->ino, a->rta_type);
			return ret;
		}
	}
	return 0;
}

int sk_diag_collect_unix(struct sk_diag_unix_table *t)
{
	struct diag_sink sink = { .add = add_unix_msg, .unix_t = t };
	struct unix_diag_req req = { .sdiag_family = AF_UNIX,
				     .udiag_states = ~0u,
				     .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
						   UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN };
	int ret;

	if (t->collected)
		return 0;
	ret = diag_walk(&req, sizeof(req), &sink);
	if (ret < 0) {
		pr_err("sock_diag dump of the unix sockets failed: %s\n", strerror(-ret));
		sk_diag_unix_free(t);
		return ret;
	}
	t->collected = true;
	if (t->nr)
		qsort(t->v, t->nr, sizeof(*t->v), cmp_ino);
	pr_debug("%zu unix sockets\n", t->nr);
	return 0;
}

const struct sk_diag_unix *sk_diag_find_unix(const struct sk_diag_unix_table *t, uint32_t ino)
{
	return find_ino(t->v, t->nr, sizeof(*t->v), ino);
}

void sk_diag_unix_free(struct sk_diag_unix_table *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->v[i].icons);
	free(t->v);
	memset(t, 0, sizeof(*t));
}
