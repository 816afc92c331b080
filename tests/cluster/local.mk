# tests/cluster: real corosync nodes in Linux network namespaces on this
# machine (DESIGN §8, tests/cluster/lib.sh). Run as root when corosync and
# `ip netns` are available; otherwise each test exits 77 and says why.
# Addresses 198.18.0.0/24 inside namespaces only; nothing on loopback ports.
CLUSTER_TESTS = \
	%reldir%/test_transport.sh \
	%reldir%/test_qdevice.sh \
	%reldir%/test_cluster.sh \
	%reldir%/test_cluster_partition.sh \
	%reldir%/test_cluster_qnetd.sh \
	%reldir%/test_cluster_libiscsi.sh

TESTS += $(CLUSTER_TESTS)
EXTRA_DIST += $(CLUSTER_TESTS) %reldir%/lib.sh %reldir%/qc_iscsi.py \
	%reldir%/libiscsi-cluster-expected-failures.txt

# Drives the Corosync transport inside one node: links libquorum, libqb and
# the corosync client libraries only.
check_PROGRAMS += %reldir%/cluster_probe
%canon_reldir%_cluster_probe_SOURCES = %reldir%/cluster_probe.c
%canon_reldir%_cluster_probe_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS)
%canon_reldir%_cluster_probe_LDADD = $(QUORUM_LIBS)

AM_TESTS_ENVIRONMENT += \
	QC_PROBE='$(abs_top_builddir)/tests/cluster/cluster_probe'; \
	QC_SRCDIR='$(abs_top_srcdir)/tests/cluster'; \
	export QC_PROBE QC_SRCDIR;

# One cluster test at a time, in this order, even under `make -j`: their
# timing bounds (token + 2 s, the lease against the grace period) are
# measured on a machine they would otherwise share with each other's
# corosync nodes and daemons. Each waits only for the tests before it that
# run (TESTS=... runs one alone); the test driver succeeds whatever the
# test's result, so a failure does not keep the next test from running.
cluster_after = $(patsubst %.sh,%.log,$(filter $(1),$(TESTS)))
%reldir%/test_qdevice.log: $(call cluster_after,%reldir%/test_transport.sh)
%reldir%/test_cluster.log: $(call cluster_after,%reldir%/test_qdevice.sh)
%reldir%/test_cluster_partition.log: $(call cluster_after,%reldir%/test_cluster.sh)
%reldir%/test_cluster_qnetd.log: $(call cluster_after,%reldir%/test_cluster_partition.sh)
%reldir%/test_cluster_libiscsi.log: $(call cluster_after,%reldir%/test_cluster_qnetd.sh)
