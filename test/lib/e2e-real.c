/*
 * e2e-real.c: what the end-to-end tests of real servers share (see e2e-real.h).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "e2e-real.h"
#include "testutil.h"

int e2e_real_connect(const struct sockaddr_in *a, int timeout_s)
{
	struct timeval tv = { .tv_sec = timeout_s };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int e2e_real_wait_listening(const struct sockaddr_in *a, int timeout_s)
{
	struct timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	int fd = -ECONNREFUSED;

	for (int k = 0; k < 250 && fd == -ECONNREFUSED; k++) {
		fd = e2e_real_connect(a, timeout_s);
		if (fd == -ECONNREFUSED)
			nanosleep(&ts, NULL);
	}
	return fd;
}

/* "TCP LISTEN" or "TCP ESTABLISHED" for socket:[INODE] of process @pid, as its /proc/net/tcp says. */
static const char *tcp_kind(pid_t pid, const char *link)
{
	static const char *const states[] = { [1] = "TCP ESTABLISHED", [10] = "TCP LISTEN" };
	unsigned long inode = strtoul(link + 8, NULL, 10), ino;
	const char *kind = "socket, not TCP/IPv4";
	char path[64], line[512];
	unsigned int state;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/tcp", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return "socket";
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &state, &ino) != 2 || ino != inode)
			continue;
		kind = state < sizeof(states) / sizeof(states[0]) && states[state] ? states[state] : "TCP, other state";
		break;
	}
	fclose(f);
	return kind;
}

/* The shared mappings of @pid (a server's shared memory zones), one line each. */
static void list_shared_maps(pid_t pid)
{
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char perms[8];

		if (sscanf(line, "%*s %7s", perms) == 1 && perms[3] == 's') {
			line[strcspn(line, "\n")] = '\0';
			test_msg("  shared mapping: %s", line);
		}
	}
	fclose(f);
}

static const char *fd_kind(pid_t pid, const char *link, const struct stat *st)
{
	if (S_ISSOCK(st->st_mode))
		return tcp_kind(pid, link);
	if (S_ISFIFO(st->st_mode))
		return strncmp(link, "pipe:", 5) ? "FIFO" : "pipe";
	if (S_ISCHR(st->st_mode))
		return "character device";
	if (S_ISREG(st->st_mode))
		return "regular file";
	if (S_ISDIR(st->st_mode))
		return "directory";
	if (!strncmp(link, "anon_inode:", 11))
		return "anonymous inode";
	return "other";
}

/* The "flags:" line of /proc/PID/fdinfo/FD (octal open flags), or "?". */
static const char *fd_flags(pid_t pid, const char *fd, char *flags, size_t len)
{
	char path[64 + 256], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, fd);
	snprintf(flags, len, "?");
	f = fopen(path, "re");
	if (!f)
		return flags;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %31s", flags) == 1)
			break;
	fclose(f);
	return flags;
}

/* What /proc/PID/fdinfo says of an anonymous inode fd: an eventfd's count, an epoll's targets. */
static void show_anon(pid_t pid, const char *fd)
{
	char path[64 + 256], line[256];
	unsigned int targets = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, fd);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "eventfd-", 8))
			test_msg("    %s", line);
		else if (!strncmp(line, "tfd:", 4) && targets++ < 4)
			test_msg("    %s", line);
	}
	fclose(f);
	if (targets > 4)
		test_msg("    ... %u epoll targets in all", targets);
}

int e2e_real_list_fds(pid_t pid, const char *name, char *kinds, size_t len)
{
	char path[64], link[PATH_MAX], fdpath[64 + 256], flags[32];
	unsigned int conns = 0;
	size_t off = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	test_msg("the fds %s holds:", name);
	kinds[0] = '\0';
	while ((de = readdir(d))) {
		const char *kind;
		struct stat st;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n < 0 || stat(fdpath, &st))
			continue;
		link[n] = '\0';
		kind = fd_kind(pid, link, &st);
		/* the clients' connections: one line for all of them */
		if (!strcmp(kind, "TCP ESTABLISHED")) {
			conns++;
			continue;
		}
		test_msg("  fd %s: %s (%s, flags %s)", de->d_name, link, kind,
			 fd_flags(pid, de->d_name, flags, sizeof(flags)));
		if (!strncmp(link, "anon_inode:", 11))
			show_anon(pid, de->d_name);
		off += (size_t)snprintf(kinds + off, off < len ? len - off : 0, "%s%s=%s", off ? ", " : "", de->d_name,
					link);
		if (off >= len)
			off = len - 1;
	}
	closedir(d);
	test_msg("  and %u established TCP connections", conns);
	list_shared_maps(pid);
	return 0;
}

const char *e2e_real_refused_fd(pid_t pid, const char *why)
{
	static char what[PATH_MAX + 32];
	char path[64], link[PATH_MAX];
	const char *p = strstr(why, " fd ");
	ssize_t n;
	int fd;

	if (!p || sscanf(p, " fd %d of process", &fd) != 1)
		return "";
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return "";
	link[n] = '\0';
	snprintf(what, sizeof(what), "fd %d is %s: ", fd, link);
	return what;
}

int e2e_real_migrate(struct e2e_topo *t, struct e2e_cr *cr, pid_t *pid)
{
	int ret = e2e_topo_prelock(t, E2E_HOST_B, cr->lock, *pid);

	if (ret) {
		snprintf(cr->why, sizeof(cr->why), "locking host B before it takes the service address: %s",
			 strerror(-ret));
		return ret;
	}
	ret = e2e_cr_dump(cr, t->path[E2E_HOST_A], *pid);
	if (ret)
		return ret;
	*pid = 0;
	e2e_topo_watch_pid(0);
	ret = e2e_topo_move(t, E2E_HOST_B);
	if (ret) {
		snprintf(cr->why, sizeof(cr->why), "moving the service address to host B: %s", strerror(-ret));
		return ret;
	}
	ret = e2e_cr_restore(cr, t->path[E2E_HOST_B], pid);
	if (*pid > 0)
		e2e_topo_watch_pid(*pid);
	return ret;
}

int e2e_real_stop(pid_t *pid, const char *name, const char *out)
{
	int status;

	if (kill(*pid, SIGTERM) || waitpid(*pid, &status, 0) != *pid) {
		test_msg("stopping the restored %s: %s", name, strerror(errno));
		return -errno;
	}
	*pid = 0;
	e2e_topo_watch_pid(0);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		test_msg("the restored %s ended with status %#x (see %s)", name, status, out);
		return -EPROTO;
	}
	return 0;
}

static int fill(struct e2e_line_conn *c)
{
	ssize_t n;

	if (c->off) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf))
		return -ENOBUFS;
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n < 0)
		return -errno;
	if (!n)
		return -ECONNRESET;
	c->len += (size_t)n;
	return 0;
}

int e2e_line_read(struct e2e_line_conn *c, char *line, size_t max)
{
	for (;;) {
		char *s = c->buf + c->off, *eol = memmem(s, c->len - c->off, "\r\n", 2);
		int ret;

		if (eol) {
			size_t n = (size_t)(eol - s);

			if (n >= max)
				return -ENOBUFS;
			memcpy(line, s, n);
			line[n] = '\0';
			c->off += n + 2;
			return (int)n;
		}
		ret = fill(c);
		if (ret)
			return ret;
	}
}

int e2e_line_read_n(struct e2e_line_conn *c, char *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		size_t k = c->len - c->off;
		int ret;

		if (!k) {
			ret = fill(c);
			if (ret)
				return ret;
			continue;
		}
		if (k > n - got)
			k = n - got;
		memcpy(out + got, c->buf + c->off, k);
		c->off += k;
		got += k;
	}
	return 0;
}

int e2e_line_send(struct e2e_line_conn *c, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(c->fd, buf + done, len - done, MSG_NOSIGNAL);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}
