/*
 * criu restore: the terminal fds of a shell job (--shell-job, -j). As CRIU
 * does, the process is not given back the terminal it was dumped on: each fd
 * that was its controlling terminal (or /dev/tty) is opened anew on the
 * terminal criu itself runs on (its stdin's, else /dev/tty), with the
 * termios and window size the dump recorded. The process joins criu's
 * session; it keeps its own process group if it led one, else it joins
 * criu's, and its group takes the foreground when it had it and criu has it.
 * Without --shell-job images with terminal fds are refused.
 */
#ifndef CRIU_NG_RESTORE_TTY_H
#define CRIU_NG_RESTORE_TTY_H

#include <stdbool.h>

#include "restore-image.h"

struct restore_fds;

/*
 * After the images are loaded, before anything is touched: refuses terminal
 * fds without @shell_job; with it, moves @ri's process into criu's session
 * (its pstree entry's sid and pgid are rewritten). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int restore_tty_session(struct restore_image *ri, bool shell_job);

/*
 * Before the fork: opens criu's terminal above the highest dumped fd for every
 * terminal file of @ri's fds, into @fds (closed by restore_fds_close()), and
 * sets the recorded termios and window size on it (tty-info.img in @dirfd).
 */
__attribute__((warn_unused_result)) int restore_tty_open(int dirfd, const struct restore_image *ri,
							 struct restore_fds *fds);

/* After the fork, the process stopped in its group: gives its group the foreground (see above). */
__attribute__((warn_unused_result)) int restore_tty_foreground(int dirfd, const struct restore_image *ri,
							       const struct restore_fds *fds);

#endif /* CRIU_NG_RESTORE_TTY_H */
