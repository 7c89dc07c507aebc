/*
 * A process tree in a network namespace of its own: the namespace is checkpointed with the tree
 * and rebuilt, as a new namespace, before the tree's sockets are made (Documentation/netns.md).
 *
 * Images, CRIU's, named by the namespace's id (net_ns_id in ids-PID.img, the next id after
 * criu's own namespaces in inventory.img's root_ids):
 *   netdev-ID.img   one net_device_entry per link (lo; veth links whose peer is outside)
 *   netns-ID.img    one netns_entry
 *   ifaddr-ID.img   raw: what "ip addr save" writes (rtnetlink messages)
 *   route-ID.img    raw: "ip -4 route save"; route6-ID.img: "ip -6 route save"
 *   nftables-ID.img raw: "nft list ruleset" (only when the namespace has rules)
 *
 * Dump: netns_dump_enter() moves the calling thread into the tree's namespace, so that the
 * socket diagnostics, the TCP repair workers and the network lock (one rule for the whole
 * namespace) all act there; threads made afterwards inherit it. Restore: netns_restore_create()
 * moves the calling thread into a new namespace, locks it, rebuilds its links, addresses and
 * routes; the sockets made afterwards and the tree forked afterwards are in it.
 */
#ifndef CRIU_NG_NETNS_H
#define CRIU_NG_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net-lock.h"
#include "options.h"

#include "netdev.pb-c.h"

struct netns_dump {
	bool own;    /* the tree has a network namespace other than criu's */
	uint32_t id; /* its id in the images */
	dev_t dev;   /* the tree's namespace, to check each process */
	ino_t ino;
	bool has_ruleset; /* its firewall rules, read before the lock, are in ruleset_fd */
	int ruleset_fd;
};

/*
 * Finds the network namespace of @root; when it is not criu's, the calling thread joins it and
 * @n says so. A namespace criu can't join is refused. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int netns_dump_enter(struct netns_dump *n, pid_t root);

/* Frees what netns_dump_enter() kept. */
/*
 * Whether the firewall rules of a tree's network namespace can be kept (CRIU's "nftables"
 * feature): the nft tool that reads and loads them is there. 0 or -errno.
 */
int netns_can_keep_rules(void);
void netns_dump_fini(struct netns_dump *n);

/* Refuses (-EOPNOTSUPP, logged) a process of the tree whose network namespace is not the tree's. */
__attribute__((warn_unused_result)) int netns_dump_check(const struct netns_dump *n, pid_t pid);

/*
 * Reads the tree's own namespace (nothing when it has none) and writes its images in @dirfd.
 * A link of a kind the restore can't rebuild is refused, naming it. Changes nothing in the
 * namespace. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int netns_dump_write(const struct netns_dump *n, int dirfd, pid_t root);

struct netns_restore {
	uint32_t id; /* 0: the tree lives in criu's namespace, nothing to do */
	NetDeviceEntry **links;
	size_t nr_links;
	int criu_ns; /* criu's namespace, while the calling thread is in the new one */
	int own_ns;  /* the new namespace */
	bool *made;  /* per link: a veth pair made (its outer end is in criu's namespace) */
	struct netlock_opts lock;
	char lock_id[NETLOCK_ID_MAX + 1];
	bool locked;
};

/*
 * Reads the images of namespace @id from @dirfd (nothing when @id is 0) and checks them
 * against the options (--external veth[IN]:OUT[@BRIDGE], --veth-pair: where the outer end of
 * each veth goes; without one the kernel names it): nothing is created. Returns 0 or -errno
 * (the image named).
 */
__attribute__((warn_unused_result)) int netns_restore_load(struct netns_restore *r, int dirfd, uint32_t id,
							   const struct criu_opts *opts);

/*
 * Moves the calling thread into a new network namespace, takes the lock @mode (named
 * @lock_id) there before anything can connect, and rebuilds the links, addresses and routes
 * of the images: each veth is made with its inner end in the new namespace (its dumped name,
 * index, address and mtu) and its outer end in criu's, up, attached to its bridge if it has
 * one. Returns 0 or -errno; netns_restore_fini() then removes the pairs made.
 */
__attribute__((warn_unused_result)) int netns_restore_create(struct netns_restore *r, int dirfd,
							     const struct criu_opts *opts, enum netlock_mode mode,
							     pid_t lock_id);

/* Once the tree runs: lifts the namespace's lock if it is still there. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int netns_restore_unlock(struct netns_restore *r);

/*
 * Frees @r. After a failed restore (@failed) the links made in criu's namespace (outer ends of
 * veth pairs) are deleted first.
 */
void netns_restore_fini(struct netns_restore *r, bool failed);

#endif /* CRIU_NG_NETNS_H */
