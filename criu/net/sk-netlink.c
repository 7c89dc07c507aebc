/*
 * AF_NETLINK sockets, both directions (see include/sk-netlink.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "array.h"
#include "files.h"
#include "image.h"
#include "restore-fds.h"
#include "sk-inet.h"
#include "sk-netlink.h"

#include "sk-netlink.pb-c.h"

#define LOG_PREFIX "netlink: "
#include "log.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* sk->sk_state of a netlink socket (the kernel's af_netlink.h). */
#define NETLINK_UNCONNECTED 0
#define NETLINK_CONNECTED 1

#define NETLINK_SK_FLAGS (O_NONBLOCK | O_RDWR | O_RDONLY | O_WRONLY)

/* Dump. */

bool netlink_sk_match(const struct fd_probe *p)
{
	return S_ISSOCK(p->st.st_mode) && p->sk_family == AF_NETLINK;
}

static int read_addrs(int fd, struct netlink_sk *sk)
{
	struct sockaddr_nl a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -errno;
	sk->portid = a.nl_pid;
	len = sizeof(a);
	memset(&a, 0, sizeof(a));
	if (getpeername(fd, (struct sockaddr *)&a, &len) < 0)
		return -errno;
	sk->dst_portid = a.nl_pid;
	/* getpeername gives the group as a mask; the image keeps its number. */
	sk->dst_group = a.nl_groups ? (uint32_t)__builtin_ffs((int)a.nl_groups) : 0;
	sk->state = sk->dst_portid || sk->dst_group ? NETLINK_CONNECTED : NETLINK_UNCONNECTED;
	return 0;
}

/* Groups above 32 are refused, as CRIU does: its restore binds with the first 32 only. */
static int read_groups(int fd, struct netlink_sk *sk, int nfd, pid_t pid)
{
	uint32_t groups[NETLINK_SK_GROUP_WORDS] = { 0 };
	socklen_t len = sizeof(groups);

	if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &len) < 0)
		return -errno;
	for (size_t w = 1; w < NETLINK_SK_GROUP_WORDS; w++)
		if (len > sizeof(groups) || (w < len / sizeof(uint32_t) && groups[w])) {
			pr_err("fd %d of process %d: netlink socket %u joined a group above 32: not supported\n", nfd,
			       pid, sk->ino);
			return -EOPNOTSUPP;
		}
	sk->groups = len >= sizeof(uint32_t) ? groups[0] : 0;
	return 0;
}

int netlink_sk_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct netlink_sk_dump *d = &c->fdump->nlsk;
	struct netlink_sk *sk;
	socklen_t len = sizeof(int);
	int proto = 0, ret;
	char b;

	ret = ARRAY_RESERVE(d->v, d->nr, d->cap, 4);
	if (ret)
		return ret;
	sk = &d->v[d->nr];
	memset(sk, 0, sizeof(*sk));
	sk->ino = (uint32_t)p->st.st_ino;
	sk->flags = p->flags & NETLINK_SK_FLAGS;
	sk->fown = p->fown;
	if (getsockopt(p->dup_fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0) {
		pr_perror("Can't read the protocol of fd %d of process %d", p->fd, c->args->pid);
		return -errno;
	}
	sk->protocol = (uint32_t)proto;
	ret = read_addrs(p->dup_fd, sk);
	ret = ret ?: read_groups(p->dup_fd, sk, p->fd, c->args->pid);
	ret = ret ?: sk_opts_read_common(p->dup_fd, &sk->opts);
	if (ret) {
		if (ret != -EOPNOTSUPP)
			pr_err("Can't read netlink socket %u (fd %d of process %d): %s\n", sk->ino, p->fd, c->args->pid,
			       strerror(-ret));
		return ret;
	}
	if (recv(p->dup_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0) {
		pr_err("fd %d of process %d is a netlink socket (%u) with messages queued: not supported (as with "
		       "CRIU)\n",
		       p->fd, c->args->pid, sk->ino);
		return -EOPNOTSUPP;
	}
	if (errno != EAGAIN) {
		pr_perror("Can't peek the queue of netlink socket %u (fd %d of process %d)", sk->ino, p->fd,
			  c->args->pid);
		return -errno;
	}
	if (sk->groups && !sk->portid) {
		pr_err("fd %d of process %d: netlink socket %u joined groups without a port id\n", p->fd, c->args->pid,
		       sk->ino);
		return -EOPNOTSUPP;
	}
	sk->id = *id = files_reg_new_id(&c->fdump->reg);
	d->nr++;
	pr_debug("fd %d: netlink socket %u, protocol %u, port %u, groups %#x, peer %u group %u\n", p->fd, sk->ino,
		 sk->protocol, sk->portid, sk->groups, sk->dst_portid, sk->dst_group);
	return 0;
}

int netlink_sk_write_files(const struct files_dump *fdump, struct cr_img *img)
{
	const struct netlink_sk_dump *d = &fdump->nlsk;
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr; i++) {
		const struct netlink_sk *sk = &d->v[i];
		FileEntry fe = FILE_ENTRY__INIT;
		NetlinkSkEntry e = NETLINK_SK_ENTRY__INIT;
		SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
		uint32_t groups = sk->groups;
		FownEntry fown;

		reg_fown_entry(&sk->fown, &fown);
		sk_opts_fill_common(&sk->opts, &opts);
		e.id = sk->id;
		e.ino = sk->ino;
		e.protocol = sk->protocol;
		e.state = sk->state;
		e.flags = sk->flags;
		e.portid = sk->portid;
		e.n_groups = sk->groups ? 1 : 0;
		e.groups = &groups;
		e.dst_portid = sk->dst_portid;
		e.dst_group = sk->dst_group;
		e.fown = &fown;
		e.opts = &opts;
		fe.type = FD_TYPES__NETLINKSK;
		fe.id = sk->id;
		fe.nlsk = &e;
		ret = img_write_entry(img, &fe);
	}
	return ret;
}

void netlink_sk_dump_free(struct files_dump *fdump)
{
	struct netlink_sk_dump *d = &fdump->nlsk;

	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* Restore. */

int netlink_sk_check_entry(const FileEntry *fe, const char *name)
{
	const NetlinkSkEntry *e = fe->nlsk;

	if (!e || e->id != fe->id || !e->fown || !e->opts) {
		pr_err("%s: file %u: a netlink socket entry without its body, owner or options\n", name, fe->id);
		return -EINVAL;
	}
	if (e->state != NETLINK_UNCONNECTED && e->state != NETLINK_CONNECTED) {
		pr_err("%s: netlink socket %u: state %u\n", name, fe->id, e->state);
		return -EINVAL;
	}
	if (e->dst_group > 32) {
		pr_err("%s: netlink socket %u: connected to group %u (above 32)\n", name, fe->id, e->dst_group);
		return -EINVAL;
	}
	if (e->n_groups > 1) {
		pr_err("%s: netlink socket %u: groups above 32 (as with CRIU, not supported)\n", name, fe->id);
		return -EINVAL;
	}
	if (e->n_groups && !e->portid) {
		pr_err("%s: netlink socket %u: groups without a port id\n", name, fe->id);
		return -EINVAL;
	}
	return 0;
}

static int open_one(const FileEntry *fe)
{
	const NetlinkSkEntry *e = fe->nlsk;
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };
	struct sk_opts_img opts;
	int fd, ret = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, (int)e->protocol);
	if (fd < 0) {
		pr_perror("Can't create netlink socket %u (protocol %u)", e->id, e->protocol);
		return -errno;
	}
	if (e->portid) {
		a.nl_pid = e->portid;
		a.nl_groups = e->n_groups ? e->groups[0] : 0;
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			ret = -errno;
			pr_perror("Can't bind netlink socket %u to port %u, groups %#x", e->id, e->portid, a.nl_groups);
			goto close_fd;
		}
	}
	if (e->state == NETLINK_CONNECTED) {
		a.nl_pid = e->dst_portid;
		a.nl_groups = e->dst_group ? 1u << (e->dst_group - 1) : 0;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			ret = -errno;
			pr_perror("Can't connect netlink socket %u to port %u, group %u", e->id, e->dst_portid,
				  e->dst_group);
			goto close_fd;
		}
	}
	sk_opts_img_from(e->opts, &opts);
	ret = sk_opts_set(fd, &opts, true);
	if (ret)
		goto close_fd;
	if ((e->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		ret = -errno;
		pr_perror("Can't make netlink socket %u non-blocking", e->id);
		goto close_fd;
	}
	return fd;

close_fd:
	close(fd);
	return ret;
}

int netlink_sk_open(const struct restore_image *ri, struct restore_fds *fds)
{
	return restore_fds_make_each(ri, fds, FD_TYPES__NETLINKSK, open_one);
}
