# daemon/iscsi/local.mk
