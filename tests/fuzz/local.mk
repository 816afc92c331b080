# tests/fuzz: libFuzzer targets. Each target is one file defining
# LLVMFuzzerTestOneInput(), with a saved corpus in corpus/<target>/.
#
#  - normal builds: each target links tests/fuzz/replay.c and `make check`
#    replays its corpus (the program finds corpus/<its name>/ by itself);
#  - --enable-fuzzing (CC=clang): each target links libFuzzer instead and is
#    built, not run, by make:
#      CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined" \
#        $SRCDIR/configure --enable-fuzzing
#      make tests/fuzz/fuzz_login
#      tests/fuzz/fuzz_login -max_total_time=120 $SRCDIR/tests/fuzz/corpus/fuzz_login
#
# Adding a target (e.g. fuzz_cdb.c) takes its program name plus its sources
# and libraries:
#   FUZZ_PROGS += %reldir%/fuzz_cdb
#   %canon_reldir%_fuzz_cdb_SOURCES = $(FUZZ_DRIVER) %reldir%/fuzz_cdb.c
#   %canon_reldir%_fuzz_cdb_CPPFLAGS = $(FUZZ_CPP)
#   %canon_reldir%_fuzz_cdb_LDFLAGS = $(FUZZ_LINK)
#   %canon_reldir%_fuzz_cdb_LDADD = daemon/scsi/libscsi.a ... $(LIBQB_LIBS)
# and a seed corpus in corpus/fuzz_cdb/.
FUZZ_PROGS = %reldir%/fuzz_pdu %reldir%/fuzz_keys %reldir%/fuzz_login
EXTRA_DIST += %reldir%/corpus %reldir%/replay.c

if ENABLE_FUZZING
FUZZ_DRIVER =
FUZZ_LINK = -fsanitize=fuzzer
else
FUZZ_DRIVER = %reldir%/replay.c
FUZZ_LINK =
endif
# replay.c looks for corpus/<program name>/ here when run without arguments.
FUZZ_CPP = $(AM_CPPFLAGS) -DFUZZ_CORPUS_ROOT='"$(abs_top_srcdir)/%reldir%/corpus"'

%canon_reldir%_fuzz_pdu_SOURCES = $(FUZZ_DRIVER) %reldir%/fuzz_pdu.c
%canon_reldir%_fuzz_pdu_CPPFLAGS = $(FUZZ_CPP)
%canon_reldir%_fuzz_pdu_LDFLAGS = $(FUZZ_LINK)
%canon_reldir%_fuzz_pdu_LDADD = $(ISCSIPROTO_LIBS)
%canon_reldir%_fuzz_keys_SOURCES = $(FUZZ_DRIVER) %reldir%/fuzz_keys.c
%canon_reldir%_fuzz_keys_CPPFLAGS = $(FUZZ_CPP)
%canon_reldir%_fuzz_keys_LDFLAGS = $(FUZZ_LINK)
%canon_reldir%_fuzz_keys_LDADD = $(ISCSIPROTO_LIBS)
%canon_reldir%_fuzz_login_SOURCES = $(FUZZ_DRIVER) %reldir%/fuzz_login.c
%canon_reldir%_fuzz_login_CPPFLAGS = $(FUZZ_CPP)
%canon_reldir%_fuzz_login_LDFLAGS = $(FUZZ_LINK)
%canon_reldir%_fuzz_login_LDADD = $(ISCSIPROTO_LIBS)

# PR engine targets: libreservations.a alone.
FUZZ_PROGS += %reldir%/fuzz_pr_params %reldir%/fuzz_pr_seq
%canon_reldir%_fuzz_pr_params_SOURCES = $(FUZZ_DRIVER) %reldir%/fuzz_pr_params.c %reldir%/fuzz_pr_check.h
%canon_reldir%_fuzz_pr_params_CPPFLAGS = $(FUZZ_CPP)
%canon_reldir%_fuzz_pr_params_LDFLAGS = $(FUZZ_LINK)
%canon_reldir%_fuzz_pr_params_LDADD = reservations/libreservations.a
%canon_reldir%_fuzz_pr_seq_SOURCES = $(FUZZ_DRIVER) %reldir%/fuzz_pr_seq.c %reldir%/fuzz_pr_check.h
%canon_reldir%_fuzz_pr_seq_CPPFLAGS = $(FUZZ_CPP)
%canon_reldir%_fuzz_pr_seq_LDFLAGS = $(FUZZ_LINK)
%canon_reldir%_fuzz_pr_seq_LDADD = reservations/libreservations.a

# SCSI layer target: libscsi.a on the null store of libbacking.a.
FUZZ_PROGS += %reldir%/fuzz_cdb
%canon_reldir%_fuzz_cdb_SOURCES = $(FUZZ_DRIVER) %reldir%/fuzz_cdb.c
%canon_reldir%_fuzz_cdb_CPPFLAGS = $(FUZZ_CPP)
%canon_reldir%_fuzz_cdb_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS)
%canon_reldir%_fuzz_cdb_LDFLAGS = $(FUZZ_LINK)
%canon_reldir%_fuzz_cdb_LDADD = daemon/scsi/libscsi.a reservations/libreservations.a daemon/backing/libbacking.a daemon/base/libloop_pass.a \
	$(URING_LIBS) $(LIBQB_LIBS)

# Connection/session/TMF target (issue 8): a real struct iscsi_server and
# connection over a socketpair, the real SCSI layer on the null store and a
# tmpfs file; the qb_loop calls are wrapped into the target's own loop.
FUZZ_PROGS += %reldir%/fuzz_conn
%canon_reldir%_fuzz_conn_SOURCES = $(FUZZ_DRIVER) %reldir%/fuzz_conn.c
%canon_reldir%_fuzz_conn_CPPFLAGS = $(FUZZ_CPP)
%canon_reldir%_fuzz_conn_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS)
%canon_reldir%_fuzz_conn_LDFLAGS = $(FUZZ_LINK) \
	-Wl,--wrap=qb_loop_poll_add,--wrap=qb_loop_poll_mod,--wrap=qb_loop_poll_del \
	-Wl,--wrap=qb_loop_timer_add,--wrap=qb_loop_timer_del
%canon_reldir%_fuzz_conn_LDADD = daemon/iscsi/libiscsi.a $(ISCSIPROTO_LIBS) \
	daemon/scsi/libscsi.a reservations/libreservations.a daemon/backing/libbacking.a daemon/base/libloop_pass.a \
	$(URING_LIBS) $(LIBQB_LIBS)

if ENABLE_FUZZING
noinst_PROGRAMS += $(FUZZ_PROGS)
else
check_PROGRAMS += $(FUZZ_PROGS)
TESTS += $(FUZZ_PROGS)
endif
