#!/bin/bash
# criu-ng: install or uninstall crit, the image tool (Python 3), for `make install`
# and `make uninstall`. Does nothing while the tree has no crit/.
#
# Usage: scripts/install-crit.sh install|uninstall
# Paths come from the environment the top Makefile exports: DESTDIR, BINDIR,
# DATADIR (crit's files go to DATADIR/criu-ng, /usr/bin/crit links there).
#
# When crit/Makefile has install and uninstall targets, they do the work (crit's
# files then go where that Makefile puts them, e.g. PREFIX/lib/criu-ng). Otherwise
# crit/ is copied as it is, without its tests, to DATADIR/criu-ng/crit, next to
# a copy of images/*.proto in DATADIR/criu-ng/images: the same layout as the
# source tree, so crit finds its modules and the image descriptions wherever it
# looked for them there. BINDIR/crit is a link to crit/crit: Python resolves it,
# so crit's own folder is on its module path.
set -euo pipefail

cd "$(dirname "$0")/.."

action=${1:-}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
DATADIR=${DATADIR:-$PREFIX/share}
SHARE=$DATADIR/criu-ng
MAKE=${MAKE:-make}

case $action in
install | uninstall) ;;
*)
	echo "usage: $0 install|uninstall" >&2
	exit 2
	;;
esac

if [ ! -d crit ]; then
	echo "install-crit: no crit/ in this tree, nothing to $action"
	exit 0
fi

# crit's own Makefile, if it says how to install. It gets DESTDIR, PREFIX and BINDIR
# only: the other paths the top Makefile passes down (LIBDIR is libsoccr's, the
# multiarch folder in the Debian build) are not crit's, which keeps its own defaults.
if [ -f crit/Makefile ] && $MAKE -s -C crit -n "$action" >/dev/null 2>&1; then
	exec env -u MAKEFLAGS -u MAKEOVERRIDES -u MFLAGS -u LIBDIR -u INCLUDEDIR -u DATADIR -u MANDIR -u DOCDIR \
		"$MAKE" -C crit "$action" DESTDIR="$DESTDIR" PREFIX="$PREFIX" BINDIR="$BINDIR"
fi

if [ ! -f crit/crit ]; then
	echo "install-crit: crit/ has neither a Makefile with $action nor crit/crit" >&2
	exit 1
fi

if [ "$action" = uninstall ]; then
	rm -f "$DESTDIR$BINDIR/crit"
	rm -rf "$DESTDIR$SHARE/crit" "$DESTDIR$SHARE/images"
	rmdir "$DESTDIR$SHARE" 2>/dev/null || true
	exit 0
fi

if [ -f crit/Makefile ]; then
	$MAKE -C crit
fi
install -d "$DESTDIR$BINDIR" "$DESTDIR$SHARE/crit" "$DESTDIR$SHARE/images"
# Every file but tests, build leftovers and the Makefile, folders kept.
(cd crit && find . -type f ! -path '*/test/*' ! -path '*/tests/*' ! -path '*/__pycache__/*' \
	! -name '*.pyc' ! -name 'Makefile' ! -name '*.o' -print0) |
	while IFS= read -r -d '' f; do
		if [ -x "crit/$f" ]; then
			install -D -m 0755 "crit/$f" "$DESTDIR$SHARE/crit/$f"
		else
			install -D -m 0644 "crit/$f" "$DESTDIR$SHARE/crit/$f"
		fi
	done
install -m 0644 images/*.proto "$DESTDIR$SHARE/images/"
# A relative link, so that it also works inside DESTDIR or a root unpacked with dpkg -x.
ln -sfn "$(realpath -m --relative-to="$BINDIR" "$SHARE/crit/crit")" "$DESTDIR$BINDIR/crit"
