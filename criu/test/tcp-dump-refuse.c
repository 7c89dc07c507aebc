/*
 * TCP sockets criu dump must refuse without the options that allow them.
 *
 * A holder process keeps the server ends of 8 established IPv4 connections with data queued both
 * ways (held unsent partly by the test's own lock). criu dump without --tcp-established, with the
 * default (iptables) lock and with --network-lock nftables, must exit 1 with CRIU's hint
 * "consider using --tcp-established" in its log, having locked and dumped nothing; the holder
 * runs on untraced, no socket is in repair mode, no lock is left, and every byte queued either
 * way comes through exactly once, then a fresh round trip.
 *
 * A second holder keeps a listening socket with a connection the kernel completed but the holder
 * did not accept, the client's data in it. criu dump (--tcp-established) without --skip-in-flight
 * must exit 1 naming --skip-in-flight and leave the holder running with the connection still
 * waiting. With --skip-in-flight --leave-running it must succeed, the connection still waiting:
 * accepted then, it carries the client's data and an answer. With --skip-in-flight alone the dump
 * succeeds and kills the holder; its restore brings the listener back: the connection left out
 * was reset (its client reads ECONNRESET), and a new client is accepted and answered.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <arpa/inet.h>

#include "tcp-test.h"

#define NR_CONNS 8

/* Without --tcp-established: refused before anything is locked or dumped. */
static void established(struct tcp_test *t, const char *lock)
{
	char pidstr[32], dir[PATH_MAX], log[PATH_MAX + 8], *text;
	const char *args[] = { "dump", "-t", pidstr, "-D", dir, "-o", log, "-v4", lock ? "--network-lock" : NULL,
			       lock,   NULL };
	const char *what = lock ? lock : "default lock";
	struct run_result r;

	snprintf(pidstr, sizeof(pidstr), "%d", t->h.pid);
	snprintf(dir, sizeof(dir), "%s/est-%s", t->tmp, lock ? lock : "default");
	snprintf(log, sizeof(log), "%s.log", dir);
	if (mkdir(dir, 0700) || holder_queue(&t->h, t->fix) || rcriu_run(&r, t->tmp, args)) {
		expect(&t->failures, 0, "%s: can't run the dump", what);
		return;
	}
	expect(&t->failures, r.exit_code == 1, "%s: criu dump exited with %d", what, r.exit_code);
	test_run_free(&r);
	text = test_read_file(log);
	expect(&t->failures, text && strstr(text, "consider using --tcp-established"), "%s: no hint in the log", what);
	expect(&t->failures, text && !strstr(text, "locked in") && !strstr(text, "dumped in"),
	       "%s: connections were locked or dumped", what);
	tcp_check_running(t, what, true);
	if (t->failures)
		fprintf(stderr, "---- %s ----\n%s\n", log, text ?: "(none)");
	else
		fprintf(stderr, "%s: refused with the hint, connections intact\n", what);
	free(text);
}

/* A listener on 127.0.0.1; its port in *port. */
static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A client connected to @port that sent @msg: the kernel completes it, nobody accepts it. */
static int client(uint16_t port, const char *msg)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Connections waiting in the accept queue of the listener on @port, or -1 if there is none. */
static int accept_queue(uint16_t port)
{
	struct tcp_rows rows;
	int nr = -1;

	if (tcp_rows_read(&rows))
		return -1;
	for (size_t i = 0; i < rows.nr; i++)
		if (rows.v[i].lport == port && rows.v[i].state == TCP_LISTEN)
			nr = (int)rows.v[i].rxq;
	tcp_rows_free(&rows);
	return nr;
}

/*
 * Accepts on a copy of the holder's listener a connection whose client *cfd sent @msg, and answers
 * it. The client then closes first, so that no TIME_WAIT is left on the listener's port.
 */
static bool accept_answer(struct holder *lh, int *cfd, const char *msg)
{
	struct pollfd pfd = { .events = POLLIN };
	char buf[64] = { 0 };
	int lfd = holder_copy(lh, 0), afd = -1;
	bool ok = false;

	pfd.fd = lfd;
	if (lfd >= 0 && poll(&pfd, 1, 5000) == 1)
		afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (afd >= 0 && read(afd, buf, sizeof(buf) - 1) == (ssize_t)strlen(msg) && !strcmp(buf, msg) &&
	    write(afd, "answer", 6) == 6) {
		pfd.fd = *cfd;
		memset(buf, 0, sizeof(buf));
		ok = poll(&pfd, 1, 5000) == 1 && read(*cfd, buf, sizeof(buf) - 1) == 6 && !strcmp(buf, "answer");
	}
	if (afd >= 0) {
		close(*cfd);
		*cfd = -1;
		pfd.fd = afd;
		ok = ok && poll(&pfd, 1, 5000) == 1 && read(afd, buf, 1) == 0;
		close(afd);
	}
	if (lfd >= 0)
		close(lfd);
	holder_drop(lh, NULL);
	return ok;
}

/* criu dump of the listener's holder with @extra (NULL-terminated); its exit code, the log in *text. */
static int dump_listener(struct tcp_test *t, struct holder *lh, const char *name, const char *const *extra, char **text)
{
	char pidstr[32], dir[PATH_MAX], log[PATH_MAX + 8];
	const char *args[16] = { "dump", "-t", pidstr, "-D", dir, "-o", log, "-v4", "--tcp-established" };
	struct run_result r;
	int n = 9;

	snprintf(pidstr, sizeof(pidstr), "%d", lh->pid);
	snprintf(dir, sizeof(dir), "%s/%s", t->tmp, name);
	snprintf(log, sizeof(log), "%s.log", dir);
	for (int i = 0; extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	*text = NULL;
	if (mkdir(dir, 0700) || rcriu_run(&r, t->tmp, args))
		return -1;
	test_run_free(&r);
	*text = test_read_file(log);
	return r.exit_code;
}

static void in_flight(struct tcp_test *t)
{
	static const char *const none[] = { NULL };
	static const char *const skip_r[] = { "--skip-in-flight", "--leave-running", NULL };
	static const char *const skip[] = { "--skip-in-flight", NULL };
	char dir[PATH_MAX], pidfile[PATH_MAX], *text;
	struct holder lh = { 0 };
	int lfd, c1, c2, c3 = -1, ret;
	uint16_t port = 0;

	lfd = listener(&port);
	lh.fds = malloc(sizeof(*lh.fds)); /* holder_stop() frees it */
	lh.nr = 1;
	if (lh.fds)
		lh.fds[0] = lfd;
	c1 = lfd >= 0 ? client(port, "first") : -1;
	c2 = lfd >= 0 ? client(port, "second") : -1;
	if (!lh.fds || c1 < 0 || c2 < 0 || holder_start(&lh)) {
		expect(&t->failures, 0, "can't set up the listener and its clients");
		goto out;
	}
	expect(&t->failures, accept_queue(port) == 2, "the listener doesn't hold 2 connections");

	ret = dump_listener(t, &lh, "inflight", none, &text);
	expect(&t->failures, ret == 1, "without --skip-in-flight: criu dump exited with %d", ret);
	expect(&t->failures, text && strstr(text, "--skip-in-flight"), "without --skip-in-flight: no hint: %s",
	       text ?: "(no log)");
	free(text);
	expect(&t->failures, holder_runs(lh.pid, "refused"), "without --skip-in-flight: the holder doesn't run on");
	expect(&t->failures, accept_queue(port) == 2, "without --skip-in-flight: the connections don't wait any more");
	expect(&t->failures, lock_pieces(t->tmp, lh.pid) == 0, "without --skip-in-flight: a lock is left");

	ret = dump_listener(t, &lh, "skip-r", skip_r, &text);
	expect(&t->failures, ret == 0, "--skip-in-flight -R: criu dump exited with %d: %s", ret, text ?: "(no log)");
	expect(&t->failures, text && strstr(text, "left out (--skip-in-flight)"), "--skip-in-flight -R: no warning");
	free(text);
	expect(&t->failures, holder_runs(lh.pid, "-R"), "--skip-in-flight -R: the holder doesn't run on");
	expect(&t->failures, accept_queue(port) == 2, "--skip-in-flight -R: the connections don't wait any more");
	expect(&t->failures, accept_answer(&lh, &c1, "first"), "--skip-in-flight -R: the first connection broke");

	ret = dump_listener(t, &lh, "skip", skip, &text);
	expect(&t->failures, ret == 0, "--skip-in-flight: criu dump exited with %d: %s", ret, text ?: "(no log)");
	free(text);
	ret = rchild_wait(lh.pid, 5000);
	expect(&t->failures, ret >= 0 && WIFSIGNALED(ret), "--skip-in-flight: the holder wasn't killed");
	snprintf(dir, sizeof(dir), "%s/skip", t->tmp);
	snprintf(pidfile, sizeof(pidfile), "%s/listener.pid", t->tmp);
	ret = tcp_restore(t, dir, "restore-listener.log", pidfile, 0);
	expect(&t->failures, ret == 0, "the listener's restore exited with %d", ret);
	if (ret) {
		rtest_print_log(t->tmp, "restore-listener.log");
		goto out;
	}
	expect(&t->failures, holder_runs(lh.pid, "restored listener"), "the restored listener's holder doesn't run");
	expect(&t->failures, accept_queue(port) == 0, "the restored listener has connections waiting");
	{
		struct pollfd pfd = { .fd = c2, .events = POLLIN };
		char b;

		errno = 0;
		expect(&t->failures, poll(&pfd, 1, 5000) == 1 && read(c2, &b, 1) < 0 && errno == ECONNRESET,
		       "the connection left out wasn't reset (%s)", strerror(errno));
	}
	c3 = client(port, "third");
	expect(&t->failures, c3 >= 0 && accept_answer(&lh, &c3, "third"), "the restored listener doesn't serve");
	if (!t->failures)
		fprintf(stderr, "in-flight: refused without --skip-in-flight, dumped and restored with it\n");
out:
	for (int i = 0; i < 3; i++)
		if ((int[]){ c1, c2, c3 }[i] >= 0)
			close((int[]){ c1, c2, c3 }[i]);
	holder_stop(&lh, NULL);
}

int main(void)
{
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = NR_CONNS };
	struct tcp_test t = { 0 };
	int ret;

	ret = tcp_test_setup(&t, "tcp-dump-refuse", &fo, 0);
	if (ret)
		return ret;
	established(&t, NULL);
	established(&t, "nftables");
	in_flight(&t);
	return tcp_test_finish(&t);
}
