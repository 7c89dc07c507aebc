/*
 * e2e-nginx.c: a real server migrated host to host through the criu binary: Debian's nginx-light
 * in single-process mode (master_process off, daemon off: one process, the config written here
 * into a temporary directory) serving a static file on the service address in host A, with
 * keep-alive HTTP clients connected from the wire namespace (test/lib/e2e-topo.h). Each client
 * fetches the file once, then nginx is dumped with --tcp-established while they stay connected,
 * the address moves to host B, nginx is restored there, and every client fetches the file again
 * on its existing connection and must get all of it, right.
 *
 * Before the dump the test prints every fd nginx holds and its kind (what criu must support to
 * migrate it). It skips (77) only when nginx-light is not installed or criu refuses a kind of
 * resource it does not support yet, naming it.
 *
 * Built with NGINX_WORKERS > 0 (e2e-nginx-workers.c), nginx runs as packaged servers run: a
 * master and NGINX_WORKERS workers (a process tree sharing the listening socket, with a socketpair
 * from the master to each worker), and the whole tree is migrated. There the test does not skip on
 * a refusal: criu must migrate it. After the restore every process of the tree must be back with
 * its pid and parent, and the workers must serve the clients on their connections.
 */
/* timeout: 300 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "criu-run.h"
#include "e2e-cr.h"
#include "e2e-real.h"
#include "e2e-topo.h"
#include "pattern.h"
#include "testutil.h"

#ifndef NGINX_WORKERS
#define NGINX_WORKERS 0 /* single-process mode */
#endif
#define NGINX "/usr/sbin/nginx"
#define CLIENTS 200
#define BODY_LEN 6000
#define HTTP_PORT 80
#define IO_TIMEOUT_S 10

struct nginx_test {
	struct e2e_topo topo;
	struct e2e_cr cr;
	char dir[PATH_MAX], img[PATH_MAX + 8], out[PATH_MAX + 16];
	pid_t pid;
	int fds[CLIENTS];
	uint8_t body[BODY_LEN];
	char kinds[2048];		  /* the fd kinds nginx holds, for the skip message */
	pid_t workers[NGINX_WORKERS + 1]; /* the master's children before the dump */
	int nr_workers;
};

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "we");
	int ret = 0;

	if (!f)
		return -errno;
	if (fwrite(buf, 1, len, f) != len)
		ret = -EIO;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

static int write_config(struct nginx_test *t)
{
	char path[PATH_MAX + 32], conf[4096];
	int n;

	n = snprintf(conf, sizeof(conf),
		     "master_process %4$s;\n"
		     "daemon off;\n"
		     "worker_processes %5$d;\n"
		     "pid %1$s/nginx.pid;\n"
		     "error_log %1$s/error.log info;\n"
		     "events { worker_connections 1024; }\n"
		     "http {\n"
		     "  access_log off;\n"
		     "  sendfile off;\n"
		     "  keepalive_timeout 3600s;\n"
		     "  keepalive_requests 1000000;\n"
		     "  default_type application/octet-stream;\n"
		     "  client_body_temp_path %1$s/tmp-body;\n"
		     "  proxy_temp_path %1$s/tmp-proxy;\n"
		     "  fastcgi_temp_path %1$s/tmp-fastcgi;\n"
		     "  uwsgi_temp_path %1$s/tmp-uwsgi;\n"
		     "  scgi_temp_path %1$s/tmp-scgi;\n"
		     "  server { listen %2$s:%3$d; root %1$s/www; }\n"
		     "}\n",
		     t->dir, E2E_SERVICE_ADDR, HTTP_PORT, NGINX_WORKERS ? "on" : "off",
		     NGINX_WORKERS ? NGINX_WORKERS : 1);
	if (n < 0 || (size_t)n >= sizeof(conf))
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s/nginx.conf", t->dir);
	return write_file(path, conf, (size_t)n);
}

static int setup_files(struct nginx_test *t)
{
	char path[PATH_MAX + 32];
	int ret;

	snprintf(t->dir, sizeof(t->dir), "/dev/shm/e2e-nginx-XXXXXX");
	/* Readable by all: nginx's workers run as "nobody", as packaged. */
	if (!mkdtemp(t->dir) || chmod(t->dir, 0755))
		return -errno;
	snprintf(t->img, sizeof(t->img), "%s/img", t->dir);
	snprintf(t->out, sizeof(t->out), "%s/nginx.out", t->dir);
	snprintf(path, sizeof(path), "%s/www", t->dir);
	if (mkdir(t->img, 0700) || mkdir(path, 0755))
		return -errno;
	pattern_fill(t->body, 7, 0, BODY_LEN);
	snprintf(path, sizeof(path), "%s/www/blob.bin", t->dir);
	ret = write_file(path, t->body, BODY_LEN);
	return ret ?: write_config(t);
}

/* GET the file on connection @fd: 0 if the whole body came back right, else -errno (printed). */
static int http_get(struct nginx_test *t, int fd, unsigned int i)
{
	static const char req[] = "GET /blob.bin HTTP/1.1\r\nHost: e2e\r\n\r\n";
	char buf[BODY_LEN + 1024], *hdr_end, *cl;
	size_t got = 0, hdr_len, body_got;
	long len;

	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
		test_msg("client %u: sending the request: %s", i, strerror(errno));
		return -EIO;
	}
	for (;;) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);

		if (r <= 0) {
			test_msg("client %u: reading the response: %s", i, r ? strerror(errno) : "end of stream");
			return -EIO;
		}
		got += (size_t)r;
		buf[got] = '\0';
		hdr_end = strstr(buf, "\r\n\r\n");
		if (!hdr_end)
			continue;
		hdr_len = (size_t)(hdr_end + 4 - buf);
		cl = strcasestr(buf, "\r\nContent-Length:");
		if (strncmp(buf, "HTTP/1.1 200 ", 13) || !cl || cl > hdr_end) {
			test_msg("client %u: not a 200 with a length: %.40s", i, buf);
			return -EPROTO;
		}
		len = strtol(cl + 17, NULL, 10);
		body_got = got - hdr_len;
		if (len != BODY_LEN || body_got > BODY_LEN) {
			test_msg("client %u: Content-Length %ld, %zu body bytes, want %d", i, len, body_got, BODY_LEN);
			return -EPROTO;
		}
		if (body_got == BODY_LEN)
			break;
	}
	if (memcmp(buf + hdr_len, t->body, BODY_LEN)) {
		test_msg("client %u: the body differs from the file", i);
		return -EPROTO;
	}
	return 0;
}

/* One request on every client's connection: how many got the whole file right. */
static unsigned int fetch_all(struct nginx_test *t)
{
	unsigned int good = 0;

	for (unsigned int i = 0; i < CLIENTS; i++)
		if (t->fds[i] >= 0 && !http_get(t, t->fds[i], i))
			good++;
	return good;
}

/* The children of @pid (from /proc/PID/task/PID/children), at most @max: how many, or -errno. */
static int children_of(pid_t pid, pid_t *v, int max)
{
	char path[96];
	int n = 0, c;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (n < max && fscanf(f, "%d", &c) == 1)
		v[n++] = c;
	fclose(f);
	return n;
}

/* Whether process @pid still holds a served file open (nginx closes it just after the last byte went out). */
static int pid_serving(struct nginx_test *t, pid_t pid)
{
	char path[64], fdpath[64 + 256], link[PATH_MAX], www[PATH_MAX + 8];
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	snprintf(www, sizeof(www), "%s/www/", t->dir);
	d = opendir(path);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		ssize_t n;

		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			found = !strncmp(link, www, strlen(www));
		}
	}
	closedir(d);
	return found;
}

/* Whether nginx (any process of it) still holds a served file open. */
static int serving(struct nginx_test *t)
{
	int found = pid_serving(t, t->pid);

	for (int i = 0; !found && i < t->nr_workers; i++)
		found = pid_serving(t, t->workers[i]);
	return found;
}

/* Until nginx is idle: every request finished, no served file open (1 s at most). */
static void wait_idle(struct nginx_test *t)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

	for (int k = 0; k < 100 && serving(t); k++)
		nanosleep(&ts, NULL);
}

/* After the restore: the master has its workers back, with their pids. */
static int check_tree(struct nginx_test *t)
{
	pid_t now[NGINX_WORKERS + 1];
	int n;

	if (!NGINX_WORKERS)
		return 0;
	n = children_of(t->pid, now, NGINX_WORKERS + 1);
	if (n != t->nr_workers)
		return test_fail("the restored master has %d children, %d before the dump", n, t->nr_workers);
	for (int i = 0; i < n; i++) {
		int found = 0;

		for (int j = 0; j < n; j++)
			found |= now[i] == t->workers[j];
		if (!found)
			return test_fail("the restored master has a child %d that was not one of its workers",
					 (int)now[i]);
	}
	test_msg("the nginx master %d is back with its %d workers", (int)t->pid, n);
	return 0;
}

static int run(struct nginx_test *t)
{
	char conf[PATH_MAX + 16], prefix[PATH_MAX + 2];
	char *argv[] = { NGINX, "-c", conf, "-p", prefix, NULL };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(HTTP_PORT) };
	unsigned int good;
	int ret;

	snprintf(conf, sizeof(conf), "%s/nginx.conf", t->dir);
	snprintf(prefix, sizeof(prefix), "%s/", t->dir);
	a.sin_addr = t->topo.service;
	ret = e2e_topo_spawn(&t->topo, E2E_HOST_A, argv, t->out, 0, &t->pid);
	if (ret)
		return test_fail("starting nginx: %s", strerror(-ret));
	ret = e2e_topo_enter(&t->topo, E2E_WIRE);
	if (ret)
		return test_fail("entering the wire's namespace: %s", strerror(-ret));
	for (unsigned int i = 0; i < CLIENTS; i++) {
		t->fds[i] = i ? e2e_real_connect(&a, IO_TIMEOUT_S) : e2e_real_wait_listening(&a, IO_TIMEOUT_S);
		if (t->fds[i] < 0)
			return test_fail("client %u: connecting to nginx: %s (see %s)", i, strerror(-t->fds[i]),
					 t->out);
	}
	good = fetch_all(t);
	if (good != CLIENTS)
		return test_fail("before the migration only %u of %d clients got the file", good, CLIENTS);
	test_msg("%d keep-alive clients connected to nginx on host A, each fetched the file once", CLIENTS);
	if (NGINX_WORKERS) {
		t->nr_workers = children_of(t->pid, t->workers, NGINX_WORKERS + 1);
		if (t->nr_workers != NGINX_WORKERS)
			return test_fail("the nginx master has %d children, not %d workers", t->nr_workers,
					 NGINX_WORKERS);
	}
	wait_idle(t);
	test_msg("nginx runs %s", NGINX_WORKERS ? "as a master and its workers" : "in single-process mode");
	ret = e2e_real_list_fds(t->pid, NGINX_WORKERS ? "the nginx master" : "nginx", t->kinds, sizeof(t->kinds));
	for (int i = 0; !ret && i < t->nr_workers; i++) {
		char kinds[sizeof(t->kinds)];

		ret = e2e_real_list_fds(t->workers[i], "an nginx worker", kinds, sizeof(kinds));
	}
	if (ret)
		return test_fail("listing nginx's fds: %s", strerror(-ret));
	ret = e2e_real_migrate(&t->topo, &t->cr, &t->pid);
	/* A tree of processes must migrate: there a refusal fails the test. */
	if (ret == -EOPNOTSUPP && !NGINX_WORKERS)
		return test_skip("%s%s; nginx holds: %s", e2e_real_refused_fd(t->pid, t->cr.why), t->cr.why, t->kinds);
	if (ret)
		return test_fail("%s", t->cr.why);
	ret = check_tree(t);
	if (ret)
		return ret;
	good = fetch_all(t);
	test_msg("after the migration to host B: %u of %d clients got the whole file on their connection (dump %.1f "
		 "ms, frozen %.1f ms, restore %.1f ms)",
		 good, CLIENTS, t->cr.dump_ms, t->cr.frozen_ms, t->cr.restore_ms);
	if (good != CLIENTS)
		return test_fail("%d clients lost their connection or their file", CLIENTS - good);
	if (e2e_real_stop(&t->pid, "nginx", t->out))
		return TEST_FAIL;
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static struct nginx_test t;
	struct rlimit rl;
	int ret;

	(void)argc;
	test_init(argv[0]);
	if (access(NGINX, X_OK))
		return test_skip("%s: %s (nginx-light: scripts/install-deps.sh installs it)", NGINX, strerror(errno));
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return test_fail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	if (getrlimit(RLIMIT_NOFILE, &rl) || (rl.rlim_cur = rl.rlim_max, setrlimit(RLIMIT_NOFILE, &rl)))
		return test_fail("raising RLIMIT_NOFILE: %s", strerror(errno));
	for (unsigned int i = 0; i < CLIENTS; i++)
		t.fds[i] = -1;
	t.cr.dir = t.dir;
	t.cr.img = t.img;
	t.cr.verbose = 1;
	ret = e2e_cr_init(&t.cr);
	if (ret)
		return test_fail("%s", t.cr.why);
	ret = setup_files(&t);
	if (ret)
		return test_fail("writing nginx's files in %s: %s", t.dir, strerror(-ret));
	ret = e2e_topo_create(&t.topo);
	if (ret)
		return test_fail("making the network namespaces: %s", strerror(-ret));
	ret = run(&t);
	for (unsigned int i = 0; i < CLIENTS; i++)
		if (t.fds[i] >= 0)
			close(t.fds[i]);
	e2e_topo_destroy(&t.topo);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	/* a failure's files stay for a look */
	if (ret != TEST_FAIL && rm_tree(t.dir))
		test_msg("could not remove %s", t.dir);
	if (ret == TEST_PASS)
		test_msg("PASS");
	return ret;
}
