/*
 * criu restore that fails after the TCP connections were rebuilt, then a restore that works. A
 * holder process keeps the server ends of 200 established IPv4 connections at fds 4096 and up, with
 * data queued both ways (2 KiB it has not read, 4 KiB sent and not acknowledged, 4 KiB not sent),
 * and 4 GiB of address space mapped PROT_NONE; criu dumps it with --tcp-established and
 * --network-lock nftables, and kills it. The first restore runs with RLIMIT_AS at 2 GiB: every
 * connection is rebuilt in repair mode, the process is forked with its pid and its sockets, then
 * its address space can't be rebuilt (ENOMEM) and criu gives up. It must exit 1 and leave:
 *
 *   - the images byte for byte as they were, and no pidfile;
 *   - the lock (the nftables table criu-ng-PID);
 *   - no process with the holder's pid, and no socket of the connections in the namespace (they
 *     were closed in repair mode, so none lingers closing);
 *   - the peers' ends as they were: established (no FIN, no RST came), their receive queues as
 *     long as before (no data came).
 *
 * Then criu restore is killed (SIGKILL) right after its log says the connections are rebuilt, the
 * process's memory is being rebuilt, and all of it is there: each time the same must hold once the
 * process criu forked (killed with it) is reaped.
 *
 * The last restore, without the limit, must bring the holder back with its pid, running and
 * untraced, the lock lifted, no socket in repair mode, and every byte queued either way must come
 * through exactly once, then a fresh round trip. No restore names the lock method: the restore must
 * take the dump's from the images, as CRIU's does. The test is a child subreaper: the restored
 * holder becomes its child. Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include "dump-test.h"
#include "tcp-test.h"

#define NR_CONNS 200
#define RESERVE (4ull << 30) /* the holder's address space beyond its own */
#define LOW_AS (2ull << 30)  /* room for criu, not for the holder */

/* criu restore killed (SIGKILL) as soon as its log shows @marker: a failure criu can't clean up after. */
static void killed_restore(struct tcp_test *t, const char *img, const char *pristine, const char *pidfile,
			   const char *marker, int nr)
{
	char log[PATH_MAX], what[128];
	const char *args[] = {
		"restore", "-D",  img, "--tcp-established", "--restore-detached", "--pidfile", pidfile, "-o",
		log,	   "-v4", NULL
	};
	struct peer_view before;
	int failures = t->failures;
	pid_t criu;

	snprintf(log, sizeof(log), "%s/restore-killed-%d.log", t->tmp, nr);
	snprintf(what, sizeof(what), "restore killed after '%s'", marker);
	if (peer_view_take(t->fix, &before) || (criu = criu_start(t->tmp, args)) < 0) {
		expect(&t->failures, 0, "%s: can't start it", what);
		return;
	}
	expect(&t->failures, dump_wait_marker(log, marker, 10000), "%s: the log never showed it", what);
	kill(criu, SIGKILL);
	waitpid(criu, NULL, 0);
	/* The process criu forked, if it did, is killed with it (ptrace's exit kill) and becomes ours. */
	rchild_wait(t->h.pid, 5000);
	tcp_check_refused(t, what, pidfile, LOCK_NFT, &before);
	expect(&t->failures, dir_same(img, pristine), "%s: the images changed", what);
	if (t->failures != failures)
		rtest_print_log(t->tmp, strrchr(log, '/') + 1);
	else
		fprintf(stderr, "%s: nothing changed\n", what);
	peer_view_free(&before);
}

static void failed_restore(struct tcp_test *t, const char *img, const char *pristine, const char *pidfile)
{
	char log[PATH_MAX], *text;
	struct peer_view before;
	int ret;

	if (peer_view_take(t->fix, &before)) {
		expect(&t->failures, 0, "can't read the peers' sockets");
		return;
	}
	ret = tcp_restore(t, img, "restore-as.log", pidfile, LOW_AS);
	expect(&t->failures, ret == 1, "the restore under RLIMIT_AS exited with %d", ret);
	snprintf(log, sizeof(log), "%s/restore-as.log", t->tmp);
	text = test_read_file(log);
	expect(&t->failures, text && strstr(text, "TCP connection(s) rebuilt in repair mode"),
	       "the restore failed before the connections were rebuilt");
	expect(&t->failures, text && strstr(text, "Cannot allocate memory") && strstr(text, "killing it"),
	       "the restore didn't fail rebuilding the forked process's memory");
	tcp_check_refused(t, "restore under RLIMIT_AS", pidfile, LOCK_NFT, &before);
	expect(&t->failures, dir_same(img, pristine), "the failed restore changed the images");
	if (t->failures)
		fprintf(stderr, "---- %s ----\n%s\n", log, text ?: "(none)");
	free(text);
	peer_view_free(&before);
}

int main(void)
{
	static const char *const lock[] = { "--network-lock", "nftables", NULL };
	/* Connections rebuilt; the process forked, its memory being rebuilt; its memory all there. */
	static const char *const kill_markers[] = { "rebuilt in repair mode", "vdso block moved", "pages restored" };
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = NR_CONNS };
	char img[PATH_MAX], pristine[PATH_MAX], pidfile[PATH_MAX];
	struct tcp_test t = { 0 };
	int ret;

	ret = tcp_test_setup(&t, "tcp-restore-fail", &fo, RESERVE);
	if (ret)
		return ret;
	snprintf(img, sizeof(img), "%s/img", t.tmp);
	snprintf(pristine, sizeof(pristine), "%s/pristine", t.tmp);
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", t.tmp);
	ret = tcp_dump(&t, img, "dump.log", lock);
	expect(&t.failures, !ret, "the dump failed");
	if (!ret && dir_copy(img, pristine))
		expect(&t.failures, 0, "can't copy the images");
	if (!t.failures)
		failed_restore(&t, img, pristine, pidfile);
	for (size_t i = 0; !t.failures && i < sizeof(kill_markers) / sizeof(kill_markers[0]); i++)
		killed_restore(&t, img, pristine, pidfile, kill_markers[i], (int)i);
	if (!t.failures) {
		ret = tcp_restore(&t, img, "restore.log", pidfile, 0);
		expect(&t.failures, ret == 0, "the last restore exited with %d", ret);
		tcp_check_restored(&t, "last restore", pidfile);
		if (t.failures)
			rtest_print_log(t.tmp, "restore.log");
	}
	return tcp_test_finish(&t);
}
