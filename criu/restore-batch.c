/*
 * criu restore: lists of system calls that restored threads run by themselves,
 * one ptrace stop per list (see include/restore-batch.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "regs.h"
#include "restore-batch.h"
#include "restore-fork.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define RB_END 0xffffffffu
#define RB_NOT_RUN INT64_MIN /* a result the kernel never returns */

/*
 * The interpreter, x86-64, position independent, no stack (a thread it clones
 * has none yet); r12 points at the current record:
 *
 *	loop:	mov eax, [r12]			; number, RB_END ends the list
 *		cmp eax, -1
 *		je stop
 *		mov rdi, [r12+8] ... mov r9, [r12+48]	; (rsi, rdx, r10, r8 between)
 *		syscall
 *		test rax, rax			; 0 in the child of an RB_CLONE record:
 *		jnz store			;   it goes on with its own list
 *		test byte [r12+4], RB_CLONE
 *		jz store
 *		mov r12, [r12+24]
 *		jmp loop
 *	store:	mov [r12+56], rax
 *		test byte [r12+4], RB_REPEAT	; again and again
 *		jnz loop
 *		add r12, 64
 *		test byte [r12-60], RB_CHECK
 *		jz loop
 *		cmp rax, -4095			; -errno: the list goes on at its tail,
 *		jb loop				;   whose address is the record's args[5]
 *		mov r12, [r12-16]
 *		jmp loop
 *	stop:	mov eax, SYS_getpid; syscall; mov r13, rax
 *		mov eax, SYS_gettid; syscall; mov rsi, rax
 *		mov rdi, r13; mov edx, SIGSTOP; mov eax, SYS_tgkill; syscall
 *		jmp stop
 */
static const unsigned char rb_code[] = {
	0x41, 0x8b, 0x04, 0x24, 0x83, 0xf8, 0xff, 0x74, 0x5c, 0x49, 0x8b, 0x7c, 0x24, 0x08, 0x49, 0x8b, 0x74, 0x24,
	0x10, 0x49, 0x8b, 0x54, 0x24, 0x18, 0x4d, 0x8b, 0x54, 0x24, 0x20, 0x4d, 0x8b, 0x44, 0x24, 0x28, 0x4d, 0x8b,
	0x4c, 0x24, 0x30, 0x0f, 0x05, 0x48, 0x85, 0xc0, 0x75, 0x0f, 0x41, 0xf6, 0x44, 0x24, 0x04, 0x02, 0x74, 0x07,
	0x4d, 0x8b, 0x64, 0x24, 0x18, 0xeb, 0xc3, 0x49, 0x89, 0x44, 0x24, 0x38, 0x41, 0xf6, 0x44, 0x24, 0x04, 0x04,
	0x75, 0xb6, 0x49, 0x83, 0xc4, 0x40, 0x41, 0xf6, 0x44, 0x24, 0xc4, 0x01, 0x74, 0xaa, 0x48, 0x3d, 0x01, 0xf0,
	0xff, 0xff, 0x72, 0xa2, 0x4d, 0x8b, 0x64, 0x24, 0xf0, 0xeb, 0x9b, 0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05,
	0x49, 0x89, 0xc5, 0xb8, 0xba, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89, 0xc6, 0x4c, 0x89, 0xef, 0xba, 0x13,
	0x00, 0x00, 0x00, 0xb8, 0xea, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xdb,
};

_Static_assert(sizeof(struct rb_rec) == 64, "the interpreter's record layout");
_Static_assert(SYS_getpid == 0x27 && SYS_gettid == 0xba && SYS_tgkill == 0xea && SIGSTOP == 0x13,
	       "the interpreter's syscall numbers");

static size_t round_page(size_t len, size_t page)
{
	return (len + page - 1) & ~(page - 1);
}

int rb_scratch_map(struct restore_ctl *ctl, struct rb_scratch *s, size_t nr_threads)
{
	size_t page = ctl->page_size, leader;
	long ret;

	memset(s, 0, sizeof(*s));
	/* A clone3 and a wait per thread; the process's own state (rlimits, dumpable) besides its thread's. */
	s->leader_recs = 2 * nr_threads + RB_THREAD_RECS + RB_PROCESS_RECS;
	s->leader_data =
		nr_threads * (sizeof(struct restore_clone_args) + sizeof(pid_t)) + RB_THREAD_DATA + RB_PROCESS_DATA;
	leader = (s->leader_recs + 1) * sizeof(struct rb_rec) + s->leader_data;
	s->leader_off = page; /* after the interpreter */
	s->slots_off = s->leader_off + round_page(leader, page);
	s->size = round_page(s->slots_off + nr_threads * RB_THREAD_SLOT, page);
	/* Anywhere free: every dumped mapping is in place already. */
	ret = restore_ctl_syscall(ctl, SYS_mmap, 6, (uint64_t)0, (uint64_t)s->size,
				  (uint64_t)(PROT_READ | PROT_WRITE | PROT_EXEC),
				  (uint64_t)(MAP_PRIVATE | MAP_ANONYMOUS), (uint64_t)-1, (uint64_t)0);
	if (ret < 0 && ret > -4096) {
		pr_err("can't map %zu bytes for the thread setup in process %d: %s\n", s->size, ctl->pid,
		       strerror((int)-ret));
		return (int)ret;
	}
	s->addr = (uint64_t)ret;
	s->image = calloc(1, s->size - s->leader_off);
	ret = s->image ? restore_ctl_write(ctl, s->addr, rb_code, sizeof(rb_code)) : -ENOMEM;
	if (ret) {
		rb_scratch_free(s);
		if (rb_scratch_unmap(ctl, s))
			pr_err("the thread setup area of process %d stays mapped\n", ctl->pid);
		return (int)ret;
	}
	pr_debug("thread setup area of %zu bytes at %#llx\n", s->size, (unsigned long long)s->addr);
	return 0;
}

int rb_scratch_unmap(struct restore_ctl *ctl, struct rb_scratch *s)
{
	long ret;

	if (!s->addr)
		return 0;
	ret = restore_ctl_syscall(ctl, SYS_munmap, 2, s->addr, (uint64_t)s->size);
	if (ret < 0) {
		pr_err("can't unmap the thread setup area of process %d: %s\n", ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	s->addr = 0;
	return 0;
}

void rb_scratch_free(struct rb_scratch *s)
{
	free(s->image);
	s->image = NULL;
}

int rb_scratch_write(struct restore_ctl *ctl, const struct rb_scratch *s)
{
	return restore_ctl_write(ctl, s->addr + s->leader_off, s->image, s->size - s->leader_off);
}

void rb_scratch_leader(const struct rb_scratch *s, struct rbatch *b)
{
	rbatch_init(b, s->addr + s->leader_off, s->image, s->leader_recs, s->leader_data);
}

void rb_scratch_thread(const struct rb_scratch *s, size_t i, struct rbatch *b)
{
	size_t off = s->slots_off + i * RB_THREAD_SLOT;

	rbatch_init(b, s->addr + off, s->image + (off - s->leader_off), RB_THREAD_RECS, RB_THREAD_DATA);
}

void rbatch_init(struct rbatch *b, uint64_t base, void *buf, size_t max_recs, size_t data_room)
{
	memset(b, 0, sizeof(*b));
	b->base = base;
	b->max_recs = max_recs;
	b->data_room = data_room;
	b->recs = buf;
	b->data = (unsigned char *)buf + (max_recs + 1) * sizeof(*b->recs);
	b->meta = calloc(max_recs, sizeof(*b->meta));
	if (!b->meta)
		b->err = -ENOMEM;
}

void rbatch_fini(struct rbatch *b)
{
	free(b->meta);
	memset(b, 0, sizeof(*b));
}

void rbatch_add(struct rbatch *b, const char *what, uint32_t flags, long nr, unsigned int nargs, ...)
{
	struct rb_rec *r;
	va_list ap;

	if (b->err)
		return;
	if (b->nr == b->max_recs || nargs > ((flags & RB_CHECK) ? 5 : 6)) {
		b->err = -E2BIG;
		return;
	}
	r = &b->recs[b->nr];
	memset(r, 0, sizeof(*r));
	r->nr = (uint32_t)nr;
	r->flags = flags;
	r->ret = RB_NOT_RUN;
	va_start(ap, nargs);
	for (unsigned int i = 0; i < nargs; i++)
		r->args[i] = va_arg(ap, uint64_t);
	va_end(ap);
	b->meta[b->nr] = (struct rb_meta){ .what = what };
	b->nr++;
}

void rbatch_tail(struct rbatch *b)
{
	b->tail = b->nr;
	b->has_tail = 1;
}

void rbatch_expect(struct rbatch *b, int64_t value)
{
	if (b->err || !b->nr)
		return;
	b->meta[b->nr - 1].expect = value;
	b->meta[b->nr - 1].has_expect = 1;
}

uint64_t rbatch_data(struct rbatch *b, const void *buf, size_t len)
{
	size_t off = (b->data_len + 7) & ~(size_t)7;

	if (b->err)
		return 0;
	if (off + len > b->data_room) {
		b->err = -E2BIG;
		return 0;
	}
	memcpy(b->data + off, buf, len);
	b->data_len = off + len;
	return b->base + (b->max_recs + 1) * sizeof(struct rb_rec) + off;
}

int rbatch_end(struct restore_ctl *ctl, struct rbatch *b)
{
	if (b->err) {
		pr_err("the setup of a thread of process %d needs more room than there is: %s\n", ctl->pid,
		       strerror(-b->err));
		return b->err;
	}
	memset(&b->recs[b->nr], 0, sizeof(b->recs[b->nr]));
	b->recs[b->nr].nr = RB_END;
	if (!b->has_tail)
		b->tail = b->nr;
	for (size_t i = 0; i < b->tail; i++)
		if (b->recs[i].flags & RB_CHECK)
			b->recs[i].args[5] = b->base + b->tail * sizeof(*b->recs);
	return 0;
}

int rbatch_check(struct restore_ctl *ctl, struct rbatch *b, pid_t tid)
{
	size_t len = b->tail * sizeof(*b->recs); /* the tail may still be running */
	ssize_t n;

	if (!len)
		return 0;
	do
		n = pread(ctl->mem_fd, b->recs, len, (off_t)b->base);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		pr_err("can't read back the setup results of thread %d: %s\n", tid, n < 0 ? strerror(errno) : "short");
		return n < 0 ? -errno : -EIO;
	}
	for (size_t i = 0; i < b->tail; i++) {
		const struct rb_rec *r = &b->recs[i];
		const struct rb_meta *m = &b->meta[i];

		if (r->ret == RB_NOT_RUN) {
			pr_err("thread %d stopped before %s\n", tid, m->what);
			return -EIO;
		}
		if ((r->flags & RB_CHECK) && r->ret < 0 && r->ret > -4096) {
			pr_err("%s in thread %d failed: %s\n", m->what, tid, strerror((int)-r->ret));
			return (int)r->ret;
		}
		if (m->has_expect && r->ret != m->expect) {
			pr_err("%s in thread %d gave %lld, not %lld\n", m->what, tid, (long long)r->ret,
			       (long long)m->expect);
			return -EIO;
		}
	}
	return 0;
}

int rb_wait_stop(pid_t tid, int *status)
{
	while (waitpid(tid, status, __WALL) < 0)
		if (errno != EINTR) {
			pr_perror("Can't wait for thread %d", tid);
			return -errno;
		}
	if (!WIFSTOPPED(*status)) {
		pr_err("thread %d is gone (status %#x) while it is set up\n", tid, *status);
		return -ESRCH;
	}
	return 0;
}

/* A stop other than the expected one: say where the thread was. */
static int unexpected_stop(pid_t tid, int status)
{
	struct user_regs_struct regs;

	pr_err("thread %d stopped with signal %d (event %d) at %#llx while the threads set themselves up\n", tid,
	       WSTOPSIG(status), status >> 16, compel_get_gpregs(tid, &regs) ? 0ULL : (unsigned long long)regs.rip);
	return -EINTR;
}

static int set_options(pid_t pid, long options)
{
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)options) < 0) {
		pr_perror("Can't set ptrace options on process %d", pid);
		return -errno;
	}
	return 0;
}

int rb_run(struct restore_ctl *ctl, const struct rb_scratch *s, const struct rbatch *list)
{
	struct user_regs_struct regs;
	pid_t leader = ctl->pid;
	int status, ret;

	ret = compel_get_gpregs(leader, &regs);
	if (ret)
		return ret;
	regs.rip = s->addr;
	regs.r12 = list->base;
	regs.orig_rax = (uint64_t)-1;
	ret = compel_set_gpregs(leader, &regs);
	/* The new threads run untraced: no stop of the leader per thread. */
	if (!ret)
		ret = set_options(leader, RESTORE_PTRACE_OPTIONS & ~PTRACE_O_TRACECLONE);
	if (ret)
		return ret;
	if (ptrace(PTRACE_CONT, leader, NULL, NULL) < 0) {
		pr_perror("Can't let process %d run its thread setup", leader);
		return -errno;
	}
	ret = rb_wait_stop(leader, &status);
	if (!ret && (WSTOPSIG(status) != SIGSTOP || (status >> 16)))
		ret = unexpected_stop(leader, status);
	if (!ret)
		ret = set_options(leader, RESTORE_PTRACE_OPTIONS);
	return ret;
}

int rb_seize(const pid_t *tids, size_t nr)
{
	int status, ret;

	for (size_t i = 0; i < nr; i++)
		if (ptrace(PTRACE_SEIZE, tids[i], NULL, (void *)(long)RESTORE_PTRACE_OPTIONS) < 0 ||
		    ptrace(PTRACE_INTERRUPT, tids[i], NULL, NULL) < 0) {
			pr_perror("Can't seize thread %d", tids[i]);
			return -errno;
		}
	for (size_t i = 0; i < nr; i++) {
		ret = rb_wait_stop(tids[i], &status);
		if (ret)
			return ret;
		if ((status >> 16) != PTRACE_EVENT_STOP)
			return unexpected_stop(tids[i], status);
	}
	return 0;
}
