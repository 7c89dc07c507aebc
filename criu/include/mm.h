/*
 * mm-PID.img: a process's address space as prctl(PR_SET_MM) sets it back (code,
 * data, brk, stack, arguments, environment, auxv, executable) and its VMAs.
 */
#ifndef CRIU_NG_MM_H
#define CRIU_NG_MM_H

#include <stdint.h>
#include <sys/types.h>

#include "proc-parse.h"
#include "vma.h"

#include "mm.pb-c.h"

/* The most auxv words CRIU's x86 images hold (its AT_VECTOR_SIZE). */
#define MM_AUXV_MAX_WORDS 44

struct mm_dump_args {
	pid_t pid;
	const struct proc_stat *stat;
	const struct proc_status *status;
	const struct vma_list *vmas;
	uint32_t exe_file_id;	      /* id of the executable in files.img */
	const uint32_t *vma_file_ids; /* per VMA: id in files.img of its file, 0 if none */
	const uint32_t *vma_fdflags;  /* per VMA with a file: the O_ACCMODE its file is open with */
	uint64_t brk;		      /* the program break (brk(0) in the task), 0 if unknown */
	int dumpable;		      /* PR_GET_DUMPABLE of the task, -1 if unknown */
};

/*
 * Fills the vma_entry @e (initialised by the caller) as mm-PID.img records @vma, @file_id
 * naming its file in files.img (0 if none), opened with @fdflags.
 */
void mm_fill_vma(VmaEntry *e, const struct vma_area *vma, uint32_t file_id, uint32_t fdflags);

/* Writes mm-PID.img into @dirfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int mm_dump(int dirfd, const struct mm_dump_args *args);

#endif /* CRIU_NG_MM_H */
