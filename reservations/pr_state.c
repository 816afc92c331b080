// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PR state of one logical unit: lifetime, registration lookup, the holder
 * rule (SPC-4 5.13.10) and the access check before a command runs (SPC-4
 * 5.13.1 table 66, SBC-3 4.17 table 13, SPC-2 5.5.1).
 *
 * Lookups scan the registration array in order, filtering on a cached hash
 * of the case-folded iSCSI name before comparing strings, so the access check
 * on the I/O path costs one integer compare per registrant and allocates
 * nothing. Registrations never overlap (see pr.h), so the first match is the
 * only one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reservations/pr.h"
#include "reservations/pr_int.h"

static char fold(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

size_t pr_name_part_len(const char *initiator)
{
	size_t n = strlen(initiator), i;

	if (n < PR_ISID_SEP_LEN) {
		return n;
	}
	for (i = 0; i + PR_ISID_SEP_LEN <= n; i++) {
		if (strncasecmp(initiator + i, PR_ISID_SEP, PR_ISID_SEP_LEN) == 0) {
			return i;
		}
	}
	return n;
}

bool pr_name_is_bare(const char *initiator)
{
	return initiator[pr_name_part_len(initiator)] == '\0';
}

uint64_t pr_name_hash(const char *initiator)
{
	size_t n = pr_name_part_len(initiator), i;
	uint64_t h = PR_FNV64_OFFSET;

	for (i = 0; i < n; i++) {
		h ^= (uint8_t)fold(initiator[i]);
		h *= PR_FNV64_PRIME;
	}
	return h;
}

bool pr_name_valid(const char *s, size_t max)
{
	size_t n = strnlen(s, max), i;

	if (n == 0 || n == max) {
		return false;
	}
	for (i = 0; i < n; i++) {
		/* iSCSI names and port names are printable ASCII without spaces. */
		if ((uint8_t)s[i] <= ' ' || (uint8_t)s[i] > '~') {
			return false;
		}
	}
	return true;
}

bool pr_nexus_eq(const struct pr_nexus *a, const struct pr_nexus *b)
{
	return a->rel_port_id == b->rel_port_id && strcasecmp(a->initiator, b->initiator) == 0;
}

/* Does registration initiator pattern @pat cover initiator port @port? */
static bool initiator_covers(const char *pat, const char *port)
{
	size_t n;

	if (strcasecmp(pat, port) == 0) {
		return true;
	}
	if (!pr_name_is_bare(pat)) {
		return false;
	}
	n = strlen(pat);
	return pr_name_part_len(port) == n && strncasecmp(pat, port, n) == 0;
}

bool pr_target_matches(const struct pr_target *t, const char *initiator_port, uint16_t rel_port_id)
{
	if (!t->all_tg_pt && t->nexus.rel_port_id != rel_port_id) {
		return false;
	}
	return initiator_covers(t->nexus.initiator, initiator_port);
}

bool pr_target_overlap(const struct pr_target *a, const struct pr_target *b)
{
	if (!a->all_tg_pt && !b->all_tg_pt && a->nexus.rel_port_id != b->nexus.rel_port_id) {
		return false;
	}
	return initiator_covers(a->nexus.initiator, b->nexus.initiator) ||
	       initiator_covers(b->nexus.initiator, a->nexus.initiator);
}

long pr_state_find_idx(const struct pr_state *state, const struct pr_nexus *nexus)
{
	uint64_t h = pr_name_hash(nexus->initiator);
	uint32_t i;

	for (i = 0; i < state->nregs; i++) {
		const struct pr_reg *r = &state->regs[i];

		if (r->name_hash == h &&
		    pr_target_matches(&r->who, nexus->initiator, nexus->rel_port_id)) {
			return (long)i;
		}
	}
	return -1;
}

const struct pr_reg *pr_state_find(const struct pr_state *state, const struct pr_nexus *nexus)
{
	long i = pr_state_find_idx(state, nexus);

	return i < 0 ? NULL : &state->regs[i];
}

bool pr_type_all_registrants(uint8_t type)
{
	return type == PR_TYPE_WR_EX_AR || type == PR_TYPE_EX_AC_AR;
}

bool pr_type_valid(uint8_t type)
{
	switch (type) {
	case PR_TYPE_WR_EX:
	case PR_TYPE_EX_AC:
	case PR_TYPE_WR_EX_RO:
	case PR_TYPE_EX_AC_RO:
	case PR_TYPE_WR_EX_AR:
	case PR_TYPE_EX_AC_AR:
		return true;
	default:
		return false;
	}
}

bool pr_state_is_holder(const struct pr_state *state, const struct pr_nexus *nexus)
{
	if (state->type == PR_TYPE_NONE) {
		return false;
	}
	/* SPC-4 5.13.10: every registrant holds an All Registrants reservation. */
	if (pr_type_all_registrants(state->type)) {
		return pr_state_find_idx(state, nexus) >= 0;
	}
	return pr_nexus_eq(&state->holder, nexus);
}

void pr_state_init(struct pr_state *state, uint32_t reg_limit)
{
	memset(state, 0, sizeof(*state));
	state->scope = PR_SCOPE_LU;
	state->reg_limit = reg_limit ? reg_limit : PR_REG_LIMIT_DEFAULT;
}

void pr_state_fini(struct pr_state *state)
{
	free(state->regs);
	state->regs = NULL;
	state->nregs = 0;
	state->cap = 0;
}

int pr_state_copy(struct pr_state *dst, const struct pr_state *src)
{
	struct pr_reg *regs = NULL;

	if (src->nregs) {
		regs = malloc(sizeof(*regs) * src->nregs);
		if (regs == NULL) {
			return -ENOMEM;
		}
		memcpy(regs, src->regs, sizeof(*regs) * src->nregs);
	}
	pr_state_fini(dst);
	*dst = *src;
	dst->regs = regs;
	dst->cap = src->nregs;
	return 0;
}

void pr_state_power_on(struct pr_state *state)
{
	/* SPC-2 reservations never survive a power cycle (SPC-2 5.5.1). */
	state->spc2_reserved = false;
	memset(&state->spc2_holder, 0, sizeof(state->spc2_holder));
	if (state->aptpl) {
		return;
	}
	/* SPC-4 5.13.4: without APTPL, power loss drops registrations and reservation. */
	state->nregs = 0;
	state->type = PR_TYPE_NONE;
	state->scope = PR_SCOPE_LU;
	memset(&state->holder, 0, sizeof(state->holder));
}

/*
 * SPC-4 5.13.1 table 66 / SBC-3 table 13, per column "held by another I_T
 * nexus": Write Exclusive and Exclusive Access conflict for every other
 * nexus, registered or not; Registrants Only and All Registrants types let
 * registered nexuses through and treat unregistered ones like the plain type.
 */
static bool pr_type_allows(uint8_t type, bool registered, enum pr_class cls)
{
	bool write_excl;

	switch (type) {
	case PR_TYPE_WR_EX_RO:
	case PR_TYPE_EX_AC_RO:
	case PR_TYPE_WR_EX_AR:
	case PR_TYPE_EX_AC_AR:
		if (registered) {
			return true;
		}
		break;
	default:
		break;
	}
	write_excl = type == PR_TYPE_WR_EX || type == PR_TYPE_WR_EX_RO || type == PR_TYPE_WR_EX_AR;
	switch (cls) {
	case PR_CLASS_READ:
		return write_excl;
	case PR_CLASS_WRITE:
	case PR_CLASS_CONFLICT:
		return false;
	default:
		return true;
	}
}

bool pr_check_access(const struct pr_state *state, const struct pr_nexus *nexus, enum pr_class cls)
{
	/*
	 * SPC-2 5.5.1: an SPC-2 reservation lets only its holder through, apart
	 * from commands that never conflict and RESERVE/RELEASE themselves
	 * (which pr_apply answers: RESERVE conflicts, RELEASE is a no-op).
	 */
	if (state->spc2_reserved && !pr_nexus_eq(&state->spc2_holder, nexus)) {
		return cls == PR_CLASS_ALLOWED || cls == PR_CLASS_SPC2;
	}
	if (state->type == PR_TYPE_NONE) {
		return true;
	}
	/* PR IN/OUT and RESERVE/RELEASE are decided by pr_apply (SPC-4 table 67, 5.13.3). */
	if (cls == PR_CLASS_ALLOWED || cls == PR_CLASS_PR || cls == PR_CLASS_SPC2) {
		return true;
	}
	if (cls >= PR_CLASS_COUNT) {
		return false; /* unknown class: refuse rather than guess */
	}
	if (pr_state_is_holder(state, nexus)) {
		return true;
	}
	return pr_type_allows(state->type, pr_state_find_idx(state, nexus) >= 0, cls);
}

/* ---- results ---- */

void pr_result_init(struct pr_result *res)
{
	memset(res, 0, sizeof(*res));
}

void pr_result_fini(struct pr_result *res)
{
	free(res->ua);
	free(res->abort);
	memset(res, 0, sizeof(*res));
}

void pr_res_good(struct pr_result *res)
{
	res->status = PR_STATUS_GOOD;
	res->sense_key = 0;
	res->asc = 0;
	res->sks_valid = false;
}

void pr_res_conflict(struct pr_result *res)
{
	pr_res_good(res);
	res->status = PR_STATUS_RESERVATION_CONFLICT;
}

void pr_res_sense(struct pr_result *res, uint16_t asc)
{
	pr_res_good(res);
	res->status = PR_STATUS_CHECK_CONDITION;
	res->sense_key = PR_SENSE_ILLEGAL_REQUEST;
	res->asc = asc;
}

void pr_res_field(struct pr_result *res, uint16_t asc, bool in_cdb, uint16_t byte, int bit)
{
	pr_res_sense(res, asc);
	res->sks_valid = true;
	res->sks_cd = in_cdb;
	res->sks_field = byte;
	res->sks_bpv = bit >= 0;
	res->sks_bit = bit >= 0 ? (uint8_t)bit : 0;
}

/* Grow an effect array geometrically so n effects cost O(n) copying. */
static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t ncap;
	void *n;

	if (need <= *cap) {
		return 0;
	}
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need) {
		ncap *= 2;
	}
	n = realloc(*arr, elem * ncap);
	if (n == NULL) {
		return -ENOMEM;
	}
	*arr = n;
	*cap = ncap;
	return 0;
}

int pr_res_add_ua(struct pr_result *res, const struct pr_target *who, enum pr_ua ua)
{
	void *arr = res->ua;

	if (grow(&arr, &res->ua_cap, res->n_ua + 1, sizeof(*res->ua)) < 0) {
		return -ENOMEM;
	}
	res->ua = arr;
	res->ua[res->n_ua].who = *who;
	res->ua[res->n_ua].ua = (uint8_t)ua;
	res->n_ua++;
	return 0;
}

int pr_res_add_abort(struct pr_result *res, const struct pr_target *who)
{
	void *arr = res->abort;

	if (grow(&arr, &res->abort_cap, res->n_abort + 1, sizeof(*res->abort)) < 0) {
		return -ENOMEM;
	}
	res->abort = arr;
	res->abort[res->n_abort] = *who;
	res->n_abort++;
	return 0;
}
