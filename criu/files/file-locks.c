/*
 * File locks, both directions (see include/file-locks.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "array.h"
#include "file-locks.h"
#include "fd-table.h"
#include "image.h"
#include "proc-parse.h"
#include "restore-fds.h"
#include "restore-image.h"

#define LOG_PREFIX "file-locks: "
#include "log.h"

struct lock_key {
	dev_t dev;
	ino_t ino;
};

static int cmp_key(const void *a, const void *b)
{
	const struct lock_key *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return (x->ino > y->ino) - (x->ino < y->ino);
}

/* The files /proc/locks lists a lock on (waiters' lines left out), sorted. */
static int locked_files(struct lock_key **keys, size_t *nr)
{
	size_t cap = 0, n = 0;
	struct lock_key *v = NULL;
	char line[512];
	int ret = 0;
	FILE *f;

	f = fopen("/proc/locks", "re");
	if (!f) {
		pr_perror("Can't open /proc/locks");
		return -errno;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		unsigned int ma, mi;
		unsigned long ino;

		if (strstr(line, "->") || sscanf(line, "%*d: %*s %*s %*s %*d %x:%x:%lu", &ma, &mi, &ino) != 3)
			continue;
		ret = ARRAY_RESERVE(v, n, cap, 16);
		if (!ret)
			v[n++] = (struct lock_key){ .dev = makedev(ma, mi), .ino = (ino_t)ino };
	}
	fclose(f);
	if (ret) {
		free(v);
		return ret;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_key);
	*keys = v;
	*nr = n;
	return 0;
}

struct lock_lines {
	struct file_locks *fl;
	pid_t pid;
	int fd;
	uint32_t desc; /* the id of the fd's open file description */
	bool allowed;
};

static int lock_kind(const char *s, uint32_t *flag)
{
	if (!strcmp(s, "POSIX"))
		*flag = FILE_LOCK_POSIX;
	else if (!strcmp(s, "FLOCK"))
		*flag = FILE_LOCK_FLOCK;
	else if (!strcmp(s, "OFDLCK"))
		*flag = FILE_LOCK_OFD;
	else if (!strcmp(s, "LEASE"))
		*flag = FILE_LOCK_LEASE;
	else
		return -EOPNOTSUPP;
	return 0;
}

/* "lock:\tN: KIND MODE RW PID MA:MI:INO START END" of /proc/PID/fdinfo/FD. */
static int lock_line(void *arg, char *line)
{
	struct lock_lines *ll = arg;
	char kind[16], mode[16], rw[16], end[24];
	long long start, last;
	FileLockEntry *e;
	uint32_t flag;
	int owner, ret;

	if (strncmp(line, "lock:", 5))
		return 0;
	if (sscanf(line, "lock: %*d: %15s %15s %15s %d %*x:%*x:%*u %lld %23s", kind, mode, rw, &owner, &start, end) !=
	    6) {
		pr_err("/proc/%d/fdinfo/%d: a lock line we can't read: %s\n", ll->pid, ll->fd, line);
		return -EINVAL;
	}
	/* A lease is ACTIVE, or BREAKING once an open() that conflicts with it began breaking it (not supported). */
	if (lock_kind(kind, &flag) || strcmp(mode, flag == FILE_LOCK_LEASE ? "ACTIVE" : "ADVISORY") ||
	    (strcmp(rw, "READ") && strcmp(rw, "WRITE"))) {
		pr_err("fd %d of process %d holds a %s %s %s lock: not supported\n", ll->fd, ll->pid, mode, kind, rw);
		return -EOPNOTSUPP;
	}
	if (!ll->allowed) {
		pr_err("fd %d of process %d holds a %s %s lock: dump it with --file-locks\n", ll->fd, ll->pid, kind,
		       rw);
		return -EOPNOTSUPP;
	}
	ret = ARRAY_RESERVE(ll->fl->v, ll->fl->nr, ll->fl->cap, 8);
	if (ret)
		return ret;
	ll->fl->v[ll->fl->nr].owner = owner;
	ll->fl->v[ll->fl->nr].desc = ll->desc;
	e = &ll->fl->v[ll->fl->nr++].e;
	file_lock_entry__init(e);
	e->flag = flag;
	e->type = strcmp(rw, "READ") ? F_WRLCK : F_RDLCK;
	e->pid = ll->pid;
	e->fd = ll->fd;
	e->start = start;
	if (strcmp(end, "EOF")) {
		last = strtoll(end, NULL, 10);
		e->len = last - start + 1;
	}
	pr_debug("fd %d: %s %s lock from %lld, %lld bytes (0: to the end)\n", ll->fd, kind, rw, start,
		 (long long)e->len);
	return 0;
}

/* Whether description @id was looked at already (@seen holds *@nr ids). */
static bool seen_before(uint32_t *seen, size_t *nr, uint32_t id)
{
	for (size_t i = 0; i < *nr; i++)
		if (seen[i] == id)
			return true;
	seen[(*nr)++] = id;
	return false;
}

int file_locks_collect(struct file_locks *fl, pid_t pid, const struct fd_table *t, bool allowed)
{
	struct lock_key *keys = NULL;
	uint32_t *seen = NULL;
	size_t nr_keys = 0, nr_seen = 0;
	int ret;

	ret = locked_files(&keys, &nr_keys);
	if (ret || !nr_keys)
		return ret;
	seen = malloc(t->nr * sizeof(*seen) + 1);
	if (!seen) {
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; !ret && i < t->nr; i++) {
		const struct fd_entry *e = &t->fds[i];
		struct lock_key k = { .dev = e->dev, .ino = e->ino };
		struct lock_lines ll = { .fl = fl, .pid = pid, .fd = e->fd, .desc = e->id, .allowed = allowed };

		/* Only the files some lock is on; each open file description once. */
		if (!bsearch(&k, keys, nr_keys, sizeof(*keys), cmp_key) || seen_before(seen, &nr_seen, e->id))
			continue;
		ret = proc_fdinfo_lines(pid, e->fd, lock_line, &ll);
	}
	if (!ret && fl->nr)
		pr_info("%zu file lock(s) of process %d\n", fl->nr, pid);
	free(seen);
	free(keys);
	return ret;
}

/* Whether flock @r is also recorded by the process that took it, which then writes it alone. */
static bool flock_of_another(const struct file_locks *fl, const struct file_lock_rec *r)
{
	if (r->e.flag != FILE_LOCK_FLOCK || r->e.pid == r->owner)
		return false;
	for (size_t i = 0; i < fl->nr; i++) {
		const struct file_lock_rec *o = &fl->v[i];

		if (o->e.flag == FILE_LOCK_FLOCK && o->desc == r->desc && o->e.pid == r->owner)
			return true;
	}
	return false;
}

int file_locks_write(const struct file_locks *fl, int dirfd)
{
	struct cr_img *img;
	int ret, cret;

	if (!fl->nr)
		return 0;
	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_FILE_LOCKS);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < fl->nr; i++)
		if (!flock_of_another(fl, &fl->v[i]))
			ret = img_write_entry(img, &fl->v[i].e);
	cret = img_close(img);
	return ret ?: cret;
}

void file_locks_free(struct file_locks *fl)
{
	free(fl->v);
	memset(fl, 0, sizeof(*fl));
}

/* Restore. */

static int cmp_fdinfo_fd(const void *key, const void *elem)
{
	uint32_t fd = *(const uint32_t *)key, x = (*(FdinfoEntry *const *)elem)->fd;

	return (fd > x) - (fd < x);
}

/* The fdinfo entry of fd @fd of @ri (sorted by fd), or NULL. */
static const FdinfoEntry *find_fd(const struct restore_image *ri, int32_t fd)
{
	uint32_t key = (uint32_t)fd;
	FdinfoEntry *const *e;

	if (fd < 0 || !ri->nr_fdinfo) /* no fds: no array to search */
		return NULL;
	e = bsearch(&key, ri->fdinfo, ri->nr_fdinfo, sizeof(*ri->fdinfo), cmp_fdinfo_fd);
	return e ? *e : NULL;
}

static int check_lock(const struct restore_image *ri, const FileLockEntry *e, const char *name)
{
	if (e->flag != FILE_LOCK_POSIX && e->flag != FILE_LOCK_FLOCK && e->flag != FILE_LOCK_OFD &&
	    e->flag != FILE_LOCK_LEASE) {
		pr_err("%s: a lock of kind %#x: not supported\n", name, e->flag);
		return -EOPNOTSUPP;
	}
	if ((e->type != F_RDLCK && e->type != F_WRLCK) || e->start < 0 || e->len < 0) {
		pr_err("%s: lock on fd %d: type %u or range %lld+%lld out of range\n", name, e->fd, e->type,
		       (long long)e->start, (long long)e->len);
		return -EINVAL;
	}
	if (!find_fd(ri, e->fd)) {
		pr_err("%s: a lock on fd %d, which process %d did not have\n", name, e->fd, ri->pid);
		return -EINVAL;
	}
	return 0;
}

int file_locks_load(int dirfd, struct restore_image *ri)
{
	struct cr_img *img;
	size_t cap = 0;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ_OPTIONAL, CR_IMG_FILE_LOCKS);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (;;) {
		FileLockEntry *e;

		ret = img_read_entry(img, (void **)&e);
		if (ret || !e)
			break;
		if (e->pid != ri->pid) {
			img_free_entry(e);
			continue;
		}
		ret = check_lock(ri, e, img_name(img));
		ret = ret ?: ARRAY_RESERVE(ri->locks, ri->nr_locks, cap, 8);
		if (ret) {
			img_free_entry(e);
			break;
		}
		ri->locks[ri->nr_locks++] = e;
	}
	img_close(img);
	return ret;
}

void file_locks_load_free(struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_locks; i++)
		img_free_entry(ri->locks[i]);
	free(ri->locks);
	ri->locks = NULL;
	ri->nr_locks = 0;
}

static void fill_flock(const FileLockEntry *e, struct flock *f)
{
	memset(f, 0, sizeof(*f));
	f->l_type = (short)e->type;
	f->l_whence = SEEK_SET;
	f->l_start = (off_t)e->start;
	f->l_len = (off_t)e->len;
}

int file_locks_take_shared(const struct restore_image *ri, const struct restore_fds *fds)
{
	for (size_t i = 0; i < ri->nr_locks; i++) {
		const FileLockEntry *e = ri->locks[i];
		int src = restore_fds_get(fds, ri, find_fd(ri, e->fd)->id), ret = 0;
		struct flock f;

		if (e->flag != FILE_LOCK_OFD)
			continue; /* a flock names the process that took it: taken by the process itself */
		if (src < 0) {
			pr_err("no file for the lock on fd %d\n", e->fd);
			return -EBADF;
		}
		fill_flock(e, &f);
		ret = fcntl(src, F_OFD_SETLK, &f);
		if (ret < 0) {
			pr_perror("Can't take the OFD lock of fd %d again", e->fd);
			return -errno;
		}
	}
	return 0;
}

/*
 * A lease is taken by the process itself, at its fd: F_SETLEASE also makes the
 * caller the owner of the file (who gets the lease-break signal), as it was.
 */
static int take_lease(const FileLockEntry *e)
{
	if (fcntl(e->fd, F_SETLEASE, e->type == F_WRLCK ? F_WRLCK : F_RDLCK) < 0) {
		pr_perror("Can't take the %s lease of fd %d again", e->type == F_WRLCK ? "write" : "read", e->fd);
		return -errno;
	}
	return 0;
}

int file_locks_take_own(const struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_locks; i++) {
		const FileLockEntry *e = ri->locks[i];
		struct flock f;
		int ret;

		if (e->flag == FILE_LOCK_LEASE) {
			ret = take_lease(e);
			if (ret)
				return ret;
			continue;
		}
		if (e->flag == FILE_LOCK_FLOCK) {
			if (flock(e->fd, (e->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
				return -errno;
			continue;
		}
		if (e->flag != FILE_LOCK_POSIX)
			continue;
		fill_flock(e, &f);
		if (fcntl(e->fd, F_SETLK, &f) < 0)
			return -errno;
	}
	return 0;
}
