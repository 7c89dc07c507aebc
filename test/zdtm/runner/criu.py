"""Driving the criu binary the way CRIU's zdtm.py does: the same options in
the same order (dump and restore below, `check --feature` as zdtm asks it,
repeated --no-default-config and single-dash -verbosity=0 included), the logs
inside the images directory, and the logs grepped for errors afterwards."""

import os
import subprocess

CRIU_TIMEOUT = 120


class CriuError(Exception):
    pass


class Criu:
    def __init__(self, binary, workdir, images_dir="dump", extra_opts=(), dump_opts=(), restore_opts=()):
        self.binary = binary
        self.workdir = workdir
        self.images_dir = images_dir  # relative to workdir, as zdtm may pass it
        self.extra_opts = list(extra_opts)
        self.dump_opts = list(dump_opts)  # a desc's dopts: for the dump only
        self.restore_opts = list(restore_opts)  # its ropts: for the restore only

    def images_path(self):
        return os.path.join(self.workdir, self.images_dir)

    def log_path(self, action):
        return os.path.join(self.images_path(), "%s.log" % action)

    def _run(self, action, args):
        cmd = [self.binary, action, "--no-default-config"] + args
        out_path = os.path.join(self.workdir, "criu-%s.out" % action)
        with open(out_path, "w") as out:
            out.write("$ %s\n" % " ".join(cmd))
            out.flush()
            try:
                proc = subprocess.run(cmd, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, timeout=CRIU_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise CriuError("criu %s did not finish in %ds" % (action, CRIU_TIMEOUT))
        return proc.returncode

    def dump(self, pid, pidfile, leave_running=False):
        os.makedirs(self.images_path(), exist_ok=True)
        args = ["--log-file", "dump.log", "--images-dir", self.images_dir, "--verbosity=4", "--tree", str(pid)]
        args += self.extra_opts + self.dump_opts + ["--pidfile", pidfile]
        if leave_running:
            args.append("--leave-running")
        args += ["--timeout", "10"]
        return self._run("dump", args)

    def restore(self, pidfile):
        args = ["--log-file", "restore.log", "--images-dir", self.images_dir, "--verbosity=4"]
        args += self.extra_opts + self.restore_opts + ["--pidfile", pidfile, "--restore-detached"]
        return self._run("restore", args)

    def check_feature(self, name):
        cmd = [self.binary, "check", "--no-default-config", "--no-default-config", "-verbosity=0", "--feature", name]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=CRIU_TIMEOUT)
        except subprocess.TimeoutExpired:
            return False
        return proc.returncode == 0

    def log_errors(self, action):
        """Lines of the action's log that say Error, as zdtm greps them.
        Raises CriuError when the log is missing."""
        path = self.log_path(action)
        try:
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise CriuError("criu %s left no log at %s: %s" % (action, path, e.strerror))
        return [line for line in lines if "Error" in line]
