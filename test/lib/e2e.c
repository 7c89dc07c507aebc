/*
 * e2e.c: one host-to-host migration through the criu binary, checked end to end (see e2e.h).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "criu-run.h"
#include "e2e-clients.h"
#include "e2e-cr.h"
#include "e2e-topo.h"
#include "e2e.h"
#include "testutil.h"

#define E2E_PORT 7000
#define E2E_SRV_SNDBUF 7168 /* the kernel doubles it: about 8 KiB stays queued per connection */

struct run {
	const struct e2e_opts *o;
	struct e2e_result *r;
	struct e2e_topo topo;
	struct e2e_clients *clients;
	struct e2e_cr cr;
	char server[PATH_MAX];
	char img[PATH_MAX + 8], log[PATH_MAX + 16];
	pid_t pid; /* the server, before and after */
};

static int say(struct run *rn, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Note what went wrong in r->why (the first reason only) and return @ret. */
static int say(struct run *rn, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!rn->r->why[0]) {
		va_start(ap, fmt);
		vsnprintf(rn->r->why, sizeof(rn->r->why), fmt, ap);
		va_end(ap);
	}
	return ret;
}

static void step(struct run *rn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void step(struct run *rn, const char *fmt, ...)
{
	va_list ap;

	if (!rn->o->verbose)
		return;
	va_start(ap, fmt);
	printf("e2e: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static double ms_since(uint64_t t0)
{
	return (double)(test_now_ns() - t0) / 1e6;
}

static int raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

/* The server in host A, ready once listening. */
static int server_start(struct run *rn)
{
	char sndbuf[16], port[16];
	char *argv[] = { rn->server, "-a", E2E_SERVICE_ADDR, "-p", port, "-s", sndbuf, "-r", "3", NULL };
	int ret;

	snprintf(sndbuf, sizeof(sndbuf), "%d", E2E_SRV_SNDBUF);
	snprintf(port, sizeof(port), "%d", E2E_PORT);
	ret = e2e_topo_spawn(&rn->topo, E2E_HOST_A, argv, rn->log, 1, &rn->pid);
	if (ret)
		return say(rn, ret, "the server did not start (see %s)", rn->log);
	return 0;
}

/* The server's receive and send queues, summed over its connections, as ss reads them in host A. */
static int server_queues(struct run *rn)
{
	char cmd[PATH_MAX + 128], line[512];
	unsigned long long rq, sq;
	uint32_t conns = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nsenter --net=%s ss -tnH state established '( sport = :%d )'",
		 rn->topo.path[E2E_HOST_A], E2E_PORT);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	rn->r->srv_recvq = rn->r->srv_sendq = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llu %llu", &rq, &sq) != 2)
			continue;
		rn->r->srv_recvq += rq;
		rn->r->srv_sendq += sq;
		conns++;
	}
	if (pclose(f))
		return say(rn, -EIO, "ss could not list the server's connections");
	if (conns != rn->o->n)
		return say(rn, -EPROTO, "ss lists %u of the server's %u connections", conns, rn->o->n);
	if (rn->r->srv_recvq != (uint64_t)conns * E2E_HOLD_BYTES)
		return say(rn, -EPROTO, "the server holds %llu bytes unread, not %d on each of its %u connections",
			   (unsigned long long)rn->r->srv_recvq, E2E_HOLD_BYTES, conns);
	return 0;
}

const struct e2e_phase e2e_phases[E2E_PHASES] = {
	{ "fds", "fds and sockets", 0 },	{ "lock", "network lock", 0 },
	{ "tcp_dump", "TCP extraction", 0 },	{ "tcp_write", "TCP image write", 0 },
	{ "mem_dump", "memory write time", 0 }, { "fork", "forking time", 1 },
	{ "sockets", "socket rebuild", 1 },	{ "tcp_restore", "TCP rebuild", 1 },
	{ "memory", "memory restore time", 1 }, { "wait", "socket rebuild wait", 1 },
	{ "repair_off", "TCP repair off", 1 },	{ "unlock", "network unlock", 1 },
};

/* The phases of one step's --display-stats (DIR/dump.out or DIR/restore.out). */
static void read_phases(struct run *rn, int restore)
{
	char out[PATH_MAX + 16];

	snprintf(out, sizeof(out), "%s/%s.out", rn->cr.dir, restore ? "restore" : "dump");
	for (unsigned int i = 0; i < E2E_PHASES; i++)
		if (e2e_phases[i].restore == restore)
			rn->r->phase_ms[i] = criu_stat_ms(out, e2e_phases[i].label);
}

static int dump(struct run *rn)
{
	int ret = e2e_cr_dump(&rn->cr, rn->topo.path[rn->o->container ? E2E_WIRE : E2E_HOST_A], rn->pid);

	if (ret)
		return say(rn, ret, "%s", rn->cr.why);
	rn->pid = 0;
	e2e_topo_watch_pid(0);
	rn->r->dump_ms = rn->cr.dump_ms;
	rn->r->dump_rss_kib = rn->cr.dump_rss_kib;
	rn->r->frozen_ms = rn->cr.frozen_ms;
	read_phases(rn, 0);
	return 0;
}

static int restore(struct run *rn)
{
	int ret = e2e_cr_restore(&rn->cr, rn->topo.path[rn->o->container ? E2E_WIRE : E2E_HOST_B], &rn->pid);

	/* ours to reap from here: criu is gone and we are the subreaper */
	if (rn->pid > 0)
		e2e_topo_watch_pid(rn->pid);
	if (ret)
		return say(rn, ret, "%s", rn->cr.why);
	rn->r->restore_ms = rn->cr.restore_ms;
	rn->r->restore_rss_kib = rn->cr.restore_rss_kib;
	read_phases(rn, 1);
	return 0;
}

/* SIGTERM: the server prints what it served and exits 1 if a client byte was wrong. */
static int server_stop(struct run *rn)
{
	int status;

	if (kill(rn->pid, SIGTERM))
		return say(rn, -errno, "SIGTERM to the restored server: %s", strerror(errno));
	while (waitpid(rn->pid, &status, 0) < 0)
		if (errno != EINTR)
			return say(rn, -errno, "reaping the restored server: %s", strerror(errno));
	rn->pid = 0;
	e2e_topo_watch_pid(0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return say(rn, -EPROTO, "the restored server ended with status %#x (see %s)", status, rn->log);
	return 0;
}

static uint32_t count_tcp_images(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint32_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "tcp-stream-", 11))
			n++;
	closedir(d);
	return n;
}

static void reap_strays(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int resume(struct run *rn, uint64_t t_dump);
static int run_container(struct run *rn);

static int run_steps(struct run *rn)
{
	struct e2e_clients_opts co = { .n = rn->o->n, .timeout_ms = rn->o->timeout_ms };
	struct e2e_result *r = rn->r;
	uint64_t t0, t_dump;
	int ret;

	ret = server_start(rn);
	if (ret)
		return ret;
	ret = e2e_topo_enter(&rn->topo, E2E_WIRE);
	if (ret)
		return say(rn, ret, "entering the wire's namespace: %s", strerror(-ret));
	co.server.sin_family = AF_INET;
	co.server.sin_port = htons(E2E_PORT);
	co.server.sin_addr = rn->topo.service;
	t0 = test_now_ns();
	ret = e2e_clients_open(&co, &rn->clients);
	ret = ret ?: e2e_clients_settle(rn->clients, &r->client_inq);
	r->connect_ms = ms_since(t0);
	if (ret)
		return say(rn, ret, "opening and loading %u connections: %s", rn->o->n, strerror(-ret));
	ret = server_queues(rn);
	if (ret)
		return ret;
	step(rn,
	     "%u connections from the wire to %s:%d on host A, loaded in %.0f ms: the server holds %llu B "
	     "unread and %llu B in its send queues (%.0f and %.0f per connection), the clients %.0f B unread "
	     "per connection",
	     rn->o->n, E2E_SERVICE_ADDR, E2E_PORT, r->connect_ms, (unsigned long long)r->srv_recvq,
	     (unsigned long long)r->srv_sendq, (double)r->srv_recvq / rn->o->n, (double)r->srv_sendq / rn->o->n,
	     (double)r->client_inq / rn->o->n);
	if (rn->o->nocr) {
		t_dump = test_now_ns();
		goto resume;
	}
	if (rn->o->container)
		return run_container(rn);
	ret = e2e_topo_prelock(&rn->topo, E2E_HOST_B, rn->cr.lock, rn->pid);
	if (ret)
		return say(rn, ret, "locking host B before it takes %s: %s", E2E_SERVICE_ADDR, strerror(-ret));
	t_dump = test_now_ns();
	ret = dump(rn);
	if (ret)
		return ret;
	if (rn->o->criu_images)
		r->tcp_images = count_tcp_images(rn->img);
	t0 = test_now_ns();
	ret = e2e_topo_move(&rn->topo, E2E_HOST_B);
	r->move_ms = ms_since(t0);
	if (ret)
		return say(rn, ret, "moving %s from host A to host B", E2E_SERVICE_ADDR);
	step(rn, "%s moved from host A to host B in %.1f ms", E2E_SERVICE_ADDR, r->move_ms);
	ret = restore(rn);
	if (ret)
		return ret;
resume:
	return resume(rn, t_dump);
}

/*
 * The clients go on: the first answer (the downtime since @t_dump), every byte of both streams
 * and a fresh round trip on every connection, then the server's own verdict.
 */
static int resume(struct run *rn, uint64_t t_dump)
{
	struct e2e_result *r = rn->r;
	uint64_t t0, t_answer;
	int ret;

	ret = e2e_clients_first_answer(rn->clients, &t_answer);
	if (ret)
		return say(rn, ret, "no answer from the restored server on connection 0: %s", strerror(-ret));
	r->downtime_ms = (double)(t_answer - t_dump) / 1e6;
	step(rn, "first answer of the %s server %.1f ms after criu dump started", rn->o->nocr ? "(live)" : "restored",
	     r->downtime_ms);
	t0 = test_now_ns();
	ret = e2e_clients_verify(rn->clients, &r->good);
	r->verify_ms = ms_since(t0);
	if (ret || r->good != rn->o->n)
		return say(rn, ret ?: -EPROTO, "%u of %u connections verified", r->good, rn->o->n);
	step(rn, "%u of %u connections verified both ways, with a fresh round trip each, in %.0f ms", r->good, rn->o->n,
	     r->verify_ms);
	return server_stop(rn);
}

/*
 * Host A as a container: dumped from the wire, its namespace deleted, restored from the wire
 * into a new namespace whose eth0's outer end joins the bridge again.
 */
static int run_container(struct run *rn)
{
	uint64_t t_dump = test_now_ns();
	int ret;

	ret = dump(rn);
	if (ret)
		return ret;
	ret = e2e_topo_remove(&rn->topo, E2E_HOST_A);
	if (ret)
		return say(rn, ret, "deleting host A's namespace after the dump");
	step(rn, "host A's network namespace deleted");
	ret = restore(rn);
	if (ret)
		return ret;
	step(rn, "restored in a new network namespace, its eth0's outer end %s in the wire's br0", E2E_VETH_OUT);
	return resume(rn, t_dump);
}

int e2e_migrate(const struct e2e_opts *o, struct e2e_result *r)
{
	struct run rn = { .o = o, .r = r };
	int ret;

	memset(r, 0, sizeof(*r));
	r->n = o->n;
	r->frozen_ms = -1;
	for (unsigned int i = 0; i < E2E_PHASES; i++)
		r->phase_ms[i] = -1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return say(&rn, -errno, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	ret = e2e_cr_init(&rn.cr);
	if (ret)
		return say(&rn, ret, "%s", rn.cr.why);
	ret = tree_bin_path("test/e2e/e2e-server", rn.server, sizeof(rn.server));
	if (ret)
		return say(&rn, ret, "test/e2e/e2e-server: %s", strerror(-ret));
	ret = raise_nofile();
	if (ret)
		return say(&rn, ret, "raising RLIMIT_NOFILE: %s", strerror(-ret));
	snprintf(r->dir, sizeof(r->dir), "%s/e2e-XXXXXX", o->images_root ? o->images_root : "/dev/shm");
	if (!mkdtemp(r->dir))
		return say(&rn, -errno, "mkdtemp %s: %s", r->dir, strerror(errno));
	snprintf(rn.img, sizeof(rn.img), "%s/img", r->dir);
	rn.cr.dir = r->dir;
	rn.cr.img = rn.img;
	rn.cr.lock = o->lock;
	rn.cr.criu_images = o->criu_images;
	rn.cr.external = o->container ? "veth[eth0]:" E2E_VETH_OUT "@br0" : NULL;
	rn.cr.verbose = o->verbose;
	snprintf(rn.log, sizeof(rn.log), "%s/server.log", r->dir);
	if (mkdir(rn.img, 0700))
		return say(&rn, -errno, "mkdir %s: %s", rn.img, strerror(errno));
	ret = e2e_topo_create(&rn.topo);
	if (ret)
		return say(&rn, ret, "making the network namespaces: %s", strerror(-ret));
	ret = run_steps(&rn);
	e2e_clients_close(rn.clients);
	if (rn.pid > 0) {
		kill(rn.pid, SIGKILL);
		while (waitpid(rn.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	e2e_topo_watch_pid(0);
	e2e_topo_destroy(&rn.topo);
	reap_strays();
	/* a refusal is said in r->why: only a failure's images and logs are worth keeping */
	if ((!ret || ret == -EOPNOTSUPP) && !o->keep && rm_tree(r->dir))
		fprintf(stderr, "e2e: could not remove %s\n", r->dir);
	return ret;
}

int e2e_test_main(const char *argv0, const struct e2e_opts *o)
{
	struct e2e_result r;
	int ret;

	test_init(argv0);
	ret = e2e_migrate(o, &r);
	if (ret == -EOPNOTSUPP)
		return test_skip("%s", r.why);
	if (ret)
		return test_fail("%s (work directory %s)", r.why, r.dir);
	if (o->criu_images && r.tcp_images != r.n)
		return test_fail("the dump wrote %u tcp-stream images for %u connections", r.tcp_images, r.n);
	test_msg("%u/%u connections verified both ways: dump %.1f ms, restore %.1f ms, frozen %.1f ms, downtime "
		 "%.1f ms; the server held %llu B unread and %llu B to send",
		 r.good, r.n, r.dump_ms, r.restore_ms, r.frozen_ms, r.downtime_ms, (unsigned long long)r.srv_recvq,
		 (unsigned long long)r.srv_sendq);
	return TEST_PASS;
}
