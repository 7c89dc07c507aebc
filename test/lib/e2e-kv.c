/*
 * e2e-kv.c: a key-value server migrated with its clients talking (see e2e-kv.h).
 */
#include <errno.h>
#include <stdbool.h>
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
#include "e2e-kv.h"
#include "testutil.h"

#define IO_TIMEOUT_S 10
#define VALUE_LEN 200
#define ROUNDS_BEFORE 2 /* then one whose replies cross the checkpoint, then ROUNDS_AFTER */
#define ROUNDS_AFTER 2

struct kv_test {
	const struct e2e_kv_ops *ops;
	struct e2e_topo topo;
	struct e2e_cr cr;
	char img[PATH_MAX + 8], out[PATH_MAX + 16];
	pid_t pid;
	struct e2e_line_conn conns[E2E_KV_CLIENTS];
	long counter[E2E_KV_CLIENTS]; /* what the next INCR of each client's counter must say */
	char kinds[2048];	      /* the fds the server holds, for a skip message */
};

static void key_of(unsigned int i, char *key, size_t len)
{
	snprintf(key, len, "e2e:key:%u", i);
}

static void counter_of(unsigned int i, char *key, size_t len)
{
	snprintf(key, len, "e2e:ctr:%u", i);
}

/* Client @i's value in round @r: names both, padded to VALUE_LEN with a pattern of them. */
static void value_of(unsigned int i, unsigned int r, char *val)
{
	int n = snprintf(val, VALUE_LEN + 1, "client-%u-round-%u-", i, r);

	for (int k = n; k < VALUE_LEN; k++)
		val[k] = (char)('a' + (i * 7 + r * 13 + (unsigned int)k) % 26);
	val[VALUE_LEN] = '\0';
}

/* The counters start at 0 (memcached's INCR needs a number there). */
static int reset_counters(struct kv_test *t)
{
	char key[64];
	int ret = 0;

	for (unsigned int i = 0; !ret && i < E2E_KV_CLIENTS; i++) {
		counter_of(i, key, sizeof(key));
		ret = t->ops->send_set(&t->conns[i], key, "0");
	}
	for (unsigned int i = 0; !ret && i < E2E_KV_CLIENTS; i++) {
		ret = e2e_kv_expect_line(t->ops, &t->conns[i], t->ops->set_reply);
		t->counter[i] = 1;
		if (ret)
			test_msg("client %u: setting its counter: %s", i, strerror(-ret));
	}
	return ret;
}

/*
 * The requests of round @r on every connection, replies left unread. With @first_get, each
 * client first GETs its key, which must still hold its value of round @r - 1.
 */
static int send_round(struct kv_test *t, unsigned int r, bool first_get)
{
	char key[64], ctr[64], val[VALUE_LEN + 1];
	int ret = 0;

	for (unsigned int i = 0; !ret && i < E2E_KV_CLIENTS; i++) {
		key_of(i, key, sizeof(key));
		counter_of(i, ctr, sizeof(ctr));
		value_of(i, r, val);
		ret = first_get ? t->ops->send_get(&t->conns[i], key) : 0;
		ret = ret ?: t->ops->send_set(&t->conns[i], key, val);
		ret = ret ?: t->ops->send_incr(&t->conns[i], ctr);
		ret = ret ?: t->ops->send_get(&t->conns[i], key);
		if (ret)
			test_msg("client %u: sending round %u: %s", i, r, strerror(-ret));
	}
	return ret;
}

int e2e_kv_expect_line(const struct e2e_kv_ops *ops, struct e2e_line_conn *c, const char *want)
{
	char line[E2E_KV_LINE_MAX];
	int n = e2e_line_read(c, line, sizeof(line));

	if (n < 0)
		return n;
	if (strcmp(line, want)) {
		test_msg("%s said \"%s\", expected \"%s\"", ops->name, line, want);
		return -EPROTO;
	}
	return 0;
}

int e2e_kv_expect_value(const struct e2e_kv_ops *ops, struct e2e_line_conn *c, const char *want)
{
	size_t len = strlen(want);
	char *val = malloc(len + 2);
	int ret;

	if (!val)
		return -ENOMEM;
	ret = e2e_line_read_n(c, val, len + 2);
	if (!ret && (memcmp(val, want, len) || memcmp(val + len, "\r\n", 2))) {
		test_msg("%s gave another value: %.40s...", ops->name, val);
		ret = -EPROTO;
	}
	free(val);
	return ret;
}

static int check_incr(const struct e2e_kv_ops *ops, struct e2e_line_conn *c, long want)
{
	char line[32];

	snprintf(line, sizeof(line), "%s%ld", ops->incr_prefix, want);
	return e2e_kv_expect_line(ops, c, line);
}

/* The replies of round @r on every connection: how many clients got all of them right. */
static unsigned int check_round(struct kv_test *t, unsigned int r, bool first_get)
{
	char val[VALUE_LEN + 1], prev[VALUE_LEN + 1];
	unsigned int good = 0;

	for (unsigned int i = 0; i < E2E_KV_CLIENTS; i++) {
		struct e2e_line_conn *c = &t->conns[i];
		int ret;

		value_of(i, r, val);
		value_of(i, r - 1, prev);
		ret = first_get ? t->ops->check_get(c, prev) : 0;
		ret = ret ?: e2e_kv_expect_line(t->ops, c, t->ops->set_reply);
		ret = ret ?: check_incr(t->ops, c, t->counter[i]++);
		ret = ret ?: t->ops->check_get(c, val);
		if (ret)
			test_msg("client %u, round %u: %s", i, r, strerror(-ret));
		else
			good++;
	}
	return good;
}

static int run_round(struct kv_test *t, unsigned int r)
{
	unsigned int good;
	int ret = send_round(t, r, false);

	if (ret)
		return ret;
	good = check_round(t, r, false);
	if (good != E2E_KV_CLIENTS) {
		test_msg("round %u: %u of %d clients got every reply right", r, good, E2E_KV_CLIENTS);
		return -EPROTO;
	}
	return 0;
}

/* A new connection counts the keys: every client's key and counter. */
static int check_count(struct kv_test *t, const struct sockaddr_in *a)
{
	struct e2e_line_conn *c = calloc(1, sizeof(*c));
	long n = -1;
	int ret;

	if (!c)
		return -ENOMEM;
	c->fd = e2e_real_connect(a, IO_TIMEOUT_S);
	ret = c->fd < 0 ? c->fd : t->ops->count_keys(c, &n);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	if (ret)
		return ret;
	test_msg("a new connection counts %ld keys", n);
	return n == 2 * E2E_KV_CLIENTS ? 0 : -EPROTO;
}

static int run(struct kv_test *t, char *const argv[], int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	const char *name = t->ops->name;
	unsigned int r = 0, good;
	int ret;

	a.sin_addr = t->topo.service;
	ret = e2e_topo_spawn(&t->topo, E2E_HOST_A, argv, t->out, 0, &t->pid);
	if (ret)
		return test_fail("starting %s: %s", name, strerror(-ret));
	ret = e2e_topo_enter(&t->topo, E2E_WIRE);
	if (ret)
		return test_fail("entering the wire's namespace: %s", strerror(-ret));
	for (unsigned int i = 0; i < E2E_KV_CLIENTS; i++) {
		t->conns[i].fd = i ? e2e_real_connect(&a, IO_TIMEOUT_S) : e2e_real_wait_listening(&a, IO_TIMEOUT_S);
		if (t->conns[i].fd < 0)
			return test_fail("client %u: connecting to %s: %s (see %s)", i, name, strerror(-t->conns[i].fd),
					 t->out);
	}
	if (reset_counters(t))
		return test_fail("setting the counters (see %s)", t->out);
	for (; r < ROUNDS_BEFORE; r++)
		if (run_round(t, r))
			return test_fail("before the migration, round %u failed (see %s)", r, t->out);
	if (check_count(t, &a))
		return test_fail("before the migration, the key count is wrong");
	test_msg("%d clients talked to %s on host A for %u rounds (SET, INCR, GET)", E2E_KV_CLIENTS, name, r);
	ret = e2e_real_list_fds(t->pid, name, t->kinds, sizeof(t->kinds));
	if (ret)
		return test_fail("listing %s's fds: %s", name, strerror(-ret));
	/* This round's replies cross the checkpoint; its GETs first read what was set before. */
	if (send_round(t, r, true))
		return test_fail("sending the round that crosses the checkpoint");
	ret = e2e_real_migrate(&t->topo, &t->cr, &t->pid);
	if (ret == -EOPNOTSUPP)
		return test_skip("%s%s; %s holds: %s", e2e_real_refused_fd(t->pid, t->cr.why), t->cr.why, name,
				 t->kinds);
	if (ret)
		return test_fail("%s", t->cr.why);
	good = check_round(t, r++, true);
	test_msg("after the migration to host B: %u of %d clients got the replies sent before the dump (dump %.1f "
		 "ms, frozen %.1f ms, restore %.1f ms)",
		 good, E2E_KV_CLIENTS, t->cr.dump_ms, t->cr.frozen_ms, t->cr.restore_ms);
	if (good != E2E_KV_CLIENTS)
		return test_fail("%d clients lost replies across the checkpoint", E2E_KV_CLIENTS - good);
	if (check_count(t, &a))
		return test_fail("after the migration, the key count is wrong");
	for (unsigned int k = 0; k < ROUNDS_AFTER; k++, r++)
		if (run_round(t, r))
			return test_fail("after the migration, round %u failed (see %s)", r, t->out);
	test_msg("every client went on for %d more rounds, every reply right", ROUNDS_AFTER);
	return e2e_real_stop(&t->pid, name, t->out) ? TEST_FAIL : TEST_PASS;
}

static int kv_run(const struct e2e_kv_ops *ops, char *const argv[], const char *dir)
{
	struct kv_test *t = calloc(1, sizeof(*t));
	struct rlimit rl;
	int ret;

	if (!t)
		return test_fail("out of memory");
	t->ops = ops;
	for (unsigned int i = 0; i < E2E_KV_CLIENTS; i++)
		t->conns[i].fd = -1;
	snprintf(t->img, sizeof(t->img), "%s/img", dir);
	snprintf(t->out, sizeof(t->out), "%s/%s.out", dir, ops->name);
	t->cr.dir = dir;
	t->cr.img = t->img;
	t->cr.verbose = 1;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		ret = test_fail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	else if (getrlimit(RLIMIT_NOFILE, &rl) || (rl.rlim_cur = rl.rlim_max, setrlimit(RLIMIT_NOFILE, &rl)))
		ret = test_fail("raising RLIMIT_NOFILE: %s", strerror(errno));
	else if (mkdir(t->img, 0700))
		ret = test_fail("making %s: %s", t->img, strerror(errno));
	else if (e2e_cr_init(&t->cr))
		ret = test_fail("%s", t->cr.why);
	else if ((ret = e2e_topo_create(&t->topo)))
		ret = test_fail("making the network namespaces: %s", strerror(-ret));
	else {
		ret = run(t, argv, ops->port);
		e2e_topo_destroy(&t->topo);
	}
	for (unsigned int i = 0; i < E2E_KV_CLIENTS; i++)
		if (t->conns[i].fd >= 0)
			close(t->conns[i].fd);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	free(t);
	/* a failure's files stay for a look */
	if (ret != TEST_FAIL && rm_tree(dir))
		test_msg("could not remove %s", dir);
	if (ret == TEST_PASS)
		test_msg("PASS");
	return ret;
}

int e2e_kv_main(const struct e2e_kv_ops *ops, const char *argv0)
{
	char dir[PATH_MAX], port[16], *argv[E2E_KV_ARGV_MAX] = { NULL };

	test_init(argv0);
	if (access(ops->bin, X_OK))
		return test_skip("%s: %s (%s: scripts/install-deps.sh installs it)", ops->bin, strerror(errno),
				 ops->package);
	snprintf(dir, sizeof(dir), "/dev/shm/e2e-%s-XXXXXX", ops->name);
	if (!mkdtemp(dir))
		return test_fail("making %s: %s", dir, strerror(errno));
	snprintf(port, sizeof(port), "%d", ops->port);
	ops->command(dir, port, argv);
	return kv_run(ops, argv, dir);
}
