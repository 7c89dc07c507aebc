/*
 * worker-netns.c: the worker threads act in the caller's network namespace at call time, and
 * block every signal.
 *
 * The context is made in network namespace A (two workers, chunks of one connection, so both take
 * connections). Its worker threads must block every signal a thread can block (read from
 * /proc/self/task/TID/status; glibc keeps its two internal ones). Then a thread that entered a
 * new namespace B restores a batch of connections (hand-made images, rebuilt in repair mode): every
 * new socket must belong to B (SIOCGSKNS). Then the main thread, still in A, restores another
 * batch: its sockets must be in A again. With io_uring and with plain syscalls.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "testutil.h"

#define NR_CONNS 32

static int netns_ino(int fd, ino_t *ino)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

static int self_netns(ino_t *ino)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return -errno;
	*ino = st.st_ino;
	return 0;
}

static int socket_netns(int fd, ino_t *ino)
{
	int nsfd = ioctl(fd, SIOCGSKNS);
	int ret;

	if (nsfd < 0)
		return -errno;
	ret = netns_ino(nsfd, ino);
	close(nsfd);
	return ret;
}

/* Every signal blocked in every thread but the main one (SIGKILL, SIGSTOP and glibc's 32, 33 cannot be). */
static int check_worker_sigmasks(void)
{
	pid_t me = getpid();
	struct dirent *de;
	unsigned int threads = 0;
	int ret = 0;
	DIR *d;

	d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		unsigned long long blk = 0;
		char path[300], line[256];
		FILE *f;

		if (de->d_name[0] == '.' || atoi(de->d_name) == me)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "SigBlk: %llx", &blk) == 1)
				break;
		fclose(f);
		threads++;
		for (int sig = 1; sig <= 64; sig++) {
			if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33)
				continue;
			if (!(blk & (1ull << (sig - 1)))) {
				test_msg("worker thread %s does not block signal %d (SigBlk %016llx)", de->d_name, sig,
					 blk);
				ret = -EPROTO;
				break;
			}
		}
	}
	closedir(d);
	if (!ret && !threads) {
		test_msg("no worker thread found");
		ret = -ESRCH;
	}
	return ret;
}

static void make_conn(struct libsoccr_conn *c, unsigned int i, uint16_t base, char *queues)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->src.in4.sin_family = AF_INET;
	c->src.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->src.in4.sin_port = htons(base + i);
	c->dst.in4.sin_family = AF_INET;
	c->dst.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->dst.in4.sin_port = htons(9000);
	c->data.state = TCP_ESTABLISHED;
	c->data.inq_len = 100;
	c->data.outq_len = 200;
	c->data.inq_seq = 5000 + i;
	c->data.outq_seq = 7000 + i;
	c->data.mss_clamp = 536;
	c->queues = queues;
}

/* Restore a batch from the calling thread; every socket must be in the caller's namespace. */
static int restore_here(struct libsoccr_ctx *ctx, uint16_t base, const char *where)
{
	static char queues[300];
	struct libsoccr_conn conns[NR_CONNS];
	unsigned int wrong = 0;
	ino_t mine = 0, ino = 0;
	int ret, close_ret;

	ret = self_netns(&mine);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < NR_CONNS; i++)
		make_conn(&conns[i], i, base, queues);
	ret = libsoccr_restore_batch(ctx, conns, NR_CONNS);
	if (ret)
		test_msg("%s: restore: %s", where, strerror(-ret));
	for (unsigned int i = 0; !ret && i < NR_CONNS; i++) {
		ret = socket_netns(conns[i].fd, &ino);
		if (!ret && ino != mine && !wrong++)
			test_msg("%s: conn %u: socket in netns %lu, the caller is in %lu", where, i, (unsigned long)ino,
				 (unsigned long)mine);
	}
	if (!ret && wrong) {
		test_msg("%s: %u of %u sockets are not in the caller's network namespace", where, wrong, NR_CONNS);
		ret = -EPROTO;
	}
	close_ret = libsoccr_close_batch(ctx, conns, NR_CONNS);
	return ret ?: close_ret;
}

struct in_b {
	struct libsoccr_ctx *ctx;
	uint16_t base;
	int ret;
};

/* A thread enters a new network namespace of its own (lo up) and restores there. */
static void *restore_in_new_netns(void *arg)
{
	struct in_b *b = arg;
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd;

	if (unshare(CLONE_NEWNET) < 0) {
		b->ret = -errno;
		return NULL;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		b->ret = -errno;
		goto out_close;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		b->ret = -errno;
		goto out_close;
	}
	b->ret = restore_here(b->ctx, b->base, "thread in netns B");
out_close:
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int netns_pass(uint32_t ctx_flags, void *arg)
{
	uint16_t base = ctx_flags & SOCCR_CTX_NO_URING ? 21000 : 20000;
	struct libsoccr_ctx_opts opts = { .size = sizeof(opts), .flags = ctx_flags, .workers = 2, .chunk = 1 };
	struct in_b b = { .base = base };
	pthread_t tid;
	int ret;

	(void)arg;
	ret = libsoccr_ctx_create(&opts, &b.ctx);
	if (ret)
		return ret;
	ret = check_worker_sigmasks();
	if (!ret) {
		ret = pthread_create(&tid, NULL, restore_in_new_netns, &b);
		ret = ret ? -ret : -pthread_join(tid, NULL);
		ret = ret ?: b.ret;
	}
	ret = ret ?: restore_here(b.ctx, base + NR_CONNS, "main thread in netns A");
	test_msg("%s: %s", libsoccr_backend_name(libsoccr_ctx_backend(b.ctx)),
		 ret ? strerror(-ret) : "workers block signals; sockets made in the caller's namespace, B then A");
	libsoccr_ctx_destroy(b.ctx);
	return ret;
}

int main(int argc, char **argv)
{
	int ret;

	(void)argc;
	test_init(argv[0]);
	ret = test_env_setup();
	if (ret)
		return ret;
	return test_both_backends(netns_pass, NULL);
}
