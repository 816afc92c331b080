// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_scsi_cdb: the command table and the dispatcher's CDB decoding.
 * Table invariants (sorted rows, CDB length from the opcode group, usage
 * byte 0 is the opcode, data direction as SPC-4/SBC-3 define it), then, for
 * every supported command and every reserved bit of its CDB, a real LU on
 * the null store must answer ILLEGAL REQUEST / INVALID FIELD IN CDB with a
 * field pointer to exactly that byte and bit.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/scsi/scsi_int.h"
#include "tests/unit/check_scsi_util.h"
#include "tests/unit/check_main.h"

/* Expected direction per opcode (SPC-4 / SBC-3), independent of the table. */
static const struct {
	uint8_t opcode;
	uint8_t dir;
} expected_dir[] = {
	{ 0x00, SCSI_DIR_NONE }, { 0x03, SCSI_DIR_IN }, { 0x08, SCSI_DIR_IN },
	{ 0x0a, SCSI_DIR_OUT }, { 0x12, SCSI_DIR_IN }, { 0x15, SCSI_DIR_OUT },
	{ 0x16, SCSI_DIR_NONE }, { 0x17, SCSI_DIR_NONE }, { 0x1a, SCSI_DIR_IN },
	{ 0x1b, SCSI_DIR_NONE }, { 0x1e, SCSI_DIR_NONE }, { 0x25, SCSI_DIR_IN },
	{ 0x28, SCSI_DIR_IN }, { 0x2a, SCSI_DIR_OUT }, { 0x2e, SCSI_DIR_OUT },
	{ 0x2f, SCSI_DIR_OUT }, { 0x34, SCSI_DIR_NONE }, { 0x35, SCSI_DIR_NONE },
	{ 0x41, SCSI_DIR_OUT }, { 0x42, SCSI_DIR_OUT }, { 0x55, SCSI_DIR_OUT },
	{ 0x5a, SCSI_DIR_IN }, { 0x5e, SCSI_DIR_IN }, { 0x5f, SCSI_DIR_OUT },
	{ 0x88, SCSI_DIR_IN }, { 0x89, SCSI_DIR_OUT }, { 0x8a, SCSI_DIR_OUT },
	{ 0x8b, SCSI_DIR_OUT }, { 0x8e, SCSI_DIR_OUT }, { 0x8f, SCSI_DIR_OUT },
	{ 0x90, SCSI_DIR_NONE }, { 0x91, SCSI_DIR_NONE }, { 0x93, SCSI_DIR_OUT },
	{ 0x9e, SCSI_DIR_IN }, { 0xa0, SCSI_DIR_IN }, { 0xa3, SCSI_DIR_IN },
	{ 0xa8, SCSI_DIR_IN }, { 0xaa, SCSI_DIR_OUT }, { 0xae, SCSI_DIR_OUT },
	{ 0xaf, SCSI_DIR_OUT },
};

static unsigned int group_len(uint8_t opcode)
{
	switch (opcode >> 5) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 4:
		return 16;
	case 5:
		return 12;
	default:
		return 0;
	}
}

START_TEST(test_table_sorted_and_consistent)
{
	for (unsigned int i = 0; i < scsi_cmd_table_len; i++) {
		const struct scsi_cmd_desc *c = &scsi_cmd_table[i];
		uint8_t cdb[16] = { c->opcode, c->sa };

		if (i) {
			const struct scsi_cmd_desc *p = &scsi_cmd_table[i - 1];

			ck_assert_msg(p->opcode < c->opcode ||
					      (p->opcode == c->opcode && p->sa < c->sa),
				      "row %u (%s) out of order", i, c->name);
			if (p->opcode == c->opcode) {
				ck_assert(c->flags & SCSI_CMD_F_SA);
				ck_assert(p->flags & SCSI_CMD_F_SA);
			}
		}
		ck_assert_uint_eq(c->usage[0], c->opcode);
		ck_assert_msg(c->cdb_len == group_len(c->opcode), "%s: CDB length", c->name);
		ck_assert_ptr_eq(scsi_cmd_lookup(cdb), c);
		ck_assert_int_eq(c->usage[c->cdb_len - 1], 0);	/* CONTROL: NACA unsupported */
		if (c->flags & SCSI_CMD_F_SA) {
			ck_assert_uint_eq(c->usage[1] & 0x1f, 0x1f);
		}
	}
}
END_TEST

START_TEST(test_table_directions)
{
	for (unsigned int i = 0; i < scsi_cmd_table_len; i++) {
		const struct scsi_cmd_desc *c = &scsi_cmd_table[i];
		bool found = false;

		for (unsigned int j = 0; j < sizeof(expected_dir) / sizeof(expected_dir[0]); j++) {
			if (expected_dir[j].opcode == c->opcode) {
				ck_assert_msg(c->dir == expected_dir[j].dir, "%s: direction",
					      c->name);
				found = true;
			}
		}
		ck_assert_msg(found, "%s has no expected direction", c->name);
	}
}
END_TEST

START_TEST(test_lookup_unknown)
{
	uint8_t cdb[16] = { 0xff };

	ck_assert_ptr_null(scsi_cmd_lookup(cdb));
	cdb[0] = 0x9e;
	cdb[1] = 0x1f;		/* no such service action */
	ck_assert_ptr_null(scsi_cmd_lookup(cdb));
	cdb[1] = 0x10;
	ck_assert_str_eq(scsi_cmd_lookup(cdb)->name, "READ CAPACITY(16)");
	ck_assert(scsi_cmd_opcode_has_sa(0xa3));
	ck_assert(!scsi_cmd_opcode_has_sa(0x28));
}
END_TEST

START_TEST(test_lun_encoding)
{
	ck_assert_int_eq(scsi_lun_decode(0), 0);
	ck_assert_int_eq(scsi_lun_decode(UINT64_C(5) << 48), 5);
	ck_assert_int_eq(scsi_lun_decode(scsi_lun_encode(300)), 300);
	ck_assert_uint_eq(scsi_lun_encode(300) >> 56, 0x41);
	ck_assert_int_eq(scsi_lun_decode(1), -1);			/* second level */
	ck_assert_int_eq(scsi_lun_decode(UINT64_C(0x0101) << 48), -1);	/* bus 1 */
	ck_assert_int_eq(scsi_lun_decode(UINT64_C(0xc0) << 56), -1);	/* extended */
}
END_TEST

static void cdb_setup(void)
{
	struct scsi_lu_config cfg;

	t_setup_target();
	t_lu_config(&cfg, "null", NULL, 64 << 20);
	ck_assert_int_eq(scsi_target_add_lu(env.target, 0, &cfg), 0);
	t_add_nexuses();
	t_clear_ua(env.n1, 0);
}

START_TEST(test_reserved_bits_rejected)
{
	struct scsi_task task;
	unsigned int checked = 0;

	for (unsigned int i = 0; i < scsi_cmd_table_len; i++) {
		const struct scsi_cmd_desc *c = &scsi_cmd_table[i];

		if (!c->handler) {
			continue;
		}
		for (unsigned int byte = 1; byte < c->cdb_len; byte++) {
			for (int bit = 0; bit < 8; bit++) {
				uint8_t cdb[16] = { c->opcode };
				uint8_t key;
				uint16_t asc;

				if (c->usage[byte] & (1u << bit)) {
					continue;
				}
				if (c->flags & SCSI_CMD_F_SA) {
					cdb[1] = c->sa;
				}
				cdb[byte] |= (uint8_t)(1u << bit);
				t_run(&task, env.n1, 0, cdb, c->cdb_len, NULL, 0, 0);
				t_sense(&task, &key, &asc);
				ck_assert_msg(key == SENSE_KEY_ILLEGAL_REQUEST &&
						      asc == ASC_INVALID_FIELD_IN_CDB,
					      "%s byte %u bit %d: %x/%04x", c->name, byte, bit,
					      key, asc);
				/* Fixed format: SKSV|C/D|BPV|bit, then the byte index. */
				ck_assert_uint_eq(task.sense[15], 0x80 | 0x40 | 0x08 | bit);
				ck_assert_uint_eq(task.sense[17], byte);
				checked++;
			}
		}
	}
	ck_assert_uint_gt(checked, 100);
}
END_TEST

START_TEST(test_unsupported_and_missing_lun)
{
	struct scsi_task task;
	uint8_t wbuf[10] = { 0x3b, 0x00 };	/* WRITE BUFFER: not supported */
	uint8_t xcopy[16] = { 0x83 };
	uint8_t tur[6] = { 0x00 };
	uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };

	t_run(&task, env.n1, 0, wbuf, sizeof(wbuf), NULL, 0, 0);
	t_expect_sense(&task, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_COMMAND_OPERATION_CODE);
	t_run(&task, env.n1, 0, xcopy, sizeof(xcopy), NULL, 0, 0);
	t_expect_sense(&task, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_COMMAND_OPERATION_CODE);
	t_run(&task, env.n1, 7, tur, sizeof(tur), NULL, 0, 0);
	t_expect_sense(&task, SENSE_KEY_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	t_run(&task, env.n1, 7, inq, sizeof(inq), NULL, 0, 96);
	ck_assert_int_eq(task.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[0], 0x7f);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("scsi_cdb");
	TCase *tc = tcase_create("table");
	TCase *td = tcase_create("dispatch");

	tcase_add_test(tc, test_table_sorted_and_consistent);
	tcase_add_test(tc, test_table_directions);
	tcase_add_test(tc, test_lookup_unknown);
	tcase_add_test(tc, test_lun_encoding);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(td, cdb_setup, t_teardown);
	tcase_add_test(td, test_reserved_bits_rejected);
	tcase_add_test(td, test_unsupported_and_missing_lun);
	suite_add_tcase(s, td);
	return s;
}
