// SPDX-License-Identifier: GPL-2.0-or-later
/* Text key=value codec (daemon/iscsi/text.c), RFC 7143 §6.1 limits. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/iscsi/text.h"
#include "tests/unit/check_main.h"

#define T(s) (s), sizeof(s) - 1	/* literal with its embedded NULs, without the final one */

START_TEST(test_parse_basic)
{
	struct iscsi_text_list l;

	ck_assert_int_eq(iscsi_text_parse(T("A=1\0Bb=two\0Empty=\0"), &l), ISCSI_TEXT_OK);
	ck_assert_uint_eq(l.count, 3);
	ck_assert_str_eq(iscsi_text_find(&l, "A"), "1");
	ck_assert_str_eq(iscsi_text_find(&l, "Bb"), "two");
	ck_assert_str_eq(iscsi_text_find(&l, "Empty"), "");
	ck_assert_ptr_null(iscsi_text_find(&l, "B"));
	ck_assert(iscsi_text_pair_is(&l.pairs[1], "Bb"));
	/* Empty input and zero padding are fine. */
	ck_assert_int_eq(iscsi_text_parse("", 0, &l), ISCSI_TEXT_OK);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_int_eq(iscsi_text_parse(T("A=1\0\0\0\0"), &l), ISCSI_TEXT_OK);
	ck_assert_uint_eq(l.count, 1);
}
END_TEST

START_TEST(test_parse_errors)
{
	struct iscsi_text_list l;
	char key[70], buf[9000];

	ck_assert_int_eq(iscsi_text_parse(T("A=1\0noequals\0"), &l), ISCSI_TEXT_ERR_NO_EQUALS);
	ck_assert_uint_eq(l.err_offset, 4);
	ck_assert_int_eq(iscsi_text_parse(T("=1\0"), &l), ISCSI_TEXT_ERR_KEY_EMPTY);
	ck_assert_int_eq(iscsi_text_parse(T("A B=1\0"), &l), ISCSI_TEXT_ERR_KEY_CHARS);
	ck_assert_int_eq(iscsi_text_parse(T("A=1\0A=2\0"), &l), ISCSI_TEXT_ERR_DUPLICATE);
	ck_assert_int_eq(iscsi_text_parse(T("A=1\0B=2"), &l), ISCSI_TEXT_ERR_UNTERMINATED);

	/* 63-byte keys are fine, 64 are not. */
	memset(key, 'k', 63);
	strcpy(key + 63, "=v");
	ck_assert_int_eq(iscsi_text_parse(key, strlen(key) + 1, &l), ISCSI_TEXT_OK);
	memset(key, 'k', 64);
	strcpy(key + 64, "=v");
	ck_assert_int_eq(iscsi_text_parse(key, strlen(key) + 1, &l), ISCSI_TEXT_ERR_KEY_TOO_LONG);

	/* 255-byte values are fine, 256 are not, except for CHAP_C/CHAP_R. */
	strcpy(buf, "K=");
	memset(buf + 2, 'v', 255);
	buf[257] = '\0';
	ck_assert_int_eq(iscsi_text_parse(buf, 258, &l), ISCSI_TEXT_OK);
	memset(buf + 2, 'v', 256);
	buf[258] = '\0';
	ck_assert_int_eq(iscsi_text_parse(buf, 259, &l), ISCSI_TEXT_ERR_VALUE_TOO_LONG);
	strcpy(buf, "CHAP_C=");
	memset(buf + 7, 'f', 8192);
	buf[7 + 8192] = '\0';
	ck_assert_int_eq(iscsi_text_parse(buf, 7 + 8192 + 1, &l), ISCSI_TEXT_OK);
	buf[7 + 8192] = 'f';
	buf[7 + 8193] = '\0';
	ck_assert_int_eq(iscsi_text_parse(buf, 7 + 8193 + 1, &l), ISCSI_TEXT_ERR_VALUE_TOO_LONG);
}
END_TEST

START_TEST(test_too_many)
{
	struct iscsi_text_list l;
	char buf[2048];
	size_t off = 0;

	for (int i = 0; i <= ISCSI_TEXT_PAIRS_MAX; i++) {
		off += (size_t)sprintf(buf + off, "K%d=x", i) + 1;
	}
	ck_assert_int_eq(iscsi_text_parse(buf, off, &l), ISCSI_TEXT_ERR_TOO_MANY);
}
END_TEST

START_TEST(test_accum_split_pair)
{
	struct iscsi_text_accum acc;
	struct iscsi_text_list l;
	static const char whole[] = "InitiatorName=iqn.x\0SessionType=Normal\0";

	/* A pair split across two PDUs (C bit) parses whole once joined. */
	iscsi_text_accum_init(&acc);
	ck_assert_int_eq(iscsi_text_accum_append(&acc, whole, 25), 0);
	ck_assert_int_eq(iscsi_text_parse(acc.buf, acc.len, &l), ISCSI_TEXT_ERR_UNTERMINATED);
	ck_assert_int_eq(iscsi_text_accum_append(&acc, whole + 25, sizeof(whole) - 1 - 25), 0);
	ck_assert_int_eq(iscsi_text_parse(acc.buf, acc.len, &l), ISCSI_TEXT_OK);
	ck_assert_str_eq(iscsi_text_find(&l, "SessionType"), "Normal");
	iscsi_text_accum_reset(&acc);
	ck_assert_uint_eq(acc.len, 0);
	/* The limit is enforced. */
	for (unsigned int i = 0; i < ISCSI_TEXT_ACCUM_MAX / 32; i++) {
		ck_assert_int_eq(iscsi_text_accum_append(&acc, whole, 32), 0);
	}
	ck_assert_int_eq(iscsi_text_accum_append(&acc, whole, 1), -EMSGSIZE);
	iscsi_text_accum_fini(&acc);
}
END_TEST

START_TEST(test_builder)
{
	uint8_t buf[16];
	struct iscsi_text_builder b;

	iscsi_text_builder_init(&b, buf, sizeof(buf));
	ck_assert_int_eq(iscsi_text_add(&b, "A", "bc"), 0);
	ck_assert_int_eq(iscsi_text_add_u32(&b, "N", 4096), 0);
	ck_assert_uint_eq(b.len, 5 + 7);
	ck_assert_mem_eq(buf, "A=bc\0N=4096\0", 12);
	ck_assert_int_eq(iscsi_text_add(&b, "Long", "x"), -ENOSPC);
	ck_assert(b.overflow);
	/* Once overflowed, even a fitting pair is refused. */
	ck_assert_int_eq(iscsi_text_add(&b, "B", ""), -ENOSPC);
	ck_assert_uint_eq(b.len, 12);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("iscsi_text");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parse_basic);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_accum_split_pair);
	tcase_add_test(tc, test_builder);
	suite_add_tcase(s, tc);
	return s;
}
