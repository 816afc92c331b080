# tests/unit/iscsi.mk
