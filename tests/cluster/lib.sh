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

qc_log()
{
	printf '%s: %s\n' "${QC_NAME:-cluster}" "$*" >&2
}

qc_fail()
{
	qc_log "FAIL: $*"
	exit 1
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
	local e m ns rc=$?
	[ -n "$QC_CLEANED" ] && return $rc
	QC_CLEANED=1
	trap - EXIT
	for e in $QC_PIDS; do
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
		rm -rf "$QC_DIR"
	else
		qc_log "logs kept in $QC_DIR"
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
