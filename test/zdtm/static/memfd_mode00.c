/*
 * memfd_mode00: the permission bits of memfds survive. memfd_create() makes
 * its file 0777; one memfd is changed to 0642, another to 0750 and then
 * sealed (seals don't stop fchmod), a third is left as made.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

struct mfd {
	const char *name;
	mode_t mode; /* 0: left as memfd_create() made it */
	unsigned int flags;
	int fd;
};

int main(int argc, char **argv)
{
	struct mfd mfds[] = {
		{ "mode0642", 0642, 0, -1 },
		{ "mode0750-sealed", 0750, MFD_ALLOW_SEALING, -1 },
		{ "mode-untouched", 0, 0, -1 },
	};
	const size_t nr = sizeof(mfds) / sizeof(mfds[0]);
	mode_t made = 0;
	struct stat st;

	test_init(argc, argv);
	for (size_t i = 0; i < nr; i++) {
		mfds[i].fd = memfd_create(mfds[i].name, mfds[i].flags);
		if (mfds[i].fd < 0 || write(mfds[i].fd, "data", 4) != 4) {
			fail("can't make memfd %s", mfds[i].name);
			return 1;
		}
		if (mfds[i].mode && fchmod(mfds[i].fd, mfds[i].mode)) {
			fail("fchmod %s", mfds[i].name);
			return 1;
		}
		if (fstat(mfds[i].fd, &st)) {
			fail("fstat %s", mfds[i].name);
			return 1;
		}
		if (!mfds[i].mode)
			made = st.st_mode & 07777;
	}
	if (fcntl(mfds[1].fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) {
		fail("F_ADD_SEALS");
		return 1;
	}

	test_daemon();
	test_waitsig();

	for (size_t i = 0; i < nr; i++) {
		mode_t want = mfds[i].mode ? mfds[i].mode : made;

		if (fstat(mfds[i].fd, &st)) {
			fail("fstat %s", mfds[i].name);
			return 1;
		}
		if ((st.st_mode & 07777) != want) {
			fail("memfd %s has mode %#o, expected %#o", mfds[i].name, st.st_mode & 07777, want);
			return 1;
		}
	}
	pass();
	return 0;
}
