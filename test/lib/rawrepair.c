/*
 * rawrepair.c: the benchmark's kernel floor, the bare TCP repair sequence (see rawrepair.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "rawrepair.h"

static int set_int(int fd, int name, int val)
{
	return setsockopt(fd, IPPROTO_TCP, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

static int get_u32(int fd, int name, uint32_t *val)
{
	socklen_t len = sizeof(*val);

	return getsockopt(fd, IPPROTO_TCP, name, val, &len) < 0 ? -errno : 0;
}

static int ioctl_u32(int fd, unsigned long req, uint32_t *val)
{
	int v;

	if (ioctl(fd, req, &v) < 0)
		return -errno;
	*val = (uint32_t)v;
	return 0;
}

static int peek(int fd, char *buf, uint32_t len)
{
	ssize_t r;

	if (!len)
		return 0;
	r = recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0)
		return -errno;
	return (uint32_t)r == len ? 0 : -EIO;
}

static int dump_state(struct raw_conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int ret;

	if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	c->options = ti.tcpi_options;
	c->snd_wscale = ti.tcpi_snd_wscale;
	c->rcv_wscale = ti.tcpi_rcv_wscale;
	ret = get_u32(c->fd, TCP_MAXSEG, &c->mss);
	ret = ret ?: get_u32(c->fd, TCP_TIMESTAMP, &c->timestamp);
	len = sizeof(c->win);
	if (!ret && getsockopt(c->fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &c->win, &len) < 0)
		ret = -errno;
	return ret;
}

int raw_dump(struct raw_conn *c)
{
	int fd = c->fd, ret;

	ret = set_int(fd, TCP_REPAIR, TCP_REPAIR_ON);
	ret = ret ?: set_int(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	ret = ret ?: get_u32(fd, TCP_QUEUE_SEQ, &c->inq_seq);
	ret = ret ?: set_int(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	ret = ret ?: get_u32(fd, TCP_QUEUE_SEQ, &c->outq_seq);
	ret = ret ?: ioctl_u32(fd, SIOCINQ, &c->inq_len);
	ret = ret ?: ioctl_u32(fd, SIOCOUTQ, &c->outq_len);
	ret = ret ?: ioctl_u32(fd, SIOCOUTQNSD, &c->unsq_len);
	if (ret)
		return ret;
	c->queues = malloc(c->inq_len + c->outq_len + 1);
	if (!c->queues)
		return -ENOMEM;
	ret = peek(fd, c->queues + c->inq_len, c->outq_len);
	ret = ret ?: set_int(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	ret = ret ?: peek(fd, c->queues, c->inq_len);
	return ret ?: dump_state(c);
}

int raw_close(struct raw_conn *c)
{
	int ret = close(c->fd) < 0 ? -errno : 0;

	c->fd = -1;
	return ret;
}

static int send_queue(int fd, int queue, const char *buf, uint32_t len)
{
	ssize_t r;
	int ret;

	ret = set_int(fd, TCP_REPAIR_QUEUE, queue);
	if (ret || !len)
		return ret;
	r = send(fd, buf, len, MSG_NOSIGNAL);
	if (r < 0)
		return -errno;
	return (uint32_t)r == len ? 0 : -EIO;
}

static int restore_options(struct raw_conn *c)
{
	struct tcp_repair_opt opts[4];
	int n = 0;

	opts[n].opt_code = TCPOPT_MAXSEG;
	opts[n++].opt_val = c->mss;
	if (c->options & TCPI_OPT_WSCALE) {
		opts[n].opt_code = TCPOPT_WINDOW;
		opts[n++].opt_val = c->snd_wscale | (c->rcv_wscale << 16);
	}
	if (c->options & TCPI_OPT_SACK) {
		opts[n].opt_code = TCPOPT_SACK_PERMITTED;
		opts[n++].opt_val = 0;
	}
	if (c->options & TCPI_OPT_TIMESTAMPS) {
		opts[n].opt_code = TCPOPT_TIMESTAMP;
		opts[n++].opt_val = 0;
	}
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, (socklen_t)(n * sizeof(opts[0]))) < 0)
		return -errno;
	return 0;
}

int raw_restore(struct raw_conn *c)
{
	socklen_t alen = c->src.sa.sa_family == AF_INET ? sizeof(c->src.v4) : sizeof(c->src.v6);
	int fd, ret;

	fd = socket(c->src.sa.sa_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	c->fd = fd;
	ret = set_int(fd, TCP_REPAIR, TCP_REPAIR_ON);
	ret = ret ?: set_int(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	ret = ret ?: set_int(fd, TCP_QUEUE_SEQ, (int)(c->inq_seq - c->inq_len));
	ret = ret ?: set_int(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	ret = ret ?: set_int(fd, TCP_QUEUE_SEQ, (int)(c->outq_seq - c->outq_len));
	if (!ret && (bind(fd, &c->src.sa, alen) < 0 || connect(fd, &c->dst.sa, alen) < 0))
		ret = -errno;
	ret = ret ?: restore_options(c);
	ret = ret ?: set_int(fd, TCP_TIMESTAMP, (int)c->timestamp);
	ret = ret ?: send_queue(fd, TCP_RECV_QUEUE, c->queues, c->inq_len);
	ret = ret ?: send_queue(fd, TCP_SEND_QUEUE, c->queues + c->inq_len, c->outq_len - c->unsq_len);
	if (!ret && setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &c->win, sizeof(c->win)) < 0)
		ret = -errno;
	return ret;
}

int raw_repair_off(struct raw_conn *c)
{
	const char *unsent = c->queues + c->inq_len + c->outq_len - c->unsq_len;
	ssize_t r;
	int ret;

	ret = set_int(c->fd, TCP_REPAIR, TCP_REPAIR_OFF);
	if (ret || !c->unsq_len)
		return ret;
	r = send(c->fd, unsent, c->unsq_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (r < 0)
		return -errno;
	return (uint32_t)r == c->unsq_len ? 0 : -EIO;
}

void raw_free(struct raw_conn *c)
{
	free(c->queues);
	c->queues = NULL;
}
