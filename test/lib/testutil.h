/*
 * testutil.h: what every soccr test, benchmark and the demo share: exit codes, the libsoccr
 * context with its log on stderr (or kept for checks), clocks, the test environment (private
 * netns), and running a test's pass on both backends.
 */
#ifndef TEST_LIB_TESTUTIL_H
#define TEST_LIB_TESTUTIL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include "soccr.h"

#define TEST_PASS 0
#define TEST_FAIL 1
#define TEST_SKIP 77

/* Messages of a test: "NAME: ..." on stderr, NAME set by test_init(). */
void test_init(const char *name);
void test_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* test_msg(), then the exit code */
int test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* connfix_env_setup(), as a test exit code if it fails (no CAP_SYS_ADMIN: skip). */
int test_env_setup(void);

/*
 * A libsoccr context logging to stderr up to SOCCR_LOG_WARN, or the level in the environment
 * variable SOCCR_TEST_LOG. @workers 0: one per CPU. @flags: SOCCR_CTX_*.
 */
int test_ctx_create(uint32_t flags, uint32_t workers, struct libsoccr_ctx **ctxp);

uint64_t test_now_ns(void);

/* The median of @n samples (sorts @v). */
double test_median(double *v, unsigned int n);
/* A comma-separated list of counts, each 1..@limit, at most @max of them, into @vals: 0 or -EINVAL. */
int test_parse_counts(char *arg, uint32_t *vals, unsigned int max, uint32_t limit, unsigned int *nr);
/*
 * From now on io_uring_enter fails with EPERM in every thread of this process (a seccomp filter,
 * as a sandbox policy would): the rings of a context made before stop working. Irreversible.
 */
int test_forbid_io_uring_enter(void);

/* Run @pass with io_uring, then with plain syscalls (SOCCR_CTX_NO_URING): the test's exit code. */
int test_both_backends(int (*pass)(uint32_t ctx_flags, void *arg), void *arg);

/* The library's messages, kept for checks: the log callback may run in any worker at once. */
struct test_log {
	pthread_mutex_t lock;
	size_t len;
	char text[65536];
};

void test_log_init(struct test_log *tl);
/* A libsoccr_log_fn whose arg is a struct test_log: echoes the line to stderr and keeps it. */
void test_log_keep(void *arg, unsigned int level, const char *fmt, va_list ap);
/* How many kept lines contain @needle. */
unsigned int test_log_count(struct test_log *tl, const char *needle);

#endif /* TEST_LIB_TESTUTIL_H */
