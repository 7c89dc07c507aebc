/*
 * criu restore: the TCP connections rebuilt beside the memory restore (see
 * include/sk-rebuild.h for the sequence).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eventpoll.h"
#include "restore-files.h"
#include "sk-rebuild.h"
#include "stats.h"

#define LOG_PREFIX "sk-rebuild: "
#include "log.h"

/* Connections per libsoccr batch: the sockets made wait in criu's fd table until placed. */
#define REBUILD_CHUNK 1024

struct sk_rebuild {
	const struct restore_image *ri;
	struct restore_fds *fds;
	int *target;	 /* per file: its lowest dumped fd, or -1 */
	uint32_t *flags; /* per file: that fd's FD_CLOEXEC */
	uint8_t *kept;	 /* per file: a placeholder holds its fd number for it */
	pthread_t thread;
	bool running;
	bool epolls_done; /* the thread registered every epoll target */
	int ret;	  /* the thread's */
	uint64_t us;	  /* the thread's time */
};

/* The file at fd number @fd of the process, or NULL. */
static const FileEntry *file_at(const struct restore_image *ri, uint32_t fd)
{
	size_t lo = 0, hi = ri->nr_fdinfo;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ri->fdinfo[mid]->fd == fd)
			return restore_images_file_idx(ri, ri->fdinfo[mid]->id) < 0 ?
				       NULL :
				       ri->files[restore_images_file_idx(ri, ri->fdinfo[mid]->id)];
		if (ri->fdinfo[mid]->fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool sk_rebuild_possible(const struct restore_image *ri, const struct restore_fds *fds)
{
	const char *serial = getenv("CRIU_NG_RESTORE_SERIAL");

	if (fds->tcp_close || !fds->tcp.nr || !ri->has_fdinfo || (serial && !strcmp(serial, "1")))
		return false;
	for (size_t i = 0; i < ri->nr_files; i++) {
		const EventpollFileEntry *e = ri->files[i]->epfd;

		if (ri->files[i]->type != FD_TYPES__EVENTPOLL || !ri->file_fds[i])
			continue;
		for (size_t j = 0; j < e->n_tfd; j++) {
			const FileEntry *t = file_at(ri, e->tfd[j]->tfd);

			if (!t || !restore_fds_made_here(t)) {
				pr_info("epoll %u watches fd %u, which criu doesn't make: sockets rebuilt before the "
					"memory\n",
					ri->files[i]->id, e->tfd[j]->tfd);
				return false;
			}
		}
	}
	return true;
}

int sk_rebuild_prepare(const struct restore_image *ri, struct restore_fds *fds)
{
	struct sk_rebuild *rb = calloc(1, sizeof(*rb));
	int ph, ret;

	if (!rb)
		return -ENOMEM;
	fds->rebuild = rb;
	rb->ri = ri;
	rb->fds = fds;
	rb->kept = calloc(ri->nr_files ? ri->nr_files : 1, 1);
	if (!rb->kept)
		return -ENOMEM;
	ret = restore_fds_targets(ri, &rb->target, &rb->flags);
	if (ret)
		return ret;
	ph = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (ph >= 0 && ph < fds->min_fd) { /* not on a number it keeps */
		int moved = fcntl(ph, F_DUPFD_CLOEXEC, fds->min_fd);

		close(ph);
		ph = moved;
	}
	if (ph < 0) {
		pr_perror("Can't open /dev/null as a placeholder");
		return -errno;
	}
	for (size_t i = 0; !ret && i < fds->tcp.nr; i++) {
		size_t f = fds->tcp.file_idx[i];
		int t = rb->target[f];

		/* Taken (by criu's own fd, or the placeholder itself): the process gets it by dup3() later. */
		if (t < 0 || fcntl(t, F_GETFD) >= 0)
			continue;
		if (dup3(ph, t, O_CLOEXEC) < 0) {
			pr_perror("Can't keep fd %d for a connection", t);
			ret = -errno;
		} else {
			rb->kept[f] = 1;
		}
	}
	close(ph);
	return ret;
}

/*
 * Connections @from to @to at their fd numbers, over their placeholders; one
 * without a placeholder above min_fd. After each batch, so that the sockets
 * made and the placeholders never need twice as many fds as the process has.
 */
static int place_conns(void *arg, size_t from, size_t to)
{
	struct sk_rebuild *rb = arg;
	struct restore_fds *fds = rb->fds;

	for (size_t i = from; i < to; i++) {
		size_t f = fds->tcp.file_idx[i];
		int src = fds->fds[f], fd;

		if (src < 0)
			continue;
		if (rb->kept[f])
			fd = dup3(src, rb->target[f], (rb->flags[f] & FD_CLOEXEC) ? O_CLOEXEC : 0);
		else if (src < fds->min_fd)
			fd = fcntl(src, F_DUPFD_CLOEXEC, fds->min_fd);
		else
			continue;
		if (fd < 0) {
			pr_perror("Can't move connection fd %d", src);
			return -errno;
		}
		close(src);
		fds->fds[f] = fd;
		rb->kept[f] = 0;
	}
	return 0;
}

/* Whether every fd of a file criu made holds it in criu's table (none pushed aside by one of criu's own fds). */
static bool all_in_place(const struct sk_rebuild *rb)
{
	const struct restore_image *ri = rb->ri;

	for (size_t i = 0; i < ri->nr_fdinfo; i++) {
		ssize_t f = restore_images_file_idx(ri, ri->fdinfo[i]->id);

		if (f >= 0 && restore_fds_made_here(ri->files[f]) && rb->fds->fds[f] != (int)ri->fdinfo[i]->fd)
			return false;
	}
	return true;
}

static void *rebuild_main(void *arg)
{
	struct sk_rebuild *rb = arg;
	struct restore_fds *fds = rb->fds;
	uint64_t start = stats_now_us();
	int ret;

	ret = sk_tcp_restore_chunked(&fds->tcp, rb->ri, fds->fds, REBUILD_CHUNK, place_conns, rb);
	sk_tcp_set_fds(&fds->tcp, fds->fds);
	/* The epolls' targets at their numbers in criu's table: registered there, as the process would. */
	if (!ret && all_in_place(rb)) {
		ret = epoll_install(rb->ri);
		if (ret)
			pr_err("can't register the epoll targets: %s\n", strerror(-ret));
		rb->epolls_done = true;
	}
	rb->us = stats_now_us() - start;
	rb->ret = ret;
	return NULL;
}

int sk_rebuild_start(const struct restore_image *ri, struct restore_fds *fds)
{
	struct sk_rebuild *rb = fds->rebuild;
	sigset_t all, old;
	int err;

	(void)ri;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&rb->thread, NULL, rebuild_main, rb);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pr_err("can't start the socket rebuild thread: %s\n", strerror(err));
		return -err;
	}
	rb->running = true;
	return 0;
}

static uint64_t join(struct sk_rebuild *rb)
{
	uint64_t start = stats_now_us();

	if (rb->running) {
		pthread_join(rb->thread, NULL);
		rb->running = false;
	}
	return stats_now_us() - start;
}

struct swap {
	int fd;	   /* a number criu holds for itself, where a file criu made belongs */
	int saved; /* criu's own fd meanwhile, or -1 */
	int fdflags;
};

/*
 * The epolls registered in criu's table after all, where one of criu's own fds
 * holds the number of a file it made: that file is put there for the while,
 * criu's fd aside. Only this thread runs now, and nothing is logged meanwhile.
 */
static int install_epolls_swapped(struct sk_rebuild *rb)
{
	const struct restore_image *ri = rb->ri;
	struct restore_fds *fds = rb->fds;
	struct swap *sw = calloc(ri->nr_fdinfo ? ri->nr_fdinfo : 1, sizeof(*sw));
	size_t n = 0;
	int ret = 0, err = 0;

	if (!sw)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < ri->nr_fdinfo; i++) {
		ssize_t f = restore_images_file_idx(ri, ri->fdinfo[i]->id);
		int t = (int)ri->fdinfo[i]->fd;

		if (f < 0 || !restore_fds_made_here(ri->files[f]) || fds->fds[f] < 0 || fds->fds[f] == t)
			continue;
		sw[n] = (struct swap){ .fd = t, .saved = -1, .fdflags = fcntl(t, F_GETFD) };
		if (sw[n].fdflags >= 0)
			sw[n].saved = fcntl(t, F_DUPFD_CLOEXEC, fds->min_fd);
		if ((sw[n].fdflags >= 0 && sw[n].saved < 0) || dup3(fds->fds[f], t, 0) < 0) {
			ret = -errno;
			if (sw[n].saved >= 0)
				close(sw[n].saved);
			break;
		}
		n++;
	}
	if (!ret)
		ret = epoll_install(ri);
	while (n--) {
		if (sw[n].saved < 0) {
			close(sw[n].fd);
			continue;
		}
		if (dup3(sw[n].saved, sw[n].fd, (sw[n].fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
			err = -errno;
		close(sw[n].saved);
	}
	free(sw);
	if (ret)
		pr_err("can't register the epoll targets: %s\n", strerror(-ret));
	if (err)
		pr_err("can't put one of criu's fds back: %s\n", strerror(-err));
	return ret ?: err;
}

static int inject(struct restore_ctl *ctl, long nr, uint64_t a, uint64_t b, uint64_t c, const char *what)
{
	long ret = restore_ctl_syscall(ctl, nr, 3, a, b, c);

	if (ret < 0) {
		pr_err("process %d: %s (%llu, %llu) failed: %s\n", ctl->pid, what, (unsigned long long)a,
		       (unsigned long long)b, strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

/*
 * The process's own fd table, a copy of criu's: its files put at their fd
 * numbers (those criu made are there already), then every other number closed.
 */
static int unshare_fds(struct restore_ctl *ctl, const struct restore_image *ri, const struct restore_fds *fds)
{
	uint64_t next = 0;
	int ret;

	ret = inject(ctl, SYS_unshare, CLONE_FILES, 0, 0, "unshare(CLONE_FILES)");
	for (size_t i = 0; !ret && i < ri->nr_fdinfo; i++) {
		const FdinfoEntry *fe = ri->fdinfo[i];
		int src = restore_fds_get(fds, ri, fe->id);

		if (src < 0) {
			pr_err("fd %u of process %d has no file to come from\n", fe->fd, ctl->pid);
			return -EBADF;
		}
		if (src != (int)fe->fd)
			ret = inject(ctl, SYS_dup3, (uint64_t)src, fe->fd, (fe->flags & FD_CLOEXEC) ? O_CLOEXEC : 0,
				     "dup3");
	}
	for (size_t i = 0; !ret && i < ri->nr_fdinfo; i++) {
		if (ri->fdinfo[i]->fd > next)
			ret = inject(ctl, SYS_close_range, next, ri->fdinfo[i]->fd - 1, 0, "close_range");
		next = (uint64_t)ri->fdinfo[i]->fd + 1;
	}
	return ret ?: inject(ctl, SYS_close_range, next, ~0u, 0, "close_range");
}

int sk_rebuild_finish(struct restore_ctl *ctl, const struct restore_image *ri, struct restore_fds *fds,
		      uint64_t *wait_us)
{
	struct sk_rebuild *rb = fds->rebuild;
	int ret;

	*wait_us = join(rb);
	fds->sockets_us += rb->us;
	ret = rb->ret;
	if (!ret && !rb->epolls_done)
		ret = install_epolls_swapped(rb);
	if (!ret)
		ret = unshare_fds(ctl, ri, fds);
	if (!ret)
		pr_info("%zu connection(s) rebuilt in %llu us beside the memory restore, waited %llu us for them\n",
			fds->tcp.nr, (unsigned long long)rb->us, (unsigned long long)*wait_us);
	return ret;
}

void sk_rebuild_free(struct restore_fds *fds)
{
	struct sk_rebuild *rb = fds->rebuild;

	if (!rb)
		return;
	join(rb);
	/* Placeholders no connection replaced. */
	for (size_t i = 0; rb->kept && rb->target && i < rb->ri->nr_files; i++)
		if (rb->kept[i])
			close(rb->target[i]);
	free(rb->kept);
	free(rb->target);
	free(rb->flags);
	free(rb);
	fds->rebuild = NULL;
}
