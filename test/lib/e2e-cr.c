/*
 * e2e-cr.c: the criu dump and restore steps of the host-to-host migration tests (see e2e-cr.h).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "criu-run.h"
#include "e2e-cr.h"

static int cr_fail(struct e2e_cr *cr, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int cr_fail(struct e2e_cr *cr, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cr->why, sizeof(cr->why), fmt, ap);
	va_end(ap);
	return ret;
}

int e2e_cr_init(struct e2e_cr *cr)
{
	int ret = criu_bin_path(cr->criu, sizeof(cr->criu));

	cr->frozen_ms = -1;
	if (ret)
		return cr_fail(cr, ret, "the criu binary of this tree: %s", strerror(-ret));
	return 0;
}

static int cr_step(struct e2e_cr *cr, const char *what, char *const argv[], const char *netns, double *ms, long *rss)
{
	char out[PATH_MAX + 16], log[PATH_MAX + 16], why[900];
	const char *files[] = { out, log, NULL };
	struct criu_cmd cmd = { .netns = netns, .out = out };
	int ret;

	snprintf(out, sizeof(out), "%s/%s.out", cr->dir, what);
	snprintf(log, sizeof(log), "%s/%s.log", cr->img, what);
	ret = criu_exec(argv, &cmd);
	*ms = cmd.wall_ms;
	*rss = cmd.maxrss_kib;
	if (ret == -ECHILD && criu_refusal(files, why, sizeof(why)))
		return cr_fail(cr, -EOPNOTSUPP, "criu %s refused: %s", what, why);
	if (ret)
		return cr_fail(cr, ret, "criu %s failed (wait status %#x): see %s and %s", what, cmd.status, out, log);
	if (cr->verbose) {
		printf("e2e: criu %s: %.1f ms, --display-stats:\n", what, cmd.wall_ms);
		criu_print_block(out, "statistics:", "    ");
		fflush(stdout);
	}
	return 0;
}

#define MAX_TREE 64

/* The parent of @pid from /proc/PID/stat, or 0. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	if (!p || sscanf(p, ") %*c %d", &ppid) != 1)
		ppid = 0;
	fclose(f);
	return ppid;
}

/* The descendants of @root (at most MAX_TREE), from the parents /proc gives: how many. */
static int descendants(pid_t root, pid_t *v)
{
	int n = 0, grew = 1;

	while (grew) {
		struct dirent *de;
		DIR *d = opendir("/proc");

		grew = 0;
		while (d && n < MAX_TREE && (de = readdir(d))) {
			pid_t pid = atoi(de->d_name), pp;
			int known = 0;

			if (pid <= 0)
				continue;
			for (int i = 0; i < n; i++)
				known |= v[i] == pid;
			pp = known ? 0 : parent_of(pid);
			for (int i = -1; pp && !known && i < n; i++)
				if (pp == (i < 0 ? root : v[i])) {
					v[n++] = pid, grew = 1;
					break;
				}
		}
		if (d)
			closedir(d);
	}
	return n;
}

/* Until every one of @v is gone (reaped here if this process, a subreaper, inherited it), 10 s at most. */
static int wait_gone(const pid_t *v, int n)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	char path[64];

	for (int tries = 0; tries < 1000; tries++) {
		int alive = 0;

		for (int i = 0; i < n; i++) {
			waitpid(v[i], NULL, WNOHANG);
			snprintf(path, sizeof(path), "/proc/%d", (int)v[i]);
			alive += access(path, F_OK) == 0;
		}
		if (!alive)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int e2e_cr_dump(struct e2e_cr *cr, const char *netns, pid_t pid)
{
	pid_t tree[MAX_TREE];
	int nr_tree;
	char pid_s[16], out[PATH_MAX + 16];
	char *argv[] = { cr->criu,
			 "dump",
			 "-t",
			 pid_s,
			 "-D",
			 (char *)cr->img,
			 "--tcp-established",
			 "--display-stats",
			 "-v4",
			 "-o",
			 "dump.log",
			 "--network-lock",
			 (char *)(cr->lock ? cr->lock : "nftables"),
			 NULL,
			 NULL,
			 NULL };
	int status, ret;

	if (cr->criu_images) {
		argv[13] = "--tcp-images";
		argv[14] = "criu";
	}
	snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
	nr_tree = descendants(pid, tree);
	ret = cr_step(cr, "dump", argv, netns, &cr->dump_ms, &cr->dump_rss_kib);
	if (ret)
		return ret;
	/* criu killed it: reap it, so the restore finds its pid free */
	if (waitpid(pid, &status, 0) != pid)
		return cr_fail(cr, -errno, "reaping the dumped process: %s", strerror(errno));
	if (!WIFSIGNALED(status))
		return cr_fail(cr, -EPROTO, "the dumped process ended with status %#x, not by criu's SIGKILL", status);
	/* Its children, killed too, are reaped by whoever inherited them: their pids must be free. */
	if (wait_gone(tree, nr_tree))
		return cr_fail(cr, -ETIMEDOUT, "the dumped process's children are still there 10 s after the dump");
	snprintf(out, sizeof(out), "%s/dump.out", cr->dir);
	cr->frozen_ms = criu_frozen_ms(out, cr->img);
	return 0;
}

int e2e_cr_restore(struct e2e_cr *cr, const char *netns, pid_t *pid)
{
	char pidfile[PATH_MAX + 16];
	char *argv[] = { cr->criu,
			 "restore",
			 "-D",
			 (char *)cr->img,
			 "--tcp-established",
			 "--restore-detached",
			 "--pidfile",
			 pidfile,
			 "--display-stats",
			 "-v4",
			 "-o",
			 "restore.log",
			 "--network-lock",
			 (char *)(cr->lock ? cr->lock : "nftables"),
			 NULL,
			 NULL,
			 NULL };
	FILE *f;
	int p, ret;

	if (cr->external) {
		argv[14] = "--external";
		argv[15] = (char *)cr->external;
	}
	snprintf(pidfile, sizeof(pidfile), "%s/restore.pid", cr->dir);
	ret = cr_step(cr, "restore", argv, netns, &cr->restore_ms, &cr->restore_rss_kib);
	if (ret)
		return ret;
	f = fopen(pidfile, "re");
	if (!f)
		return cr_fail(cr, -errno, "criu restore wrote no pidfile %s", pidfile);
	ret = fscanf(f, "%d", &p) == 1 && p > 0 ? 0 : -EPROTO;
	fclose(f);
	if (ret)
		return cr_fail(cr, ret, "the pidfile %s holds no pid", pidfile);
	*pid = p;
	if (kill(p, 0))
		return cr_fail(cr, -ESRCH, "the restored process %d is not running", p);
	return 0;
}
