/*
 * criu dump killed halfway through a dump of 1,000 established TCP connections. A holder process
 * keeps their server ends with data queued both ways (2 KiB it has not read, 4 KiB sent and not
 * acknowledged, 4 KiB held unsent by the test's own lock), queued anew before each dump. criu dumps
 * it with --tcp-established. First once in full with --leave-running (the log's timeline is shown),
 * then killed with SIGKILL (alone, or with its process group): at twelve steps across the time the
 * full dump took, and right after (or 1 or 2 ms after) its log says the process is frozen, the
 * connections are locked, dumped, their streams written; once SIGTERM and once SIGINT instead,
 * which criu must hand on to its worker and exit 1 (or 0 when it came after the dump's last
 * point to give up, the holder killed: then the dump is checked as a late kill's, below). Both
 * lock methods, iptables at a few points.
 *
 * After the full dump with --leave-running, and after each kill, once whatever criu left has ended
 * (the test is a child subreaper: the worker becomes its child), the holder must run on, untraced;
 * no socket may be in repair mode; no piece of criu's lock may be left; and, the test's lock
 * lifted, every byte queued either way must come through exactly once, then a fresh round trip. A
 * kill that came too late, after the dump was complete and the holder killed by it, is counted and
 * checked the other way: the images restore the holder with every connection intact.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 240
 */
#include "dump-test.h"
#include "tcp-test.h"

#define NR_CONNS 1000
#define WORKER_WAIT_MS 10000
#define MARKER_WAIT_MS 10000
#define STREAMS_MARKER "connection(s), " /* tcp-streams.img written: the last image */
#define EXIT_SLACK_US 5000		 /* from kill() to the end of criu, which its worker sees */

struct kill_point {
	const char *marker; /* NULL: from criu's start */
	long delay_us;	    /* -1: no kill, a whole dump with --leave-running */
	bool group;	    /* kill criu's process group */
	int sig;	    /* SIGKILL, or SIGTERM/SIGINT to ask criu to stop */
	const char *lock;
};

struct totals {
	int kills;
	int late; /* the dump was complete: the holder was restored */
};

/* The time of the first line of @path holding @marker, in us since criu started; -1 if none. */
static int64_t log_time_us(const char *path, const char *marker)
{
	char *text = test_read_file(path), *p = text ? strstr(text, marker) : NULL;
	long sec = -1, usec = 0;

	while (p && p > text && p[-1] != '\n')
		p--;
	if (!p || sscanf(p, "(%ld.%ld)", &sec, &usec) != 2)
		sec = -1;
	free(text);
	return sec < 0 ? -1 : (int64_t)sec * 1000000 + usec;
}

/* What a restore of the images from a dump that completed must bring back. */
static void check_late(struct tcp_test *t, const char *what, const char *dir)
{
	char pidfile[PATH_MAX + 16];
	int ret;

	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", dir);
	ret = connfix_unlock(t->fix);
	ret = ret ?: tcp_restore(t, dir, "restore.log", pidfile, 0);
	expect(&t->failures, ret == 0, "%s: the dump was complete, but its restore failed (%d)", what, ret);
	tcp_check_restored(t, what, pidfile);
}

/* One dump of the holder, killed at @kp; returns how long criu ran, in us. */
static int64_t kill_once(struct tcp_test *t, const pid_t *keep, const struct kill_point *kp, struct totals *tot)
{
	static const char *const timeline[] = {
		"Dumping processes",	       "frozen with",  "TCP connection(s) locked in",
		"TCP connection(s) dumped in", STREAMS_MARKER, "Dumping finished"
	};
	const char *extra[] = { "--tcp-established", "--network-lock", kp->lock,
				kp->delay_us < 0 ? "--leave-running" : NULL, NULL };
	char dir[PATH_MAX], log[PATH_MAX + 16], what[192];
	int failures = t->failures, status = 0, left;
	bool dumped;
	int64_t start, kill_at = -1, streams_at;
	pid_t criu;

	snprintf(what, sizeof(what), "%s %ld us after %s (%s lock)",
		 kp->sig != SIGKILL ? strsignal(kp->sig) :
		 kp->group	    ? "kill group" :
				      "kill criu",
		 kp->delay_us, kp->marker ? kp->marker : "the start", kp->lock);
	if (kp->delay_us < 0)
		snprintf(what, sizeof(what), "whole dump with --leave-running (%s lock)", kp->lock);
	snprintf(dir, sizeof(dir), "%s/images", t->tmp);
	snprintf(log, sizeof(log), "%s/dump.log", dir);
	test_rm_rf(dir);
	if (mkdir(dir, 0700) || holder_queue(&t->h, t->fix)) {
		expect(&t->failures, 0, "%s: can't prepare the dump", what);
		return 0;
	}
	start = dump_now_us();
	criu = dump_start_criu(t->tmp, dir, t->h.pid, extra);
	if (criu < 0) {
		expect(&t->failures, 0, "%s: can't start criu", what);
		return 0;
	}
	if (kp->marker && !dump_wait_marker(log, kp->marker, MARKER_WAIT_MS))
		fprintf(stderr, "%s: the log never showed the marker\n", what);
	if (kp->delay_us > 0)
		dump_sleep_us(kp->delay_us);
	if (kp->delay_us >= 0) {
		kill_at = dump_now_us() - start;
		kill(kp->group ? -criu : criu, kp->sig);
		tot->kills++;
	}
	waitpid(criu, &status, 0);
	start = dump_now_us() - start;
	if (kp->delay_us < 0) {
		char *text = test_read_file(log);

		expect(&t->failures, WIFEXITED(status) && !WEXITSTATUS(status), "%s: criu ended with status %#x", what,
		       status);
		fprintf(stderr, "%s: %lld us, the log's timeline:\n", what, (long long)start);
		dump_show_timeline(text, timeline, sizeof(timeline) / sizeof(timeline[0]));
		free(text);
	}
	left = dump_reap_leftovers(keep, 2, WORKER_WAIT_MS);
	expect(&t->failures, left >= 0, "%s: criu left a process that did not end", what);
	dumped = rchild_wait(t->h.pid, 0) >= 0;
	if (kp->sig != SIGKILL) {
		/* Asked to stop, criu gives up and exits 1; asked once the dump had killed the holder, it succeeded. */
		expect(&t->failures, WIFEXITED(status) && WEXITSTATUS(status) == (dumped ? 0 : 1),
		       "%s: criu ended with status %#x, the holder %s", what, status, dumped ? "dumped" : "running");
		expect(&t->failures, left == 0, "%s: criu exited before its worker gave up", what);
	}
	if (dumped) {
		/*
		 * Killed by the dump: it must have been complete when criu died. Its log's clock starts
		 * after ours, so a streams line later than the kill is later than criu's death.
		 */
		streams_at = log_time_us(log, STREAMS_MARKER);
		expect(&t->failures,
		       kp->delay_us < 0 || (WIFEXITED(status) && !WEXITSTATUS(status)) ||
			       (streams_at >= 0 && streams_at <= kill_at + EXIT_SLACK_US),
		       "%s: the dump went on after criu was killed (%lld us), streams written at %lld us", what,
		       (long long)kill_at, (long long)streams_at);
		tot->late++;
		fprintf(stderr, "%s: the dump was complete\n", what);
		check_late(t, what, dir);
	} else {
		tcp_check_running(t, what, true);
	}
	if (t->failures != failures) {
		char *text = test_read_file(log);

		fprintf(stderr, "---- %s ----\n%s----\n", log, text ?: "(no log)\n");
		free(text);
	}
	return start;
}

int main(void)
{
	static const char *const markers[] = { "frozen with", "TCP connection(s) locked in",
					       "TCP connection(s) dumped in", STREAMS_MARKER };
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = NR_CONNS };
	struct kill_point kps[64], whole = { .delay_us = -1, .sig = SIGKILL, .lock = "nftables" };
	struct tcp_test t = { 0 };
	struct totals tot = { 0 };
	int64_t start = dump_now_us(), took;
	pid_t keep[2];
	size_t n = 0;
	int ret;

	ret = tcp_test_setup(&t, "tcp-dump-killed", &fo, 0);
	if (ret)
		return ret;
	/* Our children: the holder and the peers' process; anything else is criu's. */
	keep[0] = t.h.pid;
	keep[1] = dump_other_child(keep, 1);
	fprintf(stderr, "%u connections ready in %lld ms\n", NR_CONNS, (long long)(dump_now_us() - start) / 1000);

	took = kill_once(&t, keep, &whole, &tot);
	for (long k = 0; k < 12; k++)
		kps[n++] = (struct kill_point){ .delay_us = took * k / 12, .group = k % 3 == 1, .lock = "nftables" };
	for (size_t m = 0; m < sizeof(markers) / sizeof(markers[0]); m++)
		for (long us = 0; us <= 2000; us += 1000)
			kps[n++] = (struct kill_point){
				.marker = markers[m], .delay_us = us, .group = us == 1000, .lock = "nftables"
			};
	kps[n++] = (struct kill_point){ .delay_us = 20000, .lock = "iptables" };
	kps[n++] = (struct kill_point){ .marker = markers[1], .lock = "iptables" };
	kps[n++] = (struct kill_point){ .marker = markers[2], .delay_us = 1000, .group = true, .lock = "iptables" };
	kps[n++] = (struct kill_point){ .marker = markers[1], .sig = SIGTERM, .lock = "nftables" };
	kps[n++] = (struct kill_point){ .marker = markers[2], .sig = SIGINT, .lock = "iptables" };
	/* After a failure the connections' state is unknown: the points left would tell nothing. */
	for (size_t i = 0; i < n && !t.failures; i++) {
		if (!kps[i].sig)
			kps[i].sig = SIGKILL;
		kill_once(&t, keep, &kps[i], &tot);
		keep[0] = t.h.pid;
		if (!holder_runs(t.h.pid, "next kill")) {
			expect(&t.failures, 0, "no holder to go on with");
			break;
		}
	}
	fprintf(stderr, "%d kills, %d after the dump was complete, in %lld ms\n", tot.kills, tot.late,
		(long long)(dump_now_us() - start) / 1000);
	return tcp_test_finish(&t);
}
