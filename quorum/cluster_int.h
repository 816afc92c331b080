/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every transport behind cluster.h shares: an ops table and the common
 * head of struct cluster. A transport embeds struct cluster first in its own
 * object, so the generic entry points in cluster.c dispatch through ops.
 */
#ifndef QUORATE_QUORUM_CLUSTER_INT_H
#define QUORATE_QUORUM_CLUSTER_INT_H

#include "quorum/cluster.h"

struct cluster_ops {
	const char *name;
	int (*propose)(struct cluster *cluster, const void *msg, size_t len);
	void (*destroy)(struct cluster *cluster);
	/* Optional (NULL: the generic call answers -EOPNOTSUPP or empty). */
	/* Continue numbering deliveries after @seq (a snapshot was installed). */
	int (*set_sequence)(struct cluster *cluster, uint64_t seq);
	uint64_t (*sequence)(const struct cluster *cluster);
	size_t (*nodes)(const struct cluster *cluster, const struct cluster_node **nodes);
	int (*timing_get)(const struct cluster *cluster, struct cluster_timing *out);
	/* Optional: an administrator replaced this node's state (snapshot install). */
	void (*state_replaced)(struct cluster *cluster);
	/* Optional: cluster_probe_summaries (NULL: this node's summary alone). */
	int (*probe)(struct cluster *cluster, cluster_probe_done_fn done, void *arg);
	/* This node's portals changed (already in its table entry): announce them. */
	void (*portals_changed)(struct cluster *cluster);
	/* Optional: cluster_send_note (NULL: -EOPNOTSUPP). */
	int (*send_note)(struct cluster *cluster, const void *msg, size_t len);
};

struct cluster {
	const struct cluster_ops *ops;
	qb_loop_t *loop;			/* borrowed */
	struct cluster_callbacks cb;		/* copied at creation */
	void *ctx;				/* borrowed: passed to every callback */
	uint32_t node_id;
	bool quorate;
	bool serving;				/* cluster_serving_set() only */
	uint64_t everywhere;			/* cluster_everywhere_set() only */

	/* The member table (cluster_peers); this node's entry is kept here. */
	struct cluster_peer peers[CLUSTER_PEERS_MAX];
	size_t peer_count;
};

/**
 * Find or add @node_id's entry in the member table (ascending ids).
 * @return the entry, or NULL when the table is full.
 */
struct cluster_peer *cluster_peer_get(struct cluster *cluster, uint32_t node_id);

/** Every member applied up to @seq: record it and call back if it grew. */
void cluster_everywhere_set(struct cluster *cluster, uint64_t seq);

/** Call the peers callback with the table (this node's summary refreshed). */
void cluster_peers_notify(struct cluster *cluster);

/**
 * A transport's serving state (quorate && synced && its own conditions):
 * record it, call back on a change. Never true while !cluster->quorate: a
 * transport losing quorum sets quorate false and then calls this.
 */
void cluster_serving_set(struct cluster *cluster, bool serving);

#endif
