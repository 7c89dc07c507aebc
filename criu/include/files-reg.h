/*
 * Regular files a dump refers to without an fd (the executable, cwd and root,
 * the files behind VMAs), collected with an id each and written as REG entries
 * of files.img. One table per dump, owned by the caller.
 */
#ifndef CRIU_NG_FILES_REG_H
#define CRIU_NG_FILES_REG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct reg_file {
	uint32_t id;
	uint32_t flags; /* O_* the file is to be opened with */
	char *path;
	uint64_t size;
	uint32_t mode;
};

struct files_reg {
	struct reg_file *files;
	size_t nr;
	size_t cap;
	uint32_t next_id; /* ids are given from 1 up */
};

/*
 * Records the file @path (absolute, as the process sees it) opened with @flags and
 * sets *@id; the same path and flags give the same id. @proc_link is a /proc
 * symlink to the same file (map_files/..., exe), which reaches it whatever mount
 * namespace the process is in: it is what gets stat()ed for size and mode.
 * Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int files_reg_add(struct files_reg *fr, const char *path, const char *proc_link,
						      uint32_t flags, uint32_t *id);

/*
 * Records the target of the symlink /proc/@pid/@link (exe, cwd, root) with @flags.
 * A target that was deleted is refused with -EOPNOTSUPP (not supported yet).
 */
__attribute__((warn_unused_result)) int files_reg_add_link(struct files_reg *fr, pid_t pid, const char *link,
							   uint32_t flags, uint32_t *id);

/* Writes files.img in @dirfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int files_reg_write(const struct files_reg *fr, int dirfd);

void files_reg_free(struct files_reg *fr);

#endif /* CRIU_NG_FILES_REG_H */
