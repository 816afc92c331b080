// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the SCSI layer: random CDBs with random Data-Out go
 * through scsi_task_submit() to a LU on the null store (and to a LUN that
 * does not exist), with a real qb_loop for the asynchronous completions.
 * Input layout: byte 0 picks the LUN and the buffer size, bytes 1..16 are
 * the CDB, the rest is Data-Out. The invariants checked are the ones the
 * transport relies on: done() runs exactly once, data_in_len never exceeds
 * buf_cap, sense_len fits the sense buffer, CHECK CONDITION carries sense.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <qb/qbloop.h>

#include "daemon/backing/backing.h"
#include "daemon/scsi/scsi.h"

#define FUZZ_BUF_CAP (1u << 20)
#define FUZZ_CDB_LEN 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static qb_loop_t *loop;
static struct scsi_target *target;
static struct scsi_nexus *nexus;
static uint8_t *buf;
static unsigned int done_count;

static void fuzz_done(struct scsi_task *task)
{
	(void)task;
	done_count++;
	qb_loop_stop(loop);
}

static void fuzz_init(void)
{
	struct scsi_port_info port = { .rel_port_id = 1, .tpg_id = 1 };
	struct scsi_lu_config cfg = {
		.backing = "null",
		.size_bytes = 16u << 20,
		.block_size = 512,
		.thin = true,
		.write_cache = true,
		.naa = { 0x60, 0x01 },
		.serial = "FUZZ",
		.vendor = "QUORATE",
		.product = "FUZZ",
		.revision = "0",
	};

	loop = qb_loop_create();
	buf = malloc(FUZZ_BUF_CAP);
	if (!loop || !buf || backing_engine_init(loop) < 0 ||
	    scsi_target_create(loop, "iqn.2026-11.org.quorate:fuzz", &port, &target) < 0 ||
	    scsi_target_add_lu(target, 0, &cfg) < 0 ||
	    scsi_nexus_create(target, "iqn.fuzz,i,0x1", "iqn.2026-11.org.quorate:fuzz,t,0x1",
			      &nexus) < 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scsi_task task;
	uint32_t out_len;

	if (!loop) {
		fuzz_init();
	}
	if (size < 1 + FUZZ_CDB_LEN) {
		return 0;
	}
	memset(&task, 0, sizeof(task));
	task.nexus = nexus;
	task.lun = (data[0] & 0x01) ? (UINT64_C(3) << 48) : 0;
	memcpy(task.cdb, data + 1, FUZZ_CDB_LEN);
	task.cdb_len = FUZZ_CDB_LEN;
	out_len = (uint32_t)(size - 1 - FUZZ_CDB_LEN);
	if (out_len > FUZZ_BUF_CAP) {
		out_len = FUZZ_BUF_CAP;
	}
	memcpy(buf, data + 1 + FUZZ_CDB_LEN, out_len);
	task.buf = buf;
	/* Small capacities exercise truncation; the top bits of byte 0 pick one. */
	task.buf_cap = (data[0] & 0x80) ? FUZZ_BUF_CAP : (uint32_t)(data[0] & 0x7e) * 8;
	if (out_len > task.buf_cap) {
		out_len = task.buf_cap;
	}
	task.expected_len = task.buf_cap;
	task.data_out_len = out_len;
	task.data_out = out_len > 0;
	task.data_in = out_len == 0;
	task.done = fuzz_done;
	done_count = 0;
	scsi_task_submit(&task);
	while (done_count == 0) {
		qb_loop_run(loop);
	}
	if (done_count != 1 || task.data_in_len > task.buf_cap ||
	    task.sense_len > SCSI_SENSE_MAX ||
	    (task.status == SCSI_STATUS_CHECK_CONDITION && task.sense_len == 0)) {
		abort();
	}
	return 0;
}
