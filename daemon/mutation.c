/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encoding and decoding of mutations (format in mutation.h). Writer and
 * reader are cursors over a bounded buffer that latch the first error, so
 * the per-kind code reads as a plain list of fields.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "daemon/mutation.h"

#define MUTATION_HEADER_LEN 12		/* version, kind, reserved, request id */

struct wcur {
	uint8_t *p;
	size_t cap;
	size_t off;
	int err;
};

struct rcur {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

static void w_bytes(struct wcur *w, const void *src, size_t n)
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

static void w_uint(struct wcur *w, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++) {
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	}
	w_bytes(w, b, n);
}

static void w_str(struct wcur *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max) {
		w->err = w->err != 0 ? w->err : -EINVAL;
		return;
	}
	w_uint(w, n, 2);
	w_bytes(w, s, n);
}

static const uint8_t *r_bytes(struct rcur *r, size_t n)
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

static uint64_t r_uint(struct rcur *r, size_t n)
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

/* Read a string into @dst (capacity max + 1, NUL-terminated). */
static void r_str(struct rcur *r, char *dst, size_t max)
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

static void r_copy(struct rcur *r, void *dst, size_t n)
{
	const uint8_t *p = r_bytes(r, n);

	if (p != NULL) {
		memcpy(dst, p, n);
	}
}

const char *mutation_kind_name(enum store_op_kind kind)
{
	switch (kind) {
	case STORE_OP_NONE:
		return "none";
	case STORE_OP_TARGET_ADD:
		return "target-create";
	case STORE_OP_TARGET_DEL:
		return "target-delete";
	case STORE_OP_LUN_ADD:
		return "lun-create";
	case STORE_OP_LUN_DEL:
		return "lun-delete";
	case STORE_OP_ACL_ADD:
		return "acl-add";
	case STORE_OP_ACL_DEL:
		return "acl-remove";
	case STORE_OP_CHAP_SET:
		return "chap-set";
	case STORE_OP_CHAP_CLEAR:
		return "chap-clear";
	case STORE_OP_PR_SET:
		return "reservation";
	}
	return "unknown";
}

int mutation_encode(const struct mutation *m, uint8_t *buf, size_t cap, size_t *len)
{
	struct wcur w = { .p = buf, .cap = cap };
	const struct store_op *op = &m->op;

	w_uint(&w, MUTATION_VERSION, 1);
	w_uint(&w, op->kind, 1);
	w_uint(&w, 0, 2);
	w_uint(&w, m->request_id, 8);
	switch (op->kind) {
	case STORE_OP_TARGET_ADD:
		w_str(&w, op->u.target.name, STORE_NAME_MAX);
		w_str(&w, op->u.target.alias, STORE_ALIAS_MAX);
		break;
	case STORE_OP_TARGET_DEL:
		w_str(&w, op->u.target.name, STORE_NAME_MAX);
		break;
	case STORE_OP_LUN_ADD: {
		const struct store_lun *l = &op->u.lun;
		uint8_t flags = (l->direct_io ? MUTATION_LUN_F_DIRECT_IO : 0) |
				(l->thin ? MUTATION_LUN_F_THIN : 0) |
				(l->read_only ? MUTATION_LUN_F_READ_ONLY : 0);

		w_str(&w, l->target, STORE_NAME_MAX);
		w_uint(&w, l->lun, 2);
		w_bytes(&w, l->uuid, sizeof(l->uuid));
		w_bytes(&w, l->naa, sizeof(l->naa));
		w_str(&w, l->serial, STORE_SERIAL_MAX);
		w_str(&w, l->backing, STORE_BACKING_MAX);
		w_str(&w, l->path, STORE_PATH_MAX);
		w_uint(&w, l->size_bytes, 8);
		w_uint(&w, l->block_size, 4);
		w_uint(&w, flags, 1);
		break;
	}
	case STORE_OP_LUN_DEL:
		w_str(&w, op->u.lun.target, STORE_NAME_MAX);
		w_uint(&w, op->u.lun.lun, 2);
		break;
	case STORE_OP_ACL_ADD:
	case STORE_OP_ACL_DEL:
		w_str(&w, op->u.acl.target, STORE_NAME_MAX);
		w_str(&w, op->u.acl.initiator, STORE_NAME_MAX);
		break;
	case STORE_OP_CHAP_SET:
		w_str(&w, op->u.chap.target, STORE_NAME_MAX);
		w_str(&w, op->u.chap.user, STORE_CHAP_MAX);
		w_str(&w, op->u.chap.secret, STORE_CHAP_MAX);
		w_str(&w, op->u.chap.mutual_user, STORE_CHAP_MAX);
		w_str(&w, op->u.chap.mutual_secret, STORE_CHAP_MAX);
		break;
	case STORE_OP_CHAP_CLEAR:
		w_str(&w, op->u.chap.target, STORE_NAME_MAX);
		break;
	case STORE_OP_PR_SET:
		if (m->pr_op == NULL || m->pr_op_len == 0 || m->pr_op_len > MUTATION_PR_OP_MAX) {
			return -EINVAL;
		}
		w_str(&w, op->u.pr.target, STORE_NAME_MAX);
		w_uint(&w, op->u.pr.lun, 2);
		w_uint(&w, m->pr_op_len, 4);
		w_bytes(&w, m->pr_op, m->pr_op_len);
		break;
	default:
		return -EINVAL;
	}
	if (w.err != 0) {
		return w.err;
	}
	*len = w.off;
	return 0;
}

int mutation_decode(const uint8_t *buf, size_t len, struct mutation *m)
{
	struct rcur r = { .p = buf, .len = len };
	struct store_op *op = &m->op;
	unsigned int version, kind;

	memset(m, 0, sizeof(*m));
	if (len < MUTATION_HEADER_LEN) {
		return -EBADMSG;
	}
	version = (unsigned int)r_uint(&r, 1);
	kind = (unsigned int)r_uint(&r, 1);
	if (version != MUTATION_VERSION) {
		return -EPROTO;
	}
	if (r_uint(&r, 2) != 0) {
		return -EBADMSG;
	}
	m->request_id = r_uint(&r, 8);
	switch (kind) {
	case STORE_OP_TARGET_ADD:
		r_str(&r, op->u.target.name, STORE_NAME_MAX);
		r_str(&r, op->u.target.alias, STORE_ALIAS_MAX);
		break;
	case STORE_OP_TARGET_DEL:
		r_str(&r, op->u.target.name, STORE_NAME_MAX);
		break;
	case STORE_OP_LUN_ADD: {
		struct store_lun *l = &op->u.lun;
		unsigned int flags;

		r_str(&r, l->target, STORE_NAME_MAX);
		l->lun = (uint16_t)r_uint(&r, 2);
		r_copy(&r, l->uuid, sizeof(l->uuid));
		r_copy(&r, l->naa, sizeof(l->naa));
		r_str(&r, l->serial, STORE_SERIAL_MAX);
		r_str(&r, l->backing, STORE_BACKING_MAX);
		r_str(&r, l->path, STORE_PATH_MAX);
		l->size_bytes = r_uint(&r, 8);
		l->block_size = (uint32_t)r_uint(&r, 4);
		flags = (unsigned int)r_uint(&r, 1);
		if (r.err == 0 && (flags & ~MUTATION_LUN_F_ALL) != 0) {
			r.err = -EBADMSG;
		}
		l->direct_io = (flags & MUTATION_LUN_F_DIRECT_IO) != 0;
		l->thin = (flags & MUTATION_LUN_F_THIN) != 0;
		l->read_only = (flags & MUTATION_LUN_F_READ_ONLY) != 0;
		break;
	}
	case STORE_OP_LUN_DEL:
		r_str(&r, op->u.lun.target, STORE_NAME_MAX);
		op->u.lun.lun = (uint16_t)r_uint(&r, 2);
		break;
	case STORE_OP_ACL_ADD:
	case STORE_OP_ACL_DEL:
		r_str(&r, op->u.acl.target, STORE_NAME_MAX);
		r_str(&r, op->u.acl.initiator, STORE_NAME_MAX);
		break;
	case STORE_OP_CHAP_SET:
		r_str(&r, op->u.chap.target, STORE_NAME_MAX);
		r_str(&r, op->u.chap.user, STORE_CHAP_MAX);
		r_str(&r, op->u.chap.secret, STORE_CHAP_MAX);
		r_str(&r, op->u.chap.mutual_user, STORE_CHAP_MAX);
		r_str(&r, op->u.chap.mutual_secret, STORE_CHAP_MAX);
		break;
	case STORE_OP_CHAP_CLEAR:
		r_str(&r, op->u.chap.target, STORE_NAME_MAX);
		break;
	case STORE_OP_PR_SET:
		r_str(&r, op->u.pr.target, STORE_NAME_MAX);
		op->u.pr.lun = (uint16_t)r_uint(&r, 2);
		m->pr_op_len = (size_t)r_uint(&r, 4);
		if (r.err == 0 && (m->pr_op_len == 0 || m->pr_op_len > MUTATION_PR_OP_MAX)) {
			r.err = -EBADMSG;
		}
		m->pr_op = r_bytes(&r, m->pr_op_len);
		break;
	default:
		return -EBADMSG;
	}
	if (r.err == 0 && r.off != len) {
		r.err = -EBADMSG;	/* trailing bytes */
	}
	if (r.err != 0) {
		memset(m, 0, sizeof(*m));
		return r.err;
	}
	op->kind = (enum store_op_kind)kind;
	return 0;
}
