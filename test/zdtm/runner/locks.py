"""The network lock a dump takes: "criu-ng-<pid>", an nftables table (inet) or an iptables and
ip6tables chain jumped to from INPUT and OUTPUT, split for many connections in sub-chains
"criu-ng-<pid>+<k>" that the chain jumps to. A dump that kills the test leaves it for the restore
to lift; a restore that fails keeps it on purpose (a retry needs it). The runner runs the tests in
its own network namespace, so it is the one to remove a lock its failed test left, and to fail a
test whose criu left one behind after all went well."""

import os
import re
import subprocess

TOOL_TIMEOUT = 60
SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


def lock_name(pid):
    return "criu-ng-%d" % pid


def dump_took(log_path, pid):
    """Whether the dump log at log_path says the dump locked something under the lock of pid."""
    name = lock_name(pid)
    try:
        with open(log_path, errors="replace") as f:
            return any(line.rstrip().endswith(name) or (name + " ") in line for line in f if "net-lock:" in line)
    except OSError:
        return False


def _run(argv, text_in=None):
    env = dict(os.environ)
    env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":" + SBIN
    try:
        return subprocess.run(argv, input=text_in, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=TOOL_TIMEOUT, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _remove_chains(tool, name):
    """Removes chain name of tool (iptables or ip6tables) and the sub-chains it jumps to. Returns
    what was there ("" if nothing), or raises RuntimeError when it could not be removed."""
    listing = _run([tool, "-w", "-S", name])
    if listing is None or listing.returncode != 0:
        return ""
    sub = re.compile(r" -j (%s\+\d+)$" % re.escape(name))
    subs = []
    for line in listing.stdout.splitlines():
        m = sub.search(line)
        if m and m.group(1) not in subs:
            subs.append(m.group(1))
    script = "*filter\n-D INPUT -j {0}\n-D OUTPUT -j {0}\n-F {0}\n-X {0}\n".format(name)
    script += "".join("-F {0}\n-X {0}\n".format(s) for s in subs) + "COMMIT\n"
    res = _run([tool + "-restore", "--noflush", "-w"], script)
    if res is None or res.returncode != 0:
        why = res.stderr.strip() if res else "did not run"
        raise RuntimeError("%s-restore could not remove chain %s: %s" % (tool, name, why))
    return "%s chain %s%s" % (tool, name, " and %d sub-chains" % len(subs) if subs else "")


def remove(pid):
    """Removes the lock of pid from our network namespace; returns the pieces that were there.
    Raises RuntimeError when a piece could not be removed."""
    name = lock_name(pid)
    pieces = []
    listing = _run(["nft", "list", "table", "inet", name])
    if listing is not None and listing.returncode == 0:
        res = _run(["nft", "delete", "table", "inet", name])
        if res is None or res.returncode != 0:
            raise RuntimeError("nft could not delete table inet %s" % name)
        pieces.append("nftables table %s" % name)
    for tool in ("iptables", "ip6tables"):
        piece = _remove_chains(tool, name)
        if piece:
            pieces.append(piece)
    return pieces
