#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The module layering of docs/ARCHITECTURE.md (its ```layers block) against
# the include graph of the sources and the call graph of the built objects
# (scripts/check-layers.py). Run from the top of the build tree. The
# script's self-test first shows that it fails made-up trees that break it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
python3 "$top/scripts/check-layers.py" --self-test || exit 1
exec python3 "$top/scripts/check-layers.py" --src "$top" --build .
