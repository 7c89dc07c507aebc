/*
 * What every command of the criu tool gets from main(): the parsed options and
 * the directories they name, opened once.
 */
#ifndef CRIU_NG_CRTOOLS_H
#define CRIU_NG_CRTOOLS_H

#include "options.h"

struct dump_guard;

struct criu_ctx {
	const struct criu_opts *opts;
	/* -D|--images-dir (default "."); -1 for check without -D. */
	int imgdir_fd;
	/* -W|--work-dir, else the images directory, else the current directory: logs and pidfiles. */
	int workdir_fd;
	/* criu dump's worker: when to give up (dump-guard.h); NULL for the other commands. */
	const struct dump_guard *guard;
};

#endif /* CRIU_NG_CRTOOLS_H */
