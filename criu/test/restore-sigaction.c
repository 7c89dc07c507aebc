/*
 * criu restore sets the signal dispositions and the alternate signal stack the
 * images record, whoever wrote them: this test writes them into core-PID.img
 * itself, as the child reports them (its own rt_sigaction and sigaltstack
 * readings), independently of what our dump records: a SIGTERM handler with SA_ONSTACK and glibc's
 * restorer, and a 64 KiB alternate stack. After the restore, SIGTERM must run
 * the handler on that stack, which exits 0 (the default action would kill it).
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <sys/syscall.h>

#include "image.h"
#include "restore-test.h"
#include "restore-thread.h"

#include "core.pb-c.h"

#define ALTSTACK_SIZE (64 << 10)
#define EXIT_NOT_ON_STACK 5

struct kernel_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* What the child reports: its SIGTERM disposition and alternate stack, as the kernel has them. */
struct child_report {
	struct kernel_sigaction term;
	stack_t ss;
};

static char altstack[ALTSTACK_SIZE] __attribute__((aligned(16)));

static void on_term(int sig)
{
	char here;

	(void)sig;
	_exit(&here >= altstack && &here < altstack + ALTSTACK_SIZE ? 0 : EXIT_NOT_ON_STACK);
}

static void __attribute__((noreturn)) child_main(int ready_fd)
{
	struct sigaction sa = { .sa_handler = on_term, .sa_flags = SA_ONSTACK };
	struct child_report rep;
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	int null_fd = open("/dev/null", O_RDWR);

	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(RCHILD_SETUP);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != ready_fd)
			close(fd);
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	if (sigaltstack(&ss, NULL) || sigaction(SIGTERM, &sa, NULL) ||
	    syscall(SYS_rt_sigaction, SIGTERM, NULL, &rep.term, sizeof(rep.term.mask)) || sigaltstack(NULL, &rep.ss))
		_exit(RCHILD_SETUP);
	if (write(ready_fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(RCHILD_SETUP);
	close(ready_fd);
	for (;;) {
		rchild_counter++;
		usleep(1000);
	}
}

static int start_child(pid_t *pid, struct child_report *rep)
{
	int ready[2];
	ssize_t n;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		close(ready[0]);
		child_main(ready[1]);
	}
	close(ready[1]);
	n = read(ready[0], rep, sizeof(*rep));
	if (n == sizeof(*rep) && read(ready[0], &n, 1) != 0) /* ready, and the pipe closed on its side */
		n = -1;
	close(ready[0]);
	return n == sizeof(*rep) ? 0 : -EIO;
}

/* Adds the child's SIGTERM action and alternate stack to core-PID.img, as a dump recording them would. */
static int patch_core(const char *img, pid_t pid, const struct child_report *rep)
{
	SaEntry sa[RESTORE_NR_SIGACTIONS], *sa_ptrs[RESTORE_NR_SIGACTIONS];
	ThreadSasEntry sas = THREAD_SAS_ENTRY__INIT;
	struct cr_img *in, *out;
	CoreEntry *core;
	int dirfd, ret, i = 0;

	dirfd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	ret = img_open(&in, dirfd, IMG_READ, CR_IMG_CORE, (unsigned int)pid);
	if (!ret) {
		ret = img_read_one(in, (void **)&core);
		img_close(in);
	}
	if (ret)
		goto out_close;
	for (int sig = 1; sig <= RESTORE_SIGMAX; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sa_entry__init(&sa[i]);
		if (sig == SIGTERM) {
			sa[i].sigaction = rep->term.handler, sa[i].flags = rep->term.flags;
			sa[i].restorer = rep->term.restorer, sa[i].mask = rep->term.mask;
		}
		sa_ptrs[i] = &sa[i];
		i++;
	}
	sas.ss_sp = (uint64_t)(uintptr_t)rep->ss.ss_sp, sas.ss_size = rep->ss.ss_size;
	sas.ss_flags = (uint32_t)rep->ss.ss_flags;
	core->tc->n_sigactions = RESTORE_NR_SIGACTIONS;
	core->tc->sigactions = sa_ptrs;
	core->thread_core->sas = &sas;
	ret = img_open(&out, dirfd, IMG_WRITE, CR_IMG_CORE, (unsigned int)pid);
	if (!ret) {
		ret = img_write_entry(out, core);
		ret = img_close(out) ?: ret;
	}
	/* Ours, not the decoder's: don't let it free them. */
	core->tc->n_sigactions = 0;
	core->tc->sigactions = NULL;
	core->thread_core->sas = NULL;
	img_free_entry(core);
out_close:
	close(dirfd);
	return ret;
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", "-o", "restore.log", "-v4", NULL };
	struct child_report rep;
	int failures = 0, status;
	pid_t pid = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-sigaction"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || start_child(&pid, &rep)) {
		fprintf(stderr, "can't start the child\n");
		failures++;
		goto out;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rtest_dump(tmp, dump, pid, &failures))
		goto out;
	expect(&failures, patch_core(img, pid, &rep) == 0, "can't add the signal state to core-%d.img", pid);
	if (rtest_restore(tmp, restore, &failures))
		goto out;
	usleep(20000);
	expect(&failures, kill(pid, SIGTERM) == 0, "can't signal the restored child: %m");
	status = rchild_wait(pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the restored child ended with status %#x (exit 5: the handler was not on the alternate stack)", status);
	if (status < 0)
		rchild_kill(pid);
out:
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore.log");
	}
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
