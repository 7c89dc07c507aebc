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
 *		add r12, 64
 *		test byte [r12-60], RB_CHECK
 *		jz loop
 *		cmp rax, -4095			; -errno: the list ends here
 *		jb loop
 *	stop:	mov eax, SYS_getpid; syscall; mov r13, rax
 *		mov eax, SYS_gettid; syscall; mov rsi, rax
 *		mov rdi, r13; mov edx, SIGSTOP; mov eax, SYS_tgkill; syscall
 *		jmp stop
 */
static const unsigned char rb_code[] = {
	0x41, 0x8b, 0x04, 0x24, 0x83, 0xf8, 0xff, 0x74, 0x4d, 0x49, 0x8b, 0x7c, 0x24, 0x08, 0x49, 0x8b, 0x74, 0x24,
	0x10, 0x49, 0x8b, 0x54, 0x24, 0x18, 0x4d, 0x8b, 0x54, 0x24, 0x20, 0x4d, 0x8b, 0x44, 0x24, 0x28, 0x4d, 0x8b,
	0x4c, 0x24, 0x30, 0x0f, 0x05, 0x48, 0x85, 0xc0, 0x75, 0x0f, 0x41, 0xf6, 0x44, 0x24, 0x04, 0x02, 0x74, 0x07,
	0x4d, 0x8b, 0x64, 0x24, 0x18, 0xeb, 0xc3, 0x49, 0x89, 0x44, 0x24, 0x38, 0x49, 0x83, 0xc4, 0x40, 0x41, 0xf6,
	0x44, 0x24, 0xc4, 0x01, 0x74, 0xb2, 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff, 0x72, 0xaa, 0xb8, 0x27, 0x00, 0x00,
	0x00, 0x0f, 0x05, 0x49, 0x89, 0xc5, 0xb8, 0xba, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89, 0xc6, 0x4c, 0x89,
	0xef, 0xba, 0x13, 0x00, 0x00, 0x00, 0xb8, 0xea, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xdb,
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
	s->leader_recs = nr_threads + RB_THREAD_RECS;
	s->leader_data = nr_threads * (sizeof(struct restore_clone_args) + sizeof(pid_t)) + RB_THREAD_DATA;
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
	ret = restore_ctl_write(ctl, s->addr, rb_code, sizeof(rb_code));
	if (ret) {
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

void rb_scratch_leader(const struct rb_scratch *s, struct rbatch *b)
{
	rbatch_init(b, s->addr + s->leader_off, s->leader_recs, s->leader_data);
}

void rb_scratch_thread(const struct rb_scratch *s, size_t i, struct rbatch *b)
{
	rbatch_init(b, s->addr + s->slots_off + i * RB_THREAD_SLOT, RB_THREAD_RECS, RB_THREAD_DATA);
}

void rbatch_init(struct rbatch *b, uint64_t base, size_t max_recs, size_t data_room)
{
	memset(b, 0, sizeof(*b));
	b->base = base;
	b->max_recs = max_recs;
	b->data_room = data_room;
	b->recs = calloc(max_recs + 1, sizeof(*b->recs));
	b->meta = calloc(max_recs, sizeof(*b->meta));
	b->data = malloc(data_room);
	if (!b->recs || !b->meta || !b->data)
		b->err = -ENOMEM;
}

void rbatch_fini(struct rbatch *b)
{
	free(b->recs);
	free(b->meta);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void rbatch_add(struct rbatch *b, const char *what, uint32_t flags, long nr, unsigned int nargs, ...)
{
	struct rb_rec *r;
	va_list ap;

	if (b->err)
		return;
	if (b->nr == b->max_recs || nargs > 6) {
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

int rbatch_write(struct restore_ctl *ctl, struct rbatch *b)
{
	uint64_t data_addr = b->base + (b->max_recs + 1) * sizeof(struct rb_rec);
	int ret;

	if (b->err) {
		pr_err("the setup of a thread of process %d needs more room than there is: %s\n", ctl->pid,
		       strerror(-b->err));
		return b->err;
	}
	memset(&b->recs[b->nr], 0, sizeof(b->recs[b->nr]));
	b->recs[b->nr].nr = RB_END;
	ret = restore_ctl_write(ctl, b->base, b->recs, (b->nr + 1) * sizeof(*b->recs));
	if (!ret && b->data_len)
		ret = restore_ctl_write(ctl, data_addr, b->data, b->data_len);
	return ret;
}

int rbatch_check(struct restore_ctl *ctl, struct rbatch *b, pid_t tid)
{
	size_t len = b->nr * sizeof(*b->recs);
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
	for (size_t i = 0; i < b->nr; i++) {
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

/* Waits for the next stop of @tid; *@status as waitpid gives it. A thread that is gone is -ESRCH. */
static int wait_stop(pid_t tid, int *status)
{
	while (waitpid(tid, status, __WALL) < 0)
		if (errno != EINTR) {
			pr_perror("Can't wait for thread %d", tid);
			return -errno;
		}
	if (!WIFSTOPPED(*status)) {
		pr_err("thread %d is gone (status %#x) while setting itself up\n", tid, *status);
		return -ESRCH;
	}
	return 0;
}

/* A stop other than the interpreter's final SIGSTOP: say where the thread was. */
static int unexpected_stop(pid_t tid, int status)
{
	struct user_regs_struct regs;

	pr_err("thread %d stopped with signal %d (event %d) at %#llx while setting itself up\n", tid, WSTOPSIG(status),
	       status >> 16, compel_get_gpregs(tid, &regs) ? 0ULL : (unsigned long long)regs.rip);
	return -EINTR;
}

/* PTRACE_EVENT_CLONE of the leader: the new thread, expected to be tids[*created], is let run. */
static int start_new_thread(pid_t leader, const pid_t *tids, size_t nr, size_t *created)
{
	unsigned long msg;
	int status, ret;
	pid_t tid;

	if (ptrace(PTRACE_GETEVENTMSG, leader, NULL, &msg) < 0) {
		pr_perror("Can't get the new thread of process %d", leader);
		return -errno;
	}
	tid = (pid_t)msg;
	if (*created >= nr || tids[*created] != tid) {
		pr_err("process %d created thread %d, not the expected one\n", leader, tid);
		return -EINVAL;
	}
	(*created)++;
	ret = wait_stop(tid, &status);
	if (ret)
		return ret;
	if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0) {
		pr_perror("Can't let thread %d run", tid);
		return -errno;
	}
	return 0;
}

int rb_run(struct restore_ctl *ctl, const struct rb_scratch *s, const struct rbatch *list, const pid_t *tids, size_t nr,
	   size_t *created)
{
	struct user_regs_struct regs;
	pid_t leader = ctl->pid;
	int status, ret;

	*created = 0;
	ret = compel_get_gpregs(leader, &regs);
	if (ret)
		return ret;
	regs.rip = s->addr;
	regs.r12 = list->base;
	regs.orig_rax = (uint64_t)-1;
	ret = compel_set_gpregs(leader, &regs);
	if (ret)
		return ret;
	if (ptrace(PTRACE_CONT, leader, NULL, NULL) < 0) {
		pr_perror("Can't let process %d run its thread setup", leader);
		return -errno;
	}
	for (;;) {
		ret = wait_stop(leader, &status);
		if (ret)
			return ret;
		if (WSTOPSIG(status) == SIGSTOP && !(status >> 16))
			break;
		if (WSTOPSIG(status) != SIGTRAP || (status >> 16) != PTRACE_EVENT_CLONE)
			return unexpected_stop(leader, status);
		ret = start_new_thread(leader, tids, nr, created);
		if (ret)
			return ret;
		if (ptrace(PTRACE_CONT, leader, NULL, NULL) < 0) {
			pr_perror("Can't let process %d go on with its thread setup", leader);
			return -errno;
		}
	}
	for (size_t i = 0; i < *created; i++) {
		ret = wait_stop(tids[i], &status);
		if (ret)
			return ret;
		if (WSTOPSIG(status) != SIGSTOP || (status >> 16))
			return unexpected_stop(tids[i], status);
	}
	return 0;
}
