/*
 * criu restore: shared anonymous memory (see include/restore-shmem.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image.h"
#include "mem.h"
#include "restore-shmem.h"
#include "vma.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define FILL_PAGES 256
#define MAX_RUNS (1u << 24)

static struct restore_shmem *find_shmem(const struct restore_image *ri, uint64_t shmid)
{
	for (size_t i = 0; i < ri->nr_shmems; i++)
		if (ri->shmems[i].shmid == shmid)
			return &ri->shmems[i];
	return NULL;
}

static int add_run(struct restore_shmem *shm, PagemapEntry *pe, const char *name, size_t page_size)
{
	uint64_t len = (uint64_t)pe->nr_pages * page_size;
	PagemapEntry **runs;

	if ((pe->has_in_parent && pe->in_parent) || (pe->has_flags && (pe->flags & (PE_PARENT | PE_LAZY))) ||
	    !pe->nr_pages || pe->vaddr % page_size || pe->vaddr + len < pe->vaddr || pe->vaddr + len > shm->size ||
	    shm->nr_runs >= MAX_RUNS) {
		pr_err("%s: entry %zu: %u pages at offset %#llx don't fit the %llu bytes of the object\n", name,
		       shm->nr_runs + 1, pe->nr_pages, (unsigned long long)pe->vaddr, (unsigned long long)shm->size);
		return -EINVAL;
	}
	runs = realloc(shm->runs, (shm->nr_runs + 1) * sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	shm->runs = runs;
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
		ret = add_run(shm, msg, img_name(img), page_size);
		if (ret)
			img_free_entry(msg);
	}
	img_close(img);
	return ret ?: check_pages_size(dirfd, shm, page_size);
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

	for (size_t i = 0; i < ri->mm->n_vmas; i++) {
		const VmaEntry *v = ri->mm->vmas[i];
		struct restore_shmem *shm, *all;

		if (!(v->status & VMA_ANON_SHARED))
			continue;
		shm = find_shmem(ri, v->shmid);
		if (!shm) {
			all = realloc(ri->shmems, (ri->nr_shmems + 1) * sizeof(*all));
			if (!all)
				return -ENOMEM;
			ri->shmems = all;
			shm = &ri->shmems[ri->nr_shmems++];
			memset(shm, 0, sizeof(*shm));
			shm->shmid = v->shmid;
		}
		if (v->pgoff + (v->end - v->start) > shm->size)
			shm->size = v->pgoff + (v->end - v->start);
	}
	for (size_t i = 0; i < ri->nr_shmems; i++) {
		int ret = load_one(dirfd, &ri->shmems[i], page_size);

		if (ret)
			return ret;
	}
	return 0;
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
	int fd = *(int *)arg;

	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

int restore_shmem_fill_fd(int dirfd, const struct restore_shmem *shm, int fd)
{
	int ret = fill(shm, dirfd, (size_t)sysconf(_SC_PAGESIZE), write_fd, &fd);

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

int restore_shmem_map(struct restore_ctl *ctl, const struct restore_image *ri, const struct restore_shmem *shm,
		      uint64_t scratch, int dirfd)
{
	struct fill_ctl fc = { .ctl = ctl, .base = scratch };
	long ret;

	ret = restore_ctl_syscall(ctl, SYS_mmap, 6, scratch, shm->size, (uint64_t)(PROT_READ | PROT_WRITE),
				  (uint64_t)(MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE), (uint64_t)-1,
				  (uint64_t)0);
	if (ret < 0 || (uint64_t)ret != scratch) {
		pr_err("can't create shared memory object %llu (%llu bytes) in process %d: %s\n",
		       (unsigned long long)shm->shmid, (unsigned long long)shm->size, ctl->pid,
		       ret < 0 ? strerror((int)-ret) : "mapped elsewhere");
		return ret < 0 ? (int)ret : -EFAULT;
	}
	ret = fill(shm, dirfd, ctl->page_size, write_ctl, &fc);
	for (size_t i = 0; !ret && i < ri->mm->n_vmas; i++) {
		const VmaEntry *v = ri->mm->vmas[i];

		if ((v->status & VMA_ANON_SHARED) && v->shmid == shm->shmid)
			ret = map_view(ctl, v, scratch);
	}
	if (!ret)
		ret = restore_ctl_syscall(ctl, SYS_munmap, 2, scratch, shm->size);
	if (ret < 0)
		return (int)ret;
	pr_info("shared memory object %llu: %llu pages restored\n", (unsigned long long)shm->shmid,
		(unsigned long long)shm->nr_pages);
	return 0;
}
