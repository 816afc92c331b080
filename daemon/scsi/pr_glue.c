// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The SCSI layer's side of persistent reservations: PERSISTENT RESERVE IN
 * (SPC-4 6.15) answered from the LU's PR state, PERSISTENT RESERVE OUT
 * (SPC-4 6.16) and RESERVE(6)/RELEASE(6) (SPC-2 7.21, 7.17) decoded into
 * pure engine ops (reservations/pr.h) and handed to the daemon's propose
 * hook (scsi_pr.h), plus the events that mutate PR state without a command:
 * LU reset and target reset (SPC-2 5.5.1, SAM-5 7.7) and I_T nexus loss.
 *
 * Invariants:
 *  - Nothing here writes the PR state when a propose hook is set; only the
 *    daemon's apply does, in agreed order on every node (DESIGN §1). The
 *    PR OUT task stays in the SCSI layer (counted in lu->inflight, like
 *    backing I/O) until apply completes it with scsi_pr_task_complete().
 *  - Without a hook (the SCSI layer alone, unit tests) the op is applied
 *    here at once, so the layer behaves the same from the initiator's view.
 *  - The outcome is data: status and sense (with the SPC-4 4.5.2.4.2 field
 *    pointer) come from the engine's struct pr_result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/base/log.h"
#include "daemon/scsi/scsi_int.h"

/* ---- state and identity ---- */

void scsi_pr_lu_init(struct scsi_lu *lu)
{
	pr_state_init(&lu->pr_own, 0);
	lu->pr = &lu->pr_own;
}

void scsi_pr_lu_fini(struct scsi_lu *lu)
{
	pr_state_fini(&lu->pr_own);
	lu->pr = NULL;
}

int scsi_pr_nexus_init(struct scsi_nexus *nexus, uint16_t rel_port_id)
{
	struct pr_nexus *id = &nexus->pr_id;
	int a, b;

	/* DESIGN §3: "InitiatorName,i,0xISID" on "TargetName,t,0xTPGT". */
	a = snprintf(id->initiator, sizeof(id->initiator), "%s", nexus->initiator_port);
	b = snprintf(id->target, sizeof(id->target), "%s", nexus->target_port);
	if (a < 0 || (size_t)a >= sizeof(id->initiator) || b < 0 ||
	    (size_t)b >= sizeof(id->target)) {
		return -ENAMETOOLONG;
	}
	id->rel_port_id = rel_port_id;
	return 0;
}

void scsi_target_set_pr_hooks(struct scsi_target *target, const struct scsi_pr_hooks *hooks)
{
	if (hooks) {
		target->pr_hooks = *hooks;
	} else {
		memset(&target->pr_hooks, 0, sizeof(target->pr_hooks));
	}
}

static struct scsi_lu *pr_lu(struct scsi_target *target, uint16_t lun_id)
{
	return lun_id < SCSI_LUN_MAX ? target->lu_index[lun_id] : NULL;
}

int scsi_lu_pr_attach(struct scsi_target *target, uint16_t lun_id, struct pr_state *state)
{
	struct scsi_lu *lu = pr_lu(target, lun_id);

	if (!lu) {
		return -ENOENT;
	}
	lu->pr = state ? state : &lu->pr_own;
	return 0;
}

int scsi_lun_id(uint64_t lun)
{
	return scsi_lun_decode(lun);
}

uint16_t scsi_target_rel_port_id(const struct scsi_target *target)
{
	return target->port.rel_port_id;
}

/* ---- effects ---- */

struct pr_match_ctx {
	const struct pr_target *who;
	uint16_t rel_port_id;
};

static bool pr_match_name(const char *initiator_port, const void *ctx)
{
	const struct pr_match_ctx *m = ctx;

	return pr_target_matches(m->who, initiator_port, m->rel_port_id);
}

static enum scsi_ua pr_ua_map(uint8_t ua)
{
	switch (ua) {
	case PR_UA_RESERVATIONS_PREEMPTED:
		return SCSI_UA_RESERVATIONS_PREEMPTED;
	case PR_UA_RESERVATIONS_RELEASED:
		return SCSI_UA_RESERVATIONS_RELEASED;
	case PR_UA_REGISTRATIONS_PREEMPTED:
	default:
		return SCSI_UA_REGISTRATIONS_PREEMPTED;
	}
}

void scsi_lu_pr_effects(struct scsi_target *target, uint16_t lun_id, const struct pr_result *res)
{
	struct scsi_lu *lu = pr_lu(target, lun_id);

	if (!lu) {
		return;
	}
	for (uint32_t i = 0; i < res->n_ua; i++) {
		const struct pr_ua_effect *e = &res->ua[i];
		struct pr_match_ctx m = { .who = &e->who, .rel_port_id = target->port.rel_port_id };
		enum scsi_ua ua = pr_ua_map(e->ua);

		if (scsi_ua_raise_match(lu, pr_match_name, &m, ua) > 0) {
			continue;
		}
		/*
		 * A registrant that is logged out right now has no record (or
		 * lost it at logout): keep the news for its next login
		 * (SPC-4 5.13.11.2: the UA is for that I_T nexus), when the
		 * effect names one full initiator port reached through us.
		 */
		if (strstr(e->who.nexus.initiator, ",i,0x") &&
		    (e->who.all_tg_pt || e->who.nexus.rel_port_id == target->port.rel_port_id) &&
		    scsi_ua_raise_name(lu, e->who.nexus.initiator, ua) < 0) {
			log_warn("scsi: out of memory keeping a unit attention for %s",
				 e->who.nexus.initiator);
		}
	}
}

/* ---- outcomes ---- */

static int pr_task_outcome(struct scsi_task *task, const struct pr_result *res)
{
	struct scsi_sense_info si = { .key = res->sense_key, .asc_ascq = res->asc };

	switch (res->status) {
	case PR_STATUS_GOOD:
		task->status = SCSI_STATUS_GOOD;
		return SCSI_EXEC_DONE;
	case PR_STATUS_RESERVATION_CONFLICT:
		task->status = SCSI_STATUS_RESERVATION_CONFLICT;
		task->data_in_len = 0;
		return SCSI_EXEC_DONE;
	default:
		break;
	}
	if (res->sks_valid) {
		scsi_sense_field_pointer(&si, res->sks_cd, res->sks_field,
					 res->sks_bpv ? res->sks_bit : -1);
	}
	task->status = SCSI_STATUS_CHECK_CONDITION;
	task->sense_len = (uint8_t)scsi_sense_build(task->sense, sizeof(task->sense),
						    scsi_task_d_sense(task), &si);
	task->data_in_len = 0;
	return SCSI_EXEC_DONE;
}

void scsi_pr_task_complete(struct scsi_task *task, const struct pr_result *res)
{
	pr_task_outcome(task, res);
	scsi_task_finish(task);
}

void scsi_pr_task_fail(struct scsi_task *task, uint8_t key, uint16_t asc)
{
	scsi_task_sense(task, key, asc);
	scsi_task_finish(task);
}

/* ---- submitting ops ---- */

/* No daemon: apply at once to the LU's own state (SCSI layer alone, tests). */
static int pr_apply_local(struct scsi_lu *lu, const struct pr_op *op, struct scsi_task *task)
{
	struct pr_result res;
	int rc;

	pr_result_init(&res);
	rc = pr_apply(lu->pr, op, &res);
	if (rc == 0 && res.status == PR_STATUS_GOOD) {
		scsi_lu_pr_effects(lu->target, lu->id, &res);
	}
	if (task) {
		if (rc < 0) {
			scsi_task_sense(task, SENSE_KEY_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
		} else {
			pr_task_outcome(task, &res);
		}
	}
	pr_result_fini(&res);
	return SCSI_EXEC_DONE;
}

/*
 * Propose @op for @lu. With @task, returns SCSI_EXEC_ASYNC once the daemon
 * owns completing it, or SCSI_EXEC_DONE with the task's failure set.
 */
static int pr_submit(struct scsi_lu *lu, const struct pr_op *op, struct scsi_task *task,
		     const struct scsi_reset_waiter *w)
{
	struct scsi_target *target = lu->target;
	size_t len;
	uint8_t *buf;
	int rc;

	if (!target->pr_hooks.propose) {
		return pr_apply_local(lu, op, task);
	}
	/* Not the data path: PR OUT is rare, one allocation per op is fine. */
	len = pr_op_encoded_size(op);
	buf = malloc(len);
	if (!buf) {
		rc = -ENOMEM;
	} else {
		rc = pr_op_encode(op, buf, len);
		if (rc >= 0) {
			rc = target->pr_hooks.propose(target->pr_hooks.ctx, target, lu->id, buf,
						      (size_t)rc, task, w);
		}
		free(buf);
	}
	if (rc == 0) {
		if (task) {
			lu->inflight++; /* like backing I/O: the LU stays until apply completes it */
			return SCSI_EXEC_ASYNC;
		}
		if (w) {
			w->start(w->arg); /* done() comes from a later loop pass */
		}
		return SCSI_EXEC_DONE;
	}
	log_warn("scsi: target '%s' LUN %u: cannot propose a reservation change: %s",
		 target->name, lu->id, strerror(-rc));
	if (task) {
		/*
		 * -EAGAIN: not quorate or syncing; the port group is (or is
		 * about to be) Unavailable, so MPIO retries on another path.
		 */
		if (rc == -EAGAIN) {
			return scsi_task_sense(task, SENSE_KEY_NOT_READY,
					       ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
		}
		return scsi_task_sense(task, SENSE_KEY_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
	}
	return SCSI_EXEC_DONE;
}

/* ---- handlers ---- */

int spc_pr_in(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	struct pr_result res;
	uint32_t xfer = 0, dlen = 0;

	(void)desc;
	pr_result_init(&res);
	/* Answered from this node's copy of the replicated state: no propose. */
	pr_in_build(lu->pr, task->cdb, task->cdb_len, &task->nexus->pr_id, task->buf,
		    task->buf ? task->buf_cap : 0, &xfer, &dlen, &res);
	if (res.status == PR_STATUS_GOOD) {
		task->status = SCSI_STATUS_GOOD;
		task->xfer_len = xfer;
		task->data_in_len = dlen;
	} else {
		pr_task_outcome(task, &res);
	}
	pr_result_fini(&res);
	return SCSI_EXEC_DONE;
}

int spc_pr_out(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	struct pr_op op;
	struct pr_result res;
	int rc, ret;

	(void)desc;
	pr_op_init(&op);
	pr_result_init(&res);
	/* Layer 1 (state-independent checks) runs here; apply re-validates on delivery. */
	rc = pr_out_decode(task->cdb, task->cdb_len, task->buf, task->buf ? task->data_out_len : 0,
			   &task->nexus->pr_id, NULL, &op, &res);
	if (rc < 0) {
		ret = scsi_task_sense(task, SENSE_KEY_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
	} else if (res.status != PR_STATUS_GOOD) {
		ret = pr_task_outcome(task, &res);
	} else {
		ret = pr_submit(lu, &op, task, NULL);
	}
	pr_result_fini(&res);
	pr_op_fini(&op);
	return ret;
}

int spc_reserve_release6(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct pr_op op;
	int ret;

	pr_op_init(&op);
	pr_op_spc2(&op, desc->opcode == OP_RESERVE6 ? PR_OP_SPC2_RESERVE : PR_OP_SPC2_RELEASE,
		   &task->nexus->pr_id);
	ret = pr_submit(task->priv.lu, &op, task, NULL);
	pr_op_fini(&op);
	return ret;
}

/* ---- events without a command ---- */

void scsi_pr_nexus_lost(struct scsi_target *target, const struct scsi_nexus *nexus)
{
	for (unsigned int i = 0; i < target->lu_end; i++) {
		struct scsi_lu *lu = target->lu_index[i];
		struct pr_op op;

		/* Only an SPC-2 reservation dies with its nexus; registrations persist. */
		if (!lu || !lu->pr->spc2_reserved ||
		    strcasecmp(lu->pr->spc2_holder.initiator, nexus->pr_id.initiator) != 0 ||
		    lu->pr->spc2_holder.rel_port_id != nexus->pr_id.rel_port_id) {
			continue;
		}
		pr_op_init(&op);
		pr_op_spc2(&op, PR_OP_NEXUS_LOSS, &nexus->pr_id);
		pr_submit(lu, &op, NULL, NULL);
		pr_op_fini(&op);
	}
}

void scsi_pr_lu_reset(struct scsi_lu *lu, const struct scsi_reset_waiter *w)
{
	struct pr_op op;

	/*
	 * SPC-4 5.13.3 (CRH=1) / SPC-2 5.5.1: a reset releases the SPC-2
	 * reservation only. With a propose hook the reset travels even without
	 * one, so that every node resets the LU (the daemon's LU_RESET mutation).
	 */
	if (!lu->pr->spc2_reserved && !lu->target->pr_hooks.propose) {
		return;
	}
	pr_op_init(&op);
	pr_op_spc2(&op, PR_OP_SPC2_RESET, NULL);
	pr_submit(lu, &op, NULL, w);
	pr_op_fini(&op);
}
