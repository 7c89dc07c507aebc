#!/usr/bin/env python3
"""criu-ng's zdtm-style test runner (stdlib only). Speaks the protocol of
CRIU's zdtm.py: each test is started with --pidfile/--outfile, dumped and
restored with the criu binary, sent SIGTERM, and passes when its outfile says
PASS. `zdtm.py run --all --nocr` checks the tests without criu; see
zdtm/runner/cli.py for the options."""

import os
import sys

TEST_ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(TEST_ROOT, "zdtm"))
sys.path.insert(0, TEST_ROOT)  # imgcheck, the checks of CRIU 4's restore

from runner.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], TEST_ROOT))
