#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Comments and docs name modules and commits, not who wrote them or when:
# no "engineer X", no numbered work sessions (an iSCSI session is never
# numbered so in prose); and no absolute path of a build machine's checkout.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 99
patterns=(
	-e '[Ee]ngineer [A-Z]\b'
	-e '\b[Ss]ession [0-9]+\b'
	-e '/wor''k/(main|wt)'
)
hits=$(grep -rInE "${patterns[@]}" --exclude-dir=corpus --exclude-dir=.git \
	--exclude-dir='build*' --exclude=check_words.sh \
	README.md configure.ac Makefile.am bench cli daemon docs packaging quorum \
	reservations scripts tests 2>/dev/null)
if [ -n "$hits" ]; then
	echo "FAIL: authors, work sessions or build-machine paths in the tree:"
	printf '%s\n' "$hits"
	exit 1
fi
echo "no authors, work sessions or build-machine paths"
