/*
 * CRIU configuration files: /etc/criu/default.conf, $HOME/.criu/default.conf
 * (both skipped with --no-default-config), $CRIU_CONFIG_FILE and --config FILE.
 * Each line is "option [value]" (the leading "--" may be left out), '#' starts a
 * comment, and quotes group words. Their options are placed before the command
 * line's, so that the command line wins.
 */
#ifndef CRIU_NG_CONFIG_H
#define CRIU_NG_CONFIG_H

#include <stdbool.h>

#define CONFIG_GLOBAL_FILE "/etc/criu/default.conf"
#define CONFIG_USER_FILE ".criu/default.conf"
#define CONFIG_ENV "CRIU_CONFIG_FILE"
/* Bound on a configuration file's size. */
#define CONFIG_MAX_SIZE (1 << 20)

struct config_args {
	int argc;
	char **argv;
	/* argv[1 .. nr_owned] were read from files and are freed by config_args_free(). */
	int nr_owned;
	/* What the command line said, found before parsing it (these can't come from a file). */
	bool no_default_config;
	const char *config_file;
};

/*
 * Builds @out from the configuration files and the command line @argv.
 * Returns 0 or -errno after reporting the file and line at fault.
 */
int config_args_build(struct config_args *out, int argc, char **argv);
void config_args_free(struct config_args *args);

#endif /* CRIU_NG_CONFIG_H */
