/*
 * Pseudo-terminal pairs made inside the tree, both directions (see include/pty.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "files.h"
#include "image.h"
#include "proc-parse.h"
#include "pty.h"
#include "restore-fds.h"
#include "restore-image.h"
#include "tty.h"

#include "tty.pb-c.h"

#define LOG_PREFIX "pty: "
#include "log.h"

#define PTS_MAJOR_FIRST 136
#define PTS_MAJOR_LAST 143
/* What a line discipline's buffer holds (N_TTY_BUF_SIZE - 1): what TIOCSTI can put back. */
#define PTY_REFILL_MAX 4095
/* The most a dump reads of one end: the line discipline's buffer and the flip buffers behind it. */
#define PTY_DATA_MAX (1 << 17)
/* /dev/ptmx opened at most this many times to find a dumped index (CRIU's bound). */
#define PTY_OPEN_TRIES 32
#define PTY_OPEN_DROPPED (O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)

/* ---------------------------------------------------------------- dump */

static const struct tty_info *find_info(const struct tty_table *t, uint32_t id)
{
	for (size_t i = 0; i < t->nr_infos; i++)
		if (t->infos[i].id == id)
			return &t->infos[i];
	return NULL;
}

static bool noted(const struct tty_table *t, pid_t pid)
{
	for (size_t i = 0; i < t->nr_pids; i++)
		if (t->pids[i] == pid)
			return true;
	return false;
}

/* The peer of pty end @ti in the tree, or NULL. */
static const struct tty_info *peer_of(const struct tty_table *t, const struct tty_info *ti)
{
	return find_info(t, ti->id ^ 1u);
}

/* True for a pty end that pty.c records: a master, or a slave whose master is in the tree. */
static bool made_by_us(const struct tty_table *t, const struct tty_info *ti)
{
	return ti->type == TTY_TYPE__PTY && (ti->master || peer_of(t, ti));
}

/*
 * Whether @pid is a process of the tree: itself or an ancestor noted by
 * tty_note_process() (a process sharing its parent's fd table is not noted
 * itself; the tree holds every descendant of its root).
 */
static bool in_tree(const struct tty_table *t, pid_t pid)
{
	for (int depth = 0; pid > 1 && depth < 4096; depth++) {
		char *buf, *p;
		size_t len;
		int ppid;

		if (noted(t, pid))
			return true;
		if (proc_read_file(pid, "stat", &buf, &len))
			return false;
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
			ppid = 0;
		free(buf);
		pid = ppid;
	}
	return false;
}

static int check_session(const struct tty_table *t, const struct tty_info *ti)
{
	pid_t sid = (pid_t)ti->sid, pgrp = (pid_t)ti->pgrp;

	if (!sid)
		return 0;
	if (!in_tree(t, sid) || getsid(sid) != sid) {
		pr_err("fd %d of process %d: /dev/pts/%u controls session %d, whose leader is not in the tree: "
		       "not supported\n",
		       ti->fd, ti->pid, ti->index, sid);
		return -EOPNOTSUPP;
	}
	if (pgrp && (!in_tree(t, pgrp) || getpgid(pgrp) != pgrp || getsid(pgrp) != sid)) {
		pr_err("fd %d of process %d: the foreground group %d of /dev/pts/%u has no leader in the tree: "
		       "not supported\n",
		       ti->fd, ti->pid, pgrp, ti->index);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int check_end(const struct tty_table *t, const struct tty_info *ti)
{
	const struct tty_info *peer = peer_of(t, ti);
	struct pollfd pfd = { .fd = ti->copy_fd, .events = POLLIN };

	if (!ti->master && !peer) {
		if (t->shell_job)
			return 0; /* the shell job's terminal: restore-tty.c */
		pr_err("fd %d of process %d is the terminal /dev/pts/%u: dump it with --shell-job (-j) if it is the "
		       "job's terminal (its master is not in the tree)\n",
		       ti->fd, ti->pid, ti->index);
		return -EOPNOTSUPP;
	}
	/* A master alone: its slave was closed (the master hangs up), or is open outside the tree. */
	if (ti->master && !peer) {
		if (ti->copy_fd < 0 || poll(&pfd, 1, 0) < 0) {
			pr_perror("Can't poll the master of /dev/pts/%u", ti->index);
			return -EIO;
		}
		if (!(pfd.revents & POLLHUP)) {
			pr_err("fd %d of process %d is the master of /dev/pts/%u, whose slave is open outside the tree "
			       "(or was never opened): not supported\n",
			       ti->fd, ti->pid, ti->index);
			return -EOPNOTSUPP;
		}
	}
	/* The master's entry holds the session its slave controls. */
	return ti->master ? check_session(t, ti) : 0;
}

/* The index of the pty slave @tty_nr (of /proc/PID/stat) names, or -1. */
static int pts_index(uint32_t tty_nr)
{
	unsigned int maj = (tty_nr >> 8) & 0xfff, min = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);

	return maj >= PTS_MAJOR_FIRST && maj <= PTS_MAJOR_LAST ? (int)((maj - PTS_MAJOR_FIRST) * 256 + min) : -1;
}

/*
 * /dev/tty files: each holder's controlling terminal must be the same pty of
 * the tree (its master is in the tree), or all of them the shell job's.
 * CRIU's images have one /dev/tty entry, which the restore gives the pty of
 * the tree that controls a session: there may be only one such pty then, and
 * none for the shell job's.
 */
static int check_ctty_files(const struct tty_table *t)
{
	int ours = -1, sessions = 0;
	bool outside = false, any = false;

	for (size_t i = 0; i < t->nr_infos; i++)
		sessions += t->infos[i].master && t->infos[i].sid;
	for (size_t i = 0; i < t->nr_files; i++) {
		const struct tty_file *tf = &t->files[i];
		const struct tty_info *ci = find_info(t, tf->info_id);
		int index = pts_index(tf->ctty_nr);

		if (!ci || ci->type != TTY_TYPE__CTTY)
			continue;
		any = true;
		if (index >= 0 && find_info(t, (uint32_t)index * 2 + 1)) {
			if (ours >= 0 && ours != index) {
				pr_err("fd %d of process %d is /dev/tty on another pty than an earlier /dev/tty: "
				       "not supported\n",
				       tf->fd, tf->pid);
				return -EOPNOTSUPP;
			}
			ours = index;
			continue;
		}
		outside = true;
		if (!t->shell_job) {
			pr_err("fd %d of process %d is /dev/tty, a terminal not made in the tree: dump it with "
			       "--shell-job (-j)\n",
			       tf->fd, tf->pid);
			return -EOPNOTSUPP;
		}
	}
	if (any && ((ours >= 0 && (outside || sessions != 1)) || (outside && sessions))) {
		pr_err("/dev/tty is open in the tree while %d ptys of the tree control a session%s: CRIU's images "
		       "can't tell which terminal it stands for\n",
		       sessions, outside ? " and the shell job's terminal is another" : "");
		return -EOPNOTSUPP;
	}
	return 0;
}

int pty_check_tree(const struct tty_table *t)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < t->nr_infos; i++) {
		const struct tty_info *ti = &t->infos[i];

		if (ti->type == TTY_TYPE__PTY)
			ret = check_end(t, ti);
		else if (ti->type != TTY_TYPE__CTTY && !t->shell_job) {
			pr_err("fd %d of process %d is a terminal of type %u not made in the tree: dump it with "
			       "--shell-job (-j)\n",
			       ti->fd, ti->pid, ti->type);
			ret = -EOPNOTSUPP;
		}
	}
	return ret ?: check_ctty_files(t);
}

int tty_finish(struct files_dump *fdump, pid_t pid)
{
	return tty_note_process(&fdump->ttys, pid);
}

/*
 * @t with the line discipline's input processing off (no signals, echo,
 * translation, flow control or editing characters), canonical mode kept: the
 * bytes put back with TIOCSTI are stored as they come, lines ending at '\n'
 * and the end-of-line characters as before.
 */
static void neutral_termios(struct termios *n, const struct termios *t)
{
	static const int editing[] = { VINTR, VQUIT, VERASE,   VKILL,	VEOF,  VSTART,
				       VSTOP, VSUSP, VREPRINT, VWERASE, VLNEXT };

	*n = *t;
	n->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | IGNPAR | PARMRK | INPCK | ISTRIP | INLCR | IGNCR | ICRNL | IUCLC |
				  IXON | IXANY | IXOFF | IMAXBEL);
	n->c_lflag &= ~(tcflag_t)(ISIG | ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOPRT | ECHOKE | IEXTEN);
	for (size_t i = 0; i < sizeof(editing) / sizeof(editing[0]); i++)
		n->c_cc[editing[i]] = _POSIX_VDISABLE;
}

/*
 * Puts @len bytes back in the input of the end @fd (they are read there next):
 * the first PTY_REFILL_MAX with TIOCSTI, synchronously, through the slave's
 * line discipline set by @slave_fd's termios made neutral, then @final set; the
 * rest (a queue larger than the line discipline holds) written by the peer
 * @peer_fd, to be taken in as the reader makes room.
 */
static int refill(int fd, int slave_fd, int peer_fd, const struct termios *final, const uint8_t *buf, size_t len,
		  uint32_t id)
{
	struct termios n;
	size_t done = 0;
	int ret = 0;

	if (!len)
		return 0;
	if (slave_fd >= 0) {
		neutral_termios(&n, final);
		if (tcsetattr(slave_fd, TCSANOW, &n) < 0) {
			pr_perror("Can't make the line discipline of pty end %u neutral", id);
			return -errno;
		}
	}
	for (; done < len && done < PTY_REFILL_MAX; done++) {
		if (ioctl(fd, TIOCSTI, &buf[done]) < 0) {
			pr_perror("Can't put byte %zu of %zu back in pty end %u", done, len, id);
			ret = -errno;
			break;
		}
	}
	if (!ret && done < len && peer_fd >= 0) {
		ssize_t n_w = write(peer_fd, buf + done, len - done);

		if (n_w != (ssize_t)(len - done)) {
			pr_perror("pty end %u: only %zd of its last %zu queued bytes went back", id, n_w, len - done);
			ret = n_w < 0 ? -errno : -EIO;
		}
	} else if (!ret && done < len) {
		pr_err("pty end %u: %zu queued bytes, more than its line discipline holds (%d)\n", id, len,
		       PTY_REFILL_MAX);
		ret = -EOPNOTSUPP;
	}
	if (slave_fd >= 0 && tcsetattr(slave_fd, TCSANOW, final) < 0 && !ret) {
		pr_perror("Can't set the settings of pty end %u back", id);
		ret = -errno;
	}
	return ret;
}

/* Reads what is queued on end @fd, non-blocking, into *@bufp / *@lenp. */
static int drain(int fd, uint32_t id, uint8_t **bufp, size_t *lenp)
{
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			uint8_t *b = cap < PTY_DATA_MAX ? realloc(buf, cap * 2) : NULL;

			if (!b) {
				pr_err("pty end %u: more than %d bytes queued: not supported\n", id, PTY_DATA_MAX);
				ret = cap < PTY_DATA_MAX ? -ENOMEM : -EOPNOTSUPP;
				break;
			}
			buf = b;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		/* EIO: the other end is closed and nothing is left. */
		if (n < 0 && errno != EAGAIN && errno != EIO) {
			pr_perror("Can't read the bytes queued on pty end %u", id);
			ret = -errno;
		}
		break;
	}
	*bufp = buf;
	*lenp = len;
	return ret;
}

/*
 * The bytes queued on pty end @ti (criu's copy of it), read and put back at
 * once; @peer_fd is a copy of the other end, or -1. The end's status flags,
 * packet mode and (a slave's) settings and locked settings are as they were
 * after it.
 */
static int take_queue(const struct tty_info *ti, int peer_fd, uint8_t **bufp, size_t *lenp)
{
	struct termios orig, raw, locked, unlocked = { 0 };
	bool has_locked = false, pkt = ti->master && ti->packet_mode;
	int fl, on = 1, off = 0, ret, ret2;

	*bufp = NULL;
	*lenp = 0;
	fl = fcntl(ti->copy_fd, F_GETFL);
	if (fl < 0 || tcgetattr(ti->copy_fd, &orig) < 0) {
		pr_perror("Can't read the flags and settings of pty end %u", ti->id);
		return -errno;
	}
	/* Locked settings would keep the slave's line discipline from being changed for the read. */
	if (!ti->master && ioctl(ti->copy_fd, TIOCGLCKTRMIOS, &locked) == 0 &&
	    memcmp(&locked, &unlocked, sizeof(locked))) {
		has_locked = true;
		if (ioctl(ti->copy_fd, TIOCSLCKTRMIOS, &unlocked) < 0) {
			pr_perror("Can't unlock the settings of pty end %u", ti->id);
			return -errno;
		}
	}
	if (pkt && ioctl(ti->copy_fd, TIOCPKT, &off) < 0) {
		pr_perror("Can't leave packet mode on pty end %u", ti->id);
		ret = -errno;
		goto out_locked;
	}
	/* The slave's line discipline gives every byte, complete lines or not, without canonical mode. */
	raw = orig;
	raw.c_lflag &= ~(tcflag_t)ICANON;
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (!ti->master && tcsetattr(ti->copy_fd, TCSANOW, &raw) < 0) {
		pr_perror("Can't make pty end %u non-canonical", ti->id);
		ret = -errno;
		goto out_pkt;
	}
	if (fcntl(ti->copy_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		pr_perror("Can't make pty end %u non-blocking", ti->id);
		ret = -errno;
		goto out_termios;
	}
	ret = drain(ti->copy_fd, ti->id, bufp, lenp);
	ret2 = refill(ti->copy_fd, ti->master ? -1 : ti->copy_fd, peer_fd, &orig, *bufp, *lenp, ti->id);
	ret = ret ?: ret2;
	if (fcntl(ti->copy_fd, F_SETFL, fl) < 0 && !ret) {
		pr_perror("Can't set the flags of pty end %u back", ti->id);
		ret = -errno;
	}
out_termios:
	if (!ti->master && tcsetattr(ti->copy_fd, TCSANOW, &orig) < 0 && !ret) {
		pr_perror("Can't set the settings of pty end %u back", ti->id);
		ret = -errno;
	}
out_pkt:
	if (pkt && ioctl(ti->copy_fd, TIOCPKT, &on) < 0 && !ret) {
		pr_perror("Can't set packet mode on pty end %u back", ti->id);
		ret = -errno;
	}
out_locked:
	if (has_locked && ioctl(ti->copy_fd, TIOCSLCKTRMIOS, &locked) < 0 && !ret) {
		pr_perror("Can't lock the settings of pty end %u back", ti->id);
		ret = -errno;
	}
	return ret;
}

static int write_queue(struct cr_img **img, int dirfd, uint32_t id, uint8_t *buf, size_t len)
{
	TtyDataEntry e = TTY_DATA_ENTRY__INIT;
	int ret;

	if (!*img) {
		ret = img_open(img, dirfd, IMG_WRITE, CR_IMG_TTY_DATA);
		if (ret)
			return ret;
	}
	e.tty_id = id;
	e.data.data = buf;
	e.data.len = len;
	return img_write_entry(*img, &e);
}

int pty_dump_data(const struct tty_table *t, int dirfd)
{
	struct cr_img *img = NULL;
	int ret = 0, cret = 0;

	for (size_t i = 0; !ret && i < t->nr_infos; i++) {
		const struct tty_info *ti = &t->infos[i], *peer;
		uint8_t *buf;
		size_t len;

		if (!made_by_us(t, ti) || ti->copy_fd < 0)
			continue;
		peer = peer_of(t, ti);
		ret = take_queue(ti, peer ? peer->copy_fd : -1, &buf, &len);
		if (!ret && len) {
			pr_info("pty end %u (/dev/pts/%u%s): %zu bytes queued\n", ti->id, ti->index,
				ti->master ? ", master" : "", len);
			ret = write_queue(&img, dirfd, ti->id, buf, len);
		}
		free(buf);
	}
	if (img)
		cret = img_close(img);
	return ret ?: cret;
}

/* ------------------------------------------------------------- restore */

struct pty_restore {
	TtyInfoEntry **infos;
	size_t nr_infos;
	TtyDataEntry **data;
	size_t nr_data;
	bool has_ctty;	  /* /dev/tty stands for a pty of the tree: */
	uint32_t ctty_id; /* its slave's id */
};

static int load_entries(int dirfd, enum cr_img_type type, void ***v, size_t *nr)
{
	struct cr_img *img;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ_OPTIONAL, type);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (;;) {
		void *msg, **nv;

		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		nv = realloc(*v, (*nr + 1) * sizeof(*nv));
		if (!nv) {
			img_free_entry(msg);
			ret = -ENOMEM;
			break;
		}
		*v = nv;
		(*v)[(*nr)++] = msg;
	}
	img_close(img);
	return ret;
}

static const TtyInfoEntry *rst_info(const struct pty_restore *st, uint32_t id)
{
	for (size_t i = 0; st && i < st->nr_infos; i++)
		if (st->infos[i]->id == id)
			return st->infos[i];
	return NULL;
}

static bool is_pty(const TtyInfoEntry *e)
{
	return e && e->type == TTY_TYPE__PTY && e->pty;
}

static bool rst_made_by_us(const struct pty_restore *st, const TtyInfoEntry *e)
{
	return is_pty(e) && ((e->id & 1) || is_pty(rst_info(st, e->id | 1)));
}

static int check_loaded(const struct restore_image *ri);

void pty_load_free(struct restore_image *ri)
{
	struct pty_restore *st = ri->kind_state[FD_KIND_TTY];

	if (!st)
		return;
	for (size_t i = 0; i < st->nr_infos; i++)
		img_free_entry(st->infos[i]);
	for (size_t i = 0; i < st->nr_data; i++)
		img_free_entry(st->data[i]);
	free(st->infos);
	free(st->data);
	free(st);
	ri->kind_state[FD_KIND_TTY] = NULL;
}

int pty_load(int dirfd, struct restore_image *ri)
{
	struct pty_restore *st;
	bool any = false;
	int ret;

	for (size_t i = 0; !any && i < ri->nr_files; i++)
		any = ri->files[i]->type == FD_TYPES__TTY;
	if (!any)
		return 0;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	ri->kind_state[FD_KIND_TTY] = st;
	ret = load_entries(dirfd, CR_IMG_TTY_INFO, (void ***)&st->infos, &st->nr_infos);
	ret = ret ?: load_entries(dirfd, CR_IMG_TTY_DATA, (void ***)&st->data, &st->nr_data);
	if (ret) {
		pty_load_free(ri);
		return ret;
	}
	/* /dev/tty is ours when a pty of the tree controls a session (the dump allows only one). */
	for (size_t i = 0; i < st->nr_infos; i++)
		if (rst_made_by_us(st, st->infos[i]) && st->infos[i]->sid && !st->has_ctty) {
			st->has_ctty = true;
			st->ctty_id = st->infos[i]->id & ~1u;
		}
	ret = check_loaded(ri);
	if (ret)
		pty_load_free(ri);
	return ret;
}

bool pty_file_inherited(const struct restore_image *ri, const FileEntry *fe)
{
	const struct pty_restore *st = ri->kind_state[FD_KIND_TTY];
	const TtyInfoEntry *e = fe->tty ? rst_info(st, fe->tty->tty_info_id) : NULL;

	if (!e)
		return true;
	if (e->type == TTY_TYPE__CTTY)
		return !st->has_ctty;
	return !rst_made_by_us(st, e);
}

static int check_termios(const TermiosEntry *te, uint32_t id)
{
	if (te && te->n_c_cc < TTY_NCCS) {
		pr_err("tty-info.img: pty end %u has %zu control characters, not %d\n", id, te->n_c_cc, TTY_NCCS);
		return -EINVAL;
	}
	return 0;
}

static int check_loaded(const struct restore_image *ri)
{
	const struct pty_restore *st = ri->kind_state[FD_KIND_TTY];

	for (size_t i = 0; st && i < st->nr_infos; i++) {
		const TtyInfoEntry *e = st->infos[i];

		if (e->type != TTY_TYPE__PTY)
			continue;
		if (!e->pty || e->pty->index > TTY_PTY_INDEX_MAX || e->id >> 1 != e->pty->index) {
			pr_err("tty-info.img: pty end %u without a pty entry or with a bad index\n", e->id);
			return -EINVAL;
		}
		if ((e->id & 1) && (!e->termios || !e->winsize)) {
			pr_err("tty-info.img: pty master %u without its settings\n", e->id);
			return -EINVAL;
		}
		if (check_termios(e->termios, e->id) || check_termios(e->termios_locked, e->id))
			return -EINVAL;
	}
	for (size_t i = 0; i < ri->nr_files; i++) {
		const FileEntry *fe = ri->files[i];
		const TtyInfoEntry *e;

		if (fe->type != FD_TYPES__TTY)
			continue;
		if (!fe->tty || fe->tty->id != fe->id) {
			pr_err("files.img: terminal file %u without its tty entry\n", fe->id);
			return -EINVAL;
		}
		e = rst_info(st, fe->tty->tty_info_id);
		if (!e) {
			pr_err("files.img: file %u refers to terminal %u, which tty-info.img doesn't have\n", fe->id,
			       fe->tty->tty_info_id);
			return -EINVAL;
		}
		if (rst_made_by_us(st, e) && (!fe->tty->has_regf_id || !restore_images_file(ri, fe->tty->regf_id))) {
			pr_err("files.img: pty file %u has no path (regf_id)\n", fe->id);
			return -EINVAL;
		}
	}
	for (size_t i = 0; st && i < st->nr_data; i++) {
		if (!is_pty(rst_info(st, st->data[i]->tty_id))) {
			pr_err("tty-data.img: queued bytes of terminal %u, which tty-info.img doesn't have as a pty\n",
			       st->data[i]->tty_id);
			return -EINVAL;
		}
	}
	return 0;
}

static void termios_from(struct termios *tio, const TermiosEntry *te)
{
	memset(tio, 0, sizeof(*tio));
	tty_termios_from_entry(tio, te);
}

static const char *file_path(const struct restore_image *ri, const FileEntry *fe)
{
	const RegFileEntry *reg = restore_images_file(ri, fe->tty->regf_id);

	return reg ? reg->name : NULL;
}

/* /dev/pts/N beside @ptmx (/dev/ptmx or DIR/ptmx of a devpts mount) into @buf. */
static void slave_path(const char *ptmx, uint32_t index, char *buf, size_t size)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", ptmx);
	if (!strcmp(dir, "/dev/ptmx"))
		snprintf(buf, size, "/dev/pts/%u", index);
	else
		snprintf(buf, size, "%s/%u", dirname(dir), index);
}

/* /dev/ptmx at @path opened with @flags until the kernel gives index @index. */
static int open_index(const char *path, uint32_t flags, uint32_t index)
{
	int fds[PTY_OPEN_TRIES], n = 0, got = -1, ret = -EBUSY;

	for (; n < PTY_OPEN_TRIES; n++) {
		int cur;

		fds[n] = open(path, (int)(flags & ~(uint32_t)PTY_OPEN_DROPPED) | O_NOCTTY | O_CLOEXEC);
		if (fds[n] < 0) {
			pr_perror("Can't open %s for /dev/pts/%u", path, index);
			ret = -errno;
			break;
		}
		if (ioctl(fds[n], TIOCGPTN, &cur) < 0) {
			pr_perror("Can't read the index of a pty opened at %s", path);
			ret = -errno;
			n++;
			break;
		}
		if ((uint32_t)cur == index) {
			got = fds[n];
			fds[n] = -1;
			n++;
			break;
		}
		/* Lower indexes are taken one by one; a higher one means index is taken. */
		if ((uint32_t)cur > index) {
			n++;
			break;
		}
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (got < 0 && ret == -EBUSY)
		pr_err("can't make pty /dev/pts/%u again: its index is taken (by a pty outside the tree)\n", index);
	return got >= 0 ? got : ret;
}

static const TtyDataEntry *rst_data(const struct pty_restore *st, uint32_t id)
{
	for (size_t i = 0; i < st->nr_data; i++)
		if (st->data[i]->tty_id == id)
			return st->data[i];
	return NULL;
}

/* The dumped settings of the pair (through the master: the kernel keeps them on the slave), its queues. */
static int set_pair(const struct pty_restore *st, const TtyInfoEntry *m, int master, int slave)
{
	const TtyInfoEntry *s = rst_info(st, m->id & ~1u);
	const TtyDataEntry *md = rst_data(st, m->id), *sd = s ? rst_data(st, s->id) : NULL;
	struct termios tio, locked;
	struct winsize ws = {
		.ws_row = (unsigned short)m->winsize->ws_row,
		.ws_col = (unsigned short)m->winsize->ws_col,
		.ws_xpixel = (unsigned short)m->winsize->ws_xpixel,
		.ws_ypixel = (unsigned short)m->winsize->ws_ypixel,
	};
	int on = 1, ret = 0;

	termios_from(&tio, s && s->termios ? s->termios : m->termios);
	if (tcsetattr(master, TCSANOW, &tio) < 0) {
		pr_perror("Can't set the settings of /dev/pts/%u", m->pty->index);
		return -errno;
	}
	if (md)
		ret = refill(master, -1, slave, &tio, md->data.data, md->data.len, m->id);
	if (!ret && sd && slave >= 0)
		ret = refill(slave, slave, master, &tio, sd->data.data, sd->data.len, s->id);
	if (ret)
		return ret;
	if (m->termios_locked) {
		termios_from(&locked, m->termios_locked);
		if (ioctl(master, TIOCSLCKTRMIOS, &locked) < 0) {
			pr_perror("Can't lock the settings of /dev/pts/%u", m->pty->index);
			return -errno;
		}
	}
	if (ioctl(master, TIOCSWINSZ, &ws) < 0 || (m->packet_mode && ioctl(master, TIOCPKT, &on) < 0) ||
	    (m->exclusive && ioctl(master, TIOCEXCL) < 0) ||
	    (s && s->exclusive && slave >= 0 && ioctl(slave, TIOCEXCL) < 0) ||
	    (m->locked && ioctl(master, TIOCSPTLCK, &on) < 0)) {
		pr_perror("Can't set the window size or modes of /dev/pts/%u", m->pty->index);
		return -errno;
	}
	return 0;
}

/*
 * Makes pty @index: its master (file @mi of files.img, or none: a master made
 * for the slaves alone is not kept), and every slave description of the tree,
 * into @fds.
 */
static int make_pair(const struct restore_image *ri, struct restore_fds *fds, uint32_t index)
{
	const struct pty_restore *st = ri->kind_state[FD_KIND_TTY];
	const TtyInfoEntry *m = rst_info(st, index * 2 + 1);
	const FileEntry *mfe = NULL;
	char spath[PATH_MAX];
	int master, slave = -1, unlock = 0, ret = 0;
	ssize_t mi = -1;

	for (size_t i = 0; i < ri->nr_files; i++) {
		const FileEntry *fe = ri->files[i];

		if (fe->type != FD_TYPES__TTY || fe->tty->tty_info_id != index * 2 + 1)
			continue;
		if (mfe) {
			pr_err("files.img: two descriptions of the master of /dev/pts/%u (files %u and %u)\n", index,
			       mfe->id, fe->id);
			return -EINVAL;
		}
		mfe = fe;
		mi = (ssize_t)i;
	}
	if (!m || !mfe) {
		pr_err("files.img: /dev/pts/%u has no master file\n", index);
		return -EINVAL;
	}
	master = open_index(file_path(ri, mfe), mfe->tty->flags, index);
	if (master < 0)
		return master;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
		pr_perror("Can't unlock /dev/pts/%u", index);
		close(master);
		return -errno;
	}
	fds->fds[mi] = master;
	slave_path(file_path(ri, mfe), index, spath, sizeof(spath));
	for (size_t i = 0; !ret && i < ri->nr_files; i++) {
		const FileEntry *fe = ri->files[i];
		const char *path;
		int fd;

		if (fe->type != FD_TYPES__TTY || fe->tty->tty_info_id != index * 2)
			continue;
		path = file_path(ri, fe);
		fd = open(path, (int)(fe->tty->flags & ~(uint32_t)PTY_OPEN_DROPPED) | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("Can't open %s, the slave of the pty made again", path);
			ret = -errno;
			break;
		}
		fds->fds[i] = fd;
		if (slave < 0)
			slave = fd;
	}
	/* /dev/tty of the tree: a placeholder on the slave, replaced in the process (pty_child_setup()). */
	for (size_t i = 0; !ret && st->has_ctty && st->ctty_id == index * 2 && i < ri->nr_files; i++) {
		const FileEntry *fe = ri->files[i];
		const TtyInfoEntry *e = fe->type == FD_TYPES__TTY ? rst_info(st, fe->tty->tty_info_id) : NULL;

		if (!e || e->type != TTY_TYPE__CTTY)
			continue;
		fds->fds[i] = open(spath, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fds->fds[i] < 0) {
			pr_perror("Can't open %s for /dev/tty", spath);
			ret = -errno;
		}
	}
	if (!ret && slave < 0) {
		/* No slave is held: one is opened for the settings and the queues, then closed. */
		slave = open(spath, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
		if (slave < 0) {
			pr_perror("Can't open %s", spath);
			ret = -errno;
		}
		if (!ret)
			ret = set_pair(st, m, master, -1);
		if (slave >= 0)
			close(slave);
		slave = -1;
	} else if (!ret) {
		ret = set_pair(st, m, master, slave);
	}
	if (!ret)
		pr_info("/dev/pts/%u made again (master file %u, session %u, foreground group %u)\n", index, mfe->id,
			m->sid, m->pgrp);
	return ret;
}

/* As pipes: every pair of files.img is made for the tree's first process; the others are given theirs. */
int pty_open(const struct restore_image *ri, struct restore_fds *fds)
{
	const struct pty_restore *st = ri->kind_state[FD_KIND_TTY];

	if (fds->given || !st)
		return 0;
	for (size_t i = 0; i < st->nr_infos; i++) {
		const TtyInfoEntry *e = st->infos[i];
		int ret;

		if (!is_pty(e) || !(e->id & 1))
			continue;
		ret = make_pair(ri, fds, e->pty->index);
		if (ret)
			return ret;
	}
	return 0;
}

/* An fd of this process on slave @id, or a new one (*@opened). */
static int slave_fd(const struct restore_image *ri, const struct restore_fds *fds, uint32_t id, bool *opened)
{
	const struct pty_restore *st = ri->kind_state[FD_KIND_TTY];
	const FileEntry *mfe = NULL;
	char path[PATH_MAX];
	int fd;

	*opened = false;
	for (size_t i = 0; i < ri->nr_files && i < fds->nr; i++) {
		const FileEntry *fe = ri->files[i];

		if (fe->type != FD_TYPES__TTY)
			continue;
		if (fe->tty->tty_info_id == id && fds->fds[i] >= 0)
			return fds->fds[i];
		if (fe->tty->tty_info_id == (id | 1))
			mfe = fe;
	}
	if (!mfe || !rst_info(st, id | 1)) {
		pr_err("process %d: no path to /dev/pts/%u\n", ri->pid, id >> 1);
		return -EINVAL;
	}
	slave_path(file_path(ri, mfe), id >> 1, path, sizeof(path));
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		pr_perror("process %d: can't open %s", ri->pid, path);
		return -errno;
	}
	*opened = true;
	return fd;
}

/* With SIGTTOU blocked: a background group takes the foreground. */
static int set_foreground(int fd, pid_t pgrp, uint32_t index)
{
	sigset_t set, old;
	int ret = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTTOU);
	if (sigprocmask(SIG_BLOCK, &set, &old) < 0)
		return -errno;
	if (ioctl(fd, TIOCSPGRP, &pgrp) < 0) {
		pr_perror("Can't give group %d the foreground of /dev/pts/%u", pgrp, index);
		ret = -errno;
	}
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* /dev/tty anew in place of the placeholder criu opened on the slave. */
static int reopen_dev_tty(const struct restore_image *ri, const struct restore_fds *fds)
{
	const struct pty_restore *st = ri->kind_state[FD_KIND_TTY];

	for (size_t i = 0; i < ri->nr_files && i < fds->nr; i++) {
		const FileEntry *fe = ri->files[i];
		const TtyInfoEntry *e = fe->type == FD_TYPES__TTY ? rst_info(st, fe->tty->tty_info_id) : NULL;
		int fd;

		if (!e || e->type != TTY_TYPE__CTTY || fds->fds[i] < 0 || !st->has_ctty)
			continue;
		fd = open("/dev/tty", (int)(fe->tty->flags & ~(uint32_t)PTY_OPEN_DROPPED) | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("process %d: can't open /dev/tty (its controlling terminal is /dev/pts/%u)", ri->pid,
				  st->ctty_id >> 1);
			return -errno;
		}
		if (dup3(fd, fds->fds[i], O_CLOEXEC) < 0) {
			pr_perror("process %d: can't put /dev/tty at fd %d", ri->pid, fds->fds[i]);
			close(fd);
			return -errno;
		}
		close(fd);
	}
	return 0;
}

int pty_child_setup(const struct restore_image *ri, const struct restore_fds *fds)
{
	const struct pty_restore *st = ri->kind_state[FD_KIND_TTY];
	const PstreeEntry *ps = ri->pstree;
	int ret = 0;

	/* Not in its session yet: born in another one, it leaves it later (restore-fork.c calls again). */
	if (!st || !fds || getsid(0) != (pid_t)ps->sid)
		return 0;
	for (size_t i = 0; !ret && i < st->nr_infos; i++) {
		const TtyInfoEntry *e = st->infos[i];
		bool opened;
		int fd;

		/* The master's entry has the slave's session: one per pair. */
		if (!is_pty(e) || !(e->id & 1) || !e->sid || e->sid != ps->sid)
			continue;
		if (ps->sid == (uint32_t)ri->pid || (e->pgrp == (uint32_t)ri->pid && ps->pgid == (uint32_t)ri->pid)) {
			fd = slave_fd(ri, fds, e->id & ~1u, &opened);
			if (fd < 0)
				return fd;
			if (ps->sid == (uint32_t)ri->pid && ioctl(fd, TIOCSCTTY, 0) < 0) {
				pr_perror("process %d: can't make /dev/pts/%u its controlling terminal", ri->pid,
					  e->pty->index);
				ret = -errno;
			}
			if (!ret && e->pgrp == (uint32_t)ri->pid && ps->pgid == (uint32_t)ri->pid)
				ret = set_foreground(fd, ri->pid, e->pty->index);
			if (opened)
				close(fd);
		}
	}
	return ret ?: reopen_dev_tty(ri, fds);
}
