#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Daemon life cycle:
# - SIGHUP (reload the log level) keeps serving: the logged-in session stays
#   up and new logins work;
# - SIGTERM while an initiator is logged in: quorated exits 0 within 5 s,
#   the session is ended (ideally after an Async Message asking for logout,
#   RFC 7143 §11.9.1, AsyncEvent 1) and the SQLite database passes
#   `PRAGMA integrity_check`;
# - a restart on the same data directory serves the same targets, LUNs and
#   identity (the demo target is not created twice, an added target stays).

. "$(dirname "$0")/lib.sh"
qt_require iscsi-ls iscsi-inq python3 sqlite3
qt_init lifecycle 50
[ -x "$QUORATECTL" ] || qt_fail "quoratectl not built at $QUORATECTL"

EXTRA_IQN=iqn.2026-11.org.quorate:extra
HOLD=$QT_DIR/hold.status

qt_start_demo
qt_check "add a target" qt_ctl target create "$EXTRA_IQN"
qt_check "add its LUN" qt_ctl lun create "$EXTRA_IQN" --lun 0 --backing null --size 64M
qt_check "serial before restart" iscsi-inq -i "$QT_INIT1" -e 1 -c 128 "$QT_URL"
serial=$QT_OUT

python3 "$QT_SRCDIR/iscsi_raw.py" hold 127.0.0.1 "$QT_PORT" "$QT_INIT1" "$QT_DEMO_IQN" "$HOLD" &
holder=$!
qt_track "$holder"
for i in $(seq 1 50); do
	grep -q '^up' "$HOLD" 2>/dev/null && break
	sleep 0.1
done
grep -q '^up' "$HOLD" || qt_fail "holding session did not log in: $(cat "$HOLD" 2>&1)"
qt_log "ok: a session is logged in and pinging"

kill -HUP "$QT_DAEMON_PID"
sleep 1
qt_alive
qt_check "new login after SIGHUP" iscsi-inq -i "$QT_INIT2" "$QT_URL"
sleep 1
grep -q '^up' "$HOLD" || qt_fail "the session died on SIGHUP: $(cat "$HOLD")"
kill -0 "$holder" 2>/dev/null || qt_fail "the holding initiator exited on SIGHUP: $(cat "$HOLD")"
qt_log "ok: SIGHUP keeps serving"

t0=$(date +%s.%N)
qt_daemon_stop TERM
status=$QT_DAEMON_STATUS
elapsed=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
	"$t0" "$(date +%s.%N)")
[ "$status" = 0 ] || qt_fail "quorated exited with status $status on SIGTERM"
python3 -c "import sys; sys.exit(float(sys.argv[1]) > 5.0)" "$elapsed" ||
	qt_fail "quorated took $elapsed s to exit on SIGTERM"
qt_log "ok: SIGTERM: exit 0 after $elapsed s"
for i in $(seq 1 50); do
	grep -q '^closed' "$HOLD" && break
	sleep 0.1
done
grep -q '^closed' "$HOLD" || qt_fail "the session was not closed: $(cat "$HOLD")"
grep -q 'async_logout=True' "$HOLD" ||
	qt_log "note: no Async Message (logout requested) before the close: $(cat "$HOLD")"
wait "$holder"

db=$QT_DATA/quorate.db
[ -f "$db" ] || qt_fail "no database at $db"
check=$(sqlite3 "$db" 'PRAGMA integrity_check;' 2>&1)
[ "$check" = ok ] || qt_fail "integrity_check: $check"
qt_log "ok: database intact"

qt_start_demo
qt_check "discovery after restart" iscsi-ls -i "$QT_INIT1" "$QT_URL_BASE"
printf '%s\n' "$QT_OUT" | grep -q "^Target:$EXTRA_IQN " ||
	qt_fail "target $EXTRA_IQN lost on restart: $QT_OUT"
[ "$(printf '%s\n' "$QT_OUT" | grep -c "^Target:$QT_DEMO_IQN ")" = 1 ] ||
	qt_fail "demo target not listed exactly once after restart: $QT_OUT"
qt_check "LUN of the added target" iscsi-inq -i "$QT_INIT1" "$QT_URL_BASE/$EXTRA_IQN/0"
qt_check "serial after restart" iscsi-inq -i "$QT_INIT1" -e 1 -c 128 "$QT_URL"
[ "$QT_OUT" = "$serial" ] || qt_fail "unit serial changed on restart: '$serial' -> '$QT_OUT'"
qt_check "quoratectl target list" qt_ctl --json target list
printf '%s\n' "$QT_OUT" | grep -q "$EXTRA_IQN" || qt_fail "target list misses $EXTRA_IQN: $QT_OUT"

qt_alive
qt_log "PASS"
