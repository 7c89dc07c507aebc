/*
 * Command-line options of the criu tool: CRIU's option names, parsed into a
 * struct criu_opts that main() owns and passes down (no process-wide options).
 */
#ifndef CRIU_NG_OPTIONS_H
#define CRIU_NG_OPTIONS_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

enum criu_cmd {
	CRIU_CMD_NONE,
	CRIU_CMD_DUMP,
	CRIU_CMD_RESTORE,
	CRIU_CMD_CHECK,
};

/* Values as stored in inventory_entry.network_lock_method (CRIU's numbering). */
enum network_lock_method {
	LOCK_METHOD_IPTABLES = 0,
	LOCK_METHOD_NFTABLES = 1,
	LOCK_METHOD_SKIP = 2,
};

/* Values as stored in inventory_entry.pre_dump_mode (CRIU's numbering). */
enum pre_dump_mode {
	PREDUMP_BY_SPLICE = 1,
	PREDUMP_BY_READ = 2,
};

#define LOCK_METHOD_DEFAULT LOCK_METHOD_IPTABLES
#define OPTS_DEFAULT_TIMEOUT 10 /* seconds, --timeout */
#define OPTS_MAX_FEATURES 16
#define OPTS_MAX_NOTES 32
#define OPTS_MAX_VETHS 16
#define OPTS_IFNAMSIZ 16   /* IFNAMSIZ, the name's NUL included */
#define OPTS_MAX_KNOWN 128 /* entries in options.c's table of known options */

/*
 * An option that was accepted but changes nothing for the command at hand. It is
 * warned about at the default verbosity, except where CRIU's test harness passes
 * it routinely and CRIU ignores it too, or when it came from a configuration file,
 * which applies to every command (@quiet: noted at -v4 only, see criu(8)).
 */
struct opt_note {
	const char *name;
	const char *arg;
	const char *why;
	bool quiet;
};

struct criu_opts {
	enum criu_cmd cmd;
	bool show_version;
	bool show_help;

	int log_level;
	const char *log_file;
	const char *images_dir;
	const char *work_dir;
	const char *pidfile;

	pid_t tree_pid;
	bool leave_running;
	bool shell_job;
	bool file_locks;
	bool link_remap; /* --link-remap: a file unlinked but linked elsewhere gets a link of criu's */
	bool display_stats;
	bool restore_detached;
	unsigned int timeout;
	bool timeout_given;
	enum pre_dump_mode pre_dump_mode;
	bool pre_dump_mode_given;

	bool tcp_established;
	bool tcp_close;
	bool skip_in_flight;
	bool ext_unix_sk; /* --ext-unix-sk */
	enum network_lock_method network_lock;
	bool network_lock_given;
	bool tcp_images_criu; /* --tcp-images criu: CRIU's tcp-stream-INO.img per connection */
	bool tcp_images_given;
	bool cow_images_criu; /* --cow-images criu: every process's pages, none left to its parent */
	bool cow_images_given;
	/* --external veth[IN]:OUT[@BRIDGE] and --veth-pair IN=OUT[@BRIDGE] (restore) */
	struct opt_veth {
		char in[OPTS_IFNAMSIZ], out[OPTS_IFNAMSIZ], bridge[OPTS_IFNAMSIZ]; /* bridge "": none */
	} veths[OPTS_MAX_VETHS];
	unsigned int nr_veths;

	bool no_default_config;
	const char *config_file;

	/* criu check */
	const char *features[OPTS_MAX_FEATURES];
	unsigned int nr_features;
	bool check_extra;
	bool check_experimental;
	bool check_all;

	struct opt_note notes[OPTS_MAX_NOTES];
	unsigned int nr_notes;
	/* Which known options (by table entry) the command line gave, not a configuration file. */
	bool on_cmdline[OPTS_MAX_KNOWN];

	/* The argument vector actually parsed: config file options, then the command line. */
	struct config_args args;
};

void opts_init(struct criu_opts *opts);
void opts_fini(struct criu_opts *opts);

/*
 * Reads the configuration files and parses them with @argv into @opts. Reports
 * any problem (unknown or unsupported option, bad value) on stderr and returns
 * -EINVAL; 0 on success. Strings in @opts point into @argv or into opts->args.
 */
int opts_parse(struct criu_opts *opts, int argc, char **argv);

/*
 * Logs the effective options at -v4, and the accepted options that have no effect:
 * as warnings, or at -v4 for the quiet ones (struct opt_note).
 */
void opts_log(const struct criu_opts *opts);

const char *opts_cmd_name(enum criu_cmd cmd);
const char *opts_network_lock_name(enum network_lock_method method);

#endif /* CRIU_NG_OPTIONS_H */
