/*
 * inotify instances, both directions (see include/inotify.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "array.h"
#include "files.h"
#include "files-reg.h"
#include "image.h"
#include "inotify.h"
#include "proc-parse.h"
#include "restore-fds.h"
#include "restore-ghost.h"
#include "restore-image.h"

#define LOG_PREFIX "inotify: "
#include "log.h"

#define INOTIFY_LINK "anon_inode:inotify"
#define FH_WORDS 16
#define FH_MAX_BYTES (FH_WORDS * 8)
#define MAX_WD_TRIES (1u << 16) /* adds to reach a watch descriptor before giving up */

bool inotify_match(const struct fd_probe *p)
{
	return !strcmp(p->link, INOTIFY_LINK);
}

/* The kernel's encoding of a superblock's dev_t in fdinfo: major << 20 | minor. */
static unsigned int kdev_major(uint32_t kdev)
{
	return kdev >> 20;
}

static unsigned int kdev_minor(uint32_t kdev)
{
	return kdev & ((1u << 20) - 1);
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x fhandle-type:%x f_handle:HEX" */
static int parse_watch(const char *line, struct inotify_watch *w)
{
	unsigned long long ino;
	unsigned int wd, sdev, mask, ign, bytes, type;
	const char *hex;
	int n = 0;

	if (sscanf(line, "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x fhandle-type:%x %n",
		   &wd, &ino, &sdev, &mask, &ign, &bytes, &type, &n) != 7 ||
	    !n || strncmp(line + n, "f_handle:", 9) || bytes > FH_MAX_BYTES)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->wd = wd, w->ino = ino, w->s_dev = sdev, w->mask = mask, w->ignored_mask = ign;
	w->fh_bytes = bytes, w->fh_type = type;
	hex = line + n + 9;
	for (unsigned int i = 0; i < bytes; i++) {
		int hi = hex_nibble(hex[2 * i]), lo = hi < 0 ? -1 : hex_nibble(hex[2 * i + 1]);

		if (lo < 0)
			return -EINVAL;
		w->fh[i / 8] |= (uint64_t)(hi << 4 | lo) << (8 * (i % 8));
	}
	return 0;
}

/* A file handle of @w in the form open_by_handle_at() takes, in @buf. */
static struct file_handle *handle_of(uint32_t bytes, uint32_t type, const uint64_t *words, void *buf)
{
	struct file_handle *fh = buf;

	fh->handle_bytes = bytes;
	fh->handle_type = (int)type;
	for (uint32_t i = 0; i < bytes; i++)
		fh->f_handle[i] = (unsigned char)(words[i / 8] >> (8 * (i % 8)));
	return fh;
}

/* An fd on the root of a mount of criu's mount namespace on filesystem @kdev (not O_PATH: open_by_handle_at() refuses those). */
static int open_mount_of(uint32_t kdev)
{
	char line[PATH_MAX * 2], root[PATH_MAX];
	unsigned int ma, mi;
	int fd = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fd == -ENOENT && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &ma, &mi, root) != 3)
			continue;
		if (ma != kdev_major(kdev) || mi != kdev_minor(kdev))
			continue;
		fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	fclose(f);
	return fd;
}

/* An O_PATH fd on the file watched by @w, through its handle. */
static int open_watched(uint32_t s_dev, uint32_t bytes, uint32_t type, const uint64_t *words)
{
	char buf[sizeof(struct file_handle) + FH_MAX_BYTES];
	int mfd, fd;

	mfd = open_mount_of(s_dev);
	if (mfd < 0)
		return mfd;
	fd = open_by_handle_at(mfd, handle_of(bytes, type, words, buf), O_PATH | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(mfd);
	return fd;
}

struct watch_lines {
	struct inotify_file *f;
	size_t cap;
	pid_t pid;
	int fd;
};

static int watch_line(void *arg, char *line)
{
	struct watch_lines *wl = arg;
	int ret;

	if (strncmp(line, "inotify ", 8))
		return 0;
	ret = ARRAY_RESERVE(wl->f->w, wl->f->nr, wl->cap, 4);
	if (ret)
		return ret;
	ret = parse_watch(line, &wl->f->w[wl->f->nr]);
	if (ret)
		pr_err("/proc/%d/fdinfo/%d: a watch line we can't read: %s\n", wl->pid, wl->fd, line);
	else
		wl->f->nr++;
	return ret;
}

static int parse_fdinfo(pid_t pid, int fd, struct inotify_file *f)
{
	struct watch_lines wl = { .f = f, .pid = pid, .fd = fd };

	return proc_fdinfo_lines(pid, fd, watch_line, &wl);
}

/*
 * Each watched file must be reachable through its handle, or the restore could not watch it.
 * An unlinked one is marked: the restore watches its ghost, which a process must hold open.
 */
static int check_handles(pid_t pid, int fd, struct inotify_file *f)
{
	for (size_t i = 0; i < f->nr; i++) {
		struct inotify_watch *w = &f->w[i];
		int wfd = open_watched(w->s_dev, w->fh_bytes, w->fh_type, w->fh);
		struct stat st;

		if (wfd < 0) {
			pr_err("inotify fd %d of process %d watches inode %llu on %u:%u (watch %u), which can't be "
			       "opened by its handle: %s\n",
			       fd, pid, (unsigned long long)w->ino, kdev_major(w->s_dev), kdev_minor(w->s_dev), w->wd,
			       strerror(-wfd));
			return -EOPNOTSUPP;
		}
		if (fstat(wfd, &st) < 0) {
			pr_perror("Can't stat the file of watch %u of inotify fd %d of process %d", w->wd, fd, pid);
			close(wfd);
			return -errno;
		}
		w->unlinked = !st.st_nlink && !S_ISDIR(st.st_mode);
		w->st_dev = st.st_dev;
		close(wfd);
	}
	return 0;
}

/* Whether the dump makes a ghost of inode @ino on @dev (an fd or a mapping on the unlinked file). */
static bool has_ghost(const struct files_reg *fr, dev_t dev, uint64_t ino)
{
	for (size_t i = 0; i < fr->nr; i++)
		if (fr->files[i].ghost_id && fr->files[i].ghost_st.st_dev == dev && fr->files[i].ghost_st.st_ino == ino)
			return true;
	return false;
}

/* A watch on an unlinked file is restored on its ghost: refused when nothing else holds the file. */
static int check_unlinked(const struct files_dump *fdump, const struct inotify_file *f)
{
	for (size_t i = 0; i < f->nr; i++) {
		const struct inotify_watch *w = &f->w[i];

		if (w->unlinked && !has_ghost(&fdump->reg, w->st_dev, w->ino)) {
			pr_err("inotify %u watches the unlinked inode %llu on %u:%u (watch %u), which no dumped fd or "
			       "mapping holds: it can't be watched again after restore, not supported\n",
			       f->id, (unsigned long long)w->ino, kdev_major(w->s_dev), kdev_minor(w->s_dev), w->wd);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int inotify_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct inotify_dump *d = &c->fdump->inotify;
	struct inotify_file *f;
	int ret;

	ret = ARRAY_RESERVE(d->v, d->nr, d->cap, 4);
	if (ret)
		return ret;
	f = &d->v[d->nr];
	memset(f, 0, sizeof(*f));
	f->id = *id = files_reg_new_id(&c->fdump->reg);
	f->flags = p->flags & ~(uint32_t)O_CLOEXEC;
	f->fown = p->fown;
	ret = parse_fdinfo(c->args->pid, p->fd, f);
	if (!ret)
		ret = check_handles(c->args->pid, p->fd, f);
	if (ret) {
		free(f->w);
		return ret;
	}
	d->nr++;
	pr_debug("fd %d: inotify with %zu watch(es)\n", p->fd, f->nr);
	return 0;
}

static int write_one(const struct inotify_file *f, struct cr_img *img)
{
	InotifyWdEntry *wds = calloc(f->nr ? f->nr : 1, sizeof(*wds));
	InotifyWdEntry **ptrs = calloc(f->nr ? f->nr : 1, sizeof(*ptrs));
	FhEntry *fhs = calloc(f->nr ? f->nr : 1, sizeof(*fhs));
	InotifyFileEntry e = INOTIFY_FILE_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	FownEntry fown;
	int ret = -ENOMEM;

	if (!wds || !ptrs || !fhs)
		goto out_free;
	for (size_t i = 0; i < f->nr; i++) {
		const struct inotify_watch *w = &f->w[i];

		fh_entry__init(&fhs[i]);
		fhs[i].bytes = w->fh_bytes;
		fhs[i].type = w->fh_type;
		fhs[i].n_handle = FH_WORDS;
		fhs[i].handle = (uint64_t *)w->fh;
		inotify_wd_entry__init(&wds[i]);
		wds[i].id = f->id;
		wds[i].i_ino = w->ino;
		wds[i].mask = w->mask;
		wds[i].ignored_mask = w->ignored_mask;
		wds[i].s_dev = w->s_dev;
		wds[i].wd = w->wd;
		wds[i].f_handle = &fhs[i];
		ptrs[i] = &wds[i];
	}
	reg_fown_entry(&f->fown, &fown);
	e.id = f->id;
	e.flags = f->flags;
	e.fown = &fown;
	e.n_wd = f->nr;
	e.wd = ptrs;
	fe.type = FD_TYPES__INOTIFY;
	fe.id = f->id;
	fe.ify = &e;
	ret = img_write_entry(img, &fe);
out_free:
	free(fhs);
	free(ptrs);
	free(wds);
	return ret;
}

int inotify_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < fdump->inotify.nr; i++)
		ret = check_unlinked(fdump, &fdump->inotify.v[i]) ?: write_one(&fdump->inotify.v[i], img);
	return ret;
}

void inotify_dump_free(struct files_dump *fdump)
{
	for (size_t i = 0; i < fdump->inotify.nr; i++)
		free(fdump->inotify.v[i].w);
	free(fdump->inotify.v);
	memset(&fdump->inotify, 0, sizeof(fdump->inotify));
}

/* Restore. */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

int inotify_check_entry(const FileEntry *fe, const char *name)
{
	const InotifyFileEntry *e = fe->ify;
	uint32_t *wds;
	int ret = 0;

	if (!e || e->id != fe->id || !e->fown) {
		pr_err("%s: file %u: an inotify entry without its body or owner\n", name, fe->id);
		return -EINVAL;
	}
	wds = malloc((e->n_wd ? e->n_wd : 1) * sizeof(*wds));
	if (!wds)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < e->n_wd; i++) {
		const InotifyWdEntry *w = e->wd[i];

		if (!w || !w->f_handle || w->f_handle->bytes > FH_MAX_BYTES ||
		    w->f_handle->n_handle * 8 < w->f_handle->bytes || !w->wd || w->wd > INT_MAX) {
			pr_err("%s: inotify %u: watch %zu is incomplete or out of range\n", name, fe->id, i);
			ret = -EINVAL;
		} else {
			wds[i] = w->wd;
		}
	}
	if (!ret)
		qsort(wds, e->n_wd, sizeof(*wds), cmp_u32);
	for (size_t i = 1; !ret && i < e->n_wd; i++)
		if (wds[i] == wds[i - 1]) {
			pr_err("%s: inotify %u: watch descriptor %u twice\n", name, fe->id, wds[i]);
			ret = -EINVAL;
		}
	free(wds);
	return ret;
}

static int cmp_wd(const void *a, const void *b)
{
	uint32_t x = (*(InotifyWdEntry *const *)a)->wd, y = (*(InotifyWdEntry *const *)b)->wd;

	return (x > y) - (x < y);
}

/*
 * The file watched by @w: a recreated unlinked file of the same dumped inode if
 * there is one (as CRIU does: the inode the handle names is gone), else the
 * file its handle names. An O_PATH fd, or -errno.
 */
static int open_watch_target(const struct restore_image *ri, const struct restore_ghost_files *ghosts,
			     const InotifyWdEntry *w)
{
	uint32_t dev = (uint32_t)makedev(kdev_major(w->s_dev), kdev_minor(w->s_dev));
	const char *ghost = ghosts ? restore_ghost_path_of_inode(ri, ghosts, dev, w->i_ino) : NULL;
	int fd;

	if (!ghost)
		return open_watched(w->s_dev, w->f_handle->bytes, w->f_handle->type, w->f_handle->handle);
	fd = open(ghost, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open %s, the unlinked file watch %u watched", ghost, w->wd);
		return -errno;
	}
	pr_info("watch %u: on the recreated unlinked file %s\n", w->wd, ghost);
	return fd;
}

/* Adds the watch of @w to @ifd until the kernel gives it its dumped descriptor. */
static int add_watch(int ifd, uint32_t id, const InotifyWdEntry *w, const struct restore_image *ri,
		     const struct restore_ghost_files *ghosts)
{
	char path[64];
	int wfd, wd = -1, ret = 0;

	wfd = open_watch_target(ri, ghosts, w);
	if (wfd < 0) {
		pr_err("inotify %u: can't open the file of watch %u (inode %llu) by its handle: %s\n", id, w->wd,
		       (unsigned long long)w->i_ino, strerror(-wfd));
		return wfd;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", wfd);
	for (uint32_t tries = 0; !ret && tries < MAX_WD_TRIES; tries++) {
		wd = inotify_add_watch(ifd, path, w->mask);
		if (wd < 0) {
			pr_perror("Can't add watch %u of inotify %u", w->wd, id);
			ret = -errno;
		} else if ((uint32_t)wd >= w->wd) {
			break;
		} else if (inotify_rm_watch(ifd, wd) < 0) {
			pr_perror("Can't remove watch %d of inotify %u", wd, id);
			ret = -errno;
		}
	}
	close(wfd);
	if (!ret && (uint32_t)wd != w->wd) {
		pr_err("inotify %u: watch %u came back as %d\n", id, w->wd, wd);
		ret = -EEXIST;
	}
	return ret;
}

/* Reads away the IN_IGNORED events of the watches removed on the way. */
static void drain(int ifd)
{
	char buf[4096];

	while (read(ifd, buf, sizeof(buf)) > 0)
		;
}

static int open_one(const struct restore_image *ri, const struct restore_ghost_files *ghosts, const FileEntry *fe)
{
	const InotifyFileEntry *e = fe->ify;
	InotifyWdEntry **order;
	int fd, ret = 0;

	order = malloc((e->n_wd ? e->n_wd : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	if (e->n_wd) { /* an instance watching nothing has no array at all */
		memcpy(order, e->wd, e->n_wd * sizeof(*order));
		qsort(order, e->n_wd, sizeof(*order), cmp_wd);
	}
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0) {
		pr_perror("Can't create inotify %u", fe->id);
		ret = -errno;
		goto out_free;
	}
	for (size_t i = 0; !ret && i < e->n_wd; i++)
		ret = add_watch(fd, fe->id, order[i], ri, ghosts);
	if (!ret) {
		drain(fd);
		if (fcntl(fd, F_SETFL, e->flags & O_NONBLOCK) < 0) {
			pr_perror("Can't set the flags of inotify %u", fe->id);
			ret = -errno;
		}
	}
	if (ret) {
		close(fd);
		fd = ret;
	}
out_free:
	free(order);
	return ret ? ret : fd;
}

int inotify_open(const struct restore_image *ri, struct restore_fds *fds)
{
	/* as restore_fds_make_each(), with the recreated unlinked files a watch may be on */
	for (size_t i = 0; i < ri->nr_files; i++) {
		if (ri->files[i]->type != FD_TYPES__INOTIFY || !restore_fds_wanted(ri, fds, i) || fds->fds[i] >= 0)
			continue;
		fds->fds[i] = open_one(ri, fds->ghosts, ri->files[i]);
		if (fds->fds[i] < 0) {
			int ret = fds->fds[i];

			fds->fds[i] = -1;
			return ret;
		}
	}
	return 0;
}
