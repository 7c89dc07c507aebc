/*
 * The network namespace of a process tree that has one of its own: dumped with the tree in
 * CRIU's images and rebuilt as a new namespace on restore (see include/netns.h).
 *
 * Links are read and rebuilt over rtnetlink (libmnl); addresses and routes go through
 * iproute2's "save" and "restore" commands, whose output is what CRIU keeps in ifaddr-ID.img
 * and route-ID.img, and the firewall rules through "nft list ruleset" and "nft -f"
 * (nftables-ID.img), so that the images cross with CRIU's either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "ids.h"
#include "image.h"
#include "netns.h"
#include "sk-tcp.h"

#ifndef MAX_ADDR_LEN
#define MAX_ADDR_LEN 32 /* the kernel's longest link-layer address */
#endif

#define LOG_PREFIX "netns: "
#include "log.h"

extern char **environ;

/* Dump. */

static int read_ruleset(struct netns_dump *n, pid_t pid);

static int ns_stat(pid_t pid, struct stat *st)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/net");
	if (stat(path, st) < 0) {
		pr_perror("Can't stat %s", path);
		return -errno;
	}
	return 0;
}

int netns_dump_enter(struct netns_dump *n, pid_t root)
{
	struct stat ours, theirs;
	char path[64];
	int fd, ret;

	memset(n, 0, sizeof(*n));
	ret = ns_stat(0, &ours);
	ret = ret ?: ns_stat(root, &theirs);
	if (ret)
		return ret;
	n->dev = theirs.st_dev;
	n->ino = theirs.st_ino;
	if (ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", root);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open %s", path);
		return -errno;
	}
	ret = setns(fd, CLONE_NEWNET) < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		pr_err("can't join the network namespace of process %d: %s\n", root, strerror(-ret));
		return ret;
	}
	n->own = true;
	n->id = ids_own_net_ns_id();
	ret = read_ruleset(n, root);
	if (ret)
		return ret;
	pr_info("process %d has a network namespace of its own (inode %lu): dumped as namespace %u\n", root,
		(unsigned long)theirs.st_ino, n->id);
	return 0;
}

int netns_dump_check(const struct netns_dump *n, pid_t pid)
{
	struct stat st;
	int ret = ns_stat(pid, &st);

	if (ret)
		return ret;
	if (st.st_dev == n->dev && st.st_ino == n->ino)
		return 0;
	pr_err("process %d is in a network namespace other than its tree's root: not supported\n", pid);
	return -EOPNOTSUPP;
}

/* One rtnetlink socket, its port id and the next sequence number. */
struct rtnl {
	struct mnl_socket *sk;
	unsigned int portid;
	unsigned int seq;
};

static int rtnl_open(struct rtnl *nl)
{
	nl->sk = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sk) {
		pr_perror("Can't open an rtnetlink socket");
		return -errno;
	}
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		pr_perror("Can't bind an rtnetlink socket");
		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return -errno;
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (unsigned int)time(NULL);
	return 0;
}

static void rtnl_close(struct rtnl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
}

/* Sends @nlh and reads the answers until the ack or the end of the dump; 0 or -errno. */
static int rtnl_talk(struct rtnl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg)
{
	const size_t bufsz = MNL_SOCKET_BUFFER_SIZE * 4;
	char *buf;
	ssize_t len;
	int ret;

	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	buf = malloc(bufsz);
	if (!buf)
		return -ENOMEM;
	do {
		len = mnl_socket_recvfrom(nl->sk, buf, bufsz);
		if (len < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)len, nlh->nlmsg_seq, nl->portid, cb, arg);
		if (ret < 0)
			ret = -errno;
	} while (ret > 0);
	free(buf);
	return ret;
}

/* What dumping the links gathers. */
struct link_list {
	NetDeviceEntry **v;
	size_t nr;
	int err;
	pid_t pid;
};

/* The fallback tunnels the kernel makes in every new namespace (when their module is loaded). */
static bool is_fallback_tunnel(const char *kind, const char *name)
{
	static const char *const fb[][2] = {
		{ "ipip", "tunl0" },	 { "sit", "sit0" },
		{ "ip6tnl", "ip6tnl0" }, { "gre", "gre0" },
		{ "gretap", "gretap0" }, { "erspan", "erspan0" },
		{ "ip6gre", "ip6gre0" }, { "vti", "ip_vti0" },
		{ "vti6", "ip6_vti0" },	 { "ip6erspan", "ip6erspan0" },
	};

	for (size_t i = 0; kind && i < sizeof(fb) / sizeof(fb[0]); i++)
		if (!strcmp(kind, fb[i][0]) && !strcmp(name, fb[i][1]))
			return true;
	return false;
}

/* Where mnl_attr_parse() puts the attributes it meets: tb[type], for types up to max. */
struct attr_table {
	const struct nlattr **tb;
	uint16_t max;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct attr_table *t = data;

	if (mnl_attr_type_valid(a, t->max) > 0)
		t->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void netdev_free(NetDeviceEntry *nde)
{
	if (!nde)
		return;
	free(nde->name);
	free(nde->address.data);
	free(nde);
}

/* One link of the namespace, as its entry, or refused. */
static int link_entry(const struct ifinfomsg *ifi, const struct nlattr **tb, pid_t pid, NetDeviceEntry **out)
{
	const struct nlattr *info[IFLA_INFO_MAX + 1] = { NULL };
	const char *name, *kind = NULL;
	NetDeviceEntry *nde;

	*out = NULL;
	if (!tb[IFLA_IFNAME] || !tb[IFLA_MTU]) {
		pr_err("link %d of the network namespace has no name or mtu\n", ifi->ifi_index);
		return -EINVAL;
	}
	name = mnl_attr_get_str(tb[IFLA_IFNAME]);
	if (tb[IFLA_LINKINFO] &&
	    mnl_attr_parse_nested(tb[IFLA_LINKINFO], attr_cb, &(struct attr_table){ info, IFLA_INFO_MAX }) >= 0 &&
	    info[IFLA_INFO_KIND])
		kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
	if (is_fallback_tunnel(kind, name)) {
		pr_info("link %s (%s) is made by the kernel in every namespace: left out\n", name, kind);
		return 0;
	}
	nde = calloc(1, sizeof(*nde));
	if (!nde)
		return -ENOMEM;
	net_device_entry__init(nde);
	nde->ifindex = (uint32_t)ifi->ifi_index;
	nde->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	nde->flags = ifi->ifi_flags;
	nde->name = strdup(name);
	if (!nde->name)
		goto out_nomem;
	if (ifi->ifi_type == ARPHRD_LOOPBACK) {
		nde->type = ND_TYPE__LOOPBACK;
	} else if (kind && !strcmp(kind, "veth") && tb[IFLA_LINK] && tb[IFLA_LINK_NETNSID]) {
		/* Its peer is in another namespace (criu's, as the restore makes it): only this end is ours. */
		nde->type = ND_TYPE__VETH;
		nde->has_peer_ifindex = 1;
		nde->peer_ifindex = mnl_attr_get_u32(tb[IFLA_LINK]);
	} else {
		pr_err("link %s (index %d, kind %s) of the network namespace of process %d: not supported (only "
		       "lo, and veth links whose peer is in another namespace)\n",
		       name, ifi->ifi_index, kind ?: "none", pid);
		netdev_free(nde);
		return -EOPNOTSUPP;
	}
	if (tb[IFLA_MASTER]) {
		pr_err("link %s of the network namespace of process %d is enslaved to link %u: not supported\n", name,
		       pid, mnl_attr_get_u32(tb[IFLA_MASTER]));
		netdev_free(nde);
		return -EOPNOTSUPP;
	}
	if (tb[IFLA_ADDRESS] && nde->type != ND_TYPE__LOOPBACK) {
		nde->address.len = mnl_attr_get_payload_len(tb[IFLA_ADDRESS]);
		nde->address.data = malloc(nde->address.len ?: 1);
		if (!nde->address.data)
			goto out_nomem;
		memcpy(nde->address.data, mnl_attr_get_payload(tb[IFLA_ADDRESS]), nde->address.len);
		nde->has_address = 1;
	}
	*out = nde;
	return 0;
out_nomem:
	netdev_free(nde);
	return -ENOMEM;
}

static int link_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_list *l = arg;
	NetDeviceEntry *nde, **v;

	if (l->err)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &(struct attr_table){ tb, IFLA_MAX });
	l->err = link_entry(ifi, tb, l->pid, &nde);
	if (l->err || !nde)
		return MNL_CB_OK;
	v = realloc(l->v, (l->nr + 1) * sizeof(*v));
	if (!v) {
		netdev_free(nde);
		l->err = -ENOMEM;
		return MNL_CB_OK;
	}
	l->v = v;
	l->v[l->nr++] = nde;
	return MNL_CB_OK;
}

static void links_free(NetDeviceEntry **v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		netdev_free(v[i]);
	free(v);
}

/* A link request of @type with @flags for link @ifindex (0: none) in @buf; *@ifi, if asked, its ifinfomsg. */
static struct nlmsghdr *link_msg(char *buf, uint16_t type, uint16_t flags, int ifindex, struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *i = mnl_nlmsg_put_extra_header(nlh, sizeof(*i));

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	i->ifi_family = AF_UNSPEC;
	i->ifi_index = ifindex;
	if (ifi)
		*ifi = i;
	return nlh;
}

static int links_read(struct link_list *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0, NULL);
	struct rtnl nl;
	int ret;

	ret = rtnl_open(&nl);
	if (ret)
		return ret;
	ret = rtnl_talk(&nl, nlh, link_cb, l);
	rtnl_close(&nl);
	if (ret)
		pr_err("can't list the links of the network namespace: %s\n", strerror(-ret));
	return ret ?: l->err;
}

/* Tool @name: $@env if set (CR_IP_TOOL, as with CRIU), else where Debian puts it, else @name. */
static const char *find_tool(const char *env, const char *name, char *path, size_t size)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	const char *e = env ? getenv(env) : NULL;

	if (e && *e)
		return e;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, size, "%s/%s", dirs[i], name);
		if (!access(path, X_OK))
			return path;
	}
	return name;
}

int netns_can_keep_rules(void)
{
	char path[64];
	const char *nft = find_tool(NULL, "nft", path, sizeof(path));

	return access(nft, X_OK) ? -errno : 0;
}

/* The last lines a failed tool wrote to @fd (a memfd), into the log. */
static void log_tool_output(int fd, const char *what)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		pr_err("%s said: %s\n", what, line);
}

/*
 * Runs "@name @args..." (@prog: its path) in the calling thread's namespace, stdin from @in and
 * stdout to @out (-1: /dev/null). What it writes on stderr is logged only when it fails ("ip
 * addr restore" reports the addresses the kernel already made, lo's, without failing).
 */
static int run_tool(const char *prog, const char *name, const char *const args[], int in, int out)
{
	char *argv[8] = { (char *)name };
	posix_spawn_file_actions_t fa;
	char what[128];
	int err, null, status, ret;
	pid_t pid;

	snprintf(what, sizeof(what), "%s", name);
	for (size_t i = 0; args[i] && i + 2 < sizeof(argv) / sizeof(argv[0]); i++) {
		argv[i + 1] = (char *)args[i];
		strncat(what, " ", sizeof(what) - strlen(what) - 1);
		strncat(what, args[i], sizeof(what) - strlen(what) - 1);
	}
	err = memfd_create("criu-ip-stderr", MFD_CLOEXEC);
	if (err < 0)
		return -errno;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0) {
		ret = -errno;
		goto out_close_err;
	}
	ret = -posix_spawn_file_actions_init(&fa);
	if (ret)
		goto out_close_null;
	ret = -posix_spawn_file_actions_adddup2(&fa, in >= 0 ? in : null, 0);
	ret = ret ?: -posix_spawn_file_actions_adddup2(&fa, out >= 0 ? out : null, 1);
	ret = ret ?: -posix_spawn_file_actions_adddup2(&fa, err, 2);
	ret = ret ?: -posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (!ret)
		ret = -posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret) {
		pr_err("can't run %s: %s\n", what, strerror(-ret));
		goto out_close_null;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			ret = -errno;
			pr_perror("Can't wait for %s", what);
			goto out_close_null;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		pr_err("%s failed (status %#x)\n", what, status);
		log_tool_output(err, what);
		ret = -EIO;
	} else {
		pr_debug("%s done\n", what);
	}
out_close_null:
	close(null);
out_close_err:
	close(err);
	return ret;
}

static int run_ip(const char *const args[], int in, int out)
{
	char path[64];

	return run_tool(find_tool("CR_IP_TOOL", "ip", path, sizeof(path)), "ip", args, in, out);
}

/*
 * The namespace's firewall rules, as "nft list ruleset" prints them (iptables rules too, with
 * Debian's nft-based iptables), read before the dump's own lock exists: kept in a memfd until
 * netns_dump_write() puts them in nftables-ID.img, as CRIU does. Without nft they can't be read.
 */
static int read_ruleset(struct netns_dump *n, pid_t pid)
{
	static const char *const args[] = { "list", "ruleset", NULL };
	char path[64];
	const char *nft = find_tool(NULL, "nft", path, sizeof(path));
	struct stat st;
	int out, ret;

	if (access(nft, X_OK)) {
		pr_warn("no nft tool: the firewall rules of the network namespace of process %d, if any, are not "
			"dumped\n",
			pid);
		return 0;
	}
	out = memfd_create("criu-nft-ruleset", MFD_CLOEXEC);
	if (out < 0)
		return -errno;
	ret = run_tool(nft, "nft", args, -1, out);
	if (!ret && fstat(out, &st) < 0)
		ret = -errno;
	if (ret || !st.st_size) {
		close(out);
		return ret;
	}
	n->ruleset_fd = out;
	n->has_ruleset = true;
	pr_info("the network namespace of process %d has firewall rules (%lld bytes of nft ruleset)\n", pid,
		(long long)st.st_size);
	return 0;
}

void netns_dump_fini(struct netns_dump *n)
{
	if (n->has_ruleset)
		close(n->ruleset_fd);
	n->has_ruleset = false;
}

/* nftables-ID.img: the ruleset read before the lock, copied whole. */
static int dump_ruleset(const struct netns_dump *n, int dirfd)
{
	struct cr_img *img;
	char buf[65536];
	ssize_t len;
	off_t off = 0;
	int ret, cret;

	if (!n->has_ruleset)
		return 0;
	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_NFTABLES, n->id);
	if (ret)
		return ret;
	while (!ret && (len = pread(n->ruleset_fd, buf, sizeof(buf), off)) > 0) {
		ret = img_write_raw(img, buf, (size_t)len);
		off += len;
	}
	if (!ret && len < 0)
		ret = -errno;
	cret = img_close(img);
	return ret ?: cret;
}

/* One raw image of @type holding what "ip @args" writes. */
static int dump_ip_save(int dirfd, enum cr_img_type type, uint32_t id, const char *const args[])
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, type, id);
	if (ret)
		return ret;
	ret = run_ip(args, -1, img_raw_fd(img));
	cret = img_close(img);
	return ret ?: cret;
}

static int write_entries(int dirfd, enum cr_img_type type, uint32_t id, void *const *v, size_t nr)
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, type, id);
	for (size_t i = 0; !ret && i < nr; i++)
		ret = img_write_entry(img, v[i]);
	cret = img_close(img);
	return ret ?: cret;
}

int netns_dump_write(const struct netns_dump *n, int dirfd, pid_t root)
{
	static const char *const addr[] = { "addr", "save", NULL };
	static const char *const route4[] = { "-4", "route", "save", NULL };
	static const char *const route6[] = { "-6", "route", "save", NULL };
	struct link_list l = { .pid = root };
	NetnsEntry ne = NETNS_ENTRY__INIT;
	NetnsEntry *nev[] = { &ne };
	int ret;

	if (!n->own)
		return 0;
	ret = links_read(&l);
	if (!ret)
		ret = write_entries(dirfd, CR_IMG_NETDEV, n->id, (void *const *)l.v, l.nr);
	if (!ret)
		ret = write_entries(dirfd, CR_IMG_NETNS, n->id, (void *const *)nev, 1);
	if (!ret)
		ret = dump_ip_save(dirfd, CR_IMG_IFADDR, n->id, addr);
	if (!ret)
		ret = dump_ip_save(dirfd, CR_IMG_ROUTE, n->id, route4);
	if (!ret && !access("/proc/sys/net/ipv6", F_OK))
		ret = dump_ip_save(dirfd, CR_IMG_ROUTE6, n->id, route6);
	if (!ret)
		ret = dump_ruleset(n, dirfd);
	if (!ret)
		pr_info("network namespace %u: %zu link(s), addresses, routes%s written\n", n->id, l.nr,
			n->has_ruleset ? " and firewall rules" : "");
	links_free(l.v, l.nr);
	return ret;
}

/* Restore. */

/* The --external veth[IN]:... for link @name, or NULL. */
static const struct opt_veth *veth_map(const struct criu_opts *opts, const char *name)
{
	for (unsigned int i = 0; i < opts->nr_veths; i++)
		if (!strcmp(opts->veths[i].in, name))
			return &opts->veths[i];
	return NULL;
}

int netns_restore_load(struct netns_restore *r, int dirfd, uint32_t id, const struct criu_opts *opts)
{
	struct cr_img *img;
	void *msg;
	int ret;

	memset(r, 0, sizeof(*r));
	r->criu_ns = -1;
	r->own_ns = -1;
	r->id = id;
	if (!id)
		return 0;
	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_NETDEV, id);
	if (ret)
		return ret;
	for (;;) {
		NetDeviceEntry **v;

		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		v = realloc(r->links, (r->nr_links + 1) * sizeof(*v));
		if (!v) {
			img_free_entry(msg);
			ret = -ENOMEM;
			break;
		}
		r->links = v;
		r->links[r->nr_links++] = msg;
	}
	for (size_t i = 0; !ret && i < r->nr_links; i++) {
		const NetDeviceEntry *nde = r->links[i];

		if (!*nde->name || strlen(nde->name) >= IFNAMSIZ || strchr(nde->name, '/')) {
			pr_err("%s: link name '%s' is not a link's name\n", img_name(img), nde->name);
			ret = -EINVAL;
		} else if (nde->has_address && nde->address.len > MAX_ADDR_LEN) {
			pr_err("%s: link %s has an address of %zu bytes\n", img_name(img), nde->name, nde->address.len);
			ret = -EINVAL;
		} else if (nde->type != ND_TYPE__LOOPBACK && nde->type != ND_TYPE__VETH) {
			pr_err("%s: link %s is of type %d: only lo and veth links are supported\n", img_name(img),
			       nde->name, nde->type);
			ret = -EOPNOTSUPP;
		} else if (nde->type == ND_TYPE__VETH && !veth_map(opts, nde->name)) {
			pr_info("%s: veth %s has no --external veth[%s]:NAME: its outer end gets a name of the kernel's\n",
				img_name(img), nde->name, nde->name);
		}
	}
	img_close(img);
	r->made = calloc(r->nr_links ?: 1, sizeof(*r->made));
	if (!ret && !r->made)
		ret = -ENOMEM;
	return ret;
}

/* Sends one request that needs only an ack. */
static int rtnl_do(struct nlmsghdr *nlh)
{
	struct rtnl nl;
	int ret = rtnl_open(&nl);

	if (ret)
		return ret;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	ret = rtnl_talk(&nl, nlh, NULL, NULL);
	rtnl_close(&nl);
	return ret;
}

/* The flags a link gets back with RTM_NEWLINK (the rest are the kernel's to tell). */
#define LINK_FLAGS (IFF_UP | IFF_NOARP | IFF_MULTICAST | IFF_ALLMULTI)

/* A link of the new namespace, found by its name: its flags and mtu. */
static int link_set(const NetDeviceEntry *nde)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, 0, &ifi);
	int ret;

	ifi->ifi_flags = nde->flags & LINK_FLAGS;
	ifi->ifi_change = LINK_FLAGS;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, nde->name);
	mnl_attr_put_u32(nlh, IFLA_MTU, nde->mtu);
	ret = rtnl_do(nlh);
	if (ret)
		pr_err("can't set up link %s: %s\n", nde->name, strerror(-ret));
	return ret;
}

/* What RTM_GETLINK says of one link: the index of its peer. */
static int peer_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	uint32_t *peer = arg;

	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), attr_cb, &(struct attr_table){ tb, IFLA_MAX });
	if (tb[IFLA_LINK])
		*peer = mnl_attr_get_u32(tb[IFLA_LINK]);
	return MNL_CB_OK;
}

/* The index (in criu's namespace) of the peer of veth @ifindex of the new namespace. */
static int veth_peer(int ifindex, uint32_t *peer)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	/* The answer, then the ack that ends the read. */
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, ifindex, NULL);
	struct rtnl nl;
	int ret;

	*peer = 0;
	ret = rtnl_open(&nl);
	if (ret)
		return ret;
	ret = rtnl_talk(&nl, nlh, peer_cb, peer);
	rtnl_close(&nl);
	return ret ?: (*peer ? 0 : -ENOENT);
}

/* An rtnetlink socket in criu's namespace, and there the index of @bridge ("": none, 0). */
static int rtnl_open_criu_ns(const struct netns_restore *r, struct rtnl *nl, const char *bridge, uint32_t *br)
{
	int ret, back;

	*br = 0;
	if (setns(r->criu_ns, CLONE_NEWNET) < 0) {
		pr_perror("Can't go back to criu's network namespace");
		return -errno;
	}
	ret = rtnl_open(nl);
	if (!ret && *bridge) {
		*br = if_nametoindex(bridge);
		if (!*br) {
			ret = -errno;
			pr_err("no bridge %s in criu's network namespace: %s\n", bridge, strerror(-ret));
		}
	}
	back = setns(r->own_ns, CLONE_NEWNET) < 0 ? -errno : 0;
	if (back)
		pr_perror("Can't go back to the new network namespace");
	ret = ret ?: back;
	if (ret)
		rtnl_close(nl);
	return ret;
}

/* The outer end @peer of a veth, in criu's namespace: up, and a port of @bridge if one is given. */
static int veth_outer_up(const struct netns_restore *r, uint32_t peer, const char *bridge)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, (int)peer, &ifi);
	struct rtnl nl;
	uint32_t br;
	int ret;

	ret = rtnl_open_criu_ns(r, &nl, bridge, &br);
	if (ret)
		return ret;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (br)
		mnl_attr_put_u32(nlh, IFLA_MASTER, br);
	ret = rtnl_talk(&nl, nlh, NULL, NULL);
	rtnl_close(&nl);
	if (ret)
		pr_err("can't bring up the outer end (index %u) of a veth%s%s: %s\n", peer,
		       *bridge ? " in bridge " : "", bridge, strerror(-ret));
	return ret;
}

/*
 * Veth @nde: its end in the new namespace with the dumped name, index, address and mtu, its
 * peer in criu's namespace named as @map says (or by the kernel), then the peer brought up.
 */
static int restore_veth(struct netns_restore *r, size_t i, const struct opt_veth *map)
{
	const NetDeviceEntry *nde = r->links[i];
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, (int)nde->ifindex, NULL);
	struct nlattr *info, *data, *peer_nest;
	struct ifinfomsg *peer_ifi;
	uint32_t peer;
	int ret;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, nde->name);
	mnl_attr_put_u32(nlh, IFLA_MTU, nde->mtu);
	if (nde->has_address)
		mnl_attr_put(nlh, IFLA_ADDRESS, nde->address.len, nde->address.data);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's own ifinfomsg heads the attribute, then its attributes. */
	peer_ifi = (struct ifinfomsg *)((char *)nlh + nlh->nlmsg_len);
	memset(peer_ifi, 0, MNL_ALIGN(sizeof(*peer_ifi)));
	peer_ifi->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*peer_ifi));
	if (map)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, map->out);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)r->criu_ns);
	mnl_attr_put_u32(nlh, IFLA_MTU, nde->mtu);
	mnl_attr_nest_end(nlh, peer_nest);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	ret = rtnl_do(nlh);
	if (ret) {
		pr_err("can't make veth %s%s%s: %s\n", nde->name, map ? " with its outer end " : "",
		       map ? map->out : "", strerror(-ret));
		return ret;
	}
	r->made[i] = true;
	ret = veth_peer((int)nde->ifindex, &peer);
	if (ret)
		pr_err("can't find the outer end of veth %s: %s\n", nde->name, strerror(-ret));
	ret = ret ?: veth_outer_up(r, peer, map ? map->bridge : "");
	if (!ret)
		pr_info("veth %s made, its outer end %s (index %u)%s%s\n", nde->name,
			map ? map->out : "(named by the kernel)", peer, map && *map->bridge ? " in bridge " : "",
			map ? map->bridge : "");
	return ret;
}

/* Removes veth @nde of the new namespace (the calling thread's), and with it its outer end. */
static void veth_delete(const NetDeviceEntry *nde)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, 0, (int)nde->ifindex, NULL);
	int ret;

	ret = rtnl_do(nlh);
	if (ret)
		pr_err("can't remove veth %s (its outer end may stay in criu's namespace): %s\n", nde->name,
		       strerror(-ret));
	else
		pr_info("veth %s and its outer end removed\n", nde->name);
}

/* "ip @args" fed with the raw image @type, if the dump wrote one (CRIU takes a missing one as empty). */
/*
 * A copy of route image @fd in a memfd, every route's rtm_flags without RTNH_F_DEAD and
 * RTNH_F_LINKDOWN: the kernel reports them on a route whose link was down at dump time but
 * refuses them in a request. The image itself stays as iproute2 wrote it. Its layout: a u32
 * magic, then rtnetlink messages. Returns the memfd or -errno.
 */
static int route_copy(int fd, const char *name)
{
	struct stat st;
	char *buf;
	int out, ret = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		pr_err("%s: can't read it whole\n", name);
		free(buf);
		return -EIO;
	}
	for (size_t off = sizeof(uint32_t); off + sizeof(struct nlmsghdr) <= (size_t)st.st_size;) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)(buf + off);

		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)) || off + nlh->nlmsg_len > (size_t)st.st_size) {
			pr_err("%s: a message of %u bytes at offset %zu runs past its end\n", name, nlh->nlmsg_len,
			       off);
			ret = -EINVAL;
			break;
		}
		((struct rtmsg *)NLMSG_DATA(nlh))->rtm_flags &= ~(unsigned int)(RTNH_F_DEAD | RTNH_F_LINKDOWN);
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	out = ret ? -1 : memfd_create("criu-routes", MFD_CLOEXEC);
	if (!ret && out < 0)
		ret = -errno;
	if (!ret && pwrite(out, buf, (size_t)st.st_size, 0) != st.st_size)
		ret = -EIO;
	free(buf);
	if (ret) {
		if (out >= 0)
			close(out);
		return ret;
	}
	return out;
}

static int restore_ip(int dirfd, enum cr_img_type type, uint32_t id, const char *const args[])
{
	struct cr_img *img;
	int ret, cret, in;

	ret = img_open(&img, dirfd, IMG_READ_OPTIONAL, type, id);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	in = type == CR_IMG_IFADDR ? img_raw_fd(img) : route_copy(img_raw_fd(img), img_name(img));
	ret = in < 0 ? in : run_ip(args, in, -1);
	if (in >= 0 && in != img_raw_fd(img))
		close(in);
	if (ret)
		pr_err("can't restore %s\n", img_name(img));
	cret = img_close(img);
	return ret ?: cret;
}

/* nftables-ID.img, if the dump wrote one, fed to "nft -f /dev/stdin" in the new namespace. */
static int restore_ruleset(int dirfd, uint32_t id)
{
	static const char *const args[] = { "-f", "/dev/stdin", NULL };
	char path[64];
	const char *nft = find_tool(NULL, "nft", path, sizeof(path));
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_READ_OPTIONAL, CR_IMG_NFTABLES, id);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (access(nft, X_OK)) {
		pr_err("%s holds firewall rules and there is no nft tool to restore them\n", img_name(img));
		ret = -ENOENT;
	} else {
		ret = run_tool(nft, "nft", args, img_raw_fd(img), -1);
		if (ret)
			pr_err("can't restore %s\n", img_name(img));
	}
	cret = img_close(img);
	return ret ?: cret;
}

/* The lock of the whole new namespace, named as the dump's. */
static int lock_ns(struct netns_restore *r, enum netlock_mode mode, pid_t lock_id)
{
	int ret;

	sk_tcp_lock_setup(&r->lock, r->lock_id, lock_id, mode);
	if (mode == NETLOCK_SKIP)
		return 0;
	ret = netlock_lock_netns(&r->lock);
	if (ret) {
		pr_err("can't lock the new network namespace: %s\n", strerror(-ret));
		return ret;
	}
	r->locked = true;
	pr_info("the new network namespace is locked (lock %s)\n", r->lock_id);
	return 0;
}

int netns_restore_create(struct netns_restore *r, int dirfd, const struct criu_opts *opts, enum netlock_mode mode,
			 pid_t lock_id)
{
	static const char *const addr[] = { "addr", "restore", NULL };
	static const char *const route[] = { "route", "restore", NULL };
	int ret = 0;

	if (!r->id)
		return 0;
	r->criu_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (r->criu_ns < 0) {
		pr_perror("Can't open criu's network namespace");
		return -errno;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		pr_perror("Can't make a network namespace");
		return -errno;
	}
	r->own_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (r->own_ns < 0) {
		pr_perror("Can't open the new network namespace");
		return -errno;
	}
	pr_info("made a network namespace for namespace %u\n", r->id);
	/* The rules first, so that the lock's own tables or chains don't meet them; nothing can arrive yet. */
	ret = restore_ruleset(dirfd, r->id);
	ret = ret ?: lock_ns(r, mode, lock_id);
	for (size_t i = 0; !ret && i < r->nr_links; i++) {
		if (r->links[i]->type == ND_TYPE__VETH)
			ret = restore_veth(r, i, veth_map(opts, r->links[i]->name));
		ret = ret ?: link_set(r->links[i]);
	}
	if (!ret)
		ret = restore_ip(dirfd, CR_IMG_IFADDR, r->id, addr);
	if (!ret)
		ret = restore_ip(dirfd, CR_IMG_ROUTE, r->id, route);
	if (!ret)
		ret = restore_ip(dirfd, CR_IMG_ROUTE6, r->id, route);
	if (!ret)
		pr_info("network namespace %u rebuilt: %zu link(s), addresses and routes\n", r->id, r->nr_links);
	return ret;
}

int netns_restore_unlock(struct netns_restore *r)
{
	int ret;

	if (!r->locked)
		return 0;
	/* The connections' lock has the same name: lifted with them already, if there were any. */
	ret = netlock_is_locked(&r->lock);
	if (ret > 0)
		ret = netlock_unlock(&r->lock);
	if (ret == -ENOENT)
		ret = 0;
	if (ret)
		pr_err("can't lift the lock of the network namespace: %s\n", strerror(-ret));
	else
		r->locked = false;
	return ret;
}

void netns_restore_fini(struct netns_restore *r, bool failed)
{
	for (size_t i = 0; i < r->nr_links; i++) {
		if (failed && r->made && r->made[i])
			veth_delete(r->links[i]);
		img_free_entry(r->links[i]);
	}
	free(r->links);
	free(r->made);
	if (r->criu_ns >= 0)
		close(r->criu_ns);
	if (r->own_ns >= 0)
		close(r->own_ns);
	memset(r, 0, sizeof(*r));
	r->criu_ns = -1;
	r->own_ns = -1;
}
