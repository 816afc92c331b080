/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Re-reading quorated.conf at run time (SIGHUP, `quoratectl reload`). The
 * file is parsed as strictly as at start, and a file with an error changes
 * nothing. Of a good file, what can change under running sessions is
 * applied: the log level, the [iscsi] tunables that only shape the next
 * login, ping or timer (iscsi_server_set_runtime()), and the listen
 * portals (portals.c: new ones open first; one that cannot listen fails
 * the reload and changes nothing; removed ones close, their sessions
 * stay). Every other key that
 * differs from the file the daemon started with is logged at notice as
 * taking effect at the next restart, at each reload until then. Comparing
 * with the start-time file rather than the running values keeps the
 * command-line overrides (--data-dir, --listen, ...) and the node id
 * corosync gives from reading as changes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/base/log.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/iscsi/iscsi.h"

/* [iscsi] numbers, by whether iscsi_server_set_runtime() takes them. */
static const struct {
	const char *name;
	size_t offset; /* in struct config_iscsi */
	bool runtime;
} reload_iscsi_nums[] = {
	{"nop_interval", offsetof(struct config_iscsi, nop_interval_s), true},
	{"nop_timeout", offsetof(struct config_iscsi, nop_timeout_s), true},
	{"max_sessions", offsetof(struct config_iscsi, max_sessions), true},
	{"max_discovery_sessions", offsetof(struct config_iscsi, max_discovery_sessions), true},
	{"discovery_idle_timeout", offsetof(struct config_iscsi, discovery_idle_timeout_s), true},
	{"max_login_connections", offsetof(struct config_iscsi, max_login_connections), true},
	{"chap_backoff_max", offsetof(struct config_iscsi, chap_backoff_max_s), true},
	{"require_mutual_chap", offsetof(struct config_iscsi, require_mutual_chap), true},
	{"max_recv_data_segment_length", offsetof(struct config_iscsi, max_recv_dsl), false},
	{"max_burst_length", offsetof(struct config_iscsi, max_burst), false},
	{"first_burst_length", offsetof(struct config_iscsi, first_burst), false},
	{"max_outstanding_r2t", offsetof(struct config_iscsi, max_outstanding_r2t), false},
	{"queue_depth", offsetof(struct config_iscsi, queue_depth), false},
	{"busy_poll", offsetof(struct config_iscsi, busy_poll_us), false},
};

static uint32_t reload_iscsi_num(const struct config_iscsi *c, size_t offset)
{
	return *(const uint32_t *)((const char *)c + offset);
}

static void reload_restart(struct json_object *list, const char *path, const char *key)
{
	log_notice("reload: %s changed in '%s'; it takes effect when quorated restarts", key, path);
	json_object_array_add(list, json_object_new_string(key));
}

static bool reload_listen_same(const struct config *a, const struct config *b)
{
	if (a->listen_count != b->listen_count) {
		return false;
	}
	for (unsigned int i = 0; i < a->listen_count; i++) {
		if (strcmp(a->listen[i], b->listen[i]) != 0) {
			return false;
		}
	}
	return true;
}

/* The keys that differ from the start-time file and need a restart. */
static void reload_restart_keys(struct daemon *d, const struct config *n, struct json_object *list)
{
	const struct config *o = &d->file_cfg;
	const char *path = d->config_path;

	if (strcmp(o->node_name, n->node_name) != 0) {
		reload_restart(list, path, "[node] name");
	}
	if (o->node_id_set != n->node_id_set || o->node_id != n->node_id) {
		reload_restart(list, path, "[node] id");
	}
	if (strcmp(o->data_dir, n->data_dir) != 0) {
		reload_restart(list, path, "[node] data_dir");
	}
	if (o->cluster != n->cluster) {
		reload_restart(list, path, "[node] cluster");
	}
	if (strcmp(o->ipc_name, n->ipc_name) != 0) {
		reload_restart(list, path, "[node] ipc_name");
	}
	if (strcmp(o->pid_file, n->pid_file) != 0) {
		reload_restart(list, path, "[node] pid_file");
	}
	if (strcmp(o->admin_group, n->admin_group) != 0) {
		reload_restart(list, path, "[node] admin_group");
	}
	for (size_t i = 0; i < sizeof(reload_iscsi_nums) / sizeof(reload_iscsi_nums[0]); i++) {
		char key[64];

		if (reload_iscsi_nums[i].runtime ||
		    reload_iscsi_num(&o->iscsi, reload_iscsi_nums[i].offset) ==
			    reload_iscsi_num(&n->iscsi, reload_iscsi_nums[i].offset)) {
			continue;
		}
		snprintf(key, sizeof(key), "[iscsi] %s", reload_iscsi_nums[i].name);
		reload_restart(list, path, key);
	}
	if (strcmp(o->metrics_listen, n->metrics_listen) != 0) {
		reload_restart(list, path, "[metrics] listen");
	}
}

/* Apply what can change at run time; list each changed key in @list. */
static void reload_apply(struct daemon *d, const struct config *n, struct json_object *list)
{
	struct config_iscsi *run = &d->cfg.iscsi;
	struct iscsi_server_config sc;

	if (n->log_level != d->cfg.log_level) {
		log_notice("reload: [node] log_level %s -> %s",
			   config_log_level_name(d->cfg.log_level),
			   config_log_level_name(n->log_level));
		d->cfg.log_level = n->log_level;
		daemon_log_level_apply(d);
		json_object_array_add(list, json_object_new_string("[node] log_level"));
	}
	for (size_t i = 0; i < sizeof(reload_iscsi_nums) / sizeof(reload_iscsi_nums[0]); i++) {
		uint32_t *field = (uint32_t *)((char *)run + reload_iscsi_nums[i].offset);
		uint32_t v = reload_iscsi_num(&n->iscsi, reload_iscsi_nums[i].offset);
		char key[64];

		if (!reload_iscsi_nums[i].runtime || *field == v) {
			continue;
		}
		log_notice("reload: [iscsi] %s %u -> %u", reload_iscsi_nums[i].name, *field, v);
		*field = v;
		snprintf(key, sizeof(key), "[iscsi] %s", reload_iscsi_nums[i].name);
		json_object_array_add(list, json_object_new_string(key));
	}
	if (run->allow_cold_reset != n->iscsi.allow_cold_reset) {
		log_notice("reload: [iscsi] allow_cold_reset %s -> %s",
			   run->allow_cold_reset ? "true" : "false",
			   n->iscsi.allow_cold_reset ? "true" : "false");
		run->allow_cold_reset = n->iscsi.allow_cold_reset;
		json_object_array_add(list, json_object_new_string("[iscsi] allow_cold_reset"));
	}
	if (d->iscsi != NULL) {
		daemon_iscsi_config(run, &sc);
		iscsi_server_set_runtime(d->iscsi, &sc);
	}
}

int daemon_reload(struct daemon *d, const char *origin, struct json_object **result, char *err,
		  size_t errlen)
{
	struct config n;
	struct json_object *changed, *restart;
	bool listen_changed;
	int rc;

	*result = NULL;
	if (d->config_path == NULL) {
		snprintf(err, errlen, "quorated was started without a configuration file");
		log_err("reload (%s): %s", origin, err);
		return -ENOENT;
	}
	config_init(&n);
	/* A file without log_level keeps the running level (--log-level). */
	n.log_level = d->cfg.log_level;
	rc = config_load(&n, d->config_path, err, errlen);
	if (rc < 0) {
		log_err("reload (%s): %s; keeping the running settings", origin, err);
		return rc;
	}
	/*
	 * Portals first: the one step that can fail (an address not on this
	 * host, a port in use), and then nothing else changes either.
	 */
	listen_changed = !reload_listen_same(&d->file_cfg, &n);
	if (listen_changed) {
		rc = daemon_portals_reload(d, &n, err, errlen);
		if (rc < 0) {
			log_err("reload (%s): %s; keeping the running settings", origin, err);
			return rc;
		}
		memcpy(d->file_cfg.listen, n.listen, sizeof(n.listen));
		d->file_cfg.listen_count = n.listen_count;
	}
	changed = json_object_new_array();
	restart = json_object_new_array();
	if (listen_changed) {
		json_object_array_add(changed, json_object_new_string("[iscsi] listen"));
	}
	reload_apply(d, &n, changed);
	reload_restart_keys(d, &n, restart);
	log_notice("reload (%s): '%s' read, %zu setting(s) applied, %zu waiting for a restart",
		   origin, d->config_path, json_object_array_length(changed),
		   json_object_array_length(restart));
	*result = json_object_new_object();
	json_object_object_add(*result, "file", json_object_new_string(d->config_path));
	json_object_object_add(*result, "applied", changed);
	json_object_object_add(*result, "restart_needed", restart);
	return 0;
}
