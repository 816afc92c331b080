/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The replicated state machine (daemon/state/) on its own: this binary links
 * only the state, store, reservations and quorum libraries, so a call into
 * daemon/iscsi or daemon/scsi from the state room fails to link here.
 *
 * Determinism: instances fed the same seeded stream of mutations of every
 * kind (rejected and malformed ones included) end with byte-identical
 * digests; an instance built from another's snapshot taken at a random point
 * and fed the rest ends equal too; changing one applied mutation changes the
 * digest. Reconciliation: installing a snapshot that only adds a LUN yields
 * exactly that effect and keeps the other LUN's PR state where it was.
 *
 * Stores are real SQLite files in a temporary directory (/dev/shm when there
 * is one: the test is about state, not fsync cost). QT_STATE_SEED overrides
 * the seed; QT_STATE_STEPS the stream length (at least 10,000).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/state/state.h"
#include "tests/unit/check_main.h"

#define STEPS_MIN 10000
#define NTARGETS 4
#define NINITIATORS 3
#define NLUNS 6
#define NNAA 40

struct blob {
	uint8_t *p;
	size_t len;
};

struct inst {
	char dir[64];
	struct store *store;
	struct state *state;
};

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: reproducible on every platform */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

/* The test's iSCSI name rule: lower-case iqn. names (pure, like the daemon's). */
static bool name_valid(const char *name)
{
	if (strncmp(name, "iqn.", 4) != 0) {
		return false;
	}
	for (const char *p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-' || *p == ':')) {
			return false;
		}
	}
	return true;
}

static const struct state_rules rules = { .name_valid = name_valid };

static void inst_open(struct inst *in)
{
	struct state_effects fx;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(in->dir, sizeof(in->dir), "%s/check_state.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(in->dir));
	ck_assert_int_eq(store_open(in->dir, &in->store), 0);
	ck_assert_int_eq(state_create(in->store, &rules, &in->state), 0);
	ck_assert_int_eq(state_load(in->state, &fx), 0);
	state_effects_release(&fx);
}

static void inst_close(struct inst *in)
{
	char path[128];

	state_destroy(in->state);
	store_close(in->store);
	for (const char *const *f = (const char *const[]){ "quorate.db", "quorate.db-wal",
							   "quorate.db-shm", NULL };
	     *f != NULL; f++) {
		snprintf(path, sizeof(path), "%s/%s", in->dir, *f);
		unlink(path);
	}
	rmdir(in->dir);
}

/* Deliver @b at @seq; @return the outcome's rc. */
static int feed(struct inst *in, uint64_t seq, const struct blob *b)
{
	struct state_effects fx;
	int rc;

	state_deliver(in->state, seq, 1, false, b->p, b->len, &fx);
	rc = fx.rc;
	state_effects_release(&fx);
	return rc;
}

static void digest_of(struct inst *in, uint8_t out[STATE_DIGEST_LEN])
{
	ck_assert_int_eq(state_digest(in->state, out), 0);
}

/* ---- the random stream ------------------------------------------------------- */

/* One of @n names "@prefix<i>", or (one time in n + 1) an invalid name that validation rejects. */
static void pool_name(char *out, size_t cap, uint32_t n, const char *prefix)
{
	uint32_t i = rnd(n + 1);

	if (i == n) {
		snprintf(out, cap, "Not A Name");
	} else {
		snprintf(out, cap, "%s%u", prefix, i);
	}
}

static void target_name(char *out, size_t cap)
{
	pool_name(out, cap, NTARGETS, "iqn.2026-11.org.quorate:t");
}

static void initiator_name(char *out, size_t cap)
{
	pool_name(out, cap, NINITIATORS, "iqn.1991-05.com.example:host");
}

static void nexus(struct pr_nexus *n)
{
	snprintf(n->initiator, sizeof(n->initiator), "iqn.1991-05.com.example:host%u,i,0x%012x",
		 rnd(NINITIATORS), rnd(2));
	snprintf(n->target, sizeof(n->target), "iqn.2026-11.org.quorate:t0,t,0x1");
	n->rel_port_id = 1;
}

static const uint64_t keys[] = { 0, 0x1111, 0x2222, 0x3333 };
static const uint8_t types[] = { PR_TYPE_WR_EX, PR_TYPE_EX_AC, PR_TYPE_WR_EX_RO,
				 PR_TYPE_WR_EX_AR, 0x2 /* invalid */ };

static uint8_t *pr_op_random(struct mutation *m, size_t *len)
{
	struct pr_op op;
	uint8_t *buf;
	size_t cap;

	if (rnd(50) == 0) {
		/* Malformed PR op bytes: the mutation decodes, the op does not. */
		*len = 1 + rnd(16);
		buf = malloc(*len);
		for (size_t i = 0; i < *len; i++) {
			buf[i] = (uint8_t)rnd(256);
		}
		return buf;
	}
	pr_op_init(&op);
	if (m->kind == MUTATION_LU_RESET) {
		pr_op_spc2(&op, PR_OP_SPC2_RESET, NULL);
	} else if (rnd(6) == 0) {
		struct pr_nexus n;

		nexus(&n);
		pr_op_spc2(&op, rnd(2) ? PR_OP_SPC2_RESERVE : PR_OP_SPC2_RELEASE, &n);
	} else {
		op.kind = PR_OP_OUT;
		op.sa = (uint8_t)rnd(PR_OUT_REGISTER_AND_IGNORE + 1);
		/* Mostly what pr_out_decode() lets through; the rest pr_op_decode() refuses. */
		op.type = types[rnd(10) == 0 ? 4 : rnd(4)];
		op.scope = 0;
		op.rk = keys[rnd(4)];
		op.sark = keys[rnd(4)];
		if (op.sa == PR_OUT_REGISTER || op.sa == PR_OUT_REGISTER_AND_IGNORE) {
			op.aptpl = rnd(4) == 0;
			op.all_tg_pt = rnd(4) == 0;
		}
		nexus(&op.nexus);
	}
	cap = pr_op_encoded_size(&op);
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_ge(pr_op_encode(&op, buf, cap), 0);
	*len = cap;
	pr_op_fini(&op);
	return buf;
}

static void lun_random(struct store_lun *l)
{
	static const uint32_t bs[] = { 512, 4096, 1000 };
	uint32_t n = rnd(NNAA);

	target_name(l->target, sizeof(l->target));
	l->lun = (uint16_t)(rnd(12) == 0 ? 20000 : rnd(NLUNS));
	for (size_t i = 0; i < sizeof(l->uuid); i++) {
		l->uuid[i] = (uint8_t)rnd(256);
	}
	/* A small pool of NAA designators, so some collide (rejected). */
	memset(l->naa, 0, sizeof(l->naa));
	l->naa[0] = 0x6a;
	l->naa[15] = (uint8_t)n;
	snprintf(l->serial, sizeof(l->serial), "%032x", n);
	if (rnd(3) == 0) {
		snprintf(l->backing, sizeof(l->backing), "null");
		if (rnd(10) == 0) {
			snprintf(l->path, sizeof(l->path), "/not/for/null");
		}
	} else {
		snprintf(l->backing, sizeof(l->backing), rnd(10) == 0 ? "tape" : "file");
		snprintf(l->path, sizeof(l->path), rnd(10) == 0 ? "relative/%u" : "/srv/lun%u", n);
	}
	l->block_size = bs[rnd(10) == 0 ? 2 : rnd(2)];
	l->size_bytes = (uint64_t)(rnd(10) == 0 ? 0 : 1 + rnd(4)) * 1024 * 1024;
	l->direct_io = rnd(2);
	l->thin = rnd(2);
	l->read_only = rnd(5) == 0;
	l->write_cache = rnd(2);
	if (rnd(4) == 0) {
		snprintf(l->alias, sizeof(l->alias), "lun alias %u", n);
	}
}

static void mutation_random(struct blob *b, uint64_t request_id)
{
	struct mutation m;
	uint8_t *pr = NULL;
	size_t cap;

	if (rnd(100) == 0) {
		/* Garbage: refused by the decoder, only its sequence is committed. */
		b->len = 1 + rnd(40);
		b->p = malloc(b->len);
		for (size_t i = 0; i < b->len; i++) {
			b->p[i] = (uint8_t)rnd(256);
		}
		return;
	}
	memset(&m, 0, sizeof(m));
	m.request_id = request_id;
	m.kind = (enum mutation_kind)(1 + rnd(MUTATION_KIND_COUNT - 1));
	switch (m.kind) {
	case MUTATION_TARGET_ADD:
		target_name(m.u.target.name, sizeof(m.u.target.name));
		snprintf(m.u.target.alias, sizeof(m.u.target.alias), "alias %u", rnd(3));
		break;
	case MUTATION_TARGET_SET:
		target_name(m.u.target.name, sizeof(m.u.target.name));
		snprintf(m.u.target.alias, sizeof(m.u.target.alias), rnd(10) == 0 ? "a\nb" : "alias %u",
			 rnd(3));
		break;
	case MUTATION_TARGET_DEL:
		if (rnd(8) != 0) {
			/* Deleting is rarer than creating, so the model stays populated. */
			m.kind = MUTATION_LUN_ADD;
			lun_random(&m.u.lun);
			break;
		}
		target_name(m.u.target.name, sizeof(m.u.target.name));
		break;
	case MUTATION_LUN_ADD:
		lun_random(&m.u.lun);
		break;
	case MUTATION_LUN_DEL:
		target_name(m.u.lun.target, sizeof(m.u.lun.target));
		m.u.lun.lun = (uint16_t)rnd(NLUNS);
		break;
	case MUTATION_LUN_OFFLINE:
		target_name(m.u.lun.target, sizeof(m.u.lun.target));
		m.u.lun.lun = (uint16_t)rnd(NLUNS);
		m.u.lun.offline = rnd(2) != 0;
		break;
	case MUTATION_LUN_RESIZE:
		target_name(m.u.lun.target, sizeof(m.u.lun.target));
		m.u.lun.lun = (uint16_t)rnd(NLUNS);
		/* Whole 4 KiB blocks, or now and then none at all (rejected). */
		m.u.lun.size_bytes = (uint64_t)rnd(9) * 4096 + (rnd(10) == 0 ? 100 : 0);
		break;
	case MUTATION_LUN_SET:
		target_name(m.u.lun.target, sizeof(m.u.lun.target));
		m.u.lun.lun = (uint16_t)rnd(NLUNS);
		m.set_fields = (uint8_t)(1 + rnd(MUTATION_SET_ALL));
		if (m.set_fields & MUTATION_SET_ALIAS) {
			/* Now and then a control character, which validation refuses. */
			snprintf(m.u.lun.alias, sizeof(m.u.lun.alias), rnd(10) == 0 ? "a\tb" : "alias %u",
				 rnd(3));
		}
		m.u.lun.read_only = (m.set_fields & MUTATION_SET_READ_ONLY) && rnd(2);
		m.u.lun.write_cache = (m.set_fields & MUTATION_SET_WRITE_CACHE) && rnd(2);
		break;
	case MUTATION_ACL_ADD:
	case MUTATION_ACL_DEL:
		target_name(m.u.acl.target, sizeof(m.u.acl.target));
		initiator_name(m.u.acl.initiator, sizeof(m.u.acl.initiator));
		break;
	case MUTATION_CHAP_SET:
		if (rnd(3) == 0) {
			m.u.chap.target[0] = '\0';	/* discovery */
		} else {
			target_name(m.u.chap.target, sizeof(m.u.chap.target));
		}
		snprintf(m.u.chap.user, sizeof(m.u.chap.user), "user%u", rnd(3));
		snprintf(m.u.chap.secret, sizeof(m.u.chap.secret), "secret-%u-0123", rnd(3));
		if (rnd(2) == 0) {
			snprintf(m.u.chap.mutual_user, sizeof(m.u.chap.mutual_user), "tgt");
			snprintf(m.u.chap.mutual_secret, sizeof(m.u.chap.mutual_secret),
				 "secret-%u-0123", rnd(3));
		}
		break;
	case MUTATION_CHAP_CLEAR:
		if (rnd(3) == 0) {
			m.u.chap.target[0] = '\0';
		} else {
			target_name(m.u.chap.target, sizeof(m.u.chap.target));
		}
		break;
	case MUTATION_RESERVATION:
	case MUTATION_LU_RESET:
		if (rnd(2) == 0) {
			target_name(m.u.lu.target, sizeof(m.u.lu.target));
		} else {
			/* Mostly one target and low LUNs: more ops reach the engine. */
			snprintf(m.u.lu.target, sizeof(m.u.lu.target), "iqn.2026-11.org.quorate:t0");
		}
		m.u.lu.lun = (uint16_t)rnd(rnd(2) ? 2 : NLUNS);
		pr = pr_op_random(&m, &m.pr_op_len);
		m.pr_op = pr;
		break;
	case MUTATION_PORTAL: {
		/* A small pool so adds collide and removes find something; some invalid. */
		static const char *const addrs[] = { "127.0.0.1:3260", "127.0.0.2:3261",
						     "[fd00::1]:3260", "10.0.0.1:03260",
						     "host:3260" };

		m.u.portal.rec.node = rnd(20) == 0 ? 0 : 1 + rnd(3);
		snprintf(m.u.portal.rec.address, sizeof(m.u.portal.rec.address), "%s",
			 addrs[rnd(10) == 0 ? 3 + rnd(2) : rnd(3)]);
		m.u.portal.add = rnd(3) != 0;
		break;
	}
	case MUTATION_PR_CLEAR:
		target_name(m.u.lu.target, sizeof(m.u.lu.target));
		m.u.lu.lun = (uint16_t)rnd(NLUNS);
		break;
	default:
		ck_abort_msg("kind %d not generated", m.kind);
	}
	cap = mutation_encoded_max(&m);
	b->p = malloc(cap);
	ck_assert_ptr_nonnull(b->p);
	ck_assert_int_eq(mutation_encode(&m, b->p, cap, &b->len), 0);
	free(pr);
}

static struct blob *stream_make(size_t n)
{
	struct blob *v = calloc(n, sizeof(*v));

	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < n; i++) {
		mutation_random(&v[i], i + 1);
	}
	return v;
}

static void stream_free(struct blob *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].p);
	}
	free(v);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtoull(v, NULL, 0) : dflt;
}

static uint8_t kind_of(const struct blob *b)
{
	struct mutation m;

	return mutation_decode(b->p, b->len, &m) == 0 ? (uint8_t)m.kind : 0;
}

START_TEST(test_same_stream_same_digest)
{
	uint64_t seed = env_u64("QT_STATE_SEED", 0x5157a7e9ULL);
	size_t n = (size_t)env_u64("QT_STATE_STEPS", 12000), k, changed;
	struct inst a, b, c, d;
	struct blob *v, bad = { 0 };
	uint8_t da[STATE_DIGEST_LEN], db[STATE_DIGEST_LEN], dc[STATE_DIGEST_LEN];
	uint8_t dd[STATE_DIGEST_LEN], *snap, *at_changed;
	size_t snap_len;
	unsigned int applied[MUTATION_KIND_COUNT] = { 0 }, rejected[MUTATION_KIND_COUNT] = { 0 };
	unsigned int malformed = 0;
	int *rcs;

	if (n < STEPS_MIN) {
		n = STEPS_MIN;
	}
	printf("check_state: seed 0x%llx, %zu mutations\n", (unsigned long long)seed, n);
	rng = seed;
	v = stream_make(n);
	k = 1 + rnd((uint32_t)(n - 1));		/* snapshot after mutation k */
	rcs = calloc(n, sizeof(*rcs));
	at_changed = calloc(n, STATE_DIGEST_LEN);
	ck_assert_ptr_nonnull(rcs);
	ck_assert_ptr_nonnull(at_changed);

	inst_open(&a);
	inst_open(&b);
	inst_open(&c);
	for (size_t i = 0; i < n; i++) {
		uint8_t kind = kind_of(&v[i]);

		rcs[i] = feed(&a, i + 1, &v[i]);
		ck_assert_int_eq(feed(&b, i + 1, &v[i]), rcs[i]);
		if (kind == 0) {
			malformed++;
		} else if (rcs[i] == 0) {
			applied[kind]++;
		} else {
			rejected[kind]++;
		}
		digest_of(&a, at_changed + i * STATE_DIGEST_LEN);
		if (i + 1 == k) {
			struct state_effects fx;

			ck_assert_int_eq(state_snapshot_encode(a.state, &snap, &snap_len), 0);
			ck_assert_int_eq(state_snapshot_install(c.state, snap, snap_len, &fx), 0);
			state_effects_release(&fx);
			free(snap);
			ck_assert_uint_eq(state_applied_seq(c.state), k);
			digest_of(&c, dc);
			ck_assert_int_eq(memcmp(dc, at_changed + i * STATE_DIGEST_LEN,
						sizeof(dc)), 0);
		} else if (i + 1 > k) {
			ck_assert_int_eq(feed(&c, i + 1, &v[i]), rcs[i]);
		}
	}
	for (int kind = 1; kind < MUTATION_KIND_COUNT; kind++) {
		printf("  %-14s applied %5u rejected %5u\n", mutation_kind_name(kind),
		       applied[kind], rejected[kind]);
		ck_assert_uint_gt(applied[kind], 0);
		ck_assert_uint_gt(rejected[kind], 0);
	}
	printf("  %-14s %u; snapshot after %zu\n", "malformed", malformed, k);
	ck_assert_uint_gt(malformed, 0);

	digest_of(&a, da);
	digest_of(&b, db);
	digest_of(&c, dc);
	ck_assert_int_eq(memcmp(da, db, sizeof(da)), 0);
	ck_assert_int_eq(memcmp(da, dc, sizeof(da)), 0);
	ck_assert_uint_eq(state_applied_seq(a.state), n);
	ck_assert_uint_eq(state_applied_seq(c.state), n);
	/* Same bytes, not only the same hash. */
	{
		uint8_t *sa, *sb;
		size_t la, lb;

		ck_assert_int_eq(state_snapshot_encode(a.state, &sa, &la), 0);
		ck_assert_int_eq(state_snapshot_encode(b.state, &sb, &lb), 0);
		ck_assert_uint_eq(la, lb);
		ck_assert_int_eq(memcmp(sa, sb, la), 0);
		free(sa);
		free(sb);
	}

	/*
	 * Change one applied mutation that changes the model (not a PR op, a
	 * LUN offline/online, resize or set or a target set, which may leave the
	 * state as it was):
	 * replace it by a malformed one.
	 */
	do {
		changed = rnd((uint32_t)n);
	} while (rcs[changed] != 0 || kind_of(&v[changed]) == MUTATION_RESERVATION ||
		 kind_of(&v[changed]) == MUTATION_LU_RESET ||
		 kind_of(&v[changed]) == MUTATION_LUN_OFFLINE ||
		 kind_of(&v[changed]) == MUTATION_LUN_RESIZE ||
		 kind_of(&v[changed]) == MUTATION_LUN_SET ||
		 kind_of(&v[changed]) == MUTATION_TARGET_SET);
	inst_open(&d);
	bad.len = 3;
	bad.p = (uint8_t[]){ 0xde, 0xad, 0x00 };
	for (size_t i = 0; i <= changed; i++) {
		feed(&d, i + 1, i == changed ? &bad : &v[i]);
	}
	digest_of(&d, dd);
	printf("  changed mutation %zu (%s)\n", changed + 1,
	       mutation_kind_name(kind_of(&v[changed])));
	ck_assert_uint_eq(state_applied_seq(d.state), changed + 1);
	ck_assert_int_ne(memcmp(dd, at_changed + changed * STATE_DIGEST_LEN, sizeof(dd)), 0);

	inst_close(&a);
	inst_close(&b);
	inst_close(&c);
	inst_close(&d);
	stream_free(v, n);
	free(rcs);
	free(at_changed);
}
END_TEST

/* ---- reconciliation ---------------------------------------------------------- */

static void deliver_ok(struct inst *in, const struct mutation *m)
{
	uint8_t buf[MUTATION_MAX_LEN];
	struct blob b = { .p = buf };

	ck_assert_int_eq(mutation_encode(m, buf, sizeof(buf), &b.len), 0);
	ck_assert_int_eq(feed(in, state_applied_seq(in->state) + 1, &b), 0);
}

static void add_lun(struct inst *in, uint16_t lun)
{
	struct mutation m = { .kind = MUTATION_LUN_ADD };

	snprintf(m.u.lun.target, sizeof(m.u.lun.target), "iqn.2026-11.org.quorate:t0");
	m.u.lun.lun = lun;
	m.u.lun.naa[0] = 0x6a;
	m.u.lun.naa[1] = (uint8_t)lun;
	snprintf(m.u.lun.serial, sizeof(m.u.lun.serial), "serial%u", lun);
	snprintf(m.u.lun.backing, sizeof(m.u.lun.backing), "null");
	m.u.lun.size_bytes = 1 << 20;
	m.u.lun.block_size = 512;
	deliver_ok(in, &m);
}

START_TEST(test_install_reconciles_only_the_difference)
{
	struct mutation m = { .kind = MUTATION_TARGET_ADD };
	struct inst a, b;
	struct state_effects fx;
	struct pr_state *pr0;
	struct pr_op op;
	uint8_t opbuf[512], *snap;
	size_t snap_len;
	uint8_t da[STATE_DIGEST_LEN], db[STATE_DIGEST_LEN];
	int n;

	inst_open(&a);
	inst_open(&b);
	snprintf(m.u.target.name, sizeof(m.u.target.name), "iqn.2026-11.org.quorate:t0");
	deliver_ok(&a, &m);
	add_lun(&a, 0);
	/* A registration on LUN 0, so its PR state is not empty. */
	pr_op_init(&op);
	op.kind = PR_OP_OUT;
	op.sa = PR_OUT_REGISTER;
	op.sark = 0x1234;
	nexus(&op.nexus);
	n = pr_op_encode(&op, opbuf, sizeof(opbuf));
	ck_assert_int_gt(n, 0);
	memset(&m, 0, sizeof(m));
	m.kind = MUTATION_RESERVATION;
	snprintf(m.u.lu.target, sizeof(m.u.lu.target), "iqn.2026-11.org.quorate:t0");
	m.pr_op = opbuf;
	m.pr_op_len = (size_t)n;
	deliver_ok(&a, &m);
	pr0 = state_lun_pr(a.state, "iqn.2026-11.org.quorate:t0", 0);
	ck_assert_uint_eq(pr0->nregs, 1);

	/* b takes a's state, then adds LUN 1. */
	ck_assert_int_eq(state_snapshot_encode(a.state, &snap, &snap_len), 0);
	ck_assert_int_eq(state_snapshot_install(b.state, snap, snap_len, &fx), 0);
	ck_assert_uint_eq(fx.n, 2);	/* target created, LUN 0 added */
	state_effects_release(&fx);
	free(snap);
	add_lun(&b, 1);

	ck_assert_int_eq(state_snapshot_encode(b.state, &snap, &snap_len), 0);
	ck_assert_int_eq(state_snapshot_install(a.state, snap, snap_len, &fx), 0);
	free(snap);
	ck_assert_uint_eq(fx.n, 1);
	ck_assert_int_eq(fx.v[0].kind, STATE_FX_LUN_ADDED);
	ck_assert_uint_eq(fx.v[0].lun->rec.lun, 1);
	state_effects_release(&fx);
	/* LUN 0 kept its object: a running LU's pointer stays valid. */
	ck_assert_ptr_eq(state_lun_pr(a.state, "iqn.2026-11.org.quorate:t0", 0), pr0);
	ck_assert_uint_eq(pr0->nregs, 1);
	digest_of(&a, da);
	digest_of(&b, db);
	ck_assert_int_eq(memcmp(da, db, sizeof(da)), 0);

	/* A malformed snapshot changes nothing. */
	ck_assert_int_eq(state_snapshot_encode(b.state, &snap, &snap_len), 0);
	snap[snap_len - 1] = 1;		/* portals: none allowed in version 1 */
	ck_assert_int_lt(state_snapshot_install(a.state, snap, snap_len, &fx), 0);
	state_effects_release(&fx);
	free(snap);
	digest_of(&a, da);
	ck_assert_int_eq(memcmp(da, db, sizeof(da)), 0);

	/* The store holds what the model holds: a reload digests the same. */
	state_destroy(a.state);
	ck_assert_int_eq(state_create(a.store, &rules, &a.state), 0);
	ck_assert_int_eq(state_load(a.state, &fx), 0);
	ck_assert_uint_eq(fx.n, 3);	/* target, LUN 0, LUN 1 */
	state_effects_release(&fx);
	ck_assert_uint_eq(state_applied_seq(a.state), state_applied_seq(b.state));
	ck_assert_uint_eq(state_lun_pr(a.state, "iqn.2026-11.org.quorate:t0", 0)->nregs, 0);
	pr_op_fini(&op);
	inst_close(&a);
	inst_close(&b);
}
END_TEST

/* ---- changes in place: a mutation, then the same through a snapshot -------- */

static const char tn0[] = "iqn.2026-11.org.quorate:t0";

/* @a gets target t0 with LUN 0; @b the same state through a snapshot install. */
static void pair_setup(struct inst *a, struct inst *b)
{
	struct mutation m = { .kind = MUTATION_TARGET_ADD };
	struct state_effects fx;
	uint8_t *snap;
	size_t len;

	inst_open(a);
	inst_open(b);
	snprintf(m.u.target.name, sizeof(m.u.target.name), "%s", tn0);
	deliver_ok(a, &m);
	add_lun(a, 0);
	ck_assert_int_eq(state_snapshot_encode(a->state, &snap, &len), 0);
	ck_assert_int_eq(state_snapshot_install(b->state, snap, len, &fx), 0);
	state_effects_release(&fx);
	free(snap);
}

/* Deliver @m to @in: applied, with exactly one effect, of @kind. */
static void deliver_one(struct inst *in, const struct mutation *m, enum state_effect_kind kind)
{
	uint8_t buf[MUTATION_MAX_LEN];
	struct state_effects fx;
	size_t len;

	ck_assert_int_eq(mutation_encode(m, buf, sizeof(buf), &len), 0);
	state_deliver(in->state, state_applied_seq(in->state) + 1, 1, false, buf, len, &fx);
	ck_assert_int_eq(fx.rc, 0);
	ck_assert_uint_eq(fx.n, 1);
	ck_assert_int_eq(fx.v[0].kind, kind);
	state_effects_release(&fx);
}

/* Deliver @m to @in: rejected with @rc. */
static void deliver_refused(struct inst *in, const struct mutation *m, int rc)
{
	uint8_t buf[MUTATION_MAX_LEN];
	struct blob bl = { .p = buf };

	ck_assert_int_eq(mutation_encode(m, buf, sizeof(buf), &bl.len), 0);
	ck_assert_int_eq(feed(in, state_applied_seq(in->state) + 1, &bl), rc);
}

/*
 * Install @a's snapshot into @b, which differs from it in one record that
 * changes in place: one effect of @kind, LU 0 keeps its PR state (the
 * running LU's pointer), and the digests are equal after.
 */
static void install_in_place(struct inst *a, struct inst *b, enum state_effect_kind kind)
{
	uint8_t da[STATE_DIGEST_LEN], db[STATE_DIGEST_LEN], *snap;
	struct pr_state *pr0 = state_lun_pr(b->state, tn0, 0);
	struct state_effects fx;
	size_t len;

	digest_of(a, da);
	digest_of(b, db);
	ck_assert_int_ne(memcmp(da, db, sizeof(da)), 0);
	ck_assert_int_eq(state_snapshot_encode(a->state, &snap, &len), 0);
	ck_assert_int_eq(state_snapshot_install(b->state, snap, len, &fx), 0);
	free(snap);
	ck_assert_uint_eq(fx.n, 1);
	ck_assert_int_eq(fx.v[0].kind, kind);
	state_effects_release(&fx);
	ck_assert_ptr_eq(state_lun_pr(b->state, tn0, 0), pr0);
	digest_of(b, db);
	ck_assert_int_eq(memcmp(da, db, sizeof(da)), 0);
}

/* Build @in's model again from its store (what a restart loads). */
static void reload(struct inst *in)
{
	struct state_effects fx;

	state_destroy(in->state);
	ck_assert_int_eq(state_create(in->store, &rules, &in->state), 0);
	ck_assert_int_eq(state_load(in->state, &fx), 0);
	state_effects_release(&fx);
}

static const struct store_lun *lun0(struct inst *in)
{
	return &state_lun_find(state_target_find(in->state, tn0), 0)->rec;
}

/*
 * LUN_OFFLINE sets the flag with one LUN-state effect, also when it is set
 * already; it is rejected for a missing LUN; it is stored, and a snapshot
 * install that changes only the flag changes it in place.
 */
START_TEST(test_lun_offline_in_place)
{
	struct mutation m = { .kind = MUTATION_LUN_OFFLINE };
	struct inst a, b;

	pair_setup(&a, &b);
	snprintf(m.u.lun.target, sizeof(m.u.lun.target), "%s", tn0);
	m.u.lun.offline = true;
	for (int i = 0; i < 2; i++) {
		deliver_one(&a, &m, STATE_FX_LUN_STATE);
		ck_assert(lun0(&a)->offline);
	}
	m.u.lun.lun = 5;
	deliver_refused(&a, &m, -ENOENT);
	install_in_place(&a, &b, STATE_FX_LUN_STATE);
	ck_assert(lun0(&b)->offline);
	reload(&a);
	ck_assert(lun0(&a)->offline);
	inst_close(&a);
	inst_close(&b);
}
END_TEST

/*
 * LUN_RESIZE sets the size with one LUN-changed effect (the LU's PR state
 * stays where it is), refuses a missing LUN and a size that is not whole
 * blocks, is stored, and a snapshot install that changes only the size
 * changes it in place.
 */
START_TEST(test_lun_resize_in_place)
{
	struct mutation m = { .kind = MUTATION_LUN_RESIZE };
	struct pr_state *pr0;
	struct inst a, b;

	pair_setup(&a, &b);
	pr0 = state_lun_pr(a.state, tn0, 0);
	snprintf(m.u.lun.target, sizeof(m.u.lun.target), "%s", tn0);
	m.u.lun.size_bytes = 3 << 20;
	deliver_one(&a, &m, STATE_FX_LUN_CHANGED);
	ck_assert_uint_eq(lun0(&a)->size_bytes, 3 << 20);
	ck_assert_ptr_eq(state_lun_pr(a.state, tn0, 0), pr0);
	m.u.lun.size_bytes = (3 << 20) + 100;
	deliver_refused(&a, &m, -EINVAL);
	m.u.lun.size_bytes = 0;
	deliver_refused(&a, &m, -EINVAL);
	m.u.lun.size_bytes = 1 << 20;
	m.u.lun.lun = 5;
	deliver_refused(&a, &m, -ENOENT);
	ck_assert_uint_eq(lun0(&a)->size_bytes, 3 << 20);
	install_in_place(&a, &b, STATE_FX_LUN_CHANGED);
	reload(&a);
	ck_assert_uint_eq(lun0(&a)->size_bytes, 3 << 20);
	inst_close(&a);
	inst_close(&b);
}
END_TEST

/*
 * LUN_SET changes only the fields it names (one LUN-changed effect), is
 * stored, refuses an alias with a control character, and a snapshot that
 * differs only in those fields changes the LU in place.
 */
START_TEST(test_lun_set_in_place)
{
	struct mutation m = { .kind = MUTATION_LUN_SET };
	struct inst a, b;

	pair_setup(&a, &b);
	snprintf(m.u.lun.target, sizeof(m.u.lun.target), "%s", tn0);
	m.set_fields = MUTATION_SET_ALIAS | MUTATION_SET_WRITE_CACHE;
	snprintf(m.u.lun.alias, sizeof(m.u.lun.alias), "fast disk");
	m.u.lun.write_cache = true;
	deliver_one(&a, &m, STATE_FX_LUN_CHANGED);
	ck_assert_str_eq(lun0(&a)->alias, "fast disk");
	ck_assert(lun0(&a)->write_cache && !lun0(&a)->read_only);

	/* Only read-only: the alias and the write cache stay. */
	memset(&m.u.lun.alias, 0, sizeof(m.u.lun.alias));
	m.u.lun.write_cache = false;
	m.set_fields = MUTATION_SET_READ_ONLY;
	m.u.lun.read_only = true;
	deliver_one(&a, &m, STATE_FX_LUN_CHANGED);
	ck_assert_str_eq(lun0(&a)->alias, "fast disk");
	ck_assert(lun0(&a)->write_cache && lun0(&a)->read_only);

	m.set_fields = MUTATION_SET_ALIAS;
	m.u.lun.read_only = false;
	snprintf(m.u.lun.alias, sizeof(m.u.lun.alias), "bad\nalias");
	deliver_refused(&a, &m, -EINVAL);
	snprintf(m.u.lun.alias, sizeof(m.u.lun.alias), "x");
	m.u.lun.lun = 5;
	deliver_refused(&a, &m, -ENOENT);
	ck_assert_str_eq(lun0(&a)->alias, "fast disk");

	install_in_place(&a, &b, STATE_FX_LUN_CHANGED);
	reload(&a);
	ck_assert_str_eq(lun0(&a)->alias, "fast disk");
	ck_assert(lun0(&a)->write_cache && lun0(&a)->read_only);
	inst_close(&a);
	inst_close(&b);
}
END_TEST

/*
 * TARGET_SET changes the alias in place (one target-changed effect, the
 * LUNs' PR state where it was), refuses a missing target and a control
 * character, is stored; a snapshot that differs only in the alias changes
 * it in place too.
 */
START_TEST(test_target_set_in_place)
{
	struct mutation m = { .kind = MUTATION_TARGET_SET };
	struct inst a, b;

	pair_setup(&a, &b);
	snprintf(m.u.target.name, sizeof(m.u.target.name), "%s", tn0);
	snprintf(m.u.target.alias, sizeof(m.u.target.alias), "cluster disks");
	deliver_one(&a, &m, STATE_FX_TARGET_CHANGED);
	ck_assert_str_eq(state_target_find(a.state, tn0)->rec.alias, "cluster disks");
	snprintf(m.u.target.alias, sizeof(m.u.target.alias), "bad\ralias");
	deliver_refused(&a, &m, -EINVAL);
	snprintf(m.u.target.name, sizeof(m.u.target.name), "iqn.2026-11.org.quorate:none");
	deliver_refused(&a, &m, -ENOENT);
	install_in_place(&a, &b, STATE_FX_TARGET_CHANGED);
	reload(&a);
	ck_assert_str_eq(state_target_find(a.state, tn0)->rec.alias, "cluster disks");
	inst_close(&a);
	inst_close(&b);
}
END_TEST

/*
 * PORTAL adds a run-time portal of a node (one effect with a copy of it)
 * and removes it; refuses a duplicate, a missing one, node 0 and addresses
 * that are not numeric and canonical; portals are stored, and a snapshot
 * install adds or removes them with one effect each, leaving LUs alone.
 */
START_TEST(test_portal_kind)
{
	struct mutation m = { .kind = MUTATION_PORTAL };
	const struct state_portal *p;
	struct state_effects fx;
	uint8_t buf[MUTATION_MAX_LEN];
	struct inst a, b;
	size_t len;

	pair_setup(&a, &b);
	m.u.portal.add = true;
	m.u.portal.rec.node = 2;
	snprintf(m.u.portal.rec.address, sizeof(m.u.portal.rec.address), "198.18.1.2:3261");
	ck_assert_int_eq(mutation_encode(&m, buf, sizeof(buf), &len), 0);
	state_deliver(a.state, state_applied_seq(a.state) + 1, 1, false, buf, len, &fx);
	ck_assert_int_eq(fx.rc, 0);
	ck_assert_uint_eq(fx.n, 1);
	ck_assert_int_eq(fx.v[0].kind, STATE_FX_PORTAL_ADDED);
	ck_assert_uint_eq(fx.v[0].portal.node, 2);
	ck_assert_str_eq(fx.v[0].portal.address, "198.18.1.2:3261");
	state_effects_release(&fx);
	deliver_refused(&a, &m, -EEXIST);
	m.u.portal.rec.node = 1;
	snprintf(m.u.portal.rec.address, sizeof(m.u.portal.rec.address), "[fd00::2]:3260");
	deliver_one(&a, &m, STATE_FX_PORTAL_ADDED);
	m.u.portal.rec.node = 0;
	deliver_refused(&a, &m, -EINVAL);
	m.u.portal.rec.node = 3;
	for (size_t i = 0; i < 5; i++) {
		static const char *const bad[] = { "[fd00:0::2]:3260", "198.18.1.2:03260",
						   "198.18.1.2:0", "localhost:3260",
						   "198.18.1.2:65536" };

		snprintf(m.u.portal.rec.address, sizeof(m.u.portal.rec.address), "%s", bad[i]);
		deliver_refused(&a, &m, -EINVAL);
	}
	m.u.portal.add = false;
	snprintf(m.u.portal.rec.address, sizeof(m.u.portal.rec.address), "198.18.1.2:3261");
	deliver_refused(&a, &m, -ENOENT);	/* node 3 has none */

	/* Sorted by node, then address. */
	p = state_portal_first(a.state);
	ck_assert_uint_eq(p->rec.node, 1);
	ck_assert_str_eq(p->rec.address, "[fd00::2]:3260");
	p = state_portal_next(p);
	ck_assert_uint_eq(p->rec.node, 2);
	ck_assert_ptr_null(state_portal_next(p));

	/* b has none: the install adds the one portal node 2 had at a's first step. */
	m.u.portal.rec.node = 1;
	snprintf(m.u.portal.rec.address, sizeof(m.u.portal.rec.address), "[fd00::2]:3260");
	deliver_one(&a, &m, STATE_FX_PORTAL_REMOVED);
	install_in_place(&a, &b, STATE_FX_PORTAL_ADDED);
	ck_assert_ptr_nonnull(state_portal_find(b.state, 2, "198.18.1.2:3261"));
	m.u.portal.rec.node = 2;
	snprintf(m.u.portal.rec.address, sizeof(m.u.portal.rec.address), "198.18.1.2:3261");
	deliver_one(&a, &m, STATE_FX_PORTAL_REMOVED);
	install_in_place(&a, &b, STATE_FX_PORTAL_REMOVED);
	ck_assert_ptr_null(state_portal_first(b.state));

	m.u.portal.add = true;
	deliver_one(&a, &m, STATE_FX_PORTAL_ADDED);
	reload(&a);
	p = state_portal_first(a.state);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->rec.node, 2);
	ck_assert_str_eq(p->rec.address, "198.18.1.2:3261");
	ck_assert_ptr_null(state_portal_next(p));
	inst_close(&a);
	inst_close(&b);
}
END_TEST

START_TEST(test_epoch_persists)
{
	struct inst a;
	struct state_effects fx;

	inst_open(&a);
	ck_assert_uint_eq(state_epoch(a.state), 0);
	ck_assert_int_eq(state_epoch_set(a.state, 7), 0);
	state_destroy(a.state);
	store_close(a.store);
	ck_assert_int_eq(store_open(a.dir, &a.store), 0);
	ck_assert_int_eq(state_create(a.store, &rules, &a.state), 0);
	ck_assert_int_eq(state_load(a.state, &fx), 0);
	state_effects_release(&fx);
	ck_assert_uint_eq(state_epoch(a.state), 7);
	inst_close(&a);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_same_stream_same_digest);
	tcase_add_test(tc, test_install_reconciles_only_the_difference);
	tcase_add_test(tc, test_lun_offline_in_place);
	tcase_add_test(tc, test_lun_resize_in_place);
	tcase_add_test(tc, test_lun_set_in_place);
	tcase_add_test(tc, test_target_set_in_place);
	tcase_add_test(tc, test_portal_kind);
	tcase_add_test(tc, test_epoch_persists);
	suite_add_tcase(s, tc);
	return s;
}
