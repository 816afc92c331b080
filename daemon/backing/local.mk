# daemon/backing/local.mk
