/*
 * criu dump: a child sharing its parent's address space (see
 * include/dump-sharedmm.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dump-sharedmm.h"
#include "proc-parse.h"
#include "vma.h"

#define LOG_PREFIX "dump: "
#include "log.h"

int sharedmm_accept(pid_t c, pid_t p, const char *what, bool not_first_childs, size_t nr_tids, bool has_children,
		    bool stopped)
{
	const char *why = NULL;

	if (not_first_childs)
		why = "the first process holding them is not its parent";
	else if (nr_tids != 1)
		why = "it has threads";
	else if (has_children)
		why = "it has children";
	else if (stopped)
		why = "it is stopped";
	if (why) {
		pr_err("processes %d and %d share their %s, and %s: not supported yet\n", p, c, what, why);
		return -EOPNOTSUPP;
	}
	pr_info("process %d shares the %s of its parent %d: restored shared\n", c, what, p);
	return 0;
}

/* The target of /proc/@pid/@link into @buf, or -errno. */
static int read_link(pid_t pid, const char *link, char *buf, size_t size)
{
	char path[64];
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, link);
	len = readlink(path, buf, size - 1);
	if (len < 0) {
		pr_perror("Can't read %s", path);
		return -errno;
	}
	buf[len] = '\0';
	return 0;
}

static int check_fs(pid_t c, pid_t p)
{
	static const char *const links[] = { "cwd", "root" };
	struct proc_status sc = { 0 }, sp = { 0 };
	char a[PATH_MAX], b[PATH_MAX];
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(links) / sizeof(links[0]); i++) {
		ret = read_link(c, links[i], a, sizeof(a)) ?: read_link(p, links[i], b, sizeof(b));
		if (!ret && strcmp(a, b)) {
			pr_err("process %d shares the address space of its parent %d but has another %s (%s, not %s): "
			       "not supported yet\n",
			       c, p, links[i], a, b);
			ret = -EOPNOTSUPP;
		}
	}
	ret = ret ?: proc_parse_status(c, 0, &sc) ?: proc_parse_status(p, 0, &sp);
	if (!ret && sc.umask != sp.umask) {
		pr_err("process %d shares the address space of its parent %d but has another umask (%#o, not %#o): "
		       "not supported yet\n",
		       c, p, sc.umask, sp.umask);
		ret = -EOPNOTSUPP;
	}
	proc_status_fini(&sc);
	proc_status_fini(&sp);
	return ret;
}

/* The entry of @t for fd @fd, or for file @id when @fd is -1; NULL if none. */
static const struct fd_entry *find_fd(const struct fd_table *t, int fd, uint32_t id)
{
	for (size_t i = 0; i < t->nr; i++)
		if (fd >= 0 ? t->fds[i].fd == fd : t->fds[i].id == id)
			return &t->fds[i];
	return NULL;
}

int sharedmm_check(pid_t c, pid_t p, const struct proc_stat *cstat, const struct proc_stat *pstat,
		   const struct fd_table *cfds, const struct fd_table *pfds, bool fs_shared)
{
	if (cstat->sid != pstat->sid || cstat->pgid != pstat->pgid) {
		pr_err("process %d shares the address space of its parent %d but is in session %d, group %d (not %d, "
		       "%d): not supported yet\n",
		       c, p, cstat->sid, cstat->pgid, pstat->sid, pstat->pgid);
		return -EOPNOTSUPP;
	}
	/* Each fd of @c is a file @p holds, at its number or at one @p leaves free (the restore's dup3). */
	for (size_t i = 0; pfds && i < cfds->nr; i++) {
		const struct fd_entry *x = &cfds->fds[i], *same = find_fd(pfds, x->fd, 0);

		if (same ? same->id == x->id : find_fd(pfds, -1, x->id) != NULL)
			continue;
		pr_err("process %d shares the address space of its parent %d but its fd %d is a file its parent "
		       "does not hold there: not supported yet\n",
		       c, p, x->fd);
		return -EOPNOTSUPP;
	}
	return fs_shared ? 0 : check_fs(c, p);
}

int sharedmm_dump_mm(int dirfd, const struct mm_dump_args *args)
{
	struct mm_dump_args own = *args;
	struct vma_list none = { 0 };

	own.vmas = &none;
	own.exe_file_id = 0; /* names no file: CRIU 4's restore refuses the process (collect_special_file) */
	own.vma_file_ids = NULL;
	own.vma_fdflags = NULL;
	return mm_dump(dirfd, &own);
}
