/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Backing store front end: picks the ops table by kind, validates every
 * request once for all kinds (range, block alignment, buffer alignment for
 * O_DIRECT, read-only), and holds the "null" store.
 *
 * A request that fails validation is not refused by backing_submit(): it
 * completes with its -errno through done() on the next loop iteration, so
 * the caller has a single completion path. Only requests that cannot ever
 * complete (no io, no done callback) are refused with -EINVAL.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/backing/backing_int.h"
#include "daemon/base/domain.h"
#include "daemon/base/log.h"

static const struct backing_ops *const backing_kinds[] = {
	&backing_file_ops,
	&backing_null_ops,
};

static const struct backing_ops *backing_kind_find(const char *kind)
{
	size_t i;

	for (i = 0; i < sizeof(backing_kinds) / sizeof(backing_kinds[0]); i++) {
		if (strcmp(backing_kinds[i]->kind, kind) == 0) {
			return backing_kinds[i];
		}
	}
	return NULL;
}

int backing_open(const char *kind, const struct backing_params *params, struct backing **out)
{
	const struct backing_ops *ops;
	struct backing *store;
	int rc;

	if (!kind || !params || !out) {
		return -EINVAL;
	}
	*out = NULL;
	if (!backing_engine_ready()) {
		log_err("backing: backing_engine_init() was not called");
		return -EINVAL;
	}
	ops = backing_kind_find(kind);
	if (!ops) {
		log_err("backing: unknown store kind \"%s\"", kind);
		return -EINVAL;
	}
	if (!lun_block_size_valid(params->block_size)) {
		log_err("backing: block size %u is not %u or %u", params->block_size,
			LUN_BLOCK_SIZE_512, LUN_BLOCK_SIZE_4096);
		return -EINVAL;
	}
	store = calloc(1, sizeof(*store));
	if (!store) {
		return -ENOMEM;
	}
	store->ops = ops;
	store->fd = -1;
	store->block_size = params->block_size;
	store->read_only = params->read_only;
	store->direct_io = params->direct_io;
	rc = ops->open(store, params);
	if (rc < 0) {
		free(store->path);
		free(store);
		return rc;
	}
	*out = store;
	return 0;
}

void backing_close(struct backing *store)
{
	if (!store) {
		return;
	}
	if (store->inflight) {
		/* Completions would touch freed memory: leaking is the lesser evil. */
		log_err("backing: closing a store with %u I/Os in flight; leaking it",
			store->inflight);
		return;
	}
	store->ops->close(store);
	free(store->path);
	free(store);
}

uint64_t backing_size(const struct backing *store)
{
	return store->size;
}

int backing_resize(struct backing *store, uint64_t size)
{
	if (size == 0 || size % store->block_size || size > INT64_MAX) {
		return -EINVAL;
	}
	return store->ops->resize(store, size);
}

bool backing_read_only(const struct backing *store)
{
	return store->read_only;
}

bool backing_can_discard(const struct backing *store)
{
	return store->can_discard;
}

bool backing_discard_zeroes(const struct backing *store)
{
	return store->can_discard && store->discard_zeroes;
}

/* 0 if @io may run on @store, else the -errno it completes with. */
static int backing_io_check(const struct backing *store, const struct backing_io *io)
{
	switch (io->op) {
	case BACKING_FLUSH:
		return 0;
	case BACKING_READ:
	case BACKING_WRITE:
		if (io->len && !io->buf) {
			return -EINVAL;
		}
		if (store->direct_io && (uintptr_t)io->buf % BACKING_BUF_ALIGN) {
			return -EINVAL;
		}
		break;
	case BACKING_DISCARD:
	case BACKING_WRITE_ZEROES:
		break;
	default:
		return -EINVAL;
	}
	if (io->offset % store->block_size || io->len % store->block_size) {
		return -EINVAL;
	}
	if (io->offset > store->size || io->len > store->size - io->offset) {
		return -ERANGE;
	}
	if (io->op != BACKING_READ && store->read_only) {
		return -EROFS;
	}
	if (io->op == BACKING_DISCARD && !store->can_discard) {
		return -EOPNOTSUPP;
	}
	return 0;
}

int backing_submit(struct backing *store, struct backing_io *io)
{
	int rc;

	if (!store || !io || !io->done) {
		return -EINVAL;
	}
	io->store = store;
	io->next = NULL;
	io->done_bytes = 0;
	io->flags = 0;
	io->result = 0;
	store->inflight++;

	rc = backing_io_check(store, io);
	if (rc < 0) {
		backing_engine_complete_later(io, rc);
		return 0;
	}
	if (io->len == 0 && io->op != BACKING_FLUSH) {
		backing_engine_complete_later(io, 0);
		return 0;
	}
	store->ops->submit(store, io);
	return 0;
}

int backing_map_status(struct backing *store, uint64_t offset, bool *mapped, uint64_t *extent_len)
{
	if (!store || !mapped || !extent_len || offset >= store->size) {
		return -EINVAL;
	}
	return store->ops->map_status(store, offset, mapped, extent_len);
}

/*
 * The null store: reads return zeroes, writes and flushes succeed without
 * storing anything, discards are supported and read back as zeroes (LBPRZ).
 * Useful for benchmarking the protocol path and for tests.
 */
static int null_open(struct backing *store, const struct backing_params *params)
{
	if (params->size_bytes == 0 || params->size_bytes % params->block_size) {
		log_err("backing: null store size %" PRIu64 " is not a non-zero multiple of %u",
			params->size_bytes, params->block_size);
		return -EINVAL;
	}
	store->size = params->size_bytes;
	store->can_discard = true;
	store->discard_zeroes = true;
	return 0;
}

static void null_close(struct backing *store)
{
	(void)store;
}

static void null_submit(struct backing *store, struct backing_io *io)
{
	(void)store;
	if (io->op == BACKING_READ) {
		memset(io->buf, 0, io->len);
	}
	io->done_bytes = io->len;
	backing_engine_complete_later(io, 0);
}

static int null_resize(struct backing *store, uint64_t size)
{
	store->size = size;
	return 0;
}

/* Nothing is ever stored, so the whole range is deallocated. */
static int null_map_status(struct backing *store, uint64_t offset, bool *mapped,
			   uint64_t *extent_len)
{
	*mapped = false;
	*extent_len = store->size - offset;
	return 0;
}

const struct backing_ops backing_null_ops = {
	.kind = LUN_BACKING_NULL,
	.open = null_open,
	.close = null_close,
	.submit = null_submit,
	.map_status = null_map_status,
	.resize = null_resize,
};
