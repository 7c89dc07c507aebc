/*
 * CRIU-format image files: header, buffered entry writer, checked entry reader.
 * The format and the error conventions are described in include/image.h.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ngutil.h"
#include "image.h"
#include "magic.h"

#define LOG_PREFIX "image: "
#include "log.h"

struct cr_img {
	int fd;
	enum img_open_mode mode;
	enum cr_img_type type;
	const struct cr_img_desc *desc;
	/* Entries read or written so far: the index of the next one. */
	unsigned int nr_entries;
	/* Writer: first error met; every later call fails with it. */
	int error;
	/* Reader: unread bytes are buf[pos, len). Writer: buf[0, len) is pending. */
	size_t pos;
	size_t len;
	char name[IMG_NAME_MAX];
	unsigned char buf[IMG_BUF_SIZE];
};

const char *img_name(const struct cr_img *img)
{
	return img->name;
}

int img_raw_fd(const struct cr_img *img)
{
	return img->fd;
}

enum cr_img_type img_type(const struct cr_img *img)
{
	return img->type;
}

static ssize_t read_retry(int fd, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = read(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/*
 * Makes at least @want (<= IMG_BUF_SIZE) unread bytes sit in the buffer, unless the
 * file ends first. Returns the number of unread bytes buffered, or -errno.
 */
static ssize_t img_ensure(struct cr_img *img, size_t want)
{
	if (img->len - img->pos >= want)
		return img->len - img->pos;

	memmove(img->buf, img->buf + img->pos, img->len - img->pos);
	img->len -= img->pos;
	img->pos = 0;
	while (img->len < want) {
		ssize_t n = read_retry(img->fd, img->buf + img->len, IMG_BUF_SIZE - img->len);

		if (n < 0) {
			errno = -n;
			pr_perror("%s: read failed", img->name);
			return n;
		}
		if (n == 0)
			break;
		img->len += n;
	}
	return img->len;
}

/* Copies up to @len bytes into @dst; *@got says how many (fewer at end of file). */
static int img_take(struct cr_img *img, void *dst, size_t len, size_t *got)
{
	unsigned char *out = dst;
	size_t done = 0;

	while (done < len) {
		size_t chunk, left = len - done;
		ssize_t n;

		if (img->pos == img->len && left >= IMG_BUF_SIZE) {
			/* Large raw reads bypass the buffer. */
			n = read_retry(img->fd, out + done, left);
			if (n < 0) {
				errno = -n;
				pr_perror("%s: read failed", img->name);
				return n;
			}
			if (n == 0)
				break;
			done += n;
			continue;
		}
		n = img_ensure(img, left < IMG_BUF_SIZE ? left : IMG_BUF_SIZE);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		chunk = (size_t)n < left ? (size_t)n : left;
		memcpy(out + done, img->buf + img->pos, chunk);
		img->pos += chunk;
		done += chunk;
	}
	*got = done;
	return 0;
}

static int img_flush(struct cr_img *img)
{
	int ret;

	if (img->error || !img->len)
		return img->error;
	ret = ng_write_full(img->fd, img->buf, img->len);
	img->len = 0;
	if (ret) {
		errno = -ret;
		pr_perror("%s: write failed", img->name);
		img->error = ret;
	}
	return ret;
}

/* Appends bytes through the buffer; large blocks go straight to the file. */
static int img_put(struct cr_img *img, const void *data, size_t len)
{
	int ret;

	if (img->error)
		return img->error;
	if (!len)
		return 0; /* an empty raw part (a connection with no queued data) may come with no buffer */
	if (len > IMG_BUF_SIZE - img->len) {
		ret = img_flush(img);
		if (ret)
			return ret;
	}
	if (len >= IMG_BUF_SIZE) {
		ret = ng_write_full(img->fd, data, len);
		if (ret) {
			errno = -ret;
			pr_perror("%s: write failed", img->name);
			img->error = ret;
		}
		return ret;
	}
	memcpy(img->buf + img->len, data, len);
	img->len += len;
	return 0;
}

static int img_put_u32(struct cr_img *img, uint32_t value)
{
	uint32_t le = htole32(value);

	return img_put(img, &le, sizeof(le));
}

static int img_write_header(struct cr_img *img)
{
	int ret = 0;

	if (img->desc->first_magic)
		ret = img_put_u32(img, img->desc->first_magic);
	if (!ret && img->desc->magic != RAW_IMAGE_MAGIC)
		ret = img_put_u32(img, img->desc->magic);
	return ret;
}

static int img_check_magic(struct cr_img *img, uint32_t expected, const char *what)
{
	uint32_t le;
	size_t got;
	int ret;

	ret = img_take(img, &le, sizeof(le), &got);
	if (ret)
		return ret;
	if (got < sizeof(le)) {
		pr_err("%s: truncated header: no %s magic\n", img->name, what);
		return -EIO;
	}
	if (le32toh(le) != expected) {
		pr_err("%s: bad %s magic 0x%08x, expected 0x%08x\n", img->name, what, le32toh(le), expected);
		return -EINVAL;
	}
	return 0;
}

static int img_read_header(struct cr_img *img)
{
	int ret = 0;

	if (img->desc->first_magic)
		ret = img_check_magic(img, img->desc->first_magic, "first");
	if (!ret && img->desc->magic != RAW_IMAGE_MAGIC)
		ret = img_check_magic(img, img->desc->magic, "image");
	return ret;
}

static int img_format_name(struct cr_img *img, const struct cr_img_desc *desc, va_list args)
{
	int n = vsnprintf(img->name, sizeof(img->name), desc->name_fmt, args);

	if (n < 0 || (size_t)n >= sizeof(img->name)) {
		pr_err("image name from pattern %s is too long\n", desc->name_fmt);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int img_open_fd(struct cr_img *img, int dirfd)
{
	if (img->mode == IMG_WRITE)
		img->fd = openat(dirfd, img->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	else
		img->fd = openat(dirfd, img->name, O_RDONLY | O_CLOEXEC);
	if (img->fd >= 0)
		return 0;
	if (!(errno == ENOENT && img->mode == IMG_READ_OPTIONAL))
		pr_perror("Can't open image %s", img->name);
	return -errno;
}

int img_open(struct cr_img **out, int dirfd, enum img_open_mode mode, enum cr_img_type type, ...)
{
	const struct cr_img_desc *desc = cr_img_desc_get(type);
	struct cr_img *img;
	va_list args;
	int ret;

	*out = NULL;
	if (!desc) {
		pr_err("unknown image type %d\n", type);
		return -EINVAL;
	}
	img = malloc(sizeof(*img));
	if (!img)
		return -ENOMEM;
	memset(img, 0, offsetof(struct cr_img, buf));
	img->fd = -1;
	img->mode = mode;
	img->type = type;
	img->desc = desc;

	va_start(args, type);
	ret = img_format_name(img, desc, args);
	va_end(args);
	if (ret)
		goto out_free;

	ret = img_open_fd(img, dirfd);
	if (ret)
		goto out_free;

	ret = mode == IMG_WRITE ? img_write_header(img) : img_read_header(img);
	if (ret)
		goto out_close;
	*out = img;
	return 0;

out_close:
	close(img->fd);
out_free:
	free(img);
	return ret;
}

int img_close(struct cr_img *img)
{
	int ret = 0;

	if (!img)
		return 0;
	if (img->mode == IMG_WRITE)
		ret = img_flush(img);
	if (close(img->fd) < 0 && img->mode == IMG_WRITE && !ret) {
		pr_perror("%s: close failed", img->name);
		ret = -errno;
	}
	free(img);
	return ret;
}

int img_write_entry(struct cr_img *img, const void *msg)
{
	const ProtobufCMessage *m = msg;
	unsigned char *tmp;
	size_t size;
	int ret;

	if (img->error)
		return img->error;
	if (!protobuf_c_message_check(m)) {
		pr_err("%s: entry %u: %s has a required field unset\n", img->name, img->nr_entries,
		       m->descriptor->name);
		return -EINVAL;
	}
	size = protobuf_c_message_get_packed_size(m);
	if (size > IMG_ENTRY_MAX_SIZE) {
		pr_err("%s: entry %u: %zu bytes, over the %u-byte limit\n", img->name, img->nr_entries, size,
		       IMG_ENTRY_MAX_SIZE);
		return -EINVAL;
	}

	if (sizeof(uint32_t) + size <= IMG_BUF_SIZE) {
		/* Common case: pack straight into the buffer. */
		if (sizeof(uint32_t) + size > IMG_BUF_SIZE - img->len) {
			ret = img_flush(img);
			if (ret)
				return ret;
		}
		ret = img_put_u32(img, (uint32_t)size);
		if (ret)
			return ret;
		img->len += protobuf_c_message_pack(m, img->buf + img->len);
		img->nr_entries++;
		return 0;
	}

	tmp = malloc(size);
	if (!tmp)
		return -ENOMEM;
	protobuf_c_message_pack(m, tmp);
	ret = img_put_u32(img, (uint32_t)size);
	if (!ret)
		ret = img_put(img, tmp, size);
	free(tmp);
	if (!ret)
		img->nr_entries++;
	return ret;
}

int img_write_raw(struct cr_img *img, const void *buf, size_t len)
{
	return img_put(img, buf, len);
}

static int img_read_payload(struct cr_img *img, uint32_t size, const ProtobufCMessageDescriptor *desc, void **msg)
{
	ProtobufCMessage *m;
	unsigned char *tmp = NULL;
	const unsigned char *data;
	size_t got;
	ssize_t avail;
	int ret;

	if (size <= IMG_BUF_SIZE) {
		avail = img_ensure(img, size);
		if (avail < 0)
			return avail;
		got = (size_t)avail < size ? (size_t)avail : size;
		data = img->buf + img->pos;
		img->pos += got;
	} else {
		tmp = malloc(size);
		if (!tmp)
			return -ENOMEM;
		ret = img_take(img, tmp, size, &got);
		if (ret)
			goto out_free;
		data = tmp;
	}
	if (got < size) {
		pr_err("%s: entry %u: truncated: %zu of %u bytes\n", img->name, img->nr_entries, got, size);
		ret = -EIO;
		goto out_free;
	}

	m = protobuf_c_message_unpack(desc, NULL, size, data);
	if (!m) {
		pr_err("%s: entry %u: %u bytes that don't decode as %s\n", img->name, img->nr_entries, size,
		       desc->name);
		ret = -EINVAL;
		goto out_free;
	}
	img->nr_entries++;
	*msg = m;
	ret = 0;
out_free:
	free(tmp);
	return ret;
}

int img_read_entry_as(struct cr_img *img, const ProtobufCMessageDescriptor *desc, void **msg)
{
	uint32_t size;
	ssize_t avail;

	*msg = NULL;
	if (img->mode == IMG_WRITE || !desc) {
		pr_err("%s: not an image of entries open for reading\n", img->name);
		return -EINVAL;
	}
	avail = img_ensure(img, sizeof(size));
	if (avail < 0)
		return avail;
	if (avail == 0)
		return 0; /* clean end of file */
	if ((size_t)avail < sizeof(size)) {
		pr_err("%s: entry %u: truncated size field (%zd of 4 bytes)\n", img->name, img->nr_entries, avail);
		return -EIO;
	}
	memcpy(&size, img->buf + img->pos, sizeof(size));
	img->pos += sizeof(size);
	size = le32toh(size);
	if (size > IMG_ENTRY_MAX_SIZE) {
		pr_err("%s: entry %u: size %u is over the %u-byte limit\n", img->name, img->nr_entries, size,
		       IMG_ENTRY_MAX_SIZE);
		return -EINVAL;
	}
	return img_read_payload(img, size, desc, msg);
}

int img_read_entry(struct cr_img *img, void **msg)
{
	return img_read_entry_as(img, img->desc->entry, msg);
}

int img_read_one(struct cr_img *img, void **msg)
{
	int ret = img_read_entry(img, msg);

	if (!ret && !*msg) {
		pr_err("%s: no entry in the image\n", img->name);
		return -EIO;
	}
	return ret;
}

int img_read_raw(struct cr_img *img, void *buf, size_t len)
{
	size_t got;
	int ret;

	if (img->mode == IMG_WRITE) {
		pr_err("%s: open for writing, not reading\n", img->name);
		return -EINVAL;
	}
	ret = img_take(img, buf, len, &got);
	if (ret)
		return ret;
	if (got < len) {
		pr_err("%s: data after entry %u truncated: %zu of %zu bytes\n", img->name,
		       img->nr_entries ? img->nr_entries - 1 : 0, got, len);
		return -EIO;
	}
	return 0;
}

int img_read_raw_upto(struct cr_img *img, void *buf, size_t len, size_t *got)
{
	if (img->mode == IMG_WRITE) {
		pr_err("%s: open for writing, not reading\n", img->name);
		return -EINVAL;
	}
	return img_take(img, buf, len, got);
}

void img_free_entry(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}
