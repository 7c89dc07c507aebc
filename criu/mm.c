/*
 * mm-PID.img: the PR_SET_MM fields of a process (from /proc/PID/stat and
 * /proc/PID/auxv) and its VMAs as CRIU's vma_entry records them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "mm.h"

#include "mm.pb-c.h"

#define LOG_PREFIX "mm: "
#include "log.h"

/*
 * CRIU's restore takes at most MM_AUXV_MAX_WORDS words of auxv and its own dump
 * keeps no more. Past them, the kernel's vector may only hold AT_NULL (zeros):
 * cut them off as CRIU does. Anything else would be lost: refuse.
 */
static int cap_auxv(pid_t pid, const char *buf, size_t *n)
{
	uint64_t word;

	for (size_t i = MM_AUXV_MAX_WORDS; i < *n; i++) {
		memcpy(&word, buf + i * sizeof(word), sizeof(word));
		if (word) {
			pr_err("/proc/%d/auxv has %zu words, entries past the %d CRIU records: not supported\n", pid,
			       *n, MM_AUXV_MAX_WORDS);
			return -EOPNOTSUPP;
		}
	}
	if (*n > MM_AUXV_MAX_WORDS)
		*n = MM_AUXV_MAX_WORDS;
	return 0;
}

static int read_auxv(pid_t pid, MmEntry *mm, uint64_t **auxv)
{
	size_t len, n;
	char *buf;
	int ret;

	ret = proc_read_file(pid, "auxv", &buf, &len);
	if (ret) {
		pr_err("can't read /proc/%d/auxv: %s\n", pid, strerror(-ret));
		return ret;
	}
	n = len / sizeof(uint64_t);
	if (len % (2 * sizeof(uint64_t)) || !n) {
		pr_err("/proc/%d/auxv has an odd size (%zu bytes)\n", pid, len);
		free(buf);
		return -EINVAL;
	}
	ret = cap_auxv(pid, buf, &n);
	if (ret) {
		free(buf);
		return ret;
	}
	len = n * sizeof(uint64_t);
	*auxv = malloc(len);
	if (!*auxv) {
		free(buf);
		return -ENOMEM;
	}
	memcpy(*auxv, buf, len);
	free(buf);
	mm->n_mm_saved_auxv = n;
	mm->mm_saved_auxv = *auxv;
	return 0;
}

void mm_fill_vma(VmaEntry *e, const struct vma_area *vma, uint32_t file_id, uint32_t fdflags)
{
	e->start = vma->start;
	e->end = vma->end;
	e->pgoff = vma->pgoff;
	e->prot = vma->prot;
	e->flags = vma->flags;
	e->status = vma->status;
	e->fd = -1;
	if (file_id) {
		e->shmid = file_id;
		/* CRIU's restore opens the file of every file mapping with these flags. */
		e->has_fdflags = 1;
		e->fdflags = fdflags;
	} else if (vma->status & (VMA_ANON_SHARED | VMA_AREA_SYSVIPC)) {
		e->shmid = vma->ino;
	}
	if (vma->madv) {
		e->has_madv = 1;
		e->madv = vma->madv;
	}
	if (vma->lock_onfault) {
		e->has_lock_onfault = 1;
		e->lock_onfault = 1;
	}
	if (vma->sealed) {
		e->has_sealed = 1;
		e->sealed = 1;
	}
}

/*
 * Since Linux 6.12 the kernel's vvar is two adjacent areas, [vvar] and [vvar_vclock].
 * CRIU records them as one vvar area, and its restore compares that area's size with
 * its host's vvar: do the same. True when @v was joined to @prev.
 */
static bool join_vvar(VmaEntry *prev, const struct vma_area *v)
{
	if (!(prev->status & VMA_AREA_VVAR) || !(v->status & VMA_AREA_VVAR) || prev->end != v->start ||
	    prev->prot != v->prot)
		return false;
	prev->end = v->end;
	if (v->madv) {
		prev->has_madv = 1;
		prev->madv |= v->madv;
	}
	return true;
}

/*
 * The program break when the task couldn't be asked (brk(0), task-query.c):
 * /proc only shows where the heap started, so take the end of the [heap] area
 * (brk rounded up to a page; the same page is mapped, so a restore from it
 * gives the process the same usable heap).
 */
static uint64_t guess_brk(const struct mm_dump_args *args)
{
	const struct vma_area *heap = vma_list_find_heap(args->vmas);

	return heap ? heap->end : args->stat->start_brk;
}

int mm_dump(int dirfd, const struct mm_dump_args *args)
{
	const struct proc_stat *st = args->stat;
	MmEntry mm = MM_ENTRY__INIT;
	VmaEntry *entries = NULL, **vmas = NULL;
	uint64_t *auxv = NULL;
	struct cr_img *img;
	int ret, cret;

	mm.mm_start_code = st->start_code;
	mm.mm_end_code = st->end_code;
	mm.mm_start_data = st->start_data;
	mm.mm_end_data = st->end_data;
	mm.mm_start_stack = st->start_stack;
	mm.mm_start_brk = st->start_brk;
	mm.mm_brk = args->brk ? args->brk : guess_brk(args);
	mm.mm_arg_start = st->arg_start;
	mm.mm_arg_end = st->arg_end;
	mm.mm_env_start = st->env_start;
	mm.mm_env_end = st->env_end;
	mm.exe_file_id = args->exe_file_id;
	if (args->dumpable >= 0) {
		mm.has_dumpable = 1;
		mm.dumpable = args->dumpable;
	}
	if (args->status->thp_enabled >= 0) {
		mm.has_thp_disabled = 1;
		mm.thp_disabled = !args->status->thp_enabled;
	}
	ret = read_auxv(args->pid, &mm, &auxv);
	if (ret)
		return ret;

	entries = calloc(args->vmas->nr ? args->vmas->nr : 1, sizeof(*entries));
	vmas = calloc(args->vmas->nr ? args->vmas->nr : 1, sizeof(*vmas));
	if (!entries || !vmas) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < args->vmas->nr; i++) {
		const struct vma_area *v = &args->vmas->vmas[i];

		if (mm.n_vmas && join_vvar(vmas[mm.n_vmas - 1], v))
			continue;
		vma_entry__init(&entries[mm.n_vmas]);
		mm_fill_vma(&entries[mm.n_vmas], v, args->vma_file_ids ? args->vma_file_ids[i] : 0,
			    args->vma_fdflags ? args->vma_fdflags[i] : 0);
		vmas[mm.n_vmas] = &entries[mm.n_vmas];
		mm.n_vmas++;
	}
	mm.vmas = vmas;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_MM, (unsigned int)args->pid);
	if (ret)
		goto out_free;
	ret = img_write_entry(img, &mm);
	cret = img_close(img);
	ret = ret ?: cret;
out_free:
	free(vmas);
	free(entries);
	free(auxv);
	return ret;
}
