/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fin.h: replay a peer's FIN into a local TCP socket (internal to libsoccr).
 *
 * The kernel's repair mode cannot say "the peer already sent its FIN", so a
 * connection dumped in CLOSE_WAIT, LAST_ACK or CLOSING is rebuilt as
 * ESTABLISHED with rcv_nxt at the FIN's sequence number, and the FIN is then
 * replayed: a raw FIN|ACK segment from the peer's address and port to the
 * local socket's, looped back by the local stack. The segment carries a mark
 * so that a network lock dropping everything else of the connection lets it
 * through.
 *
 * What the kernel needs for the segment to be taken (net/ipv4/tcp_input.c):
 * seq == rcv_nxt of the socket; ack between snd_una - max_window and snd_nxt
 * (snd_una is the natural choice: it acknowledges nothing new, and it is
 * right with data still in flight); a correct TCP checksum (checked even on
 * loopback for these packets). No timestamp option is needed: PAWS is only
 * applied to segments that carry one, so a connection that negotiated
 * timestamps takes the FIN without. The window field becomes the socket's
 * send window (the FIN is newer than snd_wl1): pass the peer's last window,
 * unscaled, snd_wnd >> snd_wscale.
 *
 * Do not add the timestamp option unless tsval is known not to be ahead of
 * the peer's clock: the socket stores it as ts_recent, and PAWS then drops
 * every later segment of the peer (its ACKs included) until the peer's clock
 * catches up. A dump cannot read ts_recent, so a restore sends no option.
 *
 * The socket takes the FIN in repair mode as out of it (state CLOSE_WAIT, or
 * CLOSING after a FIN of its own, at once) and answers with an ACK, which a
 * network lock drops. Leaving repair mode afterwards keeps the state.
 */
#ifndef SOCCR_FIN_H
#define SOCCR_FIN_H

#include <stdint.h>

#include "soccr.h"

/* soccr_fin.flags */
#define SOCCR_FIN_TSOPT (1u << 0)    /* add a timestamp option carrying tsval and tsecr */
#define SOCCR_FIN_ACK_ONLY (1u << 1) /* a bare ACK, no FIN: the peer acknowledging our FIN */

struct soccr_fin {
	const union libsoccr_addr *from; /* the peer (libsoccr_conn.dst): source of the packet */
	const union libsoccr_addr *to;	 /* the local socket (libsoccr_conn.src): its destination */
	uint32_t seq;			 /* the FIN's sequence number: rcv_nxt of the socket */
	uint32_t ack;			 /* acknowledgment number: snd_una of the socket */
	uint16_t window;		 /* unscaled window field */
	uint32_t mark;			 /* SO_MARK, for soccr_fin_send() only (SOCCR_MARK) */
	uint32_t flags;			 /* SOCCR_FIN_* */
	uint32_t tsval;			 /* with SOCCR_FIN_TSOPT: the peer's clock, not before ts_recent */
	uint32_t tsecr;			 /* with SOCCR_FIN_TSOPT: the socket's clock (TCP_TIMESTAMP) */
};

/*
 * A raw socket that sends FINs of one IP version. Read only once open:
 * several threads may send on it at once. It sends in the network namespace
 * it was opened in, which must be the restored sockets' one.
 */
struct soccr_fin_sock {
	int fd;
	int family; /* AF_INET or AF_INET6: the IP version of the packets */
};

/*
 * The family of the raw socket a FIN needs: AF_INET for IPv4 addresses and
 * for IPv4-mapped IPv6 ones (::ffff:a.b.c.d travels as IPv4), AF_INET6 for
 * the others. -EINVAL if the two ends do not agree or a port is 0,
 * -EAFNOSUPPORT for another address family.
 */
int soccr_fin_family(const struct soccr_fin *fin);

/* Open a raw socket for family (AF_INET or AF_INET6); mark 0: no SO_MARK. */
int soccr_fin_open(struct soccr_fin_sock *fs, int family, uint32_t mark);
void soccr_fin_close(struct soccr_fin_sock *fs);

/*
 * Send one FIN on an open raw socket (fin->mark is not used); -EAFNOSUPPORT
 * if the FIN needs the other family, -EBADF if fs is not open.
 */
int soccr_fin_sock_send(const struct soccr_fin_sock *fs, const struct soccr_fin *fin);

/* Open a raw socket with fin->mark, send one FIN, close. */
int soccr_fin_send(const struct soccr_fin *fin);

#endif /* SOCCR_FIN_H */
