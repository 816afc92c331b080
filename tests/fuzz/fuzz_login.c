// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the login state machine (daemon/iscsi/login.c):
 * the input is a sequence of Login Requests, each a 48-byte BHS followed by
 * its data segment (DataSegmentLength bytes, cut at the end of the input).
 * The opcode byte is forced to Login Request so the fuzzer spends its time
 * on flags, stages and text. One target requires CHAP (with mutual
 * secrets), one has an ACL, the rest are open. Invariants: the response
 * never exceeds its buffer or the 8192-byte login limit, its
 * DataSegmentLength matches, and once the login ended it stays ended.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/iscsi/login.h"
#include "daemon/iscsi/pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lookup_target(void *ctx, const char *target, const char *initiator,
			 struct iscsi_login_auth *out)
{
	(void)ctx;
	if (strcmp(target, "iqn.chap") == 0) {
		out->chap_required = true;
		out->chap_user = "user";
		out->chap_secret = "secretsecret";
		out->mutual_user = "tuser";
		out->mutual_secret = "tsecretsecret";
		return 0;
	}
	if (strcmp(target, "iqn.acl") == 0) {
		return strcmp(initiator, "iqn.ok") == 0 ? 0 : -EACCES;
	}
	if (strcmp(target, "iqn.missing") == 0) {
		return -ENOENT;
	}
	out->target_alias = "alias";
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
	return tsih & 1 ? 0 : -ENOENT;
}

static const struct iscsi_login_env env = {
	.lookup_target = lookup_target,
	.lookup_discovery = NULL,
	.check_session = check_session,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rsp_data[8192];
	struct iscsi_login_config cfg = { .tpgt = 1, .cmd_window = 16, .stat_sn = 1 };
	struct iscsi_login *login;
	uint8_t bhs[ISCSI_BHS_LEN], rsp_bhs[ISCSI_BHS_LEN];
	bool ended = false;

	iscsi_params_init_limits(&cfg.limits);
	if (iscsi_login_create(&env, NULL, &cfg, &login) != 0) {
		return 0;
	}
	while (size >= ISCSI_BHS_LEN) {
		uint32_t dsl, rsp_len = 0;
		enum iscsi_login_step st;

		memcpy(bhs, data, ISCSI_BHS_LEN);
		bhs[0] = ISCSI_OP_LOGIN_REQ | ISCSI_FLAG_IMMEDIATE;
		data += ISCSI_BHS_LEN;
		size -= ISCSI_BHS_LEN;
		dsl = iscsi_bhs_data_len(bhs);
		if (dsl > size) {
			dsl = (uint32_t)size;
		}
		if (dsl > ISCSI_LOGIN_DSL_MAX) {
			/* The connection code closes such a connection first. */
			break;
		}
		iscsi_bhs_set_data_len(bhs, dsl);
		st = iscsi_login_step(login, bhs, dsl ? data : NULL, dsl, rsp_bhs, rsp_data,
				      sizeof(rsp_data), &rsp_len);
		if (rsp_len > sizeof(rsp_data) || iscsi_bhs_data_len(rsp_bhs) != rsp_len ||
		    iscsi_bhs_opcode(rsp_bhs) != ISCSI_OP_LOGIN_RSP || (ended && st != ISCSI_LOGIN_FAIL)) {
			abort();
		}
		if (st != ISCSI_LOGIN_CONTINUE) {
			ended = true;
		}
		data += dsl;
		size -= dsl;
	}
	iscsi_login_destroy(login);
	return 0;
}
