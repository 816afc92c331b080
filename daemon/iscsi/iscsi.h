/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The iSCSI target (RFC 7143) as the rest of the daemon sees it: a server
 * with listening portals, a registry of targets with their ACLs and CHAP
 * credentials, and the sessions it hosts. The daemon's apply step updates the
 * registry; the connection code only reads it.
 *
 * All calls run on the main loop's thread.
 */
#ifndef QUORATE_DAEMON_ISCSI_ISCSI_H
#define QUORATE_DAEMON_ISCSI_ISCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qb/qbloop.h>

struct scsi_target;
struct scsi_task;
struct io_stats;
struct iscsi_server;

/* Node-local negotiation limits and timers (from the config file). */
struct iscsi_server_config {
	uint16_t tpgt;			/* target portal group tag of this node */
	uint32_t max_recv_dsl;		/* MaxRecvDataSegmentLength we declare */
	uint32_t max_burst;		/* upper bound we accept for MaxBurstLength */
	uint32_t first_burst;		/* upper bound for FirstBurstLength */
	uint32_t max_outstanding_r2t;
	uint32_t queue_depth;		/* CmdSN window per session (MaxCmdSN - ExpCmdSN + 1) */
	uint32_t nop_interval_s;	/* idle time before a NOP-In ping, 0 = never */
	uint32_t nop_timeout_s;		/* no answer to a ping: drop the connection */
	uint32_t max_sessions;		/* normal sessions, across all targets */
	uint32_t busy_poll_us;		/* poll this long after activity instead of sleeping (loop_pass.h) */
	/* Admission (admit.c); 0 turns each off. */
	uint32_t max_discovery_sessions;	/* counted apart from max_sessions */
	uint32_t discovery_idle_timeout_s;	/* close a discovery session idle this long */
	uint32_t max_login_connections;	/* connections that have not finished login */
	uint32_t chap_backoff_max_s;	/* longest back-off after failed CHAP */
	uint32_t require_mutual_chap;	/* 1: refuse one-way CHAP where a mutual secret is set */
	bool allow_cold_reset;		/* honour TMF TARGET COLD RESET (drops every session) */
};

/* CHAP secrets: one-way (initiator authenticates to us), and optionally mutual. */
struct iscsi_chap_cred {
	const char *user;		/* CHAP_N the initiator must present */
	const char *secret;		/* its secret (12..255 bytes recommended) */
	const char *mutual_user;	/* our CHAP_N for mutual CHAP, or NULL */
	const char *mutual_secret;	/* our secret for mutual CHAP, or NULL */
};

/** Raise the soft RLIMIT_NOFILE to the hard limit (each connection is a descriptor). */
void iscsi_raise_fd_limit(void);

int iscsi_server_create(qb_loop_t *loop, const struct iscsi_server_config *cfg, struct iscsi_server **out);
/**
 * Take the tunables of @cfg that only shape what happens next: the NOP-In
 * interval and timeout, the session, discovery and login-connection caps,
 * the discovery idle timeout, the CHAP back-off, require_mutual_chap and
 * allow_cold_reset. Sessions already in place keep running (one above a
 * lowered max_sessions is not closed); the next login, ping or timer sees
 * the new values. Negotiation limits, queue depth, busy poll and the TPGT
 * stay as created (a restart changes them).
 */
void iscsi_server_set_runtime(struct iscsi_server *server, const struct iscsi_server_config *cfg);
/**
 * Shut down: send an Asynchronous Message (AsyncEvent 1, logout requested)
 * to every full-feature connection, then close all connections and
 * listeners. Frees the server.
 */
void iscsi_server_destroy(struct iscsi_server *server);
/**
 * Optional first step of a graceful shutdown: send the Asynchronous Message
 * (logout requested) to every full-feature connection now, so the daemon can
 * keep running its loop for a short grace period (initiators log out) before
 * calling iscsi_server_destroy(). Idempotent per connection.
 */
void iscsi_server_logout_all(struct iscsi_server *server);

/** Listen on "HOST:PORT" ("[v6]:PORT", "0.0.0.0:3260"). @return 0 or -errno. */
int iscsi_server_add_portal(struct iscsi_server *server, const char *host_port);
/**
 * Stop listening on @host_port (as given to iscsi_server_add_portal()).
 * Connections accepted through it stay. @return 0 or -ENOENT.
 */
int iscsi_server_remove_portal(struct iscsi_server *server, const char *host_port);
/**
 * Could a portal listen on @host_port now? Binds and closes a socket.
 * @return 0, or -errno: -EINVAL (does not resolve), -EADDRNOTAVAIL (no such
 * address on this host), -EADDRINUSE (taken), -EACCES (privileged port).
 */
int iscsi_portal_probe(const char *host_port);

/*
 * The portals SendTargets reports (RFC 7143 §13.3; discovery.c): one row
 * per portal of every node, which the daemon feeds. For each target the
 * initiator may see (ACL), the answer lists the portals of every serving
 * node as TargetAddress=addr:port,tpgt: this node first (starting with the
 * address the connection came in on; a wildcard portal of this node is
 * reported at that address with its own port), then the other nodes in
 * the order fed (a wildcard portal of another node is not reported). Until
 * the first feed the server's own portals stand for this node, serving.
 */
#define ISCSI_DISCOVERY_PORTALS_MAX 256u

struct iscsi_discovery_portal {
	uint32_t node_id;
	const char *address;		/* "HOST:PORT" or "[v6]:PORT", as a portal listens */
	uint16_t tpgt;			/* this node's must be the server config's tpgt */
	bool serving;			/* false: the node's portals are not reported */
};

/**
 * Replace the whole table with @n portals (copied; addresses resolved now).
 * @local_node_id names this node among them. @return 0, -EINVAL (an address
 * that does not resolve, this node's portal with another TPGT), -E2BIG
 * (more than ISCSI_DISCOVERY_PORTALS_MAX) or -ENOMEM; on error the previous
 * table stays.
 */
int iscsi_discovery_set_portals(struct iscsi_server *server, uint32_t local_node_id,
				const struct iscsi_discovery_portal *portals, unsigned int n);
/**
 * The numeric form of portal @host_port as a listening portal takes it
 * ("addr:port", "[v6addr]:port"; a host name resolved, an empty host or "*"
 * the wildcard; an IPv4-mapped address as IPv4) into @out (@cap bytes).
 * Resolves names: not for the loop's steady state. @return 0, -EINVAL or
 * -ENAMETOOLONG.
 */
int iscsi_portal_numeric(const char *host_port, char *out, size_t cap);
/** Is @host_port "a.b.c.d:port" or "[v6addr]:port", port 1..65535 (no name to resolve)? */
bool iscsi_portal_is_numeric(const char *host_port);
/** Mark every portal of @node_id serving or not. @return 0 or -ENOENT (no such node fed). */
int iscsi_discovery_set_serving(struct iscsi_server *server, uint32_t node_id, bool serving);

/** Serve @target (borrowed) under its name; @alias may be NULL. @return 0 or -errno. */
int iscsi_target_register(struct iscsi_server *server, struct scsi_target *target, const char *alias);
int iscsi_target_unregister(struct iscsi_server *server, const char *target_name);
/** The TargetAlias that logins to @target_name declare from now on (NULL or "": none). */
int iscsi_target_set_alias(struct iscsi_server *server, const char *target_name,
			   const char *alias);

/*
 * Access control. With no ACL entry a target admits every initiator; with at
 * least one it admits only listed initiator names (login status 0x0202
 * otherwise). An initiator whose CHAP fails gets 0x0201.
 */
int iscsi_target_acl_add(struct iscsi_server *server, const char *target_name, const char *initiator_name);
int iscsi_target_acl_remove(struct iscsi_server *server, const char *target_name, const char *initiator_name);
/**
 * End the sessions of @target_name whose initiator its ACL no longer admits
 * (after acl add/remove): each gets an Asynchronous Message asking for
 * logout within ISCSI_ACL_LOGOUT_WAIT_S seconds (RFC 7143 §11.9.1,
 * AsyncEvent 1, Parameter3), its new SCSI commands are rejected with
 * "Waiting for Logout", and it is closed when that time has passed.
 * @return the number of sessions being ended.
 */
unsigned int iscsi_target_end_unadmitted(struct iscsi_server *server, const char *target_name);
/** Require CHAP for @target_name (NULL: for discovery sessions); @cred NULL turns it off. */
int iscsi_chap_set(struct iscsi_server *server, const char *target_name, const struct iscsi_chap_cred *cred);

/* A snapshot of one session, for `quoratectl session list|show`. */
struct iscsi_session_info {
	const char *initiator_name;
	const char *target_name;	/* "" for discovery sessions */
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t connections;
	const char *peer;		/* "addr:port" of the first connection */
	const char *local;		/* the portal "addr:port" it logged in through */
	bool discovery;
	uint32_t tasks;			/* tasks in its pool (lazy, window-bounded) */
	uint32_t tasks_active;		/* commands in progress */
	int64_t login_time;		/* seconds since the epoch */
	const char *initiator_alias;	/* "" if none */
	bool chap;			/* AuthMethod CHAP (else None) */
	const char *chap_user;		/* "" without CHAP */
	bool chap_mutual;		/* the target authenticated itself too */
	bool logout_requested;		/* asked to log out (ACL change, administrator) */
	/* Negotiated (RFC 7143 §13), of the session and its first connection. */
	bool header_digest;		/* CRC32C */
	bool data_digest;
	uint32_t max_recv_dsl;		/* MaxRecvDataSegmentLength we declared */
	uint32_t max_xmit_dsl;		/* ... the initiator declared */
	uint32_t max_burst;
	uint32_t first_burst;
	bool initial_r2t;
	bool immediate_data;
	uint32_t max_outstanding_r2t;
	uint32_t max_connections;
	uint32_t default_time2wait;
	uint32_t default_time2retain;
	uint32_t error_recovery_level;
	bool data_pdu_in_order;
	bool data_sequence_in_order;
	/*
	 * Its completed SCSI commands (daemon/base/io_stats.h), all LUNs
	 * together, also those the transport answered itself (a Data-Out
	 * error, an EDTL too large: no latency). Valid during the callback.
	 */
	const struct io_stats *stats;
};

/* Does the I_T nexus of @initiator_port ("name,i,0x<isid>") match? */
typedef bool (*iscsi_port_match_fn)(const char *initiator_port, void *ctx);
/**
 * PREEMPT AND ABORT (SPC-4 5.13.11.2.4): abort every task on LU @lun_id of
 * @target_name in the sessions whose initiator port @match accepts, except
 * @keep (the PERSISTENT RESERVE OUT itself). Tasks still in the transport
 * are dropped; tasks in the SCSI layer (backing I/O) finish and their
 * responses are dropped. @return the number of tasks aborted.
 */
unsigned int iscsi_target_abort_tasks(struct iscsi_server *server, const char *target_name,
				      uint16_t lun_id, iscsi_port_match_fn match, void *ctx,
				      const struct scsi_task *keep);

typedef void (*iscsi_session_fn)(const struct iscsi_session_info *info, void *ctx);
void iscsi_server_foreach_session(struct iscsi_server *server, iscsi_session_fn fn, void *ctx);
/** Close a session by TSIH (admin action). @return 0 or -ENOENT. */
int iscsi_session_close(struct iscsi_server *server, uint16_t tsih);
/** Does session @info match? (iscsi_sessions_request_logout) */
typedef bool (*iscsi_session_match_fn)(const struct iscsi_session_info *info, void *ctx);
/**
 * Ask every session @match accepts (and not already asked) to log out
 * within @wait_s seconds: an Asynchronous Message, AsyncEvent 1 (logout
 * requested), Parameter3 = @wait_s (RFC 7143 §11.9.1); its new SCSI
 * commands are rejected with "Waiting for Logout" and it is closed when
 * @wait_s have passed (@why, a static string, says so in the log).
 * @return the number of sessions asked.
 */
unsigned int iscsi_sessions_request_logout(struct iscsi_server *server,
					   iscsi_session_match_fn match, void *ctx,
					   uint16_t wait_s, const char *why);

#endif
