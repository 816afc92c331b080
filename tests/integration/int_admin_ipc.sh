#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Who may serve and who may use the admin IPC service (issue 8, items 3, 20):
# - an unprivileged process serving quorated's IPC name first (the abstract
#   socket has no owner) gets nothing from quoratectl: it refuses, naming
#   the server's uid, before sending the request (ipc_impostor records every
#   request it receives); with --daemon-user naming that uid it talks;
# - quorated started on the taken name exits non-zero and says who holds it;
# - quorated running as an unprivileged user is administered by that user,
#   by root only with --daemon-user, and by a member of [node] admin_group.
# Needs root (to run the other processes as nobody) and setpriv.
. "$(dirname "$0")/lib.sh"

qt_init admin_ipc 100
[ -x "$QUORATECTL" ] || qt_fail "quoratectl not built at $QUORATECTL"
: "${QT_IMPOSTOR:=$PWD/tests/integration/ipc_impostor}"
[ -x "$QT_IMPOSTOR" ] || qt_fail "ipc_impostor not built at $QT_IMPOSTOR"
[ "$(id -u)" = 0 ] || qt_skip "needs root to run processes as nobody"
qt_require setpriv
getent passwd nobody >/dev/null || qt_skip "no user nobody"
NOBODY_GID=$(id -g nobody)
AS_NOBODY="setpriv --reuid=nobody --regid=$NOBODY_GID --clear-groups"
TARGET=iqn.2026-11.org.quorate:ipc

# The unprivileged processes need to reach their files.
chmod 711 "$QT_DIR"
SHARED=$QT_DIR/shared
mkdir -m 1777 "$SHARED"
printf '%s' 'a-secret-of-16by' >"$QT_DIR/secret"
chmod 600 "$QT_DIR/secret"

# ---- item 3: an impostor serves the name first ------------------------------
RECORD=$SHARED/impostor.record
$AS_NOBODY "$QT_IMPOSTOR" "$QT_IPC" "$RECORD" >"$SHARED/impostor.out" 2>&1 &
IMPOSTOR_PID=$!
qt_track "$IMPOSTOR_PID"
for _ in $(seq 1 100); do
	grep -q ready "$SHARED/impostor.out" && break
	kill -0 "$IMPOSTOR_PID" 2>/dev/null || qt_fail "ipc_impostor died: $(cat "$SHARED/impostor.out")"
	sleep 0.1
done
grep -q ready "$SHARED/impostor.out" || qt_fail "ipc_impostor not ready"

out=$(qt_ctl chap set "$TARGET" --user alice --secret-file "$QT_DIR/secret" 2>&1)
rc=$?
[ "$rc" = 1 ] || qt_fail "chap set against the impostor: exit $rc, expected 1: $out"
printf '%s\n' "$out" | grep -q "refusing to talk to IPC '$QT_IPC'.*pid $IMPOSTOR_PID.*uid $(id -u nobody)" ||
	qt_fail "quoratectl does not say who serves the name: $out"
[ ! -s "$RECORD" ] || qt_fail "the impostor received a request: $(cat "$RECORD")"
qt_log "ok: chap set refused to talk to the impostor and sent nothing ($out)"
out=$(qt_ctl status 2>&1) && qt_fail "status accepted the impostor's answer: $out"
[ ! -s "$RECORD" ] || qt_fail "the impostor received a request: $(cat "$RECORD")"
qt_log "ok: status refused too"

# The impostor does work: told to trust uid nobody, quoratectl talks to it.
qt_check "quoratectl talks to a server it was told to trust" \
	qt_ctl --daemon-user nobody status
grep -q '"cmd":"status"' "$RECORD" || qt_fail "the impostor recorded nothing: $(cat "$RECORD")"
qt_log "ok: the impostor records what it receives"

# The real daemon on the taken name: a clear message and a failure exit.
QT_DATA=$QT_DIR/data
mkdir -p "$QT_DATA"
if qt_daemon_start 'quorated .* ready: node' --data-dir "$QT_DATA" --listen "127.0.0.1:$QT_PORT"; then
	qt_fail "quorated started although its IPC name is served by pid $IMPOSTOR_PID"
fi
grep -q "IPC service name '$QT_IPC' is already served by pid $IMPOSTOR_PID (uid $(id -u nobody))" \
	"$QT_LOG" || qt_fail "quorated does not say who holds its IPC name: $(cat "$QT_LOG")"
qt_log "ok: quorated on a taken IPC name exits and names the holder"
kill "$IMPOSTOR_PID"
wait "$IMPOSTOR_PID" 2>/dev/null

# ---- item 20: a daemon run as an unprivileged user --------------------------
# A group nobody is not a member of, as the daemon's primary group, so the
# daemon may hand its shared-memory files to that group.
ADMIN_GID=$(getent group users | cut -d: -f3)
[ -n "$ADMIN_GID" ] || qt_skip "no group 'users'"
WRAPPER=$QT_DIR/quorated-as-nobody
cat >"$WRAPPER" <<-EOF
	#!/bin/sh
	exec setpriv --reuid=nobody --regid=$ADMIN_GID --clear-groups "$QUORATED" "\$@"
EOF
chmod 755 "$WRAPPER"
QT_DATA=$SHARED/data
mkdir -p "$QT_DATA"
chown nobody "$QT_DATA"
qt_write_config "$SHARED/quorated.conf"
sed -i '/^\[node\]/a admin_group = users' "$SHARED/quorated.conf"
QUORATED=$WRAPPER qt_start_config "$SHARED/quorated.conf"

qt_check "the daemon's own user administers it" \
	$AS_NOBODY timeout 60 "$QUORATECTL" --ipc "$QT_IPC" target create "$TARGET"
out=$(qt_ctl status 2>&1) && qt_fail "root's quoratectl trusted a daemon running as nobody: $out"
printf '%s\n' "$out" | grep -q "refusing to talk" || qt_fail "unexpected refusal text: $out"
qt_log "ok: root's quoratectl does not trust a daemon running as nobody by default"
qt_check "root administers it with --daemon-user nobody" \
	qt_ctl --daemon-user nobody target list
printf '%s\n' "$QT_OUT" | grep -q "$TARGET" || qt_fail "target list misses $TARGET: $QT_OUT"
# A uid without a passwd entry, in the admin group by its primary gid.
qt_check "a member of admin_group administers it" \
	setpriv --reuid=4242 --regid="$ADMIN_GID" --clear-groups timeout 60 "$QUORATECTL" \
	--ipc "$QT_IPC" --daemon-user nobody status
out=$(setpriv --reuid=4243 --regid=4243 --clear-groups timeout 60 "$QUORATECTL" \
	--ipc "$QT_IPC" --daemon-user nobody status 2>&1) &&
	qt_fail "a user outside admin_group was admitted: $out"
printf '%s\n' "$out" | grep -q "permission denied" || qt_fail "unexpected refusal text: $out"
qt_log "ok: a user outside admin_group is refused ($out)"
qt_daemon_stop TERM
[ "$QT_DAEMON_STATUS" = 0 ] || qt_fail "quorated exited with $QT_DAEMON_STATUS"
qt_log "PASS"
