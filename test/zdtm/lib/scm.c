/* Files in flight for the zdtm tests (scm.h). */
#include <linux/kcmp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scm.h"
#include "zdtmtst.h"

union scm_buf {
	char buf[CMSG_SPACE(SCM_TEST_MAX * sizeof(int))];
	struct cmsghdr align;
};

int scm_send(int sk, const char *msg, const int *fds, int nr)
{
	union scm_buf cm;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nr > SCM_TEST_MAX)
		return -1;
	if (nr) {
		struct cmsghdr *ch;

		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nr * sizeof(int));
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(nr * sizeof(int));
		memcpy(CMSG_DATA(ch), fds, nr * sizeof(int));
	}
	return sendmsg(sk, &mh, 0) == (ssize_t)iov.iov_len ? 0 : -1;
}

int scm_recv(int sk, const char *msg, int *fds, int nr)
{
	union scm_buf cm;
	char data[128];
	size_t len = strlen(msg);
	struct iovec iov = { .iov_base = data, .iov_len = len < sizeof(data) ? len : sizeof(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm) };
	struct cmsghdr *ch;
	ssize_t n = recvmsg(sk, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n != (ssize_t)len || memcmp(data, msg, len)) {
		fail("expected \"%s\", got %zd bytes", msg, n);
		return -1;
	}
	ch = CMSG_FIRSTHDR(&mh);
	if (!nr && !ch)
		return 0;
	if (!ch || ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS ||
	    ch->cmsg_len != CMSG_LEN(nr * sizeof(int))) {
		fail("\"%s\" did not come with exactly %d file(s)", msg, nr);
		return -1;
	}
	memcpy(fds, CMSG_DATA(ch), nr * sizeof(int));
	return 0;
}

int scm_same_file(int a, int b)
{
	pid_t pid = getpid();

	return syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b) == 0;
}
