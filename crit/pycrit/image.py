"""CRIU image files to JSON-ready dicts and back.

An image is a magic, then entries: a little-endian u32 size, that many bytes
of one protobuf message, and for some kinds a payload that the message sizes
(TCP queues, pipe data, socket packets). The magic is two u32 words, the
first IMG_COMMON or IMG_SERVICE (stats, irmap cache) saying which family the
second belongs to; inventory.img has its own magic only. Raw images
(pages-*.img) have no magic and are not decoded.

In JSON, as with CRIU's crit: {"magic": "NAME", "entries": [...]}, the magic
named without its _MAGIC suffix, each entry the message's fields plus
"extra" for its payload (base64). pagemap images start with a pagemap_head
entry, ghost files with a ghost_file_entry followed by ghost_chunk_entry ones
or, without chunks, by the file's contents as the first entry's extra.
criu-ng's own tcp-streams.img is handled by tcppack.py."""

import stat
import struct

from google.protobuf.message import DecodeError, EncodeError

from . import magics, schema, tcppack
from .blob import b64, left_out, unb64
from .errors import CritError, MagicError
from .pbjson import from_dict, to_dict

U32 = struct.Struct("<I")


class Reader:
    """Entries of an image held in memory, with their offsets for errors."""

    def __init__(self, data, pos):
        self.data = data
        self.pos = pos

    def at_end(self):
        return self.pos >= len(self.data)

    def message(self, name, index):
        """The next entry, parsed as message @name."""
        start = self.pos
        if start + 4 > len(self.data):
            raise CritError("entry %d at offset %d: truncated size (%d bytes left)" %
                            (index, start, len(self.data) - start))
        size = U32.unpack_from(self.data, start)[0]
        end = start + 4 + size
        if end > len(self.data):
            raise CritError("entry %d at offset %d: %d bytes announced, %d left (truncated?)" %
                            (index, start, size, len(self.data) - start - 4))
        msg = schema.get().message(name)()
        try:
            msg.ParseFromString(self.data[start + 4:end])
        except (DecodeError, RuntimeError, ValueError) as e:
            raise CritError("entry %d at offset %d: not a valid %s (%s)" % (index, start, name, e)) from None
        self.pos = end
        return msg

    def payload(self, size, index, what):
        start = self.pos
        if size < 0 or start + size > len(self.data):
            raise CritError("entry %d: %s of %d bytes at offset %d, %d left (truncated?)" %
                            (index, what, size, start, len(self.data) - start))
        self.pos = start + size
        return self.data[start:self.pos]


class Writer:
    def __init__(self):
        self.parts = []

    def raw(self, data):
        self.parts.append(data)

    def message(self, name, entry, index):
        msg = schema.get().message(name)()
        from_dict(entry, msg, "entries[%d]" % index)
        try:
            data = msg.SerializeToString()
        except EncodeError as e:
            raise CritError("entries[%d]: %s" % (index, e)) from None
        self.parts.append(U32.pack(len(data)))
        self.parts.append(data)
        return msg

    def getvalue(self):
        return b"".join(self.parts)


# --- payloads that follow an entry ---------------------------------------------------


class Payload:
    """Bytes that follow each entry, their length given by one of its fields."""

    def __init__(self, size_field):
        self.size_field = size_field

    def size(self, msg):
        return getattr(msg, self.size_field)

    def load(self, rd, msg, index):
        return b64(rd.payload(self.size(msg), index, "payload"))

    def dump(self, wr, extra, msg, index):
        wr.raw(unb64(extra, "entries[%d].extra" % index))


class TcpQueues(Payload):
    """A tcp-stream entry's receive queue then send queue."""

    def __init__(self):
        super().__init__(None)

    def size(self, msg):
        return msg.inq_len + msg.outq_len

    def load(self, rd, msg, index):
        inq = rd.payload(msg.inq_len, index, "receive queue")
        outq = rd.payload(msg.outq_len, index, "send queue")
        return {"inq": b64(inq), "outq": b64(outq)}

    def dump(self, wr, extra, msg, index):
        if not isinstance(extra, dict):
            raise CritError("entries[%d].extra: an object with inq and outq is expected" % index)
        wr.raw(unb64(extra.get("inq", ""), "entries[%d].extra.inq" % index))
        wr.raw(unb64(extra.get("outq", ""), "entries[%d].extra.outq" % index))


# --- kinds of images -------------------------------------------------------------------


class Entries:
    """An image of entries of one message type, each maybe with a payload."""

    def __init__(self, msg_name, payload=None):
        self.msg_name = msg_name
        self.payload = payload

    def entry_name(self, index):
        return self.msg_name

    def load(self, rd, pretty, nopl):
        entries = []
        while not rd.at_end():
            index = len(entries)
            msg = rd.message(self.entry_name(index), index)
            entry = to_dict(msg, pretty)
            if self.payload:
                if nopl:
                    size = self.payload.size(msg)
                    rd.payload(size, index, "payload")
                    entry["extra"] = left_out(size)
                else:
                    entry["extra"] = self.payload.load(rd, msg, index)
            entries.append(entry)
        return entries

    def dump(self, wr, entries):
        for index, entry in enumerate(entries):
            extra = entry.get("extra") if isinstance(entry, dict) else None
            msg = wr.message(self.entry_name(index), entry, index)
            if self.payload and extra:
                self.payload.dump(wr, extra, msg, index)

    def count(self, entries):
        return len(entries)


class Pagemap(Entries):
    """A pagemap_head, then pagemap_entry ones."""

    def __init__(self):
        super().__init__("pagemap_entry")

    def entry_name(self, index):
        return "pagemap_head" if index == 0 else "pagemap_entry"

    def count(self, entries):
        return max(len(entries) - 1, 0)


class GhostFile:
    """A ghost_file_entry; with chunks, ghost_chunk_entry ones each followed by
    its bytes, else the whole file's contents after the first entry."""

    def load(self, rd, pretty, nopl):
        if rd.at_end():
            raise CritError("no ghost_file_entry")
        gf = rd.message("ghost_file_entry", 0)
        first = to_dict(gf, pretty)
        entries = [first]
        if gf.chunks:
            while not rd.at_end():
                index = len(entries)
                chunk = rd.message("ghost_chunk_entry", index)
                entry = to_dict(chunk, pretty)
                data = rd.payload(chunk.len, index, "chunk")
                if not nopl:
                    entry["extra"] = b64(data)
                entries.append(entry)
        else:
            data = rd.payload(len(rd.data) - rd.pos, 0, "contents")
            if stat.S_ISREG(gf.mode) and gf.HasField("size") and gf.size != len(data):
                raise CritError("a regular file of %d bytes, %d bytes of contents follow (truncated?)" %
                                (gf.size, len(data)))
            if not nopl:
                first["extra"] = b64(data)
        return entries

    def dump(self, wr, entries):
        if not entries:
            raise CritError("entries: a ghost_file_entry is expected first")
        gf = wr.message("ghost_file_entry", entries[0], 0)
        if not gf.chunks:
            wr.raw(unb64(entries[0].get("extra", ""), "entries[0].extra"))
            return
        for index, entry in enumerate(entries[1:], 1):
            wr.message("ghost_chunk_entry", entry, index)
            wr.raw(unb64(entry.get("extra", ""), "entries[%d].extra" % index))

    def count(self, entries):
        return len(entries)


# Image kind (its magic's name) -> how its entries are read. CRIU's kinds with
# a schema in images/ work as soon as images/magic.h has their magic.
KINDS = {
    "INVENTORY": Entries("inventory_entry"),
    "CORE": Entries("core_entry"),
    "IDS": Entries("task_kobj_ids_entry"),
    "CREDS": Entries("creds_entry"),
    "UTSNS": Entries("utsns_entry"),
    "TIMENS": Entries("timens_entry"),
    "PIDNS": Entries("pidns_entry"),
    "IPC_VAR": Entries("ipc_var_entry"),
    "FS": Entries("fs_entry"),
    "GHOST_FILE": GhostFile(),
    "MM": Entries("mm_entry"),
    "CGROUP": Entries("cgroup_entry"),
    "TCP_STREAM": Entries("tcp_stream_entry", TcpQueues()),
    "STATS": Entries("stats_entry"),
    "PAGEMAP": Pagemap(),
    "PSTREE": Entries("pstree_entry"),
    "REG_FILES": Entries("reg_file_entry"),
    "NS_FILES": Entries("ns_file_entry"),
    "EVENTFD_FILE": Entries("eventfd_file_entry"),
    "EVENTPOLL_FILE": Entries("eventpoll_file_entry"),
    "EVENTPOLL_TFD": Entries("eventpoll_tfd_entry"),
    "SIGNALFD": Entries("signalfd_entry"),
    "TIMERFD": Entries("timerfd_entry"),
    "INOTIFY_FILE": Entries("inotify_file_entry"),
    "INOTIFY_WD": Entries("inotify_wd_entry"),
    "FANOTIFY_FILE": Entries("fanotify_file_entry"),
    "FANOTIFY_MARK": Entries("fanotify_mark_entry"),
    "VMAS": Entries("vma_entry"),
    "PIPES": Entries("pipe_entry"),
    "FIFO": Entries("fifo_entry"),
    "SIGACT": Entries("sa_entry"),
    "NETLINK_SK": Entries("netlink_sk_entry"),
    "REMAP_FPATH": Entries("remap_file_path_entry"),
    "MNTS": Entries("mnt_entry"),
    "TTY_FILES": Entries("tty_file_entry"),
    "TTY_INFO": Entries("tty_info_entry"),
    "TTY_DATA": Entries("tty_data_entry"),
    "RLIMIT": Entries("rlimit_entry"),
    "TUNFILE": Entries("tunfile_entry"),
    "EXT_FILES": Entries("ext_file_entry"),
    "IRMAP_CACHE": Entries("irmap_cache_entry"),
    "FILE_LOCKS": Entries("file_lock_entry"),
    "FDINFO": Entries("fdinfo_entry"),
    "UNIXSK": Entries("unix_sk_entry"),
    "INETSK": Entries("inet_sk_entry"),
    "PACKETSK": Entries("packet_sock_entry"),
    "ITIMERS": Entries("itimer_entry"),
    "POSIX_TIMERS": Entries("posix_timer_entry"),
    "NETDEV": Entries("net_device_entry"),
    "PIPES_DATA": Entries("pipe_data_entry", Payload("bytes")),
    "FIFO_DATA": Entries("pipe_data_entry", Payload("bytes")),
    "SK_QUEUES": Entries("sk_packet_entry", Payload("length")),
    "NETNS": Entries("netns_entry"),
    "USERNS": Entries("userns_entry"),
    "SECCOMP": Entries("seccomp_entry"),
    "AUTOFS": Entries("autofs_entry"),
    "FILES": Entries("file_entry"),
    "CPUINFO": Entries("cpuinfo_entry"),
    "MEMFD_FILE": Entries("memfd_file_entry"),
    "MEMFD_INODE": Entries("memfd_inode_entry"),
    "APPARMOR": Entries("apparmor_entry"),
}

SERVICE_KINDS = ("STATS", "IRMAP_CACHE")
NO_FIRST_MAGIC = ("INVENTORY",)


def _kind_of(data):
    """(magic name, offset of the first entry)."""
    if not data:
        raise MagicError("empty file, not an image")
    if len(data) < 4:
        raise MagicError("%d bytes, too short for an image's magic" % len(data))
    magic = U32.unpack_from(data, 0)[0]
    pos = 4
    if magic in (magics.IMG_COMMON, magics.IMG_SERVICE):
        if len(data) < 8:
            raise MagicError("truncated after its first magic %#x" % magic, magic)
        magic = U32.unpack_from(data, 4)[0]
        pos = 8
    name = magics.BY_VALUE.get(magic)
    if name is None or (name not in KINDS and name != tcppack.MAGIC_NAME):
        raise MagicError("unknown magic %#x: not a CRIU image crit knows (raw data such as pages-*.img has no "
                         "magic)" % magic, magic)
    return name, pos


def load(data, pretty=False, nopl=False):
    """The image in @data (bytes) as {"magic": ..., "entries": [...]}."""
    name, pos = _kind_of(data)
    if name == tcppack.MAGIC_NAME:
        entries = tcppack.load(data, pos, pretty, nopl)
    else:
        entries = KINDS[name].load(Reader(data, pos), pretty, nopl)
    return {"magic": name, "entries": entries}


def info(data):
    name, pos = _kind_of(data)
    if name == tcppack.MAGIC_NAME:
        count = tcppack.count(data, pos)
    else:
        count = KINDS[name].count(KINDS[name].load(Reader(data, pos), False, True))
    return {"magic": name, "count": count}


def dump(img):
    """The bytes of the image described by @img, a dict as load() returns."""
    if not isinstance(img, dict) or not isinstance(img.get("magic"), str) or not isinstance(
            img.get("entries"), list):
        raise CritError("a JSON object with \"magic\" (a string) and \"entries\" (a list) is expected")
    name = img["magic"]
    value = magics.BY_NAME.get(name)
    if value is None or (name not in KINDS and name != tcppack.MAGIC_NAME):
        raise MagicError("magic %r: not an image kind crit knows" % name, name)
    wr = Writer()
    if name in SERVICE_KINDS:
        wr.raw(U32.pack(magics.IMG_SERVICE))
    elif name not in NO_FIRST_MAGIC:
        wr.raw(U32.pack(magics.IMG_COMMON))
    wr.raw(U32.pack(value))
    if name == tcppack.MAGIC_NAME:
        tcppack.dump(wr, img["entries"])
    else:
        KINDS[name].dump(wr, img["entries"])
    return wr.getvalue()
