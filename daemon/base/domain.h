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

/*
 * A LUN's identity as an administrator gives it (lun create --uuid, --naa,
 * --serial), to keep a LUN's identity when it moves or is rebuilt:
 * - UUID: 32 hex digits, optionally in the 8-4-4-4-12 form, any case;
 * - NAA: 32 hex digits, optionally after "naa.", of an NAA-6 (IEEE
 *   Registered Extended, SPC-4 7.8.6.6.5) designator: the first digit is 6;
 * - unit serial number (VPD 80h, SPC-4 7.8.15): 1 to LUN_SERIAL_MAX
 *   printable ASCII characters without spaces.
 */
#define LUN_ID_BYTES			 16
#define LUN_SERIAL_MAX			 32
#define LUN_NAA_IEEE_REGISTERED_EXTENDED 0x6

static inline int lun_hex_digit(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* 32 hex digits into 16 bytes, skipping '-' at the UUID's places when @dashes. */
static inline bool lun_hex16_parse(const char *s, bool dashes, uint8_t out[LUN_ID_BYTES])
{
	size_t len = strlen(s), j = 0;

	if (len != 2 * LUN_ID_BYTES && !(dashes && len == 2 * LUN_ID_BYTES + 4)) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		int d;

		if (len > 2 * LUN_ID_BYTES && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-') {
				return false;
			}
			continue;
		}
		d = lun_hex_digit(s[i]);
		if (d < 0) {
			return false;
		}
		if (j % 2 == 0) {
			out[j / 2] = (uint8_t)(d << 4);
		} else {
			out[j / 2] |= (uint8_t)d;
		}
		j++;
	}
	return true;
}

static inline bool lun_uuid_parse(const char *s, uint8_t out[LUN_ID_BYTES])
{
	return lun_hex16_parse(s, true, out);
}

static inline bool lun_naa_parse(const char *s, uint8_t out[LUN_ID_BYTES])
{
	if (strncmp(s, "naa.", 4) == 0) {
		s += 4;
	}
	return lun_hex16_parse(s, false, out) && out[0] >> 4 == LUN_NAA_IEEE_REGISTERED_EXTENDED;
}

static inline bool lun_serial_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > LUN_SERIAL_MAX) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= ' ' || s[i] > '~') {
			return false;
		}
	}
	return true;
}

#endif
