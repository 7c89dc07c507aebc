/*
 * stats-dump and stats-restore: where the time of a dump or a restore went and
 * how many pages it wrote or restored, in CRIU's format (CRIU's zdtm checks the
 * page counts against the pages images).
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
	uint64_t fds_us;       /* fds and sockets collected (sock_diag, options) */
	uint64_t lock_us;      /* network lock on the TCP connections */
	uint64_t tcp_dump_us;  /* TCP state and queues taken (libsoccr) */
	uint64_t tcp_write_us; /* the TCP streams written */
	uint64_t tcp_conns;
};

/* The phases of a restore, in microseconds, and the pages it wrote into the process. */
struct restore_stats {
	uint64_t files_us;	  /* opening the files the process needs */
	uint64_t forking_us;	  /* clone3 until the child stops for criu */
	uint64_t memory_us;	  /* the address space: VMAs and pages */
	uint64_t threads_us;	  /* threads, signals, timers, registers */
	uint64_t sockets_us;	  /* sockets rebuilt (part of files_us) */
	uint64_t tcp_restore_us;  /* TCP connections rebuilt in repair mode (part of sockets_us) */
	uint64_t rebuild_wait_us; /* the memory restored, waiting for the connections rebuilt beside it */
	uint64_t repair_off_us;
	uint64_t unlock_us; /* network lock lifted, connections probed */
	uint64_t tcp_conns;
	uint64_t restore_us;	 /* the whole restore, images read to the process running */
	uint64_t pages_restored; /* private and shared anonymous pages: all of pages-*.img */
};

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t stats_now_us(void);

/* Prints @st on stdout (--display-stats). */
void stats_dump_display(const struct dump_stats *st);

/* Writes stats-dump in @dirfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int stats_dump_write(int dirfd, const struct dump_stats *st);

/* Prints @st on stdout (--display-stats on restore). */
void stats_restore_display(const struct restore_stats *st);

/* Writes stats-restore in @dirfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int stats_restore_write(int dirfd, const struct restore_stats *st);

#endif /* CRIU_NG_STATS_H */
