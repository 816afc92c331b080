/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Validation of a received PDU header before anything else reads it
 * (RFC 7143 §11.2): opcode known for the phase, AHS and data segment
 * lengths within what was negotiated, and the wire layout (padding,
 * digests) that tells the reader how many more bytes to receive. Pure.
 *
 * Use: after reading the 48-byte BHS, call iscsi_pdu_check(); it returns
 * the number of bytes still to read (AHS + header digest, then data +
 * padding + data digest). After reading the AHS + header digest, verify the
 * header digest with iscsi_pdu_header_digest_ok(); after the data, the data
 * digest with iscsi_pdu_data_digest_ok(). Parse AHS with iscsi_pdu_ahs_parse().
 */
#ifndef QUORATE_DAEMON_ISCSI_PDUCHECK_H
#define QUORATE_DAEMON_ISCSI_PDUCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/iscsi/params.h"
#include "daemon/iscsi/pdu.h"

#define ISCSI_AHS_MAX_BYTES (255u * 4u)	/* TotalAHSLength is one byte of words */

enum iscsi_pdu_err {
	ISCSI_PDU_OK = 0,
	ISCSI_PDU_ERR_OPCODE,		/* not an initiator opcode we know: Reject 0x05 */
	ISCSI_PDU_ERR_PHASE,		/* not a Login Request during login: close */
	ISCSI_PDU_ERR_DSL,		/* DataSegmentLength above our limit: close (§7.?) */
	ISCSI_PDU_ERR_AHS,		/* AHS where none may be, or malformed: Reject 0x09 */
	ISCSI_PDU_ERR_FIELD,		/* data on a PDU that carries none: Reject 0x09 */
};

struct iscsi_pdu_layout {
	uint32_t ahs_len;		/* bytes of AHS (TotalAHSLength * 4) */
	uint32_t data_len;		/* DataSegmentLength */
	uint32_t rest_header;		/* bytes after the BHS: AHS + header digest */
	uint32_t rest_data;		/* data + padding + data digest, 0 without data */
};

/* What the connection negotiated; during login: no digests, login_phase. */
struct iscsi_pdu_limits {
	bool login_phase;
	bool header_digest;
	bool data_digest;
	uint32_t max_recv_dsl;		/* our declared MaxRecvDataSegmentLength */
};

/* Longest data segment we accept: 8192 during login (§13.12), then what we declared. */
static inline uint32_t iscsi_pdu_dsl_limit(const struct iscsi_pdu_limits *lim)
{
	return lim->login_phase ? ISCSI_LOGIN_DSL_MAX : lim->max_recv_dsl;
}

const char *iscsi_pdu_err_str(enum iscsi_pdu_err err);
/** Reject reason (§11.17.1) for an error, 0 if the connection must close instead. */
uint8_t iscsi_pdu_err_reject_reason(enum iscsi_pdu_err err);

enum iscsi_pdu_err iscsi_pdu_check(const uint8_t *bhs, const struct iscsi_pdu_limits *lim,
				   struct iscsi_pdu_layout *out);

/** @hdr is BHS + AHS (@len bytes) followed by the 4-byte header digest. */
bool iscsi_pdu_header_digest_ok(const uint8_t *hdr, uint32_t len);
/** @data is the data segment (@len bytes) + padding, then the 4-byte digest. */
bool iscsi_pdu_data_digest_ok(const uint8_t *data, uint32_t len);

/* Decoded AHS of a SCSI Command (§11.2.2). */
struct iscsi_ahs_info {
	const uint8_t *ext_cdb;		/* CDB bytes beyond 16, or NULL */
	uint32_t ext_cdb_len;
	bool has_bidi_read_len;
	uint32_t bidi_read_len;
};

/** Parse @len bytes of AHS. @return 0 or -EINVAL (malformed, unknown type). */
int iscsi_pdu_ahs_parse(const uint8_t *ahs, uint32_t len, struct iscsi_ahs_info *out);

#endif
