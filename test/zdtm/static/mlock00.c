/*
 * mlock00: areas locked in memory stay locked: one locked with mlock(), one
 * mapped MAP_LOCKED, one locked only in part (the kernel splits it); an area
 * never locked stays unlocked. A child locks an area as root, then lowers its
 * RLIMIT_MEMLOCK to 0 and becomes uid 18943: its area must come back locked
 * too, although it could no longer lock it itself. Pages keep their contents.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define AREA (16 * 4096)

/* Whether the area holding @addr has the VmFlags mnemonic "lo"; -1 if it isn't found. */
static int is_locked(const void *addr)
{
	unsigned long start, end, a = (unsigned long)addr;
	bool in_area = false;
	char line[512];
	int locked = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in_area = a >= start && a < end;
			continue;
		}
		if (in_area && !strncmp(line, "VmFlags:", 8)) {
			locked = strstr(line, " lo") != NULL;
			break;
		}
	}
	fclose(f);
	return locked;
}

static bool check(const char *what, const void *addr, int want)
{
	int now = is_locked(addr);

	if (now != want) {
		fail("%s: locked is %d, expected %d", what, now, want);
		return false;
	}
	return true;
}

static char *map_area(int flags, unsigned char fill)
{
	char *p = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED) {
		fail("mmap");
		return NULL;
	}
	memset(p, fill, AREA);
	return p;
}

static bool filled(const char *p, unsigned char fill)
{
	for (size_t i = 0; i < AREA; i++)
		if ((unsigned char)p[i] != fill)
			return false;
	return true;
}

static void __attribute__((noreturn)) child_main(int i, int ready)
{
	(void)i;
	struct rlimit none = { 0, 0 };
	char *p = map_area(0, 0x5c);

	if (!p || mlock(p, AREA) || setrlimit(RLIMIT_MEMLOCK, &none) || setresgid(18943, 18943, 18943) ||
	    setresuid(18943, 18943, 18943) || write(ready, "R", 1) != 1) {
		fail("can't set the child up");
		_exit(2);
	}
	close(ready);
	test_waitsig();
	if (!check("the child's area", p, 1) || !filled(p, 0x5c))
		_exit(1);
	_exit(0);
}

int main(int argc, char **argv)
{
	char *locked, *maplocked, *part, *plain;
	pid_t child;

	test_init(argc, argv);
	if (tree_fork_ready(&child, 1, child_main))
		return 1;
	locked = map_area(0, 0x11);
	maplocked = map_area(MAP_LOCKED, 0x22);
	part = map_area(0, 0x33);
	plain = map_area(0, 0x44);
	if (!locked || !maplocked || !part || !plain)
		return 1;
	if (mlock(locked, AREA) || mlock(part + AREA / 2, AREA / 2)) {
		fail("mlock");
		return 1;
	}
	if (!check("mlock()ed", locked, 1) || !check("MAP_LOCKED", maplocked, 1) || !check("first half", part, 0) ||
	    !check("second half", part + AREA / 2, 1) || !check("plain", plain, 0))
		return 1;

	test_daemon();
	test_waitsig();

	if (!check("mlock()ed", locked, 1) || !check("MAP_LOCKED", maplocked, 1) || !check("first half", part, 0) ||
	    !check("second half", part + AREA / 2, 1) || !check("plain", plain, 0))
		return 1;
	if (!filled(locked, 0x11) || !filled(maplocked, 0x22) || !filled(part, 0x33) || !filled(plain, 0x44)) {
		fail("an area lost its contents");
		return 1;
	}
	if (!tree_end_child(child, SIGTERM, "the child"))
		return 1;
	pass();
	return 0;
}
