# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Corosync transport (quorum/corosync.c) against three real corosync
# nodes in network namespaces (lib.sh), driven by cluster_probe:
#  1. all three propose concurrently, small messages and some above the
#     64 KiB CPG chunk, node 1 a burst beyond CPG's flow control: every node
#     delivers the same (seq, origin, length, digest) sequence, and each
#     message is the one its origin proposed;
#  2. node 3's link goes down: it reports not serving within token + 2 s
#     (its reach probes find neither node 1 nor node 2: its lease ends after
#     the base lease) and not quorate within token + consensus + 1 s
#     (corosync's runtime values, read by the probe through cmap), while
#     nodes 1 and 2 stay serving (their probes find each other) and keep
#     delivering
#     the same sequence once the grace period after node 3 left is over
#     (nothing is delivered within it); node 3 delivers nothing that the majority did not
#     (CPG hands it its own late sends in its minority configuration: the
#     transport drops them); after the link heals node 3 serves again;
#  3. corosync on node 2 killed with SIGKILL under the running probe: the
#     probe reports not quorate and not serving, stays alive and idle (its
#     CPU time is measured) and serves again once corosync is restarted.
# Skipped (77) without root, corosync or `ip netns`.

. "${QC_SRCDIR:-$(dirname "$0")}/lib.sh"

: "${QC_PROBE:=$PWD/tests/cluster/cluster_probe}"

qc_init transport
[ -x "$QC_PROBE" ] || qc_fail "cluster_probe not built at $QC_PROBE"

qc_net 3
for i in 1 2 3; do
	qc_corosync_start "$i"
done
qc_wait_quorate 30 1 2 3 || qc_fail "3 nodes not quorate within 30 s"
qc_log "3 nodes quorate"

# --- 1. concurrent proposals, agreed order, large messages -----------------
# Node 1 starts with a burst of 8 MB at once.
COUNT=40
BIG=200000
for i in 1 2 3; do
	burst=0
	[ "$i" = 1 ] && burst=40
	qc_node_spawn "$i" "$QC_DIR/order$i.log" "$QC_PROBE" --group order --count $COUNT \
		--interval 20 --big-every 7 --big $BIG --members 3 --exit-after $((3 * COUNT)) \
		--burst $burst
	eval "ORDER_PID_$i=$QC_SPAWNED"
done
for t in $(seq 600); do
	qc_alive "$ORDER_PID_1" || qc_alive "$ORDER_PID_2" || qc_alive "$ORDER_PID_3" || break
	sleep 0.1
done
for i in 1 2 3; do
	eval "pid=\$ORDER_PID_$i"
	qc_alive "$pid" && qc_fail "node $i: probe did not deliver $((3 * COUNT)) messages in 60 s"
	wait "$pid" || qc_fail "node $i: probe exited with status $? ($(cat "$QC_DIR/order$i.log.err"))"
	[ "$(qc_deliveries "$QC_DIR/order$i.log" | wc -l)" = $((3 * COUNT)) ] ||
		qc_fail "node $i: $(qc_deliveries "$QC_DIR/order$i.log" | wc -l) deliveries, want $((3 * COUNT))"
done
qc_deliveries "$QC_DIR/order1.log" >"$QC_DIR/order1.seq"
for i in 2 3; do
	qc_deliveries "$QC_DIR/order$i.log" >"$QC_DIR/order$i.seq"
	cmp -s "$QC_DIR/order1.seq" "$QC_DIR/order$i.seq" ||
		qc_fail "nodes 1 and $i delivered different sequences: $(diff "$QC_DIR/order1.seq" "$QC_DIR/order$i.seq" | head -n 4)"
done
# Sequence numbers 1..120 without gaps (no sync: every probe starts at 0).
awk '{ sub("seq=", "", $2); if ($2 != NR) { print "gap at " NR; exit 1 } }' \
	"$QC_DIR/order1.seq" || qc_fail "sequence numbers not contiguous"
# Each origin's messages arrive whole, in the order it proposed them.
for i in 1 2 3; do
	grep '^proposed ' "$QC_DIR/order$i.log" | sed 's/.* len=\([0-9]*\) digest=\([0-9a-f]*\).*/\1 \2/' \
		>"$QC_DIR/proposed$i"
	grep " origin=$i " "$QC_DIR/order1.seq" | sed 's/.* len=\([0-9]*\) digest=\([0-9a-f]*\).*/\1 \2/' \
		>"$QC_DIR/got$i"
	cmp -s "$QC_DIR/proposed$i" "$QC_DIR/got$i" ||
		qc_fail "node $i's proposals were not delivered as proposed"
done
big=$(grep -c " len=$BIG " "$QC_DIR/order1.seq")
[ "$big" -ge 40 ] || qc_fail "only $big messages of $BIG bytes delivered"
qc_log "ok: 3 nodes proposing concurrently delivered the same $((3 * COUNT)) messages in the same order ($big of $BIG bytes, whole)"

# --- 2. a node's link goes down ---------------------------------------------
for i in 1 2 3; do
	qc_node_spawn "$i" "$QC_DIR/run$i.log" "$QC_PROBE" --group run --count 0 \
		--interval 20 --members 3
	eval "RUN_PID_$i=$QC_SPAWNED"
done
for i in 1 2 3; do
	qc_wait_file_line 15 "$QC_DIR/run$i.log" '^proposed ' ||
		qc_fail "node $i: probe not proposing within 15 s"
done
token=$(sed -n 's/^start .*token_ms=\([0-9]*\).*/\1/p' "$QC_DIR/run3.log")
consensus=$(sed -n 's/^start .*consensus_ms=\([0-9]*\).*/\1/p' "$QC_DIR/run3.log")
[ -n "$token" ] && [ "$token" -gt 0 ] || qc_fail "probe did not read totem.token from cmap"
limit=$((token + 2000))
qlimit=$((token + consensus + 1000))
sleep 1
t0=$(qc_ms)
ip -n "$(qc_ns 3)" link set eth0 down || qc_fail "link down"
qc_wait_file_line 10 "$QC_DIR/run3.log" '^serving 0' || qc_fail "node 3 still serving 10 s after its link went down"
t_off=$(qc_last_t "$QC_DIR/run3.log" '^serving 0')
took=$((t_off - t0))
qc_log "node 3 stopped serving $took ms after its link went down (token $token ms, consensus $consensus ms, limit $limit ms)"
[ "$took" -le "$limit" ] || qc_fail "node 3 took $took ms to stop serving, more than $limit ms"
qc_wait_file_line 10 "$QC_DIR/run3.log" '^quorum 0' || qc_fail "node 3 did not report the loss of quorum"
took=$(($(qc_last_t "$QC_DIR/run3.log" '^quorum 0') - t0))
qc_log "node 3 lost quorum $took ms after its link went down (limit $qlimit ms)"
[ "$took" -le "$qlimit" ] || qc_fail "node 3 took $took ms to lose quorum, more than $qlimit ms"
# The majority holds proposals for the grace period after node 3 left
# (DESIGN §3), then delivers again.
grace=$(sed -n 's/^start .*grace_ms=\([0-9]*\).*/\1/p' "$QC_DIR/run1.log")
[ -n "$grace" ] && [ "$grace" -gt "$token" ] || qc_fail "probe reports no grace period above the token"
sleep_ms=$((t0 + token + consensus + grace + 1000 - $(qc_ms)))
[ "$sleep_ms" -gt 0 ] && sleep "$((sleep_ms / 1000)).$(printf %03d $((sleep_ms % 1000)))"
t_left=$(qc_first_t_after "$QC_DIR/run1.log" '^confchg .* left=3 ' "$t0")
[ -n "$t_left" ] || qc_fail "node 1 saw no configuration change with node 3 leaving"
t_grace=$(qc_first_t_after "$QC_DIR/run1.log" '^deliver ' "$t_left")
[ -n "$t_grace" ] || qc_fail "node 1 delivered nothing after the grace period"
[ $((t_grace - t_left)) -ge $((grace - 50)) ] ||
	qc_fail "node 1 delivered $((t_grace - t_left)) ms after node 3 left, within the $grace ms grace period"
qc_log "ok: the majority's first delivery came $((t_grace - t_left)) ms after node 3 left (grace $grace ms)"
t1=$(qc_ms)
sleep 2
for i in 1 2; do
	grep -q '^serving 0' "$QC_DIR/run$i.log" && qc_fail "node $i stopped serving when node 3 was cut off"
	n=$(qc_count_after "$QC_DIR/run$i.log" '^deliver ' "$t1")
	[ "$n" -gt 0 ] || qc_fail "node $i delivered nothing after node 3 was cut off"
done
qc_deliveries "$QC_DIR/run1.log" >"$QC_DIR/run1.seq"
qc_deliveries "$QC_DIR/run2.log" >"$QC_DIR/run2.seq"
n=$(wc -l <"$QC_DIR/run2.seq")
head -n "$n" "$QC_DIR/run1.seq" | cmp -s - "$QC_DIR/run2.seq" ||
	{ n=$(wc -l <"$QC_DIR/run1.seq"); head -n "$n" "$QC_DIR/run2.seq" | cmp -s - "$QC_DIR/run1.seq"; } ||
	qc_fail "nodes 1 and 2 delivered different sequences"
qc_deliveries "$QC_DIR/run3.log" >"$QC_DIR/run3.seq"
n=$(wc -l <"$QC_DIR/run3.seq")
head -n "$n" "$QC_DIR/run1.seq" | cmp -s - "$QC_DIR/run3.seq" ||
	qc_fail "node 3's deliveries before the cut are not those of node 1"
qc_log "ok: nodes 1 and 2 stayed serving and kept delivering the same sequence; node 3's is a prefix of it"

t2=$(qc_ms)
ip -n "$(qc_ns 3)" link set eth0 up || qc_fail "link up"
t_on=$(qc_wait_t_after 15 "$QC_DIR/run3.log" '^serving 1' "$t2") ||
	qc_fail "node 3 not serving again 15 s after its link came back"
qc_log "ok: node 3 serves again $((t_on - t2)) ms after its link came back"

# --- 3. corosync killed under a running probe ------------------------------
qc_alive "$RUN_PID_2" || qc_fail "node 2's probe died"
t3=$(qc_ms)
kill -KILL "$(qc_corosync_pid 2)"
qc_stop "$(qc_corosync_pid 2)"
t_off=$(qc_wait_t_after 5 "$QC_DIR/run2.log" '^serving 0' "$t3") ||
	qc_fail "node 2's probe still serving 5 s after corosync was killed"
[ -n "$(qc_first_t_after "$QC_DIR/run2.log" '^quorum 0' "$t3")" ] ||
	qc_fail "node 2's probe did not report the loss of quorum"
qc_log "node 2's probe stopped serving $((t_off - t3)) ms after corosync was killed"
# Without corosync the probe only waits for its reconnect timer (100 ms
# doubling to 5 s): in 4 s it may use far less than 0.5 s of CPU.
c0=$(qc_cpu_ticks "$RUN_PID_2") || qc_fail "node 2's probe died after corosync was killed"
sleep 4
c1=$(qc_cpu_ticks "$RUN_PID_2") || qc_fail "node 2's probe died without corosync"
hz=$(getconf CLK_TCK)
[ $((c1 - c0)) -lt $((hz / 2)) ] ||
	qc_fail "node 2's probe used $((c1 - c0)) ticks of CPU in 4 s without corosync (spinning)"
qc_log "ok: without corosync the probe stayed alive and used $((c1 - c0)) of $((4 * hz)) CPU ticks"
t4=$(qc_ms)
qc_corosync_start 2
t_on=$(qc_wait_t_after 20 "$QC_DIR/run2.log" '^serving 1' "$t4") ||
	qc_fail "node 2's probe not serving 20 s after corosync restarted"
qc_wait_t_after 3 "$QC_DIR/run2.log" '^deliver ' "$t_on" >/dev/null ||
	qc_fail "node 2's probe delivers nothing after reconnecting"
qc_log "ok: node 2's probe reconnected and serves again $((t_on - t4)) ms after corosync was restarted"

for i in 1 2 3; do
	eval "pid=\$RUN_PID_$i"
	qc_alive "$pid" || qc_fail "node $i's probe died"
	kill -TERM "$pid"
	wait "$pid" || qc_fail "node $i's probe exited with status $? on SIGTERM"
	grep -q '^exit ' "$QC_DIR/run$i.log" || qc_fail "node $i's probe did not exit cleanly on SIGTERM"
done
qc_log "PASS"
exit 0
