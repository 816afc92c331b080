/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The replicated state machine (DESIGN §1): the model of targets, LUNs with
 * their identity, ACLs, CHAP and each LU's PR and SPC-2 state; the one
 * propose path with its registry of pending proposals; apply (decode,
 * validate, commit, update) through one table row per mutation kind
 * (kinds.c); canonical snapshots and their digest.
 *
 * This room includes nothing from daemon/iscsi or daemon/scsi and does no
 * I/O but the store's. It does not touch running objects: every change of
 * the model comes back as a list of effects (struct state_effects), and the
 * daemon applies them to its SCSI targets and iSCSI registrations in one
 * place (daemon/effects.c). Start-up load, delivery and snapshot install
 * all report through the same list, so there is one way running objects
 * follow the model.
 *
 * Determinism: apply depends only on the model and the mutation (no clock,
 * no randomness, nothing node-local); identity (UUID, NAA, serial) is chosen
 * by the proposer. The iSCSI name rule is given at creation as a pure
 * predicate (struct state_rules) so validation needs no iSCSI code.
 *
 * Everything runs on the daemon's one loop thread.
 */
#ifndef QUORATE_DAEMON_STATE_STATE_H
#define QUORATE_DAEMON_STATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/state/mutation.h"
#include "daemon/store/store.h"
#include "reservations/pr.h"

#define STATE_DIGEST_LEN 32		/* SHA-256 */
#define STATE_ERR_MAX 256
#define STATE_SNAPSHOT_VERSION 1
#define STATE_PORTAL_NODE_MAX 0xffffu	/* a node id is its TPGT: 16 bits, 0 is none */

struct state;
struct cluster;

/* ---- the model (read through the functions below, never the links) ------- */

struct state_lun {
	struct state_lun *next;		/* private: sorted by rec.lun */
	struct store_lun rec;
	struct pr_state pr;		/* replicated PR and SPC-2 state; the online LU borrows it */
};

struct state_acl {
	struct state_acl *next;		/* private: sorted by initiator */
	char initiator[STORE_NAME_MAX + 1];
};

struct state_target {
	struct state_target *next;	/* private: sorted by rec.name */
	struct store_target rec;
	struct state_lun *luns;		/* private */
	struct state_acl *acls;		/* private */
};

struct state_chap {
	struct state_chap *next;	/* private: sorted by rec.target */
	struct store_chap rec;		/* holds secrets: zeroed before free */
};

/* A portal added at run time for a node (sorted by node id, then address). */
struct state_portal {
	struct state_portal *next;	/* private */
	struct store_portal rec;
};

struct state_rules {
	/* Is @name a valid iSCSI name in canonical form? (daemon/iscsi/name.h) */
	bool (*name_valid)(const char *name);
};

const struct state_target *state_target_find(const struct state *s, const char *name);
const struct state_lun *state_lun_find(const struct state_target *t, uint16_t lun);
const struct state_chap *state_chap_find(const struct state *s, const char *target);
/* Iteration in canonical order; NULL ends. */
const struct state_target *state_target_first(const struct state *s);
const struct state_target *state_target_next(const struct state_target *t);
const struct state_lun *state_lun_first(const struct state_target *t);
const struct state_lun *state_lun_next(const struct state_lun *l);
const struct state_acl *state_acl_first(const struct state_target *t);
const struct state_acl *state_acl_next(const struct state_acl *a);
const struct state_chap *state_chap_first(const struct state *s);
const struct state_chap *state_chap_next(const struct state_chap *c);
unsigned int state_lun_count(const struct state_target *t);
unsigned int state_acl_count(const struct state_target *t);
const struct state_portal *state_portal_first(const struct state *s);
const struct state_portal *state_portal_next(const struct state_portal *p);
const struct state_portal *state_portal_find(const struct state *s, uint32_t node,
					     const char *address);
/**
 * Is @address a portal in the form the model keeps: "A.B.C.D:PORT" or
 * "[V6]:PORT", numeric, port 1..65535, as inet_ntop() writes it? Pure.
 */
bool state_portal_address_valid(const char *address);
/** The PR state LU @lun of @target borrows (stable while the LUN exists), or NULL. */
struct pr_state *state_lun_pr(struct state *s, const char *target, uint16_t lun);

/* ---- effects --------------------------------------------------------------- */

enum state_effect_kind {
	STATE_FX_TARGET_CREATED,	/* target: start serving it */
	STATE_FX_TARGET_DESTROYED,	/* target (dead, with its LUNs): stop and free */
	STATE_FX_TARGET_CHANGED,	/* target: follow target->rec.alias in place */
	STATE_FX_LUN_ADDED,		/* target, lun: open the LU, attach lun->pr */
	STATE_FX_LUN_REMOVED,		/* target, lun (dead): detach lun->pr, close */
	STATE_FX_ACL_ADDED,		/* target, initiator: then end unadmitted sessions */
	STATE_FX_ACL_REMOVED,		/* target, initiator: then end unadmitted sessions */
	STATE_FX_CHAP_SET,		/* chap */
	STATE_FX_CHAP_CLEARED,		/* name: "" = discovery */
	STATE_FX_PR,			/* target, lun, pr: UAs and PREEMPT AND ABORT aborts */
	STATE_FX_LU_RESET,		/* target, lun, origin: reset the LU on this node */
	STATE_FX_LUN_STATE,		/* target, lun: follow lun->rec.offline (re-open if online) */
	STATE_FX_LUN_CHANGED,		/* target, lun: follow lun->rec's size, read-only and
					 * write cache in place (alias: nothing to follow) */
	STATE_FX_PORTAL_ADDED,		/* portal: the node it names listens on it */
	STATE_FX_PORTAL_REMOVED,	/* portal: the node it names stops listening on it */
};

struct state_effect {
	enum state_effect_kind kind;
	const struct state_target *target;	/* valid until state_effects_release() */
	const struct state_lun *lun;
	const struct state_chap *chap;
	const struct pr_result *pr;
	char name[STORE_NAME_MAX + 1];		/* target name; ACL: initiator in initiator */
	char initiator[STORE_NAME_MAX + 1];
	uint32_t origin;			/* LU_RESET: the node that proposed it */
	struct store_portal portal;		/* PORTAL_*: a copy */
};

struct state_pending;

/* The outcome of one applied mutation, for the proposer's pending entry. */
struct state_outcome {
	int rc;				/* 0: applied; -errno: rejected or not applied */
	const char *err;		/* why, "" on success */
	uint64_t seq;
	const struct pr_result *pr;	/* RESERVATION/LU_RESET: the engine's outcome, or NULL */
};

/*
 * A proposal this node made and waits for. The owner embeds it and fills
 * done (and ctx); the registry fills the rest. done() runs once: after the
 * mutation was applied (from state_effects_complete()) or when the registry
 * is cancelled.
 */
struct state_pending {
	struct state_pending *next;	/* private */
	uint64_t request_id;		/* private */
	void (*done)(struct state_pending *p, const struct state_outcome *o);
	void *ctx;
};

struct state_effects {
	struct state_effect *v;		/* in the order to apply them */
	size_t n;
	size_t cap;
	/* What the effects describe; freed by state_effects_release(). */
	struct state_target *dead_targets;
	struct state_lun *dead_luns;
	struct state_chap *dead_chaps;
	struct pr_result pr_res;
	/* The mutation's outcome (delivery only). */
	uint64_t seq;
	enum mutation_kind kind;
	int rc;
	char err[STATE_ERR_MAX];
	bool has_pr;			/* pr_res holds the engine's outcome */
	struct state_pending *pending;	/* this node's proposal, to complete */
	int oom;			/* an effect could not be recorded */
};

/** Complete the pending proposal (if any) with the outcome: after applying the effects. */
void state_effects_complete(struct state_effects *fx);
/** Free what the effects refer to; then reuse or drop @fx. */
void state_effects_release(struct state_effects *fx);

/* ---- lifetime, load, apply --------------------------------------------------- */

/** A state machine over @store (borrowed). @return 0 or -errno. */
int state_create(struct store *store, const struct state_rules *rules, struct state **out);
/** Free the model; pending proposals must have been cancelled. NULL is a no-op. */
void state_destroy(struct state *s);
/** The transport proposals go to (borrowed; NULL: proposals fail with -ESHUTDOWN). */
void state_cluster_set(struct state *s, struct cluster *cluster);

/**
 * Build the model from the store (start-up: a whole-cluster restart, so PR
 * state that does not persist through power loss is dropped). @fx gets the
 * effects that create every running object. @return 0 or -errno.
 */
int state_load(struct state *s, struct state_effects *fx);

/**
 * Apply one agreed-order delivery: decode, validate, commit, update the
 * model. @fx gets the effects and the outcome (and, when @mine, the pending
 * proposal). A malformed or rejected mutation commits only its sequence.
 */
void state_deliver(struct state *s, uint64_t seq, uint32_t origin, bool mine, const void *msg,
		   size_t len, struct state_effects *fx);

uint64_t state_applied_seq(const struct state *s);
uint64_t state_epoch(const struct state *s);
/** Persist a new epoch (the transport's quorate membership changed). @return 0 or -errno. */
int state_epoch_set(struct state *s, uint64_t epoch);

/* ---- propose ----------------------------------------------------------------- */

/*
 * Request ids only match deliveries to this node's pending proposals; the
 * daemon seeds them (a random high half) so that a restarted node does not
 * mistake a stale delivery for one of its new requests.
 */
void state_request_ids_seed(struct state *s, uint64_t first);

/**
 * Propose @m (its request id is assigned here). With @p, p->done runs after
 * the mutation was applied. @return 0 or -errno (then nothing was proposed
 * and p->done will not run).
 */
int state_propose(struct state *s, struct mutation *m, struct state_pending *p);

/** Complete every pending proposal @match accepts with -ECANCELED and @why. */
void state_pending_cancel(struct state *s, bool (*match)(struct state_pending *p, void *ctx),
			  void *ctx, const char *why);

/* ---- snapshots and digest ---------------------------------------------------- */

/**
 * The canonical snapshot (format in snapshot.c): every target, LUN with its
 * identity and PR/SPC-2 state, ACL, CHAP record and run-time portal, the
 * applied sequence and the epoch. Equal states give equal bytes. *@buf is malloc()ed (it holds
 * CHAP secrets: wipe before free). @return 0 or -errno.
 */
int state_snapshot_encode(const struct state *s, uint8_t **buf, size_t *len);

/** Sequence and epoch of snapshot @buf without installing it. @return 0 or -EBADMSG/-EPROTO. */
int state_snapshot_peek(const uint8_t *buf, size_t len, uint64_t *seq, uint64_t *epoch);

/**
 * Replace the model and the store with snapshot @buf (validated first:
 * nothing changes if it is malformed). Records equal to the current ones
 * keep their objects, so running LUs stay attached; @fx gets the effects
 * that reconcile running objects (what is gone, then what is new or
 * different). @return 0 or -errno.
 */
int state_snapshot_install(struct state *s, const uint8_t *buf, size_t len,
			   struct state_effects *fx);

/** SHA-256 of the canonical snapshot. @return 0 or -errno. */
int state_digest(const struct state *s, uint8_t out[STATE_DIGEST_LEN]);

#endif
