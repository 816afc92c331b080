/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's own state: what main() wires together and what apply() and
 * the admin handlers share. Everything runs on the one qb_loop thread.
 *
 * The replicated model lives in the state machine (daemon/state/state.h);
 * the daemon keeps only what is node-local: the running objects (SCSI
 * targets, iSCSI registrations, opened LUs) that daemon/effects.c makes
 * follow the model, and the admin requests and SCSI commands waiting for
 * their proposals.
 */
#ifndef QUORATE_DAEMON_DAEMON_H
#define QUORATE_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <qb/qbloop.h>

#include "daemon/config.h"
#include "daemon/state/state.h"
#include "daemon/store/store.h"
#include "quorum/cluster.h"
#include "reservations/pr.h"

struct scsi_target;
struct scsi_task;
struct iscsi_server;
struct ipc_server;
struct ipc_request;
struct cluster;

/* The CPG group of every quorated of one corosync cluster. */
#define DAEMON_CPG_GROUP "quorate"
struct json_object;
struct scsi_alua_table;
struct metrics_server;
struct io_stats;
struct daemon;
struct daemon_peers_view;

/*
 * This node's running objects for a target of the model (daemon/effects.c):
 * node-local, never replicated. A LUN whose backing store fails to open on
 * this node stays in the model but is not online here.
 */
struct daemon_run_lun {
	struct daemon_run_lun *next;
	uint16_t lun;
	bool added;			/* an LU of the scsi_target on this node (maybe offline) */
	bool online;			/* added and serving: not taken offline */
	char offline_reason[128];	/* why not online, for 'lun list' */
};

struct daemon_run_target {
	struct daemon_run_target *next;
	char name[STORE_NAME_MAX + 1];
	struct scsi_target *scsi;	/* owned; NULL if it could not be created */
	bool registered;		/* with the iSCSI server */
	struct daemon_run_lun *luns;	/* owned */
};

/*
 * A mutation this node proposed and waits for: when it is delivered and
 * applied, done() runs with the apply outcome (0 or -errno and a message).
 */
struct daemon_pending {
	struct state_pending base;	/* in the state machine's registry */
	struct daemon *d;
	void (*done)(struct daemon *d, struct daemon_pending *p, int rc, const char *err);
	struct ipc_request *req;	/* the admin request to answer, or NULL */
	struct scsi_task *task;		/* PR mutation: the command to complete, or NULL */
	void (*reset_done)(void *arg);	/* a reset's waiter (scsi_reset_waiter), or NULL */
	void *reset_arg;
	const struct pr_result *pr_res;	/* PR mutation: its outcome during done(), or NULL */
	struct json_object *result;	/* owned: the reply's result on success */
	uint64_t seq;			/* OUT: the sequence it was applied at */
	/* The outcome, kept until every member applied it (deliver.c). */
	struct daemon_pending *next;
	int rc;
	char err[STATE_ERR_MAX];
	struct pr_result pr_copy;	/* scalars only: ua and abort are NULL */
};

/*
 * A portal this node listens on, or should (portals.c): from the
 * configuration file, from the replicated state (a run-time portal of this
 * node's id), or both.
 */
struct daemon_portal {
	struct daemon_portal *next;
	char address[CONFIG_PORTAL_MAX + 1];	/* as listened on (the file's text) */
	char numeric[CLUSTER_PEER_PORTAL_LEN];	/* as announced; "" until it listens */
	bool config;				/* in [iscsi] listen (or --listen) */
	bool runtime;				/* a run-time portal of this node */
	bool listening;
	int error;				/* -errno of the last failed listen, or 0 */
};

struct daemon {
	qb_loop_t *loop;			/* owned */
	struct config cfg;
	const char *config_path;		/* NULL: no config file */
	struct config file_cfg;			/* the file as read at start (reload.c) */
	bool foreground;
	enum { LOG_JOURNAL_AUTO, LOG_JOURNAL_ON, LOG_JOURNAL_OFF } log_journal;	/* options */
	bool journal;				/* logging to the journal (log_setup) */
	bool demo;
	time_t started;				/* for uptime (node-local, never replicated) */

	struct store *store;			/* owned */
	struct cluster *cluster;		/* owned */
	struct iscsi_server *iscsi;		/* owned */
	struct ipc_server *ipc;			/* owned */
	struct scsi_alua_table *alua;		/* owned: ALUA port groups, borrowed by targets */
	struct daemon_peers_view *peers_view;	/* owned (peers.c): what it presented last */
	struct daemon_portal *portals;		/* owned (portals.c): what this node listens on */
	bool portals_open;			/* start-up opened them; changes listen at once */
	struct metrics_server *metrics;		/* owned: /metrics, NULL unless [metrics] listen */

	struct state *state;			/* owned: the replicated model */
	struct daemon_run_target *run;		/* owned: running objects, by target */

	bool ready_printed;
	bool stopping;
	/*
	 * Proposals of this node applied here, their answer held until every
	 * member applied them (applied_everywhere), in sequence order.
	 */
	struct daemon_pending *held_head;
	struct daemon_pending **held_tail;
	/*
	 * The state's digest at (digest_epoch, digest_seq): every heartbeat
	 * carries it, and the state only changes with a delivery, a snapshot
	 * install or a new epoch, which move those.
	 */
	bool digest_valid;
	uint64_t digest_epoch, digest_seq;
	uint8_t digest[CLUSTER_DIGEST_LEN];
	/* Sessions of this node the last applied ACL change ended (admin reply). */
	unsigned int sessions_ended;
	/* COMPARE AND WRITE's cluster-wide range locks (range_lock.c); NULL until used. */
	struct daemon_range_locks *range_locks;
};

/* deliver.c: the state machine wired to the transport, the SCSI layer and admin. */
/** The cluster deliver callback: apply through the state machine, then its effects. */
void daemon_deliver(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx);
/** Create the state machine and build it and the running objects from the store. */
int daemon_load(struct daemon *d);
/** Hooks of struct cluster_callbacks: snapshots and the summary. */
int daemon_snapshot_get(void **buf, size_t *len, uint64_t *seq, uint64_t *epoch, void *ctx);
int daemon_snapshot_put(const void *buf, size_t len, uint64_t seq, uint64_t epoch, void *ctx);
int daemon_summary(struct cluster_summary *out, void *ctx);
/** Hook: a quorate sync round named the state @epoch (persisted). */
int daemon_epoch_set(uint64_t epoch, void *ctx);
/** Hook: proposals of this node will never be delivered; fail what waits on them. */
void daemon_proposals_lost(const char *why, void *ctx);
/** Hook: every member applied up to @seq: answer the proposals held until then. */
void daemon_applied_everywhere(uint64_t seq, void *ctx);
/** Answer every held proposal now (shutdown: the loop no longer runs). */
void daemon_held_flush(struct daemon *d);
/** Is @name a valid iSCSI name in canonical form (daemon/iscsi/name.h)? */
bool daemon_iscsi_name_valid(const char *name);

/*
 * Propose @m; @done runs after it was applied (with @req, which it answers).
 * @return 0 or -errno (then nothing was proposed and @done will not run).
 */
int daemon_propose(struct daemon *d, struct mutation *m, struct ipc_request *req,
		   void (*done)(struct daemon *d, struct daemon_pending *p, int rc,
				const char *err),
		   struct json_object *result);
/** Route @target's PR mutations through the cluster (scsi_target_set_pr_hooks). */
void daemon_pr_hooks_set(struct daemon *d, struct scsi_target *target);
/** Complete every PR command still waiting (final shutdown: no delivery will come). */
void daemon_pr_pending_fail(struct daemon *d);
/** Reply to every pending admin request with an error (shutdown); PR commands stay. */
void daemon_pending_abort(struct daemon *d, const char *why);

/*
 * peers.c: every node of the member table as this node presents it (ALUA
 * port groups, SendTargets portals); the one place both change.
 */
/** The cluster peers callback: every configured node's group and portals follow @peers. */
void daemon_peers(const struct cluster_peer *peers, size_t count, void *ctx);
/** The same from cluster_peers() now: after this node's serving signal changed. */
void daemon_peers_refresh(struct daemon *d);
/**
 * Announce the portals this node listens on (numeric form, portals.c) to
 * the other nodes (cluster_set_portals()) and list them in this node's
 * SendTargets; a portal with no numeric form is logged and left out.
 * @return 0 or -errno.
 */
int daemon_peers_announce(struct daemon *d);
/** Free what peers.c keeps (shutdown). */
void daemon_peers_free(struct daemon *d);

/* portals.c: the portals this node listens on. */
/** Start-up: listen on the configured portals (fatal) and this node's run-time ones (logged). */
int daemon_portals_open(struct daemon *d);
/** A run-time portal of this node was added (@add) or removed: listen or stop, announce. */
void daemon_portal_runtime(struct daemon *d, const char *address, bool add);
/**
 * Reload: make the configured portals @n's [iscsi] listen (open the new
 * ones first; one that cannot listen leaves the old set, -errno and @err).
 */
int daemon_portals_reload(struct daemon *d, const struct config *n, char *err, size_t errlen);
/**
 * Record that the iSCSI server listens on configured portal @address (its
 * numeric form resolved now, for announcing). @return the entry or NULL.
 */
struct daemon_portal *daemon_portal_listened(struct daemon *d, const char *address);
/** The entry listening on, or meant for, @address (as written, or its numeric form). */
struct daemon_portal *daemon_portal_find(struct daemon *d, const char *address);
/** Free the list (shutdown, after the iSCSI server closed the sockets). */
void daemon_portals_free(struct daemon *d);

/* effects.c: the one place running objects follow the model. */
/** Apply @fx (from load, delivery or snapshot install) to this node's running objects. */
void daemon_effects_apply(struct daemon *d, const struct state_effects *fx);
/** Stop and free every running object (shutdown). */
void daemon_run_free(struct daemon *d);
/** This node's running state of LUN @lun of @target: online, or why not. */
bool daemon_lun_online(struct daemon *d, const char *target, uint16_t lun, const char **reason);
/** The I/O counters of LUN @lun of @target on this node; NULL when it is no LU here. */
const struct io_stats *daemon_lun_stats(struct daemon *d, const char *target, uint16_t lun);
/** Is @target registered with the iSCSI server on this node? */
bool daemon_target_running(struct daemon *d, const char *target);
/** The SCSI target named @name on this node, or NULL. */
struct scsi_target *daemon_scsi_target(struct daemon *d, const char *name);

/*
 * range_lock.c: COMPARE AND WRITE on shared LUs, atomic through every node
 * (daemon/scsi/scsi_caw.h) by range locks on the transport's notes.
 */
/** Route @target's COMPARE AND WRITE through the range locks (cluster mode only). */
void daemon_range_lock_hooks_set(struct daemon *d, struct scsi_target *target);
/** The cluster note callback. */
void daemon_range_lock_note(uint32_t origin, const void *msg, size_t len, void *ctx);
/** A configuration change of the group (before the membership callback). */
void daemon_range_lock_confchg(struct daemon *d, const struct cluster_confchg *chg);
/** The member table changed: this node's requests stop waiting for silent members. */
void daemon_range_lock_peers(struct daemon *d, const struct cluster_peer *peers, size_t count);
/** This node stopped serving; @lost: it also lost the cluster connection. */
void daemon_range_lock_stop(struct daemon *d, bool lost);
/** Fail what waits and free (shutdown). */
void daemon_range_lock_free(struct daemon *d);

/* admin.c */
/** The IPC request handler (ipc_request_fn). */
void daemon_admin_request(struct ipc_request *req, const char *cmd, struct json_object *args,
			  void *ctx);

/* stats.c: the I/O statistics and node gauges for the admin IPC and /metrics. */
/** `quoratectl stats`: {"luns": [...], "sessions": [...]}, of @target only if not NULL. */
struct json_object *daemon_stats_json(struct daemon *d, const char *target);
/** The exposition text for /metrics (metrics_render_fn; @ctx is the daemon). */
char *daemon_metrics_render(size_t *len, void *ctx);

/* main.c */
/** Print the --demo readiness line once. */
void daemon_demo_ready(struct daemon *d);
/** Make the log filter follow d->cfg.log_level. */
void daemon_log_level_apply(struct daemon *d);
struct iscsi_server_config;
/** The iSCSI server's configuration from the [iscsi] settings. */
void daemon_iscsi_config(const struct config_iscsi *c, struct iscsi_server_config *out);

/*
 * reload.c: re-read the configuration file (SIGHUP, `quoratectl reload`;
 * @origin names which in the log). Applies what can change at run time and
 * logs each key waiting for a restart. @result: {file, applied [keys],
 * restart_needed [keys]}. @return 0, or -errno with "FILE:LINE: message"
 * in @err and nothing changed.
 */
int daemon_reload(struct daemon *d, const char *origin, struct json_object **result, char *err,
		  size_t errlen);

#endif
