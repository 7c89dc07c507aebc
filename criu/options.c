/*
 * Command-line parsing for the criu tool: CRIU's option names, one table of what
 * criu-ng accepts and of what it knows but refuses, and per-command validation.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define LOG_PREFIX "options: "
#include "log.h"

enum opt_kind {
	OPT_HANDLER, /* handled by ->handler */
	OPT_BOOL,    /* sets the bool at ->offset; "--no-NAME" clears it */
	OPT_REFUSE,  /* a CRIU option criu-ng does not implement: refused by name */
};

struct opt_desc {
	const char *name;
	int short_name;
	int has_arg;
	enum opt_kind kind;
	size_t offset;
	int (*handler)(struct criu_opts *opts, const char *arg);
};

/* getopt_long "val" of table entry i is OPT_VAL_BASE + 2 * i, and + 1 for its "--no-" form. */
#define OPT_VAL_BASE 0x100

static int parse_uint(const char *arg, unsigned long max, unsigned long *out)
{
	char *end;

	if (!arg || !*arg || *arg == '-' || *arg == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

static int opt_tree(struct criu_opts *opts, const char *arg)
{
	unsigned long pid;

	if (parse_uint(arg, INT_MAX, &pid) || pid == 0) {
		pr_err("-t|--tree needs a process id, not '%s'\n", arg);
		return -EINVAL;
	}
	opts->tree_pid = (pid_t)pid;
	return 0;
}

static int opt_images_dir(struct criu_opts *opts, const char *arg)
{
	opts->images_dir = arg;
	return 0;
}

static int opt_work_dir(struct criu_opts *opts, const char *arg)
{
	opts->work_dir = arg;
	return 0;
}

static int opt_log_file(struct criu_opts *opts, const char *arg)
{
	opts->log_file = arg;
	return 0;
}

static int opt_pidfile(struct criu_opts *opts, const char *arg)
{
	opts->pidfile = arg;
	return 0;
}

/*
 * -v, -vN, -vvv, --verbosity, --verbosity=N. getopt reads the single-dash
 * "-verbosity=N" that CRIU's test harness passes as -v with the argument
 * "erbosity=N"; take the number after '=' as CRIU does.
 */
static int opt_verbosity(struct criu_opts *opts, const char *arg)
{
	unsigned long level;

	if (!arg || !strcmp(arg, "erbosity")) {
		opts->log_level++;
		return 0;
	}
	if (arg[strspn(arg, "v")] == '\0') {
		opts->log_level += strlen(arg) + 1;
		return 0;
	}
	if (!strncmp(arg, "erbosity=", 9))
		arg += 9;
	if (parse_uint(arg, INT_MAX, &level)) {
		pr_err("bad verbosity '%s': expected a level from 0 to 4\n", arg);
		return -EINVAL;
	}
	opts->log_level = (int)level;
	return 0;
}

static int opt_network_lock(struct criu_opts *opts, const char *arg)
{
	if (!strcmp(arg, "iptables"))
		opts->network_lock = LOCK_METHOD_IPTABLES;
	else if (!strcmp(arg, "nftables"))
		opts->network_lock = LOCK_METHOD_NFTABLES;
	else if (!strcmp(arg, "skip") || !strcmp(arg, "none"))
		opts->network_lock = LOCK_METHOD_SKIP;
	else {
		pr_err("--network-lock: unknown method '%s' (iptables, nftables or skip)\n", arg);
		return -EINVAL;
	}
	opts->network_lock_given = true;
	return 0;
}

static int opt_tcp_images(struct criu_opts *opts, const char *arg)
{
	if (!strcmp(arg, "packed"))
		opts->tcp_images_criu = false;
	else if (!strcmp(arg, "criu"))
		opts->tcp_images_criu = true;
	else {
		pr_err("--tcp-images: unknown format '%s' (packed or criu)\n", arg);
		return -EINVAL;
	}
	opts->tcp_images_given = true;
	return 0;
}

static int opt_cow_images(struct criu_opts *opts, const char *arg)
{
	if (!strcmp(arg, "dedup"))
		opts->cow_images_criu = false;
	else if (!strcmp(arg, "criu"))
		opts->cow_images_criu = true;
	else {
		pr_err("--cow-images: unknown mode '%s' (dedup or criu)\n", arg);
		return -EINVAL;
	}
	opts->cow_images_given = true;
	return 0;
}

/* --ext-unix-sk alone; CRIU's list of inodes (sockets handed over with --inherit-fd) is not supported. */
static int opt_ext_unix_sk(struct criu_opts *opts, const char *arg)
{
	if (arg) {
		pr_err("--ext-unix-sk=%s: a list of socket inodes (restored with --inherit-fd) is not supported; "
		       "--ext-unix-sk alone lets datagram sockets reconnect to bound sockets outside\n",
		       arg);
		return -EOPNOTSUPP;
	}
	opts->ext_unix_sk = true;
	return 0;
}

/* A link name of @len bytes at @s into @dst: 1 to IFNAMSIZ - 1 bytes, no '/', ':' or space. */
static int veth_name(char dst[OPTS_IFNAMSIZ], const char *s, size_t len, const char *opt, const char *arg)
{
	if (!len || len >= OPTS_IFNAMSIZ || memchr(s, '/', len) || memchr(s, ' ', len) || memchr(s, ':', len)) {
		pr_err("%s %s: a link name of 1 to %d characters is expected\n", opt, arg, OPTS_IFNAMSIZ - 1);
		return -EINVAL;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* IN, then @sep, then OUT[@BRIDGE], from @arg (@in_len bytes of IN at @in). */
static int veth_add(struct criu_opts *opts, const char *in, size_t in_len, const char *rest, const char *opt,
		    const char *arg)
{
	struct opt_veth *v;
	const char *at = strchr(rest, '@');
	int ret;

	if (opts->nr_veths == OPTS_MAX_VETHS) {
		pr_err("at most %d veth links (--external veth[...], --veth-pair)\n", OPTS_MAX_VETHS);
		return -EINVAL;
	}
	v = &opts->veths[opts->nr_veths];
	memset(v, 0, sizeof(*v));
	ret = veth_name(v->in, in, in_len, opt, arg);
	ret = ret ?: veth_name(v->out, rest, at ? (size_t)(at - rest) : strlen(rest), opt, arg);
	if (!ret && at)
		ret = veth_name(v->bridge, at + 1, strlen(at + 1), opt, arg);
	if (!ret)
		opts->nr_veths++;
	return ret;
}

/* --external: only CRIU's veth[IFNAME]:OUTNAME[@BRIDGE] (a veth of a network namespace) is supported. */
static int opt_external(struct criu_opts *opts, const char *arg)
{
	const char *end = strstr(arg, "]:");

	if (strncmp(arg, "veth[", 5) || !end) {
		pr_err("--external is not supported for %s: only veth[IFNAME]:OUTNAME[@BRIDGE] is\n", arg);
		return -EOPNOTSUPP;
	}
	return veth_add(opts, arg + 5, (size_t)(end - arg - 5), end + 2, "--external", arg);
}

/* --veth-pair IN=OUT[@BRIDGE]: as --external veth[IN]:OUT[@BRIDGE]. */
static int opt_veth_pair(struct criu_opts *opts, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (!eq) {
		pr_err("--veth-pair %s: IN=OUT[@BRIDGE] is expected\n", arg);
		return -EINVAL;
	}
	return veth_add(opts, arg, (size_t)(eq - arg), eq + 1, "--veth-pair", arg);
}

static int opt_timeout(struct criu_opts *opts, const char *arg)
{
	unsigned long timeout;

	if (parse_uint(arg, UINT_MAX, &timeout)) {
		pr_err("--timeout needs a number of seconds, not '%s'\n", arg);
		return -EINVAL;
	}
	opts->timeout = (unsigned int)timeout;
	opts->timeout_given = true;
	return 0;
}

static int opt_pre_dump_mode(struct criu_opts *opts, const char *arg)
{
	if (!strcmp(arg, "splice"))
		opts->pre_dump_mode = PREDUMP_BY_SPLICE;
	else if (!strcmp(arg, "read"))
		opts->pre_dump_mode = PREDUMP_BY_READ;
	else {
		pr_err("--pre-dump-mode: unknown mode '%s' (splice or read)\n", arg);
		return -EINVAL;
	}
	opts->pre_dump_mode_given = true;
	return 0;
}

static int opt_no_default_config(struct criu_opts *opts, const char *arg)
{
	(void)arg;
	if (!opts->args.no_default_config) {
		pr_err("--no-default-config must be given in full on the command line\n");
		return -EINVAL;
	}
	opts->no_default_config = true;
	return 0;
}

static int opt_config(struct criu_opts *opts, const char *arg)
{
	if (!opts->args.config_file || strcmp(arg, opts->args.config_file)) {
		pr_err("--config must be given in full on the command line\n");
		return -EINVAL;
	}
	opts->config_file = arg;
	return 0;
}

static int opt_feature(struct criu_opts *opts, const char *arg)
{
	if (opts->nr_features == OPTS_MAX_FEATURES) {
		pr_err("at most %d --feature options\n", OPTS_MAX_FEATURES);
		return -EINVAL;
	}
	opts->features[opts->nr_features++] = arg;
	return 0;
}

static int opt_version(struct criu_opts *opts, const char *arg)
{
	(void)arg;
	opts->show_version = true;
	return 0;
}

static int opt_help(struct criu_opts *opts, const char *arg)
{
	(void)arg;
	opts->show_help = true;
	return 0;
}

#define HANDLER(n, s, a, fn)                                                                 \
	{                                                                                    \
		.name = n, .short_name = s, .has_arg = a, .kind = OPT_HANDLER, .handler = fn \
	}
#define BOOL(n, s, field)                                                             \
	{                                                                             \
		.name = n, .short_name = s, .has_arg = no_argument, .kind = OPT_BOOL, \
		.offset = offsetof(struct criu_opts, field)                           \
	}
#define REFUSE(n, s, a)                                                      \
	{                                                                    \
		.name = n, .short_name = s, .has_arg = a, .kind = OPT_REFUSE \
	}

static const struct opt_desc opt_table[] = {
	/* Accepted. */
	HANDLER("tree", 't', required_argument, opt_tree),
	HANDLER("images-dir", 'D', required_argument, opt_images_dir),
	HANDLER("work-dir", 'W', required_argument, opt_work_dir),
	HANDLER("log-file", 'o', required_argument, opt_log_file),
	HANDLER("verbosity", 'v', optional_argument, opt_verbosity),
	HANDLER("pidfile", 0, required_argument, opt_pidfile),
	BOOL("leave-running", 'R', leave_running),
	BOOL("shell-job", 'j', shell_job),
	BOOL("file-locks", 'l', file_locks),
	BOOL("link-remap", 0, link_remap),
	BOOL("display-stats", 0, display_stats),
	BOOL("restore-detached", 'd', restore_detached),
	BOOL("tcp-established", 0, tcp_established),
	BOOL("tcp-close", 0, tcp_close),
	BOOL("skip-in-flight", 0, skip_in_flight),
	HANDLER("ext-unix-sk", 'x', optional_argument, opt_ext_unix_sk),
	HANDLER("network-lock", 0, required_argument, opt_network_lock),
	HANDLER("tcp-images", 0, required_argument, opt_tcp_images),
	HANDLER("cow-images", 0, required_argument, opt_cow_images),
	HANDLER("external", 0, required_argument, opt_external),
	HANDLER("veth-pair", 0, required_argument, opt_veth_pair),
	HANDLER("timeout", 0, required_argument, opt_timeout),
	HANDLER("pre-dump-mode", 0, required_argument, opt_pre_dump_mode),
	HANDLER("no-default-config", 0, no_argument, opt_no_default_config),
	HANDLER("config", 0, required_argument, opt_config),
	HANDLER("feature", 0, required_argument, opt_feature),
	BOOL("extra", 0, check_extra),
	BOOL("experimental", 0, check_experimental),
	BOOL("all", 0, check_all),
	HANDLER("version", 'V', no_argument, opt_version),
	HANDLER("help", 'h', no_argument, opt_help),

	/* CRIU options criu-ng does not implement (yet): refused, never ignored. */
	REFUSE("leave-stopped", 's', no_argument),
	REFUSE("restore-sibling", 'S', no_argument),
	REFUSE("root", 'r', required_argument),
	REFUSE("join-ns", 'J', required_argument),
	REFUSE("ext-mount-map", 'M', required_argument),
	REFUSE("libdir", 'L', required_argument),
	REFUSE("log-pid", 0, no_argument),
	REFUSE("cpu-cap", 0, optional_argument),
	REFUSE("exec-cmd", 0, no_argument),
	REFUSE("freeze-cgroup", 0, required_argument),
	REFUSE("weak-sysctls", 0, no_argument),
	REFUSE("lazy-pages", 0, no_argument),
	REFUSE("stream", 0, no_argument),
	REFUSE("mntns-compat-mode", 0, no_argument),
	REFUSE("evasive-devices", 0, no_argument),
	REFUSE("ghost-limit", 0, required_argument),
	REFUSE("action-script", 0, required_argument),
	REFUSE("force-irmap", 0, no_argument),
	REFUSE("irmap-scan-path", 0, required_argument),
	REFUSE("manage-cgroups", 0, optional_argument),
	REFUSE("cgroup-root", 0, required_argument),
	REFUSE("cgroup-props", 0, required_argument),
	REFUSE("cgroup-props-file", 0, required_argument),
	REFUSE("cgroup-dump-controller", 0, required_argument),
	REFUSE("cgroup-yard", 0, required_argument),
	REFUSE("lsm-profile", 0, required_argument),
	REFUSE("lsm-mount-context", 0, required_argument),
	REFUSE("skip-mnt", 0, required_argument),
	REFUSE("enable-fs", 0, required_argument),
	REFUSE("enable-external-sharing", 0, no_argument),
	REFUSE("enable-external-masters", 0, no_argument),
	REFUSE("inherit-fd", 0, required_argument),
	REFUSE("empty-ns", 0, required_argument),
	REFUSE("file-validation", 0, required_argument),
	REFUSE("close", 0, required_argument),
	REFUSE("track-mem", 0, no_argument),
	REFUSE("prev-images-dir", 0, required_argument),
	REFUSE("page-server", 0, no_argument),
	REFUSE("auto-dedup", 0, no_argument),
	REFUSE("address", 0, required_argument),
	REFUSE("port", 0, required_argument),
	REFUSE("ps-socket", 0, required_argument),
	REFUSE("daemon", 0, no_argument),
	REFUSE("status-fd", 0, required_argument),
	REFUSE("tls", 0, no_argument),
	REFUSE("tls-cacert", 0, required_argument),
	REFUSE("tls-cacrl", 0, required_argument),
	REFUSE("tls-cert", 0, required_argument),
	REFUSE("tls-key", 0, required_argument),
	REFUSE("tls-no-cn-verify", 0, no_argument),
	REFUSE("orphan-pts-master", 0, no_argument),
	REFUSE("unprivileged", 0, no_argument),
	REFUSE("skip-file-rwx-check", 0, no_argument),
	REFUSE("ms", 0, no_argument),
	REFUSE("check-only", 0, no_argument),
	REFUSE("ghost-fiemap", 0, no_argument),
	REFUSE("allow-uprobes", 0, no_argument),
	REFUSE("pidfd-store", 0, required_argument),
};

#define OPT_TABLE_SIZE (sizeof(opt_table) / sizeof(opt_table[0]))
_Static_assert(OPT_TABLE_SIZE <= OPTS_MAX_KNOWN, "OPTS_MAX_KNOWN is too small for opt_table");

void opts_init(struct criu_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->log_level = LOG_DEFAULT_LEVEL;
	opts->network_lock = LOCK_METHOD_DEFAULT;
	opts->timeout = OPTS_DEFAULT_TIMEOUT;
	opts->pre_dump_mode = PREDUMP_BY_SPLICE;
}

void opts_fini(struct criu_opts *opts)
{
	config_args_free(&opts->args);
}

const char *opts_cmd_name(enum criu_cmd cmd)
{
	switch (cmd) {
	case CRIU_CMD_DUMP:
		return "dump";
	case CRIU_CMD_RESTORE:
		return "restore";
	case CRIU_CMD_CHECK:
		return "check";
	case CRIU_CMD_NONE:
		break;
	}
	return "none";
}

const char *opts_network_lock_name(enum network_lock_method method)
{
	switch (method) {
	case LOCK_METHOD_IPTABLES:
		return "iptables";
	case LOCK_METHOD_NFTABLES:
		return "nftables";
	case LOCK_METHOD_SKIP:
		return "skip";
	}
	return "unknown";
}

/* Builds getopt_long's tables from opt_table; the "--no-" names are allocated. */
static int build_getopt_tables(struct option **longopts, char **shortopts)
{
	struct option *lo;
	char *so, *p;
	size_t n = 0;

	lo = calloc(2 * OPT_TABLE_SIZE + 1, sizeof(*lo));
	so = malloc(3 * OPT_TABLE_SIZE + 3);
	if (!lo || !so)
		goto out_free;

	p = so;
	*p++ = '-'; /* report positional arguments in order, whatever POSIXLY_CORRECT says */
	*p++ = ':'; /* report a missing argument as ':' */
	for (size_t i = 0; i < OPT_TABLE_SIZE; i++) {
		const struct opt_desc *d = &opt_table[i];

		lo[n++] = (struct option){ d->name, d->has_arg, NULL, OPT_VAL_BASE + 2 * (int)i };
		if (d->kind == OPT_BOOL || (d->kind == OPT_REFUSE && d->has_arg == no_argument)) {
			char *neg;

			if (asprintf(&neg, "no-%s", d->name) < 0)
				goto out_free;
			lo[n++] = (struct option){ neg, no_argument, NULL, OPT_VAL_BASE + 2 * (int)i + 1 };
		}
		if (d->short_name) {
			*p++ = (char)d->short_name;
			if (d->has_arg != no_argument)
				*p++ = ':';
			if (d->has_arg == optional_argument)
				*p++ = ':';
		}
	}
	*p = '\0';
	*longopts = lo;
	*shortopts = so;
	return 0;

out_free:
	for (size_t i = 0; lo && i < n; i++)
		if (lo[i].val & 1)
			free((char *)lo[i].name);
	free(lo);
	free(so);
	return -ENOMEM;
}

static void free_getopt_tables(struct option *longopts, char *shortopts)
{
	for (struct option *o = longopts; o->name; o++)
		if (o->val & 1)
			free((char *)o->name);
	free(longopts);
	free(shortopts);
}

static const struct opt_desc *find_short(int c)
{
	for (size_t i = 0; i < OPT_TABLE_SIZE; i++)
		if (opt_table[i].short_name == c)
			return &opt_table[i];
	return NULL;
}

static const struct opt_desc *find_val(int val)
{
	if (val < OPT_VAL_BASE || val >= OPT_VAL_BASE + 2 * (int)OPT_TABLE_SIZE)
		return NULL;
	return &opt_table[(val - OPT_VAL_BASE) / 2];
}

static void describe(const struct opt_desc *d, char *buf, size_t size)
{
	if (d->short_name)
		snprintf(buf, size, "-%c|--%s", d->short_name, d->name);
	else
		snprintf(buf, size, "--%s", d->name);
}

static int apply_option(struct criu_opts *opts, const struct opt_desc *d, bool negated, const char *arg)
{
	char name[64];

	switch (d->kind) {
	case OPT_BOOL:
		*(bool *)((char *)opts + d->offset) = !negated;
		return 0;
	case OPT_HANDLER:
		return d->handler(opts, arg);
	case OPT_REFUSE:
		if (negated) /* asks for the default, which is what criu-ng does */
			return 0;
		describe(d, name, sizeof(name));
		pr_err("option %s is not supported by criu-ng yet\n", name);
		return -EOPNOTSUPP;
	}
	return -EINVAL;
}

static int set_command(struct criu_opts *opts, const char *word)
{
	static const char *const unsupported[] = {
		"pre-dump",   "page-server", "service", "swrk", "dedup",
		"lazy-pages", "cpuinfo",     "show",	"exec", "image-streamer",
	};

	if (opts->cmd != CRIU_CMD_NONE) {
		pr_err("unexpected argument '%s' after the command '%s'\n", word, opts_cmd_name(opts->cmd));
		return -EINVAL;
	}
	if (!strcmp(word, "dump")) {
		opts->cmd = CRIU_CMD_DUMP;
		return 0;
	}
	if (!strcmp(word, "restore")) {
		opts->cmd = CRIU_CMD_RESTORE;
		return 0;
	}
	if (!strcmp(word, "check")) {
		opts->cmd = CRIU_CMD_CHECK;
		return 0;
	}
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		if (!strcmp(word, unsupported[i])) {
			pr_err("command '%s' is not supported by criu-ng yet\n", word);
			return -EOPNOTSUPP;
		}
	}
	pr_err("unknown command '%s'\n", word);
	return -EINVAL;
}

/* Turns a getopt_long error return into a message naming what the user typed. */
static int report_getopt_error(int c, char **argv)
{
	const char *typed = argv[optind - 1];
	const struct opt_desc *d;
	char name[64];

	if (c == ':') {
		d = optopt ? (optopt >= OPT_VAL_BASE ? find_val(optopt) : find_short(optopt)) : NULL;
		if (d) {
			describe(d, name, sizeof(name));
			pr_err("option %s needs an argument\n", name);
		} else {
			pr_err("option '%s' needs an argument\n", typed);
		}
		return -EINVAL;
	}
	if (optopt && optopt < OPT_VAL_BASE)
		pr_err("unknown option '-%c'\n", optopt);
	else if (optopt >= OPT_VAL_BASE)
		pr_err("option '%s' does not take an argument\n", typed);
	else
		pr_err("unknown or ambiguous option '%s'\n", typed);
	return -EINVAL;
}

static int parse_argv(struct criu_opts *opts, struct option *longopts, const char *shortopts)
{
	int argc = opts->args.argc;
	char **argv = opts->args.argv;
	int c, ret = 0;

	opterr = 0;
	optind = 1;
	while (!ret && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct opt_desc *d;

		if (c == 1) {
			ret = set_command(opts, optarg);
			continue;
		}
		if (c == '?' || c == ':')
			return report_getopt_error(c, argv);
		d = c >= OPT_VAL_BASE ? find_val(c) : find_short(c);
		if (!d)
			return -EINVAL;
		ret = apply_option(opts, d, c >= OPT_VAL_BASE && (c & 1), optarg);
		/* The words of the configuration files come first, argv[1 .. nr_owned]. */
		if (optind - 1 > opts->args.nr_owned)
			opts->on_cmdline[d - opt_table] = true;
	}
	for (; !ret && optind < argc; optind++) /* what follows "--" */
		ret = set_command(opts, argv[optind]);
	return ret;
}

/* A configuration file applies to every command: an option only it gave is not warned about. */
static void add_note(struct criu_opts *opts, const char *name, const char *arg, const char *why, bool quiet)
{
	for (size_t i = 0; i < OPT_TABLE_SIZE; i++)
		if (!strcmp(opt_table[i].name, name) && !opts->on_cmdline[i])
			quiet = true;
	if (opts->nr_notes < OPTS_MAX_NOTES)
		opts->notes[opts->nr_notes++] = (struct opt_note){ name, arg, why, quiet };
}

/*
 * The options given that change nothing for the command at hand. Quiet are those
 * from configuration files, and those that CRIU's zdtm harness passes on every run
 * of a command that ignores them in CRIU as well (its logs are grepped for "Warn"):
 * --pidfile and --pre-dump-mode on dump, --skip-in-flight on restore.
 */
static void note_unused(struct criu_opts *opts)
{
	const bool dump = opts->cmd == CRIU_CMD_DUMP, restore = opts->cmd == CRIU_CMD_RESTORE;
	const bool check = opts->cmd == CRIU_CMD_CHECK;
	const char *mode = opts->pre_dump_mode == PREDUMP_BY_READ ? "read" : "splice";
	const struct {
		bool unused;
		const char *name;
		const char *arg;
		const char *why;
		bool quiet;
	} notes[] = {
		{ opts->tree_pid && !dump, "tree", NULL, "only dump uses it", false },
		{ opts->leave_running && !dump, "leave-running", NULL, "only dump uses it", false },
		{ opts->restore_detached && !restore, "restore-detached", NULL, "only restore uses it", false },
		{ opts->timeout_given && !dump, "timeout", NULL, "only dump waits for tasks to stop", false },
		{ opts->pidfile && !restore, "pidfile", NULL, "only restore writes one", dump },
		{ opts->pre_dump_mode_given, "pre-dump-mode", mode,
		  "only pre-dump uses it, and criu-ng has no pre-dump", dump },
		{ opts->shell_job && check, "shell-job", NULL, "check uses no terminal", false },
		{ opts->display_stats && check, "display-stats", NULL, "check gathers no statistics", false },
		{ opts->tcp_established && check, "tcp-established", NULL, "check probes no connection", false },
		{ opts->tcp_close && check, "tcp-close", NULL, "check probes no connection", false },
		{ opts->skip_in_flight && !dump, "skip-in-flight", NULL, "only dump meets connections not accepted yet",
		  restore },
		{ opts->network_lock_given && check, "network-lock", NULL, "check takes no lock", false },
		{ opts->tcp_images_given && restore, "tcp-images", NULL, "restore reads either format", false },
		{ opts->tcp_images_given && check, "tcp-images", NULL, "only dump writes TCP images", false },
		{ opts->cow_images_given && restore, "cow-images", NULL, "restore reads either format", false },
		{ opts->cow_images_given && check, "cow-images", NULL, "only dump writes pages", false },
		{ opts->nr_veths && !restore, "external", NULL, "only restore makes veth links", false },
		{ opts->check_extra, "extra", NULL,
		  check ? "check always runs every probe it has" : "only check uses it", false },
		{ opts->check_experimental, "experimental", NULL,
		  check ? "check always runs every probe it has" : "only check uses it", false },
		{ opts->check_all, "all", NULL, check ? "check always runs every probe it has" : "only check uses it",
		  false },
	};

	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		if (notes[i].unused)
			add_note(opts, notes[i].name, notes[i].arg, notes[i].why, notes[i].quiet);
}

static int validate(struct criu_opts *opts)
{
	if (opts->show_help || opts->show_version)
		return 0;
	if (opts->cmd == CRIU_CMD_NONE) {
		pr_err("no command given (dump, restore or check); see criu --help\n");
		return -EINVAL;
	}
	if (opts->cmd == CRIU_CMD_DUMP && !opts->tree_pid) {
		pr_err("dump needs the process to checkpoint: -t|--tree PID\n");
		return -EINVAL;
	}
	if (opts->nr_features && opts->cmd != CRIU_CMD_CHECK) {
		pr_err("--feature is only valid with the check command\n");
		return -EINVAL;
	}
	note_unused(opts);
	return 0;
}

int opts_parse(struct criu_opts *opts, int argc, char **argv)
{
	struct option *longopts;
	char *shortopts;
	int ret;

	ret = config_args_build(&opts->args, argc, argv);
	if (ret)
		return -EINVAL;

	ret = build_getopt_tables(&longopts, &shortopts);
	if (ret) {
		pr_err("out of memory parsing options\n");
		return ret;
	}
	ret = parse_argv(opts, longopts, shortopts);
	free_getopt_tables(longopts, shortopts);
	if (ret)
		return -EINVAL;
	return validate(opts) ? -EINVAL : 0;
}

void opts_log(const struct criu_opts *opts)
{
	pr_debug("command %s, images-dir %s, work-dir %s, log-file %s, verbosity %d\n", opts_cmd_name(opts->cmd),
		 opts->images_dir ?: "(default)", opts->work_dir ?: "(images-dir)", opts->log_file ?: "(stderr)",
		 opts->log_level);
	pr_debug("tree %d, leave-running %d, shell-job %d, display-stats %d, restore-detached %d, pidfile %s\n",
		 opts->tree_pid, opts->leave_running, opts->shell_job, opts->display_stats, opts->restore_detached,
		 opts->pidfile ?: "(none)");
	pr_debug("tcp-established %d, tcp-close %d, skip-in-flight %d, network-lock %s, timeout %u\n",
		 opts->tcp_established, opts->tcp_close, opts->skip_in_flight,
		 opts_network_lock_name(opts->network_lock), opts->timeout);
	pr_debug("default config files %s%s%s\n", opts->no_default_config ? "skipped" : "read",
		 opts->config_file ? ", config " : "", opts->config_file ?: "");
	for (unsigned int i = 0; i < opts->nr_notes; i++) {
		const struct opt_note *n = &opts->notes[i];

		if (n->quiet)
			pr_debug("option --%s%s%s accepted with no effect: %s\n", n->name, n->arg ? " " : "",
				 n->arg ?: "", n->why);
		else
			pr_warn("option --%s%s%s has no effect: %s\n", n->name, n->arg ? " " : "", n->arg ?: "",
				n->why);
	}
}
