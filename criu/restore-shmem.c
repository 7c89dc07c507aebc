/*
 * criu restore: shared anonymous memory (see include/restore-shmem.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "array.h"
#include "image.h"
#include "mem.h"
#include "ngutil.h"
#include "restore-shmem.h"
#include "vma.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define FILL_PAGES 256
#define MAX_RUNS (1u << 24)

static int add_run(struct restore_shmem *shm, PagemapEntry *pe, const char *name, size_t page_size, size_t *cap)
{
	int present = pagemap_entry_normalize(pe);
	uint64_t len = (uint64_t)pe->nr_pages * page_size;
	int ret;

	if (present || !pe->nr_pages || pe->nr_pages > UINT64_MAX / page_size || pe->vaddr % page_size ||
	    pe->vaddr + len < pe->vaddr || pe->vaddr + len > shm->size || shm->nr_runs >= MAX_RUNS) {
		pr_err("%s: entry %zu: %llu pages at offset %#llx (flags %#x) don't fit the %llu bytes of the object\n",
		       name, shm->nr_runs + 1, (unsigned long long)pe->nr_pages, (unsigned long long)pe->vaddr,
		       pe->flags, (unsigned long long)shm->size);
		return -EINVAL;
	}
	ret = ARRAY_RESERVE(shm->runs, shm->nr_runs, *cap, 64);
	if (ret)
		return ret;
	shm->runs[shm->nr_runs++] = pe;
	shm->nr_pages += pe->nr_pages;
	return 0;
}

static int check_pages_size(int dirfd, const struct restore_shmem *shm, size_t page_size)
{
	char name[64];
	struct stat st;

	snprintf(name, sizeof(name), "pages-%u.img", shm->pages_id);
	if (fstatat(dirfd, name, &st, 0) < 0) {
		pr_perror("Can't stat image %s", name);
		return -errno;
	}
	if ((uint64_t)st.st_size != shm->nr_pages * page_size) {
		pr_err("%s: %lld bytes, but pagemap-shmem-%llu.img lists %llu pages\n", name, (long long)st.st_size,
		       (unsigned long long)shm->shmid, (unsigned long long)shm->nr_pages);
		return -EINVAL;
	}
	return 0;
}

static int load_one(int dirfd, struct restore_shmem *shm, size_t page_size)
{
	PagemapHead *head = NULL;
	struct cr_img *img;
	size_t cap = 0;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_SHMEM_PAGEMAP, (unsigned long long)shm->shmid);
	if (ret)
		return ret;
	ret = img_read_entry_as(img, &pagemap_head__descriptor, (void **)&head);
	if (!ret && !head) {
		pr_err("%s: no pagemap_head\n", img_name(img));
		ret = -EIO;
	}
	if (!ret)
		shm->pages_id = head->pages_id;
	img_free_entry(head);
	while (!ret) {
		void *msg;

		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		ret = add_run(shm, msg, img_name(img), page_size, &cap);
		if (ret)
			img_free_entry(msg);
	}
	img_close(img);
	return ret ?: check_pages_size(dirfd, shm, page_size);
}

static int cmp_shmid(const void *a, const void *b)
{
	uint64_t x = (*(const VmaEntry *const *)a)->shmid, y = (*(const VmaEntry *const *)b)->shmid;

	return (x > y) - (x < y);
}

/* One object per shmid of the shared anonymous VMAs (sorted by it), as large as its VMAs reach. */
static int collect_shmems(struct restore_image *ri)
{
	const VmaEntry **v;
	size_t n = 0;

	v = calloc(ri->mm->n_vmas ? ri->mm->n_vmas : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < ri->mm->n_vmas; i++)
		if (ri->mm->vmas[i]->status & VMA_ANON_SHARED)
			v[n++] = ri->mm->vmas[i];
	if (n)
		qsort(v, n, sizeof(*v), cmp_shmid);
	ri->shmems = calloc(n ? n : 1, sizeof(*ri->shmems));
	if (!ri->shmems) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct restore_shmem *shm = &ri->shmems[ri->nr_shmems];

		if (!i || v[i]->shmid != v[i - 1]->shmid) {
			shm->shmid = v[i]->shmid;
			shm->huge_flags = v[i]->flags & (MAP_HUGETLB | VMA_HUGE_MASK);
			shm->hpage = vma_flags_hugepage(v[i]->flags);
			ri->nr_shmems++;
		} else {
			shm--;
		}
		if ((v[i]->flags & (MAP_HUGETLB | VMA_HUGE_MASK)) != shm->huge_flags ||
		    (shm->hpage && ((v[i]->start | v[i]->end | v[i]->pgoff) % shm->hpage)) ||
		    (shm->huge_flags && !shm->hpage)) {
			pr_err("VMA %#llx-%#llx of shared memory %llu: hugetlb flags %#x don't fit the object's %#x\n",
			       (unsigned long long)v[i]->start, (unsigned long long)v[i]->end,
			       (unsigned long long)v[i]->shmid, v[i]->flags, shm->huge_flags);
			free(v);
			return -EINVAL;
		}
		if (v[i]->pgoff + (v[i]->end - v[i]->start) > shm->size)
			shm->size = v[i]->pgoff + (v[i]->end - v[i]->start);
	}
	free(v);
	return 0;
}

int restore_shmem_load_object(int dirfd, struct restore_shmem *shm)
{
	return load_one(dirfd, shm, (size_t)sysconf(_SC_PAGESIZE));
}

void restore_shmem_free_object(struct restore_shmem *shm)
{
	for (size_t j = 0; j < shm->nr_runs; j++)
		img_free_entry(shm->runs[j]);
	free(shm->runs);
	shm->runs = NULL;
	shm->nr_runs = 0;
}

int restore_shmem_load(int dirfd, struct restore_image *ri)
{
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	int ret = collect_shmems(ri);

	for (size_t i = 0; !ret && i < ri->nr_shmems; i++)
		ret = load_one(dirfd, &ri->shmems[i], page_size);
	return ret;
}

void restore_shmem_free(struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_shmems; i++)
		restore_shmem_free_object(&ri->shmems[i]);
	free(ri->shmems);
	ri->shmems = NULL;
	ri->nr_shmems = 0;
}

/* Where fill() writes the object: @len bytes at offset @off. */
typedef int (*fill_write)(void *arg, uint64_t off, const void *buf, size_t len);

static int fill(const struct restore_shmem *shm, int dirfd, size_t page_size, fill_write write_fn, void *arg)
{
	size_t chunk = FILL_PAGES * page_size;
	struct cr_img *img;
	char *buf;
	int ret;

	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_PAGES, shm->pages_id);
	for (size_t i = 0; !ret && i < shm->nr_runs; i++) {
		uint64_t off = shm->runs[i]->vaddr, left = (uint64_t)shm->runs[i]->nr_pages * page_size;

		while (!ret && left) {
			size_t n = left < chunk ? (size_t)left : chunk;

			ret = img_read_raw(img, buf, n);
			if (!ret)
				ret = write_fn(arg, off, buf, n);
			off += n;
			left -= n;
		}
	}
	if (img)
		img_close(img);
	free(buf);
	return ret;
}

struct fill_ctl {
	struct restore_ctl *ctl;
	uint64_t base;
};

static int write_ctl(void *arg, uint64_t off, const void *buf, size_t len)
{
	struct fill_ctl *fc = arg;

	return restore_ctl_write(fc->ctl, fc->base + off, buf, len);
}

static int write_fd(void *arg, uint64_t off, const void *buf, size_t len)
{
	return ng_pwrite_full(*(int *)arg, buf, len, off);
}

int restore_shmem_fill_fd(int dirfd, const struct restore_shmem *shm, int fd)
{
	int ret = fill(shm, dirfd, (size_t)sysconf(_SC_PAGESIZE), write_fd, &fd);

	if (ret)
		pr_err("can't fill shared memory object %llu: %s\n", (unsigned long long)shm->shmid, strerror(-ret));
	return ret;
}

static int write_mem(void *arg, uint64_t off, const void *buf, size_t len)
{
	memcpy((char *)arg + off, buf, len);
	return 0;
}

int restore_shmem_fill_mem(int dirfd, const struct restore_shmem *shm, void *base)
{
	int ret = fill(shm, dirfd, (size_t)sysconf(_SC_PAGESIZE), write_mem, base);

	if (ret)
		pr_err("can't fill shared memory object %llu: %s\n", (unsigned long long)shm->shmid, strerror(-ret));
	return ret;
}

/* Makes VMA @v a view of the object mapped at @base, with its protection. */
static int map_view(struct restore_ctl *ctl, const VmaEntry *v, uint64_t base)
{
	uint64_t len = v->end - v->start;
	long ret;

	ret = restore_ctl_syscall(ctl, SYS_mremap, 5, base + v->pgoff, (uint64_t)0, len,
				  (uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED), v->start);
	if (ret >= 0 && (uint64_t)ret != v->start)
		ret = -EFAULT;
	if (ret >= 0 && v->prot != (PROT_READ | PROT_WRITE))
		ret = restore_ctl_syscall(ctl, SYS_mprotect, 3, v->start, len, (uint64_t)v->prot);
	if (ret < 0) {
		pr_err("can't map the shared memory %#llx-%#llx in process %d: %s\n", (unsigned long long)v->start,
		       (unsigned long long)v->end, ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

void restore_shmem_set_free(struct restore_shmem_set *set)
{
	for (size_t i = 0; i < set->nr; i++)
		close(set->objs[i].fd);
	free(set->objs);
	memset(set, 0, sizeof(*set));
}

/* criu's fd on object @shmid, made by an earlier process of the tree or by criu; -1 if none. */
static int set_find(const struct restore_shmem_set *set, uint64_t shmid)
{
	for (size_t i = 0; set && i < set->nr; i++)
		if (set->objs[i].shmid == shmid)
			return set->objs[i].fd;
	return -1;
}

/* Makes object @shm in criu, fills it, and keeps an fd on it in @set. */
static int make_in_criu(struct restore_shmem_set *set, const struct restore_shmem *shm, int dirfd)
{
	char path[96];
	void *base;
	int fd, ret;

	if (ARRAY_RESERVE(set->objs, set->nr, set->cap, 8))
		return -ENOMEM;
	base = mmap(NULL, shm->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | (int)shm->huge_flags, -1, 0);
	if (base == MAP_FAILED) {
		pr_perror("Can't create shared memory object %llu (%llu bytes)", (unsigned long long)shm->shmid,
			  (unsigned long long)shm->size);
		return -errno;
	}
	ret = restore_shmem_fill_mem(dirfd, shm, base);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)base,
		 (unsigned long)base + (unsigned long)shm->size);
	fd = ret ? -1 : open(path, O_RDWR | O_CLOEXEC);
	if (!ret && fd < 0) {
		ret = -errno;
		pr_perror("Can't open shared memory object %llu through %s", (unsigned long long)shm->shmid, path);
	}
	if (munmap(base, shm->size) < 0 && !ret) {
		ret = -errno;
		pr_perror("Can't unmap shared memory object %llu from criu", (unsigned long long)shm->shmid);
	}
	if (ret) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	set->objs[set->nr++] = (struct restore_shmem_made){ .shmid = shm->shmid, .fd = fd };
	return 0;
}

int restore_shmem_make_all(struct restore_shmem_set *set, const struct restore_image *ris, size_t nr, int dirfd)
{
	int ret = 0;

	for (size_t k = 0; !ret && k < nr; k++)
		for (size_t i = 0; !ret && i < ris[k].nr_shmems; i++)
			if (set_find(set, ris[k].shmems[i].shmid) < 0)
				ret = make_in_criu(set, &ris[k].shmems[i], dirfd);
	if (!ret) {
		set->complete = true;
		pr_info("%zu shared memory object(s) made by criu for the tree\n", set->nr);
	}
	return ret;
}

/* An fd of criu's on object @shm, just made at @base in the process of @ctl; -errno (logged). */
static int open_made(const struct restore_ctl *ctl, const struct restore_shmem *shm, uint64_t base)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", ctl->tgid, (unsigned long long)base,
		 (unsigned long long)(base + shm->size));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open shared memory object %llu through %s", (unsigned long long)shm->shmid, path);
		return -errno;
	}
	return fd;
}

/* Keeps object @shm, just made at @base in the process of @ctl, open for the later processes. */
static int set_add(struct restore_shmem_set *set, const struct restore_ctl *ctl, const struct restore_shmem *shm,
		   uint64_t base)
{
	int fd;

	if (ARRAY_RESERVE(set->objs, set->nr, set->cap, 8))
		return -ENOMEM;
	fd = open_made(ctl, shm, base);
	if (fd < 0)
		return fd;
	set->objs[set->nr++] = (struct restore_shmem_made){ .shmid = shm->shmid, .fd = fd };
	return 0;
}

/* Maps @len bytes at @off of criu's @fd at @addr in the process of @ctl (pidfd_getfd, then mmap). */
static long map_fd(struct restore_ctl *ctl, int fd, uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags,
		   uint64_t off)
{
	long pidfd, tfd, ret;

	pidfd = restore_ctl_syscall(ctl, SYS_pidfd_open, 2, (uint64_t)getpid(), (uint64_t)0);
	if (pidfd < 0)
		return pidfd;
	tfd = restore_ctl_syscall(ctl, SYS_pidfd_getfd, 3, (uint64_t)pidfd, (uint64_t)fd, (uint64_t)0);
	ret = tfd;
	if (tfd >= 0)
		ret = restore_ctl_syscall(ctl, SYS_mmap, 6, addr, len, prot, flags, (uint64_t)tfd, off);
	if (tfd >= 0 && restore_ctl_syscall(ctl, SYS_close, 1, (uint64_t)tfd) < 0 && ret >= 0)
		ret = -EBADF;
	if (restore_ctl_syscall(ctl, SYS_close, 1, (uint64_t)pidfd) < 0 && ret >= 0)
		ret = -EBADF;
	return ret;
}

/* Criu's @made fd on hugetlb object @shm, or one opened on the object just made at @scratch (*@own). */
static int hugetlb_fd(const struct restore_ctl *ctl, const struct restore_shmem *shm, int made, uint64_t scratch,
		      bool *own)
{
	*own = false;
	if (made >= 0)
		return made;
	if (ctl->shmem_set)
		return set_add(ctl->shmem_set, ctl, shm, scratch) ?: ctl->shmem_set->objs[ctl->shmem_set->nr - 1].fd;
	*own = true;
	return open_made(ctl, shm, scratch);
}

/* Each VMA of hugetlb object @shm: a mapping of the object at its offset (mremap can't duplicate it). */
static int map_hugetlb_views(struct restore_ctl *ctl, const struct restore_image *ri, const struct restore_shmem *shm,
			     int made, uint64_t scratch)
{
	bool own;
	int fd = hugetlb_fd(ctl, shm, made, scratch, &own);
	long ret = fd < 0 ? fd : 0;

	for (size_t i = 0; !ret && i < ri->mm->n_vmas; i++) {
		const VmaEntry *v = ri->mm->vmas[i];

		if (!(v->status & VMA_ANON_SHARED) || v->shmid != shm->shmid)
			continue;
		ret = map_fd(ctl, fd, v->start, v->end - v->start, v->prot, (uint64_t)(MAP_SHARED | MAP_FIXED),
			     v->pgoff);
		if (ret >= 0 && (uint64_t)ret != v->start)
			ret = -EFAULT;
		if (ret < 0)
			pr_err("can't map the hugetlb memory %#llx-%#llx in process %d: %s\n",
			       (unsigned long long)v->start, (unsigned long long)v->end, ctl->pid, strerror((int)-ret));
		else
			ret = 0;
	}
	if (own && fd >= 0)
		close(fd);
	return (int)ret;
}

int restore_shmem_map(struct restore_ctl *ctl, const struct restore_image *ri, const struct restore_shmem *shm,
		      uint64_t scratch, int dirfd)
{
	int made = set_find(ctl->shmem_set, shm->shmid);
	struct fill_ctl fc = { .ctl = ctl, .base = scratch };
	long ret;

	/* Made up front: processes map objects concurrently and never add to the set. */
	if (made < 0 && ctl->shmem_set && ctl->shmem_set->complete) {
		pr_err("shared memory object %llu of process %d was not made with the tree's\n",
		       (unsigned long long)shm->shmid, ctl->pid);
		return -EINVAL;
	}

	if (made >= 0 && shm->hpage) {
		ret = map_hugetlb_views(ctl, ri, shm, made, scratch);
		if (!ret)
			pr_info("hugetlb object %llu: mapped, made before\n", (unsigned long long)shm->shmid);
		return (int)ret;
	}
	if (made >= 0)
		ret = map_fd(ctl, made, scratch, shm->size, (uint64_t)(PROT_READ | PROT_WRITE),
			     (uint64_t)(MAP_SHARED | MAP_FIXED_NOREPLACE), 0);
	else
		ret = restore_ctl_syscall(ctl, SYS_mmap, 6, scratch, shm->size, (uint64_t)(PROT_READ | PROT_WRITE),
					  (uint64_t)(MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE |
						     shm->huge_flags),
					  (uint64_t)-1, (uint64_t)0);
	if (ret < 0 || (uint64_t)ret != scratch) {
		pr_err("can't %s shared memory object %llu (%llu bytes) in process %d: %s\n",
		       made >= 0 ? "map the" : "create", (unsigned long long)shm->shmid, (unsigned long long)shm->size,
		       ctl->pid, ret < 0 ? strerror((int)-ret) : "mapped elsewhere");
		return ret < 0 ? (int)ret : -EFAULT;
	}
	ret = 0;
	if (made < 0)
		ret = fill(shm, dirfd, ctl->page_size, write_ctl, &fc);
	if (!ret && shm->hpage)
		ret = map_hugetlb_views(ctl, ri, shm, made, scratch);
	else if (!ret && made < 0 && ctl->shmem_set)
		ret = set_add(ctl->shmem_set, ctl, shm, scratch);
	for (size_t i = 0; !ret && !shm->hpage && i < ri->mm->n_vmas; i++) {
		const VmaEntry *v = ri->mm->vmas[i];

		if ((v->status & VMA_ANON_SHARED) && v->shmid == shm->shmid)
			ret = map_view(ctl, v, scratch);
	}
	if (!ret)
		ret = restore_ctl_syscall(ctl, SYS_munmap, 2, scratch, shm->size);
	if (ret < 0)
		return (int)ret;
	pr_info("shared memory object %llu: %s\n", (unsigned long long)shm->shmid,
		made >= 0 ? "mapped, made before" : "made");
	return 0;
}
