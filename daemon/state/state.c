/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lifetime, start-up load, delivery and the propose path of the state
 * machine (state.h).
 *
 * Delivery runs a kind's row (kinds.c) in order: decode, validate against
 * the model, commit to SQLite together with the sequence number (a rejected
 * or malformed mutation commits only the sequence, so applied_seq has no
 * gaps), then update the model and record the effects. Only an allocation
 * failure leaves a sequence uncommitted: this node then lags, and a later
 * state transfer must repair it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state/state_int.h"
#include "quorum/cluster.h"

int state_create(struct store *store, const struct state_rules *rules, struct state **out)
{
	struct state *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		return -ENOMEM;
	}
	s->store = store;
	s->rules = *rules;
	s->epoch = store_epoch(store);
	*out = s;
	return 0;
}

void state_destroy(struct state *s)
{
	if (s == NULL) {
		return;
	}
	model_free(&s->model);
	free(s);
}

void state_cluster_set(struct state *s, struct cluster *cluster)
{
	s->cluster = cluster;
}

void state_request_ids_seed(struct state *s, uint64_t first)
{
	s->next_request_id = first;
}

uint64_t state_applied_seq(const struct state *s)
{
	return store_applied_seq(s->store);
}

uint64_t state_epoch(const struct state *s)
{
	return s->epoch;
}

int state_epoch_set(struct state *s, uint64_t epoch)
{
	int rc = store_epoch_set(s->store, epoch);

	if (rc == 0) {
		s->epoch = epoch;
	}
	return rc;
}

/* ---- load ------------------------------------------------------------------ */

struct load_ctx {
	struct state *s;
	struct state_effects *fx;
	int rc;
};

static int load_target(const struct store_target *rec, void *ctx)
{
	struct load_ctx *lc = ctx;
	struct state_target *t = model_target_insert(&lc->s->model, rec);

	if (t == NULL) {
		return -ENOMEM;
	}
	fx_record(lc->fx, STATE_FX_TARGET_CREATED, t, NULL, NULL);
	return 0;
}

static int load_lun(const struct store_lun *rec, void *ctx)
{
	struct load_ctx *lc = ctx;
	struct state_target *t = model_target_find(&lc->s->model, rec->target);
	struct state_lun *l;

	if (t == NULL) {
		return 0;	/* cannot happen: the foreign key */
	}
	l = model_lun_insert(t, rec);
	if (l == NULL) {
		return -ENOMEM;
	}
	fx_record(lc->fx, STATE_FX_LUN_ADDED, t, l, NULL);
	return 0;
}

static int load_acl(const struct store_acl *rec, void *ctx)
{
	struct load_ctx *lc = ctx;
	struct state_target *t = model_target_find(&lc->s->model, rec->target);

	if (t == NULL) {
		return 0;
	}
	if (model_acl_insert(t, rec->initiator) == NULL) {
		return -ENOMEM;
	}
	fx_record(lc->fx, STATE_FX_ACL_ADDED, t, NULL, rec->initiator);
	return 0;
}

static int load_chap(const struct store_chap *rec, void *ctx)
{
	struct load_ctx *lc = ctx;
	struct state_chap *c = model_chap_set(&lc->s->model, rec);

	if (c == NULL) {
		return -ENOMEM;
	}
	fx_chap(lc->fx, c, true);
	return 0;
}

static int load_pr(const struct store_pr *p, void *ctx)
{
	struct load_ctx *lc = ctx;
	struct state_target *t = model_target_find(&lc->s->model, p->target);
	struct state_lun *l = t != NULL ? model_lun_find(t, p->lun) : NULL;

	if (l == NULL) {
		return 0;	/* cannot happen: the row goes with its LUN */
	}
	/* A bad stored state must not stop the node: the LU starts empty. */
	if (pr_state_decode(p->snapshot, p->snapshot_len, &l->pr) < 0) {
		lc->rc = -EUCLEAN;
		return 0;
	}
	/* SPC-4 5.13.4: a whole-cluster restart is a power loss; only APTPL state survives. */
	pr_state_power_on(&l->pr);
	return 0;
}

static int load_portal(const struct store_portal *rec, void *ctx)
{
	struct load_ctx *lc = ctx;

	if (model_portal_insert(&lc->s->model, rec) == NULL) {
		return -ENOMEM;
	}
	fx_portal(lc->fx, rec, true);
	return 0;
}

int state_load(struct state *s, struct state_effects *fx)
{
	static const struct store_load_ops ops = {
		.target = load_target,
		.lun = load_lun,
		.acl = load_acl,
		.chap = load_chap,
		.pr = load_pr,
		.portal = load_portal,
	};
	struct load_ctx lc = { .s = s, .fx = fx };
	int rc;

	memset(fx, 0, sizeof(*fx));
	rc = store_load(s->store, &ops, &lc);
	if (rc == 0 && fx->oom != 0) {
		rc = fx->oom;
	}
	if (rc == 0 && lc.rc != 0) {
		snprintf(fx->err, sizeof(fx->err), "a stored reservation state was unreadable "
			 "and dropped");
	}
	fx->seq = store_applied_seq(s->store);
	return rc;
}

/* ---- delivery ----------------------------------------------------------------- */

static struct state_pending *pending_take(struct state *s, uint64_t request_id)
{
	struct state_pending **pp, *p;

	for (pp = &s->pending; *pp != NULL && (*pp)->request_id != request_id;
	     pp = &(*pp)->next) {
	}
	p = *pp;
	if (p != NULL) {
		*pp = p->next;
		p->next = NULL;
	}
	return p;
}

/* Commit @a's mutation (or, when @vrc < 0 or it stores nothing, only its sequence). */
static int deliver_commit(struct state_apply *a, const struct state_kind *k, int vrc)
{
	struct store_op *op = NULL;
	uint8_t *blob = NULL;
	int rc = 0;

	if (vrc == 0 && !a->store_nothing) {
		op = calloc(1, sizeof(*op));
		rc = op != NULL ? k->commit(a, op, &blob) : -ENOMEM;
	}
	if (rc == 0) {
		rc = store_commit(a->s->store, a->seq, op);
	}
	if (op != NULL) {
		explicit_bzero(op, sizeof(*op));	/* a CHAP record carries secrets */
	}
	free(op);
	free(blob);
	return rc;
}

void state_deliver(struct state *s, uint64_t seq, uint32_t origin, bool mine, const void *msg,
		   size_t len, struct state_effects *fx)
{
	struct mutation *m = malloc(sizeof(*m));
	struct state_apply a = { .s = s, .seq = seq, .origin = origin, .fx = fx };
	const struct state_kind *k;
	int rc, vrc;

	memset(fx, 0, sizeof(*fx));
	fx->seq = seq;
	if (m == NULL) {
		fx->rc = -ENOMEM;
		snprintf(fx->err, sizeof(fx->err), "out of memory: mutation not applied");
		return;
	}
	pr_state_init(&a.next, 0);
	pr_op_init(&a.op);
	a.m = m;
	rc = mutation_decode(msg, len, m);
	if (rc < 0) {
		fx->rc = rc;
		snprintf(fx->err, sizeof(fx->err), "malformed mutation (%s)", strerror(-rc));
		rc = store_commit(s->store, seq, NULL);
		goto out;
	}
	fx->kind = m->kind;
	if (mine) {
		fx->pending = pending_take(s, m->request_id);
	}
	k = &state_kinds[m->kind];
	vrc = k->validate(&a, fx->err, sizeof(fx->err));
	if (vrc == -ENOMEM) {
		fx->rc = vrc;
		goto out;
	}
	rc = deliver_commit(&a, k, vrc);
	if (rc < 0) {
		if (vrc == 0) {
			vrc = rc;
			snprintf(fx->err, sizeof(fx->err), "database commit failed: %s (%s)",
				 store_errmsg(s->store), strerror(-rc));
			if (fx->has_pr) {
				/* Not on disk, so not in force: the model keeps its state. */
				fx->pr_res.status = PR_STATUS_CHECK_CONDITION;
				fx->pr_res.sense_key = 0x04;	/* HARDWARE ERROR */
				fx->pr_res.asc = 0x4400;	/* INTERNAL TARGET FAILURE */
				fx->pr_res.sks_valid = false;
				fx->pr_res.n_ua = 0;
				fx->pr_res.n_abort = 0;
			}
		}
	} else if (vrc == 0) {
		k->update(&a);
	}
	fx->rc = vrc;
	if (vrc == 0) {
		fx->err[0] = '\0';
	}
out:
	if (rc < 0 && fx->rc == 0) {
		fx->rc = rc;
	}
	pr_op_fini(&a.op);
	pr_state_fini(&a.next);
	explicit_bzero(m, sizeof(*m));	/* a CHAP mutation carries secrets */
	free(m);
}

/* ---- propose ----------------------------------------------------------------- */

int state_propose(struct state *s, struct mutation *m, struct state_pending *p)
{
	size_t cap = mutation_encoded_max(m), len = 0;
	uint8_t *buf;
	int rc;

	if (s->cluster == NULL) {
		return -ESHUTDOWN;
	}
	if (m->pr_op != NULL && (m->pr_op_len == 0 || m->pr_op_len > MUTATION_PR_OP_MAX)) {
		return -EMSGSIZE;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		return -ENOMEM;
	}
	m->request_id = ++s->next_request_id;
	rc = mutation_encode(m, buf, cap, &len);
	if (rc == 0) {
		rc = cluster_propose(s->cluster, buf, len);
	}
	/* Delivery never runs inside cluster_propose(): linking now is safe. */
	if (rc == 0 && p != NULL) {
		p->request_id = m->request_id;
		p->next = s->pending;
		s->pending = p;
	}
	explicit_bzero(buf, cap);
	free(buf);
	return rc;
}

void state_pending_cancel(struct state *s, bool (*match)(struct state_pending *p, void *ctx),
			  void *ctx, const char *why)
{
	struct state_pending **pp = &s->pending;
	const struct state_outcome o = { .rc = -ECANCELED, .err = why };

	while (*pp != NULL) {
		struct state_pending *p = *pp;

		if (!match(p, ctx)) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		p->next = NULL;
		p->done(p, &o);
	}
}
