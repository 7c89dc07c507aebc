/*
 * Parsing /proc/PID/stat, /proc/PID/task/TID/status and /proc/PID/limits for a dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc-parse.h"

#define LOG_PREFIX "proc: "
#include "log.h"

/* Fields 3 to 52 of /proc/PID/stat. */
#define STAT_FIRST_FIELD 3
#define STAT_LAST_FIELD 52
#define STAT_NR_FIELDS (STAT_LAST_FIELD - STAT_FIRST_FIELD + 1)

static void task_path(char *buf, size_t size, pid_t pid, pid_t tid, const char *name)
{
	if (tid)
		snprintf(buf, size, "/proc/%d/task/%d/%s", pid, tid, name);
	else
		snprintf(buf, size, "/proc/%d/%s", pid, name);
}

int proc_read_file(pid_t pid, const char *name, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char path[64], *buf, *nbuf;
	ssize_t n;
	int fd, ret = 0;

	task_path(path, sizeof(path), pid, 0, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		if (cap - len < 2) {
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				ret = -ENOMEM;
				break;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ret = -errno;
		if (n <= 0)
			break;
		len += n;
	}
	if (ret) {
		free(buf);
		goto out_close;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
out_close:
	close(fd);
	return ret;
}

/* Parses the fields after the command name of /proc/PID/stat text @buf (read from @path). */
static int parse_stat(const char *path, char *buf, struct proc_stat *st)
{
	unsigned long long f[STAT_NR_FIELDS];
	char *p, *end;
	int i;

	/* The command name may hold anything, ')' and spaces included: parse from the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ') {
		pr_err("%s: unexpected format\n", path);
		return -EINVAL;
	}
	memset(st, 0, sizeof(*st));
	st->state = p[2];
	p += 4;
	f[0] = 0;
	for (i = 1; i < STAT_NR_FIELDS; i++) {
		errno = 0;
		/* Signed fields (nice, exit code) parse through strtoll and keep their bits. */
		f[i] = (unsigned long long)strtoll(p, &end, 10);
		if (end == p || errno == ERANGE)
			f[i] = strtoull(p, &end, 10);
		if (end == p) {
			pr_err("%s: field %d is missing or malformed\n", path, i + STAT_FIRST_FIELD);
			return -EINVAL;
		}
		p = end;
	}
#define F(n) f[(n)-STAT_FIRST_FIELD]
	st->ppid = (pid_t)F(4);
	st->pgid = (pid_t)F(5);
	st->sid = (pid_t)F(6);
	st->flags = (unsigned int)F(9);
	st->nice = (long)F(19);
	st->num_threads = (long)F(20);
	st->start_code = F(26);
	st->end_code = F(27);
	st->start_stack = F(28);
	st->exit_signal = (unsigned int)F(38);
	st->start_data = F(45);
	st->end_data = F(46);
	st->start_brk = F(47);
	st->arg_start = F(48);
	st->arg_end = F(49);
	st->env_start = F(50);
	st->env_end = F(51);
	st->exit_code = (int)F(52);
#undef F
	return 0;
}

int proc_parse_stat(pid_t pid, pid_t tid, struct proc_stat *st)
{
	char name[48], path[64], *buf;
	size_t len;
	int ret;

	/* The whole file, however long: its 52 fields take more than a fixed buffer may hold. */
	if (tid)
		snprintf(name, sizeof(name), "task/%d/stat", tid);
	else
		snprintf(name, sizeof(name), "stat");
	task_path(path, sizeof(path), pid, 0, name);
	ret = proc_read_file(pid, name, &buf, &len);
	if (ret)
		return ret;
	ret = parse_stat(path, buf, st);
	free(buf);
	return ret;
}

static int parse_ids(const char *val, uint32_t ids[4])
{
	unsigned int v[4];

	if (sscanf(val, "%u %u %u %u", &v[0], &v[1], &v[2], &v[3]) != 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		ids[i] = v[i];
	return 0;
}

static int parse_groups(const char *val, struct proc_status *st)
{
	const char *p = val;
	size_t n = 0;
	char *end;

	for (const char *q = val; *q; q++)
		if (*q >= '0' && *q <= '9' && (q == val || q[-1] == ' ' || q[-1] == '\t'))
			n++;
	st->groups = calloc(n ? n : 1, sizeof(*st->groups));
	if (!st->groups)
		return -ENOMEM;
	while (st->nr_groups < n) {
		unsigned long g = strtoul(p, &end, 10);

		if (end == p)
			return -EINVAL;
		st->groups[st->nr_groups++] = (uint32_t)g;
		p = end;
	}
	return 0;
}

static int parse_hex64(const char *val, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(val, &end, 16);
	return end == val || errno ? -EINVAL : 0;
}

/* One "Key:\tvalue" line of status. */
static int parse_status_line(const char *key, const char *val, struct proc_status *st)
{
	if (!strcmp(key, "Umask"))
		return sscanf(val, "%o", &st->umask) == 1 ? 0 : -EINVAL;
	if (!strcmp(key, "Uid"))
		return parse_ids(val, st->uid);
	if (!strcmp(key, "Gid"))
		return parse_ids(val, st->gid);
	if (!strcmp(key, "Groups"))
		return parse_groups(val, st);
	if (!strcmp(key, "CapInh"))
		return parse_hex64(val, &st->cap_inh);
	if (!strcmp(key, "CapPrm"))
		return parse_hex64(val, &st->cap_prm);
	if (!strcmp(key, "CapEff"))
		return parse_hex64(val, &st->cap_eff);
	if (!strcmp(key, "CapBnd"))
		return parse_hex64(val, &st->cap_bnd);
	if (!strcmp(key, "CapAmb"))
		return parse_hex64(val, &st->cap_amb);
	if (!strcmp(key, "NoNewPrivs"))
		return sscanf(val, "%d", &st->no_new_privs) == 1 ? 0 : -EINVAL;
	if (!strcmp(key, "Seccomp"))
		return sscanf(val, "%d", &st->seccomp) == 1 ? 0 : -EINVAL;
	if (!strcmp(key, "THP_enabled"))
		return sscanf(val, "%d", &st->thp_enabled) == 1 ? 0 : -EINVAL;
	return 0;
}

int proc_parse_status(pid_t pid, pid_t tid, struct proc_status *st)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	memset(st, 0, sizeof(*st));
	st->thp_enabled = -1;
	task_path(path, sizeof(path), pid, tid, "status");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!ret && getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		*colon = '\0';
		ret = parse_status_line(line, colon + 1 + strspn(colon + 1, " \t"), st);
		if (ret)
			pr_err("%s: can't parse the %s line\n", path, line);
	}
	if (!ret && ferror(f))
		ret = -EIO;
	free(line);
	fclose(f);
	if (!ret && !st->groups)
		ret = parse_groups("", st);
	if (ret)
		proc_status_fini(st);
	return ret;
}

void proc_status_fini(struct proc_status *st)
{
	free(st->groups);
	st->groups = NULL;
	st->nr_groups = 0;
}

/*
 * The row names of /proc/PID/limits, in RLIMIT_* order (fs/proc/base.c prints
 * one row per resource, in this order). A row reads "NAME SOFT HARD [UNITS]",
 * the name padded to 25 columns, each limit a decimal number or "unlimited".
 * The units column only labels the numbers: they are the raw rlimit values.
 */
static const char *const limit_names[] = {
	[RLIMIT_CPU] = "Max cpu time",
	[RLIMIT_FSIZE] = "Max file size",
	[RLIMIT_DATA] = "Max data size",
	[RLIMIT_STACK] = "Max stack size",
	[RLIMIT_CORE] = "Max core file size",
	[RLIMIT_RSS] = "Max resident set",
	[RLIMIT_NPROC] = "Max processes",
	[RLIMIT_NOFILE] = "Max open files",
	[RLIMIT_MEMLOCK] = "Max locked memory",
	[RLIMIT_AS] = "Max address space",
	[RLIMIT_LOCKS] = "Max file locks",
	[RLIMIT_SIGPENDING] = "Max pending signals",
	[RLIMIT_MSGQUEUE] = "Max msgqueue size",
	[RLIMIT_NICE] = "Max nice priority",
	[RLIMIT_RTPRIO] = "Max realtime priority",
	[RLIMIT_RTTIME] = "Max realtime timeout",
};

_Static_assert(sizeof(limit_names) / sizeof(limit_names[0]) == RLIM_NLIMITS, "a name for every RLIMIT_*");

/* One limit value: "unlimited" or a decimal number; *@pos moves past it. */
static int parse_limit_value(const char **pos, uint64_t *val)
{
	const char *p = *pos + strspn(*pos, " \t");
	char *end;

	if (!strncmp(p, "unlimited", 9) && (p[9] == ' ' || p[9] == '\t' || p[9] == '\n' || !p[9])) {
		*val = RLIM64_INFINITY;
		*pos = p + 9;
		return 0;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	*val = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\t' && *end != '\n' && *end))
		return -EINVAL;
	*pos = end;
	return 0;
}

/* The resource of the row @line, or -1 when it names none we know (the header). */
static int limit_row(const char *line)
{
	for (int i = 0; i < RLIM_NLIMITS; i++) {
		size_t n = strlen(limit_names[i]);

		if (!strncmp(line, limit_names[i], n) && (line[n] == ' ' || line[n] == '\t'))
			return i;
	}
	return -1;
}

int proc_parse_limits(pid_t pid, struct rlimit64 limits[RLIM_NLIMITS])
{
	bool seen[RLIM_NLIMITS] = { false };
	char path[64], *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	task_path(path, sizeof(path), pid, 0, "limits");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!ret && getline(&line, &cap, f) > 0) {
		int res = limit_row(line);
		const char *p;

		if (res < 0)
			continue;
		p = line + strlen(limit_names[res]);
		ret = parse_limit_value(&p, &limits[res].rlim_cur);
		if (!ret)
			ret = parse_limit_value(&p, &limits[res].rlim_max);
		if (ret)
			pr_err("%s: can't parse the \"%s\" row\n", path, limit_names[res]);
		seen[res] = true;
	}
	if (!ret && ferror(f))
		ret = -EIO;
	for (int i = 0; !ret && i < RLIM_NLIMITS; i++) {
		if (!seen[i]) {
			pr_err("%s: no \"%s\" row\n", path, limit_names[i]);
			ret = -EINVAL;
		}
	}
	free(line);
	fclose(f);
	return ret;
}

int proc_fdinfo_lines(pid_t pid, int fd, int (*fn)(void *arg, char *line), void *arg)
{
	char name[64], *buf, *line, *save;
	size_t len;
	int ret;

	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	ret = proc_read_file(pid, name, &buf, &len);
	if (ret) {
		pr_err("can't read /proc/%d/%s: %s\n", pid, name, strerror(-ret));
		return ret;
	}
	for (line = strtok_r(buf, "\n", &save); !ret && line; line = strtok_r(NULL, "\n", &save))
		ret = fn(arg, line);
	free(buf);
	return ret;
}
