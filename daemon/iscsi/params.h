/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Negotiated iSCSI parameters (RFC 7143 §13) and the target side of their
 * negotiation. Pure: no I/O, no logging.
 *
 * struct iscsi_params is used twice:
 *  - as the target's LIMITS (what this node is willing to do): numeric
 *    fields are our upper bounds (MaxBurstLength, FirstBurstLength,
 *    MaxOutstandingR2T, DefaultTime2*), max_recv_dsl is what we declare,
 *    booleans are the value we answer with (InitialR2T=No, ImmediateData=Yes
 *    means "we allow it"; the §13 AND/OR result functions then decide),
 *    header_digest/data_digest == ISCSI_DIGEST_CRC32C means "we accept
 *    CRC32C" (None is always acceptable);
 *  - as the RESULT of a negotiation, for the connection and session data
 *    path: max_xmit_dsl = what the initiator declared (most bytes we may put
 *    in one PDU data segment we send), max_recv_dsl = what we declared (most
 *    the initiator may send us).
 *
 * Key handling for one login or text exchange goes through struct
 * iscsi_neg: it remembers which keys the initiator already offered (a key
 * offered twice in one login is an initiator error, §6.2 / §7.4.2 (0x0200)),
 * appends our answer for every key it handles, and records the result.
 * The keys that the login state machine interprets itself (InitiatorName,
 * TargetName, SessionType, AuthMethod, CHAP_*, InitiatorAlias) are reported
 * back as ISCSI_NEG_LOGIN_KEY after the duplicate check.
 */
#ifndef QUORATE_DAEMON_ISCSI_PARAMS_H
#define QUORATE_DAEMON_ISCSI_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/iscsi/text.h"

/* §13.12: MaxRecvDataSegmentLength range and default; also the login-phase
 * limit, since the declared value only applies in full feature phase (§13.12). */
#define ISCSI_MRDSL_MIN 512u
#define ISCSI_MRDSL_MAX 16777215u
#define ISCSI_MRDSL_DEFAULT 8192u
#define ISCSI_LOGIN_DSL_MAX 8192u
/* §13.13, §13.14: burst lengths. */
#define ISCSI_BURST_MIN 512u
#define ISCSI_BURST_MAX 16777215u
#define ISCSI_MAX_BURST_DEFAULT 262144u
#define ISCSI_FIRST_BURST_DEFAULT 65536u
/* §13.15, §13.16: timers in seconds, 0..3600. */
#define ISCSI_TIME2WAIT_DEFAULT 2u
#define ISCSI_TIME2RETAIN_DEFAULT 20u
#define ISCSI_TIME2_MAX 3600u
/* §13.17: MaxOutstandingR2T 1..65535, default 1. */
#define ISCSI_MAX_R2T_DEFAULT 1u
#define ISCSI_MAX_R2T_MAX 65535u
/* §13.2: MaxConnections 1..65535, default 1. We support one per session. */
#define ISCSI_MAX_CONNECTIONS_DEFAULT 1u
#define ISCSI_MAX_CONNECTIONS_MAX 65535u
/* §13.20: ErrorRecoveryLevel 0..2, default 0. We implement level 0. */
#define ISCSI_ERL_MAX 2u
/* §13.24: iSCSIProtocolLevel 0..31, default 1; RFC 7143 is level 1. */
#define ISCSI_PROTOCOL_LEVEL_DEFAULT 1u
#define ISCSI_PROTOCOL_LEVEL_MAX 31u

enum iscsi_digest {
	ISCSI_DIGEST_NONE = 0,
	ISCSI_DIGEST_CRC32C = 1,
};

enum iscsi_session_type {
	ISCSI_SESSION_NORMAL = 0,
	ISCSI_SESSION_DISCOVERY = 1,
};

struct iscsi_params {
	/* Connection-wide (§13.1, §13.12). */
	enum iscsi_digest header_digest;
	enum iscsi_digest data_digest;
	uint32_t max_recv_dsl;		/* we declared: most data per PDU we accept */
	uint32_t max_xmit_dsl;		/* the initiator declared: most data per PDU we send */

	/* Session-wide (§13.2 ... §13.24). */
	uint32_t max_connections;
	bool initial_r2t;
	bool immediate_data;
	uint32_t max_burst;
	uint32_t first_burst;
	uint32_t default_time2wait;
	uint32_t default_time2retain;
	uint32_t max_outstanding_r2t;
	bool data_pdu_in_order;
	bool data_sequence_in_order;
	uint32_t error_recovery_level;
	uint32_t protocol_level;	/* iSCSIProtocolLevel */
};

/** RFC 7143 §13 defaults (what holds when a key is never negotiated). */
void iscsi_params_init_defaults(struct iscsi_params *p);

/**
 * Sensible target limits: CRC32C accepted, MaxRecvDataSegmentLength 262144,
 * MaxBurstLength 1 MiB, FirstBurstLength 256 KiB, InitialR2T=No,
 * ImmediateData=Yes, MaxOutstandingR2T 1, ErrorRecoveryLevel 0,
 * MaxConnections 1. Callers override fields from their configuration and
 * then call iscsi_params_limits_sanitize().
 */
void iscsi_params_init_limits(struct iscsi_params *p);
/** Clamp limits into their §13 ranges (e.g. a configured 0 or 2^30). */
void iscsi_params_limits_sanitize(struct iscsi_params *p);

/* Where a key arrives: login stages or a Text Request in full feature phase. */
enum iscsi_neg_phase {
	ISCSI_NEG_SECURITY = 0,		/* login, CSG = SecurityNegotiation */
	ISCSI_NEG_OPERATIONAL = 1,	/* login, CSG = LoginOperationalNegotiation */
	ISCSI_NEG_FULL_FEATURE = 3,	/* Text Request in full feature phase */
};

enum iscsi_neg_result {
	ISCSI_NEG_OK = 0,		/* handled; answer (if any) appended */
	ISCSI_NEG_LOGIN_KEY,		/* a key login.c interprets (see top comment) */
	ISCSI_NEG_ERR_DUPLICATE,	/* key offered twice: fail with 0x0200 */
	ISCSI_NEG_ERR_NOSPACE,		/* response buffer full */
	ISCSI_NEG_ERR_STAGE,		/* security key in the operational stage: 0x0200
					 * (in full feature phase it gets Key=Reject) */
	ISCSI_NEG_ERR_VALUE,		/* a value that makes the negotiation fail
					 * outright (e.g. an answer key like
					 * TargetPortalGroupTag sent by the initiator): 0x0200 */
};

/* Per-exchange negotiation state; embed it, iscsi_neg_init() it. */
struct iscsi_neg {
	struct iscsi_params limits;
	struct iscsi_params result;
	uint64_t offered;		/* bit per known key: initiator sent it */
	uint64_t answered;		/* bit per known key: we answered or declared it */
	enum iscsi_session_type session_type;
	bool leading;			/* leading connection of the session (TSIH 0) */
};

/** Start a negotiation: result = defaults, limits copied and sanitized. */
void iscsi_neg_init(struct iscsi_neg *neg, const struct iscsi_params *limits, bool leading);

/**
 * Handle one key from the initiator. Appends our answer to @rsp for every
 * key it handles (NotUnderstood for unknown keys and X-/X# vendor keys,
 * Reject for out-of-range values and obsolete marker keys (§13.25),
 * Irrelevant where §13 says so, e.g. session keys in a discovery session).
 * For login keys (InitiatorName, ...) nothing is appended.
 * @key_len bytes of @key (not NUL-terminated), @value NUL-terminated.
 */
enum iscsi_neg_result iscsi_neg_key(struct iscsi_neg *neg, enum iscsi_neg_phase phase,
				    const char *key, size_t key_len, const char *value,
				    struct iscsi_text_builder *rsp);

/**
 * Append our declarations the initiator did not ask for but must see:
 * TargetPortalGroupTag=@tpgt for a leading Normal login (§13.9, in any
 * stage, so the first response carries it) and, outside the security
 * stage, MaxRecvDataSegmentLength (declarative, §13.12). Idempotent: each
 * is sent at most once per negotiation. @return 0 or -ENOSPC.
 */
int iscsi_neg_declare(struct iscsi_neg *neg, enum iscsi_neg_phase phase, uint16_t tpgt,
		      struct iscsi_text_builder *rsp);

/** Fix up the result after the last key: e.g. FirstBurstLength <= MaxBurstLength (§13.14). */
void iscsi_neg_finish(struct iscsi_neg *neg);

/** Short name of a result code (static string, for logs). */
const char *iscsi_neg_result_str(enum iscsi_neg_result r);

#endif
