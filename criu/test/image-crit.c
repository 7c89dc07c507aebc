/*
 * Images written by criu-ng's writer must decode with our crit (same JSON as CRIU's): write
 * inventory, pstree, tcp-stream (with its queue data), core, stats-dump, pagemap,
 * mm, fs, ids, fdinfo and files images, decode each with crit/crit and compare
 * the fields; then read them back with our reader and compare again.
 */
#include "criu-test.h"

#include "image.h"

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fs.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "stats.pb-c.h"
#include "tcp-stream.pb-c.h"

#define CRIT CRIT_PATH /* crit/crit of this tree (criu/Makefile) */
#define PYTHON "/usr/bin/python3"

/* Prints every leaf of crit's JSON as path=json-value; queue data base64-decoded. */
static const char flatten_py[] = "import base64, json, sys\n"
				 "def walk(path, v):\n"
				 "    if isinstance(v, dict):\n"
				 "        for k, x in v.items(): walk(path + [k], x)\n"
				 "    elif isinstance(v, list):\n"
				 "        for i, x in enumerate(v): walk(path + [str(i)], x)\n"
				 "    else:\n"
				 "        if path[-1] in ('inq', 'outq'): v = base64.b64decode(v).decode('latin1')\n"
				 "        print('.'.join(path) + '=' + json.dumps(v))\n"
				 "walk([], json.load(open(sys.argv[1])))\n";

struct crit_test {
	char tmp[256];
	int dirfd;
	int failures;
};

#define TCP_INODE 0x1a2b3c
#define INQ_DATA "hello-inq"
#define OUTQ_DATA "outq-data-12345"

static int write_one(struct crit_test *t, enum cr_img_type type, unsigned int arg, const void *const *msgs,
		     const char *raw, size_t raw_len)
{
	struct cr_img *img;
	int ret;

	ret = img_open(&img, t->dirfd, IMG_WRITE, type, arg);
	if (ret)
		return ret;
	for (; *msgs && !ret; msgs++)
		ret = img_write_entry(img, *msgs);
	if (!ret && raw_len)
		ret = img_write_raw(img, raw, raw_len);
	return img_close(img) ?: ret;
}

static int write_inventory_pstree_tcp(struct crit_test *t)
{
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	PstreeEntry p0 = PSTREE_ENTRY__INIT, p1 = PSTREE_ENTRY__INIT;
	TcpStreamEntry tcp = TCP_STREAM_ENTRY__INIT;
	uint32_t threads0[] = { 100, 101, 102 }, threads1[] = { 103 };
	int ret;

	ids.vm_id = 1, ids.files_id = 2, ids.fs_id = 3, ids.sighand_id = 4;
	ids.has_pid_ns_id = 1, ids.pid_ns_id = 5;
	inv.img_version = 2;
	inv.has_fdinfo_per_id = 1, inv.fdinfo_per_id = 1;
	inv.root_ids = &ids;
	inv.has_ns_per_id = 1, inv.ns_per_id = 1;
	inv.has_lsmtype = 1, inv.lsmtype = LSMTYPE__APPARMOR;
	inv.has_dump_uptime = 1, inv.dump_uptime = 123456789012ULL;
	inv.has_tcp_close = 1, inv.tcp_close = 1;
	inv.has_network_lock_method = 1, inv.network_lock_method = 1;
	ret = write_one(t, CR_IMG_INVENTORY, 0, (const void *[]){ &inv, NULL }, NULL, 0);
	if (ret)
		return ret;

	p0.pid = 100, p0.ppid = 1, p0.pgid = 100, p0.sid = 99, p0.n_threads = 3, p0.threads = threads0;
	p1.pid = 103, p1.ppid = 100, p1.pgid = 100, p1.sid = 99, p1.n_threads = 1, p1.threads = threads1;
	ret = write_one(t, CR_IMG_PSTREE, 0, (const void *[]){ &p0, &p1, NULL }, NULL, 0);
	if (ret)
		return ret;

	tcp.inq_len = strlen(INQ_DATA), tcp.inq_seq = 3000000000u;
	tcp.outq_len = strlen(OUTQ_DATA), tcp.outq_seq = 17;
	tcp.opt_mask = 0x7, tcp.snd_wscale = 7, tcp.mss_clamp = 1460;
	tcp.has_rcv_wscale = 1, tcp.rcv_wscale = 9;
	tcp.has_timestamp = 1, tcp.timestamp = 4000000000u;
	tcp.has_cork = 1, tcp.cork = 0;
	tcp.has_nodelay = 1, tcp.nodelay = 1;
	tcp.has_unsq_len = 1, tcp.unsq_len = 5;
	tcp.has_snd_wl1 = 1, tcp.snd_wl1 = 11;
	tcp.has_snd_wnd = 1, tcp.snd_wnd = 65535;
	tcp.has_max_window = 1, tcp.max_window = 65536;
	tcp.has_rcv_wnd = 1, tcp.rcv_wnd = 43690;
	tcp.has_rcv_wup = 1, tcp.rcv_wup = 12;
	return write_one(t, CR_IMG_TCP_STREAM, TCP_INODE, (const void *[]){ &tcp, NULL }, INQ_DATA OUTQ_DATA,
			 strlen(INQ_DATA OUTQ_DATA));
}

static int write_core(struct crit_test *t)
{
	UserX86RegsEntry gp = USER_X86_REGS_ENTRY__INIT;
	UserX86FpregsEntry fp = USER_X86_FPREGS_ENTRY__INIT;
	ThreadInfoX86 ti = THREAD_INFO_X86__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	ThreadCoreEntry th = THREAD_CORE_ENTRY__INIT;
	CredsEntry creds = CREDS_ENTRY__INIT;
	CoreEntry core = CORE_ENTRY__INIT;
	uint32_t st[32], xmm[64], padding[24], caps[2] = { 0xffffffff, 0x1ff };

	for (int i = 0; i < 32; i++)
		st[i] = 0x1000 + i;
	for (int i = 0; i < 64; i++)
		xmm[i] = 0xabcd0000u + i;
	memset(padding, 0, sizeof(padding));

	gp.ip = 0x401000, gp.sp = 0x7ffd12345678ULL, gp.ax = 42, gp.orig_ax = (uint64_t)-1,
	gp.fs_base = 0x7f0000001000ULL;
	gp.cs = 0x33, gp.ss = 0x2b, gp.flags = 0x246;
	gp.has_mode = 1, gp.mode = USER_X86_REGS_MODE__NATIVE;
	fp.cwd = 0x37f, fp.mxcsr = 0x1f80, fp.mxcsr_mask = 0xffff;
	fp.n_st_space = 32, fp.st_space = st;
	fp.n_xmm_space = 64, fp.xmm_space = xmm;
	fp.n_padding = 24, fp.padding = padding;
	ti.clear_tid_addr = 0x7f0000002000ULL, ti.gpregs = &gp, ti.fpregs = &fp;

	tc.task_state = 1, tc.blk_sigset = 0x10, tc.comm = "test-comm";
	creds.uid = 1000, creds.gid = 1001, creds.euid = 1002, creds.egid = 1003;
	creds.n_cap_eff = 2, creds.cap_eff = caps;
	th.futex_rla = 0x7f0000003000ULL, th.futex_rla_len = 24, th.creds = &creds;
	th.has_sched_nice = 1, th.sched_nice = -5;

	core.mtype = CORE_ENTRY__MARCH__X86_64;
	core.thread_info = &ti, core.tc = &tc, core.thread_core = &th;
	return write_one(t, CR_IMG_CORE, 100, (const void *[]){ &core, NULL }, NULL, 0);
}

static int write_mem_and_misc(struct crit_test *t)
{
	DumpStatsEntry ds = DUMP_STATS_ENTRY__INIT;
	StatsEntry stats = STATS_ENTRY__INIT;
	PagemapHead head = PAGEMAP_HEAD__INIT;
	PagemapEntry pe0 = PAGEMAP_ENTRY__INIT, pe1 = PAGEMAP_ENTRY__INIT;
	VmaEntry vma = VMA_ENTRY__INIT;
	VmaEntry *vmas[] = { &vma };
	MmEntry mm = MM_ENTRY__INIT;
	FsEntry fs = FS_ENTRY__INIT;
	int ret;

	ds.freezing_time = 10, ds.frozen_time = 20, ds.memdump_time = 30, ds.memwrite_time = 40;
	ds.pages_scanned = 100, ds.pages_written = 50;
	stats.dump = &ds;
	ret = write_one(t, CR_IMG_STATS_DUMP, 0, (const void *[]){ &stats, NULL }, NULL, 0);
	if (ret)
		return ret;

	head.pages_id = 7;
	/* Both lengths, as criu writes them (crit shows them under CRIU 4's names). */
	pe0.vaddr = 0x400000, pe0.compat_nr_pages = 2, pe0.has_nr_pages = 1, pe0.nr_pages = 2;
	pe0.has_flags = 1, pe0.flags = 1;
	pe1.vaddr = 0x7ffd00000000ULL, pe1.compat_nr_pages = 33, pe1.has_nr_pages = 1, pe1.nr_pages = 33;
	ret = write_one(t, CR_IMG_PAGEMAP, 100, (const void *[]){ &head, &pe0, &pe1, NULL }, NULL, 0);
	if (ret)
		return ret;

	vma.start = 0x400000, vma.end = 0x402000, vma.prot = 5, vma.flags = 2, vma.status = 1, vma.fd = -1;
	mm.mm_start_code = 0x400000, mm.mm_brk = 0x600000, mm.exe_file_id = 3;
	mm.n_vmas = 1, mm.vmas = vmas;
	ret = write_one(t, CR_IMG_MM, 100, (const void *[]){ &mm, NULL }, NULL, 0);
	if (ret)
		return ret;

	fs.cwd_id = 8, fs.root_id = 9, fs.has_umask = 1, fs.umask = 022;
	return write_one(t, CR_IMG_FS, 100, (const void *[]){ &fs, NULL }, NULL, 0);
}

static int write_files(struct crit_test *t)
{
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	FdinfoEntry fdi = FDINFO_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	RegFileEntry reg = REG_FILE_ENTRY__INIT;
	SkOptsEntry skopts = SK_OPTS_ENTRY__INIT;
	InetSkEntry isk = INET_SK_ENTRY__INIT;
	FileEntry f0 = FILE_ENTRY__INIT, f1 = FILE_ENTRY__INIT;
	uint32_t src[] = { 0x0100007f }, dst[] = { 0x0200007f };
	int ret;

	ids.vm_id = 11, ids.files_id = 12, ids.fs_id = 13, ids.sighand_id = 14;
	ret = write_one(t, CR_IMG_IDS, 100, (const void *[]){ &ids, NULL }, NULL, 0);
	if (ret)
		return ret;

	fdi.id = 5, fdi.flags = 1, fdi.type = FD_TYPES__REG, fdi.fd = 3;
	ret = write_one(t, CR_IMG_FDINFO, 12, (const void *[]){ &fdi, NULL }, NULL, 0);
	if (ret)
		return ret;

	reg.id = 5, reg.flags = 02, reg.pos = 4096, reg.fown = &fown, reg.name = "/tmp/some file";
	f0.type = FD_TYPES__REG, f0.id = 5, f0.reg = &reg;
	skopts.so_sndbuf = 16384, skopts.so_rcvbuf = 131072;
	isk.id = 6, isk.ino = 77, isk.family = 2, isk.type = 1, isk.proto = 6, isk.state = 1;
	isk.src_port = 8080, isk.dst_port = 40000, isk.n_src_addr = 1, isk.src_addr = src;
	isk.n_dst_addr = 1, isk.dst_addr = dst, isk.fown = &fown, isk.opts = &skopts;
	f1.type = FD_TYPES__INETSK, f1.id = 6, f1.isk = &isk;
	return write_one(t, CR_IMG_FILES, 0, (const void *[]){ &f0, &f1, NULL }, NULL, 0);
}

/* Decodes @name with crit; returns the flattened "path=value" lines or NULL. */
static char *crit_decode(struct crit_test *t, const char *name, bool pretty)
{
	char in[512], out[512];
	char *decode[] = { PYTHON, CRIT, "decode", "-i", in, "-o", out, pretty ? "--pretty" : NULL, NULL };
	char *flatten[] = { PYTHON, "-c", (char *)flatten_py, out, NULL };
	struct run_result r;
	char *text;

	snprintf(in, sizeof(in), "%s/%s", t->tmp, name);
	snprintf(out, sizeof(out), "%s/%s.json", t->tmp, name);
	if (test_run(&r, t->tmp, NULL, decode, NULL) || r.exit_code) {
		fprintf(stderr, "FAIL crit decode %s: exit %d\n%s\n", name, r.exit_code, r.err ?: "");
		test_run_free(&r);
		return NULL;
	}
	test_run_free(&r);
	if (test_run(&r, t->tmp, NULL, flatten, NULL) || r.exit_code) {
		fprintf(stderr, "FAIL flatten %s: exit %d\n%s\n", name, r.exit_code, r.err ?: "");
		test_run_free(&r);
		return NULL;
	}
	text = r.out;
	r.out = NULL;
	test_run_free(&r);
	return text;
}

static void expect_decoded(struct crit_test *t, const char *name, const char *const *lines)
{
	char *text = crit_decode(t, name, false);

	if (!text) {
		t->failures++;
		return;
	}
	for (; *lines; lines++)
		expect(&t->failures, test_has_line(text, *lines), "%s: crit output lacks %s; it has:\n%s", name, *lines,
		       text);
	free(text);

	text = crit_decode(t, name, true);
	expect(&t->failures, text && strstr(text, "magic="), "%s: crit --pretty failed", name);
	free(text);
}

static void check_with_crit(struct crit_test *t)
{
	expect_decoded(t, "inventory.img",
		       (const char *const[]){ "magic=\"INVENTORY\"", "entries.0.img_version=2",
					      "entries.0.fdinfo_per_id=true", "entries.0.root_ids.fs_id=3",
					      "entries.0.root_ids.pid_ns_id=5", "entries.0.lsmtype=\"APPARMOR\"",
					      "entries.0.dump_uptime=123456789012", "entries.0.tcp_close=true",
					      "entries.0.network_lock_method=1", NULL });
	expect_decoded(t, "pstree.img",
		       (const char *const[]){ "magic=\"PSTREE\"", "entries.0.pid=100", "entries.0.ppid=1",
					      "entries.0.sid=99", "entries.0.threads.2=102", "entries.1.pid=103",
					      "entries.1.ppid=100", "entries.1.threads.0=103", NULL });
	expect_decoded(t, "tcp-stream-1a2b3c.img",
		       (const char *const[]){ "magic=\"TCP_STREAM\"",
					      "entries.0.inq_len=9",
					      "entries.0.inq_seq=3000000000",
					      "entries.0.outq_len=15",
					      "entries.0.outq_seq=17",
					      "entries.0.opt_mask=7",
					      "entries.0.snd_wscale=7",
					      "entries.0.mss_clamp=1460",
					      "entries.0.rcv_wscale=9",
					      "entries.0.timestamp=4000000000",
					      "entries.0.cork=false",
					      "entries.0.nodelay=true",
					      "entries.0.unsq_len=5",
					      "entries.0.snd_wl1=11",
					      "entries.0.snd_wnd=65535",
					      "entries.0.max_window=65536",
					      "entries.0.rcv_wnd=43690",
					      "entries.0.rcv_wup=12",
					      "entries.0.extra.inq=\"" INQ_DATA "\"",
					      "entries.0.extra.outq=\"" OUTQ_DATA "\"",
					      NULL });
	expect_decoded(
		t, "core-100.img",
		(const char *const[]){
			"magic=\"CORE\"", "entries.0.mtype=\"X86_64\"", "entries.0.thread_info.gpregs.ip=4198400",
			"entries.0.thread_info.gpregs.ax=42",
			"entries.0.thread_info.gpregs.orig_ax=18446744073709551615",
			"entries.0.thread_info.gpregs.mode=\"NATIVE\"", "entries.0.thread_info.fpregs.mxcsr=8064",
			"entries.0.thread_info.fpregs.st_space.31=4127",
			"entries.0.thread_info.fpregs.xmm_space.63=2882338879",
			"entries.0.thread_info.clear_tid_addr=139637976735744", "entries.0.tc.comm=\"test-comm\"",
			"entries.0.tc.blk_sigset=16", "entries.0.thread_core.futex_rla_len=24",
			"entries.0.thread_core.sched_nice=-5", "entries.0.thread_core.creds.euid=1002",
			"entries.0.thread_core.creds.cap_eff.1=511", NULL });
	expect_decoded(t, "stats-dump",
		       (const char *const[]){ "magic=\"STATS\"", "entries.0.dump.frozen_time=20",
					      "entries.0.dump.pages_written=50", "entries.0.dump.pages_lazy=0", NULL });
	expect_decoded(t, "pagemap-100.img",
		       (const char *const[]){ "magic=\"PAGEMAP\"", "entries.0.pages_id=7", "entries.1.vaddr=4194304",
					      "entries.1.nr_pages=2", "entries.1.flags=1", "entries.2.nr_pages=33",
					      NULL });
	expect_decoded(t, "mm-100.img",
		       (const char *const[]){ "magic=\"MM\"", "entries.0.mm_brk=6291456", "entries.0.exe_file_id=3",
					      "entries.0.vmas.0.end=4202496", "entries.0.vmas.0.fd=-1", NULL });
	expect_decoded(t, "fs-100.img",
		       (const char *const[]){ "magic=\"FS\"", "entries.0.cwd_id=8", "entries.0.umask=18", NULL });
	expect_decoded(t, "ids-100.img", (const char *const[]){ "magic=\"IDS\"", "entries.0.files_id=12", NULL });
	expect_decoded(t, "fdinfo-12.img",
		       (const char *const[]){ "magic=\"FDINFO\"", "entries.0.type=\"REG\"", "entries.0.fd=3", NULL });
	expect_decoded(t, "files.img",
		       (const char *const[]){ "magic=\"FILES\"", "entries.0.reg.name=\"/tmp/some file\"",
					      "entries.0.reg.pos=4096", "entries.1.type=\"INETSK\"",
					      "entries.1.isk.dst_port=40000", "entries.1.isk.opts.so_rcvbuf=131072",
					      NULL });
}

/* Our reader gets back what our writer put, including the raw queue data. */
static void check_read_back(struct crit_test *t)
{
	char queues[64] = "";
	TcpStreamEntry *tcp;
	PstreeEntry *p;
	struct cr_img *img;
	void *msg;
	int ret, n = 0;

	ret = img_open(&img, t->dirfd, IMG_READ, CR_IMG_PSTREE);
	expect(&t->failures, !ret, "open pstree.img: %d", ret);
	while (!ret) {
		ret = img_read_entry(img, &msg);
		if (ret || !msg)
			break;
		p = msg;
		expect(&t->failures, p->pid == (n ? 103u : 100u) && p->n_threads == (n ? 1u : 3u),
		       "pstree entry %d: pid %u, %zu threads", n, p->pid, p->n_threads);
		img_free_entry(p);
		n++;
	}
	expect(&t->failures, !ret && n == 2, "pstree read back: ret %d, %d entries", ret, n);
	img_close(img);

	ret = img_open(&img, t->dirfd, IMG_READ, CR_IMG_TCP_STREAM, TCP_INODE);
	expect(&t->failures, !ret, "open tcp-stream: %d", ret);
	if (ret)
		return;
	ret = img_read_one(img, &msg);
	expect(&t->failures, !ret, "read tcp-stream entry: %d", ret);
	if (!ret) {
		tcp = msg;
		ret = img_read_raw(img, queues, tcp->inq_len + tcp->outq_len);
		expect(&t->failures, !ret && !strcmp(queues, INQ_DATA OUTQ_DATA) && tcp->rcv_wup == 12,
		       "tcp-stream read back: ret %d, queues '%s'", ret, queues);
		img_free_entry(tcp);
		ret = img_read_entry(img, &msg);
		expect(&t->failures, !ret && !msg, "tcp-stream: something after the queues");
	}
	img_close(img);
}

static bool crit_usable(void)
{
	char *argv[] = { PYTHON, CRIT, "--version", NULL };
	char tmp[256];
	struct run_result r;
	bool ok;

	if (access(CRIT, R_OK) || access(PYTHON, X_OK) || test_mkdtemp(tmp, sizeof(tmp), "crit-probe"))
		return false;
	ok = !test_run(&r, tmp, NULL, argv, NULL) && r.exit_code == 0;
	test_run_free(&r);
	test_rm_rf(tmp);
	return ok;
}

int main(void)
{
	struct crit_test t = {};
	int ret;

	if (!crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(t.tmp, sizeof(t.tmp), "crit")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	t.dirfd = open(t.tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = t.dirfd < 0 ? -errno : 0;
	if (!ret)
		ret = write_inventory_pstree_tcp(&t);
	if (!ret)
		ret = write_core(&t);
	if (!ret)
		ret = write_mem_and_misc(&t);
	if (!ret)
		ret = write_files(&t);
	if (ret) {
		fprintf(stderr, "FAIL: writing the images: %s\n", strerror(-ret));
		t.failures++;
	} else {
		check_with_crit(&t);
		check_read_back(&t);
	}
	close(t.dirfd);
	test_rm_rf(t.tmp);
	if (t.failures) {
		fprintf(stderr, "image-crit: %d failures\n", t.failures);
		return TEST_FAIL;
	}
	printf("image-crit: all passed\n");
	return TEST_PASS;
}
