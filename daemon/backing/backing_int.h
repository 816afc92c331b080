/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Backing stores, private to daemon/backing: the store object, the ops
 * table of each kind, and the completion engine shared by every store.
 *
 * Invariants: every request accepted by backing_submit() completes exactly
 * once, through io->done(), from the main loop (engine_dispatch), never
 * from inside backing_submit(). store->inflight counts the requests of a
 * store between backing_submit() and done(); backing_close() needs it zero.
 */
#ifndef QUORATE_DAEMON_BACKING_BACKING_INT_H
#define QUORATE_DAEMON_BACKING_BACKING_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

#include "daemon/backing/backing.h"

/* Size of the shared zero buffer used when a file system cannot zero a range. */
#define BACKING_ZERO_BUF_SIZE (1024 * 1024)

/* io->flags: WRITE_ZEROES is being done by writing the zero buffer. */
#define BACKING_IO_ZERO_FILL 0x1u

struct backing_ops {
	const char *kind;
	int (*open)(struct backing *store, const struct backing_params *params);
	void (*close)(struct backing *store);
	/* Start a validated request; errors go through backing_engine_complete_later(). */
	void (*submit)(struct backing *store, struct backing_io *io);
	int (*map_status)(struct backing *store, uint64_t offset, bool *mapped,
			  uint64_t *extent_len);
	/* Export @size bytes (a validated multiple of the block size) from now on. */
	int (*resize)(struct backing *store, uint64_t size);
	/*
	 * Kinds served through the engine's io_uring (backing_engine_start):
	 * fill @sqe for the next step of @io, and account a completion of @res
	 * (true if @io is finished, io->result set; false to resubmit). The
	 * engine reaches a kind only through these, so engine.c calls nothing
	 * in file.c; NULL for kinds that never start engine I/O.
	 */
	void (*prep)(struct backing_io *io, struct io_uring_sqe *sqe);
	bool (*complete)(struct backing_io *io, int res);
};

/* How a file store may be served at submit time (file.c, file_try_inline). */
enum backing_inline {
	BACKING_INLINE_NONE = 0, /* always io_uring (O_DIRECT, or RWF_NOWAIT refused) */
	BACKING_INLINE_NOWAIT,	 /* page-cache hits via RWF_NOWAIT */
	BACKING_INLINE_MEMORY,	 /* tmpfs/ramfs: copy, nothing to wait for */
};

struct backing {
	const struct backing_ops *ops;
	char *path;    /* owned copy, NULL for "null" */
	int fd;	       /* -1 when the kind has none */
	uint64_t size; /* bytes exported, a multiple of block_size */
	uint32_t block_size;
	bool read_only;
	bool direct_io;
	bool is_blkdev;
	bool can_discard;
	bool discard_zeroes;
	bool no_zero_range;    /* fallocate(ZERO_RANGE) said EOPNOTSUPP once */
	enum backing_inline inline_io;
	bool no_nowait_write;  /* RWF_NOWAIT writes said EOPNOTSUPP (ext4): reads still try */
	unsigned int inflight; /* submitted, done() not yet called */
};

extern const struct backing_ops backing_file_ops;
extern const struct backing_ops backing_null_ops;

/* engine.c */
bool backing_engine_ready(void);
/* Hand @io (file store) to io_uring, or to the pending list when the ring is full. */
void backing_engine_start(struct backing_io *io);
/* Complete @io with @result on the next loop iteration (errors, the null store). */
void backing_engine_complete_later(struct backing_io *io, int result);
/* The shared, BACKING_BUF_ALIGN-aligned buffer of BACKING_ZERO_BUF_SIZE zero bytes. */
const void *backing_engine_zero_buf(void);

#endif
