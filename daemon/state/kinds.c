/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The table of mutation kinds: for each, its wire fields, its validation
 * against the model, the store operation its commit writes and the model
 * update with the effects it returns. state_deliver() (state.c) runs the
 * columns in that order; adding a kind is adding a row.
 *
 * Reservation kinds (RESERVATION, LU_RESET) carry a PR operation, not its
 * result: validation applies it to a copy of the LU's PR state; the engine's
 * outcome (status, sense, unit attentions, aborts) is the command's answer
 * whether or not the state changed, and only a changed state is stored.
 * PR_CLEAR carries no operation: it is the administrator's clear of one LU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state/state_int.h"

/* SPC-4 sense for outcomes decided here rather than by the engine. */
#define PR_SENSE_HARDWARE_ERROR 0x04
#define PR_ASC_LUN_NOT_SUPPORTED 0x2500
#define PR_ASC_INTERNAL_TARGET_FAILURE 0x4400

/* ---- targets ------------------------------------------------------------- */

static void target_add_encode(struct wcur *w, const struct mutation *m)
{
	w_str(w, m->u.target.name, STORE_NAME_MAX);
	w_str(w, m->u.target.alias, STORE_ALIAS_MAX);
}

static void target_add_decode(struct rcur *r, struct mutation *m)
{
	r_str(r, m->u.target.name, STORE_NAME_MAX);
	r_str(r, m->u.target.alias, STORE_ALIAS_MAX);
}

static int target_add_validate(struct state_apply *a, char *err, size_t errlen)
{
	return validate_target(a->s, &a->s->model, &a->m->u.target, err, errlen);
}

static int target_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	(void)blob;
	op->kind = (enum store_op_kind)a->m->kind;
	op->u.target = a->m->u.target;
	return 0;
}

static void target_add_update(struct state_apply *a)
{
	struct state_target *t = model_target_insert(&a->s->model, &a->m->u.target);

	if (t == NULL) {
		a->fx->oom = -ENOMEM;
		return;
	}
	fx_record(a->fx, STATE_FX_TARGET_CREATED, t, NULL, NULL);
}

static void target_name_encode(struct wcur *w, const struct mutation *m)
{
	w_str(w, m->u.target.name, STORE_NAME_MAX);
}

static void target_name_decode(struct rcur *r, struct mutation *m)
{
	r_str(r, m->u.target.name, STORE_NAME_MAX);
}

static int target_del_validate(struct state_apply *a, char *err, size_t errlen)
{
	if (model_target_find(&a->s->model, a->m->u.target.name) == NULL) {
		snprintf(err, errlen, "no target '%s'", a->m->u.target.name);
		return -ENOENT;
	}
	return 0;
}

static int target_set_validate(struct state_apply *a, char *err, size_t errlen)
{
	a->t = model_target_find(&a->s->model, a->m->u.target.name);
	if (a->t == NULL) {
		snprintf(err, errlen, "no target '%s'", a->m->u.target.name);
		return -ENOENT;
	}
	return validate_alias(a->m->u.target.alias, err, errlen);
}

static int target_set_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	(void)blob;
	op->kind = STORE_OP_TARGET_SET;
	op->u.target = a->m->u.target;
	return 0;
}

static void target_set_update(struct state_apply *a)
{
	memcpy(a->t->rec.alias, a->m->u.target.alias, sizeof(a->t->rec.alias));
	fx_record(a->fx, STATE_FX_TARGET_CHANGED, a->t, NULL, NULL);
}

/* Record the end of CHAP record @c (unlinked) as an effect. */
static void chap_cleared(struct state_effects *fx, struct state_chap *c)
{
	fx_chap(fx, c, false);
	fx_dead_chap(fx, c);
}

static void target_del_update(struct state_apply *a)
{
	struct state_model *md = &a->s->model;
	struct state_chap *c = model_chap_unlink(md, a->m->u.target.name);
	struct state_target *t = model_target_unlink(md, a->m->u.target.name);

	if (c != NULL) {
		chap_cleared(a->fx, c);
	}
	if (t == NULL) {
		return;
	}
	fx_record(a->fx, STATE_FX_TARGET_DESTROYED, t, NULL, NULL);
	fx_dead_target(a->fx, t);
}

/* ---- LUNs ------------------------------------------------------------------ */

static void lun_add_encode(struct wcur *w, const struct mutation *m)
{
	w_str(w, m->u.lun.target, STORE_NAME_MAX);
	wire_lun_encode(w, &m->u.lun);
}

static void lun_add_decode(struct rcur *r, struct mutation *m)
{
	r_str(r, m->u.lun.target, STORE_NAME_MAX);
	wire_lun_decode(r, &m->u.lun);
}

static int lun_add_validate(struct state_apply *a, char *err, size_t errlen)
{
	return validate_lun(a->s, &a->s->model, &a->m->u.lun, err, errlen);
}

static int lun_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	(void)blob;
	op->kind = (enum store_op_kind)a->m->kind;
	op->u.lun = a->m->u.lun;
	return 0;
}

static void lun_add_update(struct state_apply *a)
{
	struct state_target *t = model_target_find(&a->s->model, a->m->u.lun.target);
	struct state_lun *l = t != NULL ? model_lun_insert(t, &a->m->u.lun) : NULL;

	if (l == NULL) {
		a->fx->oom = -ENOMEM;
		return;
	}
	fx_record(a->fx, STATE_FX_LUN_ADDED, t, l, NULL);
}

static void lun_ref_encode(struct wcur *w, const struct mutation *m)
{
	w_str(w, m->u.lun.target, STORE_NAME_MAX);
	w_uint(w, m->u.lun.lun, 2);
}

static void lun_ref_decode(struct rcur *r, struct mutation *m)
{
	r_str(r, m->u.lun.target, STORE_NAME_MAX);
	m->u.lun.lun = (uint16_t)r_uint(r, 2);
}

static int lun_find(struct state_apply *a, const char *target, uint16_t lun, char *err,
		    size_t errlen)
{
	a->t = model_target_find(&a->s->model, target);
	if (a->t == NULL) {
		snprintf(err, errlen, "no target '%s'", target);
		return -ENOENT;
	}
	a->l = model_lun_find(a->t, lun);
	if (a->l == NULL) {
		snprintf(err, errlen, "target '%s' has no LUN %u", target, lun);
		return -ENOENT;
	}
	return 0;
}

static int lun_ref_validate(struct state_apply *a, char *err, size_t errlen)
{
	return lun_find(a, a->m->u.lun.target, a->m->u.lun.lun, err, errlen);
}

static void lun_del_update(struct state_apply *a)
{
	struct state_lun *l = model_lun_unlink(a->t, a->m->u.lun.lun);

	if (l != NULL) {
		fx_record(a->fx, STATE_FX_LUN_REMOVED, a->t, l, NULL);
		fx_dead_lun(a->fx, l);
	}
}

static void lun_offline_encode(struct wcur *w, const struct mutation *m)
{
	lun_ref_encode(w, m);
	w_uint(w, m->u.lun.offline, 1);
}

static void lun_offline_decode(struct rcur *r, struct mutation *m)
{
	uint64_t v;

	lun_ref_decode(r, m);
	v = r_uint(r, 1);
	if (r->err == 0 && v > 1) {
		r->err = -EBADMSG;
	}
	m->u.lun.offline = v != 0;
}

/*
 * The store operations that change one field of a LUN read the LU and that
 * field of the mutation's record; the rest of it is zero.
 */
static int lun_offline_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	(void)blob;
	op->kind = STORE_OP_LUN_OFFLINE;
	op->u.lun = a->m->u.lun;
	return 0;
}

/* Also when the flag does not change: 'lun online' re-opens a LU that failed to. */
static void lun_offline_update(struct state_apply *a)
{
	a->l->rec.offline = a->m->u.lun.offline;
	fx_record(a->fx, STATE_FX_LUN_STATE, a->t, a->l, NULL);
}

static void lun_resize_encode(struct wcur *w, const struct mutation *m)
{
	lun_ref_encode(w, m);
	w_uint(w, m->u.lun.size_bytes, 8);
}

static void lun_resize_decode(struct rcur *r, struct mutation *m)
{
	lun_ref_decode(r, m);
	m->u.lun.size_bytes = r_uint(r, 8);
}

/* Growing or shrinking is the proposer's decision (--force); any whole number of blocks. */
static int lun_resize_validate(struct state_apply *a, char *err, size_t errlen)
{
	uint64_t size = a->m->u.lun.size_bytes;
	int rc = lun_find(a, a->m->u.lun.target, a->m->u.lun.lun, err, errlen);

	if (rc < 0) {
		return rc;
	}
	if (size == 0 || size % a->l->rec.block_size != 0 || size > INT64_MAX) {
		snprintf(err, errlen, "size %llu is not a positive multiple of the block size %u",
			 (unsigned long long)size, a->l->rec.block_size);
		return -EINVAL;
	}
	return 0;
}

static int lun_resize_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	(void)blob;
	op->kind = STORE_OP_LUN_RESIZE;
	op->u.lun = a->m->u.lun;
	return 0;
}

static void lun_resize_update(struct state_apply *a)
{
	a->l->rec.size_bytes = a->m->u.lun.size_bytes;
	fx_record(a->fx, STATE_FX_LUN_CHANGED, a->t, a->l, NULL);
}

/* Names a field, sets values only of named fields, and an alias only when named. */
static bool lun_set_wellformed(unsigned int fields, unsigned int values, const char *alias)
{
	return fields != 0 && (fields & ~MUTATION_SET_ALL) == 0 && (values & ~fields) == 0 &&
	       ((fields & MUTATION_SET_ALIAS) || alias[0] == '\0');
}

static void lun_set_encode(struct wcur *w, const struct mutation *m)
{
	uint8_t values = (m->u.lun.read_only ? MUTATION_SET_READ_ONLY : 0) |
			 (m->u.lun.write_cache ? MUTATION_SET_WRITE_CACHE : 0);

	if (!lun_set_wellformed(m->set_fields, values, m->u.lun.alias)) {
		w->err = -EINVAL;
		return;
	}
	lun_ref_encode(w, m);
	w_uint(w, m->set_fields, 1);
	w_uint(w, values, 1);
	w_str(w, m->u.lun.alias, STORE_ALIAS_MAX);
}

static void lun_set_decode(struct rcur *r, struct mutation *m)
{
	unsigned int fields, values;

	lun_ref_decode(r, m);
	fields = (unsigned int)r_uint(r, 1);
	values = (unsigned int)r_uint(r, 1);
	r_str(r, m->u.lun.alias, STORE_ALIAS_MAX);
	if (r->err == 0 && !lun_set_wellformed(fields, values, m->u.lun.alias)) {
		r->err = -EBADMSG;
	}
	m->set_fields = (uint8_t)fields;
	m->u.lun.read_only = (values & MUTATION_SET_READ_ONLY) != 0;
	m->u.lun.write_cache = (values & MUTATION_SET_WRITE_CACHE) != 0;
}

static int lun_set_validate(struct state_apply *a, char *err, size_t errlen)
{
	int rc = lun_find(a, a->m->u.lun.target, a->m->u.lun.lun, err, errlen);

	if (rc == 0 && (a->m->set_fields & MUTATION_SET_ALIAS)) {
		rc = validate_alias(a->m->u.lun.alias, err, errlen);
	}
	return rc;
}

/* The LUN's record with the mutation's fields applied (into *@out). */
static void lun_set_merge(const struct state_apply *a, struct store_lun *out)
{
	const struct mutation *m = a->m;

	*out = a->l->rec;
	if (m->set_fields & MUTATION_SET_ALIAS) {
		snprintf(out->alias, sizeof(out->alias), "%s", m->u.lun.alias);
	}
	if (m->set_fields & MUTATION_SET_READ_ONLY) {
		out->read_only = m->u.lun.read_only;
	}
	if (m->set_fields & MUTATION_SET_WRITE_CACHE) {
		out->write_cache = m->u.lun.write_cache;
	}
}

static int lun_set_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	(void)blob;
	op->kind = STORE_OP_LUN_SET;
	lun_set_merge(a, &op->u.lun);
	return 0;
}

static void lun_set_update(struct state_apply *a)
{
	lun_set_merge(a, &a->l->rec);
	fx_record(a->fx, STATE_FX_LUN_CHANGED, a->t, a->l, NULL);
}

/* ---- ACLs ------------------------------------------------------------------ */

static void acl_encode(struct wcur *w, const struct mutation *m)
{
	w_str(w, m->u.acl.target, STORE_NAME_MAX);
	w_str(w, m->u.acl.initiator, STORE_NAME_MAX);
}

static void acl_decode(struct rcur *r, struct mutation *m)
{
	r_str(r, m->u.acl.target, STORE_NAME_MAX);
	r_str(r, m->u.acl.initiator, STORE_NAME_MAX);
}

static int acl_add_validate(struct state_apply *a, char *err, size_t errlen)
{
	return validate_acl(a->s, &a->s->model, &a->m->u.acl, true, err, errlen);
}

static int acl_del_validate(struct state_apply *a, char *err, size_t errlen)
{
	return validate_acl(a->s, &a->s->model, &a->m->u.acl, false, err, errlen);
}

static int acl_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	(void)blob;
	op->kind = (enum store_op_kind)a->m->kind;
	op->u.acl = a->m->u.acl;
	return 0;
}

static void acl_add_update(struct state_apply *a)
{
	struct state_target *t = model_target_find(&a->s->model, a->m->u.acl.target);

	if (t == NULL || model_acl_insert(t, a->m->u.acl.initiator) == NULL) {
		a->fx->oom = -ENOMEM;
		return;
	}
	fx_record(a->fx, STATE_FX_ACL_ADDED, t, NULL, a->m->u.acl.initiator);
}

static void acl_del_update(struct state_apply *a)
{
	struct state_target *t = model_target_find(&a->s->model, a->m->u.acl.target);

	if (t == NULL) {
		return;
	}
	free(model_acl_unlink(t, a->m->u.acl.initiator));
	fx_record(a->fx, STATE_FX_ACL_REMOVED, t, NULL, a->m->u.acl.initiator);
}

/* ---- CHAP ------------------------------------------------------------------ */

static void chap_set_encode(struct wcur *w, const struct mutation *m)
{
	wire_chap_encode(w, &m->u.chap);
}

static void chap_set_decode(struct rcur *r, struct mutation *m)
{
	wire_chap_decode(r, &m->u.chap);
}

static int chap_set_validate(struct state_apply *a, char *err, size_t errlen)
{
	return validate_chap(&a->s->model, &a->m->u.chap, err, errlen);
}

static int chap_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	(void)blob;
	op->kind = (enum store_op_kind)a->m->kind;
	op->u.chap = a->m->u.chap;
	return 0;
}

static void chap_set_update(struct state_apply *a)
{
	struct state_chap *c = model_chap_set(&a->s->model, &a->m->u.chap);

	if (c == NULL) {
		a->fx->oom = -ENOMEM;
		return;
	}
	fx_chap(a->fx, c, true);
}

static void chap_clear_encode(struct wcur *w, const struct mutation *m)
{
	w_str(w, m->u.chap.target, STORE_NAME_MAX);
}

static void chap_clear_decode(struct rcur *r, struct mutation *m)
{
	r_str(r, m->u.chap.target, STORE_NAME_MAX);
}

static int chap_clear_validate(struct state_apply *a, char *err, size_t errlen)
{
	const char *target = a->m->u.chap.target;

	if (model_chap_find(&a->s->model, target) == NULL) {
		snprintf(err, errlen, "no CHAP credentials for %s%s%s", target[0] ? "'" : "discovery",
			 target, target[0] ? "'" : "");
		return -ENOENT;
	}
	return 0;
}

static void chap_clear_update(struct state_apply *a)
{
	struct state_chap *c = model_chap_unlink(&a->s->model, a->m->u.chap.target);

	if (c != NULL) {
		chap_cleared(a->fx, c);
	}
}

/* ---- reservations and LU reset ------------------------------------------- */

static void lu_encode(struct wcur *w, const struct mutation *m)
{
	w_str(w, m->u.lu.target, STORE_NAME_MAX);
	w_uint(w, m->u.lu.lun, 2);
}

static void lu_decode(struct rcur *r, struct mutation *m)
{
	r_str(r, m->u.lu.target, STORE_NAME_MAX);
	m->u.lu.lun = (uint16_t)r_uint(r, 2);
}

static void pr_encode(struct wcur *w, const struct mutation *m)
{
	if (m->pr_op == NULL || m->pr_op_len == 0 || m->pr_op_len > MUTATION_PR_OP_MAX) {
		w->err = -EINVAL;
		return;
	}
	lu_encode(w, m);
	w_uint(w, m->pr_op_len, 4);
	w_bytes(w, m->pr_op, m->pr_op_len);
}

static void pr_decode(struct rcur *r, struct mutation *m)
{
	lu_decode(r, m);
	m->pr_op_len = (size_t)r_uint(r, 4);
	if (r->err == 0 && (m->pr_op_len == 0 || m->pr_op_len > MUTATION_PR_OP_MAX)) {
		r->err = -EBADMSG;
	}
	m->pr_op = r_bytes(r, m->pr_op_len);
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

/* The LU a PR kind addresses; the engine's outcome is the answer from here on. */
static int pr_lu_find(struct state_apply *a, char *err, size_t errlen)
{
	struct pr_result *res = &a->fx->pr_res;
	int rc;

	pr_result_init(res);
	a->fx->has_pr = true;
	rc = lun_find(a, a->m->u.lu.target, a->m->u.lu.lun, err, errlen);
	if (rc < 0) {
		/* The LUN went away between propose and delivery. */
		pr_result_fail(res, PR_SENSE_ILLEGAL_REQUEST, PR_ASC_LUN_NOT_SUPPORTED);
	}
	return rc;
}

static int pr_validate(struct state_apply *a, char *err, size_t errlen)
{
	struct pr_result *res = &a->fx->pr_res;
	int rc;

	rc = pr_lu_find(a, err, errlen);
	if (rc < 0) {
		return rc;
	}
	rc = pr_op_decode(a->m->pr_op, a->m->pr_op_len, &a->op);
	if (rc == 0 && a->m->kind == MUTATION_LU_RESET && a->op.kind != PR_OP_SPC2_RESET) {
		rc = -EINVAL;
	}
	if (rc == 0) {
		rc = pr_state_copy(&a->next, &a->l->pr);
	}
	if (rc == 0) {
		rc = pr_apply(&a->next, &a->op, res);
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", rc == -EINVAL ? "malformed reservation operation"
							  : "out of memory");
		pr_result_fail(res, PR_SENSE_HARDWARE_ERROR, PR_ASC_INTERNAL_TARGET_FAILURE);
		return rc;
	}
	/* A refused or no-op PR command is still an answer: only the sequence is stored. */
	a->store_nothing = res->status != PR_STATUS_GOOD || !res->changed;
	return 0;
}

static int pr_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	size_t len = pr_state_encoded_size(&a->next);
	int rc;

	*blob = malloc(len);
	if (*blob == NULL) {
		return -ENOMEM;
	}
	rc = pr_state_encode(&a->next, *blob, len);
	if (rc < 0) {
		return rc;
	}
	op->kind = STORE_OP_PR_SET;
	snprintf(op->u.pr.target, sizeof(op->u.pr.target), "%s", a->m->u.lu.target);
	op->u.pr.lun = a->m->u.lu.lun;
	op->u.pr.aptpl = a->next.aptpl;
	/* Neither the old nor the new state survives a power loss (no APTPL). */
	op->power_loss_drops = !a->next.aptpl && !a->l->pr.aptpl;
	op->u.pr.snapshot = *blob;
	op->u.pr.snapshot_len = (size_t)rc;
	return 0;
}

static void pr_update(struct state_apply *a)
{
	struct state_effect *e;

	if (a->store_nothing) {
		return;
	}
	/* The online LU holds &l->pr: swap contents, the address stays. */
	pr_state_fini(&a->l->pr);
	a->l->pr = a->next;
	pr_state_init(&a->next, 0);
	e = fx_record(a->fx, STATE_FX_PR, a->t, a->l, NULL);
	if (e != NULL) {
		e->pr = &a->fx->pr_res;
	}
}

static void lu_reset_update(struct state_apply *a)
{
	struct state_effect *e;

	pr_update(a);
	e = fx_record(a->fx, STATE_FX_LU_RESET, a->t, a->l, NULL);
	if (e != NULL) {
		e->origin = a->origin;
	}
}

/* ---- the administrator's clear ------------------------------------------- */

/*
 * PR_CLEAR: the engine's administrative clear on a copy, stored and raised
 * like a RESERVATION's outcome (pr_commit, pr_update), so every node tells
 * its own nexuses of the registrants.
 */
static int pr_clear_validate(struct state_apply *a, char *err, size_t errlen)
{
	struct pr_result *res = &a->fx->pr_res;
	int rc;

	rc = pr_lu_find(a, err, errlen);
	if (rc < 0) {
		return rc;
	}
	rc = pr_state_copy(&a->next, &a->l->pr);
	if (rc == 0) {
		rc = pr_admin_clear(&a->next, res);
	}
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		pr_result_fail(res, PR_SENSE_HARDWARE_ERROR, PR_ASC_INTERNAL_TARGET_FAILURE);
	}
	return rc;
}

/* ---- run-time portals -------------------------------------------------------- */

static void portal_encode(struct wcur *w, const struct mutation *m)
{
	w_uint(w, m->u.portal.rec.node, 4);
	w_str(w, m->u.portal.rec.address, STORE_PORTAL_MAX);
	w_uint(w, m->u.portal.add ? 1 : 0, 1);
}

static void portal_decode(struct rcur *r, struct mutation *m)
{
	uint64_t add;

	m->u.portal.rec.node = (uint32_t)r_uint(r, 4);
	r_str(r, m->u.portal.rec.address, STORE_PORTAL_MAX);
	add = r_uint(r, 1);
	if (r->err == 0 && add > 1) {
		r->err = -EBADMSG;
	}
	m->u.portal.add = add != 0;
}

/* Whether the node can listen on it is that node's matter: apply decides on the model only. */
static int portal_validate(struct state_apply *a, char *err, size_t errlen)
{
	return validate_portal(&a->s->model, &a->m->u.portal.rec, a->m->u.portal.add, err, errlen);
}

static int portal_commit(struct state_apply *a, struct store_op *op, uint8_t **blob)
{
	(void)blob;
	op->kind = a->m->u.portal.add ? STORE_OP_PORTAL_ADD : STORE_OP_PORTAL_DEL;
	op->u.portal = a->m->u.portal.rec;
	return 0;
}

static void portal_update(struct state_apply *a)
{
	const struct store_portal *rec = &a->m->u.portal.rec;

	if (a->m->u.portal.add) {
		if (model_portal_insert(&a->s->model, rec) == NULL) {
			a->fx->oom = -ENOMEM;
			return;
		}
	} else {
		free(model_portal_unlink(&a->s->model, rec->node, rec->address));
	}
	fx_portal(a->fx, rec, a->m->u.portal.add);
}

/* ---- the table ------------------------------------------------------------- */

const struct state_kind state_kinds[MUTATION_KIND_COUNT] = {
	[MUTATION_TARGET_ADD] = { "target-create", target_add_encode, target_add_decode,
				  target_add_validate, target_commit, target_add_update },
	[MUTATION_TARGET_DEL] = { "target-delete", target_name_encode, target_name_decode,
				  target_del_validate, target_commit, target_del_update },
	[MUTATION_LUN_ADD] = { "lun-create", lun_add_encode, lun_add_decode, lun_add_validate,
			       lun_commit, lun_add_update },
	[MUTATION_LUN_DEL] = { "lun-delete", lun_ref_encode, lun_ref_decode, lun_ref_validate,
			       lun_commit, lun_del_update },
	[MUTATION_ACL_ADD] = { "acl-add", acl_encode, acl_decode, acl_add_validate, acl_commit,
			       acl_add_update },
	[MUTATION_ACL_DEL] = { "acl-remove", acl_encode, acl_decode, acl_del_validate,
			       acl_commit, acl_del_update },
	[MUTATION_CHAP_SET] = { "chap-set", chap_set_encode, chap_set_decode, chap_set_validate,
				chap_commit, chap_set_update },
	[MUTATION_CHAP_CLEAR] = { "chap-clear", chap_clear_encode, chap_clear_decode,
				  chap_clear_validate, chap_commit, chap_clear_update },
	[MUTATION_RESERVATION] = { "reservation", pr_encode, pr_decode, pr_validate, pr_commit,
				   pr_update },
	[MUTATION_LU_RESET] = { "lu-reset", pr_encode, pr_decode, pr_validate, pr_commit,
				lu_reset_update },
	[MUTATION_PR_CLEAR] = { "pr-clear", lu_encode, lu_decode, pr_clear_validate, pr_commit,
				pr_update },
	[MUTATION_LUN_OFFLINE] = { "lun-offline", lun_offline_encode, lun_offline_decode,
				   lun_ref_validate, lun_offline_commit, lun_offline_update },
	[MUTATION_LUN_RESIZE] = { "lun-resize", lun_resize_encode, lun_resize_decode,
				  lun_resize_validate, lun_resize_commit, lun_resize_update },
	[MUTATION_LUN_SET] = { "lun-set", lun_set_encode, lun_set_decode, lun_set_validate,
			       lun_set_commit, lun_set_update },
	[MUTATION_TARGET_SET] = { "target-set", target_add_encode, target_add_decode,
				  target_set_validate, target_set_commit, target_set_update },
	[MUTATION_PORTAL] = { "portal", portal_encode, portal_decode, portal_validate,
			      portal_commit, portal_update },
};

