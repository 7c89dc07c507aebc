/*
 * stopped_pending00: stopped processes that were sent a stop signal again
 * (it stays pending while they are stopped) are dumped and come back stopped;
 * a SIGCONT then lets each run on. One child has a second SIGSTOP pending for
 * the whole process (kill), one for its thread (tgkill) and a SIGTSTP too.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

/* The state letter of @pid in /proc/PID/stat, or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')))
		return 0;
	return p[2];
}

/* The pending-signal mask @field ("SigPnd" or "ShdPnd") of @pid. */
static unsigned long long pending(pid_t pid, const char *field)
{
	unsigned long long mask = 0;
	char path[64], line[256];
	size_t len = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			sscanf(line + len + 1, "%llx", &mask);
	fclose(f);
	return mask;
}

static bool stop_child(pid_t pid, bool private)
{
	unsigned long long want = 1ull << (SIGSTOP - 1);
	int status;

	if (kill(pid, SIGSTOP) || waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		fail("child %d did not stop", pid);
		return false;
	}
	if (private ? syscall(SYS_tgkill, pid, pid, SIGSTOP) || kill(pid, SIGTSTP) : kill(pid, SIGSTOP)) {
		fail("can't send child %d its stop signals", pid);
		return false;
	}
	if (!(pending(pid, private ? "SigPnd" : "ShdPnd") & want)) {
		fail("child %d has no SIGSTOP pending", pid);
		return false;
	}
	return true;
}

static bool resume_child(pid_t pid)
{
	int status;

	if (proc_state(pid) != 'T') {
		fail("child %d is in state %c, not stopped", pid, proc_state(pid));
		return false;
	}
	if (kill(pid, SIGCONT) || waitpid(pid, &status, WCONTINUED) != pid || !WIFCONTINUED(status)) {
		fail("child %d did not continue", pid);
		return false;
	}
	for (int i = 0; i < 100 && proc_state(pid) == 'T'; i++)
		usleep(10000);
	if (proc_state(pid) == 'T') {
		fail("child %d is still stopped after SIGCONT", pid);
		return false;
	}
	return tree_end_child(pid, SIGTERM, "a stopped child");
}

/* Stopped only once it let go of the launcher's pipe (test_forked()). */
static void __attribute__((noreturn)) child_main(int i, int ready)
{
	(void)i;
	if (write(ready, "R", 1) != 1)
		_exit(2);
	close(ready);
	test_waitsig();
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t children[2];

	test_init(argc, argv);
	if (tree_fork_ready(children, 2, child_main))
		return 1;
	if (!stop_child(children[0], false) || !stop_child(children[1], true))
		return 1;

	test_daemon();
	test_waitsig();

	if (!resume_child(children[0]) || !resume_child(children[1]))
		return 1;
	pass();
	return 0;
}
