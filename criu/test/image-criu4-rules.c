/*
 * test/criu4-check.py, the checks CRIU 4's restore makes on our images
 * (Documentation/image-compat.md), against real dumps: the two checkpoints CRIU 4.2
 * made (test/criu-4.2-images) and a dump criu-ng makes of the same program with 4
 * threads must pass every rule, and so must a dump of a process holding sockets and an
 * epoll (a TCP listener, a UDP socket, a unix socket pair, an epoll watching them, an fd on its network
 * namespace, an eventfd, a timerfd, a signalfd, an inotify watch, a memfd and a flock, dumped with --file-locks),
 * and a process alone in a network namespace of its own, and a parent and its child dumped with
 * --cow-images criu (a default dump of those two, the child's pages left to its parent, must fail
 * PAGEMAP-COW-PARENT);
 * copies of ours, each broken in one way CRIU's restore refuses (root ids,
 * namespace ids, the inventory, the vdso's marks, the signal handlers, the creds,
 * a directory's size, a lazy run, a pipe's queue given twice, an inet socket's
 * protocol, a listener with a peer, a unix socket's peer, an epoll target, a namespace
 * file's namespace, and one break for each rule of those eventfd, timerfd, signalfd, inotify, memfd
 * and file lock entries, a namespace without its loopback link or its addresses), must each fail with that
 * rule's id.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <sched.h>
#include <signal.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "criu-test.h"
#include "image-edit.h"
#include "ids.h"
#include "image.h"
#include "mem.h"
#include "vma.h"

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "file-lock.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "netdev.pb-c.h"
#include "pagemap.pb-c.h"

#define PYTHON3 "/usr/bin/python3"

struct rules_test {
	char top[PATH_MAX];
	char criu[PATH_MAX];
	char tmp[256];
	int failures;
	pid_t pid;    /* the dumped process */
	bool reaped;  /* and it is gone */
	pid_t sk_pid; /* the process holding sockets */
};

/* Runs the checker on @dir; its exit code, and its output in @out (to free). */
static int run_checker(struct rules_test *t, const char *dir, char **out)
{
	char checker[PATH_MAX + 32];
	char *argv[] = { PYTHON3, checker, (char *)dir, NULL };
	struct run_result r;

	snprintf(checker, sizeof(checker), "%s/test/criu4-check.py", t->top);
	if (test_run(&r, t->tmp, NULL, argv, NULL))
		return -1;
	*out = r.out;
	if (r.exit_code > 1)
		fprintf(stderr, "%s", r.err);
	free(r.err);
	return r.exit_code;
}

static void expect_pass(struct rules_test *t, const char *dir)
{
	char *out = NULL;
	int rc = run_checker(t, dir, &out);

	expect(&t->failures, rc == 0, "%s breaks CRIU 4's rules (exit %d):\n%s", dir, rc, out ? out : "");
	free(out);
}

static void expect_rule(struct rules_test *t, const char *what, const char *dir, const char *rule)
{
	char line[64], *out = NULL;
	int rc = run_checker(t, dir, &out);

	snprintf(line, sizeof(line), "FAIL %s ", rule);
	expect(&t->failures, rc == 1 && out && strstr(out, line), "%s: the checker did not report %s (exit %d):\n%s",
	       what, rule, rc, out ? out : "");
	free(out);
}

/* Starts the CRIU 4.2 test program (4 MiB, 4 threads) and dumps it into @img. */
static int dump_hog(struct rules_test *t, const char *img)
{
	char hog[PATH_MAX + 64], pidfile[300], pidstr[32], *s = NULL;
	char *dump[] = { t->criu, "dump", "-t", pidstr, "-D", (char *)img, "-o", "dump.log", "-v4", NULL };
	struct run_result r;
	int status;

	snprintf(hog, sizeof(hog), "%s/test/criu-4.2-images/hog", t->top);
	snprintf(pidfile, sizeof(pidfile), "%s/hog.pid", t->tmp);
	t->pid = fork();
	if (t->pid == 0) {
		execl(hog, hog, "4", "4", pidfile, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !(s = test_read_file(pidfile)); i++)
		usleep(50000);
	if (!s || atoi(s) != t->pid) {
		fprintf(stderr, "hog did not start\n");
		free(s);
		return -1;
	}
	free(s);
	usleep(100000); /* its threads */
	snprintf(pidstr, sizeof(pidstr), "%d", t->pid);
	if (mkdir(img, 0700) || test_run(&r, t->tmp, NULL, dump, NULL))
		return -1;
	expect(&t->failures, r.exit_code == 0, "criu dump of hog exited %d: %s", r.exit_code, r.err);
	test_run_free(&r);
	t->reaped = waitpid(t->pid, &status, 0) == t->pid;
	return 0;
}

/* An eventfd, an armed timerfd, a signalfd, an inotify watch on @dir, a memfd and a flock on @dir/locked. */
static int open_special_files(const char *dir)
{
	struct itimerspec its = { .it_value.tv_sec = 1000, .it_interval.tv_sec = 1000 };
	char path[300];
	sigset_t mask;
	int efd = eventfd(7, 0), tfd = timerfd_create(CLOCK_MONOTONIC, 0), ify = inotify_init1(0), lock, mfd, sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	snprintf(path, sizeof(path), "%s/locked", dir);
	sfd = signalfd(-1, &mask, 0);
	mfd = memfd_create("criu4-rules", 0);
	lock = open(path, O_RDWR | O_CREAT, 0600);
	if (efd < 0 || tfd < 0 || ify < 0 || sfd < 0 || mfd < 0 || lock < 0 || timerfd_settime(tfd, 0, &its, NULL) ||
	    inotify_add_watch(ify, dir, IN_CREATE) < 0 || write(mfd, "criu4", 5) != 5 || flock(lock, LOCK_EX))
		return -1;
	return 0;
}

/* The process with sockets: a TCP listener, a UDP socket, a unix pair, an epoll on the first two. */
static void __attribute__((noreturn)) sockets_main(int ready, const char *dir)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLIN };
	int lsk = socket(AF_INET, SOCK_STREAM, 0), usk = socket(AF_INET, SOCK_DGRAM, 0), pair[2];
	int ep = epoll_create1(0), null = open("/dev/null", O_RDWR), netns = open("/proc/self/ns/net", O_RDONLY);

	if (lsk < 0 || usk < 0 || ep < 0 || null < 0 || netns < 0 || bind(lsk, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lsk, 4) || bind(usk, (struct sockaddr *)&a, sizeof(a)) || socketpair(AF_UNIX, SOCK_STREAM, 0, pair))
		_exit(2);
	ev.data.fd = lsk;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lsk, &ev) || open_special_files(dir))
		_exit(2);
	ev.data.fd = usk;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, usk, &ev) || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
	    setsid() < 0 || write(ready, "R", 1) != 1)
		_exit(2);
	close(ready);
	for (;;)
		pause();
}

/* Starts that process and dumps it into @img. */
static int dump_sockets(struct rules_test *t, const char *img)
{
	char pidstr[32], c;
	char *dump[] = {
		t->criu, "dump", "-t", pidstr, "-D", (char *)img, "-o", "dump.log", "-v4", "--file-locks", NULL
	};
	struct run_result r;
	int ready[2];

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	t->sk_pid = fork();
	if (t->sk_pid == 0) {
		close(ready[0]);
		sockets_main(ready[1], t->tmp);
	}
	close(ready[1]);
	if (t->sk_pid < 0 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	snprintf(pidstr, sizeof(pidstr), "%d", t->sk_pid);
	if (mkdir(img, 0700) || test_run(&r, t->tmp, NULL, dump, NULL))
		return -1;
	expect(&t->failures, r.exit_code == 0, "criu dump of the process with sockets exited %d: %s", r.exit_code,
	       r.err);
	test_run_free(&r);
	return 0;
}

/* A process alone in a network namespace of its own, lo up: tells @ready, then waits. */
static void __attribute__((noreturn)) netns_main(int ready)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int sk;

	if (unshare(CLONE_NEWNET) || (sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    ioctl(sk, SIOCGIFFLAGS, &ifr))
		_exit(2);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sk, SIOCSIFFLAGS, &ifr) || setsid() < 0 || write(ready, "R", 1) != 1)
		_exit(2);
	close(sk);
	close(ready);
	for (;;)
		pause();
}

/* Starts that process (*@pid) and dumps it into @img. */
static int dump_netns(struct rules_test *t, const char *img, pid_t *pid)
{
	char pidstr[32], c;
	char *dump[] = { t->criu, "dump", "-t", pidstr, "-D", (char *)img, "-o", "dump.log", "-v4", NULL };
	struct run_result r;
	int ready[2];

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	*pid = fork();
	if (*pid == 0) {
		close(ready[0]);
		netns_main(ready[1]);
	}
	close(ready[1]);
	if (*pid < 0 || read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	snprintf(pidstr, sizeof(pidstr), "%d", *pid);
	if (mkdir(img, 0700) || test_run(&r, t->tmp, NULL, dump, NULL))
		return -1;
	expect(&t->failures, r.exit_code == 0, "criu dump of the process in its own network namespace exited %d: %s",
	       r.exit_code, r.err);
	test_run_free(&r);
	return 0;
}

/* A parent holding 1 MiB and its child, which changed one page of it: tells @ready, then both wait. */
static void __attribute__((noreturn)) cow_main(int ready)
{
	size_t len = 256 * 4096;
	char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int null = open("/dev/null", O_RDWR);
	pid_t pid;

	if (a == MAP_FAILED || null < 0 || setsid() < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(2);
	memset(a, 0x5a, len);
	pid = fork();
	if (pid == 0)
		a[0] = 1;
	if (pid < 0 || write(ready, "R", 1) != 1)
		_exit(2);
	close(ready);
	for (;;)
		pause();
}

/*
 * Starts that tree (*@pid) and dumps it twice: into @img_criu with --cow-images criu
 * --leave-running, then by default into @img, the child's pages left to the parent.
 */
static int dump_cow_tree(struct rules_test *t, const char *img_criu, const char *img, pid_t *pid)
{
	char pidstr[32], c[2];
	char *dump_criu[] = { t->criu, "dump",	   "-t",	   pidstr, "-D", (char *)img_criu,
			      "-o",    "dump.log", "--cow-images", "criu", "-R", NULL };
	char *dump[] = { t->criu, "dump", "-t", pidstr, "-D", (char *)img, "-o", "dump.log", NULL };
	struct run_result r;
	int ready[2], ok = 0;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	*pid = fork();
	if (*pid == 0) {
		close(ready[0]);
		cow_main(ready[1]);
	}
	close(ready[1]);
	if (*pid < 0 || read(ready[0], &c[0], 1) != 1 || read(ready[0], &c[1], 1) != 1) {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	snprintf(pidstr, sizeof(pidstr), "%d", *pid);
	for (int i = 0; i < 2 && ok == 0; i++) {
		const char *dir = i ? img : img_criu;

		if (mkdir(dir, 0700) || test_run(&r, t->tmp, NULL, i ? dump : dump_criu, NULL))
			return -1;
		expect(&t->failures, r.exit_code == 0, "criu dump of the tree into %s exited %d: %s", dir, r.exit_code,
		       r.err);
		ok = r.exit_code;
		test_run_free(&r);
	}
	return ok ? -1 : 0;
}

/* A copy of @good in @tmp/@name; its path in @out. */
static int broken_copy(struct rules_test *t, const char *good, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", t->tmp, name);
	return test_copy_dir(good, out);
}

/* Rewrites every entry of image (@type, @arg) of @dir through @edit (not for pagemaps: see lazy_run). */
static int rewrite(const char *dir, enum cr_img_type type, unsigned int arg, void (*edit)(void *))
{
	struct cr_img *img;
	void *msg[64];
	size_t n = 0;
	int dirfd, ret;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	ret = img_open(&img, dirfd, IMG_READ, type, arg);
	if (!ret) {
		while (n < 64 && !(ret = img_read_entry(img, &msg[n])) && msg[n])
			n++;
		img_close(img);
	}
	for (size_t i = 0; !ret && i < n; i++)
		edit(msg[i]);
	if (!ret)
		ret = img_open(&img, dirfd, IMG_WRITE, type, arg);
	if (!ret) {
		for (size_t i = 0; !ret && i < n; i++)
			ret = img_write_entry(img, msg[i]);
		ret = img_close(img) ?: ret;
	}
	for (size_t i = 0; i < n; i++)
		img_free_entry(msg[i]);
	close(dirfd);
	return ret;
}

static void root_files_id(void *msg)
{
	((InventoryEntry *)msg)->root_ids->files_id = IDS_FIRST_TASK;
}

static void no_fdinfo_per_id(void *msg)
{
	((InventoryEntry *)msg)->fdinfo_per_id = 0;
}

/* A network namespace of its own whose images the dump lacks. */
static void other_netns(void *msg)
{
	((TaskKobjIdsEntry *)msg)->net_ns_id += 100;
}

/* Any other namespace of its own: CRIU would restore it, and the images hold none. */
static void other_utsns(void *msg)
{
	((TaskKobjIdsEntry *)msg)->uts_ns_id += 100;
}

static void vdso_not_anon(void *msg)
{
	MmEntry *mm = msg;

	for (size_t i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->status & VMA_AREA_VDSO)
			mm->vmas[i]->status &= ~VMA_ANON_PRIVATE;
}

static void few_sigactions(void *msg)
{
	((CoreEntry *)msg)->tc->n_sigactions = 10;
}

static void dir_size(void *msg)
{
	FileEntry *fe = msg;

	if (fe->reg && S_ISDIR(fe->reg->mode))
		fe->reg->has_size = 1, fe->reg->size = 4096;
}

static void no_creds(void *msg)
{
	((CoreEntry *)msg)->thread_core->creds = NULL;
}

static void stream_udp(void *msg)
{
	FileEntry *fe = msg;

	if (fe->isk && fe->isk->type == SOCK_STREAM)
		fe->isk->proto = IPPROTO_UDP;
}

static void listener_peer(void *msg)
{
	FileEntry *fe = msg;

	if (fe->isk && fe->isk->state == 10 /* TCP_LISTEN */)
		fe->isk->dst_port = 80;
}

static void unix_peer_gone(void *msg)
{
	FileEntry *fe = msg;

	if (fe->usk && fe->usk->peer)
		fe->usk->peer = 1;
}

static void nsfile_other_ns(void *msg)
{
	FileEntry *fe = msg;

	if (fe->nsf)
		fe->nsf->ns_id += 100;
}

static void epoll_target_gone(void *msg)
{
	FileEntry *fe = msg;

	if (fe->epfd && fe->epfd->n_tfd)
		fe->epfd->tfd[0]->tfd = 999;
}

static void efd_no_body(void *msg)
{
	FileEntry *fe = msg;

	if (fe->efd)
		fe->efd = NULL;
}

static void efd_big_counter(void *msg)
{
	FileEntry *fe = msg;

	if (fe->efd)
		fe->efd->counter = 1ULL << 33;
}

static void tfd_no_body(void *msg)
{
	FileEntry *fe = msg;

	if (fe->tfd)
		fe->tfd = NULL;
}

static void tfd_cputime_clock(void *msg)
{
	FileEntry *fe = msg;

	if (fe->tfd)
		fe->tfd->clockid = CLOCK_PROCESS_CPUTIME_ID;
}

static void tfd_bad_nsec(void *msg)
{
	FileEntry *fe = msg;

	if (fe->tfd)
		fe->tfd->insec = 1000000000;
}

static void sgfd_no_body(void *msg)
{
	FileEntry *fe = msg;

	if (fe->sgfd)
		fe->sgfd = NULL;
}

static void ify_no_body(void *msg)
{
	FileEntry *fe = msg;

	if (fe->ify)
		fe->ify = NULL;
}

static void ify_zero_wd(void *msg)
{
	FileEntry *fe = msg;

	if (fe->ify && fe->ify->n_wd)
		fe->ify->wd[0]->wd = 0;
}

static void ify_no_events(void *msg)
{
	FileEntry *fe = msg;

	if (fe->ify && fe->ify->n_wd)
		fe->ify->wd[0]->mask &= ~(uint32_t)IN_ALL_EVENTS;
}

static void ify_long_handle(void *msg)
{
	FileEntry *fe = msg;

	if (fe->ify && fe->ify->n_wd)
		fe->ify->wd[0]->f_handle->bytes = 4096;
}

static void memfd_no_body(void *msg)
{
	FileEntry *fe = msg;

	if (fe->memfd)
		fe->memfd = NULL;
}

static void memfd_inode_gone(void *msg)
{
	FileEntry *fe = msg;

	if (fe->memfd)
		fe->memfd->inode_id += 100;
}

static void memfd_long_name(void *msg)
{
	MemfdInodeEntry *mie = msg;
	char *name = malloc(300);

	if (!name)
		return;
	memset(name, 'm', 299);
	name[299] = '\0';
	free(mie->name);
	mie->name = name;
}

/* The kernel's FL_OFDLCK bit where CRIU numbers an OFD lock 4. */
static void lock_kernel_kind(void *msg)
{
	((FileLockEntry *)msg)->flag = 1024;
}

static void lock_bad_type(void *msg)
{
	((FileLockEntry *)msg)->type = 5;
}

static void lock_other_pid(void *msg)
{
	((FileLockEntry *)msg)->pid += 100000;
}

static void lock_other_fd(void *msg)
{
	((FileLockEntry *)msg)->fd = 999;
}

/* Marks the first run of pagemap-@pid.img lazy only: its pages are no longer in the dump. */
static void first_lazy(PagemapEntry *pe, size_t i)
{
	if (!i)
		pe->flags = PE_LAZY;
}

static int lazy_run(const char *dir, pid_t pid)
{
	return test_edit_pagemap(dir, pid, first_lazy);
}

/* A pipes-data.img in @dir giving pipe 7's queue twice. */
static int write_twice_pipes(const char *dir)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/pipes-data.img", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	return test_write_pipe_queue_twice(path);
}

struct broken_case {
	const char *name, *rule;
	enum cr_img_type type;
	bool per_pid;
	void (*edit)(void *);
};

/* Copies of @good (a dump of process @pid), each broken by one of @cases. */
static void check_cases(struct rules_test *t, const char *good, pid_t pid, const struct broken_case *cases, size_t nr)
{
	char dir[PATH_MAX];

	for (size_t i = 0; i < nr; i++) {
		int ret = broken_copy(t, good, cases[i].name, dir, sizeof(dir));

		if (!ret)
			ret = rewrite(dir, cases[i].type, cases[i].per_pid ? (unsigned int)pid : 0, cases[i].edit);
		expect(&t->failures, !ret, "%s: can't make the broken copy: %s", cases[i].name, strerror(-ret));
		if (!ret)
			expect_rule(t, cases[i].name, dir, cases[i].rule);
	}
}

static void check_broken(struct rules_test *t, const char *good)
{
	static const struct broken_case cases[] = {
		{ "root-files", "IDS-ROOT-FILES", CR_IMG_INVENTORY, false, root_files_id },
		{ "fdinfo-per-id", "INV-FDINFO-PER-ID", CR_IMG_INVENTORY, false, no_fdinfo_per_id },
		{ "netns", "NETNS-NETDEV", CR_IMG_IDS, true, other_netns },
		{ "utsns", "IDS-ROOT-NS", CR_IMG_IDS, true, other_utsns },
		{ "vdso-anon", "MM-VDSO-ANON", CR_IMG_MM, true, vdso_not_anon },
		{ "sigactions", "CORE-SIGACTS", CR_IMG_CORE, true, few_sigactions },
		{ "creds", "CORE-CREDS", CR_IMG_CORE, true, no_creds },
		{ "dir-size", "FILES-SIZE", CR_IMG_FILES, false, dir_size },
	};
	char dir[PATH_MAX];

	check_cases(t, good, t->pid, cases, sizeof(cases) / sizeof(cases[0]));
	if (!broken_copy(t, good, "lazy", dir, sizeof(dir)) && !lazy_run(dir, t->pid))
		expect_rule(t, "lazy", dir, "PAGEMAP-PRESENT");
	else
		expect(&t->failures, false, "lazy: can't make the broken copy");
	if (!broken_copy(t, good, "pipe-data-once", dir, sizeof(dir)) && !write_twice_pipes(dir))
		expect_rule(t, "pipe-data-once", dir, "PIPE-DATA-ONCE");
	else
		expect(&t->failures, false, "pipe-data-once: can't make the broken copy");
}

static void check_broken_sockets(struct rules_test *t, const char *good)
{
	static const struct broken_case cases[] = {
		{ "isk-proto", "ISK-PROTO", CR_IMG_FILES, false, stream_udp },
		{ "isk-listen", "ISK-LISTEN", CR_IMG_FILES, false, listener_peer },
		{ "usk-peer", "USK-PEER", CR_IMG_FILES, false, unix_peer_gone },
		{ "epoll-tfd", "EPOLL-TFD", CR_IMG_FILES, false, epoll_target_gone },
		{ "nsfile-ns", "NSFILE-NS", CR_IMG_FILES, false, nsfile_other_ns },
		{ "efd-body", "EFD-BODY", CR_IMG_FILES, false, efd_no_body },
		{ "efd-counter", "EFD-COUNTER", CR_IMG_FILES, false, efd_big_counter },
		{ "tfd-body", "TFD-BODY", CR_IMG_FILES, false, tfd_no_body },
		{ "tfd-clock", "TFD-CLOCK", CR_IMG_FILES, false, tfd_cputime_clock },
		{ "tfd-time", "TFD-TIME", CR_IMG_FILES, false, tfd_bad_nsec },
		{ "sgfd-body", "SGFD-BODY", CR_IMG_FILES, false, sgfd_no_body },
		{ "ify-body", "IFY-BODY", CR_IMG_FILES, false, ify_no_body },
		{ "ify-wd", "IFY-WD", CR_IMG_FILES, false, ify_zero_wd },
		{ "ify-mask", "IFY-MASK", CR_IMG_FILES, false, ify_no_events },
		{ "ify-handle", "IFY-HANDLE", CR_IMG_FILES, false, ify_long_handle },
		{ "memfd-body", "MEMFD-BODY", CR_IMG_FILES, false, memfd_no_body },
		{ "memfd-inode", "MEMFD-INODE", CR_IMG_FILES, false, memfd_inode_gone },
		{ "memfd-name", "MEMFD-NAME", CR_IMG_MEMFD_INODE, false, memfd_long_name },
		{ "flock-kind", "FLOCK-KIND", CR_IMG_FILE_LOCKS, false, lock_kernel_kind },
		{ "flock-type", "FLOCK-TYPE", CR_IMG_FILE_LOCKS, false, lock_bad_type },
		{ "flock-owner", "FLOCK-OWNER", CR_IMG_FILE_LOCKS, false, lock_other_pid },
		{ "flock-fd", "FLOCK-FD", CR_IMG_FILE_LOCKS, false, lock_other_fd },
	};

	check_cases(t, good, t->sk_pid, cases, sizeof(cases) / sizeof(cases[0]));
}

/* The loopback link recorded as a veth: lo would stay down. */
static void lo_not_loopback(void *msg)
{
	NetDeviceEntry *nde = msg;

	if (nde->type == ND_TYPE__LOOPBACK)
		nde->type = ND_TYPE__VETH;
}

/* Copies of the dump of a process in a network namespace of its own, each broken in one way. */
static void check_broken_netns(struct rules_test *t, const char *good)
{
	unsigned int ns_id = ids_own_net_ns_id();
	char dir[PATH_MAX], path[PATH_MAX + 32];
	int ret;

	ret = broken_copy(t, good, "netns-lo", dir, sizeof(dir));
	if (!ret)
		ret = rewrite(dir, CR_IMG_NETDEV, ns_id, lo_not_loopback);
	expect(&t->failures, !ret, "netns-lo: can't make the broken copy: %s", strerror(-ret));
	if (!ret)
		expect_rule(t, "netns-lo", dir, "NETNS-LO");
	ret = broken_copy(t, good, "netns-ifaddr", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/ifaddr-%u.img", dir, ns_id);
	if (!ret && unlink(path))
		ret = -errno;
	expect(&t->failures, !ret, "netns-ifaddr: can't make the broken copy: %s", strerror(-ret));
	if (!ret)
		expect_rule(t, "netns-ifaddr", dir, "NETNS-IFADDR");
}

int main(void)
{
	struct rules_test t = { .failures = 0 };
	char dir[PATH_MAX + 64], img[300];
	pid_t ns_pid = -1, cow_pid = -1;

	if (geteuid()) {
		fprintf(stderr, "image-criu4-rules: SKIP (needs root to dump)\n");
		return TEST_SKIP;
	}
	if (access(PYTHON3, X_OK)) {
		fprintf(stderr, "image-criu4-rules: SKIP (no %s)\n", PYTHON3);
		return TEST_SKIP;
	}
	if (test_criu_bin(t.criu) || !realpath(t.criu, t.top) || test_mkdtemp(t.tmp, sizeof(t.tmp), "criu4-rules")) {
		fprintf(stderr, "image-criu4-rules: no criu binary or no temporary directory\n");
		return TEST_FAIL;
	}
	snprintf(t.criu, sizeof(t.criu), "%s", t.top);
	*strrchr(t.top, '/') = '\0';
	*strrchr(t.top, '/') = '\0';

	snprintf(dir, sizeof(dir), "%s/test/criu-4.2-images/1thread", t.top);
	expect_pass(&t, dir);
	snprintf(dir, sizeof(dir), "%s/test/criu-4.2-images/4threads", t.top);
	expect_pass(&t, dir);

	snprintf(img, sizeof(img), "%s/ours", t.tmp);
	if (dump_hog(&t, img) == 0) {
		expect_pass(&t, img);
		check_broken(&t, img);
	} else {
		expect(&t.failures, false, "can't dump the test program");
	}
	snprintf(img, sizeof(img), "%s/sockets", t.tmp);
	if (dump_sockets(&t, img) == 0) {
		expect_pass(&t, img);
		check_broken_sockets(&t, img);
	} else {
		expect(&t.failures, false, "can't dump the process with sockets");
	}
	snprintf(img, sizeof(img), "%s/own-netns", t.tmp);
	if (dump_netns(&t, img, &ns_pid) == 0) {
		expect_pass(&t, img);
		check_broken_netns(&t, img);
	} else {
		expect(&t.failures, false, "can't dump the process in its own network namespace");
	}
	snprintf(img, sizeof(img), "%s/cow-criu", t.tmp);
	snprintf(dir, sizeof(dir), "%s/cow-dedup", t.tmp);
	if (dump_cow_tree(&t, img, dir, &cow_pid) == 0) {
		expect_pass(&t, img);
		expect_rule(&t, "a child's pages left to its parent", dir, "PAGEMAP-COW-PARENT");
	} else {
		expect(&t.failures, false, "can't dump the parent and its child");
	}
	if (ns_pid > 0) {
		kill(ns_pid, SIGKILL);
		waitpid(ns_pid, NULL, 0);
	}
	if (cow_pid > 0) {
		kill(-cow_pid, SIGKILL); /* its session's group: the child too, when a dump failed */
		waitpid(cow_pid, NULL, 0);
	}
	if (t.pid > 0 && !t.reaped) {
		kill(t.pid, SIGKILL);
		waitpid(t.pid, NULL, 0);
	}
	if (t.sk_pid > 0) {
		kill(t.sk_pid, SIGKILL);
		waitpid(t.sk_pid, NULL, 0);
	}
	if (!t.failures)
		test_rm_rf(t.tmp);
	fprintf(stderr, "image-criu4-rules: %s\n", t.failures ? "FAIL" : "PASS");
	return t.failures ? TEST_FAIL : TEST_PASS;
}
