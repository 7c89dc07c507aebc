"""Finds and imports crit's pycrit package, which does pycriu's work."""

import importlib
import importlib.util
import os
import sys

# Set by `make install`: the folder holding pycrit/, relative to this package's
# folder (works in a root unpacked with dpkg -x), then as an absolute path.
INSTALLED_RELDIR = None
INSTALLED_LIBDIR = None

HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    yield os.environ.get("CRIT_LIBDIR")
    if INSTALLED_RELDIR:
        yield os.path.join(HERE, INSTALLED_RELDIR)
    yield INSTALLED_LIBDIR
    yield os.path.dirname(HERE)  # the source tree: crit/pycriu next to crit/pycrit


def _load_package(libdir):
    """pycrit from @libdir, without adding @libdir to sys.path."""
    init = os.path.join(libdir, "pycrit", "__init__.py")
    spec = importlib.util.spec_from_file_location("pycrit", init,
                                                  submodule_search_locations=[os.path.dirname(init)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["pycrit"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["pycrit"]
        raise


def import_image():
    """pycrit.image and pycrit.errors (already imported pycrit is used as it is)."""
    if "pycrit" not in sys.modules:
        for libdir in _candidates():
            if libdir and os.path.isfile(os.path.join(libdir, "pycrit", "__init__.py")):
                _load_package(libdir)
                break
        else:
            raise ImportError("pycriu: can't find crit's pycrit package (set CRIT_LIBDIR to the folder holding "
                              "pycrit/)")
    try:
        return importlib.import_module("pycrit.image"), importlib.import_module("pycrit.errors")
    except ImportError as e:
        raise ImportError("pycriu: %s (pycriu needs python3-protobuf)" % e) from e
