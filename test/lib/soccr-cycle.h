/*
 * soccr-cycle.h: one checkpoint/restore cycle of a fixture's connections through libsoccr, step by
 * step and timed: dump, close, restore (from a copy of what the dump gave, as from an image),
 * repair off. Each step checks every connection's status and the batch call's return value, and
 * names the connections that failed.
 */
#ifndef TEST_LIB_SOCCR_CYCLE_H
#define TEST_LIB_SOCCR_CYCLE_H

#include <stdint.h>

#include "connfix.h"
#include "soccr.h"

#define CYCLE_SINGLE (1u << 0) /* the single-socket calls, one connection after another */
#define CYCLE_ADDRS (1u << 1)  /* give the dump the addresses (SOCCR_CONN_ADDRS) */

struct cycle {
	struct libsoccr_ctx *ctx;
	struct connfix *fix;
	uint32_t lo, n; /* the fixture's connections [lo, lo + n) */
	unsigned int flags;
	struct libsoccr_conn *dumped;	/* the dump's array: data, addresses, queues */
	struct libsoccr_conn *restored; /* the restore's array */
	uint64_t dump_ns, close_ns, restore_ns, repair_off_ns, resume_ns;
};

int cycle_init(struct cycle *cy, struct libsoccr_ctx *ctx, struct connfix *fix, uint32_t lo, uint32_t hi,
	       unsigned int flags) __must_check;
/* Frees the queues and the arrays; closes nothing (the fixture owns the sockets). */
void cycle_fini(struct cycle *cy);

int cycle_dump(struct cycle *cy) __must_check;
int cycle_close(struct cycle *cy) __must_check;
int cycle_restore(struct cycle *cy) __must_check;
int cycle_repair_off(struct cycle *cy) __must_check;
/* After the unlock: window probes, so the restored connections move at once */
int cycle_resume(struct cycle *cy) __must_check;
/* Give up after cycle_dump(): repair off on the dumped sockets, which stay the fixture's. */
int cycle_abandon(struct cycle *cy) __must_check;
/* The four steps in a row. */
int cycle_run(struct cycle *cy) __must_check;

/*
 * The dumped data against what the fixture measured (connfix_check_queues() must have run):
 * the state, the queue lengths, outq_len >= unsq_len, and the addresses.
 */
int cycle_check_dump(const struct cycle *cy, uint32_t state) __must_check;

/* "uring" or "syscall": the backend the context runs. */
const char *cycle_backend(const struct libsoccr_ctx *ctx);

#endif /* TEST_LIB_SOCCR_CYCLE_H */
