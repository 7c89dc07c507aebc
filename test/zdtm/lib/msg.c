/*
 * msg.c: messages and the verdict. Every line carries a timestamp and the pid;
 * pass(), fail() and test_skip() write the words the runner looks for
 * ("PASS", "FAIL:", "SKIP:").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

static void msg_prefix(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		ts.tv_sec = ts.tv_nsec = 0;
	fprintf(stderr, "%lld.%06ld %d: ", (long long)ts.tv_sec, ts.tv_nsec / 1000, getpid());
}

void test_msg(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	msg_prefix();
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	errno = saved_errno;
}

void test_pass(void)
{
	fprintf(stderr, "PASS\n");
	fflush(stderr);
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "SKIP: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	exit(TEST_SKIP_EXIT);
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	fprintf(stderr, "FAIL: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno = %d (%s))\n", saved_errno, strerror(saved_errno));
	fflush(stderr);
	errno = saved_errno;
}
