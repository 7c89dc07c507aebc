/*
 * nsfile00: fds on the process's own namespaces (/proc/self/ns/net, uts, ipc,
 * and an O_PATH one on mnt), as a program keeps to come back to a namespace,
 * come back at their numbers with their flags, each naming the namespace the
 * restored process lives in, and the network one still works with setns().
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

struct nsfd {
	const char *kind;
	int flags;
	int fd;
	int fl_before;
};

static int link_of(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size - 1);

	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int check_one(const struct nsfd *n)
{
	char fdpath[64], nspath[64], have[PATH_MAX], want[PATH_MAX];
	int fl = fcntl(n->fd, F_GETFL);

	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", n->fd);
	snprintf(nspath, sizeof(nspath), "/proc/self/ns/%s", n->kind);
	if (fl < 0 || link_of(fdpath, have, sizeof(have)) || link_of(nspath, want, sizeof(want))) {
		fail("fd %d (%s namespace) is gone", n->fd, n->kind);
		return -1;
	}
	if (strcmp(have, want)) {
		fail("fd %d names %s, the process lives in %s", n->fd, have, want);
		return -1;
	}
	if (fl != n->fl_before) {
		fail("fd %d (%s) has flags %#o, expected %#o", n->fd, n->kind, fl, n->fl_before);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct nsfd fds[] = {
		{ "net", O_RDONLY, -1, 0 },
		{ "uts", O_RDONLY | O_NONBLOCK, -1, 0 },
		{ "ipc", O_RDONLY | O_CLOEXEC, -1, 0 },
		{ "mnt", O_PATH, -1, 0 },
	};
	int ret = 0;

	test_init(argc, argv);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/ns/%s", fds[i].kind);
		fds[i].fd = open(path, fds[i].flags);
		if (fds[i].fd < 0 || (fds[i].fl_before = fcntl(fds[i].fd, F_GETFL)) < 0) {
			fail("open %s", path);
			return 1;
		}
	}

	test_daemon();
	test_waitsig();

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (check_one(&fds[i]))
			ret = 1;
	if (!ret && (fcntl(fds[2].fd, F_GETFD) & FD_CLOEXEC) == 0) {
		fail("fd %d lost FD_CLOEXEC", fds[2].fd);
		ret = 1;
	}
	if (!ret && setns(fds[0].fd, CLONE_NEWNET)) {
		fail("setns on the restored network namespace fd");
		ret = 1;
	}
	if (ret)
		return 1;
	pass();
	return 0;
}
