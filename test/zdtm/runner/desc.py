"""Tests and their descriptions. A test is a C binary in test/zdtm/<dir>/ named
as CRIU names it, relative to test/ (zdtm/static/env00). An optional NAME.desc
next to it holds a Python dict literal, as CRIU's do:
    {'flags': 'noauto crfail', 'opts': '--shell-job', 'feature': 'timens'}
flags: noauto (left out of --all), crfail (the dump is expected to fail),
       norst (never restored: always run as if --norst was given),
       killdump (only a dump that kills the test can take it, as one ending a
       vfork(): with --norst the dump is expected to fail, leaving it running),
       nouns (not for CRIU's user-namespace flavor; nothing here, where only
       the host flavor exists).
opts: extra options for criu dump and restore; dopts and ropts: for the dump
or the restore only (--tcp-close on restore; a test with ropts checks what its
restore makes, and is skipped without one). feature: names for
`criu check --feature`; a missing one skips the test."""

import ast
import os
import re
import shlex

KNOWN_KEYS = {"flags", "opts", "dopts", "ropts", "feature"}
KNOWN_FLAGS = {"noauto", "crfail", "norst", "nouns", "killdump"}
TEST_DIRS = ("static",)


class Test:
    def __init__(self, name, binary, desc):
        self.name = name
        self.binary = binary
        self.flags = set(desc.get("flags", "").split())
        self.opts = shlex.split(desc.get("opts", ""))
        self.dopts = shlex.split(desc.get("dopts", ""))
        self.ropts = shlex.split(desc.get("ropts", ""))
        self.features = desc.get("feature", "").split()


def load_desc(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        text = f.read()
    try:
        desc = ast.literal_eval(text)
    except (SyntaxError, ValueError) as e:
        raise ValueError("%s: not a dict literal: %s" % (path, e))
    if not isinstance(desc, dict):
        raise ValueError("%s: not a dict literal" % path)
    unknown = set(desc) - KNOWN_KEYS
    if unknown:
        raise ValueError("%s: unknown keys %s" % (path, ", ".join(sorted(unknown))))
    for key, val in desc.items():
        if not isinstance(val, str):
            raise ValueError("%s: %s must be a string" % (path, key))
    bad = set(desc.get("flags", "").split()) - KNOWN_FLAGS
    if bad:
        raise ValueError("%s: unknown flags %s" % (path, ", ".join(sorted(bad))))
    return desc


def discover(test_root):
    """All tests under test_root (the test/ directory), sorted by name."""
    tests = []
    for sub in TEST_DIRS:
        src_dir = os.path.join(test_root, "zdtm", sub)
        if not os.path.isdir(src_dir):
            continue
        for fname in sorted(os.listdir(src_dir)):
            if not fname.endswith(".c"):
                continue
            base = fname[:-2]
            binary = os.path.join(src_dir, base)
            desc = load_desc(os.path.join(src_dir, base + ".desc"))
            tests.append(Test("zdtm/%s/%s" % (sub, base), binary, desc))
    return tests


def normalize_name(name):
    """Accept zdtm/static/env00, test/zdtm/static/env00, ./zdtm/static/env00.c"""
    name = name.strip()
    for suffix in (".c", ".desc"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.startswith("./"):
        name = name[2:]
    if name.startswith("test/"):
        name = name[5:]
    return name


def select(tests, names, regexes, excludes, run_all):
    """Tests picked by -t names, -T regexes or --all, minus -x excludes.
    Raises KeyError naming an unknown -t test."""
    by_name = {t.name: t for t in tests}
    picked = []
    for name in names:
        name = normalize_name(name)
        if name not in by_name:
            raise KeyError(name)
        picked.append(by_name[name])
    for regex in regexes:
        pat = re.compile(regex)
        picked += [t for t in tests if pat.search(t.name) and "noauto" not in t.flags]
    if run_all:
        picked += [t for t in tests if "noauto" not in t.flags]
    seen = set()
    result = []
    for t in picked:
        if t.name in seen or any(re.search(x, t.name) for x in excludes):
            continue
        seen.add(t.name)
        result.append(t)
    return result
