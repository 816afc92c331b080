# tests/unit/scsi.mk: the SCSI layer's tests link only libscsi + libbacking
# + libreservations (+ liburing through libbacking) and libqb, so a reach into another module
# fails to link. LUs run on the null store and on temp files with a real loop.
SCSI_TEST_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(CHECK_CFLAGS)
SCSI_TEST_LDADD = daemon/scsi/libscsi.a daemon/backing/libbacking.a daemon/base/libloop_pass.a reservations/libreservations.a \
	$(URING_LIBS) $(LIBQB_LIBS) $(CHECK_LIBS)

check_PROGRAMS += %reldir%/check_scsi_cdb %reldir%/check_scsi_sense %reldir%/check_scsi_lu
TESTS += %reldir%/check_scsi_cdb %reldir%/check_scsi_sense %reldir%/check_scsi_lu

%canon_reldir%_check_scsi_cdb_SOURCES = %reldir%/check_scsi_cdb.c %reldir%/check_scsi_util.h $(CHECK_MAIN)
%canon_reldir%_check_scsi_cdb_CFLAGS = $(SCSI_TEST_CFLAGS)
%canon_reldir%_check_scsi_cdb_LDADD = $(SCSI_TEST_LDADD)

%canon_reldir%_check_scsi_sense_SOURCES = %reldir%/check_scsi_sense.c $(CHECK_MAIN)
%canon_reldir%_check_scsi_sense_CFLAGS = $(SCSI_TEST_CFLAGS)
%canon_reldir%_check_scsi_sense_LDADD = daemon/scsi/libscsi.a reservations/libreservations.a \
	$(CHECK_LIBS)

%canon_reldir%_check_scsi_lu_SOURCES = %reldir%/check_scsi_lu.c %reldir%/check_scsi_util.h $(CHECK_MAIN)
%canon_reldir%_check_scsi_lu_CFLAGS = $(SCSI_TEST_CFLAGS)
%canon_reldir%_check_scsi_lu_LDADD = $(SCSI_TEST_LDADD)

# The ALUA table with the real loopback transport's serving signal: + libquorum.
check_PROGRAMS += %reldir%/check_scsi_alua
TESTS += %reldir%/check_scsi_alua
%canon_reldir%_check_scsi_alua_SOURCES = %reldir%/check_scsi_alua.c %reldir%/check_scsi_util.h $(CHECK_MAIN)
%canon_reldir%_check_scsi_alua_CFLAGS = $(SCSI_TEST_CFLAGS)
%canon_reldir%_check_scsi_alua_LDADD = quorum/libquorum.a $(SCSI_TEST_LDADD)

# The LU statistics (daemon/base/io_stats.h) against real LUs.
check_PROGRAMS += %reldir%/check_scsi_stats
TESTS += %reldir%/check_scsi_stats
%canon_reldir%_check_scsi_stats_SOURCES = %reldir%/check_scsi_stats.c %reldir%/check_scsi_util.h $(CHECK_MAIN)
%canon_reldir%_check_scsi_stats_CFLAGS = $(SCSI_TEST_CFLAGS)
%canon_reldir%_check_scsi_stats_LDADD = $(SCSI_TEST_LDADD)
