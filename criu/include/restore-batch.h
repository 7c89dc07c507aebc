/*
 * criu restore: lists of system calls that restored threads run by themselves,
 * instead of two ptrace stops per call.
 *
 * A small position-independent interpreter (restore-batch.c) is copied into a
 * scratch mapping of the process. A list is an array of records (number, six
 * arguments, result) in that mapping, ended by a record of number -1; a thread
 * pointed at the interpreter with r12 at its list runs every record and stores
 * each result. A record marked RB_CHECK that fails sends the list on to its
 * tail (rbatch_tail(); its end by default), a record marked RB_REPEAT runs
 * again and again, and the end of a list stops the thread with SIGSTOP (a
 * signal-delivery-stop when traced: criu suppresses it). A clone3 record marked
 * RB_CLONE makes the new thread go on with the list whose address is the
 * record's third argument.
 *
 * So the leader, traced but with PTRACE_O_TRACECLONE off, creates every thread
 * in one run and without a stop: each new thread sets its own state at once,
 * then (its list's tail) marks a word done with FUTEX_WAKE_OP and waits
 * forever on a futex; the leader sets its own state, waits for each thread's
 * word and stops itself. criu then seizes and interrupts the threads in their
 * wait.
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

#define RB_CHECK 1u  /* a -errno result ends the list (the error is reported) */
#define RB_CLONE 2u  /* clone3: the child runs the list at args[2] */
#define RB_REPEAT 4u /* run it again, forever (a wait that must not end) */

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
	size_t tail; /* where a failed RB_CHECK record sends the list; nothing from there is checked */
	int has_tail;
	unsigned char *data;
	size_t data_len;
	int err; /* the first error while building: -E2BIG, -ENOMEM */
};

/* A thread's list: room for its state (the bounding set may take 64 records) in one slot. */
#define RB_THREAD_RECS 95
#define RB_THREAD_DATA 2048
#define RB_THREAD_SLOT ((RB_THREAD_RECS + 1) * sizeof(struct rb_rec) + RB_THREAD_DATA)
/* What the leader's list holds more for the process: a prlimit64 per rlimit, PR_SET_DUMPABLE. */
#define RB_PROCESS_RECS 20
#define RB_PROCESS_DATA 512

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
	unsigned char *image;		 /* what goes from leader_off to the end, built in criu */
};

/* Maps the scratch area for @nr_threads other threads in the process of @ctl, the interpreter in it. */
__attribute__((warn_unused_result)) int rb_scratch_map(struct restore_ctl *ctl, struct rb_scratch *s,
						       size_t nr_threads);
/* Writes every list built (rbatch_end() each first) into the process at once. Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int rb_scratch_write(struct restore_ctl *ctl, const struct rb_scratch *s);
/* Unmaps it (injected). Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int rb_scratch_unmap(struct restore_ctl *ctl, struct rb_scratch *s);
/* Frees criu's image of the lists (after they are checked). */
void rb_scratch_free(struct rb_scratch *s);
/* The leader's list, and the slot of thread @i (0-based, the leader not counted). */
void rb_scratch_leader(const struct rb_scratch *s, struct rbatch *b);
void rb_scratch_thread(const struct rb_scratch *s, size_t i, struct rbatch *b);

/*
 * Starts an empty list at @base in the process, built at @buf in criu: up to
 * @max_recs records and their end, then @data_room bytes of data.
 */
void rbatch_init(struct rbatch *b, uint64_t base, void *buf, size_t max_recs, size_t data_room);
void rbatch_fini(struct rbatch *b);

/* Adds syscall @nr with @nargs uint64_t arguments (5 at most with RB_CHECK); @what names it in errors. */
void rbatch_add(struct rbatch *b, const char *what, uint32_t flags, long nr, unsigned int nargs, ...);
/* The records added from now on are the list's tail. */
void rbatch_tail(struct rbatch *b);
/* The last record added must return @value. */
void rbatch_expect(struct rbatch *b, int64_t value);
/* Copies @len bytes into the list's data; returns their address in the process (0 when full: b->err). */
uint64_t rbatch_data(struct rbatch *b, const void *buf, size_t len);

/* Ends the list (every record added). Returns 0, or the error met while building (logged). */
__attribute__((warn_unused_result)) int rbatch_end(struct restore_ctl *ctl, struct rbatch *b);
/*
 * Reads the results back after the run and checks them: every record before
 * the tail ran, none
 * marked RB_CHECK failed, each expected value is there. @tid names the thread
 * in errors. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int rbatch_check(struct restore_ctl *ctl, struct rbatch *b, pid_t tid);

/*
 * Runs the interpreter in the leader of @ctl, stopped under ptrace, on @list,
 * and waits for its stop at the end of it (a signal-delivery-stop of SIGSTOP,
 * which the next resume suppresses). The threads it creates are not traced.
 * The leader's registers are clobbered. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int rb_run(struct restore_ctl *ctl, const struct rb_scratch *s,
					       const struct rbatch *list);

/* Seizes the @nr threads @tids (waiting in their tails) and waits for each one's interrupt stop. */
__attribute__((warn_unused_result)) int rb_seize(const pid_t *tids, size_t nr);

/* Waits for the next stop of @tid; *@status as waitpid gives it. A thread that is gone is -ESRCH (logged). */
__attribute__((warn_unused_result)) int rb_wait_stop(pid_t tid, int *status);

#endif /* CRIU_NG_RESTORE_BATCH_H */
