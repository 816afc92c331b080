// SPDX-License-Identifier: GPL-2.0-or-later
/* RFC 7143 §13 negotiation, target side (daemon/iscsi/keys.c). */
#include <check.h>
#include <string.h>

#include "daemon/iscsi/params.h"
#include "tests/unit/check_main.h"

static struct iscsi_neg neg;
static uint8_t rspbuf[4096];
static struct iscsi_text_builder rsp;
static struct iscsi_text_list answers;

static void setup_with(const struct iscsi_params *limits, bool leading)
{
	iscsi_neg_init(&neg, limits, leading);
	iscsi_text_builder_init(&rsp, rspbuf, sizeof(rspbuf));
}

static void setup(void)
{
	struct iscsi_params limits;

	iscsi_params_init_limits(&limits);
	setup_with(&limits, true);
}

static enum iscsi_neg_result offer(const char *key, const char *value)
{
	return iscsi_neg_key(&neg, ISCSI_NEG_OPERATIONAL, key, strlen(key), value, &rsp);
}

/* The answer we gave for @key, parsed from the response buffer. */
static const char *answer_of(const char *key)
{
	ck_assert_int_eq(iscsi_text_parse((const char *)rspbuf, rsp.len, &answers), ISCSI_TEXT_OK);
	return iscsi_text_find(&answers, key);
}

START_TEST(test_digest_lists)
{
	ck_assert_int_eq(offer("HeaderDigest", "CRC32C,None"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("HeaderDigest"), "CRC32C");
	ck_assert_int_eq(neg.result.header_digest, ISCSI_DIGEST_CRC32C);
	ck_assert_int_eq(offer("DataDigest", "None,CRC32C"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("DataDigest"), "None");
	ck_assert_int_eq(neg.result.data_digest, ISCSI_DIGEST_NONE);
}
END_TEST

START_TEST(test_digest_not_allowed)
{
	struct iscsi_params limits;

	iscsi_params_init_limits(&limits);
	limits.header_digest = ISCSI_DIGEST_NONE;
	setup_with(&limits, true);
	ck_assert_int_eq(offer("HeaderDigest", "CRC32C"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("HeaderDigest"), "Reject");
	ck_assert_int_eq(offer("DataDigest", "Bogus,None"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("DataDigest"), "None");
}
END_TEST

START_TEST(test_numeric_min_max)
{
	ck_assert_int_eq(offer("MaxBurstLength", "16776192"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("MaxBurstLength"), "1048576");
	ck_assert_uint_eq(neg.result.max_burst, 1048576);
	ck_assert_int_eq(offer("FirstBurstLength", "0x4000"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("FirstBurstLength"), "16384");
	/* DefaultTime2Wait's result is the Maximum (§13.15). */
	ck_assert_int_eq(offer("DefaultTime2Wait", "0"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("DefaultTime2Wait"), "2");
	ck_assert_int_eq(offer("DefaultTime2Retain", "0"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("DefaultTime2Retain"), "0");
	ck_assert_int_eq(offer("MaxConnections", "8"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("MaxConnections"), "1");
	ck_assert_int_eq(offer("ErrorRecoveryLevel", "2"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("ErrorRecoveryLevel"), "0");
	ck_assert_int_eq(offer("MaxOutstandingR2T", "16"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("MaxOutstandingR2T"), "1");
	ck_assert_int_eq(offer("iSCSIProtocolLevel", "2"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("iSCSIProtocolLevel"), "1");
}
END_TEST

START_TEST(test_out_of_range_reject)
{
	ck_assert_int_eq(offer("MaxBurstLength", "511"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("MaxBurstLength"), "Reject");
	ck_assert_uint_eq(neg.result.max_burst, ISCSI_MAX_BURST_DEFAULT);
	ck_assert_int_eq(offer("MaxConnections", "0"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("MaxConnections"), "Reject");
	ck_assert_int_eq(offer("DefaultTime2Wait", "3601"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("DefaultTime2Wait"), "Reject");
	ck_assert_int_eq(offer("FirstBurstLength", "12ab"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("FirstBurstLength"), "Reject");
	ck_assert_int_eq(offer("ErrorRecoveryLevel", "99999999999999999999999"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("ErrorRecoveryLevel"), "Reject");
	ck_assert_int_eq(offer("InitialR2T", "maybe"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("InitialR2T"), "Reject");
	ck_assert_int_eq(offer("MaxRecvDataSegmentLength", "16777216"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("MaxRecvDataSegmentLength"), "Reject");
	ck_assert_uint_eq(neg.result.max_xmit_dsl, ISCSI_MRDSL_DEFAULT);
}
END_TEST

START_TEST(test_booleans)
{
	/* InitialR2T: OR; we say No, so the initiator decides. */
	ck_assert_int_eq(offer("InitialR2T", "No"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("InitialR2T"), "No");
	ck_assert(!neg.result.initial_r2t);
	/* ImmediateData: AND. */
	ck_assert_int_eq(offer("ImmediateData", "Yes"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("ImmediateData"), "Yes");
	/* DataPDUInOrder: OR, and we need in-order data at ERL 0. */
	ck_assert_int_eq(offer("DataPDUInOrder", "No"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("DataPDUInOrder"), "Yes");
	ck_assert_int_eq(offer("DataSequenceInOrder", "No"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("DataSequenceInOrder"), "Yes");
}
END_TEST

START_TEST(test_booleans_target_strict)
{
	struct iscsi_params limits;

	iscsi_params_init_limits(&limits);
	limits.initial_r2t = true;
	limits.immediate_data = false;
	setup_with(&limits, true);
	ck_assert_int_eq(offer("InitialR2T", "No"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("InitialR2T"), "Yes");
	ck_assert_int_eq(offer("ImmediateData", "Yes"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("ImmediateData"), "No");
	ck_assert(neg.result.initial_r2t);
	ck_assert(!neg.result.immediate_data);
}
END_TEST

START_TEST(test_mrdsl_declarative)
{
	ck_assert_int_eq(offer("MaxRecvDataSegmentLength", "65536"), ISCSI_NEG_OK);
	/* Our answer is our own declaration, the initiator's goes to max_xmit_dsl. */
	ck_assert_str_eq(answer_of("MaxRecvDataSegmentLength"), "262144");
	ck_assert_uint_eq(neg.result.max_xmit_dsl, 65536);
	ck_assert_uint_eq(neg.result.max_recv_dsl, 262144);
	/* declare() does not repeat it, but adds the TPGT. */
	ck_assert_int_eq(iscsi_neg_declare(&neg, ISCSI_NEG_OPERATIONAL, 7, &rsp), 0);
	ck_assert_str_eq(answer_of("TargetPortalGroupTag"), "7");
	ck_assert_uint_eq(answers.count, 2);
	ck_assert_int_eq(iscsi_neg_declare(&neg, ISCSI_NEG_OPERATIONAL, 7, &rsp), 0);
	ck_assert_uint_eq(rsp.len, strlen("MaxRecvDataSegmentLength=262144") + 1 +
					   strlen("TargetPortalGroupTag=7") + 1);
}
END_TEST

START_TEST(test_declare_unasked)
{
	/* Security stage: TPGT only; later MaxRecvDataSegmentLength too. */
	ck_assert_int_eq(iscsi_neg_declare(&neg, ISCSI_NEG_SECURITY, 3, &rsp), 0);
	ck_assert_str_eq(answer_of("TargetPortalGroupTag"), "3");
	ck_assert_ptr_null(answer_of("MaxRecvDataSegmentLength"));
	ck_assert_int_eq(iscsi_neg_declare(&neg, ISCSI_NEG_OPERATIONAL, 3, &rsp), 0);
	ck_assert_str_eq(answer_of("MaxRecvDataSegmentLength"), "262144");
	ck_assert_uint_eq(answers.count, 2);
}
END_TEST

START_TEST(test_discovery_irrelevant)
{
	neg.session_type = ISCSI_SESSION_DISCOVERY;
	ck_assert_int_eq(offer("MaxBurstLength", "65536"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("MaxBurstLength"), "Irrelevant");
	ck_assert_int_eq(offer("InitialR2T", "Yes"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("InitialR2T"), "Irrelevant");
	ck_assert_int_eq(offer("HeaderDigest", "None"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("HeaderDigest"), "None");
	/* No TPGT declaration for discovery. */
	ck_assert_int_eq(iscsi_neg_declare(&neg, ISCSI_NEG_OPERATIONAL, 3, &rsp), 0);
	ck_assert_ptr_null(answer_of("TargetPortalGroupTag"));
}
END_TEST

START_TEST(test_unknown_and_obsolete)
{
	ck_assert_int_eq(offer("X-com.example.Foo", "1"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("X-com.example.Foo"), "NotUnderstood");
	ck_assert_int_eq(offer("X#Bar", "1"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("X#Bar"), "NotUnderstood");
	ck_assert_int_eq(offer("NoSuchKey", "1"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("NoSuchKey"), "NotUnderstood");
	ck_assert_int_eq(offer("OFMarker", "No"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("OFMarker"), "Reject");
	ck_assert_int_eq(offer("IFMarkInt", "2048~8192"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("IFMarkInt"), "Reject");
	ck_assert_int_eq(offer("TargetPortalGroupTag", "1"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("TargetPortalGroupTag"), "Reject");
	ck_assert_int_eq(offer("TaskReporting", "FastAbort,RFC3720"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("TaskReporting"), "RFC3720");
	ck_assert_int_eq(offer("SendTargets", "All"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("SendTargets"), "Irrelevant");
}
END_TEST

START_TEST(test_duplicate_and_stage)
{
	ck_assert_int_eq(offer("MaxBurstLength", "65536"), ISCSI_NEG_OK);
	ck_assert_int_eq(offer("MaxBurstLength", "65536"), ISCSI_NEG_ERR_DUPLICATE);
	ck_assert_int_eq(offer("InitiatorName", "iqn.x"), ISCSI_NEG_LOGIN_KEY);
	ck_assert_int_eq(offer("InitiatorName", "iqn.x"), ISCSI_NEG_ERR_DUPLICATE);
	ck_assert_int_eq(offer("CHAP_A", "5"), ISCSI_NEG_ERR_STAGE);
	ck_assert_int_eq(iscsi_neg_key(&neg, ISCSI_NEG_SECURITY, "AuthMethod", 10, "None", &rsp),
			 ISCSI_NEG_LOGIN_KEY);
	/* Operational keys are fine in the security stage. */
	ck_assert_int_eq(iscsi_neg_key(&neg, ISCSI_NEG_SECURITY, "HeaderDigest", 12, "None", &rsp),
			 ISCSI_NEG_OK);
}
END_TEST

START_TEST(test_full_feature_phase)
{
	ck_assert_int_eq(iscsi_neg_key(&neg, ISCSI_NEG_FULL_FEATURE, "MaxBurstLength", 14, "4096",
				       &rsp),
			 ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("MaxBurstLength"), "Reject");
	ck_assert_int_eq(iscsi_neg_key(&neg, ISCSI_NEG_FULL_FEATURE, "MaxRecvDataSegmentLength",
				       24, "4096", &rsp),
			 ISCSI_NEG_OK);
	ck_assert_uint_eq(neg.result.max_xmit_dsl, 4096);
	ck_assert_int_eq(iscsi_neg_key(&neg, ISCSI_NEG_FULL_FEATURE, "CHAP_A", 6, "5", &rsp),
			 ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("CHAP_A"), "Reject");
}
END_TEST

START_TEST(test_non_leading)
{
	struct iscsi_params limits;

	iscsi_params_init_limits(&limits);
	setup_with(&limits, false);
	ck_assert_int_eq(offer("MaxBurstLength", "65536"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("MaxBurstLength"), "Irrelevant");
	ck_assert_int_eq(offer("HeaderDigest", "CRC32C"), ISCSI_NEG_OK);
	ck_assert_str_eq(answer_of("HeaderDigest"), "CRC32C");
}
END_TEST

START_TEST(test_finish_and_sanitize)
{
	struct iscsi_params limits;

	ck_assert_int_eq(offer("MaxBurstLength", "8192"), ISCSI_NEG_OK);
	ck_assert_int_eq(offer("FirstBurstLength", "65536"), ISCSI_NEG_OK);
	iscsi_neg_finish(&neg);
	ck_assert_uint_eq(neg.result.first_burst, 8192);

	iscsi_params_init_limits(&limits);
	limits.max_recv_dsl = 0;
	limits.max_burst = 1u << 30;
	limits.max_connections = 4;
	iscsi_params_limits_sanitize(&limits);
	ck_assert_uint_eq(limits.max_recv_dsl, ISCSI_MRDSL_MIN);
	ck_assert_uint_eq(limits.max_burst, ISCSI_BURST_MAX);
	ck_assert_uint_eq(limits.max_connections, 1);
}
END_TEST

START_TEST(test_nospace)
{
	iscsi_text_builder_init(&rsp, rspbuf, 8);
	ck_assert_int_eq(offer("MaxBurstLength", "65536"), ISCSI_NEG_ERR_NOSPACE);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("iscsi_keys");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_digest_lists);
	tcase_add_test(tc, test_digest_not_allowed);
	tcase_add_test(tc, test_numeric_min_max);
	tcase_add_test(tc, test_out_of_range_reject);
	tcase_add_test(tc, test_booleans);
	tcase_add_test(tc, test_booleans_target_strict);
	tcase_add_test(tc, test_mrdsl_declarative);
	tcase_add_test(tc, test_declare_unasked);
	tcase_add_test(tc, test_discovery_irrelevant);
	tcase_add_test(tc, test_unknown_and_obsolete);
	tcase_add_test(tc, test_duplicate_and_stage);
	tcase_add_test(tc, test_full_feature_phase);
	tcase_add_test(tc, test_non_leading);
	tcase_add_test(tc, test_finish_and_sanitize);
	tcase_add_test(tc, test_nospace);
	suite_add_tcase(s, tc);
	return s;
}
