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
	%reldir%/conn.c \
	%reldir%/conn_login.c \
	%reldir%/session.c \
	%reldir%/scsi_cmd.c \
	%reldir%/tmf.c
%canon_reldir%_libiscsi_a_CFLAGS = $(AM_CFLAGS) $(LIBQB_CFLAGS)
