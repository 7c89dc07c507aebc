/*
 * Dumping a process's shared anonymous memory the way CRIU stores it: per
 * object (shmid = inode of its shmem file), pagemap-shmem-SHMID.img with the
 * runs of pages the object holds (vaddr = offset in the object) and a
 * pages-ID.img of its own with their contents.
 */
#ifndef CRIU_NG_SHMEM_H
#define CRIU_NG_SHMEM_H

#include <stdint.h>
#include <sys/types.h>

#include "vma.h"

struct shmem_dump_stats {
	uint64_t pages_scanned; /* pages of the objects, as far as the VMAs reach */
	uint64_t pages_written; /* pages written to their pages-ID.img */
	uint64_t us;		/* time spent */
};

struct dump_guard;

/*
 * Dumps every shared anonymous object the VMA_ANON_SHARED areas of @vmas of stopped
 * process @pid map, once each, into @dirfd. Pages images are numbered from
 * *@next_pages_id on, which is left at the next free id. Returns 0 or -errno;
 * -ECANCELED when @guard (NULL: never) gives the dump up, which it is asked
 * before every MiB copied.
 */
__attribute__((warn_unused_result)) int shmem_dump(int dirfd, pid_t pid, const struct vma_list *vmas,
						   uint32_t *next_pages_id, const struct dump_guard *guard,
						   struct shmem_dump_stats *stats);

/*
 * Dumps the shmem file open at @fd in criu (a memfd of process @pid, @size
 * bytes) as object @shmid with pages-@pages_id.img, the same way; a hugetlb
 * one (@hpage its page size, else 0) in huge pages, the all-zero ones left out.
 */
__attribute__((warn_unused_result)) int shmem_dump_file(int dirfd, pid_t pid, int fd, uint64_t shmid, uint64_t size,
							uint64_t hpage, uint32_t pages_id,
							const struct dump_guard *guard, struct shmem_dump_stats *stats);

#endif /* CRIU_NG_SHMEM_H */
