/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 'portal list|add|remove': the portals of every node, and run-time portals
 * as replicated state (mutation kind PORTAL: node id, numeric address).
 *
 * A run-time portal is kept in numeric canonical form ("A.B.C.D:PORT",
 * "[V6]:PORT" as inet_ntop() writes it): every node lists another node's
 * portals in SendTargets, and a host name would mean something different,
 * or nothing, on each of them.
 *
 * Adding one for this node checks, before anything is proposed, that this
 * node can listen on it (bind and close: not an address of this host, port
 * in use and privileged ports are refused with the reason), so a refused
 * add changes nothing anywhere. For another node the check is that node's:
 * it logs a failure at error level and does not announce the portal, which
 * 'portal list' then shows as not listening there.
 *
 * Configuration-file portals are node configuration, not replicated state:
 * they are listed (this node's from its listeners, another node's from what
 * it announces) but 'portal remove' refuses them.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/admin_portal.h"
#include "daemon/ipc/ctl_proto.h"
#include "daemon/ipc/ipc_server.h"
#include "daemon/iscsi/iscsi.h"
#include "quorum/cluster.h"

#define PORTAL_ERR_MAX 256

int admin_portal_canonical(const char *in, char *out, size_t cap, char *err, size_t errlen)
{
	if (strlen(in) > STORE_PORTAL_MAX) {
		snprintf(err, errlen, "portal '%.80s...' is too long (max %d)", in,
			 STORE_PORTAL_MAX);
		return -EINVAL;
	}
	if (!iscsi_portal_is_numeric(in) || iscsi_portal_numeric(in, out, cap) < 0 ||
	    !state_portal_address_valid(out)) {
		snprintf(err, errlen,
			 "'%s' is not a portal: give a numeric address and port, A.B.C.D:PORT or "
			 "[V6]:PORT (a host name would resolve differently on each node)",
			 in);
		return -EINVAL;
	}
	return 0;
}

/* The node argument: this node when absent. @return 0 or -EINVAL with @err. */
static int arg_node(struct daemon *d, struct json_object *args, uint32_t *node, char *err,
		    size_t errlen)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(args, "node", &v) ||
	    json_object_is_type(v, json_type_null)) {
		*node = d->cfg.node_id;
		return 0;
	}
	n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
	if (n < 1 || n > STATE_PORTAL_NODE_MAX) {
		snprintf(err, errlen, "node id must be 1..%u", STATE_PORTAL_NODE_MAX);
		return -EINVAL;
	}
	*node = (uint32_t)n;
	return 0;
}

/* The portal argument in canonical form. @return 0 or -EINVAL with @err. */
static int arg_portal(struct json_object *args, char *raw, size_t rawcap, char *out, size_t cap,
		      char *err, size_t errlen)
{
	struct json_object *v;

	if (!json_object_object_get_ex(args, "portal", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "missing argument 'portal' (A.B.C.D:PORT or [V6]:PORT)");
		return -EINVAL;
	}
	snprintf(raw, rawcap, "%s", json_object_get_string(v));
	return admin_portal_canonical(json_object_get_string(v), out, cap, err, errlen);
}

/* Node @node of the member table, or NULL. */
static const struct cluster_peer *peer_find(struct daemon *d, uint32_t node)
{
	const struct cluster_peer *peers;
	size_t n = cluster_peers(d->cluster, &peers);

	for (size_t i = 0; i < n; i++) {
		if (peers[i].node_id == node) {
			return &peers[i];
		}
	}
	return NULL;
}

/* Does node @p (another node) announce @address? */
static bool peer_announces(const struct cluster_peer *p, const char *address)
{
	for (size_t k = 0; p != NULL && k < p->portal_count; k++) {
		if (strcmp(p->portals[k], address) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * Where this node's configured portals come from, for messages: the file's
 * [iscsi] listen, or quorated's --listen (which overrides the file).
 */
static void config_origin(const struct daemon *d, char *out, size_t cap)
{
	bool from_file = d->config_path != NULL && d->file_cfg.listen_count == d->cfg.listen_count;

	for (unsigned int i = 0; from_file && i < d->cfg.listen_count; i++) {
		from_file = strcmp(d->file_cfg.listen[i], d->cfg.listen[i]) == 0;
	}
	if (from_file) {
		snprintf(out, cap,
			 "[iscsi] listen in %s: edit the file and run 'quoratectl reload'",
			 d->config_path);
	} else {
		snprintf(out, cap, "quorated's --listen: restart quorated without it");
	}
}

/* ---- list ---------------------------------------------------------------------- */

static struct json_object *row(uint32_t node, const char *portal, const char *source,
			       bool listening, const char *error)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "node", json_object_new_int64(node));
	json_object_object_add(o, "portal", json_object_new_string(portal));
	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "listening", json_object_new_boolean(listening));
	if (error != NULL) {
		json_object_object_add(o, "error", json_object_new_string(error));
	}
	return o;
}

/* The rows of node @node: its configuration file's portals, then its run-time ones. */
static void list_node(struct daemon *d, uint32_t node, struct json_object *arr)
{
	const struct cluster_peer *peer = node != d->cfg.node_id ? peer_find(d, node) : NULL;

	if (node == d->cfg.node_id) {
		for (const struct daemon_portal *p = d->portals; p != NULL; p = p->next) {
			if (p->config) {
				json_object_array_add(
					arr, row(node, p->address, "config", p->listening, NULL));
			}
		}
	} else if (peer != NULL) {
		/* What it announces and the model does not hold: its file's. */
		for (size_t k = 0; k < peer->portal_count; k++) {
			if (state_portal_find(d->state, node, peer->portals[k]) == NULL) {
				json_object_array_add(arr, row(node, peer->portals[k], "config",
							       peer->member, NULL));
			}
		}
	}
	for (const struct state_portal *sp = state_portal_first(d->state); sp != NULL;
	     sp = state_portal_next(sp)) {
		const struct daemon_portal *p;

		if (sp->rec.node != node) {
			continue;
		}
		if (node != d->cfg.node_id) {
			json_object_array_add(arr,
					      row(node, sp->rec.address, "runtime",
						  peer != NULL && peer->member &&
							  peer_announces(peer, sp->rec.address),
						  NULL));
			continue;
		}
		p = daemon_portal_find(d, sp->rec.address);
		json_object_array_add(
			arr, row(node, sp->rec.address, "runtime", p != NULL && p->listening,
				 p != NULL && !p->listening && p->error < 0 ? strerror(-p->error)
									    : NULL));
	}
}

static int node_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void admin_portal_list(struct daemon *d, struct ipc_request *req, struct json_object *args)
{
	const struct cluster_peer *peers;
	size_t npeers = cluster_peers(d->cluster, &peers), nnodes = 0, cap;
	struct json_object *arr;
	char err[PORTAL_ERR_MAX];
	uint32_t only, *nodes;
	bool filter = json_object_object_get_ex(args, "node", NULL);

	if (arg_node(d, args, &only, err, sizeof(err)) < 0) {
		ipc_request_reply_err(req, CTL_ERR_INVALID, "%s", err);
		return;
	}
	cap = npeers + 1;
	for (const struct state_portal *sp = state_portal_first(d->state); sp != NULL;
	     sp = state_portal_next(sp)) {
		cap++;
	}
	nodes = calloc(cap, sizeof(*nodes));
	if (nodes == NULL) {
		ipc_request_reply_err(req, CTL_ERR_FAILED, "out of memory");
		return;
	}
	/* Every node with a portal to show, each once, ascending. */
	nodes[nnodes++] = d->cfg.node_id;
	for (size_t i = 0; i < npeers; i++) {
		nodes[nnodes++] = peers[i].node_id;
	}
	for (const struct state_portal *sp = state_portal_first(d->state); sp != NULL;
	     sp = state_portal_next(sp)) {
		nodes[nnodes++] = sp->rec.node;
	}
	qsort(nodes, nnodes, sizeof(*nodes), node_cmp);
	arr = json_object_new_array();
	for (size_t i = 0; i < nnodes; i++) {
		if ((i > 0 && nodes[i] == nodes[i - 1]) || (filter && nodes[i] != only)) {
			continue;
		}
		list_node(d, nodes[i], arr);
	}
	free(nodes);
	ipc_request_reply_ok(req, arr);
}

/* ---- add and remove -------------------------------------------------------------- */

/* After the PORTAL mutation was applied here: whether this node now listens on it. */
static void portal_add_done(struct daemon *d, struct daemon_pending *p, int rc, const char *err)
{
	struct json_object *node, *portal;

	if (rc == 0 && p->result != NULL && json_object_object_get_ex(p->result, "node", &node) &&
	    json_object_object_get_ex(p->result, "portal", &portal)) {
		const struct daemon_portal *dp =
			daemon_portal_find(d, json_object_get_string(portal));

		/* Another node decides for itself: null. */
		json_object_object_add(
			p->result, "listening",
			(uint32_t)json_object_get_int64(node) != d->cfg.node_id
				? NULL
				: json_object_new_boolean(dp != NULL && dp->listening));
	}
	admin_change_done(d, p, rc, err);
}

static struct json_object *result_of(uint32_t node, const char *portal)
{
	struct json_object *res = json_object_new_object();

	json_object_object_add(res, "node", json_object_new_int64(node));
	json_object_object_add(res, "portal", json_object_new_string(portal));
	return res;
}

/* Refuse a node the member table does not know (standalone: every node but this one). */
static int node_known(struct daemon *d, uint32_t node, char *err, size_t errlen)
{
	if (node == d->cfg.node_id || peer_find(d, node) != NULL) {
		return 0;
	}
	snprintf(err, errlen,
		 "no node %u in the cluster (%s; 'quoratectl cluster status' lists "
		 "the nodes)",
		 node,
		 d->cfg.cluster == CONFIG_CLUSTER_STANDALONE ? "standalone: only this node"
							     : "not in corosync's nodelist");
	return -ENOENT;
}

void admin_portal_add(struct daemon *d, struct ipc_request *req, struct json_object *args)
{
	struct mutation op = {.kind = MUTATION_PORTAL};
	char raw[STORE_PORTAL_MAX + 2], err[PORTAL_ERR_MAX];
	const struct daemon_portal *dp;
	struct store_portal *rec = &op.u.portal.rec;
	int rc;

	op.u.portal.add = true;
	rc = arg_portal(args, raw, sizeof(raw), rec->address, sizeof(rec->address), err,
			sizeof(err));
	if (rc == 0) {
		rc = arg_node(d, args, &rec->node, err, sizeof(err));
	}
	if (rc == 0) {
		rc = node_known(d, rec->node, err, sizeof(err));
	}
	if (rc == 0 && state_portal_find(d->state, rec->node, rec->address) != NULL) {
		snprintf(err, sizeof(err), "node %u already has run-time portal %s", rec->node,
			 rec->address);
		rc = -EEXIST;
	}
	if (rc == 0 && rec->node == d->cfg.node_id) {
		dp = daemon_portal_find(d, rec->address);
		if (dp != NULL && dp->config) {
			snprintf(err, sizeof(err),
				 "this node listens on %s already: it is in its "
				 "configuration",
				 rec->address);
			rc = -EEXIST;
		}
	}
	if (rc < 0) {
		ipc_request_reply_err(req, ctl_err_kind(rc), "%s", err);
		return;
	}
	if (rec->node == d->cfg.node_id) {
		rc = iscsi_portal_probe(rec->address);
		if (rc < 0) {
			ipc_request_reply_err(req, CTL_ERR_REFUSED,
					      "cannot listen on %s on this node: "
					      "%s%s",
					      rec->address, strerror(-rc),
					      rc == -EADDRNOTAVAIL
						      ? " (not an address of this host)"
					      : rc == -EADDRINUSE ? " (the port is in use)"
								  : "");
			return;
		}
	}
	admin_propose_change(d, req, &op, result_of(rec->node, rec->address), portal_add_done);
}

void admin_portal_remove(struct daemon *d, struct ipc_request *req, struct json_object *args)
{
	struct mutation op = {.kind = MUTATION_PORTAL};
	char raw[STORE_PORTAL_MAX + 2], err[PORTAL_ERR_MAX];
	struct store_portal *rec = &op.u.portal.rec;
	const struct daemon_portal *dp;
	int rc, prc;

	op.u.portal.add = false;
	rc = arg_node(d, args, &rec->node, err, sizeof(err));
	prc = rc == 0 ? arg_portal(args, raw, sizeof(raw), rec->address, sizeof(rec->address), err,
				   sizeof(err))
		      : 0;
	if (rc == 0 && rec->node == d->cfg.node_id) {
		/* The file may name it as written there (a host name too). */
		dp = daemon_portal_find(d, prc == 0 ? rec->address : raw);
		if (dp != NULL && dp->config &&
		    (prc < 0 || state_portal_find(d->state, rec->node, rec->address) == NULL)) {
			char origin[PATH_MAX + 96];

			config_origin(d, origin, sizeof(origin));
			ipc_request_reply_err(req, CTL_ERR_REFUSED,
					      "portal %s is in this node's configuration, not a "
					      "run-time portal (%s)",
					      dp->address, origin);
			return;
		}
	}
	if (rc == 0) {
		rc = prc;
	}
	if (rc == 0 && state_portal_find(d->state, rec->node, rec->address) == NULL) {
		if (rec->node != d->cfg.node_id &&
		    peer_announces(peer_find(d, rec->node), rec->address)) {
			ipc_request_reply_err(
				req, CTL_ERR_REFUSED,
				"portal %s is in node %u's configuration file ([iscsi] "
				"listen): edit the file there and reload that node",
				rec->address, rec->node);
			return;
		}
		snprintf(err, sizeof(err), "node %u has no run-time portal %s", rec->node,
			 rec->address);
		rc = -ENOENT;
	}
	if (rc < 0) {
		ipc_request_reply_err(req, ctl_err_kind(rc), "%s", err);
		return;
	}
	admin_propose_change(d, req, &op, result_of(rec->node, rec->address), admin_change_done);
}
