/*
 * timerfds, the TIMERFD kind of fd (fd-kind.h). At dump, /proc/PID/fdinfo
 * gives the clock, the expirations not read yet, the arming flags, the time
 * left and the period. At restore criu creates the timer before the fork and
 * arms it again with the time that was left (a timer waits while the process
 * is checkpointed, as CRIU's do), then sets its unread expirations
 * (TFD_IOC_SET_TICKS). An absolute timer is armed at now + what was left, so
 * TFD_TIMER_CANCEL_ON_SET keeps working; a periodic timer that had expired
 * and not been read yet is armed one period ahead.
 */
#ifndef CRIU_NG_TIMERFD_H
#define CRIU_NG_TIMERFD_H

#include <stddef.h>
#include <stdint.h>

#include "fd-kind.h"

#include "fdinfo.pb-c.h"

struct timerfd_file {
	TimerfdEntry e;
	FownEntry fown;
};

struct timerfd_dump {
	struct timerfd_file *v;
	size_t nr;
	size_t cap;
};

bool timerfd_match(const struct fd_probe *p);
__attribute__((warn_unused_result)) int timerfd_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);
__attribute__((warn_unused_result)) int timerfd_write_files(const struct files_dump *fdump, struct cr_img *img);
void timerfd_dump_free(struct files_dump *fdump);

/* Checks a TIMERFD file_entry of @img_name. Returns 0, -EINVAL (logged) or -EOPNOTSUPP. */
__attribute__((warn_unused_result)) int timerfd_check_entry(const FileEntry *fe, const char *img_name);
/* Creates and arms in criu every timerfd the process's fds need. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int timerfd_open(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_TIMERFD_H */
