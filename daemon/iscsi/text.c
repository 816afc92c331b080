// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iSCSI text key=value codec (RFC 7143 §6.1, §6.2): a zero-copy parser over
 * an accumulated data segment, an accumulator for segments that span PDUs
 * (C bit) and a bounded builder. The parser checks every length against
 * §6.1 (key <= 63 bytes, value <= 255 bytes or 8192 for large binary
 * values), the key alphabet, termination and duplicates, and reports the
 * first problem as a distinct code. It never writes to the buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/iscsi/text.h"

const char *iscsi_text_err_str(enum iscsi_text_err err)
{
	switch (err) {
	case ISCSI_TEXT_OK:
		return "ok";
	case ISCSI_TEXT_ERR_NO_EQUALS:
		return "pair without '='";
	case ISCSI_TEXT_ERR_KEY_EMPTY:
		return "empty key";
	case ISCSI_TEXT_ERR_KEY_TOO_LONG:
		return "key longer than 63 bytes";
	case ISCSI_TEXT_ERR_KEY_CHARS:
		return "invalid character in key";
	case ISCSI_TEXT_ERR_VALUE_TOO_LONG:
		return "value too long";
	case ISCSI_TEXT_ERR_DUPLICATE:
		return "duplicate key";
	case ISCSI_TEXT_ERR_TOO_MANY:
		return "too many keys";
	case ISCSI_TEXT_ERR_UNTERMINATED:
		return "last pair not NUL-terminated";
	case ISCSI_TEXT_ERR_TOO_BIG:
		return "text too long";
	}
	return "unknown error";
}

static bool key_eq(const char *key, size_t key_len, const char *name)
{
	return strlen(name) == key_len && memcmp(key, name, key_len) == 0;
}

uint32_t iscsi_text_value_max(const char *key, size_t key_len)
{
	/* §6.1 / §12.1.3: CHAP challenges and responses are large binary values. */
	if (key_eq(key, key_len, "CHAP_C") || key_eq(key, key_len, "CHAP_R")) {
		return ISCSI_TEXT_VALUE_LARGE_MAX;
	}
	return ISCSI_TEXT_VALUE_MAX;
}

/* §6.1 key-name: letters, digits, '.', '-', '+', '@', '_'; plus '#' for the
 * "X#" IANA-registered extension keys of §13.5.4. */
static bool key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '+' || c == '@' || c == '_' || c == '#';
}

enum iscsi_text_err iscsi_text_parse(const char *buf, size_t len, struct iscsi_text_list *list)
{
	size_t off = 0;

	list->count = 0;
	list->err_offset = 0;
	if (len > ISCSI_TEXT_ACCUM_MAX) {
		return ISCSI_TEXT_ERR_TOO_BIG;
	}
	while (off < len) {
		const char *pair = buf + off;
		const char *end = memchr(pair, '\0', len - off);
		const char *eq;
		size_t plen, klen, vlen;

		list->err_offset = (uint32_t)off;
		if (end == NULL) {
			return ISCSI_TEXT_ERR_UNTERMINATED;
		}
		plen = (size_t)(end - pair);
		off += plen + 1;
		if (plen == 0) {
			/* Stray NUL: initiators pad segments with zeros. */
			continue;
		}
		eq = memchr(pair, '=', plen);
		if (eq == NULL) {
			return ISCSI_TEXT_ERR_NO_EQUALS;
		}
		klen = (size_t)(eq - pair);
		vlen = plen - klen - 1;
		if (klen == 0) {
			return ISCSI_TEXT_ERR_KEY_EMPTY;
		}
		if (klen > ISCSI_TEXT_KEY_MAX) {
			return ISCSI_TEXT_ERR_KEY_TOO_LONG;
		}
		for (size_t i = 0; i < klen; i++) {
			if (!key_char_ok(pair[i])) {
				return ISCSI_TEXT_ERR_KEY_CHARS;
			}
		}
		if (vlen > iscsi_text_value_max(pair, klen)) {
			return ISCSI_TEXT_ERR_VALUE_TOO_LONG;
		}
		for (unsigned int i = 0; i < list->count; i++) {
			const struct iscsi_text_pair *p = &list->pairs[i];

			if (p->key_len == klen && memcmp(p->key, pair, klen) == 0) {
				return ISCSI_TEXT_ERR_DUPLICATE;
			}
		}
		if (list->count == ISCSI_TEXT_PAIRS_MAX) {
			return ISCSI_TEXT_ERR_TOO_MANY;
		}
		list->pairs[list->count++] = (struct iscsi_text_pair){
			.key = pair,
			.value = eq + 1,
			.key_len = (uint16_t)klen,
			.value_len = (uint16_t)vlen,
		};
	}
	list->err_offset = 0;
	return ISCSI_TEXT_OK;
}

bool iscsi_text_pair_is(const struct iscsi_text_pair *p, const char *key)
{
	return key_eq(p->key, p->key_len, key);
}

const char *iscsi_text_find(const struct iscsi_text_list *list, const char *key)
{
	for (unsigned int i = 0; i < list->count; i++) {
		if (iscsi_text_pair_is(&list->pairs[i], key)) {
			return list->pairs[i].value;
		}
	}
	return NULL;
}

void iscsi_text_accum_init(struct iscsi_text_accum *acc)
{
	acc->buf = NULL;
	acc->len = 0;
	acc->cap = 0;
}

void iscsi_text_accum_fini(struct iscsi_text_accum *acc)
{
	free(acc->buf);
	iscsi_text_accum_init(acc);
}

void iscsi_text_accum_reset(struct iscsi_text_accum *acc)
{
	acc->len = 0;
}

int iscsi_text_accum_append(struct iscsi_text_accum *acc, const void *data, uint32_t len)
{
	if (len > ISCSI_TEXT_ACCUM_MAX - acc->len) {
		return -EMSGSIZE;
	}
	if (acc->len + len > acc->cap) {
		uint32_t cap = acc->cap ? acc->cap : 4096u;
		char *nbuf;

		while (cap < acc->len + len) {
			cap *= 2;
		}
		if (cap > ISCSI_TEXT_ACCUM_MAX) {
			cap = ISCSI_TEXT_ACCUM_MAX;
		}
		nbuf = realloc(acc->buf, cap);
		if (nbuf == NULL) {
			return -ENOMEM;
		}
		acc->buf = nbuf;
		acc->cap = cap;
	}
	if (len > 0) {
		memcpy(acc->buf + acc->len, data, len);
		acc->len += len;
	}
	return 0;
}

void iscsi_text_builder_init(struct iscsi_text_builder *b, uint8_t *buf, uint32_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->overflow = false;
}

int iscsi_text_add(struct iscsi_text_builder *b, const char *key, const char *value)
{
	size_t klen = strlen(key);
	size_t vlen = strlen(value);
	size_t need = klen + 1 + vlen + 1;

	if (b->overflow || need > (size_t)(b->cap - b->len)) {
		b->overflow = true;
		return -ENOSPC;
	}
	memcpy(b->buf + b->len, key, klen);
	b->buf[b->len + klen] = '=';
	memcpy(b->buf + b->len + klen + 1, value, vlen);
	b->buf[b->len + klen + 1 + vlen] = '\0';
	b->len += (uint32_t)need;
	return 0;
}

int iscsi_text_add_u32(struct iscsi_text_builder *b, const char *key, uint32_t v)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", v);
	return iscsi_text_add(b, key, num);
}
