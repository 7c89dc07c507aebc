"""Reads CRIU-format images with the standard library only: the entry types come
from the project's own images/*.proto (a small parser of the proto2 subset they
use), the image names and magics from criu/image-desc.c and images/magic.h, so
the checker decodes exactly what the C code writes. An entry decodes to a dict
of field name to value (a list for repeated fields, a dict for a message);
fields the .proto doesn't name are kept under their number in "_unknown"."""

import os
import re
import struct

SCALARS = {
    "uint32", "uint64", "int32", "int64", "sint32", "sint64", "bool", "string", "bytes",
    "fixed32", "fixed64", "sfixed32", "sfixed64", "float", "double",
}


# Images whose one entry is followed by raw data (a ghost file's contents, a connection's queues).
ENTRY_THEN_RAW = {"ghost_file_entry", "tcp_stream_entry"}
# Images whose every entry is followed by as many raw bytes as one of its fields says (queued data).
ENTRY_WITH_RAW = {"sk_packet_entry": "length", "pipe_data_entry": "bytes"}


class ImageError(Exception):
    pass


class Field:
    def __init__(self, label, ftype, name, number):
        self.label = label
        self.type = ftype
        self.name = name
        self.number = number


class Schema:
    """Every message and enum of images/*.proto, by name."""

    def __init__(self, proto_dir):
        self.messages = {}
        self.enums = set()
        for name in sorted(os.listdir(proto_dir)):
            if name.endswith(".proto"):
                with open(os.path.join(proto_dir, name)) as f:
                    self._parse(f.read())

    def _parse(self, text):
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.S)
        stack = []
        for tok in re.finditer(r"(message|enum)\s+(\w+)\s*\{|\}|(required|optional|repeated)\s+([\w.]+)\s+(\w+)"
                               r"\s*=\s*(\d+)", text):
            if tok.group(1):
                kind, name = tok.group(1), tok.group(2)
                stack.append((kind, name))
                if kind == "message":
                    self.messages[name] = {}
                else:
                    self.enums.add(name)
            elif tok.group(0) == "}":
                if stack:
                    stack.pop()
            elif stack and stack[-1][0] == "message":
                field = Field(tok.group(3), tok.group(4), tok.group(5), int(tok.group(6)))
                self.messages[stack[-1][1]][field.number] = field

    def required(self, message):
        return [f.name for f in self.messages[message].values() if f.label == "required"]


def varint(buf, pos):
    """The varint at @buf[@pos]: (value, position after it)."""
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ImageError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ImageError("varint too long")


def _scalar(ftype, wire, raw):
    if ftype in ("sint32", "sint64"):
        return (raw >> 1) ^ -(raw & 1)
    if ftype in ("int32", "int64") and raw >= 1 << 63:
        return raw - (1 << 64)
    if ftype == "bool":
        return bool(raw)
    if ftype == "float" and wire == 5:
        return struct.unpack("<f", struct.pack("<I", raw))[0]
    if ftype == "double" and wire == 1:
        return struct.unpack("<d", struct.pack("<Q", raw))[0]
    return raw


def decode(schema, message, buf):
    """Decodes @buf as @message; raises ImageError on a malformed buffer."""
    fields = schema.messages[message]
    out = {}
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            raw, pos = varint(buf, pos)
            values = [raw]
        elif wire == 1 or wire == 5:
            size = 8 if wire == 1 else 4
            if pos + size > len(buf):
                raise ImageError("truncated fixed field %d" % number)
            raw = int.from_bytes(buf[pos:pos + size], "little")
            pos += size
            values = [raw]
        elif wire == 2:
            size, pos = varint(buf, pos)
            if pos + size > len(buf):
                raise ImageError("truncated field %d" % number)
            chunk = buf[pos:pos + size]
            pos += size
            values = [chunk]
        else:
            raise ImageError("wire type %d of field %d" % (wire, number))
        field = fields.get(number)
        if field is None:
            out.setdefault("_unknown", {}).setdefault(number, []).extend(values)
            continue
        decoded = []
        for v in values:
            if field.type in schema.messages:
                decoded.append(decode(schema, field.type, v))
            elif field.type == "string":
                decoded.append(bytes(v).decode("utf-8", "replace"))
            elif field.type == "bytes":
                decoded.append(bytes(v))
            elif wire == 2:  # a packed repeated scalar
                p = 0
                while p < len(v):
                    raw, p = varint(v, p)
                    decoded.append(_scalar(field.type, 0, raw))
            else:
                decoded.append(_scalar(field.type, wire, v))
        if field.label == "repeated":
            out.setdefault(field.name, []).extend(decoded)
        else:
            out[field.name] = decoded[-1]
    return out


class ImageKind:
    def __init__(self, fmt, first_magic, magic, message):
        self.fmt = fmt
        self.first_magic = first_magic
        self.magic = magic
        self.message = message
        pattern = re.escape(fmt).replace("%u", r"(\d+)").replace("%x", r"([0-9a-f]+)").replace("%llu", r"(\d+)")
        self.regex = re.compile("^" + pattern + "$")


def load_kinds(top):
    """The image kinds of criu/image-desc.c, with the magics of images/magic.h."""
    magics = {}
    with open(os.path.join(top, "images", "magic.h")) as f:
        for m in re.finditer(r"#define\s+(\w+)\s+(0x[0-9a-fA-F]+|\d+)", f.read()):
            magics[m.group(1)] = int(m.group(2), 0)
    with open(os.path.join(top, "criu", "image-desc.c")) as f:
        text = f.read()
    kinds = []
    for m in re.finditer(r"DESC\(\s*\w+,\s*\"([^\"]+)\",\s*(\w+),\s*(\w+),\s*(?:&(\w+)__descriptor|NULL)\)", text):
        first = 0 if m.group(2) == "0" else magics[m.group(2)]
        kinds.append(ImageKind(m.group(1), first, magics.get(m.group(3), 0), m.group(4)))
    return kinds


class Images:
    """The images of one dump directory, decoded on demand."""

    def __init__(self, images_dir, top):
        self.dir = images_dir
        self.schema = Schema(os.path.join(top, "images"))
        self.kinds = load_kinds(top)
        self._cache = {}

    def kind_of(self, name):
        for kind in self.kinds:
            m = kind.regex.match(name)
            if m:
                return kind, (m.group(1) if m.groups() else None)
        return None, None

    def exists(self, name):
        return os.path.exists(os.path.join(self.dir, name))

    def size(self, name):
        return os.path.getsize(os.path.join(self.dir, name))

    def magics(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            head = f.read(8)
        return struct.unpack("<II", head) if len(head) == 8 else (None, None)

    def entries(self, name, first_message=None):
        """The entries of image @name; @first_message decodes the first one (a pagemap's head)."""
        if name in self._cache:
            return self._cache[name]
        kind, _ = self.kind_of(name)
        if kind is None or kind.message is None:
            raise ImageError("%s: not an image of entries" % name)
        with open(os.path.join(self.dir, name), "rb") as f:
            data = f.read()
        pos = 8 if kind.first_magic else 4
        out = []
        while pos < len(data):
            if pos + 4 > len(data):
                raise ImageError("%s: truncated entry size" % name)
            size = struct.unpack_from("<I", data, pos)[0]
            pos += 4
            if pos + size > len(data):
                raise ImageError("%s: entry %d is truncated" % (name, len(out)))
            message = first_message if first_message and not out else kind.message
            out.append(decode(self.schema, message, data[pos:pos + size]))
            pos += size
            if kind.message in ENTRY_WITH_RAW:
                pos += int(out[-1].get(ENTRY_WITH_RAW[kind.message], 0))
                if pos > len(data):
                    raise ImageError("%s: the data of entry %d is truncated" % (name, len(out) - 1))
            if kind.message in ENTRY_THEN_RAW:
                break
        self._cache[name] = out
        return out

    def ghost_chunks(self, name, entry_size):
        """The ghost_chunk_entry entries of the chunked ghost file @name, each followed by its len bytes,
        after its ghost_file_entry (@entry_size bytes); raises ImageError on a truncated image."""
        with open(os.path.join(self.dir, name), "rb") as f:
            data = f.read()
        pos = 8 + 4 + entry_size  # the two magics, the entry's size, the entry
        out = []
        while pos < len(data):
            if pos + 4 > len(data):
                raise ImageError("%s: truncated size of chunk %d" % (name, len(out)))
            size = struct.unpack_from("<I", data, pos)[0]
            pos += 4
            if pos + size > len(data):
                raise ImageError("%s: chunk %d is truncated" % (name, len(out)))
            out.append(decode(self.schema, "ghost_chunk_entry", data[pos:pos + size]))
            pos += size + int(out[-1].get("len", 0))
            if pos > len(data):
                raise ImageError("%s: the data of chunk %d is truncated" % (name, len(out) - 1))
        return out

    def first_entry_size(self, name):
        with open(os.path.join(self.dir, name), "rb") as f:
            head = f.read(12)
        if len(head) < 12:
            raise ImageError("%s: no entry" % name)
        return struct.unpack_from("<I", head, 8)[0]
