/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node's state database (DESIGN §4): one SQLite file DIR/quorate.db in
 * WAL mode with synchronous=FULL, mode 0600 because it holds CHAP secrets.
 * The schema evolves through numbered migrations recorded in
 * schema_migrations; store_open() applies the missing ones in order, each in
 * its own transaction.
 *
 * The store is written in exactly one way: store_commit() applies one
 * replicated mutation (a struct store_op, or none for a mutation that apply()
 * rejected) together with its sequence number in a single transaction, so
 * meta.applied_seq always names the last mutation whose effect is on disk.
 *
 * Records are plain fixed-size structs so a decoded mutation can carry them
 * without allocation; strings are NUL-terminated within their arrays.
 */
#ifndef QUORATE_DAEMON_STORE_STORE_H
#define QUORATE_DAEMON_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/domain.h"

#define STORE_DB_FILE "quorate.db"
#define STORE_SCHEMA_VERSION 4		/* highest migration this build knows */

#define STORE_NAME_MAX 223		/* RFC 7143 4.2.7.1: iSCSI names are at most 223 bytes */
#define STORE_ALIAS_MAX 255		/* RFC 7143 13.6: TargetAlias is a text value */
#define STORE_PATH_MAX 4095
#define STORE_BACKING_MAX LUN_BACKING_KIND_MAX
#define STORE_SERIAL_MAX LUN_SERIAL_MAX	/* fits scsi_lu_config.serial[33] */
#define STORE_CHAP_MAX 255		/* CHAP_N / secret length we accept */
#define STORE_UUID_LEN LUN_ID_BYTES
#define STORE_NAA_LEN LUN_ID_BYTES	/* NAA-6 IEEE registered extended: 16 bytes */
#define STORE_PORTAL_MAX 63		/* "[v6addr]:port", as [iscsi] listen takes it */

struct store_target {
	char name[STORE_NAME_MAX + 1];
	char alias[STORE_ALIAS_MAX + 1];	/* "" for none */
};

struct store_lun {
	char target[STORE_NAME_MAX + 1];
	uint16_t lun;
	uint8_t uuid[STORE_UUID_LEN];
	uint8_t naa[STORE_NAA_LEN];
	char serial[STORE_SERIAL_MAX + 1];
	char backing[STORE_BACKING_MAX + 1];
	char path[STORE_PATH_MAX + 1];		/* "" for null */
	uint64_t size_bytes;
	uint32_t block_size;
	bool direct_io;
	bool thin;
	bool read_only;
	bool offline;				/* taken offline by the administrator (migration 3) */
	bool write_cache;			/* WCE of the caching mode page (migration 4) */
	char alias[STORE_ALIAS_MAX + 1];	/* the administrator's name for it, "" for none */
};

struct store_acl {
	char target[STORE_NAME_MAX + 1];
	char initiator[STORE_NAME_MAX + 1];
};

/* CHAP of a target, or of discovery sessions when target is "". */
struct store_chap {
	char target[STORE_NAME_MAX + 1];
	char user[STORE_CHAP_MAX + 1];
	char secret[STORE_CHAP_MAX + 1];
	char mutual_user[STORE_CHAP_MAX + 1];	/* "" when not mutual */
	char mutual_secret[STORE_CHAP_MAX + 1];
};

/*
 * The persistent-reservation state of one LU (migration 2): the engine's
 * versioned snapshot (pr_state_encode) and its APTPL flag, kept apart so
 * start-up can tell what survives a power loss without decoding.
 */
struct store_pr {
	char target[STORE_NAME_MAX + 1];
	uint16_t lun;
	bool aptpl;
	const uint8_t *snapshot;	/* borrowed: valid during the call that carries it */
	size_t snapshot_len;
};

/*
 * A portal added at run time ('portal add') for node @node: that node
 * listens on it besides its configuration file's, and SendTargets on every
 * node lists it with TPGT = @node. The address is in numeric canonical form.
 */
struct store_portal {
	uint32_t node;
	char address[STORE_PORTAL_MAX + 1];
};

enum store_op_kind {
	STORE_OP_NONE = 0,		/* only bump applied_seq (rejected mutation) */
	STORE_OP_TARGET_ADD,		/* u.target */
	STORE_OP_TARGET_DEL,		/* u.target.name; drops its LUNs, ACLs, CHAP */
	STORE_OP_LUN_ADD,		/* u.lun */
	STORE_OP_LUN_DEL,		/* u.lun.target, u.lun.lun */
	STORE_OP_ACL_ADD,		/* u.acl */
	STORE_OP_ACL_DEL,		/* u.acl */
	STORE_OP_CHAP_SET,		/* u.chap (replaces) */
	STORE_OP_CHAP_CLEAR,		/* u.chap.target */
	STORE_OP_PR_SET,		/* u.pr: replace the LU's PR state (its LUN must exist) */
	STORE_OP_LUN_OFFLINE,		/* u.lun.target, lun, offline: set the flag */
	STORE_OP_LUN_RESIZE,		/* u.lun.target, lun, size_bytes: set the size */
	STORE_OP_LUN_SET,		/* u.lun.target, lun, alias, read_only, write_cache: set them */
	STORE_OP_TARGET_SET,		/* u.target: set the alias */
	STORE_OP_PORTAL_ADD,		/* u.portal */
	STORE_OP_PORTAL_DEL,		/* u.portal */
};

struct store_op {
	enum store_op_kind kind;
	/*
	 * A power loss drops this state anyway (PR state without APTPL before
	 * and after, SPC-4 5.13.4): with store_relaxed_allow(), the commit does
	 * not wait for the disk. The WAL stays a prefix of the history: the
	 * next durable commit makes it durable too.
	 */
	bool power_loss_drops;
	union {
		struct store_target target;
		struct store_lun lun;
		struct store_acl acl;
		struct store_chap chap;
		struct store_pr pr;
		struct store_portal portal;
	} u;
};

struct store;

/**
 * Open (creating, migrating) DIR/quorate.db. @return 0 or -errno; SQLite
 * errors map to the nearest errno (SQLITE_FULL -ENOSPC, SQLITE_BUSY -EBUSY,
 * SQLITE_READONLY -EROFS, SQLITE_CORRUPT -EUCLEAN, ... else -EIO).
 */
int store_open(const char *dir, struct store **out);
/** Close; NULL is a no-op. */
void store_close(struct store *store);

/**
 * Commit ops marked power_loss_drops without waiting for the disk. Only when
 * other members hold the state (cluster mode): a node that loses such a
 * commit restarts behind and takes the cluster's state.
 */
void store_relaxed_allow(struct store *store, bool allow);

/** Highest migration applied. */
int store_schema_version(struct store *store);
uint64_t store_applied_seq(const struct store *store);
uint64_t store_epoch(const struct store *store);

/** Callbacks for store_load(); each returns 0 to go on or -errno to stop. Any may be NULL. */
struct store_load_ops {
	int (*target)(const struct store_target *t, void *ctx);
	int (*lun)(const struct store_lun *l, void *ctx);
	int (*acl)(const struct store_acl *a, void *ctx);
	int (*chap)(const struct store_chap *c, void *ctx);
	int (*pr)(const struct store_pr *p, void *ctx);	/* after every LUN */
	int (*portal)(const struct store_portal *p, void *ctx);
};

/**
 * Replay every record: all targets first, then LUNs, ACLs, CHAP, PR state
 * and portals (by node, then address). @return 0 or -errno.
 */
int store_load(struct store *store, const struct store_load_ops *ops, void *ctx);

/**
 * Commit one applied mutation: @op (NULL or STORE_OP_NONE for none) and
 * meta.applied_seq = @seq in one transaction. @seq must be greater than the
 * current applied sequence. @return 0, -EINVAL (bad seq), -EEXIST/-ENOENT
 * (constraint), -ENOSPC (database or disk full), or another -errno as for
 * store_open(). On failure nothing of @op is applied, store_errmsg() gives
 * the first SQLite error, and store_applied_seq() is re-read from the
 * database, so it always equals what the database has applied.
 */
int store_commit(struct store *store, uint64_t seq, const struct store_op *op);

/** Persist meta.epoch = @epoch. @return 0 or -errno as for store_commit(). */
int store_epoch_set(struct store *store, uint64_t epoch);

/*
 * Next record for store_replace(): fill *@op (TARGET_ADD, LUN_ADD, ACL_ADD,
 * CHAP_SET, PR_SET or PORTAL_ADD; parents before children) and return 1, or return 0 at
 * the end, or -errno to abort.
 */
typedef int (*store_replace_fn)(struct store_op *op, void *ctx);

/**
 * Replace every record with those @next yields and set meta.applied_seq =
 * @seq and meta.epoch = @epoch, in one transaction (snapshot install: @seq
 * may be lower than the current applied sequence). On failure nothing
 * changes. @return 0 or -errno as for store_commit().
 */
int store_replace(struct store *store, uint64_t seq, uint64_t epoch, store_replace_fn next,
		  void *ctx);

/**
 * The first SQLite error of the last failed store_commit() or store_load()
 * (not the clean-up's), else SQLite's last message; for logs (never contains
 * secrets).
 */
const char *store_errmsg(struct store *store);

#endif
