// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Versioned big-endian wire encoding of PR operations (the replication
 * payload proposed to the cluster) and of whole PR state snapshots (sync of
 * a joining node, SQLite persistence), plus the state digest.
 *
 * Encodings are canonical: one value has exactly one encoding, and
 * decode(encode(x)) == x, encode(decode(b)) == b for every accepted b.
 * Decoding trusts nothing: every length is bounded by the remaining input,
 * trailing bytes and unknown flag bits are rejected, and the decoded value
 * must satisfy the same invariants the engine keeps (valid types, a
 * registered holder, non-overlapping registrations...), so a corrupt or
 * hostile message cannot put the engine into a state it cannot reach.
 *
 * Layout (all integers big-endian):
 *   nexus    := u16 ilen, ilen bytes, u16 tlen, tlen bytes, u16 rel_port_id
 *   op       := u8 version, u8 kind, u8 sa, u8 type, u8 scope, u8 flags,
 *               u64 rk, u64 sark, nexus sender, nexus dest, u32 n, n x nexus
 *   snapshot := u32 magic "QPRS", u8 version, u32 generation, u8 flags,
 *               u8 type, u8 scope, nexus holder, nexus spc2_holder,
 *               u32 n, n x (u64 key, u8 flags, nexus)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reservations/pr.h"
#include "reservations/pr_int.h"

#define PR_SNAP_MAGIC 0x51505253u /* "QPRS" */

#define OPF_ALL_TG_PT 0x01
#define OPF_APTPL     0x02
#define OPF_SPEC_I_PT 0x04
#define OPF_UNREG     0x08
#define OPF_MASK      0x0f

#define SNF_APTPL 0x01
#define SNF_SPC2  0x02
#define SNF_MASK  0x03

#define REGF_ALL_TG_PT 0x01
#define REGF_MASK      0x01

#define NEXUS_MIN_LEN 6 /* two empty strings and the port id */

/* ---- encoder: counts, copies, or hashes ---- */

struct enc {
	uint8_t *buf; /* NULL: count (or hash) only */
	size_t cap;
	size_t pos;
	bool hash;
	uint64_t h;
};

static void enc_bytes(struct enc *e, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	if (e->hash) {
		for (i = 0; i < n; i++) {
			e->h ^= b[i];
			e->h *= PR_FNV64_PRIME;
		}
	} else if (e->buf && e->pos + n <= e->cap) {
		memcpy(e->buf + e->pos, p, n);
	}
	e->pos += n;
}

static void enc_u8(struct enc *e, uint8_t v)
{
	enc_bytes(e, &v, 1);
}

static void enc_u16(struct enc *e, uint16_t v)
{
	uint8_t b[2];

	pr_put_be16(b, v);
	enc_bytes(e, b, sizeof(b));
}

static void enc_u32(struct enc *e, uint32_t v)
{
	uint8_t b[4];

	pr_put_be32(b, v);
	enc_bytes(e, b, sizeof(b));
}

static void enc_u64(struct enc *e, uint64_t v)
{
	uint8_t b[8];

	pr_put_be64(b, v);
	enc_bytes(e, b, sizeof(b));
}

static void enc_str(struct enc *e, const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);

	enc_u16(e, (uint16_t)n);
	enc_bytes(e, s, n);
}

static void enc_nexus(struct enc *e, const struct pr_nexus *n)
{
	enc_str(e, n->initiator, sizeof(n->initiator));
	enc_str(e, n->target, sizeof(n->target));
	enc_u16(e, n->rel_port_id);
}

/* ---- decoder ---- */

struct dec {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool bad;
};

static bool dec_need(struct dec *d, size_t n)
{
	if (d->bad || d->len - d->pos < n) {
		d->bad = true;
		return false;
	}
	return true;
}

static uint8_t dec_u8(struct dec *d)
{
	if (!dec_need(d, 1)) {
		return 0;
	}
	return d->p[d->pos++];
}

static uint16_t dec_u16(struct dec *d)
{
	uint16_t v;

	if (!dec_need(d, 2)) {
		return 0;
	}
	v = pr_get_be16(d->p + d->pos);
	d->pos += 2;
	return v;
}

static uint32_t dec_u32(struct dec *d)
{
	uint32_t v;

	if (!dec_need(d, 4)) {
		return 0;
	}
	v = pr_get_be32(d->p + d->pos);
	d->pos += 4;
	return v;
}

static uint64_t dec_u64(struct dec *d)
{
	uint64_t v;

	if (!dec_need(d, 8)) {
		return 0;
	}
	v = pr_get_be64(d->p + d->pos);
	d->pos += 8;
	return v;
}

/* A string field: no NUL inside, shorter than the field, printable if non-empty. */
static void dec_str(struct dec *d, char *out, size_t max)
{
	uint16_t n = dec_u16(d);

	memset(out, 0, max);
	if (d->bad) {
		return;
	}
	if (n >= max || !dec_need(d, n)) {
		d->bad = true;
		return;
	}
	memcpy(out, d->p + d->pos, n);
	d->pos += n;
	if (n > 0 && !pr_name_valid(out, max)) {
		d->bad = true;
	}
}

static void dec_nexus(struct dec *d, struct pr_nexus *n)
{
	dec_str(d, n->initiator, sizeof(n->initiator));
	dec_str(d, n->target, sizeof(n->target));
	n->rel_port_id = dec_u16(d);
}

static bool nexus_empty(const struct pr_nexus *n)
{
	return n->initiator[0] == '\0' && n->target[0] == '\0' && n->rel_port_id == 0;
}

/* A concrete I_T nexus: a full initiator port name. */
static bool nexus_live(const struct pr_nexus *n)
{
	return n->initiator[0] != '\0' && !pr_name_is_bare(n->initiator);
}

/* ---- operations ---- */

static void op_encode(const struct pr_op *op, struct enc *e)
{
	uint32_t i;

	enc_u8(e, PR_WIRE_VERSION);
	enc_u8(e, op->kind);
	enc_u8(e, op->sa);
	enc_u8(e, op->type);
	enc_u8(e, op->scope);
	enc_u8(e, (uint8_t)((op->all_tg_pt ? OPF_ALL_TG_PT : 0) | (op->aptpl ? OPF_APTPL : 0) |
			    (op->spec_i_pt ? OPF_SPEC_I_PT : 0) | (op->unreg ? OPF_UNREG : 0)));
	enc_u64(e, op->rk);
	enc_u64(e, op->sark);
	enc_nexus(e, &op->nexus);
	enc_nexus(e, &op->dest);
	enc_u32(e, op->n_tids);
	for (i = 0; i < op->n_tids; i++) {
		enc_nexus(e, &op->tids[i]);
	}
}

size_t pr_op_encoded_size(const struct pr_op *op)
{
	struct enc e = {0};

	op_encode(op, &e);
	return e.pos;
}

int pr_op_encode(const struct pr_op *op, uint8_t *buf, size_t cap)
{
	struct enc e = {.buf = buf, .cap = cap};

	if (pr_op_encoded_size(op) > cap || cap > INT32_MAX) {
		return -ENOSPC;
	}
	op_encode(op, &e);
	return (int)e.pos;
}

static bool sa_uses_type(uint8_t sa)
{
	return sa == PR_OUT_RESERVE || sa == PR_OUT_RELEASE || sa == PR_OUT_PREEMPT ||
	       sa == PR_OUT_PREEMPT_AND_ABORT || sa == PR_OUT_REGISTER_AND_MOVE;
}

/* The same invariants pr_out_decode() establishes, checked on a wire op. */
static bool op_valid(const struct pr_op *op)
{
	struct pr_target a, b;
	uint32_t i, j;

	if (op->kind != PR_OP_OUT) {
		/* SPC-2 ops carry only the nexus (none for a reset). */
		if (op->sa || op->type || op->scope || op->all_tg_pt || op->aptpl ||
		    op->spec_i_pt || op->unreg || op->rk || op->sark || !nexus_empty(&op->dest) ||
		    op->n_tids) {
			return false;
		}
		return op->kind == PR_OP_SPC2_RESET ? nexus_empty(&op->nexus)
						    : nexus_live(&op->nexus);
	}
	if (op->sa > PR_OUT_REGISTER_AND_MOVE || !nexus_live(&op->nexus)) {
		return false;
	}
	if (sa_uses_type(op->sa)) {
		if (op->scope != PR_SCOPE_LU || !pr_type_valid(op->type)) {
			return false;
		}
	} else if (op->scope || op->type) {
		return false;
	}
	if (op->sa == PR_OUT_REGISTER_AND_MOVE) {
		return op->sark != 0 && !op->all_tg_pt && !op->spec_i_pt && nexus_live(&op->dest) &&
		       !pr_nexus_eq(&op->dest, &op->nexus) && op->n_tids == 0;
	}
	if (op->unreg || !nexus_empty(&op->dest)) {
		return false;
	}
	if (op->sa != PR_OUT_REGISTER && op->sa != PR_OUT_REGISTER_AND_IGNORE &&
	    (op->all_tg_pt || op->aptpl)) {
		return false;
	}
	if (op->spec_i_pt && op->sa != PR_OUT_REGISTER) {
		return false;
	}
	if (!op->spec_i_pt && op->n_tids) {
		return false;
	}
	for (i = 0; i < op->n_tids; i++) {
		if (op->tids[i].initiator[0] == '\0' ||
		    op->tids[i].rel_port_id != op->nexus.rel_port_id) {
			return false;
		}
		a.nexus = op->tids[i];
		a.all_tg_pt = op->all_tg_pt;
		b.nexus = op->nexus;
		b.all_tg_pt = op->all_tg_pt;
		if (pr_target_overlap(&a, &b)) {
			return false;
		}
		for (j = 0; j < i; j++) {
			b.nexus = op->tids[j];
			if (pr_target_overlap(&a, &b)) {
				return false;
			}
		}
	}
	return true;
}

int pr_op_decode(const uint8_t *buf, size_t len, struct pr_op *op)
{
	struct dec d = {.p = buf, .len = len};
	struct pr_op o;
	uint8_t flags;
	uint32_t n, i;

	pr_op_init(&o);
	if (dec_u8(&d) != PR_WIRE_VERSION) {
		return -EINVAL;
	}
	o.kind = dec_u8(&d);
	o.sa = dec_u8(&d);
	o.type = dec_u8(&d);
	o.scope = dec_u8(&d);
	flags = dec_u8(&d);
	o.all_tg_pt = flags & OPF_ALL_TG_PT;
	o.aptpl = flags & OPF_APTPL;
	o.spec_i_pt = flags & OPF_SPEC_I_PT;
	o.unreg = flags & OPF_UNREG;
	o.rk = dec_u64(&d);
	o.sark = dec_u64(&d);
	dec_nexus(&d, &o.nexus);
	dec_nexus(&d, &o.dest);
	n = dec_u32(&d);
	if (d.bad || (flags & ~OPF_MASK) || o.kind < PR_OP_OUT || o.kind > PR_OP_KIND_MAX ||
	    n > (d.len - d.pos) / NEXUS_MIN_LEN) {
		return -EINVAL;
	}
	if (n) {
		o.tids = calloc(n, sizeof(*o.tids));
		if (o.tids == NULL) {
			return -ENOMEM;
		}
	}
	for (i = 0; i < n && !d.bad; i++) {
		dec_nexus(&d, &o.tids[i]);
	}
	o.n_tids = n;
	if (d.bad || d.pos != d.len || !op_valid(&o)) {
		pr_op_fini(&o);
		return -EINVAL;
	}
	pr_op_fini(op);
	*op = o;
	return 0;
}

/* ---- state snapshots ---- */

static void state_encode(const struct pr_state *s, struct enc *e)
{
	uint32_t i;

	enc_u32(e, PR_SNAP_MAGIC);
	enc_u8(e, PR_WIRE_VERSION);
	enc_u32(e, s->generation);
	enc_u8(e, (uint8_t)((s->aptpl ? SNF_APTPL : 0) | (s->spc2_reserved ? SNF_SPC2 : 0)));
	enc_u8(e, s->type);
	enc_u8(e, s->scope);
	enc_nexus(e, &s->holder);
	enc_nexus(e, &s->spc2_holder);
	enc_u32(e, s->nregs);
	for (i = 0; i < s->nregs; i++) {
		enc_u64(e, s->regs[i].key);
		enc_u8(e, s->regs[i].who.all_tg_pt ? REGF_ALL_TG_PT : 0);
		enc_nexus(e, &s->regs[i].who.nexus);
	}
}

size_t pr_state_encoded_size(const struct pr_state *state)
{
	struct enc e = {0};

	state_encode(state, &e);
	return e.pos;
}

int pr_state_encode(const struct pr_state *state, uint8_t *buf, size_t cap)
{
	struct enc e = {.buf = buf, .cap = cap};

	if (pr_state_encoded_size(state) > cap || cap > INT32_MAX) {
		return -ENOSPC;
	}
	state_encode(state, &e);
	return (int)e.pos;
}

uint64_t pr_state_digest(const struct pr_state *state)
{
	struct enc e = {.hash = true, .h = PR_FNV64_OFFSET};

	state_encode(state, &e);
	return e.h;
}

/* Invariants of a reachable state (see pr.h). */
static bool state_valid(const struct pr_state *s)
{
	uint32_t i, j;

	if (s->scope != PR_SCOPE_LU) {
		return false;
	}
	if (s->type == PR_TYPE_NONE) {
		if (!nexus_empty(&s->holder)) {
			return false;
		}
	} else if (!pr_type_valid(s->type)) {
		return false;
	} else if (pr_type_all_registrants(s->type)) {
		if (!nexus_empty(&s->holder) || s->nregs == 0) {
			return false;
		}
	} else if (!nexus_live(&s->holder) || pr_state_find_idx(s, &s->holder) < 0) {
		return false;
	}
	if (s->spc2_reserved ? !nexus_live(&s->spc2_holder) : !nexus_empty(&s->spc2_holder)) {
		return false;
	}
	for (i = 0; i < s->nregs; i++) {
		const struct pr_reg *r = &s->regs[i];

		if (r->key == 0 || r->who.nexus.initiator[0] == '\0') {
			return false;
		}
		/* Overlap needs the same name; the hash filter keeps this cheap. */
		for (j = 0; j < i; j++) {
			if (s->regs[j].name_hash == r->name_hash &&
			    pr_target_overlap(&s->regs[j].who, &r->who)) {
				return false;
			}
		}
	}
	return true;
}

int pr_state_decode(const uint8_t *buf, size_t len, struct pr_state *state)
{
	struct dec d = {.p = buf, .len = len};
	struct pr_state s;
	uint8_t flags;
	uint32_t n, i;

	pr_state_init(&s, state->reg_limit);
	if (dec_u32(&d) != PR_SNAP_MAGIC || dec_u8(&d) != PR_WIRE_VERSION) {
		return -EINVAL;
	}
	s.generation = dec_u32(&d);
	flags = dec_u8(&d);
	s.aptpl = flags & SNF_APTPL;
	s.spc2_reserved = flags & SNF_SPC2;
	s.type = dec_u8(&d);
	s.scope = dec_u8(&d);
	dec_nexus(&d, &s.holder);
	dec_nexus(&d, &s.spc2_holder);
	n = dec_u32(&d);
	if (d.bad || (flags & ~SNF_MASK) || n > (d.len - d.pos) / (8 + 1 + NEXUS_MIN_LEN)) {
		return -EINVAL;
	}
	if (n) {
		s.regs = calloc(n, sizeof(*s.regs));
		if (s.regs == NULL) {
			return -ENOMEM;
		}
		s.cap = n;
	}
	for (i = 0; i < n && !d.bad; i++) {
		struct pr_reg *r = &s.regs[i];
		uint8_t rf;

		r->key = dec_u64(&d);
		rf = dec_u8(&d);
		if (rf & ~REGF_MASK) {
			d.bad = true;
		}
		r->who.all_tg_pt = rf & REGF_ALL_TG_PT;
		dec_nexus(&d, &r->who.nexus);
		r->name_hash = pr_name_hash(r->who.nexus.initiator);
	}
	s.nregs = n;
	if (d.bad || d.pos != d.len || !state_valid(&s)) {
		pr_state_fini(&s);
		return -EINVAL;
	}
	pr_state_fini(state);
	*state = s;
	return 0;
}
