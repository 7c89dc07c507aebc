/*
 * criu restore: credentials, set by the thread itself from its list of
 * syscalls (see include/restore-creds.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include "restore-creds.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define MAX_GROUPS 384 /* what a thread's list has room for (RB_THREAD_DATA) */

static uint64_t caps64(const uint32_t *words, size_t n)
{
	return (n > 0 ? words[0] : 0) | (n > 1 ? (uint64_t)words[1] << 32 : 0);
}

/* Drops from the bounding set what the dumped process didn't have (criu has all, so the child too). */
static void drop_bounding(struct rbatch *b, uint64_t bnd)
{
	for (int cap = 0; cap < 64; cap++) {
		if ((bnd & (1ull << cap)) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue; /* kept, or criu doesn't have it (nor does the child) */
		rbatch_add(b, "PR_CAPBSET_DROP", RB_CHECK, SYS_prctl, 2, (uint64_t)PR_CAPBSET_DROP, (uint64_t)cap);
	}
}

/*
 * The ids, while the thread keeps every capability of criu's: SECBIT_NO_SETUID_FIXUP is set (restore_creds()),
 * so leaving uid 0 clears no capability, and the fs ids, which setresuid() and setresgid() reset to the
 * effective ids, can be set to any value after them.
 */
static void set_ids(struct rbatch *b, const CredsEntry *c)
{
	uint64_t groups = 0;

	if (c->n_groups)
		groups = rbatch_data(b, c->groups, c->n_groups * sizeof(uint32_t));
	rbatch_add(b, "setgroups", RB_CHECK, SYS_setgroups, 2, (uint64_t)c->n_groups, groups);
	rbatch_add(b, "setresgid", RB_CHECK, SYS_setresgid, 3, (uint64_t)c->gid, (uint64_t)c->egid, (uint64_t)c->sgid);
	rbatch_add(b, "setresuid", RB_CHECK, SYS_setresuid, 3, (uint64_t)c->uid, (uint64_t)c->euid, (uint64_t)c->suid);
	/* setfs*id() return the old id, not an error: set them, and read them back checked. */
	if (c->fsgid != c->egid)
		rbatch_add(b, "setfsgid", 0, SYS_setfsgid, 1, (uint64_t)c->fsgid);
	if (c->fsuid != c->euid)
		rbatch_add(b, "setfsuid", 0, SYS_setfsuid, 1, (uint64_t)c->fsuid);
	rbatch_add(b, "setfsgid (reading fsgid back)", 0, SYS_setfsgid, 1, (uint64_t)-1);
	rbatch_expect(b, c->fsgid);
	rbatch_add(b, "setfsuid (reading fsuid back)", 0, SYS_setfsuid, 1, (uint64_t)-1);
	rbatch_expect(b, c->fsuid);
}

static void set_caps(struct rbatch *b, const CredsEntry *c)
{
	struct {
		struct __user_cap_header_struct hdr;
		struct __user_cap_data_struct data[2];
	} caps = { .hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 } };
	uint64_t eff = caps64(c->cap_eff, c->n_cap_eff), prm = caps64(c->cap_prm, c->n_cap_prm);
	uint64_t inh = caps64(c->cap_inh, c->n_cap_inh), addr;

	for (int i = 0; i < 2; i++) {
		caps.data[i].effective = (uint32_t)(eff >> (32 * i));
		caps.data[i].permitted = (uint32_t)(prm >> (32 * i));
		caps.data[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	addr = rbatch_data(b, &caps, sizeof(caps));
	rbatch_add(b, "capset", RB_CHECK, SYS_capset, 2, addr, addr + sizeof(caps.hdr));
}

/*
 * Raises the ambient capabilities, once the permitted and inheritable sets hold them, and sets
 * no_new_privs last: the kernel takes neither back. An ambient capability must be both
 * permitted and inheritable.
 */
static int set_ambient_nnp(struct rbatch *b, pid_t tid, const CredsEntry *c)
{
	uint64_t amb = caps64(c->cap_amb, c->n_cap_amb);
	uint64_t allowed = caps64(c->cap_prm, c->n_cap_prm) & caps64(c->cap_inh, c->n_cap_inh);

	if (amb & ~allowed) {
		pr_err("thread %d: ambient capabilities %#llx are not all permitted and inheritable (%#llx)\n", tid,
		       (unsigned long long)amb, (unsigned long long)allowed);
		return -EINVAL;
	}
	for (int cap = 0; cap < 64; cap++)
		if (amb & (1ull << cap))
			rbatch_add(b, "PR_CAP_AMBIENT_RAISE", RB_CHECK, SYS_prctl, 3, (uint64_t)PR_CAP_AMBIENT,
				   (uint64_t)PR_CAP_AMBIENT_RAISE, (uint64_t)cap);
	if (c->has_no_new_privs && c->no_new_privs)
		rbatch_add(b, "PR_SET_NO_NEW_PRIVS", RB_CHECK, SYS_prctl, 2, (uint64_t)PR_SET_NO_NEW_PRIVS,
			   (uint64_t)1);
	return 0;
}

int restore_creds(struct rbatch *b, pid_t tid, const CredsEntry *c)
{
	if (!c)
		return 0;
	if (c->n_groups > MAX_GROUPS) {
		pr_err("thread %d has %zu supplementary groups, more than the %d supported\n", tid, c->n_groups,
		       MAX_GROUPS);
		return -E2BIG;
	}
	drop_bounding(b, caps64(c->cap_bnd, c->n_cap_bnd));
	/*
	 * Keep every capability, effective ones too, across the switch away from uid 0 (PR_SET_KEEPCAPS
	 * would keep only the permitted ones, and a fs id that is none of the other ids needs CAP_SETUID
	 * or CAP_SETGID), then the dumped securebits (CAP_SETPCAP is still effective) and capabilities.
	 */
	rbatch_add(b, "PR_SET_SECUREBITS (no setuid fixup)", RB_CHECK, SYS_prctl, 2, (uint64_t)PR_SET_SECUREBITS,
		   (uint64_t)SECBIT_NO_SETUID_FIXUP);
	set_ids(b, c);
	rbatch_add(b, "PR_SET_SECUREBITS", RB_CHECK, SYS_prctl, 2, (uint64_t)PR_SET_SECUREBITS, (uint64_t)c->secbits);
	set_caps(b, c);
	if (set_ambient_nnp(b, tid, c))
		return -EINVAL;
	pr_info("thread %d: uid %u/%u/%u gid %u/%u/%u, %zu groups, capabilities to set\n", tid, c->uid, c->euid,
		c->suid, c->gid, c->egid, c->sgid, c->n_groups);
	return 0;
}

void restore_dumpable(struct rbatch *b, const MmEntry *mm)
{
	/* PR_SET_DUMPABLE takes 0 or 1; 2 (suid_dumpable) is what the credential change left. */
	if (!mm->has_dumpable || (mm->dumpable != 0 && mm->dumpable != 1))
		return;
	rbatch_add(b, "PR_SET_DUMPABLE", RB_CHECK, SYS_prctl, 2, (uint64_t)PR_SET_DUMPABLE, (uint64_t)mm->dumpable);
}
