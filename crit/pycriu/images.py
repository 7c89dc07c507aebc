"""CRIU images to dicts and back, with the API of CRIU's pycriu.images.

An image is a dict {"magic": "CORE", "entries": [...]}: the JSON that
`crit decode` writes, parsed (the same dicts, payloads in base64 under
"extra"). dump() takes what load() gives, pretty or not, and writes the image
back byte for byte.

Bad input raises ImageError, whose message names what is wrong (and the file,
for a file object with a name); a missing or unknown magic raises its subclass
MagicException, as CRIU's does. Raw images with no magic (pages-*.img) are not
decoded."""

from . import _pycrit

_image, _errors = _pycrit.import_image()

__all__ = ["ImageError", "MagicException", "load", "loads", "dump", "dumps", "info"]


class ImageError(Exception):
    """An image (or a dict) pycriu can't decode (encode)."""


class MagicException(ImageError):
    """No magic, or one pycriu does not know. @magic: the value (or, from
    dump(), the name) found; None when there was none."""

    def __init__(self, message, magic=None):
        super().__init__(message)
        self.magic = magic


def _name(f):
    name = getattr(f, "name", None)
    return name if isinstance(name, str) else None


def _error(e, name):
    message = "%s: %s" % (name, e) if name else str(e)
    if isinstance(e, _errors.MagicError):
        return MagicException(message, e.magic)
    return ImageError(message)


def _read(f):
    data = f.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError("%s: open images in binary mode ('rb'), not text" % (_name(f) or "<file>"))
    return bytes(data)


def loads(s, pretty=False, no_payload=False):
    """The image in bytes @s as a dict; see load()."""
    try:
        return _image.load(bytes(s), pretty, no_payload)
    except _errors.CritError as e:
        raise _error(e, None) from None


def load(f, pretty=False, no_payload=False):
    """The image read from file object @f (opened "rb") as {"magic": ...,
    "entries": [...]}. @pretty: crit decode --pretty's forms of some fields
    (hex, flags, addresses); @no_payload: payloads shown by their size only
    (such a dict can't be dumped)."""
    data = _read(f)
    try:
        return _image.load(data, pretty, no_payload)
    except _errors.CritError as e:
        raise _error(e, _name(f)) from None


def info(f):
    """{"magic": ..., "count": N}: the kind of the image in @f and its number
    of entries (a pagemap's head not counted)."""
    data = _read(f)
    try:
        return _image.info(data)
    except _errors.CritError as e:
        raise _error(e, _name(f)) from None


def dumps(img):
    """The bytes of image @img, a dict as load() returns."""
    try:
        return _image.dump(img)
    except _errors.CritError as e:
        raise _error(e, None) from None


def dump(img, f):
    """Writes image @img (a dict as load() returns) to file object @f (opened
    "wb"). Nothing is written when @img is bad."""
    f.write(dumps(img))
