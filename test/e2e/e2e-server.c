/*
 * e2e-server.c: the server the end-to-end migration checkpoints on host A and restores on host B
 * (see e2e-proto.h for what it says). One process, one thread, no children: a listening socket,
 * its connections and one epoll fd, the kinds `criu dump --tcp-established` supports first.
 *
 * Usage: e2e-server -a ADDR -p PORT [-s SNDBUF] [-r READY_FD]
 *   Listens on ADDR:PORT (IPv4); SO_SNDBUF on the listener (inherited by the connections) when
 *   given; closes READY_FD once listening (its reader sees end of file). Runs until SIGTERM or
 *   SIGINT, then prints what it served and exits 0, or 1 if any byte a client sent was wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "e2e-proto.h"
#include "pattern.h"

#define BUF_SIZE (64 * 1024)
#define EVENTS 256

struct conn {
	int fd;
	uint32_t got; /* bytes of the hello read */
	struct e2e_hello hello;
	uint64_t rx;	    /* bytes of the client's stream read and checked */
	uint64_t tx;	    /* bytes of our stream written */
	uint64_t tx_target; /* ... to be written */
	uint32_t events;    /* what epoll waits for */
};

struct server {
	int lfd, epfd;
	struct conn **by_fd;
	size_t max_fd;
	uint64_t accepted, closed, bad, rx_bytes, tx_bytes;
	uint8_t buf[BUF_SIZE];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int conn_wait(struct server *s, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = c->fd };

	if (c->events == events)
		return 0;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return -errno;
	c->events = events;
	return 0;
}

static void conn_close(struct server *s, struct conn *c, int reset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (reset && setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		fprintf(stderr, "e2e-server: SO_LINGER: %s\n", strerror(errno));
	if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0)
		fprintf(stderr, "e2e-server: EPOLL_CTL_DEL: %s\n", strerror(errno));
	s->by_fd[c->fd] = NULL;
	close(c->fd);
	free(c);
	s->closed++;
}

/* Write what is due; 1 when all is written, 0 when the socket is full, -errno. */
static int conn_write(struct server *s, struct conn *c)
{
	uint32_t stream = pattern_stream(c->hello.idx, 1);

	while (c->tx < c->tx_target) {
		uint64_t left = c->tx_target - c->tx;
		size_t len = left < BUF_SIZE ? (size_t)left : BUF_SIZE;
		ssize_t r;

		pattern_fill(s->buf, stream, c->tx, len);
		r = send(c->fd, s->buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		c->tx += (uint64_t)r;
		s->tx_bytes += (uint64_t)r;
	}
	return 1;
}

/*
 * Read the hello, then requests, one at a time, never past the end of the current one: 1 when
 * something was read, 0 when nothing was there, -EPIPE at the end of the stream, -errno.
 */
static int conn_read(struct server *s, struct conn *c)
{
	uint32_t req;
	long bad;
	ssize_t r;

	if (c->got < sizeof(c->hello)) {
		r = recv(c->fd, (char *)&c->hello + c->got, sizeof(c->hello) - c->got, MSG_DONTWAIT);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (r == 0)
			return -EPIPE;
		c->got += (uint32_t)r;
		if (c->got < sizeof(c->hello))
			return 1;
		if (c->hello.magic != E2E_MAGIC || !c->hello.req_len || c->hello.req_len > BUF_SIZE) {
			fprintf(stderr, "e2e-server: a connection opened with a bad hello\n");
			return -EPROTO;
		}
		c->tx_target = c->hello.load_tx;
		return 1;
	}
	req = c->hello.req_len - (uint32_t)(c->rx % c->hello.req_len);
	r = recv(c->fd, s->buf, req, MSG_DONTWAIT);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (r == 0)
		return -EPIPE;
	bad = pattern_check(s->buf, pattern_stream(c->hello.idx, 0), c->rx, (size_t)r);
	if (bad >= 0) {
		fprintf(stderr, "e2e-server: conn %u: client byte %llu is 0x%02x, expected 0x%02x\n", c->hello.idx,
			(unsigned long long)(c->rx + (uint64_t)bad), s->buf[bad],
			pattern_byte(pattern_stream(c->hello.idx, 0), c->rx + (uint64_t)bad));
		s->bad++;
		return -EPROTO;
	}
	c->rx += (uint64_t)r;
	s->rx_bytes += (uint64_t)r;
	if (c->rx % c->hello.req_len == 0)
		c->tx_target += c->hello.req_len;
	return 1;
}

/* Write what is due, then read while there is something to read and nothing left to write. */
static void conn_event(struct server *s, struct conn *c)
{
	int ret;

	do {
		ret = conn_write(s, c);
		if (ret < 0)
			break;
		if (ret == 0) {
			/* backpressure: nothing is read while output waits */
			ret = conn_wait(s, c, EPOLLOUT);
			break;
		}
		ret = conn_wait(s, c, EPOLLIN);
		if (!ret)
			ret = conn_read(s, c);
	} while (ret == 1);
	if (ret == -EPIPE)
		conn_close(s, c, 0);
	else if (ret < 0)
		conn_close(s, c, 1);
}

static int accept_all(struct server *s)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ? 0 : -errno;
		c = calloc(1, sizeof(*c));
		if (!c || (size_t)fd >= s->max_fd) {
			free(c);
			close(fd);
			return -ENOMEM;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			int ret = -errno;

			free(c);
			close(fd);
			return ret;
		}
		s->by_fd[fd] = c;
		s->accepted++;
	}
}

static int serve(struct server *s)
{
	struct epoll_event evs[EVENTS];

	while (!stop) {
		int n = epoll_wait(s->epfd, evs, EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int k = 0; k < n; k++) {
			int fd = evs[k].data.fd;
			int ret;

			if (fd == s->lfd) {
				ret = accept_all(s);
				if (ret)
					fprintf(stderr, "e2e-server: accept: %s\n", strerror(-ret));
				continue;
			}
			if ((size_t)fd < s->max_fd && s->by_fd[fd])
				conn_event(s, s->by_fd[fd]);
		}
	}
	return 0;
}

static int setup(struct server *s, const char *addr, int port, int sndbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct epoll_event ev = { .events = EPOLLIN };
	struct rlimit rl;
	int one = 1;

	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		return -EINVAL;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	s->max_fd = rl.rlim_cur;
	s->by_fd = calloc(s->max_fd, sizeof(*s->by_fd));
	if (!s->by_fd)
		return -ENOMEM;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return -errno;
	if (setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (sndbuf > 0 && setsockopt(s->lfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0) ||
	    bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 4096) < 0)
		return -errno;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	ev.data.fd = s->lfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const char *addr = NULL;
	int port = 0, sndbuf = 0, ready = -1, opt, ret;
	struct server *s;

	while ((opt = getopt(argc, argv, "a:p:s:r:")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 's':
			sndbuf = atoi(optarg);
			break;
		case 'r':
			ready = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s -a ADDR -p PORT [-s SNDBUF] [-r READY_FD]\n", argv[0]);
			return 2;
		}
	}
	if (!addr || port <= 0 || port > 65535) {
		fprintf(stderr, "e2e-server: -a ADDR and -p PORT are needed\n");
		return 2;
	}
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		perror("e2e-server: sigaction");
		return 2;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return 2;
	ret = setup(s, addr, port, sndbuf);
	if (ret) {
		fprintf(stderr, "e2e-server: listening on %s:%d: %s\n", addr, port, strerror(-ret));
		return 2;
	}
	if (ready >= 0 && close(ready) < 0) {
		perror("e2e-server: closing the ready fd");
		return 2;
	}
	ret = serve(s);
	printf("e2e-server: %llu connections accepted, %llu closed, %llu bytes read and checked, %llu written, "
	       "%llu bad\n",
	       (unsigned long long)s->accepted, (unsigned long long)s->closed, (unsigned long long)s->rx_bytes,
	       (unsigned long long)s->tx_bytes, (unsigned long long)s->bad);
	if (ret)
		fprintf(stderr, "e2e-server: epoll_wait: %s\n", strerror(-ret));
	return ret || s->bad ? 1 : 0;
}
