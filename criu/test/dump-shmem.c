/*
 * How criu dump records shared anonymous memory, checked through crit: a
 * MAP_SHARED | MAP_ANONYMOUS mapping split in two VMAs by mprotect() and a
 * second one named with PR_SET_VMA_ANON_NAME each show as VMA_ANON_SHARED with
 * their shmem inode as shmid and the right pgoff; each object is dumped once,
 * into pagemap-shmem-SHMID.img and a pages-ID.img of its own, holding exactly
 * the pages the object has (a page zapped from the page tables with
 * MADV_DONTNEED included, untouched ones left out) at their offsets, with the
 * right contents; none of them lands in the process's own pagemap; stats-dump
 * counts them as shpages, and the pages images hold what stats-dump says.
 */
#include <sys/uio.h>

#include "dump-test.h"

#define A_PAGES 8
#define B_PAGES 4
#define NAME "dump-shmem"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

/* Pages of A and B the child writes to; A's page 2 is then zapped with MADV_DONTNEED. */
static const int a_written[] = { 0, 1, 2, 5 };
static const int b_written[] = { 1, 3 };

/*
 * Lines: "vma START END PGOFF STATUS FLAGS SHMID", "run VADDR NR", "shm SHMID PAGES_ID",
 * "srun SHMID VADDR NR", "stats PAGES_WRITTEN SHPAGES_SCANNED SHPAGES_WRITTEN".
 */
static const char decode_py[] =
	"import glob, json, os, subprocess, sys\n"
	"def dec(f):\n"
	"    out = subprocess.run([sys.executable, '" CRIT "', 'decode', '-i', f], capture_output=True, text=True,\n"
	"                         check=True)\n"
	"    return json.loads(out.stdout)['entries']\n"
	"d, pid = sys.argv[1], sys.argv[2]\n"
	"for v in dec(os.path.join(d, 'mm-%s.img' % pid))[0]['vmas']:\n"
	"    print('vma', v['start'], v['end'], v['pgoff'], v['status'], v['flags'], v['shmid'])\n"
	"for e in dec(os.path.join(d, 'pagemap-%s.img' % pid))[1:]:\n"
	"    print('run', e['vaddr'], e['nr_pages'])\n"
	"for f in sorted(glob.glob(os.path.join(d, 'pagemap-shmem-*.img'))):\n"
	"    shmid = os.path.basename(f)[len('pagemap-shmem-'):-len('.img')]\n"
	"    ents = dec(f)\n"
	"    print('shm', shmid, ents[0]['pages_id'])\n"
	"    for e in ents[1:]:\n"
	"        print('srun', shmid, e['vaddr'], e['nr_pages'])\n"
	"s = dec(os.path.join(d, 'stats-dump'))[0]['dump']\n"
	"print('stats', s['pages_written'], s.get('shpages_scanned', 0), s.get('shpages_written', 0))\n";

struct maps {
	uint64_t a, b;
	int b_named;
};

struct shm_fact {
	uint64_t shmid, pages_id;
	uint64_t runs[64][3]; /* offset in the object, pages, offset in pages-ID.img (pages) */
	size_t nr_runs;
};

struct shmem_test {
	char tmp[256], dir[512];
	size_t ps;
	int failures;
	pid_t pid;
	struct maps maps;
	uint64_t ino_a, ino_b;
	uint64_t vmas[512][6]; /* start, end, pgoff, status, flags, shmid */
	size_t nr_vmas;
	uint64_t runs[1024][2];
	size_t nr_runs;
	struct shm_fact shms[8];
	size_t nr_shms;
	uint64_t pages_written, shpages_scanned, shpages_written;
};

static void fill_page(unsigned char *page, size_t ps, char obj, int idx)
{
	memset(page, (obj * 31 + idx * 7) & 0xff, ps);
	snprintf((char *)page, 32, "shmem %c page %d", obj, idx);
}

static void __attribute__((noreturn)) child_main(int ready_fd)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *a, *b;
	struct maps m;

	dump_child_quiet_stdio(ready_fd);
	a = mmap(NULL, A_PAGES * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, B_PAGES * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < sizeof(a_written) / sizeof(a_written[0]); i++)
		fill_page(a + a_written[i] * ps, ps, 'A', a_written[i]);
	for (size_t i = 0; i < sizeof(b_written) / sizeof(b_written[0]); i++)
		fill_page(b + b_written[i] * ps, ps, 'B', b_written[i]);
	/* Out of the page tables, still in the object. */
	if (madvise(a + 2 * ps, ps, MADV_DONTNEED) || mprotect(a + 5 * ps, (A_PAGES - 5) * ps, PROT_READ))
		_exit(2);
	m = (struct maps){ (uintptr_t)a, (uintptr_t)b, 0 };
	m.b_named = !prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, b, B_PAGES * ps, "crit-shm");
	if (write(ready_fd, &m, sizeof(m)) != sizeof(m))
		_exit(2);
	close(ready_fd);
	for (;;)
		pause();
}

/* The inode of the child's mapping starting at @addr, from its maps; 0 if none. */
static uint64_t mapping_inode(pid_t pid, uint64_t addr)
{
	char path[64], *maps, *line;
	uint64_t ino = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = test_read_file(path);
	for (line = maps ? strtok(maps, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		unsigned long long start, inode;

		if (sscanf(line, "%llx-%*x %*s %*x %*x:%*x %llu", &start, &inode) == 2 && start == addr) {
			ino = inode;
			break;
		}
	}
	free(maps);
	return ino;
}

static int start_child(struct shmem_test *t)
{
	int ready[2];
	ssize_t n;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0)
		child_main(ready[1]);
	close(ready[1]);
	n = read(ready[0], &t->maps, sizeof(t->maps));
	close(ready[0]);
	if (n != sizeof(t->maps))
		return -EIO;
	t->ino_a = mapping_inode(t->pid, t->maps.a);
	t->ino_b = mapping_inode(t->pid, t->maps.b);
	return t->ino_a && t->ino_b ? 0 : -ENOENT;
}

static struct shm_fact *find_shm(struct shmem_test *t, uint64_t shmid)
{
	for (size_t i = 0; i < t->nr_shms; i++)
		if (t->shms[i].shmid == shmid)
			return &t->shms[i];
	return NULL;
}

static void parse_line(struct shmem_test *t, const char *line)
{
	unsigned long long v[6];
	struct shm_fact *s;

	if (t->nr_vmas < 512 &&
	    sscanf(line, "vma %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6) {
		for (int i = 0; i < 6; i++)
			t->vmas[t->nr_vmas][i] = v[i];
		t->nr_vmas++;
	} else if (t->nr_runs < 1024 && sscanf(line, "run %llu %llu", &v[0], &v[1]) == 2) {
		t->runs[t->nr_runs][0] = v[0];
		t->runs[t->nr_runs++][1] = v[1];
	} else if (t->nr_shms < 8 && sscanf(line, "shm %llu %llu", &v[0], &v[1]) == 2) {
		t->shms[t->nr_shms].shmid = v[0];
		t->shms[t->nr_shms++].pages_id = v[1];
	} else if (sscanf(line, "srun %llu %llu %llu", &v[0], &v[1], &v[2]) == 3) {
		s = find_shm(t, v[0]);
		if (s && s->nr_runs < 64) {
			uint64_t before = s->nr_runs ? s->runs[s->nr_runs - 1][2] + s->runs[s->nr_runs - 1][1] : 0;

			s->runs[s->nr_runs][0] = v[1];
			s->runs[s->nr_runs][1] = v[2];
			s->runs[s->nr_runs++][2] = before;
		}
	} else if (sscanf(line, "stats %llu %llu %llu", &v[0], &v[1], &v[2]) == 3) {
		t->pages_written = v[0];
		t->shpages_scanned = v[1];
		t->shpages_written = v[2];
	}
}

static void check_vma(struct shmem_test *t, const char *what, uint64_t start, uint64_t end, uint64_t pgoff,
		      uint64_t shmid)
{
	for (size_t i = 0; i < t->nr_vmas; i++) {
		uint64_t *v = t->vmas[i];

		if (v[0] != start)
			continue;
		expect(&t->failures, v[1] == end, "%s: ends at %#llx", what, (unsigned long long)v[1]);
		expect(&t->failures, v[2] == pgoff, "%s: pgoff %llu, not %llu", what, (unsigned long long)v[2],
		       (unsigned long long)pgoff);
		/* CRIU's bits: VMA_AREA_REGULAR 1, VMA_ANON_SHARED 1 << 8. */
		expect(&t->failures, v[3] == (1 | 1 << 8), "%s: status %#llx", what, (unsigned long long)v[3]);
		expect(&t->failures, (v[4] & 0xff) == (MAP_SHARED | MAP_ANONYMOUS), "%s: flags %#llx", what,
		       (unsigned long long)v[4]);
		expect(&t->failures, v[5] == shmid, "%s: shmid %llu, not %llu", what, (unsigned long long)v[5],
		       (unsigned long long)shmid);
		return;
	}
	expect(&t->failures, 0, "%s: no VMA at %#llx", what, (unsigned long long)start);
}

/* Offset in its pages image of page @idx of object @s, or -1 when it wasn't dumped. */
static long long shm_page_offset(const struct shmem_test *t, const struct shm_fact *s, int idx)
{
	uint64_t off = (uint64_t)idx * t->ps;

	for (size_t i = 0; i < s->nr_runs; i++)
		if (off >= s->runs[i][0] && off < s->runs[i][0] + s->runs[i][1] * t->ps)
			return (long long)((s->runs[i][2] + (off - s->runs[i][0]) / t->ps) * t->ps);
	return -1;
}

static bool written(const int *pages, size_t nr, int idx)
{
	for (size_t i = 0; i < nr; i++)
		if (pages[i] == idx)
			return true;
	return false;
}

static void check_object(struct shmem_test *t, char obj, uint64_t shmid, int nr_pages, const int *pages, size_t nr)
{
	struct shm_fact *s = find_shm(t, shmid);
	unsigned char *page = malloc(t->ps), *want = malloc(t->ps);
	char path[PATH_MAX];
	int fd = -1;

	if (!s || !page || !want) {
		expect(&t->failures, 0, "object %c (shmid %llu): no pagemap-shmem image", obj,
		       (unsigned long long)shmid);
		goto out_free;
	}
	expect(&t->failures, s->pages_id > 1, "object %c: pages id %llu", obj, (unsigned long long)s->pages_id);
	snprintf(path, sizeof(path), "%s/pages-%llu.img", t->dir, (unsigned long long)s->pages_id);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	expect(&t->failures, fd >= 0, "can't open %s", path);
	for (int i = 0; fd >= 0 && i < nr_pages; i++) {
		long long off = shm_page_offset(t, s, i);
		bool w = written(pages, nr, i);

		expect(&t->failures, w == (off >= 0), "object %c page %d: %s", obj, i,
		       w ? "written but not dumped" : "untouched but dumped");
		if (!w || off < 0)
			continue;
		fill_page(want, t->ps, obj, i);
		expect(&t->failures, pread(fd, page, t->ps, off) == (ssize_t)t->ps && !memcmp(page, want, t->ps),
		       "object %c page %d: wrong contents at %lld in %s", obj, i, off, path);
	}
out_free:
	if (fd >= 0)
		close(fd);
	free(page);
	free(want);
}

/* The pages images hold what stats-dump says; no shared page lands in the process's pagemap. */
static void check_counts(struct shmem_test *t)
{
	uint64_t total = 0;
	struct stat st;
	char path[PATH_MAX];

	for (size_t i = 0; i < t->nr_runs; i++) {
		uint64_t s = t->runs[i][0], e = s + t->runs[i][1] * t->ps;

		expect(&t->failures, e <= t->maps.a || s >= t->maps.a + A_PAGES * t->ps, "object A in pagemap-PID");
		expect(&t->failures, e <= t->maps.b || s >= t->maps.b + B_PAGES * t->ps, "object B in pagemap-PID");
	}
	expect(&t->failures, t->shpages_written == 6, "stats-dump: %llu shpages written, not 6",
	       (unsigned long long)t->shpages_written);
	expect(&t->failures, t->shpages_scanned == A_PAGES + B_PAGES, "stats-dump: %llu shpages scanned",
	       (unsigned long long)t->shpages_scanned);
	for (uint64_t id = 1; id < 16; id++) {
		snprintf(path, sizeof(path), "%s/pages-%llu.img", t->dir, (unsigned long long)id);
		if (!stat(path, &st))
			total += (uint64_t)st.st_size;
	}
	expect(&t->failures, total == (t->pages_written + t->shpages_written) * t->ps,
	       "pages images hold %llu bytes, stats-dump says %llu + %llu pages", (unsigned long long)total,
	       (unsigned long long)t->pages_written, (unsigned long long)t->shpages_written);
}

/* The child runs on with its shared memory as it was. */
static void check_child(struct shmem_test *t)
{
	unsigned char *page = malloc(t->ps), *want = malloc(t->ps);

	expect(&t->failures, dump_thread_state(t->pid, t->pid) == 'S', "the child doesn't run on");
	for (size_t i = 0; page && want && i < sizeof(a_written) / sizeof(a_written[0]); i++) {
		struct iovec local = { page, t->ps };
		struct iovec remote = { (void *)(uintptr_t)(t->maps.a + a_written[i] * t->ps), t->ps };

		fill_page(want, t->ps, 'A', a_written[i]);
		expect(&t->failures,
		       process_vm_readv(t->pid, &local, 1, &remote, 1, 0) == (ssize_t)t->ps &&
			       !memcmp(page, want, t->ps),
		       "the child's page %d of A changed", a_written[i]);
	}
	free(page);
	free(want);
}

static void run(struct shmem_test *t)
{
	char script[PATH_MAX], pidstr[32];
	char *argv[] = { PYTHON, script, t->dir, pidstr, NULL };
	struct run_result r;
	int ret;

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

	check_vma(t, "object A, read-write part", t->maps.a, t->maps.a + 5 * t->ps, 0, t->ino_a);
	check_vma(t, "object A, read-only part", t->maps.a + 5 * t->ps, t->maps.a + A_PAGES * t->ps, 5 * t->ps,
		  t->ino_a);
	check_vma(t, t->maps.b_named ? "object B (named)" : "object B", t->maps.b, t->maps.b + B_PAGES * t->ps, 0,
		  t->ino_b);
	expect(&t->failures, t->nr_shms == 2, "%zu pagemap-shmem images, not 2", t->nr_shms);
	expect(&t->failures, t->nr_shms < 2 || t->shms[0].pages_id != t->shms[1].pages_id, "objects share a pages id");
	check_object(t, 'A', t->ino_a, A_PAGES, a_written, sizeof(a_written) / sizeof(a_written[0]));
	check_object(t, 'B', t->ino_b, B_PAGES, b_written, sizeof(b_written) / sizeof(b_written[0]));
	check_counts(t);
	check_child(t);
}

int main(void)
{
	static struct shmem_test t;

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	t.ps = (size_t)sysconf(_SC_PAGESIZE);
	if (test_mkdtemp(t.tmp, sizeof(t.tmp), NAME)) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	snprintf(t.dir, sizeof(t.dir), "%s/images", t.tmp);
	if (mkdir(t.dir, 0700) || start_child(&t)) {
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
	fprintf(stderr, NAME ": %s (object B %snamed)\n", t.failures ? "FAILED" : "all passed",
		t.maps.b_named ? "" : "not ");
	return t.failures ? TEST_FAIL : TEST_PASS;
}
