/*
 * connfix.c: the many-connection fixture (see connfix.h): the namespace, the listener, the peer
 * process and the connections, the standard data load, the lock and the final verification.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "connfix.h"
#include "connfix-proto.h"
#include "pattern.h"
#include "soccr.h"
#include "streamio.h"

#define CONNFIX_CHUNK 512 /* connections per connect command; twice this is the backlog */
#define CONNFIX_DEFAULT_MSS 536
#define CONNFIX_DEFAULT_TIMEOUT_MS 30000
#define CONNFIX_QUEUE_TIMEOUT_MS 5000 /* writes into a send queue nobody acknowledges */
#define CONNFIX_REPLY_SLACK_MS 5000   /* the peer's own deadline, plus this */
#define CONNFIX_INFLIGHT 32	      /* commands sent to the peer before waiting for a reply */
#define CONNFIX_REPORT 8	      /* failures printed one by one */

struct connfix_conn {
	int fd;
	uint8_t srv_shut;	    /* the server shut down writing */
	uint8_t peer_shut;	    /* the peer did */
	uint64_t srv_tx;	    /* bytes of the server's stream written */
	uint64_t srv_rx;	    /* bytes of the peer's stream the server read */
	uint64_t peer_tx;	    /* bytes of the peer's stream the peer wrote */
	uint32_t queued_out;	    /* bytes the server wrote since connfix_queue_start() */
	uint32_t inq, outq, unsent; /* as connfix_check_queues() measured them */
	union connfix_addr local, peer;
};

struct connfix {
	struct connfix_opts opts;
	int listen_fd;
	uint16_t port;
	pid_t peer_pid;
	int ctl;
	int locked;
	int want_unacked, want_unsent; /* what connfix_check_queues() requires */
	int64_t drops_at_lock;	       /* softnet backlog drops when the lock was taken */
	char lock_id[NETLOCK_ID_MAX + 1];
	struct netlock_opts lock_opts;
	struct netlock_tuple *tuples;
	struct connfix_conn *conns;
	struct sio_item *items;
};

static void lock_log(void *arg, unsigned int level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t len;

	(void)arg;
	(void)level;
	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	fprintf(stderr, "connfix: net-lock: %s%s", line, len && line[len - 1] == '\n' ? "" : "\n");
}

int connfix_env_setup(void)
{
	struct ifreq ifr;
	struct rlimit rl;
	int fd, ret = 0;

	if (unshare(CLONE_NEWNET) < 0) {
		ret = -errno;
		fprintf(stderr, "connfix: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return ret;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "connfix: socket: %s\n", strerror(errno));
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		goto out_errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		goto out_errno;
	close(fd);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		goto out_rlimit;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		goto out_rlimit;
	return 0;
out_errno:
	ret = -errno;
	fprintf(stderr, "connfix: bringing lo up: %s\n", strerror(errno));
	close(fd);
	return ret;
out_rlimit:
	ret = -errno;
	fprintf(stderr, "connfix: raising RLIMIT_NOFILE: %s\n", strerror(errno));
	return ret;
}

int connfix_family_probe(enum connfix_family family)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	int fd, ret = 0;

	if (family == CONNFIX_IPV4)
		return 0;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	a.sin6_addr = family == CONNFIX_IPV6 ? in6addr_loopback : in6addr_any;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

const char *connfix_family_name(enum connfix_family family)
{
	switch (family) {
	case CONNFIX_IPV4:
		return "ipv4";
	case CONNFIX_IPV6:
		return "ipv6";
	case CONNFIX_V4MAPPED:
		return "v4mapped";
	}
	return "?";
}

const char *connfix_state_name(int state)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "ESTABLISHED",
		[TCP_SYN_SENT] = "SYN_SENT",
		[TCP_SYN_RECV] = "SYN_RECV",
		[TCP_FIN_WAIT1] = "FIN_WAIT1",
		[TCP_FIN_WAIT2] = "FIN_WAIT2",
		[TCP_TIME_WAIT] = "TIME_WAIT",
		[TCP_CLOSE] = "CLOSE",
		[TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[TCP_LAST_ACK] = "LAST_ACK",
		[TCP_LISTEN] = "LISTEN",
		[TCP_CLOSING] = "CLOSING",
	};

	if (state < 0 || state >= (int)(sizeof(names) / sizeof(names[0])) || !names[state])
		return "?";
	return names[state];
}

int connfix_tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	return ti.tcpi_state;
}

uint32_t connfix_count(const struct connfix *fix)
{
	return fix->opts.n;
}

int connfix_fd(const struct connfix *fix, uint32_t i)
{
	return fix->conns[i].fd;
}

void connfix_set_fd(struct connfix *fix, uint32_t i, int fd)
{
	fix->conns[i].fd = fd;
}

const union connfix_addr *connfix_local(const struct connfix *fix, uint32_t i)
{
	return &fix->conns[i].local;
}

const union connfix_addr *connfix_peer(const struct connfix *fix, uint32_t i)
{
	return &fix->conns[i].peer;
}

const struct netlock_tuple *connfix_tuples(const struct connfix *fix)
{
	return fix->tuples;
}

const struct netlock_opts *connfix_lock_opts(const struct connfix *fix)
{
	return &fix->lock_opts;
}

void connfix_queues(const struct connfix *fix, uint32_t i, uint32_t *inq, uint32_t *outq, uint32_t *unsent)
{
	*inq = fix->conns[i].inq;
	*outq = fix->conns[i].outq;
	*unsent = fix->conns[i].unsent;
}

uint32_t connfix_queued_out(const struct connfix *fix, uint32_t i)
{
	return fix->conns[i].queued_out;
}

/* ---- the peer process ---- */

static const char *peer_op_name(uint32_t op)
{
	static const char *const names[] = {
		[PEER_OP_CONNECT] = "connect",	 [PEER_OP_SEND] = "send",
		[PEER_OP_READ] = "read",	 [PEER_OP_ROUNDTRIP] = "round trip",
		[PEER_OP_SHUTDOWN] = "shutdown", [PEER_OP_FILTER] = "filter",
		[PEER_OP_EXIT] = "exit",
	};

	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : "?";
}

static int peer_start(struct connfix *fix)
{
	pid_t parent = getpid(), pid;
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		fprintf(stderr, "connfix: socketpair: %s\n", strerror(errno));
		return ret;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		fprintf(stderr, "connfix: fork: %s\n", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	if (pid == 0) {
		/* keep only stdio and the control socket: the server's sockets must not live on here */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(2);
		if (sv[1] != 3 && dup2(sv[1], 3) < 0)
			_exit(2);
		if (close_range(4, ~0u, 0) < 0)
			_exit(2);
		signal(SIGPIPE, SIG_IGN);
		connfix_peer_main(3, fix->opts.n);
	}
	close(sv[1]);
	fix->ctl = sv[0];
	fix->peer_pid = pid;
	return 0;
}

static int peer_send_cmd(struct connfix *fix, struct peer_cmd *cmd)
{
	if (!cmd->timeout_ms)
		cmd->timeout_ms = fix->opts.timeout_ms;
	if (send(fix->ctl, cmd, sizeof(*cmd), MSG_NOSIGNAL) != sizeof(*cmd)) {
		int ret = errno ? -errno : -EPIPE;

		fprintf(stderr, "connfix: sending the peer a %s command: %s\n", peer_op_name(cmd->op), strerror(-ret));
		return ret;
	}
	return 0;
}

/* Receive the reply to the oldest command in flight: 0, or -errno if none came. */
static int peer_recv_reply(struct connfix *fix, uint32_t timeout_ms, struct peer_reply *reply)
{
	struct pollfd pfd = { .fd = fix->ctl, .events = POLLIN };
	ssize_t r;
	int k;

	do {
		k = poll(&pfd, 1, (int)(timeout_ms + CONNFIX_REPLY_SLACK_MS));
	} while (k < 0 && errno == EINTR);
	if (k <= 0) {
		fprintf(stderr, "connfix: the peer process did not answer within %u ms\n",
			timeout_ms + CONNFIX_REPLY_SLACK_MS);
		return k < 0 ? -errno : -ETIMEDOUT;
	}
	r = recv(fix->ctl, reply, sizeof(*reply), 0);
	if (r != sizeof(*reply)) {
		fprintf(stderr, "connfix: the peer process is gone\n");
		return -EPIPE;
	}
	return 0;
}

/* The reply to the oldest command in flight: the peer's status, its failures on stderr. */
static int peer_wait_reply(struct connfix *fix, uint32_t timeout_ms)
{
	struct peer_reply reply;
	int ret = peer_recv_reply(fix, timeout_ms, &reply);

	if (ret)
		return ret;
	if (reply.status) {
		fprintf(stderr, "connfix: peer: %s failed: %s\n", peer_op_name(reply.op), strerror(-reply.status));
		sio_report_print("connfix: peer", &reply.rep);
	}
	return reply.status;
}

static int peer_call(struct connfix *fix, struct peer_cmd *cmd)
{
	int ret = peer_send_cmd(fix, cmd);

	if (ret)
		return ret;
	return peer_wait_reply(fix, cmd->timeout_ms);
}

static void peer_stop(struct connfix *fix)
{
	struct peer_cmd cmd = { .op = PEER_OP_EXIT, .timeout_ms = 1000 };
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	int status, i;

	if (fix->peer_pid <= 0)
		return;
	if (fix->ctl >= 0 && !peer_send_cmd(fix, &cmd) && peer_wait_reply(fix, 0))
		fprintf(stderr, "connfix: the peer process did not exit cleanly\n");
	for (i = 0; i < 500; i++) {
		pid_t r = waitpid(fix->peer_pid, &status, WNOHANG);

		if (r == fix->peer_pid || (r < 0 && errno != EINTR))
			goto out_reaped;
		if (nanosleep(&ts, NULL) < 0 && errno != EINTR)
			break;
	}
	fprintf(stderr, "connfix: killing the peer process %d\n", fix->peer_pid);
	if (kill(fix->peer_pid, SIGKILL) < 0)
		fprintf(stderr, "connfix: kill %d: %s\n", fix->peer_pid, strerror(errno));
	while (waitpid(fix->peer_pid, &status, 0) < 0 && errno == EINTR)
		;
out_reaped:
	fix->peer_pid = -1;
}

/* ---- making the connections ---- */

static int listen_open(struct connfix *fix)
{
	int v6 = fix->opts.family != CONNFIX_IPV4;
	int one = 1, v6only = fix->opts.family == CONNFIX_IPV6, mss = (int)fix->opts.mss, fd, ret;
	union connfix_addr a;
	socklen_t len;

	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "connfix: listener socket: %s\n", strerror(errno));
		return ret;
	}
	memset(&a, 0, sizeof(a));
	if (v6) {
		a.v6.sin6_family = AF_INET6;
		a.v6.sin6_addr = in6addr_any;
		len = sizeof(a.v6);
	} else {
		a.v4.sin_family = AF_INET;
		a.v4.sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(a.v4);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) < 0 ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0) ||
	    bind(fd, &a.sa, len) < 0 || listen(fd, 2 * CONNFIX_CHUNK) < 0 || getsockname(fd, &a.sa, &len) < 0) {
		ret = -errno;
		fprintf(stderr, "connfix: listener: %s\n", strerror(errno));
		close(fd);
		return ret;
	}
	fix->listen_fd = fd;
	fix->port = ntohs(v6 ? a.v6.sin6_port : a.v4.sin_port);
	return 0;
}

static uint32_t left_ms(uint64_t deadline)
{
	uint64_t now = sio_now_ms();

	return now >= deadline ? 0 : (uint32_t)(deadline - now);
}

/*
 * Accept @count connections while the peer makes them. The peer's reply may come first (when it
 * fails, or when it is done before the last accept): *replied says whether it was consumed.
 */
static int accept_chunk(struct connfix *fix, int *fds, uint32_t count, int *replied)
{
	uint64_t deadline = sio_now_ms() + fix->opts.timeout_ms;
	uint32_t got = 0;
	int ret;

	while (got < count) {
		struct pollfd pfd[2] = { { .fd = fix->listen_fd, .events = POLLIN },
					 { .fd = fix->ctl, .events = POLLIN } };
		int fd = accept4(fix->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int k;

		if (fd >= 0) {
			fds[got++] = fd;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
			ret = -errno;
			fprintf(stderr, "connfix: accept: %s\n", strerror(errno));
			return ret;
		}
		if (!left_ms(deadline)) {
			fprintf(stderr, "connfix: %u of %u connections accepted before the deadline\n", got, count);
			return -ETIMEDOUT;
		}
		k = poll(pfd, *replied ? 1 : 2, (int)left_ms(deadline));
		if (k < 0 && errno != EINTR)
			return -errno;
		if (k > 0 && !*replied && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			*replied = 1;
			ret = peer_wait_reply(fix, 0);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Read each new connection's index (its first 4 bytes) and file it. */
static int file_conn(struct connfix *fix, int fd, uint32_t lo, uint32_t hi)
{
	uint64_t deadline = sio_now_ms() + fix->opts.timeout_ms;
	struct connfix_conn *c;
	uint32_t idx;
	socklen_t len;
	ssize_t r;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		r = recv(fd, &idx, sizeof(idx), MSG_DONTWAIT);
		if (r >= 0 || (errno != EAGAIN && errno != EINTR))
			break;
		if (!left_ms(deadline) || (poll(&pfd, 1, (int)left_ms(deadline)) < 0 && errno != EINTR))
			break;
	}
	if (r != sizeof(idx) || idx < lo || idx >= hi || fix->conns[idx].fd >= 0) {
		fprintf(stderr, "connfix: a new connection did not say which it is (%zd bytes)\n", r);
		return -EPROTO;
	}
	c = &fix->conns[idx];
	len = sizeof(c->local);
	if (getsockname(fd, &c->local.sa, &len) < 0)
		return -errno;
	len = sizeof(c->peer);
	if (getpeername(fd, &c->peer.sa, &len) < 0)
		return -errno;
	c->fd = fd;
	return 0;
}

static int connect_chunk(struct connfix *fix, uint32_t lo, uint32_t hi, int *fds)
{
	struct peer_cmd cmd = {
		.op = PEER_OP_CONNECT,
		.lo = lo,
		.hi = hi,
		.family = fix->opts.family,
		.port = fix->port,
		.mss = fix->opts.mss,
	};
	uint32_t i, count = hi - lo, got;
	int replied = 0, ret;

	for (i = 0; i < count; i++)
		fds[i] = -1;
	ret = peer_send_cmd(fix, &cmd);
	if (ret)
		return ret;
	ret = accept_chunk(fix, fds, count, &replied);
	if (!ret && !replied)
		ret = peer_wait_reply(fix, cmd.timeout_ms);
	for (got = 0; !ret && got < count; got++) {
		ret = file_conn(fix, fds[got], lo, hi);
		if (!ret)
			fds[got] = -1;
	}
	for (i = 0; i < count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

static void tuple_addr(struct netlock_tuple *t, const union connfix_addr *a, int local)
{
	uint16_t port;

	if (a->sa.sa_family == AF_INET) {
		t->family = AF_INET;
		(local ? &t->src : &t->dst)->v4 = a->v4.sin_addr;
		port = ntohs(a->v4.sin_port);
	} else {
		t->family = AF_INET6;
		(local ? &t->src : &t->dst)->v6 = a->v6.sin6_addr;
		port = ntohs(a->v6.sin6_port);
	}
	if (local)
		t->sport = port;
	else
		t->dport = port;
}

int connfix_create(const struct connfix_opts *opts, struct connfix **fixp)
{
	struct connfix *fix;
	uint32_t n = opts->n, lo, i;
	int *fds = NULL, ret;

	fix = calloc(1, sizeof(*fix));
	if (!fix)
		return -ENOMEM;
	fix->opts = *opts;
	if (!fix->opts.mss)
		fix->opts.mss = CONNFIX_DEFAULT_MSS;
	if (!fix->opts.timeout_ms)
		fix->opts.timeout_ms = CONNFIX_DEFAULT_TIMEOUT_MS;
	fix->listen_fd = -1;
	fix->ctl = -1;
	fix->drops_at_lock = -1;
	fix->conns = calloc(n ? n : 1, sizeof(*fix->conns));
	fix->items = calloc(n ? n : 1, sizeof(*fix->items));
	fix->tuples = calloc(n ? n : 1, sizeof(*fix->tuples));
	fds = calloc(CONNFIX_CHUNK, sizeof(*fds));
	if (!fix->conns || !fix->items || !fix->tuples || !fds) {
		ret = -ENOMEM;
		goto out_destroy;
	}
	for (i = 0; i < n; i++)
		fix->conns[i].fd = -1;
	ret = listen_open(fix);
	if (ret)
		goto out_destroy;
	ret = peer_start(fix);
	if (ret)
		goto out_destroy;
	for (lo = 0; lo < n; lo += CONNFIX_CHUNK) {
		ret = connect_chunk(fix, lo, lo + CONNFIX_CHUNK < n ? lo + CONNFIX_CHUNK : n, fds);
		if (ret)
			goto out_destroy;
	}
	for (i = 0; i < n; i++) {
		tuple_addr(&fix->tuples[i], &fix->conns[i].local, 1);
		tuple_addr(&fix->tuples[i], &fix->conns[i].peer, 0);
	}
	snprintf(fix->lock_id, sizeof(fix->lock_id), "connfix-%u", fix->port);
	fix->lock_opts.mode = NETLOCK_NFTABLES;
	fix->lock_opts.id = fix->lock_id;
	fix->lock_opts.log = lock_log;
	fix->lock_opts.log_level = NETLOCK_LOG_WARN;
	fix->lock_opts.exempt_mark = SOCCR_MARK;
	free(fds);
	*fixp = fix;
	return 0;
out_destroy:
	fprintf(stderr, "connfix: making %u %s connections failed: %s\n", n, connfix_family_name(opts->family),
		strerror(-ret));
	free(fds);
	connfix_destroy(fix);
	return ret;
}

void connfix_destroy(struct connfix *fix)
{
	uint32_t i;

	if (!fix)
		return;
	if (fix->locked && connfix_unlock(fix))
		fprintf(stderr, "connfix: the lock %s stays\n", fix->lock_id);
	peer_stop(fix);
	if (fix->conns)
		for (i = 0; i < fix->opts.n; i++)
			if (fix->conns[i].fd >= 0)
				close(fix->conns[i].fd);
	if (fix->listen_fd >= 0)
		close(fix->listen_fd);
	if (fix->ctl >= 0)
		close(fix->ctl);
	free(fix->conns);
	free(fix->items);
	free(fix->tuples);
	free(fix);
}

/* ---- building blocks ---- */

static int check_range(const struct connfix *fix, uint32_t lo, uint32_t hi)
{
	if (lo > hi || hi > fix->opts.n) {
		fprintf(stderr, "connfix: connections [%u, %u) out of range (%u)\n", lo, hi, fix->opts.n);
		return -ERANGE;
	}
	return 0;
}

int connfix_peer_send(struct connfix *fix, uint32_t lo, uint32_t hi, uint32_t len)
{
	struct peer_cmd cmd = { .op = PEER_OP_SEND, .lo = lo, .hi = hi, .len = len };
	uint32_t i;
	int ret = check_range(fix, lo, hi);

	if (ret)
		return ret;
	ret = peer_call(fix, &cmd);
	if (ret)
		return ret;
	for (i = lo; i < hi; i++)
		fix->conns[i].peer_tx += len;
	return 0;
}

int connfix_peer_shutdown(struct connfix *fix, uint32_t lo, uint32_t hi)
{
	struct peer_cmd cmd = { .op = PEER_OP_SHUTDOWN, .lo = lo, .hi = hi };
	uint32_t i;
	int ret = check_range(fix, lo, hi);

	if (ret)
		return ret;
	ret = peer_call(fix, &cmd);
	if (ret)
		return ret;
	for (i = lo; i < hi; i++)
		fix->conns[i].peer_shut = 1;
	return 0;
}

int connfix_peer_filter(struct connfix *fix, uint32_t lo, uint32_t hi, int drop)
{
	struct peer_cmd cmd = { .op = PEER_OP_FILTER, .lo = lo, .hi = hi, .len = drop != 0 };
	int ret = check_range(fix, lo, hi);

	return ret ? ret : peer_call(fix, &cmd);
}

static int server_write(struct connfix *fix, uint32_t lo, uint32_t hi, uint32_t len, uint32_t timeout_ms)
{
	struct sio_report rep;
	uint32_t i;
	int ret = check_range(fix, lo, hi);

	if (ret)
		return ret;
	for (i = lo; i < hi; i++) {
		struct connfix_conn *c = &fix->conns[i];
		struct sio_item *it = &fix->items[i - lo];

		memset(it, 0, sizeof(*it));
		it->fd = c->fd;
		it->idx = i;
		it->stream = pattern_stream(i, 1);
		it->pos = &c->srv_tx;
		it->target = c->srv_tx + len;
	}
	sio_report_init(&rep);
	ret = sio_write(fix->items, hi - lo, timeout_ms, &rep);
	for (i = lo; i < hi; i++)
		fix->conns[i].queued_out += len;
	if (ret) {
		fprintf(stderr, "connfix: the server could not write %u bytes on %u of %u connections: %s\n", len,
			rep.nfail, hi - lo, strerror(-ret));
		sio_report_print("connfix: server", &rep);
	}
	return ret;
}

int connfix_server_send(struct connfix *fix, uint32_t lo, uint32_t hi, uint32_t len)
{
	return server_write(fix, lo, hi, len, fix->opts.timeout_ms);
}

int connfix_server_shutdown(struct connfix *fix, uint32_t lo, uint32_t hi)
{
	uint32_t i;
	int ret = check_range(fix, lo, hi);

	for (i = lo; !ret && i < hi; i++) {
		if (shutdown(fix->conns[i].fd, SHUT_WR) < 0) {
			ret = -errno;
			fprintf(stderr, "connfix: conn %u: shutdown: %s\n", i, strerror(errno));
		}
		fix->conns[i].srv_shut = 1;
	}
	return ret;
}

int connfix_server_filter(struct connfix *fix, uint32_t lo, uint32_t hi, int drop)
{
	uint32_t i;
	int ret = check_range(fix, lo, hi);

	for (i = lo; !ret && i < hi; i++) {
		ret = connfix_drop_filter(fix->conns[i].fd, drop);
		if (ret)
			fprintf(stderr, "connfix: conn %u: %s the drop filter: %s\n", i,
				drop ? "attaching" : "detaching", strerror(-ret));
	}
	return ret;
}

enum wait_what {
	WAIT_INQ,
	WAIT_ACKED,
	WAIT_STATE
};

/* 1 if connection @c got where @what says, 0 if not yet, or -errno. */
static int wait_reached(const struct connfix_conn *c, enum wait_what what, int state, int *seen)
{
	int v;

	switch (what) {
	case WAIT_INQ:
		if (ioctl(c->fd, SIOCINQ, &v) < 0)
			return -errno;
		*seen = v;
		return (uint64_t)v == c->peer_tx - c->srv_rx;
	case WAIT_ACKED:
		if (ioctl(c->fd, SIOCOUTQ, &v) < 0)
			return -errno;
		*seen = v;
		return v == 0;
	default:
		v = connfix_tcp_state(c->fd);
		if (v < 0)
			return v;
		*seen = v;
		return v == state;
	}
}

static int wait_for(struct connfix *fix, uint32_t lo, uint32_t hi, enum wait_what what, int state)
{
	static const char *const what_names[] = { "receive queue", "unacknowledged send queue", "state" };
	uint64_t deadline = sio_now_ms() + fix->opts.timeout_ms;
	struct timespec pause = { .tv_nsec = 1000 * 1000 };
	uint32_t i = lo;
	int seen = 0, ret = check_range(fix, lo, hi);

	while (!ret && i < hi) {
		ret = wait_reached(&fix->conns[i], what, state, &seen);
		if (ret == 1) {
			ret = 0;
			i++;
			continue;
		}
		if (ret < 0)
			break;
		if (!left_ms(deadline)) {
			ret = -ETIMEDOUT;
			break;
		}
		if (nanosleep(&pause, NULL) < 0 && errno != EINTR)
			ret = -errno;
	}
	if (ret == -ETIMEDOUT && what == WAIT_STATE)
		fprintf(stderr, "connfix: conn %u: state %s, not %s after %u ms\n", i, connfix_state_name(seen),
			connfix_state_name(state), fix->opts.timeout_ms);
	else if (ret == -ETIMEDOUT)
		fprintf(stderr, "connfix: conn %u: %s still %d bytes after %u ms\n", i, what_names[what], seen,
			fix->opts.timeout_ms);
	else if (ret)
		fprintf(stderr, "connfix: conn %u: waiting for its %s: %s\n", i, what_names[what], strerror(-ret));
	return ret;
}

int connfix_wait_inq(struct connfix *fix, uint32_t lo, uint32_t hi)
{
	return wait_for(fix, lo, hi, WAIT_INQ, 0);
}

int connfix_wait_acked(struct connfix *fix, uint32_t lo, uint32_t hi)
{
	return wait_for(fix, lo, hi, WAIT_ACKED, 0);
}

int connfix_wait_state(struct connfix *fix, uint32_t lo, uint32_t hi, int state)
{
	return wait_for(fix, lo, hi, WAIT_STATE, state);
}

/* ---- the standard data load ---- */

int connfix_queue_start(struct connfix *fix, uint32_t peer_bytes, uint32_t sent_bytes)
{
	uint32_t n = fix->opts.n, i;
	int ret;

	ret = connfix_peer_send(fix, 0, n, peer_bytes);
	if (ret)
		return ret;
	ret = connfix_wait_inq(fix, 0, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		fix->conns[i].queued_out = 0;
	ret = connfix_server_filter(fix, 0, n, 1);
	if (ret)
		return ret;
	fix->want_unacked = sent_bytes > 0;
	fix->want_unsent = 0;
	return server_write(fix, 0, n, sent_bytes, CONNFIX_QUEUE_TIMEOUT_MS);
}

int connfix_queue_finish(struct connfix *fix, uint32_t unsent_bytes)
{
	int ret;

	ret = server_write(fix, 0, fix->opts.n, unsent_bytes, CONNFIX_QUEUE_TIMEOUT_MS);
	if (ret)
		return ret;
	fix->want_unsent = unsent_bytes > 0;
	return connfix_server_filter(fix, 0, fix->opts.n, 0);
}

/* NULL if connection @c's queues are as the data load made them, else what is wrong. */
static const char *queues_wrong(const struct connfix *fix, const struct connfix_conn *c)
{
	if (c->inq != c->peer_tx - c->srv_rx)
		return "receive queue";
	if (c->outq != c->queued_out)
		return "send queue";
	if (fix->want_unacked && c->outq <= c->unsent)
		return "no sent-but-unacknowledged data";
	if (fix->want_unsent && !c->unsent)
		return "no unsent data";
	return NULL;
}

int connfix_check_queues(struct connfix *fix)
{
	uint32_t i, bad = 0;
	int ret = 0;

	for (i = 0; i < fix->opts.n; i++) {
		struct connfix_conn *c = &fix->conns[i];
		int inq, outq, nsd;
		const char *what;

		if (ioctl(c->fd, SIOCINQ, &inq) < 0 || ioctl(c->fd, SIOCOUTQ, &outq) < 0 ||
		    ioctl(c->fd, SIOCOUTQNSD, &nsd) < 0) {
			ret = -errno;
			fprintf(stderr, "connfix: conn %u: queue sizes: %s\n", i, strerror(errno));
			return ret;
		}
		c->inq = (uint32_t)inq;
		c->outq = (uint32_t)outq;
		c->unsent = (uint32_t)nsd;
		what = queues_wrong(fix, c);
		if (!what)
			continue;
		if (bad++ < CONNFIX_REPORT)
			fprintf(stderr,
				"connfix: conn %u: %s: in %d (want %llu), out %d (want %u), of which unsent %d\n", i,
				what, inq, (unsigned long long)(c->peer_tx - c->srv_rx), outq, c->queued_out, nsd);
	}
	if (bad) {
		fprintf(stderr, "connfix: %u of %u connections do not hold the queued data\n", bad, fix->opts.n);
		return -EPROTO;
	}
	return 0;
}

/* Packets the kernel dropped because a CPU's input backlog was full (all CPUs), or -1. */
static int64_t softnet_drops(void)
{
	FILE *f = fopen("/proc/net/softnet_stat", "re");
	unsigned long long processed, dropped;
	int64_t total = 0;
	char line[512];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %llx", &processed, &dropped) == 2)
			total += (int64_t)dropped;
	fclose(f);
	return total;
}

/* Why a verification may have timed out, if the kernel says so. */
static void explain_drops(const struct connfix *fix)
{
	int64_t now = softnet_drops();

	if (fix->drops_at_lock < 0 || now <= fix->drops_at_lock)
		return;
	fprintf(stderr,
		"connfix: verify: since the lock the kernel dropped %lld packets because a CPU's input backlog "
		"(net.core.netdev_max_backlog, global) was full: on lo, restored connections that retransmit in "
		"the same timer tick overflow it, and the dropped segments back them off for seconds to minutes\n",
		(long long)(now - fix->drops_at_lock));
}

int connfix_lock(struct connfix *fix, enum netlock_mode mode)
{
	int ret;

	fix->drops_at_lock = softnet_drops();
	fix->lock_opts.mode = mode;
	ret = netlock_lock_conns(&fix->lock_opts, fix->tuples, fix->opts.n);
	if (ret) {
		fprintf(stderr, "connfix: locking %u connections: %s\n", fix->opts.n, strerror(-ret));
		return ret;
	}
	fix->locked = 1;
	return 0;
}

int connfix_unlock(struct connfix *fix)
{
	int ret = netlock_unlock(&fix->lock_opts);

	if (ret) {
		fprintf(stderr, "connfix: unlocking: %s\n", strerror(-ret));
		return ret;
	}
	fix->locked = 0;
	return 0;
}

/* ---- verification ---- */

/* Commands to the peer with at most CONNFIX_INFLIGHT in flight; their failures go to a report. */
struct pipeline {
	struct connfix *fix;
	struct sio_report *rep;
	uint32_t inflight;
};

static int pipeline_reap(struct pipeline *pl)
{
	struct peer_reply reply;
	int ret = peer_recv_reply(pl->fix, pl->fix->opts.timeout_ms, &reply);

	if (ret)
		return ret;
	pl->inflight--;
	sio_report_merge(pl->rep, &reply.rep);
	if (reply.status && !reply.rep.nfail) {
		/* a failure that is not about one connection */
		fprintf(stderr, "connfix: peer: %s failed: %s\n", peer_op_name(reply.op), strerror(-reply.status));
		return reply.status;
	}
	return 0;
}

static int pipeline_send(struct pipeline *pl, struct peer_cmd *cmd)
{
	int ret;

	if (pl->inflight >= CONNFIX_INFLIGHT) {
		ret = pipeline_reap(pl);
		if (ret)
			return ret;
	}
	ret = peer_send_cmd(pl->fix, cmd);
	if (!ret)
		pl->inflight++;
	return ret;
}

static int pipeline_drain(struct pipeline *pl)
{
	int ret = 0;

	while (pl->inflight && !ret)
		ret = pipeline_reap(pl);
	return ret;
}

static void item_init(struct sio_item *it, const struct connfix_conn *c, uint32_t i)
{
	memset(it, 0, sizeof(*it));
	it->fd = c->fd;
	it->idx = i;
}

/* Phase 1: the peer reads all the server wrote, the server all the peer wrote. */
static int verify_streams(struct connfix *fix, struct pipeline *pl)
{
	struct connfix_conn *conns = fix->conns;
	uint32_t n = fix->opts.n, lo, i;
	int ret;

	for (lo = 0; lo < n; lo = i) {
		struct peer_cmd cmd = { .op = PEER_OP_READ,
					.lo = lo,
					.len = conns[lo].srv_tx,
					.flags = conns[lo].srv_shut ? PEER_F_EOF : 0 };

		for (i = lo + 1;
		     i < n && conns[i].srv_tx == conns[lo].srv_tx && conns[i].srv_shut == conns[lo].srv_shut; i++)
			;
		cmd.hi = i;
		ret = pipeline_send(pl, &cmd);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		struct sio_item *it = &fix->items[i];

		item_init(it, &conns[i], i);
		it->stream = pattern_stream(i, 0);
		it->pos = &conns[i].srv_rx;
		it->target = conns[i].peer_tx;
		it->eof = conns[i].peer_shut;
	}
	ret = sio_read(fix->items, n, fix->opts.timeout_ms, pl->rep);
	if (ret && ret != -EPROTO)
		return ret;
	return pipeline_drain(pl);
}

/* Phase 2: a request of the server (if it can still send), answered by the peer (if it can). */
static int verify_round_trip(struct connfix *fix, struct pipeline *pl)
{
	struct connfix_conn *conns = fix->conns;
	uint32_t n = fix->opts.n, lo, i, k;
	int ret;

	for (lo = 0; lo < n; lo = i) {
		struct peer_cmd cmd = { .op = PEER_OP_ROUNDTRIP,
					.lo = lo,
					.len = conns[lo].srv_shut ? 0 : CONNFIX_RT_BYTES,
					.len2 = conns[lo].peer_shut ? 0 : CONNFIX_RT_BYTES };

		for (i = lo + 1;
		     i < n && conns[i].srv_shut == conns[lo].srv_shut && conns[i].peer_shut == conns[lo].peer_shut; i++)
			;
		cmd.hi = i;
		if (!cmd.len && !cmd.len2)
			continue;
		ret = pipeline_send(pl, &cmd);
		if (ret)
			return ret;
	}
	for (i = 0, k = 0; i < n; i++) {
		if (conns[i].srv_shut)
			continue;
		item_init(&fix->items[k], &conns[i], i);
		fix->items[k].stream = pattern_stream(i, 1);
		fix->items[k].pos = &conns[i].srv_tx;
		fix->items[k++].target = conns[i].srv_tx + CONNFIX_RT_BYTES;
	}
	ret = sio_write(fix->items, k, fix->opts.timeout_ms, pl->rep);
	if (ret && ret != -EPROTO)
		return ret;
	for (i = 0, k = 0; i < n; i++) {
		if (conns[i].peer_shut)
			continue;
		conns[i].peer_tx += CONNFIX_RT_BYTES;
		item_init(&fix->items[k], &conns[i], i);
		fix->items[k].stream = pattern_stream(i, 0);
		fix->items[k].pos = &conns[i].srv_rx;
		fix->items[k++].target = conns[i].peer_tx;
	}
	ret = sio_read(fix->items, k, fix->opts.timeout_ms, pl->rep);
	if (ret && ret != -EPROTO)
		return ret;
	return pipeline_drain(pl);
}

int connfix_verify(struct connfix *fix)
{
	struct sio_report rep;
	struct pipeline pl = { .fix = fix, .rep = &rep };
	int ret;

	sio_report_init(&rep);
	ret = verify_streams(fix, &pl);
	if (!ret && !rep.nfail)
		ret = verify_round_trip(fix, &pl);
	if (rep.nfail) {
		sio_report_print("connfix: verify", &rep);
		fprintf(stderr, "connfix: verify: %u failures on %u connections\n", rep.nfail, fix->opts.n);
		explain_drops(fix);
		return -EPROTO;
	}
	if (ret)
		fprintf(stderr, "connfix: verify: %s\n", strerror(-ret));
	return ret;
}
