/*
 * criu dump outliving the criu the user can kill: the dump runs in a worker
 * process that criu forks right after parsing its options and opening its log,
 * in a session and process group of its own, so that neither a signal to criu
 * nor one to criu's process group (Ctrl-C, a supervisor's SIGKILL) reaches the
 * ptrace tracer. Were the tracer killed, the kernel would detach the threads
 * with whatever criu had set in them (every signal blocked, registers pointing
 * at an injected syscall, a scratch mapping) and let them run on like that.
 *
 * criu itself only waits for the worker and exits with its status; SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT (those criu does not ignore) are handed on to the
 * worker as a request to stop. The worker calls dump_guard_check() between the
 * steps of the dump, between injected syscalls and every MiB of memory copied:
 * once criu is gone or a stop was requested, the check fails with -ECANCELED
 * and the dump takes its ordinary failure path, which puts back everything it
 * changed in the process (registers, signal masks, mappings) and detaches it,
 * leaving it running as before. Code that undoes never calls the check.
 */
#ifndef CRIU_NG_DUMP_GUARD_H
#define CRIU_NG_DUMP_GUARD_H

#include <sys/types.h>

struct dump_guard {
	pid_t criu; /* the process that forked the worker and waits for it */
};

/*
 * Forks the dump worker. In the worker: fills @g and returns 0; the worker then
 * dumps and exits as criu would have. In criu: waits for the worker to end and
 * returns 1, *@exit_code being the status to exit with. Returns -errno (logged)
 * when there is no worker, nothing having been done.
 */
__attribute__((warn_unused_result)) int dump_guard_fork(struct dump_guard *g, int *exit_code);

/*
 * 0 while the dump may go on; -ECANCELED (logged) once it must be given up:
 * criu is gone, or was asked to stop. Always 0 for @g NULL (no worker). Costs
 * one getppid(2).
 */
__attribute__((warn_unused_result)) int dump_guard_check(const struct dump_guard *g);

#endif /* CRIU_NG_DUMP_GUARD_H */
