/*
 * streamio.c: many sockets' pattern streams read, checked and written under one deadline
 * (see streamio.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "ngutil.h"
#include "pattern.h"
#include "streamio.h"

#define SIO_BUF_SIZE (64 * 1024)
#define SIO_EVENTS 256

enum {
	STEP_DONE,
	STEP_AGAIN,
	STEP_FAILED
};

uint64_t sio_now_ms(void)
{
	return ng_now_ms();
}

void sio_report_init(struct sio_report *rep)
{
	memset(rep, 0, sizeof(*rep));
}

void sio_report_add(struct sio_report *rep, const struct sio_fail *f)
{
	rep->nfail++;
	if (rep->nkept < SIO_REPORT_MAX)
		rep->fail[rep->nkept++] = *f;
}

void sio_report_merge(struct sio_report *dst, const struct sio_report *src)
{
	uint32_t i;

	for (i = 0; i < src->nkept; i++)
		sio_report_add(dst, &src->fail[i]);
	dst->nfail += src->nfail - src->nkept;
}

static const char *direction(uint32_t stream)
{
	return (stream & 1) ? "server->peer" : "peer->server";
}

void sio_report_print(const char *who, const struct sio_report *rep)
{
	uint32_t i;

	for (i = 0; i < rep->nkept; i++) {
		const struct sio_fail *f = &rep->fail[i];
		const char *dir = direction(f->stream);
		unsigned long long off = (unsigned long long)f->off, want = (unsigned long long)f->want;

		switch (f->kind) {
		case SIO_FAIL_DATA:
			fprintf(stderr, "%s: conn %u: %s byte %llu is 0x%02x, expected 0x%02x\n", who, f->idx, dir, off,
				f->got, f->expected);
			break;
		case SIO_FAIL_ERROR:
			fprintf(stderr, "%s: conn %u: %s at byte %llu of %llu: %s\n", who, f->idx, dir, off, want,
				strerror(-f->err));
			break;
		case SIO_FAIL_TIMEOUT:
			fprintf(stderr, "%s: conn %u: %s timed out at byte %llu of %llu\n", who, f->idx, dir, off,
				want);
			break;
		case SIO_FAIL_EARLY_EOF:
			fprintf(stderr, "%s: conn %u: %s ended at byte %llu of %llu\n", who, f->idx, dir, off, want);
			break;
		case SIO_FAIL_NO_EOF:
			fprintf(stderr, "%s: conn %u: %s has data after byte %llu where its end was due\n", who, f->idx,
				dir, off);
			break;
		case SIO_FAIL_EXTRA:
			fprintf(stderr, "%s: conn %u: %s has %s after its last byte %llu\n", who, f->idx, dir,
				f->err ? "an end the sender never sent" : "more data", off);
			break;
		default:
			fprintf(stderr, "%s: conn %u: %s failure %u at byte %llu\n", who, f->idx, dir, f->kind, off);
			break;
		}
	}
	if (rep->nfail > rep->nkept)
		fprintf(stderr, "%s: ... and %u more failed connections\n", who, rep->nfail - rep->nkept);
}

static int step_fail(struct sio_item *it, struct sio_report *rep, uint32_t kind, uint64_t off, int err)
{
	struct sio_fail f = {
		.idx = it->idx,
		.kind = kind,
		.stream = it->stream,
		.err = err,
		.off = off,
		.want = it->target,
	};

	if (kind == SIO_FAIL_DATA) {
		f.expected = pattern_byte(it->stream, off);
		f.got = (uint8_t)err;
		f.err = 0;
	}
	sio_report_add(rep, &f);
	it->done = -1;
	return STEP_FAILED;
}

static int reply(struct sio_item *it, uint8_t *buf, struct sio_report *rep)
{
	ssize_t r;

	if (!it->reply_len)
		return STEP_DONE;
	pattern_fill(buf, it->reply_stream, *it->reply_pos, it->reply_len);
	r = send(it->fd, buf, it->reply_len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r != (ssize_t)it->reply_len) {
		struct sio_fail f = {
			.idx = it->idx,
			.kind = SIO_FAIL_ERROR,
			.stream = it->reply_stream,
			.err = r < 0 ? -errno : -EAGAIN,
			.off = *it->reply_pos,
			.want = *it->reply_pos + it->reply_len,
		};

		sio_report_add(rep, &f);
		it->done = -1;
		return STEP_FAILED;
	}
	*it->reply_pos += it->reply_len;
	return STEP_DONE;
}

/* After the last expected byte: the end of the stream if due, else nothing more yet. */
static int read_tail(struct sio_item *it, uint8_t *buf, struct sio_report *rep)
{
	ssize_t r = recv(it->fd, buf, 1, MSG_DONTWAIT | (it->eof ? 0 : MSG_PEEK));

	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return it->eof ? STEP_AGAIN : reply(it, buf, rep);
		return step_fail(it, rep, SIO_FAIL_ERROR, *it->pos, -errno);
	}
	if (r > 0)
		return step_fail(it, rep, it->eof ? SIO_FAIL_NO_EOF : SIO_FAIL_EXTRA, *it->pos, 0);
	if (!it->eof)
		return step_fail(it, rep, SIO_FAIL_EXTRA, *it->pos, 1);
	return reply(it, buf, rep);
}

static int read_step(struct sio_item *it, uint8_t *buf, struct sio_report *rep)
{
	while (*it->pos < it->target) {
		uint64_t left = it->target - *it->pos;
		size_t len = left < SIO_BUF_SIZE ? (size_t)left : SIO_BUF_SIZE;
		ssize_t r = recv(it->fd, buf, len, MSG_DONTWAIT);
		long bad;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return STEP_AGAIN;
			return step_fail(it, rep, SIO_FAIL_ERROR, *it->pos, -errno);
		}
		if (r == 0)
			return step_fail(it, rep, SIO_FAIL_EARLY_EOF, *it->pos, 0);
		bad = pattern_check(buf, it->stream, *it->pos, (size_t)r);
		if (bad >= 0)
			return step_fail(it, rep, SIO_FAIL_DATA, *it->pos + (uint64_t)bad, buf[bad]);
		*it->pos += (uint64_t)r;
	}
	return read_tail(it, buf, rep);
}

static int write_step(struct sio_item *it, uint8_t *buf, struct sio_report *rep)
{
	while (*it->pos < it->target) {
		uint64_t left = it->target - *it->pos;
		size_t len = left < SIO_BUF_SIZE ? (size_t)left : SIO_BUF_SIZE;
		ssize_t r;

		pattern_fill(buf, it->stream, *it->pos, len);
		r = send(it->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return STEP_AGAIN;
			return step_fail(it, rep, SIO_FAIL_ERROR, *it->pos, -errno);
		}
		*it->pos += (uint64_t)r;
	}
	return STEP_DONE;
}

typedef int (*step_fn)(struct sio_item *it, uint8_t *buf, struct sio_report *rep);

/* Run @step on every item until each is done or failed, or the deadline passes. */
static int sio_run(struct sio_item *items, size_t n, unsigned int timeout_ms, struct sio_report *rep, step_fn step,
		   uint32_t events)
{
	uint64_t deadline = sio_now_ms() + timeout_ms;
	struct epoll_event evs[SIO_EVENTS];
	size_t i, pending = 0;
	uint32_t failed_before = rep->nfail;
	uint8_t *buf;
	int epfd, ret = 0;

	buf = malloc(SIO_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		ret = -errno;
		goto out_free_buf;
	}
	for (i = 0; i < n; i++) {
		struct epoll_event ev = { .events = events, .data.u64 = i };

		items[i].done = 0;
		if (step(&items[i], buf, rep) != STEP_AGAIN) {
			if (!items[i].done)
				items[i].done = 1;
			continue;
		}
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, items[i].fd, &ev) < 0) {
			step_fail(&items[i], rep, SIO_FAIL_ERROR, *items[i].pos, -errno);
			continue;
		}
		pending++;
	}
	while (pending) {
		uint64_t now = sio_now_ms();
		int nev, k;

		if (now >= deadline)
			break;
		nev = epoll_wait(epfd, evs, SIO_EVENTS, (int)(deadline - now));
		if (nev < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out_close_epfd;
		}
		for (k = 0; k < nev; k++) {
			struct sio_item *it = &items[evs[k].data.u64];

			if (it->done || step(it, buf, rep) == STEP_AGAIN)
				continue;
			if (!it->done)
				it->done = 1;
			pending--;
			if (epoll_ctl(epfd, EPOLL_CTL_DEL, it->fd, NULL) < 0) {
				ret = -errno;
				goto out_close_epfd;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (!items[i].done)
			step_fail(&items[i], rep, SIO_FAIL_TIMEOUT, *items[i].pos, 0);
	if (rep->nfail != failed_before)
		ret = -EPROTO;
out_close_epfd:
	close(epfd);
out_free_buf:
	free(buf);
	return ret;
}

int sio_read(struct sio_item *items, size_t n, unsigned int timeout_ms, struct sio_report *rep)
{
	return sio_run(items, n, timeout_ms, rep, read_step, EPOLLIN | EPOLLRDHUP);
}

int sio_write(struct sio_item *items, size_t n, unsigned int timeout_ms, struct sio_report *rep)
{
	return sio_run(items, n, timeout_ms, rep, write_step, EPOLLOUT);
}
