/*
 * The image reader against broken and hostile files: truncated headers and
 * entries, wrong magics, oversized and undecodable entries, truncated raw data,
 * every truncation point of a good image and thousands of random corruptions.
 * Each is refused with -EINVAL or -EIO and a message naming the file (and the
 * entry), never a crash. Also: large entries and raw blocks round-trip, the
 * writer refuses what it must, and a write error surfaces at close.
 */
#include "criu-test.h"

#include <endian.h>
#include <stdint.h>

#include "image.h"
#include "log.h"
#include "magic.h"

#include "core.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "siginfo.pb-c.h"
#include "tcp-stream.pb-c.h"

struct bad_test {
	char tmp[256];
	int dirfd;
	int failures;
};

struct blob {
	unsigned char data[4096];
	size_t len;
};

static void put_u32(struct blob *b, uint32_t v)
{
	uint32_t le = htole32(v);

	memcpy(b->data + b->len, &le, 4);
	b->len += 4;
}

static void put_bytes(struct blob *b, const void *p, size_t len)
{
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

static void put_entry(struct blob *b, const void *msg)
{
	size_t size = protobuf_c_message_get_packed_size(msg);

	put_u32(b, (uint32_t)size);
	protobuf_c_message_pack(msg, b->data + b->len);
	b->len += size;
}

static void put_pstree(struct blob *b, uint32_t pid)
{
	PstreeEntry p = PSTREE_ENTRY__INIT;
	uint32_t threads[] = { pid, pid + 1 };

	p.pid = pid, p.ppid = 1, p.pgid = pid, p.sid = pid, p.n_threads = 2, p.threads = threads;
	put_entry(b, &p);
}

static int craft(struct bad_test *t, const char *name, const struct blob *b)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", t->tmp, name);
	return test_write_file(path, b->data, b->len);
}

/* Reads every entry (and a tcp-stream's queue data) of an image; 0 or the first error. */
static int read_all(struct bad_test *t, enum cr_img_type type, unsigned int arg, unsigned int *nr)
{
	struct cr_img *img;
	void *msg;
	int ret;

	*nr = 0;
	ret = img_open(&img, t->dirfd, IMG_READ, type, arg);
	if (ret)
		return ret;
	if (type == CR_IMG_PAGEMAP) {
		ret = img_read_entry_as(img, &pagemap_head__descriptor, &msg);
		img_free_entry(msg);
	}
	while (!ret) {
		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		(*nr)++;
		if (type == CR_IMG_TCP_STREAM) {
			TcpStreamEntry *tcp = msg;
			size_t len = (size_t)tcp->inq_len + tcp->outq_len;
			char *data = len <= (64u << 20) ? malloc(len + 1) : NULL;

			ret = data ? img_read_raw(img, data, len) : -EINVAL;
			free(data);
		}
		img_free_entry(msg);
	}
	img_close(img);
	return ret;
}

/* Reads the image with the log in case.log; checks the error and that the log says @phrase. */
static void expect_refused(struct bad_test *t, const char *what, enum cr_img_type type, unsigned int arg,
			   const char *file, int expected, const char *phrase)
{
	char path[512];
	unsigned int nr;
	char *log;
	int ret;

	log_init(t->dirfd, "case.log", LOG_WARN);
	ret = read_all(t, type, arg, &nr);
	log_fini();
	snprintf(path, sizeof(path), "%s/case.log", t->tmp);
	log = test_read_file(path);
	expect(&t->failures, ret == expected, "%s: returned %d, expected %d", what, ret, expected);
	expect(&t->failures, log && strstr(log, file) && strstr(log, phrase), "%s: log doesn't name %s with '%s': %s",
	       what, file, phrase, log ?: "(none)");
	free(log);
}

static void test_headers(struct bad_test *t)
{
	struct blob b = {};

	put_bytes(&b, "\x16\x31", 2);
	craft(t, "inventory.img", &b);
	expect_refused(t, "short inventory header", CR_IMG_INVENTORY, 0, "inventory.img", -EIO, "truncated header");

	b.len = 0;
	put_u32(&b, 0x12345678);
	put_u32(&b, PSTREE_MAGIC);
	craft(t, "pstree.img", &b);
	expect_refused(t, "bad first magic", CR_IMG_PSTREE, 0, "pstree.img", -EINVAL, "bad first magic 0x12345678");

	b.len = 0;
	put_u32(&b, IMG_COMMON_MAGIC);
	put_u32(&b, CORE_MAGIC);
	craft(t, "pstree.img", &b);
	expect_refused(t, "core magic in pstree.img", CR_IMG_PSTREE, 0, "pstree.img", -EINVAL,
		       "bad image magic 0x55053847, expected 0x50273030");

	b.len = 0;
	put_u32(&b, IMG_COMMON_MAGIC);
	put_u32(&b, STATS_MAGIC);
	craft(t, "stats-dump", &b);
	expect_refused(t, "stats without service magic", CR_IMG_STATS_DUMP, 0, "stats-dump", -EINVAL,
		       "bad first magic");

	b.len = 0;
	craft(t, "core-5.img", &b);
	expect_refused(t, "empty file", CR_IMG_CORE, 5, "core-5.img", -EIO, "truncated header");

	expect_refused(t, "missing file", CR_IMG_MM, 5, "mm-5.img", -ENOENT, "No such file");
}

static void pstree_header(struct blob *b)
{
	b->len = 0;
	put_u32(b, IMG_COMMON_MAGIC);
	put_u32(b, PSTREE_MAGIC);
}

static void test_entries(struct bad_test *t)
{
	static const unsigned char garbage[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct blob b;

	pstree_header(&b);
	put_bytes(&b, "\x05\x00", 2);
	craft(t, "pstree.img", &b);
	expect_refused(t, "short size field", CR_IMG_PSTREE, 0, "pstree.img", -EIO, "entry 0: truncated size field");

	pstree_header(&b);
	put_pstree(&b, 10);
	put_u32(&b, 0xffffffff);
	craft(t, "pstree.img", &b);
	expect_refused(t, "huge size", CR_IMG_PSTREE, 0, "pstree.img", -EINVAL, "entry 1: size 4294967295 is over");

	pstree_header(&b);
	put_u32(&b, IMG_ENTRY_MAX_SIZE + 1);
	craft(t, "pstree.img", &b);
	expect_refused(t, "size one over the limit", CR_IMG_PSTREE, 0, "pstree.img", -EINVAL, "entry 0: size");

	pstree_header(&b);
	put_u32(&b, IMG_ENTRY_MAX_SIZE);
	put_bytes(&b, garbage, sizeof(garbage));
	craft(t, "pstree.img", &b);
	expect_refused(t, "largest size, little data", CR_IMG_PSTREE, 0, "pstree.img", -EIO,
		       "entry 0: truncated: 8 of 16777216 bytes");

	pstree_header(&b);
	put_u32(&b, 100);
	put_bytes(&b, garbage, 8);
	put_bytes(&b, "\0\0", 2);
	craft(t, "pstree.img", &b);
	expect_refused(t, "short payload", CR_IMG_PSTREE, 0, "pstree.img", -EIO, "entry 0: truncated: 10 of 100");

	pstree_header(&b);
	put_pstree(&b, 10);
	put_u32(&b, sizeof(garbage));
	put_bytes(&b, garbage, sizeof(garbage));
	craft(t, "pstree.img", &b);
	expect_refused(t, "garbage protobuf", CR_IMG_PSTREE, 0, "pstree.img", -EINVAL,
		       "entry 1: 8 bytes that don't decode as pstree_entry");

	pstree_header(&b);
	put_u32(&b, 0);
	craft(t, "pstree.img", &b);
	expect_refused(t, "required fields missing", CR_IMG_PSTREE, 0, "pstree.img", -EINVAL,
		       "entry 0: 0 bytes that don't decode");
}

static void test_tcp_queue_truncated(struct bad_test *t)
{
	TcpStreamEntry tcp = TCP_STREAM_ENTRY__INIT;
	struct blob b = {};

	put_u32(&b, IMG_COMMON_MAGIC);
	put_u32(&b, TCP_STREAM_MAGIC);
	tcp.inq_len = 100, tcp.outq_len = 0, tcp.mss_clamp = 1460;
	put_entry(&b, &tcp);
	put_bytes(&b, "0123456789", 10);
	craft(t, "tcp-stream-2a.img", &b);
	expect_refused(t, "queue data truncated", CR_IMG_TCP_STREAM, 0x2a, "tcp-stream-2a.img", -EIO,
		       "data after entry 0 truncated: 10 of 100 bytes");
}

/* Cutting a good image anywhere: an error unless the cut falls between entries. */
static void test_truncation_sweep(struct bad_test *t)
{
	size_t boundaries[8], nr_boundaries = 0;
	struct blob good, cut;
	unsigned int nr;

	pstree_header(&good);
	boundaries[nr_boundaries++] = good.len;
	for (uint32_t pid = 1; pid <= 5; pid++) {
		put_pstree(&good, pid * 1000);
		boundaries[nr_boundaries++] = good.len;
	}
	log_init(t->dirfd, "sweep.log", LOG_MSG);
	for (size_t len = 0; len <= good.len; len++) {
		bool at_boundary = false;
		int ret;

		for (size_t i = 0; i < nr_boundaries; i++)
			at_boundary |= boundaries[i] == len;
		cut.len = 0;
		put_bytes(&cut, good.data, len);
		craft(t, "pstree.img", &cut);
		ret = read_all(t, CR_IMG_PSTREE, 0, &nr);
		expect(&t->failures, at_boundary ? ret == 0 : (ret == -EIO || ret == -EINVAL),
		       "cut at %zu of %zu: returned %d", len, good.len, ret);
	}
	log_fini();
}

static void write_good_core(struct bad_test *t, struct blob *b)
{
	UserX86RegsEntry gp = USER_X86_REGS_ENTRY__INIT;
	UserX86FpregsEntry fp = USER_X86_FPREGS_ENTRY__INIT;
	ThreadInfoX86 ti = THREAD_INFO_X86__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	CoreEntry core = CORE_ENTRY__INIT;
	uint32_t st[32] = { 1, 2, 3 };

	(void)t;
	gp.ip = 0x401000, gp.sp = 0x7ffd0000;
	fp.n_st_space = 32, fp.st_space = st;
	ti.gpregs = &gp, ti.fpregs = &fp;
	tc.comm = "victim";
	core.mtype = CORE_ENTRY__MARCH__X86_64, core.thread_info = &ti, core.tc = &tc;
	b->len = 0;
	put_u32(b, IMG_COMMON_MAGIC);
	put_u32(b, CORE_MAGIC);
	put_entry(b, &core);
	put_entry(b, &core);
}

/* Random byte corruptions of a nested message: refused or decoded, never a crash. */
static void test_random_corruption(struct bad_test *t)
{
	unsigned int seed = 20240601, refused = 0, nr;
	struct blob good, bad;

	write_good_core(t, &good);
	log_init(t->dirfd, "fuzz.log", LOG_MSG);
	for (int iter = 0; iter < 5000; iter++) {
		int flips = 1 + rand_r(&seed) % 4;
		int ret;

		bad = good;
		for (int i = 0; i < flips; i++)
			bad.data[rand_r(&seed) % bad.len] ^= (unsigned char)(1 + rand_r(&seed) % 255);
		if (rand_r(&seed) % 4 == 0)
			bad.len = rand_r(&seed) % (bad.len + 1);
		craft(t, "core-9.img", &bad);
		ret = read_all(t, CR_IMG_CORE, 9, &nr);
		expect(&t->failures, ret == 0 || ret == -EIO || ret == -EINVAL, "iteration %d: returned %d", iter, ret);
		refused += ret != 0;
	}
	log_fini();
	expect(&t->failures, refused > 1000, "only %u of 5000 corruptions refused", refused);
}

/* Entries bigger than the buffer, many small entries, and a large raw block round-trip. */
static void test_round_trips(struct bad_test *t)
{
	enum {
		NR_THREADS = 100000,
		NR_ENTRIES = 20000,
		RAW_LEN = (1 << 20) + 3
	};
	uint32_t *threads = calloc(NR_THREADS, sizeof(*threads));
	unsigned char *raw = malloc(RAW_LEN), *back = malloc(RAW_LEN);
	PstreeEntry big = PSTREE_ENTRY__INIT, *p;
	TcpStreamEntry tcp = TCP_STREAM_ENTRY__INIT;
	struct cr_img *img;
	unsigned int nr;
	void *msg;
	int ret;

	if (!threads || !raw || !back) {
		expect(&t->failures, 0, "out of memory");
		goto out_free;
	}
	for (int i = 0; i < NR_THREADS; i++)
		threads[i] = i + 1;
	for (int i = 0; i < RAW_LEN; i++)
		raw[i] = (unsigned char)(i * 7);

	big.pid = 1, big.n_threads = NR_THREADS, big.threads = threads;
	ret = img_open(&img, t->dirfd, IMG_WRITE, CR_IMG_PSTREE);
	for (int i = 0; !ret && i < NR_ENTRIES; i++) {
		PstreeEntry small = PSTREE_ENTRY__INIT;

		small.pid = i + 2;
		ret = img_write_entry(img, i == NR_ENTRIES / 2 ? (void *)&big : (void *)&small);
	}
	ret = img_close(img) ?: ret;
	expect(&t->failures, !ret, "writing %d entries: %d", NR_ENTRIES, ret);
	ret = read_all(t, CR_IMG_PSTREE, 0, &nr);
	expect(&t->failures, !ret && nr == NR_ENTRIES, "reading back: %d, %u entries", ret, nr);

	ret = img_open(&img, t->dirfd, IMG_READ, CR_IMG_PSTREE);
	for (int i = 0; !ret && i <= NR_ENTRIES / 2; i++) {
		ret = img_read_entry(img, &msg);
		p = msg;
		if (!ret && i == NR_ENTRIES / 2)
			expect(&t->failures,
			       p && p->n_threads == NR_THREADS && p->threads[NR_THREADS - 1] == NR_THREADS,
			       "big entry read back wrong");
		img_free_entry(msg);
	}
	img_close(img);

	tcp.inq_len = RAW_LEN - 1000, tcp.outq_len = 1000;
	ret = img_open(&img, t->dirfd, IMG_WRITE, CR_IMG_TCP_STREAM, 7);
	ret = ret ?: img_write_entry(img, &tcp);
	ret = ret ?: img_write_raw(img, raw, 10);
	ret = ret ?: img_write_raw(img, raw + 10, RAW_LEN - 10);
	ret = img_close(img) ?: ret;
	expect(&t->failures, !ret, "writing raw: %d", ret);
	ret = img_open(&img, t->dirfd, IMG_READ, CR_IMG_TCP_STREAM, 7);
	ret = ret ?: img_read_one(img, &msg);
	img_free_entry(ret ? NULL : msg);
	ret = ret ?: img_read_raw(img, back, 5);
	ret = ret ?: img_read_raw(img, back + 5, RAW_LEN - 5);
	expect(&t->failures, !ret && !memcmp(raw, back, RAW_LEN), "raw block read back: %d", ret);
	img_close(img);
out_free:
	free(threads);
	free(raw);
	free(back);
}

static void test_writer_refusals(struct bad_test *t)
{
	SiginfoEntry huge = SIGINFO_ENTRY__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	PstreeEntry p = PSTREE_ENTRY__INIT;
	char path[512], *log;
	struct cr_img *img;
	int ret, ret2, ret3;

	huge.siginfo.len = IMG_ENTRY_MAX_SIZE + 1;
	huge.siginfo.data = calloc(1, huge.siginfo.len);
	log_init(t->dirfd, "case.log", LOG_WARN);
	ret = img_open(&img, t->dirfd, IMG_WRITE, CR_IMG_CORE, 3);
	ret2 = ret ?: (huge.siginfo.data ? img_write_entry(img, &huge) : -ENOMEM);
	ret3 = ret ?: img_write_entry(img, &tc); /* comm, a required string, unset */
	img_close(img);
	log_fini();
	free(huge.siginfo.data);
	snprintf(path, sizeof(path), "%s/case.log", t->tmp);
	log = test_read_file(path);
	expect(&t->failures,
	       ret2 == -EINVAL && log &&
		       strstr(log, "core-3.img: entry 0: 16777222 bytes, over the 16777216-byte limit"),
	       "oversized entry: %d, log %s", ret2, log ?: "(none)");
	expect(&t->failures, ret3 == -EINVAL && log && strstr(log, "task_core_entry has a required field unset"),
	       "required field unset: %d, log %s", ret3, log ?: "(none)");
	free(log);

	/* A full disk: the error comes back (at the latest) from img_close. */
	snprintf(path, sizeof(path), "%s/pstree.img", t->tmp);
	unlink(path);
	if (symlink("/dev/full", path))
		return;
	log_init(t->dirfd, "case.log", LOG_MSG);
	ret = img_open(&img, t->dirfd, IMG_WRITE, CR_IMG_PSTREE);
	ret2 = ret ?: img_write_entry(img, &p);
	ret3 = ret ? 0 : img_close(img);
	log_fini();
	expect(&t->failures, !ret && (ret2 == -ENOSPC || ret3 == -ENOSPC), "write to /dev/full: %d %d %d", ret, ret2,
	       ret3);
	unlink(path);
}

int main(void)
{
	struct bad_test t = {};

	if (test_mkdtemp(t.tmp, sizeof(t.tmp), "image-bad")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	t.dirfd = open(t.tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t.dirfd < 0) {
		perror("open");
		return TEST_FAIL;
	}
	test_headers(&t);
	test_entries(&t);
	test_tcp_queue_truncated(&t);
	test_truncation_sweep(&t);
	test_random_corruption(&t);
	test_round_trips(&t);
	test_writer_refusals(&t);
	close(t.dirfd);
	test_rm_rf(t.tmp);
	if (t.failures) {
		fprintf(stderr, "image-bad: %d failures\n", t.failures);
		return TEST_FAIL;
	}
	printf("image-bad: all passed\n");
	return TEST_PASS;
}
