/*
 * File locks (criu's --file-locks): flock(2), POSIX (fcntl F_SETLK), open
 * file description (F_OFD_SETLK) locks and leases (F_SETLEASE), written to
 * filelocks.img in CRIU's format (a lease: flag FL_LEASE 32, type F_RDLCK or
 * F_WRLCK).
 *
 * Dump: one read of /proc/locks tells which files of the process may be
 * locked; only the fds on those files have their fdinfo read again, whose
 * "lock:" lines name exactly the locks taken through that open file (a
 * POSIX lock only when this process owns it). Without --file-locks a process
 * holding a lock is refused, as CRIU does; a lease being broken and
 * mandatory locks are refused always.
 *
 * A flock shows in the fdinfo of every process holding its description, but
 * names the one that took it: only that process's entry is written when it
 * holds the description too (else each holder's), so that it takes it again.
 *
 * Restore: an OFD lock belongs to the open file description, so criu takes it
 * on its own copy of the description before the fork and the process
 * inherits it; a POSIX lock belongs to the process, and a flock names the
 * process that took it: the process takes those itself once its fds are in
 * place, before it stops for ptrace; so does a lease, which makes its taker
 * the file's owner.
 */
#ifndef CRIU_NG_FILE_LOCKS_H
#define CRIU_NG_FILE_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "file-lock.pb-c.h"

struct fd_table;
struct restore_fds;
struct restore_image;

/*
 * The kinds of lock /proc/locks names, numbered as filelocks.img stores them: CRIU's own numbers, not the
 * kernel's FL_* bits (CRIU's restore takes any other value for an unknown kind).
 */
#define FILE_LOCK_POSIX 1
#define FILE_LOCK_FLOCK 2
#define FILE_LOCK_OFD 4
#define FILE_LOCK_LEASE 8

/* One lock found, and what decides which process's entry of a flock is written. */
struct file_lock_rec {
	FileLockEntry e;
	int owner;     /* the pid the kernel shows with it: who took it */
	uint32_t desc; /* the open file description it is on (its id in files.img) */
};

struct file_locks {
	struct file_lock_rec *v;
	size_t nr;
	size_t cap;
};

/*
 * Records the locks process @pid holds through the files of @t. With
 * @allowed false (no --file-locks), a lock fails the dump naming the fd.
 * Returns 0 or -errno (-EOPNOTSUPP, logged, for what can't be dumped).
 */
__attribute__((warn_unused_result)) int file_locks_collect(struct file_locks *fl, pid_t pid, const struct fd_table *t,
							   bool allowed);

/* Writes filelocks.img in @dirfd when there is a lock. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int file_locks_write(const struct file_locks *fl, int dirfd);

void file_locks_free(struct file_locks *fl);

/* Restore. */

/* Reads the locks of process ri->pid from filelocks.img (none if it is missing) and checks them. */
__attribute__((warn_unused_result)) int file_locks_load(int dirfd, struct restore_image *ri);
void file_locks_load_free(struct restore_image *ri);

/* In criu, before the fork: the OFD locks, on criu's copies of their files. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int file_locks_take_shared(const struct restore_image *ri,
							       const struct restore_fds *fds);

/*
 * In the restored process, its fds in place: its POSIX and flock locks (a flock
 * shows the pid of the process that took it). Logs nothing; returns 0 or -errno.
 */
int file_locks_take_own(const struct restore_image *ri);

#endif /* CRIU_NG_FILE_LOCKS_H */
