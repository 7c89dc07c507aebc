/*
 * criu dump: checkpoint a process tree. The engine is not written yet: this
 * checks what it can about the request and then fails, saying so.
 */
#include <errno.h>
#include <signal.h>

#include "cr-dump.h"

#define LOG_PREFIX "dump: "
#include "log.h"

int cr_dump_tasks(const struct criu_ctx *ctx)
{
	pid_t pid = ctx->opts->tree_pid;

	pr_info("Dumping processes (pid: %d)\n", pid);
	if (kill(pid, 0) < 0 && errno == ESRCH) {
		pr_err("process %d does not exist\n", pid);
		return -ESRCH;
	}
	pr_err("not implemented yet\n");
	return -ENOSYS;
}
