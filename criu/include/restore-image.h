/*
 * criu restore: the decoded images of one process and its threads (struct
 * restore_image), as restore-images.h reads and checks them, and the lookups
 * every step of the restore makes in them. Nothing here reads an image.
 */
#ifndef CRIU_NG_RESTORE_IMAGE_H
#define CRIU_NG_RESTORE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-kind.h"

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "file-lock.pb-c.h"
#include "fs.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"

/* task_core_entry.task_state values (CRIU's). */
#define RESTORE_TASK_ALIVE 1
#define RESTORE_TASK_DEAD 2
#define RESTORE_TASK_STOPPED 3

struct restore_image {
	pid_t pid;
	PstreeEntry *pstree;
	CoreEntry *core; /* of the leader: core-PID.img */
	/* The other threads, in pstree order: tids[i] and core-TID.img. */
	pid_t *tids;
	CoreEntry **thread_cores;
	size_t nr_threads;
	MmEntry *mm;
	FsEntry *fs;
	FileEntry **files; /* entries of files.img, by ascending id */
	size_t nr_files;
	uint32_t *file_fds;   /* per file: how many dumped fds refer to it */
	FdinfoEntry **fdinfo; /* fdinfo-ID.img, ID from ids-PID.img */
	size_t nr_fdinfo;
	int has_fdinfo;		/* 0 for images without fdinfo-ID.img: the process gets /dev/null as stdio */
	uint32_t files_id;	/* from ids-PID.img: processes sharing an fd table have one */
	uint32_t fs_id;		/* likewise for an fs context */
	PagemapEntry **pagemap; /* the runs of dumped pages, in image order */
	size_t nr_pagemap;
	uint32_t pages_id;	      /* pages-ID.img */
	uint64_t nr_pages;	      /* sum of the runs in pages-ID.img */
	uint64_t nr_parent_pages;     /* sum of the cow_parent runs: the parent's pages, inherited */
	struct restore_shmem *shmems; /* shared anonymous objects (restore-shmem.h) */
	size_t nr_shmems;
	struct restore_ghost *ghosts; /* unlinked files (restore-ghost.h) */
	size_t nr_ghosts;
	FileLockEntry **locks; /* its file locks, from filelocks.img (file-locks.h) */
	size_t nr_locks;
	void *kind_state[FD_KIND_NR]; /* what a kind of file read from images of its own (fd_kind.load) */
	/*
	 * From ids-PID.img too: its address space and signal handlers. A child
	 * sharing its parent's (mm_elsewhere: no mm or pagemap loaded) is taken out
	 * of the tree into the parent's sharers, made by the parent's own clone3
	 * (restore-sharedmm.h).
	 */
	uint32_t vm_id;
	uint32_t sighand_id;
	bool mm_elsewhere;
	struct restore_image *sharers;
	size_t nr_sharers;
	struct restore_image *vfork_child; /* the sharer its thread vfork_tid was in vfork() for (restore-vfork.h) */
	pid_t vfork_tid;		   /* that thread: the main one (pid) or one of tids */
};

/* True for a process dumped as a zombie. */
bool restore_image_is_zombie(const struct restore_image *img);

/* The index of file @id in img->files, or -1. */
ssize_t restore_images_file_idx(const struct restore_image *img, uint32_t id);

/* The REG entry of file @id, or NULL if there is none (or it is of another type). */
const RegFileEntry *restore_images_file(const struct restore_image *img, uint32_t id);

/* The VMA of @mm that holds @addr, or NULL (the VMAs are sorted and apart, as the load checked). */
const VmaEntry *restore_images_vma_at(const MmEntry *mm, uint64_t addr);

/* True for the VMAs the kernel provides ([vdso], [vvar], [vvar_vclock], [vsyscall]). */
int restore_vma_is_special(const VmaEntry *vma);

/* Whether a mapping of process @ri is file @id (a file of files.img). */
bool restore_image_maps_file(const struct restore_image *ri, uint32_t id);

#endif /* CRIU_NG_RESTORE_IMAGE_H */
