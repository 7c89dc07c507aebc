/*
 * epoll instances, both directions (see include/eventpoll.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include <unistd.h>

#include "array.h"
#include "eventpoll.h"
#include "files.h"
#include "image.h"
#include "proc-parse.h"
#include "restore-fds.h"
#include "restore-image.h"

#define LOG_PREFIX "epoll: "
#include "log.h"

#define EPOLL_LINK "anon_inode:[eventpoll]"

bool epoll_match(const struct fd_probe *p)
{
	return !strcmp(p->link, EPOLL_LINK);
}

static int add_tfd(struct epoll_file *ef, const struct epoll_tfd *t, size_t *cap)
{
	int ret = ARRAY_RESERVE(ef->tfds, ef->nr, *cap, 16);

	if (!ret)
		ef->tfds[ef->nr++] = *t;
	return ret;
}

struct tfd_lines {
	struct epoll_file *ef;
	size_t cap;
	pid_t pid;
};

/* A "tfd:" line of /proc/PID/fdinfo/FD: one per registration. */
static int tfd_line(void *arg, char *line)
{
	struct tfd_lines *tl = arg;
	struct epoll_tfd t = { 0 };
	unsigned long long data, ino;
	long long pos;
	int tfd;

	if (strncmp(line, "tfd:", 4))
		return 0;
	if (sscanf(line, "tfd: %d events: %x data: %llx pos:%lli ino:%llx", &tfd, &t.events, &data, &pos, &ino) != 5 ||
	    tfd < 0) {
		pr_err("/proc/%d/fdinfo/%d: can't parse \"%s\"\n", tl->pid, tl->ef->fd, line);
		return -EINVAL;
	}
	t.tfd = (uint32_t)tfd, t.data = data, t.ino = ino, t.pos = (uint64_t)pos;
	return add_tfd(tl->ef, &t, &tl->cap);
}

static int parse_tfds(struct epoll_file *ef, pid_t pid)
{
	struct tfd_lines tl = { .ef = ef, .pid = pid };

	return proc_fdinfo_lines(pid, ef->fd, tfd_line, &tl);
}

static int in_flight_targets(const struct epoll_file *ef, pid_t root);

int epoll_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct epoll_dump *d = &c->fdump->epoll;
	struct epoll_file *ef;
	int ret;

	ret = ARRAY_RESERVE(d->v, d->nr, d->cap, 4);
	if (ret)
		return ret;
	ef = &d->v[d->nr];
	memset(ef, 0, sizeof(*ef));
	ef->id = *id = files_reg_new_id(&c->fdump->reg);
	ef->fd = p->fd;
	ef->pid = c->args->pid;
	ef->flags = p->flags & ~(uint32_t)O_CLOEXEC;
	ef->fown = p->fown;
	ret = parse_tfds(ef, c->args->pid);
	/* One in flight (SCM_RIGHTS, criu holds it): the tree's first process registers its targets again. */
	if (!ret && ef->pid == getpid() && ef->nr)
		ret = in_flight_targets(ef, c->fdump->in_flight.root);
	if (ret) {
		free(ef->tfds);
		return ret;
	}
	d->nr++;
	pr_debug("fd %d: epoll with %zu registration(s)\n", p->fd, ef->nr);
	return 0;
}

/*
 * Whether the registration of epoll @ef under fd number @key (the @toff-th of
 * that number) is the file at fd t->tfd of process @pid: kcmp(KCMP_EPOLL_TFD)
 * compares the file itself (the ends of a pipe share an inode). 1 yes, 0 no,
 * -errno.
 */
static int same_target(const struct epoll_file *ef, const struct epoll_tfd *t, uint32_t toff, pid_t pid, uint32_t key)
{
	struct kcmp_epoll_slot slot = { .efd = (uint32_t)ef->fd, .tfd = key, .toff = toff };
	long ret = syscall(SYS_kcmp, pid, ef->pid, KCMP_EPOLL_TFD, t->tfd, &slot);

	if (ret < 0 && errno != EBADF && errno != ENOENT) {
		pr_perror("Can't compare the target fd %u of epoll fd %d of process %d", t->tfd, ef->fd, ef->pid);
		return -errno;
	}
	return ret == 0;
}

/* Its registrations before @j on the same fd number (KCMP_EPOLL_TFD's toff: both walk them in one order). */
static uint32_t target_offset(const struct epoll_file *ef, size_t j)
{
	uint32_t toff = 0;

	for (size_t k = 0; k < j; k++)
		toff += ef->tfds[k].tfd == ef->tfds[j].tfd;
	return toff;
}

/*
 * Each registration of @ef, an epoll in flight (criu's fd), must be the file
 * at its fd number in process @root, which restores it (epoll_install()).
 */
static int in_flight_targets(const struct epoll_file *ef, pid_t root)
{
	for (size_t j = 0; j < ef->nr; j++) {
		int same = same_target(ef, &ef->tfds[j], target_offset(ef, j), root, ef->tfds[j].tfd);

		if (same < 0)
			return same;
		if (!same) {
			pr_err("an epoll instance in flight watches a file under fd number %u, which is not that file in "
			       "process %d, the tree's first: not supported (that process registers them again)\n",
			       ef->tfds[j].tfd, root);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

size_t epoll_registrations(const struct files_dump *fdump, uint32_t id)
{
	for (size_t i = 0; i < fdump->epoll.nr; i++)
		if (fdump->epoll.v[i].id == id)
			return fdump->epoll.v[i].nr;
	return 0;
}

/*
 * Registration @j of @ef, whose fd number is no longer its file (closed, or
 * given to another file since): another fd of the process on the same inode
 * holding that very file (KCMP_EPOLL_TFD), as CRIU looks for it, or -1. 0 or
 * -errno.
 */
static int find_holder(const struct fd_table *t, const struct epoll_file *ef, size_t j, uint32_t toff, int *holder)
{
	const struct epoll_tfd *tfd = &ef->tfds[j];

	*holder = -1;
	for (size_t k = 0; k < t->nr; k++) {
		struct epoll_tfd probe = *tfd;
		int same;

		if (t->fds[k].ino != tfd->ino || t->fds[k].fd == ef->fd)
			continue;
		probe.tfd = (uint32_t)t->fds[k].fd;
		/* kcmp compares fd t->fds[k].fd with the registration (tfd, toff) of the epoll. */
		same = same_target(ef, &probe, toff, ef->pid, tfd->tfd);
		if (same < 0)
			return same;
		if (same) {
			*holder = t->fds[k].fd;
			return 0;
		}
	}
	return 0;
}

/* Whether @ef registers the file of fd @fd under that number already (another registration than @j). */
static bool registered_at(const struct epoll_file *ef, size_t j, uint32_t fd, const struct fd_table *t)
{
	uint32_t type;
	uint64_t ino = files_fd_ino((void *)t, (int)fd, &type);

	for (size_t k = 0; k < ef->nr; k++)
		if (k != j && ef->tfds[k].tfd == fd && ef->tfds[k].ino == ino)
			return true;
	return false;
}

int epoll_check_targets(struct files_dump *fdump, pid_t pid)
{
	struct epoll_dump *d = &fdump->epoll;

	/*
	 * The table holds the epolls of the processes collected before too: each is checked in the
	 * process it was first found in, which makes it on restore and registers its targets again
	 * under its own fd numbers. The kernel keys a registration by a file and the fd number of the
	 * process that added it. One whose fd was closed or given to another file since is registered
	 * again under another fd of the process holding that file, as CRIU does; one whose file no fd
	 * of the process holds (another process sharing the epoll added it) is refused. Walked from
	 * the last, so that the registrations before the one rewritten keep their fd numbers for
	 * KCMP_EPOLL_TFD's offsets.
	 */
	for (size_t i = 0; i < d->nr; i++)
		for (size_t j = d->v[i].nr; d->v[i].pid == pid && j-- > 0;) {
			struct epoll_tfd *t = &d->v[i].tfds[j];
			uint32_t type, toff = target_offset(&d->v[i], j);
			uint64_t ino = files_fd_ino(&fdump->fds, (int)t->tfd, &type);
			const struct fd_kind *k = fd_kind_of_type(type);
			/*
			 * Where the kind has one description per inode (sockets) the inode says it all;
			 * kcmp (which walks every registration of the epoll in the kernel: quadratic for a
			 * server's 10,000 connections) only where it may not: pipe ends, the anonymous
			 * inode every eventfd shares, a file opened twice.
			 */
			bool one_file = k && (k->flags & FD_KIND_ONE_FILE);
			int same = ino != t->ino ? 0 : one_file ? 1 : same_target(&d->v[i], t, toff, pid, t->tfd);
			int holder = -1;

			if (same < 0)
				return same;
			if (same)
				continue;
			same = find_holder(&fdump->fds, &d->v[i], j, toff, &holder);
			if (same < 0)
				return same;
			if (holder >= 0 && !registered_at(&d->v[i], j, (uint32_t)holder, &fdump->fds)) {
				pr_info("epoll fd %d of process %d: the file registered under fd %u, %s now, is fd %d: "
					"registered under that\n",
					d->v[i].fd, pid, t->tfd, !ino ? "closed" : "another file", holder);
				t->tfd = (uint32_t)holder;
				continue;
			}
			pr_err("epoll fd %d of process %d watches a file under fd number %u, which is %s in that "
			       "process: not supported (the file must be an fd of the first process holding the epoll, "
			       "registered once under it; one added by another process sharing it can't be restored)\n",
			       d->v[i].fd, pid, t->tfd, !ino ? "no open fd" : "another file");
			return -EOPNOTSUPP;
		}
	return 0;
}

static int write_one(const struct epoll_file *ef, struct cr_img *img)
{
	FileEntry fe = FILE_ENTRY__INIT;
	EventpollFileEntry e = EVENTPOLL_FILE_ENTRY__INIT;
	EventpollTfdEntry *tfds, **ptrs;
	FownEntry fown;
	int ret;

	tfds = calloc(ef->nr ? ef->nr : 1, sizeof(*tfds));
	ptrs = calloc(ef->nr ? ef->nr : 1, sizeof(*ptrs));
	if (!tfds || !ptrs) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < ef->nr; i++) {
		eventpoll_tfd_entry__init(&tfds[i]);
		tfds[i].id = ef->id;
		tfds[i].tfd = ef->tfds[i].tfd;
		tfds[i].events = ef->tfds[i].events;
		tfds[i].data = ef->tfds[i].data;
		tfds[i].has_inode = 1, tfds[i].inode = ef->tfds[i].ino;
		tfds[i].has_pos = 1, tfds[i].pos = ef->tfds[i].pos;
		ptrs[i] = &tfds[i];
	}
	reg_fown_entry(&ef->fown, &fown);
	e.id = ef->id;
	e.flags = ef->flags;
	e.fown = &fown;
	e.n_tfd = ef->nr;
	e.tfd = ptrs;
	fe.type = FD_TYPES__EVENTPOLL;
	fe.id = ef->id;
	fe.epfd = &e;
	ret = img_write_entry(img, &fe);
out_free:
	free(ptrs);
	free(tfds);
	return ret;
}

int epoll_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	const struct epoll_dump *d = &fdump->epoll;
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr; i++)
		ret = write_one(&d->v[i], img);
	return ret;
}

void epoll_dump_free(struct files_dump *fdump)
{
	struct epoll_dump *d = &fdump->epoll;

	for (size_t i = 0; i < d->nr; i++)
		free(d->v[i].tfds);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* Restore. */

int epoll_check_entry(const FileEntry *fe, const char *name)
{
	const EventpollFileEntry *e = fe->epfd;

	if (!e || e->id != fe->id || !e->fown) {
		pr_err("%s: file %u: an epoll entry without its body or owner\n", name, fe->id);
		return -EINVAL;
	}
	for (size_t i = 0; i < e->n_tfd; i++)
		if (!e->tfd[i] || e->tfd[i]->tfd > INT32_MAX) {
			pr_err("%s: epoll %u: registration %zu is malformed\n", name, fe->id, i);
			return -EINVAL;
		}
	return 0;
}

static int cmp_fd(const void *key, const void *elem)
{
	uint32_t fd = *(const uint32_t *)key, x = (*(const FdinfoEntry *const *)elem)->fd;

	return (fd > x) - (fd < x);
}

static const FdinfoEntry *find_fd(const struct restore_image *ri, uint32_t fd)
{
	FdinfoEntry *const *e;

	if (!ri->nr_fdinfo)
		return NULL;
	e = bsearch(&fd, ri->fdinfo, ri->nr_fdinfo, sizeof(*ri->fdinfo), cmp_fd);
	return e ? *e : NULL;
}

/* Which epolls of files.img this process made itself: it registers their targets (epoll_install()). */
struct epoll_restore {
	bool *made;	   /* per file of restore_image.files */
	int *in_flight_fd; /* per file: criu's fd of an epoll in flight only, whose targets the child adds; -1 */
};

int epoll_load(int dirfd, struct restore_image *ri)
{
	struct epoll_restore *st = calloc(1, sizeof(*st));

	(void)dirfd; /* no image of its own: files.img holds the registrations */
	if (st) {
		st->made = calloc(ri->nr_files ? ri->nr_files : 1, sizeof(*st->made));
		st->in_flight_fd = malloc((ri->nr_files ? ri->nr_files : 1) * sizeof(*st->in_flight_fd));
	}
	if (!st || !st->made || !st->in_flight_fd) {
		if (st)
			free(st->made);
		free(st);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ri->nr_files; i++)
		st->in_flight_fd[i] = -1;
	ri->kind_state[FD_KIND_EVENTPOLL] = st;
	return 0;
}

void epoll_load_free(struct restore_image *ri)
{
	struct epoll_restore *st = ri->kind_state[FD_KIND_EVENTPOLL];

	if (st) {
		free(st->made);
		free(st->in_flight_fd);
	}
	free(st);
	ri->kind_state[FD_KIND_EVENTPOLL] = NULL;
}

/* Every target of epoll @fe is one of the process's dumped fds. */
static int check_targets(const struct restore_image *ri, const FileEntry *fe)
{
	for (size_t j = 0; j < fe->epfd->n_tfd; j++)
		if (!find_fd(ri, fe->epfd->tfd[j]->tfd)) {
			pr_err("files.img: epoll %u of process %d watches fd %u, which the process has no entry for\n",
			       fe->id, ri->pid, fe->epfd->tfd[j]->tfd);
			return -EINVAL;
		}
	return 0;
}

static int open_one(const FileEntry *fe)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0) {
		pr_perror("Can't create epoll %u", fe->id);
		return -errno;
	}
	return fd;
}

/*
 * An epoll in flight only, with registrations: kept into the child above its
 * dumped fds (where no dup2() lands), which adds its targets (epoll_install())
 * and closes it with criu's other leftovers after its memory is restored.
 */
static int keep_in_flight(struct epoll_restore *st, struct restore_fds *fds, size_t i)
{
	int fd = fcntl(fds->fds[i], F_DUPFD_CLOEXEC, fds->min_fd);

	if (fd < 0) {
		pr_perror("Can't move epoll file %zu, in flight, above fd %d", i, fds->min_fd);
		return -errno;
	}
	close(fds->fds[i]);
	fds->fds[i] = fd;
	st->in_flight_fd[i] = fd;
	return 0;
}

bool epoll_kept_in_flight(const struct restore_image *ri, size_t i)
{
	const struct epoll_restore *st = ri->kind_state[FD_KIND_EVENTPOLL];

	return st && i < ri->nr_files && st->in_flight_fd[i] >= 0;
}

/*
 * An epoll several processes of the tree hold is made for the first of them,
 * whose fds its targets are (epoll_check_targets()): that one registers them;
 * the later ones were given it (restore_fds.given) and register nothing.
 */
int epoll_open(const struct restore_image *ri, struct restore_fds *fds)
{
	struct epoll_restore *st = ri->kind_state[FD_KIND_EVENTPOLL];
	int ret = 0;

	for (size_t i = 0; !ret && i < ri->nr_files; i++) {
		const FileEntry *fe = ri->files[i];

		if (fe->type != FD_TYPES__EVENTPOLL || !restore_fds_wanted(ri, fds, i) || fds->fds[i] >= 0)
			continue;
		ret = check_targets(ri, fe);
		if (ret)
			break;
		fds->fds[i] = open_one(fe);
		if (fds->fds[i] < 0) {
			ret = fds->fds[i];
			fds->fds[i] = -1;
		} else {
			st->made[i] = true;
			if (!ri->file_fds[i] && fe->epfd->n_tfd)
				ret = keep_in_flight(st, fds, i);
		}
	}
	return ret;
}

/* The fd number of file @id in the restored process: its lowest. */
static int installed_fd(const struct restore_image *ri, uint32_t id)
{
	for (size_t i = 0; i < ri->nr_fdinfo; i++)
		if (ri->fdinfo[i]->id == id)
			return (int)ri->fdinfo[i]->fd;
	return -1;
}

/* Flags of a registration that are not events (the kernel keeps only these once a one-shot fired). */
#define EPOLL_PRIVATE (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
#define EPOLL_READY (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP)

static bool disarmed(const EventpollTfdEntry *t)
{
	return (t->events & EPOLLONESHOT) && !(t->events & ~(uint32_t)EPOLL_PRIVATE);
}

/*
 * A one-shot registration that already fired asks for no event, but adding it
 * arms EPOLLERR and EPOLLHUP again. Added first with an event its target has
 * now and reported once, it ends as the kernel left it. (A target with no
 * event ready stays armed for errors and hang-ups only.)
 */
static int add_disarmed(int epfd, const EventpollTfdEntry *t, unsigned int *fired)
{
	struct pollfd pfd = { .fd = (int)t->tfd, .events = EPOLL_READY };
	struct epoll_event ev = { .events = t->events, .data.u64 = t->data };

	if (poll(&pfd, 1, 0) < 0)
		return -errno;
	if (pfd.revents & EPOLL_READY) {
		ev.events |= (uint32_t)pfd.revents & EPOLL_READY;
		(*fired)++;
	}
	return epoll_ctl(epfd, EPOLL_CTL_ADD, (int)t->tfd, &ev) < 0 ? -errno : 0;
}

static int add_all(int epfd, const EventpollFileEntry *e)
{
	struct epoll_event evs[64];
	unsigned int fired = 0;
	int ret = 0, n;

	for (size_t j = 0; !ret && j < e->n_tfd; j++)
		if (disarmed(e->tfd[j]))
			ret = add_disarmed(epfd, e->tfd[j], &fired);
	while (!ret && fired) {
		n = epoll_wait(epfd, evs, 64, 0);
		if (n < 0)
			return -errno;
		if (!n)
			break;
		fired -= (unsigned int)n < fired ? (unsigned int)n : fired;
	}
	for (size_t j = 0; !ret && j < e->n_tfd; j++) {
		const EventpollTfdEntry *t = e->tfd[j];
		struct epoll_event ev = { .events = t->events, .data.u64 = t->data };

		if (!disarmed(t) && epoll_ctl(epfd, EPOLL_CTL_ADD, (int)t->tfd, &ev) < 0)
			ret = -errno;
	}
	return ret;
}

int epoll_install(const struct restore_image *ri)
{
	const struct epoll_restore *st = ri->kind_state[FD_KIND_EVENTPOLL];
	int ret = 0;

	for (size_t i = 0; !ret && i < ri->nr_files; i++) {
		const FileEntry *fe = ri->files[i];

		if (fe->type == FD_TYPES__EVENTPOLL && ri->file_fds[i] && st->made[i])
			ret = add_all(installed_fd(ri, fe->id), fe->epfd);
		else if (fe->type == FD_TYPES__EVENTPOLL && st->made[i] && st->in_flight_fd[i] >= 0)
			ret = add_all(st->in_flight_fd[i], fe->epfd);
	}
	return ret;
}
