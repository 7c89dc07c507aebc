#!/bin/bash
# criu-ng: (re)makes test/fuzz/images, the dumps whose images the fuzzers start
# from (`make fuzz`) and the replay test reads (criu/test/fuzz-replay).
#
# Each set is the dump of one zdtm test (test/zdtm/static), made by this tree's
# criu: every image but the logs and statistics. The pages-*.img files keep
# their size (the restore checks it against the pagemap) but are zeroed: no
# reader looks at their bytes, and zeros cost the repository nothing.
#
# Usage (root, from the top of a built tree): test/fuzz/make-images.sh
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SETS=(everything00 socket_tcp4 socket_tcp_criuimg epoll00)
OUT=$TOP/test/fuzz/images

work=$(mktemp -d /tmp/criu-ng-fuzz-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

args=()
for set in "${SETS[@]}"; do
	args+=(-t "zdtm/static/$set")
done
cd "$TOP"
/usr/bin/python3 test/zdtm.py run "${args[@]}" --keep --dump-dir "$work"

for set in "${SETS[@]}"; do
	from="$work/zdtm_static_$set.h/dump"
	rm -rf "${OUT:?}/$set"
	mkdir -p "$OUT/$set"
	for f in "$from"/*.img; do
		case $(basename "$f") in
		pages-*.img) truncate -s "$(stat -c %s "$f")" "$OUT/$set/$(basename "$f")" ;;
		*) cp "$f" "$OUT/$set/" ;;
		esac
	done
	echo "make-images: $set: $(find "$OUT/$set" -type f | wc -l) images"
done
