/*
 * criu dump's worker process and the check that tells it to give up (see
 * include/dump-guard.h): criu forks the worker, then only waits for it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump-guard.h"

#define LOG_PREFIX "dump: "
#include "log.h"

/* The signals that ask a dump to stop: criu hands them on to the worker. */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* Signals the worker turns into failed writes rather than die of them halfway. */
static const int ignored_signals[] = { SIGPIPE, SIGXFSZ };

/* In the worker: the stop signal that came, 0 while none did. Written by its handler only. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	stop_requested = sig;
}

int dump_guard_check(const struct dump_guard *g)
{
	int sig = stop_requested;

	if (!g)
		return 0;
	if (sig) {
		pr_err("criu got signal %d (%s): giving the dump up\n", sig, strsignal(sig));
		return -ECANCELED;
	}
	if (getppid() != g->criu) {
		pr_err("criu (pid %d) is gone: giving the dump up\n", g->criu);
		return -ECANCELED;
	}
	return 0;
}

/* The stop signals criu does not ignore (nohup, a shell's background job): those are handed on. */
static int stop_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		struct sigaction cur;

		if (sigaction(stop_signals[i], NULL, &cur) < 0) {
			pr_perror("Can't read the action of signal %d", stop_signals[i]);
			return -errno;
		}
		if (cur.sa_handler != SIG_IGN)
			sigaddset(set, stop_signals[i]);
	}
	return 0;
}

/* In the worker, just forked: a session of its own, handlers for @stop, criu's mask and SIGCHLD action back. */
static int worker_setup(const sigset_t *stop, const sigset_t *old_mask, const struct sigaction *old_chld)
{
	struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESTART };
	struct sigaction ign = { .sa_handler = SIG_IGN };

	if (setsid() < 0) {
		pr_perror("Can't give the dump worker a session of its own");
		return -errno;
	}
	sigfillset(&sa.sa_mask);
	sigemptyset(&ign.sa_mask);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (sigismember(stop, stop_signals[i]) && sigaction(stop_signals[i], &sa, NULL) < 0) {
			pr_perror("Can't handle signal %d in the dump worker", stop_signals[i]);
			return -errno;
		}
	for (size_t i = 0; i < sizeof(ignored_signals) / sizeof(ignored_signals[0]); i++)
		if (sigaction(ignored_signals[i], &ign, NULL) < 0) {
			pr_perror("Can't ignore signal %d in the dump worker", ignored_signals[i]);
			return -errno;
		}
	if (sigaction(SIGCHLD, old_chld, NULL) < 0 || sigprocmask(SIG_SETMASK, old_mask, NULL) < 0 ||
	    sigprocmask(SIG_UNBLOCK, stop, NULL) < 0) {
		pr_perror("Can't set the signal mask of the dump worker");
		return -errno;
	}
	return 0;
}

/*
 * In criu: waits for @worker to end, handing each signal of @stop on to it.
 * Returns the status criu exits with.
 */
static int wait_worker(pid_t worker, const sigset_t *stop)
{
	sigset_t set = *stop;
	int status, sig;

	sigaddset(&set, SIGCHLD);
	for (;;) {
		pid_t r = waitpid(worker, &status, WNOHANG);

		if (r == worker)
			break;
		if (r < 0 && errno != EINTR) {
			pr_perror("Can't wait for the dump worker %d", worker);
			return 1;
		}
		/* Blocked since before the fork: a SIGCHLD of the worker's end is pending, never lost. */
		sig = sigwaitinfo(&set, NULL);
		if (sig <= 0 || sig == SIGCHLD)
			continue;
		pr_warn("criu got signal %d (%s): asking the dump worker %d to give up\n", sig, strsignal(sig), worker);
		if (kill(worker, sig) < 0 && errno != ESRCH)
			pr_perror("Can't signal the dump worker %d", worker);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	pr_err("the dump worker %d was killed by signal %d: what it changed in the process may not have been undone\n",
	       worker, WTERMSIG(status));
	return 1;
}

int dump_guard_fork(struct dump_guard *g, int *exit_code)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;
	sigset_t stop, blocked, old_mask;
	pid_t criu = getpid(), worker;
	int ret;

	ret = stop_set(&stop);
	if (ret)
		return ret;
	blocked = stop;
	sigaddset(&blocked, SIGCHLD);
	sigemptyset(&dfl.sa_mask);
	if (sigprocmask(SIG_BLOCK, &blocked, &old_mask) < 0) {
		pr_perror("Can't block signals before forking the dump worker");
		return -errno;
	}
	/* An ignored SIGCHLD would reap the worker unseen: criu needs its status. */
	if (sigaction(SIGCHLD, &dfl, &old_chld) < 0) {
		ret = -errno;
		pr_perror("Can't reset the action of SIGCHLD");
		goto restore_mask;
	}
	/* Nothing buffered may be written twice, by both processes. */
	if (fflush(NULL))
		pr_warn("can't flush the standard streams before forking the dump worker\n");
	worker = fork();
	if (worker < 0) {
		ret = -errno;
		pr_perror("Can't fork the dump worker");
		goto restore_chld;
	}
	if (worker == 0) {
		g->criu = criu;
		return worker_setup(&stop, &old_mask, &old_chld);
	}
	*exit_code = wait_worker(worker, &stop);
	return 1;

restore_chld:
	if (sigaction(SIGCHLD, &old_chld, NULL) < 0)
		pr_perror("Can't set the action of SIGCHLD back");
restore_mask:
	if (sigprocmask(SIG_SETMASK, &old_mask, NULL) < 0)
		pr_perror("Can't set the signal mask back");
	return ret;
}
