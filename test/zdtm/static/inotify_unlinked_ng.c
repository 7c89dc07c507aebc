/*
 * inotify_unlinked_ng: an inotify watch on a file that was unlinked while the
 * process still holds it open (so the file is dumped as a ghost and its handle
 * names no inode after the dump). After restore the watch keeps its descriptor
 * and is on the restored file: writing to the held fd and closing it give
 * IN_MODIFY and IN_CLOSE_WRITE on that descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "inotify_unlinked_ng.test";
TEST_OPTION(filename, TEST_OPT_STRING, "file to watch and unlink", false);

#define WATCHED (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB)

/* Reads what is queued on @ifd; the masks seen on @wd in *@mask, other descriptors are a failure. */
static int read_events(int ifd, int wd, uint32_t *mask)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	*mask = 0;
	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->wd != wd) {
				fail("event %#x on descriptor %d, not the watch's %d", ev->mask, ev->wd, wd);
				return -1;
			}
			*mask |= ev->mask;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (n < 0 && errno != EAGAIN) {
		fail("can't read the inotify queue");
		return -1;
	}
	return 0;
}

/* Empties @ifd's queue: the IN_IGNORED of the removed watch. */
static void drain(int ifd)
{
	char buf[4096];

	while (read(ifd, buf, sizeof(buf)) > 0)
		;
}

int main(int argc, char **argv)
{
	uint32_t mask;
	int ifd, fd, wd;
	struct stat st;

	test_init(argc, argv);
	ifd = inotify_init1(IN_NONBLOCK);
	fd = open(filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (ifd < 0 || fd < 0 || write(fd, "before", 6) != 6) {
		fail("can't create the inotify instance or %s", filename);
		return 1;
	}
	/* a descriptor other than the first, so that keeping it is seen */
	if (inotify_add_watch(ifd, ".", IN_CREATE) < 0 || (wd = inotify_add_watch(ifd, filename, WATCHED)) < 0 ||
	    inotify_rm_watch(ifd, 1) < 0) {
		fail("can't add the watches");
		return 1;
	}
	drain(ifd);
	if (unlink(filename) || read_events(ifd, wd, &mask)) {
		fail("can't unlink %s", filename);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (fstat(fd, &st) || st.st_nlink || st.st_size != 6) {
		fail("the held file is no longer the unlinked one");
		return 1;
	}
	if (read_events(ifd, wd, &mask))
		return 1;
	if (write(fd, "after", 5) != 5 || close(fd)) {
		fail("can't write to the unlinked file");
		return 1;
	}
	if (read_events(ifd, wd, &mask))
		return 1;
	if ((mask & (IN_MODIFY | IN_CLOSE_WRITE)) != (IN_MODIFY | IN_CLOSE_WRITE)) {
		fail("events %#x on watch %d after restore, expected IN_MODIFY and IN_CLOSE_WRITE", mask, wd);
		return 1;
	}
	pass();
	return 0;
}
