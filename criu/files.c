/*
 * The open file descriptors of a process. Each fd is looked at from outside:
 * /proc/PID/fd/N (what it points at, stat), /proc/PID/fdinfo/N (flags,
 * position, mount), kcmp(KCMP_FILE) to find the fds sharing one open file
 * description, and a copy of the description taken with pidfd_getfd() for what
 * only the file can tell (owner, signal, terminal settings). Each new
 * description goes to the first kind of the table in files/kinds.c that takes
 * it (include/fd-kind.h); an fd no kind takes is refused, naming the fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "array.h"
#include "fd-kind.h"
#include "files.h"
#include "image.h"
#include "proc-parse.h"

#include "fdinfo.pb-c.h"

#define LOG_PREFIX "files: "
#include "log.h"

#define PROGRESS_MIN 4096 /* fds from which the walk reports its progress */

/* What the whole collection needs. */
struct fds_collect {
	const struct fds_collect_args *args;
	struct files_dump *fdump;
	int pidfd;
	int fd_dir;	/* /proc/PID/fd */
	int fdinfo_dir; /* /proc/PID/fdinfo */
};

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The fd numbers of @pid, ascending, in a malloc'ed array. */
static int list_fds(pid_t pid, int **fds, size_t *nr)
{
	size_t cap = 0, n = 0;
	struct dirent *de;
	char path[64];
	int *v = NULL;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir) {
		pr_perror("Can't open %s", path);
		return -errno;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (n == cap) {
			int *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = atoi(de->d_name);
	}
	closedir(dir);
	if (n)
		qsort(v, n, sizeof(*v), cmp_int);
	*fds = v;
	*nr = n;
	return 0;
}

/*
 * Reads pos, flags and mnt_id of /proc/PID/fdinfo/N: the first lines, which
 * one read gets (kinds with long fdinfo, epoll's, read the rest themselves).
 */
static int parse_fdinfo(const struct fds_collect *c, struct fd_probe *p)
{
	bool has_pos = false, has_flags = false;
	char name[16], buf[4096], *line, *save;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%d", p->fd);
	fd = openat(c->fdinfo_dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open /proc/%d/fdinfo/%d", c->args->pid, p->fd);
		return -errno;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		pr_perror("Can't read /proc/%d/fdinfo/%d", c->args->pid, p->fd);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	p->mnt_id = -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long v;
		int m;

		if (sscanf(line, "pos: %llu", &v) == 1)
			p->pos = v, has_pos = true;
		else if (sscanf(line, "flags: %llo", &v) == 1)
			p->flags = (uint32_t)v, has_flags = true;
		else if (sscanf(line, "mnt_id: %d", &m) == 1)
			p->mnt_id = m;
	}
	if (!has_pos || !has_flags) {
		pr_err("/proc/%d/fdinfo/%d lacks pos or flags\n", c->args->pid, p->fd);
		return -EINVAL;
	}
	return 0;
}

/* Fills the link, stat and fdinfo of fd @p->fd; -ENOENT if it was closed meanwhile (it can't be: frozen). */
static int probe_fd(const struct fds_collect *c, struct fd_probe *p)
{
	unsigned long ino;
	char name[16];
	ssize_t n;

	snprintf(name, sizeof(name), "%d", p->fd);
	n = readlinkat(c->fd_dir, name, p->link, sizeof(p->link) - 1);
	if (n < 0) {
		pr_perror("Can't read the link /proc/%d/fd/%d", c->args->pid, p->fd);
		return -errno;
	}
	p->link[n] = '\0';
	/* A socket's link names its inode, all stat would add (sockets are told apart by inode alone). */
	if (sscanf(p->link, "socket:[%lu]", &ino) == 1) {
		memset(&p->st, 0, sizeof(p->st));
		p->st.st_mode = S_IFSOCK | 0777;
		p->st.st_ino = (ino_t)ino;
		return parse_fdinfo(c, p);
	}
	if (fstatat(c->fd_dir, name, &p->st, 0) < 0) {
		pr_perror("Can't stat /proc/%d/fd/%d (%s)", c->args->pid, p->fd, p->link);
		return -errno;
	}
	return parse_fdinfo(c, p);
}

static size_t file_hash(dev_t dev, ino_t ino, size_t mask)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;

	return (size_t)(h >> 32) & mask;
}

static int fd_index_init(struct fd_table *t, size_t nr)
{
	size_t slots = 16;

	while (slots < 2 * nr)
		slots *= 2;
	t->heads = calloc(slots, sizeof(*t->heads));
	t->next = calloc(nr ? nr : 1, sizeof(*t->next));
	if (!t->heads || !t->next)
		return -ENOMEM;
	t->mask = slots - 1;
	return 0;
}

/* Indexes the fd just appended to @t. */
static void fd_index_add(struct fd_table *t)
{
	size_t i = t->nr - 1, h = file_hash(t->fds[i].dev, t->fds[i].ino, t->mask);

	t->next[i] = t->heads[h];
	t->heads[h] = (uint32_t)i + 1;
}

/*
 * The earlier fd sharing @p's open file description, or NULL. Only fds on the
 * same file can; kcmp tells whether they share the description (a socket's
 * inode has exactly one).
 */
static const struct fd_entry *find_shared_in(const struct fd_table *t, pid_t owner, pid_t pid, const struct fd_probe *p)
{
	if (!t->heads)
		return NULL;
	for (uint32_t i = t->heads[file_hash(p->st.st_dev, p->st.st_ino, t->mask)]; i; i = t->next[i - 1]) {
		const struct fd_entry *e = &t->fds[i - 1];

		if (e->dev != p->st.st_dev || e->ino != p->st.st_ino)
			continue;
		if (S_ISSOCK(p->st.st_mode) || syscall(SYS_kcmp, owner, pid, KCMP_FILE, e->fd, p->fd) == 0)
			return e;
	}
	return NULL;
}

/* Also in the fd tables of the processes of the tree collected before (*@other: which one, or 0). */
static const struct fd_entry *find_shared(const struct fds_collect *c, const struct fd_probe *p, pid_t *other)
{
	const struct fd_entry *e = find_shared_in(&c->fdump->fds, c->args->pid, c->args->pid, p);

	*other = 0;
	for (size_t i = 0; !e && i < c->args->nr_others; i++) {
		e = find_shared_in(c->args->others[i].fds, c->args->others[i].pid, c->args->pid, p);
		if (e)
			*other = c->args->others[i].pid;
	}
	return e;
}

#ifndef F_GETOWNER_UIDS
#define F_GETOWNER_UIDS 17 /* asm-generic/fcntl.h, after F_GETOWN_EX; needs CONFIG_CHECKPOINT_RESTORE */
#endif

/* The file owner and signal of the description (F_GETOWN_EX, F_GETOWNER_UIDS, F_GETSIG on our copy). */
static int read_fown(const struct fds_collect *c, const struct fd_probe *p, struct reg_fown *fown)
{
	struct f_owner_ex owner;
	int sig;

	memset(fown, 0, sizeof(*fown));
	if (p->dup_fd < 0) /* an O_PATH file has no owner */
		return 0;
	if (fcntl(p->dup_fd, F_GETOWN_EX, &owner) < 0) {
		pr_perror("Can't read the owner of fd %d of process %d", p->fd, c->args->pid);
		return -errno;
	}
	sig = fcntl(p->dup_fd, F_GETSIG);
	if (sig < 0) {
		pr_perror("Can't read the signal of fd %d of process %d", p->fd, c->args->pid);
		return -errno;
	}
	fown->signum = (uint32_t)sig;
	if (owner.pid) {
		uid_t uids[2];

		/* The uid and euid of whoever set the owner, which the kernel keeps with it. */
		if (fcntl(p->dup_fd, F_GETOWNER_UIDS, uids) < 0) {
			pr_perror("Can't read the owner's uids of fd %d of process %d", p->fd, c->args->pid);
			return -errno;
		}
		fown->uid = uids[0];
		fown->euid = uids[1];
		fown->pid_type = (uint32_t)owner.type;
		fown->pid = (uint32_t)owner.pid;
	}
	return 0;
}

static const char *sk_family_name(int family)
{
	switch (family) {
	case AF_UNIX:
		return "a unix socket";
	case AF_NETLINK:
		return "a netlink socket";
	case AF_PACKET:
		return "a packet socket";
	}
	return "a socket of an unsupported family";
}

/* Names the kind of an fd that no kind takes, for the error message. */
static const char *unsupported_kind(const struct fd_probe *p)
{
	mode_t m = p->st.st_mode;

	if (S_ISFIFO(m))
		return strncmp(p->link, "pipe:", 5) ? "a FIFO" : "a pipe";
	if (S_ISSOCK(m))
		return sk_family_name(p->sk_family);
	if (!strncmp(p->link, "anon_inode:", 11))
		return "an anonymous inode file of a kind not supported (fanotify, userfaultfd, pidfd, ...)";
	if (!strncmp(p->link, "/memfd:", 7))
		return "a memfd";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISCHR(m))
		return "a character device other than a memory device or a terminal";
	return "a file of a kind not supported";
}

int files_refuse(const struct fd_dump_ctx *c, const struct fd_probe *p)
{
	if (S_ISCHR(p->st.st_mode) || S_ISBLK(p->st.st_mode))
		pr_err("fd %d of process %d is %s (%s, device %u:%u): not supported yet\n", p->fd, c->args->pid,
		       unsupported_kind(p), p->link, major(p->st.st_rdev), minor(p->st.st_rdev));
	else
		pr_err("fd %d of process %d is %s (%s): not supported yet\n", p->fd, c->args->pid, unsupported_kind(p),
		       p->link);
	return -EOPNOTSUPP;
}

static int take_copy(const struct fds_collect *c, struct fd_probe *p)
{
	p->dup_fd = sys_pidfd_getfd(c->pidfd, p->fd);
	if (p->dup_fd < 0) {
		pr_perror("Can't take a copy of fd %d of process %d", p->fd, c->args->pid);
		return -errno;
	}
	return 0;
}

/* A socket's family, which tells the kinds of sockets apart, from criu's copy of it. */
static int read_family(const struct fds_collect *c, struct fd_probe *p)
{
	socklen_t len = sizeof(p->sk_family);
	int ret = take_copy(c, p);

	if (!ret && getsockopt(p->dup_fd, SOL_SOCKET, SO_DOMAIN, &p->sk_family, &len) < 0) {
		pr_perror("Can't tell the family of socket fd %d of process %d", p->fd, c->args->pid);
		ret = -errno;
	}
	return ret;
}

/*
 * Hands the description of a new (unshared) fd to the first kind that takes it;
 * sets *@type and *@id. An O_PATH fd only names a file (no I/O, no owner;
 * pidfd_getfd() refuses it): only kinds that record such fds see it.
 */
static int add_description(struct fds_collect *c, struct fd_probe *p, uint32_t *type, uint32_t *id)
{
	struct fd_dump_ctx dc = { .args = c->args, .fdump = c->fdump, .fdinfo_dir = c->fdinfo_dir };
	bool opath = p->flags & O_PATH;
	const struct fd_kind *k = NULL;
	int ret = 0;

	if (S_ISSOCK(p->st.st_mode) && !opath)
		ret = read_family(c, p);
	for (size_t i = 0; !ret && !k && i < FD_KIND_NR; i++)
		if ((!opath || (fd_kinds[i].flags & FD_KIND_OPEN_PATH)) && fd_kinds[i].match(p))
			k = &fd_kinds[i];
	if (!ret && !k)
		ret = files_refuse(&dc, p);
	if (!ret && !opath && p->dup_fd < 0 && (k->flags & FD_KIND_COPY))
		ret = take_copy(c, p);
	if (!ret && p->dup_fd >= 0)
		ret = read_fown(c, p, &p->fown);
	if (!ret) {
		*type = k->type;
		ret = k->dump(&dc, p, id);
	}
	if (p->dup_fd >= 0)
		close(p->dup_fd);
	p->dup_fd = -1;
	return ret;
}

/*
 * The kind of a file in flight: every kind the fd walk dumps but terminals
 * (restore-tty.c opens them after the sockets are refilled).
 */
static const struct fd_kind *in_flight_kind(const struct fd_probe *p)
{
	bool opath = p->flags & O_PATH;

	for (size_t i = 0; i < FD_KIND_NR; i++)
		if ((!opath || (fd_kinds[i].flags & FD_KIND_OPEN_PATH)) && fd_kinds[i].match(p))
			return fd_kinds[i].type == FD_TYPES__TTY ? NULL : &fd_kinds[i];
	return NULL;
}

/* The file in flight recorded on @p's description (@p->fd an fd of process @pid), or NULL. */
static struct in_flight_file *find_in_flight(const struct in_flight_table *t, pid_t pid, const struct fd_probe *p)
{
	for (size_t i = 0; i < t->nr; i++) {
		struct in_flight_file *f = &t->v[i];

		if (f->dev != p->st.st_dev || f->ino != p->st.st_ino)
			continue;
		if (f->socket || syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, f->fd, p->fd) == 0)
			return f;
	}
	return NULL;
}

/*
 * The description of criu's @p recorded already, in flight before or held by an
 * fd of the tree: 1 and its type and id, 0 for none, -EOPNOTSUPP for a socket
 * whose own queue is being read (a cycle of sockets in flight).
 */
static int find_recorded(const struct fd_dump_ctx *c, const struct fd_probe *p, const char *holder, uint32_t *type,
			 uint32_t *id)
{
	const struct in_flight_file *f = find_in_flight(&c->fdump->in_flight, getpid(), p);
	const struct fd_entry *e = NULL;
	pid_t owner = c->args->pid;

	if (f && f->dumping) {
		pr_err("%s holds unix socket %lu in flight, whose own queue holds that socket in turn (a cycle of "
		       "sockets in flight): not supported\n",
		       holder, (unsigned long)p->st.st_ino);
		return -EOPNOTSUPP;
	}
	if (f) {
		*type = f->type;
		*id = f->id;
		return 1;
	}
	e = find_shared_in(&c->fdump->fds, c->args->pid, getpid(), p);
	for (size_t i = 0; !e && i < c->args->nr_others; i++)
		if ((e = find_shared_in(c->args->others[i].fds, c->args->others[i].pid, getpid(), p)))
			owner = c->args->others[i].pid;
	if (!e)
		return 0;
	/* The first process registers an epoll's targets again, under its own fd numbers. */
	if (e->type == FD_TYPES__EVENTPOLL && owner != c->fdump->in_flight.root &&
	    epoll_registrations(c->fdump, e->id)) {
		pr_err("%s holds in flight an epoll instance (fd %d of process %d) whose registrations name fds of that "
		       "process, not of the tree's first one: not supported\n",
		       holder, e->fd, owner);
		return -EOPNOTSUPP;
	}
	*type = e->type;
	*id = e->id;
	return 1;
}

/* Whether criu's socket @fd is a TCP socket neither listening nor closed (rebuilt after the queues are refilled). */
static bool tcp_connection(int fd)
{
	struct tcp_info ti;
	int type = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		return false;
	len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return true;
	return ti.tcpi_state != TCP_LISTEN && ti.tcpi_state != TCP_CLOSE;
}

/* The most sockets in flight one in another's queue. */
#define IN_FLIGHT_DEPTH_MAX 16

/* Records criu's @p in flight: its description by its kind, criu's copy kept in the table. */
static int add_in_flight(struct fds_collect *own, const struct fd_dump_ctx *c, struct fd_probe *p, const char *holder,
			 uint32_t *type, uint32_t *id)
{
	struct in_flight_table *t = &c->fdump->in_flight;
	const struct fd_kind *k = in_flight_kind(p);
	size_t slot;
	int ret;

	if (!k) {
		pr_err("%s holds %s (%s) in flight (SCM_RIGHTS): not supported\n", holder,
		       S_ISCHR(p->st.st_mode) ? "a terminal or a device" : unsupported_kind(p), p->link);
		return -EOPNOTSUPP;
	}
	if (k->type == FD_TYPES__INETSK && tcp_connection(p->fd)) {
		pr_err("%s holds a TCP connection (%s) in flight (SCM_RIGHTS): not supported (a listening or unconnected "
		       "socket is)\n",
		       holder, p->link);
		return -EOPNOTSUPP;
	}
	ret = ARRAY_RESERVE(t->v, t->nr, t->cap, 8);
	if (ret)
		return ret;
	if (t->depth >= IN_FLIGHT_DEPTH_MAX) {
		pr_err("%s holds %s in flight, in sockets in flight %u deep: not supported\n", holder, p->link,
		       t->depth);
		return -EOPNOTSUPP;
	}
	if (!t->depth)
		snprintf(t->outer, sizeof(t->outer), "%s", holder);
	slot = t->nr;
	t->v[slot] = (struct in_flight_file){ .dev = p->st.st_dev,
					      .ino = p->st.st_ino,
					      .socket = S_ISSOCK(p->st.st_mode),
					      .dumping = true,
					      .type = k->type,
					      .fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0) };
	if (t->v[slot].fd < 0) {
		pr_perror("Can't keep a copy of %s, in flight in %s", p->link, holder);
		return -errno;
	}
	t->nr++;
	/* A socket's queue may hold files in flight in turn: this table grows meanwhile (slot, not a pointer). */
	t->depth++;
	ret = add_description(own, p, type, id);
	t->depth--;
	if (ret == -EOPNOTSUPP)
		pr_err("%s holds %s (%s) in flight (SCM_RIGHTS), which can't be dumped\n", holder, k->name, p->link);
	t->v[slot].dumping = false;
	t->v[slot].id = *id;
	return ret;
}

int files_dump_in_flight(const struct fd_dump_ctx *c, int fd, const char *holder, uint32_t *type, uint32_t *id)
{
	struct fds_collect_args args = *c->args;
	struct fds_collect own = { .args = &args, .fdump = c->fdump, .pidfd = -1, .fd_dir = -1, .fdinfo_dir = -1 };
	struct fd_probe p = { .fd = fd, .dup_fd = -1 };
	socklen_t len = sizeof(p.sk_family);
	int ret;

	c->fdump->in_flight.root = c->args->nr_others ? c->args->others[0].pid : c->args->pid;
	args.pid = getpid(); /* the file is criu's now: its /proc entries are criu's */
	args.others = NULL;
	args.nr_others = 0;
	own.pidfd = sys_pidfd_open(args.pid);
	own.fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	own.fdinfo_dir = open("/proc/self/fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (own.pidfd < 0 || own.fd_dir < 0 || own.fdinfo_dir < 0) {
		pr_perror("Can't open criu's own pidfd or /proc/self/fd and fdinfo");
		ret = -errno;
		goto out_close;
	}
	ret = probe_fd(&own, &p);
	if (!ret && S_ISSOCK(p.st.st_mode) && getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &p.sk_family, &len) < 0) {
		pr_perror("Can't tell the family of socket %s, in flight in %s", p.link, holder);
		ret = -errno;
	}
	if (!ret)
		ret = find_recorded(c, &p, holder, type, id);
	if (ret > 0) {
		pr_debug("%s: %s in flight, id %u (recorded before)\n", holder, p.link, *id);
		ret = 0;
	} else if (!ret) {
		ret = add_in_flight(&own, c, &p, holder, type, id);
		if (!ret)
			pr_debug("%s: %s in flight, id %u\n", holder, p.link, *id);
	}
out_close:
	if (own.fdinfo_dir >= 0)
		close(own.fdinfo_dir);
	if (own.fd_dir >= 0)
		close(own.fd_dir);
	if (own.pidfd >= 0)
		close(own.pidfd);
	return ret;
}

/*
 * Whether a description of kind @type may be shared by two processes of the
 * tree: the restore opens it once (a regular file, a terminal) or makes it
 * once in criu and gives each process a duplicate (restore_fds.given).
 */
static bool shareable(uint32_t type)
{
	switch (type) {
	case FD_TYPES__REG:
	case FD_TYPES__TTY:
	case FD_TYPES__INETSK:
	case FD_TYPES__EVENTFD:
	case FD_TYPES__TIMERFD:
	case FD_TYPES__SIGNALFD:
	case FD_TYPES__INOTIFY:
	case FD_TYPES__UNIXSK:
	case FD_TYPES__PIPE:
	case FD_TYPES__FIFO:
	case FD_TYPES__MEMFD:
	case FD_TYPES__EVENTPOLL:
	case FD_TYPES__NS:
		return true;
	default:
		return false;
	}
}

static int collect_one(struct fds_collect *c, int fd)
{
	struct fd_table *t = &c->fdump->fds;
	struct fd_probe p = { .fd = fd, .dup_fd = -1 };
	const struct in_flight_file *in_flight = NULL;
	const struct fd_entry *shared;
	struct fd_entry e = { .fd = fd };
	pid_t other;
	int ret;

	ret = probe_fd(c, &p);
	if (ret)
		return ret;
	e.fd_flags = (p.flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	e.dev = p.st.st_dev;
	e.ino = p.st.st_ino;
	shared = find_shared(c, &p, &other);
	if (!shared)
		in_flight = find_in_flight(&c->fdump->in_flight, c->args->pid, &p);
	if (shared && other && !shareable(shared->type)) {
		pr_err("fd %d of process %d (%s) is an open file of process %d too: sharing one of its kind between "
		       "processes is not supported yet\n",
		       fd, c->args->pid, p.link, other);
		return -EOPNOTSUPP;
	}
	if (shared) {
		e.id = shared->id;
		e.type = shared->type;
		pr_debug("fd %d shares its open file with fd %d (id %u)\n", fd, shared->fd, e.id);
	} else if (in_flight) {
		e.id = in_flight->id;
		e.type = in_flight->type;
		pr_debug("fd %d is the open file in flight as id %u\n", fd, e.id);
	} else {
		ret = add_description(c, &p, &e.type, &e.id);
		if (ret)
			return ret;
		pr_debug("fd %d: %s, flags %#o, pos %llu, id %u\n", fd, p.link, p.flags, (unsigned long long)p.pos,
			 e.id);
	}
	t->fds[t->nr++] = e;
	fd_index_add(t);
	return 0;
}

static int cmp_fd_entry(const void *key, const void *elem)
{
	int fd = *(const int *)key, x = ((const struct fd_entry *)elem)->fd;

	return (fd > x) - (fd < x);
}

uint64_t files_fd_ino(void *fd_table, int fd, uint32_t *type)
{
	const struct fd_table *t = fd_table;
	const struct fd_entry *e = t->nr ? bsearch(&fd, t->fds, t->nr, sizeof(*t->fds), cmp_fd_entry) : NULL;

	*type = e ? e->type : 0;
	return e ? (uint64_t)e->ino : 0;
}

int files_collect_fds(struct files_dump *fdump, const struct fds_collect_args *args)
{
	struct fds_collect c = { .args = args, .fdump = fdump, .pidfd = -1, .fd_dir = -1, .fdinfo_dir = -1 };
	char path[64];
	size_t nr = 0;
	int *fds = NULL;
	int ret;

	ret = list_fds(args->pid, &fds, &nr);
	if (ret)
		return ret;
	fdump->fds.fds = calloc(nr ? nr : 1, sizeof(*fdump->fds.fds));
	if (!fdump->fds.fds || fd_index_init(&fdump->fds, nr)) {
		ret = -ENOMEM;
		goto out_free_fds;
	}
	c.pidfd = sys_pidfd_open(args->pid);
	if (c.pidfd < 0) {
		pr_perror("Can't open a pidfd for process %d", args->pid);
		ret = -errno;
		goto out_free_fds;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", args->pid);
	c.fd_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", args->pid);
	c.fdinfo_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.fd_dir < 0 || c.fdinfo_dir < 0) {
		pr_perror("Can't open /proc/%d/fd or fdinfo", args->pid);
		ret = -errno;
		goto out_close_dirs;
	}
	for (size_t i = 0; !ret && i < nr; i++) {
		ret = collect_one(&c, fds[i]);
		/* A long walk (a server's thousands of connections) says how far it got, at -v3. */
		if (nr >= PROGRESS_MIN && (i + 1) % (nr / 4) == 0)
			pr_info("%zu of %zu fds of process %d collected\n", i + 1, nr, args->pid);
	}
	for (size_t i = 0; !ret && i < FD_KIND_NR; i++)
		if (fd_kinds[i].finish)
			ret = fd_kinds[i].finish(fdump, args->pid);
	if (!ret)
		ret = file_locks_collect(&fdump->locks, args->pid, &fdump->fds, args->file_locks);
	if (!ret)
		pr_info("%zu fd(s) of process %d collected\n", nr, args->pid);
out_close_dirs:
	if (c.fd_dir >= 0)
		close(c.fd_dir);
	if (c.fdinfo_dir >= 0)
		close(c.fdinfo_dir);
	close(c.pidfd);
out_free_fds:
	free(fds);
	return ret;
}

int files_write_fdinfo(const struct fd_table *t, int dirfd, uint32_t files_id)
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_FDINFO, (unsigned int)files_id);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < t->nr; i++) {
		FdinfoEntry fe = FDINFO_ENTRY__INIT;

		fe.id = t->fds[i].id;
		fe.flags = t->fds[i].fd_flags;
		fe.type = t->fds[i].type;
		fe.fd = (uint32_t)t->fds[i].fd;
		ret = img_write_entry(img, &fe);
	}
	cret = img_close(img);
	return ret ?: cret;
}

static int write_files(const struct files_dump *fdump, int dirfd)
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_FILES);
	if (ret)
		return ret;
	/* The regular files first: the files no fd holds (exe, cwd, mappings) are among them. */
	ret = files_reg_write_entries(&fdump->reg, img);
	for (size_t i = 0; !ret && i < FD_KIND_NR; i++)
		if (fd_kinds[i].write_files)
			ret = fd_kinds[i].write_files(fdump, img);
	cret = img_close(img);
	return ret ?: cret;
}

int files_dump_write(const struct files_dump *fdump, int dirfd, uint32_t files_id)
{
	int ret = files_write_fdinfo(&fdump->fds, dirfd, files_id);

	if (!ret)
		ret = write_files(fdump, dirfd);
	for (size_t i = 0; !ret && i < FD_KIND_NR; i++)
		if (fd_kinds[i].write_images)
			ret = fd_kinds[i].write_images(fdump, dirfd);
	return ret ?: file_locks_write(&fdump->locks, dirfd);
}

void files_fd_table_free(struct fd_table *t)
{
	free(t->fds);
	free(t->heads);
	free(t->next);
	memset(t, 0, sizeof(*t));
}

void files_dump_free(struct files_dump *fdump)
{
	for (size_t i = 0; i < FD_KIND_NR; i++)
		if (fd_kinds[i].dump_free)
			fd_kinds[i].dump_free(fdump);
	files_reg_free(&fdump->reg);
	file_locks_free(&fdump->locks);
	files_fd_table_free(&fdump->fds);
	for (size_t i = 0; i < fdump->in_flight.nr; i++)
		close(fdump->in_flight.v[i].fd);
	free(fdump->in_flight.v);
	memset(fdump, 0, sizeof(*fdump));
}
