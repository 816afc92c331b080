/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared helpers for the SCSI layer's unit tests: a real qb_loop with the
 * backing engine, a target with a LU, and a synchronous "run this CDB"
 * wrapper that submits a task and spins the loop until done() runs. Header
 * only, included by each check_scsi_*.c (one binary per test file).
 */
#ifndef QUORATE_TESTS_UNIT_CHECK_SCSI_UTIL_H
#define QUORATE_TESTS_UNIT_CHECK_SCSI_UTIL_H

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qb/qbloop.h>

#include "daemon/backing/backing.h"
#include "daemon/base/byteorder.h"
#include "daemon/scsi/scsi.h"
#include "daemon/scsi/sense.h"

#define T_BUF_CAP (2u << 20)
#define T_INIT1 "iqn.2026-11.org.quorate:init1,i,0x400000000001"
#define T_INIT2 "iqn.2026-11.org.quorate:init2,i,0x400000000002"
#define T_TPORT "iqn.2026-11.org.quorate:test,t,0x0001"

struct t_env {
	qb_loop_t *loop;
	struct scsi_alua_table *alua;	/* the node-wide table the target borrows */
	struct scsi_target *target;
	struct scsi_nexus *n1;
	struct scsi_nexus *n2;
	uint8_t *buf;
	bool done;
};

static struct t_env env;

static inline void t_done(struct scsi_task *task)
{
	(void)task;
	env.done = true;
	qb_loop_stop(env.loop);
}

static inline void t_lu_config(struct scsi_lu_config *cfg, const char *backing, const char *path,
			uint64_t size)
{
	static const uint8_t naa[16] = { 0x60, 0x01, 0x40, 0x5a, 0x11, 0x22, 0x33, 0x44,
					 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc };

	memset(cfg, 0, sizeof(*cfg));
	cfg->backing = backing;
	cfg->path = path;
	cfg->size_bytes = size;
	cfg->block_size = 512;
	cfg->thin = true;
	cfg->write_cache = true;
	memcpy(cfg->naa, naa, sizeof(naa));
	strcpy(cfg->serial, "QT0001");
	strcpy(cfg->vendor, "QUORATE");
	strcpy(cfg->product, "TESTDISK");
	strcpy(cfg->revision, "0.1");
}

static inline void t_setup_target(void)
{
	static const struct scsi_alua_group own = {
		.tpg_id = 1, .state = SCSI_ALUA_ACTIVE_OPTIMIZED, .preferred = true,
		.port_count = 1, .rel_port_ids = { 1 },
	};
	struct scsi_port_info port = { .rel_port_id = 1, .tpg_id = 1 };

	env.loop = qb_loop_create();
	ck_assert_ptr_nonnull(env.loop);
	ck_assert_int_eq(backing_engine_init(env.loop), 0);
	ck_assert_int_eq(scsi_alua_table_create(&own, &env.alua), 0);
	port.alua = env.alua;
	ck_assert_int_eq(scsi_target_create(env.loop, "iqn.2026-11.org.quorate:test", &port,
					    &env.target), 0);
	/* Like the transport's pool: aligned for O_DIRECT stores. */
	env.buf = aligned_alloc(BACKING_BUF_ALIGN, T_BUF_CAP);
	ck_assert_ptr_nonnull(env.buf);
	memset(env.buf, 0, T_BUF_CAP);
}

static inline void t_add_nexuses(void)
{
	ck_assert_int_eq(scsi_nexus_create(env.target, T_INIT1, T_TPORT, &env.n1), 0);
	ck_assert_int_eq(scsi_nexus_create(env.target, T_INIT2, T_TPORT, &env.n2), 0);
}

static inline void t_teardown(void)
{
	scsi_nexus_destroy(env.n1);
	scsi_nexus_destroy(env.n2);
	scsi_target_destroy(env.target);
	scsi_alua_table_destroy(env.alua);
	backing_engine_fini();
	qb_loop_destroy(env.loop);
	free(env.buf);
	memset(&env, 0, sizeof(env));
}

/*
 * Run one CDB on @nexus / LUN @lun. @out_len bytes of Data-Out are taken
 * from @out (copied into the task buffer); @edtl is the expected length.
 */
static inline void t_run(struct scsi_task *task, struct scsi_nexus *nexus, uint16_t lun,
		  const uint8_t *cdb, size_t cdb_len, const void *out, uint32_t out_len,
		  uint32_t edtl)
{
	memset(task, 0, sizeof(*task));
	task->nexus = nexus;
	task->lun = (uint64_t)lun << 48;
	memcpy(task->cdb, cdb, cdb_len);
	task->cdb_len = 16;
	task->attr = SCSI_TASK_SIMPLE;
	task->expected_len = edtl;
	task->buf = env.buf;
	task->buf_cap = T_BUF_CAP;
	if (out && out_len) {
		memcpy(env.buf, out, out_len);
		task->data_out = true;
		task->data_out_len = out_len;
	} else {
		task->data_in = edtl > 0;
	}
	task->done = t_done;
	env.done = false;
	scsi_task_submit(task);
	while (!env.done) {
		qb_loop_run(env.loop);
	}
}

static inline void t_loop_stop(void *data)
{
	qb_loop_stop(data);
}

/* Let the loop run what is pending (a transport's jobs) for 1 ms, then return. */
static inline void t_loop_pass(void)
{
	qb_loop_timer_handle th;

	ck_assert_int_eq(qb_loop_timer_add(env.loop, QB_LOOP_LOW, 1000000, env.loop, t_loop_stop,
					   &th), 0);
	qb_loop_run(env.loop);
}

/*
 * One REPORT TARGET PORT GROUPS descriptor with one target port (SPC-4
 * 6.37): PREF|state, AO_SUP|U_SUP, group, implicit status, port count 1,
 * relative port.
 */
#define T_RTPG_GROUP(pref_state, tpg, port) \
	(pref_state), 0x09, 0x00, (tpg), 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, (port)

/* Key and ASC/ASCQ of a CHECK CONDITION. */
static inline void t_sense(const struct scsi_task *task, uint8_t *key, uint16_t *asc)
{
	ck_assert_int_eq(task->status, SCSI_STATUS_CHECK_CONDITION);
	ck_assert_int_eq(scsi_sense_parse(task->sense, task->sense_len, key, asc), 0);
}

static inline void t_expect_sense(const struct scsi_task *task, uint8_t key, uint16_t asc)
{
	uint8_t k;
	uint16_t a;

	t_sense(task, &k, &a);
	ck_assert_int_eq(k, key);
	ck_assert_uint_eq(a, asc);
}

/* TEST UNIT READY until GOOD: consume pending unit attentions. */
static inline void t_clear_ua(struct scsi_nexus *nexus, uint16_t lun)
{
	static const uint8_t tur[6] = { 0 };
	struct scsi_task task;

	for (int i = 0; i < 16; i++) {
		t_run(&task, nexus, lun, tur, sizeof(tur), NULL, 0, 0);
		if (task.status == SCSI_STATUS_GOOD) {
			return;
		}
	}
	ck_abort_msg("unit attentions do not clear");
}

/* Where t_setup_two_lus() put LUN 1's backing file. */
struct t_files {
	char dir[64];
	char path[96];
};

/*
 * A target with LUN 0 on the null store (@null_size bytes) and LUN 1 on a
 * new sparse file of @file_size bytes in a new directory
 * /var/tmp/@name.XXXXXX (a disk file system where /tmp may be tmpfs), both
 * nexuses, and every unit attention of both consumed.
 */
static inline void t_setup_two_lus(const char *name, uint64_t null_size, uint64_t file_size,
				   struct t_files *f)
{
	struct scsi_lu_config cfg;
	int fd;

	t_setup_target();
	snprintf(f->dir, sizeof(f->dir), "/var/tmp/%s.XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/lu1.img", f->dir);
	fd = open(f->path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)file_size), 0);
	close(fd);
	t_lu_config(&cfg, "null", NULL, null_size);
	ck_assert_int_eq(scsi_target_add_lu(env.target, 0, &cfg), 0);
	t_lu_config(&cfg, "file", f->path, file_size);
	strcpy(cfg.serial, "QT0002");
	ck_assert_int_eq(scsi_target_add_lu(env.target, 1, &cfg), 0);
	t_add_nexuses();
	t_clear_ua(env.n1, 0);
	t_clear_ua(env.n1, 1);
	t_clear_ua(env.n2, 0);
	t_clear_ua(env.n2, 1);
}

static inline void t_teardown_two_lus(const struct t_files *f)
{
	t_teardown();
	unlink(f->path);
	rmdir(f->dir);
}

#endif
