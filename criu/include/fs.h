/* fs-PID.img: a process's cwd and root (as ids in files.img) and its umask. */
#ifndef CRIU_NG_FS_H
#define CRIU_NG_FS_H

#include <stdint.h>
#include <sys/types.h>

/* Writes fs-@pid.img in @dirfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int fs_dump(int dirfd, pid_t pid, uint32_t cwd_id, uint32_t root_id,
						unsigned int umask);

#endif /* CRIU_NG_FS_H */
