// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * CRC32C digests and PDU header checks (daemon/iscsi/digest.c,
 * pducheck.c) against the RFC 3720 Appendix B.4 vectors, which list the
 * digest bytes as they appear on the wire.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "daemon/iscsi/pdu.h"
#include "daemon/iscsi/pducheck.h"
#include "tests/unit/check_main.h"

static void check_vector(const uint8_t *data, size_t len, const uint8_t wire[4])
{
	uint8_t out[4];

	iscsi_digest_put(out, iscsi_crc32c(data, len));
	ck_assert_mem_eq(out, wire, 4);
	ck_assert_uint_eq(iscsi_digest_get(wire), iscsi_crc32c(data, len));
}

START_TEST(test_rfc3720_vectors)
{
	uint8_t buf[32];
	static const uint8_t zeros[4] = { 0xaa, 0x36, 0x91, 0x8a };
	static const uint8_t ones[4] = { 0x43, 0xab, 0xa8, 0x62 };
	static const uint8_t inc[4] = { 0x4e, 0x79, 0xdd, 0x46 };
	static const uint8_t dec[4] = { 0x5c, 0xdb, 0x3f, 0x11 };
	static const uint8_t read_pdu[48] = {
		0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
		0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t read_crc[4] = { 0x56, 0x3a, 0x96, 0xd9 };

	memset(buf, 0, sizeof(buf));
	check_vector(buf, sizeof(buf), zeros);
	memset(buf, 0xff, sizeof(buf));
	check_vector(buf, sizeof(buf), ones);
	for (int i = 0; i < 32; i++) {
		buf[i] = (uint8_t)i;
	}
	check_vector(buf, sizeof(buf), inc);
	for (int i = 0; i < 32; i++) {
		buf[i] = (uint8_t)(31 - i);
	}
	check_vector(buf, sizeof(buf), dec);
	check_vector(read_pdu, sizeof(read_pdu), read_crc);
}
END_TEST

START_TEST(test_update_matches_one_shot)
{
	uint8_t buf[100];
	uint32_t crc;

	for (int i = 0; i < 100; i++) {
		buf[i] = (uint8_t)(i * 7 + 3);
	}
	crc = iscsi_crc32c_update(~0u, buf, 10);
	crc = iscsi_crc32c_update(crc, buf + 10, 0);
	crc = iscsi_crc32c_update(crc, buf + 10, 90);
	ck_assert_uint_eq(~crc, iscsi_crc32c(buf, sizeof(buf)));
	/* "123456789" is the CRC-32C check value 0xe3069283. */
	ck_assert_uint_eq(iscsi_crc32c("123456789", 9), 0xe3069283u);
}
END_TEST

static void make_bhs(uint8_t *bhs, uint8_t op, uint8_t ahs_words, uint32_t dsl)
{
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = op;
	bhs[4] = ahs_words;
	iscsi_bhs_set_data_len(bhs, dsl);
}

START_TEST(test_pdu_check)
{
	struct iscsi_pdu_limits login = { .login_phase = true };
	struct iscsi_pdu_limits ffp = {
		.header_digest = true, .data_digest = true, .max_recv_dsl = 65536,
	};
	struct iscsi_pdu_layout l;
	uint8_t bhs[ISCSI_BHS_LEN];

	make_bhs(bhs, ISCSI_OP_LOGIN_REQ | ISCSI_FLAG_IMMEDIATE, 0, 100);
	ck_assert_int_eq(iscsi_pdu_check(bhs, &login, &l), ISCSI_PDU_OK);
	ck_assert_uint_eq(l.rest_header, 0);
	ck_assert_uint_eq(l.rest_data, 100);
	make_bhs(bhs, ISCSI_OP_LOGIN_REQ, 0, 8193);
	ck_assert_int_eq(iscsi_pdu_check(bhs, &login, &l), ISCSI_PDU_ERR_DSL);
	make_bhs(bhs, ISCSI_OP_SCSI_CMD, 0, 0);
	ck_assert_int_eq(iscsi_pdu_check(bhs, &login, &l), ISCSI_PDU_ERR_PHASE);
	ck_assert_uint_eq(iscsi_pdu_err_reject_reason(ISCSI_PDU_ERR_PHASE), 0);

	make_bhs(bhs, ISCSI_OP_SCSI_CMD, 2, 5);
	ck_assert_int_eq(iscsi_pdu_check(bhs, &ffp, &l), ISCSI_PDU_OK);
	ck_assert_uint_eq(l.ahs_len, 8);
	ck_assert_uint_eq(l.rest_header, 8 + 4);
	ck_assert_uint_eq(l.rest_data, 8 + 4);
	make_bhs(bhs, ISCSI_OP_SCSI_CMD, 0, 65537);
	ck_assert_int_eq(iscsi_pdu_check(bhs, &ffp, &l), ISCSI_PDU_ERR_DSL);
	make_bhs(bhs, ISCSI_OP_NOP_OUT, 1, 0);
	ck_assert_int_eq(iscsi_pdu_check(bhs, &ffp, &l), ISCSI_PDU_ERR_AHS);
	make_bhs(bhs, ISCSI_OP_TMF_REQ, 0, 4);
	ck_assert_int_eq(iscsi_pdu_check(bhs, &ffp, &l), ISCSI_PDU_ERR_FIELD);
	make_bhs(bhs, 0x1f, 0, 0);
	ck_assert_int_eq(iscsi_pdu_check(bhs, &ffp, &l), ISCSI_PDU_ERR_OPCODE);
	ck_assert_uint_eq(iscsi_pdu_err_reject_reason(ISCSI_PDU_ERR_OPCODE),
			  ISCSI_REJECT_CMD_NOT_SUPPORTED);
}
END_TEST

START_TEST(test_digest_ok)
{
	uint8_t buf[ISCSI_BHS_LEN + 4];
	uint8_t data[8 + 4] = { 1, 2, 3, 4, 5, 0, 0, 0 };

	memset(buf, 0x5a, ISCSI_BHS_LEN);
	iscsi_digest_put(buf + ISCSI_BHS_LEN, iscsi_crc32c(buf, ISCSI_BHS_LEN));
	ck_assert(iscsi_pdu_header_digest_ok(buf, ISCSI_BHS_LEN));
	buf[3] ^= 1;
	ck_assert(!iscsi_pdu_header_digest_ok(buf, ISCSI_BHS_LEN));
	/* The data digest covers the padding too. */
	iscsi_digest_put(data + 8, iscsi_crc32c(data, 8));
	ck_assert(iscsi_pdu_data_digest_ok(data, 5));
	data[6] = 1;
	ck_assert(!iscsi_pdu_data_digest_ok(data, 5));
}
END_TEST

START_TEST(test_ahs_parse)
{
	struct iscsi_ahs_info info;
	/* Extended CDB AHS for a 32-byte CDB: AHSLength 17, 16 extra bytes. */
	uint8_t ahs[20 + 8] = { 0, 17, ISCSI_AHS_EXTENDED_CDB, 0 };
	uint8_t bidi[8] = { 0, 5, ISCSI_AHS_BIDI_READ_LEN, 0, 0, 0, 0x10, 0 };

	for (int i = 0; i < 16; i++) {
		ahs[4 + i] = (uint8_t)(0xa0 + i);
	}
	memcpy(ahs + 20, bidi, sizeof(bidi));
	ck_assert_int_eq(iscsi_pdu_ahs_parse(ahs, sizeof(ahs), &info), 0);
	ck_assert_uint_eq(info.ext_cdb_len, 16);
	ck_assert_uint_eq(info.ext_cdb[15], 0xaf);
	ck_assert(info.has_bidi_read_len);
	ck_assert_uint_eq(info.bidi_read_len, 0x1000);
	/* Length running past the end, zero length, unknown type. */
	ck_assert_int_eq(iscsi_pdu_ahs_parse(ahs, 16, &info), -EINVAL);
	ahs[1] = 0;
	ck_assert_int_eq(iscsi_pdu_ahs_parse(ahs, sizeof(ahs), &info), -EINVAL);
	bidi[2] = 9;
	ck_assert_int_eq(iscsi_pdu_ahs_parse(bidi, sizeof(bidi), &info), -EINVAL);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("iscsi_digest");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rfc3720_vectors);
	tcase_add_test(tc, test_update_matches_one_shot);
	tcase_add_test(tc, test_pdu_check);
	tcase_add_test(tc, test_digest_ok);
	tcase_add_test(tc, test_ahs_parse);
	suite_add_tcase(s, tc);
	return s;
}
