// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_scsi_sense: the sense builder in both formats (SPC-4 4.5.2, 4.5.3),
 * the INFORMATION field and the sense-key-specific field pointer, checked
 * byte by byte against the layouts in the standard.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/scsi/sense.h"
#include "tests/unit/check_main.h"

START_TEST(test_fixed_basic)
{
	struct scsi_sense_info si = {
		.key = SENSE_KEY_ILLEGAL_REQUEST, .asc_ascq = ASC_LBA_OUT_OF_RANGE,
	};
	uint8_t b[64];
	uint8_t key;
	uint16_t asc;

	memset(b, 0xee, sizeof(b));
	ck_assert_uint_eq(scsi_sense_build(b, sizeof(b), false, &si), 18);
	ck_assert_uint_eq(b[0], 0x70);	/* current, VALID=0 */
	ck_assert_uint_eq(b[2], 0x05);
	ck_assert_uint_eq(b[7], 10);
	ck_assert_uint_eq(b[12], 0x21);
	ck_assert_uint_eq(b[13], 0x00);
	ck_assert_uint_eq(b[15], 0);	/* SKSV clear */
	ck_assert_uint_eq(b[18], 0xee);	/* nothing beyond 18 bytes */
	ck_assert_int_eq(scsi_sense_parse(b, 18, &key, &asc), 0);
	ck_assert_uint_eq(key, SENSE_KEY_ILLEGAL_REQUEST);
	ck_assert_uint_eq(asc, ASC_LBA_OUT_OF_RANGE);
}
END_TEST

START_TEST(test_fixed_info_and_pointer)
{
	struct scsi_sense_info si = {
		.key = SENSE_KEY_MISCOMPARE, .asc_ascq = ASC_MISCOMPARE_DURING_VERIFY,
		.info_valid = true, .info = 0x01020304,
	};
	uint8_t b[252];

	scsi_sense_field_pointer(&si, true, 0x0102, 5);
	ck_assert_uint_eq(scsi_sense_build(b, sizeof(b), false, &si), 18);
	ck_assert_uint_eq(b[0], 0xf0);	/* VALID */
	ck_assert_uint_eq(b[3], 0x01);
	ck_assert_uint_eq(b[6], 0x04);
	ck_assert_uint_eq(b[15], 0x80 | 0x40 | 0x08 | 5);
	ck_assert_uint_eq(b[16], 0x01);
	ck_assert_uint_eq(b[17], 0x02);

	/* INFORMATION beyond 32 bits cannot be valid in fixed format. */
	si.info = UINT64_C(0x100000000);
	scsi_sense_build(b, sizeof(b), false, &si);
	ck_assert_uint_eq(b[0], 0x70);
}
END_TEST

START_TEST(test_descriptor)
{
	struct scsi_sense_info si = {
		.key = SENSE_KEY_MISCOMPARE, .asc_ascq = ASC_MISCOMPARE_DURING_VERIFY,
		.info_valid = true, .info = UINT64_C(0x1122334455667788),
	};
	uint8_t b[252];
	uint8_t key;
	uint16_t asc;
	size_t n;

	scsi_sense_field_pointer(&si, false, 9, -1);
	n = scsi_sense_build(b, sizeof(b), true, &si);
	ck_assert_uint_eq(n, 8 + 12 + 8);
	ck_assert_uint_eq(b[0], 0x72);
	ck_assert_uint_eq(b[1], 0x0e);
	ck_assert_uint_eq(b[2], 0x1d);
	ck_assert_uint_eq(b[3], 0x00);
	ck_assert_uint_eq(b[7], n - 8);
	/* Information descriptor. */
	ck_assert_uint_eq(b[8], 0x00);
	ck_assert_uint_eq(b[9], 0x0a);
	ck_assert_uint_eq(b[10], 0x80);
	ck_assert_uint_eq(b[12], 0x11);
	ck_assert_uint_eq(b[19], 0x88);
	/* Sense key specific descriptor: parameter list pointer, no bit pointer. */
	ck_assert_uint_eq(b[20], 0x02);
	ck_assert_uint_eq(b[21], 0x06);
	ck_assert_uint_eq(b[24], 0x80);
	ck_assert_uint_eq(b[25], 0x00);
	ck_assert_uint_eq(b[26], 0x09);
	ck_assert_int_eq(scsi_sense_parse(b, n, &key, &asc), 0);
	ck_assert_uint_eq(key, SENSE_KEY_MISCOMPARE);
	ck_assert_uint_eq(asc, ASC_MISCOMPARE_DURING_VERIFY);
}
END_TEST

START_TEST(test_descriptor_minimal_and_small_cap)
{
	struct scsi_sense_info si = {
		.key = SENSE_KEY_UNIT_ATTENTION, .asc_ascq = ASC_POWER_ON_RESET_OR_BDR,
	};
	uint8_t b[8];

	ck_assert_uint_eq(scsi_sense_build(b, sizeof(b), true, &si), 8);
	ck_assert_uint_eq(b[7], 0);
	ck_assert_uint_eq(b[2], 0x29);
	/* Too small for fixed format: nothing written. */
	ck_assert_uint_eq(scsi_sense_build(b, sizeof(b), false, &si), 0);
	ck_assert_int_eq(scsi_sense_parse(b, 3, &b[0], &(uint16_t){ 0 }), -EINVAL);
}
END_TEST

/*
 * Backing store errors: out of space (thin file on a full file system,
 * quota) is DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT 7/27/07
 * (SBC-3 4.7.3.6); EIO stays a MEDIUM ERROR.
 */
START_TEST(test_sense_from_errno)
{
	static const struct {
		int err;
		bool writing;
		uint8_t key;
		uint16_t asc;
	} cases[] = {
		{ -ENOSPC, true, SENSE_KEY_DATA_PROTECT, 0x2707 },
		{ -EDQUOT, true, SENSE_KEY_DATA_PROTECT, 0x2707 },
		{ -ENOSPC, false, SENSE_KEY_DATA_PROTECT, 0x2707 },
		{ -EIO, true, SENSE_KEY_MEDIUM_ERROR, 0x0c00 },
		{ -EIO, false, SENSE_KEY_MEDIUM_ERROR, 0x1100 },
		{ -EROFS, true, SENSE_KEY_DATA_PROTECT, 0x2700 },
		{ -EPERM, true, SENSE_KEY_DATA_PROTECT, 0x2700 },
	};

	ck_assert_uint_eq(ASC_SPACE_ALLOC_FAILED_WRITE_PROTECT, 0x2707);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t key = 0xff;
		uint16_t asc = 0xffff;

		scsi_sense_from_errno(cases[i].err, cases[i].writing, &key, &asc);
		ck_assert_msg(key == cases[i].key && asc == cases[i].asc,
			      "errno %d (%s): %x/%04x, want %x/%04x", -cases[i].err,
			      cases[i].writing ? "write" : "read", key, asc, cases[i].key,
			      cases[i].asc);
	}
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("scsi_sense");
	TCase *tc = tcase_create("build");

	tcase_add_test(tc, test_fixed_basic);
	tcase_add_test(tc, test_fixed_info_and_pointer);
	tcase_add_test(tc, test_descriptor);
	tcase_add_test(tc, test_descriptor_minimal_and_small_cap);
	tcase_add_test(tc, test_sense_from_errno);
	suite_add_tcase(s, tc);
	return s;
}
