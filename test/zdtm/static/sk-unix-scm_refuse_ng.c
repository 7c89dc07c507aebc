/*
 * sk-unix-scm_refuse_ng: an eventfd in flight in a unix socket's queue
 * (SCM_RIGHTS), which the process closed since. Only pipes, FIFOs and memfds
 * can be in flight: the dump must be refused, naming the socket, and the
 * process runs on with its queue untouched (the eventfd comes with its count).
 */
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = "e", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm) };
	struct cmsghdr *ch;
	uint64_t v = 0;
	char c;
	int sk[2], efd;

	test_init(argc, argv);
	efd = eventfd(7, 0);
	if (efd < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sk)) {
		fail("eventfd or socketpair");
		return 1;
	}
	ch = CMSG_FIRSTHDR(&mh);
	ch->cmsg_level = SOL_SOCKET;
	ch->cmsg_type = SCM_RIGHTS;
	ch->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(ch), &efd, sizeof(int));
	if (sendmsg(sk[0], &mh, 0) != 1) {
		fail("sendmsg");
		return 1;
	}
	close(efd);

	test_daemon();
	test_waitsig();

	iov.iov_base = &c;
	mh.msg_controllen = sizeof(cm);
	if (recvmsg(sk[1], &mh, MSG_DONTWAIT) != 1 || !(ch = CMSG_FIRSTHDR(&mh)) || ch->cmsg_type != SCM_RIGHTS) {
		fail("the datagram or its eventfd is gone");
		return 1;
	}
	memcpy(&efd, CMSG_DATA(ch), sizeof(int));
	if (read(efd, &v, sizeof(v)) != sizeof(v) || v != 7) {
		fail("the eventfd in flight counts %llu, not 7", (unsigned long long)v);
		return 1;
	}
	pass();
	return 0;
}
