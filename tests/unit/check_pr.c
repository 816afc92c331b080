// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the persistent-reservation engine (reservations/), linked
 * with libreservations.a and Check only. Commands go through the real
 * layers: CDB + parameter list -> pr_out_decode() -> pr_apply(), and PR IN
 * through pr_in_build(), so every test exercises what the SCSI layer will
 * call. Expectations come from SPC-4 tables written out here independently
 * of the engine (access table, service-action outcomes per role and type).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reservations/pr.h"
#include "tests/unit/check_main.h"

#ifdef PR_TEST_WITH_SCSI_TABLE
/*
 * Hook for the daemon's opcode table (build with -DPR_TEST_WITH_SCSI_TABLE and
 * the libqb include path once daemon/scsi settles): the conflict classes must
 * stay numerically identical to the table's column.
 */
#include "daemon/scsi/scsi_int.h"
_Static_assert((int)PR_CLASS_ALLOWED == (int)SCSI_RESV_ALLOWED, "class ALLOWED");
_Static_assert((int)PR_CLASS_READ == (int)SCSI_RESV_READ, "class READ");
_Static_assert((int)PR_CLASS_WRITE == (int)SCSI_RESV_WRITE, "class WRITE");
_Static_assert((int)PR_CLASS_CONFLICT == (int)SCSI_RESV_CONFLICT, "class CONFLICT");
_Static_assert((int)PR_CLASS_PR == (int)SCSI_RESV_PR, "class PR");
_Static_assert((int)PR_CLASS_SPC2 == (int)SCSI_RESV_SPC2, "class SPC2");
#endif

#define OP_PR_OUT 0x5f
#define OP_PR_IN  0x5e
#define PARAM_LEN 24

static const uint8_t all_types[] = {
	PR_TYPE_WR_EX,	  PR_TYPE_EX_AC,    PR_TYPE_WR_EX_RO,
	PR_TYPE_EX_AC_RO, PR_TYPE_WR_EX_AR, PR_TYPE_EX_AC_AR,
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

static void mk_nexus(struct pr_nexus *n, unsigned int init, uint16_t port)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->initiator, sizeof(n->initiator), "iqn.2026-11.org.test:host%u,i,0x23d0000%05x",
		 init, init);
	snprintf(n->target, sizeof(n->target), "iqn.2026-11.org.quorate:demo,t,0x%x", port);
	n->rel_port_id = port;
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

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static void mk_cdb(uint8_t *cdb, uint8_t sa, uint8_t type, uint32_t plen)
{
	memset(cdb, 0, 10);
	cdb[0] = OP_PR_OUT;
	cdb[1] = sa;
	cdb[2] = type;
	put32(cdb + 5, plen);
}

/* Decode + apply a raw PR OUT; the result lands in *res (caller finis it). */
static void prout_raw(struct pr_state *s, const struct pr_nexus *n, const uint8_t *cdb,
		      const uint8_t *param, size_t plen, struct pr_result *res)
{
	struct pr_op op;

	pr_op_init(&op);
	pr_result_init(res);
	ck_assert_int_eq(pr_out_decode(cdb, 10, param, plen, n, NULL, &op, res), 0);
	if (res->status == PR_STATUS_GOOD) {
		ck_assert_int_eq(pr_apply(s, &op, res), 0);
	}
	pr_op_fini(&op);
}

#define F_ALL_TG_PT 0x04
#define F_APTPL	    0x01

static void prout(struct pr_state *s, const struct pr_nexus *n, uint8_t sa, uint8_t type,
		  uint64_t rk, uint64_t sark, uint8_t flags, struct pr_result *res)
{
	uint8_t cdb[10], p[PARAM_LEN] = {0};

	mk_cdb(cdb, sa, type, PARAM_LEN);
	put64(p, rk);
	put64(p + 8, sark);
	p[20] = flags;
	prout_raw(s, n, cdb, p, sizeof(p), res);
}

/* PR OUT expecting a status; returns nothing, frees the result. */
static void prout_expect(struct pr_state *s, const struct pr_nexus *n, uint8_t sa, uint8_t type,
			 uint64_t rk, uint64_t sark, uint8_t status)
{
	struct pr_result r;

	prout(s, n, sa, type, rk, sark, 0, &r);
	ck_assert_msg(r.status == status, "sa %u type %u: status %#x, want %#x", sa, type, r.status,
		      status);
	pr_result_fini(&r);
}

static uint32_t prin(const struct pr_state *s, uint8_t sa, uint16_t alloc, uint8_t *buf,
		     uint32_t cap, struct pr_result *res)
{
	uint8_t cdb[10] = {OP_PR_IN, sa};
	struct pr_nexus n;
	uint32_t xfer, len;

	mk_nexus(&n, 99, 1);
	cdb[7] = (uint8_t)(alloc >> 8);
	cdb[8] = (uint8_t)alloc;
	pr_result_init(res);
	pr_in_build(s, cdb, sizeof(cdb), &n, buf, cap, &xfer, &len, res);
	ck_assert_uint_le(len, xfer);
	ck_assert_uint_le(len, cap);
	return len;
}

static uint32_t nkeys(const struct pr_state *s)
{
	uint8_t buf[8];
	struct pr_result r;

	prin(s, PR_IN_READ_KEYS, sizeof(buf), buf, sizeof(buf), &r);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	return get32(buf + 4) / 8;
}

static uint32_t gen_of(const struct pr_state *s)
{
	uint8_t buf[8];
	struct pr_result r;

	prin(s, PR_IN_READ_KEYS, sizeof(buf), buf, sizeof(buf), &r);
	return get32(buf);
}

/* Round trip through the wire; checks canonical bytes and digest. */
static void check_roundtrip(const struct pr_state *s)
{
	size_t n = pr_state_encoded_size(s);
	uint8_t *a = malloc(n), *b = malloc(n);
	struct pr_state t;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(pr_state_encode(s, a, n), (int)n);
	pr_state_init(&t, 0);
	ck_assert_int_eq(pr_state_decode(a, n, &t), 0);
	ck_assert_int_eq(pr_state_encode(&t, b, n), (int)n);
	ck_assert_mem_eq(a, b, n);
	ck_assert_uint_eq(pr_state_digest(s), pr_state_digest(&t));
	pr_state_fini(&t);
	free(a);
	free(b);
}

static bool has_ua(const struct pr_result *r, const struct pr_nexus *n, uint8_t ua)
{
	uint32_t i;

	for (i = 0; i < r->n_ua; i++) {
		if (r->ua[i].ua == ua &&
		    pr_target_matches(&r->ua[i].who, n->initiator, n->rel_port_id)) {
			return true;
		}
	}
	return false;
}

static bool has_abort(const struct pr_result *r, const struct pr_nexus *n)
{
	uint32_t i;

	for (i = 0; i < r->n_abort; i++) {
		if (pr_target_matches(&r->abort[i], n->initiator, n->rel_port_id)) {
			return true;
		}
	}
	return false;
}

/* ---- access table (SPC-4 5.13.1 table 66, SBC-3 table 13) ---- */

enum role { ROLE_HOLDER, ROLE_REG, ROLE_UNREG, ROLE_COUNT };

/* Expected "allowed" for READ, WRITE, CONFLICT classes, per type and role. */
static bool expect_allowed(uint8_t type, enum role role, enum pr_class cls)
{
	bool we = type == PR_TYPE_WR_EX || type == PR_TYPE_WR_EX_RO || type == PR_TYPE_WR_EX_AR;
	bool ro_ar = type != PR_TYPE_WR_EX && type != PR_TYPE_EX_AC;

	if (cls == PR_CLASS_ALLOWED || cls == PR_CLASS_PR || cls == PR_CLASS_SPC2) {
		return true;
	}
	if (role == ROLE_HOLDER || (role == ROLE_REG && ro_ar)) {
		return true;
	}
	return cls == PR_CLASS_READ && we;
}

START_TEST(test_access_table)
{
	struct pr_nexus a, b, c;
	struct pr_state s;
	unsigned int t, cls, role;

	mk_nexus(&a, 1, 1);
	mk_nexus(&b, 2, 1);
	mk_nexus(&c, 3, 1);
	for (t = 0; t < N_TYPES; t++) {
		pr_state_init(&s, 0);
		prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0, 0xa, PR_STATUS_GOOD);
		prout_expect(&s, &b, PR_OUT_REGISTER, 0, 0, 0xb, PR_STATUS_GOOD);
		/* No reservation: everything runs. */
		for (cls = 0; cls < PR_CLASS_COUNT; cls++) {
			ck_assert(pr_check_access(&s, &c, cls));
		}
		prout_expect(&s, &a, PR_OUT_RESERVE, all_types[t], 0xa, 0, PR_STATUS_GOOD);
		for (role = 0; role < ROLE_COUNT; role++) {
			const struct pr_nexus *n = role == ROLE_HOLDER ? &a
						   : role == ROLE_REG  ? &b
								       : &c;

			for (cls = 0; cls < PR_CLASS_COUNT; cls++) {
				ck_assert_msg(pr_check_access(&s, n, cls) ==
						      expect_allowed(all_types[t], role, cls),
					      "type %u role %u class %u", all_types[t], role, cls);
			}
		}
		/* The same initiator through another target port is another nexus. */
		{
			struct pr_nexus a2;

			mk_nexus(&a2, 1, 2);
			ck_assert(!pr_check_access(&s, &a2, PR_CLASS_WRITE));
		}
		/* An unknown class never passes when a reservation exists. */
		ck_assert(!pr_check_access(&s, &c, PR_CLASS_COUNT));
		pr_state_fini(&s);
	}
}
END_TEST

/* libiscsi test_prout_reserve_access: reg/unreg read/write per type. */
START_TEST(test_access_libiscsi)
{
	static const struct {
		uint8_t type;
		bool rr, rw, ur, uw;
	} exp[] = {
		{PR_TYPE_EX_AC, 0, 0, 0, 0},	{PR_TYPE_WR_EX, 1, 0, 1, 0},
		{PR_TYPE_EX_AC_RO, 1, 1, 0, 0}, {PR_TYPE_WR_EX_RO, 1, 1, 1, 0},
		{PR_TYPE_EX_AC_AR, 1, 1, 0, 0}, {PR_TYPE_WR_EX_AR, 1, 1, 1, 0},
	};
	struct pr_nexus a, b;
	struct pr_state s;
	unsigned int i;

	mk_nexus(&a, 1, 1);
	mk_nexus(&b, 2, 1);
	for (i = 0; i < sizeof(exp) / sizeof(exp[0]); i++) {
		pr_state_init(&s, 0);
		prout_expect(&s, &a, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0x1, PR_STATUS_GOOD);
		prout_expect(&s, &b, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0x2, PR_STATUS_GOOD);
		prout_expect(&s, &a, PR_OUT_RESERVE, exp[i].type, 0x1, 0, PR_STATUS_GOOD);
		ck_assert(pr_check_access(&s, &a, PR_CLASS_READ));
		ck_assert(pr_check_access(&s, &a, PR_CLASS_WRITE));
		ck_assert(pr_check_access(&s, &b, PR_CLASS_READ) == exp[i].rr);
		ck_assert(pr_check_access(&s, &b, PR_CLASS_WRITE) == exp[i].rw);
		prout_expect(&s, &b, PR_OUT_REGISTER, 0, 0x2, 0, PR_STATUS_GOOD);
		ck_assert(pr_check_access(&s, &b, PR_CLASS_READ) == exp[i].ur);
		ck_assert(pr_check_access(&s, &b, PR_CLASS_WRITE) == exp[i].uw);
		prout_expect(&s, &a, PR_OUT_RELEASE, exp[i].type, 0x1, 0, PR_STATUS_GOOD);
		prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0x1, 0, PR_STATUS_GOOD);
		ck_assert_uint_eq(nkeys(&s), 0);
		pr_state_fini(&s);
	}
}
END_TEST

/* ---- service action x type x role ---- */

#define KA 0xa0a0a0a0a0a0a0a0ull
#define KB 0xb0b0b0b0b0b0b0b0ull
#define KC 0xc0c0c0c0c0c0c0c0ull

struct world {
	struct pr_state s;
	struct pr_nexus a, b, c; /* holder (if reserved), registered, unregistered */
};

static void world_init(struct world *w, uint8_t type)
{
	pr_state_init(&w->s, 0);
	mk_nexus(&w->a, 1, 1);
	mk_nexus(&w->b, 2, 1);
	mk_nexus(&w->c, 3, 2);
	prout_expect(&w->s, &w->a, PR_OUT_REGISTER, 0, 0, KA, PR_STATUS_GOOD);
	prout_expect(&w->s, &w->b, PR_OUT_REGISTER, 0, 0, KB, PR_STATUS_GOOD);
	if (type != PR_TYPE_NONE) {
		prout_expect(&w->s, &w->a, PR_OUT_RESERVE, type, KA, 0, PR_STATUS_GOOD);
	}
}

static uint8_t resv_type(const struct pr_state *s, uint64_t *key)
{
	uint8_t buf[24] = {0};
	struct pr_result r;

	prin(s, PR_IN_READ_RESERVATION, sizeof(buf), buf, sizeof(buf), &r);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	if (get32(buf + 4) == 0) {
		return PR_TYPE_NONE;
	}
	ck_assert_uint_eq(get32(buf + 4), 16);
	if (key) {
		*key = get64(buf + 8);
	}
	return buf[21] & 0x0f;
}

START_TEST(test_sa_matrix)
{
	static const uint8_t types[] = {PR_TYPE_NONE,	  PR_TYPE_WR_EX,    PR_TYPE_EX_AC,
					PR_TYPE_WR_EX_RO, PR_TYPE_EX_AC_RO, PR_TYPE_WR_EX_AR,
					PR_TYPE_EX_AC_AR};
	unsigned int t, role, sa;

	for (t = 0; t < sizeof(types); t++) {
		uint8_t type = types[t];
		bool ar = type == PR_TYPE_WR_EX_AR || type == PR_TYPE_EX_AC_AR;
		bool ro_ar = type != PR_TYPE_NONE && type != PR_TYPE_WR_EX && type != PR_TYPE_EX_AC;

		for (sa = 0; sa <= PR_OUT_REGISTER_AND_MOVE; sa++) {
			for (role = 0; role < ROLE_COUNT; role++) {
				struct world w;
				const struct pr_nexus *n, *other;
				uint64_t key, okey;
				struct pr_result r;
				uint32_t g0;
				uint8_t want, ctype = type ? type : PR_TYPE_WR_EX;
				bool holder;

				world_init(&w, type);
				n = role == ROLE_HOLDER ? &w.a : role == ROLE_REG ? &w.b : &w.c;
				other = role == ROLE_HOLDER ? &w.b : &w.a;
				key = role == ROLE_HOLDER ? KA : role == ROLE_REG ? KB : 0;
				okey = role == ROLE_HOLDER ? KB : KA;
				holder = type != PR_TYPE_NONE &&
					 (role == ROLE_HOLDER || (role == ROLE_REG && ar));
				g0 = gen_of(&w.s);
				want = PR_STATUS_GOOD;

				if (sa == PR_OUT_REGISTER_AND_MOVE) {
					uint8_t cdb[10], p[24 + 64] = {0};
					int tl;

					struct pr_nexus d;

					mk_nexus(&d, 4, 2);
					tl = pr_transport_id_build(d.initiator, p + 24, 64);
					ck_assert_int_gt(tl, 0);
					put64(p, key);
					put64(p + 8, KC);
					p[18] = 0;
					p[19] = 2;
					put32(p + 20, (uint32_t)tl);
					mk_cdb(cdb, sa, ctype, 24 + (uint32_t)tl);
					prout_raw(&w.s, n, cdb, p, 24 + (size_t)tl, &r);
					if (type != PR_TYPE_NONE && !ar && role == ROLE_HOLDER) {
						ck_assert_int_eq(r.status, PR_STATUS_GOOD);
						ck_assert(pr_state_is_holder(&w.s, &d));
						ck_assert(!pr_state_is_holder(&w.s, &w.a));
						ck_assert_uint_eq(gen_of(&w.s), g0 + 1);
						ck_assert_uint_eq(nkeys(&w.s), 3);
					} else {
						ck_assert_int_eq(r.status,
								 PR_STATUS_RESERVATION_CONFLICT);
						ck_assert_uint_eq(gen_of(&w.s), g0);
					}
					goto next;
				}
				prout(&w.s, n, (uint8_t)sa, ctype, key,
				      sa == PR_OUT_PREEMPT || sa == PR_OUT_PREEMPT_AND_ABORT ? okey
											     : KC,
				      0, &r);
				if (role == ROLE_UNREG && sa != PR_OUT_REGISTER &&
				    sa != PR_OUT_REGISTER_AND_IGNORE) {
					want = PR_STATUS_RESERVATION_CONFLICT;
				}
				if (sa == PR_OUT_RESERVE && !holder && type != PR_TYPE_NONE) {
					want = PR_STATUS_RESERVATION_CONFLICT;
				}
				ck_assert_msg(r.status == want, "type %u sa %u role %u: %#x", type,
					      sa, role, r.status);
				if (want != PR_STATUS_GOOD) {
					ck_assert_uint_eq(gen_of(&w.s), g0);
					ck_assert_uint_eq(r.n_ua, 0);
					goto next;
				}
				switch (sa) {
				case PR_OUT_REGISTER:
				case PR_OUT_REGISTER_AND_IGNORE:
					ck_assert_uint_eq(gen_of(&w.s), g0 + 1);
					ck_assert_uint_eq(nkeys(&w.s), role == ROLE_UNREG ? 3 : 2);
					ck_assert_uint_eq(pr_state_find(&w.s, n)->key, KC);
					ck_assert_uint_eq(resv_type(&w.s, NULL), type);
					break;
				case PR_OUT_RESERVE:
					ck_assert_uint_eq(gen_of(&w.s), g0);
					ck_assert_uint_eq(resv_type(&w.s, NULL), ctype);
					ck_assert(pr_state_is_holder(&w.s, n));
					break;
				case PR_OUT_RELEASE:
					ck_assert_uint_eq(gen_of(&w.s), g0);
					ck_assert_uint_eq(resv_type(&w.s, NULL),
							  holder ? PR_TYPE_NONE : type);
					/* 2A/04 to the other registrant only for RO/AR types. */
					ck_assert(has_ua(&r, other, PR_UA_RESERVATIONS_RELEASED) ==
						  (holder && ro_ar));
					ck_assert(!has_ua(&r, n, PR_UA_RESERVATIONS_RELEASED));
					break;
				case PR_OUT_CLEAR:
					ck_assert_uint_eq(gen_of(&w.s), g0 + 1);
					ck_assert_uint_eq(nkeys(&w.s), 0);
					ck_assert_uint_eq(resv_type(&w.s, NULL), PR_TYPE_NONE);
					ck_assert(has_ua(&r, other, PR_UA_RESERVATIONS_PREEMPTED));
					ck_assert(!has_ua(&r, n, PR_UA_RESERVATIONS_PREEMPTED));
					break;
				case PR_OUT_PREEMPT:
				case PR_OUT_PREEMPT_AND_ABORT: {
					uint64_t hk = 0;
					bool other_held =
						type != PR_TYPE_NONE && !ar && role == ROLE_REG;

					ck_assert_uint_eq(gen_of(&w.s), g0 + 1);
					ck_assert_uint_eq(nkeys(&w.s), 1);
					ck_assert_ptr_null(pr_state_find(&w.s, other));
					ck_assert(has_ua(&r, other, PR_UA_REGISTRATIONS_PREEMPTED));
					ck_assert_uint_eq(r.n_ua, 1);
					ck_assert(has_abort(&r, other) ==
						  (sa == PR_OUT_PREEMPT_AND_ABORT));
					ck_assert(!has_abort(&r, n));
					if (other_held) {
						/* The holder was preempted: n holds the CDB type.
						 */
						ck_assert_uint_eq(resv_type(&w.s, &hk), ctype);
						ck_assert_uint_eq(hk, key);
					} else {
						/* Registrations removed; the reservation stays. */
						ck_assert_uint_eq(resv_type(&w.s, NULL), type);
					}
					break;
				}
				default:
					ck_abort();
				}
			next:
				check_roundtrip(&w.s);
				pr_result_fini(&r);
				pr_state_fini(&w.s);
			}
		}
	}
}
END_TEST

START_TEST(test_register_rules)
{
	struct pr_nexus a, a2;
	struct pr_state s;
	struct pr_result r;

	mk_nexus(&a, 1, 1);
	mk_nexus(&a2, 1, 2);
	pr_state_init(&s, 0);
	/* Unregistered with a non-zero RESERVATION KEY: conflict (5.13.7). */
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 5, 7, PR_STATUS_RESERVATION_CONFLICT);
	ck_assert_uint_eq(gen_of(&s), 0);
	/* Unregistered, both keys zero: GOOD, nothing registered, generation +1. */
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0, 0, PR_STATUS_GOOD);
	ck_assert_uint_eq(nkeys(&s), 0);
	ck_assert_uint_eq(gen_of(&s), 1);
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0, 7, PR_STATUS_GOOD);
	/* libiscsi prout_reregister_key_fails: wrong key -> conflict. */
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0, 8, PR_STATUS_RESERVATION_CONFLICT);
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 7, 8, PR_STATUS_GOOD);
	ck_assert_uint_eq(pr_state_find(&s, &a)->key, 8);
	/* Registration is per I_T nexus: port 2 is not registered. */
	ck_assert_ptr_null(pr_state_find(&s, &a2));
	/* ALL_TG_PT from port 2 would cover port 1's registration. */
	prout(&s, &a2, PR_OUT_REGISTER, 0, 0, 9, F_ALL_TG_PT, &r);
	ck_assert_int_eq(r.status, PR_STATUS_CHECK_CONDITION);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	pr_result_fini(&r);
	prout_expect(&s, &a, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0, PR_STATUS_GOOD);
	ck_assert_uint_eq(nkeys(&s), 0);
	/* ALL_TG_PT: one registration covers every port; READ FULL STATUS says so. */
	prout(&s, &a2, PR_OUT_REGISTER, 0, 0, 9, F_ALL_TG_PT | F_APTPL, &r);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	pr_result_fini(&r);
	ck_assert_ptr_nonnull(pr_state_find(&s, &a));
	ck_assert(s.aptpl);
	{
		uint8_t buf[256];

		prin(&s, PR_IN_READ_FULL_STATUS, sizeof(buf), buf, sizeof(buf), &r);
		ck_assert_uint_eq(get64(buf + 8), 9);
		ck_assert_int_eq(buf[8 + 12] & 0x02, 0x02);
		ck_assert_int_eq(buf[8 + 24] & 0x0f, 0x5); /* iSCSI TransportID */
		ck_assert_int_eq(buf[8 + 24] >> 6, 1);	   /* format 01b */
		ck_assert_str_eq((char *)buf + 8 + 28, a.initiator);
	}
	/* Unregistering through port 1 removes the ALL_TG_PT registration. */
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 9, 0, PR_STATUS_GOOD);
	ck_assert_ptr_null(pr_state_find(&s, &a2));
	pr_state_fini(&s);
}
END_TEST

START_TEST(test_generation)
{
	struct pr_nexus a, b;
	struct pr_state s;
	uint32_t g;

	mk_nexus(&a, 1, 1);
	mk_nexus(&b, 2, 1);
	pr_state_init(&s, 0);
	prout_expect(&s, &a, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 1, PR_STATUS_GOOD);
	prout_expect(&s, &b, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 2, PR_STATUS_GOOD);
	g = gen_of(&s);
	ck_assert_uint_eq(g, 2);
	prout_expect(&s, &a, PR_OUT_RESERVE, PR_TYPE_EX_AC, 1, 0, PR_STATUS_GOOD);
	prout_expect(&s, &a, PR_OUT_RESERVE, PR_TYPE_EX_AC, 1, 0, PR_STATUS_GOOD);
	prout_expect(&s, &b, PR_OUT_RELEASE, PR_TYPE_EX_AC, 2, 0, PR_STATUS_GOOD);
	prout_expect(&s, &a, PR_OUT_RELEASE, PR_TYPE_EX_AC, 1, 0, PR_STATUS_GOOD);
	ck_assert_uint_eq(gen_of(&s), g); /* RESERVE/RELEASE: unchanged */
	prout_expect(&s, &b, PR_OUT_PREEMPT, PR_TYPE_EX_AC, 2, 1, PR_STATUS_GOOD);
	ck_assert_uint_eq(gen_of(&s), g + 1); /* libiscsi prout_preempt_rm_reg */
	prout_expect(&s, &b, PR_OUT_PREEMPT, PR_TYPE_EX_AC, 2, 77, PR_STATUS_RESERVATION_CONFLICT);
	prout_expect(&s, &b, PR_OUT_CLEAR, 0, 3, 0, PR_STATUS_RESERVATION_CONFLICT);
	ck_assert_uint_eq(gen_of(&s), g + 1); /* failures: unchanged */
	prout_expect(&s, &b, PR_OUT_CLEAR, 0, 2, 0, PR_STATUS_GOOD);
	ck_assert_uint_eq(gen_of(&s), g + 2); /* libiscsi prout_clear_simple */
	pr_state_fini(&s);
}
END_TEST

START_TEST(test_release_rules)
{
	struct pr_nexus a;
	struct pr_state s;
	struct pr_result r;

	mk_nexus(&a, 1, 1);
	pr_state_init(&s, 0);
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0, 1, PR_STATUS_GOOD);
	prout_expect(&s, &a, PR_OUT_RESERVE, PR_TYPE_WR_EX, 1, 0, PR_STATUS_GOOD);
	/* The holder cannot change the type with RESERVE. */
	prout_expect(&s, &a, PR_OUT_RESERVE, PR_TYPE_EX_AC, 1, 0, PR_STATUS_RESERVATION_CONFLICT);
	/* RELEASE with another type: INVALID RELEASE OF PERSISTENT RESERVATION. */
	prout(&s, &a, PR_OUT_RELEASE, PR_TYPE_EX_AC, 1, 0, 0, &r);
	ck_assert_int_eq(r.status, PR_STATUS_CHECK_CONDITION);
	ck_assert_int_eq(r.sense_key, PR_SENSE_ILLEGAL_REQUEST);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_RELEASE_OF_PR);
	pr_result_fini(&r);
	ck_assert_uint_eq(resv_type(&s, NULL), PR_TYPE_WR_EX);
	/* Wrong key: conflict even for the holder. */
	prout_expect(&s, &a, PR_OUT_RELEASE, PR_TYPE_WR_EX, 2, 0, PR_STATUS_RESERVATION_CONFLICT);
	prout_expect(&s, &a, PR_OUT_RELEASE, PR_TYPE_WR_EX, 1, 0, PR_STATUS_GOOD);
	ck_assert_uint_eq(resv_type(&s, NULL), PR_TYPE_NONE);
	pr_state_fini(&s);
}
END_TEST

/* Holder unregisters (libiscsi prout_reserve_ownership), per type. */
START_TEST(test_holder_unregisters)
{
	unsigned int t;

	for (t = 0; t < N_TYPES; t++) {
		struct world w;
		struct pr_result r;
		bool ar = all_types[t] == PR_TYPE_WR_EX_AR || all_types[t] == PR_TYPE_EX_AC_AR;
		bool ro = all_types[t] == PR_TYPE_WR_EX_RO || all_types[t] == PR_TYPE_EX_AC_RO;

		world_init(&w, all_types[t]);
		prout(&w.s, &w.a, PR_OUT_REGISTER, 0, KA, 0, 0, &r);
		ck_assert_int_eq(r.status, PR_STATUS_GOOD);
		ck_assert_uint_eq(resv_type(&w.s, NULL), ar ? all_types[t] : PR_TYPE_NONE);
		ck_assert(has_ua(&r, &w.b, PR_UA_RESERVATIONS_RELEASED) == ro);
		pr_result_fini(&r);
		if (ar) {
			/* The last registrant leaving ends an All Registrants reservation. */
			prout_expect(&w.s, &w.b, PR_OUT_RELEASE, all_types[t], KB, 0,
				     PR_STATUS_GOOD);
			ck_assert_uint_eq(resv_type(&w.s, NULL), PR_TYPE_NONE);
			prout_expect(&w.s, &w.b, PR_OUT_RESERVE, all_types[t], KB, 0,
				     PR_STATUS_GOOD);
			prout_expect(&w.s, &w.b, PR_OUT_REGISTER, 0, KB, 0, PR_STATUS_GOOD);
			ck_assert_uint_eq(resv_type(&w.s, NULL), PR_TYPE_NONE);
		}
		check_roundtrip(&w.s);
		pr_state_fini(&w.s);
	}
}
END_TEST

/* PREEMPT details: same key on many paths (MPIO), type change UAs, AR + key 0. */
START_TEST(test_preempt_paths)
{
	struct pr_nexus a1, a2, b1, b2, c;
	struct pr_state s;
	struct pr_result r;

	mk_nexus(&a1, 1, 1);
	mk_nexus(&a2, 1, 2);
	mk_nexus(&b1, 2, 1);
	mk_nexus(&b2, 2, 2);
	mk_nexus(&c, 3, 1);
	pr_state_init(&s, 0);
	prout_expect(&s, &a1, PR_OUT_REGISTER, 0, 0, KA, PR_STATUS_GOOD);
	prout_expect(&s, &a2, PR_OUT_REGISTER, 0, 0, KA, PR_STATUS_GOOD);
	prout_expect(&s, &b1, PR_OUT_REGISTER, 0, 0, KB, PR_STATUS_GOOD);
	prout_expect(&s, &b2, PR_OUT_REGISTER, 0, 0, KB, PR_STATUS_GOOD);
	prout_expect(&s, &c, PR_OUT_REGISTER, 0, 0, KC, PR_STATUS_GOOD);
	prout_expect(&s, &a1, PR_OUT_RESERVE, PR_TYPE_WR_EX_RO, KA, 0, PR_STATUS_GOOD);
	/* Node B preempts node A's key with another type through path b2. */
	prout(&s, &b2, PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_EX_AC_RO, KB, KA, 0, &r);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	ck_assert(pr_state_is_holder(&s, &b2));
	ck_assert(!pr_state_is_holder(&s, &b1));
	ck_assert_ptr_null(pr_state_find(&s, &a1));
	ck_assert_ptr_null(pr_state_find(&s, &a2));
	ck_assert(has_ua(&r, &a1, PR_UA_REGISTRATIONS_PREEMPTED));
	ck_assert(has_ua(&r, &a2, PR_UA_REGISTRATIONS_PREEMPTED));
	/* Type changed: the surviving registrants other than the sender get 2A/04. */
	ck_assert(has_ua(&r, &b1, PR_UA_RESERVATIONS_RELEASED));
	ck_assert(has_ua(&r, &c, PR_UA_RESERVATIONS_RELEASED));
	ck_assert(!has_ua(&r, &b2, PR_UA_RESERVATIONS_RELEASED));
	ck_assert_uint_eq(r.n_ua, 4);
	ck_assert_uint_eq(r.n_abort, 2);
	ck_assert(has_abort(&r, &a1) && has_abort(&r, &a2) && !has_abort(&r, &c));
	pr_result_fini(&r);
	/* Key 0 without an All Registrants reservation: INVALID FIELD IN PARAMETER LIST. */
	prout(&s, &c, PR_OUT_PREEMPT, PR_TYPE_EX_AC_RO, KC, 0, 0, &r);
	ck_assert_int_eq(r.status, PR_STATUS_CHECK_CONDITION);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	ck_assert(r.sks_valid && !r.sks_cd);
	ck_assert_uint_eq(r.sks_field, 8);
	pr_result_fini(&r);
	/* All Registrants + key 0: everyone else goes, the sender reserves anew. */
	prout_expect(&s, &b2, PR_OUT_PREEMPT, PR_TYPE_WR_EX_AR, KB, KB, PR_STATUS_GOOD);
	ck_assert_uint_eq(resv_type(&s, NULL), PR_TYPE_WR_EX_AR);
	ck_assert_uint_eq(nkeys(&s), 2); /* b2 kept, b1 removed, c kept */
	prout(&s, &c, PR_OUT_PREEMPT, PR_TYPE_EX_AC, KC, 0, 0, &r);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	ck_assert(has_ua(&r, &b2, PR_UA_REGISTRATIONS_PREEMPTED));
	pr_result_fini(&r);
	ck_assert_uint_eq(nkeys(&s), 1);
	ck_assert(pr_state_is_holder(&s, &c));
	ck_assert_uint_eq(resv_type(&s, NULL), PR_TYPE_EX_AC);
	/* Preempting one's own key without a holder match removes oneself too. */
	prout_expect(&s, &c, PR_OUT_RELEASE, PR_TYPE_EX_AC, KC, 0, PR_STATUS_GOOD);
	prout_expect(&s, &c, PR_OUT_PREEMPT, PR_TYPE_EX_AC, KC, KC, PR_STATUS_GOOD);
	ck_assert_uint_eq(nkeys(&s), 0);
	check_roundtrip(&s);
	pr_state_fini(&s);
}
END_TEST

/* ---- CDB and parameter list validation ---- */

START_TEST(test_cdb_validation)
{
	struct pr_nexus a;
	struct pr_state s;
	struct pr_result r;
	struct pr_op op;
	uint8_t cdb[10], p[64] = {0};
	unsigned int sa, type;

	mk_nexus(&a, 1, 1);
	pr_state_init(&s, 0);
	pr_op_init(&op);
	for (sa = 0; sa < 0x20; sa++) {
		for (type = 0; type < 16; type++) {
			bool typed = sa == 1 || sa == 2 || sa == 4 || sa == 5;
			bool valid_type = type == 1 || type == 3 || (type >= 5 && type <= 8);

			if (sa == PR_OUT_REGISTER_AND_MOVE) {
				continue;
			}
			mk_cdb(cdb, (uint8_t)sa, (uint8_t)type, PARAM_LEN);
			pr_result_init(&r);
			ck_assert_int_eq(pr_out_decode(cdb, 10, p, PARAM_LEN, &a, NULL, &op, &r),
					 0);
			if (sa > PR_OUT_REGISTER_AND_MOVE || (typed && !valid_type)) {
				ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_CDB);
				ck_assert(r.sks_valid && r.sks_cd);
				ck_assert_uint_eq(r.sks_field, sa > 7 ? 1 : 2);
			} else {
				ck_assert_int_eq(r.status, PR_STATUS_GOOD);
			}
			pr_result_fini(&r);
		}
	}
	/* SCOPE other than LU_SCOPE. */
	mk_cdb(cdb, PR_OUT_RESERVE, 0x10 | PR_TYPE_WR_EX, PARAM_LEN);
	pr_result_init(&r);
	pr_out_decode(cdb, 10, p, PARAM_LEN, &a, NULL, &op, &r);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_CDB);
	ck_assert_uint_eq(r.sks_bit, 7);
	/* PARAMETER LIST LENGTH other than 24 without SPEC_I_PT. */
	for (type = 0; type < 64; type++) {
		mk_cdb(cdb, PR_OUT_REGISTER, 0, type);
		pr_out_decode(cdb, 10, p, sizeof(p), &a, NULL, &op, &r);
		if (type == PARAM_LEN) {
			ck_assert_int_eq(r.status, PR_STATUS_GOOD);
		} else {
			ck_assert_int_eq(r.status, PR_STATUS_CHECK_CONDITION);
			ck_assert_int_eq(r.asc, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
		}
	}
	/* More than the transport delivered. */
	mk_cdb(cdb, PR_OUT_REGISTER, 0, PARAM_LEN);
	pr_out_decode(cdb, 10, p, PARAM_LEN - 1, &a, NULL, &op, &r);
	ck_assert_int_eq(r.asc, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
	/* SPEC_I_PT with REGISTER AND IGNORE EXISTING KEY or CLEAR. */
	p[20] = 0x08;
	mk_cdb(cdb, PR_OUT_REGISTER_AND_IGNORE, 0, 28);
	pr_out_decode(cdb, 10, p, 28, &a, NULL, &op, &r);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	ck_assert_uint_eq(r.sks_field, 20);
	ck_assert_uint_eq(r.sks_bit, 3);
	/* Reserved CDB bits. */
	p[20] = 0;
	mk_cdb(cdb, PR_OUT_REGISTER, 0, PARAM_LEN);
	cdb[1] |= 0x20;
	pr_out_decode(cdb, 10, p, PARAM_LEN, &a, NULL, &op, &r);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_CDB);
	pr_result_fini(&r);
	pr_op_fini(&op);
	pr_state_fini(&s);
}
END_TEST

/* ---- SPEC_I_PT and TransportIDs ---- */

static size_t add_tid(uint8_t *p, size_t off, uint8_t fmt, const char *name, size_t pad)
{
	size_t n = strlen(name), len = ((n + 1 + 3) / 4) * 4 + pad;

	if (len < 20) {
		len = 20;
	}
	memset(p + off, 0, 4 + len);
	p[off] = (uint8_t)((fmt << 6) | 0x5);
	p[off + 2] = (uint8_t)(len >> 8);
	p[off + 3] = (uint8_t)len;
	memcpy(p + off + 4, name, n);
	return off + 4 + len;
}

static void spec_i_pt_rk(struct pr_state *s, const struct pr_nexus *n, uint64_t rk,
			 const uint8_t *tids, size_t tlen, struct pr_result *r)
{
	uint8_t cdb[10], p[1024] = {0};

	put64(p, rk);
	put64(p + 8, 0x5151);
	p[20] = 0x08;
	put32(p + 24, (uint32_t)tlen);
	memcpy(p + 28, tids, tlen);
	mk_cdb(cdb, PR_OUT_REGISTER, 0, 28 + (uint32_t)tlen);
	prout_raw(s, n, cdb, p, 28 + tlen, r);
}

static void spec_i_pt(struct pr_state *s, const struct pr_nexus *n, const uint8_t *tids,
		      size_t tlen, struct pr_result *r)
{
	spec_i_pt_rk(s, n, 0, tids, tlen, r);
}

START_TEST(test_spec_i_pt)
{
	struct pr_nexus a, b, c7, c8, d;
	struct pr_state s;
	struct pr_result r;
	uint8_t t[512];
	size_t off;
	char bare[64];

	mk_nexus(&a, 1, 1);
	mk_nexus(&b, 2, 1);
	mk_nexus(&c7, 3, 1);
	mk_nexus(&d, 4, 1);
	c8 = c7;
	/* Another ISID of host3. */
	c8.initiator[strlen(c8.initiator) - 1] = 'f';
	pr_state_init(&s, 0);
	off = add_tid(t, 0, 1, b.initiator, 0);
	snprintf(bare, sizeof(bare), "%.*s", (int)(strchr(c7.initiator, ',') - c7.initiator),
		 c7.initiator);
	off = add_tid(t, off, 0, bare, 8);
	spec_i_pt(&s, &a, t, off, &r);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	pr_result_fini(&r);
	ck_assert_uint_eq(nkeys(&s), 3);
	ck_assert_uint_eq(pr_state_find(&s, &b)->key, 0x5151);
	/* Format 00b covers every ISID of the name, on the sender's port only. */
	ck_assert_ptr_nonnull(pr_state_find(&s, &c7));
	ck_assert_ptr_nonnull(pr_state_find(&s, &c8));
	c8.rel_port_id = 2;
	ck_assert_ptr_null(pr_state_find(&s, &c8));
	ck_assert_ptr_null(pr_state_find(&s, &d));
	{
		uint8_t buf[512];
		uint32_t len, pos, i;

		/* READ FULL STATUS: three descriptors, the bare name as format 00b. */
		len = prin(&s, PR_IN_READ_FULL_STATUS, sizeof(buf), buf, sizeof(buf), &r);
		ck_assert_uint_eq(len, 8 + get32(buf + 4));
		for (pos = 8, i = 0; pos < len; i++) {
			ck_assert_int_eq(buf[pos + 24] >> 6, i == 2 ? 0 : 1);
			ck_assert_uint_eq((uint32_t)buf[pos + 18] << 8 | buf[pos + 19], 1);
			pos += 24 + get32(buf + pos + 20);
		}
		ck_assert_uint_eq(i, 3);
		ck_assert_uint_eq(pos, len);
	}
	check_roundtrip(&s);
	/* SPEC_I_PT from a registered nexus: INVALID FIELD IN PARAMETER LIST. */
	off = add_tid(t, 0, 1, d.initiator, 0);
	spec_i_pt(&s, &a, t, off, &r);
	ck_assert_int_eq(r.status, PR_STATUS_RESERVATION_CONFLICT); /* key first */
	pr_result_fini(&r);
	spec_i_pt_rk(&s, &a, 0x5151, t, off, &r);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	ck_assert_uint_eq(r.sks_bit, 3);
	pr_result_fini(&r);
	/* A TransportID naming a registered nexus. */
	off = add_tid(t, 0, 1, b.initiator, 0);
	spec_i_pt(&s, &d, t, off, &r);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	pr_result_fini(&r);
	ck_assert_uint_eq(nkeys(&s), 3);
	/* Malformed TransportIDs. */
	{
		static const char *bad_ports[] = {
			"iqn.x,i,0x12345",	    /* short ISID */
			"iqn.x,i,0x12345678901g",   /* not hex */
			",i,0x123456789012",	    /* no name */
			"iqn.x y,i,0x123456789012", /* space */
		};
		unsigned int i;

		for (i = 0; i < 4; i++) {
			off = add_tid(t, 0, 1, bad_ports[i], 0);
			spec_i_pt(&s, &d, t, off, &r);
			ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
			ck_assert_uint_eq(r.sks_field, 28);
			pr_result_fini(&r);
		}
		off = add_tid(t, 0, 0, "iqn.x,i,0x123456789012", 0); /* 00b with ISID */
		spec_i_pt(&s, &d, t, off, &r);
		ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
		pr_result_fini(&r);
		off = add_tid(t, 0, 1, "iqn.ok,i,0x123456789012", 0);
		t[0] = (1 << 6) | 0x1; /* Fibre Channel protocol id */
		spec_i_pt(&s, &d, t, off, &r);
		ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
		pr_result_fini(&r);
		off = add_tid(t, 0, 1, "iqn.ok,i,0x123456789012", 0);
		t[3] += 2; /* ADDITIONAL LENGTH not a multiple of 4 */
		spec_i_pt(&s, &d, t, off + 2, &r);
		ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
		pr_result_fini(&r);
		off = add_tid(t, 0, 1, "iqn.ok,i,0x123456789012", 0);
		memset(t + 4, 'x', off - 4); /* no NUL terminator */
		spec_i_pt(&s, &d, t, off, &r);
		ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
		pr_result_fini(&r);
		/* Two TransportIDs for the same nexus. */
		off = add_tid(t, 0, 1, "iqn.ok,i,0x123456789012", 0);
		off = add_tid(t, off, 0, "iqn.ok", 0);
		spec_i_pt(&s, &d, t, off, &r);
		ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
		pr_result_fini(&r);
	}
	/* TRANSPORTID PARAMETER DATA LENGTH disagreeing with the list length. */
	{
		uint8_t cdb[10], p[128] = {0};

		p[20] = 0x08;
		put64(p + 8, 1);
		off = add_tid(p, 28, 1, "iqn.ok,i,0x123456789012", 0);
		put32(p + 24, (uint32_t)(off - 28 + 4));
		mk_cdb(cdb, PR_OUT_REGISTER, 0, (uint32_t)off);
		prout_raw(&s, &d, cdb, p, off, &r);
		ck_assert_int_eq(r.asc, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
		pr_result_fini(&r);
		mk_cdb(cdb, PR_OUT_REGISTER, 0, 26);
		prout_raw(&s, &d, cdb, p, 26, &r);
		ck_assert_int_eq(r.asc, PR_ASC_PARAMETER_LIST_LENGTH_ERROR);
		pr_result_fini(&r);
	}
	pr_state_fini(&s);
}
END_TEST

START_TEST(test_transport_id)
{
	char name[PR_PORT_NAME_MAX];
	uint8_t buf[300];
	char longname[PR_ISCSI_NAME_MAX + 2];
	int n;

	n = pr_transport_id_build("iqn.a,i,0x0123456789ab", buf, sizeof(buf));
	ck_assert_int_eq(n % 4, 0);
	ck_assert_int_ge(n, 24);
	ck_assert_int_eq(pr_transport_id_parse(buf, (size_t)n, name), n);
	ck_assert_str_eq(name, "iqn.a,i,0x0123456789ab");
	ck_assert_int_eq(pr_transport_id_parse(buf, (size_t)n - 1, name), -22);
	n = pr_transport_id_build("iqn.a", buf, sizeof(buf));
	ck_assert_int_eq(n, 24);
	ck_assert_int_eq(buf[0], 0x05);
	ck_assert_int_eq(pr_transport_id_parse(buf, (size_t)n, name), n);
	/* 223-byte names are the limit (RFC 7143 §4.2.7.1). */
	memset(longname, 'a', sizeof(longname));
	longname[PR_ISCSI_NAME_MAX] = '\0';
	n = pr_transport_id_build(longname, buf, sizeof(buf));
	ck_assert_int_eq(pr_transport_id_parse(buf, (size_t)n, name), n);
	longname[PR_ISCSI_NAME_MAX] = 'a';
	longname[PR_ISCSI_NAME_MAX + 1] = '\0';
	n = pr_transport_id_build(longname, buf, sizeof(buf));
	ck_assert_int_eq(pr_transport_id_parse(buf, (size_t)n, name), -22);
	ck_assert_int_eq(pr_transport_id_build("iqn.a", buf, 10), -28);
}
END_TEST

/* ---- REGISTER AND MOVE ---- */

static void move(struct pr_state *s, const struct pr_nexus *n, uint8_t type, uint64_t rk,
		 uint64_t sark, const char *dest, uint16_t port, uint8_t flags,
		 const struct pr_decode_ctx *ctx, struct pr_result *r)
{
	uint8_t cdb[10], p[300] = {0};
	struct pr_op op;
	int tl = pr_transport_id_build(dest, p + 24, sizeof(p) - 24);

	ck_assert_int_gt(tl, 0);
	put64(p, rk);
	put64(p + 8, sark);
	p[17] = flags;
	p[18] = (uint8_t)(port >> 8);
	p[19] = (uint8_t)port;
	put32(p + 20, (uint32_t)tl);
	mk_cdb(cdb, PR_OUT_REGISTER_AND_MOVE, type, 24 + (uint32_t)tl);
	pr_op_init(&op);
	pr_result_init(r);
	ck_assert_int_eq(pr_out_decode(cdb, 10, p, 24 + (size_t)tl, n, ctx, &op, r), 0);
	if (r->status == PR_STATUS_GOOD) {
		ck_assert_int_eq(pr_apply(s, &op, r), 0);
	}
	pr_op_fini(&op);
}

START_TEST(test_register_and_move)
{
	static const uint16_t ports[] = {1, 2};
	struct pr_decode_ctx ctx = {ports, 2};
	struct pr_nexus a, c;
	struct pr_state s;
	struct pr_result r;

	mk_nexus(&a, 1, 1);
	mk_nexus(&c, 3, 2);
	pr_state_init(&s, 0);
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0, KA, PR_STATUS_GOOD);
	/* No reservation: conflict. */
	move(&s, &a, PR_TYPE_WR_EX, KA, KC, c.initiator, 2, 0, &ctx, &r);
	ck_assert_int_eq(r.status, PR_STATUS_RESERVATION_CONFLICT);
	pr_result_fini(&r);
	prout_expect(&s, &a, PR_OUT_RESERVE, PR_TYPE_WR_EX, KA, 0, PR_STATUS_GOOD);
	/* Unknown relative target port. */
	move(&s, &a, PR_TYPE_WR_EX, KA, KC, c.initiator, 9, 0, &ctx, &r);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	ck_assert_uint_eq(r.sks_field, 18);
	pr_result_fini(&r);
	/* Key zero, to itself, bare-name TransportID. */
	move(&s, &a, PR_TYPE_WR_EX, KA, 0, c.initiator, 2, 0, &ctx, &r);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	pr_result_fini(&r);
	move(&s, &a, PR_TYPE_WR_EX, KA, KC, a.initiator, 1, 0, &ctx, &r);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	pr_result_fini(&r);
	move(&s, &a, PR_TYPE_WR_EX, KA, KC, "iqn.bare", 2, 0, &ctx, &r);
	ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_PARAMETER_LIST);
	pr_result_fini(&r);
	/* Wrong key. */
	move(&s, &a, PR_TYPE_WR_EX, KB, KC, c.initiator, 2, 0, &ctx, &r);
	ck_assert_int_eq(r.status, PR_STATUS_RESERVATION_CONFLICT);
	pr_result_fini(&r);
	/* Move with UNREG and a new type and APTPL. */
	move(&s, &a, PR_TYPE_EX_AC, KA, KC, c.initiator, 2, 0x03, &ctx, &r);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	pr_result_fini(&r);
	ck_assert(pr_state_is_holder(&s, &c));
	ck_assert_ptr_null(pr_state_find(&s, &a));
	ck_assert_uint_eq(pr_state_find(&s, &c)->key, KC);
	ck_assert_uint_eq(resv_type(&s, NULL), PR_TYPE_EX_AC);
	ck_assert(s.aptpl);
	ck_assert_str_eq(s.holder.target, "iqn.2026-11.org.quorate:demo,t,0x2");
	/* The old holder can no longer move it. */
	move(&s, &a, PR_TYPE_EX_AC, KA, KC, c.initiator, 2, 0, &ctx, &r);
	ck_assert_int_eq(r.status, PR_STATUS_RESERVATION_CONFLICT);
	pr_result_fini(&r);
	check_roundtrip(&s);
	pr_state_fini(&s);
}
END_TEST

/* ---- PR IN ---- */

START_TEST(test_prin)
{
	struct pr_nexus a, b;
	struct pr_state s;
	struct pr_result r;
	uint8_t buf[256];
	uint32_t len;
	unsigned int sa;

	mk_nexus(&a, 1, 1);
	mk_nexus(&b, 2, 1);
	pr_state_init(&s, 0);
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0, 0x11, PR_STATUS_GOOD);
	prout_expect(&s, &b, PR_OUT_REGISTER, 0, 0, 0x22, PR_STATUS_GOOD);
	/* libiscsi prin_read_keys_truncate: 8 bytes -> header only, length untruncated. */
	len = prin(&s, PR_IN_READ_KEYS, 8, buf, sizeof(buf), &r);
	ck_assert_uint_eq(len, 8);
	ck_assert_uint_eq(get32(buf + 4), 16);
	len = prin(&s, PR_IN_READ_KEYS, 12, buf, sizeof(buf), &r);
	ck_assert_uint_eq(len, 12);
	len = prin(&s, PR_IN_READ_KEYS, 200, buf, sizeof(buf), &r);
	ck_assert_uint_eq(len, 24);
	ck_assert_uint_eq(get64(buf + 8), 0x11);
	ck_assert_uint_eq(get64(buf + 16), 0x22);
	/* A buffer smaller than the allocation length: bounded by the buffer. */
	memset(buf, 0xee, sizeof(buf));
	{
		uint8_t cdb[10] = {OP_PR_IN, PR_IN_READ_KEYS, 0, 0, 0, 0, 0, 0, 200, 0};
		uint32_t xfer, dl;

		pr_in_build(&s, cdb, 10, &a, buf, 10, &xfer, &dl, &r);
		ck_assert_uint_eq(xfer, 24);
		ck_assert_uint_eq(dl, 10);
		ck_assert_int_eq(buf[10], 0xee);
	}
	/* READ RESERVATION: none, then a holder, then All Registrants (key 0). */
	len = prin(&s, PR_IN_READ_RESERVATION, 200, buf, sizeof(buf), &r);
	ck_assert_uint_eq(len, 8);
	ck_assert_uint_eq(get32(buf + 4), 0);
	prout_expect(&s, &b, PR_OUT_RESERVE, PR_TYPE_EX_AC_RO, 0x22, 0, PR_STATUS_GOOD);
	len = prin(&s, PR_IN_READ_RESERVATION, 200, buf, sizeof(buf), &r);
	ck_assert_uint_eq(len, 24);
	ck_assert_uint_eq(get64(buf + 8), 0x22);
	ck_assert_int_eq(buf[21], PR_TYPE_EX_AC_RO);
	prout_expect(&s, &b, PR_OUT_RELEASE, PR_TYPE_EX_AC_RO, 0x22, 0, PR_STATUS_GOOD);
	prout_expect(&s, &b, PR_OUT_RESERVE, PR_TYPE_WR_EX_AR, 0x22, 0, PR_STATUS_GOOD);
	len = prin(&s, PR_IN_READ_RESERVATION, 200, buf, sizeof(buf), &r);
	ck_assert_uint_eq(get64(buf + 8), 0);
	ck_assert_int_eq(buf[21], PR_TYPE_WR_EX_AR);
	/* READ FULL STATUS: both registrants hold an All Registrants reservation. */
	len = prin(&s, PR_IN_READ_FULL_STATUS, 250, buf, sizeof(buf), &r);
	ck_assert_uint_eq(len, 8 + get32(buf + 4));
	ck_assert_int_eq(buf[8 + 12], 0x01);
	ck_assert_int_eq(buf[8 + 13], PR_TYPE_WR_EX_AR);
	ck_assert_uint_eq((uint32_t)buf[8 + 18] << 8 | buf[8 + 19], 1);
	/* Truncated READ FULL STATUS keeps ADDITIONAL LENGTH. */
	{
		uint32_t full = get32(buf + 4);

		len = prin(&s, PR_IN_READ_FULL_STATUS, 30, buf, sizeof(buf), &r);
		ck_assert_uint_eq(len, 30);
		ck_assert_uint_eq(get32(buf + 4), full);
	}
	/* REPORT CAPABILITIES (libiscsi prin_report_caps). */
	len = prin(&s, PR_IN_REPORT_CAPABILITIES, 200, buf, sizeof(buf), &r);
	ck_assert_uint_eq(len, 8);
	ck_assert_int_eq(buf[1], 8);
	ck_assert_int_eq(buf[2], 0x1d); /* CRH SIP_C ATP_C PTPL_C */
	ck_assert_int_eq(buf[3] & 0x80, 0x80);
	ck_assert_int_le((buf[3] >> 4) & 7, 5);
	ck_assert_int_eq(buf[4], 0xea);
	ck_assert_int_eq(buf[5], 0x01);
	/* libiscsi prin_serviceaction_range: 0..3 good, 4..0x1f INVALID FIELD IN CDB. */
	for (sa = 0; sa < 0x20; sa++) {
		prin(&s, (uint8_t)sa, 200, buf, sizeof(buf), &r);
		if (sa < 4) {
			ck_assert_int_eq(r.status, PR_STATUS_GOOD);
		} else {
			ck_assert_int_eq(r.asc, PR_ASC_INVALID_FIELD_IN_CDB);
			ck_assert_uint_eq(r.sks_field, 1);
		}
	}
	pr_state_fini(&s);
}
END_TEST

/* ---- SPC-2 RESERVE/RELEASE, CRH = 1 ---- */

static uint8_t spc2(struct pr_state *s, enum pr_op_kind kind, const struct pr_nexus *n)
{
	struct pr_op op;
	struct pr_result r;
	uint8_t st;

	pr_op_init(&op);
	pr_result_init(&r);
	pr_op_spc2(&op, kind, n);
	ck_assert_int_eq(pr_apply(s, &op, &r), 0);
	st = r.status;
	pr_result_fini(&r);
	pr_op_fini(&op);
	return st;
}

START_TEST(test_spc2)
{
	struct pr_nexus a, b;
	struct pr_state s;
	unsigned int t, cls;

	mk_nexus(&a, 1, 1);
	mk_nexus(&b, 2, 1);
	pr_state_init(&s, 0);
	/* libiscsi reserve6_2initiators. */
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESERVE, &a), PR_STATUS_GOOD);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESERVE, &a), PR_STATUS_GOOD);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESERVE, &b), PR_STATUS_RESERVATION_CONFLICT);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RELEASE, &b), PR_STATUS_GOOD);
	ck_assert(s.spc2_reserved);
	for (cls = 0; cls < PR_CLASS_COUNT; cls++) {
		ck_assert(pr_check_access(&s, &a, cls));
		ck_assert(pr_check_access(&s, &b, cls) ==
			  (cls == PR_CLASS_ALLOWED || cls == PR_CLASS_SPC2));
	}
	/* PR OUT from another nexus conflicts with an SPC-2 reservation. */
	prout_expect(&s, &b, PR_OUT_REGISTER, 0, 0, 1, PR_STATUS_RESERVATION_CONFLICT);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RELEASE, &a), PR_STATUS_GOOD);
	ck_assert(!s.spc2_reserved);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESERVE, &b), PR_STATUS_GOOD);
	/* Nexus loss of another nexus changes nothing; of the holder releases. */
	ck_assert_int_eq(spc2(&s, PR_OP_NEXUS_LOSS, &a), PR_STATUS_GOOD);
	ck_assert(s.spc2_reserved);
	ck_assert_int_eq(spc2(&s, PR_OP_NEXUS_LOSS, &b), PR_STATUS_GOOD);
	ck_assert(!s.spc2_reserved);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESERVE, &b), PR_STATUS_GOOD);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESET, NULL), PR_STATUS_GOOD);
	ck_assert(!s.spc2_reserved);
	/* CRH = 1 with registrations (SPC-4 5.13.3), per type. */
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0, 1, PR_STATUS_GOOD);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESERVE, &a), PR_STATUS_RESERVATION_CONFLICT);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESERVE, &b), PR_STATUS_RESERVATION_CONFLICT);
	ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RELEASE, &b), PR_STATUS_RESERVATION_CONFLICT);
	prout_expect(&s, &b, PR_OUT_REGISTER, 0, 0, 2, PR_STATUS_GOOD);
	for (t = 0; t < N_TYPES; t++) {
		bool ro_ar = all_types[t] != PR_TYPE_WR_EX && all_types[t] != PR_TYPE_EX_AC;
		uint8_t want = ro_ar ? PR_STATUS_GOOD : PR_STATUS_RESERVATION_CONFLICT;

		prout_expect(&s, &a, PR_OUT_RESERVE, all_types[t], 1, 0, PR_STATUS_GOOD);
		ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESERVE, &a), PR_STATUS_GOOD);
		ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RELEASE, &a), PR_STATUS_GOOD);
		ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RESERVE, &b), want);
		ck_assert_int_eq(spc2(&s, PR_OP_SPC2_RELEASE, &b), want);
		ck_assert(!s.spc2_reserved);
		ck_assert_uint_eq(resv_type(&s, NULL), all_types[t]);
		prout_expect(&s, &a, PR_OUT_RELEASE, all_types[t], 1, 0, PR_STATUS_GOOD);
	}
	pr_state_fini(&s);
}
END_TEST

/* ---- limits and scale ---- */

START_TEST(test_reg_limit)
{
	struct pr_nexus n;
	struct pr_state s;
	struct pr_result r;
	unsigned int i;

	pr_state_init(&s, 3);
	for (i = 0; i < 3; i++) {
		mk_nexus(&n, i, 1);
		prout_expect(&s, &n, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 1 + i, PR_STATUS_GOOD);
	}
	mk_nexus(&n, 9, 1);
	prout(&s, &n, PR_OUT_REGISTER, 0, 0, 5, 0, &r);
	ck_assert_int_eq(r.status, PR_STATUS_CHECK_CONDITION);
	ck_assert_int_eq(r.asc, PR_ASC_INSUFFICIENT_REGISTRATION_RESOURCES);
	pr_result_fini(&r);
	ck_assert_uint_eq(gen_of(&s), 3);
	pr_state_fini(&s);
}
END_TEST

#define MANY 5000

START_TEST(test_many_registrants)
{
	struct pr_nexus n, first;
	struct pr_state s;
	struct pr_result r;
	uint8_t *buf;
	uint32_t len, i;

	pr_state_init(&s, 0);
	for (i = 0; i < MANY; i++) {
		mk_nexus(&n, i, (uint16_t)(1 + i % 4));
		prout_expect(&s, &n, PR_OUT_REGISTER_AND_IGNORE, 0, 0, 0x1000 + i, PR_STATUS_GOOD);
	}
	ck_assert_uint_eq(s.nregs, MANY);
	mk_nexus(&first, 0, 1);
	prout_expect(&s, &first, PR_OUT_RESERVE, PR_TYPE_EX_AC_AR, 0x1000, 0, PR_STATUS_GOOD);
	for (i = 0; i < MANY; i += 97) {
		mk_nexus(&n, i, (uint16_t)(1 + i % 4));
		ck_assert(pr_check_access(&s, &n, PR_CLASS_WRITE));
		n.rel_port_id = (uint16_t)(5 + i % 4);
		ck_assert(!pr_check_access(&s, &n, PR_CLASS_READ));
	}
	buf = malloc(65536);
	ck_assert_ptr_nonnull(buf);
	len = prin(&s, PR_IN_READ_KEYS, 65535, buf, 65536, &r);
	ck_assert_uint_eq(get32(buf + 4), MANY * 8);
	ck_assert_uint_eq(len, 8 + MANY * 8);
	ck_assert_uint_eq(get64(buf + 8 + 8 * (MANY - 1)), 0x1000 + MANY - 1);
	len = prin(&s, PR_IN_READ_FULL_STATUS, 65535, buf, 65536, &r);
	ck_assert_uint_eq(len, 65535);
	ck_assert_uint_gt(get32(buf + 4), 65535);
	free(buf);
	check_roundtrip(&s);
	/* All Registrants + key 0: every other registrant preempted and notified. */
	prout(&s, &first, PR_OUT_PREEMPT_AND_ABORT, PR_TYPE_EX_AC, 0x1000, 0, 0, &r);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	ck_assert_uint_eq(r.n_ua, MANY - 1);
	ck_assert_uint_eq(r.n_abort, MANY - 1);
	pr_result_fini(&r);
	ck_assert_uint_eq(s.nregs, 1);
	ck_assert(pr_state_is_holder(&s, &first));
	pr_state_fini(&s);
}
END_TEST

/* ---- wire encodings ---- */

START_TEST(test_wire_state)
{
	struct world w;
	struct pr_state t;
	uint8_t *buf, *cp;
	size_t n, i;
	int bit;

	world_init(&w, PR_TYPE_WR_EX_RO);
	ck_assert_int_eq(spc2(&w.s, PR_OP_SPC2_RESET, NULL), PR_STATUS_GOOD);
	check_roundtrip(&w.s);
	n = pr_state_encoded_size(&w.s);
	buf = malloc(n);
	cp = malloc(n);
	ck_assert_int_eq(pr_state_encode(&w.s, buf, n), (int)n);
	ck_assert_int_eq(pr_state_encode(&w.s, buf, n - 1), -28);
	pr_state_init(&t, 0);
	/* Every truncation is rejected, and leaves the target untouched. */
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(pr_state_decode(buf, i, &t), -22);
	}
	ck_assert_uint_eq(t.nregs, 0);
	/* Every single-bit flip is rejected or decodes to a canonical state. */
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(cp, buf, n);
			cp[i] ^= (uint8_t)(1u << bit);
			if (pr_state_decode(cp, n, &t) == 0) {
				check_roundtrip(&t);
			}
		}
	}
	/* Different states, different digests; equal states, equal digests. */
	ck_assert_int_eq(pr_state_decode(buf, n, &t), 0);
	ck_assert_uint_eq(pr_state_digest(&t), pr_state_digest(&w.s));
	prout_expect(&t, &w.c, PR_OUT_REGISTER, 0, 0, KC, PR_STATUS_GOOD);
	ck_assert_uint_ne(pr_state_digest(&t), pr_state_digest(&w.s));
	/* Trailing bytes and a wrong version are rejected. */
	{
		uint8_t *longer = calloc(1, n + 1);

		memcpy(longer, buf, n);
		ck_assert_int_eq(pr_state_decode(longer, n + 1, &t), -22);
		longer[4] = PR_WIRE_VERSION + 1;
		ck_assert_int_eq(pr_state_decode(longer, n, &t), -22);
		free(longer);
	}
	pr_state_fini(&t);
	free(buf);
	free(cp);
	pr_state_fini(&w.s);
}
END_TEST

START_TEST(test_wire_op)
{
	struct pr_nexus a, b;
	struct pr_op op, back;
	struct pr_result r;
	uint8_t cdb[10], p[128] = {0}, enc[1024], enc2[1024];
	size_t off, i;
	int n, m;

	mk_nexus(&a, 1, 1);
	mk_nexus(&b, 2, 1);
	put64(p + 8, 42);
	p[20] = 0x08 | F_ALL_TG_PT | F_APTPL;
	off = add_tid(p, 28, 1, b.initiator, 0);
	off = add_tid(p, off, 0, "iqn.other", 0);
	put32(p + 24, (uint32_t)(off - 28));
	mk_cdb(cdb, PR_OUT_REGISTER, 0, (uint32_t)off);
	pr_op_init(&op);
	pr_op_init(&back);
	pr_result_init(&r);
	ck_assert_int_eq(pr_out_decode(cdb, 10, p, off, &a, NULL, &op, &r), 0);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	ck_assert_uint_eq(op.n_tids, 2);
	n = pr_op_encode(&op, enc, sizeof(enc));
	ck_assert_int_eq((size_t)n, pr_op_encoded_size(&op));
	ck_assert_int_eq(pr_op_decode(enc, (size_t)n, &back), 0);
	m = pr_op_encode(&back, enc2, sizeof(enc2));
	ck_assert_int_eq(m, n);
	ck_assert_mem_eq(enc, enc2, (size_t)n);
	ck_assert(back.spec_i_pt && back.all_tg_pt && back.aptpl);
	ck_assert_str_eq(back.tids[1].initiator, "iqn.other");
	for (i = 0; i < (size_t)n; i++) {
		ck_assert_int_eq(pr_op_decode(enc, i, &back), -22);
	}
	/* SPC-2 ops round-trip too; a reset names no nexus. */
	pr_op_spc2(&op, PR_OP_SPC2_RESET, NULL);
	n = pr_op_encode(&op, enc, sizeof(enc));
	ck_assert_int_eq(pr_op_decode(enc, (size_t)n, &back), 0);
	ck_assert_int_eq(back.kind, PR_OP_SPC2_RESET);
	pr_op_spc2(&op, PR_OP_SPC2_RESERVE, NULL);
	n = pr_op_encode(&op, enc, sizeof(enc));
	ck_assert_int_eq(pr_op_decode(enc, (size_t)n, &back), -22);
	pr_op_fini(&op);
	pr_op_fini(&back);
	pr_result_fini(&r);
}
END_TEST

START_TEST(test_power_on)
{
	struct world w;
	struct pr_result r;

	world_init(&w, PR_TYPE_WR_EX);
	pr_state_power_on(&w.s);
	ck_assert_uint_eq(nkeys(&w.s), 0);
	ck_assert_uint_eq(resv_type(&w.s, NULL), PR_TYPE_NONE);
	pr_state_fini(&w.s);
	world_init(&w, PR_TYPE_WR_EX);
	prout(&w.s, &w.a, PR_OUT_REGISTER, 0, KA, KA, F_APTPL, &r);
	pr_result_fini(&r);
	ck_assert_int_eq(spc2(&w.s, PR_OP_SPC2_RESET, NULL), PR_STATUS_GOOD);
	pr_state_power_on(&w.s);
	ck_assert_uint_eq(nkeys(&w.s), 2);
	ck_assert_uint_eq(resv_type(&w.s, NULL), PR_TYPE_WR_EX);
	pr_state_fini(&w.s);
}
END_TEST

#ifdef PR_TEST_WITH_SCSI_TABLE
/*
 * The access table of every row of daemon/scsi's dispatch table, through the
 * SCSI layer's own check (scsi_resv_allows, which calls pr_check_access).
 * The expected conflict class of each opcode is written here from SPC-4
 * 5.13.1 table 66 and SBC-3 4.17 table 13, independently of the table, so a
 * row with the wrong class (or a new row nobody classified) fails.
 */
static int spec_class(uint8_t opcode)
{
	switch (opcode) {
	case 0x00: /* TEST UNIT READY */
	case 0x03: /* REQUEST SENSE */
	case 0x12: /* INQUIRY */
	case 0x25: /* READ CAPACITY(10) */
	case 0x9e: /* READ CAPACITY(16) / GET LBA STATUS: see below */
	case 0xa0: /* REPORT LUNS */
	case 0xa3: /* REPORT TARGET PORT GROUPS, REPORT SUPPORTED OPERATION CODES */
		return PR_CLASS_ALLOWED;
	case 0x08: case 0x28: case 0x88: case 0xa8: /* READ(6/10/16/12) */
	case 0x2f: case 0x8f: case 0xaf:	     /* VERIFY(10/16/12) */
	case 0x34: case 0x90:			     /* PRE-FETCH(10/16) */
	case 0x1a: case 0x5a:			     /* MODE SENSE(6/10) */
		return PR_CLASS_READ;
	case 0x0a: case 0x2a: case 0x8a: case 0xaa: /* WRITE(6/10/16/12) */
	case 0x2e: case 0x8e: case 0xae:	     /* WRITE AND VERIFY */
	case 0x35: case 0x91:			     /* SYNCHRONIZE CACHE */
	case 0x41: case 0x93:			     /* WRITE SAME */
	case 0x42:				     /* UNMAP */
	case 0x89:				     /* COMPARE AND WRITE */
	case 0x8b:				     /* ORWRITE(16) */
		return PR_CLASS_WRITE;
	case 0x15: case 0x55: /* MODE SELECT(6/10) */
	case 0x1b:	      /* START STOP UNIT */
	case 0x1e:	      /* PREVENT ALLOW MEDIUM REMOVAL */
		return PR_CLASS_CONFLICT;
	case 0x5e: case 0x5f: /* PERSISTENT RESERVE IN/OUT */
		return PR_CLASS_PR;
	case 0x16: case 0x17: /* RESERVE(6)/RELEASE(6) */
		return PR_CLASS_SPC2;
	}
	return -1;
}

/* SPC-4 table 66 / SBC-3 table 13 for a nexus that is not a holder. */
static bool spec_allows(int cls, uint8_t type, bool registered)
{
	bool ro_ar = type == PR_TYPE_WR_EX_RO || type == PR_TYPE_EX_AC_RO ||
		     type == PR_TYPE_WR_EX_AR || type == PR_TYPE_EX_AC_AR;
	bool write_ex = type == PR_TYPE_WR_EX || type == PR_TYPE_WR_EX_RO ||
			type == PR_TYPE_WR_EX_AR;

	switch (cls) {
	case PR_CLASS_ALLOWED:
	case PR_CLASS_PR:
	case PR_CLASS_SPC2:
		return true;
	case PR_CLASS_READ:
		return write_ex || (ro_ar && registered);
	default:
		return ro_ar && registered;
	}
}

static bool table_allows(const struct scsi_cmd_desc *d, struct pr_state *st,
			 const struct pr_nexus *n)
{
	struct scsi_lu lu;
	struct scsi_nexus nx;

	memset(&lu, 0, sizeof(lu));
	memset(&nx, 0, sizeof(nx));
	lu.pr = st;
	nx.pr_id = *n;
	return scsi_resv_allows(&lu, &nx, d);
}

START_TEST(test_scsi_table_access)
{
	struct pr_nexus holder, reg, other;
	unsigned int checked = 0;

	mk_nexus(&holder, 1, 1);
	mk_nexus(&reg, 2, 1);
	mk_nexus(&other, 3, 1);
	for (unsigned int i = 0; i < scsi_cmd_table_len; i++) {
		const struct scsi_cmd_desc *d = &scsi_cmd_table[i];
		int cls = spec_class(d->opcode);
		int want_col = cls;

		if (d->opcode == 0x9e && d->sa == 0x12) {
			cls = want_col = PR_CLASS_READ; /* GET LBA STATUS reads metadata */
		}
		ck_assert_msg(cls >= 0, "%s (%#x): no class in SPC-4 table 66 here", d->name,
			      d->opcode);
		ck_assert_msg(d->resv == want_col, "%s: table class %u, SPC-4 says %d", d->name,
			      d->resv, want_col);
		for (unsigned int t = 0; t < N_TYPES; t++) {
			struct pr_state st;
			struct pr_result r;
			bool ar = pr_type_all_registrants(all_types[t]);

			pr_state_init(&st, 0);
			prout(&st, &holder, PR_OUT_REGISTER, 0, 0, 0xa, 0, &r);
			pr_result_fini(&r);
			prout(&st, &reg, PR_OUT_REGISTER, 0, 0, 0xb, 0, &r);
			pr_result_fini(&r);
			prout(&st, &holder, PR_OUT_RESERVE, all_types[t], 0xa, 0, 0, &r);
			ck_assert_uint_eq(r.status, PR_STATUS_GOOD);
			pr_result_fini(&r);
			ck_assert(table_allows(d, &st, &holder));
			/* All Registrants: every registrant is a holder (SPC-4 5.13.10). */
			ck_assert_msg(table_allows(d, &st, &reg) ==
					      (ar || spec_allows(cls, all_types[t], true)),
				      "%s type %u registrant", d->name, all_types[t]);
			ck_assert_msg(table_allows(d, &st, &other) ==
					      spec_allows(cls, all_types[t], false),
				      "%s type %u non-registrant", d->name, all_types[t]);
			pr_state_fini(&st);
			checked++;
		}
		/* SPC-2 5.5.1: an SPC-2 reservation admits others only to the
		 * never-conflicting commands and RESERVE/RELEASE themselves. */
		{
			struct pr_state st;
			struct pr_op op;
			struct pr_result r;

			pr_state_init(&st, 0);
			pr_op_init(&op);
			pr_result_init(&r);
			pr_op_spc2(&op, PR_OP_SPC2_RESERVE, &holder);
			ck_assert_int_eq(pr_apply(&st, &op, &r), 0);
			ck_assert_uint_eq(r.status, PR_STATUS_GOOD);
			ck_assert(table_allows(d, &st, &holder));
			ck_assert(table_allows(d, &st, &other) ==
				  (cls == PR_CLASS_ALLOWED || cls == PR_CLASS_SPC2));
			pr_result_fini(&r);
			pr_op_fini(&op);
			pr_state_fini(&st);
		}
	}
	ck_assert_uint_ge(checked, 40u * N_TYPES);
}
END_TEST
#endif

/* The administrator's clear: CLEAR with no sender, and the SPC-2 reservation too. */
START_TEST(test_admin_clear)
{
	struct pr_nexus a, b;
	struct pr_state s;
	struct pr_result r;
	uint32_t g;

	mk_nexus(&a, 1, 1);
	mk_nexus(&b, 2, 1);
	pr_state_init(&s, 0);
	pr_result_init(&r);
	prout_expect(&s, &a, PR_OUT_REGISTER, 0, 0, 1, PR_STATUS_GOOD);
	prout_expect(&s, &b, PR_OUT_REGISTER, 0, 0, 2, PR_STATUS_GOOD);
	prout_expect(&s, &a, PR_OUT_RESERVE, PR_TYPE_WR_EX, 1, 0, PR_STATUS_GOOD);
	g = gen_of(&s);
	ck_assert_int_eq(pr_admin_clear(&s, &r), 0);
	ck_assert_int_eq(r.status, PR_STATUS_GOOD);
	ck_assert(r.changed);
	ck_assert_uint_eq(gen_of(&s), g + 1);
	ck_assert_uint_eq(s.nregs, 0);
	ck_assert_uint_eq(resv_type(&s, NULL), PR_TYPE_NONE);
	/* Both registrants, the holder included: nobody issued it. */
	ck_assert_uint_eq(r.n_ua, 2);
	ck_assert(has_ua(&r, &a, PR_UA_RESERVATIONS_PREEMPTED));
	ck_assert(has_ua(&r, &b, PR_UA_RESERVATIONS_PREEMPTED));
	/* b may now reserve. */
	prout_expect(&s, &b, PR_OUT_REGISTER, 0, 0, 2, PR_STATUS_GOOD);
	prout_expect(&s, &b, PR_OUT_RESERVE, PR_TYPE_EX_AC, 2, 0, PR_STATUS_GOOD);
	/* An SPC-2 reservation nobody can release otherwise goes too. */
	ck_assert_int_eq(pr_admin_clear(&s, &r), 0);
	ck_assert_uint_eq(spc2(&s, PR_OP_SPC2_RESERVE, &a), PR_STATUS_GOOD);
	ck_assert(s.spc2_reserved);
	ck_assert_int_eq(pr_admin_clear(&s, &r), 0);
	ck_assert(!s.spc2_reserved);
	ck_assert_uint_eq(spc2(&s, PR_OP_SPC2_RESERVE, &b), PR_STATUS_GOOD);
	pr_result_fini(&r);
	pr_state_fini(&s);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("reservations");
	TCase *tc = tcase_create("pr");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_access_table);
	tcase_add_test(tc, test_access_libiscsi);
	tcase_add_test(tc, test_sa_matrix);
	tcase_add_test(tc, test_register_rules);
	tcase_add_test(tc, test_generation);
	tcase_add_test(tc, test_admin_clear);
	tcase_add_test(tc, test_release_rules);
	tcase_add_test(tc, test_holder_unregisters);
	tcase_add_test(tc, test_preempt_paths);
	tcase_add_test(tc, test_cdb_validation);
	tcase_add_test(tc, test_spec_i_pt);
	tcase_add_test(tc, test_transport_id);
	tcase_add_test(tc, test_register_and_move);
	tcase_add_test(tc, test_prin);
	tcase_add_test(tc, test_spc2);
	tcase_add_test(tc, test_reg_limit);
	tcase_add_test(tc, test_many_registrants);
	tcase_add_test(tc, test_wire_state);
	tcase_add_test(tc, test_wire_op);
	tcase_add_test(tc, test_power_on);
#ifdef PR_TEST_WITH_SCSI_TABLE
	tcase_add_test(tc, test_scsi_table_access);
#endif
	suite_add_tcase(s, tc);
	return s;
}
