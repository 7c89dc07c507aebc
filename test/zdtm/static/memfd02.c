/*
 * memfd02: a memfd only mapped (MAP_SHARED, at two places), its fd closed,
 * with a page of data and a page never touched; and a sealed memfd
 * (F_SEAL_WRITE) mapped read-only, its fd closed too.
 *
 * After restore: the data is there, the two mappings are still one file (a
 * write through one is read through the other), /proc/self/map_files shows
 * the memfd's name, no fd of the process is a memfd, and the sealed one
 * keeps F_SEAL_WRITE (it refuses a writable shared mapping).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PAGE 4096

static int count_memfd_fds(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], link[256];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len > 0) {
			link[len] = '\0';
			n += !strncmp(link, "/memfd:", 7);
		}
	}
	closedir(d);
	return n;
}

static int check_map_file(void *addr, size_t len, const char *want)
{
	char path[96], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)addr, (unsigned long)addr + len);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		fail("readlink %s", path);
		return 1;
	}
	link[n] = '\0';
	if (strcmp(link, want)) {
		fail("%s is %s, want %s", path, link, want);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *a, *b, *sealed;
	int fd, sfd, ret = 0;

	test_init(argc, argv);
	fd = memfd_create("zdtm-memfd02", 0);
	sfd = memfd_create("zdtm-memfd02-sealed", MFD_ALLOW_SEALING);
	if (fd < 0 || sfd < 0 || ftruncate(fd, PAGE * 4) || write(sfd, "sealed data", 12) != 12) {
		fail("memfd_create");
		return 1;
	}
	a = mmap(NULL, PAGE * 4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, PAGE * 2, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PAGE * 2);
	if (a == MAP_FAILED || b == MAP_FAILED || fcntl(sfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)) {
		fail("mmap or seal");
		return 1;
	}
	sealed = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, sfd, 0);
	if (sealed == MAP_FAILED) {
		fail("mmap of the sealed memfd");
		return 1;
	}
	strcpy(a + PAGE * 2, "memfd02 data");
	close(fd);
	close(sfd);

	test_daemon();
	test_waitsig();

	if (strcmp(b, "memfd02 data") || strcmp(sealed, "sealed data")) {
		fail("the mappings lost their data");
		ret = 1;
	}
	for (int i = 0; i < PAGE * 4; i++) {
		if (i >= PAGE * 2 && i < PAGE * 2 + 13)
			continue;
		if (a[i]) {
			fail("byte %d is %d, want 0", i, a[i]);
			ret = 1;
			break;
		}
	}
	strcpy(b + PAGE + 8, "through b");
	if (strcmp(a + PAGE * 3 + 8, "through b")) {
		fail("the two mappings are no longer one file");
		ret = 1;
	}
	ret |= check_map_file(a, PAGE * 4, "/memfd:zdtm-memfd02 (deleted)");
	ret |= check_map_file(sealed, PAGE, "/memfd:zdtm-memfd02-sealed (deleted)");
	if (count_memfd_fds() != 0) {
		fail("the process has memfd fds it had closed");
		ret = 1;
	}
	{
		char path[96];
		int rfd;

		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)sealed,
			 (unsigned long)sealed + PAGE);
		rfd = open(path, O_RDWR);
		if (rfd < 0 || fcntl(rfd, F_GET_SEALS) != (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) ||
		    mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0) != MAP_FAILED) {
			fail("the sealed memfd lost its seals");
			ret = 1;
		}
		if (rfd >= 0)
			close(rfd);
	}
	if (!ret)
		pass();
	return ret;
}
