// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Target-side login state machine (RFC 7143 §6.3 login phase, §7.4
 * security and operational negotiation, §11.12 / §11.13 Login PDUs).
 *
 * One struct iscsi_login lives from the first Login Request of a
 * connection until full feature phase or failure. Each call takes one
 * Login Request and produces one Login Response:
 *  - the first request fixes ISID, TSIH and CID (later requests must
 *    repeat them, §11.12.5-§11.12.7), must carry InitiatorName and, for a
 *    Normal session, TargetName (else 0x0207), and must offer version 0
 *    (VersionMin <= 0, else 0x0205, §11.12.4);
 *  - the current stage (CSG) must be the one we are in; T=1 asks to move to
 *    NSG, which we grant unless authentication is unfinished (§6.3: the
 *    target may answer T=0); NSG must be a later, defined stage;
 *  - the security stage negotiates AuthMethod: CHAP if the target (or the
 *    discovery service) requires it, None otherwise; an initiator that
 *    skips the security stage of a target that requires CHAP fails with
 *    0x0201 (§7.4.1? §12: authentication is the target's call);
 *  - InitiatorName and TargetName are used in their canonical lower-case
 *    form (name.h, RFC 3722); what was mapped is reported to the caller;
 *  - before a CHAP response is checked the server may refuse it unchecked
 *    (env->chap_attempt: its back-off after failures) and learns the
 *    verdict (env->chap_result); with cfg.require_mutual an initiator that
 *    skips the mutual half of a target with a mutual secret fails (0x0201);
 *  - every other key goes through keys.c (§13);
 *  - text spanning PDUs (C=1) is accumulated and acknowledged with empty
 *    responses; a response above the 8192-byte login limit (§13.12) is sent
 *    in pieces with C=1, each requested by an empty Login Request.
 * Failures set a status class/detail (§11.13.5) and a static reason, and
 * end the login. The login holds copies of the CHAP secrets it needs and
 * wipes them when destroyed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "daemon/iscsi/chap.h"
#include "daemon/iscsi/login.h"
#include "daemon/iscsi/name.h"
#include "daemon/iscsi/pdu.h"

/* Login Request/Response BHS offsets (§11.12, §11.13). */
#define LOGIN_STAGE_RESERVED 2		/* §11.12.3: stage 2 is reserved */

#define LOGIN_RSP_TEXT_MAX 16384u	/* all our answers to one request */
#define CHAP_FIELD_MAX (ISCSI_CHAP_SECRET_MAX + 1)
#define ALIAS_MAX (ISCSI_TEXT_VALUE_MAX + 1)

#define AUTH_METHOD_CHAP "CHAP"
#define AUTH_METHOD_NONE "None"
#define SESSION_TYPE_DISCOVERY "Discovery"
#define SESSION_TYPE_NORMAL "Normal"

enum auth_state {
	AUTH_START,		/* no AuthMethod negotiated yet */
	AUTH_WAIT_CHAP_A,	/* AuthMethod=CHAP agreed, expecting CHAP_A */
	AUTH_WAIT_RESPONSE,	/* challenge sent, expecting CHAP_N/CHAP_R */
	AUTH_DONE,		/* authenticated, or no authentication needed */
};

enum login_state {
	LOGIN_FIRST,		/* nothing received yet */
	LOGIN_RUNNING,
	LOGIN_FINISHED,		/* DONE or FAIL returned */
};

struct iscsi_login {
	const struct iscsi_login_env *env;
	void *ctx;
	struct iscsi_login_config cfg;
	struct iscsi_neg neg;
	struct iscsi_text_accum req;
	enum login_state state;

	/* Identity of the connection, fixed by the first request. */
	uint8_t isid[ISCSI_ISID_LEN];
	uint16_t tsih;
	uint16_t cid;
	uint32_t cmd_sn;
	uint32_t stat_sn;		/* StatSN of the next response */
	uint8_t stage;			/* enum iscsi_login_stage we are in */

	char initiator_name[ISCSI_NAME_MAX + 1];	/* canonical form (name.h) */
	char initiator_alias[ALIAS_MAX];
	char target_name[ISCSI_NAME_MAX + 1];
	/* The names as sent when they were not canonical, else "". */
	char initiator_given[ISCSI_NAME_MAX + 1];
	char target_given[ISCSI_NAME_MAX + 1];

	/* What the server told us about the target or discovery service. */
	bool chap_required;
	bool has_mutual;
	char chap_user[CHAP_FIELD_MAX];
	char chap_secret[CHAP_FIELD_MAX];
	char mutual_user[CHAP_FIELD_MAX];
	char mutual_secret[CHAP_FIELD_MAX];
	char target_alias[ALIAS_MAX];

	enum auth_state auth;
	struct iscsi_chap chap;
	bool authenticated;
	bool mutual_done;		/* the target answered the initiator's challenge */

	/* Response pieces still to send (C=1 continuation). */
	uint8_t rsp_text[LOGIN_RSP_TEXT_MAX];
	uint32_t rsp_len;
	uint32_t rsp_off;
	bool pending_transit;		/* T=1 on the last piece */
	uint8_t pending_nsg;

	uint16_t status;
	const char *reason;
	char reason_buf[192];		/* a reason naming what was offered */
};

int iscsi_login_create(const struct iscsi_login_env *env, void *ctx,
		       const struct iscsi_login_config *cfg, struct iscsi_login **out)
{
	struct iscsi_login *login;

	if (env == NULL || env->lookup_target == NULL || cfg == NULL || out == NULL) {
		return -EINVAL;
	}
	login = calloc(1, sizeof(*login));
	if (login == NULL) {
		return -ENOMEM;
	}
	login->env = env;
	login->ctx = ctx;
	login->cfg = *cfg;
	iscsi_params_limits_sanitize(&login->cfg.limits);
	if (login->cfg.cmd_window == 0) {
		login->cfg.cmd_window = 1;
	}
	login->stat_sn = cfg->stat_sn;
	login->reason = "";
	iscsi_text_accum_init(&login->req);
	*out = login;
	return 0;
}

void iscsi_login_destroy(struct iscsi_login *login)
{
	if (login == NULL) {
		return;
	}
	iscsi_text_accum_fini(&login->req);
	/* Secrets and challenge must not linger in freed memory. */
	OPENSSL_cleanse(login, sizeof(*login));
	free(login);
}

void iscsi_login_rsp_set_tsih(uint8_t *rsp_bhs, uint16_t tsih)
{
	iscsi_bhs_set_tsih(rsp_bhs, tsih);
}

const struct iscsi_params *iscsi_login_params(const struct iscsi_login *login)
{
	return &login->neg.result;
}

enum iscsi_session_type iscsi_login_session_type(const struct iscsi_login *login)
{
	return login->neg.session_type;
}

const char *iscsi_login_initiator_name(const struct iscsi_login *login)
{
	return login->initiator_name;
}

const char *iscsi_login_initiator_alias(const struct iscsi_login *login)
{
	return login->initiator_alias;
}

const char *iscsi_login_target_name(const struct iscsi_login *login)
{
	return login->target_name;
}

const char *iscsi_login_initiator_name_given(const struct iscsi_login *login)
{
	return login->initiator_given[0] != '\0' ? login->initiator_given : NULL;
}

const char *iscsi_login_target_name_given(const struct iscsi_login *login)
{
	return login->target_given[0] != '\0' ? login->target_given : NULL;
}

void iscsi_login_isid(const struct iscsi_login *login, uint8_t isid[ISCSI_ISID_LEN])
{
	memcpy(isid, login->isid, ISCSI_ISID_LEN);
}

uint16_t iscsi_login_tsih(const struct iscsi_login *login)
{
	return login->tsih;
}

uint16_t iscsi_login_cid(const struct iscsi_login *login)
{
	return login->cid;
}

uint32_t iscsi_login_exp_cmd_sn(const struct iscsi_login *login)
{
	return login->cmd_sn;
}

uint32_t iscsi_login_next_stat_sn(const struct iscsi_login *login)
{
	return login->stat_sn;
}

uint16_t iscsi_login_status(const struct iscsi_login *login)
{
	return login->status;
}

const char *iscsi_login_reason(const struct iscsi_login *login)
{
	return login->reason;
}

bool iscsi_login_authenticated(const struct iscsi_login *login)
{
	return login->authenticated;
}

const char *iscsi_login_chap_user(const struct iscsi_login *login)
{
	return login->authenticated ? login->chap_user : "";
}

bool iscsi_login_chap_mutual(const struct iscsi_login *login)
{
	return login->authenticated && login->mutual_done;
}

/* Copy a borrowed string into a fixed field; false if it does not fit. */
static bool copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap) {
		dst[0] = '\0';
		return false;
	}
	memcpy(dst, src ? src : "", n + 1);
	return true;
}

static bool fail(struct iscsi_login *login, uint16_t status, const char *reason)
{
	login->status = status;
	login->reason = reason;
	return false;
}

/*
 * The AuthMethod the initiator offered does not match what the target (or
 * discovery) asks for: say both, so that an administrator reading the log
 * knows which side to change. The offer is the initiator's text, cut short.
 */
static bool fail_auth_method(struct iscsi_login *login, const char *offered)
{
	const char *who = login->target_name[0] != '\0' ? "target" : "discovery";

	if (login->chap_required) {
		snprintf(login->reason_buf, sizeof(login->reason_buf),
			 "%s requires CHAP; initiator offered %s%.64s", who,
			 offered != NULL ? "AuthMethod=" : "no AuthMethod",
			 offered != NULL ? offered : "");
	} else {
		snprintf(login->reason_buf, sizeof(login->reason_buf),
			 "%s has no CHAP set (AuthMethod=None); initiator offered AuthMethod=%.64s",
			 who, offered != NULL ? offered : "");
	}
	return fail(login, ISCSI_LOGIN_AUTH_FAILED, login->reason_buf);
}

static void build_bhs(struct iscsi_login *login, const uint8_t *req, uint8_t *rsp, bool transit,
		      bool cont, uint8_t nsg, uint32_t dsl)
{
	uint8_t flags = (uint8_t)(login->stage << ISCSI_LOGIN_CSG_SHIFT);

	memset(rsp, 0, ISCSI_BHS_LEN);
	iscsi_bhs_set_opcode(rsp, ISCSI_OP_LOGIN_RSP);
	if (login->status == ISCSI_LOGIN_SUCCESS) {
		if (transit) {
			flags |= ISCSI_LOGIN_FLAG_TRANSIT | (nsg & ISCSI_LOGIN_NSG_MASK);
		}
		if (cont) {
			flags |= ISCSI_LOGIN_FLAG_CONTINUE;
		}
	}
	iscsi_bhs_set_flags(rsp, flags);
	iscsi_bhs_set_versions(rsp, ISCSI_VERSION, ISCSI_VERSION);
	iscsi_bhs_set_data_len(rsp, dsl);
	iscsi_bhs_set_isid(rsp, iscsi_bhs_isid(req));
	iscsi_bhs_set_tsih(rsp, iscsi_bhs_tsih(req));
	iscsi_bhs_set_itt(rsp, iscsi_bhs_itt(req));
	iscsi_bhs_set_statsn(rsp, login->stat_sn++);
	/* Login Requests are immediate and do not advance CmdSN (§6.3). */
	iscsi_bhs_set_exp_cmdsn(rsp, login->cmd_sn);
	iscsi_bhs_set_max_cmdsn(rsp, login->cmd_sn + login->cfg.cmd_window - 1);
	iscsi_bhs_set_login_status(rsp, login->status);
}

/* Map the server's -errno to a login status (see login.h). */
static uint16_t lookup_status(int err)
{
	switch (err) {
	case -ENOENT:
		return ISCSI_LOGIN_NOT_FOUND;
	case -EACCES:
		return ISCSI_LOGIN_FORBIDDEN;
	case -EAGAIN:
		return ISCSI_LOGIN_SERVICE_UNAVAILABLE;
	case -EBUSY:
		return ISCSI_LOGIN_OUT_OF_RESOURCES;
	default:
		return ISCSI_LOGIN_TARGET_ERROR;
	}
}

/* Why the lookup refused the login, in the words of the settings involved. */
static const char *lookup_reason(uint16_t status, bool normal)
{
	switch (status) {
	case ISCSI_LOGIN_NOT_FOUND:
		return "unknown target";
	case ISCSI_LOGIN_FORBIDDEN:
		return "initiator not in the target's ACL";
	case ISCSI_LOGIN_OUT_OF_RESOURCES:
		return normal ? "max_sessions reached" : "max_discovery_sessions reached";
	default:
		return "target lookup failed";
	}
}

/*
 * iSCSI names are case-insensitive (RFC 3722 maps them to lower case): a
 * valid name is used in its canonical form from here on (ACL, I_T nexus
 * names, PR registrations), the name as sent kept in @given for the log.
 * A name that is no valid iSCSI name stays as sent, as it always did.
 */
static void name_canonical(char *name, char *given)
{
	char canon[ISCSI_NAME_MAX + 1];

	if (iscsi_name_normalise(name, canon, sizeof(canon), NULL) == ISCSI_NAME_NORMALISED) {
		memcpy(given, name, strlen(name) + 1);
		memcpy(name, canon, strlen(canon) + 1);
	}
}

static bool take_auth(struct iscsi_login *login, const struct iscsi_login_auth *auth)
{
	login->chap_required = auth->chap_required;
	if (!copy_str(login->target_alias, sizeof(login->target_alias), auth->target_alias)) {
		login->target_alias[0] = '\0';
	}
	if (!auth->chap_required) {
		return true;
	}
	if (!copy_str(login->chap_user, sizeof(login->chap_user), auth->chap_user) ||
	    !copy_str(login->chap_secret, sizeof(login->chap_secret), auth->chap_secret) ||
	    login->chap_user[0] == '\0' || login->chap_secret[0] == '\0') {
		return fail(login, ISCSI_LOGIN_TARGET_ERROR, "chap credentials misconfigured");
	}
	login->has_mutual = auth->mutual_user != NULL && auth->mutual_secret != NULL &&
			    auth->mutual_user[0] != '\0' && auth->mutual_secret[0] != '\0';
	if (login->has_mutual &&
	    (!copy_str(login->mutual_user, sizeof(login->mutual_user), auth->mutual_user) ||
	     !copy_str(login->mutual_secret, sizeof(login->mutual_secret), auth->mutual_secret))) {
		return fail(login, ISCSI_LOGIN_TARGET_ERROR, "chap credentials misconfigured");
	}
	return true;
}

/*
 * First request: the names, the session type and the server's verdict on
 * them. Login keys are consumed by keys.c's duplicate tracking later.
 */
static bool login_identify(struct iscsi_login *login, const struct iscsi_text_list *list)
{
	const char *iname = iscsi_text_find(list, "InitiatorName");
	const char *tname = iscsi_text_find(list, "TargetName");
	const char *stype = iscsi_text_find(list, "SessionType");
	struct iscsi_login_auth auth = { 0 };
	int err;

	if (stype == NULL || strcmp(stype, SESSION_TYPE_NORMAL) == 0) {
		login->neg.session_type = ISCSI_SESSION_NORMAL;
	} else if (strcmp(stype, SESSION_TYPE_DISCOVERY) == 0) {
		login->neg.session_type = ISCSI_SESSION_DISCOVERY;
	} else {
		return fail(login, ISCSI_LOGIN_SESSION_TYPE_UNSUPPORTED, "unknown SessionType");
	}
	/* §13.6: InitiatorName MUST be in the first Login Request. */
	if (iname == NULL || iname[0] == '\0') {
		return fail(login, ISCSI_LOGIN_MISSING_PARAMETER, "no InitiatorName");
	}
	if (!copy_str(login->initiator_name, sizeof(login->initiator_name), iname)) {
		return fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "InitiatorName too long");
	}
	name_canonical(login->initiator_name, login->initiator_given);
	if (login->neg.session_type == ISCSI_SESSION_NORMAL) {
		/* §13.4: TargetName MUST be in the first request of a Normal session. */
		if (tname == NULL || tname[0] == '\0') {
			return fail(login, ISCSI_LOGIN_MISSING_PARAMETER, "no TargetName");
		}
		if (!copy_str(login->target_name, sizeof(login->target_name), tname)) {
			return fail(login, ISCSI_LOGIN_NOT_FOUND, "TargetName too long");
		}
		name_canonical(login->target_name, login->target_given);
		err = login->env->lookup_target(login->ctx, login->target_name,
						login->initiator_name, &auth);
	} else if (login->env->lookup_discovery != NULL) {
		err = login->env->lookup_discovery(login->ctx, login->initiator_name, &auth);
	} else {
		err = 0;
	}
	if (err != 0) {
		uint16_t st = lookup_status(err);

		return fail(login, st, lookup_reason(st, login->target_name[0] != '\0'));
	}
	if (!take_auth(login, &auth)) {
		return false;
	}
	if (login->tsih != 0) {
		err = login->env->check_session ?
			      login->env->check_session(login->ctx, login->tsih, login->isid,
							login->cid, login->initiator_name,
							login->target_name) :
			      -ENOENT;
		switch (err) {
		case 0:
			break;
		case -ENOENT:
			return fail(login, ISCSI_LOGIN_SESSION_DOES_NOT_EXIST, "no session for TSIH");
		case -EBUSY:
			return fail(login, ISCSI_LOGIN_TOO_MANY_CONNECTIONS, "too many connections");
		default:
			return fail(login, ISCSI_LOGIN_CANT_INCLUDE_IN_SESSION,
				    "cannot add connection to session");
		}
	}
	login->neg.leading = login->tsih == 0;
	return true;
}

static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && memcmp(p, item, n) == 0) {
			return true;
		}
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* The security keys of one request (§7.4.1, §12.1.3). */
struct sec_keys {
	const char *auth_method;
	const char *chap_a;
	const char *chap_i;
	const char *chap_c;
	const char *chap_n;
	const char *chap_r;
	bool any;
};

static bool chap_fail(struct iscsi_login *login, enum iscsi_chap_err err)
{
	/* §11.13.5: every authentication failure is 0x0201 to the initiator;
	 * the specific reason only goes to our log. */
	switch (err) {
	case ISCSI_CHAP_ERR_NO_ALG:
		return fail(login, ISCSI_LOGIN_AUTH_FAILED, "chap: no supported CHAP_A");
	case ISCSI_CHAP_ERR_MISSING:
		return fail(login, ISCSI_LOGIN_AUTH_FAILED, "chap: CHAP_N/CHAP_R missing");
	case ISCSI_CHAP_ERR_ENCODING:
		return fail(login, ISCSI_LOGIN_AUTH_FAILED, "chap: malformed value");
	case ISCSI_CHAP_ERR_USER:
		return fail(login, ISCSI_LOGIN_AUTH_FAILED, "chap: wrong user name");
	case ISCSI_CHAP_ERR_RESPONSE:
		return fail(login, ISCSI_LOGIN_AUTH_FAILED, "chap: wrong response");
	case ISCSI_CHAP_ERR_REFLECTED:
		return fail(login, ISCSI_LOGIN_AUTH_FAILED, "chap: reflected challenge");
	case ISCSI_CHAP_ERR_NO_MUTUAL:
		return fail(login, ISCSI_LOGIN_AUTH_FAILED, "chap: mutual CHAP not configured");
	default:
		return fail(login, ISCSI_LOGIN_TARGET_ERROR, "chap: internal error");
	}
}

static bool login_authenticate(struct iscsi_login *login, const struct sec_keys *k,
			       struct iscsi_text_builder *rsp)
{
	enum iscsi_chap_err err;
	enum iscsi_chap_alg alg;

	switch (login->auth) {
	case AUTH_START:
		if (k->auth_method == NULL) {
			return true;
		}
		/* §6.2.1 list negotiation over the one method we accept. */
		if (login->chap_required && list_has(k->auth_method, AUTH_METHOD_CHAP)) {
			login->auth = AUTH_WAIT_CHAP_A;
			return iscsi_text_add(rsp, "AuthMethod", AUTH_METHOD_CHAP) == 0 ||
			       fail(login, ISCSI_LOGIN_OUT_OF_RESOURCES, "response too long");
		}
		if (!login->chap_required && list_has(k->auth_method, AUTH_METHOD_NONE)) {
			login->auth = AUTH_DONE;
			return iscsi_text_add(rsp, "AuthMethod", AUTH_METHOD_NONE) == 0 ||
			       fail(login, ISCSI_LOGIN_OUT_OF_RESOURCES, "response too long");
		}
		return fail_auth_method(login, k->auth_method);
	case AUTH_WAIT_CHAP_A:
		if (k->chap_a == NULL) {
			/* Nothing yet: the initiator may send CHAP_A later. */
			return k->chap_n == NULL && k->chap_r == NULL ?
				       true :
				       fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "CHAP out of order");
		}
		err = iscsi_chap_select(k->chap_a, &alg);
		if (err == ISCSI_CHAP_OK) {
			err = iscsi_chap_challenge(&login->chap, alg, rsp);
		}
		if (err != ISCSI_CHAP_OK) {
			return chap_fail(login, err);
		}
		login->auth = AUTH_WAIT_RESPONSE;
		return true;
	case AUTH_WAIT_RESPONSE:
		if (k->chap_a != NULL) {
			return fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "CHAP out of order");
		}
		if (login->env->chap_attempt != NULL &&
		    login->env->chap_attempt(login->ctx, login->initiator_name) != 0) {
			return fail(login, ISCSI_LOGIN_SERVICE_UNAVAILABLE,
				    "chap: back-off after failed authentications");
		}
		err = iscsi_chap_verify(&login->chap, k->chap_n, k->chap_r, login->chap_user,
					login->chap_secret);
		if (login->env->chap_result != NULL &&
		    (err == ISCSI_CHAP_OK || err == ISCSI_CHAP_ERR_USER ||
		     err == ISCSI_CHAP_ERR_RESPONSE)) {
			login->env->chap_result(login->ctx, login->initiator_name,
						err == ISCSI_CHAP_OK);
		}
		if (err != ISCSI_CHAP_OK) {
			return chap_fail(login, err);
		}
		if (login->cfg.require_mutual && login->has_mutual && k->chap_i == NULL &&
		    k->chap_c == NULL) {
			return fail(login, ISCSI_LOGIN_AUTH_FAILED,
				    "chap: mutual CHAP required but the initiator did not ask for it");
		}
		if (k->chap_i != NULL || k->chap_c != NULL) {
			/* A shared secret for both directions would let the
			 * initiator be answered with its own proof (§12.1.3). */
			if (login->has_mutual &&
			    strcmp(login->mutual_secret, login->chap_secret) == 0) {
				return fail(login, ISCSI_LOGIN_AUTH_FAILED,
					    "chap: mutual secret equals initiator secret");
			}
			err = iscsi_chap_mutual(&login->chap, k->chap_i, k->chap_c,
						login->has_mutual ? login->mutual_user : NULL,
						login->has_mutual ? login->mutual_secret : NULL,
						rsp);
			if (err != ISCSI_CHAP_OK) {
				return chap_fail(login, err);
			}
			login->mutual_done = true;
		}
		login->auth = AUTH_DONE;
		login->authenticated = true;
		return true;
	case AUTH_DONE:
		return k->any ? fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "security key after auth") :
				true;
	}
	return true;
}

static void sec_key_note(struct sec_keys *k, const struct iscsi_text_pair *p)
{
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
		{ "AuthMethod", offsetof(struct sec_keys, auth_method) },
		{ "CHAP_A", offsetof(struct sec_keys, chap_a) },
		{ "CHAP_I", offsetof(struct sec_keys, chap_i) },
		{ "CHAP_C", offsetof(struct sec_keys, chap_c) },
		{ "CHAP_N", offsetof(struct sec_keys, chap_n) },
		{ "CHAP_R", offsetof(struct sec_keys, chap_r) },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (iscsi_text_pair_is(p, map[i].name)) {
			memcpy((char *)k + map[i].off, &p->value, sizeof(p->value));
			k->any = true;
		}
	}
}

/* Negotiate every key of the request; the security ones are collected. */
static bool login_negotiate(struct iscsi_login *login, const struct iscsi_text_list *list,
			    struct iscsi_text_builder *rsp, bool *transit)
{
	enum iscsi_neg_phase phase =
		login->stage == ISCSI_STAGE_SECURITY ? ISCSI_NEG_SECURITY : ISCSI_NEG_OPERATIONAL;
	struct sec_keys sec = { 0 };

	for (unsigned int i = 0; i < list->count; i++) {
		const struct iscsi_text_pair *p = &list->pairs[i];
		enum iscsi_neg_result r;

		r = iscsi_neg_key(&login->neg, phase, p->key, p->key_len, p->value, rsp);
		switch (r) {
		case ISCSI_NEG_OK:
			break;
		case ISCSI_NEG_LOGIN_KEY:
			if (iscsi_text_pair_is(p, "InitiatorAlias")) {
				copy_str(login->initiator_alias, sizeof(login->initiator_alias),
					 p->value);
			}
			sec_key_note(&sec, p);
			break;
		case ISCSI_NEG_ERR_NOSPACE:
			return fail(login, ISCSI_LOGIN_OUT_OF_RESOURCES, "response too long");
		case ISCSI_NEG_ERR_DUPLICATE:
			return fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "key negotiated twice");
		case ISCSI_NEG_ERR_STAGE:
			return fail(login, ISCSI_LOGIN_INITIATOR_ERROR,
				    "security key outside the security stage");
		case ISCSI_NEG_ERR_VALUE:
			return fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "invalid key value");
		}
	}
	if (login->stage == ISCSI_STAGE_SECURITY && !login_authenticate(login, &sec, rsp)) {
		return false;
	}
	if (login->stage == ISCSI_STAGE_SECURITY && *transit && login->auth != AUTH_DONE) {
		if (login->auth == AUTH_START && !login->chap_required) {
			/* No AuthMethod offered and none needed. */
			login->auth = AUTH_DONE;
		} else if (login->auth == AUTH_START) {
			return fail_auth_method(login, NULL);
		} else {
			/* §6.3: the target keeps the stage until CHAP completes. */
			*transit = false;
		}
	}
	return true;
}

static enum iscsi_login_step finish(struct iscsi_login *login, enum iscsi_login_step step)
{
	if (step != ISCSI_LOGIN_CONTINUE) {
		login->state = LOGIN_FINISHED;
		/* The request text is no longer needed; secrets stay until destroy. */
		iscsi_text_accum_fini(&login->req);
	}
	return step;
}

static enum iscsi_login_step respond_fail(struct iscsi_login *login, const uint8_t *req,
					  uint8_t *rsp_bhs, uint32_t *rsp_len)
{
	*rsp_len = 0;
	build_bhs(login, req, rsp_bhs, false, false, 0, 0);
	return finish(login, ISCSI_LOGIN_FAIL);
}

/* Send the next piece of the pending response text. */
static enum iscsi_login_step respond_piece(struct iscsi_login *login, const uint8_t *req,
					   uint8_t *rsp_bhs, uint8_t *rsp_data, uint32_t rsp_cap,
					   uint32_t *rsp_len)
{
	uint32_t limit = rsp_cap < ISCSI_LOGIN_DSL_MAX ? rsp_cap : ISCSI_LOGIN_DSL_MAX;
	uint32_t left = login->rsp_len - login->rsp_off;
	uint32_t n = left < limit ? left : limit;
	bool more = n < left;
	bool transit = !more && login->pending_transit;

	memcpy(rsp_data, login->rsp_text + login->rsp_off, n);
	login->rsp_off += n;
	*rsp_len = n;
	build_bhs(login, req, rsp_bhs, transit, more, login->pending_nsg, n);
	if (transit) {
		login->stage = login->pending_nsg;
		if (login->stage == ISCSI_STAGE_FULL_FEATURE) {
			return finish(login, ISCSI_LOGIN_DONE);
		}
	}
	return ISCSI_LOGIN_CONTINUE;
}

enum iscsi_login_step iscsi_login_step(struct iscsi_login *login, const uint8_t *req_bhs,
				       const uint8_t *data, uint32_t len, uint8_t *rsp_bhs,
				       uint8_t *rsp_data, uint32_t rsp_cap, uint32_t *rsp_len)
{
	uint8_t flags = iscsi_bhs_flags(req_bhs);
	bool transit = (flags & ISCSI_LOGIN_FLAG_TRANSIT) != 0;
	bool cont = (flags & ISCSI_LOGIN_FLAG_CONTINUE) != 0;
	uint8_t csg = (flags & ISCSI_LOGIN_CSG_MASK) >> ISCSI_LOGIN_CSG_SHIFT;
	uint8_t nsg = flags & ISCSI_LOGIN_NSG_MASK;
	struct iscsi_text_builder rsp;
	struct iscsi_text_list list;
	enum iscsi_text_err terr;
	int err;

	*rsp_len = 0;
	login->status = ISCSI_LOGIN_SUCCESS;
	if (login->state == LOGIN_FINISHED) {
		fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "login already finished");
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	if (login->state == LOGIN_FIRST) {
		memcpy(login->isid, iscsi_bhs_isid(req_bhs), ISCSI_ISID_LEN);
		login->tsih = iscsi_bhs_tsih(req_bhs);
		login->cid = iscsi_bhs_cid(req_bhs);
		login->cmd_sn = iscsi_bhs_cmdsn(req_bhs);
		login->stage = csg;
		iscsi_neg_init(&login->neg, &login->cfg.limits, login->tsih == 0);
		login->state = LOGIN_RUNNING;
		/* §11.12.4: we speak version 0 only. */
		if (iscsi_bhs_version_min(req_bhs) != ISCSI_VERSION) {
			fail(login, ISCSI_LOGIN_UNSUPPORTED_VERSION, "unsupported version");
			return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
		}
	}
	if (iscsi_bhs_opcode(req_bhs) != ISCSI_OP_LOGIN_REQ) {
		fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "not a login request");
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	if (len != iscsi_bhs_data_len(req_bhs) || (data == NULL && len != 0)) {
		fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "data segment length mismatch");
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	/* §11.12.5-§11.12.7: the connection's identity may not change mid-login. */
	if (memcmp(login->isid, iscsi_bhs_isid(req_bhs), ISCSI_ISID_LEN) != 0 ||
	    login->tsih != iscsi_bhs_tsih(req_bhs) || login->cid != iscsi_bhs_cid(req_bhs)) {
		fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "ISID/TSIH/CID changed during login");
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	/* §11.12.2: C=1 requires T=0; stage 2 is reserved; no going back. */
	if ((cont && transit) || csg != login->stage || csg == LOGIN_STAGE_RESERVED ||
	    csg == ISCSI_STAGE_FULL_FEATURE ||
	    (transit && (nsg == LOGIN_STAGE_RESERVED || nsg <= csg))) {
		fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "invalid stage transition");
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	if (login->rsp_off < login->rsp_len) {
		/* We owe the rest of a long response; the initiator asks for it
		 * with an empty request (§11.13.? C bit). */
		if (len != 0) {
			fail(login, ISCSI_LOGIN_INITIATOR_ERROR, "text while response pending");
			return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
		}
		return respond_piece(login, req_bhs, rsp_bhs, rsp_data, rsp_cap, rsp_len);
	}
	err = iscsi_text_accum_append(&login->req, data, len);
	if (err != 0) {
		fail(login, err == -ENOMEM ? ISCSI_LOGIN_OUT_OF_RESOURCES :
					     ISCSI_LOGIN_INITIATOR_ERROR,
		     "login text too long");
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	if (cont) {
		/* More text follows: acknowledge with an empty response. */
		build_bhs(login, req_bhs, rsp_bhs, false, false, 0, 0);
		return ISCSI_LOGIN_CONTINUE;
	}
	terr = iscsi_text_parse(login->req.buf, login->req.len, &list);
	if (terr != ISCSI_TEXT_OK) {
		fail(login, ISCSI_LOGIN_INITIATOR_ERROR,
		     terr == ISCSI_TEXT_ERR_DUPLICATE ? "key negotiated twice" :
							"malformed login text");
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	if (!login->initiator_name[0] && !login_identify(login, &list)) {
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	iscsi_text_builder_init(&rsp, login->rsp_text, sizeof(login->rsp_text));
	/* Skipping the security stage is only possible without CHAP (§6.3). */
	if (csg != ISCSI_STAGE_SECURITY && login->auth != AUTH_DONE) {
		if (login->chap_required) {
			fail(login, ISCSI_LOGIN_AUTH_FAILED, "security stage skipped");
			return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
		}
		login->auth = AUTH_DONE;
	}
	if (!login_negotiate(login, &list, &rsp, &transit)) {
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	iscsi_text_accum_reset(&login->req);
	if (login->target_alias[0] != '\0' && login->neg.session_type == ISCSI_SESSION_NORMAL &&
	    login->neg.leading && login->stage != ISCSI_STAGE_SECURITY) {
		/* §13.7: declared once, in the operational stage. */
		iscsi_text_add(&rsp, "TargetAlias", login->target_alias);
		login->target_alias[0] = '\0';
	}
	err = iscsi_neg_declare(&login->neg,
				transit && nsg == ISCSI_STAGE_FULL_FEATURE ? ISCSI_NEG_OPERATIONAL :
				login->stage == ISCSI_STAGE_SECURITY	   ? ISCSI_NEG_SECURITY :
									     ISCSI_NEG_OPERATIONAL,
				login->cfg.tpgt, &rsp);
	if (err != 0 || rsp.overflow) {
		fail(login, ISCSI_LOGIN_OUT_OF_RESOURCES, "response too long");
		return respond_fail(login, req_bhs, rsp_bhs, rsp_len);
	}
	if (transit && nsg == ISCSI_STAGE_FULL_FEATURE) {
		iscsi_neg_finish(&login->neg);
	}
	login->rsp_len = rsp.len;
	login->rsp_off = 0;
	login->pending_transit = transit;
	login->pending_nsg = nsg;
	return respond_piece(login, req_bhs, rsp_bhs, rsp_data, rsp_cap, rsp_len);
}
