/*
 * Helpers for the criu tests of TCP connections (tcp-*.c). The connections are a fixture's
 * (test/lib/connfix.h: a private network namespace, pattern streams both ways, the peer ends in a
 * process of their own); their server ends go to a holder, a child of the test that keeps them at
 * fds HOLDER_FD_BASE + i and counts (rchild_counter, as the restore tests' child) until it is
 * killed. criu dumps and restores the holder. The test works the sockets through copies it takes
 * with pidfd_getfd(), and drops them before criu kills the holder (a copy would keep a socket).
 *
 * What a failure of criu must leave, checked here: repair mode off (getsockopt(TCP_REPAIR) on a
 * copy), no network lock (nft and iptables asked, not criu's code), the holder running untraced,
 * the peers' ends untouched (state and queues from /proc/net/tcp*, which also lists the sockets
 * no process holds any more), and the images as they were (a byte-exact copy of the directory).
 */
#ifndef CRIU_NG_TEST_TCP_TEST_H
#define CRIU_NG_TEST_TCP_TEST_H

#include <dirent.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "connfix.h"
#include "restore-test.h"

#define HOLDER_FD_BASE 4096 /* far above the test's own fds: criu must put them back there */

struct holder {
	pid_t pid;
	int pidfd; /* -1 while the test holds no copies */
	int *fds;  /* the test's sockets to hand over: fds[i] becomes HOLDER_FD_BASE + i */
	uint32_t nr;
	size_t reserve; /* bytes of address space the holder maps PROT_NONE (none of it in memory) */
};

/* In the holder: the sockets at their numbers, nothing else open but /dev/null, a session of its own. */
static const struct holder *holder_child_arg;

static inline void holder_main(int ready_fd)
{
	const struct holder *h = holder_child_arg;
	struct timespec tick = { 0, 1000000 };
	int null_fd = open("/dev/null", O_RDWR);
	pid_t test = getppid();

	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(2);
	for (uint32_t i = 0; i < h->nr; i++)
		if (dup2(h->fds[i], HOLDER_FD_BASE + (int)i) < 0)
			_exit(2);
	if (h->reserve &&
	    mmap(NULL, h->reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		_exit(2);
	if (write(ready_fd, "R", 1) != 1)
		_exit(2);
	/* The ready pipe goes too: the test waits for its end of file. */
	if (syscall(SYS_close_range, 3, HOLDER_FD_BASE - 1, 0) ||
	    syscall(SYS_close_range, HOLDER_FD_BASE + h->nr, ~0u, 0))
		_exit(2);
	/*
	 * Not PR_SET_PDEATHSIG: criu's restore would pass it on and kill the holder when criu exits.
	 * The test died if we were handed to init (it is our subreaper otherwise), or to a subreaper
	 * of its own that reaped it: nobody would end us then.
	 */
	for (;;) {
		rchild_counter++;
		nanosleep(&tick, NULL);
		if (getppid() == 1 || (kill(test, 0) < 0 && errno == ESRCH))
			_exit(0);
	}
}

/* Starts the holder of @h->fds, which the test then closes (they are the holder's only). */
static inline int holder_start(struct holder *h)
{
	int ret;

	holder_child_arg = h;
	h->pidfd = -1;
	fflush(NULL);
	ret = rtest_start_child(&h->pid, holder_main);
	for (uint32_t i = 0; i < h->nr; i++) {
		close(h->fds[i]);
		h->fds[i] = -1;
	}
	return ret;
}

/* The holder of the fixture's server ends; the fixture is left without sockets until holder_take(). */
static inline int holder_start_fix(struct holder *h, struct connfix *fix)
{
	uint32_t n = connfix_count(fix);
	int ret;

	h->nr = n;
	h->fds = calloc(n ? n : 1, sizeof(*h->fds));
	if (!h->fds)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		h->fds[i] = connfix_fd(fix, i);
	ret = holder_start(h);
	for (uint32_t i = 0; i < n; i++)
		connfix_set_fd(fix, i, -1);
	return ret;
}

/* A copy of the holder's socket @i (pidfd_getfd), or -errno. Opens the pidfd of a (re)started holder. */
static inline int holder_copy(struct holder *h, uint32_t i)
{
	int fd;

	if (h->pidfd < 0) {
		h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
		if (h->pidfd < 0)
			return -errno;
	}
	fd = (int)syscall(SYS_pidfd_getfd, h->pidfd, HOLDER_FD_BASE + (int)i, 0);
	return fd < 0 ? -errno : fd;
}

/* Copies of all of the holder's sockets, handed to the fixture. */
static inline int holder_take(struct holder *h, struct connfix *fix)
{
	for (uint32_t i = 0; i < connfix_count(fix); i++) {
		int fd = holder_copy(h, i);

		if (fd < 0) {
			fprintf(stderr, "can't copy socket %u of the holder %d: %s\n", i, h->pid, strerror(-fd));
			return fd;
		}
		connfix_set_fd(fix, i, fd);
	}
	return 0;
}

/* Closes the test's copies (of the fixture's sockets if @fix) and the pidfd. */
static inline void holder_drop(struct holder *h, struct connfix *fix)
{
	for (uint32_t i = 0; fix && i < connfix_count(fix); i++) {
		if (connfix_fd(fix, i) >= 0)
			close(connfix_fd(fix, i));
		connfix_set_fd(fix, i, -1);
	}
	if (h->pidfd >= 0)
		close(h->pidfd);
	h->pidfd = -1;
}

static inline void holder_stop(struct holder *h, struct connfix *fix)
{
	holder_drop(h, fix);
	rchild_kill(h->pid);
	h->pid = 0;
	free(h->fds);
	h->fds = NULL;
}

/*
 * The fixture's standard data load (connfix.h) on the holder's sockets: the peers' data unread, the
 * holder's partly unacknowledged, partly unsent behind the fixture's own lock, which stays on.
 */
static inline int holder_queue(struct holder *h, struct connfix *fix)
{
	int ret = holder_take(h, fix);

	ret = ret ?: connfix_queue_start(fix, CONNFIX_PEER_BYTES, CONNFIX_SENT_BYTES);
	ret = ret ?: connfix_lock(fix, NETLOCK_NFTABLES);
	ret = ret ?: connfix_queue_finish(fix, CONNFIX_UNSENT_BYTES);
	ret = ret ?: connfix_check_queues(fix);
	holder_drop(h, fix);
	if (ret)
		fprintf(stderr, "can't queue the data: %s\n", strerror(-ret));
	return ret;
}

/*
 * Once the fixture's lock is off: a byte from each peer, whose ACK moves at once what the lock held
 * back, then every stream checked both ways and a fresh round trip (connfix_verify()).
 */
static inline int conns_verify(struct connfix *fix)
{
	int ret = connfix_peer_send(fix, 0, connfix_count(fix), 1);

	return ret ?: connfix_verify(fix);
}

/* True when @pid, a child of ours, lives, runs untraced (not stopped) and counts on. */
static inline bool holder_runs(pid_t pid, const char *what)
{
	char path[64], *status, *tracer, st;
	uint64_t c1, c2;
	int wstatus;

	if (waitpid(pid, &wstatus, WNOHANG) == pid) {
		fprintf(stderr, "%s: the holder %d died (status %#x)\n", what, pid, wstatus);
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	status = test_read_file(path);
	tracer = status ? strstr(status, "TracerPid:") : NULL;
	if (!tracer || atoi(tracer + 10)) {
		fprintf(stderr, "%s: the holder %d is traced (%s)\n", what, pid, tracer ? tracer + 10 : "gone");
		free(status);
		return false;
	}
	free(status);
	st = rchild_state(pid);
	c1 = c2 = rchild_read_counter(pid);
	/* On a loaded machine a sleeper may wait a while for a CPU: up to 2 s. */
	for (int ms = 0; ms < 2000 && c2 <= c1; ms += 10) {
		usleep(10000);
		c2 = rchild_read_counter(pid);
	}
	if ((st != 'S' && st != 'R') || c2 <= c1) {
		fprintf(stderr, "%s: the holder %d is in state %c, counter %llu then %llu\n", what, pid, st,
			(unsigned long long)c1, (unsigned long long)c2);
		return false;
	}
	return true;
}

/* How many of the fixture's sockets are in repair mode, or -errno. */
static inline int conns_in_repair(struct connfix *fix)
{
	int nr = 0;

	for (uint32_t i = 0; i < connfix_count(fix); i++) {
		int repair = -1;
		socklen_t len = sizeof(repair);

		if (getsockopt(connfix_fd(fix, i), IPPROTO_TCP, TCP_REPAIR, &repair, &len) < 0) {
			fprintf(stderr, "conn %u: getsockopt(TCP_REPAIR): %s\n", i, strerror(errno));
			return -errno;
		}
		if (repair && nr++ < 4)
			fprintf(stderr, "conn %u is in repair mode (%d)\n", i, repair);
	}
	return nr;
}

/* The pieces of a network lock named after @pid: the nftables table and the iptables chains. */
#define LOCK_NFT 0x1
#define LOCK_IPT 0x2
#define LOCK_IP6T 0x4

static inline bool lock_tool(char *path, const char *name)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, PATH_MAX, "%s/%s", dirs[i], name);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

/* True when nft and iptables are there to ask. */
static inline bool lock_tools_found(void)
{
	char path[PATH_MAX];

	return lock_tool(path, "nft") && lock_tool(path, "iptables") && lock_tool(path, "ip6tables");
}

/* Runs @argv (argv[0] a tool's name) from @tmp: 1 if it exits 0, 0 if not, -errno if it can't run. */
static inline int lock_ask(const char *tmp, char **argv)
{
	char path[PATH_MAX];
	struct run_result r;
	int ret;

	if (!lock_tool(path, argv[0]))
		return -ENOENT;
	argv[0] = path;
	ret = test_run(&r, tmp, NULL, argv, NULL);
	if (ret)
		return ret;
	ret = r.exit_code == 0;
	test_run_free(&r);
	return ret;
}

/*
 * 1 if @tool (iptables or ip6tables) lists chain @name or one of its sub-chains "@name+<k>" (a
 * large lock is split in those), 0 if not, -errno if it can't run.
 */
static inline int lock_chains(const char *tmp, const char *tool, const char *name)
{
	char path[PATH_MAX], plain[80], sub[80];
	char *argv[] = { path, "-w", "-S", NULL };
	struct run_result r;
	int ret;

	if (!lock_tool(path, tool))
		return -ENOENT;
	ret = test_run(&r, tmp, NULL, argv, NULL);
	if (ret)
		return ret;
	snprintf(plain, sizeof(plain), "-N %s\n", name);
	snprintf(sub, sizeof(sub), "-N %s+", name);
	ret = r.exit_code ? -EIO : r.out && (strstr(r.out, plain) || strstr(r.out, sub));
	test_run_free(&r);
	return ret;
}

/* LOCK_* bits of the pieces of lock "criu-ng-@pid" present in our network namespace, or -errno. */
static inline int lock_pieces(const char *tmp, pid_t pid)
{
	char name[64];
	char *nft[] = { "nft", "list", "table", "inet", name, NULL };
	int a, b, c;

	snprintf(name, sizeof(name), "criu-ng-%d", pid);
	a = lock_ask(tmp, nft);
	b = lock_chains(tmp, "iptables", name);
	c = lock_chains(tmp, "ip6tables", name);
	if (a < 0 || b < 0 || c < 0)
		return a < 0 ? a : b < 0 ? b : c;
	return (a ? LOCK_NFT : 0) | (b ? LOCK_IPT : 0) | (c ? LOCK_IP6T : 0);
}

/* One line of /proc/net/tcp or tcp6: addresses as the kernel keeps them (IPv4 in word 0). */
struct tcp_row {
	uint32_t laddr[4], raddr[4];
	uint16_t lport, rport;
	int state;
	uint32_t txq, rxq;
};

struct tcp_rows {
	struct tcp_row *v;
	size_t nr;
};

static inline void tcp_hex_addr(const char *hex, uint32_t w[4])
{
	size_t words = strlen(hex) / 8;
	char part[9] = { 0 };

	memset(w, 0, 4 * sizeof(*w));
	for (size_t i = 0; i < words && i < 4; i++) {
		memcpy(part, hex + 8 * i, 8);
		w[i] = (uint32_t)strtoul(part, NULL, 16);
	}
}

static inline int tcp_rows_file(struct tcp_rows *t, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512];

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char la[40], ra[40];
		unsigned int lp, rp, st, tx, rx;
		struct tcp_row *r;

		if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %x:%x", la, &lp, ra, &rp, &st, &tx,
			   &rx) != 7)
			continue;
		r = realloc(t->v, (t->nr + 1) * sizeof(*t->v));
		if (!r) {
			fclose(f);
			return -ENOMEM;
		}
		t->v = r;
		r = &t->v[t->nr++];
		tcp_hex_addr(la, r->laddr);
		tcp_hex_addr(ra, r->raddr);
		r->lport = (uint16_t)lp;
		r->rport = (uint16_t)rp;
		r->state = (int)st;
		r->txq = tx;
		r->rxq = rx;
	}
	fclose(f);
	return 0;
}

/* Every TCP socket of our network namespace, those no process holds (orphans, TIME_WAIT) included. */
static inline int tcp_rows_read(struct tcp_rows *t)
{
	int ret;

	t->v = NULL;
	t->nr = 0;
	ret = tcp_rows_file(t, "/proc/net/tcp");
	return ret ?: tcp_rows_file(t, "/proc/net/tcp6");
}

static inline void tcp_rows_free(struct tcp_rows *t)
{
	free(t->v);
	t->v = NULL;
	t->nr = 0;
}

/* @a as a row holds it: IPv4 (and IPv4-mapped IPv6, seen from the IPv4 side) in word 0. */
static inline uint16_t tcp_row_addr(const union connfix_addr *a, uint32_t w[4], bool mapped_as_v4)
{
	memset(w, 0, 4 * sizeof(*w));
	if (a->sa.sa_family == AF_INET) {
		w[0] = a->v4.sin_addr.s_addr;
		return ntohs(a->v4.sin_port);
	}
	if (mapped_as_v4 && IN6_IS_ADDR_V4MAPPED(&a->v6.sin6_addr))
		w[0] = a->v6.sin6_addr.s6_addr32[3];
	else
		memcpy(w, &a->v6.sin6_addr, 16);
	return ntohs(a->v6.sin6_port);
}

/* The row of the socket bound to @local and connected to @remote, or NULL. */
static inline const struct tcp_row *tcp_rows_find(const struct tcp_rows *t, const union connfix_addr *local,
						  const union connfix_addr *remote, bool mapped_as_v4)
{
	uint32_t l[4], r[4];
	uint16_t lp = tcp_row_addr(local, l, mapped_as_v4), rp = tcp_row_addr(remote, r, mapped_as_v4);

	for (size_t i = 0; i < t->nr; i++)
		if (t->v[i].lport == lp && t->v[i].rport == rp && !memcmp(t->v[i].laddr, l, sizeof(l)) &&
		    !memcmp(t->v[i].raddr, r, sizeof(r)))
			return &t->v[i];
	return NULL;
}

/* What the peers' ends of the fixture's connections look like: state and queues of each. */
struct peer_view {
	uint32_t n;
	struct tcp_row *rows; /* state -1: no such socket */
};

static inline int peer_view_take(struct connfix *fix, struct peer_view *pv)
{
	struct tcp_rows t;
	int ret = tcp_rows_read(&t);

	pv->n = connfix_count(fix);
	pv->rows = calloc(pv->n ? pv->n : 1, sizeof(*pv->rows));
	if (ret || !pv->rows) {
		tcp_rows_free(&t);
		return ret ?: -ENOMEM;
	}
	for (uint32_t i = 0; i < pv->n; i++) {
		/* The peers' sockets are AF_INET for v4-mapped connections. */
		const struct tcp_row *r = tcp_rows_find(&t, connfix_peer(fix, i), connfix_local(fix, i), true);

		if (r)
			pv->rows[i] = *r;
		else
			pv->rows[i].state = -1;
	}
	tcp_rows_free(&t);
	return 0;
}

static inline void peer_view_free(struct peer_view *pv)
{
	free(pv->rows);
	pv->rows = NULL;
}

/*
 * Counts the peers' ends that changed from @before to @after: not established any more (a FIN or
 * an RST came), or data arrived. Prints the first ones.
 */
static inline uint32_t peer_view_changed(const struct peer_view *before, const struct peer_view *after)
{
	uint32_t bad = 0;

	for (uint32_t i = 0; i < before->n; i++) {
		const struct tcp_row *a = &before->rows[i], *b = &after->rows[i];

		if (b->state == TCP_ESTABLISHED && a->state == b->state && a->rxq == b->rxq)
			continue;
		if (bad++ < 4)
			fprintf(stderr, "peer of conn %u: state %d rx queue %u, was state %d rx queue %u\n", i,
				b->state, b->rxq, a->state, a->rxq);
	}
	return bad;
}

/*
 * How many server-side sockets of the fixture's connections exist in the namespace (held by a
 * process or not: an orphan closing, TIME_WAIT); with @report, prints the first ones.
 */
static inline int server_sockets(struct connfix *fix, bool report)
{
	struct tcp_rows t;
	int nr = 0, ret = tcp_rows_read(&t);

	if (ret)
		return ret;
	for (uint32_t i = 0; i < connfix_count(fix); i++) {
		const struct tcp_row *r = tcp_rows_find(&t, connfix_local(fix, i), connfix_peer(fix, i), false);

		if (r && nr++ < 4 && report)
			fprintf(stderr, "conn %u: a server-side socket in state %d is left\n", i, r->state);
	}
	tcp_rows_free(&t);
	return nr;
}

/* Copies the regular files of directory @from into the new directory @to. */
static inline int dir_copy(const char *from, const char *to)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (mkdir(to, 0700))
		return -errno;
	d = opendir(from);
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		char src[PATH_MAX + 256], dst[PATH_MAX + 256];
		struct stat st;
		char *buf;
		int fd;

		snprintf(src, sizeof(src), "%s/%s", from, de->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name);
		if (lstat(src, &st) || !S_ISREG(st.st_mode))
			continue;
		buf = malloc(st.st_size ? (size_t)st.st_size : 1);
		fd = open(src, O_RDONLY | O_CLOEXEC);
		if (!buf || fd < 0 || read(fd, buf, (size_t)st.st_size) != st.st_size)
			ret = -EIO;
		else
			ret = test_write_file(dst, buf, (size_t)st.st_size);
		if (fd >= 0)
			close(fd);
		free(buf);
	}
	closedir(d);
	return ret;
}

/* True when @path holds exactly the @len bytes at @data. */
static inline bool file_is(const char *path, const char *data, size_t len)
{
	char *buf = malloc(len + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool same = buf && fd >= 0 && read(fd, buf, len + 1) == (ssize_t)len && !memcmp(buf, data, len);

	if (fd >= 0)
		close(fd);
	free(buf);
	return same;
}

/* True when directories @a and @b hold the same regular files, byte for byte; prints the differences. */
static inline bool dir_same(const char *a, const char *b)
{
	const char *dirs[2] = { a, b };
	bool same = true;

	for (int k = 0; k < 2; k++) {
		DIR *d = opendir(dirs[k]);
		struct dirent *de;

		if (!d)
			return false;
		while ((de = readdir(d))) {
			char p[PATH_MAX + 256], q[PATH_MAX + 256];
			struct stat st, st2;
			char *buf;
			int fd;

			snprintf(p, sizeof(p), "%s/%s", dirs[k], de->d_name);
			snprintf(q, sizeof(q), "%s/%s", dirs[1 - k], de->d_name);
			if (lstat(p, &st) || S_ISDIR(st.st_mode))
				continue;
			if (lstat(q, &st2)) {
				fprintf(stderr, "%s is in %s, not in %s\n", de->d_name, dirs[k], dirs[1 - k]);
				same = false;
				continue;
			}
			if (k)
				continue; /* the contents: once */
			buf = malloc(st.st_size ? (size_t)st.st_size : 1);
			fd = open(p, O_RDONLY | O_CLOEXEC);
			if (!buf || fd < 0 || read(fd, buf, (size_t)st.st_size) != st.st_size ||
			    !file_is(q, buf, (size_t)st.st_size)) {
				fprintf(stderr, "%s differs between %s and %s\n", de->d_name, a, b);
				same = false;
			}
			if (fd >= 0)
				close(fd);
			free(buf);
		}
		closedir(d);
	}
	return same;
}

/* True when nothing runs with pid @pid (and no zombie of ours has it). */
static inline bool pid_unused(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return kill(pid, 0) < 0 && errno == ESRCH && access(path, F_OK) < 0;
}

/*
 * rcriu_run() with the limit @resource at @lim, soft and hard, set in a child of ours that runs
 * criu (we may not raise a hard limit of our own back). criu's exit code, or -1 if it could not run.
 */
static inline int rcriu_run_rlimit(const char *tmp, const char *const *args, int resource, rlim_t lim)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rlimit rl = { lim, lim };
		struct run_result r;

		if (setrlimit(resource, &rl) || rcriu_run(&r, tmp, args) || r.exit_code < 0)
			_exit(255);
		_exit(r.exit_code);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

/* What a TCP test works with: its directory, the connections, their holder, the failures so far. */
struct tcp_test {
	const char *name;
	char tmp[256];
	struct connfix *fix;
	struct holder h;
	int failures;
};

/*
 * The connections of @fo in a network namespace of our own, their holder started (@reserve bytes
 * of address space), the test a child subreaper (it reaps the holder however often criu restores
 * it). TEST_PASS when all is set, else the code to exit with.
 */
static inline int tcp_test_setup(struct tcp_test *t, const char *name, const struct connfix_opts *fo, size_t reserve)
{
	int ret;

	t->name = name;
	if (geteuid() || !lock_tools_found()) {
		fprintf(stderr, "SKIP: needs root, nft, iptables and ip6tables\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(t->tmp, sizeof(t->tmp), name)) {
		perror("setup");
		return TEST_FAIL;
	}
	if (connfix_env_setup()) {
		fprintf(stderr, "SKIP: no network namespace of our own\n");
		test_rm_rf(t->tmp);
		return TEST_SKIP;
	}
	ret = connfix_create(fo, &t->fix);
	if (ret) {
		fprintf(stderr, "can't make the connections: %s\n", strerror(-ret));
		return TEST_FAIL;
	}
	t->h.reserve = reserve;
	ret = holder_start_fix(&t->h, t->fix);
	if (ret) {
		fprintf(stderr, "can't start the holder: %s\n", strerror(-ret));
		return TEST_FAIL;
	}
	return TEST_PASS;
}

/* Stops the holder and the connections; the test's exit code. Its files stay after a failure. */
static inline int tcp_test_finish(struct tcp_test *t)
{
	holder_stop(&t->h, t->fix);
	connfix_destroy(t->fix);
	if (!t->failures)
		test_rm_rf(t->tmp);
	else
		fprintf(stderr, "files kept in %s\n", t->tmp);
	fprintf(stderr, "%s: %s\n", t->name, t->failures ? "FAILED" : "all passed");
	return t->failures ? TEST_FAIL : TEST_PASS;
}

/*
 * The standard load on the holder's connections, then `criu dump` into the new directory @img
 * with --tcp-established and @extra (NULL-terminated), its log in @tmp/@log; the holder must die
 * of it. The fixture's lock is lifted after: from then on criu's alone holds the connections.
 */
static inline int tcp_dump(struct tcp_test *t, const char *img, const char *log, const char *const *extra)
{
	char pidstr[32], path[PATH_MAX];
	const char *args[24] = { "dump", "-t", pidstr, "-D", img, "-o", path, "-v4", "--tcp-established" };
	int n = 9;

	snprintf(pidstr, sizeof(pidstr), "%d", t->h.pid);
	snprintf(path, sizeof(path), "%s/%s", t->tmp, log);
	for (int i = 0; extra && extra[i] && n < 23; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	if (mkdir(img, 0700) || holder_queue(&t->h, t->fix)) {
		expect(&t->failures, 0, "can't prepare the dump into %s", img);
		return -EIO;
	}
	if (rtest_dump(t->tmp, args, t->h.pid, &t->failures)) {
		rtest_print_log(t->tmp, log);
		return -EIO;
	}
	return connfix_unlock(t->fix);
}

/*
 * `criu restore -D @img --tcp-established -d --pidfile @pidfile`, its log in @tmp/@log, under
 * RLIMIT_AS @as when not 0. criu's exit code, or -1 if it could not run.
 */
static inline int tcp_restore(struct tcp_test *t, const char *img, const char *log, const char *pidfile, rlim_t as)
{
	char path[PATH_MAX];
	const char *args[] = {
		"restore", "-D",  img, "--tcp-established", "--restore-detached", "--pidfile", pidfile, "-o",
		path,	   "-v4", NULL
	};
	struct run_result r;

	snprintf(path, sizeof(path), "%s/%s", t->tmp, log);
	if (as)
		return rcriu_run_rlimit(t->tmp, args, RLIMIT_AS, as);
	if (rcriu_run(&r, t->tmp, args))
		return -1;
	if (r.exit_code && r.err && *r.err)
		fprintf(stderr, "criu restore: %s", r.err);
	test_run_free(&r);
	return r.exit_code;
}

/*
 * What a restore that failed before the process ran must leave: no pidfile; the dump's lock
 * (@lock_piece of it at least); no process with the holder's pid; no socket of the connections,
 * held or lingering; the peers' ends as in @before (no FIN, RST or data came). @what names it.
 */
static inline void tcp_check_refused(struct tcp_test *t, const char *what, const char *pidfile, int lock_piece,
				     const struct peer_view *before)
{
	struct peer_view after;
	int pieces, left;

	usleep(300000); /* for a FIN, an RST or data to reach a peer */
	expect(&t->failures, access(pidfile, F_OK) < 0, "%s: the pidfile was written", what);
	pieces = lock_pieces(t->tmp, t->h.pid);
	expect(&t->failures, pieces >= 0 && (pieces & lock_piece), "%s: the dump's lock is gone (pieces %#x)", what,
	       pieces);
	expect(&t->failures, pid_unused(t->h.pid), "%s: a process has the holder's pid %d", what, t->h.pid);
	left = server_sockets(t->fix, true);
	expect(&t->failures, left == 0, "%s: %d sockets of the connections are left", what, left);
	if (!peer_view_take(t->fix, &after)) {
		uint32_t changed = peer_view_changed(before, &after);

		expect(&t->failures, changed == 0, "%s: %u peers saw a FIN, an RST or data", what, changed);
		peer_view_free(&after);
	}
}

/*
 * What criu must leave once done with the holder, whether it gave up (the holder ran on) or
 * restored it: the holder running untraced; no socket in repair mode; no piece of criu's lock;
 * every stream intact both ways and a fresh round trip, once the test's own lock is lifted (here
 * first if @unlock). The test's copies of the sockets are dropped after.
 */
static inline void tcp_check_running(struct tcp_test *t, const char *what, bool unlock)
{
	int ret, pieces;

	/* The test's lock goes first, whatever happens: later steps need it gone. */
	expect(&t->failures, !unlock || !connfix_unlock(t->fix), "%s: can't lift the test's lock", what);
	if (!holder_runs(t->h.pid, what)) {
		expect(&t->failures, 0, "%s: the holder doesn't run", what);
		return;
	}
	ret = holder_take(&t->h, t->fix);
	expect(&t->failures, !ret, "%s: can't take the holder's sockets: %s", what, strerror(-ret));
	if (ret)
		return;
	ret = conns_in_repair(t->fix);
	expect(&t->failures, ret == 0, "%s: %d connections are in repair mode", what, ret);
	pieces = lock_pieces(t->tmp, t->h.pid);
	expect(&t->failures, pieces == 0, "%s: criu's lock is left (pieces %#x)", what, pieces);
	expect(&t->failures, !conns_verify(t->fix), "%s: the streams don't verify", what);
	holder_drop(&t->h, t->fix);
}

/* What a restore must bring back: the holder with its pid (in @pidfile), and tcp_check_running(). */
static inline void tcp_check_restored(struct tcp_test *t, const char *what, const char *pidfile)
{
	char *text = test_read_file(pidfile);

	expect(&t->failures, text && atoi(text) == t->h.pid, "%s: pidfile says %s, not %d", what, text ?: "(none)",
	       t->h.pid);
	free(text);
	tcp_check_running(t, what, false);
}

#endif /* CRIU_NG_TEST_TCP_TEST_H */
