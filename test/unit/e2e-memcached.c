/*
 * e2e-memcached.c: Debian's memcached with 4 worker threads (-t 4) migrated host to host through
 * the criu binary with 100 clients talking across the checkpoint (test/lib/e2e-kv.h), in its text
 * protocol. memcached is one process of about ten threads holding per worker an epoll, an eventfd
 * and a pipe, its listener and the clients' connections. Before the dump every client has its
 * item and counter; after the restore every reply sent before the dump comes back right, the
 * items are all there with their values, and the clients go on.
 *
 * It skips (77) only when memcached is not installed or criu refuses something memcached holds,
 * naming it.
 */
/* timeout: 300 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e-kv.h"
#include "testutil.h"

#define MEMCACHED "/usr/bin/memcached"
#define MEMCACHED_PORT 11211

static int send_fmt(struct e2e_line_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int send_fmt(struct e2e_line_conn *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -E2BIG;
	return e2e_line_send(c, buf, (size_t)n);
}

static int send_set(struct e2e_line_conn *c, const char *key, const char *val)
{
	return send_fmt(c, "set %s 0 0 %zu\r\n%s\r\n", key, strlen(val), val);
}

static int send_incr(struct e2e_line_conn *c, const char *key)
{
	return send_fmt(c, "incr %s 1\r\n", key);
}

static int send_get(struct e2e_line_conn *c, const char *key)
{
	return send_fmt(c, "get %s\r\n", key);
}

static const struct e2e_kv_ops memcached_ops;

/* "VALUE KEY FLAGS LEN", the bytes, CRLF, "END". */
static int check_get(struct e2e_line_conn *c, const char *want)
{
	size_t len = strlen(want), got_len;
	char line[E2E_KV_LINE_MAX];
	int ret = e2e_line_read(c, line, sizeof(line));

	if (ret < 0)
		return ret;
	if (sscanf(line, "VALUE %*s %*u %zu", &got_len) != 1 || got_len != len) {
		test_msg("memcached said \"%s\", expected a value of %zu bytes", line, len);
		return -EPROTO;
	}
	return e2e_kv_expect_value(&memcached_ops, c, want) ?: e2e_kv_expect_line(&memcached_ops, c, "END");
}

/* "STAT curr_items N" among the lines of "stats", up to "END". */
static int count_keys(struct e2e_line_conn *c, long *n)
{
	char line[E2E_KV_LINE_MAX];
	int ret = send_fmt(c, "stats\r\n");

	*n = -1;
	while (!ret) {
		ret = e2e_line_read(c, line, sizeof(line));
		if (ret < 0)
			return ret;
		ret = 0;
		if (!strcmp(line, "END"))
			break;
		sscanf(line, "STAT curr_items %ld", n);
	}
	return ret;
}

/* -u root: memcached refuses to run as root without it; -U 0: no UDP port. */
static void command(char *dir, char *port, char **argv)
{
	char *const args[] = { MEMCACHED,	 "-u", "root", "-t", "4",    "-p", port, "-l",
			       E2E_SERVICE_ADDR, "-U", "0",    "-c", "1024", NULL };

	(void)dir;
	memcpy(argv, args, sizeof(args));
}

static const struct e2e_kv_ops memcached_ops = {
	.name = "memcached",
	.bin = MEMCACHED,
	.package = "memcached",
	.port = MEMCACHED_PORT,
	.command = command,
	.send_set = send_set,
	.set_reply = "STORED",
	.send_incr = send_incr,
	.incr_prefix = "",
	.send_get = send_get,
	.check_get = check_get,
	.count_keys = count_keys,
};

int main(int argc, char **argv)
{
	(void)argc;
	return e2e_kv_main(&memcached_ops, argv[0]);
}
