/*
 * criu restore: reading and checking all the images of a single-threaded
 * process before the restore touches anything (see include/restore-images.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "fd-kind.h"
#include "file-locks.h"
#include "image.h"
#include "mem.h"
#include "restore-files.h"
#include "restore-ghost.h"
#include "restore-images.h"
#include "restore-shmem.h"
#include "restore-thread.h"
#include "vma.h"

#define LOG_PREFIX "restore: "
#include "log.h"

/* Highest user address + 1 on x86-64 with 4-level page tables (TASK_SIZE_MAX). */
#define USER_ADDR_END 0x7ffffffff000ull
#define MAX_RUNS (1u << 24)
#define MAX_FILES (1u << 20)
/* Highest pid the kernel hands out (PID_MAX_LIMIT on 64-bit). */
#define PID_LIMIT (1u << 22)

static int read_one(int dirfd, enum cr_img_type type, unsigned int arg, void **msg)
{
	struct cr_img *img;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, type, arg);
	if (ret)
		return ret;
	ret = img_read_one(img, msg);
	if (!ret) {
		void *extra = NULL;

		ret = img_read_entry(img, &extra);
		if (!ret && extra) {
			pr_err("%s: more than one entry\n", img_name(img));
			img_free_entry(extra);
			ret = -EINVAL;
		}
	}
	img_close(img);
	if (ret) {
		img_free_entry(*msg);
		*msg = NULL;
	}
	return ret;
}

/* The threads after the leader, each in range and listed once (one bit per possible tid). */
static int load_tids(struct restore_image *ri, const PstreeEntry *e)
{
	uint64_t *seen = calloc(PID_LIMIT / 64 + 1, sizeof(*seen));

	if (!seen)
		return -ENOMEM;
	seen[e->pid / 64] |= 1ull << (e->pid % 64);
	for (size_t i = 1; i < e->n_threads; i++) {
		uint32_t tid = e->threads[i];

		if (!tid || tid > PID_LIMIT || (seen[tid / 64] & (1ull << (tid % 64)))) {
			pr_err("pstree.img: thread %u of process %u is out of range or listed twice\n", tid, e->pid);
			free(seen);
			return -EINVAL;
		}
		seen[tid / 64] |= 1ull << (tid % 64);
		ri->tids[ri->nr_threads++] = (pid_t)tid;
	}
	free(seen);
	return 0;
}

/* Checks the pstree entry of @ri and takes its pid and threads. */
static int load_pstree(struct restore_image *ri)
{
	const PstreeEntry *e = ri->pstree;

	if (!e->pid || e->pid > PID_LIMIT) {
		pr_err("pstree.img: pid %u is out of range\n", e->pid);
		return -EINVAL;
	}
	ri->pid = (pid_t)e->pid;
	if (!e->n_threads || e->threads[0] != e->pid) {
		pr_err("pstree.img: the threads of process %u don't start with its leader\n", e->pid);
		return -EINVAL;
	}
	ri->tids = calloc(e->n_threads, sizeof(*ri->tids));
	if (!ri->tids)
		return -ENOMEM;
	return load_tids(ri, e);
}

static int check_fpregs(const UserX86FpregsEntry *fp, const char *name)
{
	const UserX86XsaveEntry *xs = fp->xsave;

	if (fp->n_st_space != 32 || fp->n_xmm_space != 64) {
		pr_err("%s: FPU registers of a wrong size (%zu st, %zu xmm words)\n", name, fp->n_st_space,
		       fp->n_xmm_space);
		return -EINVAL;
	}
	if (!xs)
		return 0;
	if ((xs->n_ymmh_space && xs->n_ymmh_space != 64) || (xs->n_bndreg_state && xs->n_bndreg_state != 8) ||
	    (xs->n_bndcsr_state && xs->n_bndcsr_state != 2) || (xs->n_opmask_reg && xs->n_opmask_reg != 8) ||
	    (xs->n_zmm_upper && xs->n_zmm_upper != 64) || (xs->n_hi16_zmm && xs->n_hi16_zmm != 128) ||
	    (xs->n_pkru && xs->n_pkru != 2)) {
		pr_err("%s: an xsave component of a wrong size\n", name);
		return -EINVAL;
	}
	return 0;
}

/* Checks core-@tid.img; the leader's (@leader) holds task_core too. */
static int check_core(const CoreEntry *c, pid_t tid, bool leader)
{
	char name[64];

	snprintf(name, sizeof(name), "core-%d.img", tid);
	if (c->mtype != CORE_ENTRY__MARCH__X86_64) {
		pr_err("%s: architecture %d is not x86-64\n", name, c->mtype);
		return -EOPNOTSUPP;
	}
	if (leader && c->tc && c->tc->task_state == RESTORE_TASK_DEAD)
		return 0; /* a zombie: only its exit status */
	if (!c->thread_info || !c->thread_info->gpregs || !c->thread_info->fpregs || !c->thread_core ||
	    (leader && !c->tc)) {
		pr_err("%s: thread_info, thread_core or task_core is missing\n", name);
		return -EINVAL;
	}
	if (c->thread_info->gpregs->has_mode && c->thread_info->gpregs->mode != USER_X86_REGS_MODE__NATIVE) {
		pr_err("%s: a 32-bit (compat) task: not supported yet\n", name);
		return -EOPNOTSUPP;
	}
	if ((c->thread_core->has_seccomp_mode && c->thread_core->seccomp_mode != SECCOMP_MODE__disabled) ||
	    (leader && c->tc->has_old_seccomp_mode && c->tc->old_seccomp_mode != SECCOMP_MODE__disabled)) {
		/* CRIU writes seccomp.img always; only a mode other than disabled needs its filters. */
		pr_err("%s: the thread runs under seccomp: not supported yet\n", name);
		return -EOPNOTSUPP;
	}
	if (leader && c->tc->task_state != RESTORE_TASK_ALIVE && c->tc->task_state != RESTORE_TASK_STOPPED &&
	    c->tc->task_state != RESTORE_TASK_DEAD) {
		pr_err("%s: task state %u (neither alive nor stopped) is not supported\n", name, c->tc->task_state);
		return -EOPNOTSUPP;
	}
	if (leader && c->tc->n_sigactions && c->tc->n_sigactions != RESTORE_NR_SIGACTIONS) {
		pr_err("%s: %zu signal actions, expected %d\n", name, c->tc->n_sigactions, RESTORE_NR_SIGACTIONS);
		return -EINVAL;
	}
	for (size_t i = 0; leader && i < c->tc->n_sigactions; i++)
		if (c->tc->sigactions[i]->has_compat_sigaction && c->tc->sigactions[i]->compat_sigaction) {
			pr_err("%s: a compat (32-bit) signal action: not supported yet\n", name);
			return -EOPNOTSUPP;
		}
	return check_fpregs(c->thread_info->fpregs, name);
}

static int load_core(int dirfd, struct restore_image *ri)
{
	int ret;

	ret = read_one(dirfd, CR_IMG_CORE, (unsigned int)ri->pid, (void **)&ri->core);
	if (!ret)
		ret = check_core(ri->core, ri->pid, true);
	if (ret)
		return ret;
	ri->thread_cores = calloc(ri->nr_threads ? ri->nr_threads : 1, sizeof(*ri->thread_cores));
	if (!ri->thread_cores)
		return -ENOMEM;
	for (size_t i = 0; i < ri->nr_threads; i++) {
		ret = read_one(dirfd, CR_IMG_CORE, (unsigned int)ri->tids[i], (void **)&ri->thread_cores[i]);
		if (!ret)
			ret = check_core(ri->thread_cores[i], ri->tids[i], false);
		if (ret)
			return ret;
	}
	return 0;
}

static int check_vma_kind(const VmaEntry *v, const char *name, size_t i)
{
	uint32_t kinds = VMA_ANON_PRIVATE | VMA_ANON_SHARED | VMA_FILE_PRIVATE | VMA_FILE_SHARED | VMA_AREA_VDSO |
			 VMA_AREA_VVAR;
	uint32_t kind = v->status & kinds, type;

	/* CRIU marks the kernel's [vdso] and [vvar] areas private anonymous memory as well. */
	if (kind & (VMA_AREA_VDSO | VMA_AREA_VVAR))
		kind &= ~VMA_ANON_PRIVATE;

	if (v->status & VMA_AREA_VSYSCALL)
		return 0;
	if (!(v->status & VMA_AREA_REGULAR) || (v->status & VMA_UNSUPP) || !kind || (kind & (kind - 1)) ||
	    (v->status & (VMA_AREA_SYSVIPC | VMA_AREA_SOCKET | VMA_AREA_AIORING))) {
		pr_err("%s: VMA %zu (%#llx-%#llx) has status %#x: a kind of memory not supported yet\n", name, i,
		       (unsigned long long)v->start, (unsigned long long)v->end, v->status);
		return -EOPNOTSUPP;
	}
	type = v->flags & VMA_MAP_TYPE;
	if ((v->prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC)) ||
	    (type != MAP_SHARED && type != MAP_PRIVATE && (type != MAP_DROPPABLE || kind != VMA_ANON_PRIVATE))) {
		pr_err("%s: VMA %zu: bad prot %#x or flags %#x\n", name, i, v->prot, v->flags);
		return -EINVAL;
	}
	if ((v->flags & MAP_HUGETLB) && !(v->flags & MAP_ANONYMOUS) && !(v->status & VMA_AREA_MEMFD)) {
		pr_err("%s: VMA %zu (%#llx-%#llx) is a hugetlbfs file mapping: not supported yet\n", name, i,
		       (unsigned long long)v->start, (unsigned long long)v->end);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* True when the file VMA @v maps is in files.img: a regular file, or a memfd for VMA_AREA_MEMFD. */
static bool vma_file_known(const struct restore_image *ri, const VmaEntry *v)
{
	ssize_t i = v->shmid > UINT32_MAX ? -1 : restore_images_file_idx(ri, (uint32_t)v->shmid);

	if (i < 0)
		return false;
	if (v->status & VMA_AREA_MEMFD)
		return ri->files[i]->type == FD_TYPES__MEMFD;
	return ri->files[i]->type == FD_TYPES__REG;
}

static int check_vmas(const struct restore_image *ri, const char *name)
{
	uint64_t prev_end = 0;
	long ps = sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < ri->mm->n_vmas; i++) {
		const VmaEntry *v = ri->mm->vmas[i];
		int ret;

		if (v->start >= v->end || (v->start | v->end | v->pgoff) % ps || v->start < prev_end ||
		    (v->end > USER_ADDR_END && !(v->status & VMA_AREA_VSYSCALL))) {
			pr_err("%s: VMA %zu (%#llx-%#llx, offset %#llx) is misplaced\n", name, i,
			       (unsigned long long)v->start, (unsigned long long)v->end, (unsigned long long)v->pgoff);
			return -EINVAL;
		}
		prev_end = v->end;
		ret = check_vma_kind(v, name, i);
		if (ret)
			return ret;
		if ((v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) && !vma_file_known(ri, v)) {
			pr_err("%s: VMA %zu maps file %llu, which files.img doesn't have\n", name, i,
			       (unsigned long long)v->shmid);
			return -EINVAL;
		}
	}
	return 0;
}

static int load_mm(int dirfd, struct restore_image *ri)
{
	char name[64];
	MmEntry *mm;
	int ret;

	ret = read_one(dirfd, CR_IMG_MM, (unsigned int)ri->pid, (void **)&ri->mm);
	if (ret)
		return ret;
	mm = ri->mm;
	snprintf(name, sizeof(name), "mm-%d.img", ri->pid);
	if (mm->n_mm_saved_auxv % 2 || mm->n_mm_saved_auxv > 128) {
		pr_err("%s: auxv of %zu words\n", name, mm->n_mm_saved_auxv);
		return -EINVAL;
	}
	if (mm->n_aios) {
		pr_err("%s: AIO rings are not supported yet\n", name);
		return -EOPNOTSUPP;
	}
	if (mm->exe_file_id && !restore_images_file(ri, mm->exe_file_id)) {
		pr_err("%s: the executable is file %u, which files.img doesn't have\n", name, mm->exe_file_id);
		return -EINVAL;
	}
	return check_vmas(ri, name);
}

static int load_fs(int dirfd, struct restore_image *ri)
{
	int ret = read_one(dirfd, CR_IMG_FS, (unsigned int)ri->pid, (void **)&ri->fs);

	if (ret)
		return ret;
	if (!restore_images_file(ri, ri->fs->cwd_id) || !restore_images_file(ri, ri->fs->root_id)) {
		pr_err("fs-%d.img: cwd %u or root %u is not in files.img\n", ri->pid, ri->fs->cwd_id, ri->fs->root_id);
		return -EINVAL;
	}
	return 0;
}

static int add_file(struct restore_image *ri, FileEntry *fe, const char *name, size_t *cap)
{
	const struct fd_kind *k = fd_kind_of_type(fe->type);
	int ret;

	if (k && k->check_entry) {
		ret = k->check_entry(fe, name);
		if (ret)
			return ret;
	}
	if (ri->nr_files >= MAX_FILES)
		return -E2BIG;
	ret = ARRAY_RESERVE(ri->files, ri->nr_files, *cap, 64);
	if (!ret && k && k->take_entry)
		ret = k->take_entry(ri, fe, name);
	if (ret)
		return ret;
	ri->files[ri->nr_files++] = fe;
	return 0;
}

static int cmp_file_id(const void *a, const void *b)
{
	uint32_t x = (*(const FileEntry *const *)a)->id, y = (*(const FileEntry *const *)b)->id;

	return (x > y) - (x < y);
}

/* Sorts the files by id, for restore_images_file_idx(), and refuses an id given twice. */
static int index_files(struct restore_image *ri, const char *name)
{
	if (ri->nr_files)
		qsort(ri->files, ri->nr_files, sizeof(*ri->files), cmp_file_id);
	for (size_t i = 1; i < ri->nr_files; i++)
		if (ri->files[i]->id == ri->files[i - 1]->id) {
			pr_err("%s: file id %u appears twice\n", name, ri->files[i]->id);
			return -EINVAL;
		}
	return 0;
}

static int load_files(int dirfd, struct restore_image *ri)
{
	struct cr_img *img;
	size_t cap = 0;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_FILES);
	if (ret)
		return ret;
	for (;;) {
		void *msg;

		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		ret = add_file(ri, msg, img_name(img), &cap);
		if (ret) {
			img_free_entry(msg);
			break;
		}
	}
	if (!ret)
		ret = index_files(ri, img_name(img));
	img_close(img);
	return ret;
}

/* The first VMA that ends after @addr (the VMAs are sorted and disjoint: check_vmas()). */
static size_t first_vma_after(const MmEntry *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* True when [start, end) is covered by private VMAs, which the pages can be written into. */
static int in_private_vmas(const MmEntry *mm, uint64_t start, uint64_t end)
{
	for (size_t i = first_vma_after(mm, start); i < mm->n_vmas && start < end; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (v->end <= start)
			continue;
		if (v->start > start || !(v->status & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE)))
			return 0;
		start = v->end;
	}
	return start >= end;
}

static int check_run(struct restore_image *ri, PagemapEntry *pe, const char *name)
{
	long ps = sysconf(_SC_PAGESIZE);
	int kind = pagemap_entry_normalize(pe);
	uint64_t len;

	if (kind == -EINVAL) {
		pr_err("%s: entry %zu: pages of the parent process with flags %#x (PE_PARENT alone expected)\n", name,
		       ri->nr_pagemap + 1, pe->flags);
		return -EINVAL;
	}
	if (kind < 0) {
		pr_err("%s: entry %zu (flags %#x): pages in a parent image (a pre-dump chain) or lazy pages are not "
		       "supported\n",
		       name, ri->nr_pagemap + 1, pe->flags);
		return -EOPNOTSUPP;
	}
	len = pe->nr_pages * (uint64_t)ps;
	if (!pe->nr_pages || pe->nr_pages > UINT64_MAX / (uint64_t)ps || pe->vaddr % ps ||
	    pe->vaddr + len < pe->vaddr || !in_private_vmas(ri->mm, pe->vaddr, pe->vaddr + len)) {
		pr_err("%s: entry %zu: %llu pages at %#llx are not inside private memory of the process\n", name,
		       ri->nr_pagemap + 1, (unsigned long long)pe->nr_pages, (unsigned long long)pe->vaddr);
		return -EINVAL;
	}
	if (kind)
		ri->nr_parent_pages += pe->nr_pages; /* criu/mem/cow.c checks that the parent passes them on */
	else
		ri->nr_pages += pe->nr_pages;
	return 0;
}

static int add_run(struct restore_image *ri, PagemapEntry *pe, const char *name, size_t *cap)
{
	int ret = check_run(ri, pe, name);

	if (ret)
		return ret;
	if (ri->nr_pagemap >= MAX_RUNS)
		return -E2BIG;
	ret = ARRAY_RESERVE(ri->pagemap, ri->nr_pagemap, *cap, 64);
	if (ret)
		return ret;
	ri->pagemap[ri->nr_pagemap++] = pe;
	return 0;
}

static int check_pages_size(int dirfd, const struct restore_image *ri)
{
	long ps = sysconf(_SC_PAGESIZE);
	char name[64];
	struct stat st;

	snprintf(name, sizeof(name), "pages-%u.img", ri->pages_id);
	if (fstatat(dirfd, name, &st, 0) < 0) {
		pr_perror("Can't stat image %s", name);
		return -errno;
	}
	if ((uint64_t)st.st_size != ri->nr_pages * ps) {
		pr_err("%s: %lld bytes, but pagemap-%d.img lists %llu pages (%llu bytes)\n", name,
		       (long long)st.st_size, ri->pid, (unsigned long long)ri->nr_pages,
		       (unsigned long long)(ri->nr_pages * ps));
		return -EINVAL;
	}
	return 0;
}

static int load_pagemap(int dirfd, struct restore_image *ri)
{
	PagemapHead *head;
	struct cr_img *img;
	size_t cap = 0;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_PAGEMAP, (unsigned int)ri->pid);
	if (ret)
		return ret;
	ret = img_read_entry_as(img, &pagemap_head__descriptor, (void **)&head);
	if (!ret && !head) {
		pr_err("%s: no pagemap_head\n", img_name(img));
		ret = -EIO;
	}
	if (ret)
		goto out_close;
	ri->pages_id = head->pages_id;
	img_free_entry(head);
	for (;;) {
		void *msg;

		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		ret = add_run(ri, msg, img_name(img), &cap);
		if (ret) {
			img_free_entry(msg);
			break;
		}
	}
out_close:
	img_close(img);
	if (!ret)
		ret = check_pages_size(dirfd, ri);
	return ret;
}

/* Everything of the process @ri->pstree names. */
/* Process @k of @ris, whose parents are loaded already. */
static int load_one(int dirfd, struct restore_image *ris, size_t k)
{
	struct restore_image *ri = &ris[k];
	int ret;

	ret = load_pstree(ri);
	if (!ret)
		ret = load_core(dirfd, ri);
	if (ret || restore_image_is_zombie(ri))
		return ret;
	ret = load_files(dirfd, ri);
	if (!ret)
		ret = restore_images_load_fds(dirfd, ri);
	if (!ret)
		ret = file_locks_load(dirfd, ri);
	for (size_t i = 0; !ret && i < FD_KIND_NR; i++)
		if (fd_kinds[i].check_restore)
			ret = fd_kinds[i].check_restore(ri);
	for (size_t i = 0; !ret && i < FD_KIND_NR; i++)
		if (fd_kinds[i].load)
			ret = fd_kinds[i].load(dirfd, ri);
	if (!ret)
		ret = load_fs(dirfd, ri);
	for (size_t p = 0; !ret && p < k; p++)
		ri->mm_elsewhere |= !restore_image_is_zombie(&ris[p]) && ris[p].vm_id == ri->vm_id;
	if (ret || ri->mm_elsewhere)
		return ret; /* its parent's memory (restore-sharedmm.c) */
	if (!ret)
		ret = load_mm(dirfd, ri);
	if (!ret)
		ret = load_pagemap(dirfd, ri);
	if (!ret)
		ret = restore_shmem_load(dirfd, ri);
	return ret;
}

/* Each pid once and every parent before its child, in one pass (one bit per possible pid). */
static int check_pstree_order(PstreeEntry *const *entries, size_t nr)
{
	uint64_t *listed = calloc(PID_LIMIT / 64 + 1, sizeof(*listed));
	int ret = 0;

	if (!listed)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < nr; i++) {
		uint32_t pid = entries[i]->pid, ppid = entries[i]->ppid;

		if (!pid || pid > PID_LIMIT) {
			pr_err("pstree.img: pid %u is out of range\n", pid);
			ret = -EINVAL;
		} else if (listed[pid / 64] & (1ull << (pid % 64))) {
			pr_err("pstree.img: process %u is listed twice\n", pid);
			ret = -EINVAL;
		} else if (i && (ppid > PID_LIMIT || !(listed[ppid / 64] & (1ull << (ppid % 64))))) {
			pr_err("pstree.img: the parent %u of process %u is not listed before it\n", ppid, pid);
			ret = -EINVAL;
		} else {
			listed[pid / 64] |= 1ull << (pid % 64);
		}
	}
	free(listed);
	return ret;
}

/* Every entry of pstree.img, parents before their children, each pid once. */
static int read_pstree(int dirfd, PstreeEntry ***entries, size_t *nr)
{
	struct cr_img *img;
	size_t cap = 0;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_PSTREE);
	if (ret)
		return ret;
	for (;;) {
		PstreeEntry *e = NULL;

		ret = img_read_entry(img, (void **)&e);
		if (ret || !e)
			break;
		ret = ARRAY_RESERVE(*entries, *nr, cap, 16);
		if (ret) {
			img_free_entry(e);
			break;
		}
		(*entries)[(*nr)++] = e;
	}
	img_close(img);
	if (!ret && !*nr) {
		pr_err("pstree.img: no process\n");
		ret = -EINVAL;
	}
	return ret ?: check_pstree_order(*entries, *nr);
}

int restore_images_load(int dirfd, struct restore_image **ris, size_t *nr)
{
	PstreeEntry **entries = NULL;
	size_t n = 0;
	int ret;

	*ris = NULL;
	*nr = 0;
	ret = read_pstree(dirfd, &entries, &n);
	if (!ret) {
		*ris = calloc(n, sizeof(**ris));
		ret = *ris ? 0 : -ENOMEM;
	}
	/* Each image owns its entry from here, freed with it. */
	for (size_t i = 0; i < n; i++) {
		if (*ris) {
			(*ris)[i].pstree = entries[i];
			*nr = i + 1;
		} else {
			img_free_entry(entries[i]);
		}
	}
	free(entries);
	for (size_t i = 0; !ret && i < *nr; i++)
		ret = load_one(dirfd, *ris, i);
	return ret;
}

void restore_images_free(struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_sharers; i++)
		restore_images_free(&ri->sharers[i]);
	free(ri->sharers);
	if (ri->vfork_child)
		restore_images_free(ri->vfork_child);
	free(ri->vfork_child);
	for (size_t i = 0; i < FD_KIND_NR; i++)
		if (fd_kinds[i].load_free)
			fd_kinds[i].load_free(ri);
	restore_shmem_free(ri);
	file_locks_load_free(ri);
	restore_ghosts_free(ri);
	for (size_t i = 0; i < ri->nr_fdinfo; i++)
		img_free_entry(ri->fdinfo[i]);
	free(ri->fdinfo);
	for (size_t i = 0; i < ri->nr_pagemap; i++)
		img_free_entry(ri->pagemap[i]);
	free(ri->pagemap);
	for (size_t i = 0; i < ri->nr_files; i++)
		img_free_entry(ri->files[i]);
	free(ri->files);
	free(ri->file_fds);
	img_free_entry(ri->fs);
	img_free_entry(ri->mm);
	for (size_t i = 0; ri->thread_cores && i < ri->nr_threads; i++)
		img_free_entry(ri->thread_cores[i]);
	free(ri->thread_cores);
	free(ri->tids);
	img_free_entry(ri->core);
	img_free_entry(ri->pstree);
	memset(ri, 0, sizeof(*ri));
}
