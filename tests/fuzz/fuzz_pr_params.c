// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for PERSISTENT RESERVE OUT/IN decoding: the input is a
 * CDB (10 bytes) followed by the parameter list, sent from one of a few
 * I_T nexuses to a LU whose state already holds registrations (one with
 * ALL_TG_PT, one registered by a format-00b name) and a reservation, so
 * the decoder's TransportID and length handling and every apply path see
 * hostile bytes. Byte 0 of the CDB is ignored (always PR OUT); the same
 * bytes are also answered as a PR IN CDB. Checked: no crash, a well-formed
 * result, state invariants, op and snapshot wire round trips, and that a
 * replica applying the wire-decoded op reaches the same state.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reservations/pr.h"
#include "tests/fuzz/fuzz_pr_check.h"

#define FUZZ_CDB_LEN  10
#define FUZZ_PRIN_CAP 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mk(struct pr_nexus *n, unsigned int host, uint16_t port)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->initiator, sizeof(n->initiator), "iqn.2026-11.org.fuzz:h%u,i,0x00023d00000%u",
		 host, host);
	snprintf(n->target, sizeof(n->target), "iqn.2026-11.org.quorate:t,t,0x%x", port);
	n->rel_port_id = port;
}

static void run(struct pr_state *s, const struct pr_nexus *n, uint8_t sa, uint8_t type, uint64_t rk,
		uint64_t sark, uint8_t flags)
{
	uint8_t cdb[FUZZ_CDB_LEN] = {0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0}, p[24] = {0};
	struct pr_result r;
	struct pr_op op;
	int i;

	for (i = 0; i < 8; i++) {
		p[i] = (uint8_t)(rk >> (56 - 8 * i));
		p[8 + i] = (uint8_t)(sark >> (56 - 8 * i));
	}
	p[20] = flags;
	pr_op_init(&op);
	pr_result_init(&r);
	if (pr_out_decode(cdb, sizeof(cdb), p, sizeof(p), n, NULL, &op, &r) == 0 &&
	    r.status == PR_STATUS_GOOD) {
		pr_apply(s, &op, &r);
	}
	pr_result_fini(&r);
	pr_op_fini(&op);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = {1, 2, 3};
	struct pr_decode_ctx ctx = {ports, 3};
	struct pr_nexus n[4];
	struct pr_state s, twin;
	struct pr_result r;
	struct pr_op op;
	uint8_t cdb[FUZZ_CDB_LEN], *buf;
	uint32_t xfer, len, gen;
	unsigned int i;

	if (size < FUZZ_CDB_LEN) {
		return 0;
	}
	for (i = 0; i < 4; i++) {
		mk(&n[i], i, (uint16_t)(1 + i % 2));
	}
	pr_state_init(&s, 8);
	run(&s, &n[0], PR_OUT_REGISTER, 0, 0, 0x10, 0x04); /* ALL_TG_PT */
	run(&s, &n[1], PR_OUT_REGISTER, 0, 0, 0x11, 0x01); /* APTPL */
	run(&s, &n[0], PR_OUT_RESERVE, PR_TYPE_WR_EX_RO, 0x10, 0, 0);
	fuzz_pr_check_state(&s);
	pr_state_init(&twin, 8);
	FUZZ_PR_ASSERT(pr_state_copy(&twin, &s) == 0);
	gen = s.generation;

	memcpy(cdb, data, sizeof(cdb));
	cdb[0] = 0x5f;
	pr_op_init(&op);
	pr_result_init(&r);
	if (pr_out_decode(cdb, sizeof(cdb), data + FUZZ_CDB_LEN, size - FUZZ_CDB_LEN,
			  &n[data[0] & 3], &ctx, &op, &r) == 0) {
		fuzz_pr_check_result(&r);
		if (r.status == PR_STATUS_GOOD) {
			if (pr_apply(&s, &op, &r) == 0) {
				fuzz_pr_check_result(&r);
				fuzz_pr_check_replica(&op, &twin);
				FUZZ_PR_ASSERT(pr_state_digest(&twin) == pr_state_digest(&s));
			}
		}
	}
	FUZZ_PR_ASSERT(s.generation >= gen);
	fuzz_pr_check_state(&s);
	pr_result_fini(&r);
	pr_op_fini(&op);

	/* The same bytes as a PR IN CDB, into a buffer smaller than some answers. */
	buf = malloc(FUZZ_PRIN_CAP);
	FUZZ_PR_ASSERT(buf != NULL);
	cdb[0] = 0x5e;
	pr_result_init(&r);
	pr_in_build(&s, cdb, sizeof(cdb), &n[0], buf, (uint32_t)(data[1] % 2 ? 64 : FUZZ_PRIN_CAP),
		    &xfer, &len, &r);
	FUZZ_PR_ASSERT(len <= xfer && len <= FUZZ_PRIN_CAP);
	fuzz_pr_check_result(&r);
	free(buf);

	/* Arbitrary bytes as wire messages: rejected or canonical. */
	pr_op_init(&op);
	if (pr_op_decode(data, size, &op) == 0) {
		fuzz_pr_check_replica(&op, &twin);
	}
	pr_op_fini(&op);
	if (pr_state_decode(data, size, &twin) == 0) {
		fuzz_pr_check_state(&twin);
	}
	pr_state_fini(&twin);
	pr_state_fini(&s);
	return 0;
}
