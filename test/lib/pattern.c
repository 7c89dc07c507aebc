/*
 * pattern.c: the byte streams of the test connections (see pattern.h). A 64-bit mix of the
 * stream id and the offset's 8-byte block gives eight bytes at a time.
 */
#include "pattern.h"

static uint64_t pattern_word(uint32_t stream, uint64_t block)
{
	uint64_t x = ((uint64_t)stream << 40) ^ block ^ 0x9e3779b97f4a7c15ull;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

uint8_t pattern_byte(uint32_t stream, uint64_t off)
{
	return (uint8_t)(pattern_word(stream, off >> 3) >> ((off & 7) * 8));
}

void pattern_fill(uint8_t *buf, uint32_t stream, uint64_t off, size_t len)
{
	uint64_t block = off >> 3;
	uint64_t word = pattern_word(stream, block);
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t o = off + i;

		if ((o >> 3) != block) {
			block = o >> 3;
			word = pattern_word(stream, block);
		}
		buf[i] = (uint8_t)(word >> ((o & 7) * 8));
	}
}

long pattern_check(const uint8_t *buf, uint32_t stream, uint64_t off, size_t len)
{
	uint64_t block = off >> 3;
	uint64_t word = pattern_word(stream, block);
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t o = off + i;

		if ((o >> 3) != block) {
			block = o >> 3;
			word = pattern_word(stream, block);
		}
		if (buf[i] != (uint8_t)(word >> ((o & 7) * 8)))
			return (long)i;
	}
	return -1;
}
