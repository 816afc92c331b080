/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bounded big-endian cursors shared by the mutation codec and the snapshot
 * codec. Writer and reader latch the first error, so the per-record code
 * reads as a plain list of fields.
 */
#include <errno.h>
#include <string.h>

#include "daemon/state/state_int.h"

void w_bytes(struct wcur *w, const void *src, size_t n)
{
	if (w->err != 0) {
		return;
	}
	if (w->cap - w->off < n) {
		w->err = -ENOSPC;
		return;
	}
	memcpy(w->p + w->off, src, n);
	w->off += n;
}

void w_uint(struct wcur *w, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++) {
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	}
	w_bytes(w, b, n);
}

void w_str(struct wcur *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		w->err = w->err != 0 ? w->err : -EINVAL;
		return;
	}
	w_uint(w, n, 2);
	w_bytes(w, s, n);
}

const uint8_t *r_bytes(struct rcur *r, size_t n)
{
	const uint8_t *p;

	if (r->err != 0) {
		return NULL;
	}
	if (r->len - r->off < n) {
		r->err = -EBADMSG;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint64_t r_uint(struct rcur *r, size_t n)
{
	const uint8_t *p = r_bytes(r, n);
	uint64_t v = 0;

	if (p == NULL) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		v = (v << 8) | p[i];
	}
	return v;
}

void r_str(struct rcur *r, char *dst, size_t max)
{
	size_t n = (size_t)r_uint(r, 2);
	const uint8_t *p;

	dst[0] = '\0';
	if (r->err != 0) {
		return;
	}
	if (n > max) {
		r->err = -EBADMSG;
		return;
	}
	p = r_bytes(r, n);
	if (p == NULL) {
		return;
	}
	if (memchr(p, '\0', n) != NULL) {
		r->err = -EBADMSG;
		return;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
}

void r_copy(struct rcur *r, void *dst, size_t n)
{
	const uint8_t *p = r_bytes(r, n);

	if (p != NULL) {
		memcpy(dst, p, n);
	}
}

void wire_lun_encode(struct wcur *w, const struct store_lun *l)
{
	uint8_t flags = (l->direct_io ? MUTATION_LUN_F_DIRECT_IO : 0) |
			(l->thin ? MUTATION_LUN_F_THIN : 0) |
			(l->read_only ? MUTATION_LUN_F_READ_ONLY : 0) |
			(l->offline ? MUTATION_LUN_F_OFFLINE : 0) |
			(l->write_cache ? MUTATION_LUN_F_WRITE_CACHE : 0) |
			(l->alias[0] != '\0' ? MUTATION_LUN_F_ALIAS : 0);

	w_uint(w, l->lun, 2);
	w_bytes(w, l->uuid, sizeof(l->uuid));
	w_bytes(w, l->naa, sizeof(l->naa));
	w_str(w, l->serial, STORE_SERIAL_MAX);
	w_str(w, l->backing, STORE_BACKING_MAX);
	w_str(w, l->path, STORE_PATH_MAX);
	w_uint(w, l->size_bytes, 8);
	w_uint(w, l->block_size, 4);
	w_uint(w, flags, 1);
	if (flags & MUTATION_LUN_F_ALIAS) {
		w_str(w, l->alias, STORE_ALIAS_MAX);
	}
}

void wire_lun_decode(struct rcur *r, struct store_lun *l)
{
	unsigned int flags;

	l->lun = (uint16_t)r_uint(r, 2);
	r_copy(r, l->uuid, sizeof(l->uuid));
	r_copy(r, l->naa, sizeof(l->naa));
	r_str(r, l->serial, STORE_SERIAL_MAX);
	r_str(r, l->backing, STORE_BACKING_MAX);
	r_str(r, l->path, STORE_PATH_MAX);
	l->size_bytes = r_uint(r, 8);
	l->block_size = (uint32_t)r_uint(r, 4);
	flags = (unsigned int)r_uint(r, 1);
	if (r->err == 0 && (flags & ~MUTATION_LUN_F_ALL) != 0) {
		r->err = -EBADMSG;
	}
	l->direct_io = (flags & MUTATION_LUN_F_DIRECT_IO) != 0;
	l->thin = (flags & MUTATION_LUN_F_THIN) != 0;
	l->read_only = (flags & MUTATION_LUN_F_READ_ONLY) != 0;
	l->offline = (flags & MUTATION_LUN_F_OFFLINE) != 0;
	l->write_cache = (flags & MUTATION_LUN_F_WRITE_CACHE) != 0;
	l->alias[0] = '\0';
	if (flags & MUTATION_LUN_F_ALIAS) {
		r_str(r, l->alias, STORE_ALIAS_MAX);
		/* Present means not empty: one state, one encoding. */
		if (r->err == 0 && l->alias[0] == '\0') {
			r->err = -EBADMSG;
		}
	}
}

void wire_chap_encode(struct wcur *w, const struct store_chap *c)
{
	w_str(w, c->target, STORE_NAME_MAX);
	w_str(w, c->user, STORE_CHAP_MAX);
	w_str(w, c->secret, STORE_CHAP_MAX);
	w_str(w, c->mutual_user, STORE_CHAP_MAX);
	w_str(w, c->mutual_secret, STORE_CHAP_MAX);
}

void wire_chap_decode(struct rcur *r, struct store_chap *c)
{
	r_str(r, c->target, STORE_NAME_MAX);
	r_str(r, c->user, STORE_CHAP_MAX);
	r_str(r, c->secret, STORE_CHAP_MAX);
	r_str(r, c->mutual_user, STORE_CHAP_MAX);
	r_str(r, c->mutual_secret, STORE_CHAP_MAX);
}
