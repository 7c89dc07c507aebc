/*
 * Terminals: what a --shell-job's stdio needs for restore to reattach it. The
 * terminal's state is read with ioctls on our copy of the description (termios,
 * locked termios, window size, exclusive mode); its session and foreground
 * group come from the process's /proc/PID/stat when it is its controlling
 * terminal (the TIOCGSID/TIOCGPGRP ioctls only answer the terminal's own session).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image.h"
#include "proc-parse.h"
#include "pty.h"
#include "tty.h"

#include "fdinfo.pb-c.h"
#include "tty.pb-c.h"

#define LOG_PREFIX "tty: "
#include "log.h"

#define TTY_MAJOR 4	    /* VTs (minor < 64) and serial ports */
#define TTYAUX_MAJOR 5	    /* /dev/tty, /dev/console, /dev/ptmx */
#define PTM_MAJOR_FIRST 128 /* UNIX98 pty masters */
#define PTS_MAJOR_FIRST 136 /* UNIX98 pty slaves: /dev/pts/N */
#define PTS_MAJOR_LAST 143
#define PTMX_MINOR 2 /* /dev/ptmx of TTYAUX_MAJOR */
#define VT_MINORS 64

bool tty_is_terminal(const struct stat *st)
{
	unsigned int maj = major(st->st_rdev);

	return S_ISCHR(st->st_mode) &&
	       (maj == TTY_MAJOR || maj == TTYAUX_MAJOR || (maj >= PTM_MAJOR_FIRST && maj <= PTS_MAJOR_LAST));
}

/* The kind of terminal, its index (a pty's N of /dev/pts/N) and whether it is a pty master. */
static int tty_kind(const struct tty_fd_info *info, uint32_t *type, uint32_t *index, bool *master)
{
	unsigned int maj = major(info->st->st_rdev), min = minor(info->st->st_rdev);
	int n;

	*index = 0;
	*master = false;
	if (maj >= PTS_MAJOR_FIRST && maj <= PTS_MAJOR_LAST) {
		*type = TTY_TYPE__PTY;
		*index = (maj - PTS_MAJOR_FIRST) * 256 + min;
	} else if ((maj == TTYAUX_MAJOR && min == PTMX_MINOR) || (maj >= PTM_MAJOR_FIRST && maj < PTS_MAJOR_FIRST)) {
		if (ioctl(info->dup_fd, TIOCGPTN, &n) < 0) {
			pr_perror("Can't read the pty index of fd %d of process %d (%s)", info->fd, info->pid,
				  info->path);
			return -errno;
		}
		*type = TTY_TYPE__PTY;
		*index = (uint32_t)n;
		*master = true;
	} else if (maj == TTY_MAJOR) {
		*type = min < VT_MINORS ? TTY_TYPE__VT : TTY_TYPE__SERIAL;
		*index = min;
	} else if (maj == TTYAUX_MAJOR && min == 0) {
		*type = TTY_TYPE__CTTY;
	} else if (maj == TTYAUX_MAJOR && min == 1) {
		*type = TTY_TYPE__CONSOLE;
	} else {
		pr_err("fd %d of process %d is the terminal %s (device %u:%u): not supported\n", info->fd, info->pid,
		       info->path, maj, min);
		return -EOPNOTSUPP;
	}
	/* CRIU's ids of ptys (index * 2, + 1 for a master) end below those of the console, VTs and /dev/tty. */
	if (*type == TTY_TYPE__PTY && *index > TTY_PTY_INDEX_MAX) {
		pr_err("fd %d of process %d is the pty %s of index %u: CRIU's images hold indexes up to %u only\n",
		       info->fd, info->pid, info->path, *index, TTY_PTY_INDEX_MAX);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* tty_nr of /proc/PID/stat encodes a device as the kernel's new_encode_dev() does. */
static uint32_t encode_dev(dev_t dev)
{
	unsigned int maj = major(dev), min = minor(dev);

	return (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
}

/* Session, tty_nr and tpgid fields of /proc/@pid/stat. */
static int read_stat(pid_t pid, int *session, int *tty_nr, int *tpgid)
{
	int ppid, pg;
	char *buf, *p;
	size_t len;
	int ret;

	ret = proc_read_file(pid, "stat", &buf, &len);
	if (ret) {
		pr_err("can't read /proc/%d/stat: %s\n", pid, strerror(-ret));
		return ret;
	}
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d %d %d %d %d", &ppid, &pg, session, tty_nr, tpgid) != 5) {
		pr_err("can't parse /proc/%d/stat\n", pid);
		free(buf);
		return -EINVAL;
	}
	free(buf);
	return 0;
}

/* Session and foreground group of @rdev if it is the controlling terminal of @pid, else 0 and 0. */
static int read_session(pid_t pid, dev_t rdev, uint32_t *sid, uint32_t *pgrp)
{
	int session, tty_nr, tpgid;
	int ret = read_stat(pid, &session, &tty_nr, &tpgid);

	*sid = *pgrp = 0;
	if (ret)
		return ret;
	if ((uint32_t)tty_nr == encode_dev(rdev)) {
		*sid = (uint32_t)session;
		*pgrp = tpgid > 0 ? (uint32_t)tpgid : 0;
	}
	return 0;
}

/*
 * A pty master answers for its slave: the session the slave controls and its
 * foreground group (0 and 0 for none), whoever asks.
 */
static int read_slave_session(const struct tty_fd_info *info, uint32_t *sid, uint32_t *pgrp)
{
	pid_t s, g;

	*sid = *pgrp = 0;
	if (ioctl(info->dup_fd, TIOCGSID, &s) < 0) {
		if (errno == ENOTTY)
			return 0;
		pr_perror("Can't read the session of the pty %s (fd %d of process %d)", info->path, info->fd,
			  info->pid);
		return -errno;
	}
	if (ioctl(info->dup_fd, TIOCGPGRP, &g) < 0) {
		pr_perror("Can't read the foreground group of the pty %s (fd %d of process %d)", info->path, info->fd,
			  info->pid);
		return -errno;
	}
	*sid = (uint32_t)s;
	*pgrp = g > 0 ? (uint32_t)g : 0;
	return 0;
}

/* Reads the terminal's state through our copy of its description. */
static int read_info(const struct tty_fd_info *info, struct tty_info *ti)
{
	int excl = 0, lock = 0, pkt = 0;
	int fd = info->dup_fd;

	if (tcgetattr(fd, &ti->termios) < 0 || ioctl(fd, TIOCGWINSZ, &ti->winsize) < 0 ||
	    ioctl(fd, TIOCGEXCL, &excl) < 0) {
		pr_perror("Can't read the settings of the terminal %s (fd %d of process %d)", info->path, info->fd,
			  info->pid);
		return -errno;
	}
	ti->has_termios_locked = ioctl(fd, TIOCGLCKTRMIOS, &ti->termios_locked) == 0;
	/* Only a pty master answers these two; a slave is never locked nor in packet mode. */
	if (ioctl(fd, TIOCGPTLCK, &lock) < 0)
		lock = 0;
	if (ioctl(fd, TIOCGPKT, &pkt) < 0)
		pkt = 0;
	ti->exclusive = excl != 0;
	ti->locked = lock != 0;
	ti->packet_mode = pkt != 0;
	if (ti->master)
		return read_slave_session(info, &ti->sid, &ti->pgrp);
	return read_session(info->pid, info->st->st_rdev, &ti->sid, &ti->pgrp);
}

/*
 * CRIU's id of a terminal: its driver's index times two, plus one for a master (a pty master,
 * the console, /dev/tty). CRIU pairs a pty slave with its master by it (index * 2 + 1), so the
 * ids must be CRIU's, not just distinct. The console, VTs and /dev/tty have fixed indexes.
 */
static uint32_t tty_id(uint32_t type, uint32_t index, bool master)
{
	switch (type) {
	case TTY_TYPE__CONSOLE:
		return 1002 * 2;
	case TTY_TYPE__VT:
		return 1004 * 2;
	case TTY_TYPE__CTTY:
		return 1006 * 2;
	case TTY_TYPE__PTY:
		return index * 2 + (master ? 1 : 0);
	default:
		return 0; /* a serial line: CRIU's index 0 */
	}
}

/* The terminal of @info, recorded once per device (per pty end); sets *@info_id. */
static int add_info(struct tty_table *t, const struct tty_fd_info *info, uint32_t *info_id)
{
	struct tty_info ti = { .copy_fd = -1 }, *infos;
	int ret;

	ret = tty_kind(info, &ti.type, &ti.index, &ti.master);
	if (ret)
		return ret;
	ti.id = tty_id(ti.type, ti.index, ti.master);
	for (size_t i = 0; i < t->nr_infos; i++) {
		if (t->infos[i].id != ti.id)
			continue;
		/* Every pty master is /dev/ptmx: its index tells them apart. */
		if (t->infos[i].rdev == info->st->st_rdev || ti.type == TTY_TYPE__PTY) {
			*info_id = ti.id;
			return 0;
		}
		pr_err("fd %d of process %d is the terminal %s, which CRIU's images can't tell from another one "
		       "the tree holds (both terminal %u): not supported\n",
		       info->fd, info->pid, info->path, ti.id);
		return -EOPNOTSUPP;
	}
	ret = read_info(info, &ti);
	if (ret)
		return ret;
	ti.rdev = info->st->st_rdev;
	ti.dev = info->st->st_dev;
	ti.uid = info->st->st_uid;
	ti.gid = info->st->st_gid;
	ti.pid = info->pid;
	ti.fd = info->fd;
	infos = realloc(t->infos, (t->nr_infos + 1) * sizeof(*infos));
	if (!infos)
		return -ENOMEM;
	t->infos = infos;
	/* A pty end keeps criu's copy: its queued bytes are read once the whole tree is walked. */
	if (ti.type == TTY_TYPE__PTY && info->take_fd) {
		ti.copy_fd = *info->take_fd;
		*info->take_fd = -1;
	}
	t->infos[t->nr_infos++] = ti;
	*info_id = ti.id;
	pr_info("terminal %s: type %u, index %u%s, session %u, foreground group %u\n", info->path, ti.type, ti.index,
		ti.master ? " (master)" : "", ti.sid, ti.pgrp);
	return 0;
}

int tty_add_fd(struct tty_table *t, struct files_reg *fr, const struct tty_fd_info *info, uint32_t *id)
{
	struct tty_file tf = { .flags = info->flags, .fown = info->fown, .pid = info->pid, .fd = info->fd }, *files;
	int session, tty_nr, tpgid;
	char link[64];
	int ret;

	ret = add_info(t, info, &tf.info_id);
	if (ret)
		return ret;
	/* /dev/tty: which terminal it stands for is its holder's controlling one. */
	if (major(info->st->st_rdev) == TTYAUX_MAJOR && minor(info->st->st_rdev) == 0) {
		ret = read_stat(info->pid, &session, &tty_nr, &tpgid);
		if (ret)
			return ret;
		tf.ctty_nr = (uint32_t)tty_nr;
	}
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", info->pid, info->fd);
	ret = files_reg_add(fr, info->path, link, info->flags, &tf.regf_id);
	if (ret)
		return ret;
	files = realloc(t->files, (t->nr_files + 1) * sizeof(*files));
	if (!files)
		return -ENOMEM;
	t->files = files;
	tf.id = files_reg_new_id(fr);
	t->files[t->nr_files++] = tf;
	*id = tf.id;
	return 0;
}

int tty_write_files(const struct tty_table *t, struct cr_img *img)
{
	int ret = pty_check_tree(t);

	for (size_t i = 0; !ret && i < t->nr_files; i++) {
		const struct tty_file *tf = &t->files[i];
		FileEntry fe = FILE_ENTRY__INIT;
		TtyFileEntry tfe = TTY_FILE_ENTRY__INIT;
		FownEntry fown;

		reg_fown_entry(&tf->fown, &fown);
		tfe.id = tf->id;
		tfe.tty_info_id = tf->info_id;
		tfe.flags = tf->flags;
		tfe.fown = &fown;
		tfe.has_regf_id = 1, tfe.regf_id = tf->regf_id;
		fe.type = FD_TYPES__TTY;
		fe.id = tf->id;
		fe.tty = &tfe;
		ret = img_write_entry(img, &fe);
	}
	return ret;
}

static void fill_termios(TermiosEntry *te, uint32_t *cc, const struct termios *tio)
{
	te->c_iflag = tio->c_iflag;
	te->c_oflag = tio->c_oflag;
	te->c_cflag = tio->c_cflag;
	te->c_lflag = tio->c_lflag;
	te->c_line = tio->c_line;
	te->c_ispeed = (uint32_t)cfgetispeed(tio);
	te->c_ospeed = (uint32_t)cfgetospeed(tio);
	for (int i = 0; i < TTY_NCCS; i++)
		cc[i] = tio->c_cc[i];
	te->n_c_cc = TTY_NCCS;
	te->c_cc = cc;
}

static int write_info(struct cr_img *img, const struct tty_info *ti)
{
	TtyInfoEntry e = TTY_INFO_ENTRY__INIT;
	TermiosEntry tio = TERMIOS_ENTRY__INIT, tio_locked = TERMIOS_ENTRY__INIT;
	WinsizeEntry ws = WINSIZE_ENTRY__INIT;
	TtyPtyEntry pty = TTY_PTY_ENTRY__INIT;
	uint32_t cc[TTY_NCCS], cc_locked[TTY_NCCS];

	e.id = ti->id;
	e.type = ti->type;
	e.locked = ti->locked;
	e.exclusive = ti->exclusive;
	e.packet_mode = ti->packet_mode;
	e.sid = ti->sid;
	e.pgrp = ti->pgrp;
	e.rdev = (uint32_t)ti->rdev;
	fill_termios(&tio, cc, &ti->termios);
	e.termios = &tio;
	/* CRIU wants all three settings of a master, the console and /dev/tty (zeroes when unreadable). */
	{
		fill_termios(&tio_locked, cc_locked, &ti->termios_locked);
		e.termios_locked = &tio_locked;
	}
	ws.ws_row = ti->winsize.ws_row;
	ws.ws_col = ti->winsize.ws_col;
	ws.ws_xpixel = ti->winsize.ws_xpixel;
	ws.ws_ypixel = ti->winsize.ws_ypixel;
	e.winsize = &ws;
	if (ti->type == TTY_TYPE__PTY) {
		pty.index = ti->index;
		e.pty = &pty;
	}
	e.has_dev = 1, e.dev = (uint32_t)ti->dev;
	e.has_uid = 1, e.uid = ti->uid;
	e.has_gid = 1, e.gid = ti->gid;
	return img_write_entry(img, &e);
}

int tty_write_info(const struct tty_table *t, int dirfd)
{
	struct cr_img *img;
	int ret = 0, cret;

	if (!t->nr_infos)
		return 0;
	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_TTY_INFO);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < t->nr_infos; i++)
		ret = write_info(img, &t->infos[i]);
	cret = img_close(img);
	return ret ?: cret ?: pty_dump_data(t, dirfd);
}

void tty_termios_from_entry(struct termios *tio, const TermiosEntry *te)
{
	tio->c_iflag = te->c_iflag;
	tio->c_oflag = te->c_oflag;
	tio->c_cflag = te->c_cflag;
	tio->c_lflag = te->c_lflag;
	tio->c_line = (cc_t)te->c_line;
	for (size_t i = 0; i < te->n_c_cc && i < NCCS; i++)
		tio->c_cc[i] = (cc_t)te->c_cc[i];
	/* c_cflag has the speeds already; glibc's cfsetispeed(0) would set IBAUD0, a bit of its own, in c_iflag. */
	if (te->c_ispeed)
		cfsetispeed(tio, (speed_t)te->c_ispeed);
	if (te->c_ospeed)
		cfsetospeed(tio, (speed_t)te->c_ospeed);
}

int tty_note_process(struct tty_table *t, pid_t pid)
{
	pid_t *pids = realloc(t->pids, (t->nr_pids + 1) * sizeof(*pids));

	if (!pids)
		return -ENOMEM;
	t->pids = pids;
	t->pids[t->nr_pids++] = pid;
	return 0;
}

void tty_table_free(struct tty_table *t)
{
	for (size_t i = 0; i < t->nr_infos; i++)
		if (t->infos[i].copy_fd >= 0)
			close(t->infos[i].copy_fd);
	free(t->pids);
	free(t->infos);
	free(t->files);
	memset(t, 0, sizeof(*t));
}
