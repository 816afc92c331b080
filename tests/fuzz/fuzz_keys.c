// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the text codec and §13 negotiation
 * (daemon/iscsi/text.c, keys.c): byte 0 picks the phase, session type and
 * leading flag, the rest is a data segment. Every parsed pair is
 * negotiated; the response must stay within its buffer and parse back.
 */
#include <stdint.h>
#include <stdlib.h>

#include "daemon/iscsi/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum iscsi_neg_phase phases[] = {
		ISCSI_NEG_SECURITY, ISCSI_NEG_OPERATIONAL, ISCSI_NEG_FULL_FEATURE,
		ISCSI_NEG_OPERATIONAL,
	};
	static uint8_t rspbuf[8192];
	struct iscsi_text_builder rsp;
	struct iscsi_text_list list, back;
	struct iscsi_params limits;
	struct iscsi_neg neg;
	enum iscsi_neg_phase phase;

	if (size < 1) {
		return 0;
	}
	phase = phases[data[0] & 3];
	iscsi_params_init_limits(&limits);
	iscsi_neg_init(&neg, &limits, !(data[0] & 4));
	neg.session_type = (data[0] & 8) ? ISCSI_SESSION_DISCOVERY : ISCSI_SESSION_NORMAL;
	iscsi_text_builder_init(&rsp, rspbuf, sizeof(rspbuf));
	if (iscsi_text_parse((const char *)data + 1, size - 1, &list) != ISCSI_TEXT_OK) {
		return 0;
	}
	for (unsigned int i = 0; i < list.count; i++) {
		const struct iscsi_text_pair *p = &list.pairs[i];

		(void)iscsi_neg_key(&neg, phase, p->key, p->key_len, p->value, &rsp);
	}
	(void)iscsi_neg_declare(&neg, phase, 1, &rsp);
	iscsi_neg_finish(&neg);
	if (rsp.len > rsp.cap || neg.result.first_burst > neg.result.max_burst ||
	    neg.result.max_xmit_dsl < ISCSI_MRDSL_MIN || neg.result.max_connections != 1) {
		abort();
	}
	/* Our answers are well-formed text (keys come from valid input). */
	if (iscsi_text_parse((const char *)rspbuf, rsp.len, &back) == ISCSI_TEXT_ERR_NO_EQUALS) {
		abort();
	}
	return 0;
}
