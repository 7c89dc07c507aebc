/*
 * signalfd00: two signalfds. One (non-blocking) takes SIGUSR1 and SIGRTMIN+3,
 * which are blocked and one of each already pending (SIGRTMIN+3 twice, with
 * its values); the other takes SIGUSR2 and nothing is pending for it.
 *
 * After restore the masks are the same (fdinfo), the pending signals are read
 * through the first signalfd with their values, in order, and the second
 * reports a SIGUSR2 raised after the restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "zdtmtst.h"

/* The sigmask line of /proc/self/fdinfo/FD. */
static unsigned long long fdinfo_mask(int fd)
{
	unsigned long long mask = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "sigmask: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask;
}

static int read_sig(int fd, int want_sig, int want_val)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si)) {
		fail("reading signal %d", want_sig);
		return 1;
	}
	if ((int)si.ssi_signo != want_sig || (want_val >= 0 && si.ssi_int != want_val)) {
		fail("got signal %u value %d, want %d value %d", si.ssi_signo, si.ssi_int, want_sig, want_val);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long mask1, mask2;
	sigset_t set1, set2, all;
	union sigval v;
	int fd1, fd2, ret = 0;

	test_init(argc, argv);
	sigemptyset(&set1);
	sigaddset(&set1, SIGUSR1);
	sigaddset(&set1, SIGRTMIN + 3);
	sigemptyset(&set2);
	sigaddset(&set2, SIGUSR2);
	sigemptyset(&all);
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGUSR2);
	sigaddset(&all, SIGRTMIN + 3);
	if (sigprocmask(SIG_BLOCK, &all, NULL)) {
		fail("sigprocmask");
		return 1;
	}
	fd1 = signalfd(-1, &set1, SFD_NONBLOCK);
	fd2 = signalfd(-1, &set2, 0);
	if (fd1 < 0 || fd2 < 0) {
		fail("signalfd");
		return 1;
	}
	v.sival_int = 11;
	if (sigqueue(getpid(), SIGRTMIN + 3, v))
		fail("sigqueue");
	v.sival_int = 22;
	if (sigqueue(getpid(), SIGRTMIN + 3, v) || kill(getpid(), SIGUSR1))
		fail("sigqueue");
	mask1 = fdinfo_mask(fd1);
	mask2 = fdinfo_mask(fd2);

	test_daemon();
	test_waitsig();

	if (fdinfo_mask(fd1) != mask1 || fdinfo_mask(fd2) != mask2) {
		fail("masks %#llx %#llx, were %#llx %#llx", fdinfo_mask(fd1), fdinfo_mask(fd2), mask1, mask2);
		ret = 1;
	}
	if (!(fcntl(fd1, F_GETFL) & O_NONBLOCK) || (fcntl(fd2, F_GETFL) & O_NONBLOCK)) {
		fail("O_NONBLOCK of the signalfds changed");
		ret = 1;
	}
	/* Standard signals are delivered first, lowest number first, then real-time ones in order. */
	ret |= read_sig(fd1, SIGUSR1, -1);
	ret |= read_sig(fd1, SIGRTMIN + 3, 11);
	ret |= read_sig(fd1, SIGRTMIN + 3, 22);
	if (!ret) {
		struct signalfd_siginfo si;

		if (read(fd1, &si, sizeof(si)) >= 0 || errno != EAGAIN) {
			fail("a signal too many on the first signalfd");
			ret = 1;
		}
	}
	if (kill(getpid(), SIGUSR2))
		fail("kill");
	ret |= read_sig(fd2, SIGUSR2, -1);
	if (!ret)
		pass();
	return ret;
}
