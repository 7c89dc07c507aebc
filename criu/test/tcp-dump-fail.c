/*
 * criu dump that fails after the TCP connections went into repair mode. A holder process keeps
 * the server ends of 200 established IPv4 connections with data queued both ways (2 KiB the holder
 * has not read, 4 KiB it sent whose ACKs were dropped, 4 KiB the test's own lock keeps unsent; that
 * lock is lifted after criu). criu dumps it with --tcp-established and fails once the connections
 * are dumped:
 *
 *   - the images directory is a 64 KiB tmpfs: writing the images after the streams fails (ENOSPC);
 *   - tcp-streams.img (or, with --tcp-images criu, the last connection's tcp-stream-INO.img) is a
 *     directory: the very last image fails (EISDIR), with everything else written;
 *
 * each with the nftables and the iptables lock. Each time criu must exit 1, its log must say that
 * the connections were dumped and why it failed, and then: the holder runs on, untraced; no
 * socket is in repair mode (TCP_REPAIR read on a pidfd_getfd copy of each); no piece of the lock
 * is left (nft and iptables asked); both ends of every connection are established; and every
 * byte queued either way comes through exactly once, then a fresh round trip.
 * The tmpfs lives in a mount namespace of the test's own, the connections in a network namespace.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <sched.h>
#include <sys/mount.h>

#include "tcp-test.h"

#define NR_CONNS 200

enum fail_how {
	FAIL_FULL,	  /* the images directory is a tmpfs too small for them */
	FAIL_STREAMS_DIR, /* tcp-streams.img is a directory */
	FAIL_STREAM_DIR,  /* the last tcp-stream-INO.img is a directory (--tcp-images criu) */
};

struct fail_case {
	const char *name;
	const char *lock;
	enum fail_how how;
	const char *msg; /* in the log */
};

static const struct fail_case cases[] = {
	{ "full-nftables", "nftables", FAIL_FULL, "No space left on device" },
	{ "full-iptables", "iptables", FAIL_FULL, "No space left on device" },
	{ "streams-nftables", "nftables", FAIL_STREAMS_DIR, "Is a directory" },
	{ "streams-iptables", "iptables", FAIL_STREAMS_DIR, "Is a directory" },
	{ "criu-images-nftables", "nftables", FAIL_STREAM_DIR, "Is a directory" },
	{ "criu-images-iptables", "iptables", FAIL_STREAM_DIR, "Is a directory" },
};

/* The images directory of @fc, made to fail the dump at the point @fc says. */
static int prepare_dir(struct tcp_test *t, const struct fail_case *fc, char *dir, size_t size)
{
	char path[PATH_MAX + 64];
	struct stat st;
	int fd;

	snprintf(dir, size, "%s/%s", t->tmp, fc->name);
	if (mkdir(dir, 0700))
		return -errno;
	switch (fc->how) {
	case FAIL_FULL:
		return mount("tmpfs", dir, "tmpfs", 0, "size=64k") ? -errno : 0;
	case FAIL_STREAMS_DIR:
		snprintf(path, sizeof(path), "%s/tcp-streams.img", dir);
		break;
	case FAIL_STREAM_DIR:
		/* The streams are written in the order of the fds: the last connection's goes last. */
		fd = holder_copy(&t->h, NR_CONNS - 1);
		if (fd < 0 || fstat(fd, &st))
			return fd < 0 ? fd : -errno;
		close(fd);
		holder_drop(&t->h, NULL);
		snprintf(path, sizeof(path), "%s/tcp-stream-%x.img", dir, (unsigned int)st.st_ino);
		break;
	}
	return mkdir(path, 0700) ? -errno : 0;
}

/* Everything the failed dump must have left as it was: both ends of each connection, then tcp_check_running(). */
static void check_intact(struct tcp_test *t, const char *what)
{
	struct peer_view pv;
	int nr = server_sockets(t->fix, false);

	expect(&t->failures, nr == NR_CONNS, "%s: %d server-side sockets, not %u", what, nr, NR_CONNS);
	if (!peer_view_take(t->fix, &pv)) {
		uint32_t bad = 0;

		for (uint32_t i = 0; i < pv.n; i++)
			bad += pv.rows[i].state != TCP_ESTABLISHED;
		expect(&t->failures, bad == 0, "%s: %u peers are not established", what, bad);
		peer_view_free(&pv);
	}
	tcp_check_running(t, what, true);
}

static void run_case(struct tcp_test *t, const struct fail_case *fc)
{
	char dir[PATH_MAX], log[PATH_MAX], pidstr[32], *text;
	const char *args[] = { "dump",
			       "-t",
			       pidstr,
			       "-D",
			       dir,
			       "-o",
			       log,
			       "-v4",
			       "--tcp-established",
			       "--network-lock",
			       fc->lock,
			       fc->how == FAIL_STREAM_DIR ? "--tcp-images" : NULL,
			       "criu",
			       NULL };
	int failures = t->failures, ret;
	struct run_result r;

	snprintf(pidstr, sizeof(pidstr), "%d", t->h.pid);
	snprintf(log, sizeof(log), "%s/%s.log", t->tmp, fc->name);
	ret = holder_queue(&t->h, t->fix);
	ret = ret ?: prepare_dir(t, fc, dir, sizeof(dir));
	if (ret || rcriu_run(&r, t->tmp, args)) {
		expect(&t->failures, 0, "%s: can't set up or run the dump: %s", fc->name, strerror(-ret));
		return;
	}
	expect(&t->failures, r.exit_code == 1, "%s: criu dump exited with %d", fc->name, r.exit_code);
	test_run_free(&r);
	text = test_read_file(log);
	expect(&t->failures, text && strstr(text, "TCP connection(s) dumped in"),
	       "%s: the dump failed before the connections were dumped", fc->name);
	expect(&t->failures, text && strstr(text, fc->msg), "%s: the log doesn't say '%s'", fc->name, fc->msg);
	expect(&t->failures, text && strstr(text, "letting it run on"), "%s: the log doesn't say the dump failed",
	       fc->name);
	check_intact(t, fc->name);
	if (t->failures != failures)
		fprintf(stderr, "---- %s ----\n%s\n", log, text ?: "(none)");
	else
		fprintf(stderr, "%s: failed as it must, everything intact\n", fc->name);
	free(text);
	if (fc->how == FAIL_FULL)
		umount(dir);
}

int main(void)
{
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = NR_CONNS };
	struct tcp_test t = { 0 };
	int ret;

	/* The tmpfs mounts stay in here; criu and the holder, forked later, share the namespace. */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		fprintf(stderr, "SKIP: no mount namespace of our own: %s\n", strerror(errno));
		return TEST_SKIP;
	}
	ret = tcp_test_setup(&t, "tcp-dump-fail", &fo, 0);
	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&t, &cases[i]);
	return tcp_test_finish(&t);
}
