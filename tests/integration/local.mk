# tests/integration: each test starts its own quorated from the build tree on
# 127.0.0.1 (ports 14500-14599, see lib.sh) and drives it with real initiators
# (libiscsi tools, iscsi-test-cu, qemu-img/qemu-io, raw python sockets). Exit
# 77 = skipped because a tool is missing. int_libiscsi.sh is listed first so
# that `make check -j` starts the longest test early.
INTEGRATION_TESTS = \
	%reldir%/int_libiscsi.sh \
	%reldir%/int_discovery.sh \
	%reldir%/int_qemu.sh \
	%reldir%/int_malformed.py \
	%reldir%/int_chap_acl.sh \
	%reldir%/int_lifecycle.sh \
	%reldir%/int_direct.sh \
	%reldir%/int_teardown.sh \
	%reldir%/int_pr.py \
	%reldir%/int_pipeline.py \
	%reldir%/int_tmf_reset.py \
	%reldir%/int_mutate.py \
	%reldir%/int_acl_evict.sh

TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) \
	%reldir%/lib.sh \
	%reldir%/iscsi_raw.py \
	%reldir%/qt_daemon.py \
	%reldir%/reinstate.py \
	%reldir%/libiscsi_compare.py \
	%reldir%/libiscsi-expected-failures.txt
