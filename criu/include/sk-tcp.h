/*
 * TCP connections in criu dump and criu restore: the adapter between the
 * INETSK entries (sk-inet.h) and libsoccr's batch calls, with the network lock
 * around them.
 *
 * Dump: the connections are locked in one transaction (net-lock.h), then
 * libsoccr_dump_batch() puts them in repair mode and reads their state and
 * queues through criu's copies of the sockets. The streams are written either
 * as one packed image for all connections (tcp-streams.img, the default: see
 * Documentation/tcp-images.md) or as CRIU's tcp-stream-INO.img per connection
 * (--tcp-images criu). Once the process is killed, criu's copies are closed in
 * repair mode (nothing reaches the peers) and the lock stays for the restore;
 * a failed dump or --leave-running turns repair off and lifts the lock.
 *
 * Restore: either image kind is read; the lock is taken again if this host
 * does not hold it (a restore on another host), the connections are rebuilt in
 * repair mode by libsoccr_restore_batch() in criu's network namespace and
 * inherited by the process; once the process is ready repair is turned off in
 * one batch, and after it runs the lock is lifted and every connection gets a
 * window probe. A failed restore closes criu's sockets in repair mode and
 * leaves the images and the lock in place for another try.
 */
#ifndef CRIU_NG_SK_TCP_H
#define CRIU_NG_SK_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net-lock.h"
#include "options.h"
#include "sk-inet.h"
#include "soccr.h"

#define SK_TCP_PACK_NAME "tcp-streams.img"

/* What both directions need from the command line. */
struct sk_tcp_cfg {
	pid_t pid;		     /* the root task: names the lock */
	enum netlock_mode lock_mode; /* --network-lock */
	bool criu_images;	     /* --tcp-images criu: one tcp-stream-INO.img per connection */
	bool own_netns;		     /* the tree has a network namespace of its own: lock it whole */
};

/* @cfg for the dump or restore of @pid as the command line says. */
void sk_tcp_cfg_init(struct sk_tcp_cfg *cfg, const struct criu_opts *opts, pid_t pid);

/* @o for the lock of the tree of @pid (its name), logging into criu's log; SOCCR_MARK passes. */
void sk_tcp_lock_setup(struct netlock_opts *o, char *id, pid_t pid, enum netlock_mode mode);

/* One region for every dumped queue, handed out by libsoccr's workers (see queue_alloc in soccr.h). */
struct sk_tcp_arena {
	char *base;
	size_t size;
	_Atomic size_t used;
};

/*
 * A libsoccr context logging into criu's log, for the socket options of a
 * dump and its connections, or for a restore's connections; a dump's puts the
 * queues in @arena once sk_tcp_dump() has sized it (NULL: malloc). The caller
 * destroys it (libsoccr_ctx_destroy). Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int sk_tcp_soccr_open(struct libsoccr_ctx **ctx, struct sk_tcp_arena *arena);

struct sk_tcp_dump {
	struct libsoccr_ctx *soccr; /* the caller's, lent by sk_tcp_dump() */
	struct sk_tcp_arena arena;
	struct libsoccr_conn *conns;
	uint32_t *inos;
	size_t *sk_idx; /* per connection: its socket in the inet_sk_dump */
	size_t nr;
	struct netlock_opts lock;
	char lock_id[NETLOCK_ID_MAX + 1];
	bool own_netns; /* one rule locks the tree's namespace */
	bool locked;
	bool repaired; /* libsoccr_dump_batch() ran: sockets in repair mode */
	uint64_t lock_us, dump_us;
};

/*
 * Locks the connections of @d (every socket marked conn, whose dup_fd @t takes
 * over) and dumps them through @soccr, which the caller made (sk_tcp_soccr_open)
 * and destroys only after sk_tcp_dump_finish(). On failure everything is undone
 * (repair off, lock lifted) before returning -errno.
 */
__attribute__((warn_unused_result)) int sk_tcp_dump(struct sk_tcp_dump *t, struct inet_sk_dump *d,
						    const struct sk_tcp_cfg *cfg, struct libsoccr_ctx *soccr);

/* Writes the streams in @dirfd as @cfg says. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int sk_tcp_write(const struct sk_tcp_dump *t, int dirfd,
						     const struct sk_tcp_cfg *cfg);

/*
 * Ends a dump: with @killed (the process is gone) the sockets are closed in
 * repair mode and the lock stays; otherwise (failure, --leave-running) repair
 * is turned off, the lock lifted and the connections probed. Frees @t, but not
 * the context it was lent. Returns 0 or the first -errno (everything is tried).
 */
int sk_tcp_dump_finish(struct sk_tcp_dump *t, bool killed);

/* Restore. */

struct restore_image;

struct sk_tcp_restore {
	const struct restore_image *ri; /* the entries of the connections */
	struct libsoccr_ctx *soccr;
	struct libsoccr_conn *conns;
	size_t *file_idx; /* per connection: its index in restore_image.files */
	uint32_t *inos;	  /* per connection: its socket's inode, to name it */
	size_t nr;
	void *map; /* tcp-streams.img, mapped */
	size_t map_len;
	char **bufs; /* per connection, for tcp-stream-INO.img */
	struct netlock_opts lock;
	char lock_id[NETLOCK_ID_MAX + 1];
	bool own_netns;	 /* one rule locks the tree's new namespace */
	bool lock_taken; /* taken by this restore (another host) */
	bool repair_off;
	bool lift_lock; /* --tcp-close: nothing rebuilt, but the dump's lock is lifted */
	uint64_t restore_us, repair_off_us, unlock_us;
};

/*
 * --tcp-close: the connections of @ri come back closed, nothing is loaded or rebuilt, but the
 * lock the dump took for them must still go once the tree runs: sk_tcp_unlock() lifts it.
 */
void sk_tcp_close_setup(struct sk_tcp_restore *r, const struct restore_image *ri, const struct sk_tcp_cfg *cfg);

/*
 * Reads the streams of every TCP connection of @ri (tcp-streams.img, else
 * tcp-stream-INO.img each) and checks them against their entries. Nothing is
 * created. Returns 0 or -errno (a missing, truncated or corrupt image logged by name).
 */
__attribute__((warn_unused_result)) int sk_tcp_load(struct sk_tcp_restore *r, int dirfd, const struct restore_image *ri,
						    const struct sk_tcp_cfg *cfg);

/*
 * Takes the lock if this host doesn't hold it, rebuilds every connection in
 * repair mode and stores its fd in @fds[file_idx] (the caller moves it where
 * it belongs). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int sk_tcp_restore(struct sk_tcp_restore *r, const struct restore_image *ri,
						       int *fds);

/*
 * The same in libsoccr batches of @chunk connections, calling @placed after
 * each with the range of connections it rebuilt (their fds in @fds), so that
 * the caller can move them before the next batch makes more. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int sk_tcp_restore_chunked(struct sk_tcp_restore *r, const struct restore_image *ri,
							       int *fds, size_t chunk,
							       int (*placed)(void *arg, size_t from, size_t to),
							       void *arg);

/* After the caller moved the sockets: their fds now, from @fds[file_idx]. */
void sk_tcp_set_fds(struct sk_tcp_restore *r, const int *fds);

/* Repair off for every connection (then their unsent data). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int sk_tcp_repair_off(struct sk_tcp_restore *r);

/* After the process runs: lifts the lock and probes every connection. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int sk_tcp_unlock(struct sk_tcp_restore *r);

/* Frees @r; its sockets belong to the caller's fd table (closed with it). */
void sk_tcp_restore_free(struct sk_tcp_restore *r);

#endif /* CRIU_NG_SK_TCP_H */
