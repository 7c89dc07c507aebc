/*
 * Pseudo-terminal pairs the tree made itself (/dev/ptmx and /dev/pts/N), both
 * directions, in CRIU's images: tty-info.img holds one tty_info_entry per end
 * (id index * 2 for the slave, + 1 for the master) with the termios, locked
 * termios and window size (the slave's: the kernel answers them on either end),
 * exclusive, locked and packet mode, and the session and foreground group the
 * slave controls; files.img one tty_file_entry per open description;
 * tty-data.img the bytes queued on an end, waiting to be read there (tty_id is
 * that end's).
 *
 * Dump: once the whole tree is walked, a slave whose master is not in it is the
 * shell job's terminal (--shell-job, restore-tty.h), else refused; a master
 * whose slave is open outside the tree is refused; a session the slave controls
 * needs its leader (and its foreground group's leader) in the tree; /dev/tty
 * stands for its holder's controlling terminal. The queued bytes are read from
 * criu's copies of the ends (non-blocking, the slave's line discipline made
 * non-canonical for the read) and put back at once with TIOCSTI, the slave's
 * input processing turned off meanwhile, so the tree finds them as they were.
 *
 * Restore: the tree's first process makes every pair: /dev/ptmx opened until
 * it gives the dumped index (refused if another pty holds it), unlocked, each
 * slave description opened, the queued bytes put in with TIOCSTI, then the
 * dumped settings. In the restored session leader, before it forks its
 * children, the slave becomes its controlling terminal (TIOCSCTTY) and the
 * foreground group's leader takes the foreground; /dev/tty is opened anew in
 * the processes that held it.
 */
#ifndef CRIU_NG_PTY_H
#define CRIU_NG_PTY_H

#include <stdbool.h>
#include <sys/types.h>

#include "fdinfo.pb-c.h"

struct files_dump;
struct restore_fds;
struct restore_image;
struct tty_table;

/* Dump: the checks above, on the whole tree's terminals. Returns 0, -EOPNOTSUPP (logged) or -errno. */
__attribute__((warn_unused_result)) int pty_check_tree(const struct tty_table *t);

/* Dump: tty-data.img in @dirfd with the queued bytes of each pair, left in place. */
__attribute__((warn_unused_result)) int pty_dump_data(const struct tty_table *t, int dirfd);

/* Dump, after the fd walk of process @pid (fd_kind.finish): notes its session and group. */
__attribute__((warn_unused_result)) int tty_finish(struct files_dump *fdump, pid_t pid);

/* Restore (fd_kind hooks of terminals). */
__attribute__((warn_unused_result)) int pty_load(int dirfd, struct restore_image *ri);
void pty_load_free(struct restore_image *ri);
__attribute__((warn_unused_result)) int pty_open(const struct restore_image *ri, struct restore_fds *fds);

/* True for a terminal file restore-tty.c attaches to criu's terminal (a shell job's): not made by pty.c. */
bool pty_file_inherited(const struct restore_image *ri, const FileEntry *fe);

/*
 * In restored process @ri, once in its session and group and before it forks
 * the children of that session: its controlling terminal, foreground group and
 * /dev/tty files (see above); nothing while it is not in its dumped session yet.
 * Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int pty_child_setup(const struct restore_image *ri, const struct restore_fds *fds);

#endif /* CRIU_NG_PTY_H */
