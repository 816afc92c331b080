#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Every C source and header the repository tracks is in `make dist`: the
# packages build from the tarball, so a header missing from a _SOURCES or
# EXTRA_DIST list builds here and breaks `make deb`/`make rpm`. Skipped (77)
# outside a git checkout.

set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$PWD

command -v git >/dev/null 2>&1 && git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 || {
	echo "check_dist: SKIP: $SRC is not a git checkout"
	exit 77
}
dist=$(make -s -C "$BUILD" print-distfiles) || { echo "check_dist: FAIL: make print-distfiles"; exit 1; }
missing=
while IFS= read -r f; do
	covered=no
	while IFS= read -r d; do
		d=${d#./}
		case $f in
		"$d" | "$d"/*) covered=yes; break ;;
		esac
	done <<<"$dist"
	[ $covered = yes ] || missing="$missing $f"
done < <(git -C "$SRC" ls-files -- '*.c' '*.h')
if [ -n "$missing" ]; then
	echo "check_dist: FAIL: tracked but not in make dist (add to a _SOURCES or EXTRA_DIST list):$missing"
	exit 1
fi
echo "check_dist: ok: every tracked .c and .h is in make dist"
