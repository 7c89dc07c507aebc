/*
 * criu restore: the terminal fds of a shell job, attached to criu's own
 * terminal (see include/restore-tty.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "image.h"
#include "pty.h"
#include "restore-files.h"
#include "restore-fds.h"
#include "restore-tty.h"
#include "tty.h"

#include "tty.pb-c.h"

#define LOG_PREFIX "restore-tty: "
#include "log.h"

/* Flags that only matter when a file is created, or that must not make criu's terminal anyone's ctty here. */
#define TTY_OPEN_FLAGS_DROPPED (O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)

struct tty_infos {
	TtyInfoEntry **e;
	size_t nr;
};

/* A terminal fd of the shell job's: the pty pairs made in the tree are pty.c's. */
static bool is_tty_fd(const struct restore_image *ri, const FileEntry *f)
{
	return f->type == FD_TYPES__TTY && restore_files_is_fd(ri, f->id) && pty_file_inherited(ri, f);
}

static void infos_free(struct tty_infos *ti)
{
	for (size_t i = 0; i < ti->nr; i++)
		img_free_entry(ti->e[i]);
	free(ti->e);
	ti->e = NULL;
	ti->nr = 0;
}

static int infos_load(int dirfd, struct tty_infos *ti)
{
	struct cr_img *img;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_TTY_INFO);
	if (ret)
		return ret;
	for (;;) {
		TtyInfoEntry **e;
		void *msg;

		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		e = realloc(ti->e, (ti->nr + 1) * sizeof(*e));
		if (!e) {
			img_free_entry(msg);
			ret = -ENOMEM;
			break;
		}
		ti->e = e;
		ti->e[ti->nr++] = msg;
	}
	img_close(img);
	if (ret)
		infos_free(ti);
	return ret;
}

static const TtyInfoEntry *infos_find(const struct tty_infos *ti, uint32_t id)
{
	for (size_t i = 0; i < ti->nr; i++)
		if (ti->e[i]->id == id)
			return ti->e[i];
	return NULL;
}

int restore_tty_session(struct restore_image *ri, bool shell_job)
{
	PstreeEntry *e = ri->pstree;
	pid_t sid = getsid(0), pgid = getpgid(0);

	for (size_t i = 0; !shell_job && i < ri->nr_files; i++) {
		if (!is_tty_fd(ri, ri->files[i]))
			continue;
		pr_err("process %d has terminal fds (file %u): restore it with --shell-job (-j)\n", ri->pid,
		       ri->files[i]->id);
		return -EOPNOTSUPP;
	}
	if (!shell_job)
		return 0;
	if (sid < 0 || pgid < 0) {
		pr_perror("Can't read criu's session and process group");
		return -errno;
	}
	/* A shell job lives on in criu's session; it keeps its group if it led one, else joins criu's. */
	pr_info("shell job: process %d (session %u, group %u) joins session %d, group %d\n", ri->pid, e->sid, e->pgid,
		sid, e->pgid == (uint32_t)ri->pid ? ri->pid : pgid);
	e->sid = (uint32_t)sid;
	if (e->pgid != (uint32_t)ri->pid)
		e->pgid = (uint32_t)pgid;
	return 0;
}

/* Opens criu's terminal anew (a description of its own) with @flags at @min_fd or above. */
static int open_own_terminal(uint32_t flags, int min_fd)
{
	const char *path = isatty(STDIN_FILENO) ? "/proc/self/fd/0" : "/dev/tty";
	int fd, moved;

	fd = open(path, (int)(flags & ~(uint32_t)TTY_OPEN_FLAGS_DROPPED) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open criu's terminal (%s) for the shell job's terminal fds", path);
		return -errno;
	}
	if (!isatty(fd)) {
		pr_err("criu's %s is not a terminal: a shell job's terminal fds need one\n", path);
		close(fd);
		return -ENOTTY;
	}
	if (fd >= min_fd)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
	if (moved < 0)
		pr_perror("Can't move criu's terminal to fd %d or above", min_fd);
	close(fd);
	return moved < 0 ? -errno : moved;
}

/* The termios and window size the dump recorded, set on criu's terminal. */
static int apply_params(int fd, const TtyInfoEntry *info)
{
	struct termios tio;

	if (info->termios) {
		if (tcgetattr(fd, &tio) < 0) {
			pr_perror("Can't read the settings of criu's terminal");
			return -errno;
		}
		tty_termios_from_entry(&tio, info->termios);
		if (tcsetattr(fd, TCSANOW, &tio) < 0) {
			pr_perror("Can't restore the settings of terminal %u", info->id);
			return -errno;
		}
	}
	if (info->winsize) {
		struct winsize ws = {
			.ws_row = (unsigned short)info->winsize->ws_row,
			.ws_col = (unsigned short)info->winsize->ws_col,
			.ws_xpixel = (unsigned short)info->winsize->ws_xpixel,
			.ws_ypixel = (unsigned short)info->winsize->ws_ypixel,
		};

		if (ioctl(fd, TIOCSWINSZ, &ws) < 0) {
			pr_perror("Can't restore the window size of terminal %u", info->id);
			return -errno;
		}
	}
	return 0;
}

/*
 * Only the terminal the process had as controlling one (or /dev/tty) can be
 * criu's: the dump records a session for a terminal only when it is the ctty.
 */
static int check_info(const struct restore_image *ri, const FileEntry *f, const TtyInfoEntry *info)
{
	if (!info) {
		pr_err("file %u refers to terminal %u, which tty-info.img doesn't have\n", f->id, f->tty->tty_info_id);
		return -EINVAL;
	}
	if (info->type == TTY_TYPE__CTTY || info->sid)
		return 0;
	pr_err("process %d: terminal %u (type %d, device %#x) was not its controlling terminal: "
	       "only that one can be attached to criu's\n",
	       ri->pid, info->id, info->type, info->rdev);
	return -EOPNOTSUPP;
}

/* Opens the TTY file at index @i of @ri into @fds; @done marks the infos whose settings are set. */
static int open_one(const struct restore_image *ri, size_t i, const struct tty_infos *ti, bool *done,
		    struct restore_fds *fds, int min_fd)
{
	const FileEntry *f = ri->files[i];
	const TtyInfoEntry *info;
	struct stat st;
	int fd, ret;

	if (!f->tty) {
		pr_err("files.img: terminal file %u has no tty entry\n", f->id);
		return -EINVAL;
	}
	/* Given by an earlier process of the tree that holds the same description. */
	if (fds->fds[i] >= 0)
		return 0;
	info = infos_find(ti, f->tty->tty_info_id);
	ret = check_info(ri, f, info);
	if (ret)
		return ret;
	fd = open_own_terminal(f->tty->flags, min_fd);
	if (fd < 0)
		return fd;
	fds->fds[i] = fd;
	for (size_t k = 0; k < ti->nr; k++) {
		if (ti->e[k] != info)
			continue;
		if (done[k])
			return 0;
		done[k] = true;
		break;
	}
	if (fstat(fd, &st) < 0) {
		pr_perror("Can't stat criu's terminal");
		return -errno;
	}
	pr_info("file %u: terminal %u (type %d, device %#x) attached to criu's terminal (device %#x)\n", f->id,
		info->id, info->type, info->rdev, (unsigned int)st.st_rdev);
	return apply_params(fd, info);
}

int restore_tty_open(int dirfd, const struct restore_image *ri, struct restore_fds *fds)
{
	int min_fd = restore_files_max_fd(ri) + 1 < 3 ? 3 : restore_files_max_fd(ri) + 1;
	struct tty_infos ti = { 0 };
	bool *done;
	int ret = 0;
	size_t i;

	for (i = 0; i < ri->nr_files; i++)
		if (is_tty_fd(ri, ri->files[i]))
			break;
	if (i == ri->nr_files)
		return 0;
	ret = infos_load(dirfd, &ti);
	if (ret)
		return ret;
	done = calloc(ti.nr ? ti.nr : 1, sizeof(*done));
	if (!done) {
		infos_free(&ti);
		return -ENOMEM;
	}
	for (i = 0; !ret && i < ri->nr_files && i < fds->nr; i++)
		if (is_tty_fd(ri, ri->files[i]))
			ret = open_one(ri, i, &ti, done, fds, min_fd);
	free(done);
	infos_free(&ti);
	return ret;
}

/* Gives @pgid the foreground of terminal @fd if criu's group has it. */
static int take_foreground(int fd, pid_t pgid)
{
	sigset_t set, old;
	int ret = 0;

	if (tcgetpgrp(fd) != getpgrp()) {
		pr_info("criu is not in the foreground of its terminal: group %d stays in the background\n", pgid);
		return 0;
	}
	/* tcsetpgrp() from a group that is about to leave the foreground must not stop criu. */
	sigemptyset(&set);
	sigaddset(&set, SIGTTOU);
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0)
		return -errno;
	if (tcsetpgrp(fd, pgid) < 0) {
		pr_perror("Can't give group %d the foreground of criu's terminal", pgid);
		ret = -errno;
	}
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0 && !ret)
		ret = -errno;
	return ret;
}

int restore_tty_foreground(int dirfd, const struct restore_image *ri, const struct restore_fds *fds)
{
	struct tty_infos ti = { 0 };
	int ret = 0;
	size_t i;

	/* A group of its own only if it led one: else it is in criu's, which has or hasn't the foreground. */
	if (ri->pstree->pgid != (uint32_t)ri->pid)
		return 0;
	for (i = 0; i < ri->nr_files && i < fds->nr; i++)
		if (is_tty_fd(ri, ri->files[i]) && fds->fds[i] >= 0 && ri->files[i]->tty)
			break;
	if (i == ri->nr_files || i == fds->nr)
		return 0;
	ret = infos_load(dirfd, &ti);
	if (ret)
		return ret;
	for (; i < ri->nr_files && i < fds->nr; i++) {
		const FileEntry *f = ri->files[i];
		const TtyInfoEntry *info;

		if (!is_tty_fd(ri, f) || fds->fds[i] < 0 || !f->tty)
			continue;
		info = infos_find(&ti, f->tty->tty_info_id);
		/* The dump's pgrp: the terminal's foreground group when it was the process's ctty. */
		if (info && info->sid && info->pgrp == (uint32_t)ri->pid) {
			ret = take_foreground(fds->fds[i], ri->pid);
			break;
		}
	}
	infos_free(&ti);
	return ret;
}
