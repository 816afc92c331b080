// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SCSI Command, Data-Out, R2T, Data-In and SCSI Response (RFC 7143 §11.3,
 * §11.4, §11.7, §11.8) at ERL 0.
 *
 * A command's life: header received -> task from the session pool, data
 * buffer from the server pool (EDTL <= ISCSI_EDTL_MAX, else CHECK CONDITION
 * without allocating) -> immediate data read straight into the buffer ->
 * released in CmdSN order -> unsolicited Data-Out (InitialR2T=No, up to
 * FirstBurstLength) -> R2Ts for the rest, each at most MaxBurstLength, at most
 * min(MaxOutstandingR2T, ISCSI_R2T_TRACK) outstanding -> scsi_task_submit()
 * -> done() -> Data-In PDUs of at most the initiator's
 * MaxRecvDataSegmentLength, F bit at every MaxBurstLength boundary, status
 * phase-collapsed into the last one when GOOD -> otherwise a SCSI Response
 * with sense. Residuals (§11.4.5) compare the SCSI layer's xfer_len with EDTL.
 *
 * Data-Out checks, each ending the task with CHECK CONDITION, ABORTED
 * COMMAND and the ASC below (the connection stays up; later Data-Out PDUs of
 * the task are dropped):
 *  - unknown TTT, or unsolicited data not allowed:  4Bh/01h;
 *  - DataSN not the next one of its sequence:       4Bh/00h (data phase error);
 *  - Buffer Offset not where its sequence stands:   4Bh/05h;
 *  - more data than the sequence / EDTL allows:     4Bh/02h;
 *  - data digest error (§7.8 option b):             47h/05h.
 * Data-Out with an ITT that names no task waiting for data is dropped.
 * (Deviation from §7.8 option b: the response goes out at once instead of
 * after the rest of the data; that data is dropped as above.)
 *
 * SCSI Command checks (the CmdSN still counts as received):
 *  - the session was asked to log out (ACL, administrator): Reject 0Ch
 *    (waiting for logout);
 *  - ITT 0xffffffff, malformed AHS, CDB over 32 bytes: Reject 09h;
 *  - immediate data without the W bit, with ImmediateData=No, beyond EDTL
 *    or FirstBurstLength; F=0 when no unsolicited Data-Out may follow:
 *    Reject 04h (protocol error);
 *  - ITT of a task still running: Reject 07h (task in progress);
 *  - no free task for an immediate command: Reject 06h;
 *  - EDTL above ISCSI_EDTL_MAX, or both R and W: CHECK CONDITION, ILLEGAL
 *    REQUEST, 24h/00h; no buffer memory: TASK SET FULL.
 */
#include <errno.h>
#include <string.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/base/log.h"
#include "daemon/scsi/sense.h"

/* iSCSI-specific additional sense codes (SPC-4 Annex D, RFC 7143 §11.4.7.2). */
#define ASC_DATA_PHASE_ERROR	       SCSI_ASC(0x4b, 0x00)
#define ASC_INVALID_TTT_RECEIVED       SCSI_ASC(0x4b, 0x01)
#define ASC_TOO_MUCH_WRITE_DATA	       SCSI_ASC(0x4b, 0x02)
#define ASC_DATA_OFFSET_ERROR	       SCSI_ASC(0x4b, 0x05)
#define ASC_PROTOCOL_SERVICE_CRC_ERROR SCSI_ASC(0x47, 0x05)


static void task_progress(struct iscsi_task *task);
static void task_send_response(struct iscsi_task *task);

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static bool task_tx_busy(const struct iscsi_task *task)
{
	if (task->tx.queued) {
		return true;
	}
	for (unsigned int i = 0; i < ISCSI_R2T_TRACK; i++) {
		if (task->r2t[i].tx.queued) {
			return true;
		}
	}
	return false;
}

/* Remove a queued, not yet started PDU of @task from its connection. */
static void task_tx_unqueue(struct iscsi_task *task, struct iscsi_tx *tx)
{
	if (tx->queued && tx->sent == 0 && task->conn) {
		qb_list_del(&tx->node);
		tx->queued = false;
		task->conn->tx_backlog -= tx->hdr_len + tx->data_len + tx->trailer_len;
	}
}

void iscsi_task_abort(struct iscsi_task *task, struct iscsi_tmf_pending *wait)
{
	task->aborted = true;
	if (task->state == ISCSI_TASK_SCSI) {
		/* Backing I/O cannot be recalled: the TMF answers once done()
		 * has freed the task, so no aborted write lands after it. */
		if (wait && !task->tmf_wait) {
			task->tmf_wait = wait;
			iscsi_tmf_wait_add(wait);
		}
		return; /* done() frees it */
	}
	task_tx_unqueue(task, &task->tx);
	for (unsigned int i = 0; i < ISCSI_R2T_TRACK; i++) {
		task_tx_unqueue(task, &task->r2t[i].tx);
	}
	if (!task_tx_busy(task)) {
		iscsi_task_free(task);
	}
	/* else: a PDU is half on the wire; its sent_fn frees the task. */
}

void iscsi_task_conn_gone(struct iscsi_task *task)
{
	task->conn = NULL;
}

static void task_fail(struct iscsi_task *task, uint8_t key, uint16_t asc)
{
	if (!task->fail_key && !task->fail_status) {
		task->fail_key = key;
		task->fail_asc = asc;
	}
}

/* ------------------------------------------------------------- responses */

static void task_set_residual(const struct iscsi_task *task, uint8_t *bhs)
{
	uint32_t xfer = task->scsi.xfer_len, edtl = task->scsi.expected_len;

	/* §11.4.5: overflow when the command wanted more than EDTL,
	 * underflow when it wanted less. */
	if (xfer > edtl) {
		iscsi_bhs_add_flags(bhs, ISCSI_RSP_FLAG_OVERFLOW);
		iscsi_bhs_set_residual_count(bhs, xfer - edtl);
	} else if (xfer < edtl) {
		iscsi_bhs_add_flags(bhs, ISCSI_RSP_FLAG_UNDERFLOW);
		iscsi_bhs_set_residual_count(bhs, edtl - xfer);
	}
}

static void task_last_sent(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok)
{
	struct iscsi_task *task = qb_list_entry(tx, struct iscsi_task, tx);
	(void)conn;
	(void)ok;

	if (!task_tx_busy(task)) {
		iscsi_task_free(task);
	}
}

static void datain_sent(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok);

/* Build and queue the next Data-In PDU (§11.7). */
static void datain_queue_next(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	struct iscsi_tx *tx = &task->tx;
	uint32_t burst = conn->session->params.max_burst;
	uint32_t len = min_u32(conn->params.max_xmit_dsl, task->din_len - task->din_off);
	bool last, burst_end;

	len = min_u32(len, burst - task->din_burst);
	last = task->din_off + len == task->din_len;
	burst_end = last || task->din_burst + len == burst;
	memset(tx->hdr, 0, sizeof(tx->hdr));
	iscsi_bhs_set_opcode(tx->hdr, ISCSI_OP_DATA_IN);
	if (burst_end) {
		/* §11.7.1: F ends each input sequence of at most MaxBurstLength. */
		iscsi_bhs_add_flags(tx->hdr, ISCSI_FLAG_FINAL);
	}
	iscsi_bhs_set_lun(tx->hdr, task->scsi.lun);
	iscsi_bhs_set_itt(tx->hdr, task->itt);
	iscsi_bhs_set_ttt(tx->hdr, ISCSI_RESERVED_TAG);
	iscsi_bhs_set_datasn(tx->hdr, task->din_datasn++);
	iscsi_bhs_set_buffer_offset(tx->hdr, task->din_off);
	if (last && task->din_status) {
		/* §11.7.4: status in the last Data-In (S bit), residuals with it. */
		iscsi_bhs_add_flags(tx->hdr, ISCSI_DATAIN_FLAG_STATUS);
		iscsi_bhs_set_status(tx->hdr, task->scsi.status);
		task_set_residual(task, tx->hdr);
		iscsi_task_return_slot(task);
		iscsi_conn_stamp_sn(conn, tx->hdr, true);
	} else {
		iscsi_conn_stamp_sn(conn, tx->hdr, false);
		iscsi_bhs_set_statsn(tx->hdr, 0); /* reserved without S */
	}
	tx->data = task->scsi.buf + task->din_off;
	tx->data_len = len;
	tx->sent_fn = datain_sent;
	task->din_off += len;
	task->din_burst = burst_end ? 0 : task->din_burst + len;
	iscsi_conn_tx_prepare(conn, tx);
	iscsi_conn_tx_queue(conn, tx);
}

static void datain_sent(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok)
{
	struct iscsi_task *task = qb_list_entry(tx, struct iscsi_task, tx);
	(void)conn;

	if (!ok || task->aborted || !task->conn) {
		iscsi_task_free(task);
		return;
	}
	if (task->din_off < task->din_len) {
		datain_queue_next(task);
		return;
	}
	if (task->din_status) {
		iscsi_task_free(task);
		return;
	}
	task->din_len = 0;
	task_send_response(task);
}

/* SCSI Response (§11.4) with sense data (§11.4.7) when there is any. */
static void task_queue_scsi_rsp(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	struct iscsi_tx *tx = &task->tx;

	memset(tx->hdr, 0, sizeof(tx->hdr));
	iscsi_bhs_set_opcode(tx->hdr, ISCSI_OP_SCSI_RSP);
	iscsi_bhs_set_flags(tx->hdr, ISCSI_FLAG_FINAL);
	iscsi_bhs_set_response(tx->hdr, ISCSI_RESPONSE_COMPLETED);
	iscsi_bhs_set_status(tx->hdr, task->scsi.status);
	iscsi_bhs_set_itt(tx->hdr, task->itt);
	iscsi_task_return_slot(task);
	iscsi_conn_stamp_sn(conn, tx->hdr, true);
	/* §11.4.6: ExpDataSN = R2T and Data-In PDUs sent for the command. */
	iscsi_bhs_set_exp_datasn(tx->hdr, task->din_datasn + task->r2tsn);
	task_set_residual(task, tx->hdr);
	tx->data_len = 0;
	tx->data = task->rsp_data;
	if (task->scsi.sense_len) {
		put_be16(task->rsp_data, task->scsi.sense_len);
		memcpy(task->rsp_data + 2, task->scsi.sense, task->scsi.sense_len);
		tx->data_len = 2u + task->scsi.sense_len;
	}
	tx->sent_fn = task_last_sent;
	iscsi_conn_tx_prepare(conn, tx);
	iscsi_conn_tx_queue(conn, tx);
}

static void task_send_response(struct iscsi_task *task)
{
	task->state = ISCSI_TASK_TX;
	if (task->aborted || !task->conn || task->conn->state == ISCSI_CONN_DEAD) {
		if (!task_tx_busy(task)) {
			iscsi_task_free(task);
		}
		return;
	}
	task_queue_scsi_rsp(task);
}

/*
 * Count a finished command in its session's statistics: from task_done()
 * with the kind and latency the SCSI layer measured, and from
 * task_complete_failed() for the commands answered here (no latency).
 * Aborted tasks count too: the initiator sent them and they ran.
 */
static void task_stats(struct iscsi_task *task, const struct scsi_task *st, uint8_t kind,
		       uint64_t data_in, uint64_t latency_ns)
{
	int sense_key = -1;
	uint16_t asc;
	uint8_t key;

	if (st->status == SCSI_STATUS_CHECK_CONDITION &&
	    scsi_sense_parse(st->sense, st->sense_len, &key, &asc) == 0) {
		sense_key = key;
	}
	io_stats_record(&task->session->stats, kind, st->status, sense_key,
			kind == IO_STATS_READ ? data_in : st->data_out_len, latency_ns);
}

static void task_done(struct scsi_task *st)
{
	struct iscsi_task *task = st->transport_priv;
	uint32_t n;

	n = min_u32(st->data_in_len, st->expected_len);
	n = min_u32(n, st->buf_cap);
	task_stats(task, st, st->stats_kind, st->data_in ? n : 0, st->latency_ns);
	task->state = ISCSI_TASK_TX;
	if (task->aborted || !task->conn || task->conn->state == ISCSI_CONN_DEAD) {
		/* §11.5.1 / SAM-5: an aborted task gets no response. */
		iscsi_task_free(task);
		return;
	}
	if (st->data_in && n &&
	    (st->status == SCSI_STATUS_GOOD || st->status == SCSI_STATUS_CONDITION_MET)) {
		task->din_len = n;
		task->din_off = 0;
		task->din_burst = 0;
		/* §11.7.4: phase collapse only without sense data. */
		task->din_status = st->sense_len == 0;
		datain_queue_next(task);
		return;
	}
	task_queue_scsi_rsp(task);
}

/* Answer a task that failed before submission. */
static void task_complete_failed(struct iscsi_task *task)
{
	struct scsi_task *st = &task->scsi;

	st->status = SCSI_STATUS_CHECK_CONDITION;
	st->sense_len = 0;
	if (task->fail_status) {
		st->status = task->fail_status;
	} else {
		struct scsi_sense_info si = {.key = task->fail_key, .asc_ascq = task->fail_asc};

		st->sense_len = (uint8_t)scsi_sense_build(st->sense, sizeof(st->sense), false, &si);
	}
	/* Nothing was transferred; no residual claim beyond EDTL. */
	st->xfer_len = st->expected_len;
	st->data_in_len = 0;
	task_stats(task, st, (uint8_t)scsi_cdb_stats_kind(st->cdb), 0, IO_STATS_NO_LATENCY);
	task_send_response(task);
}

/* ------------------------------------------------------------------ R2T */

static void r2t_sent(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok)
{
	struct iscsi_r2t *r = qb_list_entry(tx, struct iscsi_r2t, tx);
	struct iscsi_task *task = r->owner;
	(void)conn;

	if ((task->aborted || !ok) && !task_tx_busy(task) && task->state != ISCSI_TASK_SCSI) {
		iscsi_task_free(task);
	}
}

/* Send R2Ts for what is still missing (§11.8, §13.13, §13.17). */
static void task_send_r2ts(struct iscsi_task *task)
{
	struct iscsi_conn *conn = task->conn;
	struct iscsi_session *s = task->session;
	uint32_t max_out = min_u32(s->params.max_outstanding_r2t, ISCSI_R2T_TRACK);

	if (max_out == 0) {
		max_out = 1;
	}
	while (task->r2t_outstanding < max_out && task->r2t_next_off < task->write_len) {
		struct iscsi_r2t *r = NULL;
		struct iscsi_tx *tx;

		for (unsigned int i = 0; i < ISCSI_R2T_TRACK; i++) {
			if (!task->r2t[i].active && !task->r2t[i].tx.queued) {
				r = &task->r2t[i];
				break;
			}
		}
		if (!r) {
			return;
		}
		r->active = true;
		r->owner = task;
		r->ttt = iscsi_session_next_ttt(s);
		r->off = task->r2t_next_off;
		r->len = min_u32(s->params.max_burst, task->write_len - r->off);
		r->got = 0;
		r->datasn = 0;
		task->r2t_next_off += r->len;
		task->r2t_outstanding++;
		tx = &r->tx;
		memset(tx->hdr, 0, sizeof(tx->hdr));
		iscsi_bhs_set_opcode(tx->hdr, ISCSI_OP_R2T);
		iscsi_bhs_set_flags(tx->hdr, ISCSI_FLAG_FINAL);
		iscsi_bhs_set_lun(tx->hdr, task->scsi.lun);
		iscsi_bhs_set_itt(tx->hdr, task->itt);
		iscsi_bhs_set_ttt(tx->hdr, r->ttt);
		/* §11.8: R2T carries the next StatSN but does not advance it. */
		iscsi_conn_stamp_sn(conn, tx->hdr, false);
		iscsi_bhs_set_r2tsn(tx->hdr, task->r2tsn++);
		iscsi_bhs_set_buffer_offset(tx->hdr, r->off);
		iscsi_bhs_set_desired_data_len(tx->hdr, r->len);
		tx->data = NULL;
		tx->data_len = 0;
		tx->sent_fn = r2t_sent;
		iscsi_conn_tx_prepare(conn, tx);
		iscsi_conn_tx_queue(conn, tx);
		if (conn->state == ISCSI_CONN_DEAD) {
			return; /* the task went with the connection */
		}
	}
}

/* -------------------------------------------------------------- progress */

static void task_progress(struct iscsi_task *task)
{
	if (!task->released) {
		task->state = ISCSI_TASK_WAIT_CMDSN;
		return;
	}
	if (!task->conn || task->conn->state == ISCSI_CONN_DEAD || task->aborted) {
		iscsi_task_abort(task, NULL);
		return;
	}
	if (task->fail_key || task->fail_status) {
		if (task->state == ISCSI_TASK_TX) {
			return;
		}
		task_complete_failed(task);
		return;
	}
	if (task->scsi.data_out && task->received < task->write_len) {
		if (task->unsol_open) {
			task->state = ISCSI_TASK_RX;
			return;
		}
		task->state = ISCSI_TASK_R2T;
		if (task->r2t_next_off < task->received) {
			task->r2t_next_off = task->received;
		}
		task_send_r2ts(task);
		return;
	}
	if (task->r2t_outstanding) {
		return;
	}
	task->state = ISCSI_TASK_SCSI;
	task->scsi.data_out_len = task->scsi.data_out ? task->received : 0;
	scsi_task_submit(&task->scsi);
}

void iscsi_task_release(struct iscsi_task *task)
{
	task->released = true;
	task_progress(task);
}

/* --------------------------------------------------------- SCSI Command */

void iscsi_scsi_cmd_rx_bhs(struct iscsi_conn *conn)
{
	struct iscsi_session *s = conn->session;
	const uint8_t *bhs = conn->hdr;
	bool immediate = iscsi_bhs_immediate(bhs);
	uint8_t flags = iscsi_bhs_flags(bhs);
	bool rd = flags & ISCSI_CMD_FLAG_READ, wr = flags & ISCSI_CMD_FLAG_WRITE;
	bool final = flags & ISCSI_FLAG_FINAL;
	uint32_t itt = iscsi_bhs_itt(bhs);
	uint32_t edtl = iscsi_bhs_edtl(bhs);
	uint32_t cmdsn = iscsi_bhs_cmdsn(bhs);
	uint32_t dsl = conn->rx_layout.data_len;
	struct iscsi_ahs_info ahs = {0};
	struct iscsi_task *task;
	int order = 0;

	conn->rx_task = NULL;
	conn->rx_reject = 0;
	conn->rx_data = conn->rx_buf;
	conn->rx_discard = true;
	if (!s || s->discovery) {
		return; /* conn.c rejects it once the PDU is in */
	}
	if (!immediate) {
		order = iscsi_session_cmdsn_check(s, cmdsn);
		if (order < 0) {
			/* §4.2.2.1: outside the window, silently ignored. */
			log_debug("iscsi: %s: cmdsn %u outside [%u, %u], dropped", conn->prefix,
				  cmdsn, s->exp_cmdsn, s->max_cmdsn);
			return;
		}
		if (order == 0) {
			iscsi_session_cmdsn_advance(s);
		}
	}
	if (s->evicting) {
		/* §11.9.1: logout was requested (the ACL no longer admits the
		 * initiator, or the administrator asked); new commands get
		 * "Waiting for Logout". */
		conn->rx_reject = ISCSI_REJECT_WAITING_FOR_LOGOUT;
		return;
	}
	/* Framing is fine; these break the command itself: Reject (§11.17). */
	if (itt == ISCSI_RESERVED_TAG ||
	    iscsi_pdu_ahs_parse(conn->hdr + ISCSI_BHS_LEN, conn->rx_layout.ahs_len, &ahs) != 0 ||
	    ahs.ext_cdb_len > SCSI_CDB_MAX - ISCSI_BHS_CDB_LEN) {
		conn->rx_reject = ISCSI_REJECT_INVALID_PDU_FIELD;
		return;
	}
	if ((dsl &&
	     (!wr || !s->params.immediate_data || dsl > edtl || dsl > s->params.first_burst)) ||
	    (!final && (!wr || s->params.initial_r2t))) {
		/* §11.3.1, §13.10/13.11/13.14: immediate or unsolicited data
		 * where the negotiation does not allow it. */
		conn->rx_reject = ISCSI_REJECT_PROTOCOL_ERROR;
		return;
	}
	if (iscsi_task_find_itt(s, itt)) {
		conn->rx_reject = ISCSI_REJECT_TASK_IN_PROGRESS;
		return;
	}
	task = iscsi_task_alloc(s, immediate);
	if (!task) {
		conn->rx_reject = immediate ? ISCSI_REJECT_IMMEDIATE_CMD_REJECT
					    : ISCSI_REJECT_OUT_OF_RESOURCES;
		return;
	}
	task->conn = conn;
	task->itt = itt;
	task->cmdsn = cmdsn;
	task->immediate = immediate;
	task->scsi.nexus = s->nexus;
	task->scsi.lun = iscsi_bhs_lun(bhs);
	memcpy(task->scsi.cdb, iscsi_bhs_cdb(bhs), ISCSI_BHS_CDB_LEN);
	task->scsi.cdb_len = ISCSI_BHS_CDB_LEN;
	if (ahs.ext_cdb) {
		memcpy(task->scsi.cdb + ISCSI_BHS_CDB_LEN, ahs.ext_cdb, ahs.ext_cdb_len);
		task->scsi.cdb_len = (uint8_t)(ISCSI_BHS_CDB_LEN + ahs.ext_cdb_len);
	}
	task->scsi.attr = flags & ISCSI_CMD_ATTR_MASK;
	task->scsi.tag = itt;
	task->scsi.expected_len = edtl;
	task->scsi.data_in = rd;
	task->scsi.data_out = wr;
	task->scsi.done = task_done;
	task->scsi.transport_priv = task;
	if (edtl > ISCSI_EDTL_MAX) {
		/* Never a huge allocation for a length from the network. */
		task_fail(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	} else if (rd && wr) {
		/* Bidirectional commands: no SCSI command of ours takes them. */
		task_fail(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB);
	} else if (edtl) {
		uint32_t cls, cap;
		uint8_t *buf;

		/* A session cannot pin unbounded memory with large EDTLs. */
		if (s->buf_bytes + edtl > ISCSI_SESSION_BUF_MAX ||
		    iscsi_buf_get(s->server, edtl, &buf, &cap, &cls) != 0) {
			task->fail_status = SCSI_STATUS_TASK_SET_FULL;
		} else {
			task->scsi.buf = buf;
			task->scsi.buf_cap = cap;
			task->buf_class = cls;
			s->buf_bytes += cap;
		}
	}
	if (wr) {
		task->write_len = edtl;
		task->unsol_len = final ? dsl : min_u32(s->params.first_burst, edtl);
		task->unsol_open = !final;
	}
	conn->rx_task = task;
	if (dsl && task->scsi.buf) {
		conn->rx_data = task->scsi.buf;
		conn->rx_discard = false;
	}
	if (immediate || order == 0) {
		task->released = true;
	} else {
		/* Ahead of a CmdSN gap: wait, sorted by CmdSN. */
		struct iscsi_task *it;
		struct qb_list_head *pos = &s->cmdsn_wait;

		qb_list_for_each_entry(it, &s->cmdsn_wait, pending) {
			if ((int32_t)(it->cmdsn - cmdsn) > 0) {
				pos = &it->pending;
				break;
			}
		}
		qb_list_add_tail(&task->pending, pos);
	}
}

void iscsi_scsi_cmd_rx_bad_digest(struct iscsi_conn *conn)
{
	/* §7.8: the command is discarded (it would be retried at ERL > 0). */
	if (conn->rx_task) {
		struct iscsi_task *task = conn->rx_task;

		conn->rx_task = NULL;
		if (task->released) {
			iscsi_task_free(task);
		} else {
			/* Ahead of a CmdSN gap: keep its place so ExpCmdSN can
			 * move past it; released, it is freed unanswered. */
			task->aborted = true;
			task->state = ISCSI_TASK_WAIT_CMDSN;
		}
	}
	conn->rx_reject = 0;
}

void iscsi_scsi_cmd_rx_done(struct iscsi_conn *conn)
{
	struct iscsi_task *task = conn->rx_task;
	struct iscsi_session *s = conn->session;

	conn->rx_task = NULL;
	if (conn->rx_reject) {
		uint8_t reason = conn->rx_reject;

		conn->rx_reject = 0;
		iscsi_conn_send_reject(conn, reason, conn->hdr);
		if (s && conn->state != ISCSI_CONN_DEAD) {
			iscsi_session_run_pending(s);
		}
		return;
	}
	if (!task) {
		return; /* dropped: outside the CmdSN window */
	}
	if (task->scsi.buf || task->fail_key || task->fail_status) {
		task->received = conn->rx_layout.data_len;
		if (task->fail_key || task->fail_status) {
			task->received = 0;
		}
	}
	if (task->scsi.data_out && task->unsol_open && task->received >= task->unsol_len) {
		task->unsol_open = false;
	}
	if (task->released) {
		task_progress(task);
	} else {
		task->state = ISCSI_TASK_WAIT_CMDSN;
	}
	if (s && conn->state != ISCSI_CONN_DEAD) {
		iscsi_session_run_pending(s);
	}
}

/* ------------------------------------------------------------- Data-Out */

static struct iscsi_task *dataout_task(struct iscsi_session *s, uint32_t itt)
{
	struct iscsi_task *t = iscsi_task_find_itt(s, itt);

	if (!t || !t->scsi.data_out) {
		return NULL;
	}
	if (t->state != ISCSI_TASK_RX && t->state != ISCSI_TASK_WAIT_CMDSN &&
	    t->state != ISCSI_TASK_R2T) {
		return NULL;
	}
	return t;
}

/* A Data-Out broke the rules: end the task with CHECK CONDITION. */
static void dataout_error(struct iscsi_conn *conn, struct iscsi_task *task, uint16_t asc)
{
	log_notice("iscsi: %s: data-out for itt 0x%08x rejected (asc %04x)", conn->prefix,
		   task->itt, asc);
	task_fail(task, SENSE_KEY_ABORTED_COMMAND, asc);
	/* Outstanding R2Ts are void now. */
	for (unsigned int i = 0; i < ISCSI_R2T_TRACK; i++) {
		task->r2t[i].active = false;
	}
	task->r2t_outstanding = 0;
	task->unsol_open = false;
	task_progress(task);
}

void iscsi_data_out_rx_bhs(struct iscsi_conn *conn)
{
	struct iscsi_session *s = conn->session;
	const uint8_t *bhs = conn->hdr;
	uint32_t itt = iscsi_bhs_itt(bhs);
	uint32_t ttt = iscsi_bhs_ttt(bhs);
	uint32_t datasn = iscsi_bhs_datasn(bhs);
	uint32_t off = iscsi_bhs_buffer_offset(bhs);
	uint32_t dsl = conn->rx_layout.data_len;
	struct iscsi_task *task;

	conn->rx_task = NULL;
	conn->rx_data = conn->rx_buf;
	conn->rx_discard = true;
	conn->rx_slot = -1;
	if (!s || s->discovery) {
		return;
	}
	task = dataout_task(s, itt);
	if (!task) {
		log_debug("iscsi: %s: data-out for unknown itt 0x%08x dropped", conn->prefix, itt);
		return;
	}
	if (task->fail_key || task->fail_status) {
		return; /* the rest of a failed task's data is drained */
	}
	if (ttt == ISCSI_RESERVED_TAG) {
		/* Unsolicited (§11.7.3: TTT 0xffffffff). */
		if (!task->unsol_open) {
			dataout_error(conn, task, ASC_INVALID_TTT_RECEIVED);
			return;
		}
		if (datasn != task->unsol_datasn) {
			dataout_error(conn, task, ASC_DATA_PHASE_ERROR);
			return;
		}
		if (off != task->received) {
			dataout_error(conn, task, ASC_DATA_OFFSET_ERROR);
			return;
		}
		if ((uint64_t)off + dsl > task->unsol_len) {
			dataout_error(conn, task, ASC_TOO_MUCH_WRITE_DATA);
			return;
		}
	} else {
		struct iscsi_r2t *r = NULL;

		for (unsigned int i = 0; i < ISCSI_R2T_TRACK; i++) {
			if (task->r2t[i].active && task->r2t[i].ttt == ttt) {
				r = &task->r2t[i];
				conn->rx_slot = (int)i;
				break;
			}
		}
		if (!r) {
			dataout_error(conn, task, ASC_INVALID_TTT_RECEIVED);
			return;
		}
		/* §11.7.5 DataSN per R2T sequence, §11.7.6 Buffer Offset. */
		if (datasn != r->datasn) {
			dataout_error(conn, task, ASC_DATA_PHASE_ERROR);
			return;
		}
		if (off != r->off + r->got) {
			dataout_error(conn, task, ASC_DATA_OFFSET_ERROR);
			return;
		}
		if ((uint64_t)r->got + dsl > r->len) {
			dataout_error(conn, task, ASC_TOO_MUCH_WRITE_DATA);
			return;
		}
	}
	conn->rx_task = task;
	if (dsl) {
		conn->rx_data = task->scsi.buf + off;
		conn->rx_discard = false;
	}
}

void iscsi_data_out_rx_done(struct iscsi_conn *conn)
{
	struct iscsi_task *task = conn->rx_task;
	const uint8_t *bhs = conn->hdr;
	uint32_t dsl = conn->rx_layout.data_len;
	bool final = iscsi_bhs_final(bhs);

	conn->rx_task = NULL;
	if (!task) {
		conn->rx_bad_digest = false;
		return;
	}
	if (conn->rx_bad_digest) {
		conn->rx_bad_digest = false;
		dataout_error(conn, task, ASC_PROTOCOL_SERVICE_CRC_ERROR);
		return;
	}
	task->received += dsl;
	if (conn->rx_slot < 0) {
		task->unsol_datasn++;
		if (final || task->received >= task->unsol_len) {
			task->unsol_open = false;
		}
	} else {
		struct iscsi_r2t *r = &task->r2t[conn->rx_slot];

		r->got += dsl;
		r->datasn++;
		if (r->got == r->len || final) {
			if (r->got != r->len) {
				/* F bit before the solicited length arrived. */
				dataout_error(conn, task, ASC_DATA_PHASE_ERROR);
				return;
			}
			r->active = false;
			task->r2t_outstanding--;
		}
	}
	if (task->state == ISCSI_TASK_WAIT_CMDSN || !task->released) {
		return;
	}
	task_progress(task);
}
