/*
 * eventfds, both directions (see include/eventfd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "array.h"
#include "eventfd.h"
#include "files.h"
#include "image.h"
#include "proc-parse.h"
#include "restore-fds.h"

#define LOG_PREFIX "eventfd: "
#include "log.h"

#define EVENTFD_LINK "anon_inode:[eventfd]"
#define EVENTFD_FLAGS (EFD_SEMAPHORE | O_NONBLOCK | O_RDWR | O_RDONLY | O_WRONLY)

bool eventfd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, EVENTFD_LINK);
}

struct count_lines {
	struct eventfd_file *ef;
	bool has_count;
};

/* The "eventfd-count:" and "eventfd-semaphore:" lines of /proc/PID/fdinfo/FD. */
static int count_line(void *arg, char *line)
{
	struct count_lines *cl = arg;
	unsigned long long v;
	int sem;

	if (sscanf(line, "eventfd-count: %llx", &v) == 1)
		cl->ef->counter = v, cl->has_count = true;
	else if (sscanf(line, "eventfd-semaphore: %d", &sem) == 1 && sem)
		cl->ef->flags |= EFD_SEMAPHORE;
	return 0;
}

static int parse_fdinfo(pid_t pid, int fd, struct eventfd_file *ef)
{
	struct count_lines cl = { .ef = ef };
	int ret = proc_fdinfo_lines(pid, fd, count_line, &cl);

	if (!ret && !cl.has_count) {
		pr_err("/proc/%d/fdinfo/%d has no eventfd-count\n", pid, fd);
		ret = -EINVAL;
	}
	return ret;
}

int eventfd_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct eventfd_dump *d = &c->fdump->eventfd;
	struct eventfd_file *ef;
	int ret;

	ret = ARRAY_RESERVE(d->v, d->nr, d->cap, 4);
	if (ret)
		return ret;
	ef = &d->v[d->nr];
	memset(ef, 0, sizeof(*ef));
	ef->id = *id = files_reg_new_id(&c->fdump->reg);
	ef->flags = p->flags & ~(uint32_t)(O_CLOEXEC | EFD_SEMAPHORE);
	ef->fown = p->fown;
	ret = parse_fdinfo(c->args->pid, p->fd, ef);
	if (ret)
		return ret;
	d->nr++;
	pr_debug("fd %d: eventfd, counter %llu, flags %#x\n", p->fd, (unsigned long long)ef->counter, ef->flags);
	return 0;
}

int eventfd_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	const struct eventfd_dump *d = &fdump->eventfd;
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr; i++) {
		FileEntry fe = FILE_ENTRY__INIT;
		EventfdFileEntry e = EVENTFD_FILE_ENTRY__INIT;
		FownEntry fown;

		reg_fown_entry(&d->v[i].fown, &fown);
		e.id = d->v[i].id;
		e.flags = d->v[i].flags;
		e.fown = &fown;
		e.counter = d->v[i].counter;
		fe.type = FD_TYPES__EVENTFD;
		fe.id = e.id;
		fe.efd = &e;
		ret = img_write_entry(img, &fe);
	}
	return ret;
}

void eventfd_dump_free(struct files_dump *fdump)
{
	struct eventfd_dump *d = &fdump->eventfd;

	free(d->v);
	memset(d, 0, sizeof(*d));
}

int eventfd_check_entry(const FileEntry *fe, const char *name)
{
	const EventfdFileEntry *e = fe->efd;

	if (!e || e->id != fe->id || !e->fown) {
		pr_err("%s: file %u: an eventfd entry without its body or owner\n", name, fe->id);
		return -EINVAL;
	}
	if (e->counter == UINT64_MAX) {
		pr_err("%s: eventfd %u: counter %llu is out of range\n", name, fe->id, (unsigned long long)e->counter);
		return -EINVAL;
	}
	return 0;
}

static int open_one(const FileEntry *fe)
{
	const EventfdFileEntry *e = fe->efd;
	int fd = eventfd(0, EFD_CLOEXEC | (e->flags & (EFD_SEMAPHORE | EFD_NONBLOCK)));

	if (fd < 0) {
		pr_perror("Can't create eventfd %u", fe->id);
		return -errno;
	}
	/* eventfd() takes an unsigned int: a larger counter is written. */
	if (e->counter && write(fd, &e->counter, sizeof(e->counter)) != sizeof(e->counter)) {
		pr_perror("Can't set the counter of eventfd %u to %llu", fe->id, (unsigned long long)e->counter);
		close(fd);
		return -EIO;
	}
	return fd;
}

int eventfd_open(const struct restore_image *ri, struct restore_fds *fds)
{
	return restore_fds_make_each(ri, fds, FD_TYPES__EVENTFD, open_one);
}
