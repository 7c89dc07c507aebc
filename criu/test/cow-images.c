/*
 * A child's pages that are its parent's are written once (Documentation/image-compat.md,
 * "Copy-on-write pages"). A parent P fills a 4 MiB area and a 128 KiB buffer on its stack,
 * and forks C, which changes every 64th page of the area (16) and forks G, which changes
 * one page more; neither writes the stack buffer. The tree is dumped twice: with
 * --cow-images criu --leave-running (every process's pagemap lists all its 1024 pages of
 * the area and the buffer's, none left to the parent), then by default: C's pagemap
 * writes exactly the 16 pages it changed and leaves the other 1008 and the whole stack
 * buffer to P (cow_parent runs), G's the one it changed, 1023 and the buffer to C, P's
 * all; the pages images hold at least that much less (image-criu4-rules checks what
 * CRIU's restore makes of both). Both dumps restore: each process has its contents back
 * (read through /proc/PID/mem), C shares 1008 frames of the area with P, G 1023 with C
 * (/proc/PID/pagemap), every page of the stack buffer is one frame in all three, and
 * their stacks still grow down. Broken copies are refused, naming pagemap-C.img, with
 * no process made: P's area marked MADV_DONTFORK (C can no longer inherit it), and C's
 * runs without criu-ng's field (PE_PARENT alone: a pre-dump chain). crit decodes the
 * field, and its rss view marks those runs.
 * Needs root (PFNs). Exit 0 pass, 1 fail, 77 skip.
 * timeout: 180
 */
#include <dirent.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "image-edit.h"
#include "image.h"
#include "mem.h"
#include "restore-test.h"

#include "mm.pb-c.h"
#include "pagemap.pb-c.h"

#define PAGE 4096ul
#define AREA_PAGES 1024ul
#define C_EVERY 64ul /* C changes the pages whose index is a multiple */
#define G_PAGE 5ul
#define STACK_PAGES 32ul /* a buffer on P's stack, which C and G never write */
#define STACK_SALT 5000u

enum who {
	P,
	C,
	G,
	NR_WHO
};
static const char *const names[] = { "P", "C", "G" };

struct ready {
	int who;
	pid_t pid;
	uint64_t area;
	uint64_t stack; /* the stack buffer */
};

struct tree {
	pid_t pid[NR_WHO];
	uint64_t area;
	uint64_t stack;
};

/* Who wrote page @i of @w's area last. */
static unsigned int page_salt(enum who w, size_t i)
{
	if (w == G && i == G_PAGE)
		return 3000;
	if (w != P && i % C_EVERY == 0)
		return 2000 + (unsigned int)i;
	return 1000 + (unsigned int)i;
}

static void fill(uint8_t *a, enum who w, bool all)
{
	for (size_t i = 0; i < AREA_PAGES; i++)
		if (all || page_salt(w, i) != page_salt(w == G ? C : P, i))
			rchild_fill(a + i * PAGE, PAGE, page_salt(w, i));
}

static void __attribute__((noreturn)) report_and_wait(int wfd, enum who w, uint8_t *a, uint8_t *stack)
{
	struct ready r = {
		.who = w, .pid = getpid(), .area = (uint64_t)(uintptr_t)a, .stack = (uint64_t)(uintptr_t)stack
	};

	if (write(wfd, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	close(wfd);
	for (;;)
		pause();
}

/*
 * Touches 64 KiB of stack below the caller's frame: the stack VMA reaches below every frame the
 * processes make later, so that P, C and G have it with the same bounds.
 */
static void __attribute__((noinline)) grow_stack(void)
{
	volatile uint8_t below[64 * 1024];

	for (size_t i = 0; i < sizeof(below); i += PAGE)
		below[i] = 1;
}

/*
 * P: the area and a buffer on its stack, then C (which forks G); each reports on @wfd and
 * waits to be dumped.
 */
static void __attribute__((noreturn)) tree_main(int wfd)
{
	uint8_t stack[STACK_PAGES * PAGE] __attribute__((aligned(4096)));
	int null = open("/dev/null", O_RDWR);
	uint8_t *a;
	pid_t pid;

	if (null < 0 || setsid() < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || dup2(wfd, 3) < 0)
		_exit(2);
	wfd = 3;
	if (syscall(SYS_close_range, 4u, ~0u, 0))
		_exit(2);
	a = mmap(NULL, AREA_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		_exit(2);
	fill(a, P, true);
	for (size_t i = 0; i < STACK_PAGES; i++)
		rchild_fill(stack + i * PAGE, PAGE, STACK_SALT + (unsigned int)i);
	grow_stack();
	pid = fork();
	if (pid == 0) {
		fill(a, C, false);
		pid = fork();
		if (pid == 0) {
			fill(a, G, false);
			report_and_wait(wfd, G, a, stack);
		}
		if (pid < 0)
			_exit(2);
		report_and_wait(wfd, C, a, stack);
	}
	if (pid < 0)
		_exit(2);
	report_and_wait(wfd, P, a, stack);
}

static int start_tree(struct tree *t)
{
	int p[2];
	struct ready r;
	size_t got = 0;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	t->pid[P] = fork();
	if (t->pid[P] < 0)
		return -errno;
	if (t->pid[P] == 0) {
		close(p[0]);
		tree_main(p[1]);
	}
	close(p[1]);
	while (got < NR_WHO && read(p[0], &r, sizeof(r)) == sizeof(r) && r.who >= 0 && r.who < NR_WHO) {
		t->pid[r.who] = r.pid;
		t->area = r.area;
		t->stack = r.stack;
		got++;
	}
	close(p[0]);
	return got == NR_WHO ? 0 : -EIO;
}

static void kill_tree(const struct tree *t)
{
	for (int w = NR_WHO - 1; w >= 0; w--)
		if (t->pid[w] > 0)
			kill(t->pid[w], SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

/*
 * Pages of @pid's pagemap image in @dir inside the area: own (in the pages image) and left to the
 * parent; and those of the stack buffer left to the parent.
 */
static int count_pages(const char *dir, pid_t pid, const struct tree *t, uint64_t *own, uint64_t *parent,
		       uint64_t *bad_own, uint64_t *stack_parent)
{
	uint64_t end = t->area + AREA_PAGES * PAGE;
	enum who w = pid == t->pid[P] ? P : pid == t->pid[C] ? C : G;
	PagemapHead *head = NULL;
	struct cr_img *img;
	int dirfd, ret;
	void *msg;

	*own = *parent = *bad_own = *stack_parent = 0;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_PAGEMAP, (unsigned int)pid);
	if (!ret) {
		ret = img_read_entry_as(img, &pagemap_head__descriptor, (void **)&head);
		while (!ret && !(ret = img_read_entry(img, &msg)) && msg) {
			PagemapEntry *pe = msg;
			uint64_t nr = pe->has_nr_pages ? pe->nr_pages : pe->compat_nr_pages;

			for (uint64_t i = 0; i < nr; i++) {
				uint64_t addr = pe->vaddr + i * PAGE;
				size_t idx = (size_t)((addr - t->area) / PAGE);

				if (addr >= t->stack && addr < t->stack + STACK_PAGES * PAGE &&
				    pagemap_entry_cow_parent(pe))
					(*stack_parent)++;
				if (addr < t->area || addr >= end)
					continue;
				if (pagemap_entry_cow_parent(pe)) {
					(*parent)++;
					continue;
				}
				(*own)++;
				/* A page the process did not change itself, written again. */
				if (w != P && page_salt(w, idx) == page_salt(w == G ? C : P, idx))
					(*bad_own)++;
			}
			img_free_entry(msg);
		}
		img_close(img);
	}
	img_free_entry(head);
	close(dirfd);
	return ret;
}

/* The bytes of every pages-ID.img in @dir. */
static long long pages_bytes(const char *dir)
{
	long long total = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (strncmp(de->d_name, "pages-", 6) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (!stat(path, &st))
			total += st.st_size;
	}
	if (d)
		closedir(d);
	return total;
}

static void check_images(int *failures, const char *dir, const struct tree *t, bool dedup)
{
	for (int w = 0; w < NR_WHO; w++) {
		uint64_t own, parent, bad, stack, want_own = AREA_PAGES;

		if (count_pages(dir, t->pid[w], t, &own, &parent, &bad, &stack)) {
			expect(failures, false, "%s: can't read pagemap-%d.img", dir, t->pid[w]);
			continue;
		}
		if (dedup && w == C)
			want_own = AREA_PAGES / C_EVERY;
		else if (dedup && w == G)
			want_own = 1;
		printf("%s: %s writes %llu pages of the area, leaves %llu to its parent (and %llu of the stack buffer)\n",
		       dir, names[w], (unsigned long long)own, (unsigned long long)parent, (unsigned long long)stack);
		expect(failures, stack == (dedup && w != P ? STACK_PAGES : 0),
		       "%s: %s leaves %llu pages of the stack buffer to its parent", dir, names[w],
		       (unsigned long long)stack);
		expect(failures, own == want_own && parent == AREA_PAGES - want_own && !(dedup && bad),
		       "%s: pagemap of %s: %llu own pages (%llu it did not change), %llu left to the parent; %llu and "
		       "%llu expected",
		       dir, names[w], (unsigned long long)own, (unsigned long long)bad, (unsigned long long)parent,
		       (unsigned long long)want_own, (unsigned long long)(AREA_PAGES - want_own));
	}
}

/* Reads @len bytes at @addr of @pid into @buf and their page frames (0: not present) into @pfn. */
static bool read_pages(pid_t pid, uint64_t addr, size_t len, uint8_t *buf, uint64_t *pfn)
{
	char path[64];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ok = fd >= 0 && pread(fd, buf, len, (off_t)addr) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ok = ok && fd >= 0 && pread(fd, pfn, len / PAGE * 8, (off_t)(addr / PAGE * 8)) == (ssize_t)(len / PAGE * 8);
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < len / PAGE; i++)
		pfn[i] = (pfn[i] >> 63) ? pfn[i] & ((1ull << 55) - 1) : 0;
	return ok;
}

/* True when the VMA of @pid holding @addr grows down (VmFlags "gd" in smaps). */
static bool grows_down(pid_t pid, uint64_t addr)
{
	char path[64], *smaps, *line;
	bool in = false, gd = false;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	smaps = test_read_file(path);
	for (line = smaps; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned long long start, end;

		if (sscanf(line, "%llx-%llx ", &start, &end) == 2)
			in = start <= addr && addr < end;
		else if (in && !strncmp(line, "VmFlags:", 8))
			gd = strstr(line, " gd") && strstr(line, " gd") < strchr(line, '\n');
	}
	free(smaps);
	return gd;
}

/* The stack buffer as P wrote it in each process, one frame per page for the three of them. */
static void check_stack(int *failures, const struct tree *t, const char *what, uint8_t *buf)
{
	uint64_t pfn[NR_WHO][STACK_PAGES];
	size_t shared = 0;

	for (int w = 0; w < NR_WHO; w++) {
		bool ok = read_pages(t->pid[w], t->stack, STACK_PAGES * PAGE, buf, pfn[w]);

		for (size_t i = 0; ok && i < STACK_PAGES; i++)
			ok = rchild_intact(buf + i * PAGE, PAGE, STACK_SALT + (unsigned int)i);
		expect(failures, ok, "%s: %s's stack buffer is not as it was dumped", what, names[w]);
		expect(failures, grows_down(t->pid[w], t->stack), "%s: %s's stack no longer grows down", what,
		       names[w]);
	}
	for (size_t i = 0; i < STACK_PAGES; i++)
		shared += pfn[P][i] && pfn[C][i] == pfn[P][i] && pfn[G][i] == pfn[P][i];
	printf("%s: %zu of the %lu pages of the stack buffer are one frame in P, C and G\n", what, shared, STACK_PAGES);
	expect(failures, shared == STACK_PAGES, "%s: %zu of the %lu pages of the stack buffer shared", what, shared,
	       STACK_PAGES);
}

/* Each process's area as it left it, and the frames shared: C with P but where C wrote, G with C but its page. */
static void check_restored(int *failures, const struct tree *t, const char *what)
{
	uint64_t pfn[NR_WHO][AREA_PAGES];
	uint8_t *buf = malloc(AREA_PAGES * PAGE);
	size_t shared_cp = 0, shared_gc = 0;

	if (!buf) {
		expect(failures, false, "out of memory");
		return;
	}
	for (int w = 0; w < NR_WHO; w++) {
		bool ok = read_pages(t->pid[w], t->area, AREA_PAGES * PAGE, buf, pfn[w]);

		for (size_t i = 0; ok && i < AREA_PAGES; i++)
			ok = rchild_intact(buf + i * PAGE, PAGE, page_salt(w, i));
		expect(failures, ok, "%s: %s's area is not as it was dumped", what, names[w]);
	}
	for (size_t i = 0; i < AREA_PAGES; i++) {
		shared_cp += pfn[C][i] && pfn[C][i] == pfn[P][i];
		shared_gc += pfn[G][i] && pfn[G][i] == pfn[C][i];
	}
	printf("%s: C shares %zu frames with P, G %zu with C\n", what, shared_cp, shared_gc);
	expect(failures, shared_cp == AREA_PAGES - AREA_PAGES / C_EVERY && shared_gc == AREA_PAGES - 1,
	       "%s: C shares %zu frames with P (%lu expected), G %zu with C (%lu expected)", what, shared_cp,
	       AREA_PAGES - AREA_PAGES / C_EVERY, shared_gc, AREA_PAGES - 1);
	check_stack(failures, t, what, buf);
	free(buf);
}

static void restore_and_check(int *failures, const char *tmp, const char *dir, const struct tree *t)
{
	const char *args[] = { "restore", "-D", dir, "-d", "-o", "restore.log", "-v4", NULL };
	int before = *failures;

	if (rtest_restore(tmp, args, failures) == 0 && *failures == before)
		check_restored(failures, t, dir);
	if (*failures != before)
		rtest_print_log(dir, "restore.log");
	kill_tree(t);
}

/* P's area marked MADV_DONTFORK in mm-P.img: no child inherits it. */
static uint64_t dontfork_at;
static int mark_dontfork(const char *dir, pid_t pid)
{
	struct cr_img *img;
	MmEntry *mm = NULL;
	int dirfd, ret;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_MM, (unsigned int)pid);
	if (!ret) {
		ret = img_read_entry_as(img, &mm_entry__descriptor, (void **)&mm);
		img_close(img);
	}
	for (size_t i = 0; !ret && mm && i < mm->n_vmas; i++) {
		if (mm->vmas[i]->start != dontfork_at)
			continue;
		mm->vmas[i]->has_madv = 1;
		mm->vmas[i]->madv |= 1ull << MADV_DONTFORK;
	}
	if (!ret && mm)
		ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_MM, (unsigned int)pid);
	if (!ret && mm) {
		ret = img_write_entry(img, mm);
		ret = img_close(img) ?: ret;
	}
	img_free_entry(mm);
	close(dirfd);
	return ret;
}

static void no_cow_field(PagemapEntry *pe, size_t i)
{
	(void)i;
	pe->has_cow_parent = 0;
}

/* C's cow_parent runs without criu-ng's field: PE_PARENT alone, as a pre-dump chain has it. */
static int drop_cow_field(const char *dir, pid_t pid)
{
	return test_edit_pagemap(dir, pid, no_cow_field);
}

/* crit decodes C's pagemap with criu-ng's field, and its rss view marks those runs. */
static void check_crit(int *failures, const char *tmp, const char *dir, const struct tree *t)
{
	char in[PATH_MAX];
	char *decode[] = { "/usr/bin/python3", CRIT_PATH, "decode", "--pretty", "-i", in, NULL };
	char *rss[] = { "/usr/bin/python3", CRIT_PATH, "x", (char *)dir, "rss", NULL };
	struct run_result r;

	if (access(decode[0], X_OK)) {
		printf("no %s: crit not run\n", decode[0]);
		return;
	}
	if ((size_t)snprintf(in, sizeof(in), "%s/pagemap-%d.img", dir, t->pid[C]) >= sizeof(in) ||
	    test_run(&r, tmp, NULL, decode, NULL)) {
		expect(failures, false, "can't run crit");
		return;
	}
	expect(failures, r.exit_code == 0 && strstr(r.out, "\"cow_parent\": true") && strstr(r.out, "PE_PARENT"),
	       "crit decode of %s shows no cow_parent run (exit %d): %s", in, r.exit_code, r.err);
	test_run_free(&r);
	if (test_run(&r, tmp, NULL, rss, NULL)) {
		expect(failures, false, "can't run crit");
		return;
	}
	expect(failures, r.exit_code == 0 && strstr(r.out, " ^"), "crit x %s rss marks no run left to a parent: %s",
	       dir, r.out);
	test_run_free(&r);
}

static void expect_refused(int *failures, const char *tmp, const char *good, const char *name, const struct tree *t,
			   int (*brk)(const char *, pid_t), pid_t whose, const char *what)
{
	const char *args[] = { "restore", "-D", NULL, "-d", NULL };
	char dir[PATH_MAX], file[64];
	struct run_result r;

	snprintf(dir, sizeof(dir), "%s/%s", tmp, name);
	snprintf(file, sizeof(file), "pagemap-%d.img", t->pid[C]);
	args[2] = dir;
	if (test_copy_dir(good, dir) || brk(dir, whose) || rcriu_run(&r, tmp, args)) {
		expect(failures, false, "%s: can't break the images or run criu", name);
		return;
	}
	expect(failures, r.exit_code == 1, "%s: restore exited with %d", name, r.exit_code);
	expect(failures, strstr(r.err, file) && strstr(r.err, what), "%s: the error doesn't name %s (%s):\n%s", name,
	       file, what, r.err);
	for (int w = 0; w < NR_WHO; w++)
		expect(failures, kill(t->pid[w], 0) < 0 && errno == ESRCH,
		       "%s: process %d exists after a refused restore", name, t->pid[w]);
	printf("refused (%s): %s", name, r.err);
	test_run_free(&r);
	kill_tree(t);
}

int main(void)
{
	char tmp[256], pidstr[32], dirc[PATH_MAX], dird[PATH_MAX];
	const char *dump_criu[] = {
		"dump", "-t", pidstr, "-D", dirc, "-o", "dump.log", "-v4", "--cow-images", "criu", "--leave-running",
		NULL
	};
	const char *dump_dedup[] = { "dump", "-t", pidstr, "-D", dird, "-o", "dump.log", "-v4", NULL };
	struct tree t = { 0 };
	long long bytes_c, bytes_d;
	int failures = 0;

	if (geteuid()) {
		fprintf(stderr, "cow-images: SKIP (needs root: criu dump, and PFNs in /proc/PID/pagemap)\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(tmp, sizeof(tmp), "cowimg") || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		fprintf(stderr, "cow-images: no temporary directory\n");
		return TEST_FAIL;
	}
	snprintf(dirc, sizeof(dirc), "%s/criu", tmp);
	snprintf(dird, sizeof(dird), "%s/dedup", tmp);
	if (start_tree(&t) || mkdir(dirc, 0700) || mkdir(dird, 0700)) {
		fprintf(stderr, "cow-images: can't start the tree\n");
		kill_tree(&t);
		return TEST_FAIL;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", t.pid[P]);
	dontfork_at = t.area;

	{
		struct run_result r;

		if (rcriu_run(&r, tmp, dump_criu) || r.exit_code != 0) {
			fprintf(stderr, "criu dump --cow-images criu failed: %s\n", r.err ? r.err : "");
			kill_tree(&t);
			return TEST_FAIL;
		}
		test_run_free(&r);
	}
	if (rtest_dump(tmp, dump_dedup, t.pid[P], &failures)) {
		kill_tree(&t);
		return TEST_FAIL;
	}
	kill_tree(&t);
	check_images(&failures, dirc, &t, false);
	check_images(&failures, dird, &t, true);
	bytes_c = pages_bytes(dirc);
	bytes_d = pages_bytes(dird);
	printf("pages images: %lld bytes with --cow-images criu, %lld by default\n", bytes_c, bytes_d);
	/* At least the area's pages; the pages of the program and libc C and G share with their parents too. */
	expect(&failures, bytes_c - bytes_d >= (long long)((2 * AREA_PAGES - AREA_PAGES / C_EVERY - 1) * PAGE),
	       "the default dump's pages images are %lld bytes smaller, not the %lu pages left to the parents",
	       bytes_c - bytes_d, 2 * AREA_PAGES - AREA_PAGES / C_EVERY - 1);

	check_crit(&failures, tmp, dird, &t);
	expect_refused(&failures, tmp, dird, "dontfork", &t, mark_dontfork, t.pid[P], "inherits no area");
	expect_refused(&failures, tmp, dird, "predump", &t, drop_cow_field, t.pid[C], "pre-dump chain");

	restore_and_check(&failures, tmp, dird, &t);
	restore_and_check(&failures, tmp, dirc, &t);

	if (!failures)
		test_rm_rf(tmp);
	fprintf(stderr, "cow-images: %s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
