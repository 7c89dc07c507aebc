/*
 * errors.c: a caller's mistakes fail only the connection they concern.
 *
 * Dump: a batch mixes good established connections (data queued both ways, locked) with a UDP
 * socket, a listening TCP socket, an unconnected TCP socket, a unix socket, a regular file and an
 * fd number that is not open. Each bad one must get its own clear -errno in its status, the batch
 * must return an error, the bad sockets must still work afterwards (the listener accepts, the
 * UDP and unix sockets carry a datagram), and the good ones must be dumped, closed, restored and
 * verified byte-exact.
 *
 * Restore: a batch mixes those good connections with entries that cannot be rebuilt (a unix
 * address, mismatched address families, a state that is not established or half-closed, an
 * unsent part longer than the send queue): each fails alone, the good ones are restored, repair
 * off, unlocked and verified. Both passes run with io_uring and with plain syscalls.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "connfix.h"
#include "soccr-cycle.h"
#include "testutil.h"

#define NR_GOOD 4
#define NR_BAD 6
#define NR_SLOTS (NR_GOOD + NR_BAD)
#define CLOSED_FD 19000 /* below RLIMIT_NOFILE, never opened */

enum bad_kind {
	BAD_UDP,
	BAD_LISTEN,
	BAD_UNCONNECTED,
	BAD_UNIX,
	BAD_FILE,
	BAD_CLOSED
};

static const char *const bad_names[] = { "UDP socket",	"listening socket", "unconnected TCP socket",
					 "unix socket", "regular file",	    "closed fd" };

/* The bad fds, and what is needed to check they still work. */
struct bad_fds {
	int fd[NR_BAD];
	int unix_other; /* the unix socket's other end */
	struct sockaddr_in udp_addr, listen_addr;
};

/* Acceptable statuses for each bad kind, 0-terminated. */
static const int bad_errnos[NR_BAD][6] = {
	[BAD_UDP] = { ENOTSUP, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EPROTOTYPE, EAFNOSUPPORT, 0 },
	[BAD_LISTEN] = { ENOTCONN, EINVAL, 0 },
	[BAD_UNCONNECTED] = { ENOTCONN, EINVAL, 0 },
	[BAD_UNIX] = { ENOTSUP, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EPROTOTYPE, EAFNOSUPPORT, 0 },
	[BAD_FILE] = { ENOTSOCK, 0 },
	[BAD_CLOSED] = { EBADF, 0 },
};

static int bound_inet(int type, struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)a, sizeof(*a)) < 0 || getsockname(fd, (struct sockaddr *)a, &len) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4) < 0)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static int bad_open(struct bad_fds *b)
{
	int sv[2];

	memset(b, 0, sizeof(*b));
	b->fd[BAD_UDP] = bound_inet(SOCK_DGRAM, &b->udp_addr);
	b->fd[BAD_LISTEN] = bound_inet(SOCK_STREAM, &b->listen_addr);
	b->fd[BAD_UNCONNECTED] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	b->fd[BAD_FILE] = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	b->fd[BAD_CLOSED] = CLOSED_FD;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		sv[0] = -errno;
		sv[1] = -1;
	}
	b->fd[BAD_UNIX] = sv[0];
	b->unix_other = sv[1];
	if (fcntl(CLOSED_FD, F_GETFD) >= 0 || errno != EBADF) {
		test_msg("fd %d is open", CLOSED_FD);
		return -EEXIST;
	}
	for (int k = 0; k < NR_BAD; k++)
		if (b->fd[k] < 0) {
			test_msg("cannot make a %s: %s", bad_names[k], strerror(-b->fd[k]));
			return b->fd[k];
		}
	return 0;
}

static void bad_close(struct bad_fds *b)
{
	for (int k = 0; k < NR_BAD; k++)
		if (b->fd[k] >= 0 && k != BAD_CLOSED)
			close(b->fd[k]);
	if (b->unix_other >= 0)
		close(b->unix_other);
}

/* The bad sockets must be as they were: the listener accepts, datagrams pass. */
static int bad_still_work(const struct bad_fds *b)
{
	int c, a, ret = 0;
	char byte = 'x';

	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -errno;
	if (connect(c, (const struct sockaddr *)&b->listen_addr, sizeof(b->listen_addr)) < 0 ||
	    (a = accept4(b->fd[BAD_LISTEN], NULL, NULL, SOCK_CLOEXEC)) < 0) {
		test_msg("the listening socket does not accept any more: %s", strerror(errno));
		close(c);
		return -EPROTO;
	}
	close(a);
	close(c);
	if (sendto(b->fd[BAD_UDP], &byte, 1, 0, (const struct sockaddr *)&b->udp_addr, sizeof(b->udp_addr)) != 1 ||
	    recv(b->fd[BAD_UDP], &byte, 1, MSG_DONTWAIT) != 1) {
		test_msg("the UDP socket does not work any more: %s", strerror(errno));
		ret = -EPROTO;
	}
	if (send(b->fd[BAD_UNIX], &byte, 1, 0) != 1 || recv(b->unix_other, &byte, 1, MSG_DONTWAIT) != 1) {
		test_msg("the unix socket does not work any more: %s", strerror(errno));
		ret = -EPROTO;
	}
	return ret;
}

static int errno_allowed(int kind, int status)
{
	for (const int *e = bad_errnos[kind]; *e; e++)
		if (status == -*e)
			return 1;
	return 0;
}

/* Check a batch's statuses: good slots 0, bad slots as @allowed says; the batch must fail. */
static int check_statuses(const char *step, int batch_ret, const struct libsoccr_conn *conns, const int *slot_bad,
			  int (*allowed)(int kind, int status), const char *const *names)
{
	int ret = 0;

	if (!batch_ret) {
		test_msg("%s: the batch returned 0 though some entries are bad", step);
		ret = -EPROTO;
	}
	for (int s = 0; s < NR_SLOTS; s++) {
		int kind = slot_bad[s], st = conns[s].status;

		if (kind < 0 && st) {
			test_msg("%s: good connection in slot %d failed: %s", step, s, strerror(-st));
			ret = -EPROTO;
		} else if (kind >= 0 && !allowed(kind, st)) {
			test_msg("%s: %s in slot %d: status %d (%s), not a fitting error", step, names[kind], s, st,
				 st ? strerror(-st) : "success");
			ret = -EPROTO;
		} else if (kind >= 0) {
			test_msg("%s: %s: %s", step, names[kind], strerror(-st));
		}
	}
	return ret;
}

static int dump_errno_allowed(int kind, int status)
{
	return errno_allowed(kind, status);
}

enum restore_bad {
	RBAD_UNIX_ADDR,
	RBAD_MIXED,
	RBAD_LISTEN,
	RBAD_SYN_SENT,
	RBAD_UNSENT,
	RBAD_NO_QUEUES
};

static const char *const restore_bad_names[] = {
	"unix address",	 "IPv4 to IPv6", "LISTEN state", "SYN_SENT state", "unsent part beyond the send queue",
	"queues missing"
};

static int restore_errno_allowed(int kind, int status)
{
	if (kind == RBAD_UNIX_ADDR || kind == RBAD_MIXED)
		return status == -EAFNOSUPPORT || status == -EINVAL;
	return status == -EINVAL || status == -ERANGE || status == -E2BIG || status == -EMSGSIZE;
}

/* good connections in slots 0, 2, 4, 7; -1 marks them */
static const int dump_slots[NR_SLOTS] = { -1,	    BAD_UDP, -1,       BAD_LISTEN, -1, BAD_UNCONNECTED,
					  BAD_UNIX, -1,	     BAD_FILE, BAD_CLOSED };
static const int restore_slots[NR_SLOTS] = { -1,	  RBAD_UNIX_ADDR, -1, RBAD_MIXED,  -1,
					     RBAD_LISTEN, RBAD_SYN_SENT,  -1, RBAD_UNSENT, RBAD_NO_QUEUES };

/* A restore entry that cannot be rebuilt, made from a good one (with a 4-tuple of its own). */
static void restore_bad_entry(struct libsoccr_conn *r, const struct libsoccr_conn *good, int kind, int k)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->data = good->data;
	r->src = good->src;
	r->dst = good->dst;
	r->queues = good->queues;
	r->dst.in4.sin_port = htons((uint16_t)(1000 + k));
	switch (kind) {
	case RBAD_UNIX_ADDR:
		r->src.any.sa_family = AF_UNIX;
		break;
	case RBAD_MIXED:
		r->dst.in6.sin6_family = AF_INET6;
		r->dst.in6.sin6_addr = in6addr_loopback;
		break;
	case RBAD_LISTEN:
		r->data.state = TCP_LISTEN;
		break;
	case RBAD_SYN_SENT:
		r->data.state = TCP_SYN_SENT;
		break;
	case RBAD_UNSENT:
		r->data.unsq_len = r->data.outq_len + 1;
		break;
	default:
		r->queues = NULL;
		break;
	}
}

static int dump_mixed(struct libsoccr_ctx *ctx, struct connfix *fix, const struct bad_fds *b,
		      struct libsoccr_conn *conns)
{
	uint32_t g = 0, inq, outq, unsent;
	int ret;

	for (int s = 0; s < NR_SLOTS; s++) {
		memset(&conns[s], 0, sizeof(conns[s]));
		conns[s].fd = dump_slots[s] < 0 ? connfix_fd(fix, g++) : b->fd[dump_slots[s]];
	}
	ret = check_statuses("dump", libsoccr_dump_batch(ctx, conns, NR_SLOTS), conns, dump_slots, dump_errno_allowed,
			     bad_names);
	for (int s = 0, g = 0; s < NR_SLOTS; s++) {
		if (dump_slots[s] >= 0) {
			conns[s].fd = -1; /* not ours to close */
			continue;
		}
		connfix_queues(fix, (uint32_t)g++, &inq, &outq, &unsent);
		if (conns[s].data.inq_len != inq || conns[s].data.outq_len != outq ||
		    conns[s].data.unsq_len != unsent) {
			test_msg("slot %d: dumped queues %u/%u/%u, the kernel said %u/%u/%u", s, conns[s].data.inq_len,
				 conns[s].data.outq_len, conns[s].data.unsq_len, inq, outq, unsent);
			ret = -EPROTO;
		}
	}
	return ret ?: bad_still_work(b);
}

static int close_good(struct libsoccr_ctx *ctx, struct connfix *fix, struct libsoccr_conn *conns)
{
	int ret = libsoccr_close_batch(ctx, conns, NR_SLOTS);

	if (ret) {
		test_msg("closing the dumped connections: %s", strerror(-ret));
		return ret;
	}
	for (uint32_t g = 0; g < NR_GOOD; g++)
		connfix_set_fd(fix, g, -1);
	return 0;
}

static int restore_mixed(struct libsoccr_ctx *ctx, struct connfix *fix, const struct libsoccr_conn *dumped,
			 struct libsoccr_conn *rs)
{
	uint32_t g = 0;
	int ret;

	for (int s = 0; s < NR_SLOTS; s++) {
		if (restore_slots[s] >= 0) {
			restore_bad_entry(&rs[s], &dumped[0], restore_slots[s], s);
			continue;
		}
		memset(&rs[s], 0, sizeof(rs[s]));
		rs[s].fd = -1;
		rs[s].data = dumped[s].data;
		rs[s].src = dumped[s].src;
		rs[s].dst = dumped[s].dst;
		rs[s].queues = dumped[s].queues;
	}
	ret = check_statuses("restore", libsoccr_restore_batch(ctx, rs, NR_SLOTS), rs, restore_slots,
			     restore_errno_allowed, restore_bad_names);
	for (int s = 0; s < NR_SLOTS; s++) {
		if (restore_slots[s] < 0) {
			if (rs[s].fd >= 0)
				connfix_set_fd(fix, g, rs[s].fd);
			g++;
		} else if (rs[s].fd >= 0) {
			test_msg("restore: %s in slot %d got fd %d", restore_bad_names[restore_slots[s]], s, rs[s].fd);
			close(rs[s].fd);
			rs[s].fd = -1;
			ret = -EPROTO;
		}
	}
	if (ret)
		return ret;
	ret = libsoccr_repair_off_batch(ctx, rs, NR_SLOTS);
	if (ret)
		test_msg("repair off of the restored connections: %s", strerror(-ret));
	return ret;
}

static int errors_pass(struct connfix *fix, uint32_t ctx_flags)
{
	struct libsoccr_conn conns[NR_SLOTS], rs[NR_SLOTS];
	struct libsoccr_ctx *ctx;
	struct bad_fds b;
	int ret;

	memset(conns, 0, sizeof(conns));
	ret = test_ctx_create(ctx_flags, 0, &ctx);
	if (ret)
		return ret;
	ret = bad_open(&b);
	ret = ret ?: connfix_queue_start(fix, CONNFIX_PEER_BYTES, CONNFIX_SENT_BYTES);
	ret = ret ?: connfix_lock(fix, NETLOCK_NFTABLES);
	ret = ret ?: connfix_queue_finish(fix, CONNFIX_UNSENT_BYTES);
	ret = ret ?: connfix_check_queues(fix);
	ret = ret ?: dump_mixed(ctx, fix, &b, conns);
	ret = ret ?: close_good(ctx, fix, conns);
	ret = ret ?: restore_mixed(ctx, fix, conns, rs);
	ret = ret ?: connfix_unlock(fix);
	ret = ret ?: connfix_verify(fix);
	test_msg("pass with %s: %s", cycle_backend(ctx), ret ? strerror(-ret) : "the good connections are intact");
	libsoccr_conns_free_queues(conns, NR_SLOTS);
	bad_close(&b);
	libsoccr_ctx_destroy(ctx);
	return ret;
}

int main(int argc, char **argv)
{
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = NR_GOOD };
	struct connfix *fix;
	int ret;

	(void)argc;
	test_init(argv[0]);
	ret = test_env_setup();
	if (ret)
		return ret;
	ret = connfix_create(&fo, &fix);
	if (ret)
		return test_fail("cannot make the connections");
	ret = errors_pass(fix, 0);
	ret = ret ?: errors_pass(fix, SOCCR_CTX_NO_URING);
	connfix_destroy(fix);
	if (ret)
		return test_fail("%s", strerror(-ret));
	test_msg("PASS");
	return TEST_PASS;
}
