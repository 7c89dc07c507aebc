/*
 * main() of the criu tool: parse the options, open the images and work
 * directories, set up the log, run the command (a dump in a worker process, see
 * dump-guard.h). Exit status 0 on success, 1 on any failure (as CRIU).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include "cr-check.h"
#include "cr-dump.h"
#include "cr-restore.h"
#include "crtools.h"
#include "dump-guard.h"
#include "options.h"
#include "version.h"

#define LOG_PREFIX ""
#include "log.h"

static void print_version(void)
{
	printf("Version: %s\n", CRIU_COMPAT_VERSION);
	printf("criu-ng: %s (a clean-room reimplementation of the criu tool)\n", CRIU_NG_VERSION);
}

/* Lists only what works: the options accepted for compatibility alone are in criu(8). */
static void print_usage(FILE *out)
{
	fputs("Usage:\n"
	      "  criu dump -t PID [<options>]\n"
	      "  criu restore [<options>]\n"
	      "  criu check [--feature FEAT]\n"
	      "\n"
	      "Commands:\n"
	      "  dump           checkpoint the process tree rooted at a pid, with its threads\n"
	      "  restore        restore the process tree and its threads from the images\n"
	      "  check          check that the kernel and system support what criu-ng needs\n"
	      "\n"
	      "Options:\n"
	      "  -t|--tree PID             dump: checkpoint the process tree rooted at PID\n"
	      "  -D|--images-dir DIR       directory of the image files (default: .)\n"
	      "  -W|--work-dir DIR         directory for logs and relative paths (default: images dir)\n"
	      "  -o|--log-file FILE        log file, relative to the work dir\n"
	      "  -v[v...]|-vNUM|--verbosity[=NUM]\n"
	      "                            0 messages, 1 errors, 2 warnings (default), 3 info and\n"
	      "                            timestamps, 4 debug\n"
	      "  -R|--leave-running        dump: leave the tasks running\n"
	      "  -j|--shell-job            the tree is a shell job (inherits the terminal)\n"
	      "  -l|--file-locks           dump: checkpoint the file locks the tasks hold\n"
	      "     --link-remap           dump: a file unlinked but linked elsewhere gets a link, link_remap.N\n"
	      "  -x|--ext-unix-sk          dump: datagram unix sockets may send to bound sockets outside\n"
	      "  -d|--restore-detached     restore: detach once the tree is restored\n"
	      "     --pidfile FILE         restore: write the restored root pid to FILE\n"
	      "     --display-stats        print dump/restore statistics\n"
	      "     --tcp-established      checkpoint/restore established TCP connections\n"
	      "     --tcp-close            dump them without their state; restore them closed\n"
	      "     --skip-in-flight       dump: leave out connections not yet accepted\n"
	      "     --network-lock METHOD  dump: iptables (default), nftables or skip\n"
	      "     --tcp-images FORMAT    dump: TCP streams as packed (default) or criu images\n"
	      "     --cow-images MODE      dump: a child's pages shared with its parent left to it (dedup,\n"
	      "                            default) or written again, as CRIU does (criu)\n"
	      "     --external VETH        restore: veth[IN]:OUT[@BR], the outer end of the tree's veth IN\n"
	      "                            is OUT in criu's network namespace, a port of bridge BR\n"
	      "     --veth-pair PAIR       restore: IN=OUT[@BR], the same\n"
	      "     --timeout NUM          dump: seconds to wait for the tasks to stop (default 10)\n"
	      "     --config FILE          read options from FILE\n"
	      "     --no-default-config    don't read /etc/criu/default.conf, ~/.criu/default.conf\n"
	      "     --feature FEAT         check: one feature (repeatable; 'list' names them)\n"
	      "  -V|--version              print the version\n"
	      "  -h|--help                 print this text\n"
	      "\n"
	      "Boolean options can be negated with --no- (--no-display-stats). An option given to a\n"
	      "command it does nothing for is warned about; any other CRIU option is refused with a\n"
	      "message naming it. See criu(8).\n",
	      out);
}

static int open_dir(const char *path, const char *what)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		pr_perror("Can't open %s %s", what, path);
		return -errno;
	}
	return fd;
}

static int ctx_setup(struct criu_ctx *ctx, const struct criu_opts *opts)
{
	int ret;

	ctx->opts = opts;
	ctx->imgdir_fd = -1;
	ctx->workdir_fd = AT_FDCWD;
	ctx->guard = NULL;

	if (opts->images_dir || opts->cmd != CRIU_CMD_CHECK) {
		ctx->imgdir_fd = open_dir(opts->images_dir ?: ".", "images directory");
		if (ctx->imgdir_fd < 0)
			return ctx->imgdir_fd;
	}
	if (opts->work_dir) {
		ctx->workdir_fd = open_dir(opts->work_dir, "work directory");
		if (ctx->workdir_fd < 0)
			return ctx->workdir_fd;
	} else if (ctx->imgdir_fd >= 0) {
		ctx->workdir_fd = ctx->imgdir_fd;
	}

	ret = log_init(ctx->workdir_fd, opts->log_file, opts->log_level);
	if (ret)
		return ret;
	pr_info("Version: %s (criu-ng %s)\n", CRIU_COMPAT_VERSION, CRIU_NG_VERSION);
	opts_log(opts);
	return 0;
}

static void ctx_fini(struct criu_ctx *ctx)
{
	log_fini();
	if (ctx->workdir_fd >= 0 && ctx->workdir_fd != ctx->imgdir_fd)
		close(ctx->workdir_fd);
	if (ctx->imgdir_fd >= 0)
		close(ctx->imgdir_fd);
}

static int run_command(const struct criu_ctx *ctx)
{
	switch (ctx->opts->cmd) {
	case CRIU_CMD_DUMP:
		return cr_dump_tasks(ctx);
	case CRIU_CMD_RESTORE:
		return cr_restore_tasks(ctx);
	case CRIU_CMD_CHECK:
		return cr_check(ctx);
	case CRIU_CMD_NONE:
		break;
	}
	return -EINVAL;
}

/*
 * A dump holds a copy of every socket of the process, a restore creates them
 * all before the process exists: criu may open as many fds as the hard limit
 * allows. (The restored process gets its own limits back.)
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			pr_warn("can't raise the fd limit to %llu: %m\n", (unsigned long long)rl.rlim_max);
	}
}

int main(int argc, char **argv)
{
	struct dump_guard guard;
	struct criu_opts opts;
	struct criu_ctx ctx;
	int ret, code;

	log_early_init();
	opts_init(&opts);
	if (opts_parse(&opts, argc, argv)) {
		opts_fini(&opts);
		return 1;
	}
	if (opts.show_help || opts.show_version) {
		if (opts.show_help)
			print_usage(stdout);
		else
			print_version();
		opts_fini(&opts);
		return fflush(stdout) ? 1 : 0;
	}

	raise_nofile();
	ret = ctx_setup(&ctx, &opts);
	if (!ret && opts.cmd == CRIU_CMD_DUMP) {
		/* The worker dumps and says all there is to say; criu only waits for it. */
		ret = dump_guard_fork(&guard, &code);
		if (ret > 0) {
			ctx_fini(&ctx);
			opts_fini(&opts);
			return code;
		}
		ctx.guard = &guard;
	}
	if (!ret)
		ret = run_command(&ctx);
	if (ret && opts.cmd != CRIU_CMD_CHECK)
		pr_err("%s failed\n", opts_cmd_name(opts.cmd));
	ctx_fini(&ctx);
	opts_fini(&opts);
	return ret ? 1 : 0;
}
