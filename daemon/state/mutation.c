/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encoding and decoding of mutations (format in mutation.h): the common
 * header here, the fields through each kind's row in kinds.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "daemon/state/state_int.h"

static const struct state_kind *kind_row(unsigned int kind)
{
	if (kind == MUTATION_NONE || kind >= MUTATION_KIND_COUNT) {
		return NULL;
	}
	return &state_kinds[kind];
}

const char *mutation_kind_name(enum mutation_kind kind)
{
	const struct state_kind *k = kind_row((unsigned int)kind);

	return k != NULL ? k->name : "unknown";
}

size_t mutation_encoded_max(const struct mutation *m)
{
	return MUTATION_MAX_LEN + (m->pr_op != NULL ? m->pr_op_len + 4 : 0);
}

int mutation_encode(const struct mutation *m, uint8_t *buf, size_t cap, size_t *len)
{
	const struct state_kind *k = kind_row((unsigned int)m->kind);
	struct wcur w = { .p = buf, .cap = cap };

	if (k == NULL) {
		return -EINVAL;
	}
	w_uint(&w, MUTATION_VERSION, 1);
	w_uint(&w, m->kind, 1);
	w_uint(&w, 0, 2);
	w_uint(&w, m->request_id, 8);
	k->encode(&w, m);
	if (w.err != 0) {
		return w.err;
	}
	*len = w.off;
	return 0;
}

int mutation_decode(const uint8_t *buf, size_t len, struct mutation *m)
{
	struct rcur r = { .p = buf, .len = len };
	const struct state_kind *k;
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
	k = kind_row(kind);
	if (k == NULL) {
		return -EBADMSG;
	}
	k->decode(&r, m);
	if (r.err == 0 && r.off != len) {
		r.err = -EBADMSG;	/* trailing bytes */
	}
	if (r.err != 0) {
		memset(m, 0, sizeof(*m));
		return r.err;
	}
	m->kind = (enum mutation_kind)kind;
	return 0;
}
