/*
 * criu restore: itimers and POSIX timers of the process (see
 * include/restore-timers.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "restore-timers.h"

#define LOG_PREFIX "restore: "
#include "log.h"

/* prctl asking timer_create for the id in *created_timer_id (Linux 6.17). */
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif

#define TRAMP_SIGEVENT 2560  /* the struct sigevent of timer_create */
#define TRAMP_TIMER_ID 2624  /* the timer id it reads and writes */
#define TRAMP_TIMER_VAL 2688 /* a struct itimerval or itimerspec */

static long long tv_us(const struct timeval *tv)
{
	return (long long)tv->tv_sec * 1000000 + tv->tv_usec;
}

static long call_setitimer(struct restore_ctl *ctl, int which, const struct itimerval *v)
{
	uint64_t addr;
	long ret;

	ret = restore_ctl_put_data(ctl, TRAMP_TIMER_VAL, v, sizeof(*v), &addr);
	if (!ret)
		ret = restore_ctl_syscall(ctl, SYS_setitimer, 3, (uint64_t)which, addr, (uint64_t)0);
	return ret;
}

/*
 * The kernel adds a tick to the value of a CPU-time itimer it arms (so that it
 * never fires early): read back what it made of @v and take that excess off.
 */
static long trim_cpu_itimer(struct restore_ctl *ctl, int which, struct itimerval *v)
{
	struct itimerval got;
	long long excess;
	uint64_t addr;
	ssize_t n;
	long ret;

	ret = restore_ctl_put_data(ctl, TRAMP_TIMER_VAL, v, sizeof(*v), &addr);
	if (!ret)
		ret = restore_ctl_syscall(ctl, SYS_getitimer, 2, (uint64_t)which, addr);
	if (ret < 0)
		return ret;
	n = pread(ctl->mem_fd, &got, sizeof(got), (off_t)addr);
	if (n != (ssize_t)sizeof(got))
		return n < 0 ? -errno : -EIO;
	excess = tv_us(&got.it_value) - tv_us(&v->it_value);
	if (excess <= 0 || excess >= tv_us(&v->it_value))
		return 0;
	v->it_value.tv_sec = (time_t)((tv_us(&v->it_value) - excess) / 1000000);
	v->it_value.tv_usec = (suseconds_t)((tv_us(&v->it_value) - excess) % 1000000);
	return call_setitimer(ctl, which, v);
}

static int set_itimer(struct restore_ctl *ctl, int which, const ItimerEntry *e)
{
	struct itimerval v;
	long ret;

	if (!e || (!e->isec && !e->iusec && !e->vsec && !e->vusec))
		return 0; /* disarmed, as in a new process */
	v.it_interval.tv_sec = (time_t)e->isec, v.it_interval.tv_usec = (suseconds_t)e->iusec;
	v.it_value.tv_sec = (time_t)e->vsec, v.it_value.tv_usec = (suseconds_t)e->vusec;
	/*
	 * A periodic ITIMER_REAL that fired reads 0 until its SIGALRM is taken (the
	 * kernel rearms it then), and setitimer takes 0 as "disarm": arm it for an
	 * interval, the signal itself is among the pending ones.
	 */
	if (!v.it_value.tv_sec && !v.it_value.tv_usec)
		v.it_value = v.it_interval;
	ret = call_setitimer(ctl, which, &v);
	if (!ret && which != ITIMER_REAL)
		ret = trim_cpu_itimer(ctl, which, &v);
	if (ret < 0) {
		pr_err("can't set itimer %d of process %d: %s\n", which, ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

/* Reads back the id the kernel gave the timer just created. */
static int read_timer_id(struct restore_ctl *ctl, uint64_t addr, int32_t *id)
{
	ssize_t n = pread(ctl->mem_fd, id, sizeof(*id), (off_t)addr);

	if (n == (ssize_t)sizeof(*id))
		return 0;
	pr_err("can't read the new timer id in process %d: %s\n", ctl->pid, n < 0 ? strerror(errno) : "short read");
	return n < 0 ? -errno : -EIO;
}

static int create_timer(struct restore_ctl *ctl, const PosixTimerEntry *e)
{
	int32_t id = (int32_t)e->it_id, got = -1;
	uint64_t sev_addr, id_addr;
	struct sigevent sev;
	long ret;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_value.sival_ptr = (void *)(uintptr_t)e->sival_ptr;
	sev.sigev_signo = (int)e->si_signo;
	sev.sigev_notify = (int)e->it_sigev_notify;
	if (e->has_notify_thread_id)
		sev._sigev_un._tid = e->notify_thread_id; /* sigev_notify_thread_id */
	ret = restore_ctl_put_data(ctl, TRAMP_SIGEVENT, &sev, sizeof(sev), &sev_addr);
	if (!ret)
		ret = restore_ctl_put_data(ctl, TRAMP_TIMER_ID, &id, sizeof(id), &id_addr);
	if (!ret)
		ret = restore_ctl_syscall(ctl, SYS_timer_create, 3, (uint64_t)(int64_t)(int32_t)e->clock_id, sev_addr,
					  id_addr);
	if (!ret)
		ret = read_timer_id(ctl, id_addr, &got);
	if (ret < 0) {
		pr_err("can't create POSIX timer %d of process %d: %s\n", id, ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	if (got != id) {
		pr_err("POSIX timer %d of process %d came back as timer %d: this kernel can't choose timer ids\n", id,
		       ctl->pid, got);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int arm_timer(struct restore_ctl *ctl, const PosixTimerEntry *e)
{
	struct itimerspec its;
	uint64_t addr;
	long ret;

	if (!e->vsec && !e->vnsec)
		return 0; /* disarmed: created so */
	its.it_interval.tv_sec = (time_t)e->isec, its.it_interval.tv_nsec = (long)e->insec;
	its.it_value.tv_sec = (time_t)e->vsec, its.it_value.tv_nsec = (long)e->vnsec;
	ret = restore_ctl_put_data(ctl, TRAMP_TIMER_VAL, &its, sizeof(its), &addr);
	if (!ret)
		ret = restore_ctl_syscall(ctl, SYS_timer_settime, 4, (uint64_t)e->it_id, (uint64_t)0, addr,
					  (uint64_t)0);
	if (ret < 0) {
		pr_err("can't arm POSIX timer %u of process %d: %s\n", e->it_id, ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

static int restore_posix_timers(struct restore_ctl *ctl, const TaskTimersEntry *t)
{
	long ret, off;
	int err = 0;

	if (!t->n_posix)
		return 0;
	ret = restore_ctl_syscall(ctl, SYS_prctl, 2, (uint64_t)PR_TIMER_CREATE_RESTORE_IDS,
				  (uint64_t)PR_TIMER_CREATE_RESTORE_IDS_ON);
	if (ret < 0 && ret != -EINVAL) {
		pr_err("can't make process %d create timers by id: %s\n", ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	/* Without the prctl, a new process numbers its timers from 0: ids 0, 1, 2... still come out right. */
	for (size_t i = 0; !err && i < t->n_posix; i++)
		err = create_timer(ctl, t->posix[i]);
	if (ret == 0) {
		off = restore_ctl_syscall(ctl, SYS_prctl, 2, (uint64_t)PR_TIMER_CREATE_RESTORE_IDS,
					  (uint64_t)PR_TIMER_CREATE_RESTORE_IDS_OFF);
		if (off < 0 && !err) {
			pr_err("can't turn timer creation by id off in process %d: %s\n", ctl->pid,
			       strerror((int)-off));
			err = (int)off;
		}
	}
	for (size_t i = 0; !err && i < t->n_posix; i++)
		err = arm_timer(ctl, t->posix[i]);
	return err;
}

int restore_timers(struct restore_ctl *ctl, const TaskTimersEntry *t)
{
	int ret;

	if (!t)
		return 0;
	ret = restore_posix_timers(ctl, t);
	if (!ret)
		ret = set_itimer(ctl, ITIMER_REAL, t->real);
	if (!ret)
		ret = set_itimer(ctl, ITIMER_VIRTUAL, t->virt);
	if (!ret)
		ret = set_itimer(ctl, ITIMER_PROF, t->prof);
	return ret;
}
