/*
 * timerfds, both directions (see include/timerfd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "files.h"
#include "image.h"
#include "proc-parse.h"
#include "restore-fds.h"
#include "restore-image.h"
#include "timerfd.h"

#define LOG_PREFIX "timerfd: "
#include "log.h"

#define TIMERFD_LINK "anon_inode:[timerfd]"
#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif
#define NSEC_PER_SEC 1000000000ull
#define SETTIME_FLAGS (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET)

bool timerfd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, TIMERFD_LINK);
}

struct timer_lines {
	TimerfdEntry *e;
	unsigned int seen; /* a bit per line found */
};

/* A timer line of /proc/PID/fdinfo/FD; the settime flags are octal, the times "(sec, nsec)". */
static int timer_line(void *arg, char *line)
{
	struct timer_lines *tl = arg;
	TimerfdEntry *e = tl->e;
	unsigned long long a, b;
	unsigned int u;

	if (sscanf(line, "clockid: %u", &u) == 1)
		e->clockid = u, tl->seen |= 1;
	else if (sscanf(line, "ticks: %llu", &a) == 1)
		e->ticks = a, tl->seen |= 2;
	else if (sscanf(line, "settime flags: %o", &u) == 1)
		e->settime_flags = u, tl->seen |= 4;
	else if (sscanf(line, "it_value: (%llu, %llu)", &a, &b) == 2)
		e->vsec = a, e->vnsec = b, tl->seen |= 8;
	else if (sscanf(line, "it_interval: (%llu, %llu)", &a, &b) == 2)
		e->isec = a, e->insec = b, tl->seen |= 16;
	return 0;
}

static int parse_fdinfo(pid_t pid, int fd, TimerfdEntry *e)
{
	struct timer_lines tl = { .e = e };
	int ret = proc_fdinfo_lines(pid, fd, timer_line, &tl);

	if (!ret && tl.seen != 31) {
		pr_err("/proc/%d/fdinfo/%d lacks some of the timer's lines\n", pid, fd);
		ret = -EINVAL;
	}
	return ret;
}

int timerfd_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct timerfd_dump *d = &c->fdump->timerfd;
	struct timerfd_file *tf;
	int ret;

	ret = ARRAY_RESERVE(d->v, d->nr, d->cap, 4);
	if (ret)
		return ret;
	tf = &d->v[d->nr];
	timerfd_entry__init(&tf->e);
	tf->e.id = *id = files_reg_new_id(&c->fdump->reg);
	tf->e.flags = p->flags & ~(uint32_t)O_CLOEXEC;
	reg_fown_entry(&p->fown, &tf->fown);
	ret = parse_fdinfo(c->args->pid, p->fd, &tf->e);
	if (ret)
		return ret;
	d->nr++;
	pr_debug("fd %d: timerfd on clock %u, %llu.%09llu s left, period %llu.%09llu s, %llu tick(s) unread\n", p->fd,
		 tf->e.clockid, (unsigned long long)tf->e.vsec, (unsigned long long)tf->e.vnsec,
		 (unsigned long long)tf->e.isec, (unsigned long long)tf->e.insec, (unsigned long long)tf->e.ticks);
	return 0;
}

int timerfd_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	const struct timerfd_dump *d = &fdump->timerfd;
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr; i++) {
		FileEntry fe = FILE_ENTRY__INIT;
		TimerfdEntry e = d->v[i].e;
		FownEntry fown = d->v[i].fown;

		e.fown = &fown;
		fe.type = FD_TYPES__TIMERFD;
		fe.id = e.id;
		fe.tfd = &e;
		ret = img_write_entry(img, &fe);
	}
	return ret;
}

void timerfd_dump_free(struct files_dump *fdump)
{
	free(fdump->timerfd.v);
	memset(&fdump->timerfd, 0, sizeof(fdump->timerfd));
}

/* Restore. */

static bool clock_ok(uint32_t clockid)
{
	return clockid == CLOCK_REALTIME || clockid == CLOCK_MONOTONIC || clockid == CLOCK_BOOTTIME ||
	       clockid == CLOCK_REALTIME_ALARM || clockid == CLOCK_BOOTTIME_ALARM;
}

int timerfd_check_entry(const FileEntry *fe, const char *name)
{
	const TimerfdEntry *e = fe->tfd;

	if (!e || e->id != fe->id || !e->fown) {
		pr_err("%s: file %u: a timerfd entry without its body or owner\n", name, fe->id);
		return -EINVAL;
	}
	if (!clock_ok(e->clockid) || (e->settime_flags & ~(uint32_t)SETTIME_FLAGS) || e->vnsec >= NSEC_PER_SEC ||
	    e->insec >= NSEC_PER_SEC || e->vsec > INT64_MAX || e->isec > INT64_MAX) {
		pr_err("%s: timerfd %u: clock %u, flags %#x or times out of range\n", name, fe->id, e->clockid,
		       e->settime_flags);
		return -EINVAL;
	}
	return 0;
}

static struct timespec ts_add(struct timespec a, uint64_t sec, uint64_t nsec)
{
	a.tv_sec += (time_t)sec;
	a.tv_nsec += (long)nsec;
	if (a.tv_nsec >= (long)NSEC_PER_SEC) {
		a.tv_sec++;
		a.tv_nsec -= (long)NSEC_PER_SEC;
	}
	return a;
}

/* The arming that gives the timer of @e the time it had left (see timerfd.h). */
static int arming(const TimerfdEntry *e, struct itimerspec *its)
{
	struct timespec now;

	memset(its, 0, sizeof(*its));
	its->it_interval.tv_sec = (time_t)e->isec;
	its->it_interval.tv_nsec = (long)e->insec;
	its->it_value.tv_sec = (time_t)e->vsec;
	its->it_value.tv_nsec = (long)e->vnsec;
	/* Expired and not read: the kernel moves a periodic timer on only when it is read. */
	if (!e->vsec && !e->vnsec && e->ticks)
		its->it_value = its->it_interval;
	if (!(e->settime_flags & TFD_TIMER_ABSTIME) || (!its->it_value.tv_sec && !its->it_value.tv_nsec))
		return 0;
	if (clock_gettime((clockid_t)e->clockid, &now) < 0)
		return -errno;
	its->it_value = ts_add(now, (uint64_t)its->it_value.tv_sec, (uint64_t)its->it_value.tv_nsec);
	return 0;
}

static int open_one(const FileEntry *fe)
{
	const TimerfdEntry *e = fe->tfd;
	struct itimerspec its;
	uint64_t ticks = e->ticks;
	int fd, ret;

	fd = timerfd_create((int)e->clockid, TFD_CLOEXEC | (e->flags & O_NONBLOCK ? TFD_NONBLOCK : 0));
	if (fd < 0) {
		pr_perror("Can't create timerfd %u on clock %u", fe->id, e->clockid);
		return -errno;
	}
	ret = arming(e, &its);
	if (!ret && timerfd_settime(fd, (int)(e->settime_flags & SETTIME_FLAGS), &its, NULL) < 0)
		ret = -errno;
	/* After settime, which clears them. */
	if (!ret && ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks) < 0)
		ret = -errno;
	if (ret) {
		pr_err("can't arm timerfd %u as dumped: %s\n", fe->id, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

int timerfd_open(const struct restore_image *ri, struct restore_fds *fds)
{
	return restore_fds_make_each(ri, fds, FD_TYPES__TIMERFD, open_one);
}
