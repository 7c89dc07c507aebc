/*
 * The socket options every kind of socket records the same way (see
 * include/sk-opts.h).
 */
#include "sk-opts.h"

void sk_opts_fill_common(const struct sk_opts_common *o, SkOptsEntry *e)
{
	e->so_sndbuf = o->sndbuf;
	e->so_rcvbuf = o->rcvbuf;
	e->so_snd_tmo_sec = o->snd_tmo_us / 1000000;
	e->so_snd_tmo_usec = o->snd_tmo_us % 1000000;
	e->so_rcv_tmo_sec = o->rcv_tmo_us / 1000000;
	e->so_rcv_tmo_usec = o->rcv_tmo_us % 1000000;
	e->has_so_priority = 1, e->so_priority = o->priority;
	e->has_so_rcvlowat = 1, e->so_rcvlowat = o->rcvlowat;
	e->has_so_mark = 1, e->so_mark = o->mark;
	e->has_so_buf_lock = 1, e->so_buf_lock = o->buf_lock;
}
