"""The command line of test/zdtm.py, in CRIU's zdtm.py words:
  zdtm.py run -t zdtm/static/env00 [-t ...] | -T REGEX | --all
              [-x REGEX] [-f h] [--keep-going] [--criu-bin PATH]
              [--norst | --nocr] [--dump-dir DIR] [--keep] [--crit [PATH]]
  zdtm.py list"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

from . import desc, procs
from .flow import run_test
from .report import Result, print_result, summary

FLAVORS = ("h",)


def parse_args(argv, test_root):
    parser = argparse.ArgumentParser(prog="zdtm.py", description="criu-ng's zdtm-style test runner")
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run tests")
    run.add_argument("-t", "--test", action="append", default=[], help="a test, e.g. zdtm/static/env00")
    run.add_argument("-T", "--tests", action="append", default=[], metavar="REGEX", help="tests matching REGEX")
    run.add_argument("-a", "--all", action="store_true", help="every test not flagged noauto")
    run.add_argument("-x", "--exclude", action="append", default=[], metavar="REGEX", help="leave these out")
    run.add_argument("-f", "--flavor", default="h", help="comma separated flavors; only h (host) exists")
    run.add_argument("-k", "--keep-going", action="store_true", help="go on after a failure")
    run.add_argument("--criu-bin", default=os.path.join(test_root, "..", "criu", "criu"), help="criu binary")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--norst", action="store_true", help="dump with --leave-running, no restore")
    mode.add_argument("--nocr", action="store_true", help="no checkpoint at all: check the tests themselves")
    run.add_argument("--dump-dir", help="where the per-test working directories go (default: a new temp dir)")
    run.add_argument("--keep", action="store_true", help="keep the working directories of passed tests")
    run.add_argument("--crit", nargs="?", const=os.path.join(test_root, "..", "crit", "crit"), metavar="PATH",
                     help="decode every dumped image with crit (default: the tree's crit/crit, which also "
                     "checks that decode | encode gives each image back byte for byte)")
    sub.add_parser("list", help="list the tests")
    return parser.parse_args(argv)


def check_flavors(flavor):
    flavors = [f for f in flavor.split(",") if f]
    bad = [f for f in flavors if f not in FLAVORS]
    if bad:
        sys.exit("zdtm.py: flavor %s is not supported (only: %s)" % (",".join(bad), ",".join(FLAVORS)))
    return flavors


def exit_on_signal(signum, frame):
    """SIGTERM (a CI timeout) unwinds like an exception, so the running test
    and its criu are killed on the way out instead of being left behind."""
    raise SystemExit(128 + signum)


def run_tests(args, tests, test_root):
    flavors = check_flavors(args.flavor)
    mode = "nocr" if args.nocr else "norst" if args.norst else "cr"
    criu_bin = os.path.abspath(args.criu_bin)
    if mode != "nocr" and not os.access(criu_bin, os.X_OK):
        sys.exit("zdtm.py: %s is not an executable criu" % criu_bin)
    try:
        selected = desc.select(tests, args.test, args.tests, args.exclude, args.all)
    except KeyError as e:
        sys.exit("zdtm.py: no test named %s (see zdtm.py list)" % e.args[0])
    if not selected:
        sys.exit("zdtm.py: no test selected: give -t NAME, -T REGEX or --all")
    procs.become_subreaper()
    signal.signal(signal.SIGTERM, exit_on_signal)
    base = os.path.abspath(args.dump_dir) if args.dump_dir else tempfile.mkdtemp(prefix="criu-ng-zdtm.")
    counts = {Result.PASS: 0, Result.FAIL: 0, Result.SKIP: 0}
    for test in selected:
        for flavor in flavors:
            workdir = os.path.join(base, test.name.replace("/", "_") + "." + flavor)
            started = time.monotonic()
            result = run_test(test, mode, criu_bin, workdir, args.keep, args.crit)
            print_result(test.name, "%s,%s" % (flavor, mode), result, time.monotonic() - started)
            counts[result.status] += 1
        if counts[Result.FAIL] and not args.keep_going:
            break
    if not args.dump_dir and not args.keep and not counts[Result.FAIL]:
        shutil.rmtree(base, ignore_errors=True)
    print(summary(counts[Result.PASS], counts[Result.FAIL], counts[Result.SKIP]), flush=True)
    return 1 if counts[Result.FAIL] else 0


def main(argv, test_root):
    args = parse_args(argv, test_root)
    try:
        tests = desc.discover(test_root)
    except ValueError as e:
        sys.exit("zdtm.py: %s" % e)
    if args.action == "list":
        for test in tests:
            flags = " [%s]" % " ".join(sorted(test.flags)) if test.flags else ""
            print(test.name + flags)
        return 0
    return run_tests(args, tests, test_root)
