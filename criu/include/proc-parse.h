/*
 * Parsing what /proc says about a process or one of its threads: the fields of
 * /proc/PID/stat, /proc/PID/task/TID/status and /proc/PID/limits that a dump records.
 */
#ifndef CRIU_NG_PROC_PARSE_H
#define CRIU_NG_PROC_PARSE_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Fields of /proc/PID/stat (proc(5) numbering in the comments). */
struct proc_stat {
	char state;		  /* 3 */
	pid_t ppid;		  /* 4 */
	pid_t pgid;		  /* 5 */
	pid_t sid;		  /* 6 */
	unsigned int flags;	  /* 9: PF_* */
	long nice;		  /* 19 */
	long num_threads;	  /* 20 */
	uint64_t start_code;	  /* 26 */
	uint64_t end_code;	  /* 27 */
	uint64_t start_stack;	  /* 28 */
	unsigned int exit_signal; /* 38 */
	uint64_t start_data;	  /* 45 */
	uint64_t end_data;	  /* 46 */
	uint64_t start_brk;	  /* 47 */
	uint64_t arg_start;	  /* 48 */
	uint64_t arg_end;	  /* 49 */
	uint64_t env_start;	  /* 50 */
	uint64_t env_end;	  /* 51 */
	int exit_code;		  /* 52 */
};

/* What a dump takes from /proc/PID/task/TID/status. */
struct proc_status {
	unsigned int umask;
	uint32_t uid[4]; /* real, effective, saved, filesystem */
	uint32_t gid[4];
	uint64_t cap_inh;
	uint64_t cap_prm;
	uint64_t cap_eff;
	uint64_t cap_bnd;
	uint64_t cap_amb; /* 0 when the kernel doesn't say */
	int no_new_privs; /* prctl(PR_SET_NO_NEW_PRIVS) */
	uint32_t *groups; /* malloc'ed; free with proc_status_fini() */
	size_t nr_groups;
	int seccomp;	 /* 0 disabled, 1 strict, 2 filter */
	int thp_enabled; /* 1, 0, or -1 when the kernel doesn't say */
};

/* Parses /proc/@pid/task/@tid/stat (@tid 0: /proc/@pid/stat). -ESRCH when the task is gone. */
__attribute__((warn_unused_result)) int proc_parse_stat(pid_t pid, pid_t tid, struct proc_stat *st);

/* Parses /proc/@pid/task/@tid/status (@tid 0: /proc/@pid/status). */
__attribute__((warn_unused_result)) int proc_parse_status(pid_t pid, pid_t tid, struct proc_status *st);
void proc_status_fini(struct proc_status *st);

/*
 * Parses /proc/@pid/limits into @limits, indexed by RLIMIT_* ("unlimited" is
 * RLIM64_INFINITY). Unlike prlimit(2), it needs no CAP_SYS_RESOURCE to read a
 * process whose uids differ from ours. Returns 0 or -errno (-EINVAL when a row
 * is missing or malformed).
 */
__attribute__((warn_unused_result)) int proc_parse_limits(pid_t pid, struct rlimit64 limits[RLIM_NLIMITS]);

/*
 * Reads the whole of /proc/@pid/@name into a malloc'ed buffer (NUL-terminated
 * after *@len bytes). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int proc_read_file(pid_t pid, const char *name, char **buf, size_t *len);

/*
 * Calls @fn(@arg, line) on each line of /proc/@pid/fdinfo/@fd (without its
 * newline) until one returns non-zero. Returns 0, what @fn returned, or
 * -errno (logged, naming the file).
 */
__attribute__((warn_unused_result)) int proc_fdinfo_lines(pid_t pid, int fd, int (*fn)(void *arg, char *line),
							  void *arg);

#endif /* CRIU_NG_PROC_PARSE_H */
