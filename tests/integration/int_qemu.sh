#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# QEMU's libiscsi block driver as an initiator: copy a 64 MiB random image onto
# the demo LU with `qemu-img convert -n` (-n: the iSCSI "file" exists and
# cannot be created), read the same length back with `qemu-img dd`, and compare
# SHA-256 digests. Then qemu-io writes and verifies patterns at both ends of the
# LU (capacity from READ CAPACITY must be exactly the 1 GiB of the demo LU).

. "$(dirname "$0")/lib.sh"
qt_require qemu-img qemu-io sha256sum
qemu-img --help | grep -qw iscsi || qt_skip "qemu-img has no iscsi driver (qemu-block-extra)"
qt_init qemu 20
qt_start_demo

img=$QT_DIR/image.raw
back=$QT_DIR/back.raw
MIB=1048576
IMG_MIB=64
LU_BYTES=$((1024 * MIB))
head -c $((IMG_MIB * MIB)) /dev/urandom >"$img"

qt_check "qemu-img info" qemu-img info -f raw "$QT_URL"
printf '%s\n' "$QT_OUT" | grep -q "virtual size: .*($LU_BYTES bytes)" ||
	qt_fail "qemu-img info does not report $LU_BYTES bytes: $QT_OUT"

qt_check "qemu-img convert to the LU" qemu-img convert -n -f raw -O raw "$img" "$QT_URL"
qt_check "qemu-img dd back" qemu-img dd -f raw -O raw bs=$MIB count=$IMG_MIB \
	"if=$QT_URL" "of=$back"
want=$(sha256sum <"$img" | cut -d' ' -f1)
got=$(sha256sum <"$back" | cut -d' ' -f1)
[ "$want" = "$got" ] || qt_fail "data read back differs: sha256 $got, wrote $want"
qt_log "ok: sha256 of $IMG_MIB MiB matches ($want)"

last=$((LU_BYTES - MIB))
qt_check "pattern at the last MiB" qemu-io -f raw -c "write -P 0x5a $last 1M" \
	-c "read -P 0x5a $last 1M" "$QT_URL"
qt_check "pattern at LBA 0" qemu-io -f raw -c "write -P 0xa5 0 64k" -c "read -P 0xa5 0 64k" "$QT_URL"
qt_check_fails "read verify detects other data" qemu-io -f raw -c "read -P 0x5a 0 64k" "$QT_URL"
printf '%s\n' "$QT_OUT" | grep -q 'Pattern verification failed' ||
	qt_fail "expected a pattern mismatch: $QT_OUT"

qt_alive
qt_log "PASS"
