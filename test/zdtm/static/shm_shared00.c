/*
 * shm_shared00: MAP_SHARED anonymous memory shared by a parent and its child
 * stays one object after restore: each finds the pattern, and what the child
 * writes afterwards the parent reads. The child's own shared mapping, which
 * its parent never had, keeps its contents too.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SHARED_SIZE (1024 * 1024)
#define OWN_SIZE (64 * 1024)
#define MARK "written by the child after restore"

int main(int argc, char **argv)
{
	uint8_t *shared, *own;
	uint32_t crc, own_crc;
	int status, ready[2];
	pid_t child;
	char c;

	test_init(argc, argv);
	shared = mmap(NULL, SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || pipe(ready)) {
		fail("setup");
		return 1;
	}
	datagen(shared + 4096, SHARED_SIZE - 4096, &crc);
	child = fork();
	if (child < 0) {
		fail("fork");
		return 1;
	}
	if (child == 0) {
		test_forked();
		own = mmap(NULL, OWN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (own == MAP_FAILED)
			_exit(2);
		datagen(own, OWN_SIZE, &own_crc);
		if (write(ready[1], "R", 1) != 1)
			_exit(2);
		close(ready[0]);
		close(ready[1]);
		test_waitsig();
		if (datachk(shared + 4096, SHARED_SIZE - 4096, crc) || datachk(own, OWN_SIZE, own_crc)) {
			fail("the child's shared memory changed");
			_exit(1);
		}
		memcpy(shared, MARK, sizeof(MARK));
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		fail("the child did not get ready");
		return 1;
	}
	close(ready[0]);

	test_daemon();
	test_waitsig();

	if (datachk(shared + 4096, SHARED_SIZE - 4096, crc)) {
		fail("the shared memory changed");
		return 1;
	}
	if (kill(child, SIGTERM) || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child did not end well");
		return 1;
	}
	if (memcmp(shared, MARK, sizeof(MARK))) {
		fail("what the child wrote is not in the parent's memory: not shared any more");
		return 1;
	}
	pass();
	return 0;
}
