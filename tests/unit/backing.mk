# tests/unit/backing.mk
