/*
 * e2e-kv.h: a key-value server (redis, memcached) migrated host to host through the criu binary
 * with its clients talking across the checkpoint. The server, started as its packaged binary on
 * the service address in host A (test/lib/e2e-topo.h), gets E2E_KV_CLIENTS connections from the
 * wire. Every client owns a key and a counter; a round is, on every connection at once, a SET of
 * the key to a value naming the client and the round, an INCR of the counter and a GET of the key,
 * every reply checked.
 *
 * Two rounds run before the dump; the requests of a third (a GET of each key's value from the
 * round before, then the round) are sent and left unread, then the server is dumped with --tcp-established, the address moved to host B and the server restored
 * there. The third round's replies must then come on every connection, right; a new connection
 * must count every key; two more rounds run; and the server must stop cleanly on SIGTERM.
 */
#ifndef TEST_LIB_E2E_KV_H
#define TEST_LIB_E2E_KV_H

#include "e2e-real.h"

#define E2E_KV_CLIENTS 100

/*
 * A server's protocol: each send_* writes one request, the matching check_get reads its reply (0 or
 * -errno); a SET and an INCR are answered with one line, which e2e-kv.c checks itself.
 */
struct e2e_kv_ops {
	const char *name;    /* "redis" */
	const char *bin;     /* the packaged binary */
	const char *package; /* the Debian package that has it */
	int port;
	/*
	 * The server's command line into @argv (E2E_KV_ARGV_MAX entries at most, the NULL included):
	 * listening on E2E_SERVICE_ADDR:@port, its files in @dir (which outlive the call).
	 */
	void (*command)(char *dir, char *port, char **argv);
	int (*send_set)(struct e2e_line_conn *c, const char *key, const char *val);
	const char *set_reply; /* the line a SET is answered with: "+OK" */
	int (*send_incr)(struct e2e_line_conn *c, const char *key);
	const char *incr_prefix; /* what stands before the new value in the line answering an INCR: ":" */
	int (*send_get)(struct e2e_line_conn *c, const char *key);
	int (*check_get)(struct e2e_line_conn *c, const char *want);
	/* On a connection of its own: how many keys the server holds, into *@n. */
	int (*count_keys)(struct e2e_line_conn *c, long *n);
};

#define E2E_KV_ARGV_MAX 32
#define E2E_KV_LINE_MAX 512 /* the longest reply line */

/* Reads one line of the server's and compares it with @want, saying what came otherwise. 0 or -errno (-EPROTO). */
int e2e_kv_expect_line(const struct e2e_kv_ops *ops, struct e2e_line_conn *c, const char *want);

/* Reads a value of strlen(@want) bytes and its CRLF and compares them with @want. 0 or -errno (-EPROTO). */
int e2e_kv_expect_value(const struct e2e_kv_ops *ops, struct e2e_line_conn *c, const char *want);

/*
 * The whole test, @argv0 its name: it skips (77) when the server is not installed; the images and
 * the server's output go to a directory of its own in /dev/shm, removed unless the test failed.
 * Returns the test's exit code.
 */
int e2e_kv_main(const struct e2e_kv_ops *ops, const char *argv0);

#endif /* TEST_LIB_E2E_KV_H */
