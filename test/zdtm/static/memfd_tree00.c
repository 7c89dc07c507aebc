/*
 * memfd_tree00: memfds shared between the processes of a tree. Memfd A: the
 * parent made it, wrote into it, mapped it shared and forked; the child keeps
 * the fd, the parent closed it and keeps only its mapping. Memfd B: both
 * processes hold its fd (one description, inherited: its offset is theirs)
 * and a shared mapping of it, and it is sealed against shrinking and growing.
 *
 * After restore: the contents are back; writes cross between the processes
 * both ways (the child writes A through its fd, the parent sees it in its
 * mapping; the parent writes B through its mapping, the child reads it
 * through its fd), so each memfd is one file again; the offset moved by one
 * process is the other's; the seals are kept; no fd more than before.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define SIZE 8192
#define A_BEFORE "memfd A, written before the fork"
#define B_BEFORE "memfd B, written before the fork"
#define A_AFTER "written by the child after restore"
#define B_AFTER "written by the parent after restore"
#define B_POS 1234
#define B_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

static int child_main(int a, int b, const char *mb)
{
	char buf[64] = { 0 };
	int nfds = tree_nr_fds();

	test_waitsig();
	if (tree_nr_fds() != nfds) {
		fail("the child holds %d fds after restore, %d before", tree_nr_fds(), nfds);
		return 1;
	}
	if (pread(a, buf, sizeof(A_BEFORE), 0) != sizeof(A_BEFORE) || strcmp(buf, A_BEFORE) || strcmp(mb, B_BEFORE) ||
	    fcntl(b, F_GET_SEALS) != B_SEALS || lseek(b, 0, SEEK_CUR) != B_POS) {
		fail("the child's memfds lost their contents or seals, or B its parent's offset");
		return 1;
	}
	/* The parent wrote B through its mapping before it sent SIGTERM. */
	if (pread(b, buf, sizeof(B_AFTER), SIZE / 2) != sizeof(B_AFTER) || strcmp(buf, B_AFTER)) {
		fail("the child does not see what its parent wrote into memfd B: \"%s\"", buf);
		return 1;
	}
	if (pwrite(a, A_AFTER, sizeof(A_AFTER), SIZE / 2) != sizeof(A_AFTER)) {
		fail("the child can't write memfd A");
		return 1;
	}
	return 0;
}

static char *map(int fd)
{
	char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return m == MAP_FAILED ? NULL : m;
}

int main(int argc, char **argv)
{
	int a, b, nfds;
	char *ma, *mb;
	pid_t child;

	test_init(argc, argv);
	a = memfd_create("tree-a", MFD_CLOEXEC);
	b = memfd_create("tree-b", MFD_ALLOW_SEALING);
	if (a < 0 || b < 0 || ftruncate(a, SIZE) || ftruncate(b, SIZE) || !(ma = map(a)) || !(mb = map(b)) ||
	    fcntl(b, F_ADD_SEALS, B_SEALS)) {
		fail("can't set the memfds up");
		return 1;
	}
	strcpy(ma, A_BEFORE);
	strcpy(mb, B_BEFORE);
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		munmap(ma, SIZE);
		_exit(child_main(a, b, mb));
	}
	close(a);
	if (lseek(b, B_POS, SEEK_SET) != B_POS) {
		fail("lseek");
		return 1;
	}

	test_daemon();
	nfds = tree_nr_fds();
	test_waitsig();
	if (tree_nr_fds() != nfds || lseek(b, 0, SEEK_CUR) != B_POS || fcntl(b, F_GET_SEALS) != B_SEALS) {
		fail("the parent holds %d fds (%d before), or memfd B lost its offset or seals", tree_nr_fds(), nfds);
		return 1;
	}
	if (strcmp(ma, A_BEFORE) || strcmp(mb, B_BEFORE) || !tree_same_file(b, child, b)) {
		fail("the memfds lost their contents, or memfd B is not the child's");
		return 1;
	}
	strcpy(mb + SIZE / 2, B_AFTER);
	if (!tree_end_child(child, SIGTERM, "child"))
		return 1;
	if (strcmp(ma + SIZE / 2, A_AFTER)) {
		fail("what the child wrote into memfd A is not in the parent's mapping: \"%s\"", ma + SIZE / 2);
		return 1;
	}
	pass();
	return 0;
}
