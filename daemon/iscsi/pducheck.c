// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Received-PDU header validation (RFC 7143 §11.2) and AHS decoding
 * (§11.2.2). Everything a peer controls is checked here before the
 * connection code trusts a length: the opcode must be one an initiator may
 * send in the current phase (§7.1: only Login Requests before full feature
 * phase), TotalAHSLength only on SCSI Commands (the only PDU with defined
 * AHS types), DataSegmentLength within our declared
 * MaxRecvDataSegmentLength (§13.12; 8192 during login), and zero for PDUs
 * that carry no data (TMF §11.5, Logout §11.14, SNACK §11.16).
 */
#include <errno.h>
#include <stddef.h>

#include "daemon/iscsi/params.h"
#include "daemon/iscsi/pducheck.h"

/* §11.2.2: AHS header is AHSLength (2) + AHSType (1) + 1 type-specific byte. */
#define AHS_HDR_LEN 4u
#define AHS_BIDI_LEN 5u			/* reserved byte + 4-byte read length */

const char *iscsi_pdu_err_str(enum iscsi_pdu_err err)
{
	switch (err) {
	case ISCSI_PDU_OK:
		return "ok";
	case ISCSI_PDU_ERR_OPCODE:
		return "unknown opcode";
	case ISCSI_PDU_ERR_PHASE:
		return "opcode not allowed before full feature phase";
	case ISCSI_PDU_ERR_DSL:
		return "data segment longer than MaxRecvDataSegmentLength";
	case ISCSI_PDU_ERR_AHS:
		return "unexpected or malformed AHS";
	case ISCSI_PDU_ERR_FIELD:
		return "data segment on a PDU that carries none";
	}
	return "unknown error";
}

uint8_t iscsi_pdu_err_reject_reason(enum iscsi_pdu_err err)
{
	switch (err) {
	case ISCSI_PDU_ERR_OPCODE:
		return ISCSI_REJECT_CMD_NOT_SUPPORTED;
	case ISCSI_PDU_ERR_AHS:
	case ISCSI_PDU_ERR_FIELD:
		return ISCSI_REJECT_INVALID_PDU_FIELD;
	default:
		/* A bad length or phase leaves the byte stream unframeable:
		 * the only safe answer is closing the connection. */
		return 0;
	}
}

enum iscsi_pdu_err iscsi_pdu_check(const uint8_t *bhs, const struct iscsi_pdu_limits *lim,
				   struct iscsi_pdu_layout *out)
{
	uint8_t op = iscsi_bhs_opcode(bhs);
	uint32_t ahs = iscsi_bhs_ahs_len(bhs);
	uint32_t dsl = iscsi_bhs_data_len(bhs);
	uint32_t limit = iscsi_pdu_dsl_limit(lim);
	bool hd = !lim->login_phase && lim->header_digest;
	bool dd = !lim->login_phase && lim->data_digest;

	out->ahs_len = ahs;
	out->data_len = dsl;
	out->rest_header = ahs + (hd ? ISCSI_DIGEST_LEN : 0);
	out->rest_data = dsl ? ISCSI_PAD(dsl) + (dd ? ISCSI_DIGEST_LEN : 0) : 0;

	switch (op) {
	case ISCSI_OP_LOGIN_REQ:
		break;
	case ISCSI_OP_NOP_OUT:
	case ISCSI_OP_SCSI_CMD:
	case ISCSI_OP_TMF_REQ:
	case ISCSI_OP_TEXT_REQ:
	case ISCSI_OP_DATA_OUT:
	case ISCSI_OP_LOGOUT_REQ:
	case ISCSI_OP_SNACK_REQ:
		if (lim->login_phase) {
			return ISCSI_PDU_ERR_PHASE;
		}
		break;
	default:
		return lim->login_phase ? ISCSI_PDU_ERR_PHASE : ISCSI_PDU_ERR_OPCODE;
	}
	/* Length first: with a bad length nothing else can be trusted. */
	if (dsl > limit) {
		return ISCSI_PDU_ERR_DSL;
	}
	if (ahs != 0 && op != ISCSI_OP_SCSI_CMD) {
		return ISCSI_PDU_ERR_AHS;
	}
	if (dsl != 0 && (op == ISCSI_OP_TMF_REQ || op == ISCSI_OP_LOGOUT_REQ ||
			 op == ISCSI_OP_SNACK_REQ)) {
		return ISCSI_PDU_ERR_FIELD;
	}
	return ISCSI_PDU_OK;
}

bool iscsi_pdu_header_digest_ok(const uint8_t *hdr, uint32_t len)
{
	return iscsi_crc32c(hdr, len) == iscsi_digest_get(hdr + len);
}

bool iscsi_pdu_data_digest_ok(const uint8_t *data, uint32_t len)
{
	uint32_t padded = ISCSI_PAD(len);

	/* §11.1: the data digest covers the data segment and its padding. */
	return iscsi_crc32c(data, padded) == iscsi_digest_get(data + padded);
}

int iscsi_pdu_ahs_parse(const uint8_t *ahs, uint32_t len, struct iscsi_ahs_info *out)
{
	uint32_t off = 0;

	out->ext_cdb = NULL;
	out->ext_cdb_len = 0;
	out->has_bidi_read_len = false;
	out->bidi_read_len = 0;
	while (off < len) {
		uint32_t alen, total;
		uint8_t type;

		if (len - off < AHS_HDR_LEN) {
			return -EINVAL;
		}
		alen = get_be16(ahs + off);
		type = ahs[off + 2];
		/* AHSLength counts the type-specific byte at offset 3 onwards. */
		if (alen == 0) {
			return -EINVAL;
		}
		total = ISCSI_PAD(3u + alen);
		if (total > len - off) {
			return -EINVAL;
		}
		switch (type) {
		case ISCSI_AHS_EXTENDED_CDB:
			if (out->ext_cdb != NULL) {
				return -EINVAL;
			}
			out->ext_cdb = ahs + off + AHS_HDR_LEN;
			out->ext_cdb_len = alen - 1;
			break;
		case ISCSI_AHS_BIDI_READ_LEN:
			if (alen != AHS_BIDI_LEN || out->has_bidi_read_len) {
				return -EINVAL;
			}
			out->has_bidi_read_len = true;
			out->bidi_read_len = get_be32(ahs + off + AHS_HDR_LEN);
			break;
		default:
			return -EINVAL;
		}
		off += total;
	}
	return 0;
}
