/*
 * criu-run.h: running the criu binary from the benchmarks and the end-to-end tests: where it is,
 * one command timed (wall clock, peak RSS) in a chosen network namespace with its output in a
 * file, what --display-stats or the stats-dump image says the frozen time was, why criu refused
 * (a kind of resource or an option it does not support yet), and the images' file system floor
 * (the same bytes written to a file and read back).
 */
#ifndef TEST_LIB_CRIU_RUN_H
#define TEST_LIB_CRIU_RUN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif

struct criu_cmd {
	const char *netns; /* a /run/netns/NAME path to run in, or NULL: ours */
	const char *out;   /* stdout and stderr go to this file (created or truncated) */
	double wall_ms;	   /* set: fork to exit */
	long maxrss_kib;   /* set: the process's peak RSS (wait4's ru_maxrss) */
	int status;	   /* set: wait status */
};

/*
 * The criu binary of this tree: ../../criu/criu from this program (every test and bench is 2 deep),
 * or the one the environment variable CRIU_BIN names (to run the same test or bench on another).
 */
int criu_bin_path(char *buf, size_t len) __must_check;
/* A program of this tree by its path from the top (e.g. "test/e2e/e2e-server"), found the same way. */
int tree_bin_path(const char *rel, char *buf, size_t len) __must_check;

/* Run @argv (argv[0] a path, or a name looked up in PATH) as set in @cmd: 0 if it exited 0, -ECHILD if not (see cmd->status), or -errno. */
int criu_exec(char *const argv[], struct criu_cmd *cmd) __must_check;

/* The "@label: N us" line of --display-stats in the file @out, in ms, or -1. */
double criu_stat_ms(const char *out, const char *label);

/* The frozen time of a dump, in ms: from --display-stats in @out if given, else the stats-dump image in
 * @dir decoded by crit; -1 if neither says. */
double criu_frozen_ms(const char *out, const char *dir);

/*
 * Whether criu refused something it does not support yet (a kind of file, an option): 1 with the
 * line that says so in @why, 0 if not, looking in each of the files @paths (NULL-terminated).
 */
int criu_refusal(const char *const paths[], char *why, size_t len);

/* Print the lines of @path that hold @pfx and what follows them (a --display-stats block) to stdout. */
void criu_print_block(const char *path, const char *pfx, const char *indent);

/* The floor of moving @bytes through an image: written to a file in @dir in large writes, then read back. */
int floor_file_io(const char *dir, size_t bytes, double *write_ms, double *read_ms) __must_check;

/* Remove @dir and everything under it. */
int rm_tree(const char *dir);

#endif /* TEST_LIB_CRIU_RUN_H */
