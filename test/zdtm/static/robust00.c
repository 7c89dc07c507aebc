/*
 * robust00: per-thread kernel pointers into user memory survive: the robust
 * futex list head (set_robust_list) and the clear-child-tid address
 * (set_tid_address), both registered by glibc for every thread.
 */
#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

struct thread_ptrs {
	void *robust_head;
	size_t robust_len;
	int *tid_address;
};

static int ptrs_get(struct thread_ptrs *p)
{
	struct robust_list_head *head = NULL;

	if (syscall(SYS_get_robust_list, 0, &head, &p->robust_len)) {
		fail("get_robust_list");
		return -1;
	}
	p->robust_head = head;
	if (prctl(PR_GET_TID_ADDRESS, &p->tid_address)) {
		fail("prctl(PR_GET_TID_ADDRESS)");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct thread_ptrs before, after;

	test_init(argc, argv);
	if (ptrs_get(&before))
		return 1;
	if (!before.robust_head || !before.tid_address) {
		fail("glibc registered no robust list (%p) or tid address (%p)", before.robust_head,
		     (void *)before.tid_address);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (ptrs_get(&after))
		return 1;
	if (after.robust_head != before.robust_head || after.robust_len != before.robust_len) {
		fail("robust list %p+%zu, was %p+%zu", after.robust_head, after.robust_len, before.robust_head,
		     before.robust_len);
		return 1;
	}
	if (after.tid_address != before.tid_address) {
		fail("clear-child-tid address %p, was %p", (void *)after.tid_address, (void *)before.tid_address);
		return 1;
	}
	pass();
	return 0;
}
