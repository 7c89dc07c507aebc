/*
 * Logging for the criu tool: level filter, timestamps, one write(2) per message.
 * See include/log.h for the threading model (configuration immutable after setup).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ngutil.h"

struct log_config {
	int fd;
	int level;
	bool own_fd;
	struct timespec start;
};

/* Written only by log_early_init()/log_init()/log_fini(), before or after any worker thread. */
static struct log_config log_cfg = {
	.fd = STDERR_FILENO,
	.level = LOG_DEFAULT_LEVEL,
};

void log_early_init(void)
{
	clock_gettime(CLOCK_MONOTONIC, &log_cfg.start);
}

int log_init(int dirfd, const char *path, int level)
{
	int fd;

	if (level < LOG_MSG)
		level = LOG_MSG;
	if (level > LOG_MAX_LEVEL)
		level = LOG_MAX_LEVEL;

	log_fini();
	log_cfg.level = level;
	if (!path || !strcmp(path, "-"))
		return 0;

	fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		pr_perror("Can't open log file %s", path);
		return -errno;
	}
	log_cfg.fd = fd;
	log_cfg.own_fd = true;
	return 0;
}

void log_fini(void)
{
	if (log_cfg.own_fd)
		close(log_cfg.fd);
	log_cfg.fd = STDERR_FILENO;
	log_cfg.own_fd = false;
}

int log_get_level(void)
{
	return log_cfg.level;
}

int log_get_fd(void)
{
	return log_cfg.fd;
}

static size_t log_timestamp(char *buf, size_t size)
{
	struct timespec now;
	long sec, usec;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	sec = now.tv_sec - log_cfg.start.tv_sec;
	usec = (now.tv_nsec - log_cfg.start.tv_nsec) / 1000;
	if (usec < 0) {
		sec--;
		usec += 1000000;
	}
	n = snprintf(buf, size, "(%02ld.%06ld) ", sec, usec);
	return n > 0 ? (size_t)n : 0;
}

void log_vprint(int level, const char *fmt, va_list args)
{
	int saved_errno = errno;
	char buf[LOG_LINE_MAX];
	size_t len = 0;
	int fd = log_cfg.fd;
	int n;

	if (level > log_cfg.level)
		return;

	if (level == LOG_MSG)
		fd = STDOUT_FILENO;
	else if (log_cfg.level >= LOG_TIMESTAMP_LEVEL)
		len = log_timestamp(buf, sizeof(buf));

	errno = saved_errno; /* for %m in the caller's format */
	n = vsnprintf(buf + len, sizeof(buf) - len, fmt, args);
	if (n < 0) {
		errno = saved_errno;
		return;
	}
	if ((size_t)n >= sizeof(buf) - len) {
		/* Cut: keep what fits and say so. */
		len = sizeof(buf) - 5;
		memcpy(buf + len, "...\n", 4);
		len += 4;
	} else {
		len += n;
	}
	if (ng_write_full(fd, buf, len) < 0) {
		/* nowhere left to report a logging failure */
	}
	errno = saved_errno;
}

void log_print(int level, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_vprint(level, fmt, args);
	va_end(args);
}
