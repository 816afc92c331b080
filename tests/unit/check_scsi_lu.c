// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_scsi_lu: a real logical unit on the null store and on a temporary
 * file, driven through scsi_task_submit() with a real qb_loop and the real
 * io_uring backing engine. Checks INQUIRY/VPD contents, READ CAPACITY,
 * WRITE/READ round trips, COMPARE AND WRITE (match and miscompare), UNMAP
 * with GET LBA STATUS, unit attention sequencing across nexuses, MODE
 * SELECT round trips and the Data-Out length rules, REPORT TARGET PORT
 * GROUPS byte for byte, reads against overlapping in-flight writes (never
 * torn), a shared LU without COMPARE AND WRITE and ORWRITE, and a thin LU
 * on a full tmpfs (7/27/07 and one logged warning).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <syslog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qb/qblog.h>

#include "daemon/scsi/scsi_caw.h"
#include "daemon/scsi/scsi_int.h"
#include "tests/unit/check_scsi_util.h"
#include "tests/unit/check_main.h"

#define BS 512
#define FILE_SIZE (8u << 20)
#define NULL_SIZE (64u << 20)

static struct t_files files;

static void lu_setup(void)
{
	t_setup_two_lus("check_scsi_lu", NULL_SIZE, FILE_SIZE, &files);
}

static void lu_teardown(void)
{
	t_teardown_two_lus(&files);
}

/* ---- INQUIRY ---- */

START_TEST(test_inquiry_standard)
{
	uint8_t cdb[6] = { 0x12, 0, 0, 0, 255, 0 };
	struct scsi_task t;

	t_run(&t, env.n1, 0, cdb, 6, NULL, 0, 255);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.xfer_len, 96);
	ck_assert_uint_eq(t.data_in_len, 96);
	ck_assert_uint_eq(env.buf[0], 0x00);		/* SBC, qualifier 0 */
	ck_assert_uint_eq(env.buf[2], 0x06);		/* SPC-4 */
	ck_assert_uint_eq(env.buf[3] & 0x1f, 0x12);	/* HISUP, format 2 */
	ck_assert_uint_eq(env.buf[4], 91);
	ck_assert_uint_eq(env.buf[5] & 0x30, 0x10);	/* TPGS implicit */
	ck_assert_uint_eq(env.buf[7] & 0x02, 0x02);	/* CmdQue */
	ck_assert_mem_eq(&env.buf[8], "QUORATE TESTDISK        0.1 ", 28);
	ck_assert_uint_eq(env.buf[58], 0x00);		/* SAM-5 descriptor first */
	ck_assert_uint_eq(env.buf[59], 0xa0);

	/* A short allocation length truncates; it is not an error. */
	cdb[4] = 5;
	t_run(&t, env.n1, 0, cdb, 6, NULL, 0, 5);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.xfer_len, 5);
	/* EVPD=0 with a page code is an invalid field at byte 2. */
	cdb[2] = 0x80;
	t_run(&t, env.n1, 0, cdb, 6, NULL, 0, 5);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	ck_assert_uint_eq(t.sense[17], 2);
}
END_TEST

static void vpd(uint16_t lun, uint8_t page, struct scsi_task *t)
{
	uint8_t cdb[6] = { 0x12, 0x01, page, 0x10, 0x00, 0 };

	t_run(t, env.n1, lun, cdb, 6, NULL, 0, 4096);
	ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[1], page);
}

START_TEST(test_inquiry_vpd)
{
	struct scsi_task t;
	unsigned int len, off, found = 0;

	vpd(0, 0x00, &t);
	len = env.buf[3];
	ck_assert_uint_ge(len, 7);
	for (unsigned int i = 1; i < len; i++) {
		ck_assert_uint_lt(env.buf[4 + i - 1], env.buf[4 + i]);	/* ascending */
	}
	vpd(1, 0x80, &t);
	ck_assert_uint_eq(env.buf[3], 6);
	ck_assert_mem_eq(&env.buf[4], "QT0002", 6);

	vpd(0, 0x83, &t);
	len = (unsigned int)env.buf[2] << 8 | env.buf[3];
	ck_assert_uint_eq(t.xfer_len, len + 4);
	for (off = 4; off < len + 4; off += 4 + env.buf[off + 3]) {
		uint8_t type = env.buf[off + 1] & 0x0f, assoc = (env.buf[off + 1] >> 4) & 3;

		if (type == 3 && assoc == 0) {
			ck_assert_uint_eq(env.buf[off + 3], 16);
			ck_assert_uint_eq(env.buf[off + 4] >> 4, 6);	/* NAA 6 */
			ck_assert_uint_eq(env.buf[off + 19], 0xcc);
			found |= 1;
		} else if (type == 4) {
			ck_assert_uint_eq(assoc, 1);
			ck_assert_uint_eq(env.buf[off + 7], 1);
			found |= 2;
		} else if (type == 5) {
			ck_assert_uint_eq(env.buf[off + 7], 1);
			found |= 4;
		} else if (type == 1) {
			ck_assert_mem_eq(&env.buf[off + 4], "QUORATE ", 8);
			found |= 8;
		} else if (type == 8 && assoc == 1) {
			ck_assert_str_eq((const char *)&env.buf[off + 4], T_TPORT);
			found |= 16;
		}
	}
	ck_assert_uint_eq(found, 31);

	vpd(0, 0xb0, &t);
	ck_assert_uint_eq(env.buf[3], 0x3c);
	ck_assert_uint_eq(env.buf[5], 255);				/* CAW length */
	ck_assert_uint_eq(get_be32(&env.buf[8]), (8u << 20) / BS);	/* max transfer */
	ck_assert_uint_gt(get_be32(&env.buf[20]), 0);			/* max unmap LBAs */
	ck_assert_uint_gt(get_be64(&env.buf[36]), 0);			/* max write same */

	vpd(0, 0xb1, &t);
	ck_assert_uint_eq(env.buf[5], 1);				/* non-rotating */

	vpd(0, 0xb2, &t);
	ck_assert_uint_eq(env.buf[5] & 0xe4, 0xe4);	/* LBPU LBPWS LBPWS10 LBPRZ */
	ck_assert_uint_eq(env.buf[6] & 0x07, 0x02);	/* thin */

	{
		uint8_t cdb[6] = { 0x12, 0x01, 0x99, 0, 255, 0 };

		t_run(&t, env.n1, 0, cdb, 6, NULL, 0, 255);
		t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	}
}
END_TEST

/* ---- capacity, read/write ---- */

START_TEST(test_read_capacity)
{
	uint8_t rc10[10] = { 0x25 };
	uint8_t rc16[16] = { 0x9e, 0x10, [13] = 32 };
	struct scsi_task t;

	t_run(&t, env.n1, 0, rc10, 10, NULL, 0, 8);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be32(env.buf), NULL_SIZE / BS - 1);
	ck_assert_uint_eq(get_be32(env.buf + 4), BS);
	t_run(&t, env.n1, 1, rc16, 16, NULL, 0, 32);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.xfer_len, 32);
	ck_assert_uint_eq(get_be64(env.buf), FILE_SIZE / BS - 1);
	ck_assert_uint_eq(env.buf[14] & 0x80, 0x80);	/* LBPME */
	/* PMI=0 with a non-zero LBA is invalid. */
	rc10[5] = 1;
	t_run(&t, env.n1, 0, rc10, 10, NULL, 0, 8);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}
END_TEST

static void write10(uint16_t lun, uint32_t lba, uint16_t n, const uint8_t *data, struct scsi_task *t)
{
	uint8_t cdb[10] = { 0x2a };

	put_be32(&cdb[2], lba);
	cdb[7] = n >> 8;
	cdb[8] = n & 0xff;
	t_run(t, env.n1, lun, cdb, 10, data, n * BS, n * BS);
}

static void read10(uint16_t lun, uint32_t lba, uint16_t n, struct scsi_task *t)
{
	uint8_t cdb[10] = { 0x28 };

	put_be32(&cdb[2], lba);
	cdb[7] = n >> 8;
	cdb[8] = n & 0xff;
	memset(env.buf, 0xee, n * BS);
	t_run(t, env.n1, lun, cdb, 10, NULL, 0, n * BS);
}

START_TEST(test_write_read_roundtrip)
{
	static uint8_t data[64 * BS];
	struct scsi_task t;

	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(i * 7 + 3);
	}
	write10(1, 100, 64, data, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.xfer_len, sizeof(data));
	read10(1, 100, 64, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.data_in_len, sizeof(data));
	ck_assert_mem_eq(env.buf, data, sizeof(data));
	/* The null store reads zeroes whatever was written. */
	write10(0, 100, 64, data, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(0, 100, 1, &t);
	ck_assert_uint_eq(env.buf[0], 0);
	ck_assert_uint_eq(env.buf[BS - 1], 0);
}
END_TEST

/*
 * scsi_lu_update() with a new size: the file grows, every nexus gets
 * CAPACITY DATA HAS CHANGED once (the other LU none), READ CAPACITY(16)
 * reports the new size and I/O reaches the new end; a smaller size is
 * exported without truncating the file; an unchanged size raises nothing.
 */
START_TEST(test_resize)
{
	uint8_t rc16[16] = { 0x9e, 0x10, [13] = 32 };
	static const uint8_t tur[6] = { 0 };
	struct scsi_lu_config cfg;
	struct scsi_task t;
	struct stat st;

	t_lu_config(&cfg, "file", files.path, 2 * FILE_SIZE);
	ck_assert_int_eq(scsi_lu_update(env.target, 1, &cfg), 0);
	ck_assert_int_eq(stat(files.path, &st), 0);
	ck_assert_int_eq(st.st_size, 2 * FILE_SIZE);
	t_run(&t, env.n1, 1, rc16, 16, NULL, 0, 32);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_CAPACITY_DATA_HAS_CHANGED);
	t_run(&t, env.n1, 1, rc16, 16, NULL, 0, 32);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be64(env.buf), 2 * FILE_SIZE / BS - 1);
	t_run(&t, env.n2, 1, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_CAPACITY_DATA_HAS_CHANGED);
	t_run(&t, env.n2, 0, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(1, 2 * FILE_SIZE / BS - 1, 1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);

	cfg.size_bytes = FILE_SIZE / 2;
	ck_assert_int_eq(scsi_lu_update(env.target, 1, &cfg), 0);
	ck_assert_int_eq(stat(files.path, &st), 0);
	ck_assert_int_eq(st.st_size, 2 * FILE_SIZE);
	t_run(&t, env.n1, 1, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_CAPACITY_DATA_HAS_CHANGED);
	read10(1, FILE_SIZE / 2 / BS, 1, &t);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	ck_assert_int_eq(scsi_lu_update(env.target, 1, &cfg), 0);
	t_run(&t, env.n1, 1, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);

	cfg.size_bytes = FILE_SIZE + 100;
	ck_assert_int_eq(scsi_lu_update(env.target, 1, &cfg), -EINVAL);
	ck_assert_int_eq(scsi_lu_update(env.target, 9, &cfg), -ENOENT);
	t_run(&t, env.n1, 1, rc16, 16, NULL, 0, 32);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be64(env.buf), FILE_SIZE / 2 / BS - 1);
}
END_TEST

/* MODE SENSE(6), DBD: the WP bit of the header and WCE of the caching page. */
static void mode_wp_wce(uint16_t lun, bool *wp, bool *wce)
{
	uint8_t cdb[6] = { 0x1a, 0x08, 0x08, 0, 255, 0 };
	struct scsi_task t;

	t_run(&t, env.n1, lun, cdb, 6, NULL, 0, 255);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	*wp = (env.buf[2] & 0x80) != 0;
	ck_assert_int_eq(env.buf[4] & 0x3f, 0x08);
	*wce = (env.buf[6] & 0x04) != 0;
}

/*
 * scsi_lu_update() with read_only and write_cache: each change raises MODE
 * PARAMETERS CHANGED (2A/01) on every nexus; read-only gives writes DATA
 * PROTECT 7/27/00 and sets WP; write_cache sets WCE; a LU added read-only
 * (its store opened read-only) writes again once made writable.
 */
START_TEST(test_update_access)
{
	static const uint8_t tur[6] = { 0 };
	static uint8_t data[BS];
	struct scsi_lu_config cfg;
	struct scsi_task t;
	bool wp, wce;

	memset(data, 0x3c, sizeof(data));
	t_lu_config(&cfg, "file", files.path, FILE_SIZE);
	cfg.read_only = true;
	ck_assert_int_eq(scsi_lu_update(env.target, 1, &cfg), 0);
	t_run(&t, env.n2, 1, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_MODE_PARAMETERS_CHANGED);
	write10(1, 3, 1, data, &t);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_MODE_PARAMETERS_CHANGED);
	write10(1, 3, 1, data, &t);
	t_expect_sense(&t, SENSE_KEY_DATA_PROTECT, ASC_WRITE_PROTECTED);
	mode_wp_wce(1, &wp, &wce);
	ck_assert(wp && wce);

	cfg.read_only = false;
	cfg.write_cache = false;
	ck_assert_int_eq(scsi_lu_update(env.target, 1, &cfg), 0);
	t_run(&t, env.n1, 1, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_MODE_PARAMETERS_CHANGED);
	write10(1, 3, 1, data, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	mode_wp_wce(1, &wp, &wce);
	ck_assert(!wp && !wce);
	/* Nothing changed, nothing raised. */
	ck_assert_int_eq(scsi_lu_update(env.target, 1, &cfg), 0);
	t_run(&t, env.n1, 1, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);

	/* Added read-only: the file is open read-only until made writable. */
	t_lu_config(&cfg, "file", files.path, FILE_SIZE);
	cfg.read_only = true;
	ck_assert_int_eq(scsi_target_add_lu(env.target, 2, &cfg), 0);
	ck_assert(backing_read_only(env.target->lu_index[2]->store));
	t_clear_ua(env.n1, 2);
	cfg.read_only = false;
	ck_assert_int_eq(scsi_lu_update(env.target, 2, &cfg), 0);
	ck_assert(!backing_read_only(env.target->lu_index[2]->store));
	t_clear_ua(env.n1, 2);
	memset(data, 0x4d, sizeof(data));
	write10(2, 5, 1, data, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_clear_ua(env.n1, 1);	/* REPORTED LUNS DATA HAS CHANGED from LUN 2 */
	read10(1, 5, 1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_mem_eq(env.buf, data, BS);
}
END_TEST

/*
 * An offline LU (scsi_lu_set_offline) answers media access and TEST UNIT
 * READY with NOT READY 04h/12h and INQUIRY as before; online re-opens the
 * file, also one that was gone while offline (its data come back); an LU
 * added offline opens nothing until online, which fails while the file is
 * missing and leaves it offline.
 */
START_TEST(test_offline_online)
{
	static const uint8_t tur[6] = { 0 }, inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	static uint8_t data[8 * BS];
	struct scsi_lu_config cfg;
	char moved[128];
	struct scsi_task t;

	memset(data, 0x5a, sizeof(data));
	write10(1, 8, 8, data, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_int_eq(scsi_lu_set_offline(env.target, 1, true), 0);
	read10(1, 8, 8, &t);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_READY_OFFLINE);
	write10(1, 8, 8, data, &t);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_READY_OFFLINE);
	t_run(&t, env.n1, 1, tur, sizeof(tur), NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_READY_OFFLINE);
	t_run(&t, env.n1, 1, inq, sizeof(inq), NULL, 0, 96);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(0, 8, 1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);

	/* The store was closed: the file may go away and come back meanwhile. */
	snprintf(moved, sizeof(moved), "%s.moved", files.path);
	ck_assert_int_eq(rename(files.path, moved), 0);
	ck_assert_int_eq(scsi_lu_set_offline(env.target, 1, false), -ENOENT);
	read10(1, 8, 8, &t);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_READY_OFFLINE);
	ck_assert_int_eq(rename(moved, files.path), 0);
	ck_assert_int_eq(scsi_lu_set_offline(env.target, 1, false), 0);
	read10(1, 8, 8, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_mem_eq(env.buf, data, sizeof(data));
	ck_assert_int_eq(scsi_lu_set_offline(env.target, 9, true), -ENOENT);

	/* Added offline: nothing is opened, so a missing file is no error yet. */
	t_lu_config(&cfg, "file", moved, FILE_SIZE);
	cfg.offline = true;
	ck_assert_int_eq(scsi_target_add_lu(env.target, 2, &cfg), 0);
	/* Past the new LU's power-on unit attention. */
	for (int i = 0; i < 4; i++) {
		uint8_t key = 0;
		uint16_t asc;

		t_run(&t, env.n1, 2, tur, sizeof(tur), NULL, 0, 0);
		if (scsi_sense_parse(t.sense, t.sense_len, &key, &asc) < 0 ||
		    key != SENSE_KEY_UNIT_ATTENTION) {
			break;
		}
	}
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_READY_OFFLINE);
	ck_assert_int_eq(scsi_lu_set_offline(env.target, 2, false), -ENOENT);
	t_run(&t, env.n1, 2, tur, sizeof(tur), NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_READY_OFFLINE);
}
END_TEST

START_TEST(test_rw_errors)
{
	static uint8_t data[BS];
	uint8_t cdb[10] = { 0x2a };
	struct scsi_task t;

	/* Past the end: LBA OUT OF RANGE. */
	read10(1, FILE_SIZE / BS, 1, &t);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	read10(1, FILE_SIZE / BS - 1, 2, &t);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* Zero blocks is not an error and moves nothing. */
	read10(1, 0, 0, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.xfer_len, 0);
	/* Protection information requested: we have none. */
	cdb[1] = 0x20;
	cdb[8] = 1;
	t_run(&t, env.n1, 1, cdb, 10, data, BS, BS);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* Data-Out shorter than the CDB's transfer length (EDTL 200 < 512). */
	cdb[1] = 0;
	t_run(&t, env.n1, 1, cdb, 10, data, 200, 200);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CMD_IU);
	ck_assert_uint_eq(t.xfer_len, BS);
	/* EDTL of one block for a two-block WRITE: only the block sent is written. */
	{
		static uint8_t two[2 * BS];

		memset(two, 'a', sizeof(two));
		write10(1, 40, 2, two, &t);
		memset(two, 'b', sizeof(two));
		cdb[5] = 40;
		cdb[8] = 2;
		t_run(&t, env.n1, 1, cdb, 10, two, BS, BS);
		ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
		ck_assert_uint_eq(t.xfer_len, 2 * BS);
		read10(1, 40, 2, &t);
		ck_assert_uint_eq(env.buf[BS - 1], 'b');
		ck_assert_uint_eq(env.buf[BS], 'a');
		cdb[5] = 0;
		cdb[8] = 1;
	}
	/* READ with an EDTL smaller than the transfer: only buf_cap/EDTL matters to us. */
	cdb[0] = 0x28;
	t_run(&t, env.n1, 1, cdb, 10, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.xfer_len, BS);
}
END_TEST

/* VERIFY and ORWRITE longer than one scratch chunk (1 MiB) run in several reads. */
START_TEST(test_chunked_readback)
{
	enum { N = 3000 };
	static uint8_t data[N * BS];
	uint8_t vcdb[16] = { 0x8f, 0x02 };
	uint8_t ocdb[16] = { 0x8b };
	struct scsi_task t;
	uint8_t wcdb[16] = { 0x8a };

	for (size_t i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(i % 251) & 0xf0;
	}
	put_be64(&wcdb[2], 1000);
	put_be32(&wcdb[10], N);
	t_run(&t, env.n1, 1, wcdb, 16, data, sizeof(data), sizeof(data));
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	put_be64(&vcdb[2], 1000);
	put_be32(&vcdb[10], N);
	t_run(&t, env.n1, 1, vcdb, 16, data, sizeof(data), sizeof(data));
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	data[2500 * BS + 3] ^= 1;	/* in the second chunk */
	t_run(&t, env.n1, 1, vcdb, 16, data, sizeof(data), sizeof(data));
	t_expect_sense(&t, SENSE_KEY_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
	ck_assert_uint_eq(get_be32(&t.sense[3]), 2500 * BS + 3);
	data[2500 * BS + 3] ^= 1;

	/* ORWRITE the low nibbles in: the medium becomes data | 0x05. */
	memset(data, 0x05, sizeof(data));
	put_be64(&ocdb[2], 1000);
	put_be32(&ocdb[10], N);
	t_run(&t, env.n1, 1, ocdb, 16, data, sizeof(data), sizeof(data));
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(1, 1000 + 2999, 1, &t);
	ck_assert_uint_eq(env.buf[7], (uint8_t)(((2999 * BS + 7) % 251) & 0xf0) | 0x05);
}
END_TEST

/* ---- COMPARE AND WRITE ---- */

START_TEST(test_compare_and_write)
{
	static uint8_t old[2 * BS], caw[4 * BS];
	uint8_t cdb[16] = { 0x89 };
	struct scsi_task t;

	memset(old, 'a', sizeof(old));
	write10(1, 10, 2, old, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);

	put_be64(&cdb[2], 10);
	cdb[13] = 2;
	memset(caw, 'a', 2 * BS);
	memset(caw + 2 * BS, 'b', 2 * BS);
	t_run(&t, env.n1, 1, cdb, 16, caw, sizeof(caw), sizeof(caw));
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(1, 10, 2, &t);
	ck_assert_uint_eq(env.buf[0], 'b');
	ck_assert_uint_eq(env.buf[2 * BS - 1], 'b');

	/* Now the medium holds 'b': a compare with 'b' except at byte 700 fails there. */
	memset(caw, 'b', 2 * BS);
	caw[700] = 'x';
	memset(caw + 2 * BS, 'c', 2 * BS);
	t_run(&t, env.n1, 1, cdb, 16, caw, sizeof(caw), sizeof(caw));
	t_expect_sense(&t, SENSE_KEY_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
	ck_assert_uint_eq(t.sense[0], 0xf0);			/* VALID */
	ck_assert_uint_eq(get_be32(&t.sense[3]), 700);		/* INFORMATION */
	read10(1, 10, 2, &t);
	ck_assert_uint_eq(env.buf[0], 'b');			/* not written */

	/* Data-Out must be exactly 2 x NUMBER OF LOGICAL BLOCKS. */
	cdb[13] = 1;
	t_run(&t, env.n1, 1, cdb, 16, caw, sizeof(caw), sizeof(caw));
	ck_assert_int_eq(t.status, SCSI_STATUS_CHECK_CONDITION);
}
END_TEST

START_TEST(test_caw_holds_range_lock)
{
	static uint8_t caw[2 * BS], w[BS];
	uint8_t cdb[16] = { 0x89 };
	uint8_t wcdb[10] = { 0x2a, 0, 0, 0, 0, 20, 0, 0, 1, 0 };
	struct scsi_task t1, t2;

	memset(caw, 0, BS);
	write10(1, 20, 1, caw, &t1);
	memset(caw + BS, 'z', BS);
	memset(w, 'w', BS);
	put_be64(&cdb[2], 20);
	cdb[13] = 1;

	/* Submit CAW, then a WRITE to the same block before the loop runs. */
	memset(&t1, 0, sizeof(t1));
	t1.nexus = env.n1;
	t1.lun = UINT64_C(1) << 48;
	memcpy(t1.cdb, cdb, 16);
	t1.cdb_len = 16;
	t1.expected_len = t1.data_out_len = 2 * BS;
	t1.data_out = true;
	t1.buf = caw;
	t1.buf_cap = sizeof(caw);
	t1.done = t_done;
	memset(&t2, 0, sizeof(t2));
	t2.nexus = env.n2;
	t2.lun = UINT64_C(1) << 48;
	memcpy(t2.cdb, wcdb, 10);
	t2.cdb_len = 16;
	t2.expected_len = t2.data_out_len = BS;
	t2.data_out = true;
	t2.buf = w;
	t2.buf_cap = sizeof(w);
	t2.done = t_done;
	env.done = false;
	scsi_task_submit(&t1);
	scsi_task_submit(&t2);
	while (!(t1.status || t1.priv.io == NULL) || t2.priv.io) {
		env.done = false;
		qb_loop_run(env.loop);
	}
	ck_assert_int_eq(t1.status, SCSI_STATUS_GOOD);
	ck_assert_int_eq(t2.status, SCSI_STATUS_GOOD);
	/* The write queued behind the CAW, so it landed last. */
	read10(1, 20, 1, &t1);
	ck_assert_uint_eq(env.buf[0], 'w');
}
END_TEST

/* ---- reads against concurrent writes (torn blocks) ---- */

static unsigned int rw_done_count;

static void rw_done(struct scsi_task *task)
{
	(void)task;
	rw_done_count++;
	qb_loop_stop(env.loop);
}

/* Submit a 10-byte READ/WRITE of @n blocks at @lba of LU @lun, not waited for. */
static void rw_start_lu(uint16_t lun, struct scsi_task *t, uint8_t opcode, bool fua, uint32_t lba,
			uint16_t n, uint8_t *buf)
{
	memset(t, 0, sizeof(*t));
	t->nexus = opcode == 0x2a ? env.n1 : env.n2;
	t->lun = (uint64_t)lun << 48;
	t->cdb[0] = opcode;
	t->cdb[1] = fua ? 0x08 : 0;
	put_be32(&t->cdb[2], lba);
	put_be16(&t->cdb[7], n);
	t->cdb_len = 16;
	t->attr = SCSI_TASK_SIMPLE;
	t->expected_len = n * BS;
	t->buf = buf;
	t->buf_cap = n * BS;
	if (opcode == 0x2a) {
		t->data_out = true;
		t->data_out_len = n * BS;
	} else {
		t->data_in = true;
	}
	t->done = rw_done;
	scsi_task_submit(t);
}

static void rw_start(struct scsi_task *t, uint8_t opcode, bool fua, uint32_t lba, uint16_t n,
		     uint8_t *buf)
{
	rw_start_lu(1, t, opcode, fua, lba, n, buf);
}

static void rw_wait(unsigned int n)
{
	while (rw_done_count < n) {
		qb_loop_run(env.loop);
	}
}

/*
 * A READ submitted while a WRITE of the same block is in flight (FUA: the
 * file store always sends it through io_uring) must not reach the store
 * until the write completes: a page-cache read copied inline meanwhile
 * returns the old block, or half of each when it races the worker's copy.
 * It waits on the LU's range lock and returns the new block; a READ of
 * another block does not wait.
 */
START_TEST(test_read_waits_for_overlapping_write)
{
	static uint8_t wbuf[BS] __attribute__((aligned(BACKING_BUF_ALIGN)));
	static uint8_t rbuf[BS] __attribute__((aligned(BACKING_BUF_ALIGN)));
	static uint8_t obuf[BS] __attribute__((aligned(BACKING_BUF_ALIGN)));
	struct scsi_lu *lu = env.target->lu_index[1];
	struct scsi_task tw, tr, to;
	struct scsi_task t;

	ck_assert_ptr_nonnull(lu);
	memset(wbuf, 'a', BS);
	write10(1, 30, 1, wbuf, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	for (int i = 0; i < 16; i++) {
		uint8_t pat = (uint8_t)('b' + i);

		read10(1, 30, 1, &t);	/* the old block is in the page cache */
		memset(wbuf, pat, BS);
		memset(rbuf, 0xee, BS);
		rw_done_count = 0;
		rw_start(&tw, 0x2a, true, 30, 1, wbuf);
		rw_start(&tr, 0x28, false, 30, 1, rbuf);
		ck_assert_msg(lu->lock_wait_head == &tr,
			      "round %d: the overlapping READ went to the store during the WRITE", i);
		rw_start(&to, 0x28, false, 31, 1, obuf);
		ck_assert_msg(lu->lock_wait_head == &tr && tr.priv.next == NULL,
			      "round %d: a READ of another block waits", i);
		rw_wait(3);
		ck_assert_int_eq(tw.status, SCSI_STATUS_GOOD);
		ck_assert_int_eq(tr.status, SCSI_STATUS_GOOD);
		ck_assert_int_eq(to.status, SCSI_STATUS_GOOD);
		ck_assert_msg(memcmp(rbuf, wbuf, BS) == 0,
			      "round %d: READ returned %02x..%02x, not the block written before it", i,
			      rbuf[0], rbuf[BS - 1]);
		ck_assert_ptr_null(lu->locks);
		ck_assert_ptr_null(lu->lock_wait_head);
	}
}
END_TEST

/*
 * Stress: a 256 KiB range is rewritten with whole-range patterns through
 * io_uring's workers (FUA) while READs of it are copied inline from the
 * page cache, started at varying delays so that some land inside the
 * worker's copy. Every 512-byte block read must be one pattern, never a
 * mix of the two (blocks of one READ may differ: it is not atomic as a
 * whole).
 */
#define STRESS_ROUNDS 3000
#define STRESS_BLOCKS 512u
#define STRESS_LBA 4096u

static void spin_ns(long ns)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < ns);
}

START_TEST(test_read_never_torn)
{
	uint8_t *wbuf[2], *rbuf;
	struct scsi_task tw, tr;
	unsigned int torn = 0, reads = 0;
	size_t len = STRESS_BLOCKS * BS;

	wbuf[0] = aligned_alloc(BACKING_BUF_ALIGN, len);
	wbuf[1] = aligned_alloc(BACKING_BUF_ALIGN, len);
	rbuf = aligned_alloc(BACKING_BUF_ALIGN, len);
	ck_assert(wbuf[0] && wbuf[1] && rbuf);
	memset(wbuf[0], 0x55, len);
	memset(wbuf[1], 0xaa, len);
	for (int round = 0; round < STRESS_ROUNDS; round++) {
		rw_done_count = 0;
		memset(rbuf, 0xee, len);
		rw_start(&tw, 0x2a, true, STRESS_LBA, STRESS_BLOCKS, wbuf[round & 1]);
		spin_ns((round % 50) * 1000L);
		rw_start(&tr, 0x28, false, STRESS_LBA, STRESS_BLOCKS, rbuf);
		rw_wait(2);
		ck_assert_int_eq(tw.status, SCSI_STATUS_GOOD);
		ck_assert_int_eq(tr.status, SCSI_STATUS_GOOD);
		if (round == 0) {
			continue;	/* the range held zeroes before */
		}
		reads++;
		for (size_t b = 0; b < len; b += BS) {
			if (memchr(rbuf + b, rbuf[b] ^ 0x55 ^ 0xaa, BS) ||
			    (rbuf[b] != 0x55 && rbuf[b] != 0xaa)) {
				torn++;
				break;
			}
		}
	}
	free(wbuf[0]);
	free(wbuf[1]);
	free(rbuf);
	ck_assert_msg(torn == 0, "%u of %u reads returned a torn block", torn, reads);
}
END_TEST

/* ---- UNMAP, GET LBA STATUS, WRITE SAME ---- */

static void get_lba_status(uint16_t lun, uint64_t lba, struct scsi_task *t)
{
	uint8_t cdb[16] = { 0x9e, 0x12 };

	put_be64(&cdb[2], lba);
	put_be32(&cdb[10], 4096);
	t_run(t, env.n1, lun, cdb, 16, NULL, 0, 4096);
	ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
}

START_TEST(test_unmap_get_lba_status)
{
	static uint8_t data[64 * BS];
	uint8_t cdb[10] = { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t list[24] = { 0, 22, 0, 16 };
	struct scsi_task t;

	memset(data, 0x5a, sizeof(data));
	write10(1, 0, 64, data, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	get_lba_status(1, 0, &t);
	ck_assert_uint_eq(get_be64(&env.buf[8]), 0);
	ck_assert_uint_ge(get_be32(&env.buf[16]), 64);
	ck_assert_uint_eq(env.buf[20], 0);			/* mapped */

	put_be64(&list[8], 32);
	put_be32(&list[16], 16);
	t_run(&t, env.n1, 1, cdb, 10, list, sizeof(list), sizeof(list));
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	get_lba_status(1, 32, &t);
	ck_assert_uint_eq(get_be64(&env.buf[8]), 32);
	ck_assert_uint_ge(get_be32(&env.buf[16]), 16);
	ck_assert_uint_eq(env.buf[20], 1);			/* deallocated */
	read10(1, 32, 16, &t);
	for (int i = 0; i < 16 * BS; i++) {
		ck_assert_uint_eq(env.buf[i], 0);		/* LBPRZ */
	}
	read10(1, 31, 1, &t);
	ck_assert_uint_eq(env.buf[0], 0x5a);

	/* A descriptor past the end: LBA OUT OF RANGE, nothing unmapped. */
	put_be64(&list[8], FILE_SIZE / BS - 1);
	put_be32(&list[16], 2);
	t_run(&t, env.n1, 1, cdb, 10, list, sizeof(list), sizeof(list));
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	/* A parameter list shorter than its header says. */
	cdb[8] = 6;
	t_run(&t, env.n1, 1, cdb, 10, list, 6, 6);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* GET LBA STATUS beyond the end. */
	{
		uint8_t g[16] = { 0x9e, 0x12 };

		put_be64(&g[2], FILE_SIZE / BS);
		put_be32(&g[10], 24);
		t_run(&t, env.n1, 1, g, 16, NULL, 0, 24);
		t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	}
}
END_TEST

START_TEST(test_write_same)
{
	uint8_t cdb[16] = { 0x93 };
	uint8_t pattern[BS];
	struct scsi_task t;

	memset(pattern, 0x42, sizeof(pattern));
	put_be64(&cdb[2], 100);
	put_be32(&cdb[10], 3000);		/* more than one 1 MiB chunk */
	t_run(&t, env.n1, 1, cdb, 16, pattern, BS, BS);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(1, 100 + 2999, 1, &t);
	ck_assert_uint_eq(env.buf[0], 0x42);
	read10(1, 100 + 3000, 1, &t);
	ck_assert_uint_ne(env.buf[0], 0x42);
	/* UNMAP bit with a zero block deallocates. */
	cdb[1] = 0x08;
	memset(pattern, 0, sizeof(pattern));
	t_run(&t, env.n1, 1, cdb, 16, pattern, BS, BS);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	get_lba_status(1, 104, &t);
	ck_assert_uint_eq(env.buf[20], 1);
	/* Zero blocks (WSNZ=1) and a wrong Data-Out size are refused. */
	put_be32(&cdb[10], 0);
	t_run(&t, env.n1, 1, cdb, 16, pattern, BS, BS);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	put_be32(&cdb[10], 1);
	t_run(&t, env.n1, 1, cdb, 16, pattern, BS, 2 * BS);
	ck_assert_int_eq(t.status, SCSI_STATUS_CHECK_CONDITION);
}
END_TEST

START_TEST(test_verify_bytchk)
{
	static uint8_t data[4 * BS];
	uint8_t cdb[10] = { 0x2f, 0x02, 0, 0, 0, 50, 0, 0, 4, 0 };
	struct scsi_task t;

	memset(data, 0x33, sizeof(data));
	write10(1, 50, 4, data, &t);
	t_run(&t, env.n1, 1, cdb, 10, data, sizeof(data), sizeof(data));
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	data[3 * BS + 9] = 0;
	t_run(&t, env.n1, 1, cdb, 10, data, sizeof(data), sizeof(data));
	t_expect_sense(&t, SENSE_KEY_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY);
	ck_assert_uint_eq(get_be32(&t.sense[3]), 3 * BS + 9);
	/* BYTCHK 11b: one block compared against each. */
	cdb[1] = 0x06;
	t_run(&t, env.n1, 1, cdb, 10, data, BS, BS);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.xfer_len, BS);
}
END_TEST

/* ---- unit attentions ---- */

START_TEST(test_ua_sequencing)
{
	uint8_t tur[6] = { 0 };
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t rs[6] = { 0x03, 0, 0, 0, 252, 0 };
	struct scsi_nexus *n3;
	struct scsi_task t;
	uint8_t key;
	uint16_t asc;

	ck_assert_int_eq(scsi_nexus_create(env.target, "iqn.x,i,0x1", T_TPORT, &n3), 0);
	/* INQUIRY neither reports nor clears the pending 29/00. */
	t_run(&t, n3, 0, inq, 6, NULL, 0, 36);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	/* REQUEST SENSE returns it as data and clears it. */
	t_run(&t, n3, 0, rs, 6, NULL, 0, 252);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_int_eq(scsi_sense_parse(env.buf, t.data_in_len, &key, &asc), 0);
	ck_assert_uint_eq(key, SENSE_KEY_UNIT_ATTENTION);
	ck_assert_uint_eq(asc, ASC_POWER_ON_RESET_OR_BDR);
	t_run(&t, n3, 0, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	/* LU 1 still has its own 29/00 for this nexus. */
	t_run(&t, n3, 1, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_POWER_ON_RESET_OR_BDR);

	/* A LU reset reaches every nexus; a re-created nexus keeps what is pending. */
	ck_assert_int_eq(scsi_lu_reset(env.target, 0, env.n1, NULL), 0);
	scsi_tasks_cleared(env.target, 0, env.n1);
	scsi_nexus_destroy(n3);
	ck_assert_int_eq(scsi_nexus_create(env.target, "iqn.x,i,0x1", T_TPORT, &n3), 0);
	t_run(&t, n3, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_BUS_DEVICE_RESET_FUNCTION);
	t_run(&t, n3, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_COMMANDS_CLEARED_BY_ANOTHER_INITIATOR);
	t_run(&t, n3, 0, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, env.n1, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_BUS_DEVICE_RESET_FUNCTION);
	t_run(&t, env.n1, 0, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);	/* the requester gets no 2F/00 */
	scsi_nexus_destroy(n3);
}
END_TEST

START_TEST(test_luns_changed)
{
	uint8_t tur[6] = { 0 };
	uint8_t rl[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	struct scsi_lu_config cfg;
	struct scsi_task t;

	t_lu_config(&cfg, "null", NULL, 1 << 20);
	ck_assert_int_eq(scsi_target_add_lu(env.target, 300, &cfg), 0);
	ck_assert(scsi_lun_exists(env.target, scsi_lun_encode(300)));
	/* REPORT LUNS lists 0, 1 and 300 (flat addressing) and clears 3F/0E. */
	t_run(&t, env.n1, 0, rl, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be32(env.buf), 24);
	ck_assert_uint_eq(get_be64(&env.buf[8 + 16]), scsi_lun_encode(300));
	t_run(&t, env.n1, 0, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, env.n2, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_REPORTED_LUNS_DATA_HAS_CHANGED);
	/* Allocation length below 16 is invalid (SPC-4 6.33). */
	rl[8] = 0;
	rl[9] = 8;
	t_run(&t, env.n1, 0, rl, 12, NULL, 0, 8);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	ck_assert_int_eq(scsi_target_remove_lu(env.target, 300), 0);
	ck_assert_uint_eq(scsi_target_lu_count(env.target), 2);
	/* The highest LUN went: the lists stop lower, and grow again with a new top. */
	rl[8] = 1;
	rl[9] = 0;
	t_run(&t, env.n1, 0, rl, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be32(env.buf), 16);
	ck_assert_int_eq(scsi_target_add_lu(env.target, 16383, &cfg), 0);
	t_run(&t, env.n1, 0, rl, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be32(env.buf), 24);
	ck_assert_uint_eq(get_be64(&env.buf[8 + 16]), scsi_lun_encode(16383));
	ck_assert_int_eq(scsi_target_remove_lu(env.target, 16383), 0);
}
END_TEST

/* ---- MODE SENSE / MODE SELECT ---- */

START_TEST(test_mode_select_roundtrip)
{
	uint8_t ms[6] = { 0x1a, 0x08, 0x08, 0, 255, 0 };
	uint8_t sel[6] = { 0x15, 0x10, 0, 0, 0, 0 };
	uint8_t tur[6] = { 0 };
	uint8_t page[4 + 20];
	struct scsi_task t;

	t_run(&t, env.n1, 1, ms, 6, NULL, 0, 255);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[0], 3 + 20);
	ck_assert_uint_eq(env.buf[2] & 0x10, 0x10);	/* DPOFUA */
	ck_assert_uint_eq(env.buf[4], 0x08);
	ck_assert_uint_eq(env.buf[6] & 0x04, 0x04);	/* WCE on */
	memcpy(page, env.buf, sizeof(page));
	page[0] = 0;
	page[2] = 0;
	page[6] &= (uint8_t)~0x04;
	sel[4] = sizeof(page);
	t_run(&t, env.n1, 1, sel, 6, page, sizeof(page), sizeof(page));
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, env.n1, 1, ms, 6, NULL, 0, 255);
	ck_assert_uint_eq(env.buf[6] & 0x04, 0);
	/* The other nexus learns through MODE PARAMETERS CHANGED; we do not. */
	t_run(&t, env.n2, 1, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_MODE_PARAMETERS_CHANGED);
	t_run(&t, env.n1, 1, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);

	/* A non-changeable bit (RCD) must not change. */
	page[6] |= 0x01;
	t_run(&t, env.n1, 1, sel, 6, page, sizeof(page), sizeof(page));
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	ck_assert_uint_eq(t.sense[15], 0x80 | 0x08 | 0);	/* parameter list, bit 0 */
	ck_assert_uint_eq(t.sense[17], 6);
	page[6] &= (uint8_t)~0x01;
	/* SP=1: we cannot save. PF=0: not the page format. */
	sel[1] = 0x11;
	t_run(&t, env.n1, 1, sel, 6, page, sizeof(page), sizeof(page));
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	sel[1] = 0x00;
	t_run(&t, env.n1, 1, sel, 6, page, sizeof(page), sizeof(page));
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	/* Saved values are not supported. */
	ms[2] = 0xc8;
	t_run(&t, env.n1, 1, ms, 6, NULL, 0, 255);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_SAVING_PARAMETERS_NOT_SUPPORTED);
}
END_TEST

START_TEST(test_d_sense_and_all_pages)
{
	uint8_t ms[10] = { 0x5a, 0x10, 0x3f, 0xff, 0, 0, 0, 0x10, 0x00, 0 };
	uint8_t ctl[6] = { 0x1a, 0x08, 0x0a, 0, 255, 0 };
	uint8_t sel[6] = { 0x15, 0x10, 0, 0, 0, 0 };
	uint8_t rd[10] = { 0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0 };
	uint8_t page[4 + 12];
	struct scsi_task t;

	/* MODE SENSE(10), LLBAA: long block descriptor, every page and subpage. */
	t_run(&t, env.n1, 1, ms, 10, NULL, 0, 4096);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[4] & 1, 1);			/* LONGLBA */
	ck_assert_uint_eq(env.buf[7], 16);
	ck_assert_uint_eq(get_be64(&env.buf[8]), FILE_SIZE / BS);
	ck_assert_uint_eq(((unsigned int)env.buf[0] << 8 | env.buf[1]) + 2, t.xfer_len);
	ck_assert_uint_eq(t.xfer_len, 8 + 16 + 20 + 12 + 32 + 12);

	t_run(&t, env.n1, 1, ctl, 6, NULL, 0, 255);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	memcpy(page, env.buf, sizeof(page));
	page[0] = 0;
	page[2] = 0;
	page[6] |= 0x04;	/* D_SENSE */
	sel[4] = sizeof(page);
	t_run(&t, env.n1, 1, sel, 6, page, sizeof(page), sizeof(page));
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, env.n1, 1, rd, 10, NULL, 0, BS);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	ck_assert_uint_eq(t.sense[0], 0x72);
}
END_TEST

/* ---- REPORT SUPPORTED OPERATION CODES, RTPG ---- */

START_TEST(test_report_opcodes)
{
	uint8_t all[12] = { 0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x40, 0, 0, 0 };
	uint8_t one[12] = { 0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 1, 0, 0, 0 };
	uint8_t rtpg[12] = { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	struct scsi_task t;
	uint32_t len;
	bool saw_read10 = false;
	unsigned int pr_in = 0, pr_out = 0, spc2 = 0;

	t_run(&t, env.n1, 0, all, 12, NULL, 0, 0x4000);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	len = get_be32(env.buf);
	ck_assert_uint_eq(len % 20, 0);		/* 8 + 12 with RCTD */
	for (uint32_t off = 4; off < len + 4; off += 20) {
		/* PR IN (4 service actions), PR OUT (8), RESERVE(6)/RELEASE(6) are listed. */
		pr_in += env.buf[off] == 0x5e;
		pr_out += env.buf[off] == 0x5f;
		spc2 += env.buf[off] == 0x16 || env.buf[off] == 0x17;
		if (env.buf[off] == 0x28) {
			saw_read10 = true;
			ck_assert_uint_eq(env.buf[off + 7], 10);
		}
	}
	ck_assert(saw_read10);
	ck_assert_uint_eq(pr_in, 4);
	ck_assert_uint_eq(pr_out, 8);
	ck_assert_uint_eq(spc2, 2);
	t_run(&t, env.n1, 0, one, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[1] & 0x07, 3);
	ck_assert_uint_eq(env.buf[3], 10);
	ck_assert_uint_eq(env.buf[4], 0x28);
	ck_assert_uint_eq(env.buf[5], 0xfc);
	/* Asking for a service-action opcode without service action is invalid. */
	one[3] = 0x9e;
	t_run(&t, env.n1, 0, one, 12, NULL, 0, 256);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);

	t_run(&t, env.n1, 0, rtpg, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be32(env.buf), 12);
	ck_assert_uint_eq(env.buf[4] & 0x0f, 0);	/* active/optimized */
	ck_assert_uint_eq(env.buf[7], 1);		/* group 1 */
	ck_assert_uint_eq(env.buf[15], 1);		/* relative port 1 */
}
END_TEST

/* A new sparse file @name of @size bytes in the test's directory; its path into @path. */
static void temp_file(char *path, size_t cap, const char *name, off_t size)
{
	int fd;

	snprintf(path, cap, "%s/%s", files.dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
}

/* REPORT SUPPORTED OPERATION CODES for @opcode alone (reporting options 001b): SUPPORT. */
static uint8_t rsoc_support(uint16_t lun, uint8_t opcode)
{
	uint8_t cdb[12] = { 0xa3, 0x0c, 0x01, opcode, 0, 0, 0, 0, 1, 0, 0, 0 };
	struct scsi_task t;

	t_run(&t, env.n1, lun, cdb, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	return env.buf[1] & 0x07;
}

/* Does REPORT SUPPORTED OPERATION CODES (all commands) list @opcode? */
static bool rsoc_lists(uint16_t lun, uint8_t opcode)
{
	uint8_t cdb[12] = { 0xa3, 0x0c, 0x00, 0, 0, 0, 0, 0, 0x40, 0, 0, 0 };
	struct scsi_task t;
	uint32_t len;
	bool found = false;

	t_run(&t, env.n1, lun, cdb, 12, NULL, 0, 0x4000);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	len = get_be32(env.buf);
	ck_assert_uint_eq(len % 8, 0);
	for (uint32_t off = 4; off < len + 4; off += 8) {
		found |= env.buf[off] == opcode;
	}
	return found;
}

/* MAXIMUM COMPARE AND WRITE LENGTH of the Block Limits VPD page (SBC-3 6.5.3). */
static uint8_t vpd_max_caw(uint16_t lun)
{
	uint8_t cdb[6] = { 0x12, 0x01, 0xb0, 0x00, 0xff, 0 };
	struct scsi_task t;

	t_run(&t, env.n1, lun, cdb, 6, NULL, 0, 255);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[1], 0xb0);
	return env.buf[5];
}

/* COMPARE AND WRITE of one block at @lba: compare with 0s, write @fill. */
static void caw1(uint16_t lun, uint64_t lba, uint8_t fill, struct scsi_task *t)
{
	static uint8_t data[2 * BS];
	uint8_t cdb[16] = { 0x89 };

	put_be64(&cdb[2], lba);
	cdb[13] = 1;
	memset(data, 0, BS);
	memset(data + BS, fill, BS);
	t_run(t, env.n1, lun, cdb, 16, data, sizeof(data), sizeof(data));
}

/* ORWRITE(16) of one block of @bits at @lba. */
static void orwrite1(uint16_t lun, uint64_t lba, uint8_t bits, struct scsi_task *t)
{
	static uint8_t data[BS];
	uint8_t cdb[16] = { 0x8b };

	put_be64(&cdb[2], lba);
	put_be32(&cdb[10], 1);
	memset(data, bits, BS);
	t_run(t, env.n1, lun, cdb, 16, data, BS, BS);
}

/* Add LU 2: a file of 1 MiB at @path, shared as in cluster mode. */
static void add_shared_lu(char *path, size_t path_len, const char *name, const char *serial)
{
	struct scsi_lu_config cfg;

	temp_file(path, path_len, name, 1u << 20);
	t_lu_config(&cfg, "file", path, 0);
	strcpy(cfg.serial, serial);
	cfg.shared = true;
	ck_assert_int_eq(scsi_target_add_lu(env.target, 2, &cfg), 0);
}

/*
 * A shared LU (scsi_lu_config.shared, the daemon's cluster mode: other
 * nodes write the same medium) offers neither COMPARE AND WRITE nor
 * ORWRITE, whose atomicity this node's range locks cannot give against
 * other nodes: both answer INVALID COMMAND OPERATION CODE (20/00) and
 * write nothing, REPORT SUPPORTED OPERATION CODES leaves them out (all
 * commands) or says "not supported" (one command), and the Block Limits
 * page says MAXIMUM COMPARE AND WRITE LENGTH 0. The same LU not shared
 * (LU 1, the flag off) runs and reports both as before; plain writes run
 * on both.
 */
START_TEST(test_shared_lu_no_node_atomic)
{
	static uint8_t w[BS];
	struct scsi_task t;
	char path[128];

	add_shared_lu(path, sizeof(path), "shared.img", "QT0004");
	t_clear_ua(env.n1, 1);
	t_clear_ua(env.n1, 2);

	/* The flag off: COMPARE AND WRITE and ORWRITE run and are reported. */
	caw1(1, 20, 'c', &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	orwrite1(1, 21, 0x0f, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(1, 20, 2, &t);
	ck_assert_uint_eq(env.buf[0], 'c');
	ck_assert_uint_eq(env.buf[BS], 0x0f);
	ck_assert(rsoc_lists(1, 0x89));
	ck_assert(rsoc_lists(1, 0x8b));
	ck_assert_uint_eq(rsoc_support(1, 0x89), 3);	/* supported, per the standard */
	ck_assert_uint_eq(rsoc_support(1, 0x8b), 3);
	ck_assert_uint_eq(vpd_max_caw(1), sbc_max_caw_blocks(BS));
	ck_assert_uint_gt(vpd_max_caw(1), 0);

	/* Shared: both are unknown commands and write nothing. */
	caw1(2, 20, 'c', &t);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_COMMAND_OPERATION_CODE);
	orwrite1(2, 21, 0x0f, &t);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_COMMAND_OPERATION_CODE);
	read10(2, 20, 2, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[0], 0);
	ck_assert_uint_eq(env.buf[BS], 0);
	ck_assert(!rsoc_lists(2, 0x89));
	ck_assert(!rsoc_lists(2, 0x8b));
	ck_assert(rsoc_lists(2, 0x2a));
	ck_assert_uint_eq(rsoc_support(2, 0x89), 1);	/* not supported */
	ck_assert_uint_eq(rsoc_support(2, 0x8b), 1);
	ck_assert_uint_eq(rsoc_support(2, 0x2a), 3);
	ck_assert_uint_eq(vpd_max_caw(2), 0);
	memset(w, 'w', sizeof(w));
	write10(2, 20, 1, w, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(2, 20, 1, &t);
	ck_assert_uint_eq(env.buf[0], 'w');

	ck_assert_int_eq(scsi_target_remove_lu(env.target, 2), 0);
	unlink(path);
}
END_TEST

/* ---- COMPARE AND WRITE on a shared LU with caw hooks (scsi_caw.h) ---- */

static struct {
	struct scsi_task *task;
	uint64_t lba;
	uint32_t count;
	void *ended;
} caw_seen;

static int caw_hook_begin(void *ctx, struct scsi_target *target, uint16_t lun_id, uint64_t lba,
			  uint32_t count, struct scsi_task *task)
{
	(void)ctx;
	(void)target;
	(void)lun_id;
	caw_seen.task = task;
	caw_seen.lba = lba;
	caw_seen.count = count;
	return 0;
}

static void caw_hook_end(void *ctx, void *cookie)
{
	(void)ctx;
	caw_seen.ended = cookie;
}

static void hold_granted(void *arg)
{
	(*(unsigned int *)arg)++;
}

/* COMPARE AND WRITE of one block of LU @lun at @lba (compare 0s, write @fill), not waited for. */
static void caw_start(uint16_t lun, struct scsi_task *t, uint64_t lba, uint8_t fill)
{
	memset(t, 0, sizeof(*t));
	t->nexus = env.n1;
	t->lun = (uint64_t)lun << 48;
	t->cdb[0] = 0x89;
	put_be64(&t->cdb[2], lba);
	t->cdb[13] = 1;
	t->cdb_len = 16;
	t->attr = SCSI_TASK_SIMPLE;
	t->expected_len = 2 * BS;
	t->buf = env.buf;
	t->buf_cap = T_BUF_CAP;
	memset(env.buf, 0, BS);
	memset(env.buf + BS, fill, BS);
	t->data_out = true;
	t->data_out_len = 2 * BS;
	t->done = rw_done;
	scsi_task_submit(t);
}

/*
 * With caw hooks, a shared LU offers COMPARE AND WRITE (not ORWRITE): the
 * command goes to the hook and runs only when scsi_caw_run() says so, then
 * the hook hears of its end; scsi_caw_fail() answers it unrun. A range hold
 * is granted only once no command on its blocks runs, and holds later
 * commands on them until released, in arrival order; the LU cannot be
 * removed while a hold is taken. A command that waited behind a hold does
 * not touch the medium if the port group went Unavailable meanwhile.
 */
START_TEST(test_shared_lu_caw_range_holds)
{
	static uint8_t w[BS] __attribute__((aligned(BACKING_BUF_ALIGN)));
	const struct scsi_caw_hooks hooks = { .begin = caw_hook_begin, .end = caw_hook_end };
	struct scsi_range_hold *h1, *h2, *h3;
	unsigned int g1 = 0, g2 = 0, g3 = 0;
	struct scsi_task tc, tw, t;
	struct scsi_lu *lu;
	char path[128];

	add_shared_lu(path, sizeof(path), "shared-caw.img", "QT0005");
	lu = env.target->lu_index[2];
	t_clear_ua(env.n1, 2);
	t_clear_ua(env.n2, 2);
	ck_assert(!rsoc_lists(2, 0x89));
	scsi_target_set_caw_hooks(env.target, &hooks);
	ck_assert(rsoc_lists(2, 0x89));
	ck_assert(!rsoc_lists(2, 0x8b));
	ck_assert_uint_eq(vpd_max_caw(2), sbc_max_caw_blocks(BS));

	/* The command waits for the hook's word. */
	memset(&caw_seen, 0, sizeof(caw_seen));
	rw_done_count = 0;
	caw_start(2, &tc, 21, 'c');
	ck_assert_ptr_eq(caw_seen.task, &tc);
	ck_assert_uint_eq(caw_seen.lba, 21);
	ck_assert_uint_eq(caw_seen.count, 1);
	t_loop_pass();
	ck_assert_uint_eq(rw_done_count, 0);
	scsi_caw_run(&tc, &g1);
	rw_wait(1);
	ck_assert_int_eq(tc.status, SCSI_STATUS_GOOD);
	ck_assert_ptr_eq(caw_seen.ended, &g1);
	read10(2, 21, 1, &t);
	ck_assert_uint_eq(env.buf[0], 'c');
	caw_seen.ended = NULL;
	rw_done_count = 0;
	caw_start(2, &tc, 22, 'x');
	scsi_caw_fail(&tc, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	rw_wait(1);
	t_expect_sense(&tc, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	ck_assert_ptr_null(caw_seen.ended);
	read10(2, 22, 1, &t);
	ck_assert_uint_eq(env.buf[0], 0);

	/* Holds: granted at once on idle blocks; a WRITE and a second hold queue behind. */
	ck_assert_int_eq(scsi_range_hold(env.target, 2, 20, 1, hold_granted, &g1, &h1), 0);
	ck_assert_uint_eq(g1, 1);
	memset(w, 'w', BS);
	rw_done_count = 0;
	rw_start_lu(2, &tw, 0x2a, true, 20, 1, w);
	ck_assert_ptr_eq(lu->lock_wait_head, &tw);
	ck_assert_int_eq(scsi_range_hold(env.target, 2, 20, 1, hold_granted, &g2, &h2), 0);
	ck_assert_uint_eq(g2, 0);
	ck_assert_int_eq(scsi_target_remove_lu(env.target, 2), -EBUSY);
	t_loop_pass();
	ck_assert_uint_eq(rw_done_count, 0);
	scsi_range_release(h1);
	rw_wait(1);			/* the WRITE first, then the hold behind it */
	ck_assert_int_eq(tw.status, SCSI_STATUS_GOOD);
	while (g2 == 0) {
		t_loop_pass();
	}

	/* A READ waits for the hold too; the node stops serving before it is released. */
	memset(w, 0xee, BS);
	rw_done_count = 0;
	rw_start_lu(2, &tw, 0x28, false, 20, 1, w);
	ck_assert_ptr_eq(lu->lock_wait_head, &tw);
	ck_assert_int_eq(scsi_range_hold(env.target, 2, 23, 1, hold_granted, &g3, &h3), 0);
	ck_assert_uint_eq(g3, 1);	/* other blocks: not held up */
	scsi_alua_set_serving(env.alua, false);
	scsi_range_release(h2);
	rw_wait(1);
	t_expect_sense(&tw, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	ck_assert_uint_eq(w[0], 0xee);
	scsi_alua_set_serving(env.alua, true);
	t_clear_ua(env.n1, 2);
	t_clear_ua(env.n2, 2);
	read10(2, 20, 1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[0], 'w');

	scsi_range_release(h3);
	scsi_target_set_caw_hooks(env.target, NULL);
	ck_assert_int_eq(scsi_target_remove_lu(env.target, 2), 0);
	unlink(path);
}
END_TEST

START_TEST(test_read_only_lu)
{
	static uint8_t data[BS];
	struct scsi_lu_config cfg;
	struct scsi_task t;

	t_lu_config(&cfg, "null", NULL, 1 << 20);
	cfg.read_only = true;
	ck_assert_int_eq(scsi_target_add_lu(env.target, 2, &cfg), 0);
	t_clear_ua(env.n1, 2);
	write10(2, 0, 1, data, &t);
	t_expect_sense(&t, SENSE_KEY_DATA_PROTECT, ASC_WRITE_PROTECTED);
	read10(2, 0, 1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
}
END_TEST

/*
 * O_DIRECT: the read-back scratch must be aligned, and COMPARE AND WRITE's
 * write half (at buf + 512) is not, so it must go through the scratch.
 */
START_TEST(test_direct_io)
{
	static uint8_t caw[2 * BS];
	uint8_t ccdb[16] = { 0x89 };
	uint8_t wcdb[10] = { 0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0 };
	struct scsi_lu_config cfg;
	struct scsi_task t;
	char path[128];

	temp_file(path, sizeof(path), "direct.img", 4u << 20);
	t_lu_config(&cfg, "file", path, 0);
	cfg.direct_io = true;
	cfg.thin = false;
	ck_assert_int_eq(scsi_target_add_lu(env.target, 3, &cfg), 0);
	t_clear_ua(env.n1, 3);
	memset(caw, 'q', BS);
	t_run(&t, env.n1, 3, wcdb, 10, caw, BS, BS);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	put_be64(&ccdb[2], 5);
	ccdb[13] = 1;
	memset(caw + BS, 'r', BS);
	t_run(&t, env.n1, 3, ccdb, 16, caw, sizeof(caw), sizeof(caw));
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(3, 5, 1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[0], 'r');
	/* WRITE SAME with UNMAP on a fully provisioned LU is refused. */
	{
		uint8_t ws[10] = { 0x41, 0x08, 0, 0, 0, 0, 0, 0, 1, 0 };

		t_run(&t, env.n1, 3, ws, 10, caw, BS, BS);
		t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	}
	ck_assert_int_eq(scsi_target_remove_lu(env.target, 3), 0);
	unlink(path);
}
END_TEST

/*
 * REPORT TARGET PORT GROUPS, both header forms byte for byte (SPC-4 6.37):
 * the length-only header, and the extended one (PARAMETER DATA FORMAT
 * 001b, what Linux's scsi_dh_alua asks for) whose byte 4 carries FORMAT
 * TYPE 001b in bits 6..4 (0x10) and byte 5 the IMPLICIT TRANSITION TIME.
 */
START_TEST(test_rtpg_header_forms)
{
	static const uint8_t short_ao[16] = {
		0x00, 0x00, 0x00, 0x0c,	/* RETURN DATA LENGTH */
		0x80, 0x09, 0x00, 0x01,	/* PREF, Active/optimized; U_SUP AO_SUP; group 1 */
		0x00, 0x02, 0x00, 0x01,	/* status: altered by implicit behaviour; 1 port */
		0x00, 0x00, 0x00, 0x01,	/* relative target port 1 */
	};
	static const uint8_t ext_ao[20] = {
		0x00, 0x00, 0x00, 0x10,	/* RETURN DATA LENGTH */
		0x10, 0x00, 0x00, 0x00,	/* FORMAT TYPE 001b; implicit transition time 0 */
		0x80, 0x09, 0x00, 0x01,
		0x00, 0x02, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x01,
	};
	uint8_t rtpg[12] = { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	uint8_t want[20];
	struct scsi_task t;

	memset(env.buf, 0xee, 64);
	t_run(&t, env.n1, 0, rtpg, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.data_in_len, sizeof(short_ao));
	ck_assert_mem_eq(env.buf, short_ao, sizeof(short_ao));

	rtpg[1] = 0x0a | 0x20;		/* PARAMETER DATA FORMAT 001b */
	memset(env.buf, 0xee, 64);
	t_run(&t, env.n1, 0, rtpg, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.data_in_len, sizeof(ext_ao));
	ck_assert_mem_eq(env.buf, ext_ao, sizeof(ext_ao));

	/* Unavailable: only the state changes, in both forms. */
	scsi_alua_set_serving(env.alua, false);
	t_run(&t, env.n1, 0, rtpg, 12, NULL, 0, 256);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_ASYMMETRIC_ACCESS_STATE_CHANGED);
	memcpy(want, ext_ao, sizeof(ext_ao));
	want[8] = 0x83;
	memset(env.buf, 0xee, 64);
	t_run(&t, env.n1, 0, rtpg, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.data_in_len, sizeof(ext_ao));
	ck_assert_mem_eq(env.buf, want, sizeof(ext_ao));
	rtpg[1] = 0x0a;
	memcpy(want, short_ao, sizeof(short_ao));
	want[4] = 0x83;
	memset(env.buf, 0xee, 64);
	t_run(&t, env.n1, 0, rtpg, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.data_in_len, sizeof(short_ao));
	ck_assert_mem_eq(env.buf, want, sizeof(short_ao));
	scsi_alua_set_serving(env.alua, true);
	t_clear_ua(env.n1, 0);

	/* A short allocation length truncates the extended form. */
	rtpg[1] = 0x0a | 0x20;
	put_be32(&rtpg[6], 6);
	memset(env.buf, 0xee, 64);
	t_run(&t, env.n1, 0, rtpg, 12, NULL, 0, 6);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.data_in_len, 6);
	ck_assert_mem_eq(env.buf, ext_ao, 6);
	/* Other PARAMETER DATA FORMAT codes are reserved: invalid field, byte 1 bit 7. */
	rtpg[1] = 0x0a | 0x40;
	put_be32(&rtpg[6], 256);
	t_run(&t, env.n1, 0, rtpg, 12, NULL, 0, 256);
	t_expect_sense(&t, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
}
END_TEST

/* A node not serving: port group Unavailable, media access NOT READY 04/0C. */
/*
 * Past the lease end (scsi_alua_set_lease_end) media access and PR OUT are
 * refused as on an Unavailable group although the group is still
 * Active/Optimized: a loop frozen past the lease runs queued commands
 * before the timer that makes it Unavailable. The basic commands still
 * answer; a later lease end, or none, serves again.
 */
START_TEST(test_lease_end)
{
	static uint8_t w[BS];
	uint8_t tur[6] = { 0 };
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t prout[10] = { 0x5f, 0x06, 0, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t rtpg[12] = { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	uint8_t param[24] = { 0 };
	uint64_t now = io_stats_now_ns();
	struct scsi_task t;

	t_clear_ua(env.n1, 1);
	memset(w, 'L', sizeof(w));
	scsi_alua_set_lease_end(env.alua, now - 1);
	ck_assert_int_eq(scsi_alua_local_state(env.alua), SCSI_ALUA_ACTIVE_OPTIMIZED);
	write10(1, 40, 1, w, &t);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	read10(1, 40, 1, &t);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	param[15] = 0x42;			/* SERVICE ACTION RESERVATION KEY */
	t_run(&t, env.n1, 1, prout, 10, param, sizeof(param), sizeof(param));
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	t_run(&t, env.n1, 1, inq, 6, NULL, 0, 36);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, env.n1, 1, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	/* REPORT TARGET PORT GROUPS says what media access does: Unavailable. */
	t_run(&t, env.n1, 1, rtpg, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[4] & 0x0f, SCSI_ALUA_UNAVAILABLE);

	scsi_alua_set_lease_end(env.alua, now + UINT64_C(60) * 1000000000u);
	t_run(&t, env.n1, 1, rtpg, 12, NULL, 0, 256);
	ck_assert_uint_eq(env.buf[4] & 0x0f, SCSI_ALUA_ACTIVE_OPTIMIZED);
	read10(1, 40, 1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_ne(env.buf[0], 'L');	/* the refused WRITE wrote nothing */
	write10(1, 40, 1, w, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	scsi_alua_set_lease_end(env.alua, 0);
	read10(1, 40, 1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[0], 'L');
}
END_TEST

START_TEST(test_alua_unavailable)
{
	uint8_t tur[6] = { 0 };
	uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t rtpg[12] = { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	struct scsi_task t;

	scsi_alua_set_serving(env.alua, false);
	t_run(&t, env.n1, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_ASYMMETRIC_ACCESS_STATE_CHANGED);
	t_run(&t, env.n1, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	read10(0, 0, 1, &t);
	t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	t_run(&t, env.n1, 0, inq, 6, NULL, 0, 36);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, env.n1, 0, rtpg, 12, NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(env.buf[4] & 0x0f, SCSI_ALUA_UNAVAILABLE);
	scsi_alua_set_serving(env.alua, true);
	t_clear_ua(env.n1, 0);
	read10(0, 0, 1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
}
END_TEST

/* ---- object lifetimes ---- */

/* A READ(10) of @nblocks on LU 1 through @nexus, submitted but not waited for. */
static void read10_start(struct scsi_task *t, struct scsi_nexus *nexus, uint16_t nblocks,
			 void (*done)(struct scsi_task *))
{
	memset(t, 0, sizeof(*t));
	t->nexus = nexus;
	t->lun = UINT64_C(1) << 48;
	t->cdb[0] = 0x28;
	t->cdb[7] = nblocks >> 8;
	t->cdb[8] = nblocks & 0xff;
	t->cdb_len = 16;
	t->attr = SCSI_TASK_SIMPLE;
	t->expected_len = nblocks * BS;
	t->data_in = true;
	t->buf = env.buf;
	t->buf_cap = T_BUF_CAP;
	t->done = done;
	env.done = false;
	scsi_task_submit(t);
	/* A file LU reads through io_uring: the task is in flight until the loop runs. */
	ck_assert(!env.done);
}

/*
 * The owner destroys the target (target delete) while a read is in flight
 * and the transport's nexuses still live: the target must stay until the
 * last nexus goes (ASan reports a use after free otherwise).
 */
START_TEST(test_target_destroy_in_flight)
{
	struct scsi_task t;

	memset(env.buf, 0xee, 8 * BS);
	read10_start(&t, env.n1, 8, t_done);
	scsi_target_destroy(env.target);
	env.target = NULL;
	while (!env.done) {
		qb_loop_run(env.loop);
	}
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.data_in_len, 8 * BS);
	ck_assert_uint_eq(env.buf[0], 0);	/* the file's zeroes, not our 0xee */
	scsi_nexus_destroy(env.n2);
	env.n2 = NULL;
	/* The transport ends its last session; the target goes with its nexus. */
	scsi_nexus_destroy(env.n1);
	env.n1 = NULL;
}
END_TEST

/* The transport frees its session (and the nexus) from done() of its last task. */
static void done_drop_nexus(struct scsi_task *task)
{
	scsi_nexus_destroy(task->nexus);
	env.n1 = NULL;
	t_done(task);
}

START_TEST(test_last_nexus_dropped_in_done)
{
	struct scsi_task t;

	read10_start(&t, env.n1, 8, done_drop_nexus);
	scsi_nexus_destroy(env.n2);
	env.n2 = NULL;
	scsi_target_destroy(env.target);
	env.target = NULL;
	while (!env.done) {
		qb_loop_run(env.loop);
	}
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_ptr_null(env.n1);
}
END_TEST

/*
 * Session reinstatement: the new session's nexus exists (same initiator
 * port name) while the old one still drains its tasks. Dropping the old
 * nexus must not drop the UA state the new one shares by name.
 */
START_TEST(test_nexus_same_name_overlap)
{
	const char *name = "iqn.2026-11.org.quorate:init3,i,0x400000000003";
	uint8_t tur[6] = { 0 };
	struct scsi_nexus *old, *cur;
	struct scsi_task t;

	ck_assert_int_eq(scsi_nexus_create(env.target, name, T_TPORT, &old), 0);
	t_clear_ua(old, 0);
	ck_assert_int_eq(scsi_lu_reset(env.target, 0, env.n1, NULL), 0);
	ck_assert_int_eq(scsi_nexus_create(env.target, name, T_TPORT, &cur), 0);
	scsi_nexus_destroy(old);
	t_run(&t, cur, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_BUS_DEVICE_RESET_FUNCTION);
	t_run(&t, cur, 0, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	/* And the other order: the new nexus goes first, the old one still counts. */
	ck_assert_int_eq(scsi_nexus_create(env.target, name, T_TPORT, &old), 0);
	scsi_lu_reset(env.target, 0, env.n1, NULL);
	scsi_nexus_destroy(cur);
	t_run(&t, old, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_BUS_DEVICE_RESET_FUNCTION);
	scsi_nexus_destroy(old);
}
END_TEST

/* SAM-5 6.3.4: a nexus lost without logout leaves 29/07 for the next one of its name. */
START_TEST(test_nexus_loss_ua)
{
	uint8_t tur[6] = { 0 };
	struct scsi_nexus *n;
	struct scsi_task t;
	char name[96];

	ck_assert_int_eq(scsi_nexus_create(env.target, T_INIT1 "9", T_TPORT, &n), 0);
	t_clear_ua(n, 0);
	t_clear_ua(n, 1);
	scsi_nexus_lost(n);
	scsi_nexus_destroy(n);
	ck_assert_int_eq(scsi_nexus_create(env.target, T_INIT1 "9", T_TPORT, &n), 0);
	t_run(&t, n, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_I_T_NEXUS_LOSS_OCCURRED);
	t_run(&t, n, 0, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, n, 1, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_I_T_NEXUS_LOSS_OCCURRED);
	/* Other initiator ports learn nothing of it. */
	t_run(&t, env.n1, 0, tur, 6, NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	/* After a logout (no loss) the next nexus of the name starts afresh: 29/00. */
	t_clear_ua(n, 1);
	scsi_nexus_destroy(n);
	ck_assert_int_eq(scsi_nexus_create(env.target, T_INIT1 "9", T_TPORT, &n), 0);
	t_run(&t, n, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_POWER_ON_RESET_OR_BDR);
	scsi_nexus_destroy(n);

	/* Bounded: beyond the first 32 lost names a returning one gets 29/00 instead. */
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "iqn.2026-11.org.quorate:lost,i,0x4000000000%02x", i);
		ck_assert_int_eq(scsi_nexus_create(env.target, name, T_TPORT, &n), 0);
		t_clear_ua(n, 0);
		scsi_nexus_lost(n);
		scsi_nexus_destroy(n);
	}
	ck_assert_int_eq(scsi_nexus_create(env.target,
					    "iqn.2026-11.org.quorate:lost,i,0x400000000000", T_TPORT,
					    &n), 0);
	t_run(&t, n, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_I_T_NEXUS_LOSS_OCCURRED);
	scsi_nexus_destroy(n);
	ck_assert_int_eq(scsi_nexus_create(env.target,
					    "iqn.2026-11.org.quorate:lost,i,0x400000000027", T_TPORT,
					    &n), 0);
	t_run(&t, n, 0, tur, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_POWER_ON_RESET_OR_BDR);
	scsi_nexus_destroy(n);
}
END_TEST

/* ---- a thin LU on a full file system ---- */

/*
 * LU 2 is a sparse 4 MiB file on a 256 KiB tmpfs mounted in a private
 * mount namespace of this test process (gone with it, even on a crash).
 * Warnings are captured through a libqb custom log target.
 */
#define FULL_FS_OPTS "size=256k,mode=0700"
#define FULL_LU_SIZE (4u << 20)

static char full_dir[64];
static char full_path[96];
static bool full_mounted;
static int32_t full_log_target = -1;
static unsigned int full_warnings;
static char full_last_warning[512];

static void full_log(int32_t target, struct qb_log_callsite *cs, struct timespec *ts,
		     const char *msg)
{
	(void)target;
	(void)ts;
	if (cs->priority <= LOG_WARNING && strstr(msg, "backing")) {
		full_warnings++;
		snprintf(full_last_warning, sizeof(full_last_warning), "%s", msg);
	}
}

static void full_setup(void)
{
	struct scsi_lu_config cfg;
	int fd;

	full_mounted = false;
	strcpy(full_dir, "/var/tmp/check_scsi_full.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(full_dir));
	/* Before any thread exists (io_uring's workers): unshare needs that. */
	if (unshare(CLONE_NEWNS) == 0 || unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
		(void)mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
		full_mounted = mount("check_scsi_full", full_dir, "tmpfs", 0, FULL_FS_OPTS) == 0;
	}
	qb_log_init("check_scsi_lu", LOG_USER, LOG_WARNING);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
	full_log_target = qb_log_custom_open(full_log, NULL, NULL, NULL);
	ck_assert_int_ge(full_log_target, 0);
	qb_log_filter_ctl(full_log_target, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
	qb_log_ctl(full_log_target, QB_LOG_CONF_ENABLED, QB_TRUE);
	full_warnings = 0;

	t_setup_target();
	snprintf(full_path, sizeof(full_path), "%s/thin.img", full_dir);
	fd = open(full_path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	t_lu_config(&cfg, "file", full_path, FULL_LU_SIZE);
	strcpy(cfg.serial, "QT0003");
	ck_assert_int_eq(scsi_target_add_lu(env.target, 2, &cfg), 0);
	t_add_nexuses();
	t_clear_ua(env.n1, 2);
}

static void full_teardown(void)
{
	t_teardown();
	qb_log_fini();
	unlink(full_path);
	if (full_mounted) {
		umount(full_dir);
	}
	rmdir(full_dir);
}

/*
 * Writing a thin LU until its file system is full: the write that finds no
 * space fails with DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT
 * (7/27/07), not MEDIUM ERROR; one warning names the LUN and the errno, and
 * further failures within the interval are not logged again. Blocks
 * written before stay readable.
 */
START_TEST(test_full_fs_space_allocation_failed)
{
	static uint8_t data[128 * BS];
	struct scsi_task t;
	uint32_t lba = 0;
	unsigned int writes = 0;

	if (!full_mounted) {
		fprintf(stderr, "check_scsi_lu: cannot mount a tmpfs (no root, no user "
				"namespaces): test_full_fs_space_allocation_failed skipped\n");
		return;
	}
	memset(data, 0x5a, sizeof(data));
	for (;;) {
		ck_assert_msg(lba < FULL_LU_SIZE / BS, "4 MiB written to a 256 KiB file system");
		write10(2, lba, 128, data, &t);
		if (t.status != SCSI_STATUS_GOOD) {
			break;
		}
		lba += 128;
		writes++;
	}
	ck_assert_uint_gt(writes, 0);
	t_expect_sense(&t, SENSE_KEY_DATA_PROTECT, ASC_SPACE_ALLOC_FAILED_WRITE_PROTECT);
	ck_assert_uint_eq(full_warnings, 1);
	ck_assert_msg(strstr(full_last_warning, "LUN 2") &&
			      strstr(full_last_warning, strerror(ENOSPC)) &&
			      strstr(full_last_warning, "errno 28"),
		      "warning: %s", full_last_warning);

	/* The same through io_uring (FUA), three times: still one warning. */
	for (int i = 0; i < 3; i++) {
		uint8_t cdb[10] = { 0x2a, 0x08 };

		put_be32(&cdb[2], lba + 1024);
		cdb[8] = 128;
		t_run(&t, env.n1, 2, cdb, 10, data, sizeof(data), sizeof(data));
		t_expect_sense(&t, SENSE_KEY_DATA_PROTECT, ASC_SPACE_ALLOC_FAILED_WRITE_PROTECT);
	}
	ck_assert_uint_eq(full_warnings, 1);

	read10(2, 0, 128, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_mem_eq(env.buf, data, sizeof(data));
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("scsi_lu");
	TCase *tc = tcase_create("lu");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, lu_setup, lu_teardown);
	tcase_add_test(tc, test_inquiry_standard);
	tcase_add_test(tc, test_inquiry_vpd);
	tcase_add_test(tc, test_read_capacity);
	tcase_add_test(tc, test_write_read_roundtrip);
	tcase_add_test(tc, test_offline_online);
	tcase_add_test(tc, test_resize);
	tcase_add_test(tc, test_update_access);
	tcase_add_test(tc, test_rw_errors);
	tcase_add_test(tc, test_compare_and_write);
	tcase_add_test(tc, test_caw_holds_range_lock);
	tcase_add_test(tc, test_read_waits_for_overlapping_write);
	tcase_add_test(tc, test_read_never_torn);
	tcase_add_test(tc, test_unmap_get_lba_status);
	tcase_add_test(tc, test_write_same);
	tcase_add_test(tc, test_verify_bytchk);
	tcase_add_test(tc, test_chunked_readback);
	tcase_add_test(tc, test_ua_sequencing);
	tcase_add_test(tc, test_luns_changed);
	tcase_add_test(tc, test_mode_select_roundtrip);
	tcase_add_test(tc, test_d_sense_and_all_pages);
	tcase_add_test(tc, test_report_opcodes);
	tcase_add_test(tc, test_shared_lu_no_node_atomic);
	tcase_add_test(tc, test_shared_lu_caw_range_holds);
	tcase_add_test(tc, test_read_only_lu);
	tcase_add_test(tc, test_direct_io);
	tcase_add_test(tc, test_alua_unavailable);
	tcase_add_test(tc, test_lease_end);
	tcase_add_test(tc, test_rtpg_header_forms);
	tcase_add_test(tc, test_target_destroy_in_flight);
	tcase_add_test(tc, test_last_nexus_dropped_in_done);
	tcase_add_test(tc, test_nexus_same_name_overlap);
	tcase_add_test(tc, test_nexus_loss_ua);
	suite_add_tcase(s, tc);

	tc = tcase_create("full_fs");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, full_setup, full_teardown);
	tcase_add_test(tc, test_full_fs_space_allocation_failed);
	suite_add_tcase(s, tc);
	return s;
}
