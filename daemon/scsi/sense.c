// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sense data builder (SPC-4 4.5). Fixed format (4.5.3) carries a 32-bit
 * INFORMATION field and three sense-key-specific bytes at fixed offsets;
 * descriptor format (4.5.2) carries the same facts as typed descriptors and
 * a 64-bit INFORMATION field. Which one is sent follows the D_SENSE bit of
 * the Control mode page, so the builder takes the choice as an argument.
 * Output never exceeds the caller's capacity (SCSI_SENSE_MAX).
 */
#include <errno.h>
#include <string.h>

#include "daemon/base/byteorder.h"
#include "daemon/scsi/sense.h"

/* Fixed format byte offsets (SPC-4 4.5.3, table 41). */
#define FIXED_OFF_KEY 2
#define FIXED_OFF_INFO 3
#define FIXED_OFF_ADDL_LEN 7
#define FIXED_OFF_ASC 12
#define FIXED_OFF_ASCQ 13
#define FIXED_OFF_SKS 15

/* Descriptor format header (SPC-4 4.5.2.1, table 28). */
#define DESC_OFF_KEY 1
#define DESC_OFF_ASC 2
#define DESC_OFF_ASCQ 3
#define DESC_OFF_ADDL_LEN 7
#define DESC_INFO_TOTAL 12	/* type, length, VALID, reserved, 8-byte INFORMATION */
#define DESC_SKS_TOTAL 8	/* type, length, 2 reserved, 3 SKS bytes, reserved */

static size_t sense_build_fixed(uint8_t *buf, size_t cap, const struct scsi_sense_info *si)
{
	uint8_t s[SENSE_FIXED_LEN] = { 0 };

	s[0] = SENSE_RESP_FIXED_CURRENT;
	/* The 4-byte INFORMATION field cannot hold a larger value: VALID stays 0 (4.5.3). */
	if (si->info_valid && si->info <= UINT32_MAX) {
		s[0] |= SENSE_FIXED_VALID;
		put_be32(&s[FIXED_OFF_INFO], (uint32_t)si->info);
	}
	s[FIXED_OFF_KEY] = si->key & 0x0f;
	s[FIXED_OFF_ADDL_LEN] = SENSE_FIXED_ADDL_LEN;
	s[FIXED_OFF_ASC] = si->asc_ascq >> 8;
	s[FIXED_OFF_ASCQ] = si->asc_ascq & 0xff;
	if (si->sks_valid) {
		memcpy(&s[FIXED_OFF_SKS], si->sks, sizeof(si->sks));
	}
	if (cap < sizeof(s)) {
		return 0;
	}
	memcpy(buf, s, sizeof(s));
	return sizeof(s);
}

static size_t sense_build_desc(uint8_t *buf, size_t cap, const struct scsi_sense_info *si)
{
	uint8_t s[SENSE_DESC_HDR_LEN + DESC_INFO_TOTAL + DESC_SKS_TOTAL] = { 0 };
	size_t len = SENSE_DESC_HDR_LEN;

	s[0] = SENSE_RESP_DESC_CURRENT;
	s[DESC_OFF_KEY] = si->key & 0x0f;
	s[DESC_OFF_ASC] = si->asc_ascq >> 8;
	s[DESC_OFF_ASCQ] = si->asc_ascq & 0xff;
	if (si->info_valid) {
		/* Information descriptor (4.5.2.2). */
		s[len] = SENSE_DESC_INFORMATION;
		s[len + 1] = SENSE_DESC_INFO_LEN;
		s[len + 2] = SENSE_FIXED_VALID;
		put_be64(&s[len + 4], si->info);
		len += DESC_INFO_TOTAL;
	}
	if (si->sks_valid) {
		/* Sense key specific descriptor (4.5.2.3). */
		s[len] = SENSE_DESC_SKS;
		s[len + 1] = SENSE_DESC_SKS_LEN;
		memcpy(&s[len + 4], si->sks, sizeof(si->sks));
		len += DESC_SKS_TOTAL;
	}
	s[DESC_OFF_ADDL_LEN] = (uint8_t)(len - SENSE_DESC_HDR_LEN);
	if (cap < len) {
		return 0;
	}
	memcpy(buf, s, len);
	return len;
}

size_t scsi_sense_build(uint8_t *buf, size_t cap, bool descriptor, const struct scsi_sense_info *si)
{
	return descriptor ? sense_build_desc(buf, cap, si) : sense_build_fixed(buf, cap, si);
}

void scsi_sense_field_pointer(struct scsi_sense_info *si, bool in_cdb, unsigned int byte, int bit)
{
	si->sks_valid = true;
	si->sks[0] = SENSE_SKS_VALID | (in_cdb ? SENSE_SKS_CD : 0);
	if (bit >= 0) {
		si->sks[0] |= SENSE_SKS_BPV | ((unsigned int)bit & SENSE_SKS_BIT_MASK);
	}
	si->sks[1] = (byte >> 8) & 0xff;
	si->sks[2] = byte & 0xff;
}

void scsi_sense_from_errno(int err, bool writing, uint8_t *key, uint16_t *asc_ascq)
{
	switch (err) {
	case -ENOSPC:
	case -EDQUOT:
		*key = SENSE_KEY_DATA_PROTECT;
		*asc_ascq = ASC_SPACE_ALLOC_FAILED_WRITE_PROTECT;
		return;
	case -EROFS:
	case -EPERM:
		*key = SENSE_KEY_DATA_PROTECT;
		*asc_ascq = ASC_WRITE_PROTECTED;
		return;
	default:
		*key = SENSE_KEY_MEDIUM_ERROR;
		*asc_ascq = writing ? ASC_WRITE_ERROR : ASC_UNRECOVERED_READ_ERROR;
		return;
	}
}

int scsi_sense_parse(const uint8_t *buf, size_t len, uint8_t *key, uint16_t *asc_ascq)
{
	if (len < SENSE_DESC_HDR_LEN) {
		return -EINVAL;
	}
	switch (buf[0] & 0x7f) {
	case SENSE_RESP_FIXED_CURRENT:
		if (len < FIXED_OFF_ASCQ + 1) {
			return -EINVAL;
		}
		*key = buf[FIXED_OFF_KEY] & 0x0f;
		*asc_ascq = SCSI_ASC(buf[FIXED_OFF_ASC], buf[FIXED_OFF_ASCQ]);
		return 0;
	case SENSE_RESP_DESC_CURRENT:
		*key = buf[DESC_OFF_KEY] & 0x0f;
		*asc_ascq = SCSI_ASC(buf[DESC_OFF_ASC], buf[DESC_OFF_ASCQ]);
		return 0;
	default:
		return -EINVAL;
	}
}
