/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Transport-independent entry points of cluster.h: argument checks that every
 * transport shares, then dispatch through the transport's ops table.
 */
#include <errno.h>

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
}
