/*
 * zdtmtst.h: the zdtm-style test library. A test calls test_init() first,
 * sets up the state it checks, calls test_daemon() once that state is in place
 * (the runner may checkpoint it from then on), waits in test_waitsig() for
 * SIGTERM, checks the state and reports with pass() or fail().
 */
#ifndef ZDTMTST_H
#define ZDTMTST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Command line options a test may add to the library's own ones. */
enum test_opt_type {
	TEST_OPT_STRING,
	TEST_OPT_INT,
	TEST_OPT_BOOL,
};

struct test_opt {
	const char *name;
	enum test_opt_type type;
	void *value; /* char **, int * or bool * */
	const char *doc;
	bool required;
	bool seen;
	struct test_opt *next;
};

void test_opt_register(struct test_opt *opt);

/*
 * TEST_OPTION(filename, TEST_OPT_STRING, "file to work on", false) declares
 * --filename=VALUE for the static variable `filename`.
 */
#define TEST_OPTION(var, type, doc, required)                                                     \
	static struct test_opt test_opt_##var = { #var, type, &var, doc, required, false, NULL }; \
	static void __attribute__((constructor)) test_opt_register_##var(void)                    \
	{                                                                                         \
		test_opt_register(&test_opt_##var);                                               \
	}

/* Parses the options and forks: the caller continues in the future daemon. */
void test_init(int argc, char **argv);
/* The state is set up: write the pidfile and let the launching parent exit. */
void test_daemon(void);
/*
 * In a child the test forked before test_daemon(): closes what only the test's
 * own process keeps (the launcher's pipe, the pidfile's directory), so that
 * the child neither holds the launcher back nor is dumped with them.
 */
void test_forked(void);
/* Blocks until SIGTERM arrives; the signal mask on return is the one on entry. */
void test_waitsig(void);
/* False once SIGTERM arrived: for tests that loop while they wait. */
bool test_go(void);

/* Messages go to the outfile (stderr once test_init() has run). */
void test_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test_pass(void);
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Before test_daemon() only: the test can't run here (a CPU feature is
 * missing...). Writes "SKIP: why" and exits 77; the runner reports a skip.
 */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define TEST_SKIP_EXIT 77

#define pass() test_pass()
/* Records a failure, naming the source line and the current errno. */
#define fail(fmt, ...) test_fail(__FILE__, __LINE__, fmt, ##__VA_ARGS__)

/* Fills buf with pseudo-random bytes and returns their checksum in *crc. */
void datagen(void *buf, size_t len, uint32_t *crc);
/* Fills buf with the bytes datagen() gives for seed, no checksum needed. */
void datagen_seed(void *buf, size_t len, uint32_t seed);
/* 0 when buf still has the checksum crc, -EILSEQ when it changed. */
int datachk(const void *buf, size_t len, uint32_t crc);
uint32_t data_crc32(const void *buf, size_t len);

/* A mapping as /proc/self/smaps shows it. */
struct test_vma {
	uintptr_t start, end;
	char perms[5];	      /* "rw-p" */
	char flags[256];      /* VmFlags: "rd wr mr mw me ac" */
	unsigned long rss_kb; /* Rss: */
};

/* Finds the mapping holding addr: 0, or -ENOENT when nothing is mapped there. */
int test_vma_find(const void *addr, struct test_vma *vma);
/* True when the two-letter VmFlags entry flag ("gd", "dc", "wf") is set. */
bool test_vma_has_flag(const struct test_vma *vma, const char *flag);

/*
 * Makes the directory @dir with permission bits @mode (or takes it as it is), moves into it and
 * puts its full path in @path: 0, or -1 after fail() said why.
 */
int test_enter_dir(const char *dir, unsigned int mode, char *path, size_t len);
/*
 * @path is a directory that was removed (no link left) with permission bits @mode, in which
 * no file can be created, and, when @same is given, the same inode as @same (both stat()ed):
 * 0, or -1 after fail() said why.
 */
int test_removed_dir(const char *path, unsigned int mode, const char *same);

#endif /* ZDTMTST_H */
