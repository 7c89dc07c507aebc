/*
 * tcp-streams.img: the streams of every TCP connection of a dump in one file
 * (Documentation/tcp-images.md). After the usual two magics (IMG_COMMON_MAGIC,
 * TCP_STREAMS_MAGIC): one struct tcp_pack_head, head.nr fixed-size records in
 * ascending inode order, then the data area: for each record at data_off its
 * receive queue (inq_len bytes) followed by its send queue (outq_len bytes).
 * Every integer is little-endian. The fields are those of CRIU's tcp-stream
 * entry; the socket's options and state stay in its inet_sk_entry.
 */
#ifndef CRIU_NG_TCP_PACK_H
#define CRIU_NG_TCP_PACK_H

#include <stdint.h>

#define TCP_STREAMS_MAGIC 0x61637073
#define TCP_PACK_VERSION 1

/* tcp_pack_rec.flags */
#define TCP_PACK_HAS_WINDOW (1u << 0) /* snd_wl1 .. rcv_wup were read */

struct tcp_pack_head {
	uint32_t version;  /* TCP_PACK_VERSION */
	uint32_t rec_size; /* sizeof(struct tcp_pack_rec) */
	uint64_t nr;	   /* records */
	uint64_t data_len; /* bytes of the data area */
};

struct tcp_pack_rec {
	uint32_t ino;
	uint32_t flags; /* TCP_PACK_HAS_* */
	uint32_t inq_len;
	uint32_t inq_seq;
	uint32_t outq_len;
	uint32_t outq_seq;
	uint32_t unsq_len;
	uint32_t opt_mask;
	uint32_t snd_wscale;
	uint32_t rcv_wscale;
	uint32_t mss_clamp;
	uint32_t timestamp;
	uint32_t snd_wl1;
	uint32_t snd_wnd;
	uint32_t max_window;
	uint32_t rcv_wnd;
	uint32_t rcv_wup;
	uint32_t nodelay;
	uint32_t cork;
	uint32_t reserved;
	uint64_t data_off; /* in the data area */
};

#endif /* CRIU_NG_TCP_PACK_H */
