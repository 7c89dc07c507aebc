#!/bin/bash
# criu-ng: build the Debian packages and check what they hold, as CI does.
#
#   1. make install into a scratch DESTDIR, then make uninstall: nothing of
#      ours may be left.
#   2. dpkg-buildpackage -us -uc -b on a copy of the tree (the .debs land
#      next to the copy, in a scratch folder, not next to this tree), then
#      lintian when it is installed: an error fails, warnings are printed.
#   3. dpkg -x of every package into one scratch root; from there:
#      criu --version, criu check (as root), crit --help, crit x ps and
#      decode | encode on CRIU 4.2's checkpoint when the tree has crit/,
#      import pycriu when it has crit/pycriu/: pycriu.images.load of every
#      image of a real dump (criu-ng's own as root, else CRIU 4.2's) equals
#      crit decode's JSON and dumps back byte for byte,
#      libsoccr's SONAME, a program built with the -dev package's
#      pkg-config file and run against libsoccr1, and the man pages rendered
#      with man -l: their sections, and every long option of criu --help
#      described in criu(8).
#
# Usage: scripts/check-package.sh [SCRATCH_DIR]
# Needs what scripts/install-deps.sh installs. Exits non-zero on the first
# failed check, saying which.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=${1:-}
if [ -z "$SCRATCH" ]; then
	SCRATCH=$(mktemp -d /tmp/criu-ng-package.XXXXXX)
	trap 'rm -rf "$SCRATCH"' EXIT
fi
ROOT=$SCRATCH/root
rm -rf "$SCRATCH/src" "$SCRATCH/destdir" "$ROOT"
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

fail()
{
	echo "check-package: FAIL: $*" >&2
	exit 1
}

step()
{
	echo "--- check-package: $*"
}

# 1. make install / make uninstall (the tree is built already, or gets built).
check_make_install()
{
	local dest=$SCRATCH/destdir left

	step "make install PREFIX=/usr DESTDIR=$dest"
	make -s -C "$TOP" install PREFIX=/usr DESTDIR="$dest" >/dev/null
	for f in usr/sbin/criu usr/lib/libsoccr.so.1 usr/lib/libsoccr.so usr/lib/libsoccr.a \
		usr/include/soccr/soccr.h usr/lib/pkgconfig/libsoccr.pc usr/share/man/man8/criu.8 \
		usr/share/doc/criu-ng/README.md; do
		[ -e "$dest/$f" ] || fail "make install did not install /$f"
	done
	if [ -d "$TOP/crit" ]; then
		[ -e "$dest/usr/bin/crit" ] || fail "make install did not install crit"
	fi
	if [ -d "$TOP/crit/pycriu" ]; then
		[ -e "$dest/usr/lib/python3/dist-packages/pycriu/images.py" ] || fail "make install did not install pycriu"
	fi
	step "make uninstall"
	make -s -C "$TOP" uninstall PREFIX=/usr DESTDIR="$dest" >/dev/null
	left=$(find "$dest" ! -type d)
	[ -z "$left" ] || fail "make uninstall left: $left"
	# Folders of our own must go too: those whose name says criu-ng or soccr.
	left=$(find "$dest" -type d \( -name '*criu-ng*' -o -name 'soccr' -o -name 'pycrit' -o -name 'pycriu' \))
	[ -z "$left" ] || fail "make uninstall left the folders: $left"
}

# 2. The packages, built from a copy of the tree's files (tracked and new, not ignored ones).
build_packages()
{
	local src=$SCRATCH/src/criu-ng lint

	step "dpkg-buildpackage -us -uc -b"
	mkdir -p "$src"
	if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$TOP" && git ls-files -z --cached --others --exclude-standard |
			tar --null --ignore-failed-read -cf - -T - 2>/dev/null) | tar -xf - -C "$src"
	else
		cp -a "$TOP/." "$src/"
	fi
	(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) \
		>"$SCRATCH/dpkg-buildpackage.log" 2>&1 || {
		tail -n 40 "$SCRATCH/dpkg-buildpackage.log" >&2
		fail "dpkg-buildpackage failed"
	}
	for p in criu-ng libsoccr1 libsoccr-dev; do
		compgen -G "$SCRATCH/src/${p}_*.deb" >/dev/null || fail "no $p package was built"
	done

	if command -v lintian >/dev/null; then
		step "lintian"
		lint=$(lintian --tag-display-limit 0 "$SCRATCH"/src/*.changes 2>&1 | grep -v "root privileges" || true)
		[ -z "$lint" ] || echo "$lint"
		if grep -q '^E: ' <<<"$lint"; then
			fail "lintian reports errors"
		fi
	fi
}

# A dump to check pycriu on: criu-ng's of a sleeping process (-R) as root, else CRIU 4.2's.
make_dump()
{
	local dir=$SCRATCH/pycriu-dump pid rc=0

	if [ "$(id -u)" != 0 ]; then
		echo "$TOP/test/criu-4.2-images/1thread"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	setsid sleep 1000 </dev/null >/dev/null 2>&1 251>&- &
	pid=$!
	sleep 0.2
	"$ROOT/usr/sbin/criu" dump -t "$pid" -D "$dir" -R -o dump.log </dev/null >&2 || rc=$?
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	[ "$rc" = 0 ] || fail "criu dump of a sleeping process exited $rc (see $dir/dump.log)"
	echo "$dir"
}

# pycriu from the unpacked package (not the tree's, nor Debian's criu's): every image of a
# dump loaded with pycriu.images.load equals crit decode's JSON and dumps back byte for byte.
check_pycriu()
{
	local pydir=$ROOT/usr/lib/python3/dist-packages dump

	step "import pycriu: load | dump and crit decode on a real dump"
	[ -e "$pydir/pycriu/images.py" ] || fail "the tree has crit/pycriu but the package has no pycriu module"
	dump=$(make_dump) || exit 1
	(cd "$SCRATCH" && env -u CRIT_LIBDIR PYTHONPATH="$pydir" /usr/bin/python3 - "$ROOT" "$dump") <<'EOF' ||
import json
import os
import subprocess
import sys

import pycriu

root, dump = sys.argv[1:]
for mod in (pycriu, sys.modules["pycrit"]):
    if not os.path.realpath(mod.__file__).startswith(os.path.realpath(root) + "/"):
        sys.exit("%s comes from %s, not from the package" % (mod.__name__, mod.__file__))
count = 0
for name in sorted(os.listdir(dump)):
    path = os.path.join(dump, name)
    if name.startswith("pages-") or name.endswith((".log", ".json")) or not os.path.isfile(path):
        continue
    with open(path, "rb") as f:
        img = pycriu.images.load(f)
    crit = subprocess.run([os.path.join(root, "usr/bin/crit"), "decode", "-i", path], capture_output=True)
    if crit.returncode != 0:
        sys.exit("crit decode -i %s: %s" % (path, crit.stderr.decode().strip()))
    if json.loads(json.dumps(img)) != json.loads(crit.stdout):
        sys.exit("%s: pycriu.images.load differs from crit decode" % name)
    with open(path, "rb") as f:
        if pycriu.images.dumps(img) != f.read():
            sys.exit("%s: pycriu.images.load then dumps changed the image" % name)
    count += 1
if count < 5:
    sys.exit("only %d images in %s" % (count, dump))
try:
    pycriu.images.loads(b"\x01\x02\x03\x04\x05\x06\x07\x08")
    sys.exit("pycriu.images.loads of garbage raised nothing")
except pycriu.images.MagicException:
    pass
print("pycriu: %d images of %s" % (count, dump))
EOF
		fail "pycriu from the package failed on $dump"
}

# 3. What the packages hold, run from a root they were unpacked into.
check_unpacked()
{
	local out lib pc_dir crit corpus img man8 rendered opt missing=()

	step "dpkg -x into $ROOT"
	mkdir -p "$ROOT"
	for deb in "$SCRATCH"/src/*.deb; do
		dpkg -x "$deb" "$ROOT"
	done

	step "criu --version"
	out=$("$ROOT/usr/sbin/criu" --version) || fail "criu --version exited $?"
	echo "$out"
	grep -q '^Version: ' <<<"$out" || fail "criu --version prints no Version line"
	grep -q 'criu-ng' <<<"$out" || fail "criu --version does not name criu-ng"

	if [ "$(id -u)" = 0 ]; then
		step "criu check"
		"$ROOT/usr/sbin/criu" check || fail "criu check exited $?"
	else
		step "criu check skipped: not root"
	fi

	if [ -d "$TOP/crit" ]; then
		step "crit --help"
		crit=$ROOT/usr/bin/crit
		[ -e "$crit" ] || fail "the tree has crit/ but the package has no /usr/bin/crit"
		"$crit" --help >/dev/null || fail "crit --help exited $?"
		corpus=$TOP/test/criu-4.2-images/1thread
		if [ -d "$corpus" ]; then
			step "crit x ps and decode | encode on CRIU 4.2's checkpoint"
			env -u CRIT_LIBDIR "$crit" x "$corpus" ps | grep -qw hog || fail "crit x ps doesn't show the dumped hog"
			for img in inventory.img core-3.img mm-3.img seccomp.img; do
				env -u CRIT_LIBDIR "$crit" decode -i "$corpus/$img" | env -u CRIT_LIBDIR "$crit" encode |
					cmp -s - "$corpus/$img" || fail "crit decode | encode changed $img"
			done
		fi
		dpkg-deb -f "$SCRATCH"/src/criu-ng_*.deb Provides | grep -qw criu ||
			fail "criu-ng ships crit but does not provide criu"
	else
		step "crit: not in this tree, skipped"
	fi

	if [ -d "$TOP/crit/pycriu" ]; then
		check_pycriu
	fi

	step "libsoccr1 and libsoccr-dev"
	lib=$ROOT/usr/lib/$MULTIARCH
	readelf -d "$lib/libsoccr.so.1" | grep -q 'SONAME.*\[libsoccr\.so\.1\]' || fail "libsoccr.so.1 has no SONAME libsoccr.so.1"
	pc_dir=$lib/pkgconfig
	printf '#include <soccr.h>\nint main(void) { return libsoccr_state_supported(1) ? 0 : 1; }\n' >"$SCRATCH/use.c"
	# shellcheck disable=SC2046 # pkg-config prints several words
	gcc -o "$SCRATCH/use" "$SCRATCH/use.c" $(PKG_CONFIG_SYSROOT_DIR=$ROOT PKG_CONFIG_PATH=$pc_dir \
		pkg-config --cflags --libs libsoccr) || fail "can't build against libsoccr-dev"
	LD_LIBRARY_PATH=$lib "$SCRATCH/use" || fail "a program linked with -lsoccr failed"

	step "man -l criu.8"
	man8=$ROOT/usr/share/man/man8/criu.8.gz
	[ -e "$man8" ] || fail "no criu(8) in the package"
	rendered=$(MANWIDTH=120 man -l "$man8" 2>"$SCRATCH/man.err" | col -b)
	[ ! -s "$SCRATCH/man.err" ] || fail "man -l criu.8 complained: $(cat "$SCRATCH/man.err")"
	for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "CONFIGURATION FILES" "EXIT STATUS" "SEE ALSO"; do
		grep -q "^$section\$" <<<"$rendered" || fail "criu(8) has no $section section"
	done
	for opt in $("$ROOT/usr/sbin/criu" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
		grep -qe "$opt" <<<"$rendered" || missing+=("$opt")
	done
	[ ${#missing[@]} -eq 0 ] || fail "criu --help lists options criu(8) does not describe: ${missing[*]}"
	if [ -e "$TOP/Documentation/crit.txt" ]; then
		step "man -l crit.1"
		[ -e "$ROOT/usr/share/man/man1/crit.1.gz" ] || fail "no crit(1) in the package"
		rendered=$(MANWIDTH=120 man -l "$ROOT/usr/share/man/man1/crit.1.gz" 2>/dev/null | col -b)
		for section in NAME SYNOPSIS; do
			grep -q "^$section\$" <<<"$rendered" || fail "crit(1) has no $section section"
		done
	fi
}

check_make_install
build_packages
check_unpacked
step "all checks passed"
