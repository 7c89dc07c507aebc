/*
 * criu restore: unlinked ("ghost") files, recreated, opened and unlinked again
 * (see include/restore-ghost.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "files-ghost.h"
#include "image.h"
#include "ngutil.h"
#include "restore-ghost.h"

#include "remap-file-path.pb-c.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define MAX_GHOSTS 4096
/* Pages of zeroes in a dense ghost are left as holes, at this granularity. */
#define GHOST_PAGE 4096u

/* The dense layout: the contents as they are, up to the end of the image (CRIU writes no size for it). */
static int load_dense(struct cr_img *img, struct restore_ghost *g)
{
	GhostFileEntry *gf = g->gf;
	size_t want = gf->has_size ? (size_t)gf->size : GHOST_FILE_LIMIT, got;
	void *data;
	int ret;

	g->data = malloc(want + 1);
	if (!g->data)
		return -ENOMEM;
	ret = img_read_raw_upto(img, g->data, want + 1, &got);
	if (ret)
		return ret;
	if (got > want) {
		pr_err("%s: more than %zu bytes of contents\n", img_name(img), want);
		return -EIO;
	}
	if (gf->has_size && got != gf->size) {
		pr_err("%s: %zu bytes of contents for a file of %llu bytes\n", img_name(img), got,
		       (unsigned long long)gf->size);
		return -EIO;
	}
	data = realloc(g->data, got ? got : 1);
	if (data)
		g->data = data;
	gf->has_size = 1, gf->size = got;
	g->chunks = calloc(1, sizeof(*g->chunks));
	if (!g->chunks)
		return -ENOMEM;
	g->chunks[0].len = got;
	g->nr_chunks = got ? 1 : 0;
	return 0;
}

/* Checks the chunk @ce read after @next bytes of a file of @size bytes, and adds it to @g with its bytes. */
static int add_chunk(struct cr_img *img, struct restore_ghost *g, const GhostChunkEntry *ce, uint64_t *next,
		     uint64_t *at, size_t *cap)
{
	uint64_t size = g->gf->size;
	int ret;

	if (ce->off < *next || ce->off > size || ce->len > size - ce->off) {
		pr_err("%s: chunk %zu (%llu bytes at %llu) overlaps the one before it or passes the size %llu\n",
		       img_name(img), g->nr_chunks, (unsigned long long)ce->len, (unsigned long long)ce->off,
		       (unsigned long long)size);
		return -EINVAL;
	}
	ret = ARRAY_RESERVE(g->chunks, g->nr_chunks, *cap, 8);
	if (ret)
		return ret;
	/* the chunks are apart and within the size: their bytes fit in the gf->size bytes of g->data */
	ret = img_read_raw(img, (char *)g->data + *at, (size_t)ce->len);
	if (ret)
		return ret;
	g->chunks[g->nr_chunks].off = ce->off;
	g->chunks[g->nr_chunks].len = ce->len;
	g->chunks[g->nr_chunks].at = *at;
	g->nr_chunks++;
	*at += ce->len;
	*next = ce->off + ce->len;
	return 0;
}

/* CRIU's chunked layout: ghost_chunk_entry then its bytes, to the end of the image; the rest are holes. */
static int load_chunks(struct cr_img *img, struct restore_ghost *g)
{
	uint64_t next = 0, at = 0;
	size_t cap = 0;
	int ret;

	g->data = malloc(g->gf->size ? g->gf->size : 1);
	if (!g->data)
		return -ENOMEM;
	for (;;) {
		GhostChunkEntry *ce;

		ret = img_read_entry_as(img, &ghost_chunk_entry__descriptor, (void **)&ce);
		if (ret || !ce)
			return ret;
		ret = add_chunk(img, g, ce, &next, &at, &cap);
		img_free_entry(ce);
		if (ret)
			return ret;
	}
}

static int load_ghost(int dirfd, struct restore_ghost *g)
{
	struct cr_img *img;
	bool chunks;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_GHOST_FILE, g->ghost_id);
	if (ret)
		return ret;
	ret = img_read_entry(img, (void **)&g->gf);
	if (!ret && !g->gf) {
		pr_err("%s: no ghost_file_entry\n", img_name(img));
		ret = -EIO;
	}
	if (ret)
		goto close_img;
	chunks = g->gf->has_chunks && g->gf->chunks;
	/* a directory or a FIFO: its attributes only, whatever size the entry says (CRIU writes none) */
	if (S_ISDIR(g->gf->mode) || S_ISFIFO(g->gf->mode)) {
		g->gf->has_size = 0, g->gf->size = 0;
		goto close_img;
	}
	if (!S_ISREG(g->gf->mode) || (chunks && !g->gf->has_size) || g->gf->size > GHOST_FILE_LIMIT) {
		pr_err("%s: mode %#o, %llu bytes%s: only directories, FIFOs and regular files up to %u bytes "
		       "are supported\n",
		       img_name(img), g->gf->mode, (unsigned long long)g->gf->size,
		       chunks && !g->gf->has_size ? " in chunks, no size" : "", GHOST_FILE_LIMIT);
		ret = -EOPNOTSUPP;
		goto close_img;
	}
	ret = chunks ? load_chunks(img, g) : load_dense(img, g);
close_img:
	img_close(img);
	return ret;
}

static int add_remap(struct restore_image *ri, const RemapFilePathEntry *e, const char *name, size_t *cap)
{
	struct restore_ghost *all;
	int ret;

	bool linked = e->has_remap_type && e->remap_type == REMAP_TYPE__LINKED;

	if (!linked && (!e->has_remap_type || e->remap_type != REMAP_TYPE__GHOST)) {
		pr_err("%s: file %u is remapped in a way other than a ghost file or a link: not supported yet\n", name,
		       e->orig_id);
		return -EOPNOTSUPP;
	}
	if (linked && !restore_images_file(ri, e->remap_id)) {
		pr_err("%s: file %u is linked to file %u, which is not a regular file of files.img\n", name, e->orig_id,
		       e->remap_id);
		return -EINVAL;
	}
	if (!restore_images_file(ri, e->orig_id) || ri->nr_ghosts >= MAX_GHOSTS) {
		pr_err("%s: file %u is not a regular file of files.img, or one ghost too many\n", name, e->orig_id);
		return -EINVAL;
	}
	ret = ARRAY_RESERVE(ri->ghosts, ri->nr_ghosts, *cap, 16);
	if (ret)
		return ret;
	all = ri->ghosts;
	memset(&all[ri->nr_ghosts], 0, sizeof(*all));
	all[ri->nr_ghosts].file_id = e->orig_id;
	if (linked)
		all[ri->nr_ghosts].link_id = e->remap_id;
	else
		all[ri->nr_ghosts].ghost_id = e->remap_id;
	ri->nr_ghosts++;
	return 0;
}

static int cmp_ghost_file(const void *a, const void *b)
{
	uint32_t x = ((const struct restore_ghost *)a)->file_id, y = ((const struct restore_ghost *)b)->file_id;

	return (x > y) - (x < y);
}

/* Sorts the ghosts by file id, for restore_ghost_find(), and refuses a file remapped twice. */
static int index_ghosts(struct restore_image *ri, const char *name)
{
	if (ri->nr_ghosts)
		qsort(ri->ghosts, ri->nr_ghosts, sizeof(*ri->ghosts), cmp_ghost_file);
	for (size_t i = 1; i < ri->nr_ghosts; i++)
		if (ri->ghosts[i].file_id == ri->ghosts[i - 1].file_id) {
			pr_err("%s: file %u is remapped twice\n", name, ri->ghosts[i].file_id);
			return -EINVAL;
		}
	return 0;
}

int restore_ghosts_load(int dirfd, struct restore_image *ri)
{
	struct cr_img *img;
	size_t cap = 0;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ_OPTIONAL, CR_IMG_REMAP_FPATH);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (;;) {
		void *msg;

		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		ret = add_remap(ri, msg, img_name(img), &cap);
		img_free_entry(msg);
		if (ret)
			break;
	}
	if (!ret)
		ret = index_ghosts(ri, img_name(img));
	img_close(img);
	for (size_t i = 0; !ret && i < ri->nr_ghosts; i++)
		if (!ri->ghosts[i].link_id)
			ret = load_ghost(dirfd, &ri->ghosts[i]);
	return ret;
}

void restore_ghosts_free(struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_ghosts; i++) {
		img_free_entry(ri->ghosts[i].gf);
		free(ri->ghosts[i].data);
		free(ri->ghosts[i].chunks);
	}
	free(ri->ghosts);
	ri->ghosts = NULL;
	ri->nr_ghosts = 0;
}

const struct restore_ghost *restore_ghost_find(const struct restore_image *ri, uint32_t id)
{
	struct restore_ghost key = { .file_id = id };

	if (!ri->nr_ghosts)
		return NULL;
	return bsearch(&key, ri->ghosts, ri->nr_ghosts, sizeof(*ri->ghosts), cmp_ghost_file);
}

/* A new file, FIFO or directory at @path, opened: the fd, or -errno (-EEXIST when the name is taken). */
static int open_new(const char *path, mode_t mode)
{
	int fd, ret;

	if (S_ISFIFO(mode)) {
		if (mknod(path, S_IFIFO | 0600, 0) < 0)
			return -errno;
		/* O_RDWR: a FIFO opens without waiting for the other side */
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		ret = -errno;
		if (unlink(path) < 0)
			pr_perror("Can't remove the FIFO %s", path);
		return ret;
	}
	if (!S_ISDIR(mode)) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
		return fd < 0 ? -errno : fd;
	}
	if (mkdir(path, 0700) < 0)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	ret = -errno;
	if (rmdir(path) < 0)
		pr_perror("Can't remove the directory %s", path);
	return ret;
}

/* Creates the file (or directory) at @path, or at a free name beside it; @path gets the name used. */
static int create_at(char *path, size_t size, mode_t mode)
{
	size_t len = strlen(path);
	int fd = open_new(path, mode);

	for (unsigned int i = 0; fd == -EEXIST && i < 100; i++) {
		if ((size_t)snprintf(path + len, size - len, ".criu-ghost.%u", i) >= size - len)
			break;
		fd = open_new(path, mode);
	}
	if (fd < 0) {
		errno = -fd;
		pr_perror("Can't recreate the unlinked %s %s",
			  S_ISDIR(mode)	 ? "directory" :
			  S_ISFIFO(mode) ? "FIFO" :
					   "file",
			  path);
	}
	return fd;
}

static bool all_zero(const char *buf, size_t len)
{
	return !len || (!buf[0] && !memcmp(buf, buf + 1, len - 1));
}

/*
 * Writes the dense contents of a small file skipping its pages of zeroes, so that
 * its holes (or any zeroed page) stay holes; the file was truncated to its size.
 */
static int write_dense(int fd, const char *buf, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += GHOST_PAGE) {
		uint64_t n = len - off < GHOST_PAGE ? len - off : GHOST_PAGE;
		int ret = all_zero(buf + off, (size_t)n) ? 0 : ng_pwrite_full(fd, buf + off, (size_t)n, off);

		if (ret)
			return ret;
	}
	return 0;
}

/* Gives the new file @fd its size (holes where no chunk is), its data, owner, mode and times. */
static int fill_ghost(int fd, const struct restore_ghost *g)
{
	const GhostFileEntry *gf = g->gf;
	struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	bool dense = !gf->has_chunks || !gf->chunks;
	int ret;

	if (S_ISREG(gf->mode) && ftruncate(fd, (off_t)gf->size) < 0)
		return -errno;
	for (size_t i = 0; i < g->nr_chunks; i++) {
		const struct restore_ghost_chunk *c = &g->chunks[i];
		const char *buf = (const char *)g->data + c->at;

		ret = dense ? write_dense(fd, buf, c->len) : ng_pwrite_full(fd, buf, (size_t)c->len, c->off);
		if (ret)
			return ret;
	}
	if (gf->atim)
		times[0].tv_sec = (time_t)gf->atim->tv_sec, times[0].tv_nsec = (long)gf->atim->tv_usec * 1000;
	if (gf->mtim)
		times[1].tv_sec = (time_t)gf->mtim->tv_sec, times[1].tv_nsec = (long)gf->mtim->tv_usec * 1000;
	if (fchown(fd, gf->uid, gf->gid) < 0 || fchmod(fd, gf->mode & 07777) < 0 || futimens(fd, times) < 0)
		return -errno;
	return 0;
}

static bool has_inode(const GhostFileEntry *g)
{
	return g && g->has_dev && g->has_ino;
}

static int cmp_inode(const void *a, const void *b, void *arg)
{
	const struct restore_ghost *all = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const GhostFileEntry *x = all[i].gf, *y = all[j].gf;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return (i > j) - (i < j);
}

/*
 * For each ghost, the first ghost that is the same dumped inode (itself when
 * none comes before it), in @first; found by sorting, not by pairs.
 */
static int same_inodes(const struct restore_image *ri, size_t *first)
{
	size_t *order = calloc(ri->nr_ghosts ? ri->nr_ghosts : 1, sizeof(*order));
	size_t n = 0;

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < ri->nr_ghosts; i++) {
		first[i] = i;
		if (has_inode(ri->ghosts[i].gf))
			order[n++] = i;
	}
	qsort_r(order, n, sizeof(*order), cmp_inode, ri->ghosts);
	for (size_t k = 1; k < n; k++) {
		const GhostFileEntry *g = ri->ghosts[order[k]].gf, *p = ri->ghosts[order[k - 1]].gf;

		if (g->dev == p->dev && g->ino == p->ino)
			first[order[k]] = first[order[k - 1]];
	}
	free(order);
	return 0;
}

/* Links the link remap of @g at @path, or at a free name beside it; @path gets the name used. */
static int link_at(const struct restore_image *ri, const struct restore_ghost *g, char *path, size_t size)
{
	const RegFileEntry *lnk = restore_images_file(ri, g->link_id);
	size_t len = strlen(path);
	int ret = link(lnk->name, path) < 0 ? -errno : 0;

	for (unsigned int i = 0; ret == -EEXIST && i < 100; i++) {
		if ((size_t)snprintf(path + len, size - len, ".criu-ghost.%u", i) >= size - len)
			break;
		ret = link(lnk->name, path) < 0 ? -errno : 0;
	}
	if (ret) {
		errno = -ret;
		pr_perror("Can't link %s (the link remap of the unlinked %s) to %s", lnk->name,
			  restore_images_file(ri, g->file_id)->name, path);
		return ret;
	}
	pr_info("unlinked file %s linked again from %s as %s\n", restore_images_file(ri, g->file_id)->name, lnk->name,
		path);
	return 0;
}

static int create_one(const struct restore_image *ri, size_t i, char **out)
{
	const struct restore_ghost *g = &ri->ghosts[i];
	const RegFileEntry *reg = restore_images_file(ri, g->file_id);
	char path[PATH_MAX + 32];
	int fd, ret;

	if ((size_t)snprintf(path, sizeof(path), "%s", reg->name) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (g->link_id) {
		ret = link_at(ri, g, path, sizeof(path));
		if (!ret)
			*out = strdup(path);
		return ret ?: (*out ? 0 : -ENOMEM);
	}
	fd = create_at(path, sizeof(path), (mode_t)g->gf->mode);
	if (fd < 0)
		return fd;
	*out = strdup(path);
	ret = *out ? fill_ghost(fd, g) : -ENOMEM;
	close(fd);
	if (ret) {
		errno = -ret;
		pr_perror("Can't fill the recreated unlinked file %s", path);
		return ret;
	}
	pr_info("unlinked file %s (%llu bytes) recreated as %s\n", reg->name, (unsigned long long)g->gf->size, path);
	return 0;
}

int restore_ghosts_create(const struct restore_image *ri, struct restore_ghost_files *files)
{
	size_t *first;
	int ret;

	files->paths = calloc(ri->nr_ghosts ? ri->nr_ghosts : 1, sizeof(*files->paths));
	first = calloc(ri->nr_ghosts ? ri->nr_ghosts : 1, sizeof(*first));
	if (!files->paths || !first) {
		free(first);
		return -ENOMEM;
	}
	files->nr = ri->nr_ghosts;
	ret = same_inodes(ri, first);
	for (size_t i = 0; !ret && i < ri->nr_ghosts; i++) {
		if (first[i] != i)
			files->paths[i] = strdup(files->paths[first[i]]);
		else
			ret = create_one(ri, i, &files->paths[i]);
		if (!ret && !files->paths[i])
			ret = -ENOMEM;
	}
	free(first);
	return ret;
}

const char *restore_ghost_path(const struct restore_image *ri, const struct restore_ghost_files *files, uint32_t id)
{
	const struct restore_ghost *g = restore_ghost_find(ri, id);
	size_t i = g ? (size_t)(g - ri->ghosts) : 0;

	return g && i < files->nr ? files->paths[i] : NULL;
}

const char *restore_ghost_path_of_inode(const struct restore_image *ri, const struct restore_ghost_files *files,
					uint32_t dev, uint64_t ino)
{
	for (size_t i = 0; i < ri->nr_ghosts && i < files->nr; i++) {
		const GhostFileEntry *gf = ri->ghosts[i].gf;

		if (has_inode(gf) && gf->dev == dev && gf->ino == ino && files->paths[i])
			return files->paths[i];
	}
	return NULL;
}

void restore_ghosts_drop_links(const struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_ghosts; i++) {
		const RegFileEntry *lnk = ri->ghosts[i].link_id ? restore_images_file(ri, ri->ghosts[i].link_id) : NULL;

		if (lnk && unlink(lnk->name) < 0 && errno != ENOENT)
			pr_perror("Can't remove the link remap %s", lnk->name);
	}
}

void restore_ghosts_remove(struct restore_ghost_files *files)
{
	for (size_t i = 0; files->paths && i < files->nr; i++) {
		const char *path = files->paths[i];

		if (path && unlink(path) < 0 && (errno != EISDIR || rmdir(path) < 0) && errno != ENOENT)
			pr_perror("Can't remove the recreated file %s", path);
		free(files->paths[i]);
	}
	free(files->paths);
	files->paths = NULL;
	files->nr = 0;
}
