/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What O_DIRECT asks of a LUN's I/O. The file system or device under the
 * store wants every request's offset and length to be a multiple of its
 * offset alignment and every buffer aligned to its memory alignment
 * (statx(2) STATX_DIOALIGN, Linux 6.1). A LUN issues requests of whole
 * blocks from buffers aligned to DIRECT_IO_BUF_ALIGN, so its block size
 * must be a multiple of the offset alignment: otherwise READ CAPACITY
 * announces a block size the store cannot take, and an initiator's
 * one-block write fails with EINVAL (a 512-byte LUN in a file on a disk
 * with 4096-byte sectors).
 *
 * Header only: the backing store's open (daemon/backing/file.c) and lun
 * create's probe open (daemon/lun_file.c) both check it.
 */
#ifndef QUORATE_DAEMON_BASE_DIRECT_IO_H
#define QUORATE_DAEMON_BASE_DIRECT_IO_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

/* Alignment of every data buffer handed to a store opened with O_DIRECT. */
#define DIRECT_IO_BUF_ALIGN 4096u

/**
 * Can @fd, opened with O_DIRECT, take requests of whole @block_size-byte
 * blocks from DIRECT_IO_BUF_ALIGN-aligned buffers? @return 0 when it can or
 * when the kernel does not say (then the first request tells), -EINVAL when
 * it cannot: *@need is then the offset (or memory) alignment it wants.
 */
static inline int direct_io_block_fits(int fd, uint32_t block_size, uint32_t *need)
{
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) < 0 ||
	    !(stx.stx_mask & STATX_DIOALIGN) || stx.stx_dio_offset_align == 0) {
		return 0;
	}
	if (block_size % stx.stx_dio_offset_align != 0) {
		*need = stx.stx_dio_offset_align;
		return -EINVAL;
	}
	if (stx.stx_dio_mem_align != 0 && DIRECT_IO_BUF_ALIGN % stx.stx_dio_mem_align != 0) {
		*need = stx.stx_dio_mem_align;
		return -EINVAL;
	}
#else
	(void)fd;
	(void)block_size;
	(void)need;
#endif
	return 0;
}

#endif
