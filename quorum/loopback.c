/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The standalone transport: a one-node cluster that is always quorate. A
 * proposal is copied onto a FIFO and delivered later from the qb_loop (one
 * loop job drains the queue), never from inside cluster_propose(), so the
 * daemon runs the very same propose -> deliver -> apply path as it will with
 * Corosync, including the "completion happens later" shape. It announces
 * membership, quorum and then serving from its first loop pass (a test may
 * hold serving back: cluster_loopback_set_serving()).
 *
 * Invariants: deliveries happen in proposal order; sequence numbers are
 * applied_seq + 1, + 2, ... with no gap; at most one drain job is queued.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "quorum/cluster_int.h"

struct loopback_msg {
	struct loopback_msg *next;
	size_t len;
	uint8_t data[];			/* the proposal, copied */
};

struct loopback {
	struct cluster base;		/* first: struct cluster * casts to us */
	struct loopback_msg *head;	/* owned FIFO of undelivered proposals */
	struct loopback_msg **tail;
	uint64_t seq;			/* last sequence delivered */
	bool drain_queued;		/* a loop job will drain the FIFO */
	bool started_queued;		/* initial membership/quorum job pending */
	bool serving_held;		/* tests: cluster_loopback_set_serving(false) */
	bool serving_queued;		/* a loop job will signal the serving state */
	bool *alive;			/* cleared by destroy while draining */
};

static void loopback_drain(void *data)
{
	struct loopback *lb = data;
	bool alive = true;

	lb->drain_queued = false;
	lb->alive = &alive;
	/*
	 * A deliver callback may propose again (appending to the FIFO) or
	 * even destroy the cluster; re-check both after every delivery.
	 */
	while (lb->head != NULL) {
		struct loopback_msg *m = lb->head;

		lb->head = m->next;
		if (lb->head == NULL) {
			lb->tail = &lb->head;
		}
		lb->seq++;
		lb->base.cb.deliver(lb->seq, lb->base.node_id, m->data, m->len, lb->base.ctx);
		free(m);
		if (!alive) {
			return;
		}
		/* The only member has applied it. */
		cluster_everywhere_set(&lb->base, lb->seq);
		if (!alive) {
			return;
		}
	}
	lb->alive = NULL;
}

static const struct cluster_ops loopback_ops;

static void loopback_started(void *data)
{
	struct loopback *lb = data;
	uint32_t me = lb->base.node_id;

	lb->started_queued = false;
	if (lb->base.cb.membership != NULL) {
		lb->base.cb.membership(&me, 1, lb->base.ctx);
	}
	if (lb->base.cb.quorum != NULL) {
		lb->base.cb.quorum(true, lb->base.ctx);
	}
	/* Alone, quorate and synced with itself: serving from the first pass. */
	cluster_serving_set(&lb->base, !lb->serving_held);
	cluster_peers_notify(&lb->base);
}

static void loopback_serving(void *data)
{
	struct loopback *lb = data;

	lb->serving_queued = false;
	cluster_serving_set(&lb->base, !lb->serving_held);
}

int cluster_loopback_set_serving(struct cluster *cluster, bool serving)
{
	struct loopback *lb = (struct loopback *)cluster;
	int rc;

	if (cluster->ops != &loopback_ops) {
		return -EINVAL;
	}
	lb->serving_held = !serving;
	/* Before the first pass loopback_started() signals it; afterwards a job does. */
	if (lb->started_queued || lb->serving_queued) {
		return 0;
	}
	rc = qb_loop_job_add(cluster->loop, QB_LOOP_HIGH, lb, loopback_serving);
	if (rc < 0) {
		return rc;
	}
	lb->serving_queued = true;
	return 0;
}

static int loopback_propose(struct cluster *cluster, const void *msg, size_t len)
{
	struct loopback *lb = (struct loopback *)cluster;
	struct loopback_msg *m = malloc(sizeof(*m) + len);
	int rc;

	if (m == NULL) {
		return -ENOMEM;
	}
	memcpy(m->data, msg, len);
	m->len = len;
	m->next = NULL;
	if (!lb->drain_queued) {
		rc = qb_loop_job_add(cluster->loop, QB_LOOP_HIGH, lb, loopback_drain);
		if (rc < 0) {
			free(m);
			return rc;
		}
		lb->drain_queued = true;
	}
	*lb->tail = m;
	lb->tail = &m->next;
	return 0;
}

static void loopback_destroy(struct cluster *cluster)
{
	struct loopback *lb = (struct loopback *)cluster;

	if (lb->drain_queued) {
		qb_loop_job_del(cluster->loop, QB_LOOP_HIGH, lb, loopback_drain);
	}
	if (lb->started_queued) {
		qb_loop_job_del(cluster->loop, QB_LOOP_HIGH, lb, loopback_started);
	}
	if (lb->serving_queued) {
		qb_loop_job_del(cluster->loop, QB_LOOP_HIGH, lb, loopback_serving);
	}
	if (lb->alive != NULL) {
		*lb->alive = false;
	}
	while (lb->head != NULL) {
		struct loopback_msg *m = lb->head;

		lb->head = m->next;
		free(m);
	}
	free(lb);
}

static int loopback_set_sequence(struct cluster *cluster, uint64_t seq)
{
	((struct loopback *)cluster)->seq = seq;
	return 0;
}

static uint64_t loopback_sequence(const struct cluster *cluster)
{
	return ((const struct loopback *)cluster)->seq;
}

static const struct cluster_ops loopback_ops = {
	.name = "standalone",
	.propose = loopback_propose,
	.destroy = loopback_destroy,
	.set_sequence = loopback_set_sequence,
	.sequence = loopback_sequence,
};

int cluster_loopback_create(qb_loop_t *loop, uint32_t node_id, uint64_t applied_seq,
			    const struct cluster_callbacks *cb, void *ctx, struct cluster **out)
{
	struct loopback *lb;
	int rc;

	if (cb == NULL || cb->deliver == NULL) {
		return -EINVAL;
	}
	lb = calloc(1, sizeof(*lb));
	if (lb == NULL) {
		return -ENOMEM;
	}
	lb->base.ops = &loopback_ops;
	lb->base.loop = loop;
	lb->base.cb = *cb;
	lb->base.ctx = ctx;
	lb->base.node_id = node_id;
	lb->base.quorate = true;	/* a single node is its own majority */
	cluster_peer_get(&lb->base, node_id)->member = true;	/* the table starts empty */
	lb->tail = &lb->head;
	lb->seq = applied_seq;
	lb->base.everywhere = applied_seq;
	rc = qb_loop_job_add(loop, QB_LOOP_HIGH, lb, loopback_started);
	if (rc < 0) {
		free(lb);
		return rc;
	}
	lb->started_queued = true;
	*out = &lb->base;
	return 0;
}
