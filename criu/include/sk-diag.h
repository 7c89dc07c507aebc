/*
 * The inet sockets of criu's network namespace, as the kernel's sock_diag
 * netlink interface lists them: one dump per (family, protocol) gives every
 * socket's state, addresses, queue lengths, bound device and shutdown state,
 * found afterwards by inode. A dump collects each pair it needs once.
 */
#ifndef CRIU_NG_SK_DIAG_H
#define CRIU_NG_SK_DIAG_H

#include <stddef.h>
#include <stdint.h>

/* One socket, as sock_diag reported it. */
struct sk_diag {
	uint32_t ino;
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

#endif /* CRIU_NG_SK_DIAG_H */
