#!/bin/bash
# criu-ng: the sanitizer job (`make sanitize`, and the `sanitize` stage of .ci/run).
#
# Builds a copy of the tree in build/sanitize (SAN_DIR) with AddressSanitizer and
# UndefinedBehaviorSanitizer, leaving the normal build's objects alone, and runs the
# tests there. What is sanitized: the criu binary, libsoccr, compel, the network
# lock and the test library, so every soccr, compel and test/unit test runs fully
# instrumented, and every criu/test and zdtm test drives an instrumented criu.
# What is not: the programs criu checkpoints (criu/test/*.test fork themselves as
# the process to dump, test/e2e, test/zdtm/static). A sanitized process maps
# terabytes of shadow memory that no dump could walk, and its runtime would be
# restored along with it; those binaries are copied from the normal build.
# The sanitizer runtime thus stays inside criu, which also works while it
# injects syscalls into the process it dumps or restores.
#
# Reports go to test/logs/sanitizer/ of the copy rather than to the stderr
# of a criu whose failure a test may expect: the job fails if any report
# was written, or if a test failed. The image fuzzers' regression inputs
# (test/fuzz) run in the same build (criu/test/fuzz-replay).
#
# Usage: scripts/sanitize.sh [REGEX]   (REGEX as for scripts/run-tests.sh)
# SAN_DIR changes the build directory; SAN_SKIP (a bash regex) leaves tests out.
# Left out by default: the kill-at-every-point sweeps (dump-criu-killed,
# tcp-dump-killed: long, and the same code paths as tcp-dump-fail);
# tcp-restore-fail, which runs criu under RLIMIT_AS, where ASAN cannot reserve
# its shadow memory; the 10,000-connection runs (soccr scale-v4/v6) and the
# 1,000-connection load of e2e-nocr, whose peers time out when the instrumented
# fixture feeds them at a third of the speed; zdtm-nocr, which runs no criu;
# zdtm-norst, whose dumps the full zdtm run makes too (dump-leave-running keeps
# --leave-running under ASAN).
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SAN_DIR=${SAN_DIR:-$TOP/build/sanitize}
SAN_SKIP=${SAN_SKIP:-dump-criu-killed|tcp-dump-killed|tcp-restore-fail|soccr/test/scale-v[46]|unit/e2e-nocr|^zdtm-nocr$|^zdtm-norst$}
SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
CFLAGS_SAN="-O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread $SAN_FLAGS"
JOBS=${JOBS:-2}
# shellcheck source=scripts/tree-copy.sh
. "$TOP/scripts/tree-copy.sh"
filter=${1:-}

# The programs criu checkpoints, from the normal build (see above).
copy_plain()
{
	local f

	shopt -s nullglob
	for f in "$TOP"/criu/test/*.test "$TOP"/test/e2e/* "$TOP"/test/zdtm/static/*; do
		case $f in
		*.c | *.h | *.desc | *.py | *.sh | *.md) continue ;;
		*/fuzz-replay.test) continue ;; # checkpoints nothing: sanitized like the rest
		esac
		[ -f "$f" ] && [ -x "$f" ] && cp -p "$f" "$SAN_DIR/${f#"$TOP"/}"
	done
	shopt -u nullglob
}

# make in DIR (of the copy) with the sanitizer flags
san_make()
{
	local dir=$1

	shift
	make -C "$SAN_DIR/$dir" -j"$JOBS" CFLAGS_BASE="$CFLAGS_SAN" "$@"
}

echo "sanitize: normal build (for the programs criu checkpoints)"
make -C "$TOP" -j"$JOBS" all >/dev/null

echo "sanitize: building in ${SAN_DIR#"$TOP"/} with $SAN_FLAGS"
tree_copy "$TOP" "$SAN_DIR"
san_make soccr libsoccr.a # what criu and the tests link
san_make criu net-lock.o criu compel
san_make test lib
san_make soccr tests
units=()
for f in "$SAN_DIR"/test/unit/*.c; do
	units+=("unit/$(basename "$f" .c).test")
done
san_make test "${units[@]}"
san_make criu test/fuzz-replay.test
make -C "$SAN_DIR/crit" # Python: the image schema crit and its tests read
copy_plain

report_dir="$SAN_DIR/test/logs/sanitizer"
rm -rf "$report_dir"
mkdir -p "$report_dir"
export ASAN_OPTIONS="log_path=$report_dir/asan:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="log_path=$report_dir/ubsan:print_stacktrace=1:halt_on_error=1"

set +e
TEST_EXCLUDE="$SAN_SKIP" "$SAN_DIR/scripts/run-tests.sh" "$filter"
rc=$?
set -e

reports=("$report_dir"/*)
if [ -e "${reports[0]}" ]; then
	echo "sanitize: ${#reports[@]} sanitizer report(s):"
	for f in "${reports[@]}"; do
		echo "=== ${f#"$SAN_DIR"/}"
		head -n 60 "$f"
	done
	exit 1
fi
echo "sanitize: no sanitizer report"
exit "$rc"
