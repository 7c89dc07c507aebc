/*
 * helper.c: helper processes outside the test's tree (see helper.h). The
 * test forks an intermediate child, which forks the helper and exits; the
 * test reaps the intermediate and learns the helper's pid from it over a
 * pipe, then declares it to the runner.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"
#include "inetsk.h"
#include "zdtmtst.h"
#include "zdtmtst-internal.h"

/* A helper that outlives this is killed by SIGALRM, so it never lingers after a lost test. */
#define HELPER_MAX_SECONDS 600

/* In the helper: keep 0-2 and chan (moved to 3), close everything else. */
static int helper_fds_reset(int chan)
{
	if (chan != 3) {
		if (dup2(chan, 3) < 0)
			return -errno;
		close(chan);
	}
	if (fcntl(3, F_SETFD, 0))
		return -errno;
	if (close_range(4, ~0u, 0))
		return -errno;
	return 3;
}

static void __attribute__((noreturn)) helper_run(int (*fn)(int chan, void *arg), void *arg, int chan)
{
	struct sigaction sa;

	/* A session of its own: the restored test must find no process group with its pid. */
	if (setsid() < 0) {
		fail("helper: setsid");
		_exit(1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL)) {
		fail("helper: ignoring SIGPIPE");
		_exit(1);
	}
	alarm(HELPER_MAX_SECONDS);
	chan = helper_fds_reset(chan);
	if (chan < 0) {
		errno = -chan;
		fail("helper: setting up its fds");
		_exit(1);
	}
	exit(fn(chan, arg));
}

pid_t test_helper_start(int (*fn)(int chan, void *arg), void *arg, int *chan)
{
	int sk[2], pids[2], status, ret;
	pid_t mid, helper = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sk))
		return -errno;
	/* the helper's pid comes on a pipe of its own: the helper may write on chan first */
	if (pipe2(pids, O_CLOEXEC)) {
		ret = -errno;
		goto out_close_sk;
	}
	mid = fork();
	if (mid < 0) {
		ret = -errno;
		goto out_close_pids;
	}
	if (mid == 0) {
		close(sk[0]);
		close(pids[0]);
		helper = fork();
		if (helper == 0)
			helper_run(fn, arg, sk[1]);
		/* the intermediate: tell the test who the helper is, and go */
		if (helper < 0 || write(pids[1], &helper, sizeof(helper)) != sizeof(helper))
			_exit(1);
		_exit(0);
	}
	close(pids[1]);
	pids[1] = -1;
	if (waitpid(mid, &status, 0) != mid) {
		ret = -errno;
		goto out_close_pids;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) || read(pids[0], &helper, sizeof(helper)) != sizeof(helper)) {
		ret = -ECHILD;
		goto out_close_pids;
	}
	ret = test_helper_declare(helper);
	if (ret) {
		kill(helper, SIGKILL);
		goto out_close_pids;
	}
	close(pids[0]);
	close(sk[1]);
	*chan = sk[0];
	return helper;

out_close_pids:
	close(pids[0]);
	if (pids[1] >= 0)
		close(pids[1]);
out_close_sk:
	close(sk[0]);
	close(sk[1]);
	errno = -ret;
	return ret;
}

int helper_msg_send(int fd, uint32_t op, int32_t status, uint64_t value, int timeout_ms)
{
	struct helper_msg msg = { .op = op, .status = status, .value = value };

	return tsk_write_all(fd, &msg, sizeof(msg), timeout_ms);
}

int helper_msg_recv(int fd, struct helper_msg *msg, int timeout_ms)
{
	return tsk_read_all(fd, msg, sizeof(*msg), timeout_ms);
}

int helper_msg_expect(int fd, uint32_t op, struct helper_msg *msg, int timeout_ms)
{
	int ret = helper_msg_recv(fd, msg, timeout_ms);

	if (ret)
		return ret;
	if (msg->op != op) {
		test_msg("fd %d: message %u came, expected %u\n", fd, msg->op, op);
		errno = EPROTO;
		return -EPROTO;
	}
	return 0;
}

/* The peer's first words, apart from the codes of the tests' own messages. */
enum {
	PEER_OP_PORT = 0x7e000001, /* helper -> test on the setup channel: its listener's port */
	PEER_OP_HELLO,		   /* helper -> test: the control connection is accepted */
};

struct peer_boot {
	int (*fn)(int lfd, int ctl, void *arg);
	void *arg;
	int backlog, rcvbuf;
};

/* In the helper: listen, tell the test where, take its control connection, run fn. */
static int peer_boot_run(int chan, void *arg)
{
	const struct peer_boot *boot = arg;
	struct tsk_addr addr;
	int lfd, ctl;

	lfd = tsk_listener(TSK_INET4, boot->backlog, boot->rcvbuf);
	if (lfd < 0 || tsk_sockname(lfd, &addr) ||
	    helper_msg_send(chan, PEER_OP_PORT, 0, tsk_addr_port(&addr), TSK_TIMEOUT_MS)) {
		fail("peer: listener");
		return 1;
	}
	close(chan);
	ctl = tsk_accept(lfd, TSK_TIMEOUT_MS);
	if (ctl < 0 || helper_msg_send(ctl, PEER_OP_HELLO, 0, 0, TSK_TIMEOUT_MS)) {
		fail("peer: control connection");
		return 1;
	}
	return boot->fn(lfd, ctl, boot->arg);
}

int test_peer_start(struct test_peer *peer, int (*fn)(int lfd, int ctl, void *arg), void *arg, int backlog, int rcvbuf)
{
	struct peer_boot boot = { .fn = fn, .arg = arg, .backlog = backlog, .rcvbuf = rcvbuf };
	struct helper_msg msg;
	int chan, ret;

	peer->pid = test_helper_start(peer_boot_run, &boot, &chan);
	if (peer->pid < 0)
		return peer->pid;
	ret = helper_msg_expect(chan, PEER_OP_PORT, &msg, TSK_TIMEOUT_MS);
	close(chan); /* a unix socket: criu must not find it in the test */
	if (ret)
		return ret;
	tsk_addr_loopback(TSK_INET4, (uint16_t)msg.value, &peer->addr);
	peer->ctl = tsk_connect(TSK_INET4, &peer->addr, 0);
	if (peer->ctl < 0)
		return peer->ctl;
	return helper_msg_expect(peer->ctl, PEER_OP_HELLO, &msg, TSK_TIMEOUT_MS);
}
