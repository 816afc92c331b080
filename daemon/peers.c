/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster's member table (quorum/cluster.h, cluster_peers()) as this
 * node presents it to initiators (DESIGN §3), in one place:
 *
 *  - ALUA: one target port group per node of the table (every node of
 *    corosync's nodelist and every member; standalone, this node alone),
 *    group id = node id, with one relative target port, id = node id.
 *    Active/Optimized while that node serves, Unavailable otherwise: a node
 *    out of the membership is Unavailable whatever it last announced. This
 *    node's group follows its own serving signal (cluster_is_serving()).
 *    Groups of nodes gone from the table are removed. Every group carries
 *    the preferred bit, so that RTPG reads the same through every node (PREF
 *    describes a group, not the node answering). scsi_alua_groups_set()
 *    raises 2A/06 on every nexus when anything changed.
 *  - SendTargets: the portals this node listens on (its configuration
 *    file's and its run-time ones, portals.c; TPGT from its config, the
 *    node id) and every other node's announced portals (TPGT = its node
 *    id), each listed while its node serves. Another node's portal must be
 *    a numeric address: a host name would be resolved on this node's loop.
 *    Each node announces the numeric form of the portals it listens on
 *    (daemon_peers_announce(), at start-up and whenever they change).
 *
 * Both the transport's peers callback (every change of the table) and the
 * serving callback end in peers_present(), which compares what it would
 * present with what it presented last and does nothing when they are the
 * same: the peers callback also fires for every new summary (epoch,
 * applied sequence, digest), which changes neither groups nor portals.
 * Everything runs on the daemon's loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/log.h"
#include "daemon/daemon.h"
#include "daemon/iscsi/iscsi.h"
#include "daemon/scsi/alua.h"

_Static_assert(SCSI_ALUA_GROUPS_MAX >= CLUSTER_PEERS_MAX,
	       "the ALUA table must hold a group for every node of the member table");
_Static_assert(CONFIG_PORTAL_MAX < CLUSTER_PEER_PORTAL_LEN,
	       "a configured portal must fit the member table's portal strings");

#define PEERS_TPG_MAX 0xffffu /* a TPGT and a port group id are 16 bits */

/* What this node presented last: the inputs that decide groups and portals. */
struct daemon_peers_view {
	bool valid;
	bool serving; /* this node's serving signal */
	size_t count;
	struct cluster_peer peers[CLUSTER_PEERS_MAX];
};

static const char *alua_state_name(bool serving)
{
	return serving ? "Active/Optimized" : "Unavailable";
}

/*
 * Does node @p serve as this node must present it? Never when out of the
 * membership, nor when silent (its lease has lapsed, whatever it last said).
 */
static bool peer_serving(const struct cluster_peer *p)
{
	return p->member && p->serving && !p->silent;
}

static bool peer_same(const struct cluster_peer *a, const struct cluster_peer *b)
{
	if (a->node_id != b->node_id || a->self != b->self || a->member != b->member ||
	    a->serving != b->serving || a->silent != b->silent ||
	    a->portal_count != b->portal_count || strcmp(a->name, b->name) != 0) {
		return false;
	}
	for (size_t i = 0; i < a->portal_count; i++) {
		if (strcmp(a->portals[i], b->portals[i]) != 0) {
			return false;
		}
	}
	return true;
}

static bool view_same(const struct daemon_peers_view *v, bool serving,
		      const struct cluster_peer *peers, size_t count)
{
	if (!v->valid || v->serving != serving || v->count != count) {
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		if (!peer_same(&v->peers[i], &peers[i])) {
			return false;
		}
	}
	return true;
}

static const struct cluster_peer *view_find(const struct daemon_peers_view *v, uint32_t node_id)
{
	for (size_t i = 0; v->valid && i < v->count; i++) {
		if (v->peers[i].node_id == node_id) {
			return &v->peers[i];
		}
	}
	return NULL;
}

int daemon_peers_announce(struct daemon *d)
{
	const char *list[CLUSTER_PEER_PORTALS_MAX];
	size_t n = 0, skipped = 0;

	for (const struct daemon_portal *p = d->portals; p != NULL; p = p->next) {
		if (!p->listening) {
			continue;
		}
		if (p->numeric[0] == '\0') {
			log_warn("portal '%s' has no numeric form: not announced to other nodes",
				 p->address);
			continue;
		}
		if (n == CLUSTER_PEER_PORTALS_MAX) {
			skipped++;
			continue;
		}
		list[n++] = p->numeric;
	}
	if (skipped > 0) {
		log_warn("only the first %d portals are announced to other nodes (%zu left out)",
			 CLUSTER_PEER_PORTALS_MAX, skipped);
	}
	/* This node's own rows changed too: present again even if the table did not. */
	if (d->peers_view != NULL) {
		d->peers_view->valid = false;
	}
	return cluster_set_portals(d->cluster, list, n);
}

/* This node's group and every other node's, as the table says. */
static unsigned int groups_build(struct daemon *d, bool serving, const struct cluster_peer *peers,
				 size_t count, struct scsi_alua_group *g)
{
	unsigned int n = 0;

	g[n++] = (struct scsi_alua_group){
		.tpg_id = (uint16_t)d->cfg.node_id,
		.state = serving ? SCSI_ALUA_ACTIVE_OPTIMIZED : SCSI_ALUA_UNAVAILABLE,
		.preferred = true,
		.port_count = 1,
		.rel_port_ids = {(uint16_t)d->cfg.node_id},
	};
	for (size_t i = 0; i < count && n < SCSI_ALUA_GROUPS_MAX; i++) {
		const struct cluster_peer *p = &peers[i];

		if (p->self || p->node_id == d->cfg.node_id) {
			continue;
		}
		if (p->node_id == 0 || p->node_id > PEERS_TPG_MAX) {
			log_warn("node %u: ids above %u cannot be a target port group; "
				 "not presented (set nodeid in corosync.conf's nodelist)",
				 p->node_id, PEERS_TPG_MAX);
			continue;
		}
		g[n++] = (struct scsi_alua_group){
			.tpg_id = (uint16_t)p->node_id,
			.state = peer_serving(p) ? SCSI_ALUA_ACTIVE_OPTIMIZED
						 : SCSI_ALUA_UNAVAILABLE,
			.preferred = true,
			.port_count = 1,
			.rel_port_ids = {(uint16_t)p->node_id},
		};
	}
	return n;
}

/* SendTargets rows: the portals this node listens on, then the others' in table order. */
static unsigned int portals_build(struct daemon *d, bool serving, const struct cluster_peer *peers,
				  size_t count, struct iscsi_discovery_portal *rows)
{
	unsigned int n = 0;

	for (const struct daemon_portal *p = d->portals; p != NULL; p = p->next) {
		if (!p->listening || n == ISCSI_DISCOVERY_PORTALS_MAX) {
			continue;
		}
		rows[n++] = (struct iscsi_discovery_portal){
			.node_id = d->cfg.node_id,
			.address = p->address,
			.tpgt = d->cfg.iscsi.tpgt,
			.serving = serving,
		};
	}
	for (size_t i = 0; i < count; i++) {
		const struct cluster_peer *p = &peers[i];

		if (p->self || p->node_id == d->cfg.node_id || p->node_id == 0 ||
		    p->node_id > PEERS_TPG_MAX) {
			continue;
		}
		for (size_t k = 0; k < p->portal_count; k++) {
			if (!iscsi_portal_is_numeric(p->portals[k])) {
				log_warn("node %u announces portal '%s', not a numeric address: "
					 "not listed by SendTargets",
					 p->node_id, p->portals[k]);
				continue;
			}
			if (n == ISCSI_DISCOVERY_PORTALS_MAX) {
				log_warn("more than %u portals in the cluster: node %u's '%s' and "
					 "later ones not listed by SendTargets",
					 ISCSI_DISCOVERY_PORTALS_MAX, p->node_id, p->portals[k]);
				return n;
			}
			rows[n++] = (struct iscsi_discovery_portal){
				.node_id = p->node_id,
				.address = p->portals[k],
				.tpgt = (uint16_t)p->node_id,
				.serving = peer_serving(p),
			};
		}
	}
	return n;
}

/* One line per other node whose presentation changed (this node's: daemon_serving). */
static void peers_log_changes(const struct daemon_peers_view *old, const struct cluster_peer *peers,
			      size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct cluster_peer *p = &peers[i];
		const struct cluster_peer *was = view_find(old, p->node_id);

		if (p->self) {
			continue;
		}
		if (was == NULL || peer_serving(was) != peer_serving(p) ||
		    was->member != p->member) {
			log_notice("node %u%s%s%s: %s, port group %u %s", p->node_id,
				   p->name[0] ? " '" : "", p->name, p->name[0] ? "'" : "",
				   p->member ? "member" : "not a member", p->node_id,
				   alua_state_name(peer_serving(p)));
		}
	}
	for (size_t i = 0; old->valid && i < old->count; i++) {
		const struct cluster_peer *was = &old->peers[i];
		bool still = false;

		for (size_t k = 0; k < count && !still; k++) {
			still = peers[k].node_id == was->node_id;
		}
		if (!still && !was->self) {
			log_notice("node %u is no longer in the node list: port group %u removed",
				   was->node_id, was->node_id);
		}
	}
}

static void peers_present(struct daemon *d, const struct cluster_peer *peers, size_t count)
{
	struct scsi_alua_group groups[SCSI_ALUA_GROUPS_MAX];
	struct iscsi_discovery_portal *rows;
	struct daemon_peers_view *v = d->peers_view;
	bool serving = cluster_is_serving(d->cluster);
	unsigned int ng, nr;
	int rc_alua, rc_portals;

	/* Shutdown frees the ALUA table and the server before the transport. */
	if (d->alua == NULL || d->iscsi == NULL) {
		return;
	}
	if (count > CLUSTER_PEERS_MAX) {
		count = CLUSTER_PEERS_MAX;
	}
	if (v == NULL) {
		v = calloc(1, sizeof(*v));
		if (v == NULL) {
			log_err("out of memory presenting the cluster's nodes");
			return;
		}
		d->peers_view = v;
	}
	if (view_same(v, serving, peers, count)) {
		return;
	}
	rows = calloc(ISCSI_DISCOVERY_PORTALS_MAX, sizeof(*rows));
	if (rows == NULL) {
		log_err("out of memory presenting the cluster's nodes");
		return;
	}
	ng = groups_build(d, serving, peers, count, groups);
	nr = portals_build(d, serving, peers, count, rows);
	peers_log_changes(v, peers, count);
	rc_alua = scsi_alua_groups_set(d->alua, groups, ng);
	if (rc_alua < 0) {
		log_perror(rc_alua, "setting the ALUA port groups");
	}
	rc_portals = iscsi_discovery_set_portals(d->iscsi, d->cfg.node_id, rows, nr);
	if (rc_portals < 0) {
		log_perror(rc_portals, "setting the portals SendTargets reports");
	}
	free(rows);
	/* A failed step is tried again at the next call. */
	v->valid = rc_alua == 0 && rc_portals == 0;
	v->serving = serving;
	v->count = count;
	if (count > 0) {
		memcpy(v->peers, peers, count * sizeof(peers[0]));
	}
}

void daemon_peers(const struct cluster_peer *peers, size_t count, void *ctx)
{
	peers_present(ctx, peers, count);
}

void daemon_peers_refresh(struct daemon *d)
{
	const struct cluster_peer *peers;
	size_t count = cluster_peers(d->cluster, &peers);

	peers_present(d, peers, count);
}

void daemon_peers_free(struct daemon *d)
{
	free(d->peers_view);
	d->peers_view = NULL;
}
