/*
 * Pending signals of a stopped thread (its own queue) or process (the shared
 * queue), read without dequeuing them (PTRACE_PEEKSIGINFO), as CRIU's
 * signal_queue_entry of raw siginfo_t records.
 */
#ifndef CRIU_NG_SIGNALS_H
#define CRIU_NG_SIGNALS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "siginfo.pb-c.h"

/* A signal_queue_entry and the storage its fields point into. */
struct sigqueue_state {
	SignalQueueEntry q;
	SiginfoEntry *entries;
	SiginfoEntry **ptrs;
	siginfo_t *infos;
	size_t nr;
};

/*
 * Reads the queue of ptrace-stopped thread @tid (@shared: its process's shared
 * queue) into @s. Returns 0 or -errno; signals_fini() frees what @s holds.
 */
__attribute__((warn_unused_result)) int signals_dump_queue(pid_t tid, bool shared, struct sigqueue_state *s);
void signals_fini(struct sigqueue_state *s);

#endif /* CRIU_NG_SIGNALS_H */
