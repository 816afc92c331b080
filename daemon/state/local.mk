# daemon/state/: the replicated state machine (model, mutation codec and the
# table of kinds, propose/pending, snapshots and digest). It may use the
# store, the PR engine and the quorum transport, nothing from daemon/iscsi or
# daemon/scsi: tests/unit/check_state links only those four libraries.
noinst_LIBRARIES += %reldir%/libstate.a
%canon_reldir%_libstate_a_SOURCES = \
	%reldir%/state.h %reldir%/state_int.h \
	%reldir%/mutation.h %reldir%/mutation.c \
	%reldir%/wire.c \
	%reldir%/model.c \
	%reldir%/kinds.c \
	%reldir%/state.c \
	%reldir%/snapshot.c
%canon_reldir%_libstate_a_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS) $(CRYPTO_CFLAGS)
# Link line for anything that uses libstate.a (users before what they use).
STATE_LIBS = $(top_builddir)/daemon/state/libstate.a \
	$(top_builddir)/daemon/store/libstore.a \
	$(top_builddir)/reservations/libreservations.a \
	$(top_builddir)/quorum/libquorum.a \
	$(SQLITE_LIBS) $(CRYPTO_LIBS) $(LIBQB_LIBS)
