/*
 * cow_ng00: private memory a parent shares copy-on-write with its children
 * and a grandchild stays shared after restore, page by page.
 *
 * The parent fills a 16 MiB area and a read-only 256 KiB one, writes half of
 * a private mapping of a file, then forks A and B. A changes every 16th page
 * of the big area and drops ten pages (MADV_DONTNEED), changes two pages of
 * the file mapping and drops one there, then forks G, which changes one page
 * more. B changes nothing; the parent changes two pages after the forks.
 * Each process checks its own contents after restore (the dropped pages read
 * zero in A and G, or the file again; the read-only area is still read-only),
 * and the parent checks, with the physical frames of /proc/PID/pagemap (root
 * only), that every page two processes had in common is still one frame (the
 * contents say that no change of one shows in another).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PAGE 4096ul
#define BIG_PAGES 4096ul
#define RO_PAGES 64ul
#define DROP_FIRST 100ul
#define DROP_NR 10ul
#define G_PAGE 7ul
#define SEED 0x5eed

enum who {
	PARENT,
	CHILD_A,
	CHILD_B,
	CHILD_G
};

static uint8_t *big, *ro, *fmap;

/*
 * A private mapping of a file: the parent writes its first half before the
 * forks, A then writes two pages and drops one (which shows the file again).
 */
#define FILE_NAME "cow_ng00.file"
#define F_PAGES 16ul
#define F_PARENT 8ul /* pages the parent wrote */

/* Who wrote file page @i of @w last: 0 nobody (the file's contents), 1 the parent, 3 A. */
static int file_origin(enum who w, size_t i)
{
	if ((w == CHILD_A || w == CHILD_G) && (i == 2 || i == 10))
		return 3;
	if ((w == CHILD_A || w == CHILD_G) && i == 5)
		return 0;
	return i < F_PARENT ? 1 : 0;
}

static void file_expected(enum who w, size_t i, uint8_t *page)
{
	static const uint32_t seeds[] = { 0x7000, 0x8000, 0, 0x9000 };

	datagen_seed(page, PAGE, seeds[file_origin(w, i)] + (uint32_t)i);
}

static bool a_changes(size_t i)
{
	return i % 16 == 0;
}

static bool dropped(size_t i)
{
	return i >= DROP_FIRST && i < DROP_FIRST + DROP_NR;
}

static bool p_changes(size_t i)
{
	return i == 3 || i == 5;
}

/* The contents page @i of the big area has in process @w. */
static void expected(enum who w, size_t i, uint8_t *page)
{
	datagen_seed(page, PAGE, SEED + (uint32_t)i);
	if (w == PARENT && p_changes(i))
		datagen_seed(page, PAGE, 0x1000 + (uint32_t)i);
	if ((w == CHILD_A || w == CHILD_G) && a_changes(i))
		datagen_seed(page, PAGE, 0x2000 + (uint32_t)i);
	if ((w == CHILD_A || w == CHILD_G) && dropped(i))
		memset(page, 0, PAGE);
	if (w == CHILD_G && i == G_PAGE)
		datagen_seed(page, PAGE, 0x3000);
}

static void change(enum who w)
{
	for (size_t i = 0; i < BIG_PAGES; i++) {
		bool mine = (w == PARENT && p_changes(i)) || (w == CHILD_A && a_changes(i)) ||
			    (w == CHILD_G && i == G_PAGE);

		if (mine)
			expected(w, i, big + i * PAGE);
	}
	if (w == CHILD_A) {
		madvise(big + DROP_FIRST * PAGE, DROP_NR * PAGE, MADV_DONTNEED);
		file_expected(w, 2, fmap + 2 * PAGE);
		file_expected(w, 10, fmap + 10 * PAGE);
		madvise(fmap + 5 * PAGE, PAGE, MADV_DONTNEED);
	}
}

/* 0 when process @w's memory is as expected. */
static int check_contents(enum who w)
{
	static const char *names[] = { "parent", "A", "B", "G" };
	uint8_t page[PAGE];
	struct test_vma vma;

	for (size_t i = 0; i < BIG_PAGES; i++) {
		expected(w, i, page);
		if (memcmp(big + i * PAGE, page, PAGE)) {
			fail("%s: page %zu of the big area changed", names[w], i);
			return 1;
		}
	}
	for (size_t i = 0; i < RO_PAGES; i++) {
		datagen_seed(page, PAGE, SEED * 2 + (uint32_t)i);
		if (memcmp(ro + i * PAGE, page, PAGE)) {
			fail("%s: page %zu of the read-only area changed", names[w], i);
			return 1;
		}
	}
	for (size_t i = 0; i < F_PAGES; i++) {
		file_expected(w, i, page);
		if (memcmp(fmap + i * PAGE, page, PAGE)) {
			fail("%s: page %zu of the file mapping changed", names[w], i);
			return 1;
		}
	}
	if (test_vma_find(ro, &vma) || strcmp(vma.perms, "r--p")) {
		fail("%s: the read-only area is %s", names[w], vma.perms);
		return 1;
	}
	return 0;
}

/* The frame of each of @n pages at @addr in process @pid (0 when the page is not present). */
static int frames(pid_t pid, const void *addr, size_t n, uint64_t *pfn)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, pfn, n * 8, (off_t)((uintptr_t)addr / PAGE * 8)) != (ssize_t)(n * 8)) {
		fail("can't read %s", path);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	for (size_t i = 0; i < n; i++)
		pfn[i] = (pfn[i] >> 63) ? pfn[i] & ((1ull << 55) - 1) : 0;
	return 0;
}

/* Who wrote page @i of process @w last: 0 none (dropped), 1 the parent before the forks, 2 P, 3 A, 4 G. */
static int origin(enum who w, size_t i)
{
	if ((w == CHILD_A || w == CHILD_G) && dropped(i))
		return 0;
	if (w == CHILD_G && i == G_PAGE)
		return 4;
	if ((w == CHILD_A || w == CHILD_G) && a_changes(i))
		return 3;
	if (w == PARENT && p_changes(i))
		return 2;
	return 1;
}

/*
 * Page @i is one frame in @x and @y after restore: both had it from one write.
 * Not kept: a page the parent changed after the forks, which its children
 * still share with one another but no longer with it (each child compares
 * with the parent's page, as CRIU does).
 */
static bool in_common(enum who x, enum who y, size_t i)
{
	return origin(x, i) && origin(x, i) == origin(y, i) && !(origin(x, i) == 1 && p_changes(i));
}

/* Page @i of the file mapping is one frame in @px and @py. */
static int check_file_page(pid_t px, pid_t py, size_t i)
{
	uint64_t a, b;

	if (frames(px, fmap + i * PAGE, 1, &a) || frames(py, fmap + i * PAGE, 1, &b))
		return 1;
	if (!a || a != b) {
		fail("page %zu of the file mapping: processes %d and %d don't share it any more", i, px, py);
		return 1;
	}
	return 0;
}

/* Every page @x and @y have in common is one frame; no page is shared that shouldn't be. */
static int check_shared(enum who x, pid_t px, enum who y, pid_t py)
{
	static uint64_t fx[BIG_PAGES], fy[BIG_PAGES], rx[RO_PAGES], ry[RO_PAGES];
	size_t shared = 0;

	if (frames(px, big, BIG_PAGES, fx) || frames(py, big, BIG_PAGES, fy) || frames(px, ro, RO_PAGES, rx) ||
	    frames(py, ro, RO_PAGES, ry))
		return 1;
	/* Pages of the file mapping both wrote as one (the file's own pages need not be mapped yet). */
	for (size_t i = 0; i < F_PAGES; i++)
		if (file_origin(x, i) && file_origin(x, i) == file_origin(y, i) && check_file_page(px, py, i))
			return 1;
	for (size_t i = 0; i < BIG_PAGES; i++) {
		bool same = fx[i] && fx[i] == fy[i];

		if (in_common(x, y, i) && !same) {
			fail("page %zu of the big area: processes %d and %d don't share it any more (frames %#llx, %#llx)",
			     i, px, py, (unsigned long long)fx[i], (unsigned long long)fy[i]);
			return 1;
		}
		shared += same;
	}
	for (size_t i = 0; i < RO_PAGES; i++)
		if (!rx[i] || rx[i] != ry[i]) {
			fail("page %zu of the read-only area: processes %d and %d don't share it any more", i, px, py);
			return 1;
		}
	test_msg("processes %d and %d share %zu pages of the big area\n", px, py, shared);
	return 0;
}

static int end_child(pid_t pid)
{
	int status;

	if (kill(pid, SIGTERM) || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("child %d did not end well", pid);
		return 1;
	}
	return 0;
}

/* A child ends with its parent (a failed check or run leaves none behind). */
static void die_with(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(2);
}

static void __attribute__((noreturn)) child_b(pid_t parent)
{
	die_with(parent);
	test_forked();
	test_waitsig();
	_exit(check_contents(CHILD_B));
}

/* A changes its pages, forks G and tells the parent G's pid once G changed its page. */
static void __attribute__((noreturn)) child_a(int report, pid_t parent)
{
	pid_t g, a = getpid();
	int ready[2];
	char c;

	die_with(parent);
	test_forked();
	change(CHILD_A);
	if (pipe(ready))
		_exit(2);
	g = fork();
	if (g < 0)
		_exit(2);
	if (g == 0) {
		die_with(a);
		close(ready[0]);
		close(report);
		change(CHILD_G);
		if (write(ready[1], "G", 1) != 1)
			_exit(2);
		close(ready[1]);
		test_forked();
		test_waitsig();
		_exit(check_contents(CHILD_G));
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1 || write(report, &g, sizeof(g)) != sizeof(g))
		_exit(2);
	close(ready[0]);
	close(report);
	test_waitsig();
	if (check_contents(CHILD_A) || end_child(g))
		_exit(1);
	_exit(0);
}

/* The file, mapped privately, its first F_PARENT pages written by the parent. */
static int map_file(void)
{
	uint8_t page[PAGE];
	int fd;

	fd = open(FILE_NAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		fail("open %s", FILE_NAME);
		return 1;
	}
	for (size_t i = 0; i < F_PAGES; i++) {
		datagen_seed(page, PAGE, 0x7000 + (uint32_t)i);
		if (write(fd, page, PAGE) != (ssize_t)PAGE) {
			fail("write %s", FILE_NAME);
			return 1;
		}
	}
	fmap = mmap(NULL, F_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (fmap == MAP_FAILED || madvise(fmap, F_PAGES * PAGE, MADV_NOHUGEPAGE)) {
		fail("mmap %s", FILE_NAME);
		return 1;
	}
	for (size_t i = 0; i < F_PARENT; i++)
		datagen_seed(fmap + i * PAGE, PAGE, 0x8000 + (uint32_t)i);
	return 0;
}

int main(int argc, char **argv)
{
	pid_t a, b, g, parent;
	int report[2];

	test_init(argc, argv);
	if (geteuid())
		test_skip("the physical frames in /proc/PID/pagemap are shown to root only");
	/* Each area between two PROT_NONE pages, so that no later mapping merges with it. */
	big = mmap(NULL, (BIG_PAGES + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, (RO_PAGES + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED || ro == MAP_FAILED || pipe(report)) {
		fail("setup");
		return 1;
	}
	big += PAGE;
	ro += PAGE;
	if (mprotect(big, BIG_PAGES * PAGE, PROT_READ | PROT_WRITE) ||
	    mprotect(ro, RO_PAGES * PAGE, PROT_READ | PROT_WRITE)) {
		fail("mprotect");
		return 1;
	}
	/* khugepaged would copy shared pages into a huge page of one process, ending their sharing. */
	if (madvise(big, BIG_PAGES * PAGE, MADV_NOHUGEPAGE) || madvise(ro, RO_PAGES * PAGE, MADV_NOHUGEPAGE)) {
		fail("madvise");
		return 1;
	}
	for (size_t i = 0; i < BIG_PAGES; i++)
		datagen_seed(big + i * PAGE, PAGE, SEED + (uint32_t)i);
	for (size_t i = 0; i < RO_PAGES; i++)
		datagen_seed(ro + i * PAGE, PAGE, SEED * 2 + (uint32_t)i);
	if (mprotect(ro, RO_PAGES * PAGE, PROT_READ)) {
		fail("mprotect");
		return 1;
	}
	if (map_file())
		return 1;
	parent = getpid();
	a = fork();
	if (a == 0) {
		close(report[0]);
		child_a(report[1], parent);
	}
	b = a > 0 ? fork() : -1;
	if (b == 0) {
		close(report[0]);
		close(report[1]);
		child_b(parent);
	}
	if (a < 0 || b < 0) {
		fail("fork");
		return 1;
	}
	close(report[1]);
	if (read(report[0], &g, sizeof(g)) != sizeof(g)) {
		fail("A did not report G");
		return 1;
	}
	close(report[0]);
	change(PARENT);

	test_daemon();
	test_waitsig();

	if (check_contents(PARENT) || check_shared(PARENT, getpid(), CHILD_A, a) ||
	    check_shared(PARENT, getpid(), CHILD_B, b) || check_shared(CHILD_A, a, CHILD_G, g) ||
	    check_shared(PARENT, getpid(), CHILD_G, g) || check_shared(CHILD_B, b, CHILD_G, g))
		return 1;
	if (end_child(a) || end_child(b))
		return 1;
	pass();
	return 0;
}
