/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's own state: what main() wires together and what apply() and
 * the admin handlers share. Everything runs on the one qb_loop thread.
 *
 * The model (targets, their LUNs, ACLs and CHAP records) mirrors the store
 * row for row and is what apply() validates against, so validation depends
 * only on the replicated stream. The running objects (scsi_target, iSCSI
 * registrations, opened LUs) hang off the model; a LUN whose backing store
 * fails to open on this node stays in the model with online = false.
 */
#ifndef QUORATE_DAEMON_DAEMON_H
#define QUORATE_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <qb/qbloop.h>

#include "daemon/config.h"
#include "daemon/store/store.h"
#include "reservations/pr.h"

struct scsi_target;
struct scsi_task;
struct iscsi_server;
struct ipc_server;
struct ipc_request;
struct cluster;
struct json_object;
struct scsi_alua_table;
struct daemon;
struct mutation;

struct daemon_lun {
	struct daemon_lun *next;	/* sorted by rec.lun */
	struct store_lun rec;
	bool online;			/* added to the scsi_target on this node */
	char offline_reason[128];	/* why not online, for 'lun list' */
	struct pr_state pr;		/* replicated PR state; the online LU borrows it */
};

struct daemon_acl {
	struct daemon_acl *next;	/* sorted by initiator */
	char initiator[STORE_NAME_MAX + 1];
};

struct daemon_chap {
	struct daemon_chap *next;
	struct store_chap rec;		/* holds secrets: zeroed before free */
};

struct daemon_target {
	struct daemon_target *next;	/* sorted by rec.name */
	struct store_target rec;
	struct scsi_target *scsi;	/* owned; NULL if it could not be created */
	bool registered;		/* with the iSCSI server */
	struct daemon_lun *luns;	/* owned */
	struct daemon_acl *acls;	/* owned */
};

/*
 * A mutation this node proposed and waits for: when it is delivered and
 * applied, done() runs with the apply outcome (0 or -errno and a message).
 */
struct daemon_pending {
	struct daemon_pending *next;
	uint64_t request_id;
	void (*done)(struct daemon *d, struct daemon_pending *p, int rc, const char *err);
	struct ipc_request *req;	/* the admin request to answer, or NULL */
	struct scsi_task *task;		/* PR mutation: the command to complete, or NULL */
	const struct pr_result *pr_res;	/* PR mutation: its outcome during done(), or NULL */
	struct json_object *result;	/* owned: the reply's result on success */
	uint64_t seq;			/* OUT: the sequence it was applied at */
};

struct daemon {
	qb_loop_t *loop;			/* owned */
	struct config cfg;
	const char *config_path;		/* NULL: no config file */
	bool foreground;
	bool demo;
	time_t started;				/* for uptime (node-local, never replicated) */

	struct store *store;			/* owned */
	struct cluster *cluster;		/* owned */
	struct iscsi_server *iscsi;		/* owned */
	struct ipc_server *ipc;			/* owned */
	struct scsi_alua_table *alua;		/* owned: ALUA port groups, borrowed by targets */

	struct daemon_target *targets;		/* owned model, sorted by name */
	struct daemon_chap *chaps;		/* owned; target "" = discovery */
	struct daemon_pending *pending;		/* owned */
	uint64_t next_request_id;

	bool ready_printed;
	bool stopping;
	/* Sessions of this node the last applied ACL change ended (admin reply). */
	unsigned int sessions_ended;
};

/* apply.c */
/** The cluster deliver callback: decode, validate, commit, update, complete. */
void daemon_deliver(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx);
/** Build the model and running objects from the store at start-up. @return 0 or -errno. */
int daemon_load(struct daemon *d);
/** Destroy every running object and free the model (shutdown). */
void daemon_model_free(struct daemon *d);
struct daemon_target *daemon_target_find(struct daemon *d, const char *name);
struct daemon_lun *daemon_lun_find(struct daemon_target *t, uint16_t lun);
struct daemon_chap *daemon_chap_find(struct daemon *d, const char *target);
/** Is @name a valid iSCSI name in canonical form (daemon/iscsi/name.h)? */
bool daemon_iscsi_name_valid(const char *name);

/*
 * Propose @op; @done runs after it was applied (with @req, which it answers).
 * @return 0 or -errno (then nothing was proposed and @done will not run).
 */
int daemon_propose(struct daemon *d, const struct store_op *op, struct ipc_request *req,
		   void (*done)(struct daemon *d, struct daemon_pending *p, int rc,
				const char *err));

/** Unlink and return this node's pending proposal @request_id, or NULL. */
struct daemon_pending *daemon_pending_take(struct daemon *d, uint64_t request_id);

/* apply_pr.c: persistent reservations through propose → deliver → apply. */
/** Route @target's PR mutations through the cluster (scsi_target_set_pr_hooks). */
void daemon_pr_hooks_set(struct daemon *d, struct scsi_target *target);
/** Apply a delivered PR_SET mutation (@m decoded, @mine: proposed here). */
void daemon_pr_apply(struct daemon *d, uint64_t seq, bool mine, const struct mutation *m);
/** Install the PR state loaded from the store (store_load_ops.pr). */
int daemon_pr_load(const struct store_pr *p, void *ctx);
/** Complete every PR command still waiting (final shutdown: no delivery will come). */
void daemon_pr_pending_fail(struct daemon *d);

/* admin.c */
/** The IPC request handler (ipc_request_fn). */
void daemon_admin_request(struct ipc_request *req, const char *cmd, struct json_object *args,
			  void *ctx);
/** Reply to every pending admin request with an error (shutdown); PR commands stay. */
void daemon_pending_abort(struct daemon *d, const char *why);

/* main.c */
/** Print the --demo readiness line once. */
void daemon_demo_ready(struct daemon *d);

#endif
