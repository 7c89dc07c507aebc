/*
 * memfds, both directions (see include/memfd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "array.h"
#include "files.h"
#include "image.h"
#include "memfd.h"
#include "restore-fds.h"
#include "restore-shmem.h"
#include "shmem.h"
#include "vma.h"

#include "memfd.pb-c.h"

#define LOG_PREFIX "memfd: "
#include "log.h"

#define MEMFD_PREFIX "/memfd:"
#define DELETED_SUFFIX " (deleted)"
#define MEMFD_NAME_MAX 249 /* memfd_create(2) */
#define SEALS_KNOWN (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)
#define OPEN_FLAGS_DROPPED (O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC)

bool memfd_match(const struct fd_probe *p)
{
	size_t len = strlen(p->link), slen = strlen(DELETED_SUFFIX);

	return !strncmp(p->link, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) && len > slen &&
	       !strcmp(p->link + len - slen, DELETED_SUFFIX);
}

/* The name memfd_create() was given, from a link or a VMA path that starts with "/memfd:". */
static char *memfd_name(const char *path, bool deleted_suffix)
{
	size_t len = strlen(path) - strlen(MEMFD_PREFIX);

	if (deleted_suffix)
		len -= strlen(DELETED_SUFFIX);
	return strndup(path + strlen(MEMFD_PREFIX), len);
}

static struct memfd_inode *find_inode(struct memfd_dump *d, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < d->nr_inodes; i++)
		if (d->inodes[i].dev == dev && d->inodes[i].ino == ino)
			return &d->inodes[i];
	return NULL;
}

/* memfd_create()'s flags for a hugetlb memfd of pages of @hpage bytes (memfd_inode_entry.hugetlb_flag); 0 if none. */
static uint32_t hugetlb_flag(uint64_t hpage)
{
	uint32_t bits = vma_hugepage_bits(hpage);

	return bits ? MFD_HUGETLB | bits : 0;
}

/*
 * The memfd open at @fd in criu (a copy of the process's), recorded once: a
 * read-only reopening of it is kept for the contents.
 */
static int add_inode(struct memfd_dump *d, pid_t pid, int fd, const char *path, bool deleted_suffix,
		     struct memfd_inode **inodep)
{
	struct memfd_inode *in;
	char self[64];
	struct statfs sfs;
	struct stat st;
	uint64_t hpage = 0;
	uint32_t hflag = 0;
	int seals, ret;

	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		pr_perror("Can't stat memfd %s", path);
		return -errno;
	}
	/* Once for the tree: the restore makes it once, for the tree's first process. */
	in = find_inode(d, st.st_dev, st.st_ino);
	if (in) {
		*inodep = in;
		return 0;
	}
	if (sfs.f_type == HUGETLBFS_MAGIC) {
		hpage = (uint64_t)sfs.f_bsize;
		hflag = hugetlb_flag(hpage);
		if (!hflag) {
			pr_err("%s is a hugetlb memfd of pages of %llu bytes: not supported\n", path,
			       (unsigned long long)hpage);
			return -EOPNOTSUPP;
		}
	} else if (sfs.f_type != TMPFS_MAGIC) {
		pr_err("%s is not on shmem (filesystem %#lx): not a memfd\n", path, (unsigned long)sfs.f_type);
		return -EOPNOTSUPP;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		pr_perror("Can't read the seals of %s", path);
		return -errno;
	}
	ret = ARRAY_RESERVE(d->inodes, d->nr_inodes, d->cap_inodes, 4);
	if (ret)
		return ret;
	in = &d->inodes[d->nr_inodes];
	memset(in, 0, sizeof(*in));
	in->name = memfd_name(path, deleted_suffix);
	if (!in->name)
		return -ENOMEM;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	in->fd = open(self, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0) {
		pr_perror("Can't reopen memfd %s", path);
		free(in->name);
		return -errno;
	}
	in->dev = st.st_dev;
	in->ino = st.st_ino;
	in->id = (uint32_t)d->nr_inodes + 1;
	in->uid = st.st_uid;
	in->mode = st.st_mode & 07777;
	in->gid = st.st_gid;
	in->size = (uint64_t)st.st_size;
	in->seals = (uint32_t)seals;
	in->hpage = hpage;
	in->hugetlb_flag = hflag;
	d->nr_inodes++;
	pr_debug("memfd %u \"%s\" (first seen in process %d): inode %llu, %llu bytes, seals %#x\n", in->id, in->name,
		 pid, (unsigned long long)in->ino, (unsigned long long)in->size, in->seals);
	*inodep = in;
	return 0;
}

static int add_file(struct memfd_dump *d, struct memfd_file **filep)
{
	int ret = ARRAY_RESERVE(d->files, d->nr_files, d->cap_files, 4);

	if (ret)
		return ret;
	*filep = &d->files[d->nr_files++];
	memset(*filep, 0, sizeof(**filep));
	return 0;
}

int memfd_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct memfd_dump *d = &c->fdump->memfd;
	struct memfd_inode *in;
	struct memfd_file *f;
	int ret;

	ret = add_inode(d, c->args->pid, p->dup_fd, p->link, true, &in);
	if (ret) {
		pr_err("fd %d (%s) can't be dumped\n", p->fd, p->link);
		return ret;
	}
	ret = add_file(d, &f);
	if (ret)
		return ret;
	f->id = *id = files_reg_new_id(&c->fdump->reg);
	f->flags = p->flags & ~(uint32_t)O_CLOEXEC;
	f->pos = p->pos;
	f->inode_id = in->id;
	f->fown = p->fown;
	pr_debug("fd %d: memfd %u, flags %#x, position %llu\n", p->fd, in->id, f->flags, (unsigned long long)f->pos);
	return 0;
}

int memfd_add_vma(struct files_dump *fdump, pid_t pid, const struct vma_area *vma, const char *link, uint32_t flags,
		  uint32_t *id)
{
	struct memfd_dump *d = &fdump->memfd;
	struct memfd_inode *in;
	struct memfd_file *f;
	int fd, ret;

	fd = open(link, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open %s", link);
		return -errno;
	}
	ret = add_inode(d, pid, fd, vma->path, false, &in);
	close(fd);
	if (ret)
		return ret;
	/* The mappings of one memfd with one access mode share a description. */
	for (size_t i = 0; i < d->nr_files; i++) {
		if (d->files[i].vma && d->files[i].inode_id == in->id && d->files[i].flags == flags) {
			*id = d->files[i].id;
			return 0;
		}
	}
	ret = add_file(d, &f);
	if (ret)
		return ret;
	f->id = *id = files_reg_new_id(&fdump->reg);
	f->flags = flags;
	f->inode_id = in->id;
	f->vma = true;
	return 0;
}

int memfd_dump_contents(struct files_dump *fdump, int dirfd, pid_t pid, uint32_t *next_pages_id,
			const struct dump_guard *guard, struct shmem_dump_stats *stats)
{
	struct memfd_dump *d = &fdump->memfd;

	for (size_t i = 0; i < d->nr_inodes; i++) {
		struct memfd_inode *in = &d->inodes[i];
		int ret = shmem_dump_file(dirfd, pid, in->fd, (uint64_t)in->ino, in->size, in->hpage, *next_pages_id,
					  guard, stats);

		if (ret) {
			pr_err("can't dump the contents of memfd \"%s\" of process %d\n", in->name, pid);
			return ret;
		}
		in->pages_id = (*next_pages_id)++;
	}
	return 0;
}

int memfd_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	const struct memfd_dump *d = &fdump->memfd;
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr_files; i++) {
		FileEntry fe = FILE_ENTRY__INIT;
		MemfdFileEntry e = MEMFD_FILE_ENTRY__INIT;
		FownEntry fown;

		reg_fown_entry(&d->files[i].fown, &fown);
		e.id = d->files[i].id;
		e.flags = d->files[i].flags;
		e.pos = d->files[i].pos;
		e.fown = &fown;
		e.inode_id = d->files[i].inode_id;
		fe.type = FD_TYPES__MEMFD;
		fe.id = e.id;
		fe.memfd = &e;
		ret = img_write_entry(img, &fe);
	}
	return ret;
}

int memfd_write_images(const struct files_dump *fdump, int dirfd)
{
	const struct memfd_dump *d = &fdump->memfd;
	struct cr_img *img;
	int ret, cret;

	if (!d->nr_inodes)
		return 0;
	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_MEMFD_INODE);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < d->nr_inodes; i++) {
		MemfdInodeEntry e = MEMFD_INODE_ENTRY__INIT;

		e.name = d->inodes[i].name;
		e.uid = d->inodes[i].uid;
		e.gid = d->inodes[i].gid;
		e.has_mode = 1;
		e.mode = d->inodes[i].mode;
		e.size = d->inodes[i].size;
		e.shmid = (uint32_t)d->inodes[i].ino;
		e.seals = d->inodes[i].seals;
		e.inode_id = d->inodes[i].id;
		e.has_hugetlb_flag = !!d->inodes[i].hugetlb_flag;
		e.hugetlb_flag = d->inodes[i].hugetlb_flag;
		ret = img_write_entry(img, &e);
	}
	cret = img_close(img);
	return ret ?: cret;
}

void memfd_dump_free(struct files_dump *fdump)
{
	struct memfd_dump *d = &fdump->memfd;

	for (size_t i = 0; i < d->nr_inodes; i++) {
		free(d->inodes[i].name);
		if (d->inodes[i].fd >= 0)
			close(d->inodes[i].fd);
	}
	free(d->inodes);
	free(d->files);
	memset(d, 0, sizeof(*d));
}

/* Restore. */

struct memfd_restore {
	MemfdInodeEntry **inodes;
	int *fds; /* per inode: the memfd once made (for the tree's first process only), or -1 */
	size_t nr;
	int dirfd; /* the images, for the contents; -1 once every memfd is made */
};

int memfd_check_entry(const FileEntry *fe, const char *name)
{
	const MemfdFileEntry *e = fe->memfd;

	if (!e || e->id != fe->id || !e->fown) {
		pr_err("%s: file %u: a memfd entry without its body or owner\n", name, fe->id);
		return -EINVAL;
	}
	if (e->flags & O_PATH) {
		pr_err("%s: memfd %u: flags %#x: an O_PATH memfd is not supported\n", name, fe->id, e->flags);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* mr->inodes is sorted by inode id once read (read_inodes()). */
static int cmp_inode_id(const void *a, const void *b)
{
	uint64_t x = (*(const MemfdInodeEntry *const *)a)->inode_id, y = (*(const MemfdInodeEntry *const *)b)->inode_id;

	return (x > y) - (x < y);
}

static ssize_t find_restore_inode(const struct memfd_restore *mr, uint64_t inode_id)
{
	MemfdInodeEntry e = MEMFD_INODE_ENTRY__INIT, *key = &e, **found;

	e.inode_id = inode_id;
	found = mr->nr ? bsearch(&key, mr->inodes, mr->nr, sizeof(*mr->inodes), cmp_inode_id) : NULL;
	return found ? found - mr->inodes : -1;
}

/* The huge page size of memfd @e; 0 if it isn't a hugetlb one. */
static uint64_t hugetlb_page(const MemfdInodeEntry *e)
{
	uint32_t shift = (e->hugetlb_flag & VMA_HUGE_MASK) >> MAP_HUGE_SHIFT;

	if (!e->has_hugetlb_flag || !(e->hugetlb_flag & MFD_HUGETLB) || !shift)
		return 0;
	return 1ull << shift;
}

static int check_inode(const MemfdInodeEntry *e)
{
	if (!e->name || strlen(e->name) > MEMFD_NAME_MAX || (e->seals & ~(uint32_t)SEALS_KNOWN) ||
	    e->size > (uint64_t)INT64_MAX) {
		pr_err("memfd.img: memfd %llu (name \"%s\", %llu bytes, seals %#x) is invalid\n",
		       (unsigned long long)e->inode_id, e->name ?: "", (unsigned long long)e->size, e->seals);
		return -EINVAL;
	}
	if (e->has_hugetlb_flag && e->hugetlb_flag &&
	    (e->hugetlb_flag != hugetlb_flag(hugetlb_page(e)) || e->size % hugetlb_page(e))) {
		pr_err("memfd.img: memfd \"%s\" (%llu bytes) has bad hugetlb flags %#x\n", e->name,
		       (unsigned long long)e->size, e->hugetlb_flag);
		return -EINVAL;
	}
	return 0;
}

static int read_inodes(int dirfd, struct memfd_restore *mr)
{
	size_t cap = 0;
	struct cr_img *img;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_MEMFD_INODE);
	if (ret)
		return ret;
	while (!ret) {
		MemfdInodeEntry *e;
		int *fds;

		ret = img_read_entry(img, (void **)&e);
		if (ret || !e)
			break;
		ret = check_inode(e);
		if (!ret)
			ret = ARRAY_RESERVE(mr->inodes, mr->nr, cap, 4);
		if (!ret) {
			fds = realloc(mr->fds, cap * sizeof(*fds));
			ret = fds ? 0 : -ENOMEM;
			if (fds)
				mr->fds = fds;
		}
		if (ret) {
			img_free_entry(e);
			break;
		}
		mr->fds[mr->nr] = -1;
		mr->inodes[mr->nr++] = e;
	}
	img_close(img);
	/* Sorted by id, each id once: the fds are all -1 yet, they need not follow. */
	if (!ret && mr->nr)
		qsort(mr->inodes, mr->nr, sizeof(*mr->inodes), cmp_inode_id);
	for (size_t i = 1; !ret && i < mr->nr; i++) {
		if (mr->inodes[i]->inode_id == mr->inodes[i - 1]->inode_id) {
			pr_err("memfd.img: memfd %llu is given twice\n", (unsigned long long)mr->inodes[i]->inode_id);
			ret = -EINVAL;
		}
	}
	return ret;
}

static void close_dirfd(struct memfd_restore *mr)
{
	if (mr->dirfd >= 0)
		close(mr->dirfd);
	mr->dirfd = -1;
}

static void free_restore(struct memfd_restore *mr)
{
	for (size_t i = 0; i < mr->nr; i++) {
		img_free_entry(mr->inodes[i]);
		if (mr->fds[i] >= 0)
			close(mr->fds[i]);
	}
	close_dirfd(mr);
	free(mr->inodes);
	free(mr->fds);
	free(mr);
}

/*
 * The contents of hugetlb memfd @e, open at @fd: hugetlbfs takes no write(),
 * so they are copied into criu's mapping of it, sized first.
 */
static int fill_hugetlb(int dirfd, const struct restore_shmem *contents, int fd, const MemfdInodeEntry *e)
{
	void *base;
	int ret;

	if (!e->size)
		return 0;
	if (ftruncate(fd, (off_t)e->size) < 0) {
		pr_perror("Can't make hugetlb memfd \"%s\" %llu bytes", e->name, (unsigned long long)e->size);
		return -errno;
	}
	base = mmap(NULL, e->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		pr_perror("Can't map hugetlb memfd \"%s\"", e->name);
		return -errno;
	}
	ret = restore_shmem_fill_mem(dirfd, contents, base);
	munmap(base, e->size);
	return ret;
}

/*
 * Makes memfd @e: name, size, contents (shared memory object e->shmid), owner
 * and, last, its seals. Returns the fd or -errno (logged).
 */
static int make_inode(const MemfdInodeEntry *e, int dirfd)
{
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	struct restore_shmem contents = { .shmid = e->shmid };
	uint64_t hpage = hugetlb_page(e);
	unsigned int flags = MFD_CLOEXEC | (hpage ? e->hugetlb_flag : 0);
	int fd, ret;

	/* A memfd made without MFD_ALLOW_SEALING has F_SEAL_SEAL and nothing else. */
	if (e->seals != F_SEAL_SEAL)
		flags |= MFD_ALLOW_SEALING;
	fd = memfd_create(e->name, flags);
	if (fd < 0) {
		pr_perror("Can't create memfd \"%s\"", e->name);
		return -errno;
	}
	contents.size = (e->size + page_size - 1) / page_size * page_size;
	ret = restore_shmem_load_object(dirfd, &contents);
	if (!ret)
		ret = hpage ? fill_hugetlb(dirfd, &contents, fd, e) : restore_shmem_fill_fd(dirfd, &contents, fd);
	restore_shmem_free_object(&contents);
	if (ret)
		goto out_close;
	/* After the contents, whose last page may reach past the end. */
	if (ftruncate(fd, (off_t)e->size) < 0) {
		ret = -errno;
		pr_perror("Can't make memfd \"%s\" %llu bytes", e->name, (unsigned long long)e->size);
		goto out_close;
	}
	if (fchown(fd, e->uid, e->gid) < 0) {
		ret = -errno;
		pr_perror("Can't give memfd \"%s\" to uid %u gid %u", e->name, e->uid, e->gid);
		goto out_close;
	}
	/* After fchown, which clears the set-id bits. */
	if (e->has_mode && fchmod(fd, (mode_t)(e->mode & 07777)) < 0) {
		ret = -errno;
		pr_perror("Can't set the mode of memfd \"%s\" to %#o", e->name, e->mode);
		goto out_close;
	}
	if (e->seals && e->seals != F_SEAL_SEAL && fcntl(fd, F_ADD_SEALS, (int)e->seals) < 0) {
		ret = -errno;
		pr_perror("Can't seal memfd \"%s\" with %#x", e->name, e->seals);
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return ret;
}

/*
 * Reads memfd.img; the memfds themselves are made by memfd_open(), once for
 * the tree (files.img and memfd.img are the tree's: every process reads them).
 */
int memfd_load(int dirfd, struct restore_image *ri)
{
	struct memfd_restore *mr;
	bool any = false;
	int ret;

	for (size_t i = 0; i < ri->nr_files; i++)
		any |= ri->files[i]->type == FD_TYPES__MEMFD;
	if (!any)
		return 0;
	mr = calloc(1, sizeof(*mr));
	if (!mr)
		return -ENOMEM;
	mr->dirfd = -1;
	ret = read_inodes(dirfd, mr);
	for (size_t i = 0; !ret && i < ri->nr_files; i++) {
		const FileEntry *fe = ri->files[i];

		if (fe->type == FD_TYPES__MEMFD && find_restore_inode(mr, fe->memfd->inode_id) < 0) {
			pr_err("files.img: memfd file %u is of memfd %u, which memfd.img doesn't have\n", fe->id,
			       fe->memfd->inode_id);
			ret = -EINVAL;
		}
	}
	if (!ret) {
		mr->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
		if (mr->dirfd < 0) {
			pr_perror("Can't keep the images directory open for the memfds");
			ret = -errno;
		}
	}
	if (ret) {
		free_restore(mr);
		return ret;
	}
	ri->kind_state[FD_KIND_MEMFD] = mr;
	return 0;
}

void memfd_load_free(struct restore_image *ri)
{
	if (ri->kind_state[FD_KIND_MEMFD])
		free_restore(ri->kind_state[FD_KIND_MEMFD]);
	ri->kind_state[FD_KIND_MEMFD] = NULL;
}

/* Whether a VMA of @ri writes through a shared mapping of file @id. */
static bool shared_write(const struct restore_image *ri, uint32_t id)
{
	for (size_t i = 0; i < ri->mm->n_vmas; i++) {
		const VmaEntry *v = ri->mm->vmas[i];

		if ((v->status & VMA_AREA_MEMFD) && v->shmid == id && (v->status & VMA_FILE_SHARED) &&
		    (v->prot & PROT_WRITE))
			return true;
	}
	return false;
}

/* A new description of the memfd at @inode_fd, as file @fe was, at @min_fd or above unless @low. */
static int open_description(const FileEntry *fe, int inode_fd, int min_fd, bool low)
{
	const MemfdFileEntry *e = fe->memfd;
	char self[64];
	int fd, moved;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", inode_fd);
	fd = open(self, (int)(e->flags & ~(uint32_t)OPEN_FLAGS_DROPPED) | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't reopen memfd file %u with flags %#x", fe->id, e->flags);
		return -errno;
	}
	if (e->pos && lseek(fd, (off_t)e->pos, SEEK_SET) < 0) {
		pr_perror("Can't seek memfd file %u to %llu", fe->id, (unsigned long long)e->pos);
		close(fd);
		return -errno;
	}
	if (low || fd >= min_fd)
		return fd;
	/* Only mapped: kept above the numbers the process's own fds take. */
	moved = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
	if (moved < 0)
		pr_perror("Can't move memfd file %u to fd %d or above", fe->id, min_fd);
	close(fd);
	return moved < 0 ? -errno : moved;
}

/* The memfd of inode @idx, made the first time. */
static int inode_fd(struct memfd_restore *mr, ssize_t idx)
{
	if (mr->fds[idx] < 0)
		mr->fds[idx] = make_inode(mr->inodes[idx], mr->dirfd);
	return mr->fds[idx];
}

static int open_one(const struct restore_image *ri, struct memfd_restore *mr, struct restore_fds *fds, size_t i)
{
	const FileEntry *fe = ri->files[i];
	ssize_t idx = find_restore_inode(mr, fe->memfd->inode_id);
	int ifd = inode_fd(mr, idx);

	if (ifd < 0)
		return ifd;
	fds->fds[i] = open_description(fe, ifd, fds->min_fd, ri->file_fds[i] != 0);
	if (fds->fds[i] < 0) {
		int ret = fds->fds[i];

		fds->fds[i] = -1;
		return ret;
	}
	return 0;
}

/*
 * Every memfd of the tree is made for its first process, with every
 * description of files.img (an fd's or a mapping's, whichever process holds
 * it); a later process was given those it needs (FD_KIND_TREE). Each process
 * checks its own mappings against the seals.
 */
int memfd_open(const struct restore_image *ri, struct restore_fds *fds)
{
	struct memfd_restore *mr = ri->kind_state[FD_KIND_MEMFD];
	int ret = 0;

	for (size_t i = 0; mr && !ret && i < ri->nr_files; i++) {
		const FileEntry *fe = ri->files[i];
		ssize_t idx;

		if (fe->type != FD_TYPES__MEMFD || !restore_fds_needed(ri, i))
			continue;
		idx = find_restore_inode(mr, fe->memfd->inode_id);
		if (shared_write(ri, fe->id) && (mr->inodes[idx]->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))) {
			pr_err("memfd \"%s\" is sealed against writes (%#x) and mapped writable: can't be restored\n",
			       mr->inodes[idx]->name, mr->inodes[idx]->seals);
			return -EOPNOTSUPP;
		}
	}
	for (size_t i = 0; mr && !ret && !fds->given && i < ri->nr_files; i++)
		if (ri->files[i]->type == FD_TYPES__MEMFD && fds->fds[i] < 0)
			ret = open_one(ri, mr, fds, i);
	if (mr)
		close_dirfd(mr);
	return ret;
}
