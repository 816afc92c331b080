/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Canonical snapshots of the replicated state, their digest, and install
 * with reconciliation.
 *
 * Format, version 1 (STATE_SNAPSHOT_VERSION), big-endian, strings as in
 * mutation.h (u16 length + bytes):
 *   "QSNP"  u16 version  u16 reserved (0)  u64 epoch  u64 applied sequence
 *   u32 targets, ascending by name; each:
 *       name, alias,
 *       u32 LUNs, ascending by number; each: u16 lun, uuid[16], naa[16],
 *           serial, backing, path, u64 size, u32 block size, u8 flags,
 *           alias (only with MUTATION_LUN_F_ALIAS in the flags),
 *           u32 length + the LU's PR and SPC-2 state (pr_state_encode)
 *       u32 ACL entries, ascending; each: initiator
 *   u32 CHAP records, ascending by target ("" = discovery); each:
 *       target, user, secret, mutual user, mutual secret
 *   u32 run-time portals, ascending by node id, then address; each:
 *       u32 node id, address
 * The model is kept sorted, so equal states encode to equal bytes, and the
 * digest (SHA-256 of these bytes) compares states across nodes. Install
 * requires the same order and re-validates every record as apply would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "daemon/state/state_int.h"

#define SNAPSHOT_MAGIC 0x51534e50u	/* "QSNP" */
#define SNAPSHOT_HEADER_LEN 24
#define SNAPSHOT_INITIAL_CAP (64 * 1024)

static void encode_lun(struct wcur *w, const struct state_lun *l)
{
	size_t len = pr_state_encoded_size(&l->pr);
	uint8_t *pr = malloc(len);
	int rc;

	if (pr == NULL) {
		w->err = w->err != 0 ? w->err : -ENOMEM;
		return;
	}
	wire_lun_encode(w, &l->rec);
	rc = pr_state_encode(&l->pr, pr, len);
	if (rc < 0) {
		w->err = w->err != 0 ? w->err : rc;
	} else {
		w_uint(w, (uint64_t)rc, 4);
		w_bytes(w, pr, (size_t)rc);
	}
	free(pr);
}

static void encode_model(struct wcur *w, const struct state *s)
{
	const struct state_model *md = &s->model;
	uint32_t n = 0;

	w_uint(w, SNAPSHOT_MAGIC, 4);
	w_uint(w, STATE_SNAPSHOT_VERSION, 2);
	w_uint(w, 0, 2);
	w_uint(w, s->epoch, 8);
	w_uint(w, store_applied_seq(s->store), 8);
	for (const struct state_target *t = md->targets; t != NULL; t = t->next) {
		n++;
	}
	w_uint(w, n, 4);
	for (const struct state_target *t = md->targets; t != NULL; t = t->next) {
		w_str(w, t->rec.name, STORE_NAME_MAX);
		w_str(w, t->rec.alias, STORE_ALIAS_MAX);
		w_uint(w, state_lun_count(t), 4);
		for (const struct state_lun *l = t->luns; l != NULL; l = l->next) {
			encode_lun(w, l);
		}
		w_uint(w, state_acl_count(t), 4);
		for (const struct state_acl *a = t->acls; a != NULL; a = a->next) {
			w_str(w, a->initiator, STORE_NAME_MAX);
		}
	}
	n = 0;
	for (const struct state_chap *c = md->chaps; c != NULL; c = c->next) {
		n++;
	}
	w_uint(w, n, 4);
	for (const struct state_chap *c = md->chaps; c != NULL; c = c->next) {
		wire_chap_encode(w, &c->rec);
	}
	n = 0;
	for (const struct state_portal *p = md->portals; p != NULL; p = p->next) {
		n++;
	}
	w_uint(w, n, 4);
	for (const struct state_portal *p = md->portals; p != NULL; p = p->next) {
		w_uint(w, p->rec.node, 4);
		w_str(w, p->rec.address, STORE_PORTAL_MAX);
	}
}

int state_snapshot_encode(const struct state *s, uint8_t **buf, size_t *len)
{
	size_t cap = SNAPSHOT_INITIAL_CAP;

	for (;;) {
		struct wcur w = { .p = malloc(cap), .cap = cap };

		if (w.p == NULL) {
			return -ENOMEM;
		}
		encode_model(&w, s);
		if (w.err == 0) {
			*buf = w.p;
			*len = w.off;
			return 0;
		}
		explicit_bzero(w.p, cap);
		free(w.p);
		if (w.err != -ENOSPC || cap > SIZE_MAX / 2) {
			return w.err;
		}
		cap *= 2;
	}
}

int state_digest(const struct state *s, uint8_t out[STATE_DIGEST_LEN])
{
	uint8_t *buf;
	size_t len;
	int rc = state_snapshot_encode(s, &buf, &len);

	if (rc < 0) {
		return rc;
	}
	SHA256(buf, len, out);
	explicit_bzero(buf, len);
	free(buf);
	return 0;
}

static int decode_header(struct rcur *r, uint64_t *seq, uint64_t *epoch)
{
	uint32_t magic = (uint32_t)r_uint(r, 4);
	unsigned int version = (unsigned int)r_uint(r, 2);

	if (r->err != 0 || magic != SNAPSHOT_MAGIC) {
		return -EBADMSG;
	}
	if (version != STATE_SNAPSHOT_VERSION) {
		return -EPROTO;
	}
	if (r_uint(r, 2) != 0) {
		return -EBADMSG;
	}
	*epoch = r_uint(r, 8);
	*seq = r_uint(r, 8);
	return r->err;
}

int state_snapshot_peek(const uint8_t *buf, size_t len, uint64_t *seq, uint64_t *epoch)
{
	struct rcur r = { .p = buf, .len = len };

	return decode_header(&r, seq, epoch);
}

/* ---- install: decode and validate into a new model --------------------------- */

static int decode_luns(struct rcur *r, const struct state *s, struct state_model *md,
		       struct state_target *t, char *err, size_t errlen)
{
	uint32_t n = (uint32_t)r_uint(r, 4);
	struct store_lun *rec = calloc(1, sizeof(*rec));
	int rc = 0, prev = -1;

	if (rec == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n && rc == 0 && r->err == 0; i++) {
		struct state_lun *l;
		const uint8_t *pr;
		size_t prlen;

		memset(rec, 0, sizeof(*rec));
		snprintf(rec->target, sizeof(rec->target), "%s", t->rec.name);
		wire_lun_decode(r, rec);
		prlen = (size_t)r_uint(r, 4);
		pr = r_bytes(r, prlen);
		if (r->err != 0) {
			break;
		}
		if ((int)rec->lun <= prev) {
			rc = -EBADMSG;	/* not canonical */
			break;
		}
		prev = rec->lun;
		rc = validate_lun(s, md, rec, err, errlen);
		if (rc < 0) {
			break;
		}
		l = model_lun_insert(t, rec);
		if (l == NULL) {
			rc = -ENOMEM;
			break;
		}
		rc = pr_state_decode(pr, prlen, &l->pr);
		if (rc < 0) {
			snprintf(err, errlen, "LUN %u: bad reservation state", rec->lun);
		}
	}
	free(rec);
	return rc != 0 ? rc : r->err;
}

static int decode_model(struct rcur *r, const struct state *s, struct state_model *md, char *err,
			size_t errlen)
{
	struct store_target *trec = calloc(1, sizeof(*trec));
	struct store_chap *crec = calloc(1, sizeof(*crec));
	struct state_target *last = NULL;
	uint32_t n;
	int rc = 0;

	if (trec == NULL || crec == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	n = (uint32_t)r_uint(r, 4);
	for (uint32_t i = 0; i < n && rc == 0 && r->err == 0; i++) {
		struct state_target *t;
		uint32_t nacl;

		memset(trec, 0, sizeof(*trec));
		r_str(r, trec->name, STORE_NAME_MAX);
		r_str(r, trec->alias, STORE_ALIAS_MAX);
		if (r->err != 0) {
			break;
		}
		if (last != NULL && strcmp(last->rec.name, trec->name) >= 0) {
			rc = -EBADMSG;
			break;
		}
		rc = validate_target(s, md, trec, err, errlen);
		if (rc < 0) {
			break;
		}
		t = model_target_insert(md, trec);
		if (t == NULL) {
			rc = -ENOMEM;
			break;
		}
		last = t;
		rc = decode_luns(r, s, md, t, err, errlen);
		nacl = (uint32_t)r_uint(r, 4);
		for (uint32_t j = 0; j < nacl && rc == 0 && r->err == 0; j++) {
			struct store_acl acl;

			snprintf(acl.target, sizeof(acl.target), "%s", t->rec.name);
			r_str(r, acl.initiator, STORE_NAME_MAX);
			if (r->err != 0) {
				break;
			}
			/* Ascending: the new entry must sort after every one present. */
			for (struct state_acl *a = t->acls; a != NULL; a = a->next) {
				if (strcmp(a->initiator, acl.initiator) >= 0) {
					rc = -EBADMSG;
				}
			}
			if (rc == 0) {
				rc = validate_acl(s, md, &acl, true, err, errlen);
			}
			if (rc == 0 && model_acl_insert(t, acl.initiator) == NULL) {
				rc = -ENOMEM;
			}
		}
	}
	n = rc == 0 ? (uint32_t)r_uint(r, 4) : 0;
	for (uint32_t i = 0; i < n && rc == 0 && r->err == 0; i++) {
		memset(crec, 0, sizeof(*crec));
		wire_chap_decode(r, crec);
		if (r->err != 0) {
			break;
		}
		for (struct state_chap *c = md->chaps; c != NULL; c = c->next) {
			if (strcmp(c->rec.target, crec->target) >= 0) {
				rc = -EBADMSG;
			}
		}
		if (rc == 0) {
			rc = validate_chap(md, crec, err, errlen);
		}
		if (rc == 0 && model_chap_set(md, crec) == NULL) {
			rc = -ENOMEM;
		}
	}
	n = rc == 0 ? (uint32_t)r_uint(r, 4) : 0;
	for (uint32_t i = 0; i < n && rc == 0 && r->err == 0; i++) {
		struct store_portal prec = { 0 };
		const struct state_portal *prev = md->portals;

		prec.node = (uint32_t)r_uint(r, 4);
		r_str(r, prec.address, STORE_PORTAL_MAX);
		if (r->err != 0) {
			break;
		}
		while (prev != NULL && prev->next != NULL) {
			prev = prev->next;
		}
		/* Ascending: the new entry must sort after the last one. */
		if (prev != NULL && (prev->rec.node > prec.node ||
				     (prev->rec.node == prec.node &&
				      strcmp(prev->rec.address, prec.address) >= 0))) {
			rc = -EBADMSG;
			break;
		}
		rc = validate_portal(md, &prec, true, err, errlen);
		if (rc == 0 && model_portal_insert(md, &prec) == NULL) {
			rc = -ENOMEM;
		}
	}
	if (rc == 0 && r->err == 0 && r->off != r->len) {
		rc = -EBADMSG;	/* trailing bytes */
	}
out:
	if (crec != NULL) {
		explicit_bzero(crec, sizeof(*crec));
	}
	free(crec);
	free(trec);
	return rc != 0 ? rc : r->err;
}

/* ---- install: the store ------------------------------------------------------- */

/* Walks a model in store order: each target, then its LUNs, ACLs and PR states; then CHAP. */
struct replace_ctx {
	const struct state_model *md;
	const struct state_target *t;
	const struct state_lun *l;
	const struct state_acl *a;
	const struct state_lun *p;
	const struct state_chap *c;
	const struct state_portal *po;
	int phase;			/* 0 target, 1 LUNs, 2 ACLs, 3 PR, 4 CHAP, 5 portals */
	uint8_t *blob;
};

static int replace_next(struct store_op *op, void *ctx)
{
	struct replace_ctx *rc = ctx;

	for (;;) {
		switch (rc->phase) {
		case 0:
			rc->t = rc->t == NULL ? rc->md->targets : rc->t->next;
			if (rc->t == NULL) {
				rc->phase = 4;
				rc->c = NULL;
				continue;
			}
			rc->l = NULL;
			rc->a = NULL;
			rc->p = NULL;
			rc->phase = 1;
			op->kind = STORE_OP_TARGET_ADD;
			op->u.target = rc->t->rec;
			return 1;
		case 1:
			rc->l = rc->l == NULL ? rc->t->luns : rc->l->next;
			if (rc->l == NULL) {
				rc->phase = 2;
				continue;
			}
			op->kind = STORE_OP_LUN_ADD;
			op->u.lun = rc->l->rec;
			return 1;
		case 2:
			rc->a = rc->a == NULL ? rc->t->acls : rc->a->next;
			if (rc->a == NULL) {
				rc->phase = 3;
				continue;
			}
			op->kind = STORE_OP_ACL_ADD;
			snprintf(op->u.acl.target, sizeof(op->u.acl.target), "%s", rc->t->rec.name);
			snprintf(op->u.acl.initiator, sizeof(op->u.acl.initiator), "%s",
				 rc->a->initiator);
			return 1;
		case 3: {
			size_t len;
			int n;

			rc->p = rc->p == NULL ? rc->t->luns : rc->p->next;
			if (rc->p == NULL) {
				rc->phase = 0;
				continue;
			}
			free(rc->blob);
			len = pr_state_encoded_size(&rc->p->pr);
			rc->blob = malloc(len);
			if (rc->blob == NULL) {
				return -ENOMEM;
			}
			n = pr_state_encode(&rc->p->pr, rc->blob, len);
			if (n < 0) {
				return n;
			}
			op->kind = STORE_OP_PR_SET;
			snprintf(op->u.pr.target, sizeof(op->u.pr.target), "%s", rc->t->rec.name);
			op->u.pr.lun = rc->p->rec.lun;
			op->u.pr.aptpl = rc->p->pr.aptpl;
			op->u.pr.snapshot = rc->blob;
			op->u.pr.snapshot_len = (size_t)n;
			return 1;
		}
		case 4:
			rc->c = rc->c == NULL ? rc->md->chaps : rc->c->next;
			if (rc->c == NULL) {
				rc->phase = 5;
				rc->po = NULL;
				continue;
			}
			op->kind = STORE_OP_CHAP_SET;
			op->u.chap = rc->c->rec;
			return 1;
		default:
			rc->po = rc->po == NULL ? rc->md->portals : rc->po->next;
			if (rc->po == NULL) {
				return 0;
			}
			op->kind = STORE_OP_PORTAL_ADD;
			op->u.portal = rc->po->rec;
			return 1;
		}
	}
}

/* ---- install: reconcile the model, recording effects ------------------------------ */

static bool lun_rec_equal(const struct store_lun *a, const struct store_lun *b)
{
	return a->lun == b->lun && memcmp(a->uuid, b->uuid, sizeof(a->uuid)) == 0 &&
	       memcmp(a->naa, b->naa, sizeof(a->naa)) == 0 && strcmp(a->serial, b->serial) == 0 &&
	       strcmp(a->backing, b->backing) == 0 && strcmp(a->path, b->path) == 0 &&
	       a->block_size == b->block_size && a->direct_io == b->direct_io &&
	       a->thin == b->thin;
	/*
	 * offline, size, read-only, write cache and alias are not the LU's
	 * identity: they change in place (STATE_FX_LUN_STATE,
	 * STATE_FX_LUN_CHANGED), as the mutations do.
	 */
}

/* Do the fields a LUN changes in place (but offline) differ? */
static bool lun_settings_differ(const struct store_lun *a, const struct store_lun *b)
{
	return a->size_bytes != b->size_bytes || a->read_only != b->read_only ||
	       a->write_cache != b->write_cache || strcmp(a->alias, b->alias) != 0;
}

static bool chap_rec_equal(const struct store_chap *a, const struct store_chap *b)
{
	return strcmp(a->user, b->user) == 0 && strcmp(a->secret, b->secret) == 0 &&
	       strcmp(a->mutual_user, b->mutual_user) == 0 &&
	       strcmp(a->mutual_secret, b->mutual_secret) == 0;
}

/* What is gone, or changed so that it must be re-created: removed first. */
static void reconcile_removals(struct state_model *md, const struct state_model *nm,
			       struct state_effects *fx)
{
	struct state_target *t = md->targets;

	while (t != NULL) {
		struct state_target *next = t->next;
		const struct state_target *nt = model_target_find(nm, t->rec.name);

		if (nt == NULL) {
			model_target_unlink(md, t->rec.name);
			fx_record(fx, STATE_FX_TARGET_DESTROYED, t, NULL, NULL);
			fx_dead_target(fx, t);
			t = next;
			continue;
		}
		for (struct state_lun *l = t->luns, *ln; l != NULL; l = ln) {
			const struct state_lun *nl = model_lun_find(nt, l->rec.lun);

			ln = l->next;
			if (nl == NULL || !lun_rec_equal(&nl->rec, &l->rec)) {
				model_lun_unlink(t, l->rec.lun);
				fx_record(fx, STATE_FX_LUN_REMOVED, t, l, NULL);
				fx_dead_lun(fx, l);
			}
		}
		for (struct state_acl *a = t->acls, *an; a != NULL; a = an) {
			an = a->next;
			if (model_acl_find(nt, a->initiator) == NULL) {
				model_acl_unlink(t, a->initiator);
				fx_record(fx, STATE_FX_ACL_REMOVED, t, NULL, a->initiator);
				free(a);
			}
		}
		t = next;
	}
	for (struct state_chap *c = md->chaps, *cn; c != NULL; c = cn) {
		cn = c->next;
		if (model_chap_find(nm, c->rec.target) == NULL) {
			model_chap_unlink(md, c->rec.target);
			fx_chap(fx, c, false);
			fx_dead_chap(fx, c);
		}
	}
	for (struct state_portal *p = md->portals, *pn; p != NULL; p = pn) {
		pn = p->next;
		if (model_portal_find(nm, p->rec.node, p->rec.address) == NULL) {
			model_portal_unlink(md, p->rec.node, p->rec.address);
			fx_portal(fx, &p->rec, false);
			free(p);
		}
	}
}

/* What is new or different, moved from @nm into @md; equal LUNs take the new PR state in place. */
static void reconcile_additions(struct state_model *md, struct state_model *nm,
				struct state_effects *fx)
{
	while (nm->targets != NULL) {
		struct state_target *nt = nm->targets;
		struct state_target *t = model_target_find(md, nt->rec.name);

		nm->targets = nt->next;
		nt->next = NULL;
		if (t == NULL) {
			model_target_link(md, nt);
			fx_record(fx, STATE_FX_TARGET_CREATED, nt, NULL, NULL);
			for (const struct state_lun *l = nt->luns; l != NULL; l = l->next) {
				fx_record(fx, STATE_FX_LUN_ADDED, nt, l, NULL);
			}
			for (const struct state_acl *a = nt->acls; a != NULL; a = a->next) {
				fx_record(fx, STATE_FX_ACL_ADDED, nt, NULL, a->initiator);
			}
			continue;
		}
		/* The alias changes in place, as TARGET_SET does: sessions stay. */
		if (strcmp(t->rec.alias, nt->rec.alias) != 0) {
			memcpy(t->rec.alias, nt->rec.alias, sizeof(t->rec.alias));
			fx_record(fx, STATE_FX_TARGET_CHANGED, t, NULL, NULL);
		}
		while (nt->luns != NULL) {
			struct state_lun *nl = nt->luns;
			struct state_lun *l = model_lun_find(t, nl->rec.lun);

			nt->luns = nl->next;
			nl->next = NULL;
			if (l == NULL) {
				model_lun_link(t, nl);
				fx_record(fx, STATE_FX_LUN_ADDED, t, nl, NULL);
				continue;
			}
			/* Unchanged LU: the running LU keeps its pointer to l->pr. */
			if (l->rec.offline != nl->rec.offline) {
				l->rec.offline = nl->rec.offline;
				fx_record(fx, STATE_FX_LUN_STATE, t, l, NULL);
			}
			if (lun_settings_differ(&l->rec, &nl->rec)) {
				l->rec.size_bytes = nl->rec.size_bytes;
				l->rec.read_only = nl->rec.read_only;
				l->rec.write_cache = nl->rec.write_cache;
				memcpy(l->rec.alias, nl->rec.alias, sizeof(l->rec.alias));
				fx_record(fx, STATE_FX_LUN_CHANGED, t, l, NULL);
			}
			pr_state_fini(&l->pr);
			l->pr = nl->pr;
			pr_state_init(&nl->pr, 0);
			model_lun_free(nl);
		}
		for (const struct state_acl *a = nt->acls; a != NULL; a = a->next) {
			if (model_acl_find(t, a->initiator) == NULL) {
				if (model_acl_insert(t, a->initiator) == NULL) {
					fx->oom = -ENOMEM;
					continue;
				}
				fx_record(fx, STATE_FX_ACL_ADDED, t, NULL, a->initiator);
			}
		}
		model_target_free(nt);
	}
	for (const struct state_chap *nc = nm->chaps; nc != NULL; nc = nc->next) {
		struct state_chap *c = model_chap_find(md, nc->rec.target);

		if (c != NULL && chap_rec_equal(&c->rec, &nc->rec)) {
			continue;
		}
		c = model_chap_set(md, &nc->rec);
		if (c == NULL) {
			fx->oom = -ENOMEM;
			continue;
		}
		fx_chap(fx, c, true);
	}
	for (const struct state_portal *np = nm->portals; np != NULL; np = np->next) {
		if (model_portal_find(md, np->rec.node, np->rec.address) != NULL) {
			continue;
		}
		if (model_portal_insert(md, &np->rec) == NULL) {
			fx->oom = -ENOMEM;
			continue;
		}
		fx_portal(fx, &np->rec, true);
	}
}

int state_snapshot_install(struct state *s, const uint8_t *buf, size_t len,
			   struct state_effects *fx)
{
	struct rcur r = { .p = buf, .len = len };
	struct state_model nm = { 0 };
	struct replace_ctx rctx = { .md = &nm };
	uint64_t seq = 0, epoch = 0;
	int rc;

	memset(fx, 0, sizeof(*fx));
	rc = decode_header(&r, &seq, &epoch);
	if (rc == 0) {
		rc = decode_model(&r, s, &nm, fx->err, sizeof(fx->err));
	}
	if (rc == 0) {
		rc = store_replace(s->store, seq, epoch, replace_next, &rctx);
		free(rctx.blob);
		if (rc < 0) {
			snprintf(fx->err, sizeof(fx->err), "database: %s", store_errmsg(s->store));
		}
	}
	if (rc < 0) {
		model_free(&nm);
		fx->rc = rc;
		return rc;
	}
	s->epoch = epoch;
	fx->seq = seq;
	reconcile_removals(&s->model, &nm, fx);
	reconcile_additions(&s->model, &nm, fx);
	model_free(&nm);
	return fx->oom;
}
