#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Discovery and INQUIRY through libiscsi's command-line tools against the demo
# target: a SendTargets discovery session (RFC 7143 §12.3), REPORT LUNS behind
# `iscsi-ls -s`, standard INQUIRY (SPC-4 §6.6) and every VPD page that the
# Supported VPD Pages page (SPC-4 §7.8.16) lists, plus the mandatory Unit
# Serial Number and Device Identification pages. An unsupported page must be
# refused with ILLEGAL REQUEST / INVALID FIELD IN CDB, not answered.

. "$(dirname "$0")/lib.sh"
qt_require iscsi-ls iscsi-inq
qt_init discovery 0
qt_start_demo

qt_check "SendTargets discovery" iscsi-ls -i "$QT_INIT1" "$QT_URL_BASE"
printf '%s\n' "$QT_OUT" | grep -q "^Target:$QT_DEMO_IQN Portal:127.0.0.1:$QT_PORT,[0-9]" ||
	qt_fail "iscsi-ls does not list $QT_DEMO_IQN at 127.0.0.1:$QT_PORT: $QT_OUT"

qt_check "discovery + REPORT LUNS" iscsi-ls -s -i "$QT_INIT1" "$QT_URL_BASE"
printf '%s\n' "$QT_OUT" | grep -q '^Lun:0 *Type:DIRECT_ACCESS' ||
	qt_fail "iscsi-ls -s does not show LUN 0 as a disk: $QT_OUT"
# The demo LUN is a 1 GiB file; iscsi-ls prints block size x the LAST LBA of
# READ CAPACITY(10) in whole MiB (not the block count), hence 1023M.
printf '%s\n' "$QT_OUT" | grep -q 'Size:1023M' ||
	qt_fail "iscsi-ls -s does not show the 1 GiB size: $QT_OUT"

qt_check "standard INQUIRY" iscsi-inq -i "$QT_INIT1" "$QT_URL"
for want in 'Peripheral Qualifier:CONNECTED' 'Peripheral Device Type:DIRECT_ACCESS' \
	'ReponseDataFormat:2' 'CmdQue:1'; do
	printf '%s\n' "$QT_OUT" | grep -q "^$want" || qt_fail "INQUIRY lacks '$want': $QT_OUT"
done

qt_check "Supported VPD pages" iscsi-inq -i "$QT_INIT1" -e 1 -c 0 "$QT_URL"
pages=$(printf '%s\n' "$QT_OUT" | sed -n 's/^Page:0x\([0-9a-fA-F][0-9a-fA-F]\) .*/\1/p')
for need in 00 80 83; do
	printf '%s\n' "$pages" | grep -qix "$need" || qt_fail "VPD page 0x$need not listed: $QT_OUT"
done
# iscsi-inq (libiscsi 1.19) decodes only pages 00, 80, 83, b0, b1 and b2; the
# others listed (e.g. 86, Extended INQUIRY Data) are left to iscsi-test-cu.
for p in $pages; do
	case $p in
	00 | 80 | 83 | [bB]0 | [bB]1 | [bB]2) ;;
	*)
		qt_log "note: VPD page 0x$p listed; iscsi-inq cannot decode it"
		continue
		;;
	esac
	qt_check "VPD page 0x$p" iscsi-inq -i "$QT_INIT1" -e 1 -c $((16#$p)) "$QT_URL"
	[ -n "$QT_OUT" ] || qt_fail "VPD page 0x$p printed nothing"
done

qt_check "Unit Serial Number" iscsi-inq -i "$QT_INIT1" -e 1 -c 128 "$QT_URL"
printf '%s\n' "$QT_OUT" | grep -q '^Unit Serial Number:\[ *[^] ]' ||
	qt_fail "empty unit serial number: $QT_OUT"
qt_check "Device Identification" iscsi-inq -i "$QT_INIT1" -e 1 -c 131 "$QT_URL"
printf '%s\n' "$QT_OUT" | grep -q 'Designator Type:(3) NAA' ||
	qt_fail "no NAA designator in page 0x83: $QT_OUT"

# Page 0x99 is reserved in SPC-4 table 589: it must be refused.
qt_check_fails "reserved VPD page refused" iscsi-inq -i "$QT_INIT1" -e 1 -c 153 "$QT_URL"
printf '%s\n' "$QT_OUT" | grep -q 'ILLEGAL_REQUEST.*INVALID_FIELD_IN_CDB' ||
	qt_fail "reserved VPD page: expected INVALID FIELD IN CDB: $QT_OUT"

qt_alive
qt_log "PASS"
