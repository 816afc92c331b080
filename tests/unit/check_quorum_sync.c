/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sync protocol's pure parts (quorum/sync.h): the round decision (the
 * leader, who is behind, divergence, the fresh rule for a node restarted
 * alone, quorate rounds), view ids that every member computes alike, the
 * payload codecs with malformed input refused, and the lease and grace
 * derived from corosync's timeouts with the inequalities of the timing
 * argument (docs/ARCHITECTURE.md, "Serving and fencing"). Links only
 * libquorum.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "tests/unit/check_main.h"
#include "quorum/sync.h"

static struct sync_summary sum(uint32_t node, uint64_t epoch, uint64_t seq, uint8_t digest,
			       bool fresh)
{
	struct sync_summary s = {
		.node_id = node, .pid = 100 + node, .quorate = true, .fresh = fresh,
		.epoch = epoch, .seq = seq,
	};

	memset(s.digest, digest, sizeof(s.digest));
	return s;
}

START_TEST(test_all_equal)
{
	struct sync_summary s[3] = { sum(3, 4, 10, 7, false), sum(1, 4, 10, 7, false),
				     sum(2, 4, 10, 7, false) };
	struct sync_decision d;

	sync_decide(s, 3, &d);
	ck_assert(d.quorate);
	ck_assert(!d.transfer);
	/* Among equals the lowest node id leads, whatever the delivery order. */
	ck_assert_uint_eq(s[d.leader].node_id, 1);
	ck_assert_uint_eq(d.epoch, 4);
	ck_assert_uint_eq(d.seq, 10);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(sync_role(s, &d, i), SYNC_CURRENT);
	}
}
END_TEST

START_TEST(test_newest_leads)
{
	/* A higher epoch wins over a higher sequence: only quorate rounds bump it. */
	struct sync_summary s[3] = { sum(1, 4, 99, 1, false), sum(2, 5, 3, 2, false),
				     sum(3, 5, 2, 3, false) };
	struct sync_decision d;

	sync_decide(s, 3, &d);
	ck_assert_uint_eq(s[d.leader].node_id, 2);
	ck_assert(d.transfer);
	ck_assert_int_eq(sync_role(s, &d, 0), SYNC_BEHIND);
	ck_assert_int_eq(sync_role(s, &d, 1), SYNC_CURRENT);
	ck_assert_int_eq(sync_role(s, &d, 2), SYNC_BEHIND);
}
END_TEST

START_TEST(test_divergence)
{
	struct sync_summary s[3] = { sum(1, 5, 8, 1, false), sum(2, 5, 8, 2, false),
				     sum(3, 5, 8, 1, false) };
	struct sync_decision d;

	sync_decide(s, 3, &d);
	ck_assert_uint_eq(s[d.leader].node_id, 1);
	ck_assert_int_eq(sync_role(s, &d, 1), SYNC_DIVERGED);
	ck_assert_int_eq(sync_role(s, &d, 2), SYNC_CURRENT);
	/* Nobody is behind: a diverged node does not get a snapshot. */
	ck_assert(!d.transfer);
}
END_TEST

START_TEST(test_restarted_node_takes_running_state)
{
	/*
	 * Node 1 restarted alone at the same (epoch, seq) after dropping
	 * non-APTPL reservations (another digest): it is behind the running
	 * node 2 even with the lower id, not diverged.
	 */
	struct sync_summary s[2] = { sum(1, 5, 8, 1, true), sum(2, 5, 8, 2, false) };
	struct sync_decision d;

	sync_decide(s, 2, &d);
	ck_assert_uint_eq(s[d.leader].node_id, 2);
	ck_assert_int_eq(sync_role(s, &d, 0), SYNC_BEHIND);
	ck_assert(d.transfer);
	/* Two fresh nodes (a whole-cluster restart) that differ have diverged. */
	s[1].fresh = true;
	sync_decide(s, 2, &d);
	ck_assert_uint_eq(s[d.leader].node_id, 1);
	ck_assert_int_eq(sync_role(s, &d, 1), SYNC_DIVERGED);
}
END_TEST

START_TEST(test_inquorate_round)
{
	struct sync_summary s[2] = { sum(1, 5, 8, 1, false), sum(2, 5, 8, 1, false) };
	struct sync_decision d;

	s[1].quorate = false;
	sync_decide(s, 2, &d);
	ck_assert(!d.quorate);
}
END_TEST

START_TEST(test_view_id)
{
	struct sync_member a[3] = { { 1, 10 }, { 2, 20 }, { 3, 30 } };
	struct sync_member b[3] = { { 3, 30 }, { 1, 10 }, { 2, 20 } };
	struct sync_member c[3] = { { 1, 10 }, { 2, 21 }, { 3, 30 } };

	/* Order does not matter; a restarted process (new pid) is another view. */
	ck_assert_uint_eq(sync_view_id(a, 3), sync_view_id(b, 3));
	ck_assert_uint_ne(sync_view_id(a, 3), sync_view_id(c, 3));
	ck_assert_uint_ne(sync_view_id(a, 3), sync_view_id(a, 2));
	/* b is unchanged. */
	ck_assert_uint_eq(b[0].node_id, 3);
}
END_TEST

START_TEST(test_summary_codec)
{
	struct sync_summary s = sum(2, 0x0102030405060708ull, 77, 9, true), d = { 0 };
	uint8_t buf[SYNC_SUMMARY_LEN];

	s.view = 0xfeedfacecafebeefull;
	s.round = 3;
	s.quorate = false;
	ck_assert_uint_eq(sync_summary_encode(buf, &s), SYNC_SUMMARY_LEN);
	ck_assert_int_eq(sync_summary_decode(buf, sizeof(buf), &d), 0);
	ck_assert_uint_eq(d.view, s.view);
	ck_assert_uint_eq(d.round, 3);
	ck_assert(!d.quorate);
	ck_assert(d.fresh);
	ck_assert_uint_eq(d.epoch, s.epoch);
	ck_assert_uint_eq(d.seq, 77);
	ck_assert_int_eq(memcmp(d.digest, s.digest, sizeof(d.digest)), 0);
	ck_assert_int_eq(sync_summary_decode(buf, sizeof(buf) - 1, &d), -EBADMSG);
	buf[12] |= 0x80;	/* an unknown flag */
	ck_assert_int_eq(sync_summary_decode(buf, sizeof(buf), &d), -EBADMSG);
}
END_TEST

START_TEST(test_heartbeat_codec)
{
	struct sync_heartbeat h = { .id = 41, .answers = 0x500000007ull, .serving = true,
				    .epoch = 6, .seq = 1234, .portal_count = 2 }, d;
	uint8_t buf[SYNC_HEARTBEAT_MAX];
	size_t n;

	memset(h.digest, 0xab, sizeof(h.digest));
	strcpy(h.portals[0], "198.18.0.1:3260");
	strcpy(h.portals[1], "[fd00::1]:3260");
	n = sync_heartbeat_encode(buf, &h);
	ck_assert_int_eq(sync_heartbeat_decode(buf, n, &d), 0);
	ck_assert_uint_eq(d.id, 41);
	ck_assert_uint_eq(d.answers, h.answers);
	ck_assert(d.serving);
	ck_assert(!d.diverged);
	ck_assert_uint_eq(d.seq, 1234);
	ck_assert_uint_eq(d.portal_count, 2);
	ck_assert_str_eq(d.portals[1], "[fd00::1]:3260");
	/* Truncated anywhere, or a byte too many: refused. */
	for (size_t k = 0; k < n; k++) {
		ck_assert_int_eq(sync_heartbeat_decode(buf, k, &d), -EBADMSG);
	}
	ck_assert_int_eq(sync_heartbeat_decode(buf, n + 1, &d), -EBADMSG);
	/* A portal count above the maximum. */
	buf[29 + CLUSTER_DIGEST_LEN] = CLUSTER_PEER_PORTALS_MAX + 1;
	ck_assert_int_eq(sync_heartbeat_decode(buf, n, &d), -EBADMSG);
}
END_TEST

START_TEST(test_snapshot_hdr)
{
	struct sync_snapshot_hdr h = { .view = 5, .round = 2, .epoch = 9, .seq = 100 }, d;
	uint8_t buf[SYNC_SNAPSHOT_HDR_LEN];

	sync_snapshot_hdr_encode(buf, &h);
	ck_assert_int_eq(sync_snapshot_hdr_decode(buf, sizeof(buf), &d), 0);
	ck_assert_uint_eq(d.view, 5);
	ck_assert_uint_eq(d.round, 2);
	ck_assert_uint_eq(d.epoch, 9);
	ck_assert_uint_eq(d.seq, 100);
	ck_assert_int_eq(sync_snapshot_hdr_decode(buf, sizeof(buf) - 1, &d), -EBADMSG);
}
END_TEST

START_TEST(test_timing)
{
	/* 3 nodes, token: 1000 -> corosync's effective token 1650, consensus 1980. */
	struct cluster_timing three = { .token_ms = 1650, .consensus_ms = 1980 };
	struct cluster_timing pair = { .token_ms = 1000, .consensus_ms = 1200,
				       .qdevice_timeout_ms = 10000 };
	struct cluster_timing unknown = { 0 };
	struct sync_timing t;

	sync_timing_derive(&three, &t);
	ck_assert_uint_eq(t.heartbeat_ms, 412);
	/* The lease outlasts a ring re-formation (T + C without deliveries)... */
	ck_assert_uint_gt(t.lease_ms, three.token_ms + three.consensus_ms);
	/* ...and the grace outlasts the lease by the margin. */
	ck_assert_uint_ge(t.grace_ms, t.lease_ms + SYNC_MARGIN_MS);
	ck_assert_uint_eq(t.lease_ms, 4454);
	ck_assert_uint_eq(t.grace_ms, 5454);
	/*
	 * The base lease: a node whose heartbeats stop being delivered and
	 * that reaches no majority stops within token + 2 s of being cut off
	 * (its last delivered heartbeat was sent before the cut)...
	 */
	ck_assert_uint_eq(t.lease_base_ms, 1650 + 2 * 412);
	ck_assert_uint_lt(t.lease_base_ms, three.token_ms + 2000);
	/* ...and reach probes, begun after 2 heartbeat periods, have time to answer. */
	ck_assert_uint_ge(t.lease_base_ms, 2 * t.heartbeat_ms + 2 * t.heartbeat_ms);
	ck_assert_uint_lt(t.lease_base_ms, t.lease_ms);

	/* With a qdevice, an isolated node stays quorate up to T + C + Q. */
	sync_timing_derive(&pair, &t);
	/* The survivors' lease outlasts corosync's wait for the qdevice's poll. */
	ck_assert_uint_gt(t.lease_ms,
			  pair.token_ms + pair.consensus_ms + pair.qdevice_timeout_ms);
	ck_assert_uint_ge(t.grace_ms, t.lease_ms + SYNC_MARGIN_MS + pair.token_ms +
					      pair.consensus_ms + pair.qdevice_timeout_ms);
	ck_assert_uint_eq(t.lease_ms, 12700);
	ck_assert_uint_eq(t.grace_ms, 25900);
	/* The base lease leaves the qdevice out: cut off, the node stops within T + 2 s. */
	ck_assert_uint_eq(t.lease_base_ms, 1500);
	ck_assert_uint_lt(t.lease_base_ms, pair.token_ms + 2000);

	/* cmap said nothing: corosync's defaults (token 1000 ms). */
	sync_timing_derive(&unknown, &t);
	ck_assert_uint_eq(t.heartbeat_ms, 250);
	ck_assert_uint_eq(t.lease_ms, 1000 + 1200 + 500);
	ck_assert_uint_eq(t.lease_base_ms, 1000 + 500);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("quorum_sync");
	TCase *tc = tcase_create("sync");

	tcase_add_test(tc, test_all_equal);
	tcase_add_test(tc, test_newest_leads);
	tcase_add_test(tc, test_divergence);
	tcase_add_test(tc, test_restarted_node_takes_running_state);
	tcase_add_test(tc, test_inquorate_round);
	tcase_add_test(tc, test_view_id);
	tcase_add_test(tc, test_summary_codec);
	tcase_add_test(tc, test_heartbeat_codec);
	tcase_add_test(tc, test_snapshot_hdr);
	tcase_add_test(tc, test_timing);
	suite_add_tcase(s, tc);
	return s;
}
