/*
 * A unix socket connected to a socket outside the dumped process.
 * - A stream connection to this test: criu dump refuses it, naming the fd,
 *   the peer and this process, with or without --ext-unix-sk; the child runs
 *   on untraced, its queue and peek offset as before (it reads exactly what
 *   the test had sent, and says whether SO_PEEK_OFF is still off).
 * - A socketpair of the child with one of its ends in flight in that end's own
 *   queue (SCM_RIGHTS: a cycle of sockets in flight): refused, naming the
 *   socket; the child then receives the message and its fd.
 * - A datagram socket connected to a socket of the test bound to an abstract
 *   name: refused without --ext-unix-sk, dumped with it (the outside socket
 *   written as an external entry, which crit decodes).
 */
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "dump-test.h"

#define QUEUED 3000
#define CHILD_SK 50 /* the child's socket */

static volatile sig_atomic_t kicked;

static void on_usr1(int sig)
{
	(void)sig;
	kicked = 1;
}

/* The child: on SIGUSR1 it sends back 'P' (peek offset still off) or 'X', then what it had queued. */
static void __attribute__((noreturn)) child_main(int sk, int ready)
{
	static char buf[QUEUED * 2];
	struct sigaction sa = { .sa_handler = on_usr1 };
	int off = 0;
	socklen_t len = sizeof(off);
	ssize_t n;

	if (sigaction(SIGUSR1, &sa, NULL) || write(ready, "R", 1) != 1)
		_exit(2);
	close(ready);
	while (!kicked)
		pause();
	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, &len))
		_exit(2);
	buf[0] = off == -1 ? 'P' : 'X';
	n = recv(sk, buf + 1, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n < 0 || send(sk, buf, (size_t)n + 1, 0) != n + 1)
		_exit(2);
	_exit(0);
}

static pid_t start_child(int sk, int other)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		(void)other;
		/* only stdio (/dev/null), its socket at CHILD_SK and the ready pipe */
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setsid() < 0 ||
		    dup2(sk, CHILD_SK) != CHILD_SK || dup2(ready[1], CHILD_SK + 1) != CHILD_SK + 1 ||
		    close_range(3, CHILD_SK - 1, 0) || close_range(CHILD_SK + 2, ~0u, 0))
			_exit(2);
		child_main(CHILD_SK, CHILD_SK + 1);
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

/* The child gives back exactly what was queued for it, its peek offset untouched. */
static void check_queue(int *failures, pid_t pid, int sk, const char *sent)
{
	char buf[QUEUED + 1];
	size_t got = 0;
	int status;

	expect(failures, !kill(pid, SIGUSR1), "can't wake the child");
	while (got < sizeof(buf)) {
		ssize_t n = recv(sk, buf + got, sizeof(buf) - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	expect(failures, got == sizeof(buf) && buf[0] == 'P' && !memcmp(buf + 1, sent, QUEUED),
	       "the child's queue or peek offset changed (%zu bytes back, marker %c)", got, got ? buf[0] : '-');
	expect(failures, waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	       "the child failed");
}

static void check_stream(int *failures, const char *tmp)
{
	char sent[QUEUED], msg[128];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		expect(failures, 0, "socketpair");
		return;
	}
	memset(sent, 'q', sizeof(sent));
	pid = start_child(sv[1], sv[0]);
	if (pid < 0 || send(sv[0], sent, sizeof(sent), 0) != QUEUED || send(sv[1], "junk", 4, 0) != 4) {
		expect(failures, 0, "stream: can't set up");
		return;
	}
	snprintf(msg, sizeof(msg), "fd %d of process %d: unix socket", CHILD_SK, pid);
	dump_expect_exit(failures, tmp, pid, "stream", NULL, 1, msg);
	snprintf(msg, sizeof(msg), "of process %d (fd %d), outside the dump", getpid(), sv[0]);
	dump_expect_exit(failures, tmp, pid, "stream-named", NULL, 1, msg);
	dump_expect_exit(failures, tmp, pid, "stream-ext", "--ext-unix-sk", 1, "half of a stream connection");
	close(sv[1]);
	/* what the child sent before ("junk") comes first */
	{
		char junk[4];

		expect(failures, recv(sv[0], junk, 4, 0) == 4 && !memcmp(junk, "junk", 4), "stream: junk lost");
	}
	check_queue(failures, pid, sv[0], sent);
	close(sv[0]);
}

/* The child sends a socket over itself, and on SIGUSR1 receives it: exit 0 if the fd came. */
static void __attribute__((noreturn)) scm_child(int ready)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, data[2] = "f";
	struct iovec iov = { data, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *ch = CMSG_FIRSTHDR(&mh);
	struct sigaction sa = { .sa_handler = on_usr1 };
	int sv[2];

	ch->cmsg_level = SOL_SOCKET, ch->cmsg_type = SCM_RIGHTS, ch->cmsg_len = CMSG_LEN(sizeof(int));
	if (sigaction(SIGUSR1, &sa, NULL) || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		_exit(2);
	memcpy(CMSG_DATA(ch), &sv[1], sizeof(int));
	if (sendmsg(sv[0], &mh, 0) != 1 || write(ready, "R", 1) != 1)
		_exit(2);
	close(ready);
	while (!kicked)
		pause();
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(sv[1], &mh, MSG_DONTWAIT) != 1 || !(ch = CMSG_FIRSTHDR(&mh)) || ch->cmsg_type != SCM_RIGHTS)
		_exit(3);
	_exit(0);
}

static void check_scm(int *failures, const char *tmp)
{
	int ready[2], status = 0;
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return;
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setsid() < 0 ||
		    dup2(ready[1], CHILD_SK) != CHILD_SK || close_range(3, CHILD_SK - 1, 0) ||
		    close_range(CHILD_SK + 1, ~0u, 0))
			_exit(2);
		scm_child(CHILD_SK);
	}
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		expect(failures, 0, "scm: can't start the child");
		close(ready[0]);
		return;
	}
	close(ready[0]);
	dump_expect_exit(failures, tmp, pid, "scm", NULL, 1, "(a cycle of sockets in flight)");
	expect(failures, !kill(pid, SIGUSR1), "scm: can't wake the child");
	expect(failures, waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	       "scm: the child lost its message or its fd (status %#x)", status);
}

static void check_dgram(int *failures, const char *tmp)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char cmd[PATH_MAX * 2];
	socklen_t len;
	int srv, cli;
	pid_t pid;

	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "criu-ng-dump-unix-refuse-%d", getpid());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1));
	srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	cli = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (srv < 0 || cli < 0 || bind(srv, (struct sockaddr *)&a, len) || connect(cli, (struct sockaddr *)&a, len)) {
		expect(failures, 0, "dgram: can't set up");
		return;
	}
	pid = start_child(cli, srv);
	close(cli);
	if (pid < 0) {
		expect(failures, 0, "dgram: can't start the child");
		return;
	}
	dump_expect_exit(failures, tmp, pid, "dgram", NULL, 1, "consider using the --ext-unix-sk option");
	dump_expect_exit(failures, tmp, pid, "dgram-ext", "--ext-unix-sk", 0, "external peer(s)");
	snprintf(cmd, sizeof(cmd), "%s %s show %s/dgram-ext/files.img | grep -q 'criu-ng-dump-unix-refuse'", PYTHON,
		 CRIT, tmp);
	expect(failures, system(cmd) == 0, "dgram: crit doesn't show the external socket in files.img");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(srv);
}

int main(void)
{
	int failures = 0;
	char tmp[256];

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: CRIU's crit (Debian package criu) is not installed\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(tmp, sizeof(tmp), "dump-unix-refuse")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	check_stream(&failures, tmp);
	check_scm(&failures, tmp);
	check_dgram(&failures, tmp);
	if (!failures)
		test_rm_rf(tmp);
	else
		fprintf(stderr, "images kept in %s\n", tmp);
	fprintf(stderr, "dump-unix-refuse: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
