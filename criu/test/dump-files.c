/*
 * criu dump --leave-running of a child holding open files: a regular file at an
 * offset whose description is shared by two fds, the same file again with
 * O_CLOEXEC at another offset, a file opened O_APPEND, /dev/null (stdio, one
 * description for fds 0-2, and a second one write-only), /dev/urandom, an
 * unlinked file with known contents, and an O_PATH fd on a directory; the
 * O_APPEND one has an owner (F_SETOWN) and a signal (F_SETSIG). crit
 * decodes fdinfo-FILES_ID.img (named after ids-PID.img's files_id), files.img,
 * remap-fpath.img and the ghost file; every fd, flag, offset, path and id is checked, each shared
 * description appears once, the ghost's contents are byte-exact; the child
 * still has the same fds and offsets afterwards. A child also holding a pipe in
 * packet mode (O_DIRECT), a netlink socket with a reply queued, a pidfd or an unlinked file over the ghost
 * file limit (1 MiB) is refused with an error naming the fd and its kind, and runs on intact.
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include <linux/netlink.h>

#include "dump-test.h"

#define DATA_SIZE 8192
#define APPEND_SIZE 300
#define APPEND_WRITE 5
#define GHOST_SIZE 5000
#define DATA_POS 1234
#define CLOEXEC_POS 77
#define GHOST_POS 100
#define BIG_GHOST_SIZE (2 << 20) /* over the 1 MiB ghost file limit */
#define OWNER_SIG SIGURG	 /* F_SETSIG of fd 11 */
#define EXTRA_FD 30		 /* where the child keeps the fd of a kind a dump refuses */
#define READY_FD 100		 /* where the child keeps its end of the ready pipe while setting up */
#define MAX_FDS 16

enum kind {
	K_NULL,
	K_DATA,
	K_APPEND,
	K_URANDOM,
	K_GHOST,
	K_DIR
};

/* An fd of a kind not supported, held at EXTRA_FD, with the words of the error and the start of its /proc link. */
struct extra_kind {
	const char *name;
	const char *msg;
	const char *link;
};

static const struct extra_kind extras[] = {
	{ "packet-pipe", "is a pipe in packet mode (O_DIRECT)", "pipe:" },
	{ "socket", "is a netlink socket (", "socket:" },
	{ "pidfd", "is an anonymous inode file", "anon_inode:[pidfd]" },
	{ "big-ghost", "is the unlinked file", "/" }, /* larger than the ghost file limit */
};

/* One fd of the child and what the images must say of it. */
struct fd_spec {
	int fd;
	enum kind kind;
	uint64_t pos;
	bool cloexec;
	int shares; /* the fd whose description it shares, or -1 */
};

static const struct fd_spec specs[] = {
	{ 0, K_NULL, 0, false, -1 },
	{ 1, K_NULL, 0, false, 0 },
	{ 2, K_NULL, 0, false, 0 },
	{ 10, K_DATA, DATA_POS, false, -1 },
	{ 11, K_APPEND, APPEND_SIZE + APPEND_WRITE, false, -1 },
	{ 12, K_DATA, CLOEXEC_POS, true, -1 },
	{ 13, K_NULL, 0, false, -1 },
	{ 14, K_URANDOM, 0, false, -1 },
	{ 15, K_GHOST, GHOST_POS, false, -1 },
	{ 16, K_DIR, 0, true, -1 },
	{ 20, K_DATA, DATA_POS, false, 10 },
};

#define NR_SPECS (sizeof(specs) / sizeof(specs[0]))

/* Prints the facts the test checks, one a line, from the images decoded by crit. */
static const char decode_py[] =
	"import base64, json, os, subprocess, sys\n"
	"d, pid = sys.argv[1], sys.argv[2]\n"
	"def dec(name):\n"
	"    out = subprocess.run([sys.executable, '" CRIT "', 'decode', '-i', os.path.join(d, name)],\n"
	"                         capture_output=True, text=True)\n"
	"    if out.returncode:\n"
	"        print('undecodable', name, out.stderr.strip().replace('\\n', ' '))\n"
	"        return []\n"
	"    return json.loads(out.stdout)['entries']\n"
	"fid = dec('ids-%s.img' % pid)[0]['files_id']\n"
	"print('ids', fid)\n"
	"for e in dec('fdinfo-%d.img' % fid):\n"
	"    print('fd', e['fd'], e['id'], e['flags'], e['type'])\n"
	"for e in dec('files.img'):\n"
	"    r = e.get('reg')\n"
	"    if r:\n"
	"        print('reg', e['id'], e['type'], r['id'], r['flags'], r['pos'], r.get('size', -1), r.get('mode', 0),\n"
	"              r['name'])\n"
	"        print('fown', e['id'], r['fown']['pid'], r['fown']['signum'], r['fown']['pid_type'])\n"
	"    else:\n"
	"        print('other', e['id'], e['type'])\n"
	"if os.path.exists(os.path.join(d, 'remap-fpath.img')):\n"
	"    for e in dec('remap-fpath.img'):\n"
	"        print('remap', e['orig_id'], e['remap_id'], e.get('remap_type', 'LINKED'))\n"
	"        g = dec('ghost-file-%x.img' % e['remap_id'])[0]\n"
	"        data = base64.b64decode(g.get('extra', ''))\n"
	"        print('ghost', e['remap_id'], g['mode'], g.get('size', -1), len(data), data.hex())\n";

struct files_test {
	char tmp[256];
	char dir[512];
	char data[512], append[512], ghost[512];
	char fifo[512];
	int failures;
	pid_t pid;
	int result_fd;
	uint32_t flags[MAX_FDS]; /* F_GETFL of each spec's fd, as the child saw it */
	/* decoded */
	unsigned int files_id;
	int fd_id[MAX_FDS];
	bool fd_seen[MAX_FDS];
	bool reg_seen[MAX_FDS]; /* the fd's file has its REG entry */
	unsigned int nr_fdinfo;
	char *ghost_hex;
};

static void fill_ghost(unsigned char *buf)
{
	for (size_t i = 0; i < GHOST_SIZE; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
}

static int spec_index(int fd)
{
	for (size_t i = 0; i < NR_SPECS; i++)
		if (specs[i].fd == fd)
			return (int)i;
	return -1;
}

/* Opens @path with @flags at fd @at (with O_CLOEXEC if @cloexec). */
static void child_open_at(const char *path, int flags, int at, bool cloexec)
{
	int fd = open(path, flags);

	if (fd < 0 || dup3(fd, at, cloexec ? O_CLOEXEC : 0) < 0)
		_exit(2);
	close(fd);
}

/* True when every fd is where it was: offsets, close-on-exec, shared descriptions, the ghost's contents. */
static bool child_fds_intact(void)
{
	unsigned char expect_buf[GHOST_SIZE], got[GHOST_SIZE];
	pid_t self = getpid();

	for (size_t i = 0; i < NR_SPECS; i++) {
		const struct fd_spec *s = &specs[i];
		int fdfl = fcntl(s->fd, F_GETFD);

		if (fdfl < 0 || !!(fdfl & FD_CLOEXEC) != s->cloexec)
			return false;
		if (s->kind != K_NULL && s->kind != K_URANDOM && s->kind != K_DIR &&
		    lseek(s->fd, 0, SEEK_CUR) != (off_t)s->pos)
			return false;
		if (s->shares >= 0 && syscall(SYS_kcmp, self, self, KCMP_FILE, s->fd, s->shares) != 0)
			return false;
	}
	fill_ghost(expect_buf);
	return pread(15, got, sizeof(got), 0) == GHOST_SIZE && !memcmp(got, expect_buf, GHOST_SIZE);
}

/* Opens the fd of kind @extra at EXTRA_FD (a pipe keeps its other end at EXTRA_FD + 1). */
static void child_open_extra(const struct files_test *t, const struct extra_kind *extra)
{
	int p[2] = { -1, -1 };
	char big[600];

	snprintf(big, sizeof(big), "%s/big", t->tmp);
	if (!strcmp(extra->name, "big-ghost") && ((p[0] = open(big, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0 ||
						  ftruncate(p[0], BIG_GHOST_SIZE) || unlink(big)))
		_exit(2);

	/* Only the write end says O_DIRECT: it goes to EXTRA_FD. */
	if (!strcmp(extra->name, "packet-pipe")) {
		if (pipe2(p, O_DIRECT))
			_exit(2);
		p[0] ^= p[1], p[1] ^= p[0], p[0] ^= p[1];
	}
	/* A link dump asked and not read: the kernel's reply waits in the queue. */
	if (!strcmp(extra->name, "socket")) {
		struct nlmsghdr req = { .nlmsg_len = NLMSG_LENGTH(4),
					.nlmsg_type = 18 /* RTM_GETLINK */,
					.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP };
		char buf[NLMSG_LENGTH(4)] = { 0 };

		memcpy(buf, &req, sizeof(req));
		p[0] = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
		if (p[0] < 0 || send(p[0], buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			_exit(2);
	}
	if (!strcmp(extra->name, "pidfd") && (p[0] = (int)syscall(SYS_pidfd_open, getpid(), 0)) < 0)
		_exit(2);
	if (dup2(p[0], EXTRA_FD) != EXTRA_FD || close(p[0]))
		_exit(2);
	if (p[1] >= 0 && (dup2(p[1], EXTRA_FD + 1) != EXTRA_FD + 1 || close(p[1])))
		_exit(2);
}

static void __attribute__((noreturn))
child_main(const struct files_test *t, int ready_fd, const struct extra_kind *extra)
{
	uint32_t flags[NR_SPECS];
	sigset_t set;
	int ready;

	ready = fcntl(ready_fd, F_DUPFD_CLOEXEC, READY_FD);
	if (ready < 0)
		_exit(2);
	dump_child_quiet_stdio(ready); /* fds 0-2: one /dev/null description, O_RDWR */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(2);
	child_open_at(t->data, O_RDWR, 10, false);
	if (lseek(10, DATA_POS, SEEK_SET) != DATA_POS || dup2(10, 20) != 20)
		_exit(2);
	child_open_at(t->append, O_WRONLY | O_APPEND, 11, false);
	if (write(11, "abcde", APPEND_WRITE) != APPEND_WRITE || fcntl(11, F_SETOWN, getpid()) ||
	    fcntl(11, F_SETSIG, OWNER_SIG))
		_exit(2);
	child_open_at(t->data, O_RDONLY, 12, true);
	if (lseek(12, CLOEXEC_POS, SEEK_SET) != CLOEXEC_POS)
		_exit(2);
	child_open_at("/dev/null", O_WRONLY, 13, false);
	child_open_at("/dev/urandom", O_RDONLY, 14, false);
	child_open_at(t->ghost, O_RDWR, 15, false);
	if (lseek(15, GHOST_POS, SEEK_SET) != GHOST_POS || unlink(t->ghost))
		_exit(2);
	child_open_at(t->tmp, O_PATH | O_DIRECTORY, 16, true);
	if (extra)
		child_open_extra(t, extra);
	for (size_t i = 0; i < NR_SPECS; i++)
		flags[i] = (uint32_t)fcntl(specs[i].fd, F_GETFL);
	if (write(ready, flags, sizeof(flags)) != sizeof(flags))
		_exit(2);
	close(ready);
	for (;;) {
		if (sigwaitinfo(&set, NULL) < 0)
			continue;
		if (dump_child_answer(t->fifo, child_fds_intact() ? 'O' : 'F'))
			_exit(2);
	}
}

static int make_files(struct files_test *t)
{
	unsigned char buf[DATA_SIZE];
	int ret;

	snprintf(t->data, sizeof(t->data), "%s/data", t->tmp);
	snprintf(t->append, sizeof(t->append), "%s/append", t->tmp);
	snprintf(t->ghost, sizeof(t->ghost), "%s/ghost", t->tmp);
	snprintf(t->fifo, sizeof(t->fifo), "%s/answer", t->tmp);
	memset(buf, 'd', sizeof(buf));
	ret = test_write_file(t->data, buf, DATA_SIZE);
	if (!ret)
		ret = test_write_file(t->append, buf, APPEND_SIZE);
	fill_ghost(buf);
	if (!ret)
		ret = test_write_file(t->ghost, buf, GHOST_SIZE);
	if (!ret && mkfifo(t->fifo, 0600))
		ret = -errno;
	return ret;
}

static int child_start(struct files_test *t, const struct extra_kind *extra)
{
	int ready[2], ret;
	ssize_t n;

	unlink(t->ghost);
	ret = make_files(t);
	if (ret)
		return ret;
	t->result_fd = open(t->fifo, O_RDWR | O_CLOEXEC);
	if (t->result_fd < 0 || pipe2(ready, O_CLOEXEC))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		close(ready[0]);
		child_main(t, ready[1], extra);
	}
	close(ready[1]);
	n = read(ready[0], t->flags, NR_SPECS * sizeof(t->flags[0]));
	close(ready[0]);
	return n == (ssize_t)(NR_SPECS * sizeof(t->flags[0])) ? 0 : -EIO;
}

/* 0 when the child answers that its fds are intact. */
static int child_check(struct files_test *t)
{
	struct pollfd pfd = { .fd = t->result_fd, .events = POLLIN };
	char answer;

	if (kill(t->pid, SIGUSR1))
		return -errno;
	if (poll(&pfd, 1, 5000) != 1)
		return -ETIMEDOUT;
	if (read(t->result_fd, &answer, 1) != 1)
		return -EIO;
	return answer == 'O' ? 0 : -EIO;
}

static void child_stop(struct files_test *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
	if (t->result_fd >= 0)
		close(t->result_fd);
	t->result_fd = -1;
	unlink(t->fifo);
}

static const char *kind_path(const struct files_test *t, enum kind k)
{
	switch (k) {
	case K_NULL:
		return "/dev/null";
	case K_DATA:
		return t->data;
	case K_APPEND:
		return t->append;
	case K_URANDOM:
		return "/dev/urandom";
	case K_GHOST:
		return t->ghost;
	case K_DIR:
		return t->tmp;
	}
	return "?";
}

static void check_fdinfo_line(struct files_test *t, int fd, int id, unsigned int flags, const char *type)
{
	int i = spec_index(fd);

	t->nr_fdinfo++;
	if (i < 0) {
		expect(&t->failures, 0, "fdinfo has fd %d, which the child doesn't hold", fd);
		return;
	}
	expect(&t->failures, !t->fd_seen[i], "fd %d appears twice in fdinfo", fd);
	t->fd_seen[i] = true;
	t->fd_id[i] = id;
	expect(&t->failures, !strcmp(type, "REG"), "fd %d has type %s, not REG", fd, type);
	expect(&t->failures, flags == (specs[i].cloexec ? FD_CLOEXEC : 0u), "fd %d has fdinfo flags %#x", fd, flags);
}

/* Checks a REG entry against every fd pointing at it. */
static void check_reg_line(struct files_test *t, int id, unsigned int flags, unsigned long long pos, long long size,
			   unsigned int mode, const char *name)
{
	for (size_t i = 0; i < NR_SPECS; i++) {
		const struct fd_spec *s = &specs[i];
		const char *path = kind_path(t, s->kind);

		if (!t->fd_seen[i] || t->fd_id[i] != id)
			continue;
		t->reg_seen[i] = true;
		expect(&t->failures, !strcmp(name, path), "fd %d: file %d is %s, not %s", s->fd, id, name, path);
		expect(&t->failures, flags == (t->flags[i] & ~(unsigned int)O_CLOEXEC),
		       "fd %d: file flags %#o, the child's F_GETFL %#o", s->fd, flags, t->flags[i]);
		expect(&t->failures, s->kind == K_URANDOM || s->kind == K_NULL || pos == s->pos,
		       "fd %d: pos %llu, not %llu", s->fd, pos, (unsigned long long)s->pos);
		if (s->kind == K_NULL || s->kind == K_URANDOM)
			expect(&t->failures, S_ISCHR(mode), "fd %d: mode %#o is not a character device", s->fd, mode);
		else if (s->kind == K_DIR)
			expect(&t->failures, S_ISDIR(mode), "fd %d: mode %#o is not a directory", s->fd, mode);
		else
			expect(&t->failures, S_ISREG(mode), "fd %d: mode %#o is not a regular file", s->fd, mode);
		if (s->kind == K_DATA)
			expect(&t->failures, size == DATA_SIZE, "fd %d: size %lld", s->fd, size);
		if (s->kind == K_GHOST)
			expect(&t->failures, size == GHOST_SIZE, "fd %d: size %lld", s->fd, size);
	}
}

static void parse_facts(struct files_test *t, char *out, unsigned int *nr_remaps, int *ghost_orig,
			unsigned int *ghost_remap)
{
	int ids_seen[64] = { 0 }, nr_fowns = 0;
	char *save;

	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long pos;
		unsigned int a, b, flags, mode;
		char type[32], name[PATH_MAX];
		long long size;
		int fd, id, rid;

		if (!strncmp(line, "undecodable", 11)) {
			expect(&t->failures, 0, "crit can't decode: %s", line);
		} else if (sscanf(line, "ids %u", &a) == 1) {
			t->files_id = a;
		} else if (sscanf(line, "fd %d %d %u %31s", &fd, &id, &flags, type) == 4) {
			check_fdinfo_line(t, fd, id, flags, type);
		} else if (sscanf(line, "reg %d %31s %d %u %llu %lld %u %4095s", &id, type, &rid, &flags, &pos, &size,
				  &mode, name) == 8) {
			expect(&t->failures, id == rid && !strcmp(type, "REG"), "file %d: reg id %d, type %s", id, rid,
			       type);
			if (id > 0 && id < 64)
				ids_seen[id]++;
			check_reg_line(t, id, flags, pos, size, mode, name);
		} else if (sscanf(line, "fown %d %d %u %u", &id, &fd, &a, &b) == 4) {
			bool owned = id == t->fd_id[spec_index(11)];

			nr_fowns += owned;
			expect(&t->failures, owned ? fd == t->pid && a == OWNER_SIG && b == F_OWNER_PID : fd == 0,
			       "file %d: owner %d, signal %u, type %u", id, fd, a, b);
		} else if (sscanf(line, "other %d %31s", &id, type) == 2) {
			expect(&t->failures, 0, "files.img has a %s entry (id %d)", type, id);
		} else if (sscanf(line, "remap %d %u %31s", &id, &a, type) == 3) {
			(*nr_remaps)++;
			*ghost_orig = id;
			*ghost_remap = a;
			expect(&t->failures, !strcmp(type, "GHOST"), "remap of file %d has type %s", id, type);
		} else if (sscanf(line, "ghost %u %u %lld %u %*s", &a, &mode, &size, &b) == 4) {
			char *hex = strrchr(line, ' ');

			expect(&t->failures, a == *ghost_remap, "ghost-file-%x.img decoded for remap %u", a,
			       *ghost_remap);
			expect(&t->failures, S_ISREG(mode) && size == GHOST_SIZE && b == GHOST_SIZE,
			       "ghost: mode %#o, size %lld, %u bytes of contents", mode, size, b);
			free(t->ghost_hex);
			t->ghost_hex = hex ? strdup(hex + 1) : NULL;
		}
	}
	expect(&t->failures, nr_fowns == 1, "%d files with fd 11's owner, not 1", nr_fowns);
	for (int i = 0; i < 64; i++)
		expect(&t->failures, ids_seen[i] <= 1, "file id %d appears %d times in files.img", i, ids_seen[i]);
}

/* Shared descriptions have one id, distinct descriptions distinct ids. */
static void check_sharing(struct files_test *t)
{
	for (size_t i = 0; i < NR_SPECS; i++) {
		expect(&t->failures, t->fd_seen[i], "fd %d is not in fdinfo", specs[i].fd);
		expect(&t->failures, t->reg_seen[i], "the file of fd %d is not in files.img", specs[i].fd);
		for (size_t j = 0; j < i; j++) {
			bool same = specs[i].shares == specs[j].fd || specs[j].shares == specs[i].fd ||
				    (specs[i].shares >= 0 && specs[i].shares == specs[j].shares);

			expect(&t->failures, (t->fd_id[i] == t->fd_id[j]) == same, "fds %d and %d: ids %d and %d",
			       specs[i].fd, specs[j].fd, t->fd_id[i], t->fd_id[j]);
		}
	}
}

static void check_ghost(struct files_test *t, unsigned int nr_remaps, int ghost_orig)
{
	unsigned char buf[GHOST_SIZE];
	char hex[2 * GHOST_SIZE + 1];
	int gi = spec_index(15);

	expect(&t->failures, nr_remaps == 1, "%u remap-fpath entries, not 1", nr_remaps);
	expect(&t->failures, ghost_orig == t->fd_id[gi], "the remap is for file %d, fd 15 has file %d", ghost_orig,
	       t->fd_id[gi]);
	fill_ghost(buf);
	for (size_t i = 0; i < GHOST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	expect(&t->failures, t->ghost_hex && !strcmp(t->ghost_hex, hex), "the ghost file's contents differ");
}

static void decode_images(struct files_test *t)
{
	char script[PATH_MAX], pid[32];
	char *argv[] = { PYTHON, script, t->dir, pid, NULL };
	unsigned int nr_remaps = 0, ghost_remap = 0;
	int ghost_orig = -1;
	struct run_result r;

	snprintf(script, sizeof(script), "%s/decode.py", t->tmp);
	snprintf(pid, sizeof(pid), "%d", t->pid);
	if (test_write_file(script, decode_py, strlen(decode_py)) || test_run(&r, t->tmp, NULL, argv, NULL)) {
		expect(&t->failures, 0, "can't run the decoder");
		return;
	}
	expect(&t->failures, r.exit_code == 0, "decoder exit %d: %s", r.exit_code, r.err);
	parse_facts(t, r.out, &nr_remaps, &ghost_orig, &ghost_remap);
	test_run_free(&r);
	expect(&t->failures, t->files_id > 0, "no files_id in the ids image");
	expect(&t->failures, t->nr_fdinfo == NR_SPECS, "%u fds in fdinfo, not %zu", t->nr_fdinfo, NR_SPECS);
	check_sharing(t);
	check_ghost(t, nr_remaps, ghost_orig);
}

static void test_dump(struct files_test *t)
{
	char log[PATH_MAX], *text;
	struct run_result r;
	int ret;

	snprintf(t->dir, sizeof(t->dir), "%s/images", t->tmp);
	snprintf(log, sizeof(log), "%s/dump.log", t->tmp);
	if (mkdir(t->dir, 0700) || child_start(t, NULL)) {
		expect(&t->failures, 0, "can't start the child");
		return;
	}
	ret = dump_run_criu(&r, t->tmp, t->pid, t->dir, log, "--leave-running");
	expect(&t->failures, !ret && r.exit_code == 0, "criu dump: %s, exit %d", strerror(-ret), r.exit_code);
	if (!ret)
		test_run_free(&r);
	text = test_read_file(log);
	expect(&t->failures, text && !strstr(text, "not dumped") && !strstr(text, "Error"),
	       "the dump log has errors or warnings about fds: %s", text ?: "(no log)");
	free(text);
	decode_images(t);
	expect(&t->failures, test_untraced(t->pid), "the child is still traced after the dump");
	expect(&t->failures, child_check(t) == 0, "the child's fds changed with the dump");
	child_stop(t);
}

static void test_refused(struct files_test *t, const struct extra_kind *extra)
{
	char log[PATH_MAX], dir[PATH_MAX], msg[128], link[64], target[64] = "";
	const char *what = extra->name;
	struct run_result r;
	char *text;
	int ret;

	snprintf(dir, sizeof(dir), "%s/images-%s", t->tmp, what);
	snprintf(log, sizeof(log), "%s/dump-%s.log", t->tmp, what);
	if (mkdir(dir, 0700) || child_start(t, extra)) {
		expect(&t->failures, 0, "%s: can't start the child", what);
		return;
	}
	ret = dump_run_criu(&r, t->tmp, t->pid, dir, log, "--leave-running");
	expect(&t->failures, !ret && r.exit_code == 1, "%s: criu dump: %s, exit %d (not 1)", what, strerror(-ret),
	       r.exit_code);
	if (!ret)
		test_run_free(&r);
	snprintf(msg, sizeof(msg), "fd %d of process %d %s", EXTRA_FD, t->pid, extra->msg);
	text = test_read_file(log);
	expect(&t->failures, text && strstr(text, "Error (criu/") && strstr(text, msg), "%s: the log lacks '%s': %s",
	       what, msg, text ?: "(no log)");
	expect(&t->failures, text && !strstr(text, "Dumping finished"), "%s: the dump says it finished", what);
	free(text);
	expect(&t->failures, test_untraced(t->pid), "%s: the child is still traced", what);
	expect(&t->failures, child_check(t) == 0, "%s: the child's fds changed", what);
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", t->pid, EXTRA_FD);
	expect(&t->failures,
	       readlink(link, target, sizeof(target) - 1) > 0 && !strncmp(target, extra->link, strlen(extra->link)),
	       "%s: the child lost its fd (%s)", what, target);
	child_stop(t);
}

int main(void)
{
	struct files_test t = { .result_fd = -1 };

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: %s or %s missing\n", CRIT, PYTHON);
		return TEST_SKIP;
	}
	if (test_mkdtemp(t.tmp, sizeof(t.tmp), "dump-files")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	test_dump(&t);
	for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++)
		test_refused(&t, &extras[i]);
	free(t.ghost_hex);
	if (!t.failures)
		test_rm_rf(t.tmp);
	else
		fprintf(stderr, "images kept in %s\n", t.tmp);
	fprintf(stderr, "dump-files: %s\n", t.failures ? "FAILED" : "all passed");
	return t.failures ? TEST_FAIL : TEST_PASS;
}
