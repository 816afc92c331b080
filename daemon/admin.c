/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Admin requests from quoratectl (protocol in daemon/ipc/ctl_proto.h).
 *
 * Reads answer at once from the model. Changes become mutations: the handler
 * does the node-local preparation (creating a sparse backing file, sizing it,
 * generating a new LUN's identity) and proposes; the reply is sent only when
 * apply() has validated and committed the mutation (DESIGN §1), from the
 * pending request's done() callback.
 *
 * A new LUN's identity and backing file are prepared here, on the proposer,
 * so apply stays deterministic (daemon/lun_file.c, shared with --demo).
 *
 * Secrets: CHAP secrets arrive in the request JSON, go into the mutation
 * and never into a log line or a reply. A short secret falls to an offline
 * dictionary attack on a sniffed exchange (RFC 7143 §12.1.3) and Windows'
 * initiator takes 12 to 16 bytes only, so a secret shorter than
 * CHAP_SECRET_MIN is refused unless "force" is given.
 *
 * lun.create is all or nothing: every check the apply step or the backing
 * store would make later (target, free LUN number, path rules, size, and
 * opening the file as the LUN will) runs before the mutation is proposed,
 * and a backing file this command created is removed again if the
 * mutation is refused. Path rules, on the canonical path (symlinks
 * resolved): nothing inside the data directory (the database, its -wal and
 * -shm files and whatever else the daemon keeps there; the demo LUN's file
 * is created by the daemon itself, not through here) or in a system tree
 * (/etc, /usr, ...); no file or block device that already backs a LUN,
 * compared by st_dev/st_ino (st_rdev for devices) so links and other names
 * are caught; only regular files and block devices, and no block device
 * this host uses (mounted, LVM/RAID member: an exclusive open fails); and
 * an existing file is never extended unless "grow" is given.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include <config.h>		/* autoconf (not daemon/config.h): PACKAGE_VERSION */
#include "daemon/admin_config.h"
#include "daemon/admin_portal.h"
#include "daemon/base/domain.h"
#include "daemon/daemon.h"
#include "daemon/ipc/ctl_proto.h"
#include "daemon/ipc/ipc_server.h"
#include "daemon/iscsi/iscsi.h"
#include "daemon/iscsi/name.h"
#include "daemon/base/log.h"
#include "daemon/lun_file.h"
#include "daemon/metrics.h"
#include "quorum/cluster.h"

#define ADMIN_ERR_MAX 256
#define CHAP_SECRET_MIN 12			/* Windows' minimum, and ours */
#define CHAP_SECRET_WINDOWS_MAX 16		/* Windows' initiator refuses longer ones */
#define SNAPSHOT_FILE_MODE 0600		/* a snapshot holds CHAP secrets */

/* ---- formatting ---------------------------------------------------------- */

void admin_hex_format(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	}
}

/* ---- argument helpers ------------------------------------------------------ */

/* Copy string arg @key into @out; -ENOENT if absent and !required, -EINVAL on error. */
static int arg_str(struct json_object *args, const char *key, bool required, char *out,
		   size_t cap, char *err)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(args, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required) {
			snprintf(err, ADMIN_ERR_MAX, "missing argument '%s'", key);
			return -EINVAL;
		}
		return -ENOENT;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, ADMIN_ERR_MAX, "argument '%s' must be a string", key);
		return -EINVAL;
	}
	s = json_object_get_string(v);
	if (strlen(s) >= cap) {
		snprintf(err, ADMIN_ERR_MAX, "argument '%s' is too long (max %zu)", key, cap - 1);
		return -EINVAL;
	}
	snprintf(out, cap, "%s", s);
	return 0;
}

static int arg_u64(struct json_object *args, const char *key, bool required, uint64_t max,
		   uint64_t *out, char *err)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(args, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required) {
			snprintf(err, ADMIN_ERR_MAX, "missing argument '%s'", key);
			return -EINVAL;
		}
		return -ENOENT;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, ADMIN_ERR_MAX, "argument '%s' must be an integer", key);
		return -EINVAL;
	}
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n > max) {
		snprintf(err, ADMIN_ERR_MAX, "argument '%s' out of range 0..%" PRIu64, key, max);
		return -EINVAL;
	}
	*out = (uint64_t)n;
	return 0;
}

static bool arg_bool(struct json_object *args, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(args, key, &v) && json_object_get_boolean(v);
}

/* lun.create's "direct": true, false, or absent (the node's default). */
static enum lun_direct_request arg_direct(struct json_object *args)
{
	struct json_object *v;

	if (!json_object_object_get_ex(args, "direct", &v) || json_object_is_type(v, json_type_null)) {
		return LUN_DIRECT_DEFAULT;
	}
	return json_object_get_boolean(v) ? LUN_DIRECT_ON : LUN_DIRECT_OFF;
}

/* Boolean arg @key, or @dflt when it is absent. */
static bool arg_bool_or(struct json_object *args, const char *key, bool dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(args, key, &v) || json_object_is_type(v, json_type_null)) {
		return dflt;
	}
	return json_object_get_boolean(v);
}

/* ---- completion of proposed mutations ------------------------------------- */

/*
 * Every configuration change is logged at info with the uid that asked:
 * admin_propose_with() describes the mutation (never a secret) under this
 * key of the pending result, and admin_done() takes it out and logs the
 * outcome, so the reply does not carry it.
 */
#define ADMIN_CHANGE_KEY "_change"

static void admin_change_describe(const struct mutation *m, char *out, size_t cap)
{
	const char *kind = mutation_kind_name(m->kind);

	switch (m->kind) {
	case MUTATION_TARGET_ADD:
	case MUTATION_TARGET_DEL:
		snprintf(out, cap, "%s '%s'", kind, m->u.target.name);
		break;
	case MUTATION_TARGET_SET:
		snprintf(out, cap, "%s '%s' alias '%s'", kind, m->u.target.name, m->u.target.alias);
		break;
	case MUTATION_ACL_ADD:
	case MUTATION_ACL_DEL:
		snprintf(out, cap, "%s '%s' initiator '%s'", kind, m->u.acl.target,
			 m->u.acl.initiator);
		break;
	case MUTATION_CHAP_SET:
	case MUTATION_CHAP_CLEAR:
		if (m->u.chap.target[0] == '\0') {
			snprintf(out, cap, "%s (discovery sessions)", kind);
		} else {
			snprintf(out, cap, "%s '%s'", kind, m->u.chap.target);
		}
		break;
	case MUTATION_PR_CLEAR:
	case MUTATION_RESERVATION:
	case MUTATION_LU_RESET:
		snprintf(out, cap, "%s '%s' LUN %u", kind, m->u.lu.target, m->u.lu.lun);
		break;
	case MUTATION_LUN_SET:
		snprintf(out, cap, "%s '%s' LUN %u:%s%s%s%s%s%s", kind, m->u.lun.target,
			 m->u.lun.lun, (m->set_fields & MUTATION_SET_ALIAS) ? " alias '" : "",
			 (m->set_fields & MUTATION_SET_ALIAS) ? m->u.lun.alias : "",
			 (m->set_fields & MUTATION_SET_ALIAS) ? "'" : "",
			 !(m->set_fields & MUTATION_SET_READ_ONLY) ? ""
			 : m->u.lun.read_only			   ? " read-only"
								   : " read-write",
			 !(m->set_fields & MUTATION_SET_WRITE_CACHE) ? "" : " write cache ",
			 !(m->set_fields & MUTATION_SET_WRITE_CACHE) ? ""
			 : m->u.lun.write_cache			     ? "on"
								     : "off");
		break;
	case MUTATION_LUN_RESIZE:
		snprintf(out, cap, "%s '%s' LUN %u to %" PRIu64 " bytes", kind, m->u.lun.target,
			 m->u.lun.lun, m->u.lun.size_bytes);
		break;
	case MUTATION_LUN_OFFLINE:
		snprintf(out, cap, "%s '%s' LUN %u", m->u.lun.offline ? "lun offline" : "lun online",
			 m->u.lun.target, m->u.lun.lun);
		break;
	case MUTATION_PORTAL:
		snprintf(out, cap, "portal %s node %u '%s'", m->u.portal.add ? "add" : "remove",
			 m->u.portal.rec.node, m->u.portal.rec.address);
		break;
	case MUTATION_LUN_ADD:
		snprintf(out, cap, "%s '%s' LUN %u (%s '%.200s', %" PRIu64 " bytes)", kind,
			 m->u.lun.target, m->u.lun.lun, m->u.lun.backing, m->u.lun.path,
			 m->u.lun.size_bytes);
		break;
	default:
		snprintf(out, cap, "%s '%s' LUN %u", kind, m->u.lun.target, m->u.lun.lun);
		break;
	}
}

/* Log the outcome of the change described in @result, and take the description out. */
static void admin_change_log(struct json_object *result, uint64_t seq, int rc, const char *err)
{
	struct json_object *c, *what, *uid;

	if (result == NULL || !json_object_object_get_ex(result, ADMIN_CHANGE_KEY, &c)) {
		return;
	}
	if (json_object_object_get_ex(c, "what", &what) &&
	    json_object_object_get_ex(c, "uid", &uid)) {
		if (rc == 0) {
			log_info("configuration change by uid %" PRId64 ": %s (seq %" PRIu64 ")",
				 json_object_get_int64(uid), json_object_get_string(what), seq);
		} else {
			log_info("configuration change by uid %" PRId64 " refused: %s: %s",
				 json_object_get_int64(uid), json_object_get_string(what),
				 err[0] != '\0' ? err : strerror(-rc));
		}
	}
	json_object_object_del(result, ADMIN_CHANGE_KEY);
}

/* The uid that sent @req, for logs: -1 once the client went away. */
static int64_t admin_uid(const struct ipc_request *req)
{
	uid_t uid = req != NULL ? ipc_request_uid(req) : (uid_t)-1;

	return uid == (uid_t)-1 ? -1 : (int64_t)uid;
}

static void admin_done(struct daemon *d, struct daemon_pending *p, int rc, const char *err)
{
	admin_change_done(d, p, rc, err);
}

void admin_change_done(struct daemon *d, struct daemon_pending *p, int rc, const char *err)
{
	(void)d;
	admin_change_log(p->result, p->seq, rc, err);
	if (p->req == NULL) {
		json_object_put(p->result);
		return;
	}
	if (rc < 0) {
		json_object_put(p->result);
		ipc_request_reply_err(p->req, ctl_err_kind(rc), "%s",
				      err[0] != '\0' ? err : strerror(-rc));
		return;
	}
	if (p->result == NULL) {
		p->result = json_object_new_object();
	}
	json_object_object_add(p->result, "seq", json_object_new_int64((int64_t)p->seq));
	if (json_object_object_get_ex(p->result, "sessions_ended", NULL)) {
		/* An ACL change: how many sessions of this node it ended. */
		json_object_object_add(p->result, "sessions_ended",
				       json_object_new_int64((int64_t)d->sessions_ended));
	}
	ipc_request_reply_ok(p->req, p->result);
}

/* @return 0, or -errno after replying with the error (@result is freed). */
static int admin_propose_with(struct daemon *d, struct ipc_request *req,
			      struct mutation *op, struct json_object *result,
			      void (*done)(struct daemon *d, struct daemon_pending *p, int rc,
					   const char *err))
{
	struct json_object *change = json_object_new_object();
	char what[2 * STORE_NAME_MAX + 96];
	int rc;

	admin_change_describe(op, what, sizeof(what));
	json_object_object_add(change, "what", json_object_new_string(what));
	json_object_object_add(change, "uid", json_object_new_int64(admin_uid(req)));
	if (result == NULL) {
		result = json_object_new_object();
	}
	json_object_object_add(result, ADMIN_CHANGE_KEY, change);
	rc = daemon_propose(d, op, req, done, result);
	if (rc < 0) {
		log_info("configuration change by uid %" PRId64 " not proposed: %s: %s",
			 admin_uid(req), what, strerror(-rc));
		json_object_put(result);
		ipc_request_reply_err(req, ctl_err_kind(rc), "cannot propose the change: %s",
				      rc == -EAGAIN ? "node is not quorate" : strerror(-rc));
		return rc;
	}
	return 0;
}

int admin_propose_change(struct daemon *d, struct ipc_request *req, struct mutation *op,
			 struct json_object *result, admin_done_fn done)
{
	return admin_propose_with(d, req, op, result, done);
}

static void admin_propose(struct daemon *d, struct ipc_request *req, struct mutation *op,
			  struct json_object *result)
{
	admin_propose_with(d, req, op, result, admin_done);
}

/* ---- sessions -------------------------------------------------------------- */

struct session_count {
	const char *target;		/* NULL: all */
	unsigned int n;
};

static void session_count_fn(const struct iscsi_session_info *info, void *ctx)
{
	struct session_count *c = ctx;

	if (c->target == NULL || strcmp(info->target_name, c->target) == 0) {
		c->n++;
	}
}

static unsigned int sessions_of(struct daemon *d, const char *target)
{
	struct session_count c = { .target = target };

	iscsi_server_foreach_session(d->iscsi, session_count_fn, &c);
	return c.n;
}

struct session_list {
	struct json_object *arr;
	const char *target;		/* NULL: all */
	bool detail;			/* session.show: how it logged in, what it negotiated */
	int tsih;			/* >= 0: only this one */
	int64_t node_id;
};

static struct json_object *yes_no(bool v)
{
	return json_object_new_string(v ? "Yes" : "No");
}

/* What a session negotiated, under the RFC 7143 §13 key names. */
static struct json_object *session_keys_json(const struct iscsi_session_info *info)
{
	struct json_object *k = json_object_new_object(), *mrdsl = json_object_new_object();

	json_object_object_add(k, "HeaderDigest",
			       json_object_new_string(info->header_digest ? "CRC32C" : "None"));
	json_object_object_add(k, "DataDigest",
			       json_object_new_string(info->data_digest ? "CRC32C" : "None"));
	/* Declared by each side for what it receives. */
	json_object_object_add(mrdsl, "target", json_object_new_int64(info->max_recv_dsl));
	json_object_object_add(mrdsl, "initiator", json_object_new_int64(info->max_xmit_dsl));
	json_object_object_add(k, "MaxRecvDataSegmentLength", mrdsl);
	if (info->discovery) {
		return k;
	}
	json_object_object_add(k, "MaxBurstLength", json_object_new_int64(info->max_burst));
	json_object_object_add(k, "FirstBurstLength", json_object_new_int64(info->first_burst));
	json_object_object_add(k, "InitialR2T", yes_no(info->initial_r2t));
	json_object_object_add(k, "ImmediateData", yes_no(info->immediate_data));
	json_object_object_add(k, "MaxOutstandingR2T",
			       json_object_new_int64(info->max_outstanding_r2t));
	json_object_object_add(k, "MaxConnections", json_object_new_int64(info->max_connections));
	json_object_object_add(k, "DefaultTime2Wait",
			       json_object_new_int64(info->default_time2wait));
	json_object_object_add(k, "DefaultTime2Retain",
			       json_object_new_int64(info->default_time2retain));
	json_object_object_add(k, "ErrorRecoveryLevel",
			       json_object_new_int64(info->error_recovery_level));
	json_object_object_add(k, "DataPDUInOrder", yes_no(info->data_pdu_in_order));
	json_object_object_add(k, "DataSequenceInOrder", yes_no(info->data_sequence_in_order));
	return k;
}

static void session_list_fn(const struct iscsi_session_info *info, void *ctx)
{
	struct session_list *sl = ctx;
	struct json_object *arr = sl->arr, *o, *auth;
	char isid[2 * sizeof(info->isid) + 1];

	if ((sl->target != NULL && strcmp(info->target_name, sl->target) != 0) ||
	    (sl->tsih >= 0 && info->tsih != sl->tsih)) {
		return;
	}
	o = json_object_new_object();

	admin_hex_format(isid, info->isid, sizeof(info->isid));
	json_object_object_add(o, "initiator", json_object_new_string(info->initiator_name));
	json_object_object_add(o, "target", json_object_new_string(info->target_name));
	json_object_object_add(o, "isid", json_object_new_string(isid));
	json_object_object_add(o, "tsih", json_object_new_int(info->tsih));
	json_object_object_add(o, "connections", json_object_new_int(info->connections));
	json_object_object_add(o, "peer", json_object_new_string(info->peer ? info->peer : ""));
	json_object_object_add(o, "discovery", json_object_new_boolean(info->discovery));
	if (sl->detail) {
		json_object_object_add(o, "node_id", json_object_new_int64(sl->node_id));
		json_object_object_add(o, "portal", json_object_new_string(info->local));
		json_object_object_add(o, "login_time", json_object_new_int64(info->login_time));
		json_object_object_add(o, "initiator_alias",
				       json_object_new_string(info->initiator_alias));
		auth = json_object_new_object();
		json_object_object_add(auth, "method",
				       json_object_new_string(info->chap ? "CHAP" : "None"));
		json_object_object_add(auth, "user", info->chap ? json_object_new_string(
								       info->chap_user) : NULL);
		json_object_object_add(auth, "mutual", json_object_new_boolean(info->chap_mutual));
		json_object_object_add(o, "auth", auth);
		json_object_object_add(o, "keys", session_keys_json(info));
		json_object_object_add(o, "commands_active",
				       json_object_new_int64(info->tasks_active));
		json_object_object_add(o, "logout_requested",
				       json_object_new_boolean(info->logout_requested));
	}
	json_object_array_add(arr, o);
}

/* ---- command handlers ------------------------------------------------------ */

struct admin_ctx {
	struct daemon *d;
	struct ipc_request *req;
	struct json_object *args;
	char err[ADMIN_ERR_MAX];
	const char *kind;		/* CTL_ERR_* of err where not CTL_ERR_INVALID */
};

/*
 * iSCSI name arg @key in its canonical form (RFC 3722 maps names to lower
 * case: "EUI.02004567A425678D" is eui.02004567a425678d). What was mapped is
 * said in the reply's "notes" (*@result, created on demand). -EINVAL with
 * the reason in a->err for a name that is not an iSCSI name.
 */
static int arg_iscsi_name(struct admin_ctx *a, const char *key, char *out, size_t cap,
			  struct json_object **result)
{
	char given[STORE_NAME_MAX + 1], note[2 * STORE_NAME_MAX + 96];
	struct json_object *notes;
	const char *why;

	if (arg_str(a->args, key, true, given, sizeof(given), a->err) < 0) {
		return -EINVAL;
	}
	switch (iscsi_name_normalise(given, out, cap, &why)) {
	case ISCSI_NAME_CANONICAL:
		return 0;
	case ISCSI_NAME_NORMALISED:
		break;
	default:
		snprintf(a->err, ADMIN_ERR_MAX, "'%.*s' is not a valid iSCSI name: %s", 200, given,
			 why);
		return -EINVAL;
	}
	if (*result == NULL) {
		*result = json_object_new_object();
	}
	if (*result == NULL) {
		return 0;
	}
	if (!json_object_object_get_ex(*result, "notes", &notes)) {
		notes = json_object_new_array();
		json_object_object_add(*result, "notes", notes);
	}
	snprintf(note, sizeof(note), "iSCSI name '%s' normalised to '%s' (case-insensitive, RFC 3722)",
		 given, out);
	json_object_array_add(notes, json_object_new_string(note));
	return 0;
}

/* A target name used for a lookup: in canonical form when it is a valid
 * iSCSI name (an invalid one then simply names no target). */
static int arg_target_name(struct admin_ctx *a, bool required, char *out, size_t cap)
{
	char canon[STORE_NAME_MAX + 1];
	int rc = arg_str(a->args, "target", required, out, cap, a->err);

	if (rc == 0 && iscsi_name_normalise(out, canon, sizeof(canon), NULL) ==
			       ISCSI_NAME_NORMALISED) {
		snprintf(out, cap, "%s", canon);
	}
	return rc;
}

/* The node ids of this node's current membership, ascending (cluster_peers()). */
static struct json_object *members_json(struct daemon *d)
{
	struct json_object *arr = json_object_new_array();
	const struct cluster_peer *peers;
	size_t n = cluster_peers(d->cluster, &peers);

	for (size_t i = 0; i < n; i++) {
		if (peers[i].member) {
			json_object_array_add(arr, json_object_new_int64(peers[i].node_id));
		}
	}
	return arr;
}

/*
 * Corosync's timeouts and the leases and grace derived from them
 * (docs/ARCHITECTURE.md, "Serving and fencing": lease_base_ms unless reach
 * probes find the majority, lease_ms then); null standalone.
 */
static struct json_object *timing_json(const struct daemon *d)
{
	struct cluster_timing t;
	struct json_object *o;

	if (cluster_timing_get(d->cluster, &t) < 0) {
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "token_ms", json_object_new_int64(t.token_ms));
	json_object_object_add(o, "consensus_ms", json_object_new_int64(t.consensus_ms));
	json_object_object_add(o, "qdevice_timeout_ms", json_object_new_int64(t.qdevice_timeout_ms));
	json_object_object_add(o, "heartbeat_ms", json_object_new_int64(t.heartbeat_ms));
	json_object_object_add(o, "lease_base_ms", json_object_new_int64(t.lease_base_ms));
	json_object_object_add(o, "lease_ms", json_object_new_int64(t.lease_ms));
	json_object_object_add(o, "grace_ms", json_object_new_int64(t.grace_ms));
	return o;
}

static void cmd_status(struct admin_ctx *a)
{
	struct daemon *d = a->d;
	struct json_object *o = json_object_new_object();
	unsigned int ntargets = 0, nluns = 0, noffline = 0;
	uint8_t digest[STATE_DIGEST_LEN];
	char hex[2 * STATE_DIGEST_LEN + 1];

	for (const struct state_target *t = state_target_first(d->state); t != NULL;
	     t = state_target_next(t)) {
		ntargets++;
		for (const struct state_lun *l = state_lun_first(t); l != NULL;
		     l = state_lun_next(l)) {
			const char *why;

			nluns++;
			noffline += !daemon_lun_online(d, t->rec.name, l->rec.lun, &why);
		}
	}
	json_object_object_add(o, "node", json_object_new_string(d->cfg.node_name));
	json_object_object_add(o, "node_id", json_object_new_int64(d->cfg.node_id));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "uptime_s", json_object_new_int64(time(NULL) - d->started));
	json_object_object_add(o, "cluster",
			       json_object_new_string(cluster_transport_name(d->cluster)));
	json_object_object_add(o, "transport",
			       json_object_new_string(cluster_transport_name(d->cluster)));
	json_object_object_add(o, "quorate",
			       json_object_new_boolean(cluster_is_quorate(d->cluster)));
	/* The transport's serving signal: quorate, synced (and, with Corosync,
	 * a fresh lease); media access and PR OUT follow it. */
	json_object_object_add(o, "serving",
			       json_object_new_boolean(cluster_is_serving(d->cluster)));
	json_object_object_add(o, "members", members_json(d));
	json_object_object_add(o, "timing", timing_json(d));
	json_object_object_add(o, "epoch", json_object_new_int64((int64_t)state_epoch(d->state)));
	json_object_object_add(o, "applied_seq",
			       json_object_new_int64((int64_t)state_applied_seq(d->state)));
	if (state_digest(d->state, digest) == 0) {
		admin_hex_format(hex, digest, sizeof(digest));
		json_object_object_add(o, "digest", json_object_new_string(hex));
	}
	json_object_object_add(o, "targets", json_object_new_int(ntargets));
	json_object_object_add(o, "luns", json_object_new_int(nluns));
	json_object_object_add(o, "luns_offline", json_object_new_int(noffline));
	json_object_object_add(o, "sessions", json_object_new_int(sessions_of(d, NULL)));
	/* null unless [metrics] listen serves the Prometheus endpoint. */
	json_object_object_add(o, "metrics_url",
			       d->metrics != NULL
				       ? json_object_new_string(metrics_server_url(d->metrics))
				       : NULL);
	ipc_request_reply_ok(a->req, o);
}

static void cmd_target_create(struct admin_ctx *a)
{
	struct mutation op = { .kind = MUTATION_TARGET_ADD };
	struct json_object *res = NULL;

	if (arg_iscsi_name(a, "name", op.u.target.name, sizeof(op.u.target.name), &res) < 0 ||
	    arg_str(a->args, "alias", false, op.u.target.alias, sizeof(op.u.target.alias),
		    a->err) == -EINVAL) {
		json_object_put(res);
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	admin_propose(a->d, a->req, &op, res);
}

static void cmd_target_delete(struct admin_ctx *a)
{
	struct mutation op = { .kind = MUTATION_TARGET_DEL };
	struct json_object *res = NULL;
	unsigned int n;

	if (arg_iscsi_name(a, "name", op.u.target.name, sizeof(op.u.target.name), &res) < 0) {
		json_object_put(res);
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	/* Node-local safety check before proposing, so apply stays deterministic. */
	n = sessions_of(a->d, op.u.target.name);
	if (n > 0 && !arg_bool(a->args, "force")) {
		ipc_request_reply_err(a->req, CTL_ERR_REFUSED,
				      "target '%s' has %u session(s) on this node; "
				      "close them first or use --force",
				      op.u.target.name, n);
		json_object_put(res);
		return;
	}
	admin_propose(a->d, a->req, &op, res);
}

static void cmd_target_list(struct admin_ctx *a)
{
	struct json_object *arr = json_object_new_array();

	for (const struct state_target *t = state_target_first(a->d->state); t != NULL;
	     t = state_target_next(t)) {
		struct json_object *o = json_object_new_object();
		unsigned int nluns = state_lun_count(t), nacls = state_acl_count(t);

		json_object_object_add(o, "name", json_object_new_string(t->rec.name));
		json_object_object_add(o, "alias", json_object_new_string(t->rec.alias));
		json_object_object_add(o, "luns", json_object_new_int(nluns));
		json_object_object_add(o, "acls", json_object_new_int(nacls));
		json_object_object_add(o, "chap", json_object_new_boolean(
						state_chap_find(a->d->state, t->rec.name) != NULL));
		json_object_object_add(o, "running", json_object_new_boolean(
						       daemon_target_running(a->d, t->rec.name)));
		json_object_object_add(o, "sessions",
				       json_object_new_int(sessions_of(a->d, t->rec.name)));
		json_object_array_add(arr, o);
	}
	ipc_request_reply_ok(a->req, arr);
}

/* target.set: the alias logins declare (TargetAlias), through one mutation. */
static void cmd_target_set(struct admin_ctx *a)
{
	struct mutation op = { .kind = MUTATION_TARGET_SET };
	const struct state_target *t;
	struct json_object *res = NULL;
	int rc;

	if (arg_iscsi_name(a, "name", op.u.target.name, sizeof(op.u.target.name), &res) < 0) {
		json_object_put(res);
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	rc = arg_str(a->args, "alias", true, op.u.target.alias, sizeof(op.u.target.alias), a->err);
	t = rc == 0 ? state_target_find(a->d->state, op.u.target.name) : NULL;
	if (rc == 0 && t == NULL) {
		snprintf(a->err, sizeof(a->err), "no target '%s'", op.u.target.name);
		rc = -ENOENT;
	}
	if (rc < 0) {
		json_object_put(res);
		ipc_request_reply_err(a->req, ctl_err_kind(rc), "%s", a->err);
		return;
	}
	if (res == NULL) {
		res = json_object_new_object();
	}
	json_object_object_add(res, "name", json_object_new_string(op.u.target.name));
	json_object_object_add(res, "alias", json_object_new_string(op.u.target.alias));
	json_object_object_add(res, "changed", json_object_new_boolean(
						   strcmp(t->rec.alias, op.u.target.alias) != 0));
	if (strcmp(t->rec.alias, op.u.target.alias) == 0) {
		ipc_request_reply_ok(a->req, res);
		return;
	}
	admin_propose(a->d, a->req, &op, res);
}

static struct json_object *lun_json(struct daemon *d, const struct state_target *t,
				    const struct state_lun *l);

/*
 * target.show: everything a target carries (alias, LUNs, ACL, CHAP user),
 * and this node's side: whether it runs here and its sessions.
 */
static void cmd_target_show(struct admin_ctx *a)
{
	char name[STORE_NAME_MAX + 1];
	const struct state_target *t;
	const struct state_chap *c;
	struct json_object *o, *arr, *chap = NULL;
	struct session_list sl;

	if (arg_target_name(a, true, name, sizeof(name)) < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	t = state_target_find(a->d->state, name);
	if (t == NULL) {
		ipc_request_reply_err(a->req, CTL_ERR_NOT_FOUND, "no target '%s'", name);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(t->rec.name));
	json_object_object_add(o, "alias", json_object_new_string(t->rec.alias));
	json_object_object_add(o, "node_id", json_object_new_int64(a->d->cfg.node_id));
	json_object_object_add(o, "running",
			       json_object_new_boolean(daemon_target_running(a->d, t->rec.name)));
	arr = json_object_new_array();
	for (const struct state_lun *l = state_lun_first(t); l != NULL; l = state_lun_next(l)) {
		json_object_array_add(arr, lun_json(a->d, t, l));
	}
	json_object_object_add(o, "luns", arr);
	arr = json_object_new_array();
	for (const struct state_acl *e = state_acl_first(t); e != NULL; e = state_acl_next(e)) {
		json_object_array_add(arr, json_object_new_string(e->initiator));
	}
	json_object_object_add(o, "acl", arr);
	c = state_chap_find(a->d->state, t->rec.name);
	if (c != NULL) {
		/* Users only: secrets never leave the daemon here. */
		chap = json_object_new_object();
		json_object_object_add(chap, "user", json_object_new_string(c->rec.user));
		json_object_object_add(chap, "mutual_user",
				       json_object_new_string(c->rec.mutual_user));
	}
	json_object_object_add(o, "chap", chap);
	sl = (struct session_list){ .arr = json_object_new_array(), .target = t->rec.name,
				    .tsih = -1 };
	iscsi_server_foreach_session(a->d->iscsi, session_list_fn, &sl);
	json_object_object_add(o, "sessions", sl.arr);
	ipc_request_reply_ok(a->req, o);
}

/* Trees of the operating system's own files: never a LUN's backing store. */
static const char *const lun_system_trees[] = {
	"/etc", "/usr", "/boot", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/proc", "/sys",
};

/* Is canonical @path @tree itself or below it? */
static bool path_is_under(const char *path, const char *tree)
{
	size_t n = strlen(tree);

	if (n == 1 && tree[0] == '/') {
		return true;
	}
	return strncmp(path, tree, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/*
 * Canonical form of @path, which need not exist yet (then its directory
 * must): symlinks and "." / ".." resolved.
 */
static int path_canonical(const char *path, char *out, size_t cap)
{
	char *r = realpath(path, NULL), dir[PATH_MAX], base[NAME_MAX + 1];
	int n;

	if (r == NULL) {
		if (errno != ENOENT || strlen(path) >= sizeof(dir)) {
			return -errno;
		}
		snprintf(dir, sizeof(dir), "%s", path);
		snprintf(base, sizeof(base), "%s", basename(dir));
		snprintf(dir, sizeof(dir), "%s", path);
		r = realpath(dirname(dir), NULL);
		if (r == NULL) {
			return -errno;
		}
		n = snprintf(out, cap, "%s/%s", strcmp(r, "/") == 0 ? "" : r, base);
	} else {
		n = snprintf(out, cap, "%s", r);
	}
	free(r);
	return n < (int)cap ? 0 : -ENAMETOOLONG;
}

/* Do @a and @b name one medium? Devices by device number, files by inode. */
static bool stat_same_medium(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode)) {
		return a->st_rdev == b->st_rdev;
	}
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Refuse a path that already backs a LUN (@st: NULL when the path does not exist). */
static int lun_check_unused(struct daemon *d, const char *canon, const struct stat *st,
			    char *err)
{
	for (const struct state_target *t = state_target_first(d->state); t != NULL;
	     t = state_target_next(t)) {
		for (const struct state_lun *l = state_lun_first(t); l != NULL;
		     l = state_lun_next(l)) {
			char other[PATH_MAX];
			struct stat ost;
			bool same;

			if (strcmp(l->rec.backing, LUN_BACKING_FILE) != 0) {
				continue;
			}
			if (stat(l->rec.path, &ost) == 0) {
				same = st != NULL && stat_same_medium(st, &ost);
			} else {
				/* The other LUN's file is missing now: compare names. */
				same = path_canonical(l->rec.path, other, sizeof(other)) == 0
					       ? strcmp(other, canon) == 0
					       : strcmp(l->rec.path, canon) == 0;
			}
			if (same) {
				snprintf(err, ADMIN_ERR_MAX, "%.100s already backs LUN %u of "
					 "target '%.60s'; one medium must not be two LUNs",
					 canon, l->rec.lun, t->rec.name);
				return -EBUSY;
			}
		}
	}
	return 0;
}

/* Refuse the data directory, system trees, and links to the database. */
static int lun_check_location(struct daemon *d, const char *canon, const struct stat *st,
			      char *err)
{
	static const char *const db_suffixes[] = { "", "-wal", "-shm", "-journal" };
	char data[PATH_MAX], db[PATH_MAX + 32];
	struct stat dst;

	if (path_canonical(d->cfg.data_dir, data, sizeof(data)) == 0 &&
	    path_is_under(canon, data)) {
		snprintf(err, ADMIN_ERR_MAX, "%.80s is inside the daemon's data directory "
			 "%.60s (its database lives there); keep backing files elsewhere",
			 canon, data);
		return -EPERM;
	}
	for (size_t i = 0; i < sizeof(lun_system_trees) / sizeof(lun_system_trees[0]); i++) {
		if (path_is_under(canon, lun_system_trees[i])) {
			snprintf(err, ADMIN_ERR_MAX, "%.150s is in the system tree %s; refusing "
				 "to export it as a LUN", canon, lun_system_trees[i]);
			return -EPERM;
		}
	}
	/* A hard link elsewhere to the database is the database. */
	for (size_t i = 0; st != NULL && i < sizeof(db_suffixes) / sizeof(db_suffixes[0]); i++) {
		snprintf(db, sizeof(db), "%s/%s%s", d->cfg.data_dir, STORE_DB_FILE,
			 db_suffixes[i]);
		if (stat(db, &dst) == 0 && stat_same_medium(st, &dst)) {
			snprintf(err, ADMIN_ERR_MAX, "%.150s is the daemon's database file %s%s",
				 canon, STORE_DB_FILE, db_suffixes[i]);
			return -EPERM;
		}
	}
	return 0;
}

/*
 * Node-local preparation of a file-backed LUN: check the path, then create
 * the file or extend it (only with @grow), and open it once
 * (lun_file_prepare). On failure a file created here is removed again.
 */
static int lun_prepare_file(struct daemon *d, struct store_lun *l, bool grow,
			    struct lun_file_result *res, char *err)
{
	char canon[PATH_MAX];
	struct stat st;
	bool exists;
	int rc;

	res->action = LUN_FILE_EXISTING;
	if (l->path[0] != '/') {
		snprintf(err, ADMIN_ERR_MAX, "--path must be an absolute path");
		return -EINVAL;
	}
	rc = path_canonical(l->path, canon, sizeof(canon));
	if (rc < 0) {
		snprintf(err, ADMIN_ERR_MAX, "%.200s: %s", l->path, strerror(-rc));
		return rc;
	}
	exists = stat(canon, &st) == 0;
	if (!exists && errno != ENOENT) {
		rc = -errno;
		snprintf(err, ADMIN_ERR_MAX, "%.200s: %s", l->path, strerror(-rc));
		return rc;
	}
	rc = lun_check_location(d, canon, exists ? &st : NULL, err);
	if (rc == 0) {
		rc = lun_check_unused(d, canon, exists ? &st : NULL, err);
	}
	if (rc == 0) {
		rc = lun_file_prepare(l, grow, res, err, ADMIN_ERR_MAX);
	}
	if (rc < 0) {
		return rc;
	}
	if (res->action == LUN_FILE_CREATED) {
		log_info("lun create: created sparse backing file '%s' (%" PRIu64 " bytes) for "
			 "target '%s' LUN %u", l->path, l->size_bytes, l->target, l->lun);
	} else if (res->action == LUN_FILE_GROWN) {
		log_info("lun create: extended backing file '%s' from %" PRIu64 " to %" PRIu64
			 " bytes (--grow) for target '%s' LUN %u", l->path, res->old_size,
			 l->size_bytes, l->target, l->lun);
	} else {
		log_info("lun create: using existing %s '%s' (%" PRIu64 " bytes) for target '%s' "
			 "LUN %u", res->blkdev ? "block device" : "file", l->path,
			 l->size_bytes, l->target, l->lun);
	}
	return 0;
}

/*
 * lun.create's completion: a refused mutation takes the file this command
 * created with it; a LUN committed but not online here is reported as the
 * failure it is.
 */
static void admin_lun_done(struct daemon *d, struct daemon_pending *p, int rc, const char *err)
{
	struct json_object *r = p->result;
	const char *file = "", *path = "", *target = "";
	const struct state_target *t;
	const struct state_lun *l = NULL;
	struct json_object *v;
	const char *why = "";

	admin_change_log(r, p->seq, rc, err);
	if (r != NULL) {
		file = json_object_object_get_ex(r, "file", &v) ? json_object_get_string(v) : "";
		path = json_object_object_get_ex(r, "path", &v) ? json_object_get_string(v) : "";
		target = json_object_object_get_ex(r, "target", &v) ? json_object_get_string(v)
								     : "";
	}
	if (rc < 0 && strcmp(file, "created") == 0 && path[0] == '/') {
		if (unlink(path) == 0) {
			log_info("lun create refused (%s): removed the backing file '%s' it had "
				 "created", err[0] != '\0' ? err : strerror(-rc), path);
		}
	}
	if (rc == 0 && r != NULL && json_object_object_get_ex(r, "lun", &v)) {
		t = state_target_find(d->state, target);
		l = t != NULL ? state_lun_find(t, (uint16_t)json_object_get_int(v)) : NULL;
	}
	if (l != NULL && !daemon_lun_online(d, target, l->rec.lun, &why) && p->req != NULL) {
		ipc_request_reply_err(p->req, CTL_ERR_FAILED,
				      "LUN %u of '%s' was created (seq %" PRIu64 ") but is "
				      "OFFLINE on this node: %s; 'lun delete' removes it",
				      l->rec.lun, target, p->seq, why);
		json_object_put(p->result);
		return;
	}
	admin_done(d, p, rc, err);
}

/* The LUN of the model that has NAA @naa or unit serial @serial (either may be NULL). */
static const struct state_lun *lun_with_identity(struct daemon *d, const uint8_t *naa,
						 const char *serial,
						 const struct state_target **owner)
{
	for (const struct state_target *t = state_target_first(d->state); t != NULL;
	     t = state_target_next(t)) {
		for (const struct state_lun *l = state_lun_first(t); l != NULL;
		     l = state_lun_next(l)) {
			if ((naa != NULL && memcmp(l->rec.naa, naa, sizeof(l->rec.naa)) == 0) ||
			    (serial != NULL && strcmp(l->rec.serial, serial) == 0)) {
				*owner = t;
				return l;
			}
		}
	}
	return NULL;
}

/*
 * A new LUN's identity: given ("uuid", and "naa" and "serial" over what the
 * UUID gives; the same arguments always give the same identity, so a LUN
 * moved here or rebuilt keeps it) or random. An identity another LUN
 * already has is refused: two LUNs with one NAA or serial are one disk to
 * an initiator's multipath layer. -EINVAL with the reason in a->err.
 */
static int lun_identity_args(struct admin_ctx *a, struct store_lun *l)
{
	char uuid[64], naa[64], serial[64];
	const struct state_target *t;
	const struct state_lun *other;
	uint8_t bytes[STORE_UUID_LEN];
	int ru, rn, rs, rc;

	ru = arg_str(a->args, "uuid", false, uuid, sizeof(uuid), a->err);
	rn = ru == -EINVAL ? ru : arg_str(a->args, "naa", false, naa, sizeof(naa), a->err);
	rs = rn == -EINVAL ? rn : arg_str(a->args, "serial", false, serial, sizeof(serial), a->err);
	if (rs == -EINVAL) {
		return -EINVAL;
	}
	if (ru == 0) {
		if (!lun_uuid_parse(uuid, bytes)) {
			snprintf(a->err, sizeof(a->err), "--uuid '%s' is not a UUID (32 hex digits, "
				 "as 8-4-4-4-12 or without dashes)", uuid);
			return -EINVAL;
		}
		memcpy(l->uuid, bytes, sizeof(l->uuid));
		lun_identity_derive(l);
	} else {
		rc = lun_identity_generate(l);
		if (rc < 0) {
			snprintf(a->err, sizeof(a->err), "generating a UUID: %s", strerror(-rc));
			return rc;
		}
	}
	if (rn == 0 && !lun_naa_parse(naa, l->naa)) {
		snprintf(a->err, sizeof(a->err), "--naa '%s' is not an NAA-6 designator (32 hex "
			 "digits starting with 6, optionally after 'naa.')", naa);
		return -EINVAL;
	}
	if (rs == 0) {
		if (!lun_serial_valid(serial)) {
			snprintf(a->err, sizeof(a->err), "--serial '%.40s' is not a unit serial number "
				 "(1 to %d printable ASCII characters, no spaces)", serial,
				 LUN_SERIAL_MAX);
			return -EINVAL;
		}
		/* Valid: at most LUN_SERIAL_MAX characters. */
		snprintf(l->serial, sizeof(l->serial), "%.*s", LUN_SERIAL_MAX, serial);
	}
	other = lun_with_identity(a->d, l->naa, NULL, &t);
	if (other != NULL) {
		snprintf(a->err, sizeof(a->err), "the NAA designator of %s is already LUN %u of "
			 "'%.150s'", ru == 0 ? "this --uuid" : "--naa", other->rec.lun, t->rec.name);
		return -EEXIST;
	}
	other = lun_with_identity(a->d, NULL, l->serial, &t);
	if (other != NULL) {
		snprintf(a->err, sizeof(a->err), "the serial number '%s' is already LUN %u of "
			 "'%.150s'", l->serial, other->rec.lun, t->rec.name);
		return -EEXIST;
	}
	return 0;
}

static void cmd_lun_create(struct admin_ctx *a)
{
	struct mutation op = { .kind = MUTATION_LUN_ADD };
	struct store_lun *l = &op.u.lun;
	const struct state_target *t;
	struct json_object *res;
	struct lun_file_result file = { .action = LUN_FILE_EXISTING };
	uint64_t v;
	char naa[2 * STORE_NAA_LEN + 1], uuid[LUN_UUID_STR_LEN + 1];
	int rc;

	if (arg_target_name(a, true, l->target, sizeof(l->target)) < 0) {
		goto fail;
	}
	t = state_target_find(a->d->state, l->target);
	if (t == NULL) {
		snprintf(a->err, sizeof(a->err), "no target '%s'", l->target);
		a->kind = CTL_ERR_NOT_FOUND;
		goto fail;
	}
	rc = arg_u64(a->args, "lun", false, LUN_ID_MAX, &v, a->err);
	if (rc == -EINVAL) {
		goto fail;
	}
	if (rc == -ENOENT) {
		/* Lowest free LUN number. */
		for (v = 0; v <= LUN_ID_MAX && state_lun_find(t, (uint16_t)v) != NULL; v++) {
		}
		if (v > LUN_ID_MAX) {
			snprintf(a->err, sizeof(a->err), "target '%s' has no free LUN number",
				 l->target);
			a->kind = CTL_ERR_REFUSED;
			goto fail;
		}
	} else if (state_lun_find(t, (uint16_t)v) != NULL) {
		/* Checked again by apply; here so that nothing is created for nothing. */
		snprintf(a->err, sizeof(a->err), "target '%s' already has LUN %" PRIu64,
			 l->target, v);
		a->kind = CTL_ERR_EXISTS;
		goto fail;
	}
	l->lun = (uint16_t)v;
	rc = arg_str(a->args, "backing", false, l->backing, sizeof(l->backing), a->err);
	if (rc == -EINVAL) {
		goto fail;
	}
	if (rc == -ENOENT) {
		snprintf(l->backing, sizeof(l->backing), "%s", LUN_BACKING_FILE);
	}
	if (arg_str(a->args, "path", false, l->path, sizeof(l->path), a->err) == -EINVAL ||
	    arg_u64(a->args, "size", false, INT64_MAX, &l->size_bytes, a->err) == -EINVAL) {
		goto fail;
	}
	rc = arg_u64(a->args, "block_size", false, UINT32_MAX, &v, a->err);
	if (rc == -EINVAL) {
		goto fail;
	}
	l->block_size = rc == -ENOENT ? LUN_BLOCK_SIZE_DEFAULT : (uint32_t)v;
	if (!lun_block_size_valid(l->block_size)) {
		snprintf(a->err, sizeof(a->err), "--block-size must be %u or %u",
			 LUN_BLOCK_SIZE_512, LUN_BLOCK_SIZE_4096);
		goto fail;
	}
	l->direct_io = lun_direct_io_choose(a->d->cfg.cluster, l->backing, arg_direct(a->args));
	l->thin = arg_bool(a->args, "thin");
	l->read_only = arg_bool(a->args, "read_only");
	/* O_DIRECT means "no node-local cache": the write cache is off unless asked. */
	l->write_cache = arg_bool_or(a->args, "write_cache", !l->direct_io);
	/* Its characters are checked by apply (validate_alias). */
	if (arg_str(a->args, "alias", false, l->alias, sizeof(l->alias), a->err) == -EINVAL) {
		goto fail;
	}
	/* Before the file: a refused identity creates nothing. */
	rc = lun_identity_args(a, l);
	if (rc < 0) {
		a->kind = ctl_err_kind(rc);
		goto fail;
	}
	if (strcmp(l->backing, LUN_BACKING_FILE) == 0) {
		if (l->path[0] == '\0') {
			snprintf(a->err, sizeof(a->err), "file backing needs --path");
			goto fail;
		}
		rc = lun_prepare_file(a->d, l, arg_bool(a->args, "grow"), &file, a->err);
		if (rc < 0) {
			/* Where the file may be and what it is are the daemon's rules. */
			a->kind = rc == -EINVAL || rc == -ENOENT ? CTL_ERR_INVALID
								 : ctl_err_kind(rc);
			goto fail;
		}
	} else if (strcmp(l->backing, LUN_BACKING_NULL) == 0) {
		if (l->size_bytes == 0) {
			snprintf(a->err, sizeof(a->err), "null backing needs --size");
			goto fail;
		}
	} else {
		snprintf(a->err, sizeof(a->err), "unknown backing '%s' (want file or null)",
			 l->backing);
		goto fail;
	}
	admin_hex_format(naa, l->naa, sizeof(l->naa));
	lun_uuid_format(uuid, l->uuid);
	res = json_object_new_object();
	json_object_object_add(res, "target", json_object_new_string(l->target));
	json_object_object_add(res, "lun", json_object_new_int(l->lun));
	json_object_object_add(res, "size", json_object_new_int64((int64_t)l->size_bytes));
	json_object_object_add(res, "uuid", json_object_new_string(uuid));
	json_object_object_add(res, "naa", json_object_new_string(naa));
	json_object_object_add(res, "serial", json_object_new_string(l->serial));
	json_object_object_add(res, "direct", json_object_new_boolean(l->direct_io));
	if (strcmp(l->backing, LUN_BACKING_FILE) == 0) {
		static const char *const names[] = {
			[LUN_FILE_EXISTING] = "existing",
			[LUN_FILE_CREATED] = "created",
			[LUN_FILE_GROWN] = "grown",
		};

		json_object_object_add(res, "path", json_object_new_string(l->path));
		json_object_object_add(res, "file", json_object_new_string(names[file.action]));
		if (file.action == LUN_FILE_GROWN) {
			json_object_object_add(res, "old_size",
					       json_object_new_int64((int64_t)file.old_size));
		}
	}
	if (admin_propose_with(a->d, a->req, &op, res, admin_lun_done) < 0 &&
	    file.action == LUN_FILE_CREATED) {
		unlink(l->path);
	}
	return;
fail:
	ipc_request_reply_err(a->req, a->kind != NULL ? a->kind : CTL_ERR_INVALID, "%s", a->err);
}

/* TARGET and LUN args naming one LUN; on error replies and returns -EINVAL. */
static int arg_lun_ref(struct admin_ctx *a, char *target, size_t cap, uint16_t *lun)
{
	uint64_t v;

	if (arg_target_name(a, true, target, cap) < 0 ||
	    arg_u64(a->args, "lun", true, LUN_ID_MAX, &v, a->err) < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return -EINVAL;
	}
	*lun = (uint16_t)v;
	return 0;
}

static void cmd_lun_delete(struct admin_ctx *a)
{
	struct mutation op = { .kind = MUTATION_LUN_DEL };

	if (arg_lun_ref(a, op.u.lun.target, sizeof(op.u.lun.target), &op.u.lun.lun) < 0) {
		return;
	}
	admin_propose(a->d, a->req, &op, NULL);
}

/*
 * lun.online's completion: the flag is applied on every node, but a store
 * that does not open here leaves the LUN offline here, which is the
 * command's failure on this node.
 */
static void admin_lun_online_done(struct daemon *d, struct daemon_pending *p, int rc,
				  const char *err)
{
	struct json_object *v;
	const char *target = "", *why;
	uint16_t lun = 0;

	admin_change_log(p->result, p->seq, rc, err);
	if (p->result != NULL && json_object_object_get_ex(p->result, "target", &v)) {
		target = json_object_get_string(v);
	}
	if (p->result != NULL && json_object_object_get_ex(p->result, "lun", &v)) {
		lun = (uint16_t)json_object_get_int(v);
	}
	if (rc == 0 && p->req != NULL && !daemon_lun_online(d, target, lun, &why)) {
		ipc_request_reply_err(p->req, CTL_ERR_FAILED,
				      "LUN %u of '%s' is still OFFLINE on this node: %s", lun,
				      target, why);
		json_object_put(p->result);
		return;
	}
	admin_done(d, p, rc, err);
}

/* lun.offline / lun.online: one mutation, so every node follows. */
static void cmd_lun_set_offline(struct admin_ctx *a, bool offline)
{
	struct mutation op = { .kind = MUTATION_LUN_OFFLINE };
	struct json_object *res;

	if (arg_lun_ref(a, op.u.lun.target, sizeof(op.u.lun.target), &op.u.lun.lun) < 0) {
		return;
	}
	op.u.lun.offline = offline;
	res = json_object_new_object();
	json_object_object_add(res, "target", json_object_new_string(op.u.lun.target));
	json_object_object_add(res, "lun", json_object_new_int(op.u.lun.lun));
	json_object_object_add(res, "online", json_object_new_boolean(!offline));
	admin_propose_with(a->d, a->req, &op, res, offline ? admin_done : admin_lun_online_done);
}

static void cmd_lun_offline(struct admin_ctx *a)
{
	cmd_lun_set_offline(a, true);
}

static void cmd_lun_online(struct admin_ctx *a)
{
	cmd_lun_set_offline(a, false);
}

/* The model's record of the LUN the "target" and "lun" args name; replies on error. */
static const struct state_lun *arg_lun_find(struct admin_ctx *a, char *target, size_t cap,
					    uint16_t *lun)
{
	const struct state_target *t;
	const struct state_lun *l;

	if (arg_lun_ref(a, target, cap, lun) < 0) {
		return NULL;
	}
	t = state_target_find(a->d->state, target);
	if (t == NULL) {
		ipc_request_reply_err(a->req, CTL_ERR_NOT_FOUND, "no target '%s'", target);
		return NULL;
	}
	l = state_lun_find(t, *lun);
	if (l == NULL) {
		ipc_request_reply_err(a->req, CTL_ERR_NOT_FOUND, "target '%s' has no LUN %u",
				      target, *lun);
	}
	return l;
}

/* lun.resize's completion: a refused resize gives back what the file grew by. */
static void admin_lun_resize_done(struct daemon *d, struct daemon_pending *p, int rc,
				  const char *err)
{
	struct json_object *r = p->result, *v;

	if (rc < 0 && r != NULL && json_object_object_get_ex(r, "file", &v) &&
	    strcmp(json_object_get_string(v), "grown") == 0) {
		const char *path = json_object_get_string(json_object_object_get(r, "path"));
		int64_t old = json_object_get_int64(json_object_object_get(r, "old_file_size"));

		if (truncate(path, (off_t)old) == 0) {
			log_info("lun resize refused: '%s' is back to its %" PRId64 " bytes", path,
				 old);
		}
	}
	admin_done(d, p, rc, err);
}

/*
 * lun.resize: grow (or, with "force", shrink) a LUN. The proposer makes the
 * backing file as large first (shared storage: one file for every node);
 * apply stores the size and every node's LU follows, raising CAPACITY
 * DATA HAS CHANGED. Shrinking cuts off what initiators wrote beyond the
 * new end, so it needs force; the file itself is not truncated.
 */
static void cmd_lun_resize(struct admin_ctx *a)
{
	struct mutation op = { .kind = MUTATION_LUN_RESIZE };
	struct lun_file_result file = { .action = LUN_FILE_EXISTING };
	const struct state_lun *l;
	struct json_object *res;
	uint64_t size, old;
	int rc;

	l = arg_lun_find(a, op.u.lun.target, sizeof(op.u.lun.target), &op.u.lun.lun);
	if (l == NULL) {
		return;
	}
	if (arg_u64(a->args, "size", true, INT64_MAX, &size, a->err) < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	old = l->rec.size_bytes;
	if (size == 0 || size % l->rec.block_size != 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID,
				      "--size must be a positive multiple of the LUN's "
				      "block size %u",
				      l->rec.block_size);
		return;
	}
	if (size < old && !arg_bool(a->args, "force")) {
		ipc_request_reply_err(a->req, CTL_ERR_REFUSED,
				      "shrinking LUN %u of '%s' from %" PRIu64 " to %" PRIu64
				      " bytes drops the data beyond the new end; give --force "
				      "to shrink it",
				      op.u.lun.lun, op.u.lun.target, old, size);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "target", json_object_new_string(op.u.lun.target));
	json_object_object_add(res, "lun", json_object_new_int(op.u.lun.lun));
	json_object_object_add(res, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(res, "old_size", json_object_new_int64((int64_t)old));
	if (size == old) {
		/* Nothing to change: no mutation, no unit attention. */
		json_object_object_add(res, "changed", json_object_new_boolean(false));
		ipc_request_reply_ok(a->req, res);
		return;
	}
	json_object_object_add(res, "changed", json_object_new_boolean(true));
	if (strcmp(l->rec.backing, LUN_BACKING_FILE) == 0) {
		rc = lun_file_resize(&l->rec, size, &file, a->err, sizeof(a->err));
		if (rc < 0) {
			json_object_put(res);
			ipc_request_reply_err(a->req, ctl_err_kind(rc), "%s", a->err);
			return;
		}
		json_object_object_add(res, "path", json_object_new_string(l->rec.path));
		json_object_object_add(res, "file", json_object_new_string(
						file.action == LUN_FILE_GROWN ? "grown" : "existing"));
		if (file.action == LUN_FILE_GROWN) {
			json_object_object_add(res, "old_file_size",
					       json_object_new_int64((int64_t)file.old_size));
			log_info("lun resize: extended backing file '%s' from %" PRIu64 " to %" PRIu64
				 " bytes for target '%s' LUN %u", l->rec.path, file.old_size, size,
				 op.u.lun.target, op.u.lun.lun);
		}
	}
	op.u.lun.size_bytes = size;
	if (admin_propose_with(a->d, a->req, &op, res, admin_lun_resize_done) < 0 &&
	    file.action == LUN_FILE_GROWN && truncate(l->rec.path, (off_t)file.old_size) < 0) {
		log_warn("lun resize not proposed; '%s' keeps its new size", l->rec.path);
	}
}

/*
 * lun.set: the alias, read-only and write cache of a LUN, through one
 * mutation naming only the fields that change. Making a LUN writable is
 * checked here first: its file must open read-write on this node.
 */
static void cmd_lun_set(struct admin_ctx *a)
{
	struct mutation op = { .kind = MUTATION_LUN_SET };
	struct store_lun *m = &op.u.lun;
	const struct state_lun *l;
	struct json_object *res, *changed;
	char alias[STORE_ALIAS_MAX + 1];
	bool asked = false;
	int rc;

	l = arg_lun_find(a, m->target, sizeof(m->target), &m->lun);
	if (l == NULL) {
		return;
	}
	rc = arg_str(a->args, "alias", false, alias, sizeof(alias), a->err);
	if (rc == -EINVAL) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	asked |= rc == 0;
	if (rc == 0 && strcmp(alias, l->rec.alias) != 0) {
		op.set_fields |= MUTATION_SET_ALIAS;
		snprintf(m->alias, sizeof(m->alias), "%s", alias);
	}
	if (json_object_object_get_ex(a->args, "read_only", NULL)) {
		asked = true;
		m->read_only = arg_bool(a->args, "read_only");
		if (m->read_only != l->rec.read_only) {
			op.set_fields |= MUTATION_SET_READ_ONLY;
		}
	}
	if (json_object_object_get_ex(a->args, "write_cache", NULL)) {
		asked = true;
		m->write_cache = arg_bool(a->args, "write_cache");
		if (m->write_cache != l->rec.write_cache) {
			op.set_fields |= MUTATION_SET_WRITE_CACHE;
		}
	}
	if (!asked) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID,
				      "nothing to set: give alias, read_only or write_cache");
		return;
	}
	/* Fields that do not change carry no value (the codec's rule). */
	m->read_only &= (op.set_fields & MUTATION_SET_READ_ONLY) != 0;
	m->write_cache &= (op.set_fields & MUTATION_SET_WRITE_CACHE) != 0;
	if ((op.set_fields & MUTATION_SET_READ_ONLY) && !m->read_only &&
	    strcmp(l->rec.backing, LUN_BACKING_FILE) == 0 &&
	    lun_file_check_writable(&l->rec, a->err, sizeof(a->err)) < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_REFUSED, "cannot make the LUN writable: %s",
				      a->err);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "target", json_object_new_string(m->target));
	json_object_object_add(res, "lun", json_object_new_int(m->lun));
	changed = json_object_new_array();
	if (op.set_fields & MUTATION_SET_ALIAS) {
		json_object_array_add(changed, json_object_new_string("alias"));
	}
	if (op.set_fields & MUTATION_SET_READ_ONLY) {
		json_object_array_add(changed, json_object_new_string("read_only"));
	}
	if (op.set_fields & MUTATION_SET_WRITE_CACHE) {
		json_object_array_add(changed, json_object_new_string("write_cache"));
	}
	json_object_object_add(res, "changed", changed);
	if (op.set_fields == 0) {
		/* Already so: no mutation, no unit attention. */
		ipc_request_reply_ok(a->req, res);
		return;
	}
	admin_propose(a->d, a->req, &op, res);
}

/* Optional "target" filter of the list commands; replies and returns false on error. */
static bool list_filter(struct admin_ctx *a, char *target, size_t cap)
{
	int rc = arg_target_name(a, false, target, cap);

	if (rc == -EINVAL) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return false;
	}
	if (rc == 0 && state_target_find(a->d->state, target) == NULL) {
		ipc_request_reply_err(a->req, CTL_ERR_NOT_FOUND, "no target '%s'", target);
		return false;
	}
	if (rc == -ENOENT) {
		target[0] = '\0';
	}
	return true;
}

/* The LUN record of the model and this node's running state of it. */
static struct json_object *lun_json(struct daemon *d, const struct state_target *t,
				    const struct state_lun *l)
{
	struct json_object *o = json_object_new_object();
	char naa[2 * STORE_NAA_LEN + 1], uuid[LUN_UUID_STR_LEN + 1];
	const char *why;
	bool online = daemon_lun_online(d, t->rec.name, l->rec.lun, &why);

	admin_hex_format(naa, l->rec.naa, sizeof(l->rec.naa));
	lun_uuid_format(uuid, l->rec.uuid);
	json_object_object_add(o, "target", json_object_new_string(t->rec.name));
	json_object_object_add(o, "lun", json_object_new_int(l->rec.lun));
	json_object_object_add(o, "backing", json_object_new_string(l->rec.backing));
	json_object_object_add(o, "path", json_object_new_string(l->rec.path));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)l->rec.size_bytes));
	json_object_object_add(o, "block_size", json_object_new_int64(l->rec.block_size));
	json_object_object_add(o, "direct", json_object_new_boolean(l->rec.direct_io));
	json_object_object_add(o, "thin", json_object_new_boolean(l->rec.thin));
	json_object_object_add(o, "read_only", json_object_new_boolean(l->rec.read_only));
	json_object_object_add(o, "write_cache", json_object_new_boolean(l->rec.write_cache));
	json_object_object_add(o, "alias", json_object_new_string(l->rec.alias));
	json_object_object_add(o, "uuid", json_object_new_string(uuid));
	json_object_object_add(o, "naa", json_object_new_string(naa));
	json_object_object_add(o, "serial", json_object_new_string(l->rec.serial));
	json_object_object_add(o, "admin_offline", json_object_new_boolean(l->rec.offline));
	json_object_object_add(o, "online", json_object_new_boolean(online));
	if (!online) {
		json_object_object_add(o, "offline_reason", json_object_new_string(why));
	}
	return o;
}

static void cmd_lun_list(struct admin_ctx *a)
{
	char target[STORE_NAME_MAX + 1];
	struct json_object *arr;

	if (!list_filter(a, target, sizeof(target))) {
		return;
	}
	arr = json_object_new_array();
	for (const struct state_target *t = state_target_first(a->d->state); t != NULL;
	     t = state_target_next(t)) {
		if (target[0] != '\0' && strcmp(target, t->rec.name) != 0) {
			continue;
		}
		for (const struct state_lun *l = state_lun_first(t); l != NULL;
		     l = state_lun_next(l)) {
			json_object_array_add(arr, lun_json(a->d, t, l));
		}
	}
	ipc_request_reply_ok(a->req, arr);
}

/* One LUN: its record, and this node's running state ("node_id": whose). */
static void cmd_lun_show(struct admin_ctx *a)
{
	char target[STORE_NAME_MAX + 1];
	const struct state_lun *l;
	struct json_object *o;
	uint16_t lun;

	l = arg_lun_find(a, target, sizeof(target), &lun);
	if (l == NULL) {
		return;
	}
	o = lun_json(a->d, state_target_find(a->d->state, target), l);
	json_object_object_add(o, "node_id", json_object_new_int64(a->d->cfg.node_id));
	ipc_request_reply_ok(a->req, o);
}

static void cmd_acl_change(struct admin_ctx *a, enum mutation_kind kind)
{
	struct mutation op = { .kind = kind };
	struct json_object *res = NULL;

	if (arg_iscsi_name(a, "target", op.u.acl.target, sizeof(op.u.acl.target), &res) < 0 ||
	    arg_iscsi_name(a, "initiator", op.u.acl.initiator, sizeof(op.u.acl.initiator),
			   &res) < 0) {
		json_object_put(res);
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	/* Filled in by admin_done() from what the apply step ended. */
	if (res == NULL) {
		res = json_object_new_object();
	}
	json_object_object_add(res, "sessions_ended", json_object_new_int(0));
	admin_propose(a->d, a->req, &op, res);
}

static void cmd_acl_add(struct admin_ctx *a)
{
	cmd_acl_change(a, MUTATION_ACL_ADD);
}

static void cmd_acl_remove(struct admin_ctx *a)
{
	cmd_acl_change(a, MUTATION_ACL_DEL);
}

static void cmd_acl_list(struct admin_ctx *a)
{
	char target[STORE_NAME_MAX + 1];
	struct json_object *arr;

	if (!list_filter(a, target, sizeof(target))) {
		return;
	}
	arr = json_object_new_array();
	for (const struct state_target *t = state_target_first(a->d->state); t != NULL;
	     t = state_target_next(t)) {
		if (target[0] != '\0' && strcmp(target, t->rec.name) != 0) {
			continue;
		}
		for (const struct state_acl *c = state_acl_first(t); c != NULL;
		     c = state_acl_next(c)) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "target", json_object_new_string(t->rec.name));
			json_object_object_add(o, "initiator", json_object_new_string(c->initiator));
			json_object_array_add(arr, o);
		}
	}
	ipc_request_reply_ok(a->req, arr);
}

/* "target": NAME, or "discovery": true for the discovery-session credentials. */
static int chap_target_arg(struct admin_ctx *a, char *target, size_t cap)
{
	bool discovery = arg_bool(a->args, "discovery");
	int rc = arg_target_name(a, false, target, cap);

	if (rc == -EINVAL) {
		return rc;
	}
	if (discovery == (rc == 0)) {
		snprintf(a->err, sizeof(a->err), "give either a target or --discovery");
		return -EINVAL;
	}
	if (discovery) {
		target[0] = '\0';
	}
	return 0;
}

/*
 * Refuse a too-short secret unless forced; note in @warnings what Windows
 * initiators will not accept. Lengths only: the secret itself is never echoed.
 */
static int chap_secret_check(const char *what, const char *secret, bool force,
			     struct json_object *warnings, char *err)
{
	size_t n = strlen(secret);
	char msg[ADMIN_ERR_MAX];

	if (n < CHAP_SECRET_MIN && !force) {
		snprintf(err, ADMIN_ERR_MAX, "the %s is %zu bytes; at least %d are required "
			 "(Windows initiators need %d to %d bytes; short secrets fall to "
			 "dictionary attacks); use --force to set it anyway", what, n,
			 CHAP_SECRET_MIN, CHAP_SECRET_MIN, CHAP_SECRET_WINDOWS_MAX);
		return -EINVAL;
	}
	if (n < CHAP_SECRET_MIN || n > CHAP_SECRET_WINDOWS_MAX) {
		snprintf(msg, sizeof(msg), "the %s is %zu bytes; Windows initiators accept only "
			 "%d to %d bytes", what, n, CHAP_SECRET_MIN, CHAP_SECRET_WINDOWS_MAX);
		json_object_array_add(warnings, json_object_new_string(msg));
	}
	return 0;
}

static void cmd_chap_set(struct admin_ctx *a)
{
	struct mutation *op = calloc(1, sizeof(*op));	/* holds a secret: wiped below */
	struct json_object *result = json_object_new_object(), *warnings = json_object_new_array();
	bool force = arg_bool(a->args, "force");
	struct store_chap *c;

	if (op == NULL) {
		ipc_request_reply_err(a->req, CTL_ERR_FAILED, "out of memory");
		json_object_put(result);
		json_object_put(warnings);
		return;
	}
	op->kind = MUTATION_CHAP_SET;
	c = &op->u.chap;
	if (chap_target_arg(a, c->target, sizeof(c->target)) < 0 ||
	    arg_str(a->args, "user", true, c->user, sizeof(c->user), a->err) < 0 ||
	    arg_str(a->args, "secret", true, c->secret, sizeof(c->secret), a->err) < 0 ||
	    arg_str(a->args, "mutual_user", false, c->mutual_user, sizeof(c->mutual_user),
		    a->err) == -EINVAL ||
	    arg_str(a->args, "mutual_secret", false, c->mutual_secret, sizeof(c->mutual_secret),
		    a->err) == -EINVAL ||
	    chap_secret_check("CHAP secret", c->secret, force, warnings, a->err) < 0 ||
	    (c->mutual_secret[0] != '\0' &&
	     chap_secret_check("mutual CHAP secret", c->mutual_secret, force, warnings,
			       a->err) < 0)) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		json_object_put(result);
	} else {
		if (json_object_array_length(warnings) > 0) {
			json_object_object_add(result, "warnings", json_object_get(warnings));
		}
		admin_propose(a->d, a->req, op, result);
	}
	json_object_put(warnings);
	explicit_bzero(op, sizeof(*op));
	free(op);
}

static void cmd_chap_clear(struct admin_ctx *a)
{
	struct mutation op = { .kind = MUTATION_CHAP_CLEAR };

	if (chap_target_arg(a, op.u.chap.target, sizeof(op.u.chap.target)) < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	admin_propose(a->d, a->req, &op, NULL);
}

static void cmd_chap_list(struct admin_ctx *a)
{
	struct json_object *arr = json_object_new_array();

	/* Users only: secrets never leave the daemon. */
	for (const struct state_chap *c = state_chap_first(a->d->state); c != NULL;
	     c = state_chap_next(c)) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "target", json_object_new_string(c->rec.target));
		json_object_object_add(o, "discovery",
				       json_object_new_boolean(c->rec.target[0] == '\0'));
		json_object_object_add(o, "user", json_object_new_string(c->rec.user));
		json_object_object_add(o, "mutual_user",
				       json_object_new_string(c->rec.mutual_user));
		json_object_array_add(arr, o);
	}
	ipc_request_reply_ok(a->req, arr);
}

static void cmd_session_list(struct admin_ctx *a)
{
	struct session_list sl = { .arr = json_object_new_array(), .tsih = -1 };

	iscsi_server_foreach_session(a->d->iscsi, session_list_fn, &sl);
	ipc_request_reply_ok(a->req, sl.arr);
}

/* I/O counters of this node's LUs and sessions (daemon/stats.c), of one target if given. */
static void cmd_stats(struct admin_ctx *a)
{
	char target[STORE_NAME_MAX + 1];

	if (!list_filter(a, target, sizeof(target))) {
		return;
	}
	ipc_request_reply_ok(a->req, daemon_stats_json(a->d, target[0] != '\0' ? target : NULL));
}

static void cmd_session_close(struct admin_ctx *a)
{
	uint64_t tsih;
	int rc;

	if (arg_u64(a->args, "tsih", true, UINT16_MAX, &tsih, a->err) < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	/* Sessions are node-local, not replicated state: no mutation. */
	rc = iscsi_session_close(a->d->iscsi, (uint16_t)tsih);
	if (rc < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_NOT_FOUND, "no session with TSIH %" PRIu64,
				      tsih);
		return;
	}
	log_notice("session TSIH %" PRIu64 " closed by the administrator (uid %" PRId64 ")", tsih,
		   admin_uid(a->req));
	ipc_request_reply_ok(a->req, NULL);
}

/*
 * session.show: every session of this node (or the one with "tsih") with
 * how it logged in (portal, time, AuthMethod and CHAP user) and what it
 * negotiated; an unknown TSIH is an error.
 */
static void cmd_session_show(struct admin_ctx *a)
{
	struct session_list sl = { .detail = true, .tsih = -1, .node_id = a->d->cfg.node_id };
	uint64_t tsih;
	int rc = arg_u64(a->args, "tsih", false, UINT16_MAX, &tsih, a->err);

	if (rc == -EINVAL) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	if (rc == 0) {
		sl.tsih = (int)tsih;
	}
	sl.arr = json_object_new_array();
	iscsi_server_foreach_session(a->d->iscsi, session_list_fn, &sl);
	if (rc == 0 && json_object_array_length(sl.arr) == 0) {
		json_object_put(sl.arr);
		ipc_request_reply_err(a->req, CTL_ERR_NOT_FOUND,
				      "no session with TSIH %" PRIu64 " on this node", tsih);
		return;
	}
	ipc_request_reply_ok(a->req, sl.arr);
}

#define SESSION_LOGOUT_WAIT_DEFAULT 5	/* seconds, as for an ACL change */
#define SESSION_LOGOUT_WAIT_MAX 3600	/* DefaultTime2Wait's upper bound (§13.15) */

/* Which sessions 'session logout' asks: one TSIH, an initiator or a target. */
struct session_pick {
	int tsih;			/* -1: any */
	const char *initiator;		/* NULL: any */
	const char *target;		/* NULL: any */
	struct json_object *tsihs;	/* the TSIHs asked */
};

static bool session_pick_fn(const struct iscsi_session_info *info, void *ctx)
{
	struct session_pick *p = ctx;
	bool hit = (p->tsih < 0 || info->tsih == p->tsih) &&
		   (p->initiator == NULL || strcmp(info->initiator_name, p->initiator) == 0) &&
		   (p->target == NULL || strcmp(info->target_name, p->target) == 0);

	if (hit) {
		json_object_array_add(p->tsihs, json_object_new_int(info->tsih));
	}
	return hit;
}

/*
 * session.logout: ask the sessions of one TSIH, initiator or target to log
 * out (Asynchronous Message, AsyncEvent 1, Parameter3 = the wait) and close
 * those that have not after the wait. Node-local: sessions are not
 * replicated state.
 */
static void cmd_session_logout(struct admin_ctx *a)
{
	char initiator[STORE_NAME_MAX + 1], target[STORE_NAME_MAX + 1];
	struct session_pick pick = { .tsih = -1 };
	struct json_object *res = NULL, *o;
	uint64_t tsih, wait = SESSION_LOGOUT_WAIT_DEFAULT;
	int rt, ri, rg, rw, given;
	unsigned int n;

	rt = arg_u64(a->args, "tsih", false, UINT16_MAX, &tsih, a->err);
	ri = rt == -EINVAL ? rt : arg_str(a->args, "initiator", false, initiator, sizeof(initiator),
					  a->err);
	rg = ri == -EINVAL ? ri : arg_target_name(a, false, target, sizeof(target));
	rw = rg == -EINVAL ? rg : arg_u64(a->args, "wait", false, SESSION_LOGOUT_WAIT_MAX, &wait,
					  a->err);
	if (rw == -EINVAL) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	given = (rt == 0) + (ri == 0) + (rg == 0);
	if (given != 1 || wait == 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID,
				      given != 1 ? "give one of tsih, initiator or target"
						 : "the wait must be 1 to %d seconds",
				      SESSION_LOGOUT_WAIT_MAX);
		return;
	}
	if (ri == 0) {
		/* Canonical form, as sessions keep it (an invalid name matches none). */
		if (arg_iscsi_name(a, "initiator", initiator, sizeof(initiator), &res) < 0) {
			ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
			json_object_put(res);
			return;
		}
		pick.initiator = initiator;
	}
	pick.tsih = rt == 0 ? (int)tsih : -1;
	pick.target = rg == 0 ? target : NULL;
	pick.tsihs = json_object_new_array();
	n = iscsi_sessions_request_logout(a->d->iscsi, session_pick_fn, &pick, (uint16_t)wait,
					  "no logout after the administrator asked for it");
	if (n == 0) {
		json_object_put(pick.tsihs);
		json_object_put(res);
		if (rt == 0) {
			snprintf(a->err, sizeof(a->err), "with TSIH %" PRIu64, tsih);
		} else {
			snprintf(a->err, sizeof(a->err), "%s '%s'", ri == 0 ? "of initiator" :
				 "to target", ri == 0 ? initiator : target);
		}
		ipc_request_reply_err(a->req, CTL_ERR_NOT_FOUND,
				      "no session %s on this node (or it was already asked "
				      "to log out)",
				      a->err);
		return;
	}
	log_notice("%u session(s) asked to log out within %" PRIu64 " s by uid %" PRId64, n, wait,
		   admin_uid(a->req));
	o = res != NULL ? res : json_object_new_object();
	json_object_object_add(o, "sessions", pick.tsihs);
	json_object_object_add(o, "wait_s", json_object_new_int64((int64_t)wait));
	ipc_request_reply_ok(a->req, o);
}

/* ---- persistent reservations -------------------------------------------------- */

/* sg_persist's short names of the SPC-4 types (6.16.3.3 table 174). */
static const char *pr_type_name(uint8_t type)
{
	switch (type) {
	case PR_TYPE_WR_EX:
		return "WR_EX";
	case PR_TYPE_EX_AC:
		return "EX_AC";
	case PR_TYPE_WR_EX_RO:
		return "WR_EX_RO";
	case PR_TYPE_EX_AC_RO:
		return "EX_AC_RO";
	case PR_TYPE_WR_EX_AR:
		return "WR_EX_AR";
	case PR_TYPE_EX_AC_AR:
		return "EX_AC_AR";
	default:
		return "none";
	}
}

/* The "target" and "lun" args, and the LU's replicated PR state; replies on error. */
static const struct pr_state *pr_args(struct admin_ctx *a, struct mutation_lu *lu)
{
	const struct state_lun *l = arg_lun_find(a, lu->target, sizeof(lu->target), &lu->lun);

	return l != NULL ? &l->pr : NULL;
}

/* One registrant as READ FULL STATUS describes it (SPC-4 6.15.5). */
static struct json_object *pr_reg_json(const struct pr_state *pr, const struct pr_reg *r)
{
	struct json_object *o = json_object_new_object();
	const struct pr_nexus *n = &r->who.nexus;

	json_object_object_add(o, "key", json_object_new_uint64(r->key));
	json_object_object_add(o, "initiator_port", json_object_new_string(n->initiator));
	json_object_object_add(o, "all_tg_pt", json_object_new_boolean(r->who.all_tg_pt));
	/* Every target port with ALL_TG_PT: no one port, no one node. */
	json_object_object_add(o, "target_port",
			       r->who.all_tg_pt ? NULL : json_object_new_string(n->target));
	json_object_object_add(o, "relative_port",
			       r->who.all_tg_pt ? NULL : json_object_new_int(n->rel_port_id));
	/* The relative port id is the TPGT and the node id (DESIGN §3). */
	json_object_object_add(o, "node",
			       r->who.all_tg_pt ? NULL : json_object_new_int(n->rel_port_id));
	json_object_object_add(o, "holder", json_object_new_boolean(pr_reg_is_holder(pr, r)));
	return o;
}

static void cmd_pr_show(struct admin_ctx *a)
{
	struct mutation_lu lu;
	const struct pr_state *pr = pr_args(a, &lu);
	struct json_object *o, *regs, *resv = NULL, *spc2 = NULL;

	if (pr == NULL) {
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "target", json_object_new_string(lu.target));
	json_object_object_add(o, "lun", json_object_new_int(lu.lun));
	json_object_object_add(o, "generation", json_object_new_int64(pr->generation));
	json_object_object_add(o, "aptpl", json_object_new_boolean(pr->aptpl));
	if (pr->type != PR_TYPE_NONE) {
		bool all = pr_type_all_registrants(pr->type);

		resv = json_object_new_object();
		json_object_object_add(resv, "type", json_object_new_string(pr_type_name(pr->type)));
		json_object_object_add(resv, "type_code", json_object_new_int(pr->type));
		json_object_object_add(resv, "scope", json_object_new_int(pr->scope));
		/* All Registrants types: every registrant holds it (SPC-4 5.13.10). */
		json_object_object_add(resv, "all_registrants", json_object_new_boolean(all));
		json_object_object_add(resv, "holder",
				       all ? NULL : json_object_new_string(pr->holder.initiator));
		json_object_object_add(resv, "holder_relative_port",
				       all ? NULL : json_object_new_int(pr->holder.rel_port_id));
	}
	json_object_object_add(o, "reservation", resv);
	if (pr->spc2_reserved) {
		spc2 = json_object_new_object();
		json_object_object_add(spc2, "initiator_port",
				       json_object_new_string(pr->spc2_holder.initiator));
		json_object_object_add(spc2, "relative_port",
				       json_object_new_int(pr->spc2_holder.rel_port_id));
	}
	json_object_object_add(o, "spc2_reservation", spc2);
	regs = json_object_new_array();
	for (uint32_t i = 0; i < pr->nregs; i++) {
		json_object_array_add(regs, pr_reg_json(pr, &pr->regs[i]));
	}
	json_object_object_add(o, "registrants", regs);
	ipc_request_reply_ok(a->req, o);
}

static void admin_pr_clear_done(struct daemon *d, struct daemon_pending *p, int rc,
				const char *err)
{
	struct json_object *v;
	int64_t uid = -1;

	/* Logged here at notice, with what it removed. */
	json_object_object_del(p->result, ADMIN_CHANGE_KEY);
	if (json_object_object_get_ex(p->result, "uid", &v)) {
		uid = json_object_get_int64(v);
	}
	if (rc == 0 && p->pr_res != NULL) {
		/* Every registration was dropped, each with its unit attention. */
		json_object_object_add(p->result, "registrations_removed",
				       json_object_new_int64(p->pr_res->n_ua));
		log_notice("persistent reservations of %s LUN %" PRId64 " cleared by uid %" PRId64
			   " (quoratectl pr clear): %u registration(s) removed, seq %" PRIu64,
			   json_object_get_string(json_object_object_get(p->result, "target")),
			   json_object_get_int64(json_object_object_get(p->result, "lun")), uid,
			   p->pr_res->n_ua, p->seq);
	} else if (rc < 0) {
		log_warn("pr clear asked by uid %" PRId64 " failed: %s", uid,
			 err[0] != '\0' ? err : strerror(-rc));
	}
	admin_done(d, p, rc, err);
}

static void cmd_pr_clear(struct admin_ctx *a)
{
	struct mutation op = { .kind = MUTATION_PR_CLEAR };
	struct json_object *res;
	uid_t uid;

	if (pr_args(a, &op.u.lu) == NULL) {
		return;
	}
	if (!arg_bool(a->args, "force")) {
		ipc_request_reply_err(a->req, CTL_ERR_REFUSED,
				      "pr clear drops every registration and the "
				      "reservation of the LUN: give force to confirm");
		return;
	}
	uid = ipc_request_uid(a->req);
	res = json_object_new_object();
	json_object_object_add(res, "target", json_object_new_string(op.u.lu.target));
	json_object_object_add(res, "lun", json_object_new_int(op.u.lu.lun));
	json_object_object_add(res, "uid", json_object_new_int64(uid == (uid_t)-1 ? -1 : (int64_t)uid));
	admin_propose_with(a->d, a->req, &op, res, admin_pr_clear_done);
}

/* ---- declarative configuration ---------------------------------------------------- */

/* config.export: the replicated configuration as one document (admin_config.h). */
static void cmd_config_export(struct admin_ctx *a)
{
	bool secrets = arg_bool(a->args, "secrets");

	if (secrets) {
		log_notice("configuration exported with its CHAP secrets to uid %" PRId64,
			   admin_uid(a->req));
	}
	ipc_request_reply_ok(a->req, admin_config_export(a->d, secrets));
}

/*
 * config.plan: the commands that make the model what "document" says
 * (removing what it does not list only with "prune"), and the conflicts
 * no command resolves in place. Read-only: quoratectl runs the steps.
 */
static void cmd_config_plan(struct admin_ctx *a)
{
	struct json_object *doc, *steps = NULL, *conflicts = NULL, *o;
	int rc;

	if (!json_object_object_get_ex(a->args, "document", &doc)) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "missing argument 'document'");
		return;
	}
	rc = admin_config_plan(a->d, doc, arg_bool(a->args, "prune"), &steps, &conflicts, a->err,
			       sizeof(a->err));
	if (rc < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "steps", steps);
	json_object_object_add(o, "conflicts", conflicts);
	ipc_request_reply_ok(a->req, o);
}

/* ---- cluster state: verify, snapshots ---------------------------------------- */

/*
 * Every member's (node id, epoch, applied sequence, digest) taken at one
 * point of the agreed stream (cluster_probe_summaries), and whether all
 * digests are equal. Two members at the same (epoch, seq) with different
 * digests have diverged; members at different sequences (one was behind at
 * the probe) or a member that did not answer are reported as not equal too.
 */
static void verify_done(const struct cluster_summary *m, size_t n, bool complete, void *arg)
{
	struct ipc_request *req = arg;
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	bool equal = complete, diverged = false;

	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_new_object();
		char hex[2 * CLUSTER_DIGEST_LEN + 1];

		admin_hex_format(hex, m[i].digest, sizeof(m[i].digest));
		json_object_object_add(e, "node_id", json_object_new_int64(m[i].node_id));
		json_object_object_add(e, "epoch", json_object_new_int64((int64_t)m[i].epoch));
		json_object_object_add(e, "applied_seq",
				       json_object_new_int64((int64_t)m[i].applied_seq));
		json_object_object_add(e, "digest", json_object_new_string(hex));
		json_object_array_add(arr, e);
		if (memcmp(m[i].digest, m[0].digest, sizeof(m[0].digest)) != 0) {
			equal = false;
			diverged |= m[i].epoch == m[0].epoch && m[i].applied_seq == m[0].applied_seq;
		}
	}
	json_object_object_add(o, "members", arr);
	json_object_object_add(o, "complete", json_object_new_boolean(complete));
	json_object_object_add(o, "consistent", json_object_new_boolean(equal));
	json_object_object_add(o, "diverged", json_object_new_boolean(diverged));
	ipc_request_reply_ok(req, o);
}

static void cmd_cluster_verify(struct admin_ctx *a)
{
	int rc = cluster_probe_summaries(a->d->cluster, verify_done, a->req);

	if (rc < 0) {
		ipc_request_reply_err(a->req, rc == -EBUSY ? CTL_ERR_UNAVAILABLE : CTL_ERR_FAILED,
				      "cannot collect the members' summaries: %s",
				      rc == -EBUSY ? "another verify is running" : strerror(-rc));
	}
}

/*
 * cluster.status: every node of the member table (cluster_peers(): the nodes
 * of corosync's nodelist and every member; standalone, this node) as this
 * node sees it: membership, serving, the last summary it heard and the
 * portals it announced.
 */
static void cmd_cluster_status(struct admin_ctx *a)
{
	struct daemon *d = a->d;
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	const struct cluster_peer *peers;
	size_t n = cluster_peers(d->cluster, &peers);

	for (size_t i = 0; i < n; i++) {
		const struct cluster_peer *p = &peers[i];
		struct json_object *e = json_object_new_object(), *portals = json_object_new_array();
		char hex[2 * CLUSTER_DIGEST_LEN + 1];

		admin_hex_format(hex, p->digest, sizeof(p->digest));
		for (size_t k = 0; k < p->portal_count; k++) {
			json_object_array_add(portals, json_object_new_string(p->portals[k]));
		}
		json_object_object_add(e, "node_id", json_object_new_int64(p->node_id));
		/* This node's [node] name where the nodelist gives none (standalone). */
		json_object_object_add(e, "name",
				       json_object_new_string(p->name[0] != '\0' || !p->self
								      ? p->name
								      : d->cfg.node_name));
		json_object_object_add(e, "self", json_object_new_boolean(p->self));
		json_object_object_add(e, "member", json_object_new_boolean(p->member));
		json_object_object_add(e, "serving", json_object_new_boolean(p->serving));
		json_object_object_add(e, "diverged", json_object_new_boolean(p->diverged));
		json_object_object_add(e, "epoch", json_object_new_int64((int64_t)p->epoch));
		json_object_object_add(e, "applied_seq",
				       json_object_new_int64((int64_t)p->applied_seq));
		json_object_object_add(e, "digest", json_object_new_string(hex));
		json_object_object_add(e, "portals", portals);
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "transport",
			       json_object_new_string(cluster_transport_name(d->cluster)));
	json_object_object_add(o, "node_id", json_object_new_int64(d->cfg.node_id));
	json_object_object_add(o, "quorate", json_object_new_boolean(cluster_is_quorate(d->cluster)));
	json_object_object_add(o, "nodes", arr);
	ipc_request_reply_ok(a->req, o);
}

/* The "path" argument: an absolute path. */
static int snapshot_path_arg(struct admin_ctx *a, char *path, size_t cap)
{
	if (arg_str(a->args, "path", true, path, cap, a->err) < 0) {
		return -EINVAL;
	}
	if (path[0] != '/') {
		snprintf(a->err, sizeof(a->err), "the snapshot path must be absolute");
		return -EINVAL;
	}
	return 0;
}

/*
 * snapshot.save: write this node's canonical snapshot to a new file (mode
 * 0600: it holds CHAP secrets). Node-local maintenance; nothing is proposed.
 */
static void cmd_snapshot_save(struct admin_ctx *a)
{
	char path[PATH_MAX], hex[2 * STATE_DIGEST_LEN + 1];
	uint8_t *buf = NULL, digest[STATE_DIGEST_LEN];
	struct json_object *o;
	size_t len = 0, off = 0;
	int fd, rc;

	if (snapshot_path_arg(a, path, sizeof(path)) < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	rc = state_snapshot_encode(a->d->state, &buf, &len);
	if (rc == 0) {
		rc = state_digest(a->d->state, digest);
	}
	if (rc < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_FAILED, "encoding the snapshot: %s",
				      strerror(-rc));
		free(buf);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, SNAPSHOT_FILE_MODE);
	rc = fd < 0 ? -errno : 0;
	while (rc == 0 && off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0) {
			rc = -errno;
		} else {
			off += (size_t)n;
		}
	}
	if (rc == 0 && fsync(fd) < 0) {
		rc = -errno;
	}
	if (fd >= 0 && close(fd) < 0 && rc == 0) {
		rc = -errno;
	}
	explicit_bzero(buf, len);
	free(buf);
	if (rc < 0) {
		if (fd >= 0) {
			unlink(path);
		}
		ipc_request_reply_err(a->req, ctl_err_kind(rc), "writing '%s': %s", path,
				      strerror(-rc));
		return;
	}
	admin_hex_format(hex, digest, sizeof(digest));
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)len));
	json_object_object_add(o, "epoch", json_object_new_int64((int64_t)state_epoch(a->d->state)));
	json_object_object_add(o, "applied_seq",
			       json_object_new_int64((int64_t)state_applied_seq(a->d->state)));
	json_object_object_add(o, "digest", json_object_new_string(hex));
	log_notice("snapshot saved to '%s' (seq %" PRIu64 ") by uid %" PRId64, path,
		   state_applied_seq(a->d->state), admin_uid(a->req));
	ipc_request_reply_ok(a->req, o);
}

#define SNAPSHOT_FILE_MAX (64ULL * 1024 * 1024)

/*
 * snapshot.install: replace this node's replicated state with a snapshot
 * file, through the transport's snapshot hook (the state transfer path),
 * so running objects are reconciled, not rebuilt. A maintenance command:
 * it needs "replace": true, because every change since the snapshot was
 * taken is dropped on this node.
 */
static void cmd_snapshot_install(struct admin_ctx *a)
{
	char path[PATH_MAX], hex[2 * STATE_DIGEST_LEN + 1];
	uint8_t *buf = NULL, digest[STATE_DIGEST_LEN];
	uint64_t seq = 0, epoch = 0;
	struct json_object *o;
	struct stat st;
	size_t off = 0;
	int fd, rc;

	if (snapshot_path_arg(a, path, sizeof(path)) < 0) {
		ipc_request_reply_err(a->req, CTL_ERR_INVALID, "%s", a->err);
		return;
	}
	if (!arg_bool(a->args, "replace")) {
		ipc_request_reply_err(a->req, CTL_ERR_REFUSED,
				      "installing a snapshot replaces this node's whole "
				      "replicated state; confirm with --replace");
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? -errno : fstat(fd, &st) < 0 ? -errno : 0;
	if (rc == 0 && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SNAPSHOT_FILE_MAX)) {
		rc = -EFBIG;
	}
	if (rc == 0) {
		buf = malloc((size_t)st.st_size + 1);
		rc = buf != NULL ? 0 : -ENOMEM;
	}
	while (rc == 0 && off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		rc = n < 0 ? -errno : n == 0 ? -EIO : 0;
		off += n > 0 ? (size_t)n : 0;
	}
	if (fd >= 0) {
		close(fd);
	}
	if (rc == 0) {
		rc = state_snapshot_peek(buf, off, &seq, &epoch);
	}
	if (rc == 0) {
		/* The transport's hook logs the outcome. */
		log_info("snapshot install from '%s' asked by uid %" PRId64, path,
			 admin_uid(a->req));
		rc = cluster_snapshot_install(a->d->cluster, buf, off, seq, epoch);
	}
	if (buf != NULL) {
		explicit_bzero(buf, off);
	}
	free(buf);
	if (rc < 0) {
		ipc_request_reply_err(a->req, rc == -EBADMSG ? CTL_ERR_INVALID : ctl_err_kind(rc),
				      "installing '%s': %s", path,
				      rc == -EBADMSG ? "not a valid snapshot (see the daemon log)"
						     : strerror(-rc));
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "epoch", json_object_new_int64((int64_t)epoch));
	json_object_object_add(o, "applied_seq", json_object_new_int64((int64_t)seq));
	if (state_digest(a->d->state, digest) == 0) {
		admin_hex_format(hex, digest, sizeof(digest));
		json_object_object_add(o, "digest", json_object_new_string(hex));
	}
	ipc_request_reply_ok(a->req, o);
}

static void cmd_portal_list(struct admin_ctx *a)
{
	admin_portal_list(a->d, a->req, a->args);
}

static void cmd_portal_add(struct admin_ctx *a)
{
	admin_portal_add(a->d, a->req, a->args);
}

static void cmd_portal_remove(struct admin_ctx *a)
{
	admin_portal_remove(a->d, a->req, a->args);
}

static void cmd_reload(struct admin_ctx *a)
{
	struct json_object *result;
	char origin[64];
	char err[CONFIG_ERR_MAX];
	int rc;

	snprintf(origin, sizeof(origin), "asked by uid %" PRId64, admin_uid(a->req));
	rc = daemon_reload(a->d, origin, &result, err, sizeof(err));
	if (rc < 0) {
		ipc_request_reply_err(a->req, rc == -EINVAL ? CTL_ERR_INVALID : CTL_ERR_FAILED,
				      "%s (the running settings are kept)", err);
		return;
	}
	ipc_request_reply_ok(a->req, result);
}

static const struct {
	const char *name;
	void (*fn)(struct admin_ctx *a);
} admin_cmds[] = {
	{ "cluster.status", cmd_cluster_status },
	{ "cluster.verify", cmd_cluster_verify },
	{ "config.export", cmd_config_export },
	{ "config.plan", cmd_config_plan },
	{ "snapshot.save", cmd_snapshot_save },
	{ "snapshot.install", cmd_snapshot_install },
	{ "status", cmd_status },
	{ "target.create", cmd_target_create },
	{ "target.delete", cmd_target_delete },
	{ "target.list", cmd_target_list },
	{ "target.set", cmd_target_set },
	{ "target.show", cmd_target_show },
	{ "lun.create", cmd_lun_create },
	{ "lun.delete", cmd_lun_delete },
	{ "lun.list", cmd_lun_list },
	{ "lun.show", cmd_lun_show },
	{ "lun.offline", cmd_lun_offline },
	{ "lun.online", cmd_lun_online },
	{ "lun.resize", cmd_lun_resize },
	{ "lun.set", cmd_lun_set },
	{ "acl.add", cmd_acl_add },
	{ "acl.remove", cmd_acl_remove },
	{ "acl.list", cmd_acl_list },
	{ "chap.set", cmd_chap_set },
	{ "chap.clear", cmd_chap_clear },
	{ "chap.list", cmd_chap_list },
	{ "session.list", cmd_session_list },
	{ "session.close", cmd_session_close },
	{ "session.show", cmd_session_show },
	{ "session.logout", cmd_session_logout },
	{ "stats", cmd_stats },
	{ "reload", cmd_reload },
	{ "pr.show", cmd_pr_show },
	{ "pr.clear", cmd_pr_clear },
	{ "portal.list", cmd_portal_list },
	{ "portal.add", cmd_portal_add },
	{ "portal.remove", cmd_portal_remove },
};

void daemon_admin_request(struct ipc_request *req, const char *cmd, struct json_object *args,
			  void *ctx)
{
	struct admin_ctx *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		ipc_request_reply_err(req, CTL_ERR_FAILED, "out of memory");
		return;
	}
	a->d = ctx;
	a->req = req;
	a->args = args;
	log_debug("ipc: %s", cmd);
	for (size_t i = 0; i < sizeof(admin_cmds) / sizeof(admin_cmds[0]); i++) {
		if (strcmp(admin_cmds[i].name, cmd) == 0) {
			admin_cmds[i].fn(a);
			free(a);
			return;
		}
	}
	ipc_request_reply_err(req, CTL_ERR_INVALID, "unknown command '%s'", cmd);
	free(a);
}
