/*
 * sk-unix-bound: bound unix sockets.
 * - a stream listener bound to an absolute path, its socket file chmod 0640,
 *   with one connection accepted (data queued both ways on the pair) and one
 *   client connected but not yet accepted;
 * - a datagram socket bound to an abstract name, and another one connected
 *   to it, with datagrams queued;
 * - a datagram socket bound to a relative path, with a datagram queued from
 *   an unbound socket, which then closed;
 * - a datagram socket bound to a path that was unlinked since.
 * After restore: every name, the socket file's mode, the queues with their
 * boundaries, the peer of the connected socket; the listener accepts the
 * waiting client and new ones; the deleted path is still gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SEED_CLI 1
#define SEED_ACC 2
#define SEED_DG 3
#define SEED_REL 4
#define STREAM_BYTES 50000

enum {
	LSN,
	CLI,
	ACC,
	WAIT,
	ABS,
	ABS_CLI,
	REL,
	DEL,
	NR_SK
};

static const char *const labels[NR_SK] = { "listener",		"client",   "accepted", "waiting client", "abstract",
					   "abstract's client", "relative", "deleted" };
static int sk[NR_SK];
static struct sockaddr_un addr[NR_SK];
static socklen_t addr_len[NR_SK];
static uint8_t buf[STREAM_BYTES], want[STREAM_BYTES];

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

static int bind_to(int i, int type, const char *path, bool abstract)
{
	sk[i] = socket(AF_UNIX, type, 0);
	addr_len[i] = set_addr(&addr[i], path, abstract);
	if (sk[i] < 0 || bind(sk[i], (struct sockaddr *)&addr[i], addr_len[i])) {
		fail("%s: bind to %s", labels[i], path);
		return -1;
	}
	return 0;
}

static int send_seed(int fd, size_t len, uint32_t seed, const char *what)
{
	datagen_seed(buf, len, seed);
	if (send(fd, buf, len, 0) != (ssize_t)len) {
		fail("%s: send", what);
		return -1;
	}
	return 0;
}

static int recv_seed(int fd, size_t len, uint32_t seed, bool dgram, const char *what)
{
	size_t got = 0;

	datagen_seed(want, len, seed);
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (n <= 0 || (dgram && (size_t)n != len)) {
			fail("%s: %zd bytes of %zu", what, n, len);
			return -1;
		}
		got += (size_t)n;
	}
	if (memcmp(buf, want, len)) {
		fail("%s: data differs", what);
		return -1;
	}
	return 0;
}

static int setup(void)
{
	char cwd[80], path[200];
	int unb;

	if (!getcwd(cwd, sizeof(cwd))) {
		fail("getcwd (a working directory under 80 bytes is needed)");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/lsn.sock", cwd);
	unlink(path);
	unlink("rel.sock");
	unlink("del.sock");
	if (bind_to(LSN, SOCK_STREAM, path, false) || chmod(path, 0640) || listen(sk[LSN], 8)) {
		fail("listener");
		return -1;
	}
	sk[CLI] = socket(AF_UNIX, SOCK_STREAM, 0);
	sk[WAIT] = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(sk[CLI], (struct sockaddr *)&addr[LSN], addr_len[LSN]) ||
	    (sk[ACC] = accept(sk[LSN], NULL, NULL)) < 0 ||
	    connect(sk[WAIT], (struct sockaddr *)&addr[LSN], addr_len[LSN])) {
		fail("connect and accept");
		return -1;
	}
	if (send_seed(sk[CLI], STREAM_BYTES, SEED_CLI, "client") || send_seed(sk[ACC], 1000, SEED_ACC, "accepted"))
		return -1;

	snprintf(path, sizeof(path), "criu-ng-sk-unix-bound-%d", getpid());
	if (bind_to(ABS, SOCK_DGRAM, path, true))
		return -1;
	sk[ABS_CLI] = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (connect(sk[ABS_CLI], (struct sockaddr *)&addr[ABS], addr_len[ABS])) {
		fail("connect to the abstract name");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		if (send_seed(sk[ABS_CLI], 100 + 1000 * (size_t)i, SEED_DG + 10 * (uint32_t)i, "abstract's client"))
			return -1;

	if (bind_to(REL, SOCK_DGRAM, "rel.sock", false))
		return -1;
	unb = socket(AF_UNIX, SOCK_DGRAM, 0);
	datagen_seed(buf, 333, SEED_REL);
	if (unb < 0 || sendto(unb, buf, 333, 0, (struct sockaddr *)&addr[REL], addr_len[REL]) != 333) {
		fail("send to the relative name");
		return -1;
	}
	close(unb);

	if (bind_to(DEL, SOCK_DGRAM, "del.sock", false) || unlink("del.sock")) {
		fail("deleted");
		return -1;
	}
	return 0;
}

static int check_names(void)
{
	for (int i = 0; i < NR_SK; i++) {
		struct sockaddr_un a;
		socklen_t len = sizeof(a);

		if (i != LSN && i != ABS && i != REL && i != DEL)
			continue;
		if (getsockname(sk[i], (struct sockaddr *)&a, &len) || len != addr_len[i] ||
		    memcmp(&a, &addr[i], len)) {
			fail("%s: its name changed (%u bytes, was %u)", labels[i], len, addr_len[i]);
			return -1;
		}
	}
	return 0;
}

static int check_files(void)
{
	struct stat st;

	if (stat(addr[LSN].sun_path, &st) || !S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0640) {
		fail("listener's socket file: mode %o", st.st_mode);
		return -1;
	}
	if (stat("rel.sock", &st) || !S_ISSOCK(st.st_mode)) {
		fail("relative socket file");
		return -1;
	}
	if (access("del.sock", F_OK) == 0 || errno != ENOENT) {
		fail("the deleted socket's path came back");
		return -1;
	}
	return 0;
}

static int check_queues(void)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);

	if (recv_seed(sk[ACC], STREAM_BYTES, SEED_CLI, false, "accepted's queue") ||
	    recv_seed(sk[CLI], 1000, SEED_ACC, false, "client's queue"))
		return -1;
	for (int i = 0; i < 3; i++)
		if (recv_seed(sk[ABS], 100 + 1000 * (size_t)i, SEED_DG + 10 * (uint32_t)i, true, "abstract's queue"))
			return -1;
	if (recv_seed(sk[REL], 333, SEED_REL, true, "relative's queue"))
		return -1;
	if (getpeername(sk[ABS_CLI], (struct sockaddr *)&a, &len) || len != addr_len[ABS] ||
	    memcmp(&a, &addr[ABS], len)) {
		fail("abstract's client: its peer changed");
		return -1;
	}
	return send_seed(sk[ABS_CLI], 10, 77, "abstract's client after") ||
	       recv_seed(sk[ABS], 10, 77, true, "abstract after") || send_seed(sk[CLI], 10, 78, "client after") ||
	       recv_seed(sk[ACC], 10, 78, false, "accepted after") || send_seed(sk[ACC], 10, 79, "accepted after") ||
	       recv_seed(sk[CLI], 10, 79, false, "client after");
}

/* The waiting client is accepted now, and so is a new one. */
static int check_listener(void)
{
	int acc, cli;

	acc = accept4(sk[LSN], NULL, NULL, SOCK_NONBLOCK);
	if (acc < 0) {
		fail("the waiting client is not in the accept queue");
		return -1;
	}
	if (send_seed(sk[WAIT], 20, 80, "waiting client") || recv_seed(acc, 20, 80, false, "its accepted socket"))
		return -1;
	cli = socket(AF_UNIX, SOCK_STREAM, 0);
	if (cli < 0 || connect(cli, (struct sockaddr *)&addr[LSN], addr_len[LSN]) ||
	    (acc = accept(sk[LSN], NULL, NULL)) < 0) {
		fail("a new client");
		return -1;
	}
	return send_seed(cli, 30, 81, "new client") || recv_seed(acc, 30, 81, false, "new accepted");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_names() || check_files() || check_queues() || check_listener())
		return 1;
	pass();
	return 0;
}
