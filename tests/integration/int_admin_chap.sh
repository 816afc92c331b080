#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# quoratectl chap set (issue 8, items 16 and 6 in part):
# - on a terminal the secret is read with echo off and asked twice: it never
#   appears on the terminal, and two different answers set nothing;
# - a secret shorter than 12 bytes is refused (saying Windows needs 12 to 16)
#   unless --force, which sets it with a warning; so is a longer one.
. "$(dirname "$0")/lib.sh"

qt_init admin_chap 120
[ -x "$QUORATECTL" ] || qt_fail "quoratectl not built at $QUORATECTL"
qt_require python3
T=iqn.2026-11.org.quorate:chap-prompt
T2=iqn.2026-11.org.quorate:chap-len
SECRET=typed-secret-15
OTHER=other-secret-15

qt_write_config "$QT_DIR/quorated.conf"
qt_start_config "$QT_DIR/quorated.conf"
qt_check "create $T" qt_ctl target create "$T"
qt_check "create $T2" qt_ctl target create "$T2"

# chap_users TARGET: the CHAP user set on TARGET ("" if none).
chap_users()
{
	qt_ctl --json chap list | python3 -c '
import json, sys
print(" ".join(c["user"] for c in json.load(sys.stdin) if c.get("target") == sys.argv[1]))' "$1"
}

pty_chap()
{
	timeout 60 python3 "$QT_SRCDIR/pty_answer.py" "$@" -- \
		"$QUORATECTL" --ipc "$QT_IPC" chap set "$T" --user alice
}

# ---- item 16: no echo, asked twice -------------------------------------------
out=$(pty_chap "CHAP secret: " "$OTHER" "Retype CHAP secret: " "$SECRET")
rc=$?
[ "$rc" = 1 ] || qt_fail "mismatched secrets: exit $rc, expected 1: $out"
printf '%s\n' "$out" | grep -q "do not match" || qt_fail "no word of the mismatch: $out"
[ -z "$(chap_users "$T")" ] || qt_fail "mismatched secrets set CHAP on $T"
qt_log "ok: two different secrets set nothing"

out=$(pty_chap "CHAP secret: " "$SECRET" "Retype CHAP secret: " "$SECRET")
rc=$?
[ "$rc" = 0 ] || qt_fail "chap set on a terminal: exit $rc: $out"
case $out in
*"$SECRET"*) qt_fail "the secret was echoed on the terminal: $out" ;;
esac
[ "$(chap_users "$T")" = alice ] || qt_fail "chap set on a terminal did not set alice on $T"
qt_log "ok: the secret typed twice is set and never shown"
# The secret set is the one typed: a login with it succeeds.
if command -v iscsi-inq >/dev/null 2>&1; then
	qt_check "LUN 0 of $T" qt_ctl lun create "$T" --lun 0 --backing null --size 1M
	qt_check "login with the typed secret" iscsi-inq -i "$QT_INIT1" \
		"iscsi://alice%$SECRET@127.0.0.1:$QT_PORT/$T/0"
fi

# ---- item 6 (part): secret length ---------------------------------------------
out=$(qt_ctl chap set "$T2" --user bob --secret short-11-by 2>&1)
rc=$?
[ "$rc" = 1 ] || qt_fail "an 11-byte secret: exit $rc, expected 1: $out"
printf '%s\n' "$out" | grep -q "at least 12.*Windows.*12 to 16.*--force" ||
	qt_fail "the refusal does not explain the rule: $out"
[ -z "$(chap_users "$T2")" ] || qt_fail "the refused short secret was set"
qt_log "ok: an 11-byte secret is refused ($out)"
qt_check "an 11-byte secret with --force" qt_ctl chap set "$T2" --user bob --secret short-11-by --force
printf '%s\n' "$QT_OUT" | grep -q "warning: .*Windows initiators accept only 12 to 16" ||
	qt_fail "no warning for a forced short secret: $QT_OUT"
[ "$(chap_users "$T2")" = bob ] || qt_fail "--force did not set the short secret"
qt_check "a 20-byte secret" qt_ctl chap set "$T2" --user carol --secret twenty-byte-secret-1
printf '%s\n' "$QT_OUT" | grep -q "warning: .*20 bytes" || qt_fail "no warning for 20 bytes: $QT_OUT"
qt_check "a 16-byte secret" qt_ctl chap set "$T2" --user dave --secret sixteen-bytes-16
printf '%s\n' "$QT_OUT" | grep -q warning && qt_fail "a 16-byte secret drew a warning: $QT_OUT"
out=$(qt_ctl chap set "$T2" --user erin --secret good-secret-14 --mutual-user tgt \
	--mutual-secret short-mut 2>&1) && qt_fail "a 9-byte mutual secret was accepted: $out"
printf '%s\n' "$out" | grep -q "mutual CHAP secret is 9 bytes" || qt_fail "unexpected refusal: $out"
qt_log "ok: a short mutual secret is refused too"
qt_log "PASS"
