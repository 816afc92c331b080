/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SQLite persistence of the replicated state (see store.h for the contract).
 *
 * Durability: WAL with synchronous=FULL makes every committed transaction
 * durable before sqlite3_step() returns, which is what DESIGN §1 needs
 * ("committed to SQLite before the command completes"). In cluster mode
 * (store_relaxed_allow) an op whose state a power loss drops anyway commits
 * with synchronous=NORMAL: ordered in the WAL, durable with the next FULL
 * commit or checkpoint; the other members hold it meanwhile. A busy timeout
 * covers a concurrent reader such as the sqlite3 shell.
 *
 * Migrations: migrations[i] brings the schema from version i to i + 1. Each
 * runs in its own transaction together with its schema_migrations row, so a
 * crash leaves the database at a well-defined version. applied_at is the
 * only clock reading in here, and it is metadata, not replicated state.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "daemon/store/store.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_DB_MODE 0600		/* CHAP secrets inside */
#define STORE_ERR_MAX 256

/*
 * A domain rule written into the schema as SQL text (daemon/base/domain.h).
 * Applied migrations must never change: the value is a plain literal, so
 * this yields the very text migration 1 always had; check_store asserts the
 * constraint and the header agree.
 */
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)

struct store {
	sqlite3 *db;			/* owned */
	uint64_t applied_seq;		/* mirror of meta.applied_seq */
	uint64_t epoch;			/* mirror of meta.epoch */
	int version;			/* highest applied migration */
	/*
	 * The first SQLite error of the last failed operation. Kept apart from
	 * sqlite3_errmsg(), which the clean-up after a failure (ROLLBACK)
	 * overwrites with its own, unhelpful, message.
	 */
	char err[STORE_ERR_MAX];
	bool relaxed_allowed;		/* store_relaxed_allow() */
	bool sync_normal;		/* PRAGMA synchronous is NORMAL now, not FULL */
};

/* Version 1: the first schema (DESIGN §4 minus PR tables, a later item). */
static const char migration_v1[] =
	"CREATE TABLE targets ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  alias TEXT NOT NULL DEFAULT '');"
	/* Portals of every node, for cluster-wide SendTargets (filled later). */
	"CREATE TABLE portals ("
	"  node INTEGER NOT NULL,"
	"  address TEXT NOT NULL,"
	"  PRIMARY KEY (node, address));"
	"CREATE TABLE luns ("
	"  target TEXT NOT NULL REFERENCES targets(name) ON DELETE CASCADE,"
	"  lun INTEGER NOT NULL CHECK (lun BETWEEN 0 AND " STORE_STR(LUN_ID_MAX) "),"
	"  uuid BLOB NOT NULL,"
	"  naa BLOB NOT NULL,"
	"  serial TEXT NOT NULL,"
	"  backing TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  block_size INTEGER NOT NULL,"
	"  direct_io INTEGER NOT NULL,"
	"  thin INTEGER NOT NULL,"
	"  read_only INTEGER NOT NULL,"
	"  PRIMARY KEY (target, lun));"
	"CREATE TABLE acls ("
	"  target TEXT NOT NULL REFERENCES targets(name) ON DELETE CASCADE,"
	"  initiator TEXT NOT NULL,"
	"  PRIMARY KEY (target, initiator));"
	/* target '' holds the discovery-session credentials. */
	"CREATE TABLE chap ("
	"  target TEXT PRIMARY KEY NOT NULL,"
	"  user TEXT NOT NULL,"
	"  secret TEXT NOT NULL,"
	"  mutual_user TEXT NOT NULL DEFAULT '',"
	"  mutual_secret TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE meta ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  applied_seq INTEGER NOT NULL,"
	"  epoch INTEGER NOT NULL);"
	"INSERT INTO meta (id, applied_seq, epoch) VALUES (1, 0, 0);";

/*
 * Version 2: persistent-reservation state per LU (DESIGN §4). One row per LU
 * that ever had a PR mutation applied; it goes with its LUN.
 */
static const char migration_v2[] =
	"CREATE TABLE pr_state ("
	"  target TEXT NOT NULL,"
	"  lun INTEGER NOT NULL,"
	"  aptpl INTEGER NOT NULL,"
	"  snapshot BLOB NOT NULL,"
	"  PRIMARY KEY (target, lun),"
	"  FOREIGN KEY (target, lun) REFERENCES luns(target, lun) ON DELETE CASCADE);";

/*
 * Version 3: a LUN the administrator took offline ('lun offline') stays
 * offline on every node, through restarts, until 'lun online'.
 */
static const char migration_v3[] =
	"ALTER TABLE luns ADD COLUMN offline INTEGER NOT NULL DEFAULT 0"
	"  CHECK (offline IN (0, 1));";

/*
 * Version 4: a LUN's alias and its write cache setting ('lun set'). The
 * write cache was on unless the LUN used O_DIRECT; existing LUNs keep that.
 */
static const char migration_v4[] =
	"ALTER TABLE luns ADD COLUMN alias TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE luns ADD COLUMN write_cache INTEGER NOT NULL DEFAULT 1"
	"  CHECK (write_cache IN (0, 1));"
	"UPDATE luns SET write_cache = 0 WHERE direct_io != 0;";

static const char *const migrations[STORE_SCHEMA_VERSION] = {
	migration_v1,
	migration_v2,
	migration_v3,
	migration_v4,
};

const char *store_errmsg(struct store *store)
{
	return store->err[0] != '\0' ? store->err : sqlite3_errmsg(store->db);
}

/* A primary SQLite result code as -errno; SQLITE_CONSTRAINT is the caller's. */
static int store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_INTERRUPT:
		return -EINTR;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EUCLEAN;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

/*
 * Record SQLite result @rc of the statement just run (only the first error of
 * an operation is kept) and return it as -errno.
 */
static int store_fail(struct store *store, int rc)
{
	if (store->err[0] == '\0') {
		snprintf(store->err, sizeof(store->err), "%s", sqlite3_errmsg(store->db));
	}
	return store_errno(rc);
}

static int store_exec(struct store *store, const char *sql)
{
	int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(store, rc);
}

/*
 * Roll back the open transaction, if SQLite has not already done so: on
 * SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM and SQLITE_BUSY it may roll back
 * by itself, and a ROLLBACK then only fails with "no transaction is active".
 */
static void store_rollback(struct store *store)
{
	if (!sqlite3_get_autocommit(store->db)) {
		store_exec(store, "ROLLBACK");
	}
}

static int store_read_version(struct store *store)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(store->db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		return store_fail(store, rc);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store->version = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_fail(store, rc);
}

static int store_migrate(struct store *store)
{
	sqlite3_stmt *st;
	int rc;

	rc = store_exec(store, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			       "  version INTEGER PRIMARY KEY,"
			       "  applied_at INTEGER NOT NULL)");
	if (rc < 0) {
		return rc;
	}
	rc = store_read_version(store);
	if (rc < 0) {
		return rc;
	}
	if (store->version > STORE_SCHEMA_VERSION) {
		/* Written by a newer build: do not guess at its meaning. */
		return -EPROTO;
	}
	while (store->version < STORE_SCHEMA_VERSION) {
		int next = store->version + 1;

		rc = store_exec(store, "BEGIN IMMEDIATE");
		if (rc < 0) {
			return rc;
		}
		rc = store_exec(store, migrations[store->version]);
		if (rc == 0) {
			rc = sqlite3_prepare_v2(store->db,
						"INSERT INTO schema_migrations (version, applied_at)"
						" VALUES (?, strftime('%s','now'))",
						-1, &st, NULL);
			if (rc == SQLITE_OK) {
				sqlite3_bind_int(st, 1, next);
				rc = sqlite3_step(st);
				sqlite3_finalize(st);
			}
			rc = rc == SQLITE_DONE ? 0 : store_fail(store, rc);
		}
		if (rc == 0) {
			rc = store_exec(store, "COMMIT");
		}
		if (rc < 0) {
			store_rollback(store);
			return rc;
		}
		store->version = next;
	}
	return 0;
}

static int store_read_meta(struct store *store)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(store->db, "SELECT applied_seq, epoch FROM meta WHERE id = 1", -1,
				&st, NULL);
	if (rc != SQLITE_OK) {
		return store_fail(store, rc);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store->applied_seq = (uint64_t)sqlite3_column_int64(st, 0);
		store->epoch = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_fail(store, rc);
}

/* Create the file ourselves so it is 0600 from its first byte; SQLite gives
 * its -wal and -shm files the database file's permissions. */
static int store_create_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, STORE_DB_MODE);

	if (fd < 0) {
		return -errno;
	}
	if (fchmod(fd, STORE_DB_MODE) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

int store_open(const char *dir, struct store **out)
{
	char path[PATH_MAX];
	struct store *store;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_FILE) >= (int)sizeof(path)) {
		return -ENAMETOOLONG;
	}
	rc = store_create_file(path);
	if (rc < 0) {
		return rc;
	}
	store = calloc(1, sizeof(*store));
	if (store == NULL) {
		return -ENOMEM;
	}
	rc = sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = store_errno(rc);
		goto fail;
	}
	sqlite3_busy_timeout(store->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(store->db, 0);
	rc = store_exec(store, "PRAGMA journal_mode=WAL");
	if (rc == 0) {
		rc = store_exec(store, "PRAGMA synchronous=FULL");
	}
	if (rc == 0) {
		rc = store_exec(store, "PRAGMA foreign_keys=ON");
	}
	if (rc == 0) {
		rc = store_migrate(store);
	}
	if (rc == 0) {
		rc = store_read_meta(store);
	}
	if (rc < 0) {
		goto fail;
	}
	*out = store;
	return 0;
fail:
	sqlite3_close(store->db);
	free(store);
	return rc;
}

void store_close(struct store *store)
{
	if (store == NULL) {
		return;
	}
	sqlite3_close(store->db);
	free(store);
}

int store_schema_version(struct store *store)
{
	return store->version;
}

uint64_t store_applied_seq(const struct store *store)
{
	return store->applied_seq;
}

uint64_t store_epoch(const struct store *store)
{
	return store->epoch;
}

static void store_copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", s != NULL ? (const char *)s : "");
}

static void store_copy_blob(uint8_t *dst, size_t len, sqlite3_stmt *st, int col)
{
	const void *b = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	memset(dst, 0, len);
	if (b != NULL) {
		memcpy(dst, b, n < len ? n : len);
	}
}

/* Which callback of struct store_load_ops a row goes to. */
enum store_rec_kind {
	STORE_REC_TARGET,
	STORE_REC_LUN,
	STORE_REC_ACL,
	STORE_REC_CHAP,
	STORE_REC_PORTAL
};

static int store_load_call(enum store_rec_kind kind, const struct store_load_ops *ops,
			   const void *rec, void *ctx)
{
	switch (kind) {
	case STORE_REC_TARGET:
		return ops->target(rec, ctx);
	case STORE_REC_LUN:
		return ops->lun(rec, ctx);
	case STORE_REC_ACL:
		return ops->acl(rec, ctx);
	case STORE_REC_CHAP:
		return ops->chap(rec, ctx);
	case STORE_REC_PORTAL:
		return ops->portal(rec, ctx);
	}
	return -EINVAL;
}

static size_t store_rec_size(enum store_rec_kind kind)
{
	switch (kind) {
	case STORE_REC_TARGET:
		return sizeof(struct store_target);
	case STORE_REC_LUN:
		return sizeof(struct store_lun);
	case STORE_REC_ACL:
		return sizeof(struct store_acl);
	case STORE_REC_CHAP:
		return sizeof(struct store_chap);
	case STORE_REC_PORTAL:
		return sizeof(struct store_portal);
	}
	return 0;
}

/* Run @sql and hand each row, converted by @row_fn into @rec, to its callback. */
static int store_load_rows(struct store *store, const char *sql,
			   void (*row_fn)(sqlite3_stmt *st, void *rec), void *rec,
			   enum store_rec_kind kind, const struct store_load_ops *ops, void *ctx)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return store_fail(store, rc);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* Zeroed first: records compare and hash byte for byte. */
		memset(rec, 0, store_rec_size(kind));
		row_fn(st, rec);
		rc = store_load_call(kind, ops, rec, ctx);
		if (rc < 0) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(store, rc);
}

static void store_row_target(sqlite3_stmt *st, void *rec)
{
	struct store_target *t = rec;

	store_copy_text(t->name, sizeof(t->name), st, 0);
	store_copy_text(t->alias, sizeof(t->alias), st, 1);
}

static void store_row_lun(sqlite3_stmt *st, void *rec)
{
	struct store_lun *l = rec;

	store_copy_text(l->target, sizeof(l->target), st, 0);
	l->lun = (uint16_t)sqlite3_column_int(st, 1);
	store_copy_blob(l->uuid, sizeof(l->uuid), st, 2);
	store_copy_blob(l->naa, sizeof(l->naa), st, 3);
	store_copy_text(l->serial, sizeof(l->serial), st, 4);
	store_copy_text(l->backing, sizeof(l->backing), st, 5);
	store_copy_text(l->path, sizeof(l->path), st, 6);
	l->size_bytes = (uint64_t)sqlite3_column_int64(st, 7);
	l->block_size = (uint32_t)sqlite3_column_int64(st, 8);
	l->direct_io = sqlite3_column_int(st, 9) != 0;
	l->thin = sqlite3_column_int(st, 10) != 0;
	l->read_only = sqlite3_column_int(st, 11) != 0;
	l->offline = sqlite3_column_int(st, 12) != 0;
	l->write_cache = sqlite3_column_int(st, 13) != 0;
	store_copy_text(l->alias, sizeof(l->alias), st, 14);
}

static void store_row_acl(sqlite3_stmt *st, void *rec)
{
	struct store_acl *a = rec;

	store_copy_text(a->target, sizeof(a->target), st, 0);
	store_copy_text(a->initiator, sizeof(a->initiator), st, 1);
}

static void store_row_chap(sqlite3_stmt *st, void *rec)
{
	struct store_chap *c = rec;

	store_copy_text(c->target, sizeof(c->target), st, 0);
	store_copy_text(c->user, sizeof(c->user), st, 1);
	store_copy_text(c->secret, sizeof(c->secret), st, 2);
	store_copy_text(c->mutual_user, sizeof(c->mutual_user), st, 3);
	store_copy_text(c->mutual_secret, sizeof(c->mutual_secret), st, 4);
}

static void store_row_portal(sqlite3_stmt *st, void *rec)
{
	struct store_portal *p = rec;

	p->node = (uint32_t)sqlite3_column_int64(st, 0);
	store_copy_text(p->address, sizeof(p->address), st, 1);
}

static int store_load_pr(struct store *store, const struct store_load_ops *ops, void *ctx)
{
	struct store_pr p;
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(store->db,
				"SELECT target, lun, aptpl, snapshot FROM pr_state"
				" ORDER BY target, lun", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return store_fail(store, rc);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&p, 0, sizeof(p));
		store_copy_text(p.target, sizeof(p.target), st, 0);
		p.lun = (uint16_t)sqlite3_column_int(st, 1);
		p.aptpl = sqlite3_column_int(st, 2) != 0;
		p.snapshot = sqlite3_column_blob(st, 3);
		p.snapshot_len = (size_t)sqlite3_column_bytes(st, 3);
		rc = ops->pr(&p, ctx);
		if (rc < 0) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(store, rc);
}

static int store_pr_set(struct store *store, const struct store_pr *p)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(store->db,
				"INSERT OR REPLACE INTO pr_state (target, lun, aptpl, snapshot)"
				" VALUES (?, ?, ?, ?)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return store_fail(store, rc);
	}
	sqlite3_bind_text(st, 1, p->target, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, p->lun);
	sqlite3_bind_int(st, 3, p->aptpl ? 1 : 0);
	sqlite3_bind_blob(st, 4, p->snapshot, (int)p->snapshot_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT) {
		store_fail(store, rc);
		sqlite3_finalize(st);
		return -ENOENT;	/* no such LUN: the foreign key */
	}
	rc = rc == SQLITE_DONE ? 0 : store_fail(store, rc);
	sqlite3_finalize(st);
	return rc;
}

int store_load(struct store *store, const struct store_load_ops *ops, void *ctx)
{
	union {
		struct store_target t;
		struct store_lun l;
		struct store_acl a;
		struct store_chap c;
		struct store_portal p;
	} *rec;
	int rc = 0;

	store->err[0] = '\0';
	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		return -ENOMEM;
	}
	/* Ordered, so every node replays in the same order. */
	if (ops->target != NULL) {
		rc = store_load_rows(store, "SELECT name, alias FROM targets ORDER BY name",
				     store_row_target, &rec->t,
				     STORE_REC_TARGET, ops, ctx);
	}
	if (rc == 0 && ops->lun != NULL) {
		rc = store_load_rows(store,
				     "SELECT target, lun, uuid, naa, serial, backing, path, size,"
				     " block_size, direct_io, thin, read_only, offline, write_cache,"
				     " alias FROM luns"
				     " ORDER BY target, lun",
				     store_row_lun, &rec->l,
				     STORE_REC_LUN, ops, ctx);
	}
	if (rc == 0 && ops->acl != NULL) {
		rc = store_load_rows(store,
				     "SELECT target, initiator FROM acls ORDER BY target, initiator",
				     store_row_acl, &rec->a,
				     STORE_REC_ACL, ops, ctx);
	}
	if (rc == 0 && ops->chap != NULL) {
		rc = store_load_rows(store,
				     "SELECT target, user, secret, mutual_user, mutual_secret"
				     " FROM chap ORDER BY target",
				     store_row_chap, &rec->c,
				     STORE_REC_CHAP, ops, ctx);
	}
	if (rc == 0 && ops->portal != NULL) {
		rc = store_load_rows(store, "SELECT node, address FROM portals ORDER BY node, address",
				     store_row_portal, &rec->p, STORE_REC_PORTAL, ops, ctx);
	}
	explicit_bzero(rec, sizeof(*rec));	/* may have held a secret */
	free(rec);
	if (rc == 0 && ops->pr != NULL) {
		rc = store_load_pr(store, ops, ctx);
	}
	return rc;
}

/* Prepare @sql, bind text arguments in order, step once; -EEXIST on a
 * constraint violation, -ENOENT if @want_change and no row changed. */
static int store_run(struct store *store, const char *sql, bool want_change, int ntext,
		     const char *const *text)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(store->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return store_fail(store, rc);
	}
	for (int i = 0; i < ntext; i++) {
		sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	/* The message before finalize, which would reset it. */
	rc = rc == SQLITE_DONE ? 0 : store_fail(store, rc);
	sqlite3_finalize(st);
	if (rc < 0) {
		return rc;
	}
	if (want_change && sqlite3_changes(store->db) == 0) {
		return -ENOENT;
	}
	return 0;
}

/* UPDATE one integer @column (a name of this file, never input) of LUN @l. */
static int store_lun_update(struct store *store, const struct store_lun *l, const char *column,
			    uint64_t value)
{
	char sql[128], lun[8], v[24];
	const char *args[3] = { v, l->target, lun };

	snprintf(sql, sizeof(sql),
		 "UPDATE luns SET %s = CAST(? AS INTEGER) WHERE target = ? AND lun = CAST(? AS "
		 "INTEGER)",
		 column);
	snprintf(lun, sizeof(lun), "%u", l->lun);
	snprintf(v, sizeof(v), "%" PRIu64, value);
	return store_run(store, sql, true, 3, args);
}

static int store_lun_insert(struct store *store, const struct store_lun *l)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(store->db,
				"INSERT INTO luns (target, lun, uuid, naa, serial, backing, path,"
				" size, block_size, direct_io, thin, read_only, offline, write_cache,"
				" alias)"
				" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		return store_fail(store, rc);
	}
	sqlite3_bind_text(st, 1, l->target, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, l->lun);
	sqlite3_bind_blob(st, 3, l->uuid, sizeof(l->uuid), SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, l->naa, sizeof(l->naa), SQLITE_STATIC);
	sqlite3_bind_text(st, 5, l->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, l->backing, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, l->path, -1, SQLITE_STATIC);
	/* SQLite integers are signed 64-bit; sizes above 2^63 are refused by apply. */
	sqlite3_bind_int64(st, 8, (sqlite3_int64)l->size_bytes);
	sqlite3_bind_int64(st, 9, l->block_size);
	sqlite3_bind_int(st, 10, l->direct_io);
	sqlite3_bind_int(st, 11, l->thin);
	sqlite3_bind_int(st, 12, l->read_only);
	sqlite3_bind_int(st, 13, l->offline);
	sqlite3_bind_int(st, 14, l->write_cache);
	sqlite3_bind_text(st, 15, l->alias, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	/* Duplicate (target, lun) or no such target: SQLITE_CONSTRAINT -> -EEXIST. */
	rc = rc == SQLITE_DONE ? 0 : store_fail(store, rc);
	sqlite3_finalize(st);
	return rc;
}

static int store_lun_delete(struct store *store, const struct store_lun *l)
{
	char lun[8];
	const char *args[2] = { l->target, lun };

	snprintf(lun, sizeof(lun), "%u", l->lun);
	return store_run(store, "DELETE FROM luns WHERE target = ? AND lun = CAST(? AS INTEGER)",
			 true, 2, args);
}

static int store_apply_op(struct store *store, const struct store_op *op)
{
	const char *args[5];

	switch (op->kind) {
	case STORE_OP_NONE:
		return 0;
	case STORE_OP_TARGET_ADD:
		args[0] = op->u.target.name;
		args[1] = op->u.target.alias;
		return store_run(store, "INSERT INTO targets (name, alias) VALUES (?, ?)", false,
				 2, args);
	case STORE_OP_TARGET_DEL: {
		int rc;

		args[0] = op->u.target.name;
		/* LUNs and ACLs go by ON DELETE CASCADE; CHAP has no foreign key
		 * because '' (discovery) is not a target. */
		rc = store_run(store, "DELETE FROM chap WHERE target = ?", false, 1, args);
		if (rc == 0) {
			rc = store_run(store, "DELETE FROM targets WHERE name = ?", true, 1, args);
		}
		return rc;
	}
	case STORE_OP_LUN_ADD:
		return store_lun_insert(store, &op->u.lun);
	case STORE_OP_LUN_DEL:
		return store_lun_delete(store, &op->u.lun);
	case STORE_OP_LUN_OFFLINE:
		return store_lun_update(store, &op->u.lun, "offline", op->u.lun.offline);
	case STORE_OP_LUN_RESIZE:
		return store_lun_update(store, &op->u.lun, "size", op->u.lun.size_bytes);
	case STORE_OP_TARGET_SET:
		args[0] = op->u.target.alias;
		args[1] = op->u.target.name;
		return store_run(store, "UPDATE targets SET alias = ? WHERE name = ?", true, 2, args);
	case STORE_OP_LUN_SET: {
		char lun[8];

		snprintf(lun, sizeof(lun), "%u", op->u.lun.lun);
		args[0] = op->u.lun.alias;
		args[1] = op->u.lun.read_only ? "1" : "0";
		args[2] = op->u.lun.write_cache ? "1" : "0";
		args[3] = op->u.lun.target;
		args[4] = lun;
		return store_run(store,
				 "UPDATE luns SET alias = ?, read_only = CAST(? AS INTEGER),"
				 " write_cache = CAST(? AS INTEGER)"
				 " WHERE target = ? AND lun = CAST(? AS INTEGER)",
				 true, 5, args);
	}
	case STORE_OP_ACL_ADD:
		args[0] = op->u.acl.target;
		args[1] = op->u.acl.initiator;
		return store_run(store, "INSERT INTO acls (target, initiator) VALUES (?, ?)",
				 false, 2, args);
	case STORE_OP_ACL_DEL:
		args[0] = op->u.acl.target;
		args[1] = op->u.acl.initiator;
		return store_run(store, "DELETE FROM acls WHERE target = ? AND initiator = ?",
				 true, 2, args);
	case STORE_OP_CHAP_SET:
		args[0] = op->u.chap.target;
		args[1] = op->u.chap.user;
		args[2] = op->u.chap.secret;
		args[3] = op->u.chap.mutual_user;
		args[4] = op->u.chap.mutual_secret;
		return store_run(store,
				 "INSERT OR REPLACE INTO chap"
				 " (target, user, secret, mutual_user, mutual_secret)"
				 " VALUES (?, ?, ?, ?, ?)",
				 false, 5, args);
	case STORE_OP_CHAP_CLEAR:
		args[0] = op->u.chap.target;
		return store_run(store, "DELETE FROM chap WHERE target = ?", true, 1, args);
	case STORE_OP_PORTAL_ADD:
	case STORE_OP_PORTAL_DEL: {
		char node[16];

		snprintf(node, sizeof(node), "%" PRIu32, op->u.portal.node);
		args[0] = node;
		args[1] = op->u.portal.address;
		return op->kind == STORE_OP_PORTAL_ADD
			       ? store_run(store,
					   "INSERT INTO portals (node, address)"
					   " VALUES (CAST(? AS INTEGER), ?)",
					   false, 2, args)
			       : store_run(store,
					   "DELETE FROM portals"
					   " WHERE node = CAST(? AS INTEGER) AND address = ?",
					   true, 2, args);
	}
	case STORE_OP_PR_SET:
		if (op->u.pr.snapshot == NULL || op->u.pr.snapshot_len > INT32_MAX) {
			return -EINVAL;
		}
		return store_pr_set(store, &op->u.pr);
	}
	return -EINVAL;
}

/* UPDATE meta: applied_seq and/or epoch (NULL: unchanged), in the open transaction. */
static int store_meta_write(struct store *store, const uint64_t *seq, const uint64_t *epoch)
{
	sqlite3_stmt *st;
	int rc, col = 1;

	rc = sqlite3_prepare_v2(store->db,
				seq != NULL && epoch != NULL
					? "UPDATE meta SET applied_seq = ?, epoch = ? WHERE id = 1"
				: seq != NULL ? "UPDATE meta SET applied_seq = ? WHERE id = 1"
					      : "UPDATE meta SET epoch = ? WHERE id = 1",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		return store_fail(store, rc);
	}
	if (seq != NULL) {
		sqlite3_bind_int64(st, col++, (sqlite3_int64)*seq);
	}
	if (epoch != NULL) {
		sqlite3_bind_int64(st, col, (sqlite3_int64)*epoch);
	}
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? 0 : store_fail(store, rc);
	sqlite3_finalize(st);
	return rc;
}

/* COMMIT when @rc is 0, else roll back; @return the outcome. */
static int store_finish(struct store *store, int rc)
{
	if (rc == 0) {
		rc = store_exec(store, "COMMIT");
	}
	if (rc < 0) {
		store_rollback(store);
		/*
		 * Whatever SQLite did (rolled back by itself, or a COMMIT that
		 * reported an error late), the mirrors follow the database, so
		 * the next commit is checked against what is really applied;
		 * store->err keeps the first error.
		 */
		if (sqlite3_get_autocommit(store->db)) {
			store_read_meta(store);
		}
	}
	return rc;
}

void store_relaxed_allow(struct store *store, bool allow)
{
	store->relaxed_allowed = allow;
}

/*
 * Durable commits (synchronous=FULL) or ordered-only ones (NORMAL in WAL
 * mode). Switched only between transactions, and only when it changes.
 */
static int store_sync_mode(struct store *store, bool normal)
{
	int rc;

	if (store->sync_normal == normal) {
		return 0;
	}
	rc = store_exec(store, normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
	if (rc == 0) {
		store->sync_normal = normal;
	}
	return rc;
}

int store_commit(struct store *store, uint64_t seq, const struct store_op *op)
{
	bool relaxed = store->relaxed_allowed && op != NULL && op->power_loss_drops;
	int rc;

	store->err[0] = '\0';
	if (seq <= store->applied_seq || seq > INT64_MAX) {
		snprintf(store->err, sizeof(store->err), "sequence %llu is not after %llu",
			 (unsigned long long)seq, (unsigned long long)store->applied_seq);
		return -EINVAL;
	}
	/* A relaxed commit may stay durable if the switch fails; a durable one may not. */
	rc = store_sync_mode(store, relaxed);
	if (rc < 0 && !relaxed) {
		return rc;
	}
	rc = store_exec(store, "BEGIN IMMEDIATE");
	if (rc == 0) {
		rc = op != NULL ? store_apply_op(store, op) : 0;
		if (rc == 0) {
			rc = store_meta_write(store, &seq, NULL);
		}
		rc = store_finish(store, rc);
	}
	if (rc == 0) {
		store->applied_seq = seq;
	}
	return rc;
}

int store_epoch_set(struct store *store, uint64_t epoch)
{
	int rc;

	store->err[0] = '\0';
	if (epoch > INT64_MAX) {
		return -EINVAL;
	}
	rc = store_sync_mode(store, false);
	if (rc == 0) {
		rc = store_exec(store, "BEGIN IMMEDIATE");
	}
	if (rc < 0) {
		return rc;
	}
	rc = store_finish(store, store_meta_write(store, NULL, &epoch));
	if (rc == 0) {
		store->epoch = epoch;
	}
	return rc;
}

int store_replace(struct store *store, uint64_t seq, uint64_t epoch, store_replace_fn next,
		  void *ctx)
{
	struct store_op *op;
	int rc;

	store->err[0] = '\0';
	if (seq > INT64_MAX || epoch > INT64_MAX) {
		return -EINVAL;
	}
	op = calloc(1, sizeof(*op));
	if (op == NULL) {
		return -ENOMEM;
	}
	rc = store_sync_mode(store, false);
	if (rc == 0) {
		rc = store_exec(store, "BEGIN IMMEDIATE");
	}
	if (rc < 0) {
		free(op);
		return rc;
	}
	/* LUNs, ACLs and PR state go with their targets (ON DELETE CASCADE). */
	rc = store_exec(store, "DELETE FROM chap");
	if (rc == 0) {
		rc = store_exec(store, "DELETE FROM targets");
	}
	if (rc == 0) {
		rc = store_exec(store, "DELETE FROM portals");
	}
	while (rc == 0) {
		memset(op, 0, sizeof(*op));
		rc = next(op, ctx);
		if (rc <= 0) {
			break;
		}
		rc = store_apply_op(store, op);
	}
	explicit_bzero(op, sizeof(*op));	/* may have held a secret */
	free(op);
	if (rc == 0) {
		rc = store_meta_write(store, &seq, &epoch);
	}
	rc = store_finish(store, rc);
	if (rc == 0) {
		store->applied_seq = seq;
		store->epoch = epoch;
	}
	return rc;
}
