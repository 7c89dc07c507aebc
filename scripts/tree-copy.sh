#!/bin/bash
# criu-ng: sourced by scripts/sanitize.sh and scripts/fuzz.sh, which build the
# tree again with other compilers and flags in a directory of their own, so the
# normal build's objects stay as they are.
#
# tree_copy TOP DEST: copies the tree's files, without build products, from TOP
# into DEST (git's list of files when TOP is a git checkout). Modification times
# are kept, so make rebuilds in DEST only what changed since the last copy; a
# file copied last time that the tree no longer has is removed from DEST (the
# list of copied files is kept in DEST/.tree-copy).
tree_copy()
{
	local top=$1 dest=$2 list old f

	mkdir -p "$dest"
	list=$(mktemp)
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard >"$list"
	else
		(cd "$top" && find . -path ./build -prune -o -path ./test/logs -prune -o -type f \
			! -name '*.o' ! -name '*.a' ! -name '*.test' ! -name '*.pb-c.[ch]' -print0) >"$list"
	fi
	old=$dest/.tree-copy
	if [ -f "$old" ]; then
		while IFS= read -r -d '' f; do
			[ -e "$top/$f" ] || rm -f "${dest:?}/$f"
		done <"$old"
	fi
	tar -C "$top" --null -T "$list" -cf - | tar -C "$dest" -xf -
	mv "$list" "$old"
}
