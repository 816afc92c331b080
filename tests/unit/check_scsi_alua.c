// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_scsi_alua: the node-wide ALUA port-group table (daemon/scsi/alua.h)
 * on real targets and LUs (null store, real qb_loop), and the serving
 * signal of the real loopback transport (quorum/cluster.h) driving it.
 *
 * - A second port group in the table: REPORT TARGET PORT GROUPS lists both,
 *   short and extended header forms byte for byte; changing the other
 *   group's state, adding or removing it raises 2A/06 on every nexus of
 *   every LU of every target on this node; VPD 83h keeps this node's ids.
 * - The whole table set at once (scsi_alua_groups_set(), as the daemon
 *   follows the cluster's member table): groups added, changed and removed
 *   in one call, one 2A/06 per change and none without one, bad lists
 *   refused whole.
 * - This node's group Unavailable (not serving): media access and PR OUT
 *   fail with NOT READY 04h/0Ch; INQUIRY, REPORT LUNS, RTPG, REQUEST SENSE
 *   and REPORT SUPPORTED OPERATION CODES still answer (SPC-4 5.15.2.4.5).
 * - Start-up: with the loopback created not yet serving, media access is
 *   refused until the serving signal arrives from the loop, then works.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check_main.h"
#include "daemon/scsi/scsi_int.h"
#include "quorum/cluster.h"
#include "tests/unit/check_scsi_util.h"

#define NULL_SIZE (16u << 20)
#define OTHER_TPG 2
#define OTHER_PORT 2
#define T_INIT3 "iqn.2026-11.org.quorate:init3,i,0x400000000003"
#define T_TPORT2 "iqn.2026-11.org.quorate:test2,t,0x0001"

static struct scsi_target *target2;	/* a second target borrowing the same table */
static struct scsi_nexus *n3;

static void alua_setup(void)
{
	struct scsi_port_info port = { .rel_port_id = 1, .tpg_id = 1 };
	struct scsi_lu_config cfg;

	t_setup_target();
	t_lu_config(&cfg, "null", NULL, NULL_SIZE);
	ck_assert_int_eq(scsi_target_add_lu(env.target, 0, &cfg), 0);
	strcpy(cfg.serial, "QT0002");
	ck_assert_int_eq(scsi_target_add_lu(env.target, 1, &cfg), 0);
	t_add_nexuses();
	port.alua = env.alua;
	ck_assert_int_eq(scsi_target_create(env.loop, "iqn.2026-11.org.quorate:test2", &port,
					    &target2), 0);
	strcpy(cfg.serial, "QT0003");
	ck_assert_int_eq(scsi_target_add_lu(target2, 0, &cfg), 0);
	ck_assert_int_eq(scsi_nexus_create(target2, T_INIT3, T_TPORT2, &n3), 0);
	t_clear_ua(env.n1, 0);
	t_clear_ua(env.n1, 1);
	t_clear_ua(env.n2, 0);
	t_clear_ua(env.n2, 1);
	t_clear_ua(n3, 0);
}

static void alua_teardown(void)
{
	scsi_nexus_destroy(n3);
	scsi_target_destroy(target2);
	t_teardown();
}

static const uint8_t rtpg_short[12] = { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };

static void rtpg(struct scsi_task *t, bool ext)
{
	uint8_t cdb[12];

	memcpy(cdb, rtpg_short, sizeof(cdb));
	if (ext) {
		cdb[1] |= 0x20;		/* PARAMETER DATA FORMAT 001b */
	}
	memset(env.buf, 0xee, 128);
	t_run(t, env.n1, 0, cdb, sizeof(cdb), NULL, 0, 256);
	ck_assert_int_eq(t->status, SCSI_STATUS_GOOD);
}

/* Both header forms of RTPG against the descriptors @desc (@len bytes). */
static void expect_rtpg(const uint8_t *desc, size_t len)
{
	uint8_t want[8 + 64];
	struct scsi_task t;

	ck_assert_uint_le(len, 64);
	put_be32(want, (uint32_t)len);
	memcpy(&want[4], desc, len);
	rtpg(&t, false);
	ck_assert_uint_eq(t.data_in_len, 4 + len);
	ck_assert_mem_eq(env.buf, want, 4 + len);

	put_be32(want, (uint32_t)(4 + len));
	want[4] = 0x10;		/* FORMAT TYPE 001b */
	want[5] = 0x00;		/* IMPLICIT TRANSITION TIME */
	want[6] = want[7] = 0;
	memcpy(&want[8], desc, len);
	rtpg(&t, true);
	ck_assert_uint_eq(t.data_in_len, 8 + len);
	ck_assert_mem_eq(env.buf, want, 8 + len);
}

/*
 * The next command of @nexus on @lun meets 2A/06, and the one after runs
 * (or, this node's group being Unavailable, meets 04h/0Ch).
 */
static void expect_alua_ua(struct scsi_nexus *nexus, uint16_t lun)
{
	static const uint8_t tur[6] = { 0 };
	struct scsi_task t;

	t_run(&t, nexus, lun, tur, sizeof(tur), NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_ASYMMETRIC_ACCESS_STATE_CHANGED);
	t_run(&t, nexus, lun, tur, sizeof(tur), NULL, 0, 0);
	if (nexus->target->alua->local_state == SCSI_ALUA_UNAVAILABLE) {
		t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	} else {
		ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	}
}

static void expect_no_ua(struct scsi_nexus *nexus, uint16_t lun)
{
	static const uint8_t tur[6] = { 0 };
	struct scsi_task t;

	t_run(&t, nexus, lun, tur, sizeof(tur), NULL, 0, 0);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
}

/* Every nexus of this node, on every LU of both targets. */
static void expect_alua_ua_everywhere(void)
{
	expect_alua_ua(env.n1, 0);
	expect_alua_ua(env.n1, 1);
	expect_alua_ua(env.n2, 0);
	expect_alua_ua(env.n2, 1);
	expect_alua_ua(n3, 0);
}

START_TEST(test_rtpg_two_groups)
{
	static const uint8_t own_only[] = { T_RTPG_GROUP(0x80, 1, 1) };
	static const uint8_t both_other_u[] = {
		T_RTPG_GROUP(0x80, 1, 1),		/* this node: preferred, Active/optimized */
		T_RTPG_GROUP(0x03, OTHER_TPG, OTHER_PORT),	/* the other: Unavailable */
	};
	static const uint8_t both_other_ao[] = {
		T_RTPG_GROUP(0x80, 1, 1),
		T_RTPG_GROUP(0x00, OTHER_TPG, OTHER_PORT),
	};
	const struct scsi_alua_group other = {
		.tpg_id = OTHER_TPG, .state = SCSI_ALUA_UNAVAILABLE, .preferred = false,
		.port_count = 1, .rel_port_ids = { OTHER_PORT },
	};
	uint8_t vpd83[6] = { 0x12, 0x01, 0x83, 0x10, 0x00, 0 };
	struct scsi_task t;
	unsigned int len, found = 0;

	expect_rtpg(own_only, sizeof(own_only));

	/* A group appears: RTPG lists both, ascending, and every nexus hears of it. */
	ck_assert_int_eq(scsi_alua_group_set(env.alua, &other), 0);
	ck_assert_uint_eq(scsi_alua_group_count(env.alua), 2);
	expect_alua_ua_everywhere();
	expect_rtpg(both_other_u, sizeof(both_other_u));

	/* The other group's state changes: 2A/06 on this node's nexuses. */
	ck_assert_int_eq(scsi_alua_set_state(env.alua, OTHER_TPG, SCSI_ALUA_ACTIVE_OPTIMIZED), 0);
	expect_alua_ua_everywhere();
	expect_rtpg(both_other_ao, sizeof(both_other_ao));
	/* Setting the same state again is no change: no UA. */
	ck_assert_int_eq(scsi_alua_set_state(env.alua, OTHER_TPG, SCSI_ALUA_ACTIVE_OPTIMIZED), 0);
	expect_no_ua(env.n1, 0);
	expect_no_ua(n3, 0);
	ck_assert_int_eq(scsi_alua_set_state(env.alua, OTHER_TPG, SCSI_ALUA_UNAVAILABLE), 0);
	expect_alua_ua_everywhere();
	expect_rtpg(both_other_u, sizeof(both_other_u));

	/* VPD 83h still names this node's relative port and group, not the other's. */
	t_run(&t, env.n1, 0, vpd83, sizeof(vpd83), NULL, 0, 4096);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	len = (unsigned int)env.buf[2] << 8 | env.buf[3];
	for (unsigned int off = 4; off < len + 4; off += 4 + env.buf[off + 3]) {
		uint8_t type = env.buf[off + 1] & 0x0f;

		if (type == 4 || type == 5) {
			ck_assert_uint_eq(get_be16(&env.buf[off + 6]), 1);
			found |= 1u << (type - 4);
		}
	}
	ck_assert_uint_eq(found, 3);

	/* The group goes away: RTPG is this node's group alone again, and 2A/06. */
	ck_assert_int_eq(scsi_alua_group_remove(env.alua, OTHER_TPG), 0);
	expect_alua_ua_everywhere();
	expect_rtpg(own_only, sizeof(own_only));
	ck_assert_int_eq(scsi_alua_group_remove(env.alua, OTHER_TPG), -ENOENT);
	ck_assert_int_eq(scsi_alua_group_remove(env.alua, 1), -EBUSY);
}
END_TEST

/* Several groups and ports: ascending order whatever the insertion order. */
START_TEST(test_rtpg_order_and_ports)
{
	static const uint8_t want[] = {
		T_RTPG_GROUP(0x80, 1, 1),
		0x00, 0x09, 0x00, 0x03, 0x00, 0x02, 0x00, 0x02,	/* group 3: two ports */
		0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x01, 0x03,
		T_RTPG_GROUP(0x83, 9, 9),				/* preferred, Unavailable */
	};
	const struct scsi_alua_group g9 = {
		.tpg_id = 9, .state = SCSI_ALUA_UNAVAILABLE, .preferred = true,
		.port_count = 1, .rel_port_ids = { 9 },
	};
	const struct scsi_alua_group g3 = {
		.tpg_id = 3, .state = SCSI_ALUA_ACTIVE_OPTIMIZED,
		.port_count = 2, .rel_port_ids = { 3, 0x103 },
	};
	struct scsi_alua_group bad = g3;

	ck_assert_int_eq(scsi_alua_group_set(env.alua, &g9), 0);
	ck_assert_int_eq(scsi_alua_group_set(env.alua, &g3), 0);
	expect_alua_ua(env.n1, 0);	/* RTPG is not exempt from unit attentions */
	expect_rtpg(want, sizeof(want));
	bad.port_count = 0;
	ck_assert_int_eq(scsi_alua_group_set(env.alua, &bad), -EINVAL);
	bad.port_count = 1;
	bad.rel_port_ids[0] = 0;	/* relative port 0 is reserved */
	ck_assert_int_eq(scsi_alua_group_set(env.alua, &bad), -EINVAL);
	bad.rel_port_ids[0] = 3;
	bad.state = 0x2;		/* Standby: never reported by this target */
	ck_assert_int_eq(scsi_alua_group_set(env.alua, &bad), -EINVAL);
	expect_rtpg(want, sizeof(want));
}
END_TEST

/* PERSISTENT RESERVE OUT REGISTER of key @key through n1 on LU 0. */
static void pr_register(struct scsi_task *t, uint64_t key)
{
	uint8_t cdb[10] = { 0x5f, 0x00, 0, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t param[24] = { 0 };

	put_be64(&param[8], key);
	t_run(t, env.n1, 0, cdb, sizeof(cdb), param, sizeof(param), sizeof(param));
}

static void read10(struct scsi_nexus *nexus, struct scsi_task *t)
{
	static const uint8_t cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

	t_run(t, nexus, 0, cdb, sizeof(cdb), NULL, 0, 512);
}

static void write10(struct scsi_nexus *nexus, struct scsi_task *t)
{
	static const uint8_t cdb[10] = { 0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	uint8_t block[512];

	memset(block, 0x5a, sizeof(block));
	t_run(t, nexus, 0, cdb, sizeof(cdb), block, sizeof(block), sizeof(block));
}

static void expect_unavailable(const struct scsi_task *t)
{
	t_expect_sense(t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
}

/*
 * This node not serving: its group is Unavailable. SPC-4 5.15.2.4.5 lists
 * what still runs (INQUIRY, REPORT LUNS, REPORT TARGET PORT GROUPS, REQUEST
 * SENSE; we add REPORT SUPPORTED OPERATION CODES); everything else, TEST
 * UNIT READY, media access and PERSISTENT RESERVE OUT included, answers
 * NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE.
 */
START_TEST(test_unavailable_commands)
{
	static const uint8_t unavail_own[] = { T_RTPG_GROUP(0x83, 1, 1) };
	static const uint8_t tur[6] = { 0 };
	static const uint8_t inq[6] = { 0x12, 0, 0, 0, 96, 0 };
	static const uint8_t luns[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	static const uint8_t rs[6] = { 0x03, 0, 0, 0, 18, 0 };
	static const uint8_t rsoc[12] = { 0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0 };
	static const uint8_t readkeys[10] = { 0x5e, 0x00, 0, 0, 0, 0, 0, 0, 64, 0 };
	static const uint8_t sync10[10] = { 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct scsi_task t;

	ck_assert_uint_eq(scsi_alua_local_state(env.alua), SCSI_ALUA_ACTIVE_OPTIMIZED);
	scsi_alua_set_serving(env.alua, false);
	ck_assert_uint_eq(scsi_alua_local_state(env.alua), SCSI_ALUA_UNAVAILABLE);
	/* The change itself is reported first (2A/06), on this node's other target too. */
	t_run(&t, env.n1, 0, tur, sizeof(tur), NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_ASYMMETRIC_ACCESS_STATE_CHANGED);
	t_run(&t, n3, 0, tur, sizeof(tur), NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_ASYMMETRIC_ACCESS_STATE_CHANGED);
	t_run(&t, n3, 0, tur, sizeof(tur), NULL, 0, 0);
	expect_unavailable(&t);

	t_run(&t, env.n1, 0, tur, sizeof(tur), NULL, 0, 0);
	expect_unavailable(&t);
	read10(env.n1, &t);
	expect_unavailable(&t);
	write10(env.n1, &t);
	expect_unavailable(&t);
	t_run(&t, env.n1, 0, sync10, sizeof(sync10), NULL, 0, 0);
	expect_unavailable(&t);
	pr_register(&t, 0x1234);
	expect_unavailable(&t);
	t_run(&t, env.n1, 0, readkeys, sizeof(readkeys), NULL, 0, 64);
	expect_unavailable(&t);

	t_run(&t, env.n1, 0, inq, sizeof(inq), NULL, 0, 96);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, env.n1, 0, luns, sizeof(luns), NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be32(env.buf), 16);	/* LUNs 0 and 1 */
	t_run(&t, env.n1, 0, rs, sizeof(rs), NULL, 0, 18);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, env.n1, 0, rsoc, sizeof(rsoc), NULL, 0, 4096);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	expect_rtpg(unavail_own, sizeof(unavail_own));

	/* Serving again: 2A/06, then media access and PR OUT run; the refused REGISTER left no key. */
	scsi_alua_set_serving(env.alua, true);
	expect_alua_ua(env.n1, 0);
	t_run(&t, env.n1, 0, readkeys, sizeof(readkeys), NULL, 0, 64);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be32(&env.buf[4]), 0);	/* ADDITIONAL LENGTH: no keys */
	write10(env.n1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	read10(env.n1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	pr_register(&t, 0x1234);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	t_run(&t, env.n1, 0, readkeys, sizeof(readkeys), NULL, 0, 64);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(get_be32(&env.buf[4]), 8);
	ck_assert_uint_eq(get_be64(&env.buf[8]), 0x1234);
	expect_rtpg((const uint8_t[]){ T_RTPG_GROUP(0x80, 1, 1) }, 12);
}
END_TEST

/* The table must match the target's port; targets outlive the table safely. */
START_TEST(test_borrowers)
{
	struct scsi_port_info port = { .rel_port_id = 2, .tpg_id = 1, .alua = env.alua };
	struct scsi_target *bad = NULL;
	struct scsi_task t;

	/* Relative port 2 is not a port of this node's group 1; group 2 is not ours. */
	ck_assert_int_eq(scsi_target_create(env.loop, "iqn.2026-11.org.quorate:bad", &port, &bad),
			 -EINVAL);
	port.rel_port_id = 1;
	port.tpg_id = 2;
	ck_assert_int_eq(scsi_target_create(env.loop, "iqn.2026-11.org.quorate:bad", &port, &bad),
			 -EINVAL);
	ck_assert_ptr_null(bad);

	/*
	 * The table goes first (the daemon frees it after its targets, but
	 * sessions may drain on a destroyed target): both targets keep this
	 * node's group in its last state.
	 */
	scsi_alua_set_serving(env.alua, false);
	scsi_alua_table_destroy(env.alua);
	env.alua = NULL;
	expect_alua_ua(env.n1, 0);
	expect_rtpg((const uint8_t[]){ T_RTPG_GROUP(0x83, 1, 1) }, 12);
	t_run(&t, n3, 0, (const uint8_t[6]){ 0 }, 6, NULL, 0, 0);
	t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_ASYMMETRIC_ACCESS_STATE_CHANGED);
	read10(n3, &t);
	expect_unavailable(&t);
}
END_TEST

/*
 * The whole table at once (scsi_alua_groups_set(), what daemon/peers.c does
 * with the member table): groups appear, change and go in one call, RTPG
 * lists them ascending whatever the order given, and every nexus of this
 * node hears of it once per change, of no change not at all; a bad list
 * changes nothing.
 */
START_TEST(test_groups_set_whole_table)
{
	static const uint8_t three[] = {
		T_RTPG_GROUP(0x80, 1, 1),		/* this node, Active/optimized */
		T_RTPG_GROUP(0x80, 2, 2),		/* node 2 serving */
		T_RTPG_GROUP(0x83, 3, 3),		/* node 3 not serving */
	};
	static const uint8_t three_2u[] = {
		T_RTPG_GROUP(0x80, 1, 1),
		T_RTPG_GROUP(0x83, 2, 2),
		T_RTPG_GROUP(0x83, 3, 3),
	};
	static const uint8_t two[] = { T_RTPG_GROUP(0x80, 1, 1), T_RTPG_GROUP(0x83, 2, 2) };
	static const uint8_t own_u[] = { T_RTPG_GROUP(0x83, 1, 1), T_RTPG_GROUP(0x83, 2, 2) };
	struct scsi_alua_group g[3] = {
		{ .tpg_id = 3, .state = SCSI_ALUA_UNAVAILABLE, .preferred = true,
		  .port_count = 1, .rel_port_ids = { 3 } },
		{ .tpg_id = 1, .state = SCSI_ALUA_ACTIVE_OPTIMIZED, .preferred = true,
		  .port_count = 1, .rel_port_ids = { 1 } },
		{ .tpg_id = 2, .state = SCSI_ALUA_ACTIVE_OPTIMIZED, .preferred = true,
		  .port_count = 1, .rel_port_ids = { 2 } },
	};
	struct scsi_alua_group bad[3], many[SCSI_ALUA_GROUPS_MAX + 1];
	struct scsi_task t;

	/* Two groups appear in one call: one 2A/06 per nexus, ascending in RTPG. */
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, g, 3), 0);
	ck_assert_uint_eq(scsi_alua_group_count(env.alua), 3);
	expect_alua_ua_everywhere();
	expect_rtpg(three, sizeof(three));

	/* The same table again (in another order): no change, no UA. */
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, (struct scsi_alua_group[]){ g[2], g[0],
										g[1] }, 3), 0);
	expect_no_ua(env.n1, 0);
	expect_no_ua(n3, 0);

	/* Another node stops serving: its group is Unavailable, 2A/06 everywhere. */
	g[2].state = SCSI_ALUA_UNAVAILABLE;
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, g, 3), 0);
	expect_alua_ua_everywhere();
	expect_rtpg(three_2u, sizeof(three_2u));

	/* Node 3 leaves the table: its group goes, 2A/06 everywhere. */
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, &g[1], 2), 0);
	ck_assert_uint_eq(scsi_alua_group_count(env.alua), 2);
	expect_alua_ua_everywhere();
	expect_rtpg(two, sizeof(two));

	/* This node's own group in the list drives its state (media access refused). */
	g[1].state = SCSI_ALUA_UNAVAILABLE;
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, &g[1], 2), 0);
	ck_assert_uint_eq(scsi_alua_local_state(env.alua), SCSI_ALUA_UNAVAILABLE);
	expect_alua_ua_everywhere();
	read10(env.n1, &t);
	expect_unavailable(&t);
	expect_rtpg(own_u, sizeof(own_u));

	/* Refused whole, the table unchanged and nobody told: */
	memcpy(bad, g, sizeof(bad));
	/* this node's group missing, */
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, &bad[2], 1), -EINVAL);
	/* an id twice, */
	bad[0].tpg_id = 2;
	bad[0].rel_port_ids[0] = 2;
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, bad, 3), -EINVAL);
	/* a bad group (relative port 0 is reserved), */
	memcpy(bad, g, sizeof(bad));
	bad[0].rel_port_ids[0] = 0;
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, bad, 3), -EINVAL);
	/* more groups than the table holds. */
	for (unsigned int i = 0; i < SCSI_ALUA_GROUPS_MAX + 1; i++) {
		many[i] = g[1];
		many[i].tpg_id = (uint16_t)(i + 1);
		many[i].rel_port_ids[0] = (uint16_t)(i + 1);
	}
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, many, SCSI_ALUA_GROUPS_MAX + 1), -ENOSPC);
	/* Exactly as many as it holds is fine. */
	ck_assert_uint_eq(scsi_alua_local_state(env.alua), SCSI_ALUA_UNAVAILABLE);
	expect_rtpg(own_u, sizeof(own_u));
	ck_assert_int_eq(scsi_alua_groups_set(env.alua, many, SCSI_ALUA_GROUPS_MAX), 0);
	ck_assert_uint_eq(scsi_alua_group_count(env.alua), SCSI_ALUA_GROUPS_MAX);
}
END_TEST

/* ---- the loopback's serving signal drives the table (daemon/main.c's wiring) ---- */

static unsigned int serving_calls;

static void on_deliver(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx)
{
	(void)seq;
	(void)origin;
	(void)msg;
	(void)len;
	(void)ctx;
}

/* What daemon_serving() does with the table. */
static void on_serving(bool serving, void *ctx)
{
	scsi_alua_set_serving(ctx, serving);
	serving_calls++;
}

static const struct cluster_callbacks loopback_cb = {
	.deliver = on_deliver,
	.serving = on_serving,
};

/*
 * As quorated starts: this node's group Unavailable (daemon_alua_create()),
 * then the transport; media access is refused until it signals serving.
 */
static struct cluster *start_not_serving(void)
{
	struct cluster *cluster;
	struct scsi_task t;

	serving_calls = 0;
	scsi_alua_set_serving(env.alua, false);
	expect_alua_ua(env.n1, 0);
	ck_assert_int_eq(cluster_loopback_create(env.loop, 1, 0, &loopback_cb, env.alua, &cluster),
			 0);
	ck_assert(!cluster_is_serving(cluster));
	read10(env.n1, &t);
	expect_unavailable(&t);
	return cluster;
}

/*
 * Start-up with a transport that is not serving yet: targets and nexuses
 * exist (portals listen, initiators log in), and media access is refused
 * until the serving signal comes from the loop; then it works.
 */
START_TEST(test_loopback_serving_gates_media)
{
	struct cluster *cluster = start_not_serving();
	struct scsi_task t;

	ck_assert_int_eq(cluster_loopback_set_serving(cluster, false), 0);
	t_loop_pass();
	/* Quorate, membership known, but not serving: no signal, media refused. */
	ck_assert(cluster_is_quorate(cluster));
	ck_assert(!cluster_is_serving(cluster));
	ck_assert_uint_eq(serving_calls, 0);
	expect_alua_ua(env.n2, 0);
	read10(env.n2, &t);
	expect_unavailable(&t);

	/* Released: the signal comes from the loop, not from inside the call. */
	ck_assert_int_eq(cluster_loopback_set_serving(cluster, true), 0);
	ck_assert(!cluster_is_serving(cluster));
	read10(env.n1, &t);
	expect_unavailable(&t);
	t_loop_pass();
	ck_assert(cluster_is_serving(cluster));
	ck_assert_uint_eq(serving_calls, 1);
	ck_assert_uint_eq(scsi_alua_local_state(env.alua), SCSI_ALUA_ACTIVE_OPTIMIZED);
	expect_alua_ua(env.n1, 0);
	read10(env.n1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);

	/* And back: not serving is Unavailable again. */
	ck_assert_int_eq(cluster_loopback_set_serving(cluster, false), 0);
	t_loop_pass();
	ck_assert(!cluster_is_serving(cluster));
	ck_assert_uint_eq(serving_calls, 2);
	expect_alua_ua(env.n2, 0);
	read10(env.n2, &t);
	expect_unavailable(&t);
	cluster_destroy(cluster);
}
END_TEST

/* Without a hold, the loopback serves from its first loop pass. */
START_TEST(test_loopback_serves_first_pass)
{
	struct cluster *cluster = start_not_serving();
	struct scsi_task t;

	t_loop_pass();
	ck_assert(cluster_is_serving(cluster));
	ck_assert_uint_eq(serving_calls, 1);
	expect_alua_ua(env.n1, 0);
	read10(env.n1, &t);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	cluster_destroy(cluster);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("scsi_alua");
	TCase *tc = tcase_create("alua");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, alua_setup, alua_teardown);
	tcase_add_test(tc, test_rtpg_two_groups);
	tcase_add_test(tc, test_rtpg_order_and_ports);
	tcase_add_test(tc, test_groups_set_whole_table);
	tcase_add_test(tc, test_unavailable_commands);
	tcase_add_test(tc, test_borrowers);
	tcase_add_test(tc, test_loopback_serving_gates_media);
	tcase_add_test(tc, test_loopback_serves_first_pass);
	suite_add_tcase(s, tc);
	return s;
}
