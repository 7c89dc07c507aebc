/*
 * criu restore: copy-on-write private memory between a parent and its children
 * (see include/restore-cow.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image.h"
#include "mem.h"
#include "mem-cow.h"
#include "mm.h"
#include "ngutil.h"
#include "restore-cow.h"
#include "restore-fork.h"
#include "restore-mem.h"
#include "vma.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define COW_CMP_PAGES 64 /* pages read from the image at once to compare */

/*
 * Private anonymous memory, or a private mapping of a file (its pages written since are anonymous),
 * of normal pages: the premap maps plain MAP_PRIVATE pages, so hugetlb and droppable areas (whose map
 * type is MAP_DROPPABLE) are left to the usual restore. A stack (MAP_GROWSDOWN) is premapped growing
 * down too: the kernel keeps no guard page inside the VMA (its guard gap lies below it, outside), so
 * the area is mapped with its dumped bounds, and mremap() keeps the flag when it moves it in place.
 */
static bool cow_candidate(const VmaEntry *v)
{
	return (v->status & VMA_AREA_REGULAR) && (v->status & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE)) &&
	       !restore_vma_is_special(v) &&
	       !(v->status & (VMA_AREA_SYSVIPC | VMA_AREA_AIORING | VMA_AREA_SOCKET | VMA_AREA_MEMFD)) &&
	       !(v->flags & MAP_HUGETLB) && (v->flags & MAP_TYPE) == MAP_PRIVATE;
}

bool cow_vma_inheritable(const VmaEntry *pv, const VmaEntry *v)
{
	uint64_t no_fork = (1ull << MADV_DONTFORK) | (1ull << MADV_WIPEONFORK);

	if (!pv || !cow_candidate(v) || pv->start != v->start || pv->end != v->end || !cow_candidate(pv) ||
	    (pv->has_madv && (pv->madv & no_fork)))
		return false;
	if (((pv->status ^ v->status) & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE)) ||
	    ((pv->flags ^ v->flags) & MAP_GROWSDOWN))
		return false;
	/* The same file at the same offset (CRIU compares the file only). */
	return (v->status & VMA_ANON_PRIVATE) || (pv->shmid == v->shmid && pv->pgoff == v->pgoff);
}

/* The dump's side: the VMAs of a child whose pages the same as its parent's are left to the parent. */
int cow_dump_plan(const struct cow_dump_proc *child, const struct cow_dump_proc *parent, bool **inheritable)
{
	const struct vma_list *vmas = child->vmas, *pvmas = parent->vmas;
	bool *inh = calloc(vmas->nr ? vmas->nr : 1, sizeof(*inh));
	size_t j = 0;

	if (!inh)
		return -ENOMEM;
	for (size_t i = 0; child->exe_id == parent->exe_id && i < vmas->nr; i++) {
		VmaEntry v = VMA_ENTRY__INIT, pv = VMA_ENTRY__INIT;

		while (j < pvmas->nr && pvmas->vmas[j].start < vmas->vmas[i].start)
			j++;
		if (j == pvmas->nr)
			break;
		if (pvmas->vmas[j].start != vmas->vmas[i].start)
			continue;
		mm_fill_vma(&v, &vmas->vmas[i], child->file_ids ? child->file_ids[i] : 0, 0);
		mm_fill_vma(&pv, &pvmas->vmas[j], parent->file_ids ? parent->file_ids[j] : 0, 0);
		inh[i] = cow_vma_inheritable(&pv, &v);
	}
	*inheritable = inh;
	return 0;
}

static int add_area(struct restore_cow *c, const VmaEntry *v, uint64_t slot, bool inherited)
{
	struct restore_cow_area *a = realloc(c->areas, (c->nr + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	c->areas = a;
	a[c->nr].vma = v;
	a[c->nr].scratch = slot; /* the slot's index until the window is placed */
	a[c->nr++].inherited = inherited;
	return 0;
}

static struct restore_cow_area *find_area(const struct restore_cow *c, const VmaEntry *v)
{
	for (size_t i = 0; i < c->nr; i++)
		if (c->areas[i].vma == v)
			return &c->areas[i];
	return NULL;
}

struct slots {
	uint64_t *len;
	size_t nr;
};

static int new_slot(struct slots *s, uint64_t len, uint64_t *idx)
{
	uint64_t *l = realloc(s->len, (s->nr + 1) * sizeof(*l));

	if (!l)
		return -ENOMEM;
	s->len = l;
	s->len[s->nr] = len;
	*idx = s->nr++;
	return 0;
}

/* Whether @ri dumped a page of @v: an area without one (a PROT_NONE reservation...) has nothing to share. */
static bool has_pages(const struct restore_image *ri, const VmaEntry *v)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < ri->nr_pagemap; i++) {
		uint64_t rs = ri->pagemap[i]->vaddr, re = rs + ri->pagemap[i]->nr_pages * page;

		if (rs < v->end && re > v->start)
			return true;
	}
	return false;
}

/* Process @k's VMAs that its parent premaps for it (adding them to the parent's areas first). */
static int plan_child(struct restore_cow_tree *tree, const struct restore_proc *procs, size_t k, struct slots *s)
{
	const MmEntry *mm = procs[k].ri->mm, *pmm = procs[procs[k].parent].ri->mm;
	struct restore_cow *pc = &tree->procs[procs[k].parent];
	int ret = 0;

	if (mm->exe_file_id != pmm->exe_file_id)
		return 0; /* never a fork of it */
	for (size_t i = 0; !ret && i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i], *pv;
		struct restore_cow_area *pa;
		uint64_t slot;

		pv = restore_images_vma_at(pmm, v->start);
		if (!cow_vma_inheritable(pv, v))
			continue;
		pa = find_area(pc, pv);
		if (!pa && !has_pages(procs[procs[k].parent].ri, pv))
			continue;
		if (!pa) {
			ret = new_slot(s, v->end - v->start, &slot);
			ret = ret ?: add_area(pc, pv, slot, false);
			if (ret)
				break;
			pa = &pc->areas[pc->nr - 1];
		}
		ret = add_area(&tree->procs[k], v, pa->scratch, true);
	}
	return ret;
}

/* Every dumped VMA of the tree and every mapping of criu: the window lies apart from them all. */
static int busy_list(const struct restore_proc *procs, size_t nr, uint64_t **busy, size_t *nr_busy)
{
	struct vma_list self = { 0 };
	size_t n = 0, i = 0;
	uint64_t *b;
	int ret;

	ret = vma_list_collect(getpid(), &self);
	if (ret)
		return ret;
	for (size_t k = 0; k < nr; k++)
		if (!restore_image_is_zombie(procs[k].ri))
			n += procs[k].ri->mm->n_vmas;
	b = malloc((n + self.nr + 1) * 2 * sizeof(*b));
	if (!b) {
		vma_list_free(&self);
		return -ENOMEM;
	}
	for (size_t k = 0; k < nr; k++) {
		if (restore_image_is_zombie(procs[k].ri))
			continue;
		for (size_t v = 0; v < procs[k].ri->mm->n_vmas; v++, i++) {
			b[2 * i] = procs[k].ri->mm->vmas[v]->start;
			b[2 * i + 1] = procs[k].ri->mm->vmas[v]->end;
		}
	}
	for (size_t v = 0; v < self.nr; v++, i++) {
		b[2 * i] = self.vmas[v].start;
		b[2 * i + 1] = self.vmas[v].end;
	}
	vma_list_free(&self);
	*busy = b;
	*nr_busy = i;
	return 0;
}

static int cmp_area(const void *a, const void *b)
{
	const struct restore_cow_area *x = a, *y = b;

	return x->scratch < y->scratch ? -1 : x->scratch > y->scratch;
}

/* One window for every slot, a free page between two (no merging), reserved in criu. */
static int place_window(struct restore_cow_tree *tree, const struct restore_proc *procs, const struct slots *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), nr_busy = 0;
	uint64_t *off, total = page, base = 0, *busy = NULL;
	void *w;
	int ret;

	off = malloc(s->nr * sizeof(*off));
	if (!off)
		return -ENOMEM;
	for (size_t i = 0; i < s->nr; i++) {
		off[i] = total;
		total += s->len[i] + page;
	}
	ret = busy_list(procs, tree->nr, &busy, &nr_busy);
	if (!ret)
		ret = restore_mem_gap(busy, nr_busy, total, page, &base);
	free(busy);
	if (ret)
		goto out_free;
	w = mmap((void *)(uintptr_t)base, total, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (w == MAP_FAILED || w != (void *)(uintptr_t)base) {
		ret = w == MAP_FAILED ? -errno : -EEXIST;
		pr_err("can't reserve %llu bytes at %#llx for the shared private memory: %s\n",
		       (unsigned long long)total, (unsigned long long)base, strerror(-ret));
		if (w != MAP_FAILED)
			munmap(w, total);
		goto out_free;
	}
	tree->window = w;
	tree->window_size = total;
	for (size_t k = 0; k < tree->nr; k++) {
		struct restore_cow *c = &tree->procs[k];

		for (size_t i = 0; i < c->nr; i++)
			c->areas[i].scratch = base + off[c->areas[i].scratch];
		if (c->nr)
			qsort(c->areas, c->nr, sizeof(*c->areas), cmp_area);
	}
	pr_info("%zu private areas premapped for copy-on-write at %#llx-%#llx\n", s->nr, (unsigned long long)base,
		(unsigned long long)(base + total));
out_free:
	free(off);
	return ret;
}

/*
 * The pages a process's pagemap leaves to its parent (cow_parent runs) must lie in VMAs it
 * inherits premapped from it: anywhere else nothing would put them back.
 */
static int check_parent_runs(const struct restore_proc *procs, size_t nr, const struct restore_cow_tree *tree)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	for (size_t k = 0; k < nr; k++) {
		const struct restore_image *ri = procs[k].ri;
		const struct restore_cow *c = tree->procs ? &tree->procs[k] : NULL;

		for (size_t i = 0; ri->nr_parent_pages && i < ri->nr_pagemap; i++) {
			const PagemapEntry *pe = ri->pagemap[i];
			uint64_t addr = pe->vaddr, end = pe->vaddr + pe->nr_pages * page;

			while (pagemap_entry_cow_parent(pe) && addr < end) {
				const VmaEntry *v = restore_images_vma_at(ri->mm, addr);
				const struct restore_cow_area *a = v && c ? find_area(c, v) : NULL;

				if (!a || !a->inherited) {
					pr_err("pagemap-%d.img: entry %zu: the page at %#llx is its parent's, but process "
					       "%d inherits no area there from %s\n",
					       ri->pid, i + 1, (unsigned long long)addr, ri->pid,
					       k ? "its parent" : "criu (it is the root)");
					return -EINVAL;
				}
				addr = v->end;
			}
		}
	}
	return 0;
}

int restore_cow_plan(struct restore_proc *procs, size_t nr, int dirfd, struct restore_cow_tree *tree)
{
	struct slots s = { 0 };
	int ret = 0;

	if (nr < 2)
		return check_parent_runs(procs, nr, tree);
	tree->procs = calloc(nr, sizeof(*tree->procs));
	if (!tree->procs)
		return -ENOMEM;
	tree->nr = nr;
	for (size_t k = 1; !ret && k < nr; k++)
		if (!restore_image_is_zombie(procs[k].ri) && !restore_image_is_zombie(procs[procs[k].parent].ri))
			ret = plan_child(tree, procs, k, &s);
	ret = ret ?: check_parent_runs(procs, nr, tree);
	if (!ret && s.nr)
		ret = place_window(tree, procs, &s);
	free(s.len);
	if (ret || !s.nr)
		return ret;
	for (size_t k = 0; k < nr; k++) {
		tree->procs[k].dirfd = dirfd;
		if (tree->procs[k].nr)
			procs[k].cow = &tree->procs[k];
	}
	return 0;
}

void restore_cow_release(struct restore_cow_tree *tree)
{
	if (tree->window && munmap(tree->window, tree->window_size))
		pr_warn("can't unmap criu's reservation at %p\n", tree->window);
	tree->window = NULL;
}

void restore_cow_free(struct restore_cow_tree *tree)
{
	restore_cow_release(tree);
	for (size_t k = 0; k < tree->nr; k++)
		free(tree->procs[k].areas);
	free(tree->procs);
	tree->procs = NULL;
	tree->nr = 0;
}

const struct restore_cow_area *restore_cow_find(const struct restore_cow *cow, const VmaEntry *vma)
{
	return cow ? find_area(cow, vma) : NULL;
}

struct premap_stats {
	uint64_t read, compared, shared, dropped, parent;
};

/* @len bytes at file offset @off into the inherited @dst: only the pages that differ are written. */
static int fill_inherited(int fd, uint8_t *dst, uint64_t len, uint64_t off, uint8_t *buf, size_t page,
			  struct premap_stats *st)
{
	while (len) {
		size_t n = len < COW_CMP_PAGES * page ? (size_t)len : COW_CMP_PAGES * page;
		int ret = ng_pread_full(fd, buf, n, off);

		if (ret)
			return ret;
		for (size_t p = 0; p < n; p += page) {
			st->compared++;
			if (!memcmp(dst + p, buf + p, page))
				st->shared++;
			else
				memcpy(dst + p, buf + p, page);
		}
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* The pages of inherited area @a that this process did not have: dropped (zero again, as they were). */
static int drop_missing(const struct restore_cow_area *a, const uint8_t *had, size_t page, struct premap_stats *st)
{
	size_t nr = (size_t)((a->vma->end - a->vma->start) / page);

	for (size_t i = 0; i < nr;) {
		size_t j = i;

		if (had[i]) {
			i++;
			continue;
		}
		while (j < nr && !had[j])
			j++;
		if (madvise((void *)(uintptr_t)(a->scratch + i * page), (j - i) * page, MADV_DONTNEED)) {
			pr_perror("Can't drop pages of %#llx-%#llx", (unsigned long long)a->vma->start,
				  (unsigned long long)a->vma->end);
			return -errno;
		}
		st->dropped += j - i;
		i = j;
	}
	return 0;
}

/* The pages of @ri's runs that fall into area @a, read or compared in place. */
static int fill_area(const struct restore_cow_area *a, const struct restore_image *ri, int fd, uint8_t *buf,
		     size_t page, struct premap_stats *st)
{
	uint64_t off = 0, vs = a->vma->start, ve = a->vma->end;
	uint8_t *had = NULL;
	int ret = 0;

	if (a->inherited) {
		had = calloc((size_t)((ve - vs) / page), 1);
		if (!had)
			return -ENOMEM;
	}
	for (size_t i = 0; !ret && i < ri->nr_pagemap; i++) {
		uint64_t rs = ri->pagemap[i]->vaddr, re = rs + ri->pagemap[i]->nr_pages * page;
		uint64_t s = rs > vs ? rs : vs, e = re < ve ? re : ve;
		uint8_t *dst = (uint8_t *)(uintptr_t)(a->scratch + (s - vs));

		if (pagemap_entry_cow_parent(ri->pagemap[i])) {
			/* The parent's pages, inherited as they are (check_parent_runs()): none in the image. */
			if (s < e && had) {
				memset(had + (s - vs) / page, 1, (size_t)((e - s) / page));
				st->parent += (e - s) / page;
			}
			continue;
		}
		if (s < e && !a->inherited) {
			ret = ng_pread_full(fd, dst, e - s, off + (s - rs));
			st->read += (e - s) / page;
		} else if (s < e) {
			ret = fill_inherited(fd, dst, e - s, off + (s - rs), buf, page, st);
			memset(had + (s - vs) / page, 1, (size_t)((e - s) / page));
		}
		off += re - rs;
	}
	if (ret)
		pr_err("can't read the pages of %#llx-%#llx from pages-%u.img: %s\n", (unsigned long long)vs,
		       (unsigned long long)ve, ri->pages_id, strerror(-ret));
	if (!ret && a->inherited)
		ret = drop_missing(a, had, page, st);
	free(had);
	return ret;
}

/* Maps area @a where it is premapped: anonymous, or its file at its offset. */
static int premap_area(const struct restore_cow_area *a, const struct restore_image *ri, const struct restore_fds *fds)
{
	const VmaEntry *v = a->vma;
	int flags = MAP_PRIVATE | MAP_FIXED | (int)(v->flags & (MAP_NORESERVE | MAP_GROWSDOWN)), fd = -1;
	void *m;

	if (v->status & VMA_FILE_PRIVATE) {
		fd = restore_fds_get(fds, ri, (uint32_t)v->shmid);
		if (fd < 0) {
			pr_err("no file %llu open to premap %#llx-%#llx\n", (unsigned long long)v->shmid,
			       (unsigned long long)v->start, (unsigned long long)v->end);
			return -EBADF;
		}
	} else {
		flags |= MAP_ANONYMOUS;
	}
	m = mmap((void *)(uintptr_t)a->scratch, v->end - v->start, PROT_READ | PROT_WRITE, flags, fd,
		 fd < 0 ? 0 : (off_t)v->pgoff);
	if (m == MAP_FAILED) {
		pr_perror("Can't premap %#llx-%#llx at %#llx", (unsigned long long)v->start, (unsigned long long)v->end,
			  (unsigned long long)a->scratch);
		return -errno;
	}
	/* No huge page made of its pages while they are read, when it had none. */
	if (v->has_madv && (v->madv & (1ull << MADV_NOHUGEPAGE)) && madvise(m, v->end - v->start, MADV_NOHUGEPAGE))
		pr_warn("madvise(MADV_NOHUGEPAGE) on %#llx-%#llx failed\n", (unsigned long long)v->start,
			(unsigned long long)v->end);
	return 0;
}

int restore_cow_premap(const struct restore_cow *cow, const struct restore_image *ri, const struct restore_fds *fds)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct premap_stats st = { 0 };
	struct cr_img *img = NULL;
	uint8_t *buf;
	int ret;

	if (!cow)
		return 0;
	for (size_t i = 0; i < cow->nr; i++) {
		if (cow->areas[i].inherited)
			continue;
		ret = premap_area(&cow->areas[i], ri, fds);
		if (ret)
			return ret;
	}
	buf = malloc(COW_CMP_PAGES * page);
	if (!buf)
		return -ENOMEM;
	ret = img_open(&img, cow->dirfd, IMG_READ, CR_IMG_PAGES, ri->pages_id);
	for (size_t i = 0; !ret && i < cow->nr; i++)
		ret = fill_area(&cow->areas[i], ri, img_raw_fd(img), buf, page, &st);
	if (img)
		img_close(img);
	free(buf);
	if (!ret)
		pr_info("process %d: %zu areas premapped, %llu pages read, %llu compared, %llu of them shared, %llu "
			"dropped, %llu inherited as the image says\n",
			ri->pid, cow->nr, (unsigned long long)st.read, (unsigned long long)st.compared,
			(unsigned long long)st.shared, (unsigned long long)st.dropped, (unsigned long long)st.parent);
	return ret;
}

static int unmap_range(struct restore_ctl *ctl, uint64_t start, uint64_t end)
{
	long ret = restore_ctl_syscall(ctl, SYS_munmap, 2, start, end - start);

	if (ret < 0) {
		pr_err("can't unmap %#llx-%#llx in process %d: %s\n", (unsigned long long)start,
		       (unsigned long long)end, ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

int restore_cow_unmap(struct restore_ctl *ctl, const struct restore_cow *cow, uint64_t start, uint64_t end)
{
	uint64_t pos = start;
	int ret = 0;

	for (size_t i = 0; !ret && cow && i < cow->nr; i++) {
		const struct restore_cow_area *a = &cow->areas[i];
		uint64_t a0 = a->scratch, a1 = a->scratch + (a->vma->end - a->vma->start);

		if (a1 <= pos || a0 >= end)
			continue;
		if (a0 > pos)
			ret = unmap_range(ctl, pos, a0);
		pos = a1;
	}
	if (!ret && pos < end)
		ret = unmap_range(ctl, pos, end);
	return ret;
}

int restore_cow_move(struct restore_ctl *ctl, const struct restore_cow *cow)
{
	for (size_t i = 0; cow && i < cow->nr; i++) {
		const VmaEntry *v = cow->areas[i].vma;
		uint64_t len = v->end - v->start;
		long ret;

		ret = restore_ctl_syscall(ctl, SYS_mremap, 5, cow->areas[i].scratch, len, len,
					  (uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED), v->start);
		if (ret >= 0 && (uint64_t)ret != v->start)
			ret = -EFAULT;
		if (ret >= 0 && v->prot != (PROT_READ | PROT_WRITE))
			ret = restore_ctl_syscall(ctl, SYS_mprotect, 3, v->start, len, (uint64_t)v->prot);
		if (ret < 0) {
			pr_err("can't move the premapped %#llx-%#llx into place in process %d: %s\n",
			       (unsigned long long)v->start, (unsigned long long)v->end, ctl->pid, strerror((int)-ret));
			return (int)ret;
		}
	}
	return 0;
}
