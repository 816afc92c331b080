# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared helpers for the cluster tests (DESIGN §8): real corosync nodes in
# Linux network namespaces on this one machine. A test sources this file,
# calls qc_init, qc_net N, qc_corosync_start for each node, qc_wait_quorate,
# and runs its programs in a node with qc_node_run / qc_node_spawn.
#
# Layout of one run (every name carries the test's PID, so runs side by side
# and other users of network namespaces are never touched):
# - a network namespace holding bridge br0; one namespace per node with eth0,
#   a veth into the bridge, address 198.18.0.N/24 (benchmark range, no
#   default route: nothing leaves the machine);
# - one long-lived mount namespace per node, kept by a bind mount on a file
#   ($QC_DIR/ns/nodeN): /etc/corosync, /run, /var/lib/corosync and /dev/shm
#   are private tmpfs there, because libqb IPC uses files in /dev/shm and
#   corosync its /run and /var/lib directories. Every process of a node runs
#   under `nsenter --mount=FILE --net=/run/netns/NS`.
#
# Invariants: every process started is tracked by PID (and its start time,
# so a recycled PID is never signalled); qc_cleanup, run from the EXIT trap,
# is idempotent and leaves no process, mount, namespace or bridge behind,
# whatever state the test failed in.

set -u

QC_SKIP=77
QC_NET=198.18.0
QC_PIDS=		# "pid:starttime" of every process started
QC_NS=			# network namespaces created, bridge first
QC_MOUNTS=		# mount points to unmount, innermost last
QC_CLEANED=
# Lines left out of the log tails of a failed test: libqb's IPC chatter for
# every quoratectl call.
QC_LOG_NOISE="shm size:|HUP conn|qb_ipcs_disconnect|Free'ing ringbuffer|IPC credentials authenticated|connecting to client|ipc: status\$|qb_ipcs_unref"

qc_log()
{
	printf '%s: %s\n' "${QC_NAME:-cluster}" "$*" >&2
}

qc_fail()
{
	qc_log "FAIL: $*"
	exit 1
}

# qc_defer MESSAGE: a failed check that does not stop the test: the next
# steps still run (and may show more), and qc_pass fails the test.
qc_defer()
{
	qc_log "FAIL (the test goes on): $*"
	QC_DEFERRED="${QC_DEFERRED:-}
  $*"
}

# qc_pass: end the test: PASS, or FAIL with every deferred failure.
qc_pass()
{
	[ -z "${QC_DEFERRED:-}" ] || qc_fail "checks failed:${QC_DEFERRED}"
	qc_log "PASS${1:+ ($1)}"
	exit 0
}

qc_skip()
{
	qc_log "SKIP: $*"
	exit $QC_SKIP
}

# qc_require_env: skip unless root, corosync and ip netns are there.
qc_require_env()
{
	local t
	[ "$(id -u)" = 0 ] || qc_skip "needs root (network and mount namespaces)"
	for t in ip nsenter unshare corosync corosync-quorumtool mount umount; do
		command -v "$t" >/dev/null 2>&1 || qc_skip "$t not installed"
	done
	ip netns add "qc-probe-$$" 2>/dev/null || qc_skip "ip netns add does not work here"
	ip netns del "qc-probe-$$"
}

# qc_init NAME: work directory, EXIT trap.
qc_init()
{
	QC_NAME=$1
	qc_require_env
	QC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/quorate-$QC_NAME.XXXXXX") || exit 1
	QC_TAG=qc$$
	trap qc_cleanup EXIT
	trap 'exit 130' INT TERM
}

qc_starttime()
{
	# Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces.
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	set -- $s
	printf '%s' "${20}"
}

# qc_track PID: remember a started process.
qc_track()
{
	QC_PIDS="$QC_PIDS $1:$(qc_starttime "$1")"
}

# qc_alive PID: the tracked process PID still runs (same start time, not a zombie).
qc_alive()
{
	local e s
	for e in $QC_PIDS; do
		[ "${e%%:*}" = "$1" ] || continue
		[ "$(qc_starttime "$1")" = "${e#*:}" ] || continue
		s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
		s=${s##*) }
		[ "${s%% *}" != Z ] && return 0
	done
	return 1
}

# qc_stop PID [SIGNAL]: signal a tracked process (TERM, then KILL after 5 s).
qc_stop()
{
	local pid=$1 sig=${2:-TERM} i
	qc_alive "$pid" || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for i in $(seq 50); do
		qc_alive "$pid" || break
		sleep 0.1
	done
	qc_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

qc_cleanup()
{
	local e m ns f rc=$?
	[ -n "$QC_CLEANED" ] && return $rc
	QC_CLEANED=1
	trap - EXIT
	# Newest first: a node's daemon and its helpers before its corosync.
	for e in $(printf '%s\n' $QC_PIDS | tac); do
		qc_stop "${e%%:*}" TERM
	done
	# Mounts in reverse order of creation (node namespaces before their directory).
	for m in $(printf '%s\n' $QC_MOUNTS | tac); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for ns in $QC_NS; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$rc" = 0 ] || [ "$rc" = $QC_SKIP ]; then
		rm -rf "$QC_DIR" ${QC_RMDIRS:-}
	else
		# The logs a test registered (qc_keep_log), tails first: CI keeps
		# the test's own log, not the work directory.
		for f in ${QC_LOGS:-}; do
			[ -s "$f" ] || continue
			qc_log "last lines of $f:"
			grep -v -E "$QC_LOG_NOISE" "$f" | tail -n "${QC_LOG_TAIL:-30}" >&2
		done
		qc_log "logs kept in $QC_DIR ${QC_RMDIRS:-}"
	fi
	return $rc
}

qc_ns()
{
	printf '%s-n%s' "$QC_TAG" "$1"
}

# qc_net N: the bridge namespace and N node namespaces 198.18.0.1..N.
qc_net()
{
	local n=$1 i br=$QC_TAG-br ns
	ip netns add "$br" || qc_fail "ip netns add $br"
	QC_NS="$br"
	ip -n "$br" link set lo up
	ip -n "$br" link add br0 type bridge || qc_fail "bridge"
	ip -n "$br" link set br0 up
	mkdir -p "$QC_DIR/ns"
	# The files holding the mount namespaces must sit on a private mount.
	mount --bind "$QC_DIR/ns" "$QC_DIR/ns" || qc_fail "bind mount $QC_DIR/ns"
	QC_MOUNTS="$QC_MOUNTS $QC_DIR/ns"
	mount --make-private "$QC_DIR/ns" || qc_fail "make-private $QC_DIR/ns"
	for i in $(seq "$n"); do
		ns=$(qc_ns "$i")
		ip netns add "$ns" || qc_fail "ip netns add $ns"
		QC_NS="$QC_NS $ns"
		ip -n "$ns" link set lo up
		ip -n "$ns" link add eth0 type veth peer name p$i netns "$br" || qc_fail "veth $i"
		ip -n "$br" link set "p$i" master br0 up
		ip -n "$ns" addr add "$QC_NET.$i/24" dev eth0
		ip -n "$ns" link set eth0 up
		mkdir -p "$QC_DIR/node$i"
		touch "$QC_DIR/ns/node$i"
		unshare --mount="$QC_DIR/ns/node$i" --propagation private sh -ec '
			for d in /etc/corosync /run /var/lib/corosync /dev/shm; do
				mkdir -p "$d"
				mount -t tmpfs -o mode=0755 tmpfs "$d"
			done
			chmod 1777 /dev/shm
			mkdir -p /run/corosync /etc/corosync/uidgid.d' ||
			qc_fail "mount namespace of node $i"
		QC_MOUNTS="$QC_MOUNTS $QC_DIR/ns/node$i"
	done
	QC_NODES=$n
}

# qc_node_run I CMD...: run CMD in node I's namespaces, wait for it.
qc_node_run()
{
	local i=$1
	shift
	nsenter --mount="$QC_DIR/ns/node$i" --net="/run/netns/$(qc_ns "$i")" "$@"
}

# qc_node_spawn I OUT CMD...: start CMD in node I's namespaces in the
# background with stdout to OUT (stderr to OUT.err); sets QC_SPAWNED.
qc_node_spawn()
{
	local i=$1 out=$2
	shift 2
	nsenter --mount="$QC_DIR/ns/node$i" --net="/run/netns/$(qc_ns "$i")" "$@" \
		>"$out" 2>"$out.err" &
	QC_SPAWNED=$!
	qc_track "$QC_SPAWNED"
}

# qc_corosync_conf I: node I's corosync.conf (one key per line: corosync's
# parser rejects one-line blocks) and the cluster's authkey.
qc_corosync_conf()
{
	local i=$1 j
	[ -f "$QC_DIR/authkey" ] ||
		dd if=/dev/urandom of="$QC_DIR/authkey" bs=256 count=1 status=none
	{
		printf 'totem {\n\tversion: 2\n\tcluster_name: quorate-test\n'
		printf '\ttransport: knet\n\ttoken: 1000\n'
		printf '\tcrypto_cipher: aes256\n\tcrypto_hash: sha256\n}\n'
		printf 'nodelist {\n'
		for j in $(seq "$QC_NODES"); do
			[ "$j" = "${QC_QNETD:-}" ] && continue
			printf '\tnode {\n\t\tring0_addr: %s.%s\n\t\tname: node%s\n\t\tnodeid: %s\n\t}\n' \
				"$QC_NET" "$j" "$j" "$j"
		done
		printf '}\nquorum {\n\tprovider: corosync_votequorum\n'
		if [ -n "${QC_QNETD:-}" ]; then
			# The third vote from corosync-qnetd on node QC_QNETD (no two_node).
			printf '\tdevice {\n\t\tmodel: net\n\t\tvotes: 1\n\t\tnet {\n'
			printf '\t\t\thost: %s.%s\n\t\t\talgorithm: ffsplit\n\t\t\ttls: on\n' \
				"$QC_NET" "$QC_QNETD"
			printf '\t\t}\n\t}\n'
		fi
		printf '}\n'
		printf 'logging {\n\tto_stderr: no\n\tto_syslog: no\n\tto_logfile: yes\n'
		printf '\tlogfile: %s/node%s/corosync.log\n\ttimestamp: on\n}\n' "$QC_DIR" "$i"
	} >"$QC_DIR/node$i/corosync.conf"
	qc_node_run "$i" sh -ec '
		cp "$1/node$2/corosync.conf" /etc/corosync/corosync.conf
		install -m 0400 "$1/authkey" /etc/corosync/authkey' sh "$QC_DIR" "$i" ||
		qc_fail "corosync.conf of node $i"
}

# qc_corosync_start I: corosync -f in node I (QC_COROSYNC_PID_I holds its PID).
qc_corosync_start()
{
	local i=$1
	[ -f "$QC_DIR/node$i/corosync.conf" ] || qc_corosync_conf "$i"
	qc_node_spawn "$i" "$QC_DIR/node$i/corosync.out" corosync -f
	eval "QC_COROSYNC_PID_$i=$QC_SPAWNED"
}

qc_corosync_pid()
{
	eval "printf '%s' \"\${QC_COROSYNC_PID_$1:-}\""
}

# qc_quorate I: node I's corosync says it is quorate.
qc_quorate()
{
	qc_node_run "$1" corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *Yes'
}

# qc_wait_each SECONDS PREDICATE I...: PREDICATE I holds for every node I
# within SECONDS.
qc_wait_each()
{
	local limit=$(($1 * 10)) pred=$2 t=0 i ok
	shift 2
	while [ $t -lt $limit ]; do
		ok=1
		for i in "$@"; do
			"$pred" "$i" || { ok=; break; }
		done
		[ -n "$ok" ] && return 0
		sleep 0.1
		t=$((t + 1))
	done
	return 1
}

# qc_wait_quorate SECONDS I...: every node I is quorate within SECONDS.
qc_wait_quorate()
{
	qc_wait_each "$1" qc_quorate "${@:2}"
}

qc_ms()
{
	date +%s%3N
}

# qc_last_t FILE REGEX: the t= of the last line of FILE matching REGEX
# (cluster_probe's lines end in t=MILLISECONDS).
qc_last_t()
{
	grep -E -- "$2" "$1" | tail -n 1 | sed -n 's/.* t=\([0-9]*\).*/\1/p'
}

# qc_first_t_after FILE REGEX T0: the t= of the first line matching REGEX at or after T0.
qc_first_t_after()
{
	grep -E -- "$2" "$1" | sed -n 's/.* t=\([0-9]*\).*/\1/p' |
		awk -v t0="$3" '$1 >= t0 { print; exit }'
}

# qc_wait_t_after SECONDS FILE REGEX T0: wait for such a line; print its t=.
qc_wait_t_after()
{
	local limit=$(($1 * 10)) t=0 v
	while [ $t -lt $limit ]; do
		v=$(qc_first_t_after "$2" "$3" "$4")
		[ -n "$v" ] && { printf '%s' "$v"; return 0; }
		sleep 0.1
		t=$((t + 1))
	done
	return 1
}

# qc_count_after FILE REGEX T0: lines matching REGEX with t= at or after T0.
qc_count_after()
{
	grep -E -- "$2" "$1" | sed -n 's/.* t=\([0-9]*\).*/\1/p' |
		awk -v t0="$3" '$1 >= t0 { n++ } END { print n + 0 }'
}

# qc_deliveries FILE: cluster_probe's deliver lines without their timestamps.
qc_deliveries()
{
	grep '^deliver ' "$1" | sed 's/ t=[0-9]*$//'
}

# qc_cpu_ticks PID: user + system CPU time of PID, in clock ticks.
qc_cpu_ticks()
{
	local s
	s=$(cat "/proc/$1/stat") || return 1
	s=${s##*) }
	set -- $s
	printf '%s' $((${12} + ${13}))
}

# qc_wait_file_line SECONDS FILE REGEX: FILE gets a line matching REGEX.
qc_wait_file_line()
{
	local limit=$(($1 * 10)) t=0
	while [ $t -lt $limit ]; do
		grep -Eq -- "$3" "$2" 2>/dev/null && return 0
		sleep 0.1
		t=$((t + 1))
	done
	return 1
}

# qc_qnetd_setup Q NODE...: node Q becomes the qnetd host of the cluster of
# NODE... (2 nodes + qdevice, DESIGN §8): its CA and server certificate, a
# signed client certificate for the cluster made on the first node and
# imported on the others (as docs/deploy-ha-pair.md does it, with copies
# through $QC_DIR/xfer instead of scp), then corosync-qnetd -f on node Q.
# Later corosync.conf files carry the quorum device; start corosync, wait
# until it answers (qc_wait_quorate), then qc_qdevice_start on every node
# (corosync-qdevice exits when corosync's cmap is not up yet) and
# qc_wait_votes for the device's vote.
qc_qnetd_setup()
{
	local q=$1 first=$2 i t x=$QC_DIR/xfer
	shift
	for t in corosync-qnetd corosync-qnetd-certutil corosync-qdevice \
		corosync-qdevice-net-certutil certutil; do
		command -v "$t" >/dev/null 2>&1 || qc_skip "$t not installed"
	done
	QC_QNETD=$q
	mkdir -p "$x"
	qc_node_run "$q" sh -ec 'corosync-qnetd-certutil -i
		cp /etc/corosync/qnetd/nssdb/qnetd-cacert.crt "$1"' sh "$x" \
		>>"$QC_DIR/certs.log" 2>&1 ||
		qc_fail "qnetd CA on node $q"
	qc_node_run "$first" sh -ec 'cd "$1"
		corosync-qdevice-net-certutil -i -c qnetd-cacert.crt
		corosync-qdevice-net-certutil -r -n quorate-test
		cp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq .' sh "$x" \
		>>"$QC_DIR/certs.log" 2>&1 ||
		qc_fail "qdevice request on node $first"
	qc_node_run "$q" sh -ec 'cd "$1"
		corosync-qnetd-certutil -s -c qdevice-net-node.crq -n quorate-test
		cp /etc/corosync/qnetd/nssdb/cluster-quorate-test.crt .' sh "$x" \
		>>"$QC_DIR/certs.log" 2>&1 ||
		qc_fail "signing on node $q"
	qc_node_run "$first" sh -ec 'cd "$1"
		corosync-qdevice-net-certutil -M -c cluster-quorate-test.crt
		cp /etc/corosync/qdevice/net/nssdb/qdevice-net-node.p12 .' sh "$x" \
		>>"$QC_DIR/certs.log" 2>&1 ||
		qc_fail "qdevice certificate on node $first"
	shift
	for i in "$@"; do
		qc_node_run "$i" sh -ec 'cd "$1"
			corosync-qdevice-net-certutil -i -c qnetd-cacert.crt
			corosync-qdevice-net-certutil -m -c qdevice-net-node.p12' sh "$x" \
			>>"$QC_DIR/certs.log" 2>&1 ||
			qc_fail "qdevice certificate import on node $i"
	done
	qc_node_run "$q" mkdir -p /run/corosync-qnetd
	qc_node_spawn "$q" "$QC_DIR/node$q/qnetd.out" corosync-qnetd -f
	QC_QNETD_PID=$QC_SPAWNED
}

# qc_qdevice_start I: corosync-qdevice -f in node I (after its corosync).
qc_qdevice_start()
{
	qc_node_run "$1" mkdir -p /run/corosync-qdevice
	qc_node_spawn "$1" "$QC_DIR/node$1/qdevice.out" corosync-qdevice -f
	eval "QC_QDEVICE_PID_$1=$QC_SPAWNED"
}

qc_qdevice_pid()
{
	eval "printf '%s' \"\${QC_QDEVICE_PID_$1:-}\""
}

# qc_wait_votes SECONDS VOTES I...: corosync on every node I counts VOTES
# votes (with a quorum device: its vote arrived) within SECONDS.
qc_wait_votes()
{
	QC_WANT_VOTES=$2
	qc_wait_each "$1" qc_has_votes "${@:3}"
}

qc_has_votes()
{
	qc_node_run "$1" corosync-quorumtool -s 2>/dev/null |
		grep -q "^Total votes: *$QC_WANT_VOTES\$"
}

# ---- quorated nodes ---------------------------------------------------------
#
# A node of the cluster tests runs quorated beside its corosync (DESIGN §3),
# with `cluster = corosync` and `id` equal to its corosync nodeid. Two
# networks: eth0 (198.18.0.0/24, qc_net) is the cluster interconnect that
# corosync and qnetd use, and a test cuts a node off by taking it down
# (qc_cut); the front network (198.18.1.0/24, qc_front_net, a second bridge)
# carries iSCSI: node N's portal 198.18.1.N:3260 and the initiator namespace
# at 198.18.1.100. With one network, cutting a node off would cut its
# initiators off too, and the case fencing exists for (an isolated node that
# initiators still reach and write through) could not be tested.
#
# Every node's data directory is $QC_DIR/nodeN/data; the LUN files all nodes
# open are in $QC_SHARED (qc_shared_dir), a directory on a disk file system
# (cluster LUNs default to O_DIRECT, which tmpfs may not support) that every
# node's mount namespace sees.

QC_FRONT=198.18.1
QC_INI_ADDR=$QC_FRONT.100
QC_ISCSI_PORT=3260
QC_LOGS=		# files whose tails a failed test prints
QC_RMDIRS=		# directories outside $QC_DIR that cleanup removes
QC_PY=python3		# the python interpreter (qc_require_daemon)

: "${QUORATED:=$PWD/daemon/quorated}"
: "${QUORATECTL:=$PWD/cli/quoratectl}"
: "${QT_SRCDIR:=${QC_SRCDIR:-$(dirname "$0")}/../integration}"
: "${QC_SRCDIR:=$(dirname "$0")}"
export QT_SRCDIR

# qc_var NAME: the value of the variable called NAME ("" when unset).
qc_var()
{
	eval "printf '%s' \"\${$1:-}\""
}

# qc_require_daemon: quorated, quoratectl and the initiator tools are there.
qc_require_daemon()
{
	local t
	for t in python3 timeout; do
		command -v "$t" >/dev/null 2>&1 || qc_skip "$t not installed"
	done
	# The interpreter itself: a version manager's python3 wrapper can cost
	# 100 ms a call, and status polls call it often.
	QC_PY=$(python3 -c 'import sys; print(sys.executable)') || qc_fail "python3 does not run"
	[ -x "$QUORATED" ] || qc_fail "quorated not built at $QUORATED"
	[ -x "$QUORATECTL" ] || qc_fail "quoratectl not built at $QUORATECTL"
	[ -f "$QT_SRCDIR/iscsi_raw.py" ] || qc_fail "iscsi_raw.py not found in $QT_SRCDIR"
}

# qc_keep_log FILE: print FILE's last lines when the test fails.
qc_keep_log()
{
	QC_LOGS="$QC_LOGS $1"
}

# qc_shared_dir: QC_SHARED, the directory of the LUN files every node opens.
qc_shared_dir()
{
	QC_SHARED=$(mktemp -d /var/tmp/quorate-"$QC_NAME"-shared.XXXXXX) ||
		qc_fail "cannot create the shared LUN directory"
	QC_RMDIRS="$QC_RMDIRS $QC_SHARED"
}

# qc_front_net: the front network (after qc_net): a second bridge, every
# node's interface "front" at 198.18.1.N and the initiator namespace
# (QC_INI_NS) at 198.18.1.100.
qc_front_net()
{
	local br=$QC_TAG-br i ns
	ip -n "$br" link add br1 type bridge || qc_fail "front bridge"
	ip -n "$br" link set br1 up
	for i in $(seq "$QC_NODES"); do
		ns=$(qc_ns "$i")
		ip -n "$ns" link add front type veth peer name f$i netns "$br" ||
			qc_fail "front veth of node $i"
		ip -n "$br" link set "f$i" master br1 up
		ip -n "$ns" addr add "$QC_FRONT.$i/24" dev front
		ip -n "$ns" link set front up
	done
	QC_INI_NS=$QC_TAG-ini
	ip netns add "$QC_INI_NS" || qc_fail "ip netns add $QC_INI_NS"
	QC_NS="$QC_NS $QC_INI_NS"
	ip -n "$QC_INI_NS" link set lo up
	ip -n "$QC_INI_NS" link add eth0 type veth peer name f100 netns "$br" ||
		qc_fail "initiator veth"
	ip -n "$br" link set f100 master br1 up
	ip -n "$QC_INI_NS" addr add "$QC_INI_ADDR/24" dev eth0
	ip -n "$QC_INI_NS" link set eth0 up
}

# qc_cut I / qc_heal I: node I's interconnect link goes down / comes back
# (its portal on the front network stays reachable).
qc_cut()
{
	ip -n "$(qc_ns "$1")" link set eth0 down || qc_fail "link down on node $1"
}

qc_heal()
{
	ip -n "$(qc_ns "$1")" link set eth0 up || qc_fail "link up on node $1"
}

# qc_ini_run CMD...: run CMD in the initiator namespace, wait for it.
qc_ini_run()
{
	nsenter --net="/run/netns/$QC_INI_NS" "$@"
}

# qc_ini_spawn OUT CMD...: CMD in the initiator namespace in the background,
# stdout and stderr to OUT; sets QC_SPAWNED.
qc_ini_spawn()
{
	local out=$1
	shift
	nsenter --net="/run/netns/$QC_INI_NS" "$@" >"$out" 2>&1 &
	QC_SPAWNED=$!
	qc_track "$QC_SPAWNED"
}

# qc_iscsi ARGS...: tests/cluster/qc_iscsi.py in the initiator namespace
# (at most QC_ISCSI_TIMEOUT seconds, default 120).
qc_iscsi()
{
	qc_ini_run timeout "${QC_ISCSI_TIMEOUT:-120}" "$QC_PY" "$QC_SRCDIR/qc_iscsi.py" "$@"
}

# qc_portal I: node I's iSCSI portal address.
qc_portal()
{
	printf '%s.%s' "$QC_FRONT" "$1"
}

# qc_quorated_conf I [LINES]: node I's quorated.conf (extra [node] LINES).
qc_quorated_conf()
{
	local i=$1 d=$QC_DIR/node$1
	mkdir -p "$d/data"
	{
		printf '[node]\nname = node%s\nid = %s\ndata_dir = %s/data\n' "$i" "$i" "$d"
		printf 'cluster = corosync\nipc_name = quorate-node%s\nlog_level = %s\n' \
			"$i" "${QC_LOG_LEVEL:-debug}"
		[ $# -ge 2 ] && printf '%s\n' "$2"
		printf '\n[iscsi]\nlisten = %s:%s\n' "$(qc_portal "$i")" "$QC_ISCSI_PORT"
	} >"$d/quorated.conf"
}

# qc_quorated_start I: quorated --foreground in node I (stdout and stderr to
# $QC_DIR/nodeI/quorated.R.log, R counting the starts); waits until its IPC
# answers. QC_QUORATED_PID_I holds its PID.
qc_quorated_start()
{
	local i=$1 d=$QC_DIR/node$1 runs log pid t
	[ -f "$d/quorated.conf" ] || qc_quorated_conf "$i"
	runs=$(($(qc_var "QC_QUORATED_RUNS_$i") + 1))
	eval "QC_QUORATED_RUNS_$i=$runs"
	log=$d/quorated.$runs.log
	qc_keep_log "$log"
	nsenter --mount="$QC_DIR/ns/node$i" --net="/run/netns/$(qc_ns "$i")" \
		"$QUORATED" --foreground --config "$d/quorated.conf" >"$log" 2>&1 &
	pid=$!
	qc_track "$pid"
	eval "QC_QUORATED_PID_$i=$pid"
	for t in $(seq 200); do
		qc_ctl "$i" status >/dev/null 2>&1 && return 0
		qc_alive "$pid" || qc_fail "quorated on node $i exited before its IPC answered (log $log)"
		sleep 0.1
	done
	qc_fail "quorated on node $i: no answer on its IPC within 20 s"
}

qc_quorated_pid()
{
	qc_var "QC_QUORATED_PID_$1"
}

# qc_quorated_stop I: SIGTERM to node I's quorated; it must exit with status
# 0 within 10 s.
qc_quorated_stop()
{
	local pid rc t
	pid=$(qc_quorated_pid "$1")
	qc_alive "$pid" || qc_fail "quorated on node $1 is not running"
	kill -TERM "$pid"
	for t in $(seq 100); do
		qc_alive "$pid" || break
		sleep 0.1
	done
	if qc_alive "$pid"; then
		kill -KILL "$pid"
		qc_fail "quorated on node $1 did not exit within 10 s of SIGTERM"
	fi
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || qc_fail "quorated on node $1 exited with status $rc on SIGTERM"
}

# qc_quorated_kill I: SIGKILL to node I's quorated only (its corosync stays).
qc_quorated_kill()
{
	local pid
	pid=$(qc_quorated_pid "$1")
	qc_alive "$pid" || qc_fail "quorated on node $1 is not running"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
}

# qc_crash I: node I dies at once: SIGKILL to its quorated, corosync and
# corosync-qdevice (those that run) together, then reap them.
qc_crash()
{
	local p pids=
	for p in "$(qc_quorated_pid "$1")" "$(qc_corosync_pid "$1")" "$(qc_qdevice_pid "$1")"; do
		[ -n "$p" ] && qc_alive "$p" && pids="$pids $p"
	done
	[ -n "$pids" ] || qc_fail "node $1 has nothing running to crash"
	kill -KILL $pids
	for p in $pids; do
		# Reaped here, with the shell's "Killed" notice left out.
		wait "$p" 2>/dev/null
	done
}

# qc_ctl I ARGS...: quoratectl against node I's daemon, inside node I.
qc_ctl()
{
	local i=$1
	shift
	qc_node_run "$i" timeout 30 "$QUORATECTL" --ipc "quorate-node$i" "$@"
}

# qc_status I FIELD...: the FIELDs of node I's `quoratectl --json status`,
# space separated (booleans as true/false, lists and objects as compact JSON,
# a missing field as "-"); fails when the daemon does not answer.
qc_status()
{
	local i=$1 out
	shift
	out=$(qc_ctl "$i" --json status 2>/dev/null) || return 1
	printf '%s' "$out" | "$QC_PY" -c '
import json, sys
d = json.load(sys.stdin)
out = []
for k in sys.argv[1:]:
    v = d.get(k)
    if isinstance(v, bool):
        v = "true" if v else "false"
    elif v is None:
        v = "-"
    elif isinstance(v, (list, dict)):
        v = json.dumps(v, separators=(",", ":"))
    out.append(str(v))
print(" ".join(out))' "$@"
}

qc_serving()
{
	[ "$(qc_status "$1" serving)" = true ]
}

qc_not_serving()
{
	[ "$(qc_status "$1" serving)" = false ]
}

# qc_corosync_up I...: corosync started on every node I, all quorate
# within 30 s (else the test fails).
qc_corosync_up()
{
	local i
	for i in "$@"; do
		qc_corosync_start "$i"
	done
	qc_wait_quorate 30 "$@" || qc_fail "corosync on nodes $* not quorate within 30 s"
}

# qc_qdevice_up I...: corosync-qdevice started on every node I, and every
# node I counting one vote per node plus the device's within 30 s.
qc_qdevice_up()
{
	local i
	for i in "$@"; do
		qc_qdevice_start "$i"
	done
	qc_wait_votes 30 $(($# + 1)) "$@" ||
		qc_fail "the quorum device's vote did not arrive within 30 s"
}

# qc_quorated_up I...: quorated started on every node I, all serving within
# 30 s (else the test fails).
qc_quorated_up()
{
	local i
	for i in "$@"; do
		qc_quorated_start "$i"
	done
	qc_wait_serving 30 "$@" || qc_fail "nodes $* not serving within 30 s"
}

# qc_wait_serving SECONDS I...: every node I serves within SECONDS.
qc_wait_serving()
{
	qc_wait_each "$1" qc_serving "${@:2}"
}

# qc_wait_converged SECONDS I...: within SECONDS every node I reports the
# same applied sequence and digest (QC_CONVERGED: "SEQ DIGEST"); on failure
# QC_CONVERGED lists what each node reported last.
qc_wait_converged()
{
	local limit=$(($1 * 10)) t=0 i s first ok
	shift
	while [ $t -lt $limit ]; do
		ok=1
		first=
		QC_CONVERGED=
		for i in "$@"; do
			s=$(qc_status "$i" applied_seq digest) || s="(no answer)"
			QC_CONVERGED="$QC_CONVERGED node$i=[$s]"
			[ -z "$first" ] && first=$s
			[ "$s" = "$first" ] && [ "$s" != "(no answer)" ] || ok=
		done
		if [ -n "$ok" ]; then
			QC_CONVERGED=$first
			return 0
		fi
		sleep 0.1
		t=$((t + 1))
	done
	return 1
}

# qc_verify I...: `quoratectl cluster verify` passes on every node I. A
# proposal may be applied on one member a moment before another, so a
# failure is retried for up to 3 s; every retry is logged.
qc_verify()
{
	local i n out
	for i in "$@"; do
		for n in $(seq 30); do
			out=$(qc_ctl "$i" cluster verify 2>&1) && break
			[ "$n" = 30 ] && { printf '%s\n' "$out" >&2; qc_fail "cluster verify fails on node $i"; }
			[ "$n" = 1 ] && qc_log "cluster verify on node $i failed once, retrying: $(printf '%s' "$out" | tr '\n' ' ')"
			sleep 0.1
		done
	done
}

# qc_cmap I KEY [DEFAULT]: a value of node I's corosync cmap.
qc_cmap()
{
	local v
	v=$(qc_node_run "$1" corosync-cmapctl -g "$2" 2>/dev/null | sed -n 's/^.* = //p')
	[ -n "$v" ] || v=${3:-}
	[ -n "$v" ] || qc_fail "node $1: corosync-cmapctl has no $2"
	printf '%s' "$v"
}

# qc_timing I: QC_TOKEN, QC_CONSENSUS (runtime totem values, ms) and
# QC_QDEVICE_TIMEOUT (quorum.device.timeout, corosync-qdevice's default of
# 10000 ms when a device is configured without it; 0 without a device), as
# node I's corosync runs them.
qc_timing()
{
	QC_TOKEN=$(qc_cmap "$1" runtime.config.totem.token)
	QC_CONSENSUS=$(qc_cmap "$1" runtime.config.totem.consensus)
	QC_QDEVICE_TIMEOUT=0
	if qc_node_run "$1" corosync-cmapctl -g quorum.device.model >/dev/null 2>&1; then
		QC_QDEVICE_TIMEOUT=$(qc_cmap "$1" quorum.device.timeout 10000)
	fi
}

# qc_check_leases I: node I's `quoratectl --json status` reports in timing
# the periods docs/ARCHITECTURE.md derives from QC_TOKEN, QC_CONSENSUS and
# QC_QDEVICE_TIMEOUT (qc_timing first): heartbeat h = T/4, base lease
# T + 2h, long lease T + C + 2h (+ Q), grace long lease + 1 s (+ Q + T + C);
# the human status shows both leases. Sets QC_LEASE_BASE and QC_LEASE.
qc_check_leases()
{
	local h want got q=$QC_QDEVICE_TIMEOUT
	h=$((QC_TOKEN / 4))
	QC_LEASE_BASE=$((QC_TOKEN + 2 * h))
	QC_LEASE=$((QC_TOKEN + QC_CONSENSUS + 2 * h + q))
	want="$h $QC_LEASE_BASE $QC_LEASE $((QC_LEASE + 1000 + (q > 0 ? q + QC_TOKEN + QC_CONSENSUS : 0)))"
	got=$(qc_ctl "$1" --json status | qc_json "' '.join(str(d['timing'][k]) for k in ('heartbeat_ms', 'lease_base_ms', 'lease_ms', 'grace_ms'))") ||
		qc_fail "node $1: no timing in quoratectl --json status"
	[ "$got" = "$want" ] ||
		qc_fail "node $1's status timing (heartbeat, base lease, lease, grace) is $got ms, want $want"
	qc_ctl "$1" status | grep -q "lease $QC_LEASE_BASE ms ($QC_LEASE ms with the majority reached)" ||
		qc_fail "node $1's quoratectl status does not show both leases: $(qc_ctl "$1" status | grep timing)"
}

# qc_wait_change SECONDS PREDICATE I: check PREDICATE I over and over (a
# status check takes some 50 ms) until it holds, within SECONDS. The change
# happened after QC_T_BEFORE (when the last check that did not hold began;
# the start if none) and by QC_T_AFTER (when the first check that held
# ended). Not in $(...): it sets these variables.
qc_wait_change()
{
	local end=$(($(qc_ms) + $1 * 1000)) ts
	QC_T_BEFORE=$(qc_ms)
	while [ "$(qc_ms)" -lt $end ]; do
		ts=$(qc_ms)
		if "$2" "$3"; then
			QC_T_AFTER=$(qc_ms)
			return 0
		fi
		QC_T_BEFORE=$ts
		sleep 0.01
	done
	return 1
}

# qc_wait_ready SECONDS FILE PID: FILE says "ready" within SECONDS, while
# the tracked process PID that writes it still runs.
qc_wait_ready()
{
	local end=$(($(qc_ms) + $1 * 1000))
	while [ "$(qc_ms)" -lt $end ]; do
		grep -q ready "$2" 2>/dev/null && return 0
		qc_alive "$3" || return 1
		sleep 0.1
	done
	return 1
}

# qc_json EXPR: evaluate the python expression EXPR with d = the JSON
# document on stdin; print the result (strings as they are, other values as
# JSON).
qc_json()
{
	"$QC_PY" -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$1"
}

# qc_watch_status I FILE: in the background, append "T SERVING QUORATE
# EPOCH" of node I's status to FILE every 100 ms (QC_SPAWNED is the poller).
qc_watch_status()
{
	(
		trap - EXIT
		while :; do
			printf '%s %s\n' "$(qc_ms)" "$(qc_status "$1" serving quorate epoch || echo no-answer)"
			sleep 0.1
		done
	) >>"$2" 2>/dev/null &
	QC_SPAWNED=$!
	qc_track "$QC_SPAWNED"
}

# qc_not_serving_span FILE T0: "" when a node watched by qc_watch_status
# into FILE served in every poll from T0 on, else a summary of the polls in
# which it did not (times relative to T0).
qc_not_serving_span()
{
	awk -v t0="$2" '$1 >= t0 && $2 != "true" {
			if (!n++) first = $1
			last = $1
			what = $2 " " $3
		}
		END {
			if (n) printf "%d polls not serving (serving quorate: %s) from +%d to +%d ms\n", n, what, first - t0, last - t0
		}' "$1"
}

# qc_refused_span LOG T0: "" when every op of a qc_iscsi.py stream LOG sent
# at or after T0 completed GOOD, else how many did not, how, and when
# (relative to T0).
qc_refused_span()
{
	awk -v t0="$2" '$1 == "op" && $5 >= t0 && $7 != "GOOD" {
			if (!n++) first = $5
			last = $6
			how[$7]++
		}
		END {
			if (!n) exit
			printf "%d ops refused or lost, sent from +%d ms, the last completed at +%d ms:", n, first - t0, last - t0
			for (h in how) printf " %s x%d", h, how[h]
			printf "\n"
		}' "$1"
}
# ---- the partition scenario (test_cluster_partition.sh, test_cluster_qnetd.sh)

QC_FENCE_X=iqn.2026-11.org.quorate:fence-x
QC_FENCE_Y=iqn.2026-11.org.quorate:fence-y

# qc_summary FILE EXPR: qc_json EXPR on the JSON document in FILE.
qc_summary()
{
	qc_json "$2" <"$1"
}

# qc_partition ISOLATED LIMIT_MS MAJORITY...: DESIGN §3's fencing, end to
# end, on target $QC_TARGET LUN 0. Initiator X writes numbered blocks
# through node ISOLATED the whole time; Y, through the first MAJORITY node,
# holds a Write Exclusive - Registrants Only reservation; W writes through
# the last MAJORITY node (qc_iscsi.py fence). Node ISOLATED's interconnect
# goes down and Y at once PREEMPTs X's key. Then:
# - node ISOLATED reports not serving (its status) within LIMIT_MS of the
#   cut, and no write of X sent later than LIMIT_MS after the cut completed
#   GOOD through it; X's first refused write got NOT READY 04h/0Ch, so did a
#   PR OUT right after it, and REPORT TARGET PORT GROUPS through node
#   ISOLATED shows its group Unavailable;
# - no write of X completed GOOD after the PREEMPT completed; the medium
#   holds every GOOD write of X and none of the refused ones, and the canary
#   block holds what Y wrote after the PREEMPT;
# - the MAJORITY nodes never stopped serving (status polled every 100 ms)
#   and W's writes went on; `cluster verify` passes on them;
# - after the link comes back, node ISOLATED serves again with the
#   majority's digest, answers PR IN with the majority's bytes, and X's
#   writes through it get RESERVATION CONFLICT; the MAJORITY nodes served
#   throughout its return too.
# Every time is logged relative to the cut; every write of X and W, with
# its send and completion time, is in $QC_DIR/fence/writes.X.log and .W.log.
qc_partition()
{
	local iso=$1 limit=$2 y w d=$QC_DIR/fence i t_cut t_off t_on took s out
	shift 2
	y=$1
	w=${!#}
	mkdir -p "$d"
	qc_ini_spawn "$d/fence.out" timeout 600 "$QC_PY" "$QC_SRCDIR/qc_iscsi.py" --target "$QC_TARGET" \
		fence --isolated "$(qc_portal "$iso"),$QC_FENCE_X,805800000001" \
		--majority "$(qc_portal "$y"),$QC_FENCE_Y,805900000001" \
		--watch "$(qc_portal "$w"),$QC_FENCE_Y,805900000002" \
		--x-base 1000 --w-base 50000 --canary 100 \
		--ready-file "$d/ready" --go-file "$d/go" --preempted-file "$d/preempted" \
		--stop-file "$d/stop" --summary "$d/summary.json" --log-prefix "$d/writes."
	local fence=$QC_SPAWNED
	qc_keep_log "$d/fence.out"
	qc_wait_ready 30 "$d/ready" "$fence" ||
		qc_fail "the initiators did not get going: $(tail -n 5 "$d/fence.out")"
	for i in "$iso" "$@"; do
		qc_watch_status "$i" "$d/watch.$i"
		eval "local watch_$i=$QC_SPAWNED"
	done
	sleep 1
	t_cut=$(qc_ms)
	qc_cut "$iso"
	touch "$d/go"
	qc_wait_change $((limit / 1000 + 20)) qc_not_serving "$iso" ||
		qc_fail "node $iso still serving $((limit / 1000 + 20)) s after it was cut off: $(qc_status "$iso" quorate serving members)"
	took="+$((QC_T_BEFORE - t_cut))..+$((QC_T_AFTER - t_cut))"
	qc_log "node $iso, cut off, switched its status to not serving between $took ms after the cut (limit $limit ms; status: quorate serving = $(qc_status "$iso" quorate serving))"
	# Failed only when a status check that began after the limit still said
	# serving: the checks' own duration is not the daemon's.
	[ $((QC_T_BEFORE - t_cut)) -le "$limit" ] ||
		qc_defer "node $iso still reported serving at +$((QC_T_BEFORE - t_cut)) ms after the cut, beyond $limit ms"
	qc_wait_file_line 120 "$d/preempted" preempted ||
		qc_fail "the majority did not complete the PREEMPT within 120 s of the cut: $(tail -n 5 "$d/fence.out")"
	# X keeps writing through the isolated node for a while after the PREEMPT.
	sleep 2
	touch "$d/stop"
	wait "$fence" || qc_fail "fencing violated or the initiators failed (above): $(tail -n 12 "$d/fence.out")"
	cat "$d/fence.out" >&2
	s=$d/summary.json
	qc_log "timeline from the cut (ms): node $iso's status not serving $took;" \
		"X's last GOOD write sent +$(qc_summary "$s" "d['x_last_good_sent'] - $t_cut")," \
		"completed +$(qc_summary "$s" "d['x_last_good'] - $t_cut")," \
		"first refused +$(qc_summary "$s" "d['x_first_refused'] - $t_cut if d['x_first_refused'] else None")" \
		"($(qc_summary "$s" "d['x_first_refused_outcome']"));" \
		"PREEMPT sent +$(qc_summary "$s" "d['t_preempt_sent'] - $t_cut")," \
		"completed +$(qc_summary "$s" "d['t_preempt'] - $t_cut")" \
		"after $(qc_summary "$s" "d['preempt_attempts']") attempt(s);" \
		"canary written +$(qc_summary "$s" "d['t_canary'] - $t_cut");" \
		"W's longest gap $(qc_summary "$s" "d['w_longest_gap']") ms"
	out=$(qc_summary "$s" "d['x_last_good_sent'] - $t_cut")
	[ "$out" -le "$limit" ] ||
		qc_defer "node $iso completed a write of X sent $out ms after the cut with GOOD, beyond $limit ms"
	out=$(qc_summary "$s" "[d['refusal'].get(k) for k in ('write', 'prout')]")
	[ "$out" = '["CHECK/2/040c", "CHECK/2/040c"]' ] ||
		qc_fail "through node $iso after the cut: WRITE and PR OUT got $out, want NOT READY 04h/0Ch for both"
	out=$(qc_summary "$s" "d['refusal'].get('rtpg', {}).get('$iso')")
	[ "$out" = unavailable ] ||
		qc_fail "REPORT TARGET PORT GROUPS through node $iso shows its group as $out, want unavailable ($(qc_summary "$s" "d['refusal']"))"
	for i in "$@"; do
		out=$(qc_not_serving_span "$d/watch.$i" "$t_cut")
		[ -z "$out" ] || qc_defer "majority node $i did not keep serving (times from the cut): $out"
	done
	qc_log "ok: node $iso refused WRITE and PR OUT with 04h/0Ch and reported its group unavailable; no write through it was acknowledged after the PREEMPT; the medium checks out; the majority kept serving"
	qc_verify "$@"

	t_on=$(qc_ms)
	qc_heal "$iso"
	qc_wait_serving 60 "$iso" || qc_fail "node $iso not serving 60 s after its link came back: $(qc_status "$iso" quorate serving members)"
	qc_wait_converged 20 "$iso" "$@" || qc_fail "node $iso did not converge after healing: $QC_CONVERGED"
	qc_log "ok: node $iso serves again $(($(qc_ms) - t_on)) ms after its link came back, at the majority's applied_seq/digest $QC_CONVERGED"
	for i in "$iso" "$@"; do
		qc_stop "$(qc_var "watch_$i")"
	done
	for i in "$@"; do
		out=$(qc_not_serving_span "$d/watch.$i" "$t_on")
		[ -z "$out" ] || qc_defer "majority node $i did not keep serving while node $iso rejoined (times from the heal): $out"
	done
	qc_iscsi --target "$QC_TARGET" after-heal --isolated "$(qc_portal "$iso"),$QC_FENCE_X,805800000001" \
		--majority "$(qc_portal "$y"),$QC_FENCE_Y,805900000001" --lba 999 ||
		qc_fail "node $iso after healing (above)"
	qc_verify "$iso" "$@"
}
