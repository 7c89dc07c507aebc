/*
 * vdso00: the vDSO still works after a restore: it is where it was and where
 * the auxiliary vector says, clock_gettime() and gettimeofday() (served by the
 * vDSO and its vvar data) agree with the time() system call, and
 * CLOCK_MONOTONIC did not go backwards.
 */
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MAX_SKEW_SEC 2

/* The vDSO must still be a mapping named [vdso] at the address it had. */
static int check_vdso(uintptr_t before)
{
	struct test_vma vma = { 0 };
	uintptr_t aux = (uintptr_t)getauxval(AT_SYSINFO_EHDR);

	if (aux != before) {
		fail("AT_SYSINFO_EHDR is %#lx, was %#lx", (unsigned long)aux, (unsigned long)before);
		return -1;
	}
	if (test_vma_find((const void *)before, &vma) || vma.start != before || strcmp(vma.perms, "r-xp")) {
		fail("no vDSO mapping at %#lx (%s)", (unsigned long)before, vma.perms);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec mono_before, mono, real;
	struct timeval tv;
	uintptr_t vdso;
	long sys_now;

	test_init(argc, argv);
	vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (!vdso || check_vdso(vdso))
		return 1;
	if (clock_gettime(CLOCK_MONOTONIC, &mono_before)) {
		fail("clock_gettime");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_vdso(vdso))
		return 1;
	if (clock_gettime(CLOCK_MONOTONIC, &mono) || clock_gettime(CLOCK_REALTIME, &real) || gettimeofday(&tv, NULL)) {
		fail("clock_gettime/gettimeofday");
		return 1;
	}
	sys_now = syscall(SYS_time, NULL);
	if (mono.tv_sec < mono_before.tv_sec ||
	    (mono.tv_sec == mono_before.tv_sec && mono.tv_nsec < mono_before.tv_nsec)) {
		fail("CLOCK_MONOTONIC went back from %lld to %lld s", (long long)mono_before.tv_sec,
		     (long long)mono.tv_sec);
		return 1;
	}
	if (real.tv_sec < sys_now - MAX_SKEW_SEC || real.tv_sec > sys_now + MAX_SKEW_SEC ||
	    tv.tv_sec < sys_now - MAX_SKEW_SEC || tv.tv_sec > sys_now + MAX_SKEW_SEC) {
		fail("vDSO time %lld/%lld s, the kernel says %ld s", (long long)real.tv_sec, (long long)tv.tv_sec,
		     sys_now);
		return 1;
	}
	pass();
	return 0;
}
