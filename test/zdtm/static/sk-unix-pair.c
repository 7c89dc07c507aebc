/*
 * sk-unix-pair: socketpairs of the three unix socket types (stream, datagram,
 * seqpacket), each with data queued both ways and not read. After restore
 * each end reads exactly what the other had sent, datagram and record
 * boundaries kept, and nothing more; then both ends still talk to each other.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_MSGS 4
#define MAX_MSG 70000

static const size_t sizes[NR_MSGS] = { 1, 777, 4096, 65000 };
static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
static const char *const names[] = { "stream", "dgram", "seqpacket" };

#define NR_TYPES (int)(sizeof(types) / sizeof(types[0]))

static int pairs[NR_TYPES][2];
static uint8_t buf[MAX_MSG], want[MAX_MSG];

static uint32_t seed_of(int t, int end, int msg)
{
	return (uint32_t)(t * 100 + end * 10 + msg + 1);
}

/* Message @msg from end @end of pair @t. */
static int send_msg(int t, int end, int msg, size_t len)
{
	datagen_seed(buf, len, seed_of(t, end, msg));
	if (send(pairs[t][end], buf, len, 0) != (ssize_t)len) {
		fail("%s: send of %zu bytes from end %d", names[t], len, end);
		return -1;
	}
	return 0;
}

static int recv_exact(int fd, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* End @end of pair @t reads what the other end sent as messages @first..@first+@nr-1. */
static int expect_msgs(int t, int end, int first, int nr)
{
	int fd = pairs[t][end];

	for (int m = first; m < first + nr; m++) {
		size_t len = sizes[m % NR_MSGS];

		datagen_seed(want, len, seed_of(t, !end, m));
		if (types[t] == SOCK_STREAM) {
			if (recv_exact(fd, len)) {
				fail("%s: end %d: message %d (%zu bytes) is missing", names[t], end, m, len);
				return -1;
			}
		} else {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n != (ssize_t)len) {
				fail("%s: end %d: message %d is %zd bytes, expected %zu", names[t], end, m, n, len);
				return -1;
			}
		}
		if (memcmp(buf, want, len)) {
			fail("%s: end %d: message %d differs", names[t], end, m);
			return -1;
		}
	}
	if (recv(fd, buf, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN) {
		fail("%s: end %d: more queued than was sent", names[t], end);
		return -1;
	}
	return 0;
}

static int check_type(int t)
{
	int type = 0;
	socklen_t len = sizeof(type);

	for (int end = 0; end < 2; end++)
		if (getsockopt(pairs[t][end], SOL_SOCKET, SO_TYPE, &type, &len) || type != types[t]) {
			fail("%s: end %d has type %d", names[t], end, type);
			return -1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (int t = 0; t < NR_TYPES; t++) {
		if (socketpair(AF_UNIX, types[t], 0, pairs[t])) {
			fail("socketpair %s", names[t]);
			return 1;
		}
		for (int m = 0; m < NR_MSGS; m++)
			if (send_msg(t, 0, m, sizes[m]) || send_msg(t, 1, m, sizes[NR_MSGS - 1 - m] % 3000 + 1))
				return 1;
	}

	test_daemon();
	test_waitsig();

	for (int t = 0; t < NR_TYPES; t++) {
		if (check_type(t) || expect_msgs(t, 1, 0, NR_MSGS))
			return 1;
		/* end 0's messages were sized differently: check them one by one */
		for (int m = 0; m < NR_MSGS; m++) {
			size_t len = sizes[NR_MSGS - 1 - m] % 3000 + 1;
			ssize_t n;

			datagen_seed(want, len, seed_of(t, 1, m));
			if (types[t] == SOCK_STREAM)
				n = recv_exact(pairs[t][0], len) ? -1 : (ssize_t)len;
			else
				n = recv(pairs[t][0], buf, sizeof(buf), MSG_DONTWAIT);
			if (n != (ssize_t)len || memcmp(buf, want, len)) {
				fail("%s: end 0: message %d (%zu bytes) wrong or missing (%zd)", names[t], m, len, n);
				return 1;
			}
		}
		/* both ends still connected, both ways */
		if (send_msg(t, 0, NR_MSGS, sizes[0]) || expect_msgs(t, 1, NR_MSGS, 1) ||
		    send_msg(t, 1, NR_MSGS + 1, sizes[1]) || expect_msgs(t, 0, NR_MSGS + 1, 1))
			return 1;
	}
	pass();
	return 0;
}
