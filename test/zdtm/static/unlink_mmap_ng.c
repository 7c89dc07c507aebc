/*
 * unlink_mmap_ng: mappings of a file that was unlinked and whose fd was closed,
 * so only the mappings hold it. A shared writable mapping is written before the
 * dump (the file's pages change), a private read-only one maps another part,
 * and a private writable one has a page changed (its own copy). After restore
 * the three see what they saw, the mapped file is still deleted and its name
 * is not back; a write through the shared mapping after restore works.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "unlink_mmap_ng.test";
TEST_OPTION(filename, TEST_OPT_STRING, "file to map and unlink", false);

#define PG 4096
#define PAGES 6

/* Whether /proc/self/maps shows @addr as a mapping of a deleted file. */
static int mapped_deleted(const void *addr)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && (unsigned long)addr >= start &&
		    (unsigned long)addr < end) {
			found = strstr(line, filename) && strstr(line, "(deleted)");
			break;
		}
	}
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	static uint8_t data[PAGES * PG], shared_new[PG], private_new[PG];
	uint8_t *shared, *ro, *priv;
	int fd;

	test_init(argc, argv);
	datagen_seed(data, sizeof(data), 31);
	datagen_seed(shared_new, sizeof(shared_new), 32);
	datagen_seed(private_new, sizeof(private_new), 33);
	fd = open(filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data)) {
		fail("can't write %s", filename);
		return 1;
	}
	shared = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE, fd, 2 * PG);
	priv = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 4 * PG);
	if (shared == MAP_FAILED || ro == MAP_FAILED || priv == MAP_FAILED || unlink(filename) || close(fd)) {
		fail("can't map or unlink %s", filename);
		return 1;
	}
	memcpy(shared + PG, shared_new, PG); /* into the file */
	memcpy(priv, private_new, PG);	     /* a private copy */
	memcpy(data + PG, shared_new, PG);

	test_daemon();
	test_waitsig();

	if (memcmp(shared, data, 2 * PG)) {
		fail("the shared mapping changed");
		return 1;
	}
	if (memcmp(ro, data + 2 * PG, 2 * PG)) {
		fail("the read-only private mapping changed");
		return 1;
	}
	if (memcmp(priv, private_new, PG) || memcmp(priv + PG, data + 5 * PG, PG)) {
		fail("the writable private mapping changed");
		return 1;
	}
	if (mapped_deleted(shared) != 1 || mapped_deleted(ro) != 1 || mapped_deleted(priv) != 1) {
		fail("a mapping is not of the deleted %s", filename);
		return 1;
	}
	memset(shared, 0x5a, PG);
	if (shared[PG - 1] != 0x5a) {
		fail("can't write through the shared mapping");
		return 1;
	}
	if (access(filename, F_OK) == 0 || errno != ENOENT) {
		fail("%s exists again", filename);
		return 1;
	}
	pass();
	return 0;
}
