#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libiscsi's conformance suite (iscsi-test-cu) against the demo LU, suite by
# suite, destructive tests allowed (--dataloss: the LU is a scratch file) and
# with two initiator names (-i/-I) as the reservation and multipath tests
# need. The demo node listens on two portals, and the MultipathIO suite gets
# the LU's URL through each of them.
#
# Failures are compared with libiscsi-expected-failures.txt by
# libiscsi_compare.py: an unexpected failure fails this test, and so does an
# expected failure that now passes, so the list can only shrink.
#
# Every suite runs, the persistent-reservation ones (ProutRegister,
# ProutReserve, ProutClear, ProutPreempt, PrinReadKeys,
# PrinServiceactionRange, PrinReportCapabilities, Reserve6) included.
# QT_LIBISCSI_SUITES="Read10 Write10" limits the run when debugging.

. "$(dirname "$0")/lib.sh"
qt_require iscsi-test-cu python3 timeout
qt_init libiscsi 10

# Suites to leave out (none today); kept so a suite can be parked with a reason.
SKIP_SUITES=${QT_LIBISCSI_SKIP:-}
SUITE_TIMEOUT=${QT_SUITE_TIMEOUT:-300}

QT_TWO_PORTALS=1
qt_start_demo
url2=iscsi://127.0.0.1:$QT_PORT2/$QT_DEMO_IQN/0

suites=${QT_LIBISCSI_SUITES:-$(iscsi-test-cu -l | awk -F. '$1 == "ALL" && NF == 2 { print $2 }')}
[ -n "$suites" ] || qt_fail "iscsi-test-cu -l lists no suites"

results=$QT_DIR/results
start=$(date +%s)
for suite in $suites; do
	case " $(echo $SKIP_SUITES) " in *" $suite "*) continue ;; esac
	mkdir -p "$results/$suite"
	t0=$(date +%s)
	# The XML report goes to the working directory, one per suite. Run in
	# the background and tracked, so an interrupted test stops it too.
	(cd "$results/$suite" &&
		exec timeout "$SUITE_TIMEOUT" iscsi-test-cu --dataloss -x \
			-i "$QT_INIT1" -I "$QT_INIT2" -t "ALL.$suite" \
			"$QT_URL" "$url2" >stdout 2>stderr) &
	cu=$!
	QT_PIDS="$QT_PIDS $cu"
	wait "$cu"
	echo $? >"$results/$suite/rc"
	QT_PIDS=${QT_PIDS% $cu}
	qt_log "suite $suite: exit $(cat "$results/$suite/rc"), $(($(date +%s) - t0)) s"
	kill -0 "$QT_DAEMON_PID" 2>/dev/null || qt_fail "quorated died during suite $suite"
done
qt_log "all suites: $(($(date +%s) - start)) s"

python3 "$QT_SRCDIR/libiscsi_compare.py" "$results" "$QT_SRCDIR/libiscsi-expected-failures.txt" ||
	qt_fail "iscsi-test-cu results differ from libiscsi-expected-failures.txt (reports in $results)"
qt_alive
qt_log "PASS"
