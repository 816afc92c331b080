#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Tearing down objects while I/O is in flight (run under ASan by the
# sanitizer pass of scripts/test, where a use after free aborts the daemon):
# - `quoratectl target delete --force` while iscsi-perf (reads) and qemu-io
#   (writes) keep commands in flight on its O_DIRECT LU: the SCSI target is
#   reference-counted, so the sessions drain on it after the delete;
# - session reinstatement (same ISID, TSIH 0) while READs are in flight in
#   the old session (reinstate.py): two nexus objects of one initiator port
#   name live at once, and the new one reports I_T NEXUS LOSS OCCURRED
#   (29/07, SAM-5 6.3.4) before anything else.
# The daemon must survive all of it and keep serving.

. "$(dirname "$0")/lib.sh"
qt_require iscsi-perf qemu-io iscsi-inq python3 timeout
TMPDIR=/var/tmp qt_init teardown 70
[ -x "$QUORATECTL" ] || qt_fail "quoratectl not built at $QUORATECTL"

VICTIM_IQN=iqn.2026-11.org.quorate:victim
ROUNDS=${QT_TEARDOWN_ROUNDS:-3}

probe=$QT_DIR/probe
dd if=/dev/zero of="$probe" bs=4096 count=1 oflag=direct status=none 2>/dev/null ||
	qt_skip "the file system of $QT_DIR does not support O_DIRECT"
rm -f "$probe"

qt_start_demo

# writer URL: qemu-io writes 8 MiB patterns over and over until killed.
# qemu-io runs as a tracked child so that killing the writer stops it too:
# once the target is gone libiscsi retries its reconnect forever.
writer()
{
	local child=
	trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM
	while :; do
		qemu-io -f raw -c "write -P 0x5a 0 8M" -c "write -P 0xa5 8M 8M" "$1" \
			>/dev/null 2>&1 &
		child=$!
		wait "$child" || sleep 0.1
	done
}

for round in $(seq 1 "$ROUNDS"); do
	url=$QT_URL_BASE/$VICTIM_IQN/0
	qt_check "round $round: create target" qt_ctl target create "$VICTIM_IQN"
	qt_check "round $round: O_DIRECT LUN" qt_ctl lun create "$VICTIM_IQN" --lun 0 \
		--backing file --path "$QT_DIR/victim$round.img" --size 256M --direct
	iscsi-perf -i "$QT_INIT1" -m 64 -b 128 -r -x 0 "$url" >"$QT_DIR/perf$round.out" 2>&1 &
	perf=$!
	qt_track "$perf"
	writer "iscsi://127.0.0.1:$QT_PORT/$VICTIM_IQN/0" &
	wr=$!
	qt_track "$wr"
	sleep 1.5
	kill -0 "$perf" 2>/dev/null || qt_fail "iscsi-perf is not running: $(cat "$QT_DIR/perf$round.out")"
	qt_check "round $round: target delete --force under load" \
		qt_ctl target delete --force "$VICTIM_IQN"
	sleep 1
	qt_alive
	kill "$wr" "$perf" 2>/dev/null
	wait "$wr" "$perf" 2>/dev/null
	QT_PIDS=${QT_PIDS% $perf $wr}
	[ "$(grep -c "ends: target removed" "$QT_LOG")" -ge "$round" ] ||
		qt_fail "round $round: no session was logged in when the target went"
	qt_check "round $round: demo target still serves" iscsi-inq -i "$QT_INIT2" "$QT_URL"
done
qt_log "ok: $ROUNDS target deletions under load"

qt_check "create target for reinstatement" qt_ctl target create "$VICTIM_IQN"
qt_check "its O_DIRECT LUN" qt_ctl lun create "$VICTIM_IQN" --lun 0 --backing file \
	--path "$QT_DIR/reinstate.img" --size 256M --direct
qt_check "session reinstatement with reads in flight" \
	python3 "$QT_SRCDIR/reinstate.py" 127.0.0.1 "$QT_PORT" "$QT_INIT1" "$VICTIM_IQN" 20
qt_log "$QT_OUT"
qt_check "target delete after reinstatements" qt_ctl target delete --force "$VICTIM_IQN"
qt_alive
qt_log "PASS"
