/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the SCSI layer shared by its files: the command table entry,
 * the target / logical unit / I_T nexus objects, unit attention state and
 * the helpers handlers use to finish a task.
 *
 * Ownership: a target owns its LUs (lu_index) and knows its live nexuses
 * (a list the transport creates and destroys). A LU owns its backing store,
 * its unit attention records (one per initiator port name ever seen, so that
 * pending UAs survive nexus re-creation, SAM-5 6.6), its pool of I/O contexts
 * (grown on demand, never freed before the LU: no allocation per command in
 * steady state) and its LBA range locks.
 *
 * Handlers return SCSI_EXEC_DONE when the task's outcome is set (the
 * dispatcher then calls done()), or SCSI_EXEC_ASYNC when backing I/O will
 * complete it later from the loop through scsi_task_finish().
 */
#ifndef QUORATE_DAEMON_SCSI_SCSI_INT_H
#define QUORATE_DAEMON_SCSI_SCSI_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/backing/backing.h"
#include "daemon/base/byteorder.h"
#include "daemon/scsi/alua.h"
#include "daemon/base/domain.h"
#include "daemon/scsi/scsi.h"
#include "daemon/scsi/scsi_caw.h"
#include "daemon/scsi/scsi_pr.h"
#include "daemon/scsi/sense.h"
#include "reservations/pr.h"

_Static_assert(SCSI_BUF_ALIGN == BACKING_BUF_ALIGN, "scsi.h names the backing stores' alignment");

#define SCSI_LUN_MAX (LUN_ID_MAX + 1)	/* size of the LUN index (daemon/base/domain.h) */
#define SCSI_RESP_MAX (16 + 8 * SCSI_LUN_MAX)	/* largest parameter data we build (REPORT LUNS) */
#define SCSI_CDB_USAGE_MAX 16
#define SCSI_SA_MAX 0x1f		/* service action: byte 1 bits 4..0 */

/* Operation codes (SPC-4 table D.2, SBC-3 5). */
enum {
	OP_TEST_UNIT_READY = 0x00,
	OP_REQUEST_SENSE = 0x03,
	OP_READ6 = 0x08,
	OP_WRITE6 = 0x0a,
	OP_INQUIRY = 0x12,
	OP_MODE_SELECT6 = 0x15,
	OP_RESERVE6 = 0x16,
	OP_RELEASE6 = 0x17,
	OP_MODE_SENSE6 = 0x1a,
	OP_START_STOP_UNIT = 0x1b,
	OP_PREVENT_ALLOW = 0x1e,
	OP_READ_CAPACITY10 = 0x25,
	OP_READ10 = 0x28,
	OP_WRITE10 = 0x2a,
	OP_WRITE_VERIFY10 = 0x2e,
	OP_VERIFY10 = 0x2f,
	OP_PREFETCH10 = 0x34,
	OP_SYNC_CACHE10 = 0x35,
	OP_WRITE_SAME10 = 0x41,
	OP_UNMAP = 0x42,
	OP_MODE_SELECT10 = 0x55,
	OP_MODE_SENSE10 = 0x5a,
	OP_PR_IN = 0x5e,
	OP_PR_OUT = 0x5f,
	OP_READ16 = 0x88,
	OP_COMPARE_AND_WRITE = 0x89,
	OP_WRITE16 = 0x8a,
	OP_ORWRITE16 = 0x8b,
	OP_WRITE_VERIFY16 = 0x8e,
	OP_VERIFY16 = 0x8f,
	OP_PREFETCH16 = 0x90,
	OP_SYNC_CACHE16 = 0x91,
	OP_WRITE_SAME16 = 0x93,
	OP_SERVICE_ACTION_IN16 = 0x9e,
	OP_REPORT_LUNS = 0xa0,
	OP_MAINTENANCE_IN = 0xa3,
	OP_READ12 = 0xa8,
	OP_WRITE12 = 0xaa,
	OP_WRITE_VERIFY12 = 0xae,
	OP_VERIFY12 = 0xaf,
};

/* CDB group code: the top three bits of the operation code (SPC-4 4.2.5.1). */
#define CDB_GROUP_SHIFT 5
enum scsi_cdb_group {
	CDB_GROUP_6 = 0,
	CDB_GROUP_10 = 1,
	CDB_GROUP_10_ALT = 2,
	CDB_GROUP_16 = 4,
	CDB_GROUP_12 = 5,
};

/* Data direction of a command. */
enum scsi_dir {
	SCSI_DIR_NONE,
	SCSI_DIR_IN,
	SCSI_DIR_OUT,
};

/*
 * Reservation-conflict class (SPC-4 5.12.1 table 66 for PR, SPC-2 5.5.1 for
 * RESERVE(6)): what the reservation engine's pr_check_access() does with the
 * command when another I_T nexus holds a reservation. The values are the
 * engine's enum pr_class, so scsi_resv_allows() passes the column through.
 */
enum scsi_resv_class {
	/* allowed under every reservation type */
	SCSI_RESV_ALLOWED = PR_CLASS_ALLOWED,
	/* conflicts with Exclusive Access types only */
	SCSI_RESV_READ = PR_CLASS_READ,
	/* conflicts with Write Exclusive and Exclusive Access */
	SCSI_RESV_WRITE = PR_CLASS_WRITE,
	/* conflicts whenever another nexus holds any reservation */
	SCSI_RESV_CONFLICT = PR_CLASS_CONFLICT,
	/* PERSISTENT RESERVE IN/OUT: decided by the PR engine itself */
	SCSI_RESV_PR = PR_CLASS_PR,
	/* RESERVE(6)/RELEASE(6) (SPC-2 5.5.1): decided by the PR engine itself */
	SCSI_RESV_SPC2 = PR_CLASS_SPC2,
};

/* Command flags. */
enum scsi_cmd_flags {
	SCSI_CMD_F_SA = 1u << 0,	/* opcode has service actions (byte 1 bits 4..0) */
	SCSI_CMD_F_UA_OK = 1u << 1,	/* runs despite a pending UA (SAM-5 5.14) */
	SCSI_CMD_F_NO_LU = 1u << 2,	/* runs on a LUN that does not exist (SPC-4 4.6.4) */
	SCSI_CMD_F_MEDIA = 1u << 3,	/* accesses the medium */
	SCSI_CMD_F_WRITE = 1u << 4,	/* modifies the medium: DATA PROTECT on a read-only LU */
	SCSI_CMD_F_ALUA_OK = 1u << 5,	/* runs in the Unavailable state (SPC-4 5.15.2.4.5) */
	SCSI_CMD_F_NODE_ATOMIC = 1u << 6, /* atomic through this node's LBA locks only: not on
					   * a shared LU (scsi_lu_config.shared) */
	SCSI_CMD_F_READ = 1u << 7,	/* returns data from the medium: a read in the statistics */
	SCSI_CMD_F_CLUSTER_ATOMIC = 1u << 8, /* on a shared LU only with the caw hooks
					      * (scsi_caw.h): COMPARE AND WRITE */
};

enum scsi_exec {
	SCSI_EXEC_DONE,
	SCSI_EXEC_ASYNC,
};

struct scsi_cmd_desc;
typedef int (*scsi_handler_fn)(struct scsi_task *task, const struct scsi_cmd_desc *desc);

/*
 * One row of the command table (cdb_table.c). usage[] is the CDB usage data
 * of REPORT SUPPORTED OPERATION CODES (SPC-4 6.35.3): a set bit marks a bit
 * the device server looks at; a bit set in the CDB outside the mask is a
 * reserved bit and fails with INVALID FIELD IN CDB. handler NULL marks a
 * command known to the table but not supported yet (answered INVALID
 * COMMAND OPERATION CODE and not reported as supported).
 */
struct scsi_cmd_desc {
	const char *name;
	scsi_handler_fn handler;
	uint8_t opcode;
	uint8_t sa;		/* service action when SCSI_CMD_F_SA */
	uint8_t dir;		/* enum scsi_dir */
	uint8_t cdb_len;
	uint8_t resv;		/* enum scsi_resv_class */
	uint16_t flags;		/* enum scsi_cmd_flags */
	uint16_t timeout_s;	/* nominal and recommended command timeout (RCTD) */
	uint8_t usage[SCSI_CDB_USAGE_MAX];
};

extern const struct scsi_cmd_desc scsi_cmd_table[];
extern const unsigned int scsi_cmd_table_len;

/**
 * A holder of lu->inflight that is not a task (a range hold, scsi_caw.h)
 * lets go: the LU, and its target if destroyed, may be freed now.
 */
void scsi_lu_inflight_drop(struct scsi_lu *lu);

/** Find the row for @cdb (opcode and, where used, service action); NULL if unknown. */
const struct scsi_cmd_desc *scsi_cmd_lookup(const uint8_t *cdb);
/**
 * Is the command of row @desc offered on @lu (NULL: no LU)? Not a row
 * without a handler, nor a node-atomic one on a shared LU, nor a
 * cluster-atomic one on a shared LU of a target without caw hooks. What the
 * dispatcher runs and REPORT SUPPORTED OPERATION CODES reports.
 */
bool scsi_cmd_offered(const struct scsi_lu *lu, const struct scsi_cmd_desc *desc);
/** The statistics kind of a row (NULL: an unknown opcode, "other"). */
static inline enum io_stats_kind scsi_cmd_stats_kind(const struct scsi_cmd_desc *desc)
{
	if (!desc) {
		return IO_STATS_OTHER;
	}
	if (desc->flags & SCSI_CMD_F_WRITE) {
		return IO_STATS_WRITE;
	}
	return desc->flags & SCSI_CMD_F_READ ? IO_STATS_READ : IO_STATS_OTHER;
}
/** Does @opcode use service actions? */
bool scsi_cmd_opcode_has_sa(uint8_t opcode);
/**
 * Check the CDB against the usage mask. @return -1 if clean, otherwise the
 * byte index of the first reserved bit set; *bit receives its bit number.
 */
int scsi_cmd_check_reserved(const struct scsi_cmd_desc *desc, const uint8_t *cdb, int *bit);

/* Unit attention conditions in reporting order (SAM-5 5.14: resets first). */
enum scsi_ua {
	SCSI_UA_POWER_ON,		/* 29/00 */
	SCSI_UA_POWER_ON_OCCURRED,	/* 29/01 */
	SCSI_UA_BUS_RESET,		/* 29/02 */
	SCSI_UA_BDR,			/* 29/03 */
	SCSI_UA_NEXUS_LOSS,		/* 29/07 */
	SCSI_UA_RESERVATIONS_PREEMPTED,	/* 2A/03 */
	SCSI_UA_RESERVATIONS_RELEASED,	/* 2A/04 */
	SCSI_UA_REGISTRATIONS_PREEMPTED, /* 2A/05 */
	SCSI_UA_MODE_CHANGED,		/* 2A/01 */
	SCSI_UA_CAPACITY_CHANGED,	/* 2A/09 */
	SCSI_UA_ALUA_CHANGED,		/* 2A/06 */
	SCSI_UA_COMMANDS_CLEARED,	/* 2F/00 */
	SCSI_UA_LUNS_CHANGED,		/* 3F/0E */
	SCSI_UA_COUNT,
};
#define SCSI_UA_RESET_MASK ((1u << (SCSI_UA_NEXUS_LOSS + 1)) - 1)

struct scsi_ua_rec {
	struct scsi_ua_rec *next;
	uint32_t pending;	/* bit per enum scsi_ua */
	char name[];		/* initiator port name */
};

/* Mode page state of a LU, shared by every nexus (SPC-4 7.5.1 allows this). */
struct scsi_mode_state {
	bool wce;		/* caching page: write cache enabled */
	bool d_sense;		/* control page: descriptor format sense data */
	bool swp;		/* control page: software write protect */
	uint8_t mrie;		/* informational exceptions: reporting method */
};

/* One in-flight media command's context, from the LU's pool. */
struct scsi_io_ctx {
	struct backing_io bio;
	struct scsi_task *task;
	struct scsi_io_ctx *next_free;
	struct scsi_io_ctx *lock_next;	/* in lu->locks while holding a range lock */
	struct scsi_io_ctx **lock_pprev; /* the pointer to us in lu->locks: O(1) release */
	uint64_t lock_lba;
	uint64_t lock_count;
	uint8_t lock_mode;		/* enum sbc_lock_mode (sbc.c) */
	uint8_t *scratch;		/* read-back buffer (VERIFY, CAW, ORWRITE) */
	size_t scratch_cap;
	void *caw_cookie;		/* scsi_caw_run()'s: caw_hooks.end() at completion */
};

struct scsi_lu {
	struct scsi_target *target;
	uint16_t id;
	char *path;
	char *backing_kind;
	struct scsi_lu_config cfg;	/* cfg.path/backing point to the copies above */
	struct backing *store;
	struct backing *store_retired;	/* replaced while tasks used it: closed at inflight 0 */
	uint64_t nblocks;
	uint32_t block_size;
	uint32_t inflight;		/* tasks between submit and done */
	bool thin;			/* LBPME: UNMAP and WRITE SAME UNMAP deallocate */
	bool lbprz;
	bool prevent;			/* PREVENT ALLOW MEDIUM REMOVAL state */
	bool offline;			/* 04/12; store closed once inflight is 0 */
	struct scsi_mode_state mode;
	struct scsi_ua_rec *ua;
	unsigned int ua_records_pending;	/* records with pending != 0 */
	struct scsi_io_ctx *io_free;
	uint64_t err_log_next_ns;	/* backing errors: next warning allowed (monotonic) */
	unsigned int err_log_suppressed; /* errors not logged since the last warning */
	struct scsi_io_ctx *locks;
	unsigned int lock_writers;	/* holders in lu->locks that are not readers */
	struct scsi_task *lock_wait_head;
	struct scsi_task *lock_wait_tail;
	struct pr_state pr_own;		/* private PR state until the daemon attaches its own */
	struct pr_state *pr;		/* the PR state in force (pr_own or borrowed) */
	struct io_stats stats;		/* completed commands (scsi_task_finish, scsi_task_submit) */
};

struct scsi_nexus {
	struct scsi_target *target;
	struct scsi_nexus *next;
	char *initiator_port;
	char *target_port;
	struct pr_nexus pr_id;		/* the same names as the PR engine's I_T nexus identity */
};

/*
 * The ALUA port-group table (alua.h). Groups are kept in ascending id order,
 * which is the order RTPG lists them in on every node. local_state mirrors
 * this node's group's state so the dispatcher's check is one load.
 */
struct scsi_alua_table {
	struct scsi_alua_group groups[SCSI_ALUA_GROUPS_MAX];
	unsigned int count;
	uint16_t local_tpg;
	uint8_t local_state;		/* enum scsi_alua_state */
	uint64_t lease_end_ns;		/* CLOCK_MONOTONIC; 0: none (scsi_alua_set_lease_end) */
	struct scsi_target *targets;	/* borrowers, linked through alua_next */
};

/**
 * May this node touch the medium at @now_ns (CLOCK_MONOTONIC)? Not while
 * its port group is Unavailable, nor past the lease end, which a frozen
 * loop reaches before the timer that makes the group Unavailable runs.
 */
static inline bool scsi_alua_serves(const struct scsi_alua_table *alua, uint64_t now_ns)
{
	return alua->local_state != SCSI_ALUA_UNAVAILABLE &&
	       (alua->lease_end_ns == 0 || now_ns < alua->lease_end_ns);
}

struct scsi_target {
	qb_loop_t *loop;
	char *name;
	struct scsi_port_info port;	/* port.alua is not kept: see alua */
	struct scsi_alua_table *alua;	/* in force: the daemon's (borrowed) or alua_own */
	struct scsi_alua_table alua_own; /* only this port's group: no table given, or after destroy */
	struct scsi_target *alua_next;	/* in alua->targets */
	struct scsi_lu **lu_index;	/* SCSI_LUN_MAX slots */
	uint32_t lu_end;		/* one past the highest LUN in use: loops stop there */
	unsigned int lu_count;
	struct scsi_nexus *nexuses;
	/*
	 * References: one of the creator's (dropped by scsi_target_destroy()),
	 * one per live nexus, and one held by scsi_task_finish() around done().
	 * The target and its LUs are freed when the count is 0 and no LU has
	 * a task in flight (lu->inflight), whichever of the two comes last.
	 */
	unsigned int refs;
	uint8_t *resp;			/* SCSI_RESP_MAX bytes for building parameter data */
	struct scsi_pr_hooks pr_hooks;	/* propose PR mutations; propose NULL: apply locally */
	struct scsi_caw_hooks caw_hooks; /* begin NULL: no COMPARE AND WRITE on a shared LU */
};

/* Finishing a task (lu.c). All return SCSI_EXEC_DONE for tail calls. */
int scsi_task_sense(struct scsi_task *task, uint8_t key, uint16_t asc_ascq);
int scsi_task_sense_info(struct scsi_task *task, uint8_t key, uint16_t asc_ascq, uint64_t info);
/** INVALID FIELD IN CDB (or PARAMETER LIST when !in_cdb) with a field pointer. */
int scsi_task_invalid_field(struct scsi_task *task, bool in_cdb, unsigned int byte, int bit);
/**
 * Return parameter data: the command produced @len bytes at @data and the
 * CDB allows @alloc_len; sets xfer_len and copies what fits in buf.
 */
int scsi_task_data_in(struct scsi_task *task, const void *data, uint32_t len, uint32_t alloc_len);
/** Complete an asynchronous task (from a backing completion). */
void scsi_task_finish(struct scsi_task *task);
/** Does the task's LU use descriptor sense (D_SENSE)? */
bool scsi_task_d_sense(const struct scsi_task *task);

/* Unit attentions (lu.c). */
/** Raise @ua on @lu for every initiator port except @except (NULL: all). */
void scsi_ua_raise(struct scsi_lu *lu, const struct scsi_nexus *except, enum scsi_ua ua);
/** Raise @ua for every initiator port @match accepts; @return how many. */
unsigned int scsi_ua_raise_match(struct scsi_lu *lu,
				 bool (*match)(const char *initiator_port, const void *ctx),
				 const void *ctx, enum scsi_ua ua);
/** Raise @ua for @initiator_port, creating its record (29/00 first) if new. @return 0 or -ENOMEM. */
int scsi_ua_raise_name(struct scsi_lu *lu, const char *initiator_port, enum scsi_ua ua);
/** The highest-priority pending UA of @nexus on @lu, cleared if @clear; -1 if none. */
int scsi_ua_take(struct scsi_lu *lu, const struct scsi_nexus *nexus, bool clear);
/** Clear one specific UA of @nexus on @lu (REPORT LUNS clears 3F/0E). */
void scsi_ua_clear(struct scsi_lu *lu, const struct scsi_nexus *nexus, enum scsi_ua ua);
uint16_t scsi_ua_asc(enum scsi_ua ua);

/* The ALUA table's borrowers (alua.c). */
/** Attach @target to @table (NULL: its private table from target->port). @return 0 or -EINVAL. */
int scsi_alua_attach(struct scsi_target *target, struct scsi_alua_table *table);
/** Go back to the private table, keeping the own group's current state. */
void scsi_alua_detach(struct scsi_target *target);

/** Decode a SAM LUN (single level, peripheral or flat); -1 if not addressable. */
int scsi_lun_decode(uint64_t lun);
/** Encode LUN id @id in the form REPORT LUNS uses. */
uint64_t scsi_lun_encode(uint16_t id);

/* Reservation check (pr_check_access on the LU's PR state); true if the command may run. */
bool scsi_resv_allows(const struct scsi_lu *lu, const struct scsi_nexus *nexus,
		      const struct scsi_cmd_desc *desc);

/* Handlers (spc.c, sbc.c). */
int spc_inquiry(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_report_luns(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_test_unit_ready(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_request_sense(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_mode_sense(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_mode_select(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_report_opcodes(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_report_tpgs(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_start_stop_unit(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_prevent_allow(struct scsi_task *task, const struct scsi_cmd_desc *desc);

/* Persistent reservations (pr_glue.c). */
int spc_pr_in(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_pr_out(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int spc_reserve_release6(struct scsi_task *task, const struct scsi_cmd_desc *desc);
void scsi_pr_lu_init(struct scsi_lu *lu);
void scsi_pr_lu_fini(struct scsi_lu *lu);
/** Fill @nexus->pr_id from its port names. @return 0 or -ENAMETOOLONG. */
int scsi_pr_nexus_init(struct scsi_nexus *nexus, uint16_t rel_port_id);
/** The last nexus of an initiator port went away: I_T nexus loss (SPC-2 5.5.1). */
void scsi_pr_nexus_lost(struct scsi_target *target, const struct scsi_nexus *nexus);
/** LU reset / target reset: the SPC-2 reservation goes (SPC-2 5.5.1, SAM-5 7.7). */
void scsi_pr_lu_reset(struct scsi_lu *lu, const struct scsi_reset_waiter *w);

int sbc_read(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_write(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_verify(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_read_capacity10(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_read_capacity16(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_sync_cache(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_write_same(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_unmap(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_get_lba_status(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_compare_and_write(struct scsi_task *task, const struct scsi_cmd_desc *desc);
int sbc_prefetch(struct scsi_task *task, const struct scsi_cmd_desc *desc);

/* Block limits shared by VPD B0h and the handlers. */
#define SBC_MAX_XFER_BYTES (8u << 20)	/* MAXIMUM TRANSFER LENGTH, in bytes (iSCSI EDTL max is 16 MiB) */
#define SBC_SCRATCH_MAX (1u << 20)	/* read-back buffer per I/O context; longer runs go in chunks */
#define SBC_OPT_GRANULARITY 8u		/* OPTIMAL TRANSFER LENGTH GRANULARITY (4 KiB of 512) */
#define SBC_MAX_UNMAP_LBAS (1u << 20)	/* libiscsi: "sane" is at most 1M */
#define SBC_MAX_UNMAP_DESCS 256u
#define SBC_MAX_WS_BLOCKS 0xffffu	/* MAXIMUM WRITE SAME LENGTH: bounds the chunked loop */
#define SBC_MAX_CAW_BLOCKS 255u		/* MAXIMUM COMPARE AND WRITE LENGTH (one byte) */

/* COMPARE AND WRITE moves twice its blocks: keep that within the transfer limit. */
static inline uint32_t sbc_max_caw_blocks(uint32_t block_size)
{
	uint32_t n = SBC_MAX_XFER_BYTES / (2 * block_size);

	return n < SBC_MAX_CAW_BLOCKS ? n : SBC_MAX_CAW_BLOCKS;
}

#endif
