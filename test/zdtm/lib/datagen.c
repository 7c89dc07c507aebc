/*
 * datagen.c: pattern data with a checksum. datagen() fills a buffer from a
 * xorshift generator and returns the CRC-32 of what it wrote; datachk() checks
 * the buffer still has that CRC.
 */
#include <errno.h>
#include <string.h>

#include "zdtmtst.h"

uint32_t data_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

void datagen_seed(void *buf, size_t len, uint32_t seed)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ seed;
	uint8_t *p = buf;
	size_t i = 0;

	if (!x)
		x = 1;
	while (i < len) {
		uint64_t word;
		size_t n = len - i < sizeof(word) ? len - i : sizeof(word);

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		word = x;
		memcpy(p + i, &word, n);
		i += n;
	}
}

void datagen(void *buf, size_t len, uint32_t *crc)
{
	/* The seed comes from where and how much, so no state is kept between calls. */
	datagen_seed(buf, len, (uint32_t)((uintptr_t)buf >> 4) ^ (uint32_t)len * 0x01000193u);
	*crc = data_crc32(buf, len);
}

int datachk(const void *buf, size_t len, uint32_t crc)
{
	return data_crc32(buf, len) == crc ? 0 : -EILSEQ;
}
