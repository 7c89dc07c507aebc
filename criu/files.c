/*
 * The open file descriptors of a process. Each fd is looked at from outside:
 * /proc/PID/fd/N (what it points at, stat), /proc/PID/fdinfo/N (flags,
 * position, mount), kcmp(KCMP_FILE) to find the fds sharing one open file
 * description, and a copy of the description taken with pidfd_getfd() for what
 * only the file can tell (owner, signal, terminal settings). Regular files,
 * directories and memory character devices (/dev/null, /dev/urandom, ...) are
 * REG files, unlinked ones ghosts; terminals go to tty.c with --shell-job; every
 * other kind is refused, naming the fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files-ghost.h"
#include "files.h"
#include "image.h"
#include "proc-parse.h"

#include "fdinfo.pb-c.h"

#define LOG_PREFIX "files: "
#include "log.h"

#define DELETED_SUFFIX " (deleted)"
#define PROGRESS_MIN 4096 /* fds from which the walk reports its progress */
#define MEM_MAJOR 1 /* /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, ... */

/* One fd being looked at. */
struct fd_probe {
	int fd;
	char link[PATH_MAX]; /* what /proc/PID/fd/N points at */
	struct stat st;
	uint64_t pos;
	uint32_t flags; /* of fdinfo, O_CLOEXEC included */
	int mnt_id;
	int dup_fd; /* our copy of the description, -1 until taken */
};

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
static const struct fd_entry *find_shared_in(const struct fd_table *t, pid_t owner, pid_t pid,
					     const struct fd_probe *p)
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

/* Names the kind of an fd that can't be dumped, for the error message. */
static const char *unsupported_kind(const struct fd_probe *p)
{
	mode_t m = p->st.st_mode;

	if (S_ISFIFO(m))
		return strncmp(p->link, "pipe:", 5) ? "a FIFO" : "a pipe";
	if (S_ISSOCK(m))
		return "a socket of an unsupported kind";
	if (!strncmp(p->link, "anon_inode:", 11))
		return "an anonymous inode file (eventfd, epoll, timerfd, signalfd, ...)";
	if (!strncmp(p->link, "/memfd:", 7))
		return "a memfd";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISCHR(m))
		return "a character device other than a memory device or a terminal";
	return "a file of a kind not supported";
}

static int refuse(const struct fds_collect *c, const struct fd_probe *p)
{
	if (S_ISCHR(p->st.st_mode) || S_ISBLK(p->st.st_mode))
		pr_err("fd %d of process %d is %s (%s, device %u:%u): not supported yet\n", p->fd, c->args->pid,
		       unsupported_kind(p), p->link, major(p->st.st_rdev), minor(p->st.st_rdev));
	else
		pr_err("fd %d of process %d is %s (%s): not supported yet\n", p->fd, c->args->pid, unsupported_kind(p),
		       p->link);
	return -EOPNOTSUPP;
}

/*
 * The path of @p as criu sees it (from the root of the mount namespace, as CRIU
 * records it, whatever the process's own root: the restore opens it from
 * there before it chroots the process), " (deleted)" removed, in @path; sets
 * *@ghost when the file was unlinked (no link left), so must be dumped as a ghost.
 */
static int fd_path(const struct fds_collect *c, const struct fd_probe *p, char *path, bool *ghost)
{
	size_t n = strlen(p->link), slen = strlen(DELETED_SUFFIX);
	struct stat st;

	*ghost = false;
	if (p->link[0] != '/') {
		pr_err("fd %d of process %d points to %s, not a path: not supported yet\n", p->fd, c->args->pid,
		       p->link);
		return -EOPNOTSUPP;
	}
	memcpy(path, p->link, n + 1);
	if (n > slen && !strcmp(path + n - slen, DELETED_SUFFIX) &&
	    (stat(p->link, &st) || st.st_dev != p->st.st_dev || st.st_ino != p->st.st_ino)) {
		if (p->st.st_nlink) {
			pr_err("fd %d of process %d is the file %s, removed from its path but linked elsewhere: "
			       "not supported yet\n",
			       p->fd, c->args->pid, p->link);
			return -EOPNOTSUPP;
		}
		path[n - slen] = '\0';
		*ghost = true;
	}
	return 0;
}

/* A regular file, a directory or a memory device: a REG entry (a ghost for an unlinked file). */
static int add_reg(struct fds_collect *c, const struct fd_probe *p, uint32_t *id)
{
	struct reg_fd_info info = {
		.flags = p->flags & ~O_CLOEXEC, .pos = p->pos, .mnt_id = p->mnt_id, .st = &p->st, .ghost_fd = -1
	};
	char path[PATH_MAX], link[64];
	bool ghost;
	int ret;

	if (!strncmp(p->link, "/memfd:", 7))
		return refuse(c, p);
	ret = fd_path(c, p, path, &ghost);
	if (!ret)
		ret = read_fown(c, p, &info.fown);
	if (ret)
		return ret;
	if (ghost) {
		ret = ghost_file_check(&p->st, path);
		if (ret) {
			pr_err("fd %d of process %d is the unlinked file %s, which can't be dumped\n", p->fd,
			       c->args->pid, path);
			return ret;
		}
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", c->args->pid, p->fd);
		info.ghost_fd = open(link, O_RDONLY | O_CLOEXEC);
		if (info.ghost_fd < 0) {
			pr_perror("Can't open the unlinked file %s through %s", path, link);
			return -errno;
		}
		pr_info("fd %d: the unlinked file %s (%lld bytes) is dumped as a ghost\n", p->fd, path,
			(long long)p->st.st_size);
	}
	info.path = path;
	return files_reg_add_fd(&c->fdump->reg, &info, id);
}

static int add_tty(struct fds_collect *c, const struct fd_probe *p, uint32_t *id)
{
	struct tty_fd_info info = { .pid = c->args->pid,
				    .fd = p->fd,
				    .dup_fd = p->dup_fd,
				    .path = p->link,
				    .flags = p->flags & ~O_CLOEXEC,
				    .st = &p->st };
	int ret;

	if (!c->args->shell_job) {
		pr_err("fd %d of process %d is the terminal %s: dump it with --shell-job (-j)\n", p->fd, c->args->pid,
		       p->link);
		return -EOPNOTSUPP;
	}
	ret = read_fown(c, p, &info.fown);
	if (ret)
		return ret;
	return tty_add_fd(&c->fdump->ttys, &c->fdump->reg, &info, id);
}

/* A socket: an inet one is recorded by sk-inet.c (which keeps criu's copy for its options), others refused. */
static int add_socket(struct fds_collect *c, struct fd_probe *p, uint32_t *id)
{
	struct reg_fown fown;
	struct inet_sk_fd f = {
		.pid = c->args->pid, .fd = p->fd, .dup_fd = p->dup_fd, .ino = (uint32_t)p->st.st_ino,
		.flags = p->flags & ~O_CLOEXEC, .fown = &fown,
	};
	const char *kind = NULL;
	int ret;

	ret = inet_sk_probe(p->dup_fd, &kind);
	if (ret < 0) {
		pr_err("can't tell the family of socket fd %d of process %d: %s\n", p->fd, c->args->pid,
		       strerror(-ret));
		return ret;
	}
	if (!ret) {
		pr_err("fd %d of process %d is %s (%s): not supported yet\n", p->fd, c->args->pid, kind, p->link);
		return -EOPNOTSUPP;
	}
	ret = read_fown(c, p, &fown);
	if (ret)
		return ret;
	*id = files_reg_new_id(&c->fdump->reg);
	ret = inet_sk_add(&c->fdump->inet, &c->args->sockets, &f, *id);
	p->dup_fd = f.dup_fd; /* -1 when the socket kept it */
	return ret;
}

/* An anonymous inode file of a kind we know: epoll or eventfd. */
static int add_anon(struct fds_collect *c, struct fd_probe *p, bool epoll, uint32_t *id)
{
	struct reg_fown fown;
	int ret = read_fown(c, p, &fown);

	if (ret)
		return ret;
	*id = files_reg_new_id(&c->fdump->reg);
	if (epoll)
		return epoll_add(&c->fdump->epoll, c->args->pid, p->fd, p->flags & ~O_CLOEXEC, &fown, *id);
	return eventfd_add(&c->fdump->eventfd, c->args->pid, p->fd, p->flags & ~O_CLOEXEC, &fown, *id);
}

/*
 * Records the description of a new (unshared) fd by its kind; sets *@type and *@id.
 * An O_PATH fd only names a file (no I/O, no owner; pidfd_getfd() refuses it):
 * whatever it names, it is a REG entry with its path.
 */
static int add_description(struct fds_collect *c, struct fd_probe *p, uint32_t *type, uint32_t *id)
{
	mode_t m = p->st.st_mode;
	bool opath = p->flags & O_PATH;
	bool epoll = !opath && epoll_is_link(p->link);
	bool efd = !opath && eventfd_is_link(p->link);
	bool reg = !epoll && !efd && (S_ISREG(m) || S_ISDIR(m) || (S_ISCHR(m) && major(p->st.st_rdev) == MEM_MAJOR) ||
			      (opath && p->link[0] == '/'));
	bool tty = !reg && S_ISCHR(m) && tty_is_terminal(&p->st);
	bool sock = S_ISSOCK(m) && !opath;
	int ret;

	if (epoll || efd) {
		*type = epoll ? FD_TYPES__EVENTPOLL : FD_TYPES__EVENTFD;
		return add_anon(c, p, epoll, id);
	}
	if (!reg && !tty && !sock)
		return refuse(c, p);
	if (opath) {
		*type = FD_TYPES__REG;
		return add_reg(c, p, id);
	}
	p->dup_fd = sys_pidfd_getfd(c->pidfd, p->fd);
	if (p->dup_fd < 0) {
		pr_perror("Can't take a copy of fd %d of process %d", p->fd, c->args->pid);
		return -errno;
	}
	if (sock) {
		*type = FD_TYPES__INETSK;
		ret = add_socket(c, p, id);
	} else {
		*type = reg ? FD_TYPES__REG : FD_TYPES__TTY;
		ret = reg ? add_reg(c, p, id) : add_tty(c, p, id);
	}
	if (p->dup_fd >= 0)
		close(p->dup_fd);
	p->dup_fd = -1;
	return ret;
}

static int collect_one(struct fds_collect *c, int fd)
{
	struct fd_table *t = &c->fdump->fds;
	struct fd_probe p = { .fd = fd, .dup_fd = -1 };
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
	if (shared && other && shared->type != FD_TYPES__REG && shared->type != FD_TYPES__TTY) {
		pr_err("fd %d of process %d (%s) is an open file of process %d too: sharing one of its kind between "
		       "processes is not supported yet\n",
		       fd, c->args->pid, p.link, other);
		return -EOPNOTSUPP;
	}
	if (shared) {
		e.id = shared->id;
		e.type = shared->type;
		pr_debug("fd %d shares its open file with fd %d (id %u)\n", fd, shared->fd, e.id);
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

/* The inode of the file at fd @fd of the dumped process (table @arg), 0 if none. */
static uint64_t fd_ino(void *arg, int fd)
{
	const struct fd_table *t = arg;
	const struct fd_entry *e = t->nr ? bsearch(&fd, t->fds, t->nr, sizeof(*t->fds), cmp_fd_entry) : NULL;

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
	if (!ret)
		ret = epoll_check_targets(&fdump->epoll, args->pid, fd_ino, &fdump->fds);
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
	ret = files_reg_write_entries(&fdump->reg, img);
	if (!ret)
		ret = tty_write_files(&fdump->ttys, img);
	if (!ret)
		ret = inet_sk_write_files(&fdump->inet, img);
	if (!ret)
		ret = epoll_write_files(&fdump->epoll, img);
	if (!ret)
		ret = eventfd_write_files(&fdump->eventfd, img);
	cret = img_close(img);
	return ret ?: cret;
}

int files_dump_write(const struct files_dump *fdump, int dirfd, uint32_t files_id)
{
	int ret = files_write_fdinfo(&fdump->fds, dirfd, files_id);

	if (!ret)
		ret = write_files(fdump, dirfd);
	if (!ret)
		ret = files_reg_write_ghosts(&fdump->reg, dirfd);
	if (!ret)
		ret = tty_write_info(&fdump->ttys, dirfd);
	return ret;
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
	files_reg_free(&fdump->reg);
	tty_table_free(&fdump->ttys);
	inet_sk_dump_free(&fdump->inet);
	epoll_dump_free(&fdump->epoll);
	eventfd_dump_free(&fdump->eventfd);
	files_fd_table_free(&fdump->fds);
	memset(fdump, 0, sizeof(*fdump));
}
