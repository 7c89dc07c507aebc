/*
 * unlink_regular00: a regular file that was unlinked while open. The fd must
 * come back with its data, offset and no link count, and the name must not
 * reappear.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "unlink_regular00.test";
TEST_OPTION(filename, TEST_OPT_STRING, "file to create and unlink", false);

#define FILE_BYTES 20000
#define OFFSET 777

int main(int argc, char **argv)
{
	static uint8_t data[FILE_BYTES], back[FILE_BYTES];
	struct stat sb;
	uint32_t crc;
	int fd;

	test_init(argc, argv);
	datagen(data, sizeof(data), &crc);
	fd = open(filename, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data)) {
		fail("can't write %s", filename);
		return 1;
	}
	if (lseek(fd, OFFSET, SEEK_SET) != OFFSET || unlink(filename)) {
		fail("lseek/unlink");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (fstat(fd, &sb)) {
		fail("fstat");
		return 1;
	}
	if (sb.st_nlink != 0 || sb.st_size != FILE_BYTES || (sb.st_mode & 07777) != 0640) {
		fail("file has %lu links, %lld bytes, mode %o", (unsigned long)sb.st_nlink, (long long)sb.st_size,
		     sb.st_mode & 07777);
		return 1;
	}
	if (lseek(fd, 0, SEEK_CUR) != OFFSET) {
		fail("offset is %lld, expected %d", (long long)lseek(fd, 0, SEEK_CUR), OFFSET);
		return 1;
	}
	if (pread(fd, back, sizeof(back), 0) != sizeof(back) || datachk(back, sizeof(back), crc)) {
		fail("the unlinked file's data changed");
		return 1;
	}
	if (access(filename, F_OK) == 0 || errno != ENOENT) {
		fail("%s exists again", filename);
		return 1;
	}
	pass();
	return 0;
}
