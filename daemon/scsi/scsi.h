/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SCSI layer as the transport (daemon/iscsi) sees it: SAM-5 objects
 * (target, logical unit, I_T nexus, task) and the one call that runs a task.
 *
 * The transport owns every struct scsi_task and its data buffer; the SCSI
 * layer borrows them from scsi_task_submit() until it calls task->done().
 * done() may run before scsi_task_submit() returns (for commands answered
 * without backing-store I/O) or later from the main loop (for media access);
 * the transport must handle both.
 *
 * Data buffer contract (one contiguous buffer per task, from the transport's
 * pool, so nothing is allocated per command):
 *  - buf_cap >= expected_len (the iSCSI EDTL).
 *  - Data-Out: the transport has gathered data_out_len bytes into buf before
 *    submit (solicited and unsolicited data alike).
 *  - Data-In: the SCSI layer sets xfer_len to the number of bytes the CDB
 *    asks to transfer and writes min(xfer_len, buf_cap) bytes into buf,
 *    setting data_in_len to that number. The transport sends
 *    min(data_in_len, expected_len) bytes and derives residual counts by
 *    comparing xfer_len with expected_len (RFC 7143 §11.4.5).
 *
 * Everything here runs on the thread of the main loop that owns the
 * connection; no call takes a lock.
 */
#ifndef QUORATE_DAEMON_SCSI_SCSI_H
#define QUORATE_DAEMON_SCSI_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qb/qbloop.h>

#include "daemon/base/io_stats.h"
#include "daemon/scsi/alua.h"

/*
 * Alignment of the data buffers a transport hands to the SCSI layer: what
 * the backing stores opened with direct_io (O_DIRECT) need. Equal to
 * BACKING_BUF_ALIGN (checked in scsi_int.h), named here so a transport
 * allocates its buffers without reaching into daemon/backing.
 */
#define SCSI_BUF_ALIGN 4096

#define SCSI_CDB_MAX 32		/* 16-byte CDBs plus an extended-CDB AHS */
#define SCSI_SENSE_MAX 252	/* SPC-4 4.5.1: at most 252 bytes of sense */

/* SAM-5 status codes (5.3.1). */
enum scsi_status {
	SCSI_STATUS_GOOD = 0x00,
	SCSI_STATUS_CHECK_CONDITION = 0x02,
	SCSI_STATUS_CONDITION_MET = 0x04,
	SCSI_STATUS_BUSY = 0x08,
	SCSI_STATUS_RESERVATION_CONFLICT = 0x18,
	SCSI_STATUS_TASK_SET_FULL = 0x28,
	SCSI_STATUS_ACA_ACTIVE = 0x30,
	SCSI_STATUS_TASK_ABORTED = 0x40,
};

/* SAM-5 task attributes as carried in the iSCSI SCSI Command PDU. */
enum scsi_task_attr {
	SCSI_TASK_UNTAGGED = 0,
	SCSI_TASK_SIMPLE = 1,
	SCSI_TASK_ORDERED = 2,
	SCSI_TASK_HEAD_OF_QUEUE = 3,
	SCSI_TASK_ACA = 4,
};

struct scsi_target;	/* a SCSI target device: a set of logical units */
struct scsi_lu;		/* a logical unit and its backing store */
struct scsi_nexus;	/* one I_T nexus (initiator port x target port) */

struct scsi_task {
	/* Filled by the transport before scsi_task_submit(). */
	struct scsi_nexus *nexus;	/* borrowed: the I_T nexus of the task */
	uint64_t lun;			/* 8-byte SAM LUN exactly as received */
	uint8_t cdb[SCSI_CDB_MAX];
	uint8_t cdb_len;
	uint8_t attr;			/* enum scsi_task_attr */
	uint32_t tag;			/* transport task tag (iSCSI ITT) */
	uint32_t expected_len;		/* EDTL, 0 if no data transfer */
	bool data_in;			/* R bit: initiator expects Data-In */
	bool data_out;			/* W bit: initiator sends Data-Out */
	uint8_t *buf;			/* borrowed from the transport's pool */
	uint32_t buf_cap;		/* >= expected_len */
	uint32_t data_out_len;		/* bytes of Data-Out gathered in buf */
	void (*done)(struct scsi_task *task);
	void *transport_priv;		/* the transport's own back pointer */

	/* Filled by the SCSI layer before done(). */
	uint8_t status;			/* enum scsi_status */
	uint8_t sense_len;
	uint8_t sense[SCSI_SENSE_MAX];
	uint32_t xfer_len;		/* bytes the CDB asks to transfer */
	uint32_t data_in_len;		/* valid Data-In bytes in buf */
	uint8_t stats_kind;		/* enum io_stats_kind of the command */
	uint64_t latency_ns;		/* submit to done() in the SCSI layer */

	/* Private to the SCSI layer; the transport zeroes it before submit. */
	struct {
		struct scsi_lu *lu;
		struct scsi_task *next;	/* e.g. waiting on an LBA range lock */
		uint64_t lba;
		uint32_t nblocks;
		uint32_t stage;		/* multi-step commands (COMPARE AND WRITE) */
		void *io;		/* in-flight backing I/O, if any */
		uint64_t start_ns;	/* when scsi_task_submit() took it */
	} priv;
};

/*
 * Per-LU settings; copied on scsi_target_add_lu(). Identity fields come from
 * the replicated LUN record so they are identical through every node.
 */
struct scsi_lu_config {
	const char *backing;		/* LUN_BACKING_FILE or LUN_BACKING_NULL */
	const char *path;		/* file or block device; NULL for null */
	uint64_t size_bytes;		/* 0: size of the file/device */
	uint32_t block_size;		/* lun_block_size_valid() */
	bool direct_io;			/* O_DIRECT on the backing file */
	bool thin;			/* UNMAP/WRITE SAME UNMAP punch holes */
	bool read_only;
	bool write_cache;		/* initial WCE of the caching mode page */
	bool offline;			/* add without opening the backing (scsi_lu_set_offline) */
	/*
	 * Other target nodes write the same medium (a cluster): atomicity that
	 * this node's LBA range locks give means nothing to their writes.
	 * ORWRITE is not offered (INVALID COMMAND OPERATION CODE, absent from
	 * REPORT SUPPORTED OPERATION CODES); COMPARE AND WRITE only through the
	 * target's caw hooks (scsi_caw.h), else it is not offered either and
	 * VPD B0h says MAXIMUM COMPARE AND WRITE LENGTH 0.
	 */
	bool shared;
	uint8_t naa[16];		/* NAA-6 IEEE registered extended id */
	char serial[33];		/* unit serial number (VPD 80h) */
	char vendor[9];			/* T10 vendor id, space padded on output */
	char product[17];
	char revision[5];
};

/*
 * The port through which a target is reached on this node (DESIGN §3: node N
 * exports target portal group tag N, ALUA target port group N, relative
 * target port id N), and the node's ALUA port-group table the target
 * borrows (alua.h): its own group must be @tpg_id with @rel_port_id among
 * its ports (else scsi_target_create() fails with -EINVAL). After
 * scsi_target_destroy(), or when the table is destroyed first, the target
 * keeps a private copy of its own group in its last state. NULL: a private
 * table holding only this port's group, Active/Optimized (tests, tools).
 */
struct scsi_port_info {
	uint16_t rel_port_id;
	uint16_t tpg_id;
	struct scsi_alua_table *alua;
};

/** Create a target named @name (an iSCSI name). @return 0 or -errno. */
int scsi_target_create(qb_loop_t *loop, const char *name, const struct scsi_port_info *port,
		       struct scsi_target **out);
/**
 * Release the creator's hold on a target. The target is reference-counted:
 * each live nexus holds it, and so does each task in flight, so its LUs
 * (and their backing stores) are freed only after the transport destroyed
 * the last nexus and the last task came back through done(). The caller
 * must not use @target afterwards; nexuses still open stay valid, and tasks
 * on them still run, until the transport destroys them.
 */
void scsi_target_destroy(struct scsi_target *target);
const char *scsi_target_name(const struct scsi_target *target);

/** Open the backing store and add LUN @lun_id (0..LUN_ID_MAX). @return 0 or -errno. */
int scsi_target_add_lu(struct scsi_target *target, uint16_t lun_id, const struct scsi_lu_config *cfg);
/** Remove a LUN; -EBUSY while tasks run on it. Other nexuses see REPORTED LUNS DATA HAS CHANGED. */
int scsi_target_remove_lu(struct scsi_target *target, uint16_t lun_id);
/**
 * Take a LU offline (SPC-4: NOT READY, LOGICAL UNIT NOT READY, OFFLINE 04/12
 * to everything but INQUIRY, REPORT LUNS, REPORT TARGET PORT GROUPS, REQUEST
 * SENSE and REPORT SUPPORTED OPERATION CODES; its nexuses stay) and close its
 * backing store once its tasks in flight are done; or bring it online again,
 * opening the backing store anew from the LU's configuration. @return 0,
 * -ENOENT (no such LU) or the open's -errno (then the LU stays offline).
 */
int scsi_lu_set_offline(struct scsi_target *target, uint16_t lun_id, bool offline);
/**
 * Follow a changed configuration of LU @lun_id in place. read_only and
 * write_cache: writes get DATA PROTECT (7/27/00) and MODE SENSE shows WP
 * while read-only; WCE of the caching page becomes write_cache (replacing
 * what MODE SELECT set); a LU made writable whose store was opened
 * read-only opens it again read-write first (tasks in flight finish on the
 * old one); MODE PARAMETERS CHANGED (2A/01) goes to every I_T nexus. A new
 * size_bytes resizes the backing store (backing_resize; offline: at the
 * next open) and raises CAPACITY DATA HAS CHANGED (2A/09) on every I_T
 * nexus. The other fields of @cfg are not looked at. @return 0, -ENOENT,
 * or the store's -errno (then that part keeps its previous setting).
 */
int scsi_lu_update(struct scsi_target *target, uint16_t lun_id, const struct scsi_lu_config *cfg);
/** Number of LUs, for listings. */
unsigned int scsi_target_lu_count(const struct scsi_target *target);

/**
 * Create the I_T nexus for @initiator_port ("iqn...,i,0x<isid>") on
 * @target, reached through port @target_port ("iqn...,t,0x<tpgt>").
 * A nexus created with the same initiator port name as an earlier one is the
 * same I_T nexus (session reinstatement, logout and re-login); pending unit
 * attentions are kept by name. Two nexus objects of one name may live at once
 * (the reinstated session's, and the old one's until its tasks drained);
 * they share that state. @return 0 or -errno.
 */
int scsi_nexus_create(struct scsi_target *target, const char *initiator_port, const char *target_port,
		      struct scsi_nexus **out);
/**
 * Drop the nexus object and its hold on the target; all its tasks must have
 * completed. Another live nexus of the same name keeps the shared UA state.
 */
void scsi_nexus_destroy(struct scsi_nexus *nexus);
/**
 * The I_T nexus was lost rather than ended by a logout (connection dropped,
 * session reinstated or closed by the administrator): establish I_T NEXUS
 * LOSS OCCURRED (29/07, SAM-5 6.3.4) for its initiator port on every LU, to
 * be reported to the next nexus of that name. Call before scsi_nexus_destroy().
 */
void scsi_nexus_lost(struct scsi_nexus *nexus);

/**
 * Run a task; completes through task->done(). Before done() the SCSI layer
 * counts the command in its LU's statistics (daemon/base/io_stats.h) and
 * sets task->stats_kind and task->latency_ns, so the transport can count it
 * in its session's without classifying or timing it again.
 */
void scsi_task_submit(struct scsi_task *task);

/** The statistics kind of @cdb (for commands the transport answers itself). */
enum io_stats_kind scsi_cdb_stats_kind(const uint8_t *cdb);
/** LU @lun_id's counters (read on the loop's thread), or NULL if no such LU. */
const struct io_stats *scsi_lu_stats(const struct scsi_target *target, uint16_t lun_id);

/*
 * Task management effects that belong to the SCSI layer (SAM-5 7). Aborting
 * the tasks themselves is the transport's job: it finds them in its sessions,
 * waits for in-flight backing I/O to finish, and drops their responses.
 */
/*
 * The cluster-wide part of a reset (its replicated mutation) is applied on
 * every node after the reset returned: start(arg) is called once for each
 * such part handed on, and done(arg) once for each when every node applied
 * it (or it was given up), never from inside the reset call. A task
 * management response waits for them (SAM-5 7.7: the reset is complete).
 */
struct scsi_reset_waiter {
	void (*start)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

/** LOGICAL UNIT RESET: UA 29/03 to every nexus, clears SPC-2 reservation. @w may be NULL. */
int scsi_lu_reset(struct scsi_target *target, uint64_t lun, struct scsi_nexus *by,
		  const struct scsi_reset_waiter *w);
/**
 * The node-local part of an LU reset another node performed (it reached
 * this node as a replicated mutation): UA 29/03 to every nexus, PREVENT
 * cleared; nothing is proposed. @return 0 or -ENOENT.
 */
int scsi_lu_reset_apply(struct scsi_target *target, uint16_t lun_id);
/** TARGET WARM/COLD RESET: resets every LU (UA 29/02, or 29/01 for cold). */
void scsi_target_reset(struct scsi_target *target, bool cold, struct scsi_nexus *by,
		       const struct scsi_reset_waiter *w);
/** CLEAR TASK SET / ABORT TASK SET by @by: UA 2F/00 to the other nexuses when TAS=0. */
void scsi_tasks_cleared(struct scsi_target *target, uint64_t lun, struct scsi_nexus *by);
/** Is @lun a configured LU of @target? (TMF answers "LUN does not exist"). */
bool scsi_lun_exists(const struct scsi_target *target, uint64_t lun);
/** The LU id of a SAM LUN as received, or -1 if not addressable (for transports). */
int scsi_lun_id(uint64_t lun);

#endif
