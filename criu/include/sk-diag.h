/*
 * The sockets of criu's network namespace, as the kernel's sock_diag netlink
 * interface lists them: one dump per inet (family, protocol) gives every
 * socket's state, addresses, queue lengths, bound device and shutdown state;
 * one AF_UNIX dump gives every unix socket's name, peer, queues and in-flight
 * connections. Sockets are found afterwards by inode; each dump is made once.
 */
#ifndef CRIU_NG_SK_DIAG_H
#define CRIU_NG_SK_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One socket, as sock_diag reported it. */
struct sk_diag {
	uint32_t ino;	  /* first, as in struct sk_diag_unix: both tables are searched alike */
	uint8_t family;	  /* AF_INET or AF_INET6 */
	uint8_t proto;	  /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t state;	  /* TCP_* (UDP: TCP_ESTABLISHED when connected, TCP_CLOSE otherwise) */
	uint8_t shutdown; /* SHUT_* bits as the kernel keeps them: 1 receive, 2 send */
	uint8_t v6only;
	uint16_t sport; /* host byte order */
	uint16_t dport;
	uint32_t src[4]; /* network byte order, one word for IPv4 */
	uint32_t dst[4];
	uint32_t rqueue;   /* listening: connections waiting in the accept queue */
	uint32_t wqueue;   /* listening: the backlog */
	uint32_t ifindex;  /* SO_BINDTODEVICE, 0 for none */
	uint32_t has;	   /* SK_DIAG_HAS_*: which of the fields below the kernel reported */
	uint32_t tos;	   /* IP_TOS, or IPV6_TCLASS for AF_INET6 */
	uint32_t mark;	   /* SO_MARK */
	uint32_t priority; /* SO_PRIORITY (the kernel reports it where no net_cls class id is set) */
	uint8_t freebind;
};

#define SK_DIAG_HAS_TOS (1u << 0)
#define SK_DIAG_HAS_MARK (1u << 1)
#define SK_DIAG_HAS_PRIORITY (1u << 2)
#define SK_DIAG_HAS_FREEBIND (1u << 3)

struct sk_diag_table {
	struct sk_diag *v; /* by ascending inode once sorted */
	size_t nr;
	size_t cap;
	uint32_t collected; /* bit per (family, protocol) pair already dumped */
};

/*
 * Adds every socket of @family (AF_INET, AF_INET6) and @proto (IPPROTO_TCP,
 * IPPROTO_UDP) in criu's network namespace to @t, unless already done. Returns
 * 0, -EPROTONOSUPPORT when the kernel has no sock_diag for the pair, or -errno.
 */
__attribute__((warn_unused_result)) int sk_diag_collect(struct sk_diag_table *t, int family, int proto);

/* The socket with inode @ino, or NULL. */
const struct sk_diag *sk_diag_find(const struct sk_diag_table *t, uint32_t ino);

void sk_diag_free(struct sk_diag_table *t);

/* One unix socket, as sock_diag reported it. */
struct sk_diag_unix {
	uint32_t ino;	  /* first */
	uint32_t peer;	  /* inode of the socket it is connected to, 0 for none */
	uint32_t vfs_ino; /* a path-bound socket's file: inode and device */
	uint32_t vfs_dev;
	uint32_t rqlen;	   /* bytes queued to be read; a listener: connections not yet accepted */
	uint32_t wqlen;	   /* bytes sent and not yet read by the peer; a listener: its backlog */
	uint32_t nr_icons; /* a listener: its connections not yet accepted, by the inode of their clients */
	uint32_t *icons;
	uint8_t type;	   /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint8_t state;	   /* TCP_LISTEN, TCP_ESTABLISHED or TCP_CLOSE */
	uint8_t shutdown;  /* SHUT_* bits as the kernel keeps them: 1 receive, 2 send */
	uint16_t name_len; /* 0 unbound; an abstract name starts with a NUL */
	char name[108];	   /* sun_path, not NUL-terminated */
};

struct sk_diag_unix_table {
	struct sk_diag_unix *v; /* by ascending inode */
	size_t nr;
	size_t cap;
	bool collected;
};

/* Adds every unix socket of criu's network namespace to @t, unless done already. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int sk_diag_collect_unix(struct sk_diag_unix_table *t);

/* The unix socket with inode @ino, or NULL. */
const struct sk_diag_unix *sk_diag_find_unix(const struct sk_diag_unix_table *t, uint32_t ino);

void sk_diag_unix_free(struct sk_diag_unix_table *t);

#endif /* CRIU_NG_SK_DIAG_H */
