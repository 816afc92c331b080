# daemon/scsi/local.mk
