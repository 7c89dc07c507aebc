/*
 * Fuzzing harness for the image readers of criu restore (see harness.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "image.h"
#include "ngutil.h"
#include "restore-images.h"
#include "restore-tty.h"
#include "sk-tcp.h"

#include "inventory.pb-c.h"

#define LOG_PREFIX "fuzz: "
#include "log.h"

static int put_file(int dirfd, const char *name, const uint8_t *data, size_t size)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ng_write_full(fd, data, size);
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

static int copy_file(int from_dirfd, int to_dirfd, const char *name)
{
	char buf[65536];
	int in = openat(from_dirfd, name, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;
	int ret = 0;

	if (in < 0)
		return -errno;
	out = openat(to_dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = -errno;
		goto out_close_in;
	}
	while (!ret && (n = read(in, buf, sizeof(buf))) != 0)
		ret = n < 0 ? -errno : ng_write_full(out, buf, (size_t)n);
	if (close(out) < 0 && !ret)
		ret = -errno;
out_close_in:
	close(in);
	return ret;
}

/* Copies the regular files of @from into @to_dirfd. */
static int copy_set(const char *from, int to_dirfd)
{
	DIR *d = opendir(from);
	struct dirent *de;
	int ret = 0;

	if (!d)
		return -errno;
	while (!ret && (de = readdir(d)))
		if (de->d_type == DT_REG)
			ret = copy_file(dirfd(d), to_dirfd, de->d_name);
	closedir(d);
	return ret;
}

int fuzz_setup(struct fuzz_ctx *ctx, const char *images, const char *target)
{
	const char *slash = strchr(target, '/');
	const char *tmp = getenv("TMPDIR");
	char from[PATH_MAX];
	int ret;

	memset(ctx, 0, sizeof(*ctx));
	ctx->dirfd = -1;
	if (!slash || !slash[1] || strchr(slash + 1, '/') || strlen(slash + 1) >= sizeof(ctx->file))
		return -EINVAL;
	snprintf(ctx->file, sizeof(ctx->file), "%s", slash + 1);
	if ((size_t)snprintf(from, sizeof(from), "%s/%.*s", images, (int)(slash - target), target) >= sizeof(from) ||
	    (size_t)snprintf(ctx->dir, sizeof(ctx->dir), "%s/criu-ng-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
		    sizeof(ctx->dir))
		return -ENAMETOOLONG;
	if (!mkdtemp(ctx->dir))
		return -errno;
	ctx->dirfd = open(ctx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = ctx->dirfd < 0 ? -errno : copy_set(from, ctx->dirfd);
	if (ret)
		fuzz_teardown(ctx);
	return ret;
}

static int read_inventory(int dirfd)
{
	struct cr_img *img;
	void *msg = NULL;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_INVENTORY);
	if (ret)
		return ret;
	ret = img_read_one(img, &msg);
	img_close(img);
	img_free_entry(msg);
	return ret;
}

int fuzz_run(const struct fuzz_ctx *ctx, const uint8_t *data, size_t size)
{
	struct restore_image *ris = NULL;
	struct sk_tcp_restore tcp;
	struct sk_tcp_cfg cfg = { .lock_mode = NETLOCK_SKIP };
	size_t nr = 0;
	int ret;

	ret = put_file(ctx->dirfd, ctx->file, data, size);
	if (ret)
		return ret;
	ret = read_inventory(ctx->dirfd);
	if (!ret)
		ret = restore_images_load(ctx->dirfd, &ris, &nr);
	if (!ret)
		ret = restore_tty_session(&ris[0], false);
	if (!ret) {
		memset(&tcp, 0, sizeof(tcp));
		cfg.pid = ris[0].pid;
		ret = sk_tcp_load(&tcp, ctx->dirfd, &ris[0], &cfg);
		sk_tcp_restore_free(&tcp);
	}
	for (size_t k = 0; k < nr; k++)
		restore_images_free(&ris[k]);
	free(ris);
	return ret;
}

void fuzz_teardown(struct fuzz_ctx *ctx)
{
	DIR *d;
	struct dirent *de;

	if (ctx->dirfd >= 0) {
		d = fdopendir(dup(ctx->dirfd));
		while (d && (de = readdir(d)))
			if (de->d_type == DT_REG)
				unlinkat(ctx->dirfd, de->d_name, 0);
		if (d)
			closedir(d);
		close(ctx->dirfd);
		ctx->dirfd = -1;
	}
	if (ctx->dir[0] && rmdir(ctx->dir) < 0)
		pr_perror("Can't remove %s", ctx->dir);
	ctx->dir[0] = '\0';
}
