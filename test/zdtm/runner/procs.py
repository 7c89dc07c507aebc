"""Process handling for the runner: becoming a child subreaper, waiting for a
pid with a timeout, reading pidfiles and cleaning up what a test left behind."""

import ctypes
import errno
import os
import signal
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Make orphaned descendants (daemonized tests, restored trees) our children."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(err))


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def pid_state(pid):
    """The one-letter state from /proc/PID/stat, or None if pid is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2]


def describe_status(status):
    if os.WIFEXITED(status):
        return "exited with %d" % os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return "killed by %s" % name
    return "status %#x" % status


def wait_pid(pid, timeout):
    """Wait for pid to end. Returns its wait status, None when it is not our
    child (it then only waits for it to disappear, status unknown), or raises
    TimeoutError."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    own_child = True
    while True:
        if own_child:
            try:
                wpid, status = os.waitpid(pid, os.WNOHANG)
                if wpid == pid:
                    return status
            except ChildProcessError:
                own_child = False
        if not own_child and not pid_alive(pid):
            return None
        if time.monotonic() >= deadline:
            raise TimeoutError("pid %d still runs after %gs" % (pid, timeout))
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def read_pidfile(path):
    with open(path) as f:
        text = f.read().strip()
    if not text.isdigit():
        raise ValueError("pidfile %s holds %r, not a pid" % (path, text))
    return int(text)


def read_helpers(path):
    """The helper pids a test declared, one a line, in the file at path; none
    when the file does not exist."""
    try:
        with open(path) as f:
            lines = f.read().split()
    except FileNotFoundError:
        return []
    bad = [line for line in lines if not line.isdigit()]
    if bad:
        raise ValueError("%s holds %r, not a pid" % (path, bad[0]))
    return [int(line) for line in lines]


def kill_and_reap(pid):
    """SIGKILL pid if it still exists and reap it if it is ours."""
    if pid is None or pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        wait_pid(pid, 5)
    except TimeoutError:
        pass


def children():
    """Pids of our own children, including orphans we adopted as a subreaper."""
    pids = set()
    task_dir = "/proc/self/task"
    for tid in os.listdir(task_dir):
        try:
            with open(os.path.join(task_dir, tid, "children")) as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            continue
    return sorted(pids)


def kill_children():
    """SIGKILL and reap every child still around; returns their pids. Call
    only when no subprocess of ours is meant to be running."""
    leftover = [pid for pid in children() if pid_alive(pid)]
    for pid in leftover:
        kill_and_reap(pid)
    reap_strays()
    return leftover


def reap_strays():
    """Reap every zombie child left behind; call only when no subprocess is
    being waited for."""
    while True:
        try:
            wpid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            raise
        if wpid == 0:
            return
