# daemon/iscsi/proto.mk
