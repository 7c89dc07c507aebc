#!/bin/bash
# criu-ng: sourced by scripts/sanitize.sh and scripts/fuzz.sh, which build the
# tree again with other compilers and flags in a directory of their own, so the
# normal build's objects stay as they are.
#
# tree_copy TOP DEST: copies the tree's files, without build products, from TOP
# into DEST (git's list of files when TOP is a git checkout). Modification times
# are kept, so make rebuilds in DEST only what changed since the last copy.
tree_copy()
{
	local top=$1 dest=$2

	mkdir -p "$dest"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard |
			tar -C "$top" --null -T - -cf - | tar -C "$dest" -xf -
	else
		tar -C "$top" --exclude=./build --exclude='*.o' --exclude='*.a' --exclude='*.test' \
			--exclude='*.pb-c.[ch]' --exclude=./test/logs -cf - . | tar -C "$dest" -xf -
	fi
}
