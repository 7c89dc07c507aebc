/*
 * fuzz-replay: the inputs the image fuzzers found (`make fuzz`), replayed
 * through the same harness (criu/fuzz/harness.h) in every `make test`, and in
 * the sanitizer job under ASAN and UBSAN.
 *
 * 1. Every image of every stored dump (test/fuzz/images/SET/FILE.img) is read
 *    as itself: the whole set must be accepted, so the harness reads what a
 *    restore reads and the fuzzers start from valid images.
 * 2. Every input under test/fuzz/inputs/SET/FILE/ (each once crashed or leaked
 *    in the reader of FILE) is put in place of FILE: the readers must come back
 *    (a crash kills this test) and refuse it.
 */
#include <dirent.h>
#include <stdarg.h>
#include <limits.h>
#include <string.h>

#include "criu-test.h"
#include "harness.h"
#include "log.h"

struct replay {
	char top[PATH_MAX];
	int failures;
	unsigned int seeds, inputs;
};

/* snprintf() that reports a path cut short (-ENAMETOOLONG) instead of using it. */
__attribute__((format(printf, 3, 4))) static int path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int read_input(const char *path, uint8_t **data, size_t *size)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	*size = (size_t)st.st_size;
	*data = malloc(*size ? *size : 1);
	n = *data ? read(fd, *data, *size) : -1;
	close(fd);
	return n == (ssize_t)*size ? 0 : -EIO;
}

/* Runs the harness on target @set/@file with the bytes of @path; returns its result, or 1 when it can't run. */
static int replay_one(struct replay *r, const char *set, const char *file, const char *path)
{
	char images[PATH_MAX], target[NAME_MAX * 2 + 2];
	struct fuzz_ctx ctx;
	uint8_t *data = NULL;
	size_t size = 0;
	int ret;

	ret = path_fmt(images, sizeof(images), "%s/test/fuzz/images", r->top) ?:
		      path_fmt(target, sizeof(target), "%s/%s", set, file)    ?:
										read_input(path, &data, &size);
	if (!ret)
		ret = fuzz_setup(&ctx, images, target);
	if (ret) {
		free(data);
		expect(&r->failures, 0, "%s: can't replay %s: %s", target, path, strerror(-ret));
		return 1;
	}
	ret = fuzz_run(&ctx, data, size);
	fuzz_teardown(&ctx);
	free(data);
	return ret;
}

static bool is_image(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && !strcmp(name + len - 4, ".img") && strncmp(name, "pages-", 6);
}

/* 1: each stored image read as itself. */
static void replay_seeds(struct replay *r, const char *set)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct dirent *de;
	DIR *d;

	d = path_fmt(dir, sizeof(dir), "%s/test/fuzz/images/%s", r->top, set) ? NULL : opendir(dir);
	expect(&r->failures, d, "can't open %s", dir);
	while (d && (de = readdir(d))) {
		int ret;

		if (!is_image(de->d_name))
			continue;
		ret = path_fmt(path, sizeof(path), "%s/%s", dir, de->d_name) ?: replay_one(r, set, de->d_name, path);
		expect(&r->failures, !ret, "%s/%s: the stored image itself is refused (%d)", set, de->d_name, ret);
		r->seeds++;
	}
	if (d)
		closedir(d);
}

/* 2: the inputs under inputs/SET/FILE/. */
static void replay_inputs(struct replay *r, const char *set, const char *file)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct dirent *de;
	DIR *d;

	d = path_fmt(dir, sizeof(dir), "%s/test/fuzz/inputs/%s/%s", r->top, set, file) ? NULL : opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		int ret;

		if (de->d_name[0] == '.')
			continue;
		fprintf(stderr, "replaying %s/%s: %s\n", set, file, de->d_name);
		ret = path_fmt(path, sizeof(path), "%s/%s", dir, de->d_name) ?: replay_one(r, set, file, path);
		expect(&r->failures, ret, "%s/%s: input %s is accepted, not refused", set, file, de->d_name);
		r->inputs++;
	}
	closedir(d);
}

/* Calls @fn for every subdirectory of @dir. */
static void for_each_dir(struct replay *r, const char *dir, const char *set,
			 void (*fn)(struct replay *r, const char *set, const char *name))
{
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.')
			fn(r, set ? set : de->d_name, de->d_name);
	if (d)
		closedir(d);
}

static void replay_set_inputs(struct replay *r, const char *set, const char *unused)
{
	char dir[PATH_MAX];

	(void)unused;
	if (!path_fmt(dir, sizeof(dir), "%s/test/fuzz/inputs/%s", r->top, set))
		for_each_dir(r, dir, set, replay_inputs);
}

static void replay_set_seeds(struct replay *r, const char *set, const char *unused)
{
	(void)unused;
	replay_seeds(r, set);
}

int main(void)
{
	struct replay r = { 0 };
	char exe[PATH_MAX], dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return TEST_FAIL;
	exe[n] = '\0';
	/* this binary is criu/test/fuzz-replay.test */
	if (path_fmt(r.top, sizeof(r.top), "%s/../..", dirname(exe)) || log_init(-1, "-", LOG_ERROR))
		return TEST_FAIL;

	if (!path_fmt(dir, sizeof(dir), "%s/test/fuzz/images", r.top))
		for_each_dir(&r, dir, NULL, replay_set_seeds);
	if (!path_fmt(dir, sizeof(dir), "%s/test/fuzz/inputs", r.top))
		for_each_dir(&r, dir, NULL, replay_set_inputs);

	expect(&r.failures, r.seeds >= 20, "only %u stored images were read", r.seeds);
	printf("fuzz-replay: %u stored images, %u fuzzer inputs, %d failures\n", r.seeds, r.inputs, r.failures);
	return r.failures ? TEST_FAIL : TEST_PASS;
}
