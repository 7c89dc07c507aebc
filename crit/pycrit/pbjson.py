"""Protobuf messages to JSON-ready dicts and back, with CRIU crit's
conventions: fields in field-number order, only those present; enums by
name; bytes in base64 (MIME style, a newline every 76 characters and at the
end); with pretty, the fields of fieldfmt.py in hex, as flag names, device
numbers, addresses or value names. A dict made by to_dict() with or without
pretty goes back to the same message with from_dict()."""

import base64
import ipaddress
import os
import quopri
import struct

from google.protobuf.descriptor import FieldDescriptor as FD

from .errors import CritError
from .fieldfmt import FLAG_BITS, VALUE_NAMES, options

INT_TYPES = frozenset((FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_SINT32,
                       FD.TYPE_SINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64, FD.TYPE_SFIXED32, FD.TYPE_SFIXED64))
MINOR_BITS = 20  # the kernel's internal dev_t: major << 20 | minor


def _repeated(field):
    return field.label == FD.LABEL_REPEATED


# --- bytes -------------------------------------------------------------------


def _bytes_out(opts, value):
    if opts.get("conv") == "unix_name":
        return quopri.encodestring(value).decode()
    return base64.encodebytes(value).decode()


def _bytes_in(opts, value):
    if not isinstance(value, str):
        raise ValueError("a string is expected")
    if opts.get("conv") == "unix_name":
        return quopri.decodestring(value.encode())
    return base64.decodebytes(value.encode())


# --- numbers shown by name ------------------------------------------------------


def flags_to_str(value, bits):
    names = [name for name, bit in bits if value & bit]
    rest = value
    for _, bit in bits:
        rest &= ~bit
    if rest:
        names.append("0x%x" % rest)
    return " | ".join(names)


def str_to_flags(text, bits):
    if text == "":
        return 0
    by_name = dict(bits)
    value = 0
    for part in text.split("|"):
        part = part.strip()
        value += by_name[part] if part in by_name else int(part, 0)
    return value


def _dev_out(opts, value):
    if opts.get("odev"):
        return "%d:%d" % (os.major(value), os.minor(value))
    return "%d:%d" % (value >> MINOR_BITS, value & ((1 << MINOR_BITS) - 1))


def _dev_in(opts, text):
    major, minor = (int(x) for x in text.split(":"))
    if opts.get("odev"):
        return os.makedev(major, minor)
    return major << MINOR_BITS | minor


def _int_out(field, opts, value, is_hex):
    if is_hex:
        return "0x%x" % value
    if opts.get("dev"):
        return _dev_out(opts, value)
    if "flags" in opts:
        bits = FLAG_BITS.get(opts["flags"])
        return flags_to_str(value, bits) if bits else "0x%x" % value
    if "dict" in opts:
        return VALUE_NAMES[opts["dict"]][field.name].get(value, value)
    return value


def _int_in(field, opts, value):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("a number is expected")
    if isinstance(value, int):
        return value
    if opts.get("dev"):
        return _dev_in(opts, value)
    if opts.get("flags") in FLAG_BITS:
        return str_to_flags(value, FLAG_BITS[opts["flags"]])
    if "dict" in opts:
        for number, name in VALUE_NAMES[opts["dict"]][field.name].items():
            if name == value:
                return number
    return int(value, 0)


# --- addresses (repeated u32 words of an in_addr / in6_addr) -------------------


def _addr_out(words):
    if len(words) not in (1, 4):
        return None
    return ipaddress.ip_address(struct.pack("=%dI" % len(words), *words)).compressed


def _addr_in(text):
    packed = ipaddress.ip_address(text).packed
    return list(struct.unpack("=%dI" % (len(packed) // 4), packed))


# --- messages --------------------------------------------------------------------


def _value_out(field, opts, value, pretty, is_hex):
    kind = field.type
    if kind == FD.TYPE_MESSAGE:
        return to_dict(value, pretty, is_hex)
    if kind == FD.TYPE_BYTES:
        return _bytes_out(opts, value)
    if kind == FD.TYPE_ENUM:
        val = field.enum_type.values_by_number.get(value)
        return val.name if val else value
    if kind in INT_TYPES and pretty:
        return _int_out(field, opts, value, is_hex)
    return value


def to_dict(msg, pretty=False, is_hex=False):
    """The present fields of @msg as a dict, CRIU crit's way."""
    out = {}
    for field, value in msg.ListFields():
        opts = options(field)
        field_hex = is_hex or bool(opts.get("hex"))
        if _repeated(field):
            addr = _addr_out(value) if pretty and opts.get("ipadd") else None
            if addr is not None:
                out[field.name] = [addr]
            else:
                out[field.name] = [_value_out(field, opts, v, pretty, field_hex) for v in value]
        else:
            out[field.name] = _value_out(field, opts, value, pretty, field_hex)
    return out


def _value_in(field, opts, value):
    kind = field.type
    if kind == FD.TYPE_BYTES:
        return _bytes_in(opts, value)
    if kind == FD.TYPE_ENUM:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        val = field.enum_type.values_by_name.get(value) if isinstance(value, str) else None
        if val is None:
            raise ValueError("%r is not a value of %s" % (value, field.enum_type.name))
        return val.number
    if kind in INT_TYPES:
        return _int_in(field, opts, value)
    if kind == FD.TYPE_BOOL:
        return bool(value)
    if kind == FD.TYPE_STRING:
        if not isinstance(value, str):
            raise ValueError("a string is expected")
        return value
    if kind in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return float(value)
    raise ValueError("field type %d is not supported" % kind)


def _field_in(msg, field, value, path):
    opts = options(field)
    if _repeated(field):
        if not isinstance(value, list):
            raise ValueError("a list is expected")
        dest = getattr(msg, field.name)
        if value and isinstance(value[0], str) and opts.get("ipadd"):
            dest.extend(_addr_in(value[0]))
            return
        for i, item in enumerate(value):
            if field.type == FD.TYPE_MESSAGE:
                from_dict(item, dest.add(), "%s[%d]" % (path, i))
            else:
                dest.append(_value_in(field, opts, item))
    elif field.type == FD.TYPE_MESSAGE:
        sub = getattr(msg, field.name)
        sub.SetInParent()
        from_dict(value, sub, path)
    else:
        setattr(msg, field.name, _value_in(field, opts, value))


def from_dict(data, msg, path=""):
    """Fills @msg from @data (keys that are not fields are ignored); @path
    names the place in the JSON for errors."""
    if not isinstance(data, dict):
        raise CritError("%s: an object is expected" % (path or msg.DESCRIPTOR.name))
    for field in msg.DESCRIPTOR.fields:
        if field.name not in data:
            continue
        where = "%s.%s" % (path, field.name) if path else field.name
        try:
            _field_in(msg, field, data[field.name], where)
        except CritError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as e:
            raise CritError("%s: bad value %s: %s" % (where, _short(data[field.name]), e)) from None
    return msg


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
