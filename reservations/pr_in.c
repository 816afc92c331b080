// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * PERSISTENT RESERVE IN (SPC-4 6.15): READ KEYS (6.15.2), READ RESERVATION
 * (6.15.3), REPORT CAPABILITIES (6.15.4) and READ FULL STATUS (6.15.5).
 *
 * Parameter data is produced through a bounded writer: bytes past the
 * ALLOCATION LENGTH or the caller's buffer are counted but not written, so
 * the ADDITIONAL LENGTH always holds the untruncated value (SPC-4 4.2.5.6)
 * and nothing is allocated. Read-only: PR IN never changes PRgeneration.
 */
#include <string.h>

#include "reservations/pr.h"
#include "reservations/pr_int.h"

/* SPC-4 6.15.1 table 155: PERSISTENT RESERVE IN CDB. */
#define PRIN_CDB_LEN	   10
#define PRIN_CDB_SA	   1
#define PRIN_CDB_SA_MASK   0x1f
#define PRIN_CDB_ALLOC_LEN 7

#define PRIN_HDR_LEN	   8 /* PRGENERATION + ADDITIONAL LENGTH */
#define PRIN_KEY_LEN	   8
#define PRIN_RESV_DESC_LEN 16 /* READ RESERVATION descriptor */
#define PRIN_FULL_DESC_HDR 24 /* READ FULL STATUS descriptor before the TransportID */
#define PRIN_TID_MAX	   (4 + PR_PORT_NAME_MAX + 4)

/* SPC-4 6.15.4 table 161: REPORT CAPABILITIES. */
#define RCAP_LEN       8
#define RCAP_CRH       0x10
#define RCAP_SIP_C     0x08
#define RCAP_ATP_C     0x04
#define RCAP_PTPL_C    0x01
#define RCAP_TMV       0x80
#define RCAP_ALLOW_TUR 0x10 /* ALLOW COMMANDS 001b: TEST UNIT READY allowed through WE/EA */
#define RCAP_PTPL_A    0x01
/* Table 162: PERSISTENT RESERVATION TYPE MASK bits. */
#define RCAP_MASK0_WR_EX_AR 0x80
#define RCAP_MASK0_EX_AC_RO 0x40
#define RCAP_MASK0_WR_EX_RO 0x20
#define RCAP_MASK0_EX_AC    0x08
#define RCAP_MASK0_WR_EX    0x02
#define RCAP_MASK1_EX_AC_AR 0x01

#define FULL_ALL_TG_PT 0x02
#define FULL_R_HOLDER  0x01

struct pr_out_buf {
	uint8_t *buf;
	uint32_t limit; /* min(allocation length, buffer capacity) */
	uint32_t pos;	/* bytes produced, written or not */
};

static void ob_bytes(struct pr_out_buf *o, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++, o->pos++) {
		if (o->pos < o->limit) {
			o->buf[o->pos] = p[i];
		}
	}
}

static void ob_be32(struct pr_out_buf *o, uint32_t v)
{
	uint8_t b[4];

	pr_put_be32(b, v);
	ob_bytes(o, b, sizeof(b));
}

static void ob_be64(struct pr_out_buf *o, uint64_t v)
{
	uint8_t b[8];

	pr_put_be64(b, v);
	ob_bytes(o, b, sizeof(b));
}

/* Patch a big-endian 32-bit value at @at if it was written. */
static void ob_patch32(struct pr_out_buf *o, uint32_t at, uint32_t v)
{
	uint8_t b[4];
	uint32_t i;

	pr_put_be32(b, v);
	for (i = 0; i < 4; i++) {
		if (at + i < o->limit) {
			o->buf[at + i] = b[i];
		}
	}
}

static void read_keys(const struct pr_state *s, struct pr_out_buf *o)
{
	uint32_t i;

	ob_be32(o, s->generation);
	ob_be32(o, s->nregs * PRIN_KEY_LEN);
	for (i = 0; i < s->nregs; i++) {
		ob_be64(o, s->regs[i].key);
	}
}

static void read_reservation(const struct pr_state *s, struct pr_out_buf *o)
{
	uint8_t d[PRIN_RESV_DESC_LEN] = {0};
	const struct pr_reg *h;

	ob_be32(o, s->generation);
	if (s->type == PR_TYPE_NONE) {
		ob_be32(o, 0);
		return;
	}
	ob_be32(o, PRIN_RESV_DESC_LEN);
	/* 6.15.3: an All Registrants reservation reports key zero. */
	if (!pr_type_all_registrants(s->type)) {
		h = pr_state_find(s, &s->holder);
		pr_put_be64(d, h ? h->key : 0);
	}
	d[13] = (uint8_t)((s->scope << 4) | s->type);
	ob_bytes(o, d, sizeof(d));
}

static void report_caps(const struct pr_state *s, struct pr_out_buf *o)
{
	uint8_t d[RCAP_LEN] = {0};

	pr_put_be16(d, RCAP_LEN);
	d[2] = RCAP_CRH | RCAP_SIP_C | RCAP_ATP_C | RCAP_PTPL_C;
	d[3] = RCAP_TMV | RCAP_ALLOW_TUR | (s->aptpl ? RCAP_PTPL_A : 0);
	d[4] = RCAP_MASK0_WR_EX_AR | RCAP_MASK0_EX_AC_RO | RCAP_MASK0_WR_EX_RO | RCAP_MASK0_EX_AC |
	       RCAP_MASK0_WR_EX;
	d[5] = RCAP_MASK1_EX_AC_AR;
	ob_bytes(o, d, sizeof(d));
}

bool pr_reg_is_holder(const struct pr_state *s, const struct pr_reg *r)
{
	if (s->type == PR_TYPE_NONE) {
		return false;
	}
	if (pr_type_all_registrants(s->type)) {
		return true;
	}
	return pr_target_matches(&r->who, s->holder.initiator, s->holder.rel_port_id);
}

static void read_full_status(const struct pr_state *s, struct pr_out_buf *o)
{
	uint8_t d[PRIN_FULL_DESC_HDR], tid[PRIN_TID_MAX];
	uint32_t i, start;
	bool holder;
	int tlen;

	ob_be32(o, s->generation);
	ob_be32(o, 0); /* patched below */
	start = o->pos;
	for (i = 0; i < s->nregs; i++) {
		const struct pr_reg *r = &s->regs[i];

		tlen = pr_transport_id_build(r->who.nexus.initiator, tid, sizeof(tid));
		if (tlen < 0) {
			continue; /* cannot happen: names are bounded */
		}
		memset(d, 0, sizeof(d));
		pr_put_be64(d, r->key);
		holder = pr_reg_is_holder(s, r);
		d[12] = (uint8_t)((r->who.all_tg_pt ? FULL_ALL_TG_PT : 0) |
				  (holder ? FULL_R_HOLDER : 0));
		if (holder) {
			d[13] = (uint8_t)((s->scope << 4) | s->type);
		}
		/* 6.15.5: RELATIVE TARGET PORT IDENTIFIER is meaningless with ALL_TG_PT. */
		pr_put_be16(d + 18, r->who.all_tg_pt ? 0 : r->who.nexus.rel_port_id);
		pr_put_be32(d + 20, (uint32_t)tlen);
		ob_bytes(o, d, sizeof(d));
		ob_bytes(o, tid, (uint32_t)tlen);
	}
	ob_patch32(o, PRIN_HDR_LEN - 4, o->pos - start);
}

void pr_in_build(const struct pr_state *state, const uint8_t *cdb, size_t cdb_len,
		 const struct pr_nexus *nexus, uint8_t *buf, uint32_t buf_cap, uint32_t *xfer_len,
		 uint32_t *data_len, struct pr_result *res)
{
	struct pr_out_buf o = {.buf = buf};
	uint32_t alloc;
	uint8_t sa;

	(void)nexus; /* every service action answers the same to every nexus */
	pr_res_good(res);
	*xfer_len = 0;
	*data_len = 0;
	if (cdb_len < PRIN_CDB_LEN) {
		pr_res_sense(res, PR_ASC_INVALID_COMMAND_OPERATION_CODE);
		return;
	}
	sa = cdb[PRIN_CDB_SA] & PRIN_CDB_SA_MASK;
	if (sa > PR_IN_READ_FULL_STATUS) {
		pr_res_field(res, PR_ASC_INVALID_FIELD_IN_CDB, true, PRIN_CDB_SA, 4);
		return;
	}
	alloc = pr_get_be16(cdb + PRIN_CDB_ALLOC_LEN);
	o.limit = alloc < buf_cap ? alloc : buf_cap;
	if (buf == NULL) {
		o.limit = 0;
	}
	switch (sa) {
	case PR_IN_READ_KEYS:
		read_keys(state, &o);
		break;
	case PR_IN_READ_RESERVATION:
		read_reservation(state, &o);
		break;
	case PR_IN_REPORT_CAPABILITIES:
		report_caps(state, &o);
		break;
	default:
		read_full_status(state, &o);
		break;
	}
	*xfer_len = o.pos < alloc ? o.pos : alloc;
	*data_len = *xfer_len < o.limit ? *xfer_len : o.limit;
}
