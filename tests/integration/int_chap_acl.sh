#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Authentication and access control, configured through quoratectl on a
# node started from a config file (no demo target):
# - one-way CHAP (RFC 7143 §12.1.3): right secret logs in, a wrong secret and
#   no CHAP at all are refused with login status 0x0201;
# - mutual CHAP with libiscsi (LIBISCSI_CHAP_TARGET_USERNAME/PASSWORD): works
#   with the right target secret, the initiator gives up with a wrong one;
# - ACL: a listed initiator logs in, another gets 0x0202 (authorization
#   failure, §11.13.5);
# - SendTargets reports both portals of the node, both accept logins;
# - discovery CHAP: SendTargets needs the discovery credentials;
# - secrets never appear in `quoratectl chap list` nor in the daemon log.
# Exact login statuses are read with the raw-socket initiator iscsi_raw.py.

. "$(dirname "$0")/lib.sh"
qt_require iscsi-inq iscsi-ls python3
qt_init chap_acl 40
[ -x "$QUORATECTL" ] || qt_fail "quoratectl not built at $QUORATECTL"

CHAP_IQN=iqn.2026-11.org.quorate:chap
ACL_IQN=iqn.2026-11.org.quorate:acl
USER=alice
SECRET=alice-secret-0123
WRONG=wrong-secret-0123
TUSER=quorate-target
TSECRET=target-secret-4567
DUSER=discoverer
DSECRET=discovery-secret-89
printf '%s' "$SECRET" >"$QT_DIR/secret"
printf '%s' "$TSECRET" >"$QT_DIR/tsecret"
printf '%s' "$DSECRET" >"$QT_DIR/dsecret"
chmod 600 "$QT_DIR"/*secret

raw_status()
{
	timeout 30 python3 "$QT_SRCDIR/iscsi_raw.py" 127.0.0.1 "$QT_PORT" "$@"
}

# expect_status WANT DESCRIPTION ARGS...: the raw login ends with status WANT.
expect_status()
{
	local want=$1 what=$2 got
	shift 2
	got=$(raw_status "$@")
	[ "$got" = "$want" ] || qt_fail "$what: login status $got, expected $want"
	qt_log "ok: $what ($got)"
}

QT_TWO_PORTALS=1
qt_write_config "$QT_DIR/quorated.conf"
qt_start_config "$QT_DIR/quorated.conf"

for t in "$CHAP_IQN" "$ACL_IQN"; do
	qt_check "create $t" qt_ctl target create "$t"
	qt_check "LUN 0 of $t" qt_ctl lun create "$t" --lun 0 --backing null --size 64M
done
qt_check "one-way CHAP on $CHAP_IQN" qt_ctl chap set "$CHAP_IQN" --user "$USER" \
	--secret-file "$QT_DIR/secret"

chap_url="iscsi://$USER%$SECRET@127.0.0.1:$QT_PORT/$CHAP_IQN/0"
qt_check "login with the right CHAP secret" iscsi-inq -i "$QT_INIT1" "$chap_url"
expect_status 0x0000 "raw login with the right secret" "$QT_INIT1" "$CHAP_IQN" "$USER" "$SECRET"
qt_check_fails "login with a wrong CHAP secret" iscsi-inq -i "$QT_INIT1" \
	"iscsi://$USER%$WRONG@127.0.0.1:$QT_PORT/$CHAP_IQN/0"
expect_status 0x0201 "raw login with a wrong secret" "$QT_INIT1" "$CHAP_IQN" "$USER" "$WRONG"
expect_status 0x0201 "raw login with a wrong CHAP name" "$QT_INIT1" "$CHAP_IQN" mallory "$SECRET"
qt_check_fails "login without CHAP" iscsi-inq -i "$QT_INIT1" "$QT_URL_BASE/$CHAP_IQN/0"
expect_status 0x0201 "raw login without CHAP" "$QT_INIT1" "$CHAP_IQN"

qt_check "mutual CHAP on $CHAP_IQN" qt_ctl chap set "$CHAP_IQN" --user "$USER" \
	--secret-file "$QT_DIR/secret" --mutual-user "$TUSER" --mutual-secret-file "$QT_DIR/tsecret"
qt_check "mutual CHAP login" env LIBISCSI_CHAP_TARGET_USERNAME="$TUSER" \
	LIBISCSI_CHAP_TARGET_PASSWORD="$TSECRET" iscsi-inq -i "$QT_INIT1" "$chap_url"
expect_status 0x0000 "raw mutual CHAP login (target's answer checked)" "$QT_INIT1" \
	"$CHAP_IQN" "$USER" "$SECRET" "$TUSER" "$TSECRET"
qt_check_fails "mutual CHAP with a wrong target secret" env \
	LIBISCSI_CHAP_TARGET_USERNAME="$TUSER" LIBISCSI_CHAP_TARGET_PASSWORD="$WRONG" \
	iscsi-inq -i "$QT_INIT1" "$chap_url"
# The initiator side of the failure is ours; the target must not crash on it.
out=$(raw_status "$QT_INIT1" "$CHAP_IQN" "$USER" "$SECRET" "$TUSER" "$WRONG") &&
	qt_fail "raw mutual CHAP accepted the target's answer to a wrong secret: $out"
qt_log "ok: raw mutual CHAP detects the wrong target secret ($out)"

qt_check "ACL on $ACL_IQN" qt_ctl acl add "$ACL_IQN" "$QT_INIT1"
qt_check "listed initiator logs in" iscsi-inq -i "$QT_INIT1" "$QT_URL_BASE/$ACL_IQN/0"
qt_check_fails "unlisted initiator refused" iscsi-inq -i "$QT_INIT2" "$QT_URL_BASE/$ACL_IQN/0"
expect_status 0x0202 "raw login of an unlisted initiator" "$QT_INIT2" "$ACL_IQN"
expect_status 0x0000 "raw login of the listed initiator" "$QT_INIT1" "$ACL_IQN"

qt_check "SendTargets open before discovery CHAP" iscsi-ls -i "$QT_INIT1" \
	"iscsi://127.0.0.1:$QT_PORT2"
# RFC 7143 §12.3 / appendix C: every portal of the portal group is reported.
for p in "$QT_PORT" "$QT_PORT2"; do
	printf '%s\n' "$QT_OUT" | grep -q "^Target:$ACL_IQN Portal:127.0.0.1:$p,1$" ||
		qt_fail "SendTargets does not report portal 127.0.0.1:$p for $ACL_IQN: $QT_OUT"
done
qt_check "login through the second portal" iscsi-inq -i "$QT_INIT1" \
	"iscsi://127.0.0.1:$QT_PORT2/$ACL_IQN/0"
qt_check "discovery CHAP" qt_ctl chap set --discovery --user "$DUSER" \
	--secret-file "$QT_DIR/dsecret"
qt_check_fails "SendTargets without discovery CHAP" iscsi-ls -i "$QT_INIT1" "$QT_URL_BASE"
expect_status 0x0201 "raw discovery login without CHAP" "$QT_INIT1" ""
qt_check "SendTargets with discovery CHAP" iscsi-ls -i "$QT_INIT1" \
	"iscsi://$DUSER%$DSECRET@127.0.0.1:$QT_PORT"
printf '%s\n' "$QT_OUT" | grep -q "Target:$ACL_IQN " || qt_fail "SendTargets misses $ACL_IQN: $QT_OUT"
expect_status 0x0000 "raw discovery login with CHAP" "$QT_INIT1" "" "$DUSER" "$DSECRET"

qt_check "chap list" qt_ctl --json chap list
for s in "$SECRET" "$TSECRET" "$DSECRET"; do
	printf '%s\n' "$QT_OUT" | grep -qF -- "$s" && qt_fail "chap list shows a secret: $QT_OUT"
	grep -qF -- "$s" "$QT_LOG" && qt_fail "a CHAP secret is in the daemon log $QT_LOG"
done
printf '%s\n' "$QT_OUT" | python3 -m json.tool >/dev/null ||
	qt_fail "quoratectl --json chap list is not one JSON document: $QT_OUT"
qt_log "ok: no secret in chap list or in the log"

qt_alive
qt_log "PASS"
