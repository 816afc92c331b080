#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# lun create against a real daemon (issue 8, items 7, 14, 15):
# - numbers are decimal: --lun 010 is LUN 10, --lun 0x20 is a usage error;
# - refused backing paths: the daemon's database and anything else in its
#   data directory, a system file, another LUN's file under another name
#   (hard link, symlink), anything but a regular file or block device;
# - a --size larger than an existing file is refused without --grow;
# - all or nothing: a refused create leaves no new file, a file that cannot
#   be opened as the LUN would be is refused (exit 1) instead of "created"
#   and OFFLINE; a LUN offline after a restart shows its offline_reason.
. "$(dirname "$0")/lib.sh"

qt_init admin_lun 110
[ -x "$QUORATECTL" ] || qt_fail "quoratectl not built at $QUORATECTL"
T=iqn.2026-11.org.quorate:lun
F=$QT_DIR/files
mkdir -p "$F"

qt_write_config "$QT_DIR/quorated.conf"
qt_start_config "$QT_DIR/quorated.conf"
qt_check "create $T" qt_ctl target create "$T"

# lun_field LUN FIELD: FIELD of LUN in 'lun list --json' ("" if no such LUN).
lun_field()
{
	qt_ctl --json lun list "$T" | python3 -c '
import json, sys
for l in json.load(sys.stdin):
    if l["lun"] == int(sys.argv[1]):
        print(l.get(sys.argv[2], ""))' "$1" "$2"
}

# expect_refused WHAT PATTERN ARGS...: quoratectl exits 1 saying PATTERN.
expect_refused()
{
	local what=$1 pattern=$2 out rc
	shift 2
	out=$(qt_ctl "$@" 2>&1)
	rc=$?
	[ "$rc" = 1 ] || qt_fail "$what: exit $rc, expected 1: $out"
	printf '%s\n' "$out" | grep -q -- "$pattern" || qt_fail "$what: message '$out' lacks '$pattern'"
	qt_log "ok: $what refused ($out)"
}

# ---- item 14: decimal numbers ----------------------------------------------
qt_check "--lun 010" qt_ctl lun create "$T" --lun 010 --backing null --size 1M
[ "$(lun_field 10 backing)" = null ] || qt_fail "--lun 010 did not create LUN 10"
[ -z "$(lun_field 8 backing)" ] || qt_fail "--lun 010 created LUN 8 (octal)"
out=$(qt_ctl lun create "$T" --lun 0x20 --backing null --size 1M 2>&1)
rc=$?
[ "$rc" = 2 ] || qt_fail "--lun 0x20: exit $rc, expected 2 (usage): $out"
[ -z "$(lun_field 32 backing)" ] || qt_fail "--lun 0x20 created LUN 32 (hex)"
qt_log "ok: --lun 0x20 is a usage error"
qt_check "lun delete $T 010" qt_ctl lun delete "$T" 010
[ -z "$(lun_field 10 backing)" ] || qt_fail "lun delete 010 did not delete LUN 10"

# ---- item 7: dangerous backing paths ----------------------------------------
expect_refused "the daemon's database" "data directory" \
	lun create "$T" --path "$QT_DATA/quorate.db"
expect_refused "the database's WAL" "data directory" \
	lun create "$T" --path "$QT_DATA/quorate.db-wal"
expect_refused "a new file in the data directory" "data directory" \
	lun create "$T" --path "$QT_DATA/lun.img" --size 1M
[ ! -e "$QT_DATA/lun.img" ] || qt_fail "a refused create left $QT_DATA/lun.img"
ln "$QT_DATA/quorate.db" "$F/db-link"
expect_refused "a hard link to the database" "database file" lun create "$T" --path "$F/db-link"
rm -f "$F/db-link"
expect_refused "/etc/passwd" "system tree" lun create "$T" --path /etc/passwd --read-only

qt_check "LUN 0 on a new file" qt_ctl lun create "$T" --lun 0 --path "$F/a.img" --size 1M
ln "$F/a.img" "$F/a-hardlink.img"
ln -s "$F/a.img" "$F/a-symlink.img"
expect_refused "LUN 0's file by a hard link" "already backs LUN 0" \
	lun create "$T" --lun 1 --path "$F/a-hardlink.img"
expect_refused "LUN 0's file by a symlink" "already backs LUN 0" \
	lun create "$T" --lun 1 --path "$F/a-symlink.img"
expect_refused "LUN 0's file itself" "already backs LUN 0" \
	lun create "$T" --lun 1 --path "$F/a.img"
mkfifo "$F/fifo"
expect_refused "a FIFO" "neither a regular file nor a block device" \
	lun create "$T" --lun 1 --path "$F/fifo"

truncate -s 1M "$F/b.img"
expect_refused "growing an existing file without --grow" "give --grow" \
	lun create "$T" --lun 1 --path "$F/b.img" --size 2M
[ "$(stat -c %s "$F/b.img")" = 1048576 ] || qt_fail "the refused create resized $F/b.img"
qt_check "growing it with --grow" qt_ctl lun create "$T" --lun 1 --path "$F/b.img" --size 2M --grow
printf '%s\n' "$QT_OUT" | grep -q "grew backing file" || qt_fail "no word of growing: $QT_OUT"
[ "$(stat -c %s "$F/b.img")" = 2097152 ] || qt_fail "--grow did not extend $F/b.img"
grep -q "extended backing file '$F/b.img' from 1048576 to 2097152" "$QT_LOG" ||
	qt_fail "the daemon did not log the extension"

# A block device this host uses (here: a mounted loop device) is refused;
# unmounted, it is accepted. Needs root and loop devices; skipped otherwise.
LOOP=
loop_cleanup()
{
	mountpoint -q "$F/mnt" 2>/dev/null && umount "$F/mnt"
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	LOOP=
}
# lib.sh's EXIT trap, after the loop device is gone (even when a check fails).
trap 'rc=$?; loop_cleanup; (exit $rc); qt_cleanup' EXIT
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null && command -v mkfs.ext4 >/dev/null &&
	truncate -s 16M "$F/loop.img" && LOOP=$(losetup -f --show "$F/loop.img" 2>/dev/null); then
	mkdir -p "$F/mnt"
	if mkfs.ext4 -q "$LOOP" && mount "$LOOP" "$F/mnt"; then
		expect_refused "a mounted block device" "in use on this host" \
			lun create "$T" --lun 5 --path "$LOOP"
		umount "$F/mnt"
		qt_check "the unmounted block device" qt_ctl lun create "$T" --lun 5 --path "$LOOP"
		expect_refused "the same device again" "already backs LUN 5" \
			lun create "$T" --lun 6 --path "$LOOP"
		qt_check "delete the block-device LUN" qt_ctl lun delete "$T" 5
	else
		qt_log "cannot make or mount a file system on $LOOP: block-device checks skipped"
	fi
	loop_cleanup
else
	LOOP=
	qt_log "no loop device: block-device checks skipped"
fi

# ---- item 15: all or nothing -------------------------------------------------
expect_refused "a duplicate LUN number" "already has LUN 0" \
	lun create "$T" --lun 0 --path "$F/dup.img" --size 1M
[ ! -e "$F/dup.img" ] || qt_fail "the refused duplicate left $F/dup.img behind"
# A running program's file cannot be opened for writing (ETXTBSY), even by root.
cp "$(command -v sleep)" "$F/busy"
"$F/busy" 60 &
qt_track $!
sleep 0.2
expect_refused "a file that cannot be opened read-write" "cannot open" \
	lun create "$T" --lun 2 --path "$F/busy"
[ -z "$(lun_field 2 backing)" ] || qt_fail "an unopenable file left LUN 2 behind"

# OFFLINE after a restart with the file gone: say why.
qt_check "LUN 3 on a new file" qt_ctl lun create "$T" --lun 3 --path "$F/c.img" --size 1M
qt_daemon_stop TERM
[ "$QT_DAEMON_STATUS" = 0 ] || qt_fail "quorated exited with $QT_DAEMON_STATUS"
rm "$F/c.img"
qt_start_config "$QT_DIR/quorated.conf"
[ "$(lun_field 3 online)" = False ] || qt_fail "LUN 3 is online without its file"
reason=$(lun_field 3 offline_reason)
printf '%s\n' "$reason" | grep -q "No such file" || qt_fail "LUN 3's offline_reason: '$reason'"
qt_check "lun list" qt_ctl lun list "$T"
printf '%s\n' "$QT_OUT" | grep -q "offline: .*No such file" ||
	qt_fail "lun list does not show why LUN 3 is offline: $QT_OUT"
qt_log "ok: LUN 3 offline_reason: $reason"
qt_log "PASS"
