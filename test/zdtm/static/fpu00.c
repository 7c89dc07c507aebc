/*
 * fpu00: FPU state survives. Vector registers, MXCSR and the x87 control word
 * are loaded with known values and kept in the registers while the thread
 * sleeps in a raw rt_sigsuspend() issued from the same asm block, so nothing
 * in between can touch them; they are stored back and compared after every
 * wakeup. fpu00 uses ymm0-15 in the main thread; the variants fpu01 (the same
 * in several threads at once) and fpu02 (zmm0-31 and k0-7 of AVX-512)
 * include this file with FPU_THREADS and FPU_AVX512 set.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#if !defined(__x86_64__)
#error "fpu00 is written for x86_64"
#endif

#ifndef FPU_THREADS
#define FPU_THREADS 0 /* threads besides the main one */
#endif
#ifndef FPU_AVX512
#define FPU_AVX512 0
#endif

#if FPU_AVX512
#define NR_VEC 32
#define VEC_BYTES 64
#else
#define NR_VEC 16
#define VEC_BYTES 32
#endif
#define NR_K 8

/* round toward zero, all exceptions masked, denormals are zero */
#define TEST_MXCSR 0x7fc0u
#define DEFAULT_MXCSR 0x1f80u
/* double precision, round down, all exceptions masked */
#define TEST_FCW 0x067fu
#define DEFAULT_FCW 0x037fu

struct fpu_state {
	uint8_t vec[NR_VEC * VEC_BYTES];
	uint64_t k[NR_K];
	uint32_t mxcsr;
	uint16_t fcw;
};

struct fpu_regs_ctl {
	uint32_t mxcsr;
	uint16_t fcw;
};

static const struct fpu_regs_ctl default_ctl = { DEFAULT_MXCSR, DEFAULT_FCW };

#if FPU_AVX512
/* Loads in, sleeps in rt_sigsuspend(wait_mask), stores to out. */
__attribute__((target("avx512f,avx512bw"))) static void fpu_sleep(const struct fpu_state *in, struct fpu_state *out,
								  const uint64_t *wait_mask)
{
	asm volatile(".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n\t"
		     "vmovdqu64 (\\r*64)(%[vin]), %%zmm\\r\n\t"
		     ".endr\n\t"
		     ".irp r,0,1,2,3,4,5,6,7\n\t"
		     "kmovq (\\r*8)(%[kin]), %%k\\r\n\t"
		     ".endr\n\t"
		     "ldmxcsr %[mxcsr_in]\n\t"
		     "fldcw %[fcw_in]\n\t"
		     "mov %[nr], %%eax\n\t"
		     "mov %[mask], %%rdi\n\t"
		     "mov $8, %%esi\n\t"
		     "syscall\n\t"
		     "stmxcsr %[mxcsr_out]\n\t"
		     "fnstcw %[fcw_out]\n\t"
		     ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n\t"
		     "vmovdqu64 %%zmm\\r, (\\r*64)(%[vout])\n\t"
		     ".endr\n\t"
		     ".irp r,0,1,2,3,4,5,6,7\n\t"
		     "kmovq %%k\\r, (\\r*8)(%[kout])\n\t"
		     ".endr\n\t"
		     "ldmxcsr %[mxcsr_dfl]\n\t"
		     "fldcw %[fcw_dfl]\n\t"
		     "vzeroupper\n\t"
		     : [mxcsr_out] "=m"(out->mxcsr), [fcw_out] "=m"(out->fcw)
		     : [vin] "r"(in->vec), [kin] "r"(in->k), [vout] "r"(out->vec), [kout] "r"(out->k),
		       [mxcsr_in] "m"(in->mxcsr), [fcw_in] "m"(in->fcw), [mxcsr_dfl] "m"(default_ctl.mxcsr),
		       [fcw_dfl] "m"(default_ctl.fcw), [mask] "r"(wait_mask), [nr] "i"(SYS_rt_sigsuspend)
		     : "rax", "rdi", "rsi", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
		       "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",
		       "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26",
		       "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

static bool cpu_has_fpu_feature(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}
#define FPU_FEATURE "AVX-512 (F and BW)"
#else
/* Loads in, sleeps in rt_sigsuspend(wait_mask), stores to out. */
static void fpu_sleep(const struct fpu_state *in, struct fpu_state *out, const uint64_t *wait_mask)
{
	asm volatile(".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
		     "vmovdqu (\\r*32)(%[vin]), %%ymm\\r\n\t"
		     ".endr\n\t"
		     "ldmxcsr %[mxcsr_in]\n\t"
		     "fldcw %[fcw_in]\n\t"
		     "mov %[nr], %%eax\n\t"
		     "mov %[mask], %%rdi\n\t"
		     "mov $8, %%esi\n\t"
		     "syscall\n\t"
		     "stmxcsr %[mxcsr_out]\n\t"
		     "fnstcw %[fcw_out]\n\t"
		     ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
		     "vmovdqu %%ymm\\r, (\\r*32)(%[vout])\n\t"
		     ".endr\n\t"
		     "ldmxcsr %[mxcsr_dfl]\n\t"
		     "fldcw %[fcw_dfl]\n\t"
		     "vzeroupper\n\t"
		     : [mxcsr_out] "=m"(out->mxcsr), [fcw_out] "=m"(out->fcw)
		     : [vin] "r"(in->vec), [vout] "r"(out->vec), [mxcsr_in] "m"(in->mxcsr), [fcw_in] "m"(in->fcw),
		       [mxcsr_dfl] "m"(default_ctl.mxcsr), [fcw_dfl] "m"(default_ctl.fcw), [mask] "r"(wait_mask),
		       [nr] "i"(SYS_rt_sigsuspend)
		     : "rax", "rdi", "rsi", "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
		       "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

static bool cpu_has_fpu_feature(void)
{
	return __builtin_cpu_supports("avx");
}
#define FPU_FEATURE "AVX"
#endif

static void fpu_state_init(struct fpu_state *st, uint32_t seed)
{
	memset(st, 0, sizeof(*st));
	datagen_seed(st->vec, sizeof(st->vec), seed);
	if (FPU_AVX512)
		datagen_seed(st->k, sizeof(st->k), seed ^ 0x4b4b);
	st->mxcsr = TEST_MXCSR;
	st->fcw = TEST_FCW;
}

static int fpu_compare(const char *who, const struct fpu_state *want, const struct fpu_state *got)
{
	for (int i = 0; i < NR_VEC; i++) {
		if (memcmp(want->vec + i * VEC_BYTES, got->vec + i * VEC_BYTES, VEC_BYTES)) {
			fail("%s: vector register %d changed", who, i);
			return -1;
		}
	}
	for (int i = 0; FPU_AVX512 && i < NR_K; i++) {
		if (want->k[i] != got->k[i]) {
			fail("%s: k%d is %#llx, expected %#llx", who, i, (unsigned long long)got->k[i],
			     (unsigned long long)want->k[i]);
			return -1;
		}
	}
	if (want->mxcsr != got->mxcsr || want->fcw != got->fcw) {
		fail("%s: mxcsr %#x fcw %#x, expected %#x and %#x", who, got->mxcsr, got->fcw, want->mxcsr, want->fcw);
		return -1;
	}
	return 0;
}

/* The kernel's 64-bit sigset of everything but sig. */
static uint64_t wait_mask_but(int sig)
{
	return ~(1ull << (sig - 1));
}

struct fpu_worker {
	pthread_t thread;
	int idx;
	atomic_int tid;
	atomic_bool *stop;
	int bad;
};

/* Each thread sleeps with its own values until the main thread says stop. */
static void *fpu_worker_fn(void *arg)
{
	struct fpu_worker *w = arg;
	struct fpu_state want, got;
	uint64_t wait_mask = wait_mask_but(SIGUSR1);
	char who[32];

	snprintf(who, sizeof(who), "thread %d", w->idx);
	fpu_state_init(&want, 0x1000 + w->idx);
	atomic_store(&w->tid, gettid());
	do {
		memset(&got, 0, sizeof(got));
		fpu_sleep(&want, &got, &wait_mask);
		if (fpu_compare(who, &want, &got)) {
			w->bad = 1;
			break;
		}
	} while (!atomic_load(w->stop));
	return NULL;
}

static void nop_handler(int sig)
{
	(void)sig;
}

/* Blocks every signal the threads inherit, installs SIGUSR1 and starts them. */
static int start_workers(struct fpu_worker *workers, atomic_bool *stop)
{
	struct sigaction sa;
	sigset_t all;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nop_handler;
	sigemptyset(&sa.sa_mask);
	sigfillset(&all);
	if (sigaction(SIGUSR1, &sa, NULL) || pthread_sigmask(SIG_BLOCK, &all, NULL)) {
		fail("sigaction/pthread_sigmask");
		return -1;
	}
	for (int i = 0; i < FPU_THREADS; i++) {
		workers[i] = (struct fpu_worker){ .idx = i, .stop = stop };
		if (pthread_create(&workers[i].thread, NULL, fpu_worker_fn, &workers[i])) {
			fail("pthread_create");
			return -1;
		}
	}
	return 0;
}

/* True once thread tid sleeps in rt_sigsuspend, as /proc/self/task/TID/syscall shows. */
static bool in_sigsuspend(pid_t tid)
{
	char path[64], buf[32] = "";
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr == SYS_rt_sigsuspend;
}

/* Waits until every thread holds its values in the registers, asleep. */
static int wait_workers_asleep(struct fpu_worker *workers)
{
	const struct timespec tick = { 0, 1000000 };

	for (int i = 0; i < FPU_THREADS; i++) {
		int tries = 0;

		while (!atomic_load(&workers[i].tid) || !in_sigsuspend(atomic_load(&workers[i].tid))) {
			if (++tries > 10000) {
				fail("thread %d never went to sleep", i);
				return -1;
			}
			nanosleep(&tick, NULL);
		}
	}
	return 0;
}

static int stop_workers(struct fpu_worker *workers, atomic_bool *stop)
{
	int bad = 0;

	atomic_store(stop, true);
	for (int i = 0; i < FPU_THREADS; i++) {
		if (pthread_kill(workers[i].thread, SIGUSR1) || pthread_join(workers[i].thread, NULL)) {
			fail("can't stop thread %d", i);
			bad = 1;
			continue;
		}
		bad |= workers[i].bad;
	}
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct fpu_worker workers[FPU_THREADS + 1];
	atomic_bool stop = false;
	struct fpu_state want, got;
	uint64_t wait_mask = wait_mask_but(SIGTERM);
	int ret = 0;

	test_init(argc, argv);
	__builtin_cpu_init();
	if (!cpu_has_fpu_feature())
		test_skip("this CPU has no %s", FPU_FEATURE);
	fpu_state_init(&want, 0xf00);
	/* SIGTERM stays blocked but while the asm sleeps, so none is missed */
	if (start_workers(workers, &stop) || wait_workers_asleep(workers))
		return 1;

	test_daemon();
	do {
		memset(&got, 0, sizeof(got));
		fpu_sleep(&want, &got, &wait_mask);
		if (fpu_compare("main thread", &want, &got)) {
			ret = 1;
			break;
		}
	} while (test_go());

	if (stop_workers(workers, &stop))
		ret = 1;
	if (!ret)
		pass();
	return ret;
}
