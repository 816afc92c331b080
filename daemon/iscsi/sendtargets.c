// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SendTargets answers (RFC 7143 §13.3, Appendix C) and the Text
 * Request/Response exchange of full feature phase (§11.10, §11.11): request
 * text accumulated over C=1 PDUs, one response built whole and sent in
 * pieces of at most the initiator's MaxRecvDataSegmentLength, chained by a
 * Target Transfer Tag that the initiator echoes (§11.11.4: F=0 pieces carry
 * a TTT other than 0xffffffff, the last piece F=1 and TTT 0xffffffff).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/iscsi/pdu.h"
#include "daemon/iscsi/sendtargets.h"

/* Text Request/Response byte 1: C bit (§11.10.2, §11.11.2). */
#define TEXT_FLAG_CONTINUE 0x40

#define ST_ALL "All"

static int add_target(const struct iscsi_st_target *t, struct iscsi_text_builder *out)
{
	if (iscsi_text_add(out, "TargetName", t->name) != 0) {
		return -ENOSPC;
	}
	for (unsigned int i = 0; i < t->n_addresses; i++) {
		if (iscsi_text_add(out, "TargetAddress", t->addresses[i]) != 0) {
			return -ENOSPC;
		}
	}
	return 0;
}

int iscsi_sendtargets_build(const char *value, enum iscsi_session_type type,
			    const char *session_target, const struct iscsi_st_target *targets,
			    unsigned int n_targets, struct iscsi_text_builder *out)
{
	const char *want;

	if (strcmp(value, ST_ALL) == 0) {
		/* Appendix C: "All" is only for Discovery sessions. */
		if (type != ISCSI_SESSION_DISCOVERY) {
			return iscsi_text_add(out, "SendTargets", "Reject");
		}
		for (unsigned int i = 0; i < n_targets; i++) {
			if (add_target(&targets[i], out) != 0) {
				return -ENOSPC;
			}
		}
		return 0;
	}
	want = value[0] != '\0' ? value : (type == ISCSI_SESSION_NORMAL ? session_target : NULL);
	if (want == NULL || want[0] == '\0') {
		return 0;
	}
	for (unsigned int i = 0; i < n_targets; i++) {
		if (strcmp(targets[i].name, want) == 0) {
			return add_target(&targets[i], out);
		}
	}
	return 0;
}

int iscsi_text_exchange_init(struct iscsi_text_exchange *x)
{
	memset(x, 0, sizeof(*x));
	iscsi_text_accum_init(&x->req);
	x->rsp = malloc(ISCSI_TEXT_ACCUM_MAX);
	if (x->rsp == NULL) {
		return -ENOMEM;
	}
	x->ttt = ISCSI_RESERVED_TAG;
	x->next_ttt = 1;
	return 0;
}

void iscsi_text_exchange_fini(struct iscsi_text_exchange *x)
{
	iscsi_text_accum_fini(&x->req);
	free(x->rsp);
	x->rsp = NULL;
}

static void exchange_reset(struct iscsi_text_exchange *x)
{
	iscsi_text_accum_reset(&x->req);
	x->rsp_len = 0;
	x->rsp_off = 0;
	x->ttt = ISCSI_RESERVED_TAG;
	x->active = false;
}

static uint32_t new_ttt(struct iscsi_text_exchange *x)
{
	uint32_t t = x->next_ttt++;

	if (x->next_ttt == ISCSI_RESERVED_TAG) {
		x->next_ttt = 1;
	}
	return t;
}

static void build_rsp_bhs(uint8_t *rsp, bool final, bool cont, uint32_t itt, uint32_t ttt,
			  uint32_t dsl)
{
	memset(rsp, 0, ISCSI_BHS_LEN);
	iscsi_bhs_set_opcode(rsp, ISCSI_OP_TEXT_RSP);
	iscsi_bhs_set_flags(rsp, (uint8_t)((final ? ISCSI_FLAG_FINAL : 0) |
					   (cont ? TEXT_FLAG_CONTINUE : 0)));
	iscsi_bhs_set_data_len(rsp, dsl);
	iscsi_bhs_set_itt(rsp, itt);
	iscsi_bhs_set_ttt(rsp, ttt);
}

static enum iscsi_text_step send_piece(struct iscsi_text_exchange *x,
				       const struct iscsi_text_ctx *ctx, uint8_t *rsp_bhs,
				       const uint8_t **rsp_data, uint32_t *rsp_len)
{
	uint32_t limit = ctx->params->max_xmit_dsl;
	uint32_t left = x->rsp_len - x->rsp_off;
	uint32_t n = left < limit ? left : limit;
	bool more = n < left;

	*rsp_data = x->rsp + x->rsp_off;
	*rsp_len = n;
	x->rsp_off += n;
	if (more) {
		x->ttt = new_ttt(x);
		build_rsp_bhs(rsp_bhs, false, true, x->itt, x->ttt, n);
	} else {
		build_rsp_bhs(rsp_bhs, true, false, x->itt, ISCSI_RESERVED_TAG, n);
		x->active = false;
		x->ttt = ISCSI_RESERVED_TAG;
	}
	return ISCSI_TEXT_RESPOND;
}

static bool answer_keys(const struct iscsi_text_ctx *ctx, const struct iscsi_text_list *list,
			 struct iscsi_text_builder *b)
{
	struct iscsi_neg neg;

	iscsi_neg_init(&neg, ctx->params, true);
	neg.session_type = ctx->session_type;
	neg.result.max_xmit_dsl = ctx->params->max_xmit_dsl;
	for (unsigned int i = 0; i < list->count; i++) {
		const struct iscsi_text_pair *p = &list->pairs[i];

		if (iscsi_text_pair_is(p, "SendTargets")) {
			if (ctx->sendtargets == NULL ||
			    ctx->sendtargets(ctx->cb_ctx, p->value, b) != 0) {
				return false;
			}
			continue;
		}
		if (iscsi_neg_key(&neg, ISCSI_NEG_FULL_FEATURE, p->key, p->key_len, p->value, b) ==
		    ISCSI_NEG_ERR_NOSPACE) {
			return false;
		}
	}
	ctx->params->max_xmit_dsl = neg.result.max_xmit_dsl;
	return !b->overflow;
}

enum iscsi_text_step iscsi_text_exchange_step(struct iscsi_text_exchange *x,
					      const struct iscsi_text_ctx *ctx,
					      const uint8_t *req_bhs, const uint8_t *data,
					      uint32_t len, uint8_t *rsp_bhs,
					      const uint8_t **rsp_data, uint32_t *rsp_len,
					      uint8_t *reject_reason)
{
	bool final = iscsi_bhs_final(req_bhs);
	bool cont = (iscsi_bhs_flags(req_bhs) & TEXT_FLAG_CONTINUE) != 0;
	uint32_t itt = iscsi_bhs_itt(req_bhs);
	uint32_t ttt = iscsi_bhs_ttt(req_bhs);
	struct iscsi_text_builder b;
	struct iscsi_text_list list;

	*rsp_data = NULL;
	*rsp_len = 0;
	*reject_reason = 0;
	if (iscsi_bhs_opcode(req_bhs) != ISCSI_OP_TEXT_REQ || x->rsp == NULL ||
	    len != iscsi_bhs_data_len(req_bhs) || (data == NULL && len != 0)) {
		return ISCSI_TEXT_FAIL;
	}
	if (final && cont) {
		/* §11.10.2: C=1 requires F=0. */
		*reject_reason = ISCSI_REJECT_PROTOCOL_ERROR;
		return ISCSI_TEXT_REJECT;
	}
	if (ttt == ISCSI_RESERVED_TAG) {
		/* A new exchange; one in progress is abandoned (§11.10.4). */
		if (!x->active || itt != x->itt || x->rsp_off < x->rsp_len) {
			exchange_reset(x);
		}
		x->active = true;
		x->itt = itt;
	} else if (!x->active || ttt != x->ttt || itt != x->itt) {
		*reject_reason = ISCSI_REJECT_INVALID_PDU_FIELD;
		return ISCSI_TEXT_REJECT;
	}
	if (x->rsp_off < x->rsp_len) {
		if (len != 0) {
			*reject_reason = ISCSI_REJECT_PROTOCOL_ERROR;
			return ISCSI_TEXT_REJECT;
		}
		return send_piece(x, ctx, rsp_bhs, rsp_data, rsp_len);
	}
	if (iscsi_text_accum_append(&x->req, data, len) != 0) {
		exchange_reset(x);
		*reject_reason = ISCSI_REJECT_OUT_OF_RESOURCES;
		return ISCSI_TEXT_REJECT;
	}
	if (cont) {
		x->ttt = new_ttt(x);
		build_rsp_bhs(rsp_bhs, false, false, itt, x->ttt, 0);
		return ISCSI_TEXT_RESPOND;
	}
	if (iscsi_text_parse(x->req.buf, x->req.len, &list) != ISCSI_TEXT_OK) {
		exchange_reset(x);
		*reject_reason = ISCSI_REJECT_PROTOCOL_ERROR;
		return ISCSI_TEXT_REJECT;
	}
	iscsi_text_builder_init(&b, x->rsp, ISCSI_TEXT_ACCUM_MAX);
	if (!answer_keys(ctx, &list, &b)) {
		exchange_reset(x);
		*reject_reason = ISCSI_REJECT_OUT_OF_RESOURCES;
		return ISCSI_TEXT_REJECT;
	}
	iscsi_text_accum_reset(&x->req);
	x->rsp_len = b.len;
	x->rsp_off = 0;
	return send_piece(x, ctx, rsp_bhs, rsp_data, rsp_len);
}
