"""The checks CRIU 4's restore makes on the images criu-ng writes, applied to a
dump directory without CRIU. Each rule has an id; Documentation/image-compat.md
says what each one is, why CRIU makes it and where in CRIU's restore it lies.
check() returns (failures, notes): a failure is an image CRIU 4 would refuse or
restore wrongly; a note is a file CRIU 4 can't read that criu-ng writes only on
request of a documented option (packed TCP streams), or an entry CRIU 4 restores
only with an option of its own (--ext-unix-sk, --shell-job)."""

import os

from imgcheck.pbimg import ImageError, Images

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

IMAGES_V1, IMAGES_V1_1 = 1, 2
LSM_TYPES = (0, 1, 2)  # NO_LSM, SELINUX, APPARMOR
LOCK_METHODS = (0, 1, 2)  # iptables, nftables, skip
MARCH_X86_64 = 1
TASK_ALIVE, TASK_DEAD, TASK_STOPPED = 1, 2, 3
NR_SIGACTIONS = 64 - 2  # every signal but SIGKILL and SIGSTOP
AUXV_MAX_WORDS = 44  # CRIU's AT_VECTOR_SIZE on x86-64 (criu/include/mm.h: MM_AUXV_MAX_WORDS)
NSIG = 64
SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE = 0, 1, 2, 3, 5
NS_FIELDS = ("pid_ns_id", "net_ns_id", "ipc_ns_id", "uts_ns_id", "mnt_ns_id", "user_ns_id", "cgroup_ns_id",
             "time_ns_id")

VMA_AREA_REGULAR = 1 << 0
VMA_AREA_VSYSCALL = 1 << 2
VMA_AREA_VDSO = 1 << 3
VMA_FILE_PRIVATE = 1 << 6
VMA_FILE_SHARED = 1 << 7
VMA_ANON_SHARED = 1 << 8
VMA_ANON_PRIVATE = 1 << 9
VMA_AREA_VVAR = 1 << 12
VMA_AREA_MEMFD = 1 << 14
VMA_UNSUPP = 1 << 31
PE_PARENT, PE_LAZY, PE_PRESENT = 1, 2, 4
FD_TYPE_REG, FD_TYPE_INETSK, FD_TYPE_UNIXSK, FD_TYPE_EVENTPOLL, FD_TYPE_TTY, FD_TYPE_MEMFD = 1, 4, 5, 7, 11, 18
FD_TYPE_NETLINKSK = 13
FD_TYPE_EVENTFD = 6
FD_TYPE_TIMERFD = 17
FD_TYPE_SIGNALFD = 9
FD_TYPE_INOTIFY = 8
# The kinds whose restore takes its entry from the file's body in files.img.
BODY_RULE = {
    FD_TYPE_EVENTFD: ("EFD-BODY", "efd"),
    FD_TYPE_TIMERFD: ("TFD-BODY", "tfd"),
    FD_TYPE_SIGNALFD: ("SGFD-BODY", "sgfd"),
    FD_TYPE_INOTIFY: ("IFY-BODY", "ify"),
    FD_TYPE_MEMFD: ("MEMFD-BODY", "memfd"),
}
EVENTFD_MAX_INIT = 0xffffffff  # eventfd()'s initial value is an unsigned int
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME = 0, 1, 7
NSEC_PER_SEC = 1000000000
IN_ALL_EVENTS = 0xfff
MAX_HANDLE_SZ = 128
MFD_NAME_MAX = 249  # memfd_create()'s limit on a name
# filelocks.img: CRIU's own numbering of lock kinds (criu/include/file-lock.h), not the kernel's.
FL_POSIX, FL_FLOCK, FL_OFD, FL_LEASE = 1, 2, 4, 8
F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
LOCK_MAND = 32
LEASE_BREAKING = 4  # CRIU's mark of a lease being broken, beside its type
SCM_RIGHTS = 1
NETLINK_CONNECTED = 1
FD_TYPE_PIPE, FD_TYPE_FIFO = 2, 3
PIPE_DEFAULT_SIZE = 65536  # 16 pages: a new pipe's capacity when the entry gives no size
# The sub-entry of each kind's file_entry, whose id must be the file's.
FILE_SUBENTRY = {1: "reg", 4: "isk", 5: "usk", 6: "efd", 7: "epfd", 9: "sgfd", 11: "tty", 17: "tfd", 8: "ify",
                 18: "memfd", 2: "pipe", 3: "fifo", 13: "nlsk", 14: "nsf"}
REMAP_LINKED = 0
FD_TYPE_NS = 14
# ns_file_entry.ns_cflag (a CLONE_NEW* flag) and the ids field naming the namespace of that kind.
NS_CFLAG_FIELD = {0x40000000: "net_ns_id", 0x08000000: "ipc_ns_id", 0x04000000: "uts_ns_id", 0x00020000: "mnt_ns_id",
                  0x20000000: "pid_ns_id", 0x10000000: "user_ns_id", 0x02000000: "cgroup_ns_id",
                  0x00000080: "time_ns_id"}
REMAP_GHOST = 1  # remap_type GHOST; images older than the field mark a ghost's remap_id with this bit
REMAP_GHOST_BIT = 1 << 31
AF_INET, AF_INET6 = 2, 10
SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET = 1, 2, 5
IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE = 6, 17, 136
TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING = \
    1, 4, 5, 7, 8, 9, 10, 11
TCP_CONN_STATES = (TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_CLOSING)
UNIX_PATH_MAX = 108
USK_EXTERN = 1
SK_SHUTDOWN_BOTH = 3
TTY_PTY, TTY_CONSOLE, TTY_VT, TTY_CTTY, TTY_EXT, TTY_SERIAL = 1, 2, 3, 4, 5, 6
# CRIU's tty ids: the driver's index times two, plus one for a pty master (tty.c: tty_gen_id()).
TTY_MAX_PTY_INDEX, TTY_FIXED_INDEX = 1000, {TTY_CONSOLE: 1002, TTY_VT: 1004, TTY_CTTY: 1006, TTY_SERIAL: 0}
TERMIOS_NCC = 19
S_IFMT, S_IFDIR, S_IFREG = 0o170000, 0o040000, 0o100000
# xsave components: proto field, bytes each element, bytes in the kernel's xstate layout.
XSAVE_SIZES = {"ymmh_space": (4, 256), "bndreg_state": (8, 64), "bndcsr_state": (8, 64), "opmask_reg": (8, 64),
               "zmm_upper": (8, 512), "hi16_zmm": (8, 1024), "pkru": (4, 8)}


class Checker:
    def __init__(self, images_dir, top):
        self.img = Images(images_dir, top)
        self.failures = []
        self.notes = []
        self.mnt_images = any(n.startswith("mountpoints-") for n in os.listdir(images_dir))

    def fail(self, rule, where, text):
        self.failures.append("%s %s: %s" % (rule, where, text))

    def load(self, name, rule, first_message=None):
        if not self.img.exists(name):
            self.fail(rule, name, "missing")
            return None
        try:
            return self.img.entries(name, first_message)
        except ImageError as e:
            self.fail("IMG-DECODE", name, str(e))
            return None

    # Every image: the magics CRIU's open_image() checks, the fields its protobuf-c unpack requires.
    def check_files(self):
        for name in sorted(os.listdir(self.img.dir)):
            kind, _ = self.img.kind_of(name)
            if name == "tcp-streams.img":
                self.notes.append("TCP-PACKED %s: criu-ng's packed TCP streams, which CRIU can't read "
                                  "(dump with --tcp-images criu for CRIU)" % name)
                continue
            if kind is None or kind.message is None:
                continue
            first, magic = self.img.magics(name)
            want = (kind.first_magic, kind.magic) if kind.first_magic else (kind.magic, None)
            got = (first, magic) if kind.first_magic else (first, None)
            if got != want:
                self.fail("IMG-MAGIC", name, "magics %s, CRIU expects %s" % (got, want))
                continue
            first_message = "pagemap_head" if kind.message == "pagemap_entry" else None
            entries = self.load(name, "IMG-DECODE", first_message)
            for i, e in enumerate(entries or []):
                message = first_message if first_message and i == 0 else kind.message
                self.check_required(name, i, message, e)

    def check_required(self, name, index, message, entry):
        schema = self.img.schema
        for field in schema.messages[message].values():
            value = entry.get(field.name)
            if field.label == "required" and value is None:
                self.fail("IMG-REQUIRED", name, "entry %d (%s) lacks required field %s" % (index, message, field.name))
            if field.type in schema.messages and value is not None:
                for v in value if isinstance(value, list) else [value]:
                    self.check_required(name, index, field.type, v)

    # inventory.img: check_img_inventory() and validate_lsm() in CRIU.
    def check_inventory(self):
        entries = self.load("inventory.img", "INV-EXISTS")
        if not entries:
            return None
        inv = entries[0]
        if inv.get("img_version") not in (IMAGES_V1, IMAGES_V1_1):
            self.fail("INV-VERSION", "inventory.img", "img_version %s" % inv.get("img_version"))
        if not inv.get("fdinfo_per_id"):
            self.fail("INV-FDINFO-PER-ID", "inventory.img", "fdinfo_per_id is not set: 'Too old image'")
        if inv.get("root_cg_set") == 0:
            self.fail("INV-CGSET", "inventory.img", "root_cg_set is 0: 'Corrupted root cgset'")
        if inv.get("lsmtype", 0) not in LSM_TYPES:
            self.fail("INV-LSM", "inventory.img", "lsmtype %s" % inv.get("lsmtype"))
        if inv.get("network_lock_method", 0) not in LOCK_METHODS:
            self.fail("INV-LOCK", "inventory.img", "network_lock_method %s" % inv.get("network_lock_method"))
        if not inv.get("root_ids"):
            self.fail("INV-ROOT-IDS", "inventory.img", "no root_ids: 'No kIDs provided, image corruption'")
        return inv

    # pstree.img: read_pstree_image() in CRIU.
    def check_pstree(self):
        entries = self.load("pstree.img", "PSTREE-EXISTS") or []
        if not entries:
            self.fail("PSTREE-EXISTS", "pstree.img", "no process")
        seen = set()
        for i, e in enumerate(entries):
            pid, threads = e.get("pid", 0), e.get("threads", [])
            if pid <= 0 or pid in seen:
                self.fail("PSTREE-PID", "pstree.img", "entry %d: pid %s is not a new positive pid" % (i, pid))
            if i == 0 and e.get("ppid"):
                self.fail("PSTREE-ROOT", "pstree.img", "the root process has ppid %s, not 0" % e.get("ppid"))
            if i and e.get("ppid") not in seen:
                self.fail("PSTREE-ORDER", "pstree.img", "entry %d: parent %s is not listed before it"
                          % (i, e.get("ppid")))
            if pid not in threads:
                self.fail("PSTREE-THREADS", "pstree.img", "process %s is not among its threads %s" % (pid, threads))
            if len(set(threads)) != len(threads):
                self.fail("PSTREE-THREADS", "pstree.img", "process %s lists a thread twice" % pid)
            seen.add(pid)
        self.check_sessions(entries)
        return entries

    # prepare_pstree_ids() in CRIU: a session neither the process's own nor its parent's has its
    # leader among its ancestors, or its dead leader stands in as a helper for the root's children.
    # Each ancestor on the way was born in that session (born_sid), and can't be born in two.
    def check_sessions(self, entries):
        by_pid = {e.get("pid"): e for e in entries}
        root = entries[0].get("pid") if entries else None
        born = {}
        for e in entries[1:]:
            sid, parent = e.get("sid"), by_pid.get(e.get("ppid"))
            if sid == e.get("pid") or not parent or parent.get("sid") == sid:
                continue
            if e.get("ppid") == root and sid not in by_pid:
                continue  # a helper with the dead leader's pid forks it
            while parent and parent.get("pid") != sid:
                if born.setdefault(parent.get("pid"), sid) != sid:
                    self.fail("PSTREE-SID", "pstree.img", "process %s born in sessions %s and %s: 'Can't "
                              "determinate with which sid'" % (parent.get("pid"), born[parent.get("pid")], sid))
                parent = by_pid.get(parent.get("ppid"))
            if not parent:
                self.fail("PSTREE-SID", "pstree.img", "process %s: no leader of its session %s among its "
                          "ancestors: 'Can't find a session leader'" % (e.get("pid"), sid))

    def is_zombie(self, pid):
        """True when core-PID.img says the process is dead (a zombie)."""
        name = "core-%d.img" % pid
        if not self.img.exists(name):
            return False
        try:
            tc = self.img.entries(name)[0].get("tc") or {}
        except (ImageError, IndexError):
            return False
        return tc.get("task_state") == TASK_DEAD

    # ids-PID.img against root_ids: prepare_pstree_kobj_ids() and get_clone_mask() in CRIU.
    def check_ids(self, inv, procs):
        root_ids = inv.get("root_ids") if inv else None
        ids = {}
        for i, p in enumerate(procs):
            name = "ids-%d.img" % p["pid"]
            # A zombie has none: CRIU writes none, and its restore reads a missing image as empty.
            if self.is_zombie(p["pid"]):
                continue
            entries = self.load(name, "IDS-EXISTS")
            if not entries:
                continue
            ids[p["pid"]] = entries[0]
            if i or not root_ids:
                continue
            if entries[0]["files_id"] == root_ids["files_id"]:
                self.fail("IDS-ROOT-FILES", name, "files_id %d is root_ids' own: 'Image corruption on kIDs data'"
                          % entries[0]["files_id"])
            for field in NS_FIELDS:
                if field == "net_ns_id" and entries[0].get(field) != root_ids.get(field):
                    self.check_netns(entries[0].get(field))
                elif entries[0].get(field) != root_ids.get(field):
                    self.fail("IDS-ROOT-NS", name, "%s %s differs from root_ids' %s: CRIU would restore a new "
                              "namespace, whose images the dump lacks" % (field, entries[0].get(field),
                                                                          root_ids.get(field)))
        for p in procs[1:]:
            mine, parent = ids.get(p["pid"]), ids.get(p["ppid"])
            if mine and parent:
                for field in NS_FIELDS:
                    if mine.get(field) != parent.get(field):
                        self.fail("IDS-SUB-NS", "ids-%d.img" % p["pid"], "%s differs from its parent's: "
                                  "'Can't restore sub-task in NS'" % field)
        return ids

    # A network namespace of the tree's own: CRIU's prepare_net_namespaces() makes it and restores
    # the links of netdev-ID.img (lo among them, or lo stays down) and the raw ifaddr/route images.
    def check_netns(self, ns_id):
        if ns_id is None:
            self.fail("IDS-ROOT-NET", "ids", "no net_ns_id, unlike root_ids: a new namespace with no id")
            return
        links = self.load("netdev-%d.img" % ns_id, "NETNS-NETDEV") or []
        if links and not any(link.get("type") in (1, "LOOPBACK") for link in links):
            self.fail("NETNS-LO", "netdev-%d.img" % ns_id, "no loopback link: lo would stay down")
        self.load("netns-%d.img" % ns_id, "NETNS-ENTRY")
        if not self.img.exists("ifaddr-%d.img" % ns_id):
            self.fail("NETNS-IFADDR", "ifaddr-%d.img" % ns_id, "missing: the namespace would have no address")

    # core-TID.img: check_core() and the x86 register restore in CRIU.
    def check_cores(self, procs):
        for p in procs:
            for tid in p.get("threads", []):
                name = "core-%d.img" % tid
                entries = self.load(name, "CORE-EXISTS")
                if entries:
                    self.check_core(name, entries[0], tid == p["pid"])

    def check_core(self, name, core, leader):
        if core.get("mtype") != MARCH_X86_64:
            self.fail("CORE-MARCH", name, "mtype %s: 'Core march mismatch'" % core.get("mtype"))
        tc = core.get("tc")
        if leader and not tc:
            self.fail("CORE-TC", name, "no task core: 'Core task state data missed'")
            return
        state = tc.get("task_state") if tc else TASK_ALIVE
        if state not in (TASK_ALIVE, TASK_STOPPED, TASK_DEAD):
            self.fail("CORE-STATE", name, "task_state %s" % state)
        ti = core.get("thread_info")
        if state != TASK_DEAD and (not ti or "gpregs" not in ti):
            self.fail("CORE-TI", name, "no thread_info: 'Core info data missed for non-zombie'")
            return
        if ti and ti["gpregs"].get("mode", 1) != 1:
            self.fail("CORE-COMPAT", name, "32-bit registers")
        fp = (ti or {}).get("fpregs")
        if fp:
            if len(fp.get("st_space", [])) < 32 or len(fp.get("xmm_space", [])) < 64:
                self.fail("CORE-FPU", name, "st_space/xmm_space shorter than 32/64 words: 'Corruption in FPU'")
            for field, (each, size) in XSAVE_SIZES.items():
                n = len((fp.get("xsave") or {}).get(field, []))
                if n and n * each != size:
                    self.fail("CORE-XSAVE", name, "%s holds %d bytes, the xstate component %d" % (field, n * each,
                                                                                               size))
        if not leader and (tc or core.get("ids")):
            self.fail("CORE-THREAD-EXTRA", name, "a thread's core with a task core or ids: 'Thread has optional "
                      "fields present'")
        thread = core.get("thread_core")
        if not thread and state == TASK_DEAD:
            return  # a zombie's core: its task core only, as CRIU writes it
        if not thread:
            self.fail("CORE-THREAD", name, "no thread_core")
            return
        if not thread.get("creds"):
            self.fail("CORE-CREDS", name, "no creds in thread_core (CRIU 4 reads no creds-PID.img)")
        if thread.get("pdeath_sig", 0) > NSIG:
            self.fail("CORE-PDEATH", name, "pdeath_sig %d: 'Pdeath signal is too big'" % thread["pdeath_sig"])
        if "sched_policy" in thread:
            policy, nice, prio = thread["sched_policy"], thread.get("sched_nice", 0), thread.get("sched_prio", 0)
            rt = policy in (SCHED_FIFO, SCHED_RR)
            if not -20 <= nice <= 19 or policy not in (SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH,
                                                       SCHED_IDLE) or (rt and not 0 < prio < 100) or \
                    (not rt and prio):
                self.fail("CORE-SCHED", name, "policy %d, nice %d, priority %d: 'Inconsistent sched params'"
                          % (policy, nice, prio))
        if leader and tc:
            if len(tc.get("sigactions", [])) != NR_SIGACTIONS:
                self.fail("CORE-SIGACTS", name, "%d sigactions, CRIU 4 reads %d from the core"
                          % (len(tc.get("sigactions", [])), NR_SIGACTIONS))
            if not tc.get("rlimits"):
                self.fail("CORE-RLIMITS", name, "no rlimits")
            if tc.get("cg_set") == 0:
                self.fail("CORE-CGSET", name, "cg_set 0")

    # files.img, fdinfo-ID.img, fs-PID.img: collect_fd(), prepare_fs_pid() and open_path() in CRIU.
    def check_files_and_fs(self, procs, ids):
        files = {}
        for e in self.load("files.img", "FILES-EXISTS") or []:
            if e["id"] in files:
                self.fail("FILES-DUP", "files.img", "file id %d twice" % e["id"])
            files[e["id"]] = e
            sub = FILE_SUBENTRY.get(e["type"])
            if sub and e.get(sub) is not None and e[sub].get("id") != e["id"]:
                self.fail("FILES-SUBID", "files.img", "file %d: its %s entry has id %s: CRIU files it under that id, "
                          "and the fds naming %d find nothing" % (e["id"], sub, e[sub].get("id"), e["id"]))
            reg = e.get("reg")
            if e["type"] == FD_TYPE_REG:
                if not reg or reg.get("id") != e["id"]:
                    self.fail("FILES-REG", "files.img", "REG file %d without its reg entry" % e["id"])
                elif not reg["name"].startswith("/"):
                    self.fail("FILES-PATH", "files.img", "file %d: relative path %r" % (e["id"], reg["name"]))
                else:
                    self.check_reg(reg)
        for p in procs:
            pid_ids = ids.get(p["pid"])
            if pid_ids:
                name = "fdinfo-%d.img" % pid_ids["files_id"]
                fds = self.proc_fds.setdefault(p["pid"], {})
                for fd in (self.load(name, "FDINFO-EXISTS") if self.img.exists(name) else []) or []:
                    f = files.get(fd["id"])
                    if fd["fd"] in fds:
                        self.fail("FDINFO-DUP", name, "fd %d twice" % fd["fd"])
                    fds[fd["fd"]] = fd["id"]
                    if not f:
                        self.fail("FDINFO-FILE", name, "fd %d names file %d, which files.img lacks"
                                  % (fd["fd"], fd["id"]))
                    elif f["type"] != fd["type"]:
                        self.fail("FDINFO-TYPE", name, "fd %d has type %d, its file %d" % (fd["fd"], fd["type"],
                                                                                         f["type"]))
            name = "fs-%d.img" % p["pid"]
            for e in (self.load(name, "FS-EXISTS") if not self.is_zombie(p["pid"]) else []) or []:
                for field in ("cwd_id", "root_id"):
                    f = files.get(e[field])
                    reg = f.get("reg") if f else None
                    if not reg:
                        self.fail("FS-FILE", name, "%s %d names no REG file" % (field, e[field]))
                    elif "mode" in reg and not reg["mode"] & S_IFDIR:
                        self.fail("FS-DIR", name, "%s %d is not a directory" % (field, e[field]))
        return files

    # An open namespace file: CRIU's restore opens it through a task living in the namespace of that id
    # (namespaces.c), found among the ids of the tree's tasks; any other id is "Can't find ns".
    def check_ns_files(self, files, ids):
        for f in files.values():
            if f["type"] != FD_TYPE_NS:
                continue
            nsf = f.get("nsf")
            field = NS_CFLAG_FIELD.get(nsf["ns_cflag"]) if nsf else None
            if not field:
                self.fail("NSFILE-KIND", "files.img", "namespace file %d: no body or an unknown ns_cflag" % f["id"])
            elif not any(e.get(field) == nsf["ns_id"] for e in ids.values()):
                self.fail("NSFILE-NS", "files.img", "namespace file %d names %s %d, which no process of the tree "
                          "lives in: 'Can't find ns'" % (f["id"], field, nsf["ns_id"]))

    def check_reg(self, reg):
        where = "files.img file %d (%s)" % (reg["id"], reg["name"])
        if "size" in reg and "mode" in reg and reg["mode"] & S_IFMT != S_IFREG:
            self.fail("FILES-SIZE", where, "a size on a file that is not regular: CRIU's restore compares it, "
                      "and a directory's size changes with its entries")
        if reg.get("mnt_id", -1) != -1 and not self.mnt_images:
            self.fail("FILES-MNTID", where, "mount id %d, but the dump has no mount namespace images to find it "
                      "in" % reg["mnt_id"])

    # remap-fpath.img, ghost-file-ID.img: collect_one_remap(), open_remap_ghost() and mkreg_ghost() in CRIU's
    # files-reg.c.
    def check_ghosts(self, files):
        if not self.img.exists("remap-fpath.img"):
            return
        for e in self.load("remap-fpath.img", "REMAP-EXISTS") or []:
            where = "remap-fpath.img file %d" % e["orig_id"]
            rtype = e.get("remap_type", 1 if e["remap_id"] & REMAP_GHOST_BIT else 0)
            if rtype == REMAP_LINKED:
                for fid, what in ((e["orig_id"], "remapped"), (e["remap_id"], "its link")):
                    f = files.get(fid)
                    if f is None or f["type"] != FD_TYPE_REG:
                        self.fail("REMAP-LINK", where, "%s (file %d) is no regular file of files.img" % (what, fid))
                continue
            if rtype != REMAP_GHOST:
                continue
            f = files.get(e["orig_id"])
            if f is None or f["type"] != FD_TYPE_REG:
                self.fail("REMAP-FILE", where, "remapped, but no regular file of files.img ('Remap for non "
                          "existing file')")
            name = "ghost-file-%x.img" % (e["remap_id"] & ~REMAP_GHOST_BIT)
            gf = (self.load(name, "GHOST-EXISTS") or [None])[0]
            if gf is not None:
                self.check_ghost(name, gf)

    def check_ghost(self, name, gf):
        if not gf.get("chunks"):
            return
        if "size" not in gf:
            self.fail("GHOST-SIZE", name, "chunks but no size ('Corrupted ghost image -> no size')")
            return
        try:
            chunks = self.img.ghost_chunks(name, self.img.first_entry_size(name))
        except ImageError as e:
            self.fail("IMG-DECODE", name, str(e))
            return
        end = 0
        for i, c in enumerate(chunks):
            self.check_required(name, i + 1, "ghost_chunk_entry", c)
            off, length = c.get("off", 0), c.get("len", 0)
            if off < end or off + length > gf["size"]:
                self.fail("GHOST-CHUNK", name, "chunk %d (%d bytes at %d) overlaps the one before it or passes "
                          "the size %d" % (i, length, off, gf["size"]))
            end = off + length

    # Sockets: open_inet_sk(), inet_validate_address() and the TCP restore in CRIU's sk-inet.c and sk-tcp.c.
    def check_inet_sockets(self, files):
        for f in files.values():
            isk = f.get("isk") if f["type"] == FD_TYPE_INETSK else None
            if isk is None:
                continue
            where = "files.img inet socket %d (inode %d)" % (f["id"], isk["ino"])
            family, stype, proto, state = isk["family"], isk["type"], isk["proto"], isk["state"]
            if family not in (AF_INET, AF_INET6):
                self.fail("ISK-FAMILY", where, "family %d: 'Unsupported socket family'" % family)
                continue
            if stype not in (SOCK_STREAM, SOCK_DGRAM):
                self.fail("ISK-TYPE", where, "type %d: 'Unsupported socket type'" % stype)
                continue
            words = 1 if family == AF_INET else 4
            nsrc, ndst = len(isk.get("src_addr", [])), len(isk.get("dst_addr", []))
            if (family == AF_INET and (nsrc < words or ndst < words)) or \
                    (family == AF_INET6 and (nsrc != words or ndst != words)):
                self.fail("ISK-ADDR", where, "%d and %d address words for family %d: 'Addr len mismatch'"
                          % (nsrc, ndst, family))
            if (stype == SOCK_STREAM) != (proto == IPPROTO_TCP) or \
                    (stype == SOCK_DGRAM and proto not in (IPPROTO_UDP, IPPROTO_UDPLITE)):
                self.fail("ISK-PROTO", where, "type %d with protocol %d: CRIU's socket() fails" % (stype, proto))
                continue
            if proto == IPPROTO_TCP:
                self.check_tcp_socket(where, isk)
            elif (state == TCP_ESTABLISHED) != bool(isk["dst_port"]) or state not in (TCP_ESTABLISHED, TCP_CLOSE):
                self.fail("ISK-UDP-STATE", where, "state %d with peer port %d: a datagram socket is connected "
                          "(state 1) exactly when it has a peer" % (state, isk["dst_port"]))

    def check_tcp_socket(self, where, isk):
        state, dport = isk["state"], isk["dst_port"]
        if state == TCP_LISTEN:
            if dport or not isk["src_port"]:
                self.fail("ISK-LISTEN", where, "a listener with local port %d and peer port %d: CRIU binds the "
                          "one and connects to the other" % (isk["src_port"], dport))
        elif state in TCP_CONN_STATES:
            # CRIU takes a TCP socket with a peer port for a connection: repaired from tcp-stream-INO.img.
            if not dport:
                self.fail("ISK-TCP-STATE", where, "state %d without a peer port: CRIU would not repair it as a "
                          "connection" % state)
            elif not self.img.exists("tcp-stream-%x.img" % isk["ino"]) and not self.img.exists("tcp-streams.img"):
                self.fail("ISK-TCP-STREAM", where, "a connection without tcp-stream-%x.img" % isk["ino"])
        elif state == TCP_CLOSE:
            if dport:
                self.fail("ISK-TCP-STATE", where, "a closed socket with peer port %d: CRIU would repair it as a "
                          "connection" % dport)
        else:
            self.fail("ISK-TCP-STATE", where, "TCP state %d, which CRIU's restore does not rebuild" % state)

    # Unix sockets: collect_one_unixsk(), fixup_unix_peer(), open_unixsk_standalone() in CRIU's sk-unix.c.
    def check_unix_sockets(self, files):
        usks = {f["id"]: f["usk"] for f in files.values() if f["type"] == FD_TYPE_UNIXSK and f.get("usk")}
        by_ino = {u["ino"]: u for u in usks.values()}
        for fid, u in sorted(usks.items()):
            where = "files.img unix socket %d (inode %d)" % (fid, u["ino"])
            name = u.get("name", b"") or b""
            if u["type"] not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
                self.fail("USK-TYPE", where, "type %d: CRIU's socket() fails" % u["type"])
            # An external socket (CRIU's own form: a bound datagram "listener") is never opened.
            if not u.get("uflags", 0) & USK_EXTERN and (u["state"] not in (TCP_ESTABLISHED, TCP_CLOSE, TCP_LISTEN) or
                                                         (u["state"] == TCP_LISTEN and u["type"] == SOCK_DGRAM)):
                self.fail("USK-STATE", where, "state %d for type %d" % (u["state"], u["type"]))
            if len(name) > UNIX_PATH_MAX:
                self.fail("USK-NAME", where, "a name of %d bytes: 'Bad unix name len'" % len(name))
            if u.get("deleted") and (not name or name[:1] == b"\0"):
                self.fail("USK-DELETED", where, "deleted without a path name: 'No name present'")
            peer = u.get("peer", 0)
            if peer and peer not in by_ino:
                self.fail("USK-PEER", where, "peer %d is no unix socket of files.img: 'Peer unresolved'" % peer)
            elif peer and by_ino[peer].get("uflags", 0) & USK_EXTERN:
                self.notes.append("USK-EXTERN %s: its peer is outside the dump: CRIU restores it only with "
                                  "--ext-unix-sk" % where)
            if not peer and u["state"] == TCP_ESTABLISHED and u["type"] != SOCK_DGRAM and \
                    not u.get("uflags", 0) & USK_EXTERN and u.get("shutdown") != SK_SHUTDOWN_BOTH:
                self.fail("USK-ALONE", where, "connected without a peer but not shut down both ways (shutdown %s): "
                          "'Wrong shutdown/peer state'" % u.get("shutdown"))
        if self.img.exists("sk-queues.img"):
            for i, pkt in enumerate(self.load("sk-queues.img", "SKQ-EXISTS") or []):
                if pkt["id_for"] not in usks:
                    self.fail("SKQ-OWNER", "sk-queues.img", "packet %d is queued for %d, no unix socket of files.img"
                              % (i, pkt["id_for"]))
                scms = pkt.get("scm", [])
                if len(scms) > 1:
                    self.fail("SKQ-SCM", "sk-queues.img", "packet %d has %d scm entries: 'More than 1 SCM is not "
                              "possible'" % (i, len(scms)))
                for scm in scms:
                    if scm["type"] != SCM_RIGHTS:
                        self.fail("SKQ-SCM", "sk-queues.img", "packet %d: scm of type %d, CRIU sends SCM_RIGHTS only"
                                  % (i, scm["type"]))
                    for fid in scm.get("rights", []):
                        if fid not in files:
                            self.fail("SKQ-SCM", "sk-queues.img", "packet %d carries file %d, which files.img lacks"
                                      % (i, fid))
                owner = usks.get(pkt["id_for"])
                if scms and owner and not self.has_queuer(owner, usks):
                    self.fail("SKQ-QUEUER", "sk-queues.img", "packet %d carries files for unix socket %d, which no "
                              "socket sends to: 'Can't find %#x'" % (i, owner["ino"], pkt["id_for"]))

    # CRIU refills a queue from its queuer: a socket connected to it, or a fake one it adds for a datagram
    # socket or a connection whose peer is gone (add_fake_unix_queuers()); the files a packet carries
    # are opened by the queuer's task (unix_note_scm_rights(), find_queuer_for()).
    @staticmethod
    def has_queuer(u, usks):
        if u.get("uflags", 0) & USK_EXTERN:
            return False
        if u["type"] == SOCK_DGRAM or (u["state"] == TCP_ESTABLISHED and not u.get("peer")):
            return True
        return any(v.get("peer") == u["ino"] for v in usks.values())

    # Netlink sockets: open_netlink_sk() in CRIU's sk-netlink.c binds with the first 32 groups only (it
    # refuses more words), and only a socket with a port id; a connected one is connected to group
    # dst_group (a mask 1 << (dst_group - 1)).
    def check_netlink(self, files):
        for fid, f in sorted(files.items()):
            n = f.get("nlsk") if f["type"] == FD_TYPE_NETLINKSK else None
            if n is None:
                continue
            where = "files.img netlink socket %d (inode %d)" % (fid, n["ino"])
            groups = n.get("groups", [])
            if len(groups) > 1:
                self.fail("NLSK-GROUPS", where, "%d words of groups: 'Groups above 32 are not supported yet'"
                          % len(groups))
            if any(groups) and not n["portid"]:
                self.fail("NLSK-PORTID", where, "groups without a port id: CRIU binds only a socket with one")
            if n["dst_group"] > 32:
                self.fail("NLSK-DSTGROUP", where, "connected to group %d: no such mask" % n["dst_group"])
            if n["state"] == NETLINK_CONNECTED and not n["dst_group"]:
                self.notes.append("NLSK-DSTGROUP %s: connected to a port without a group: CRIU 4 shifts by -1 "
                                  "for its mask" % where)

    # epoll: the restore of every target (epoll_ctl(EPOLL_CTL_ADD) on the restored fd) in CRIU's eventpoll.c.
    # A file several processes hold is opened by one of them, its master, which CRIU's files.c chooses as
    # the holder with the lowest pid (then the lowest fd): the targets are added there, so they must be
    # fds of that process; the others receive the instance as it is.
    def check_epolls(self, files):
        masters = {}
        for pid, fds in sorted(self.proc_fds.items()):
            for fd, fid in sorted(fds.items()):
                f = files.get(fid)
                if f and f["type"] == FD_TYPE_EVENTPOLL and f.get("epfd") is not None and fid not in masters:
                    masters[fid] = (pid, fd)
        for fid, (pid, fd) in sorted(masters.items()):
            fds = self.proc_fds[pid]
            where = "process %d epoll fd %d (file %d, restored by this process)" % (pid, fd, fid)
            seen = set()
            for t in files[fid]["epfd"].get("tfd", []):
                if t["tfd"] in seen:
                    self.fail("EPOLL-TFD-DUP", where, "target fd %d twice: the second EPOLL_CTL_ADD fails"
                              % t["tfd"])
                seen.add(t["tfd"])
                if t["tfd"] == fd or t["tfd"] not in fds:
                    self.fail("EPOLL-TFD", where, "target fd %d is not another fd of the process: "
                              "EPOLL_CTL_ADD fails" % t["tfd"])

    # collect_one_file() in CRIU's files.c hands each kind's collect the body its type names: without it, CRIU's
    # restore reads through a null pointer.
    def check_bodies(self, files):
        for f in files.values():
            rule, body = BODY_RULE.get(f["type"], (None, None))
            if rule and f.get(body) is None:
                self.fail(rule, "files.img", "file %d of type %d without its %s entry" % (f["id"], f["type"], body))

    # Eventfds: eventfd_open() (criu/eventfd.c) creates the eventfd with the dumped counter as eventfd()'s
    # initial value, an unsigned int: a larger count would come back cut to its low 32 bits.
    def check_eventfds(self, files):
        for f in files.values():
            efd = f.get("efd") if f["type"] == FD_TYPE_EVENTFD else None
            if efd and efd["counter"] > EVENTFD_MAX_INIT:
                self.fail("EFD-COUNTER", "files.img", "eventfd %d: counter %#x above eventfd()'s unsigned int: CRIU "
                          "would restore %#x" % (f["id"], efd["counter"], efd["counter"] & EVENTFD_MAX_INIT))

    # Timerfds: verify_timerfd() at collect (criu/timerfd.c), timerfd_settime() in CRIU's restorer.
    def check_timerfds(self, files):
        for f in files.values():
            tfd = f.get("tfd") if f["type"] == FD_TYPE_TIMERFD else None
            if not tfd:
                continue
            where = "files.img timerfd %d" % f["id"]
            if tfd["clockid"] not in (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME):
                self.fail("TFD-CLOCK", where, "clock %d: 'Unknown clock type'" % tfd["clockid"])
            if tfd["vnsec"] >= NSEC_PER_SEC or tfd["insec"] >= NSEC_PER_SEC:
                self.fail("TFD-TIME", where, "nanoseconds %d/%d not below a second: timerfd_settime() refuses them"
                          % (tfd["vnsec"], tfd["insec"]))

    # Inotify: collect_one_inotify() sorts the watches by wd; restore_one_inotify() (criu/fsnotify.c) opens each
    # watched inode by its handle, keeps only IN_ALL_EVENTS of the mask and asks for exactly the dumped wd.
    def check_inotify(self, files):
        for f in files.values():
            ify = f.get("ify") if f["type"] == FD_TYPE_INOTIFY else None
            if not ify:
                continue
            seen = set()
            for w in ify.get("wd", []):
                where = "files.img inotify %d watch %d" % (f["id"], w["wd"])
                if w["wd"] <= 0 or w["wd"] in seen:
                    self.fail("IFY-WD", where, "not a new positive wd: CRIU asks the kernel for each wd in turn "
                              "and fails on any other ('Unsorted watch')")
                seen.add(w["wd"])
                if not w["mask"] & IN_ALL_EVENTS:
                    self.fail("IFY-MASK", where, "mask %#x has no event: inotify_add_watch() refuses it" % w["mask"])
                fh = w["f_handle"]
                if not 0 < fh["bytes"] <= MAX_HANDLE_SZ or fh["bytes"] > 8 * len(fh.get("handle", [])):
                    self.fail("IFY-HANDLE", where, "a handle of %d bytes in %d words: open_by_handle_at() cannot "
                              "open the watched inode" % (fh["bytes"], len(fh.get("handle", []))))

    # Memfds: collect_one_memfd() finds its inode in memfd.img by inode_id; memfd_open_inode_nocache()
    # (criu/memfd.c) creates it with memfd_create() and the dumped name.
    def check_memfds(self, files):
        memfds = [f for f in files.values() if f["type"] == FD_TYPE_MEMFD and f.get("memfd")]
        if not memfds and not self.img.exists("memfd.img"):
            return
        inodes = {}
        for e in (self.load("memfd.img", "MEMFD-INODE") if self.img.exists("memfd.img") else []) or []:
            where = "memfd.img inode %d" % e["inode_id"]
            if e["inode_id"] in inodes:
                self.fail("MEMFD-INODE", where, "given twice: CRIU takes the first for every file naming it")
            inodes[e["inode_id"]] = e
            if len(e["name"].encode()) > MFD_NAME_MAX:
                self.fail("MEMFD-NAME", where, "a name of %d bytes: memfd_create() takes at most %d"
                          % (len(e["name"].encode()), MFD_NAME_MAX))
        for f in memfds:
            if f["memfd"]["inode_id"] not in inodes:
                self.fail("MEMFD-INODE", "files.img memfd %d" % f["id"], "inode_id %d names no entry of memfd.img: "
                          "'Unable to find the memfd inode'" % f["memfd"]["inode_id"])

    # filelocks.img: restore_file_lock() and restore_file_locks() (criu/file-lock.c), with --file-locks.
    def check_file_locks(self, procs):
        if not self.img.exists("filelocks.img"):
            return
        pids = {p["pid"] for p in procs}
        for i, e in enumerate(self.load("filelocks.img", "FLOCK-DECODE") or []):
            where = "filelocks.img entry %d (pid %d fd %d)" % (i, e["pid"], e["fd"])
            if not e["flag"] & (FL_POSIX | FL_FLOCK | FL_OFD | FL_LEASE):
                self.fail("FLOCK-KIND", where, "kind %#x is none of CRIU's (posix 1, flock 2, ofd 4, lease 8): "
                          "'Unknown file lock style'" % e["flag"])
            elif e["flag"] & FL_FLOCK and not e["type"] & LOCK_MAND and e["type"] not in (F_RDLCK, F_WRLCK,
                                                                                           F_UNLCK):
                self.fail("FLOCK-TYPE", where, "flock type %d: 'Unknown flock type'" % e["type"])
            elif e["flag"] & (FL_POSIX | FL_OFD) and e["type"] not in (F_RDLCK, F_WRLCK, F_UNLCK):
                self.fail("FLOCK-TYPE", where, "lock type %d: fcntl() refuses it" % e["type"])
            elif e["flag"] & FL_LEASE and e["type"] & ~LEASE_BREAKING not in (F_RDLCK, F_WRLCK):
                self.fail("FLOCK-TYPE", where, "lease type %d: F_SETLEASE takes a read or a write lease" % e["type"])
            if e["pid"] not in pids:
                self.fail("FLOCK-OWNER", where, "no process %d in pstree.img: CRIU takes each lock in the process "
                          "of its pid, and would drop this one" % e["pid"])
            elif self.proc_fds.get(e["pid"]) is not None and e["fd"] not in self.proc_fds[e["pid"]]:
                self.fail("FLOCK-FD", where, "fd %d is not an fd of process %d: CRIU locks through that fd number"
                          % (e["fd"], e["pid"]))

    # Pipes and FIFOs: collect_one_pipe_ops(), restore_pipe_data() (criu/pipes.c), collect_one_fifo() (criu/fifo.c).
    def check_pipes(self, files):
        pipes = {f["pipe"]["pipe_id"] for f in files.values() if f["type"] == FD_TYPE_PIPE and f.get("pipe")}
        fifos = {f["fifo"]["pipe_id"] for f in files.values() if f["type"] == FD_TYPE_FIFO and f.get("fifo")}
        for f in files.values():
            if f["type"] != FD_TYPE_FIFO or not f.get("fifo"):
                continue
            reg = files.get(f["fifo"].get("regf_id", f["id"]))
            if not reg or reg["type"] != FD_TYPE_REG:
                self.fail("FIFO-REG", "files.img", "FIFO %d: its path's entry %s is no REG file: CRIU opens the "
                          "FIFO by that path and refuses it" % (f["id"], f["fifo"].get("regf_id", f["id"])))
        for name, owners in (("pipes-data.img", pipes), ("fifo-data.img", fifos)):
            seen = set()
            for e in (self.load(name, "PIPE-DATA") if self.img.exists(name) else []) or []:
                where = "%s pipe %d" % (name, e["pipe_id"])
                if e["pipe_id"] in seen:
                    self.fail("PIPE-DATA-ONCE", where, "given twice: CRIU restores one entry's bytes per pipe")
                seen.add(e["pipe_id"])
                size = e.get("size", PIPE_DEFAULT_SIZE)
                if e["bytes"] > size:
                    self.fail("PIPE-DATA-SIZE", where, "%d bytes in a pipe of %d: CRIU's vmsplice into the "
                              "pipe sized so fails" % (e["bytes"], size))
                if e["pipe_id"] not in owners:
                    self.notes.append("PIPE-DATA-OWNER %s: no %s of files.img has it: CRIU ignores its bytes"
                                      % (where, "FIFO" if name == "fifo-data.img" else "pipe"))

    # Terminals: collect_one_tty_info_entry(), collect_one_tty(), verify_info() and the pairing of CRIU's tty.c.
    def check_ttys(self, files):
        ttys = [f for f in files.values() if f["type"] == FD_TYPE_TTY and f.get("tty")]
        if not ttys:
            return
        infos = {}
        for e in (self.load("tty-info.img", "TTY-INFO") if self.img.exists("tty-info.img") else []) or []:
            infos[e["id"]] = e
            self.check_tty_info(e)
        unpaired = 0
        for f in ttys:
            t = f["tty"]
            where = "files.img terminal %d" % f["id"]
            info = infos.get(t["tty_info_id"])
            if not info:
                self.fail("TTY-INFO", where, "tty_info_id %d names no entry of tty-info.img" % t["tty_info_id"])
                continue
            reg = files.get(t.get("regf_id", f["id"]))
            if info["type"] != TTY_EXT and (not reg or reg["type"] != FD_TYPE_REG):
                self.fail("TTY-REG", where, "no REG file %s to open it by: 'No reg_d descriptor'"
                          % t.get("regf_id", f["id"]))
            if info["type"] == TTY_PTY and info.get("termios") and not self.tty_master(info) and \
                    not any(self.tty_master(o) and o.get("pty", {}).get("index") == info.get("pty", {}).get("index")
                            for o in infos.values()):
                unpaired += 1
        # collect_one_tty_data(): queued bytes go to a terminal a file of files.img refers to.
        used = set(f["tty"]["tty_info_id"] for f in ttys)
        for e in (self.load("tty-data.img", "TTY-DATA") if self.img.exists("tty-data.img") else []) or []:
            if e["tty_id"] not in used:
                self.fail("TTY-DATA", "tty-data.img entry %d" % e["tty_id"], "no terminal file has it: 'No tty found "
                          "to queued data'")
        if unpaired:
            self.notes.append("TTY-SHELL-JOB tty-info.img: a pty slave without its master, which CRIU restores only "
                              "with --shell-job")
        if unpaired > 1:
            self.fail("TTY-UNPAIRED", "tty-info.img", "%d pty slaves without their master: 'Only one slave external "
                      "peer is allowed'" % unpaired)

    @staticmethod
    def tty_master(info):
        major = (info.get("rdev", 0) >> 8) & 0xfff
        minor = (info.get("rdev", 0) & 0xff) | ((info.get("rdev", 0) >> 12) & 0xfff00)
        return (major == 5 and minor == 2) or 128 <= major <= 135

    def check_tty_info(self, e):
        where = "tty-info.img entry %d" % e["id"]
        rdev, ttype = e.get("rdev", 0), e["type"]
        major, minor = (rdev >> 8) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00)
        if ttype not in (TTY_PTY, TTY_CONSOLE, TTY_VT, TTY_CTTY, TTY_EXT, TTY_SERIAL):
            self.fail("TTY-TYPE", where, "type %d: 'Unexpected TTY type'" % ttype)
            return
        if (ttype == TTY_PTY) != ("pty" in e):
            self.fail("TTY-TYPE", where, "type %d %s pty data: 'corrupted image'" % (ttype, "without" if ttype ==
                                                                                       TTY_PTY else "with"))
            return
        # The driver CRIU picks from rdev (get_tty_driver()) must be of the entry's type.
        if major == 5:
            driver = {0: TTY_CTTY, 1: TTY_CONSOLE, 2: TTY_PTY}.get(minor)
        elif major == 4:
            driver = TTY_VT if 1 <= minor <= 63 else None
        elif 128 <= major <= 143:
            driver = TTY_PTY
        else:
            driver = ttype if ttype in (TTY_SERIAL, TTY_EXT) else None
        if ttype != TTY_EXT and driver != ttype:
            self.fail("TTY-RDEV", where, "type %d, but its device %d:%d is a terminal of type %s to CRIU"
                      % (ttype, major, minor, driver))
            return
        master = self.tty_master(e)
        if ttype == TTY_PTY:
            index = e["pty"]["index"]
            if index > TTY_MAX_PTY_INDEX:
                self.fail("TTY-INDEX", where, "pty index %d above CRIU's %d" % (index, TTY_MAX_PTY_INDEX))
            if 136 <= major <= 143 and index != (major - 136) * 256 + minor:
                self.fail("TTY-INDEX", where, "pty index %d, but the device is /dev/pts/%d"
                          % (index, (major - 136) * 256 + minor))
        elif ttype != TTY_EXT:
            index = TTY_FIXED_INDEX[ttype]
        else:
            index = None
        if index is not None and e["id"] != index * 2 + master:
            self.fail("TTY-ID", where, "id %d, CRIU's id for this terminal is %d (index %d times two, plus one for a "
                      "master): CRIU pairs masters and slaves by it" % (e["id"], index * 2 + master, index))
        # CRIU's tty_is_master(): a pty master, the console, /dev/tty, an external terminal (a VT or a serial
        # port too, but not with --shell-job, the only way criu-ng dumps terminals).
        full = master or ttype in (TTY_CONSOLE, TTY_CTTY, TTY_EXT)
        have = [k for k in ("termios", "termios_locked", "winsize") if k in e]
        if (full and len(have) != 3) or (not full and len(have) not in (0, 3)):
            self.fail("TTY-TERMIOS", where, "only %s of termios, termios_locked and winsize: 'Corrupted %s peer'"
                      % (have or "none", "master" if full else "slave"))
        for k in ("termios", "termios_locked"):
            if k in e and len(e[k].get("c_cc", [])) < TERMIOS_NCC:
                self.fail("TTY-TERMIOS", where, "%s with %d control characters, CRIU needs %d"
                          % (k, len(e[k].get("c_cc", [])), TERMIOS_NCC))

    # mm-ID.img and pagemap: prepare_mm_pid(), vdso_proxify(), the page reading of CRIU's restore.
    def check_memory(self, procs, files, ids):
        vm_ids = {}
        for p in procs:
            mm_name = "mm-%d.img" % p["pid"]
            if self.is_zombie(p["pid"]):
                continue  # no memory: CRIU writes no mm or pagemap image for a zombie
            vm_id = (ids.get(p["pid"]) or {}).get("vm_id")
            if vm_id is not None and vm_id in vm_ids:
                # criu-ng's dump of a child sharing its parent's address space (CLONE_VM), which CRIU's dump
                # refuses: its memory is its parent's, and its mm image names no executable so that
                # CRIU's restore refuses the dump (prepare_mm_pid(): collect_special_file(0) fails).
                self.notes.append("SHARED-VM %s: process %d shares the address space of process %d (vm_id %d): "
                                  "CRIU 4 refuses to restore this dump" % (mm_name, p["pid"], vm_ids[vm_id], vm_id))
                continue
            if vm_id is not None:
                vm_ids[vm_id] = p["pid"]
            entries = self.load(mm_name, "MM-EXISTS")
            if not entries:
                continue
            mm = entries[0]
            vmas = mm.get("vmas", [])
            self.check_mm(mm_name, mm, vmas, files)
            self.check_pagemap(p["pid"], vmas)

    def check_mm(self, name, mm, vmas, files):
        if len(mm.get("mm_saved_auxv", [])) > AUXV_MAX_WORDS or len(mm.get("mm_saved_auxv", [])) % 2:
            self.fail("MM-AUXV", name, "%d auxv words" % len(mm.get("mm_saved_auxv", [])))
        exe = files.get(mm.get("exe_file_id"))
        if not exe or exe["type"] != FD_TYPE_REG:
            self.fail("MM-EXE", name, "exe_file_id %s names no REG file" % mm.get("exe_file_id"))
        prev_end, vdso, vvar = 0, [], []
        for i, v in enumerate(vmas):
            where = "%s VMA %d (%#x-%#x)" % (name, i, v["start"], v["end"])
            if v["start"] >= v["end"] or v["start"] % PAGE_SIZE or v["end"] % PAGE_SIZE or v["start"] < prev_end:
                self.fail("MM-VMA-ORDER", where, "not page aligned, empty or overlapping the previous one")
            prev_end = v["end"]
            status = v["status"]
            if not status & (VMA_AREA_REGULAR | VMA_AREA_VSYSCALL) or status & VMA_UNSUPP:
                self.fail("MM-VMA-STATUS", where, "status %#x is neither a regular area nor vsyscall" % status)
            if status & VMA_AREA_VDSO:
                vdso.append(v)
            if status & VMA_AREA_VVAR:
                vvar.append(v)
            if status & (VMA_AREA_VDSO | VMA_AREA_VVAR) and not status & VMA_ANON_PRIVATE:
                self.fail("MM-VDSO-ANON", where, "the kernel's vdso/vvar not marked private anonymous as CRIU does")
            if status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED):
                f = files.get(v["shmid"])
                # A memfd's mapping names its memfd_file_entry (CRIU's VMA_AREA_MEMFD), any other a REG file.
                want = FD_TYPE_MEMFD if status & VMA_AREA_MEMFD else FD_TYPE_REG
                if not f or f["type"] != want:
                    self.fail("MM-VMA-FILE", where, "maps file %d, which files.img lacks" % v["shmid"])
        if len(vdso) > 1 or len(vvar) > 1:
            self.fail("MM-VDSO-ONE", name, "%d vdso and %d vvar areas: CRIU takes the last of each and compares "
                      "its size with its host's" % (len(vdso), len(vvar)))
        if vdso and vvar and vdso[-1]["start"] != vvar[-1]["end"] and vvar[-1]["start"] != vdso[-1]["end"]:
            self.fail("MM-VDSO-NEAR", name, "the vvar area does not touch the vdso")
        self.vdso = vdso[-1] if vdso else None
        self.vvar = vvar[-1] if vvar else None

    def check_pagemap(self, pid, vmas):
        name = "pagemap-%d.img" % pid
        entries = self.load(name, "PAGEMAP-EXISTS", "pagemap_head")
        if not entries:
            return
        head, runs = entries[0], entries[1:]
        pages_name = "pages-%d.img" % head["pages_id"]
        total, prev_end, vi, vdso_pages = 0, 0, 0, 0
        cow_parent, cow_where = 0, None
        for i, pe in enumerate(runs, 1):
            nr = pe["nr_pages"] if "nr_pages" in pe else pe["compat_nr_pages"]
            flags = pe.get("flags", PE_PRESENT)
            where = "%s entry %d (%#x, %d pages)" % (name, i, pe["vaddr"], nr)
            if pe.get("cow_parent"):
                # criu-ng's own field: the pages are the parent process's (flags PE_PARENT), none in pages-ID.img.
                if not cow_parent:
                    cow_where = where
                cow_parent += nr
                prev_end = pe["vaddr"] + nr * PAGE_SIZE
                continue
            if pe.get("in_parent") or flags & PE_PARENT or not flags & PE_PRESENT:
                self.fail("PAGEMAP-PRESENT", where, "pages not in this dump (parent or lazy)")
            if not nr or pe["vaddr"] % PAGE_SIZE or pe["vaddr"] < prev_end:
                self.fail("PAGEMAP-ORDER", where, "empty, misaligned or not after the previous run")
            prev_end = pe["vaddr"] + nr * PAGE_SIZE
            total += nr
            while vi < len(vmas) and vmas[vi]["end"] <= pe["vaddr"]:
                vi += 1
            vdso_pages += self.check_run_vmas(where, vmas, vi, pe["vaddr"], prev_end)
        if cow_parent:
            self.fail("PAGEMAP-COW-PARENT", cow_where, "the first of %d pages left to the parent process (criu-ng's "
                      "dedup; --cow-images criu writes them): CRIU's restore reads PE_PARENT pages from a parent "
                      "images directory and, with none, refuses (\"No parent for snapshot pagemap\")" % cow_parent)
        if self.vdso and vdso_pages * PAGE_SIZE != self.vdso["end"] - self.vdso["start"]:
            self.fail("PAGEMAP-VDSO", name, "%d of the vdso's %d pages dumped: CRIU reads its symbols from them"
                      % (vdso_pages, (self.vdso["end"] - self.vdso["start"]) // PAGE_SIZE))
        if not self.img.exists(pages_name) or self.img.size(pages_name) != total * PAGE_SIZE:
            self.fail("PAGES-SIZE", pages_name, "does not hold the %d pages %s lists" % (total, name))

    def check_run_vmas(self, where, vmas, vi, start, end):
        """A run may span adjacent private VMAs (CRIU's own runs do); returns its pages in the vdso."""
        vdso_pages = 0
        while start < end:
            v = vmas[vi] if vi < len(vmas) else None
            if not v or v["start"] > start:
                self.fail("PAGEMAP-VMA", where, "pages at %#x outside every VMA" % start)
                return vdso_pages
            stop = min(end, v["end"])
            if not v["status"] & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE):
                self.fail("PAGEMAP-PRIVATE", where, "in a VMA of status %#x, which holds no private pages"
                          % v["status"])
            elif v["status"] & VMA_AREA_VVAR:
                self.fail("PAGEMAP-VVAR", where, "pages of the vvar area, which CRIU never dumps")
            elif v["status"] & VMA_AREA_VDSO:
                vdso_pages += (stop - start) // PAGE_SIZE
            start = stop
            vi += 1
        return vdso_pages

    def run(self):
        self.check_files()
        inv = self.check_inventory()
        procs = self.check_pstree()
        ids = self.check_ids(inv, procs)
        self.check_cores(procs)
        self.proc_fds = {}
        files = self.check_files_and_fs(procs, ids)
        self.check_inet_sockets(files)
        self.check_unix_sockets(files)
        self.check_netlink(files)
        self.check_epolls(files)
        self.check_pipes(files)
        self.check_ttys(files)
        self.check_bodies(files)
        self.check_eventfds(files)
        self.check_timerfds(files)
        self.check_inotify(files)
        self.check_memfds(files)
        self.check_file_locks(procs)
        self.check_ns_files(files, ids)
        self.check_ghosts(files)
        self.vdso = self.vvar = None
        self.check_memory(procs, files, ids)
        return self.failures, self.notes


def check(images_dir, top):
    """Applies every rule to the dump in @images_dir; returns (failures, notes)."""
    if not os.path.isdir(images_dir):
        return ["IMG-DIR %s: not a directory" % images_dir], []
    try:
        return Checker(images_dir, top).run()
    except (ImageError, KeyError, TypeError, OSError) as e:
        return ["IMG-DECODE %s: %s: %s" % (images_dir, type(e).__name__, e)], []
