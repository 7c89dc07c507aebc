/*
 * The criu binary's command line: version, check and its features, refused and
 * unknown options, verbosity forms, where the log lands (-D, -W), config files,
 * and the zdtm harness's exact dump/restore calls (which fail here, clearly: no such process, no images).
 */
#include "criu-test.h"

struct cli_test {
	char criu[PATH_MAX];
	char tmp[256];
	int failures;
};

/* Runs criu with the arguments given (NULL-terminated) in @cwd; returns its result. */
static struct run_result run_criu_env(struct cli_test *t, const char *cwd, char *const env[], ...)
{
	char *argv[64];
	struct run_result r;
	va_list args;
	int n = 0;

	argv[n++] = t->criu;
	va_start(args, env);
	while (n < 63 && (argv[n] = va_arg(args, char *)))
		n++;
	va_end(args);
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

#define run_criu(t, cwd, ...) run_criu_env(t, cwd, NULL, ##__VA_ARGS__, NULL)

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

	r = run_criu(t, t->tmp, "check", "--no-default-config", "-verbosity=0", "--feature", "userns", "--feature",
		     "tcp_repair_window", "--feature", "pidfd_getfd", "--feature", "clone3_set_tid");
	expect(&t->failures, r.exit_code == 0, "check several features: exit %d, err %s", r.exit_code, r.err);
	test_run_free(&r);

	r = run_criu(t, t->tmp, "check", "--feature", "list");
	expect(&t->failures, r.exit_code == 0 && strstr(r.out, "network_lock_nftables") && strstr(r.out, "io_uring"),
	       "check --feature list: exit %d, out %s", r.exit_code, r.out);
	test_run_free(&r);
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
	r = run_criu(t, t->tmp, "check", "--no-display-stats", "--no-link-remap", "-v", "-vv", "-v4", "-vvvv",
		     "--verbosity", "--verbosity=2", "--extra", "--all");
	expect(&t->failures, r.exit_code == 0 || geteuid() != 0, "accepted forms: exit %d, err %s", r.exit_code,
	       r.err);
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
	r = run_criu(t, t->tmp, "check", "-D", "img", "-W", "work", "-o", "check.log", "-v4", "--feature",
		     "io_uring");
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

	/* An unsupported option in $CRIU_CONFIG_FILE is refused too. */
	test_write_file(cfg, "link-remap\n", 11);
	snprintf(env, sizeof(env), "CRIU_CONFIG_FILE=%s", cfg);
	r = run_criu_env(t, t->tmp, envv, "check", "--no-default-config", NULL);
	expect(&t->failures, r.exit_code == 1 && strstr(r.err, "--link-remap is not supported"),
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
	test_refused(&t);
	test_accepted(&t);
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
