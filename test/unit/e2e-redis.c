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

static int send_set(struct e2e_line_conn *c, const char *key, const char *val)
{
	const char *argv[] = { "SET", key, val };

	return send_cmd(c, 3, argv);
}

static int send_incr(struct e2e_line_conn *c, const char *key)
{
	const char *argv[] = { "INCR", key };

	return send_cmd(c, 2, argv);
}

static int send_get(struct e2e_line_conn *c, const char *key)
{
	const char *argv[] = { "GET", key };

	return send_cmd(c, 2, argv);
}

static const struct e2e_kv_ops redis_ops;

/* A bulk string reply: "$LEN", the bytes, CRLF. */
static int check_get(struct e2e_line_conn *c, const char *want)
{
	char head[32];

	snprintf(head, sizeof(head), "$%zu", strlen(want));
	return e2e_kv_expect_line(&redis_ops, c, head) ?: e2e_kv_expect_value(&redis_ops, c, want);
}

static int count_keys(struct e2e_line_conn *c, long *n)
{
	const char *argv[] = { "DBSIZE" };
	char line[E2E_KV_LINE_MAX];
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
	.set_reply = "+OK",
	.send_incr = send_incr,
	.incr_prefix = ":",
	.send_get = send_get,
	.check_get = check_get,
	.count_keys = count_keys,
};

int main(int argc, char **argv)
{
	(void)argc;
	return e2e_kv_main(&redis_ops, argv[0]);
}
