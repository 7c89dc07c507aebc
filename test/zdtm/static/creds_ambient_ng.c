/*
 * creds_ambient_ng: a thread's ambient capabilities and its no_new_privs bit
 * survive (CRIU 4 records both in creds_entry: cap_amb and no_new_privs).
 * CAP_NET_RAW and CAP_SYS_NICE are made inheritable and raised into the
 * ambient set, then no_new_privs is set; after restore exactly those two are
 * ambient and no_new_privs is still set.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

static const int ambient[] = { CAP_NET_RAW, CAP_SYS_NICE };
#define NR_AMBIENT ((int)(sizeof(ambient) / sizeof(ambient[0])))

static int add_inheritable(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	for (int i = 0; i < NR_AMBIENT; i++)
		data[ambient[i] / 32].inheritable |= 1u << (ambient[i] % 32);
	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

static bool expected(int cap)
{
	for (int i = 0; i < NR_AMBIENT; i++)
		if (ambient[i] == cap)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int nr_set = 0;

	test_init(argc, argv);
	if (add_inheritable()) {
		fail("can't make the capabilities inheritable");
		return 1;
	}
	for (int i = 0; i < NR_AMBIENT; i++) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, ambient[i], 0, 0)) {
			fail("can't raise capability %d into the ambient set", ambient[i]);
			return 1;
		}
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fail("can't set no_new_privs");
		return 1;
	}

	test_daemon();
	test_waitsig();

	for (int cap = 0; cap < 64; cap++) {
		int is_set = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);

		if (is_set < 0 && errno == EINVAL)
			break; /* past the kernel's last capability */
		if (is_set < 0 || (is_set == 1) != expected(cap)) {
			fail("capability %d is %sambient after restore", cap, is_set == 1 ? "" : "not ");
			return 1;
		}
		nr_set += is_set == 1;
	}
	if (nr_set != NR_AMBIENT) {
		fail("%d ambient capabilities after restore, expected %d", nr_set, NR_AMBIENT);
		return 1;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		fail("no_new_privs is not set after restore");
		return 1;
	}
	pass();
	return 0;
}
