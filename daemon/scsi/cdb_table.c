// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The command table, in the manner of FreeBSD CTL's ctl_cmd_table.c: one row
 * per operation code (per service action for opcodes that have them) with
 * its handler, data direction, CDB length, CDB usage mask, reservation-
 * conflict class and flags. The dispatcher (lu.c) uses the row to reject
 * reserved bits and to decide UA and LUN handling before the handler runs;
 * REPORT SUPPORTED OPERATION CODES (SPC-4 6.35) is generated from the same
 * rows, so what we report is what we enforce; scsi_cmd_offered() is the
 * one rule of both for a command a LU does not offer (a shared LU: no
 * node-atomic commands).
 *
 * Invariant: rows are sorted by (opcode, service action); scsi_cmd_lookup()
 * binary-searches them and the unit tests check the order.
 *
 * The reservation-conflict classes follow SPC-4 5.12.1 (table 66) and the
 * SBC-3 4.17 command list; PERSISTENT RESERVE IN/OUT and RESERVE/RELEASE(6)
 * run through pr_glue.c and the reservation engine (reservations/).
 */
#include "daemon/scsi/scsi_int.h"

/* Service actions. */
enum {
	SA_PR_IN_READ_KEYS = 0x00,
	SA_PR_IN_READ_RESERVATION = 0x01,
	SA_PR_IN_REPORT_CAPABILITIES = 0x02,
	SA_PR_IN_READ_FULL_STATUS = 0x03,
	SA_PR_OUT_REGISTER = 0x00,
	SA_PR_OUT_RESERVE = 0x01,
	SA_PR_OUT_RELEASE = 0x02,
	SA_PR_OUT_CLEAR = 0x03,
	SA_PR_OUT_PREEMPT = 0x04,
	SA_PR_OUT_PREEMPT_AND_ABORT = 0x05,
	SA_PR_OUT_REGISTER_AND_IGNORE = 0x06,
	SA_PR_OUT_REGISTER_AND_MOVE = 0x07,
	SA_READ_CAPACITY16 = 0x10,
	SA_GET_LBA_STATUS = 0x12,
	SA_REPORT_TPGS = 0x0a,
	SA_REPORT_OPCODES = 0x0c,
};

#define SCSI_SA_MASK SCSI_SA_MAX
#define TMO_FAST 5		/* seconds: commands answered without media access */
#define TMO_MEDIA 30		/* seconds: media access */

#define ROW(op_, sa_, name_, fn_, dir_, len_, resv_, flags_, tmo_, ...) \
	{ .name = (name_), .handler = (fn_), .opcode = (op_), .sa = (sa_), .dir = (dir_), \
	  .cdb_len = (len_), .resv = (resv_), .flags = (flags_), .timeout_s = (tmo_), \
	  .usage = { (op_), __VA_ARGS__ } }

#define F_MEDIA_RD (SCSI_CMD_F_MEDIA)
#define F_MEDIA_IN (SCSI_CMD_F_MEDIA | SCSI_CMD_F_READ)	/* the READ family */
#define F_MEDIA_WR (SCSI_CMD_F_MEDIA | SCSI_CMD_F_WRITE)
#define F_SA SCSI_CMD_F_SA
#define F_ANY_LU (SCSI_CMD_F_UA_OK | SCSI_CMD_F_NO_LU | SCSI_CMD_F_ALUA_OK)
/* SBC-3 5.9: atomic under this node's EXCL range lock, so not on a shared LU. */
#define F_NODE_ATOMIC SCSI_CMD_F_NODE_ATOMIC
/* SBC-3 5.3: on a shared LU, atomic under every node's range hold (scsi_caw.h). */
#define F_CLUSTER_ATOMIC SCSI_CMD_F_CLUSTER_ATOMIC

/* Byte-1 masks shared by the read/write families (SBC-3 5.x CDB layouts). */
#define B1_RD 0xfc	/* RDPROTECT, DPO, FUA, RARC */
#define B1_WR 0xf8	/* WRPROTECT, DPO, FUA */
#define B1_VRFY 0xf6	/* VRPROTECT, DPO, BYTCHK (2 bits, SBC-4) */
#define GROUP 0x1f	/* GROUP NUMBER */

const struct scsi_cmd_desc scsi_cmd_table[] = {
	ROW(OP_TEST_UNIT_READY, 0, "TEST UNIT READY", spc_test_unit_ready, SCSI_DIR_NONE, 6,
	    SCSI_RESV_ALLOWED, 0, TMO_FAST, 0x00, 0x00, 0x00, 0x00, 0x00),
	ROW(OP_REQUEST_SENSE, 0, "REQUEST SENSE", spc_request_sense, SCSI_DIR_IN, 6,
	    SCSI_RESV_ALLOWED, F_ANY_LU, TMO_FAST, 0x01, 0x00, 0x00, 0xff, 0x00),
	ROW(OP_READ6, 0, "READ(6)", sbc_read, SCSI_DIR_IN, 6,
	    SCSI_RESV_READ, F_MEDIA_IN, TMO_MEDIA, 0x1f, 0xff, 0xff, 0xff, 0x00),
	ROW(OP_WRITE6, 0, "WRITE(6)", sbc_write, SCSI_DIR_OUT, 6,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, 0x1f, 0xff, 0xff, 0xff, 0x00),
	ROW(OP_INQUIRY, 0, "INQUIRY", spc_inquiry, SCSI_DIR_IN, 6,
	    SCSI_RESV_ALLOWED, F_ANY_LU, TMO_FAST, 0x01, 0xff, 0xff, 0xff, 0x00),
	ROW(OP_MODE_SELECT6, 0, "MODE SELECT(6)", spc_mode_select, SCSI_DIR_OUT, 6,
	    SCSI_RESV_CONFLICT, 0, TMO_FAST, 0x11, 0x00, 0x00, 0xff, 0x00),
	ROW(OP_RESERVE6, 0, "RESERVE(6)", spc_reserve_release6, SCSI_DIR_NONE, 6,
	    SCSI_RESV_SPC2, 0, TMO_FAST, 0x00, 0x00, 0x00, 0x00, 0x00),
	ROW(OP_RELEASE6, 0, "RELEASE(6)", spc_reserve_release6, SCSI_DIR_NONE, 6,
	    SCSI_RESV_SPC2, 0, TMO_FAST, 0x00, 0x00, 0x00, 0x00, 0x00),
	ROW(OP_MODE_SENSE6, 0, "MODE SENSE(6)", spc_mode_sense, SCSI_DIR_IN, 6,
	    SCSI_RESV_READ, 0, TMO_FAST, 0x08, 0xff, 0xff, 0xff, 0x00),
	ROW(OP_START_STOP_UNIT, 0, "START STOP UNIT", spc_start_stop_unit, SCSI_DIR_NONE, 6,
	    SCSI_RESV_CONFLICT, 0, TMO_MEDIA, 0x01, 0x00, 0x0f, 0xf7, 0x00),
	ROW(OP_PREVENT_ALLOW, 0, "PREVENT ALLOW MEDIUM REMOVAL", spc_prevent_allow, SCSI_DIR_NONE,
	    6, SCSI_RESV_CONFLICT, 0, TMO_FAST, 0x00, 0x00, 0x00, 0x03, 0x00),
	ROW(OP_READ_CAPACITY10, 0, "READ CAPACITY(10)", sbc_read_capacity10, SCSI_DIR_IN, 10,
	    SCSI_RESV_ALLOWED, 0, TMO_FAST, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00),
	ROW(OP_READ10, 0, "READ(10)", sbc_read, SCSI_DIR_IN, 10,
	    SCSI_RESV_READ, F_MEDIA_IN, TMO_MEDIA, B1_RD, 0xff, 0xff, 0xff, 0xff, GROUP, 0xff,
	    0xff, 0x00),
	ROW(OP_WRITE10, 0, "WRITE(10)", sbc_write, SCSI_DIR_OUT, 10,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, B1_WR, 0xff, 0xff, 0xff, 0xff, GROUP, 0xff,
	    0xff, 0x00),
	ROW(OP_WRITE_VERIFY10, 0, "WRITE AND VERIFY(10)", sbc_write, SCSI_DIR_OUT, 10,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, B1_VRFY, 0xff, 0xff, 0xff, 0xff, GROUP, 0xff,
	    0xff, 0x00),
	ROW(OP_VERIFY10, 0, "VERIFY(10)", sbc_verify, SCSI_DIR_OUT, 10,
	    SCSI_RESV_READ, F_MEDIA_RD, TMO_MEDIA, B1_VRFY, 0xff, 0xff, 0xff, 0xff, GROUP, 0xff,
	    0xff, 0x00),
	ROW(OP_PREFETCH10, 0, "PRE-FETCH(10)", sbc_prefetch, SCSI_DIR_NONE, 10,
	    SCSI_RESV_READ, F_MEDIA_RD, TMO_MEDIA, 0x02, 0xff, 0xff, 0xff, 0xff, GROUP, 0xff,
	    0xff, 0x00),
	ROW(OP_SYNC_CACHE10, 0, "SYNCHRONIZE CACHE(10)", sbc_sync_cache, SCSI_DIR_NONE, 10,
	    SCSI_RESV_WRITE, SCSI_CMD_F_MEDIA, TMO_MEDIA, 0x06, 0xff, 0xff, 0xff, 0xff, GROUP,
	    0xff, 0xff, 0x00),
	ROW(OP_WRITE_SAME10, 0, "WRITE SAME(10)", sbc_write_same, SCSI_DIR_OUT, 10,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, 0xf8, 0xff, 0xff, 0xff, 0xff, GROUP, 0xff,
	    0xff, 0x00),
	ROW(OP_UNMAP, 0, "UNMAP", sbc_unmap, SCSI_DIR_OUT, 10,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, 0x01, 0x00, 0x00, 0x00, 0x00, GROUP, 0xff,
	    0xff, 0x00),
	ROW(OP_MODE_SELECT10, 0, "MODE SELECT(10)", spc_mode_select, SCSI_DIR_OUT, 10,
	    SCSI_RESV_CONFLICT, 0, TMO_FAST, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
	    0x00),
	ROW(OP_MODE_SENSE10, 0, "MODE SENSE(10)", spc_mode_sense, SCSI_DIR_IN, 10,
	    SCSI_RESV_READ, 0, TMO_FAST, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00),
#define PRIN(sa_, name_) \
	ROW(OP_PR_IN, sa_, name_, spc_pr_in, SCSI_DIR_IN, 10, SCSI_RESV_PR, F_SA, TMO_FAST, \
	    SCSI_SA_MASK, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00)
	PRIN(SA_PR_IN_READ_KEYS, "PERSISTENT RESERVE IN / READ KEYS"),
	PRIN(SA_PR_IN_READ_RESERVATION, "PERSISTENT RESERVE IN / READ RESERVATION"),
	PRIN(SA_PR_IN_REPORT_CAPABILITIES, "PERSISTENT RESERVE IN / REPORT CAPABILITIES"),
	PRIN(SA_PR_IN_READ_FULL_STATUS, "PERSISTENT RESERVE IN / READ FULL STATUS"),
#undef PRIN
#define PROUT(sa_, name_) \
	ROW(OP_PR_OUT, sa_, name_, spc_pr_out, SCSI_DIR_OUT, 10, SCSI_RESV_PR, F_SA, TMO_FAST, \
	    SCSI_SA_MASK, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00)
	PROUT(SA_PR_OUT_REGISTER, "PERSISTENT RESERVE OUT / REGISTER"),
	PROUT(SA_PR_OUT_RESERVE, "PERSISTENT RESERVE OUT / RESERVE"),
	PROUT(SA_PR_OUT_RELEASE, "PERSISTENT RESERVE OUT / RELEASE"),
	PROUT(SA_PR_OUT_CLEAR, "PERSISTENT RESERVE OUT / CLEAR"),
	PROUT(SA_PR_OUT_PREEMPT, "PERSISTENT RESERVE OUT / PREEMPT"),
	PROUT(SA_PR_OUT_PREEMPT_AND_ABORT, "PERSISTENT RESERVE OUT / PREEMPT AND ABORT"),
	PROUT(SA_PR_OUT_REGISTER_AND_IGNORE, "PERSISTENT RESERVE OUT / REGISTER AND IGNORE"),
	PROUT(SA_PR_OUT_REGISTER_AND_MOVE, "PERSISTENT RESERVE OUT / REGISTER AND MOVE"),
#undef PROUT
	ROW(OP_READ16, 0, "READ(16)", sbc_read, SCSI_DIR_IN, 16,
	    SCSI_RESV_READ, F_MEDIA_IN, TMO_MEDIA, B1_RD, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, GROUP, 0x00),
	ROW(OP_COMPARE_AND_WRITE, 0, "COMPARE AND WRITE", sbc_compare_and_write, SCSI_DIR_OUT, 16,
	    SCSI_RESV_WRITE, F_MEDIA_WR | F_CLUSTER_ATOMIC, TMO_MEDIA, B1_WR, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0x00, 0x00, 0x00, 0xff, GROUP, 0x00),
	ROW(OP_WRITE16, 0, "WRITE(16)", sbc_write, SCSI_DIR_OUT, 16,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, B1_WR, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, GROUP, 0x00),
	ROW(OP_ORWRITE16, 0, "ORWRITE(16)", sbc_write, SCSI_DIR_OUT, 16,
	    SCSI_RESV_WRITE, F_MEDIA_WR | F_NODE_ATOMIC, TMO_MEDIA, B1_WR, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, GROUP, 0x00),
	ROW(OP_WRITE_VERIFY16, 0, "WRITE AND VERIFY(16)", sbc_write, SCSI_DIR_OUT, 16,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, B1_VRFY, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, GROUP, 0x00),
	ROW(OP_VERIFY16, 0, "VERIFY(16)", sbc_verify, SCSI_DIR_OUT, 16,
	    SCSI_RESV_READ, F_MEDIA_RD, TMO_MEDIA, B1_VRFY, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, GROUP, 0x00),
	ROW(OP_PREFETCH16, 0, "PRE-FETCH(16)", sbc_prefetch, SCSI_DIR_NONE, 16,
	    SCSI_RESV_READ, F_MEDIA_RD, TMO_MEDIA, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, GROUP, 0x00),
	ROW(OP_SYNC_CACHE16, 0, "SYNCHRONIZE CACHE(16)", sbc_sync_cache, SCSI_DIR_NONE, 16,
	    SCSI_RESV_WRITE, SCSI_CMD_F_MEDIA, TMO_MEDIA, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, GROUP, 0x00),
	ROW(OP_WRITE_SAME16, 0, "WRITE SAME(16)", sbc_write_same, SCSI_DIR_OUT, 16,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, 0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, GROUP, 0x00),
	ROW(OP_SERVICE_ACTION_IN16, SA_READ_CAPACITY16, "READ CAPACITY(16)", sbc_read_capacity16,
	    SCSI_DIR_IN, 16, SCSI_RESV_ALLOWED, F_SA, TMO_FAST, SCSI_SA_MASK, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00),
	ROW(OP_SERVICE_ACTION_IN16, SA_GET_LBA_STATUS, "GET LBA STATUS", sbc_get_lba_status,
	    SCSI_DIR_IN, 16, SCSI_RESV_READ, F_SA | SCSI_CMD_F_MEDIA, TMO_FAST, SCSI_SA_MASK,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00),
	ROW(OP_REPORT_LUNS, 0, "REPORT LUNS", spc_report_luns, SCSI_DIR_IN, 12,
	    SCSI_RESV_ALLOWED, F_ANY_LU, TMO_FAST, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff,
	    0xff, 0xff, 0x00, 0x00),
	ROW(OP_MAINTENANCE_IN, SA_REPORT_TPGS, "REPORT TARGET PORT GROUPS", spc_report_tpgs,
	    SCSI_DIR_IN, 12, SCSI_RESV_ALLOWED, F_SA | SCSI_CMD_F_ALUA_OK, TMO_FAST, 0xff, 0x00,
	    0x00, 0x00, 0x00,
	    0xff, 0xff, 0xff, 0xff, 0x00, 0x00),
	ROW(OP_MAINTENANCE_IN, SA_REPORT_OPCODES, "REPORT SUPPORTED OPERATION CODES",
	    spc_report_opcodes, SCSI_DIR_IN, 12, SCSI_RESV_ALLOWED, F_SA | SCSI_CMD_F_ALUA_OK,
	    TMO_FAST, SCSI_SA_MASK,
	    0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00),
	ROW(OP_READ12, 0, "READ(12)", sbc_read, SCSI_DIR_IN, 12,
	    SCSI_RESV_READ, F_MEDIA_IN, TMO_MEDIA, B1_RD, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, GROUP, 0x00),
	ROW(OP_WRITE12, 0, "WRITE(12)", sbc_write, SCSI_DIR_OUT, 12,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, B1_WR, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, GROUP, 0x00),
	ROW(OP_WRITE_VERIFY12, 0, "WRITE AND VERIFY(12)", sbc_write, SCSI_DIR_OUT, 12,
	    SCSI_RESV_WRITE, F_MEDIA_WR, TMO_MEDIA, B1_VRFY, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, GROUP, 0x00),
	ROW(OP_VERIFY12, 0, "VERIFY(12)", sbc_verify, SCSI_DIR_OUT, 12,
	    SCSI_RESV_READ, F_MEDIA_RD, TMO_MEDIA, B1_VRFY, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, GROUP, 0x00),
};

const unsigned int scsi_cmd_table_len = sizeof(scsi_cmd_table) / sizeof(scsi_cmd_table[0]);

/* Index of the first row with @opcode, or scsi_cmd_table_len. */
static unsigned int cmd_first(uint8_t opcode)
{
	unsigned int lo = 0, hi = scsi_cmd_table_len;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (scsi_cmd_table[mid].opcode < opcode) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

bool scsi_cmd_offered(const struct scsi_lu *lu, const struct scsi_cmd_desc *desc)
{
	if (!desc || !desc->handler) {
		return false;
	}
	if (!lu || !lu->cfg.shared) {
		return true;
	}
	if (desc->flags & SCSI_CMD_F_CLUSTER_ATOMIC) {
		return lu->target->caw_hooks.begin != NULL;
	}
	return !(desc->flags & SCSI_CMD_F_NODE_ATOMIC);
}

bool scsi_cmd_opcode_has_sa(uint8_t opcode)
{
	unsigned int i = cmd_first(opcode);

	return i < scsi_cmd_table_len && scsi_cmd_table[i].opcode == opcode &&
	       (scsi_cmd_table[i].flags & SCSI_CMD_F_SA);
}

const struct scsi_cmd_desc *scsi_cmd_lookup(const uint8_t *cdb)
{
	unsigned int i = cmd_first(cdb[0]);
	uint8_t sa;

	if (i >= scsi_cmd_table_len || scsi_cmd_table[i].opcode != cdb[0]) {
		return NULL;
	}
	if (!(scsi_cmd_table[i].flags & SCSI_CMD_F_SA)) {
		return &scsi_cmd_table[i];
	}
	sa = cdb[1] & SCSI_SA_MASK;
	for (; i < scsi_cmd_table_len && scsi_cmd_table[i].opcode == cdb[0]; i++) {
		if (scsi_cmd_table[i].sa == sa) {
			return &scsi_cmd_table[i];
		}
	}
	return NULL;
}

enum io_stats_kind scsi_cdb_stats_kind(const uint8_t *cdb)
{
	return scsi_cmd_stats_kind(scsi_cmd_lookup(cdb));
}

int scsi_cmd_check_reserved(const struct scsi_cmd_desc *desc, const uint8_t *cdb, int *bit)
{
	for (unsigned int i = 1; i < desc->cdb_len; i++) {
		uint8_t bad = cdb[i] & (uint8_t)~desc->usage[i];

		if (bad) {
			int b = 7;

			while (!(bad & (1u << b))) {
				b--;
			}
			*bit = b;
			return (int)i;
		}
	}
	return -1;
}
