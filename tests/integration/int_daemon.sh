#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Start-up and the data directory:
# - a second quorated on a data directory in use is refused, naming the PID
#   that holds it, and the first keeps serving;
# - background mode exits non-zero with the reason when start-up fails (the
#   port is taken), and exits 0 only once portals and IPC are up;
# - a relative --data-dir (and --pid-file) in background mode is the
#   directory it names from where quorated was started, not from "/";
# - a PID file is written in the foreground too when one is configured;
# - with libsystemd, NOTIFY_SOCKET receives READY=1 once it serves and
#   STOPPING=1 on SIGTERM.

. "$(dirname "$0")/lib.sh"
qt_require python3
qt_init daemon 150
[ -x "$QUORATECTL" ] || qt_fail "quoratectl not built at $QUORATECTL"

# A port accepts connections: the daemon listens.
port_open()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# --- one data directory, one daemon -----------------------------------------
QT_DATA=$QT_DIR/data
qt_daemon_start 'quorated .* ready: node' --data-dir "$QT_DATA" --listen "127.0.0.1:$QT_PORT" \
	--pid-file "$QT_DIR/fg.pid" || qt_fail "cannot start the first quorated"
[ "$(cat "$QT_DIR/fg.pid" 2>/dev/null)" = "$QT_DAEMON_PID" ] ||
	qt_fail "foreground --pid-file holds '$(cat "$QT_DIR/fg.pid" 2>&1)', not $QT_DAEMON_PID"
qt_log "ok: foreground writes the configured pid file"

qt_check_fails "a second daemon on the same data directory" \
	"$QUORATED" --foreground --data-dir "$QT_DATA" --listen "127.0.0.1:$QT_PORT2" \
	--ipc-name "$QT_IPC-second"
printf '%s\n' "$QT_OUT" | grep -q "data directory '.*' is in use by another quorated (pid $QT_DAEMON_PID" ||
	qt_fail "refusal does not name the holder (pid $QT_DAEMON_PID): $QT_OUT"
qt_check_fails "the same in background mode" \
	"$QUORATED" --data-dir "$QT_DATA" --listen "127.0.0.1:$QT_PORT2" --ipc-name "$QT_IPC-second"
printf '%s\n' "$QT_OUT" | grep -q "in use by another quorated (pid $QT_DAEMON_PID" ||
	qt_fail "background refusal does not name the holder: $QT_OUT"
qt_alive
qt_check "the first daemon still answers" qt_ctl status
port_open "$QT_PORT" || qt_fail "the first daemon stopped listening"
port_open "$QT_PORT2" && qt_fail "the refused daemon listens on $QT_PORT2"

# --- background start that fails --------------------------------------------
qt_check_fails "background start on a taken port" \
	"$QUORATED" --data-dir "$QT_DIR/bg-fail" --listen "127.0.0.1:$QT_PORT" \
	--ipc-name "$QT_IPC-bgfail"
printf '%s\n' "$QT_OUT" | grep -q "127.0.0.1:$QT_PORT.*Address already in use" ||
	qt_fail "no reason given for the failed start: $QT_OUT"
[ -e "$QT_DIR/bg-fail/quorated.pid" ] && qt_fail "a failed start left a pid file"
qt_log "ok: background start on a taken port exits non-zero with the reason"

# --- background start with relative paths -----------------------------------
BG_IPC=$QT_IPC-bg
out=$(cd "$QT_DIR" && timeout 60 "$QUORATED" --data-dir rel/data --pid-file bg.pid \
	--listen "127.0.0.1:$QT_PORT2" --ipc-name "$BG_IPC" 2>&1) ||
	qt_fail "background start with a relative --data-dir failed: $out"
bg_pid=$(cat "$QT_DIR/bg.pid" 2>/dev/null) || qt_fail "no pid file at $QT_DIR/bg.pid"
qt_track "$bg_pid"
kill -0 "$bg_pid" 2>/dev/null || qt_fail "background daemon (pid $bg_pid) is not running"
# Ready means ready: no waiting, no retries.
port_open "$QT_PORT2" || qt_fail "background start returned before its portal listened"
timeout 60 "$QUORATECTL" --ipc "$BG_IPC" status >/dev/null 2>&1 ||
	qt_fail "background start returned before its IPC service was up"
qt_log "ok: background start returns once portal and IPC are up"
[ -f "$QT_DIR/rel/data/quorate.db" ] || qt_fail "relative --data-dir not used: no $QT_DIR/rel/data/quorate.db"
[ "$(cat "$QT_DIR/rel/data/quorated.lock")" = "$bg_pid" ] ||
	qt_fail "lock file does not hold the daemon's PID $bg_pid"
[ -e /rel/data ] && qt_log "note: /rel/data exists on this machine"
qt_log "ok: relative --data-dir and --pid-file are taken from the start directory"
kill -TERM "$bg_pid"
for i in $(seq 1 100); do
	kill -0 "$bg_pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$bg_pid" 2>/dev/null && qt_fail "background daemon ignored SIGTERM"
[ -e "$QT_DIR/bg.pid" ] && qt_fail "pid file left behind after SIGTERM"
qt_log "ok: background daemon stopped, pid file removed"

# --- sd_notify --------------------------------------------------------------
if ! ldd "$QUORATED" 2>/dev/null | grep -q libsystemd; then
	qt_log "note: quorated built without libsystemd; sd_notify not tested"
	qt_alive
	qt_log "PASS"
	exit 0
fi
python3 - "$QUORATED" "$QUORATECTL" "$QT_DIR" "$QT_PORT2" "$QT_IPC-notify" <<'EOF' ||
import os, signal, socket, subprocess, sys, time

quorated, ctl, work, port, ipc = sys.argv[1:]
path = os.path.join(work, "notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(20)
env = dict(os.environ, NOTIFY_SOCKET=path)
log = open(os.path.join(work, "notify.log"), "w")
p = subprocess.Popen([quorated, "--foreground", "--data-dir", os.path.join(work, "notify"),
                      "--listen", "127.0.0.1:" + port, "--ipc-name", ipc],
                     env=env, stdout=log, stderr=log)
try:
    msg = sock.recv(4096).decode()
    if "READY=1" not in msg.split("\n"):
        sys.exit("first notification is %r, not READY=1" % msg)
    # READY=1 promises a serving daemon.
    if subprocess.run([ctl, "--ipc", ipc, "status"], capture_output=True,
                      timeout=60).returncode != 0:
        sys.exit("READY=1 before the IPC service answered")
    socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
    p.send_signal(signal.SIGTERM)
    msg = sock.recv(4096).decode()
    if "STOPPING=1" not in msg.split("\n"):
        sys.exit("notification on SIGTERM is %r, not STOPPING=1" % msg)
    rc = p.wait(timeout=20)
    if rc != 0:
        sys.exit("quorated exited %d" % rc)
except socket.timeout:
    sys.exit("no notification within 20 s")
finally:
    if p.poll() is None:
        p.kill()
        p.wait()
EOF
	qt_fail "sd_notify: see above (log in $QT_DIR/notify.log)"
qt_log "ok: NOTIFY_SOCKET got READY=1 when serving and STOPPING=1 on SIGTERM"

qt_alive
qt_log "PASS"
