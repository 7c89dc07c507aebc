#!/bin/bash
# criu-ng: (re)makes test/fuzz/images, the dumps whose images the fuzzers start
# from (`make fuzz`) and the replay test reads (criu/test/fuzz-replay).
#
# Each set is the dump of one zdtm test (test/zdtm/static), made by this tree's
# criu: every image but the logs and statistics. The pages-*.img files keep
# their size (the restore checks it against the pagemap) but are zeroed: no
# reader looks at their bytes, and zeros cost the repository nothing. The paths
# files.img records (the test binary, its output file) are rewritten to
# /srv/criu-ng and /tmp/zdtm (crit decode, encode), so that the images name
# no directory of the machine that made them.
#
# Usage (root, from the top of a built tree): test/fuzz/make-images.sh
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SETS=(everything00 socket_tcp4 socket_tcp_criuimg epoll00 timerfd00 signalfd00 inotify00 file_locks00 sk-unix-pair
	ghost_holes_ng)
OUT=$TOP/test/fuzz/images
# The tree's crit (made by `make`), or one named by CRIT.
CRIT=${CRIT:-$TOP/crit/crit}

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
	"$CRIT" decode -i "$OUT/$set/files.img" |
		sed -e "s#$TOP/#/srv/criu-ng/#g" -e "s#$work/zdtm_static_$set.h/#/tmp/zdtm/#g" \
			-e "s#$work/zdtm_static_$set.h\"#/tmp/zdtm\"#g" |
		"$CRIT" encode -o "$OUT/$set/files.img.new"
	mv "$OUT/$set/files.img.new" "$OUT/$set/files.img"
	echo "make-images: $set: $(find "$OUT/$set" -type f | wc -l) images"
done

# The inputs written by hand from everything00's own entries (see README.md): a
# thread listed twice, the leader listed again, a file remapped twice.
set=everything00
in=$TOP/test/fuzz/inputs/$set
mkdir -p "$in/pstree.img" "$in/remap-fpath.img"
pstree=$("$CRIT" decode -i "$OUT/$set/pstree.img")
remap=$("$CRIT" decode -i "$OUT/$set/remap-fpath.img")
/usr/bin/python3 -c 'import json, sys; e = json.loads(sys.argv[1]); t = e["entries"][0]["threads"]; t[-1] = t[1]; print(json.dumps(e))' \
	"$pstree" | "$CRIT" encode -o "$in/pstree.img/thread-twice"
/usr/bin/python3 -c 'import json, sys; e = json.loads(sys.argv[1]); t = e["entries"][0]["threads"]; t[-1] = t[0]; print(json.dumps(e))' \
	"$pstree" | "$CRIT" encode -o "$in/pstree.img/leader-twice"
/usr/bin/python3 -c 'import json, sys; e = json.loads(sys.argv[1]); e["entries"].append(e["entries"][0]); print(json.dumps(e))' \
	"$remap" | "$CRIT" encode -o "$in/remap-fpath.img/remapped-twice"
echo "make-images: inputs for $set written by hand remade"

# ghost_holes_ng's chunked ghost file with its chunks moved (see README.md): one
# overlapping the chunk before it, one passing the file's size.
set=ghost_holes_ng
in=$TOP/test/fuzz/inputs/$set/ghost-file-1.img
mkdir -p "$in"
/usr/bin/python3 - "$OUT/$set/ghost-file-1.img" "$in" <<'EOF'
import struct, sys


def varint(buf, pos):
    value = shift = 0
    while True:
        value |= (buf[pos] & 0x7F) << shift
        pos += 1
        if buf[pos - 1] < 0x80:
            return value, pos
        shift += 7


def put_varint(v):
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
        v >>= 7
        if not v:
            return bytes(out)


data = open(sys.argv[1], "rb").read()
head = 8 + 4 + struct.unpack_from("<I", data, 8)[0]
size, pos, chunks = None, head, []
entry = data[12:head]
p = 0
while p < len(entry):  # the ghost_file_entry's size, field 10
    key, p = varint(entry, p)
    value, p = varint(entry, p) if key & 7 == 0 else (None, p + (4 if key & 7 == 5 else 8))
    if key >> 3 == 10:
        size = value
while pos < len(data):
    n = struct.unpack_from("<I", data, pos)[0]
    body, pos, fields = data[pos + 4:pos + 4 + n], pos + 4 + n, {}
    q = 0
    while q < len(body):
        key, q = varint(body, q)
        fields[key >> 3], q = varint(body, q)
    chunks.append([fields[2], fields[1], data[pos:pos + fields[1]]])
    pos += fields[1]


def write(name, chunks):
    out = bytearray(data[:head])
    for off, length, raw in chunks:
        body = b"\x08" + put_varint(length) + b"\x10" + put_varint(off)
        out += struct.pack("<I", len(body)) + body + raw
    open(sys.argv[2] + "/" + name, "wb").write(out)


assert size is not None and len(chunks) >= 2
write("chunks-overlap", [chunks[0], [chunks[0][0], chunks[1][1], chunks[1][2]]] + chunks[2:])
write("chunk-past-size", chunks[:-1] + [[size - chunks[-1][1] + 1, chunks[-1][1], chunks[-1][2]]])
EOF
echo "make-images: inputs for $set written by hand remade"
