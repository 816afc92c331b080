/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Effects: the one place where this node's running objects (SCSI targets
 * and LUs, iSCSI registrations, ACLs, CHAP, PR unit attentions and aborts,
 * LU resets) follow the replicated model. The state machine returns a list
 * of effects from start-up load, from every delivery and from a snapshot
 * install; this file applies them in order.
 *
 * A snapshot install reconciles through the same list: the state machine
 * keeps the records that did not change (so their LUs stay attached to the
 * same PR state) and lists only what is gone and what is new or different.
 * Targets and LUNs that did not change are not touched, nor their sessions.
 *
 * Failures here are node-local (a backing file missing on this node) and
 * only logged: the record stays, the other LUs keep serving.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/iscsi/iscsi.h"
#include "daemon/base/log.h"
#include "daemon/scsi/scsi_pr.h"

/* INQUIRY identity (SPC-4 6.6.2); the same on every node, so constants. */
#define QUORATE_T10_VENDOR "QUORATE"
#define QUORATE_PRODUCT "VIRTUAL-DISK"
#define QUORATE_REVISION "0001"

static struct daemon_run_target *run_find(struct daemon *d, const char *name)
{
	for (struct daemon_run_target *r = d->run; r != NULL; r = r->next) {
		if (strcmp(r->name, name) == 0) {
			return r;
		}
	}
	return NULL;
}

static struct daemon_run_lun *run_lun_find(struct daemon_run_target *r, uint16_t lun)
{
	for (struct daemon_run_lun *l = r->luns; l != NULL; l = l->next) {
		if (l->lun == lun) {
			return l;
		}
	}
	return NULL;
}

bool daemon_lun_online(struct daemon *d, const char *target, uint16_t lun, const char **reason)
{
	struct daemon_run_target *r = run_find(d, target);
	struct daemon_run_lun *l = r != NULL ? run_lun_find(r, lun) : NULL;

	*reason = l != NULL ? l->offline_reason : "target not running";
	return l != NULL && l->online;
}

const struct io_stats *daemon_lun_stats(struct daemon *d, const char *target, uint16_t lun)
{
	struct daemon_run_target *r = run_find(d, target);
	struct daemon_run_lun *l = r != NULL ? run_lun_find(r, lun) : NULL;

	return l != NULL && l->added && r->scsi != NULL ? scsi_lu_stats(r->scsi, lun) : NULL;
}

struct scsi_target *daemon_scsi_target(struct daemon *d, const char *name)
{
	struct daemon_run_target *r = run_find(d, name);

	return r != NULL ? r->scsi : NULL;
}

bool daemon_target_running(struct daemon *d, const char *target)
{
	struct daemon_run_target *r = run_find(d, target);

	return r != NULL && r->registered;
}

/* ---- targets ------------------------------------------------------------------ */

static void target_start(struct daemon *d, const struct state_target *t)
{
	struct scsi_port_info port = {
		.rel_port_id = (uint16_t)d->cfg.node_id,
		.tpg_id = (uint16_t)d->cfg.node_id,
		.alua = d->alua,
	};
	struct daemon_run_target *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL) {
		log_err("out of memory adding target '%s'", t->rec.name);
		return;
	}
	snprintf(r->name, sizeof(r->name), "%s", t->rec.name);
	r->next = d->run;
	d->run = r;
	rc = scsi_target_create(d->loop, t->rec.name, &port, &r->scsi);
	if (rc < 0) {
		r->scsi = NULL;
		log_perror(rc, "target '%s': cannot create the SCSI target", t->rec.name);
		return;
	}
	daemon_pr_hooks_set(d, r->scsi);
	daemon_range_lock_hooks_set(d, r->scsi);
	rc = iscsi_target_register(d->iscsi, r->scsi,
				   t->rec.alias[0] != '\0' ? t->rec.alias : NULL);
	if (rc < 0) {
		log_perror(rc, "target '%s': cannot register with the iSCSI server", t->rec.name);
		return;
	}
	r->registered = true;
	log_info("target '%s' serving", t->rec.name);
}

/* Stop serving @r and free it (unlinked by the caller). */
static void target_stop(struct daemon *d, struct daemon_run_target *r)
{
	int rc;

	/* At shutdown the server is already gone, and its registrations with it. */
	if (r->registered && d->iscsi != NULL) {
		rc = iscsi_target_unregister(d->iscsi, r->name);
		if (rc < 0) {
			log_perror(rc, "target '%s': unregistering", r->name);
		}
	}
	/*
	 * The SCSI target may outlive this call while sessions drain: it must
	 * neither read the PR state the state machine frees next nor propose
	 * PR changes that a later target of the same name would receive.
	 */
	if (r->scsi != NULL) {
		for (struct daemon_run_lun *l = r->luns; l != NULL; l = l->next) {
			if (l->added) {
				scsi_lu_pr_attach(r->scsi, l->lun, NULL);
			}
		}
		scsi_target_set_pr_hooks(r->scsi, NULL);
		/*
		 * The caw hooks stay: a COMPARE AND WRITE running or waiting
		 * on it still ends through them (its holds on every node are
		 * released), and a later one fails there, its target gone.
		 */
		/* Destroying the SCSI target closes its LUs and their backing stores. */
		scsi_target_destroy(r->scsi);
	}
	while (r->luns != NULL) {
		struct daemon_run_lun *l = r->luns;

		r->luns = l->next;
		free(l);
	}
	free(r);
}

static void target_destroy(struct daemon *d, const char *name)
{
	struct daemon_run_target **pp, *r;

	for (pp = &d->run; *pp != NULL && strcmp((*pp)->name, name) != 0; pp = &(*pp)->next) {
	}
	r = *pp;
	if (r == NULL) {
		return;
	}
	*pp = r->next;
	target_stop(d, r);
	log_info("target '%s' deleted", name);
}

void daemon_run_free(struct daemon *d)
{
	while (d->run != NULL) {
		struct daemon_run_target *r = d->run;

		d->run = r->next;
		target_stop(d, r);
	}
}

/* The target's alias changed: logins from now on declare the new TargetAlias. */
static void target_changed(struct daemon *d, const struct state_target *t)
{
	struct daemon_run_target *r = run_find(d, t->rec.name);
	int rc;

	if (r == NULL || !r->registered) {
		return;
	}
	rc = iscsi_target_set_alias(d->iscsi, r->name, t->rec.alias);
	if (rc < 0) {
		log_perror(rc, "target '%s': setting the alias", r->name);
		return;
	}
	log_info("target '%s' alias now '%s'", r->name, t->rec.alias);
}

/* ---- LUNs ---------------------------------------------------------------------- */

#define LUN_OFFLINE_BY_ADMIN "taken offline by the administrator ('lun online' serves it again)"

/* The SCSI layer's configuration of the LU of record @rec on this node. */
static void lun_config(const struct daemon *d, const struct store_lun *rec,
		       struct scsi_lu_config *cfg)
{
	*cfg = (struct scsi_lu_config){
		.backing = rec->backing,
		.path = rec->path[0] != '\0' ? rec->path : NULL,
		.size_bytes = rec->size_bytes,
		.block_size = rec->block_size,
		.direct_io = rec->direct_io,
		.thin = rec->thin,
		.read_only = rec->read_only,
		.write_cache = rec->write_cache,
		/* Taken offline by the administrator: listed, but the store stays closed. */
		.offline = rec->offline,
		/* Cluster mode: other nodes write the same medium (no node-atomic commands). */
		.shared = d->cfg.cluster == CONFIG_CLUSTER_COROSYNC,
	};
	memcpy(cfg->naa, rec->naa, sizeof(cfg->naa));
	snprintf(cfg->serial, sizeof(cfg->serial), "%s", rec->serial);
	snprintf(cfg->vendor, sizeof(cfg->vendor), "%s", QUORATE_T10_VENDOR);
	snprintf(cfg->product, sizeof(cfg->product), "%s", QUORATE_PRODUCT);
	snprintf(cfg->revision, sizeof(cfg->revision), "%s", QUORATE_REVISION);
}

static void lun_open(struct daemon *d, const struct state_target *t, const struct state_lun *sl)
{
	const struct store_lun *rec = &sl->rec;
	struct daemon_run_target *r = run_find(d, t->rec.name);
	struct scsi_lu_config cfg;
	struct daemon_run_lun *l;
	int rc;

	lun_config(d, rec, &cfg);

	if (r == NULL) {
		return;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		log_err("out of memory adding LUN %u of '%s'", rec->lun, rec->target);
		return;
	}
	l->lun = rec->lun;
	l->next = r->luns;
	r->luns = l;
	if (r->scsi == NULL) {
		log_err("target '%s' LUN %u: offline (target not running)", r->name, rec->lun);
		snprintf(l->offline_reason, sizeof(l->offline_reason), "target not running");
		return;
	}
	rc = scsi_target_add_lu(r->scsi, rec->lun, &cfg);
	if (rc < 0) {
		log_perror(rc, "target '%s' LUN %u: cannot open %s backing '%s', LUN offline",
			   r->name, rec->lun, rec->backing, rec->path);
		/* The daemon log has the details; this line is for 'lun list'. */
		snprintf(l->offline_reason, sizeof(l->offline_reason),
			 "cannot open the %s backing store: %s", rec->backing, strerror(-rc));
		return;
	}
	l->added = true;
	/* The SCSI layer reads the model's PR state; only the state machine writes it. */
	scsi_lu_pr_attach(r->scsi, rec->lun, (struct pr_state *)&sl->pr);
	if (rec->offline) {
		snprintf(l->offline_reason, sizeof(l->offline_reason), "%s", LUN_OFFLINE_BY_ADMIN);
		log_notice("target '%s' LUN %u offline (%s)", r->name, rec->lun,
			   LUN_OFFLINE_BY_ADMIN);
		return;
	}
	l->online = true;
	log_info("target '%s' LUN %u online (%s '%s', %llu bytes%s)", r->name, rec->lun,
		 rec->backing, rec->path, (unsigned long long)rec->size_bytes,
		 rec->direct_io ? ", O_DIRECT" : "");
	if (cfg.shared && !rec->direct_io && strcmp(rec->backing, LUN_BACKING_FILE) == 0) {
		log_warn("target '%s' LUN %u: opened through the page cache in cluster mode "
			 "(created with --no-direct, or before cluster mode): this node may "
			 "read blocks other nodes have overwritten",
			 r->name, rec->lun);
	}
}

/*
 * The LUN's offline flag changed, or 'lun online' asks again: take the LU
 * offline (it stays listed, its nexuses stay) or open its store anew. A LU
 * that could not be opened before (file missing at start-up) is added now.
 */
static void lun_state(struct daemon *d, const struct state_target *t, const struct state_lun *sl)
{
	const struct store_lun *rec = &sl->rec;
	struct daemon_run_target *r = run_find(d, t->rec.name);
	struct daemon_run_lun **pp, *l;
	int rc;

	if (r == NULL) {
		return;
	}
	for (pp = &r->luns; *pp != NULL && (*pp)->lun != rec->lun; pp = &(*pp)->next) {
	}
	l = *pp;
	if (l == NULL || !l->added) {
		if (l != NULL) {
			*pp = l->next;
			free(l);
		}
		lun_open(d, t, sl);
		return;
	}
	rc = scsi_lu_set_offline(r->scsi, rec->lun, rec->offline);
	if (rc < 0) {
		log_perror(rc, "target '%s' LUN %u: cannot open %s backing '%s', LUN stays offline",
			   r->name, rec->lun, rec->backing, rec->path);
		snprintf(l->offline_reason, sizeof(l->offline_reason),
			 "cannot open the %s backing store: %s", rec->backing, strerror(-rc));
		l->online = false;
		return;
	}
	l->online = !rec->offline;
	if (rec->offline) {
		snprintf(l->offline_reason, sizeof(l->offline_reason), "%s", LUN_OFFLINE_BY_ADMIN);
		log_notice("target '%s' LUN %u offline (%s)", r->name, rec->lun,
			   LUN_OFFLINE_BY_ADMIN);
	} else {
		l->offline_reason[0] = '\0';
		log_info("target '%s' LUN %u online again (%s '%s')", r->name, rec->lun,
			 rec->backing, rec->path);
	}
}

/*
 * A LUN record changed in place (size, read-only, write cache, alias): the
 * LU follows, raising the unit attentions the change calls for on every
 * nexus. A LUN that is not an LU here takes the new record when it is
 * opened.
 */
static void lun_changed(struct daemon *d, const struct state_target *t, const struct state_lun *sl)
{
	const struct store_lun *rec = &sl->rec;
	struct daemon_run_target *r = run_find(d, t->rec.name);
	struct daemon_run_lun *l = r != NULL ? run_lun_find(r, rec->lun) : NULL;
	struct scsi_lu_config cfg;
	int rc;

	if (l == NULL || !l->added) {
		return;
	}
	lun_config(d, rec, &cfg);
	rc = scsi_lu_update(r->scsi, rec->lun, &cfg);
	if (rc < 0) {
		log_perror(rc, "target '%s' LUN %u: cannot follow the changed record (%llu bytes, "
			   "%s, write cache %s); the LU keeps its previous settings on this node",
			   r->name, rec->lun, (unsigned long long)rec->size_bytes,
			   rec->read_only ? "read-only" : "read-write", rec->write_cache ? "on" : "off");
		return;
	}
	log_info("target '%s' LUN %u: now %llu bytes, %s, write cache %s", r->name, rec->lun,
		 (unsigned long long)rec->size_bytes, rec->read_only ? "read-only" : "read-write",
		 rec->write_cache ? "on" : "off");
}

static void lun_close(struct daemon *d, const char *target, uint16_t lun)
{
	struct daemon_run_target *r = run_find(d, target);
	struct daemon_run_lun **pp, *l;
	int rc;

	if (r == NULL) {
		return;
	}
	for (pp = &r->luns; *pp != NULL && (*pp)->lun != lun; pp = &(*pp)->next) {
	}
	l = *pp;
	if (l == NULL) {
		return;
	}
	*pp = l->next;
	if (l->added) {
		rc = scsi_target_remove_lu(r->scsi, lun);
		if (rc < 0) {
			log_perror(rc, "target '%s' LUN %u: removing the running LU", target, lun);
			/* Still running: it must not read the PR state freed next. */
			scsi_lu_pr_attach(r->scsi, lun, NULL);
		}
	}
	log_info("target '%s' LUN %u deleted", target, lun);
	free(l);
}

/* ---- ACL and CHAP --------------------------------------------------------------- */

static void acl_change(struct daemon *d, const struct state_effect *e, bool add)
{
	struct daemon_run_target *r = run_find(d, e->name);
	int rc;

	if (r == NULL || !r->registered) {
		return;
	}
	rc = add ? iscsi_target_acl_add(d->iscsi, e->name, e->initiator)
		 : iscsi_target_acl_remove(d->iscsi, e->name, e->initiator);
	if (rc < 0) {
		log_perror(rc, "target '%s': %s '%s' %s the ACL", e->name,
			   add ? "adding" : "removing", e->initiator, add ? "to" : "from");
	}
	/* The first entry shuts out every initiator not listed. */
	d->sessions_ended += iscsi_target_end_unadmitted(d->iscsi, e->name);
}

static void chap_set(struct daemon *d, const struct state_chap *c)
{
	const struct store_chap *rec = &c->rec;
	struct iscsi_chap_cred cred = {
		.user = rec->user,
		.secret = rec->secret,
		.mutual_user = rec->mutual_user[0] != '\0' ? rec->mutual_user : NULL,
		.mutual_secret = rec->mutual_secret[0] != '\0' ? rec->mutual_secret : NULL,
	};
	const char *who = rec->target[0] != '\0' ? rec->target : "discovery";
	int rc = iscsi_chap_set(d->iscsi, rec->target[0] != '\0' ? rec->target : NULL, &cred);

	if (rc < 0) {
		log_perror(rc, "setting CHAP of %s", who);
		return;
	}
	/* The user name is not secret; the secret never reaches a log. */
	log_info("CHAP for %s: user '%s'%s", who, rec->user,
		 cred.mutual_user != NULL ? ", mutual" : "");
}

static void chap_clear(struct daemon *d, const char *target)
{
	int rc = iscsi_chap_set(d->iscsi, target[0] != '\0' ? target : NULL, NULL);

	if (rc < 0 && rc != -ENOENT) {
		log_perror(rc, "clearing CHAP of %s", target[0] != '\0' ? target : "discovery");
	}
}

/* ---- reservations and resets ------------------------------------------------------- */

struct pr_abort_ctx {
	const struct pr_target *who;
	uint16_t rel_port_id;
};

static bool pr_abort_match(const char *initiator_port, void *ctx)
{
	const struct pr_abort_ctx *a = ctx;

	return pr_target_matches(a->who, initiator_port, a->rel_port_id);
}

/* Deliver a committed PR op's unit attentions and aborts to this node's nexuses. */
static void pr_effects(struct daemon *d, const struct state_effect *e,
		       const struct scsi_task *keep)
{
	struct daemon_run_target *r = run_find(d, e->name);
	struct daemon_run_lun *l = r != NULL ? run_lun_find(r, e->lun->rec.lun) : NULL;
	const struct pr_result *res = e->pr;

	if (l == NULL || !l->added || r->scsi == NULL) {
		return;
	}
	scsi_lu_pr_effects(r->scsi, l->lun, res);
	for (uint32_t i = 0; i < res->n_abort && r->registered && d->iscsi != NULL; i++) {
		struct pr_abort_ctx a = {
			.who = &res->abort[i],
			.rel_port_id = scsi_target_rel_port_id(r->scsi),
		};
		unsigned int n = iscsi_target_abort_tasks(d->iscsi, r->name, l->lun,
							  pr_abort_match, &a, keep);

		if (n > 0) {
			log_info("target '%s' LUN %u: PREEMPT AND ABORT aborted %u task(s) of %s",
				 r->name, l->lun, n, res->abort[i].nexus.initiator);
		}
	}
}

static bool match_every_nexus(const char *initiator_port, void *ctx)
{
	(void)initiator_port;
	(void)ctx;
	return true;
}

/*
 * An LU reset proposed by another node (an LU reset, or one LU of a target
 * reset): abort the LU's tasks on this node's nexuses too and raise 29/03
 * (SAM-5 7.7: every task and nexus of the LU). The SPC-2 part travelled in
 * the mutation itself; scsi_lu_reset() would propose it again.
 */
static void lu_reset(struct daemon *d, const struct state_effect *e)
{
	struct daemon_run_target *r = run_find(d, e->name);
	struct daemon_run_lun *l = r != NULL ? run_lun_find(r, e->lun->rec.lun) : NULL;
	unsigned int n;

	/* The proposing node reset its own nexuses when the TMF arrived. */
	if (e->origin == cluster_node_id(d->cluster) || l == NULL || !l->added ||
	    !r->registered) {
		return;
	}
	n = iscsi_target_abort_tasks(d->iscsi, r->name, l->lun, match_every_nexus, NULL, NULL);
	scsi_lu_reset_apply(r->scsi, l->lun);
	log_notice("target '%s' LUN %u: reset by node %u, %u task(s) aborted", r->name, l->lun,
		   e->origin, n);
}

/* ---- the one entry point ------------------------------------------------------------ */

void daemon_effects_apply(struct daemon *d, const struct state_effects *fx)
{
	const struct daemon_pending *p = (const struct daemon_pending *)fx->pending;
	const struct scsi_task *keep = p != NULL ? p->task : NULL;

	d->sessions_ended = 0;
	if (fx->oom != 0) {
		log_err("seq %llu: out of memory recording effects; running objects may lag the "
			"model", (unsigned long long)fx->seq);
	}
	for (size_t i = 0; i < fx->n; i++) {
		const struct state_effect *e = &fx->v[i];

		switch (e->kind) {
		case STATE_FX_TARGET_CREATED:
			target_start(d, e->target);
			break;
		case STATE_FX_TARGET_DESTROYED:
			target_destroy(d, e->name);
			break;
		case STATE_FX_TARGET_CHANGED:
			target_changed(d, e->target);
			break;
		case STATE_FX_LUN_ADDED:
			lun_open(d, e->target, e->lun);
			break;
		case STATE_FX_LUN_REMOVED:
			lun_close(d, e->name, e->lun->rec.lun);
			break;
		case STATE_FX_ACL_ADDED:
			acl_change(d, e, true);
			break;
		case STATE_FX_ACL_REMOVED:
			acl_change(d, e, false);
			break;
		case STATE_FX_CHAP_SET:
			chap_set(d, e->chap);
			break;
		case STATE_FX_CHAP_CLEARED:
			chap_clear(d, e->name);
			break;
		case STATE_FX_PR:
			pr_effects(d, e, keep);
			break;
		case STATE_FX_LU_RESET:
			lu_reset(d, e);
			break;
		case STATE_FX_LUN_STATE:
			lun_state(d, e->target, e->lun);
			break;
		case STATE_FX_LUN_CHANGED:
			lun_changed(d, e->target, e->lun);
			break;
		case STATE_FX_PORTAL_ADDED:
		case STATE_FX_PORTAL_REMOVED:
			/* Another node's: it listens and announces; SendTargets follows that. */
			if (e->portal.node == d->cfg.node_id) {
				daemon_portal_runtime(d, e->portal.address,
						      e->kind == STATE_FX_PORTAL_ADDED);
			}
			break;
		}
	}
}
