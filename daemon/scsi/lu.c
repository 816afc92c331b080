// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Targets, logical units, I_T nexuses, unit attentions and the dispatcher.
 *
 * scsi_task_submit() decides, in this order (SAM-5 5.14 / SPC-4 4.6.4):
 * addressability of the LUN, a pending unit attention, whether the opcode is
 * supported, reserved CDB bits (from the table's usage mask), the port
 * group's access state (Unavailable while this node is not serving), the
 * reservation check (pr_check_access, SPC-4 5.13.1), write protection, and
 * only then runs the handler. A handler either answers at once or starts
 * backing I/O and finishes from the loop through scsi_task_finish().
 *
 * Unit attentions are kept per (LU, initiator port name) in records that
 * outlive the nexus object, so a nexus re-created under the same name (a
 * session reinstatement, a logout and login) still sees what is pending; a
 * name never seen before starts with POWER ON, RESET, OR BUS DEVICE RESET
 * OCCURRED (29/00). Records with nothing but reset-class UAs pending are
 * dropped when their nexus goes away (a new nexus gets 29/00 anyway), which
 * keeps the record count bounded by live nexuses plus those with news. The
 * exception is a nexus lost without logout (scsi_nexus_lost(): connection
 * drop, session reinstatement): SAM-5 6.3.4 wants I_T NEXUS LOSS OCCURRED
 * (29/07) for it, so its record stays, at most SCSI_UA_LOST_KEEP per LU.
 *
 * Statistics: every task is counted once in its LU's struct io_stats
 * (daemon/base/io_stats.h), right before its done() (task_stats(), from
 * scsi_task_submit() or scsi_task_finish()), with its latency from submit;
 * the task carries its kind and latency on to the transport.
 *
 * Lifetime: the target is reference-counted (the creator, each nexus, and
 * scsi_task_finish() around done()) and freed with its LUs only when no
 * reference and no task in flight is left, so the owner may destroy it
 * while the transport still drains sessions on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/log.h"
#include "daemon/scsi/scsi_int.h"

/* SAM-5 4.7: single-level LUN, peripheral (00b) or flat space (01b) addressing. */
#define LUN_ADDR_METHOD_SHIFT 62
#define LUN_ADDR_PERIPHERAL 0x0
#define LUN_ADDR_FLAT 0x1
#define LUN_FLAT_BUS_MASK 0x3f
#define LUN_LEVEL1_SHIFT 48
#define LUN_LEVEL1_MASK 0x3fff
#define LUN_PERIPHERAL_MAX 0xff	/* byte 1 only; byte 0 bits 5..0 are the bus id */
#define SCSI_UA_LOST_KEEP 32	/* records kept per LU only to report 29/07 */
#define SA_FIELD_HIGH_BIT 4		/* SERVICE ACTION: CDB byte 1 bits 4..0 */

static const uint16_t ua_ascs[SCSI_UA_COUNT] = {
	[SCSI_UA_POWER_ON] = ASC_POWER_ON_RESET_OR_BDR,
	[SCSI_UA_POWER_ON_OCCURRED] = ASC_POWER_ON_OCCURRED,
	[SCSI_UA_BUS_RESET] = ASC_SCSI_BUS_RESET_OCCURRED,
	[SCSI_UA_BDR] = ASC_BUS_DEVICE_RESET_FUNCTION,
	[SCSI_UA_NEXUS_LOSS] = ASC_I_T_NEXUS_LOSS_OCCURRED,
	[SCSI_UA_RESERVATIONS_PREEMPTED] = ASC_RESERVATIONS_PREEMPTED,
	[SCSI_UA_RESERVATIONS_RELEASED] = ASC_RESERVATIONS_RELEASED,
	[SCSI_UA_REGISTRATIONS_PREEMPTED] = ASC_REGISTRATIONS_PREEMPTED,
	[SCSI_UA_MODE_CHANGED] = ASC_MODE_PARAMETERS_CHANGED,
	[SCSI_UA_CAPACITY_CHANGED] = ASC_CAPACITY_DATA_HAS_CHANGED,
	[SCSI_UA_ALUA_CHANGED] = ASC_ASYMMETRIC_ACCESS_STATE_CHANGED,
	[SCSI_UA_COMMANDS_CLEARED] = ASC_COMMANDS_CLEARED_BY_ANOTHER_INITIATOR,
	[SCSI_UA_LUNS_CHANGED] = ASC_REPORTED_LUNS_DATA_HAS_CHANGED,
};

uint16_t scsi_ua_asc(enum scsi_ua ua)
{
	return ua < SCSI_UA_COUNT ? ua_ascs[ua] : ASC_NO_ADDITIONAL_SENSE;
}

int scsi_lun_decode(uint64_t lun)
{
	unsigned int method = (unsigned int)(lun >> LUN_ADDR_METHOD_SHIFT);
	uint64_t level1 = (lun >> LUN_LEVEL1_SHIFT) & LUN_LEVEL1_MASK;

	/* Only the first level may be non-zero: we have no hierarchy. */
	if (lun & ((UINT64_C(1) << LUN_LEVEL1_SHIFT) - 1)) {
		return -1;
	}
	if (method == LUN_ADDR_PERIPHERAL) {
		/* Bus identifier (byte 0 bits 5..0) must be 0 for a LUN of this target. */
		return level1 > LUN_PERIPHERAL_MAX ? -1 : (int)level1;
	}
	if (method == LUN_ADDR_FLAT) {
		return (int)level1;
	}
	return -1;
}

uint64_t scsi_lun_encode(uint16_t id)
{
	/* SAM-5 4.7.3: LUNs below 256 in peripheral form, others flat. */
	uint64_t method = id <= LUN_PERIPHERAL_MAX ? LUN_ADDR_PERIPHERAL : LUN_ADDR_FLAT;

	return method << LUN_ADDR_METHOD_SHIFT | (uint64_t)id << LUN_LEVEL1_SHIFT;
}

/* ---- unit attention records ---- */

static struct scsi_ua_rec *ua_find(struct scsi_lu *lu, const char *name)
{
	for (struct scsi_ua_rec *r = lu->ua; r; r = r->next) {
		if (strcmp(r->name, name) == 0) {
			return r;
		}
	}
	return NULL;
}

static void ua_set(struct scsi_lu *lu, struct scsi_ua_rec *r, uint32_t pending)
{
	if (!r->pending && pending) {
		lu->ua_records_pending++;
	} else if (r->pending && !pending) {
		lu->ua_records_pending--;
	}
	r->pending = pending;
}

/* Find or create the record of @name; a new one starts with 29/00 pending. */
static struct scsi_ua_rec *ua_get(struct scsi_lu *lu, const char *name)
{
	struct scsi_ua_rec *r = ua_find(lu, name);
	size_t len;

	if (r) {
		return r;
	}
	len = strlen(name) + 1;
	r = calloc(1, sizeof(*r) + len);
	if (!r) {
		return NULL;
	}
	memcpy(r->name, name, len);
	r->next = lu->ua;
	lu->ua = r;
	ua_set(lu, r, 1u << SCSI_UA_POWER_ON);
	return r;
}

static uint32_t ua_add(uint32_t pending, enum scsi_ua ua)
{
	/* A reset supersedes the state changes it resets (SAM-5 5.14). */
	if ((1u << ua) & SCSI_UA_RESET_MASK) {
		pending &= SCSI_UA_RESET_MASK | (1u << SCSI_UA_LUNS_CHANGED);
	}
	return pending | 1u << ua;
}

void scsi_ua_raise(struct scsi_lu *lu, const struct scsi_nexus *except, enum scsi_ua ua)
{
	for (struct scsi_ua_rec *r = lu->ua; r; r = r->next) {
		if (except && strcmp(r->name, except->initiator_port) == 0) {
			continue;
		}
		ua_set(lu, r, ua_add(r->pending, ua));
	}
}

unsigned int scsi_ua_raise_match(struct scsi_lu *lu,
				 bool (*match)(const char *initiator_port, const void *ctx),
				 const void *ctx, enum scsi_ua ua)
{
	unsigned int n = 0;

	for (struct scsi_ua_rec *r = lu->ua; r; r = r->next) {
		if (match(r->name, ctx)) {
			ua_set(lu, r, ua_add(r->pending, ua));
			n++;
		}
	}
	return n;
}

int scsi_ua_raise_name(struct scsi_lu *lu, const char *initiator_port, enum scsi_ua ua)
{
	struct scsi_ua_rec *r = ua_get(lu, initiator_port);

	if (!r) {
		return -ENOMEM;
	}
	ua_set(lu, r, ua_add(r->pending, ua));
	return 0;
}

int scsi_ua_take(struct scsi_lu *lu, const struct scsi_nexus *nexus, bool clear)
{
	struct scsi_ua_rec *r;
	int ua;

	if (!lu->ua_records_pending || !nexus) {
		return -1;
	}
	r = ua_find(lu, nexus->initiator_port);
	if (!r || !r->pending) {
		return -1;
	}
	ua = __builtin_ctz(r->pending);
	if (clear) {
		ua_set(lu, r, r->pending & ~(1u << ua));
	}
	return ua;
}

void scsi_ua_clear(struct scsi_lu *lu, const struct scsi_nexus *nexus, enum scsi_ua ua)
{
	struct scsi_ua_rec *r;

	if (!lu->ua_records_pending || !nexus) {
		return;
	}
	r = ua_find(lu, nexus->initiator_port);
	if (r) {
		ua_set(lu, r, r->pending & ~(1u << ua));
	}
}

static void ua_free_all(struct scsi_lu *lu)
{
	while (lu->ua) {
		struct scsi_ua_rec *r = lu->ua;

		lu->ua = r->next;
		free(r);
	}
	lu->ua_records_pending = 0;
}

/* ---- target ---- */

int scsi_target_create(qb_loop_t *loop, const char *name, const struct scsi_port_info *port,
		       struct scsi_target **out)
{
	struct scsi_target *t;
	int rc;

	if (!name || !port || !out) {
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		return -ENOMEM;
	}
	t->loop = loop;
	t->refs = 1;	/* the creator's, dropped by scsi_target_destroy() */
	t->port = *port;
	t->port.alua = NULL;	/* borrowed through t->alua only */
	t->name = strdup(name);
	t->lu_index = calloc(SCSI_LUN_MAX, sizeof(*t->lu_index));
	t->resp = malloc(SCSI_RESP_MAX);
	rc = !t->name || !t->lu_index || !t->resp ? -ENOMEM : scsi_alua_attach(t, port->alua);
	if (rc < 0) {
		free(t->name);
		free(t->lu_index);
		free(t->resp);
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

static void lu_free(struct scsi_lu *lu)
{
	while (lu->io_free) {
		struct scsi_io_ctx *io = lu->io_free;

		lu->io_free = io->next_free;
		free(io->scratch);
		free(io);
	}
	ua_free_all(lu);
	scsi_pr_lu_fini(lu);
	if (lu->store) {
		backing_close(lu->store);
	}
	if (lu->store_retired) {
		backing_close(lu->store_retired);
	}
	free(lu->path);
	free(lu->backing_kind);
	free(lu);
}

static bool target_busy(const struct scsi_target *target)
{
	for (unsigned int i = 0; i < target->lu_end; i++) {
		if (target->lu_index[i] && target->lu_index[i]->inflight) {
			return true;
		}
	}
	return false;
}

/*
 * Drop one reference. The last one frees the target with its LUs (closing
 * their backing stores), unless a LU still has a task in flight: then the
 * scsi_task_finish() of the last such task drops the count to 0 again and
 * frees it. Every nexus holds a reference, so none is left here.
 */
static void target_put(struct scsi_target *target)
{
	if (--target->refs || target_busy(target)) {
		return;
	}
	for (unsigned int i = 0; i < target->lu_end; i++) {
		if (target->lu_index[i]) {
			lu_free(target->lu_index[i]);
		}
	}
	free(target->lu_index);
	free(target->resp);
	free(target->name);
	free(target);
}

void scsi_target_destroy(struct scsi_target *target)
{
	if (!target) {
		return;
	}
	/*
	 * The owner frees what it lent us (PR state, its propose hook, the
	 * ALUA table) right after this call, while sessions may still drain
	 * on the target: go back to the LUs' private state, apply nexus-loss
	 * events locally, and keep the own port group's last state.
	 */
	scsi_target_set_pr_hooks(target, NULL);
	for (unsigned int i = 0; i < target->lu_end; i++) {
		if (target->lu_index[i]) {
			scsi_lu_pr_attach(target, (uint16_t)i, NULL);
		}
	}
	scsi_alua_detach(target);
	target_put(target);
}

const char *scsi_target_name(const struct scsi_target *target)
{
	return target->name;
}

unsigned int scsi_target_lu_count(const struct scsi_target *target)
{
	return target->lu_count;
}

bool scsi_lun_exists(const struct scsi_target *target, uint64_t lun)
{
	int id = scsi_lun_decode(lun);

	return id >= 0 && id < SCSI_LUN_MAX && target->lu_index[id];
}

/* REPORTED LUNS DATA HAS CHANGED to every nexus on every other LU (SPC-4 6.33). */
static void target_luns_changed(struct scsi_target *target, uint16_t changed)
{
	for (unsigned int i = 0; i < target->lu_end; i++) {
		if (i != changed && target->lu_index[i]) {
			scsi_ua_raise(target->lu_index[i], NULL, SCSI_UA_LUNS_CHANGED);
		}
	}
}

/* Open the backing store from the LU's configuration and take its geometry. */
static int lu_store_open(struct scsi_lu *lu)
{
	struct backing_params bp = {
		.path = lu->path,
		.size_bytes = lu->cfg.size_bytes,
		.block_size = lu->cfg.block_size,
		.direct_io = lu->cfg.direct_io,
		.read_only = lu->cfg.read_only,
	};
	int rc = backing_open(lu->backing_kind, &bp, &lu->store);

	if (rc < 0) {
		lu->store = NULL;
		return rc;
	}
	lu->nblocks = backing_size(lu->store) / lu->block_size;
	lu->thin = lu->cfg.thin && backing_can_discard(lu->store);
	lu->lbprz = lu->thin && backing_discard_zeroes(lu->store);
	return 0;
}

/*
 * An offline LU gives its backing store back when no task uses it any more;
 * so does a LU whose store was replaced (opened again read-write).
 */
static void lu_store_release(struct scsi_lu *lu)
{
	if (lu->inflight != 0) {
		return;
	}
	if (lu->store_retired) {
		backing_close(lu->store_retired);
		lu->store_retired = NULL;
	}
	if (lu->offline && lu->store) {
		backing_close(lu->store);
		lu->store = NULL;
	}
}

/*
 * A read-only LU becomes writable: a store opened read-only cannot write,
 * so open it again read-write and use the new one from now on; tasks in
 * flight finish on the old one, which is closed after them. On failure the
 * LU stays read-only.
 */
static int lu_store_reopen_rw(struct scsi_lu *lu)
{
	struct backing *old = lu->store;
	int rc;

	if (!old || !backing_read_only(old)) {
		return 0;
	}
	if (lu->store_retired) {
		return -EBUSY;	/* the previous one is still draining */
	}
	lu->store = NULL;
	rc = lu_store_open(lu);
	if (rc < 0) {
		lu->store = old;
		return rc;
	}
	lu->store_retired = old;
	lu_store_release(lu);
	return 0;
}

int scsi_lu_set_offline(struct scsi_target *target, uint16_t lun_id, bool offline)
{
	struct scsi_lu *lu = lun_id < SCSI_LUN_MAX ? target->lu_index[lun_id] : NULL;
	int rc;

	if (!lu) {
		return -ENOENT;
	}
	if (offline) {
		lu->offline = true;
		lu_store_release(lu);
		return 0;
	}
	/* Still draining since the offline: keep the store that is open. */
	if (!lu->store) {
		rc = lu_store_open(lu);
		if (rc < 0) {
			return rc;
		}
	}
	lu->offline = false;
	return 0;
}

int scsi_lu_update(struct scsi_target *target, uint16_t lun_id, const struct scsi_lu_config *cfg)
{
	struct scsi_lu *lu = lun_id < SCSI_LUN_MAX ? target->lu_index[lun_id] : NULL;
	int rc;

	if (!lu) {
		return -ENOENT;
	}
	if (cfg->read_only != lu->cfg.read_only || cfg->write_cache != lu->cfg.write_cache) {
		if (!cfg->read_only) {
			lu->cfg.read_only = false;
			rc = lu_store_reopen_rw(lu);
			if (rc < 0) {
				lu->cfg.read_only = true;
				return rc;
			}
		}
		lu->cfg.read_only = cfg->read_only;
		lu->cfg.write_cache = cfg->write_cache;
		/* The administrator's setting replaces what MODE SELECT chose. */
		lu->mode.wce = cfg->write_cache;
		/* WP (mode parameter header) or WCE (caching page) changed. */
		scsi_ua_raise(lu, NULL, SCSI_UA_MODE_CHANGED);
	}
	if (cfg->size_bytes != lu->cfg.size_bytes) {
		if (lu->store) {
			rc = backing_resize(lu->store, cfg->size_bytes);
			if (rc < 0) {
				return rc;
			}
			lu->nblocks = backing_size(lu->store) / lu->block_size;
		}
		lu->cfg.size_bytes = cfg->size_bytes;
		/* Every I_T nexus learns of the new capacity (SBC-3, READ CAPACITY). */
		scsi_ua_raise(lu, NULL, SCSI_UA_CAPACITY_CHANGED);
	}
	return 0;
}

int scsi_target_add_lu(struct scsi_target *target, uint16_t lun_id, const struct scsi_lu_config *cfg)
{
	struct scsi_lu *lu;
	int rc;

	if (lun_id >= SCSI_LUN_MAX || !cfg || !cfg->backing) {
		return -EINVAL;
	}
	if (cfg->block_size != 512 && cfg->block_size != 4096) {
		return -EINVAL;
	}
	if (target->lu_index[lun_id]) {
		return -EEXIST;
	}
	lu = calloc(1, sizeof(*lu));
	if (!lu) {
		return -ENOMEM;
	}
	lu->target = target;
	lu->id = lun_id;
	scsi_pr_lu_init(lu);
	lu->cfg = *cfg;
	lu->backing_kind = strdup(cfg->backing);
	lu->path = cfg->path ? strdup(cfg->path) : NULL;
	if (!lu->backing_kind || (cfg->path && !lu->path)) {
		lu_free(lu);
		return -ENOMEM;
	}
	lu->cfg.backing = lu->backing_kind;
	lu->cfg.path = lu->path;
	lu->block_size = cfg->block_size;
	lu->offline = cfg->offline;
	if (!lu->offline) {
		rc = lu_store_open(lu);
		if (rc < 0) {
			lu_free(lu);
			return rc;
		}
	}
	lu->mode.wce = cfg->write_cache;
	/* Every live nexus meets the new LU with 29/00 (ua_get creates it so). */
	for (struct scsi_nexus *n = target->nexuses; n; n = n->next) {
		if (!ua_get(lu, n->initiator_port)) {
			lu_free(lu);
			return -ENOMEM;
		}
	}
	target->lu_index[lun_id] = lu;
	target->lu_count++;
	if (lun_id >= target->lu_end) {
		target->lu_end = lun_id + 1u;
	}
	target_luns_changed(target, lun_id);
	return 0;
}

int scsi_target_remove_lu(struct scsi_target *target, uint16_t lun_id)
{
	struct scsi_lu *lu;

	if (lun_id >= SCSI_LUN_MAX || !target->lu_index[lun_id]) {
		return -ENOENT;
	}
	lu = target->lu_index[lun_id];
	if (lu->inflight) {
		return -EBUSY;
	}
	target->lu_index[lun_id] = NULL;
	target->lu_count--;
	while (target->lu_end > 0 && !target->lu_index[target->lu_end - 1]) {
		target->lu_end--;
	}
	lu_free(lu);
	target_luns_changed(target, lun_id);
	return 0;
}

/* ---- nexus ---- */

int scsi_nexus_create(struct scsi_target *target, const char *initiator_port, const char *target_port,
		      struct scsi_nexus **out)
{
	struct scsi_nexus *n;

	if (!initiator_port || !target_port || !out) {
		return -EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		return -ENOMEM;
	}
	n->target = target;
	n->initiator_port = strdup(initiator_port);
	n->target_port = strdup(target_port);
	if (!n->initiator_port || !n->target_port ||
	    scsi_pr_nexus_init(n, target->port.rel_port_id) < 0) {
		goto nomem;
	}
	for (unsigned int i = 0; i < target->lu_end; i++) {
		if (target->lu_index[i] && !ua_get(target->lu_index[i], initiator_port)) {
			goto nomem;
		}
	}
	n->next = target->nexuses;
	target->nexuses = n;
	target->refs++;	/* dropped by scsi_nexus_destroy() */
	*out = n;
	return 0;
nomem:
	free(n->initiator_port);
	free(n->target_port);
	free(n);
	return -ENOMEM;
}

static bool nexus_name_live(const struct scsi_target *target, const char *name)
{
	for (const struct scsi_nexus *n = target->nexuses; n; n = n->next) {
		if (strcmp(n->initiator_port, name) == 0) {
			return true;
		}
	}
	return false;
}

/* A record of a nexus gone without logout, kept only to report 29/07 (see scsi_nexus_lost()). */
static bool ua_lost_only(const struct scsi_ua_rec *r)
{
	return (r->pending & (1u << SCSI_UA_NEXUS_LOSS)) && !(r->pending & ~SCSI_UA_RESET_MASK);
}

/*
 * Keep @r, whose nexus is going away, for its 29/07? Only while fewer than
 * SCSI_UA_LOST_KEEP records of names with no live nexus are kept for that
 * alone: initiators that never come back with the same ISID must not grow
 * the list without bound. Beyond it a returning initiator gets 29/00,
 * which also tells it that its state was reset.
 */
static bool ua_keep_lost(const struct scsi_target *target, const struct scsi_lu *lu,
			 const struct scsi_ua_rec *r)
{
	unsigned int kept = 0;

	if (!ua_lost_only(r)) {
		return false;
	}
	for (const struct scsi_ua_rec *o = lu->ua; o; o = o->next) {
		if (o != r && ua_lost_only(o) && !nexus_name_live(target, o->name)) {
			kept++;
		}
	}
	return kept < SCSI_UA_LOST_KEEP;
}

void scsi_nexus_lost(struct scsi_nexus *nexus)
{
	struct scsi_target *target = nexus->target;

	for (unsigned int i = 0; i < target->lu_end; i++) {
		struct scsi_lu *lu = target->lu_index[i];
		struct scsi_ua_rec *r;

		if (!lu) {
			continue;
		}
		r = ua_find(lu, nexus->initiator_port);
		/* A reset-class UA still pending already tells the initiator as much. */
		if (r && !(r->pending & SCSI_UA_RESET_MASK)) {
			ua_set(lu, r, r->pending | 1u << SCSI_UA_NEXUS_LOSS);
		}
	}
}

void scsi_nexus_destroy(struct scsi_nexus *nexus)
{
	struct scsi_target *target;
	struct scsi_nexus **pp;

	if (!nexus) {
		return;
	}
	target = nexus->target;
	for (pp = &target->nexuses; *pp; pp = &(*pp)->next) {
		if (*pp == nexus) {
			*pp = nexus->next;
			break;
		}
	}
	/* Drop records that carry nothing a new nexus would not get anyway. */
	if (!nexus_name_live(target, nexus->initiator_port)) {
		scsi_pr_nexus_lost(target, nexus);
		for (unsigned int i = 0; i < target->lu_end; i++) {
			struct scsi_lu *lu = target->lu_index[i];
			struct scsi_ua_rec **rp;

			if (!lu) {
				continue;
			}
			for (rp = &lu->ua; *rp; rp = &(*rp)->next) {
				struct scsi_ua_rec *r = *rp;

				if (strcmp(r->name, nexus->initiator_port) != 0) {
					continue;
				}
				if (!(r->pending & ~SCSI_UA_RESET_MASK) && !ua_keep_lost(target, lu, r)) {
					ua_set(lu, r, 0);
					*rp = r->next;
					free(r);
				}
				break;
			}
		}
	}
	free(nexus->initiator_port);
	free(nexus->target_port);
	free(nexus);
	target_put(target);
}

/* ---- task management effects ---- */

int scsi_lu_reset(struct scsi_target *target, uint64_t lun, struct scsi_nexus *by,
		  const struct scsi_reset_waiter *w)
{
	int id = scsi_lun_decode(lun);
	struct scsi_lu *lu;

	(void)by;
	if (id < 0 || id >= SCSI_LUN_MAX || !target->lu_index[id]) {
		return -ENOENT;
	}
	lu = target->lu_index[id];
	/* SAM-5 7.7: the reset reaches every I_T nexus, the requester's included. */
	scsi_ua_raise(lu, NULL, SCSI_UA_BDR);
	lu->prevent = false;
	scsi_pr_lu_reset(lu, w);
	return 0;
}

int scsi_lu_reset_apply(struct scsi_target *target, uint16_t lun_id)
{
	struct scsi_lu *lu;

	if (lun_id >= SCSI_LUN_MAX || !target->lu_index[lun_id]) {
		return -ENOENT;
	}
	lu = target->lu_index[lun_id];
	scsi_ua_raise(lu, NULL, SCSI_UA_BDR);
	lu->prevent = false;
	return 0;
}

void scsi_target_reset(struct scsi_target *target, bool cold, struct scsi_nexus *by,
		       const struct scsi_reset_waiter *w)
{
	(void)by;
	for (unsigned int i = 0; i < target->lu_end; i++) {
		struct scsi_lu *lu = target->lu_index[i];

		if (lu) {
			scsi_ua_raise(lu, NULL, cold ? SCSI_UA_POWER_ON_OCCURRED : SCSI_UA_BUS_RESET);
			lu->prevent = false;
			scsi_pr_lu_reset(lu, w);
		}
	}
}

void scsi_tasks_cleared(struct scsi_target *target, uint64_t lun, struct scsi_nexus *by)
{
	int id = scsi_lun_decode(lun);

	/* Control mode page TAS is 0: other nexuses learn through 2F/00 (SAM-5 7.2). */
	if (id >= 0 && id < SCSI_LUN_MAX && target->lu_index[id]) {
		scsi_ua_raise(target->lu_index[id], by, SCSI_UA_COMMANDS_CLEARED);
	}
}

/* ---- finishing tasks ---- */

bool scsi_task_d_sense(const struct scsi_task *task)
{
	return task->priv.lu && task->priv.lu->mode.d_sense;
}

static int task_sense(struct scsi_task *task, const struct scsi_sense_info *si)
{
	task->status = SCSI_STATUS_CHECK_CONDITION;
	task->sense_len = (uint8_t)scsi_sense_build(task->sense, sizeof(task->sense),
						    scsi_task_d_sense(task), si);
	/* No data goes with a CHECK CONDITION we raise before transferring any. */
	task->data_in_len = 0;
	return SCSI_EXEC_DONE;
}

int scsi_task_sense(struct scsi_task *task, uint8_t key, uint16_t asc_ascq)
{
	struct scsi_sense_info si = { .key = key, .asc_ascq = asc_ascq };

	return task_sense(task, &si);
}

int scsi_task_sense_info(struct scsi_task *task, uint8_t key, uint16_t asc_ascq, uint64_t info)
{
	struct scsi_sense_info si = {
		.key = key, .asc_ascq = asc_ascq, .info_valid = true, .info = info,
	};

	return task_sense(task, &si);
}

int scsi_task_invalid_field(struct scsi_task *task, bool in_cdb, unsigned int byte, int bit)
{
	struct scsi_sense_info si = {
		.key = SENSE_KEY_ILLEGAL_REQUEST,
		.asc_ascq = in_cdb ? ASC_INVALID_FIELD_IN_CDB : ASC_INVALID_FIELD_IN_PARAMETER_LIST,
	};

	scsi_sense_field_pointer(&si, in_cdb, byte, bit);
	return task_sense(task, &si);
}

int scsi_task_data_in(struct scsi_task *task, const void *data, uint32_t len, uint32_t alloc_len)
{
	uint32_t n = len < alloc_len ? len : alloc_len;

	task->xfer_len = n;
	if (n > task->buf_cap) {
		n = task->buf_cap;
	}
	if (n && task->buf) {
		memcpy(task->buf, data, n);
	} else {
		n = 0;
	}
	task->data_in_len = n;
	task->status = SCSI_STATUS_GOOD;
	return SCSI_EXEC_DONE;
}

/*
 * Every task passes here once, right before done(): count it in its LU's
 * statistics (a task on no LU counts only in the transport's session) and
 * hand the transport its kind and latency for the session's.
 */
static void task_stats(struct scsi_task *task)
{
	struct scsi_lu *lu = task->priv.lu;
	int sense_key = -1;
	uint64_t bytes;
	uint16_t asc;
	uint8_t key;

	task->latency_ns = io_stats_now_ns() - task->priv.start_ns;
	if (!lu) {
		return;
	}
	if (task->status == SCSI_STATUS_CHECK_CONDITION &&
	    scsi_sense_parse(task->sense, task->sense_len, &key, &asc) == 0) {
		sense_key = key;
	}
	/* What the transport sends or received (the data buffer contract in scsi.h). */
	if (task->stats_kind != IO_STATS_READ) {
		bytes = task->data_out_len;
	} else if (!task->data_in) {
		bytes = 0;
	} else {
		bytes = task->data_in_len < task->expected_len ? task->data_in_len
							       : task->expected_len;
	}
	io_stats_record(&lu->stats, task->stats_kind, task->status, sense_key, bytes,
			task->latency_ns);
}

const struct io_stats *scsi_lu_stats(const struct scsi_target *target, uint16_t lun_id)
{
	return lun_id < SCSI_LUN_MAX && target->lu_index[lun_id] ? &target->lu_index[lun_id]->stats
								  : NULL;
}

void scsi_task_finish(struct scsi_task *task)
{
	struct scsi_target *target;

	task_stats(task);
	if (!task->priv.lu) {
		task->done(task);
		return;
	}
	/*
	 * done() may end the transport's session and so destroy the last
	 * nexus of a target already destroyed by its owner: our reference
	 * keeps it until done() returned, and its release frees the target
	 * when this was the last task in flight.
	 */
	target = task->priv.lu->target;
	task->priv.lu->inflight--;
	lu_store_release(task->priv.lu);
	target->refs++;
	task->done(task);
	target_put(target);
}

void scsi_lu_inflight_drop(struct scsi_lu *lu)
{
	struct scsi_target *target = lu->target;

	lu->inflight--;
	lu_store_release(lu);
	target->refs++;
	target_put(target);
}

bool scsi_resv_allows(const struct scsi_lu *lu, const struct scsi_nexus *nexus,
		      const struct scsi_cmd_desc *desc)
{
	/* enum scsi_resv_class is enum pr_class: the table's column passes through. */
	return pr_check_access(lu->pr, &nexus->pr_id, (enum pr_class)desc->resv);
}

/* ---- dispatch ---- */

static int task_dispatch(struct scsi_task *task)
{
	struct scsi_target *target = task->nexus ? task->nexus->target : NULL;
	const struct scsi_cmd_desc *desc;
	struct scsi_lu *lu = NULL;
	int id, byte, bit, ua;

	if (!target || task->cdb_len == 0) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
				       ASC_INVALID_COMMAND_OPERATION_CODE);
	}
	id = scsi_lun_decode(task->lun);
	if (id >= 0 && id < SCSI_LUN_MAX) {
		lu = target->lu_index[id];
	}
	task->priv.lu = lu;
	desc = scsi_cmd_lookup(task->cdb);
	task->stats_kind = (uint8_t)scsi_cmd_stats_kind(desc);

	/* SPC-4 4.6.4: an absent LU answers only INQUIRY, REPORT LUNS and REQUEST SENSE. */
	if (!lu && !(desc && desc->handler && (desc->flags & SCSI_CMD_F_NO_LU))) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST, ASC_LUN_NOT_SUPPORTED);
	}
	/* SAM-5 5.14: a pending UA answers any command not explicitly exempt. */
	if (lu && !(desc && desc->handler && (desc->flags & SCSI_CMD_F_UA_OK))) {
		ua = scsi_ua_take(lu, task->nexus, true);
		if (ua >= 0) {
			return scsi_task_sense(task, SENSE_KEY_UNIT_ATTENTION,
					       scsi_ua_asc((enum scsi_ua)ua));
		}
	}
	/* SPC-4 4.2.5.x: an unknown service action of a known opcode is a bad CDB field. */
	if (!desc && scsi_cmd_opcode_has_sa(task->cdb[0])) {
		return scsi_task_invalid_field(task, true, 1, SA_FIELD_HIGH_BIT);
	}
	/* Not offered on this LU (scsi_cmd_offered): as if the opcode were unknown. */
	if (!scsi_cmd_offered(lu, desc) || desc->cdb_len > task->cdb_len) {
		return scsi_task_sense(task, SENSE_KEY_ILLEGAL_REQUEST,
				       ASC_INVALID_COMMAND_OPERATION_CODE);
	}
	byte = scsi_cmd_check_reserved(desc, task->cdb, &bit);
	if (byte >= 0) {
		return scsi_task_invalid_field(task, true, (unsigned int)byte, bit);
	}
	/*
	 * SPC-4 5.15.2.4.5: an Unavailable port answers only the basic
	 * commands; so does one past its lease (the clock read is the one
	 * scsi_task_submit() took for the statistics).
	 */
	if (!scsi_alua_serves(target->alua, task->priv.start_ns) &&
	    !(desc->flags & SCSI_CMD_F_ALUA_OK)) {
		return scsi_task_sense(task, SENSE_KEY_NOT_READY,
				       ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	}
	/* The same basic commands answer while the LU is offline (scsi_lu_set_offline). */
	if (lu && lu->offline && !(desc->flags & SCSI_CMD_F_ALUA_OK)) {
		return scsi_task_sense(task, SENSE_KEY_NOT_READY, ASC_LUN_NOT_READY_OFFLINE);
	}
	if (lu && !scsi_resv_allows(lu, task->nexus, desc)) {
		task->status = SCSI_STATUS_RESERVATION_CONFLICT;
		return SCSI_EXEC_DONE;
	}
	if (lu && (desc->flags & SCSI_CMD_F_WRITE) && (lu->cfg.read_only || lu->mode.swp)) {
		return scsi_task_sense(task, SENSE_KEY_DATA_PROTECT, ASC_WRITE_PROTECTED);
	}
	return desc->handler(task, desc);
}

void scsi_task_submit(struct scsi_task *task)
{
	task->status = SCSI_STATUS_GOOD;
	task->sense_len = 0;
	task->xfer_len = 0;
	task->data_in_len = 0;
	task->priv.lu = NULL;
	task->priv.start_ns = io_stats_now_ns();
	task->stats_kind = IO_STATS_OTHER;
	if (task_dispatch(task) == SCSI_EXEC_ASYNC) {
		return;
	}
	/* Synchronous answers never counted in lu->inflight (see sbc_go()). */
	task_stats(task);
	task->done(task);
}
