# SPDX-License-Identifier: GPL-2.0-or-later
#
# Three quorated nodes, each beside its corosync in network namespaces
# (lib.sh), serving one LUN on a shared file as one target (DESIGN §3):
#  1. a target, a LUN, ACL entries and CHAP made through node 1's quoratectl
#     (and a second LUN through node 2's) exist on every node: `lun list` on
#     node 3 shows the LUN with the same identity and it defaults to
#     O_DIRECT; a block written through node 3 (CHAP login) reads back
#     through nodes 1 and 2; INQUIRY's serial and device identification are
#     the same through every node (libiscsi's iscsi-inq); node 3 refuses a
#     login without CHAP and one of an initiator not in the ACL; a portal
#     added through node 1 for node 2 is listed by SendTargets through node
#     3 with TPGT 2 and takes a login (and leaves it when removed); one node
#     2 cannot listen on is logged there and listed as not listening;
#  2. PR OUT REGISTER, RESERVE (Write Exclusive - Registrants Only),
#     REGISTER through other nodes, PREEMPT: right after each completes, PR
#     IN READ KEYS, READ RESERVATION and READ FULL STATUS through the other
#     nodes return the same bytes (no sleep, no retry), and each
#     registration names the relative target port of its node; then 200
#     PR OUTs through node 1, each followed at once by READ KEYS through
#     nodes 2 and 3 in parallel: every answer shows the PR OUT;
#     Three initiators add to one counter block with COMPARE AND WRITE
#     through nodes 1, 2 and 3 at once: no increment is lost;
#  3. node 3 killed (SIGKILL to its quorated and corosync) during streams of
#     numbered writes and PR OUT REGISTERs through nodes 1 and 2: every
#     acknowledged write is on the medium and every acknowledged REGISTER in
#     the PR state, the survivors kept serving, their digests are equal;
#     the stall of each stream is logged; node 3, restarted, rejoins with
#     an equal digest; then node 3's quorated alone killed (its corosync
#     stays): a PR OUT through node 1 completes and is in force through
#     node 2, and the daemon restarted rejoins with an equal digest; then
#     node 3's quorated hung (SIGSTOP, its corosync up): a PR OUT through
#     node 1 completes within the grace period and node 3, resumed, has
#     its digest; then node 3 frozen (SIGSTOP to quorated and corosync) past its lease while
#     a WRITE waits in its socket: resumed, it refuses the WRITE (04h/0Ch)
#     before its lease timer ran, rejoins and serves again;
#  4. nodes 2 and 3 killed: node 1 stops serving (its status) and an
#     initiator already logged in to it gets NOT READY, LOGICAL UNIT NOT
#     ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE (04h/0Ch) for READ, WRITE
#     and PR OUT; the refused WRITE is not in the file.
# `quoratectl cluster verify` passes on every running node after each step.
# Skipped (77) without root, corosync or `ip netns`.

. "${QC_SRCDIR:-$(dirname "$0")}/lib.sh"

qc_init cluster
qc_require_daemon

T=iqn.2026-11.org.quorate:cluster
INIT_A=iqn.2026-11.org.quorate:cluster-a
INIT_B=iqn.2026-11.org.quorate:cluster-b
STRANGER=iqn.2026-11.org.quorate:stranger
CHAP_USER=cluster-user
LUN_FILE=

# spec NODE INITIATOR ISID: a session of qc_iscsi.py.
spec()
{
	printf '%s,%s,%s' "$(qc_portal "$1")" "$2" "$3"
}

iscsi()
{
	qc_iscsi --target "$T" --chap-user "$CHAP_USER" --chap-secret-file "$QC_DIR/chap.secret" "$@"
}

status_all()
{
	local i
	for i in "$@"; do
		printf 'node%s: %s; ' "$i" "$(qc_status "$i" transport quorate serving members epoch applied_seq || echo 'no answer')"
	done
}

# check_membership_views SERVING...: what every running node says about the
# others, with the nodes SERVING serving and the rest not: REPORT TARGET
# PORT GROUPS lists every node's group (Active/Optimized while serving,
# Unavailable otherwise), SendTargets lists the portal of every serving
# node with its TPGT, and `quoratectl cluster status` lists every node.
check_membership_views()
{
	local i j want_rtpg='' want_st='' out
	for j in 1 2 3; do
		case " $* " in
		*" $j "*)
			want_rtpg="$want_rtpg --expect $j=active/optimized"
			want_st="$want_st$(qc_portal "$j"):$QC_ISCSI_PORT,$j "
			;;
		*) want_rtpg="$want_rtpg --expect $j=unavailable" ;;
		esac
	done
	for i in "$@"; do
		iscsi rtpg --spec "$(spec "$i" "$INIT_A" 80a1000000e1)" $want_rtpg ||
			qc_defer "REPORT TARGET PORT GROUPS through node $i does not show every node's group as it is (serving: $*)"
		out=$(qc_ini_run timeout 30 iscsi-ls -i "$INIT_A" "iscsi://$(qc_portal "$i")" 2>&1)
		[ "$(printf '%s\n' "$out" | sed -n "s/^Target:$T Portal://p" | sort | tr '\n' ' ')" = "$want_st" ] ||
			qc_defer "SendTargets through node $i: '$(printf '%s' "$out" | tr '\n' ' ')', want the portals $want_st"
		out=$(qc_ctl "$i" --json cluster status 2>&1) &&
			out=$(printf '%s' "$out" | qc_json '
sorted((n.get("id", n.get("node_id")), n.get("serving")) for n in (d if isinstance(d, list) else d.get("nodes", d.get("members", []))) if all(k in n for k in ("name", "serving", "applied_seq", "digest", "portals")))')
		[ "$out" = "[[1, $(serving_of 1 "$@")], [2, $(serving_of 2 "$@")], [3, $(serving_of 3 "$@")]]" ] ||
			qc_defer "quoratectl cluster status on node $i: $(printf '%s' "$out" | tr '\n' ' ')(want every node with id, name, serving, applied_seq, digest, portals)"
	done
}

serving_of()
{
	case " ${*:2} " in *" $1 "*) echo true ;; *) echo false ;; esac
}

qc_net 3
qc_front_net
qc_shared_dir
LUN_FILE=$QC_SHARED/lun0.img
t0=$(qc_ms)
qc_corosync_up 1 2 3
for i in 1 2 3; do
	qc_quorated_start "$i"
done
qc_wait_serving 30 1 2 3 || qc_fail "3 nodes not serving within 30 s: $(status_all 1 2 3)"
qc_timing 1
# The status interface scripts rely on (issue 10): member ids as numbers or
# as objects with an id.
STATUS_CHECK='sorted(k for k in ("transport", "quorate", "serving", "members", "epoch", "applied_seq", "digest") if k not in d) or [d["transport"], d["quorate"], d["serving"], sorted(m if isinstance(m, int) else m.get("id", m.get("node_id")) for m in d["members"])]'
for i in 1 2 3; do
	out=$(qc_ctl "$i" --json status | qc_json "$STATUS_CHECK")
	[ "$out" = '["corosync", true, true, [1, 2, 3]]' ] ||
		qc_defer "node $i: quoratectl --json status lacks or misreports $out (want transport corosync, quorate, serving, members 1 2 3, epoch, applied_seq, digest)"
done
qc_log "3 nodes serving $(($(qc_ms) - t0)) ms after corosync started (token $QC_TOKEN ms, consensus $QC_CONSENSUS ms): $(status_all 1 2 3)"

# --- 1. configuration through one node, present and serving on every node ----
printf 'cluster-chap15\n' >"$QC_DIR/chap.secret"
qc_ctl 1 target create "$T" >/dev/null || qc_fail "target create through node 1"
qc_ctl 1 lun create "$T" --lun 0 --path "$LUN_FILE" --size 64M --thin >/dev/null ||
	qc_fail "lun create through node 1"
for ini in "$INIT_A" "$INIT_B"; do
	qc_ctl 1 acl add "$T" "$ini" >/dev/null || qc_fail "acl add $ini through node 1"
done
qc_ctl 1 chap set "$T" --user "$CHAP_USER" --secret-file "$QC_DIR/chap.secret" >/dev/null ||
	qc_fail "chap set through node 1"
qc_ctl 2 lun create "$T" --lun 1 --path "$QC_SHARED/lun1.img" --size 8M >/dev/null ||
	qc_fail "lun create through node 2"
qc_verify 1 2 3

# The LUN records as node 1 and node 3 list them, without node-local fields.
LUN_FIELDS='[{k: l[k] for k in ("target", "lun", "backing", "path", "size", "block_size", "direct", "thin", "read_only", "uuid", "naa", "serial")} for l in d]'
lun1=$(qc_ctl 1 --json lun list | qc_json "$LUN_FIELDS") || qc_fail "lun list on node 1"
for i in 2 3; do
	lun=$(qc_ctl "$i" --json lun list | qc_json "$LUN_FIELDS") || qc_fail "lun list on node $i"
	[ "$lun" = "$lun1" ] || qc_fail "lun list on node $i: $lun; on node 1: $lun1"
done
online=$(qc_ctl 3 --json lun list | qc_json '[(l["lun"], l["online"], l["direct"]) for l in d]')
[ "$online" = '[[0, true, true], [1, true, true]]' ] ||
	qc_defer "node 3's LUNs (lun, online, direct): $online; want both online with O_DIRECT (the cluster default)"
acls=$(qc_ctl 3 --json acl list "$T" | qc_json 'sorted(a["initiator"] for a in d)')
[ "$acls" = "[\"$INIT_A\", \"$INIT_B\"]" ] || qc_fail "acl list on node 3: $acls"
chap=$(qc_ctl 3 --json chap list | qc_json '[c.get("user") for c in d if c.get("target") == "'"$T"'"]')
[ "$chap" = "[\"$CHAP_USER\"]" ] || qc_fail "chap list on node 3: $chap"
qc_log "ok: target, 2 LUNs, ACL and CHAP made through nodes 1 and 2 are on node 3: $lun1"

iscsi io --write "$(spec 3 "$INIT_A" 80a300000001)" --read "$(spec 1 "$INIT_A" 80a100000001)" \
	--read "$(spec 2 "$INIT_B" 80b200000001)" --lba 8 || qc_fail "I/O through node 3"
st=$(qc_iscsi --target "$T" login-status "$(qc_portal 3)" "$INIT_A") || st=error
[ "$st" != 0x0000 ] || qc_fail "node 3 admitted a login without CHAP"
st=$(iscsi login-status "$(qc_portal 3)" "$STRANGER") || st=error
[ "$st" != 0x0000 ] || qc_fail "node 3 admitted an initiator that is not in the ACL"
qc_log "ok: a block written through node 3 reads back through nodes 1 and 2; node 3 enforces CHAP and the ACL"
secret=$(cat "$QC_DIR/chap.secret")
for page in 0x80 0x83; do
	for i in 1 2 3; do
		qc_ini_run timeout 30 iscsi-inq -i "$INIT_A" -e 1 -c "$page" \
			"iscsi://$CHAP_USER%$secret@$(qc_portal "$i")/$T/0" >"$QC_DIR/inq$page.$i" 2>&1 ||
			qc_fail "iscsi-inq page $page through node $i: $(cat "$QC_DIR/inq$page.$i")"
	done
	for i in 2 3; do
		cmp -s "$QC_DIR/inq$page.1" "$QC_DIR/inq$page.$i" ||
			qc_fail "INQUIRY page $page differs between nodes 1 and $i: $(diff "$QC_DIR/inq$page.1" "$QC_DIR/inq$page.$i" | head -n 6)"
	done
done
qc_log "ok: unit serial number and device identification pages identical through nodes 1, 2 and 3"
check_membership_views 1 2 3
qc_verify 1 2 3
# COMPARE AND WRITE is atomic across nodes (SBC-3 5.3): a counter that three
# initiators increment through three nodes at once loses no increment.
iscsi caw-count --spec "$(spec 1 "$INIT_A" 80a100000005)" --spec "$(spec 2 "$INIT_B" 80b200000005)" \
	--spec "$(spec 3 "$INIT_A" 80a300000005)" --lba 40 --rounds 100 ||
	qc_fail "COMPARE AND WRITE through nodes 1, 2 and 3 at once lost increments"
qc_verify 1 2 3

# A run-time portal added through node 1 for node 2 (a second port on node
# 2's front address): node 2 listens on it and announces it, SendTargets
# through node 3 lists it with TPGT 2 (by node 2's next heartbeat), and an
# initiator logs in through it; removed again, it leaves SendTargets.
EXTRA=$(qc_portal 2):$((QC_ISCSI_PORT + 1))
sendtargets_3()
{
	qc_ini_run timeout 30 iscsi-ls -i "$INIT_A" "iscsi://$(qc_portal 3)" 2>&1
}
qc_ctl 1 portal add "$EXTRA" --node 2 >/dev/null || qc_fail "portal add $EXTRA --node 2 through node 1"
for t in $(seq 50); do
	out=$(sendtargets_3)
	printf '%s\n' "$out" | grep -qx "Target:$T Portal:$EXTRA,2" && break
	sleep 0.1
done
printf '%s\n' "$out" | grep -qx "Target:$T Portal:$EXTRA,2" ||
	qc_fail "SendTargets through node 3 lacks $EXTRA,2 5 s after portal add: $(printf '%s' "$out" | tr '\n' ' ')"
qc_ini_run timeout 30 iscsi-inq -i "$INIT_A" -e 1 "iscsi://$CHAP_USER%$secret@$EXTRA/$T/0" \
	>"$QC_DIR/inq.extra" 2>&1 || qc_fail "login through $EXTRA: $(cat "$QC_DIR/inq.extra")"
listed=$(qc_ctl 3 --json portal list --node 2 | qc_json '[(p["portal"], p["source"], p["listening"]) for p in d]')
[ "$listed" = "[[\"$(qc_portal 2):$QC_ISCSI_PORT\", \"config\", true], [\"$EXTRA\", \"runtime\", true]]" ] ||
	qc_fail "portal list --node 2 on node 3: $listed"
# One node 2 cannot listen on (node 3's address): node 2 logs it at error,
# every node lists it as not listening there.
WRONG=$(qc_portal 3):$((QC_ISCSI_PORT + 2))
qc_ctl 1 portal add "$WRONG" --node 2 >/dev/null || qc_fail "portal add $WRONG --node 2 through node 1"
qc_wait_file_line 5 "$QC_DIR/node2/quorated.1.log" "error: run-time portal $WRONG added for this node .2.: cannot listen" ||
	qc_fail "node 2 did not log that it cannot listen on $WRONG"
for i in 1 2; do
	listed=$(qc_ctl "$i" --json portal list --node 2 | qc_json '[p["listening"] for p in d if p["portal"] == "'"$WRONG"'"]')
	[ "$listed" = '[false]' ] || qc_fail "portal list on node $i shows $WRONG of node 2 as $listed, want not listening"
done
qc_ctl 2 portal remove "$WRONG" >/dev/null || qc_fail "portal remove $WRONG through node 2"
qc_ctl 3 portal remove "$EXTRA" --node 2 >/dev/null || qc_fail "portal remove $EXTRA --node 2 through node 3"
for t in $(seq 50); do
	out=$(sendtargets_3)
	printf '%s\n' "$out" | grep -q "Portal:$EXTRA," || break
	sleep 0.1
done
printf '%s\n' "$out" | grep -q "Portal:$EXTRA," && qc_fail "SendTargets through node 3 still lists $EXTRA after portal remove"
qc_verify 1 2 3
qc_log "ok: a portal added through node 1 for node 2 is in SendTargets through node 3 with TPGT 2 and takes logins; removed, it is gone"

# --- 2. PR OUT through one node, PR IN through the others at once -----------
A1=$(spec 1 "$INIT_A" 80a100000002)
A3=$(spec 3 "$INIT_A" 80a300000002)
B2=$(spec 2 "$INIT_B" 80b200000002)
iscsi pr-step --out "$A1" --sa register --sark 0xa1 --read "$B2" --read "$A3" \
	--expect-keys 0xa1 --expect-reservation none --expect-port 0xa1@1 ||
	qc_fail "REGISTER through node 1, PR IN through nodes 2 and 3"
qc_verify 1 2 3
iscsi pr-step --out "$A1" --sa reserve --rk 0xa1 --type 5 --read "$B2" --read "$A3" \
	--expect-keys 0xa1 --expect-reservation 0xa1/5 ||
	qc_fail "RESERVE through node 1, PR IN through nodes 2 and 3"
qc_verify 1 2 3
iscsi pr-step --out "$B2" --sa register --sark 0xb2 --read "$A1" --read "$A3" \
	--expect-keys 0xa1,0xb2 --expect-reservation 0xa1/5 --expect-port 0xb2@2 ||
	qc_fail "REGISTER through node 2, PR IN through nodes 1 and 3"
qc_verify 1 2 3
iscsi pr-step --out "$A3" --sa register --sark 0xa3 --read "$A1" --read "$B2" \
	--expect-keys 0xa1,0xa3,0xb2 --expect-reservation 0xa1/5 --expect-port 0xa3@3 ||
	qc_fail "REGISTER through node 3, PR IN through nodes 1 and 2"
qc_verify 1 2 3
iscsi pr-step --out "$B2" --sa preempt --rk 0xb2 --sark 0xa1 --type 5 --read "$A1" --read "$A3" \
	--expect-keys 0xa3,0xb2 --expect-reservation 0xb2/5 ||
	qc_fail "PREEMPT through node 2, PR IN through nodes 1 and 3"
qc_verify 1 2 3
qc_log "ok: after each PR OUT, PR IN through the other nodes returned identical bytes at once"
iscsi pr-race --out "$(spec 1 "$INIT_A" 80a100000003)" --read "$(spec 2 "$INIT_B" 80b200000003)" \
	--read "$(spec 3 "$INIT_A" 80a300000003)" --rounds 200 ||
	qc_defer "READ KEYS through nodes 2 and 3 right after a PR OUT completed through node 1 did not always show it (above)"
qc_verify 1 2 3
# A LUN RESET is complete on every node when its response comes (SAM-5 7.7).
iscsi lu-reset --by "$(spec 1 "$INIT_A" 80a100000004)" --read "$(spec 2 "$INIT_B" 80b200000004)" \
	--read "$(spec 3 "$INIT_A" 80a300000004)" ||
	qc_fail "LUN RESET through node 1 was answered before nodes 2 and 3 reset the LU"
qc_verify 1 2 3

# The administrator's view through any node: pr show has the same
# registrants, each with the node it registered through; a LUN resized
# through node 1 has its new size on node 3 when the command returns.
pr1=$(qc_ctl 1 --json pr show "$T" 0) || qc_fail "pr show through node 1"
for i in 2 3; do
	pr=$(qc_ctl "$i" --json pr show "$T" 0) || qc_fail "pr show through node $i"
	[ "$pr" = "$pr1" ] || qc_fail "pr show through node $i differs from node 1's: $pr vs $pr1"
done
nodes=$(printf '%s' "$pr1" | qc_json 'sorted((r["key"], r["node"]) for r in d["registrants"] if r["key"] in (0xa3, 0xb2))')
[ "$nodes" = '[[163, 3], [178, 2]]' ] ||
	qc_fail "pr show's registrants (key, node): $nodes; want 0xa3 through node 3, 0xb2 through node 2"
qc_ctl 1 lun resize "$T" 1 --size 16M >/dev/null || qc_fail "lun resize through node 1"
size=$(qc_ctl 3 --json lun show "$T" 1 | qc_json 'd["size"]') || qc_fail "lun show on node 3"
[ "$size" = 16777216 ] || qc_fail "node 3 shows LUN 1 at $size bytes right after the resize through node 1"
qc_verify 1 2 3
qc_log "ok: pr show is the same through every node, with each registrant's node; a resize through node 1 shows on node 3 at once"

# --- 3. a node killed under streams of writes and PR OUTs -------------------
SA=$(spec 1 "$INIT_A" 80a1000000a1)
SB=$(spec 2 "$INIT_B" 80b2000000b2)
rm -f "$QC_DIR/stop"
iscsi_stream()
{
	qc_ini_spawn "$QC_DIR/stream.$1.out" timeout 300 "$QC_PY" "$QC_SRCDIR/qc_iscsi.py" \
		--target "$T" --chap-user "$CHAP_USER" --chap-secret-file "$QC_DIR/chap.secret" \
		stream --spec "$2" --tag "$1" --ident "$3" --lba-base "$4" --interval 2 \
		--stop-file "$QC_DIR/stop" --log "$QC_DIR/stream.$1.log"
}
iscsi_stream A "$SA" 1 10000
STREAM_A=$QC_SPAWNED
iscsi_stream B "$SB" 2 60000
STREAM_B=$QC_SPAWNED
qc_keep_log "$QC_DIR/stream.A.out"
qc_keep_log "$QC_DIR/stream.B.out"
qc_watch_status 1 "$QC_DIR/watch.1"
WATCH_1=$QC_SPAWNED
qc_watch_status 2 "$QC_DIR/watch.2"
WATCH_2=$QC_SPAWNED
qc_wait_file_line 20 "$QC_DIR/stream.A.log" '^op 30 ' && qc_wait_file_line 20 "$QC_DIR/stream.B.log" '^op 30 ' ||
	qc_fail "the streams did not get going: $(tail -n 3 "$QC_DIR"/stream.*.out)"
t_kill=$(qc_ms)
qc_crash 3
qc_log "node 3 killed (quorated and corosync, SIGKILL)"
# Run on until each stream has completed 30 ops sent after the kill.
for s in A B; do
	end=$(($(qc_ms) + 60000))
	while [ "$(awk -v t="$t_kill" '$1 == "op" && $5 >= t && $7 == "GOOD"' "$QC_DIR/stream.$s.log" | wc -l)" -lt 30 ]; do
		[ "$(qc_ms)" -lt $end ] || qc_fail "stream $s: fewer than 30 ops completed in the 60 s after node 3 was killed: $(tail -n 3 "$QC_DIR/stream.$s.log")"
		qc_alive "$(eval echo "\$STREAM_$s")" || qc_fail "stream $s ended: $(tail -n 5 "$QC_DIR/stream.$s.out")"
		sleep 0.2
	done
done
sleep 1
touch "$QC_DIR/stop"
for p in "$STREAM_A" "$STREAM_B"; do
	wait "$p" || qc_fail "a stream exited with status $?: $(tail -n 5 "$QC_DIR"/stream.*.out)"
done
qc_stop "$WATCH_1"
qc_stop "$WATCH_2"
out=$(iscsi verify-stream --spec "$(spec 1 "$INIT_A" 80a1000000f1)" --t-event "$t_kill" --min-after 30 \
	"$QC_DIR/stream.A.log" "$QC_DIR/stream.B.log") || qc_fail "acknowledged operations lost (above)"
for s in A B; do
	set -- $(printf '%s\n' "$out" | sed -n "s/^stall $s //p")
	qc_log "stream $s (through node $([ $s = A ] && echo 1 || echo 2)): longest gap between completions after the kill $1 ms; the first op sent after the kill completed $2 ms after it"
	refused=$(qc_refused_span "$QC_DIR/stream.$s.log" "$t_kill")
	[ -z "$refused" ] || qc_defer "stream $s after the kill (the survivors must keep serving): $refused"
done
for i in 1 2; do
	off=$(qc_not_serving_span "$QC_DIR/watch.$i" "$t_kill")
	[ -z "$off" ] || qc_defer "node $i did not keep serving after node 3 was killed: $off"
done
qc_wait_converged 10 1 2 || qc_fail "survivors' digests differ: $QC_CONVERGED"
qc_log "ok: no acknowledged op lost; nodes 1 and 2 kept serving; both at applied_seq/digest $QC_CONVERGED"
check_membership_views 1 2
qc_verify 1 2

t_back=$(qc_ms)
qc_corosync_start 3
qc_wait_quorate 30 3 || qc_fail "node 3's corosync not quorate within 30 s of its restart"
qc_quorated_start 3
qc_wait_serving 30 3 || qc_fail "node 3 not serving within 30 s of its restart: $(status_all 1 2 3)"
qc_wait_converged 10 1 2 3 || qc_fail "node 3 rejoined with another state: $QC_CONVERGED"
qc_log "ok: node 3 restarted and serves again $(($(qc_ms) - t_back)) ms later with the cluster's digest ($QC_CONVERGED)"
qc_verify 1 2 3

# The daemon alone dies (its corosync stays a quorate member): a PR OUT
# through node 1 still completes and is in force through node 2 at once,
# and the daemon restarted takes the cluster's state.
t_kill=$(qc_ms)
qc_quorated_kill 3
iscsi pr-step --out "$A1" --sa register --sark 0xa4 --read "$B2" --expect-has-key 0xa4 ||
	qc_fail "REGISTER through node 1 after node 3's quorated was killed"
qc_log "a PR OUT through node 1 completed $(($(qc_ms) - t_kill)) ms after node 3's quorated was killed (corosync on node 3 still up)"
qc_quorated_start 3
qc_wait_serving 30 3 || qc_fail "node 3's restarted quorated not serving within 30 s: $(status_all 1 2 3)"
qc_wait_converged 10 1 2 3 || qc_fail "node 3's restarted quorated has another state: $QC_CONVERGED"
qc_log "ok: node 3's quorated restarted alone serves again with the cluster's digest ($QC_CONVERGED)"
qc_verify 1 2 3

# Node 3's daemon hangs (SIGSTOP) while its corosync keeps it in the
# membership: it acknowledges nothing, but a PR OUT through node 1 waits for
# it no longer than the grace period after it was last heard (its lease has
# lapsed by then); resumed, node 3 applies the PR OUT before it serves again.
grace=$(qc_ctl 1 --json status | qc_json 'd["timing"]["grace_ms"]')
kill -STOP "$(qc_quorated_pid 3)"
t_stop=$(qc_ms)
iscsi pr-step --out "$A1" --sa register-ignore --sark 0xa5 --read "$B2" --expect-has-key 0xa5 ||
	qc_fail "REGISTER through node 1 while node 3's quorated hangs"
took=$(($(qc_ms) - t_stop))
# Silent past the grace period: the others present its group as Unavailable.
iscsi rtpg --spec "$(spec 1 "$INIT_A" 80a1000000e2)" --expect 1=active/optimized \
	--expect 2=active/optimized --expect 3=unavailable ||
	qc_defer "REPORT TARGET PORT GROUPS through node 1 with node 3's daemon hung past the grace period"
# Nor does COMPARE AND WRITE wait for its grant (RUN instead).
iscsi caw-count --spec "$B2" --lba 42 --rounds 3 ||
	qc_fail "COMPARE AND WRITE through node 2 with node 3's daemon hung past the grace period"
kill -CONT "$(qc_quorated_pid 3)"
[ "$took" -le $((grace + 2000)) ] ||
	qc_fail "a PR OUT waited $took ms for node 3's hung daemon (grace $grace ms)"
qc_wait_serving 30 3 || qc_fail "node 3 not serving within 30 s of resuming: $(status_all 1 2 3)"
qc_wait_converged 10 1 2 3 || qc_fail "node 3 resumed with another state: $QC_CONVERGED"
qc_log "ok: with node 3's daemon hung, a PR OUT through node 1 completed after $took ms (grace $grace ms); node 3 resumed with the cluster's digest"
qc_verify 1 2 3

# A node frozen past its lease (its quorated and corosync stopped, as a
# paused VM): the others form a membership without it and may fence its
# initiators once their grace is over. Resumed, its daemon runs the commands
# that queued meanwhile before the timer that ends its serving, so the I/O
# path must compare the lease with the clock itself: the WRITE sent while
# node 3 was frozen is refused when it resumes and is not in the LUN's file.
lease=$(qc_ctl 3 --json status | qc_json 'd["timing"]["lease_ms"]')
F3=$(spec 3 "$INIT_A" 80a3000000d1)
# Registered, so that the reservation in force lets its WRITE through.
iscsi pr-step --out "$F3" --sa register --sark 0xd1 --expect-has-key 0xd1 ||
	qc_fail "REGISTER through node 3 before the freeze"
rm -f "$QC_DIR/ready" "$QC_DIR/go"
qc_ini_spawn "$QC_DIR/frozen.out" timeout 300 "$QC_PY" "$QC_SRCDIR/qc_iscsi.py" \
	--target "$T" --chap-user "$CHAP_USER" --chap-secret-file "$QC_DIR/chap.secret" \
	refused --write-only --spec "$F3" --lba 5100 \
	--ready-file "$QC_DIR/ready" --go-file "$QC_DIR/go"
FROZEN=$QC_SPAWNED
qc_keep_log "$QC_DIR/frozen.out"
qc_wait_ready 30 "$QC_DIR/ready" "$FROZEN" || qc_fail "no session through node 3: $(cat "$QC_DIR/frozen.out")"
kill -STOP "$(qc_quorated_pid 3)" "$(qc_corosync_pid 3)"
sleep "$(((lease + 1000) / 1000)).$(((lease + 1000) % 1000 / 100))"
touch "$QC_DIR/go"
sleep 0.5
kill -CONT "$(qc_quorated_pid 3)" "$(qc_corosync_pid 3)"
wait "$FROZEN" || qc_fail "node 3, frozen past its lease ($lease ms), served a command when it resumed: $(cat "$QC_DIR/frozen.out")"
cat "$QC_DIR/frozen.out" >&2
cmp -s -n 512 -i $((5100 * 512)):0 "$LUN_FILE" /dev/zero ||
	qc_fail "the WRITE sent to node 3 while it was frozen past its lease is in the LUN's file"
qc_wait_serving 30 3 || qc_fail "node 3 not serving within 30 s of resuming: $(status_all 1 2 3)"
qc_wait_converged 10 1 2 3 || qc_fail "node 3 resumed with another state: $QC_CONVERGED"
qc_log "ok: node 3, frozen $((lease + 1000)) ms (lease $lease ms), refused the WRITE that waited for it and serves again"
qc_verify 1 2 3

# --- 4. two of three nodes down: the last one stops serving -----------------
rm -f "$QC_DIR/ready" "$QC_DIR/go"
qc_ini_spawn "$QC_DIR/refused.out" timeout 300 "$QC_PY" "$QC_SRCDIR/qc_iscsi.py" \
	--target "$T" --chap-user "$CHAP_USER" --chap-secret-file "$QC_DIR/chap.secret" \
	refused --spec "$(spec 1 "$INIT_A" 80a1000000c1)" --lba 5000 \
	--ready-file "$QC_DIR/ready" --go-file "$QC_DIR/go"
REFUSED=$QC_SPAWNED
qc_keep_log "$QC_DIR/refused.out"
qc_wait_ready 30 "$QC_DIR/ready" "$REFUSED" || qc_fail "no session through node 1: $(cat "$QC_DIR/refused.out")"
t_down=$(qc_ms)
qc_crash 2
qc_crash 3
qc_wait_change 30 qc_not_serving 1 ||
	qc_fail "node 1 still serving 30 s after nodes 2 and 3 died: $(status_all 1)"
qc_log "node 1, alone, stopped serving between +$((QC_T_BEFORE - t_down)) and +$((QC_T_AFTER - t_down)) ms after nodes 2 and 3 died (token $QC_TOKEN ms, consensus $QC_CONSENSUS ms): $(status_all 1)"
[ "$(qc_status 1 quorate)" = false ] || qc_fail "node 1 alone of 3 reports quorate: $(status_all 1)"
touch "$QC_DIR/go"
wait "$REFUSED" || qc_fail "node 1 did not refuse media access and PR OUT: $(cat "$QC_DIR/refused.out")"
cat "$QC_DIR/refused.out" >&2
cmp -s -n 512 -i $((5000 * 512)):0 "$LUN_FILE" /dev/zero ||
	qc_fail "the WRITE refused by node 1 is in the LUN's file"
qc_log "ok: node 1 without quorum refuses READ, WRITE and PR OUT with 04h/0Ch; the refused WRITE did not reach the file"
qc_alive "$(qc_quorated_pid 1)" || qc_fail "quorated on node 1 died"
qc_quorated_stop 1
qc_pass "$(($(qc_ms) - t0)) ms"
