/* net-lock.h: drop every packet of the connections being checkpointed, in one transaction. */
#ifndef CRIU_NG_NET_LOCK_H
#define CRIU_NG_NET_LOCK_H

#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif

/*
 * A lock is kernel state named by an id: it outlives the process that took it (dump takes it,
 * restore or --leave-running removes it). One id names one lock, of either kind:
 *
 *   netlock_lock_conns()  drops the packets of the listed TCP connections, both directions;
 *   netlock_lock_netns()  drops every packet of the current network namespace, lo included.
 *
 * nftables: table "inet criu-ng-<id>" with chains "input" and "output" hooked at priority -310
 * (after defragmentation, before raw, conntrack and the usual filters); the connection lock keeps
 * the tuples in the sets "conns4" and "conns6". Everything goes to the kernel in one netlink
 * batch, so a lock is taken completely or not at all; unlocking deletes the table in one batch.
 * iptables: chain "criu-ng-<id>" in the filter table of iptables and ip6tables, jumped to from
 * INPUT and OUTPUT, written by one iptables-restore run per address family. From 64 connections
 * of a family on, their rules sit in about sqrt(2n) sub-chains "criu-ng-<id>+<k>" chosen by port
 * range (ids of up to 16 characters; longer ones keep one flat chain), so that a packet walks a
 * few hundred rules rather than all of them; unlocking removes the sub-chains with the chain.
 *
 * Ids: 1 to NETLOCK_ID_MAX characters from [A-Za-z0-9_.-].
 */
enum netlock_mode {
	NETLOCK_NFTABLES,
	NETLOCK_IPTABLES,
	NETLOCK_SKIP
};

struct netlock_tuple { /* one TCP connection, as seen from the local socket */
	int family;    /* AF_INET or AF_INET6; IPv4-mapped IPv6 ends are locked as the IPv4 they are */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} src, dst;	       /* local, peer */
	uint16_t sport, dport; /* host byte order: local port, peer port */
};

typedef void (*netlock_log_fn)(void *arg, unsigned int level, const char *fmt, va_list ap); /* level 1 err .. 4 debug */

#define NETLOCK_LOG_ERR 1
#define NETLOCK_LOG_WARN 2
#define NETLOCK_LOG_INFO 3
#define NETLOCK_LOG_DEBUG 4

#define NETLOCK_ID_MAX 20 /* "criu-ng-" + id must fit an iptables chain name (28) */

/* netlock_opts.flags */
#define NETLOCK_F_EXCL_TUPLES 0x1 /* nftables: a tuple listed twice fails the lock with -EEXIST */
#define NETLOCK_F_IPT_FLAT 0x2	  /* iptables: one flat chain whatever the number (for comparison) */

struct netlock_opts {
	enum netlock_mode mode;
	const char *id; /* names the lock, e.g. the dumped pid; NULL: "default" */
	netlock_log_fn log;
	void *log_arg;
	unsigned int log_level;
	uint32_t exempt_mark; /* packets with this fwmark pass; 0 = none */
	/* Additions to the fixed part above. log_level: messages up to this level reach log; 0 means 3. */
	unsigned int flags; /* NETLOCK_F_* */
};

int netlock_mode_parse(const char *name,
		       enum netlock_mode *mode); /* "nftables", "iptables", "skip" as CRIU's --network-lock */
int netlock_lock_conns(const struct netlock_opts *o, const struct netlock_tuple *t, size_t n) __must_check;
int netlock_lock_netns(const struct netlock_opts *o)
	__must_check; /* drop everything in the current netns, lo included, except exempt_mark */
int netlock_unlock(const struct netlock_opts *o)
	__must_check;				     /* remove the lock named by o->id (both kinds); -ENOENT if none */
int netlock_is_locked(const struct netlock_opts *o); /* 1, 0 or -errno: is a lock with this id present */

#endif /* CRIU_NG_NET_LOCK_H */
