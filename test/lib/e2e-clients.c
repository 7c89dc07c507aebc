/*
 * e2e-clients.c: the clients of the end-to-end migration (see e2e-clients.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "e2e-clients.h"
#include "e2e-proto.h"
#include "pattern.h"
#include "streamio.h"
#include "testutil.h"

#define CONNECT_CHUNK 256
#define SETTLE_STEP_MS 50
#define BUF_SIZE (64 * 1024)

struct e2e_client {
	int fd;
	uint64_t rx; /* bytes of the server's stream read and checked */
	uint64_t tx; /* bytes of our stream sent (after the hello) */
	int ok;
};

struct e2e_clients {
	struct e2e_clients_opts o;
	struct e2e_client *cl;
	struct sio_item *items;
	uint64_t queued0; /* what connection 0 had received, unread, when the load settled */
};

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int client_socket(void)
{
	int rcvbuf = E2E_CLIENT_RCVBUF;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	/* before connect: the window the client offers stays small */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Connect [lo, hi) at once, then wait for them all. */
static int connect_chunk(struct e2e_clients *c, uint32_t lo, uint32_t hi)
{
	struct pollfd pfd[CONNECT_CHUNK];
	uint64_t deadline = sio_now_ms() + c->o.timeout_ms;
	uint32_t i, left = hi - lo;

	for (i = lo; i < hi; i++) {
		int fd = client_socket();

		if (fd < 0)
			return fd;
		c->cl[i].fd = fd;
		if (connect(fd, (struct sockaddr *)&c->o.server, sizeof(c->o.server)) < 0 && errno != EINPROGRESS) {
			fprintf(stderr, "e2e-clients: conn %u: connect: %s\n", i, strerror(errno));
			return -errno;
		}
		pfd[i - lo].fd = fd;
		pfd[i - lo].events = POLLOUT;
		pfd[i - lo].revents = 0;
	}
	while (left) {
		uint64_t now = sio_now_ms();
		int k;

		if (now >= deadline) {
			fprintf(stderr, "e2e-clients: %u of %u connections not made in time\n", left, hi - lo);
			return -ETIMEDOUT;
		}
		k = poll(pfd, hi - lo, (int)(deadline - now));
		if (k < 0 && errno != EINTR)
			return -errno;
		for (i = 0; k > 0 && i < hi - lo; i++) {
			int err = 0;
			socklen_t len = sizeof(err);

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				return -errno;
			if (err) {
				fprintf(stderr, "e2e-clients: conn %u: connect: %s\n", lo + i, strerror(err));
				return -err;
			}
			pfd[i].fd = -1;
			left--;
		}
	}
	return 0;
}

/* The hello and the bytes the server will leave unread, in one send. */
static int send_load(struct e2e_clients *c, uint32_t i)
{
	uint8_t buf[sizeof(struct e2e_hello) + E2E_HOLD_BYTES];
	struct e2e_hello h = { .magic = E2E_MAGIC, .idx = i, .load_tx = E2E_LOAD_TX, .req_len = E2E_REQ_LEN };
	ssize_t r;

	memcpy(buf, &h, sizeof(h));
	pattern_fill(buf + sizeof(h), pattern_stream(i, 0), 0, E2E_HOLD_BYTES);
	r = send(c->cl[i].fd, buf, sizeof(buf), MSG_NOSIGNAL);
	if (r != (ssize_t)sizeof(buf)) {
		fprintf(stderr, "e2e-clients: conn %u: sending the hello: %s\n", i, r < 0 ? strerror(errno) : "short");
		return r < 0 ? -errno : -EIO;
	}
	c->cl[i].tx = E2E_HOLD_BYTES;
	return 0;
}

int e2e_clients_open(const struct e2e_clients_opts *o, struct e2e_clients **cp)
{
	struct e2e_clients *c;
	uint32_t lo;
	int ret = 0;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->o = *o;
	if (!c->o.timeout_ms)
		c->o.timeout_ms = 60000;
	c->cl = calloc(o->n ? o->n : 1, sizeof(*c->cl));
	c->items = calloc(o->n ? o->n : 1, sizeof(*c->items));
	if (!c->cl || !c->items) {
		e2e_clients_close(c);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < o->n; i++)
		c->cl[i].fd = -1;
	for (lo = 0; lo < o->n && !ret; lo += CONNECT_CHUNK)
		ret = connect_chunk(c, lo, lo + CONNECT_CHUNK < o->n ? lo + CONNECT_CHUNK : o->n);
	for (uint32_t i = 0; i < o->n && !ret; i++)
		ret = send_load(c, i);
	if (ret) {
		e2e_clients_close(c);
		return ret;
	}
	*cp = c;
	return 0;
}

void e2e_clients_close(struct e2e_clients *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; c->cl && i < c->o.n; i++)
		if (c->cl[i].fd >= 0)
			close(c->cl[i].fd);
	free(c->cl);
	free(c->items);
	free(c);
}

/* Sum of the receive queues, and whether every connection has something and nothing unacknowledged. */
static int queues(struct e2e_clients *c, uint64_t *inq_total, int *settled)
{
	*inq_total = 0;
	*settled = 1;
	for (uint32_t i = 0; i < c->o.n; i++) {
		int inq, outq;

		if (ioctl(c->cl[i].fd, SIOCINQ, &inq) < 0 || ioctl(c->cl[i].fd, SIOCOUTQ, &outq) < 0)
			return -errno;
		*inq_total += (uint64_t)inq;
		if (!inq || outq)
			*settled = 0;
	}
	return 0;
}

int e2e_clients_settle(struct e2e_clients *c, uint64_t *client_inq)
{
	uint64_t deadline = sio_now_ms() + c->o.timeout_ms, last = UINT64_MAX, now;
	int settled, inq0, ret;

	for (;;) {
		ret = queues(c, &now, &settled);
		if (ret)
			return ret;
		if (settled && now == last)
			break;
		last = settled ? now : UINT64_MAX;
		if (sio_now_ms() >= deadline) {
			fprintf(stderr,
				"e2e-clients: the server did not take every hello and fill the queues in time\n");
			return -ETIMEDOUT;
		}
		sleep_ms(SETTLE_STEP_MS);
	}
	*client_inq = now;
	if (ioctl(c->cl[0].fd, SIOCINQ, &inq0) < 0)
		return -errno;
	c->queued0 = (uint64_t)inq0;
	return 0;
}

/* Read and check what connection @i has now, up to offset @upto; 1 if anything came, 0 if not, -errno. */
static int drain(struct e2e_client *cl, uint32_t i, uint8_t *buf, uint64_t upto)
{
	int got = 0;

	while (cl->rx < upto) {
		uint64_t left = upto - cl->rx;
		ssize_t r = recv(cl->fd, buf, left < BUF_SIZE ? (size_t)left : BUF_SIZE, MSG_DONTWAIT);
		long bad;

		if (r < 0)
			return errno == EAGAIN ? got : -errno;
		if (r == 0)
			return -EPIPE;
		bad = pattern_check(buf, pattern_stream(i, 1), cl->rx, (size_t)r);
		if (bad >= 0) {
			fprintf(stderr, "e2e-clients: conn %u: server byte %llu is wrong\n", i,
				(unsigned long long)(cl->rx + (uint64_t)bad));
			return -EPROTO;
		}
		cl->rx += (uint64_t)r;
		got = 1;
	}
	return got;
}

int e2e_clients_first_answer(struct e2e_clients *c, uint64_t *t_ns)
{
	struct e2e_client *cl = &c->cl[0];
	uint64_t deadline = sio_now_ms() + c->o.timeout_ms;
	uint8_t *buf = malloc(BUF_SIZE);
	int ret;

	if (!buf)
		return -ENOMEM;
	/*
	 * What was in the queue before the checkpoint, no more (the answer may come while this is
	 * read): reading it opens the window, the server sends again.
	 */
	ret = drain(cl, 0, buf, c->queued0);
	if (ret >= 0 && cl->rx != c->queued0)
		ret = -EPROTO;
	while (ret >= 0) {
		struct pollfd pfd = { .fd = cl->fd, .events = POLLIN };
		uint64_t now = sio_now_ms();
		int k;

		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		k = poll(&pfd, 1, (int)(deadline - now));
		if (k < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (k <= 0)
			continue;
		*t_ns = test_now_ns();
		ret = drain(cl, 0, buf, UINT64_MAX);
		if (ret == 1)
			break;
	}
	free(buf);
	if (ret < 0)
		fprintf(stderr, "e2e-clients: conn 0: waiting for the restored server: %s\n", strerror(-ret));
	return ret < 0 ? ret : 0;
}

/* Read the server's stream up to @target on every connection still good, then send @reply bytes. */
static int read_phase(struct e2e_clients *c, uint64_t target, uint32_t reply, struct sio_report *rep)
{
	uint32_t k = 0;
	int ret;

	for (uint32_t i = 0; i < c->o.n; i++) {
		struct sio_item *it = &c->items[k];

		if (!c->cl[i].ok)
			continue;
		memset(it, 0, sizeof(*it));
		it->fd = c->cl[i].fd;
		it->idx = i;
		it->stream = pattern_stream(i, 1);
		it->pos = &c->cl[i].rx;
		it->target = target;
		it->reply_stream = pattern_stream(i, 0);
		it->reply_len = reply;
		it->reply_pos = &c->cl[i].tx;
		k++;
	}
	ret = sio_read(c->items, k, c->o.timeout_ms, rep);
	for (uint32_t j = 0; j < k; j++)
		if (c->items[j].done != 1)
			c->cl[c->items[j].idx].ok = 0;
	return ret == -EPROTO ? 0 : ret;
}

int e2e_clients_verify(struct e2e_clients *c, uint32_t *good)
{
	uint64_t load = E2E_LOAD_TX + E2E_HOLD_BYTES; /* the load, then the answers to the held requests */
	struct sio_report rep;
	int ret;

	sio_report_init(&rep);
	for (uint32_t i = 0; i < c->o.n; i++)
		c->cl[i].ok = 1;
	/* all the server owes, then a fresh request ... */
	ret = read_phase(c, load, E2E_REQ_LEN, &rep);
	/* ... and its response */
	ret = ret ?: read_phase(c, load + E2E_REQ_LEN, 0, &rep);
	*good = 0;
	for (uint32_t i = 0; i < c->o.n; i++)
		*good += c->cl[i].ok ? 1 : 0;
	if (rep.nfail)
		sio_report_print("e2e-clients: verify", &rep);
	return ret;
}
