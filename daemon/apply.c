/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * apply(): the one place where replicated state changes (DESIGN §1).
 *
 * Every node runs daemon_deliver() on the same stream in the same order:
 *  1. decode the mutation (a malformed one is rejected, not fatal);
 *  2. validate it against the model, which depends only on earlier
 *     mutations: no clock, no randomness, nothing node-local, so every node
 *     accepts or rejects it alike;
 *  3. commit it to SQLite together with its sequence number (a rejected
 *     mutation commits only the sequence, so applied_seq has no gaps);
 *  4. update the model and then the running objects (SCSI targets and LUs,
 *     iSCSI registrations, ACLs, CHAP). Failures here are node-local (a
 *     backing file missing on this node) and only logged: the record stays,
 *     the other LUs keep serving;
 *  5. on the node that proposed it, complete the admin request.
 *
 * Persistent-reservation mutations (STORE_OP_PR_SET) take their own path
 * through the same stream: daemon_pr_apply() in apply_pr.c.
 *
 * daemon_load() rebuilds the model and the running objects from the store at
 * start-up through the same step-4 functions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon/base/domain.h"
#include "daemon/daemon.h"
#include "daemon/iscsi/iscsi.h"
#include "daemon/iscsi/name.h"
#include "daemon/base/log.h"
#include "daemon/mutation.h"
#include "daemon/scsi/scsi_pr.h"
#include "quorum/cluster.h"

#define APPLY_ERR_MAX 256

/* INQUIRY identity (SPC-4 6.6.2); the same on every node, so constants. */
#define QUORATE_T10_VENDOR "QUORATE"
#define QUORATE_PRODUCT "VIRTUAL-DISK"
#define QUORATE_REVISION "0001"

/* ---- model lookups ---------------------------------------------------- */

struct daemon_target *daemon_target_find(struct daemon *d, const char *name)
{
	for (struct daemon_target *t = d->targets; t != NULL; t = t->next) {
		if (strcmp(t->rec.name, name) == 0) {
			return t;
		}
	}
	return NULL;
}

struct daemon_lun *daemon_lun_find(struct daemon_target *t, uint16_t lun)
{
	for (struct daemon_lun *l = t->luns; l != NULL; l = l->next) {
		if (l->rec.lun == lun) {
			return l;
		}
	}
	return NULL;
}

static struct daemon_acl *daemon_acl_find(struct daemon_target *t, const char *initiator)
{
	for (struct daemon_acl *a = t->acls; a != NULL; a = a->next) {
		if (strcmp(a->initiator, initiator) == 0) {
			return a;
		}
	}
	return NULL;
}

struct daemon_chap *daemon_chap_find(struct daemon *d, const char *target)
{
	for (struct daemon_chap *c = d->chaps; c != NULL; c = c->next) {
		if (strcmp(c->rec.target, target) == 0) {
			return c;
		}
	}
	return NULL;
}

static bool daemon_naa_in_use(struct daemon *d, const uint8_t *naa)
{
	for (struct daemon_target *t = d->targets; t != NULL; t = t->next) {
		for (struct daemon_lun *l = t->luns; l != NULL; l = l->next) {
			if (memcmp(l->rec.naa, naa, sizeof(l->rec.naa)) == 0) {
				return true;
			}
		}
	}
	return false;
}

/* Names in the replicated state are canonical (the admin path maps them first). */
bool daemon_iscsi_name_valid(const char *name)
{
	return iscsi_name_is_canonical(name);
}

/* ---- validation (deterministic) ---------------------------------------- */

static int apply_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int apply_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int apply_validate_lun(struct daemon *d, const struct store_lun *l, char *err,
			      size_t errlen)
{
	struct daemon_target *t = daemon_target_find(d, l->target);

	if (t == NULL) {
		return apply_fail(err, errlen, -ENOENT, "no target '%s'", l->target);
	}
	if (!lun_id_valid(l->lun)) {
		return apply_fail(err, errlen, -EINVAL, "LUN %u out of range 0..%u", l->lun,
				  LUN_ID_MAX);
	}
	if (daemon_lun_find(t, l->lun) != NULL) {
		return apply_fail(err, errlen, -EEXIST, "target '%s' already has LUN %u",
				  l->target, l->lun);
	}
	if (strcmp(l->backing, LUN_BACKING_FILE) == 0) {
		if (l->path[0] != '/') {
			return apply_fail(err, errlen, -EINVAL,
					  "file backing needs an absolute path");
		}
	} else if (strcmp(l->backing, LUN_BACKING_NULL) == 0) {
		if (l->path[0] != '\0') {
			return apply_fail(err, errlen, -EINVAL, "null backing takes no path");
		}
	} else {
		return apply_fail(err, errlen, -EINVAL, "unknown backing '%s'", l->backing);
	}
	if (!lun_block_size_valid(l->block_size)) {
		return apply_fail(err, errlen, -EINVAL, "block size %u (want %u or %u)",
				  l->block_size, LUN_BLOCK_SIZE_512, LUN_BLOCK_SIZE_4096);
	}
	if (l->size_bytes == 0 || l->size_bytes % l->block_size != 0 ||
	    l->size_bytes > INT64_MAX) {
		return apply_fail(err, errlen, -EINVAL,
				  "size %llu is not a positive multiple of the block size",
				  (unsigned long long)l->size_bytes);
	}
	if (l->serial[0] == '\0') {
		return apply_fail(err, errlen, -EINVAL, "empty serial number");
	}
	if (daemon_naa_in_use(d, l->naa)) {
		return apply_fail(err, errlen, -EEXIST, "NAA identifier already in use");
	}
	return 0;
}

static int apply_validate_chap(struct daemon *d, const struct store_chap *c, char *err,
			       size_t errlen)
{
	bool mutual = c->mutual_user[0] != '\0' || c->mutual_secret[0] != '\0';

	if (c->target[0] != '\0' && daemon_target_find(d, c->target) == NULL) {
		return apply_fail(err, errlen, -ENOENT, "no target '%s'", c->target);
	}
	if (c->user[0] == '\0' || c->secret[0] == '\0') {
		return apply_fail(err, errlen, -EINVAL, "CHAP needs a user and a secret");
	}
	if (mutual && (c->mutual_user[0] == '\0' || c->mutual_secret[0] == '\0')) {
		return apply_fail(err, errlen, -EINVAL,
				  "mutual CHAP needs both a user and a secret");
	}
	/* RFC 7143 12.1.3: the same secret must not serve both directions. */
	if (mutual && strcmp(c->secret, c->mutual_secret) == 0) {
		return apply_fail(err, errlen, -EINVAL,
				  "mutual secret must differ from the initiator's secret");
	}
	return 0;
}

static int apply_validate(struct daemon *d, const struct store_op *op, char *err, size_t errlen)
{
	struct daemon_target *t;

	switch (op->kind) {
	case STORE_OP_TARGET_ADD:
		if (!daemon_iscsi_name_valid(op->u.target.name)) {
			return apply_fail(err, errlen, -EINVAL, "'%s' is not a valid iSCSI name",
					  op->u.target.name);
		}
		if (daemon_target_find(d, op->u.target.name) != NULL) {
			return apply_fail(err, errlen, -EEXIST, "target '%s' exists",
					  op->u.target.name);
		}
		return 0;
	case STORE_OP_TARGET_DEL:
		if (daemon_target_find(d, op->u.target.name) == NULL) {
			return apply_fail(err, errlen, -ENOENT, "no target '%s'",
					  op->u.target.name);
		}
		return 0;
	case STORE_OP_LUN_ADD:
		return apply_validate_lun(d, &op->u.lun, err, errlen);
	case STORE_OP_LUN_DEL:
		t = daemon_target_find(d, op->u.lun.target);
		if (t == NULL) {
			return apply_fail(err, errlen, -ENOENT, "no target '%s'", op->u.lun.target);
		}
		if (daemon_lun_find(t, op->u.lun.lun) == NULL) {
			return apply_fail(err, errlen, -ENOENT, "target '%s' has no LUN %u",
					  op->u.lun.target, op->u.lun.lun);
		}
		return 0;
	case STORE_OP_ACL_ADD:
	case STORE_OP_ACL_DEL:
		t = daemon_target_find(d, op->u.acl.target);
		if (t == NULL) {
			return apply_fail(err, errlen, -ENOENT, "no target '%s'", op->u.acl.target);
		}
		if (!daemon_iscsi_name_valid(op->u.acl.initiator)) {
			return apply_fail(err, errlen, -EINVAL, "'%s' is not a valid iSCSI name",
					  op->u.acl.initiator);
		}
		if (op->kind == STORE_OP_ACL_ADD && daemon_acl_find(t, op->u.acl.initiator)) {
			return apply_fail(err, errlen, -EEXIST, "'%s' is already in the ACL",
					  op->u.acl.initiator);
		}
		if (op->kind == STORE_OP_ACL_DEL && !daemon_acl_find(t, op->u.acl.initiator)) {
			return apply_fail(err, errlen, -ENOENT, "'%s' is not in the ACL",
					  op->u.acl.initiator);
		}
		return 0;
	case STORE_OP_CHAP_SET:
		return apply_validate_chap(d, &op->u.chap, err, errlen);
	case STORE_OP_PR_SET:
		break;	/* never here: daemon_deliver() hands it to daemon_pr_apply() */
	case STORE_OP_CHAP_CLEAR:
		if (daemon_chap_find(d, op->u.chap.target) == NULL) {
			return apply_fail(err, errlen, -ENOENT, "no CHAP credentials for %s%s%s",
					  op->u.chap.target[0] ? "'" : "discovery",
					  op->u.chap.target, op->u.chap.target[0] ? "'" : "");
		}
		return 0;
	case STORE_OP_NONE:
		break;
	}
	return apply_fail(err, errlen, -EINVAL, "unknown mutation");
}

/* ---- model and running objects ---------------------------------------- */

static void run_target_add(struct daemon *d, const struct store_target *rec)
{
	struct scsi_port_info port = {
		.rel_port_id = (uint16_t)d->cfg.node_id,
		.tpg_id = (uint16_t)d->cfg.node_id,
		.alua = d->alua,
	};
	struct daemon_target *t = calloc(1, sizeof(*t)), **pp;
	int rc;

	if (t == NULL) {
		log_err("out of memory adding target '%s'", rec->name);
		return;
	}
	t->rec = *rec;
	for (pp = &d->targets; *pp != NULL && strcmp((*pp)->rec.name, rec->name) < 0;
	     pp = &(*pp)->next) {
	}
	t->next = *pp;
	*pp = t;

	rc = scsi_target_create(d->loop, rec->name, &port, &t->scsi);
	if (rc < 0) {
		t->scsi = NULL;
		log_perror(rc, "target '%s': cannot create the SCSI target", rec->name);
		return;
	}
	daemon_pr_hooks_set(d, t->scsi);
	rc = iscsi_target_register(d->iscsi, t->scsi, rec->alias[0] != '\0' ? rec->alias : NULL);
	if (rc < 0) {
		log_perror(rc, "target '%s': cannot register with the iSCSI server", rec->name);
		return;
	}
	t->registered = true;
	log_info("target '%s' serving", rec->name);
}

static void run_lun_open(struct daemon *d, struct daemon_target *t, struct daemon_lun *l)
{
	struct scsi_lu_config cfg = {
		.backing = l->rec.backing,
		.path = l->rec.path[0] != '\0' ? l->rec.path : NULL,
		.size_bytes = l->rec.size_bytes,
		.block_size = l->rec.block_size,
		.direct_io = l->rec.direct_io,
		.thin = l->rec.thin,
		.read_only = l->rec.read_only,
		/* O_DIRECT means "no node-local cache": report write cache off too. */
		.write_cache = !l->rec.direct_io,
	};
	int rc;

	(void)d;
	memcpy(cfg.naa, l->rec.naa, sizeof(cfg.naa));
	snprintf(cfg.serial, sizeof(cfg.serial), "%s", l->rec.serial);
	snprintf(cfg.vendor, sizeof(cfg.vendor), "%s", QUORATE_T10_VENDOR);
	snprintf(cfg.product, sizeof(cfg.product), "%s", QUORATE_PRODUCT);
	snprintf(cfg.revision, sizeof(cfg.revision), "%s", QUORATE_REVISION);
	if (t->scsi == NULL) {
		log_err("target '%s' LUN %u: offline (target not running)", t->rec.name, l->rec.lun);
		snprintf(l->offline_reason, sizeof(l->offline_reason), "target not running");
		return;
	}
	rc = scsi_target_add_lu(t->scsi, l->rec.lun, &cfg);
	if (rc < 0) {
		log_perror(rc, "target '%s' LUN %u: cannot open %s backing '%s', LUN offline",
			   t->rec.name, l->rec.lun, l->rec.backing, l->rec.path);
		/* The daemon log has the details; this line is for 'lun list'. */
		snprintf(l->offline_reason, sizeof(l->offline_reason),
			 "cannot open the %s backing store: %s", l->rec.backing, strerror(-rc));
		return;
	}
	l->online = true;
	l->offline_reason[0] = '\0';
	/* The SCSI layer reads the model's PR state; only apply writes it. */
	scsi_lu_pr_attach(t->scsi, l->rec.lun, &l->pr);
	log_info("target '%s' LUN %u online (%s '%s', %llu bytes)", t->rec.name, l->rec.lun,
		 l->rec.backing, l->rec.path, (unsigned long long)l->rec.size_bytes);
}

static void run_lun_add(struct daemon *d, const struct store_lun *rec)
{
	struct daemon_target *t = daemon_target_find(d, rec->target);
	struct daemon_lun *l, **pp;

	if (t == NULL) {
		log_err("LUN %u of unknown target '%s' ignored", rec->lun, rec->target);
		return;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		log_err("out of memory adding LUN %u of '%s'", rec->lun, rec->target);
		return;
	}
	l->rec = *rec;
	pr_state_init(&l->pr, 0);
	for (pp = &t->luns; *pp != NULL && (*pp)->rec.lun < rec->lun; pp = &(*pp)->next) {
	}
	l->next = *pp;
	*pp = l;
	run_lun_open(d, t, l);
}

static void run_lun_del(struct daemon *d, const struct store_lun *rec)
{
	struct daemon_target *t = daemon_target_find(d, rec->target);
	struct daemon_lun **pp, *l;
	int rc;

	(void)d;
	if (t == NULL) {
		return;
	}
	for (pp = &t->luns; *pp != NULL && (*pp)->rec.lun != rec->lun; pp = &(*pp)->next) {
	}
	l = *pp;
	if (l == NULL) {
		return;
	}
	*pp = l->next;
	if (l->online) {
		rc = scsi_target_remove_lu(t->scsi, l->rec.lun);
		if (rc < 0) {
			log_perror(rc, "target '%s' LUN %u: removing the running LU", t->rec.name,
				   l->rec.lun);
			/* Still running: it must not read the PR state freed below. */
			scsi_lu_pr_attach(t->scsi, l->rec.lun, NULL);
		}
	}
	log_info("target '%s' LUN %u deleted", t->rec.name, l->rec.lun);
	pr_state_fini(&l->pr);
	free(l);
}

static void chap_cred_from(const struct store_chap *c, struct iscsi_chap_cred *cred)
{
	cred->user = c->user;
	cred->secret = c->secret;
	cred->mutual_user = c->mutual_user[0] != '\0' ? c->mutual_user : NULL;
	cred->mutual_secret = c->mutual_secret[0] != '\0' ? c->mutual_secret : NULL;
}

static void chap_free(struct daemon_chap *c)
{
	explicit_bzero(c, sizeof(*c));
	free(c);
}

static void run_chap_clear(struct daemon *d, const char *target)
{
	struct daemon_chap **pp, *c;
	int rc;

	for (pp = &d->chaps; *pp != NULL && strcmp((*pp)->rec.target, target) != 0;
	     pp = &(*pp)->next) {
	}
	c = *pp;
	if (c == NULL) {
		return;
	}
	*pp = c->next;
	rc = iscsi_chap_set(d->iscsi, target[0] != '\0' ? target : NULL, NULL);
	if (rc < 0 && rc != -ENOENT) {
		log_perror(rc, "clearing CHAP of %s", target[0] != '\0' ? target : "discovery");
	}
	chap_free(c);
}

static void run_chap_set(struct daemon *d, const struct store_chap *rec)
{
	struct daemon_chap *c = daemon_chap_find(d, rec->target);
	struct iscsi_chap_cred cred;
	int rc;

	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			log_err("out of memory setting CHAP");
			return;
		}
		c->next = d->chaps;
		d->chaps = c;
	}
	c->rec = *rec;
	chap_cred_from(&c->rec, &cred);
	rc = iscsi_chap_set(d->iscsi, rec->target[0] != '\0' ? rec->target : NULL, &cred);
	if (rc < 0) {
		log_perror(rc, "setting CHAP of %s", rec->target[0] != '\0' ? rec->target : "discovery");
		return;
	}
	/* The user name is not secret; the secret never reaches a log. */
	log_info("CHAP for %s: user '%s'%s", rec->target[0] != '\0' ? rec->target : "discovery",
		 rec->user, cred.mutual_user != NULL ? ", mutual" : "");
}

static void run_acl_add(struct daemon *d, const struct store_acl *rec)
{
	struct daemon_target *t = daemon_target_find(d, rec->target);
	struct daemon_acl *a, **pp;
	int rc;

	if (t == NULL) {
		log_err("ACL entry of unknown target '%s' ignored", rec->target);
		return;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		log_err("out of memory adding an ACL entry");
		return;
	}
	snprintf(a->initiator, sizeof(a->initiator), "%s", rec->initiator);
	for (pp = &t->acls; *pp != NULL && strcmp((*pp)->initiator, a->initiator) < 0;
	     pp = &(*pp)->next) {
	}
	a->next = *pp;
	*pp = a;
	if (t->registered) {
		rc = iscsi_target_acl_add(d->iscsi, rec->target, rec->initiator);
		if (rc < 0) {
			log_perror(rc, "target '%s': adding '%s' to the ACL", rec->target,
				   rec->initiator);
		}
		/* The first entry shuts out every initiator not listed. */
		d->sessions_ended = iscsi_target_end_unadmitted(d->iscsi, rec->target);
	}
}

static void run_acl_del(struct daemon *d, const struct store_acl *rec)
{
	struct daemon_target *t = daemon_target_find(d, rec->target);
	struct daemon_acl **pp, *a;
	int rc;

	if (t == NULL) {
		return;
	}
	for (pp = &t->acls; *pp != NULL && strcmp((*pp)->initiator, rec->initiator) != 0;
	     pp = &(*pp)->next) {
	}
	a = *pp;
	if (a == NULL) {
		return;
	}
	*pp = a->next;
	free(a);
	if (t->registered) {
		rc = iscsi_target_acl_remove(d->iscsi, rec->target, rec->initiator);
		if (rc < 0) {
			log_perror(rc, "target '%s': removing '%s' from the ACL", rec->target,
				   rec->initiator);
		}
		d->sessions_ended = iscsi_target_end_unadmitted(d->iscsi, rec->target);
	}
}

/* Stop serving @t and free it with its LUNs and ACL (not unlinked here). */
static void run_target_stop(struct daemon *d, struct daemon_target *t)
{
	int rc;

	/* At shutdown the server is already gone, and its registrations with it. */
	if (t->registered && d->iscsi != NULL) {
		rc = iscsi_target_unregister(d->iscsi, t->rec.name);
		if (rc < 0) {
			log_perror(rc, "target '%s': unregistering", t->rec.name);
		}
	}
	/*
	 * The SCSI target may outlive this call while sessions drain: it must
	 * neither read the PR state freed below nor propose PR changes that a
	 * later target of the same name would receive.
	 */
	if (t->scsi != NULL) {
		for (struct daemon_lun *l = t->luns; l != NULL; l = l->next) {
			if (l->online) {
				scsi_lu_pr_attach(t->scsi, l->rec.lun, NULL);
			}
		}
		scsi_target_set_pr_hooks(t->scsi, NULL);
	}
	/* Destroying the SCSI target closes its LUs and their backing stores. */
	if (t->scsi != NULL) {
		scsi_target_destroy(t->scsi);
	}
	while (t->luns != NULL) {
		struct daemon_lun *l = t->luns;

		t->luns = l->next;
		pr_state_fini(&l->pr);
		free(l);
	}
	while (t->acls != NULL) {
		struct daemon_acl *a = t->acls;

		t->acls = a->next;
		free(a);
	}
	free(t);
}

static void run_target_del(struct daemon *d, const char *name)
{
	struct daemon_target **pp, *t;

	for (pp = &d->targets; *pp != NULL && strcmp((*pp)->rec.name, name) != 0;
	     pp = &(*pp)->next) {
	}
	t = *pp;
	if (t == NULL) {
		return;
	}
	*pp = t->next;
	if (daemon_chap_find(d, name) != NULL) {
		run_chap_clear(d, name);
	}
	run_target_stop(d, t);
	log_info("target '%s' deleted", name);
}

static void run_op(struct daemon *d, const struct store_op *op)
{
	d->sessions_ended = 0;
	switch (op->kind) {
	case STORE_OP_TARGET_ADD:
		run_target_add(d, &op->u.target);
		break;
	case STORE_OP_TARGET_DEL:
		run_target_del(d, op->u.target.name);
		break;
	case STORE_OP_LUN_ADD:
		run_lun_add(d, &op->u.lun);
		break;
	case STORE_OP_LUN_DEL:
		run_lun_del(d, &op->u.lun);
		break;
	case STORE_OP_ACL_ADD:
		run_acl_add(d, &op->u.acl);
		break;
	case STORE_OP_ACL_DEL:
		run_acl_del(d, &op->u.acl);
		break;
	case STORE_OP_CHAP_SET:
		run_chap_set(d, &op->u.chap);
		break;
	case STORE_OP_CHAP_CLEAR:
		run_chap_clear(d, op->u.chap.target);
		break;
	case STORE_OP_PR_SET:
	case STORE_OP_NONE:
		break;
	}
}

void daemon_model_free(struct daemon *d)
{
	while (d->targets != NULL) {
		struct daemon_target *t = d->targets;

		d->targets = t->next;
		run_target_stop(d, t);
	}
	while (d->chaps != NULL) {
		struct daemon_chap *c = d->chaps;

		d->chaps = c->next;
		chap_free(c);
	}
}

/* ---- delivery ------------------------------------------------------------ */

struct daemon_pending *daemon_pending_take(struct daemon *d, uint64_t request_id)
{
	struct daemon_pending **pp, *p;

	for (pp = &d->pending; *pp != NULL && (*pp)->request_id != request_id;
	     pp = &(*pp)->next) {
	}
	p = *pp;
	if (p != NULL) {
		*pp = p->next;
	}
	return p;
}

static void daemon_complete(struct daemon *d, uint64_t request_id, uint64_t seq, int rc,
			    const char *err)
{
	struct daemon_pending *p = daemon_pending_take(d, request_id);

	if (p == NULL) {
		return;
	}
	p->seq = seq;
	p->done(d, p, rc, err);
	free(p);
}

void daemon_deliver(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx)
{
	struct daemon *d = ctx;
	struct mutation *m = malloc(sizeof(*m));
	char err[APPLY_ERR_MAX] = "";
	bool mine = origin == cluster_node_id(d->cluster);
	int rc, vrc;

	if (m == NULL) {
		/* Cannot apply: this node now lags; a later sync must repair it. */
		log_err("seq %llu: out of memory, mutation not applied", (unsigned long long)seq);
		return;
	}
	rc = mutation_decode(msg, len, m);
	if (rc < 0) {
		log_err("seq %llu from node %u: malformed mutation (%s), skipped",
			(unsigned long long)seq, origin, strerror(-rc));
		rc = store_commit(d->store, seq, NULL);
		if (rc < 0) {
			log_perror(rc, "seq %llu: store commit (%s)", (unsigned long long)seq,
				   store_errmsg(d->store));
		}
		free(m);
		return;
	}
	if (m->op.kind == STORE_OP_PR_SET) {
		/* Persistent reservations: the op is applied to the LU's PR state. */
		daemon_pr_apply(d, seq, mine, m);
		free(m);
		return;
	}
	vrc = apply_validate(d, &m->op, err, sizeof(err));
	rc = store_commit(d->store, seq, vrc == 0 ? &m->op : NULL);
	if (rc < 0) {
		log_perror(rc, "seq %llu %s: store commit failed (%s)", (unsigned long long)seq,
			   mutation_kind_name(m->op.kind), store_errmsg(d->store));
		if (vrc == 0) {
			vrc = rc;
			snprintf(err, sizeof(err), "database commit failed: %s (%s)",
				 store_errmsg(d->store), strerror(-rc));
		}
	} else if (vrc == 0) {
		log_debug("seq %llu %s applied", (unsigned long long)seq,
			  mutation_kind_name(m->op.kind));
		run_op(d, &m->op);
	} else {
		log_info("seq %llu %s rejected: %s", (unsigned long long)seq,
			 mutation_kind_name(m->op.kind), err);
	}
	if (mine) {
		daemon_complete(d, m->request_id, seq, vrc, err);
	}
	explicit_bzero(m, sizeof(*m));	/* a CHAP mutation carries secrets */
	free(m);
}

int daemon_propose(struct daemon *d, const struct store_op *op, struct ipc_request *req,
		   void (*done)(struct daemon *d, struct daemon_pending *p, int rc,
				const char *err))
{
	struct mutation *m = malloc(sizeof(*m));
	uint8_t *buf = malloc(MUTATION_MAX_LEN);
	struct daemon_pending *p = calloc(1, sizeof(*p));
	size_t len = 0;
	int rc;

	if (m == NULL || buf == NULL || p == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	m->request_id = ++d->next_request_id;
	m->op = *op;
	rc = mutation_encode(m, buf, MUTATION_MAX_LEN, &len);
	if (rc == 0) {
		rc = cluster_propose(d->cluster, buf, len);
	}
	if (rc == 0) {
		p->request_id = m->request_id;
		p->done = done;
		p->req = req;
		p->next = d->pending;
		d->pending = p;
		p = NULL;
	}
out:
	if (m != NULL) {
		explicit_bzero(m, sizeof(*m));
	}
	if (buf != NULL) {
		explicit_bzero(buf, MUTATION_MAX_LEN);
	}
	free(m);
	free(buf);
	free(p);
	return rc;
}

/* ---- start-up ------------------------------------------------------------ */

static int load_target(const struct store_target *t, void *ctx)
{
	run_target_add(ctx, t);
	return 0;
}

static int load_lun(const struct store_lun *l, void *ctx)
{
	run_lun_add(ctx, l);
	return 0;
}

static int load_acl(const struct store_acl *a, void *ctx)
{
	run_acl_add(ctx, a);
	return 0;
}

static int load_chap(const struct store_chap *c, void *ctx)
{
	run_chap_set(ctx, c);
	return 0;
}

int daemon_load(struct daemon *d)
{
	static const struct store_load_ops ops = {
		.target = load_target,
		.lun = load_lun,
		.acl = load_acl,
		.chap = load_chap,
		.pr = daemon_pr_load,
	};
	uint32_t salt = 0;

	/*
	 * Request ids only match proposals to their admin requests on this
	 * node; a random high half keeps a restarted node from mistaking a
	 * stale delivery for one of its new requests.
	 */
	if (getrandom(&salt, sizeof(salt), 0) != sizeof(salt)) {
		salt = 0;
	}
	d->next_request_id = (uint64_t)salt << 32;
	return store_load(d->store, &ops, d);
}
