# daemon/: quorated itself. Each subfolder is an internal library with its own
# fragment; daemon/core.mk builds main(), config, logging and the wiring.
include %reldir%/base/local.mk
include %reldir%/backing/local.mk
include %reldir%/scsi/local.mk
include %reldir%/iscsi/proto.mk
include %reldir%/iscsi/local.mk
include %reldir%/store/local.mk
include %reldir%/state/local.mk
include %reldir%/ipc/local.mk
include %reldir%/core.mk
