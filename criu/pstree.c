/*
 * pstree.img: one pstree_entry per dumped process (see include/pstree.h), and
 * the check that the sessions and groups it records can be rebuilt.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "image.h"
#include "proc-parse.h"
#include "pstree.h"

#include "pstree.pb-c.h"

#define LOG_PREFIX "pstree: "
#include "log.h"

static const struct pstree_item *find_item(const struct pstree_item *items, size_t nr, pid_t pid)
{
	for (size_t i = 0; i < nr; i++)
		if (items[i].pid == pid)
			return &items[i];
	return NULL;
}

/* A group of the tree @it can join: led by a process of the tree in its session. */
static bool tree_group(const struct pstree_item *items, size_t nr, const struct pstree_item *it)
{
	const struct pstree_item *leader = find_item(items, nr, it->pgid);

	return leader && leader->pgid == leader->pid && leader->sid == it->sid;
}

/* True when @pid is a thread of the tree: a helper can't take it. */
static bool is_tid(const struct pstree_item *items, size_t nr, pid_t pid)
{
	for (size_t i = 0; i < nr; i++)
		for (size_t t = 0; t < items[i].nr_threads; t++)
			if (items[i].threads[t] == pid)
				return true;
	return false;
}

/* At dump time: true when process @pid still runs and leads session (@session) or group @pid. */
static bool leads_outside(pid_t pid, bool session)
{
	struct proc_stat st;

	if (proc_parse_stat(pid, 0, &st))
		return false;
	return session ? st.sid == pid : st.pgid == pid;
}

/*
 * The leader @pid of the session (@session) or group of process @it is not in
 * the tree: a helper with its pid can stand in for it if it is gone for good.
 */
static int check_dead_leader(const struct pstree_item *items, size_t nr, const struct pstree_item *it, pid_t pid,
			     bool session, bool live)
{
	const char *what = session ? "session" : "process group";

	if (live && leads_outside(pid, session)) {
		pr_err("process %d is in %s %d, whose leader runs outside the tree: not supported\n", it->pid, what,
		       pid);
		return -EOPNOTSUPP;
	}
	if (is_tid(items, nr, pid)) {
		pr_err("process %d is in %s %d, whose dead leader's pid is a thread of the tree now: "
		       "it can't be made again\n",
		       it->pid, what, pid);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * Process @i is in session @sid, which is neither its own nor its parent's, led by a process of the tree:
 * each ancestor from its parent up to that leader was born in that session and left it with setsid()
 * after forking the child that leads here.
 */
static int plan_born_session(const struct pstree_item *items, size_t nr, size_t i, struct pstree_helpers *plan)
{
	const struct pstree_item *it = &items[i];
	const struct pstree_item *a = find_item(items, nr, it->ppid);

	for (; a && a->pid != it->sid; a = find_item(items, nr, a->ppid)) {
		struct pstree_helpers *p = &plan[a - items];

		if (a->sid != a->pid) {
			pr_err("process %d is in session %d, neither its own nor its parent's, but its ancestor %d left "
			       "that session without leading one of its own (it is in session %d): not supported\n",
			       it->pid, it->sid, a->pid, a->sid);
			return -EOPNOTSUPP;
		}
		if (p->born_sid && p->born_sid != it->sid) {
			pr_err("process %d has descendants in sessions %d and %d, neither its own: it can't have "
			       "been born in both\n",
			       a->pid, p->born_sid, it->sid);
			return -EOPNOTSUPP;
		}
		p->born_sid = it->sid;
	}
	if (!a) {
		pr_err("process %d is in session %d, whose leader is in the tree but not among its ancestors: not "
		       "supported\n",
		       it->pid, it->sid);
		return -EOPNOTSUPP;
	}
	return 0;
}

bool pstree_born_before_setsid(const struct pstree_item *items, const struct pstree_helpers *plan, size_t i)
{
	const struct pstree_item *it = &items[i];
	pid_t birth = plan[i].born_sid ? plan[i].born_sid : it->sid;

	if (birth == it->pid)
		return false;
	for (size_t j = 0; j < i; j++)
		if (items[j].pid == it->ppid)
			return plan[j].born_sid == birth;
	return false;
}

/*
 * Process @i's session: its own, its parent's, one whose leader is gone (a session helper forks it), or
 * one led by an ancestor (its parent, and so on up, were born in it).
 */
static int plan_session(const struct pstree_item *items, size_t nr, size_t i, const struct pstree_item *parent,
			struct pstree_helpers *plan, bool live)
{
	const struct pstree_item *it = &items[i];
	int ret;

	if (it->sid == it->pid || it->sid == parent->sid)
		return 0;
	if (find_item(items, nr, it->sid))
		return plan_born_session(items, nr, i, plan);
	ret = check_dead_leader(items, nr, it, it->sid, true, live);
	for (size_t j = 1; !ret && j < i; j++)
		if (plan[j].session_helper == it->sid && items[j].ppid != it->ppid) {
			pr_err("processes %d and %d are in session %d, whose leader is gone, with different parents "
			       "(%d, %d): not supported\n",
			       items[j].pid, it->pid, it->sid, items[j].ppid, it->ppid);
			ret = -EOPNOTSUPP;
		}
	if (!ret)
		plan[i].session_helper = it->sid;
	return ret;
}

/* True when a process forked by session @sid's helper stays in the helper's group @sid. */
static bool keeps_helper_group(const struct pstree_item *items, size_t nr, const struct pstree_helpers *plan, pid_t sid)
{
	for (size_t j = 1; j < nr; j++)
		if (plan[j].session_helper == sid && items[j].pgid == sid)
			return true;
	return false;
}

/*
 * Process @i's group: its own, the one it inherits (its parent's, or its
 * session helper's), one of the tree it joins, or one whose leader is gone,
 * made by a group helper of the first process of the tree in it.
 */
static int plan_group(const struct pstree_item *items, size_t nr, size_t i, const struct pstree_item *parent,
		      struct pstree_helpers *plan, bool live)
{
	const struct pstree_item *it = &items[i];
	pid_t inherited = plan[i].session_helper ? plan[i].session_helper : parent->pgid;

	/* Forked before its parent's setsid(): its group is the one its parent had then, unknown here. */
	if (pstree_born_before_setsid(items, plan, i))
		inherited = 0;
	int ret;

	if (it->pgid == it->pid || it->pgid == inherited || tree_group(items, nr, it))
		return 0;
	if (find_item(items, nr, it->pgid)) {
		pr_err("process %d is in process group %d, whose leader is not a process of the tree in its session: "
		       "not supported yet\n",
		       it->pid, it->pgid);
		return -EOPNOTSUPP;
	}
	if (it->pgid == it->sid) {
		/* The dead session leader's group: its helper makes it, one of the processes it forks keeps it. */
		if (keeps_helper_group(items, nr, plan, it->sid))
			return 0;
		pr_err("process %d is in process group %d of its session's dead leader, which no process forked by "
		       "that leader's stand-in keeps: not supported\n",
		       it->pid, it->pgid);
		return -EOPNOTSUPP;
	}
	ret = check_dead_leader(items, nr, it, it->pgid, false, live);
	if (ret)
		return ret;
	for (size_t j = 1; j < i; j++)
		if (plan[j].group_helper == it->pgid)
			return 0; /* made already: joined once every process exists */
	plan[i].group_helper = it->pgid;
	return 0;
}

int pstree_plan_helpers(const struct pstree_item *items, size_t nr, bool live, struct pstree_helpers *plan)
{
	int ret = 0;

	for (size_t i = 0; i < nr; i++)
		plan[i] = (struct pstree_helpers){ 0 };
	/* The sessions first: a group check asks which processes a session helper forks. */
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 1; !ret && i < nr; i++) {
			const struct pstree_item *parent = find_item(items, nr, items[i].ppid);

			if (!parent) {
				pr_err("process %d: its parent %d is not in the dump\n", items[i].pid, items[i].ppid);
				return -EINVAL;
			}
			if (pass == 0)
				ret = plan_session(items, nr, i, parent, plan, live);
			else
				ret = plan_group(items, nr, i, parent, plan, live);
		}
	return ret;
}

/*
 * Warns about each process outside the tree in a session or group whose id is the pid of a
 * process of the tree (an orphan of the tree adopted elsewhere): while it lives, the kernel keeps
 * that pid, and a restore can't give it to the process again.
 */
static void warn_outside_members(const struct pstree_item *items, size_t nr)
{
	struct dirent *de;
	DIR *dir = opendir("/proc");

	while (dir && (de = readdir(dir))) {
		struct proc_stat st;
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (find_item(items, nr, pid) || proc_parse_stat(pid, 0, &st))
			continue;
		if (find_item(items, nr, st.sid) || find_item(items, nr, st.pgid))
			pr_warn("process %d, outside the tree, is in session %d, group %d: while it lives, pid %d can't "
				"be restored\n",
				pid, st.sid, st.pgid, find_item(items, nr, st.sid) ? st.sid : st.pgid);
	}
	if (dir)
		closedir(dir);
}

int pstree_check_sessions(const struct pstree_item *items, size_t nr, bool shell_job)
{
	struct pstree_helpers *plan;
	int ret;

	if (!nr)
		return -EINVAL;
	if (!shell_job && (items[0].sid != items[0].pid || items[0].pgid != items[0].pid)) {
		pr_err("process %d is in session %d and process group %d, not both its own: they can't be recorded; "
		       "dump it with --shell-job (-j) to restore it into the session and group of criu restore\n",
		       items[0].pid, items[0].sid, items[0].pgid);
		return -EOPNOTSUPP;
	}
	plan = calloc(nr, sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	ret = pstree_plan_helpers(items, nr, true, plan);
	if (!ret)
		warn_outside_members(items, nr);
	for (size_t i = 1; !ret && i < nr; i++) {
		if (plan[i].session_helper)
			pr_info("process %d is in session %d, whose leader is gone: a helper will stand in for it\n",
				items[i].pid, plan[i].session_helper);
		if (plan[i].group_helper)
			pr_info("process %d is in process group %d, whose leader is gone: a helper will stand in for "
				"it\n",
				items[i].pid, plan[i].group_helper);
	}
	free(plan);
	return ret;
}

static int write_item(struct cr_img *img, const struct pstree_item *it)
{
	PstreeEntry e = PSTREE_ENTRY__INIT;
	uint32_t *threads;
	int ret;

	threads = calloc(it->nr_threads ? it->nr_threads : 1, sizeof(*threads));
	if (!threads)
		return -ENOMEM;
	for (size_t i = 0; i < it->nr_threads; i++)
		threads[i] = (uint32_t)it->threads[i];
	e.pid = (uint32_t)it->pid;
	e.ppid = (uint32_t)it->ppid;
	e.pgid = (uint32_t)it->pgid;
	e.sid = (uint32_t)it->sid;
	e.n_threads = it->nr_threads;
	e.threads = threads;
	ret = img_write_entry(img, &e);
	free(threads);
	return ret;
}

int pstree_dump(int dirfd, const struct pstree_item *items, size_t nr)
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_PSTREE);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < nr; i++)
		ret = write_item(img, &items[i]);
	cret = img_close(img);
	return ret ?: cret;
}
