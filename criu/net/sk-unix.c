/*
 * AF_UNIX sockets, both directions (see include/sk-unix.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "array.h"
#include "files.h"
#include "image.h"
#include "restore-fds.h"
#include "sk-inet.h"
#include "sk-unix.h"

#include "sk-packet.pb-c.h"
#include "sk-unix.pb-c.h"

#define LOG_PREFIX "unix: "
#include "log.h"

#ifndef SIOCUNIXFILE
#define SIOCUNIXFILE (SIOCPROTOPRIVATE + 0) /* an O_PATH fd of a path-bound socket's file */
#endif
#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)
#define DELETED_SUFFIX " (deleted)"
#define CMSG_BUF_SIZE 2048
#define PKT_MAX (64u << 20) /* a datagram larger than this is refused (a unix datagram fits its sender's buffer) */

static bool is_stream_like(uint32_t type)
{
	return type == SOCK_STREAM || type == SOCK_SEQPACKET;
}

/* The socket's name for messages: a path, "@" and the abstract name (NULs as '@'), or "unbound". */
static const char *sk_name(const char *name, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	if (!len)
		return "unbound";
	for (size_t i = 0; i < len && n + 1 < size; i++)
		buf[n++] = name[i] ? name[i] : '@';
	buf[n] = '\0';
	return buf;
}

static const char *diag_name(const struct sk_diag_unix *d, char *buf, size_t size)
{
	return sk_name(d->name, d->name_len, buf, size);
}

/* Dump. */

bool unix_sk_match(const struct fd_probe *p)
{
	return S_ISSOCK(p->st.st_mode) && p->sk_family == AF_UNIX;
}

static int read_opts(int fd, struct unix_sk_opts *o)
{
	uint32_t passcred = 0, passsec = 0;
	int ret;

	ret = sk_opts_read_common(fd, &o->common);
	ret = ret ?: sk_opt_get_int(fd, SO_PASSCRED, &passcred);
	ret = ret ?: sk_opt_get_int(fd, SO_PASSSEC, &passsec);
	if (ret)
		return ret;
	o->passcred = passcred, o->passsec = passsec;
	return 0;
}

/*
 * Mode, owner and state of a path-bound socket's file, through the O_PATH fd
 * the kernel opens on it (SIOCUNIXFILE); a relative name's directory from
 * that fd's path.
 */
static int resolve_path(struct unix_sk *sk, int sk_fd, pid_t pid)
{
	const struct sk_diag_unix *d = sk->d;
	char link[64], path[PATH_MAX + sizeof(DELETED_SUFFIX)];
	size_t sfx = strlen(DELETED_SUFFIX), nlen = strnlen(d->name, d->name_len);
	struct stat st;
	ssize_t n;
	int fd;

	fd = ioctl(sk_fd, SIOCUNIXFILE);
	if (fd < 0) {
		pr_perror("Can't open the file of unix socket %u (fd %d of process %d)", d->ino, sk->fd, pid);
		return -errno;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0 || fstat(fd, &st) < 0) {
		pr_perror("Can't read the file of unix socket %u", d->ino);
		close(fd);
		return -errno;
	}
	close(fd);
	path[n] = '\0';
	if ((size_t)n > sfx && !strcmp(path + n - sfx, DELETED_SUFFIX)) {
		sk->deleted = true;
		path[n -= (ssize_t)sfx] = '\0';
	}
	sk->has_perms = true;
	sk->mode = st.st_mode;
	sk->uid = st.st_uid;
	sk->gid = st.st_gid;
	if (d->name[0] == '/')
		return 0;
	/* path is name_dir/name */
	if ((size_t)n <= nlen + 1 || strcmp(path + n - nlen, d->name) || path[n - (ssize_t)nlen - 1] != '/') {
		pr_err("unix socket %u (fd %d of process %d): can't tell the directory of its relative name %.*s from %s\n",
		       d->ino, sk->fd, pid, (int)nlen, d->name, path);
		return -EINVAL;
	}
	path[n - (ssize_t)nlen - 1] = '\0';
	sk->name_dir = strdup(path[0] ? path : "/");
	return sk->name_dir ? 0 : -ENOMEM;
}

/* Closes the fds a peek installed in criu (SCM_RIGHTS, SCM_PIDFD). */
static void drop_cmsg_fds(struct msghdr *mh)
{
	for (struct cmsghdr *ch = CMSG_FIRSTHDR(mh); ch; ch = CMSG_NXTHDR(mh, ch)) {
		int *fds = (int *)CMSG_DATA(ch);
		size_t nr = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (ch->cmsg_level != SOL_SOCKET || (ch->cmsg_type != SCM_RIGHTS && ch->cmsg_type != SCM_PIDFD))
			continue;
		for (size_t i = 0; i < nr; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
}

/*
 * Records the files a peeked packet carries (SCM_RIGHTS: criu's copies, which
 * the caller closes) as files of files.img, their ids into *@rights. The
 * kernel gives one SCM_RIGHTS per packet.
 */
static int record_rights(const struct fd_dump_ctx *c, const struct unix_sk *sk, struct msghdr *mh, uint32_t **rights,
			 uint32_t *nr_rights)
{
	char holder[256];

	if (sk->pid == getpid()) /* itself in flight, criu's copy */
		snprintf(holder, sizeof(holder), "unix socket %u, in flight in %s,", sk->d->ino,
			 c->fdump->in_flight.outer);
	else
		snprintf(holder, sizeof(holder), "unix socket %u (fd %d of process %d)", sk->d->ino, sk->fd, sk->pid);
	for (struct cmsghdr *ch = CMSG_FIRSTHDR(mh); ch; ch = CMSG_NXTHDR(mh, ch)) {
		int *fds = (int *)CMSG_DATA(ch);
		size_t nr = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int ret;

		if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS || !nr)
			continue;
		if (*rights) {
			pr_err("%s: a queued packet with two SCM_RIGHTS messages\n", holder);
			return -EINVAL;
		}
		*rights = calloc(nr, sizeof(**rights));
		if (!*rights)
			return -ENOMEM;
		*nr_rights = (uint32_t)nr;
		for (size_t i = 0; i < nr; i++) {
			uint32_t type;

			ret = files_dump_in_flight(c, fds[i], holder, &type, &(*rights)[i]);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * A queued packet; @from is its sender's address (a datagram's), @from_len 0
 * when unnamed; @rights the files it carries, taken over.
 */
static int add_pkt(struct unix_sk *sk, size_t *cap, size_t off, uint32_t len, const struct sockaddr_un *from,
		   socklen_t from_len, uint32_t *rights, uint32_t nr_rights)
{
	int ret = ARRAY_RESERVE(sk->pkts, sk->nr_pkts, *cap, 8);
	struct unix_sk_pkt *p;
	size_t alen;

	if (ret) {
		free(rights);
		return ret;
	}
	p = &sk->pkts[sk->nr_pkts++];
	*p = (struct unix_sk_pkt){ .off = off, .len = len, .rights = rights, .nr_rights = nr_rights };
	alen = from_len > offsetof(struct sockaddr_un, sun_path) ? from_len - offsetof(struct sockaddr_un, sun_path) :
								   0;
	if (alen > sizeof(p->addr))
		alen = sizeof(p->addr);
	memcpy(p->addr, from->sun_path, alen);
	p->alen = (uint8_t)alen;
	return 0;
}

/* What one peek brought besides the bytes. */
struct peeked {
	struct sockaddr_un from; /* its sender's address (a datagram's) */
	socklen_t from_len;
	uint32_t *rights; /* the files in flight it carries, by id */
	uint32_t nr_rights;
};

/*
 * Peeks the next packet (a datagram, or what a stream gives at once: the
 * kernel stops after a packet carrying files, and reports its files for the
 * whole run of bytes it gives) into sk->qdata at sk->qlen, what else it
 * brings into @pk. Returns its length, 0 at the end of the queue, or -errno.
 */
static ssize_t peek_one(const struct fd_dump_ctx *c, struct unix_sk *sk, int fd, size_t *qcap, struct peeked *pk)
{
	pid_t pid = sk->pid;
	char cbuf[CMSG_BUF_SIZE];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	size_t want = 64 << 10;
	ssize_t n;
	int ret;

	if (sk->d->type != SOCK_STREAM) {
		/* A datagram's length first (MSG_TRUNC with no room moves the peek offset by nothing). */
		n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
		if (n <= 0)
			return n < 0 && errno != EAGAIN ? -errno : 0;
		if ((size_t)n > PKT_MAX) {
			pr_err("fd %d of process %d: a queued datagram of %zd bytes is too large\n", sk->fd, pid, n);
			return -EFBIG;
		}
		want = (size_t)n;
	} else if (sk->d->rqlen > sk->qlen) {
		want = sk->d->rqlen - sk->qlen;
	}
	if (sk->qlen + want > *qcap) {
		size_t ncap = *qcap ? *qcap : 64 << 10;
		uint8_t *nq;

		while (ncap < sk->qlen + want)
			ncap *= 2;
		nq = realloc(sk->qdata, ncap);
		if (!nq)
			return -ENOMEM;
		sk->qdata = nq;
		*qcap = ncap;
	}
	iov.iov_base = sk->qdata + sk->qlen;
	iov.iov_len = want;
	if (sk->d->type != SOCK_STREAM) {
		mh.msg_name = &pk->from;
		mh.msg_namelen = sizeof(pk->from);
	}
	n = recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	pk->from_len = n >= 0 ? mh.msg_namelen : 0;
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	ret = record_rights(c, sk, &mh, &pk->rights, &pk->nr_rights);
	drop_cmsg_fds(&mh);
	if (ret)
		return ret;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		pr_err("fd %d of process %d: a queued packet of unix socket %u was truncated\n", sk->fd, pid,
		       sk->d->ino);
		return -EIO;
	}
	return n;
}

/* The receive queue, read without consuming it: MSG_PEEK from SO_PEEK_OFF 0, the offset put back after. */
static int dump_queue(const struct fd_dump_ctx *c, struct unix_sk *sk, int fd, pid_t pid)
{
	size_t qcap = 0, pcap = 0;
	int peek_off = -1, zero = 0, ret = 0;
	socklen_t len = sizeof(peek_off);
	struct peeked pk = { .rights = NULL };
	ssize_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &peek_off, &len) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		pr_perror("Can't set the peek offset of unix socket %u (fd %d of process %d)", sk->d->ino, sk->fd, pid);
		return -errno;
	}
	while ((n = peek_one(c, sk, fd, &qcap, &pk)) > 0) {
		ret = add_pkt(sk, &pcap, sk->qlen, (uint32_t)n, &pk.from, pk.from_len, pk.rights, pk.nr_rights);
		pk.rights = NULL, pk.nr_rights = 0;
		if (ret)
			break;
		sk->qlen += (size_t)n;
	}
	free(pk.rights); /* a peek that failed */
	if (n < 0) {
		ret = (int)n;
		if (ret != -EOPNOTSUPP && ret != -EIO && ret != -EFBIG)
			pr_err("can't peek the queue of unix socket %u (fd %d of process %d): %s\n", sk->d->ino, sk->fd,
			       pid, strerror(-ret));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &peek_off, sizeof(peek_off)) < 0) {
		pr_perror("Can't put back the peek offset of unix socket %u", sk->d->ino);
		ret = ret ?: -errno;
	}
	if (!ret)
		pr_debug("fd %d: %zu queued byte(s) in %zu packet(s)\n", sk->fd, sk->qlen, sk->nr_pkts);
	return ret;
}

static int check_kind(const struct sk_diag_unix *d, int fd, pid_t pid)
{
	if (d->type != SOCK_STREAM && d->type != SOCK_DGRAM && d->type != SOCK_SEQPACKET) {
		pr_err("fd %d of process %d: unix socket %u of type %u: not supported\n", fd, pid, d->ino, d->type);
		return -EOPNOTSUPP;
	}
	if (d->state != TCP_LISTEN && d->state != TCP_ESTABLISHED && d->state != TCP_CLOSE) {
		pr_err("fd %d of process %d: unix socket %u in state %u: not supported\n", fd, pid, d->ino, d->state);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Frees what socket @sk holds. */
static void free_sk(struct unix_sk *sk)
{
	free(sk->name_dir);
	free(sk->qdata);
	for (size_t j = 0; j < sk->nr_pkts; j++)
		free(sk->pkts[j].rights);
	free(sk->pkts);
}

int unix_sk_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct unix_sk_dump *ud = &c->fdump->usk;
	pid_t pid = c->args->pid;
	const struct sk_diag_unix *d;
	struct unix_sk sk = { 0 };
	int ret;

	ret = sk_diag_collect_unix(&ud->diag);
	if (ret)
		return ret;
	ud->ext_unix_sk = c->args->ext_unix_sk;
	ud->skip_in_flight = c->args->sockets.skip_in_flight;
	d = sk_diag_find_unix(&ud->diag, (uint32_t)p->st.st_ino);
	if (!d) {
		pr_err("fd %d of process %d: unix socket %lu is not in criu's network namespace\n", p->fd, pid,
		       (unsigned long)p->st.st_ino);
		return -EOPNOTSUPP;
	}
	ret = check_kind(d, p->fd, pid);
	if (ret)
		return ret;
	/*
	 * Built aside and added once complete: its queue may hold sockets in flight (SCM_RIGHTS),
	 * recorded meanwhile by this very function into ud->v.
	 */
	sk.id = *id = files_reg_new_id(&c->fdump->reg);
	sk.fd = p->fd;
	sk.pid = pid;
	sk.flags = p->flags & ~(uint32_t)O_CLOEXEC;
	sk.fown = p->fown;
	sk.d = d;
	sk.peer = d->peer;
	ret = read_opts(p->dup_fd, &sk.opts);
	if (ret) {
		pr_err("can't read the options of unix socket %u (fd %d of process %d): %s\n", d->ino, p->fd, pid,
		       strerror(-ret));
		return ret;
	}
	/* An accepted socket carries its listener's name, which it is not bound to. */
	if (d->name_len && d->name[0] && !(is_stream_like(d->type) && d->state == TCP_ESTABLISHED))
		ret = resolve_path(&sk, p->dup_fd, pid);
	/* A stream socket that is not connected (unbound, bound or listening) has no queue. */
	if (!ret && !(is_stream_like(d->type) && d->state != TCP_ESTABLISHED))
		ret = dump_queue(c, &sk, p->dup_fd, pid);
	ret = ret ?: ARRAY_RESERVE(ud->v, ud->nr, ud->cap, 16);
	if (ret) {
		free_sk(&sk);
		return ret;
	}
	ud->v[ud->nr++] = sk;
	pr_debug("fd %d: unix socket %u type %u state %u peer %u, %u byte(s) queued\n", p->fd, d->ino, d->type,
		 d->state, d->peer, d->rqlen);
	return 0;
}

static int cmp_sk_ino(const void *a, const void *b)
{
	uint32_t x = (*(struct unix_sk *const *)a)->d->ino, y = (*(struct unix_sk *const *)b)->d->ino;

	return (x > y) - (x < y);
}

static struct unix_sk *find_ours(struct unix_sk **by_ino, size_t nr, uint32_t ino)
{
	struct sk_diag_unix kd = { .ino = ino };
	struct unix_sk key = { .d = &kd }, *kp = &key, **f;

	f = nr ? bsearch(&kp, by_ino, nr, sizeof(*by_ino), cmp_sk_ino) : NULL;
	return f ? *f : NULL;
}

/* Which process and fd hold socket @ino, for a refusal's message: a walk of /proc. */
static void find_holder(uint32_t ino, pid_t self, pid_t *pid, int *fd)
{
	char want[32], path[64], link[64];
	struct dirent *pe, *fe;
	DIR *proc, *fds;

	*pid = 0, *fd = -1;
	snprintf(want, sizeof(want), "socket:[%u]", ino);
	proc = opendir("/proc");
	while (proc && !*pid && (pe = readdir(proc))) {
		pid_t p = atoi(pe->d_name);

		if (p <= 0 || p == self || p == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", p);
		fds = opendir(path);
		while (fds && (fe = readdir(fds))) {
			ssize_t n = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link) - 1);

			if (n > 0 && (link[n] = '\0', !strcmp(link, want))) {
				*pid = p, *fd = atoi(fe->d_name);
				break;
			}
		}
		if (fds)
			closedir(fds);
	}
	if (proc)
		closedir(proc);
}

static int refuse_external(const struct unix_sk *sk, const struct sk_diag_unix *peer, pid_t pid, const char *why)
{
	char n1[128], n2[128];
	pid_t hp;
	int hfd;

	find_holder(peer->ino, pid, &hp, &hfd);
	if (hp)
		pr_err("fd %d of process %d: unix socket %u (%s) is connected to socket %u (%s) of process %d (fd %d), "
		       "outside the dump: %s\n",
		       sk->fd, pid, sk->d->ino, diag_name(sk->d, n1, sizeof(n1)), peer->ino,
		       diag_name(peer, n2, sizeof(n2)), hp, hfd, why);
	else
		pr_err("fd %d of process %d: unix socket %u (%s) is connected to socket %u (%s), outside the dump: %s\n",
		       sk->fd, pid, sk->d->ino, diag_name(sk->d, n1, sizeof(n1)), peer->ino,
		       diag_name(peer, n2, sizeof(n2)), why);
	return -EOPNOTSUPP;
}

/* A datagram socket sending to @peer outside the dump: with --ext-unix-sk, an USK_EXTERN entry names it. */
static int add_external(struct unix_sk_dump *ud, struct files_dump *fdump, const struct unix_sk *sk,
			const struct sk_diag_unix *peer, pid_t pid)
{
	int ret;

	if (!ud->ext_unix_sk)
		return refuse_external(sk, peer, pid, "consider using the --ext-unix-sk option");
	if (sk->d->type != SOCK_DGRAM || peer->type != SOCK_DGRAM)
		return refuse_external(sk, peer, pid,
				       "half of a stream connection can't be dumped, even with --ext-unix-sk");
	if (!peer->name_len)
		return refuse_external(sk, peer, pid,
				       "an unbound peer can't be reached again, even with --ext-unix-sk");
	for (size_t i = 0; i < ud->nr_ext; i++)
		if (ud->ext[i].d == peer)
			return 0;
	ret = ARRAY_RESERVE(ud->ext, ud->nr_ext, ud->cap_ext, 4);
	if (ret)
		return ret;
	ud->ext[ud->nr_ext++] = (struct unix_sk_ext){ .id = files_reg_new_id(&fdump->reg), .d = peer };
	pr_info("fd %d: datagram peer %u outside the dump (--ext-unix-sk), reconnected by name on restore\n", sk->fd,
		peer->ino);
	return 0;
}

/* A listener's connections not yet accepted: each client must be ours (it connects again), else refused. */
static int check_icons(struct unix_sk_dump *ud, struct unix_sk **by_ino, const struct unix_sk *sk, pid_t pid)
{
	uint32_t outside = 0;
	char n[128];

	for (uint32_t i = 0; i < sk->d->nr_icons; i++) {
		struct unix_sk *cl = sk->d->icons[i] ? find_ours(by_ino, ud->nr, sk->d->icons[i]) : NULL;

		if (!cl) {
			outside++;
			continue;
		}
		if (cl->d->wqlen) {
			pr_err("fd %d of process %d: its connection to the listener at fd %d, not yet accepted, has %u "
			       "byte(s) sent: not supported\n",
			       cl->fd, pid, sk->fd, cl->d->wqlen);
			return -EOPNOTSUPP;
		}
	}
	if (!outside)
		return 0;
	if (!ud->skip_in_flight) {
		pr_err("fd %d of process %d: the listening unix socket %s has %u connection(s) from outside the dump not "
		       "yet accepted; use --skip-in-flight to drop them\n",
		       sk->fd, pid, diag_name(sk->d, n, sizeof(n)), outside);
		return -EOPNOTSUPP;
	}
	pr_warn("fd %d: %u in-flight connection(s) to %s from outside are left out (--skip-in-flight)\n", sk->fd,
		outside, diag_name(sk->d, n, sizeof(n)));
	return 0;
}

/* The listener, anywhere in the namespace, whose accept queue holds client @ino. */
static const struct sk_diag_unix *find_listener(const struct sk_diag_unix_table *t, uint32_t ino)
{
	for (size_t i = 0; i < t->nr; i++)
		for (uint32_t j = 0; t->v[i].state == TCP_LISTEN && j < t->v[i].nr_icons; j++)
			if (t->v[i].icons[j] == ino)
				return &t->v[i];
	return NULL;
}

/* A connected socket without a peer inode: an in-flight client, or one whose peer closed. */
static int check_unpeered(struct unix_sk_dump *ud, struct unix_sk **by_ino, struct unix_sk *sk, pid_t pid)
{
	const struct sk_diag_unix *l = find_listener(&ud->diag, sk->d->ino);
	char n[128];

	if (!l) {
		if (sk->d->shutdown == 3)
			return 0; /* its peer closed: it reads its queue, then the end */
		pr_err("fd %d of process %d: connected unix socket %u has no peer and is not shut down\n", sk->fd, pid,
		       sk->d->ino);
		return -EOPNOTSUPP;
	}
	if (!find_ours(by_ino, ud->nr, l->ino)) {
		pr_err("fd %d of process %d: unix socket %u is a connection not yet accepted by the listener %u (%s) "
		       "outside the dump: not supported\n",
		       sk->fd, pid, sk->d->ino, l->ino, diag_name(l, n, sizeof(n)));
		return -EOPNOTSUPP;
	}
	if (!l->name_len) {
		pr_err("fd %d of process %d: in-flight connection to an unbound listener\n", sk->fd, pid);
		return -EOPNOTSUPP;
	}
	sk->peer = l->ino; /* connects to it again on restore */
	return 0;
}

static int check_peer(struct unix_sk_dump *ud, struct files_dump *fdump, struct unix_sk **by_ino, struct unix_sk *sk,
		      pid_t pid)
{
	const struct sk_diag_unix *d = sk->d, *pd;
	struct unix_sk *peer;
	char n[128];

	if (d->state == TCP_LISTEN)
		return check_icons(ud, by_ino, sk, pid);
	if (!d->peer)
		return is_stream_like(d->type) && d->state == TCP_ESTABLISHED ? check_unpeered(ud, by_ino, sk, pid) : 0;
	peer = find_ours(by_ino, ud->nr, d->peer);
	if (peer) {
		if (peer->d->peer == d->ino && peer != sk)
			return 0; /* both ends: one socketpair */
		if (d->type == SOCK_DGRAM && peer->d->name_len)
			return 0; /* sends to a bound socket: connects to its name again */
		pr_err("fd %d of process %d: unix socket %u is connected to %u (fd %d, %s), which can't be reached "
		       "again\n",
		       sk->fd, pid, d->ino, peer->d->ino, peer->fd, diag_name(peer->d, n, sizeof(n)));
		return -EOPNOTSUPP;
	}
	pd = sk_diag_find_unix(&ud->diag, d->peer);
	if (!pd) {
		pr_err("fd %d of process %d: unix socket %u is connected to socket %u, in another network namespace or "
		       "closed: not supported\n",
		       sk->fd, pid, d->ino, d->peer);
		return -EOPNOTSUPP;
	}
	return add_external(ud, fdump, sk, pd, pid);
}

int unix_sk_finish(struct files_dump *fdump, pid_t pid)
{
	struct unix_sk_dump *ud = &fdump->usk;
	struct unix_sk **by_ino;
	int ret = 0;

	(void)pid;
	/* A peer may be in a process of the tree not collected yet: all are checked once, after the last. */
	if (!ud->nr || ud->more_procs)
		return 0;
	by_ino = malloc(ud->nr * sizeof(*by_ino));
	if (!by_ino)
		return -ENOMEM;
	for (size_t i = 0; i < ud->nr; i++)
		by_ino[i] = &ud->v[i];
	qsort(by_ino, ud->nr, sizeof(*by_ino), cmp_sk_ino);
	for (size_t i = 0; !ret && i < ud->nr; i++)
		ret = check_peer(ud, fdump, by_ino, &ud->v[i], ud->v[i].pid);
	free(by_ino);
	if (!ret)
		pr_info("%zu unix socket(s), %zu external peer(s)\n", ud->nr, ud->nr_ext);
	return ret;
}

static void fill_opts(const struct unix_sk_opts *o, SkOptsEntry *e)
{
	sk_opts_fill_common(&o->common, e);
	e->has_so_passcred = 1, e->so_passcred = o->passcred;
	e->has_so_passsec = 1, e->so_passsec = o->passsec;
}

static int write_entry(struct cr_img *img, UnixSkEntry *ue)
{
	FileEntry fe = FILE_ENTRY__INIT;

	fe.type = FD_TYPES__UNIXSK;
	fe.id = ue->id;
	fe.usk = ue;
	return img_write_entry(img, &fe);
}

static int write_one(const struct unix_sk *sk, struct cr_img *img)
{
	UnixSkEntry ue = UNIX_SK_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
	FilePermsEntry perms = FILE_PERMS_ENTRY__INIT;
	FownEntry fown;

	reg_fown_entry(&sk->fown, &fown);
	fill_opts(&sk->opts, &opts);
	ue.id = sk->id;
	ue.ino = sk->d->ino;
	ue.type = sk->d->type;
	ue.state = sk->d->state;
	ue.flags = sk->flags;
	ue.backlog = sk->d->state == TCP_LISTEN ? sk->d->wqlen : 0;
	ue.peer = sk->peer;
	ue.fown = &fown;
	ue.opts = &opts;
	ue.name.len = sk->d->name_len;
	ue.name.data = (uint8_t *)sk->d->name;
	if (sk->d->shutdown)
		ue.has_shutdown = 1, ue.shutdown = (SkShutdown)(sk->d->shutdown & 3);
	if (sk->has_perms) {
		perms.mode = sk->mode, perms.uid = sk->uid, perms.gid = sk->gid;
		ue.file_perms = &perms;
	}
	ue.name_dir = sk->name_dir;
	if (sk->deleted)
		ue.has_deleted = 1, ue.deleted = true;
	return write_entry(img, &ue);
}

/* The socket outside that a datagram socket sends to, as CRIU writes it: a bound datagram "listener". */
static int write_ext(const struct unix_sk_ext *e, struct cr_img *img)
{
	UnixSkEntry ue = UNIX_SK_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;

	ue.id = e->id;
	ue.ino = e->d->ino;
	ue.type = SOCK_DGRAM;
	ue.state = TCP_LISTEN;
	ue.uflags = USK_EXTERN;
	ue.fown = &fown;
	ue.opts = &opts;
	ue.name.len = e->d->name_len;
	ue.name.data = (uint8_t *)e->d->name;
	return write_entry(img, &ue);
}

int unix_sk_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	const struct unix_sk_dump *ud = &fdump->usk;
	int ret = 0;

	for (size_t i = 0; !ret && i < ud->nr; i++)
		ret = write_one(&ud->v[i], img);
	for (size_t i = 0; !ret && i < ud->nr_ext; i++)
		ret = write_ext(&ud->ext[i], img);
	return ret;
}

int unix_sk_write_queues(const struct files_dump *fdump, int dirfd)
{
	const struct unix_sk_dump *ud = &fdump->usk;
	struct cr_img *img = NULL;
	int ret = 0, cret;

	for (size_t i = 0; !ret && i < ud->nr; i++) {
		const struct unix_sk *sk = &ud->v[i];

		for (size_t j = 0; !ret && j < sk->nr_pkts; j++) {
			SkPacketEntry pe = SK_PACKET_ENTRY__INIT;
			ScmEntry se = SCM_ENTRY__INIT, *sep = &se;

			if (!img)
				ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_SK_QUEUES);
			if (ret)
				return ret;
			pe.id_for = sk->id;
			pe.length = sk->pkts[j].len;
			if (sk->pkts[j].alen) {
				pe.has_addr = 1;
				pe.addr.len = sk->pkts[j].alen;
				pe.addr.data = (uint8_t *)sk->pkts[j].addr;
			}
			if (sk->pkts[j].nr_rights) {
				se.type = SCM_RIGHTS;
				se.n_rights = sk->pkts[j].nr_rights;
				se.rights = sk->pkts[j].rights;
				pe.n_scm = 1;
				pe.scm = &sep;
			}
			ret = img_write_entry(img, &pe);
			ret = ret ?: img_write_raw(img, sk->qdata + sk->pkts[j].off, sk->pkts[j].len);
		}
	}
	if (!img)
		return ret;
	cret = img_close(img);
	return ret ?: cret;
}

void unix_sk_dump_free(struct files_dump *fdump)
{
	struct unix_sk_dump *ud = &fdump->usk;

	for (size_t i = 0; i < ud->nr; i++)
		free_sk(&ud->v[i]);
	free(ud->v);
	free(ud->ext);
	sk_diag_unix_free(&ud->diag);
	memset(ud, 0, sizeof(*ud));
}

/* Restore. */

/* The packets of sk-queues.img, in image order (a queue's order). */
struct usk_pkt {
	uint32_t id_for;
	uint32_t len;
	uint8_t *data;
	uint8_t alen; /* its sender's address, 0 when unnamed */
	char addr[SUN_PATH_MAX];
	size_t *rights; /* the files it carries in flight, by index in ri->files */
	uint32_t nr_rights;
};

struct usk_queues {
	struct usk_pkt *v;
	size_t nr, cap;
	bool *in_flight; /* per file of ri->files: carried by a packet */
	size_t nr_files;
};

static bool ue_has_path(const UnixSkEntry *ue)
{
	return ue->name.len && ue->name.data[0];
}

int unix_sk_check_entry(const FileEntry *fe, const char *name)
{
	const UnixSkEntry *ue = fe->usk;

	if (!ue || ue->id != fe->id || !ue->opts || !ue->fown) {
		pr_err("%s: file %u: a unix socket entry without its socket, options or owner\n", name, fe->id);
		return -EINVAL;
	}
	if (ue->name.len > SUN_PATH_MAX || (ue->name.len && !ue->name.data) ||
	    (ue_has_path(ue) && memchr(ue->name.data, 0, ue->name.len - 1))) { /* a path may end with its NUL */
		pr_err("%s: unix socket %u: a name of %zu bytes is malformed\n", name, ue->ino, ue->name.len);
		return -EINVAL;
	}
	if (ue->type != SOCK_STREAM && ue->type != SOCK_DGRAM && ue->type != SOCK_SEQPACKET) {
		pr_err("%s: unix socket %u: type %u is not supported\n", name, ue->ino, ue->type);
		return -EOPNOTSUPP;
	}
	if (ue->state != TCP_LISTEN && ue->state != TCP_ESTABLISHED && ue->state != TCP_CLOSE) {
		pr_err("%s: unix socket %u: state %u is not supported\n", name, ue->ino, ue->state);
		return -EOPNOTSUPP;
	}
	if (ue->uflags & ~(uint32_t)USK_EXTERN) {
		pr_err("%s: unix socket %u: flags %#x (CRIU's service, plugin or inherited sockets) are not supported\n",
		       name, ue->ino, ue->uflags);
		return -EOPNOTSUPP;
	}
	if ((ue->has_deleted && ue->deleted && !ue_has_path(ue)) ||
	    (ue_has_path(ue) && ue->name.data[0] != '/' && !ue->name_dir) || (ue->has_shutdown && ue->shutdown > 3)) {
		pr_err("%s: unix socket %u: its name, directory, deleted or shutdown field is malformed\n", name,
		       ue->ino);
		return -EINVAL;
	}
	return 0;
}

/* The most files one packet carries (the kernel's SCM_MAX_FD). */
#define SCM_RIGHTS_MAX 253

/*
 * A packet's files in flight: one SCM_RIGHTS entry, each file one of files.img,
 * which the first process of the tree makes whether an fd holds it or not
 * (restore_fds_in_flight()), before the queues are refilled: every kind but
 * terminals (opened after the sockets).
 */
static int check_scm(struct cr_img *img, const struct restore_image *ri, const SkPacketEntry *pe)
{
	const ScmEntry *se = pe->n_scm ? pe->scm[0] : NULL;

	if (!pe->n_scm)
		return 0;
	if (pe->n_scm > 1 || se->type != SCM_RIGHTS || !se->n_rights || se->n_rights > SCM_RIGHTS_MAX) {
		pr_err("%s: a packet for unix socket %u carries %zu control message(s) of type %u: only one SCM_RIGHTS "
		       "of at most %d files is supported\n",
		       img_name(img), pe->id_for, pe->n_scm, se->type, SCM_RIGHTS_MAX);
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < se->n_rights; i++) {
		ssize_t f = restore_images_file_idx(ri, se->rights[i]);
		uint32_t t = f >= 0 ? ri->files[f]->type : 0;

		if (f < 0) {
			pr_err("%s: a packet for unix socket %u carries file %u, which files.img lacks\n",
			       img_name(img), pe->id_for, se->rights[i]);
			return -EINVAL;
		}
		if (!fd_kind_of_type(t) || t == FD_TYPES__TTY) {
			pr_err("%s: a packet for unix socket %u carries file %u of type %u in flight: not supported\n",
			       img_name(img), pe->id_for, se->rights[i], t);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static int take_rights(const struct restore_image *ri, const SkPacketEntry *pe, struct usk_queues *q, struct usk_pkt *p)
{
	const ScmEntry *se = pe->n_scm ? pe->scm[0] : NULL;

	p->rights = NULL;
	p->nr_rights = 0;
	if (!se)
		return 0;
	p->rights = calloc(se->n_rights, sizeof(*p->rights));
	if (!p->rights)
		return -ENOMEM;
	for (size_t i = 0; i < se->n_rights; i++) {
		p->rights[i] = (size_t)restore_images_file_idx(ri, se->rights[i]);
		q->in_flight[p->rights[i]] = true;
	}
	p->nr_rights = (uint32_t)se->n_rights;
	return 0;
}

static int load_pkt(struct cr_img *img, const struct restore_image *ri, struct usk_queues *q, SkPacketEntry *pe)
{
	ssize_t f = restore_images_file_idx(ri, pe->id_for);
	struct usk_pkt *p;
	int ret;

	if (f < 0 || ri->files[f]->type != FD_TYPES__UNIXSK || pe->length > PKT_MAX) {
		pr_err("%s: a packet of %u bytes for file %u, which is not a unix socket\n", img_name(img), pe->length,
		       pe->id_for);
		return -EINVAL;
	}
	ret = check_scm(img, ri, pe);
	if (ret)
		return ret;
	if (pe->has_addr && (pe->addr.len > SUN_PATH_MAX || (pe->addr.len && !pe->addr.data))) {
		pr_err("%s: a packet for unix socket %u has a sender address of %zu bytes\n", img_name(img), pe->id_for,
		       pe->addr.len);
		return -EINVAL;
	}
	ret = ARRAY_RESERVE(q->v, q->nr, q->cap, 16);
	if (ret)
		return ret;
	p = &q->v[q->nr];
	p->id_for = pe->id_for;
	p->len = pe->length;
	p->alen = pe->has_addr ? (uint8_t)pe->addr.len : 0;
	if (p->alen)
		memcpy(p->addr, pe->addr.data, p->alen);
	ret = take_rights(ri, pe, q, p);
	if (ret)
		return ret;
	p->data = malloc(pe->length ? pe->length : 1);
	if (!p->data) {
		free(p->rights);
		return -ENOMEM;
	}
	ret = img_read_raw(img, p->data, pe->length);
	if (ret) {
		pr_err("%s: the %u bytes of a packet for unix socket %u are missing\n", img_name(img), pe->length,
		       pe->id_for);
		free(p->data);
		free(p->rights);
		return ret;
	}
	q->nr++;
	return 0;
}

int unix_sk_load(int dirfd, struct restore_image *ri)
{
	struct usk_queues *q;
	struct cr_img *img;
	void *msg;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ_OPTIONAL, CR_IMG_SK_QUEUES);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	q = calloc(1, sizeof(*q));
	if (q)
		q->in_flight = calloc(ri->nr_files ? ri->nr_files : 1, sizeof(*q->in_flight));
	if (!q || !q->in_flight) {
		free(q);
		img_close(img);
		return -ENOMEM;
	}
	q->nr_files = ri->nr_files;
	ri->kind_state[FD_KIND_UNIXSK] = q;
	while (!(ret = img_read_entry(img, &msg)) && msg) {
		ret = load_pkt(img, ri, q, msg);
		img_free_entry(msg);
		if (ret)
			break;
	}
	img_close(img);
	return ret;
}

void unix_sk_load_free(struct restore_image *ri)
{
	struct usk_queues *q = ri->kind_state[FD_KIND_UNIXSK];

	if (!q)
		return;
	for (size_t i = 0; i < q->nr; i++) {
		free(q->v[i].data);
		free(q->v[i].rights);
	}
	free(q->v);
	free(q->in_flight);
	free(q);
	ri->kind_state[FD_KIND_UNIXSK] = NULL;
}

bool unix_sk_in_flight(const struct restore_image *ri, size_t i)
{
	const struct usk_queues *q = ri->kind_state[FD_KIND_UNIXSK];

	return q && i < q->nr_files && q->in_flight[i];
}

/* One unix socket being made. */
struct usk {
	const UnixSkEntry *ue;
	size_t file; /* in ri->files */
	int fd;
	int helper;    /* the other end of a socketpair that refills its queue, then closed */
	ssize_t peer;  /* its peer's index in the usk array, -1 for none */
	ssize_t mate;  /* the other end of its socketpair, -1 for none */
	size_t qbytes; /* its queue: bytes and packets */
	size_t qpkts;
	bool sndbuf_raised;
	bool swapped; /* deleted, bound where another socket's file is: its own file is gone already */
};

struct usk_set {
	struct usk *v;
	size_t nr;
	const struct usk_queues *q;
	bool ext_unix_sk;
	const int *file_fds; /* criu's fd of each file of ri->files made so far (restore_fds.fds) */
};

/* Moves criu's working directory to a relative name's directory; *@saved is where to come back. */
static int enter_dir(const UnixSkEntry *ue, int *saved)
{
	*saved = -1;
	if (!ue_has_path(ue) || ue->name.data[0] == '/')
		return 0;
	*saved = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*saved < 0 || chdir(ue->name_dir) < 0) {
		pr_perror("Can't enter %s, the directory of unix socket %u", ue->name_dir, ue->ino);
		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		return -errno;
	}
	return 0;
}

static void leave_dir(int saved)
{
	if (saved < 0)
		return;
	if (fchdir(saved) < 0)
		pr_perror("Can't go back to criu's working directory");
	close(saved);
}

static socklen_t make_sun(const UnixSkEntry *ue, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, ue->name.data, ue->name.len);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + ue->name.len);
}

static void name_of(const UnixSkEntry *ue, char *buf, size_t size)
{
	(void)sk_name((const char *)ue->name.data, ue->name.len, buf, size);
	if (!ue->name.len)
		snprintf(buf, size, "unbound");
}

/*
 * A stale socket file at the path (the dumped process's, left behind) is
 * unlinked. A socket whose file was deleted may share its path with another
 * socket's file (bound there after it, or renamed there since): that file is
 * moved to @tmp for the bind (*@moved), then back over the deleted socket's.
 * Anything else at the path is refused.
 */
static int clear_path(const UnixSkEntry *ue, const char *path, char *tmp, size_t tmp_size, bool *moved)
{
	bool deleted = ue->has_deleted && ue->deleted;
	struct stat st;

	*moved = false;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISSOCK(st.st_mode) && deleted) {
		snprintf(tmp, tmp_size, "%s.criu-ng-%d", path, getpid());
		if (rename(path, tmp) < 0) {
			pr_perror("Can't move %s aside to bind the deleted unix socket %u there", path, ue->ino);
			return -errno;
		}
		*moved = true;
		return 0;
	}
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("can't bind unix socket %u to %s: the path is taken by another file\n", ue->ino, path);
		return -EEXIST;
	}
	if (unlink(path) < 0) {
		pr_perror("Can't unlink the stale socket file %s", path);
		return -errno;
	}
	pr_debug("unlinked the stale socket file %s\n", path);
	return 0;
}

static int bind_one(struct usk *s)
{
	const UnixSkEntry *ue = s->ue;
	char path[SUN_PATH_MAX + 1] = "", tmp[SUN_PATH_MAX + 32];
	struct sockaddr_un sun;
	bool moved = false;
	socklen_t len;
	int saved, ret;

	/* An accepted socket's name is its listener's, which it is not bound to. */
	if (!ue->name.len || (is_stream_like(ue->type) && ue->state == TCP_ESTABLISHED))
		return 0;
	ret = enter_dir(ue, &saved);
	if (ret)
		return ret;
	len = make_sun(ue, &sun);
	if (ue_has_path(ue)) {
		memcpy(path, ue->name.data, ue->name.len);
		ret = clear_path(ue, path, tmp, sizeof(tmp), &moved);
	}
	if (!ret && bind(s->fd, (struct sockaddr *)&sun, len) < 0) {
		name_of(ue, path, sizeof(path));
		pr_perror("Can't bind unix socket %u to %s", ue->ino, path);
		ret = -errno;
	}
	if (!ret && ue->file_perms &&
	    (fchmodat(AT_FDCWD, path, ue->file_perms->mode & 07777, 0) < 0 ||
	     fchownat(AT_FDCWD, path, ue->file_perms->uid, ue->file_perms->gid, AT_SYMLINK_NOFOLLOW) < 0)) {
		pr_perror("Can't give the socket file %s its mode and owner", path);
		ret = -errno;
	}
	if (moved && rename(tmp, path) < 0) {
		pr_perror("Can't move %s back to %s", tmp, path);
		ret = ret ?: -errno;
	}
	s->swapped = moved;
	leave_dir(saved);
	return ret;
}

static int connect_one(const struct usk *s, const struct usk *t, bool ext_ok)
{
	char name[SUN_PATH_MAX + 1];
	struct sockaddr_un sun;
	socklen_t len;
	int saved, ret;

	if (t->swapped) {
		pr_err("unix socket %u is connected to %u, whose deleted path is another socket's now: it can't be "
		       "reached again\n",
		       s->ue->ino, t->ue->ino);
		return -EOPNOTSUPP;
	}
	if ((t->ue->uflags & USK_EXTERN) && !ext_ok) {
		pr_err("unix socket %u is connected to a socket outside the dump: consider using the --ext-unix-sk "
		       "option\n",
		       s->ue->ino);
		return -EOPNOTSUPP;
	}
	ret = enter_dir(t->ue, &saved);
	if (ret)
		return ret;
	len = make_sun(t->ue, &sun);
	if (connect(s->fd, (struct sockaddr *)&sun, len) < 0) {
		name_of(t->ue, name, sizeof(name));
		pr_perror("Can't connect unix socket %u to %u (%s)", s->ue->ino, t->ue->ino, name);
		ret = -errno;
	}
	leave_dir(saved);
	return ret;
}

/* True when the file at @path is the one socket @fd is bound to. */
static bool is_own_file(int fd, const char *path)
{
	struct stat own, at;
	int f = ioctl(fd, SIOCUNIXFILE);
	bool same;

	if (f < 0)
		return true; /* can't tell: as before, the path is the socket's */
	same = !fstat(f, &own) && !lstat(path, &at) && own.st_ino == at.st_ino && own.st_dev == at.st_dev;
	close(f);
	return same;
}

/* Unlinks the path of a socket whose file was unlinked when dumped, once everything that connects to it did. */
static int unlink_deleted(const struct usk *s)
{
	char path[SUN_PATH_MAX + 1] = "";
	int saved, ret;

	if (!s->ue->has_deleted || !s->ue->deleted || s->swapped ||
	    (is_stream_like(s->ue->type) && s->ue->state == TCP_ESTABLISHED))
		return 0;
	ret = enter_dir(s->ue, &saved);
	if (ret)
		return ret;
	memcpy(path, s->ue->name.data, s->ue->name.len);
	if (!is_own_file(s->fd, path)) {
		pr_debug("the path %s of deleted unix socket %u is another socket's file now\n", path, s->ue->ino);
	} else if (unlink(path) < 0) {
		pr_perror("Can't unlink %s, the path of a deleted socket", path);
		ret = -errno;
	}
	leave_dir(saved);
	return ret;
}

static bool is_mutual(const struct usk_set *set, size_t i)
{
	const struct usk *s = &set->v[i];

	return s->peer >= 0 && (size_t)s->peer != i && !(set->v[s->peer].ue->uflags & USK_EXTERN) &&
	       set->v[s->peer].ue->peer == s->ue->ino;
}

static int make_pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) {
		pr_perror("Can't create a unix socketpair");
		return -errno;
	}
	return 0;
}

/*
 * Creates socket @i: both ends of a connection at once; a connection whose
 * peer closed, and a datagram socket with a queue, with a helper end that
 * refills the queue; anything else alone.
 */
static int create_one(struct usk_set *set, size_t i)
{
	struct usk *s = &set->v[i];
	const UnixSkEntry *ue = s->ue;
	struct sockaddr_un unspec = { .sun_family = AF_UNSPEC };
	int sv[2], ret;

	if (s->fd >= 0 || (ue->uflags & USK_EXTERN))
		return 0;
	if (is_mutual(set, i)) {
		ret = make_pair((int)ue->type, sv);
		if (ret)
			return ret;
		s->fd = sv[0], s->mate = s->peer;
		set->v[s->peer].fd = sv[1], set->v[s->peer].mate = (ssize_t)i;
		return 0;
	}
	if ((is_stream_like(ue->type) && ue->state == TCP_ESTABLISHED && !ue->peer) ||
	    (ue->type == SOCK_DGRAM && s->qpkts)) {
		ret = make_pair((int)ue->type, sv);
		if (ret)
			return ret;
		s->fd = sv[0], s->helper = sv[1];
		/* A datagram socket connected to the helper could receive from nobody else. */
		if (ue->type == SOCK_DGRAM &&
		    connect(s->fd, (struct sockaddr *)&unspec, sizeof(unspec.sun_family)) < 0) {
			pr_perror("Can't disconnect unix socket %u from its helper", ue->ino);
			return -errno;
		}
		return 0;
	}
	s->fd = socket(AF_UNIX, (int)ue->type | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		pr_perror("Can't create unix socket %u", ue->ino);
		return -errno;
	}
	return 0;
}

/* Lets @fd send a whole queue: the kernel charges a unix socket's queued data to its sender. */
static int raise_sndbuf(int fd, uint32_t ino, size_t bytes, size_t pkts)
{
	size_t want = 2 * bytes + pkts * 2048 + (1 << 20);
	int val = want > (1u << 30) ? 1 << 30 : (int)want;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &val, sizeof(val)) < 0) {
		pr_perror("Can't raise the send buffer of the sender to unix socket %u", ino);
		return -errno;
	}
	return 0;
}

/*
 * criu's fd of file @file in flight: a unix socket of the set is made already
 * (restore_fds.fds gets it once all are), any other file by its kind before.
 */
static int right_fd(const struct usk_set *set, size_t file)
{
	size_t lo = 0, hi = set->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->v[mid].file == file)
			return set->v[mid].fd;
		if (set->v[mid].file < file)
			lo = mid + 1;
		else
			hi = mid;
	}
	return set->file_fds[file];
}

/*
 * Sends @len bytes of @p from @off, to @to unless NULL, with the files @p
 * carries when @off is 0 (SCM_RIGHTS). Returns what send() does.
 */
static ssize_t send_part(const struct usk_set *set, int fd, const struct usk_pkt *p, size_t off,
			 const struct sockaddr_un *to, socklen_t to_len)
{
	union {
		char buf[CMSG_SPACE(SCM_RIGHTS_MAX * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = p->data + off, .iov_len = p->len - off };
	struct msghdr mh = { .msg_name = (void *)to, .msg_namelen = to ? to_len : 0, .msg_iov = &iov, .msg_iovlen = 1 };

	if (p->nr_rights && !off) {
		struct cmsghdr *ch;

		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(p->nr_rights * sizeof(int));
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(p->nr_rights * sizeof(int));
		for (size_t i = 0; i < p->nr_rights; i++) {
			int rfd = right_fd(set, p->rights[i]);

			if (rfd < 0) {
				pr_err("file %zu, in flight in a queued packet, was not made\n", p->rights[i]);
				errno = EINVAL;
				return -1;
			}
			memcpy(CMSG_DATA(ch) + i * sizeof(int), &rfd, sizeof(int));
		}
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int send_all(const struct usk_set *set, int fd, const struct usk_pkt *p, uint32_t ino)
{
	size_t off = 0;

	do {
		ssize_t n = send_part(set, fd, p, off, NULL, 0);

		if (n < 0) {
			pr_perror("Can't put %u queued byte(s) back into unix socket %u%s", p->len, ino,
				  errno == EAGAIN ? " (more datagrams than net.unix.max_dgram_qlen?)" : "");
			return -errno;
		}
		off += (size_t)n;
	} while (off < p->len);
	return 0;
}

/* The socket of file @id: set->v is in the order of ri->files, by ascending id. */
static ssize_t find_id(const struct usk_set *set, uint32_t id)
{
	size_t lo = 0, hi = set->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->v[mid].ue->id == id)
			return (ssize_t)mid;
		if (set->v[mid].ue->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The sockets that send datagrams from a sender's address, that address no socket of the image has. */
struct named_senders {
	struct {
		int fd;
		uint8_t alen;
		char addr[SUN_PATH_MAX];
	} v[16];
	size_t nr;
	size_t bytes, pkts; /* every queue's: what one sender may have to hold */
};

/* A datagram socket of the image bound to @p's sender address, -1 when none. */
static ssize_t find_sender(struct usk_set *set, const struct usk_pkt *p)
{
	for (size_t i = 0; i < set->nr; i++) {
		const UnixSkEntry *ue = set->v[i].ue;

		if (set->v[i].fd >= 0 && ue->type == SOCK_DGRAM && !(ue->uflags & USK_EXTERN) &&
		    ue->name.len == p->alen && !memcmp(ue->name.data, p->addr, p->alen))
			return (ssize_t)i;
	}
	return -1;
}

/*
 * A socket bound to @p's sender address, made for the refill: an abstract
 * name, or an absolute path nothing holds now (unlinked once bound: its
 * sender was closed, or its file deleted). -1 when it can't be made.
 */
static int make_sender(struct named_senders *ns, const struct usk_pkt *p)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + p->alen);
	char path[SUN_PATH_MAX + 1] = "";
	int fd;

	for (size_t i = 0; i < ns->nr; i++)
		if (ns->v[i].alen == p->alen && !memcmp(ns->v[i].addr, p->addr, p->alen))
			return ns->v[i].fd;
	if (ns->nr == sizeof(ns->v) / sizeof(ns->v[0]) || (p->addr[0] && p->addr[0] != '/'))
		return -1;
	memcpy(sun.sun_path, p->addr, p->alen);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, len) < 0 || raise_sndbuf(fd, 0, ns->bytes, ns->pkts)) {
		close(fd);
		return -1;
	}
	if (p->addr[0]) {
		memcpy(path, p->addr, p->alen);
		if (unlink(path) < 0)
			pr_warn("can't unlink %s, bound to send queued datagrams from: %s\n", path, strerror(errno));
	}
	ns->v[ns->nr].fd = fd;
	ns->v[ns->nr].alen = p->alen;
	memcpy(ns->v[ns->nr++].addr, p->addr, p->alen);
	return fd;
}

/*
 * Sends @p to the bound datagram socket @s from its sender's address: a
 * socket of the image bound there, or one made for it. 1 when it can't be
 * (the caller sends it unnamed), else 0 or -errno.
 */
static int send_named(struct usk_set *set, struct named_senders *ns, const struct usk *s, const struct usk_pkt *p)
{
	ssize_t from = find_sender(set, p);
	struct sockaddr_un sun;
	socklen_t len;
	int fd, saved, ret;
	ssize_t n;

	if (from >= 0) {
		fd = set->v[from].fd;
		if (!set->v[from].sndbuf_raised) {
			ret = raise_sndbuf(fd, s->ue->ino, ns->bytes, ns->pkts);
			if (ret)
				return ret;
			set->v[from].sndbuf_raised = true;
		}
	} else {
		fd = make_sender(ns, p);
	}
	if (fd < 0)
		return 1;
	ret = enter_dir(s->ue, &saved);
	if (ret)
		return ret;
	len = make_sun(s->ue, &sun);
	n = send_part(set, fd, p, 0, &sun, len);
	if (n != (ssize_t)p->len) {
		pr_perror("Can't put a datagram of %u bytes back into unix socket %u from its sender's address", p->len,
			  s->ue->ino);
		ret = n < 0 ? -errno : -EIO;
	}
	leave_dir(saved);
	return ret;
}

/*
 * Every queue, in image order, sent by the other end of its socket's pair or
 * by its helper; a datagram whose sender had an address, to a bound socket,
 * from that address.
 */
static int refill_queues(struct usk_set *set)
{
	struct named_senders ns = { .nr = 0 };
	int ret = 0;

	for (size_t i = 0; !ret && i < set->nr; i++) {
		struct usk *s = &set->v[i];

		if (!s->qpkts)
			continue;
		if (s->mate < 0 && s->helper < 0) {
			pr_err("unix socket %u has %zu queued byte(s) but no peer to send them from\n", s->ue->ino,
			       s->qbytes);
			return -EINVAL;
		}
		if (s->mate >= 0) {
			ret = raise_sndbuf(set->v[s->mate].fd, s->ue->ino, s->qbytes, s->qpkts);
			set->v[s->mate].sndbuf_raised = true;
		} else {
			ret = raise_sndbuf(s->helper, s->ue->ino, s->qbytes, s->qpkts);
		}
	}
	for (size_t i = 0; set->q && i < set->q->nr; i++) {
		ns.bytes += set->q->v[i].len;
		ns.pkts++;
	}
	for (size_t i = 0; !ret && set->q && i < set->q->nr; i++) {
		const struct usk_pkt *p = &set->q->v[i];
		const struct usk *s = &set->v[find_id(set, p->id_for)];

		if (p->alen && s->mate < 0 && s->ue->type == SOCK_DGRAM && s->ue->name.len) {
			ret = send_named(set, &ns, s, p);
			if (ret <= 0)
				continue;
			ret = 0;
			pr_warn("a datagram queued on unix socket %u comes back without its sender's address\n",
				s->ue->ino);
		}
		ret = send_all(set, s->mate >= 0 ? set->v[s->mate].fd : s->helper, p, s->ue->ino);
	}
	for (size_t i = 0; i < ns.nr; i++)
		close(ns.v[i].fd);
	return ret;
}

/* Options, then shutdown and O_NONBLOCK, once the queues are in. */
static int finish_one(const struct usk *s)
{
	const SkOptsEntry *o = s->ue->opts;
	struct sk_opts_img opts;
	int one = 1, ret;

	sk_opts_img_from(o, &opts);
	ret = sk_opts_set(s->fd, &opts, true);
	if (!ret && s->sndbuf_raised && !(o->so_buf_lock & 1)) {
		int half = (int)(o->so_sndbuf / 2), lock = (int)o->so_buf_lock;

		/* Back to the dumped size, and unlocked as it was (SO_BUF_LOCK: 5.14). */
		if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &half, sizeof(half)) < 0 ||
		    (setsockopt(s->fd, SOL_SOCKET, SO_BUF_LOCK, &lock, sizeof(lock)) < 0 && errno != ENOPROTOOPT)) {
			pr_perror("Can't put back the send buffer of unix socket %u", s->ue->ino);
			ret = -errno;
		}
	}
	if (!ret && o->so_passcred && setsockopt(s->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		ret = -errno;
	if (!ret && o->so_passsec && setsockopt(s->fd, SOL_SOCKET, SO_PASSSEC, &one, sizeof(one)) < 0)
		ret = -errno;
	if (!ret && s->ue->has_shutdown && s->ue->shutdown && shutdown(s->fd, (int)s->ue->shutdown - 1) < 0 &&
	    errno != ENOTCONN)
		ret = -errno;
	if (!ret && (s->ue->flags & O_NONBLOCK) && fcntl(s->fd, F_SETFL, O_NONBLOCK) < 0)
		ret = -errno;
	if (ret)
		pr_err("can't set the options, shutdown or flags of unix socket %u: %s\n", s->ue->ino, strerror(-ret));
	return ret;
}

struct ino_idx {
	uint32_t ino;
	uint32_t idx;
};

static int cmp_ino_idx(const void *a, const void *b)
{
	uint32_t x = ((const struct ino_idx *)a)->ino, y = ((const struct ino_idx *)b)->ino;

	return (x > y) - (x < y);
}

/* Every UNIXSK entry of @ri into set->v, in file order, each with the index of its peer. */
static int build_set(const struct restore_image *ri, struct usk_set *set)
{
	struct ino_idx *by_ino;

	for (size_t i = 0; i < ri->nr_files; i++)
		if (ri->files[i]->type == FD_TYPES__UNIXSK)
			set->nr++;
	set->v = calloc(set->nr ? set->nr : 1, sizeof(*set->v));
	by_ino = calloc(set->nr ? set->nr : 1, sizeof(*by_ino));
	if (!set->v || !by_ino) {
		free(by_ino);
		return -ENOMEM;
	}
	set->nr = 0;
	for (size_t i = 0; i < ri->nr_files; i++)
		if (ri->files[i]->type == FD_TYPES__UNIXSK) {
			by_ino[set->nr] = (struct ino_idx){ .ino = ri->files[i]->usk->ino, .idx = (uint32_t)set->nr };
			set->v[set->nr++] = (struct usk){
				.ue = ri->files[i]->usk, .file = i, .fd = -1, .helper = -1, .peer = -1, .mate = -1
			};
		}
	qsort(by_ino, set->nr, sizeof(*by_ino), cmp_ino_idx);
	for (size_t i = 0; i < set->nr; i++) {
		struct ino_idx key = { .ino = set->v[i].ue->peer }, *f;

		f = key.ino ? bsearch(&key, by_ino, set->nr, sizeof(*by_ino), cmp_ino_idx) : NULL;
		set->v[i].peer = f ? (ssize_t)f->idx : -1;
	}
	free(by_ino);
	return 0;
}

/* How much each socket has queued. */
static void count_queues(struct usk_set *set)
{
	for (size_t i = 0; set->q && i < set->q->nr; i++) {
		struct usk *s = &set->v[find_id(set, set->q->v[i].id_for)];

		s->qbytes += set->q->v[i].len;
		s->qpkts++;
	}
}

static int check_peer_entry(const struct usk_set *set, const struct usk *s)
{
	const UnixSkEntry *ue = s->ue, *pe;

	if (ue->uflags & USK_EXTERN) {
		if (!ue->name.len) {
			pr_err("files.img: external unix socket %u has no name\n", ue->ino);
			return -EINVAL;
		}
		return 0;
	}
	if (!ue->peer)
		return 0;
	if (s->peer < 0) {
		pr_err("files.img: the peer %u of unix socket %u is not in the image\n", ue->peer, ue->ino);
		return -EINVAL;
	}
	pe = set->v[s->peer].ue;
	if (pe->peer == ue->ino && pe != ue && !(pe->uflags & USK_EXTERN))
		return 0; /* a pair */
	if (!pe->name.len || (is_stream_like(ue->type) && pe->state != TCP_LISTEN)) {
		pr_err("files.img: unix socket %u can't be connected to %u again (unbound, or not listening)\n",
		       ue->ino, pe->ino);
		return -EINVAL;
	}
	return 0;
}

int unix_sk_check_restore(const struct restore_image *ri)
{
	struct usk_set set = { 0 };
	int ret;

	ret = build_set(ri, &set);
	for (size_t i = 0; !ret && i < set.nr; i++)
		ret = check_peer_entry(&set, &set.v[i]);
	free(set.v);
	return ret;
}

static int make_all(struct usk_set *set)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < set->nr; i++)
		ret = create_one(set, i);
	for (size_t i = 0; !ret && i < set->nr; i++)
		if (set->v[i].fd >= 0)
			ret = bind_one(&set->v[i]);
	for (size_t i = 0; !ret && i < set->nr; i++) {
		const struct usk *s = &set->v[i];

		if (s->fd >= 0 && s->ue->state == TCP_LISTEN && listen(s->fd, (int)s->ue->backlog) < 0) {
			pr_perror("Can't listen on unix socket %u", s->ue->ino);
			ret = -errno;
		}
	}
	ret = ret ?: refill_queues(set);
	for (size_t i = 0; !ret && i < set->nr; i++) {
		const struct usk *s = &set->v[i];

		if (s->fd >= 0 && s->peer >= 0 && s->mate < 0)
			ret = connect_one(s, &set->v[s->peer], set->ext_unix_sk);
	}
	for (size_t i = 0; !ret && i < set->nr; i++)
		if (set->v[i].fd >= 0)
			ret = unlink_deleted(&set->v[i]);
	for (size_t i = 0; i < set->nr; i++)
		if (set->v[i].helper >= 0) {
			close(set->v[i].helper);
			set->v[i].helper = -1;
		}
	for (size_t i = 0; !ret && i < set->nr; i++)
		if (set->v[i].fd >= 0)
			ret = finish_one(&set->v[i]);
	return ret;
}

int unix_sk_open(const struct restore_image *ri, struct restore_fds *fds)
{
	struct usk_set set = { .q = ri->kind_state[FD_KIND_UNIXSK],
			       .ext_unix_sk = fds->ext_unix_sk,
			       .file_fds = fds->fds };
	int ret;

	/*
	 * Every socket of files.img is made for the tree's first process (the ends of a pair held by two
	 * processes come from one socketpair()): a later one was given duplicates of those it holds.
	 */
	if (fds->given)
		return 0;

	ret = build_set(ri, &set);
	if (!ret)
		count_queues(&set);
	ret = ret ?: make_all(&set);
	for (size_t i = 0; i < set.nr; i++) {
		struct usk *s = &set.v[i];

		if (s->helper >= 0)
			close(s->helper);
		if (!ret && s->fd >= 0)
			fds->fds[s->file] = s->fd; /* closed with the others by restore_fds_close() */
		else if (s->fd >= 0)
			close(s->fd);
	}
	if (!ret && set.nr)
		pr_info("%zu unix socket(s) made\n", set.nr);
	free(set.v);
	return ret;
}
