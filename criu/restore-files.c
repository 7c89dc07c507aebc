/*
 * criu restore: checking and installing the fds of the process (see
 * include/restore-files.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "array.h"
#include "fd-kind.h"
#include "file-locks.h"
#include "image.h"
#include "restore-files.h"
#include "restore-ghost.h"
#include "restore-fds.h"

#include "core.pb-c.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define MAX_FD (1 << 20)

static const FileEntry *find_file(const struct restore_image *ri, uint32_t id)
{
	ssize_t i = restore_images_file_idx(ri, id);

	return i < 0 ? NULL : ri->files[i];
}

/* The files id (and, for restore-fdtable.c and restore-sharedmm.c, the other ids) of @ri from its ids-PID.img. */
static int read_files_id(int dirfd, struct restore_image *ri, uint32_t *files_id)
{
	pid_t pid = ri->pid;
	TaskKobjIdsEntry *ids;
	struct cr_img *img;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_IDS, (unsigned int)pid);
	if (ret)
		return ret;
	ret = img_read_one(img, (void **)&ids);
	img_close(img);
	if (ret)
		return ret;
	*files_id = ids->files_id;
	ri->fs_id = ids->fs_id;
	ri->vm_id = ids->vm_id;
	ri->sighand_id = ids->sighand_id;
	img_free_entry(ids);
	return 0;
}

static int check_fd(const struct restore_image *ri, const FdinfoEntry *fe, const char *name)
{
	const FileEntry *f = find_file(ri, fe->id);

	if (fe->fd >= MAX_FD || (fe->flags & ~(uint32_t)FD_CLOEXEC)) {
		pr_err("%s: fd %u with flags %#x is out of range\n", name, fe->fd, fe->flags);
		return -EINVAL;
	}
	if (!f || f->type != fe->type) {
		pr_err("%s: fd %u refers to file %u of type %d, which files.img doesn't have\n", name, fe->fd, fe->id,
		       fe->type);
		return -EINVAL;
	}
	/* Terminals: restore-tty.c, which refuses them without --shell-job. */
	if (!fd_kind_of_type(fe->type)) {
		pr_err("%s: fd %u is of type %d, which criu-ng does not restore yet\n", name, fe->fd, fe->type);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int add_fd(struct restore_image *ri, FdinfoEntry *fe, const char *name, size_t *cap)
{
	int ret = check_fd(ri, fe, name);

	ret = ret ?: ARRAY_RESERVE(ri->fdinfo, ri->nr_fdinfo, *cap, 64);
	if (ret)
		return ret;
	ri->fdinfo[ri->nr_fdinfo++] = fe;
	return 0;
}

static int cmp_fd(const void *a, const void *b)
{
	uint32_t x = (*(const FdinfoEntry *const *)a)->fd, y = (*(const FdinfoEntry *const *)b)->fd;

	return (x > y) - (x < y);
}

/* Sorts the fds by number, refuses one given twice and counts the fds of each file. */
static int index_fds(struct restore_image *ri, const char *name)
{
	if (ri->nr_fdinfo)
		qsort(ri->fdinfo, ri->nr_fdinfo, sizeof(*ri->fdinfo), cmp_fd);
	for (size_t i = 1; i < ri->nr_fdinfo; i++)
		if (ri->fdinfo[i]->fd == ri->fdinfo[i - 1]->fd) {
			pr_err("%s: fd %u appears twice\n", name, ri->fdinfo[i]->fd);
			return -EINVAL;
		}
	ri->file_fds = calloc(ri->nr_files ? ri->nr_files : 1, sizeof(*ri->file_fds));
	if (!ri->file_fds)
		return -ENOMEM;
	for (size_t i = 0; i < ri->nr_fdinfo; i++)
		ri->file_fds[restore_images_file_idx(ri, ri->fdinfo[i]->id)]++;
	return 0;
}

int restore_images_load_fds(int dirfd, struct restore_image *ri)
{
	struct cr_img *img;
	uint32_t files_id;
	size_t cap = 0;
	int ret;

	ret = restore_ghosts_load(dirfd, ri);
	if (!ret)
		ret = read_files_id(dirfd, ri, &files_id);
	if (ret)
		return ret;
	ri->files_id = files_id;
	ret = img_open(&img, dirfd, IMG_READ_OPTIONAL, CR_IMG_FDINFO, files_id);
	if (ret == -ENOENT) {
		pr_info("no fdinfo-%u.img: the process gets /dev/null as stdin, stdout and stderr\n", files_id);
		return index_fds(ri, "fdinfo");
	}
	if (ret)
		return ret;
	ri->has_fdinfo = 1;
	for (;;) {
		void *msg;

		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		ret = add_fd(ri, msg, img_name(img), &cap);
		if (ret) {
			img_free_entry(msg);
			break;
		}
	}
	if (!ret)
		ret = index_fds(ri, img_name(img));
	img_close(img);
	return ret;
}

int restore_files_is_fd(const struct restore_image *ri, uint32_t id)
{
	ssize_t i = restore_images_file_idx(ri, id);

	return i >= 0 && ri->file_fds && ri->file_fds[i];
}

int restore_files_max_fd(const struct restore_image *ri)
{
	return ri->nr_fdinfo ? (int)ri->fdinfo[ri->nr_fdinfo - 1]->fd : -1;
}

static int install_devnull(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < 3; i++)
		if (fd != i && dup2(fd, i) < 0)
			return -errno;
	if (fd > 2)
		close(fd);
	return 0;
}

int restore_files_install(const struct restore_image *ri, const struct restore_fds *fds)
{
	if (!ri->has_fdinfo)
		return install_devnull();
	for (size_t i = 0; i < ri->nr_fdinfo; i++) {
		const FdinfoEntry *fe = ri->fdinfo[i];
		int src = restore_fds_get(fds, ri, fe->id);

		if (src < 0)
			return -EBADF;
		if (src == (int)fe->fd)
			continue; /* settled by criu at its number, with its FD_CLOEXEC (a socket, an epoll) */
		if (dup2(src, (int)fe->fd) < 0)
			return -errno;
		if ((fe->flags & FD_CLOEXEC) && fcntl((int)fe->fd, F_SETFD, FD_CLOEXEC) < 0)
			return -errno;
		/* Its last fd in place: a source the memory restore won't need goes (fd tables stay small). */
		if (fds->close_after[i] && src >= fds->min_fd)
			close(src);
	}
	for (size_t i = 0; i < FD_KIND_NR; i++) {
		int ret = fd_kinds[i].install ? fd_kinds[i].install(ri) : 0;

		if (ret)
			return ret;
	}
	return file_locks_take_own(ri);
}
