/*
 * criu check: one probe per feature, each asking the kernel without changing
 * anything outside this process (children it forks are reaped before returning).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/kcmp.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <libmnl/libmnl.h>
#include <liburing.h>

#include "cr-check.h"
#include "netns.h"

#define LOG_PREFIX "check: "
#include "log.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif

/* The layout PTRACE_GET_RSEQ_CONFIGURATION fills (linux/ptrace.h, which clashes with sys/ptrace.h). */
struct probe_rseq_configuration {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

struct check_probe {
	const char *name;
	/* Needed by every dump or restore: plain "criu check" fails without it. */
	bool required;
	const char *what;
	/* NULL for a feature of CRIU's list that criu-ng does not implement: why_not says why. */
	int (*probe)(void);
	const char *why_not;
};

static int tcp_repair_socket(void)
{
	int val = TCP_REPAIR_ON;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0) {
		pr_perror("Can't create a TCP socket");
		return -errno;
	}
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &val, sizeof(val)) < 0) {
		int err = -errno;

		pr_info("TCP_REPAIR: %s\n", strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

/* TCP repair mode, with the queue selection that rebuilding half-closed states needs. */
static int probe_tcp_half_closed(void)
{
	int queue = TCP_SEND_QUEUE, off = TCP_REPAIR_OFF;
	int fd, ret = 0;

	fd = tcp_repair_socket();
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0 ||
	    setsockopt(fd, SOL_TCP, TCP_REPAIR, &off, sizeof(off)) < 0) {
		ret = -errno;
		pr_info("TCP_REPAIR_QUEUE: %s\n", strerror(-ret));
	}
	close(fd);
	return ret;
}

static int probe_tcp_repair_window(void)
{
	struct tcp_repair_window win;
	socklen_t len = sizeof(win);
	int fd, ret = 0;

	fd = tcp_repair_socket();
	if (fd < 0)
		return fd;
	if (getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &win, &len) < 0) {
		ret = -errno;
		pr_info("TCP_REPAIR_WINDOW: %s\n", strerror(-ret));
	}
	close(fd);
	return ret;
}

/* pidfd_open on ourselves, then pidfd_getfd of that very pidfd. */
static int probe_pidfd_getfd(void)
{
	int pidfd, fd;

	pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0) {
		pr_info("pidfd_open: %m\n");
		return -errno;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, pidfd, 0);
	if (fd < 0) {
		int err = -errno;

		pr_info("pidfd_getfd: %s\n", strerror(-err));
		close(pidfd);
		return err;
	}
	close(fd);
	close(pidfd);
	return 0;
}

/*
 * clone3 asking for our own pid: a kernel with set_tid that lets us choose pids
 * answers EEXIST (after its capability check, which fails with EPERM), and no
 * task is created. Older kernels answer ENOSYS, E2BIG or EINVAL.
 */
static int probe_clone3_set_tid(void)
{
	pid_t tid = getpid();
	struct clone_args args;
	long ret;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	args.set_tid = (uintptr_t)&tid;
	args.set_tid_size = 1;

	ret = syscall(SYS_clone3, &args, sizeof(args));
	if (ret == 0)
		syscall(SYS_exit, 0); /* cannot happen: our pid is taken; leave at once */
	if (ret > 0) {
		waitpid((pid_t)ret, NULL, 0);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	pr_info("clone3 with set_tid: %m\n");
	return -errno;
}

static int probe_io_uring(void)
{
	struct io_uring ring;
	int ret;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0) {
		pr_info("io_uring_setup: %s\n", strerror(-ret));
		return ret;
	}
	io_uring_queue_exit(&ring);
	return 0;
}

static bool has_effective_cap(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap);
}

static int nft_gen_reply(const struct nlmsghdr *nlh, void *data)
{
	bool *seen = data;

	if ((nlh->nlmsg_type & 0xff) == NFT_MSG_NEWGEN)
		*seen = true;
	return MNL_CB_OK;
}

/* Asks nf_tables for its ruleset generation (a read-only request) and checks CAP_NET_ADMIN. */
static int probe_nftables(void)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfgenmsg *nfg;
	struct nlmsghdr *nlh;
	struct mnl_socket *nl;
	bool seen = false;
	unsigned int portid, seq = (unsigned int)time(NULL);
	ssize_t n;
	int ret;

	if (!has_effective_cap(CAP_NET_ADMIN)) {
		pr_info("nftables: no CAP_NET_ADMIN\n");
		return -EPERM;
	}
	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl) {
		pr_info("nftables: netlink socket: %m\n");
		return -errno;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out_close;
	}
	portid = mnl_socket_get_portid(nl);

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out_close;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0) {
		ret = -errno;
		goto out_close;
	}
	ret = mnl_cb_run(buf, n, seq, portid, nft_gen_reply, &seen) < 0 ? -errno : 0;
	if (!ret && !seen)
		ret = -EPROTO;
out_close:
	if (ret)
		pr_info("nftables: generation request: %s\n", strerror(-ret));
	mnl_socket_close(nl);
	return ret;
}

static int probe_ipt_legacy(void)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	const char *path = getenv("PATH");
	char file[4096];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(file, sizeof(file), "%s/iptables-legacy-restore", dirs[i]);
		if (!access(file, X_OK))
			return 0;
	}
	while (path && *path) {
		size_t len = strcspn(path, ":");

		if (len && len < sizeof(file) - 32) {
			snprintf(file, sizeof(file), "%.*s/iptables-legacy-restore", (int)len, path);
			if (!access(file, X_OK))
				return 0;
		}
		path += len + (path[len] == ':');
	}
	pr_info("iptables-legacy-restore not found\n");
	return -ENOENT;
}

/* A traced child stops; PTRACE_GET_RSEQ_CONFIGURATION must answer for it. */
static int probe_get_rseq_conf(void)
{
	struct probe_rseq_configuration conf;
	int status, ret = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		pr_perror("fork");
		return -errno;
	}
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
			raise(SIGSTOP);
		_exit(1);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status)) {
		ret = -ECHILD;
		goto out_kill;
	}
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(conf), &conf) < 0) {
		ret = -errno;
		pr_info("PTRACE_GET_RSEQ_CONFIGURATION: %m\n");
	}
out_kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return ret;
}

/* Our restore sets the expirations a timerfd owes with TFD_IOC_SET_TICKS (CONFIG_CHECKPOINT_RESTORE). */
static int probe_timerfd(void)
{
	uint64_t ticks = 1;
	int fd, ret = 0;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (fd < 0) {
		pr_info("timerfd_create: %m\n");
		return -errno;
	}
	if (ioctl(fd, TFD_IOC_SET_TICKS, &ticks) < 0) {
		ret = -errno;
		pr_info("TFD_IOC_SET_TICKS: %s\n", strerror(-ret));
	}
	close(fd);
	return ret;
}

/* hugetlb memfds are made again with memfd_create(MFD_HUGETLB). */
static int probe_memfd_hugetlb(void)
{
	int fd = memfd_create("criu-check", MFD_HUGETLB | MFD_CLOEXEC);

	if (fd < 0) {
		pr_info("memfd_create(MFD_HUGETLB): %m\n");
		return -errno;
	}
	close(fd);
	return 0;
}

/* Our dump finds the file behind each epoll registration with kcmp(KCMP_EPOLL_TFD). */
static int probe_kcmp_epoll(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct kcmp_epoll_slot slot;
	int efd, pfd[2], ret = 0;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		pr_perror("pipe");
		return -errno;
	}
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (efd < 0) {
		ret = -errno;
		pr_perror("epoll_create1");
		goto out_pipe;
	}
	if (epoll_ctl(efd, EPOLL_CTL_ADD, pfd[0], &ev) < 0) {
		ret = -errno;
		pr_perror("epoll_ctl");
		goto out_epoll;
	}
	slot = (struct kcmp_epoll_slot){ .efd = (uint32_t)efd, .tfd = (uint32_t)pfd[0], .toff = 0 };
	if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_EPOLL_TFD, pfd[0], &slot) != 0) {
		ret = errno ? -errno : -EPROTO;
		pr_info("kcmp(KCMP_EPOLL_TFD): %s\n", strerror(-ret));
	}
out_epoll:
	close(efd);
out_pipe:
	close(pfd[0]);
	close(pfd[1]);
	return ret;
}

/* 0 when /proc/self/fdinfo/@fd has a line starting with @key. */
static int fdinfo_has_line(int fd, const char *key)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f) {
		pr_perror("Can't open %s", path);
		return -errno;
	}
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, key, strlen(key));
	fclose(f);
	if (!found)
		pr_info("%s has no '%s' line\n", path, key);
	return found ? 0 : -ENOENT;
}

/* Our dump reads file locks from the "lock:" lines of fdinfo (--file-locks). */
static int probe_fdinfo_lock(void)
{
	int fd, ret;

	fd = memfd_create("criu-check-lock", MFD_CLOEXEC);
	if (fd < 0) {
		pr_info("memfd_create: %m\n");
		return -errno;
	}
	if (flock(fd, LOCK_SH) < 0) {
		ret = -errno;
		pr_info("flock: %s\n", strerror(-ret));
	} else {
		ret = fdinfo_has_line(fd, "lock:");
	}
	close(fd);
	return ret;
}

/* Our dump records the mount of every file from the "mnt_id:" line of fdinfo. */
static int probe_mnt_id(void)
{
	int fd, ret;

	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open /");
		return -errno;
	}
	ret = fdinfo_has_line(fd, "mnt_id:");
	close(fd);
	return ret;
}

/* Our socket dump and restore keep SO_BUF_LOCK (5.14). */
static int probe_sockopt_buf_lock(void)
{
	socklen_t len = sizeof(int);
	int fd, val, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pr_perror("Can't create a UDP socket");
		return -errno;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_BUF_LOCK, &val, &len) < 0) {
		ret = -errno;
		pr_info("SO_BUF_LOCK: %s\n", strerror(-ret));
	}
	close(fd);
	return ret;
}

/*
 * Every name CRIU 4's "criu check --feature" knows, and criu-ng's own ones
 * (tcp_repair_window, pidfd_getfd, io_uring). A name criu-ng answers yes to means
 * criu-ng implements what CRIU gates with it and the kernel has what that needs.
 */
static const struct check_probe probes[] = {
	{ "tcp_half_closed", true, "TCP repair mode (incl. half-closed connections)", probe_tcp_half_closed, NULL },
	{ "tcp_repair_window", true, "TCP_REPAIR_WINDOW", probe_tcp_repair_window, NULL },
	{ "pidfd_getfd", true, "pidfd_open and pidfd_getfd", probe_pidfd_getfd, NULL },
	{ "clone3_set_tid", true, "clone3 with set_tid (restore with the original pids)", probe_clone3_set_tid, NULL },
	{ "get_rseq_conf", false, "PTRACE_GET_RSEQ_CONFIGURATION", probe_get_rseq_conf, NULL },
	{ "timerfd", false, "timerfd with TFD_IOC_SET_TICKS", probe_timerfd, NULL },
	{ "kcmp_epoll", false, "kcmp(KCMP_EPOLL_TFD) for epoll targets", probe_kcmp_epoll, NULL },
	{ "fdinfo_lock", false, "file locks in /proc/PID/fdinfo", probe_fdinfo_lock, NULL },
	{ "mnt_id", false, "mnt_id in /proc/PID/fdinfo", probe_mnt_id, NULL },
	{ "sockopt_buf_lock", false, "SO_BUF_LOCK", probe_sockopt_buf_lock, NULL },
	{ "io_uring", false, "io_uring rings", probe_io_uring, NULL },
	{ "network_lock_nftables", false, "nftables network lock", probe_nftables, NULL },
	{ "has_ipt_legacy", false, "iptables-legacy-restore", probe_ipt_legacy, NULL },
	/* CRIU's features that criu-ng does not implement: always "no". */
	{ "userns", false, "user namespaces", NULL,
	  "criu-ng does not checkpoint user namespaces (CRIU: /proc/self/ns/user and PR_SET_MM_MAP_SIZE)" },
	{ "mem_dirty_track", false, "soft-dirty memory tracking", NULL, "criu-ng has no pre-dump" },
	{ "aio_remap", false, "AIO rings", NULL, "criu-ng does not dump AIO rings" },
	{ "tun", false, "tun devices", NULL, "criu-ng does not dump tun devices" },
	{ "tun_ns", false, "tun devices in a network namespace", NULL, "criu-ng does not dump tun devices" },
	{ "seccomp_suspend", false, "PTRACE_O_SUSPEND_SECCOMP", NULL, "criu-ng refuses tasks under seccomp" },
	{ "seccomp_filters", false, "PTRACE_SECCOMP_GET_FILTER", NULL, "criu-ng refuses tasks under seccomp" },
	{ "loginuid", false, "loginuid restore", NULL, "criu-ng does not restore the loginuid" },
	{ "cgroupns", false, "cgroup namespaces", NULL, "criu-ng does not checkpoint cgroup namespaces" },
	{ "autofs", false, "autofs mounts", NULL, "criu-ng does not checkpoint mounts" },
	{ "compat_cr", false, "32-bit (compat) tasks", NULL, "criu-ng dumps x86_64 tasks only" },
	{ "uffd", false, "userfaultfd lazy pages", NULL, "criu-ng has no lazy pages" },
	{ "uffd-noncoop", false, "non-cooperative userfaultfd", NULL, "criu-ng has no lazy pages" },
	{ "can_map_vdso", false, "arch_prctl(ARCH_MAP_VDSO)", NULL, "criu-ng does not map the vDSO that way" },
	{ "sk_ns", false, "SIOCGSKNS (a socket's network namespace)", NULL,
	  "criu-ng does not checkpoint network namespaces" },
	{ "sk_unix_file", false, "SIOCUNIXFILE", NULL, "criu-ng does not use SIOCUNIXFILE" },
	{ "net_diag_raw", false, "raw sockets through sock_diag", NULL, "criu-ng does not dump raw sockets" },
	{ "nsid", false, "network namespace ids", NULL, "criu-ng does not checkpoint network namespaces" },
	{ "link_nsid", false, "IFLA_LINK_NETNSID", NULL, "criu-ng does not checkpoint network namespaces" },
	{ "timens", false, "time namespaces", NULL, "criu-ng does not checkpoint time namespaces" },
	{ "external_net_ns", false, "--external net[INODE]:KEY", NULL, "criu-ng refuses --external" },
	{ "newifindex", false, "IFLA_NEW_IFINDEX", NULL, "criu-ng does not checkpoint network devices" },
	{ "nftables", false, "nftables rules of a network namespace (the nft tool)", netns_can_keep_rules, NULL },
	{ "pidfd_store", false, "--pidfd-store", NULL, "criu-ng has no pre-dump and refuses --pidfd-store" },
	{ "ns_pid", false, "NSpid in /proc/PID/status", NULL, "criu-ng does not checkpoint nested pid namespaces" },
	{ "apparmor_stacking", false, "AppArmor namespaces", NULL, "criu-ng does not checkpoint LSM profiles" },
	{ "memfd_hugetlb", false, "hugetlb memfds", probe_memfd_hugetlb, NULL },
	{ "move_mount_set_group", false, "MOVE_MOUNT_SET_GROUP", NULL, "criu-ng does not checkpoint mounts" },
	{ "openat2", false, "openat2", NULL, "criu-ng does not use openat2" },
};

#define NR_PROBES (sizeof(probes) / sizeof(probes[0]))

static const struct check_probe *find_probe(const char *name)
{
	for (size_t i = 0; i < NR_PROBES; i++)
		if (!strcmp(probes[i].name, name))
			return &probes[i];
	return NULL;
}

int cr_check_feature(const char *name)
{
	const struct check_probe *p = find_probe(name);

	if (!p)
		return -ENOENT;
	return p->probe ? p->probe() : -EOPNOTSUPP;
}

static void list_features(void)
{
	for (size_t i = 0; i < NR_PROBES; i++)
		pr_msg("%-24s %s%s\n", probes[i].name, probes[i].what,
		       probes[i].required ? " (required)" : (probes[i].probe ? "" : " (not implemented by criu-ng)"));
}

static int check_named(const struct criu_opts *opts)
{
	int ret = 0;

	for (unsigned int i = 0; i < opts->nr_features; i++) {
		if (!strcmp(opts->features[i], "list")) {
			list_features();
			return 0;
		}
		if (!find_probe(opts->features[i])) {
			pr_err("unknown feature %s (criu check --feature list shows the known ones)\n",
			       opts->features[i]);
			return -EINVAL;
		}
	}
	for (unsigned int i = 0; i < opts->nr_features; i++) {
		const struct check_probe *p = find_probe(opts->features[i]);
		int err = cr_check_feature(opts->features[i]);

		if (err) {
			pr_err("feature %s is not supported: %s\n", p->name, p->probe ? strerror(-err) : p->why_not);
			ret = -EOPNOTSUPP;
		} else {
			pr_info("feature %s is supported\n", opts->features[i]);
		}
	}
	if (!ret)
		pr_msg("Looks good.\n");
	return ret;
}

static int check_all(void)
{
	char missing[512] = "";
	size_t used = 0;
	bool required_missing = false;

	for (size_t i = 0; i < NR_PROBES; i++) {
		const struct check_probe *p = &probes[i];
		int err;

		if (!p->probe)
			continue; /* not a kernel question: criu-ng lacks the feature */
		err = p->probe();

		if (!err) {
			pr_info("%s: supported\n", p->name);
			continue;
		}
		if (p->required) {
			pr_err("%s: %s is not available: %s\n", p->name, p->what, strerror(-err));
			required_missing = true;
			continue;
		}
		pr_warn("%s: %s is not available: %s\n", p->name, p->what, strerror(-err));
		if (used < sizeof(missing))
			used += snprintf(missing + used, sizeof(missing) - used, "%s%s", used ? ", " : "", p->name);
	}
	if (required_missing)
		return -EOPNOTSUPP;
	if (used)
		pr_msg("Looks good, but these optional features are missing: %s\n", missing);
	else
		pr_msg("Looks good.\n");
	return 0;
}

int cr_check(const struct criu_ctx *ctx)
{
	if (ctx->opts->nr_features)
		return check_named(ctx->opts);
	return check_all();
}
