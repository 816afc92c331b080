/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iSCSI text key=value codec (RFC 7143 §6.1, §6.2). Pure: no I/O, no logging.
 *
 * A Login or Text data segment is a sequence of "key=value" pairs, each
 * followed by one NUL byte. A data segment may span several PDUs (C bit,
 * §11.10.1 / §11.12.1): the caller appends each PDU's data to a
 * struct iscsi_text_accum and parses once the final (C=0) PDU arrived, so
 * a pair split across PDUs is parsed whole.
 *
 * Parsing never copies: a struct iscsi_text_pair points into the parsed
 * buffer (key is NOT NUL-terminated, use key_len; value IS NUL-terminated,
 * because every pair ends with NUL). The buffer must outlive the list.
 *
 * Limits (§6.1): a key name is at most 63 bytes; a value is at most 255
 * bytes except for the binary/large values (CHAP_C, CHAP_R, CHAP_I... may
 * carry up to 8192 bytes of encoded data, see iscsi_text_value_max()).
 */
#ifndef QUORATE_DAEMON_ISCSI_TEXT_H
#define QUORATE_DAEMON_ISCSI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_TEXT_KEY_MAX 63		/* §6.1: key names up to 63 bytes */
#define ISCSI_TEXT_VALUE_MAX 255	/* §6.1: default maximum value length */
#define ISCSI_TEXT_VALUE_LARGE_MAX 8192	/* §6.1: large binary values (CHAP_C/R) */
#define ISCSI_TEXT_PAIRS_MAX 64		/* more pairs in one exchange is abuse */
/* Most accumulated text we accept for one Login/Text exchange (all PDUs of a
 * C-bit sequence together). Generous: a full §13 offer is < 2 KiB. */
#define ISCSI_TEXT_ACCUM_MAX 65536u

/* Parse outcomes; every value is distinct so the caller can log it. */
enum iscsi_text_err {
	ISCSI_TEXT_OK = 0,
	ISCSI_TEXT_ERR_NO_EQUALS,	/* a pair without '=' */
	ISCSI_TEXT_ERR_KEY_EMPTY,	/* "=value" */
	ISCSI_TEXT_ERR_KEY_TOO_LONG,	/* key > 63 bytes */
	ISCSI_TEXT_ERR_KEY_CHARS,	/* key with bytes outside §6.1's key alphabet */
	ISCSI_TEXT_ERR_VALUE_TOO_LONG,	/* value longer than its limit */
	ISCSI_TEXT_ERR_DUPLICATE,	/* same key twice in one exchange */
	ISCSI_TEXT_ERR_TOO_MANY,	/* more than ISCSI_TEXT_PAIRS_MAX pairs */
	ISCSI_TEXT_ERR_UNTERMINATED,	/* last pair not followed by NUL */
	ISCSI_TEXT_ERR_TOO_BIG,		/* accumulated text beyond ISCSI_TEXT_ACCUM_MAX */
};

struct iscsi_text_pair {
	const char *key;	/* into the buffer; key_len bytes, no NUL */
	const char *value;	/* into the buffer; NUL-terminated */
	uint16_t key_len;
	uint16_t value_len;
};

struct iscsi_text_list {
	struct iscsi_text_pair pairs[ISCSI_TEXT_PAIRS_MAX];
	unsigned int count;
	/* On error: byte offset of the offending pair in the buffer. */
	uint32_t err_offset;
};

/** Human-readable name of a parse error (static string, for logs). */
const char *iscsi_text_err_str(enum iscsi_text_err err);

/** Longest value allowed for @key (§6.1: 255, or 8192 for CHAP_C etc.). */
uint32_t iscsi_text_value_max(const char *key, size_t key_len);

/**
 * Parse @len bytes of NUL-separated key=value pairs. Empty input (len 0) is
 * a valid empty list. Trailing NUL padding after the last pair is ignored
 * (some initiators pad). Duplicate keys are reported as ISCSI_TEXT_ERR_DUPLICATE
 * (§6.2: a key may be offered only once per negotiation).
 * @return ISCSI_TEXT_OK or the first error found (list->err_offset set).
 */
enum iscsi_text_err iscsi_text_parse(const char *buf, size_t len, struct iscsi_text_list *list);

/** The value of @key in @list, or NULL. */
const char *iscsi_text_find(const struct iscsi_text_list *list, const char *key);
/** True if pair @p has key @key. */
bool iscsi_text_pair_is(const struct iscsi_text_pair *p, const char *key);

/*
 * Accumulator for a text data segment that spans several PDUs. Heap buffer,
 * grows up to ISCSI_TEXT_ACCUM_MAX; used during login/text exchanges only
 * (never on the SCSI data path).
 */
struct iscsi_text_accum {
	char *buf;
	uint32_t len;
	uint32_t cap;
};

void iscsi_text_accum_init(struct iscsi_text_accum *acc);
void iscsi_text_accum_fini(struct iscsi_text_accum *acc);
/** Drop the contents, keep the buffer. */
void iscsi_text_accum_reset(struct iscsi_text_accum *acc);
/** Append one PDU's data. @return 0, -EMSGSIZE past the limit, -ENOMEM. */
int iscsi_text_accum_append(struct iscsi_text_accum *acc, const void *data, uint32_t len);

/*
 * Builder: appends "key=value\0" into a bounded caller buffer. Once a pair
 * does not fit, the builder is marked overflowed, keeps what it had and
 * every later add fails too, so the caller can check once at the end.
 */
struct iscsi_text_builder {
	uint8_t *buf;
	uint32_t cap;
	uint32_t len;
	bool overflow;
};

void iscsi_text_builder_init(struct iscsi_text_builder *b, uint8_t *buf, uint32_t cap);
/** Append key=value. @return 0 or -ENOSPC. */
int iscsi_text_add(struct iscsi_text_builder *b, const char *key, const char *value);
/** Append key=<decimal @v>. @return 0 or -ENOSPC. */
int iscsi_text_add_u32(struct iscsi_text_builder *b, const char *key, uint32_t v);

#endif
