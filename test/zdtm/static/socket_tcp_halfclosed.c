/*
 * socket_tcp_halfclosed: TCP connections half closed, both ends in the
 * process, in every state one process can hold them in:
 *   fin-wait2/close-wait  one end shut down its writing side and the other
 *                         acknowledged the FIN; data unread on both ends;
 *   fin-wait1             one end shut down behind 10 KiB its peer's small
 *                         window could not take: its FIN is not sent yet;
 *   last-ack              the close-wait end shut down too, behind 10 KiB
 *                         the fin-wait2 end's small window holds back;
 *   both fin-wait1        both ends shut down behind data the other could
 *                         not take (a simultaneous close once they read).
 * After restore each socket is in the same state, out of repair mode, with
 * the same options (a small receive buffer is what holds data back); each
 * end reads every byte once, then the end of the stream where its peer shut
 * down; a half-closed end can still send to one that is not; the shut down
 * end cannot write (EPIPE); and every connection closes completely.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "inetsk.h"
#include "zdtmtst.h"

#define SMALL_RCVBUF 2048
#define BLOCKED_BYTES 10240 /* more than a small window takes */
#define SOME_BYTES 1000
#define LATE_BYTES 700
#define SETTLE_MS 5000

struct conn {
	const char *label;
	bool small[2];	  /* receive buffer of the client, the server */
	size_t before[2]; /* bytes each end sends before the checkpoint */
	bool shut[2];	  /* ends that shut down writing before the checkpoint */
	int state[2];	  /* the states that must result */
	int fd[2];
	struct tsk_stream out[2], in[2];
	const struct tsk_opt *opts;
	int nr_opts;
	struct tsk_optval vals[2][64];
};

static struct conn conns[] = {
	{
		.label = "fin-wait2/close-wait",
		.before = { SOME_BYTES, SOME_BYTES / 2 },
		.shut = { true, false },
		.state = { TCP_FIN_WAIT2, TCP_CLOSE_WAIT },
	},
	{
		.label = "fin-wait1",
		.small = { false, true },
		.before = { BLOCKED_BYTES, 0 },
		.shut = { true, false },
		.state = { TCP_FIN_WAIT1, TCP_ESTABLISHED },
	},
	{
		.label = "last-ack",
		.small = { true, false },
		.before = { 0, BLOCKED_BYTES },
		.shut = { true, true },
		.state = { TCP_FIN_WAIT2, TCP_LAST_ACK },
	},
	{
		.label = "both fin-wait1",
		.small = { true, true },
		.before = { BLOCKED_BYTES, BLOCKED_BYTES },
		.shut = { true, true },
		.state = { TCP_FIN_WAIT1, TCP_FIN_WAIT1 },
	},
};

#define NR_CONNS (int)(sizeof(conns) / sizeof(conns[0]))

static const char *const side[] = { "client", "server" };

/* Waits until both ends are in the states given: 0, or -1 with the states seen in *seen. */
static int states_wait(struct conn *c, const int want[2], int seen[2])
{
	for (int ms = 0;; ms++) {
		seen[0] = tsk_tcp_state(c->fd[0]);
		seen[1] = tsk_tcp_state(c->fd[1]);
		if (seen[0] == want[0] && seen[1] == want[1])
			return 0;
		if (ms == SETTLE_MS)
			return -1;
		usleep(1000);
	}
}

/* lfd[1] gives small receive buffers to the sockets it accepts, lfd[0] does not. */
static int conn_open(const int lfd[2], struct conn *c, int idx)
{
	int seen[2];

	if (tsk_pair(lfd[c->small[1]], TSK_INET4, c->small[0] ? SMALL_RCVBUF : 0, &c->fd[0], &c->fd[1])) {
		fail("%s: connecting", c->label);
		return -1;
	}
	for (int s = 0; s < 2; s++) {
		tsk_stream_init(&c->out[s], pattern_stream(idx, s));
		tsk_stream_init(&c->in[s], pattern_stream(idx, !s));
	}
	for (int s = 0; s < 2; s++) {
		if (tsk_send_stream(c->fd[s], &c->out[s], c->before[s], TSK_TIMEOUT_MS)) {
			fail("%s %s: writing %zu bytes", c->label, side[s], c->before[s]);
			return -1;
		}
	}
	for (int s = 0; s < 2; s++) {
		if (c->shut[s] && shutdown(c->fd[s], SHUT_WR)) {
			fail("%s %s: shutdown", c->label, side[s]);
			return -1;
		}
	}
	if (states_wait(c, c->state, seen)) {
		fail("%s: states %s/%s, expected %s/%s", c->label, tsk_tcp_state_name(seen[0]),
		     tsk_tcp_state_name(seen[1]), tsk_tcp_state_name(c->state[0]), tsk_tcp_state_name(c->state[1]));
		return -1;
	}
	c->nr_opts = tsk_opts_table(TSK_INET4, SOCK_STREAM, &c->opts);
	for (int s = 0; s < 2; s++) {
		if (tsk_opts_get(c->fd[s], c->opts, c->nr_opts, c->vals[s])) {
			fail("%s %s: options", c->label, side[s]);
			return -1;
		}
	}
	return 0;
}

/* Reads all its peer sent, then the end of the stream if the peer shut down. */
static int conn_drain(struct conn *c, int s)
{
	size_t left = c->out[!s].off - c->in[s].off;

	if (tsk_recv_stream(c->fd[s], &c->in[s], left, TSK_TIMEOUT_MS)) {
		fail("%s %s: reading %zu bytes (at %llu)", c->label, side[s], left, (unsigned long long)c->in[s].off);
		return -1;
	}
	if (c->shut[!s] && tsk_read_eof(c->fd[s], TSK_TIMEOUT_MS)) {
		fail("%s %s: no end of stream after %llu bytes", c->label, side[s], (unsigned long long)c->in[s].off);
		return -1;
	}
	return 0;
}

/* Right after restore: the same state, out of repair mode, the same options (receive buffers keep windows small). */
static int conn_check_restored(struct conn *c)
{
	for (int s = 0; s < 2; s++) {
		int state = tsk_tcp_state(c->fd[s]), changed;

		if (state != c->state[s] || tsk_tcp_repair(c->fd[s])) {
			fail("%s %s: state %s, repair %d; expected %s", c->label, side[s], tsk_tcp_state_name(state),
			     tsk_tcp_repair(c->fd[s]), tsk_tcp_state_name(c->state[s]));
			return -1;
		}
		changed = tsk_opts_changed(c->fd[s], side[s], c->opts, c->nr_opts, c->vals[s]);
		if (changed) {
			fail("%s %s: %d options changed (listed above)", c->label, side[s], changed);
			return -1;
		}
	}
	return 0;
}

/* Every byte, the ends of the streams, EPIPE where shut down, and a complete close. */
static int conn_finish(struct conn *c)
{
	const int closed[2] = { TCP_CLOSE, TCP_CLOSE };
	int seen[2];

	if (conn_drain(c, 0) || conn_drain(c, 1))
		return -1;
	for (int s = 0; s < 2; s++) {
		char byte = 0;

		if (c->shut[s] && (send(c->fd[s], &byte, 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)) {
			fail("%s %s: writing after shutdown did not fail with EPIPE", c->label, side[s]);
			return -1;
		}
		/* the end still open sends more, and shuts down */
		if (!c->shut[s] && (tsk_send_stream(c->fd[s], &c->out[s], LATE_BYTES, TSK_TIMEOUT_MS) ||
				    shutdown(c->fd[s], SHUT_WR))) {
			fail("%s %s: writing after restore", c->label, side[s]);
			return -1;
		}
	}
	/* now both ends have shut down: the late bytes and the end of the stream arrive */
	for (int s = 0; s < 2; s++)
		c->shut[s] = true;
	if (conn_drain(c, 0) || conn_drain(c, 1))
		return -1;
	if (states_wait(c, closed, seen)) {
		fail("%s: states %s/%s at the end, expected CLOSE/CLOSE", c->label, tsk_tcp_state_name(seen[0]),
		     tsk_tcp_state_name(seen[1]));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int lfd[2];

	test_init(argc, argv);
	lfd[0] = tsk_listener(TSK_INET4, 8, 0);
	lfd[1] = tsk_listener(TSK_INET4, 8, SMALL_RCVBUF);
	if (lfd[0] < 0 || lfd[1] < 0) {
		fail("listeners");
		return 1;
	}
	for (int i = 0; i < NR_CONNS; i++)
		if (conn_open(lfd, &conns[i], i))
			return 1;
	close(lfd[0]);
	close(lfd[1]);

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_CONNS; i++)
		if (conn_check_restored(&conns[i]))
			return 1;
	for (int i = 0; i < NR_CONNS; i++)
		if (conn_finish(&conns[i]))
			return 1;
	pass();
	return 0;
}
