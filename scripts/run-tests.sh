#!/bin/bash
# criu-ng: the test runner behind `make test`.
#
# Runs every unit-test binary (soccr/test, test/unit, criu/test, compel/test, crit/test: *.test), one at a
# time from the top of the tree, each under `timeout`, with its output in
# test/logs/. Then, when test/zdtm.py exists, the zdtm-style suite. A test
# exits 0 to pass, 77 to skip; anything else (124 for a timeout) fails.
#
# Usage: scripts/run-tests.sh [REGEX]
#   REGEX (bash extended regex) keeps only the tests whose name matches, e.g.
#   `soccr/test/batch` or `unit/`; the zdtm suite runs as `zdtm-nocr`, `zdtm-norst` and `zdtm`.
#
# Timeouts: 300 s unless the test's .c file holds a comment line such as
# `/* timeout: 900 */`, or the TIMEOUTS table below names it. TEST_TIMEOUT
# changes the default, ZDTM_TIMEOUT the whole zdtm run's (1800 s).
# TEST_EXCLUDE (a bash extended regex) leaves out the tests whose name matches.
#
# The last line printed is always `N passed, N failed, N skipped`. The exit
# status is non-zero when a test failed or when no test passed or failed.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_DIR="$TOP/test/logs"
DEFAULT_TIMEOUT=${TEST_TIMEOUT:-300}
ZDTM_TIMEOUT=${ZDTM_TIMEOUT:-1800}
KILL_GRACE=10
TAIL_LINES=40
PYTHON3=/usr/bin/python3

# Per-test timeouts in seconds, by test name (path without .test). Wins over
# the comment in the .c file.
declare -A TIMEOUTS=(
)

UNIT_DIRS=(soccr/test test/unit criu/test compel/test crit/test)

filter=${1:-}
exclude=${TEST_EXCLUDE:-}
passed=0
failed=0
skipped=0

now_ms()
{
	local ns

	ns=$(date +%s%N)
	echo $((ns / 1000000))
}

fmt_secs()
{
	local ms=$1

	printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

selected()
{
	{ [ -z "$filter" ] || [[ $1 =~ $filter ]]; } && { [ -z "$exclude" ] || ! [[ $1 =~ $exclude ]]; }
}

# The timeout of test NAME whose source is SRC.
test_timeout()
{
	local name=$1 src=$2 t=""

	if [ -n "${TIMEOUTS[$name]:-}" ]; then
		echo "${TIMEOUTS[$name]}"
		return
	fi
	if [ -f "$src" ]; then
		t=$(sed -nE 's@^[[:space:]]*(/\*|//|\*|#)?[[:space:]]*timeout:[[:space:]]*([0-9]+).*@\2@p' "$src" |
			head -n 1)
	fi
	echo "${t:-$DEFAULT_TIMEOUT}"
}

show_log_tail()
{
	local log=$1

	[ -s "$log" ] || return 0
	echo "    --- last $TAIL_LINES lines of ${log#"$TOP"/} ---"
	tail -n "$TAIL_LINES" "$log" | sed 's/^/    | /'
}

# Every unit test, sorted: built binaries, plus sources whose binary is
# missing (a test that did not build must fail, not vanish).
list_unit_tests()
{
	local dir f

	for dir in "${UNIT_DIRS[@]}"; do
		for f in "$dir"/*.test "$dir"/*.c; do
			[ -e "$f" ] || continue
			echo "${f%.*}"
		done
	done | sort -u
}

run_unit_test()
{
	local name=$1 bin="$1.test" src="$1.c"
	local log="$LOG_DIR/${1//\//-}.log"
	local limit start elapsed rc

	if [ ! -x "$bin" ]; then
		echo "FAIL $name (not built)"
		failed=$((failed + 1))
		return
	fi

	limit=$(test_timeout "$name" "$src")
	start=$(now_ms)
	timeout --kill-after="$KILL_GRACE" "$limit" "./$bin" </dev/null >"$log" 2>&1
	rc=$?
	elapsed=$(($(now_ms) - start))

	case $rc in
	0)
		echo "PASS $name ($(fmt_secs "$elapsed"))"
		passed=$((passed + 1))
		;;
	77)
		echo "SKIP $name$(skip_reason "$log")"
		skipped=$((skipped + 1))
		;;
	124 | 137)
		echo "FAIL $name (timeout ${limit}s)"
		show_log_tail "$log"
		failed=$((failed + 1))
		;;
	*)
		echo "FAIL $name (exit $rc)"
		show_log_tail "$log"
		failed=$((failed + 1))
		;;
	esac
}

# The last line of a skipped test's log, as a hint of why it skipped; when that line only says
# "NAME: SKIP" (test_skip() in test/lib), the line before it, which says why.
skip_reason()
{
	local line

	[ -s "$1" ] || return 0
	line=$(grep -v -E '^[^ ]+: SKIP$' "$1" | tail -n 1 | cut -c 1-160)
	[ -n "$line" ] && printf ' (%s)' "$line"
}

# The zdtm-style suite, in the modes the engine supports so far:
#  zdtm-nocr   every test without criu: the tests themselves are right;
#  zdtm-norst  dump with --leave-running, images decoded and encoded back by crit, the test still passes;
#  zdtm        dump, restore, SIGTERM, PASS: CRIU's own protocol, images decoded and encoded back by crit.

# Run the zdtm runner as test NAME with ARGS; its closing `N passed, N failed`
# line's counts are added to ours.
run_zdtm()
{
	local name=$1
	local log="$LOG_DIR/$name.log"
	local start elapsed rc summary zp zf zs

	shift
	start=$(now_ms)
	PYTHONUNBUFFERED=1 timeout --kill-after="$KILL_GRACE" "$ZDTM_TIMEOUT" \
		"$PYTHON3" test/zdtm.py run --all --keep-going "$@" </dev/null 2>&1 | tee "$log" | sed "s/^/  $name| /"
	rc=${PIPESTATUS[0]}
	elapsed=$(($(now_ms) - start))

	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "FAIL $name (timeout ${ZDTM_TIMEOUT}s)"
		show_log_tail "$log"
		failed=$((failed + 1))
		return
	fi

	summary=$(grep -E '^[[:space:]]*([[:alnum:]_-]+:[[:space:]]*)?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$summary" ]; then
		echo "FAIL $name (exit $rc, no 'N passed, N failed' line)"
		show_log_tail "$log"
		failed=$((failed + 1))
		return
	fi
	zp=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+')
	zf=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+')
	zs=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+')
	passed=$((passed + zp))
	failed=$((failed + ${zf:-0}))
	skipped=$((skipped + ${zs:-0}))

	if [ "$rc" -ne 0 ] && [ "${zf:-0}" -eq 0 ]; then
		echo "FAIL $name (exit $rc with no failed test)"
		failed=$((failed + 1))
	elif [ "${zf:-0}" -ne 0 ]; then
		echo "FAIL $name (passed=$zp failed=$zf skipped=${zs:-0}, $(fmt_secs "$elapsed"))"
	else
		echo "DONE $name (passed=$zp failed=0 skipped=${zs:-0}, $(fmt_secs "$elapsed"))"
	fi
}

main()
{
	local name

	cd "$TOP" || exit 1
	mkdir -p "$LOG_DIR" || exit 1

	while read -r name; do
		selected "$name" || continue
		run_unit_test "$name"
	done < <(list_unit_tests)

	if [ -f test/zdtm.py ]; then
		if selected zdtm-nocr; then
			run_zdtm zdtm-nocr --nocr
		fi
		if selected zdtm-norst; then
			run_zdtm zdtm-norst --norst --crit
		fi
		if selected zdtm; then
			run_zdtm zdtm --crit
		fi
	fi

	if [ $((passed + failed)) -eq 0 ]; then
		echo "run-tests: no test ran${filter:+ (filter: $filter)}" >&2
	fi
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ] && [ $((passed + failed)) -gt 0 ]
}

main
