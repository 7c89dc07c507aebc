/*
 * Reading and writing CRIU-format image files.
 *
 * Layout: [first magic][image magic] then entries, each a 32-bit little-endian
 * size followed by that many bytes of packed protobuf; some images put raw data
 * after an entry (tcp-stream: the queues). inventory.img has no first magic and
 * raw images (pages-ID.img) have no header at all (see images/magic.h).
 *
 * Writers are buffered; readers check the magic, bound every entry size by
 * IMG_ENTRY_MAX_SIZE and check for truncation and undecodable entries. Every
 * failure is reported with the image's file name and the entry's index and
 * returned as -errno: -EINVAL for bad content, -EIO for a truncated file,
 * -ENOENT for a missing one, or the error of the failing system call.
 *
 * A struct cr_img belongs to one thread at a time.
 */
#ifndef CRIU_NG_IMAGE_H
#define CRIU_NG_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "image-desc.h"

/* Largest entry a reader accepts and a writer produces. */
#define IMG_ENTRY_MAX_SIZE (16u << 20)
#define IMG_BUF_SIZE (64u << 10)
#define IMG_NAME_MAX 128

enum img_open_mode {
	IMG_READ,
	IMG_READ_OPTIONAL, /* like IMG_READ, but a missing file is -ENOENT without a message */
	IMG_WRITE,	   /* create or truncate */
};

struct cr_img;

/*
 * Opens the image of kind @type in @dirfd, its name formatted from the table's
 * pattern and the variadic arguments (e.g. a pid). Reading checks the header;
 * writing writes it. Returns 0 and sets *@img, or -errno.
 */
__attribute__((warn_unused_result)) int img_open(struct cr_img **img, int dirfd, enum img_open_mode mode,
						 enum cr_img_type type, ...);

/*
 * Flushes a writer and closes. Returns 0 or the first write error of the image's
 * life (a writer that failed once fails its close). Frees @img in every case.
 */
int img_close(struct cr_img *img);

const char *img_name(const struct cr_img *img);
/* The file of a raw image (no header, nothing buffered), for a tool that reads or writes it. */
int img_raw_fd(const struct cr_img *img);
enum cr_img_type img_type(const struct cr_img *img);

/* Appends one entry (a generated protobuf-c struct, any type). */
__attribute__((warn_unused_result)) int img_write_entry(struct cr_img *img, const void *msg);

/* Appends raw bytes after the last entry. */
__attribute__((warn_unused_result)) int img_write_raw(struct cr_img *img, const void *buf, size_t len);

/*
 * Reads the next entry as the image's entry type (img_read_entry) or as @desc
 * (img_read_entry_as, e.g. a pagemap's head). Sets *@msg to the decoded entry,
 * to be freed with img_free_entry(), or to NULL at a clean end of file.
 */
__attribute__((warn_unused_result)) int img_read_entry(struct cr_img *img, void **msg);
__attribute__((warn_unused_result)) int img_read_entry_as(struct cr_img *img, const ProtobufCMessageDescriptor *desc,
							  void **msg);

/* Reads the image's single entry: a missing entry is -EIO. */
__attribute__((warn_unused_result)) int img_read_one(struct cr_img *img, void **msg);

/* Reads exactly @len raw bytes that follow an entry; fewer left in the file is -EIO. */
__attribute__((warn_unused_result)) int img_read_raw(struct cr_img *img, void *buf, size_t len);

/* Reads the raw bytes that follow an entry up to the end of the file, at most @len: *@got says how many. */
__attribute__((warn_unused_result)) int img_read_raw_upto(struct cr_img *img, void *buf, size_t len, size_t *got);

void img_free_entry(void *msg);

#endif /* CRIU_NG_IMAGE_H */
