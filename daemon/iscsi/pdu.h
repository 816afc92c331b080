/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iSCSI PDU layout (RFC 7143 §11): the 48-byte Basic Header Segment, opcodes,
 * flags and status codes, with big-endian field accessors. Pure: no I/O, no
 * allocation. A PDU on the wire is BHS, AHS (TotalAHSLength * 4 bytes),
 * optional HeaderDigest (4), data segment padded to 4 bytes, optional
 * DataDigest (4).
 */
#ifndef QUORATE_DAEMON_ISCSI_PDU_H
#define QUORATE_DAEMON_ISCSI_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/byteorder.h"

#define ISCSI_BHS_LEN 48
#define ISCSI_DIGEST_LEN 4
#define ISCSI_PAD(len) (((len) + 3u) & ~3u)
#define ISCSI_DSL_MAX 0xffffffu		/* DataSegmentLength is 24 bits */
#define ISCSI_RESERVED_TAG 0xffffffffu	/* §11.1: "reserved" ITT/TTT value */

/* §11.2.1.2 opcodes, initiator to target. */
enum iscsi_init_opcode {
	ISCSI_OP_NOP_OUT = 0x00,
	ISCSI_OP_SCSI_CMD = 0x01,
	ISCSI_OP_TMF_REQ = 0x02,
	ISCSI_OP_LOGIN_REQ = 0x03,
	ISCSI_OP_TEXT_REQ = 0x04,
	ISCSI_OP_DATA_OUT = 0x05,
	ISCSI_OP_LOGOUT_REQ = 0x06,
	ISCSI_OP_SNACK_REQ = 0x10,
};

/* §11.2.1.2 opcodes, target to initiator. */
enum iscsi_tgt_opcode {
	ISCSI_OP_NOP_IN = 0x20,
	ISCSI_OP_SCSI_RSP = 0x21,
	ISCSI_OP_TMF_RSP = 0x22,
	ISCSI_OP_LOGIN_RSP = 0x23,
	ISCSI_OP_TEXT_RSP = 0x24,
	ISCSI_OP_DATA_IN = 0x25,
	ISCSI_OP_LOGOUT_RSP = 0x26,
	ISCSI_OP_R2T = 0x31,
	ISCSI_OP_ASYNC_MSG = 0x32,
	ISCSI_OP_REJECT = 0x3f,
};

#define ISCSI_OPCODE_MASK 0x3f
#define ISCSI_FLAG_IMMEDIATE 0x40	/* byte 0, I bit (initiator opcodes) */
#define ISCSI_FLAG_FINAL 0x80		/* byte 1, F bit */

/* SCSI Command byte 1 (§11.3.1). */
#define ISCSI_CMD_FLAG_READ 0x40
#define ISCSI_CMD_FLAG_WRITE 0x20
#define ISCSI_CMD_ATTR_MASK 0x07

/* SCSI Response byte 1 (§11.4.1) and Data-In byte 1 (§11.7.1). */
#define ISCSI_RSP_FLAG_BIDI_OVERFLOW 0x10
#define ISCSI_RSP_FLAG_BIDI_UNDERFLOW 0x08
#define ISCSI_RSP_FLAG_OVERFLOW 0x04
#define ISCSI_RSP_FLAG_UNDERFLOW 0x02
#define ISCSI_DATAIN_FLAG_ACK 0x40
#define ISCSI_DATAIN_FLAG_STATUS 0x01

/* §11.4.3 SCSI Response "Response" field. */
#define ISCSI_RESPONSE_COMPLETED 0x00
#define ISCSI_RESPONSE_TARGET_FAILURE 0x01

/* Login request/response byte 1 (§11.12.1). */
#define ISCSI_LOGIN_FLAG_TRANSIT 0x80
#define ISCSI_LOGIN_FLAG_CONTINUE 0x40
#define ISCSI_LOGIN_CSG_SHIFT 2
#define ISCSI_LOGIN_CSG_MASK 0x0c
#define ISCSI_LOGIN_NSG_MASK 0x03
enum iscsi_login_stage {
	ISCSI_STAGE_SECURITY = 0,
	ISCSI_STAGE_OPERATIONAL = 1,
	ISCSI_STAGE_FULL_FEATURE = 3,
};

/* §11.13.5 login status class and detail, as (class << 8) | detail. */
enum iscsi_login_status {
	ISCSI_LOGIN_SUCCESS = 0x0000,
	ISCSI_LOGIN_REDIRECT_TEMP = 0x0101,
	ISCSI_LOGIN_REDIRECT_PERM = 0x0102,
	ISCSI_LOGIN_INITIATOR_ERROR = 0x0200,
	ISCSI_LOGIN_AUTH_FAILED = 0x0201,
	ISCSI_LOGIN_FORBIDDEN = 0x0202,
	ISCSI_LOGIN_NOT_FOUND = 0x0203,
	ISCSI_LOGIN_TARGET_REMOVED = 0x0204,
	ISCSI_LOGIN_UNSUPPORTED_VERSION = 0x0205,
	ISCSI_LOGIN_TOO_MANY_CONNECTIONS = 0x0206,
	ISCSI_LOGIN_MISSING_PARAMETER = 0x0207,
	ISCSI_LOGIN_CANT_INCLUDE_IN_SESSION = 0x0208,
	ISCSI_LOGIN_SESSION_TYPE_UNSUPPORTED = 0x0209,
	ISCSI_LOGIN_SESSION_DOES_NOT_EXIST = 0x020a,
	ISCSI_LOGIN_INVALID_DURING_LOGIN = 0x020b,
	ISCSI_LOGIN_TARGET_ERROR = 0x0300,
	ISCSI_LOGIN_SERVICE_UNAVAILABLE = 0x0301,
	ISCSI_LOGIN_OUT_OF_RESOURCES = 0x0302,
};

/* §11.5.1 Task Management functions and §11.6.1 responses. */
enum iscsi_tmf_function {
	ISCSI_TMF_ABORT_TASK = 1,
	ISCSI_TMF_ABORT_TASK_SET = 2,
	ISCSI_TMF_CLEAR_ACA = 3,
	ISCSI_TMF_CLEAR_TASK_SET = 4,
	ISCSI_TMF_LUN_RESET = 5,
	ISCSI_TMF_TARGET_WARM_RESET = 6,
	ISCSI_TMF_TARGET_COLD_RESET = 7,
	ISCSI_TMF_TASK_REASSIGN = 8,
};
enum iscsi_tmf_response {
	ISCSI_TMF_RSP_COMPLETE = 0,
	ISCSI_TMF_RSP_NO_TASK = 1,
	ISCSI_TMF_RSP_NO_LUN = 2,
	ISCSI_TMF_RSP_TASK_ALLEGIANT = 3,
	ISCSI_TMF_RSP_NO_REASSIGN = 4,
	ISCSI_TMF_RSP_NOT_SUPPORTED = 5,
	ISCSI_TMF_RSP_AUTH_FAILED = 6,
	ISCSI_TMF_RSP_REJECTED = 255,
};

/* §11.14.1 logout reasons, §11.15.1 logout responses. */
enum iscsi_logout_reason {
	ISCSI_LOGOUT_CLOSE_SESSION = 0,
	ISCSI_LOGOUT_CLOSE_CONNECTION = 1,
	ISCSI_LOGOUT_REMOVE_FOR_RECOVERY = 2,
};
enum iscsi_logout_response {
	ISCSI_LOGOUT_RSP_OK = 0,
	ISCSI_LOGOUT_RSP_CID_NOT_FOUND = 1,
	ISCSI_LOGOUT_RSP_RECOVERY_UNSUPPORTED = 2,
	ISCSI_LOGOUT_RSP_CLEANUP_FAILED = 3,
};

/* §11.9.1 AsyncEvent codes. */
enum iscsi_async_event {
	ISCSI_ASYNC_SCSI_EVENT = 0,
	ISCSI_ASYNC_LOGOUT_REQUEST = 1,
	ISCSI_ASYNC_DROP_CONNECTION = 2,
	ISCSI_ASYNC_DROP_ALL_CONNECTIONS = 3,
	ISCSI_ASYNC_RENEGOTIATE = 4,
};

/* §11.17.1 Reject reasons. */
enum iscsi_reject_reason {
	ISCSI_REJECT_DIGEST_ERROR = 0x02,
	ISCSI_REJECT_SNACK_REJECT = 0x03,
	ISCSI_REJECT_PROTOCOL_ERROR = 0x04,
	ISCSI_REJECT_CMD_NOT_SUPPORTED = 0x05,
	ISCSI_REJECT_IMMEDIATE_CMD_REJECT = 0x06,
	ISCSI_REJECT_TASK_IN_PROGRESS = 0x07,
	ISCSI_REJECT_INVALID_DATA_ACK = 0x08,
	ISCSI_REJECT_INVALID_PDU_FIELD = 0x09,
	ISCSI_REJECT_OUT_OF_RESOURCES = 0x0a,
	ISCSI_REJECT_NEGOTIATION_RESET = 0x0b,
	ISCSI_REJECT_WAITING_FOR_LOGOUT = 0x0c,
};

/* AHS types (§11.2.2). */
#define ISCSI_AHS_EXTENDED_CDB 1
#define ISCSI_AHS_BIDI_READ_LEN 2

/*
 * BHS fields by their RFC 7143 names. Every byte offset into a BHS in
 * daemon/iscsi/ goes through these, so a field is named where it is read
 * or written. Several fields share an offset according to the opcode
 * (bytes 20..23 are the TTT, the CID, the ExpectedDataTransferLength or
 * the Referenced Task Tag); each gets its own accessor with the offset
 * written once here.
 */
#define ISCSI_BHS_OFF_FLAGS	     1	/* byte 1: F bit, opcode-specific flags */
#define ISCSI_BHS_OFF_BYTE2	     2	/* Response, Reject Reason, VersionMax */
#define ISCSI_BHS_OFF_BYTE3	     3	/* Status, VersionMin / VersionActive */
#define ISCSI_BHS_OFF_LUN	     8	/* §11.2.1.4 LUN, or ISID in Login PDUs */
#define ISCSI_BHS_OFF_TSIH	     14 /* §11.12.6, Login PDUs */
#define ISCSI_BHS_OFF_ITT	     16
#define ISCSI_BHS_OFF_TTT	     20 /* also CID (Login, Logout), EDTL, RTT */
#define ISCSI_BHS_OFF_SN	     24 /* CmdSN (requests), StatSN (responses) */
#define ISCSI_BHS_OFF_EXP_SN	     28 /* ExpStatSN (requests), ExpCmdSN (responses) */
#define ISCSI_BHS_OFF_MAX_CMDSN	     32 /* MaxCmdSN; RefCmdSN in TMF requests; CDB */
#define ISCSI_BHS_OFF_DATASN	     36 /* DataSN, R2TSN, ExpDataSN, Login Status, AsyncEvent */
#define ISCSI_BHS_OFF_BUFFER_OFFSET 40 /* Buffer Offset; Time2Wait; Async Parameter2 */
#define ISCSI_BHS_OFF_TIME2RETAIN   42 /* Time2Retain (Logout); Async Parameter3 */
#define ISCSI_BHS_OFF_RESIDUAL	     44 /* Residual Count; R2T Desired Data Transfer Length */
#define ISCSI_ISID_LEN		     6	/* §11.12.5 */
/* Byte 1 without the F bit: TMF Function (§11.5.1), Logout Reason Code (§11.14.1). */
#define ISCSI_BHS_FUNCTION_MASK     0x7f
#define ISCSI_BHS_CDB_LEN	     16 /* §11.3.5: CDB bytes 32..47 */

/* Fields common to every BHS (§11.2.1). */
static inline uint8_t iscsi_bhs_opcode(const uint8_t *bhs)
{
	return bhs[0] & ISCSI_OPCODE_MASK;
}

/* Byte 0 of a PDU we send: the opcode (target opcodes have no I bit). */
static inline void iscsi_bhs_set_opcode(uint8_t *bhs, uint8_t opcode)
{
	bhs[0] = opcode;
}

static inline bool iscsi_bhs_immediate(const uint8_t *bhs)
{
	return (bhs[0] & ISCSI_FLAG_IMMEDIATE) != 0;
}

/* Byte 1: the F bit and the opcode-specific flags. */
static inline uint8_t iscsi_bhs_flags(const uint8_t *bhs)
{
	return bhs[ISCSI_BHS_OFF_FLAGS];
}

static inline void iscsi_bhs_set_flags(uint8_t *bhs, uint8_t flags)
{
	bhs[ISCSI_BHS_OFF_FLAGS] = flags;
}

static inline void iscsi_bhs_add_flags(uint8_t *bhs, uint8_t flags)
{
	bhs[ISCSI_BHS_OFF_FLAGS] |= flags;
}

static inline void iscsi_bhs_clear_flags(uint8_t *bhs, uint8_t flags)
{
	bhs[ISCSI_BHS_OFF_FLAGS] &= (uint8_t)~flags;
}

static inline bool iscsi_bhs_final(const uint8_t *bhs)
{
	return (bhs[ISCSI_BHS_OFF_FLAGS] & ISCSI_FLAG_FINAL) != 0;
}

/* TotalAHSLength in bytes. */
static inline uint32_t iscsi_bhs_ahs_len(const uint8_t *bhs)
{
	return (uint32_t)bhs[4] * 4u;
}

static inline uint32_t iscsi_bhs_data_len(const uint8_t *bhs)
{
	return get_be24(bhs + 5);
}

static inline void iscsi_bhs_set_data_len(uint8_t *bhs, uint32_t len)
{
	put_be24(bhs + 5, len);
}

static inline uint64_t iscsi_bhs_lun(const uint8_t *bhs)
{
	return get_be64(bhs + ISCSI_BHS_OFF_LUN);
}

static inline void iscsi_bhs_set_lun(uint8_t *bhs, uint64_t lun)
{
	put_be64(bhs + ISCSI_BHS_OFF_LUN, lun);
}

static inline uint32_t iscsi_bhs_itt(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_ITT);
}

static inline void iscsi_bhs_set_itt(uint8_t *bhs, uint32_t itt)
{
	put_be32(bhs + ISCSI_BHS_OFF_ITT, itt);
}

/* Target Transfer Tag: NOP (§11.18, §11.19), Text (§11.10), R2T, Data. */
static inline uint32_t iscsi_bhs_ttt(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_TTT);
}

static inline void iscsi_bhs_set_ttt(uint8_t *bhs, uint32_t ttt)
{
	put_be32(bhs + ISCSI_BHS_OFF_TTT, ttt);
}

/* Requests: CmdSN (bytes 24..27), ExpStatSN (28..31). */
static inline uint32_t iscsi_bhs_cmdsn(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_SN);
}

static inline uint32_t iscsi_bhs_exp_statsn(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_EXP_SN);
}

/* Responses: StatSN (24..27), ExpCmdSN (28..31), MaxCmdSN (32..35). */
static inline uint32_t iscsi_bhs_statsn(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_SN);
}

static inline void iscsi_bhs_set_statsn(uint8_t *bhs, uint32_t statsn)
{
	put_be32(bhs + ISCSI_BHS_OFF_SN, statsn);
}

static inline void iscsi_bhs_set_exp_cmdsn(uint8_t *bhs, uint32_t exp_cmdsn)
{
	put_be32(bhs + ISCSI_BHS_OFF_EXP_SN, exp_cmdsn);
}

static inline void iscsi_bhs_set_max_cmdsn(uint8_t *bhs, uint32_t max_cmdsn)
{
	put_be32(bhs + ISCSI_BHS_OFF_MAX_CMDSN, max_cmdsn);
}

/* SCSI Command (§11.3): ExpectedDataTransferLength and the CDB. */
static inline uint32_t iscsi_bhs_edtl(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_TTT);
}

static inline const uint8_t *iscsi_bhs_cdb(const uint8_t *bhs)
{
	return bhs + ISCSI_BHS_OFF_MAX_CMDSN;
}

/* SCSI Response (§11.4.1, §11.4.2) and TMF/Logout Response: byte 2, byte 3. */
static inline void iscsi_bhs_set_response(uint8_t *bhs, uint8_t response)
{
	bhs[ISCSI_BHS_OFF_BYTE2] = response;
}

static inline void iscsi_bhs_set_status(uint8_t *bhs, uint8_t status)
{
	bhs[ISCSI_BHS_OFF_BYTE3] = status;
}

/* Reject (§11.17.1): Reason. */
static inline void iscsi_bhs_set_reject_reason(uint8_t *bhs, uint8_t reason)
{
	bhs[ISCSI_BHS_OFF_BYTE2] = reason;
}

/* Data-In, Data-Out (§11.7): DataSN, Buffer Offset; R2T (§11.8): R2TSN. */
static inline uint32_t iscsi_bhs_datasn(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_DATASN);
}

static inline void iscsi_bhs_set_datasn(uint8_t *bhs, uint32_t datasn)
{
	put_be32(bhs + ISCSI_BHS_OFF_DATASN, datasn);
}

static inline void iscsi_bhs_set_r2tsn(uint8_t *bhs, uint32_t r2tsn)
{
	put_be32(bhs + ISCSI_BHS_OFF_DATASN, r2tsn);
}

/* SCSI Response (§11.4.6): ExpDataSN. */
static inline void iscsi_bhs_set_exp_datasn(uint8_t *bhs, uint32_t exp_datasn)
{
	put_be32(bhs + ISCSI_BHS_OFF_DATASN, exp_datasn);
}

static inline uint32_t iscsi_bhs_buffer_offset(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_BUFFER_OFFSET);
}

static inline void iscsi_bhs_set_buffer_offset(uint8_t *bhs, uint32_t offset)
{
	put_be32(bhs + ISCSI_BHS_OFF_BUFFER_OFFSET, offset);
}

/* SCSI Response, Data-In (§11.4.5): Residual Count. */
static inline void iscsi_bhs_set_residual_count(uint8_t *bhs, uint32_t count)
{
	put_be32(bhs + ISCSI_BHS_OFF_RESIDUAL, count);
}

/* R2T (§11.8.4): Desired Data Transfer Length. */
static inline void iscsi_bhs_set_desired_data_len(uint8_t *bhs, uint32_t len)
{
	put_be32(bhs + ISCSI_BHS_OFF_RESIDUAL, len);
}

/* Task Management Function Request (§11.5): Function, Referenced Task Tag, RefCmdSN. */
static inline uint8_t iscsi_bhs_tmf_function(const uint8_t *bhs)
{
	return bhs[ISCSI_BHS_OFF_FLAGS] & ISCSI_BHS_FUNCTION_MASK;
}

static inline uint32_t iscsi_bhs_rtt(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_TTT);
}

static inline uint32_t iscsi_bhs_ref_cmdsn(const uint8_t *bhs)
{
	return get_be32(bhs + ISCSI_BHS_OFF_MAX_CMDSN);
}

/* Logout Request (§11.14): Reason Code and CID. Login Request: CID (§11.12.7). */
static inline uint8_t iscsi_bhs_logout_reason(const uint8_t *bhs)
{
	return bhs[ISCSI_BHS_OFF_FLAGS] & ISCSI_BHS_FUNCTION_MASK;
}

static inline uint16_t iscsi_bhs_cid(const uint8_t *bhs)
{
	return get_be16(bhs + ISCSI_BHS_OFF_TTT);
}

/* Logout Response (§11.15.4, §11.15.5): Time2Wait, Time2Retain. */
static inline void iscsi_bhs_set_time2wait(uint8_t *bhs, uint16_t seconds)
{
	put_be16(bhs + ISCSI_BHS_OFF_BUFFER_OFFSET, seconds);
}

static inline void iscsi_bhs_set_time2retain(uint8_t *bhs, uint16_t seconds)
{
	put_be16(bhs + ISCSI_BHS_OFF_TIME2RETAIN, seconds);
}

/* Asynchronous Message (§11.9): AsyncEvent and Parameter3. */
static inline void iscsi_bhs_set_async_event(uint8_t *bhs, uint8_t event)
{
	bhs[ISCSI_BHS_OFF_DATASN] = event;
}

static inline void iscsi_bhs_set_async_param3(uint8_t *bhs, uint16_t value)
{
	put_be16(bhs + ISCSI_BHS_OFF_TIME2RETAIN, value);
}

/* Login Request/Response (§11.12, §11.13): versions, ISID, TSIH, Status. */
static inline uint8_t iscsi_bhs_version_min(const uint8_t *bhs)
{
	return bhs[ISCSI_BHS_OFF_BYTE3];
}

static inline void iscsi_bhs_set_versions(uint8_t *bhs, uint8_t version_max,
					  uint8_t version_active)
{
	bhs[ISCSI_BHS_OFF_BYTE2] = version_max;
	bhs[ISCSI_BHS_OFF_BYTE3] = version_active;
}

static inline const uint8_t *iscsi_bhs_isid(const uint8_t *bhs)
{
	return bhs + ISCSI_BHS_OFF_LUN;
}

static inline void iscsi_bhs_set_isid(uint8_t *bhs, const uint8_t *isid)
{
	for (unsigned int i = 0; i < ISCSI_ISID_LEN; i++) {
		bhs[ISCSI_BHS_OFF_LUN + i] = isid[i];
	}
}

static inline uint16_t iscsi_bhs_tsih(const uint8_t *bhs)
{
	return get_be16(bhs + ISCSI_BHS_OFF_TSIH);
}

static inline void iscsi_bhs_set_tsih(uint8_t *bhs, uint16_t tsih)
{
	put_be16(bhs + ISCSI_BHS_OFF_TSIH, tsih);
}

/* Status-Class (byte 36) and Status-Detail (byte 37) as (class << 8) | detail. */
static inline void iscsi_bhs_set_login_status(uint8_t *bhs, uint16_t status)
{
	put_be16(bhs + ISCSI_BHS_OFF_DATASN, status);
}

/* CRC32C as the iSCSI digests use it (§11.1, RFC 3720 App. B): initial
 * value all ones, final complement. Implemented in digest.c. */
uint32_t iscsi_crc32c(const void *data, size_t len);
/* Continue a CRC over scattered pieces: crc = iscsi_crc32c_update(~0u, ...),
 * ..., digest = ~crc. */
uint32_t iscsi_crc32c_update(uint32_t crc, const void *data, size_t len);
/* Put/get a digest in its wire byte order (RFC 3720 App. B.4, as real
 * initiators send it); digest.c owns that decision. */
void iscsi_digest_put(uint8_t *p, uint32_t digest);
uint32_t iscsi_digest_get(const uint8_t *p);

#endif
