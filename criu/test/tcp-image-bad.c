/*
 * criu restore of damaged TCP stream images. A holder process keeps the server ends of 100
 * established connections (IPv6, IPv4 where the kernel has no IPv6) with data queued both ways;
 * criu dumps it with --tcp-established and --network-lock iptables, and kills it. Copies of the
 * images are damaged:
 *
 *   tcp-streams.img   3 bytes cut off its end; 1 byte added; its own magic flipped; the first
 *                     record's receive queue made longer than the data area; two records swapped
 *                     (out of inode order); one record more announced than the file holds;
 *
 * and restored from, each in turn: criu must refuse with a message naming tcp-streams.img, create
 * no socket and no process (the holder's pid stays free, no pidfile), and leave the lock and the
 * peers' ends as they were (established, nothing more in their receive queues). A restore from
 * the intact images must then bring everything back: the holder with its pid, no lock, no socket
 * in repair mode, every stream intact both ways and a fresh round trip.
 *
 * Then the same holder is dumped again with --tcp-images criu, and the images restored with one
 * tcp-stream-INO.img cut short by 3 bytes: refused, naming that file, nothing created, lock and
 * peers as they were; then the intact images restore everything again.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include "tcp-pack.h"
#include "tcp-test.h"

#define NR_CONNS 100

enum damage {
	CUT_END,       /* 3 bytes less */
	PAD_END,       /* 1 byte more */
	FLIP_MAGIC,    /* the image's own magic, not the common one */
	QUEUE_OUTSIDE, /* the first record's queues reach past the data area */
	SWAP_RECORDS,  /* the first two records in the wrong order */
	EXTRA_RECORD,  /* the header counts one record more */
};

static const struct {
	const char *name;
	const char *msg; /* what the error says besides the file's name */
} damages[] = {
	[CUT_END] = { "cut-end", "truncated or corrupt" },
	[PAD_END] = { "pad-end", "truncated or corrupt" },
	[FLIP_MAGIC] = { "flip-magic", "bad magic" },
	[QUEUE_OUTSIDE] = { "queue-outside", "outside the data area" },
	[SWAP_RECORDS] = { "swap-records", "out of order" },
	[EXTRA_RECORD] = { "extra-record", "truncated or corrupt" },
};

#define PACK_HEAD_OFF 8 /* after the two magics */
#define PACK_RECS_OFF (PACK_HEAD_OFF + sizeof(struct tcp_pack_head))

/* Reads all of @path; its length in *len. */
static char *read_image(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && !fstat(fd, &st) && (buf = malloc((size_t)st.st_size + 1)) &&
	    read(fd, buf, (size_t)st.st_size) == st.st_size)
		*len = (size_t)st.st_size;
	else
		free(buf), buf = NULL;
	if (fd >= 0)
		close(fd);
	return buf;
}

/* Damages @dir/tcp-streams.img as @d says. */
static int damage_pack(const char *dir, enum damage d)
{
	char path[PATH_MAX + 32];
	struct tcp_pack_head head;
	struct tcp_pack_rec rec[2];
	size_t len = 0;
	char *buf;
	int ret;

	snprintf(path, sizeof(path), "%s/tcp-streams.img", dir);
	buf = read_image(path, &len);
	if (!buf || len < PACK_RECS_OFF + 2 * sizeof(rec[0])) {
		free(buf);
		return -EIO;
	}
	memcpy(&head, buf + PACK_HEAD_OFF, sizeof(head));
	memcpy(rec, buf + PACK_RECS_OFF, sizeof(rec));
	switch (d) {
	case CUT_END:
		len -= 3;
		break;
	case PAD_END:
		buf[len++] = 0;
		break;
	case FLIP_MAGIC:
		buf[4] ^= 0xff;
		break;
	case QUEUE_OUTSIDE:
		rec[0].inq_len = (uint32_t)head.data_len; /* the send queue then ends past the area */
		memcpy(buf + PACK_RECS_OFF, &rec[0], sizeof(rec[0]));
		break;
	case SWAP_RECORDS:
		memcpy(buf + PACK_RECS_OFF, &rec[1], sizeof(rec[1]));
		memcpy(buf + PACK_RECS_OFF + sizeof(rec[0]), &rec[0], sizeof(rec[0]));
		break;
	case EXTRA_RECORD:
		head.nr++;
		memcpy(buf + PACK_HEAD_OFF, &head, sizeof(head));
		break;
	}
	ret = test_write_file(path, buf, len);
	free(buf);
	return ret;
}

/* Cuts 3 bytes off the end of the first tcp-stream-*.img of @dir; its name in @name. */
static int damage_criu(const char *dir, char *name, size_t size)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	size_t len = 0;
	char *buf = NULL;
	int ret = -ENOENT;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "tcp-stream-", 11)) {
			snprintf(name, size, "%s", de->d_name);
			ret = 0;
			break;
		}
	if (d)
		closedir(d);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = read_image(path, &len);
	ret = buf && len > 3 ? test_write_file(path, buf, len - 3) : -EIO;
	free(buf);
	return ret;
}

/* A restore from @dir (damaged) that must be refused naming @file and saying @msg, with nothing created. */
static void refused(struct tcp_test *t, const char *what, const char *dir, const char *file, const char *msg, int lock)
{
	char pidfile[PATH_MAX], log[64], path[PATH_MAX], *text;
	struct peer_view before;
	int failures = t->failures, ret;

	snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", t->tmp, what);
	snprintf(log, sizeof(log), "restore-%s.log", what);
	snprintf(path, sizeof(path), "%s/%s", t->tmp, log);
	if (peer_view_take(t->fix, &before)) {
		expect(&t->failures, 0, "%s: can't read the peers' sockets", what);
		return;
	}
	ret = tcp_restore(t, dir, log, pidfile, 0);
	expect(&t->failures, ret == 1, "%s: criu restore exited with %d", what, ret);
	text = test_read_file(path);
	expect(&t->failures, text && strstr(text, "Error") && strstr(text, file) && strstr(text, msg),
	       "%s: no error naming %s and saying '%s'", what, file, msg);
	expect(&t->failures, text && !strstr(text, "rebuilding"), "%s: sockets were made before the refusal", what);
	tcp_check_refused(t, what, pidfile, lock, &before);
	if (t->failures != failures)
		fprintf(stderr, "---- %s ----\n%s\n", path, text ?: "(none)");
	else
		fprintf(stderr, "%s: refused, nothing changed\n", what);
	free(text);
	peer_view_free(&before);
}

static void restored(struct tcp_test *t, const char *what, const char *dir)
{
	char pidfile[PATH_MAX], log[64];
	int ret;

	snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", t->tmp, what);
	snprintf(log, sizeof(log), "restore-%s.log", what);
	ret = tcp_restore(t, dir, log, pidfile, 0);
	expect(&t->failures, ret == 0, "%s: criu restore exited with %d", what, ret);
	tcp_check_restored(t, what, pidfile);
	if (t->failures)
		rtest_print_log(t->tmp, log);
	else
		fprintf(stderr, "%s: restored, every stream intact\n", what);
}

static void packed(struct tcp_test *t)
{
	static const char *const opts[] = { "--network-lock", "iptables", NULL };
	char img[PATH_MAX], bad[PATH_MAX];

	snprintf(img, sizeof(img), "%s/packed", t->tmp);
	if (tcp_dump(t, img, "dump-packed.log", opts))
		return;
	for (size_t d = 0; d < sizeof(damages) / sizeof(damages[0]); d++) {
		snprintf(bad, sizeof(bad), "%s/%s", t->tmp, damages[d].name);
		if (dir_copy(img, bad) || damage_pack(bad, (enum damage)d)) {
			expect(&t->failures, 0, "%s: can't damage a copy of the images", damages[d].name);
			continue;
		}
		refused(t, damages[d].name, bad, "tcp-streams.img", damages[d].msg, LOCK_IPT);
	}
	restored(t, "packed-intact", img);
}

static void criu_format(struct tcp_test *t)
{
	static const char *const opts[] = { "--network-lock", "iptables", "--tcp-images", "criu", NULL };
	char img[PATH_MAX], bad[PATH_MAX], name[256];

	snprintf(img, sizeof(img), "%s/criu", t->tmp);
	snprintf(bad, sizeof(bad), "%s/criu-cut", t->tmp);
	if (tcp_dump(t, img, "dump-criu.log", opts))
		return;
	if (dir_copy(img, bad) || damage_criu(bad, name, sizeof(name))) {
		expect(&t->failures, 0, "can't damage a copy of the images");
		return;
	}
	refused(t, "criu-cut", bad, name, "truncated", LOCK_IPT);
	restored(t, "criu-intact", img);
}

int main(void)
{
	struct connfix_opts fo = { .family = CONNFIX_IPV6, .n = NR_CONNS };
	struct tcp_test t = { 0 };
	int ret;

	if (connfix_family_probe(CONNFIX_IPV6))
		fo.family = CONNFIX_IPV4;
	ret = tcp_test_setup(&t, "tcp-image-bad", &fo, 0);
	if (ret)
		return ret;
	fprintf(stderr, "%u %s connections\n", NR_CONNS, connfix_family_name(fo.family));
	packed(&t);
	if (!t.failures)
		criu_format(&t);
	return tcp_test_finish(&t);
}
