/*
 * stats-dump and stats-restore: the timings of a dump or a restore
 * (microseconds, capped to 32 bits as the format has them) and page counts.
 */
#include <stdint.h>
#include <time.h>

#include "ngutil.h"
#include "image.h"
#include "stats.h"

#include "stats.pb-c.h"

#define LOG_PREFIX ""
#include "log.h"

uint64_t stats_now_us(void)
{
	return ng_now_us();
}

static uint32_t cap32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void stats_dump_display(const struct dump_stats *st)
{
	pr_msg("Dump statistics:\n");
	pr_msg("  freezing time:        %llu us\n", (unsigned long long)st->freezing_us);
	pr_msg("  frozen time:          %llu us\n", (unsigned long long)st->frozen_us);
	pr_msg("  fds and sockets:      %llu us\n", (unsigned long long)st->fds_us);
	pr_msg("  network lock:         %llu us\n", (unsigned long long)st->lock_us);
	pr_msg("  TCP extraction:       %llu us (%llu connections)\n", (unsigned long long)st->tcp_dump_us,
	       (unsigned long long)st->tcp_conns);
	pr_msg("  TCP image write:      %llu us\n", (unsigned long long)st->tcp_write_us);
	pr_msg("  memory scan time:     %llu us\n", (unsigned long long)st->memdump_us);
	pr_msg("  memory write time:    %llu us\n", (unsigned long long)st->memwrite_us);
	pr_msg("  memory pages scanned: %llu\n", (unsigned long long)st->pages_scanned);
	pr_msg("  memory pages written: %llu\n", (unsigned long long)st->pages_written);
	pr_msg("  shmem pages scanned:  %llu\n", (unsigned long long)st->shpages_scanned);
	pr_msg("  shmem pages written:  %llu\n", (unsigned long long)st->shpages_written);
}

int stats_dump_write(int dirfd, const struct dump_stats *st)
{
	DumpStatsEntry ds = DUMP_STATS_ENTRY__INIT;
	StatsEntry e = STATS_ENTRY__INIT;
	struct cr_img *img;
	int ret, cret;

	ds.freezing_time = cap32(st->freezing_us);
	ds.frozen_time = cap32(st->frozen_us);
	ds.memdump_time = cap32(st->memdump_us);
	ds.memwrite_time = cap32(st->memwrite_us);
	ds.pages_scanned = st->pages_scanned;
	ds.pages_skipped_parent = 0;
	ds.pages_written = st->pages_written;
	ds.pages_lazy = 0;
	ds.has_shpages_scanned = 1;
	ds.shpages_scanned = st->shpages_scanned;
	ds.has_shpages_written = 1;
	ds.shpages_written = st->shpages_written;
	e.dump = &ds;
	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_STATS_DUMP);
	if (ret)
		return ret;
	ret = img_write_entry(img, &e);
	cret = img_close(img);
	return ret ?: cret;
}

void stats_restore_display(const struct restore_stats *st)
{
	pr_msg("Restore statistics:\n");
	pr_msg("  files open time:      %llu us\n", (unsigned long long)st->files_us);
	pr_msg("  socket rebuild:       %llu us\n", (unsigned long long)st->sockets_us);
	pr_msg("  TCP rebuild:          %llu us (%llu connections)\n", (unsigned long long)st->tcp_restore_us,
	       (unsigned long long)st->tcp_conns);
	pr_msg("  forking time:         %llu us\n", (unsigned long long)st->forking_us);
	pr_msg("  memory restore time:  %llu us\n", (unsigned long long)st->memory_us);
	pr_msg("  socket rebuild wait:  %llu us (after the memory restore)\n", (unsigned long long)st->rebuild_wait_us);
	pr_msg("  threads restore time: %llu us\n", (unsigned long long)st->threads_us);
	pr_msg("  TCP repair off:       %llu us\n", (unsigned long long)st->repair_off_us);
	pr_msg("  network unlock:       %llu us\n", (unsigned long long)st->unlock_us);
	pr_msg("  total restore time:   %llu us\n", (unsigned long long)st->restore_us);
	pr_msg("  pages restored:       %llu\n", (unsigned long long)st->pages_restored);
}

int stats_restore_write(int dirfd, const struct restore_stats *st)
{
	RestoreStatsEntry rs = RESTORE_STATS_ENTRY__INIT;
	StatsEntry e = STATS_ENTRY__INIT;
	struct cr_img *img;
	int ret, cret;

	/* Every page is written from the images: none compared with a parent's, none left to COW. */
	rs.pages_compared = 0;
	rs.pages_skipped_cow = 0;
	rs.forking_time = cap32(st->forking_us);
	rs.restore_time = cap32(st->restore_us);
	rs.has_pages_restored = 1;
	rs.pages_restored = st->pages_restored;
	e.restore = &rs;
	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_STATS_RESTORE);
	if (ret)
		return ret;
	ret = img_write_entry(img, &e);
	cret = img_close(img);
	return ret ?: cret;
}
