/*
 * The criu binary's command line: version, check and its features, refused and
 * unknown options, verbosity forms, where the log lands (-D, -W), config files,
 * and the zdtm harness's exact dump/restore calls (which fail here, clearly: no such process, no images).
 * Option honesty: every CRIU option is accepted or refused naming itself, --help lists
 * only accepted options that work, and an option that changes nothing warns.
 */
#include "criu-test.h"
#include "magic.h"

#include "inventory.pb-c.h"

struct cli_test {
	char criu[PATH_MAX];
	char tmp[256];
	int failures;
};

/* Runs criu with @args (a NULL-terminated array) in @cwd, with @env added; returns its result. */
static struct run_result run_criu_vec(struct cli_test *t, const char *cwd, char *const env[], char *const args[])
{
	char *argv[64];
	struct run_result r;
	int n = 0;

	argv[n++] = t->criu;
	while (n < 63 && args[n - 1]) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	if (test_run(&r, t->tmp, cwd, argv, env)) {
		fprintf(stderr, "FAIL: can't run %s\n", t->criu);
		t->failures++;
		r.exit_code = -2;
	}
	if (!r.out)
		r.out = strdup("");
	if (!r.err)
		r.err = strdup("");
	return r;
}

/* Runs criu with the arguments given (NULL-terminated) in @cwd; returns its result. */
static struct run_result run_criu_env(struct cli_test *t, const char *cwd, char *const env[], ...)
{
	char *args[63];
	va_list ap;
	int n = 0;

	va_start(ap, env);
	while (n < 62 && (args[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	args[n] = NULL;
	return run_criu_vec(t, cwd, env, args);
}

#define run_criu(t, cwd, ...) run_criu_env(t, cwd, NULL, ##__VA_ARGS__, NULL)
#define run_criu_argv(t, args) run_criu_vec(t, (t)->tmp, NULL, args)

static void test_version(struct cli_test *t)
{
	const char *forms[] = { "--version", "-V" };

	for (int i = 0; i < 2; i++) {
		struct run_result r = run_criu(t, t->tmp, (char *)forms[i]);

		expect(&t->failures, r.exit_code == 0, "%s: exit %d", forms[i], r.exit_code);
		expect(&t->failures, !strncmp(r.out, "Version: ", 9), "%s: no Version line: %s", forms[i], r.out);
		expect(&t->failures, strstr(r.out, "criu-ng"), "%s: no criu-ng line: %s", forms[i], r.out);
		test_run_free(&r);
	}
}

static void test_help(struct cli_test *t)
{
	struct run_result r = run_criu(t, t->tmp, "--help");

	expect(&t->failures, r.exit_code == 0 && strstr(r.out, "Usage:"), "--help: exit %d, out %s", r.exit_code,
	       r.out);
	test_run_free(&r);
}

static void test_check(struct cli_test *t)
{
	struct run_result r;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP check probes: not root\n");
		return;
	}
	r = run_criu(t, t->tmp, "check");
	expect(&t->failures, r.exit_code == 0, "check: exit %d, err %s", r.exit_code, r.err);
	expect(&t->failures, !strncmp(r.out, "Looks good", 10), "check: out %s", r.out);
	test_run_free(&r);

	/* zdtm's exact feature check. */
	r = run_criu(t, t->tmp, "check", "--no-default-config", "--no-default-config", "-verbosity=0", "--feature",
		     "tcp_half_closed");
	expect(&t->failures, r.exit_code == 0, "check tcp_half_closed: exit %d, err %s", r.exit_code, r.err);
	expect(&t->failures, r.err[0] == '\0', "check -verbosity=0 printed on stderr: %s", r.err);
	test_run_free(&r);

	r = run_criu(t, t->tmp, "check", "--no-default-config", "-verbosity=0", "--feature", "timerfd", "--feature",
		     "tcp_repair_window", "--feature", "pidfd_getfd", "--feature", "clone3_set_tid", "--feature",
		     "kcmp_epoll", "--feature", "fdinfo_lock", "--feature", "get_rseq_conf");
	expect(&t->failures, r.exit_code == 0, "check several features: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);

	r = run_criu(t, t->tmp, "check", "--feature", "list");
	expect(&t->failures, r.exit_code == 0 && strstr(r.out, "network_lock_nftables") && strstr(r.out, "io_uring"),
	       "check --feature list: exit %d, out %s", r.exit_code, r.out);
	test_run_free(&r);
}

/*
 * Every name of CRIU 4's "criu check --feature" is known. The ones whose C/R
 * criu-ng lacks answer no (zdtm then skips the test or flavor), saying why at -v4.
 */
static void test_criu_features(struct cli_test *t)
{
	static const char criu_names[] =
		"mnt_id mem_dirty_track aio_remap timerfd tun tun_ns userns fdinfo_lock seccomp_suspend "
		"seccomp_filters loginuid cgroupns autofs tcp_half_closed compat_cr uffd uffd-noncoop can_map_vdso "
		"sk_ns sk_unix_file net_diag_raw nsid link_nsid kcmp_epoll timens external_net_ns clone3_set_tid "
		"newifindex nftables has_ipt_legacy pidfd_store ns_pid apparmor_stacking network_lock_nftables "
		"sockopt_buf_lock memfd_hugetlb move_mount_set_group openat2 get_rseq_conf";
	static const char *const never[] = { "userns", "mem_dirty_track", "uffd",   "seccomp_suspend",
					     "nsid",   "pidfd_store",	  "timens", "external_net_ns" };
	struct run_result r;

	r = run_criu(t, t->tmp, "check", "--feature", "list");
	for (const char *name = criu_names; *name;) {
		size_t len = strcspn(name, " ");
		char line[64];

		snprintf(line, sizeof(line), "\n%.*s ", (int)len, name);
		expect(&t->failures, !strncmp(r.out, line + 1, len + 1) || strstr(r.out, line),
		       "check --feature list lacks %s", line + 1);
		name += len + (name[len] == ' ');
	}
	test_run_free(&r);

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		r = run_criu(t, t->tmp, "check", "--no-default-config", "-v4", "--feature", never[i]);
		expect(&t->failures, r.exit_code == 1, "check %s: exit %d", never[i], r.exit_code);
		expect(&t->failures, strstr(r.err, "is not supported: criu-ng"), "check %s: no reason: %s", never[i],
		       r.err);
		expect(&t->failures, !strstr(r.err, "unknown feature"), "check %s: unknown: %s", never[i], r.err);
		test_run_free(&r);
	}
}

static void test_unknown_feature(struct cli_test *t)
{
	struct run_result r = run_criu(t, t->tmp, "check", "--feature", "no_such_feature");

	expect(&t->failures, r.exit_code == 1, "unknown feature: exit %d", r.exit_code);
	expect(&t->failures, strstr(r.err, "unknown feature no_such_feature"), "unknown feature: err %s", r.err);
	test_run_free(&r);

	r = run_criu(t, t->tmp, "check", "-verbosity=0", "--feature", "no_such_feature");
	expect(&t->failures, r.exit_code == 1, "unknown feature at -v0: exit %d", r.exit_code);
	test_run_free(&r);
}

static void expect_refused(struct cli_test *t, struct run_result r, const char *what, const char *needle)
{
	expect(&t->failures, r.exit_code == 1, "%s: exit %d", what, r.exit_code);
	expect(&t->failures, strstr(r.err, needle), "%s: message doesn't name '%s': %s", what, needle, r.err);
	test_run_free(&r);
}

static void test_refused(struct cli_test *t)
{
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t", "1", "--leave-stopped"), "unsupported option",
		       "--leave-stopped is not supported");
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t", "1", "-s"), "unsupported short option",
		       "-s|--leave-stopped is not supported");
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t", "1", "--ext-unix-sk=1234"), "ext-unix-sk inode list",
		       "a list of socket inodes");
	expect_refused(t, run_criu(t, t->tmp, "restore", "--external", "mnt[]:x"), "unsupported option with arg",
		       "--external is not supported");
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t", "1", "--no-such-option"), "unknown option",
		       "'--no-such-option'");
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t", "1", "-Z"), "unknown short option", "'-Z'");
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t", "1", "--network-lock", "ebtables"), "bad lock method",
		       "'ebtables'");
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t", "1", "--pre-dump-mode", "copy"), "bad pre-dump mode",
		       "'copy'");
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t", "1", "--timeout", "ten"), "bad timeout", "'ten'");
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t", "x1"), "bad pid", "'x1'");
	expect_refused(t, run_criu(t, t->tmp, "dump"), "dump without -t", "--tree");
	expect_refused(t, run_criu(t, t->tmp, "dump", "-t"), "missing argument", "-t|--tree needs an argument");
	expect_refused(t, run_criu(t, t->tmp, "-verbosity=x", "check"), "bad verbosity", "'x'");
	expect_refused(t, run_criu(t, t->tmp, "pre-dump", "-t", "1"), "unsupported command", "'pre-dump'");
	expect_refused(t, run_criu(t, t->tmp, "frobnicate"), "unknown command", "'frobnicate'");
	expect_refused(t, run_criu(t, t->tmp, "check", "extra-word"), "extra argument", "'extra-word'");
	expect_refused(t, run_criu(t, t->tmp), "no command", "no command");
}

static void test_accepted(struct cli_test *t)
{
	struct run_result r;

	/* Negating a boolean is always fine, even one whose positive form is refused. */
	r = run_criu(t, t->tmp, "check", "--no-display-stats", "--no-ghost-fiemap", "-v", "-vv", "-v4", "-vvvv",
		     "--verbosity", "--verbosity=2", "--extra", "--all");
	expect(&t->failures, r.exit_code == 0 || geteuid() != 0, "accepted forms: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);
}

/* The pid of a child that has exited and been reaped: a process that doesn't exist. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return pid;
}

/*
 * Every option of CRIU 4.x's command line (from its documentation), with a value
 * for those that take one. criu-ng must accept it or refuse it naming it.
 */
static const struct {
	const char *name;
	const char *arg;
} criu_options[] = {
	{ "config", NULL }, /* checked in test_config_files */
	{ "no-default-config", NULL },
	{ "verbosity", "2" },
	{ "log-file", "x.log" },
	{ "log-pid", NULL },
	{ "display-stats", NULL },
	{ "images-dir", "." },
	{ "work-dir", "." },
	{ "stream", NULL },
	{ "pidfile", "x.pid" },
	{ "tree", "1" },
	{ "leave-running", NULL },
	{ "leave-stopped", NULL },
	{ "external", "veth[eth0]:x" },
	{ "freeze-cgroup", "/sys/fs/cgroup/x" },
	{ "evasive-devices", NULL },
	{ "shell-job", NULL },
	{ "cgroup-yard", "/x" },
	{ "ext-unix-sk", NULL },
	{ "skip-in-flight", NULL },
	{ "tcp-established", NULL },
	{ "tcp-close", NULL },
	{ "skip-mnt", "/x" },
	{ "enable-fs", "tmpfs" },
	{ "link-remap", NULL },
	{ "ghost-limit", "1M" },
	{ "ghost-fiemap", NULL },
	{ "timeout", "5" },
	{ "force-irmap", NULL },
	{ "irmap-scan-path", "/x" },
	{ "file-locks", NULL },
	{ "page-server", NULL },
	{ "address", "127.0.0.1" },
	{ "port", "1234" },
	{ "track-mem", NULL },
	{ "prev-images-dir", "../1" },
	{ "auto-dedup", NULL },
	{ "lazy-pages", NULL },
	{ "pre-dump-mode", "splice" },
	{ "network-lock", "nftables" },
	{ "cgroup-dump-controller", "cpu" },
	{ "cgroup-props", "x" },
	{ "cgroup-props-file", "/x" },
	{ "manage-cgroups", NULL },
	{ "cgroup-root", "/x" },
	{ "lsm-profile", "apparmor:x" },
	{ "lsm-mount-context", "x" },
	{ "mntns-compat-mode", NULL },
	{ "root", "/x" },
	{ "action-script", "/x" },
	{ "unprivileged", NULL },
	{ "tls", NULL },
	{ "tls-cacert", "/x" },
	{ "tls-cacrl", "/x" },
	{ "tls-cert", "/x" },
	{ "tls-key", "/x" },
	{ "tls-no-cn-verify", NULL },
	{ "exec-cmd", NULL },
	{ "restore-detached", NULL },
	{ "restore-sibling", NULL },
	{ "inherit-fd", "fd[3]:x" },
	{ "empty-ns", "net" },
	{ "join-ns", "net:/x" },
	{ "veth-pair", "a=b" },
	{ "ext-mount-map", "a:b" },
	{ "libdir", "/x" },
	{ "weak-sysctls", NULL },
	{ "cpu-cap", NULL },
	{ "orphan-pts-master", NULL },
	{ "file-validation", "filesize" },
	{ "skip-file-rwx-check", NULL },
	{ "allow-uprobes", NULL },
	{ "enable-external-sharing", NULL },
	{ "enable-external-masters", NULL },
	{ "close", "3" },
	{ "status-fd", "3" },
	{ "daemon", NULL },
	{ "ps-socket", "3" },
	{ "pidfd-store", "3" },
	{ "ms", NULL },
	{ "check-only", NULL },
	{ "feature", "list" },
	{ "extra", NULL },
	{ "experimental", NULL },
	{ "all", NULL },
	{ "version", NULL },
	{ "help", NULL },
};

/* Accepted for compatibility, never of use in criu-ng: --help must not list them (criu(8) does). */
static const char *const compat_only[] = { "pre-dump-mode", "extra", "experimental", "all" };

static bool is_compat_only(const char *name)
{
	for (size_t i = 0; i < sizeof(compat_only) / sizeof(compat_only[0]); i++)
		if (!strcmp(name, compat_only[i]))
			return true;
	return false;
}

/* True when --help's text names "--@name" as an option (not as a prefix of a longer one). */
static bool help_lists(const char *help, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = strstr(help, "--"); p; p = strstr(p + 2, "--"))
		if (!strncmp(p + 2, name, len) && (p[2 + len] == ' ' || p[2 + len] == '\n' || p[2 + len] == '['))
			return true;
	return false;
}

/* A value for the option whose --help placeholder is @meta. */
static const char *help_value(struct cli_test *t, const char *meta)
{
	static const struct {
		const char *meta;
		const char *value;
	} values[] = {
		{ "PID", "1" },		  { "FILE", "x.file" },		  { "NUM", "5" },
		{ "METHOD", "nftables" }, { "FORMAT", "packed" },	  { "MODE", "dedup" },
		{ "FEAT", "list" },	  { "VETH", "veth[eth0]:x@br0" }, { "PAIR", "eth0=x" },
	};

	if (!strcmp(meta, "DIR"))
		return t->tmp;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		if (!strcmp(meta, values[i].meta))
			return values[i].value;
	return NULL;
}

/*
 * Each option --help lists is accepted (parsed with --version, which then runs
 * nothing), with a value where --help shows a placeholder; no compatibility-only
 * option is listed.
 */
static void test_help_lists_what_works(struct cli_test *t)
{
	struct run_result help = run_criu(t, t->tmp, "--help");
	char file[PATH_MAX];
	int listed = 0;

	snprintf(file, sizeof(file), "%s/x.file", t->tmp); /* FILE: an empty file, for --config */
	expect(&t->failures, !test_write_file(file, "", 0), "can't create %s", file);

	for (const char *p = strstr(help.out, "  "); p; p = strchr(p + 1, '\n')) {
		char name[64], meta[16] = "", opt[PATH_MAX], *args[4] = { NULL };
		const char *dash = strstr(p, "--"), *eol = strchr(p + 1, '\n');
		struct run_result r;
		int n = 0;

		/* option lines: "  -X|--name META   text" or "     --name META   text" */
		if (!dash || (eol && dash > eol) || dash - p > 8 || sscanf(dash + 2, "%63[a-z-]", name) != 1)
			continue;
		if (dash[2 + strlen(name)] == ' ' && dash[3 + strlen(name)] >= 'A' && dash[3 + strlen(name)] <= 'Z')
			sscanf(dash + 3 + strlen(name), "%15[A-Z]", meta);
		listed++;
		expect(&t->failures, !is_compat_only(name), "--help lists --%s, which does nothing in criu-ng", name);
		if (meta[0] && help_value(t, meta)) {
			snprintf(opt, sizeof(opt), "--%s=%s", name, help_value(t, meta));
		} else {
			expect(&t->failures, !meta[0], "--help: no value known for --%s %s", name, meta);
			snprintf(opt, sizeof(opt), "--%s", name);
		}
		args[n++] = opt;
		if (strcmp(name, "version"))
			args[n++] = "--version";
		r = run_criu_argv(t, args);
		expect(&t->failures, r.exit_code == 0 && !strstr(r.err, "not supported"),
		       "--help lists %s, which is refused: exit %d, err %s", opt, r.exit_code, r.err);
		test_run_free(&r);
	}
	expect(&t->failures, listed >= 20, "--help lists only %d options: %s", listed, help.out);
	test_run_free(&help);
}

/*
 * Every CRIU option is accepted, then --help lists it or it is one of the
 * compatibility-only ones; or it is refused, the message naming it.
 */
static void test_every_criu_option(struct cli_test *t)
{
	struct run_result help = run_criu(t, t->tmp, "--help");
	int refused = 0;

	for (size_t i = 0; i < sizeof(criu_options) / sizeof(criu_options[0]); i++) {
		const char *name = criu_options[i].name;
		char opt[128], needle[80];
		char *args[] = { opt, "--version", NULL };
		struct run_result r;

		if (criu_options[i].arg)
			snprintf(opt, sizeof(opt), "--%s=%s", name, criu_options[i].arg);
		else
			snprintf(opt, sizeof(opt), "--%s", name);
		if (!strcmp(name, "config") || !strcmp(name, "version"))
			continue;
		r = run_criu_argv(t, args);
		if (r.exit_code == 0) {
			expect(&t->failures, help_lists(help.out, name) || is_compat_only(name),
			       "--%s is accepted, but --help does not list it", name);
		} else {
			snprintf(needle, sizeof(needle), "--%s is not supported", name);
			expect(&t->failures, r.exit_code == 1 && strstr(r.err, needle),
			       "--%s: refused without naming it: exit %d, err %s", name, r.exit_code, r.err);
			expect(&t->failures, !help_lists(help.out, name), "--help lists --%s, which is refused", name);
			refused++;
		}
		test_run_free(&r);
	}
	/* The short forms of refused options too. */
	for (const char *c = "sSrJML"; *c; c++) {
		char opt[3] = { '-', *c, '\0' }, needle[16];
		char *args[] = { opt, "x", "--version", NULL };
		struct run_result r;

		if (!strchr("rJML", *c))
			args[1] = "--version", args[2] = NULL;
		r = run_criu_argv(t, args);
		snprintf(needle, sizeof(needle), "-%c|--", *c);
		expect(&t->failures, r.exit_code == 1 && strstr(r.err, needle) && strstr(r.err, "is not supported"),
		       "%s: exit %d, err %s", opt, r.exit_code, r.err);
		test_run_free(&r);
	}
	expect(&t->failures, refused > 40, "only %d CRIU options refused", refused);
	test_run_free(&help);
}

/* One option that changes nothing for the command: criu says so at the default level. */
struct no_effect_case {
	const char *cmd; /* dump, restore or check */
	const char *opt;
	const char *arg;
	const char *warning; /* the start of the warning */
};

static void run_no_effect(struct cli_test *t, const struct no_effect_case *c, const char *dead, const char *imgdir)
{
	char *args[16];
	struct run_result r;
	int n = 0;

	args[n++] = (char *)c->cmd;
	if (!strcmp(c->cmd, "dump")) {
		args[n++] = "-t";
		args[n++] = (char *)dead;
	}
	if (strcmp(c->cmd, "check")) {
		args[n++] = "-D";
		args[n++] = (char *)imgdir;
	} else {
		args[n++] = "--feature";
		args[n++] = "io_uring";
	}
	args[n++] = (char *)c->opt;
	if (c->arg)
		args[n++] = (char *)c->arg;
	args[n] = NULL;
	r = run_criu_argv(t, args);
	expect(&t->failures, strstr(r.err, "Warn ") && strstr(r.err, c->warning),
	       "%s %s: no warning '%s' at the default level: %s", c->cmd, c->opt, c->warning, r.err);
	test_run_free(&r);
}

/* An inventory.img saying the dump locked the network with nftables (method 1). */
static int write_nft_inventory(const char *dir)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	uint8_t buf[256];
	uint32_t magic = INVENTORY_MAGIC, size;
	char path[PATH_MAX + 16];

	inv.img_version = 2; /* CRTOOLS_IMAGES_V1_1 */
	inv.has_network_lock_method = 1, inv.network_lock_method = 1;
	size = (uint32_t)inventory_entry__get_packed_size(&inv);
	if (size > sizeof(buf) - 8)
		return -E2BIG;
	memcpy(buf, &magic, 4);
	memcpy(buf + 4, &size, 4);
	inventory_entry__pack(&inv, buf + 8);
	snprintf(path, sizeof(path), "%s/inventory.img", dir);
	return test_write_file(path, buf, size + 8);
}

static void test_no_effect_warned(struct cli_test *t)
{
	static const struct no_effect_case cases[] = {
		{ "check", "--extra", NULL, "option --extra has no effect" },
		{ "check", "--experimental", NULL, "option --experimental has no effect" },
		{ "check", "--all", NULL, "option --all has no effect" },
		{ "check", "--tree", "1", "option --tree has no effect" },
		{ "check", "--leave-running", NULL, "option --leave-running has no effect" },
		{ "check", "--restore-detached", NULL, "option --restore-detached has no effect" },
		{ "check", "--timeout", "5", "option --timeout has no effect" },
		{ "check", "--pidfile", "x.pid", "option --pidfile has no effect" },
		{ "check", "--pre-dump-mode", "read", "option --pre-dump-mode read has no effect" },
		{ "check", "--shell-job", NULL, "option --shell-job has no effect" },
		{ "check", "--display-stats", NULL, "option --display-stats has no effect" },
		{ "check", "--tcp-established", NULL, "option --tcp-established has no effect" },
		{ "check", "--tcp-close", NULL, "option --tcp-close has no effect" },
		{ "check", "--skip-in-flight", NULL, "option --skip-in-flight has no effect" },
		{ "check", "--network-lock", "nftables", "option --network-lock has no effect" },
		{ "check", "--tcp-images", "criu", "option --tcp-images has no effect" },
		{ "check", "--cow-images", "criu", "option --cow-images has no effect" },
		{ "restore", "--tree", "1", "option --tree has no effect" },
		{ "restore", "--leave-running", NULL, "option --leave-running has no effect" },
		{ "restore", "--timeout", "5", "option --timeout has no effect" },
		{ "restore", "--pre-dump-mode", "splice", "option --pre-dump-mode splice has no effect" },
		{ "restore", "--tcp-images", "packed", "option --tcp-images has no effect" },
		{ "restore", "--cow-images", "dedup", "option --cow-images has no effect" },
		{ "restore", "--extra", NULL, "option --extra has no effect" },
		{ "dump", "--restore-detached", NULL, "option --restore-detached has no effect" },
		{ "dump", "--all", NULL, "option --all has no effect" },
	};
	char dead[32], imgdir[PATH_MAX];
	struct run_result r;

	snprintf(dead, sizeof(dead), "%d", dead_pid());
	snprintf(imgdir, sizeof(imgdir), "%s/noeffect", t->tmp);
	mkdir(imgdir, 0700);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_no_effect(t, &cases[i], dead, imgdir);

	/* restore lifts the lock the images name: another --network-lock is warned about, the same one not. */
	expect(&t->failures, !write_nft_inventory(imgdir), "can't write %s/inventory.img", imgdir);
	r = run_criu(t, t->tmp, "restore", "-D", imgdir, "--network-lock", "iptables");
	expect(&t->failures,
	       r.exit_code == 1 && strstr(r.err, "Warn ") &&
		       strstr(r.err, "option --network-lock iptables has no effect"),
	       "restore --network-lock iptables of an nftables dump: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);
	r = run_criu(t, t->tmp, "restore", "-D", imgdir, "--network-lock", "nftables");
	expect(&t->failures, r.exit_code == 1 && !strstr(r.err, "has no effect"),
	       "restore --network-lock nftables of an nftables dump: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);
}

/*
 * The zdtm dump and restore calls: every option accepted, the log in the images dir
 * (the dump is of a process that doesn't exist, so it fails, clearly).
 */
static void test_zdtm_calls(struct cli_test *t)
{
	char dir[512], path[PATH_MAX], pid[32];
	struct run_result r;
	char *log;

	snprintf(dir, sizeof(dir), "%s/dump", t->tmp);
	mkdir(dir, 0700);
	snprintf(pid, sizeof(pid), "%d", dead_pid());
	r = run_criu(t, t->tmp, "dump", "--no-default-config", "--log-file", "dump.log", "--images-dir", "dump",
		     "--verbosity=4", "--tree", pid, "--tcp-established", "--pidfile", "/tmp/nonexistent/test.pid",
		     "--network-lock", "nftables", "--tcp-close", "--skip-in-flight", "--timeout", "10",
		     "--pre-dump-mode", "splice");
	expect(&t->failures, r.exit_code == 1, "zdtm dump: exit %d", r.exit_code);
	test_run_free(&r);
	snprintf(path, sizeof(path), "%s/dump.log", dir);
	log = test_read_file(path);
	expect(&t->failures, log, "zdtm dump: no log at %s", path);
	if (log) {
		expect(&t->failures, strstr(log, "Error (criu/cr-dump.c:") && strstr(log, "does not exist"),
		       "dump log lacks the no-such-process error: %s", log);
		expect(&t->failures, strstr(log, "--pre-dump-mode splice accepted with no effect"),
		       "dump log lacks the -v4 note: %s", log);
		/* What zdtm passes on every dump (CRIU ignores it there too) gives no "Warn" line. */
		expect(&t->failures, !strstr(log, "has no effect"), "zdtm's dump options warned: %s", log);
		expect(&t->failures, log[0] == '(' && log[3] == '.' && log[10] == ')', "no timestamp: %.40s", log);
		free(log);
	}

	r = run_criu(t, t->tmp, "restore", "--no-default-config", "--log-file", "restore.log", "--images-dir", "dump",
		     "--verbosity=4", "--tcp-established", "--pidfile", "/tmp/nonexistent/test.pid",
		     "--restore-detached");
	expect(&t->failures, r.exit_code == 1, "zdtm restore: exit %d", r.exit_code);
	test_run_free(&r);
	snprintf(path, sizeof(path), "%s/restore.log", dir);
	log = test_read_file(path);
	expect(&t->failures, log && strstr(log, "inventory.img"), "restore log doesn't name inventory.img: %s",
	       log ?: "(none)");
	free(log);

	/* zdtm passes a test's options to restore too: --skip-in-flight, ignored there as by CRIU, stays quiet. */
	r = run_criu(t, t->tmp, "restore", "--no-default-config", "--log-file", "restore.log", "--images-dir", "dump",
		     "--verbosity=4", "--tcp-established", "--skip-in-flight", "--network-lock", "nftables",
		     "--pidfile", "/tmp/nonexistent/test.pid", "--restore-detached");
	test_run_free(&r);
	log = test_read_file(path);
	expect(&t->failures,
	       log && strstr(log, "--skip-in-flight accepted with no effect") && !strstr(log, "has no effect"),
	       "restore --skip-in-flight: %s", log ?: "(none)");
	free(log);

	/* A corrupted inventory is refused, naming the file. */
	snprintf(path, sizeof(path), "%s/inventory.img", dir);
	test_write_file(path, "\x16\x31\x31\x58\xff\xff", 6);
	r = run_criu(t, t->tmp, "restore", "-D", "dump");
	expect(&t->failures, r.exit_code == 1 && strstr(r.err, "inventory.img: entry 0"),
	       "corrupted inventory: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);

	/* A pid that does not exist: a clear message at the default level, nothing at -v0. */
	r = run_criu(t, t->tmp, "dump", "-t", "2147483647", "-D", "dump");
	expect(&t->failures, r.exit_code == 1 && strstr(r.err, "process 2147483647 does not exist"),
	       "missing pid: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);
	r = run_criu(t, t->tmp, "dump", "-t", "2147483647", "-D", "dump", "-v0");
	expect(&t->failures, r.exit_code == 1 && r.err[0] == '\0', "-v0: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);

	r = run_criu(t, t->tmp, "dump", "-t", pid, "-D", "no-such-dir");
	expect(&t->failures, r.exit_code == 1 && strstr(r.err, "no-such-dir"), "missing images dir: err %s", r.err);
	test_run_free(&r);
}

static void test_work_dir(struct cli_test *t)
{
	char path[PATH_MAX];
	struct run_result r;
	char *log;

	snprintf(path, sizeof(path), "%s/work", t->tmp);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/img", t->tmp);
	mkdir(path, 0700);

	/* -W wins over -D for the log. */
	r = run_criu(t, t->tmp, "check", "-D", "img", "-W", "work", "-o", "check.log", "-v4", "--feature", "io_uring");
	test_run_free(&r);
	snprintf(path, sizeof(path), "%s/work/check.log", t->tmp);
	log = test_read_file(path);
	expect(&t->failures, log && strstr(log, "Version: "), "-W log: %s", log ?: "(none)");
	free(log);

	/* An absolute log path stays where it is. */
	snprintf(path, sizeof(path), "%s/abs.log", t->tmp);
	r = run_criu(t, t->tmp, "check", "-D", "img", "-o", path, "-v3", "--feature", "io_uring");
	test_run_free(&r);
	log = test_read_file(path);
	expect(&t->failures, log && strstr(log, "Version: "), "absolute log: %s", log ?: "(none)");
	free(log);
}

static void test_config_files(struct cli_test *t)
{
	char cfg[PATH_MAX], path[PATH_MAX], env[PATH_MAX + 32];
	char *envv[] = { env, NULL };
	const char *text = "# options for the test\nverbosity 4 # debug\n\n  log-file \"cfg.log\"\n";
	struct run_result r;
	char *log;

	snprintf(cfg, sizeof(cfg), "%s/test.conf", t->tmp);
	test_write_file(cfg, text, strlen(text));
	snprintf(path, sizeof(path), "%s/cfgdir", t->tmp);
	mkdir(path, 0700);
	r = run_criu(t, t->tmp, "check", "--no-default-config", "--config", cfg, "-D", "cfgdir", "--feature",
		     "io_uring");
	expect(&t->failures, r.exit_code == 0, "--config: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);
	snprintf(path, sizeof(path), "%s/cfgdir/cfg.log", t->tmp);
	log = test_read_file(path);
	expect(&t->failures, log && strstr(log, "options: command check"), "--config log: %s", log ?: "(none)");
	free(log);

	/* A configuration file applies to every command: what changes nothing for this one is not warned about. */
	test_write_file(cfg, "tcp-established\ntimeout 5\n", 26);
	r = run_criu(t, t->tmp, "check", "--no-default-config", "--config", cfg, "--feature", "io_uring");
	expect(&t->failures, !strstr(r.err, "has no effect"), "config file options warned: %s", r.err);
	test_run_free(&r);
	r = run_criu(t, t->tmp, "check", "--no-default-config", "--config", cfg, "--feature", "io_uring", "--timeout",
		     "5");
	expect(&t->failures, strstr(r.err, "option --timeout has no effect") && !strstr(r.err, "--tcp-established"),
	       "--timeout on the command line, over a config file: %s", r.err);
	test_run_free(&r);

	/* An unsupported option in $CRIU_CONFIG_FILE is refused too. */
	test_write_file(cfg, "ghost-fiemap\n", 13);
	snprintf(env, sizeof(env), "CRIU_CONFIG_FILE=%s", cfg);
	r = run_criu_env(t, t->tmp, envv, "check", "--no-default-config", NULL);
	expect(&t->failures, r.exit_code == 1 && strstr(r.err, "--ghost-fiemap is not supported"),
	       "env config: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);

	r = run_criu(t, t->tmp, "check", "--config", "/nonexistent/criu.conf");
	expect(&t->failures, r.exit_code == 1 && strstr(r.err, "/nonexistent/criu.conf"), "missing --config: err %s",
	       r.err);
	test_run_free(&r);
}

int main(void)
{
	struct cli_test t = {};

	if (test_criu_bin(t.criu)) {
		fprintf(stderr, "criu binary not found next to the test\n");
		return TEST_FAIL;
	}
	if (test_mkdtemp(t.tmp, sizeof(t.tmp), "cli")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	test_version(&t);
	test_help(&t);
	test_check(&t);
	test_unknown_feature(&t);
	test_criu_features(&t);
	test_refused(&t);
	test_accepted(&t);
	test_help_lists_what_works(&t);
	test_every_criu_option(&t);
	test_no_effect_warned(&t);
	test_zdtm_calls(&t);
	test_work_dir(&t);
	test_config_files(&t);
	test_rm_rf(t.tmp);

	if (t.failures) {
		fprintf(stderr, "cli: %d failures\n", t.failures);
		return TEST_FAIL;
	}
	printf("cli: all passed\n");
	return TEST_PASS;
}
