/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers shared by the files of the reservation engine: big-endian field
 * access, name matching, result setters and effect lists. Not for use
 * outside reservations/.
 */
#ifndef QUORATE_RESERVATIONS_PR_INT_H
#define QUORATE_RESERVATIONS_PR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reservations/pr.h"

/* SPC-4 7.6.4.6: iSCSI initiator port name separator between name and ISID. */
#define PR_ISID_SEP	",i,0x"
#define PR_ISID_SEP_LEN 5

static inline uint16_t pr_get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t pr_get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t pr_get_be64(const uint8_t *p)
{
	return ((uint64_t)pr_get_be32(p) << 32) | pr_get_be32(p + 4);
}

static inline void pr_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pr_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void pr_put_be64(uint8_t *p, uint64_t v)
{
	pr_put_be32(p, (uint32_t)(v >> 32));
	pr_put_be32(p + 4, (uint32_t)v);
}

/* Length of the iSCSI name part of an initiator port name (before ",i,0x"). */
size_t pr_name_part_len(const char *initiator);
/* Is @initiator a bare iSCSI name (format-00b registration)? */
bool pr_name_is_bare(const char *initiator);
/* FNV-1a of the case-folded name part: the quick filter before strcasecmp. */
uint64_t pr_name_hash(const char *initiator);
/* Exact I_T nexus equality (initiator port and relative target port). */
bool pr_nexus_eq(const struct pr_nexus *a, const struct pr_nexus *b);
/* Do two registration scopes share an I_T nexus? */
bool pr_target_overlap(const struct pr_target *a, const struct pr_target *b);
/* Index of the registration covering @nexus, or -1. */
long pr_state_find_idx(const struct pr_state *state, const struct pr_nexus *nexus);
/* Is @s a well-formed name for a nexus field (non-empty, printable, terminated)? */
bool pr_name_valid(const char *s, size_t max);

/* Result setters. */
void pr_res_good(struct pr_result *res);
void pr_res_conflict(struct pr_result *res);
void pr_res_sense(struct pr_result *res, uint16_t asc);
/* ILLEGAL REQUEST with a field pointer (SPC-4 4.5.2.4.2). bit < 0: no bit pointer. */
void pr_res_field(struct pr_result *res, uint16_t asc, bool in_cdb, uint16_t byte, int bit);
int pr_res_add_ua(struct pr_result *res, const struct pr_target *who, enum pr_ua ua);
int pr_res_add_abort(struct pr_result *res, const struct pr_target *who);

/* 64-bit FNV-1a (offset basis and prime from the FNV reference). */
#define PR_FNV64_OFFSET 0xcbf29ce484222325ull
#define PR_FNV64_PRIME	0x100000001b3ull

#endif
