// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What this node reports about itself and its I/O, in two forms: the JSON
 * of `quoratectl stats` (admin IPC) and the Prometheus exposition of
 * /metrics (daemon/metrics.c). Both read the same objects on the loop's
 * thread: the per-LU counters of the SCSI layer (through daemon_lun_stats)
 * and the per-session counters of the iSCSI server, both struct io_stats
 * (daemon/base/io_stats.h); the node, quorum and PR gauges come from the
 * config, the transport and the replicated model.
 *
 * Metric names follow the Prometheus conventions: the quorate_ prefix,
 * base units (_bytes, _seconds), _total on counters, one label set per
 * series. Per-LUN series are labelled target and lun; per-session series
 * target, initiator, isid and tsih (a re-login is a new session, so a new
 * series; the TSIH keeps two sessions of one I_T nexus apart during a
 * reinstatement). Every sense key gets a series, zero or not, so a rate()
 * over errors never meets a missing series.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include <config.h> /* autoconf (not daemon/config.h): PACKAGE_VERSION */
#include "daemon/base/io_stats.h"
#include "daemon/daemon.h"
#include "daemon/expo.h"
#include "daemon/iscsi/iscsi.h"
#include "quorum/cluster.h"

#define ISID_HEX_LEN 12
#define LABELS_MAX   6 /* session labels + one of kind / sense key */

/* ---- JSON ------------------------------------------------------------------------ */

static void stats_json_fill(struct json_object *o, const struct io_stats *s)
{
	struct json_object *cmds = json_object_new_object(), *errs = json_object_new_object();
	struct json_object *lat = json_object_new_object(), *buckets = json_object_new_array();
	uint64_t count = 0;

	for (unsigned int k = 0; k < IO_STATS_KINDS; k++) {
		json_object_object_add(cmds, io_stats_kind_name(k),
				       json_object_new_uint64(s->commands[k]));
	}
	json_object_object_add(o, "commands", cmds);
	json_object_object_add(o, "read_bytes", json_object_new_uint64(s->read_bytes));
	json_object_object_add(o, "written_bytes", json_object_new_uint64(s->written_bytes));
	for (unsigned int k = 0; k < IO_STATS_SENSE_KEYS; k++) {
		json_object_object_add(errs, io_stats_sense_key_name(k),
				       json_object_new_uint64(s->errors[k]));
	}
	json_object_object_add(o, "errors", errs);
	json_object_object_add(o, "reservation_conflicts",
			       json_object_new_uint64(s->reservation_conflicts));
	for (unsigned int k = 0; k < IO_STATS_LAT_BUCKETS; k++) {
		struct json_object *b = json_object_new_object();
		uint64_t le = io_stats_bucket_le_us(k);

		json_object_object_add(b, "le_us", le ? json_object_new_uint64(le) : NULL);
		json_object_object_add(b, "count", json_object_new_uint64(s->latency[k]));
		json_object_array_add(buckets, b);
		count += s->latency[k];
	}
	json_object_object_add(lat, "count", json_object_new_uint64(count));
	json_object_object_add(lat, "sum_ns", json_object_new_uint64(s->latency_sum_ns));
	json_object_object_add(lat, "buckets", buckets);
	json_object_object_add(o, "latency", lat);
}

/*
 * The I/O families, written once for the LUs and once for the sessions
 * (prefix quorate_lun_ or quorate_session_). Each row writes its samples
 * for one object with that object's labels.
 */
enum io_family_kind {
	IO_FAM_COMMANDS,
	IO_FAM_READ_BYTES,
	IO_FAM_WRITTEN_BYTES,
	IO_FAM_ERRORS,
	IO_FAM_CONFLICTS,
	IO_FAM_LATENCY,
};

struct session_walk {
	const char *target;	  /* NULL: every target */
	struct json_object *arr;  /* JSON: the sessions array */
	struct expo *e;		  /* exposition: the writer, */
	const char *family;	  /* the family being written */
	enum io_family_kind kind; /* and its kind */
	unsigned int count;
};

static void isid_hex(const uint8_t isid[6], char out[ISID_HEX_LEN + 1])
{
	for (unsigned int i = 0; i < 6; i++) {
		snprintf(out + 2 * i, 3, "%02x", isid[i]);
	}
}

/* Normal sessions only: a discovery session runs no SCSI command. */
static bool session_wanted(const struct iscsi_session_info *info, const struct session_walk *w)
{
	return !info->discovery && info->stats != NULL &&
	       (w->target == NULL || strcmp(info->target_name, w->target) == 0);
}

static void session_json_fn(const struct iscsi_session_info *info, void *ctx)
{
	struct session_walk *w = ctx;
	struct json_object *o;
	char isid[ISID_HEX_LEN + 1];

	if (!session_wanted(info, w)) {
		return;
	}
	o = json_object_new_object();
	isid_hex(info->isid, isid);
	json_object_object_add(o, "target", json_object_new_string(info->target_name));
	json_object_object_add(o, "initiator", json_object_new_string(info->initiator_name));
	json_object_object_add(o, "isid", json_object_new_string(isid));
	json_object_object_add(o, "tsih", json_object_new_int(info->tsih));
	stats_json_fill(o, info->stats);
	json_object_array_add(w->arr, o);
}

struct json_object *daemon_stats_json(struct daemon *d, const char *target)
{
	struct json_object *res = json_object_new_object(), *luns = json_object_new_array();
	struct session_walk w = {.target = target, .arr = json_object_new_array()};

	for (const struct state_target *t = state_target_first(d->state); t != NULL;
	     t = state_target_next(t)) {
		if (target != NULL && strcmp(target, t->rec.name) != 0) {
			continue;
		}
		for (const struct state_lun *l = state_lun_first(t); l != NULL;
		     l = state_lun_next(l)) {
			const struct io_stats *s = daemon_lun_stats(d, t->rec.name, l->rec.lun);
			struct json_object *o;

			if (s == NULL) {
				continue; /* not an LU on this node (its file did not open) */
			}
			o = json_object_new_object();
			json_object_object_add(o, "target", json_object_new_string(t->rec.name));
			json_object_object_add(o, "lun", json_object_new_int(l->rec.lun));
			stats_json_fill(o, s);
			json_object_array_add(luns, o);
		}
	}
	iscsi_server_foreach_session(d->iscsi, session_json_fn, &w);
	json_object_object_add(res, "luns", luns);
	json_object_object_add(res, "sessions", w.arr);
	return res;
}

/* ---- exposition ------------------------------------------------------------------ */

static const struct {
	enum io_family_kind kind;
	const char *suffix;
	const char *type;
	const char *help;
} io_families[] = {
	{IO_FAM_COMMANDS, "commands_total", "counter",
	 "SCSI commands completed, by kind: read (READ), write (commands that modify the "
	 "medium), other."},
	{IO_FAM_READ_BYTES, "read_bytes_total", "counter",
	 "Data-In bytes of read commands that completed with GOOD status."},
	{IO_FAM_WRITTEN_BYTES, "written_bytes_total", "counter",
	 "Data-Out bytes of write commands that completed with GOOD status."},
	{IO_FAM_ERRORS, "errors_total", "counter",
	 "Commands that completed with CHECK CONDITION, by sense key."},
	{IO_FAM_CONFLICTS, "reservation_conflicts_total", "counter",
	 "Commands that completed with RESERVATION CONFLICT."},
	{IO_FAM_LATENCY, "latency_seconds", "histogram",
	 "Time from the SCSI layer taking a command to its completion."},
};

static void io_family_samples(struct expo *e, const char *name, enum io_family_kind kind,
			      struct expo_label *labels, unsigned int n, const struct io_stats *s)
{
	switch (kind) {
	case IO_FAM_COMMANDS:
		for (unsigned int k = 0; k < IO_STATS_KINDS; k++) {
			labels[n] = (struct expo_label){"kind", io_stats_kind_name(k)};
			expo_u64(e, name, labels, n + 1, s->commands[k]);
		}
		break;
	case IO_FAM_READ_BYTES:
		expo_u64(e, name, labels, n, s->read_bytes);
		break;
	case IO_FAM_WRITTEN_BYTES:
		expo_u64(e, name, labels, n, s->written_bytes);
		break;
	case IO_FAM_ERRORS:
		for (unsigned int k = 0; k < IO_STATS_SENSE_KEYS; k++) {
			labels[n] = (struct expo_label){"sense_key", io_stats_sense_key_name(k)};
			expo_u64(e, name, labels, n + 1, s->errors[k]);
		}
		break;
	case IO_FAM_CONFLICTS:
		expo_u64(e, name, labels, n, s->reservation_conflicts);
		break;
	case IO_FAM_LATENCY:
		expo_histogram(e, name, labels, n, s);
		break;
	}
}

static void session_expo_fn(const struct iscsi_session_info *info, void *ctx)
{
	struct session_walk *w = ctx;
	struct expo_label labels[LABELS_MAX];
	char isid[ISID_HEX_LEN + 1], tsih[8];

	if (!session_wanted(info, w)) {
		return;
	}
	isid_hex(info->isid, isid);
	snprintf(tsih, sizeof(tsih), "%u", info->tsih);
	labels[0] = (struct expo_label){"target", info->target_name};
	labels[1] = (struct expo_label){"initiator", info->initiator_name};
	labels[2] = (struct expo_label){"isid", isid};
	labels[3] = (struct expo_label){"tsih", tsih};
	io_family_samples(w->e, w->family, w->kind, labels, 4, info->stats);
}

static void session_count_fn(const struct iscsi_session_info *info, void *ctx)
{
	struct session_walk *w = ctx;

	w->count += session_wanted(info, w);
}

static void gauge(struct expo *e, const char *name, const char *help, uint64_t v)
{
	expo_family(e, name, "gauge", help);
	expo_u64(e, name, NULL, 0, v);
}

static void node_gauges(struct expo *e, struct daemon *d)
{
	struct session_walk w = {0};
	char node_id[16];
	const struct expo_label info[] = {
		{"node", d->cfg.node_name},
		{"node_id", node_id},
		{"version", PACKAGE_VERSION},
		{"transport", cluster_transport_name(d->cluster)},
	};

	snprintf(node_id, sizeof(node_id), "%" PRIu32, d->cfg.node_id);
	expo_family(e, "quorate_node_info", "gauge",
		    "This node: its name, id, software version and cluster transport (always 1).");
	expo_u64(e, "quorate_node_info", info, sizeof(info) / sizeof(info[0]), 1);
	gauge(e, "quorate_node_id", "This node's id ([node] id): its ALUA group and TPGT.",
	      d->cfg.node_id);
	gauge(e, "quorate_node_quorate", "1 if this node is in a quorate partition.",
	      cluster_is_quorate(d->cluster));
	gauge(e, "quorate_node_serving",
	      "1 if this node serves media access (quorate and synced); 0: its port group "
	      "is Unavailable.",
	      cluster_is_serving(d->cluster));
	gauge(e, "quorate_start_time_seconds",
	      "When this daemon started, in seconds since the epoch.", (uint64_t)d->started);
	gauge(e, "quorate_state_epoch", "The replicated state's epoch.", state_epoch(d->state));
	gauge(e, "quorate_state_applied_sequence",
	      "Sequence number of the last mutation applied to the replicated state.",
	      state_applied_seq(d->state));
	iscsi_server_foreach_session(d->iscsi, session_count_fn, &w);
	gauge(e, "quorate_sessions", "Normal (not discovery) iSCSI sessions on this node.",
	      w.count);
}

/* One family's samples for the LUNs of the model, written by a lun_fn per LUN. */
struct lun_walk {
	struct daemon *d;
	struct expo *e;
	const char *family;
	unsigned int which; /* enum lun_gauge or enum io_family_kind */
};

typedef void (*lun_fn)(const struct lun_walk *w, const struct state_target *t,
		       const struct state_lun *l, struct expo_label *labels);

static void lun_walk(const struct lun_walk *w, lun_fn fn)
{
	for (const struct state_target *t = state_target_first(w->d->state); t != NULL;
	     t = state_target_next(t)) {
		for (const struct state_lun *l = state_lun_first(t); l != NULL;
		     l = state_lun_next(l)) {
			struct expo_label labels[LABELS_MAX];
			char lun[8];

			snprintf(lun, sizeof(lun), "%u", l->rec.lun);
			labels[0] = (struct expo_label){"target", t->rec.name};
			labels[1] = (struct expo_label){"lun", lun};
			fn(w, t, l, labels);
		}
	}
}

/* Per-LUN gauges of every LUN in the model, online here or not. */
enum lun_gauge {
	LUN_ONLINE,
	LUN_PR_GENERATION,
	LUN_SIZE,
};

static const struct {
	const char *name;
	const char *help;
} lun_gauges[] = {
	[LUN_ONLINE] = {"quorate_lun_online",
			"1 if the LUN is online (an LU serving) on this node."},
	[LUN_PR_GENERATION] = {"quorate_lun_pr_generation",
			       "The LUN's PRgeneration (SPC-4): moves on with every registration "
			       "change."},
	[LUN_SIZE] = {"quorate_lun_size_bytes", "The LUN's capacity."},
};

static void lun_gauge_fn(const struct lun_walk *w, const struct state_target *t,
			 const struct state_lun *l, struct expo_label *labels)
{
	const char *why;
	uint64_t v = w->which == LUN_ONLINE ? daemon_lun_online(w->d, t->rec.name, l->rec.lun, &why)
		     : w->which == LUN_PR_GENERATION ? l->pr.generation
						     : l->rec.size_bytes;

	expo_u64(w->e, w->family, labels, 2, v);
}

/* The I/O counters of the LUNs that are LUs on this node. */
static void lun_io_fn(const struct lun_walk *w, const struct state_target *t,
		      const struct state_lun *l, struct expo_label *labels)
{
	const struct io_stats *s = daemon_lun_stats(w->d, t->rec.name, l->rec.lun);

	if (s != NULL) {
		io_family_samples(w->e, w->family, (enum io_family_kind)w->which, labels, 2, s);
	}
}

char *daemon_metrics_render(size_t *len, void *ctx)
{
	struct daemon *d = ctx;
	struct expo e;
	char name[96];

	expo_init(&e);
	node_gauges(&e, d);
	for (unsigned int g = 0; g < sizeof(lun_gauges) / sizeof(lun_gauges[0]); g++) {
		struct lun_walk w = {.d = d, .e = &e, .family = lun_gauges[g].name, .which = g};

		expo_family(&e, lun_gauges[g].name, "gauge", lun_gauges[g].help);
		lun_walk(&w, lun_gauge_fn);
	}
	for (size_t f = 0; f < sizeof(io_families) / sizeof(io_families[0]); f++) {
		struct lun_walk w = {.d = d, .e = &e, .family = name, .which = io_families[f].kind};

		snprintf(name, sizeof(name), "quorate_lun_%s", io_families[f].suffix);
		expo_family(&e, name, io_families[f].type, io_families[f].help);
		lun_walk(&w, lun_io_fn);
	}
	for (size_t f = 0; f < sizeof(io_families) / sizeof(io_families[0]); f++) {
		struct session_walk w = {.e = &e, .family = name, .kind = io_families[f].kind};

		snprintf(name, sizeof(name), "quorate_session_%s", io_families[f].suffix);
		expo_family(&e, name, io_families[f].type, io_families[f].help);
		iscsi_server_foreach_session(d->iscsi, session_expo_fn, &w);
	}
	return expo_take(&e, len);
}
