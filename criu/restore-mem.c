/*
 * criu restore: rebuilding the address space of the stopped process with
 * injected syscalls (see include/restore-mem.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <linux/prctl.h>

#include "image.h"
#include "mem.h"
#include "ngutil.h"
#include "restore-cow.h"
#include "restore-mem.h"
#include "restore-shmem.h"
#include "vma.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#define RSEQ_FLAG_UNREGISTER 1

#define GAP_LOW 0x10000000ull	      /* the trampoline and the vdso in transit stay above this */
#define GAP_HIGH 0x7ffffffff000ull    /* TASK_SIZE_MAX of x86-64, 4-level paging */
#define FILL_PAGES 256		      /* pages copied at once */
#define TRAMP_MM_MAP TRAMP_DATA	      /* the prctl_mm_map in the trampoline */
#define TRAMP_AUXV (TRAMP_DATA + 256) /* the auxv it points to */

static const unsigned char tramp_code[] = { 0x0f, 0x05, 0xcc }; /* syscall; int3 */

struct range {
	uint64_t start;
	uint64_t end;
};

struct ranges {
	struct range *r;
	size_t nr;
};

static int ranges_add(struct ranges *rs, uint64_t start, uint64_t end)
{
	struct range *r = realloc(rs->r, (rs->nr + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	rs->r = r;
	rs->r[rs->nr].start = start;
	rs->r[rs->nr++].end = end;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The middle of the largest hole of @rs (sorted here) between GAP_LOW and GAP_HIGH, if @size fits. */
static int ranges_find_gap(struct ranges *rs, uint64_t size, size_t page_size, uint64_t *addr)
{
	uint64_t prev = GAP_LOW, best_start = 0, best_len = 0;

	if (rs->nr)
		qsort(rs->r, rs->nr, sizeof(*rs->r), cmp_range);
	for (size_t i = 0; i <= rs->nr; i++) {
		uint64_t start = i < rs->nr ? rs->r[i].start : GAP_HIGH;

		if (start > GAP_HIGH)
			start = GAP_HIGH;
		if (start > prev && start - prev > best_len) {
			best_start = prev;
			best_len = start - prev;
		}
		if (i < rs->nr && rs->r[i].end > prev)
			prev = rs->r[i].end;
	}
	if (best_len < size + 2 * page_size) {
		pr_err("no hole of %llu bytes left in the address space\n", (unsigned long long)size);
		return -ENOMEM;
	}
	*addr = (best_start + (best_len - size) / 2) & ~((uint64_t)page_size - 1);
	return 0;
}

int restore_mem_gap(const uint64_t *busy, size_t nr, uint64_t size, size_t page_size, uint64_t *addr)
{
	struct ranges rs = { 0 };
	int ret = 0;

	for (size_t i = 0; !ret && i < nr; i++)
		ret = ranges_add(&rs, busy[2 * i], busy[2 * i + 1]);
	if (!ret)
		ret = ranges_find_gap(&rs, size, page_size, addr);
	free(rs.r);
	return ret;
}

/* Busy ranges: the dumped VMAs, the process's current ones, and the trampoline. */
static int busy_ranges(const struct restore_ctl *ctl, const struct restore_image *ri, const struct vma_list *cur,
		       struct ranges *rs)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < ri->mm->n_vmas; i++)
		ret = ranges_add(rs, ri->mm->vmas[i]->start, ri->mm->vmas[i]->end);
	for (size_t i = 0; !ret && cur && i < cur->nr; i++)
		ret = ranges_add(rs, cur->vmas[i].start, cur->vmas[i].end);
	if (!ret && ctl->tramp)
		ret = ranges_add(rs, ctl->tramp, ctl->tramp + ctl->page_size);
	return ret;
}

/* find_gap() at a multiple of @align (a page size). */
static int find_gap_aligned(const struct restore_ctl *ctl, const struct restore_image *ri, const struct vma_list *cur,
			    uint64_t size, size_t align, uint64_t *addr)
{
	struct ranges rs = { 0 };
	int ret = busy_ranges(ctl, ri, cur, &rs);

	if (!ret)
		ret = ranges_find_gap(&rs, size, align, addr);
	free(rs.r);
	return ret;
}

static int find_gap(const struct restore_ctl *ctl, const struct restore_image *ri, const struct vma_list *cur,
		    uint64_t size, uint64_t *addr)
{
	return find_gap_aligned(ctl, ri, cur, size, ctl->page_size, addr);
}

/* criu's rseq area is about to disappear: the kernel must stop writing into it. */
static int unregister_rseq(struct restore_ctl *ctl)
{
	struct {
		uint64_t ptr;
		uint32_t size;
		uint32_t sig;
		uint32_t flags;
		uint32_t pad;
	} conf = { 0 };
	long ret;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, ctl->pid, (void *)sizeof(conf), &conf) < 0 || !conf.ptr)
		return 0;
	ret = restore_ctl_syscall(ctl, SYS_rseq, 4, conf.ptr, (uint64_t)conf.size, (uint64_t)RSEQ_FLAG_UNREGISTER,
				  (uint64_t)conf.sig);
	if (ret < 0) {
		pr_err("can't unregister criu's rseq area in process %d: %s\n", ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

static int map_trampoline(struct restore_ctl *ctl, const struct restore_image *ri, const struct vma_list *cur)
{
	uint64_t addr;
	long ret;

	ret = find_gap(ctl, ri, cur, ctl->page_size, &addr);
	if (ret)
		return (int)ret;
	ret = restore_ctl_syscall(ctl, SYS_mmap, 6, addr, (uint64_t)ctl->page_size,
				  (uint64_t)(PROT_READ | PROT_WRITE | PROT_EXEC),
				  (uint64_t)(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE), (uint64_t)-1,
				  (uint64_t)0);
	if (ret < 0 || (uint64_t)ret != addr) {
		pr_err("can't map the trampoline at %#llx in process %d: %s\n", (unsigned long long)addr, ctl->pid,
		       ret < 0 ? strerror((int)-ret) : "mapped elsewhere");
		return ret < 0 ? (int)ret : -EFAULT;
	}
	ret = restore_ctl_write(ctl, addr, tramp_code, sizeof(tramp_code));
	if (ret)
		return (int)ret;
	ctl->tramp = addr;
	ctl->inj.syscall_ip = addr;
	pr_debug("trampoline at %#llx\n", (unsigned long long)addr);
	return 0;
}

static int is_kernel_area(const struct vma_area *v)
{
	return !!(v->status & (VMA_AREA_VDSO | VMA_AREA_VVAR | VMA_AREA_VSYSCALL));
}

static int unmap_criu(struct restore_ctl *ctl, const struct vma_list *cur)
{
	for (size_t i = 0; i < cur->nr; i++) {
		const struct vma_area *v = &cur->vmas[i];
		int ret;

		if (is_kernel_area(v))
			continue;
		/* Every mapping but the areas premapped before the fork (restore-cow.h). */
		ret = restore_cow_unmap(ctl, ctl->cow, v->start, v->end);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The kernel's vdso and vvar areas of the process (cur) and of the images (dumped), in
 * address order. Each side is one block of adjacent areas. The kernel splits its vvar
 * into [vvar] and [vvar_vclock] (Linux 6.12 and later) where CRIU's images have one
 * vvar area: the blocks match when they have the same size and the vdso lies at the
 * same offset in both, with the same size.
 */
struct vdso_areas {
	const struct vma_area *cur[8];
	size_t nr_cur;
	const VmaEntry *dumped[8];
	size_t nr_dumped;
};

/* Where the vdso lies in a block: its offset from the block's start and its size. */
struct vdso_layout {
	uint64_t size;
	uint64_t vdso_off;
	uint64_t vdso_size;
	bool contiguous;
};

static void layout_add(struct vdso_layout *l, uint64_t base, uint64_t *end, uint64_t start, uint64_t stop, bool vdso)
{
	if (*end && start != *end)
		l->contiguous = false;
	*end = stop;
	l->size = stop - base;
	if (vdso) {
		if (!l->vdso_size)
			l->vdso_off = start - base;
		l->vdso_size += stop - start;
	}
}

static int vdso_collect(const struct restore_image *ri, const struct vma_list *cur, struct vdso_areas *va)
{
	uint32_t mask = VMA_AREA_VDSO | VMA_AREA_VVAR;
	struct vdso_layout lc = { .contiguous = true }, ld = { .contiguous = true };
	uint64_t end = 0;

	for (size_t i = 0; i < cur->nr; i++) {
		if (!(cur->vmas[i].status & mask))
			continue;
		if (va->nr_cur == 8)
			return -E2BIG;
		va->cur[va->nr_cur++] = &cur->vmas[i];
	}
	for (size_t i = 0; i < ri->mm->n_vmas; i++) {
		if (!(ri->mm->vmas[i]->status & mask))
			continue;
		if (va->nr_dumped == 8)
			return -E2BIG;
		va->dumped[va->nr_dumped++] = ri->mm->vmas[i];
	}
	if (!va->nr_dumped)
		return 0;
	if (!va->nr_cur)
		return -EINVAL;
	for (size_t i = 0; i < va->nr_cur; i++)
		layout_add(&lc, va->cur[0]->start, &end, va->cur[i]->start, va->cur[i]->end,
			   va->cur[i]->status & VMA_AREA_VDSO);
	end = 0;
	for (size_t i = 0; i < va->nr_dumped; i++)
		layout_add(&ld, va->dumped[0]->start, &end, va->dumped[i]->start, va->dumped[i]->end,
			   va->dumped[i]->status & VMA_AREA_VDSO);
	if (!lc.contiguous || !ld.contiguous || lc.size != ld.size || lc.vdso_off != ld.vdso_off ||
	    lc.vdso_size != ld.vdso_size)
		return -EINVAL;
	return 0;
}

/* Moves the vdso/vvar block from @from to @to with mremap, area by area. */
static int vdso_move(struct restore_ctl *ctl, const struct vdso_areas *va, uint64_t from, uint64_t to)
{
	for (size_t i = 0; i < va->nr_cur; i++) {
		uint64_t off = va->cur[i]->start - va->cur[0]->start, len = va->cur[i]->end - va->cur[i]->start;
		long ret = restore_ctl_syscall(ctl, SYS_mremap, 5, from + off, len, len,
					       (uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED), to + off);

		if (ret < 0 || (uint64_t)ret != to + off) {
			pr_err("can't move the vdso/vvar area %#llx to %#llx in process %d: %s\n",
			       (unsigned long long)(from + off), (unsigned long long)(to + off), ctl->pid,
			       ret < 0 ? strerror((int)-ret) : "moved elsewhere");
			return ret < 0 ? (int)ret : -EFAULT;
		}
	}
	return 0;
}

static int restore_vdso(struct restore_ctl *ctl, const struct restore_image *ri, const struct vma_list *cur)
{
	struct vdso_areas va = { 0 };
	uint64_t from, to, size, tmp;
	int ret;

	ret = vdso_collect(ri, cur, &va);
	if (ret) {
		pr_err("the vdso and vvar areas of the dump (%zu, %#llx-%#llx) don't match this kernel's (%zu): not "
		       "supported yet\n",
		       va.nr_dumped, va.nr_dumped ? (unsigned long long)va.dumped[0]->start : 0ull,
		       va.nr_dumped ? (unsigned long long)va.dumped[va.nr_dumped - 1]->end : 0ull, va.nr_cur);
		return -EOPNOTSUPP;
	}
	if (!va.nr_dumped) {
		for (size_t i = 0; i < va.nr_cur; i++)
			if (restore_ctl_syscall(ctl, SYS_munmap, 2, va.cur[i]->start,
						va.cur[i]->end - va.cur[i]->start) < 0)
				return -EFAULT;
		return 0;
	}
	from = va.cur[0]->start;
	to = va.dumped[0]->start;
	size = va.cur[va.nr_cur - 1]->end - from;
	if (from == to)
		return 0;
	if (to < from + size && from < to + size) {
		/* The block overlaps itself at its destination: go through a free place. */
		ret = find_gap(ctl, ri, cur, size, &tmp);
		if (!ret)
			ret = vdso_move(ctl, &va, from, tmp);
		if (ret)
			return ret;
		from = tmp;
	}
	ret = vdso_move(ctl, &va, from, to);
	if (!ret)
		pr_debug("vdso block moved to %#llx\n", (unsigned long long)to);
	return ret;
}

static int map_vma(struct restore_ctl *ctl, const struct restore_image *ri, const struct restore_fds *fds,
		   const VmaEntry *v)
{
	uint64_t flags = (v->flags & (VMA_MAP_TYPE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_NORESERVE | MAP_HUGETLB |
				      VMA_HUGE_MASK)) |
			 MAP_FIXED;
	uint64_t fd = (uint64_t)-1, off = 0;
	long ret;

	if (v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
		fd = (uint64_t)restore_fds_get(fds, ri, (uint32_t)v->shmid);
		off = v->pgoff;
		flags &= ~(uint64_t)MAP_ANONYMOUS;
	} else {
		flags |= MAP_ANONYMOUS;
	}
	ret = restore_ctl_syscall(ctl, SYS_mmap, 6, v->start, v->end - v->start, (uint64_t)v->prot, flags, fd, off);
	if (ret < 0 || (uint64_t)ret != v->start) {
		const RegFileEntry *f = restore_images_file(ri, (uint32_t)v->shmid);

		pr_err("can't map %#llx-%#llx (%s) in process %d: %s\n", (unsigned long long)v->start,
		       (unsigned long long)v->end, fd == (uint64_t)-1 || !f ? "anonymous" : f->name, ctl->pid,
		       ret < 0 ? strerror((int)-ret) : "mapped elsewhere");
		return ret < 0 ? (int)ret : -EFAULT;
	}
	return 0;
}

static int map_vmas(struct restore_ctl *ctl, const struct restore_image *ri, const struct restore_fds *fds)
{
	for (size_t i = 0; i < ri->mm->n_vmas; i++) {
		int ret;

		if (restore_vma_is_special(ri->mm->vmas[i]) || (ri->mm->vmas[i]->status & VMA_ANON_SHARED) ||
		    restore_cow_find(ctl->cow, ri->mm->vmas[i]))
			continue;
		ret = map_vma(ctl, ri, fds, ri->mm->vmas[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The shared anonymous objects, each made in a free place first (restore-shmem.c). */
static int map_shmems(struct restore_ctl *ctl, const struct restore_image *ri, int dirfd)
{
	for (size_t i = 0; i < ri->nr_shmems; i++) {
		uint64_t scratch;
		int ret;

		/* a hugetlb object is mapped at a multiple of its page size */
		ret = find_gap_aligned(ctl, ri, NULL, ri->shmems[i].size, ri->shmems[i].hpage ?: ctl->page_size,
				       &scratch);
		if (!ret)
			ret = restore_shmem_map(ctl, ri, &ri->shmems[i], scratch, dirfd);
		if (ret)
			return ret;
	}
	return 0;
}

/* Where the pages at @addr are already in place: the kernel's vdso, or an area premapped before the fork. */
static bool fill_skips(const struct restore_ctl *ctl, const VmaEntry *v)
{
	/*
	 * CRIU dumps the pages of [vdso]; the kernel's own vdso, moved where the dump had
	 * it (restore_vdso), takes their place, so they are read past.
	 */
	return v && (restore_vma_is_special(v) || restore_cow_find(ctl->cow, v));
}

static int fill_pages(struct restore_ctl *ctl, const struct restore_image *ri, int dirfd)
{
	size_t chunk = FILL_PAGES * ctl->page_size;
	uint64_t off = 0, skipped = 0;
	struct cr_img *img;
	char *buf;
	int ret;

	buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_PAGES, ri->pages_id);
	if (ret)
		goto out_free;
	for (size_t i = 0; !ret && i < ri->nr_pagemap; i++) {
		uint64_t addr = ri->pagemap[i]->vaddr, left = ri->pagemap[i]->nr_pages * ctl->page_size;

		/* The parent's pages, inherited in premapped areas (criu/mem/cow.c): none in the image. */
		if (pagemap_entry_cow_parent(ri->pagemap[i]))
			continue;
		while (!ret && left) {
			const VmaEntry *v = restore_images_vma_at(ri->mm, addr);
			size_t n = left < chunk ? (size_t)left : chunk;

			if (v && v->end - addr < n)
				n = (size_t)(v->end - addr); /* a run may go on into the next VMA */
			if (fill_skips(ctl, v)) {
				skipped += n;
			} else {
				ret = ng_pread_full(img_raw_fd(img), buf, n, off);
				if (ret)
					pr_err("%s: can't read %zu bytes at %llu: %s\n", img_name(img), n,
					       (unsigned long long)off, strerror(-ret));
				else
					ret = restore_ctl_write(ctl, addr, buf, n);
			}
			addr += n;
			off += n;
			left -= n;
		}
	}
	img_close(img);
	if (!ret)
		pr_info("%llu pages restored, %llu already in place\n",
			(unsigned long long)(ri->nr_pages - skipped / ctl->page_size),
			(unsigned long long)(skipped / ctl->page_size));
out_free:
	free(buf);
	return ret;
}

/* The madvise() states that restore as they are; failures only cost performance hints. */
static void apply_madvise(struct restore_ctl *ctl, const struct restore_image *ri)
{
	static const int advices[] = { MADV_RANDOM,   MADV_SEQUENTIAL, MADV_DONTFORK, MADV_MERGEABLE,
				       MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_WIPEONFORK };

	for (size_t i = 0; i < ri->mm->n_vmas; i++) {
		const VmaEntry *v = ri->mm->vmas[i];

		if (!v->has_madv || restore_vma_is_special(v))
			continue;
		for (size_t a = 0; a < sizeof(advices) / sizeof(advices[0]); a++) {
			long ret;

			if (!(v->madv & (1ull << advices[a])))
				continue;
			ret = restore_ctl_syscall(ctl, SYS_madvise, 3, v->start, v->end - v->start,
						  (uint64_t)advices[a]);
			if (ret < 0)
				pr_warn("madvise(%d) on %#llx-%#llx failed: %s\n", advices[a],
					(unsigned long long)v->start, (unsigned long long)v->end, strerror((int)-ret));
		}
	}
}

/*
 * The areas that were locked in memory (mlock() or MAP_LOCKED), locked again
 * once their pages are in (mlock faults in the rest). The process still has
 * criu's privileges here, so its RLIMIT_MEMLOCK doesn't apply, as when a
 * process locks memory before giving root up.
 */
static int lock_vmas(struct restore_ctl *ctl, const struct restore_image *ri)
{
	for (size_t i = 0; i < ri->mm->n_vmas; i++) {
		const VmaEntry *v = ri->mm->vmas[i];
		long ret;

		if (!(v->flags & MAP_LOCKED) || restore_vma_is_special(v))
			continue;
		/* Locked on fault: only the pages it holds, the others as they come, as before. */
		if (v->has_lock_onfault && v->lock_onfault)
			ret = restore_ctl_syscall(ctl, SYS_mlock2, 3, v->start, v->end - v->start,
						  (uint64_t)MLOCK_ONFAULT);
		else
			ret = restore_ctl_syscall(ctl, SYS_mlock, 2, v->start, v->end - v->start);
		if (ret < 0) {
			pr_err("can't lock %#llx-%#llx in memory in process %d: %s\n", (unsigned long long)v->start,
			       (unsigned long long)v->end, ctl->pid, strerror((int)-ret));
			return (int)ret;
		}
	}
	return 0;
}

#ifndef SYS_mseal
#define SYS_mseal 462
#endif

/* The areas sealed with mseal() (vma_entry.sealed), sealed again last, once nothing here changes them. */
static int seal_vmas(struct restore_ctl *ctl, const struct restore_image *ri)
{
	for (size_t i = 0; i < ri->mm->n_vmas; i++) {
		const VmaEntry *v = ri->mm->vmas[i];
		long ret;

		if (!v->has_sealed || !v->sealed || restore_vma_is_special(v))
			continue;
		ret = restore_ctl_syscall(ctl, SYS_mseal, 3, v->start, v->end - v->start, (uint64_t)0);
		if (ret < 0) {
			pr_err("can't seal %#llx-%#llx in process %d: %s\n", (unsigned long long)v->start,
			       (unsigned long long)v->end, ctl->pid, strerror((int)-ret));
			return (int)ret;
		}
	}
	return 0;
}

/* brk, stack, arguments, environment, auxv and the exe link, all at once. */
static int set_mm(struct restore_ctl *ctl, const struct restore_image *ri, const struct restore_fds *fds)
{
	const MmEntry *mm = ri->mm;
	struct prctl_mm_map map = {
		.start_code = mm->mm_start_code,
		.end_code = mm->mm_end_code,
		.start_data = mm->mm_start_data,
		.end_data = mm->mm_end_data,
		.start_brk = mm->mm_start_brk,
		.brk = mm->mm_brk,
		.start_stack = mm->mm_start_stack,
		.arg_start = mm->mm_arg_start,
		.arg_end = mm->mm_arg_end,
		.env_start = mm->mm_env_start,
		.env_end = mm->mm_env_end,
	};
	uint64_t map_addr, auxv_addr;
	int exe_fd = mm->exe_file_id ? restore_fds_get(fds, ri, mm->exe_file_id) : -1;
	long ret;

	map.exe_fd = (uint32_t)exe_fd;
	map.auxv_size = (uint32_t)(mm->n_mm_saved_auxv * sizeof(uint64_t));
	ret = restore_ctl_put_data(ctl, TRAMP_AUXV, mm->mm_saved_auxv, map.auxv_size, &auxv_addr);
	if (ret)
		return (int)ret;
	map.auxv = map.auxv_size ? (__u64 *)(uintptr_t)auxv_addr : NULL;
	ret = restore_ctl_put_data(ctl, TRAMP_MM_MAP, &map, sizeof(map), &map_addr);
	if (!ret)
		ret = restore_ctl_syscall(ctl, SYS_prctl, 5, (uint64_t)PR_SET_MM, (uint64_t)PR_SET_MM_MAP, map_addr,
					  (uint64_t)sizeof(map), (uint64_t)0);
	if (ret == -EPERM && exe_fd >= 0) {
		/* Changing the exe link takes CAP_CHECKPOINT_RESTORE; the rest of the map doesn't. */
		pr_warn("process %d: not allowed to set its exe link, the rest of its mm goes on\n", ctl->pid);
		map.exe_fd = (uint32_t)-1;
		ret = restore_ctl_put_data(ctl, TRAMP_MM_MAP, &map, sizeof(map), &map_addr);
		if (!ret)
			ret = restore_ctl_syscall(ctl, SYS_prctl, 5, (uint64_t)PR_SET_MM, (uint64_t)PR_SET_MM_MAP,
						  map_addr, (uint64_t)sizeof(map), (uint64_t)0);
	}
	if (ret < 0) {
		pr_err("prctl(PR_SET_MM_MAP) failed in process %d: %s\n", ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	if (mm->has_thp_disabled && mm->thp_disabled) {
		ret = restore_ctl_syscall(ctl, SYS_prctl, 5, (uint64_t)PR_SET_THP_DISABLE, (uint64_t)1, (uint64_t)0,
					  (uint64_t)0, (uint64_t)0);
		if (ret < 0)
			pr_warn("process %d: PR_SET_THP_DISABLE failed: %s\n", ctl->pid, strerror((int)-ret));
	}
	return 0;
}

int restore_mem_close_files(struct restore_ctl *ctl, const struct restore_fds *fds)
{
	long ret = restore_ctl_syscall(ctl, SYS_close_range, 3, (uint64_t)fds->min_fd, (uint64_t)~0u, 0);

	if (ret < 0) {
		pr_err("can't close fds %d and above in process %d: %s\n", fds->min_fd, ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

int restore_mem(struct restore_ctl *ctl, const struct restore_image *ri, const struct restore_fds *fds, int dirfd)
{
	struct vma_list cur = { 0 };
	int ret;

	ret = unregister_rseq(ctl);
	if (!ret)
		ret = vma_list_collect(ctl->pid, &cur);
	if (!ret)
		ret = map_trampoline(ctl, ri, &cur);
	if (!ret)
		ret = unmap_criu(ctl, &cur);
	if (!ret)
		ret = restore_vdso(ctl, ri, &cur);
	if (!ret)
		ret = restore_cow_move(ctl, ctl->cow);
	if (!ret)
		ret = map_vmas(ctl, ri, fds);
	if (!ret)
		ret = map_shmems(ctl, ri, dirfd);
	if (!ret)
		ret = fill_pages(ctl, ri, dirfd);
	if (!ret)
		ret = lock_vmas(ctl, ri);
	if (!ret) {
		apply_madvise(ctl, ri);
		ret = set_mm(ctl, ri, fds);
	}
	if (!ret)
		ret = seal_vmas(ctl, ri);
	/* A child sharing criu's fd table gets its own first (sk_rebuild_finish()); a shared table is closed later. */
	if (!ret && !fds->shared && !fds->table_shared)
		ret = restore_mem_close_files(ctl, fds);
	vma_list_free(&cur);
	return ret;
}
