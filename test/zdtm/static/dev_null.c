/*
 * dev_null: character devices /dev/null, /dev/zero, /dev/urandom and /dev/full open with
 * different flags come back as the same devices with the same flags, and
 * behave like them.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "zdtmtst.h"

struct chardev {
	const char *path;
	int flags;
	unsigned int major, minor;
	int fd;
	int fl_before;
};

static int check_dev(const struct chardev *d)
{
	struct stat sb;
	int fl = fcntl(d->fd, F_GETFL);

	if (fl < 0 || fstat(d->fd, &sb)) {
		fail("fd %d (%s) is gone", d->fd, d->path);
		return -1;
	}
	if (!S_ISCHR(sb.st_mode) || major(sb.st_rdev) != d->major || minor(sb.st_rdev) != d->minor) {
		fail("fd %d is device %u:%u, expected %s (%u:%u)", d->fd, major(sb.st_rdev), minor(sb.st_rdev), d->path,
		     d->major, d->minor);
		return -1;
	}
	if (fl != d->fl_before) {
		fail("fd %d (%s) has flags %#o, expected %#o", d->fd, d->path, fl, d->fl_before);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct chardev devs[] = {
		{ "/dev/null", O_RDWR, 1, 3, -1, 0 },
		{ "/dev/zero", O_RDONLY | O_NONBLOCK, 1, 5, -1, 0 },
		{ "/dev/urandom", O_RDONLY, 1, 9, -1, 0 },
		{ "/dev/full", O_WRONLY | O_APPEND, 1, 7, -1, 0 },
	};
	uint8_t buf[4096];
	int ret = 0;

	test_init(argc, argv);
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		devs[i].fd = open(devs[i].path, devs[i].flags);
		if (devs[i].fd < 0 || (devs[i].fl_before = fcntl(devs[i].fd, F_GETFL)) < 0) {
			fail("open %s", devs[i].path);
			return 1;
		}
	}

	test_daemon();
	test_waitsig();

	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if (check_dev(&devs[i]))
			ret = 1;
	if (ret)
		return 1;
	if (read(devs[0].fd, buf, sizeof(buf)) != 0 || write(devs[0].fd, buf, 10) != 10) {
		fail("/dev/null does not behave like /dev/null");
		return 1;
	}
	memset(buf, 0xa5, sizeof(buf));
	if (read(devs[1].fd, buf, sizeof(buf)) != sizeof(buf)) {
		fail("read /dev/zero");
		return 1;
	}
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (buf[i]) {
			fail("/dev/zero gave a non-zero byte");
			return 1;
		}
	}
	if (read(devs[2].fd, buf, 64) != 64) {
		fail("read /dev/urandom");
		return 1;
	}
	if (write(devs[3].fd, buf, 1) != -1 || errno != ENOSPC) {
		fail("/dev/full accepted a write");
		return 1;
	}
	pass();
	return 0;
}
