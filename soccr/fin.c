/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fin.c: replay a peer's FIN into a local TCP socket, for the restore of
 * half-closed connections (see fin.h).
 *
 * The packet is built whole, IP header included, and sent on a raw
 * IPPROTO_RAW socket. Writing the IP header ourselves gives the packet the
 * peer's source address, which is not an address of this host, without
 * binding anything to a foreign address; and an IPPROTO_RAW socket receives
 * nothing, where an IPPROTO_TCP raw socket would queue a copy of every TCP
 * segment the host receives.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fin.h"

#define FIN_IP4_HDR_LEN 20
#define FIN_IP6_HDR_LEN 40
#define FIN_TCP_HDR_LEN 20
#define FIN_TSOPT_LEN 12 /* NOP, NOP, kind 8, length 10, tsval, tsecr */
#define FIN_PKT_MAX (FIN_IP6_HDR_LEN + FIN_TCP_HDR_LEN + FIN_TSOPT_LEN)
#define FIN_TTL 64
#define FIN_IP4_DF 0x4000
#define FIN_TCP_FIN 0x01
#define FIN_TCP_ACK 0x10
#define FIN_TCPOPT_NOP 1
#define FIN_TCPOPT_TS 8
#define FIN_TCPOLEN_TS 10

/* Both ends of the packet, with the IP version it travels as. */
struct fin_ends {
	int family;	 /* AF_INET or AF_INET6 */
	size_t addr_len; /* 4 or 16 */
	uint8_t src[16]; /* network order */
	uint8_t dst[16];
	uint16_t sport; /* host order */
	uint16_t dport;
	uint32_t scope_id; /* of the destination, IPv6 link-local addresses */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* One's complement sum of buf as big-endian 16-bit words, not folded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (len & 1)
		sum += (uint32_t)buf[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/*
 * One end: its address (4 bytes for IPv4 and IPv4-mapped, else 16) and port.
 * Returns AF_INET or AF_INET6, the IP version the end travels as.
 */
static int fin_end(const union libsoccr_addr *a, uint8_t *addr, uint16_t *port)
{
	if (!a)
		return -EINVAL;
	switch (a->any.sa_family) {
	case AF_INET:
		memcpy(addr, &a->in4.sin_addr, 4);
		*port = ntohs(a->in4.sin_port);
		return AF_INET;
	case AF_INET6:
		*port = ntohs(a->in6.sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
			memcpy(addr, &a->in6.sin6_addr.s6_addr[12], 4);
			return AF_INET;
		}
		memcpy(addr, &a->in6.sin6_addr, 16);
		return AF_INET6;
	default:
		return -EAFNOSUPPORT;
	}
}

static int fin_resolve(const struct soccr_fin *fin, struct fin_ends *e)
{
	int src_family, dst_family;

	if (!fin)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	src_family = fin_end(fin->from, e->src, &e->sport);
	if (src_family < 0)
		return src_family;
	dst_family = fin_end(fin->to, e->dst, &e->dport);
	if (dst_family < 0)
		return dst_family;
	if (src_family != dst_family || !e->sport || !e->dport)
		return -EINVAL;
	e->family = src_family;
	e->addr_len = src_family == AF_INET ? 4 : 16;
	if (fin->to->any.sa_family == AF_INET6)
		e->scope_id = fin->to->in6.sin6_scope_id;
	return 0;
}

int soccr_fin_family(const struct soccr_fin *fin)
{
	struct fin_ends e;
	int ret;

	ret = fin_resolve(fin, &e);
	return ret ? ret : e.family;
}

/* The TCP segment at tcp, checksum included; returns its length. */
static size_t fin_build_tcp(const struct soccr_fin *fin, const struct fin_ends *e, uint8_t *tcp)
{
	size_t len = FIN_TCP_HDR_LEN;
	uint32_t sum;

	if (fin->flags & SOCCR_FIN_TSOPT)
		len += FIN_TSOPT_LEN;
	memset(tcp, 0, len);
	put16(tcp, e->sport);
	put16(tcp + 2, e->dport);
	put32(tcp + 4, fin->seq);
	put32(tcp + 8, fin->ack);
	tcp[12] = (len / 4) << 4; /* data offset, in 32-bit words */
	tcp[13] = (fin->flags & SOCCR_FIN_ACK_ONLY) ? FIN_TCP_ACK : FIN_TCP_FIN | FIN_TCP_ACK;
	put16(tcp + 14, fin->window);
	if (fin->flags & SOCCR_FIN_TSOPT) {
		tcp[20] = FIN_TCPOPT_NOP;
		tcp[21] = FIN_TCPOPT_NOP;
		tcp[22] = FIN_TCPOPT_TS;
		tcp[23] = FIN_TCPOLEN_TS;
		put32(tcp + 24, fin->tsval);
		put32(tcp + 28, fin->tsecr);
	}

	/* Pseudo-header: the same sum for IPv4 and IPv6, as the length fits in 16 bits. */
	sum = csum_add(0, e->src, e->addr_len);
	sum = csum_add(sum, e->dst, e->addr_len);
	sum += IPPROTO_TCP + len;
	sum = csum_add(sum, tcp, len);
	put16(tcp + 16, csum_fold(sum));
	return len;
}

/* The whole packet, IP header first; returns its length. */
static size_t fin_build(const struct soccr_fin *fin, const struct fin_ends *e, uint8_t *pkt)
{
	size_t tcp_len;

	if (e->family == AF_INET) {
		tcp_len = fin_build_tcp(fin, e, pkt + FIN_IP4_HDR_LEN);
		memset(pkt, 0, FIN_IP4_HDR_LEN);
		pkt[0] = 0x45; /* version 4, 5 words of header */
		put16(pkt + 2, FIN_IP4_HDR_LEN + tcp_len);
		put16(pkt + 6, FIN_IP4_DF); /* id 0: the kernel picks one */
		pkt[8] = FIN_TTL;
		pkt[9] = IPPROTO_TCP;
		memcpy(pkt + 12, e->src, 4);
		memcpy(pkt + 16, e->dst, 4);
		put16(pkt + 10, csum_fold(csum_add(0, pkt, FIN_IP4_HDR_LEN)));
		return FIN_IP4_HDR_LEN + tcp_len;
	}

	tcp_len = fin_build_tcp(fin, e, pkt + FIN_IP6_HDR_LEN);
	memset(pkt, 0, FIN_IP6_HDR_LEN);
	pkt[0] = 0x60; /* version 6, no traffic class, no flow label */
	put16(pkt + 4, tcp_len);
	pkt[6] = IPPROTO_TCP;
	pkt[7] = FIN_TTL;
	memcpy(pkt + 8, e->src, 16);
	memcpy(pkt + 24, e->dst, 16);
	return FIN_IP6_HDR_LEN + tcp_len;
}

int soccr_fin_open(struct soccr_fin_sock *fs, int family, uint32_t mark)
{
	int on = 1;
	int fd, ret;

	if (!fs)
		return -EINVAL;
	fs->fd = -1;
	fs->family = family;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;

	/* IPPROTO_RAW implies the header is ours; say so anyway, it is the whole point. */
	fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return -errno;
	if (family == AF_INET)
		ret = setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &on, sizeof(on));
	else
		ret = setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &on, sizeof(on));
	if (ret)
		goto out_close_fd;
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		goto out_close_fd;
	fs->fd = fd;
	return 0;

out_close_fd:
	ret = -errno;
	close(fd);
	return ret;
}

void soccr_fin_close(struct soccr_fin_sock *fs)
{
	if (!fs || fs->fd < 0)
		return;
	close(fs->fd);
	fs->fd = -1;
}

int soccr_fin_sock_send(const struct soccr_fin_sock *fs, const struct soccr_fin *fin)
{
	union libsoccr_addr dst;
	uint8_t pkt[FIN_PKT_MAX];
	struct fin_ends e;
	socklen_t dst_len;
	size_t len;
	ssize_t n;
	int ret;

	if (!fs || fs->fd < 0)
		return -EBADF;
	ret = fin_resolve(fin, &e);
	if (ret)
		return ret;
	if (e.family != fs->family)
		return -EAFNOSUPPORT;
	len = fin_build(fin, &e, pkt);

	/* The destination port stays 0: a raw socket takes it for a protocol number. */
	memset(&dst, 0, sizeof(dst));
	if (e.family == AF_INET) {
		dst.in4.sin_family = AF_INET;
		memcpy(&dst.in4.sin_addr, e.dst, 4);
		dst_len = sizeof(dst.in4);
	} else {
		dst.in6.sin6_family = AF_INET6;
		memcpy(&dst.in6.sin6_addr, e.dst, 16);
		dst.in6.sin6_scope_id = e.scope_id;
		dst_len = sizeof(dst.in6);
	}
	n = sendto(fs->fd, pkt, len, 0, &dst.any, dst_len);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EMSGSIZE;
	return 0;
}

int soccr_fin_send(const struct soccr_fin *fin)
{
	struct soccr_fin_sock fs;
	int family, ret;

	family = soccr_fin_family(fin);
	if (family < 0)
		return family;
	ret = soccr_fin_open(&fs, family, fin->mark);
	if (ret)
		return ret;
	ret = soccr_fin_sock_send(&fs, fin);
	soccr_fin_close(&fs);
	return ret;
}
