/*
 * criu restore brings back the registers of a process caught in user mode, not
 * in a syscall: a child spins in an asm loop that holds magic values in r12-r15,
 * in xmm8 and (with AVX) in the upper half of ymm9, with a non-default MXCSR
 * (round toward zero, all exceptions masked), counting in memory. It is dumped
 * and restored with -d; the test checks it counts on, then sets a stop flag in
 * its memory through /proc/PID/mem: the child leaves the loop, compares every
 * register with what it loaded and exits 0 only if all survived.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <cpuid.h>

#include "restore-test.h"

#define MXCSR_RZ 0x7f80 /* all exceptions masked, rounding toward zero */

static volatile uint64_t regs_stop;
static const uint64_t gp_magic[4] = { 0x1212121212121212ull, 0x1313131313131313ull, 0x1414141414141414ull,
				      0x1515151515151515ull };
static const uint64_t vec_magic[4] __attribute__((aligned(32))) = { 0x0123456789abcdefull, 0xfedcba9876543210ull,
								    0x5555aaaa5555aaaaull, 0x0f0f0f0ff0f0f0f0ull };

static bool have_avx(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AVX) && (c & bit_OSXSAVE);
}

/* Spins until regs_stop is set, then stores what the registers hold. */
static void spin(uint64_t gp[4], uint64_t xmm[2], uint64_t ymm[4], uint32_t *mxcsr, bool avx)
{
	uint32_t rz = MXCSR_RZ;

	__asm__ volatile("ldmxcsr %[rz]\n\t"
			 "movdqu (%[vec]), %%xmm8\n\t"
			 "cmpb $0, %[avx]\n\t"
			 "je 1f\n\t"
			 "vmovdqu (%[vec]), %%ymm9\n"
			 "1:\n\t"
			 "mov 0(%[gpm]), %%r12\n\t"
			 "mov 8(%[gpm]), %%r13\n\t"
			 "mov 16(%[gpm]), %%r14\n\t"
			 "mov 24(%[gpm]), %%r15\n"
			 "2:\n\t"
			 "incq %[cnt]\n\t"
			 "pause\n\t"
			 "cmpq $0, %[stop]\n\t"
			 "je 2b\n\t"
			 "mov %%r12, 0(%[gp])\n\t"
			 "mov %%r13, 8(%[gp])\n\t"
			 "mov %%r14, 16(%[gp])\n\t"
			 "mov %%r15, 24(%[gp])\n\t"
			 "movdqu %%xmm8, (%[xmm])\n\t"
			 "cmpb $0, %[avx]\n\t"
			 "je 3f\n\t"
			 "vmovdqu %%ymm9, (%[ymm])\n\t"
			 "vzeroupper\n"
			 "3:\n\t"
			 "stmxcsr %[mx]\n"
			 : [cnt] "+m"(rchild_counter), [mx] "=m"(*mxcsr)
			 : [rz] "m"(rz), [vec] "r"(vec_magic), [gpm] "r"(gp_magic), [gp] "r"(gp), [xmm] "r"(xmm),
			   [ymm] "r"(ymm), [stop] "m"(regs_stop), [avx] "m"(avx)
			 : "r12", "r13", "r14", "r15", "xmm8", "xmm9", "memory", "cc");
}

static void __attribute__((noreturn)) child_main(int ready_fd, bool avx)
{
	uint64_t gp[4] = { 0 }, xmm[2] = { 0 }, ymm[4] = { 0 };
	uint32_t mxcsr = 0;
	int null_fd = open("/dev/null", O_RDWR);

	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(RCHILD_SETUP);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != ready_fd)
			close(fd);
	if (write(ready_fd, "R", 1) != 1)
		_exit(RCHILD_SETUP);
	close(ready_fd);
	spin(gp, xmm, ymm, &mxcsr, avx);
	if (memcmp(gp, gp_magic, sizeof(gp)))
		_exit(1);
	if (memcmp(xmm, vec_magic, sizeof(xmm)))
		_exit(2);
	if (avx && memcmp(ymm, vec_magic, sizeof(ymm)))
		_exit(3);
	if ((mxcsr & 0xffc0) != MXCSR_RZ)
		_exit(4);
	_exit(0);
}

static int start_child(pid_t *pid, bool avx)
{
	int ready[2];
	char b;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		close(ready[0]);
		child_main(ready[1], avx);
	}
	close(ready[1]);
	b = read(ready[0], &b, 1) == 1 && read(ready[0], &b, 1) == 0; /* ready, pipe closed */
	close(ready[0]);
	usleep(20000); /* into the loop */
	return b ? 0 : -EIO;
}

static int set_stop(pid_t pid)
{
	uint64_t one = 1;
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pwrite(fd, &one, sizeof(one), (off_t)(uintptr_t)&regs_stop) != sizeof(one))
		ret = -EIO;
	close(fd);
	return ret;
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", "-o", "restore.log", "-v4", NULL };
	bool avx = have_avx();
	uint64_t c1, c2;
	int failures = 0, status;
	pid_t pid = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-regs"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || start_child(&pid, avx)) {
		fprintf(stderr, "can't start the child\n");
		failures++;
		goto out;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rtest_dump(tmp, dump, pid, &failures))
		goto out;
	if (rtest_restore(tmp, restore, &failures))
		goto out;
	c1 = rchild_read_counter(pid);
	usleep(50000);
	c2 = rchild_read_counter(pid);
	expect(&failures, c2 > c1 && c1 > 0, "the restored child doesn't count: %llu then %llu", (unsigned long long)c1,
	       (unsigned long long)c2);
	expect(&failures, set_stop(pid) == 0, "can't stop the restored child's loop");
	status = rchild_wait(pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the restored child ended with status %#x (1: r12-r15, 2: xmm8, 3: ymm9, 4: mxcsr)", status);
	if (status < 0)
		rchild_kill(pid);
	printf("registers (gp, xmm%s, mxcsr) %s\n", avx ? ", ymm" : "", failures ? "LOST" : "intact");
out:
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore.log");
	}
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
