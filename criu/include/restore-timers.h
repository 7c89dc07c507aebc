/*
 * criu restore: the timers of the process, set by syscalls injected into it
 * once its threads exist (a POSIX timer may signal one of them): the three
 * itimers (setitimer) and the POSIX timers (timer_create with the dumped id,
 * then timer_settime), from task_core_entry.timers. The caller blocks every
 * signal of the injected thread first: a timer armed here may fire before the
 * restore is over, and its signal must wait in the queue until then.
 */
#ifndef CRIU_NG_RESTORE_TIMERS_H
#define CRIU_NG_RESTORE_TIMERS_H

#include "restore-ctl.h"

#include "core.pb-c.h"

/* Creates and arms the timers of @t (NULL: none). Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int restore_timers(struct restore_ctl *ctl, const TaskTimersEntry *t);

#endif /* CRIU_NG_RESTORE_TIMERS_H */
