/*
 * The REG and TTY rows of the fd kinds (include/fd-kind.h): an fd on a regular
 * file, a directory or a memory device becomes a REG file of files-reg.c (a
 * ghost when the file was unlinked, see files-ghost.c); an fd on a terminal a
 * TTY file of tty.c, with --shell-job only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-kind.h"
#include "files-ghost.h"
#include "files.h"
#include "regular.h"

#define LOG_PREFIX "files: "
#include "log.h"

#define DELETED_SUFFIX " (deleted)"
#define MEM_MAJOR 1 /* /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, ... */

bool reg_match(const struct fd_probe *p)
{
	mode_t m = p->st.st_mode;

	if (!strncmp(p->link, "/memfd:", 7))
		return false;
	if (p->flags & O_PATH)
		return p->link[0] == '/';
	return S_ISREG(m) || S_ISDIR(m) || (S_ISCHR(m) && major(p->st.st_rdev) == MEM_MAJOR);
}

/*
 * The path of @p as criu sees it (from the root of the mount namespace, as CRIU
 * records it, whatever the process's own root: the restore opens it from
 * there before it chroots the process), " (deleted)" removed, in @path; sets
 * *@ghost when the file was unlinked (no link left), so must be dumped as a ghost,
 * *@linked when it was removed from its path but is linked elsewhere, which
 * --link-remap dumps through a link of criu's.
 */
static int fd_path(const struct fd_dump_ctx *c, const struct fd_probe *p, char *path, bool *ghost, bool *linked)
{
	size_t n = strlen(p->link), slen = strlen(DELETED_SUFFIX);
	struct stat st;

	*ghost = *linked = false;
	if (p->link[0] != '/') {
		pr_err("fd %d of process %d points to %s, not a path: not supported yet\n", p->fd, c->args->pid,
		       p->link);
		return -EOPNOTSUPP;
	}
	memcpy(path, p->link, n + 1);
	if (n > slen && !strcmp(path + n - slen, DELETED_SUFFIX) &&
	    (stat(p->link, &st) || st.st_dev != p->st.st_dev || st.st_ino != p->st.st_ino)) {
		if (p->st.st_nlink && (!c->fdump->reg.link_remap || !S_ISREG(p->st.st_mode))) {
			pr_err("fd %d of process %d is the file %s, removed from its path but linked elsewhere: "
			       "dump it with --link-remap (regular files only)\n",
			       p->fd, c->args->pid, p->link);
			return -EOPNOTSUPP;
		}
		path[n - slen] = '\0';
		*ghost = !p->st.st_nlink;
		*linked = !*ghost;
	}
	return 0;
}

/* A regular file, a directory or a memory device: a REG entry (a ghost for an unlinked file). */
int reg_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct reg_fd_info info = {
		.flags = p->flags & ~O_CLOEXEC, .pos = p->pos, .mnt_id = p->mnt_id, .st = &p->st, .ghost_fd = -1
	};
	char path[PATH_MAX], link[64];
	bool ghost, linked;
	int ret;

	info.fown = p->fown;
	ret = fd_path(c, p, path, &ghost, &linked);
	if (ret)
		return ret;
	if (linked) {
		info.path = path;
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", c->args->pid, p->fd);
		return files_reg_add_link_remap(&c->fdump->reg, &info, link, id);
	}
	if (ghost) {
		ret = ghost_file_check(&p->st, path);
		if (ret) {
			pr_err("fd %d of process %d is the unlinked file %s, which can't be dumped\n", p->fd,
			       c->args->pid, path);
			return ret;
		}
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", c->args->pid, p->fd);
		info.ghost_fd = open(link, O_RDONLY | O_CLOEXEC);
		if (info.ghost_fd < 0) {
			pr_perror("Can't open the unlinked file %s through %s", path, link);
			return -errno;
		}
		pr_info("fd %d: the unlinked file %s (%lld bytes) is dumped as a ghost\n", p->fd, path,
			(long long)p->st.st_size);
	}
	info.path = path;
	return files_reg_add_fd(&c->fdump->reg, &info, id);
}

int tty_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct tty_fd_info info = { .pid = c->args->pid,
				    .fd = p->fd,
				    .dup_fd = p->dup_fd,
				    .take_fd = &p->dup_fd,
				    .path = p->link,
				    .flags = p->flags & ~O_CLOEXEC,
				    .fown = p->fown,
				    .st = &p->st };

	/* In flight in a unix socket (criu holds it now): not supported. */
	if (c->args->pid == getpid()) {
		pr_err("the terminal %s is in flight in a unix socket: not supported\n", p->link);
		return -EOPNOTSUPP;
	}
	/* Ptys and /dev/tty: whether they are the tree's or the shell job's is known once the tree is walked. */
	c->fdump->ttys.shell_job = c->args->shell_job;
	return tty_add_fd(&c->fdump->ttys, &c->fdump->reg, &info, id);
}

int reg_write_ghosts(const struct files_dump *fdump, int dirfd)
{
	return files_reg_write_ghosts(&fdump->reg, dirfd);
}

bool tty_match(const struct fd_probe *p)
{
	return S_ISCHR(p->st.st_mode) && tty_is_terminal(&p->st);
}

int tty_write_all(const struct files_dump *fdump, struct cr_img *img)
{
	return tty_write_files(&fdump->ttys, img);
}

int tty_write_images(const struct files_dump *fdump, int dirfd)
{
	return tty_write_info(&fdump->ttys, dirfd);
}

void tty_free_all(struct files_dump *fdump)
{
	tty_table_free(&fdump->ttys);
}

int reg_check_entry(const FileEntry *fe, const char *name)
{
	if (!fe->reg || fe->reg->id != fe->id || !fe->reg->name || fe->reg->name[0] != '/') {
		pr_err("%s: file %u: a regular file without an absolute path\n", name, fe->id);
		return -EINVAL;
	}
	return 0;
}
