"""Payload bytes in JSON: base64 as CRIU's crit writes it (MIME lines of 76
characters, a newline at the end), or with --nopl only their size."""

import base64

from .errors import CritError

NO_PAYLOAD = "... <"  # how --nopl shows a payload


def human_size(num):
    for unit in ("", "K", "M", "G", "T", "P", "E", "Z"):
        if num < 1024.0:
            if int(num) == num:
                return "%d%sB" % (num, unit)
            return "%.1f%sB" % (num, unit)
        num /= 1024.0
    return "%.1fYB" % num


def left_out(size):
    return NO_PAYLOAD + human_size(size) + ">"


def b64(data):
    return base64.encodebytes(data).decode()


def unb64(text, where):
    if not isinstance(text, str):
        raise CritError("%s: a base64 string is expected" % where)
    if text.startswith(NO_PAYLOAD):
        raise CritError("%s: the payload was left out (decoded with --nopl), nothing to encode" % where)
    try:
        return base64.b64decode(text.encode(), validate=False)
    except (ValueError, TypeError) as e:
        raise CritError("%s: bad base64: %s" % (where, e)) from None
