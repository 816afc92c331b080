/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the state room: the wire cursors, the model's private operations,
 * and the table of mutation kinds (kinds.c).
 */
#ifndef QUORATE_DAEMON_STATE_STATE_INT_H
#define QUORATE_DAEMON_STATE_STATE_INT_H

#include "daemon/state/state.h"

struct wcur {
	uint8_t *p;
	size_t cap;
	size_t off;
	int err;
};

struct rcur {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

void w_bytes(struct wcur *w, const void *src, size_t n);
void w_uint(struct wcur *w, uint64_t v, size_t n);
void w_str(struct wcur *w, const char *s, size_t max);
const uint8_t *r_bytes(struct rcur *r, size_t n);
uint64_t r_uint(struct rcur *r, size_t n);
/* Read a string into @dst (capacity max + 1, NUL-terminated). */
void r_str(struct rcur *r, char *dst, size_t max);
void r_copy(struct rcur *r, void *dst, size_t n);
/* A LUN record without its target name: lun, identity, backing, flags. */
void wire_lun_encode(struct wcur *w, const struct store_lun *l);
void wire_lun_decode(struct rcur *r, struct store_lun *l);
void wire_chap_encode(struct wcur *w, const struct store_chap *c);
void wire_chap_decode(struct rcur *r, struct store_chap *c);

/* The replicated model: what validation reads and snapshots hold. */
struct state_model {
	struct state_target *targets;
	struct state_chap *chaps;
	struct state_portal *portals;
};

struct state {
	struct store *store;		/* borrowed */
	struct cluster *cluster;	/* borrowed; NULL until set */
	struct state_rules rules;
	struct state_model model;
	uint64_t epoch;
	struct state_pending *pending;
	uint64_t next_request_id;
};

/* Scratch of one apply, passed along a kind's row. */
struct state_apply {
	struct state *s;
	uint64_t seq;
	uint32_t origin;
	const struct mutation *m;
	struct state_effects *fx;
	struct state_target *t;		/* the addressed target/LUN, when validation found it */
	struct state_lun *l;
	struct pr_state next;		/* RESERVATION/LU_RESET: the LU's state after the op */
	struct pr_op op;
	bool store_nothing;		/* commit only the sequence */
};

/*
 * One row per mutation kind: its name, its fields on the wire, its
 * validation against the model (deterministic; fills a->err), the store
 * operation its commit writes, and the model update with its effects
 * (after the commit succeeded).
 */
struct state_kind {
	const char *name;
	void (*encode)(struct wcur *w, const struct mutation *m);
	void (*decode)(struct rcur *r, struct mutation *m);
	int (*validate)(struct state_apply *a, char *err, size_t errlen);
	/* Fill *op for the store (STORE_OP_NONE: only the sequence). @return 0 or -errno. */
	int (*commit)(struct state_apply *a, struct store_op *op, uint8_t **blob);
	void (*update)(struct state_apply *a);
};

extern const struct state_kind state_kinds[MUTATION_KIND_COUNT];

/* model.c */
struct state_target *model_target_find(const struct state_model *md, const char *name);
struct state_lun *model_lun_find(const struct state_target *t, uint16_t lun);
struct state_acl *model_acl_find(const struct state_target *t, const char *initiator);
struct state_chap *model_chap_find(const struct state_model *md, const char *target);
bool model_naa_in_use(const struct state_model *md, const uint8_t *naa);
struct state_target *model_target_insert(struct state_model *md, const struct store_target *rec);
struct state_lun *model_lun_insert(struct state_target *t, const struct store_lun *rec);
void model_target_link(struct state_model *md, struct state_target *t);
void model_lun_link(struct state_target *t, struct state_lun *l);
struct state_acl *model_acl_insert(struct state_target *t, const char *initiator);
struct state_chap *model_chap_set(struct state_model *md, const struct store_chap *rec);
struct state_target *model_target_unlink(struct state_model *md, const char *name);
struct state_lun *model_lun_unlink(struct state_target *t, uint16_t lun);
struct state_acl *model_acl_unlink(struct state_target *t, const char *initiator);
struct state_chap *model_chap_unlink(struct state_model *md, const char *target);
struct state_portal *model_portal_find(const struct state_model *md, uint32_t node,
				       const char *address);
struct state_portal *model_portal_insert(struct state_model *md, const struct store_portal *rec);
struct state_portal *model_portal_unlink(struct state_model *md, uint32_t node,
					 const char *address);
void model_target_free(struct state_target *t);
void model_lun_free(struct state_lun *l);
void model_chap_free(struct state_chap *c);
void model_free(struct state_model *md);

/* Deterministic record validation shared by the kinds and snapshot install. */
/* A target's or LUN's alias: printable (no control characters). */
int validate_alias(const char *alias, char *err, size_t errlen);
int validate_target(const struct state *s, const struct state_model *md,
		    const struct store_target *t, char *err, size_t errlen);
int validate_lun(const struct state *s, const struct state_model *md, const struct store_lun *l,
		 char *err, size_t errlen);
int validate_acl(const struct state *s, const struct state_model *md, const struct store_acl *acl,
		 bool add, char *err, size_t errlen);
int validate_chap(const struct state_model *md, const struct store_chap *c, char *err,
		  size_t errlen);
/* A portal to add (@add) or remove: node id 1..65535, canonical numeric address. */
int validate_portal(const struct state_model *md, const struct store_portal *p, bool add,
		    char *err, size_t errlen);

/* effects.c (of this room): recording */
/* Record @kind about @t (and @l, @initiator); the target's name is copied. */
struct state_effect *fx_record(struct state_effects *fx, enum state_effect_kind kind,
			       const struct state_target *t, const struct state_lun *l,
			       const char *initiator);
/* Record CHAP record @c set, or cleared (then @c is only read here). */
void fx_chap(struct state_effects *fx, const struct state_chap *c, bool set);
/* Record portal @p added or removed (copied). */
void fx_portal(struct state_effects *fx, const struct store_portal *p, bool added);
void fx_dead_target(struct state_effects *fx, struct state_target *t);
void fx_dead_lun(struct state_effects *fx, struct state_lun *l);
void fx_dead_chap(struct state_effects *fx, struct state_chap *c);

#endif
