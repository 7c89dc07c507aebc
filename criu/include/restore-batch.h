/*
 * criu restore: lists of system calls a restored thread runs by itself, with
 * one ptrace stop at the end instead of two per call.
 *
 * A small position-independent interpreter (restore-batch.c) is copied into a
 * scratch mapping of the process. A list is an array of records (number, six
 * arguments, result) in that mapping, ended by a record of number -1; a thread
 * pointed at the interpreter with r12 at its list runs every record, storing
 * each result, stops early at the first failing record marked RB_CHECK, and
 * then stops itself with SIGSTOP (signal-delivery-stop: criu suppresses it). A
 * clone3 record marked RB_CLONE makes the new thread go on with the list whose
 * address is the record's third argument, so the leader creates every thread in
 * one run and each thread sets up its own state at the same time.
 *
 * A SIGSTOP flushes pending SIGCONTs from the whole process: lists run before
 * any signal is queued.
 */
#ifndef CRIU_NG_RESTORE_BATCH_H
#define CRIU_NG_RESTORE_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "restore-ctl.h"

#define RB_CHECK 1u /* a -errno result ends the list (the error is reported) */
#define RB_CLONE 2u /* clone3: the child runs the list at args[2] */

/* One record as the interpreter reads it (64 bytes). */
struct rb_rec {
	uint32_t nr;
	uint32_t flags;
	uint64_t args[6];
	int64_t ret;
};

/* What criu alone keeps of a record, to check its result. */
struct rb_meta {
	const char *what;
	int64_t expect; /* the result it must have, when has_expect */
	int has_expect;
};

/* One list being built in criu: records at @base in the process, then its data. */
struct rbatch {
	uint64_t base;
	size_t max_recs;  /* records it may hold, its end not counted */
	size_t data_room; /* bytes of data after the records */
	struct rb_rec *recs;
	struct rb_meta *meta;
	size_t nr;
	unsigned char *data;
	size_t data_len;
	int err; /* the first error while building: -E2BIG, -ENOMEM */
};

/* A thread's list: room for its state (the bounding set may take 64 records) in one slot. */
#define RB_THREAD_RECS 95
#define RB_THREAD_DATA 2048
#define RB_THREAD_SLOT ((RB_THREAD_RECS + 1) * sizeof(struct rb_rec) + RB_THREAD_DATA)

/*
 * The scratch mapping: the interpreter's page, the leader's list (a clone3 per
 * thread, then its own state), one slot per other thread.
 */
struct rb_scratch {
	uint64_t addr;
	size_t size;
	size_t leader_off;		 /* the leader's list */
	size_t leader_recs, leader_data; /* what rbatch_init is given for it */
	size_t slots_off;		 /* the first thread slot */
};

/* Maps the scratch area for @nr_threads other threads in the process of @ctl, the interpreter in it. */
__attribute__((warn_unused_result)) int rb_scratch_map(struct restore_ctl *ctl, struct rb_scratch *s,
						       size_t nr_threads);
/* Unmaps it (injected). Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int rb_scratch_unmap(struct restore_ctl *ctl, struct rb_scratch *s);
/* The leader's list, and the slot of thread @i (0-based, the leader not counted). */
void rb_scratch_leader(const struct rb_scratch *s, struct rbatch *b);
void rb_scratch_thread(const struct rb_scratch *s, size_t i, struct rbatch *b);

/* Starts an empty list at @base: up to @max_recs records, then @data_room bytes of data. */
void rbatch_init(struct rbatch *b, uint64_t base, size_t max_recs, size_t data_room);
void rbatch_fini(struct rbatch *b);

/* Adds syscall @nr with @nargs uint64_t arguments; @what names it in errors. */
void rbatch_add(struct rbatch *b, const char *what, uint32_t flags, long nr, unsigned int nargs, ...);
/* The last record added must return @value. */
void rbatch_expect(struct rbatch *b, int64_t value);
/* Copies @len bytes into the list's data; returns their address in the process (0 when full: b->err). */
uint64_t rbatch_data(struct rbatch *b, const void *buf, size_t len);

/* Writes the list (and its end) into the process. Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int rbatch_write(struct restore_ctl *ctl, struct rbatch *b);
/*
 * Reads the results back after the run and checks them: every record ran, none
 * marked RB_CHECK failed, each expected value is there. @tid names the thread
 * in errors. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int rbatch_check(struct restore_ctl *ctl, struct rbatch *b, pid_t tid);

/*
 * Runs the interpreter in the leader of @ctl, stopped under ptrace, on @list: the PTRACE_EVENT_CLONE stops of its clone3 records are passed over,
 * each new thread among @tids (@nr) is let run from its first stop; returns once
 * the leader and every thread it created stopped themselves (in a
 * signal-delivery-stop of SIGSTOP, which the next resume or detach suppresses). *@created counts
 * the threads created (in the order of @tids). The leader's registers are
 * clobbered. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int rb_run(struct restore_ctl *ctl, const struct rb_scratch *s,
					       const struct rbatch *list, const pid_t *tids, size_t nr,
					       size_t *created);

#endif /* CRIU_NG_RESTORE_BATCH_H */
