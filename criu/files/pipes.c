/*
 * Pipes and FIFOs, both directions (see include/pipes.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "files-ghost.h"
#include "files.h"
#include "image.h"
#include "ngutil.h"
#include "pipes.h"
#include "restore-fds.h"
#include "restore-ghost.h"
#include "restore-image.h"

#include "pipe-data.pb-c.h"

#define LOG_PREFIX "pipes: "
#include "log.h"

#define PIPE_LINK "pipe:["
#define DELETED_SUFFIX " (deleted)"
/* Largest pipe a restore accepts (F_SETPIPE_SZ takes an unsigned int; the kernel's own cap is lower). */
#define PIPE_SIZE_MAX (1u << 30)
/* What F_SETFL sets again on a restored end (the access mode comes with the end itself). */
#define PIPE_SETFL_FLAGS (O_NONBLOCK | O_APPEND | O_NOATIME)
/* The kernel's O_LARGEFILE (x86-64), which glibc defines as 0 for 64-bit programs. */
#define KERNEL_O_LARGEFILE 0100000
/* Open flags a FIFO's path can't be opened with again. */
#define FIFO_FLAGS_DROPPED (O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC)

bool pipe_match(const struct fd_probe *p)
{
	return S_ISFIFO(p->st.st_mode) && !strncmp(p->link, PIPE_LINK, strlen(PIPE_LINK));
}

bool fifo_match(const struct fd_probe *p)
{
	return S_ISFIFO(p->st.st_mode) && p->link[0] == '/';
}

static const char *kind_name(bool fifo)
{
	return fifo ? "FIFO" : "pipe";
}

/* Opens @path with @flags, O_CLOEXEC added; -errno (logged) if it fails. */
static int open_logged(const char *path, int flags, const char *what, uint32_t pipe_id)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0) {
		pr_perror("Can't open %s of %s %u", path, what, pipe_id);
		return -errno;
	}
	return fd;
}

/* The bytes queued in the pipe behind read end @rfd into @pd, left in the pipe (tee into a scratch pipe). */
static int copy_queue(int rfd, struct pipe_data *pd)
{
	int scratch[2], size, queued, ret = 0;
	ssize_t n;

	size = fcntl(rfd, F_GETPIPE_SZ);
	if (size < 0 || ioctl(rfd, FIONREAD, &queued) < 0) {
		pr_perror("Can't read the size or the queue of %s %u", kind_name(pd->fifo), pd->pipe_id);
		return -errno;
	}
	pd->size = (uint32_t)size;
	if (queued <= 0)
		return 0;
	if (pipe2(scratch, O_CLOEXEC | O_NONBLOCK) < 0) {
		pr_perror("Can't make a scratch pipe");
		return -errno;
	}
	pd->buf = malloc((size_t)queued);
	if (!pd->buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	/* As large as the pipe: every buffer it holds fits in one tee(). */
	if (fcntl(scratch[1], F_SETPIPE_SZ, size) < 0) {
		pr_perror("Can't make a scratch pipe of %d bytes", size);
		ret = -errno;
		goto out_close;
	}
	n = tee(rfd, scratch[1], (size_t)queued, SPLICE_F_NONBLOCK);
	if (n != queued) {
		pr_err("%s %u: tee copied %zd of its %d queued bytes%s%s\n", kind_name(pd->fifo), pd->pipe_id, n,
		       queued, n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		ret = n < 0 ? -errno : -EIO;
		goto out_close;
	}
	ret = ng_read_full(scratch[0], pd->buf, (size_t)queued);
	if (ret) {
		pr_err("Can't read the copy of %s %u: %s\n", kind_name(pd->fifo), pd->pipe_id, strerror(-ret));
		goto out_close;
	}
	pd->bytes = (uint32_t)queued;
out_close:
	close(scratch[0]);
	close(scratch[1]);
	return ret;
}

/*
 * The first time the pipe of @p is seen: its size and queued bytes. A process
 * holding only the write end has them read through a read end opened on criu's
 * copy of the fd (/proc/self/fd, non-blocking: the pipe has a writer).
 */
static int record_data(struct pipe_dump *d, const struct fd_probe *p, bool fifo)
{
	uint32_t pipe_id = (uint32_t)p->st.st_ino;
	struct pipe_data *pd;
	char path[64];
	int rfd, ret;

	for (size_t i = 0; i < d->nr_data; i++) {
		pd = &d->data[i];
		if (pd->fifo != fifo || pd->pipe_id != pipe_id)
			continue;
		if (pd->dev == p->st.st_dev && pd->ino == p->st.st_ino)
			return 0;
		pr_err("fd %d (%s) and another FIFO have the same pipe_id %u: not supported\n", p->fd, p->link,
		       pipe_id);
		return -EOPNOTSUPP;
	}
	ret = ARRAY_RESERVE(d->data, d->nr_data, d->cap_data, 8);
	if (ret)
		return ret;
	pd = &d->data[d->nr_data];
	memset(pd, 0, sizeof(*pd));
	pd->pipe_id = pipe_id;
	pd->dev = p->st.st_dev;
	pd->ino = p->st.st_ino;
	pd->fifo = fifo;
	rfd = p->dup_fd;
	if ((p->flags & O_ACCMODE) == O_WRONLY) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", p->dup_fd);
		rfd = open_logged(path, O_RDONLY | O_NONBLOCK, "the read end", pipe_id);
		if (rfd < 0)
			return rfd;
	}
	ret = copy_queue(rfd, pd);
	if (rfd != p->dup_fd)
		close(rfd);
	if (ret) {
		free(pd->buf);
		return ret;
	}
	d->nr_data++;
	pr_debug("fd %d: %s %u of %u bytes, %u queued\n", p->fd, kind_name(fifo), pipe_id, pd->size, pd->bytes);
	return 0;
}

static int add_end(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t regf_id, uint32_t *id)
{
	struct pipe_dump *d = &c->fdump->pipes;
	struct pipe_file *f;
	int ret;

	if (p->flags & O_DIRECT) {
		pr_err("fd %d of process %d is a pipe in packet mode (O_DIRECT): not supported yet\n", p->fd,
		       c->args->pid);
		return -EOPNOTSUPP;
	}
	ret = record_data(d, p, regf_id != 0);
	ret = ret ?: ARRAY_RESERVE(d->files, d->nr, d->cap, 8);
	if (ret)
		return ret;
	f = &d->files[d->nr++];
	f->id = *id = files_reg_new_id(&c->fdump->reg);
	f->pipe_id = (uint32_t)p->st.st_ino;
	f->flags = p->flags & ~(uint32_t)O_CLOEXEC;
	f->regf_id = regf_id;
	f->fown = p->fown;
	return 0;
}

int pipe_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	return add_end(c, p, 0, id);
}

/*
 * An unlinked FIFO (no link left) is remapped to a ghost, as CRIU does: its
 * path and attributes go to ghost-file-ID.img, the restore makes it again with
 * mknod, opens it and unlinks it; its queued bytes go with the FIFO's as usual.
 * Sets info->path to the path without its suffix and info->ghost_fd to an
 * O_PATH fd on the FIFO. Returns 0 or -errno.
 */
static int fifo_ghost(const struct fd_dump_ctx *c, const struct fd_probe *p, char *path, size_t size,
		      struct reg_fd_info *info)
{
	size_t n = strlen(p->link) - strlen(DELETED_SUFFIX);
	char link[64];
	int ret;

	if (p->st.st_nlink || n >= size) {
		pr_err("fd %d of process %d is the FIFO %s, no longer at that path but linked elsewhere: not "
		       "supported yet\n",
		       p->fd, c->args->pid, p->link);
		return -EOPNOTSUPP;
	}
	memcpy(path, p->link, n);
	path[n] = '\0';
	ret = ghost_file_check(&p->st, path);
	if (ret)
		return ret;
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", c->args->pid, p->fd);
	info->ghost_fd = open(link, O_PATH | O_CLOEXEC);
	if (info->ghost_fd < 0) {
		pr_perror("Can't open %s (the unlinked FIFO %s)", link, path);
		return -errno;
	}
	info->path = path;
	pr_info("fd %d: the unlinked FIFO %s is dumped as a ghost\n", p->fd, path);
	return 0;
}

int fifo_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct reg_fd_info info = {
		.path = p->link, .flags = p->flags & ~O_CLOEXEC, .mnt_id = p->mnt_id, .st = &p->st, .ghost_fd = -1
	};
	size_t n = strlen(p->link), slen = strlen(DELETED_SUFFIX);
	char path[PATH_MAX];
	struct stat st;
	uint32_t regf_id;
	int ret;

	info.fown = p->fown;
	if (n > slen && !strcmp(p->link + n - slen, DELETED_SUFFIX) && access(p->link, F_OK)) {
		ret = fifo_ghost(c, p, path, sizeof(path), &info);
		if (ret)
			return ret;
	} else if (stat(p->link, &st) || st.st_dev != p->st.st_dev || st.st_ino != p->st.st_ino) {
		pr_err("fd %d of process %d is the FIFO %s, no longer at that path: not supported yet\n", p->fd,
		       c->args->pid, p->link);
		return -EOPNOTSUPP;
	}
	ret = files_reg_add_fd(&c->fdump->reg, &info, &regf_id);
	return ret ?: add_end(c, p, regf_id, id);
}

static int write_ends(const struct pipe_dump *d, struct cr_img *img, bool fifo)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr; i++) {
		const struct pipe_file *f = &d->files[i];
		FileEntry fe = FILE_ENTRY__INIT;
		PipeEntry pe = PIPE_ENTRY__INIT;
		FifoEntry ff = FIFO_ENTRY__INIT;
		FownEntry fown;

		if ((f->regf_id != 0) != fifo)
			continue;
		fe.id = f->id;
		if (fifo) {
			ff.id = f->id;
			ff.pipe_id = f->pipe_id;
			ff.has_regf_id = 1;
			ff.regf_id = f->regf_id;
			fe.type = FD_TYPES__FIFO;
			fe.fifo = &ff;
		} else {
			reg_fown_entry(&f->fown, &fown);
			pe.id = f->id;
			pe.pipe_id = f->pipe_id;
			pe.flags = f->flags;
			pe.fown = &fown;
			fe.type = FD_TYPES__PIPE;
			fe.pipe = &pe;
		}
		ret = img_write_entry(img, &fe);
	}
	return ret;
}

int pipe_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	return write_ends(&fdump->pipes, img, false);
}

int fifo_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	return write_ends(&fdump->pipes, img, true);
}

/* pipes-data.img or fifo-data.img: each entry followed by its bytes, as CRIU writes them. */
static int write_data(const struct pipe_dump *d, int dirfd, bool fifo)
{
	struct cr_img *img = NULL;
	int ret = 0, cret;

	for (size_t i = 0; !ret && i < d->nr_data; i++) {
		const struct pipe_data *pd = &d->data[i];
		PipeDataEntry e = PIPE_DATA_ENTRY__INIT;

		if (pd->fifo != fifo)
			continue;
		if (!img) {
			ret = img_open(&img, dirfd, IMG_WRITE, fifo ? CR_IMG_FIFO_DATA : CR_IMG_PIPES_DATA);
			if (ret)
				return ret;
		}
		e.pipe_id = pd->pipe_id;
		e.bytes = pd->bytes;
		e.has_size = 1;
		e.size = pd->size;
		ret = img_write_entry(img, &e);
		if (!ret && pd->bytes)
			ret = img_write_raw(img, pd->buf, pd->bytes);
	}
	if (!img)
		return ret;
	cret = img_close(img);
	return ret ?: cret;
}

int pipe_write_images(const struct files_dump *fdump, int dirfd)
{
	return write_data(&fdump->pipes, dirfd, false) ?: write_data(&fdump->pipes, dirfd, true);
}

void pipe_dump_free(struct files_dump *fdump)
{
	struct pipe_dump *d = &fdump->pipes;

	for (size_t i = 0; i < d->nr_data; i++)
		free(d->data[i].buf);
	free(d->data);
	free(d->files);
	memset(d, 0, sizeof(*d));
}

/* Restore. */

/* The bytes of one pipe or FIFO, read from pipes-data.img or fifo-data.img. */
struct pipe_queue {
	PipeDataEntry *e;
	void *buf;
	bool fifo;
	bool refilled; /* a FIFO's bytes go in once, with the first of its ends */
};

struct pipe_restore {
	struct pipe_queue *v;
	size_t nr, cap;
};

int pipe_check_entry(const FileEntry *fe, const char *name)
{
	const PipeEntry *e = fe->pipe;

	if (!e || e->id != fe->id || !e->fown || (e->flags & O_ACCMODE) == O_ACCMODE) {
		pr_err("%s: file %u: a pipe entry without its body, its owner or a valid access mode\n", name, fe->id);
		return -EINVAL;
	}
	if (e->flags & O_DIRECT) {
		pr_err("%s: pipe %u is in packet mode (O_DIRECT): not supported yet\n", name, fe->id);
		return -EOPNOTSUPP;
	}
	return 0;
}

int fifo_check_entry(const FileEntry *fe, const char *name)
{
	const FifoEntry *e = fe->fifo;

	if (!e || e->id != fe->id || !e->has_regf_id || e->regf_id == fe->id) {
		pr_err("%s: file %u: a FIFO entry without its body or its path's entry\n", name, fe->id);
		return -EINVAL;
	}
	return 0;
}

int fifo_check_restore(const struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_files; i++) {
		const FileEntry *fe = ri->files[i];

		if (fe->type == FD_TYPES__FIFO && !restore_images_file(ri, fe->fifo->regf_id)) {
			pr_err("files.img: FIFO %u names file %u for its path, which is not a regular file entry\n",
			       fe->id, fe->fifo->regf_id);
			return -EINVAL;
		}
	}
	return 0;
}

/* The queues are sorted by kind (pipes first), then pipe id: see pipe_load(). */
static int cmp_queue(const void *a, const void *b)
{
	const struct pipe_queue *x = a, *y = b;

	if (x->fifo != y->fifo)
		return x->fifo ? 1 : -1;
	return (x->e->pipe_id > y->e->pipe_id) - (x->e->pipe_id < y->e->pipe_id);
}

static struct pipe_queue *find_queue(struct pipe_restore *st, uint32_t pipe_id, bool fifo)
{
	PipeDataEntry e = PIPE_DATA_ENTRY__INIT;
	struct pipe_queue key = { .e = &e, .fifo = fifo };

	e.pipe_id = pipe_id;
	return st && st->nr ? bsearch(&key, st->v, st->nr, sizeof(*st->v), cmp_queue) : NULL;
}

static int check_queue(const PipeDataEntry *e, bool fifo, const char *name)
{
	uint32_t size = e->has_size ? e->size : 0;

	if (size > PIPE_SIZE_MAX || e->bytes > PIPE_SIZE_MAX || (e->has_size && e->bytes > size)) {
		pr_err("%s: %s %u: %u bytes queued in a pipe of %u: out of range\n", name, kind_name(fifo), e->pipe_id,
		       e->bytes, size);
		return -EINVAL;
	}
	return 0;
}

/* Sorts the queues for find_queue() and refuses a pipe or FIFO whose queue is given twice. */
static int index_queues(struct pipe_restore *st)
{
	if (st->nr)
		qsort(st->v, st->nr, sizeof(*st->v), cmp_queue);
	for (size_t i = 1; i < st->nr; i++) {
		const struct pipe_queue *q = &st->v[i];

		if (!cmp_queue(q, q - 1)) {
			pr_err("%s: %s %u appears twice\n", q->fifo ? "fifo-data.img" : "pipes-data.img",
			       kind_name(q->fifo), q->e->pipe_id);
			return -EINVAL;
		}
	}
	return 0;
}

static int load_queues(int dirfd, struct pipe_restore *st, bool fifo)
{
	struct cr_img *img;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ_OPTIONAL, fifo ? CR_IMG_FIFO_DATA : CR_IMG_PIPES_DATA);
	if (ret == -ENOENT)
		return 0;
	while (!ret) {
		struct pipe_queue *q;
		PipeDataEntry *e;

		ret = img_read_entry(img, (void **)&e);
		if (ret || !e)
			break;
		ret = check_queue(e, fifo, img_name(img));
		ret = ret ?: ARRAY_RESERVE(st->v, st->nr, st->cap, 8);
		if (ret) {
			img_free_entry(e);
			break;
		}
		q = &st->v[st->nr++];
		memset(q, 0, sizeof(*q));
		q->e = e;
		q->fifo = fifo;
		q->buf = malloc(e->bytes ? e->bytes : 1);
		ret = q->buf ? img_read_raw(img, q->buf, e->bytes) : -ENOMEM;
	}
	img_close(img);
	return ret;
}

int pipe_load(int dirfd, struct restore_image *ri)
{
	struct pipe_restore *st = calloc(1, sizeof(*st));
	int ret;

	if (!st)
		return -ENOMEM;
	ri->kind_state[FD_KIND_PIPE] = st;
	ret = load_queues(dirfd, st, false);
	ret = ret ?: load_queues(dirfd, st, true);
	return ret ?: index_queues(st);
}

void pipe_load_free(struct restore_image *ri)
{
	struct pipe_restore *st = ri->kind_state[FD_KIND_PIPE];

	if (!st)
		return;
	for (size_t i = 0; i < st->nr; i++) {
		img_free_entry(st->v[i].e);
		free(st->v[i].buf);
	}
	free(st->v);
	free(st);
	ri->kind_state[FD_KIND_PIPE] = NULL;
}

/* Sets the size of the pipe behind write end @wfd and puts its dumped bytes in (nothing for no entry). */
static int refill(int wfd, struct pipe_queue *q)
{
	size_t done = 0;

	if (!q)
		return 0;
	if (q->e->has_size && fcntl(wfd, F_SETPIPE_SZ, q->e->size) < 0) {
		pr_perror("Can't make %s %u %u bytes large", kind_name(q->fifo), q->e->pipe_id, q->e->size);
		return -errno;
	}
	while (done < q->e->bytes) {
		ssize_t n = write(wfd, (const char *)q->buf + done, q->e->bytes - done);

		if (n <= 0) {
			pr_perror("%s %u: only %zu of its %u bytes went back in", kind_name(q->fifo), q->e->pipe_id,
				  done, q->e->bytes);
			return n < 0 ? -errno : -EIO;
		}
		done += (size_t)n;
	}
	q->refilled = true;
	return 0;
}

/* The dumped status flags of an end (the end was made non-blocking to be set up). */
static int set_flags(int fd, uint32_t flags, uint32_t pipe_id)
{
	if (fcntl(fd, F_SETFL, (int)(flags & PIPE_SETFL_FLAGS)) < 0) {
		pr_perror("Can't set the flags %#x of an end of pipe %u", flags, pipe_id);
		return -errno;
	}
	return 0;
}

/*
 * The fd for a dumped end of pipe @p with @flags: the pipe's own read or write
 * end the first time, then (another description of that side, or an O_RDWR
 * one) a new description opened on it through /proc/self/fd. A description
 * with O_LARGEFILE was opened that way (pipe() never sets it; open() does), so
 * it is made that way again.
 */
static int take_end(const int p[2], bool taken[2], uint32_t flags, uint32_t pipe_id)
{
	int acc = (int)(flags & O_ACCMODE), side = acc == O_WRONLY;
	char path[64];

	if (acc != O_RDWR && !(flags & KERNEL_O_LARGEFILE) && !taken[side]) {
		taken[side] = true;
		return p[side];
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[side]);
	return open_logged(path, acc | O_NONBLOCK, "an end", pipe_id);
}

/*
 * Makes pipe @pipe_id once, refilled, and gives each of its ends in files.img
 * (files @idx[0..@nr), all of that pipe) its fd: the ends of every process of
 * the tree come from this one pipe2().
 */
static int make_pipe(const struct restore_image *ri, struct restore_fds *fds, uint32_t pipe_id, const size_t *idx,
		     size_t nr)
{
	bool taken[2] = { false, false };
	int p[2], ret;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		pr_perror("Can't make pipe %u", pipe_id);
		return -errno;
	}
	ret = refill(p[1], find_queue(ri->kind_state[FD_KIND_PIPE], pipe_id, false));
	for (size_t k = 0; !ret && k < nr; k++) {
		const FileEntry *fe = ri->files[idx[k]];
		int fd = take_end(p, taken, fe->pipe->flags, pipe_id);

		if (fd < 0)
			ret = fd;
		else
			fds->fds[idx[k]] = fd, ret = set_flags(fd, fe->pipe->flags, pipe_id);
	}
	/* An end no fd holds goes: the bytes stay while the read end is held. */
	for (int k = 0; k < 2; k++)
		if (!taken[k])
			close(p[k]);
	pr_debug("pipe %u made, ends %s%s\n", pipe_id, taken[0] ? "r" : "", taken[1] ? "w" : "");
	return ret;
}

/* Pipe ends by pipe id, then by their place in files.img (qsort_r's order for pipe_open()). */
static int cmp_pipe_end(const void *a, const void *b, void *arg)
{
	const struct restore_image *ri = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	uint32_t px = ri->files[x]->pipe->pipe_id, py = ri->files[y]->pipe->pipe_id;

	if (px != py)
		return px < py ? -1 : 1;
	return (x > y) - (x < y);
}

/*
 * Every pipe of files.img (the tree's) is made for the tree's first process,
 * its queued bytes put in once; a later process was given duplicates of the
 * ends it holds (restore_fds.given), and the first one's copies of the ends it
 * does not hold are closed before the fork (FD_KIND_TREE). The ends are sorted
 * by pipe once, so that each pipe finds its ends without a walk of every file.
 */
int pipe_open(const struct restore_image *ri, struct restore_fds *fds)
{
	size_t *idx, nr = 0;
	int ret = 0;

	if (fds->given)
		return 0;
	idx = malloc((ri->nr_files ?: 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < ri->nr_files; i++)
		if (ri->files[i]->type == FD_TYPES__PIPE && fds->fds[i] < 0)
			idx[nr++] = i;
	qsort_r(idx, nr, sizeof(*idx), cmp_pipe_end, (void *)ri);
	for (size_t first = 0, end; !ret && first < nr; first = end) {
		uint32_t pipe_id = ri->files[idx[first]]->pipe->pipe_id;

		for (end = first + 1; end < nr && ri->files[idx[end]]->pipe->pipe_id == pipe_id; end++)
			;
		ret = make_pipe(ri, fds, pipe_id, idx + first, end - first);
	}
	free(idx);
	return ret;
}

/*
 * Opens FIFO @fe by its path with its flags (an unlinked FIFO by the path it was
 * recreated at, in @ghosts). criu holds the FIFO open O_RDWR meanwhile, so that
 * the open does not wait for the other side, and puts the dumped bytes in
 * through that fd the first time.
 */
static int open_fifo(const struct restore_image *ri, const struct restore_ghost_files *ghosts, const FileEntry *fe)
{
	const RegFileEntry *reg = restore_images_file(ri, fe->fifo->regf_id);
	const char *path = (ghosts ? restore_ghost_path(ri, ghosts, reg->id) : NULL) ?: reg->name;
	uint32_t pipe_id = fe->fifo->pipe_id;
	struct pipe_queue *q;
	struct stat st;
	int hold, fd, ret = 0;

	hold = open_logged(path, O_RDWR, "FIFO", pipe_id);
	if (hold < 0)
		return hold;
	if (fstat(hold, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		pr_err("%s is no longer a FIFO: can't restore FIFO %u\n", path, fe->id);
		close(hold);
		return -ESTALE;
	}
	fd = open_logged(path, (int)(reg->flags & ~(uint32_t)FIFO_FLAGS_DROPPED) | O_NONBLOCK, "FIFO", pipe_id);
	q = find_queue(ri->kind_state[FD_KIND_PIPE], pipe_id, true);
	if (fd >= 0 && q && !q->refilled)
		ret = refill(hold, q);
	if (fd >= 0 && !ret)
		ret = set_flags(fd, reg->flags, pipe_id);
	close(hold);
	if (fd >= 0 && ret)
		close(fd);
	return ret ?: fd;
}

/* As pipes: every FIFO end is opened for the tree's first process, its bytes put in once. */
int fifo_open(const struct restore_image *ri, struct restore_fds *fds)
{
	if (fds->given)
		return 0;
	for (size_t i = 0; i < ri->nr_files; i++) {
		int fd;

		if (ri->files[i]->type != FD_TYPES__FIFO || fds->fds[i] >= 0)
			continue;
		fd = open_fifo(ri, fds->ghosts, ri->files[i]);
		if (fd < 0)
			return fd;
		fds->fds[i] = fd;
	}
	return 0;
}
