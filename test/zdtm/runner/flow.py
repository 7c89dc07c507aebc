"""One test's life: start it, checkpoint it (or not), restore it (or not),
stop it with SIGTERM and read its verdict. Modes:
  cr     dump, then restore with --restore-detached (the default)
  norst  dump with --leave-running, no restore
  nocr   no criu at all: start, SIGTERM, verdict (checks the test itself)"""

import os
import shutil
import signal
import subprocess

from . import images, locks, procs
from .criu import Criu, CriuError
from .report import Result

START_TIMEOUT = 30  # seconds: 10,000 connections take a while to set up on a loaded 2-vCPU machine
STOP_TIMEOUT = 10
HELPER_TIMEOUT = 10  # how long a helper may run on once its test has ended


TEST_SKIP_EXIT = 77  # the launcher's status when the test skipped itself


class TestFailed(Exception):
    pass


class TestSkipped(Exception):
    pass


class TestRun:
    def __init__(self, test, mode, criu_bin, workdir, crit_bin=None):
        self.test = test
        self.mode = "norst" if mode == "cr" and "norst" in test.flags else mode
        self.workdir = workdir
        self.pidfile = os.path.join(workdir, "test.pid")
        self.outfile = os.path.join(workdir, "test.out")
        self.launch_log = os.path.join(workdir, "launch.log")
        self.criu = Criu(criu_bin, workdir, extra_opts=test.opts, dump_opts=test.dopts, restore_opts=test.ropts)
        self.crit_bin = crit_bin
        self.pid = None
        self.helpers = []  # pids the test declared in PIDFILE.helpers
        self.lock_pid = None  # the pid whose network lock the dump took

    def logs(self):
        paths = [self.outfile, self.launch_log]
        if self.mode != "nocr":
            paths += [os.path.join(self.workdir, "criu-dump.out"), self.criu.log_path("dump")]
        if self.mode == "cr":
            paths += [os.path.join(self.workdir, "criu-restore.out"), self.criu.log_path("restore")]
        return paths

    def start(self):
        if not os.path.exists(self.test.binary):
            raise TestFailed("%s is not built (make -C test/zdtm)" % self.test.binary)
        cmd = [self.test.binary, "--pidfile=" + self.pidfile, "--outfile=" + self.outfile]
        with open(self.launch_log, "w") as log:
            launcher = subprocess.Popen(cmd, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, close_fds=True)
        try:
            rc = launcher.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()
            raise TestFailed("the test did not get ready in %ds" % START_TIMEOUT)
        if rc == TEST_SKIP_EXIT:
            raise TestSkipped(self.skip_reason())
        if rc != 0:
            raise TestFailed("the test's launcher exited with %d before the test was ready" % rc)
        try:
            self.pid = procs.read_pidfile(self.pidfile)
        except (OSError, ValueError) as e:
            raise TestFailed("no pid from the test: %s" % e)
        try:
            self.helpers = procs.read_helpers(self.pidfile + ".helpers")
        except (OSError, ValueError) as e:
            raise TestFailed("bad helpers file: %s" % e)

    def skip_reason(self):
        try:
            with open(self.outfile, errors="replace") as f:
                for line in f:
                    if line.startswith("SKIP: "):
                        return line[6:].strip()
        except OSError:
            pass
        return "the test skipped itself"

    def check_log(self, action):
        try:
            errors = self.criu.log_errors(action)
        except CriuError as e:
            raise TestFailed(str(e))
        if errors:
            raise TestFailed("%d Error line(s) in %s.log, first: %s" % (len(errors), action, errors[0].strip()))

    def checkpoint(self):
        expect_fail = "crfail" in self.test.flags or ("killdump" in self.test.flags and self.mode == "norst")
        try:
            rc = self.criu.dump(self.pid, self.pidfile, leave_running=self.mode == "norst")
        except CriuError as e:
            raise TestFailed(str(e))
        finally:
            if locks.dump_took(self.criu.log_path("dump"), self.pid):
                self.lock_pid = self.pid
        if expect_fail:
            if rc == 0:
                raise TestFailed("criu dump succeeded, the test expects it to fail")
            if not procs.pid_alive(self.pid):
                raise TestFailed("the failed dump did not leave the test running")
            return False
        if rc != 0:
            raise TestFailed("criu dump exited with %d" % rc)
        self.check_log("dump")
        problem = (images.check_pages(self.criu.images_path()) or images.check_tcp_streams(self.criu.images_path())
                   or images.check_criu4(self.criu.images_path()))
        if not problem and self.crit_bin:
            problem = images.crit_decode_all(self.criu.images_path(), self.crit_bin,
                                             os.path.join(self.workdir, "crit"))
        if problem:
            raise TestFailed(problem)
        return True

    def after_dump_running(self):
        state = procs.pid_state(self.pid)
        if state is None or state == "Z":
            raise TestFailed("the test is gone after dump --leave-running")
        if state in ("T", "t"):
            raise TestFailed("the test is left stopped (state %s) after dump --leave-running" % state)

    def restore(self):
        try:
            status = procs.wait_pid(self.pid, STOP_TIMEOUT)
        except TimeoutError:
            raise TestFailed("the test still runs after a dump without --leave-running")
        if status is not None and not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            raise TestFailed("the dumped test %s, expected to be killed by SIGKILL" % procs.describe_status(status))
        # The test's children, killed with it, were orphaned to us: their pids are to be restored.
        procs.reap_strays()
        old_pid = self.pid
        self.pid = None
        os.rename(self.pidfile, self.pidfile + ".dumped")
        try:
            rc = self.criu.restore(self.pidfile)
        except CriuError as e:
            raise TestFailed(str(e))
        if rc != 0:
            raise TestFailed("criu restore exited with %d" % rc)
        try:
            self.pid = procs.read_pidfile(self.pidfile)
        except (OSError, ValueError) as e:
            raise TestFailed("criu restore wrote no pid: %s" % e)
        if self.pid != old_pid:
            raise TestFailed("restored with pid %d, dumped with pid %d" % (self.pid, old_pid))
        self.check_log("restore")
        state = procs.pid_state(self.pid)
        if state is None or state == "Z":
            raise TestFailed("the restored test is not running")
        if state in ("T", "t"):
            raise TestFailed("the restored test is left stopped (state %s)" % state)

    def stop_and_check(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            raise TestFailed("the test (pid %d) died before SIGTERM" % self.pid)
        try:
            status = procs.wait_pid(self.pid, STOP_TIMEOUT)
        except TimeoutError:
            raise TestFailed("the test did not exit within %ds of SIGTERM" % STOP_TIMEOUT)
        self.pid = None
        try:
            with open(self.outfile, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise TestFailed("no outfile: %s" % e.strerror)
        fails = [line for line in lines if line.startswith("FAIL")]
        if fails:
            raise TestFailed(fails[0])
        if "PASS" not in (line.strip() for line in lines):
            how = ""
            if status is not None:
                how = " (the test %s)" % procs.describe_status(status)
                if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM:
                    how = " (the test was killed by SIGTERM: its SIGTERM handler is gone)"
            raise TestFailed("no PASS in the outfile" + how)
        if status is not None and not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            raise TestFailed("the test said PASS but %s" % procs.describe_status(status))

    def check_helpers(self):
        """The helpers the test declared must end by themselves, with status 0,
        once the test is over: they are adopted by us, so we see how."""
        for pid in self.helpers:
            try:
                status = procs.wait_pid(pid, HELPER_TIMEOUT)
            except TimeoutError:
                raise TestFailed("helper %d still runs %ds after the test ended" % (pid, HELPER_TIMEOUT))
            if status is not None and not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                raise TestFailed("helper %d %s" % (pid, procs.describe_status(status)))

    def run(self):
        self.start()
        if self.mode != "nocr" and self.checkpoint():
            if self.mode == "norst":
                self.after_dump_running()
            else:
                self.restore()
        self.stop_and_check()
        self.check_helpers()

    def cleanup(self):
        """Kills what is left: the test if it still runs, and any other
        process the test or criu left behind (returned)."""
        procs.kill_and_reap(self.pid)
        self.pid = None
        return procs.kill_children()

    def remove_lock(self):
        """Removes the network lock the dump took if it is still there (a failed restore keeps it
        for a retry); returns a note of what was removed, "" if nothing was left."""
        if self.lock_pid is None:
            return ""
        try:
            pieces = locks.remove(self.lock_pid)
        except RuntimeError as e:
            return "; the dump's network lock is left: %s" % e
        return "; the dump's network lock was left, removed: %s" % ", ".join(pieces) if pieces else ""


def missing_feature(test, criu_bin):
    criu = Criu(criu_bin, ".")
    for name in test.features:
        if not criu.check_feature(name):
            return name
    return None


def run_test(test, mode, criu_bin, workdir, keep, crit_bin=None):
    """Runs one test in a fresh workdir; returns a Result."""
    if mode != "cr" and test.ropts:
        return Result(Result.SKIP, "it checks what its restore options (%s) make" % " ".join(test.ropts))
    if mode != "nocr":
        feature = missing_feature(test, criu_bin)
        if feature:
            return Result(Result.SKIP, "criu lacks feature %s" % feature)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    run = TestRun(test, mode, criu_bin, workdir, crit_bin)
    try:
        run.run()
    except TestFailed as e:
        run.cleanup()
        return Result(Result.FAIL, str(e) + run.remove_lock(), run.logs())
    except TestSkipped as e:
        run.cleanup()
        run.remove_lock()
        shutil.rmtree(workdir, ignore_errors=True)
        return Result(Result.SKIP, str(e))
    except BaseException:
        run.cleanup()
        run.remove_lock()
        raise
    strays = run.cleanup()
    lock_left = run.remove_lock()
    if strays:
        return Result(Result.FAIL, "processes left behind: %s" % " ".join(map(str, strays)) + lock_left, run.logs())
    if lock_left:
        return Result(Result.FAIL, "criu succeeded" + lock_left, run.logs())
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return Result(Result.PASS)
