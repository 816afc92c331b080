/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Invariant checks shared by the PR fuzz targets (fuzz_pr_params,
 * fuzz_pr_seq): the engine's state must always be one it can reach, and
 * its wire encoding must round-trip byte for byte. A violated invariant
 * aborts, which libFuzzer and the replay driver both report as a crash.
 */
#ifndef QUORATE_TESTS_FUZZ_PR_CHECK_H
#define QUORATE_TESTS_FUZZ_PR_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "reservations/pr.h"

#define FUZZ_PR_ASSERT(c)                                                                          \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static inline bool fuzz_pr_type_ar(uint8_t t)
{
	return t == PR_TYPE_WR_EX_AR || t == PR_TYPE_EX_AC_AR;
}

/* Structural invariants plus snapshot round trip; returns the digest. */
static inline uint64_t fuzz_pr_check_state(const struct pr_state *s)
{
	struct pr_state t;
	uint8_t *a, *b;
	size_t n;
	uint32_t i, j;

	/* At most one reservation, held by a registrant (all of them for AR types). */
	if (s->type != PR_TYPE_NONE) {
		FUZZ_PR_ASSERT(pr_type_valid(s->type));
		if (fuzz_pr_type_ar(s->type)) {
			FUZZ_PR_ASSERT(s->nregs > 0);
			for (i = 0; i < s->nregs; i++) {
				FUZZ_PR_ASSERT(pr_state_is_holder(s, &s->regs[i].who.nexus));
			}
		} else {
			FUZZ_PR_ASSERT(pr_state_find(s, &s->holder) != NULL);
			FUZZ_PR_ASSERT(pr_state_is_holder(s, &s->holder));
		}
	}
	/* Registrations never overlap; keys are never zero. */
	for (i = 0; i < s->nregs; i++) {
		FUZZ_PR_ASSERT(s->regs[i].key != 0);
		for (j = 0; j < i; j++) {
			FUZZ_PR_ASSERT(
				!(pr_target_matches(&s->regs[j].who, s->regs[i].who.nexus.initiator,
						    s->regs[i].who.nexus.rel_port_id) &&
				  pr_target_matches(&s->regs[i].who, s->regs[j].who.nexus.initiator,
						    s->regs[j].who.nexus.rel_port_id)));
		}
	}
	n = pr_state_encoded_size(s);
	a = malloc(n);
	b = malloc(n);
	FUZZ_PR_ASSERT(a && b);
	FUZZ_PR_ASSERT(pr_state_encode(s, a, n) == (int)n);
	pr_state_init(&t, s->reg_limit);
	FUZZ_PR_ASSERT(pr_state_decode(a, n, &t) == 0);
	FUZZ_PR_ASSERT(pr_state_encode(&t, b, n) == (int)n);
	FUZZ_PR_ASSERT(memcmp(a, b, n) == 0);
	FUZZ_PR_ASSERT(pr_state_digest(&t) == pr_state_digest(s));
	pr_state_fini(&t);
	free(a);
	free(b);
	return pr_state_digest(s);
}

/* A result is well formed: status and sense agree. */
static inline void fuzz_pr_check_result(const struct pr_result *r)
{
	FUZZ_PR_ASSERT(r->status == PR_STATUS_GOOD || r->status == PR_STATUS_CHECK_CONDITION ||
		       r->status == PR_STATUS_RESERVATION_CONFLICT);
	FUZZ_PR_ASSERT((r->status == PR_STATUS_CHECK_CONDITION) == (r->sense_key != 0));
	FUZZ_PR_ASSERT(r->status == PR_STATUS_GOOD || (r->n_ua == 0 && r->n_abort == 0));
}

/*
 * Replication check: the op sent over the wire and decoded on another node
 * must be accepted and lead @twin (a copy of the pre-state) to the same state.
 */
static inline void fuzz_pr_check_replica(const struct pr_op *op, struct pr_state *twin)
{
	struct pr_op back;
	struct pr_result r;
	size_t n = pr_op_encoded_size(op);
	uint8_t *a = malloc(n), *b = malloc(n);

	FUZZ_PR_ASSERT(a && b);
	FUZZ_PR_ASSERT(pr_op_encode(op, a, n) == (int)n);
	pr_op_init(&back);
	FUZZ_PR_ASSERT(pr_op_decode(a, n, &back) == 0);
	FUZZ_PR_ASSERT(pr_op_encode(&back, b, n) == (int)n);
	FUZZ_PR_ASSERT(memcmp(a, b, n) == 0);
	pr_result_init(&r);
	FUZZ_PR_ASSERT(pr_apply(twin, &back, &r) == 0);
	pr_result_fini(&r);
	pr_op_fini(&back);
	free(a);
	free(b);
}

#endif
