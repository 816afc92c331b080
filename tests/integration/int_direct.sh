#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# O_DIRECT LUs (quoratectl lun create --direct): the commands that read back
# into the SCSI layer's scratch buffers or write from the middle of the
# Data-Out buffer (COMPARE AND WRITE, ORWRITE, VERIFY with BYTCHK, WRITE SAME
# of a non-zero pattern) must hand the backing store BACKING_BUF_ALIGN-aligned
# buffers, or O_DIRECT refuses them (-EINVAL, seen by the initiator as MEDIUM
# ERROR). libiscsi's suites for those commands run against a 512-byte-block
# LU (where COMPARE AND WRITE's write half starts 512 bytes into the buffer)
# and a 4096-byte-block one, both backed by files opened with O_DIRECT.
#
# The files live under /var/tmp: tmpfs (often /tmp) has no O_DIRECT.

. "$(dirname "$0")/lib.sh"
qt_require iscsi-test-cu python3 timeout
TMPDIR=/var/tmp qt_init direct 60
[ -x "$QUORATECTL" ] || qt_fail "quoratectl not built at $QUORATECTL"

DIRECT_IQN=iqn.2026-11.org.quorate:direct
SUITES="CompareAndWrite OrWrite Verify10 Verify16 WriteSame10 WriteSame16 Read10 Write10"

# O_DIRECT must work where the files go, or the test says so and skips.
probe=$QT_DIR/probe
dd if=/dev/zero of="$probe" bs=4096 count=1 oflag=direct status=none 2>/dev/null ||
	qt_skip "the file system of $QT_DIR does not support O_DIRECT"
rm -f "$probe"

qt_start_demo
qt_check "create target $DIRECT_IQN" qt_ctl target create "$DIRECT_IQN"
qt_check "512-byte O_DIRECT LUN" qt_ctl lun create "$DIRECT_IQN" --lun 0 --backing file \
	--path "$QT_DIR/direct512.img" --size 64M --block-size 512 --direct
qt_check "4096-byte O_DIRECT LUN" qt_ctl lun create "$DIRECT_IQN" --lun 1 --backing file \
	--path "$QT_DIR/direct4k.img" --size 64M --block-size 4096 --direct
qt_check "lun list shows direct" qt_ctl --json lun list "$DIRECT_IQN"
python3 -c 'import json, sys
luns = json.loads(sys.argv[1])
luns = luns.get("luns", luns) if isinstance(luns, dict) else luns
assert len(luns) == 2 and all(l.get("direct") is True for l in luns), luns' "$QT_OUT" ||
	qt_fail "LUNs not reported as direct: $QT_OUT"

results=$QT_DIR/results
for lun in 0 1; do
	url=$QT_URL_BASE/$DIRECT_IQN/$lun
	for suite in $SUITES; do
		dir=$results/$lun/$suite
		mkdir -p "$dir"
		(cd "$dir" && exec timeout 300 iscsi-test-cu --dataloss -x -i "$QT_INIT1" \
			-I "$QT_INIT2" -t "ALL.$suite" "$url" >stdout 2>stderr) &
		cu=$!
		qt_track "$cu"
		wait "$cu"
		echo $? >"$dir/rc"
		QT_PIDS=${QT_PIDS% $cu}
		qt_log "LUN $lun suite $suite: exit $(cat "$dir/rc")"
		qt_alive
	done
	# No expected failures: every test of these suites passes on O_DIRECT.
	python3 "$QT_SRCDIR/libiscsi_compare.py" "$results/$lun" /dev/null ||
		qt_fail "iscsi-test-cu failures on O_DIRECT LUN $lun (reports in $results/$lun)"
done
qt_alive
qt_log "PASS"
