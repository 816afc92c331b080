/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private structures of the iSCSI server (daemon/iscsi/libiscsi.a): server,
 * portals, target registry, sessions, connections, tasks and the transmit
 * queue. Only the files of this library include it.
 *
 * Ownership (one owner per object, written on the field):
 *  - the server owns portals, target entries, sessions and connections;
 *  - a session owns its task pool (grown lazily in chunks, bounded by the
 *    CmdSN window, kept until the session ends)
 *    and borrows its connection(s) (ERL 0, MaxConnections=1: at most one);
 *  - a task owns its data buffer while in use (from the server's
 *    size-classed buffer pool) and an embedded transmit descriptor, so the
 *    data path allocates nothing per command once the pools are warm.
 *
 * All of it runs on the main loop's thread; nothing takes a lock.
 */
#ifndef QUORATE_DAEMON_ISCSI_ISCSI_INT_H
#define QUORATE_DAEMON_ISCSI_ISCSI_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <qb/qblist.h>
#include <qb/qbloop.h>

#include "daemon/iscsi/iscsi.h"
#include "daemon/iscsi/params.h"
#include "daemon/iscsi/pdu.h"
#include "daemon/iscsi/pducheck.h"
#include "daemon/iscsi/sendtargets.h"
#include "daemon/base/loop_pass.h"
#include "daemon/scsi/scsi.h"

/* Largest Expected Data Transfer Length we serve in one command. Larger
 * commands get CHECK CONDITION, INVALID FIELD IN CDB without any allocation. */
#define ISCSI_EDTL_MAX (16u * 1024u * 1024u)
/* Buffer pool size classes (bytes): 4 KiB << (2 * n), up to ISCSI_EDTL_MAX. */
#define ISCSI_BUF_CLASS_MIN_SHIFT 12u
#define ISCSI_BUF_CLASSES	  7u
/* Free buffers cached per class (at most ISCSI_BUF_CACHE_BYTES of them, at
 * least 2); more are returned to the heap. */
#define ISCSI_BUF_CACHE_MAX   64u
#define ISCSI_BUF_CACHE_BYTES (64u * 1024u * 1024u)
/* Data buffer bytes one session may hold at once; beyond: TASK SET FULL. */
#define ISCSI_SESSION_BUF_MAX (256u * 1024u * 1024u)
/* Extra tasks per session for immediate commands (I bit), outside the window. */
#define ISCSI_IMMEDIATE_TASKS 4u
/* CmdSNs of task-less PDUs (NOP-Out, Text...) remembered ahead of a gap. */
#define ISCSI_SN_AHEAD_MAX 16u
/* Tasks allocated at once when a session's free list runs dry (the pool grows
 * lazily so an idle session holds none). */
#define ISCSI_TASK_CHUNK 16u
/* Stop reading from a connection while this many bytes wait to be sent. */
#define ISCSI_TX_BACKLOG_MAX (8u * 1024u * 1024u)
/* The server's shared receive staging buffer: one read(2) takes in every
 * PDU a connection has waiting (20 commands of 48 bytes, or a few 4 KiB
 * writes) instead of one readv per BHS and per data segment. */
#define ISCSI_RX_STAGE_SIZE (256u * 1024u)
/* A data segment piece at least this long is read straight into place
 * (task buffer) instead of through the stage: large writes skip a copy. */
#define ISCSI_RX_DIRECT_MIN (32u * 1024u)
/* Socket reads per readiness callback before yielding to other sockets. */
#define ISCSI_RX_READS_MAX 8u
/* iovecs per writev(2) call. */
#define ISCSI_TX_IOV_MAX 64u
/* Peer strings: "[v6addr%scope]:port". */
#define ISCSI_ADDR_STR_MAX 72u
#define ISCSI_NAME_BUF	   224u /* §4.2.7.1: names up to 223 bytes, plus NUL */
#define ISCSI_ALIAS_BUF	   256u /* §13.6 TargetAlias: a text value, up to 255 bytes */
/* "name,i,0x" + 12 hex digits of ISID. */
#define ISCSI_PORT_NAME_MAX (ISCSI_NAME_BUF + 24u)
/* Seconds an initiator the ACL stopped admitting has to log out (Parameter3
 * of its Asynchronous Message) before the target closes the session. Long
 * enough for an initiator to finish the logout exchange, short enough that
 * an initiator ignoring it loses access promptly. */
#define ISCSI_ACL_LOGOUT_WAIT_S 5u
/* A login must complete within this time (seconds). */
#define ISCSI_LOGIN_TIMEOUT_S 30u

struct iscsi_conn;
struct iscsi_session;
struct iscsi_task;
struct iscsi_tmf_pending;

/* One PDU waiting to be written. Embedded in its owner (task, control PDU). */
struct iscsi_tx {
	struct qb_list_head node;		       /* on conn->tx_queue */
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN]; /* BHS + header digest */
	uint32_t hdr_len;
	const uint8_t *data;		       /* borrowed from the owner */
	uint32_t data_len;		       /* DataSegmentLength */
	uint8_t trailer[3 + ISCSI_DIGEST_LEN]; /* pad + data digest */
	uint32_t trailer_len;
	uint32_t sent; /* bytes of this PDU already written */
	bool queued;
	/* Called once the whole PDU is on the wire (or the conn dies: @ok false). */
	void (*sent_fn)(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok);
};

/* A control PDU (NOP-In, Reject, TMF/Logout/Text/Login response, Async). */
struct iscsi_ctl_pdu {
	struct iscsi_tx tx;
	struct qb_list_head free_node;
	uint32_t cap;
	uint8_t *buf; /* owned, cap bytes */
};

enum iscsi_task_state {
	ISCSI_TASK_FREE = 0,
	ISCSI_TASK_RX,	       /* receiving immediate/unsolicited data */
	ISCSI_TASK_WAIT_CMDSN, /* complete but CmdSN gap before it */
	ISCSI_TASK_R2T,	       /* released, soliciting Data-Out */
	ISCSI_TASK_SCSI,       /* submitted, waiting for done() */
	ISCSI_TASK_TX,	       /* sending Data-In / response */
};

/* One outstanding R2T (§11.8) and the Data-Out sequence it solicits. */
#define ISCSI_R2T_TRACK 4u /* most R2Ts outstanding per task */
struct iscsi_r2t {
	struct iscsi_tx tx;
	struct iscsi_task *owner;
	bool active;
	uint32_t ttt;
	uint32_t off;	 /* Buffer Offset of the sequence */
	uint32_t len;	 /* Desired Data Transfer Length */
	uint32_t got;	 /* bytes received so far */
	uint32_t datasn; /* next expected DataSN */
};

struct iscsi_task {
	struct scsi_task scsi; /* handed to the SCSI layer */
	struct iscsi_session *session;
	struct iscsi_conn *conn;     /* borrowed; NULL once the conn is gone */
	struct qb_list_head node;    /* session->free_tasks or session->tasks */
	struct qb_list_head pending; /* session->cmdsn_wait, sorted by CmdSN */
	enum iscsi_task_state state;
	uint32_t itt;
	uint32_t cmdsn;
	bool immediate;
	bool slot_returned;		    /* window slot free again (final PDU queued) */
	bool released;			    /* CmdSN order reached (or immediate) */
	bool aborted;			    /* by TMF/logout: drop the response */
	struct iscsi_tmf_pending *tmf_wait; /* a TMF answers once this task is gone */
	uint32_t buf_class; /* pool class of scsi.buf, or UINT32_MAX */

	/* Failed before submit: answered with CHECK CONDITION, never submitted. */
	uint8_t fail_key;    /* sense key, 0 = not failed */
	uint16_t fail_asc;   /* (ASC << 8) | ASCQ */
	uint8_t fail_status; /* status when failing without sense (BUSY...) */

	/* Data-Out (§11.7, §11.8). */
	uint32_t write_len;    /* bytes the initiator will send = EDTL */
	uint32_t received;     /* bytes gathered (every sequence is in order) */
	uint32_t unsol_len;    /* unsolicited bytes allowed (FirstBurst) */
	uint32_t unsol_datasn; /* next DataSN in the unsolicited sequence */
	bool unsol_open;       /* unsolicited Data-Out still expected */
	uint32_t r2t_next_off; /* next offset to solicit */
	uint32_t r2t_outstanding;
	uint32_t r2tsn; /* R2Ts sent (next R2TSN) */
	struct iscsi_r2t r2t[ISCSI_R2T_TRACK];

	/* Data-In (§11.7). */
	uint32_t din_len; /* bytes to send */
	uint32_t din_off;
	uint32_t din_datasn;
	uint32_t din_burst; /* bytes sent in the current burst */
	bool din_status;    /* status phase-collapsed into the last Data-In */

	struct iscsi_tx tx;		      /* R2T / Data-In / SCSI Response */
	uint8_t rsp_data[2 + SCSI_SENSE_MAX]; /* SenseLength + sense */
};

enum iscsi_conn_state {
	ISCSI_CONN_LOGIN = 0,
	ISCSI_CONN_FULL_FEATURE,
	ISCSI_CONN_LOGGED_OUT, /* Logout Response queued: close after tx */
	ISCSI_CONN_CLOSING,    /* flush the tx queue then close */
	ISCSI_CONN_DEAD,
};

enum iscsi_rx_state {
	ISCSI_RX_BHS = 0,
	ISCSI_RX_HDR_REST, /* AHS + header digest */
	ISCSI_RX_DATA,	   /* data + pad + data digest */
};

struct iscsi_login; /* the pure login state machine (login.h) */

struct iscsi_conn {
	struct iscsi_server *server;
	struct iscsi_session *session; /* borrowed; NULL during login */
	struct qb_list_head node;      /* server->conns, then server->dead_conns */
	struct qb_list_head sess_node; /* session->conns */
	int fd;
	enum iscsi_conn_state state;
	char peer[ISCSI_ADDR_STR_MAX];			       /* "addr:port" of the initiator */
	struct sockaddr_storage local_addr;		       /* where the connection came in */
	char prefix[ISCSI_NAME_BUF + ISCSI_ADDR_STR_MAX + 64]; /* log prefix */
	uint16_t cid;
	bool poll_out;	/* POLLOUT registered */
	bool rx_paused; /* backpressure: POLLIN off */

	struct iscsi_params params; /* negotiated at login */
	uint32_t stat_sn;	    /* next StatSN to send */
	uint32_t exp_stat_sn;

	/* Receive state machine. */
	enum iscsi_rx_state rx_state;
	/* BHS, AHS and header digest, contiguous for the digest check. */
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_AHS_MAX_BYTES + ISCSI_DIGEST_LEN];
	uint8_t trailer[3 + ISCSI_DIGEST_LEN]; /* data pad + data digest */
	uint32_t rx_off;		       /* progress within the current piece */
	struct iscsi_pdu_layout rx_layout;
	uint8_t *rx_data;	    /* where the data segment goes */
	bool rx_discard;	    /* read the data segment into rx_buf, then drop */
	uint8_t rx_reject;	    /* SCSI Command: Reject reason found at header time */
	int rx_slot;		    /* Data-Out: R2T slot, -1 unsolicited */
	bool rx_bad_digest;	    /* data digest failed for the PDU in rx */
	struct iscsi_task *rx_task; /* data segment goes into this task */
	uint8_t *rx_buf;	    /* owned: non-SCSI data segments */
	uint32_t rx_buf_cap;
	/* Bytes read but not yet consumed when the receive loop had to stop
	 * (backpressure): owned, freed once consumed. Usually NULL. */
	uint8_t *rx_spill;
	uint32_t rx_spill_off, rx_spill_len;
	bool rx_drained;		 /* last read came up short: socket empty */
	unsigned int rx_reads;		 /* socket reads in this callback */
	bool in_rx;			 /* conn_rx running: no recursion */
	struct loop_deferred rx_resume;	 /* process rx_spill after a pause */
	bool in_kick;			 /* draining the queue: no recursion */
	struct loop_deferred tx_flush;	 /* end of pass: write the queue */

	/* Transmit queue. */
	struct qb_list_head tx_queue;
	uint64_t tx_backlog;	      /* bytes queued, not yet written */
	struct qb_list_head ctl_free; /* cached struct iscsi_ctl_pdu */
	uint32_t ctl_free_count;

	/* NOP-In pings (nop_interval_s / nop_timeout_s). */
	qb_loop_timer_handle nop_timer;
	bool nop_timer_armed;
	bool nop_outstanding;
	uint32_t nop_ttt;
	uint64_t last_rx_ms;
	uint64_t last_request_ms; /* last PDU but a NOP-Out (idle discovery sessions) */

	/* Login phase (login.h's state machine); NULL afterwards. */
	struct iscsi_login *login;
	/* Text Request/Response exchange (§11.10, §11.11), text.h's codec. */
	struct iscsi_text_exchange text;
	bool text_ready;
	bool async_sent;		 /* shutdown Async Message queued */
	struct qb_list_head tmf_pending; /* struct iscsi_tmf_pending.node */
};

/* A task-less PDU handled with its CmdSN ahead of a gap (session.c). */
struct iscsi_sn_ahead {
	uint32_t cmdsn;
	struct iscsi_ctl_pdu *answer; /* owned: sent once ExpCmdSN passes, or NULL */
};

/* A block of tasks of one session's pool; freed only with the session. */
struct iscsi_task_chunk {
	struct qb_list_head node; /* session->task_chunks */
	uint32_t ntasks;
	struct iscsi_task tasks[];
};

struct iscsi_session {
	struct iscsi_server *server;
	struct qb_list_head node;  /* server->sessions */
	struct qb_list_head conns; /* struct iscsi_conn.sess_node */
	unsigned int nconns;
	char initiator_name[ISCSI_NAME_BUF];
	char target_name[ISCSI_NAME_BUF]; /* "" for discovery */
	uint8_t isid[6];
	uint16_t tsih;
	bool discovery;
	struct iscsi_target_entry *target; /* borrowed; NULL for discovery */
	struct scsi_nexus *nexus;	   /* owned; NULL for discovery */
	struct iscsi_params params;	   /* session-wide result of the leading login */

	uint32_t exp_cmdsn;
	uint32_t max_cmdsn; /* last announced; never decreases */
	uint32_t ttt_next;

	struct qb_list_head task_chunks; /* owned struct iscsi_task_chunk */
	uint32_t ntasks;		 /* tasks in all chunks */
	uint32_t ntasks_max;		 /* queue_depth + ISCSI_IMMEDIATE_TASKS */
	uint32_t window_free;	 /* free tasks for CmdSN-ordered commands */
	uint64_t buf_bytes;	 /* data buffer bytes held by its tasks */
	uint32_t immediate_free; /* free tasks reserved for immediate commands */
	struct qb_list_head free_tasks;
	struct qb_list_head tasks;	/* in use */
	struct qb_list_head cmdsn_wait; /* released-pending, sorted by CmdSN */
	struct iscsi_sn_ahead sn_ahead[ISCSI_SN_AHEAD_MAX]; /* iscsi_session_cmdsn_note_ahead() */
	uint32_t n_sn_ahead;
	bool closing;			/* being torn down: no new work */
	bool evicting;			/* logout requested (ACL, administrator) */
	bool evict_timer_armed;
	qb_loop_timer_handle evict_timer; /* closes it if the initiator does not log out */
	const char *evict_why;		/* static: why it is closed when the timer fires */
	/* How it logged in, for 'session show' (node-local, never replicated). */
	int64_t login_time;		/* seconds since the epoch */
	bool chap;			/* AuthMethod=CHAP */
	bool chap_mutual;		/* ... and the target authenticated itself */
	char chap_user[ISCSI_ALIAS_BUF];	/* CHAP_N, "" without CHAP */
	char initiator_alias[ISCSI_ALIAS_BUF];
	char local[ISCSI_ADDR_STR_MAX];	/* the portal the leading connection came in on */
	unsigned int hold;		/* > 0: a caller walks the session, don't free */
	struct io_stats stats;		/* its SCSI commands (scsi_cmd.c, task_stats()) */
};

/* A registered target. */
struct iscsi_acl_entry {
	struct qb_list_head node;
	char name[ISCSI_NAME_BUF];
};

struct iscsi_chap_store {
	bool enabled;
	char *user;
	char *secret;
	char *mutual_user;
	char *mutual_secret;
};

struct iscsi_target_entry {
	struct qb_list_head node; /* server->targets */
	struct scsi_target *scsi; /* borrowed */
	char name[ISCSI_NAME_BUF];
	char alias[ISCSI_ALIAS_BUF];
	struct qb_list_head acl; /* struct iscsi_acl_entry */
	struct iscsi_chap_store chap;
};

struct iscsi_portal {
	struct qb_list_head node; /* server->portals */
	struct iscsi_server *server;
	int fd;
	char addr[ISCSI_ADDR_STR_MAX]; /* as given: "host:port" */
	struct sockaddr_storage sa;
	socklen_t sa_len;
	bool wildcard;
};

/* One portal of the SendTargets table (discovery.c), resolved when fed. */
struct iscsi_discovery_entry {
	uint32_t node_id;
	uint16_t tpgt;
	bool serving;
	bool wildcard; /* 0.0.0.0 / [::]: only this node's is reported (at the local address) */
	struct sockaddr_storage sa;
};

/* The SendTargets table the daemon feeds (discovery.c). */
/* When an initiator was last told (in the log) that ACLs hid targets from it. */
struct iscsi_hidden_note {
	uint64_t name_hash; /* FNV-1a of the initiator name; 0 = free */
	uint64_t at_ms;
};

#define ISCSI_HIDDEN_NOTES 32u

struct iscsi_discovery {
	bool fed; /* false: the server's own portals stand for this node */
	uint32_t local_node_id;
	struct iscsi_discovery_entry *entries; /* owned, n of them, in the order fed */
	unsigned int n;
	struct iscsi_hidden_note hidden[ISCSI_HIDDEN_NOTES];
};

/* At most @burst lines per @interval_ms (admit.c). */
struct iscsi_log_limit {
	uint64_t window_start;
	uint32_t in_window;
	uint64_t suppressed; /* refused since the last line that passed */
};

/* Failed CHAP authentications of one initiator name ('i') or source address ('a'). */
#define ISCSI_AUTH_TRACK 256u
struct iscsi_auth_fail {
	char kind; /* '\0': free slot */
	char key[ISCSI_NAME_BUF];
	uint32_t failures; /* in a row */
	uint64_t last_ms;  /* of the last failure */
	uint64_t until_ms; /* no CHAP verification before this */
};

/* Admission state of the server (admit.c). */
struct iscsi_admit {
	bool accept_paused; /* listeners out of the loop after EMFILE & co. */
	qb_loop_timer_handle accept_timer;
	bool accept_timer_armed;
	uint64_t accept_log_ms;
	uint64_t accept_failures;
	qb_loop_timer_handle sweep_timer; /* idle discovery sessions */
	bool sweep_armed;
	struct iscsi_log_limit login_log;
	struct iscsi_auth_fail auth[ISCSI_AUTH_TRACK];
};

struct iscsi_buf_class {
	void *free[ISCSI_BUF_CACHE_MAX];
	uint32_t nfree;
};

struct iscsi_server {
	qb_loop_t *loop;
	struct iscsi_server_config cfg;
	struct iscsi_params limits; /* what we negotiate towards */
	struct qb_list_head portals;
	struct qb_list_head targets;
	struct qb_list_head sessions;
	struct qb_list_head conns;
	struct qb_list_head dead_conns; /* closed, freed by iscsi_conn_reap_dead() */
	struct iscsi_chap_store discovery_chap;
	struct iscsi_discovery discovery; /* portals SendTargets reports */
	uint32_t nsessions;  /* all sessions, discovery ones included */
	uint32_t ndiscovery; /* discovery sessions (max_discovery_sessions) */
	struct iscsi_admit admit;
	uint16_t tsih_next;
	struct iscsi_buf_class bufs[ISCSI_BUF_CLASSES];
	/* Receive staging (ISCSI_RX_STAGE_SIZE, allocated on first use): holds
	 * one connection's bytes during its receive callback only. */
	uint8_t *rx_stage;
	uint32_t rx_stage_off, rx_stage_len;
	bool destroying;
};

/* session.c */
/** What 'session list|show' reports of @s (strings borrowed from it). */
void iscsi_session_info_fill(struct iscsi_session *s, struct iscsi_session_info *info);

/* server.c */
struct iscsi_target_entry *iscsi_target_find(struct iscsi_server *server, const char *name);
bool iscsi_target_acl_allows(const struct iscsi_target_entry *t, const char *initiator);
int iscsi_buf_get(struct iscsi_server *server, uint32_t len, uint8_t **buf, uint32_t *cap,
		  uint32_t *cls);
void iscsi_buf_put(struct iscsi_server *server, uint8_t *buf, uint32_t cls);
uint64_t iscsi_now_ms(void);

/* portal.c */
void iscsi_portal_close_all(struct iscsi_server *server);
int32_t iscsi_portal_accept_cb(int32_t fd, int32_t revents, void *data);
/* Format a socket address as "addr:port" ("[v6]:port"). */
void iscsi_sockaddr_str(const struct sockaddr *sa, char *out, size_t len);
/* Resolve "HOST:PORT" / "[v6]:PORT" as a portal listens on it; *@wildcard for
 * 0.0.0.0 / [::] (an empty host or "*" is [::]). @return 0 or -EINVAL. */
int iscsi_portal_resolve(const char *host_port, struct sockaddr_storage *sa, bool *wildcard);

/* discovery.c: the portals SendTargets reports */
void iscsi_discovery_fini(struct iscsi_discovery *d);
/*
 * Append the SendTargets answer for @value (§13.3, Appendix C) on a
 * connection that came in at @local, for @initiator (NULL: no target is
 * visible) in a session of @type whose target is @session_target ("" for
 * discovery). @return 0, -ENOSPC or -ENOMEM.
 */
int iscsi_discovery_sendtargets(struct iscsi_server *server,
				const struct sockaddr_storage *local, const char *initiator,
				enum iscsi_session_type type, const char *session_target,
				const char *value, struct iscsi_text_builder *out);

/* admit.c: admission of connections and logins */
bool iscsi_log_limit_pass(struct iscsi_log_limit *l, uint32_t burst, uint32_t interval_ms,
			  uint64_t *suppressed);
/* accept4() failed with @err: true if it was for want of resources (the
 * listeners pause for a while); false for errors the caller handles. */
bool iscsi_admit_accept_failed(struct iscsi_portal *portal, int err);
/* May one more connection in the login phase be taken (max_login_connections)? */
bool iscsi_admit_conn(struct iscsi_server *server, const char *peer);
/* May one more discovery session start? 0 or -EBUSY. */
int iscsi_admit_discovery(struct iscsi_server *server, const char *peer);
/* A discovery session started on @conn: idle time counts from now. */
void iscsi_admit_discovery_started(struct iscsi_conn *conn);
/* May @conn verify a CHAP response of @initiator now? 0 or -EAGAIN (back-off). */
int iscsi_admit_chap_attempt(struct iscsi_conn *conn, const char *initiator);
/* A CHAP response of @initiator on @conn was verified: right (@ok) or wrong. */
void iscsi_admit_chap_result(struct iscsi_conn *conn, const char *initiator, bool ok);
/* Log a failed login ("@what failed: status: @reason"), rate-limited. */
void iscsi_admit_log_login_failure(struct iscsi_conn *conn, const char *what, uint16_t status,
				   const char *reason);
void iscsi_admit_fini(struct iscsi_server *server);

/* Log a line about @conn, prefixed with its initiator, ISID, TSIH, CID and
 * peer (callers include daemon/base/log.h). */
#define iscsi_conn_log(conn, lvl, fmt, ...) \
	qb_log(lvl, "iscsi: %s: " fmt, (conn)->prefix, ##__VA_ARGS__)

/* conn.c: connection lifecycle and the receive state machine */
int iscsi_conn_create(struct iscsi_server *server, int fd, const struct sockaddr *peer,
		      const struct sockaddr *local, socklen_t local_len);
void iscsi_conn_close(struct iscsi_conn *conn, const char *why);
void iscsi_conn_close_after_tx(struct iscsi_conn *conn);
void iscsi_conn_reap_dead(struct iscsi_server *server);
void iscsi_conn_enter_full_feature(struct iscsi_conn *conn);
void iscsi_conn_update_rx(struct iscsi_conn *conn);
/* Register the socket for POLLIN (unless paused) and POLLOUT (if wanted). */
void iscsi_conn_poll_update(struct iscsi_conn *conn);

/* conn_tx.c: the transmit queue */
void iscsi_conn_tx_init(struct iscsi_conn *conn);
/* The connection closes: fail every queued PDU (its sent_fn gets @ok false). */
void iscsi_conn_tx_fini(struct iscsi_conn *conn);
void iscsi_conn_tx_queue(struct iscsi_conn *conn, struct iscsi_tx *tx);
void iscsi_conn_tx_kick(struct iscsi_conn *conn);
/* Fill hdr digest / pad / data digest of @tx from its BHS and data. */
void iscsi_conn_tx_prepare(struct iscsi_conn *conn, struct iscsi_tx *tx);

/* conn_ctl.c: NOP, Text, Logout, Async Message, Reject */
struct iscsi_ctl_pdu *iscsi_ctl_get(struct iscsi_conn *conn, uint32_t data_cap);
/* Free a control PDU that was never queued (its connection may be gone). */
void iscsi_ctl_discard(struct iscsi_ctl_pdu *pdu);
/* The connection closes: free its cached control PDUs. */
void iscsi_conn_ctl_fini(struct iscsi_conn *conn);
/* Stamp StatSN/ExpCmdSN/MaxCmdSN into a response BHS (bytes 24..35). */
void iscsi_conn_stamp_sn(struct iscsi_conn *conn, uint8_t *bhs, bool advance_statsn);
void iscsi_conn_send_reject(struct iscsi_conn *conn, uint8_t reason, const uint8_t *bad_bhs);
void iscsi_conn_send_ctl(struct iscsi_conn *conn, struct iscsi_ctl_pdu *pdu);
/* Stamp the NOP-In answer @pdu (StatSN, ExpCmdSN, MaxCmdSN) and queue it. */
void iscsi_conn_send_nop_answer(struct iscsi_conn *conn, struct iscsi_ctl_pdu *pdu);
/* (Re)arm the ping / login timer for @seconds; 0 stops it. */
void iscsi_conn_nop_timer_arm(struct iscsi_conn *conn, uint32_t seconds);
/* A complete NOP-Out is in conn->hdr / conn->rx_buf; @ahead: its CmdSN is
 * ahead of a gap (answered when the gap fills). */
void iscsi_conn_rx_nop_out(struct iscsi_conn *conn, bool ahead);
void iscsi_conn_rx_logout(struct iscsi_conn *conn);
void iscsi_conn_rx_text(struct iscsi_conn *conn);
void iscsi_conn_send_async_logout(struct iscsi_conn *conn);
/* Asynchronous Message AsyncEvent 1: log out within @wait_s seconds (§11.9.1). */
void iscsi_conn_request_logout(struct iscsi_conn *conn, uint16_t wait_s);

/* conn_login.c: login phase glue around login.h's state machine */
void iscsi_conn_login_init(struct iscsi_conn *conn);
void iscsi_conn_login_fini(struct iscsi_conn *conn);
/* A complete Login Request PDU (bhs + data) arrived. */
void iscsi_conn_login_pdu(struct iscsi_conn *conn, const uint8_t *bhs, const uint8_t *data,
			  uint32_t len);

/* session.c */
int iscsi_session_create(struct iscsi_server *server, const char *initiator, const uint8_t isid[6],
			 struct iscsi_target_entry *target, const struct iscsi_params *params,
			 struct iscsi_session **out);
void iscsi_session_destroy(struct iscsi_session *session);
struct iscsi_session *iscsi_session_find(struct iscsi_server *server, const char *initiator,
					 const uint8_t isid[6], const char *target_name);
struct iscsi_session *iscsi_session_find_tsih(struct iscsi_server *server, uint16_t tsih);
void iscsi_session_attach(struct iscsi_session *session, struct iscsi_conn *conn);
void iscsi_session_detach(struct iscsi_session *session, struct iscsi_conn *conn);
/* The session's connection (ERL 0, MaxConnections=1), or NULL. */
struct iscsi_conn *iscsi_session_conn(struct iscsi_session *session);
/* CmdSN check for a non-immediate PDU: 0 in order, 1 queue (ahead), -1 drop. */
int iscsi_session_cmdsn_check(struct iscsi_session *session, uint32_t cmdsn);
void iscsi_session_cmdsn_advance(struct iscsi_session *session);
/*
 * A non-immediate PDU without a task (control PDU, a command a TMF declared
 * received) was handled with @cmdsn ahead of ExpCmdSN: ExpCmdSN passes it
 * once the gap before it fills (run_pending), and @answer (a NOP-In built
 * but not stamped, or NULL) is sent then, so it carries an ExpCmdSN past
 * its NOP-Out. @return 0, or -ENOSPC when ISCSI_SN_AHEAD_MAX are noted
 * already (the caller drops the PDU; @answer stays the caller's).
 */
int iscsi_session_cmdsn_note_ahead(struct iscsi_session *session, uint32_t cmdsn,
				   struct iscsi_ctl_pdu *answer);
uint32_t iscsi_session_max_cmdsn(struct iscsi_session *session);
struct iscsi_task *iscsi_task_alloc(struct iscsi_session *session, bool immediate);
void iscsi_task_free(struct iscsi_task *task);
/* The task's final PDU is queued: its CmdSN window slot counts as free (session.c). */
void iscsi_task_return_slot(struct iscsi_task *task);
struct iscsi_task *iscsi_task_find_itt(struct iscsi_session *session, uint32_t itt);
uint32_t iscsi_session_next_ttt(struct iscsi_session *session);
/* Abort every task of @session matching @lun (all LUNs when @all_luns). */
void iscsi_session_abort_tasks(struct iscsi_session *session, bool all_luns, uint64_t lun,
			       struct iscsi_tmf_pending *wait);
void iscsi_session_run_pending(struct iscsi_session *session);
/* Close the session's connections and free it once no task is in flight. */
void iscsi_session_shutdown(struct iscsi_session *session, const char *why);
void iscsi_session_maybe_free(struct iscsi_session *session);

/* scsi_cmd.c */
void iscsi_scsi_cmd_rx_bhs(struct iscsi_conn *conn);
void iscsi_scsi_cmd_rx_done(struct iscsi_conn *conn);
void iscsi_scsi_cmd_rx_bad_digest(struct iscsi_conn *conn);
void iscsi_data_out_rx_bhs(struct iscsi_conn *conn);
void iscsi_data_out_rx_done(struct iscsi_conn *conn);
void iscsi_task_release(struct iscsi_task *task);
void iscsi_task_conn_gone(struct iscsi_task *task);
/* Abort one task: free it now if nobody holds it, else when they let go;
 * @wait (may be NULL) is a TMF response held back until then. */
void iscsi_task_abort(struct iscsi_task *task, struct iscsi_tmf_pending *wait);

/* tmf.c */
void iscsi_tmf_rx(struct iscsi_conn *conn);
/* A task a TMF waits for is gone. */
void iscsi_tmf_task_gone(struct iscsi_tmf_pending *wait);
void iscsi_tmf_wait_add(struct iscsi_tmf_pending *wait);
/* The connection closes: its held-back TMF responses are dropped. */
void iscsi_tmf_conn_gone(struct iscsi_conn *conn);

#endif
