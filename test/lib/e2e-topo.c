/*
 * e2e-topo.c: the three network namespaces of the host-to-host migration tests (see e2e-topo.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "criu-run.h"
#include "e2e-topo.h"
#include "net-lock.h"
#include "soccr.h"

#define NETNS_DIR "/run/netns"
#define NS_PREFIX "e2e-mig-"
#define MAX_ARGS 24

static const char host_tag[E2E_NR_HOSTS] = { 'a', 'b', 'w' };

/* What the signal handler cleans up: set once the namespaces exist. */
static struct e2e_topo *volatile sig_topo;
static volatile pid_t sig_pid;

void e2e_topo_watch_pid(pid_t pid)
{
	sig_pid = pid;
}

/* `ip ARGS...`, the arguments split on spaces from the formatted line. */
static int ip(const char *fmt, ...)
{
	char line[512], shown[512], *argv[MAX_ARGS + 2], *save = NULL, *tok;
	struct criu_cmd cmd = { 0 };
	va_list ap;
	int argc = 0, ret;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	memcpy(shown, line, sizeof(shown));
	argv[argc++] = "ip";
	for (tok = strtok_r(line, " ", &save); tok && argc <= MAX_ARGS; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	ret = criu_exec(argv, &cmd);
	if (ret == -ECHILD)
		fprintf(stderr, "e2e-topo: `ip %s` failed (wait status %#x)\n", shown, cmd.status);
	else if (ret)
		fprintf(stderr, "e2e-topo: running ip: %s\n", strerror(-ret));
	return ret;
}

/* Delete the namespaces of earlier runs whose process is gone. */
static void sweep_stale(void)
{
	DIR *d = opendir(NETNS_DIR);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		int pid;
		char tag;

		if (sscanf(de->d_name, NS_PREFIX "%d-%c", &pid, &tag) != 2 || pid <= 0)
			continue;
		if (pid == getpid() || !kill(pid, 0) || errno != ESRCH)
			continue;
		fprintf(stderr, "e2e-topo: removing %s, left by a run that is gone\n", de->d_name);
		if (ip("netns del %s", de->d_name))
			fprintf(stderr, "e2e-topo: could not remove %s\n", de->d_name);
	}
	closedir(d);
}

/* Async-signal-safe: what `ip netns del` does, for each of ours. */
static void on_fatal_signal(int sig)
{
	struct e2e_topo *t = sig_topo;

	if (sig_pid > 0)
		kill(sig_pid, SIGKILL);
	if (t) {
		for (int h = 0; h < E2E_NR_HOSTS; h++) {
			if (!t->made[h])
				continue;
			umount2(t->path[h], MNT_DETACH);
			unlink(t->path[h]);
		}
	}
	_exit(128 + sig);
}

static int catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_fatal_signal };
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		if (sigaction(sigs[k], &sa, NULL) < 0)
			return -errno;
	return 0;
}

static int wire_up(struct e2e_topo *t)
{
	const char *a = t->name[E2E_HOST_A], *b = t->name[E2E_HOST_B], *w = t->name[E2E_WIRE];
	int ret;

	ret = ip("-n %s link set lo up", w);
	ret = ret ?: ip("-n %s link add br0 type bridge", w);
	ret = ret ?: ip("-n %s addr add %s/24 dev br0", w, E2E_CLIENT_ADDR);
	ret = ret ?: ip("-n %s link set br0 up", w);
	ret = ret ?: ip("-n %s link add va type veth peer name eth0 netns %s", w, a);
	ret = ret ?: ip("-n %s link add vb type veth peer name eth0 netns %s", w, b);
	ret = ret ?: ip("-n %s link set va master br0 up", w);
	ret = ret ?: ip("-n %s link set vb master br0 up", w);
	ret = ret ?: ip("-n %s link set lo up", a);
	ret = ret ?: ip("-n %s addr add 10.199.0.2/24 dev eth0", a);
	ret = ret ?: ip("-n %s link set eth0 up", a);
	ret = ret ?: ip("-n %s link set lo up", b);
	ret = ret ?: ip("-n %s addr add 10.199.0.3/24 dev eth0", b);
	ret = ret ?: ip("-n %s link set eth0 up", b);
	/* S after the host's own address: a secondary, removed alone */
	ret = ret ?: ip("-n %s addr add %s/24 dev eth0", a, E2E_SERVICE_ADDR);
	return ret;
}

/* A rtnetlink socket in namespace @h and the index of its interface @ifname, made from inside it. */
static int nl_open(struct e2e_topo *t, enum e2e_host h, const char *ifname)
{
	int ret = e2e_topo_enter(t, h);

	if (ret)
		return ret;
	t->ifindex[h] = if_nametoindex(ifname);
	if (!t->ifindex[h])
		ret = -errno;
	t->nl[h] = ret ? NULL : mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!ret && (!t->nl[h] || mnl_socket_bind(t->nl[h], 0, MNL_SOCKET_AUTOPID) < 0))
		ret = errno ? -errno : -EIO;
	if (e2e_topo_enter(t, E2E_NR_HOSTS) && !ret)
		ret = -errno;
	return ret;
}

int e2e_topo_create(struct e2e_topo *t)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (t->self_ns < 0)
		return -errno;
	if (inet_pton(AF_INET, E2E_SERVICE_ADDR, &t->service) != 1)
		return -EINVAL;
	sweep_stale();
	for (int h = 0; h < E2E_NR_HOSTS; h++) {
		snprintf(t->name[h], sizeof(t->name[h]), NS_PREFIX "%d-%c", (int)getpid(), host_tag[h]);
		snprintf(t->path[h], sizeof(t->path[h]), NETNS_DIR "/%s", t->name[h]);
	}
	sig_topo = t;
	ret = catch_signals();
	for (int h = 0; h < E2E_NR_HOSTS && !ret; h++) {
		ret = ip("netns add %s", t->name[h]);
		t->made[h] = !ret;
	}
	ret = ret ?: wire_up(t);
	ret = ret ?: nl_open(t, E2E_HOST_A, "eth0");
	ret = ret ?: nl_open(t, E2E_HOST_B, "eth0");
	ret = ret ?: nl_open(t, E2E_WIRE, "br0");
	t->service_on = E2E_HOST_A;
	if (ret)
		e2e_topo_destroy(t);
	return ret;
}

void e2e_topo_destroy(struct e2e_topo *t)
{
	if (sig_pid > 0) {
		kill(sig_pid, SIGKILL);
		sig_pid = 0;
	}
	if (t->self_ns >= 0 && setns(t->self_ns, CLONE_NEWNET) < 0)
		fprintf(stderr, "e2e-topo: back to our own network namespace: %s\n", strerror(errno));
	for (int h = 0; h < E2E_NR_HOSTS; h++) {
		if (t->made[h] && ip("netns del %s", t->name[h]))
			fprintf(stderr, "e2e-topo: could not remove %s\n", t->name[h]);
		t->made[h] = 0;
	}
	for (int h = 0; h < E2E_NR_HOSTS; h++) {
		if (t->nl[h])
			mnl_socket_close(t->nl[h]);
		t->nl[h] = NULL;
	}
	sig_topo = NULL;
	if (t->self_ns >= 0)
		close(t->self_ns);
	t->self_ns = -1;
}

int e2e_topo_remove(struct e2e_topo *t, enum e2e_host h)
{
	int ret = ip("netns del %s", t->name[h]);

	if (ret)
		return ret;
	t->made[h] = 0;
	if (t->nl[h])
		mnl_socket_close(t->nl[h]);
	t->nl[h] = NULL;
	return 0;
}

int e2e_topo_enter(struct e2e_topo *t, enum e2e_host h)
{
	int fd = h == E2E_NR_HOSTS ? t->self_ns : open(t->path[h], O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET) < 0)
		ret = -errno;
	if (h != E2E_NR_HOSTS)
		close(fd);
	return ret;
}

/* Send one request on @h's rtnetlink socket and wait for its acknowledgement: 0 or -errno. */
static int nl_call(struct e2e_topo *t, enum e2e_host h, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(t->nl[h]);
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++t->nl_seq;
	if (mnl_socket_sendto(t->nl[h], nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(t->nl[h], buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL) < 0 ? -errno : 0;
}

/* RTM_NEWADDR or RTM_DELADDR of S/24 on @h's eth0. */
static int nl_addr(struct e2e_topo *t, enum e2e_host h, uint16_t type)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 24;
	ifa->ifa_index = t->ifindex[h];
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(t->service), &t->service);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(t->service), &t->service);
	return nl_call(t, h, nlh);
}

/* The wire's neighbour entry for S on br0, deleted (there may be none). */
static int nl_forget_service(struct e2e_topo *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;
	int ret;

	nlh->nlmsg_type = RTM_DELNEIGH;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = AF_INET;
	nd->ndm_ifindex = (int)t->ifindex[E2E_WIRE];
	mnl_attr_put(nlh, NDA_DST, sizeof(t->service), &t->service);
	ret = nl_call(t, E2E_WIRE, nlh);
	return ret == -ENOENT ? 0 : ret;
}

int e2e_topo_move(struct e2e_topo *t, enum e2e_host to)
{
	int ret;

	ret = nl_addr(t, t->service_on, RTM_DELADDR);
	if (ret) {
		fprintf(stderr, "e2e-topo: removing %s from %s: %s\n", E2E_SERVICE_ADDR, t->name[t->service_on],
			strerror(-ret));
		return ret;
	}
	ret = nl_addr(t, to, RTM_NEWADDR);
	if (ret) {
		fprintf(stderr, "e2e-topo: adding %s to %s: %s\n", E2E_SERVICE_ADDR, t->name[to], strerror(-ret));
		return ret;
	}
	t->service_on = to;
	/* the clients must ask again where S is: their cached entry names A's interface */
	ret = nl_forget_service(t);
	if (ret)
		fprintf(stderr, "e2e-topo: deleting the wire's neighbour entry for %s: %s\n", E2E_SERVICE_ADDR,
			strerror(-ret));
	return ret;
}

int e2e_topo_prelock(struct e2e_topo *t, enum e2e_host h, const char *mode, pid_t pid)
{
	/* as criu's own lock: soccr's probes that wake the restored connections pass */
	struct netlock_opts o = { .exempt_mark = SOCCR_MARK };
	char id[NETLOCK_ID_MAX + 1];
	int here, ret;

	ret = netlock_mode_parse(mode ? mode : "nftables", &o.mode);
	if (ret || o.mode == NETLOCK_SKIP)
		return ret;
	snprintf(id, sizeof(id), "%d", (int)pid);
	o.id = id;
	/* back to whichever namespace we are in (the tests talk from the wire's) */
	here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (here < 0)
		return -errno;
	ret = e2e_topo_enter(t, h);
	ret = ret ?: netlock_lock_netns(&o);
	if (setns(here, CLONE_NEWNET) < 0 && !ret)
		ret = -errno;
	close(here);
	if (ret)
		fprintf(stderr, "e2e-topo: locking %s as criu restore of %d expects: %s\n", t->name[h], (int)pid,
			strerror(-ret));
	return ret;
}

static __attribute__((noreturn)) void spawn_child(const char *netns, char *const argv[], const char *out, int ready)
{
	int fd = open(netns, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) || setsid() < 0)
		_exit(126);
	if (ready >= 0 && dup2(ready, 3) < 0)
		_exit(126);
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) < 0)
		_exit(126);
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	/* only stdio (and the ready fd): criu dumps what the program holds */
	if (syscall(SYS_close_range, ready >= 0 ? 4 : 3, ~0U, 0))
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

int e2e_topo_spawn(struct e2e_topo *t, enum e2e_host h, char *const argv[], const char *out, int ready, pid_t *pid)
{
	int p[2] = { -1, -1 }, status, ret;
	char c;

	if (ready && pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	*pid = fork();
	if (*pid < 0) {
		ret = -errno;
		if (ready) {
			close(p[0]);
			close(p[1]);
		}
		return ret;
	}
	if (*pid == 0)
		spawn_child(t->path[h], argv, out, p[1]);
	e2e_topo_watch_pid(*pid);
	if (!ready)
		return 0;
	close(p[1]);
	while ((ret = (int)read(p[0], &c, 1)) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (ret != 0 || waitpid(*pid, &status, WNOHANG) != 0) {
		e2e_topo_watch_pid(0);
		*pid = 0;
		return -ECHILD;
	}
	return 0;
}
