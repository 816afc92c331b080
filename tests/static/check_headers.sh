#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every header of the tree compiles on its own: a translation unit that
# includes it alone, twice (the include guard), must build with the
# project's warnings. A header that leans on what its includers happened to
# include first fails here, not in the next file that includes it.
#
# Environment (tests/static/local.mk): QT_CC, QT_HDR_CFLAGS; the top of the
# source tree is found from this script's path.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cc=${QT_CC:?QT_CC not set (run through make check)}
# shellcheck disable=SC2206 # flags are words
flags=(${QT_HDR_CFLAGS:?QT_HDR_CFLAGS not set (run through make check)})
fail=0 n=0
cd "$top" || exit 99
while IFS= read -r h; do
	n=$((n + 1))
	if ! out=$(printf '#include "%s"\n#include "%s"\n' "$h" "$h" |
		"$cc" "${flags[@]}" -I"$top" -fsyntax-only -x c - 2>&1); then
		echo "FAIL: $h does not compile on its own:"
		printf '%s\n' "$out" | head -n 20
		fail=1
	fi
done < <(find reservations quorum daemon cli -name '*.h' | sort)
echo "$n headers checked"
exit $fail
