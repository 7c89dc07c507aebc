/*
 * inotify00: an inotify instance (non-blocking) watching a directory for
 * creations and deletions and a file in it for changes, the file's watch
 * added, removed and added again so that watch descriptors have a gap; a
 * second instance (blocking) watching nothing.
 *
 * After restore the watches have their descriptors, masks and inodes
 * (fdinfo); nothing from the restore itself is waiting to be read; creating
 * a file in the directory and writing to the watched file are reported with
 * the right descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *dirname = "inotify00.test";
TEST_OPTION(dirname, TEST_OPT_STRING, "directory to watch", false);

#define MAX_WATCHES 8

struct watch_line {
	int wd;
	unsigned long ino;
	unsigned int mask;
};

/* The watch lines of /proc/self/fdinfo/FD, in the order the kernel prints them. */
static int fdinfo_watches(int fd, struct watch_line *w)
{
	char path[64], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (n < MAX_WATCHES && fgets(line, sizeof(line), f))
		if (sscanf(line, "inotify wd:%x ino:%lx sdev:%*x mask:%x", &w[n].wd, &w[n].ino, &w[n].mask) == 3)
			n++;
	fclose(f);
	return n;
}

static int same_watches(const struct watch_line *a, int na, const struct watch_line *b, int nb)
{
	if (na != nb)
		return 0;
	for (int i = 0; i < na; i++) {
		int found = 0;

		for (int j = 0; j < nb; j++)
			found |= a[i].wd == b[j].wd && a[i].ino == b[j].ino && a[i].mask == b[j].mask;
		if (!found)
			return 0;
	}
	return 1;
}

/* Reads one event and checks its watch and kind. */
static int expect_event(int fd, int wd, unsigned int mask, const char *what)
{
	char buf[sizeof(struct inotify_event) + NAME_MAX + 1] __attribute__((aligned(8)));
	const struct inotify_event *ev = (const void *)buf;
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < (ssize_t)sizeof(*ev)) {
		fail("no event for %s", what);
		return 1;
	}
	if (ev->wd != wd || !(ev->mask & mask)) {
		fail("%s: event on watch %d mask %#x, want watch %d mask %#x", what, ev->wd, ev->mask, wd, mask);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct watch_line before[MAX_WATCHES], after[MAX_WATCHES];
	char file[PATH_MAX], other[PATH_MAX], buf[256];
	int ifd, idle, wd_dir, wd_file, fd, nb, na, ret = 0;

	test_init(argc, argv);
	if (mkdir(dirname, 0700) && errno != EEXIST) {
		fail("mkdir %s", dirname);
		return 1;
	}
	snprintf(file, sizeof(file), "%s/watched", dirname);
	snprintf(other, sizeof(other), "%s/created", dirname);
	fd = open(file, O_CREAT | O_RDWR, 0600);
	ifd = inotify_init1(IN_NONBLOCK);
	idle = inotify_init1(0);
	if (fd < 0 || ifd < 0 || idle < 0) {
		fail("setup");
		return 1;
	}
	wd_dir = inotify_add_watch(ifd, dirname, IN_CREATE | IN_DELETE);
	wd_file = inotify_add_watch(ifd, file, IN_MODIFY);
	if (wd_dir < 0 || wd_file < 0 || inotify_rm_watch(ifd, wd_file)) {
		fail("inotify_add_watch");
		return 1;
	}
	wd_file = inotify_add_watch(ifd, file, IN_MODIFY | IN_CLOSE_WRITE);
	if (wd_file < 0) {
		fail("inotify_add_watch");
		return 1;
	}
	while (read(ifd, buf, sizeof(buf)) > 0) /* the IN_IGNORED of the removed watch */
		;
	nb = fdinfo_watches(ifd, before);

	test_daemon();
	test_waitsig();

	na = fdinfo_watches(ifd, after);
	if (nb != 2 || !same_watches(before, nb, after, na)) {
		fail("watches: %d after restore, %d before (or they differ)", na, nb);
		ret = 1;
	}
	if (read(ifd, buf, sizeof(buf)) >= 0 || errno != EAGAIN) {
		fail("an event was waiting after the restore");
		ret = 1;
	}
	if (fdinfo_watches(idle, after) != 0 || (fcntl(idle, F_GETFL) & O_NONBLOCK)) {
		fail("the idle instance changed");
		ret = 1;
	}
	if (write(fd, "x", 1) != 1) {
		fail("write");
		ret = 1;
	}
	ret |= expect_event(ifd, wd_file, IN_MODIFY, "a write to the watched file");
	close(open(other, O_CREAT | O_WRONLY, 0600));
	ret |= expect_event(ifd, wd_dir, IN_CREATE, "a file created in the directory");
	unlink(other);
	unlink(file);
	rmdir(dirname);
	if (!ret)
		pass();
	return ret;
}
