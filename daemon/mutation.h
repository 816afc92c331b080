/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mutations: the only way shared state changes (DESIGN §1). The proposer
 * encodes one into bytes for cluster_propose(); every node decodes the
 * delivered bytes and apply()s them in agreed order.
 *
 * Wire format, version 1, all integers big-endian:
 *   u8  version (MUTATION_VERSION)
 *   u8  kind (enum store_op_kind, never STORE_OP_NONE)
 *   u16 reserved, zero
 *   u64 request id: the proposer's cookie to find the admin request to
 *       complete; meaningful only on the origin node, ignored by apply
 *   kind-specific fields, in the order of the store record:
 *     string = u16 length + bytes (no NUL inside, length <= the field's max)
 *     TARGET_ADD  name, alias          TARGET_DEL  name
 *     LUN_ADD     target, u16 lun, uuid[16], naa[16], serial, backing, path,
 *                 u64 size, u32 block size, u8 flags (MUTATION_LUN_F_*)
 *     LUN_DEL     target, u16 lun
 *     ACL_ADD/DEL target, initiator
 *     CHAP_SET    target, user, secret, mutual user, mutual secret
 *     CHAP_CLEAR  target
 *     PR_SET      target, u16 lun, u32 length + that many bytes of an encoded
 *                 struct pr_op (reservations/pr.h, pr_op_encode): the PR
 *                 operation, not its result; every node applies it to its
 *                 copy of the LU's PR state and stores the new snapshot
 * Decoding rejects an unknown version or kind, a short buffer, an overlong
 * or NUL-containing string, unknown flag bits and trailing bytes: a peer's
 * bug must not become state.
 *
 * Pure code: no allocation, no logging, no clock.
 */
#ifndef QUORATE_DAEMON_MUTATION_H
#define QUORATE_DAEMON_MUTATION_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

#define MUTATION_VERSION 1
#define MUTATION_MAX_LEN 8192		/* bound of any encoding but PR_SET (LUN_ADD, 4095-byte path) */
#define MUTATION_PR_OP_MAX (192 * 1024)	/* PR_SET op bytes: below CLUSTER_MSG_MAX with the header */
#define MUTATION_PR_HEADER_MAX (12 + 2 + STORE_NAME_MAX + 2 + 4)	/* PR_SET without its op */

#define MUTATION_LUN_F_DIRECT_IO 0x01
#define MUTATION_LUN_F_THIN 0x02
#define MUTATION_LUN_F_READ_ONLY 0x04
#define MUTATION_LUN_F_ALL (MUTATION_LUN_F_DIRECT_IO | MUTATION_LUN_F_THIN | MUTATION_LUN_F_READ_ONLY)

struct mutation {
	uint64_t request_id;
	struct store_op op;		/* PR_SET: u.pr.target and u.pr.lun only */
	const uint8_t *pr_op;		/* PR_SET: the encoded pr_op (borrowed: the buffer) */
	size_t pr_op_len;
};

/** Encode into @buf (@cap bytes); *len gets the size. @return 0, -EINVAL, -ENOSPC. */
int mutation_encode(const struct mutation *m, uint8_t *buf, size_t cap, size_t *len);
/** Decode @len bytes into *m. @return 0, -EPROTO (unknown version), -EBADMSG (malformed). */
int mutation_decode(const uint8_t *buf, size_t len, struct mutation *m);
/** "target-create", "lun-delete", ... for logs. */
const char *mutation_kind_name(enum store_op_kind kind);

#endif
