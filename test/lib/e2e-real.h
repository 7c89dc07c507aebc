/*
 * e2e-real.h: what the end-to-end tests of real servers (unit/e2e-nginx, e2e-redis, e2e-memcached)
 * share: clients connecting to the service address, the fds the server holds printed before the
 * dump (what criu must support to migrate it), the fd criu refused named with its kind, the
 * migration itself (dump on host A, the address moved, restore on host B), the server stopped
 * at the end, and buffered reading of a line protocol's replies.
 */
#ifndef TEST_LIB_E2E_REAL_H
#define TEST_LIB_E2E_REAL_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/types.h>

#include "e2e-cr.h"
#include "e2e-topo.h"

/* A blocking TCP connection to @a with @timeout_s send and receive timeouts: the fd, or -errno. */
int e2e_real_connect(const struct sockaddr_in *a, int timeout_s);
/* Until the server accepts on @a (it has no ready signal; 5 s at most): the connection, or -errno. */
int e2e_real_wait_listening(const struct sockaddr_in *a, int timeout_s);

/*
 * Prints every fd @name (process @pid) holds with its kind and flags, its established TCP
 * connections as one line, and its shared mappings; a one-line summary of the fds goes to
 * @kinds (for a skip message). 0 or -errno.
 */
int e2e_real_list_fds(pid_t pid, const char *name, char *kinds, size_t len);

/* "fd N is LINK: " for the fd criu's refusal in @why names (the refused dump left @pid running), or "". */
const char *e2e_real_refused_fd(pid_t pid, const char *why);

/*
 * Locks host B as the restore expects (e2e_topo_prelock()), dumps *@pid on host A (criu kills
 * it), moves the service address to host B, restores there:
 * *@pid is then the restored process, watched by the topology's signal handler. 0, -EOPNOTSUPP
 * when criu refused something (cr->why), or -errno (cr->why).
 */
int e2e_real_migrate(struct e2e_topo *t, struct e2e_cr *cr, pid_t *pid) __must_check;

/* SIGTERM to *@pid and its exit status, which must be 0: 0, or -errno / -EPROTO (printed). */
int e2e_real_stop(pid_t *pid, const char *name, const char *out);

/* One connection of a line protocol (redis, memcached), its replies read through a buffer. */
struct e2e_line_conn {
	int fd;
	size_t len, off; /* bytes in buf, bytes consumed */
	char buf[8192];
};

/* The next line, CRLF removed, NUL-terminated into @line (@max bytes at most): its length, or -errno. */
int e2e_line_read(struct e2e_line_conn *c, char *line, size_t max);
/* Exactly @n bytes into @out (a bulk value and its CRLF): 0 or -errno. */
int e2e_line_read_n(struct e2e_line_conn *c, char *out, size_t n);
/* Sends all of @buf: 0 or -errno. */
int e2e_line_send(struct e2e_line_conn *c, const char *buf, size_t len);

#endif /* TEST_LIB_E2E_REAL_H */
