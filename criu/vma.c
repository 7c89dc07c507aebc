/*
 * Reading a process's VMAs from /proc/PID/smaps and classifying each as CRIU's
 * vma_entry does: protection, MAP_* flags, VMA_* status and madvise state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vma.h"

#define LOG_PREFIX "vma: "
#include "log.h"

#define DELETED_SUFFIX " (deleted)"
/* What smaps names the file of an anonymous hugetlb mapping (MAP_HUGETLB | MAP_ANONYMOUS). */
#define ANON_HUGEPAGE "/anon_hugepage"

/* VmFlags mnemonics (proc(5)) that map to a MAP_* flag or an madvise() state. */
struct vm_flag {
	char name[3];
	uint32_t map_flag;
	int madv;	 /* MADV_* or -1 */
	const char *why; /* not supported: what such an area is, for the refusal; NULL otherwise */
};

static const struct vm_flag vm_flags[] = {
	{ "gd", MAP_GROWSDOWN, -1, NULL },
	{ "nr", MAP_NORESERVE, -1, NULL },
	{ "lo", MAP_LOCKED, -1, NULL }, /* mlock()ed, or mapped MAP_LOCKED */
	{ "lf", 0, -1, NULL },		/* locked on fault: vma_entry.lock_onfault */
	{ "sr", 0, MADV_SEQUENTIAL, NULL },
	{ "rr", 0, MADV_RANDOM, NULL },
	{ "dc", 0, MADV_DONTFORK, NULL },
	{ "wf", 0, MADV_WIPEONFORK, NULL },
	{ "hg", 0, MADV_HUGEPAGE, NULL },
	{ "nh", 0, MADV_NOHUGEPAGE, NULL },
	{ "mg", 0, MADV_MERGEABLE, NULL },
	{ "dd", 0, MADV_DONTDUMP, NULL },
	{ "dp", MAP_DROPPABLE, -1, NULL }, /* replaces MAP_PRIVATE below */
	{ "sl", 0, -1, NULL },		   /* sealed with mseal(): vma_entry.sealed */
	{ "io", 0, -1, "a memory-mapped I/O area" },
	{ "pf", 0, -1, "an area of raw page frames" },
	{ "gu", 0, -1, NULL },		 /* may hold guard regions: see find_guards() */
	{ "ht", MAP_HUGETLB, -1, NULL }, /* hugetlb: see hugetlb_area() */
};

static void parse_vm_flags(struct vma_area *vma, const char *val)
{
	char name[8];
	int n;

	while (sscanf(val, "%7s%n", name, &n) == 1) {
		val += n;
		for (size_t i = 0; i < sizeof(vm_flags) / sizeof(vm_flags[0]); i++) {
			const struct vm_flag *f = &vm_flags[i];

			if (strcmp(name, f->name))
				continue;
			if (f->map_flag == MAP_DROPPABLE)
				vma->flags &= ~VMA_MAP_TYPE;
			if (!strcmp(f->name, "lf"))
				vma->lock_onfault = true;
			if (!strcmp(f->name, "sl"))
				vma->sealed = true;
			if (!strcmp(f->name, "gu"))
				vma->maybe_guard = true;
			vma->flags |= f->map_flag;
			if (f->madv >= 0)
				vma->madv |= 1ull << f->madv;
			/* The kernel's own [vvar] areas are I/O mappings too; they are recreated, not dumped. */
			if (f->why && !(vma->status & (VMA_AREA_VVAR | VMA_AREA_VDSO | VMA_AREA_VSYSCALL))) {
				vma->status |= VMA_UNSUPP;
				vma->unsupp = f->why;
			}
		}
	}
}

/*
 * A hugetlb area: anonymous ones and hugetlb memfds take their page size into
 * vma->flags (CRIU's encoding), hugetlbfs files are refused.
 */
static void hugetlb_area(struct vma_area *vma)
{
	uint32_t bits = vma_hugepage_bits(vma->kernel_page_size);

	if (!(vma->flags & MAP_ANONYMOUS) && !(vma->status & VMA_AREA_MEMFD)) {
		vma->status |= VMA_UNSUPP;
		vma->unsupp = "a hugetlbfs file mapping";
		return;
	}
	if (!bits) {
		vma->status |= VMA_UNSUPP;
		vma->unsupp = "a hugetlb mapping of an unknown page size";
		return;
	}
	vma->flags |= bits;
}

/* The status of a [special] area; false when @name isn't one we know. */
static bool classify_special(struct vma_area *vma, const char *name)
{
	static const struct {
		const char *name;
		uint32_t status;
	} special[] = {
		{ "[heap]", VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_HEAP },
		{ "[stack]", VMA_AREA_REGULAR | VMA_ANON_PRIVATE },
		/* The kernel's areas: private anonymous memory with a mark, as CRIU records them. */
		{ "[vdso]", VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_VDSO },
		{ "[vvar]", VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_VVAR },
		{ "[vvar_vclock]", VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_VVAR },
		{ "[vsyscall]", VMA_ANON_PRIVATE | VMA_AREA_VSYSCALL },
	};

	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		if (!strcmp(name, special[i].name)) {
			vma->status |= special[i].status;
			return true;
		}
	}
	return false;
}

/*
 * The file path of a smaps line: the kernel writes a newline in it as the octal
 * escape \012 (nothing else is escaped), turned back into one here.
 */
static char *unescape_path(const char *name, size_t len)
{
	char *path = malloc(len + 1);
	size_t j = 0;

	if (!path)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '\\' && len - i >= 4 && !strncmp(name + i + 1, "012", 3)) {
			path[j++] = '\n';
			i += 3;
		} else {
			path[j++] = name[i];
		}
	}
	path[j] = '\0';
	return path;
}

static void classify(struct vma_area *vma, char shared, const char *name)
{
	size_t len = strlen(name), slen = strlen(DELETED_SUFFIX);

	vma->flags |= shared == 's' ? MAP_SHARED : MAP_PRIVATE;
	if (!*name || !strncmp(name, "[anon:", 6) || !strncmp(name, "[anon_shmem:", 12)) {
		/* Anonymous, possibly named with PR_SET_VMA_ANON_NAME. */
		vma->flags |= MAP_ANONYMOUS;
		vma->status |= VMA_AREA_REGULAR | (shared == 's' ? VMA_ANON_SHARED : VMA_ANON_PRIVATE);
		return;
	}
	if (name[0] == '[') {
		if (!classify_special(vma, name))
			vma->status |= VMA_UNSUPP;
		if (vma->status & VMA_ANON_PRIVATE)
			vma->flags |= MAP_ANONYMOUS;
		return;
	}
	if (len > slen && !strcmp(name + len - slen, DELETED_SUFFIX)) {
		vma->deleted = true;
		len -= slen;
	}
	vma->path = unescape_path(name, len);
	if (vma->deleted && len == 9 && !strncmp(name, "/dev/zero", 9) && shared == 's') {
		/* A MAP_SHARED | MAP_ANONYMOUS mapping: shmem the kernel names after /dev/zero. */
		vma->flags |= MAP_ANONYMOUS;
		vma->status |= VMA_AREA_REGULAR | VMA_ANON_SHARED;
	} else if (vma->deleted && len == strlen(ANON_HUGEPAGE) && !strncmp(name, ANON_HUGEPAGE, len)) {
		/* MAP_HUGETLB | MAP_ANONYMOUS: a file of the kernel's hugetlbfs; "ht" tells it (hugetlb_area()). */
		vma->flags |= MAP_ANONYMOUS;
		vma->status |= VMA_AREA_REGULAR | (shared == 's' ? VMA_ANON_SHARED : VMA_ANON_PRIVATE);
	} else if (!strncmp(name, "/memfd:", 7) && vma->deleted) {
		/* A memfd: its file entry is made from map_files (memfd.h). */
		vma->status |= VMA_AREA_REGULAR | VMA_AREA_MEMFD | (shared == 's' ? VMA_FILE_SHARED : VMA_FILE_PRIVATE);
	} else if (!strncmp(name, "/SYSV", 5) && vma->deleted) {
		vma->status |= VMA_AREA_REGULAR | VMA_AREA_SYSVIPC;
	} else if (!strcmp(name, "/[aio] (deleted)")) {
		vma->status |= VMA_AREA_REGULAR | VMA_AREA_AIORING;
	} else {
		vma->status |= VMA_AREA_REGULAR | (shared == 's' ? VMA_FILE_SHARED : VMA_FILE_PRIVATE);
	}
}

static int vma_list_add(struct vma_list *list, struct vma_area **vma)
{
	if (list->nr == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		struct vma_area *vmas = realloc(list->vmas, cap * sizeof(*vmas));

		if (!vmas)
			return -ENOMEM;
		list->vmas = vmas;
		list->cap = cap;
	}
	*vma = &list->vmas[list->nr++];
	memset(*vma, 0, sizeof(**vma));
	return 0;
}

/* A "start-end perms offset dev inode [name]" line; returns 1 if @line isn't one. */
static int parse_header(struct vma_list *list, const char *line)
{
	unsigned long long start, end, pgoff, ino;
	unsigned int maj, min;
	char perms[5], name[4096 + 64];
	struct vma_area *vma;
	int n = 0, ret;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, perms, &pgoff, &maj, &min, &ino, &n) != 7)
		return 1;
	name[0] = '\0';
	sscanf(line + n, " %4159[^\n]", name);
	ret = vma_list_add(list, &vma);
	if (ret)
		return ret;
	vma->start = start;
	vma->end = end;
	vma->pgoff = pgoff;
	vma->dev = makedev(maj, min);
	vma->ino = ino;
	vma->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		    (perms[2] == 'x' ? PROT_EXEC : 0);
	classify(vma, perms[3], name);
	if (name[0] == '/' && !vma->path)
		return -ENOMEM;
	return 0;
}

#define PME_GUARD_REGION (1ull << 58) /* a page of a MADV_GUARD_INSTALL guard region */

/*
 * Refuses the areas holding guard regions (MADV_GUARD_INSTALL): VmFlags "gu"
 * only says one was installed once, pagemap tells the guard pages there are.
 */
static int find_guards(pid_t pid, struct vma_list *list)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t pme[512];
	char path[64];
	int fd = -1, ret = 0;

	for (size_t i = 0; !ret && i < list->nr; i++) {
		struct vma_area *v = &list->vmas[i];

		if (!v->maybe_guard)
			continue;
		if (fd < 0) {
			snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				pr_perror("Can't open %s", path);
				return -errno;
			}
		}
		for (uint64_t pg = v->start / page; !ret && pg < v->end / page && !(v->status & VMA_UNSUPP);) {
			uint64_t n = v->end / page - pg < 512 ? v->end / page - pg : 512;
			ssize_t got = pread(fd, pme, n * sizeof(pme[0]), (off_t)(pg * sizeof(pme[0])));

			if (got != (ssize_t)(n * sizeof(pme[0]))) {
				ret = got < 0 ? -errno : -EIO;
				pr_err("can't read /proc/%d/pagemap at %#llx\n", pid, (unsigned long long)(pg * page));
				break;
			}
			for (uint64_t j = 0; j < n; j++) {
				if (pme[j] & PME_GUARD_REGION) {
					v->status |= VMA_UNSUPP;
					v->unsupp = "an area with guard regions (MADV_GUARD_INSTALL)";
					break;
				}
			}
			pg += n;
		}
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int vma_list_collect(pid_t pid, struct vma_list *list)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("Can't open %s", path);
		return -errno;
	}
	while (!ret && getline(&line, &cap, f) > 0) {
		unsigned long long kb;

		if (!strncmp(line, "VmFlags:", 8)) {
			if (list->nr)
				parse_vm_flags(&list->vmas[list->nr - 1], line + 8);
			if (list->nr && (list->vmas[list->nr - 1].flags & MAP_HUGETLB))
				hugetlb_area(&list->vmas[list->nr - 1]);
			continue;
		}
		if (list->nr && sscanf(line, "KernelPageSize: %llu kB", &kb) == 1) {
			list->vmas[list->nr - 1].kernel_page_size = kb * 1024;
			continue;
		}
		ret = parse_header(list, line);
		if (ret == 1)
			ret = 0; /* one of the counters of the VMA */
	}
	if (!ret && ferror(f))
		ret = -EIO;
	if (ret)
		pr_err("%s: can't parse (%d)\n", path, ret);
	free(line);
	fclose(f);
	return ret ?: find_guards(pid, list);
}

void vma_list_free(struct vma_list *list)
{
	for (size_t i = 0; i < list->nr; i++)
		free(list->vmas[i].path);
	free(list->vmas);
	memset(list, 0, sizeof(*list));
}

bool vma_has_private_pages(const struct vma_area *vma)
{
	if (!(vma->status & VMA_AREA_REGULAR) || (vma->status & (VMA_AREA_VDSO | VMA_AREA_VVAR | VMA_UNSUPP)))
		return false;
	return vma_flags_private(vma->flags);
}

const struct vma_area *vma_list_find_heap(const struct vma_list *list)
{
	for (size_t i = 0; i < list->nr; i++)
		if (list->vmas[i].status & VMA_AREA_HEAP)
			return &list->vmas[i];
	return NULL;
}
