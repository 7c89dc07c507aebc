"""pycriu: CRIU images from Python, criu-ng's own module with the API of
CRIU's pycriu.images, for the scripts that `import pycriu`.

    import pycriu
    with open("core-1.img", "rb") as f:
        img = pycriu.images.load(f)      # {"magic": "CORE", "entries": [...]}

pycriu.images (load, loads, dump, dumps, info, MagicException) decodes and
encodes every image crit does, with crit's JSON: it is a thin layer over crit's
pycrit package, found where `make install` put it.

Not provided: pycriu.criu and pycriu.rpc, CRIU's RPC client of `criu swrk`
(criu-ng has no swrk service mode), and the generated *_pb2 modules (crit
builds its message classes at run time from images/*.proto)."""

from . import images  # noqa: F401

__all__ = ["images"]
