/*
 * Ghost files: an unlinked file a process still holds open is dumped with its
 * contents, as CRIU does, into ghost-file-ID.img (a ghost_file_entry with the
 * file's attributes, then the raw contents up to the end of the image for a
 * file under three pages, else CRIU's chunks: a ghost_chunk_entry and its bytes
 * per stretch of data, so holes stay holes); a removed directory (a working
 * directory, root or fd) or an unlinked FIFO (its bytes go to fifo-data.img)
 * with its attributes only.
 */
#ifndef CRIU_NG_FILES_GHOST_H
#define CRIU_NG_FILES_GHOST_H

#include <stdint.h>
#include <sys/stat.h>

/* Largest ghost file dumped, CRIU's default --ghost-limit: like CRIU's, it bounds the size, holes included. */
#define GHOST_FILE_LIMIT (1u << 20)

/*
 * Checks that the unlinked file @path (as the process sees it) with attributes
 * @st can be dumped as a ghost: a regular file no larger than GHOST_FILE_LIMIT,
 * a FIFO, or a directory (removed, so empty).
 * Returns 0 or -EOPNOTSUPP / -EFBIG with the reason logged.
 */
__attribute__((warn_unused_result)) int ghost_file_check(const struct stat *st, const char *path);

/*
 * Writes ghost-file-@ghost_id.img in @dirfd: @st's attributes and, for a regular
 * file, its st_size bytes read from @src_fd (pread; from three pages on, only
 * the data between holes, found with SEEK_DATA/SEEK_HOLE: @src_fd must be an
 * open file of criu's own, since its offset moves).
 * Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int ghost_file_write(int dirfd, uint32_t ghost_id, int src_fd,
							 const struct stat *st, const char *path);

#endif /* CRIU_NG_FILES_GHOST_H */
