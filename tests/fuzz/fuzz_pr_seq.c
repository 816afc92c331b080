// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for sequences of PR operations from several I_T nexuses
 * (4 initiators x 2 target ports). Each 4-byte step picks the sender, a PR
 * OUT service action, TYPE, keys from a small colliding set, ALL_TG_PT /
 * APTPL, SPEC_I_PT TransportIDs and REGISTER AND MOVE destinations, or an
 * SPC-2 RESERVE/RELEASE/reset/nexus loss. After every step:
 *  - at most one reservation; its holder is registered, or for All
 *    Registrants types every registrant holds it;
 *  - registrations never overlap and never carry key 0;
 *  - PRgeneration never decreases, and changes only for the service
 *    actions SPC-4 6.15.2 names;
 *  - the snapshot encoding round-trips byte for byte;
 *  - a replica fed the wire-encoded ops holds the same state (digest).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reservations/pr.h"
#include "tests/fuzz/fuzz_pr_check.h"

#define N_HOSTS	  4
#define N_PORTS	  2
#define N_NEXUS	  (N_HOSTS * N_PORTS)
#define STEP_LEN  4
#define PARAM_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t types[8] = {PR_TYPE_WR_EX,	     PR_TYPE_EX_AC,    PR_TYPE_WR_EX_RO,
				 PR_TYPE_EX_AC_RO,   PR_TYPE_WR_EX_AR, PR_TYPE_EX_AC_AR,
				 0x2 /* reserved */, PR_TYPE_NONE};

static void mk(struct pr_nexus *n, unsigned int host, uint16_t port)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->initiator, sizeof(n->initiator), "iqn.2026-11.org.fuzz:h%u,i,0x40000000000%u",
		 host, host);
	snprintf(n->target, sizeof(n->target), "iqn.2026-11.org.quorate:t,t,0x%x", port);
	n->rel_port_id = port;
}

static size_t put_tid(uint8_t *p, const char *name, bool bare)
{
	size_t n = bare ? (size_t)(strchr(name, ',') - name) : strlen(name);
	size_t len = ((n + 1 + 3) / 4) * 4;

	if (len < 20) {
		len = 20;
	}
	memset(p, 0, 4 + len);
	p[0] = (uint8_t)(((bare ? 0 : 1) << 6) | 0x5);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memcpy(p + 4, name, n);
	return 4 + len;
}

static void put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Build the op of one step; false if the step decodes to an error (nothing to apply). */
static bool step_op(const struct pr_state *s, const struct pr_nexus *nx, const uint8_t *b,
		    struct pr_op *op)
{
	const struct pr_nexus *n = &nx[b[0] % N_NEXUS];
	const struct pr_nexus *other = &nx[(b[3] >> 1) % N_NEXUS];
	uint8_t cdb[10] = {0x5f}, p[PARAM_MAX] = {0};
	const struct pr_reg *own = pr_state_find(s, n);
	uint64_t keys[4] = {0, 1, 2, 3};
	struct pr_result r;
	size_t plen = 24;
	uint8_t sa = b[1] & 7;
	bool ok;

	if (b[0] & 0x80) {
		/* SPC-2 RESERVE / RELEASE / reset / nexus loss. */
		static const enum pr_op_kind kinds[4] = {PR_OP_SPC2_RESERVE, PR_OP_SPC2_RELEASE,
							 PR_OP_SPC2_RESET, PR_OP_NEXUS_LOSS};
		enum pr_op_kind k = kinds[(b[0] >> 5) & 3];

		pr_op_spc2(op, k, k == PR_OP_SPC2_RESET ? NULL : n);
		return true;
	}
	cdb[1] = sa;
	cdb[2] = types[(b[1] >> 3) & 7];
	/* RESERVATION KEY: mostly the sender's own, sometimes wrong. */
	put64(p, (b[2] & 3) == 0 && own ? own->key : keys[b[2] & 3]);
	put64(p + 8, keys[(b[2] >> 2) & 3]);
	p[20] = (uint8_t)(((b[1] & 0x40) ? 0x04 : 0) | ((b[1] & 0x80) ? 0x01 : 0));
	if (sa == PR_OUT_REGISTER_AND_MOVE) {
		size_t tl = put_tid(p + 24, other->initiator, false);

		memset(p + 16, 0, 8);
		p[17] = b[3] & 3;
		p[19] = (uint8_t)other->rel_port_id;
		put32(p + 20, (uint32_t)tl);
		plen = 24 + tl;
	} else if (sa == PR_OUT_REGISTER && (b[3] & 1)) {
		size_t tl = put_tid(p + 28, other->initiator, (b[2] & 0x40) != 0);

		if (b[2] & 0x80) {
			tl += put_tid(p + 28 + tl, nx[(b[3] >> 4) % N_NEXUS].initiator, false);
		}
		p[20] |= 0x08;
		put32(p + 24, (uint32_t)tl);
		plen = 28 + tl;
	}
	put32(cdb + 5, (uint32_t)plen);
	pr_result_init(&r);
	ok = pr_out_decode(cdb, sizeof(cdb), p, plen, n, NULL, op, &r) == 0 &&
	     r.status == PR_STATUS_GOOD;
	fuzz_pr_check_result(&r);
	pr_result_fini(&r);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pr_nexus nx[N_NEXUS];
	struct pr_state s, twin;
	struct pr_result r;
	struct pr_op op;
	size_t off;
	unsigned int i;

	for (i = 0; i < N_NEXUS; i++) {
		mk(&nx[i], i % N_HOSTS, (uint16_t)(1 + i / N_HOSTS));
	}
	pr_state_init(&s, 6);
	pr_state_init(&twin, 6);
	pr_op_init(&op);
	for (off = 0; off + STEP_LEN <= size; off += STEP_LEN) {
		uint32_t gen = s.generation;

		if (!step_op(&s, nx, data + off, &op)) {
			continue;
		}
		pr_result_init(&r);
		if (pr_apply(&s, &op, &r) != 0) {
			pr_result_fini(&r);
			break;
		}
		fuzz_pr_check_result(&r);
		/* SPC-4 6.15.2: only successful REGISTER..REGISTER AND MOVE (not RESERVE/RELEASE).
		 */
		if (r.status != PR_STATUS_GOOD || op.kind != PR_OP_OUT || op.sa == PR_OUT_RESERVE ||
		    op.sa == PR_OUT_RELEASE) {
			FUZZ_PR_ASSERT(s.generation == gen);
		} else {
			FUZZ_PR_ASSERT(s.generation == gen + 1);
		}
		/* PREEMPT AND ABORT is the only action that aborts tasks. */
		FUZZ_PR_ASSERT(r.n_abort == 0 ||
			       (op.kind == PR_OP_OUT && op.sa == PR_OUT_PREEMPT_AND_ABORT));
		pr_result_fini(&r);
		fuzz_pr_check_replica(&op, &twin);
		FUZZ_PR_ASSERT(fuzz_pr_check_state(&s) == pr_state_digest(&twin));
	}
	pr_op_fini(&op);
	pr_state_fini(&twin);
	pr_state_fini(&s);
	return 0;
}
