/*
 * AF_UNIX sockets, the UNIXSK kind of fd (stream, datagram and seqpacket).
 *
 * Dump: what sock_diag tells of each socket (sk-diag.h: type, state, name,
 * peer, queue lengths, shutdown, in-flight connections), its options, the
 * mode and owner of a path-bound socket's file (SIOCUNIXFILE), as
 * unix_sk_entry in files.img; its receive queue, peeked without consuming
 * it (MSG_PEEK from SO_PEEK_OFF 0, offset put back afterwards), in
 * sk-queues.img as sk_packet_entry records, each followed by its bytes, one
 * per datagram; the files a packet carries (SCM_RIGHTS: any kind but terminals)
 * recorded as files of files.img of their own, named in its scm entry. After the fd walk every peer is checked against the
 * process's sockets: both ends of a connection must be dumped, but with
 * --ext-unix-sk for a datagram socket connected to a bound one outside.
 *
 * Restore, in criu before the fork: both ends of a connection are made once,
 * by socketpair(); bound sockets are bound (a stale socket file unlinked
 * first; mode and owner put back), listeners listen, queues are refilled
 * by their peer's end (or a helper end of a socketpair that is then closed),
 * packets with the files they carry, which criu made before,
 * datagram sockets connect to their bound peer and in-flight clients to
 * their listener, then options, shutdown and O_NONBLOCK. Every socket is
 * settled at its fd number by the generic code (FD_KIND_SETTLE).
 */
#ifndef CRIU_NG_SK_UNIX_H
#define CRIU_NG_SK_UNIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-kind.h"
#include "files-reg.h"
#include "sk-diag.h"
#include "sk-opts.h"

#include "fdinfo.pb-c.h"

struct cr_img;

/* unix_sk_entry.uflags (CRIU's): the entry is a socket outside the dump that one of ours is connected to. */
#define USK_EXTERN 0x1

struct unix_sk_opts {
	struct sk_opts_common common;
	bool passcred, passsec;
};

/* One packet of a receive queue: where its bytes lie in the socket's queue buffer. */
struct unix_sk_pkt {
	size_t off;
	uint32_t len;
	uint8_t alen;	  /* its sender's address: 0 when unnamed */
	char addr[108];	  /* sun_path */
	uint32_t *rights; /* the files it carries in flight (SCM_RIGHTS), by id in files.img */
	uint32_t nr_rights;
};

/* One socket of the dumped process. */
struct unix_sk {
	uint32_t id;
	int fd;	   /* the first fd on it found in the tree, for messages */
	pid_t pid; /* the process holding that fd */
	uint32_t flags;
	uint32_t peer; /* the inode written as its peer: the diag's, or an in-flight client's listener */
	struct reg_fown fown;
	const struct sk_diag_unix *d;
	struct unix_sk_opts opts;
	char *name_dir; /* a relative name's directory */
	bool deleted;	/* bound to a path that was unlinked since */
	bool has_perms;
	uint32_t mode, uid, gid;
	uint8_t *qdata; /* its receive queue */
	size_t qlen;
	struct unix_sk_pkt *pkts;
	size_t nr_pkts;
};

/* A socket outside the dump that a datagram socket of ours sends to (--ext-unix-sk). */
struct unix_sk_ext {
	uint32_t id;
	const struct sk_diag_unix *d;
};

struct unix_sk_dump {
	struct sk_diag_unix_table diag;
	struct unix_sk *v;
	size_t nr, cap;
	struct unix_sk_ext *ext;
	size_t nr_ext, cap_ext;
	bool ext_unix_sk;    /* --ext-unix-sk */
	bool skip_in_flight; /* --skip-in-flight: connections to our listeners from outside are dropped */
	/* Processes of the tree are still to be collected: the peers are checked after the last. */
	bool more_procs;
};

/* The UNIXSK row of the fd kinds (fd-kind.h). */
bool unix_sk_match(const struct fd_probe *p);
__attribute__((warn_unused_result)) int unix_sk_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);
/* Checks every socket's peer against the process's sockets; refuses a connection leaving the dump. */
__attribute__((warn_unused_result)) int unix_sk_finish(struct files_dump *fdump, pid_t pid);
__attribute__((warn_unused_result)) int unix_sk_write_files(const struct files_dump *fdump, struct cr_img *img);
/* sk-queues.img, when a socket has queued data. */
__attribute__((warn_unused_result)) int unix_sk_write_queues(const struct files_dump *fdump, int dirfd);
void unix_sk_dump_free(struct files_dump *fdump);

__attribute__((warn_unused_result)) int unix_sk_check_entry(const FileEntry *fe, const char *img_name);
/* Every peer named by an entry is an entry of files.img. */
__attribute__((warn_unused_result)) int unix_sk_check_restore(const struct restore_image *ri);
/* Reads sk-queues.img (if any) into ri->kind_state[FD_KIND_UNIXSK]. */
__attribute__((warn_unused_result)) int unix_sk_load(int dirfd, struct restore_image *ri);
void unix_sk_load_free(struct restore_image *ri);
/* Whether file @i of @ri->files is in flight in a queued packet (sk-queues.img). */
bool unix_sk_in_flight(const struct restore_image *ri, size_t i);
/* Creates every unix socket of the process, connected, bound and with its queues. 0 or -errno. */
__attribute__((warn_unused_result)) int unix_sk_open(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_SK_UNIX_H */
