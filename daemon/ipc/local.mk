# daemon/ipc/local.mk
