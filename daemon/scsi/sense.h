/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sense data (SPC-4 4.5): named sense keys and additional sense codes, and a
 * builder for the fixed (70h) and descriptor (72h) formats. The format is the
 * caller's choice: it follows the D_SENSE bit of the Control mode page of the
 * logical unit (SPC-4 7.5.8). Pure code: no I/O, no logging.
 */
#ifndef QUORATE_DAEMON_SCSI_SENSE_H
#define QUORATE_DAEMON_SCSI_SENSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SPC-4 4.5.6, table 27: sense keys. */
enum scsi_sense_key {
	SENSE_KEY_NO_SENSE = 0x0,
	SENSE_KEY_RECOVERED_ERROR = 0x1,
	SENSE_KEY_NOT_READY = 0x2,
	SENSE_KEY_MEDIUM_ERROR = 0x3,
	SENSE_KEY_HARDWARE_ERROR = 0x4,
	SENSE_KEY_ILLEGAL_REQUEST = 0x5,
	SENSE_KEY_UNIT_ATTENTION = 0x6,
	SENSE_KEY_DATA_PROTECT = 0x7,
	SENSE_KEY_BLANK_CHECK = 0x8,
	SENSE_KEY_ABORTED_COMMAND = 0xb,
	SENSE_KEY_MISCOMPARE = 0xe,
};

/* SPC-4 4.5.6, table 28: additional sense code (high byte) and qualifier (low byte). */
#define SCSI_ASC(asc, ascq) ((uint16_t)(((asc) << 8) | (ascq)))
enum scsi_asc_ascq {
	ASC_NO_ADDITIONAL_SENSE = SCSI_ASC(0x00, 0x00),
	ASC_LUN_NOT_READY_CAUSE_NOT_REPORTABLE = SCSI_ASC(0x04, 0x00),
	ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE = SCSI_ASC(0x04, 0x0c),
	ASC_LUN_NOT_READY_OFFLINE = SCSI_ASC(0x04, 0x12),
	ASC_WRITE_ERROR = SCSI_ASC(0x0c, 0x00),
	ASC_INVALID_FIELD_IN_CMD_IU = SCSI_ASC(0x0e, 0x03),
	ASC_UNRECOVERED_READ_ERROR = SCSI_ASC(0x11, 0x00),
	ASC_MISCOMPARE_DURING_VERIFY = SCSI_ASC(0x1d, 0x00),
	ASC_PARAMETER_LIST_LENGTH_ERROR = SCSI_ASC(0x1a, 0x00),
	ASC_INVALID_COMMAND_OPERATION_CODE = SCSI_ASC(0x20, 0x00),
	ASC_LBA_OUT_OF_RANGE = SCSI_ASC(0x21, 0x00),
	ASC_INVALID_FIELD_IN_CDB = SCSI_ASC(0x24, 0x00),
	ASC_LUN_NOT_SUPPORTED = SCSI_ASC(0x25, 0x00),
	ASC_INVALID_FIELD_IN_PARAMETER_LIST = SCSI_ASC(0x26, 0x00),
	ASC_PARAMETER_VALUE_INVALID = SCSI_ASC(0x26, 0x02),
	ASC_WRITE_PROTECTED = SCSI_ASC(0x27, 0x00),
	ASC_SPACE_ALLOC_FAILED_WRITE_PROTECT = SCSI_ASC(0x27, 0x07),	/* SBC-3 4.7.3.6 */
	ASC_POWER_ON_RESET_OR_BDR = SCSI_ASC(0x29, 0x00),
	ASC_POWER_ON_OCCURRED = SCSI_ASC(0x29, 0x01),
	ASC_SCSI_BUS_RESET_OCCURRED = SCSI_ASC(0x29, 0x02),
	ASC_BUS_DEVICE_RESET_FUNCTION = SCSI_ASC(0x29, 0x03),
	ASC_I_T_NEXUS_LOSS_OCCURRED = SCSI_ASC(0x29, 0x07),
	ASC_MODE_PARAMETERS_CHANGED = SCSI_ASC(0x2a, 0x01),
	ASC_RESERVATIONS_PREEMPTED = SCSI_ASC(0x2a, 0x03),
	ASC_RESERVATIONS_RELEASED = SCSI_ASC(0x2a, 0x04),
	ASC_REGISTRATIONS_PREEMPTED = SCSI_ASC(0x2a, 0x05),
	ASC_ASYMMETRIC_ACCESS_STATE_CHANGED = SCSI_ASC(0x2a, 0x06),
	ASC_CAPACITY_DATA_HAS_CHANGED = SCSI_ASC(0x2a, 0x09),
	ASC_COMMANDS_CLEARED_BY_ANOTHER_INITIATOR = SCSI_ASC(0x2f, 0x00),
	ASC_SAVING_PARAMETERS_NOT_SUPPORTED = SCSI_ASC(0x39, 0x00),
	ASC_MEDIUM_NOT_PRESENT = SCSI_ASC(0x3a, 0x00),
	ASC_REPORTED_LUNS_DATA_HAS_CHANGED = SCSI_ASC(0x3f, 0x0e),
	ASC_INTERNAL_TARGET_FAILURE = SCSI_ASC(0x44, 0x00),
	ASC_MEDIUM_REMOVAL_PREVENTED = SCSI_ASC(0x53, 0x02),
	ASC_MISCOMPARE_VERIFY_OF_UNMAPPED_LBA = SCSI_ASC(0x1d, 0x01),
};

/* SPC-4 4.5.2.4.2: sense-key-specific field pointer bytes. */
#define SENSE_SKS_VALID 0x80
#define SENSE_SKS_CD 0x40	/* the pointer is into the CDB, not parameter data */
#define SENSE_SKS_BPV 0x08	/* the bit pointer is valid */
#define SENSE_SKS_BIT_MASK 0x07

/* Response codes (SPC-4 4.5.1). */
#define SENSE_RESP_FIXED_CURRENT 0x70
#define SENSE_RESP_DESC_CURRENT 0x72
#define SENSE_FIXED_VALID 0x80
#define SENSE_FIXED_LEN 18
#define SENSE_FIXED_ADDL_LEN 10	/* bytes after byte 7 */

/* Descriptor types (SPC-4 4.5.2.1, table 29). */
#define SENSE_DESC_INFORMATION 0x00
#define SENSE_DESC_SKS 0x02
#define SENSE_DESC_INFO_LEN 0x0a
#define SENSE_DESC_SKS_LEN 0x06
#define SENSE_DESC_HDR_LEN 8

/* What to report; everything beyond key and ASC/ASCQ is optional. */
struct scsi_sense_info {
	uint8_t key;		/* enum scsi_sense_key */
	uint16_t asc_ascq;	/* enum scsi_asc_ascq */
	bool info_valid;
	uint64_t info;		/* INFORMATION: LBA, miscompare offset... */
	bool sks_valid;
	uint8_t sks[3];		/* sense-key-specific bytes, SKSV included */
};

/**
 * Write sense data for @si into @buf (at most @cap bytes) in descriptor
 * format if @descriptor, fixed format otherwise.
 * @return the number of bytes written (0 if @cap is too small for a header).
 */
size_t scsi_sense_build(uint8_t *buf, size_t cap, bool descriptor, const struct scsi_sense_info *si);

/** Fill @si's sense-key-specific bytes with a field pointer (@byte, @bit; @bit < 0: none). */
void scsi_sense_field_pointer(struct scsi_sense_info *si, bool in_cdb, unsigned int byte, int bit);

/**
 * Sense for a backing store error @err (-errno) of a media command
 * (@writing: the command changes the medium). Out of space (ENOSPC, EDQUOT
 * on a thin file) is DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT
 * (7/27/07, SBC-3 4.7.3.6), which initiators treat as "out of space, pause"
 * rather than a bad medium; a read-only store is 7/27/00; anything else (EIO...)
 * is a MEDIUM ERROR, WRITE ERROR (3/0C/00) or UNRECOVERED READ ERROR (3/11/00).
 */
void scsi_sense_from_errno(int err, bool writing, uint8_t *key, uint16_t *asc_ascq);

/** Parse key and ASC/ASCQ back from fixed or descriptor sense. @return 0 or -EINVAL. */
int scsi_sense_parse(const uint8_t *buf, size_t len, uint8_t *key, uint16_t *asc_ascq);

#endif
