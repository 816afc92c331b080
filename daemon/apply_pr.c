// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Persistent reservations through propose → deliver → apply (DESIGN §1).
 *
 * Propose (the SCSI layer's hook, scsi_pr.h): PERSISTENT RESERVE OUT,
 * RESERVE(6)/RELEASE(6), LU/target reset and I_T nexus loss arrive as an
 * encoded struct pr_op; it travels as a STORE_OP_PR_SET mutation. A command
 * waits as a struct daemon_pending holding its task.
 *
 * Apply (every node, agreed order): decode the op (re-validated by
 * pr_op_decode), apply it to a copy of the LU's PR state in the model, and,
 * if the state changed, commit the new snapshot together with the sequence
 * number in one SQLite transaction; only then does the copy replace the
 * model's state, the unit attentions go to this node's I_T nexuses, PREEMPT
 * AND ABORT aborts their tasks, and, on the proposing node, the command
 * completes (SPC-4 5.13; the initiator never sees GOOD for a change that is
 * not on disk). A rejected op (not GOOD) commits only the sequence.
 *
 * Determinism: the outcome depends on the model's PR state and the op alone.
 * Node-local facts (whether the LU is online here, which sessions exist)
 * only decide which effects this node delivers.
 *
 * Start-up (standalone: every restart is a whole-cluster restart): the
 * stored snapshot is loaded and pr_state_power_on() drops what does not
 * persist through power loss (everything without APTPL; SPC-2 reservations).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/iscsi/iscsi.h"
#include "daemon/base/log.h"
#include "daemon/mutation.h"
#include "daemon/scsi/scsi_pr.h"
#include "quorum/cluster.h"

/* SPC-4 sense for outcomes decided here rather than by the engine. */
#define PR_SENSE_HARDWARE_ERROR 0x04
#define PR_SENSE_ABORTED_COMMAND 0x0b
#define PR_ASC_LUN_NOT_SUPPORTED 0x2500
#define PR_ASC_INTERNAL_TARGET_FAILURE 0x4400

/* ---- propose ------------------------------------------------------------ */

static void pr_pending_done(struct daemon *d, struct daemon_pending *p, int rc, const char *err)
{
	(void)d;
	(void)rc;
	(void)err;
	if (p->pr_res != NULL) {
		scsi_pr_task_complete(p->task, p->pr_res);
	} else {
		scsi_pr_task_fail(p->task, PR_SENSE_ABORTED_COMMAND, PR_ASC_INTERNAL_TARGET_FAILURE);
	}
}

static int pr_propose(void *ctx, struct scsi_target *target, uint16_t lun_id, const uint8_t *op,
		      size_t len, struct scsi_task *task)
{
	struct daemon *d = ctx;
	struct mutation *m = NULL;
	struct daemon_pending *p = NULL;
	uint8_t *buf = NULL;
	size_t cap = MUTATION_PR_HEADER_MAX + len, n = 0;
	int rc;

	if (d->cluster == NULL) {
		return -ESHUTDOWN;
	}
	if (len == 0 || len > MUTATION_PR_OP_MAX) {
		return -EMSGSIZE;
	}
	m = calloc(1, sizeof(*m));
	buf = malloc(cap);
	p = task != NULL ? calloc(1, sizeof(*p)) : NULL;
	if (m == NULL || buf == NULL || (task != NULL && p == NULL)) {
		rc = -ENOMEM;
		goto out;
	}
	m->request_id = ++d->next_request_id;
	m->op.kind = STORE_OP_PR_SET;
	snprintf(m->op.u.pr.target, sizeof(m->op.u.pr.target), "%s", scsi_target_name(target));
	m->op.u.pr.lun = lun_id;
	m->pr_op = op;
	m->pr_op_len = len;
	rc = mutation_encode(m, buf, cap, &n);
	if (rc == 0) {
		rc = cluster_propose(d->cluster, buf, n);
	}
	if (rc == 0 && p != NULL) {
		/* Delivery never runs inside cluster_propose(): linking now is safe. */
		p->request_id = m->request_id;
		p->task = task;
		p->done = pr_pending_done;
		p->next = d->pending;
		d->pending = p;
		p = NULL;
	}
out:
	free(m);
	free(buf);
	free(p);
	return rc;
}

void daemon_pr_hooks_set(struct daemon *d, struct scsi_target *target)
{
	const struct scsi_pr_hooks hooks = { .propose = pr_propose, .ctx = d };

	scsi_target_set_pr_hooks(target, &hooks);
}

void daemon_pr_pending_fail(struct daemon *d)
{
	struct daemon_pending **pp = &d->pending;

	while (*pp != NULL) {
		struct daemon_pending *p = *pp;

		if (p->task == NULL) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		p->pr_res = NULL;
		p->done(d, p, -ECANCELED, "daemon is shutting down");
		free(p);
	}
}

/* ---- apply -------------------------------------------------------------- */

struct pr_abort_ctx {
	const struct pr_target *who;
	uint16_t rel_port_id;
};

static bool pr_abort_match(const char *initiator_port, void *ctx)
{
	const struct pr_abort_ctx *a = ctx;

	return pr_target_matches(a->who, initiator_port, a->rel_port_id);
}

/* An outcome decided here: CHECK CONDITION with @key and @asc. */
static void pr_result_fail(struct pr_result *res, uint8_t key, uint16_t asc)
{
	res->status = PR_STATUS_CHECK_CONDITION;
	res->sense_key = key;
	res->asc = asc;
	res->sks_valid = false;
	res->changed = false;
	res->n_ua = 0;
	res->n_abort = 0;
}

static void pr_commit_seq_only(struct daemon *d, uint64_t seq)
{
	int rc = store_commit(d->store, seq, NULL);

	if (rc < 0) {
		log_perror(rc, "seq %llu reservation: store commit (%s)", (unsigned long long)seq,
			   store_errmsg(d->store));
	}
}

/* Deliver the effects of a committed op to this node's nexuses. */
static void pr_effects(struct daemon *d, struct daemon_target *t, struct daemon_lun *l,
		       const struct pr_result *res, const struct scsi_task *keep)
{
	if (!l->online || t->scsi == NULL) {
		return;
	}
	scsi_lu_pr_effects(t->scsi, l->rec.lun, res);
	for (uint32_t i = 0; i < res->n_abort && t->registered && d->iscsi != NULL; i++) {
		struct pr_abort_ctx a = {
			.who = &res->abort[i],
			.rel_port_id = scsi_target_rel_port_id(t->scsi),
		};
		unsigned int n = iscsi_target_abort_tasks(d->iscsi, t->rec.name, l->rec.lun,
							  pr_abort_match, &a, keep);

		if (n > 0) {
			log_info("target '%s' LUN %u: PREEMPT AND ABORT aborted %u task(s) of %s",
				 t->rec.name, l->rec.lun, n, res->abort[i].nexus.initiator);
		}
	}
}

/* Commit @next as the LU's state at @seq. @return 0 or -errno. */
static int pr_commit_state(struct daemon *d, uint64_t seq, struct daemon_lun *l,
			   const struct pr_state *next)
{
	size_t len = pr_state_encoded_size(next);
	uint8_t *blob = malloc(len);
	struct store_op *sop = calloc(1, sizeof(*sop));
	int rc;

	if (blob == NULL || sop == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = pr_state_encode(next, blob, len);
	if (rc < 0) {
		goto out;
	}
	sop->kind = STORE_OP_PR_SET;
	snprintf(sop->u.pr.target, sizeof(sop->u.pr.target), "%s", l->rec.target);
	sop->u.pr.lun = l->rec.lun;
	sop->u.pr.aptpl = next->aptpl;
	sop->u.pr.snapshot = blob;
	sop->u.pr.snapshot_len = (size_t)rc;
	rc = store_commit(d->store, seq, sop);
	if (rc < 0) {
		log_perror(rc, "seq %llu reservation: store commit failed (%s)",
			   (unsigned long long)seq, store_errmsg(d->store));
	}
out:
	free(blob);
	free(sop);
	return rc;
}

void daemon_pr_apply(struct daemon *d, uint64_t seq, bool mine, const struct mutation *m)
{
	struct daemon_pending *p = mine ? daemon_pending_take(d, m->request_id) : NULL;
	struct daemon_target *t = daemon_target_find(d, m->op.u.pr.target);
	struct daemon_lun *l = t != NULL ? daemon_lun_find(t, m->op.u.pr.lun) : NULL;
	struct pr_state next;
	struct pr_result res;
	struct pr_op op;
	int rc;

	pr_state_init(&next, 0);
	pr_result_init(&res);
	pr_op_init(&op);
	if (l == NULL) {
		/* The LUN went away between propose and delivery. */
		pr_result_fail(&res, PR_SENSE_ILLEGAL_REQUEST, PR_ASC_LUN_NOT_SUPPORTED);
		pr_commit_seq_only(d, seq);
		goto complete;
	}
	rc = pr_op_decode(m->pr_op, m->pr_op_len, &op);
	if (rc == 0) {
		rc = pr_state_copy(&next, &l->pr);
	}
	if (rc == 0) {
		rc = pr_apply(&next, &op, &res);
	}
	if (rc == -EINVAL) {
		log_err("seq %llu from a peer: malformed reservation op, skipped",
			(unsigned long long)seq);
		pr_result_fail(&res, PR_SENSE_HARDWARE_ERROR, PR_ASC_INTERNAL_TARGET_FAILURE);
		pr_commit_seq_only(d, seq);
		goto complete;
	}
	if (rc < 0) {
		/* Out of memory: this node cannot follow; a later sync must repair it. */
		log_perror(rc, "seq %llu reservation on '%s' LUN %u not applied",
			   (unsigned long long)seq, l->rec.target, l->rec.lun);
		pr_result_fail(&res, PR_SENSE_HARDWARE_ERROR, PR_ASC_INTERNAL_TARGET_FAILURE);
		goto complete;
	}
	if (res.status != PR_STATUS_GOOD || !res.changed) {
		pr_commit_seq_only(d, seq);
		goto complete;
	}
	if (pr_commit_state(d, seq, l, &next) < 0) {
		/* Not on disk, so not in force: the model keeps its state. */
		pr_result_fail(&res, PR_SENSE_HARDWARE_ERROR, PR_ASC_INTERNAL_TARGET_FAILURE);
		goto complete;
	}
	/* The online LU holds &l->pr: swap contents, the address stays. */
	pr_state_fini(&l->pr);
	l->pr = next;
	pr_state_init(&next, 0);
	log_debug("seq %llu reservation on '%s' LUN %u applied (generation %u)",
		  (unsigned long long)seq, l->rec.target, l->rec.lun, l->pr.generation);
	pr_effects(d, t, l, &res, p != NULL ? p->task : NULL);
complete:
	if (p != NULL) {
		p->seq = seq;
		p->pr_res = &res;
		p->done(d, p, 0, NULL);
		free(p);
	}
	pr_op_fini(&op);
	pr_result_fini(&res);
	pr_state_fini(&next);
}

/* ---- start-up ------------------------------------------------------------ */

int daemon_pr_load(const struct store_pr *p, void *ctx)
{
	struct daemon *d = ctx;
	struct daemon_target *t = daemon_target_find(d, p->target);
	struct daemon_lun *l = t != NULL ? daemon_lun_find(t, p->lun) : NULL;
	int rc;

	if (l == NULL) {
		return 0;	/* cannot happen: the row goes with its LUN */
	}
	rc = pr_state_decode(p->snapshot, p->snapshot_len, &l->pr);
	if (rc < 0) {
		/* A bad snapshot must not stop the node; the LU starts empty. */
		log_perror(rc, "target '%s' LUN %u: stored reservation state unreadable, dropped",
			   p->target, p->lun);
		return 0;
	}
	/* SPC-4 5.13.4: a restart is a power loss; only APTPL state survives it. */
	pr_state_power_on(&l->pr);
	log_info("target '%s' LUN %u: %u registration(s)%s after restart", p->target, p->lun,
		 l->pr.nregs, l->pr.type != PR_TYPE_NONE ? ", reserved" : "");
	return 0;
}
