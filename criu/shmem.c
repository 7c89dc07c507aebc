/*
 * Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS, shown as "/dev/zero
 * (deleted)" or "[anon_shmem:NAME]") of a stopped process, as CRIU stores it:
 * one object per shmid (the inode of its shmem file, the vma_entry's shmid),
 * its pages in pagemap-shmem-SHMID.img (a pagemap_head naming a pages-ID.img of
 * its own, then one pagemap_entry per run, vaddr being the offset in the
 * object) and the contents in that pages-ID.img.
 *
 * The object is read through /proc/PID/map_files: SEEK_DATA/SEEK_HOLE on it
 * give the pages the object holds (resident or swapped out, wherever they are
 * mapped, and none never written or read), pread() their contents.
 *
 * A hugetlb object (MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB) is a hugetlbfs
 * file, which tells no holes (SEEK_DATA finds data everywhere) and reads its
 * holes as zeroes without filling them: it is read in huge pages, and those
 * all zero are left out, so that the restore doesn't take huge pages the
 * process never had. The runs are whole huge pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump-guard.h"
#include "image.h"
#include "mem.h"
#include "ngutil.h"
#include "shmem.h"
#include "stats.h"

#include "pagemap.pb-c.h"

#define LOG_PREFIX "shmem: "
#include "log.h"

#define COPY_PAGES 256 /* pages copied at once */

/* One object being dumped. */
struct shmem_obj {
	pid_t pid;
	uint64_t shmid;
	size_t page_size;
	int fd;		/* the object, opened through map_files */
	uint64_t size;	/* bytes dumped: what the VMAs reach of it */
	uint64_t hpage; /* a hugetlb object: its page size; 0 otherwise */
	char *hbuf;	/* one huge page, for the hugetlb ones */
	struct cr_img *pagemap;
	struct cr_img *pages;
	char *buf;
	struct shmem_dump_stats *stats;
	const struct dump_guard *guard;
};

/* The end of a file not a whole number of pages long is read as zeroes up to the end of its page. */
static int read_full(int fd, void *buf, size_t len, uint64_t off, size_t page_size)
{
	ssize_t n = ng_pread_upto(fd, buf, len, off);

	if (n < 0)
		return (int)n;
	if ((size_t)n < len && len - (size_t)n >= page_size)
		return -EIO;
	memset((char *)buf + n, 0, len - (size_t)n);
	return 0;
}

/* Writes the entry of @nr pages at offset @off and copies them into the pages image. */
static int dump_run(struct shmem_obj *so, uint64_t off, uint64_t nr)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;
	int ret;

	pe.vaddr = off;
	pe.compat_nr_pages = (uint32_t)nr;
	pe.has_nr_pages = 1;
	pe.nr_pages = nr;
	pe.has_flags = 1;
	pe.flags = PE_PRESENT;
	ret = img_write_entry(so->pagemap, &pe);
	for (uint64_t done = 0; !ret && done < nr;) {
		uint64_t n = nr - done < COPY_PAGES ? nr - done : COPY_PAGES;
		uint64_t pos = off + done * so->page_size;

		ret = dump_guard_check(so->guard);
		if (ret)
			break;
		ret = read_full(so->fd, so->buf, n * so->page_size, pos, so->page_size);
		if (ret) {
			pr_err("can't read bytes %#llx-%#llx of shared memory %llu of process %d: %s\n",
			       (unsigned long long)pos, (unsigned long long)(pos + n * so->page_size),
			       (unsigned long long)so->shmid, so->pid, strerror(-ret));
			break;
		}
		ret = img_write_raw(so->pages, so->buf, n * so->page_size);
		done += n;
	}
	if (!ret)
		so->stats->pages_written += nr;
	return ret;
}

/* Sets *@data..*@hole to the next run of pages holding data from @pos on; *@data == *@hole at the end. */
static int next_data(const struct shmem_obj *so, uint64_t pos, uint64_t *data, uint64_t *hole)
{
	off_t d, h;

	d = lseek(so->fd, (off_t)pos, SEEK_DATA);
	if (d < 0 && errno == ENXIO) {
		*data = *hole = so->size;
		return 0;
	}
	if (d < 0)
		return -errno;
	h = lseek(so->fd, d, SEEK_HOLE);
	if (h < 0)
		return -errno;
	*data = (uint64_t)d / so->page_size * so->page_size;
	*hole = ((uint64_t)h + so->page_size - 1) / so->page_size * so->page_size;
	if (*data > so->size)
		*data = so->size;
	if (*hole > so->size)
		*hole = so->size;
	return 0;
}

/* Whether the huge page at @off of the object holds anything but zeroes. */
static int hugepage_used(struct shmem_obj *so, uint64_t off, bool *used)
{
	int ret = read_full(so->fd, so->hbuf, so->hpage, off, so->page_size);

	*used = false;
	for (size_t i = 0; !ret && i < so->hpage; i += sizeof(uint64_t)) {
		if (*(const uint64_t *)(so->hbuf + i)) {
			*used = true;
			break;
		}
	}
	return ret;
}

/* next_data() of a hugetlb object: the next run of huge pages not all zero. */
static int next_used(struct shmem_obj *so, uint64_t pos, uint64_t *data, uint64_t *hole)
{
	bool used = false;
	int ret = 0;

	*data = *hole = so->size;
	for (uint64_t off = pos; !ret && off < so->size; off += so->hpage) {
		ret = dump_guard_check(so->guard) ?: hugepage_used(so, off, &used);
		if (!ret && used && *data == so->size)
			*data = off;
		if (!ret && !used && *data != so->size) {
			*hole = off;
			break;
		}
	}
	return ret;
}

static int dump_object(struct shmem_obj *so)
{
	uint64_t pos = 0, data = 0, hole = 0;
	int ret = 0;

	so->stats->pages_scanned += so->size / so->page_size;
	while (!ret && pos < so->size) {
		ret = so->hpage ? next_used(so, pos, &data, &hole) : next_data(so, pos, &data, &hole);
		if (ret) {
			pr_err("can't find the pages of shared memory %llu of process %d: %s\n",
			       (unsigned long long)so->shmid, so->pid, strerror(-ret));
			break;
		}
		if (data >= hole)
			break;
		/* An entry holds at most UINT32_MAX pages: longer runs take several. */
		for (uint64_t off = data; !ret && off < hole;) {
			uint64_t nr = (hole - off) / so->page_size;

			if (nr > UINT32_MAX)
				nr = UINT32_MAX;
			ret = dump_run(so, off, nr);
			off += nr * so->page_size;
		}
		pos = hole;
	}
	return ret;
}

/* Opens the object behind @vma through map_files and bounds what is dumped by its size. */
static int open_object(struct shmem_obj *so, const struct vma_area *vma)
{
	char path[96];
	struct stat st;
	uint64_t isize;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", so->pid, (unsigned long long)vma->start,
		 (unsigned long long)vma->end);
	so->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (so->fd < 0) {
		pr_perror("Can't open %s", path);
		return -errno;
	}
	if (fstat(so->fd, &st) < 0) {
		pr_perror("Can't stat %s", path);
		close(so->fd);
		return -errno;
	}
	if ((uint64_t)st.st_ino != so->shmid) {
		pr_err("%s is inode %llu, its maps line said %llu: the mapping changed\n", path,
		       (unsigned long long)st.st_ino, (unsigned long long)so->shmid);
		close(so->fd);
		return -ESTALE;
	}
	/* Past the end of the file a mapping only gives SIGBUS: nothing there to dump. */
	isize = ((uint64_t)st.st_size + so->page_size - 1) / so->page_size * so->page_size;
	if (so->size > isize)
		so->size = isize;
	return 0;
}

/* Writes pagemap-shmem-SHMID.img and pages-@pages_id.img of the object open at so->fd. */
static int write_object(int dirfd, struct shmem_obj *so, uint32_t pages_id)
{
	PagemapHead head = PAGEMAP_HEAD__INIT;
	int ret, cret;

	ret = img_open(&so->pagemap, dirfd, IMG_WRITE, CR_IMG_SHMEM_PAGEMAP, (unsigned long long)so->shmid);
	if (ret)
		return ret;
	ret = img_open(&so->pages, dirfd, IMG_WRITE, CR_IMG_PAGES, pages_id);
	if (ret)
		goto out_close_pagemap;
	head.pages_id = pages_id;
	ret = img_write_entry(so->pagemap, &head);
	if (!ret)
		ret = dump_object(so);
	cret = img_close(so->pages);
	ret = ret ?: cret;
out_close_pagemap:
	cret = img_close(so->pagemap);
	return ret ?: cret;
}

/* Dumps the object of shmid @vmas->vmas[@first].ino, reached by the VMAs from @first on. */
static int dump_one(int dirfd, struct shmem_obj *so, const struct vma_list *vmas, size_t first, uint32_t pages_id)
{
	int ret;

	so->size = 0;
	for (size_t i = first; i < vmas->nr; i++) {
		const struct vma_area *v = &vmas->vmas[i];

		uint64_t reach = v->pgoff + v->end - v->start;

		if ((v->status & VMA_ANON_SHARED) && (uint64_t)v->ino == so->shmid && reach > so->size)
			so->size = reach;
	}
	so->hpage = vma_flags_hugepage(vmas->vmas[first].flags);
	if (so->hpage && (so->hpage % so->page_size || so->size % so->hpage)) {
		pr_err("shared memory %llu of process %d: %llu bytes of huge pages of %llu bytes\n",
		       (unsigned long long)so->shmid, so->pid, (unsigned long long)so->size,
		       (unsigned long long)so->hpage);
		return -EINVAL;
	}
	ret = open_object(so, &vmas->vmas[first]);
	if (ret)
		return ret;
	if (so->hpage) {
		so->hbuf = malloc(so->hpage);
		if (!so->hbuf)
			ret = -ENOMEM;
	}
	if (!ret)
		ret = write_object(dirfd, so, pages_id);
	free(so->hbuf);
	so->hbuf = NULL;
	close(so->fd);
	return ret;
}

int shmem_dump_file(int dirfd, pid_t pid, int fd, uint64_t shmid, uint64_t size, uint64_t hpage, uint32_t pages_id,
		    const struct dump_guard *guard, struct shmem_dump_stats *stats)
{
	struct shmem_obj so = {
		.pid = pid,
		.shmid = shmid,
		.page_size = (size_t)sysconf(_SC_PAGESIZE),
		.fd = fd,
		.hpage = hpage,
		.stats = stats,
		.guard = guard,
	};
	uint64_t start = stats_now_us(), unit = hpage ?: so.page_size;
	int ret;

	so.size = (size + unit - 1) / unit * unit;
	so.buf = malloc(COPY_PAGES * so.page_size);
	so.hbuf = hpage ? malloc(hpage) : NULL;
	if (!so.buf || (hpage && !so.hbuf)) {
		free(so.buf);
		free(so.hbuf);
		return -ENOMEM;
	}
	ret = write_object(dirfd, &so, pages_id);
	free(so.hbuf);
	free(so.buf);
	stats->us += stats_now_us() - start;
	return ret;
}

/* True when a VMA before @idx maps the same object as @idx: it was dumped with that one. */
static bool seen_before(const struct vma_list *vmas, size_t idx)
{
	for (size_t i = 0; i < idx; i++)
		if ((vmas->vmas[i].status & VMA_ANON_SHARED) && vmas->vmas[i].ino == vmas->vmas[idx].ino)
			return true;
	return false;
}

int shmem_dump(int dirfd, pid_t pid, const struct vma_list *vmas, uint32_t *next_pages_id,
	       const struct dump_guard *guard, struct shmem_dump_stats *stats)
{
	struct shmem_obj so = {
		.pid = pid,
		.page_size = (size_t)sysconf(_SC_PAGESIZE),
		.stats = stats,
		.guard = guard,
	};
	uint64_t start = stats_now_us();
	unsigned int nr = 0;
	int ret = 0;

	for (size_t i = 0; !ret && i < vmas->nr; i++) {
		if (!(vmas->vmas[i].status & VMA_ANON_SHARED) || seen_before(vmas, i))
			continue;
		if (!so.buf) {
			so.buf = malloc(COPY_PAGES * so.page_size);
			if (!so.buf)
				return -ENOMEM;
		}
		so.shmid = (uint64_t)vmas->vmas[i].ino;
		ret = dump_one(dirfd, &so, vmas, i, *next_pages_id);
		if (!ret) {
			(*next_pages_id)++;
			nr++;
		}
	}
	free(so.buf);
	stats->us += stats_now_us() - start;
	if (!ret && nr)
		pr_info("%u shared memory object(s): %llu of %llu pages dumped\n", nr,
			(unsigned long long)stats->pages_written, (unsigned long long)stats->pages_scanned);
	return ret;
}
