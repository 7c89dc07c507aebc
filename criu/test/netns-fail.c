/*
 * The failure paths of a process in a network namespace of its own, through the criu binary.
 * The child unshares its network namespace, brings lo up and holds a TCP connection over it
 * (1000 bytes queued, unread) and its listener. On SIGUSR1 it reads the queued bytes, sends a
 * round trip both ways and writes "ok" (or what went wrong) to its result file.
 *
 * - A dump that fails after the lock was taken (the ip tool fails: CR_IP_TOOL=/bin/false) leaves
 *   the child running untraced, no criu-ng lock in its namespace (nft and iptables-save asked
 *   in the namespace), and the connection working.
 * - A link of a kind criu can't rebuild (a bridge) is refused, naming it; same checks.
 * - A restore that fails while rebuilding the namespace (the ip tool fails) leaves the images
 *   as they were; the next restore of the same images works, in a new namespace.
 * - The same with a veth from the child's namespace to the test's: the failed restore leaves no
 *   outer end of a veth in the test's namespace; the next one makes it, up.
 * The test runs in a network namespace of its own: it stands for criu's, the veth's outer ends go
 * there and nothing is left on the host.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "criu-test.h"

#define QUEUED 1000
#define TRIP 100
#define VETH_OUT "nfout" /* the child's veth's outer end, in the test's namespace */
#define VETH_NEW "nfnew" /* the restored one's: --external veth[eth0]:nfnew */

enum child_links {
	CHILD_LO,     /* lo only */
	CHILD_BRIDGE, /* and a bridge, which criu refuses */
	CHILD_VETH,   /* and eth0, a veth to the test's namespace, 10.197.0.2/24 */
};

static volatile sig_atomic_t poked;

static void on_usr1(int sig)
{
	(void)sig;
	poked = 1;
}

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int sk = socket(AF_INET, SOCK_DGRAM, 0), ret;

	if (sk < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	ret = ioctl(sk, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ret = ret ?: ioctl(sk, SIOCSIFFLAGS, &ifr);
	close(sk);
	return ret;
}

/* A connection through a listener on 127.0.0.1: fds[0] client, fds[1] server, fds[2] listener. */
static int make_conn(int fds[3])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	fds[2] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[2] < 0 || bind(fds[2], (struct sockaddr *)&a, sizeof(a)) || listen(fds[2], 4) ||
	    getsockname(fds[2], (struct sockaddr *)&a, &len))
		return -1;
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&a, sizeof(a)))
		return -1;
	fds[1] = accept(fds[2], NULL, NULL);
	return fds[1] < 0 ? -1 : 0;
}

static int xfer(int from, int to, size_t n, unsigned char salt)
{
	unsigned char buf[QUEUED];
	size_t got = 0;

	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 7 + salt);
	if (from >= 0 && write(from, buf, n) != (ssize_t)n)
		return -1;
	while (got < n) {
		struct pollfd p = { .fd = to, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 3000) != 1)
			return -1;
		r = read(to, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	for (size_t i = 0; i < n; i++)
		if (buf[i] != (unsigned char)(i * 7 + salt))
			return -1;
	return 0;
}

static void __attribute__((noreturn)) child_main(int ready, const char *result, enum child_links links)
{
	pid_t parent = getppid();
	char cmd[256];

	int null = open("/dev/null", O_RDWR), fds[3];
	const char *verdict = "ok\n";
	char tmp[PATH_MAX];
	int fd;

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 || setsid() < 0)
		_exit(2);
	if (unshare(CLONE_NEWNET) || lo_up())
		_exit(3);
	if (links == CHILD_BRIDGE && system("ip link add nsfail0 type bridge"))
		_exit(4);
	snprintf(cmd, sizeof(cmd),
		 "ip link add eth0 type veth peer name " VETH_OUT " netns %d && ip addr add 10.197.0.2/24 dev eth0 && "
		 "ip link set eth0 up",
		 (int)parent);
	if (links == CHILD_VETH && system(cmd))
		_exit(4);
	if (make_conn(fds))
		_exit(5);
	for (size_t i = 0; i < QUEUED; i++)
		if (write(fds[0], &(unsigned char){ (unsigned char)(i * 7 + 1) }, 1) != 1)
			_exit(6);
	signal(SIGUSR1, on_usr1);
	if (write(ready, "R", 1) != 1)
		_exit(7);
	close(ready);
	if (null > 2)
		close(null);
	while (!poked)
		pause();
	if (xfer(-1, fds[1], QUEUED, 1))
		verdict = "the queued bytes did not come\n";
	else if (xfer(fds[0], fds[1], TRIP, 2) || xfer(fds[1], fds[0], TRIP, 3))
		verdict = "no round trip\n";
	snprintf(tmp, sizeof(tmp), "%s.tmp", result);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, verdict, strlen(verdict)) < 0 || close(fd) || rename(tmp, result))
		_exit(9);
	_exit(0);
}

static pid_t child_start(const char *result, enum child_links links)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		child_main(ready[1], result, links);
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

/* SIGUSR1 to @pid, then its verdict (malloc'ed) or NULL. */
static char *child_verdict(pid_t pid, const char *result)
{
	unlink(result);
	if (kill(pid, SIGUSR1))
		return NULL;
	for (int i = 0; i < 300; i++) {
		char *v = test_read_file(result);

		if (v)
			return v;
		usleep(50000);
	}
	return NULL;
}

/* Whether a criu-ng lock (nft table or iptables chain) is in the network namespace of @pid. */
static bool locked_in(pid_t pid)
{
	static const char *const cmds[] = { "nft list ruleset", "iptables-save", "ip6tables-save" };
	bool found = false;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char cmd[256], line[512];
		FILE *p;

		snprintf(cmd, sizeof(cmd), "nsenter --net=/proc/%d/ns/net %s 2>/dev/null", pid, cmds[i]);
		p = popen(cmd, "r");
		if (!p)
			continue;
		while (fgets(line, sizeof(line), p))
			if (strstr(line, "criu-ng"))
				found = true;
		pclose(p);
	}
	return found;
}

/* criu ACTION with the usual options and @extra (NULL-terminated), from @tmp, with @env. */
static int run_criu(struct run_result *r, const char *tmp, const char *action, pid_t pid, const char *dir,
		    const char *log, const char *const *extra, char *const env[])
{
	char criu[PATH_MAX], pidstr[32];
	char *argv[24];
	int n = 0;

	if (test_criu_bin(criu))
		return -ENOENT;
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	argv[n++] = criu;
	argv[n++] = (char *)action;
	if (pid) {
		argv[n++] = "-t";
		argv[n++] = pidstr;
	}
	argv[n++] = "-D";
	argv[n++] = (char *)dir;
	argv[n++] = "-o";
	argv[n++] = (char *)log;
	argv[n++] = "-v4";
	for (int i = 0; extra && extra[i] && n < 23; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	return test_run(r, tmp, NULL, argv, env);
}

static bool log_has(const char *dir, const char *log, const char *what)
{
	char path[PATH_MAX], *text;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, log);
	text = test_read_file(path);
	ok = text && strstr(text, what);
	free(text);
	return ok;
}

/* Link @name of the test's namespace is there and up. */
static bool link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int sk = socket(AF_INET, SOCK_DGRAM, 0);
	bool up;

	if (sk < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	up = !ioctl(sk, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP);
	close(sk);
	return up;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A dump that must fail (@env, @links) with @msg in its log, the child left as it was. */
static void check_dump_fails(int *failures, const char *tmp, const char *what, enum child_links links,
			     char *const env[], const char *msg, const char *also)
{
	char dir[PATH_MAX], result[PATH_MAX], *v;
	struct run_result r;
	pid_t pid;
	int ret;

	snprintf(dir, sizeof(dir), "%s/%s", tmp, what);
	snprintf(result, sizeof(result), "%s/%s.result", tmp, what);
	if (mkdir(dir, 0700) || (pid = child_start(result, links)) < 0) {
		expect(failures, 0, "%s: can't set up", what);
		return;
	}
	ret = run_criu(&r, tmp, "dump", pid, dir, "dump.log", (const char *const[]){ "--tcp-established", NULL }, env);
	expect(failures, !ret && r.exit_code == 1, "%s: criu dump exit %d (not 1)", what, ret ? -1 : r.exit_code);
	if (!ret)
		test_run_free(&r);
	expect(failures, log_has(dir, "dump.log", msg), "%s: the log lacks '%s'", what, msg);
	expect(failures, !also || log_has(dir, "dump.log", also), "%s: the log lacks '%s'", what, also);
	usleep(20000);
	expect(failures, test_untraced(pid), "%s: the child doesn't run on untraced", what);
	expect(failures, !locked_in(pid), "%s: a criu-ng lock is left in the child's namespace", what);
	v = child_verdict(pid, result);
	expect(failures, v && !strcmp(v, "ok\n"), "%s: after the dump: %s", what, v ?: "no answer");
	free(v);
	stop(pid);
}

/*
 * A restore failing while it rebuilds the namespace leaves the images, and no veth end in the
 * test's namespace; the next one works.
 */
static void check_restore_fails(int *failures, const char *tmp, const char *what, enum child_links links)
{
	char dir[PATH_MAX], copy[PATH_MAX], result[PATH_MAX], pidfile[PATH_MAX], cmd[PATH_MAX * 3], *v;
	char *false_ip[] = { "CR_IP_TOOL=/bin/false", NULL };
	const char *veth = links == CHILD_VETH ? "veth[eth0]:" VETH_NEW : NULL;
	struct run_result r;
	pid_t pid;
	int ret;

	snprintf(dir, sizeof(dir), "%s/%s", tmp, what);
	snprintf(copy, sizeof(copy), "%s/%s-copy", tmp, what);
	snprintf(result, sizeof(result), "%s/%s.result", tmp, what);
	snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", tmp, what);
	if (mkdir(dir, 0700) || (pid = child_start(result, links)) < 0) {
		expect(failures, 0, "%s: can't set up", what);
		return;
	}
	ret = run_criu(&r, tmp, "dump", pid, dir, "dump.log",
		       (const char *const[]){ "--tcp-established", "--network-lock", "nftables", NULL }, NULL);
	expect(failures, !ret && r.exit_code == 0, "%s: criu dump exit %d", what, ret ? -1 : r.exit_code);
	if (!ret)
		test_run_free(&r);
	waitpid(pid, NULL, 0);
	if (test_copy_dir(dir, copy)) {
		expect(failures, 0, "%s: can't copy the images", what);
		return;
	}
	ret = run_criu(&r, tmp, "restore", 0, dir, "restore-bad.log",
		       (const char *const[]){ "--tcp-established", "-d", "--pidfile", pidfile,
					      veth ? "--external" : NULL, veth, NULL },
		       false_ip);
	expect(failures, !ret && r.exit_code != 0, "%s: a restore whose ip tool fails exited 0", what);
	if (!ret)
		test_run_free(&r);
	expect(failures, log_has(dir, "restore-bad.log", "can't restore ifaddr-"),
	       "%s: the log doesn't name the image it could not restore", what);
	snprintf(cmd, sizeof(cmd), "diff -r -x '*.log' -x '.std*' %s %s >&2", dir, copy);
	expect(failures, system(cmd) == 0, "%s: the failed restore changed the images", what);
	expect(failures, !veth || !if_nametoindex(VETH_NEW), "%s: the failed restore left %s behind", what, VETH_NEW);
	ret = run_criu(&r, tmp, "restore", 0, dir, "restore.log",
		       (const char *const[]){ "--tcp-established", "-d", "--pidfile", pidfile,
					      veth ? "--external" : NULL, veth, NULL },
		       NULL);
	expect(failures, !ret && r.exit_code == 0, "%s: the second restore exit %d", what, ret ? -1 : r.exit_code);
	if (!ret)
		test_run_free(&r);
	/* Before the verdict: the child exits once it gave it, and its namespace goes. */
	expect(failures, !locked_in(pid), "%s: the restored namespace stays locked", what);
	expect(failures, !veth || link_up(VETH_NEW), "%s: %s is not there, up, after the restore", what, VETH_NEW);
	v = child_verdict(pid, result);
	expect(failures, v && !strcmp(v, "ok\n"), "%s: after the restore: %s", what, v ?: "no answer");
	free(v);
	stop(pid);
}

int main(void)
{
	char *false_ip[] = { "CR_IP_TOOL=/bin/false", NULL };
	int failures = 0;
	char tmp[256];

	if (geteuid())
		return fprintf(stderr, "SKIP: needs root\n"), TEST_SKIP;
	if (unshare(CLONE_NEWNET) || lo_up())
		return fprintf(stderr, "SKIP: no network namespace of its own\n"), TEST_SKIP;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) || test_mkdtemp(tmp, sizeof(tmp), "netns-fail"))
		return fprintf(stderr, "FAIL: setup\n"), TEST_FAIL;
	/* The lock was taken (one rule for the namespace) before the dump failed: it must be gone. */
	check_dump_fails(&failures, tmp, "ip-fails", CHILD_LO, false_ip, "ip addr save failed",
			 "the network namespace of 2 TCP connection(s) locked");
	check_dump_fails(&failures, tmp, "bridge", CHILD_BRIDGE, NULL, "link nsfail0", NULL);
	check_restore_fails(&failures, tmp, "restore", CHILD_LO);
	check_restore_fails(&failures, tmp, "veth", CHILD_VETH);
	if (!failures)
		test_rm_rf(tmp);
	else
		fprintf(stderr, "images kept in %s\n", tmp);
	fprintf(stderr, "netns-fail: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
