/*
 * pstree02: zombies and a stopped child. The root keeps two zombies, one
 * that exited with code 42 and one killed by SIGUSR1, and a child stopped by
 * SIGSTOP. After restore the zombies are still zombies with the same wait
 * status, and the stopped child is still stopped: it goes on with SIGCONT,
 * checks its memory and exits with 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MEM_SIZE 65536

static char state_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* The zombie ends as @how says: exit code, or killed by the signal. */
static pid_t make_zombie(int code, int sig)
{
	pid_t pid = fork();

	if (pid == 0) {
		test_forked();
		if (sig)
			kill(getpid(), sig);
		_exit(code);
	}
	return pid;
}

static int check_zombie(pid_t pid, int code, int sig)
{
	int status;

	if (state_of(pid) != 'Z') {
		fail("zombie %d is in state %c", pid, state_of(pid));
		return 1;
	}
	if (waitpid(pid, &status, WNOHANG) != pid) {
		fail("can't reap zombie %d", pid);
		return 1;
	}
	if (sig ? !WIFSIGNALED(status) || WTERMSIG(status) != sig : !WIFEXITED(status) || WEXITSTATUS(status) != code) {
		fail("zombie %d: status %#x, expected %s %d", pid, status, sig ? "signal" : "exit code",
		     sig ? sig : code);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	siginfo_t si;
	pid_t z1, z2, st;
	int status, ret = 0;

	test_init(argc, argv);
	z1 = make_zombie(42, 0);
	z2 = make_zombie(0, SIGUSR1);
	st = fork();
	if (st == 0) {
		uint8_t *mem = malloc(MEM_SIZE);
		uint32_t crc;

		test_forked();
		if (!mem)
			_exit(1);
		datagen(mem, MEM_SIZE, &crc);
		kill(getpid(), SIGSTOP);
		/* Continued after restore. */
		_exit(datachk(mem, MEM_SIZE, crc) ? 1 : 0);
	}
	if (z1 < 0 || z2 < 0 || st < 0) {
		fail("fork");
		return 1;
	}
	/* Zombies, not reaped: wait for them without taking their status. */
	if (waitid(P_PID, z1, &si, WEXITED | WNOWAIT) || waitid(P_PID, z2, &si, WEXITED | WNOWAIT) ||
	    waitpid(st, &status, WUNTRACED) != st || !WIFSTOPPED(status)) {
		fail("children did not get into their states");
		return 1;
	}

	test_daemon();
	test_waitsig();

	ret |= check_zombie(z1, 42, 0);
	ret |= check_zombie(z2, 0, SIGUSR1);
	if (state_of(st) != 'T') {
		fail("the stopped child %d is in state %c", st, state_of(st));
		ret = 1;
	}
	if (kill(st, SIGCONT) || waitpid(st, &status, 0) != st || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the stopped child did not end well (status %#x)", status);
		ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
