/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * COMPARE AND WRITE on a LU that other target nodes write too
 * (scsi_lu_config.shared): SBC-3 5.3 makes it atomic with respect to every
 * other command on the same blocks, and this node's LBA range locks do not
 * see the other nodes' commands. The daemon makes it atomic cluster-wide
 * (daemon/range_lock.c): every node holds the blocks exclusively on its own
 * LU (a range hold: an EXCL range lock held for another node's command)
 * while the command reads, compares and writes them on one node.
 *
 * The SCSI layer's part is the two ends: a CAW on a shared LU goes to the
 * caw_begin hook instead of taking its own lock, and runs when the daemon
 * calls scsi_caw_run() (or fails with scsi_caw_fail()); range holds go
 * through the LU's lock queue like any command, so a hold is granted only
 * when no command holding the blocks is still running, and commands that
 * arrive later wait until it is released. Without hooks a shared LU does not
 * offer COMPARE AND WRITE at all.
 *
 * Everything runs on the main loop's thread.
 */
#ifndef QUORATE_DAEMON_SCSI_SCSI_CAW_H
#define QUORATE_DAEMON_SCSI_SCSI_CAW_H

#include <stdint.h>

#include "daemon/scsi/scsi.h"

struct scsi_caw_hooks {
	/*
	 * A COMPARE AND WRITE @task of [@lba, +@count) on shared LU @lun_id
	 * of @target. On 0 the daemon owns starting it: it calls
	 * scsi_caw_run() once every node holds the range, or scsi_caw_fail().
	 * On -errno the SCSI layer answers @task itself (-EAGAIN: not serving).
	 */
	int (*begin)(void *ctx, struct scsi_target *target, uint16_t lun_id, uint64_t lba,
		     uint32_t count, struct scsi_task *task);
	/* The task started with scsi_caw_run(@cookie) finished: let the range go. */
	void (*end)(void *ctx, void *cookie);
	void *ctx;
};

/** Route COMPARE AND WRITE on @target's shared LUs through @hooks (copied; NULL: not offered). */
void scsi_target_set_caw_hooks(struct scsi_target *target, const struct scsi_caw_hooks *hooks);

/** Run the compare and the write of @task now; hooks->end(@cookie) follows its completion. */
void scsi_caw_run(struct scsi_task *task, void *cookie);

/** Complete @task without running it: sense key @key, ASC/ASCQ @asc. */
void scsi_caw_fail(struct scsi_task *task, uint8_t key, uint16_t asc);

struct scsi_range_hold;
typedef void (*scsi_range_granted_fn)(void *arg);

/**
 * Hold [@lba, +@count) of LU @lun_id exclusively on this node: @granted
 * (@arg) runs once no command using those blocks runs any more, possibly
 * before this returns; until scsi_range_release(), commands on the blocks
 * wait. The LU stays (it counts as a task in flight) until the release.
 * @return 0 with *@out set, -ENOENT (no such LU) or -ENOMEM.
 */
int scsi_range_hold(struct scsi_target *target, uint16_t lun_id, uint64_t lba, uint32_t count,
		    scsi_range_granted_fn granted, void *arg, struct scsi_range_hold **out);

/** Let the blocks go (granted or not): waiting commands start. */
void scsi_range_release(struct scsi_range_hold *hold);

#endif
