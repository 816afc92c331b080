/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libstore against a real SQLite file in a fresh temporary directory:
 * migrations (fresh database gets v1, reopening is idempotent), file mode,
 * commits visible after reopen, and the applied-sequence rules; and a real
 * full file system (a small tmpfs in a private mount namespace): the commit
 * reports SQLite's first error as -ENOSPC, not the failed clean-up's.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "daemon/store/store.h"
#include "tests/unit/check_main.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int count_rows(const char *sql)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_FILE);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

START_TEST(test_fresh_db_gets_all_migrations)
{
	struct store *s;
	char path[128];
	struct stat st;

	ck_assert_int_eq(store_open(dir, &s), 0);
	ck_assert_int_eq(store_schema_version(s), STORE_SCHEMA_VERSION);
	ck_assert_int_eq(store_schema_version(s), 4);
	ck_assert_uint_eq(store_applied_seq(s), 0);
	ck_assert_uint_eq(store_epoch(s), 0);
	store_close(s);

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_FILE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM schema_migrations"), 4);
	ck_assert_int_eq(count_rows("SELECT MAX(version) FROM schema_migrations"), 4);
	ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
				    "name IN ('targets','portals','luns','acls','chap','meta',"
				    "'pr_state')"),
			 7);
}
END_TEST

START_TEST(test_reopen_is_idempotent)
{
	struct store *s;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(store_open(dir, &s), 0);
		ck_assert_int_eq(store_schema_version(s), 4);
		store_close(s);
	}
	ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM schema_migrations"), 4);
	ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM meta"), 1);
}
END_TEST

START_TEST(test_existing_file_mode_tightened)
{
	struct store *s;
	char path[128];
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_FILE);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(store_open(dir, &s), 0);
	store_close(s);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct store *s;
	char path[128];
	sqlite3 *db;

	ck_assert_int_eq(store_open(dir, &s), 0);
	store_close(s);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_FILE);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (99, 0)", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_open(dir, &s), -EPROTO);
}
END_TEST

struct loaded {
	int targets, luns, acls, chaps, prs, portals;
	struct store_portal portal;
	uint8_t pr_blob[16];
	size_t pr_len;
	bool pr_aptpl;
	struct store_target t;
	struct store_lun l;
	struct store_acl a;
	struct store_chap c;
};

static int on_target(const struct store_target *t, void *ctx)
{
	struct loaded *ld = ctx;

	ld->targets++;
	ld->t = *t;
	return 0;
}

static int on_lun(const struct store_lun *l, void *ctx)
{
	struct loaded *ld = ctx;

	ld->luns++;
	ld->l = *l;
	return 0;
}

static int on_acl(const struct store_acl *a, void *ctx)
{
	struct loaded *ld = ctx;

	ld->acls++;
	ld->a = *a;
	return 0;
}

static int on_chap(const struct store_chap *c, void *ctx)
{
	struct loaded *ld = ctx;

	ld->chaps++;
	ld->c = *c;
	return 0;
}

static int on_pr(const struct store_pr *p, void *ctx)
{
	struct loaded *ld = ctx;

	ld->prs++;
	ck_assert_uint_le(p->snapshot_len, sizeof(ld->pr_blob));
	memcpy(ld->pr_blob, p->snapshot, p->snapshot_len);
	ld->pr_len = p->snapshot_len;
	ld->pr_aptpl = p->aptpl;
	return 0;
}

static int on_portal(const struct store_portal *p, void *ctx)
{
	struct loaded *ld = ctx;

	ld->portals++;
	ld->portal = *p;
	return 0;
}

static const struct store_load_ops load_ops = { on_target, on_lun, on_acl, on_chap, on_pr,
						on_portal };

static const char tname[] = "iqn.2026-11.org.quorate:t1";

static void fill_lun(struct store_op *op)
{
	memset(op, 0, sizeof(*op));
	op->kind = STORE_OP_LUN_ADD;
	snprintf(op->u.lun.target, sizeof(op->u.lun.target), "%s", tname);
	op->u.lun.lun = 7;
	for (int i = 0; i < STORE_UUID_LEN; i++) {
		op->u.lun.uuid[i] = (uint8_t)i;
		op->u.lun.naa[i] = (uint8_t)(0x60 + i);
	}
	snprintf(op->u.lun.serial, sizeof(op->u.lun.serial), "000102030405060708090a0b0c0d0e0f");
	snprintf(op->u.lun.backing, sizeof(op->u.lun.backing), "file");
	snprintf(op->u.lun.path, sizeof(op->u.lun.path), "/srv/lun7.img");
	op->u.lun.size_bytes = 1ULL << 40;
	op->u.lun.block_size = 4096;
	op->u.lun.thin = true;
	op->u.lun.read_only = true;
}

START_TEST(test_commit_visible_after_reopen)
{
	struct store *s;
	struct store_op op = { .kind = STORE_OP_TARGET_ADD };
	struct loaded ld = { 0 };

	ck_assert_int_eq(store_open(dir, &s), 0);
	snprintf(op.u.target.name, sizeof(op.u.target.name), "%s", tname);
	snprintf(op.u.target.alias, sizeof(op.u.target.alias), "first");
	ck_assert_int_eq(store_commit(s, 1, &op), 0);
	fill_lun(&op);
	ck_assert_int_eq(store_commit(s, 2, &op), 0);
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_ACL_ADD;
	snprintf(op.u.acl.target, sizeof(op.u.acl.target), "%s", tname);
	snprintf(op.u.acl.initiator, sizeof(op.u.acl.initiator), "iqn.1994-05.com.redhat:c1");
	ck_assert_int_eq(store_commit(s, 3, &op), 0);
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_CHAP_SET;
	snprintf(op.u.chap.user, sizeof(op.u.chap.user), "disc");
	snprintf(op.u.chap.secret, sizeof(op.u.chap.secret), "s3cretsecret");
	ck_assert_int_eq(store_commit(s, 5, &op), 0);	/* gaps are allowed, going back is not */
	ck_assert_uint_eq(store_applied_seq(s), 5);
	store_close(s);

	ck_assert_int_eq(store_open(dir, &s), 0);
	ck_assert_uint_eq(store_applied_seq(s), 5);
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.targets, 1);
	ck_assert_str_eq(ld.t.name, tname);
	ck_assert_str_eq(ld.t.alias, "first");
	ck_assert_int_eq(ld.luns, 1);
	fill_lun(&op);
	ck_assert_int_eq(memcmp(&ld.l, &op.u.lun, sizeof(ld.l)), 0);
	ck_assert_int_eq(ld.acls, 1);
	ck_assert_str_eq(ld.a.initiator, "iqn.1994-05.com.redhat:c1");
	ck_assert_int_eq(ld.chaps, 1);
	ck_assert_str_eq(ld.c.target, "");
	ck_assert_str_eq(ld.c.secret, "s3cretsecret");
	store_close(s);
}
END_TEST

/* A store holding target tname and fill_lun()'s LUN 7 (seq 1, 2), closed. */
static void store_make_lun(void)
{
	struct store *s;
	struct store_op op = { .kind = STORE_OP_TARGET_ADD };

	ck_assert_int_eq(store_open(dir, &s), 0);
	snprintf(op.u.target.name, sizeof(op.u.target.name), "%s", tname);
	ck_assert_int_eq(store_commit(s, 1, &op), 0);
	fill_lun(&op);
	ck_assert_int_eq(store_commit(s, 2, &op), 0);
	store_close(s);
}

/* Run @sql on the closed database, as an older build or a test would. */
static void db_exec(const char *sql)
{
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_FILE);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* An operation @kind on LUN @lun of tname, every other field zero. */
static void lun_op(struct store_op *op, enum store_op_kind kind, uint16_t lun)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	snprintf(op->u.lun.target, sizeof(op->u.lun.target), "%s", tname);
	op->u.lun.lun = lun;
}

/*
 * Migration 3: a LUN of a version-2 database comes back online (offline 0);
 * STORE_OP_LUN_OFFLINE sets and clears the flag, which persists.
 */
START_TEST(test_lun_offline_flag)
{
	struct store *s;
	struct store_op op;
	struct loaded ld = { 0 };

	store_make_lun();
	/* Back to version 2 as an older build left it. */
	db_exec("ALTER TABLE luns DROP COLUMN offline;"
		"ALTER TABLE luns DROP COLUMN write_cache;"
		"ALTER TABLE luns DROP COLUMN alias;"
		"DELETE FROM schema_migrations WHERE version >= 3;");
	ck_assert_int_eq(store_open(dir, &s), 0);
	ck_assert_int_eq(store_schema_version(s), 4);
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.luns, 1);
	ck_assert(!ld.l.offline);
	lun_op(&op, STORE_OP_LUN_OFFLINE, 7);
	op.u.lun.offline = true;
	ck_assert_int_eq(store_commit(s, 3, &op), 0);
	op.u.lun.lun = 8;
	ck_assert_int_eq(store_commit(s, 4, &op), -ENOENT);
	store_close(s);

	ck_assert_int_eq(store_open(dir, &s), 0);
	ld.luns = 0;
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.luns, 1);
	ck_assert(ld.l.offline);
	fill_lun(&op);
	op.u.lun.offline = true;
	op.u.lun.write_cache = true;	/* migration 4: on, the LUN is not O_DIRECT */
	ck_assert_int_eq(memcmp(&ld.l, &op.u.lun, sizeof(ld.l)), 0);
	lun_op(&op, STORE_OP_LUN_OFFLINE, 7);
	ck_assert_int_eq(store_commit(s, 4, &op), 0);
	ld.luns = 0;
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert(!ld.l.offline);
	store_close(s);
}
END_TEST

/* Rows of a luns table, for the migration tests. */
struct lun_rows {
	struct store_lun v[4];
	int n;
};

static int lun_row_keep(const struct store_lun *l, void *ctx)
{
	struct lun_rows *r = ctx;

	ck_assert_int_lt(r->n, 4);
	r->v[r->n++] = *l;
	return 0;
}

/*
 * Migration 4: LUNs of a version-3 database get no alias and the write
 * cache they had (off with O_DIRECT, on without); STORE_OP_LUN_SET sets
 * the alias, read-only and write cache of one LUN, which persist;
 * STORE_OP_TARGET_SET a target's alias.
 */
START_TEST(test_lun_settings)
{
	static const struct store_load_ops ops = { .lun = lun_row_keep };
	struct store *s;
	struct store_op op;
	struct lun_rows rows = { .n = 0 };

	store_make_lun();
	ck_assert_int_eq(store_open(dir, &s), 0);
	fill_lun(&op);
	op.u.lun.lun = 8;
	op.u.lun.naa[0] = 0x6f;
	op.u.lun.direct_io = true;
	ck_assert_int_eq(store_commit(s, 3, &op), 0);
	store_close(s);
	db_exec("ALTER TABLE luns DROP COLUMN write_cache;"
		"ALTER TABLE luns DROP COLUMN alias;"
		"DELETE FROM schema_migrations WHERE version = 4;");

	ck_assert_int_eq(store_open(dir, &s), 0);
	ck_assert_int_eq(store_schema_version(s), 4);
	ck_assert_int_eq(store_load(s, &ops, &rows), 0);
	ck_assert_int_eq(rows.n, 2);
	ck_assert(rows.v[0].write_cache && !rows.v[0].direct_io);
	ck_assert(!rows.v[1].write_cache && rows.v[1].direct_io);
	ck_assert_str_eq(rows.v[0].alias, "");
	lun_op(&op, STORE_OP_LUN_SET, 8);
	op.u.lun.write_cache = true;
	snprintf(op.u.lun.alias, sizeof(op.u.lun.alias), "db 'disk'");
	ck_assert_int_eq(store_commit(s, 4, &op), 0);
	op.u.lun.lun = 9;
	ck_assert_int_eq(store_commit(s, 5, &op), -ENOENT);
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_TARGET_SET;
	snprintf(op.u.target.name, sizeof(op.u.target.name), "%s", tname);
	snprintf(op.u.target.alias, sizeof(op.u.target.alias), "renamed");
	ck_assert_int_eq(store_commit(s, 5, &op), 0);
	snprintf(op.u.target.name, sizeof(op.u.target.name), "iqn.2026-11.org.quorate:none");
	ck_assert_int_eq(store_commit(s, 6, &op), -ENOENT);
	store_close(s);
	ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM targets WHERE alias = 'renamed'"), 1);

	ck_assert_int_eq(store_open(dir, &s), 0);
	rows.n = 0;
	ck_assert_int_eq(store_load(s, &ops, &rows), 0);
	ck_assert_str_eq(rows.v[1].alias, "db 'disk'");
	ck_assert(rows.v[1].write_cache && !rows.v[1].read_only);
	ck_assert(rows.v[0].read_only && rows.v[0].write_cache);
	ck_assert_str_eq(rows.v[0].alias, "");
	store_close(s);
}
END_TEST

/* STORE_OP_LUN_RESIZE sets the size of one LUN, which persists; a missing LUN is -ENOENT. */
START_TEST(test_lun_resize)
{
	struct store *s;
	struct store_op op;
	struct loaded ld = { 0 };

	store_make_lun();
	ck_assert_int_eq(store_open(dir, &s), 0);
	lun_op(&op, STORE_OP_LUN_RESIZE, 7);
	op.u.lun.size_bytes = 0x123456789000ULL;
	ck_assert_int_eq(store_commit(s, 3, &op), 0);
	op.u.lun.lun = 8;
	ck_assert_int_eq(store_commit(s, 4, &op), -ENOENT);
	store_close(s);

	ck_assert_int_eq(store_open(dir, &s), 0);
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.luns, 1);
	fill_lun(&op);
	op.u.lun.size_bytes = 0x123456789000ULL;
	ck_assert_int_eq(memcmp(&ld.l, &op.u.lun, sizeof(ld.l)), 0);
	store_close(s);
}
END_TEST

/*
 * Run-time portals: STORE_OP_PORTAL_ADD stores (node, address), a duplicate
 * is -EEXIST, PORTAL_DEL of one that is not there -ENOENT; they load
 * ordered by node and address, and store_replace() replaces them.
 */
static int replace_one_portal(struct store_op *op, void *ctx)
{
	int *n = ctx;

	if ((*n)++ > 0) {
		return 0;
	}
	op->kind = STORE_OP_PORTAL_ADD;
	op->u.portal.node = 9;
	snprintf(op->u.portal.address, sizeof(op->u.portal.address), "10.0.0.9:3260");
	return 1;
}

START_TEST(test_portals)
{
	struct store *s;
	struct store_op op = { .kind = STORE_OP_PORTAL_ADD };
	struct loaded ld = { 0 };
	int n = 0;

	ck_assert_int_eq(store_open(dir, &s), 0);
	op.u.portal.node = 3;
	snprintf(op.u.portal.address, sizeof(op.u.portal.address), "198.18.1.3:3261");
	ck_assert_int_eq(store_commit(s, 1, &op), 0);
	ck_assert_int_eq(store_commit(s, 2, &op), -EEXIST);
	op.u.portal.node = 2;
	ck_assert_int_eq(store_commit(s, 2, &op), 0);
	op.kind = STORE_OP_PORTAL_DEL;
	op.u.portal.node = 4;
	ck_assert_int_eq(store_commit(s, 3, &op), -ENOENT);
	op.u.portal.node = 3;
	ck_assert_int_eq(store_commit(s, 3, &op), 0);
	store_close(s);
	ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM portals"), 1);

	ck_assert_int_eq(store_open(dir, &s), 0);
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.portals, 1);
	ck_assert_uint_eq(ld.portal.node, 2);
	ck_assert_str_eq(ld.portal.address, "198.18.1.3:3261");
	ck_assert_int_eq(store_replace(s, 10, 1, replace_one_portal, &n), 0);
	store_close(s);
	ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM portals WHERE node = 9"), 1);
	ck_assert_int_eq(count_rows("SELECT COUNT(*) FROM portals"), 1);
}
END_TEST

START_TEST(test_seq_rules_and_failed_commit_rolls_back)
{
	struct store *s;
	struct store_op op = { .kind = STORE_OP_TARGET_ADD };
	struct loaded ld = { 0 };

	ck_assert_int_eq(store_open(dir, &s), 0);
	snprintf(op.u.target.name, sizeof(op.u.target.name), "%s", tname);
	ck_assert_int_eq(store_commit(s, 1, &op), 0);
	ck_assert_int_eq(store_commit(s, 1, NULL), -EINVAL);	/* not newer */
	/* A duplicate target is a constraint error and leaves seq alone. */
	ck_assert_int_eq(store_commit(s, 2, &op), -EEXIST);
	ck_assert_uint_eq(store_applied_seq(s), 1);
	/* A rejected mutation still consumes its sequence number. */
	ck_assert_int_eq(store_commit(s, 2, NULL), 0);
	ck_assert_uint_eq(store_applied_seq(s), 2);
	/* LUN of a missing target: foreign key. */
	fill_lun(&op);
	snprintf(op.u.lun.target, sizeof(op.u.lun.target), "iqn.2026-11.org.quorate:nope");
	ck_assert_int_eq(store_commit(s, 3, &op), -EEXIST);
	/* Deleting what is not there. */
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_ACL_DEL;
	snprintf(op.u.acl.target, sizeof(op.u.acl.target), "%s", tname);
	snprintf(op.u.acl.initiator, sizeof(op.u.acl.initiator), "iqn.2000-01.x:y");
	ck_assert_int_eq(store_commit(s, 3, &op), -ENOENT);
	ck_assert_uint_eq(store_applied_seq(s), 2);
	store_close(s);
	ck_assert_int_eq(store_open(dir, &s), 0);
	ck_assert_uint_eq(store_applied_seq(s), 2);
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.targets, 1);
	ck_assert_int_eq(ld.luns, 0);
	store_close(s);
}
END_TEST

START_TEST(test_target_delete_cascades)
{
	struct store *s;
	struct store_op op = { .kind = STORE_OP_TARGET_ADD };
	struct loaded ld = { 0 };

	ck_assert_int_eq(store_open(dir, &s), 0);
	snprintf(op.u.target.name, sizeof(op.u.target.name), "%s", tname);
	ck_assert_int_eq(store_commit(s, 1, &op), 0);
	fill_lun(&op);
	ck_assert_int_eq(store_commit(s, 2, &op), 0);
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_CHAP_SET;
	snprintf(op.u.chap.target, sizeof(op.u.chap.target), "%s", tname);
	snprintf(op.u.chap.user, sizeof(op.u.chap.user), "u");
	snprintf(op.u.chap.secret, sizeof(op.u.chap.secret), "secretsecret");
	ck_assert_int_eq(store_commit(s, 3, &op), 0);
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_TARGET_DEL;
	snprintf(op.u.target.name, sizeof(op.u.target.name), "%s", tname);
	ck_assert_int_eq(store_commit(s, 4, &op), 0);
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.targets + ld.luns + ld.acls + ld.chaps, 0);
	ck_assert_int_eq(store_commit(s, 5, &op), -ENOENT);
	store_close(s);
}
END_TEST

/*
 * The luns table's CHECK constraint is daemon/base/domain.h's LUN range: the
 * schema text names LUN_ID_MAX, LUN_ID_MAX commits, one more is refused.
 */
START_TEST(test_schema_lun_range_is_the_domain_rule)
{
	struct store *s;
	struct store_op op = { .kind = STORE_OP_TARGET_ADD };
	char sql[160];

	ck_assert_int_eq(store_open(dir, &s), 0);
	snprintf(op.u.target.name, sizeof(op.u.target.name), "%s", tname);
	ck_assert_int_eq(store_commit(s, 1, &op), 0);
	fill_lun(&op);
	op.u.lun.lun = LUN_ID_MAX;
	ck_assert_int_eq(store_commit(s, 2, &op), 0);
	op.u.lun.lun = LUN_ID_MAX + 1;
	ck_assert_int_lt(store_commit(s, 3, &op), 0);
	ck_assert_uint_eq(store_applied_seq(s), 2);
	store_close(s);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM sqlite_master WHERE name = 'luns' AND "
		 "sql LIKE '%%CHECK (lun BETWEEN 0 AND %u)%%'", LUN_ID_MAX);
	ck_assert_int_eq(count_rows(sql), 1);
}
END_TEST

/* Migration 2: the PR snapshot of a LU commits with the sequence and goes with its LUN. */
START_TEST(test_pr_state_persists)
{
	static const uint8_t blob1[] = { 1, 2, 3, 0, 4 }, blob2[] = { 9, 8 };
	struct store *s;
	struct store_op op = { .kind = STORE_OP_TARGET_ADD };
	struct loaded ld = { 0 };

	ck_assert_int_eq(store_open(dir, &s), 0);
	snprintf(op.u.target.name, sizeof(op.u.target.name), "%s", tname);
	ck_assert_int_eq(store_commit(s, 1, &op), 0);
	fill_lun(&op);
	ck_assert_int_eq(store_commit(s, 2, &op), 0);
	memset(&op, 0, sizeof(op));
	op.kind = STORE_OP_PR_SET;
	snprintf(op.u.pr.target, sizeof(op.u.pr.target), "%s", tname);
	op.u.pr.lun = 7;
	op.u.pr.aptpl = true;
	op.u.pr.snapshot = blob1;
	op.u.pr.snapshot_len = sizeof(blob1);
	ck_assert_int_eq(store_commit(s, 3, &op), 0);
	store_close(s);

	ck_assert_int_eq(store_open(dir, &s), 0);
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.prs, 1);
	ck_assert(ld.pr_aptpl);
	ck_assert_uint_eq(ld.pr_len, sizeof(blob1));
	ck_assert_int_eq(memcmp(ld.pr_blob, blob1, sizeof(blob1)), 0);
	/* Replaced, not appended. */
	op.u.pr.aptpl = false;
	op.u.pr.snapshot = blob2;
	op.u.pr.snapshot_len = sizeof(blob2);
	ck_assert_int_eq(store_commit(s, 4, &op), 0);
	memset(&ld, 0, sizeof(ld));
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.prs, 1);
	ck_assert(!ld.pr_aptpl);
	ck_assert_int_eq(memcmp(ld.pr_blob, blob2, sizeof(blob2)), 0);
	/* A LUN that does not exist: refused, the sequence stays. */
	op.u.pr.lun = 8;
	ck_assert_int_eq(store_commit(s, 5, &op), -ENOENT);
	ck_assert_uint_eq(store_applied_seq(s), 4);
	/* Deleting the LUN drops its PR state. */
	fill_lun(&op);
	op.kind = STORE_OP_LUN_DEL;
	ck_assert_int_eq(store_commit(s, 5, &op), 0);
	memset(&ld, 0, sizeof(ld));
	ck_assert_int_eq(store_load(s, &load_ops, &ld), 0);
	ck_assert_int_eq(ld.prs, 0);
	store_close(s);
}
END_TEST

/* ---- a full file system ---------------------------------------------------- */

#define FULL_FS_SIZE "size=1m"		/* tmpfs rounds to pages: 256 of them */
#define FULL_FS_MAX_COMMITS 2000
#define FULL_FS_SKIP 77

/* In the child: report @msg through @fd and exit 1. */
static void __attribute__((noreturn)) full_fail(int fd, const char *msg)
{
	ssize_t n = write(fd, msg, strlen(msg));

	(void)n;
	_exit(1);
}

/* Read meta.applied_seq through a connection of our own. */
static long long full_db_seq(const char *db_dir)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *st;
	long long seq = -1;

	snprintf(path, sizeof(path), "%s/%s", db_dir, STORE_DB_FILE);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_prepare_v2(db, "SELECT applied_seq FROM meta", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			seq = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return seq;
}

/* The child: mount a small tmpfs on dir, fill it, commit until SQLite fails. */
static void __attribute__((noreturn)) full_child(int fd)
{
	static char chunk[4096];
	struct store_op *op = calloc(1, sizeof(*op));
	char filler[128], msg[512];
	struct store *s;
	uint64_t seq = 0, before;
	int ffd, rc = 0;

	if (unshare(geteuid() == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) < 0 ||
	    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, FULL_FS_SIZE) < 0) {
		snprintf(msg, sizeof(msg), "no private tmpfs: %s", strerror(errno));
		if (write(fd, msg, strlen(msg)) < 0) {
			_exit(1);
		}
		_exit(FULL_FS_SKIP);
	}
	if (op == NULL || store_open(dir, &s) != 0) {
		full_fail(fd, "store_open on the tmpfs failed");
	}
	op->kind = STORE_OP_TARGET_ADD;
	snprintf(op->u.target.name, sizeof(op->u.target.name), "%s", tname);
	if (store_commit(s, ++seq, op) != 0) {
		full_fail(fd, "first commit failed");
	}
	/* Take every free block, so the next WAL frame has nowhere to go. */
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	ffd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (ffd < 0) {
		full_fail(fd, "cannot create the filler");
	}
	memset(chunk, 0x5a, sizeof(chunk));
	while (write(ffd, chunk, sizeof(chunk)) > 0) {
	}
	close(ffd);
	/* Each CHAP row is a new row: a commit that needs space. */
	memset(op, 0, sizeof(*op));
	op->kind = STORE_OP_CHAP_SET;
	snprintf(op->u.chap.user, sizeof(op->u.chap.user), "user");
	memset(op->u.chap.secret, 'x', sizeof(op->u.chap.secret) - 1);
	for (int i = 0; i < FULL_FS_MAX_COMMITS && rc == 0; i++) {
		snprintf(op->u.chap.target, sizeof(op->u.chap.target), "iqn.2026-11.x:t%d", i);
		rc = store_commit(s, ++seq, op);
	}
	if (rc != -ENOSPC) {
		snprintf(msg, sizeof(msg), "commit on a full file system: %d (%s), errmsg '%s'; "
			 "expected -ENOSPC", rc, strerror(-rc), store_errmsg(s));
		full_fail(fd, msg);
	}
	if (strstr(store_errmsg(s), "full") == NULL) {
		snprintf(msg, sizeof(msg), "errmsg '%s' does not say the disk is full",
			 store_errmsg(s));
		full_fail(fd, msg);
	}
	if ((long long)store_applied_seq(s) != full_db_seq(dir)) {
		snprintf(msg, sizeof(msg), "applied seq %llu in memory, %lld in the database",
			 (unsigned long long)store_applied_seq(s), full_db_seq(dir));
		full_fail(fd, msg);
	}
	/* Space again: the connection has no transaction left open. */
	before = store_applied_seq(s);
	unlink(filler);
	rc = store_commit(s, before + 1, op);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "commit after freeing space: %d (%s)", rc,
			 store_errmsg(s));
		full_fail(fd, msg);
	}
	store_close(s);
	if (full_db_seq(dir) != (long long)before + 1) {
		full_fail(fd, "the commit after freeing space is not in the database");
	}
	umount(dir);
	free(op);
	_exit(0);
}

START_TEST(test_full_disk_reports_enospc)
{
	char msg[512] = "";
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		full_child(pfd[1]);
	}
	close(pfd[1]);
	n = read(pfd[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == FULL_FS_SKIP) {
		/* Neither root nor user namespaces: nothing to mount on. */
		fprintf(stderr, "check_store: full-disk test skipped: %s\n", msg);
		return;
	}
	ck_assert_msg(WEXITSTATUS(status) == 0, "%s", msg);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("sqlite");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fresh_db_gets_all_migrations);
	tcase_add_test(tc, test_reopen_is_idempotent);
	tcase_add_test(tc, test_existing_file_mode_tightened);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_commit_visible_after_reopen);
	tcase_add_test(tc, test_seq_rules_and_failed_commit_rolls_back);
	tcase_add_test(tc, test_lun_offline_flag);
	tcase_add_test(tc, test_lun_resize);
	tcase_add_test(tc, test_lun_settings);
	tcase_add_test(tc, test_portals);
	tcase_add_test(tc, test_target_delete_cascades);
	tcase_add_test(tc, test_schema_lun_range_is_the_domain_rule);
	tcase_add_test(tc, test_pr_state_persists);
	tcase_add_test(tc, test_full_disk_reports_enospc);
	suite_add_tcase(s, tc);
	return s;
}
