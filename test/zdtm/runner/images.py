"""Checks on a dump's images. The one CRIU's zdtm.py makes:
when a stats-dump image exists, the pages it says were written must be what
the pages-*.img files hold. Decodes just enough of CRIU's format with the
stdlib: two u32 magics, a u32 entry size, a protobuf StatsEntry whose field 1
is the DumpStatsEntry (pages_written = 7, shpages_written = 14). Then that
criu-ng's own packed tcp-streams.img (Documentation/tcp-images.md) adds up:
its header, records and data area. And, with --crit, that crit decodes every
image: the tree's crit (crit/test/roundtrip.py, one process per dump) also
encodes each back and compares it byte for byte; another crit (CRIU's) only
decodes, tcp-streams.img aside. And that the dump passes every check CRIU 4's
restore makes on the images criu-ng writes (test/imgcheck/criu4.py,
Documentation/image-compat.md), but that a child's pages are left to its parent
(criu-ng's default, PAGEMAP-COW-PARENT)."""

import os
import struct
import subprocess

from imgcheck.pbimg import ImageError, varint as _varint

IMG_SERVICE_MAGIC = 0x55105940
IMG_COMMON_MAGIC = 0x54564319
STATS_MAGIC = 0x57093306
TCP_STREAMS = "tcp-streams.img"
TCP_STREAMS_MAGIC = 0x61637073
TCP_PACK_VERSION = 1
TCP_PACK_HEAD = struct.Struct("<IIIIQQ")  # the two magics, then version, rec_size, nr, data_len
TCP_PACK_REC = struct.Struct("<20IQ")  # ino, flags, inq_len, inq_seq, outq_len, outq_seq, unsq_len, ..., data_off
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _fields(buf):
    """Yields (field number, value) of a protobuf message: ints for varints,
    bytes for length-delimited fields; fixed-width ones are skipped."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ImageError("field %d runs past the entry" % num)
            value, pos = buf[pos:pos + size], pos + size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            continue
        else:
            raise ImageError("field %d has wire type %d" % (num, wire))
        yield num, value


def dump_stats(images_dir):
    """The DumpStatsEntry fields of stats-dump as a dict, or None if absent."""
    path = os.path.join(images_dir, "stats-dump")
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 12:
        raise ImageError("stats-dump: %d bytes, too short for a header and an entry" % len(data))
    first, magic, size = struct.unpack_from("<III", data)
    if first != IMG_SERVICE_MAGIC or magic != STATS_MAGIC:
        raise ImageError("stats-dump: magics %#x %#x, expected %#x %#x" % (first, magic, IMG_SERVICE_MAGIC,
                                                                         STATS_MAGIC))
    if 12 + size > len(data):
        raise ImageError("stats-dump: entry of %d bytes, %d left" % (size, len(data) - 12))
    for num, value in _fields(data[12:12 + size]):
        if num == 1 and isinstance(value, bytes):
            return {n: v for n, v in _fields(value) if isinstance(v, int)}
    raise ImageError("stats-dump: no dump entry")


def check_pages(images_dir):
    """None when consistent (or no stats-dump), else a message."""
    try:
        stats = dump_stats(images_dir)
    except ImageError as e:
        return str(e)
    if stats is None:
        return None
    written = stats.get(7, 0) + stats.get(14, 0)
    total = sum(os.path.getsize(os.path.join(images_dir, name)) for name in os.listdir(images_dir)
                if name.startswith("pages-") and name.endswith(".img"))
    if written * PAGE_SIZE != total:
        return "stats-dump says %d pages written, the pages-*.img files hold %d bytes (%g pages)" % (
            written, total, total / PAGE_SIZE)
    return None


def check_tcp_streams(images_dir):
    """None when tcp-streams.img is absent or consistent, else a message: the
    magics and version, records of the expected size in ascending inode
    order, each record's queues inside the data area, and a file that ends
    where the data area does."""
    path = os.path.join(images_dir, TCP_STREAMS)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < TCP_PACK_HEAD.size:
        return "%s: %d bytes, too short for its header" % (TCP_STREAMS, len(data))
    common, magic, version, rec_size, nr, data_len = TCP_PACK_HEAD.unpack_from(data)
    if common != IMG_COMMON_MAGIC or magic != TCP_STREAMS_MAGIC:
        return "%s: magics %#x %#x" % (TCP_STREAMS, common, magic)
    if version != TCP_PACK_VERSION or rec_size != TCP_PACK_REC.size:
        return "%s: version %d with records of %d bytes" % (TCP_STREAMS, version, rec_size)
    data_start = TCP_PACK_HEAD.size + nr * rec_size
    if data_start + data_len != len(data):
        return "%s: %d records and %d bytes of data do not make its %d bytes" % (TCP_STREAMS, nr, data_len,
                                                                                 len(data))
    prev_ino = -1
    for i in range(nr):
        rec = TCP_PACK_REC.unpack_from(data, TCP_PACK_HEAD.size + i * rec_size)
        ino, inq_len, outq_len, unsq_len, data_off = rec[0], rec[2], rec[4], rec[6], rec[20]
        if ino <= prev_ino:
            return "%s: record %d (inode %d) is out of order" % (TCP_STREAMS, i, ino)
        if unsq_len > outq_len or data_off + inq_len + outq_len > data_len:
            return "%s: record %d (inode %d): queues of %d and %d bytes (%d unsent) at %d, data area of %d" % (
                TCP_STREAMS, i, ino, inq_len, outq_len, unsq_len, data_off, data_len)
        prev_ino = ino
    return None


CRIT_TIMEOUT = 60
# Raw images with no header of CRIU's: pages, and what iproute2 and the firewall tools saved.
RAW_PREFIXES = ("pages-", "ifaddr-", "route-", "route6-", "rule-", "iptables-", "ip6tables-", "nftables-")
PYTHON3 = "/usr/bin/python3"


def crit_decode_all(images_dir, crit_bin, out_dir):
    """Decodes every image of a dump with crit (the raw pages-*.img aside),
    the JSON going to out_dir. None when all decode (and, with the tree's
    crit, encode back to the same bytes), else a message."""
    roundtrip = os.path.join(os.path.dirname(os.path.realpath(crit_bin)), "test", "roundtrip.py")
    if os.path.isfile(roundtrip):
        return _crit_roundtrip(roundtrip, images_dir, out_dir)
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(os.listdir(images_dir)):
        if name.endswith(".log") or name == TCP_STREAMS or (name.startswith(RAW_PREFIXES) and name.endswith(".img")):
            continue
        out_path = os.path.join(out_dir, name + ".json")
        cmd = [crit_bin, "decode", "-i", os.path.join(images_dir, name), "-o", out_path]
        problem = _run_crit(cmd, name, CRIT_TIMEOUT)
        if problem:
            return problem
    return None


def _crit_roundtrip(roundtrip, images_dir, out_dir):
    cmd = [PYTHON3, roundtrip, "--out", out_dir, images_dir]
    return _run_crit(cmd, images_dir, CRIT_TIMEOUT * 5, first_line=True)


def _run_crit(cmd, what, timeout, first_line=False):
    """None if @cmd exits 0, else a message with its first or last line of output."""
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return "crit on %s did not finish in %ds" % (what, timeout)
    except OSError as e:
        return "can't run %s: %s" % (cmd[0], e.strerror)
    if proc.returncode != 0:
        lines = proc.stdout.decode(errors="replace").strip().splitlines()
        return "crit failed on %s: %s" % (what, lines[0 if first_line else -1] if lines else "exit %d" % proc.returncode)
    return None


def check_criu4(images_dir):
    """The checks of CRIU 4's restore (test/imgcheck): None, or the broken rules."""
    from imgcheck.criu4 import check

    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    failures, _ = check(images_dir, top)
    # A child's pages left to its parent (criu-ng's default, which CRIU refuses: --cow-images criu writes
    # them); every other rule still holds for such a dump.
    failures = [f for f in failures if not f.startswith("PAGEMAP-COW-PARENT ")]
    if failures:
        return "CRIU 4 would not restore these images: " + "; ".join(failures[:3])
    return None
