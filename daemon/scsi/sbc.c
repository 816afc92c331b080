// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * SBC-3 commands: media access and block-device reports.
 *
 * Every media command takes one I/O context from its LU's pool (grown on
 * demand, never shrunk while the LU lives: no allocation per command in
 * steady state) and runs as a small state machine driven by backing
 * completions from the main loop. A command needing several backing
 * operations (COMPARE AND WRITE, ORWRITE, VERIFY with BYTCHK, WRITE SAME of
 * a non-zero pattern, UNMAP with several descriptors) reuses the same
 * struct backing_io for each step.
 *
 * LBA range locks, in three modes:
 *  - READ (READ, VERIFY): a block is read whole, never half before and half
 *    after a concurrent write to it. Disks guarantee that and shared-disk
 *    cluster software (heartbeat and lock sectors) relies on it, but the
 *    store does not: a buffered pread copying a page cache page while a
 *    pwrite from an io_uring worker fills it can return a torn block
 *    (seen on ext4). Readers share with readers, not with writers.
 *  - WRITE (WRITE, WRITE SAME): writers share with writers, as before
 *    (overlapping SIMPLE writes have no order, SAM-5; a buffered pwrite is
 *    applied under the file's inode lock), but not with readers.
 *  - EXCL (COMPARE AND WRITE, ORWRITE): SBC-3 5.3, atomic with respect to
 *    every other access to the same blocks.
 * A request that conflicts with a held lock, or with a request already
 * waiting, queues on the LU; overlapping requests start in arrival order,
 * others do not wait for each other. The common case costs no walk and no
 * allocation: a reader checks the held locks only while a writer holds one
 * (lu->lock_writers), the wait list only while it is not empty, and a
 * release unlinks in O(1).
 *
 * On a shared LU COMPARE AND WRITE goes further (scsi_caw.h): every node
 * holds the range with an EXCL lock that no command of its own owns (a
 * range hold), and the command runs on its node without a lock of its own,
 * inside that node's hold.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/base/log.h"
#include "daemon/scsi/scsi_int.h"

/* CDB fields (SBC-3 5.x). */
#define CDB_PROTECT_MASK 0xe0	/* RDPROTECT/WRPROTECT/VRPROTECT/ORPROTECT */
#define CDB_DPO 0x10
#define CDB_FUA 0x08
#define CDB_BYTCHK_SHIFT 1
#define CDB_BYTCHK_MASK 0x03
#define CDB_WS_ANCHOR 0x10
#define CDB_WS_UNMAP 0x08
#define CDB_WS_NDOB 0x01
#define CDB_UNMAP_ANCHOR 0x01
#define CDB_RC10_PMI 0x01
#define CDB_RC16_PMI 0x01
#define RW6_LEN_ZERO_MEANS 256	/* SBC-3 5.15: READ(6)/WRITE(6) length 0 is 256 blocks */
#define RW6_LBA_MSB_MASK 0x1f	/* READ(6)/WRITE(6): LBA bits 20..16 in byte 1 */

/* At most one backing error warning per LU in this many seconds. */
#define SBC_ERR_LOG_INTERVAL_S 10u

enum sbc_bytchk {
	BYTCHK_NONE = 0,	/* verify the medium only */
	BYTCHK_COMPARE = 1,	/* compare with Data-Out of the same length */
	BYTCHK_SAME = 3,	/* compare every block with one Data-Out block */
};

/* READ CAPACITY (SBC-3 5.16, 5.17). */
#define RC10_LEN 8
#define RC16_LEN 32
#define RC10_LBA_MAX 0xffffffffu
#define RC16_LBPME 0x80
#define RC16_LBPRZ 0x40

/* UNMAP parameter list (SBC-3 5.28.2). */
#define UNMAP_HDR_LEN 8
#define UNMAP_DESC_LEN 16

/* GET LBA STATUS (SBC-3 5.6). */
#define GLS_HDR_LEN 8
#define GLS_DESC_LEN 16
#define GLS_MIN_ALLOC 24
#define GLS_MAX_DESCS 64
#define GLS_MAPPED 0x0
#define GLS_DEALLOCATED 0x1

enum sbc_kind {
	SBC_IO_READ,
	SBC_IO_WRITE,
	SBC_IO_VERIFY,
	SBC_IO_CAW,
	SBC_IO_ORWRITE,
	SBC_IO_WRITE_SAME,
	SBC_IO_UNMAP,
	SBC_IO_FLUSH,
	SBC_IO_HOLD,		/* a range hold (scsi_caw.h): no I/O, granted when it runs */
};

/* Per-command state lives in task->priv: lba, nblocks, stage; the context in io. */
#define STAGE_KIND_SHIFT 24
#define STAGE_STEP_MASK 0xffffffu
#define STAGE(kind, step) ((uint32_t)(kind) << STAGE_KIND_SHIFT | (step))

static void sbc_step(struct scsi_task *task);
static void sbc_complete(struct scsi_task *task);
static void step_hold(struct scsi_task *task);

static struct scsi_io_ctx *io_get(struct scsi_lu *lu)
{
	struct scsi_io_ctx *io = lu->io_free;

	if (io) {
		lu->io_free = io->next_free;
	} else {
		io = calloc(1, sizeof(*io));
		if (!io) {
			return NULL;
		}
	}
	io->next_free = NULL;
	io->lock_next = NULL;
	io->lock_count = 0;
	io->caw_cookie = NULL;
	return io;
}

static void io_put(struct scsi_lu *lu, struct scsi_io_ctx *io)
{
	io->task = NULL;
	io->next_free = lu->io_free;
	lu->io_free = io;
}

/* Grow the context's scratch; aligned for O_DIRECT stores (backing.h). */
static int io_scratch(struct scsi_io_ctx *io, size_t len)
{
	void *p;

	if (io->scratch_cap >= len) {
		return 0;
	}
	if (posix_memalign(&p, BACKING_BUF_ALIGN, len) != 0) {
		return -ENOMEM;
	}
	free(io->scratch);
	io->scratch = p;
	io->scratch_cap = len;
	return 0;
}

/* Scratch for @nblocks of read-back, at most SBC_SCRATCH_MAX (longer commands go in chunks). */
static size_t scratch_len(const struct scsi_lu *lu, uint64_t nblocks)
{
	uint64_t want = nblocks * lu->block_size;
	uint64_t cap = SBC_SCRATCH_MAX / lu->block_size * lu->block_size;

	return (size_t)(want < cap ? want : cap);
}

/* ---- range locks ---- */

enum sbc_lock_mode {
	LOCK_READ,
	LOCK_WRITE,
	LOCK_EXCL,
};

/* Sentinel for sbc_go(): the command takes no range lock (UNMAP, FLUSH). */
#define LOCK_NONE (-1)

static bool lock_modes_conflict(uint8_t a, uint8_t b)
{
	return a == LOCK_EXCL || b == LOCK_EXCL || a != b;
}

static bool lock_conflicts(const struct scsi_lu *lu, uint64_t lba, uint64_t count, uint8_t mode)
{
	/* Readers only conflict with writers: none held, nothing to walk. */
	if (mode == LOCK_READ && !lu->lock_writers) {
		return false;
	}
	for (const struct scsi_io_ctx *l = lu->locks; l; l = l->lock_next) {
		bool overlap = lba < l->lock_lba + l->lock_count && l->lock_lba < lba + count;

		if (overlap && lock_modes_conflict(mode, l->lock_mode)) {
			return true;
		}
	}
	return false;
}

static void lock_insert(struct scsi_lu *lu, struct scsi_io_ctx *io)
{
	io->lock_next = lu->locks;
	if (lu->locks) {
		lu->locks->lock_pprev = &io->lock_next;
	}
	io->lock_pprev = &lu->locks;
	lu->locks = io;
	if (io->lock_mode != LOCK_READ) {
		lu->lock_writers++;
	}
}

/*
 * Does a request for [@lba, +@count) in @mode conflict with a waiter queued
 * ahead of @stop (NULL: with any waiter)? Overlapping requests start in
 * arrival order, so a stream of readers cannot starve a waiting writer.
 */
static bool wait_conflicts(const struct scsi_lu *lu, const struct scsi_task *stop, uint64_t lba,
			   uint64_t count, uint8_t mode)
{
	for (const struct scsi_task *t = lu->lock_wait_head; t && t != stop; t = t->priv.next) {
		const struct scsi_io_ctx *w = t->priv.io;
		bool overlap = lba < w->lock_lba + w->lock_count && w->lock_lba < lba + count;

		if (overlap && lock_modes_conflict(mode, w->lock_mode)) {
			return true;
		}
	}
	return false;
}

/*
 * Grant the lock to every waiter that conflicts neither with a holder nor
 * with a waiter ahead of it, then run their first steps. The list is
 * settled before any step runs: a step may end its task and so come back
 * here.
 */
static void lock_start_waiters(struct scsi_lu *lu)
{
	struct scsi_task *start = NULL, **start_tail = &start;
	struct scsi_task **pp = &lu->lock_wait_head, *prev = NULL, *t;

	while ((t = *pp) != NULL) {
		struct scsi_io_ctx *w = t->priv.io;

		if (lock_conflicts(lu, w->lock_lba, w->lock_count, w->lock_mode) ||
		    wait_conflicts(lu, t, w->lock_lba, w->lock_count, w->lock_mode)) {
			prev = t;
			pp = &t->priv.next;
			continue;
		}
		*pp = t->priv.next;
		if (lu->lock_wait_tail == t) {
			lu->lock_wait_tail = prev;
		}
		t->priv.next = NULL;
		lock_insert(lu, w);
		*start_tail = t;
		start_tail = &t->priv.next;
	}
	while ((t = start) != NULL) {
		start = t->priv.next;
		t->priv.next = NULL;
		/*
		 * Admitted while this node served, but a command does not start
		 * touching the medium once it stopped (DESIGN §3): a range hold
		 * of a node that left can keep waiters here past the lease.
		 */
		if (t->priv.stage >> STAGE_KIND_SHIFT != SBC_IO_HOLD &&
		    !scsi_alua_serves(lu->target->alua, io_stats_now_ns())) {
			scsi_task_sense(t, SENSE_KEY_NOT_READY,
					ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
			sbc_complete(t);
			continue;
		}
		sbc_step(t);
	}
}

static void lock_release(struct scsi_lu *lu, struct scsi_io_ctx *io)
{
	if (!io->lock_count) {
		return;
	}
	*io->lock_pprev = io->lock_next;
	if (io->lock_next) {
		io->lock_next->lock_pprev = io->lock_pprev;
	}
	io->lock_next = NULL;
	io->lock_pprev = NULL;
	io->lock_count = 0;
	if (io->lock_mode != LOCK_READ) {
		lu->lock_writers--;
	}
	lock_start_waiters(lu);
}

/* ---- completion ---- */

static void sbc_complete(struct scsi_task *task)
{
	struct scsi_lu *lu = task->priv.lu;
	struct scsi_io_ctx *io = task->priv.io;
	void *cookie = io->caw_cookie;

	task->priv.io = NULL;
	io->caw_cookie = NULL;
	lock_release(lu, io);
	io_put(lu, io);
	if (cookie) {
		lu->target->caw_hooks.end(lu->target->caw_hooks.ctx, cookie);
	}
	scsi_task_finish(task);
}

static const char *backing_op_name(enum backing_op op)
{
	switch (op) {
	case BACKING_READ:
		return "read";
	case BACKING_WRITE:
		return "write";
	case BACKING_FLUSH:
		return "flush";
	case BACKING_DISCARD:
		return "discard";
	case BACKING_WRITE_ZEROES:
		return "write zeroes";
	}
	return "request";
}

/*
 * A failed backing request is something the administrator must see (a
 * full file system, a failing disk), but a busy initiator retrying can fail
 * thousands of commands a second: one warning per LU per
 * SBC_ERR_LOG_INTERVAL_S, counting the ones left out.
 */
static void sbc_log_backing_error(struct scsi_lu *lu, const struct backing_io *bio, int err)
{
	struct timespec now;
	uint64_t now_ns;
	char more[64] = "";

	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	if (lu->err_log_next_ns && now_ns < lu->err_log_next_ns) {
		lu->err_log_suppressed++;
		return;
	}
	lu->err_log_next_ns = now_ns + (uint64_t)SBC_ERR_LOG_INTERVAL_S * 1000000000u;
	if (lu->err_log_suppressed) {
		snprintf(more, sizeof(more), "; %u more since the last warning",
			 lu->err_log_suppressed);
	}
	log_warn("scsi: LUN %u (\"%s\"): backing %s of %" PRIu64 " bytes at offset %" PRIu64
		 " failed: %s (errno %d)%s",
		 lu->id, lu->path ? lu->path : lu->backing_kind, backing_op_name(bio->op),
		 bio->len, bio->offset, strerror(-err), -err, more);
	lu->err_log_suppressed = 0;
}

static void sbc_fail_errno(struct scsi_task *task, const struct backing_io *bio)
{
	uint8_t key;
	uint16_t asc;

	sbc_log_backing_error(task->priv.lu, bio, bio->result);
	scsi_sense_from_errno(bio->result, bio->op != BACKING_READ, &key, &asc);
	scsi_task_sense(task, key, asc);
	sbc_complete(task);
}

static void sbc_io_done(struct backing_io *bio)
{
	struct scsi_task *task = bio->priv;

	if (bio->result < 0) {
		sbc_fail_errno(task, bio);
		return;
	}
	task->priv.stage++;
	sbc_step(task);
}

static void sbc_submit(struct scsi_task *task, enum backing_op op, uint64_t offset, uint64_t len,
		       void *buf, bool fua)
{
	struct scsi_io_ctx *io = task->priv.io;
	struct backing_io *bio = &io->bio;

	memset(bio, 0, sizeof(*bio));
	bio->op = op;
	bio->offset = offset;
	bio->len = len;
	bio->buf = buf;
	bio->fua = fua;
	bio->done = sbc_io_done;
	bio->priv = task;
	/*
	 * backing_submit() refuses only a NULL store, io or done (backing.h),
	 * and none is NULL here: a LU has its store from add_lu to lu_free.
	 * Every other error, bad alignment included, comes back through
	 * sbc_io_done() from the loop, so a step never completes its task
	 * from inside another step (e.g. while lock_release() starts waiters).
	 */
	(void)backing_submit(task->priv.lu->store, bio);
}

/*
 * First half of starting a media command: take an I/O context with at
 * least @scratch_len bytes of scratch and record the command's range.
 * @return the context, or NULL with BUSY status set (out of memory).
 */
static struct scsi_io_ctx *sbc_prepare(struct scsi_task *task, enum sbc_kind kind, uint64_t lba,
				       uint64_t nblocks, size_t scratch_len)
{
	struct scsi_lu *lu = task->priv.lu;
	struct scsi_io_ctx *io = io_get(lu);

	if (io && io_scratch(io, scratch_len) < 0) {
		io_put(lu, io);
		io = NULL;
	}
	if (!io) {
		task->status = SCSI_STATUS_BUSY;
		return NULL;
	}
	io->task = task;
	task->priv.io = io;
	task->priv.lba = lba;
	task->priv.nblocks = (uint32_t)(nblocks > UINT32_MAX ? UINT32_MAX : nblocks);
	task->priv.stage = STAGE(kind, 0);
	task->priv.next = NULL;
	return io;
}

/*
 * Second half: take the range lock (@lock: LOCK_NONE or an enum
 * sbc_lock_mode) or queue for it, and run step @first_step. @return SCSI_EXEC_ASYNC.
 */
static int sbc_go(struct scsi_task *task, int lock, unsigned int first_step)
{
	struct scsi_lu *lu = task->priv.lu;
	struct scsi_io_ctx *io = task->priv.io;
	uint64_t count = task->priv.nblocks;

	task->priv.stage |= first_step;
	lu->inflight++;
	if (lock != LOCK_NONE && count) {
		io->lock_lba = task->priv.lba;
		io->lock_count = count;
		io->lock_mode = (uint8_t)lock;
		if (lock_conflicts(lu, io->lock_lba, count, io->lock_mode) ||
		    (lu->lock_wait_head &&
		     wait_conflicts(lu, NULL, io->lock_lba, count, io->lock_mode))) {
			if (lu->lock_wait_tail) {
				lu->lock_wait_tail->priv.next = task;
			} else {
				lu->lock_wait_head = task;
			}
			lu->lock_wait_tail = task;
			return SCSI_EXEC_ASYNC;
		}
		lock_insert(lu, io);
	}
	sbc_step(task);
	return SCSI_EXEC_ASYNC;
}

/* Take @task (a range hold, not granted yet) off its LU's wait list. */
static void lock_wait_remove(struct scsi_lu *lu, struct scsi_task *task)
{
	struct scsi_task **pp = &lu->lock_wait_head, *prev = NULL;

	while (*pp && *pp != task) {
		prev = *pp;
		pp = &prev->priv.next;
	}
	if (!*pp) {
		return;
	}
	*pp = task->priv.next;
	if (lu->lock_wait_tail == task) {
		lu->lock_wait_tail = prev;
	}
	task->priv.next = NULL;
}

/* ---- CDB decoding and common checks ---- */

static void rw_decode(const struct scsi_task *task, uint64_t *lba, uint64_t *nblocks)
{
	const uint8_t *c = task->cdb;

	switch (task->cdb[0] >> CDB_GROUP_SHIFT) {
	case CDB_GROUP_6:
		*lba = (uint64_t)(c[1] & RW6_LBA_MSB_MASK) << 16 | get_be16(&c[2]);
		*nblocks = c[4] ? c[4] : RW6_LEN_ZERO_MEANS;
		break;
	case CDB_GROUP_10:
	case CDB_GROUP_10_ALT:
		*lba = get_be32(&c[2]);
		*nblocks = get_be16(&c[7]);
		break;
	case CDB_GROUP_12:
		*lba = get_be32(&c[2]);
		*nblocks = get_be32(&c[6]);
		break;
	default:	/* CDB_GROUP_16 */
		*lba = get_be64(&c[2]);
		*nblocks = get_be32(&c[10]);
		break;
	}
}

/* Byte index of the transfer length field, for field pointers. */
static unsigned int rw_len_byte(const struct scsi_task *task)
{
	switch (task->cdb[0] >> CDB_GROUP_SHIFT) {
	case CDB_GROUP_6:
		return 4;
	case CDB_GROUP_10:
	case CDB_GROUP_10_ALT:
		return 7;
	case CDB_GROUP_12:
		return 6;
	default:
		return 10;
	}
}

static bool lba_out_of_range(const struct scsi_lu *lu, uint64_t lba, uint64_t nblocks)
{
	return lba > lu->nblocks || nblocks > lu->nblocks - lba;
}

static uint32_t bytes_clip(uint64_t n)
{
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/*
 * Checks every read/write-family command shares (SBC-3 4.x): no protection
 * information, LBA range (21/00), maximum transfer length. Sets xfer_len.
 * @return -1 if the command may go on, or SCSI_EXEC_DONE with sense set.
 */
static int rw_check(struct scsi_task *task, uint64_t lba, uint64_t nblocks, uint64_t xfer_blocks)
{
	const struct scsi_lu *lu = task->priv.lu;

	task->xfer_len = bytes_clip(xfer_blocks * lu->block_size);
	/*
	 * We have no protection information (READ CAPACITY(16) PROT_EN=0). In
	 * 6-byte CDBs those bits belong to the LBA.
	 */
	if ((task->cdb[0] >> CDB_GROUP_SHIFT) != CDB_GROUP_6 && (task->cdb[1] & CDB_PROTECT_MASK)) {
		return scsi_task_invalid_field(task, true, 1, 7);
	}
	if (lba_out_of_range(lu, lba, nblocks)) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	}
	if (xfer_blocks * lu->block_size > SBC_MAX_XFER_BYTES) {
		return scsi_task_invalid_field(task, true, rw_len_byte(task), 7);
	}
	return -1;
}

/* ---- state machine ---- */

static uint64_t task_offset(const struct scsi_task *task)
{
	return task->priv.lba * task->priv.lu->block_size;
}

static bool task_fua(const struct scsi_task *task)
{
	/* FUA, or write-through when the caching page says WCE=0 (SBC-3 6.4.5). */
	return (task->cdb[1] & CDB_FUA) || !task->priv.lu->mode.wce;
}

/* First differing byte, or -1. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (a[i] != b[i]) {
			return (long)i;
		}
	}
	return -1;
}

static void step_read(struct scsi_task *task, unsigned int step)
{
	uint32_t len = task->xfer_len < task->buf_cap ? task->xfer_len : task->buf_cap;

	/* O_DIRECT reads whole blocks only: a buffer cut mid-block gets the whole ones. */
	if (task->priv.lu->cfg.direct_io) {
		len -= len % task->priv.lu->block_size;
	}
	if (step == 0 && len == 0) {
		task->data_in_len = 0;
		sbc_complete(task);
		return;
	}
	if (step == 0) {
		sbc_submit(task, BACKING_READ, task_offset(task), len, task->buf, false);
		return;
	}
	task->data_in_len = len;
	sbc_complete(task);
}

static void step_write(struct scsi_task *task, unsigned int step)
{
	if (step == 0) {
		sbc_submit(task, BACKING_WRITE, task_offset(task),
			   (uint64_t)task->priv.nblocks * task->priv.lu->block_size, task->buf,
			   task_fua(task));
		return;
	}
	sbc_complete(task);
}

/* Bytes per read-back chunk of VERIFY and ORWRITE: the context's scratch, whole blocks. */
static size_t chunk_bytes(const struct scsi_task *task)
{
	const struct scsi_io_ctx *io = task->priv.io;
	uint32_t bs = task->priv.lu->block_size;

	return io->scratch_cap / bs * bs;
}

/*
 * VERIFY with BYTCHK: step k > 0 compares chunk k-1 (just read), then the
 * next chunk is read; the INFORMATION field of a miscompare is the byte
 * offset from the start of the command (SBC-3 5.31).
 */
static void step_verify(struct scsi_task *task, unsigned int step)
{
	struct scsi_io_ctx *io = task->priv.io;
	uint32_t bs = task->priv.lu->block_size;
	uint64_t total = (uint64_t)task->priv.nblocks * bs;
	size_t chunk = chunk_bytes(task);
	int bytchk = (task->cdb[1] >> CDB_BYTCHK_SHIFT) & CDB_BYTCHK_MASK;
	uint64_t base, len;

	if (step > 0) {
		base = (uint64_t)(step - 1) * chunk;
		len = total - base < chunk ? total - base : chunk;
		for (uint64_t b = 0; b < len; b += bs) {
			const uint8_t *want = bytchk == BYTCHK_SAME ? task->buf : task->buf + base + b;
			long k = first_diff(io->scratch + b, want, bs);

			if (k >= 0) {
				scsi_task_sense_info(task, SENSE_KEY_MISCOMPARE,
						     ASC_MISCOMPARE_DURING_VERIFY,
						     base + b + (uint64_t)k);
				sbc_complete(task);
				return;
			}
		}
	}
	base = (uint64_t)step * chunk;
	if (base >= total) {
		sbc_complete(task);
		return;
	}
	len = total - base < chunk ? total - base : chunk;
	sbc_submit(task, BACKING_READ, task_offset(task) + base, len, io->scratch, false);
}

static void step_caw(struct scsi_task *task, unsigned int step)
{
	struct scsi_io_ctx *io = task->priv.io;
	size_t len = (size_t)task->priv.nblocks * task->priv.lu->block_size;
	uint8_t *src;
	long k;

	switch (step) {
	case 0:
		sbc_submit(task, BACKING_READ, task_offset(task), len, io->scratch, false);
		return;
	case 1:
		/* SBC-3 5.2: INFORMATION holds the offset of the first miscompare. */
		k = first_diff(io->scratch, task->buf, len);
		if (k >= 0) {
			scsi_task_sense_info(task, SENSE_KEY_MISCOMPARE,
					     ASC_MISCOMPARE_DURING_VERIFY, (uint64_t)k);
			sbc_complete(task);
			return;
		}
		/*
		 * The write half starts mid-buffer; an O_DIRECT store needs it
		 * aligned, so it goes through the (now free) aligned scratch.
		 */
		src = task->buf + len;
		if ((uintptr_t)src % BACKING_BUF_ALIGN) {
			memcpy(io->scratch, src, len);
			src = io->scratch;
		}
		sbc_submit(task, BACKING_WRITE, task_offset(task), len, src, task_fua(task));
		return;
	default:
		sbc_complete(task);
	}
}

/*
 * ORWRITE (SBC-3 5.9): read the range chunk by chunk, OR each into the
 * Data-Out buffer, then write the whole buffer once; the exclusive range
 * lock keeps other writers out between the reads and the write.
 */
static void step_orwrite(struct scsi_task *task, unsigned int step)
{
	struct scsi_io_ctx *io = task->priv.io;
	uint64_t total = (uint64_t)task->priv.nblocks * task->priv.lu->block_size;
	size_t chunk = chunk_bytes(task);
	uint64_t nchunks = (total + chunk - 1) / chunk;
	uint64_t base, len;

	if (step > nchunks) {
		sbc_complete(task);
		return;
	}
	if (step > 0) {
		base = (uint64_t)(step - 1) * chunk;
		len = total - base < chunk ? total - base : chunk;
		for (uint64_t i = 0; i < len; i++) {
			task->buf[base + i] |= io->scratch[i];
		}
	}
	if (step == nchunks) {
		sbc_submit(task, BACKING_WRITE, task_offset(task), total, task->buf,
			   task_fua(task));
		return;
	}
	base = (uint64_t)step * chunk;
	len = total - base < chunk ? total - base : chunk;
	sbc_submit(task, BACKING_READ, task_offset(task) + base, len, io->scratch, false);
}

/*
 * WRITE SAME: priv.lba/nblocks is the range; the scratch buffer holds the
 * pattern block repeated, and each step writes the next chunk. The
 * all-zero cases become one WRITE_ZEROES or DISCARD (steps WS_ZEROES,
 * WS_DISCARD; the step after either completes).
 */
#define WS_ZEROES 0x800000u
#define WS_DISCARD 0xc00000u

static void step_write_same(struct scsi_task *task, unsigned int step)
{
	struct scsi_io_ctx *io = task->priv.io;
	uint32_t bs = task->priv.lu->block_size;
	uint64_t chunk_blocks = io->scratch_cap / bs;
	uint64_t done, left;

	if (step & WS_ZEROES) {
		if (step == WS_ZEROES || step == WS_DISCARD) {
			sbc_submit(task, step == WS_DISCARD ? BACKING_DISCARD : BACKING_WRITE_ZEROES,
				   task_offset(task), (uint64_t)task->priv.nblocks * bs, NULL,
				   false);
			return;
		}
		sbc_complete(task);
		return;
	}
	done = (uint64_t)step * chunk_blocks;
	if (done >= task->priv.nblocks) {
		sbc_complete(task);
		return;
	}
	left = task->priv.nblocks - done;
	if (left > chunk_blocks) {
		left = chunk_blocks;
	}
	sbc_submit(task, BACKING_WRITE, (task->priv.lba + done) * bs, left * bs, io->scratch,
		   task_fua(task));
}

static void step_unmap(struct scsi_task *task, unsigned int step)
{
	uint32_t bs = task->priv.lu->block_size;
	const uint8_t *descs = task->buf + UNMAP_HDR_LEN;

	/* priv.nblocks holds the descriptor count; step indexes the next one. */
	while (step < task->priv.nblocks) {
		const uint8_t *d = descs + (size_t)step * UNMAP_DESC_LEN;
		uint64_t lba = get_be64(d);
		uint32_t count = get_be32(d + 8);

		if (count) {
			task->priv.stage = STAGE(SBC_IO_UNMAP, step);
			sbc_submit(task, BACKING_DISCARD, lba * bs, (uint64_t)count * bs, NULL,
				   false);
			return;
		}
		step++;
	}
	sbc_complete(task);
}

static void step_flush(struct scsi_task *task, unsigned int step)
{
	if (step == 0) {
		sbc_submit(task, BACKING_FLUSH, 0, 0, NULL, false);
		return;
	}
	sbc_complete(task);
}

static void sbc_step(struct scsi_task *task)
{
	unsigned int step = task->priv.stage & STAGE_STEP_MASK;

	switch ((enum sbc_kind)(task->priv.stage >> STAGE_KIND_SHIFT)) {
	case SBC_IO_READ:
		step_read(task, step);
		break;
	case SBC_IO_WRITE:
		step_write(task, step);
		break;
	case SBC_IO_VERIFY:
		step_verify(task, step);
		break;
	case SBC_IO_CAW:
		step_caw(task, step);
		break;
	case SBC_IO_ORWRITE:
		step_orwrite(task, step);
		break;
	case SBC_IO_WRITE_SAME:
		step_write_same(task, step);
		break;
	case SBC_IO_UNMAP:
		step_unmap(task, step);
		break;
	case SBC_IO_FLUSH:
		step_flush(task, step);
		break;
	case SBC_IO_HOLD:
		step_hold(task);
		break;
	}
}

/* ---- handlers ---- */

/* Data-Out shorter than the CDB needs: refuse rather than write a partial block. */
static int data_out_short(struct scsi_task *task)
{
	return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CMD_IU);
}

int sbc_read(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	uint64_t lba, nblocks;
	int rc;

	(void)desc;
	rw_decode(task, &lba, &nblocks);
	rc = rw_check(task, lba, nblocks, nblocks);
	if (rc >= 0) {
		return rc;
	}
	if (!nblocks || !task->buf || !task->buf_cap) {
		return SCSI_EXEC_DONE;
	}
	if (!sbc_prepare(task, SBC_IO_READ, lba, nblocks, 0)) {
		return SCSI_EXEC_DONE;
	}
	return sbc_go(task, LOCK_READ, 0);
}

int sbc_write(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	bool orwrite = desc->opcode == OP_ORWRITE16;
	uint64_t lba, nblocks;
	int rc;

	rw_decode(task, &lba, &nblocks);
	rc = rw_check(task, lba, nblocks, nblocks);
	if (rc >= 0) {
		return rc;
	}
	/* WRITE AND VERIFY: BYTCHK 00b/01b (SBC-4 5.40); the compare is of what we wrote. */
	if (desc->usage[1] & (CDB_BYTCHK_MASK << CDB_BYTCHK_SHIFT)) {
		if (((task->cdb[1] >> CDB_BYTCHK_SHIFT) & CDB_BYTCHK_MASK) > BYTCHK_COMPARE) {
			return scsi_task_invalid_field(task, true, 1, 2);
		}
	}
	if (task->data_out_len < task->xfer_len) {
		/*
		 * EDTL below the CDB's transfer length (RFC 7143 11.4.5.1 overflow):
		 * as FCP-4 9.4.2 a), write only the blocks the initiator sent and
		 * let the residual tell it; a partial block cannot be written
		 * without inventing data, so that case is refused (0E/03).
		 */
		if (task->data_out_len % task->priv.lu->block_size) {
			return data_out_short(task);
		}
		nblocks = task->data_out_len / task->priv.lu->block_size;
	}
	if (!nblocks) {
		return SCSI_EXEC_DONE;
	}
	if (!task->buf) {
		return data_out_short(task);
	}
	if (!sbc_prepare(task, orwrite ? SBC_IO_ORWRITE : SBC_IO_WRITE, lba, nblocks,
			 orwrite ? scratch_len(task->priv.lu, nblocks) : 0)) {
		return SCSI_EXEC_DONE;
	}
	return sbc_go(task, orwrite ? LOCK_EXCL : LOCK_WRITE, 0);
}

int sbc_verify(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	int bytchk = (task->cdb[1] >> CDB_BYTCHK_SHIFT) & CDB_BYTCHK_MASK;
	uint64_t lba, nblocks, xfer_blocks;
	int rc;

	(void)desc;
	rw_decode(task, &lba, &nblocks);
	/* SBC-4 5.34: BYTCHK 10b is reserved. */
	if (bytchk != BYTCHK_NONE && bytchk != BYTCHK_COMPARE && bytchk != BYTCHK_SAME) {
		return scsi_task_invalid_field(task, true, 1, 2);
	}
	xfer_blocks = bytchk == BYTCHK_NONE ? 0 : bytchk == BYTCHK_SAME ? 1 : nblocks;
	if (!nblocks) {
		xfer_blocks = 0;
	}
	rc = rw_check(task, lba, nblocks, xfer_blocks);
	if (rc >= 0) {
		return rc;
	}
	if (!nblocks || bytchk == BYTCHK_NONE) {
		/* Nothing to compare; a virtual medium has no unreadable blocks to find. */
		return SCSI_EXEC_DONE;
	}
	if (task->data_out_len < task->xfer_len || !task->buf) {
		return data_out_short(task);
	}
	if (!sbc_prepare(task, SBC_IO_VERIFY, lba, nblocks, scratch_len(lu, nblocks))) {
		return SCSI_EXEC_DONE;
	}
	return sbc_go(task, LOCK_READ, 0);
}

/*
 * COMPARE AND WRITE on a shared LU (scsi_cmd_offered: only with caw hooks):
 * the daemon holds the range on every node and then calls scsi_caw_run().
 */
static int caw_begin_shared(struct scsi_task *task)
{
	struct scsi_lu *lu = task->priv.lu;
	struct scsi_target *target = lu->target;
	int rc;

	rc = target->caw_hooks.begin(target->caw_hooks.ctx, target, lu->id, task->priv.lba,
				     task->priv.nblocks, task);
	if (rc == 0) {
		lu->inflight++; /* like sbc_go(): counted until sbc_complete() */
		return SCSI_EXEC_ASYNC;
	}
	io_put(lu, task->priv.io);
	task->priv.io = NULL;
	if (rc == -EAGAIN) {
		return scsi_task_sense(task, SENSE_KEY_NOT_READY,
				       ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	}
	log_warn("scsi: target '%s' LUN %u: COMPARE AND WRITE cannot lock its blocks: %s",
		 target->name, lu->id, strerror(-rc));
	return scsi_task_sense(task, SENSE_KEY_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE);
}

void scsi_caw_run(struct scsi_task *task, void *cookie)
{
	((struct scsi_io_ctx *)task->priv.io)->caw_cookie = cookie;
	sbc_step(task);
}

void scsi_caw_fail(struct scsi_task *task, uint8_t key, uint16_t asc)
{
	scsi_task_sense(task, key, asc);
	sbc_complete(task);
}

void scsi_target_set_caw_hooks(struct scsi_target *target, const struct scsi_caw_hooks *hooks)
{
	target->caw_hooks = hooks ? *hooks : (struct scsi_caw_hooks){ 0 };
}

/* ---- range holds (scsi_caw.h) ---- */

struct scsi_range_hold {
	struct scsi_task task;		/* in the LU's lock queue like a command's */
	scsi_range_granted_fn granted;
	void *arg;
	bool held;
};

static void step_hold(struct scsi_task *task)
{
	struct scsi_range_hold *h = (struct scsi_range_hold *)task;

	h->held = true;
	h->granted(h->arg);
}

int scsi_range_hold(struct scsi_target *target, uint16_t lun_id, uint64_t lba, uint32_t count,
		    scsi_range_granted_fn granted, void *arg, struct scsi_range_hold **out)
{
	struct scsi_lu *lu = lun_id < SCSI_LUN_MAX ? target->lu_index[lun_id] : NULL;
	struct scsi_range_hold *h;

	if (!lu) {
		return -ENOENT;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		return -ENOMEM;
	}
	h->granted = granted;
	h->arg = arg;
	h->task.priv.lu = lu;
	*out = h;
	if (!sbc_prepare(&h->task, SBC_IO_HOLD, lba, count ? count : 1, 0)) {
		free(h);
		*out = NULL;
		return -ENOMEM;
	}
	(void)sbc_go(&h->task, LOCK_EXCL, 0);
	return 0;
}

void scsi_range_release(struct scsi_range_hold *h)
{
	struct scsi_lu *lu = h->task.priv.lu;
	struct scsi_io_ctx *io = h->task.priv.io;

	if (!h->held) {
		lock_wait_remove(lu, &h->task);
		io->lock_count = 0;
	}
	lock_release(lu, io);
	io_put(lu, io);
	if (!h->held) {
		lock_start_waiters(lu); /* those queued behind it may go now */
	}
	free(h);
	scsi_lu_inflight_drop(lu);
}

int sbc_compare_and_write(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	uint64_t lba = get_be64(&task->cdb[2]);
	uint32_t nblocks = task->cdb[13];
	int rc;

	(void)desc;
	/* Data-Out is the verify data followed by the write data (SBC-3 5.2). */
	task->xfer_len = 2 * nblocks * lu->block_size;
	if (nblocks > sbc_max_caw_blocks(lu->block_size)) {
		return scsi_task_invalid_field(task, true, 13, 7);
	}
	rc = rw_check(task, lba, nblocks, 2 * (uint64_t)nblocks);
	if (rc >= 0) {
		return rc;
	}
	if (!nblocks) {
		/*
		 * Zero blocks is a no-op (SBC-3 5.2), but not when Data-Out comes
		 * with it: the NUMBER OF LOGICAL BLOCKS field then disagrees with
		 * the command (e.g. 256 truncated to one byte).
		 */
		return task->expected_len ? scsi_task_invalid_field(task, true, 13, 7) :
					    SCSI_EXEC_DONE;
	}
	/* The initiator must send exactly what NUMBER OF LOGICAL BLOCKS implies. */
	if (task->expected_len != task->xfer_len || task->data_out_len < task->xfer_len ||
	    !task->buf) {
		return data_out_short(task);
	}
	if (!sbc_prepare(task, SBC_IO_CAW, lba, nblocks, (size_t)nblocks * lu->block_size)) {
		return SCSI_EXEC_DONE;
	}
	if (lu->cfg.shared) {
		return caw_begin_shared(task);
	}
	return sbc_go(task, LOCK_EXCL, 0);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i]) {
			return false;
		}
	}
	return true;
}

int sbc_write_same(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	bool sixteen = desc->cdb_len == 16;
	const uint8_t *c = task->cdb;
	uint64_t lba = sixteen ? get_be64(&c[2]) : get_be32(&c[2]);
	uint64_t nblocks = sixteen ? get_be32(&c[10]) : get_be16(&c[7]);
	bool ndob = sixteen && (c[1] & CDB_WS_NDOB);
	bool unmap = c[1] & CDB_WS_UNMAP;
	uint32_t bs = lu->block_size;
	struct scsi_io_ctx *io;

	task->xfer_len = ndob ? 0 : bs;
	if (c[1] & CDB_PROTECT_MASK) {
		return scsi_task_invalid_field(task, true, 1, 7);
	}
	/* LBPWS/LBPWS10 are 0 on a fully provisioned LU: UNMAP=1 is refused (SBC-3 5.45). */
	if (unmap && !lu->thin) {
		return scsi_task_invalid_field(task, true, 1, 3);
	}
	/* ANC_SUP is 0 in VPD B2h: ANCHOR is not supported (SBC-3 5.45). */
	if (c[1] & CDB_WS_ANCHOR) {
		return scsi_task_invalid_field(task, true, 1, 4);
	}
	if (lba_out_of_range(lu, lba, nblocks)) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	}
	/* WSNZ=1 in VPD B0h; and MAXIMUM WRITE SAME LENGTH. */
	if (nblocks == 0 || nblocks > SBC_MAX_WS_BLOCKS) {
		return scsi_task_invalid_field(task, true, sixteen ? 10 : 7, 7);
	}
	if (!ndob && (task->expected_len != bs || task->data_out_len < bs || !task->buf)) {
		return data_out_short(task);
	}
	if (ndob || all_zero(task->buf, bs)) {
		/* Deallocate only when reads will return the same zeroes (LBPRZ). */
		bool discard = unmap && lu->thin && lu->lbprz;

		if (!sbc_prepare(task, SBC_IO_WRITE_SAME, lba, nblocks, 0)) {
			return SCSI_EXEC_DONE;
		}
		return sbc_go(task, LOCK_WRITE, discard ? WS_DISCARD : WS_ZEROES);
	}
	io = sbc_prepare(task, SBC_IO_WRITE_SAME, lba, nblocks, scratch_len(lu, nblocks));
	if (!io) {
		return SCSI_EXEC_DONE;
	}
	/* scratch_cap may exceed chunk from earlier use: fill all of it whole blocks. */
	for (size_t off = 0; off + bs <= io->scratch_cap; off += bs) {
		memcpy(io->scratch + off, task->buf, bs);
	}
	return sbc_go(task, LOCK_WRITE, 0);
}

int sbc_unmap(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	uint32_t plen = get_be16(&task->cdb[7]);
	const uint8_t *d = task->buf;
	uint32_t bdlen, ndesc;

	(void)desc;
	task->xfer_len = plen;
	if (!lu->thin) {
		/* LBPU=0: UNMAP is not supported on a fully provisioned LU. */
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
				       ASC_INVALID_COMMAND_OPERATION_CODE);
	}
	if (task->cdb[1] & CDB_UNMAP_ANCHOR) {
		return scsi_task_invalid_field(task, true, 1, 0);
	}
	if (plen == 0) {
		return SCSI_EXEC_DONE;
	}
	if (plen < UNMAP_HDR_LEN) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
				       ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	if (task->data_out_len < plen || !d) {
		return data_out_short(task);
	}
	/* SBC-3 5.28.2: the lengths inside must agree with the list we got. */
	bdlen = get_be16(&d[2]);
	if (get_be16(&d[0]) + 2u > plen || bdlen + UNMAP_HDR_LEN > plen) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
				       ASC_PARAMETER_LIST_LENGTH_ERROR);
	}
	ndesc = bdlen / UNMAP_DESC_LEN;
	if (ndesc > SBC_MAX_UNMAP_DESCS) {
		return scsi_task_invalid_field(task, false, 2, 7);
	}
	for (uint32_t i = 0; i < ndesc; i++) {
		const uint8_t *e = d + UNMAP_HDR_LEN + (size_t)i * UNMAP_DESC_LEN;
		uint64_t lba = get_be64(e);
		uint32_t count = get_be32(e + 8);

		if (lba_out_of_range(lu, lba, count)) {
			return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
					       ASC_LBA_OUT_OF_RANGE);
		}
		if (count > SBC_MAX_UNMAP_LBAS) {
			return scsi_task_invalid_field(task, false,
						       (unsigned int)(UNMAP_HDR_LEN + i * UNMAP_DESC_LEN + 8),
						       7);
		}
	}
	if (!ndesc) {
		return SCSI_EXEC_DONE;
	}
	if (!sbc_prepare(task, SBC_IO_UNMAP, 0, ndesc, 0)) {
		return SCSI_EXEC_DONE;
	}
	/* priv.nblocks is the descriptor count here; no range lock (see file comment). */
	return sbc_go(task, LOCK_NONE, 0);
}

int sbc_sync_cache(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	bool sixteen = desc->cdb_len == 16;
	uint64_t lba = sixteen ? get_be64(&task->cdb[2]) : get_be32(&task->cdb[2]);
	uint64_t nblocks = sixteen ? get_be32(&task->cdb[10]) : get_be16(&task->cdb[7]);

	/* NUMBER OF LOGICAL BLOCKS 0 means "to the end of the medium" (SBC-3 5.22). */
	if (lba_out_of_range(lu, lba, nblocks)) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	}
	/* IMMED is honoured by waiting anyway: the flush is one fdatasync. */
	if (!sbc_prepare(task, SBC_IO_FLUSH, lba, 0, 0)) {
		return SCSI_EXEC_DONE;
	}
	return sbc_go(task, LOCK_NONE, 0);
}

int sbc_prefetch(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	bool sixteen = desc->cdb_len == 16;
	uint64_t lba = sixteen ? get_be64(&task->cdb[2]) : get_be32(&task->cdb[2]);
	uint64_t nblocks = sixteen ? get_be32(&task->cdb[10]) : get_be16(&task->cdb[7]);

	if (lba_out_of_range(lu, lba, nblocks)) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	}
	/*
	 * SBC-3 5.10: CONDITION MET promises the blocks will be in the cache;
	 * we keep no cache of our own, so the honest answer is GOOD.
	 */
	return SCSI_EXEC_DONE;
}

int sbc_read_capacity10(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	const struct scsi_lu *lu = task->priv.lu;
	uint8_t d[RC10_LEN];
	uint64_t last = lu->nblocks ? lu->nblocks - 1 : 0;

	(void)desc;
	/* SBC-3 5.16: with PMI=0 the LOGICAL BLOCK ADDRESS field must be zero. */
	if (!(task->cdb[8] & CDB_RC10_PMI) && get_be32(&task->cdb[2])) {
		return scsi_task_invalid_field(task, true, 2, 7);
	}
	put_be32(&d[0], last > RC10_LBA_MAX ? RC10_LBA_MAX : (uint32_t)last);
	put_be32(&d[4], lu->block_size);
	return scsi_task_data_in(task, d, sizeof(d), sizeof(d));
}

int sbc_read_capacity16(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	const struct scsi_lu *lu = task->priv.lu;
	uint8_t d[RC16_LEN] = { 0 };

	(void)desc;
	if (!(task->cdb[14] & CDB_RC16_PMI) && get_be64(&task->cdb[2])) {
		return scsi_task_invalid_field(task, true, 2, 7);
	}
	put_be64(&d[0], lu->nblocks ? lu->nblocks - 1 : 0);
	put_be32(&d[8], lu->block_size);
	/* No protection, one logical block per physical block, lowest aligned LBA 0. */
	d[14] = (lu->thin ? RC16_LBPME : 0) | (lu->lbprz ? RC16_LBPRZ : 0);
	return scsi_task_data_in(task, d, sizeof(d), get_be32(&task->cdb[10]));
}

int sbc_get_lba_status(struct scsi_task *task, const struct scsi_cmd_desc *desc)
{
	struct scsi_lu *lu = task->priv.lu;
	uint64_t lba = get_be64(&task->cdb[2]);
	uint32_t alloc = get_be32(&task->cdb[10]);
	uint8_t *d = lu->target->resp;
	uint32_t bs = lu->block_size;
	unsigned int n = 0, max;

	(void)desc;
	if (lba >= lu->nblocks) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	}
	max = alloc > GLS_HDR_LEN ? (alloc - GLS_HDR_LEN) / GLS_DESC_LEN : 0;
	if (max < 1) {
		max = 1;
	}
	if (max > GLS_MAX_DESCS) {
		max = GLS_MAX_DESCS;
	}
	while (n < max && lba < lu->nblocks) {
		uint8_t *e = &d[GLS_HDR_LEN + n * GLS_DESC_LEN];
		bool mapped = true;
		uint64_t ext = (lu->nblocks - lba) * bs;
		uint64_t blocks;

		if (lu->thin && backing_map_status(lu->store, lba * bs, &mapped, &ext) < 0) {
			mapped = true;
			ext = (lu->nblocks - lba) * bs;
		}
		/* Round the extent to whole blocks; a partly mapped block counts as mapped. */
		blocks = mapped ? (ext + bs - 1) / bs : ext / bs;
		if (blocks == 0) {
			blocks = 1;
			mapped = true;
		}
		if (blocks > lu->nblocks - lba) {
			blocks = lu->nblocks - lba;
		}
		if (blocks > UINT32_MAX) {
			blocks = UINT32_MAX;
		}
		memset(e, 0, GLS_DESC_LEN);
		put_be64(e, lba);
		put_be32(e + 8, (uint32_t)blocks);
		e[12] = mapped ? GLS_MAPPED : GLS_DEALLOCATED;
		lba += blocks;
		n++;
	}
	put_be32(&d[0], GLS_HDR_LEN - 4 + n * GLS_DESC_LEN);
	memset(&d[4], 0, 4);
	return scsi_task_data_in(task, d, GLS_HDR_LEN + n * GLS_DESC_LEN, alloc);
}
