/*
 * The inet sockets of criu's network namespace through sock_diag (see
 * include/sk-diag.h): one NLM_F_DUMP request per (family, protocol), every
 * answer kept by inode.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
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

static int pair_bit(int family, int proto)
{
	return (family == AF_INET6 ? 2 : 0) + (proto == IPPROTO_UDP ? 1 : 0);
}

static int send_request(int nl, int family, int proto)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			 .nlmsg_seq = 1 },
		/* TOS and TCLASS also bring the class id, which is the priority under cgroup v2. */
		.req = { .sdiag_family = (uint8_t)family,
			 .sdiag_protocol = (uint8_t)proto,
			 .idiag_states = SK_DIAG_STATES,
			 .idiag_ext = (1 << (INET_DIAG_TOS - 1)) | (1 << (INET_DIAG_TCLASS - 1)) },
	};
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };

	if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&nladdr, sizeof(nladdr)) != (ssize_t)sizeof(msg)) {
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

/* One inet_diag_msg with its attributes; sockets without an inode (in accept queues, TIME_WAIT) are skipped. */
static int add_msg(struct sk_diag_table *t, const struct nlmsghdr *h, int proto)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
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
static int read_answers(int nl, char *buf, struct sk_diag_table *t, int proto)
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
		ret = add_msg(t, h, proto);
		if (ret)
			return ret;
	}
	return 0;
}

static int cmp_ino(const void *a, const void *b)
{
	uint32_t x = ((const struct sk_diag *)a)->ino, y = ((const struct sk_diag *)b)->ino;

	return (x > y) - (x < y);
}

int sk_diag_collect(struct sk_diag_table *t, int family, int proto)
{
	uint32_t bit = 1u << pair_bit(family, proto);
	size_t before = t->nr;
	char *buf;
	int nl, ret;

	if (t->collected & bit)
		return 0;
	buf = malloc(DIAG_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0) {
		pr_perror("Can't open a sock_diag socket");
		ret = -errno;
		goto out_free_buf;
	}
	ret = send_request(nl, family, proto);
	while (!ret)
		ret = read_answers(nl, buf, t, proto);
	close(nl);
	if (ret == -ENOENT || ret == -EOPNOTSUPP || ret == -EINVAL) {
		pr_info("the kernel has no sock_diag for family %d protocol %d (%s)\n", family, proto, strerror(-ret));
		t->nr = before;
		ret = -EPROTONOSUPPORT;
		goto out_free_buf;
	}
	if (ret < 0) {
		pr_err("sock_diag dump of family %d protocol %d failed: %s\n", family, proto, strerror(-ret));
		t->nr = before;
		goto out_free_buf;
	}
	t->collected |= bit;
	if (t->nr)
		qsort(t->v, t->nr, sizeof(*t->v), cmp_ino);
	pr_debug("%zu sockets of family %d protocol %d\n", t->nr - before, family, proto);
	ret = 0;
out_free_buf:
	free(buf);
	return ret;
}

const struct sk_diag *sk_diag_find(const struct sk_diag_table *t, uint32_t ino)
{
	struct sk_diag key = { .ino = ino };

	if (!t->nr)
		return NULL;
	return bsearch(&key, t->v, t->nr, sizeof(*t->v), cmp_ino);
}

void sk_diag_free(struct sk_diag_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
