/*
 * sk-unix-scm_anon_ng: anonymous inode files and a netlink socket in flight in
 * a unix socket's queue (SCM_RIGHTS), in one datagram: an eventfd the process
 * still holds, a timerfd, a signalfd, an inotify instance, an empty epoll
 * instance and a netlink socket (all closed since). After restore the eventfd
 * received is the held one (kcmp) with its count, the timerfd is armed with
 * its interval, the signalfd takes its signal, the inotify instance sees a
 * file made in its directory, the epoll instance watches what is added to it
 * and the netlink socket is of its protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "scm.h"
#include "zdtmtst.h"

#define NR 6

static int check_anon(int efd, const int *got)
{
	struct itimerspec its;
	struct signalfd_siginfo si;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 };
	char ibuf[sizeof(struct inotify_event) + 64];
	int proto = 0, fd;
	socklen_t len = sizeof(proto);
	uint64_t v = 0;

	if (!scm_same_file(efd, got[0]) || read(got[0], &v, sizeof(v)) != sizeof(v) || v != 7) {
		fail("the eventfd in flight is not the held one, or counts %llu", (unsigned long long)v);
		return -1;
	}
	if (timerfd_gettime(got[1], &its) || its.it_interval.tv_sec != 1000 ||
	    (!its.it_value.tv_sec && !its.it_value.tv_nsec)) {
		fail("the timerfd in flight is not armed with its interval");
		return -1;
	}
	if (kill(getpid(), SIGUSR1) || read(got[2], &si, sizeof(si)) != sizeof(si) || si.ssi_signo != SIGUSR1) {
		fail("the signalfd in flight does not take SIGUSR1");
		return -1;
	}
	fd = open("scm_anon.dir/made", O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || read(got[3], ibuf, sizeof(ibuf)) <= 0 || !(((struct inotify_event *)ibuf)->mask & IN_CREATE) ||
	    strcmp(((struct inotify_event *)ibuf)->name, "made")) {
		fail("the inotify instance in flight does not see its directory");
		return -1;
	}
	close(fd);
	v = 1;
	if (write(efd, &v, sizeof(v)) != sizeof(v) || epoll_ctl(got[4], EPOLL_CTL_ADD, efd, &ev) ||
	    epoll_wait(got[4], &ev, 1, 1000) != 1 || ev.data.u64 != 42) {
		fail("the epoll instance in flight does not watch");
		return -1;
	}
	if (getsockopt(got[5], SOL_SOCKET, SO_PROTOCOL, &proto, &len) || proto != NETLINK_ROUTE) {
		fail("the netlink socket in flight is of protocol %d", proto);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct itimerspec its = { .it_value = { .tv_sec = 1000 }, .it_interval = { .tv_sec = 1000 } };
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	int sk[2], fds[NR], got[NR];
	sigset_t mask;

	test_init(argc, argv);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sk) || sigprocmask(SIG_BLOCK, &mask, NULL) ||
	    (mkdir("scm_anon.dir", 0700) && errno != EEXIST)) {
		fail("socketpair, sigprocmask or mkdir");
		return 1;
	}
	fds[0] = eventfd(7, 0);
	fds[1] = timerfd_create(CLOCK_MONOTONIC, 0);
	fds[2] = signalfd(-1, &mask, 0);
	fds[3] = inotify_init1(0);
	fds[4] = epoll_create1(0);
	fds[5] = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	for (int i = 0; i < NR; i++)
		if (fds[i] < 0) {
			fail("file %d", i);
			return 1;
		}
	if (timerfd_settime(fds[1], 0, &its, NULL) || inotify_add_watch(fds[3], "scm_anon.dir", IN_CREATE) < 0 ||
	    bind(fds[5], (struct sockaddr *)&nl, sizeof(nl))) {
		fail("timerfd_settime, inotify_add_watch or bind");
		return 1;
	}
	if (scm_send(sk[0], "anon", fds, NR)) {
		fail("sendmsg");
		return 1;
	}
	for (int i = 1; i < NR; i++)
		close(fds[i]);

	test_daemon();
	test_waitsig();

	if (scm_recv(sk[1], "anon", got, NR) || check_anon(fds[0], got))
		return 1;
	pass();
	return 0;
}
