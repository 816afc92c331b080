#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# What make install ships must start: the systemd unit, the node
# configuration and quorated agree on the data directory (StateDirectory=,
# the example's data_dir and the compiled-in default that `quorated --help`
# shows), the unit's config file is installed, `quorated --check-config`
# accepts it, and the unit's Type matches how quorated was built. Also
# --check-config itself: FILE:LINE and exit 1 on a bad file or a directory.
# No daemon is started; `make install DESTDIR=...` runs into a scratch dir.

set -u
: "${QUORATED:=$PWD/daemon/quorated}"
BUILDDIR=$(cd "$(dirname "$QUORATED")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/quorate-packaging.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

fail()
{
	printf 'packaging: FAIL: %s\n' "$*" >&2
	exit 1
}

ok()
{
	printf 'packaging: ok: %s\n' "$*" >&2
}

help=$("$QUORATED" --help) || fail "quorated --help"
default_dd=$(printf '%s\n' "$help" | sed -n 's/^ *default \(\/[^)]*\))$/\1/p' | head -n 1)
default_conf=$(printf '%s\n' "$help" | sed -n 's/^.*(default \(\/[^ ]*\) if it exists)$/\1/p')
[ -n "$default_dd" ] || fail "quorated --help names no default data directory"
[ -n "$default_conf" ] || fail "quorated --help names no default config file"

unit=$BUILDDIR/packaging/quorated.service
example=$BUILDDIR/packaging/quorated.conf.example
[ -f "$unit" ] || fail "no $unit (built by make)"
[ -f "$example" ] || fail "no $example (built by make)"

# The example config's (commented) default data_dir.
ex_dd=$(sed -n 's/^#\{0,1\}data_dir *= *//p' "$example")
[ "$ex_dd" = "$default_dd" ] ||
	fail "example config says data_dir = '$ex_dd', quorated's default is '$default_dd'"
ok "example data_dir = compiled default = $default_dd"

# StateDirectory= is relative to /var/lib.
state=$(sed -n 's/^StateDirectory= *//p' "$unit")
if [ -n "$state" ]; then
	[ "/var/lib/$state" = "$default_dd" ] ||
		fail "unit StateDirectory=$state (/var/lib/$state), quorated's default is $default_dd"
	ok "unit StateDirectory=$state matches"
else
	case $default_dd in
	/var/lib/*) fail "no StateDirectory= in the unit although data_dir is $default_dd" ;;
	esac
	ok "no StateDirectory= (data_dir $default_dd is outside /var/lib)"
fi
# A data_dir set in the unit's command line must agree too.
exec_line=$(sed -n 's/^ExecStart=//p' "$unit")
case " $exec_line " in
*" --data-dir "*|*" -d "*) fail "unit overrides the data directory: $exec_line" ;;
esac
unit_conf=$(printf '%s\n' "$exec_line" | sed -n 's/^.* \(--config\|-c\) \([^ ]*\).*$/\2/p')
[ -z "$unit_conf" ] || [ "$unit_conf" = "$default_conf" ] ||
	fail "unit reads $unit_conf, make install provides $default_conf"

type=$(sed -n 's/^Type=//p' "$unit")
if ldd "$QUORATED" 2>/dev/null | grep -q libsystemd; then
	[ "$type" = notify ] || fail "quorated sends sd_notify but the unit says Type=$type"
else
	[ "$type" = simple ] || fail "quorated has no sd_notify but the unit says Type=$type"
fi
ok "unit Type=$type"

# make install into a scratch root. MAKEFLAGS of `make check` (TESTS=...)
# are not for this make.
dest=$WORK/root
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILDDIR" install DESTDIR="$dest" \
	>"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; fail "make install DESTDIR=$dest"; }
installed_conf=$dest$default_conf
[ -f "$installed_conf" ] || fail "make install did not install $default_conf"
out=$("$dest${exec_line%% *}" --check-config --config "$installed_conf" 2>&1) ||
	fail "installed quorated --check-config rejects the installed config: $out"
ok "make install ships $default_conf and quorated --check-config accepts it"
# An administrator's file survives a second install.
printf '[node]\nname = mine\n' >"$installed_conf"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILDDIR" install DESTDIR="$dest" \
	>"$WORK/install2.log" 2>&1 || fail "second make install"
grep -q 'name = mine' "$installed_conf" || fail "make install overwrote an existing quorated.conf"
ok "a second make install keeps an existing quorated.conf"

# --check-config on bad input.
printf '[node]\nname = a\n\n[iscsi]\nqueue_depth = 0\n' >"$WORK/bad.conf"
rc=0
out=$("$QUORATED" --check-config --config "$WORK/bad.conf" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "--check-config on a bad file: exit $rc (want 1): $out"
printf '%s\n' "$out" | grep -q "$WORK/bad.conf:5: queue_depth" ||
	fail "--check-config does not name FILE:LINE: $out"
rc=0
out=$("$QUORATED" --check-config --config "$WORK" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "--check-config on a directory: exit $rc (want 1): $out"
ok "--check-config: FILE:LINE and exit 1 on a bad file and on a directory"
printf 'packaging: PASS\n' >&2
