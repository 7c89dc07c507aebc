#!/usr/bin/python3
"""criu4-check.py DIR...: applies to each dump directory the checks CRIU 4's restore
makes on the images criu-ng writes (test/imgcheck/criu4.py, described in
Documentation/image-compat.md). Prints one line per broken rule; exits 1 if a
rule is broken, 0 otherwise (notes about options CRIU can't follow are printed
but don't fail)."""

import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "test"))

from imgcheck.criu4 import check  # noqa: E402


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    bad = 0
    for d in argv:
        failures, notes = check(d, TOP)
        for line in failures:
            print("FAIL " + line)
        for line in notes:
            print("NOTE " + line)
        print("%s: %s" % (d, "%d rule(s) broken" % len(failures) if failures else "as CRIU 4 expects"))
        bad += bool(failures)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
