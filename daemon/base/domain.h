/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The domain rules of a LUN, in one place: which LUN numbers, block sizes
 * and backing kinds exist. Everything that checks or offers them uses these:
 * quoratectl (through daemon/ipc/ctl_proto.h), the admin path and apply
 * (daemon/), the store's SQL schema (daemon/store/store.c writes LUN_ID_MAX
 * into its CHECK constraint; check_store asserts the two agree), the SCSI
 * layer's LUN index and the backing stores' kinds and block sizes.
 *
 * Header only, libc only: cli/ includes it through the IPC header.
 */
#ifndef QUORATE_DAEMON_BASE_DOMAIN_H
#define QUORATE_DAEMON_BASE_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * SAM-5 4.7.3: single-level LUNs in the peripheral (0..255) and flat
 * (0..16383) address methods, 14 bits. A plain decimal literal: the store
 * stringifies it into its schema.
 */
#define LUN_ID_MAX 16383

/* Logical block sizes a LUN may have (READ CAPACITY reports one of them). */
#define LUN_BLOCK_SIZE_512     512u
#define LUN_BLOCK_SIZE_4096    4096u
#define LUN_BLOCK_SIZE_DEFAULT LUN_BLOCK_SIZE_512

/* Backing kinds: a regular file or a block device, or zeroes that drop writes. */
#define LUN_BACKING_FILE     "file"
#define LUN_BACKING_NULL     "null"
#define LUN_BACKING_KIND_MAX 15 /* longest kind name the store keeps */
_Static_assert(sizeof(LUN_BACKING_FILE) - 1 <= LUN_BACKING_KIND_MAX &&
		       sizeof(LUN_BACKING_NULL) - 1 <= LUN_BACKING_KIND_MAX,
	       "a backing kind fits the store's field");

static inline bool lun_id_valid(uint64_t id)
{
	return id <= LUN_ID_MAX;
}

static inline bool lun_block_size_valid(uint64_t block_size)
{
	return block_size == LUN_BLOCK_SIZE_512 || block_size == LUN_BLOCK_SIZE_4096;
}

static inline bool lun_backing_kind_valid(const char *kind)
{
	return strcmp(kind, LUN_BACKING_FILE) == 0 || strcmp(kind, LUN_BACKING_NULL) == 0;
}

#endif
