/*
 * hugetlb_ng: anonymous hugetlb memory (MAP_HUGETLB) of the default huge page
 * size comes back: a private area and a shared one, the shared one split by
 * mprotect() into two areas of one object and shared with a child. Each keeps
 * its contents, its VmFlags ("ht"), page size and name; the private area
 * holds only the huge pages it had (smaps' Private_ and Shared_Hugetlb add up as before: a
 * huge page never touched is not taken by the restore); what the child writes
 * after restore the parent reads. Skipped, saying why, when the machine has
 * too few free huge pages (/proc/sys/vm/nr_hugepages).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define NR_HUGE 4 /* huge pages of each area */
#define MARK "written by the child after restore"

struct hinfo {
	char name[128];
	char flags[256];
	unsigned long kps_kb, priv_kb, shared_kb;
};

/* A "Key: N kB" value of /proc/meminfo; -1 if missing. */
static long meminfo(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && sscanf(line + strlen(key), ": %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* What smaps says of the area at @addr: its name, VmFlags, page size and hugetlb pages. */
static int smaps_of(const void *addr, struct hinfo *h)
{
	unsigned long start, end, a = (unsigned long)addr;
	char line[512];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	memset(h, 0, sizeof(*h));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		int n = 0;

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s%n", &start, &end, &n) == 2 && n) {
			in = a >= start && a < end;
			if (in) {
				found = true;
				sscanf(line + n, " %127[^\n]", h->name);
			}
			continue;
		}
		if (!in)
			continue;
		if (sscanf(line, "KernelPageSize: %lu kB", &h->kps_kb) == 1 ||
		    sscanf(line, "Private_Hugetlb: %lu kB", &h->priv_kb) == 1 ||
		    sscanf(line, "Shared_Hugetlb: %lu kB", &h->shared_kb) == 1)
			continue;
		if (!strncmp(line, "VmFlags:", 8))
			sscanf(line + 8, " %255[^\n]", h->flags);
	}
	fclose(f);
	return found ? 0 : -1;
}

/*
 * Whether area @b is @a again; with @pages, holding as many huge pages too
 * (shared with the child by copy-on-write or not; a shared object's pages are
 * mapped again as they are used, as after a fork).
 */
static bool same(const char *what, const struct hinfo *a, const struct hinfo *b, bool pages)
{
	if (strcmp(a->name, b->name) || strcmp(a->flags, b->flags) || a->kps_kb != b->kps_kb ||
	    (pages && a->priv_kb + a->shared_kb != b->priv_kb + b->shared_kb)) {
		fail("%s: was \"%s\" [%s] page %lu kB, hugetlb private %lu shared %lu kB; now \"%s\" [%s] page %lu kB, "
		     "private %lu shared %lu kB",
		     what, a->name, a->flags, a->kps_kb, a->priv_kb, a->shared_kb, b->name, b->flags, b->kps_kb,
		     b->priv_kb, b->shared_kb);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct hinfo before[3], after[3];
	long hp_kb, free_pages;
	size_t hp, len;
	uint8_t *priv, *shared;
	uint32_t crc[4];
	pid_t child;

	test_init(argc, argv);
	hp_kb = meminfo("Hugepagesize");
	free_pages = meminfo("HugePages_Free");
	if (hp_kb <= 0 || free_pages < 2 * NR_HUGE)
		test_skip("%ld free huge pages of %ld kB, %d needed: set /proc/sys/vm/nr_hugepages", free_pages, hp_kb,
			  2 * NR_HUGE);
	hp = (size_t)hp_kb * 1024;
	len = NR_HUGE * hp;

	priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (priv == MAP_FAILED || shared == MAP_FAILED) {
		fail("mmap(MAP_HUGETLB)");
		return 1;
	}
	/* huge pages 0 and 2 of the private area, 1 and 3 of the shared one; the others never touched */
	datagen(priv, hp, &crc[0]);
	datagen(priv + 2 * hp, hp, &crc[1]);
	datagen(shared + hp, hp, &crc[2]);
	datagen(shared + 3 * hp, hp, &crc[3]);
	/* the shared object in two areas: its last two huge pages read-only */
	if (mprotect(shared + 2 * hp, 2 * hp, PROT_READ)) {
		fail("mprotect");
		return 1;
	}

	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		test_waitsig();
		if (datachk(shared + hp, hp, crc[2])) {
			fail("the child's hugetlb memory changed");
			_exit(1);
		}
		memcpy(shared, MARK, sizeof(MARK));
		_exit(0);
	}
	if (smaps_of(priv, &before[0]) || smaps_of(shared, &before[1]) || smaps_of(shared + 2 * hp, &before[2])) {
		fail("the areas are not in smaps");
		return 1;
	}
	for (int i = 0; i < 3; i++)
		test_msg("area %d: \"%s\" [%s] page %lu kB, hugetlb private %lu shared %lu kB\n", i, before[i].name,
			 before[i].flags, before[i].kps_kb, before[i].priv_kb, before[i].shared_kb);
	if (before[0].priv_kb + before[0].shared_kb != 2 * (unsigned long)hp_kb || !strstr(before[0].flags, " ht")) {
		fail("the private area doesn't look like hugetlb memory holding 2 huge pages");
		return 1;
	}

	test_daemon();
	test_waitsig();

	/* before anything reads the untouched huge pages */
	if (smaps_of(priv, &after[0]) || smaps_of(shared, &after[1]) || smaps_of(shared + 2 * hp, &after[2])) {
		fail("the areas are gone");
		return 1;
	}
	if (!same("private", &before[0], &after[0], true) || !same("shared", &before[1], &after[1], false) ||
	    !same("shared, read-only part", &before[2], &after[2], false))
		return 1;
	if (datachk(priv, hp, crc[0]) || datachk(priv + 2 * hp, hp, crc[1]) || datachk(shared + hp, hp, crc[2]) ||
	    datachk(shared + 3 * hp, hp, crc[3])) {
		fail("hugetlb memory changed");
		return 1;
	}
	for (size_t i = 0; i < hp; i += 4096) {
		if (priv[hp + i] || shared[2 * hp + i]) {
			fail("a huge page never written isn't zero");
			return 1;
		}
	}
	if (!tree_end_child(child, SIGTERM, "the child"))
		return 1;
	if (memcmp(shared, MARK, sizeof(MARK))) {
		fail("what the child wrote is not in the parent's hugetlb memory: not shared any more");
		return 1;
	}
	pass();
	return 0;
}
