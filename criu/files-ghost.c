/*
 * Ghost files: the contents and attributes of an unlinked file a process holds
 * open, in ghost-file-ID.img (ghost_file_entry, then the raw bytes, no chunks).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files-ghost.h"
#include "image.h"

#include "ghost-file.pb-c.h"

#define LOG_PREFIX "ghost: "
#include "log.h"

#define GHOST_COPY_CHUNK (64u << 10)

int ghost_file_check(const struct stat *st, const char *path)
{
	if (S_ISDIR(st->st_mode))
		return 0; /* removed, so empty: its attributes are all there is */
	if (!S_ISREG(st->st_mode)) {
		pr_err("the unlinked file %s is neither a regular file nor a directory (mode %#o): not supported yet\n",
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

/* Copies @size bytes of @src_fd from offset 0 into @img. */
static int copy_contents(struct cr_img *img, int src_fd, uint64_t size, const char *path)
{
	char *buf = malloc(GHOST_COPY_CHUNK);
	uint64_t off = 0;
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

int ghost_file_write(int dirfd, uint32_t ghost_id, int src_fd, const struct stat *st, const char *path)
{
	GhostFileEntry entry = GHOST_FILE_ENTRY__INIT;
	Timeval accessed = TIMEVAL__INIT, modified = TIMEVAL__INIT;
	struct cr_img *img;
	int ret, close_ret;

	/* The whole contents of a regular file follow the entry, in one piece; a directory has none. */
	if (S_ISREG(st->st_mode))
		entry.has_size = 1, entry.size = (uint64_t)st->st_size;
	entry.has_chunks = 1, entry.chunks = 0;
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
	if (!ret && S_ISREG(st->st_mode))
		ret = copy_contents(img, src_fd, (uint64_t)st->st_size, path);
	close_ret = img_close(img);
	return ret ?: close_ret;
}
