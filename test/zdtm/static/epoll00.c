/*
 * epoll00: epoll instances watching sockets and another epoll instance.
 * The main instance (close-on-exec) holds: a TCP socket with data queued,
 * level-triggered, and the same socket again through a dup'ed fd with other
 * events and data; an idle socket with EPOLLRDHUP; an edge-triggered socket
 * whose edge was consumed; a EPOLLONESHOT socket that already fired (so it is
 * disarmed though readable) and one still armed; a socket watched for
 * EPOLLOUT only; a UDP socket; a TCP listener; and a second epoll instance
 * that watches a socket with data. A third instance watches nothing.
 *
 * After restore, /proc/self/fdinfo of each instance lists the same
 * registrations (tfd, events, data, and a target that is the file at tfd),
 * and events are delivered as the registrations say: level-triggered ones
 * every time, the edge-triggered one once per new edge, the disarmed one not
 * until re-armed, the armed one-shot once, each with its data; the nested
 * instance reports its own registration; the queued bytes are all there.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inetsk.h"
#include "zdtmtst.h"

#define QUEUED_BYTES 300
#define MAX_REGS 16

/* The registrations of the main instance, by what their data says. */
enum reg {
	R_LEVEL,  /* socket with data, EPOLLIN */
	R_DUP,	  /* the same socket through a dup'ed fd, EPOLLIN | EPOLLOUT */
	R_IDLE,	  /* nothing to read yet, EPOLLIN | EPOLLRDHUP */
	R_EDGE,	  /* EPOLLIN | EPOLLET, its edge consumed before the checkpoint */
	R_FIRED,  /* EPOLLIN | EPOLLONESHOT, fired: disarmed */
	R_ARMED,  /* EPOLLIN | EPOLLONESHOT, not fired yet */
	R_OUT,	  /* EPOLLOUT */
	R_UDP,	  /* UDP socket, EPOLLIN */
	R_LISTEN, /* TCP listener, EPOLLIN */
	R_NESTED, /* the second epoll instance, EPOLLIN */
	NR_REGS,
};

static const char *const reg_names[NR_REGS] = {
	"level", "dup", "idle", "edge", "fired one-shot", "armed one-shot", "out", "udp", "listener", "nested epoll",
};

#define REG_DATA(r) (0xe9000000c0de0000ull | (r))
#define NESTED_DATA 0x5eedf00d12345678ull

struct pair {
	int fd[2]; /* watched, driver */
	struct tsk_stream out, in;
};

static struct pair level, idle, edge, fired, armed, outp, nested_src;
static int ep_main, ep_nested, ep_empty, dup_fd, udp_fd, udp_driver, lfd;
static struct tsk_addr udp_addr, listen_addr;

/* One line of an epoll fd's fdinfo. */
struct tfd_line {
	int tfd;
	unsigned int events;
	unsigned long long data;
	unsigned long ino;
};

struct epoll_info {
	char flags[32];
	int n;
	struct tfd_line lines[MAX_REGS];
};

static struct epoll_info info_before[3];

static int pair_open(int lfd_, struct pair *p, int id, size_t queued)
{
	if (tsk_pair(lfd_, TSK_INET4, 0, &p->fd[0], &p->fd[1])) {
		fail("pair %d", id);
		return -1;
	}
	tsk_stream_init(&p->out, id);
	tsk_stream_init(&p->in, id);
	if (queued && (tsk_send_stream(p->fd[1], &p->out, queued, TSK_TIMEOUT_MS) ||
		       tsk_wait_inq(p->fd[0], queued, TSK_TIMEOUT_MS) < 0)) {
		fail("pair %d: queueing %zu bytes", id, queued);
		return -1;
	}
	return 0;
}

static int reg_add(int ep, int fd, unsigned int events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		fail("epoll_ctl(ADD) of fd %d", fd);
		return -1;
	}
	return 0;
}

/* Reads /proc/self/fdinfo/EP: the flags and the tfd lines, sorted by tfd. */
static int epoll_info_read(int ep, struct epoll_info *info)
{
	char path[64], line[256];
	FILE *f;
	int i;

	memset(info, 0, sizeof(*info));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	f = fopen(path, "r");
	if (!f) {
		fail("open %s", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct tfd_line t;
		long long pos;
		unsigned int sdev;

		if (!strncmp(line, "flags:", 6)) {
			sscanf(line + 6, "%31s", info->flags);
			continue;
		}
		if (sscanf(line, "tfd: %d events: %x data: %llx pos:%lli ino:%lx sdev:%x", &t.tfd, &t.events, &t.data,
			   &pos, &t.ino, &sdev) != 6)
			continue;
		if (info->n == MAX_REGS) {
			fclose(f);
			fail("%s: more than %d registrations", path, MAX_REGS);
			return -1;
		}
		/* insertion by tfd: the kernel lists them by file address, which restore changes */
		for (i = info->n++; i && info->lines[i - 1].tfd > t.tfd; i--)
			info->lines[i] = info->lines[i - 1];
		info->lines[i] = t;
	}
	fclose(f);
	return 0;
}

/* The registrations are as before, and each one's target is the file now at its tfd. */
static int epoll_info_check(int ep, const char *what, const struct epoll_info *before)
{
	struct epoll_info now;

	if (epoll_info_read(ep, &now))
		return -1;
	if (strcmp(now.flags, before->flags)) {
		fail("%s: flags %s, were %s", what, now.flags, before->flags);
		return -1;
	}
	if (now.n != before->n) {
		fail("%s: %d registrations, were %d", what, now.n, before->n);
		return -1;
	}
	for (int i = 0; i < now.n; i++) {
		const struct tfd_line *a = &now.lines[i], *b = &before->lines[i];
		struct stat st;

		if (a->tfd != b->tfd || a->events != b->events || a->data != b->data) {
			fail("%s: tfd %d events %#x data %#llx, was tfd %d events %#x data %#llx", what, a->tfd,
			     a->events, a->data, b->tfd, b->events, b->data);
			return -1;
		}
		if (fstat(a->tfd, &st) || st.st_ino != a->ino) {
			fail("%s: tfd %d watches inode %lu, fd %d is inode %lu", what, a->tfd, a->ino, a->tfd,
			     (unsigned long)st.st_ino);
			return -1;
		}
	}
	return 0;
}

static int setup(void)
{
	struct pair *pairs[] = { &level, &idle, &edge, &fired, &armed, &outp, &nested_src };
	size_t queued[] = { QUEUED_BYTES, 0, QUEUED_BYTES, QUEUED_BYTES, 0, 0, QUEUED_BYTES };
	struct epoll_event ev[NR_REGS];
	int n;

	lfd = tsk_listener(TSK_INET4, 8, 0);
	if (lfd < 0 || tsk_sockname(lfd, &listen_addr)) {
		fail("listener");
		return -1;
	}
	for (int i = 0; i < (int)(sizeof(pairs) / sizeof(pairs[0])); i++)
		if (pair_open(lfd, pairs[i], i, queued[i]))
			return -1;
	udp_fd = tsk_socket(TSK_INET4, SOCK_DGRAM);
	udp_driver = tsk_socket(TSK_INET4, SOCK_DGRAM);
	/* the driver is bound too: unbound sockets are socket_udp4's subject, not this test's */
	if (udp_fd < 0 || udp_driver < 0 || tsk_bind_loopback(udp_fd, TSK_INET4, &udp_addr) ||
	    tsk_bind_loopback(udp_driver, TSK_INET4, NULL)) {
		fail("udp sockets");
		return -1;
	}
	dup_fd = dup(level.fd[0]);
	ep_main = epoll_create1(EPOLL_CLOEXEC);
	ep_nested = epoll_create1(0);
	ep_empty = epoll_create1(0);
	if (dup_fd < 0 || ep_main < 0 || ep_nested < 0 || ep_empty < 0) {
		fail("dup and epoll_create1");
		return -1;
	}
	if (reg_add(ep_nested, nested_src.fd[0], EPOLLIN, NESTED_DATA) ||
	    reg_add(ep_main, level.fd[0], EPOLLIN, REG_DATA(R_LEVEL)) ||
	    reg_add(ep_main, dup_fd, EPOLLIN | EPOLLOUT, REG_DATA(R_DUP)) ||
	    reg_add(ep_main, idle.fd[0], EPOLLIN | EPOLLRDHUP, REG_DATA(R_IDLE)) ||
	    reg_add(ep_main, edge.fd[0], EPOLLIN | EPOLLET, REG_DATA(R_EDGE)) ||
	    reg_add(ep_main, fired.fd[0], EPOLLIN | EPOLLONESHOT, REG_DATA(R_FIRED)) ||
	    reg_add(ep_main, armed.fd[0], EPOLLIN | EPOLLONESHOT, REG_DATA(R_ARMED)) ||
	    reg_add(ep_main, outp.fd[0], EPOLLOUT, REG_DATA(R_OUT)) ||
	    reg_add(ep_main, udp_fd, EPOLLIN, REG_DATA(R_UDP)) || reg_add(ep_main, lfd, EPOLLIN, REG_DATA(R_LISTEN)) ||
	    reg_add(ep_main, ep_nested, EPOLLIN, REG_DATA(R_NESTED)))
		return -1;
	/* consume the edge and fire the one-shot */
	n = epoll_wait(ep_main, ev, NR_REGS, 0);
	if (n < 0) {
		fail("epoll_wait");
		return -1;
	}
	if (epoll_info_read(ep_main, &info_before[0]) || epoll_info_read(ep_nested, &info_before[1]) ||
	    epoll_info_read(ep_empty, &info_before[2]))
		return -1;
	if (info_before[0].n != NR_REGS || info_before[1].n != 1 || info_before[2].n) {
		fail("fdinfo shows %d, %d, %d registrations, expected %d, 1, 0", info_before[0].n, info_before[1].n,
		     info_before[2].n, NR_REGS);
		return -1;
	}
	return 0;
}

/*
 * One epoll_wait() on the main instance: the registrations in want must be
 * reported with their events, those in maybe may be, no other.
 */
static int expect_events(const char *step, const unsigned int want[NR_REGS], unsigned int maybe)
{
	struct epoll_event ev[NR_REGS + 1];
	unsigned int got[NR_REGS] = { 0 };
	int n;

	n = epoll_wait(ep_main, ev, NR_REGS + 1, 0);
	if (n < 0) {
		fail("%s: epoll_wait", step);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint64_t r = ev[i].data.u64 - REG_DATA(0);

		if ((ev[i].data.u64 & ~0xffffull) != REG_DATA(0) || r >= NR_REGS) {
			fail("%s: an event with data %#llx, which no registration has", step,
			     (unsigned long long)ev[i].data.u64);
			return -1;
		}
		got[r] = ev[i].events;
	}
	for (int r = 0; r < NR_REGS; r++) {
		if (got[r] == want[r] || (!want[r] && (maybe & (1u << r))))
			continue;
		fail("%s: %s reported events %#x, expected %#x", step, reg_names[r], got[r], want[r]);
		return -1;
	}
	return 0;
}

static int poke(void)
{
	char byte = 'x';
	int cli;

	if (tsk_send_stream(idle.fd[1], &idle.out, 10, TSK_TIMEOUT_MS) ||
	    tsk_send_stream(edge.fd[1], &edge.out, 10, TSK_TIMEOUT_MS) ||
	    tsk_send_stream(armed.fd[1], &armed.out, 10, TSK_TIMEOUT_MS) ||
	    sendto(udp_driver, &byte, 1, 0, (struct sockaddr *)&udp_addr.ss, udp_addr.len) != 1) {
		fail("writing to the watched sockets");
		return -1;
	}
	cli = tsk_connect(TSK_INET4, &listen_addr, 0);
	if (cli < 0) {
		fail("connecting to the listener");
		return -1;
	}
	/* everything sent on loopback has arrived once the listener has its connection */
	if (tsk_wait_inq(idle.fd[0], 10, TSK_TIMEOUT_MS) < 0 || tsk_wait_inq(armed.fd[0], 10, TSK_TIMEOUT_MS) < 0 ||
	    tsk_wait_inq(udp_fd, 1, TSK_TIMEOUT_MS) < 0) {
		fail("the writes did not arrive");
		return -1;
	}
	return 0;
}

static int events_check(void)
{
	unsigned int want[NR_REGS] = {
		[R_LEVEL] = EPOLLIN,
		[R_DUP] = EPOLLIN | EPOLLOUT,
		[R_OUT] = EPOLLOUT,
		[R_NESTED] = EPOLLIN,
	};
	struct epoll_event ev;
	struct epoll_event rearm = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = REG_DATA(R_FIRED) };

	/* restoring may re-add the edge-triggered registration with its data pending: one report allowed */
	if (expect_events("after restore", want, 1u << R_EDGE) || expect_events("again", want, 0))
		return -1;
	if (poke())
		return -1;
	want[R_IDLE] = want[R_EDGE] = want[R_ARMED] = want[R_UDP] = want[R_LISTEN] = EPOLLIN;
	if (expect_events("after new data", want, 0))
		return -1;
	want[R_EDGE] = want[R_ARMED] = 0;
	if (expect_events("after new data, again", want, 0))
		return -1;
	if (epoll_ctl(ep_main, EPOLL_CTL_MOD, fired.fd[0], &rearm)) {
		fail("re-arming the fired one-shot");
		return -1;
	}
	want[R_FIRED] = EPOLLIN;
	if (expect_events("re-armed", want, 0))
		return -1;
	want[R_FIRED] = 0;
	if (expect_events("re-armed, again", want, 0))
		return -1;
	if (epoll_wait(ep_nested, &ev, 1, 0) != 1 || ev.data.u64 != NESTED_DATA || ev.events != EPOLLIN) {
		fail("the nested instance does not report its socket");
		return -1;
	}
	return 0;
}

/* The bytes queued before the checkpoint are there, once. */
static int data_check(void)
{
	struct pair *with_data[] = { &level, &edge, &fired, &nested_src };

	for (int i = 0; i < (int)(sizeof(with_data) / sizeof(with_data[0])); i++) {
		struct pair *p = with_data[i];

		if (tsk_recv_stream(p->fd[0], &p->in, p->out.off, TSK_TIMEOUT_MS)) {
			fail("pair %u: reading its %llu bytes", p->in.id, (unsigned long long)p->out.off);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (epoll_info_check(ep_main, "main instance", &info_before[0]) ||
	    epoll_info_check(ep_nested, "nested instance", &info_before[1]) ||
	    epoll_info_check(ep_empty, "empty instance", &info_before[2]))
		return 1;
	if (events_check() || data_check())
		return 1;
	pass();
	return 0;
}
