# daemon/iscsi/local.mk: libiscsi.a, the iSCSI server (RFC 7143, ERL 0) on the
# qb_loop: portals, connections (rx state machine, batched tx), sessions and
# the CmdSN window, SCSI command/Data-Out/R2T/Data-In, task management. Uses
# libiscsiproto.a (proto.mk) for the pure protocol pieces and reaches the SCSI
# layer only through daemon/scsi/scsi.h.
noinst_LIBRARIES += %reldir%/libiscsi.a
%canon_reldir%_libiscsi_a_SOURCES = \
	%reldir%/iscsi.h \
	%reldir%/iscsi_int.h \
	%reldir%/server.c \
	%reldir%/portal.c \
	%reldir%/admit.c \
	%reldir%/conn.c \
	%reldir%/conn_tx.c \
	%reldir%/conn_ctl.c \
	%reldir%/conn_login.c \
	%reldir%/discovery.c \
	%reldir%/session.c \
	%reldir%/scsi_cmd.c \
	%reldir%/tmf.c
%canon_reldir%_libiscsi_a_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS)

# Link line of the unit tests of libiscsi.a: the server with the real SCSI layer.
ISCSI_SERVER_TEST_LIBS = %reldir%/libiscsi.a $(ISCSIPROTO_LIBS) \
	daemon/scsi/libscsi.a reservations/libreservations.a daemon/backing/libbacking.a daemon/base/libloop_pass.a \
	$(URING_LIBS) $(LIBQB_LIBS) $(CHECK_LIBS)

# Unit tests of libiscsi.a: the server on a real loop with the
# real SCSI layer on a null store, driven by a forked raw-PDU client over
# loopback (first free TCP port of 14150-14199).
check_PROGRAMS += tests/unit/check_iscsiconn
TESTS += tests/unit/check_iscsiconn
tests_unit_check_iscsiconn_SOURCES = tests/unit/check_iscsiconn.c $(CHECK_MAIN)
tests_unit_check_iscsiconn_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_iscsiconn_LDADD = $(ISCSI_SERVER_TEST_LIBS)
# test_steady_state_no_alloc counts the heap calls of the statically linked
# code: each wrapped function goes through a counting __wrap_X in the test.
# strdup/strndup are wrapped themselves (glibc's own malloc call inside them
# is not redirected); the libqb calls allocate inside libqb.
tests_unit_check_iscsiconn_LDFLAGS = $(AM_LDFLAGS) \
	-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=reallocarray \
	-Wl,--wrap=posix_memalign,--wrap=aligned_alloc,--wrap=strdup,--wrap=strndup \
	-Wl,--wrap=qb_loop_job_add,--wrap=qb_loop_timer_add,--wrap=qb_loop_poll_add

# The portal table behind SendTargets (discovery.c) against a real server and
# real targets, without sockets.
check_PROGRAMS += tests/unit/check_iscsi_discovery
TESTS += tests/unit/check_iscsi_discovery
tests_unit_check_iscsi_discovery_SOURCES = tests/unit/check_iscsi_discovery.c $(CHECK_MAIN)
tests_unit_check_iscsi_discovery_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_iscsi_discovery_LDADD = $(ISCSI_SERVER_TEST_LIBS)
