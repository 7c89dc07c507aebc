"""criu-ng's packed tcp-streams.img (Documentation/tcp-images.md,
criu/include/tcp-pack.h): after the two magics a head (version, record size,
number of records, data area size), fixed-size records, then the data area
holding each record's receive and send queues at its data_off.

In JSON, like a pagemap image, the head comes first and the records follow,
each with its queues as "extra": {"inq": base64, "outq": base64}:

    {"magic": "TCP_STREAMS", "entries": [
        {"version": 1, "rec_size": 88, "nr": 1, "data_len": 10},
        {"ino": 4242, "flags": 1, "inq_len": 4, ..., "data_off": 0,
         "extra": {"inq": "...", "outq": "..."}}]}

Decoding checks what criu restore checks: magic, version, record size, and
that the head, records and data area make up the file exactly, every queue
inside the data area."""

import struct

from . import magics
from .blob import b64, left_out, unb64
from .errors import CritError
from .pbjson import flags_to_str, str_to_flags

MAGIC_NAME = "TCP_STREAMS"
HEAD = struct.Struct("<IIQQ")
HEAD_FIELDS = ("version", "rec_size", "nr", "data_len")
REC_FIELDS = ("ino", "flags", "inq_len", "inq_seq", "outq_len", "outq_seq", "unsq_len", "opt_mask", "snd_wscale",
              "rcv_wscale", "mss_clamp", "timestamp", "snd_wl1", "snd_wnd", "max_window", "rcv_wnd", "rcv_wup",
              "nodelay", "cork", "reserved", "data_off")
REC = struct.Struct("<20IQ")
FLAG_BITS = [("HAS_WINDOW", 1 << 0)]


def _head(data, pos):
    if len(data) < pos + HEAD.size:
        raise CritError("%d bytes, too short for the head of tcp-streams" % len(data))
    head = dict(zip(HEAD_FIELDS, HEAD.unpack_from(data, pos)))
    if head["version"] != magics.TCP_PACK_VERSION:
        raise CritError("version %d, crit knows version %d" % (head["version"], magics.TCP_PACK_VERSION))
    if head["rec_size"] != REC.size:
        raise CritError("records of %d bytes, expected %d" % (head["rec_size"], REC.size))
    data_start = pos + HEAD.size + head["nr"] * REC.size
    if data_start + head["data_len"] != len(data):
        raise CritError("%d records and a data area of %d bytes do not make the file's %d bytes (truncated?)" %
                        (head["nr"], head["data_len"], len(data)))
    return head, data_start


def count(data, pos):
    return _head(data, pos)[0]["nr"]


def load(data, pos, pretty, nopl):
    head, data_start = _head(data, pos)
    entries = [head]
    for i in range(head["nr"]):
        rec = dict(zip(REC_FIELDS, REC.unpack_from(data, pos + HEAD.size + i * REC.size)))
        start, inq, outq = rec["data_off"], rec["inq_len"], rec["outq_len"]
        if start + inq + outq > head["data_len"]:
            raise CritError("record %d (inode %d): queues of %d and %d bytes at %d, outside the data area of %d "
                            "bytes" % (i, rec["ino"], inq, outq, start, head["data_len"]))
        if nopl:
            extra = left_out(inq + outq)
        else:
            start += data_start
            extra = {"inq": b64(data[start:start + inq]), "outq": b64(data[start + inq:start + inq + outq])}
        if pretty:
            rec["flags"] = flags_to_str(rec["flags"], FLAG_BITS)
            rec["opt_mask"] = "0x%x" % rec["opt_mask"]
        rec["extra"] = extra
        entries.append(rec)
    return entries


def _number(entry, name, where):
    value = entry.get(name, 0)
    try:
        if isinstance(value, str):
            return str_to_flags(value, FLAG_BITS) if name == "flags" else int(value, 0)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    except (ValueError, KeyError):
        pass
    raise CritError("%s.%s: bad value %r" % (where, name, value))


def dump(wr, entries):
    if not entries or not isinstance(entries[0], dict):
        raise CritError("entries[0]: the head (version, rec_size, nr, data_len) is expected")
    head = {name: _number(entries[0], name, "entries[0]") for name in HEAD_FIELDS}
    records = entries[1:]
    if head["nr"] != len(records):
        raise CritError("entries[0].nr is %d, %d records follow" % (head["nr"], len(records)))
    area = bytearray(head["data_len"])
    packed = []
    for i, entry in enumerate(records, 1):
        where = "entries[%d]" % i
        if not isinstance(entry, dict):
            raise CritError("%s: an object is expected" % where)
        rec = [_number(entry, name, where) for name in REC_FIELDS]
        extra = entry.get("extra")
        if not isinstance(extra, dict):
            raise CritError("%s.extra: an object with inq and outq is expected" % where)
        inq = unb64(extra.get("inq", ""), where + ".extra.inq")
        outq = unb64(extra.get("outq", ""), where + ".extra.outq")
        r = dict(zip(REC_FIELDS, rec))
        if len(inq) != r["inq_len"] or len(outq) != r["outq_len"]:
            raise CritError("%s: queues of %d and %d bytes, inq_len %d and outq_len %d" %
                            (where, len(inq), len(outq), r["inq_len"], r["outq_len"]))
        start = r["data_off"]
        if start + len(inq) + len(outq) > len(area):
            raise CritError("%s: queues at %d run past the data area of %d bytes" % (where, start, len(area)))
        area[start:start + len(inq)] = inq
        area[start + len(inq):start + len(inq) + len(outq)] = outq
        try:
            packed.append(REC.pack(*rec))
        except struct.error as e:
            raise CritError("%s: %s" % (where, e)) from None
    try:
        wr.raw(HEAD.pack(*(head[name] for name in HEAD_FIELDS)))
    except struct.error as e:
        raise CritError("entries[0]: %s" % e) from None
    for rec in packed:
        wr.raw(rec)
    wr.raw(bytes(area))
