/*
 * timerfd00: timerfds of every kind a program holds. A periodic timer on
 * CLOCK_MONOTONIC (non-blocking) that expires every 30 ms; a one-shot timer
 * on CLOCK_MONOTONIC due in an hour; an absolute one-shot on CLOCK_REALTIME
 * with TFD_TIMER_CANCEL_ON_SET due in an hour; a one-shot that expired and
 * was not read (one tick waiting); a disarmed timer on CLOCK_BOOTTIME.
 *
 * After restore each has its clock (fdinfo), flags, period and at most the
 * time it had left; the unread tick is still there; the periodic one keeps
 * firing; the disarmed one stays disarmed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define HOUR_S 3600
#define PERIOD_NS 30000000ll

enum {
	T_PERIODIC,
	T_ONESHOT,
	T_ABS,
	T_EXPIRED,
	T_DISARMED,
	NR_TIMERS
};

static const char *const names[NR_TIMERS] = { "periodic", "one-shot", "absolute", "expired", "disarmed" };
static const clockid_t clocks[NR_TIMERS] = { CLOCK_MONOTONIC, CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_MONOTONIC,
					     CLOCK_BOOTTIME };

static long long ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

/* The clockid line of /proc/self/fdinfo/FD, -1 if none. */
static int fdinfo_clock(int fd)
{
	char path[64], line[256];
	int clock = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "clockid: %d", &clock) == 1)
			break;
	fclose(f);
	return clock;
}

static int check_timer(int i, int fd, const struct itimerspec *before)
{
	int flags = fcntl(fd, F_GETFL), want_flags = i == T_PERIODIC ? O_NONBLOCK : 0;
	struct itimerspec now;

	if (timerfd_gettime(fd, &now)) {
		fail("timerfd_gettime of the %s timer", names[i]);
		return 1;
	}
	if (fdinfo_clock(fd) != (int)clocks[i]) {
		fail("%s timer: clock %d, was %d", names[i], fdinfo_clock(fd), (int)clocks[i]);
		return 1;
	}
	if (flags < 0 || (flags & O_NONBLOCK) != want_flags) {
		fail("%s timer: flags %#x", names[i], flags);
		return 1;
	}
	if (ts_ns(&now.it_interval) != ts_ns(&before->it_interval)) {
		fail("%s timer: period %lld ns, was %lld", names[i], ts_ns(&now.it_interval),
		     ts_ns(&before->it_interval));
		return 1;
	}
	if (i == T_DISARMED && ts_ns(&now.it_value)) {
		fail("the disarmed timer is armed (%lld ns left)", ts_ns(&now.it_value));
		return 1;
	}
	if ((i == T_ONESHOT || i == T_ABS) &&
	    (ts_ns(&now.it_value) <= 0 || ts_ns(&now.it_value) > ts_ns(&before->it_value))) {
		fail("%s timer: %lld ns left, %lld before the checkpoint", names[i], ts_ns(&now.it_value),
		     ts_ns(&before->it_value));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct itimerspec set[NR_TIMERS], before[NR_TIMERS];
	int fd[NR_TIMERS], ret = 0;
	struct timespec rt;
	uint64_t ticks;

	test_init(argc, argv);
	memset(set, 0, sizeof(set));
	set[T_PERIODIC].it_value.tv_nsec = PERIOD_NS;
	set[T_PERIODIC].it_interval.tv_nsec = PERIOD_NS;
	set[T_ONESHOT].it_value.tv_sec = HOUR_S;
	clock_gettime(CLOCK_REALTIME, &rt);
	set[T_ABS].it_value.tv_sec = rt.tv_sec + HOUR_S;
	set[T_EXPIRED].it_value.tv_nsec = 1000;
	for (int i = 0; i < NR_TIMERS; i++) {
		int flags = i == T_ABS ? TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET : 0;

		fd[i] = timerfd_create(clocks[i], i == T_PERIODIC ? TFD_NONBLOCK : 0);
		if (fd[i] < 0 || timerfd_settime(fd[i], flags, &set[i], NULL)) {
			fail("can't make the %s timer", names[i]);
			return 1;
		}
	}
	usleep(10000); /* the expired one fires */

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_TIMERS; i++) {
		before[i] = set[i];
		if (i == T_ABS)
			before[i].it_value.tv_sec = HOUR_S;
		ret |= check_timer(i, fd[i], &before[i]);
	}
	/* A blocking read: the tick is there, or this hangs until the runner's timeout. */
	if (read(fd[T_EXPIRED], &ticks, sizeof(ticks)) != sizeof(ticks) || ticks != 1) {
		fail("the expired timer's unread tick: read %llu", (unsigned long long)ticks);
		ret = 1;
	}
	usleep(4 * PERIOD_NS / 1000);
	if (read(fd[T_PERIODIC], &ticks, sizeof(ticks)) != sizeof(ticks) || ticks < 2) {
		fail("the periodic timer: %llu tick(s) in %lld ms", (unsigned long long)ticks, 4 * PERIOD_NS / 1000000);
		ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
