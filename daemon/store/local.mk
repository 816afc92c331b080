# daemon/store/local.mk
