/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The persistent-reservation engine: SPC-4 5.13 persistent reservations
 * (PERSISTENT RESERVE IN 6.15, PERSISTENT RESERVE OUT 6.16) and SPC-2
 * RESERVE(6)/RELEASE(6) with the CRH=1 exceptions of SPC-4 5.13.3, as a pure
 * state machine over one logical unit.
 *
 * Purity: this module links with libc alone. No I/O, no logging, no clock, no
 * randomness, no globals. Given the same state and the same operation every
 * node computes the same new state, the same SCSI outcome and the same
 * effects, so the daemon can replicate operations (not results) in agreed
 * order and check the result with pr_state_digest().
 *
 * Layers:
 *  1. pr_out_decode() turns a PR OUT CDB + parameter list + sending I_T nexus
 *     into a normalised struct pr_op, validating everything that does not
 *     depend on state (lengths, reserved service actions, TYPE/SCOPE,
 *     TransportIDs). pr_op_spc2() builds the RESERVE(6)/RELEASE(6)/reset ops.
 *  2. pr_apply(state, op) decides against the state: the SCSI outcome
 *     (status and sense as data) and the effects: unit attentions to raise
 *     and, for PREEMPT AND ABORT, the I_T nexuses whose tasks to abort. Only
 *     ops that pass layer 1 may be applied; a replicated op is re-validated
 *     when decoded from the wire.
 *  3. pr_check_access() is the read-only check "may a command of this
 *     conflict class run for this I_T nexus" (SPC-4 5.13.1 table 66 / SBC-3
 *     4.17 table 13, SPC-2 5.5.1); pr_in_build() answers PERSISTENT RESERVE IN.
 *
 * I_T nexus identity (DESIGN.md §3): the initiator port name
 * "InitiatorName,i,0xISID" and the relative target port identifier. The
 * target port name "TargetName,t,0xTPGT" is carried along for listings and
 * persistence; within one SCSI target device the relative target port id
 * already names the target port (TPGT == relative port id == node id), so
 * matching uses the id. Initiator names compare case-insensitively (iSCSI
 * names are case-folded by stringprep, RFC 3722).
 *
 * A registration covers one I_T nexus, or every target port of its
 * initiator port (ALL_TG_PT), or, when registered through a format-00b
 * iSCSI TransportID (name without ISID, SPC-4 7.6.4.6), every initiator
 * port of that iSCSI name. Invariant: registrations never overlap, so an
 * I_T nexus is covered by at most one registration.
 *
 * Reservation invariants: at most one reservation; for non-All-Registrants
 * types its holder is one registered I_T nexus; for All-Registrants types
 * every registrant holds it and it exists only while a registrant exists.
 */
#ifndef QUORATE_RESERVATIONS_PR_H
#define QUORATE_RESERVATIONS_PR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 7143 §4.2.7.1 / SPC-4 7.6.4.6: an iSCSI name is at most 223 bytes. */
#define PR_ISCSI_NAME_MAX 223
/* ",i,0x" + 12 hex digits of ISID, or ",t,0x" + up to 4 hex digits of TPGT. */
#define PR_PORT_SUFFIX_MAX 17
#define PR_PORT_NAME_MAX   (PR_ISCSI_NAME_MAX + PR_PORT_SUFFIX_MAX + 1)
#define PR_ISID_HEX_LEN	   12

/* Default registration limit per LU: far above nodes x paths x keys. */
#define PR_REG_LIMIT_DEFAULT 65536u

/* SPC-4 6.16.1 table 171: PERSISTENT RESERVE OUT service actions. */
enum pr_out_sa {
	PR_OUT_REGISTER = 0x00,
	PR_OUT_RESERVE = 0x01,
	PR_OUT_RELEASE = 0x02,
	PR_OUT_CLEAR = 0x03,
	PR_OUT_PREEMPT = 0x04,
	PR_OUT_PREEMPT_AND_ABORT = 0x05,
	PR_OUT_REGISTER_AND_IGNORE = 0x06,
	PR_OUT_REGISTER_AND_MOVE = 0x07,
};

/* SPC-4 6.15.1 table 156: PERSISTENT RESERVE IN service actions. */
enum pr_in_sa {
	PR_IN_READ_KEYS = 0x00,
	PR_IN_READ_RESERVATION = 0x01,
	PR_IN_REPORT_CAPABILITIES = 0x02,
	PR_IN_READ_FULL_STATUS = 0x03,
};

/* SPC-4 6.16.3.3 table 174: persistent reservation TYPE codes. */
enum pr_type {
	PR_TYPE_NONE = 0x0, /* no reservation (never valid in a CDB) */
	PR_TYPE_WR_EX = 0x1,
	PR_TYPE_EX_AC = 0x3,
	PR_TYPE_WR_EX_RO = 0x5,
	PR_TYPE_EX_AC_RO = 0x6,
	PR_TYPE_WR_EX_AR = 0x7,
	PR_TYPE_EX_AC_AR = 0x8,
};

/* SPC-4 6.16.3.2: LU_SCOPE is the only scope left. */
#define PR_SCOPE_LU 0x0

/*
 * Reservation-conflict class of a command (SPC-4 5.13.1 table 66, SBC-3 4.17
 * table 13). The values equal daemon/scsi's enum scsi_resv_class, so the
 * SCSI layer passes its table column through (RESERVE(6)/RELEASE(6) rows
 * carry PR_CLASS_SPC2).
 */
enum pr_class {
	PR_CLASS_ALLOWED = 0,  /* allowed under every reservation (INQUIRY, TUR, ...) */
	PR_CLASS_READ = 1,     /* "Allowed" under Write Exclusive types, else conflict */
	PR_CLASS_WRITE = 2,    /* conflicts unless holder / registered under RO/AR */
	PR_CLASS_CONFLICT = 3, /* as WRITE under PRs (MODE SELECT ...) */
	PR_CLASS_PR = 4,       /* PR IN / PR OUT: pr_apply decides; SPC-2 holder only */
	PR_CLASS_SPC2 = 5,     /* RESERVE(6)/RELEASE(6): pr_apply decides */
	PR_CLASS_COUNT,
};

/* Unit attentions the engine raises (SPC-4 5.13.11, 5.13.12). */
enum pr_ua {
	PR_UA_RESERVATIONS_PREEMPTED = 1,  /* 2A/03 */
	PR_UA_RESERVATIONS_RELEASED = 2,   /* 2A/04 */
	PR_UA_REGISTRATIONS_PREEMPTED = 3, /* 2A/05 */
};

/* SAM-5 status codes and SPC-4 sense used in results (values from the standards). */
#define PR_STATUS_GOOD				   0x00
#define PR_STATUS_CHECK_CONDITION		   0x02
#define PR_STATUS_RESERVATION_CONFLICT		   0x18
#define PR_SENSE_ILLEGAL_REQUEST		   0x05
#define PR_ASC_PARAMETER_LIST_LENGTH_ERROR	   0x1a00
#define PR_ASC_INVALID_FIELD_IN_CDB		   0x2400
#define PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST	   0x2600
#define PR_ASC_INVALID_RELEASE_OF_PR		   0x2604
#define PR_ASC_INSUFFICIENT_REGISTRATION_RESOURCES 0x5504
#define PR_ASC_INVALID_COMMAND_OPERATION_CODE	   0x2000

/* One I_T nexus. Strings are NUL-terminated. */
struct pr_nexus {
	char initiator[PR_PORT_NAME_MAX]; /* "iqn...,i,0x<isid>" (or a bare name, see above) */
	char target[PR_PORT_NAME_MAX];	  /* "iqn...,t,0x<tpgt>" */
	uint16_t rel_port_id;		  /* SPC-4 relative target port identifier */
};

/*
 * What a registration (or an effect) applies to: a nexus, widened to every
 * target port by all_tg_pt, and to every ISID when nexus.initiator is a bare
 * iSCSI name. Use pr_target_matches() to test a live nexus.
 */
struct pr_target {
	struct pr_nexus nexus;
	bool all_tg_pt;
};

struct pr_reg {
	uint64_t key;
	struct pr_target who;
	uint64_t name_hash; /* cache: hash of the case-folded iSCSI name part */
};

/* The PR state of one logical unit. Owned by the caller; see pr_state_init(). */
struct pr_state {
	uint32_t generation;	/* PRgeneration (SPC-4 6.15.2) */
	bool aptpl;		/* activate persist through power loss */
	uint8_t type;		/* enum pr_type; PR_TYPE_NONE: no reservation */
	uint8_t scope;		/* PR_SCOPE_LU */
	struct pr_nexus holder; /* the holder for non-All-Registrants types */
	bool spc2_reserved;	/* SPC-2 RESERVE(6) reservation */
	struct pr_nexus spc2_holder;
	struct pr_reg *regs; /* registrations in registration order */
	uint32_t nregs;
	uint32_t cap;
	uint32_t reg_limit; /* INSUFFICIENT REGISTRATION RESOURCES beyond this */
};

/* Operation kinds: every mutation of a struct pr_state is one of these. */
enum pr_op_kind {
	PR_OP_OUT = 1,		/* PERSISTENT RESERVE OUT (op.sa) */
	PR_OP_SPC2_RESERVE = 2, /* RESERVE(6)/(10) */
	PR_OP_SPC2_RELEASE = 3, /* RELEASE(6)/(10) */
	PR_OP_SPC2_RESET = 4,	/* LU reset / target reset: drop the SPC-2 reservation */
	PR_OP_NEXUS_LOSS = 5,	/* I_T nexus loss: drop its SPC-2 reservation (SPC-2 5.5.1) */
	PR_OP_KIND_MAX = PR_OP_NEXUS_LOSS,
};

/* A normalised, validated operation (layer 1 output, replication payload). */
struct pr_op {
	uint8_t kind;  /* enum pr_op_kind */
	uint8_t sa;    /* enum pr_out_sa for PR_OP_OUT */
	uint8_t type;  /* CDB TYPE, where the service action uses it */
	uint8_t scope; /* CDB SCOPE */
	bool all_tg_pt;
	bool aptpl;
	bool spec_i_pt;
	bool unreg;	       /* REGISTER AND MOVE: UNREG */
	uint64_t rk;	       /* RESERVATION KEY */
	uint64_t sark;	       /* SERVICE ACTION RESERVATION KEY */
	struct pr_nexus nexus; /* the I_T nexus that sent the command */
	struct pr_nexus dest;  /* REGISTER AND MOVE destination */
	struct pr_nexus *tids; /* SPEC_I_PT: initiator ports (rel_port_id = sender's) */
	uint32_t n_tids;
};

/* Unit attention to raise for every live nexus that who matches. */
struct pr_ua_effect {
	struct pr_target who;
	uint8_t ua; /* enum pr_ua */
};

/*
 * Outcome of a PR operation: SCSI result as data (sense key + ASC/ASCQ and
 * the SPC-4 4.5.2.4.2 field pointer for ILLEGAL REQUEST), then the effects.
 */
struct pr_result {
	uint8_t status; /* PR_STATUS_* */
	uint8_t sense_key;
	uint16_t asc;	/* ASC << 8 | ASCQ */
	bool sks_valid; /* field pointer present */
	bool sks_cd;	/* 1: in the CDB, 0: in the parameter list */
	bool sks_bpv;	/* bit pointer valid */
	uint8_t sks_bit;
	uint16_t sks_field; /* byte offset of the field */
	bool changed;	    /* state mutated: persist and report */
	struct pr_ua_effect *ua;
	uint32_t n_ua;
	struct pr_target *abort; /* PREEMPT AND ABORT: abort these nexuses' tasks */
	uint32_t n_abort;
	uint32_t ua_cap; /* private: allocated entries */
	uint32_t abort_cap;
};

/* Optional knowledge of the target the decoder may use. */
struct pr_decode_ctx {
	const uint16_t *ports; /* existing relative target port ids; NULL: don't check */
	uint32_t n_ports;
};

/* ---- state (pr_state.c) ---- */

/** Empty state (no registrations, generation 0). @reg_limit 0 = default. */
void pr_state_init(struct pr_state *state, uint32_t reg_limit);
void pr_state_fini(struct pr_state *state);
/** Deep copy @src into an initialised @dst. @return 0 or -ENOMEM. */
int pr_state_copy(struct pr_state *dst, const struct pr_state *src);
/**
 * Power on / whole-cluster restart (SPC-4 5.13.4): without APTPL every
 * registration and the reservation are gone; the SPC-2 reservation always is.
 */
void pr_state_power_on(struct pr_state *state);

/** Does @t cover the I_T nexus (@initiator_port, @rel_port_id)? */
bool pr_target_matches(const struct pr_target *t, const char *initiator_port, uint16_t rel_port_id);
/** The registration covering @nexus, or NULL. */
const struct pr_reg *pr_state_find(const struct pr_state *state, const struct pr_nexus *nexus);
/** Is @nexus a reservation holder (SPC-4 5.13.10)? */
bool pr_state_is_holder(const struct pr_state *state, const struct pr_nexus *nexus);
/** Does registration @r hold the reservation (READ FULL STATUS' R_HOLDER)? */
bool pr_reg_is_holder(const struct pr_state *state, const struct pr_reg *r);
/** Is @type an All Registrants type? */
bool pr_type_all_registrants(uint8_t type);
/** Is @type one of the six SPC-4 types? */
bool pr_type_valid(uint8_t type);

/**
 * Reservation check before a command runs (SPC-4 5.13.1, SPC-2 5.5.1).
 * @return true if a command of class @cls from @nexus may run; false means
 * RESERVATION CONFLICT. Read-only, no allocation.
 */
bool pr_check_access(const struct pr_state *state, const struct pr_nexus *nexus, enum pr_class cls);

/* ---- operations (pr_decode.c, pr_apply.c) ---- */

void pr_op_init(struct pr_op *op);
void pr_op_fini(struct pr_op *op);
void pr_result_init(struct pr_result *res);
void pr_result_fini(struct pr_result *res);

/**
 * Decode PERSISTENT RESERVE OUT. @param_len is the number of parameter bytes
 * received (the transport's Data-Out); the CDB's PARAMETER LIST LENGTH must
 * not exceed it. Sets @res; @op is usable only if res->status is GOOD.
 * @return 0, or -ENOMEM (op and res then hold nothing to apply).
 */
int pr_out_decode(const uint8_t *cdb, size_t cdb_len, const uint8_t *param, size_t param_len,
		  const struct pr_nexus *nexus, const struct pr_decode_ctx *ctx, struct pr_op *op,
		  struct pr_result *res);
/** Build a RESERVE/RELEASE/reset/nexus-loss op (@kind) for @nexus (may be NULL for reset). */
void pr_op_spc2(struct pr_op *op, enum pr_op_kind kind, const struct pr_nexus *nexus);

/**
 * Apply a validated op. Sets @res (outcome and effects); on GOOD with
 * res->changed the state changed. @return 0 or -ENOMEM (state unchanged).
 */
int pr_apply(struct pr_state *state, const struct pr_op *op, struct pr_result *res);
/**
 * Administrative clear (no issuing nexus): what CLEAR does (SPC-4
 * "Clearing": every registration and the reservation go, PRgeneration is
 * incremented, RESERVATIONS PREEMPTED for every registrant) plus the SPC-2
 * reservation. @return 0 or -ENOMEM (state unchanged).
 */
int pr_admin_clear(struct pr_state *state, struct pr_result *res);

/* ---- PERSISTENT RESERVE IN (pr_in.c) ---- */

/**
 * Answer PERSISTENT RESERVE IN @cdb for @nexus into @buf (@buf_cap bytes).
 * *xfer_len = min(ALLOCATION LENGTH, full parameter data length) (SPC-4
 * 4.2.5.6: truncated, ADDITIONAL LENGTH keeps the untruncated value);
 * *data_len = bytes written = min(*xfer_len, buf_cap). Sets @res.
 */
void pr_in_build(const struct pr_state *state, const uint8_t *cdb, size_t cdb_len,
		 const struct pr_nexus *nexus, uint8_t *buf, uint32_t buf_cap, uint32_t *xfer_len,
		 uint32_t *data_len, struct pr_result *res);

/* ---- TransportIDs (pr_decode.c) ---- */

/**
 * Parse one iSCSI TransportID (SPC-4 7.6.4.6) at @buf (@len bytes available)
 * into @initiator (PR_PORT_NAME_MAX bytes): format 00b gives the bare name,
 * 01b "name,i,0x<isid>". @return its length in bytes, or -EINVAL.
 */
int pr_transport_id_parse(const uint8_t *buf, size_t len, char *initiator);
/** Encode @initiator as an iSCSI TransportID; @return length (multiple of 4) or -ENOSPC. */
int pr_transport_id_build(const char *initiator, uint8_t *buf, size_t cap);

/* ---- wire encoding (pr_wire.c) ---- */

#define PR_WIRE_VERSION 1

/** Bytes pr_op_encode() writes for @op. */
size_t pr_op_encoded_size(const struct pr_op *op);
/** Big-endian, versioned. @return bytes written or -ENOSPC. */
int pr_op_encode(const struct pr_op *op, uint8_t *buf, size_t cap);
/** @op initialised by the caller. @return 0, -EINVAL (bad input) or -ENOMEM. */
int pr_op_decode(const uint8_t *buf, size_t len, struct pr_op *op);

size_t pr_state_encoded_size(const struct pr_state *state);
int pr_state_encode(const struct pr_state *state, uint8_t *buf, size_t cap);
/**
 * Replace @state (initialised) with the snapshot in @buf; on error @state is
 * unchanged. Rejects truncation, trailing bytes, unknown versions and
 * snapshots that break the invariants. @return 0, -EINVAL or -ENOMEM.
 */
int pr_state_decode(const uint8_t *buf, size_t len, struct pr_state *state);
/** 64-bit FNV-1a over the canonical encoding, for `cluster verify`. */
uint64_t pr_state_digest(const struct pr_state *state);

#endif
