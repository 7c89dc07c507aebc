/*
 * e2e.h: one host-to-host migration of a server holding N established TCP connections, through
 * the criu binary, checked end to end.
 *
 *   1. three network namespaces (e2e-topo.h): host A, host B, the wire with the clients;
 *   2. the e2e server (test/e2e/e2e-server) listening on S in host A; N clients connect from the
 *      wire and load every connection both ways (e2e-clients.h): the server holds 2 KiB unread
 *      and a full send queue on each, the clients read nothing;
 *   3. `criu dump -t PID --tcp-established --display-stats` run in host A's namespace;
 *   4. S moved from A to B, the wire's neighbour cache flushed;
 *   5. `criu restore --tcp-established --restore-detached --pidfile F --display-stats` in B's;
 *   6. the clients resume: every byte of both streams checked, then a fresh round trip on every
 *      connection; the restored server, stopped with SIGTERM, must say it saw no wrong byte.
 *
 * The calling process becomes a child subreaper (the restored server is reparented to it and
 * reaped by it) and must be single-threaded (it moves itself into the wire's namespace for the
 * clients, and back). The namespaces are deleted on every way out, signals included.
 *
 * Downtime: from the start of `criu dump` (the server is frozen just after, so this bounds it from
 * above) to the first byte the restored server sends reaching connection 0 (which first reads
 * what it had queued before the checkpoint, so that byte is new).
 */
#ifndef TEST_LIB_E2E_H
#define TEST_LIB_E2E_H

#include <limits.h>
#include <stdint.h>

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif

#define E2E_VETH_OUT "vc"

struct e2e_opts {
	uint32_t n;
	const char *lock;	 /* --network-lock METHOD; NULL: nftables */
	int criu_images;	 /* --tcp-images criu on the dump: one tcp-stream image per connection */
	const char *images_root; /* the work directory is made here; NULL: /dev/shm */
	int keep;		 /* keep the work directory (images, logs) even when all went well */
	int verbose;		 /* each phase as it happens, and criu's --display-stats */
	uint32_t timeout_ms;	 /* of each client phase; 0: 60 s */
	int nocr;		 /* no criu and no move: the harness checks itself against the live server */
	/*
	 * Host A as a container: its network namespace is the server's own. criu dump and restore run
	 * in the wire's namespace; between them host A's namespace is deleted (its veth to the wire
	 * with it), and criu restore makes a new one, its eth0 a veth whose outer end is E2E_VETH_OUT
	 * in the wire's bridge (--external veth[eth0]:E2E_VETH_OUT@br0). S is not moved.
	 */
	int container;
};

/* The phases of criu's --display-stats the harness reads: a short name and criu's label. */
#define E2E_PHASES 12
struct e2e_phase {
	const char *name, *label;
	int restore; /* in the restore's statistics, else the dump's */
};
extern const struct e2e_phase e2e_phases[E2E_PHASES];

struct e2e_result {
	uint32_t n, good;  /* connections, and those verified both ways with their round trip */
	double connect_ms; /* opening and loading the N connections */
	double dump_ms, move_ms, restore_ms, frozen_ms, downtime_ms, verify_ms;
	long dump_rss_kib, restore_rss_kib; /* peak RSS of the criu processes */
	double phase_ms[E2E_PHASES];	    /* criu's --display-stats per phase (e2e_phases), -1 if absent */
	uint64_t srv_recvq, srv_sendq;	    /* the server's queues before the dump, all connections (ss) */
	uint64_t client_inq;		    /* the clients' receive queues then */
	uint32_t tcp_images;		    /* tcp-stream-*.img files the dump wrote */
	char dir[PATH_MAX];		    /* the work directory (images in img/, logs) */
	char why[1024];			    /* what went wrong, or what criu refused */
};

/*
 * 0 when every connection verified; -EOPNOTSUPP when criu refused something it does not support
 * yet (r->why has its words); another -errno on failure (r->why says which step). The work
 * directory is removed after a success or a refusal unless o->keep, kept after a failure.
 */
int e2e_migrate(const struct e2e_opts *o, struct e2e_result *r) __must_check;

/*
 * A test's whole main: e2e_migrate() with @o, then TEST_PASS, TEST_SKIP (criu refused something,
 * named) or TEST_FAIL, with a line saying why or what was measured; with o->criu_images, the dump
 * must have written one tcp-stream image per connection.
 */
int e2e_test_main(const char *argv0, const struct e2e_opts *o);

#endif /* TEST_LIB_E2E_H */
