// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The portals SendTargets reports (RFC 7143 §13.3, Appendix C): a table of
 * (node id, portal address, TPGT, serving) that the daemon feeds with
 * iscsi_discovery_set_portals() and iscsi_discovery_set_serving(). The
 * daemon (daemon/peers.c) feeds the whole table again on every change of
 * the cluster's member table: this node's configured portals with TPGT =
 * node id, and every other node's announced portals with TPGT = its node
 * id, each with its node's serving flag. The connection code asks
 * for one answer per SendTargets key (iscsi_discovery_sendtargets()).
 *
 * The answer lists, for each registered target whose ACL admits the
 * initiator (iscsi_target_acl_allows(), the same rule as login), every
 * portal of every serving node as "addr:port,tpgt" (§13.8):
 *  - this node first, starting with the address the connection came in on
 *    (it is reachable by definition), then this node's other portals;
 *  - a wildcard portal (0.0.0.0, [::]) of this node is reported at the
 *    address the connection came in on, with the wildcard portal's port:
 *    the initiator reached that address, 0.0.0.0 means nothing to it;
 *  - a wildcard portal of another node is not reported (no address of that
 *    node is known to be reachable; nodes announce concrete addresses);
 *  - then the other serving nodes' portals, in the order fed, each with its
 *    own TPGT; duplicates are reported once.
 * A node that is not serving contributes nothing, this node included.
 *
 * Until the table is fed, the server's own listening portals stand for
 * this node, serving, with the server's TPGT (a server used on its own, as
 * in the unit tests, answers as it always did).
 *
 * Addresses are resolved when fed (as portals are when they listen), so an
 * answer does no name resolution. The table is replaced whole, so a failed
 * feed leaves the previous table in place.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/log.h"
#include "daemon/iscsi/iscsi_int.h"

/* Most targets one answer lists; the text builder bounds the bytes anyway. */
#define DISCOVERY_TARGETS_MAX 256u
/* "addr:port" + ",65535" */
#define DISCOVERY_ADDR_STR_MAX (ISCSI_ADDR_STR_MAX + 8u)

/* The addresses of one answer, built once and shared by every target. */
struct discovery_list {
	char (*str)[DISCOVERY_ADDR_STR_MAX];
	const char **ptrs;
	unsigned int n, cap;
};

void iscsi_discovery_fini(struct iscsi_discovery *d)
{
	free(d->entries);
	d->entries = NULL;
	d->n = 0;
	d->fed = false;
}

int iscsi_discovery_set_portals(struct iscsi_server *server, uint32_t local_node_id,
				const struct iscsi_discovery_portal *portals, unsigned int n)
{
	struct iscsi_discovery_entry *e = NULL;

	if (!server || (n && !portals)) {
		return -EINVAL;
	}
	if (n > ISCSI_DISCOVERY_PORTALS_MAX) {
		return -E2BIG;
	}
	if (n) {
		e = calloc(n, sizeof(*e));
		if (!e) {
			return -ENOMEM;
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct iscsi_discovery_portal *p = &portals[i];
		int rc;

		/* This node's TPGT is the one its logins declare (login.c). */
		if (!p->address || (p->node_id == local_node_id && p->tpgt != server->cfg.tpgt)) {
			free(e);
			return -EINVAL;
		}
		rc = iscsi_portal_resolve(p->address, &e[i].sa, &e[i].wildcard);
		if (rc < 0) {
			free(e);
			return rc;
		}
		e[i].node_id = p->node_id;
		e[i].tpgt = p->tpgt;
		e[i].serving = p->serving;
	}
	free(server->discovery.entries);
	server->discovery.entries = e;
	server->discovery.n = n;
	server->discovery.local_node_id = local_node_id;
	server->discovery.fed = true;
	return 0;
}

int iscsi_discovery_set_serving(struct iscsi_server *server, uint32_t node_id, bool serving)
{
	struct iscsi_discovery *d = &server->discovery;
	int found = -ENOENT;

	for (unsigned int i = 0; i < d->n; i++) {
		if (d->entries[i].node_id == node_id) {
			d->entries[i].serving = serving;
			found = 0;
		}
	}
	return found;
}

static void list_add(struct discovery_list *l, const struct sockaddr_storage *sa, uint16_t tpgt)
{
	char a[ISCSI_ADDR_STR_MAX];
	char *s;

	if (l->n == l->cap) {
		return;
	}
	s = l->str[l->n];
	iscsi_sockaddr_str((const struct sockaddr *)sa, a, sizeof(a));
	snprintf(s, DISCOVERY_ADDR_STR_MAX, "%s,%u", a, tpgt);
	for (unsigned int i = 0; i < l->n; i++) {
		if (strcmp(l->ptrs[i], s) == 0) {
			return;
		}
	}
	l->ptrs[l->n++] = s;
}

/* @local with the port of the wildcard portal @wild. */
static struct sockaddr_storage at_local_address(const struct sockaddr_storage *local,
						const struct sockaddr_storage *wild)
{
	struct sockaddr_storage at = *local;
	uint16_t port = wild->ss_family == AF_INET
				? ((const struct sockaddr_in *)(const void *)wild)->sin_port
				: ((const struct sockaddr_in6 *)(const void *)wild)->sin6_port;

	if (at.ss_family == AF_INET) {
		((struct sockaddr_in *)(void *)&at)->sin_port = port;
	} else {
		((struct sockaddr_in6 *)(void *)&at)->sin6_port = port;
	}
	return at;
}

/* One portal: this node's wildcard at @local, another node's wildcard never. */
static void list_add_portal(struct discovery_list *l, const struct sockaddr_storage *local,
			    const struct sockaddr_storage *sa, bool wildcard, bool this_node,
			    uint16_t tpgt)
{
	if (!wildcard) {
		list_add(l, sa, tpgt);
	} else if (this_node) {
		struct sockaddr_storage at = at_local_address(local, sa);

		list_add(l, &at, tpgt);
	}
}

static void list_build(struct iscsi_server *server, const struct sockaddr_storage *local,
		       struct discovery_list *l)
{
	const struct iscsi_discovery *d = &server->discovery;
	bool local_serving = !d->fed;

	if (!d->fed) {
		const struct iscsi_portal *p;

		list_add(l, local, server->cfg.tpgt);
		qb_list_for_each_entry(p, &server->portals, node) {
			list_add_portal(l, local, &p->sa, p->wildcard, true, server->cfg.tpgt);
		}
		return;
	}
	for (unsigned int i = 0; i < d->n; i++) {
		local_serving = local_serving || (d->entries[i].node_id == d->local_node_id &&
						  d->entries[i].serving);
	}
	if (local_serving) {
		list_add(l, local, server->cfg.tpgt);
	}
	/* This node's portals first, then the others in the order fed. */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = 0; i < d->n; i++) {
			const struct iscsi_discovery_entry *e = &d->entries[i];
			bool this_node = e->node_id == d->local_node_id;

			if (e->serving && this_node == (pass == 0)) {
				list_add_portal(l, local, &e->sa, e->wildcard, this_node, e->tpgt);
			}
		}
	}
}

#define HIDDEN_NOTE_INTERVAL_MS 60000u

static uint64_t name_hash(const char *name)
{
	uint64_t h = 14695981039346656037ull;

	for (; *name != '\0'; name++) {
		h = (h ^ (uint8_t)*name) * 1099511628211ull;
	}
	return h != 0 ? h : 1;
}

/*
 * An initiator that finds no target, or fewer than expected, is most often
 * kept out by an ACL: say so at info, at most once a minute per initiator
 * (a table of the last ISCSI_HIDDEN_NOTES initiators; the oldest note goes
 * first), so a rediscovery loop cannot flood the log.
 */
static void note_hidden(struct iscsi_server *server, const char *initiator, unsigned int hidden)
{
	struct iscsi_hidden_note *notes = server->discovery.hidden, *slot = &notes[0];
	uint64_t h = name_hash(initiator), now = iscsi_now_ms();

	for (unsigned int i = 0; i < ISCSI_HIDDEN_NOTES; i++) {
		if (notes[i].name_hash == h) {
			slot = &notes[i];
			if (now - slot->at_ms < HIDDEN_NOTE_INTERVAL_MS) {
				return;
			}
			break;
		}
		if (notes[i].at_ms < slot->at_ms) {
			slot = &notes[i];
		}
	}
	slot->name_hash = h;
	slot->at_ms = now;
	log_info("iscsi: discovery by '%s': %u target(s) hidden by their ACL", initiator, hidden);
}

int iscsi_discovery_sendtargets(struct iscsi_server *server, const struct sockaddr_storage *local,
				const char *initiator, enum iscsi_session_type type,
				const char *session_target, const char *value,
				struct iscsi_text_builder *out)
{
	struct discovery_list l = {.cap = ISCSI_DISCOVERY_PORTALS_MAX + 1u};
	struct iscsi_st_target *targets;
	struct iscsi_target_entry *t;
	unsigned int ntgt = 0, hidden = 0;
	int rc = -ENOMEM;

	l.str = calloc(l.cap, sizeof(*l.str));
	l.ptrs = calloc(l.cap, sizeof(*l.ptrs));
	targets = calloc(DISCOVERY_TARGETS_MAX, sizeof(*targets));
	if (!l.str || !l.ptrs || !targets) {
		goto out;
	}
	list_build(server, local, &l);
	qb_list_for_each_entry(t, &server->targets, node) {
		if (ntgt == DISCOVERY_TARGETS_MAX) {
			break;
		}
		if (!initiator || !iscsi_target_acl_allows(t, initiator)) {
			hidden++;
			continue;
		}
		targets[ntgt].name = t->name;
		targets[ntgt].addresses = l.ptrs;
		targets[ntgt].n_addresses = l.n;
		ntgt++;
	}
	rc = iscsi_sendtargets_build(value, type, session_target, targets, ntgt, out);
	if (rc == 0 && hidden > 0 && initiator != NULL && type == ISCSI_SESSION_DISCOVERY &&
	    strcmp(value, "All") == 0) {
		note_hidden(server, initiator, hidden);
	}
out:
	free(targets);
	free(l.ptrs);
	free(l.str);
	return rc;
}
