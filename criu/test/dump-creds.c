/*
 * criu dump of a process whose ids all differ from ours (real, effective,
 * saved uids and gids, supplementary groups; no capability left) and whose
 * resource limits were changed, checked through crit: prlimit(2) on
 * such a process fails with EPERM without CAP_SYS_RESOURCE, the dump reads
 * /proc/PID/limits instead, so the RlimitEntry of every RLIMIT_* in the core
 * image must hold what the process set (unlimited included), the CredsEntry
 * its ids and groups; every image decodes and the process runs on.
 */
#include <grp.h>
#include <sys/resource.h>

#include "dump-test.h"

#define NAME "dump-creds"
#define KEEP UINT64_MAX /* as a wanted hard limit: the one inherited */

static const gid_t groups[] = { 5, 600, 70000 };
static const uid_t uids[4] = { 1000, 1001, 1002, 1001 }; /* real, effective, saved, fs */
static const gid_t gids[4] = { 1100, 1200, 1300, 1200 };

/* The limits the child sets; every other one it inherits from the test. */
static const struct {
	int res;
	uint64_t soft, hard;
} wanted[] = {
	{ RLIMIT_CPU, 3600, 7200 },	 { RLIMIT_FSIZE, 1ull << 30, KEEP }, { RLIMIT_CORE, 0, KEEP },
	{ RLIMIT_NOFILE, 64, 128 },	 { RLIMIT_STACK, 4u << 20, KEEP },   { RLIMIT_MSGQUEUE, 4096, 8192 },
	{ RLIMIT_RTTIME, 250000, KEEP },
};

/* Lines: "rlim RES CUR MAX", "creds UID GID EUID EGID SUID SGID FSUID FSGID CAPEFF0", "group G", "bad IMAGE". */
static const char decode_py[] =
	"import json, os, subprocess, sys\n"
	"def dec(f):\n"
	"    out = subprocess.run([sys.executable, '" CRIT "', 'decode', '-i', f], capture_output=True, text=True)\n"
	"    if out.returncode:\n"
	"        print('bad', os.path.basename(f))\n"
	"        return None\n"
	"    return json.loads(out.stdout)['entries']\n"
	"d, pid = sys.argv[1], sys.argv[2]\n"
	"for f in sorted(os.listdir(d)):\n"
	"    if not f.startswith('pages-') and not f.endswith('.log'):\n"
	"        dec(os.path.join(d, f))\n"
	"core = dec(os.path.join(d, 'core-%s.img' % pid))[0]\n"
	"for i, r in enumerate(core['tc']['rlimits']['rlimits']):\n"
	"    print('rlim', i, r['cur'], r['max'])\n"
	"c = core['thread_core']['creds']\n"
	"print('creds', c['uid'], c['gid'], c['euid'], c['egid'], c['suid'], c['sgid'], c['fsuid'], c['fsgid'],\n"
	"      c['cap_eff'][0])\n"
	"for g in c.get('groups', []):\n"
	"    print('group', g)\n";

struct creds_test {
	char tmp[256], dir[512];
	int failures;
	pid_t pid;
	struct rlimit want[RLIM_NLIMITS];
	bool seen[RLIM_NLIMITS];
	size_t nr_groups;
};

/* What the child's limits will be: ours, with the wanted ones changed within our hard limits. */
static int plan_limits(struct creds_test *t)
{
	for (int i = 0; i < RLIM_NLIMITS; i++)
		if (getrlimit(i, &t->want[i]))
			return -errno;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		struct rlimit *rl = &t->want[wanted[i].res];

		if (wanted[i].hard != KEEP && (rl->rlim_max == RLIM_INFINITY || wanted[i].hard < rl->rlim_max))
			rl->rlim_max = wanted[i].hard;
		rl->rlim_cur = wanted[i].soft < rl->rlim_max ? wanted[i].soft : rl->rlim_max;
	}
	return 0;
}

static void __attribute__((noreturn)) child_main(const struct creds_test *t, int ready_fd)
{
	char ok = 1;

	dump_child_quiet_stdio(ready_fd);
	for (int i = 0; i < RLIM_NLIMITS; i++)
		if (setrlimit(i, &t->want[i]))
			_exit(2);
	if (setgroups(sizeof(groups) / sizeof(groups[0]), groups) || setresgid(gids[0], gids[1], gids[2]) ||
	    setresuid(uids[0], uids[1], uids[2]))
		_exit(3);
	if (write(ready_fd, &ok, 1) != 1)
		_exit(2);
	close(ready_fd);
	for (;;)
		pause();
}

static int start_child(struct creds_test *t)
{
	int ready[2];
	ssize_t n;
	char ok;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0)
		child_main(t, ready[1]);
	close(ready[1]);
	n = read(ready[0], &ok, 1);
	close(ready[0]);
	return n == 1 ? 0 : -EIO;
}

static void parse_line(struct creds_test *t, const char *line)
{
	unsigned long long v[9];
	int res;

	if (sscanf(line, "rlim %d %llu %llu", &res, &v[0], &v[1]) == 3) {
		if (res < 0 || res >= RLIM_NLIMITS) {
			expect(&t->failures, 0, "rlimit %d in the image: there are %d", res, RLIM_NLIMITS);
			return;
		}
		t->seen[res] = true;
		expect(&t->failures, v[0] == t->want[res].rlim_cur && v[1] == t->want[res].rlim_max,
		       "rlimit %d: %llu/%llu in the image, the process has %llu/%llu", res, v[0], v[1],
		       (unsigned long long)t->want[res].rlim_cur, (unsigned long long)t->want[res].rlim_max);
	} else if (sscanf(line, "creds %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
			  &v[5], &v[6], &v[7], &v[8]) == 9) {
		for (int i = 0; i < 4; i++) {
			expect(&t->failures, v[2 * i] == uids[i], "uid %d: %llu, not %u", i, v[2 * i], uids[i]);
			expect(&t->failures, v[2 * i + 1] == gids[i], "gid %d: %llu, not %u", i, v[2 * i + 1], gids[i]);
		}
		expect(&t->failures, v[8] == 0, "effective capabilities %#llx, expected none", v[8]);
	} else if (sscanf(line, "group %llu", &v[0]) == 1) {
		expect(&t->failures, t->nr_groups < 3 && v[0] == groups[t->nr_groups], "group %zu is %llu",
		       t->nr_groups, v[0]);
		t->nr_groups++;
	} else if (!strncmp(line, "bad ", 4)) {
		expect(&t->failures, 0, "crit can't decode %s", line + 4);
	}
}

static void run(struct creds_test *t)
{
	char script[PATH_MAX], pidstr[32];
	char *argv[] = { PYTHON, script, t->dir, pidstr, NULL };
	struct rlimit64 rl;
	struct run_result r;
	int ret;

	if (prlimit64(t->pid, RLIMIT_NOFILE, NULL, &rl) == 0)
		fprintf(stderr, "note: prlimit works on the child here (CAP_SYS_RESOURCE?)\n");
	ret = dump_run_criu(&r, t->tmp, t->pid, t->dir, "dump.log", "--leave-running");
	expect(&t->failures, !ret && r.exit_code == 0, "criu dump failed (%d, exit %d)", ret, r.exit_code);
	if (ret || r.exit_code)
		return;
	test_run_free(&r);
	snprintf(script, sizeof(script), "%s/decode.py", t->tmp);
	snprintf(pidstr, sizeof(pidstr), "%d", t->pid);
	if (test_write_file(script, decode_py, strlen(decode_py)) || test_run(&r, t->tmp, NULL, argv, NULL)) {
		expect(&t->failures, 0, "can't run the decoder");
		return;
	}
	expect(&t->failures, r.exit_code == 0, "decoder exit %d: %s", r.exit_code, r.err);
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n"))
		parse_line(t, line);
	test_run_free(&r);
	for (int i = 0; i < RLIM_NLIMITS; i++)
		expect(&t->failures, t->seen[i], "rlimit %d missing from the image", i);
	expect(&t->failures, t->nr_groups == 3, "%zu groups in the image, not 3", t->nr_groups);
	expect(&t->failures, dump_thread_state(t->pid, t->pid) == 'S', "the child doesn't run on");
}

int main(void)
{
	static struct creds_test t;

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: changing the child's ids needs root\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(t.tmp, sizeof(t.tmp), NAME)) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	snprintf(t.dir, sizeof(t.dir), "%s/images", t.tmp);
	if (mkdir(t.dir, 0700) || plan_limits(&t) || start_child(&t)) {
		fprintf(stderr, "FAIL: can't set up: %s\n", strerror(errno));
		if (t.pid > 0)
			kill(t.pid, SIGKILL);
		return TEST_FAIL;
	}
	run(&t);
	kill(t.pid, SIGKILL);
	waitpid(t.pid, NULL, 0);
	if (!t.failures)
		test_rm_rf(t.tmp);
	else
		fprintf(stderr, "images kept in %s\n", t.dir);
	fprintf(stderr, NAME ": %s\n", t.failures ? "FAILED" : "all passed");
	return t.failures ? TEST_FAIL : TEST_PASS;
}
