# SPDX-License-Identifier: GPL-2.0-or-later
#
# Two quorated nodes + corosync-qdevice, with corosync-qnetd on node 3 as
# the tie-breaker (DESIGN §3, §8; the set-up of test_qdevice.sh):
#  0. `quoratectl status` shows the leases and grace derived from corosync's
#     timeouts, the qdevice's included (qc_check_leases);
#  1. node 2 cut off from both node 1 and qnetd (its interconnect link goes
#     down) while an initiator keeps writing through node 2 (lib.sh,
#     qc_partition): node 2 stops serving within token + 2 s (its own
#     heartbeats stop being delivered and its reach probes find neither
#     node 1 nor qnetd, so its lease ends after the base lease, although it
#     may stay quorate through the qdevice's last vote for up to
#     quorum.device.timeout + token + consensus, DESIGN §8) and refuses media
#     access and PR OUT with 04h/0Ch; node 1 keeps serving and PREEMPTs the
#     initiator's key; no write through node 2 is acknowledged after the
#     PREEMPT was; the medium holds exactly the acknowledged writes; healed,
#     node 2 converges;
#  2. node 2 killed (quorated, corosync and corosync-qdevice, SIGKILL)
#     during streams of writes and PR OUT REGISTERs through node 1: node 1
#     keeps serving (qnetd's vote) and loses no acknowledged operation; the
#     stall is logged.
# Skipped (77) without root, corosync, qnetd/qdevice or `ip netns`.

. "${QC_SRCDIR:-$(dirname "$0")}/lib.sh"

qc_init qnetd
qc_require_daemon
QC_TARGET=iqn.2026-11.org.quorate:qnetd

qc_net 3
qc_front_net
qc_shared_dir
t0=$(qc_ms)
qc_qnetd_setup 3 1 2
qc_corosync_up 1 2
qc_qdevice_up 1 2
for i in 1 2; do
	qc_quorated_start "$i"
done
qc_wait_serving 30 1 2 || qc_fail "nodes 1 and 2 not serving within 30 s"
qc_ctl 1 target create "$QC_TARGET" >/dev/null || qc_fail "target create"
qc_ctl 1 lun create "$QC_TARGET" --lun 0 --path "$QC_SHARED/lun0.img" --size 64M >/dev/null ||
	qc_fail "lun create"
qc_verify 1 2
qc_timing 2
qc_check_leases 2
qc_log "2 nodes + qdevice serving (token $QC_TOKEN ms, consensus $QC_CONSENSUS ms, quorum.device.timeout $QC_QDEVICE_TIMEOUT ms; lease $QC_LEASE_BASE ms, $QC_LEASE ms with the majority reached)"

# --- 1. node 2 cut off from its peer and from qnetd ------------------------
qc_partition 2 $((QC_TOKEN + 2000)) 1
qc_wait_votes 30 3 1 2 || qc_fail "3 votes not back within 30 s of healing"

# --- 2. node 2 dies: node 1 keeps serving ----------------------------------
rm -f "$QC_DIR/stop"
qc_ini_spawn "$QC_DIR/stream.out" timeout 300 "$QC_PY" "$QC_SRCDIR/qc_iscsi.py" --target "$QC_TARGET" \
	stream --spec "$(qc_portal 1),iqn.2026-11.org.quorate:qnetd-a,80a1000000a1" --tag A --ident 1 \
	--lba-base 10000 --interval 2 --stop-file "$QC_DIR/stop" --log "$QC_DIR/stream.log"
STREAM=$QC_SPAWNED
qc_keep_log "$QC_DIR/stream.out"
qc_watch_status 1 "$QC_DIR/watch.1"
WATCH=$QC_SPAWNED
qc_wait_file_line 20 "$QC_DIR/stream.log" '^op 30 ' || qc_fail "the stream did not get going: $(tail -n 3 "$QC_DIR/stream.out")"
t_kill=$(qc_ms)
qc_crash 2
qc_log "node 2 killed (quorated, corosync and corosync-qdevice, SIGKILL)"
end=$(($(qc_ms) + 60000))
while [ "$(awk -v t="$t_kill" '$1 == "op" && $5 >= t && $7 == "GOOD"' "$QC_DIR/stream.log" | wc -l)" -lt 30 ]; do
	[ "$(qc_ms)" -lt $end ] || qc_fail "fewer than 30 ops completed through node 1 in the 60 s after node 2 died: $(tail -n 3 "$QC_DIR/stream.log")"
	qc_alive "$STREAM" || qc_fail "the stream ended: $(tail -n 5 "$QC_DIR/stream.out")"
	sleep 0.2
done
# Past the point where corosync has surely noticed (token + consensus).
sleep $(((QC_TOKEN + QC_CONSENSUS) / 1000 + 2))
touch "$QC_DIR/stop"
wait "$STREAM" || qc_fail "the stream exited with status $?: $(tail -n 5 "$QC_DIR/stream.out")"
qc_stop "$WATCH"
out=$(qc_iscsi --target "$QC_TARGET" verify-stream --spec "$(qc_portal 1),iqn.2026-11.org.quorate:qnetd-a,80a1000000f1" \
	--t-event "$t_kill" --min-after 30 "$QC_DIR/stream.log") || qc_fail "acknowledged operations lost (above)"
set -- $(printf '%s\n' "$out" | sed -n "s/^stall A //p")
qc_log "stream through node 1: longest gap between completions after the kill $1 ms; the first op sent after the kill completed $2 ms after it"
refused=$(qc_refused_span "$QC_DIR/stream.log" "$t_kill")
[ -z "$refused" ] || qc_defer "the stream through node 1 after node 2 died (node 1 must keep serving): $refused"
off=$(qc_not_serving_span "$QC_DIR/watch.1" "$t_kill")
[ -z "$off" ] || qc_defer "node 1 did not keep serving after node 2 died: $off"
[ "$(qc_status 1 quorate serving)" = "true true" ] || qc_fail "node 1 after node 2 died: $(qc_status 1 quorate serving)"
qc_log "ok: node 2 died; node 1 serves with qnetd's vote and lost no acknowledged op"
qc_verify 1
qc_quorated_stop 1
qc_pass "$(($(qc_ms) - t0)) ms"
