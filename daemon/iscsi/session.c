// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iSCSI sessions (RFC 7143 §4.4, ERL 0, MaxConnections=1): TSIH allocation,
 * lookup for reinstatement, the CmdSN window (§4.2.2.1) and the task pool.
 *
 * CmdSN window: the session may hold queue_depth tasks for commands in
 * CmdSN order plus ISCSI_IMMEDIATE_TASKS for immediate ones. MaxCmdSN is
 * ExpCmdSN + (free window tasks) + (commands already received ahead of a
 * gap) - 1, so every CmdSN the initiator may send finds a task, and the
 * announced MaxCmdSN never decreases (initiators ignore a smaller one).
 * Commands outside [ExpCmdSN, MaxCmdSN] are dropped silently; commands
 * ahead of ExpCmdSN wait on cmdsn_wait until the gap fills.
 *
 * A task gives its window slot back when its final PDU (status) is queued,
 * before that PDU is stamped, not when it is on the wire: the responses of
 * one loop pass are queued together and written with one writev, and each
 * must announce the slots of all of them, or a burst that filled the window
 * would leave it closed with nothing left to reopen it. The initiator can
 * use such a slot only once it has read that PDU, and by then the PDU and
 * every one queued before it are written and their tasks freed (FIFO
 * queue, sent_fn right after the writev); the pool may still grow to twice
 * ntasks_max should a task be slower to go.
 *
 * Task pool: window_free/immediate_free count the tasks the session may
 * still take, whether allocated or not. The pool starts empty and grows by
 * ISCSI_TASK_CHUNK tasks when the free list is empty but a counter allows a
 * task; tasks holding a slot never exceed ntasks_max. Chunks stay until the
 * session ends, so once the pool has grown to the initiator's working depth
 * no command allocates.
 *
 * Teardown: a session whose connection is gone aborts its tasks; tasks with
 * backing I/O in flight cannot be cancelled, so the session struct (and the
 * I_T nexus the SCSI layer may still reference) lives until the last task
 * came back through done(), then iscsi_session_maybe_free() frees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/base/log.h"

/* RFC 1982 serial number arithmetic on 32-bit sequence numbers. */
static bool sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) < 0;
}

static bool sn_le(uint32_t a, uint32_t b)
{
	return a == b || sn_lt(a, b);
}

static uint16_t session_tsih_alloc(struct iscsi_server *server)
{
	/* TSIH 0 is reserved for "new session" (§11.12.6); skip TSIHs in use. */
	for (uint32_t tries = 0; tries < 0x10000u; tries++) {
		uint16_t t = server->tsih_next++;

		if (t == 0) {
			continue;
		}
		if (!iscsi_session_find_tsih(server, t)) {
			return t;
		}
	}
	return 0;
}

int iscsi_session_create(struct iscsi_server *server, const char *initiator, const uint8_t isid[6],
			 struct iscsi_target_entry *target, const struct iscsi_params *params,
			 struct iscsi_session **out)
{
	struct iscsi_session *s;
	uint32_t depth = server->cfg.queue_depth;
	int rc;

	/* Discovery sessions have their own limit (admit.c): anonymous
	 * discovery must not take the slots of normal sessions. */
	if (target == NULL ? server->cfg.max_discovery_sessions &&
				     server->ndiscovery >= server->cfg.max_discovery_sessions :
			     server->cfg.max_sessions &&
				     server->nsessions - server->ndiscovery >= server->cfg.max_sessions) {
		return -EBUSY;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	s->server = server;
	qb_list_init(&s->conns);
	qb_list_init(&s->task_chunks);
	qb_list_init(&s->free_tasks);
	qb_list_init(&s->tasks);
	qb_list_init(&s->cmdsn_wait);
	snprintf(s->initiator_name, sizeof(s->initiator_name), "%s", initiator);
	memcpy(s->isid, isid, sizeof(s->isid));
	s->params = *params;
	s->discovery = target == NULL;
	s->target = target;
	if (target) {
		snprintf(s->target_name, sizeof(s->target_name), "%s", target->name);
	}
	s->tsih = session_tsih_alloc(server);
	if (s->tsih == 0) {
		free(s);
		return -EBUSY;
	}
	s->ntasks_max = depth + ISCSI_IMMEDIATE_TASKS;
	s->window_free = depth;
	s->immediate_free = ISCSI_IMMEDIATE_TASKS;
	if (target) {
		char iport[ISCSI_PORT_NAME_MAX], tport[ISCSI_PORT_NAME_MAX];

		/* DESIGN §3 / RFC 7143 §4.4.1: I_T nexus port names. */
		snprintf(iport, sizeof(iport), "%s,i,0x%02x%02x%02x%02x%02x%02x", initiator,
			 isid[0], isid[1], isid[2], isid[3], isid[4], isid[5]);
		snprintf(tport, sizeof(tport), "%s,t,0x%04x", target->name, server->cfg.tpgt);
		rc = scsi_nexus_create(target->scsi, iport, tport, &s->nexus);
		if (rc != 0) {
			free(s);
			return rc;
		}
	}
	qb_list_add_tail(&s->node, &server->sessions);
	server->nsessions++;
	if (s->discovery) {
		server->ndiscovery++;
	}
	*out = s;
	return 0;
}

/* Add one chunk of free tasks, at most up to twice ntasks_max (see the top). */
static int session_tasks_grow(struct iscsi_session *s)
{
	struct iscsi_task_chunk *c;
	uint32_t n = 2u * s->ntasks_max - s->ntasks;

	if (n == 0) {
		return -ENOSPC;
	}
	if (n > ISCSI_TASK_CHUNK) {
		n = ISCSI_TASK_CHUNK;
	}
	c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->tasks[0]));
	if (!c) {
		return -ENOMEM;
	}
	c->ntasks = n;
	for (uint32_t i = 0; i < n; i++) {
		c->tasks[i].session = s;
		c->tasks[i].buf_class = UINT32_MAX;
		qb_list_init(&c->tasks[i].pending);
		qb_list_add_tail(&c->tasks[i].node, &s->free_tasks);
	}
	qb_list_add_tail(&c->node, &s->task_chunks);
	s->ntasks += n;
	return 0;
}

void iscsi_session_destroy(struct iscsi_session *s)
{
	struct iscsi_server *server = s->server;
	struct iscsi_task_chunk *c, *cn;
	bool busy = false;

	if (s->evict_timer_armed) {
		qb_loop_timer_del(server->loop, s->evict_timer);
		s->evict_timer_armed = false;
	}
	qb_list_for_each_entry(c, &s->task_chunks, node) {
		for (uint32_t i = 0; i < c->ntasks; i++) {
			struct iscsi_task *t = &c->tasks[i];

			if (t->state == ISCSI_TASK_SCSI) {
				busy = true;
			} else if (t->buf_class != UINT32_MAX) {
				iscsi_buf_put(server, t->scsi.buf, t->buf_class);
				t->buf_class = UINT32_MAX;
			}
		}
	}
	if (busy) {
		/* Only at daemon shutdown: the SCSI layer still holds tasks that
		 * can never complete because the loop stops. Leak rather than
		 * free memory it references. */
		log_warn("iscsi: session tsih %u freed with tasks in flight", s->tsih);
		qb_list_del(&s->node);
		server->nsessions--;
		if (s->discovery) {
			server->ndiscovery--;
		}
		return;
	}
	for (uint32_t i = 0; i < s->n_sn_ahead; i++) {
		if (s->sn_ahead[i].answer) {
			iscsi_ctl_discard(s->sn_ahead[i].answer);
		}
	}
	s->n_sn_ahead = 0;
	if (s->nexus) {
		scsi_nexus_destroy(s->nexus);
	}
	qb_list_del(&s->node);
	server->nsessions--;
	if (s->discovery) {
		server->ndiscovery--;
	}
	qb_list_for_each_entry_safe(c, cn, &s->task_chunks, node) {
		qb_list_del(&c->node);
		free(c);
	}
	free(s);
}

struct iscsi_session *iscsi_session_find(struct iscsi_server *server, const char *initiator,
					 const uint8_t isid[6], const char *target_name)
{
	struct iscsi_session *s;

	qb_list_for_each_entry(s, &server->sessions, node) {
		if (!s->closing && memcmp(s->isid, isid, sizeof(s->isid)) == 0 &&
		    strcmp(s->initiator_name, initiator) == 0 &&
		    strcmp(s->target_name, target_name) == 0) {
			return s;
		}
	}
	return NULL;
}

struct iscsi_session *iscsi_session_find_tsih(struct iscsi_server *server, uint16_t tsih)
{
	struct iscsi_session *s;

	qb_list_for_each_entry(s, &server->sessions, node) {
		if (s->tsih == tsih && !s->closing) {
			return s;
		}
	}
	return NULL;
}

void iscsi_session_attach(struct iscsi_session *s, struct iscsi_conn *conn)
{
	conn->session = s;
	qb_list_add_tail(&conn->sess_node, &s->conns);
	s->nconns++;
}

struct iscsi_conn *iscsi_session_conn(struct iscsi_session *s)
{
	return qb_list_empty(&s->conns) ? NULL
					: qb_list_first_entry(&s->conns, struct iscsi_conn, sess_node);
}

void iscsi_session_detach(struct iscsi_session *s, struct iscsi_conn *conn)
{
	struct iscsi_task *t;

	qb_list_del(&conn->sess_node);
	qb_list_init(&conn->sess_node);
	s->nconns--;
	conn->session = NULL;
	qb_list_for_each_entry(t, &s->tasks, node) {
		if (t->conn == conn) {
			iscsi_task_conn_gone(t);
		}
	}
}

int iscsi_session_cmdsn_check(struct iscsi_session *s, uint32_t cmdsn)
{
	if (cmdsn == s->exp_cmdsn) {
		return 0;
	}
	if (sn_lt(s->exp_cmdsn, cmdsn) && sn_le(cmdsn, s->max_cmdsn)) {
		for (uint32_t i = 0; i < s->n_sn_ahead; i++) {
			if (s->sn_ahead[i].cmdsn == cmdsn) {
				return -1; /* taken already (duplicate, or aborted by TMF) */
			}
		}
		return 1;
	}
	return -1;
}

void iscsi_session_cmdsn_advance(struct iscsi_session *s)
{
	s->exp_cmdsn++;
}

int iscsi_session_cmdsn_note_ahead(struct iscsi_session *s, uint32_t cmdsn,
				   struct iscsi_ctl_pdu *answer)
{
	if (s->n_sn_ahead == ISCSI_SN_AHEAD_MAX) {
		return -ENOSPC;
	}
	s->sn_ahead[s->n_sn_ahead].cmdsn = cmdsn;
	s->sn_ahead[s->n_sn_ahead].answer = answer;
	s->n_sn_ahead++;
	return 0;
}

/* Is ExpCmdSN noted as taken ahead of the gap? Then pass it and send its answer. */
static bool session_pass_ahead(struct iscsi_session *s)
{
	for (uint32_t i = 0; i < s->n_sn_ahead; i++) {
		struct iscsi_ctl_pdu *answer = s->sn_ahead[i].answer;
		struct iscsi_conn *conn;

		if (s->sn_ahead[i].cmdsn != s->exp_cmdsn) {
			continue;
		}
		s->sn_ahead[i] = s->sn_ahead[--s->n_sn_ahead];
		/* Past it before the answer is stamped (ExpCmdSN > its CmdSN). */
		s->exp_cmdsn++;
		if (answer) {
			conn = iscsi_session_conn(s);
			if (conn && conn->state == ISCSI_CONN_FULL_FEATURE) {
				iscsi_conn_send_nop_answer(conn, answer);
			} else {
				iscsi_ctl_discard(answer);
			}
		}
		return true;
	}
	return false;
}

/* Release commands whose CmdSN is now next, in order, passing the CmdSNs
 * of control PDUs already handled ahead of the gap. */
void iscsi_session_run_pending(struct iscsi_session *s)
{
	while (!s->closing) {
		struct iscsi_task *t = NULL;

		if (!qb_list_empty(&s->cmdsn_wait)) {
			t = qb_list_first_entry(&s->cmdsn_wait, struct iscsi_task, pending);
		}
		if (t && t->cmdsn == s->exp_cmdsn) {
			qb_list_del(&t->pending);
			qb_list_init(&t->pending);
			s->exp_cmdsn++;
			iscsi_task_release(t);
		} else if (!s->n_sn_ahead || !session_pass_ahead(s)) {
			break;
		}
	}
}

uint32_t iscsi_session_max_cmdsn(struct iscsi_session *s)
{
	uint32_t waiting = 0;
	struct iscsi_task *t;
	uint32_t m;

	qb_list_for_each_entry(t, &s->cmdsn_wait, pending) {
		waiting++;
	}
	m = s->exp_cmdsn + s->window_free + waiting - 1u;
	if (sn_lt(s->max_cmdsn, m)) {
		s->max_cmdsn = m;
	}
	return s->max_cmdsn;
}

struct iscsi_task *iscsi_task_alloc(struct iscsi_session *s, bool immediate)
{
	struct iscsi_task *t;

	if (immediate ? s->immediate_free == 0 : s->window_free == 0) {
		return NULL;
	}
	if (qb_list_empty(&s->free_tasks) && session_tasks_grow(s) != 0) {
		return NULL;
	}
	t = qb_list_first_entry(&s->free_tasks, struct iscsi_task, node);
	qb_list_del(&t->node);
	if (immediate) {
		s->immediate_free--;
	} else {
		s->window_free--;
	}
	/* Reset everything but the pool links and the cached buffer. */
	memset(&t->scsi, 0, sizeof(t->scsi));
	t->conn = NULL;
	t->state = ISCSI_TASK_RX;
	t->immediate = immediate;
	t->slot_returned = false;
	t->released = false;
	t->aborted = false;
	t->tmf_wait = NULL;
	t->itt = ISCSI_RESERVED_TAG;
	t->cmdsn = 0;
	t->fail_key = 0;
	t->fail_asc = 0;
	t->fail_status = 0;
	t->write_len = t->received = t->unsol_len = t->unsol_datasn = 0;
	t->unsol_open = false;
	t->r2t_next_off = t->r2t_outstanding = t->r2tsn = 0;
	memset(t->r2t, 0, sizeof(t->r2t));
	t->din_len = t->din_off = t->din_datasn = t->din_burst = 0;
	t->din_status = false;
	memset(&t->tx, 0, sizeof(t->tx));
	qb_list_init(&t->pending);
	qb_list_add_tail(&t->node, &s->tasks);
	return t;
}

void iscsi_task_free(struct iscsi_task *t)
{
	struct iscsi_session *s = t->session;
	struct iscsi_tmf_pending *w;

	if (t->conn && t->conn->rx_task == t) {
		/* Still receiving its data: drain the rest into the conn buffer. */
		t->conn->rx_task = NULL;
		t->conn->rx_data = t->conn->rx_buf;
		t->conn->rx_discard = true;
	}
	if (t->buf_class != UINT32_MAX) {
		s->buf_bytes -= t->scsi.buf_cap;
		iscsi_buf_put(s->server, t->scsi.buf, t->buf_class);
		t->buf_class = UINT32_MAX;
		t->scsi.buf = NULL;
	}
	w = t->tmf_wait;
	t->tmf_wait = NULL;
	qb_list_del(&t->pending);
	qb_list_init(&t->pending);
	qb_list_del(&t->node);
	t->state = ISCSI_TASK_FREE;
	t->conn = NULL;
	qb_list_add(&t->node, &s->free_tasks);
	iscsi_task_return_slot(t);
	if (w) {
		/*
		 * Only now, with the task back in the pool: the TMF response
		 * this releases may end the connection or session, and that
		 * must find a consistent task list. The hold keeps the session
		 * until we are done with it here.
		 */
		s->hold++;
		iscsi_tmf_task_gone(w);
		s->hold--;
	}
	iscsi_session_maybe_free(s);
}

void iscsi_task_return_slot(struct iscsi_task *t)
{
	if (t->slot_returned) {
		return;
	}
	t->slot_returned = true;
	if (t->immediate) {
		t->session->immediate_free++;
	} else {
		t->session->window_free++;
	}
}

struct iscsi_task *iscsi_task_find_itt(struct iscsi_session *s, uint32_t itt)
{
	struct iscsi_task *t;

	qb_list_for_each_entry(t, &s->tasks, node) {
		if (t->itt == itt && !t->aborted) {
			return t;
		}
	}
	return NULL;
}

uint32_t iscsi_session_next_ttt(struct iscsi_session *s)
{
	/* Below the NOP ping range, never the reserved value. */
	s->ttt_next = (s->ttt_next + 1u) & 0x7fffffffu;
	return s->ttt_next;
}

/*
 * Abort tasks (§11.5.1 / SAM-5 7.2): tasks not yet handed to the SCSI layer
 * are freed; tasks the SCSI layer holds are marked and freed by done()
 * without a response; tasks whose response is partly on the wire finish that
 * PDU and send nothing more.
 */
void iscsi_session_abort_tasks(struct iscsi_session *s, bool all_luns, uint64_t lun,
			       struct iscsi_tmf_pending *wait)
{
	struct iscsi_task *t, *tn;

	/* Hold the session: freeing the last task must not free it under us. */
	s->hold++;
	qb_list_for_each_entry_safe(t, tn, &s->tasks, node) {
		if (t->aborted && t->state == ISCSI_TASK_SCSI) {
			continue; /* done() frees it */
		}
		if (!all_luns && t->scsi.lun != lun) {
			continue;
		}
		iscsi_task_abort(t, wait);
	}
	s->hold--;
}

unsigned int iscsi_target_abort_tasks(struct iscsi_server *server, const char *target_name,
				      uint16_t lun_id, iscsi_port_match_fn match, void *ctx,
				      const struct scsi_task *keep)
{
	struct iscsi_session *s, *sn;
	unsigned int n = 0;

	qb_list_for_each_entry_safe(s, sn, &server->sessions, node) {
		char iport[ISCSI_PORT_NAME_MAX];
		struct iscsi_task *t, *tn;

		if (!s->target || s->closing || strcmp(s->target->name, target_name) != 0) {
			continue;
		}
		/* The same I_T nexus name as iscsi_session_create() gave the SCSI layer. */
		snprintf(iport, sizeof(iport), "%s,i,0x%02x%02x%02x%02x%02x%02x",
			 s->initiator_name, s->isid[0], s->isid[1], s->isid[2], s->isid[3],
			 s->isid[4], s->isid[5]);
		if (!match(iport, ctx)) {
			continue;
		}
		s->hold++;
		qb_list_for_each_entry_safe(t, tn, &s->tasks, node) {
			if (&t->scsi == keep || (t->aborted && t->state == ISCSI_TASK_SCSI) ||
			    scsi_lun_id(t->scsi.lun) != (int)lun_id) {
				continue;
			}
			iscsi_task_abort(t, NULL);
			n++;
		}
		s->hold--;
		iscsi_session_maybe_free(s);
	}
	return n;
}

void iscsi_session_maybe_free(struct iscsi_session *s)
{
	if (!s->closing || s->hold || !qb_list_empty(&s->tasks) || !qb_list_empty(&s->conns)) {
		return;
	}
	if (s->server->destroying) {
		/* iscsi_server_destroy() frees what is left. */
		return;
	}
	log_debug("iscsi: session tsih %u freed", s->tsih);
	iscsi_session_destroy(s);
}

void iscsi_session_shutdown(struct iscsi_session *s, const char *why)
{
	struct iscsi_conn *c, *cn;

	if (s->closing) {
		return;
	}
	s->closing = true;
	log_info("iscsi: session tsih %u of '%s' ends: %s", s->tsih, s->initiator_name, why);
	iscsi_session_abort_tasks(s, true, 0, NULL);
	qb_list_for_each_entry_safe(c, cn, &s->conns, sess_node) {
		iscsi_conn_close(c, why);
	}
	iscsi_session_maybe_free(s);
}

void iscsi_session_info_fill(struct iscsi_session *s, struct iscsi_session_info *info)
{
	struct iscsi_conn *conn = iscsi_session_conn(s);
	const struct iscsi_params *p = &s->params;
	struct iscsi_task *t;
	uint32_t active = 0;

	qb_list_for_each_entry(t, &s->tasks, node) {
		active++;
	}
	*info = (struct iscsi_session_info){
		.initiator_name = s->initiator_name,
		.target_name = s->target_name,
		.tsih = s->tsih,
		.connections = (uint16_t)s->nconns,
		.peer = conn ? conn->peer : "",
		.local = s->local,
		.discovery = s->discovery,
		.tasks = s->ntasks,
		.tasks_active = active,
		.stats = &s->stats,
		.login_time = s->login_time,
		.initiator_alias = s->initiator_alias,
		.chap = s->chap,
		.chap_user = s->chap_user,
		.chap_mutual = s->chap_mutual,
		.logout_requested = s->evicting,
		.header_digest = (conn ? conn->params : *p).header_digest == ISCSI_DIGEST_CRC32C,
		.data_digest = (conn ? conn->params : *p).data_digest == ISCSI_DIGEST_CRC32C,
		.max_recv_dsl = (conn ? conn->params : *p).max_recv_dsl,
		.max_xmit_dsl = (conn ? conn->params : *p).max_xmit_dsl,
		.max_burst = p->max_burst,
		.first_burst = p->first_burst,
		.initial_r2t = p->initial_r2t,
		.immediate_data = p->immediate_data,
		.max_outstanding_r2t = p->max_outstanding_r2t,
		.max_connections = p->max_connections,
		.default_time2wait = p->default_time2wait,
		.default_time2retain = p->default_time2retain,
		.error_recovery_level = p->error_recovery_level,
		.data_pdu_in_order = p->data_pdu_in_order,
		.data_sequence_in_order = p->data_sequence_in_order,
	};
	memcpy(info->isid, s->isid, sizeof(info->isid));
}

/* The initiator did not log out in time after its Asynchronous Message. */
static void session_evict_timer_cb(void *data)
{
	struct iscsi_session *s = data;

	s->evict_timer_armed = false;
	loop_pass_begin();
	iscsi_session_shutdown(s, s->evict_why);
	loop_pass_end();
}

/* Ask @s to log out within @wait_s; close it then (@why, static, for the log). */
static void session_request_logout(struct iscsi_session *s, uint16_t wait_s, const char *why)
{
	struct iscsi_server *server = s->server;
	struct iscsi_conn *conn = iscsi_session_conn(s);

	s->evicting = true;
	s->evict_why = why;
	if (conn && conn->state == ISCSI_CONN_FULL_FEATURE) {
		iscsi_conn_request_logout(conn, wait_s);
	}
	if (qb_loop_timer_add(server->loop, QB_LOOP_LOW, (uint64_t)wait_s * 1000000000ull, s,
			      session_evict_timer_cb, &s->evict_timer) == 0) {
		s->evict_timer_armed = true;
	} else {
		iscsi_session_shutdown(s, why);
	}
}

unsigned int iscsi_target_end_unadmitted(struct iscsi_server *server, const char *target_name)
{
	struct iscsi_session *s, *sn;
	unsigned int n = 0;

	qb_list_for_each_entry_safe(s, sn, &server->sessions, node) {
		if (!s->target || s->closing || s->evicting ||
		    strcmp(s->target->name, target_name) != 0 ||
		    iscsi_target_acl_allows(s->target, s->initiator_name)) {
			continue;
		}
		n++;
		log_notice("iscsi: session tsih %u of '%s' to '%s': the ACL no longer admits the "
			   "initiator; asking it to log out within %u s",
			   s->tsih, s->initiator_name, target_name, ISCSI_ACL_LOGOUT_WAIT_S);
		session_request_logout(s, ISCSI_ACL_LOGOUT_WAIT_S,
				       "no logout after the ACL stopped admitting the initiator");
	}
	return n;
}

unsigned int iscsi_sessions_request_logout(struct iscsi_server *server,
					   iscsi_session_match_fn match, void *ctx,
					   uint16_t wait_s, const char *why)
{
	struct iscsi_session *s, *sn;
	unsigned int n = 0;

	qb_list_for_each_entry_safe(s, sn, &server->sessions, node) {
		struct iscsi_session_info info;

		if (s->closing || s->evicting) {
			continue;
		}
		iscsi_session_info_fill(s, &info);
		if (!match(&info, ctx)) {
			continue;
		}
		n++;
		log_notice("iscsi: session tsih %u of '%s' to '%s': asking it to log out within "
			   "%u s (%s)", s->tsih, s->initiator_name,
			   s->discovery ? "(discovery)" : s->target_name, wait_s, why);
		session_request_logout(s, wait_s, why);
	}
	return n;
}
