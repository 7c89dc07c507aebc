/*
 * A thread's credentials into CRIU's creds_entry. Capability sets are stored as
 * two 32-bit words each, low word first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"

static void split_caps(uint32_t out[2], uint64_t caps)
{
	out[0] = (uint32_t)caps;
	out[1] = (uint32_t)(caps >> 32);
}

int creds_fill(struct creds_state *cs, const struct proc_status *st)
{
	CredsEntry *e = &cs->e;

	creds_entry__init(e);
	e->uid = st->uid[0], e->euid = st->uid[1], e->suid = st->uid[2], e->fsuid = st->uid[3];
	e->gid = st->gid[0], e->egid = st->gid[1], e->sgid = st->gid[2], e->fsgid = st->gid[3];
	split_caps(cs->cap_inh, st->cap_inh);
	split_caps(cs->cap_prm, st->cap_prm);
	split_caps(cs->cap_eff, st->cap_eff);
	split_caps(cs->cap_bnd, st->cap_bnd);
	e->n_cap_inh = 2, e->cap_inh = cs->cap_inh;
	e->n_cap_prm = 2, e->cap_prm = cs->cap_prm;
	e->n_cap_eff = 2, e->cap_eff = cs->cap_eff;
	e->n_cap_bnd = 2, e->cap_bnd = cs->cap_bnd;
	/* CRIU 4 writes both, and restores them when present. */
	split_caps(cs->cap_amb, st->cap_amb);
	e->n_cap_amb = 2, e->cap_amb = cs->cap_amb;
	e->has_no_new_privs = 1, e->no_new_privs = st->no_new_privs != 0;
	/* /proc shows no securebits: core.c fills them in from what the thread told (task-query.c). */
	e->secbits = 0;
	cs->groups = calloc(st->nr_groups ? st->nr_groups : 1, sizeof(*cs->groups));
	if (!cs->groups)
		return -ENOMEM;
	memcpy(cs->groups, st->groups, st->nr_groups * sizeof(*cs->groups));
	e->n_groups = st->nr_groups;
	e->groups = cs->groups;
	return 0;
}

void creds_fini(struct creds_state *cs)
{
	free(cs->groups);
	cs->groups = NULL;
}
