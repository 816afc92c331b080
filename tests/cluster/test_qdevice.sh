# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Corosync transport with 2 nodes + corosync-qdevice/corosync-qnetd
# (ffsplit, TLS) in network namespaces (lib.sh): nodes 1 and 2 run corosync,
# corosync-qdevice and cluster_probe, node 3 is the qnetd host.
#  1. corosync on node 2 killed (with its qdevice): node 1 keeps quorum with
#     the qnetd vote, keeps serving and keeps delivering;
#  2. node 2 back, then its link goes down (cut from both its peer and
#     qnetd): node 1 stays serving; node 2 stops serving within token + 2 s
#     (the token the probe read from cmap: its reach probes find neither
#     node 1 nor qnetd, so its lease ends after the base lease, although it
#     stays quorate on the qdevice's last vote for up to
#     quorum.device.timeout + token + consensus, DESIGN §8); the time, and
#     how much node 2 delivered alone meanwhile while node 1 served too, are
#     logged as inputs of the fencing argument (docs/ARCHITECTURE.md).
# Skipped (77) without root, corosync, qnetd/qdevice or `ip netns`.

. "${QC_SRCDIR:-$(dirname "$0")}/lib.sh"

: "${QC_PROBE:=$PWD/tests/cluster/cluster_probe}"

qc_init qdevice
[ -x "$QC_PROBE" ] || qc_fail "cluster_probe not built at $QC_PROBE"

# node1_kept_serving T0 T1 WHAT: node 1 neither lost quorum nor stopped
# serving since T0 and delivered since T1.
# node1_kept_serving T0 T1 WHAT: node 1 kept quorum from T0 on and delivers
# after T1. Its lease may lapse while corosync holds CPG back after the
# membership change ("waiting for quorum device Qdevice poll"): it must
# then serve again within quorum.device.timeout; the gap is logged.
node1_kept_serving()
{
	local off on
	[ "$(qc_count_after "$QC_DIR/run1.log" '^quorum 0' "$1")" = 0 ] ||
		qc_fail "node 1 lost quorum when $3"
	off=$(qc_first_t_after "$QC_DIR/run1.log" '^serving 0' "$1")
	if [ -n "$off" ]; then
		on=$(qc_first_t_after "$QC_DIR/run1.log" '^serving 1' "$off")
		[ -n "$on" ] && [ $((on - off)) -le "$qtimeout" ] ||
			qc_fail "node 1 stopped serving when $3 and did not serve again within $qtimeout ms"
		qc_log "node 1 did not serve for $((on - off)) ms while corosync waited for the qdevice's poll ($3)"
	fi
	[ "$(qc_count_after "$QC_DIR/run1.log" '^serving 0' "${on:-$1}")" = 0 ] ||
		qc_fail "node 1 stopped serving again when $3"
	[ "$(qc_count_after "$QC_DIR/run1.log" '^deliver ' "$2")" -gt 0 ] ||
		qc_fail "node 1 delivers nothing after $3"
}

qc_net 3
qc_qnetd_setup 3 1 2
qc_corosync_up 1 2
qc_qdevice_up 1 2
qc_log "2 nodes + qdevice quorate with 3 votes"

for i in 1 2; do
	qc_node_spawn "$i" "$QC_DIR/run$i.log" "$QC_PROBE" --group qd --count 0 \
		--interval 50 --members 2
	eval "RUN_PID_$i=$QC_SPAWNED"
done
for i in 1 2; do
	qc_wait_file_line 15 "$QC_DIR/run$i.log" '^proposed ' ||
		qc_fail "node $i: probe not proposing within 15 s"
done
qtimeout=$(sed -n 's/^start .*qdevice_timeout_ms=\([0-9]*\).*/\1/p' "$QC_DIR/run2.log")
token=$(sed -n 's/^start .*token_ms=\([0-9]*\).*/\1/p' "$QC_DIR/run2.log")
consensus=$(sed -n 's/^start .*consensus_ms=\([0-9]*\).*/\1/p' "$QC_DIR/run2.log")
[ -n "$qtimeout" ] && [ "$qtimeout" -gt 0 ] ||
	qc_fail "probe did not read quorum.device.timeout from cmap"
grace=$(sed -n 's/^start .*grace_ms=\([0-9]*\).*/\1/p' "$QC_DIR/run1.log")
[ -n "$grace" ] && [ "$grace" -gt "$qtimeout" ] ||
	qc_fail "probe reports no grace period above quorum.device.timeout ($grace)"

# sleep_until T: sleep until wall-clock millisecond T.
sleep_until()
{
	local ms=$(($1 - $(qc_ms)))
	[ "$ms" -gt 0 ] && sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	return 0
}

# --- 1. one node dies: the other keeps serving with the qnetd vote ---------
t0=$(qc_ms)
kill -KILL "$(qc_corosync_pid 2)" "$(qc_qdevice_pid 2)"
qc_stop "$(qc_corosync_pid 2)"
qc_stop "$(qc_qdevice_pid 2)"
qc_wait_t_after 5 "$QC_DIR/run2.log" '^serving 0' "$t0" >/dev/null ||
	qc_fail "node 2's probe still serving 5 s after its corosync was killed"
# Node 1 holds proposals for the grace period after node 2 left.
sleep_until $((t0 + token + consensus + grace + 1000))
t1=$(qc_ms)
sleep 2
node1_kept_serving "$t0" "$t1" "node 2 died"
qc_log "ok: node 2 died; node 1 kept quorum, kept serving and keeps delivering"

t2=$(qc_ms)
qc_corosync_start 2
qc_wait_quorate 30 2 || qc_fail "node 2 not quorate again within 30 s"
qc_qdevice_start 2
qc_wait_votes 30 3 1 2 || qc_fail "3 votes not back within 30 s"
t_on=$(qc_wait_t_after 20 "$QC_DIR/run2.log" '^serving 1' "$t2") ||
	qc_fail "node 2's probe not serving again after corosync came back"
qc_log "ok: node 2 back, its probe serving again $((t_on - t2)) ms after corosync restarted"

# --- 2. node 2 cut off from both its peer and qnetd ------------------------
limit=$((token + 2000))
sleep 1
t3=$(qc_ms)
ip -n "$(qc_ns 2)" link set eth0 down || qc_fail "link down"
t_off=$(qc_wait_t_after $((limit / 1000 + 2)) "$QC_DIR/run2.log" '^serving 0' "$t3") ||
	qc_fail "node 2 still serving $((limit / 1000 + 2)) s after it was cut off"
took=$((t_off - t3))
qc_log "node 2, cut off from node 1 and qnetd, stopped serving after $took ms (quorum.device.timeout $qtimeout ms, token $token ms, consensus $consensus ms, limit $limit ms)"
[ "$took" -le "$limit" ] || qc_fail "node 2 took $took ms to stop serving, more than $limit ms"
# Both sides quorate at once meanwhile: what the lease and grace must cover.
# Cut off, node 2 stays quorate on the qdevice's last vote for a while, but
# its grace period outlasts that: it must not apply anything alone (node 1
# applies the other side's history; both would be a split brain).
alone=$(qc_count_after "$QC_DIR/run2.log" '^deliver ' "$((t3 + token))")
[ "$alone" = 0 ] ||
	qc_fail "node 2 delivered $alone proposals alone while quorate on the qdevice's last vote"
qc_log "ok: node 2 delivered nothing alone (grace $grace ms) while quorate on the qdevice's last vote"
sleep_until $((t3 + token + consensus + grace + 1000))
t4=$(qc_ms)
sleep 2
node1_kept_serving "$t3" "$t4" "node 2 was cut off"
qc_log "ok: node 1 kept quorum (qnetd's vote) and keeps serving and delivering"

for i in 1 2; do
	eval "pid=\$RUN_PID_$i"
	qc_alive "$pid" || qc_fail "node $i's probe died"
	kill -TERM "$pid"
	wait "$pid" || qc_fail "node $i's probe exited with status $? on SIGTERM"
done
qc_log "PASS"
exit 0
