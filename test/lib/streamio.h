/*
 * streamio.h: read and write the pattern streams (pattern.h) of many non-blocking sockets at once,
 * with one deadline for all: each socket is tried directly, the ones that would block wait in
 * one epoll set. Every byte read is checked; what went wrong is kept per connection in a report.
 */
#ifndef TEST_LIB_STREAMIO_H
#define TEST_LIB_STREAMIO_H

#include <stddef.h>
#include <stdint.h>

enum sio_fail_kind {
	SIO_FAIL_DATA = 1,  /* a byte is not the stream's */
	SIO_FAIL_ERROR,	    /* the socket call failed */
	SIO_FAIL_TIMEOUT,   /* the deadline passed first */
	SIO_FAIL_EARLY_EOF, /* the stream ended before all its bytes came */
	SIO_FAIL_NO_EOF,    /* more data where the end of the stream was due */
	SIO_FAIL_EXTRA,	    /* more bytes than were sent, or an end that was not sent */
};

struct sio_fail {
	uint32_t idx;	       /* connection */
	uint32_t kind;	       /* SIO_FAIL_* */
	uint32_t stream;       /* pattern stream: tells the direction */
	int32_t err;	       /* SIO_FAIL_ERROR: -errno */
	uint64_t off;	       /* stream offset where it went wrong */
	uint64_t want;	       /* the offset the operation had to reach */
	uint8_t expected, got; /* SIO_FAIL_DATA */
};

#define SIO_REPORT_MAX 8

struct sio_report {
	uint32_t nfail; /* connections that failed */
	uint32_t nkept; /* the first ones, kept here */
	struct sio_fail fail[SIO_REPORT_MAX];
};

struct sio_item {
	int fd;
	uint32_t idx;	 /* connection index, for the report */
	uint32_t stream; /* the stream read or written */
	uint64_t *pos;	 /* bytes of the stream read (written) so far; advanced */
	uint64_t target; /* read (write) until *pos reaches it */
	int eof;	 /* read: then the stream must end */
	/* read: once complete, write reply_len bytes of reply_stream at *reply_pos (a round trip) */
	uint32_t reply_stream;
	uint32_t reply_len;
	uint64_t *reply_pos;
	int done; /* set by sio_read/sio_write */
};

/* Both return 0 if every item completed, -EPROTO if some failed (see @rep), or -errno. */
int sio_read(struct sio_item *items, size_t n, unsigned int timeout_ms, struct sio_report *rep);
int sio_write(struct sio_item *items, size_t n, unsigned int timeout_ms, struct sio_report *rep);

void sio_report_init(struct sio_report *rep);
void sio_report_add(struct sio_report *rep, const struct sio_fail *f);
void sio_report_merge(struct sio_report *dst, const struct sio_report *src);
/* One line per kept failure on stderr, "@who: conn IDX: ..." */
void sio_report_print(const char *who, const struct sio_report *rep);

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t sio_now_ms(void);

#endif /* TEST_LIB_STREAMIO_H */
