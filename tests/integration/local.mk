# tests/integration: each test starts its own quorated from the build tree on
# 127.0.0.1 and drives it with real initiators (libiscsi tools, iscsi-test-cu,
# qemu-img/qemu-io, raw python sockets). Exit 77 = skipped because a tool is
# missing. int_libiscsi.sh is listed first so that `make check -j` starts the
# longest test early.
#
# Ports: each test owns the ten ports from QT_PORT_BASE (default 14500) + its
# offset, so tests run in parallel. Offsets in use: discovery 0, libiscsi 10,
# qemu 20, malformed 30, chap_acl 40, lifecycle 50, direct 60, teardown 70,
# pr 80, pipeline 90, admin_ipc 100, admin_lun 110, admin_chap 120,
# admission 130, torn 140, daemon 150, tmf_reset 160, mutate 170,
# acl_evict 180, snapshot 190, pr_admin 200, lun_admin 210, cluster_status 220,
# lun_ops 230, target_session 235, config 240, metrics 245, reload 260,
# login_log 265, portal 270, admin_cli 280;
# tests/packaging/test_packages.sh 250.
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
	%reldir%/int_daemon.sh \
	%reldir%/int_packaging.sh \
	%reldir%/int_torn.py \
	%reldir%/int_admission.py \
	%reldir%/int_admin_ipc.sh \
	%reldir%/int_admin_lun.sh \
	%reldir%/int_admin_chap.sh \
	%reldir%/int_tmf_reset.py \
	%reldir%/int_mutate.py \
	%reldir%/int_acl_evict.sh \
	%reldir%/int_snapshot.py \
	%reldir%/int_pr_admin.py \
	%reldir%/int_lun_admin.py \
	%reldir%/int_cluster_status.py \
	%reldir%/int_lun_ops.py \
	%reldir%/int_target_session.py \
	%reldir%/int_config.py \
	%reldir%/int_metrics.py \
	%reldir%/int_reload.py \
	%reldir%/int_login_log.py \
	%reldir%/int_portal.py \
	%reldir%/int_admin_cli.py

TESTS += $(INTEGRATION_TESTS)

# A libqb server impersonating quorated's admin IPC name (int_admin_ipc.sh).
check_PROGRAMS += %reldir%/ipc_impostor
%canon_reldir%_ipc_impostor_SOURCES = %reldir%/ipc_impostor.c
%canon_reldir%_ipc_impostor_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS)
%canon_reldir%_ipc_impostor_LDADD = $(LIBQB_LIBS)
# A libiscsi initiator answering session logout's Asynchronous Message (int_admin_cli.py).
if HAVE_LIBISCSI
check_PROGRAMS += %reldir%/libiscsi_logout
%canon_reldir%_libiscsi_logout_SOURCES = %reldir%/libiscsi_logout.c
%canon_reldir%_libiscsi_logout_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
%canon_reldir%_libiscsi_logout_LDADD = $(LIBISCSI_LIBS)
endif
EXTRA_DIST += %reldir%/libiscsi_logout.c
EXTRA_DIST += $(INTEGRATION_TESTS) \
	%reldir%/lib.sh \
	%reldir%/iscsi_raw.py \
	%reldir%/qt_daemon.py \
	%reldir%/reinstate.py \
	%reldir%/pty_answer.py \
	%reldir%/libiscsi_compare.py \
	%reldir%/libiscsi-expected-failures.txt
