/*
 * The socket options every kind of socket records the same way (SOL_SOCKET:
 * buffers, their lock, priority, low water mark, mark, timeouts), and their
 * sk_opts_entry fields in CRIU's format. Each kind reads them its own way
 * (sk-inet.c in one batch with the rest, sk-unix.c one by one) and adds the
 * options of its own to the entry.
 */
#ifndef CRIU_NG_SK_OPTS_H
#define CRIU_NG_SK_OPTS_H

#include <stdint.h>

#include "sk-opts.pb-c.h"

struct sk_opts_common {
	uint32_t sndbuf, rcvbuf; /* as getsockopt reports them (doubled by the kernel) */
	uint32_t buf_lock;	 /* SO_BUF_LOCK: 1 send, 2 receive: the size was set by the application */
	uint32_t priority, rcvlowat, mark;
	uint64_t snd_tmo_us, rcv_tmo_us;
};

/* Reads the SOL_SOCKET int option @name of @fd into *@v. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int sk_opt_get_int(int fd, int name, uint32_t *v);

/* Reads the options of @o from the socket @fd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int sk_opts_read_common(int fd, struct sk_opts_common *o);

/* Fills the fields of @e that @o holds. */
void sk_opts_fill_common(const struct sk_opts_common *o, SkOptsEntry *e);

#endif /* CRIU_NG_SK_OPTS_H */
