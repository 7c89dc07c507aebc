/*
 * io_uring00: a negative test. criu can't checkpoint an io_uring instance (its
 * rings live in the kernel), so the dump must fail with a clear error and
 * leave the process running untouched: the .desc flags it crfail. The test
 * checks that its ring still works afterwards.
 */
#include <linux/io_uring.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define RING_ENTRIES 4

int main(int argc, char **argv)
{
	struct io_uring_params params;
	volatile const uint32_t *sq_entries;
	size_t ring_bytes;
	void *ring;
	int fd;

	test_init(argc, argv);
	memset(&params, 0, sizeof(params));
	fd = (int)syscall(SYS_io_uring_setup, RING_ENTRIES, &params);
	if (fd < 0) {
		fail("io_uring_setup");
		return 1;
	}
	ring_bytes = params.sq_off.array + params.sq_entries * sizeof(uint32_t);
	ring = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
	if (ring == MAP_FAILED) {
		fail("mmap of the SQ ring");
		return 1;
	}
	sq_entries = (const uint32_t *)((char *)ring + params.sq_off.ring_entries);

	test_daemon();
	test_waitsig();

	if (*sq_entries != params.sq_entries) {
		fail("the SQ ring says %u entries, expected %u", *sq_entries, params.sq_entries);
		return 1;
	}
	if (syscall(SYS_io_uring_enter, fd, 0, 0, 0, NULL, 0) < 0) {
		fail("io_uring_enter on the ring");
		return 1;
	}
	pass();
	return 0;
}
