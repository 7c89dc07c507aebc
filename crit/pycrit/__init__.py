"""pycrit: criu-ng's implementation of CRIU's image tool, crit."""

VERSION = "0.1.0"
