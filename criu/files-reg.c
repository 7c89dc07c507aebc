/*
 * The regular files of a dump: the executable, cwd, root and mapped files (no
 * fd holds them) and the open files of the fds, one id each, written as
 * file_entry { type REG, reg_file_entry } in files.img; an unlinked open file
 * also gets a ghost-file-ID.img (see files-ghost.c) and an entry of
 * remap-fpath.img pointing its id at the ghost.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files-ghost.h"
#include "files-reg.h"
#include "image.h"

#include "fdinfo.pb-c.h"
#include "remap-file-path.pb-c.h"

#define LOG_PREFIX "files: "
#include "log.h"

#define DELETED_SUFFIX " (deleted)"

uint32_t files_reg_new_id(struct files_reg *fr)
{
	return ++fr->next_id;
}

/* A new zeroed slot at the end of the table, or NULL when out of memory. */
static struct reg_file *new_file(struct files_reg *fr)
{
	struct reg_file *f;

	if (fr->nr == fr->cap) {
		size_t cap = fr->cap ? fr->cap * 2 : 16;
		struct reg_file *files = realloc(fr->files, cap * sizeof(*files));

		if (!files)
			return NULL;
		fr->files = files;
		fr->cap = cap;
	}
	f = &fr->files[fr->nr];
	memset(f, 0, sizeof(*f));
	f->mnt_id = -1;
	f->ghost_fd = -1;
	return f;
}

int files_reg_add(struct files_reg *fr, const char *path, const char *proc_link, uint32_t flags, uint32_t *id)
{
	struct reg_file *f;
	struct stat st;

	for (size_t i = 0; i < fr->nr; i++) {
		if (!fr->files[i].of_fd && fr->files[i].flags == flags && !strcmp(fr->files[i].path, path)) {
			*id = fr->files[i].id;
			return 0;
		}
	}
	if (stat(proc_link, &st) < 0) {
		pr_perror("Can't stat %s (%s)", proc_link, path);
		return -errno;
	}
	f = new_file(fr);
	if (!f)
		return -ENOMEM;
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	f->id = files_reg_new_id(fr);
	f->flags = flags;
	f->size = (uint64_t)st.st_size;
	f->mode = st.st_mode;
	fr->nr++;
	*id = f->id;
	return 0;
}

/*
 * The removed file of a link (a working directory or root rmdir()ed under the process): a ghost,
 * one for every link of the tree to the same path.
 */
static int add_ghost_link(struct files_reg *fr, const char *path, const char *proc_link, uint32_t flags, uint32_t *id)
{
	struct reg_fd_info info = { .path = path, .flags = flags, .mnt_id = -1, .ghost_fd = -1 };
	struct stat st;
	int ret;

	for (size_t i = 0; i < fr->nr; i++) {
		const struct reg_file *f = &fr->files[i];

		if (!f->of_fd && f->ghost_id && f->flags == flags && !strcmp(f->path, path)) {
			*id = f->id;
			return 0;
		}
	}
	info.ghost_fd = open(proc_link, (int)flags | O_CLOEXEC);
	if (info.ghost_fd < 0) {
		pr_perror("Can't open %s (the removed %s)", proc_link, path);
		return -errno;
	}
	if (fstat(info.ghost_fd, &st) < 0) {
		ret = -errno;
		pr_perror("Can't stat %s (the removed %s)", proc_link, path);
		goto close_ghost;
	}
	if (st.st_nlink) {
		pr_err("%s is %s, removed from its path but linked elsewhere: not supported yet\n", proc_link, path);
		ret = -EOPNOTSUPP;
		goto close_ghost;
	}
	ret = ghost_file_check(&st, path);
	if (ret)
		goto close_ghost;
	info.st = &st;
	ret = files_reg_add_fd(fr, &info, id);
	if (!ret) {
		fr->files[fr->nr - 1].of_fd = false; /* no fd's: a link of another process may share it */
		pr_info("%s: the removed %s is dumped as a ghost\n", proc_link, path);
	}
	return ret;

close_ghost:
	close(info.ghost_fd);
	return ret;
}

int files_reg_add_link(struct files_reg *fr, pid_t pid, const char *link, uint32_t flags, uint32_t *id)
{
	char path[64], target[PATH_MAX];
	size_t slen = strlen(DELETED_SUFFIX);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		pr_perror("Can't read the link %s", path);
		return -errno;
	}
	target[n] = '\0';
	if (target[0] != '/') {
		pr_err("%s points to %s, not a file path: not supported yet\n", path, target);
		return -EOPNOTSUPP;
	}
	if ((size_t)n > slen && !strcmp(target + n - slen, DELETED_SUFFIX) && access(target, F_OK)) {
		target[n - slen] = '\0';
		return add_ghost_link(fr, target, path, flags, id);
	}
	return files_reg_add(fr, target, path, flags, id);
}

int files_reg_add_fd(struct files_reg *fr, const struct reg_fd_info *info, uint32_t *id)
{
	struct reg_file *f = new_file(fr);

	if (!f || !(f->path = strdup(info->path))) {
		if (info->ghost_fd >= 0)
			close(info->ghost_fd);
		return -ENOMEM;
	}
	f->id = files_reg_new_id(fr);
	f->flags = info->flags;
	f->size = (uint64_t)info->st->st_size;
	f->mode = info->st->st_mode;
	f->pos = info->pos;
	f->mnt_id = info->mnt_id;
	f->fown = info->fown;
	f->of_fd = true;
	if (info->ghost_fd >= 0) {
		f->ghost_fd = info->ghost_fd;
		f->ghost_id = ++fr->next_ghost_id;
		f->ghost_st = *info->st;
	}
	fr->nr++;
	*id = f->id;
	return 0;
}

int files_reg_add_link_remap(struct files_reg *fr, const struct reg_fd_info *info, const char *fd_link, uint32_t *id)
{
	char link[PATH_MAX];
	const char *slash = strrchr(info->path, '/');
	struct reg_file *f;
	uint32_t orig, lid;
	int n, ret;

	ret = files_reg_add_fd(fr, info, &orig);
	if (ret)
		return ret;
	lid = files_reg_new_id(fr);
	n = slash ? snprintf(link, sizeof(link), "%.*s/link_remap.%u", (int)(slash - info->path), info->path, lid) : -1;
	if (n < 0 || (size_t)n >= sizeof(link)) {
		pr_err("no room for a link remap beside %s\n", info->path);
		return -ENAMETOOLONG;
	}
	if (linkat(AT_FDCWD, fd_link, AT_FDCWD, link, AT_SYMLINK_FOLLOW) < 0) {
		pr_perror("Can't link %s (the unlinked %s) to %s", fd_link, info->path, link);
		return -errno;
	}
	f = new_file(fr);
	if (!f || !(f->path = strdup(link))) {
		if (unlink(link) < 0)
			pr_perror("Can't remove the link remap %s", link);
		return -ENOMEM;
	}
	f->id = lid;
	f->size = (uint64_t)info->st->st_size;
	f->mode = info->st->st_mode;
	f->mnt_id = info->mnt_id;
	f->link_made = true;
	fr->nr++;
	fr->nr_links++;
	for (size_t i = 0; i < fr->nr; i++)
		if (fr->files[i].id == orig)
			fr->files[i].link_id = lid;
	pr_info("the unlinked file %s is linked at %s (link remap %u)\n", info->path, link, lid);
	*id = orig;
	return 0;
}

void files_reg_undo_link_remaps(struct files_reg *fr)
{
	for (size_t i = 0; i < fr->nr; i++)
		if (fr->files[i].link_made && unlink(fr->files[i].path) < 0)
			pr_perror("Can't remove the link remap %s", fr->files[i].path);
}

void reg_fown_entry(const struct reg_fown *fown, FownEntry *e)
{
	fown_entry__init(e);
	e->uid = fown->uid;
	e->euid = fown->euid;
	e->signum = fown->signum;
	e->pid_type = fown->pid_type;
	e->pid = fown->pid;
}

static int write_one(struct cr_img *img, const struct reg_file *f)
{
	FileEntry fe = FILE_ENTRY__INIT;
	RegFileEntry reg = REG_FILE_ENTRY__INIT;
	FownEntry fown;

	reg_fown_entry(&f->fown, &fown);
	reg.id = f->id;
	reg.flags = f->flags;
	reg.pos = f->pos;
	reg.fown = &fown;
	reg.name = f->path;
	/*
	 * As CRIU 4 writes them when it dumps no mount namespace: no mount id (its restore
	 * would look for the mount among those it restored), and a size only for a regular
	 * file (its restore compares the size of any file that has one, and a directory's
	 * changes as entries come and go).
	 */
	if (S_ISREG(f->mode))
		reg.has_size = 1, reg.size = f->size;
	reg.has_mode = 1, reg.mode = f->mode;
	fe.type = FD_TYPES__REG;
	fe.id = f->id;
	fe.reg = &reg;
	return img_write_entry(img, &fe);
}

int files_reg_write_entries(const struct files_reg *fr, struct cr_img *img)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < fr->nr; i++)
		ret = write_one(img, &fr->files[i]);
	return ret;
}

int files_reg_write_ghosts(const struct files_reg *fr, int dirfd)
{
	struct cr_img *img;
	int ret = 0, cret;

	if (!fr->next_ghost_id && !fr->nr_links)
		return 0;
	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_REMAP_FPATH);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < fr->nr; i++) {
		const struct reg_file *f = &fr->files[i];
		RemapFilePathEntry rpe = REMAP_FILE_PATH_ENTRY__INIT;

		if (f->link_id) {
			rpe.orig_id = f->id;
			rpe.remap_id = f->link_id;
			rpe.has_remap_type = 1, rpe.remap_type = REMAP_TYPE__LINKED;
			ret = img_write_entry(img, &rpe);
			continue;
		}
		if (!f->ghost_id)
			continue;
		rpe.orig_id = f->id;
		rpe.remap_id = f->ghost_id;
		rpe.has_remap_type = 1, rpe.remap_type = REMAP_TYPE__GHOST;
		ret = img_write_entry(img, &rpe);
		if (!ret)
			ret = ghost_file_write(dirfd, f->ghost_id, f->ghost_fd, &f->ghost_st, f->path);
	}
	cret = img_close(img);
	return ret ?: cret;
}

void files_reg_free(struct files_reg *fr)
{
	for (size_t i = 0; i < fr->nr; i++) {
		free(fr->files[i].path);
		if (fr->files[i].ghost_fd >= 0)
			close(fr->files[i].ghost_fd);
	}
	free(fr->files);
	memset(fr, 0, sizeof(*fr));
}
