/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The model: sorted lists of targets (each with its LUNs and ACL) and CHAP
 * records, their lookups, and the deterministic validation of records that
 * both apply and snapshot install use. Sorting makes iteration, and so the
 * snapshot, canonical.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/domain.h"
#include "daemon/state/state_int.h"

/* ---- lookups ------------------------------------------------------------- */

struct state_target *model_target_find(const struct state_model *md, const char *name)
{
	for (struct state_target *t = md->targets; t != NULL; t = t->next) {
		if (strcmp(t->rec.name, name) == 0) {
			return t;
		}
	}
	return NULL;
}

struct state_lun *model_lun_find(const struct state_target *t, uint16_t lun)
{
	for (struct state_lun *l = t->luns; l != NULL; l = l->next) {
		if (l->rec.lun == lun) {
			return l;
		}
	}
	return NULL;
}

struct state_acl *model_acl_find(const struct state_target *t, const char *initiator)
{
	for (struct state_acl *a = t->acls; a != NULL; a = a->next) {
		if (strcmp(a->initiator, initiator) == 0) {
			return a;
		}
	}
	return NULL;
}

struct state_chap *model_chap_find(const struct state_model *md, const char *target)
{
	for (struct state_chap *c = md->chaps; c != NULL; c = c->next) {
		if (strcmp(c->rec.target, target) == 0) {
			return c;
		}
	}
	return NULL;
}

bool model_naa_in_use(const struct state_model *md, const uint8_t *naa)
{
	for (struct state_target *t = md->targets; t != NULL; t = t->next) {
		for (struct state_lun *l = t->luns; l != NULL; l = l->next) {
			if (memcmp(l->rec.naa, naa, sizeof(l->rec.naa)) == 0) {
				return true;
			}
		}
	}
	return false;
}

struct state_portal *model_portal_find(const struct state_model *md, uint32_t node,
				       const char *address)
{
	for (struct state_portal *p = md->portals; p != NULL; p = p->next) {
		if (p->rec.node == node && strcmp(p->rec.address, address) == 0) {
			return p;
		}
	}
	return NULL;
}

/* ---- public read access ---------------------------------------------------- */

const struct state_portal *state_portal_first(const struct state *s)
{
	return s->model.portals;
}

const struct state_portal *state_portal_next(const struct state_portal *p)
{
	return p->next;
}

const struct state_portal *state_portal_find(const struct state *s, uint32_t node,
					     const char *address)
{
	return model_portal_find(&s->model, node, address);
}

const struct state_target *state_target_find(const struct state *s, const char *name)
{
	return model_target_find(&s->model, name);
}

const struct state_lun *state_lun_find(const struct state_target *t, uint16_t lun)
{
	return model_lun_find(t, lun);
}

const struct state_chap *state_chap_find(const struct state *s, const char *target)
{
	return model_chap_find(&s->model, target);
}

const struct state_target *state_target_first(const struct state *s)
{
	return s->model.targets;
}

const struct state_target *state_target_next(const struct state_target *t)
{
	return t->next;
}

const struct state_lun *state_lun_first(const struct state_target *t)
{
	return t->luns;
}

const struct state_lun *state_lun_next(const struct state_lun *l)
{
	return l->next;
}

const struct state_acl *state_acl_first(const struct state_target *t)
{
	return t->acls;
}

const struct state_acl *state_acl_next(const struct state_acl *a)
{
	return a->next;
}

const struct state_chap *state_chap_first(const struct state *s)
{
	return s->model.chaps;
}

const struct state_chap *state_chap_next(const struct state_chap *c)
{
	return c->next;
}

unsigned int state_lun_count(const struct state_target *t)
{
	unsigned int n = 0;

	for (const struct state_lun *l = t->luns; l != NULL; l = l->next) {
		n++;
	}
	return n;
}

unsigned int state_acl_count(const struct state_target *t)
{
	unsigned int n = 0;

	for (const struct state_acl *a = t->acls; a != NULL; a = a->next) {
		n++;
	}
	return n;
}

struct pr_state *state_lun_pr(struct state *s, const char *target, uint16_t lun)
{
	struct state_target *t = model_target_find(&s->model, target);
	struct state_lun *l = t != NULL ? model_lun_find(t, lun) : NULL;

	return l != NULL ? &l->pr : NULL;
}

/* ---- changes --------------------------------------------------------------- */

struct state_target *model_target_insert(struct state_model *md, const struct store_target *rec)
{
	struct state_target *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		return NULL;
	}
	t->rec = *rec;
	model_target_link(md, t);
	return t;
}

void model_target_link(struct state_model *md, struct state_target *t)
{
	struct state_target **pp;

	for (pp = &md->targets; *pp != NULL && strcmp((*pp)->rec.name, t->rec.name) < 0;
	     pp = &(*pp)->next) {
	}
	t->next = *pp;
	*pp = t;
}

struct state_lun *model_lun_insert(struct state_target *t, const struct store_lun *rec)
{
	struct state_lun *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		return NULL;
	}
	l->rec = *rec;
	pr_state_init(&l->pr, 0);
	model_lun_link(t, l);
	return l;
}

void model_lun_link(struct state_target *t, struct state_lun *l)
{
	struct state_lun **pp;

	for (pp = &t->luns; *pp != NULL && (*pp)->rec.lun < l->rec.lun; pp = &(*pp)->next) {
	}
	l->next = *pp;
	*pp = l;
}

struct state_acl *model_acl_insert(struct state_target *t, const char *initiator)
{
	struct state_acl *a = calloc(1, sizeof(*a)), **pp;

	if (a == NULL) {
		return NULL;
	}
	snprintf(a->initiator, sizeof(a->initiator), "%s", initiator);
	for (pp = &t->acls; *pp != NULL && strcmp((*pp)->initiator, initiator) < 0;
	     pp = &(*pp)->next) {
	}
	a->next = *pp;
	*pp = a;
	return a;
}

struct state_chap *model_chap_set(struct state_model *md, const struct store_chap *rec)
{
	struct state_chap *c = model_chap_find(md, rec->target), **pp;

	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			return NULL;
		}
		for (pp = &md->chaps; *pp != NULL && strcmp((*pp)->rec.target, rec->target) < 0;
		     pp = &(*pp)->next) {
		}
		c->next = *pp;
		*pp = c;
	}
	c->rec = *rec;
	return c;
}

/* Portals sort by node id, then by address (strcmp): the snapshot's order. */
static int portal_cmp(const struct store_portal *a, const struct store_portal *b)
{
	if (a->node != b->node) {
		return a->node < b->node ? -1 : 1;
	}
	return strcmp(a->address, b->address);
}

struct state_portal *model_portal_insert(struct state_model *md, const struct store_portal *rec)
{
	struct state_portal *p = calloc(1, sizeof(*p)), **pp;

	if (p == NULL) {
		return NULL;
	}
	p->rec = *rec;
	for (pp = &md->portals; *pp != NULL && portal_cmp(&(*pp)->rec, rec) < 0;
	     pp = &(*pp)->next) {
	}
	p->next = *pp;
	*pp = p;
	return p;
}

struct state_portal *model_portal_unlink(struct state_model *md, uint32_t node,
					 const char *address)
{
	struct state_portal **pp, *p;

	for (pp = &md->portals;
	     *pp != NULL && ((*pp)->rec.node != node || strcmp((*pp)->rec.address, address) != 0);
	     pp = &(*pp)->next) {
	}
	p = *pp;
	if (p != NULL) {
		*pp = p->next;
		p->next = NULL;
	}
	return p;
}

struct state_target *model_target_unlink(struct state_model *md, const char *name)
{
	struct state_target **pp, *t;

	for (pp = &md->targets; *pp != NULL && strcmp((*pp)->rec.name, name) != 0;
	     pp = &(*pp)->next) {
	}
	t = *pp;
	if (t != NULL) {
		*pp = t->next;
		t->next = NULL;
	}
	return t;
}

struct state_lun *model_lun_unlink(struct state_target *t, uint16_t lun)
{
	struct state_lun **pp, *l;

	for (pp = &t->luns; *pp != NULL && (*pp)->rec.lun != lun; pp = &(*pp)->next) {
	}
	l = *pp;
	if (l != NULL) {
		*pp = l->next;
		l->next = NULL;
	}
	return l;
}

struct state_acl *model_acl_unlink(struct state_target *t, const char *initiator)
{
	struct state_acl **pp, *a;

	for (pp = &t->acls; *pp != NULL && strcmp((*pp)->initiator, initiator) != 0;
	     pp = &(*pp)->next) {
	}
	a = *pp;
	if (a != NULL) {
		*pp = a->next;
		a->next = NULL;
	}
	return a;
}

struct state_chap *model_chap_unlink(struct state_model *md, const char *target)
{
	struct state_chap **pp, *c;

	for (pp = &md->chaps; *pp != NULL && strcmp((*pp)->rec.target, target) != 0;
	     pp = &(*pp)->next) {
	}
	c = *pp;
	if (c != NULL) {
		*pp = c->next;
		c->next = NULL;
	}
	return c;
}

void model_lun_free(struct state_lun *l)
{
	pr_state_fini(&l->pr);
	free(l);
}

void model_target_free(struct state_target *t)
{
	while (t->luns != NULL) {
		struct state_lun *l = t->luns;

		t->luns = l->next;
		model_lun_free(l);
	}
	while (t->acls != NULL) {
		struct state_acl *a = t->acls;

		t->acls = a->next;
		free(a);
	}
	free(t);
}

void model_chap_free(struct state_chap *c)
{
	explicit_bzero(c, sizeof(*c));
	free(c);
}

void model_free(struct state_model *md)
{
	while (md->targets != NULL) {
		struct state_target *t = md->targets;

		md->targets = t->next;
		model_target_free(t);
	}
	while (md->chaps != NULL) {
		struct state_chap *c = md->chaps;

		md->chaps = c->next;
		model_chap_free(c);
	}
	while (md->portals != NULL) {
		struct state_portal *p = md->portals;

		md->portals = p->next;
		free(p);
	}
}

/* ---- validation (deterministic) ---------------------------------------------- */

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

int validate_alias(const char *alias, char *err, size_t errlen)
{
	for (const unsigned char *p = (const unsigned char *)alias; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			return fail(err, errlen, -EINVAL,
				    "an alias must not contain control characters");
		}
	}
	return 0;
}

int validate_target(const struct state *s, const struct state_model *md,
		    const struct store_target *t, char *err, size_t errlen)
{
	if (!s->rules.name_valid(t->name)) {
		return fail(err, errlen, -EINVAL, "'%s' is not a valid iSCSI name", t->name);
	}
	if (validate_alias(t->alias, err, errlen) < 0) {
		return -EINVAL;
	}
	if (model_target_find(md, t->name) != NULL) {
		return fail(err, errlen, -EEXIST, "target '%s' exists", t->name);
	}
	return 0;
}

int validate_lun(const struct state *s, const struct state_model *md, const struct store_lun *l,
		 char *err, size_t errlen)
{
	struct state_target *t = model_target_find(md, l->target);

	(void)s;
	if (t == NULL) {
		return fail(err, errlen, -ENOENT, "no target '%s'", l->target);
	}
	if (!lun_id_valid(l->lun)) {
		return fail(err, errlen, -EINVAL, "LUN %u out of range 0..%u", l->lun, LUN_ID_MAX);
	}
	if (model_lun_find(t, l->lun) != NULL) {
		return fail(err, errlen, -EEXIST, "target '%s' already has LUN %u", l->target,
			    l->lun);
	}
	if (strcmp(l->backing, LUN_BACKING_FILE) == 0) {
		if (l->path[0] != '/') {
			return fail(err, errlen, -EINVAL, "file backing needs an absolute path");
		}
	} else if (strcmp(l->backing, LUN_BACKING_NULL) == 0) {
		if (l->path[0] != '\0') {
			return fail(err, errlen, -EINVAL, "null backing takes no path");
		}
	} else {
		return fail(err, errlen, -EINVAL, "unknown backing '%s'", l->backing);
	}
	if (!lun_block_size_valid(l->block_size)) {
		return fail(err, errlen, -EINVAL, "block size %u (want %u or %u)", l->block_size,
			    LUN_BLOCK_SIZE_512, LUN_BLOCK_SIZE_4096);
	}
	if (l->size_bytes == 0 || l->size_bytes % l->block_size != 0 ||
	    l->size_bytes > INT64_MAX) {
		return fail(err, errlen, -EINVAL,
			    "size %llu is not a positive multiple of the block size",
			    (unsigned long long)l->size_bytes);
	}
	if (l->serial[0] == '\0') {
		return fail(err, errlen, -EINVAL, "empty serial number");
	}
	if (validate_alias(l->alias, err, errlen) < 0) {
		return -EINVAL;
	}
	if (model_naa_in_use(md, l->naa)) {
		return fail(err, errlen, -EEXIST, "NAA identifier already in use");
	}
	return 0;
}

int validate_acl(const struct state *s, const struct state_model *md, const struct store_acl *acl,
		 bool add, char *err, size_t errlen)
{
	struct state_target *t = model_target_find(md, acl->target);

	if (t == NULL) {
		return fail(err, errlen, -ENOENT, "no target '%s'", acl->target);
	}
	if (!s->rules.name_valid(acl->initiator)) {
		return fail(err, errlen, -EINVAL, "'%s' is not a valid iSCSI name",
			    acl->initiator);
	}
	if (add && model_acl_find(t, acl->initiator) != NULL) {
		return fail(err, errlen, -EEXIST, "'%s' is already in the ACL", acl->initiator);
	}
	if (!add && model_acl_find(t, acl->initiator) == NULL) {
		return fail(err, errlen, -ENOENT, "'%s' is not in the ACL", acl->initiator);
	}
	return 0;
}

int validate_chap(const struct state_model *md, const struct store_chap *c, char *err,
		  size_t errlen)
{
	bool mutual = c->mutual_user[0] != '\0' || c->mutual_secret[0] != '\0';

	if (c->target[0] != '\0' && model_target_find(md, c->target) == NULL) {
		return fail(err, errlen, -ENOENT, "no target '%s'", c->target);
	}
	if (c->user[0] == '\0' || c->secret[0] == '\0') {
		return fail(err, errlen, -EINVAL, "CHAP needs a user and a secret");
	}
	if (mutual && (c->mutual_user[0] == '\0' || c->mutual_secret[0] == '\0')) {
		return fail(err, errlen, -EINVAL, "mutual CHAP needs both a user and a secret");
	}
	/* RFC 7143 12.1.3: the same secret must not serve both directions. */
	if (mutual && strcmp(c->secret, c->mutual_secret) == 0) {
		return fail(err, errlen, -EINVAL,
			    "mutual secret must differ from the initiator's secret");
	}
	return 0;
}

bool state_portal_address_valid(const char *address)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
	const char *colon, *port;
	size_t hl;
	bool v6 = address[0] == '[';
	unsigned long n = 0;

	if (strlen(address) > STORE_PORTAL_MAX) {
		return false;
	}
	if (v6) {
		const char *end = strchr(address, ']');

		if (end == NULL || end[1] != ':') {
			return false;
		}
		hl = (size_t)(end - address - 1);
		colon = end + 1;
	} else {
		colon = strrchr(address, ':');
		if (colon == NULL) {
			return false;
		}
		hl = (size_t)(colon - address);
	}
	if (hl == 0 || hl >= sizeof(host)) {
		return false;
	}
	memcpy(host, address + (v6 ? 1 : 0), hl);
	host[hl] = '\0';
	/* Decimal, no sign or leading zero, 1..65535: one spelling per port. */
	port = colon + 1;
	if (port[0] < '1' || port[0] > '9' || strlen(port) > 5) {
		return false;
	}
	for (const char *c = port; *c != '\0'; c++) {
		if (*c < '0' || *c > '9') {
			return false;
		}
		n = n * 10 + (unsigned long)(*c - '0');
	}
	if (n > 65535) {
		return false;
	}
	/* Numeric, and written as inet_ntop() writes it: one spelling per address. */
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, addr) != 1 ||
	    inet_ntop(v6 ? AF_INET6 : AF_INET, addr, canon, sizeof(canon)) == NULL) {
		return false;
	}
	return strcmp(canon, host) == 0;
}

int validate_portal(const struct state_model *md, const struct store_portal *p, bool add,
		    char *err, size_t errlen)
{
	if (p->node == 0 || p->node > STATE_PORTAL_NODE_MAX) {
		return fail(err, errlen, -EINVAL, "node id %u out of range 1..%u", p->node,
			    STATE_PORTAL_NODE_MAX);
	}
	if (!state_portal_address_valid(p->address)) {
		return fail(err, errlen, -EINVAL,
			    "'%s' is not a numeric portal (A.B.C.D:PORT or [V6]:PORT)",
			    p->address);
	}
	if (add && model_portal_find(md, p->node, p->address) != NULL) {
		return fail(err, errlen, -EEXIST, "node %u already has portal %s", p->node,
			    p->address);
	}
	if (!add && model_portal_find(md, p->node, p->address) == NULL) {
		return fail(err, errlen, -ENOENT, "node %u has no run-time portal %s", p->node,
			    p->address);
	}
	return 0;
}

/* ---- effect recording ----------------------------------------------------------- */

static struct state_effect *fx_push(struct state_effects *fx, enum state_effect_kind kind)
{
	struct state_effect *e;

	if (fx->n == fx->cap) {
		size_t cap = fx->cap != 0 ? 2 * fx->cap : 8;
		struct state_effect *v = realloc(fx->v, cap * sizeof(*v));

		if (v == NULL) {
			fx->oom = -ENOMEM;
			return NULL;
		}
		fx->v = v;
		fx->cap = cap;
	}
	e = &fx->v[fx->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	return e;
}

struct state_effect *fx_record(struct state_effects *fx, enum state_effect_kind kind,
			       const struct state_target *t, const struct state_lun *l,
			       const char *initiator)
{
	struct state_effect *e = fx_push(fx, kind);

	if (e == NULL) {
		return NULL;
	}
	e->target = t;
	e->lun = l;
	snprintf(e->name, sizeof(e->name), "%s", t->rec.name);
	if (initiator != NULL) {
		snprintf(e->initiator, sizeof(e->initiator), "%s", initiator);
	}
	return e;
}

void fx_chap(struct state_effects *fx, const struct state_chap *c, bool set)
{
	struct state_effect *e = fx_push(fx, set ? STATE_FX_CHAP_SET : STATE_FX_CHAP_CLEARED);

	if (e != NULL) {
		e->chap = set ? c : NULL;
		snprintf(e->name, sizeof(e->name), "%s", c->rec.target);
	}
}

void fx_portal(struct state_effects *fx, const struct store_portal *p, bool added)
{
	struct state_effect *e =
		fx_push(fx, added ? STATE_FX_PORTAL_ADDED : STATE_FX_PORTAL_REMOVED);

	if (e != NULL) {
		e->portal = *p;
		snprintf(e->name, sizeof(e->name), "%s", p->address);
	}
}

void fx_dead_target(struct state_effects *fx, struct state_target *t)
{
	t->next = fx->dead_targets;
	fx->dead_targets = t;
}

void fx_dead_lun(struct state_effects *fx, struct state_lun *l)
{
	l->next = fx->dead_luns;
	fx->dead_luns = l;
}

void fx_dead_chap(struct state_effects *fx, struct state_chap *c)
{
	c->next = fx->dead_chaps;
	fx->dead_chaps = c;
}

void state_effects_complete(struct state_effects *fx)
{
	struct state_pending *p = fx->pending;
	struct state_outcome o = {
		.rc = fx->rc,
		.err = fx->err,
		.seq = fx->seq,
		.pr = fx->has_pr ? &fx->pr_res : NULL,
	};

	fx->pending = NULL;
	if (p != NULL) {
		p->done(p, &o);
	}
}

void state_effects_release(struct state_effects *fx)
{
	state_effects_complete(fx);
	while (fx->dead_targets != NULL) {
		struct state_target *t = fx->dead_targets;

		fx->dead_targets = t->next;
		model_target_free(t);
	}
	while (fx->dead_luns != NULL) {
		struct state_lun *l = fx->dead_luns;

		fx->dead_luns = l->next;
		model_lun_free(l);
	}
	while (fx->dead_chaps != NULL) {
		struct state_chap *c = fx->dead_chaps;

		fx->dead_chaps = c->next;
		model_chap_free(c);
	}
	if (fx->has_pr) {
		pr_result_fini(&fx->pr_res);
	}
	free(fx->v);
	explicit_bzero(fx->err, sizeof(fx->err));
	memset(fx, 0, sizeof(*fx));
}
