#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ACL changes end the sessions the ACL no longer admits (issue 8 item 19):
# - a first `acl add` that leaves a logged-in initiator out, and an
#   `acl remove` of a logged-in initiator, send that initiator's session an
#   Asynchronous Message asking for logout (RFC 7143 §11.9.1, AsyncEvent 1)
#   and close it when it does not log out within the announced time;
# - quoratectl says how many sessions were ended (and --json gives
#   sessions_ended); an admitted initiator's session stays up throughout.
# The sessions are held by iscsi_raw.py's `hold` mode, which pings and
# records an Async Message before the target closes the connection (it
# deliberately does not log out, so the close after the timeout is seen).

. "$(dirname "$0")/lib.sh"
qt_require python3
qt_init acl_evict 180
[ -x "$QUORATECTL" ] || qt_fail "quoratectl not built at $QUORATECTL"

IQN=iqn.2026-11.org.quorate:evict
QT_INIT3=iqn.2026-11.org.quorate:init3

qt_write_config "$QT_DIR/quorated.conf"
qt_start_config "$QT_DIR/quorated.conf"
qt_check "create $IQN" qt_ctl target create "$IQN"
qt_check "LUN 0" qt_ctl lun create "$IQN" --lun 0 --backing null --size 64M

# hold INITIATOR: a session that stays logged in; status in $QT_DIR/hold.<name>.
hold()
{
	local f=$QT_DIR/hold.${1##*:}
	rm -f "$f"
	python3 "$QT_SRCDIR/iscsi_raw.py" hold 127.0.0.1 "$QT_PORT" "$1" "$IQN" "$f" \
		>>"$QT_DIR/hold.log" 2>&1 &
	qt_track $!
	for _ in $(seq 100); do
		grep -q '^up' "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	qt_fail "session of $1 did not come up: $(cat "$f" 2>/dev/null)"
}

# expect_ended INITIATOR: its session got the logout request, then was closed.
expect_ended()
{
	local f=$QT_DIR/hold.${1##*:}
	for _ in $(seq 150); do
		grep -q '^closed' "$f" && break
		sleep 0.1
	done
	grep -q '^closed: async_logout=True' "$f" ||
		qt_fail "session of $1 not ended with an Async Message first: $(cat "$f")"
	qt_log "ok: session of $1 ended ($(cat "$f"))"
}

expect_up()
{
	local f=$QT_DIR/hold.${1##*:}
	grep -q '^up' "$f" || qt_fail "session of $1 is not up any more: $(cat "$f")"
}

hold "$QT_INIT1"
hold "$QT_INIT2"

# The first ACL entry admits INIT1 only: INIT2's session ends.
qt_check "acl add $QT_INIT1 (first entry)" qt_ctl --json acl add "$IQN" "$QT_INIT1"
n=$(printf '%s\n' "$QT_OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions_ended"])')
[ "$n" = 1 ] || qt_fail "acl add: sessions_ended $n, expected 1: $QT_OUT"
expect_ended "$QT_INIT2"
expect_up "$QT_INIT1"
grep -q "no longer admits the initiator" "$QT_LOG" || qt_fail "no log line for the ended session"

# A listed initiator logs in; removing it from the ACL ends its session.
qt_check "acl add $QT_INIT3" qt_ctl acl add "$IQN" "$QT_INIT3"
printf '%s\n' "$QT_OUT" | grep -q "session" && qt_fail "acl add ended sessions: $QT_OUT"
hold "$QT_INIT3"
qt_check "acl remove $QT_INIT3" qt_ctl acl remove "$IQN" "$QT_INIT3"
printf '%s\n' "$QT_OUT" | grep -q "; 1 session no longer admitted" ||
	qt_fail "acl remove does not say it ended 1 session: $QT_OUT"
expect_ended "$QT_INIT3"
expect_up "$QT_INIT1"

# The ended initiator cannot come back; the admitted one still can.
out=$(timeout 30 python3 "$QT_SRCDIR/iscsi_raw.py" 127.0.0.1 "$QT_PORT" "$QT_INIT3" "$IQN")
[ "$out" = 0x0202 ] || qt_fail "login of the removed initiator: $out, expected 0x0202"
out=$(timeout 30 python3 "$QT_SRCDIR/iscsi_raw.py" 127.0.0.1 "$QT_PORT" "$QT_INIT1" "$IQN")
[ "$out" = 0x0000 ] || qt_fail "login of the admitted initiator: $out"
expect_up "$QT_INIT1"

qt_alive
qt_log "PASS"
