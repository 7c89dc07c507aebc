/*
 * socket_udp4: UDP sockets: one bound to a loopback port, one bound and
 * connected to it, one neither bound nor connected. After restore they keep
 * their addresses, peer and options; datagrams go both ways between the
 * connected one and the bound one, with the right source address; the
 * connected one still drops datagrams from anyone but its peer; the unbound
 * one can still send (and gets an address then).
 *
 * socket_udp6 is this test over IPv6 (TEST_KIND); socket_udplite_ng and
 * socket_udplite6_ng over UDP-Lite (TEST_PROTO), whose sockets must still be
 * UDP-Lite after restore.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "inetsk.h"
#include "zdtmtst.h"

#ifndef TEST_KIND
#define TEST_KIND TSK_INET4
#endif
#ifndef TEST_PROTO
#define TEST_PROTO 0 /* UDP */
#endif

#define DGRAM_BYTES 777

enum {
	SRV,
	CLI,
	UNB,
	NR_SOCKS
};

static const char *const labels[NR_SOCKS] = { "bound", "connected", "unbound" };

struct sock {
	int fd;
	struct tsk_addr addr;
	const struct tsk_opt *opts;
	int nr_opts;
	struct tsk_optval vals[64];
};

static struct sock socks[NR_SOCKS];

/* Receives one datagram within the deadline: it must be stream id's first bytes, from *from. */
static int dgram_expect(int fd, uint32_t id, const struct tsk_addr *from, const char *what)
{
	char a[TSK_ADDR_STRLEN], b[TSK_ADDR_STRLEN];
	struct tsk_addr src = { .len = sizeof(src.ss) };
	uint8_t buf[DGRAM_BYTES + 1];
	ssize_t n;

	if (tsk_wait_inq(fd, 1, TSK_TIMEOUT_MS) < 0) {
		fail("%s: no datagram", what);
		return -1;
	}
	n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&src.ss, &src.len);
	if (n != DGRAM_BYTES) {
		fail("%s: a datagram of %zd bytes, expected %d", what, n, DGRAM_BYTES);
		return -1;
	}
	if (pattern_check(buf, id, 0, n) >= 0) {
		fail("%s: not the datagram sent", what);
		return -1;
	}
	if (!tsk_addr_equal(&src, from)) {
		fail("%s: from %s, expected %s", what, tsk_addr_str(&src, a, sizeof(a)),
		     tsk_addr_str(from, b, sizeof(b)));
		return -1;
	}
	return 0;
}

/* Sends stream id's first bytes as one datagram. */
static int dgram_send(int fd, uint32_t id, const struct tsk_addr *to, const char *what)
{
	uint8_t buf[DGRAM_BYTES];
	ssize_t n;

	pattern_fill(buf, id, 0, sizeof(buf));
	if (to)
		n = sendto(fd, buf, sizeof(buf), 0, (const struct sockaddr *)&to->ss, to->len);
	else
		n = send(fd, buf, sizeof(buf), 0);
	if (n != DGRAM_BYTES) {
		fail("%s: send", what);
		return -1;
	}
	return 0;
}

/* Datagrams both ways between the connected and the bound socket. */
static int exchange(uint32_t id)
{
	return dgram_send(socks[CLI].fd, id, NULL, "connected to bound") ||
	       dgram_expect(socks[SRV].fd, id, &socks[CLI].addr, "connected to bound") ||
	       dgram_send(socks[SRV].fd, id + 1, &socks[CLI].addr, "bound to connected") ||
	       dgram_expect(socks[CLI].fd, id + 1, &socks[SRV].addr, "bound to connected");
}

static int socks_open(void)
{
	for (int i = 0; i < NR_SOCKS; i++) {
		socks[i].fd = tsk_socket_proto(TEST_KIND, SOCK_DGRAM, TEST_PROTO);
		if (socks[i].fd < 0) {
			fail("%s: socket", labels[i]);
			return -1;
		}
		if (i != UNB && tsk_bind_loopback(socks[i].fd, TEST_KIND, &socks[i].addr)) {
			fail("%s: bind", labels[i]);
			return -1;
		}
	}
	if (connect(socks[CLI].fd, (const struct sockaddr *)&socks[SRV].addr.ss, socks[SRV].addr.len)) {
		fail("connect");
		return -1;
	}
	for (int i = 0; i < NR_SOCKS; i++) {
		socks[i].nr_opts = tsk_opts_table(TEST_KIND, SOCK_DGRAM, &socks[i].opts);
		if (tsk_sockname(socks[i].fd, &socks[i].addr) ||
		    tsk_opts_get(socks[i].fd, socks[i].opts, socks[i].nr_opts, socks[i].vals)) {
			fail("%s: reading it back", labels[i]);
			return -1;
		}
	}
	return exchange(0);
}

static int socks_check(void)
{
	char a[TSK_ADDR_STRLEN], b[TSK_ADDR_STRLEN];
	struct tsk_addr addr;

	for (int i = 0; i < NR_SOCKS; i++) {
		int changed, proto = -1;
		socklen_t len = sizeof(proto);

		if (getsockopt(socks[i].fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) ||
		    proto != (TEST_PROTO ?: IPPROTO_UDP)) {
			fail("%s: protocol %d after restore, expected %d", labels[i], proto, TEST_PROTO ?: IPPROTO_UDP);
			return -1;
		}
		if (tsk_sockname(socks[i].fd, &addr)) {
			fail("%s: getsockname", labels[i]);
			return -1;
		}
		if (!tsk_addr_equal(&addr, &socks[i].addr)) {
			fail("%s: address %s, was %s", labels[i], tsk_addr_str(&addr, a, sizeof(a)),
			     tsk_addr_str(&socks[i].addr, b, sizeof(b)));
			return -1;
		}
		if (i != CLI && tsk_peername(socks[i].fd, &addr) != -ENOTCONN) {
			fail("%s: has a peer", labels[i]);
			return -1;
		}
		changed = tsk_opts_changed(socks[i].fd, labels[i], socks[i].opts, socks[i].nr_opts, socks[i].vals);
		if (changed) {
			fail("%s: %d options changed (listed above)", labels[i], changed);
			return -1;
		}
	}
	if (tsk_peername(socks[CLI].fd, &addr)) {
		fail("connected: getpeername");
		return -1;
	}
	if (!tsk_addr_equal(&addr, &socks[SRV].addr)) {
		fail("connected: peer %s, expected %s", tsk_addr_str(&addr, a, sizeof(a)),
		     tsk_addr_str(&socks[SRV].addr, b, sizeof(b)));
		return -1;
	}
	return 0;
}

/* The connected socket takes datagrams from its peer only: a stranger's is dropped. */
static int filter_check(void)
{
	int stranger = tsk_socket_proto(TEST_KIND, SOCK_DGRAM, TEST_PROTO);

	if (stranger < 0) {
		fail("socket");
		return -1;
	}
	if (dgram_send(stranger, 100, &socks[CLI].addr, "stranger to connected") ||
	    dgram_send(socks[SRV].fd, 101, &socks[CLI].addr, "bound to connected, after the stranger") ||
	    dgram_expect(socks[CLI].fd, 101, &socks[SRV].addr, "the first datagram the connected socket takes"))
		return -1;
	close(stranger);
	return 0;
}

/* The unbound socket sends: it gets an address, and the datagram comes from there. */
static int unbound_check(void)
{
	struct tsk_addr addr, from;

	if (dgram_send(socks[UNB].fd, 200, &socks[SRV].addr, "unbound to bound"))
		return -1;
	if (tsk_sockname(socks[UNB].fd, &addr) || !tsk_addr_port(&addr)) {
		fail("unbound: no port after sending");
		return -1;
	}
	/* bound to the wildcard address: the datagram leaves from loopback */
	tsk_addr_loopback(TEST_KIND, tsk_addr_port(&addr), &from);
	return dgram_expect(socks[SRV].fd, 200, &from, "unbound to bound");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (socks_open())
		return 1;

	test_daemon();
	test_waitsig();

	if (socks_check() || exchange(10) || filter_check() || unbound_check())
		return 1;
	pass();
	return 0;
}
