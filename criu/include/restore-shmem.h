/*
 * criu restore: shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS). Each
 * object (shmid) comes back as one shared anonymous mapping of its size, made
 * in a free place of the process and filled from pagemap-shmem-SHMID.img and
 * its pages-ID.img; every VMA of the object is then a view of it at its offset
 * (mremap with old size 0 duplicates a shared mapping), set to its protection,
 * and the first mapping goes. The VMAs of one object so share its pages, as
 * they did when dumped. A lone process makes its objects itself. In a tree,
 * criu makes and fills every object first, in its own memory, keeps an fd on
 * it (through /proc/self/map_files) and unmaps it; every process then maps
 * that same object (pidfd_getfd from criu, then mmap), so no process waits for
 * another to make one and the tree is restored concurrently.
 *
 * A hugetlb object is made with its MAP_HUGETLB flags at a place aligned to its
 * page size; mremap() can't duplicate a hugetlb mapping, so each of its VMAs is
 * a mapping of criu's fd on the object (taken with pidfd_getfd) instead.
 */
#ifndef CRIU_NG_RESTORE_SHMEM_H
#define CRIU_NG_RESTORE_SHMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "restore-ctl.h"
#include "restore-image.h"

struct restore_shmem {
	uint64_t shmid;
	uint64_t size;	     /* bytes: as far as its VMAs reach */
	uint32_t huge_flags; /* a hugetlb object: MAP_HUGETLB and its page size, as in vma_entry.flags */
	uint64_t hpage;	     /* and that page size in bytes; 0 otherwise */
	uint32_t pages_id;
	PagemapEntry **runs; /* vaddr is the offset in the object */
	size_t nr_runs;
	uint64_t nr_pages;
};

/* The objects of a tree made so far: shmid and criu's fd on it. */
struct restore_shmem_made {
	uint64_t shmid;
	int fd;
};

struct restore_shmem_set {
	struct restore_shmem_made *objs;
	size_t nr;
	size_t cap;
	bool complete; /* every object of the tree is in: read only from then on */
};

void restore_shmem_set_free(struct restore_shmem_set *set);

/*
 * Makes in criu every object the @nr processes of @ris map, filled from the
 * images, and keeps criu's fd on each in @set, which is then complete.
 * Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_shmem_make_all(struct restore_shmem_set *set,
							       const struct restore_image *ris, size_t nr, int dirfd);

/* Reads and checks the objects the VMA_ANON_SHARED VMAs of @ri map into ri->shmems. */
__attribute__((warn_unused_result)) int restore_shmem_load(int dirfd, struct restore_image *ri);
void restore_shmem_free(struct restore_image *ri);

/*
 * Reads pagemap-shmem-SHMID.img of one object (@shm: shmid and size set,
 * the rest zero) and checks its pages image. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_shmem_load_object(int dirfd, struct restore_shmem *shm);
void restore_shmem_free_object(struct restore_shmem *shm);
/* Writes the pages of @shm into the shmem file open at @fd (a memfd). Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int restore_shmem_fill_fd(int dirfd, const struct restore_shmem *shm, int fd);
/* Copies the pages of @shm into criu's mapping of it at @base (a hugetlb memfd takes no write()). */
__attribute__((warn_unused_result)) int restore_shmem_fill_mem(int dirfd, const struct restore_shmem *shm, void *base);

/*
 * Brings object @shm back in the process of @ctl, using @scratch (a free range of
 * shm->size bytes) for its first mapping; shared with the other processes of
 * ctl->shmem_set when there is one. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_shmem_map(struct restore_ctl *ctl, const struct restore_image *ri,
							  const struct restore_shmem *shm, uint64_t scratch, int dirfd);

#endif /* CRIU_NG_RESTORE_SHMEM_H */
