// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Task Management Function Request/Response (RFC 7143 §11.5, §11.6) at
 * ERL 0. The transport aborts its own tasks (session.c/scsi_cmd.c: tasks
 * still in the transport are freed, tasks in the SCSI layer are marked and
 * their responses dropped when the backing I/O completes); the SCSI side
 * effects (unit attentions, reservation release) come from scsi_lu_reset(),
 * scsi_target_reset() and scsi_tasks_cleared().
 *
 * The response waits until every aborted task whose backing I/O was in
 * flight has completed (struct iscsi_tmf_pending), so an aborted write never
 * lands after the initiator saw "function complete"; aborted tasks get no
 * response of their own.
 *
 * Answers:
 *  ABORT TASK          Function complete if the task exists (it is aborted),
 *                      or if RefCmdSN is within the CmdSN window (§11.6.1 b:
 *                      the command is considered received); Task does not
 *                      exist otherwise (§11.6.1 c).
 *  ABORT TASK SET      this session's tasks on the LUN; UA 2F/00 to others.
 *  CLEAR TASK SET      every session's tasks on the LUN of this target.
 *  LUN RESET           every session's tasks on the LUN; UA 29/03.
 *  TARGET WARM RESET   every session's tasks on the target; UA 29/02 and
 *                      the LUs' reset effects (SPC-2 reservations released,
 *                      PREVENT cleared). Sessions stay (SAM-5 6.3.2: a
 *                      target reset resets the LUs, not the I_T nexuses).
 *  TARGET COLD RESET   Function authorization failed unless the server's
 *                      allow_cold_reset is set (one initiator must not drop
 *                      every other initiator's sessions; LIO refuses it the
 *                      same way by default). When allowed: as warm (UA
 *                      29/01), then every session of the target is dropped
 *                      (this one after its response is sent).
 *  CLEAR ACA           Function not supported (no ACA, NACA=1 is refused).
 *  TASK REASSIGN       Task allegiance reassignment not supported (ERL 0).
 *  other functions     Function rejected.
 *  LUN functions on a LUN that does not exist: LUN does not exist.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/base/log.h"

/*
 * A TMF response held back until the aborted tasks that the SCSI layer still
 * holds have come back (SAM-5 7.1: "function complete" means the tasks are
 * gone). Not on the data path: one small allocation per TMF.
 */
struct iscsi_tmf_pending {
	struct qb_list_head node;  /* conn->tmf_pending */
	struct iscsi_conn *conn;   /* NULL once the connection closed */
	struct iscsi_ctl_pdu *pdu; /* owned until queued */
	unsigned int waiting;	   /* aborted tasks still in the SCSI layer */
	bool close_after;	   /* TARGET COLD RESET: close after sending */
};

static void tmf_release(struct iscsi_tmf_pending *w)
{
	struct iscsi_conn *conn = w->conn;

	if (conn) {
		qb_list_del(&w->node);
		/* StatSN/ExpCmdSN/MaxCmdSN as of now, when it is queued. */
		iscsi_conn_stamp_sn(conn, w->pdu->tx.hdr, true);
		iscsi_conn_send_ctl(conn, w->pdu);
		if (w->close_after && conn->state != ISCSI_CONN_DEAD) {
			iscsi_conn_close_after_tx(conn);
		}
	}
	free(w);
}

void iscsi_tmf_wait_add(struct iscsi_tmf_pending *w)
{
	w->waiting++;
}

void iscsi_tmf_task_gone(struct iscsi_tmf_pending *w)
{
	if (--w->waiting == 0) {
		tmf_release(w);
	}
}

void iscsi_tmf_conn_gone(struct iscsi_conn *conn)
{
	struct iscsi_tmf_pending *w, *wn;

	qb_list_for_each_entry_safe(w, wn, &conn->tmf_pending, node) {
		qb_list_del(&w->node);
		w->conn = NULL;
		free(w->pdu->buf);
		free(w->pdu);
		w->pdu = NULL;
	}
}

/* A reset's cluster-wide part: the response also waits until every node applied it. */
static void tmf_reset_start(void *arg)
{
	iscsi_tmf_wait_add(arg);
}

static void tmf_reset_done(void *arg)
{
	iscsi_tmf_task_gone(arg);
}

/* Abort the matching tasks of every session on @target. */
static void tmf_abort_all_sessions(struct iscsi_server *server, struct iscsi_target_entry *target,
				   bool all_luns, uint64_t lun, struct iscsi_tmf_pending *w)
{
	struct iscsi_session *s;

	qb_list_for_each_entry(s, &server->sessions, node) {
		if (s->target == target && !s->closing) {
			iscsi_session_abort_tasks(s, all_luns, lun, w);
		}
	}
}

/* Start a response; it goes out when the last waited-for task is gone. */
static struct iscsi_tmf_pending *tmf_pending_create(struct iscsi_conn *conn, const uint8_t *req)
{
	struct iscsi_tmf_pending *w = calloc(1, sizeof(*w));

	if (!w) {
		return NULL;
	}
	w->pdu = iscsi_ctl_get(conn, 0);
	if (!w->pdu) {
		free(w);
		return NULL;
	}
	w->conn = conn;
	w->waiting = 1; /* held by iscsi_tmf_rx() until it answers */
	iscsi_bhs_set_opcode(w->pdu->tx.hdr, ISCSI_OP_TMF_RSP);
	iscsi_bhs_set_flags(w->pdu->tx.hdr, ISCSI_FLAG_FINAL);
	iscsi_bhs_set_itt(w->pdu->tx.hdr, iscsi_bhs_itt(req));
	qb_list_add_tail(&w->node, &conn->tmf_pending);
	return w;
}

/* §11.6.1 rules for a Referenced Task Tag that names no task. */
static uint8_t tmf_abort_missing(struct iscsi_session *s, uint32_t ref_cmdsn)
{
	int r = iscsi_session_cmdsn_check(s, ref_cmdsn);

	if (r < 0 || (r > 0 && iscsi_session_cmdsn_note_ahead(s, ref_cmdsn, NULL) < 0)) {
		return ISCSI_TMF_RSP_NO_TASK;
	}
	if (r == 0) {
		/* "Consider the CmdSN as received": the command, if it still
		 * comes, now falls below the window and is ignored. */
		iscsi_session_cmdsn_advance(s);
		iscsi_session_run_pending(s);
	}
	return ISCSI_TMF_RSP_COMPLETE;
}

void iscsi_tmf_rx(struct iscsi_conn *conn)
{
	struct iscsi_session *s = conn->session;
	const uint8_t *req = conn->hdr;
	uint8_t function = iscsi_bhs_tmf_function(req);
	uint64_t lun = iscsi_bhs_lun(req);
	uint32_t rtt = iscsi_bhs_rtt(req);
	uint32_t ref_cmdsn = iscsi_bhs_ref_cmdsn(req);
	struct iscsi_target_entry *target = s ? s->target : NULL;
	struct iscsi_server *server = conn->server;
	uint8_t response = ISCSI_TMF_RSP_COMPLETE;
	bool lun_function = function == ISCSI_TMF_ABORT_TASK_SET ||
			    function == ISCSI_TMF_CLEAR_TASK_SET || function == ISCSI_TMF_LUN_RESET;
	struct iscsi_tmf_pending *w = tmf_pending_create(conn, req);
	const struct scsi_reset_waiter reset_wait = {
		.start = tmf_reset_start, .done = tmf_reset_done, .arg = w,
	};

	if (!w) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	if (!s || !target) {
		response = ISCSI_TMF_RSP_REJECTED;
		goto answer;
	}
	log_info("iscsi: %s: task management function %u lun %llu", conn->prefix, function,
		 (unsigned long long)lun);
	if (lun_function && !scsi_lun_exists(target->scsi, lun)) {
		response = ISCSI_TMF_RSP_NO_LUN;
		goto answer;
	}
	switch (function) {
	case ISCSI_TMF_ABORT_TASK: {
		struct iscsi_task *t = iscsi_task_find_itt(s, rtt);

		if (t) {
			iscsi_task_abort(t, w);
		} else {
			response = tmf_abort_missing(s, ref_cmdsn);
		}
		break;
	}
	case ISCSI_TMF_ABORT_TASK_SET:
		iscsi_session_abort_tasks(s, false, lun, w);
		scsi_tasks_cleared(target->scsi, lun, s->nexus);
		break;
	case ISCSI_TMF_CLEAR_TASK_SET:
		tmf_abort_all_sessions(server, target, false, lun, w);
		scsi_tasks_cleared(target->scsi, lun, s->nexus);
		break;
	case ISCSI_TMF_LUN_RESET:
		tmf_abort_all_sessions(server, target, false, lun, w);
		if (scsi_lu_reset(target->scsi, lun, s->nexus, &reset_wait) != 0) {
			response = ISCSI_TMF_RSP_NO_LUN;
		}
		break;
	case ISCSI_TMF_TARGET_COLD_RESET:
		if (!server->cfg.allow_cold_reset) {
			log_notice("iscsi: %s: TARGET COLD RESET refused (allow_cold_reset is off)",
				   conn->prefix);
			response = ISCSI_TMF_RSP_AUTH_FAILED;
			break;
		}
		/* fall through */
	case ISCSI_TMF_TARGET_WARM_RESET: {
		bool cold = function == ISCSI_TMF_TARGET_COLD_RESET;

		tmf_abort_all_sessions(server, target, true, 0, w);
		scsi_target_reset(target->scsi, cold, s->nexus, &reset_wait);
		if (cold) {
			struct iscsi_session *o, *on;

			/* §11.5.1: a cold reset drops every connection of the
			 * target; ours once the response is on the wire. */
			qb_list_for_each_entry_safe(o, on, &server->sessions, node) {
				if (o != s && o->target == target) {
					iscsi_session_shutdown(o, "target cold reset");
				}
			}
			w->close_after = true;
		}
		break;
	}
	case ISCSI_TMF_CLEAR_ACA:
		response = ISCSI_TMF_RSP_NOT_SUPPORTED;
		break;
	case ISCSI_TMF_TASK_REASSIGN:
		response = ISCSI_TMF_RSP_NO_REASSIGN;
		break;
	default:
		response = ISCSI_TMF_RSP_REJECTED;
		break;
	}
answer:
	if (w->pdu) {
		iscsi_bhs_set_response(w->pdu->tx.hdr, response);
	}
	iscsi_tmf_task_gone(w); /* drop our hold: answers now unless tasks are in flight */
}
