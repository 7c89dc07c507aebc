"""`crit x DIR ps|fds|mems|rss`: a dump's process tree, files, memory maps
and resident pages, printed as CRIU's crit prints them."""

import os

from . import image
from .errors import CritError

PAGE_SHIFT = 12
ST_REGULAR, ST_STACK, ST_VSYSCALL, ST_VDSO = 1 << 0, 1 << 1, 1 << 2, 1 << 3
ST_FILE_PRIVATE, ST_FILE_SHARED, ST_ANON_SHARED = 1 << 6, 1 << 7, 1 << 8
ST_SYSVIPC, ST_SOCKET = 1 << 10, 1 << 11
MAP_GROWSDOWN = 0x100


class ImageFailure(Exception):
    def __init__(self, path, message):
        super().__init__(message)
        self.path = path
        self.message = message


class Dump:
    """The images of one dump directory, each read once."""

    def __init__(self, path):
        self.path = path
        self.cache = {}
        self.file_names = {}

    def entries(self, name, optional=False):
        if name in self.cache:
            return self.cache[name]
        path = os.path.join(self.path, name)
        try:
            with open(path, "rb") as f:
                data = f.read()
            entries = image.load(data)["entries"]
        except OSError as e:
            if optional:
                entries = []
            else:
                raise ImageFailure(path, e.strerror) from None
        except CritError as e:
            raise ImageFailure(path, str(e)) from None
        self.cache[name] = entries
        return entries

    def first(self, name):
        entries = self.entries(name)
        if not entries:
            raise ImageFailure(os.path.join(self.path, name), "no entries")
        return entries[0]

    def field(self, name, entry, key):
        try:
            return entry[key]
        except (KeyError, TypeError):
            raise ImageFailure(os.path.join(self.path, name), "an entry has no %s" % key) from None

    def tasks(self):
        return self.entries("pstree.img")

    # --- what a file id stands for ---------------------------------------------

    def _find(self, kind, fid, field, img_name):
        for f in self.entries("files.img", optional=True):
            if f.get("id") == fid:
                return f.get(field)
        for f in self.entries(img_name, optional=True):
            if f.get("id") == fid:
                return f
        return None

    def file_name(self, kind, fid):
        key = (kind, fid)
        if key not in self.file_names:
            self.file_names[key] = self._describe(kind, fid)
        return self.file_names[key]

    def _describe(self, kind, fid):
        if kind == "REG":
            reg = self._find(kind, fid, "reg", "reg-files.img")
            return reg and reg.get("name") or "unknown path"
        if kind == "PIPE":
            pipe = self._find(kind, fid, "pipe", "pipes.img")
            return pipe and "pipe[%d]" % pipe.get("pipe_id", 0) or "pipe[?]"
        if kind == "UNIXSK":
            usk = self._find(kind, fid, "usk", "unixsk.img")
            if not usk:
                return "unix[?]"
            name = usk.get("name") and " %s" % usk["name"] or ""
            return "unix[%d (%d)%s]" % (usk.get("ino", 0), usk.get("peer", 0), name)
        return "%s.%d" % (kind, fid)


def task_id(task, key):
    return task[key] if key in task else task["ns_" + key][0]


def explore_ps(dump, out):
    procs = {}
    for task in dump.tasks():
        pid = task_id(task, "pid")
        core = dump.first("core-%d.img" % pid)
        procs[pid] = {"task": task, "core": core, "kids": []}
    root = None
    for pid, proc in procs.items():
        ppid = proc["task"].get("ppid", 0)
        if ppid == 0 or ppid not in procs:
            root = root or proc
            continue
        procs[ppid]["kids"].append(proc)

    def show(proc, depth):
        task = proc["task"]
        comm = proc["core"].get("tc", {}).get("comm", "?")
        out.write("%7d%7d%7d   %s%s\n" % (task_id(task, "pid"), task_id(task, "pgid"), task_id(task, "sid"),
                                         " " * (4 * depth), comm))
        for kid in proc["kids"]:
            show(kid, depth + 1)

    out.write("%7s%7s%7s   %s\n" % ("PID", "PGID", "SID", "COMM"))
    if root:
        show(root, 0)


def explore_fds(dump, out):
    for task in dump.tasks():
        pid = task_id(task, "pid")
        ids = dump.first("ids-%d.img" % pid)
        fdinfo = dump.entries("fdinfo-%d.img" % dump.field("ids-%d.img" % pid, ids, "files_id"))
        out.write("%d\n" % pid)
        for fd in fdinfo:
            out.write("\t%7d: %s\n" % (fd["fd"], dump.file_name(fd["type"], fd["id"])))
        fs = dump.first("fs-%d.img" % pid)
        out.write("\t%7s: %s\n" % ("cwd", dump.file_name("REG", fs["cwd_id"])))
        out.write("\t%7s: %s\n" % ("root", dump.file_name("REG", fs["root_id"])))


def vma_name(dump, vma, ids):
    st = vma["status"]
    if st & ST_SYSVIPC:
        name = " ips[%x]" % ids.setdefault(vma["shmid"], len(ids) + 1)
    elif st & ST_ANON_SHARED:
        name = " shmem[%x]" % ids.setdefault(vma["shmid"], len(ids) + 1)
    elif st & ST_SOCKET:
        name = " packet[%x]" % ids.setdefault(vma["shmid"], len(ids) + 1)
    elif st & (ST_FILE_PRIVATE | ST_FILE_SHARED):
        name = " " + dump.file_name("REG", vma["shmid"])
        if vma["pgoff"]:
            name += " + %#x" % vma["pgoff"]
        if st & ST_FILE_SHARED:
            name += " (s)"
    elif st & ST_STACK:
        name = " [stack]"
    elif st & ST_VSYSCALL:
        name = " [vsyscall]"
    elif st & ST_VDSO:
        name = " [vdso]"
    elif vma["flags"] & MAP_GROWSDOWN:
        name = " [stack?]"
    else:
        name = ""
    if not st & ST_REGULAR:
        name += " *"
    return name


def explore_mems(dump, out):
    ids = {}
    for task in dump.tasks():
        pid = task_id(task, "pid")
        mm = dump.first("mm-%d.img" % pid)
        out.write("%d\n" % pid)
        out.write("\t%-36s    %s\n" % ("exe", dump.file_name("REG", mm["exe_file_id"])))
        for vma in mm.get("vmas", []):
            prot = "".join(c if vma["prot"] & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))
            addr = "%08x-%08x" % (vma["start"], vma["end"])
            out.write("\t%-36s%s%s\n" % (addr, prot, vma_name(dump, vma, ids)))


def explore_rss(dump, out):
    for task in dump.tasks():
        pid = task_id(task, "pid")
        vmas = dump.first("mm-%d.img" % pid).get("vmas", [])
        pagemaps = dump.entries("pagemap-%d.img" % pid)
        out.write("%d\n" % pid)
        vmi = 0
        shown = -1
        for pm in pagemaps[1:]:
            # CRIU 4 writes the length in nr_pages; older writers only in compat_nr_pages.
            nr_pages = pm.get("nr_pages", pm.get("compat_nr_pages", 0))
            pstr = "\t%x / %-8d" % (pm["vaddr"], nr_pages)
            if pm.get("cow_parent"):
                # criu-ng's dedup: the parent process's pages, not in this process's pages image.
                pstr = "\t%x / %-8d" % (pm["vaddr"], nr_pages) + " ^"
            while vmi < len(vmas) and vmas[vmi]["end"] <= pm["vaddr"]:
                vmi += 1
            pm_end = pm["vaddr"] + (nr_pages << PAGE_SHIFT)
            vstr = ""
            while vmi < len(vmas) and vmas[vmi]["start"] < pm_end:
                vma = vmas[vmi]
                if vmi == shown:
                    vstr += " ~"
                else:
                    vstr += " %08x / %-8d" % (vma["start"], (vma["end"] - vma["start"]) >> PAGE_SHIFT)
                    if vma["status"] & (ST_FILE_PRIVATE | ST_FILE_SHARED):
                        vstr += " " + dump.file_name("REG", vma["shmid"])
                    shown = vmi
                vstr += "\n\t%23s" % ""
                vmi += 1
            vmi -= 1
            out.write("%-24s%s\n" % (pstr, vstr))


EXPLORERS = {"ps": explore_ps, "fds": explore_fds, "mems": explore_mems, "rss": explore_rss}


def run(path, what, out):
    dump = Dump(path)
    try:
        EXPLORERS[what](dump, out)
    except (KeyError, TypeError, IndexError) as e:
        raise ImageFailure(path, "an image lacks what %s needs (%s: %s)" % (what, type(e).__name__, e)) from None
