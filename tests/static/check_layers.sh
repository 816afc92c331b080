#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The module layering of docs/ARCHITECTURE.md (its ```layers block) against
# the include graph of the sources and the call graph of the built objects
# (scripts/check-layers.py). Run from the top of the build tree.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
exec python3 "$top/scripts/check-layers.py" --src "$top" --build .
