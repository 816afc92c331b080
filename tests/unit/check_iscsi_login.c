// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Login state machine (daemon/iscsi/login.c) driven with real Login Request
 * PDUs, plus the Text/SendTargets exchange (sendtargets.c). The server
 * side is a small table of targets implementing struct iscsi_login_env.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/iscsi/chap.h"
#include "daemon/iscsi/login.h"
#include "daemon/iscsi/pdu.h"
#include "daemon/iscsi/sendtargets.h"
#include "tests/unit/check_main.h"

#define TGT "iqn.2026-11.org.quorate:demo"
#define TGT_CHAP "iqn.2026-11.org.quorate:chap"
#define TGT_ACL "iqn.2026-11.org.quorate:acl"
#define INI "iqn.1994-05.com.example:host1"
#define T(s) (s), (uint32_t)(sizeof(s) - 1)

static bool discovery_chap;

static int lookup_target(void *ctx, const char *target, const char *initiator,
			 struct iscsi_login_auth *out)
{
	(void)ctx;
	if (strcmp(target, TGT) == 0) {
		out->target_alias = "demo disk";
		return 0;
	}
	if (strcmp(target, TGT_CHAP) == 0) {
		out->chap_required = true;
		out->chap_user = "alice";
		out->chap_secret = "alicesecret1";
		out->mutual_user = "tgtuser";
		out->mutual_secret = "targetsecret";
		return 0;
	}
	if (strcmp(target, TGT_ACL) == 0) {
		return strcmp(initiator, INI) == 0 ? 0 : -EACCES;
	}
	if (strcmp(target, "iqn.busy") == 0) {
		return -EAGAIN;
	}
	return -ENOENT;
}

static int lookup_discovery(void *ctx, const char *initiator, struct iscsi_login_auth *out)
{
	(void)ctx;
	(void)initiator;
	if (discovery_chap) {
		out->chap_required = true;
		out->chap_user = "disc";
		out->chap_secret = "discoverysecret";
	}
	return 0;
}

static int check_session(void *ctx, uint16_t tsih, const uint8_t *isid, uint16_t cid,
			 const char *initiator, const char *target)
{
	(void)ctx;
	(void)isid;
	(void)cid;
	(void)initiator;
	(void)target;
	return tsih == 0x55 ? -EBUSY : -ENOENT;
}

/* The server's CHAP back-off, as the login sees it. */
static int chap_attempt_rc;
static unsigned int chap_ok, chap_bad;

static int chap_attempt(void *ctx, const char *initiator)
{
	(void)ctx;
	ck_assert_str_eq(initiator, INI);
	return chap_attempt_rc;
}

static void chap_result(void *ctx, const char *initiator, bool ok)
{
	(void)ctx;
	ck_assert_str_eq(initiator, INI);
	if (ok) {
		chap_ok++;
	} else {
		chap_bad++;
	}
}

static const struct iscsi_login_env env = {
	.lookup_target = lookup_target,
	.lookup_discovery = lookup_discovery,
	.check_session = check_session,
	.chap_attempt = chap_attempt,
	.chap_result = chap_result,
};

static struct iscsi_login *login;
static uint8_t rsp_bhs[ISCSI_BHS_LEN];
static uint8_t rsp_data[8192];
static uint32_t rsp_len;
static struct iscsi_text_list rsp_keys;
static uint16_t req_tsih;

static void setup(void)
{
	struct iscsi_login_config cfg = { .tpgt = 3, .cmd_window = 32, .stat_sn = 1000 };

	iscsi_params_init_limits(&cfg.limits);
	discovery_chap = false;
	req_tsih = 0;
	chap_attempt_rc = 0;
	chap_ok = chap_bad = 0;
	ck_assert_int_eq(iscsi_login_create(&env, NULL, &cfg, &login), 0);
}

static void teardown(void)
{
	iscsi_login_destroy(login);
}

static enum iscsi_login_step send_req(uint8_t flags, const char *text, uint32_t len)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { 0 };
	enum iscsi_login_step st;

	bhs[0] = ISCSI_OP_LOGIN_REQ | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = flags;
	bhs[8] = 0x40;			/* ISID: random qualifier format */
	bhs[13] = 0x01;
	put_be16(bhs + 14, req_tsih);
	put_be32(bhs + 16, 0x1234);
	put_be16(bhs + 20, 1);	/* CID */
	put_be32(bhs + 24, 77);	/* CmdSN */
	iscsi_bhs_set_data_len(bhs, len);
	st = iscsi_login_step(login, bhs, (const uint8_t *)text, len, rsp_bhs, rsp_data,
			      sizeof(rsp_data), &rsp_len);
	ck_assert_uint_eq(iscsi_bhs_opcode(rsp_bhs), ISCSI_OP_LOGIN_RSP);
	ck_assert_uint_eq(iscsi_bhs_data_len(rsp_bhs), rsp_len);
	ck_assert_uint_eq(iscsi_bhs_itt(rsp_bhs), 0x1234);
	ck_assert_uint_eq(get_be32(rsp_bhs + 28), 77);		/* ExpCmdSN */
	ck_assert_uint_eq(get_be32(rsp_bhs + 32), 77 + 31);	/* MaxCmdSN */
	ck_assert_int_eq(iscsi_text_parse((const char *)rsp_data, rsp_len, &rsp_keys),
			 ISCSI_TEXT_OK);
	return st;
}

static uint16_t status(void)
{
	return (uint16_t)(rsp_bhs[36] << 8 | rsp_bhs[37]);
}

static const char *key(const char *k)
{
	return iscsi_text_find(&rsp_keys, k);
}

#define STAGES(csg, nsg) (((csg) << ISCSI_LOGIN_CSG_SHIFT) | (nsg))
#define SEC_TO_OP (ISCSI_LOGIN_FLAG_TRANSIT | STAGES(ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPERATIONAL))
#define SEC_STAY STAGES(ISCSI_STAGE_SECURITY, 0)
#define OP_TO_FF \
	(ISCSI_LOGIN_FLAG_TRANSIT | STAGES(ISCSI_STAGE_OPERATIONAL, ISCSI_STAGE_FULL_FEATURE))
#define SEC_TO_FF \
	(ISCSI_LOGIN_FLAG_TRANSIT | STAGES(ISCSI_STAGE_SECURITY, ISCSI_STAGE_FULL_FEATURE))

START_TEST(test_normal_login_no_auth)
{
	const struct iscsi_params *p;
	uint8_t isid[ISCSI_ISID_LEN];

	/* The libiscsi sequence: security stage with AuthMethod=None, T=1. */
	ck_assert_int_eq(send_req(SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=" TGT
					       "\0SessionType=Normal\0AuthMethod=None\0")),
			 ISCSI_LOGIN_CONTINUE);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_SUCCESS);
	ck_assert_str_eq(key("AuthMethod"), "None");
	ck_assert_str_eq(key("TargetPortalGroupTag"), "3");
	ck_assert_uint_eq(rsp_bhs[1], SEC_TO_OP);
	ck_assert_uint_eq(get_be32(rsp_bhs + 24), 1000);
	ck_assert_int_eq(send_req(OP_TO_FF,
				  T("HeaderDigest=None,CRC32C\0DataDigest=None\0"
				    "InitialR2T=Yes\0ImmediateData=Yes\0MaxBurstLength=262144\0"
				    "FirstBurstLength=262144\0MaxRecvDataSegmentLength=65536\0"
				    "MaxConnections=1\0ErrorRecoveryLevel=0\0")),
			 ISCSI_LOGIN_DONE);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_SUCCESS);
	ck_assert_uint_eq(rsp_bhs[1], OP_TO_FF);
	ck_assert_uint_eq(get_be32(rsp_bhs + 24), 1001);
	ck_assert_str_eq(key("HeaderDigest"), "None");
	ck_assert_str_eq(key("MaxRecvDataSegmentLength"), "262144");
	ck_assert_str_eq(key("TargetAlias"), "demo disk");
	ck_assert_ptr_null(key("TargetPortalGroupTag"));	/* only once */
	iscsi_login_rsp_set_tsih(rsp_bhs, 9);
	ck_assert_uint_eq(get_be16(rsp_bhs + 14), 9);

	p = iscsi_login_params(login);
	ck_assert_uint_eq(p->max_xmit_dsl, 65536);
	ck_assert_uint_eq(p->max_recv_dsl, 262144);
	ck_assert(p->initial_r2t);
	ck_assert(p->immediate_data);
	ck_assert_uint_eq(p->max_burst, 262144);
	ck_assert_str_eq(iscsi_login_initiator_name(login), INI);
	ck_assert_str_eq(iscsi_login_target_name(login), TGT);
	ck_assert_int_eq(iscsi_login_session_type(login), ISCSI_SESSION_NORMAL);
	iscsi_login_isid(login, isid);
	ck_assert_uint_eq(isid[0], 0x40);
	ck_assert_uint_eq(iscsi_login_tsih(login), 0);
	ck_assert_uint_eq(iscsi_login_cid(login), 1);
	ck_assert_uint_eq(iscsi_login_exp_cmd_sn(login), 77);
	ck_assert_uint_eq(iscsi_login_next_stat_sn(login), 1002);
	ck_assert(!iscsi_login_authenticated(login));
	ck_assert_str_eq(iscsi_login_chap_user(login), "");
	ck_assert(!iscsi_login_chap_mutual(login));
	/* Nothing more is accepted. */
	ck_assert_int_eq(send_req(OP_TO_FF, "", 0), ISCSI_LOGIN_FAIL);
}
END_TEST

START_TEST(test_skip_security_and_direct_ffp)
{
	ck_assert_int_eq(send_req(OP_TO_FF, T("InitiatorName=" INI "\0TargetName=" TGT "\0")),
			 ISCSI_LOGIN_DONE);
	ck_assert_str_eq(key("MaxRecvDataSegmentLength"), "262144");
	ck_assert_str_eq(key("TargetPortalGroupTag"), "3");
}
END_TEST

START_TEST(test_security_straight_to_ffp)
{
	ck_assert_int_eq(send_req(SEC_TO_FF, T("InitiatorName=" INI "\0TargetName=" TGT "\0")),
			 ISCSI_LOGIN_DONE);
	ck_assert_str_eq(key("MaxRecvDataSegmentLength"), "262144");
}
END_TEST

START_TEST(test_discovery)
{
	ck_assert_int_eq(send_req(SEC_TO_OP, T("InitiatorName=" INI
					       "\0SessionType=Discovery\0AuthMethod=None\0")),
			 ISCSI_LOGIN_CONTINUE);
	ck_assert_ptr_null(key("TargetPortalGroupTag"));
	ck_assert_int_eq(send_req(OP_TO_FF, T("MaxBurstLength=4096\0HeaderDigest=None\0")),
			 ISCSI_LOGIN_DONE);
	ck_assert_str_eq(key("MaxBurstLength"), "Irrelevant");
	ck_assert_int_eq(iscsi_login_session_type(login), ISCSI_SESSION_DISCOVERY);
	ck_assert_str_eq(iscsi_login_target_name(login), "");
}
END_TEST

/* Compute the initiator's CHAP_R for the challenge in the last response. */
static void chap_answer(const char *secret, char *hex, size_t cap)
{
	uint8_t chal[64], d[ISCSI_CHAP_DIGEST_MAX];
	unsigned int id;
	int n, dl;

	ck_assert_ptr_nonnull(key("CHAP_C"));
	ck_assert_int_eq(sscanf(key("CHAP_I"), "%u", &id), 1);
	n = iscsi_chap_decode(key("CHAP_C"), chal, sizeof(chal));
	ck_assert_int_ge(n, 16);
	dl = iscsi_chap_hash((enum iscsi_chap_alg)atoi(key("CHAP_A")), (uint8_t)id, secret,
			     strlen(secret), chal, (size_t)n, d);
	ck_assert_int_gt(dl, 0);
	ck_assert_int_eq(iscsi_chap_encode_hex(d, (size_t)dl, hex, cap), 0);
}

static void chap_start(const char *target)
{
	char req[256];
	int n = snprintf(req, sizeof(req), "InitiatorName=%s%cTargetName=%s%cAuthMethod=CHAP,None%c",
			 INI, 0, target, 0, 0);

	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_CONTINUE);
	ck_assert_str_eq(key("AuthMethod"), "CHAP");
	/* Authentication pending: the target refuses to move on. */
	ck_assert_uint_eq(rsp_bhs[1] & ISCSI_LOGIN_FLAG_TRANSIT, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, T("CHAP_A=7,5\0")), ISCSI_LOGIN_CONTINUE);
	ck_assert_str_eq(key("CHAP_A"), "7");
	ck_assert_uint_eq(rsp_bhs[1] & ISCSI_LOGIN_FLAG_TRANSIT, 0);
}

START_TEST(test_chap_mutual)
{
	char hex[80], req[512];
	uint8_t d[ISCSI_CHAP_DIGEST_MAX];
	char want[80];
	int n;

	chap_start(TGT_CHAP);
	chap_answer("alicesecret1", hex, sizeof(hex));
	n = snprintf(req, sizeof(req), "CHAP_N=alice%cCHAP_R=%s%cCHAP_I=9%cCHAP_C=0x0102030405%c",
		     0, hex, 0, 0, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_CONTINUE);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_SUCCESS);
	ck_assert_uint_eq(rsp_bhs[1], SEC_TO_OP);
	ck_assert_str_eq(key("CHAP_N"), "tgtuser");
	/* The target's answer is H(9 || targetsecret || 01..05) with SHA-256. */
	{
		static const uint8_t c[5] = { 1, 2, 3, 4, 5 };

		ck_assert_int_eq(iscsi_chap_hash(ISCSI_CHAP_ALG_SHA256, 9, "targetsecret", 12, c,
						 5, d),
				 32);
	}
	iscsi_chap_encode_hex(d, 32, want, sizeof(want));
	ck_assert_str_eq(key("CHAP_R"), want);
	ck_assert(iscsi_login_authenticated(login));
	/* What 'session show' reports: the user it authenticated as, mutually. */
	ck_assert_str_eq(iscsi_login_chap_user(login), "alice");
	ck_assert(iscsi_login_chap_mutual(login));
	ck_assert_int_eq(send_req(OP_TO_FF, "", 0), ISCSI_LOGIN_DONE);
}
END_TEST

START_TEST(test_chap_wrong_secret)
{
	char hex[80], req[512];
	int n;

	chap_start(TGT_CHAP);
	chap_answer("wrongsecret!", hex, sizeof(hex));
	n = snprintf(req, sizeof(req), "CHAP_N=alice%cCHAP_R=%s%c", 0, hex, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_AUTH_FAILED);
	ck_assert_ptr_null(strstr(iscsi_login_reason(login), "alicesecret1"));
}
END_TEST

/* A wrong response is reported to the server; while it backs off, the
 * response is not even checked (0x0301, service unavailable). */
START_TEST(test_chap_backoff_hooks)
{
	char hex[80], req[512];
	int n;

	chap_start(TGT_CHAP);
	chap_answer("wrongsecret!", hex, sizeof(hex));
	n = snprintf(req, sizeof(req), "CHAP_N=alice%cCHAP_R=%s%c", 0, hex, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(chap_bad, 1);
	ck_assert_uint_eq(chap_ok, 0);

	teardown();
	setup();
	chap_attempt_rc = -EAGAIN;
	chap_start(TGT_CHAP);
	chap_answer("alicesecret1", hex, sizeof(hex));
	n = snprintf(req, sizeof(req), "CHAP_N=alice%cCHAP_R=%s%c", 0, hex, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_SERVICE_UNAVAILABLE);
	ck_assert_uint_eq(chap_ok + chap_bad, 0);

	teardown();
	setup();
	chap_start(TGT_CHAP);
	chap_answer("alicesecret1", hex, sizeof(hex));
	n = snprintf(req, sizeof(req), "CHAP_N=alice%cCHAP_R=%s%c", 0, hex, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_CONTINUE);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_SUCCESS);
	ck_assert_uint_eq(chap_ok, 1);
}
END_TEST

/* require_mutual: with a mutual secret configured, one-way CHAP is refused. */
START_TEST(test_chap_require_mutual)
{
	struct iscsi_login_config cfg = { .tpgt = 3, .cmd_window = 32, .stat_sn = 1000,
					  .require_mutual = true };
	char hex[80], req[512];
	int n;

	iscsi_login_destroy(login);
	iscsi_params_init_limits(&cfg.limits);
	ck_assert_int_eq(iscsi_login_create(&env, NULL, &cfg, &login), 0);
	chap_start(TGT_CHAP);
	chap_answer("alicesecret1", hex, sizeof(hex));
	n = snprintf(req, sizeof(req), "CHAP_N=alice%cCHAP_R=%s%c", 0, hex, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_AUTH_FAILED);
	ck_assert_ptr_nonnull(strstr(iscsi_login_reason(login), "mutual"));

	iscsi_login_destroy(login);
	ck_assert_int_eq(iscsi_login_create(&env, NULL, &cfg, &login), 0);
	chap_start(TGT_CHAP);
	chap_answer("alicesecret1", hex, sizeof(hex));
	n = snprintf(req, sizeof(req), "CHAP_N=alice%cCHAP_R=%s%cCHAP_I=9%cCHAP_C=0x0102030405%c",
		     0, hex, 0, 0, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_CONTINUE);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_SUCCESS);
	ck_assert_ptr_nonnull(key("CHAP_R"));
}
END_TEST

/* RFC 3722: names are case-insensitive; the login carries the canonical
 * (lower-case) form and says what it was given. */
START_TEST(test_names_normalised)
{
	char req[256];
	int n = snprintf(req, sizeof(req),
			 "InitiatorName=IQN.1994-05.COM.Example:HOST1%cTargetName=%s%c"
			 "AuthMethod=None%c", 0, "IQN.2026-11.ORG.QUORATE:ACL", 0, 0);

	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_CONTINUE);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_SUCCESS);
	ck_assert_str_eq(iscsi_login_initiator_name(login), INI);
	ck_assert_str_eq(iscsi_login_target_name(login), TGT_ACL);
	ck_assert_str_eq(iscsi_login_initiator_name_given(login), "IQN.1994-05.COM.Example:HOST1");
	ck_assert_str_eq(iscsi_login_target_name_given(login), "IQN.2026-11.ORG.QUORATE:ACL");

	/* Canonical names: nothing to report. A name that is not an iSCSI
	 * name is kept as sent. */
	teardown();
	setup();
	n = snprintf(req, sizeof(req), "InitiatorName=%s%cTargetName=%s%cAuthMethod=None%c", INI,
		     0, TGT, 0, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_CONTINUE);
	ck_assert_ptr_null(iscsi_login_initiator_name_given(login));
	ck_assert_ptr_null(iscsi_login_target_name_given(login));
	teardown();
	setup();
	n = snprintf(req, sizeof(req), "InitiatorName=Not_A_Name%cTargetName=%s%cAuthMethod=None%c",
		     0, TGT, 0, 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_CONTINUE);
	ck_assert_str_eq(iscsi_login_initiator_name(login), "Not_A_Name");
	ck_assert_ptr_null(iscsi_login_initiator_name_given(login));
}
END_TEST

START_TEST(test_chap_reflected)
{
	char hex[80], req[512];
	int n;

	chap_start(TGT_CHAP);
	chap_answer("alicesecret1", hex, sizeof(hex));
	n = snprintf(req, sizeof(req), "CHAP_N=alice%cCHAP_R=%s%cCHAP_I=1%cCHAP_C=%s%c", 0, hex, 0,
		     0, key("CHAP_C"), 0);
	ck_assert_int_eq(send_req(SEC_TO_OP, req, (uint32_t)n), ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_AUTH_FAILED);
}
END_TEST

START_TEST(test_chap_required_not_offered)
{
	ck_assert_int_eq(send_req(SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=" TGT_CHAP
					       "\0AuthMethod=None\0")),
			 ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_AUTH_FAILED);
}
END_TEST

START_TEST(test_chap_required_security_skipped)
{
	ck_assert_int_eq(send_req(OP_TO_FF, T("InitiatorName=" INI "\0TargetName=" TGT_CHAP "\0")),
			 ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_AUTH_FAILED);
}
END_TEST

START_TEST(test_chap_bad_algorithm)
{
	ck_assert_int_eq(send_req(SEC_STAY, T("InitiatorName=" INI "\0TargetName=" TGT_CHAP
					      "\0AuthMethod=CHAP\0")),
			 ISCSI_LOGIN_CONTINUE);
	ck_assert_int_eq(send_req(SEC_STAY, T("CHAP_A=128\0")), ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_AUTH_FAILED);
}
END_TEST

START_TEST(test_discovery_chap)
{
	discovery_chap = true;
	ck_assert_int_eq(send_req(SEC_TO_OP, T("InitiatorName=" INI
					       "\0SessionType=Discovery\0AuthMethod=None\0")),
			 ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_AUTH_FAILED);
}
END_TEST

START_TEST(test_status_classes)
{
	struct {
		uint8_t flags;
		const char *text;
		uint32_t len;
		uint16_t tsih;
		uint16_t status;
	} cases[] = {
		{ SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=iqn.none\0"), 0,
		  ISCSI_LOGIN_NOT_FOUND },
		{ SEC_TO_OP, T("InitiatorName=iqn.other\0TargetName=" TGT_ACL "\0"), 0,
		  ISCSI_LOGIN_FORBIDDEN },
		{ SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=iqn.busy\0"), 0,
		  ISCSI_LOGIN_SERVICE_UNAVAILABLE },
		{ SEC_TO_OP, T("TargetName=" TGT "\0"), 0, ISCSI_LOGIN_MISSING_PARAMETER },
		{ SEC_TO_OP, T("InitiatorName=" INI "\0"), 0, ISCSI_LOGIN_MISSING_PARAMETER },
		{ SEC_TO_OP, T("InitiatorName=" INI "\0SessionType=Bogus\0"), 0,
		  ISCSI_LOGIN_SESSION_TYPE_UNSUPPORTED },
		{ SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=" TGT "\0"), 7,
		  ISCSI_LOGIN_SESSION_DOES_NOT_EXIST },
		{ SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=" TGT "\0"), 0x55,
		  ISCSI_LOGIN_TOO_MANY_CONNECTIONS },
		{ SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=" TGT "\0garbage\0"), 0,
		  ISCSI_LOGIN_INITIATOR_ERROR },
		{ SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=" TGT "\0InitiatorName=x\0"), 0,
		  ISCSI_LOGIN_INITIATOR_ERROR },
		/* T=1 with NSG 2 (reserved), and C=1 with T=1. */
		{ ISCSI_LOGIN_FLAG_TRANSIT | 2, T("InitiatorName=" INI "\0TargetName=" TGT "\0"),
		  0, ISCSI_LOGIN_INITIATOR_ERROR },
		{ SEC_TO_OP | ISCSI_LOGIN_FLAG_CONTINUE, T("InitiatorName=" INI "\0"), 0,
		  ISCSI_LOGIN_INITIATOR_ERROR },
		/* Security keys in the operational stage. */
		{ OP_TO_FF, T("InitiatorName=" INI "\0TargetName=" TGT "\0CHAP_A=5\0"), 0,
		  ISCSI_LOGIN_INITIATOR_ERROR },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		teardown();
		setup();
		req_tsih = cases[i].tsih;
		ck_assert_msg(send_req(cases[i].flags, cases[i].text, cases[i].len) ==
				      ISCSI_LOGIN_FAIL,
			      "case %zu", i);
		ck_assert_msg(status() == cases[i].status, "case %zu: status %04x", i, status());
		ck_assert_msg(iscsi_login_reason(login)[0] != '\0', "case %zu", i);
		ck_assert_uint_eq(rsp_len, 0);
	}
}
END_TEST

START_TEST(test_version)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_LOGIN_REQ | ISCSI_FLAG_IMMEDIATE, SEC_TO_OP, 2, 1 };

	ck_assert_int_eq(iscsi_login_step(login, bhs, NULL, 0, rsp_bhs, rsp_data, sizeof(rsp_data),
					  &rsp_len),
			 ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_UNSUPPORTED_VERSION);
}
END_TEST

START_TEST(test_duplicate_across_pdus)
{
	ck_assert_int_eq(send_req(SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=" TGT
					       "\0AuthMethod=None\0MaxBurstLength=65536\0")),
			 ISCSI_LOGIN_CONTINUE);
	ck_assert_int_eq(send_req(OP_TO_FF, T("MaxBurstLength=65536\0")), ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_INITIATOR_ERROR);
}
END_TEST

START_TEST(test_stage_mismatch)
{
	ck_assert_int_eq(send_req(SEC_TO_OP, T("InitiatorName=" INI "\0TargetName=" TGT
					       "\0AuthMethod=None\0")),
			 ISCSI_LOGIN_CONTINUE);
	/* Still claiming the security stage after we moved to operational. */
	ck_assert_int_eq(send_req(SEC_TO_OP, "", 0), ISCSI_LOGIN_FAIL);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_INITIATOR_ERROR);
}
END_TEST

START_TEST(test_request_continuation)
{
	static const char text[] = "InitiatorName=" INI "\0TargetName=" TGT "\0AuthMethod=None\0";

	/* The first PDU cuts a pair in half (C=1). */
	ck_assert_int_eq(send_req(SEC_STAY | ISCSI_LOGIN_FLAG_CONTINUE, text, 20),
			 ISCSI_LOGIN_CONTINUE);
	ck_assert_uint_eq(rsp_len, 0);
	ck_assert_uint_eq(status(), ISCSI_LOGIN_SUCCESS);
	ck_assert_int_eq(send_req(SEC_TO_OP, text + 20, sizeof(text) - 1 - 20),
			 ISCSI_LOGIN_CONTINUE);
	ck_assert_str_eq(key("AuthMethod"), "None");
	ck_assert_uint_eq(rsp_bhs[1], SEC_TO_OP);
}
END_TEST

START_TEST(test_response_continuation)
{
	char text[8192];
	size_t off = 0;
	uint32_t total = 0;
	int pieces = 0;
	enum iscsi_login_step st;

	off += (size_t)sprintf(text, "InitiatorName=%s", INI) + 1;
	off += (size_t)sprintf(text + off, "TargetName=%s", TGT) + 1;
	/* 60 unknown 60-byte keys: 60 * ~75 bytes of NotUnderstood > 4096. */
	for (int i = 0; i < 60; i++) {
		off += (size_t)sprintf(text + off, "X-%058d=1", i) + 1;
	}
	ck_assert_uint_lt(off, sizeof(text));
	/* A 4096-byte response buffer forces pieces. */
	{
		uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_LOGIN_REQ | ISCSI_FLAG_IMMEDIATE, OP_TO_FF };

		iscsi_bhs_set_data_len(bhs, (uint32_t)off);
		st = iscsi_login_step(login, bhs, (const uint8_t *)text, (uint32_t)off, rsp_bhs,
				      rsp_data, 4096, &rsp_len);
		while (st == ISCSI_LOGIN_CONTINUE) {
			pieces++;
			total += rsp_len;
			ck_assert_uint_eq(rsp_bhs[1] & ISCSI_LOGIN_FLAG_CONTINUE,
					  ISCSI_LOGIN_FLAG_CONTINUE);
			ck_assert_uint_eq(rsp_bhs[1] & ISCSI_LOGIN_FLAG_TRANSIT, 0);
			iscsi_bhs_set_data_len(bhs, 0);
			st = iscsi_login_step(login, bhs, NULL, 0, rsp_bhs, rsp_data, 4096,
					      &rsp_len);
		}
	}
	ck_assert_int_eq(st, ISCSI_LOGIN_DONE);
	total += rsp_len;
	ck_assert_int_ge(pieces, 1);
	ck_assert_uint_eq(rsp_bhs[1], OP_TO_FF);
	ck_assert_uint_gt(total, 4096);
}
END_TEST

/* SendTargets through the Text exchange. */
static int st_cb(void *ctx, const char *value, struct iscsi_text_builder *out)
{
	static const char *const addrs1[] = { "127.0.0.1:14000,1", "[::1]:14000,1" };
	static const char *const addrs2[] = { "127.0.0.1:14001,2" };
	const struct iscsi_st_target t[] = {
		{ TGT, addrs1, 2 },
		{ TGT_CHAP, addrs2, 1 },
	};

	(void)ctx;
	return iscsi_sendtargets_build(value, ISCSI_SESSION_DISCOVERY, "", t, 2, out);
}

static enum iscsi_text_step text_req(struct iscsi_text_exchange *x, struct iscsi_text_ctx *ctx,
				     uint8_t flags, uint32_t ttt, const char *data, uint32_t len,
				     const uint8_t **out, uint32_t *out_len, uint8_t *reason)
{
	uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_TEXT_REQ, flags };

	put_be32(bhs + 16, 0x99);
	put_be32(bhs + 20, ttt);
	iscsi_bhs_set_data_len(bhs, len);
	return iscsi_text_exchange_step(x, ctx, bhs, (const uint8_t *)data, len, rsp_bhs, out,
					out_len, reason);
}

START_TEST(test_sendtargets)
{
	struct iscsi_text_exchange x;
	struct iscsi_params params;
	struct iscsi_text_ctx ctx = {
		.session_type = ISCSI_SESSION_DISCOVERY, .session_target = "",
		.params = &params, .sendtargets = st_cb,
	};
	const uint8_t *out;
	uint32_t out_len;
	uint8_t reason;
	struct iscsi_text_list l;
	char all[512];
	uint32_t all_len = 0;

	iscsi_params_init_defaults(&params);
	ck_assert_int_eq(iscsi_text_exchange_init(&x), 0);
	ck_assert_int_eq(text_req(&x, &ctx, ISCSI_FLAG_FINAL, ISCSI_RESERVED_TAG,
				  T("SendTargets=All\0"), &out, &out_len, &reason),
			 ISCSI_TEXT_RESPOND);
	ck_assert_uint_eq(rsp_bhs[0], ISCSI_OP_TEXT_RSP);
	ck_assert_uint_eq(rsp_bhs[1], ISCSI_FLAG_FINAL);
	ck_assert_uint_eq(get_be32(rsp_bhs + 20), ISCSI_RESERVED_TAG);
	ck_assert_uint_eq(iscsi_bhs_itt(rsp_bhs), 0x99);
	ck_assert_int_eq(iscsi_text_parse((const char *)out, out_len, &l), ISCSI_TEXT_ERR_DUPLICATE);
	ck_assert_mem_eq(out, "TargetName=" TGT "\0TargetAddress=127.0.0.1:14000,1\0"
			      "TargetAddress=[::1]:14000,1\0TargetName=" TGT_CHAP,
			 sizeof("TargetName=" TGT "\0TargetAddress=127.0.0.1:14000,1\0"
				"TargetAddress=[::1]:14000,1\0TargetName=" TGT_CHAP) - 1);
	memcpy(all, out, out_len);
	all_len = out_len;

	/* With a 512-byte MaxRecvDataSegmentLength nothing changes, with 64
	 * the answer comes in pieces chained by TTT. */
	params.max_xmit_dsl = 64;
	{
		char got[512];
		uint32_t got_len = 0;
		enum iscsi_text_step st = text_req(&x, &ctx, ISCSI_FLAG_FINAL, ISCSI_RESERVED_TAG,
						   T("SendTargets=All\0"), &out, &out_len,
						   &reason);

		while (st == ISCSI_TEXT_RESPOND && !(rsp_bhs[1] & ISCSI_FLAG_FINAL)) {
			uint32_t ttt = get_be32(rsp_bhs + 20);

			ck_assert_uint_ne(ttt, ISCSI_RESERVED_TAG);
			ck_assert_uint_eq(rsp_bhs[1], 0x40);
			ck_assert_uint_le(out_len, 64);
			memcpy(got + got_len, out, out_len);
			got_len += out_len;
			st = text_req(&x, &ctx, ISCSI_FLAG_FINAL, ttt, "", 0, &out, &out_len,
				      &reason);
		}
		ck_assert_int_eq(st, ISCSI_TEXT_RESPOND);
		memcpy(got + got_len, out, out_len);
		got_len += out_len;
		ck_assert_uint_eq(got_len, all_len);
		ck_assert_mem_eq(got, all, all_len);
	}
	/* A continuation with a stale TTT is rejected. */
	ck_assert_int_eq(text_req(&x, &ctx, ISCSI_FLAG_FINAL, 12345, "", 0, &out, &out_len,
				  &reason),
			 ISCSI_TEXT_REJECT);
	ck_assert_uint_eq(reason, ISCSI_REJECT_INVALID_PDU_FIELD);
	/* One target by name, and other keys in full feature phase. */
	params.max_xmit_dsl = 8192;
	ck_assert_int_eq(text_req(&x, &ctx, ISCSI_FLAG_FINAL, ISCSI_RESERVED_TAG,
				  T("SendTargets=" TGT_CHAP "\0MaxRecvDataSegmentLength=4096\0"
				    "MaxBurstLength=512\0"),
				  &out, &out_len, &reason),
			 ISCSI_TEXT_RESPOND);
	ck_assert_int_eq(iscsi_text_parse((const char *)out, out_len, &l), ISCSI_TEXT_OK);
	ck_assert_str_eq(iscsi_text_find(&l, "TargetName"), TGT_CHAP);
	ck_assert_str_eq(iscsi_text_find(&l, "MaxBurstLength"), "Reject");
	ck_assert_uint_eq(params.max_xmit_dsl, 4096);
	/* C=1 and F=1 together is a protocol error. */
	ck_assert_int_eq(text_req(&x, &ctx, ISCSI_FLAG_FINAL | 0x40, ISCSI_RESERVED_TAG, "", 0,
				  &out, &out_len, &reason),
			 ISCSI_TEXT_REJECT);
	ck_assert_uint_eq(reason, ISCSI_REJECT_PROTOCOL_ERROR);
	iscsi_text_exchange_fini(&x);
}
END_TEST

START_TEST(test_sendtargets_build_rules)
{
	static const char *const a[] = { "10.0.0.1:3260,1" };
	const struct iscsi_st_target t[] = { { TGT, a, 1 } };
	uint8_t buf[256];
	struct iscsi_text_builder b;

	iscsi_text_builder_init(&b, buf, sizeof(buf));
	ck_assert_int_eq(iscsi_sendtargets_build("All", ISCSI_SESSION_NORMAL, TGT, t, 1, &b), 0);
	ck_assert_mem_eq(buf, "SendTargets=Reject", 19);
	iscsi_text_builder_init(&b, buf, sizeof(buf));
	ck_assert_int_eq(iscsi_sendtargets_build("", ISCSI_SESSION_NORMAL, TGT, t, 1, &b), 0);
	ck_assert_mem_eq(buf, "TargetName=" TGT, sizeof("TargetName=" TGT));
	iscsi_text_builder_init(&b, buf, sizeof(buf));
	ck_assert_int_eq(iscsi_sendtargets_build("iqn.none", ISCSI_SESSION_DISCOVERY, "", t, 1, &b),
			 0);
	ck_assert_uint_eq(b.len, 0);
	iscsi_text_builder_init(&b, buf, 10);
	ck_assert_int_eq(iscsi_sendtargets_build("All", ISCSI_SESSION_DISCOVERY, "", t, 1, &b),
			 -ENOSPC);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("iscsi_login");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_normal_login_no_auth);
	tcase_add_test(tc, test_skip_security_and_direct_ffp);
	tcase_add_test(tc, test_security_straight_to_ffp);
	tcase_add_test(tc, test_discovery);
	tcase_add_test(tc, test_chap_mutual);
	tcase_add_test(tc, test_chap_wrong_secret);
	tcase_add_test(tc, test_chap_reflected);
	tcase_add_test(tc, test_chap_backoff_hooks);
	tcase_add_test(tc, test_chap_require_mutual);
	tcase_add_test(tc, test_names_normalised);
	tcase_add_test(tc, test_chap_required_not_offered);
	tcase_add_test(tc, test_chap_required_security_skipped);
	tcase_add_test(tc, test_chap_bad_algorithm);
	tcase_add_test(tc, test_discovery_chap);
	tcase_add_test(tc, test_status_classes);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_duplicate_across_pdus);
	tcase_add_test(tc, test_stage_mismatch);
	tcase_add_test(tc, test_request_continuation);
	tcase_add_test(tc, test_response_continuation);
	tcase_add_test(tc, test_sendtargets);
	tcase_add_test(tc, test_sendtargets_build_rules);
	suite_add_tcase(s, tc);
	return s;
}
