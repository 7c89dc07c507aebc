/*
 * signalfds, both directions (see include/signalfd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "array.h"
#include "files.h"
#include "image.h"
#include "proc-parse.h"
#include "restore-fds.h"
#include "restore-image.h"
#include "signalfd.h"

#define LOG_PREFIX "signalfd: "
#include "log.h"

#define SIGNALFD_LINK "anon_inode:[signalfd]"

bool signalfd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, SIGNALFD_LINK);
}

/* The "sigmask:" line of /proc/PID/fdinfo/FD, in hex: 1 once found. */
static int mask_line(void *arg, char *line)
{
	unsigned long long v;

	if (sscanf(line, "sigmask: %llx", &v) != 1)
		return 0;
	((SignalfdEntry *)arg)->sigmask = v;
	return 1;
}

static int parse_fdinfo(pid_t pid, int fd, SignalfdEntry *e)
{
	int ret = proc_fdinfo_lines(pid, fd, mask_line, e);

	if (!ret) {
		pr_err("/proc/%d/fdinfo/%d has no sigmask\n", pid, fd);
		return -EINVAL;
	}
	return ret < 0 ? ret : 0;
}

int signalfd_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct signalfd_dump *d = &c->fdump->signalfd;
	struct signalfd_file *sf;
	int ret;

	ret = ARRAY_RESERVE(d->v, d->nr, d->cap, 4);
	if (ret)
		return ret;
	sf = &d->v[d->nr];
	signalfd_entry__init(&sf->e);
	sf->e.id = *id = files_reg_new_id(&c->fdump->reg);
	sf->e.flags = p->flags & ~(uint32_t)O_CLOEXEC;
	reg_fown_entry(&p->fown, &sf->fown);
	ret = parse_fdinfo(c->args->pid, p->fd, &sf->e);
	if (ret)
		return ret;
	d->nr++;
	pr_debug("fd %d: signalfd, mask %#llx\n", p->fd, (unsigned long long)sf->e.sigmask);
	return 0;
}

int signalfd_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	const struct signalfd_dump *d = &fdump->signalfd;
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr; i++) {
		FileEntry fe = FILE_ENTRY__INIT;
		SignalfdEntry e = d->v[i].e;
		FownEntry fown = d->v[i].fown;

		e.fown = &fown;
		fe.type = FD_TYPES__SIGNALFD;
		fe.id = e.id;
		fe.sgfd = &e;
		ret = img_write_entry(img, &fe);
	}
	return ret;
}

void signalfd_dump_free(struct files_dump *fdump)
{
	free(fdump->signalfd.v);
	memset(&fdump->signalfd, 0, sizeof(fdump->signalfd));
}

/* Restore. */

int signalfd_check_entry(const FileEntry *fe, const char *name)
{
	const SignalfdEntry *e = fe->sgfd;

	if (!e || e->id != fe->id || !e->fown) {
		pr_err("%s: file %u: a signalfd entry without its body or owner\n", name, fe->id);
		return -EINVAL;
	}
	return 0;
}

static int open_one(const FileEntry *fe)
{
	const SignalfdEntry *e = fe->sgfd;
	uint64_t mask = e->sigmask;
	int fd;

	/* The raw syscall takes the kernel's 64-bit mask; SIGKILL and SIGSTOP bits are ignored by it. */
	fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask),
			  SFD_CLOEXEC | (e->flags & O_NONBLOCK ? SFD_NONBLOCK : 0));
	if (fd < 0) {
		pr_perror("Can't create signalfd %u with mask %#llx", fe->id, (unsigned long long)mask);
		return -errno;
	}
	return fd;
}

int signalfd_open(const struct restore_image *ri, struct restore_fds *fds)
{
	return restore_fds_make_each(ri, fds, FD_TYPES__SIGNALFD, open_one);
}
