/*
 * e2e-redis.c: Debian's redis-server migrated host to host through the criu binary with 100
 * clients talking across the checkpoint (test/lib/e2e-kv.h). redis is one process with background
 * threads holding an epoll, a pipe, its listener and the clients' connections; persistence is off
 * (--save '' --appendonly no), so it never forks a child. Before the dump every client has its
 * key and counter; after the restore every reply sent before the dump comes back right, the keys
 * are all there with their values, and the clients go on.
 *
 * It skips (77) only when redis-server is not installed or criu refuses something redis holds,
 * naming it.
 */
/* timeout: 300 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e-kv.h"
#include "testutil.h"

#define REDIS "/usr/bin/redis-server"
#define REDIS_PORT 6379
#define LINE_MAX_LEN 512

/* One command in RESP: an array of bulk strings. */
static int send_cmd(struct e2e_line_conn *c, int argc, const char *const argv[])
{
	char buf[1024];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "*%d\r\n", argc);

	for (int i = 0; i < argc && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	if (n >= sizeof(buf))
		return -E2BIG;
	return e2e_line_send(c, buf, n);
}

static int expect_line(struct e2e_line_conn *c, const char *want)
{
	char line[LINE_MAX_LEN];
	int n = e2e_line_read(c, line, sizeof(line));

	if (n < 0)
		return n;
	if (strcmp(line, want)) {
		test_msg("redis said \"%s\", expected \"%s\"", line, want);
		return -EPROTO;
	}
	return 0;
}

static int send_set(struct e2e_line_conn *c, const char *key, const char *val)
{
	const char *argv[] = { "SET", key, val };

	return send_cmd(c, 3, argv);
}

static int check_set(struct e2e_line_conn *c)
{
	return expect_line(c, "+OK");
}

static int send_incr(struct e2e_line_conn *c, const char *key)
{
	const char *argv[] = { "INCR", key };

	return send_cmd(c, 2, argv);
}

static int check_incr(struct e2e_line_conn *c, long want)
{
	char line[32];

	snprintf(line, sizeof(line), ":%ld", want);
	return expect_line(c, line);
}

static int send_get(struct e2e_line_conn *c, const char *key)
{
	const char *argv[] = { "GET", key };

	return send_cmd(c, 2, argv);
}

/* A bulk string reply: "$LEN", the bytes, CRLF. */
static int check_get(struct e2e_line_conn *c, const char *want)
{
	size_t len = strlen(want);
	char head[32], *val;
	int ret;

	snprintf(head, sizeof(head), "$%zu", len);
	ret = expect_line(c, head);
	if (ret)
		return ret;
	val = malloc(len + 2);
	if (!val)
		return -ENOMEM;
	ret = e2e_line_read_n(c, val, len + 2);
	if (!ret && (memcmp(val, want, len) || memcmp(val + len, "\r\n", 2))) {
		test_msg("redis gave another value: %.40s...", val);
		ret = -EPROTO;
	}
	free(val);
	return ret;
}

static int count_keys(struct e2e_line_conn *c, long *n)
{
	const char *argv[] = { "DBSIZE" };
	char line[LINE_MAX_LEN];
	int ret = send_cmd(c, 1, argv);

	ret = ret ?: e2e_line_read(c, line, sizeof(line));
	if (ret < 0)
		return ret;
	if (sscanf(line, ":%ld", n) != 1) {
		test_msg("DBSIZE said \"%s\"", line);
		return -EPROTO;
	}
	return 0;
}

/* Persistence off: redis never forks a child to save. */
static void command(char *dir, char *port, char **argv)
{
	char *const args[] = { REDIS,
			       "--bind",
			       E2E_SERVICE_ADDR,
			       "--port",
			       port,
			       "--save",
			       "",
			       "--appendonly",
			       "no",
			       "--daemonize",
			       "no",
			       "--protected-mode",
			       "no",
			       "--dir",
			       dir,
			       "--logfile",
			       "",
			       NULL };

	memcpy(argv, args, sizeof(args));
}

static const struct e2e_kv_ops redis_ops = {
	.name = "redis",
	.bin = REDIS,
	.package = "redis-server",
	.port = REDIS_PORT,
	.command = command,
	.send_set = send_set,
	.check_set = check_set,
	.send_incr = send_incr,
	.check_incr = check_incr,
	.send_get = send_get,
	.check_get = check_get,
	.count_keys = count_keys,
};

int main(int argc, char **argv)
{
	(void)argc;
	return e2e_kv_main(&redis_ops, argv[0]);
}
