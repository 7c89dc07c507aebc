/*
 * helper.h: helper processes outside the test's process tree, such as the
 * external peer of a TCP connection. criu dumps the tree of the test process
 * only, so a helper is started by a double fork (its parent exits at once and
 * the runner, a child subreaper, adopts it), in a session of its own, and
 * declared to the runner, which waits for it to exit once the test is over
 * and fails the test if it exits with a status other than 0 or is still
 * running (see README.md, "Helper processes").
 *
 * Until test_daemon() the test and its helper talk over a unix socket pair;
 * the test must close its end before test_daemon(), since what criu dumps must
 * not hold it. After that they talk over whatever the test sets up, usually a
 * TCP control connection carrying struct helper_msg.
 */
#ifndef ZDTM_HELPER_H
#define ZDTM_HELPER_H

#include <stdint.h>
#include <sys/types.h>

#include "inetsk.h"

/*
 * Starts fn(chan, arg) in a helper; its return value is the helper's exit
 * status. The helper keeps its standard fds (messages go to the outfile) and
 * chan, its end of the setup channel; every other fd is closed in it. *chan
 * gets the test's end. Call before test_daemon(). Returns the helper's pid or
 * -errno.
 */
pid_t test_helper_start(int (*fn)(int chan, void *arg), void *arg, int *chan);

/* A message between a test and its helper: what to do or what happened. */
struct helper_msg {
	uint32_t op;	/* the test's own codes */
	int32_t status; /* 0, or -errno of what went wrong */
	uint64_t value; /* a count, a port, an offset */
};

/* Sends or receives one message within timeout_ms; 0 or -errno (-ENODATA when the other end closed). */
int helper_msg_send(int fd, uint32_t op, int32_t status, uint64_t value, int timeout_ms);
int helper_msg_recv(int fd, struct helper_msg *msg, int timeout_ms);
/* Receives a message and checks it is op: -EPROTO (logged) for another one. */
int helper_msg_expect(int fd, uint32_t op, struct helper_msg *msg, int timeout_ms);

/*
 * An external TCP peer: a helper listening on a loopback port, and a control
 * connection from the test to it. In the helper, fn(lfd, ctl, arg) gets the
 * listener (the test's next connections come there) and its end of the
 * control connection; its return value is the helper's exit status.
 */
struct test_peer {
	pid_t pid;
	struct tsk_addr addr; /* where the peer listens */
	int ctl;	      /* the test's end of the control connection */
};

/*
 * Starts the peer, its listener made as tsk_listener(TSK_INET4, backlog,
 * rcvbuf) does, and connects the control connection. Call before
 * test_daemon(). 0 or -errno.
 */
int test_peer_start(struct test_peer *peer, int (*fn)(int lfd, int ctl, void *arg), void *arg, int backlog, int rcvbuf);

#endif /* ZDTM_HELPER_H */
