/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Persistent reservations as the daemon wires them into the SCSI layer
 * (DESIGN §1, §2): the SCSI layer decodes PERSISTENT RESERVE OUT,
 * RESERVE(6)/RELEASE(6) and reset / nexus-loss events into encoded
 * struct pr_op bytes (reservations/pr.h) and hands them to a propose hook;
 * the daemon replicates them (propose → deliver → apply), applies them to
 * the LU's PR state on every node, commits, raises the effects here and
 * completes the originating task. daemon/scsi never sees the store or the
 * cluster: the hook is the whole interface.
 *
 * PR state ownership: each LU starts with a private, empty state so the
 * layer works on its own (unit tests). The daemon attaches the state it owns
 * in its replicated model (scsi_lu_pr_attach); from then on the SCSI layer
 * only reads it (access check, PERSISTENT RESERVE IN) and apply writes it.
 * Without a propose hook, PR OUT ops apply directly to the LU's state
 * (standalone SCSI layer, tests); aborts then have nobody to act on them.
 *
 * Everything runs on the main loop's thread.
 */
#ifndef QUORATE_DAEMON_SCSI_SCSI_PR_H
#define QUORATE_DAEMON_SCSI_SCSI_PR_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/scsi/scsi.h"
#include "reservations/pr.h"

struct scsi_pr_hooks {
	/*
	 * Propose the encoded op (@op, @len bytes, copied) for LU @lun_id of
	 * @target. @task is the command waiting for the outcome, or NULL for
	 * events without one (LU/target reset, I_T nexus loss). On 0 the
	 * daemon owns completing @task through scsi_pr_task_complete() (once,
	 * after apply ran); on -errno nothing was proposed and the SCSI layer
	 * answers @task itself. @w (a reset, without @task; may be NULL): on 0
	 * the daemon calls w->done(w->arg) once every node applied the op.
	 */
	int (*propose)(void *ctx, struct scsi_target *target, uint16_t lun_id, const uint8_t *op,
		       size_t len, struct scsi_task *task, const struct scsi_reset_waiter *w);
	void *ctx;
};

/** Route PR mutations of @target's LUs through @hooks (copied; NULL: apply locally). */
void scsi_target_set_pr_hooks(struct scsi_target *target, const struct scsi_pr_hooks *hooks);

/**
 * Make LU @lun_id read and write @state (borrowed, must outlive the LU or
 * the next attach); NULL goes back to the LU's private state.
 * @return 0 or -ENOENT.
 */
int scsi_lu_pr_attach(struct scsi_target *target, uint16_t lun_id, struct pr_state *state);

/**
 * Raise the unit attentions of an applied op (SPC-4 5.13.11, 5.13.12) on
 * every initiator port of LU @lun_id that an effect's target matches through
 * this node's target port. No-op when the LU is not on this node.
 */
void scsi_lu_pr_effects(struct scsi_target *target, uint16_t lun_id, const struct pr_result *res);

/** Set @task's outcome from @res (status, sense with field pointer) and complete it. */
void scsi_pr_task_complete(struct scsi_task *task, const struct pr_result *res);

/** Complete @task whose op could not be applied: sense key @key, ASC/ASCQ @asc. */
void scsi_pr_task_fail(struct scsi_task *task, uint8_t key, uint16_t asc);

/** This node's relative target port id of @target (for matching effects). */
uint16_t scsi_target_rel_port_id(const struct scsi_target *target);

#endif
