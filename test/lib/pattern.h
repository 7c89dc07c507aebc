/*
 * pattern.h: the verifiable byte streams the test connections carry. Every byte is a function of
 * (stream, offset), so a receiver can check any piece of a stream without keeping a copy: a lost,
 * duplicated, reordered or foreign byte shows up at its exact offset.
 */
#ifndef TEST_LIB_PATTERN_H
#define TEST_LIB_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* The stream id of one direction of connection @conn. */
static inline uint32_t pattern_stream(uint32_t conn, int to_peer)
{
	return conn * 2 + (to_peer ? 1 : 0);
}

uint8_t pattern_byte(uint32_t stream, uint64_t off);
void pattern_fill(uint8_t *buf, uint32_t stream, uint64_t off, size_t len);

/* The index in @buf of the first byte that is not the stream's, or -1 if all are. */
long pattern_check(const uint8_t *buf, uint32_t stream, uint64_t off, size_t len);

#endif /* TEST_LIB_PATTERN_H */
