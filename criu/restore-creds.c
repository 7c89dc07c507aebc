/*
 * criu restore: credentials, injected into the process (see
 * include/restore-creds.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "restore-creds.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define TRAMP_CAPS 1536	  /* the capset header and data in the trampoline */
#define TRAMP_GROUPS 2048 /* the supplementary groups */
#define MAX_GROUPS 384	  /* what fits there, before the clone3 arguments of restore-threads.c */

static uint64_t caps64(const uint32_t *words, size_t n)
{
	return (n > 0 ? words[0] : 0) | (n > 1 ? (uint64_t)words[1] << 32 : 0);
}

static int inject(struct restore_ctl *ctl, const char *what, long nr, unsigned int nargs, uint64_t a0, uint64_t a1,
		  uint64_t a2)
{
	long ret = restore_ctl_syscall(ctl, nr, nargs, a0, a1, a2);

	if (ret < 0) {
		pr_err("%s in process %d failed: %s\n", what, ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

/* Drops from the bounding set what the dumped process didn't have (criu has all, so the child too). */
static int drop_bounding(struct restore_ctl *ctl, uint64_t bnd)
{
	for (int cap = 0; cap < 64; cap++) {
		int ret;

		if ((bnd & (1ull << cap)) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue; /* kept, or criu doesn't have it (nor does the child) */
		ret = inject(ctl, "PR_CAPBSET_DROP", SYS_prctl, 2, (uint64_t)PR_CAPBSET_DROP, (uint64_t)cap, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static int set_ids(struct restore_ctl *ctl, const CredsEntry *c)
{
	uint64_t groups = 0;
	int ret;

	if (c->n_groups > MAX_GROUPS) {
		pr_err("process %d has %zu supplementary groups, more than the %d supported\n", ctl->pid, c->n_groups,
		       MAX_GROUPS);
		return -E2BIG;
	}
	if (c->n_groups) {
		ret = restore_ctl_put_data(ctl, TRAMP_GROUPS, c->groups, c->n_groups * sizeof(uint32_t), &groups);
		if (ret)
			return ret;
	}
	ret = inject(ctl, "setgroups", SYS_setgroups, 2, (uint64_t)c->n_groups, groups, 0);
	if (!ret)
		ret = inject(ctl, "setresgid", SYS_setresgid, 3, c->gid, c->egid, c->sgid);
	if (!ret)
		ret = inject(ctl, "setresuid", SYS_setresuid, 3, c->uid, c->euid, c->suid);
	/* setfs*id() return the old id, not an error: set them and read them back. */
	if (!ret && c->fsgid != c->egid)
		restore_ctl_syscall(ctl, SYS_setfsgid, 1, (uint64_t)c->fsgid);
	if (!ret && c->fsuid != c->euid)
		restore_ctl_syscall(ctl, SYS_setfsuid, 1, (uint64_t)c->fsuid);
	if (!ret && (restore_ctl_syscall(ctl, SYS_setfsgid, 1, (uint64_t)-1) != c->fsgid ||
		     restore_ctl_syscall(ctl, SYS_setfsuid, 1, (uint64_t)-1) != c->fsuid)) {
		pr_err("can't set fsuid %u and fsgid %u in process %d\n", c->fsuid, c->fsgid, ctl->pid);
		ret = -EPERM;
	}
	return ret;
}

static int set_caps(struct restore_ctl *ctl, const CredsEntry *c)
{
	struct {
		struct __user_cap_header_struct hdr;
		struct __user_cap_data_struct data[2];
	} caps = { .hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 } };
	uint64_t eff = caps64(c->cap_eff, c->n_cap_eff), prm = caps64(c->cap_prm, c->n_cap_prm);
	uint64_t inh = caps64(c->cap_inh, c->n_cap_inh), addr;
	int ret;

	for (int i = 0; i < 2; i++) {
		caps.data[i].effective = (uint32_t)(eff >> (32 * i));
		caps.data[i].permitted = (uint32_t)(prm >> (32 * i));
		caps.data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	ret = restore_ctl_put_data(ctl, TRAMP_CAPS, &caps, sizeof(caps), &addr);
	if (!ret)
		ret = inject(ctl, "capset", SYS_capset, 2, addr, addr + sizeof(caps.hdr), 0);
	return ret;
}

int restore_creds(struct restore_ctl *ctl, const CredsEntry *c)
{
	int ret;

	if (!c)
		return 0;
	ret = drop_bounding(ctl, caps64(c->cap_bnd, c->n_cap_bnd));
	if (!ret && c->secbits)
		ret = inject(ctl, "PR_SET_SECUREBITS", SYS_prctl, 2, (uint64_t)PR_SET_SECUREBITS, c->secbits, 0);
	/* Keep the permitted capabilities across the switch away from uid 0; capset() trims them after. */
	if (!ret)
		ret = inject(ctl, "PR_SET_KEEPCAPS", SYS_prctl, 2, (uint64_t)PR_SET_KEEPCAPS, 1, 0);
	if (!ret)
		ret = set_ids(ctl, c);
	if (!ret && !(c->secbits & (1u << 4 /* SECURE_KEEP_CAPS */)))
		ret = inject(ctl, "PR_SET_KEEPCAPS", SYS_prctl, 2, (uint64_t)PR_SET_KEEPCAPS, 0, 0);
	if (!ret)
		ret = set_caps(ctl, c);
	if (!ret)
		pr_info("thread %d: uid %u/%u/%u gid %u/%u/%u, %zu groups, capabilities set\n", ctl->pid, c->uid,
			c->euid, c->suid, c->gid, c->egid, c->sgid, c->n_groups);
	return ret;
}
