/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quorated.conf: node-local settings only (DESIGN §5); shared state (targets,
 * LUNs, ACLs, CHAP) lives in the replicated store, never here. Parsed with
 * inih. Every unknown section or key and every bad value is an error naming
 * file:line; nothing is silently ignored. See quorated.conf(5).
 */
#ifndef QUORATE_DAEMON_CONFIG_H
#define QUORATE_DAEMON_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_NODE_NAME_MAX 63
#define CONFIG_IPC_NAME_MAX 63
#define CONFIG_GROUP_NAME_MAX 63
#define CONFIG_LISTEN_MAX 16		/* portals per node */
#define CONFIG_PORTAL_MAX 63		/* "[v6addr]:port" */
#define CONFIG_ERR_MAX 512

#define CONFIG_DEFAULT_DATA_DIR LOCALSTATEDIR "/lib/quorate"
#define CONFIG_DEFAULT_IPC_NAME "quorated"
#define CONFIG_DEFAULT_LISTEN "0.0.0.0:3260"

enum config_cluster {
	CONFIG_CLUSTER_STANDALONE,	/* in-process loopback transport */
	CONFIG_CLUSTER_COROSYNC,	/* CPG + votequorum (quorum/corosync.c) */
};

/*
 * [iscsi] tunables as read from the file. The daemon hands them to
 * iscsi_server_create() as its struct iscsi_server_config (daemon/main.c),
 * so parsing the file needs nothing of daemon/iscsi.
 */
struct config_iscsi {
	uint16_t tpgt;			/* target portal group tag of this node */
	uint32_t max_recv_dsl;		/* MaxRecvDataSegmentLength we declare */
	uint32_t max_burst;		/* upper bound we accept for MaxBurstLength */
	uint32_t first_burst;		/* upper bound for FirstBurstLength */
	uint32_t max_outstanding_r2t;
	uint32_t queue_depth;		/* CmdSN window per session */
	uint32_t nop_interval_s;	/* idle time before a NOP-In ping, 0 = never */
	uint32_t nop_timeout_s;		/* no answer to a ping: drop the connection */
	uint32_t max_sessions;		/* normal sessions, across all targets */
	uint32_t busy_poll_us;		/* poll this long after activity instead of sleeping */
	uint32_t max_discovery_sessions;
	uint32_t discovery_idle_timeout_s;
	uint32_t max_login_connections;
	uint32_t chap_backoff_max_s;
	uint32_t require_mutual_chap;
	bool allow_cold_reset;
};

struct config {
	/* [node] */
	char node_name[CONFIG_NODE_NAME_MAX + 1];
	uint32_t node_id;		/* TPGT / ALUA group / relative port id (DESIGN §3) */
	bool node_id_set;		/* given in the file (cluster mode: must be corosync's) */
	char data_dir[PATH_MAX];
	enum config_cluster cluster;
	int log_level;			/* syslog priority: LOG_ERR .. LOG_DEBUG, or LOG_TRACE */
	char ipc_name[CONFIG_IPC_NAME_MAX + 1];
	char pid_file[PATH_MAX];	/* "" unless configured */
	char admin_group[CONFIG_GROUP_NAME_MAX + 1];	/* "": root and the daemon's uid only */
	/* [iscsi] */
	char listen[CONFIG_LISTEN_MAX][CONFIG_PORTAL_MAX + 1];
	unsigned int listen_count;
	struct config_iscsi iscsi;
	/* [metrics] */
	char metrics_listen[CONFIG_PORTAL_MAX + 1];	/* HOST:PORT of /metrics; "" = off */
};

/** Fill @cfg with the defaults (node name = host name). */
void config_init(struct config *cfg);
/**
 * Parse @path over the values already in @cfg. On error returns -EINVAL (or
 * -errno if the file cannot be read) and writes "FILE:LINE: message" to @err.
 */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/** Replace the listen list with the comma-separated @list. @return 0 or -EINVAL. */
int config_set_listen(struct config *cfg, const char *list, char *err, size_t errlen);
/** Check a "HOST:PORT" / "[V6]:PORT" portal string. */
bool config_portal_valid(const char *portal);

/** "err", "warning", ... <-> syslog priority; -1 for an unknown name. */
int config_log_level_parse(const char *name);
const char *config_log_level_name(int level);

#endif
