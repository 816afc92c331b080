# SPDX-License-Identifier: GPL-2.0-or-later
#
# A partition of a 3-node cluster (lib.sh, qc_partition): node 3's
# interconnect link goes down (`ip link set eth0 down` in its namespace)
# while its iSCSI portal stays reachable and an initiator keeps writing
# numbered blocks through it. Within token + 2 s (corosync's runtime token,
# read with corosync-cmapctl; its reach probes find neither node 1 nor node
# 2, so its lease ends after the base lease, before it would lose quorum at
# token + consensus) node 3 reports not serving and refuses media
# access and PR OUT with NOT READY 04h/0Ch, its port group Unavailable;
# nodes 1 and 2 keep serving and PREEMPT the initiator's key; no write
# through node 3 is acknowledged after the PREEMPT was; the medium holds
# exactly the acknowledged writes; healed, node 3 converges to the
# majority's state. Before the cut, `quoratectl status` shows the leases
# and grace derived from corosync's timeouts (qc_check_leases). Skipped (77)
# without root, corosync or `ip netns`.

. "${QC_SRCDIR:-$(dirname "$0")}/lib.sh"

qc_init partition
qc_require_daemon
QC_TARGET=iqn.2026-11.org.quorate:partition

qc_net 3
qc_front_net
qc_shared_dir
t0=$(qc_ms)
qc_corosync_up 1 2 3
qc_quorated_up 1 2 3
qc_ctl 1 target create "$QC_TARGET" >/dev/null || qc_fail "target create"
qc_ctl 1 lun create "$QC_TARGET" --lun 0 --path "$QC_SHARED/lun0.img" --size 64M >/dev/null ||
	qc_fail "lun create"
qc_verify 1 2 3
qc_timing 3
qc_check_leases 3
qc_log "3 nodes serving (token $QC_TOKEN ms, consensus $QC_CONSENSUS ms; lease $QC_LEASE_BASE ms, $QC_LEASE ms with the majority reached)"

qc_partition 3 $((QC_TOKEN + 2000)) 1 2
qc_pass "$(($(qc_ms) - t0)) ms"
