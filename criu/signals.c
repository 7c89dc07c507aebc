/*
 * Pending signals, peeked with PTRACE_PEEKSIGINFO a batch at a time: they stay
 * queued, so a dump that lets the process run on changes nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "signals.h"

#define LOG_PREFIX "signals: "
#include "log.h"

#define PEEK_BATCH 32

#ifndef PTRACE_PEEKSIGINFO_SHARED
#define PTRACE_PEEKSIGINFO_SHARED 1
#endif

/* The kernel's struct ptrace_peeksiginfo_args. */
struct peek_args {
	uint64_t off;
	uint32_t flags;
	int32_t nr;
};

static int grow(struct sigqueue_state *s, size_t more)
{
	siginfo_t *infos = realloc(s->infos, (s->nr + more) * sizeof(*infos));

	if (!infos)
		return -ENOMEM;
	s->infos = infos;
	return 0;
}

static int build_entries(struct sigqueue_state *s)
{
	signal_queue_entry__init(&s->q);
	if (!s->nr)
		return 0;
	s->entries = calloc(s->nr, sizeof(*s->entries));
	s->ptrs = calloc(s->nr, sizeof(*s->ptrs));
	if (!s->entries || !s->ptrs)
		return -ENOMEM;
	for (size_t i = 0; i < s->nr; i++) {
		siginfo_entry__init(&s->entries[i]);
		s->entries[i].siginfo.len = sizeof(siginfo_t);
		s->entries[i].siginfo.data = (uint8_t *)&s->infos[i];
		s->ptrs[i] = &s->entries[i];
	}
	s->q.n_signals = s->nr;
	s->q.signals = s->ptrs;
	return 0;
}

int signals_dump_queue(pid_t tid, bool shared, struct sigqueue_state *s)
{
	struct peek_args args = { .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0, .nr = PEEK_BATCH };
	int ret;

	memset(s, 0, sizeof(*s));
	for (;;) {
		long n;

		ret = grow(s, PEEK_BATCH);
		if (ret)
			return ret;
		args.off = s->nr;
		n = ptrace(PTRACE_PEEKSIGINFO, tid, &args, s->infos + s->nr);
		if (n < 0) {
			pr_perror("Can't peek the %s signals of thread %d", shared ? "shared" : "pending", tid);
			return -errno;
		}
		if (n == 0)
			break;
		s->nr += (size_t)n;
	}
	if (s->nr)
		pr_info("thread %d: %zu %s signal(s) pending\n", tid, s->nr, shared ? "shared" : "private");
	return build_entries(s);
}

void signals_fini(struct sigqueue_state *s)
{
	free(s->ptrs);
	free(s->entries);
	free(s->infos);
	memset(s, 0, sizeof(*s));
}
