// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Layer 2: apply a validated operation to the PR state of one LU.
 *
 * Every rule that depends on state lives here, so a replicated op is
 * decided identically on every node in delivery order (DESIGN.md §1):
 * registration and key checks with RESERVATION CONFLICT (SPC-4 5.13 and
 * the PR OUT table of 6.16), registering (REGISTER, REGISTER AND IGNORE
 * EXISTING KEY, SPEC_I_PT, ALL_TG_PT), reserving, releasing, clearing,
 * preempting (PREEMPT, PREEMPT AND ABORT), REGISTER AND MOVE, the CRH=1
 * exceptions for SPC-2 RESERVE/RELEASE, and PRgeneration (6.15.2:
 * incremented by every successful PR OUT except RESERVE and RELEASE).
 * Section names rather than numbers are cited where SPC-4 revisions
 * renumber them; the subclause titles are stable.
 *
 * Each action first decides and collects its effects (which may allocate),
 * then mutates without allocating, so -ENOMEM leaves the state untouched.
 * Unit attentions go to registrations (struct pr_target); the daemon raises
 * them on every live nexus a target matches, on every node.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reservations/pr.h"
#include "reservations/pr_int.h"

/* Offsets named in field pointers (SPC-4 6.16.3 table 175). */
#define PROUT_P_SARK	      8
#define PROUT_P_FLAGS	      20
#define PROUT_F_SPEC_I_PT_BIT 3
#define PRMOVE_P_TID	      24

static int reserve_cap(struct pr_state *s, uint32_t need)
{
	struct pr_reg *n;
	uint32_t cap;

	if (need <= s->cap) {
		return 0;
	}
	cap = s->cap ? s->cap : 16;
	while (cap < need) {
		cap *= 2;
	}
	n = realloc(s->regs, sizeof(*n) * cap);
	if (n == NULL) {
		return -ENOMEM;
	}
	s->regs = n;
	s->cap = cap;
	return 0;
}

/* Append (capacity reserved by the caller). */
static void reg_append(struct pr_state *s, uint64_t key, const struct pr_nexus *nexus, bool all)
{
	struct pr_reg *r = &s->regs[s->nregs++];

	memset(r, 0, sizeof(*r));
	r->key = key;
	r->who.nexus = *nexus;
	r->who.all_tg_pt = all;
	r->name_hash = pr_name_hash(nexus->initiator);
}

/* Drop the registrations with mark[i] set, keeping order. */
static void reg_compact(struct pr_state *s, const uint8_t *mark)
{
	uint32_t i, j = 0;

	for (i = 0; i < s->nregs; i++) {
		if (!mark[i]) {
			s->regs[j++] = s->regs[i];
		}
	}
	s->nregs = j;
}

static void resv_clear(struct pr_state *s)
{
	s->type = PR_TYPE_NONE;
	s->scope = PR_SCOPE_LU;
	memset(&s->holder, 0, sizeof(s->holder));
}

static void resv_set(struct pr_state *s, uint8_t type, uint8_t scope, const struct pr_nexus *holder)
{
	s->type = type;
	s->scope = scope;
	/* All Registrants types have no single holder (SPC-4 5.13.10). */
	if (pr_type_all_registrants(type)) {
		memset(&s->holder, 0, sizeof(s->holder));
	} else {
		s->holder = *holder;
	}
}

/*
 * After registrations went away: a non-AR reservation whose holder lost its
 * registration is released; an AR reservation lasts while anyone is registered.
 */
static bool resv_lost_holder(const struct pr_state *s)
{
	if (s->type == PR_TYPE_NONE) {
		return false;
	}
	if (pr_type_all_registrants(s->type)) {
		return s->nregs == 0;
	}
	return pr_state_find_idx(s, &s->holder) < 0;
}

static bool type_is_ro_or_ar(uint8_t type)
{
	return type == PR_TYPE_WR_EX_RO || type == PR_TYPE_EX_AC_RO ||
	       pr_type_all_registrants(type);
}

static void gen_bump(struct pr_state *s, struct pr_result *res)
{
	s->generation++;
	res->changed = true;
}

/* UA @ua to every registration except index @skip (-1: none) and marked ones. */
static int ua_to_regs(const struct pr_state *s, long skip, const uint8_t *mark, enum pr_ua ua,
		      struct pr_result *res)
{
	uint32_t i;

	for (i = 0; i < s->nregs; i++) {
		if ((long)i == skip || (mark && mark[i])) {
			continue;
		}
		if (pr_res_add_ua(res, &s->regs[i].who, ua) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* SPC-4 5.13.7: REGISTER (ignore = false) and REGISTER AND IGNORE EXISTING KEY. */
static int apply_register(struct pr_state *s, const struct pr_op *op, bool ignore,
			  struct pr_result *res)
{
	long idx = pr_state_find_idx(s, &op->nexus);
	struct pr_target t;
	uint32_t i, j;
	uint8_t *mark;

	if (idx < 0) {
		if (!ignore && op->rk != 0) {
			pr_res_conflict(res);
			return 0;
		}
		if (op->sark == 0) {
			/* Unregistering an unregistered nexus: nothing to do, but it succeeded. */
			gen_bump(s, res);
			return 0;
		}
		t.nexus = op->nexus;
		t.all_tg_pt = op->all_tg_pt;
		for (i = 0; i < s->nregs; i++) {
			if (pr_target_overlap(&t, &s->regs[i].who)) {
				/* ALL_TG_PT would cover a nexus that is already registered. */
				pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false,
					     PROUT_P_FLAGS, 2);
				return 0;
			}
		}
		/* SPC-4 6.16.3: a TransportID naming a registered I_T nexus is an error. */
		for (j = 0; j < op->n_tids; j++) {
			t.nexus = op->tids[j];
			for (i = 0; i < s->nregs; i++) {
				if (pr_target_overlap(&t, &s->regs[i].who)) {
					pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST,
						     false, PROUT_P_FLAGS + 8, -1);
					return 0;
				}
			}
		}
		if ((uint64_t)s->nregs + 1 + op->n_tids > s->reg_limit) {
			pr_res_sense(res, PR_ASC_INSUFFICIENT_REGISTRATION_RESOURCES);
			return 0;
		}
		if (reserve_cap(s, s->nregs + 1 + op->n_tids) < 0) {
			return -ENOMEM;
		}
		reg_append(s, op->sark, &op->nexus, op->all_tg_pt);
		for (j = 0; j < op->n_tids; j++) {
			reg_append(s, op->sark, &op->tids[j], op->all_tg_pt);
		}
		s->aptpl = op->aptpl;
		gen_bump(s, res);
		return 0;
	}
	if (!ignore && op->rk != s->regs[idx].key) {
		pr_res_conflict(res);
		return 0;
	}
	if (op->spec_i_pt) {
		/* SPC-4 6.16.3: SPEC_I_PT from a registered I_T nexus. */
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false, PROUT_P_FLAGS,
			     PROUT_F_SPEC_I_PT_BIT);
		return 0;
	}
	if (op->sark != 0) {
		s->regs[idx].key = op->sark;
		s->aptpl = op->aptpl;
		gen_bump(s, res);
		return 0;
	}
	/* Unregister (5.13.11.3): may release the reservation. */
	mark = calloc(s->nregs, 1);
	if (mark == NULL) {
		return -ENOMEM;
	}
	mark[idx] = 1;
	if (s->type != PR_TYPE_NONE && !pr_type_all_registrants(s->type) &&
	    pr_target_matches(&s->regs[idx].who, s->holder.initiator, s->holder.rel_port_id) &&
	    (s->type == PR_TYPE_WR_EX_RO || s->type == PR_TYPE_EX_AC_RO)) {
		/* SPC-4 5.13.11.1: a Registrants Only holder left: tell the others. */
		if (ua_to_regs(s, idx, NULL, PR_UA_RESERVATIONS_RELEASED, res) < 0) {
			free(mark);
			return -ENOMEM;
		}
	}
	reg_compact(s, mark);
	free(mark);
	if (resv_lost_holder(s)) {
		resv_clear(s);
	}
	s->aptpl = op->aptpl;
	gen_bump(s, res);
	return 0;
}

/* SPC-4 5.13.9: RESERVE. Never changes PRgeneration. */
static int apply_reserve(struct pr_state *s, const struct pr_op *op, long idx,
			 struct pr_result *res)
{
	(void)idx;
	if (s->type == PR_TYPE_NONE) {
		resv_set(s, op->type, op->scope, &op->nexus);
		res->changed = true;
		return 0;
	}
	/* The holder may repeat its own reservation; anything else conflicts. */
	if (pr_state_is_holder(s, &op->nexus) && s->type == op->type && s->scope == op->scope) {
		return 0;
	}
	pr_res_conflict(res);
	return 0;
}

/* SPC-4 5.13.11.2: RELEASE. Never changes PRgeneration. */
static int apply_release(struct pr_state *s, const struct pr_op *op, long idx,
			 struct pr_result *res)
{
	uint8_t old = s->type;

	if (old == PR_TYPE_NONE || !pr_state_is_holder(s, &op->nexus)) {
		return 0; /* GOOD, no effect */
	}
	if (s->type != op->type || s->scope != op->scope) {
		pr_res_sense(res, PR_ASC_INVALID_RELEASE_OF_PR);
		return 0;
	}
	/* Registrants Only / All Registrants: the other registrants learn of it. */
	if (type_is_ro_or_ar(old) &&
	    ua_to_regs(s, idx, NULL, PR_UA_RESERVATIONS_RELEASED, res) < 0) {
		return -ENOMEM;
	}
	resv_clear(s);
	res->changed = true;
	return 0;
}

/* SPC-4 "Clearing": every registration and the reservation go. */
static int apply_clear(struct pr_state *s, long idx, struct pr_result *res)
{
	if (ua_to_regs(s, idx, NULL, PR_UA_RESERVATIONS_PREEMPTED, res) < 0) {
		return -ENOMEM;
	}
	s->nregs = 0;
	resv_clear(s);
	gen_bump(s, res);
	return 0;
}

/* Effects for the registrations marked for removal (except the sender's). */
static int preempt_effects(const struct pr_state *s, const uint8_t *mark, long idx, bool abort,
			   struct pr_result *res)
{
	uint32_t i;

	for (i = 0; i < s->nregs; i++) {
		if (!mark[i] || (long)i == idx) {
			continue;
		}
		if (pr_res_add_ua(res, &s->regs[i].who, PR_UA_REGISTRATIONS_PREEMPTED) < 0) {
			return -ENOMEM;
		}
		if (abort && pr_res_add_abort(res, &s->regs[i].who) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* SPC-4 5.13.12: PREEMPT and PREEMPT AND ABORT. */
static int apply_preempt(struct pr_state *s, const struct pr_op *op, long idx, bool abort,
			 struct pr_result *res)
{
	bool ar = pr_type_all_registrants(s->type);
	long hidx = -1;
	uint8_t *mark;
	uint32_t i, n = 0;
	int rc = 0;

	if (s->type != PR_TYPE_NONE && !ar) {
		hidx = pr_state_find_idx(s, &s->holder);
	}
	mark = calloc(s->nregs ? s->nregs : 1, 1);
	if (mark == NULL) {
		return -ENOMEM;
	}
	if (ar && op->sark == 0) {
		/* 5.13.12.2.2 b): all other registrations go; the sender reserves anew. */
		for (i = 0; i < s->nregs; i++) {
			mark[i] = (long)i != idx;
		}
		rc = preempt_effects(s, mark, idx, abort, res);
		if (rc == 0) {
			reg_compact(s, mark);
			resv_set(s, op->type, op->scope, &op->nexus);
			gen_bump(s, res);
		}
	} else if (hidx >= 0 && s->regs[hidx].key == op->sark) {
		/* 5.13.12.2.3: the holder is preempted; the sender takes over. */
		bool changed_type = s->type != op->type || s->scope != op->scope;

		for (i = 0; i < s->nregs; i++) {
			mark[i] = (long)i != idx && s->regs[i].key == op->sark;
		}
		rc = preempt_effects(s, mark, idx, abort, res);
		if (rc == 0 && changed_type) {
			rc = ua_to_regs(s, idx, mark, PR_UA_RESERVATIONS_RELEASED, res);
		}
		if (rc == 0) {
			reg_compact(s, mark);
			resv_set(s, op->type, op->scope, &op->nexus);
			gen_bump(s, res);
		}
	} else {
		/* 5.13.12.2.4: no holder named: remove the registrations with that key. */
		if (op->sark == 0) {
			pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false,
				     PROUT_P_SARK, -1);
			free(mark);
			return 0;
		}
		for (i = 0; i < s->nregs; i++) {
			mark[i] = s->regs[i].key == op->sark;
			n += mark[i];
		}
		if (n == 0) {
			pr_res_conflict(res);
			free(mark);
			return 0;
		}
		rc = preempt_effects(s, mark, idx, abort, res);
		if (rc == 0) {
			reg_compact(s, mark);
			if (resv_lost_holder(s)) {
				resv_clear(s);
			}
			gen_bump(s, res);
		}
	}
	free(mark);
	return rc;
}

/* SPC-4 5.13.8: REGISTER AND MOVE. */
static int apply_move(struct pr_state *s, const struct pr_op *op, long idx, struct pr_result *res)
{
	long didx;
	uint8_t *mark;

	if (s->type == PR_TYPE_NONE || pr_type_all_registrants(s->type) ||
	    !pr_state_is_holder(s, &op->nexus)) {
		pr_res_conflict(res);
		return 0;
	}
	didx = pr_state_find_idx(s, &op->dest);
	if (op->unreg && didx == idx) {
		/* The destination is covered by the registration UNREG would remove. */
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false, PRMOVE_P_TID, -1);
		return 0;
	}
	if (didx < 0) {
		if ((uint64_t)s->nregs + 1 > s->reg_limit) {
			pr_res_sense(res, PR_ASC_INSUFFICIENT_REGISTRATION_RESOURCES);
			return 0;
		}
		if (reserve_cap(s, s->nregs + 1) < 0) {
			return -ENOMEM;
		}
	}
	mark = NULL;
	if (op->unreg) {
		mark = calloc(s->nregs + 1, 1);
		if (mark == NULL) {
			return -ENOMEM;
		}
		mark[idx] = 1;
	}
	if (didx < 0) {
		reg_append(s, op->sark, &op->dest, false);
	} else {
		s->regs[didx].key = op->sark;
	}
	resv_set(s, op->type, op->scope, &op->dest);
	if (mark) {
		reg_compact(s, mark);
		free(mark);
	}
	s->aptpl = op->aptpl;
	gen_bump(s, res);
	return 0;
}

static int apply_out(struct pr_state *s, const struct pr_op *op, struct pr_result *res)
{
	long idx;

	/* SPC-2 5.5.1: PR commands from others conflict with an SPC-2 reservation. */
	if (s->spc2_reserved && !pr_nexus_eq(&s->spc2_holder, &op->nexus)) {
		pr_res_conflict(res);
		return 0;
	}
	if (op->sa == PR_OUT_REGISTER || op->sa == PR_OUT_REGISTER_AND_IGNORE) {
		return apply_register(s, op, op->sa == PR_OUT_REGISTER_AND_IGNORE, res);
	}
	/* Table 67: everything else needs a registered nexus quoting its own key. */
	idx = pr_state_find_idx(s, &op->nexus);
	if (idx < 0 || s->regs[idx].key != op->rk) {
		pr_res_conflict(res);
		return 0;
	}
	switch (op->sa) {
	case PR_OUT_RESERVE:
		return apply_reserve(s, op, idx, res);
	case PR_OUT_RELEASE:
		return apply_release(s, op, idx, res);
	case PR_OUT_CLEAR:
		return apply_clear(s, idx, res);
	case PR_OUT_PREEMPT:
		return apply_preempt(s, op, idx, false, res);
	case PR_OUT_PREEMPT_AND_ABORT:
		return apply_preempt(s, op, idx, true, res);
	case PR_OUT_REGISTER_AND_MOVE:
		return apply_move(s, op, idx, res);
	default:
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_CDB, true, 1, 4);
		return 0;
	}
}

/*
 * SPC-4 5.13.3 (CRH = 1): while any registration exists, RESERVE and
 * RELEASE succeed without effect for a holder or, under Registrants Only and
 * All Registrants types, for a registrant; otherwise they conflict (SPC-2
 * 5.5.1: any registration makes RESERVE/RELEASE conflict).
 */
static bool spc2_crh_noop(const struct pr_state *s, const struct pr_nexus *n)
{
	if (pr_state_is_holder(s, n)) {
		return true;
	}
	return type_is_ro_or_ar(s->type) && pr_state_find_idx(s, n) >= 0;
}

static int apply_spc2(struct pr_state *s, const struct pr_op *op, struct pr_result *res)
{
	switch (op->kind) {
	case PR_OP_SPC2_RESERVE:
		if (s->nregs > 0) {
			if (!spc2_crh_noop(s, &op->nexus)) {
				pr_res_conflict(res);
			}
			return 0;
		}
		if (s->spc2_reserved) {
			if (!pr_nexus_eq(&s->spc2_holder, &op->nexus)) {
				pr_res_conflict(res);
			}
			return 0;
		}
		s->spc2_reserved = true;
		s->spc2_holder = op->nexus;
		res->changed = true;
		return 0;
	case PR_OP_SPC2_RELEASE:
		if (s->nregs > 0) {
			if (!spc2_crh_noop(s, &op->nexus)) {
				pr_res_conflict(res);
			}
			return 0;
		}
		/* SPC-2 7.17: RELEASE by a non-holder is GOOD and changes nothing. */
		if (s->spc2_reserved && pr_nexus_eq(&s->spc2_holder, &op->nexus)) {
			s->spc2_reserved = false;
			memset(&s->spc2_holder, 0, sizeof(s->spc2_holder));
			res->changed = true;
		}
		return 0;
	case PR_OP_NEXUS_LOSS:
		if (!s->spc2_reserved || !pr_nexus_eq(&s->spc2_holder, &op->nexus)) {
			return 0;
		}
		/* fall through */
	case PR_OP_SPC2_RESET:
		if (s->spc2_reserved) {
			s->spc2_reserved = false;
			memset(&s->spc2_holder, 0, sizeof(s->spc2_holder));
			res->changed = true;
		}
		return 0;
	default:
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_CDB, true, 0, -1);
		return 0;
	}
}

int pr_apply(struct pr_state *state, const struct pr_op *op, struct pr_result *res)
{
	int rc;

	pr_result_fini(res);
	pr_res_good(res);
	if (op->kind == PR_OP_OUT) {
		rc = apply_out(state, op, res);
	} else {
		rc = apply_spc2(state, op, res);
	}
	if (rc < 0) {
		pr_result_fini(res);
	}
	return rc;
}

/*
 * An administrator breaks the LU's reservations (a dead node's or a gone
 * initiator's): CLEAR as no registrant sent it, so every registrant gets
 * RESERVATIONS PREEMPTED, PRgeneration moves on, and an SPC-2 reservation,
 * which CLEAR leaves alone, goes too: nothing could release it otherwise.
 */
int pr_admin_clear(struct pr_state *state, struct pr_result *res)
{
	int rc;

	pr_result_fini(res);
	pr_res_good(res);
	rc = apply_clear(state, -1, res);
	if (rc < 0) {
		pr_result_fini(res);
		return rc;
	}
	state->spc2_reserved = false;
	memset(&state->spc2_holder, 0, sizeof(state->spc2_holder));
	res->changed = true;
	return 0;
}
