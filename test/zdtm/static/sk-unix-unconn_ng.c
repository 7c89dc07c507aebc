/*
 * sk-unix-unconn_ng: unix stream and seqpacket sockets that are not connected.
 * - an unbound stream socket with SO_PASSCRED set;
 * - a stream socket bound to an abstract name, not listening;
 * - a stream socket bound to a relative path, listening;
 * - a seqpacket socket bound to an absolute path, not listening;
 * - a TCP socket, never bound, with SO_NO_CHECK set.
 * After restore: each has its name (or none), is listening or not as it was,
 * has no peer and keeps its options; the unbound socket connects to the
 * listener, the abstract one can listen and be connected to.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

enum {
	UNB,
	ABS,
	LSN,
	SEQ,
	NR_SK
};

static const char *const labels[NR_SK] = { "unbound", "abstract", "listener", "seqpacket" };
static int sk[NR_SK], tcp;
static struct sockaddr_un addr[NR_SK];
static socklen_t addr_len[NR_SK];

static socklen_t set_addr(struct sockaddr_un *a, const char *path, bool abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (abstract) {
		snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "%s", path);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
	}
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static int get_int(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int v = -1;

	if (getsockopt(fd, level, name, &v, &len))
		return -1;
	return v;
}

static int setup(void)
{
	char cwd[80], path[200];
	int one = 1;

	if (!getcwd(cwd, sizeof(cwd))) {
		fail("getcwd (a working directory under 80 bytes is needed)");
		return -1;
	}
	for (int i = 0; i < NR_SK; i++) {
		sk[i] = socket(AF_UNIX, i == SEQ ? SOCK_SEQPACKET : SOCK_STREAM, 0);
		if (sk[i] < 0) {
			fail("socket");
			return -1;
		}
	}
	addr_len[UNB] = 0;
	if (setsockopt(sk[UNB], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one))) {
		fail("SO_PASSCRED");
		return -1;
	}
	snprintf(path, sizeof(path), "criu-ng-unconn-%d", getpid());
	addr_len[ABS] = set_addr(&addr[ABS], path, true);
	unlink("unconn-lsn.sock");
	addr_len[LSN] = set_addr(&addr[LSN], "unconn-lsn.sock", false);
	snprintf(path, sizeof(path), "%s/unconn-seq.sock", cwd);
	unlink(path);
	addr_len[SEQ] = set_addr(&addr[SEQ], path, false);
	for (int i = ABS; i < NR_SK; i++)
		if (bind(sk[i], (struct sockaddr *)&addr[i], addr_len[i])) {
			fail("%s: bind", labels[i]);
			return -1;
		}
	if (listen(sk[LSN], 4)) {
		fail("listen");
		return -1;
	}
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	if (tcp < 0 || setsockopt(tcp, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one))) {
		fail("TCP socket with SO_NO_CHECK");
		return -1;
	}
	return 0;
}

static int check_state(void)
{
	for (int i = 0; i < NR_SK; i++) {
		struct sockaddr_un a;
		socklen_t len = sizeof(a);

		if (getsockname(sk[i], (struct sockaddr *)&a, &len)) {
			fail("%s: getsockname", labels[i]);
			return -1;
		}
		if (i == UNB ? len != offsetof(struct sockaddr_un, sun_path) :
			       len != addr_len[i] || memcmp(&a, &addr[i], len)) {
			fail("%s: its name changed (%u bytes, was %u)", labels[i], len, addr_len[i]);
			return -1;
		}
		if (get_int(sk[i], SOL_SOCKET, SO_ACCEPTCONN) != (i == LSN)) {
			fail("%s: SO_ACCEPTCONN is %d", labels[i], get_int(sk[i], SOL_SOCKET, SO_ACCEPTCONN));
			return -1;
		}
		len = sizeof(a);
		if (getpeername(sk[i], (struct sockaddr *)&a, &len) == 0 || errno != ENOTCONN) {
			fail("%s: it has a peer", labels[i]);
			return -1;
		}
		if (get_int(sk[i], SOL_SOCKET, SO_TYPE) != (i == SEQ ? SOCK_SEQPACKET : SOCK_STREAM)) {
			fail("%s: its type changed", labels[i]);
			return -1;
		}
	}
	if (get_int(sk[UNB], SOL_SOCKET, SO_PASSCRED) != 1) {
		fail("unbound: SO_PASSCRED was lost");
		return -1;
	}
	if (get_int(tcp, SOL_SOCKET, SO_NO_CHECK) != 1) {
		fail("TCP socket: SO_NO_CHECK was lost");
		return -1;
	}
	return 0;
}

static int talk(int a, int b, const char *what)
{
	char buf[16];

	if (send(a, "ping", 4, 0) != 4 || recv(b, buf, sizeof(buf), 0) != 4 || memcmp(buf, "ping", 4)) {
		fail("%s: data does not go through", what);
		return -1;
	}
	return 0;
}

/* The unbound socket connects to the listener; the abstract one listens and takes a connection. */
static int check_use(void)
{
	int acc, cli;

	if (connect(sk[UNB], (struct sockaddr *)&addr[LSN], addr_len[LSN]) || (acc = accept(sk[LSN], NULL, NULL)) < 0) {
		fail("unbound to listener");
		return -1;
	}
	if (talk(sk[UNB], acc, "unbound to listener") || talk(acc, sk[UNB], "listener to unbound"))
		return -1;
	cli = socket(AF_UNIX, SOCK_STREAM, 0);
	if (listen(sk[ABS], 1) || cli < 0 || connect(cli, (struct sockaddr *)&addr[ABS], addr_len[ABS]) ||
	    (acc = accept(sk[ABS], NULL, NULL)) < 0) {
		fail("abstract: listen and connect");
		return -1;
	}
	return talk(cli, acc, "abstract");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_state() || check_use())
		return 1;
	pass();
	return 0;
}
