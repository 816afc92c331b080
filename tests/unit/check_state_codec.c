/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state machine's mutation codec: every kind round-trips exactly; truncated, padded,
 * mis-versioned and garbage input is rejected, never half-decoded.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state/mutation.h"
#include "tests/unit/check_main.h"

#define NSAMPLES 17

static struct mutation samples[NSAMPLES];

static void make_samples(void)
{
	struct mutation *op;

	memset(samples, 0, sizeof(samples));
	op = &samples[0];
	op->kind = MUTATION_TARGET_ADD;
	strcpy(op->u.target.name, "iqn.2026-11.org.quorate:a");
	strcpy(op->u.target.alias, "alias a");
	op = &samples[1];
	op->kind = MUTATION_TARGET_DEL;
	strcpy(op->u.target.name, "iqn.2026-11.org.quorate:a");
	op = &samples[2];
	op->kind = MUTATION_LUN_ADD;
	strcpy(op->u.lun.target, "iqn.2026-11.org.quorate:a");
	op->u.lun.lun = 16383;
	for (int i = 0; i < 16; i++) {
		op->u.lun.uuid[i] = (uint8_t)(0xf0 + i);
		op->u.lun.naa[i] = (uint8_t)(0x61 + i);
	}
	strcpy(op->u.lun.serial, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
	strcpy(op->u.lun.backing, "file");
	memset(op->u.lun.path, 'p', STORE_PATH_MAX);	/* longest path */
	op->u.lun.path[0] = '/';
	op->u.lun.size_bytes = 0x0123456789abcdefULL;
	op->u.lun.block_size = 4096;
	op->u.lun.direct_io = true;
	op->u.lun.read_only = true;
	op->u.lun.offline = true;
	op = &samples[3];
	op->kind = MUTATION_LUN_DEL;
	strcpy(op->u.lun.target, "iqn.2026-11.org.quorate:a");
	op->u.lun.lun = 258;
	op = &samples[4];
	op->kind = MUTATION_ACL_ADD;
	strcpy(op->u.acl.target, "iqn.2026-11.org.quorate:a");
	strcpy(op->u.acl.initiator, "iqn.1991-05.com.microsoft:host");
	op = &samples[5];
	op->kind = MUTATION_ACL_DEL;
	strcpy(op->u.acl.target, "iqn.2026-11.org.quorate:a");
	strcpy(op->u.acl.initiator, "iqn.1991-05.com.microsoft:host");
	op = &samples[6];
	op->kind = MUTATION_CHAP_SET;
	strcpy(op->u.chap.user, "u");
	strcpy(op->u.chap.secret, "secret-123456");
	strcpy(op->u.chap.mutual_user, "t");
	strcpy(op->u.chap.mutual_secret, "other-secret-9");
	op = &samples[7];
	op->kind = MUTATION_CHAP_CLEAR;
	strcpy(op->u.chap.target, "iqn.2026-11.org.quorate:a");
	op = &samples[8];
	op->kind = MUTATION_PR_CLEAR;
	strcpy(op->u.lu.target, "iqn.2026-11.org.quorate:a");
	op->u.lu.lun = 0x0102;
	op = &samples[9];
	op->kind = MUTATION_LUN_OFFLINE;
	strcpy(op->u.lun.target, "iqn.2026-11.org.quorate:a");
	op->u.lun.lun = 16383;
	op->u.lun.offline = true;
	op = &samples[10];
	op->kind = MUTATION_LUN_OFFLINE;
	strcpy(op->u.lun.target, "iqn.2026-11.org.quorate:a");
	op->u.lun.lun = 1;
	op = &samples[11];
	op->kind = MUTATION_LUN_RESIZE;
	strcpy(op->u.lun.target, "iqn.2026-11.org.quorate:a");
	op->u.lun.lun = 7;
	op->u.lun.size_bytes = 0x0001020304050600ULL;
	op = &samples[12];
	op->kind = MUTATION_LUN_SET;
	strcpy(op->u.lun.target, "iqn.2026-11.org.quorate:a");
	op->u.lun.lun = 3;
	op->set_fields = MUTATION_SET_ALL;
	op->u.lun.write_cache = true;
	memset(op->u.lun.alias, 'a', STORE_ALIAS_MAX);	/* longest alias */
	op = &samples[13];
	op->kind = MUTATION_LUN_SET;
	strcpy(op->u.lun.target, "iqn.2026-11.org.quorate:a");
	op->set_fields = MUTATION_SET_READ_ONLY;
	op->u.lun.read_only = true;
	op = &samples[14];
	*op = samples[2];
	op->u.lun.write_cache = true;
	memset(op->u.lun.path, 0, sizeof(op->u.lun.path));
	strcpy(op->u.lun.path, "/srv/lun");
	strcpy(op->u.lun.alias, "the alias");
	op = &samples[15];
	op->kind = MUTATION_TARGET_SET;
	strcpy(op->u.target.name, "iqn.2026-11.org.quorate:a");
	memset(op->u.target.alias, 'z', STORE_ALIAS_MAX);
	op = &samples[16];
	op->kind = MUTATION_PORTAL;
	op->u.portal.rec.node = 65535;
	strcpy(op->u.portal.rec.address, "[fd00::1]:3261");
	op->u.portal.add = true;
	for (int i = 0; i < NSAMPLES; i++) {
		samples[i].request_id = 0x1122334455667788ULL + (uint64_t)i;
	}
}

START_TEST(test_round_trip)
{
	static uint8_t buf[MUTATION_MAX_LEN];
	struct mutation out;
	size_t len;

	make_samples();
	ck_assert_int_eq(mutation_encode(&samples[_i], buf, sizeof(buf), &len), 0);
	ck_assert_uint_le(len, MUTATION_MAX_LEN);
	ck_assert_int_eq(buf[0], MUTATION_VERSION);
	ck_assert_int_eq(buf[1], samples[_i].kind);
	ck_assert_int_eq(mutation_decode(buf, len, &out), 0);
	ck_assert_int_eq(memcmp(&out, &samples[_i], sizeof(out)), 0);
	ck_assert_str_ne(mutation_kind_name(out.kind), "unknown");

	/* Every strict prefix is rejected. */
	for (size_t n = 0; n < len; n++) {
		ck_assert_int_eq(mutation_decode(buf, n, &out), -EBADMSG);
	}
	/* So is a trailing byte. */
	buf[len] = 0;
	ck_assert_int_eq(mutation_decode(buf, len + 1, &out), -EBADMSG);
}
END_TEST

/* LUN_OFFLINE's flag byte is 0 or 1; the LUN record's flags know the offline bit. */
START_TEST(test_lun_offline_layout)
{
	static uint8_t buf[MUTATION_MAX_LEN];
	struct mutation out;
	size_t len;

	make_samples();
	ck_assert_int_eq(mutation_encode(&samples[9], buf, sizeof(buf), &len), 0);
	/* header, u16 length + name, u16 LUN, u8 offline */
	ck_assert_uint_eq(len, MUTATION_HEADER_LEN + 2 + strlen(samples[9].u.lun.target) + 2 + 1);
	ck_assert_int_eq(buf[len - 3], 0x3f);
	ck_assert_int_eq(buf[len - 2], 0xff);
	ck_assert_int_eq(buf[len - 1], 1);
	buf[len - 1] = 2;
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
	ck_assert_int_eq(mutation_encode(&samples[2], buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(buf[len - 1], MUTATION_LUN_F_DIRECT_IO | MUTATION_LUN_F_READ_ONLY |
					       MUTATION_LUN_F_OFFLINE);
	buf[len - 1] = 0x40;
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
}
END_TEST

/* PORTAL: u32 node id, the address, u8 add (0 or 1). */
START_TEST(test_portal_layout)
{
	static uint8_t buf[MUTATION_MAX_LEN];
	struct mutation out;
	size_t len;

	make_samples();
	ck_assert_int_eq(mutation_encode(&samples[16], buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, MUTATION_HEADER_LEN + 4 + 2 + strlen("[fd00::1]:3261") + 1);
	ck_assert_int_eq(buf[MUTATION_HEADER_LEN + 2], 0xff);
	ck_assert_int_eq(buf[MUTATION_HEADER_LEN + 3], 0xff);
	ck_assert_int_eq(buf[len - 1], 1);
	buf[len - 1] = 2;
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
}
END_TEST

/* LUN_RESIZE: the LU, then the size as a big-endian u64. */
START_TEST(test_lun_resize_layout)
{
	static uint8_t buf[MUTATION_MAX_LEN];
	size_t len;

	make_samples();
	ck_assert_int_eq(mutation_encode(&samples[11], buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, MUTATION_HEADER_LEN + 2 + strlen(samples[11].u.lun.target) + 2 + 8);
	ck_assert_int_eq(buf[len - 10], 0);
	ck_assert_int_eq(buf[len - 9], 7);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(buf[len - 8 + i], i == 7 ? 0 : i);
	}
}
END_TEST

/*
 * LUN_SET carries the fields it changes and their values, which must lie
 * within them, and an alias only with the alias field; a LUN record's
 * alias follows its flags only when present, never empty.
 */
START_TEST(test_lun_set_layout)
{
	static uint8_t buf[MUTATION_MAX_LEN];
	struct mutation m, out;
	size_t len, base;

	make_samples();
	ck_assert_int_eq(mutation_encode(&samples[13], buf, sizeof(buf), &len), 0);
	base = MUTATION_HEADER_LEN + 2 + strlen(samples[13].u.lun.target) + 2;
	ck_assert_uint_eq(len, base + 1 + 1 + 2);
	ck_assert_int_eq(buf[base], MUTATION_SET_READ_ONLY);
	ck_assert_int_eq(buf[base + 1], MUTATION_SET_READ_ONLY);
	buf[base + 1] = MUTATION_SET_READ_ONLY | MUTATION_SET_WRITE_CACHE;
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
	buf[base + 1] = 0;
	buf[base] = 0;
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
	buf[base] = 0x08;
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
	/* Refused on the way out too. */
	m = samples[13];
	strcpy(m.u.lun.alias, "x");
	ck_assert_int_eq(mutation_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	m = samples[13];
	m.u.lun.write_cache = true;
	ck_assert_int_eq(mutation_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	m.set_fields = 0;
	ck_assert_int_eq(mutation_encode(&m, buf, sizeof(buf), &len), -EINVAL);

	/* The record: flags, then u16 length + the alias. */
	ck_assert_int_eq(mutation_encode(&samples[14], buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(buf[len - 12], MUTATION_LUN_F_DIRECT_IO | MUTATION_LUN_F_READ_ONLY |
						MUTATION_LUN_F_OFFLINE | MUTATION_LUN_F_WRITE_CACHE |
						MUTATION_LUN_F_ALIAS);
	ck_assert_int_eq(buf[len - 10], 9);
	ck_assert_int_eq(memcmp(buf + len - 9, "the alias", 9), 0);
	buf[len - 10] = 0;
	ck_assert_int_eq(mutation_decode(buf, len - 9, &out), -EBADMSG);
	/* Without an alias the record ends at its flags, as before aliases. */
	ck_assert_int_eq(mutation_encode(&samples[2], buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(buf[len - 1] & MUTATION_LUN_F_ALIAS, 0);
}
END_TEST

START_TEST(test_big_endian_layout)
{
	uint8_t buf[64];
	size_t len;
	struct mutation m = { .request_id = 0x0102030405060708ULL };

	m.kind = MUTATION_TARGET_DEL;
	strcpy(m.u.target.name, "iqn.2026-11.x:y");
	ck_assert_int_eq(mutation_encode(&m, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 12 + 2 + strlen("iqn.2026-11.x:y"));
	ck_assert_int_eq(buf[2], 0);
	ck_assert_int_eq(buf[3], 0);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(buf[4 + i], i + 1);
	}
	ck_assert_int_eq(buf[12], 0);
	ck_assert_int_eq(buf[13], strlen("iqn.2026-11.x:y"));
}
END_TEST

START_TEST(test_rejects_bad_input)
{
	static uint8_t buf[MUTATION_MAX_LEN];
	struct mutation out;
	size_t len;

	make_samples();
	ck_assert_int_eq(mutation_encode(&samples[0], buf, sizeof(buf), &len), 0);
	buf[0] = MUTATION_VERSION + 1;
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EPROTO);
	buf[0] = MUTATION_VERSION;
	buf[1] = 0;		/* MUTATION_NONE is not a mutation */
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
	buf[1] = 200;
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
	buf[1] = MUTATION_TARGET_ADD;
	buf[3] = 1;		/* reserved */
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
	buf[3] = 0;
	buf[14] = '\0';		/* NUL inside the name */
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
	buf[14] = 'i';
	buf[12] = 0xff;		/* string length beyond the field and the buffer */
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);
	buf[12] = 0;
	buf[13] = 0;		/* empty name: the name's bytes become the next length */
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);

	/* Unknown LUN flag bits. */
	ck_assert_int_eq(mutation_encode(&samples[2], buf, sizeof(buf), &len), 0);
	buf[len - 1] |= 0x80;
	ck_assert_int_eq(mutation_decode(buf, len, &out), -EBADMSG);

	/* Encoder: too small a buffer, unencodable kind, overlong string. */
	ck_assert_int_eq(mutation_encode(&samples[2], buf, 100, &len), -ENOSPC);
	out = samples[0];
	out.kind = MUTATION_NONE;
	ck_assert_int_eq(mutation_encode(&out, buf, sizeof(buf), &len), -EINVAL);
}
END_TEST

START_TEST(test_garbage_never_crashes)
{
	static uint8_t buf[512];
	struct mutation out;
	unsigned int seed = 12345;

	/* Deterministic pseudo-random garbage with a valid-looking header. */
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			buf[i] = (uint8_t)rand_r(&seed);
		}
		if (len > 2) {
			buf[0] = MUTATION_VERSION;
			buf[1] = (uint8_t)(1 + rand_r(&seed) % (MUTATION_KIND_COUNT - 1));
		}
		if (mutation_decode(buf, len, &out) == 0) {
			/* Whatever decodes must re-encode to the same bytes. */
			static uint8_t again[MUTATION_MAX_LEN];
			size_t n;

			ck_assert_int_eq(mutation_encode(&out, again, sizeof(again), &n), 0);
			ck_assert_uint_eq(n, len);
			ck_assert_int_eq(memcmp(again, buf, n), 0);
		}
	}
}
END_TEST

/* PR_SET carries the encoded PR op by reference into the received buffer. */
START_TEST(test_pr_set_round_trip)
{
	static const uint8_t op_bytes[] = { 1, 2, 3, 4, 5, 0, 7 };
	struct mutation in, out;
	uint8_t buf[MUTATION_PR_HEADER_MAX + sizeof(op_bytes) + 1];
	size_t len = 0;

	memset(&in, 0, sizeof(in));
	in.request_id = 42;
	in.kind = MUTATION_RESERVATION;
	strcpy(in.u.lu.target, "iqn.2026-11.org.quorate:demo");
	in.u.lu.lun = 3;
	in.pr_op = op_bytes;
	in.pr_op_len = sizeof(op_bytes);
	ck_assert_int_eq(mutation_encode(&in, buf, sizeof(buf) - 1, &len), 0);
	ck_assert_int_eq(mutation_decode(buf, len, &out), 0);
	ck_assert_int_eq(out.kind, MUTATION_RESERVATION);
	ck_assert_str_eq(out.u.lu.target, in.u.lu.target);
	ck_assert_uint_eq(out.u.lu.lun, 3);
	ck_assert_uint_eq(out.request_id, 42);
	ck_assert_uint_eq(out.pr_op_len, sizeof(op_bytes));
	ck_assert_int_eq(memcmp(out.pr_op, op_bytes, sizeof(op_bytes)), 0);
	/* Truncated op, trailing byte, empty op: all refused. */
	ck_assert_int_eq(mutation_decode(buf, len - 1, &out), -EBADMSG);
	buf[len] = 0;
	ck_assert_int_eq(mutation_decode(buf, len + 1, &out), -EBADMSG);
	in.pr_op_len = 0;
	ck_assert_int_eq(mutation_encode(&in, buf, sizeof(buf), &len), -EINVAL);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("mutation");
	TCase *tc = tcase_create("codec");

	tcase_add_loop_test(tc, test_round_trip, 0, NSAMPLES);
	tcase_add_test(tc, test_big_endian_layout);
	tcase_add_test(tc, test_lun_offline_layout);
	tcase_add_test(tc, test_lun_resize_layout);
	tcase_add_test(tc, test_portal_layout);
	tcase_add_test(tc, test_lun_set_layout);
	tcase_add_test(tc, test_rejects_bad_input);
	tcase_add_test(tc, test_garbage_never_crashes);
	tcase_add_test(tc, test_pr_set_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
