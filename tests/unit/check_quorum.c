/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The standalone loopback behind quorum/cluster.h: deliveries come from the
 * loop (never inside cluster_propose), in proposal order, numbered after the
 * stored applied sequence without gaps; membership and quorum are announced;
 * a deliver callback may propose again; destroy drops the undelivered;
 * the serving signal comes from the first loop pass (after quorum), and a
 * test hold keeps it back until released, again signalled from the loop;
 * and the sync vocabulary: this node's summary, and a snapshot installed through
 * the hook with its epoch, after which numbering continues.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum/cluster.h"
#include "tests/unit/check_main.h"

#define MAX_SEEN 64

/* What the snapshot_put hook received, and what it answers. */
struct sync_seen {
	uint64_t put_seq, put_epoch;
	size_t put_len;
	int put_rc;
};

struct seen {
	qb_loop_t *loop;
	struct cluster *cluster;
	bool in_propose;
	bool delivered_inside_propose;
	int n;
	uint64_t seq[MAX_SEEN];
	uint32_t origin[MAX_SEEN];
	char msg[MAX_SEEN][16];
	int members_calls;
	uint32_t member;
	int quorum_calls;
	bool quorate;
	int serving_calls;
	bool serving;
	int quorum_calls_at_serving;	/* quorum is announced before serving */
	int repropose;		/* how many follow-ups a delivery proposes */
	int stop_after;
	struct sync_seen sync;
};

static void on_deliver(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx)
{
	struct seen *s = ctx;

	if (s->in_propose) {
		s->delivered_inside_propose = true;
	}
	ck_assert_int_lt(s->n, MAX_SEEN);
	ck_assert_uint_lt(len, sizeof(s->msg[0]));
	s->seq[s->n] = seq;
	s->origin[s->n] = origin;
	memcpy(s->msg[s->n], msg, len);
	s->msg[s->n][len] = '\0';
	s->n++;
	if (s->repropose > 0) {
		s->repropose--;
		ck_assert_int_eq(cluster_propose(s->cluster, "again", 5), 0);
	}
	if (s->n == s->stop_after) {
		qb_loop_stop(s->loop);
	}
}

static void on_members(const uint32_t *members, size_t count, void *ctx)
{
	struct seen *s = ctx;

	ck_assert_uint_eq(count, 1);
	s->members_calls++;
	s->member = members[0];
}

static void on_quorum(bool quorate, void *ctx)
{
	struct seen *s = ctx;

	s->quorum_calls++;
	s->quorate = quorate;
}

static void on_serving(bool serving, void *ctx)
{
	struct seen *s = ctx;

	if (s->in_propose) {
		s->delivered_inside_propose = true;
	}
	s->serving_calls++;
	s->serving = serving;
	s->quorum_calls_at_serving = s->quorum_calls;
}

static const struct cluster_callbacks cbs = {
	.deliver = on_deliver,
	.membership = on_members,
	.quorum = on_quorum,
	.serving = on_serving,
};

static void propose(struct seen *s, const char *text)
{
	s->in_propose = true;
	ck_assert_int_eq(cluster_propose(s->cluster, text, strlen(text)), 0);
	s->in_propose = false;
}

static void timeout_stop(void *data)
{
	qb_loop_stop(data);
}

/* Run the loop until stop_after deliveries or one second. */
static void run(struct seen *s)
{
	qb_loop_timer_handle t;

	ck_assert_int_eq(qb_loop_timer_add(s->loop, QB_LOOP_LOW, 1000000000ULL, s->loop,
					   timeout_stop, &t), 0);
	qb_loop_run(s->loop);
	qb_loop_timer_del(s->loop, t);
}

START_TEST(test_order_and_sequence)
{
	struct seen s = { .stop_after = 3 };

	s.loop = qb_loop_create();
	ck_assert_int_eq(cluster_loopback_create(s.loop, 7, 41, &cbs, &s, &s.cluster), 0);
	ck_assert_uint_eq(cluster_node_id(s.cluster), 7);
	ck_assert(cluster_is_quorate(s.cluster));
	ck_assert_str_eq(cluster_transport_name(s.cluster), "standalone");
	propose(&s, "one");
	propose(&s, "two");
	propose(&s, "three");
	ck_assert_int_eq(s.n, 0);	/* nothing before the loop runs */
	run(&s);
	ck_assert(!s.delivered_inside_propose);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.msg[0], "one");
	ck_assert_str_eq(s.msg[1], "two");
	ck_assert_str_eq(s.msg[2], "three");
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(s.seq[i], 42 + (uint64_t)i);
		ck_assert_uint_eq(s.origin[i], 7);
	}
	ck_assert_int_eq(s.members_calls, 1);
	ck_assert_uint_eq(s.member, 7);
	ck_assert_int_eq(s.quorum_calls, 1);
	ck_assert(s.quorate);
	cluster_destroy(s.cluster);
	qb_loop_destroy(s.loop);
}
END_TEST

START_TEST(test_propose_from_deliver)
{
	struct seen s = { .stop_after = 4, .repropose = 2 };

	s.loop = qb_loop_create();
	ck_assert_int_eq(cluster_loopback_create(s.loop, 1, 0, &cbs, &s, &s.cluster), 0);
	propose(&s, "a");
	propose(&s, "b");
	run(&s);
	ck_assert_int_eq(s.n, 4);
	/* Follow-ups queue behind what was already proposed. */
	ck_assert_str_eq(s.msg[0], "a");
	ck_assert_str_eq(s.msg[1], "b");
	ck_assert_str_eq(s.msg[2], "again");
	ck_assert_str_eq(s.msg[3], "again");
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(s.seq[i], (uint64_t)i + 1);
	}
	cluster_destroy(s.cluster);
	qb_loop_destroy(s.loop);
}
END_TEST

/* Run the jobs the loop has queued (the loopback's are high priority), then stop. */
static void run_jobs(struct seen *s)
{
	ck_assert_int_eq(qb_loop_job_add(s->loop, QB_LOOP_LOW, s->loop, timeout_stop), 0);
	qb_loop_run(s->loop);
}

START_TEST(test_serving_signal)
{
	struct seen s = { 0 };

	s.loop = qb_loop_create();
	ck_assert_int_eq(cluster_loopback_create(s.loop, 3, 0, &cbs, &s, &s.cluster), 0);
	ck_assert(!cluster_is_serving(s.cluster));
	run_jobs(&s);
	ck_assert_int_eq(s.serving_calls, 1);
	ck_assert(s.serving && cluster_is_serving(s.cluster));
	ck_assert_int_eq(s.quorum_calls_at_serving, 1);

	/* A hold, then a release: each signalled once, from the loop. */
	s.in_propose = true;
	ck_assert_int_eq(cluster_loopback_set_serving(s.cluster, false), 0);
	ck_assert_int_eq(cluster_loopback_set_serving(s.cluster, false), 0);
	s.in_propose = false;
	ck_assert(cluster_is_serving(s.cluster));
	run_jobs(&s);
	ck_assert_int_eq(s.serving_calls, 2);
	ck_assert(!s.serving && !cluster_is_serving(s.cluster));
	ck_assert(cluster_is_quorate(s.cluster));
	ck_assert_int_eq(cluster_loopback_set_serving(s.cluster, true), 0);
	run_jobs(&s);
	ck_assert_int_eq(s.serving_calls, 3);
	ck_assert(s.serving);
	/* A pending signal dies with the cluster. */
	ck_assert_int_eq(cluster_loopback_set_serving(s.cluster, false), 0);
	cluster_destroy(s.cluster);
	run_jobs(&s);
	ck_assert_int_eq(s.serving_calls, 3);
	ck_assert(!s.delivered_inside_propose);

	/* Held from creation: quorate after the first pass, never serving. */
	s.serving_calls = 0;
	s.quorum_calls = 0;
	ck_assert_int_eq(cluster_loopback_create(s.loop, 3, 0, &cbs, &s, &s.cluster), 0);
	ck_assert_int_eq(cluster_loopback_set_serving(s.cluster, false), 0);
	run_jobs(&s);
	ck_assert_int_eq(s.quorum_calls, 1);
	ck_assert_int_eq(s.serving_calls, 0);
	ck_assert(!cluster_is_serving(s.cluster));
	ck_assert_int_eq(cluster_loopback_set_serving(s.cluster, true), 0);
	run_jobs(&s);
	ck_assert_int_eq(s.serving_calls, 1);
	ck_assert(cluster_is_serving(s.cluster));
	cluster_destroy(s.cluster);
	qb_loop_destroy(s.loop);
}
END_TEST

START_TEST(test_bad_sizes_and_destroy_drops)
{
	struct seen s = { .stop_after = 1000 };
	static uint8_t big[CLUSTER_MSG_MAX + 1];

	s.loop = qb_loop_create();
	ck_assert_int_eq(cluster_loopback_create(s.loop, 1, 0, &cbs, &s, &s.cluster), 0);
	ck_assert_int_eq(cluster_propose(s.cluster, "x", 0), -EMSGSIZE);
	ck_assert_int_eq(cluster_propose(s.cluster, big, sizeof(big)), -EMSGSIZE);
	ck_assert_int_eq(cluster_propose(s.cluster, big, CLUSTER_MSG_MAX), 0);
	propose(&s, "dropped");
	cluster_destroy(s.cluster);
	run(&s);		/* the queued jobs are gone with the cluster */
	ck_assert_int_eq(s.n, 0);
	qb_loop_destroy(s.loop);
	ck_assert_int_eq(cluster_loopback_create(NULL, 1, 0,
						 &(struct cluster_callbacks){ 0 }, NULL,
						 &s.cluster),
			 -EINVAL);
}
END_TEST

/* ---- sync vocabulary: summaries and snapshot install ----------------------- */

static int on_summary(struct cluster_summary *out, void *ctx)
{
	(void)ctx;
	out->epoch = 3;
	out->applied_seq = 99;
	memset(out->digest, 0xab, sizeof(out->digest));
	return 0;
}

static int on_put(const void *buf, size_t len, uint64_t seq, uint64_t epoch, void *ctx)
{
	struct sync_seen *y = &((struct seen *)ctx)->sync;

	(void)buf;
	y->put_len = len;
	y->put_seq = seq;
	y->put_epoch = epoch;
	return y->put_rc;
}

/* What a cluster_probe_summaries() callback got. */
struct probe_seen {
	int calls;
	bool complete;
	size_t n;
	struct cluster_summary m[4];
};

static void probe_done(const struct cluster_summary *sums, size_t count, bool complete, void *arg)
{
	struct probe_seen *p = arg;

	p->calls++;
	p->complete = complete;
	p->n = count;
	memcpy(p->m, sums, (count < 4 ? count : 4) * sizeof(*sums));
}

START_TEST(test_summaries_and_snapshot_install)
{
	static const struct cluster_callbacks sync_cbs = {
		.deliver = on_deliver,
		.snapshot_put = on_put,
		.summary = on_summary,
	};
	struct seen s = { .stop_after = 1 };
	struct sync_seen *y = &s.sync;
	struct probe_seen pr = { 0 };

	s.loop = qb_loop_create();
	ck_assert_int_eq(cluster_loopback_create(s.loop, 5, 10, &cbs, &s, &s.cluster), 0);
	/* Without the hooks the transport cannot sync this node. */
	ck_assert_int_eq(cluster_probe_summaries(s.cluster, probe_done, &pr), -EOPNOTSUPP);
	ck_assert_int_eq(cluster_snapshot_install(s.cluster, "x", 1, 1, 1), -EOPNOTSUPP);
	cluster_destroy(s.cluster);

	ck_assert_int_eq(cluster_loopback_create(s.loop, 5, 10, &sync_cbs, &s, &s.cluster), 0);
	ck_assert_int_eq(cluster_probe_summaries(s.cluster, probe_done, &pr), 0);
	ck_assert_int_eq(pr.calls, 1);
	ck_assert(pr.complete);
	ck_assert_uint_eq(pr.n, 1);	/* standalone: this node only */
	ck_assert_uint_eq(pr.m[0].node_id, 5);
	ck_assert_uint_eq(pr.m[0].epoch, 3);
	ck_assert_uint_eq(pr.m[0].applied_seq, 99);
	ck_assert_uint_eq(pr.m[0].digest[31], 0xab);

	/* A refused snapshot leaves the numbering alone... */
	y->put_rc = -EBADMSG;
	ck_assert_int_eq(cluster_snapshot_install(s.cluster, "snap", 4, 200, 7), -EBADMSG);
	/* ... an installed one carries its epoch and deliveries continue after it. */
	y->put_rc = 0;
	ck_assert_int_eq(cluster_snapshot_install(s.cluster, "snap", 4, 200, 7), 0);
	ck_assert_uint_eq(y->put_len, 4);
	ck_assert_uint_eq(y->put_seq, 200);
	ck_assert_uint_eq(y->put_epoch, 7);
	propose(&s, "next");
	run(&s);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.seq[0], 201);
	cluster_destroy(s.cluster);
	qb_loop_destroy(s.loop);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("quorum");
	TCase *tc = tcase_create("loopback");

	tcase_add_test(tc, test_order_and_sequence);
	tcase_add_test(tc, test_propose_from_deliver);
	tcase_add_test(tc, test_bad_sizes_and_destroy_drops);
	tcase_add_test(tc, test_serving_signal);
	tcase_add_test(tc, test_summaries_and_snapshot_install);
	suite_add_tcase(s, tc);
	return s;
}
