/*
 * stats-restore and --display-stats on restore: a child is dumped and restored
 * with -d --display-stats. criu must print a time for every phase of the
 * restore and the pages it restored, and leave in the images directory a
 * stats-restore that our crit (same JSON as CRIU's) decodes, whose pages_restored is the
 * number of pages in the pages-*.img files of the dump, with a forking time no
 * larger than the whole restore time. The restored child must then still find
 * its memory intact.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <dirent.h>

#include "restore-test.h"

#define CRIT CRIT_PATH /* crit/crit of this tree (criu/Makefile) */
#define PYTHON "/usr/bin/python3"

/* Prints the fields of the restore entry of a decoded stats image as name=value lines. */
static const char fields_py[] = "import json, sys\n"
				"e = json.load(open(sys.argv[1]))['entries'][0]['restore']\n"
				"for k, v in e.items():\n"
				"    print('%s=%s' % (k, v))\n";

/* The pages in the pages-*.img files of @img: what the dump wrote. */
static long long dumped_pages(const char *img)
{
	long long bytes = 0;
	struct dirent *de;
	DIR *d = opendir(img);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;

		if (strncmp(de->d_name, "pages-", 6) || !strstr(de->d_name, ".img"))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", img, de->d_name) >= sizeof(path) || stat(path, &st)) {
			closedir(d);
			return -1;
		}
		bytes += st.st_size;
	}
	closedir(d);
	return bytes / sysconf(_SC_PAGESIZE);
}

/* The value of @name in the name=value lines of @text, or -1. */
static long long field(const char *text, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, len) && p[len] == '=')
			return atoll(p + len + 1);
	return -1;
}

static void check_crit(int *failures, const char *tmp, const char *img)
{
	char in[PATH_MAX], out[PATH_MAX];
	char *decode[] = { PYTHON, CRIT, "decode", "-i", in, "-o", out, NULL };
	char *fields[] = { PYTHON, "-c", (char *)fields_py, out, NULL };
	long long pages = dumped_pages(img), restored, forking, total;
	struct run_result r;

	if ((size_t)snprintf(in, sizeof(in), "%s/stats-restore", img) >= sizeof(in) ||
	    (size_t)snprintf(out, sizeof(out), "%s/stats-restore.json", tmp) >= sizeof(out)) {
		expect(failures, 0, "path too long");
		return;
	}
	if (test_run(&r, tmp, NULL, decode, NULL) || r.exit_code) {
		expect(failures, 0, "crit decode stats-restore: exit %d: %s", r.exit_code, r.err ?: "");
		test_run_free(&r);
		return;
	}
	test_run_free(&r);
	if (test_run(&r, tmp, NULL, fields, NULL) || r.exit_code) {
		expect(failures, 0, "can't read crit's output: %s", r.err ?: "");
		test_run_free(&r);
		return;
	}
	printf("stats-restore:\n%s", r.out);
	restored = field(r.out, "pages_restored");
	forking = field(r.out, "forking_time");
	total = field(r.out, "restore_time");
	expect(failures, pages > 0 && restored == pages, "pages_restored %lld, the pages images hold %lld pages",
	       restored, pages);
	expect(failures, forking > 0 && total >= forking, "forking_time %lld us, restore_time %lld us", forking, total);
	expect(failures, field(r.out, "pages_compared") == 0 && field(r.out, "pages_skipped_cow") == 0,
	       "pages_compared or pages_skipped_cow missing or not 0");
	test_run_free(&r);
}

static void check_display(int *failures, const char *out)
{
	static const char *const phases[] = { "files open time:",      "forking time:",	      "memory restore time:",
					      "threads restore time:", "total restore time:", "pages restored:" };

	printf("criu restore printed:\n%s", out);
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		expect(failures, strstr(out, phases[i]), "--display-stats printed no \"%s\"", phases[i]);
}

static int dump_and_restore(int *failures, const char *tmp, const char *img, pid_t pid)
{
	char pidstr[32];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", "--display-stats", "-o", "restore.log", "-v4", NULL };
	struct run_result r;
	int status;

	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (kill(pid, SIGUSR2) || rcriu_run(&r, tmp, dump))
		return -EIO;
	expect(failures, r.exit_code == 0, "criu dump exited with %d: %s", r.exit_code, r.err);
	test_run_free(&r);
	status = rchild_wait(pid, 5000);
	expect(failures, status >= 0 && WIFSIGNALED(status), "the dumped child was not killed (status %d)", status);
	if (*failures || rcriu_run(&r, tmp, restore))
		return -EIO;
	expect(failures, r.exit_code == 0, "criu restore exited with %d: %s", r.exit_code, r.err);
	check_display(failures, r.out);
	test_run_free(&r);
	return *failures ? -EIO : 0;
}

int main(void)
{
	char tmp[PATH_MAX], img[PATH_MAX];
	struct rchild c;
	int failures = 0, status;

	if (geteuid() != 0 || access(CRIT, X_OK) || access(PYTHON, X_OK)) {
		printf("SKIP: needs root, %s and %s\n", CRIT, PYTHON);
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-stats"))
		return TEST_FAIL;
	if ((size_t)snprintf(img, sizeof(img), "%s/img", tmp) >= sizeof(img) || mkdir(img, 0700) ||
	    rchild_start(&c, tmp)) {
		fprintf(stderr, "can't start the child\n");
		test_rm_rf(tmp);
		return TEST_FAIL;
	}
	usleep(50000);
	if (dump_and_restore(&failures, tmp, img, c.pid)) {
		rchild_kill(c.pid);
		goto out;
	}
	check_crit(&failures, tmp, img);
	expect(&failures, kill(c.pid, SIGUSR1) == 0, "can't signal the restored process: %m");
	status = rchild_wait(c.pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == RCHILD_OK,
	       "the restored process ended with status %#x", status);
	if (status < 0)
		rchild_kill(c.pid);
out:
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore.log");
	}
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
