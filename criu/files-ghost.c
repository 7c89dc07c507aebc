/*
 * Ghost files: the contents and attributes of an unlinked file a process holds
 * open, in ghost-file-ID.img: the ghost_file_entry, then either the raw bytes
 * (a small file) or, as CRIU lays them out, for each stretch of data between
 * the file's holes a ghost_chunk_entry (offset, length) followed by its bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files-ghost.h"
#include "image.h"

#include "ghost-file.pb-c.h"

#define LOG_PREFIX "ghost: "
#include "log.h"

#define GHOST_COPY_CHUNK (64u << 10)
/* From this size on (CRIU's threshold: three pages) a file is written in chunks, skipping its holes. */
#define GHOST_CHUNKS_FROM (3u * 4096)

int ghost_file_check(const struct stat *st, const char *path)
{
	if (S_ISDIR(st->st_mode) || S_ISFIFO(st->st_mode))
		return 0; /* removed, so empty, or a FIFO whose bytes go with it: its attributes are all there is */
	if (!S_ISREG(st->st_mode)) {
		pr_err("the unlinked file %s is neither a regular file, a FIFO nor a directory (mode %#o): not supported "
		       "yet\n",
		       path, (unsigned int)st->st_mode);
		return -EOPNOTSUPP;
	}
	if ((uint64_t)st->st_size > GHOST_FILE_LIMIT) {
		pr_err("the unlinked file %s has %lld bytes, more than the ghost file limit of %u\n", path,
		       (long long)st->st_size, GHOST_FILE_LIMIT);
		return -EFBIG;
	}
	return 0;
}

/* Copies the @len bytes of @src_fd at @start into @img. */
static int copy_contents(struct cr_img *img, int src_fd, uint64_t start, uint64_t len, const char *path)
{
	char *buf = malloc(GHOST_COPY_CHUNK);
	uint64_t off = start, size = start + len;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (!ret && off < size) {
		size_t want = size - off < GHOST_COPY_CHUNK ? size - off : GHOST_COPY_CHUNK;
		ssize_t n = pread(src_fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pr_perror("Can't read the unlinked file %s at %llu", path, (unsigned long long)off);
			ret = -errno;
		} else if (n == 0) {
			pr_err("the unlinked file %s ended at %llu of %llu bytes while being dumped\n", path,
			       (unsigned long long)off, (unsigned long long)size);
			ret = -EIO;
		} else {
			ret = img_write_raw(img, buf, (size_t)n);
			off += (uint64_t)n;
		}
	}
	free(buf);
	return ret;
}

/*
 * The data stretch of @fd at or after @from and before @size, in [*@data, *@end):
 * 1 when there is one, 0 when only holes are left, or -errno. A file system
 * without SEEK_DATA gives the whole file as data.
 */
static int next_data(int fd, uint64_t from, uint64_t size, uint64_t *data, uint64_t *end, const char *path)
{
	off_t d = lseek(fd, (off_t)from, SEEK_DATA), h;

	if (d < 0 && errno == ENXIO)
		return 0;
	if (d < 0 && errno == EINVAL && from == 0) {
		*data = 0, *end = size;
		return size > 0;
	}
	if (d < 0) {
		pr_perror("Can't find data in the unlinked file %s after %llu", path, (unsigned long long)from);
		return -errno;
	}
	h = lseek(fd, d, SEEK_HOLE);
	if (h < 0) {
		pr_perror("Can't find a hole in the unlinked file %s after %lld", path, (long long)d);
		return -errno;
	}
	if ((uint64_t)d >= size)
		return 0;
	*data = (uint64_t)d;
	*end = (uint64_t)h < size ? (uint64_t)h : size;
	return 1;
}

/* Writes the data of @src_fd (@size bytes, holes left out) as chunks: a ghost_chunk_entry, then its bytes. */
static int write_chunks(struct cr_img *img, int src_fd, uint64_t size, const char *path)
{
	uint64_t from = 0, data = 0, end = 0;
	int ret;

	while (from < size) {
		GhostChunkEntry chunk = GHOST_CHUNK_ENTRY__INIT;

		ret = next_data(src_fd, from, size, &data, &end, path);
		if (ret <= 0)
			return ret;
		chunk.off = data;
		chunk.len = end - data;
		ret = img_write_entry(img, &chunk);
		if (!ret)
			ret = copy_contents(img, src_fd, data, end - data, path);
		if (ret)
			return ret;
		from = end;
	}
	return 0;
}

int ghost_file_write(int dirfd, uint32_t ghost_id, int src_fd, const struct stat *st, const char *path)
{
	GhostFileEntry entry = GHOST_FILE_ENTRY__INIT;
	Timeval accessed = TIMEVAL__INIT, modified = TIMEVAL__INIT;
	struct cr_img *img;
	bool chunks = S_ISREG(st->st_mode) && (uint64_t)st->st_size >= GHOST_CHUNKS_FROM;
	int ret, close_ret;

	/* A regular file's contents follow the entry, in one piece or in chunks; a directory has none. */
	if (S_ISREG(st->st_mode))
		entry.has_size = 1, entry.size = (uint64_t)st->st_size;
	entry.has_chunks = 1, entry.chunks = chunks;
	/* Which inode it was (fds on the same one share the recreated file), its owner and mode. */
	entry.has_dev = 1, entry.dev = (uint32_t)st->st_dev;
	entry.has_ino = 1, entry.ino = st->st_ino;
	entry.mode = st->st_mode;
	entry.uid = st->st_uid;
	entry.gid = st->st_gid;
	/* Its times, to the microsecond the image keeps. */
	accessed.tv_sec = (uint64_t)st->st_atim.tv_sec;
	accessed.tv_usec = (uint64_t)st->st_atim.tv_nsec / 1000;
	entry.atim = &accessed;
	modified.tv_sec = (uint64_t)st->st_mtim.tv_sec;
	modified.tv_usec = (uint64_t)st->st_mtim.tv_nsec / 1000;
	entry.mtim = &modified;
	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_GHOST_FILE, (unsigned int)ghost_id);
	if (ret)
		return ret;
	ret = img_write_entry(img, &entry);
	if (!ret && chunks)
		ret = write_chunks(img, src_fd, (uint64_t)st->st_size, path);
	else if (!ret && S_ISREG(st->st_mode))
		ret = copy_contents(img, src_fd, 0, (uint64_t)st->st_size, path);
	close_ret = img_close(img);
	return ret ?: close_ret;
}
