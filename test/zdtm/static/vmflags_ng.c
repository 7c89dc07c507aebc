/*
 * vmflags_ng: every mapping and madvise() flag a process can set comes back
 * exactly: the whole VmFlags line of each area (/proc/self/smaps) is the same
 * after restore, but soft-dirty ("sd"), which the kernel sets on every new
 * area. The areas: private and shared anonymous and file mappings, with
 * MADV_SEQUENTIAL, MADV_RANDOM, MADV_DONTFORK, MADV_WIPEONFORK, MADV_DONTDUMP,
 * MADV_MERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MAP_LOCKED, mlock2()
 * MLOCK_ONFAULT, MAP_NORESERVE, MAP_GROWSDOWN, MAP_DROPPABLE and mseal(),
 * alone and together. A flag the kernel can't set here (KSM or THP not built,
 * MAP_DROPPABLE before 6.11, mseal before 6.10) is left out with a message, never passed
 * silently: each area must show its flags before the checkpoint. The data of
 * each area is kept (but a droppable one's, which the kernel may drop), and
 * after restore a forked child sees the wipe-on-fork area zeroed and the
 * dont-fork area gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#define SYS_mseal_ng 462 /* x86-64, Linux 6.10 */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif

static char *filename = "vmflags_ng.test";
TEST_OPTION(filename, TEST_OPT_STRING, "file to map", false);

#define NR_PAGES 8
#define MAX_ADV 4

struct area {
	const char *what;
	int type;	  /* MAP_PRIVATE, MAP_SHARED or MAP_DROPPABLE */
	int mflags;	  /* more mmap() flags */
	bool file;	  /* of the test's file, not anonymous */
	int extra;	  /* EXTRA_* below */
	int adv[MAX_ADV]; /* madvise() calls, 0-terminated (MADV_NORMAL is 0) */
	const char *want; /* VmFlags it must show */

	char *addr;
	uint32_t crc;
	bool skipped;
	char flags[256]; /* VmFlags before the checkpoint */
};

#define EXTRA_ONFAULT 1 /* locked with mlock2(MLOCK_ONFAULT) */
#define EXTRA_SEAL 2	/* sealed with mseal(), last */

/* An area: name, mapping type, more mmap() flags, file?, EXTRA_*, VmFlags it must show, madvise() calls. */
#define AREA(_what, _type, _mflags, _file, _extra, _want, ...)                                                  \
	{                                                                                                       \
		.what = _what, .type = _type, .mflags = _mflags, .file = _file, .extra = _extra, .want = _want, \
		.adv = { __VA_ARGS__ }                                                                          \
	}

static struct area areas[] = {
	AREA("sequential", MAP_PRIVATE, 0, false, 0, "sr", MADV_SEQUENTIAL),
	AREA("random", MAP_PRIVATE, 0, false, 0, "rr", MADV_RANDOM),
	AREA("dontfork", MAP_PRIVATE, 0, false, 0, "dc", MADV_DONTFORK),
	AREA("wipeonfork", MAP_PRIVATE, 0, false, 0, "wf", MADV_WIPEONFORK),
	AREA("dontdump", MAP_PRIVATE, 0, false, 0, "dd", MADV_DONTDUMP),
	AREA("mergeable", MAP_PRIVATE, 0, false, 0, "mg", MADV_MERGEABLE),
	AREA("hugepage", MAP_PRIVATE, 0, false, 0, "hg", MADV_HUGEPAGE),
	AREA("nohugepage", MAP_PRIVATE, 0, false, 0, "nh", MADV_NOHUGEPAGE),
	AREA("locked", MAP_PRIVATE, MAP_LOCKED, false, 0, "lo", 0),
	AREA("lock-on-fault", MAP_PRIVATE, 0, false, EXTRA_ONFAULT, "lo lf", 0),
	AREA("noreserve", MAP_PRIVATE, MAP_NORESERVE, false, 0, "nr", 0),
	AREA("growsdown", MAP_PRIVATE, MAP_GROWSDOWN, false, 0, "gd", 0),
	AREA("droppable", MAP_DROPPABLE, 0, false, 0, "dp", 0),
	AREA("droppable wipeonfork", MAP_DROPPABLE, 0, false, 0, "dp wf rr", MADV_WIPEONFORK, MADV_RANDOM),
	AREA("all private", MAP_PRIVATE, MAP_LOCKED, false, 0, "lo sr dc dd hg", MADV_SEQUENTIAL, MADV_DONTFORK,
	     MADV_DONTDUMP, MADV_HUGEPAGE),
	AREA("wipe mergeable nohuge", MAP_PRIVATE, 0, false, 0, "wf mg nh rr", MADV_WIPEONFORK, MADV_MERGEABLE,
	     MADV_NOHUGEPAGE, MADV_RANDOM),
	AREA("shared anonymous", MAP_SHARED, 0, false, 0, "rr dd hg", MADV_RANDOM, MADV_DONTDUMP, MADV_HUGEPAGE),
	AREA("shared anonymous dontfork", MAP_SHARED, MAP_LOCKED, false, 0, "lo dc sr", MADV_DONTFORK, MADV_SEQUENTIAL),
	AREA("private file", MAP_PRIVATE, 0, true, 0, "rr dd nh", MADV_RANDOM, MADV_DONTDUMP, MADV_NOHUGEPAGE),
	AREA("shared file", MAP_SHARED, 0, true, 0, "sr dc", MADV_SEQUENTIAL, MADV_DONTFORK),
	AREA("sealed", MAP_PRIVATE, 0, false, EXTRA_SEAL, "sl rr", MADV_RANDOM),
	AREA("sealed shared file", MAP_SHARED, 0, true, EXTRA_SEAL, "sl dd", MADV_DONTDUMP),
	AREA("shared file locked", MAP_SHARED, MAP_LOCKED, true, 0, "lo hg dd", MADV_HUGEPAGE, MADV_DONTDUMP),
};

#define NR_AREAS (sizeof(areas) / sizeof(areas[0]))

/* The VmFlags line of the area at @addr into @flags; -1 if nothing is mapped there. */
static int vmflags_of(const void *addr, char *flags, size_t len)
{
	struct test_vma vma;

	if (test_vma_find(addr, &vma))
		return -1;
	snprintf(flags, len, "%s", vma.flags);
	return 0;
}

/* Whether the space-separated two-letter mnemonic list @list holds @flag. */
static bool has(const char *list, const char *flag)
{
	for (const char *p = list; *p; p++) {
		if ((p == list || p[-1] == ' ') && !strncmp(p, flag, 2) &&
		    (p[2] == ' ' || p[2] == '\0' || p[2] == '\n'))
			return true;
	}
	return false;
}

/* Every mnemonic of @a that @b lacks, but "sd", written into @out. */
static void missing(const char *a, const char *b, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (const char *p = a; *p; p++) {
		char flag[3] = { 0 };

		if (*p == ' ' || *p == '\n' || (p != a && p[-1] != ' '))
			continue;
		flag[0] = p[0];
		flag[1] = p[1];
		if (!strcmp(flag, "sd") || has(b, flag))
			continue;
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, " %s", flag);
	}
}

/* Whether the kernel can't do @advice here: the flag is then left out, with a message. */
static bool unsupported(int err)
{
	return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP;
}

/* Maps area @a (a file one at @off of @fd), fills it, sets its flags and records its VmFlags. */
static int set_up(struct area *a, int fd, size_t len, off_t off)
{
	int flags = a->type | a->mflags | (a->file ? 0 : MAP_ANONYMOUS);

	a->addr = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, a->file ? fd : -1, a->file ? off : 0);
	if (a->addr == MAP_FAILED) {
		if (a->type == MAP_DROPPABLE && unsupported(errno)) {
			test_msg("%s: MAP_DROPPABLE not supported by this kernel (%m), left out\n", a->what);
			a->skipped = true;
			return 0;
		}
		fail("%s: mmap", a->what);
		return -1;
	}
	datagen(a->addr, len, &a->crc);
	if ((a->extra & EXTRA_ONFAULT) && mlock2(a->addr, len, MLOCK_ONFAULT)) {
		fail("%s: mlock2", a->what);
		return -1;
	}
	for (int i = 0; i < MAX_ADV && a->adv[i]; i++) {
		if (!madvise(a->addr, len, a->adv[i]))
			continue;
		if (!unsupported(errno)) {
			fail("%s: madvise(%d)", a->what, a->adv[i]);
			return -1;
		}
		test_msg("%s: madvise(%d) not supported here (%m), left out\n", a->what, a->adv[i]);
		a->adv[i] = -1;
	}
	if ((a->extra & EXTRA_SEAL) && syscall(SYS_mseal_ng, a->addr, len, 0)) {
		if (!unsupported(errno)) {
			fail("%s: mseal", a->what);
			return -1;
		}
		test_msg("%s: mseal() not supported by this kernel (%m), left out\n", a->what);
		a->skipped = true;
		return 0;
	}
	if (vmflags_of(a->addr, a->flags, sizeof(a->flags))) {
		fail("%s: not in smaps", a->what);
		return -1;
	}
	for (const char *w = a->want; *w; w += w[2] ? 3 : 2) {
		char flag[3] = { w[0], w[1], 0 };

		if (!has(a->flags, flag)) {
			bool adv_skipped = false;

			for (int i = 0; i < MAX_ADV; i++)
				adv_skipped |= a->adv[i] == -1;
			if (adv_skipped)
				continue;
			fail("%s: VmFlags \"%s\" lack %s before the checkpoint", a->what, a->flags, flag);
			return -1;
		}
	}
	test_msg("%s at %p: %s\n", a->what, (void *)a->addr, a->flags);
	return 0;
}

/* After restore, in a forked child: the wipe-on-fork areas read zero, the dont-fork ones are gone. */
static int check_fork(size_t len)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		fail("fork");
		return -1;
	}
	if (pid == 0) {
		for (size_t i = 0; i < NR_AREAS; i++) {
			struct area *a = &areas[i];
			char flags[256];

			if (a->skipped)
				continue;
			if (has(a->flags, "dc")) {
				if (!vmflags_of(a->addr, flags, sizeof(flags)))
					_exit(10 + (int)i);
				continue;
			}
			if (has(a->flags, "wf")) {
				for (size_t b = 0; b < len; b++)
					if (a->addr[b])
						_exit(40 + (int)i);
			}
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		fail("waitpid");
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;

		if (code >= 40 && code - 40 < (int)NR_AREAS)
			fail("forked child: %s is not zeroed", areas[code - 40].what);
		else if (code >= 10 && code - 10 < (int)NR_AREAS)
			fail("forked child: %s was inherited", areas[code - 10].what);
		else
			fail("forked child failed (status %#x)", status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t len = NR_PAGES * (size_t)sysconf(_SC_PAGESIZE);
	bool ok = true;
	off_t off = 0;
	int fd;

	test_init(argc, argv);

	fd = open(filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)len * 4)) {
		fail("can't make %s", filename);
		return 1;
	}
	for (size_t i = 0; i < NR_AREAS; i++) {
		/* each file area maps its own part of the file: no two share pages */
		if (set_up(&areas[i], fd, len, off))
			return 1;
		if (areas[i].file)
			off += (off_t)len;
	}

	test_daemon();
	test_waitsig();

	for (size_t i = 0; i < NR_AREAS; i++) {
		struct area *a = &areas[i];
		char now[256], lost[256], gained[256];

		if (a->skipped)
			continue;
		if (vmflags_of(a->addr, now, sizeof(now))) {
			fail("%s: gone after restore", a->what);
			ok = false;
			continue;
		}
		missing(a->flags, now, lost, sizeof(lost));
		missing(now, a->flags, gained, sizeof(gained));
		if (lost[0] || gained[0]) {
			fail("%s: VmFlags \"%s\" became \"%s\" (lost:%s, gained:%s)", a->what, a->flags, now, lost,
			     gained);
			ok = false;
		}
		if (a->type != MAP_DROPPABLE && datachk(a->addr, len, a->crc)) {
			fail("%s: data changed", a->what);
			ok = false;
		}
	}
	if (ok && check_fork(len))
		ok = false;
	close(fd);
	if (ok)
		pass();
	return ok ? 0 : 1;
}
