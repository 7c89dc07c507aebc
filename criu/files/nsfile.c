/*
 * Open namespace files, both directions (see include/nsfile.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "files.h"
#include "ids.h"
#include "image.h"
#include "nsfile.h"
#include "restore-fds.h"

#define LOG_PREFIX "nsfile: "
#include "log.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The file status flags a namespace file is opened with again. */
#define NSFILE_FLAGS (O_ACCMODE | O_NONBLOCK | O_PATH)
/* The kernel's O_LARGEFILE, which fdinfo shows on x86-64 (glibc defines it there as 0). */
#define KERNEL_O_LARGEFILE 0100000

struct ns_kind {
	const char *name; /* under /proc/PID/ns, and before ":[" in an fd's link */
	uint32_t cflag;
};

static const struct ns_kind ns_kinds[] = {
	{ "net", CLONE_NEWNET }, { "ipc", CLONE_NEWIPC },   { "uts", CLONE_NEWUTS },	   { "mnt", CLONE_NEWNS },
	{ "pid", CLONE_NEWPID }, { "user", CLONE_NEWUSER }, { "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

#define NR_NS_KINDS (sizeof(ns_kinds) / sizeof(ns_kinds[0]))

/* The kind a link such as "net:[4026531840]" names, or NULL. */
static const struct ns_kind *kind_of_link(const char *link)
{
	for (size_t i = 0; i < NR_NS_KINDS; i++) {
		size_t n = strlen(ns_kinds[i].name);
		const char *s = link + n;
		char *end;

		if (strncmp(link, ns_kinds[i].name, n) || strncmp(s, ":[", 2) || !isdigit((unsigned char)s[2]))
			continue;
		if (strtoull(s + 2, &end, 10) && end[0] == ']' && !end[1])
			return &ns_kinds[i];
	}
	return NULL;
}

static const struct ns_kind *kind_of_cflag(uint32_t cflag)
{
	for (size_t i = 0; i < NR_NS_KINDS; i++)
		if (ns_kinds[i].cflag == cflag)
			return &ns_kinds[i];
	return NULL;
}

bool nsfile_match(const struct fd_probe *p)
{
	return kind_of_link(p->link) != NULL;
}

static int ns_stat(pid_t pid, const char *kind, struct stat *st)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, kind);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	if (stat(path, st) < 0) {
		pr_perror("Can't stat %s", path);
		return -errno;
	}
	return 0;
}

/* The id of the namespace of @k that process @pid lives in, as ids-PID.img numbers it. */
static int lived_ns_id(pid_t pid, const struct ns_kind *k, const struct fd_probe *p, uint32_t *ns_id)
{
	struct stat lives, criu;
	bool own_net = false;
	int ret;

	ret = ns_stat(pid, k->name, &lives);
	if (ret)
		return ret;
	if (lives.st_ino != p->st.st_ino || lives.st_dev != p->st.st_dev) {
		pr_err("fd %d of process %d is %s, a %s namespace the process does not live in: not supported yet\n",
		       p->fd, pid, p->link, k->name);
		return -EOPNOTSUPP;
	}
	if (k->cflag == CLONE_NEWNET) {
		ret = ns_stat(0, k->name, &criu);
		if (ret)
			return ret;
		own_net = criu.st_ino != lives.st_ino;
	}
	ret = ids_ns_id(k->name, own_net, ns_id);
	if (ret)
		pr_err("fd %d of process %d is %s: criu has no id for %s namespaces\n", p->fd, pid, p->link, k->name);
	return ret;
}

int nsfile_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct nsfile_dump *d = &c->fdump->nsfile;
	const struct ns_kind *k = kind_of_link(p->link);
	NsFileEntry *e;
	uint32_t ns_id;
	int ret;

	ret = lived_ns_id(c->args->pid, k, p, &ns_id);
	if (ret)
		return ret;
	ret = ARRAY_RESERVE(d->v, d->nr, d->cap, 4);
	if (ret)
		return ret;
	e = &d->v[d->nr++];
	ns_file_entry__init(e);
	e->id = *id = files_reg_new_id(&c->fdump->reg);
	e->ns_id = ns_id;
	e->ns_cflag = k->cflag;
	e->flags = p->flags & ~(uint32_t)O_CLOEXEC;
	pr_debug("fd %d: %s, namespace id %u, flags %#x\n", p->fd, p->link, ns_id, e->flags);
	return 0;
}

int nsfile_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	const struct nsfile_dump *d = &fdump->nsfile;
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr; i++) {
		FileEntry fe = FILE_ENTRY__INIT;

		fe.type = FD_TYPES__NS;
		fe.id = d->v[i].id;
		fe.nsf = &d->v[i];
		ret = img_write_entry(img, &fe);
	}
	return ret;
}

void nsfile_dump_free(struct files_dump *fdump)
{
	struct nsfile_dump *d = &fdump->nsfile;

	free(d->v);
	memset(d, 0, sizeof(*d));
}

int nsfile_check_entry(const FileEntry *fe, const char *name)
{
	const NsFileEntry *e = fe->nsf;
	const struct ns_kind *k;
	uint32_t criu_id, own_id = 0;

	if (!e || e->id != fe->id) {
		pr_err("%s: file %u: a namespace file entry without its body\n", name, fe->id);
		return -EINVAL;
	}
	k = kind_of_cflag(e->ns_cflag);
	if (!k) {
		pr_err("%s: namespace file %u: ns_cflag %#x is not one namespace kind\n", name, fe->id, e->ns_cflag);
		return -EINVAL;
	}
	if (e->flags & ~(uint32_t)(NSFILE_FLAGS | KERNEL_O_LARGEFILE)) {
		pr_err("%s: namespace file %u: flags %#x are not those of a namespace file\n", name, fe->id, e->flags);
		return -EINVAL;
	}
	if (ids_ns_id(k->name, false, &criu_id)) {
		pr_err("%s: namespace file %u: this kernel has no %s namespaces\n", name, fe->id, k->name);
		return -EOPNOTSUPP;
	}
	if (k->cflag == CLONE_NEWNET)
		own_id = ids_own_net_ns_id();
	if (e->ns_id != criu_id && e->ns_id != own_id) {
		pr_err("%s: namespace file %u names %s namespace %u, not one the tree is restored in: "
		       "not supported yet\n",
		       name, fe->id, k->name, e->ns_id);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* criu is in the namespaces the tree is restored in (its own network namespace made already). */
static int open_one(const FileEntry *fe)
{
	const NsFileEntry *e = fe->nsf;
	const struct ns_kind *k = kind_of_cflag(e->ns_cflag);
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", k->name);
	fd = open(path, (int)(e->flags & NSFILE_FLAGS) | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open %s for namespace file %u", path, fe->id);
		return -errno;
	}
	return fd;
}

int nsfile_open(const struct restore_image *ri, struct restore_fds *fds)
{
	return restore_fds_make_each(ri, fds, FD_TYPES__NS, open_one);
}
