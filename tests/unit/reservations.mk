# tests/unit/reservations.mk: the PR engine's tests link libreservations.a and
# Check only, which proves the engine needs nothing but libc.
check_PROGRAMS += %reldir%/check_pr
TESTS += %reldir%/check_pr
%canon_reldir%_check_pr_SOURCES = %reldir%/check_pr.c $(CHECK_MAIN)
%canon_reldir%_check_pr_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_pr_LDADD = reservations/libreservations.a $(CHECK_LIBS)

# The same tests plus the access table of every row of daemon/scsi's dispatch
# table, through the SCSI layer's scsi_resv_allows(): libscsi may depend on
# libreservations (DESIGN §2), so this binary links both (+ what libscsi uses).
check_PROGRAMS += %reldir%/check_pr_scsi
TESTS += %reldir%/check_pr_scsi
%canon_reldir%_check_pr_scsi_SOURCES = %reldir%/check_pr.c $(CHECK_MAIN)
%canon_reldir%_check_pr_scsi_CPPFLAGS = $(AM_CPPFLAGS) -DPR_TEST_WITH_SCSI_TABLE
%canon_reldir%_check_pr_scsi_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(CHECK_CFLAGS)
%canon_reldir%_check_pr_scsi_LDADD = daemon/scsi/libscsi.a reservations/libreservations.a \
	daemon/backing/libbacking.a daemon/base/libloop_pass.a $(URING_LIBS) $(LIBQB_LIBS) $(CHECK_LIBS)
