/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Text Request/Response exchanges in full feature phase (RFC 7143 §11.10,
 * §11.11) and the SendTargets key (§13.3, Appendix C). Pure: no sockets,
 * no logging; the connection code feeds received Text Request PDUs in and
 * sends what comes out.
 *
 * One struct iscsi_text_exchange per connection (at most one text exchange
 * is outstanding per connection, §11.10). It
 *  - accumulates a request that spans several PDUs (C=1) and answers each
 *    intermediate PDU with an empty Text Response (F=0, valid TTT);
 *  - answers SendTargets through a callback that the server implements
 *    (discovery.c) with iscsi_sendtargets_build() over the targets the
 *    initiator may see and the portals of every serving node;
 *  - answers other keys with iscsi_neg_key() in the full-feature phase
 *    (MaxRecvDataSegmentLength may be re-declared; leading-only keys get
 *    Reject);
 *  - splits a long response into pieces of at most max_xmit_dsl bytes with
 *    C=1, F=0 and a TTT the initiator echoes in its empty continuation
 *    request; the last piece has F=1 and TTT 0xffffffff (§11.11.1).
 * A request with TTT 0xffffffff while a response is pending, or with a new
 * ITT, starts over (§11.10.4: the initiator resets the negotiation).
 */
#ifndef QUORATE_DAEMON_ISCSI_SENDTARGETS_H
#define QUORATE_DAEMON_ISCSI_SENDTARGETS_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/iscsi/params.h"
#include "daemon/iscsi/text.h"

/* One target as SendTargets reports it. */
struct iscsi_st_target {
	const char *name;
	/* "addr:port,tpgt" each ("[v6addr]:port,tpgt" for IPv6), §13.8 */
	const char *const *addresses;
	unsigned int n_addresses;
};

/**
 * Append the SendTargets answer for @value (Appendix C):
 *  "All"        every target in @targets (Discovery sessions only; in a
 *               Normal session the answer is SendTargets=Reject);
 *  a name       that target only, if present (nothing if not);
 *  ""           the session's own @session_target (Normal sessions), or
 *               nothing in a Discovery session.
 * Each target gives TargetName=<name> followed by one TargetAddress=<a>
 * per address. @return 0 or -ENOSPC.
 */
int iscsi_sendtargets_build(const char *value, enum iscsi_session_type type,
			    const char *session_target, const struct iscsi_st_target *targets,
			    unsigned int n_targets, struct iscsi_text_builder *out);

/*
 * The server's part: append the SendTargets answer for @value (call
 * iscsi_sendtargets_build() with the targets this initiator may see).
 * @return 0 or -ENOSPC.
 */
typedef int (*iscsi_sendtargets_fn)(void *ctx, const char *value, struct iscsi_text_builder *out);

struct iscsi_text_exchange {
	struct iscsi_text_accum req;
	uint8_t *rsp;			/* whole response text, ISCSI_TEXT_ACCUM_MAX */
	uint32_t rsp_len;
	uint32_t rsp_off;		/* bytes of rsp already sent */
	uint32_t itt;			/* ITT of the exchange in progress */
	uint32_t ttt;			/* TTT of the last piece we sent, or 0xffffffff */
	uint32_t next_ttt;
	bool active;
};

enum iscsi_text_step {
	ISCSI_TEXT_RESPOND = 0,		/* send the Text Response built */
	ISCSI_TEXT_REJECT,		/* send a Reject PDU (reason in *reject_reason) */
	ISCSI_TEXT_FAIL,		/* protocol violation: drop the connection */
};

struct iscsi_text_ctx {
	enum iscsi_session_type session_type;
	const char *session_target;	/* "" for discovery */
	struct iscsi_params *params;	/* session params; max_xmit_dsl may change */
	iscsi_sendtargets_fn sendtargets;
	void *cb_ctx;
};

int iscsi_text_exchange_init(struct iscsi_text_exchange *x);	/* 0 or -ENOMEM */
void iscsi_text_exchange_fini(struct iscsi_text_exchange *x);

/**
 * Handle one Text Request (@req_bhs, @data/@len = its data segment without
 * padding). On ISCSI_TEXT_RESPOND, @rsp_bhs is a complete Text Response BHS
 * except StatSN (bytes 24-27), ExpCmdSN (28-31) and MaxCmdSN (32-35), which
 * the caller fills; *rsp_data and *rsp_len point into the exchange (valid until
 * the next call). On ISCSI_TEXT_REJECT, *reject_reason is an enum
 * iscsi_reject_reason for a Reject PDU that carries @req_bhs.
 */
enum iscsi_text_step iscsi_text_exchange_step(struct iscsi_text_exchange *x,
					      const struct iscsi_text_ctx *ctx,
					      const uint8_t *req_bhs, const uint8_t *data,
					      uint32_t len, uint8_t *rsp_bhs,
					      const uint8_t **rsp_data, uint32_t *rsp_len,
					      uint8_t *reject_reason);

#endif
