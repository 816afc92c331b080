// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cluster-wide LBA range locks: COMPARE AND WRITE on a LU that every node
 * writes (daemon/scsi/scsi_caw.h) stays atomic with respect to commands
 * through any node (SBC-3 5.3).
 *
 * The protocol runs on the transport's notes (cluster_send_note: agreed
 * order among the members, nothing persisted):
 *   LOCK(id, target, LUN, LBA, count)  from the node that received the
 *                                      command (its origin)
 *   GRANT(origin, id)                  from every other member, once its
 *                                      own hold of the blocks is granted
 *   UNLOCK(origin, id)                 from the origin, when the command
 *                                      completed or was given up
 *   RUN(origin, id)                    from the origin, when the grants it
 *                                      still lacks are all from silent members
 * Every member, the origin included, takes a range hold on its own LU when
 * LOCK is delivered. Holds queue in each node's LU lock queue in delivery
 * order, the same on every node, so two commands on overlapping blocks
 * through two nodes never wait for each other. The origin runs the command
 * once its own hold is granted and every other member of the membership at
 * LOCK's delivery granted: no node then runs a command on those blocks, and
 * none starts one until UNLOCK.
 *
 * Configuration changes (the members that stay saw the same notes before
 * the change, so they decide alike):
 *  - a request every other member granted may be running at its origin:
 *    it stays held until its UNLOCK or, when its origin left, until the
 *    grace period is over (the origin has stopped serving by then, DESIGN
 *    §3);
 *  - any other request is given up on every node, and its origin sends
 *    LOCK again with a new id, so the members, old and new, queue it in one
 *    order.
 * A member silent for the grace period (its daemon hung, its corosync still
 * in the membership; quorum/corosync.c) grants nothing, but it does not
 * serve, and it processes every LOCK and UNLOCK delivered meanwhile before
 * it serves again. The origin does not wait for it: it multicasts RUN and
 * runs when RUN is delivered, which every member takes as all granted, so
 * that at a configuration change they still agree on what may be running
 * (when a member counts as silent is each node's own reckoning).
 * A node that joins while a granted request runs does not hold its blocks;
 * it serves only after a whole sync round, by when the command (one backing
 * read and one write) has normally completed (docs/ARCHITECTURE.md).
 * A node that loses corosync, or stops serving, fails its own commands that
 * wait; losing corosync also releases the holds it kept for others.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/byteorder.h"
#include "daemon/base/log.h"
#include "daemon/daemon.h"
#include "daemon/iscsi/name.h"
#include "daemon/scsi/scsi_caw.h"
#include "daemon/scsi/sense.h"

enum {
	RL_LOCK = 1,
	RL_GRANT = 2,
	RL_UNLOCK = 3,
	RL_RUN = 4,
};

/* LOCK: kind, id, LUN, LBA, count, name length, name (big-endian). */
#define RL_LOCK_FIXED (1 + 8 + 2 + 8 + 4 + 1)
/* GRANT, UNLOCK, RUN: kind, origin, id. */
#define RL_REF_LEN (1 + 4 + 8)

struct rl_req {
	struct rl_req *next;
	struct daemon *d;
	uint32_t origin;
	uint64_t id; /* (origin, id) names the request */
	char target[ISCSI_NAME_LEN_MAX + 1];
	uint16_t lun;
	uint64_t lba;
	uint32_t count;
	bool delivered;		      /* LOCK delivered (else: sent by this node, on its way) */
	struct scsi_range_hold *hold; /* this node's; NULL: nothing held here */
	bool held;		      /* this node's hold granted (or nothing to hold) */
	uint32_t waiting[CLUSTER_PEERS_MAX]; /* members whose GRANT has not come */
	size_t waiting_count;
	struct scsi_task *task; /* origin: the command, until it runs or fails */
	bool running;
	bool run_sent;		    /* origin: RUN multicast (silent members skipped) */
	qb_loop_timer_handle timer; /* origin left: released when the grace period ends */
	bool timer_armed;
};

struct daemon_range_locks {
	struct rl_req *reqs; /* this node's requests on their way, then every delivered one */
	uint64_t next_id;
	uint32_t members[CLUSTER_PEERS_MAX];
	size_t member_count;
	uint32_t silent[CLUSTER_PEERS_MAX]; /* members silent for the grace period */
	size_t silent_count;
};

static struct daemon_range_locks *rl_get(struct daemon *d)
{
	if (d->range_locks == NULL) {
		d->range_locks = calloc(1, sizeof(*d->range_locks));
	}
	return d->range_locks;
}

static struct rl_req *rl_find(struct daemon_range_locks *rl, uint32_t origin, uint64_t id)
{
	for (struct rl_req *r = rl->reqs; r != NULL; r = r->next) {
		if (r->origin == origin && r->id == id) {
			return r;
		}
	}
	return NULL;
}

static void rl_unlink(struct daemon_range_locks *rl, struct rl_req *req)
{
	for (struct rl_req **pp = &rl->reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			return;
		}
	}
}

/* Release this node's hold and forget @req (the caller unlinked it). */
static void rl_free(struct rl_req *req)
{
	if (req->timer_armed) {
		qb_loop_timer_del(req->d->loop, req->timer);
	}
	if (req->hold != NULL) {
		scsi_range_release(req->hold);
	}
	free(req);
}

static int rl_send_ref(struct daemon *d, uint8_t kind, uint32_t origin, uint64_t id)
{
	uint8_t buf[RL_REF_LEN];

	buf[0] = kind;
	put_be32(buf + 1, origin);
	put_be64(buf + 5, id);
	return cluster_send_note(d->cluster, buf, sizeof(buf));
}

static int rl_send_lock(struct daemon *d, const struct rl_req *req)
{
	size_t name_len = strlen(req->target);
	uint8_t buf[RL_LOCK_FIXED + ISCSI_NAME_LEN_MAX];

	buf[0] = RL_LOCK;
	put_be64(buf + 1, req->id);
	put_be16(buf + 9, req->lun);
	put_be64(buf + 11, req->lba);
	put_be32(buf + 19, req->count);
	buf[23] = (uint8_t)name_len;
	memcpy(buf + RL_LOCK_FIXED, req->target, name_len);
	return cluster_send_note(d->cluster, buf, RL_LOCK_FIXED + name_len);
}

/* The command cannot run: answer it as a node that does not serve (MPIO retries elsewhere). */
static void rl_task_fail(struct rl_req *req)
{
	struct scsi_task *task = req->task;

	req->task = NULL;
	if (task != NULL) {
		scsi_caw_fail(task, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	}
}

static bool ids_have(const uint32_t *ids, size_t n, uint32_t id);

/*
 * This node's request lacks only grants of silent members: multicast RUN
 * (once) rather than wait for them; it runs when RUN comes back.
 */
static void rl_maybe_skip_silent(struct daemon *d, struct rl_req *req)
{
	struct daemon_range_locks *rl = d->range_locks;

	if (req->task == NULL || req->running || req->run_sent || !req->delivered ||
	    req->waiting_count == 0) {
		return;
	}
	for (size_t i = 0; i < req->waiting_count; i++) {
		if (!ids_have(rl->silent, rl->silent_count, req->waiting[i])) {
			return;
		}
	}
	req->run_sent = rl_send_ref(d, RL_RUN, req->origin, req->id) == 0;
}

static void rl_maybe_run(struct rl_req *req)
{
	if (req->task == NULL || req->running || !req->held || req->waiting_count != 0) {
		return;
	}
	req->running = true;
	scsi_caw_run(req->task, req);
}

static void rl_granted(void *arg)
{
	struct rl_req *req = arg;
	struct daemon *d = req->d;

	req->held = true;
	if (req->origin != d->cfg.node_id) {
		(void)rl_send_ref(d, RL_GRANT, req->origin, req->id);
		return;
	}
	rl_maybe_run(req);
}

/* ---- the SCSI layer's hooks ---- */

static int rl_begin(void *ctx, struct scsi_target *target, uint16_t lun_id, uint64_t lba,
		    uint32_t count, struct scsi_task *task)
{
	struct daemon *d = ctx;
	struct daemon_range_locks *rl = rl_get(d);
	struct rl_req *req;
	int rc;

	if (rl == NULL) {
		return -ENOMEM;
	}
	if (!cluster_is_serving(d->cluster)) {
		return -EAGAIN;
	}
	req = calloc(1, sizeof(*req));
	if (req == NULL) {
		return -ENOMEM;
	}
	req->d = d;
	req->origin = d->cfg.node_id;
	req->id = ++rl->next_id;
	snprintf(req->target, sizeof(req->target), "%s", scsi_target_name(target));
	req->lun = lun_id;
	req->lba = lba;
	req->count = count;
	req->task = task;
	rc = rl_send_lock(d, req);
	if (rc < 0) {
		free(req);
		return rc;
	}
	req->next = rl->reqs;
	rl->reqs = req;
	return 0;
}

static void rl_end(void *ctx, void *cookie)
{
	struct daemon *d = ctx;
	struct rl_req *req = cookie;

	req->task = NULL;
	rl_unlink(d->range_locks, req);
	(void)rl_send_ref(d, RL_UNLOCK, req->origin, req->id);
	rl_free(req);
}

void daemon_range_lock_hooks_set(struct daemon *d, struct scsi_target *target)
{
	const struct scsi_caw_hooks hooks = {.begin = rl_begin, .end = rl_end, .ctx = d};

	/* Standalone, LUs are not shared and COMPARE AND WRITE locks on this node alone. */
	scsi_target_set_caw_hooks(target,
				  d->cfg.cluster == CONFIG_CLUSTER_COROSYNC ? &hooks : NULL);
}

/* ---- deliveries ---- */

static void rl_on_lock(struct daemon *d, uint32_t origin, const uint8_t *p, size_t len)
{
	struct daemon_range_locks *rl = rl_get(d);
	struct scsi_target *target;
	size_t name_len;
	struct rl_req *req;
	bool own = origin == d->cfg.node_id;

	if (len < RL_LOCK_FIXED || (name_len = p[23]) == 0 || len != RL_LOCK_FIXED + name_len ||
	    name_len > ISCSI_NAME_LEN_MAX || rl == NULL) {
		log_err("cluster: malformed range LOCK from node %" PRIu32 " ignored", origin);
		return;
	}
	req = own ? rl_find(rl, origin, get_be64(p + 1)) : NULL;
	if (own && req == NULL) {
		/* Given up before it came back (not serving any more): let the others go. */
		(void)rl_send_ref(d, RL_UNLOCK, origin, get_be64(p + 1));
		return;
	}
	if (req == NULL) {
		req = calloc(1, sizeof(*req));
		if (req == NULL) {
			log_err("cluster: no memory for node %" PRIu32 "'s range lock", origin);
			return;
		}
		req->d = d;
		req->origin = origin;
		req->id = get_be64(p + 1);
		req->lun = get_be16(p + 9);
		req->lba = get_be64(p + 11);
		req->count = get_be32(p + 19);
		memcpy(req->target, p + RL_LOCK_FIXED, name_len);
		req->next = rl->reqs;
		rl->reqs = req;
	}
	req->delivered = true;
	for (size_t i = 0; i < rl->member_count; i++) {
		if (rl->members[i] != origin) {
			req->waiting[req->waiting_count++] = rl->members[i];
		}
	}
	target = daemon_scsi_target(d, req->target);
	if (target != NULL && scsi_range_hold(target, req->lun, req->lba, req->count, rl_granted,
					      req, &req->hold) == 0) {
		if (own) {
			rl_maybe_skip_silent(d, req);
		}
		return;
	}
	req->hold = NULL;
	if (own) {
		/* The command's own LU is gone (or no memory): it cannot run here. */
		(void)rl_send_ref(d, RL_UNLOCK, origin, req->id);
		rl_task_fail(req);
		rl_unlink(rl, req);
		rl_free(req);
		return;
	}
	/* No such LU on this node: nothing of ours can touch the blocks. */
	rl_granted(req);
}

/* Every member takes RUN as the grants the origin still lacked. */
static void rl_on_run(struct daemon *d, uint32_t origin, uint64_t id)
{
	struct rl_req *req = rl_find(d->range_locks, origin, id);

	if (req == NULL || !req->delivered) {
		return;
	}
	req->waiting_count = 0;
	rl_maybe_run(req);
}

static void rl_on_grant(struct daemon *d, uint32_t from, uint32_t origin, uint64_t id)
{
	struct rl_req *req = rl_find(d->range_locks, origin, id);

	if (req == NULL) {
		return; /* given up meanwhile */
	}
	for (size_t i = 0; i < req->waiting_count; i++) {
		if (req->waiting[i] == from) {
			req->waiting[i] = req->waiting[--req->waiting_count];
			break;
		}
	}
	if (origin == d->cfg.node_id) {
		rl_maybe_skip_silent(d, req); /* only silent members left to grant? */
	}
	rl_maybe_run(req);
}

static void rl_on_unlock(struct daemon *d, uint32_t origin, uint64_t id)
{
	struct rl_req *req = rl_find(d->range_locks, origin, id);

	if (req == NULL || origin == d->cfg.node_id) {
		return; /* this node's own: released when its command completed */
	}
	rl_unlink(d->range_locks, req);
	rl_free(req);
}

void daemon_range_lock_note(uint32_t origin, const void *msg, size_t len, void *ctx)
{
	struct daemon *d = ctx;
	const uint8_t *p = msg;

	if (d->range_locks == NULL && rl_get(d) == NULL) {
		return;
	}
	switch (p[0]) {
	case RL_LOCK:
		rl_on_lock(d, origin, p, len);
		return;
	case RL_GRANT:
	case RL_UNLOCK:
	case RL_RUN:
		if (len != RL_REF_LEN) {
			break;
		}
		if (p[0] == RL_GRANT) {
			rl_on_grant(d, origin, get_be32(p + 1), get_be64(p + 5));
		} else if (p[0] == RL_UNLOCK) {
			rl_on_unlock(d, get_be32(p + 1), get_be64(p + 5));
		} else if (origin == get_be32(p + 1)) {
			rl_on_run(d, origin, get_be64(p + 5));
		}
		return;
	default:
		break;
	}
	log_err("cluster: malformed range lock note (kind %u, %zu bytes) from node %" PRIu32
		" ignored",
		p[0], len, origin);
}

/* ---- configuration changes ---- */

static bool ids_have(const uint32_t *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == id) {
			return true;
		}
	}
	return false;
}

static void rl_grace_over(void *data)
{
	struct rl_req *req = data;

	req->timer_armed = false;
	log_info("cluster: grace period over: node %" PRIu32 "'s COMPARE AND WRITE on LUN %u of "
		 "'%s' no longer holds its blocks",
		 req->origin, req->lun, req->target);
	rl_unlink(req->d->range_locks, req);
	rl_free(req);
}

/* A granted request whose origin left: keep its blocks until that node has stopped serving. */
static void rl_hold_through_grace(struct daemon *d, struct rl_req *req)
{
	struct cluster_timing t;
	uint64_t ms = cluster_timing_get(d->cluster, &t) == 0 ? t.grace_ms : 60000;

	if (req->timer_armed) {
		return;
	}
	req->timer_armed = qb_loop_timer_add(d->loop, QB_LOOP_HIGH, ms * QB_TIME_NS_IN_MSEC, req,
					     rl_grace_over, &req->timer) == 0;
	if (!req->timer_armed) {
		rl_grace_over(req);
	}
}

void daemon_range_lock_confchg(struct daemon *d, const struct cluster_confchg *chg)
{
	struct daemon_range_locks *rl = rl_get(d);
	struct rl_req **pp, *req;

	if (rl == NULL) {
		return;
	}
	rl->member_count =
		chg->member_count < CLUSTER_PEERS_MAX ? chg->member_count : CLUSTER_PEERS_MAX;
	memcpy(rl->members, chg->members, rl->member_count * sizeof(*rl->members));
	pp = &rl->reqs;
	while ((req = *pp) != NULL) {
		bool own = req->origin == d->cfg.node_id;

		if (!req->delivered || req->waiting_count == 0) {
			/* On its way (delivered in the new membership), or possibly running. */
			if (!ids_have(chg->members, chg->member_count, req->origin)) {
				rl_hold_through_grace(d, req);
			}
			pp = &req->next;
			continue;
		}
		/* Not granted everywhere: given up on every node, sent again by its origin. */
		if (req->hold != NULL) {
			scsi_range_release(req->hold);
			req->hold = NULL;
		}
		if (own && req->task != NULL) {
			req->id = ++rl->next_id;
			req->delivered = false;
			req->held = false;
			req->run_sent = false;
			req->waiting_count = 0;
			if (rl_send_lock(d, req) == 0) {
				pp = &req->next;
				continue;
			}
			rl_task_fail(req);
		}
		*pp = req->next;
		rl_free(req);
	}
}

void daemon_range_lock_peers(struct daemon *d, const struct cluster_peer *peers, size_t count)
{
	struct daemon_range_locks *rl = d->range_locks;

	if (rl == NULL) {
		return;
	}
	rl->silent_count = 0;
	for (size_t i = 0; i < count && rl->silent_count < CLUSTER_PEERS_MAX; i++) {
		if (peers[i].member && peers[i].silent) {
			rl->silent[rl->silent_count++] = peers[i].node_id;
		}
	}
	if (rl->silent_count == 0) {
		return;
	}
	for (struct rl_req *req = rl->reqs; req != NULL; req = req->next) {
		if (req->origin == d->cfg.node_id) {
			rl_maybe_skip_silent(d, req);
		}
	}
}

/*
 * This node stops serving (@lost: it also left the membership, corosync
 * went away): its commands that wait for a lock fail; with @lost the holds
 * it kept for the others go too (nothing would release them).
 */
void daemon_range_lock_stop(struct daemon *d, bool lost)
{
	struct daemon_range_locks *rl = d->range_locks;
	struct rl_req **pp, *req;

	if (rl == NULL) {
		return;
	}
	pp = &rl->reqs;
	while ((req = *pp) != NULL) {
		bool own = req->origin == d->cfg.node_id;

		if (req->running || (!own && !lost)) {
			pp = &req->next;
			continue;
		}
		if (own && req->delivered && !lost) {
			(void)rl_send_ref(d, RL_UNLOCK, req->origin, req->id);
		}
		rl_task_fail(req);
		*pp = req->next;
		rl_free(req);
	}
	if (lost) {
		rl->member_count = 0;
	}
}

void daemon_range_lock_free(struct daemon *d)
{
	struct daemon_range_locks *rl = d->range_locks;

	if (rl == NULL) {
		return;
	}
	while (rl->reqs != NULL) {
		struct rl_req *req = rl->reqs;

		rl->reqs = req->next;
		rl_task_fail(req);
		rl_free(req);
	}
	free(rl);
	d->range_locks = NULL;
}
