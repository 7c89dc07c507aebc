/*
 * How criu dump records different kinds of memory, checked through crit:
 * a private file mapping dumps only its dirtied (copied-on-write) pages, not the
 * ones merely read; a shared file mapping dumps none (the file holds them); both
 * VMAs carry CRIU's status bits, flags, offset, the open mode of the file
 * (fdflags, O_RDWR for the file opened read-write, O_RDONLY for a read-only fd;
 * every file VMA has one) and the id of a files.img entry naming the file with
 * the same flags; madvise(MADV_DONTFORK) and MAP_GROWSDOWN show in the VMA.
 */
#include "dump-test.h"

#define FILE_PAGES 20
#define MAP_PAGES 8

/* Lines: "vma START END PGOFF STATUS FLAGS MADV SHMID FDFLAGS", "run VADDR NR", "file ID FLAGS NAME". */
static const char decode_py[] =
	"import json, os, subprocess, sys\n"
	"def dec(f):\n"
	"    out = subprocess.run([sys.executable, '" CRIT "', 'decode', '-i', f], capture_output=True, text=True,\n"
	"                         check=True)\n"
	"    return json.loads(out.stdout)['entries']\n"
	"d, pid = sys.argv[1], sys.argv[2]\n"
	"for v in dec(os.path.join(d, 'mm-%s.img' % pid))[0]['vmas']:\n"
	"    print('vma', v['start'], v['end'], v['pgoff'], v['status'], v['flags'], v.get('madv', 0), v['shmid'],\n"
	"          v.get('fdflags', -1))\n"
	"for e in dec(os.path.join(d, 'pagemap-%s.img' % pid))[1:]:\n"
	"    print('run', e['vaddr'], e['nr_pages'])\n"
	"for e in dec(os.path.join(d, 'files.img')):\n"
	"    print('file', e['id'], e['reg']['flags'], e['reg']['name'])\n";

struct maps {
	uint64_t priv, shr, dontfork, growsdown, rdonly;
};

struct vma_fact {
	uint64_t start, end, pgoff, status, flags, madv, shmid;
	long long fdflags; /* -1 when absent */
};

struct vmas_test {
	char tmp[256], dir[512], file[512];
	size_t ps;
	int failures;
	pid_t pid;
	struct maps maps;
	struct vma_fact vmas[512];
	size_t nr_vmas;
	uint64_t runs[1024][3]; /* vaddr, pages, offset in pages-1.img (pages) */
	size_t nr_runs;
	char files[64][PATH_MAX];
	unsigned int file_flags[64];
};

static void __attribute__((noreturn)) child_main(const char *file, int ready_fd)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	struct maps m;
	char *priv, *shr, *dontfork, *gd, *ro;
	int fd, rofd;

	dump_child_quiet_stdio(ready_fd);
	fd = open(file, O_RDWR);
	rofd = open(file, O_RDONLY);
	if (fd < 0 || rofd < 0)
		_exit(2);
	ro = mmap(NULL, 2 * ps, PROT_READ, MAP_PRIVATE, rofd, 2 * MAP_PAGES * ps);
	if (ro == MAP_FAILED)
		_exit(2);
	close(rofd);
	priv = mmap(NULL, MAP_PAGES * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	shr = mmap(NULL, MAP_PAGES * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, MAP_PAGES * ps);
	dontfork = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gd = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	if (priv == MAP_FAILED || shr == MAP_FAILED || dontfork == MAP_FAILED || gd == MAP_FAILED ||
	    madvise(dontfork, 4 * ps, MADV_DONTFORK))
		_exit(2);
	for (int i = 0; i < MAP_PAGES; i++) {
		if (i % 2 == 0 && i < 6)
			memset(priv + i * ps, 'A' + i, ps); /* copied on write: private pages */
		else
			*(volatile char *)(priv + i * ps); /* read: page cache pages, not dumped */
	}
	memset(shr, 'S', 2 * ps);
	dontfork[0] = 1;
	gd[4 * ps - 1] = 1;
	m = (struct maps){ (uintptr_t)priv, (uintptr_t)shr, (uintptr_t)dontfork, (uintptr_t)gd, (uintptr_t)ro };
	if (write(ready_fd, &m, sizeof(m)) != sizeof(m))
		_exit(2);
	close(ready_fd);
	for (;;)
		pause();
}

static int start_child(struct vmas_test *t)
{
	char *buf = malloc(FILE_PAGES * t->ps);
	int ready[2];
	ssize_t n;

	if (!buf || pipe2(ready, O_CLOEXEC))
		return -errno;
	memset(buf, 'f', FILE_PAGES * t->ps);
	n = test_write_file(t->file, buf, FILE_PAGES * t->ps);
	free(buf);
	if (n)
		return (int)n;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0)
		child_main(t->file, ready[1]);
	close(ready[1]);
	n = read(ready[0], &t->maps, sizeof(t->maps));
	close(ready[0]);
	return n == sizeof(t->maps) ? 0 : -EIO;
}

static void parse(struct vmas_test *t, char *out)
{
	uint64_t offset = 0;

	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		struct vma_fact *v = &t->vmas[t->nr_vmas];
		unsigned long long a, b;
		char name[PATH_MAX];
		unsigned int id, flags;

		if (t->nr_vmas < 512 &&
		    sscanf(line, "vma %lu %lu %lu %lu %lu %lu %lu %lld", &v->start, &v->end, &v->pgoff, &v->status,
			   &v->flags, &v->madv, &v->shmid, &v->fdflags) == 8) {
			t->nr_vmas++;
		} else if (t->nr_runs < 1024 && sscanf(line, "run %llu %llu", &a, &b) == 2) {
			t->runs[t->nr_runs][0] = a;
			t->runs[t->nr_runs][1] = b;
			t->runs[t->nr_runs++][2] = offset;
			offset += b;
		} else if (sscanf(line, "file %u %u %4095s", &id, &flags, name) == 3 && id < 64) {
			snprintf(t->files[id], PATH_MAX, "%s", name);
			t->file_flags[id] = flags;
		}
	}
}

static const struct vma_fact *find_vma(const struct vmas_test *t, uint64_t addr)
{
	for (size_t i = 0; i < t->nr_vmas; i++)
		if (addr >= t->vmas[i].start && addr < t->vmas[i].end)
			return &t->vmas[i];
	return NULL;
}

/* Offset in pages-1.img of the page at @addr, or -1 when it wasn't dumped. */
static long long page_offset(const struct vmas_test *t, uint64_t addr)
{
	for (size_t i = 0; i < t->nr_runs; i++)
		if (addr >= t->runs[i][0] && addr < t->runs[i][0] + t->runs[i][1] * t->ps)
			return (long long)((t->runs[i][2] + (addr - t->runs[i][0]) / t->ps) * t->ps);
	return -1;
}

static void check_file_vma(struct vmas_test *t, const char *what, uint64_t addr, uint64_t status, uint64_t flags,
			   uint64_t pgoff, int fdflags)
{
	const struct vma_fact *v = find_vma(t, addr);

	if (!v) {
		expect(&t->failures, 0, "%s: no VMA at %#llx", what, (unsigned long long)addr);
		return;
	}
	expect(&t->failures, v->status == status, "%s: status %#llx, not %#llx", what, (unsigned long long)v->status,
	       (unsigned long long)status);
	expect(&t->failures, (v->flags & 0xf) == flags, "%s: flags %#llx", what, (unsigned long long)v->flags);
	expect(&t->failures, v->pgoff == pgoff, "%s: pgoff %llu, not %llu", what, (unsigned long long)v->pgoff,
	       (unsigned long long)pgoff);
	expect(&t->failures, v->shmid < 64 && !strcmp(t->files[v->shmid], t->file), "%s: file id %llu names '%s'", what,
	       (unsigned long long)v->shmid, v->shmid < 64 ? t->files[v->shmid] : "?");
	expect(&t->failures, v->fdflags == fdflags, "%s: fdflags %lld, not %d", what, v->fdflags, fdflags);
	expect(&t->failures, v->shmid < 64 && (t->file_flags[v->shmid] & O_ACCMODE) == (unsigned int)fdflags,
	       "%s: its file entry has flags %#x, not the VMA's %#x", what, v->shmid < 64 ? t->file_flags[v->shmid] : 0,
	       fdflags);
}

/* CRIU's restore needs fdflags on every file mapping (the libraries too). */
static void check_all_fdflags(struct vmas_test *t)
{
	for (size_t i = 0; i < t->nr_vmas; i++) {
		const struct vma_fact *v = &t->vmas[i];

		if (!(v->status & (1 << 6 | 1 << 7)))
			continue;
		expect(&t->failures, v->fdflags >= 0, "file VMA %#llx-%#llx has no fdflags",
		       (unsigned long long)v->start, (unsigned long long)v->end);
	}
}

static void check_pages(struct vmas_test *t)
{
	unsigned char *page = malloc(t->ps), *expect_page = malloc(t->ps);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/pages-1.img", t->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !page || !expect_page) {
		expect(&t->failures, 0, "can't read %s", path);
		goto out_free;
	}
	for (int i = 0; i < MAP_PAGES; i++) {
		long long off = page_offset(t, t->maps.priv + i * t->ps);
		bool dirty = i % 2 == 0 && i < 6;

		expect(&t->failures, dirty == (off >= 0), "private file page %d: %s", i,
		       dirty ? "dirty but not dumped" : "clean but dumped");
		if (!dirty || off < 0)
			continue;
		memset(expect_page, 'A' + i, t->ps);
		expect(&t->failures, pread(fd, page, t->ps, off) == (ssize_t)t->ps && !memcmp(page, expect_page, t->ps),
		       "private file page %d: wrong contents", i);
	}
	for (int i = 0; i < MAP_PAGES; i++)
		expect(&t->failures, page_offset(t, t->maps.shr + i * t->ps) < 0, "shared file page %d was dumped", i);
out_free:
	if (fd >= 0)
		close(fd);
	free(page);
	free(expect_page);
}

static void run(struct vmas_test *t)
{
	char script[PATH_MAX], pidstr[32];
	char *argv[] = { PYTHON, script, t->dir, pidstr, NULL };
	const struct vma_fact *v;
	struct run_result r;
	int ret;

	ret = dump_run_criu(&r, t->tmp, t->pid, t->dir, "dump.log", "--leave-running");
	expect(&t->failures, !ret && r.exit_code == 0, "criu dump failed (%d, exit %d)", ret, r.exit_code);
	if (ret)
		return;
	test_run_free(&r);
	snprintf(script, sizeof(script), "%s/decode.py", t->tmp);
	snprintf(pidstr, sizeof(pidstr), "%d", t->pid);
	if (test_write_file(script, decode_py, strlen(decode_py)) || test_run(&r, t->tmp, NULL, argv, NULL)) {
		expect(&t->failures, 0, "can't run the decoder");
		return;
	}
	expect(&t->failures, r.exit_code == 0, "decoder exit %d: %s", r.exit_code, r.err);
	parse(t, r.out);
	test_run_free(&r);

	/* CRIU's bits: REGULAR 1, FILE_PRIVATE 1 << 6, FILE_SHARED 1 << 7; MAP_SHARED 1, MAP_PRIVATE 2. */
	check_file_vma(t, "private file mapping", t->maps.priv, 1 | 1 << 6, MAP_PRIVATE, 0, O_RDWR);
	check_file_vma(t, "shared file mapping", t->maps.shr, 1 | 1 << 7, MAP_SHARED, MAP_PAGES * t->ps, O_RDWR);
	check_file_vma(t, "read-only file mapping", t->maps.rdonly, 1 | 1 << 6, MAP_PRIVATE, 2 * MAP_PAGES * t->ps,
		       O_RDONLY);
	check_all_fdflags(t);
	v = find_vma(t, t->maps.dontfork);
	expect(&t->failures, v && (v->madv & (1ull << MADV_DONTFORK)), "MADV_DONTFORK not recorded");
	v = find_vma(t, t->maps.growsdown + 4 * t->ps - 1);
	expect(&t->failures, v && (v->flags & MAP_GROWSDOWN), "MAP_GROWSDOWN not recorded");
	check_pages(t);
	expect(&t->failures, dump_thread_state(t->pid, t->pid) == 'S', "the child doesn't run on");
}

int main(void)
{
	static struct vmas_test t;

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	t.ps = (size_t)sysconf(_SC_PAGESIZE);
	if (test_mkdtemp(t.tmp, sizeof(t.tmp), "dump-vmas")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	snprintf(t.dir, sizeof(t.dir), "%s/images", t.tmp);
	snprintf(t.file, sizeof(t.file), "%s/mapped", t.tmp);
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
	fprintf(stderr, "dump-vmas: %s\n", t.failures ? "FAILED" : "all passed");
	return t.failures ? TEST_FAIL : TEST_PASS;
}
