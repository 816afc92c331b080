# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared helpers for the integration tests: each test sources this file,
# calls qt_init with its own port offset, starts one real quorated from the
# build tree on 127.0.0.1 with a private data directory and IPC name, drives
# it with real initiators, and leaves cleanup to the EXIT trap set here.
#
# Invariants:
# - every process a test starts is tracked by PID and stopped by PID;
# - ports come from QT_PORT_BASE (default 14500); each
#   test owns ten ports starting at base + its offset, so tests run in
#   parallel under `make check -j`;
# - the daemon must still be alive when a test ends unless the test stopped
#   it itself: a crash fails the test even if every check before passed;
# - exit status 77 means "skipped" (automake's convention), used only when a
#   tool the test needs is missing, never to hide a failure.

set -u

QT_SKIP=77
QT_PORT_BASE=${QT_PORT_BASE:-14500}
QT_INIT1=iqn.2026-11.org.quorate:init1
QT_INIT2=iqn.2026-11.org.quorate:init2
QT_DEMO_IQN=iqn.2026-11.org.quorate:demo

# Paths to the programs under test, set by tests/local.mk; fall back to the
# layout of a build tree when a test is run by hand from the build dir.
: "${QUORATED:=$PWD/daemon/quorated}"
: "${QUORATECTL:=$PWD/cli/quoratectl}"
: "${QT_SRCDIR:=$(cd "$(dirname "$0")" && pwd)}"

QT_DAEMON_PID=
QT_DAEMON_STOPPED=1
QT_PIDS=

qt_log()
{
	printf '%s: %s\n' "${QT_NAME:-test}" "$*" >&2
}

qt_fail()
{
	qt_log "FAIL: $*"
	exit 1
}

qt_skip()
{
	qt_log "SKIP: $*"
	exit $QT_SKIP
}

# qt_require TOOL...: skip the test when a tool is not installed.
qt_require()
{
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || qt_skip "$t not installed"
	done
}

# qt_port_free PORT: true when nothing accepts connections on 127.0.0.1:PORT.
qt_port_free()
{
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# qt_init NAME OFFSET: work directory, EXIT trap, QT_PORT (first free port of
# the test's ten), QT_PORT2 (the next free one) and the per-test IPC name.
qt_init()
{
	QT_NAME=$1
	local first=$((QT_PORT_BASE + $2)) p
	[ -x "$QUORATED" ] || qt_fail "quorated not built at $QUORATED"
	QT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/quorate-$QT_NAME.XXXXXX") || exit 1
	QT_LOG=$QT_DIR/quorated.1.log
	QT_IPC=quorate-test-$QT_NAME-$$
	trap qt_cleanup EXIT
	trap 'exit 130' INT TERM
	QT_PORT=
	QT_PORT2=
	for p in $(seq "$first" $((first + 9))); do
		qt_port_free "$p" || continue
		if [ -z "$QT_PORT" ]; then
			QT_PORT=$p
		else
			QT_PORT2=$p
			break
		fi
	done
	[ -n "$QT_PORT2" ] || qt_fail "no free port in $first..$((first + 9))"
	QT_URL_BASE=iscsi://127.0.0.1:$QT_PORT
}

# qt_track PID: stop this helper process too when the test ends.
qt_track()
{
	QT_PIDS="$QT_PIDS $1"
}

qt_cleanup()
{
	local rc=$? p
	trap - EXIT
	for p in $QT_PIDS; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if [ -n "$QT_DAEMON_PID" ] && [ "$QT_DAEMON_STOPPED" = 0 ]; then
		if ! kill -0 "$QT_DAEMON_PID" 2>/dev/null; then
			wait "$QT_DAEMON_PID" 2>/dev/null
			qt_log "FAIL: quorated (pid $QT_DAEMON_PID) died during the test, status $?"
			rc=1
		else
			qt_daemon_stop TERM || true
			if [ "$QT_DAEMON_STATUS" != 0 ]; then
				qt_log "FAIL: quorated exited with status $QT_DAEMON_STATUS on SIGTERM"
				[ "$rc" = "$QT_SKIP" ] || rc=1
			fi
		fi
	fi
	if [ "$rc" != 0 ] && [ "$rc" != "$QT_SKIP" ]; then
		if [ -f "${QT_LOG:-}" ]; then
			qt_log "last lines of $QT_LOG:"
			tail -n 40 "$QT_LOG" >&2
		fi
		qt_log "work directory kept: ${QT_DIR:-}"
	elif [ -n "${QT_DIR:-}" ] && [ -z "${QT_KEEP:-}" ]; then
		rm -rf "$QT_DIR"
	fi
	exit "$rc"
}

# qt_daemon_start PATTERN ARGS...: start quorated in the foreground (as a
# child of this shell) with ARGS plus our IPC name, log to $QT_LOG, and wait
# until its output matches the basic regex PATTERN, or its death. With
# --demo it prints "ready: iscsi://..." (QT_READY_URL); otherwise it logs
# "quorated VERSION ready: node ..." once its portals and IPC are up.
qt_daemon_start()
{
	local i pattern=$1
	shift
	QT_STARTS=$((${QT_STARTS:-0} + 1))
	QT_LOG=$QT_DIR/quorated.$QT_STARTS.log
	"$QUORATED" --foreground --ipc-name "$QT_IPC" "$@" >"$QT_LOG" 2>&1 &
	QT_DAEMON_PID=$!
	QT_DAEMON_STOPPED=0
	QT_READY_URL=
	for i in $(seq 1 200); do
		if grep -q -- "$pattern" "$QT_LOG"; then
			QT_READY_URL=$(sed -n 's/^.*ready: \(iscsi:\/\/[^ ]*\).*$/\1/p' "$QT_LOG" |
				tail -n 1)
			return 0
		fi
		if ! kill -0 "$QT_DAEMON_PID" 2>/dev/null; then
			wait "$QT_DAEMON_PID"
			qt_log "quorated exited with status $? before it was ready"
			QT_DAEMON_STOPPED=1
			return 1
		fi
		sleep 0.1
	done
	qt_log "quorated printed no line matching '$pattern' within 20 s"
	return 1
}

# qt_start_demo [ARGS...]: the demo target on QT_PORT (and QT_PORT2 when
# QT_TWO_PORTALS is set) with a data dir of its own.
qt_start_demo()
{
	local listen="127.0.0.1:$QT_PORT"
	[ -n "${QT_TWO_PORTALS:-}" ] && listen="$listen,127.0.0.1:$QT_PORT2"
	QT_DATA=${QT_DATA:-$QT_DIR/data}
	mkdir -p "$QT_DATA"
	qt_daemon_start 'ready: iscsi://' --demo --data-dir "$QT_DATA" --listen "$listen" "$@" ||
		qt_fail "cannot start quorated --demo"
	[ "$QT_READY_URL" = "$QT_URL_BASE/$QT_DEMO_IQN/0" ] ||
		qt_fail "ready line names '$QT_READY_URL', expected $QT_URL_BASE/$QT_DEMO_IQN/0"
	QT_URL=$QT_READY_URL
}

# qt_write_config FILE [EXTRA_LINES]: a node config for a standalone node on
# QT_PORT (and QT_PORT2 when QT_TWO_PORTALS is set) with our data dir and IPC.
qt_write_config()
{
	local listen="127.0.0.1:$QT_PORT"
	QT_DATA=${QT_DATA:-$QT_DIR/data}
	mkdir -p "$QT_DATA"
	[ -n "${QT_TWO_PORTALS:-}" ] && listen="$listen,127.0.0.1:$QT_PORT2"
	cat >"$1" <<-EOF
		[node]
		name = test-$QT_NAME
		data_dir = $QT_DATA
		cluster = standalone
		ipc_name = $QT_IPC
		log_level = debug

		[iscsi]
		listen = $listen
	EOF
	[ $# -ge 2 ] && printf '%s\n' "$2" >>"$1"
	return 0
}

# qt_start_config FILE: start quorated with a config file.
qt_start_config()
{
	qt_daemon_start 'quorated .* ready: node' --config "$1" || qt_fail "cannot start quorated --config $1"
}

# qt_daemon_stop [SIGNAL]: signal the daemon (TERM by default), wait for it
# (at most 10 s, then KILL) and set QT_DAEMON_STATUS to its exit status.
# Not in a $(...) subshell: only this shell can wait for its child.
qt_daemon_stop()
{
	local sig=${1:-TERM} i
	QT_DAEMON_STATUS=255
	[ -n "$QT_DAEMON_PID" ] && [ "$QT_DAEMON_STOPPED" = 0 ] || return 1
	kill -s "$sig" "$QT_DAEMON_PID" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$QT_DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$QT_DAEMON_PID" 2>/dev/null; then
		qt_log "quorated did not exit within 10 s of SIG$sig; killing it"
		kill -s KILL "$QT_DAEMON_PID" 2>/dev/null
	fi
	wait "$QT_DAEMON_PID"
	QT_DAEMON_STATUS=$?
	QT_DAEMON_STOPPED=1
}

# qt_ctl ARGS...: quoratectl against this test's daemon.
qt_ctl()
{
	timeout 60 "$QUORATECTL" --ipc "$QT_IPC" "$@"
}

# qt_timeout COMMAND...: run a program with a 60 s limit (exit 124 when hit);
# shell functions run as they are (they call programs through qt_timeout).
qt_timeout()
{
	if [ "$(type -t "$1")" = function ]; then
		"$@"
	else
		timeout 60 "$@"
	fi
}

# qt_check DESCRIPTION COMMAND...: run COMMAND, fail the test when it fails.
qt_check()
{
	local what=$1 out
	shift
	if ! out=$(qt_timeout "$@" 2>&1); then
		printf '%s\n' "$out" >&2
		qt_fail "$what: '$*' failed"
	fi
	qt_log "ok: $what"
	QT_OUT=$out
}

# qt_check_fails DESCRIPTION COMMAND...: COMMAND must fail (and not hang).
qt_check_fails()
{
	local what=$1 out
	shift
	local rc=0
	out=$(qt_timeout "$@" 2>&1) || rc=$?
	if [ "$rc" = 0 ]; then
		printf '%s\n' "$out" >&2
		qt_fail "$what: '$*' succeeded but must fail"
	fi
	[ "$rc" = 124 ] && qt_fail "$what: '$*' hung for 60 s"
	qt_log "ok: $what"
	QT_OUT=$out
}

# qt_alive: the daemon is still running (tests check logins themselves).
qt_alive()
{
	kill -0 "$QT_DAEMON_PID" 2>/dev/null || qt_fail "quorated died"
}
