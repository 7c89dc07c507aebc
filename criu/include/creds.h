/*
 * Credentials of a thread in CRIU's creds_entry form (ids, capability sets
 * with the ambient one, supplementary groups, no_new_privs), from /proc/PID/task/TID/status.
 */
#ifndef CRIU_NG_CREDS_H
#define CRIU_NG_CREDS_H

#include <stdint.h>

#include "proc-parse.h"

#include "creds.pb-c.h"

/* A creds_entry and the storage its fields point into. */
struct creds_state {
	CredsEntry e;
	uint32_t cap_inh[2];
	uint32_t cap_prm[2];
	uint32_t cap_eff[2];
	uint32_t cap_bnd[2];
	uint32_t cap_amb[2];
	uint32_t *groups; /* malloc'ed */
};

/* Fills @cs from @status. Returns 0 or -ENOMEM; creds_fini() frees what it holds. */
__attribute__((warn_unused_result)) int creds_fill(struct creds_state *cs, const struct proc_status *status);
void creds_fini(struct creds_state *cs);

#endif /* CRIU_NG_CREDS_H */
