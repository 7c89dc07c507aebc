/*
 * stats-dump: where the time of a dump went and how many pages it wrote, in
 * CRIU's format (CRIU's zdtm checks the page counts against the pages images).
 */
#ifndef CRIU_NG_STATS_H
#define CRIU_NG_STATS_H

#include <stdint.h>

struct dump_stats {
	uint64_t freezing_us;
	uint64_t frozen_us;
	uint64_t memdump_us;
	uint64_t memwrite_us;
	uint64_t pages_scanned;
	uint64_t pages_written;
	uint64_t shpages_scanned; /* shared anonymous memory, counted apart as CRIU does */
	uint64_t shpages_written;
};

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t stats_now_us(void);

/* Prints @st on stdout (--display-stats). */
void stats_dump_display(const struct dump_stats *st);

/* Writes stats-dump in @dirfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int stats_dump_write(int dirfd, const struct dump_stats *st);

#endif /* CRIU_NG_STATS_H */
