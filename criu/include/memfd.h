/*
 * memfds, the MEMFD kind of fd, as CRIU records them: one memfd_file_entry in
 * files.img per open description (an fd's, or a mapping's, whose vma_entry
 * names it by shmid with VMA_AREA_MEMFD), one memfd_inode_entry in memfd.img
 * per memfd (name, owner, size, seals) and its contents as shared memory
 * object SHMID (the inode number): pagemap-shmem-SHMID.img and a pages image.
 *
 * The restore makes each memfd once in criu before the fork (name, size,
 * contents, owner, then its seals), for the tree's first process, and every
 * description of it, fd or mapping, is a reopening of that one file: writes
 * through one are seen through the others, whichever process holds it. The
 * later processes are given the descriptions they need (FD_KIND_TREE).
 * hugetlb memfds (MFD_HUGETLB) as CRIU records them: hugetlb_flag in their
 * memfd_inode_entry, the page size in their VMAs' flags.
 */
#ifndef CRIU_NG_MEMFD_H
#define CRIU_NG_MEMFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-kind.h"
#include "files-reg.h"

#include "fdinfo.pb-c.h"

struct cr_img;
struct dump_guard;
struct shmem_dump_stats;
struct vma_area;

struct memfd_inode {
	dev_t dev;
	ino_t ino;
	uint32_t id; /* inode_id */
	int fd;	     /* criu's read-only reopening, for the contents */
	char *name;  /* after "/memfd:" */
	uint32_t uid;
	uint32_t mode; /* permission bits */
	uint32_t gid;
	uint64_t size;
	uint32_t seals;
	uint32_t pages_id;     /* of its contents, once dumped */
	uint64_t hpage;	       /* a hugetlb memfd: its page size; 0 otherwise */
	uint32_t hugetlb_flag; /* and its memfd_create() flags (memfd_inode_entry.hugetlb_flag) */
};

struct memfd_file {
	uint32_t id;
	uint32_t flags;
	uint64_t pos;
	uint32_t inode_id;
	bool vma; /* made for a mapping, not an fd */
	struct reg_fown fown;
};

struct memfd_dump {
	struct memfd_inode *inodes;
	size_t nr_inodes;
	size_t cap_inodes;
	struct memfd_file *files;
	size_t nr_files;
	size_t cap_files;
};

/* The MEMFD row of the fd kinds (fd-kind.h). */

/* True when the fd's /proc link names a memfd ("/memfd:NAME (deleted)"). */
bool memfd_match(const struct fd_probe *p);

/* Records the description of @p and, the first time, its memfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int memfd_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);

/*
 * Records the memfd behind @vma of process @pid (opened through @link, its
 * map_files entry) as a description opened with @flags: *@id is the file id
 * its vma_entry names. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int memfd_add_vma(struct files_dump *fdump, pid_t pid, const struct vma_area *vma,
						      const char *link, uint32_t flags, uint32_t *id);

/*
 * Dumps the contents of every memfd of @fdump (process @pid stopped) into
 * @dirfd, pages images numbered from *@next_pages_id on. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int memfd_dump_contents(struct files_dump *fdump, int dirfd, pid_t pid,
							    uint32_t *next_pages_id, const struct dump_guard *guard,
							    struct shmem_dump_stats *stats);

/* Appends one MEMFD file_entry per description to @img (files.img). */
__attribute__((warn_unused_result)) int memfd_write_files(const struct files_dump *fdump, struct cr_img *img);

/* Writes memfd.img, when there are memfds. */
__attribute__((warn_unused_result)) int memfd_write_images(const struct files_dump *fdump, int dirfd);

void memfd_dump_free(struct files_dump *fdump);

/* Checks a MEMFD file_entry of @img_name. Returns 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int memfd_check_entry(const FileEntry *fe, const char *img_name);

/* Reads memfd.img when files.img has memfds. Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int memfd_load(int dirfd, struct restore_image *ri);
void memfd_load_free(struct restore_image *ri);

/*
 * For the tree's first process: makes every memfd, then every description of files.img. Checks
 * in every process that no mapping writes a memfd sealed against it. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int memfd_open(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_MEMFD_H */
