// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One iSCSI connection (RFC 7143, ERL 0): its lifecycle (accept, full
 * feature phase, close) and the non-blocking receive state machine. The
 * transmit queue is in conn_tx.c, the PDUs that are neither SCSI commands
 * nor task management (NOP, Text, Logout, Reject, Async Message) in
 * conn_ctl.c, the login phase in conn_login.c.
 *
 * Receive: BHS (48 bytes) -> AHS + header digest -> data + pad + data
 * digest. The BHS is validated (pducheck.c) before anything reads further,
 * so no length from the network sizes an allocation: data segments go into
 * the connection's receive buffer (sized by the MaxRecvDataSegmentLength we
 * declared) or straight into the task buffer they belong to.
 * Bytes come from the socket through the server's shared staging buffer:
 * one read(2) takes in everything waiting (often 20 or more PDUs) and the
 * state machine copies each piece to its place; only large data segment
 * pieces (ISCSI_RX_DIRECT_MIN) are read straight into place. A read that
 * comes up short means the socket is empty: no read to see EAGAIN. If the
 * loop must stop with bytes left (backpressure), they move to a buffer of
 * the connection's own (rx_spill) and are consumed first when it resumes.
 *
 * Lifetime: iscsi_conn_close() tears the connection down at once (socket,
 * queue, session link) but frees the struct from a loop job, so callers up
 * the stack may still look at conn->state (ISCSI_CONN_DEAD) after calls that
 * can close. Code that runs inside a completion or a free path (a TMF
 * response, a Reject followed by a close) never closes: it calls
 * iscsi_conn_close_after_tx(), which only marks the connection; the close
 * happens when the queue has drained at the end of the loop pass.
 *
 * Reactions to bad input (deterministic; tests rely on them):
 *  - peer closes or BHS truncated: close quietly;
 *  - DataSegmentLength above our limit (login: 8192): Reject (protocol
 *    error) in full feature phase, then close; during login: close;
 *  - non-Login PDU during login: Login Response 0x020b, close;
 *  - header digest error: close (the header cannot be trusted, §7.8);
 *  - data digest error: Reject (data digest error), PDU discarded (§7.8);
 *    on a Data-Out the task also ends with CHECK CONDITION, ABORTED COMMAND,
 *    47h/05h (scsi_cmd.c); on a SCSI Command the command is dropped;
 *  - unknown opcode: Reject (command not supported), connection kept;
 *  - Login Request in full feature phase: Reject (protocol error);
 *  - SNACK: Reject (SNACK reject), ERL 0 has no recovery;
 *  - malformed AHS / data on PDUs without data: Reject (invalid PDU field);
 *  - any PDU but Text, NOP-Out, Logout in a discovery session: Reject
 *    (protocol error);
 *  - NOP-Out with ITT 0xffffffff: no answer; with a TTT other than
 *    0xffffffff on a ping: Reject (protocol error) (conn_ctl.c);
 *  - non-immediate PDUs with CmdSN outside [ExpCmdSN, MaxCmdSN]: dropped
 *    silently (§4.2.2.1); SCSI commands ahead of ExpCmdSN wait for the gap;
 *  - login not finished within ISCSI_LOGIN_TIMEOUT_S: close (conn_ctl.c);
 *  - no PDU for nop_timeout_s after a NOP-In ping: close (conn_ctl.c).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/iscsi/login.h"
#include "daemon/base/log.h"

static void conn_update_prefix(struct iscsi_conn *conn)
{
	struct iscsi_session *s = conn->session;

	if (s) {
		snprintf(conn->prefix, sizeof(conn->prefix),
			 "[%s isid=%02x%02x%02x%02x%02x%02x tsih=%u cid=%u %s]", s->initiator_name,
			 s->isid[0], s->isid[1], s->isid[2], s->isid[3], s->isid[4], s->isid[5],
			 s->tsih, conn->cid, conn->peer);
	} else {
		snprintf(conn->prefix, sizeof(conn->prefix), "[%s]", conn->peer);
	}
}

/*
 * Free closed connections. A closed connection stays on dead_conns until
 * the next callback of the server's (an I/O event or an accept) or its
 * teardown, so code up the stack of iscsi_conn_close() may still read
 * conn->state; no loop job is needed, hence no allocation per close.
 */
void iscsi_conn_reap_dead(struct iscsi_server *server)
{
	struct iscsi_conn *conn, *cn;

	qb_list_for_each_entry_safe(conn, cn, &server->dead_conns, node) {
		qb_list_del(&conn->node);
		free(conn);
	}
}

static int32_t conn_io_cb(int32_t fd, int32_t revents, void *data);
static void conn_rx(struct iscsi_conn *conn);

static void conn_rx_resume_cb(struct loop_deferred *d)
{
	struct iscsi_conn *conn =
		(struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, rx_resume));

	if (conn->state != ISCSI_CONN_DEAD && !conn->rx_paused) {
		conn_rx(conn);
	}
}

void iscsi_conn_poll_update(struct iscsi_conn *conn)
{
	int32_t ev = 0;

	if (conn->state == ISCSI_CONN_DEAD) {
		return;
	}
	if (!conn->rx_paused) {
		ev |= POLLIN;
	}
	if (conn->poll_out) {
		ev |= POLLOUT;
	}
	qb_loop_poll_mod(conn->server->loop, QB_LOOP_MED, conn->fd, ev, conn, conn_io_cb);
}

void iscsi_conn_update_rx(struct iscsi_conn *conn)
{
	/* Closing connections read nothing more (level-triggered poll would spin). */
	bool pause = conn->tx_backlog > ISCSI_TX_BACKLOG_MAX || conn->state == ISCSI_CONN_CLOSING ||
		     conn->state == ISCSI_CONN_LOGGED_OUT;

	if (pause != conn->rx_paused) {
		conn->rx_paused = pause;
		iscsi_conn_poll_update(conn);
		/* Bytes already read will not raise POLLIN again. */
		if (!pause && conn->rx_spill) {
			loop_pass_defer(&conn->rx_resume, LOOP_PASS_TX);
		}
	}
}

void iscsi_conn_close(struct iscsi_conn *conn, const char *why)
{
	bool logged_out = conn->state == ISCSI_CONN_LOGGED_OUT;

	if (conn->state == ISCSI_CONN_DEAD) {
		return;
	}
	iscsi_conn_log(conn, LOG_INFO, "connection closed: %s", why);
	conn->state = ISCSI_CONN_DEAD;
	qb_loop_poll_del(conn->server->loop, conn->fd);
	close(conn->fd);
	conn->fd = -1;
	iscsi_conn_nop_timer_arm(conn, 0);
	iscsi_conn_tx_fini(conn);
	loop_pass_cancel(&conn->rx_resume);
	free(conn->rx_spill);
	conn->rx_spill = NULL;
	iscsi_tmf_conn_gone(conn);
	if (conn->rx_task) {
		conn->rx_task = NULL;
	}
	if (conn->session) {
		struct iscsi_session *s = conn->session;

		iscsi_session_detach(s, conn);
		/*
		 * Without a logout the I_T nexus is lost (dropped connection,
		 * session reinstatement, administrator): SAM-5 6.3.4 UA 29/07.
		 */
		if (!logged_out && s->nexus) {
			scsi_nexus_lost(s->nexus);
		}
		/* ERL 0, one connection per session: losing it ends the session. */
		iscsi_session_shutdown(s, why);
	}
	iscsi_conn_login_fini(conn);
	if (conn->text_ready) {
		iscsi_text_exchange_fini(&conn->text);
		conn->text_ready = false;
	}
	iscsi_conn_ctl_fini(conn);
	free(conn->rx_buf);
	conn->rx_buf = NULL;
	/* Freed later by iscsi_conn_reap_dead(): callers up the stack may still
	 * read conn->state. */
	qb_list_del(&conn->node);
	qb_list_add_tail(&conn->node, &conn->server->dead_conns);
}

void iscsi_conn_close_after_tx(struct iscsi_conn *conn)
{
	if (conn->state == ISCSI_CONN_DEAD) {
		return;
	}
	conn->state = ISCSI_CONN_CLOSING;
	/* Read nothing more; the queue drains, then the socket closes. */
	conn->rx_paused = true;
	/*
	 * Never drain here: draining the last PDU closes the connection, which
	 * ends the session and frees its tasks, and callers are deep in a
	 * receive, a backing-store completion or a task's free path (a TMF
	 * response released by the last aborted task) that still use them.
	 * The drain runs at the end of the loop pass, or, outside a pass, from
	 * the socket's POLLOUT callback on the next loop iteration.
	 */
	if (loop_pass_active()) {
		loop_pass_defer(&conn->tx_flush, LOOP_PASS_TX);
	} else {
		conn->poll_out = true;
	}
	iscsi_conn_poll_update(conn);
}

int iscsi_conn_create(struct iscsi_server *server, int fd, const struct sockaddr *peer,
		      const struct sockaddr *local, socklen_t local_len)
{
	struct iscsi_conn *conn;
	int rc;

	if (server->destroying) {
		return -ESHUTDOWN;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		return -ENOMEM;
	}
	conn->server = server;
	conn->fd = fd;
	conn->state = ISCSI_CONN_LOGIN;
	iscsi_sockaddr_str(peer, conn->peer, sizeof(conn->peer));
	memcpy(&conn->local_addr, local,
	       local_len < sizeof(conn->local_addr) ? local_len : sizeof(conn->local_addr));
	iscsi_conn_tx_init(conn);
	qb_list_init(&conn->ctl_free);
	qb_list_init(&conn->sess_node);
	qb_list_init(&conn->tmf_pending);
	conn->rx_resume.fn = conn_rx_resume_cb;
	conn->rx_buf_cap = ISCSI_LOGIN_DSL_MAX;
	conn->rx_buf = malloc(conn->rx_buf_cap);
	if (!conn->rx_buf) {
		free(conn);
		return -ENOMEM;
	}
	conn_update_prefix(conn);
	iscsi_conn_login_init(conn);
	if (!conn->login) {
		free(conn->rx_buf);
		free(conn);
		return -ENOMEM;
	}
	rc = qb_loop_poll_add(server->loop, QB_LOOP_MED, fd, POLLIN, conn, conn_io_cb);
	if (rc != 0) {
		iscsi_conn_login_fini(conn);
		free(conn->rx_buf);
		free(conn);
		return rc;
	}
	qb_list_add_tail(&conn->node, &server->conns);
	conn->last_rx_ms = iscsi_now_ms();
	iscsi_conn_nop_timer_arm(conn, ISCSI_LOGIN_TIMEOUT_S);
	iscsi_conn_log(conn, LOG_DEBUG, "connection accepted");
	return 0;
}

/* -------------------------------------------------------------- receive */

static void conn_rx_reset(struct iscsi_conn *conn)
{
	conn->rx_state = ISCSI_RX_BHS;
	conn->rx_off = 0;
	conn->rx_data = NULL;
	conn->rx_discard = false;
	conn->rx_task = NULL;
}

/* Login phase: a non-Login PDU gets Login Response 0x020b, then close. */
static void conn_login_phase_violation(struct iscsi_conn *conn)
{
	struct iscsi_ctl_pdu *c = iscsi_ctl_get(conn, 0);

	iscsi_conn_log(conn, LOG_NOTICE, "opcode 0x%02x during login", iscsi_bhs_opcode(conn->hdr));
	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	iscsi_bhs_set_opcode(c->tx.hdr, ISCSI_OP_LOGIN_RSP);
	iscsi_bhs_set_isid(c->tx.hdr, iscsi_bhs_isid(conn->hdr));
	iscsi_bhs_set_tsih(c->tx.hdr, iscsi_bhs_tsih(conn->hdr));
	iscsi_bhs_set_itt(c->tx.hdr, iscsi_bhs_itt(conn->hdr));
	iscsi_bhs_set_statsn(c->tx.hdr, conn->stat_sn);
	iscsi_bhs_set_login_status(c->tx.hdr, ISCSI_LOGIN_INVALID_DURING_LOGIN);
	iscsi_conn_send_ctl(conn, c);
	iscsi_conn_close_after_tx(conn);
}

/* What a received PDU is checked against in the connection's current phase. */
static struct iscsi_pdu_limits conn_pdu_limits(const struct iscsi_conn *conn)
{
	return (struct iscsi_pdu_limits){
		.login_phase = conn->state == ISCSI_CONN_LOGIN,
		.header_digest = conn->params.header_digest == ISCSI_DIGEST_CRC32C,
		.data_digest = conn->params.data_digest == ISCSI_DIGEST_CRC32C,
		.max_recv_dsl = conn->params.max_recv_dsl,
	};
}

/* The BHS is in; check it and decide where the rest goes. @return 0 or -1 (stop). */
static int conn_rx_bhs(struct iscsi_conn *conn)
{
	struct iscsi_pdu_limits lim = conn_pdu_limits(conn);
	enum iscsi_pdu_err err = iscsi_pdu_check(conn->hdr, &lim, &conn->rx_layout);
	uint32_t limit = iscsi_pdu_dsl_limit(&lim);

	if (conn->rx_layout.data_len > limit || err == ISCSI_PDU_ERR_DSL) {
		iscsi_conn_log(conn, LOG_NOTICE, "DataSegmentLength %u above our limit %u",
			       conn->rx_layout.data_len, limit);
		if (lim.login_phase) {
			iscsi_conn_close(conn, "oversized login PDU");
		} else {
			/* §11.17.1 / §7.3: protocol error, then the stream
			 * cannot be framed any more. */
			iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, conn->hdr);
			iscsi_conn_close_after_tx(conn);
		}
		return -1;
	}
	if (err == ISCSI_PDU_ERR_PHASE) {
		conn_login_phase_violation(conn);
		return -1;
	}
	conn->rx_state = ISCSI_RX_HDR_REST;
	conn->rx_off = 0;
	return 0;
}

/* BHS + AHS + header digest are in. @return 0 or -1 (stop). */
static int conn_rx_header(struct iscsi_conn *conn)
{
	struct iscsi_pdu_limits lim = conn_pdu_limits(conn);
	enum iscsi_pdu_err err;
	uint8_t op = iscsi_bhs_opcode(conn->hdr);

	if (!lim.login_phase && lim.header_digest &&
	    !iscsi_pdu_header_digest_ok(conn->hdr, ISCSI_BHS_LEN + conn->rx_layout.ahs_len)) {
		/* §7.8: nothing in a header with a bad digest can be trusted,
		 * not even its length: ERL 0 drops the connection. */
		iscsi_conn_close(conn, "header digest error");
		return -1;
	}
	conn->rx_state = ISCSI_RX_DATA;
	conn->rx_off = 0;
	conn->rx_data = conn->rx_buf;
	conn->rx_discard = false;
	err = iscsi_pdu_check(conn->hdr, &lim, &conn->rx_layout);
	if (err != ISCSI_PDU_OK) {
		/* Known-length PDU we will not process: read its data, drop it. */
		conn->rx_discard = true;
		return 0;
	}
	if (lim.login_phase) {
		return 0;
	}
	if (op == ISCSI_OP_SCSI_CMD) {
		iscsi_scsi_cmd_rx_bhs(conn);
	} else if (op == ISCSI_OP_DATA_OUT) {
		iscsi_data_out_rx_bhs(conn);
	}
	return conn->state == ISCSI_CONN_DEAD ? -1 : 0;
}

/* A complete PDU is in. */
static void conn_rx_pdu(struct iscsi_conn *conn, bool digest_ok)
{
	struct iscsi_pdu_limits lim = conn_pdu_limits(conn);
	struct iscsi_pdu_layout layout;
	enum iscsi_pdu_err err = iscsi_pdu_check(conn->hdr, &lim, &layout);
	uint8_t op = iscsi_bhs_opcode(conn->hdr);

	conn->last_rx_ms = iscsi_now_ms();
	if (op != ISCSI_OP_NOP_OUT) {
		conn->last_request_ms = conn->last_rx_ms;
	}
	if (err != ISCSI_PDU_OK) {
		uint8_t reason = iscsi_pdu_err_reject_reason(err);

		if (reason) {
			iscsi_conn_send_reject(conn, reason, conn->hdr);
		} else {
			iscsi_conn_close(conn, iscsi_pdu_err_str(err));
		}
		return;
	}
	if (!digest_ok) {
		/* §7.8: Reject the PDU with a data digest error and discard it;
		 * a Data-Out's task ends with CHECK CONDITION (scsi_cmd.c). */
		if (op == ISCSI_OP_DATA_OUT) {
			conn->rx_bad_digest = true;
			iscsi_data_out_rx_done(conn);
		} else if (op == ISCSI_OP_SCSI_CMD) {
			iscsi_scsi_cmd_rx_bad_digest(conn);
		}
		if (conn->state != ISCSI_CONN_DEAD) {
			iscsi_conn_send_reject(conn, ISCSI_REJECT_DIGEST_ERROR, conn->hdr);
		}
		return;
	}
	if (conn->state == ISCSI_CONN_LOGIN) {
		iscsi_conn_login_pdu(conn, conn->hdr, conn->rx_buf, conn->rx_layout.data_len);
		return;
	}
	if (conn->state != ISCSI_CONN_FULL_FEATURE) {
		return;
	}
	/* ExpStatSN: acknowledgement only at ERL 0; nothing to retransmit. */
	if (op != ISCSI_OP_DATA_OUT) {
		conn->exp_stat_sn = iscsi_bhs_exp_statsn(conn->hdr);
	}
	if (conn->session && conn->session->discovery && op != ISCSI_OP_TEXT_REQ &&
	    op != ISCSI_OP_LOGOUT_REQ && op != ISCSI_OP_NOP_OUT) {
		/* §4.3: a discovery session carries Text, NOP and Logout only. */
		iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, conn->hdr);
		return;
	}
	/* Non-immediate control PDUs take part in CmdSN ordering (§4.2.2.1):
	 * we process them on arrival, but one ahead of a gap is noted and
	 * ExpCmdSN passes it once the gap fills; a NOP-Out's answer waits
	 * until then. */
	if (op != ISCSI_OP_SCSI_CMD && op != ISCSI_OP_DATA_OUT && op != ISCSI_OP_SNACK_REQ &&
	    !iscsi_bhs_immediate(conn->hdr) && conn->session) {
		uint32_t cmdsn = iscsi_bhs_cmdsn(conn->hdr);
		int r = iscsi_session_cmdsn_check(conn->session, cmdsn);

		if (r > 0 && op == ISCSI_OP_NOP_OUT) {
			iscsi_conn_rx_nop_out(conn, true);
			return;
		}
		if (r > 0 && iscsi_session_cmdsn_note_ahead(conn->session, cmdsn, NULL) < 0) {
			r = -1;
		}
		if (r < 0) {
			/* Outside the window: silently ignored (§4.2.2.1). */
			iscsi_conn_log(conn, LOG_DEBUG,
				       "opcode 0x%02x cmdsn %u outside window, dropped", op, cmdsn);
			return;
		}
		if (r == 0) {
			iscsi_session_cmdsn_advance(conn->session);
			iscsi_session_run_pending(conn->session);
			if (conn->state == ISCSI_CONN_DEAD) {
				return;
			}
		}
	}
	switch (op) {
	case ISCSI_OP_NOP_OUT:
		iscsi_conn_rx_nop_out(conn, false);
		break;
	case ISCSI_OP_SCSI_CMD:
		iscsi_scsi_cmd_rx_done(conn);
		break;
	case ISCSI_OP_DATA_OUT:
		iscsi_data_out_rx_done(conn);
		break;
	case ISCSI_OP_TMF_REQ:
		iscsi_tmf_rx(conn);
		break;
	case ISCSI_OP_TEXT_REQ:
		iscsi_conn_rx_text(conn);
		break;
	case ISCSI_OP_LOGOUT_REQ:
		iscsi_conn_rx_logout(conn);
		break;
	case ISCSI_OP_LOGIN_REQ:
		/* §6.1 / §11.12: login is over on this connection. */
		iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, conn->hdr);
		break;
	case ISCSI_OP_SNACK_REQ:
		/* ERL 0: no SNACK support (§11.16, §7.1). */
		iscsi_conn_send_reject(conn, ISCSI_REJECT_SNACK_REJECT, conn->hdr);
		break;
	default:
		iscsi_conn_send_reject(conn, ISCSI_REJECT_CMD_NOT_SUPPORTED, conn->hdr);
		break;
	}
}

/* Read into @iov; @return bytes, 0 if nothing now, -1 if the conn closed. */
static ssize_t conn_readv(struct iscsi_conn *conn, struct iovec *iov, int n)
{
	for (;;) {
		ssize_t r = readv(conn->fd, iov, n);

		if (r > 0) {
			return r;
		}
		if (r == 0) {
			iscsi_conn_close(conn, "peer closed");
			return -1;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		}
		iscsi_conn_close(conn, "read error");
		return -1;
	}
}

/* Copy up to the length of @iov from @src (advancing *off); @return bytes copied. */
static size_t conn_copy_in(const uint8_t *src, uint32_t *off, uint32_t len, struct iovec *iov,
			   int n)
{
	size_t done = 0;

	for (int i = 0; i < n && *off < len; i++) {
		size_t k = iov[i].iov_len;

		if (k > len - *off) {
			k = len - *off;
		}
		memcpy(iov[i].iov_base, src + *off, k);
		*off += (uint32_t)k;
		done += k;
		if (k < iov[i].iov_len) {
			break;
		}
	}
	return done;
}

/*
 * Fill @iov (the next piece the receive machine needs) from the spill, the
 * server's staging buffer, or the socket. @return bytes, 0 if nothing now,
 * -1 if the conn closed.
 */
static ssize_t conn_fill(struct iscsi_conn *conn, struct iovec *iov, int n)
{
	struct iscsi_server *srv = conn->server;
	struct iovec stage;
	size_t want = 0;
	ssize_t r;

	if (conn->rx_spill) {
		size_t k = conn_copy_in(conn->rx_spill, &conn->rx_spill_off, conn->rx_spill_len,
					iov, n);

		if (conn->rx_spill_off == conn->rx_spill_len) {
			free(conn->rx_spill);
			conn->rx_spill = NULL;
		}
		return (ssize_t)k;
	}
	if (srv->rx_stage_off < srv->rx_stage_len) {
		return (ssize_t)conn_copy_in(srv->rx_stage, &srv->rx_stage_off, srv->rx_stage_len,
					     iov, n);
	}
	if (conn->rx_drained) {
		return 0;
	}
	for (int i = 0; i < n; i++) {
		want += iov[i].iov_len;
	}
	if (want >= ISCSI_RX_DIRECT_MIN) {
		r = conn_readv(conn, iov, n);
		if (r > 0 && (size_t)r < want) {
			conn->rx_drained = true;
		}
		return r;
	}
	if (!srv->rx_stage) {
		srv->rx_stage = malloc(ISCSI_RX_STAGE_SIZE);
		if (!srv->rx_stage) {
			/* Degrade to reading piece by piece. */
			return conn_readv(conn, iov, n);
		}
	}
	stage.iov_base = srv->rx_stage;
	stage.iov_len = ISCSI_RX_STAGE_SIZE;
	r = conn_readv(conn, &stage, 1);
	if (r <= 0) {
		return r;
	}
	conn->rx_reads++;
	if ((size_t)r < ISCSI_RX_STAGE_SIZE) {
		conn->rx_drained = true;
	}
	srv->rx_stage_off = 0;
	srv->rx_stage_len = (uint32_t)r;
	return (ssize_t)conn_copy_in(srv->rx_stage, &srv->rx_stage_off, srv->rx_stage_len, iov, n);
}

static bool conn_data_digest_ok(struct iscsi_conn *conn)
{
	uint32_t len = conn->rx_layout.data_len;
	uint32_t pad = ISCSI_PAD(len) - len;
	uint32_t crc;

	if (conn->params.data_digest != ISCSI_DIGEST_CRC32C || len == 0 ||
	    conn->state == ISCSI_CONN_LOGIN) {
		return true;
	}
	crc = iscsi_crc32c_update(~0u, conn->rx_data, len);
	crc = iscsi_crc32c_update(crc, conn->trailer, pad);
	return ~crc == iscsi_digest_get(conn->trailer + pad);
}

/* Advance the receive machine once. @return 1 progress, 0 would block, -1 stop. */
static int conn_rx_step(struct iscsi_conn *conn)
{
	struct iovec iov[2];
	ssize_t r;

	switch (conn->rx_state) {
	case ISCSI_RX_BHS:
		iov[0].iov_base = conn->hdr + conn->rx_off;
		iov[0].iov_len = ISCSI_BHS_LEN - conn->rx_off;
		r = conn_fill(conn, iov, 1);
		if (r <= 0) {
			return (int)r;
		}
		conn->rx_off += (uint32_t)r;
		if (conn->rx_off < ISCSI_BHS_LEN) {
			return 1;
		}
		if (conn_rx_bhs(conn) != 0) {
			return -1;
		}
		/* fall through to check for an empty rest */
		if (conn->rx_layout.rest_header == 0) {
			return conn_rx_header(conn) == 0 ? 1 : -1;
		}
		return 1;
	case ISCSI_RX_HDR_REST:
		iov[0].iov_base = conn->hdr + ISCSI_BHS_LEN + conn->rx_off;
		iov[0].iov_len = conn->rx_layout.rest_header - conn->rx_off;
		r = conn_fill(conn, iov, 1);
		if (r <= 0) {
			return (int)r;
		}
		conn->rx_off += (uint32_t)r;
		if (conn->rx_off < conn->rx_layout.rest_header) {
			return 1;
		}
		return conn_rx_header(conn) == 0 ? 1 : -1;
	case ISCSI_RX_DATA: {
		uint32_t dlen = conn->rx_layout.data_len;
		uint32_t total = conn->rx_layout.rest_data;
		int n = 0;

		if (conn->rx_off < total) {
			if (conn->rx_off < dlen) {
				iov[n].iov_base = conn->rx_data + conn->rx_off;
				iov[n].iov_len = dlen - conn->rx_off;
				n++;
				iov[n].iov_base = conn->trailer;
				iov[n].iov_len = total - dlen;
			} else {
				iov[n].iov_base = conn->trailer + (conn->rx_off - dlen);
				iov[n].iov_len = total - conn->rx_off;
			}
			if (iov[n].iov_len) {
				n++;
			}
			r = conn_fill(conn, iov, n);
			if (r <= 0) {
				return (int)r;
			}
			conn->rx_off += (uint32_t)r;
			if (conn->rx_off < total) {
				return 1;
			}
		}
		if (conn->rx_discard) {
			/* Reject-worthy header: the data was only drained. */
			conn_rx_pdu(conn, true);
		} else {
			conn_rx_pdu(conn, conn_data_digest_ok(conn));
		}
		if (conn->state == ISCSI_CONN_DEAD) {
			return -1;
		}
		conn_rx_reset(conn);
		return 1;
	}
	}
	return -1;
}

/* Keep the staged bytes this connection did not consume (it paused). */
static void conn_rx_keep_rest(struct iscsi_conn *conn)
{
	struct iscsi_server *srv = conn->server;
	uint32_t off = srv->rx_stage_off, rest = srv->rx_stage_len - off;

	srv->rx_stage_off = srv->rx_stage_len = 0;
	if (rest == 0 || conn->state == ISCSI_CONN_DEAD) {
		return;
	}
	/* The spill is consumed before the stage is filled: it is empty. */
	conn->rx_spill = malloc(rest);
	if (!conn->rx_spill) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	memcpy(conn->rx_spill, srv->rx_stage + off, rest);
	conn->rx_spill_off = 0;
	conn->rx_spill_len = rest;
}

static void conn_rx(struct iscsi_conn *conn)
{
	if (conn->in_rx) {
		return;
	}
	conn->in_rx = true;
	conn->rx_drained = false;
	conn->rx_reads = 0;
	while (conn->state != ISCSI_CONN_DEAD && !conn->rx_paused) {
		/* Fairness: after ISCSI_RX_READS_MAX reads, finish what is
		 * staged, then let other sockets run. */
		if (conn->rx_reads >= ISCSI_RX_READS_MAX && !conn->rx_spill &&
		    conn->server->rx_stage_off == conn->server->rx_stage_len) {
			break;
		}
		if (conn_rx_step(conn) <= 0) {
			break;
		}
	}
	conn_rx_keep_rest(conn);
	conn->in_rx = false;
	if (conn->state != ISCSI_CONN_DEAD && !conn->rx_paused && conn->rx_spill) {
		loop_pass_defer(&conn->rx_resume, LOOP_PASS_TX);
	}
}

static int32_t conn_io_cb(int32_t fd, int32_t revents, void *data)
{
	struct iscsi_conn *conn = data;
	(void)fd;

	iscsi_conn_reap_dead(conn->server);
	if (conn->state == ISCSI_CONN_DEAD) {
		return 0;
	}
	loop_pass_begin();
	if (revents & POLLOUT) {
		iscsi_conn_tx_kick(conn);
	}
	if (conn->state != ISCSI_CONN_DEAD && (revents & (POLLIN | POLLHUP | POLLERR))) {
		if (conn->state == ISCSI_CONN_CLOSING || conn->state == ISCSI_CONN_LOGGED_OUT) {
			if (revents & (POLLHUP | POLLERR)) {
				iscsi_conn_close(conn, "peer closed");
			}
		} else {
			conn_rx(conn);
		}
	}
	loop_pass_end();
	return 0;
}

/* Login finished: switch the receive limits and start the NOP timer. */
void iscsi_conn_enter_full_feature(struct iscsi_conn *conn)
{
	uint32_t cap = conn->params.max_recv_dsl;

	if (cap < ISCSI_LOGIN_DSL_MAX) {
		cap = ISCSI_LOGIN_DSL_MAX;
	}
	if (cap > conn->rx_buf_cap) {
		/* A fresh buffer, not realloc: the login data need not be kept,
		 * and pages of a large buffer nobody wrote cost no memory (an
		 * idle session never touches it). */
		uint8_t *nb = malloc(cap);

		if (!nb) {
			iscsi_conn_close(conn, "out of memory");
			return;
		}
		free(conn->rx_buf);
		conn->rx_buf = nb;
		conn->rx_buf_cap = cap;
	}
	conn->state = ISCSI_CONN_FULL_FEATURE;
	conn_update_prefix(conn);
	iscsi_conn_log(conn, LOG_INFO,
		       "full feature phase (%s session to '%s', hd=%s dd=%s mrdsl=%u/%u)",
		       conn->session->discovery ? "discovery" : "normal",
		       conn->session->target_name, conn->params.header_digest ? "crc32c" : "none",
		       conn->params.data_digest ? "crc32c" : "none", conn->params.max_recv_dsl,
		       conn->params.max_xmit_dsl);
	iscsi_conn_nop_timer_arm(conn, conn->server->cfg.nop_interval_s);
}
