// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Layer 1: decode PERSISTENT RESERVE OUT (SPC-4 6.16) into a struct pr_op,
 * validating everything that does not depend on the PR state: the CDB
 * (service action, SCOPE, TYPE, reserved fields), the parameter list length
 * (6.16.3: exactly 24 bytes without SPEC_I_PT; 6.16.4: REGISTER AND MOVE),
 * the SPEC_I_PT TransportID list and the iSCSI TransportIDs themselves
 * (7.6.4.6). Errors carry the SPC-4 field pointer so the initiator learns
 * which byte was wrong.
 *
 * Nothing here reads beyond the parameter bytes actually received; every
 * length from the wire is checked before use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reservations/pr.h"
#include "reservations/pr_int.h"

/* SPC-4 6.16.1 table 170: PERSISTENT RESERVE OUT CDB. */
#define PROUT_CDB_LEN	     10
#define PROUT_CDB_SA	     1
#define PROUT_CDB_SA_MASK    0x1f
#define PROUT_CDB_SCOPE_TYPE 2
#define PROUT_CDB_PLEN	     5
#define PROUT_SA_MAX	     PR_OUT_REGISTER_AND_MOVE

/* SPC-4 6.16.3 table 175: basic parameter list. */
#define PROUT_PARAM_LEN	  24
#define PROUT_P_RK	  0
#define PROUT_P_SARK	  8
#define PROUT_P_FLAGS	  20
#define PROUT_F_SPEC_I_PT 0x08
#define PROUT_F_ALL_TG_PT 0x04
#define PROUT_F_APTPL	  0x01
#define PROUT_P_TPDL	  24 /* SPEC_I_PT: TRANSPORTID PARAMETER DATA LENGTH */
#define PROUT_P_TIDS	  28

/* SPC-4 6.16.4 table 176: REGISTER AND MOVE parameter list. */
#define PRMOVE_P_FLAGS 17
#define PRMOVE_F_UNREG 0x02
#define PRMOVE_F_APTPL 0x01
#define PRMOVE_P_RTPI  18
#define PRMOVE_P_TPDL  20
#define PRMOVE_P_TID   24

/* SPC-4 7.6.4.6: iSCSI TransportID. */
#define TID_PROTOCOL_ISCSI 0x5
#define TID_PROTOCOL_MASK  0x0f
#define TID_FORMAT_SHIFT   6
#define TID_FORMAT_NAME	   0x0 /* iSCSI name (device) */
#define TID_FORMAT_PORT	   0x1 /* name + ",i,0x" + ISID (initiator port) */
#define TID_HDR_LEN	   4
#define TID_ALIGN	   4
#define TID_MIN_LEN	   24 /* SPC-4 7.6.4.6: at least 24 bytes */

/* RFC 7143 (SCSI port names): target port name = TargetName ",t,0x" TPGT. */
#define TPGT_SEP     ",t,0x"
#define TPGT_SEP_LEN 5

void pr_op_init(struct pr_op *op)
{
	memset(op, 0, sizeof(*op));
}

void pr_op_fini(struct pr_op *op)
{
	free(op->tids);
	memset(op, 0, sizeof(*op));
}

void pr_op_spc2(struct pr_op *op, enum pr_op_kind kind, const struct pr_nexus *nexus)
{
	free(op->tids);
	memset(op, 0, sizeof(*op));
	op->kind = (uint8_t)kind;
	if (nexus) {
		op->nexus = *nexus;
	}
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int pr_transport_id_parse(const uint8_t *buf, size_t len, char *initiator)
{
	size_t add_len, total, n, name_len, i;
	uint8_t format;

	if (len < TID_HDR_LEN) {
		return -EINVAL;
	}
	if ((buf[0] & TID_PROTOCOL_MASK) != TID_PROTOCOL_ISCSI || (buf[0] & 0x30) != 0) {
		return -EINVAL;
	}
	format = buf[0] >> TID_FORMAT_SHIFT;
	if (format != TID_FORMAT_NAME && format != TID_FORMAT_PORT) {
		return -EINVAL;
	}
	add_len = pr_get_be16(buf + 2);
	total = TID_HDR_LEN + add_len;
	/* SPC-4 7.6.4.6: ADDITIONAL LENGTH is a multiple of four, total >= 24. */
	if (add_len % TID_ALIGN != 0 || total < TID_MIN_LEN || total > len) {
		return -EINVAL;
	}
	/* The name is NUL-terminated inside the ADDITIONAL LENGTH bytes. */
	n = strnlen((const char *)buf + TID_HDR_LEN, add_len);
	if (n == add_len || n == 0 || n >= PR_PORT_NAME_MAX) {
		return -EINVAL;
	}
	memcpy(initiator, buf + TID_HDR_LEN, n);
	initiator[n] = '\0';
	if (!pr_name_valid(initiator, PR_PORT_NAME_MAX)) {
		return -EINVAL;
	}
	name_len = pr_name_part_len(initiator);
	if (name_len == 0 || name_len > PR_ISCSI_NAME_MAX) {
		return -EINVAL;
	}
	if (format == TID_FORMAT_NAME) {
		/* Format 00b names a device: no ISID part allowed. */
		return name_len == n ? (int)total : -EINVAL;
	}
	/* Format 01b: exactly ",i,0x" and 12 hex digits of ISID (RFC 7143 §10.12.5). */
	if (n != name_len + PR_ISID_SEP_LEN + PR_ISID_HEX_LEN) {
		return -EINVAL;
	}
	for (i = name_len + PR_ISID_SEP_LEN; i < n; i++) {
		if (!is_hex(initiator[i])) {
			return -EINVAL;
		}
	}
	return (int)total;
}

int pr_transport_id_build(const char *initiator, uint8_t *buf, size_t cap)
{
	size_t n = strlen(initiator), total;
	uint8_t format = pr_name_is_bare(initiator) ? TID_FORMAT_NAME : TID_FORMAT_PORT;

	/* Name plus NUL, padded to a multiple of four, at least 24 bytes overall. */
	total = TID_HDR_LEN + ((n + 1 + TID_ALIGN - 1) / TID_ALIGN) * TID_ALIGN;
	if (total < TID_MIN_LEN) {
		total = TID_MIN_LEN;
	}
	if (total > cap || total - TID_HDR_LEN > UINT16_MAX) {
		return -ENOSPC;
	}
	memset(buf, 0, total);
	buf[0] = (uint8_t)((format << TID_FORMAT_SHIFT) | TID_PROTOCOL_ISCSI);
	pr_put_be16(buf + 2, (uint16_t)(total - TID_HDR_LEN));
	memcpy(buf + TID_HDR_LEN, initiator, n);
	return (int)total;
}

static bool sa_uses_type(uint8_t sa)
{
	switch (sa) {
	case PR_OUT_RESERVE:
	case PR_OUT_RELEASE:
	case PR_OUT_PREEMPT:
	case PR_OUT_PREEMPT_AND_ABORT:
	case PR_OUT_REGISTER_AND_MOVE:
		return true;
	default:
		return false;
	}
}

/* SPEC_I_PT: collect the TransportIDs of bytes [PROUT_P_TIDS, end). */
static int decode_tids(const uint8_t *param, size_t end, const struct pr_nexus *nexus,
		       bool all_tg_pt, struct pr_op *op, struct pr_result *res)
{
	size_t off = PROUT_P_TIDS, max = (end - PROUT_P_TIDS) / TID_MIN_LEN;
	struct pr_target a, b;
	uint32_t i;
	int len;

	if (max == 0) {
		return 0;
	}
	op->tids = calloc(max, sizeof(*op->tids));
	if (op->tids == NULL) {
		return -ENOMEM;
	}
	while (off < end) {
		struct pr_nexus *t = &op->tids[op->n_tids];

		len = pr_transport_id_parse(param + off, end - off, t->initiator);
		if (len < 0) {
			pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false,
				     (uint16_t)(off > UINT16_MAX ? UINT16_MAX : off), -1);
			return 0;
		}
		/* SPC-4 5.13.7: registered through the port the command came in on. */
		memcpy(t->target, nexus->target, sizeof(t->target));
		t->rel_port_id = nexus->rel_port_id;
		a.nexus = *t;
		a.all_tg_pt = all_tg_pt;
		/*
		 * A TransportID naming the sending I_T nexus itself adds nothing
		 * (it is registered anyway); any other overlap (two TransportIDs,
		 * or one covering the sender, naming the same I_T nexus twice)
		 * is ambiguous and refused.
		 */
		b.nexus = *nexus;
		b.all_tg_pt = all_tg_pt;
		if (strcasecmp(t->initiator, nexus->initiator) == 0) {
			off += (size_t)len;
			continue;
		}
		if (pr_target_overlap(&a, &b)) {
			goto overlap;
		}
		for (i = 0; i < op->n_tids; i++) {
			b.nexus = op->tids[i];
			if (pr_target_overlap(&a, &b)) {
				goto overlap;
			}
		}
		op->n_tids++;
		off += (size_t)len;
	}
	return 0;
overlap:
	pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false,
		     (uint16_t)(off > UINT16_MAX ? UINT16_MAX : off), -1);
	return 0;
}

static void decode_move(const uint8_t *param, size_t plen, const struct pr_nexus *nexus,
			const struct pr_decode_ctx *ctx, struct pr_op *op, struct pr_result *res)
{
	uint32_t tpdl, i;
	uint16_t rtpi;
	int len;

	if (plen < PRMOVE_P_TID) {
		pr_res_sense(res, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	tpdl = pr_get_be32(param + PRMOVE_P_TPDL);
	if ((uint64_t)tpdl + PRMOVE_P_TID != plen) {
		pr_res_sense(res, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return;
	}
	/* SPC-4 5.13.8: the moved registration needs a key. */
	if (op->sark == 0) {
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false, PROUT_P_SARK, -1);
		return;
	}
	op->unreg = (param[PRMOVE_P_FLAGS] & PRMOVE_F_UNREG) != 0;
	op->aptpl = (param[PRMOVE_P_FLAGS] & PRMOVE_F_APTPL) != 0;
	rtpi = pr_get_be16(param + PRMOVE_P_RTPI);
	if (ctx && ctx->ports) {
		for (i = 0; i < ctx->n_ports && ctx->ports[i] != rtpi; i++) {
		}
		if (i == ctx->n_ports) {
			pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false,
				     PRMOVE_P_RTPI, -1);
			return;
		}
	}
	len = pr_transport_id_parse(param + PRMOVE_P_TID, tpdl, op->dest.initiator);
	/*
	 * The destination is one I_T nexus (SPC-4 5.13.8): a format-01b
	 * TransportID naming an initiator port. A bare name would make the
	 * holder a set of nexuses, which non-All-Registrants types cannot have.
	 */
	if (len < 0 || (uint32_t)len != tpdl || pr_name_is_bare(op->dest.initiator)) {
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false, PRMOVE_P_TID, -1);
		return;
	}
	op->dest.rel_port_id = rtpi;
	/*
	 * DESIGN.md §3: the target port with relative id N has TPGT N, so the
	 * destination port name is the sender's target name with TPGT rtpi.
	 */
	{
		size_t tn = strlen(nexus->target), k = tn, j;

		for (j = tn >= TPGT_SEP_LEN ? tn - TPGT_SEP_LEN + 1 : 0; j > 0; j--) {
			if (strncasecmp(nexus->target + j - 1, TPGT_SEP, TPGT_SEP_LEN) == 0) {
				k = j - 1;
				break;
			}
		}
		if (k + PR_PORT_SUFFIX_MAX < PR_PORT_NAME_MAX) {
			memcpy(op->dest.target, nexus->target, k);
			snprintf(op->dest.target + k, PR_PORT_NAME_MAX - k, TPGT_SEP "%x", rtpi);
		}
	}
	/* SPC-4 5.13.8: moving to the sending I_T nexus itself is an error. */
	if (pr_nexus_eq(&op->dest, nexus)) {
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false, PRMOVE_P_TID, -1);
	}
}

int pr_out_decode(const uint8_t *cdb, size_t cdb_len, const uint8_t *param, size_t param_len,
		  const struct pr_nexus *nexus, const struct pr_decode_ctx *ctx, struct pr_op *op,
		  struct pr_result *res)
{
	uint32_t plen;
	uint8_t flags;
	int rc;

	pr_op_fini(op);
	pr_res_good(res);
	if (cdb_len < PROUT_CDB_LEN) {
		pr_res_sense(res, PR_ASC_INVALID_COMMAND_OPERATION_CODE);
		return 0;
	}
	if (!pr_name_valid(nexus->initiator, sizeof(nexus->initiator)) ||
	    pr_name_is_bare(nexus->initiator) ||
	    (nexus->target[0] && !pr_name_valid(nexus->target, sizeof(nexus->target)))) {
		/* A live nexus always has a full initiator port name; refuse to guess. */
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_CDB, true, 0, -1);
		return 0;
	}
	op->kind = PR_OP_OUT;
	op->nexus = *nexus;
	op->nexus.initiator[sizeof(op->nexus.initiator) - 1] = '\0';
	op->nexus.target[sizeof(op->nexus.target) - 1] = '\0';
	op->sa = cdb[PROUT_CDB_SA] & PROUT_CDB_SA_MASK;
	op->scope = cdb[PROUT_CDB_SCOPE_TYPE] >> 4;
	op->type = cdb[PROUT_CDB_SCOPE_TYPE] & 0x0f;
	if (cdb[PROUT_CDB_SA] & ~PROUT_CDB_SA_MASK) {
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_CDB, true, PROUT_CDB_SA, 7);
		return 0;
	}
	if (op->sa > PROUT_SA_MAX) {
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_CDB, true, PROUT_CDB_SA, 4);
		return 0;
	}
	if (cdb[3] || cdb[4]) {
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_CDB, true, cdb[3] ? 3 : 4, -1);
		return 0;
	}
	/* SPC-4 6.16.2: SCOPE and TYPE matter only where the action creates/ends one. */
	if (sa_uses_type(op->sa)) {
		if (op->scope != PR_SCOPE_LU) {
			pr_res_field(res, PR_ASC_INVALID_FIELD_IN_CDB, true, PROUT_CDB_SCOPE_TYPE,
				     7);
			return 0;
		}
		if (!pr_type_valid(op->type)) {
			pr_res_field(res, PR_ASC_INVALID_FIELD_IN_CDB, true, PROUT_CDB_SCOPE_TYPE,
				     3);
			return 0;
		}
	} else {
		op->scope = PR_SCOPE_LU;
		op->type = PR_TYPE_NONE;
	}
	plen = pr_get_be32(cdb + PROUT_CDB_PLEN);
	/* Never look past the bytes the transport actually delivered. */
	if (plen > param_len) {
		pr_res_sense(res, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return 0;
	}
	if (plen < PROUT_PARAM_LEN) {
		pr_res_sense(res, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return 0;
	}
	op->rk = pr_get_be64(param + PROUT_P_RK);
	op->sark = pr_get_be64(param + PROUT_P_SARK);
	if (op->sa == PR_OUT_REGISTER_AND_MOVE) {
		decode_move(param, plen, nexus, ctx, op, res);
		return 0;
	}
	flags = param[PROUT_P_FLAGS];
	op->spec_i_pt = (flags & PROUT_F_SPEC_I_PT) != 0;
	/* SPC-4 6.16.3 table 177: ALL_TG_PT and APTPL only matter when registering. */
	if (op->sa == PR_OUT_REGISTER || op->sa == PR_OUT_REGISTER_AND_IGNORE) {
		op->all_tg_pt = (flags & PROUT_F_ALL_TG_PT) != 0;
		op->aptpl = (flags & PROUT_F_APTPL) != 0;
	}
	if (!op->spec_i_pt) {
		if (plen != PROUT_PARAM_LEN) {
			pr_res_sense(res, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
		}
		return 0;
	}
	/* SPC-4 6.16.3: SPEC_I_PT is valid only with REGISTER. */
	if (op->sa != PR_OUT_REGISTER) {
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST, false, PROUT_P_FLAGS, 3);
		return 0;
	}
	if (plen < PROUT_P_TIDS ||
	    (uint64_t)pr_get_be32(param + PROUT_P_TPDL) + PROUT_P_TIDS != plen) {
		pr_res_sense(res, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
		return 0;
	}
	rc = decode_tids(param, plen, nexus, op->all_tg_pt, op, res);
	if (rc < 0) {
		pr_op_fini(op);
		pr_res_good(res);
		return rc;
	}
	return 0;
}
