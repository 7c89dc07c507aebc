/*
 * The virtual memory areas of a process, read from /proc/PID/smaps and classified
 * the way CRIU's vma_entry records them (prot, MAP_* flags, VMA_* status bits,
 * madvise bits).
 */
#ifndef CRIU_NG_VMA_H
#define CRIU_NG_VMA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

/* vma_entry.status bits (CRIU's values). */
#define VMA_AREA_REGULAR (1u << 0) /* a mapping to restore */
#define VMA_AREA_STACK (1u << 1)
#define VMA_AREA_VSYSCALL (1u << 2)
#define VMA_AREA_VDSO (1u << 3)
#define VMA_AREA_HEAP (1u << 5)
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_FILE_SHARED (1u << 7)
#define VMA_ANON_SHARED (1u << 8)
#define VMA_ANON_PRIVATE (1u << 9)
#define VMA_AREA_SYSVIPC (1u << 10)
#define VMA_AREA_SOCKET (1u << 11)
#define VMA_AREA_VVAR (1u << 12)
#define VMA_AREA_AIORING (1u << 13)
#define VMA_AREA_MEMFD (1u << 14) /* with VMA_FILE_*: a memfd, shmid naming its memfd_file_entry */
#define VMA_UNSUPP (1u << 31)

/*
 * The mapping types of vma_entry.flags: MAP_SHARED, MAP_PRIVATE, or (Linux
 * 6.11) MAP_DROPPABLE, private anonymous memory the kernel may free under
 * pressure; smaps shows it "p" with the VmFlags mnemonic "dp", and it is
 * recorded, as CRIU records it, with MAP_DROPPABLE in place of MAP_PRIVATE.
 */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#define VMA_MAP_TYPE 0x0fu

/*
 * A hugetlb area (VmFlags "ht") has MAP_HUGETLB and its page size, as mmap()
 * takes it (log2 of the size in bits 26-31), in vma_entry.flags, as CRIU
 * records it. Only anonymous ones ("/anon_hugepage (deleted)") are dumped.
 */
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define VMA_HUGE_MASK (0x3fu << MAP_HUGE_SHIFT)

/* The size bits (log2 of @size in bits 26-31) of a huge page of @size bytes; 0 if it can't be one. */
static inline uint32_t vma_hugepage_bits(uint64_t size)
{
	unsigned int shift = 0;

	while (shift < 63 && (1ull << shift) < size)
		shift++;
	if (shift < 12 || (1ull << shift) != size || shift > 0x3f)
		return 0;
	return (uint32_t)shift << MAP_HUGE_SHIFT;
}

/* The page size of a hugetlb area of vma_entry.flags @flags; 0 if it isn't one. */
static inline uint64_t vma_flags_hugepage(uint32_t flags)
{
	if (!(flags & MAP_HUGETLB) || !(flags & VMA_HUGE_MASK))
		return 0;
	return 1ull << ((flags & VMA_HUGE_MASK) >> MAP_HUGE_SHIFT);
}

/* True for the private mapping types, whose pages are the process's own. */
static inline bool vma_flags_private(uint32_t flags)
{
	return (flags & VMA_MAP_TYPE) == MAP_PRIVATE || (flags & VMA_MAP_TYPE) == MAP_DROPPABLE;
}

struct vma_area {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;	 /* offset in the file, in bytes */
	uint32_t prot;	 /* PROT_* */
	uint32_t flags;	 /* MAP_* */
	uint32_t status; /* VMA_* above */
	uint64_t madv;	 /* 1 << MADV_* for each madvise() state set */
	dev_t dev;
	ino_t ino;
	char *path;		   /* the mapped file or the [name] of a special area; NULL if anonymous */
	bool deleted;		   /* the mapped file was unlinked */
	uint64_t kernel_page_size; /* bytes, from smaps: larger than a page in a hugetlb area */
	const char *unsupp;	   /* with VMA_UNSUPP: what the area is, when known */
	bool lock_onfault;	   /* VmFlags "lf": mlock2(MLOCK_ONFAULT) */
	bool sealed;		   /* VmFlags "sl": mseal() */
	bool maybe_guard;	   /* VmFlags "gu": guard regions were installed in it */
};

struct vma_list {
	struct vma_area *vmas;
	size_t nr;
	size_t cap;
};

/* Reads and classifies the VMAs of @pid into @list (zeroed by the caller). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int vma_list_collect(pid_t pid, struct vma_list *list);
void vma_list_free(struct vma_list *list);

/* True when the VMA's private pages are dumped into the pages image. */
bool vma_has_private_pages(const struct vma_area *vma);

/* The [heap] area, or NULL. */
const struct vma_area *vma_list_find_heap(const struct vma_list *list);

#endif /* CRIU_NG_VMA_H */
