"""What the runner prints: one line per test, the tails of the logs of a
failed test, and the summary line `N passed, N failed[, N skipped]`."""

import os
import sys

TAIL_LINES = 25


class Result:
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"

    def __init__(self, status, reason="", logs=()):
        self.status = status
        self.reason = reason
        self.logs = list(logs)  # files whose tails explain a failure


def tail(path, lines=TAIL_LINES):
    try:
        with open(path, errors="replace") as f:
            content = f.read().splitlines()
    except OSError:
        return None
    return content[-lines:]


def print_result(name, mode, result, seconds, stream=sys.stdout):
    line = "%s %s (%s, %.2fs)" % (result.status, name, mode, seconds)
    if result.reason:
        line += ": " + result.reason
    print(line, file=stream, flush=True)
    if result.status != Result.FAIL:
        return
    for path in result.logs:
        content = tail(path)
        if not content:
            continue
        print("  ---- tail of %s ----" % path, file=stream)
        for text in content:
            print("  | " + text, file=stream)
    if result.logs:
        print("  ---- (files kept in %s)" % os.path.dirname(result.logs[0]), file=stream, flush=True)


def summary(passed, failed, skipped):
    text = "%d passed, %d failed" % (passed, failed)
    if skipped:
        text += ", %d skipped" % skipped
    return text
