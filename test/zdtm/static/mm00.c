/*
 * mm00: the mm fields the kernel keeps for a process survive (criu restores
 * them with PR_SET_MM): code, data, brk, stack, argument and environment
 * bounds from /proc/self/stat, the auxiliary vector, the exe link, and what
 * /proc/self/cmdline shows.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

/* /proc/PID/stat fields (1-based) holding mm addresses */
static const int stat_fields[] = { 26, 27, 28, 45, 46, 47, 48, 49, 50, 51 };
#define NR_FIELDS (sizeof(stat_fields) / sizeof(stat_fields[0]))
#define BLOB_MAX 4096

struct mm_state {
	unsigned long long fields[NR_FIELDS];
	char exe[PATH_MAX];
	char auxv[BLOB_MAX];
	ssize_t auxv_len;
	char cmdline[BLOB_MAX];
	ssize_t cmdline_len;
};

static ssize_t read_blob(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	while ((size_t)total < size && (n = read(fd, buf + total, size - total)) > 0)
		total += n;
	close(fd);
	return total;
}

static int read_stat_fields(unsigned long long *out)
{
	char buf[BLOB_MAX], *p, *save;
	ssize_t len = read_blob("/proc/self/stat", buf, sizeof(buf) - 1);
	int field = 3; /* the first token after "pid (comm) " */
	size_t next = 0;

	if (len <= 0)
		return -1;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	for (char *tok = strtok_r(p + 2, " ", &save); tok && next < NR_FIELDS; tok = strtok_r(NULL, " ", &save)) {
		if (field++ == stat_fields[next])
			out[next++] = strtoull(tok, NULL, 10);
	}
	return next == NR_FIELDS ? 0 : -1;
}

static int mm_state_get(struct mm_state *st)
{
	ssize_t n;

	memset(st, 0, sizeof(*st));
	/* fields[5] is arg_start: never 0 for a process with a command line */
	if (read_stat_fields(st->fields) || !st->fields[5] || st->fields[6] <= st->fields[5]) {
		fail("can't parse /proc/self/stat");
		return -1;
	}
	n = readlink("/proc/self/exe", st->exe, sizeof(st->exe) - 1);
	st->auxv_len = read_blob("/proc/self/auxv", st->auxv, sizeof(st->auxv));
	st->cmdline_len = read_blob("/proc/self/cmdline", st->cmdline, sizeof(st->cmdline));
	if (n <= 0 || st->auxv_len <= 0 || st->cmdline_len <= 0) {
		fail("can't read /proc/self/exe, auxv or cmdline");
		return -1;
	}
	return 0;
}

static int mm_state_compare(const struct mm_state *a, const struct mm_state *b)
{
	int ret = 0;

	for (size_t i = 0; i < NR_FIELDS; i++) {
		if (a->fields[i] != b->fields[i]) {
			fail("stat field %d is %#llx, was %#llx", stat_fields[i], b->fields[i], a->fields[i]);
			ret = -1;
		}
	}
	if (strcmp(a->exe, b->exe)) {
		fail("exe is %s, was %s", b->exe, a->exe);
		ret = -1;
	}
	if (a->auxv_len != b->auxv_len || memcmp(a->auxv, b->auxv, a->auxv_len)) {
		fail("the auxiliary vector changed");
		ret = -1;
	}
	if (a->cmdline_len != b->cmdline_len || memcmp(a->cmdline, b->cmdline, a->cmdline_len)) {
		fail("/proc/self/cmdline changed");
		ret = -1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	static struct mm_state before, after;

	test_init(argc, argv);
	if (mm_state_get(&before))
		return 1;

	test_daemon();
	test_waitsig();

	if (mm_state_get(&after) || mm_state_compare(&before, &after))
		return 1;
	pass();
	return 0;
}
