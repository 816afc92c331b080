/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mutations: the only way shared state changes (DESIGN §1). The proposer
 * encodes one into bytes for cluster_propose(); every node decodes the
 * delivered bytes and applies them in agreed order (state.h).
 *
 * The vocabulary is enum mutation_kind, not the store's: some kinds store a
 * record (the store operations are one subset, with the same numbers), some
 * store only derived state (RESERVATION: the LU's new PR state), some store
 * nothing and exist for their effect on every node (LU_RESET). Kinds that
 * later issues add (portal announcements, lease heartbeats) take the next
 * numbers. Each kind has one row in the table of kinds.c.
 *
 * Wire format, version 1, all integers big-endian:
 *   u8  version (MUTATION_VERSION)
 *   u8  kind (enum mutation_kind)
 *   u16 reserved, zero
 *   u64 request id: the proposer's cookie to find the request to complete;
 *       meaningful only on the origin node, ignored by apply
 *   kind-specific fields, in the order of the record:
 *     string = u16 length + bytes (no NUL inside, length <= the field's max)
 *     TARGET_ADD  name, alias          TARGET_DEL  name
 *     LUN_ADD     target, u16 lun, uuid[16], naa[16], serial, backing, path,
 *                 u64 size, u32 block size, u8 flags (MUTATION_LUN_F_*),
 *                 then the alias when flags has MUTATION_LUN_F_ALIAS (so an
 *                 encoding without an alias is what it was before aliases;
 *                 one from before the write cache bit decodes with it off)
 *     LUN_DEL     target, u16 lun
 *     ACL_ADD/DEL target, initiator
 *     CHAP_SET    target, user, secret, mutual user, mutual secret
 *     CHAP_CLEAR  target
 *     RESERVATION target, u16 lun, u32 length + that many bytes of an encoded
 *                 struct pr_op (reservations/pr.h, pr_op_encode): the PR
 *                 operation, not its result; every node applies it to its
 *                 copy of the LU's PR state and stores the new state
 *     LU_RESET    target, u16 lun, u32 length + an encoded pr_op (the
 *                 SPC-2 reset of the LU's reservation state): stores that
 *                 change, and every node resets the LU (aborts its tasks,
 *                 raises 29/03) on its own nexuses
 *     PR_CLEAR    target, u16 lun: an administrator breaks the LU's
 *                 reservations (pr_admin_clear: every registration, the
 *                 reservation and the SPC-2 one go, PRgeneration moves on,
 *                 RESERVATIONS PREEMPTED for every registrant's nexuses)
 *     LUN_OFFLINE target, u16 lun, u8 offline (0 or 1): the administrator's
 *                 'lun offline' / 'lun online'; stores the LUN's flag, and
 *                 every node takes the LU offline or (re-)opens it
 *     LUN_RESIZE  target, u16 lun, u64 size in bytes: the administrator's
 *                 'lun resize' (the proposer grew the backing file first);
 *                 stores the size, and every node exports the new capacity
 *                 and raises CAPACITY DATA HAS CHANGED on the LU's nexuses
 *     LUN_SET     target, u16 lun, u8 fields (MUTATION_SET_*: which of the
 *                 following change), u8 values (MUTATION_SET_READ_ONLY,
 *                 MUTATION_SET_WRITE_CACHE bits; none outside fields), alias
 *                 ("" unless fields has MUTATION_SET_ALIAS): the
 *                 administrator's 'lun set'; only the named fields change,
 *                 so two sets of different fields from two nodes both hold
 *     TARGET_SET  name, alias: the administrator's 'target set --alias';
 *                 stores the alias, which logins declare as TargetAlias
 *     PORTAL      u32 node id, address ("A.B.C.D:PORT" or "[V6]:PORT",
 *                 numeric and canonical), u8 add (1: 'portal add', 0:
 *                 'portal remove'): a portal node N listens on besides its
 *                 configuration file's; node N opens or closes it, every
 *                 node's SendTargets follows N's announcement
 * Decoding rejects an unknown version or kind, a short buffer, an overlong
 * or NUL-containing string, unknown flag bits and trailing bytes: a peer's
 * bug must not become state.
 *
 * Pure code: no allocation, no logging, no clock.
 */
#ifndef QUORATE_DAEMON_STATE_MUTATION_H
#define QUORATE_DAEMON_STATE_MUTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

#define MUTATION_VERSION 1
#define MUTATION_HEADER_LEN 12		/* version, kind, reserved, request id */
#define MUTATION_MAX_LEN 8192		/* bound of any encoding but those with a PR op */
#define MUTATION_PR_OP_MAX (192 * 1024)	/* PR op bytes: below CLUSTER_MSG_MAX with the header */
#define MUTATION_PR_HEADER_MAX (MUTATION_HEADER_LEN + 2 + STORE_NAME_MAX + 2 + 4)

#define MUTATION_LUN_F_DIRECT_IO 0x01
#define MUTATION_LUN_F_THIN 0x02
#define MUTATION_LUN_F_READ_ONLY 0x04
#define MUTATION_LUN_F_OFFLINE 0x08	/* store_lun.offline */
#define MUTATION_LUN_F_WRITE_CACHE 0x10	/* store_lun.write_cache */
#define MUTATION_LUN_F_ALIAS 0x20	/* an alias string follows the flags */
#define MUTATION_LUN_F_ALL (MUTATION_LUN_F_DIRECT_IO | MUTATION_LUN_F_THIN | MUTATION_LUN_F_READ_ONLY | \
			    MUTATION_LUN_F_OFFLINE | MUTATION_LUN_F_WRITE_CACHE | MUTATION_LUN_F_ALIAS)

/* LUN_SET: the fields it changes (struct mutation.set_fields), and their values. */
#define MUTATION_SET_ALIAS 0x01
#define MUTATION_SET_READ_ONLY 0x02
#define MUTATION_SET_WRITE_CACHE 0x04
#define MUTATION_SET_ALL (MUTATION_SET_ALIAS | MUTATION_SET_READ_ONLY | MUTATION_SET_WRITE_CACHE)

enum mutation_kind {
	MUTATION_NONE = 0,				/* never on the wire */
	MUTATION_TARGET_ADD = STORE_OP_TARGET_ADD,	/* u.target */
	MUTATION_TARGET_DEL = STORE_OP_TARGET_DEL,	/* u.target.name */
	MUTATION_LUN_ADD = STORE_OP_LUN_ADD,		/* u.lun */
	MUTATION_LUN_DEL = STORE_OP_LUN_DEL,		/* u.lun.target, u.lun.lun */
	MUTATION_ACL_ADD = STORE_OP_ACL_ADD,		/* u.acl */
	MUTATION_ACL_DEL = STORE_OP_ACL_DEL,		/* u.acl */
	MUTATION_CHAP_SET = STORE_OP_CHAP_SET,		/* u.chap */
	MUTATION_CHAP_CLEAR = STORE_OP_CHAP_CLEAR,	/* u.chap.target */
	MUTATION_RESERVATION = STORE_OP_PR_SET,		/* u.lu + pr_op */
	MUTATION_LU_RESET = 10,				/* u.lu + pr_op (SPC-2 reset) */
	MUTATION_PR_CLEAR = 11,				/* u.lu */
	MUTATION_LUN_OFFLINE = 12,			/* u.lun.target, lun, offline */
	MUTATION_LUN_RESIZE = 13,			/* u.lun.target, lun, size_bytes */
	MUTATION_LUN_SET = 14,				/* u.lun (target, lun, the fields), set_fields */
	MUTATION_TARGET_SET = 15,			/* u.target */
	MUTATION_PORTAL = 16,				/* u.portal */
	MUTATION_KIND_COUNT,
};

/* The LU a reservation or reset mutation addresses. */
struct mutation_lu {
	char target[STORE_NAME_MAX + 1];
	uint16_t lun;
};

/* A run-time portal added to or removed from a node. */
struct mutation_portal {
	struct store_portal rec;
	bool add;
};

struct mutation {
	enum mutation_kind kind;
	uint64_t request_id;
	union {
		struct store_target target;
		struct store_lun lun;
		struct store_acl acl;
		struct store_chap chap;
		struct mutation_lu lu;
		struct mutation_portal portal;
	} u;
	uint8_t set_fields;		/* LUN_SET: MUTATION_SET_* of u.lun to change */
	const uint8_t *pr_op;		/* RESERVATION, LU_RESET: encoded pr_op (borrowed) */
	size_t pr_op_len;
};

/** Encode into @buf (@cap bytes); *len gets the size. @return 0, -EINVAL, -ENOSPC. */
int mutation_encode(const struct mutation *m, uint8_t *buf, size_t cap, size_t *len);
/** Decode @len bytes into *m. @return 0, -EPROTO (unknown version), -EBADMSG (malformed). */
int mutation_decode(const uint8_t *buf, size_t len, struct mutation *m);
/** Bytes mutation_encode() needs for @m at most. */
size_t mutation_encoded_max(const struct mutation *m);
/** "target-create", "lun-delete", ... for logs ("unknown" for anything else). */
const char *mutation_kind_name(enum mutation_kind kind);

#endif
