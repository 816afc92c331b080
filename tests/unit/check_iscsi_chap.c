// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * CHAP (daemon/iscsi/chap.c). Expected digests were computed independently
 * with openssl dgst, e.g.
 *   printf '\x07secretsecret\x01\x02\x03' | openssl dgst -md5
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "daemon/iscsi/chap.h"
#include "tests/unit/check_main.h"

static const uint8_t chal3[3] = { 1, 2, 3 };

START_TEST(test_hash_vectors)
{
	uint8_t out[ISCSI_CHAP_DIGEST_MAX];
	char hex[80];

	ck_assert_int_eq(iscsi_chap_hash(ISCSI_CHAP_ALG_MD5, 7, "secretsecret", 12, chal3, 3, out),
			 16);
	ck_assert_int_eq(iscsi_chap_encode_hex(out, 16, hex, sizeof(hex)), 0);
	ck_assert_str_eq(hex, "0xb9a7f9e677a3f6a8de38267059d25061");
	ck_assert_int_eq(iscsi_chap_hash(ISCSI_CHAP_ALG_SHA1, 7, "secretsecret", 12, chal3, 3, out),
			 20);
	iscsi_chap_encode_hex(out, 20, hex, sizeof(hex));
	ck_assert_str_eq(hex, "0x0de94b908a28c3d13cb03617d5f959845955272c");
	ck_assert_int_eq(iscsi_chap_hash(ISCSI_CHAP_ALG_SHA256, 7, "secretsecret", 12, chal3, 3,
					 out),
			 32);
	iscsi_chap_encode_hex(out, 32, hex, sizeof(hex));
	ck_assert_str_eq(hex, "0x5ed8df1d2b9f163aea35a78c61f5a584f4953a1ded826b8f4a07670d2bfee3aa");
	ck_assert_int_eq(iscsi_chap_hash(ISCSI_CHAP_ALG_NONE, 7, "s", 1, chal3, 3, out), -EINVAL);
	ck_assert_int_eq(iscsi_chap_encode_hex(out, 16, hex, 33), -ENOSPC);
}
END_TEST

START_TEST(test_decode)
{
	uint8_t out[8];

	ck_assert_int_eq(iscsi_chap_decode("0x010203", out, sizeof(out)), 3);
	ck_assert_mem_eq(out, chal3, 3);
	ck_assert_int_eq(iscsi_chap_decode("0X10203", out, sizeof(out)), 3);
	ck_assert_mem_eq(out, chal3, 3);
	ck_assert_int_eq(iscsi_chap_decode("0bAQID", out, sizeof(out)), 3);
	ck_assert_mem_eq(out, chal3, 3);
	ck_assert_int_eq(iscsi_chap_decode("0BAQI=", out, sizeof(out)), 2);
	ck_assert_int_eq(iscsi_chap_decode("0bAQ==", out, sizeof(out)), 1);
	ck_assert_uint_eq(out[0], 1);
	ck_assert_int_eq(iscsi_chap_decode("0x", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0xzz", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("010203", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0bAQI", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0bA=ID", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0b!!!!", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(iscsi_chap_decode("0x0102030405060708090a", out, sizeof(out)), -EMSGSIZE);
}
END_TEST

START_TEST(test_select)
{
	enum iscsi_chap_alg alg;

	ck_assert_int_eq(iscsi_chap_select("5", &alg), ISCSI_CHAP_OK);
	ck_assert_int_eq(alg, ISCSI_CHAP_ALG_MD5);
	ck_assert_int_eq(iscsi_chap_select("128,7,5", &alg), ISCSI_CHAP_OK);
	ck_assert_int_eq(alg, ISCSI_CHAP_ALG_SHA256);
	ck_assert_int_eq(iscsi_chap_select("6,5", &alg), ISCSI_CHAP_OK);
	ck_assert_int_eq(alg, ISCSI_CHAP_ALG_SHA1);
	ck_assert_int_eq(iscsi_chap_select("128,129", &alg), ISCSI_CHAP_ERR_NO_ALG);
	ck_assert_int_eq(iscsi_chap_select("", &alg), ISCSI_CHAP_ERR_NO_ALG);
	ck_assert_int_eq(iscsi_chap_select("5x", &alg), ISCSI_CHAP_ERR_NO_ALG);
	ck_assert_int_eq(iscsi_chap_select("99999999999999999999999,5", &alg), ISCSI_CHAP_OK);
	ck_assert_int_eq(alg, ISCSI_CHAP_ALG_MD5);
}
END_TEST

/* Compute what a correct initiator would answer to @chap. */
static void initiator_response(const struct iscsi_chap *chap, const char *secret, char *hex,
			       size_t cap)
{
	uint8_t d[ISCSI_CHAP_DIGEST_MAX];
	int n = iscsi_chap_hash(chap->alg, chap->id, secret, strlen(secret), chap->challenge,
				ISCSI_CHAP_CHALLENGE_LEN, d);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(iscsi_chap_encode_hex(d, (size_t)n, hex, cap), 0);
}

START_TEST(test_challenge_and_verify)
{
	struct iscsi_chap chap, chap2;
	uint8_t buf[256];
	struct iscsi_text_builder b;
	struct iscsi_text_list l;
	uint8_t decoded[64];
	char hex[80];

	iscsi_text_builder_init(&b, buf, sizeof(buf));
	ck_assert_int_eq(iscsi_chap_challenge(&chap, ISCSI_CHAP_ALG_MD5, &b), ISCSI_CHAP_OK);
	ck_assert_int_eq(iscsi_text_parse((char *)buf, b.len, &l), ISCSI_TEXT_OK);
	ck_assert_str_eq(iscsi_text_find(&l, "CHAP_A"), "5");
	ck_assert_int_eq(iscsi_chap_decode(iscsi_text_find(&l, "CHAP_C"), decoded,
					   sizeof(decoded)),
			 ISCSI_CHAP_CHALLENGE_LEN);
	ck_assert_mem_eq(decoded, chap.challenge, ISCSI_CHAP_CHALLENGE_LEN);
	/* Fresh randomness each time. */
	iscsi_text_builder_init(&b, buf, sizeof(buf));
	ck_assert_int_eq(iscsi_chap_challenge(&chap2, ISCSI_CHAP_ALG_MD5, &b), ISCSI_CHAP_OK);
	ck_assert(memcmp(chap.challenge, chap2.challenge, ISCSI_CHAP_CHALLENGE_LEN) != 0);

	initiator_response(&chap, "initiatorsecret", hex, sizeof(hex));
	ck_assert_int_eq(iscsi_chap_verify(&chap, "alice", hex, "alice", "initiatorsecret"),
			 ISCSI_CHAP_OK);
	ck_assert_int_eq(iscsi_chap_verify(&chap, "bob", hex, "alice", "initiatorsecret"),
			 ISCSI_CHAP_ERR_USER);
	ck_assert_int_eq(iscsi_chap_verify(&chap, "alice", hex, "alice", "othersecret12"),
			 ISCSI_CHAP_ERR_RESPONSE);
	ck_assert_int_eq(iscsi_chap_verify(&chap, "alice", "0x00", "alice", "initiatorsecret"),
			 ISCSI_CHAP_ERR_RESPONSE);
	ck_assert_int_eq(iscsi_chap_verify(&chap, "alice", "garbage", "alice", "initiatorsecret"),
			 ISCSI_CHAP_ERR_ENCODING);
	ck_assert_int_eq(iscsi_chap_verify(&chap, NULL, hex, "alice", "initiatorsecret"),
			 ISCSI_CHAP_ERR_MISSING);
	/* A response to another challenge does not verify. */
	ck_assert_int_eq(iscsi_chap_verify(&chap2, "alice", hex, "alice", "initiatorsecret"),
			 ISCSI_CHAP_ERR_RESPONSE);
}
END_TEST

START_TEST(test_mutual)
{
	struct iscsi_chap chap = { .alg = ISCSI_CHAP_ALG_MD5, .id = 1 };
	uint8_t buf[256];
	struct iscsi_text_builder b;
	struct iscsi_text_list l;
	char reflected[80];

	/* Expected: printf '\x2amutualsecret1\xaa\xbb\xcc\xdd' | openssl dgst -md5 */
	iscsi_text_builder_init(&b, buf, sizeof(buf));
	ck_assert_int_eq(iscsi_chap_mutual(&chap, "42", "0xaabbccdd", "target", "mutualsecret1",
					   &b),
			 ISCSI_CHAP_OK);
	ck_assert_int_eq(iscsi_text_parse((char *)buf, b.len, &l), ISCSI_TEXT_OK);
	ck_assert_str_eq(iscsi_text_find(&l, "CHAP_N"), "target");
	ck_assert_str_eq(iscsi_text_find(&l, "CHAP_R"), "0xa0834d954530dd60a065611c1df66b1c");

	iscsi_text_builder_init(&b, buf, sizeof(buf));
	ck_assert_int_eq(iscsi_chap_mutual(&chap, "42", "0xaabbccdd", NULL, NULL, &b),
			 ISCSI_CHAP_ERR_NO_MUTUAL);
	ck_assert_int_eq(iscsi_chap_mutual(&chap, "256", "0xaabbccdd", "t", "s", &b),
			 ISCSI_CHAP_ERR_ENCODING);
	ck_assert_int_eq(iscsi_chap_mutual(&chap, "-1", "0xaabbccdd", "t", "s", &b),
			 ISCSI_CHAP_ERR_ENCODING);
	ck_assert_int_eq(iscsi_chap_mutual(&chap, "1", "0x", "t", "s", &b),
			 ISCSI_CHAP_ERR_ENCODING);
	ck_assert_int_eq(iscsi_chap_mutual(&chap, NULL, "0xaa", "t", "s", &b),
			 ISCSI_CHAP_ERR_MISSING);
	/* Our own challenge sent back is refused. */
	memset(chap.challenge, 0x5c, sizeof(chap.challenge));
	iscsi_chap_encode_hex(chap.challenge, sizeof(chap.challenge), reflected,
			      sizeof(reflected));
	ck_assert_int_eq(iscsi_chap_mutual(&chap, "1", reflected, "t", "s", &b),
			 ISCSI_CHAP_ERR_REFLECTED);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_err_strings_have_no_secrets)
{
	for (int e = ISCSI_CHAP_OK; e <= ISCSI_CHAP_ERR_INTERNAL; e++) {
		ck_assert_ptr_nonnull(iscsi_chap_err_str((enum iscsi_chap_err)e));
		ck_assert_ptr_null(strstr(iscsi_chap_err_str((enum iscsi_chap_err)e), "secret"));
	}
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("iscsi_chap");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_hash_vectors);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_select);
	tcase_add_test(tc, test_challenge_and_verify);
	tcase_add_test(tc, test_mutual);
	tcase_add_test(tc, test_err_strings_have_no_secrets);
	suite_add_tcase(s, tc);
	return s;
}
