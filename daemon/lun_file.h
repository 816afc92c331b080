/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A new LUN's node-local preparation, shared by the admin path (lun.create)
 * and --demo: its identity and its backing file. Both run on the proposer
 * only, before the mutation is proposed, so apply stays deterministic.
 *
 * Identity: a random version-4 UUID (RFC 4122 4.4); the unit serial number
 * is its 32 hex digits; the NAA designator is NAA 6 (IEEE Registered
 * Extended, SPC-4 7.8.6.6.5): 4 bits NAA = 6, 24 bits IEEE company id, then
 * the first 100 bits of the UUID as vendor specific identifier and
 * extension. LUN_IEEE_OUI_PLACEHOLDER is AC-DE-48, the IEEE's
 * example/private OUI, standing in until the project has a registered one.
 *
 * Backing file: a missing file is created sparse at the given size, an
 * existing one is used (extended only when asked), a block device is sized
 * with BLKGETSIZE64; then the path is opened once as the LUN will open it,
 * so its failure is the caller's. Where the file may be (data directory,
 * system trees, already in use) is the caller's policy, checked before.
 */
#ifndef QUORATE_DAEMON_LUN_FILE_H
#define QUORATE_DAEMON_LUN_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/store/store.h"

#define LUN_IEEE_OUI_PLACEHOLDER 0xACDE48u /* placeholder: IEEE example OUI */
#define LUN_UUID_STR_LEN	 36	   /* 8-4-4-4-12 hex digits */
#define LUN_FILE_MODE		 0600	   /* a backing file the daemon creates */

enum lun_file_action {
	LUN_FILE_EXISTING, /* used as it was */
	LUN_FILE_CREATED,  /* created sparse */
	LUN_FILE_GROWN,	   /* extended to the asked size */
};

struct lun_file_result {
	enum lun_file_action action;
	uint64_t old_size; /* LUN_FILE_GROWN: the size before */
	bool blkdev;	   /* the path is a block device */
};

/** Set @l's uuid (version and variant bits forced), naa and serial from @uuid. */
void lun_identity_from_uuid(struct store_lun *l, const uint8_t uuid[STORE_UUID_LEN]);
/**
 * Set @l's naa and serial from its uuid as it is (an identity given by the
 * administrator: the same UUID always gives the same NAA and serial).
 */
void lun_identity_derive(struct store_lun *l);
/** Fill @l's identity from a random UUID. @return 0 or -errno (getrandom). */
int lun_identity_generate(struct store_lun *l);
/** "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into @out (LUN_UUID_STR_LEN + 1 bytes). */
void lun_uuid_format(char *out, const uint8_t uuid[STORE_UUID_LEN]);

/* What lun create was told about O_DIRECT (--direct, --no-direct, neither). */
enum lun_direct_request {
	LUN_DIRECT_DEFAULT, /* not said: the node's default */
	LUN_DIRECT_ON,
	LUN_DIRECT_OFF,
};

/**
 * Whether a new LUN's store is opened with O_DIRECT (the record's
 * direct_io, which every node follows): what was asked, or else O_DIRECT
 * for a file or block device in cluster mode, where other nodes write the
 * same disk and this node's page cache would serve blocks they have since
 * overwritten (DESIGN §3), and not standalone. The null store has no
 * cache: not O_DIRECT unless asked.
 */
bool lun_direct_io_choose(enum config_cluster mode, const char *backing,
			  enum lun_direct_request req);

/**
 * Prepare l->path for a LUN of l->block_size bytes per block. l->size_bytes
 * 0 takes the file's or device's size (rounded down to whole blocks); else
 * it must be a multiple of the block size, and an existing regular file
 * smaller than it is extended only with @grow. Then the path is opened as
 * the LUN will (l->read_only, l->direct_io; a block device exclusively,
 * which fails while this host uses it). A file created here is removed
 * again on failure. @return 0 or -errno with a one-line reason in @err
 * (@errlen bytes); *res says what was done.
 */
int lun_file_prepare(struct store_lun *l, bool grow, struct lun_file_result *res, char *err,
		     size_t errlen);

/**
 * A LUN resize's node-local part, on the proposer before it proposes: make
 * l->path hold @size bytes. A regular file shorter than that is extended
 * sparsely (*res: LUN_FILE_GROWN with old_size), a longer one is left as
 * it is (a smaller LUN exports only its first @size bytes); a block device
 * must have at least @size bytes. Nothing is created: a missing path is an
 * error. @return 0 or -errno with a one-line reason in @err.
 */
int lun_file_resize(const struct store_lun *l, uint64_t size, struct lun_file_result *res,
		    char *err, size_t errlen);

/**
 * Can l->path be opened read-write as the LUN would open it (O_DIRECT with
 * l->direct_io)? For 'lun set --read-only off' before it is proposed.
 * @return 0 or -errno with a one-line reason in @err.
 */
int lun_file_check_writable(const struct store_lun *l, char *err, size_t errlen);

#endif
