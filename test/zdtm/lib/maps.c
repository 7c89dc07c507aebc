/*
 * maps.c: what /proc/self/smaps says about the mapping holding an address:
 * its bounds, permissions, resident size and VmFlags, for tests that check a mapping came
 * back as it was.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zdtmtst.h"

/* Parses "start-end perms ..." into vma; 0 on success. */
static int vma_parse_head(const char *line, struct test_vma *vma)
{
	unsigned long start, end;
	char perms[5];

	if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3)
		return -EINVAL;
	vma->start = start;
	vma->end = end;
	memcpy(vma->perms, perms, sizeof(vma->perms));
	vma->flags[0] = '\0';
	vma->rss_kb = 0;
	return 0;
}

int test_vma_find(const void *addr, struct test_vma *vma)
{
	uintptr_t a = (uintptr_t)addr;
	bool found = false;
	char line[1024];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct test_vma cur;

		if (found) {
			unsigned long kb;

			if (sscanf(line, "Rss: %lu kB", &kb) == 1)
				vma->rss_kb = kb;
			if (!strncmp(line, "VmFlags:", 8)) {
				const char *val = line + 8 + strspn(line + 8, " ");
				size_t n = strcspn(val, "\n");

				if (n >= sizeof(vma->flags))
					n = sizeof(vma->flags) - 1;
				memcpy(vma->flags, val, n);
				vma->flags[n] = '\0';
				break;
			}
			continue;
		}
		if (vma_parse_head(line, &cur))
			continue;
		if (a >= cur.start && a < cur.end) {
			*vma = cur;
			found = true;
		}
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

bool test_vma_has_flag(const struct test_vma *vma, const char *flag)
{
	char copy[sizeof(vma->flags)], *save, *tok;

	memcpy(copy, vma->flags, sizeof(copy));
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, flag))
			return true;
	return false;
}
