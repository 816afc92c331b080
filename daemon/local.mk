# daemon/: quorated itself. Each subfolder is an internal library with its own
# fragment; daemon/core.mk builds main(), config, logging and the wiring.
include %reldir%/backing/local.mk
include %reldir%/scsi/local.mk
include %reldir%/iscsi/proto.mk
include %reldir%/iscsi/local.mk
include %reldir%/store/local.mk
include %reldir%/ipc/local.mk
include %reldir%/core.mk

# Header-only helpers shared by daemon/iscsi and daemon/scsi (no library).
EXTRA_DIST += %reldir%/byteorder.h

# Work deferred to the end of a main-loop pass (batched submits and writes);
# used by daemon/backing and daemon/iscsi, depends on nothing.
noinst_LIBRARIES += %reldir%/libloop_pass.a
%canon_reldir%_libloop_pass_a_SOURCES = %reldir%/loop_pass.h %reldir%/loop_pass.c
