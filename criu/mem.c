/*
 * Private memory of a stopped process into pagemap-PID.img and pages-ID.img:
 * /proc/PID/pagemap says which pages exist, process_vm_readv copies their
 * contents, /proc/PID/mem what it refuses (PROT_NONE and write-only areas).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ngutil.h"
#include "dump-guard.h"
#include "image.h"
#include "mem.h"
#include "stats.h"

#define LOG_PREFIX "mem: "
#include "log.h"

/* /proc/PID/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PME_PRESENT (1ull << 63)
#define PME_SWAP (1ull << 62)
#define PME_FILE (1ull << 61)		/* a page of the file's page cache or of shared memory */
#define PME_EXCLUSIVE (1ull << 56)	/* mapped by this process only */
#define PME_PFN_MASK ((1ull << 55) - 1) /* the page frame when present (zero without CAP_SYS_ADMIN) */

#define PME_BATCH 4096 /* pagemap entries read at once */
#define COPY_PAGES 256 /* pages copied at once */

struct mem_dump {
	pid_t pid;
	size_t page_size;
	int pagemap_fd;
	int mem_fd;
	pid_t ppid;
	struct cr_img *pagemap;
	struct cr_img *pages;
	uint64_t *pme;
	int ppagemap_fd;     /* the parent's /proc/PID/pagemap, -1 when nothing is left to it */
	uint64_t *ppme;	     /* its entries for the same pages */
	const bool *cow_vma; /* per VMA: the restore premaps it inherited from the parent */
	char *buf;
	struct mem_dump_stats *stats;
	const struct dump_guard *guard;
};

/*
 * Copies @len bytes at @addr of the process into @buf: process_vm_readv, then
 * /proc/PID/mem for what it couldn't read (PROT_NONE or write-only pages, which
 * only the latter reads, as a debugger would). Pages that may be shared
 * copy-on-write with another process (@shared) are read through /proc/PID/mem
 * only: process_vm_readv pins the pages it reads, and the kernel gives a
 * process its own copy of a shared anonymous page before it lets it be pinned,
 * so the read would end the sharing (and double that memory).
 */
static int read_remote(struct mem_dump *md, void *buf, size_t len, uint64_t addr, bool shared)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n = shared ? 0 : process_vm_readv(md->pid, &local, 1, &remote, 1, 0);
	size_t done = n > 0 ? (size_t)n : 0;

	if (done == len)
		return 0;
	return ng_pread_full(md->mem_fd, (char *)buf + done, len - done, addr + done);
}

/*
 * The pagemap entry of @nr pages at @vaddr: in the pages image (PE_PRESENT), or the parent's
 * pages at the same addresses (@cow_parent: PE_PARENT and criu-ng's field, include/mem-cow.h).
 */
static int write_entry(struct mem_dump *md, uint64_t vaddr, uint64_t nr, bool cow_parent)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;

	pe.vaddr = vaddr;
	/* Both lengths: CRIU 4 reads nr_pages, older readers compat_nr_pages (runs stay under 2^32 pages). */
	pe.compat_nr_pages = (uint32_t)nr;
	pe.has_nr_pages = 1;
	pe.nr_pages = nr;
	pe.has_flags = 1;
	pe.flags = cow_parent ? PE_PARENT : PE_PRESENT;
	pe.has_cow_parent = cow_parent;
	pe.cow_parent = cow_parent;
	return img_write_entry(md->pagemap, &pe);
}

/* Writes the entry of @nr pages at @vaddr and copies their contents into the pages image. */
static int dump_run(struct mem_dump *md, uint64_t vaddr, uint64_t nr, bool shared)
{
	uint64_t start = stats_now_us();
	int ret;

	ret = write_entry(md, vaddr, nr, false);
	for (uint64_t done = 0; !ret && done < nr;) {
		uint64_t n = nr - done < COPY_PAGES ? nr - done : COPY_PAGES;
		uint64_t addr = vaddr + done * md->page_size;

		ret = dump_guard_check(md->guard);
		if (ret)
			break;
		ret = read_remote(md, md->buf, n * md->page_size, addr, shared);
		if (ret) {
			pr_err("can't read pages %#llx-%#llx of process %d: %s\n", (unsigned long long)addr,
			       (unsigned long long)(addr + n * md->page_size), md->pid, strerror(-ret));
			break;
		}
		ret = img_write_raw(md->pages, md->buf, n * md->page_size);
		done += n;
	}
	if (!ret)
		md->stats->pages_written += nr;
	md->stats->write_us += stats_now_us() - start;
	return ret;
}

enum page_kind {
	PAGE_NONE,   /* not dumped: never touched, or the file's */
	PAGE_OWN,    /* dumped into the pages image */
	PAGE_PARENT, /* the same frame as the parent's page at this address: left to it */
};

/* Page @e of the process, @pe the parent's at the same address (with @cow only). */
static enum page_kind page_kind(uint64_t e, uint64_t pe, bool cow)
{
	if (!(e & (PME_PRESENT | PME_SWAP)) || (e & PME_FILE))
		return PAGE_NONE;
	if (cow && (e & PME_PRESENT) && (pe & PME_PRESENT) && !(pe & (PME_FILE | PME_SWAP)) && (e & PME_PFN_MASK) &&
	    (e & PME_PFN_MASK) == (pe & PME_PFN_MASK))
		return PAGE_PARENT;
	return PAGE_OWN;
}

static int read_pme(struct mem_dump *md, int fd, pid_t pid, uint64_t *pme, uint64_t pg, uint64_t n)
{
	int ret = ng_pread_full(fd, pme, n * sizeof(uint64_t), pg * sizeof(uint64_t));

	if (ret)
		pr_err("can't read /proc/%d/pagemap at %#llx: %s\n", pid, (unsigned long long)(pg * md->page_size),
		       strerror(-ret));
	return ret;
}

struct run {
	enum page_kind kind;
	uint64_t start, len;
	bool shared; /* a page of the run may be shared with another process */
};

static int flush_run(struct mem_dump *md, struct run *r)
{
	int ret = 0;

	if (r->kind == PAGE_OWN)
		ret = dump_run(md, r->start * md->page_size, r->len, r->shared);
	else if (r->kind == PAGE_PARENT)
		ret = write_entry(md, r->start * md->page_size, r->len, true);
	if (!ret && r->kind == PAGE_PARENT)
		md->stats->pages_parent += r->len;
	*r = (struct run){ .kind = PAGE_NONE };
	return ret;
}

/* @cow: the VMA is premapped inherited at restore, so its pages that are the parent's are left to it. */
static int dump_vma(struct mem_dump *md, const struct vma_area *vma, bool cow)
{
	uint64_t first = vma->start / md->page_size, last = vma->end / md->page_size;
	struct run r = { .kind = PAGE_NONE };
	int ret = 0;

	md->stats->pages_scanned += last - first;
	for (uint64_t pg = first; !ret && pg < last;) {
		uint64_t n = last - pg < PME_BATCH ? last - pg : PME_BATCH;

		ret = dump_guard_check(md->guard);
		ret = ret ?: read_pme(md, md->pagemap_fd, md->pid, md->pme, pg, n);
		if (!ret && cow)
			ret = read_pme(md, md->ppagemap_fd, md->ppid, md->ppme, pg, n);
		for (uint64_t i = 0; !ret && i < n; i++) {
			uint64_t e = md->pme[i];
			enum page_kind k = page_kind(e, cow ? md->ppme[i] : 0, cow);

			if (r.kind != PAGE_NONE && (k != r.kind || r.len == UINT32_MAX))
				ret = flush_run(md, &r); /* a run that reached UINT32_MAX pages goes on in another */
			if (ret || k == PAGE_NONE)
				continue;
			if (r.kind == PAGE_NONE)
				r = (struct run){ .kind = k, .start = pg + i };
			r.len++;
			r.shared |= (e & PME_SWAP) || !(e & PME_EXCLUSIVE);
		}
		pg += n;
	}
	if (!ret)
		ret = flush_run(md, &r);
	return ret;
}

static int open_proc(pid_t pid, const char *name)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open %s", path);
		return -errno;
	}
	return fd;
}

static int dump_vmas(struct mem_dump *md, const struct vma_list *vmas, uint32_t pages_id)
{
	PagemapHead head = PAGEMAP_HEAD__INIT;
	uint64_t start = stats_now_us();
	int ret = 0;

	head.pages_id = pages_id;
	ret = img_write_entry(md->pagemap, &head);
	for (size_t i = 0; !ret && i < vmas->nr; i++) {
		const struct vma_area *v = &vmas->vmas[i];

		/*
		 * CRIU's restore reads the symbols of the dumped [vdso] from its pages to tell
		 * whether its host's vdso can take its place: all of them are dumped.
		 */
		if (v->status & VMA_AREA_VDSO) {
			md->stats->pages_scanned += (v->end - v->start) / md->page_size;
			ret = dump_run(md, v->start, (v->end - v->start) / md->page_size, false);
		} else if (vma_has_private_pages(v)) {
			ret = dump_vma(md, v, md->cow_vma && md->cow_vma[i]);
		}
	}
	md->stats->scan_us += stats_now_us() - start;
	return ret;
}

int mem_dump_pages(int dirfd, pid_t pid, const struct vma_list *vmas, uint32_t pages_id, const struct mem_cow_src *cow,
		   const struct dump_guard *guard, struct mem_dump_stats *stats)
{
	struct mem_dump md = {
		.pid = pid,
		.page_size = (size_t)sysconf(_SC_PAGESIZE),
		.stats = stats,
		.guard = guard,
		.ppagemap_fd = -1,
	};
	int ret, cret;

	md.pme = malloc(PME_BATCH * sizeof(*md.pme));
	md.buf = malloc(COPY_PAGES * md.page_size);
	if (!md.pme || !md.buf) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (cow) {
		md.ppme = malloc(PME_BATCH * sizeof(*md.ppme));
		if (!md.ppme) {
			ret = -ENOMEM;
			goto out_free;
		}
		md.ppagemap_fd = ret = open_proc(cow->parent, "pagemap");
		if (ret < 0)
			goto out_free;
		md.ppid = cow->parent;
		md.cow_vma = cow->vmas;
	}
	md.pagemap_fd = ret = open_proc(pid, "pagemap");
	if (ret < 0)
		goto out_close_ppagemap;
	md.mem_fd = ret = open_proc(pid, "mem");
	if (ret < 0)
		goto out_close_pagemap;
	ret = img_open(&md.pagemap, dirfd, IMG_WRITE, CR_IMG_PAGEMAP, (unsigned int)pid);
	if (ret)
		goto out_close_mem;
	ret = img_open(&md.pages, dirfd, IMG_WRITE, CR_IMG_PAGES, pages_id);
	if (ret)
		goto out_close_pagemap_img;

	ret = dump_vmas(&md, vmas, pages_id);
	stats->scan_us -= stats->write_us < stats->scan_us ? stats->write_us : stats->scan_us;
	if (!ret)
		pr_info("%llu of %llu pages dumped, %llu left to the parent (the same frames)\n",
			(unsigned long long)stats->pages_written, (unsigned long long)stats->pages_scanned,
			(unsigned long long)stats->pages_parent);

	cret = img_close(md.pages);
	ret = ret ?: cret;
out_close_pagemap_img:
	cret = img_close(md.pagemap);
	ret = ret ?: cret;
out_close_mem:
	close(md.mem_fd);
out_close_pagemap:
	close(md.pagemap_fd);
out_close_ppagemap:
	if (md.ppagemap_fd >= 0)
		close(md.ppagemap_fd);
out_free:
	free(md.ppme);
	free(md.buf);
	free(md.pme);
	return ret;
}

int pagemap_entry_normalize(PagemapEntry *pe)
{
	if (!pe->has_nr_pages) {
		pe->has_nr_pages = 1;
		pe->nr_pages = pe->compat_nr_pages;
	}
	if (pe->has_in_parent && pe->in_parent)
		pe->flags |= PE_PARENT;
	else if (!pe->has_flags)
		pe->flags = PE_PRESENT;
	pe->has_flags = 1;
	if (pagemap_entry_cow_parent(pe))
		return pe->flags == PE_PARENT ? 1 : -EINVAL;
	if ((pe->flags & PE_PARENT) || !(pe->flags & PE_PRESENT))
		return -EOPNOTSUPP;
	return 0;
}
