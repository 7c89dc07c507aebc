/*
 * The socket options every kind of socket records the same way (see
 * include/sk-opts.h).
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "sk-opts.h"

int sk_opt_get_int(int fd, int name, uint32_t *v)
{
	socklen_t len = sizeof(int);
	int val = 0;

	if (getsockopt(fd, SOL_SOCKET, name, &val, &len) < 0)
		return -errno;
	*v = (uint32_t)val;
	return 0;
}

static int get_tmo(int fd, int name, uint64_t *us)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, name, &tv, &len) < 0)
		return -errno;
	*us = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	return 0;
}

int sk_opts_read_common(int fd, struct sk_opts_common *o)
{
	int ret;

	ret = sk_opt_get_int(fd, SO_SNDBUF, &o->sndbuf);
	ret = ret ?: sk_opt_get_int(fd, SO_RCVBUF, &o->rcvbuf);
	ret = ret ?: sk_opt_get_int(fd, SO_PRIORITY, &o->priority);
	ret = ret ?: sk_opt_get_int(fd, SO_RCVLOWAT, &o->rcvlowat);
	ret = ret ?: sk_opt_get_int(fd, SO_MARK, &o->mark);
	ret = ret ?: get_tmo(fd, SO_SNDTIMEO, &o->snd_tmo_us);
	ret = ret ?: get_tmo(fd, SO_RCVTIMEO, &o->rcv_tmo_us);
	if (ret)
		return ret;
	if (sk_opt_get_int(fd, SO_BUF_LOCK, &o->buf_lock)) /* before 5.14: keep the sizes as they are */
		o->buf_lock = 3;
	return 0;
}

void sk_opts_fill_common(const struct sk_opts_common *o, SkOptsEntry *e)
{
	e->so_sndbuf = o->sndbuf;
	e->so_rcvbuf = o->rcvbuf;
	e->so_snd_tmo_sec = o->snd_tmo_us / 1000000;
	e->so_snd_tmo_usec = o->snd_tmo_us % 1000000;
	e->so_rcv_tmo_sec = o->rcv_tmo_us / 1000000;
	e->so_rcv_tmo_usec = o->rcv_tmo_us % 1000000;
	e->has_so_priority = 1, e->so_priority = o->priority;
	e->has_so_rcvlowat = 1, e->so_rcvlowat = o->rcvlowat;
	e->has_so_mark = 1, e->so_mark = o->mark;
	e->has_so_buf_lock = 1, e->so_buf_lock = o->buf_lock;
}
