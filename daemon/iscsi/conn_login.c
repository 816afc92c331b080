// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Login phase of a connection: the glue between the socket side (conn.c)
 * and libiscsiproto's pure login state machine (login.c). This file answers
 * the state machine's questions from the server's registry (targets, ACLs,
 * CHAP credentials, existing sessions) and, when the login completes,
 * creates the session (RFC 7143 §6.3, §4.4):
 *
 *  - TSIH 0, Normal session, same InitiatorName + ISID + TargetName as a
 *    live session: session reinstatement (§6.3.5): the old session's
 *    connections close and its tasks are aborted before the new one
 *    starts; the new I_T nexus has the same name, so the SCSI layer treats
 *    it as the same I_T nexus (unit attentions carry over);
 *  - TSIH != 0: we support one connection per session (MaxConnections=1),
 *    so adding a connection to a live session fails with 0x0206 and a
 *    TSIH that names no session with 0x020a;
 *  - TSIH allocation happens here, written into the final response only.
 *
 * CHAP secrets are handed to the state machine for the duration of the
 * lookup callback only and never logged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/iscsi/login.h"
#include "daemon/base/log.h"

#define LOGIN_FIRST_STAT_SN 1u

static void auth_from_store(const struct iscsi_chap_store *c, struct iscsi_login_auth *out)
{
	out->chap_required = c->enabled;
	out->chap_user = c->user;
	out->chap_secret = c->secret;
	out->mutual_user = c->mutual_user;
	out->mutual_secret = c->mutual_secret;
}

static int login_lookup_target(void *ctx, const char *target, const char *initiator,
			       struct iscsi_login_auth *out)
{
	struct iscsi_conn *conn = ctx;
	struct iscsi_server *server = conn->server;
	struct iscsi_target_entry *t = iscsi_target_find(server, target);

	if (!t) {
		return -ENOENT;
	}
	if (!iscsi_target_acl_allows(t, initiator)) {
		return -EACCES;
	}
	/* Normal sessions only: discovery ones have their own limit. A
	 * reinstatement replaces a session and needs no new slot. */
	if (server->cfg.max_sessions &&
	    server->nsessions - server->ndiscovery >= server->cfg.max_sessions &&
	    !iscsi_session_find(server, initiator, iscsi_bhs_isid(conn->hdr), target)) {
		return -EBUSY;
	}
	auth_from_store(&t->chap, out);
	out->target_alias = t->alias[0] ? t->alias : NULL;
	return 0;
}

static int login_lookup_discovery(void *ctx, const char *initiator, struct iscsi_login_auth *out)
{
	struct iscsi_conn *conn = ctx;
	int rc = iscsi_admit_discovery(conn->server, conn->peer);
	(void)initiator;

	if (rc != 0) {
		return rc;
	}
	auth_from_store(&conn->server->discovery_chap, out);
	out->target_alias = NULL;
	return 0;
}

static int login_chap_attempt(void *ctx, const char *initiator)
{
	return iscsi_admit_chap_attempt(ctx, initiator);
}

static void login_chap_result(void *ctx, const char *initiator, bool ok)
{
	iscsi_admit_chap_result(ctx, initiator, ok);
}

static int login_check_session(void *ctx, uint16_t tsih, const uint8_t *isid, uint16_t cid,
			       const char *initiator, const char *target)
{
	struct iscsi_conn *conn = ctx;
	struct iscsi_session *s = iscsi_session_find_tsih(conn->server, tsih);
	(void)cid;

	if (!s || memcmp(s->isid, isid, sizeof(s->isid)) != 0 ||
	    strcmp(s->initiator_name, initiator) != 0 ||
	    strcmp(s->target_name, target ? target : "") != 0) {
		return -ENOENT;
	}
	/* MaxConnections=1 (§13.2): the session already has its connection. */
	return -EBUSY;
}

static const struct iscsi_login_env login_env = {
	.lookup_target = login_lookup_target,
	.lookup_discovery = login_lookup_discovery,
	.check_session = login_check_session,
	.chap_attempt = login_chap_attempt,
	.chap_result = login_chap_result,
};

void iscsi_conn_login_init(struct iscsi_conn *conn)
{
	struct iscsi_server *server = conn->server;
	struct iscsi_login_config cfg = {
		.limits = server->limits,
		.tpgt = server->cfg.tpgt,
		.cmd_window = server->cfg.queue_depth,
		.stat_sn = LOGIN_FIRST_STAT_SN,
		.require_mutual = server->cfg.require_mutual_chap != 0,
	};

	conn->login = NULL;
	if (iscsi_login_create(&login_env, conn, &cfg, &conn->login) != 0) {
		conn->login = NULL;
	}
}

void iscsi_conn_login_fini(struct iscsi_conn *conn)
{
	iscsi_login_destroy(conn->login);
	conn->login = NULL;
}

static void login_set_status(uint8_t *rsp, uint16_t status)
{
	iscsi_bhs_set_login_status(rsp, status);
	/* §11.13.1: a failed login response has T=0 and no next stage. */
	iscsi_bhs_clear_flags(rsp, ISCSI_LOGIN_FLAG_TRANSIT | ISCSI_LOGIN_NSG_MASK);
}

/* The login is complete: create or reinstate the session. @return 0 or -errno. */
static int login_finish(struct iscsi_conn *conn, uint8_t *rsp)
{
	struct iscsi_server *server = conn->server;
	struct iscsi_login *login = conn->login;
	const struct iscsi_params *params = iscsi_login_params(login);
	const char *initiator = iscsi_login_initiator_name(login);
	const char *tname = iscsi_login_target_name(login);
	bool discovery = iscsi_login_session_type(login) == ISCSI_SESSION_DISCOVERY;
	struct iscsi_target_entry *target = NULL;
	struct iscsi_session *old, *s;
	uint8_t isid[ISCSI_ISID_LEN];
	int rc;

	iscsi_login_isid(login, isid);
	if (!discovery) {
		target = iscsi_target_find(server, tname);
		if (!target) {
			login_set_status(rsp, ISCSI_LOGIN_TARGET_REMOVED);
			return -ENOENT;
		}
		old = iscsi_session_find(server, initiator, isid, tname);
		if (old) {
			/* §6.3.5 session reinstatement: same I_T nexus. */
			log_info("iscsi: [%s] reinstating session tsih %u", conn->peer, old->tsih);
			iscsi_session_shutdown(old, "session reinstatement");
		}
	}
	rc = iscsi_session_create(server, initiator, isid, target, params, &s);
	if (rc != 0) {
		login_set_status(rsp, ISCSI_LOGIN_OUT_OF_RESOURCES);
		return rc;
	}
	s->exp_cmdsn = iscsi_login_exp_cmd_sn(login);
	/* What the login response announced (cmd_window = queue depth). */
	s->max_cmdsn = s->exp_cmdsn + server->cfg.queue_depth - 1u;
	conn->params = *params;
	conn->cid = iscsi_login_cid(login);
	conn->stat_sn = iscsi_login_next_stat_sn(login);
	iscsi_login_rsp_set_tsih(rsp, s->tsih);
	/* For 'session show': when and how it logged in, and where. */
	s->login_time = (int64_t)time(NULL);
	s->chap = iscsi_login_authenticated(login);
	s->chap_mutual = iscsi_login_chap_mutual(login);
	snprintf(s->chap_user, sizeof(s->chap_user), "%s", iscsi_login_chap_user(login));
	snprintf(s->initiator_alias, sizeof(s->initiator_alias), "%s",
		 iscsi_login_initiator_alias(login));
	iscsi_sockaddr_str((const struct sockaddr *)&conn->local_addr, s->local, sizeof(s->local));
	iscsi_session_attach(s, conn);
	if (discovery) {
		iscsi_admit_discovery_started(conn);
	}
	return 0;
}

/* Say which names the login mapped to their canonical form (RFC 3722). */
/*
 * A failed login in words an administrator can act on: who asked for what
 * (the TargetName as the initiator sent it) and why it was refused.
 * Rate-limited: a peer must not be able to flood the log.
 */
static void login_log_failure(struct iscsi_conn *conn)
{
	const struct iscsi_login *l = conn->login;
	const char *init = iscsi_login_initiator_name(l);
	const char *target = iscsi_login_target_name_given(l);
	char what[2 * ISCSI_NAME_MAX + 48];

	if (target == NULL) {
		target = iscsi_login_target_name(l);
	}
	if (init[0] == '\0') {
		snprintf(what, sizeof(what), "login (before a valid InitiatorName)");
	} else if (target[0] != '\0') {
		snprintf(what, sizeof(what), "login of '%s' to '%s'", init, target);
	} else if (iscsi_login_session_type(l) == ISCSI_SESSION_DISCOVERY) {
		snprintf(what, sizeof(what), "discovery login of '%s'", init);
	} else {
		snprintf(what, sizeof(what), "login of '%s'", init);
	}
	iscsi_admit_log_login_failure(conn, what, iscsi_login_status(l), iscsi_login_reason(l));
}

static void login_log_normalised(struct iscsi_conn *conn)
{
	const char *given = iscsi_login_initiator_name_given(conn->login);

	if (given) {
		log_notice("iscsi: [%s] InitiatorName '%s' normalised to '%s' (iSCSI names are "
			   "case-insensitive, RFC 3722)", conn->peer, given,
			   iscsi_login_initiator_name(conn->login));
	}
	given = iscsi_login_target_name_given(conn->login);
	if (given) {
		log_notice("iscsi: [%s] TargetName '%s' normalised to '%s' (iSCSI names are "
			   "case-insensitive, RFC 3722)", conn->peer, given,
			   iscsi_login_target_name(conn->login));
	}
}

void iscsi_conn_login_pdu(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
			  uint32_t len)
{
	struct iscsi_ctl_pdu *c = iscsi_ctl_get(conn, ISCSI_LOGIN_DSL_MAX);
	enum iscsi_login_step step;
	uint32_t rsp_len = 0;

	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	step = iscsi_login_step(conn->login, bhs, data, len, c->tx.hdr, c->buf, c->cap, &rsp_len);
	c->tx.data_len = rsp_len;
	switch (step) {
	case ISCSI_LOGIN_CONTINUE:
		iscsi_conn_send_ctl(conn, c);
		return;
	case ISCSI_LOGIN_FAIL:
		login_log_failure(conn);
		iscsi_conn_send_ctl(conn, c);
		iscsi_conn_close_after_tx(conn);
		return;
	case ISCSI_LOGIN_DONE:
		login_log_normalised(conn);
		if (login_finish(conn, c->tx.hdr) != 0) {
			c->tx.data_len = 0;
			iscsi_conn_send_ctl(conn, c);
			iscsi_conn_close_after_tx(conn);
			return;
		}
		/* Still in the login state: the final response has no digests. */
		iscsi_conn_send_ctl(conn, c);
		iscsi_conn_login_fini(conn);
		iscsi_conn_enter_full_feature(conn);
		return;
	}
}
