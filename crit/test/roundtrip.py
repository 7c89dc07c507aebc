#!/usr/bin/python3
"""Checks `crit decode | crit encode` on every image of dump directories: each
image (raw pages-*.img and logs aside) is decoded to JSON, plain and (up to
PRETTY_MAX bytes, which spares the many MiB of queued data of thousands of
TCP connections a second pass) with --pretty, through crit's own command
line code, encoded back, and must come out byte for byte. One process for all the images (the test suite calls it
once per dump); the JSON files stay in --out when given.

Usage: roundtrip.py [--out DIR] IMAGES_DIR...
Prints one line per image that fails and "roundtrip: N images" at the end;
exits 1 if any failed."""

import io
import os
import sys
import tempfile
from contextlib import redirect_stderr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), ".."))

from pycrit import cli  # noqa: E402

SKIP_SUFFIXES = (".log", ".json", ".out", ".pid")
# Raw images with no header of CRIU's: pages, and what iproute2 and the firewall tools saved.
RAW_PREFIXES = ("pages-", "ifaddr-", "route-", "route6-", "rule-", "iptables-", "ip6tables-", "nftables-")
PRETTY_MAX = 4 << 20


def is_image(name):
    return not name.endswith(SKIP_SUFFIXES) and not (name.startswith(RAW_PREFIXES) and name.endswith(".img"))


def crit(args):
    """Runs crit's main() with @args; None or its one-line error."""
    err = io.StringIO()
    with redirect_stderr(err):
        rc = cli.main(args)
    return None if rc == 0 else (err.getvalue().strip() or "exit %d" % rc)


def check(path, work, out_dir):
    name = os.path.basename(path)
    with open(path, "rb") as f:
        original = f.read()
    for flags in ([], ["--pretty"]) if len(original) <= PRETTY_MAX else ([],):
        json_path = os.path.join(out_dir or work, name + (".pretty" if flags else "") + ".json")
        back = os.path.join(work, name + ".back")
        problem = crit(["decode", "-i", path, "-o", json_path] + flags) or crit(
            ["encode", "-i", json_path, "-o", back])
        if problem:
            return problem
        with open(back, "rb") as f:
            encoded = f.read()
        if encoded != original:
            at = next((i for i, (a, b) in enumerate(zip(encoded, original)) if a != b), min(len(encoded),
                                                                                        len(original)))
            return "%s: decode%s | encode differs at byte %d (%d bytes, was %d)" % (
                path, " --pretty" if flags else "", at, len(encoded), len(original))
    return None


def main(argv):
    out_dir = None
    if argv[:1] == ["--out"]:
        out_dir, argv = argv[1], argv[2:]
        os.makedirs(out_dir, exist_ok=True)
    if not argv:
        sys.exit("usage: roundtrip.py [--out DIR] IMAGES_DIR...")
    count = failed = 0
    with tempfile.TemporaryDirectory(prefix="crit-roundtrip.") as work:
        for images_dir in argv:
            for name in sorted(os.listdir(images_dir)):
                path = os.path.join(images_dir, name)
                if not os.path.isfile(path) or not is_image(name):
                    continue
                count += 1
                problem = check(path, work, out_dir)
                if problem:
                    failed += 1
                    print(problem)
    print("roundtrip: %d images, %d failed" % (count, failed))
    return 1 if failed or not count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
