/*
 * net-lock.c: the network lock. While TCP connections are checkpointed no packet may reach or leave
 * them, so they are fenced with firewall rules, all of them in one transaction:
 *
 *  - nftables: one netlink batch (libnftnl + libmnl) creates the table, its sets with every tuple,
 *    its chains and rules; the kernel applies a batch atomically. Unlock deletes the table.
 *  - iptables: one iptables-restore run per address family, fed every rule on stdin; from
 *    IPT_SPLIT_MIN connections of a family on, the rules are split in sub-chains chosen by port
 *    range (see ipt_put_split()), so that other packets do not walk them all. Unlock lists the
 *    chain to name its sub-chains, then removes everything in one iptables-restore run.
 *  - skip: nothing at all.
 *
 * Self-contained (libc, libnftnl, libmnl), no global state: everything a call needs comes from its
 * netlock_opts, and each call uses its own netlink socket in the calling thread's network namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "ngutil.h"
#include "net-lock.h"

#define LOCK_PREFIX "criu-ng-"
#define LOCK_NAME_SIZE (sizeof(LOCK_PREFIX) + NETLOCK_ID_MAX)

/*
 * Base chain priority: after IPv4/IPv6 defragmentation (-400), so the transport header is always
 * there, and before raw (-300), conntrack (-200), mangle and the usual filters (0), so a locked
 * packet touches no other rule and no conntrack entry.
 */
#define NFT_LOCK_PRIO (-310)

/* nftables data types, for `nft list` to print the set keys (see nftables' datatype.h) */
#define NFT_TYPE_BITS 6
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
#define NFT_TYPE_INET_SERVICE 13

/*
 * Elements per NEWSETELEM message: nested attributes carry 16-bit lengths, so one message holds
 * at most 64 KiB of elements; more elements go into more messages of the same batch.
 */
#define NFT_ELEMS_MSG_BYTES 60000
#define NFT_ELEM_OVERHEAD 12 /* LIST_ELEM, ELEM_KEY and DATA_VALUE attribute headers */
#define NFT_MSG_ROOM 4096    /* bound for any message other than elements */
#define NFT_ACK_TIMEOUT_MS 10000

/*
 * iptables: a chain name has at most 28 characters. From IPT_SPLIT_MIN tuples of a family on, the
 * lock's chain is split in sub-chains "<chain>+<k>" ('+' is not allowed in ids, so no lock's chain
 * is another's sub-chain), at most IPT_SUBS_MAX of them: k has up to 3 digits.
 */
#define IPT_CHAIN_NAME_MAX 28
#define IPT_SUB_SEP "+"
#define IPT_SUB_SUFFIX_MAX 4 /* "+999" */
#define IPT_SUBS_MAX 1000
#define IPT_SPLIT_MIN 64

/* searched after $PATH: iptables lives in sbin, which a caller's PATH may lack */
static const char *const ipt_default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

extern char **environ;

/* ---------------------------------------------------------------- logging and checks */

__attribute__((format(printf, 3, 4))) static void lk_log(const struct netlock_opts *o, unsigned int level,
							 const char *fmt, ...)
{
	unsigned int max = o->log_level ? o->log_level : NETLOCK_LOG_INFO;
	va_list ap;

	if (!o->log || level > max)
		return;
	va_start(ap, fmt);
	o->log(o->log_arg, level, fmt, ap);
	va_end(ap);
}

#define lk_err(o, fmt, ...) lk_log(o, NETLOCK_LOG_ERR, "net-lock: %s:%d: " fmt, __FILE__, __LINE__, ##__VA_ARGS__)
#define lk_warn(o, fmt, ...) lk_log(o, NETLOCK_LOG_WARN, "net-lock: " fmt, ##__VA_ARGS__)
#define lk_info(o, fmt, ...) lk_log(o, NETLOCK_LOG_INFO, "net-lock: " fmt, ##__VA_ARGS__)
#define lk_debug(o, fmt, ...) lk_log(o, NETLOCK_LOG_DEBUG, "net-lock: " fmt, ##__VA_ARGS__)

static double now_ms(void)
{
	return (double)ng_now_ns() / 1e6;
}

int netlock_mode_parse(const char *name, enum netlock_mode *mode)
{
	if (!name || !mode)
		return -EINVAL;
	if (!strcmp(name, "nftables"))
		*mode = NETLOCK_NFTABLES;
	else if (!strcmp(name, "iptables"))
		*mode = NETLOCK_IPTABLES;
	else if (!strcmp(name, "skip"))
		*mode = NETLOCK_SKIP;
	else
		return -EINVAL;
	return 0;
}

/* Check the options and build the name shared by the nftables table and the iptables chain. */
static int lock_name(const struct netlock_opts *o, char name[LOCK_NAME_SIZE])
{
	const char *id = o->id ? o->id : "default";
	size_t i, len = strlen(id);

	if (o->mode != NETLOCK_NFTABLES && o->mode != NETLOCK_IPTABLES && o->mode != NETLOCK_SKIP) {
		lk_err(o, "unknown lock mode %d", (int)o->mode);
		return -EINVAL;
	}
	if (len == 0 || len > NETLOCK_ID_MAX) {
		lk_err(o, "lock id \"%s\": must have 1 to %d characters", id, NETLOCK_ID_MAX);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		char c = id[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') && c != '_' &&
		    c != '-' && c != '.') {
			lk_err(o, "lock id \"%s\": only letters, digits, '_', '-' and '.' are allowed", id);
			return -EINVAL;
		}
	}
	snprintf(name, LOCK_NAME_SIZE, LOCK_PREFIX "%s", id);
	return 0;
}

/*
 * An AF_INET6 socket talking to an IPv4 peer has IPv4-mapped addresses (::ffff:a.b.c.d) at both
 * ends, but its packets travel as IPv4: such a tuple is locked in the IPv4 set and rules.
 */
static bool tuple_v4mapped(const struct netlock_tuple *t)
{
	return t->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&t->src.v6) && IN6_IS_ADDR_V4MAPPED(&t->dst.v6);
}

/* The family of the packets of a tuple's connection. */
static int tuple_family(const struct netlock_tuple *t)
{
	return tuple_v4mapped(t) ? AF_INET : t->family;
}

/* A tuple's local (@local) or peer address, as its packets carry it: 4 or 16 bytes. */
static const void *tuple_addr(const struct netlock_tuple *t, bool local)
{
	const struct in6_addr *a6 = local ? &t->src.v6 : &t->dst.v6;

	if (tuple_v4mapped(t))
		return &a6->s6_addr[12];
	return local ? (const void *)&t->src : (const void *)&t->dst;
}

static int check_tuples(const struct netlock_opts *o, const struct netlock_tuple *t, size_t n, size_t *n6)
{
	size_t i;

	*n6 = 0;
	if (n && !t)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (t[i].family != AF_INET && t[i].family != AF_INET6) {
			lk_err(o, "tuple %zu: family %d is neither AF_INET nor AF_INET6", i, t[i].family);
			return -EINVAL;
		}
		if (!t[i].sport || !t[i].dport) {
			lk_err(o, "tuple %zu: port 0 (%u -> %u)", i, t[i].sport, t[i].dport);
			return -EINVAL;
		}
		/* a v4-mapped address only ever talks to another one */
		if (t[i].family == AF_INET6 && !tuple_v4mapped(&t[i]) &&
		    (IN6_IS_ADDR_V4MAPPED(&t[i].src.v6) || IN6_IS_ADDR_V4MAPPED(&t[i].dst.v6))) {
			lk_err(o, "tuple %zu: an IPv4-mapped address with a plain IPv6 one", i);
			return -EINVAL;
		}
		if (tuple_family(&t[i]) == AF_INET6)
			(*n6)++;
	}
	return 0;
}

/* ---------------------------------------------------------------- nftables: the batch */

struct nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t seq_first; /* sequence number of BATCH_BEGIN */
	uint32_t seq;	    /* next sequence number */
	unsigned int acks;  /* messages that ask for an ack */
};

static int batch_init(struct nft_batch *b, size_t cap)
{
	b->buf = malloc(cap);
	if (!b->buf)
		return -ENOMEM;
	b->cap = cap;
	b->len = 0;
	b->seq_first = 1;
	b->seq = 1;
	b->acks = 0;
	nftnl_batch_begin(b->buf, b->seq++);
	b->len = ((struct nlmsghdr *)b->buf)->nlmsg_len;
	return 0;
}

static void batch_fini(struct nft_batch *b)
{
	free(b->buf);
	b->buf = NULL;
}

/* Start a message that needs at most room bytes; NULL if the buffer was sized too small (a bug). */
static struct nlmsghdr *batch_msg(struct nft_batch *b, uint16_t type, uint16_t flags, size_t room)
{
	if (b->cap - b->len < room + NLMSG_HDRLEN * 2) /* keep room for BATCH_END */
		return NULL;
	b->acks++;
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFPROTO_INET, flags | NLM_F_ACK, b->seq++);
}

static void batch_msg_done(struct nft_batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static int batch_end(struct nft_batch *b)
{
	struct nlmsghdr *nlh;

	if (b->cap - b->len < NLMSG_HDRLEN * 2)
		return -ENOSPC;
	nlh = nftnl_batch_end(b->buf + b->len, b->seq++);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

static int put_table(struct nft_batch *b, uint16_t type, uint16_t flags, const char *name)
{
	struct nftnl_table *t;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	t = nftnl_table_alloc();
	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, name) < 0)
		goto out_free_table;
	ret = -ENOSPC;
	nlh = batch_msg(b, type, flags, NFT_MSG_ROOM);
	if (!nlh)
		goto out_free_table;
	nftnl_table_nlmsg_build_payload(nlh, t);
	batch_msg_done(b, nlh);
	ret = 0;
out_free_table:
	nftnl_table_free(t);
	return ret;
}

static int put_chain(struct nft_batch *b, const char *table, const char *name, uint32_t hook)
{
	struct nftnl_chain *c;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	c = nftnl_chain_alloc();
	if (!c)
		return -ENOMEM;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") < 0)
		goto out_free_chain;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NFT_LOCK_PRIO);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	ret = -ENOSPC;
	nlh = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, NFT_MSG_ROOM);
	if (!nlh)
		goto out_free_chain;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	batch_msg_done(b, nlh);
	ret = 0;
out_free_chain:
	nftnl_chain_free(c);
	return ret;
}

/* Key of a conns set: local address . local port . peer address . peer port, each padded to 32 bits. */
static uint32_t conns_key_len(int family)
{
	return family == AF_INET ? 4 + 4 + 4 + 4 : 16 + 4 + 16 + 4;
}

static uint32_t conns_key_type(int family)
{
	uint32_t addr = family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR;
	uint32_t type = addr;

	type = (type << NFT_TYPE_BITS) | NFT_TYPE_INET_SERVICE;
	type = (type << NFT_TYPE_BITS) | addr;
	return (type << NFT_TYPE_BITS) | NFT_TYPE_INET_SERVICE;
}

static int put_set(struct nft_batch *b, const char *table, const char *name, uint32_t id, int family, size_t nelems)
{
	struct nftnl_set *s;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	s = nftnl_set_alloc();
	if (!s)
		return -ENOMEM;
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, table) < 0 || nftnl_set_set_str(s, NFTNL_SET_NAME, name) < 0)
		goto out_free_set;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, conns_key_len(family));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, conns_key_type(family));
	/* A known size lets the kernel pick a hash sized once rather than grown while filling it. */
	if (nelems)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, nelems > UINT32_MAX ? UINT32_MAX : (uint32_t)nelems);
	ret = -ENOSPC;
	nlh = batch_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, NFT_MSG_ROOM);
	if (!nlh)
		goto out_free_set;
	nftnl_set_nlmsg_build_payload(nlh, s);
	batch_msg_done(b, nlh);
	ret = 0;
out_free_set:
	nftnl_set_free(s);
	return ret;
}

static void conns_key(const struct netlock_tuple *t, uint8_t *key)
{
	int family = tuple_family(t);
	size_t alen = family == AF_INET ? 4 : 16;
	uint16_t sport = htons(t->sport), dport = htons(t->dport);

	memset(key, 0, conns_key_len(family));
	memcpy(key, tuple_addr(t, true), alen);
	memcpy(key + alen, &sport, sizeof(sport));
	memcpy(key + alen + 4, tuple_addr(t, false), alen);
	memcpy(key + 2 * alen + 4, &dport, sizeof(dport));
}

static size_t elems_per_msg(int family)
{
	return NFT_ELEMS_MSG_BYTES / (NFT_ELEM_OVERHEAD + conns_key_len(family));
}

/* Add every tuple of this family to the set, in as many NEWSETELEM messages as their size needs. */
static int put_elems(struct nft_batch *b, const char *table, const char *set, uint32_t set_id, int family,
		     uint16_t flags, const struct netlock_tuple *t, size_t n)
{
	size_t per_msg = elems_per_msg(family), in_msg = 0, i;
	struct nlmsghdr *nlh = NULL;
	struct nlattr *list = NULL;
	uint8_t key[40];

	for (i = 0; i < n; i++) {
		struct nlattr *elem, *data;

		if (tuple_family(&t[i]) != family)
			continue;
		if (!nlh) {
			nlh = batch_msg(b, NFT_MSG_NEWSETELEM, flags, NFT_ELEMS_MSG_BYTES + 1024);
			if (!nlh)
				return -ENOSPC;
			mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
			mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
			mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(set_id));
			list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
			in_msg = 0;
		}
		conns_key(&t[i], key);
		elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
		data = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
		mnl_attr_put(nlh, NFTA_DATA_VALUE, conns_key_len(family), key);
		mnl_attr_nest_end(nlh, data);
		mnl_attr_nest_end(nlh, elem);
		if (++in_msg == per_msg) {
			mnl_attr_nest_end(nlh, list);
			batch_msg_done(b, nlh);
			nlh = NULL;
		}
	}
	if (nlh) {
		mnl_attr_nest_end(nlh, list);
		batch_msg_done(b, nlh);
	}
	return 0;
}

/* ---------------------------------------------------------------- nftables: rules */

static int rule_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int rule_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return rule_add(r, e);
}

static int rule_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	if (nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0) {
		nftnl_expr_free(e);
		return -ENOMEM;
	}
	return rule_add(r, e);
}

static int rule_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return rule_add(r, e);
}

static int rule_lookup(struct nftnl_rule *r, uint32_t sreg, const char *set, uint32_t set_id)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set) < 0) {
		nftnl_expr_free(e);
		return -ENOMEM;
	}
	return rule_add(r, e);
}

static int rule_drop(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	}
	return rule_add(r, e);
}

/* "meta mark != exempt": the packets the lock must let through stop the rule here. */
static int rule_not_exempt(struct nftnl_rule *r, uint32_t exempt_mark)
{
	int ret;

	if (!exempt_mark)
		return 0;
	ret = rule_meta(r, NFT_META_MARK, NFT_REG32_00);
	if (ret)
		return ret;
	return rule_cmp(r, NFT_REG32_00, NFT_CMP_NEQ, &exempt_mark, sizeof(exempt_mark));
}

/*
 * meta nfproto <family> meta l4proto tcp <local addr> . <local port> . <peer addr> . <peer port> @set drop,
 * where local is the source on output and the destination on input.
 */
static int rule_conns_match(struct nftnl_rule *r, bool input, int family, const char *set, uint32_t set_id)
{
	uint32_t alen = family == AF_INET ? 4 : 16, src = family == AF_INET ? 12 : 8, dst = src + alen;
	uint32_t local = input ? dst : src, peer = input ? src : dst;
	uint32_t lport = input ? 2 : 0, pport = input ? 0 : 2;
	uint8_t nfproto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6, l4proto = IPPROTO_TCP;
	uint32_t reg = NFT_REG32_00;
	int ret;

	ret = rule_meta(r, NFT_META_NFPROTO, reg);
	if (!ret)
		ret = rule_cmp(r, reg, NFT_CMP_EQ, &nfproto, sizeof(nfproto));
	if (!ret)
		ret = rule_meta(r, NFT_META_L4PROTO, reg);
	if (!ret)
		ret = rule_cmp(r, reg, NFT_CMP_EQ, &l4proto, sizeof(l4proto));
	if (!ret)
		ret = rule_payload(r, NFT_PAYLOAD_NETWORK_HEADER, local, alen, reg);
	if (!ret)
		ret = rule_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, lport, 2, reg + alen / 4);
	if (!ret)
		ret = rule_payload(r, NFT_PAYLOAD_NETWORK_HEADER, peer, alen, reg + alen / 4 + 1);
	if (!ret)
		ret = rule_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, pport, 2, reg + 2 * (alen / 4) + 1);
	if (!ret)
		ret = rule_lookup(r, reg, set, set_id);
	return ret;
}

struct rule_spec {
	const char *chain;
	bool input;
	int family; /* AF_INET/AF_INET6: match the conns set; 0: match every packet */
	const char *set;
	uint32_t set_id;
};

static int put_rule(struct nft_batch *b, const char *table, const struct rule_spec *rs, uint32_t exempt_mark)
{
	struct nftnl_rule *r;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	r = nftnl_rule_alloc();
	if (!r)
		return -ENOMEM;
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, rs->chain) < 0)
		goto out_free_rule;
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	ret = rule_not_exempt(r, exempt_mark);
	if (!ret && rs->family)
		ret = rule_conns_match(r, rs->input, rs->family, rs->set, rs->set_id);
	if (!ret)
		ret = rule_drop(r);
	if (ret)
		goto out_free_rule;
	ret = -ENOSPC;
	nlh = batch_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NFT_MSG_ROOM);
	if (!nlh)
		goto out_free_rule;
	nftnl_rule_nlmsg_build_payload(nlh, r);
	batch_msg_done(b, nlh);
	ret = 0;
out_free_rule:
	nftnl_rule_free(r);
	return ret;
}

/* ---------------------------------------------------------------- nftables: talking to the kernel */

static const char *nft_msg_name(uint16_t type)
{
	if (type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END)
		return "batch";
	if (NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_NFTABLES)
		return "message";
	switch (NFNL_MSG_TYPE(type)) {
	case NFT_MSG_NEWTABLE:
		return "create table";
	case NFT_MSG_GETTABLE:
		return "get table";
	case NFT_MSG_DELTABLE:
		return "delete table";
	case NFT_MSG_NEWCHAIN:
		return "create chain";
	case NFT_MSG_NEWSET:
		return "create set";
	case NFT_MSG_NEWSETELEM:
		return "add set elements";
	case NFT_MSG_NEWRULE:
		return "add rule";
	}
	return "message";
}

static int nft_open(const struct netlock_opts *o, struct mnl_socket **out)
{
	struct mnl_socket *nl;
	int one = 1, ret;

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl) {
		ret = -errno;
		lk_err(o, "nftables: netlink socket: %s (is nfnetlink available?)", strerror(-ret));
		return ret;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		lk_err(o, "nftables: bind netlink socket: %s", strerror(-ret));
		mnl_socket_close(nl);
		return ret;
	}
	/* Short acks (no copy of our request) with the kernel's error text when there is one. */
	if (mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		lk_debug(o, "nftables: NETLINK_CAP_ACK: %s", strerror(errno));
	if (mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0)
		lk_debug(o, "nftables: NETLINK_EXT_ACK: %s", strerror(errno));
	*out = nl;
	return 0;
}

/* The whole batch must go in one sendmsg: the kernel only runs a batch found complete in one skb. */
static int nft_size_sndbuf(const struct netlock_opts *o, int fd, size_t len)
{
	int cur = 0, want;
	socklen_t sl = sizeof(cur);

	if (len > INT32_MAX / 2 - 4096)
		return -EMSGSIZE;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &sl) < 0)
		return -errno;
	if ((size_t)cur >= len + 4096)
		return 0;
	want = (int)len + 4096;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) == 0)
		return 0;
	lk_debug(o, "nftables: SO_SNDBUFFORCE %d: %s, trying SO_SNDBUF", want, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want)) < 0)
		return -errno;
	return 0;
}

struct nft_acks {
	unsigned int got; /* acks and errors received */
	int err;	  /* first error (lowest sequence number), 0 if none */
	uint32_t err_seq;
	uint16_t err_type;
	char msg[256]; /* the kernel's extended ack text for that error */
};

static int nft_extack_attr(const struct nlattr *attr, void *data)
{
	struct nft_acks *a = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
		snprintf(a->msg, sizeof(a->msg), "%s", mnl_attr_get_str(attr));
		return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

/* The kernel's text for an error, if it gave one (NETLINK_EXT_ACK): it follows the nlmsgerr. */
static void nft_parse_extack(const struct nlmsghdr *nlh, struct nft_acks *a)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (off >= mnl_nlmsg_get_payload_len(nlh))
		return;
	/* a malformed attribute only costs the text: the errno is already taken */
	if (mnl_attr_parse(nlh, (unsigned int)off, nft_extack_attr, a) < 0)
		a->msg[0] = '\0';
}

static int nft_parse_replies(const char *buf, size_t len, uint32_t seq_lo, uint32_t seq_hi, struct nft_acks *a)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct nlmsgerr *e;

		if (nlh->nlmsg_type != NLMSG_ERROR)
			continue; /* a reply to a get request: only its ack matters here */
		if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
			return -EPROTO;
		e = mnl_nlmsg_get_payload(nlh);
		if (e->msg.nlmsg_seq < seq_lo || e->msg.nlmsg_seq > seq_hi)
			continue;
		a->got++;
		if (e->error && (!a->err || e->msg.nlmsg_seq < a->err_seq)) {
			a->err = e->error;
			a->err_seq = e->msg.nlmsg_seq;
			a->err_type = e->msg.nlmsg_type;
			a->msg[0] = '\0';
			nft_parse_extack(nlh, a);
		}
	}
	return 0;
}

static int nft_wait_readable(const struct netlock_opts *o, int fd, const struct nft_acks *a, unsigned int want)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int ret;

	do
		ret = poll(&pfd, 1, NFT_ACK_TIMEOUT_MS);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (ret == 0) {
		lk_err(o, "nftables: no answer from the kernel after %d ms (%u of %u acks)", NFT_ACK_TIMEOUT_MS, a->got,
		       want);
		return -ETIMEDOUT;
	}
	return 0;
}

/*
 * Read the acks of messages seq_lo..seq_hi, want of them. The kernel handles a batch inside our
 * sendmsg, so every reply is queued when we get here; poll() only guards against a kernel that
 * answers less than expected. After an error, read whatever else is queued and stop.
 */
static int nft_read_acks(const struct netlock_opts *o, int fd, uint32_t seq_lo, uint32_t seq_hi, unsigned int want,
			 struct nft_acks *a)
{
	char buf[16384] __attribute__((aligned(8)));
	ssize_t len;
	int ret;

	memset(a, 0, sizeof(*a));
	while (a->got < want) {
		len = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (a->err)
				break;
			ret = nft_wait_readable(o, fd, a, want);
			if (ret)
				return ret;
			continue;
		}
		if (len < 0) {
			ret = -errno;
			lk_err(o, "nftables: reading acks: %s", strerror(-ret));
			return ret;
		}
		ret = nft_parse_replies(buf, (size_t)len, seq_lo, seq_hi, a);
		if (ret) {
			lk_err(o, "nftables: malformed ack from the kernel");
			return ret;
		}
	}
	return 0;
}

static int nft_report_error(const struct netlock_opts *o, const char *what, const struct nft_acks *a, uint32_t seq_lo,
			    unsigned int nmsgs)
{
	int level = a->err == -EEXIST || a->err == -ENOENT ? NETLOCK_LOG_DEBUG : NETLOCK_LOG_ERR;

	lk_log(o, level, "net-lock: %s:%d: nftables: %s: the kernel rejected \"%s\" (message %u of %u): %s%s%s",
	       __FILE__, __LINE__, what, nft_msg_name(a->err_type), a->err_seq - seq_lo, nmsgs, strerror(-a->err),
	       a->msg[0] ? ": " : "", a->msg);
	return a->err;
}

struct nft_outcome {
	uint16_t err_type; /* the kind of message the kernel rejected first */
	double committed;  /* now_ms() when the kernel had acked the whole batch */
};

/*
 * Send the finished batch in one sendmsg and collect the verdict of the kernel. The outcome is
 * filled in either way; the commit time tells when the new rules were in force: closing the socket
 * afterwards can wait for the kernel to free deleted objects (an RCU grace period, see nft_unlock).
 */
static int nft_run_batch(const struct netlock_opts *o, struct nft_batch *b, const char *what, struct nft_outcome *out)
{
	struct mnl_socket *nl;
	struct nft_acks acks;
	ssize_t sent;
	int ret, fd;

	ret = batch_end(b);
	if (ret) {
		lk_err(o, "nftables: batch buffer too small (%zu bytes)", b->cap);
		return ret;
	}
	ret = nft_open(o, &nl);
	if (ret)
		return ret;
	fd = mnl_socket_get_fd(nl);
	ret = nft_size_sndbuf(o, fd, b->len);
	if (ret) {
		lk_err(o, "nftables: cannot size the socket for a %zu-byte batch: %s", b->len, strerror(-ret));
		goto out_close;
	}
	sent = mnl_socket_sendto(nl, b->buf, b->len);
	if (sent < 0 || (size_t)sent != b->len) {
		ret = sent < 0 ? -errno : -EIO;
		lk_err(o, "nftables: sending a %zu-byte batch: %s", b->len, strerror(-ret));
		goto out_close;
	}
	ret = nft_read_acks(o, fd, b->seq_first, b->seq - 1, b->acks, &acks);
	if (ret)
		goto out_close;
	out->committed = now_ms();
	out->err_type = NFNL_MSG_TYPE(acks.err_type);
	if (acks.err)
		ret = nft_report_error(o, what, &acks, b->seq_first, b->acks);
	else
		lk_debug(o, "nftables: %s: batch of %u messages, %zu bytes, accepted", what, b->acks, b->len);
out_close:
	mnl_socket_close(nl);
	return ret;
}

/* ---------------------------------------------------------------- nftables: the lock operations */

static size_t nft_batch_size(size_t n4, size_t n6)
{
	size_t msgs4 = (n4 + elems_per_msg(AF_INET) - 1) / elems_per_msg(AF_INET);
	size_t msgs6 = (n6 + elems_per_msg(AF_INET6) - 1) / elems_per_msg(AF_INET6);

	/* table, 2 chains, 2 sets, 4 rules; then the elements */
	return 12 * (NFT_MSG_ROOM + 2 * NLMSG_HDRLEN) +
	       (msgs4 + msgs6) * (NFT_ELEMS_MSG_BYTES + 1024 + 2 * NLMSG_HDRLEN);
}

static int nft_put_base(struct nft_batch *b, const char *table)
{
	int ret;

	ret = put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, table);
	if (!ret)
		ret = put_chain(b, table, "input", NF_INET_LOCAL_IN);
	if (!ret)
		ret = put_chain(b, table, "output", NF_INET_LOCAL_OUT);
	return ret;
}

static int nft_put_conns(struct nft_batch *b, const char *table, const struct netlock_opts *o,
			 const struct netlock_tuple *t, size_t n, size_t n6)
{
	static const struct rule_spec rules[] = {
		{ "input", true, AF_INET, "conns4", 1 },
		{ "input", true, AF_INET6, "conns6", 2 },
		{ "output", false, AF_INET, "conns4", 1 },
		{ "output", false, AF_INET6, "conns6", 2 },
	};
	uint16_t elem_flags = NLM_F_CREATE | (o->flags & NETLOCK_F_EXCL_TUPLES ? NLM_F_EXCL : 0);
	size_t i;
	int ret;

	ret = nft_put_base(b, table);
	if (!ret)
		ret = put_set(b, table, "conns4", 1, AF_INET, n - n6);
	if (!ret)
		ret = put_set(b, table, "conns6", 2, AF_INET6, n6);
	if (!ret)
		ret = put_elems(b, table, "conns4", 1, AF_INET, elem_flags, t, n);
	if (!ret)
		ret = put_elems(b, table, "conns6", 2, AF_INET6, elem_flags, t, n);
	for (i = 0; !ret && i < sizeof(rules) / sizeof(rules[0]); i++)
		ret = put_rule(b, table, &rules[i], o->exempt_mark);
	return ret;
}

static int nft_lock_conns(const struct netlock_opts *o, const char *table, const struct netlock_tuple *t, size_t n,
			  size_t n6)
{
	struct nft_outcome out = { 0 };
	double start = now_ms();
	struct nft_batch b;
	int ret;

	ret = batch_init(&b, nft_batch_size(n - n6, n6));
	if (ret)
		return ret;
	ret = nft_put_conns(&b, table, o, t, n, n6);
	if (ret) {
		lk_err(o, "nftables: building the batch: %s", strerror(-ret));
		goto out_fini;
	}
	ret = nft_run_batch(o, &b, "lock connections", &out);
	if (ret == -EEXIST && out.err_type == NFT_MSG_NEWSETELEM)
		lk_err(o, "nftables: a tuple is listed twice (NETLOCK_F_EXCL_TUPLES); nothing locked");
	else if (ret == -EEXIST)
		lk_err(o, "nftables: lock %s already exists", table);
	if (ret)
		goto out_fini;
	lk_info(o, "locked %zu connection%s in nftables table %s (1 transaction, %.1f ms)", n, n == 1 ? "" : "s", table,
		now_ms() - start);
out_fini:
	batch_fini(&b);
	return ret;
}

static int nft_lock_netns(const struct netlock_opts *o, const char *table)
{
	static const struct rule_spec rules[] = {
		{ "input", true, 0, NULL, 0 },
		{ "output", false, 0, NULL, 0 },
	};
	struct nft_outcome out = { 0 };
	double start = now_ms();
	struct nft_batch b;
	size_t i;
	int ret;

	ret = batch_init(&b, nft_batch_size(0, 0));
	if (ret)
		return ret;
	ret = nft_put_base(&b, table);
	for (i = 0; !ret && i < sizeof(rules) / sizeof(rules[0]); i++)
		ret = put_rule(&b, table, &rules[i], o->exempt_mark);
	if (ret) {
		lk_err(o, "nftables: building the batch: %s", strerror(-ret));
		goto out_fini;
	}
	ret = nft_run_batch(o, &b, "lock network namespace", &out);
	if (ret == -EEXIST)
		lk_err(o, "nftables: lock %s already exists", table);
	if (ret)
		goto out_fini;
	lk_info(o, "locked the network namespace with nftables table %s (1 transaction, %.1f ms)", table,
		now_ms() - start);
out_fini:
	batch_fini(&b);
	return ret;
}

/*
 * Delete the table: packets flow again as soon as the kernel acks the batch. Closing the netlink
 * socket then waits for the kernel to free what was deleted (nf_tables flushes its destroy work,
 * an RCU grace period, when an nfnetlink socket is released): both times are logged.
 */
static int nft_unlock(const struct netlock_opts *o, const char *table)
{
	struct nft_outcome out = { 0 };
	double start = now_ms();
	struct nft_batch b;
	int ret;

	ret = batch_init(&b, nft_batch_size(0, 0));
	if (ret)
		return ret;
	ret = put_table(&b, NFT_MSG_DELTABLE, 0, table);
	if (!ret)
		ret = nft_run_batch(o, &b, "unlock", &out);
	if (ret == -ENOENT)
		lk_debug(o, "nftables: no lock %s to remove", table);
	else if (!ret)
		lk_info(o,
			"unlocked nftables table %s (1 transaction, in force after %.1f ms, %.1f ms with kernel cleanup)",
			table, out.committed - start, now_ms() - start);
	batch_fini(&b);
	return ret;
}

/* A plain get request (no batch): the table exists if the kernel acks it without error. */
static int nft_is_locked(const struct netlock_opts *o, const char *table)
{
	char buf[NFT_MSG_ROOM] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	struct mnl_socket *nl;
	struct nft_acks acks;
	int ret;

	ret = nft_open(o, &nl);
	if (ret)
		return ret;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, 1);
	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		lk_err(o, "nftables: get table %s: %s", table, strerror(-ret));
		goto out_close;
	}
	ret = nft_read_acks(o, mnl_socket_get_fd(nl), 1, 1, 1, &acks);
	if (ret)
		goto out_close;
	if (acks.err == -ENOENT)
		ret = 0;
	else if (acks.err)
		ret = nft_report_error(o, "is locked", &acks, 0, 1);
	else
		ret = 1;
out_close:
	mnl_socket_close(nl);
	return ret;
}

/* ---------------------------------------------------------------- iptables: running the tools */

struct strbuf {
	char *s;
	size_t len, cap;
};

static int sb_grow(struct strbuf *sb, size_t more)
{
	size_t cap = sb->cap ? sb->cap * 2 : 65536;
	char *s;

	while (cap < sb->len + more)
		cap *= 2;
	s = realloc(sb->s, cap);
	if (!s)
		return -ENOMEM;
	sb->s = s;
	sb->cap = cap;
	return 0;
}

__attribute__((format(printf, 2, 3))) static int sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int len, ret;

	for (;;) {
		va_start(ap, fmt);
		len = vsnprintf(sb->s ? sb->s + sb->len : NULL, sb->s ? sb->cap - sb->len : 0, fmt, ap);
		va_end(ap);
		if (len < 0)
			return -EINVAL;
		if (sb->s && sb->len + (size_t)len < sb->cap)
			break;
		ret = sb_grow(sb, (size_t)len + 1);
		if (ret)
			return ret;
	}
	sb->len += (size_t)len;
	return 0;
}

static int find_prog(const char *name, char *path, size_t size)
{
	const char *env = getenv("PATH");
	char dirs[4096];
	char *dir, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s:%s", env && *env ? env : "", ipt_default_path);
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (!*dir)
			continue;
		if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size)
			continue;
		if (access(path, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

struct prog_run {
	int status;	    /* exit code, or 128 + signal */
	char err[1024];	    /* what it printed on stdout and stderr (start of) */
	struct strbuf *out; /* when set by the caller: all it printed, NUL-terminated */
};

/* All of the output kept in @fd into pr->out, which ends with a NUL. */
static int read_all_output(int fd, struct prog_run *pr)
{
	struct stat st;
	ssize_t r;
	int ret;

	if (fstat(fd, &st) < 0)
		return -errno;
	ret = sb_grow(pr->out, (size_t)st.st_size + 1);
	if (ret)
		return ret;
	r = pread(fd, pr->out->s + pr->out->len, (size_t)st.st_size, 0);
	if (r < 0)
		return -errno;
	pr->out->len += (size_t)r;
	pr->out->s[pr->out->len] = '\0';
	return 0;
}

static void read_output(int fd, struct prog_run *pr)
{
	ssize_t r;
	char *nl;

	pr->err[0] = '\0';
	r = pread(fd, pr->err, sizeof(pr->err) - 1, 0);
	if (r <= 0)
		return;
	pr->err[r] = '\0';
	while (r > 0 && (pr->err[r - 1] == '\n' || pr->err[r - 1] == ' '))
		pr->err[--r] = '\0';
	while ((nl = strchr(pr->err, '\n')))
		*nl = ' ';
}

static int spawn_setup(posix_spawn_file_actions_t *fa, int in_fd, int out_fd)
{
	int ret;

	ret = posix_spawn_file_actions_init(fa);
	if (ret)
		return -ret;
	ret = posix_spawn_file_actions_adddup2(fa, in_fd, 0);
	if (!ret)
		ret = posix_spawn_file_actions_adddup2(fa, out_fd, 1);
	if (!ret)
		ret = posix_spawn_file_actions_adddup2(fa, out_fd, 2);
	/* the caller may hold thousands of fds: close them with close_range, not by walking /proc */
	if (!ret)
		ret = posix_spawn_file_actions_addclosefrom_np(fa, 3);
	if (ret)
		posix_spawn_file_actions_destroy(fa);
	return -ret;
}

/* Run prog with argv, feeding it input on stdin; its stdout and stderr are kept in pr->err. */
static int run_prog(const struct netlock_opts *o, const char *prog, char *const argv[], const char *input, size_t len,
		    struct prog_run *pr)
{
	posix_spawn_file_actions_t fa;
	char path[4096];
	int sv[2], out, ret, status;
	pid_t pid;

	if (find_prog(prog, path, sizeof(path))) {
		lk_err(o, "%s not found in $PATH or %s: install iptables or use --network-lock nftables", prog,
		       ipt_default_path);
		return -ENOENT;
	}
	out = memfd_create("net-lock-output", MFD_CLOEXEC);
	if (out < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		goto out_close_out;
	}
	ret = spawn_setup(&fa, sv[1], out);
	if (ret)
		goto out_close_sv;
	ret = -posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret) {
		lk_err(o, "running %s: %s", path, strerror(-ret));
		goto out_close_sv;
	}
	close(sv[1]);
	sv[1] = -1;
	/* EPIPE means it stopped reading, i.e. it failed: its exit status says why */
	ret = ng_send_full(sv[0], input, len);
	if (ret && ret != -EPIPE)
		lk_err(o, "feeding %s: %s", prog, strerror(-ret));
	close(sv[0]);
	sv[0] = -1;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			goto out_close_out;
		}
	}
	if (ret == -EPIPE)
		ret = 0;
	pr->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	read_output(out, pr);
	if (pr->out)
		ret = read_all_output(out, pr);
out_close_sv:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
out_close_out:
	close(out);
	return ret;
}

struct ipt_family {
	int af;
	const char *cmd;       /* iptables / ip6tables */
	const char *restore;   /* iptables-restore / ip6tables-restore */
	const char *host_mask; /* /32 or /128 */
};

static const struct ipt_family ipt_v4 = { AF_INET, "iptables", "iptables-restore", "/32" };
static const struct ipt_family ipt_v6 = { AF_INET6, "ip6tables", "ip6tables-restore", "/128" };

/* iptables reports failures as text; keep the errno a caller can act on */
static int ipt_errno(const struct prog_run *pr)
{
	if (strstr(pr->err, "Permission denied") || strstr(pr->err, "must be root"))
		return -EPERM;
	return -EIO;
}

static int ipt_restore(const struct netlock_opts *o, const struct ipt_family *f, const struct strbuf *rules,
		       struct prog_run *pr)
{
	char *const argv[] = { (char *)f->restore, "--noflush", "-w", NULL };
	int ret;

	ret = run_prog(o, f->restore, argv, rules->s, rules->len, pr);
	if (!ret && pr->status)
		lk_debug(o, "%s exited with %d: %s", f->restore, pr->status, pr->err);
	return ret;
}

/* 1 if the chain exists in this family, 0 if not, -errno if that cannot be told */
static int ipt_chain_exists(const struct netlock_opts *o, const struct ipt_family *f, const char *chain)
{
	char *const argv[] = { (char *)f->cmd, "-w", "-n", "-L", (char *)chain, "1", NULL };
	struct prog_run pr = { 0 };
	int ret;

	/*
	 * "-L chain 1" prints one rule at most. Exit 1 is iptables' "other problem", here a missing
	 * chain (whose message varies: iptables-nft 1.8.9 calls a missing chain "incompatible");
	 * 2 and up are usage or resource problems.
	 */
	ret = run_prog(o, f->cmd, argv, "", 0, &pr);
	if (ret)
		return ret;
	if (pr.status == 0)
		return 1;
	if (pr.status == 1) {
		lk_debug(o, "%s: no chain %s (%s)", f->cmd, chain, pr.err);
		return 0;
	}
	lk_err(o, "%s -L %s: exit %d: %s", f->cmd, chain, pr.status, pr.err);
	return ipt_errno(&pr);
}

/* ip6tables is needed for IPv6 tuples, and for a namespace lock wherever IPv6 is enabled. */
static bool ipt_v6_needed(size_t n6)
{
	return n6 > 0 || access("/proc/net/if_inet6", F_OK) == 0;
}

static int ipt_put_head(struct strbuf *sb, const char *chain, uint32_t exempt_mark)
{
	int ret;

	ret = sb_printf(sb, "*filter\n-N %s\n-I INPUT 1 -j %s\n-I OUTPUT 1 -j %s\n", chain, chain, chain);
	if (!ret && exempt_mark)
		ret = sb_printf(sb, "-A %s -m mark --mark 0x%x -j RETURN\n", chain, exempt_mark);
	return ret;
}

/* The two DROP rules of one tuple in @chain: its packets out (local is the source) and in. */
static int ipt_put_tuple(struct strbuf *sb, const struct ipt_family *f, const char *chain,
			 const struct netlock_tuple *t)
{
	char local[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];

	if (!inet_ntop(f->af, tuple_addr(t, true), local, sizeof(local)) ||
	    !inet_ntop(f->af, tuple_addr(t, false), peer, sizeof(peer)))
		return -EINVAL;
	return sb_printf(sb,
			 "-A %s -p tcp -s %s%s -d %s%s --sport %u --dport %u -j DROP\n"
			 "-A %s -p tcp -s %s%s -d %s%s --sport %u --dport %u -j DROP\n",
			 chain, local, f->host_mask, peer, f->host_mask, t->sport, t->dport, chain, peer, f->host_mask,
			 local, f->host_mask, t->dport, t->sport);
}

struct ipt_slot {
	uint16_t key; /* the port its sub-chain is chosen by: local or peer, whichever is rarer */
	uint32_t idx; /* into the tuples */
};

static int slot_cmp(const void *a, const void *b)
{
	const struct ipt_slot *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * The @m tuples of this family in slots, sorted by the port that picks their sub-chain. Each
 * tuple's key is the rarer of its two ports among all of them, so that a server port shared by
 * every accepted connection never is the key and the keys spread.
 */
static int ipt_slots(const struct ipt_family *f, const struct netlock_tuple *t, size_t n, size_t m,
		     struct ipt_slot **slots)
{
	uint32_t *count = calloc(65536, sizeof(*count));
	struct ipt_slot *s = calloc(m, sizeof(*s));
	size_t i, j = 0;

	if (!count || !s) {
		free(count);
		free(s);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (tuple_family(&t[i]) == f->af) {
			count[t[i].sport]++;
			count[t[i].dport]++;
		}
	for (i = 0; i < n && j < m; i++) {
		if (tuple_family(&t[i]) != f->af)
			continue;
		s[j].key = count[t[i].sport] <= count[t[i].dport] ? t[i].sport : t[i].dport;
		s[j++].idx = (uint32_t)i;
	}
	free(count);
	qsort(s, m, sizeof(*s), slot_cmp);
	*slots = s;
	return 0;
}

/* "A" or "A:B": a port or a range, as --sport and --dport take it */
static void ipt_port_range(char *buf, size_t size, uint16_t lo, uint16_t hi)
{
	if (lo == hi)
		snprintf(buf, size, "%u", lo);
	else
		snprintf(buf, size, "%u:%u", lo, hi);
}

/*
 * The split layout: about sqrt(2m) sub-chains "<chain>+<k>", each holding the tuples whose key
 * port lies in its range; @chain jumps to one when the packet's source or destination port does.
 * Every packet of a tuple carries its key port at one end, so it reaches its sub-chain; any packet
 * walks at most 2 * subs jumps and two sub-chains of about 2m / subs rules each, not 2m rules.
 */
static int ipt_put_split(struct strbuf *sb, const struct ipt_family *f, const char *chain,
			 const struct netlock_tuple *t, size_t n, size_t m)
{
	char sub[IPT_CHAIN_NAME_MAX + 1], range[16];
	size_t subs = 1, per, i, end, k;
	struct ipt_slot *slots;
	int ret;

	while (subs * subs < 2 * m && subs < IPT_SUBS_MAX)
		subs++;
	per = (m + subs - 1) / subs;
	ret = ipt_slots(f, t, n, m, &slots);
	if (ret)
		return ret;
	/* groups of per tuples, made longer where a key port would straddle two: ranges never overlap */
	for (i = 0, k = 0; !ret && i < m; i = end, k++) {
		end = i + per < m ? i + per : m;
		while (end < m && slots[end].key == slots[end - 1].key)
			end++;
		snprintf(sub, sizeof(sub), "%s" IPT_SUB_SEP "%zu", chain, k);
		ipt_port_range(range, sizeof(range), slots[i].key, slots[end - 1].key);
		ret = sb_printf(sb, "-N %s\n-A %s -p tcp --sport %s -j %s\n-A %s -p tcp --dport %s -j %s\n", sub, chain,
				range, sub, chain, range, sub);
		for (size_t j = i; !ret && j < end; j++)
			ret = ipt_put_tuple(sb, f, sub, &t[slots[j].idx]);
	}
	free(slots);
	return ret;
}

/* The rules of this family's tuples: in @chain itself when few, else split in sub-chains. */
static int ipt_put_conns(struct strbuf *sb, const struct ipt_family *f, const char *chain,
			 const struct netlock_tuple *t, size_t n, bool flat)
{
	size_t i, m = 0;
	int ret = 0;

	for (i = 0; i < n; i++)
		m += tuple_family(&t[i]) == f->af;
	/* "+999" must fit a chain name: ids longer than that get the flat chain */
	if (!flat && m >= IPT_SPLIT_MIN && strlen(chain) + IPT_SUB_SUFFIX_MAX <= IPT_CHAIN_NAME_MAX)
		return ipt_put_split(sb, f, chain, t, n, m);
	for (i = 0; !ret && i < n; i++)
		if (tuple_family(&t[i]) == f->af)
			ret = ipt_put_tuple(sb, f, chain, &t[i]);
	return ret;
}

/*
 * The unlock of @chain: the jumps to it, then it, then each sub-chain it jumps to, which @rules
 * (its `iptables -S` listing) names; a sub-chain is listed twice in a row (source, destination).
 */
static int ipt_put_unlock(struct strbuf *sb, const char *chain, const char *rules)
{
	size_t clen = strlen(chain), last_len = 0;
	const char *line, *last = NULL;
	char pattern[IPT_CHAIN_NAME_MAX + 8];
	int ret;

	ret = sb_printf(sb, "*filter\n-D INPUT -j %s\n-D OUTPUT -j %s\n-F %s\n-X %s\n", chain, chain, chain, chain);
	snprintf(pattern, sizeof(pattern), " -j %s" IPT_SUB_SEP, chain);
	for (line = rules; !ret && line && *line;) {
		const char *eol = strchrnul(line, '\n'), *jump = strstr(line, pattern);

		if (jump && jump < eol) {
			const char *name = jump + 4;
			size_t len = strcspn(name, " \n");

			if (len > clen + 1 && len <= IPT_CHAIN_NAME_MAX && (len != last_len || memcmp(name, last, len)))
				ret = sb_printf(sb, "-F %.*s\n-X %.*s\n", (int)len, name, (int)len, name);
			last = name;
			last_len = len;
		}
		line = *eol ? eol + 1 : eol;
	}
	return ret ?: sb_printf(sb, "COMMIT\n");
}

/*
 * Remove the chain of one family and its sub-chains: 1 removed, 0 there was none, -errno. The
 * chain's listing names the sub-chains; then one iptables-restore removes everything.
 */
static int ipt_unlock_family(const struct netlock_opts *o, const struct ipt_family *f, const char *chain)
{
	char *const argv[] = { (char *)f->cmd, "-w", "-S", (char *)chain, NULL };
	struct strbuf rules = { 0 }, sb = { 0 };
	struct prog_run pr = { .out = &rules };
	int ret;

	ret = run_prog(o, f->cmd, argv, "", 0, &pr);
	if (ret)
		goto out_free;
	if (pr.status == 1) { /* as in ipt_chain_exists(): no such chain */
		lk_debug(o, "%s: no chain %s (%s)", f->cmd, chain, pr.err);
		goto out_free;
	}
	if (pr.status) {
		lk_err(o, "%s -S %s: exit %d: %s", f->cmd, chain, pr.status, pr.err);
		ret = ipt_errno(&pr);
		goto out_free;
	}
	memset(&pr, 0, sizeof(pr));
	ret = ipt_put_unlock(&sb, chain, rules.s);
	if (!ret)
		ret = ipt_restore(o, f, &sb, &pr);
	if (ret)
		goto out_free;
	if (!pr.status) {
		ret = 1;
		goto out_free;
	}
	ret = ipt_chain_exists(o, f, chain);
	if (ret == 1) {
		lk_err(o, "%s: removing chain %s failed (exit %d): %s", f->restore, chain, pr.status, pr.err);
		ret = ipt_errno(&pr);
	}
out_free:
	free(rules.s);
	free(sb.s);
	return ret;
}

/* Create the chain of one family from the rules in sb, which lack only the COMMIT line. */
static int ipt_lock_family(const struct netlock_opts *o, const struct ipt_family *f, const char *chain,
			   struct strbuf *sb)
{
	struct prog_run pr = { 0 };
	int ret;

	ret = sb_printf(sb, "COMMIT\n");
	if (!ret)
		ret = ipt_restore(o, f, sb, &pr);
	if (ret || !pr.status)
		return ret;
	ret = ipt_chain_exists(o, f, chain);
	if (ret == 1) {
		lk_err(o, "%s: lock %s already exists", f->restore, chain);
		return -EEXIST;
	}
	lk_err(o, "%s: creating chain %s failed (exit %d): %s", f->restore, chain, pr.status, pr.err);
	return ret < 0 ? ret : ipt_errno(&pr);
}

/* Lock both families, IPv4 first; if IPv6 fails, take the IPv4 chain away again. */
static int ipt_lock(const struct netlock_opts *o, const char *chain, const struct netlock_tuple *t, size_t n, size_t n6,
		    bool netns)
{
	bool flat = o->flags & NETLOCK_F_IPT_FLAT;
	const struct ipt_family *fams[] = { &ipt_v4, &ipt_v6 };
	int nfams = ipt_v6_needed(n6) ? 2 : 1, i, ret = 0, undo;

	for (i = 0; !ret && i < nfams; i++) {
		struct strbuf sb = { 0 };

		ret = ipt_put_head(&sb, chain, o->exempt_mark);
		if (!ret)
			ret = netns ? sb_printf(&sb, "-A %s -j DROP\n", chain) :
				      ipt_put_conns(&sb, fams[i], chain, t, n, flat);
		if (!ret)
			ret = ipt_lock_family(o, fams[i], chain, &sb);
		free(sb.s);
		if (ret && i > 0) {
			undo = ipt_unlock_family(o, fams[0], chain);
			if (undo < 0)
				lk_err(o, "could not take back %s chain %s: %s", fams[0]->cmd, chain, strerror(-undo));
		}
	}
	return ret;
}

static int ipt_unlock(const struct netlock_opts *o, const char *chain)
{
	double start = now_ms();
	int v4, v6 = 0;

	v4 = ipt_unlock_family(o, &ipt_v4, chain);
	if (v4 < 0)
		return v4;
	if (ipt_v6_needed(0)) {
		v6 = ipt_unlock_family(o, &ipt_v6, chain);
		/* without ip6tables-restore no IPv6 chain can have been made: the IPv4 one was the lock */
		if (v6 < 0 && !(v6 == -ENOENT && v4 == 1))
			return v6;
	}
	if (v4 <= 0 && v6 <= 0) {
		lk_debug(o, "iptables: no lock %s to remove", chain);
		return -ENOENT;
	}
	lk_info(o, "unlocked iptables chain %s (%.1f ms)", chain, now_ms() - start);
	return 0;
}

static int ipt_is_locked(const struct netlock_opts *o, const char *chain)
{
	int ret;

	ret = ipt_chain_exists(o, &ipt_v4, chain);
	if (ret != 0 || !ipt_v6_needed(0))
		return ret;
	return ipt_chain_exists(o, &ipt_v6, chain);
}

/* ---------------------------------------------------------------- public entry points */

int netlock_lock_conns(const struct netlock_opts *o, const struct netlock_tuple *t, size_t n)
{
	char name[LOCK_NAME_SIZE];
	double start;
	size_t n6;
	int ret;

	if (!o)
		return -EINVAL;
	ret = lock_name(o, name);
	if (ret || o->mode == NETLOCK_SKIP)
		return ret;
	ret = check_tuples(o, t, n, &n6);
	if (ret)
		return ret;
	if (o->mode == NETLOCK_NFTABLES)
		return nft_lock_conns(o, name, t, n, n6);
	if (o->flags & NETLOCK_F_EXCL_TUPLES) {
		lk_err(o, "NETLOCK_F_EXCL_TUPLES needs nftables");
		return -EOPNOTSUPP;
	}
	start = now_ms();
	ret = ipt_lock(o, name, t, n, n6, false);
	if (!ret)
		lk_info(o, "locked %zu connection%s in iptables chain %s (%.1f ms)", n, n == 1 ? "" : "s", name,
			now_ms() - start);
	return ret;
}

int netlock_lock_netns(const struct netlock_opts *o)
{
	char name[LOCK_NAME_SIZE];
	double start;
	int ret;

	if (!o)
		return -EINVAL;
	ret = lock_name(o, name);
	if (ret || o->mode == NETLOCK_SKIP)
		return ret;
	if (o->mode == NETLOCK_NFTABLES)
		return nft_lock_netns(o, name);
	start = now_ms();
	ret = ipt_lock(o, name, NULL, 0, 0, true);
	if (!ret)
		lk_info(o, "locked the network namespace with iptables chain %s (%.1f ms)", name, now_ms() - start);
	return ret;
}

int netlock_unlock(const struct netlock_opts *o)
{
	char name[LOCK_NAME_SIZE];
	int ret;

	if (!o)
		return -EINVAL;
	ret = lock_name(o, name);
	if (ret || o->mode == NETLOCK_SKIP)
		return ret;
	if (o->mode == NETLOCK_NFTABLES)
		return nft_unlock(o, name);
	return ipt_unlock(o, name);
}

int netlock_is_locked(const struct netlock_opts *o)
{
	char name[LOCK_NAME_SIZE];
	int ret;

	if (!o)
		return -EINVAL;
	ret = lock_name(o, name);
	if (ret || o->mode == NETLOCK_SKIP)
		return ret;
	if (o->mode == NETLOCK_NFTABLES)
		return nft_is_locked(o, name);
	return ipt_is_locked(o, name);
}
