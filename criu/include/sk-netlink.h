/*
 * AF_NETLINK sockets, the NETLINKSK kind of fd.
 *
 * Dump, from criu's copy of the socket: its protocol (SO_PROTOCOL), the port
 * id it is bound to (getsockname, 0 when unbound), the multicast groups it
 * joined (NETLINK_LIST_MEMBERSHIPS), the port id and group it is connected to
 * (getpeername), its options, as a netlink_sk_entry in files.img. Refused as
 * CRIU does: a socket with messages queued (they can't be put back as the
 * kernel sent them), one that joined a group above 32 (CRIU's restore binds
 * with the first 32 only).
 *
 * Restore, in criu before the fork: a new socket of the protocol, bound to
 * the port id with its groups, connected as it was, then options and O_NONBLOCK; the generic code settles
 * it at its fd number (FD_KIND_SETTLE).
 */
#ifndef CRIU_NG_SK_NETLINK_H
#define CRIU_NG_SK_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd-kind.h"
#include "files-reg.h"
#include "sk-opts.h"

#include "fdinfo.pb-c.h"

struct cr_img;

/* The group bitmap words read at dump (32 groups each): only the first may be set. */
#define NETLINK_SK_GROUP_WORDS 8

struct netlink_sk {
	uint32_t id, ino, flags;
	uint32_t protocol, state;
	uint32_t portid, dst_portid, dst_group;
	uint32_t groups; /* groups 1 to 32 it joined, a bit each */
	struct sk_opts_common opts;
	struct reg_fown fown;
};

struct netlink_sk_dump {
	struct netlink_sk *v;
	size_t nr;
	size_t cap;
};

/* The NETLINKSK row of the fd kinds (fd-kind.h). */

bool netlink_sk_match(const struct fd_probe *p);

/* Records the socket of @p (read through p->dup_fd). Returns 0, -errno or -EOPNOTSUPP (logged). */
__attribute__((warn_unused_result)) int netlink_sk_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);

/* Appends one NETLINKSK file_entry per socket to @img (files.img). */
__attribute__((warn_unused_result)) int netlink_sk_write_files(const struct files_dump *fdump, struct cr_img *img);

void netlink_sk_dump_free(struct files_dump *fdump);

/* Checks a NETLINKSK file_entry of @img_name. Returns 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int netlink_sk_check_entry(const FileEntry *fe, const char *img_name);

/* Creates in criu every netlink socket the process's fds need. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int netlink_sk_open(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_SK_NETLINK_H */
