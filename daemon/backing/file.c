/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "file" store: a regular file or a block device, driven through the
 * shared io_uring (engine.c). Every operation is an io_uring opcode, so
 * nothing here blocks the main loop:
 *
 *   READ/WRITE     IORING_OP_READ/WRITE; FUA sets RWF_DSYNC on the write.
 *                  Short transfers continue from io->done_bytes; one SQE
 *                  moves at most FILE_CHUNK_MAX bytes.
 *   FLUSH          IORING_OP_FSYNC with IORING_FSYNC_DATASYNC (fdatasync).
 *   DISCARD        IORING_OP_FALLOCATE(PUNCH_HOLE | KEEP_SIZE). On a regular
 *                  file that deallocates and holes read zero. On a block
 *                  device the kernel turns it into WRITE ZEROES that may
 *                  unmap (blkdev_fallocate), so discarded blocks read zero
 *                  there too and LBPRZ is honest. We use it instead of the
 *                  BLKDISCARD ioctl, which is synchronous and may leave
 *                  garbage; the price is that a device with discard but
 *                  without write-zeroes support reports no discard.
 *   WRITE_ZEROES   IORING_OP_FALLOCATE(ZERO_RANGE | KEEP_SIZE) (block
 *                  devices: BLKDEV_ZERO_NOUNMAP with an in-kernel fallback);
 *                  if a file system answers EOPNOTSUPP, this and every later
 *                  request of the store write the shared zero buffer.
 *
 * Inline fast path (file_try_inline): data already in memory is copied at
 * submit time instead of taking a trip through io_uring, whose worker
 * threads would add a thread wake-up and an eventfd round trip to every
 * 4 KiB command. It applies to READ/WRITE of at most FILE_INLINE_MAX bytes
 * without O_DIRECT and without FUA, on
 *  - memory file systems (tmpfs, ramfs): their pages are memory, a copy
 *    cannot wait for a disk, and they have no RWF_NOWAIT support to ask;
 *  - any other file through preadv2/pwritev2(RWF_NOWAIT), which copies only
 *    what the page cache holds and never waits; the rest continues through
 *    io_uring from io->done_bytes. A file system answering EOPNOTSUPP is
 *    not asked again in that direction (ext4 reads with RWF_NOWAIT but
 *    refuses buffered writes: its writes must not cost the reads).
 * Either way the request completes through the engine's ready list, never
 * inside backing_submit().
 *
 * The store opens an existing path and never creates one (the daemon's
 * --demo creates its file). A regular file smaller than the configured
 * size is extended sparsely with ftruncate(); a larger one exports only
 * its first size_bytes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#include "daemon/backing/backing_int.h"
#include "daemon/base/direct_io.h"
#include "daemon/base/domain.h"
#include "daemon/base/log.h"

_Static_assert(BACKING_BUF_ALIGN == DIRECT_IO_BUF_ALIGN,
	       "direct_io_block_fits() checks the alignment the buffers have");

/* Largest request copied inline: bigger copies go to io_uring's workers,
 * which run them on another core while the loop serves the network
 * (1 MiB reads from tmpfs: ~15% more throughput that way here). */
#define FILE_INLINE_MAX (256u * 1024u)

/* Largest transfer of one SQE: the SQE length field is 32 bits wide. */
#define FILE_CHUNK_MAX (1024u * 1024u * 1024u)

#define FILE_PUNCH_MODE (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define FILE_ZERO_MODE	(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Probe hole punching on a writable regular file: punch one block past the
 * end of the file, where there is no data to lose. File systems without
 * support answer EOPNOTSUPP.
 */
static bool file_probe_punch(struct backing *store, uint64_t file_end)
{
	if (fallocate(store->fd, FILE_PUNCH_MODE, (off_t)file_end, store->block_size) == 0) {
		return true;
	}
	log_info("backing: \"%s\" cannot punch holes (%s); discard disabled", store->path,
		 strerror(errno));
	return false;
}

static int file_open_regular(struct backing *store, const struct backing_params *params,
			     const struct stat *st)
{
	uint64_t file_size = (uint64_t)st->st_size;

	if (params->size_bytes == 0) {
		if (file_size == 0) {
			log_err("backing: \"%s\" is empty and no size was given", store->path);
			return -EINVAL;
		}
		store->size = file_size;
	} else if (params->size_bytes > file_size) {
		if (params->read_only) {
			log_err("backing: read-only \"%s\" is smaller (%" PRIu64 " bytes) than "
				"the configured %" PRIu64,
				store->path, file_size, params->size_bytes);
			return -EINVAL;
		}
		if (params->size_bytes % params->block_size) {
			goto bad_size;
		}
		if (ftruncate(store->fd, (off_t)params->size_bytes) < 0) {
			int rc = -errno;

			log_perror(rc, "backing: extending \"%s\"", store->path);
			return rc;
		}
		store->size = params->size_bytes;
		file_size = params->size_bytes;
	} else {
		store->size = params->size_bytes;
	}
	if (store->size % params->block_size) {
		goto bad_size;
	}
	if (!params->read_only) {
		store->can_discard = file_probe_punch(store, file_size);
		store->discard_zeroes = true;
	}
	return 0;

bad_size:
	log_err("backing: size of \"%s\" is not a multiple of the block size %u", store->path,
		params->block_size);
	return -EINVAL;
}

/* Read an unsigned number from the queue/ sysfs directory of block device @rdev. */
static int file_blkdev_queue_attr(dev_t rdev, const char *attr, uint64_t *value)
{
	/* A partition has no queue/ of its own: its parent's applies. */
	static const char *const parents[] = {"", "../"};
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(parents) / sizeof(parents[0]); i++) {
		FILE *f;
		int n;

		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%squeue/%s", major(rdev),
			 minor(rdev), parents[i], attr);
		f = fopen(path, "re");
		if (!f) {
			continue;
		}
		n = fscanf(f, "%" SCNu64, value);
		fclose(f);
		return n == 1 ? 0 : -EIO;
	}
	return -ENOENT;
}

static int file_open_blkdev(struct backing *store, const struct backing_params *params,
			    const struct stat *st)
{
	uint64_t dev_size, wz_max = 0;
	int sector_size;

	if (ioctl(store->fd, BLKGETSIZE64, &dev_size) < 0 ||
	    ioctl(store->fd, BLKSSZGET, &sector_size) < 0) {
		int rc = -errno;

		log_perror(rc, "backing: querying block device \"%s\"", store->path);
		return rc;
	}
	/* Every request must be aligned to the device's logical block. */
	if (sector_size <= 0 || params->block_size % (uint32_t)sector_size) {
		log_err("backing: block size %u of \"%s\" is not a multiple of its sector size %d",
			params->block_size, store->path, sector_size);
		return -EINVAL;
	}
	if (params->size_bytes > dev_size) {
		log_err("backing: \"%s\" has %" PRIu64 " bytes, fewer than the configured %" PRIu64,
			store->path, dev_size, params->size_bytes);
		return -EINVAL;
	}
	store->size = params->size_bytes ? params->size_bytes : dev_size;
	if (store->size == 0 || store->size % params->block_size) {
		log_err("backing: size of \"%s\" is not a non-zero multiple of the block size %u",
			store->path, params->block_size);
		return -EINVAL;
	}
	store->is_blkdev = true;
	if (!params->read_only &&
	    file_blkdev_queue_attr(st->st_rdev, "write_zeroes_max_bytes", &wz_max) == 0 &&
	    wz_max > 0) {
		store->can_discard = true;
		store->discard_zeroes = true;
	}
	return 0;
}

/* Decide how the store may be served inline (see the top of the file). */
static void file_probe_inline(struct backing *store)
{
	struct statfs sfs;

	store->inline_io = BACKING_INLINE_NONE;
	if (store->direct_io) {
		return;
	}
	store->inline_io = BACKING_INLINE_NOWAIT;
	if (fstatfs(store->fd, &sfs) == 0 &&
	    (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC)) {
		store->inline_io = BACKING_INLINE_MEMORY;
	}
}

static int file_open(struct backing *store, const struct backing_params *params)
{
	struct stat st;
	int flags, rc;

	if (!params->path || !params->path[0]) {
		log_err("backing: file store without a path");
		return -EINVAL;
	}
	store->path = strdup(params->path);
	if (!store->path) {
		return -ENOMEM;
	}
	flags = (params->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	if (params->direct_io) {
		flags |= O_DIRECT;
	}
	store->fd = open(store->path, flags);
	if (store->fd < 0) {
		rc = -errno;
		if (rc == -EINVAL && params->direct_io) {
			log_err("backing: the file system of \"%s\" does not support O_DIRECT",
				store->path);
		} else {
			log_perror(rc, "backing: opening \"%s\"", store->path);
		}
		return rc;
	}
	if (fstat(store->fd, &st) < 0) {
		rc = -errno;
		log_perror(rc, "backing: stat \"%s\"", store->path);
		goto err;
	}
	if (params->direct_io && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		uint32_t need = 0;

		rc = direct_io_block_fits(store->fd, params->block_size, &need);
		if (rc < 0) {
			log_err("backing: \"%s\" with O_DIRECT needs requests aligned to %u bytes; "
				"a block size of %u does not fit",
				store->path, need, params->block_size);
			goto err;
		}
	}
	if (S_ISREG(st.st_mode)) {
		rc = file_open_regular(store, params, &st);
	} else if (S_ISBLK(st.st_mode)) {
		rc = file_open_blkdev(store, params, &st);
	} else if (S_ISDIR(st.st_mode)) {
		log_err("backing: \"%s\" is a directory", store->path);
		rc = -EISDIR;
	} else {
		log_err("backing: \"%s\" is neither a regular file nor a block device",
			store->path);
		rc = -EINVAL;
	}
	if (rc < 0) {
		goto err;
	}
	file_probe_inline(store);
	log_debug("backing: opened \"%s\": %" PRIu64 " bytes, %u-byte blocks%s%s%s", store->path,
		  store->size, store->block_size, params->read_only ? ", read-only" : "",
		  params->direct_io ? ", O_DIRECT" : "", store->can_discard ? ", discard" : "");
	return 0;

err:
	close(store->fd);
	store->fd = -1;
	return rc;
}

static void file_close(struct backing *store)
{
	if (store->fd >= 0) {
		close(store->fd);
		store->fd = -1;
	}
}

/*
 * Copy what can be copied without waiting; @return true if @io is finished
 * (queued on the ready list), false to continue through io_uring.
 */
static bool file_try_inline(struct backing *store, struct backing_io *io)
{
	int flags = store->inline_io == BACKING_INLINE_MEMORY ? 0 : RWF_NOWAIT;

	if (io->fua || (io->op != BACKING_READ && io->op != BACKING_WRITE) ||
	    io->len > FILE_INLINE_MAX) {
		return false;
	}
	if (io->op == BACKING_WRITE && flags && store->no_nowait_write) {
		return false;
	}
	while (io->done_bytes < io->len) {
		struct iovec iov = {
			.iov_base = (uint8_t *)io->buf + io->done_bytes,
			.iov_len = (size_t)min_u64(io->len - io->done_bytes, FILE_CHUNK_MAX),
		};
		off_t pos = (off_t)(io->offset + io->done_bytes);
		ssize_t n = io->op == BACKING_READ ? preadv2(store->fd, &iov, 1, pos, flags)
						   : pwritev2(store->fd, &iov, 1, pos, flags);

		if (n > 0) {
			io->done_bytes += (uint64_t)n;
			continue;
		}
		if (n == 0 && io->op == BACKING_READ) {
			/* End of file inside the store (truncated under
			 * us): the io_uring path reports it (-EIO). */
			return false;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && errno == EOPNOTSUPP && flags) {
			if (io->op == BACKING_WRITE) {
				store->no_nowait_write = true;
			} else {
				store->inline_io = BACKING_INLINE_NONE;
			}
		}
		/* EAGAIN (not cached), EOPNOTSUPP, or a real error: io_uring
		 * retries from done_bytes and reports a real error itself. */
		return false;
	}
	backing_engine_complete_later(io, 0);
	return true;
}

static void file_submit(struct backing *store, struct backing_io *io)
{
	if (io->op == BACKING_WRITE_ZEROES && store->no_zero_range) {
		io->flags |= BACKING_IO_ZERO_FILL;
	}
	if (store->inline_io != BACKING_INLINE_NONE && file_try_inline(store, io)) {
		return;
	}
	backing_engine_start(io);
}

static void file_prep(struct backing_io *io, struct io_uring_sqe *sqe)
{
	const struct backing *store = io->store;
	uint64_t pos = io->offset + io->done_bytes;
	uint64_t left = io->len - io->done_bytes;

	switch (io->op) {
	case BACKING_READ:
		io_uring_prep_read(sqe, store->fd, (char *)io->buf + io->done_bytes,
				   (unsigned int)min_u64(left, FILE_CHUNK_MAX), pos);
		break;
	case BACKING_WRITE:
		io_uring_prep_write(sqe, store->fd, (const char *)io->buf + io->done_bytes,
				    (unsigned int)min_u64(left, FILE_CHUNK_MAX), pos);
		if (io->fua) {
			/* SBC-3 WRITE(10/16) FUA bit: durable before GOOD status. */
			sqe->rw_flags = RWF_DSYNC;
		}
		break;
	case BACKING_FLUSH:
		io_uring_prep_fsync(sqe, store->fd, IORING_FSYNC_DATASYNC);
		break;
	case BACKING_DISCARD:
		io_uring_prep_fallocate(sqe, store->fd, FILE_PUNCH_MODE, (off_t)io->offset,
					(off_t)io->len);
		break;
	case BACKING_WRITE_ZEROES:
		if (io->flags & BACKING_IO_ZERO_FILL) {
			io_uring_prep_write(sqe, store->fd, backing_engine_zero_buf(),
					    (unsigned int)min_u64(left, BACKING_ZERO_BUF_SIZE),
					    pos);
		} else {
			io_uring_prep_fallocate(sqe, store->fd, FILE_ZERO_MODE, (off_t)io->offset,
						(off_t)io->len);
		}
		break;
	}
}

static bool file_complete(struct backing_io *io, int res)
{
	bool transfer = io->op == BACKING_READ || io->op == BACKING_WRITE ||
			(io->flags & BACKING_IO_ZERO_FILL);

	/* Transient: run the same step again. */
	if (res == -EAGAIN || res == -EINTR) {
		return false;
	}
	if (io->op == BACKING_WRITE_ZEROES && !transfer && res == -EOPNOTSUPP) {
		log_info("backing: \"%s\" cannot zero ranges in place; writing zeroes",
			 io->store->path);
		io->store->no_zero_range = true;
		io->flags |= BACKING_IO_ZERO_FILL;
		return false;
	}
	if (res < 0) {
		io->result = res;
		return true;
	}
	if (!transfer) {
		io->done_bytes = io->len;
		io->result = 0;
		return true;
	}
	if (res == 0) {
		/* End of file inside the store: someone truncated it under us. */
		io->result = -EIO;
		return true;
	}
	io->done_bytes += (uint64_t)res;
	if (io->done_bytes < io->len) {
		return false;
	}
	io->result = 0;
	return true;
}

/*
 * LUN resize: the proposer already grew a shared file; this node's open
 * file is extended only where it is still shorter (a file of its own).
 */
static int file_resize(struct backing *store, uint64_t size)
{
	struct stat st;
	uint64_t have;

	if (store->is_blkdev) {
		if (ioctl(store->fd, BLKGETSIZE64, &have) < 0) {
			return -errno;
		}
	} else {
		if (fstat(store->fd, &st) < 0) {
			return -errno;
		}
		have = (uint64_t)st.st_size;
	}
	if (size > have) {
		if (store->is_blkdev || store->read_only) {
			log_err("backing: \"%s\" has %" PRIu64
				" bytes, fewer than the new size %" PRIu64,
				store->path, have, size);
			return -EFBIG;
		}
		if (ftruncate(store->fd, (off_t)size) < 0) {
			int rc = -errno;

			log_perror(rc, "backing: extending \"%s\"", store->path);
			return rc;
		}
	}
	store->size = size;
	return 0;
}

/* SBC-3 GET LBA STATUS: holes of a regular file are deallocated. */
static int file_map_status(struct backing *store, uint64_t offset, bool *mapped,
			   uint64_t *extent_len)
{
	off_t data, hole;

	if (store->is_blkdev) {
		*mapped = true;
		*extent_len = store->size - offset;
		return 0;
	}
	data = lseek(store->fd, (off_t)offset, SEEK_DATA);
	if (data < 0) {
		if (errno != ENXIO) {
			return -errno;
		}
		/* No data at or after offset. */
		*mapped = false;
		*extent_len = store->size - offset;
		return 0;
	}
	if ((uint64_t)data > offset) {
		*mapped = false;
		*extent_len = min_u64((uint64_t)data, store->size) - offset;
		return 0;
	}
	hole = lseek(store->fd, (off_t)offset, SEEK_HOLE);
	if (hole < 0) {
		return -errno;
	}
	*mapped = true;
	*extent_len = min_u64((uint64_t)hole, store->size) - offset;
	return 0;
}

const struct backing_ops backing_file_ops = {
	.kind = LUN_BACKING_FILE,
	.open = file_open,
	.close = file_close,
	.submit = file_submit,
	.map_status = file_map_status,
	.resize = file_resize,
	.prep = file_prep,
	.complete = file_complete,
};
