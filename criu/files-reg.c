/*
 * The regular files of a dump that no fd holds (executable, cwd, root, mapped
 * files): one id each, written as file_entry { type REG, reg_file_entry } in
 * files.img.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files-reg.h"
#include "image.h"

#include "fdinfo.pb-c.h"

#define LOG_PREFIX "files: "
#include "log.h"

#define DELETED_SUFFIX " (deleted)"

int files_reg_add(struct files_reg *fr, const char *path, const char *proc_link, uint32_t flags, uint32_t *id)
{
	struct reg_file *f;
	struct stat st;

	for (size_t i = 0; i < fr->nr; i++) {
		if (fr->files[i].flags == flags && !strcmp(fr->files[i].path, path)) {
			*id = fr->files[i].id;
			return 0;
		}
	}
	if (stat(proc_link, &st) < 0) {
		pr_perror("Can't stat %s (%s)", proc_link, path);
		return -errno;
	}
	if (fr->nr == fr->cap) {
		size_t cap = fr->cap ? fr->cap * 2 : 16;
		struct reg_file *files = realloc(fr->files, cap * sizeof(*files));

		if (!files)
			return -ENOMEM;
		fr->files = files;
		fr->cap = cap;
	}
	f = &fr->files[fr->nr];
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	f->id = ++fr->next_id;
	f->flags = flags;
	f->size = (uint64_t)st.st_size;
	f->mode = st.st_mode;
	fr->nr++;
	*id = f->id;
	return 0;
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
	if ((size_t)n > slen && !strcmp(target + n - slen, DELETED_SUFFIX) && access(target, F_OK)) {
		pr_err("%s points to the deleted file %s: unlinked files are not supported yet\n", path, target);
		return -EOPNOTSUPP;
	}
	if (target[0] != '/') {
		pr_err("%s points to %s, not a file path: not supported yet\n", path, target);
		return -EOPNOTSUPP;
	}
	return files_reg_add(fr, target, path, flags, id);
}

static int write_one(struct cr_img *img, const struct reg_file *f)
{
	FileEntry fe = FILE_ENTRY__INIT;
	RegFileEntry reg = REG_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;

	reg.id = f->id;
	reg.flags = f->flags;
	reg.pos = 0;
	reg.fown = &fown;
	reg.name = f->path;
	reg.has_size = 1, reg.size = f->size;
	reg.has_mode = 1, reg.mode = f->mode;
	fe.type = FD_TYPES__REG;
	fe.id = f->id;
	fe.reg = &reg;
	return img_write_entry(img, &fe);
}

int files_reg_write(const struct files_reg *fr, int dirfd)
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_FILES);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < fr->nr; i++)
		ret = write_one(img, &fr->files[i]);
	cret = img_close(img);
	return ret ?: cret;
}

void files_reg_free(struct files_reg *fr)
{
	for (size_t i = 0; i < fr->nr; i++)
		free(fr->files[i].path);
	free(fr->files);
	memset(fr, 0, sizeof(*fr));
}
