/*
 * criu dump --tcp-established --leave-running of a child holding a few hundred inet sockets
 * (listeners, both ends of TCP connections, UDP, IPv4 and IPv6, one bound to a device), each with
 * options of its own: timeouts, linger, low-water mark, mark, priority, TTL, keepalive and its
 * TCP timers, buffer sizes, reuse, broadcast, no-check, packet info. Sockets enough that the
 * dump reads their options in many chunks of its batch.
 *
 * Every socket's entry in files.img must hold what plain getsockopt() calls on the child's
 * sockets give (through pidfd_getfd copies, before the dump), except the keepalive timers of a
 * connection without keepalive, which libsoccr does not record. Afterwards the child runs on
 * and every connection carries data both ways.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "dump-test.h"
#include "image.h"

#include "fdinfo.pb-c.h"

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif

#define NR_CONN4 90 /* connections to the IPv4 listener: both ends are the child's */
#define NR_CONN6 30
#define NR_UDP 40
#define MAX_SOCKS (1 + 2 * NR_CONN4 + 1 + 2 * NR_CONN6 + NR_UDP)
#define MAX_FD 4096
#define READY_FD 3

/* What a socket's entry must hold, read with plain getsockopt(). */
struct want {
	uint32_t ino;
	int type;
	int family;
	int sndbuf, rcvbuf, reuseaddr, reuseport, priority, rcvlowat, mark, broadcast, keepalive;
	int oobinline, dontroute, no_check, buf_lock, keepcnt, keepidle, keepintvl, tos, ttl, freebind, pktinfo;
	struct timeval snd_tmo, rcv_tmo;
	struct linger linger;
	char dev[IFNAMSIZ];
	bool conn; /* a TCP connection */
	bool seen;
};

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

/* Options of its own for the child's socket number @i. */
static int child_set_opts(int fd, int family, int type, unsigned int i)
{
	struct timeval snd = { .tv_sec = i % 5, .tv_usec = 20000 * (i % 40) };
	struct timeval rcv = { .tv_sec = 1 + i % 3, .tv_usec = 0 };
	struct linger lg = { .l_onoff = (int)(i % 2), .l_linger = (int)(i % 37) };
	int ip = family == AF_INET ? SOL_IP : SOL_IPV6;
	int err = 0;

	err |= set_int(fd, SOL_SOCKET, SO_RCVLOWAT, 1 + (int)(i % 50));
	err |= set_int(fd, SOL_SOCKET, SO_MARK, 100 + (int)i);
	err |= set_int(fd, SOL_SOCKET, SO_PRIORITY, (int)(i % 7));
	err |= set_int(fd, SOL_SOCKET, SO_REUSEPORT, (int)(i % 3 == 0));
	err |= set_int(fd, SOL_SOCKET, SO_OOBINLINE, (int)(i % 4 == 0));
	err |= set_int(fd, SOL_SOCKET, SO_DONTROUTE, (int)(i % 5 == 0));
	err |= set_int(fd, SOL_SOCKET, SO_KEEPALIVE, (int)(i % 2));
	err |= set_int(fd, ip, family == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS, 2 + (int)(i % 200));
	if (i % 3 == 1)
		err |= set_int(fd, SOL_SOCKET, SO_SNDBUF, 8192 + 512 * (int)i);
	if (i % 3 == 2)
		err |= set_int(fd, SOL_SOCKET, SO_RCVBUF, 8192 + 256 * (int)i);
	err |= setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
	err |= setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
	err |= setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (type == SOCK_STREAM) {
		err |= set_int(fd, SOL_TCP, TCP_KEEPIDLE, 30 + (int)i);
		err |= set_int(fd, SOL_TCP, TCP_KEEPINTVL, 5 + (int)(i % 20));
		err |= set_int(fd, SOL_TCP, TCP_KEEPCNT, 1 + (int)(i % 9));
	} else {
		err |= set_int(fd, SOL_SOCKET, SO_BROADCAST, (int)(i % 2));
		err |= set_int(fd, SOL_SOCKET, SO_NO_CHECK, (int)(i % 3 == 0));
		err |= set_int(fd, ip, family == AF_INET ? IP_PKTINFO : IPV6_RECVPKTINFO, (int)(i % 2));
		if (i % 10 == 0)
			err |= setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2);
	}
	return err ? -1 : 0;
}

static socklen_t loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(struct sockaddr_in);
	}
	((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	return sizeof(struct sockaddr_in6);
}

/* Both ends of the child's connections */
struct pair {
	int c, a;
};

static struct pair pairs[NR_CONN4 + NR_CONN6];
static unsigned int nr_pairs;

/* A listener and @n connections to it, every end with options of its own. */
static int child_tcp(int family, unsigned int n, unsigned int *i)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, &ss);
	int ls = socket(family, SOCK_STREAM, 0);

	if (ls < 0 || set_int(ls, SOL_SOCKET, SO_REUSEADDR, 1) || bind(ls, (struct sockaddr *)&ss, len) ||
	    listen(ls, (int)n) || getsockname(ls, (struct sockaddr *)&ss, &len) ||
	    child_set_opts(ls, family, SOCK_STREAM, (*i)++))
		return -1;
	for (unsigned int k = 0; k < n; k++) {
		int c = socket(family, SOCK_STREAM, 0), a;

		if (c < 0 || (k % 4 == 0 && set_int(c, SOL_SOCKET, SO_REUSEADDR, 1)) ||
		    connect(c, (struct sockaddr *)&ss, len) || (a = accept(ls, NULL, NULL)) < 0 ||
		    child_set_opts(c, family, SOCK_STREAM, (*i)++) || child_set_opts(a, family, SOCK_STREAM, (*i)++))
			return -1;
		pairs[nr_pairs++] = (struct pair){ .c = c, .a = a };
	}
	return 0;
}

/* One message each way on every connection: more than any low-water mark set. */
static int child_round_trips(void)
{
	char out[64], in[64];

	for (unsigned int k = 0; k < nr_pairs; k++) {
		memset(out, 'a' + k % 26, sizeof(out));
		if (send(pairs[k].c, out, sizeof(out), 0) != sizeof(out) ||
		    recv(pairs[k].a, in, sizeof(in), MSG_WAITALL) != sizeof(in) || memcmp(in, out, sizeof(in)) ||
		    send(pairs[k].a, in, sizeof(in), 0) != sizeof(in) ||
		    recv(pairs[k].c, out, sizeof(out), MSG_WAITALL) != sizeof(out) || memcmp(in, out, sizeof(in)))
			return -1;
	}
	return 0;
}

/* The dumped child: its sockets, then a round trip on every connection when asked (SIGUSR1). */
static void __attribute__((noreturn)) child_main(void)
{
	struct sockaddr_storage ss;
	unsigned int i = 0;
	sigset_t set;
	char ok = 'O';

	dump_child_quiet_stdio(READY_FD);
	if (child_tcp(AF_INET, NR_CONN4, &i) || child_tcp(AF_INET6, NR_CONN6, &i))
		_exit(2);
	for (unsigned int k = 0; k < NR_UDP; k++) {
		int family = k % 2 ? AF_INET6 : AF_INET;
		socklen_t len = loopback(family, &ss);
		int u = socket(family, SOCK_DGRAM, 0);

		if (u < 0 || bind(u, (struct sockaddr *)&ss, len) || child_set_opts(u, family, SOCK_DGRAM, i++))
			_exit(2);
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) || write(READY_FD, &ok, 1) != 1)
		_exit(2);
	close(READY_FD);
	for (;;)
		if (sigwaitinfo(&set, NULL) > 0)
			_exit(child_round_trips() ? 3 : 0);
}

static void get_int(int fd, int level, int name, int *v)
{
	socklen_t len = sizeof(*v);

	*v = 0;
	if (getsockopt(fd, level, name, v, &len))
		*v = -1;
}

/* What getsockopt() says of the child's socket at @fd (a pidfd_getfd copy). */
static void read_want(int fd, struct want *w)
{
	int ip, ttl_name;
	socklen_t len;

	get_int(fd, SOL_SOCKET, SO_TYPE, &w->type);
	get_int(fd, SOL_SOCKET, SO_DOMAIN, &w->family);
	ip = w->family == AF_INET ? SOL_IP : SOL_IPV6;
	ttl_name = w->family == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS;
	get_int(fd, SOL_SOCKET, SO_SNDBUF, &w->sndbuf);
	get_int(fd, SOL_SOCKET, SO_RCVBUF, &w->rcvbuf);
	get_int(fd, SOL_SOCKET, SO_REUSEADDR, &w->reuseaddr);
	get_int(fd, SOL_SOCKET, SO_REUSEPORT, &w->reuseport);
	get_int(fd, SOL_SOCKET, SO_PRIORITY, &w->priority);
	get_int(fd, SOL_SOCKET, SO_RCVLOWAT, &w->rcvlowat);
	get_int(fd, SOL_SOCKET, SO_MARK, &w->mark);
	get_int(fd, SOL_SOCKET, SO_BROADCAST, &w->broadcast);
	get_int(fd, SOL_SOCKET, SO_KEEPALIVE, &w->keepalive);
	get_int(fd, SOL_SOCKET, SO_OOBINLINE, &w->oobinline);
	get_int(fd, SOL_SOCKET, SO_DONTROUTE, &w->dontroute);
	get_int(fd, SOL_SOCKET, SO_NO_CHECK, &w->no_check);
	get_int(fd, SOL_SOCKET, SO_BUF_LOCK, &w->buf_lock);
	get_int(fd, ip, w->family == AF_INET ? IP_TOS : IPV6_TCLASS, &w->tos);
	get_int(fd, ip, ttl_name, &w->ttl);
	get_int(fd, ip, w->family == AF_INET ? IP_FREEBIND : IPV6_FREEBIND, &w->freebind);
	if (w->type == SOCK_STREAM) {
		get_int(fd, SOL_TCP, TCP_KEEPCNT, &w->keepcnt);
		get_int(fd, SOL_TCP, TCP_KEEPIDLE, &w->keepidle);
		get_int(fd, SOL_TCP, TCP_KEEPINTVL, &w->keepintvl);
	} else {
		get_int(fd, ip, w->family == AF_INET ? IP_PKTINFO : IPV6_RECVPKTINFO, &w->pktinfo);
	}
	len = sizeof(w->snd_tmo);
	getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &w->snd_tmo, &len);
	len = sizeof(w->rcv_tmo);
	getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &w->rcv_tmo, &len);
	len = sizeof(w->linger);
	getsockopt(fd, SOL_SOCKET, SO_LINGER, &w->linger, &len);
	len = sizeof(w->dev);
	getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, w->dev, &len);
	len = sizeof(struct sockaddr_storage);
	w->conn = w->type == SOCK_STREAM && !getpeername(fd, (struct sockaddr *)&(struct sockaddr_storage){ 0 }, &len);
	if (w->conn && !w->keepalive)
		w->keepcnt = w->keepidle = w->keepintvl = 0; /* libsoccr records them with keepalive on */
}

/* Every socket of the child, by inode, with what its entry must hold. */
static int collect_wants(pid_t pid, struct want *wants, size_t *nr)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	char path[64];

	if (pidfd < 0)
		return -errno;
	*nr = 0;
	for (int fd = 0; fd < MAX_FD && *nr < MAX_SOCKS; fd++) {
		struct stat st;
		int copy;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		if (stat(path, &st) || !S_ISSOCK(st.st_mode))
			continue;
		copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		if (copy < 0)
			continue;
		memset(&wants[*nr], 0, sizeof(wants[0]));
		wants[*nr].ino = (uint32_t)st.st_ino;
		read_want(copy, &wants[(*nr)++]);
		close(copy);
	}
	close(pidfd);
	return 0;
}

#define CHECK(field, value)                                                                              \
	do {                                                                                             \
		if ((int64_t)(field) != (int64_t)(value) && (*bad)++ < 12)                               \
			fprintf(stderr, "socket %u: %s is %lld, getsockopt says %lld\n", w->ino, #field, \
				(long long)(field), (long long)(value));                                 \
	} while (0)

static void check_entry(const InetSkEntry *ie, const struct want *w, int *bad)
{
	const SkOptsEntry *o = ie->opts;
	const IpOptsEntry *ip = ie->ip_opts;

	CHECK(o->so_sndbuf, w->sndbuf);
	CHECK(o->so_rcvbuf, w->rcvbuf);
	CHECK((uint64_t)o->so_snd_tmo_sec * 1000000 + o->so_snd_tmo_usec,
	      (uint64_t)w->snd_tmo.tv_sec * 1000000 + w->snd_tmo.tv_usec);
	CHECK((uint64_t)o->so_rcv_tmo_sec * 1000000 + o->so_rcv_tmo_usec,
	      (uint64_t)w->rcv_tmo.tv_sec * 1000000 + w->rcv_tmo.tv_usec);
	CHECK(o->reuseaddr, w->reuseaddr != 0);
	CHECK(o->so_reuseport, w->reuseport != 0);
	CHECK(o->so_priority, w->priority);
	CHECK(o->so_rcvlowat, w->rcvlowat);
	CHECK(o->so_mark, w->mark);
	CHECK(o->so_broadcast, w->broadcast != 0);
	CHECK(o->so_keepalive, w->keepalive != 0);
	CHECK(o->so_oobinline, w->oobinline != 0);
	CHECK(o->so_dontroute, w->dontroute != 0);
	CHECK(o->so_no_check, w->no_check != 0);
	CHECK(o->so_buf_lock, w->buf_lock);
	CHECK(o->has_so_linger ? o->so_linger + 1 : 0, w->linger.l_onoff ? w->linger.l_linger + 1 : 0);
	CHECK(o->has_tcp_keepcnt ? o->tcp_keepcnt : 0, w->keepcnt);
	CHECK(o->has_tcp_keepidle ? o->tcp_keepidle : 0, w->keepidle);
	CHECK(o->has_tcp_keepintvl ? o->tcp_keepintvl : 0, w->keepintvl);
	CHECK(ip ? (int64_t)ip->tos : -1, w->tos);
	CHECK(ip ? (int64_t)ip->ttl : -1, w->ttl);
	CHECK(ip ? ip->freebind : -1, w->freebind != 0);
	CHECK(ip && ip->has_pktinfo ? ip->pktinfo : 0, w->pktinfo != 0);
	if (strcmp(o->so_bound_dev ?: "", w->dev) && (*bad)++ < 12)
		fprintf(stderr, "socket %u: bound to \"%s\", getsockopt says \"%s\"\n", w->ino, o->so_bound_dev ?: "",
			w->dev);
}

/* Every inet entry of files.img against its socket; every socket must have one. */
static int check_files(const char *dir, struct want *wants, size_t nr)
{
	struct cr_img *img;
	int dirfd, ret, bad = 0;
	size_t seen = 0;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_FILES, 0);
	close(dirfd);
	if (ret)
		return ret;
	for (;;) {
		FileEntry *fe = NULL;

		ret = img_read_entry(img, (void **)&fe);
		if (ret || !fe)
			break;
		for (size_t i = 0; fe->isk && i < nr; i++) {
			if (wants[i].ino != fe->isk->ino)
				continue;
			check_entry(fe->isk, &wants[i], &bad);
			seen += !wants[i].seen;
			wants[i].seen = true;
		}
		img_free_entry(fe);
	}
	if (img_close(img) && !ret)
		ret = -EIO;
	if (!ret && seen != nr) {
		fprintf(stderr, "%zu of the child's %zu sockets in files.img\n", seen, nr);
		bad++;
	}
	if (!ret && bad)
		fprintf(stderr, "%d option(s) differ\n", bad);
	return ret ?: (bad ? -EIO : 0);
}

static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static pid_t start_child(void)
{
	int ready[2];
	pid_t pid;
	char ok = 0;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		if (dup2(ready[1], READY_FD) != READY_FD)
			_exit(2);
		child_main();
	}
	close(ready[1]);
	if (pid > 0 && (read(ready[0], &ok, 1) != 1 || ok != 'O')) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

int main(void)
{
	static struct want wants[MAX_SOCKS];
	char tmp[256], dir[300], log[320];
	struct run_result r = { 0 };
	size_t nr = 0;
	int status, ret;
	pid_t pid;

	if (geteuid())
		return fprintf(stderr, "SKIP: needs root\n"), 77;
	if (unshare(CLONE_NEWNET) || lo_up())
		return fprintf(stderr, "SKIP: no network namespace of its own\n"), 77;
	if (test_mkdtemp(tmp, sizeof(tmp), "sockopts"))
		return fprintf(stderr, "FAIL: no scratch directory\n"), 1;
	snprintf(dir, sizeof(dir), "%s/img", tmp);
	snprintf(log, sizeof(log), "%s/dump.log", dir);
	if (mkdir(dir, 0700))
		return fprintf(stderr, "FAIL: mkdir %s: %s\n", dir, strerror(errno)), 1;
	pid = start_child();
	if (pid < 0)
		return fprintf(stderr, "FAIL: the child could not make its sockets\n"), 1;
	ret = collect_wants(pid, wants, &nr);
	if (!ret && nr != MAX_SOCKS)
		ret = -ENOENT;
	if (!ret)
		ret = dump_run_criu_args(&r, tmp, pid, dir, "dump.log",
					 (const char *const[]){ "--tcp-established", "--leave-running", NULL });
	if (!ret && r.exit_code)
		ret = -ECHILD;
	if (ret)
		fprintf(stderr, "FAIL: %zu sockets, dump: %s (exit %d)\n%s\n", nr, strerror(-ret), r.exit_code,
			r.err ?: "");
	test_run_free(&r);
	ret = ret ?: check_files(dir, wants, nr);
	/* left running: every connection works, and the child says so by its exit status */
	if (!ret && kill(pid, SIGUSR1))
		ret = -errno;
	for (int ms = 0; !ret && ms < 10000 && waitpid(pid, &status, WNOHANG) == 0; ms += 10)
		usleep(10000);
	if (!ret && (!WIFEXITED(status) || WEXITSTATUS(status)))
		ret = -EPIPE;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (ret) {
		char *text = test_read_file(log);

		fprintf(stderr, "FAIL: %s\n%s\n", strerror(-ret), text ?: "");
		free(text);
		return 1;
	}
	test_rm_rf(tmp);
	printf("PASS: %zu sockets, every option in files.img as getsockopt() gives it\n", nr);
	return 0;
}
