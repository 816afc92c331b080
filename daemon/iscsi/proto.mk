# daemon/iscsi/proto.mk: libiscsiproto.a, the pure iSCSI protocol pieces
# (digests, PDU header checks, text codec, §13 negotiation, CHAP, login state
# machine, SendTargets/Text exchanges). No sockets, no main loop, no logging;
# depends on ISA-L (CRC32C) and libcrypto (CHAP) only.
noinst_LIBRARIES += %reldir%/libiscsiproto.a
%canon_reldir%_libiscsiproto_a_CFLAGS = $(AM_CFLAGS) $(ISAL_CFLAGS) $(CRYPTO_CFLAGS)
%canon_reldir%_libiscsiproto_a_SOURCES = \
	%reldir%/pdu.h \
	%reldir%/digest.c \
	%reldir%/pducheck.c %reldir%/pducheck.h \
	%reldir%/text.c %reldir%/text.h \
	%reldir%/keys.c %reldir%/params.h \
	%reldir%/chap.c %reldir%/chap.h \
	%reldir%/login.c %reldir%/login.h \
	%reldir%/name.c %reldir%/name.h \
	%reldir%/sendtargets.c %reldir%/sendtargets.h
# Link line for anything that uses libiscsiproto.a.
ISCSIPROTO_LIBS = $(top_builddir)/daemon/iscsi/libiscsiproto.a $(ISAL_LIBS) $(CRYPTO_LIBS)
