# tests/unit/iscsi.mk: unit tests of the pure iSCSI protocol library
# (libiscsiproto.a). They link only that library and its own dependencies
# (ISA-L, libcrypto): no main loop, no sockets, so a protocol module that
# grows a forbidden dependency fails to link here.
ISCSI_CHECK_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
ISCSI_CHECK_LDADD = daemon/iscsi/libiscsiproto.a $(ISAL_LIBS) $(CRYPTO_LIBS) $(CHECK_LIBS)

check_PROGRAMS += %reldir%/check_iscsi_digest %reldir%/check_iscsi_text \
	%reldir%/check_iscsi_keys %reldir%/check_iscsi_chap %reldir%/check_iscsi_login \
	%reldir%/check_iscsi_name
TESTS += %reldir%/check_iscsi_digest %reldir%/check_iscsi_text \
	%reldir%/check_iscsi_keys %reldir%/check_iscsi_chap %reldir%/check_iscsi_login \
	%reldir%/check_iscsi_name

%canon_reldir%_check_iscsi_digest_SOURCES = %reldir%/check_iscsi_digest.c $(CHECK_MAIN)
%canon_reldir%_check_iscsi_digest_CFLAGS = $(ISCSI_CHECK_CFLAGS)
%canon_reldir%_check_iscsi_digest_LDADD = $(ISCSI_CHECK_LDADD)
%canon_reldir%_check_iscsi_text_SOURCES = %reldir%/check_iscsi_text.c $(CHECK_MAIN)
%canon_reldir%_check_iscsi_text_CFLAGS = $(ISCSI_CHECK_CFLAGS)
%canon_reldir%_check_iscsi_text_LDADD = $(ISCSI_CHECK_LDADD)
%canon_reldir%_check_iscsi_keys_SOURCES = %reldir%/check_iscsi_keys.c $(CHECK_MAIN)
%canon_reldir%_check_iscsi_keys_CFLAGS = $(ISCSI_CHECK_CFLAGS)
%canon_reldir%_check_iscsi_keys_LDADD = $(ISCSI_CHECK_LDADD)
%canon_reldir%_check_iscsi_chap_SOURCES = %reldir%/check_iscsi_chap.c $(CHECK_MAIN)
%canon_reldir%_check_iscsi_chap_CFLAGS = $(ISCSI_CHECK_CFLAGS)
%canon_reldir%_check_iscsi_chap_LDADD = $(ISCSI_CHECK_LDADD)
%canon_reldir%_check_iscsi_login_SOURCES = %reldir%/check_iscsi_login.c $(CHECK_MAIN)
%canon_reldir%_check_iscsi_login_CFLAGS = $(ISCSI_CHECK_CFLAGS)
%canon_reldir%_check_iscsi_login_LDADD = $(ISCSI_CHECK_LDADD)
%canon_reldir%_check_iscsi_name_SOURCES = %reldir%/check_iscsi_name.c $(CHECK_MAIN)
%canon_reldir%_check_iscsi_name_CFLAGS = $(ISCSI_CHECK_CFLAGS)
%canon_reldir%_check_iscsi_name_LDADD = $(ISCSI_CHECK_LDADD)
