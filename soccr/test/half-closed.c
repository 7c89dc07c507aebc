/*
 * half-closed.c: connections in the half-closed states, dumped and restored with their FINs.
 *
 * Each state is made on the server side (the side dumped) with shutdown() on either end; where
 * a FIN must stay unacknowledged the other side's packets are dropped by a socket filter, then by
 * the network lock:
 *
 *   ESTABLISHED       control: data both ways, 4 KiB unacknowledged + 4 KiB unsent
 *   CLOSE_WAIT        the peer shut down; 4 KiB unacknowledged + 4 KiB unsent
 *   FIN_WAIT2         the server shut down and its FIN was acknowledged
 *   FIN_WAIT1         the server shut down after 4 KiB; data and FIN sent, unacknowledged
 *   FIN_WAIT1 unsent  the same with 4 KiB more and the FIN written under the lock: unsent
 *   LAST_ACK          the peer shut down, then the server after 4 KiB; unacknowledged
 *   CLOSING           both sent a FIN, the server got the peer's, the peer did not get the server's
 *
 * Every connection also holds 2 KiB unread from the peer. Dumped: state and queue lengths must be
 * as made (a FIN is not counted in either queue). After restore and repair off, still locked, the
 * state must be the same or its successor; after unlock every byte must arrive exactly once in
 * both directions, each FIN exactly where it was sent (the reader sees EOF), a round trip in each
 * direction that is still open, and the state must move on as TCP says (FIN_WAIT1 to FIN_WAIT2,
 * LAST_ACK and CLOSING to CLOSE). Passes: IPv4 and IPv6, io_uring and plain syscalls.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>

#include "connfix.h"
#include "soccr-cycle.h"
#include "testutil.h"

#define PER_CASE 2
#define K CONNFIX_PEER_BYTES
#define S1 CONNFIX_SENT_BYTES
#define S2 CONNFIX_UNSENT_BYTES

enum hc_case {
	HC_EST,
	HC_CLOSE_WAIT,
	HC_FIN_WAIT2,
	HC_FIN_WAIT1,
	HC_FIN_WAIT1_UNSENT,
	HC_LAST_ACK,
	HC_CLOSING,
	HC_NR
};

struct hc_spec {
	const char *name;
	int state;	   /* at the dump */
	int next;	   /* a successor allowed right after the restore, or -1 */
	int final;	   /* once the peer has read everything */
	uint32_t outq_len; /* data in the send queue at the dump */
	uint32_t unsq_len; /* of which unsent */
	int fin_queued;	   /* our FIN is in the send queue: SIOCOUTQ counts it */
	int fin_unsent;	   /* and not sent yet */
};

static const struct hc_spec specs[HC_NR] = {
	[HC_EST] = { "ESTABLISHED", TCP_ESTABLISHED, -1, TCP_ESTABLISHED, S1 + S2, S2, 0, 0 },
	[HC_CLOSE_WAIT] = { "CLOSE_WAIT", TCP_CLOSE_WAIT, -1, TCP_CLOSE_WAIT, S1 + S2, S2, 0, 0 },
	[HC_FIN_WAIT2] = { "FIN_WAIT2", TCP_FIN_WAIT2, -1, TCP_FIN_WAIT2, 0, 0, 0, 0 },
	[HC_FIN_WAIT1] = { "FIN_WAIT1", TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_FIN_WAIT2, S1, 0, 1, 0 },
	[HC_FIN_WAIT1_UNSENT] = { "FIN_WAIT1 (FIN unsent)", TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_FIN_WAIT2, S1 + S2, S2, 1,
				  1 },
	[HC_LAST_ACK] = { "LAST_ACK", TCP_LAST_ACK, TCP_CLOSE, TCP_CLOSE, S1, 0, 1, 0 },
	[HC_CLOSING] = { "CLOSING", TCP_CLOSING, TCP_CLOSE, TCP_CLOSE, 0, 0, 1, 0 },
};

static uint32_t lo_of(int c)
{
	return (uint32_t)c * PER_CASE;
}

static uint32_t hi_of(int c)
{
	return (uint32_t)(c + 1) * PER_CASE;
}

/* Everything up to the lock. */
static int make_before_lock(struct connfix *fix)
{
	static const int filtered[] = { HC_EST, HC_CLOSE_WAIT, HC_FIN_WAIT1, HC_FIN_WAIT1_UNSENT, HC_LAST_ACK };
	int ret;

	ret = connfix_peer_send(fix, 0, lo_of(HC_NR), K);
	ret = ret ?: connfix_wait_inq(fix, 0, lo_of(HC_NR));
	for (int c = HC_CLOSE_WAIT; !ret && c <= HC_LAST_ACK; c += HC_LAST_ACK - HC_CLOSE_WAIT) {
		ret = connfix_peer_shutdown(fix, lo_of(c), hi_of(c));
		ret = ret ?: connfix_wait_state(fix, lo_of(c), hi_of(c), TCP_CLOSE_WAIT);
	}
	for (int c = HC_FIN_WAIT2; !ret && c <= HC_CLOSING; c += HC_CLOSING - HC_FIN_WAIT2) {
		ret = connfix_server_send(fix, lo_of(c), hi_of(c), S1);
		ret = ret ?: connfix_wait_acked(fix, lo_of(c), hi_of(c));
	}
	ret = ret ?: connfix_server_shutdown(fix, lo_of(HC_FIN_WAIT2), hi_of(HC_FIN_WAIT2));
	ret = ret ?: connfix_wait_state(fix, lo_of(HC_FIN_WAIT2), hi_of(HC_FIN_WAIT2), TCP_FIN_WAIT2);
	for (unsigned int k = 0; !ret && k < sizeof(filtered) / sizeof(filtered[0]); k++) {
		ret = connfix_server_filter(fix, lo_of(filtered[k]), hi_of(filtered[k]), 1);
		ret = ret ?: connfix_server_send(fix, lo_of(filtered[k]), hi_of(filtered[k]), S1);
	}
	ret = ret ?: connfix_server_shutdown(fix, lo_of(HC_FIN_WAIT1), hi_of(HC_FIN_WAIT1));
	ret = ret ?: connfix_server_shutdown(fix, lo_of(HC_LAST_ACK), hi_of(HC_LAST_ACK));
	/* CLOSING: the peer drops the server's FIN, then sends its own */
	ret = ret ?: connfix_peer_filter(fix, lo_of(HC_CLOSING), hi_of(HC_CLOSING), 1);
	ret = ret ?: connfix_server_shutdown(fix, lo_of(HC_CLOSING), hi_of(HC_CLOSING));
	ret = ret ?: connfix_peer_shutdown(fix, lo_of(HC_CLOSING), hi_of(HC_CLOSING));
	ret = ret ?: connfix_wait_state(fix, lo_of(HC_CLOSING), hi_of(HC_CLOSING), TCP_CLOSING);
	return ret;
}

/* Under the lock: the unsent data (and FIN), then the filters go. */
static int make_under_lock(struct connfix *fix)
{
	int ret;

	ret = connfix_server_send(fix, lo_of(HC_EST), hi_of(HC_CLOSE_WAIT), S2);
	ret = ret ?: connfix_server_send(fix, lo_of(HC_FIN_WAIT1_UNSENT), hi_of(HC_FIN_WAIT1_UNSENT), S2);
	ret = ret ?: connfix_server_shutdown(fix, lo_of(HC_FIN_WAIT1_UNSENT), hi_of(HC_FIN_WAIT1_UNSENT));
	ret = ret ?: connfix_server_filter(fix, 0, lo_of(HC_NR), 0);
	ret = ret ?: connfix_peer_filter(fix, lo_of(HC_CLOSING), hi_of(HC_CLOSING), 0);
	return ret;
}

/* The fixture itself: states and queues as the kernel shows them before the dump. */
static int check_made(struct connfix *fix)
{
	int ret = 0;

	for (int c = 0; c < HC_NR; c++) {
		const struct hc_spec *sp = &specs[c];

		for (uint32_t i = lo_of(c); i < hi_of(c); i++) {
			int fd = connfix_fd(fix, i), st = connfix_tcp_state(fd), inq = -1, outq = -1, nsd = -1;

			if (ioctl(fd, SIOCINQ, &inq) < 0 || ioctl(fd, SIOCOUTQ, &outq) < 0 ||
			    ioctl(fd, SIOCOUTQNSD, &nsd) < 0)
				return -errno;
			if (st == sp->state && inq == K && outq == (int)(sp->outq_len + sp->fin_queued) &&
			    nsd == (int)(sp->unsq_len + sp->fin_unsent))
				continue;
			test_msg("conn %u (%s): made wrong: state %s, in %d, out %d, unsent %d", i, sp->name,
				 connfix_state_name(st), inq, outq, nsd);
			ret = -EPROTO;
		}
	}
	return ret;
}

static int check_dumped(const struct cycle *cy)
{
	int ret = 0;

	for (int c = 0; c < HC_NR; c++) {
		const struct hc_spec *sp = &specs[c];

		for (uint32_t i = lo_of(c); i < hi_of(c); i++) {
			const struct libsoccr_sk_data *d = &cy->dumped[i].data;

			if ((int)d->state == sp->state && d->inq_len == K && d->outq_len == sp->outq_len &&
			    d->unsq_len == sp->unsq_len)
				continue;
			test_msg("conn %u (%s): dumped state %s, inq_len %u, outq_len %u, unsq_len %u; expected %s, "
				 "%u, %u, %u",
				 i, sp->name, connfix_state_name((int)d->state), d->inq_len, d->outq_len, d->unsq_len,
				 connfix_state_name(sp->state), K, sp->outq_len, sp->unsq_len);
			ret = -EPROTO;
		}
	}
	return ret;
}

static int check_restored_states(struct connfix *fix)
{
	int ret = 0;

	for (int c = 0; c < HC_NR; c++) {
		const struct hc_spec *sp = &specs[c];

		for (uint32_t i = lo_of(c); i < hi_of(c); i++) {
			int st = connfix_tcp_state(connfix_fd(fix, i));

			if (st == sp->state || st == sp->next)
				continue;
			test_msg("conn %u (%s): restored in state %s", i, sp->name,
				 st < 0 ? strerror(-st) : connfix_state_name(st));
			ret = -EPROTO;
		}
	}
	return ret;
}

static int check_final_states(struct connfix *fix)
{
	int ret = 0;

	for (int c = 0; c < HC_NR && !ret; c++)
		ret = connfix_wait_state(fix, lo_of(c), hi_of(c), specs[c].final);
	return ret;
}

static int half_closed_pass(enum connfix_family family, uint32_t ctx_flags)
{
	struct connfix_opts fo = { .family = family, .n = lo_of(HC_NR), .timeout_ms = 20000 };
	struct libsoccr_ctx *ctx;
	struct connfix *fix;
	struct cycle cy;
	int ret;

	ret = connfix_create(&fo, &fix);
	if (ret)
		return ret;
	ret = test_ctx_create(ctx_flags, 0, &ctx);
	if (ret)
		goto out_destroy_fix;
	ret = cycle_init(&cy, ctx, fix, 0, lo_of(HC_NR), 0);
	if (ret)
		goto out_destroy_ctx;
	ret = make_before_lock(fix);
	ret = ret ?: connfix_lock(fix, NETLOCK_NFTABLES);
	ret = ret ?: make_under_lock(fix);
	ret = ret ?: check_made(fix);
	ret = ret ?: cycle_dump(&cy);
	ret = ret ?: check_dumped(&cy);
	ret = ret ?: cycle_close(&cy);
	ret = ret ?: cycle_restore(&cy);
	ret = ret ?: cycle_repair_off(&cy);
	ret = ret ?: check_restored_states(fix);
	ret = ret ?: connfix_unlock(fix);
	ret = ret ?: cycle_resume(&cy);
	ret = ret ?: connfix_verify(fix);
	ret = ret ?: check_final_states(fix);
	test_msg("%s, %s: %s", connfix_family_name(family), cycle_backend(ctx),
		 ret ? strerror(-ret) : "every state restored and verified");
	cycle_fini(&cy);
out_destroy_ctx:
	libsoccr_ctx_destroy(ctx);
out_destroy_fix:
	connfix_destroy(fix);
	return ret;
}

int main(int argc, char **argv)
{
	int ret, failed = 0;

	(void)argc;
	test_init(argv[0]);
	ret = test_env_setup();
	if (ret)
		return ret;
	for (int f = CONNFIX_IPV4; f <= CONNFIX_IPV6; f++) {
		if (connfix_family_probe((enum connfix_family)f)) {
			test_msg("no %s here, skipping it", connfix_family_name((enum connfix_family)f));
			continue;
		}
		if (half_closed_pass((enum connfix_family)f, 0))
			failed++;
		if (half_closed_pass((enum connfix_family)f, SOCCR_CTX_NO_URING))
			failed++;
	}
	if (failed)
		return test_fail("%d of the passes failed", failed);
	test_msg("PASS");
	return TEST_PASS;
}
