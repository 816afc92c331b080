/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Backing stores: where a logical unit's blocks live. An ops table per kind
 * ("file" for regular files and block devices, "null" for a store that reads
 * zeroes and discards writes), chosen by name when the LU is created.
 *
 * I/O is asynchronous and never blocks the main loop: backing_submit() queues
 * the request (io_uring for files) and io->done() runs later from the loop,
 * never from inside backing_submit(). The caller owns struct backing_io and
 * its buffer until done() runs; nothing is allocated per request.
 *
 * Offsets and lengths are multiples of the store's block size. With
 * direct_io, data buffers must also be BACKING_BUF_ALIGN-aligned. A request
 * breaking either rule, out of range, or writing to a read-only store
 * completes through done() like any other error (-EINVAL, -EROFS).
 */
#ifndef QUORATE_DAEMON_BACKING_BACKING_H
#define QUORATE_DAEMON_BACKING_BACKING_H

#include <stdbool.h>
#include <stdint.h>

#include <qb/qbloop.h>

/* Alignment of data buffers for stores opened with direct_io (O_DIRECT). */
#define BACKING_BUF_ALIGN 4096

enum backing_op {
	BACKING_READ,		/* read len bytes at offset into buf */
	BACKING_WRITE,		/* write len bytes from buf at offset */
	BACKING_FLUSH,		/* make every completed write durable (fdatasync) */
	BACKING_DISCARD,	/* deallocate: punch a hole, reads return zeroes */
	BACKING_WRITE_ZEROES,	/* write zeroes over the range without a buffer */
};

struct backing_io {
	enum backing_op op;
	uint64_t offset;	/* bytes */
	uint64_t len;		/* bytes */
	void *buf;		/* borrowed; NULL for FLUSH/DISCARD/WRITE_ZEROES */
	bool fua;		/* WRITE: durable before completion (RWF_DSYNC) */
	int result;		/* OUT: 0 or -errno, set before done() */
	void (*done)(struct backing_io *io);
	void *priv;		/* the caller's back pointer */
	/* Private to the backing store. */
	uint64_t done_bytes;	/* progress through short reads/writes */
	struct backing_io *next;
	struct backing *store;	/* set by backing_submit() */
	uint32_t flags;		/* engine state (e.g. zero-fill fallback) */
};

struct backing_params {
	const char *path;	/* NULL for "null" */
	uint64_t size_bytes;	/* 0: use the file's size; a regular file is extended */
	uint32_t block_size;
	bool direct_io;		/* O_DIRECT: bypass the page cache (shared disks) */
	bool read_only;
};

struct backing;

/**
 * Set up the asynchronous engine on @loop (one io_uring shared by all
 * file stores). Call once before backing_open(). @return 0 or -errno.
 */
int backing_engine_init(qb_loop_t *loop);
void backing_engine_fini(void);

/** Open a store of kind @kind ("file", "null"). @return 0 or -errno (-ENOENT, -EINVAL...). */
int backing_open(const char *kind, const struct backing_params *params, struct backing **out);
/** Close a store; no I/O may be in flight. */
void backing_close(struct backing *store);

uint64_t backing_size(const struct backing *store);
/**
 * Export @size bytes from now on (LUN resize), a non-zero multiple of the
 * block size. A regular file smaller than that is extended sparsely (not
 * when opened read-only); a larger one, or a block device at least that
 * large, is left as it is. Requests already submitted keep the range
 * checked at their submit. @return 0, -EINVAL (not whole blocks), -EFBIG
 * (a block device or read-only file smaller than @size) or the
 * ftruncate's -errno; on error the size in force stays.
 */
int backing_resize(struct backing *store, uint64_t size);
/** Was the store opened read-only (writes complete with -EROFS)? */
bool backing_read_only(const struct backing *store);
/** Does the store support DISCARD (hole punching / BLKDISCARD)? */
bool backing_can_discard(const struct backing *store);
/** Do discarded blocks read back as zeroes (LBPRZ)? */
bool backing_discard_zeroes(const struct backing *store);

/** Queue @io; io->done() runs later from the loop. @return 0 or -errno (not queued). */
int backing_submit(struct backing *store, struct backing_io *io);

/**
 * GET LBA STATUS support: is the byte range starting at @offset mapped?
 * Sets *mapped and *extent_len (bytes of the run sharing that state, from
 * @offset). Synchronous (lseek SEEK_DATA/SEEK_HOLE, no data I/O).
 * @return 0 or -errno.
 */
int backing_map_status(struct backing *store, uint64_t offset, bool *mapped, uint64_t *extent_len);

#endif
