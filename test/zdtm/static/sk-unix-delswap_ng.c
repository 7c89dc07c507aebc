/*
 * sk-unix-delswap_ng: unix sockets bound to a path whose file now belongs to
 * another socket, their own file deleted.
 * - two stream listeners bound to one path: the first one's file moved aside
 *   while the second binds, then moved back over the second one's file;
 * - two datagram sockets bound to one path: the first one's file unlinked,
 *   then the second bound there.
 * After restore: each socket keeps its name, the path is there, and it leads
 * to the socket whose file it is (the first listener, the second datagram
 * socket), not to the one whose file was deleted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

enum {
	LSN1,
	LSN2,
	DG1,
	DG2,
	NR_SK
};

static const char *const labels[NR_SK] = { "first listener", "second listener", "first datagram", "second datagram" };
static int sk[NR_SK];
static struct sockaddr_un lsn_addr, dg_addr;

static void set_addr(struct sockaddr_un *a, const char *dir, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, name);
}

static int bind_one(int i, int type, const struct sockaddr_un *a)
{
	sk[i] = socket(AF_UNIX, type, 0);
	if (sk[i] < 0 || bind(sk[i], (const struct sockaddr *)a, sizeof(*a)) ||
	    (type == SOCK_STREAM && listen(sk[i], 4))) {
		fail("%s: bind to %s", labels[i], a->sun_path);
		return -1;
	}
	return 0;
}

static int setup(void)
{
	char cwd[64], aside[128];

	if (!getcwd(cwd, sizeof(cwd))) {
		fail("getcwd (a working directory under 64 bytes is needed)");
		return -1;
	}
	set_addr(&lsn_addr, cwd, "delswap-lsn.sock");
	set_addr(&dg_addr, cwd, "delswap-dg.sock");
	snprintf(aside, sizeof(aside), "%s/delswap-aside.sock", cwd);
	unlink(lsn_addr.sun_path);
	unlink(dg_addr.sun_path);
	if (bind_one(LSN1, SOCK_STREAM, &lsn_addr))
		return -1;
	if (rename(lsn_addr.sun_path, aside)) {
		fail("rename aside");
		return -1;
	}
	if (bind_one(LSN2, SOCK_STREAM, &lsn_addr))
		return -1;
	if (rename(aside, lsn_addr.sun_path)) {
		fail("rename back");
		return -1;
	}
	if (bind_one(DG1, SOCK_DGRAM, &dg_addr))
		return -1;
	if (unlink(dg_addr.sun_path)) {
		fail("unlink");
		return -1;
	}
	return bind_one(DG2, SOCK_DGRAM, &dg_addr);
}

static int check_names(void)
{
	for (int i = 0; i < NR_SK; i++) {
		const struct sockaddr_un *want = i < DG1 ? &lsn_addr : &dg_addr;
		struct sockaddr_un a;
		socklen_t len = sizeof(a);

		if (getsockname(sk[i], (struct sockaddr *)&a, &len) || strcmp(a.sun_path, want->sun_path)) {
			fail("%s: its name changed", labels[i]);
			return -1;
		}
	}
	return 0;
}

/* The path leads to the first listener and to the second datagram socket. */
static int check_paths(void)
{
	struct stat st;
	char buf[8];
	int cli, acc;

	if (stat(lsn_addr.sun_path, &st) || !S_ISSOCK(st.st_mode) || stat(dg_addr.sun_path, &st) ||
	    !S_ISSOCK(st.st_mode)) {
		fail("a socket file is missing");
		return -1;
	}
	cli = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fcntl(sk[LSN1], F_SETFL, O_NONBLOCK) || fcntl(sk[LSN2], F_SETFL, O_NONBLOCK)) {
		fail("O_NONBLOCK");
		return -1;
	}
	if (cli < 0 || connect(cli, (struct sockaddr *)&lsn_addr, sizeof(lsn_addr))) {
		fail("connect to the listeners' path");
		return -1;
	}
	if (accept(sk[LSN2], NULL, NULL) >= 0 || errno != EAGAIN) {
		fail("the path leads to the second listener, whose file was deleted");
		return -1;
	}
	acc = accept(sk[LSN1], NULL, NULL);
	if (acc < 0) {
		fail("the first listener did not get the connection");
		return -1;
	}
	close(acc);
	close(cli);
	cli = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (cli < 0 || sendto(cli, "ping", 4, 0, (struct sockaddr *)&dg_addr, sizeof(dg_addr)) != 4) {
		fail("send to the datagram path");
		return -1;
	}
	if (recv(sk[DG1], buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno != EAGAIN) {
		fail("the path leads to the first datagram socket, whose file was deleted");
		return -1;
	}
	if (recv(sk[DG2], buf, sizeof(buf), MSG_DONTWAIT) != 4 || memcmp(buf, "ping", 4)) {
		fail("the second datagram socket did not get the datagram");
		return -1;
	}
	close(cli);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_names() || check_paths())
		return 1;
	pass();
	return 0;
}
