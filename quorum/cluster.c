/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Transport-independent entry points of cluster.h: argument checks that every
 * transport shares, then dispatch through the transport's ops table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "quorum/cluster_int.h"

int cluster_propose(struct cluster *cluster, const void *msg, size_t len)
{
	if (len == 0 || len > CLUSTER_MSG_MAX || msg == NULL) {
		return -EMSGSIZE;
	}
	if (!cluster->quorate) {
		/* DESIGN §3: only a quorate partition may mutate. */
		return -EAGAIN;
	}
	return cluster->ops->propose(cluster, msg, len);
}

int cluster_send_note(struct cluster *cluster, const void *msg, size_t len)
{
	if (len == 0 || len > CLUSTER_NOTE_MAX || msg == NULL) {
		return -EMSGSIZE;
	}
	if (cluster->ops->send_note == NULL) {
		return -EOPNOTSUPP;
	}
	return cluster->ops->send_note(cluster, msg, len);
}

void cluster_destroy(struct cluster *cluster)
{
	if (cluster != NULL) {
		cluster->ops->destroy(cluster);
	}
}

uint32_t cluster_node_id(const struct cluster *cluster)
{
	return cluster->node_id;
}

bool cluster_is_quorate(const struct cluster *cluster)
{
	return cluster->quorate;
}

const char *cluster_transport_name(const struct cluster *cluster)
{
	return cluster->ops->name;
}

bool cluster_is_serving(const struct cluster *cluster)
{
	return cluster->serving;
}

void cluster_serving_set(struct cluster *cluster, bool serving)
{
	/* DESIGN §3: an inquorate node never serves, whatever else holds. */
	serving = serving && cluster->quorate;
	if (cluster->serving == serving) {
		return;
	}
	cluster->serving = serving;
	if (cluster->cb.serving != NULL) {
		cluster->cb.serving(serving, cluster->ctx);
	}
	cluster_peers_notify(cluster);
}

void cluster_everywhere_set(struct cluster *cluster, uint64_t seq)
{
	if (seq <= cluster->everywhere) {
		return;
	}
	cluster->everywhere = seq;
	if (cluster->cb.applied_everywhere != NULL) {
		cluster->cb.applied_everywhere(seq, cluster->ctx);
	}
}

uint64_t cluster_applied_everywhere(const struct cluster *cluster)
{
	return cluster->everywhere;
}

/* ---- the member table ---- */

struct cluster_peer *cluster_peer_get(struct cluster *cluster, uint32_t node_id)
{
	size_t i;

	for (i = 0; i < cluster->peer_count && cluster->peers[i].node_id < node_id; i++) {
	}
	if (i < cluster->peer_count && cluster->peers[i].node_id == node_id) {
		return &cluster->peers[i];
	}
	if (cluster->peer_count == CLUSTER_PEERS_MAX) {
		return NULL;
	}
	memmove(&cluster->peers[i + 1], &cluster->peers[i],
		(cluster->peer_count - i) * sizeof(cluster->peers[0]));
	cluster->peer_count++;
	memset(&cluster->peers[i], 0, sizeof(cluster->peers[i]));
	cluster->peers[i].node_id = node_id;
	cluster->peers[i].self = node_id == cluster->node_id;
	return &cluster->peers[i];
}

/* Refresh this node's entry: serving now, and the state machine's summary. */
static void cluster_peer_self_refresh(struct cluster *cluster)
{
	struct cluster_peer *me = cluster_peer_get(cluster, cluster->node_id);
	struct cluster_summary sum = { 0 };

	if (me == NULL) {
		return;
	}
	me->serving = cluster->serving;
	if (cluster->cb.summary != NULL && cluster->cb.summary(&sum, cluster->ctx) == 0) {
		me->epoch = sum.epoch;
		me->applied_seq = sum.applied_seq;
		memcpy(me->digest, sum.digest, sizeof(me->digest));
	}
}

void cluster_peers_notify(struct cluster *cluster)
{
	cluster_peer_self_refresh(cluster);
	if (cluster->cb.peers != NULL) {
		cluster->cb.peers(cluster->peers, cluster->peer_count, cluster->ctx);
	}
}

size_t cluster_peers(struct cluster *cluster, const struct cluster_peer **peers)
{
	cluster_peer_self_refresh(cluster);
	*peers = cluster->peers;
	return cluster->peer_count;
}

int cluster_set_portals(struct cluster *cluster, const char *const *portals, size_t count)
{
	struct cluster_peer *me = cluster_peer_get(cluster, cluster->node_id);
	size_t i;

	if (count > CLUSTER_PEER_PORTALS_MAX) {
		return -E2BIG;
	}
	for (i = 0; i < count; i++) {
		if (strlen(portals[i]) >= CLUSTER_PEER_PORTAL_LEN) {
			return -ENAMETOOLONG;
		}
	}
	if (me == NULL) {
		return -ENOSPC;
	}
	for (i = 0; i < count; i++) {
		snprintf(me->portals[i], sizeof(me->portals[i]), "%s", portals[i]);
	}
	me->portal_count = count;
	if (cluster->ops->portals_changed != NULL) {
		cluster->ops->portals_changed(cluster);
	}
	cluster_peers_notify(cluster);
	return 0;
}

int cluster_probe_summaries(struct cluster *cluster, cluster_probe_done_fn done, void *arg)
{
	struct cluster_summary me = { .node_id = cluster->node_id };
	int rc;

	if (cluster->ops->probe != NULL) {
		return cluster->ops->probe(cluster, done, arg);
	}
	if (cluster->cb.summary == NULL) {
		return -EOPNOTSUPP;
	}
	rc = cluster->cb.summary(&me, cluster->ctx);
	if (rc < 0) {
		return rc;
	}
	me.node_id = cluster->node_id;
	done(&me, 1, true, arg);
	return 0;
}

int cluster_snapshot_install(struct cluster *cluster, const void *buf, size_t len,
			     uint64_t seq, uint64_t epoch)
{
	int rc;

	if (cluster->cb.snapshot_put == NULL) {
		return -EOPNOTSUPP;
	}
	rc = cluster->cb.snapshot_put(buf, len, seq, epoch, cluster->ctx);
	if (rc == 0) {
		rc = cluster_set_sequence(cluster, seq);
	}
	if (rc == 0 && cluster->ops->state_replaced != NULL) {
		cluster->ops->state_replaced(cluster);
	}
	return rc;
}

int cluster_set_sequence(struct cluster *cluster, uint64_t seq)
{
	return cluster->ops->set_sequence != NULL ? cluster->ops->set_sequence(cluster, seq)
						   : -EOPNOTSUPP;
}

uint64_t cluster_sequence(const struct cluster *cluster)
{
	return cluster->ops->sequence != NULL ? cluster->ops->sequence(cluster) : 0;
}

size_t cluster_nodes(const struct cluster *cluster, const struct cluster_node **nodes)
{
	if (cluster->ops->nodes == NULL) {
		*nodes = NULL;
		return 0;
	}
	return cluster->ops->nodes(cluster, nodes);
}

int cluster_timing_get(const struct cluster *cluster, struct cluster_timing *out)
{
	return cluster->ops->timing_get != NULL ? cluster->ops->timing_get(cluster, out)
						 : -EOPNOTSUPP;
}
