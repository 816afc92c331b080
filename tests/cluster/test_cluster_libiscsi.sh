# SPDX-License-Identifier: GPL-2.0-or-later
#
# libiscsi's conformance suite (iscsi-test-cu, Debian libiscsi-bin) against
# a 3-node cluster (lib.sh), as tests/integration/int_libiscsi.sh runs it
# against one standalone node: every suite, destructive tests allowed
# (--dataloss, a scratch LUN on the shared file), the first URL on node 1
# and the multipath URL on node 2, so the second initiator name (-I), which
# the reservation tests and MultipathIO use for their second session, logs
# in through node 2 (libiscsi's suite_init and mpath_sd2_get_or_clone). The
# results must match tests/integration/libiscsi-expected-failures.txt, the
# standalone list: every suite that passes standalone passes through the
# cluster, the PR suites and MultipathIO included, but for the tests in
# libiscsi-cluster-expected-failures.txt, each with its reason. The summary
# line is printed; `cluster verify` passes afterwards.
# QC_LIBISCSI_SUITES="ProutRegister MultipathIO" limits the run when debugging.
# Skipped (77) without root, corosync, `ip netns` or iscsi-test-cu.

. "${QC_SRCDIR:-$(dirname "$0")}/lib.sh"

qc_init libiscsi
qc_require_daemon
command -v iscsi-test-cu >/dev/null 2>&1 || qc_skip "iscsi-test-cu not installed (libiscsi-bin)"
T=iqn.2026-11.org.quorate:libiscsi
INIT1=iqn.2026-11.org.quorate:init1
INIT2=iqn.2026-11.org.quorate:init2
SUITE_TIMEOUT=${QC_SUITE_TIMEOUT:-300}

qc_net 3
qc_front_net
qc_shared_dir
t0=$(qc_ms)
qc_corosync_up 1 2 3
qc_quorated_up 1 2 3
# As the standalone demo LU: 1 GiB, sparse, thin, 512-byte blocks.
qc_ctl 1 target create "$T" >/dev/null || qc_fail "target create"
qc_ctl 1 lun create "$T" --lun 0 --path "$QC_SHARED/lun0.img" --size 1G --thin >/dev/null ||
	qc_fail "lun create"
qc_verify 1 2 3
url1=iscsi://$(qc_portal 1)/$T/0
url2=iscsi://$(qc_portal 2)/$T/0

suites=${QC_LIBISCSI_SUITES:-$(iscsi-test-cu -l | awk -F. '$1 == "ALL" && NF == 2 { print $2 }')}
[ -n "$suites" ] || qc_fail "iscsi-test-cu -l lists no suites"
results=$QC_DIR/results
start=$(qc_ms)
for suite in $suites; do
	mkdir -p "$results/$suite"
	ts=$(qc_ms)
	# The XML report goes to the working directory, one per suite.
	(cd "$results/$suite" &&
		exec nsenter --net="/run/netns/$QC_INI_NS" timeout "$SUITE_TIMEOUT" \
			iscsi-test-cu --dataloss -x -V -i "$INIT1" -I "$INIT2" -t "ALL.$suite" \
			"$url1" "$url2" >stdout 2>stderr) &
	cu=$!
	qc_track "$cu"
	wait "$cu"
	echo $? >"$results/$suite/rc"
	qc_log "suite $suite: exit $(cat "$results/$suite/rc"), $(($(qc_ms) - ts)) ms"
	for i in 1 2 3; do
		qc_alive "$(qc_quorated_pid "$i")" || qc_fail "quorated on node $i died during suite $suite"
	done
done
qc_log "all suites: $(($(qc_ms) - start)) ms"
cat "$QT_SRCDIR/libiscsi-expected-failures.txt" "$QC_SRCDIR/libiscsi-cluster-expected-failures.txt" \
	>"$QC_DIR/expected-failures.txt"
out=$("$QC_PY" "$QT_SRCDIR/libiscsi_compare.py" "$results" "$QC_DIR/expected-failures.txt")
rc=$?
printf '%s\n' "$out" >&2
if [ "$rc" != 0 ]; then
	for suite in $suites; do
		[ "$(cat "$results/$suite/rc")" = 0 ] && continue
		qc_log "suite $suite, exit $(cat "$results/$suite/rc"): $(tail -n 5 "$results/$suite/stderr" | tr '\n' ' ')(iscsi-test-cu -V output: $results/$suite/stdout)"
	done
	qc_fail "iscsi-test-cu through the cluster differs from the expected results (libiscsi-expected-failures.txt and libiscsi-cluster-expected-failures.txt)"
fi
qc_log "summary: $(printf '%s\n' "$out" | tail -n 1)"
qc_verify 1 2 3
qc_pass "$(($(qc_ms) - t0)) ms"
