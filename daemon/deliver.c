/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state machine (daemon/state/) wired to the rest of the daemon: the
 * transport's callbacks (deliver, snapshots, summary), the admin requests'
 * and SCSI commands' proposals, and start-up load.
 *
 * Every node runs daemon_deliver() on the same stream in the same order:
 * state_deliver() decodes, validates, commits and updates the model and
 * returns its effects; daemon_effects_apply() (effects.c) makes this
 * node's running objects follow; then, on the node that proposed it, the
 * admin request or SCSI command completes (for PR: SPC-4 5.13, the
 * initiator never sees GOOD for a change that is not on disk).
 *
 * Persistent reservations: the SCSI layer's propose hook (scsi_pr.h) hands
 * an encoded struct pr_op; it travels as a RESERVATION mutation, or as an
 * LU_RESET mutation when it is the SPC-2 reset of an LU reset, so that the
 * reset acts on every node.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon/daemon.h"
#include "daemon/iscsi/name.h"
#include "daemon/base/log.h"
#include "daemon/scsi/scsi_pr.h"

/* SPC-4 sense for outcomes decided here rather than by the engine. */
#define PR_SENSE_ABORTED_COMMAND 0x0b
#define PR_ASC_INTERNAL_TARGET_FAILURE 0x4400

/* Names in the replicated state are canonical (the admin path maps them first). */
bool daemon_iscsi_name_valid(const char *name)
{
	return iscsi_name_is_canonical(name);
}

/* ---- completion ------------------------------------------------------------ */

static void pending_answer(struct daemon_pending *p)
{
	p->done(p->d, p, p->rc, p->err);
	free(p);
}

/*
 * A proposal of this node was applied here (or cancelled). Its client is
 * answered once every member applied it (DESIGN §3): a PR OUT that
 * completes through one node is then in force through every node, and an
 * object created through one node's quoratectl is listed by every node.
 */
static void pending_done(struct state_pending *sp, const struct state_outcome *o)
{
	struct daemon_pending *p = (struct daemon_pending *)sp;
	struct daemon *d = p->d;

	p->seq = o->seq;
	p->rc = o->rc;
	snprintf(p->err, sizeof(p->err), "%s", o->err != NULL ? o->err : "");
	p->pr_res = NULL;
	if (o->pr != NULL) {
		p->pr_copy = *o->pr;
		p->pr_copy.ua = NULL;
		p->pr_copy.abort = NULL;
		p->pr_copy.ua_cap = 0;
		p->pr_copy.abort_cap = 0;
		p->pr_res = &p->pr_copy;
	}
	if (o->seq == 0 || d->cluster == NULL || cluster_applied_everywhere(d->cluster) >= o->seq) {
		pending_answer(p);
		return;
	}
	p->next = NULL;
	if (d->held_tail == NULL) {
		d->held_tail = &d->held_head;
	}
	*d->held_tail = p;
	d->held_tail = &p->next;
}

void daemon_applied_everywhere(uint64_t seq, void *ctx)
{
	struct daemon *d = ctx;

	while (d->held_head != NULL && d->held_head->seq <= seq) {
		struct daemon_pending *p = d->held_head;

		d->held_head = p->next;
		if (d->held_head == NULL) {
			d->held_tail = &d->held_head;
		}
		pending_answer(p);
	}
}

void daemon_held_flush(struct daemon *d)
{
	daemon_applied_everywhere(UINT64_MAX, d);
}

/* The held proposals' fate elsewhere is unknown: answer them with an error. */
static void held_fail(struct daemon *d, const char *why)
{
	for (struct daemon_pending *p = d->held_head; p != NULL; p = p->next) {
		p->rc = -ECANCELED;
		p->pr_res = NULL;
		snprintf(p->err, sizeof(p->err), "%s", why);
	}
	daemon_held_flush(d);
}

static void deliver_log(const struct state_effects *fx, uint32_t origin)
{
	const char *what = mutation_kind_name(fx->kind);

	if (fx->kind == MUTATION_NONE) {
		log_err("seq %llu from node %u: %s, skipped", (unsigned long long)fx->seq, origin,
			fx->err);
	} else if (fx->rc == -ENOMEM) {
		/* Cannot apply: this node now lags; a later sync must repair it. */
		log_err("seq %llu %s: out of memory, not applied", (unsigned long long)fx->seq, what);
	} else if (fx->rc < 0) {
		log_info("seq %llu %s rejected: %s", (unsigned long long)fx->seq, what, fx->err);
	} else {
		log_debug("seq %llu %s applied", (unsigned long long)fx->seq, what);
	}
}

void daemon_deliver(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx)
{
	struct daemon *d = ctx;
	struct state_effects fx;

	state_deliver(d->state, seq, origin, origin == cluster_node_id(d->cluster), msg, len,
		      &fx);
	deliver_log(&fx, origin);
	daemon_effects_apply(d, &fx);
	state_effects_complete(&fx);
	state_effects_release(&fx);
}

/* ---- proposals ---------------------------------------------------------------- */

/* Propose @m; with @p (filled but for its state_pending part), complete it after apply. */
static int propose_pending(struct daemon *d, struct mutation *m, struct daemon_pending *p)
{
	int rc;

	if (p != NULL) {
		p->base.done = pending_done;
		p->d = d;
	}
	rc = state_propose(d->state, m, p != NULL ? &p->base : NULL);
	if (rc < 0) {
		free(p);
	}
	return rc;
}

int daemon_propose(struct daemon *d, struct mutation *m, struct ipc_request *req,
		   void (*done)(struct daemon *d, struct daemon_pending *p, int rc,
				const char *err),
		   struct json_object *result)
{
	struct daemon_pending *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		return -ENOMEM;
	}
	p->done = done;
	p->req = req;
	p->result = result;
	return propose_pending(d, m, p);
}

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

/* Is @op (encoded) the SPC-2 reset an LU or target reset proposes? */
static bool pr_op_is_reset(const uint8_t *op, size_t len)
{
	struct pr_op o;
	bool reset;

	pr_op_init(&o);
	reset = pr_op_decode(op, len, &o) == 0 && o.kind == PR_OP_SPC2_RESET;
	pr_op_fini(&o);
	return reset;
}

/* A reset's mutation applied on every node: the waiting TMF may answer. */
static void reset_pending_done(struct daemon *d, struct daemon_pending *p, int rc, const char *err)
{
	(void)d;
	(void)rc;
	(void)err;
	p->reset_done(p->reset_arg);
}

static int pr_propose(void *ctx, struct scsi_target *target, uint16_t lun_id, const uint8_t *op,
		      size_t len, struct scsi_task *task, const struct scsi_reset_waiter *w)
{
	struct daemon *d = ctx;
	struct mutation *m;
	struct daemon_pending *p = NULL;
	int rc;

	if (d->cluster == NULL) {
		return -ESHUTDOWN;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		return -ENOMEM;
	}
	m->kind = task == NULL && pr_op_is_reset(op, len) ? MUTATION_LU_RESET
							   : MUTATION_RESERVATION;
	snprintf(m->u.lu.target, sizeof(m->u.lu.target), "%s", scsi_target_name(target));
	m->u.lu.lun = lun_id;
	m->pr_op = op;
	m->pr_op_len = len;
	if (task != NULL || w != NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			free(m);
			return -ENOMEM;
		}
		if (task != NULL) {
			p->done = pr_pending_done;
			p->task = task;
		} else {
			p->done = reset_pending_done;
			p->reset_done = w->done;
			p->reset_arg = w->arg;
		}
	}
	rc = propose_pending(d, m, p);
	free(m);
	return rc;
}

void daemon_pr_hooks_set(struct daemon *d, struct scsi_target *target)
{
	const struct scsi_pr_hooks hooks = { .propose = pr_propose, .ctx = d };

	scsi_target_set_pr_hooks(target, &hooks);
}

static bool pending_is_task(struct state_pending *sp, void *ctx)
{
	(void)ctx;
	return ((struct daemon_pending *)sp)->task != NULL;
}

static bool pending_is_admin(struct state_pending *sp, void *ctx)
{
	(void)ctx;
	return ((struct daemon_pending *)sp)->task == NULL;
}

void daemon_pr_pending_fail(struct daemon *d)
{
	state_pending_cancel(d->state, pending_is_task, NULL, "daemon is shutting down");
}

void daemon_pending_abort(struct daemon *d, const char *why)
{
	/* A PR command completes on delivery while the loop runs. */
	state_pending_cancel(d->state, pending_is_admin, NULL, why);
}

/* ---- snapshots and summary ---------------------------------------------------- */

int daemon_snapshot_get(void **buf, size_t *len, uint64_t *seq, uint64_t *epoch, void *ctx)
{
	struct daemon *d = ctx;
	uint8_t *b;
	int rc = state_snapshot_encode(d->state, &b, len);

	if (rc < 0) {
		return rc;
	}
	*buf = b;
	*seq = state_applied_seq(d->state);
	*epoch = state_epoch(d->state);
	return 0;
}

int daemon_snapshot_put(const void *buf, size_t len, uint64_t seq, uint64_t epoch, void *ctx)
{
	struct daemon *d = ctx;
	struct state_effects fx;
	uint64_t s, e;
	int rc = state_snapshot_peek(buf, len, &s, &e);

	if (rc == 0 && (s != seq || e != epoch)) {
		rc = -EBADMSG;
	}
	if (rc < 0) {
		return rc;
	}
	d->digest_valid = false;	/* the same (epoch, seq) may name another state now */
	rc = state_snapshot_install(d->state, buf, len, &fx);
	if (rc < 0 && fx.seq == 0) {
		log_err("snapshot (epoch %llu, seq %llu) refused: %s", (unsigned long long)epoch,
			(unsigned long long)seq, fx.err[0] != '\0' ? fx.err : strerror(-rc));
	} else {
		log_notice("snapshot (epoch %llu, seq %llu) installed: %zu change(s) to running "
			   "objects", (unsigned long long)epoch, (unsigned long long)seq, fx.n);
		daemon_effects_apply(d, &fx);
	}
	state_effects_release(&fx);
	return rc;
}

int daemon_summary(struct cluster_summary *out, void *ctx)
{
	struct daemon *d = ctx;
	int rc;

	out->epoch = state_epoch(d->state);
	out->applied_seq = state_applied_seq(d->state);
	if (!d->digest_valid || d->digest_epoch != out->epoch || d->digest_seq != out->applied_seq) {
		rc = state_digest(d->state, d->digest);
		if (rc < 0) {
			return rc;
		}
		d->digest_valid = true;
		d->digest_epoch = out->epoch;
		d->digest_seq = out->applied_seq;
	}
	memcpy(out->digest, d->digest, sizeof(out->digest));
	return 0;
}

/* ---- start-up ------------------------------------------------------------------- */

int daemon_load(struct daemon *d)
{
	const struct state_rules rules = { .name_valid = daemon_iscsi_name_valid };
	struct state_effects fx;
	uint32_t salt = 0;
	int rc;

	rc = state_create(d->store, &rules, &d->state);
	if (rc < 0) {
		return rc;
	}
	/*
	 * Request ids only match proposals to their requests on this node; a
	 * random high half keeps a restarted node from mistaking a stale
	 * delivery for one of its new requests.
	 */
	if (getrandom(&salt, sizeof(salt), 0) != sizeof(salt)) {
		salt = 0;
	}
	state_request_ids_seed(d->state, (uint64_t)salt << 32);
	rc = state_load(d->state, &fx);
	if (rc == 0) {
		if (fx.err[0] != '\0') {
			log_warn("loading the database: %s", fx.err);
		}
		daemon_effects_apply(d, &fx);
	}
	state_effects_release(&fx);
	if (rc == 0 && d->cfg.cluster == CONFIG_CLUSTER_STANDALONE) {
		/*
		 * Standalone, every start is a whole-cluster restart: the state
		 * after power-on semantics is a new epoch, so (epoch, seq) names
		 * one state. In a cluster the first sync round names it (and a
		 * node that restarted alone takes the others' state instead).
		 */
		rc = state_epoch_set(d->state, state_epoch(d->state) + 1);
	}
	return rc;
}

int daemon_epoch_set(uint64_t epoch, void *ctx)
{
	struct daemon *d = ctx;

	return state_epoch_set(d->state, epoch);
}

void daemon_proposals_lost(const char *why, void *ctx)
{
	struct daemon *d = ctx;
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: the change may or may not have been applied on the "
		 "nodes; check and retry", why);
	state_pending_cancel(d->state, pending_is_admin, NULL, msg);
	state_pending_cancel(d->state, pending_is_task, NULL, why);
	held_fail(d, msg);
}
