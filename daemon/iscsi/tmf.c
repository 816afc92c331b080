// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Task Management Function Request/Response (RFC 7143 §11.5, §11.6) at
 * ERL 0. The transport aborts its own tasks (session.c/scsi_cmd.c: tasks
 * still in the transport are freed, tasks in the SCSI layer are marked and
 * their responses dropped when the backing I/O completes); the SCSI side
 * effects (unit attentions, reservation release) come from scsi_lu_reset(),
 * scsi_target_reset() and scsi_tasks_cleared().
 *
 * The response is sent at once; a task whose backing I/O is still in flight
 * is already detached from the initiator (no response will follow for it).
 *
 * Answers:
 *  ABORT TASK          Function complete if the task exists (it is aborted),
 *                      or if RefCmdSN is within the CmdSN window (§11.6.1 b:
 *                      the command is considered received); Task does not
 *                      exist otherwise (§11.6.1 c).
 *  ABORT TASK SET      this session's tasks on the LUN; UA 2F/00 to others.
 *  CLEAR TASK SET      every session's tasks on the LUN of this target.
 *  LUN RESET           every session's tasks on the LUN; UA 29/03.
 *  TARGET WARM RESET   every session's tasks on the target; UA 29/02.
 *  TARGET COLD RESET   as warm (UA 29/01), then every session of the target
 *                      is dropped (this one after its response is sent).
 *  CLEAR ACA           Function not supported (no ACA, NACA=1 is refused).
 *  TASK REASSIGN       Task allegiance reassignment not supported (ERL 0).
 *  other functions     Function rejected.
 *  LUN functions on a LUN that does not exist: LUN does not exist.
 */
#include <string.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/log.h"

#define TMF_FUNCTION_MASK 0x7f

/* Abort the matching tasks of every session on @target. */
static void tmf_abort_all_sessions(struct iscsi_server *server, struct iscsi_target_entry *target,
				   bool all_luns, uint64_t lun)
{
	struct iscsi_session *s;

	qb_list_for_each_entry(s, &server->sessions, node) {
		if (s->target == target && !s->closing) {
			iscsi_session_abort_tasks(s, all_luns, lun, NULL);
		}
	}
}

static void tmf_send_response(struct iscsi_conn *conn, const uint8_t *req, uint8_t response)
{
	struct iscsi_ctl_pdu *c = iscsi_ctl_get(conn, 0);

	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	c->tx.hdr[0] = ISCSI_OP_TMF_RSP;
	c->tx.hdr[1] = ISCSI_FLAG_FINAL;
	c->tx.hdr[2] = response;
	iscsi_put_be32(c->tx.hdr + 16, iscsi_bhs_itt(req));
	iscsi_conn_stamp_sn(conn, c->tx.hdr, true);
	iscsi_conn_send_ctl(conn, c);
}

/* §11.6.1 rules for a Referenced Task Tag that names no task. */
static uint8_t tmf_abort_missing(struct iscsi_session *s, uint32_t ref_cmdsn)
{
	int r = iscsi_session_cmdsn_check(s, ref_cmdsn);

	if (r < 0) {
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
	uint8_t function = req[1] & TMF_FUNCTION_MASK;
	uint64_t lun = iscsi_bhs_lun(req);
	uint32_t rtt = iscsi_get_be32(req + 20);
	uint32_t ref_cmdsn = iscsi_get_be32(req + 32);
	struct iscsi_target_entry *target = s ? s->target : NULL;
	struct iscsi_server *server = conn->server;
	uint8_t response = ISCSI_TMF_RSP_COMPLETE;
	bool lun_function = function == ISCSI_TMF_ABORT_TASK_SET || function == ISCSI_TMF_CLEAR_TASK_SET ||
			    function == ISCSI_TMF_LUN_RESET;

	if (!s || !target) {
		tmf_send_response(conn, req, ISCSI_TMF_RSP_REJECTED);
		return;
	}
	log_info("iscsi: %s: task management function %u lun %llu", conn->prefix, function,
		 (unsigned long long)lun);
	if (lun_function && !scsi_lun_exists(target->scsi, lun)) {
		tmf_send_response(conn, req, ISCSI_TMF_RSP_NO_LUN);
		return;
	}
	switch (function) {
	case ISCSI_TMF_ABORT_TASK: {
		struct iscsi_task *t = iscsi_task_find_itt(s, rtt);

		if (t) {
			iscsi_task_abort(t);
		} else {
			response = tmf_abort_missing(s, ref_cmdsn);
		}
		break;
	}
	case ISCSI_TMF_ABORT_TASK_SET:
		iscsi_session_abort_tasks(s, false, lun, NULL);
		scsi_tasks_cleared(target->scsi, lun, s->nexus);
		break;
	case ISCSI_TMF_CLEAR_TASK_SET:
		tmf_abort_all_sessions(server, target, false, lun);
		scsi_tasks_cleared(target->scsi, lun, s->nexus);
		break;
	case ISCSI_TMF_LUN_RESET:
		tmf_abort_all_sessions(server, target, false, lun);
		if (scsi_lu_reset(target->scsi, lun, s->nexus) != 0) {
			response = ISCSI_TMF_RSP_NO_LUN;
		}
		break;
	case ISCSI_TMF_TARGET_WARM_RESET:
	case ISCSI_TMF_TARGET_COLD_RESET: {
		bool cold = function == ISCSI_TMF_TARGET_COLD_RESET;

		tmf_abort_all_sessions(server, target, true, 0);
		scsi_target_reset(target->scsi, cold, s->nexus);
		if (cold) {
			struct iscsi_session *o, *on;

			tmf_send_response(conn, req, response);
			/* §11.5.1: a cold reset drops every connection of the
			 * target; ours once the response is on the wire. */
			qb_list_for_each_entry_safe(o, on, &server->sessions, node) {
				if (o != s && o->target == target) {
					iscsi_session_shutdown(o, "target cold reset");
				}
			}
			if (conn->state != ISCSI_CONN_DEAD) {
				iscsi_conn_close_after_tx(conn);
			}
			return;
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
	tmf_send_response(conn, req, response);
}
