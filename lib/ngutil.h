/*
 * Small helpers that criu, compel and the tests all need, written once: whole
 * reads and writes (at the file offset or at a given one) that retry on EINTR
 * and short counts, and the monotonic clock in the units callers measure in. Header-only (static inline), so each
 * part of the tree uses them without linking anything more. soccr/, an
 * installable library of its own, keeps its own copies.
 */
#ifndef CRIU_NG_LIB_NGUTIL_H
#define CRIU_NG_LIB_NGUTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Nanoseconds, microseconds, milliseconds of CLOCK_MONOTONIC. */
static inline uint64_t ng_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ng_now_us(void)
{
	return ng_now_ns() / 1000;
}

static inline uint64_t ng_now_ms(void)
{
	return ng_now_ns() / 1000000;
}

/* Reads @len bytes at offset @off of @fd, fewer only at the end of the file. The count read, or -errno. */
static inline ssize_t ng_pread_upto(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Reads exactly @len bytes at offset @off of @fd. 0, -errno, or -EIO at the end of the file. */
static inline int ng_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = ng_pread_upto(fd, buf, len, off);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EIO;
}

/* Reads exactly @len bytes from @fd. 0, -errno, or -EIO at the end of the file. */
static inline int ng_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Writes all @len bytes of @buf to @fd. 0 or -errno (-EIO if nothing could be written). */
static inline int ng_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes all @len bytes of @buf at offset @off of @fd. 0 or -errno (-EIO if nothing could be written). */
static inline int ng_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Sends all @len bytes of @buf on socket @fd, without SIGPIPE. 0 or -errno. */
static inline int ng_send_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif /* CRIU_NG_LIB_NGUTIL_H */
