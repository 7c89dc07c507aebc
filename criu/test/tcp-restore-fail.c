/*
 * criu restore that fails after the TCP connections were rebuilt, then a restore that works. A
 * holder process keeps the server ends of 200 established IPv4 connections at fds 4096 and up, with
 * data queued both ways (2 KiB it has not read, 4 KiB sent and not acknowledged, 4 KiB not sent),
 * and 4 GiB of address space mapped PROT_NONE; criu dumps it with --tcp-established and
 * --network-lock nftables, and kills it. The first restore runs with RLIMIT_AS at 2 GiB: every
 * connection is rebuilt in repair mode, the process is forked with its pid and its sockets, then
 * its address space can't be rebuilt (ENOMEM) and criu gives up. It must exit 1 and leave:
 *
 *   - the images byte for byte as they were, and no pidfile;
 *   - the lock (the nftables table criu-ng-PID);
 *   - no process with the holder's pid, and no socket of the connections in the namespace (they
 *     were closed in repair mode, so none lingers closing);
 *   - the peers' ends as they were: established (no FIN, no RST came), their receive queues as
 *     long as before (no data came).
 *
 * Then criu restore is killed (SIGKILL) right after its log says the connections are rebuilt, the
 * process's memory is being rebuilt, and all of it is there: each time the same must hold once the
 * process criu forked (killed with it) is reaped. Then a restore fails once the connections are out
 * of repair mode (one connection's SO_BUF_LOCK in a copy of files.img is refused by the kernel),
 * just before the process would run, their receive queues emptied in that copy (unread data would
 * reset them at close anyway): the linger guard must reset them under the lock rather than leave
 * orphans closing, and the same must hold.
 *
 * The last restore, without the limit, must bring the holder back with its pid, running and
 * untraced, the lock lifted, no socket in repair mode, and every byte queued either way must come
 * through exactly once, then a fresh round trip. No restore names the lock method: the restore must
 * take the dump's from the images, as CRIU's does. The test is a child subreaper: the restored
 * holder becomes its child. Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include "dump-test.h"
#include "image.h"
#include "tcp-pack.h"
#include "tcp-test.h"

#include "fdinfo.pb-c.h"

#define NR_CONNS 200
#define RESERVE (4ull << 30) /* the holder's address space beyond its own */
#define LOW_AS (2ull << 30)  /* room for criu, not for the holder */

/* criu restore killed (SIGKILL) as soon as its log shows @marker: a failure criu can't clean up after. */
static void killed_restore(struct tcp_test *t, const char *img, const char *pristine, const char *pidfile,
			   const char *marker, int nr)
{
	char log[PATH_MAX], what[128];
	const char *args[] = {
		"restore", "-D",  img, "--tcp-established", "--restore-detached", "--pidfile", pidfile, "-o",
		log,	   "-v4", NULL
	};
	struct peer_view before;
	int failures = t->failures;
	pid_t criu;

	snprintf(log, sizeof(log), "%s/restore-killed-%d.log", t->tmp, nr);
	snprintf(what, sizeof(what), "restore killed after '%s'", marker);
	if (peer_view_take(t->fix, &before) || (criu = criu_start(t->tmp, args)) < 0) {
		expect(&t->failures, 0, "%s: can't start it", what);
		return;
	}
	expect(&t->failures, dump_wait_marker(log, marker, 10000), "%s: the log never showed it", what);
	kill(criu, SIGKILL);
	waitpid(criu, NULL, 0);
	/* The process criu forked, if it did, is killed with it (ptrace's exit kill) and becomes ours. */
	rchild_wait(t->h.pid, 5000);
	tcp_check_refused(t, what, pidfile, LOCK_NFT, &before);
	expect(&t->failures, dir_same(img, pristine), "%s: the images changed", what);
	if (t->failures != failures)
		rtest_print_log(t->tmp, strrchr(log, '/') + 1);
	else
		fprintf(stderr, "%s: nothing changed\n", what);
	peer_view_free(&before);
}

static void failed_restore(struct tcp_test *t, const char *img, const char *pristine, const char *pidfile)
{
	char log[PATH_MAX], *text;
	struct peer_view before;
	int ret;

	if (peer_view_take(t->fix, &before)) {
		expect(&t->failures, 0, "can't read the peers' sockets");
		return;
	}
	ret = tcp_restore(t, img, "restore-as.log", pidfile, LOW_AS);
	expect(&t->failures, ret == 1, "the restore under RLIMIT_AS exited with %d", ret);
	snprintf(log, sizeof(log), "%s/restore-as.log", t->tmp);
	text = test_read_file(log);
	expect(&t->failures, text && strstr(text, "TCP connection(s) rebuilt in repair mode"),
	       "the restore failed before the connections were rebuilt");
	expect(&t->failures, text && strstr(text, "Cannot allocate memory") && strstr(text, "killing it"),
	       "the restore didn't fail rebuilding the forked process's memory");
	tcp_check_refused(t, "restore under RLIMIT_AS", pidfile, LOCK_NFT, &before);
	expect(&t->failures, dir_same(img, pristine), "the failed restore changed the images");
	if (t->failures)
		fprintf(stderr, "---- %s ----\n%s\n", log, text ?: "(none)");
	free(text);
	peer_view_free(&before);
}

/* Gives the first connection of files.img in @dir an SO_BUF_LOCK the kernel refuses (4). */
static int bad_buf_lock(const char *dir)
{
	struct cr_img *in = NULL, *out = NULL;
	char tmp[PATH_MAX + 32];
	int dirfd, tmpfd, ret, done = 0;

	snprintf(tmp, sizeof(tmp), "%s/edit", dir);
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	tmpfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = dirfd < 0 || tmpfd < 0 ? -errno : 0;
	ret = ret ?: img_open(&in, dirfd, IMG_READ, CR_IMG_FILES);
	ret = ret ?: img_open(&out, tmpfd, IMG_WRITE, CR_IMG_FILES);
	while (!ret) {
		FileEntry *fe = NULL;

		ret = img_read_entry(in, (void **)&fe);
		if (ret || !fe)
			break;
		if (!done && fe->type == FD_TYPES__INETSK && fe->isk->state == TCP_ESTABLISHED) {
			fe->isk->opts->has_so_buf_lock = 1;
			fe->isk->opts->so_buf_lock = 4;
			done = 1;
		}
		ret = img_write_entry(out, fe);
		img_free_entry(fe);
	}
	if (in)
		img_close(in);
	if (out && img_close(out) && !ret)
		ret = -EIO;
	if (!ret && !done)
		ret = -ENOENT;
	if (!ret && renameat(tmpfd, "files.img", dirfd, "files.img"))
		ret = -errno;
	if (tmpfd >= 0)
		close(tmpfd);
	if (dirfd >= 0)
		close(dirfd);
	rmdir(tmp);
	return ret;
}

#define PACK_HEAD_OFF 8 /* after the two magics */
#define PACK_RECS_OFF (PACK_HEAD_OFF + sizeof(struct tcp_pack_head))

/*
 * Empties every connection's receive queue in @dir/tcp-streams.img (its bytes stay in the data
 * area, unreferenced). A connection closed with unread data resets whatever its SO_LINGER; without
 * any, only the linger guard makes it reset rather than linger.
 */
static int empty_recv_queues(const char *dir)
{
	char path[PATH_MAX + 32];
	struct tcp_pack_head head;
	struct stat st;
	char *buf = NULL;
	int fd, ret = -EIO;

	snprintf(path, sizeof(path), "%s/tcp-streams.img", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !fstat(fd, &st) && (size_t)st.st_size >= PACK_RECS_OFF && (buf = malloc((size_t)st.st_size)) &&
	    read(fd, buf, (size_t)st.st_size) == st.st_size)
		ret = 0;
	if (fd >= 0)
		close(fd);
	if (ret)
		goto out_free;
	memcpy(&head, buf + PACK_HEAD_OFF, sizeof(head));
	if (PACK_RECS_OFF + head.nr * sizeof(struct tcp_pack_rec) > (size_t)st.st_size) {
		ret = -EIO;
		goto out_free;
	}
	for (uint64_t i = 0; i < head.nr; i++) {
		struct tcp_pack_rec rec;
		char *at = buf + PACK_RECS_OFF + i * sizeof(rec);

		memcpy(&rec, at, sizeof(rec));
		rec.data_off += rec.inq_len;
		rec.inq_seq += rec.inq_len;
		rec.inq_len = 0;
		memcpy(at, &rec, sizeof(rec));
	}
	ret = test_write_file(path, buf, (size_t)st.st_size);
out_free:
	free(buf);
	return ret;
}

/*
 * A restore that fails once the connections are out of repair mode, before the process runs (one
 * connection's SO_BUF_LOCK in the images is refused by the kernel): criu closes them, which with
 * the linger guard ({1, 0} until the process runs) resets them under the lock. No socket of the
 * connections may be left in the namespace (no orphan lingering in FIN_WAIT), the peers must have
 * seen nothing, the lock stays.
 */
static void failed_after_repair_off(struct tcp_test *t, const char *pristine, const char *pidfile)
{
	char img[PATH_MAX + 16], log[PATH_MAX + 32], *text;
	struct peer_view before;
	int ret;

	snprintf(img, sizeof(img), "%s/img-buf-lock", t->tmp);
	if (dir_copy(pristine, img) || bad_buf_lock(img) || empty_recv_queues(img) || peer_view_take(t->fix, &before)) {
		expect(&t->failures, 0, "can't make the images with a bad SO_BUF_LOCK");
		return;
	}
	ret = tcp_restore(t, img, "restore-buf-lock.log", pidfile, 0);
	expect(&t->failures, ret == 1, "the restore with a bad SO_BUF_LOCK exited with %d", ret);
	snprintf(log, sizeof(log), "%s/restore-buf-lock.log", t->tmp);
	text = test_read_file(log);
	expect(&t->failures, text && strstr(text, "can't set option 72") && strstr(text, "killing it"),
	       "the restore didn't fail setting SO_BUF_LOCK once out of repair mode");
	rchild_wait(t->h.pid, 5000);
	tcp_check_refused(t, "restore failed after repair off", pidfile, LOCK_NFT, &before);
	if (t->failures)
		fprintf(stderr, "---- %s ----\n%s\n", log, text ?: "(none)");
	free(text);
	peer_view_free(&before);
}

int main(void)
{
	static const char *const lock[] = { "--network-lock", "nftables", NULL };
	/* Connections rebuilt; the process forked, its memory being rebuilt; its memory all there. */
	static const char *const kill_markers[] = { "rebuilt in repair mode", "vdso block moved", "pages restored" };
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = NR_CONNS };
	char img[PATH_MAX], pristine[PATH_MAX], pidfile[PATH_MAX];
	struct tcp_test t = { 0 };
	int ret;

	ret = tcp_test_setup(&t, "tcp-restore-fail", &fo, RESERVE);
	if (ret)
		return ret;
	snprintf(img, sizeof(img), "%s/img", t.tmp);
	snprintf(pristine, sizeof(pristine), "%s/pristine", t.tmp);
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", t.tmp);
	ret = tcp_dump(&t, img, "dump.log", lock);
	expect(&t.failures, !ret, "the dump failed");
	if (!ret && dir_copy(img, pristine))
		expect(&t.failures, 0, "can't copy the images");
	if (!t.failures)
		failed_restore(&t, img, pristine, pidfile);
	for (size_t i = 0; !t.failures && i < sizeof(kill_markers) / sizeof(kill_markers[0]); i++)
		killed_restore(&t, img, pristine, pidfile, kill_markers[i], (int)i);
	if (!t.failures)
		failed_after_repair_off(&t, pristine, pidfile);
	if (!t.failures) {
		ret = tcp_restore(&t, img, "restore.log", pidfile, 0);
		expect(&t.failures, ret == 0, "the last restore exited with %d", ret);
		tcp_check_restored(&t, "last restore", pidfile);
		if (t.failures)
			rtest_print_log(t.tmp, "restore.log");
	}
	return tcp_test_finish(&t);
}
