/*
 * sk-unix-scm_tree_ng: files in flight in a unix socket's queue of one process
 * (SCM_RIGHTS) that another process of the tree holds: the parent sends a
 * regular file (its offset moved by the child since) and an eventfd, both
 * inherited by the child, and closes them. After restore the parent receives
 * them: each is the child's open file description (kcmp between the two
 * processes), with the child's offset and the eventfd's count.
 */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "scm.h"
#include "tree.h"
#include "zdtmtst.h"

static int sk[2], files[2];

static void __attribute__((noreturn)) child_main(int i, int ready)
{
	(void)i;
	close(sk[0]);
	close(sk[1]);
	if (lseek(files[0], 4, SEEK_SET) != 4 || write(ready, "R", 1) != 1)
		_exit(2);
	close(ready);
	test_waitsig();
	_exit(lseek(files[0], 0, SEEK_CUR) == 7 ? 0 : 1);
}

int main(int argc, char **argv)
{
	int got[2];
	uint64_t v = 0;
	pid_t child;
	char buf[3];

	test_init(argc, argv);
	files[0] = open("scm_tree.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	files[1] = eventfd(3, 0);
	if (files[0] < 0 || files[1] < 0 || write(files[0], "0123456789", 10) != 10 ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, sk)) {
		fail("the file, eventfd or socketpair");
		return 1;
	}
	if (tree_fork_ready(&child, 1, child_main))
		return 1;
	if (scm_send(sk[0], "the child's", files, 2)) {
		fail("sendmsg");
		return 1;
	}
	close(files[1]);
	close(files[0]); /* the child keeps them: same fd numbers there */

	test_daemon();
	test_waitsig();

	if (scm_recv(sk[1], "the child's", got, 2))
		return 1;
	if (syscall(SYS_kcmp, getpid(), child, KCMP_FILE, got[0], files[0]) ||
	    syscall(SYS_kcmp, getpid(), child, KCMP_FILE, got[1], files[1])) {
		fail("the files in flight are not the child's open file descriptions");
		return 1;
	}
	if (lseek(got[0], 0, SEEK_CUR) != 4 || read(got[0], buf, 3) != 3 || memcmp(buf, "456", 3) ||
	    read(got[1], &v, sizeof(v)) != sizeof(v) || v != 3) {
		fail("the file in flight is not at the child's offset, or the eventfd lost its count");
		return 1;
	}
	if (!tree_end_child(child, SIGTERM, "the child holding the files"))
		return 1;
	pass();
	return 0;
}
