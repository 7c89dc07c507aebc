/*
 * CRIU-style logging for the criu tool: five levels (-v0..-v4), a per-file prefix
 * (define LOG_PREFIX before using the macros), "Error (criu/file.c:LINE): " on errors,
 * "Warn  (criu/file.c:LINE): " on warnings, and "(SS.UUUUUU) " timestamps from -v3 up.
 *
 * Threading: the log configuration (fd, level, start time) is set by log_init()
 * while the process is still single-threaded and is read-only afterwards. Every
 * call formats its line into a buffer on the caller's stack and emits it with one
 * write(2), so worker threads may log concurrently without sharing mutable state.
 */
#ifndef CRIU_NG_LOG_H
#define CRIU_NG_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_MSG = 0, /* user-facing output, always printed, on stdout */
	LOG_ERROR = 1,
	LOG_WARN = 2,
	LOG_INFO = 3,
	LOG_DEBUG = 4,
};

#define LOG_DEFAULT_LEVEL LOG_WARN
#define LOG_MAX_LEVEL LOG_DEBUG
/* From this level on, every log line carries a timestamp. */
#define LOG_TIMESTAMP_LEVEL LOG_INFO
/* Longest line; longer ones are cut and marked with "...". */
#define LOG_LINE_MAX 4096

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

/* Directory of the source file relative to the tree, set by the Makefile ("criu/"). */
#ifndef LOG_SRC_DIR
#define LOG_SRC_DIR ""
#endif

/*
 * Records the time base for timestamps; call first thing in main(). Until
 * log_init() runs, messages go to stderr at LOG_DEFAULT_LEVEL.
 */
void log_early_init(void);

/*
 * Sends the log to @path (opened relative to @dirfd, created or truncated) or to
 * stderr when @path is NULL or "-", and sets the level. Single-threaded setup only.
 * Returns 0 or -errno (the log then stays on stderr).
 */
int log_init(int dirfd, const char *path, int level);

/* Closes a log file opened by log_init() and falls back to stderr. */
void log_fini(void);

int log_get_level(void);
int log_get_fd(void);

void log_print(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vprint(int level, const char *fmt, va_list args) __attribute__((format(printf, 2, 0)));

#define pr_msg(fmt, ...) log_print(LOG_MSG, fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...) \
	log_print(LOG_ERROR, "Error (" LOG_SRC_DIR __FILE__ ":%d): " LOG_PREFIX fmt, __LINE__, ##__VA_ARGS__)
#define pr_warn(fmt, ...) \
	log_print(LOG_WARN, "Warn  (" LOG_SRC_DIR __FILE__ ":%d): " LOG_PREFIX fmt, __LINE__, ##__VA_ARGS__)
#define pr_info(fmt, ...) log_print(LOG_INFO, LOG_PREFIX fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) log_print(LOG_DEBUG, LOG_PREFIX fmt, ##__VA_ARGS__)
/* Like pr_err, with ": strerror(errno)" appended; @fmt carries no trailing newline. */
#define pr_perror(fmt, ...) pr_err(fmt ": %m\n", ##__VA_ARGS__)

#endif /* CRIU_NG_LOG_H */
