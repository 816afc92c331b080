// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iSCSI names (daemon/iscsi/name.c): RFC 7143 §4.2.7's own examples, upper
 * case mapped to the canonical lower-case form (RFC 3722), and what stays
 * invalid.
 */
#include <check.h>
#include <string.h>

#include "daemon/iscsi/name.h"
#include "tests/unit/check_main.h"

static enum iscsi_name_result norm(const char *in, char *out)
{
	const char *why = NULL;
	enum iscsi_name_result r = iscsi_name_normalise(in, out, ISCSI_NAME_LEN_MAX + 1, &why);

	ck_assert_ptr_nonnull(why);
	if (r == ISCSI_NAME_INVALID) {
		ck_assert_str_ne(why, "");
		ck_assert_str_eq(out, "");
	}
	return r;
}

START_TEST(test_rfc7143_examples)
{
	char out[ISCSI_NAME_LEN_MAX + 1];

	/* §4.2.7 examples, as printed in the RFC. */
	ck_assert_int_eq(norm("iqn.2001-04.com.example:storage:diskarrays-sn-a8675309", out),
			 ISCSI_NAME_CANONICAL);
	ck_assert_int_eq(norm("iqn.2001-04.com.example", out), ISCSI_NAME_CANONICAL);
	ck_assert_int_eq(norm("iqn.2001-04.com.example:storage.tape1.sys1.xyz", out),
			 ISCSI_NAME_CANONICAL);
	ck_assert_int_eq(norm("eui.02004567A425678D", out), ISCSI_NAME_NORMALISED);
	ck_assert_str_eq(out, "eui.02004567a425678d");
	ck_assert_int_eq(norm("naa.52004567BA64678D", out), ISCSI_NAME_NORMALISED);
	ck_assert_str_eq(out, "naa.52004567ba64678d");
	/* 128-bit NAA (type 6). */
	ck_assert_int_eq(norm("naa.62004567BA64678D0123456789ABCDEF", out), ISCSI_NAME_NORMALISED);
	ck_assert_str_eq(out, "naa.62004567ba64678d0123456789abcdef");
	ck_assert(iscsi_name_is_canonical("eui.02004567a425678d"));
	ck_assert(!iscsi_name_is_canonical("eui.02004567A425678D"));
}
END_TEST

START_TEST(test_upper_case)
{
	char out[ISCSI_NAME_LEN_MAX + 1];

	ck_assert_int_eq(norm("IQN.1991-05.COM.MICROSOFT:Host-01.Example.COM", out),
			 ISCSI_NAME_NORMALISED);
	ck_assert_str_eq(out, "iqn.1991-05.com.microsoft:host-01.example.com");
	ck_assert_int_eq(norm("EUI.02004567A425678D", out), ISCSI_NAME_NORMALISED);
	ck_assert_str_eq(out, "eui.02004567a425678d");
	/* In place. */
	{
		char buf[ISCSI_NAME_LEN_MAX + 1] = "iqn.2026-11.org.quorate:UPPER";

		ck_assert_int_eq(iscsi_name_normalise(buf, buf, sizeof(buf), NULL),
				 ISCSI_NAME_NORMALISED);
		ck_assert_str_eq(buf, "iqn.2026-11.org.quorate:upper");
	}
}
END_TEST

START_TEST(test_invalid)
{
	char out[ISCSI_NAME_LEN_MAX + 1], longname[300];
	static const char *const bad[] = {
		"",
		"iqn.x",			/* no date */
		"iqn.2026-1.org.x",		/* month of one digit */
		"iqn.2026-11.",			/* no naming authority */
		"iqn.2026-11.org.quorate:a b",	/* space */
		"iqn.2026-11.org.quorate:a_b",	/* prohibited punctuation */
		"iqn.2026-11.org.quorate:a/b",
		"iqn.2026-11.org.quorate:\xc3\xa9", /* non-ASCII: not supported */
		"eui.02004567A425678",		/* 15 hex digits */
		"eui.02004567A425678DD",	/* 17 */
		"eui.02004567G425678D",		/* not hex */
		"naa.52004567BA64678D00",	/* neither 16 nor 32 */
		"foo.2026-11.org.quorate",	/* unknown type */
		"2026-11.org.quorate",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(norm(bad[i], out) == ISCSI_NAME_INVALID, "accepted '%s'", bad[i]);
	}
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "iqn.2026-11.org.quorate:", 24);
	longname[224] = '\0';			/* 224 bytes: one too many */
	ck_assert_int_eq(norm(longname, out), ISCSI_NAME_INVALID);
	longname[223] = '\0';
	ck_assert_int_eq(norm(longname, out), ISCSI_NAME_CANONICAL);
	/* Too small an output buffer is refused, not overrun. */
	ck_assert_int_eq(iscsi_name_normalise("eui.02004567A425678D", out, 10, NULL),
			 ISCSI_NAME_INVALID);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("iscsi_name");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_rfc7143_examples);
	tcase_add_test(tc, test_upper_case);
	tcase_add_test(tc, test_invalid);
	suite_add_tcase(s, tc);
	return s;
}
