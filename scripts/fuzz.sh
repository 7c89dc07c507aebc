#!/bin/bash
# criu-ng: coverage-guided fuzzing of the image readers of criu restore
# (`make fuzz`, and a short run in the `fuzz` stage of .ci/run).
#
# Builds a copy of the tree in build/fuzz (FUZZ_DIR) with Debian's clang,
# libFuzzer, ASAN and UBSAN, and fuzzes every target for FUZZ_TIME seconds
# (default 30): a target is one image file of one stored dump under
# test/fuzz/images (see criu/fuzz/harness.h), the fuzzer's input stands in for
# that file and every image of the dump is read as a restore reads them. Each
# target starts from its stored image and the inputs already kept for it.
#
# A crash, a leak or undefined behaviour stops that target; its input is left
# in build/fuzz/crashes/SET/FILE/ and the script fails. Once the bug is fixed,
# copy the input to test/fuzz/inputs/SET/FILE/: criu/test/fuzz-replay then
# replays it in every `make test`.
#
# Usage: scripts/fuzz.sh [REGEX]   (REGEX keeps the targets "SET/FILE" it matches)
# FUZZ_TIME seconds per target; FUZZ_DIR the build directory; FUZZ_TMPDIR where the
# images are copied (default /dev/shm); JOBS for make.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_DIR=${FUZZ_DIR:-$TOP/build/fuzz}
FUZZ_TIME=${FUZZ_TIME:-30}
JOBS=${JOBS:-2}
CLANG=${CLANG:-clang}
FUZZ_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# No -Werror: the gcc builds enforce the warnings; clang has a few more of its own.
CFLAGS_FUZZ="-O1 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -pthread $FUZZ_FLAGS"
filter=${1:-}
# shellcheck source=scripts/tree-copy.sh
. "$TOP/scripts/tree-copy.sh"

if ! command -v "$CLANG" >/dev/null; then
	echo "fuzz: $CLANG not found (scripts/install-deps.sh installs it)" >&2
	exit 1
fi

fuzz_make()
{
	local dir=$1

	shift
	make -C "$FUZZ_DIR/$dir" -j"$JOBS" CC="$CLANG" CFLAGS_BASE="$CFLAGS_FUZZ" "$@"
}

echo "fuzz: building in ${FUZZ_DIR#"$TOP"/} with $CLANG $FUZZ_FLAGS"
tree_copy "$TOP" "$FUZZ_DIR"
fuzz_make soccr libsoccr.a # the static one: a sanitized shared library would need the runtime linked in
fuzz_make criu compel images
fuzz_make criu libcriu.a fuzz/fuzz-images

bin=$FUZZ_DIR/criu/fuzz/fuzz-images
images=$FUZZ_DIR/test/fuzz/images
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Each run rewrites one image: on tmpfs, not on a disk filesystem that flushes a truncated file on close.
if [ -z "${FUZZ_TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	FUZZ_TMPDIR=/dev/shm
fi
export TMPDIR=${FUZZ_TMPDIR:-${TMPDIR:-/tmp}}

targets=()
for f in "$images"/*/*.img; do
	t=${f#"$images"/}
	case $(basename "$t") in
	pages-*) continue ;; # raw pages: only their size is read
	esac
	if [ -z "$filter" ] || [[ $t =~ $filter ]]; then
		targets+=("$t")
	fi
done
echo "fuzz: ${#targets[@]} targets, ${FUZZ_TIME}s each"

failed=()
for t in "${targets[@]}"; do
	corpus=$FUZZ_DIR/corpus/$t
	crashes=$FUZZ_DIR/crashes/$t
	log=$FUZZ_DIR/logs/${t//\//--}.log
	mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
	cp "$images/$t" "$corpus/seed"
	if [ -d "$TOP/test/fuzz/inputs/$t" ]; then
		cp "$TOP/test/fuzz/inputs/$t"/* "$corpus/" 2>/dev/null || true
	fi
	set +e
	FUZZ_IMAGES=$images FUZZ_TARGET=$t "$bin" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1
	rc=$?
	set -e
	stats=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $t (exit $rc, ${stats:-?} runs): $(grep -m1 -E 'ERROR|runtime error|SUMMARY' "$log" || true)"
		failed+=("$t")
	else
		echo "PASS $t (${stats:-?} runs, corpus $(find "$corpus" -type f | wc -l))"
	fi
done

if [ "${#failed[@]}" -ne 0 ]; then
	echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed; inputs in ${FUZZ_DIR#"$TOP"/}/crashes, logs in ${FUZZ_DIR#"$TOP"/}/logs"
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, no failure"
