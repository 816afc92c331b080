# tests/unit/scsi.mk
