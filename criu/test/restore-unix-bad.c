/*
 * criu restore of unix sockets refuses bad input before any process exists:
 * a truncated sk-queues.img (named in the error), and a listener's path taken
 * by a file that is not a socket (left as it is). From the intact images the
 * child comes back with its socketpair's queues, both ways, and its listener.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <sys/socket.h>
#include <sys/un.h>

#include "restore-test.h"

#define QUEUED 1000

static char sock_path[PATH_MAX];

/* The child: a socketpair with data queued both ways and a listener; on SIGUSR1 it checks its queues. */
static void child(int ready_fd)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[QUEUED], want[QUEUED];
	int sv[2], lsn, fd, sig;
	sigset_t set;

	fd = open("/dev/null", O_RDWR);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	memset(buf, 'a', sizeof(buf));
	/* only stdio (/dev/null) and the ready pipe: the test's other fds are not the child's to keep */
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || setsid() < 0 ||
	    (ready_fd > 3 && close_range(3, (unsigned int)ready_fd - 1, 0)) ||
	    close_range((unsigned int)ready_fd + 1, ~0u, 0) || sigprocmask(SIG_BLOCK, &set, NULL) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || (lsn = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(lsn, (struct sockaddr *)&a, sizeof(a)) || listen(lsn, 4) || send(sv[0], buf, QUEUED, 0) != QUEUED)
		_exit(2);
	memset(buf, 'b', sizeof(buf));
	if (send(sv[1], buf, QUEUED, 0) != QUEUED || write(ready_fd, "R", 1) != 1)
		_exit(2);
	close(ready_fd);
	if (sigwait(&set, &sig))
		_exit(2);
	memset(want, 'a', sizeof(want));
	if (recv(sv[1], buf, QUEUED, MSG_DONTWAIT | MSG_WAITALL) != QUEUED || memcmp(buf, want, QUEUED))
		_exit(3);
	memset(want, 'b', sizeof(want));
	if (recv(sv[0], buf, QUEUED, MSG_DONTWAIT | MSG_WAITALL) != QUEUED || memcmp(buf, want, QUEUED))
		_exit(4);
	if (recv(sv[0], buf, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		_exit(5);
	_exit(0);
}

/* Restores from @dir and expects a refusal naming @what, with no process at @pid. */
static void expect_refused(int *failures, const char *tmp, const char *dir, pid_t pid, const char *what)
{
	const char *args[] = { "restore", "-D", dir, "-o", "restore.log", "-d", NULL };
	char log[PATH_MAX], *text;
	struct run_result r;

	if (rcriu_run(&r, tmp, args)) {
		expect(failures, 0, "can't run criu restore");
		return;
	}
	snprintf(log, sizeof(log), "%s/restore.log", dir);
	text = test_read_file(log);
	expect(failures, r.exit_code == 1, "restore from %s exited with %d", dir, r.exit_code);
	expect(failures, text && strstr(text, what), "the log doesn't name %s:\n%s", what, text ?: "(none)");
	expect(failures, kill(pid, 0) < 0 && errno == ESRCH, "a process %d exists after a refused restore", pid);
	free(text);
	test_run_free(&r);
}

static int copy_images(const char *from, const char *to)
{
	char cmd[PATH_MAX * 3];

	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", from, to);
	return system(cmd) == 0 ? 0 : -EIO;
}

int main(void)
{
	char tmp[256], img[PATH_MAX], bad[PATH_MAX], path[PATH_MAX * 2], pidstr[32];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", NULL };
	const char *restore[] = { "restore", "-D", img, "-o", "restore.log", "-d", NULL };
	struct stat st;
	int failures = 0, status;
	pid_t pid = -1;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-unix-bad"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	snprintf(sock_path, sizeof(sock_path), "%s/lsn.sock", tmp);
	if (strlen(sock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path) || mkdir(img, 0700) ||
	    rtest_start_child(&pid, child)) {
		fprintf(stderr, "can't start the child\n");
		test_rm_rf(tmp);
		return TEST_FAIL;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rtest_dump(tmp, dump, pid, &failures)) {
		test_rm_rf(tmp);
		return TEST_FAIL;
	}

	snprintf(bad, sizeof(bad), "%s/bad-queues", tmp);
	snprintf(path, sizeof(path), "%s/sk-queues.img", bad);
	expect(&failures, !copy_images(img, bad) && !stat(path, &st) && !truncate(path, st.st_size - 10),
	       "can't truncate %s", path);
	expect_refused(&failures, tmp, bad, pid, "sk-queues.img");

	/* the listener's path taken by a regular file: refused, the file left alone */
	expect(&failures, !unlink(sock_path) && !test_write_file(sock_path, "x", 1), "can't plant a file at %s",
	       sock_path);
	expect_refused(&failures, tmp, img, pid, "taken by another file");
	expect(&failures, !stat(sock_path, &st) && S_ISREG(st.st_mode) && st.st_size == 1,
	       "the file at the listener's path was touched");
	unlink(sock_path);

	if (!rtest_restore(tmp, restore, &failures)) {
		expect(&failures, !stat(sock_path, &st) && S_ISSOCK(st.st_mode),
		       "the listener's socket file is missing");
		expect(&failures, kill(pid, SIGUSR1) == 0, "the restored child is not there");
		status = rchild_wait(pid, 5000);
		expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "the restored child's queues were wrong (status %#x)", status);
		if (status < 0)
			rchild_kill(pid);
	}
	if (failures)
		rtest_print_log(img, "restore.log");
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
