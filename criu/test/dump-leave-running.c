/*
 * criu dump --leave-running of a real child process with three threads and a
 * region of patterned memory: the images exist and decode with crit
 * (crit/crit), one core image per thread (xsave state, TLS slots; the
 * leader's with the pending SIGUSR2; one thread's with the value it keeps in
 * xmm7/ymm7/zmm7, whatever the CPU has), the pagemap's page count equals
 * pages-1.img's size and the stats-dump counts, every touched page of the region
 * is in pages-1.img at the offset its vaddr gets from the pagemap (and untouched
 * ones aren't), and afterwards the child runs on, untraced, its memory intact,
 * SIGUSR2 still pending.
 */
#include "dump-test.h"

/* Decodes every image with crit; prints what the test checks, one fact a line. */
static const char decode_py[] =
	"import json, os, subprocess, sys\n"
	"d = sys.argv[1]\n"
	"for f in sorted(os.listdir(d)):\n"
	"    if f.startswith('pages-') or f.endswith('.log') or f.startswith('.'):\n"
	"        continue\n"
	"    out = subprocess.run([sys.executable, '" CRIT "', 'decode', '-i', os.path.join(d, f)],\n"
	"                         capture_output=True, text=True)\n"
	"    if out.returncode:\n"
	"        print('undecodable', f, out.stderr.strip().replace('\\n', ' '))\n"
	"        continue\n"
	"    img = json.loads(out.stdout)\n"
	"    print('decoded', f, img['magic'])\n"
	"    ents = img['entries']\n"
	"    if img['magic'] == 'PAGEMAP':\n"
	"        for e in ents[1:]:\n"
	"            print('run', e['vaddr'], e['nr_pages'], e.get('flags', 0))\n"
	"    elif img['magic'] == 'STATS':\n"
	"        print('stats', ents[0]['dump']['pages_written'], ents[0]['dump']['pages_scanned'])\n"
	"    elif img['magic'] == 'PSTREE':\n"
	"        print('pstree', ents[0]['pid'], len(ents[0]['threads']))\n"
	"    elif img['magic'] == 'CORE':\n"
	"        c = ents[0]\n"
	"        print('core', f, c['mtype'], 'tc' in c, 'xsave' in c['thread_info']['fpregs'],\n"
	"              len(c['thread_info'].get('tls', [])),\n"
	"              len(c.get('tc', {}).get('signals_s', {}).get('signals', [])))\n"
	"        fp = c['thread_info']['fpregs']\n"
	"        xs = fp.get('xsave', {})\n"
	"        words = lambda l, n, k: ''.join(x.to_bytes(k, 'little').hex() for x in l[n:n + 16 // k])\n"
	"        print('fpu', words(fp['xmm_space'], 28, 4) + words(xs.get('ymmh_space', []), 28, 4)\n"
	"              + words(xs.get('zmm_upper', []), 28, 8) + words(xs.get('zmm_upper', []), 30, 8))\n"
	"    elif img['magic'] == 'MM':\n"
	"        print('mm', len(ents[0]['vmas']), ents[0]['exe_file_id'])\n";

#define MAX_RUNS 4096

struct pm_run {
	uint64_t vaddr;
	uint64_t nr;
	uint64_t offset; /* in pages-1.img */
};

struct dump_test {
	char tmp[256];
	char dir[512];
	int failures;
	struct dump_child child;
	struct pm_run runs[MAX_RUNS];
	size_t nr_runs;
	uint64_t stats_written;
	unsigned int nr_cores;
	int shared_signals;
	char fpu_hex[129]; /* the vector register 7 pattern as crit shows it */
	int fpu_found;
	bool decoded_pagemap, decoded_stats, decoded_pstree, decoded_mm;
};

static void parse_facts(struct dump_test *t, char *out)
{
	uint64_t total = 0;

	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long long a, b, c;
		char name[128], mtype[32], tc[8], xs[8];
		int pid, n, nsig;

		if (!strncmp(line, "undecodable", 11)) {
			expect(&t->failures, 0, "crit can't decode: %s", line);
		} else if (sscanf(line, "run %llu %llu %llu", &a, &b, &c) == 3 && t->nr_runs < MAX_RUNS) {
			expect(&t->failures, c == 4, "pagemap run at %#llx has flags %llu, not PE_PRESENT", a, c);
			t->runs[t->nr_runs++] = (struct pm_run){ .vaddr = a, .nr = b, .offset = total };
			total += b;
			t->decoded_pagemap = true;
		} else if (sscanf(line, "stats %llu %llu", &a, &b) == 2) {
			t->stats_written = a;
			t->decoded_stats = true;
			expect(&t->failures, b >= a, "stats: %llu pages written of %llu scanned", a, b);
		} else if (sscanf(line, "pstree %d %d", &pid, &n) == 2) {
			t->decoded_pstree = true;
			expect(&t->failures, pid == t->child.pid && n == DUMP_CHILD_THREADS,
			       "pstree: pid %d, %d threads", pid, n);
		} else if (sscanf(line, "core %127s %31s %7s %7s %d %d", name, mtype, tc, xs, &n, &nsig) == 6) {
			t->nr_cores++;
			expect(&t->failures, !strcmp(mtype, "X86_64"), "%s: mtype %s", name, mtype);
			expect(&t->failures, !strcmp(xs, "True"), "%s: no xsave state", name);
			expect(&t->failures, n == 3, "%s: %d TLS slots", name, n);
			if (!strcmp(tc, "True"))
				t->shared_signals = nsig;
		} else if (!strncmp(line, "fpu ", 4)) {
			if (!strncmp(line + 4, t->fpu_hex, strlen(t->fpu_hex)))
				t->fpu_found++;
		} else if (sscanf(line, "mm %llu %llu", &a, &b) == 2) {
			t->decoded_mm = true;
			expect(&t->failures, a > 5 && b > 0, "mm: %llu VMAs, exe file id %llu", a, b);
		}
	}
}

static void check_images_exist(struct dump_test *t, const pid_t *tids, size_t nr)
{
	const char *fixed[] = { "inventory.img", "pstree.img", "files.img", "stats-dump", "pages-1.img" };
	const char *per_pid[] = { "mm-%d.img", "pagemap-%d.img", "fs-%d.img", "ids-%d.img" };
	char path[PATH_MAX], name[64];

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", t->dir, fixed[i]);
		expect(&t->failures, !access(path, R_OK), "%s is missing", fixed[i]);
	}
	for (size_t i = 0; i < sizeof(per_pid) / sizeof(per_pid[0]); i++) {
		snprintf(name, sizeof(name), per_pid[i], t->child.pid);
		snprintf(path, sizeof(path), "%s/%s", t->dir, name);
		expect(&t->failures, !access(path, R_OK), "%s is missing", name);
	}
	for (size_t i = 0; i < nr; i++) {
		snprintf(path, sizeof(path), "%s/core-%d.img", t->dir, tids[i]);
		expect(&t->failures, !access(path, R_OK), "core-%d.img is missing", tids[i]);
	}
}

static void decode_images(struct dump_test *t)
{
	char script[PATH_MAX];
	struct run_result r;
	char *argv[] = { PYTHON, script, t->dir, NULL };
	unsigned char pattern[64];

	dump_fpu_pattern(pattern);
	for (int i = 0; i < dump_fpu_width(); i++)
		snprintf(t->fpu_hex + 2 * i, 3, "%02x", pattern[i]);

	snprintf(script, sizeof(script), "%s/decode.py", t->tmp);
	if (test_write_file(script, decode_py, strlen(decode_py)) || test_run(&r, t->tmp, NULL, argv, NULL)) {
		expect(&t->failures, 0, "can't run the decoder");
		return;
	}
	expect(&t->failures, r.exit_code == 0, "decoder exit %d: %s", r.exit_code, r.err);
	parse_facts(t, r.out);
	test_run_free(&r);
	expect(&t->failures, t->decoded_pagemap && t->decoded_stats && t->decoded_pstree && t->decoded_mm,
	       "not every image decoded (pagemap %d stats %d pstree %d mm %d)", t->decoded_pagemap, t->decoded_stats,
	       t->decoded_pstree, t->decoded_mm);
	expect(&t->failures, t->nr_cores == DUMP_CHILD_THREADS, "%u core images decoded", t->nr_cores);
	expect(&t->failures, t->shared_signals == 1, "%d shared signals pending in the image, not 1",
	       t->shared_signals);
	expect(&t->failures, t->fpu_found == 1, "%d threads hold the %d-byte vector pattern %s in the images, not 1",
	       t->fpu_found, dump_fpu_width(), t->fpu_hex);
}

static const struct pm_run *find_run(const struct dump_test *t, uint64_t vaddr)
{
	for (size_t i = 0; i < t->nr_runs; i++)
		if (vaddr >= t->runs[i].vaddr && vaddr < t->runs[i].vaddr + t->runs[i].nr * t->child.page_size)
			return &t->runs[i];
	return NULL;
}

/* Page counts agree, and every page of the region is where the pagemap says, or absent if untouched. */
static void check_pages(struct dump_test *t)
{
	size_t ps = t->child.page_size;
	unsigned char *expect_page = malloc(ps), *got = malloc(ps);
	uint64_t total = 0;
	char path[PATH_MAX];
	struct stat st;
	int fd;

	for (size_t i = 0; i < t->nr_runs; i++)
		total += t->runs[i].nr;
	snprintf(path, sizeof(path), "%s/pages-1.img", t->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !expect_page || !got) {
		expect(&t->failures, 0, "can't read %s", path);
		goto out_free;
	}
	expect(&t->failures, (uint64_t)st.st_size == total * ps, "pages-1.img has %lld bytes, the pagemap %llu pages",
	       (long long)st.st_size, (unsigned long long)total);
	expect(&t->failures, t->stats_written == total, "stats-dump says %llu pages written, the pagemap %llu",
	       (unsigned long long)t->stats_written, (unsigned long long)total);
	for (size_t i = 0; i < DUMP_REGION_PAGES; i++) {
		uint64_t vaddr = t->child.region + i * ps;
		const struct pm_run *run = find_run(t, vaddr);

		if (!dump_page_touched(i)) {
			expect(&t->failures, !run, "untouched page %zu (%#llx) was dumped", i,
			       (unsigned long long)vaddr);
			continue;
		}
		if (!run) {
			expect(&t->failures, 0, "touched page %zu (%#llx) is not in the pagemap", i,
			       (unsigned long long)vaddr);
			continue;
		}
		dump_fill_page(expect_page, ps, i);
		if (pread(fd, got, ps, (off_t)((run->offset + (vaddr - run->vaddr) / ps) * ps)) != (ssize_t)ps)
			expect(&t->failures, 0, "page %zu: short read from pages-1.img", i);
		else
			expect(&t->failures, !memcmp(got, expect_page, ps), "page %zu: wrong contents in pages-1.img",
			       i);
	}
out_free:
	if (fd >= 0)
		close(fd);
	free(expect_page);
	free(got);
}

/* The ShdPnd mask of /proc/PID/status. */
static unsigned long long shared_pending(pid_t pid)
{
	char path[64], *status, *p;
	unsigned long long mask = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	status = test_read_file(path);
	p = status ? strstr(status, "ShdPnd:") : NULL;
	if (p)
		mask = strtoull(p + 7, NULL, 16);
	free(status);
	return mask;
}

static void run(struct dump_test *t)
{
	pid_t tids[DUMP_CHILD_THREADS + 1];
	struct run_result r;
	char log[PATH_MAX];
	size_t nr;
	int ret;

	expect(&t->failures, dump_child_running(&t->child, tids, &nr), "child not ready");
	expect(&t->failures, !kill(t->child.pid, SIGUSR2), "can't queue SIGUSR2");
	ret = dump_run_criu(&r, t->tmp, t->child.pid, t->dir, "dump.log", "--leave-running");
	if (ret) {
		expect(&t->failures, 0, "can't run criu: %s", strerror(-ret));
		return;
	}
	snprintf(log, sizeof(log), "%s/dump.log", t->dir);
	expect(&t->failures, r.exit_code == 0, "criu dump exit %d: %s", r.exit_code, r.err);
	test_run_free(&r);
	if (t->failures) {
		char *text = test_read_file(log);

		fprintf(stderr, "dump.log:\n%s\n", text ?: "(none)");
		free(text);
		return;
	}
	check_images_exist(t, tids, nr);
	decode_images(t);
	check_pages(t);
	expect(&t->failures, dump_child_running(&t->child, tids, &nr), "child not running after the dump");
	expect(&t->failures, dump_child_check_memory(&t->child) == 0, "child's memory changed by the dump");
	expect(&t->failures, shared_pending(t->child.pid) == 1ull << (SIGUSR2 - 1),
	       "SIGUSR2 isn't pending any more after the dump");
}

int main(void)
{
	static struct dump_test t;
	int ret;

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(t.tmp, sizeof(t.tmp), "dump-lr")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	snprintf(t.dir, sizeof(t.dir), "%s/images", t.tmp);
	if (mkdir(t.dir, 0700)) {
		perror("mkdir");
		return TEST_FAIL;
	}
	ret = dump_child_start(&t.child, false);
	if (ret) {
		fprintf(stderr, "FAIL: can't start the child: %s\n", strerror(-ret));
		dump_child_stop(&t.child);
		return TEST_FAIL;
	}
	run(&t);
	dump_child_stop(&t.child);
	if (!t.failures)
		test_rm_rf(t.tmp);
	else
		fprintf(stderr, "images kept in %s\n", t.dir);
	fprintf(stderr, "dump-leave-running: %s\n", t.failures ? "FAILED" : "all passed");
	return t.failures ? TEST_FAIL : TEST_PASS;
}
