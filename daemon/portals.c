/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The portals this node listens on: those of its configuration file
 * ([iscsi] listen, or --listen) and the run-time portals the replicated
 * state names for this node's id ('portal add', kind PORTAL). One entry per
 * address, marked with where it comes from (both is possible: a run-time
 * portal that the file later lists too, or the reverse); the listener stays
 * open while either holds it.
 *
 * When the set of listening portals changes, the node announces it again
 * (daemon_peers_announce()), so SendTargets on this node and, with the next
 * heartbeat, on every other node follows. A run-time portal that cannot be
 * bound here (address not on this host, port taken) is logged at error and
 * kept in the model: 'portal list' shows it as not listening, it is not
 * announced, and a later reload or restart tries it again. The proposer
 * checks that it can bind before proposing one for itself (admin_portal.c),
 * so that case is another node's mistake, or a host that changed.
 *
 * Closing a portal closes only the listening socket: sessions that logged
 * in through it keep running (iscsi_server_remove_portal()).
 *
 * Every entry's numeric form is computed once, when it starts listening,
 * so that announcing never resolves a host name on the loop again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/log.h"
#include "daemon/daemon.h"
#include "daemon/iscsi/iscsi.h"

_Static_assert(STORE_PORTAL_MAX == CONFIG_PORTAL_MAX,
	       "a run-time portal and a configured one have the same bound");

struct daemon_portal *daemon_portal_find(struct daemon *d, const char *address)
{
	for (struct daemon_portal *p = d->portals; p != NULL; p = p->next) {
		if (strcmp(p->address, address) == 0 ||
		    (p->numeric[0] != '\0' && strcmp(p->numeric, address) == 0)) {
			return p;
		}
	}
	return NULL;
}

static struct daemon_portal *portal_new(struct daemon *d, const char *address)
{
	struct daemon_portal *p = calloc(1, sizeof(*p)), **pp;

	if (p == NULL) {
		return NULL;
	}
	snprintf(p->address, sizeof(p->address), "%s", address);
	/* Appended: configured portals first, in the file's order, as announced. */
	for (pp = &d->portals; *pp != NULL; pp = &(*pp)->next) {
	}
	*pp = p;
	return p;
}

static void portal_free(struct daemon *d, struct daemon_portal *p)
{
	struct daemon_portal **pp;

	for (pp = &d->portals; *pp != NULL && *pp != p; pp = &(*pp)->next) {
	}
	if (*pp == p) {
		*pp = p->next;
	}
	free(p);
}

/* @p listens now: keep the numeric form it is announced in (resolved once, here). */
static void portal_listening(struct daemon_portal *p)
{
	p->listening = true;
	p->error = 0;
	if (iscsi_portal_numeric(p->address, p->numeric, sizeof(p->numeric)) < 0) {
		p->numeric[0] = '\0';
	}
}

/* Open @p's listener. @return 0 or -errno (also kept in p->error). */
static int portal_listen(struct daemon *d, struct daemon_portal *p)
{
	int rc = iscsi_server_add_portal(d->iscsi, p->address);

	p->error = rc;
	if (rc < 0) {
		return rc;
	}
	portal_listening(p);
	return 0;
}

struct daemon_portal *daemon_portal_listened(struct daemon *d, const char *address)
{
	struct daemon_portal *p = daemon_portal_find(d, address);

	if (p == NULL) {
		p = portal_new(d, address);
	}
	if (p != NULL) {
		p->config = true;
		portal_listening(p);
	}
	return p;
}

static void portal_unlisten(struct daemon *d, struct daemon_portal *p)
{
	if (p->listening) {
		iscsi_server_remove_portal(d->iscsi, p->address);
		p->listening = false;
	}
}

/* Announce the changed set (peers.c), once the node runs. */
static void portals_changed(struct daemon *d)
{
	int rc;

	if (!d->portals_open) {
		return;
	}
	rc = daemon_peers_announce(d);
	if (rc < 0) {
		log_perror(rc, "announcing this node's portals");
	}
}

int daemon_portals_open(struct daemon *d)
{
	struct daemon_portal *runtime = d->portals;
	int rc = 0;

	/* Loading the database recorded run-time ones; the file's go first. */
	d->portals = NULL;
	for (unsigned int i = 0; i < d->cfg.listen_count; i++) {
		rc = iscsi_server_add_portal(d->iscsi, d->cfg.listen[i]);
		if (rc < 0) {
			log_perror(rc, "listening on '%s'", d->cfg.listen[i]);
			break;
		}
		if (daemon_portal_listened(d, d->cfg.listen[i]) == NULL) {
			iscsi_server_remove_portal(d->iscsi, d->cfg.listen[i]);
			rc = -ENOMEM;
			break;
		}
		log_info("listening on %s", d->cfg.listen[i]);
	}
	if (rc < 0) {
		struct daemon_portal **pp;

		/* Start-up fails: daemon_portals_free() frees both lists. */
		for (pp = &d->portals; *pp != NULL; pp = &(*pp)->next) {
		}
		*pp = runtime;
		return rc;
	}
	while (runtime != NULL) {
		struct daemon_portal *p = runtime, **pp;

		runtime = p->next;
		p->next = NULL;
		if (daemon_portal_find(d, p->address) != NULL) {
			daemon_portal_find(d, p->address)->runtime = true;
			free(p);
			continue;
		}
		for (pp = &d->portals; *pp != NULL; pp = &(*pp)->next) {
		}
		*pp = p;
	}
	/* Run-time portals of this node, from the database: a failure is not fatal. */
	for (struct daemon_portal *p = d->portals; p != NULL; p = p->next) {
		if (p->runtime && !p->listening) {
			rc = portal_listen(d, p);
			if (rc < 0) {
				log_err("run-time portal %s of this node (%u): cannot listen: %s; "
					"not announced ('portal list' shows it)",
					p->address, d->cfg.node_id, strerror(-rc));
			} else {
				log_info("listening on %s (run-time portal)", p->address);
			}
		}
	}
	d->portals_open = true;
	return 0;
}

void daemon_portal_runtime(struct daemon *d, const char *address, bool add)
{
	struct daemon_portal *p = daemon_portal_find(d, address);
	int rc;

	if (add) {
		if (p != NULL && p->runtime) {
			return;
		}
		if (p == NULL) {
			p = portal_new(d, address);
			if (p == NULL) {
				log_err("run-time portal %s: out of memory", address);
				return;
			}
		}
		p->runtime = true;
		if (p->listening) {
			log_notice("run-time portal %s: this node listens on it already (%s)",
				   address, p->config ? "configuration file" : "run-time portal");
			return;
		}
		if (!d->portals_open) {
			return; /* start-up: daemon_portals_open() listens */
		}
		rc = portal_listen(d, p);
		if (rc < 0) {
			log_err("run-time portal %s added for this node (%u): cannot listen: %s; "
				"not announced ('portal list' shows it)",
				address, d->cfg.node_id, strerror(-rc));
			return;
		}
		log_notice("listening on %s (run-time portal)", address);
		portals_changed(d);
		return;
	}
	if (p == NULL || !p->runtime) {
		return;
	}
	p->runtime = false;
	if (p->config) {
		return; /* the file still lists it */
	}
	if (p->listening) {
		portal_unlisten(d, p);
		log_notice("no longer listening on %s (run-time portal removed; sessions "
			   "that logged in through it stay)",
			   address);
	}
	portal_free(d, p);
	portals_changed(d);
}

/* Does @list (@n entries) name @address? */
static bool listen_has(const char (*list)[CONFIG_PORTAL_MAX + 1], unsigned int n,
		       const char *address)
{
	for (unsigned int i = 0; i < n; i++) {
		if (strcmp(list[i], address) == 0) {
			return true;
		}
	}
	return false;
}

int daemon_portals_reload(struct daemon *d, const struct config *n, char *err, size_t errlen)
{
	struct daemon_portal *opened[CONFIG_LISTEN_MAX];
	unsigned int nopened = 0;
	bool changed = false;
	int rc;

	/* Open what is new first: a portal that cannot listen leaves the old set. */
	for (unsigned int i = 0; i < n->listen_count; i++) {
		struct daemon_portal *p = daemon_portal_find(d, n->listen[i]);

		if (p != NULL && p->config) {
			continue;
		}
		if (p != NULL && p->listening) {
			continue; /* a run-time portal: the file takes it over below */
		}
		if (p == NULL) {
			p = portal_new(d, n->listen[i]);
			if (p == NULL) {
				rc = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto undo;
			}
		}
		rc = portal_listen(d, p);
		if (rc < 0) {
			snprintf(err, errlen, "[iscsi] listen: cannot listen on '%s': %s",
				 n->listen[i], strerror(-rc));
			if (!p->runtime) {
				portal_free(d, p);
			}
			goto undo;
		}
		opened[nopened++] = p;
	}
	for (unsigned int i = 0; i < n->listen_count; i++) {
		struct daemon_portal *p = daemon_portal_find(d, n->listen[i]);

		if (p != NULL && !p->config) {
			p->config = true;
			changed = true;
			log_notice("reload: listening on %s ([iscsi] listen)", n->listen[i]);
		}
	}
	for (struct daemon_portal *p = d->portals, *pn; p != NULL; p = pn) {
		pn = p->next;
		if (!p->config || listen_has(n->listen, n->listen_count, p->address) ||
		    (p->numeric[0] != '\0' && listen_has(n->listen, n->listen_count, p->numeric))) {
			continue;
		}
		p->config = false;
		changed = true;
		if (p->runtime) {
			continue; /* still a run-time portal of this node */
		}
		portal_unlisten(d, p);
		log_notice("reload: no longer listening on %s (gone from [iscsi] listen; "
			   "sessions that logged in through it stay)",
			   p->address);
		portal_free(d, p);
	}
	memcpy(d->cfg.listen, n->listen, sizeof(d->cfg.listen));
	d->cfg.listen_count = n->listen_count;
	if (changed) {
		portals_changed(d);
	}
	return 0;
undo:
	for (unsigned int i = 0; i < nopened; i++) {
		portal_unlisten(d, opened[i]);
		if (!opened[i]->runtime) {
			portal_free(d, opened[i]);
		}
	}
	return rc;
}

void daemon_portals_free(struct daemon *d)
{
	while (d->portals != NULL) {
		struct daemon_portal *p = d->portals;

		d->portals = p->next;
		free(p);
	}
	d->portals_open = false;
}
