/*
 * testutil.c: exit codes, messages, the libsoccr context of the tests, clocks, io_uring made to
 * fail (see testutil.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "ngutil.h"
#include "connfix.h"
#include "testutil.h"

/* Written once by test_init() before any thread exists, read-only afterwards. */
static const char *test_name = "test";

void test_init(const char *name)
{
	const char *slash = strrchr(name, '/');

	test_name = slash ? slash + 1 : name;
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static void test_vmsg(const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s: %s\n", test_name, line);
}

void test_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	test_vmsg(fmt, ap);
	va_end(ap);
}

int test_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	test_vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: FAIL\n", test_name);
	return TEST_FAIL;
}

int test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	test_vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: SKIP\n", test_name);
	return TEST_SKIP;
}

int test_env_setup(void)
{
	int ret = connfix_env_setup();

	if (ret == -EPERM)
		return test_skip("no permission to make a network namespace");
	if (ret)
		return test_fail("cannot set up the test environment: %s", strerror(-ret));
	return TEST_PASS;
}

static void test_log_soccr(void *arg, unsigned int level, const char *fmt, va_list ap)
{
	(void)arg;
	(void)level;
	vfprintf(stderr, fmt, ap);
}

int test_ctx_create(uint32_t flags, uint32_t workers, struct libsoccr_ctx **ctxp)
{
	struct libsoccr_ctx_opts opts = {
		.size = sizeof(opts),
		.flags = flags,
		.workers = workers,
		.log = test_log_soccr,
		.log_level = SOCCR_LOG_WARN,
	};
	const char *env = getenv("SOCCR_TEST_LOG");
	int ret;

	if (env && *env)
		opts.log_level = (unsigned int)atoi(env);
	ret = libsoccr_ctx_create(&opts, ctxp);
	if (ret)
		test_msg("libsoccr_ctx_create(flags %#x, workers %u): %s", flags, workers, strerror(-ret));
	return ret;
}

uint64_t test_now_ns(void)
{
	return ng_now_ns();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double test_median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int test_parse_counts(char *arg, uint32_t *vals, unsigned int max, uint32_t limit, unsigned int *nr)
{
	char *tok, *save = NULL;

	*nr = 0;
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long v = strtol(tok, NULL, 10);

		if (v <= 0 || (uint64_t)v > limit || *nr == max)
			return -EINVAL;
		vals[(*nr)++] = (uint32_t)v;
	}
	return *nr ? 0 : -EINVAL;
}

int test_forbid_io_uring_enter(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
		return errno ? -errno : -EPERM;
	return 0;
}

int test_both_backends(int (*pass)(uint32_t ctx_flags, void *arg), void *arg)
{
	int ret = pass(0, arg);

	ret = ret ?: pass(SOCCR_CTX_NO_URING, arg);
	if (ret)
		return test_fail("%s", strerror(-ret));
	test_msg("PASS");
	return TEST_PASS;
}

void test_log_init(struct test_log *tl)
{
	pthread_mutex_init(&tl->lock, NULL);
	tl->len = 0;
	tl->text[0] = '\0';
}

void test_log_keep(void *arg, unsigned int level, const char *fmt, va_list ap)
{
	struct test_log *tl = arg;
	char line[512];
	int len;

	(void)level;
	len = vsnprintf(line, sizeof(line), fmt, ap);
	fputs(line, stderr);
	if (len <= 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = sizeof(line) - 1;
	pthread_mutex_lock(&tl->lock);
	if (tl->len + (size_t)len < sizeof(tl->text)) {
		memcpy(tl->text + tl->len, line, (size_t)len + 1);
		tl->len += (size_t)len;
	}
	pthread_mutex_unlock(&tl->lock);
}

unsigned int test_log_count(struct test_log *tl, const char *needle)
{
	unsigned int n = 0;

	pthread_mutex_lock(&tl->lock);
	for (const char *p = tl->text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	pthread_mutex_unlock(&tl->lock);
	return n;
}
