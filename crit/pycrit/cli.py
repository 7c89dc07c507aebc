"""crit's command line, CRIU crit's: decode, encode, info, show, x. Every
failure is one line on stderr, "crit: FILE: what is wrong", and exit 1."""

import argparse
import json
import os
import sys

from . import VERSION, explore, image
from .errors import CritError

STDIN = "<stdin>"


class Failure(Exception):
    """A CritError tied to the file it concerns."""

    def __init__(self, name, message):
        super().__init__("%s: %s" % (name, message))


def read_input(path):
    name = path or STDIN
    try:
        if path:
            with open(path, "rb") as f:
                return name, f.read()
        return name, sys.stdin.buffer.read()
    except OSError as e:
        raise Failure(name, e.strerror) from None


def write_output(path, data, text):
    name = path or "<stdout>"
    try:
        if path:
            with open(path, "w" if text else "wb") as f:
                f.write(data)
        elif text:
            sys.stdout.write(data + "\n")
            sys.stdout.flush()
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
    except OSError as e:
        if isinstance(e, BrokenPipeError):
            raise
        raise Failure(name, e.strerror) from None


def load_image(path, pretty=False, nopl=False):
    name, data = read_input(path)
    try:
        return image.load(data, pretty, nopl)
    except CritError as e:
        raise Failure(name, str(e)) from None


def cmd_decode(opts):
    img = load_image(opts.input, opts.pretty, opts.nopl)
    write_output(opts.out, json.dumps(img, indent=4 if opts.pretty else None), True)


def cmd_encode(opts):
    name, data = read_input(opts.input)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(name, "not JSON (binary data? encode reads the JSON that decode writes)") from None
    try:
        img = json.loads(text)
    except ValueError as e:
        raise Failure(name, "not JSON: %s" % e) from None
    try:
        out = image.dump(img)
    except CritError as e:
        raise Failure(name, str(e)) from None
    write_output(opts.out, out, False)


def cmd_info(opts):
    name, data = read_input(opts.input)
    try:
        res = image.info(data)
    except CritError as e:
        raise Failure(name, str(e)) from None
    write_output(None, json.dumps(res, indent=4), True)


def cmd_explore(opts):
    try:
        explore.run(opts.dir, opts.what, sys.stdout)
    except explore.ImageFailure as e:
        raise Failure(e.path, e.message) from None


def parser():
    p = argparse.ArgumentParser(prog="crit", description="CRiu Image Tool (criu-ng)",
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--version", action="version", version=VERSION)
    sub = p.add_subparsers(dest="command", help="Use crit CMD --help for command-specific help")

    dec = sub.add_parser("decode", help="convert criu image from binary type to json")
    dec.add_argument("--pretty", action="store_true",
                     help="Multiline with indents and some numerical fields in field-specific format")
    dec.add_argument("-i", "--in", dest="input", help="criu image in binary format to be decoded (stdin by default)")
    dec.add_argument("-o", "--out", help="where to put criu image in json format (stdout by default)")
    dec.add_argument("--nopl", action="store_true", help="do not show entry payload (if exists)")
    dec.set_defaults(func=cmd_decode)

    enc = sub.add_parser("encode", help="convert criu image from json type to binary")
    enc.add_argument("-i", "--in", dest="input", help="criu image in json format to be encoded (stdin by default)")
    enc.add_argument("-o", "--out", help="where to put criu image in binary format (stdout by default)")
    enc.set_defaults(func=cmd_encode)

    inf = sub.add_parser("info", help="show info about image")
    inf.add_argument("input", metavar="in")
    inf.set_defaults(func=cmd_info)

    xpl = sub.add_parser("x", help="explore image dir")
    xpl.add_argument("dir")
    xpl.add_argument("what", choices=sorted(explore.EXPLORERS))
    xpl.set_defaults(func=cmd_explore)

    show = sub.add_parser("show", help="convert criu image from binary to human-readable json")
    show.add_argument("input", metavar="in")
    show.add_argument("--nopl", action="store_true", help="do not show entry payload (if exists)")
    show.set_defaults(func=cmd_decode, pretty=True, out=None)
    return p


def main(argv=None):
    p = parser()
    opts = p.parse_args(argv)
    if not opts.command:
        sys.stderr.write(p.format_usage())
        sys.stderr.write("crit: error: too few arguments\n")
        return 1
    try:
        opts.func(opts)
    except Failure as e:
        sys.stderr.write("crit: %s\n" % e)
        return 1
    except BrokenPipeError:
        # The reader went away (crit decode | head): not an error of crit's.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug of crit's: still one line, never a traceback
        where = getattr(opts, "input", None) or getattr(opts, "dir", None) or STDIN
        sys.stderr.write("crit: %s: internal error: %s: %s\n" % (where, type(e).__name__, e))
        return 1
    return 0
