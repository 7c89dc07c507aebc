/*
 * Dumping a process's private memory: the pages /proc/PID/pagemap shows as
 * present or swapped (never-touched pages are skipped), written as CRIU's
 * pagemap-PID.img (a pagemap_head, then one pagemap_entry per run of pages) and
 * pages-ID.img (the contents of those runs, back to back, no header).
 */
#ifndef CRIU_NG_MEM_H
#define CRIU_NG_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vma.h"

#include "pagemap.pb-c.h"

/* pagemap_entry.flags bits (CRIU's values). */
#define PE_PARENT (1u << 0)
#define PE_LAZY (1u << 1)
#define PE_PRESENT (1u << 2)

struct mem_dump_stats {
	uint64_t pages_scanned; /* pages of the VMAs whose private pages are dumped */
	uint64_t pages_written; /* pages written to pages-ID.img */
	uint64_t pages_parent;	/* pages left to the parent (cow_parent runs) */
	uint64_t scan_us;	/* time spent reading pagemap */
	uint64_t write_us;	/* time spent copying contents into the image */
};

struct dump_guard;

/*
 * The parent of the process being dumped, stopped too, and per VMA of the process whether
 * the restore premaps it inherited from the parent's (cow_dump_plan(), include/mem-cow.h).
 */
struct mem_cow_src {
	pid_t parent;
	const bool *vmas;
};

/*
 * Dumps the private pages of the @vmas of stopped process @pid into
 * pagemap-@pid.img and pages-@pages_id.img in @dirfd. With @cow (else NULL), a page of
 * an inherited VMA that is the very frame of the parent's page at that address (their
 * PFNs in /proc/PID/pagemap) is not written: a cow_parent run leaves it to the parent.
 * Returns 0 or -errno; -ECANCELED when @guard (NULL: never) gives the dump up, which it
 * is asked before every MiB copied and every 16 MiB of address space scanned.
 */
__attribute__((warn_unused_result)) int mem_dump_pages(int dirfd, pid_t pid, const struct vma_list *vmas,
						       uint32_t pages_id, const struct mem_cow_src *cow,
						       const struct dump_guard *guard, struct mem_dump_stats *stats);

/* True for a run of a child's pages that are its parent's (criu-ng's cow_parent field). */
static inline bool pagemap_entry_cow_parent(const PagemapEntry *pe)
{
	return pe->has_cow_parent && pe->cow_parent;
}

/*
 * Reads a pagemap entry from an image as CRIU's restore does: the run's length from
 * compat_nr_pages when nr_pages is absent (images of older writers), PE_PARENT for
 * in_parent, PE_PRESENT when there are no flags. The result is in pe->nr_pages and
 * pe->flags. Returns 0 when the run's pages are in this dump's pages image (PE_LAZY
 * beside PE_PRESENT only says they could have been served lazily), 1 when they are
 * the parent process's (cow_parent, with flags PE_PARENT alone; -EINVAL with other
 * flags), -EOPNOTSUPP when they are in a parent image (PE_PARENT without cow_parent:
 * a pre-dump chain) or only with a lazy-pages server.
 */
__attribute__((warn_unused_result)) int pagemap_entry_normalize(PagemapEntry *pe);

#endif /* CRIU_NG_MEM_H */
