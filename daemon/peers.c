/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster's member table (quorum/cluster.h, cluster_peers) as this node
 * presents it to initiators: other nodes' ALUA target port groups and the
 * portals SendTargets lists.
 */
#include "daemon/daemon.h"

void daemon_peers(const struct cluster_peer *peers, size_t count, void *ctx)
{
	/* Not yet: only this node's own group and portals are presented. */
	(void)peers;
	(void)count;
	(void)ctx;
}
