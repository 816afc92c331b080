// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Control PDUs of an iSCSI connection (RFC 7143, ERL 0): those that are
 * neither SCSI commands nor task management. NOP-Out/NOP-In with the
 * connection's ping timer (§11.18, §11.19; the same timer closes a login
 * that does not finish in time), Text Requests with SendTargets (§11.10,
 * §13.3, through the exchange of sendtargets.c), Logout (§11.14, §11.15),
 * the Asynchronous Message asking for logout (§11.9) and Reject (§11.17).
 *
 * Control PDUs are struct iscsi_ctl_pdu from a small per-connection cache
 * (iscsi_ctl_get()); once written they go back to it, except the large
 * buffers of login and text responses in full feature phase, so an idle
 * session holds little memory. A response is stamped with StatSN,
 * ExpCmdSN and MaxCmdSN (iscsi_conn_stamp_sn()) just before it is queued.
 *
 * Reactions (tests rely on them): a NOP-Out with ITT 0xffffffff gets no
 * answer; one with ITT set and a TTT other than 0xffffffff gets Reject
 * (protocol error); a Logout with an unknown reason code gets Reject
 * (invalid PDU field); a Text Request the exchange cannot accept gets
 * Reject, and a malformed one closes the connection after the Reject.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/base/log.h"

#define CTL_CACHE_MAX	  16u
#define CTL_CACHE_CAP_FFP 512u	      /* largest buffer cached in full feature phase */
#define NOP_TTT_BASE	  0x80000000u /* ping TTTs; task TTTs stay below */

static void nop_timer_cb(void *data);

void iscsi_conn_nop_timer_arm(struct iscsi_conn *conn, uint32_t seconds)
{
	if (conn->nop_timer_armed) {
		qb_loop_timer_del(conn->server->loop, conn->nop_timer);
		conn->nop_timer_armed = false;
	}
	if (seconds == 0) {
		return;
	}
	if (qb_loop_timer_add(conn->server->loop, QB_LOOP_LOW, (uint64_t)seconds * 1000000000ull,
			      conn, nop_timer_cb, &conn->nop_timer) == 0) {
		conn->nop_timer_armed = true;
	}
}

static void ctl_sent(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok)
{
	struct iscsi_ctl_pdu *c = qb_list_entry(tx, struct iscsi_ctl_pdu, tx);
	(void)ok;

	/* Login and Text responses need buffers of several KiB; an idle
	 * session in full feature phase keeps none of them (memory per
	 * session), only the small ones its NOP-Ins and TMF responses use. */
	bool keep = conn->state == ISCSI_CONN_LOGIN || c->cap <= CTL_CACHE_CAP_FFP;

	if (keep && conn->state != ISCSI_CONN_DEAD && conn->ctl_free_count < CTL_CACHE_MAX) {
		qb_list_add(&c->free_node, &conn->ctl_free);
		conn->ctl_free_count++;
		return;
	}
	iscsi_ctl_discard(c);
}

void iscsi_ctl_discard(struct iscsi_ctl_pdu *c)
{
	free(c->buf);
	free(c);
}

void iscsi_conn_ctl_fini(struct iscsi_conn *conn)
{
	struct iscsi_ctl_pdu *c, *cn;

	qb_list_for_each_entry_safe(c, cn, &conn->ctl_free, free_node) {
		qb_list_del(&c->free_node);
		iscsi_ctl_discard(c);
	}
}

struct iscsi_ctl_pdu *iscsi_ctl_get(struct iscsi_conn *conn, uint32_t data_cap)
{
	struct iscsi_ctl_pdu *c = NULL, *it;

	qb_list_for_each_entry(it, &conn->ctl_free, free_node) {
		if (it->cap >= data_cap) {
			c = it;
			break;
		}
	}
	if (c) {
		qb_list_del(&c->free_node);
		conn->ctl_free_count--;
	} else {
		c = calloc(1, sizeof(*c));
		if (!c) {
			return NULL;
		}
		c->cap = data_cap < 64 ? 64 : data_cap;
		c->buf = malloc(c->cap);
		if (!c->buf) {
			free(c);
			return NULL;
		}
	}
	memset(c->tx.hdr, 0, sizeof(c->tx.hdr));
	c->tx.data = c->buf;
	c->tx.data_len = 0;
	c->tx.sent_fn = ctl_sent;
	return c;
}

void iscsi_conn_send_ctl(struct iscsi_conn *conn, struct iscsi_ctl_pdu *pdu)
{
	iscsi_conn_tx_prepare(conn, &pdu->tx);
	iscsi_conn_tx_queue(conn, &pdu->tx);
}

void iscsi_conn_stamp_sn(struct iscsi_conn *conn, uint8_t *bhs, bool advance_statsn)
{
	struct iscsi_session *s = conn->session;

	iscsi_bhs_set_statsn(bhs, conn->stat_sn);
	if (advance_statsn) {
		conn->stat_sn++;
	}
	if (s) {
		iscsi_bhs_set_exp_cmdsn(bhs, s->exp_cmdsn);
		iscsi_bhs_set_max_cmdsn(bhs, iscsi_session_max_cmdsn(s));
	}
}

/* §11.17: Reject carries the offending BHS as its data segment. */
void iscsi_conn_send_reject(struct iscsi_conn *conn, uint8_t reason, const uint8_t *bad_bhs)
{
	struct iscsi_ctl_pdu *c = iscsi_ctl_get(conn, ISCSI_BHS_LEN);

	iscsi_conn_log(conn, LOG_NOTICE, "reject opcode 0x%02x itt 0x%08x: reason 0x%02x",
		       iscsi_bhs_opcode(bad_bhs), iscsi_bhs_itt(bad_bhs), reason);
	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	iscsi_bhs_set_opcode(c->tx.hdr, ISCSI_OP_REJECT);
	iscsi_bhs_set_flags(c->tx.hdr, ISCSI_FLAG_FINAL);
	iscsi_bhs_set_reject_reason(c->tx.hdr, reason);
	iscsi_bhs_set_itt(c->tx.hdr, ISCSI_RESERVED_TAG);
	iscsi_conn_stamp_sn(conn, c->tx.hdr, true);
	memcpy(c->buf, bad_bhs, ISCSI_BHS_LEN);
	c->tx.data_len = ISCSI_BHS_LEN;
	iscsi_conn_send_ctl(conn, c);
}

/* ------------------------------------------------------------------ NOP */

/* A NOP-In with @data, not yet stamped nor queued; NULL if out of memory. */
static struct iscsi_ctl_pdu *conn_build_nop_in(struct iscsi_conn *conn, uint32_t itt, uint32_t ttt,
					       uint64_t lun, const uint8_t *data, uint32_t len)
{
	struct iscsi_ctl_pdu *c = iscsi_ctl_get(conn, len);

	if (!c) {
		return NULL;
	}
	iscsi_bhs_set_opcode(c->tx.hdr, ISCSI_OP_NOP_IN);
	iscsi_bhs_set_flags(c->tx.hdr, ISCSI_FLAG_FINAL);
	iscsi_bhs_set_lun(c->tx.hdr, lun);
	iscsi_bhs_set_itt(c->tx.hdr, itt);
	iscsi_bhs_set_ttt(c->tx.hdr, ttt);
	if (len) {
		memcpy(c->buf, data, len);
	}
	c->tx.data_len = len;
	return c;
}

void iscsi_conn_send_nop_answer(struct iscsi_conn *conn, struct iscsi_ctl_pdu *c)
{
	uint32_t itt = iscsi_bhs_itt(c->tx.hdr);

	/* §11.19.2: StatSN advances only for a NOP-In that answers a NOP-Out;
	 * a ping (ITT reserved) carries the current StatSN. */
	iscsi_conn_stamp_sn(conn, c->tx.hdr, itt != ISCSI_RESERVED_TAG);
	iscsi_conn_send_ctl(conn, c);
}

static void conn_send_nop_in(struct iscsi_conn *conn, uint32_t itt, uint32_t ttt, uint64_t lun,
			     const uint8_t *data, uint32_t len)
{
	struct iscsi_ctl_pdu *c = conn_build_nop_in(conn, itt, ttt, lun, data, len);

	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	iscsi_conn_send_nop_answer(conn, c);
}

static void nop_timer_cb(void *data)
{
	struct iscsi_conn *conn = data;
	const struct iscsi_server_config *cfg = &conn->server->cfg;
	uint64_t now = iscsi_now_ms();

	conn->nop_timer_armed = false;
	if (conn->state == ISCSI_CONN_LOGIN) {
		/* A login that does not finish in time holds resources for nothing. */
		iscsi_conn_close(conn, "login timeout");
		return;
	}
	if (conn->state != ISCSI_CONN_FULL_FEATURE) {
		return;
	}
	if (conn->nop_outstanding) {
		if (cfg->nop_timeout_s &&
		    now - conn->last_rx_ms >= (uint64_t)cfg->nop_timeout_s * 1000u) {
			iscsi_conn_close(conn, "no answer to NOP-In ping");
			return;
		}
		/* Other traffic since the ping proves the initiator alive. */
		conn->nop_outstanding = false;
	} else if (now - conn->last_rx_ms >= (uint64_t)cfg->nop_interval_s * 1000u) {
		/* §11.19: a target ping, TTT != 0xffffffff, ITT reserved. */
		conn->nop_ttt = NOP_TTT_BASE | (conn->nop_ttt + 1u);
		conn->nop_outstanding = true;
		conn_send_nop_in(conn, ISCSI_RESERVED_TAG, conn->nop_ttt, 0, NULL, 0);
		if (conn->state == ISCSI_CONN_DEAD) {
			return;
		}
		iscsi_conn_nop_timer_arm(conn, cfg->nop_timeout_s ? cfg->nop_timeout_s
								  : cfg->nop_interval_s);
		return;
	}
	iscsi_conn_nop_timer_arm(conn, cfg->nop_interval_s);
}

/* @ahead: a non-immediate NOP-Out whose CmdSN is ahead of a gap (conn_rx_pdu). */
void iscsi_conn_rx_nop_out(struct iscsi_conn *conn, bool ahead)
{
	const uint8_t *bhs = conn->hdr;
	uint32_t itt = iscsi_bhs_itt(bhs);
	uint32_t ttt = iscsi_bhs_ttt(bhs);
	uint32_t len = conn->rx_layout.data_len;

	if (ahead && (itt == ISCSI_RESERVED_TAG || ttt != ISCSI_RESERVED_TAG) &&
	    iscsi_session_cmdsn_note_ahead(conn->session, iscsi_bhs_cmdsn(bhs), NULL) < 0) {
		return; /* nothing to answer: only its CmdSN counts */
	}
	if (itt == ISCSI_RESERVED_TAG) {
		/* Answer to our ping (or a no-reply NOP-Out): §11.18.2. */
		if (ttt == conn->nop_ttt) {
			conn->nop_outstanding = false;
		}
		return;
	}
	if (ttt != ISCSI_RESERVED_TAG) {
		/* §11.18.3: an initiator ping must carry TTT 0xffffffff. */
		iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
		return;
	}
	/* §11.18: echo the ping data back (at most what the initiator accepts). */
	if (len > conn->params.max_xmit_dsl) {
		len = conn->params.max_xmit_dsl;
	}
	if (ahead) {
		/* Answered when ExpCmdSN passes it, in CmdSN order (§4.2.2.1). */
		struct iscsi_ctl_pdu *c = conn_build_nop_in(conn, itt, ISCSI_RESERVED_TAG,
							    iscsi_bhs_lun(bhs), conn->rx_buf, len);

		if (!c) {
			iscsi_conn_close(conn, "out of memory");
		} else if (iscsi_session_cmdsn_note_ahead(conn->session, iscsi_bhs_cmdsn(bhs), c) <
			   0) {
			iscsi_conn_log(conn, LOG_DEBUG,
				       "too many NOP-Outs ahead of a CmdSN gap, dropped");
			iscsi_ctl_discard(c);
		}
		return;
	}
	conn_send_nop_in(conn, itt, ISCSI_RESERVED_TAG, iscsi_bhs_lun(bhs), conn->rx_buf, len);
}

/* --------------------------------------------------------------- Logout */

void iscsi_conn_rx_logout(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->hdr;
	uint8_t reason = iscsi_bhs_logout_reason(bhs);
	uint16_t cid = iscsi_bhs_cid(bhs);
	uint8_t response = ISCSI_LOGOUT_RSP_OK;
	struct iscsi_ctl_pdu *c;

	switch (reason) {
	case ISCSI_LOGOUT_CLOSE_SESSION:
		break;
	case ISCSI_LOGOUT_CLOSE_CONNECTION:
		if (cid != conn->cid) {
			/* §11.15.1: other connections of the session; we host one. */
			response = ISCSI_LOGOUT_RSP_CID_NOT_FOUND;
		}
		break;
	case ISCSI_LOGOUT_REMOVE_FOR_RECOVERY:
		/* ERL < 2: connection recovery unsupported (§11.15.1). */
		response = ISCSI_LOGOUT_RSP_RECOVERY_UNSUPPORTED;
		break;
	default:
		iscsi_conn_send_reject(conn, ISCSI_REJECT_INVALID_PDU_FIELD, bhs);
		return;
	}
	c = iscsi_ctl_get(conn, 0);
	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	iscsi_bhs_set_opcode(c->tx.hdr, ISCSI_OP_LOGOUT_RSP);
	iscsi_bhs_set_flags(c->tx.hdr, ISCSI_FLAG_FINAL);
	iscsi_bhs_set_response(c->tx.hdr, response);
	iscsi_bhs_set_itt(c->tx.hdr, iscsi_bhs_itt(bhs));
	iscsi_conn_stamp_sn(conn, c->tx.hdr, true);
	if (response == ISCSI_LOGOUT_RSP_OK) {
		/* §11.15.4/5: ERL 0 keeps no state: Time2Wait, Time2Retain 0. */
		iscsi_bhs_set_time2wait(c->tx.hdr, 0);
		iscsi_bhs_set_time2retain(c->tx.hdr, 0);
		/* §11.14: in-flight tasks of the connection are terminated; their
		 * responses are not sent. */
		if (conn->session) {
			iscsi_session_abort_tasks(conn->session, true, 0, NULL);
		}
		iscsi_conn_log(conn, LOG_INFO, "logout (reason %u)", reason);
		iscsi_conn_send_ctl(conn, c);
		if (conn->state != ISCSI_CONN_DEAD) {
			conn->state = ISCSI_CONN_LOGGED_OUT;
			conn->rx_paused = true;
			iscsi_conn_poll_update(conn);
		}
		return;
	}
	iscsi_conn_send_ctl(conn, c);
}

void iscsi_conn_send_async_logout(struct iscsi_conn *conn)
{
	/* Shutdown: the daemon goes away after a short grace period. */
	iscsi_conn_request_logout(conn, 1);
}

void iscsi_conn_request_logout(struct iscsi_conn *conn, uint16_t wait_s)
{
	struct iscsi_ctl_pdu *c;

	if (conn->async_sent || conn->state != ISCSI_CONN_FULL_FEATURE) {
		return;
	}
	c = iscsi_ctl_get(conn, 0);
	if (!c) {
		return;
	}
	conn->async_sent = true;
	iscsi_bhs_set_opcode(c->tx.hdr, ISCSI_OP_ASYNC_MSG);
	iscsi_bhs_set_flags(c->tx.hdr, ISCSI_FLAG_FINAL);
	iscsi_bhs_set_lun(c->tx.hdr, 0);
	iscsi_bhs_set_itt(c->tx.hdr, ISCSI_RESERVED_TAG);
	iscsi_conn_stamp_sn(conn, c->tx.hdr, true);
	iscsi_bhs_set_async_event(c->tx.hdr, ISCSI_ASYNC_LOGOUT_REQUEST);
	/* §11.9.1: Parameter3 = seconds the initiator has to log out. */
	iscsi_bhs_set_async_param3(c->tx.hdr, wait_s);
	iscsi_conn_send_ctl(conn, c);
}

/* ----------------------------------------------------------------- Text */

static int conn_sendtargets(void *ctx, const char *value, struct iscsi_text_builder *out);

void iscsi_conn_rx_text(struct iscsi_conn *conn)
{
	struct iscsi_session *s = conn->session;
	struct iscsi_text_ctx tctx = {
		.session_type = s->discovery ? ISCSI_SESSION_DISCOVERY : ISCSI_SESSION_NORMAL,
		.session_target = s->target_name,
		.params = &conn->params,
		.sendtargets = conn_sendtargets,
		.cb_ctx = conn,
	};
	const uint8_t *rsp_data = NULL;
	uint32_t rsp_len = 0;
	uint8_t reject = ISCSI_REJECT_PROTOCOL_ERROR;
	struct iscsi_ctl_pdu *c;
	enum iscsi_text_step step;

	if (!conn->text_ready) {
		if (iscsi_text_exchange_init(&conn->text) != 0) {
			iscsi_conn_send_reject(conn, ISCSI_REJECT_OUT_OF_RESOURCES, conn->hdr);
			return;
		}
		conn->text_ready = true;
	}
	/* The exchange splits its answer at max_xmit_dsl (§11.11). */
	c = iscsi_ctl_get(conn, conn->params.max_xmit_dsl < ISCSI_TEXT_ACCUM_MAX
					? conn->params.max_xmit_dsl
					: ISCSI_TEXT_ACCUM_MAX);
	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	step = iscsi_text_exchange_step(&conn->text, &tctx, conn->hdr, conn->rx_buf,
					conn->rx_layout.data_len, c->tx.hdr, &rsp_data, &rsp_len,
					&reject);
	switch (step) {
	case ISCSI_TEXT_RESPOND:
		if (rsp_len > c->cap) {
			/* Never: the exchange splits at max_xmit_dsl. */
			rsp_len = c->cap;
		}
		if (rsp_len) {
			memcpy(c->buf, rsp_data, rsp_len);
		}
		c->tx.data_len = rsp_len;
		iscsi_conn_stamp_sn(conn, c->tx.hdr, true);
		iscsi_conn_send_ctl(conn, c);
		return;
	case ISCSI_TEXT_REJECT:
		ctl_sent(conn, &c->tx, false);
		iscsi_conn_send_reject(conn, reject, conn->hdr);
		return;
	case ISCSI_TEXT_FAIL:
	default:
		ctl_sent(conn, &c->tx, false);
		iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, conn->hdr);
		iscsi_conn_close_after_tx(conn);
		return;
	}
}

/* SendTargets (§13.3, Appendix C): the portal table's answer (discovery.c). */
static int conn_sendtargets(void *ctx, const char *value, struct iscsi_text_builder *out)
{
	struct iscsi_conn *conn = ctx;
	struct iscsi_session *s = conn->session;

	return iscsi_discovery_sendtargets(
		conn->server, &conn->local_addr, s ? s->initiator_name : NULL,
		s && s->discovery ? ISCSI_SESSION_DISCOVERY : ISCSI_SESSION_NORMAL,
		s ? s->target_name : "", value, out);
}
