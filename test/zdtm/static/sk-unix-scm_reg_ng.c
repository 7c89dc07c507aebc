/*
 * sk-unix-scm_reg_ng: files of the file system in flight in a unix socket's
 * queue (SCM_RIGHTS), in one datagram: a regular file the process still holds
 * (its offset moved since the send), an unlinked file (closed since), a file
 * opened O_PATH and a directory (both closed since); a second datagram carries
 * the held file again. After restore the held file and both copies received
 * are one open file description (kcmp, one offset), the unlinked file has its
 * contents, offset and no link, the O_PATH file is the same inode, and the
 * directory opens its entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scm.h"
#include "zdtmtst.h"

#define DATA "0123456789abcdefghij"
#define GHOST "contents of the unlinked file"

static int check_received(int held, const int *got, int again, ino_t path_ino)
{
	struct stat st;
	char buf[32];
	int fd;

	if (!scm_same_file(held, got[0]) || !scm_same_file(held, again)) {
		fail("the held file and its copies in flight are not one open file description");
		return -1;
	}
	if (lseek(got[0], 0, SEEK_CUR) != 5 || read(got[0], buf, 3) != 3 || memcmp(buf, "567", 3) ||
	    lseek(held, 0, SEEK_CUR) != 8) {
		fail("the offset is not shared (or not 5 before the read)");
		return -1;
	}
	if (fstat(got[1], &st) || st.st_nlink || lseek(got[1], 0, SEEK_CUR) != 2 ||
	    pread(got[1], buf, sizeof(buf), 0) != (ssize_t)strlen(GHOST) || memcmp(buf, GHOST, strlen(GHOST))) {
		fail("the unlinked file in flight lost its contents, offset or unlinked state");
		return -1;
	}
	if (!(fcntl(got[2], F_GETFL) & O_PATH) || fstat(got[2], &st) || st.st_ino != path_ino) {
		fail("the O_PATH file in flight is not O_PATH or not the file");
		return -1;
	}
	fd = openat(got[3], "inside", O_RDONLY);
	if (fd < 0 || read(fd, buf, 6) != 6 || memcmp(buf, "inside", 6)) {
		fail("the directory in flight does not open its entry");
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int sk[2], held, ghost, opath, dir, fd, got[4], again;
	struct stat st;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sk)) {
		fail("socketpair");
		return 1;
	}
	held = open("scm_reg.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ghost = open("scm_reg.ghost", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (held < 0 || ghost < 0 || write(held, DATA, strlen(DATA)) != (ssize_t)strlen(DATA) ||
	    write(ghost, GHOST, strlen(GHOST)) != (ssize_t)strlen(GHOST) || lseek(ghost, 2, SEEK_SET) != 2 ||
	    unlink("scm_reg.ghost")) {
		fail("the files");
		return 1;
	}
	if ((mkdir("scm_reg.dir", 0700) && errno != EEXIST) ||
	    (fd = open("scm_reg.dir/inside", O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || write(fd, "inside", 6) != 6) {
		fail("the directory");
		return 1;
	}
	close(fd);
	opath = open("scm_reg.data", O_PATH);
	dir = open("scm_reg.dir", O_RDONLY | O_DIRECTORY);
	if (opath < 0 || dir < 0 || stat("scm_reg.data", &st)) {
		fail("O_PATH or directory open");
		return 1;
	}
	if (scm_send(sk[0], "files", (int[]){ held, ghost, opath, dir }, 4) || scm_send(sk[0], "again", &held, 1)) {
		fail("sendmsg");
		return 1;
	}
	close(ghost);
	close(opath);
	close(dir);
	if (lseek(held, 5, SEEK_SET) != 5) {
		fail("lseek");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (scm_recv(sk[1], "files", got, 4) || scm_recv(sk[1], "again", &again, 1) ||
	    check_received(held, got, again, st.st_ino))
		return 1;
	pass();
	return 0;
}
