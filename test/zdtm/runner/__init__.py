"""criu-ng's zdtm-style test runner: the modules behind test/zdtm.py."""
