// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One iSCSI connection (RFC 7143, ERL 0): the non-blocking receive state
 * machine, the transmit queue, and the PDUs that are neither SCSI commands
 * nor task management (NOP, Text, Logout, Reject, Async Message).
 *
 * Receive: BHS (48 bytes) -> AHS + header digest -> data + pad + data
 * digest. The BHS is validated (pducheck.c) before anything reads further,
 * so no length from the network sizes an allocation: data segments go into
 * the connection's receive buffer (sized by the MaxRecvDataSegmentLength we
 * declared) or straight into the task buffer they belong to.
 * Bytes come from the socket through the server's shared staging buffer:
 * one read(2) takes in everything waiting (often 20 or more PDUs) and the
 * state machine copies each piece to its place; only large data segment
 * pieces (ISCSI_RX_DIRECT_MIN) are read straight into place. A read that
 * comes up short means the socket is empty: no read to see EAGAIN. If the
 * loop must stop with bytes left (backpressure), they move to a buffer of
 * the connection's own (rx_spill) and are consumed first when it resumes.
 *
 * Transmit: PDUs are struct iscsi_tx embedded in their owner (task or control
 * PDU) and queued FIFO. The queue drains with writev() batching many PDUs per
 * call: what is queued during a loop pass (daemon/base/loop_pass.h: the receive
 * callback, a batch of backing-store completions) goes out with one writev
 * when the pass ends; outside a pass (timers) at once. A partial write
 * leaves the rest queued with POLLOUT on. (Not a qb_loop job: libqb runs
 * jobs only after the next poll timeout, which added ~50 ms to every
 * response.)
 * StatSN is stamped when a PDU is queued, so queue order is StatSN order.
 * While more than ISCSI_TX_BACKLOG_MAX bytes wait, POLLIN is turned off.
 *
 * Lifetime: iscsi_conn_close() tears the connection down at once (socket,
 * queue, session link) but frees the struct from a loop job, so callers up
 * the stack may still look at conn->state (ISCSI_CONN_DEAD) after calls that
 * can close. Code that runs inside a completion or a free path (a TMF
 * response, a Reject followed by a close) never closes: it calls
 * iscsi_conn_close_after_tx(), which only marks the connection; the close
 * happens when the queue has drained at the end of the loop pass.
 *
 * Reactions to bad input (deterministic; tests rely on them):
 *  - peer closes or BHS truncated: close quietly;
 *  - DataSegmentLength above our limit (login: 8192): Reject (protocol
 *    error) in full feature phase, then close; during login: close;
 *  - non-Login PDU during login: Login Response 0x020b, close;
 *  - header digest error: close (the header cannot be trusted, §7.8);
 *  - data digest error: Reject (data digest error), PDU discarded (§7.8);
 *    on a Data-Out the task also ends with CHECK CONDITION, ABORTED COMMAND,
 *    47h/05h (scsi_cmd.c); on a SCSI Command the command is dropped;
 *  - unknown opcode: Reject (command not supported), connection kept;
 *  - Login Request in full feature phase: Reject (protocol error);
 *  - SNACK: Reject (SNACK reject), ERL 0 has no recovery;
 *  - malformed AHS / data on PDUs without data: Reject (invalid PDU field);
 *  - any PDU but Text, NOP-Out, Logout in a discovery session: Reject
 *    (protocol error);
 *  - NOP-Out with ITT 0xffffffff: no answer; with a TTT other than
 *    0xffffffff on a ping: Reject (protocol error);
 *  - non-immediate PDUs with CmdSN outside [ExpCmdSN, MaxCmdSN]: dropped
 *    silently (§4.2.2.1); SCSI commands ahead of ExpCmdSN wait for the gap;
 *  - login not finished within ISCSI_LOGIN_TIMEOUT_S: close;
 *  - no PDU for nop_timeout_s after a NOP-In ping: close.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/iscsi/login.h"
#include "daemon/base/log.h"

#define CTL_CACHE_MAX 16u
#define CTL_CACHE_CAP_FFP 512u /* largest buffer cached in full feature phase */
#define NOP_TTT_BASE  0x80000000u /* ping TTTs; task TTTs stay below */

#define conn_log(conn, lvl, fmt, ...) qb_log(lvl, "iscsi: %s: " fmt, (conn)->prefix, ##__VA_ARGS__)

static void conn_update_prefix(struct iscsi_conn *conn)
{
	struct iscsi_session *s = conn->session;

	if (s) {
		snprintf(conn->prefix, sizeof(conn->prefix),
			 "[%s isid=%02x%02x%02x%02x%02x%02x tsih=%u cid=%u %s]", s->initiator_name,
			 s->isid[0], s->isid[1], s->isid[2], s->isid[3], s->isid[4], s->isid[5],
			 s->tsih, conn->cid, conn->peer);
	} else {
		snprintf(conn->prefix, sizeof(conn->prefix), "[%s]", conn->peer);
	}
}

/*
 * Free closed connections. A closed connection stays on dead_conns until
 * the next callback of the server's (an I/O event or an accept) or its
 * teardown, so code up the stack of iscsi_conn_close() may still read
 * conn->state; no loop job is needed, hence no allocation per close.
 */
void iscsi_conn_reap_dead(struct iscsi_server *server)
{
	struct iscsi_conn *conn, *cn;

	qb_list_for_each_entry_safe(conn, cn, &server->dead_conns, node) {
		qb_list_del(&conn->node);
		free(conn);
	}
}

static int32_t conn_io_cb(int32_t fd, int32_t revents, void *data);
static void conn_rx(struct iscsi_conn *conn);

static void conn_tx_flush_cb(struct loop_deferred *d)
{
	struct iscsi_conn *conn = (struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, tx_flush));

	if (conn->state != ISCSI_CONN_DEAD) {
		iscsi_conn_tx_kick(conn);
	}
}

static void conn_rx_resume_cb(struct loop_deferred *d)
{
	struct iscsi_conn *conn =
		(struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, rx_resume));

	if (conn->state != ISCSI_CONN_DEAD && !conn->rx_paused) {
		conn_rx(conn);
	}
}

static void conn_poll_update(struct iscsi_conn *conn)
{
	int32_t ev = 0;

	if (conn->state == ISCSI_CONN_DEAD) {
		return;
	}
	if (!conn->rx_paused) {
		ev |= POLLIN;
	}
	if (conn->poll_out) {
		ev |= POLLOUT;
	}
	qb_loop_poll_mod(conn->server->loop, QB_LOOP_MED, conn->fd, ev, conn, conn_io_cb);
}

void iscsi_conn_update_rx(struct iscsi_conn *conn)
{
	/* Closing connections read nothing more (level-triggered poll would spin). */
	bool pause = conn->tx_backlog > ISCSI_TX_BACKLOG_MAX || conn->state == ISCSI_CONN_CLOSING ||
		     conn->state == ISCSI_CONN_LOGGED_OUT;

	if (pause != conn->rx_paused) {
		conn->rx_paused = pause;
		conn_poll_update(conn);
		/* Bytes already read will not raise POLLIN again. */
		if (!pause && conn->rx_spill) {
			loop_pass_defer(&conn->rx_resume, LOOP_PASS_TX);
		}
	}
}

void iscsi_conn_close(struct iscsi_conn *conn, const char *why)
{
	struct iscsi_ctl_pdu *c, *cn;
	bool logged_out = conn->state == ISCSI_CONN_LOGGED_OUT;

	if (conn->state == ISCSI_CONN_DEAD) {
		return;
	}
	conn_log(conn, LOG_INFO, "connection closed: %s", why);
	conn->state = ISCSI_CONN_DEAD;
	qb_loop_poll_del(conn->server->loop, conn->fd);
	close(conn->fd);
	conn->fd = -1;
	if (conn->nop_timer_armed) {
		qb_loop_timer_del(conn->server->loop, conn->nop_timer);
		conn->nop_timer_armed = false;
	}
	/* Fail everything still queued; owners recycle their PDUs. */
	while (!qb_list_empty(&conn->tx_queue)) {
		struct iscsi_tx *tx = qb_list_first_entry(&conn->tx_queue, struct iscsi_tx, node);

		qb_list_del(&tx->node);
		tx->queued = false;
		tx->sent_fn(conn, tx, false);
	}
	conn->tx_backlog = 0;
	loop_pass_cancel(&conn->tx_flush);
	loop_pass_cancel(&conn->rx_resume);
	free(conn->rx_spill);
	conn->rx_spill = NULL;
	iscsi_tmf_conn_gone(conn);
	if (conn->rx_task) {
		conn->rx_task = NULL;
	}
	if (conn->session) {
		struct iscsi_session *s = conn->session;

		iscsi_session_detach(s, conn);
		/*
		 * Without a logout the I_T nexus is lost (dropped connection,
		 * session reinstatement, administrator): SAM-5 6.3.4 UA 29/07.
		 */
		if (!logged_out && s->nexus) {
			scsi_nexus_lost(s->nexus);
		}
		/* ERL 0, one connection per session: losing it ends the session. */
		iscsi_session_shutdown(s, why);
	}
	iscsi_conn_login_fini(conn);
	if (conn->text_ready) {
		iscsi_text_exchange_fini(&conn->text);
		conn->text_ready = false;
	}
	qb_list_for_each_entry_safe(c, cn, &conn->ctl_free, free_node) {
		qb_list_del(&c->free_node);
		free(c->buf);
		free(c);
	}
	free(conn->rx_buf);
	conn->rx_buf = NULL;
	/* Freed later by iscsi_conn_reap_dead(): callers up the stack may still
	 * read conn->state. */
	qb_list_del(&conn->node);
	qb_list_add_tail(&conn->node, &conn->server->dead_conns);
}

void iscsi_conn_close_after_tx(struct iscsi_conn *conn)
{
	if (conn->state == ISCSI_CONN_DEAD) {
		return;
	}
	conn->state = ISCSI_CONN_CLOSING;
	/* Read nothing more; the queue drains, then the socket closes. */
	conn->rx_paused = true;
	/*
	 * Never drain here: draining the last PDU closes the connection, which
	 * ends the session and frees its tasks, and callers are deep in a
	 * receive, a backing-store completion or a task's free path (a TMF
	 * response released by the last aborted task) that still use them.
	 * The drain runs at the end of the loop pass, or, outside a pass, from
	 * the socket's POLLOUT callback on the next loop iteration.
	 */
	if (loop_pass_active()) {
		loop_pass_defer(&conn->tx_flush, LOOP_PASS_TX);
	} else {
		conn->poll_out = true;
	}
	conn_poll_update(conn);
}

static void nop_timer_cb(void *data);

static void nop_timer_arm(struct iscsi_conn *conn, uint32_t seconds)
{
	if (conn->nop_timer_armed) {
		qb_loop_timer_del(conn->server->loop, conn->nop_timer);
		conn->nop_timer_armed = false;
	}
	if (seconds == 0) {
		return;
	}
	if (qb_loop_timer_add(conn->server->loop, QB_LOOP_LOW, (uint64_t)seconds * 1000000000ull,
			      conn, nop_timer_cb, &conn->nop_timer) == 0) {
		conn->nop_timer_armed = true;
	}
}

int iscsi_conn_create(struct iscsi_server *server, int fd, const struct sockaddr *peer,
		      const struct sockaddr *local, socklen_t local_len)
{
	struct iscsi_conn *conn;
	int rc;

	if (server->destroying) {
		return -ESHUTDOWN;
	}
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		return -ENOMEM;
	}
	conn->server = server;
	conn->fd = fd;
	conn->state = ISCSI_CONN_LOGIN;
	iscsi_sockaddr_str(peer, conn->peer, sizeof(conn->peer));
	memcpy(&conn->local_addr, local,
	       local_len < sizeof(conn->local_addr) ? local_len : sizeof(conn->local_addr));
	qb_list_init(&conn->tx_queue);
	qb_list_init(&conn->ctl_free);
	qb_list_init(&conn->sess_node);
	qb_list_init(&conn->tmf_pending);
	conn->tx_flush.fn = conn_tx_flush_cb;
	conn->rx_resume.fn = conn_rx_resume_cb;
	conn->rx_buf_cap = ISCSI_LOGIN_DSL_MAX;
	conn->rx_buf = malloc(conn->rx_buf_cap);
	if (!conn->rx_buf) {
		free(conn);
		return -ENOMEM;
	}
	conn_update_prefix(conn);
	iscsi_conn_login_init(conn);
	if (!conn->login) {
		free(conn->rx_buf);
		free(conn);
		return -ENOMEM;
	}
	rc = qb_loop_poll_add(server->loop, QB_LOOP_MED, fd, POLLIN, conn, conn_io_cb);
	if (rc != 0) {
		iscsi_conn_login_fini(conn);
		free(conn->rx_buf);
		free(conn);
		return rc;
	}
	qb_list_add_tail(&conn->node, &server->conns);
	conn->last_rx_ms = iscsi_now_ms();
	nop_timer_arm(conn, ISCSI_LOGIN_TIMEOUT_S);
	conn_log(conn, LOG_DEBUG, "connection accepted");
	return 0;
}

/* ---------------------------------------------------------------- transmit */

void iscsi_conn_tx_prepare(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	uint32_t pad = ISCSI_PAD(tx->data_len) - tx->data_len;
	bool hd = conn->state != ISCSI_CONN_LOGIN &&
		  conn->params.header_digest == ISCSI_DIGEST_CRC32C;
	bool dd =
		conn->state != ISCSI_CONN_LOGIN && conn->params.data_digest == ISCSI_DIGEST_CRC32C;

	iscsi_bhs_set_data_len(tx->hdr, tx->data_len);
	tx->hdr_len = ISCSI_BHS_LEN;
	if (hd) {
		iscsi_digest_put(tx->hdr + ISCSI_BHS_LEN, iscsi_crc32c(tx->hdr, ISCSI_BHS_LEN));
		tx->hdr_len += ISCSI_DIGEST_LEN;
	}
	memset(tx->trailer, 0, sizeof(tx->trailer));
	tx->trailer_len = 0;
	if (tx->data_len) {
		tx->trailer_len = pad;
		if (dd) {
			uint32_t crc = iscsi_crc32c_update(~0u, tx->data, tx->data_len);

			crc = iscsi_crc32c_update(crc, tx->trailer, pad);
			iscsi_digest_put(tx->trailer + pad, ~crc);
			tx->trailer_len += ISCSI_DIGEST_LEN;
		}
	}
	tx->sent = 0;
}

void iscsi_conn_tx_queue(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
	if (conn->state == ISCSI_CONN_DEAD) {
		tx->sent_fn(conn, tx, false);
		return;
	}
	tx->queued = true;
	qb_list_add_tail(&tx->node, &conn->tx_queue);
	conn->tx_backlog += tx->hdr_len + tx->data_len + tx->trailer_len;
	/* Batching: during a loop pass the PDU joins the writev() at its end;
	 * while the queue drains (in_kick) or waits for POLLOUT it joins the
	 * next one; otherwise (timers) it goes out now. */
	if (!conn->in_kick && !conn->poll_out) {
		if (!loop_pass_active()) {
			iscsi_conn_tx_kick(conn);
			return;
		}
		loop_pass_defer(&conn->tx_flush, LOOP_PASS_TX);
	}
	iscsi_conn_update_rx(conn);
}

static void conn_tx_drain(struct iscsi_conn *conn);

static uint32_t tx_total(const struct iscsi_tx *tx)
{
	return tx->hdr_len + tx->data_len + tx->trailer_len;
}

void iscsi_conn_tx_kick(struct iscsi_conn *conn)
{
	if (conn->in_kick) {
		return;
	}
	conn->in_kick = true;
	conn_tx_drain(conn);
	conn->in_kick = false;
	if (conn->state == ISCSI_CONN_DEAD) {
		return;
	}
	if (conn->poll_out) {
		/* Part went out: read again once the backlog is back under the limit. */
		iscsi_conn_update_rx(conn);
		return;
	}
	if (conn->state == ISCSI_CONN_CLOSING || conn->state == ISCSI_CONN_LOGGED_OUT) {
		if (qb_list_empty(&conn->tx_queue)) {
			iscsi_conn_close(conn, conn->state == ISCSI_CONN_LOGGED_OUT ? "logged out"
										    : "closing");
		}
		return;
	}
	iscsi_conn_update_rx(conn);
}

/* writev() as much of the queue as the socket takes. */
static void conn_tx_drain(struct iscsi_conn *conn)
{
	struct iovec iov[ISCSI_TX_IOV_MAX];

	while (conn->state != ISCSI_CONN_DEAD && !qb_list_empty(&conn->tx_queue)) {
		struct iscsi_tx *tx;
		unsigned int n = 0;
		ssize_t w;

		qb_list_for_each_entry(tx, &conn->tx_queue, node) {
			const void *base[3] = {tx->hdr, tx->data, tx->trailer};
			uint32_t len[3] = {tx->hdr_len, tx->data_len, tx->trailer_len};
			uint32_t skip = tx->sent;

			for (unsigned int i = 0; i < 3 && n < ISCSI_TX_IOV_MAX; i++) {
				if (skip >= len[i]) {
					skip -= len[i];
					continue;
				}
				iov[n].iov_base = (uint8_t *)(uintptr_t)base[i] + skip;
				iov[n].iov_len = len[i] - skip;
				skip = 0;
				n++;
			}
			if (n + 3 > ISCSI_TX_IOV_MAX) {
				break;
			}
		}
		w = writev(conn->fd, iov, (int)n);
		if (w < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!conn->poll_out) {
					conn->poll_out = true;
					conn_poll_update(conn);
				}
				return;
			}
			iscsi_conn_close(conn, "write error");
			return;
		}
		conn->tx_backlog -= (uint64_t)w;
		while (w > 0) {
			uint32_t rem;

			tx = qb_list_first_entry(&conn->tx_queue, struct iscsi_tx, node);
			rem = tx_total(tx) - tx->sent;
			if ((size_t)w < rem) {
				tx->sent += (uint32_t)w;
				break;
			}
			w -= rem;
			qb_list_del(&tx->node);
			tx->queued = false;
			tx->sent_fn(conn, tx, true);
			if (conn->state == ISCSI_CONN_DEAD) {
				return;
			}
		}
	}
	if (conn->state != ISCSI_CONN_DEAD && conn->poll_out) {
		conn->poll_out = false;
		conn_poll_update(conn);
	}
}

/* ---------------------------------------------------------- control PDUs */

static void ctl_sent(struct iscsi_conn *conn, struct iscsi_tx *tx, bool ok)
{
	struct iscsi_ctl_pdu *c = qb_list_entry(tx, struct iscsi_ctl_pdu, tx);
	(void)ok;

	/* Login and Text responses need buffers of several KiB; an idle
	 * session in full feature phase keeps none of them (memory per
	 * session), only the small ones its NOP-Ins and TMF responses use. */
	bool keep = conn->state == ISCSI_CONN_LOGIN || c->cap <= CTL_CACHE_CAP_FFP;

	if (keep && conn->state != ISCSI_CONN_DEAD && conn->ctl_free_count < CTL_CACHE_MAX) {
		qb_list_add(&c->free_node, &conn->ctl_free);
		conn->ctl_free_count++;
		return;
	}
	iscsi_ctl_discard(c);
}

void iscsi_ctl_discard(struct iscsi_ctl_pdu *c)
{
	free(c->buf);
	free(c);
}

struct iscsi_ctl_pdu *iscsi_ctl_get(struct iscsi_conn *conn, uint32_t data_cap)
{
	struct iscsi_ctl_pdu *c = NULL, *it;

	qb_list_for_each_entry(it, &conn->ctl_free, free_node) {
		if (it->cap >= data_cap) {
			c = it;
			break;
		}
	}
	if (c) {
		qb_list_del(&c->free_node);
		conn->ctl_free_count--;
	} else {
		c = calloc(1, sizeof(*c));
		if (!c) {
			return NULL;
		}
		c->cap = data_cap < 64 ? 64 : data_cap;
		c->buf = malloc(c->cap);
		if (!c->buf) {
			free(c);
			return NULL;
		}
	}
	memset(c->tx.hdr, 0, sizeof(c->tx.hdr));
	c->tx.data = c->buf;
	c->tx.data_len = 0;
	c->tx.sent_fn = ctl_sent;
	return c;
}

void iscsi_conn_send_ctl(struct iscsi_conn *conn, struct iscsi_ctl_pdu *pdu)
{
	iscsi_conn_tx_prepare(conn, &pdu->tx);
	iscsi_conn_tx_queue(conn, &pdu->tx);
}

void iscsi_conn_stamp_sn(struct iscsi_conn *conn, uint8_t *bhs, bool advance_statsn)
{
	struct iscsi_session *s = conn->session;

	put_be32(bhs + 24, conn->stat_sn);
	if (advance_statsn) {
		conn->stat_sn++;
	}
	if (s) {
		put_be32(bhs + 28, s->exp_cmdsn);
		put_be32(bhs + 32, iscsi_session_max_cmdsn(s));
	}
}

/* §11.17: Reject carries the offending BHS as its data segment. */
void iscsi_conn_send_reject(struct iscsi_conn *conn, uint8_t reason, const uint8_t *bad_bhs)
{
	struct iscsi_ctl_pdu *c = iscsi_ctl_get(conn, ISCSI_BHS_LEN);

	conn_log(conn, LOG_NOTICE, "reject opcode 0x%02x itt 0x%08x: reason 0x%02x",
		 iscsi_bhs_opcode(bad_bhs), iscsi_bhs_itt(bad_bhs), reason);
	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	c->tx.hdr[0] = ISCSI_OP_REJECT;
	c->tx.hdr[1] = ISCSI_FLAG_FINAL;
	c->tx.hdr[2] = reason;
	put_be32(c->tx.hdr + 16, ISCSI_RESERVED_TAG);
	iscsi_conn_stamp_sn(conn, c->tx.hdr, true);
	memcpy(c->buf, bad_bhs, ISCSI_BHS_LEN);
	c->tx.data_len = ISCSI_BHS_LEN;
	iscsi_conn_send_ctl(conn, c);
}

/* ------------------------------------------------------------------ NOP */

/* A NOP-In with @data, not yet stamped nor queued; NULL if out of memory. */
static struct iscsi_ctl_pdu *conn_build_nop_in(struct iscsi_conn *conn, uint32_t itt,
					       uint32_t ttt, const uint8_t *lun,
					       const uint8_t *data, uint32_t len)
{
	struct iscsi_ctl_pdu *c = iscsi_ctl_get(conn, len);

	if (!c) {
		return NULL;
	}
	c->tx.hdr[0] = ISCSI_OP_NOP_IN;
	c->tx.hdr[1] = ISCSI_FLAG_FINAL;
	if (lun) {
		memcpy(c->tx.hdr + 8, lun, 8);
	}
	put_be32(c->tx.hdr + 16, itt);
	put_be32(c->tx.hdr + 20, ttt);
	if (len) {
		memcpy(c->buf, data, len);
	}
	c->tx.data_len = len;
	return c;
}

void iscsi_conn_send_nop_answer(struct iscsi_conn *conn, struct iscsi_ctl_pdu *c)
{
	uint32_t itt = get_be32(c->tx.hdr + 16);

	/* §11.19.2: StatSN advances only for a NOP-In that answers a NOP-Out;
	 * a ping (ITT reserved) carries the current StatSN. */
	iscsi_conn_stamp_sn(conn, c->tx.hdr, itt != ISCSI_RESERVED_TAG);
	iscsi_conn_send_ctl(conn, c);
}

static void conn_send_nop_in(struct iscsi_conn *conn, uint32_t itt, uint32_t ttt,
			     const uint8_t *lun, const uint8_t *data, uint32_t len)
{
	struct iscsi_ctl_pdu *c = conn_build_nop_in(conn, itt, ttt, lun, data, len);

	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	iscsi_conn_send_nop_answer(conn, c);
}

static void nop_timer_cb(void *data)
{
	struct iscsi_conn *conn = data;
	const struct iscsi_server_config *cfg = &conn->server->cfg;
	uint64_t now = iscsi_now_ms();

	conn->nop_timer_armed = false;
	if (conn->state == ISCSI_CONN_LOGIN) {
		/* A login that does not finish in time holds resources for nothing. */
		iscsi_conn_close(conn, "login timeout");
		return;
	}
	if (conn->state != ISCSI_CONN_FULL_FEATURE) {
		return;
	}
	if (conn->nop_outstanding) {
		if (cfg->nop_timeout_s &&
		    now - conn->last_rx_ms >= (uint64_t)cfg->nop_timeout_s * 1000u) {
			iscsi_conn_close(conn, "no answer to NOP-In ping");
			return;
		}
		/* Other traffic since the ping proves the initiator alive. */
		conn->nop_outstanding = false;
	} else if (now - conn->last_rx_ms >= (uint64_t)cfg->nop_interval_s * 1000u) {
		/* §11.19: a target ping, TTT != 0xffffffff, ITT reserved. */
		conn->nop_ttt = NOP_TTT_BASE | (conn->nop_ttt + 1u);
		conn->nop_outstanding = true;
		conn_send_nop_in(conn, ISCSI_RESERVED_TAG, conn->nop_ttt, NULL, NULL, 0);
		if (conn->state == ISCSI_CONN_DEAD) {
			return;
		}
		nop_timer_arm(conn, cfg->nop_timeout_s ? cfg->nop_timeout_s : cfg->nop_interval_s);
		return;
	}
	nop_timer_arm(conn, cfg->nop_interval_s);
}

/* @ahead: a non-immediate NOP-Out whose CmdSN is ahead of a gap (conn_rx_pdu). */
static void conn_rx_nop_out(struct iscsi_conn *conn, bool ahead)
{
	const uint8_t *bhs = conn->hdr;
	uint32_t itt = iscsi_bhs_itt(bhs);
	uint32_t ttt = get_be32(bhs + 20);
	uint32_t len = conn->rx_layout.data_len;

	if (ahead && (itt == ISCSI_RESERVED_TAG || ttt != ISCSI_RESERVED_TAG) &&
	    iscsi_session_cmdsn_note_ahead(conn->session, get_be32(bhs + 24), NULL) < 0) {
		return; /* nothing to answer: only its CmdSN counts */
	}
	if (itt == ISCSI_RESERVED_TAG) {
		/* Answer to our ping (or a no-reply NOP-Out): §11.18.2. */
		if (ttt == conn->nop_ttt) {
			conn->nop_outstanding = false;
		}
		return;
	}
	if (ttt != ISCSI_RESERVED_TAG) {
		/* §11.18.3: an initiator ping must carry TTT 0xffffffff. */
		iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
		return;
	}
	/* §11.18: echo the ping data back (at most what the initiator accepts). */
	if (len > conn->params.max_xmit_dsl) {
		len = conn->params.max_xmit_dsl;
	}
	if (ahead) {
		/* Answered when ExpCmdSN passes it, in CmdSN order (§4.2.2.1). */
		struct iscsi_ctl_pdu *c =
			conn_build_nop_in(conn, itt, ISCSI_RESERVED_TAG, bhs + 8, conn->rx_buf, len);

		if (!c) {
			iscsi_conn_close(conn, "out of memory");
		} else if (iscsi_session_cmdsn_note_ahead(conn->session, get_be32(bhs + 24), c) < 0) {
			conn_log(conn, LOG_DEBUG, "too many NOP-Outs ahead of a CmdSN gap, dropped");
			iscsi_ctl_discard(c);
		}
		return;
	}
	conn_send_nop_in(conn, itt, ISCSI_RESERVED_TAG, bhs + 8, conn->rx_buf, len);
}

/* --------------------------------------------------------------- Logout */

static void conn_rx_logout(struct iscsi_conn *conn)
{
	const uint8_t *bhs = conn->hdr;
	uint8_t reason = bhs[1] & 0x7f;
	uint16_t cid = get_be16(bhs + 20);
	uint8_t response = ISCSI_LOGOUT_RSP_OK;
	struct iscsi_ctl_pdu *c;

	switch (reason) {
	case ISCSI_LOGOUT_CLOSE_SESSION:
		break;
	case ISCSI_LOGOUT_CLOSE_CONNECTION:
		if (cid != conn->cid) {
			/* §11.15.1: other connections of the session; we host one. */
			response = ISCSI_LOGOUT_RSP_CID_NOT_FOUND;
		}
		break;
	case ISCSI_LOGOUT_REMOVE_FOR_RECOVERY:
		/* ERL < 2: connection recovery unsupported (§11.15.1). */
		response = ISCSI_LOGOUT_RSP_RECOVERY_UNSUPPORTED;
		break;
	default:
		iscsi_conn_send_reject(conn, ISCSI_REJECT_INVALID_PDU_FIELD, bhs);
		return;
	}
	c = iscsi_ctl_get(conn, 0);
	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	c->tx.hdr[0] = ISCSI_OP_LOGOUT_RSP;
	c->tx.hdr[1] = ISCSI_FLAG_FINAL;
	c->tx.hdr[2] = response;
	put_be32(c->tx.hdr + 16, iscsi_bhs_itt(bhs));
	iscsi_conn_stamp_sn(conn, c->tx.hdr, true);
	if (response == ISCSI_LOGOUT_RSP_OK) {
		/* §11.15.4/5: ERL 0 keeps no state: Time2Wait, Time2Retain 0. */
		put_be16(c->tx.hdr + 40, 0);
		put_be16(c->tx.hdr + 42, 0);
		/* §11.14: in-flight tasks of the connection are terminated; their
		 * responses are not sent. */
		if (conn->session) {
			iscsi_session_abort_tasks(conn->session, true, 0, NULL);
		}
		conn_log(conn, LOG_INFO, "logout (reason %u)", reason);
		iscsi_conn_send_ctl(conn, c);
		if (conn->state != ISCSI_CONN_DEAD) {
			conn->state = ISCSI_CONN_LOGGED_OUT;
			conn->rx_paused = true;
			conn_poll_update(conn);
		}
		return;
	}
	iscsi_conn_send_ctl(conn, c);
}

void iscsi_conn_send_async_logout(struct iscsi_conn *conn)
{
	/* Shutdown: the daemon goes away after a short grace period. */
	iscsi_conn_request_logout(conn, 1);
}

void iscsi_conn_request_logout(struct iscsi_conn *conn, uint16_t wait_s)
{
	struct iscsi_ctl_pdu *c;

	if (conn->async_sent || conn->state != ISCSI_CONN_FULL_FEATURE) {
		return;
	}
	c = iscsi_ctl_get(conn, 0);
	if (!c) {
		return;
	}
	conn->async_sent = true;
	c->tx.hdr[0] = ISCSI_OP_ASYNC_MSG;
	c->tx.hdr[1] = ISCSI_FLAG_FINAL;
	put_be64(c->tx.hdr + 8, 0);
	put_be32(c->tx.hdr + 16, ISCSI_RESERVED_TAG);
	iscsi_conn_stamp_sn(conn, c->tx.hdr, true);
	c->tx.hdr[36] = ISCSI_ASYNC_LOGOUT_REQUEST;
	/* §11.9.1: Parameter3 = seconds the initiator has to log out. */
	put_be16(c->tx.hdr + 42, wait_s);
	iscsi_conn_send_ctl(conn, c);
}

/* ----------------------------------------------------------------- Text */

static int conn_sendtargets(void *ctx, const char *value, struct iscsi_text_builder *out);

static void conn_rx_text(struct iscsi_conn *conn)
{
	struct iscsi_session *s = conn->session;
	struct iscsi_text_ctx tctx = {
		.session_type = s->discovery ? ISCSI_SESSION_DISCOVERY : ISCSI_SESSION_NORMAL,
		.session_target = s->target_name,
		.params = &conn->params,
		.sendtargets = conn_sendtargets,
		.cb_ctx = conn,
	};
	const uint8_t *rsp_data = NULL;
	uint32_t rsp_len = 0;
	uint8_t reject = ISCSI_REJECT_PROTOCOL_ERROR;
	struct iscsi_ctl_pdu *c;
	enum iscsi_text_step step;

	if (!conn->text_ready) {
		if (iscsi_text_exchange_init(&conn->text) != 0) {
			iscsi_conn_send_reject(conn, ISCSI_REJECT_OUT_OF_RESOURCES, conn->hdr);
			return;
		}
		conn->text_ready = true;
	}
	/* The exchange splits its answer at max_xmit_dsl (§11.11). */
	c = iscsi_ctl_get(conn, conn->params.max_xmit_dsl < ISCSI_TEXT_ACCUM_MAX
					? conn->params.max_xmit_dsl
					: ISCSI_TEXT_ACCUM_MAX);
	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	step = iscsi_text_exchange_step(&conn->text, &tctx, conn->hdr, conn->rx_buf,
					conn->rx_layout.data_len, c->tx.hdr, &rsp_data, &rsp_len,
					&reject);
	switch (step) {
	case ISCSI_TEXT_RESPOND:
		if (rsp_len > c->cap) {
			/* Never: the exchange splits at max_xmit_dsl. */
			rsp_len = c->cap;
		}
		if (rsp_len) {
			memcpy(c->buf, rsp_data, rsp_len);
		}
		c->tx.data_len = rsp_len;
		iscsi_conn_stamp_sn(conn, c->tx.hdr, true);
		iscsi_conn_send_ctl(conn, c);
		return;
	case ISCSI_TEXT_REJECT:
		ctl_sent(conn, &c->tx, false);
		iscsi_conn_send_reject(conn, reject, conn->hdr);
		return;
	case ISCSI_TEXT_FAIL:
	default:
		ctl_sent(conn, &c->tx, false);
		iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, conn->hdr);
		iscsi_conn_close_after_tx(conn);
		return;
	}
}

/*
 * SendTargets (§13.3, Appendix C): each target the initiator may see, with
 * the portal this connection came in on (its local address, which is what a
 * wildcard listener must report) and every other registered portal, all with
 * our TPGT.
 */
static int conn_sendtargets(void *ctx, const char *value, struct iscsi_text_builder *out)
{
	struct iscsi_conn *conn = ctx;
	struct iscsi_server *server = conn->server;
	enum { ST_MAX_ADDR = 16, ST_MAX_TARGETS = 256 };
	char addrs[ST_MAX_ADDR][ISCSI_ADDR_STR_MAX + 8];
	const char *addr_ptrs[ST_MAX_ADDR];
	unsigned int naddr = 0, ntgt = 0;
	struct iscsi_st_target *targets;
	struct iscsi_target_entry *t;
	struct iscsi_portal *p;
	char local[ISCSI_ADDR_STR_MAX];
	int rc;

	iscsi_sockaddr_str((const struct sockaddr *)&conn->local_addr, local, sizeof(local));
	snprintf(addrs[naddr], sizeof(addrs[0]), "%s,%u", local, server->cfg.tpgt);
	addr_ptrs[naddr] = addrs[naddr];
	naddr++;
	qb_list_for_each_entry(p, &server->portals, node) {
		char a[ISCSI_ADDR_STR_MAX];
		bool dup = false;

		if (naddr == ST_MAX_ADDR) {
			break;
		}
		if (p->wildcard) {
			/* Reachable at the address this connection used, on the
			 * wildcard portal's port. */
			struct sockaddr_storage at = conn->local_addr;
			uint16_t port =
				p->sa.ss_family == AF_INET
					? ((const struct sockaddr_in *)(const void *)&p->sa)
						  ->sin_port
					: ((const struct sockaddr_in6 *)(const void *)&p->sa)
						  ->sin6_port;

			if (at.ss_family == AF_INET) {
				((struct sockaddr_in *)(void *)&at)->sin_port = port;
			} else {
				((struct sockaddr_in6 *)(void *)&at)->sin6_port = port;
			}
			iscsi_sockaddr_str((const struct sockaddr *)&at, a, sizeof(a));
		} else {
			iscsi_sockaddr_str((const struct sockaddr *)&p->sa, a, sizeof(a));
		}
		snprintf(addrs[naddr], sizeof(addrs[0]), "%s,%u", a, server->cfg.tpgt);
		for (unsigned int i = 0; i < naddr; i++) {
			dup = dup || strcmp(addrs[i], addrs[naddr]) == 0;
		}
		if (!dup) {
			addr_ptrs[naddr] = addrs[naddr];
			naddr++;
		}
	}
	targets = calloc(ST_MAX_TARGETS, sizeof(*targets));
	if (!targets) {
		return -ENOMEM;
	}
	qb_list_for_each_entry(t, &server->targets, node) {
		if (ntgt == ST_MAX_TARGETS) {
			break;
		}
		if (!conn->session || !iscsi_target_acl_allows(t, conn->session->initiator_name)) {
			continue;
		}
		targets[ntgt].name = t->name;
		targets[ntgt].addresses = addr_ptrs;
		targets[ntgt].n_addresses = naddr;
		ntgt++;
	}
	rc = iscsi_sendtargets_build(
		value,
		conn->session && conn->session->discovery ? ISCSI_SESSION_DISCOVERY
							  : ISCSI_SESSION_NORMAL,
		conn->session ? conn->session->target_name : "", targets, ntgt, out);
	free(targets);
	return rc;
}

/* -------------------------------------------------------------- receive */

static void conn_rx_reset(struct iscsi_conn *conn)
{
	conn->rx_state = ISCSI_RX_BHS;
	conn->rx_off = 0;
	conn->rx_data = NULL;
	conn->rx_discard = false;
	conn->rx_task = NULL;
}

/* Login phase: a non-Login PDU gets Login Response 0x020b, then close. */
static void conn_login_phase_violation(struct iscsi_conn *conn)
{
	struct iscsi_ctl_pdu *c = iscsi_ctl_get(conn, 0);

	conn_log(conn, LOG_NOTICE, "opcode 0x%02x during login", iscsi_bhs_opcode(conn->hdr));
	if (!c) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	c->tx.hdr[0] = ISCSI_OP_LOGIN_RSP;
	memcpy(c->tx.hdr + 8, conn->hdr + 8, ISCSI_ISID_LEN + 2);
	put_be32(c->tx.hdr + 16, iscsi_bhs_itt(conn->hdr));
	put_be32(c->tx.hdr + 24, conn->stat_sn);
	c->tx.hdr[36] = ISCSI_LOGIN_INVALID_DURING_LOGIN >> 8;
	c->tx.hdr[37] = ISCSI_LOGIN_INVALID_DURING_LOGIN & 0xff;
	iscsi_conn_send_ctl(conn, c);
	iscsi_conn_close_after_tx(conn);
}

/* The BHS is in; check it and decide where the rest goes. @return 0 or -1 (stop). */
static int conn_rx_bhs(struct iscsi_conn *conn)
{
	struct iscsi_pdu_limits lim = {
		.login_phase = conn->state == ISCSI_CONN_LOGIN,
		.header_digest = conn->params.header_digest == ISCSI_DIGEST_CRC32C,
		.data_digest = conn->params.data_digest == ISCSI_DIGEST_CRC32C,
		.max_recv_dsl = conn->params.max_recv_dsl,
	};
	enum iscsi_pdu_err err = iscsi_pdu_check(conn->hdr, &lim, &conn->rx_layout);
	uint32_t limit = lim.login_phase ? ISCSI_LOGIN_DSL_MAX : lim.max_recv_dsl;

	if (conn->rx_layout.data_len > limit || err == ISCSI_PDU_ERR_DSL) {
		conn_log(conn, LOG_NOTICE, "DataSegmentLength %u above our limit %u",
			 conn->rx_layout.data_len, limit);
		if (lim.login_phase) {
			iscsi_conn_close(conn, "oversized login PDU");
		} else {
			/* §11.17.1 / §7.3: protocol error, then the stream
			 * cannot be framed any more. */
			iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, conn->hdr);
			iscsi_conn_close_after_tx(conn);
		}
		return -1;
	}
	if (err == ISCSI_PDU_ERR_PHASE) {
		conn_login_phase_violation(conn);
		return -1;
	}
	conn->rx_state = ISCSI_RX_HDR_REST;
	conn->rx_off = 0;
	return 0;
}

/* BHS + AHS + header digest are in. @return 0 or -1 (stop). */
static int conn_rx_header(struct iscsi_conn *conn)
{
	struct iscsi_pdu_limits lim = {
		.login_phase = conn->state == ISCSI_CONN_LOGIN,
		.header_digest = conn->params.header_digest == ISCSI_DIGEST_CRC32C,
		.data_digest = conn->params.data_digest == ISCSI_DIGEST_CRC32C,
		.max_recv_dsl = conn->params.max_recv_dsl,
	};
	enum iscsi_pdu_err err;
	uint8_t op = iscsi_bhs_opcode(conn->hdr);

	if (!lim.login_phase && lim.header_digest &&
	    !iscsi_pdu_header_digest_ok(conn->hdr, ISCSI_BHS_LEN + conn->rx_layout.ahs_len)) {
		/* §7.8: nothing in a header with a bad digest can be trusted,
		 * not even its length: ERL 0 drops the connection. */
		iscsi_conn_close(conn, "header digest error");
		return -1;
	}
	conn->rx_state = ISCSI_RX_DATA;
	conn->rx_off = 0;
	conn->rx_data = conn->rx_buf;
	conn->rx_discard = false;
	err = iscsi_pdu_check(conn->hdr, &lim, &conn->rx_layout);
	if (err != ISCSI_PDU_OK) {
		/* Known-length PDU we will not process: read its data, drop it. */
		conn->rx_discard = true;
		return 0;
	}
	if (lim.login_phase) {
		return 0;
	}
	if (op == ISCSI_OP_SCSI_CMD) {
		iscsi_scsi_cmd_rx_bhs(conn);
	} else if (op == ISCSI_OP_DATA_OUT) {
		iscsi_data_out_rx_bhs(conn);
	}
	return conn->state == ISCSI_CONN_DEAD ? -1 : 0;
}

/* A complete PDU is in. */
static void conn_rx_pdu(struct iscsi_conn *conn, bool digest_ok)
{
	struct iscsi_pdu_limits lim = {
		.login_phase = conn->state == ISCSI_CONN_LOGIN,
		.max_recv_dsl = conn->params.max_recv_dsl,
	};
	struct iscsi_pdu_layout layout;
	enum iscsi_pdu_err err = iscsi_pdu_check(conn->hdr, &lim, &layout);
	uint8_t op = iscsi_bhs_opcode(conn->hdr);

	conn->last_rx_ms = iscsi_now_ms();
	if (op != ISCSI_OP_NOP_OUT) {
		conn->last_request_ms = conn->last_rx_ms;
	}
	if (err != ISCSI_PDU_OK) {
		uint8_t reason = iscsi_pdu_err_reject_reason(err);

		if (reason) {
			iscsi_conn_send_reject(conn, reason, conn->hdr);
		} else {
			iscsi_conn_close(conn, iscsi_pdu_err_str(err));
		}
		return;
	}
	if (!digest_ok) {
		/* §7.8: Reject the PDU with a data digest error and discard it;
		 * a Data-Out's task ends with CHECK CONDITION (scsi_cmd.c). */
		if (op == ISCSI_OP_DATA_OUT) {
			conn->rx_bad_digest = true;
			iscsi_data_out_rx_done(conn);
		} else if (op == ISCSI_OP_SCSI_CMD) {
			iscsi_scsi_cmd_rx_bad_digest(conn);
		}
		if (conn->state != ISCSI_CONN_DEAD) {
			iscsi_conn_send_reject(conn, ISCSI_REJECT_DIGEST_ERROR, conn->hdr);
		}
		return;
	}
	if (conn->state == ISCSI_CONN_LOGIN) {
		iscsi_conn_login_pdu(conn, conn->hdr, conn->rx_buf, conn->rx_layout.data_len);
		return;
	}
	if (conn->state != ISCSI_CONN_FULL_FEATURE) {
		return;
	}
	/* ExpStatSN (bytes 28..31 of initiator PDUs): acknowledgement only at
	 * ERL 0; nothing to retransmit. */
	if (op != ISCSI_OP_DATA_OUT) {
		conn->exp_stat_sn = get_be32(conn->hdr + 28);
	}
	if (conn->session && conn->session->discovery && op != ISCSI_OP_TEXT_REQ &&
	    op != ISCSI_OP_LOGOUT_REQ && op != ISCSI_OP_NOP_OUT) {
		/* §4.3: a discovery session carries Text, NOP and Logout only. */
		iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, conn->hdr);
		return;
	}
	/* Non-immediate control PDUs take part in CmdSN ordering (§4.2.2.1):
	 * we process them on arrival, but one ahead of a gap is noted and
	 * ExpCmdSN passes it once the gap fills; a NOP-Out's answer waits
	 * until then. */
	if (op != ISCSI_OP_SCSI_CMD && op != ISCSI_OP_DATA_OUT && op != ISCSI_OP_SNACK_REQ &&
	    !iscsi_bhs_immediate(conn->hdr) && conn->session) {
		uint32_t cmdsn = get_be32(conn->hdr + 24);
		int r = iscsi_session_cmdsn_check(conn->session, cmdsn);

		if (r > 0 && op == ISCSI_OP_NOP_OUT) {
			conn_rx_nop_out(conn, true);
			return;
		}
		if (r > 0 && iscsi_session_cmdsn_note_ahead(conn->session, cmdsn, NULL) < 0) {
			r = -1;
		}
		if (r < 0) {
			/* Outside the window: silently ignored (§4.2.2.1). */
			conn_log(conn, LOG_DEBUG, "opcode 0x%02x cmdsn %u outside window, dropped",
				 op, cmdsn);
			return;
		}
		if (r == 0) {
			iscsi_session_cmdsn_advance(conn->session);
			iscsi_session_run_pending(conn->session);
			if (conn->state == ISCSI_CONN_DEAD) {
				return;
			}
		}
	}
	switch (op) {
	case ISCSI_OP_NOP_OUT:
		conn_rx_nop_out(conn, false);
		break;
	case ISCSI_OP_SCSI_CMD:
		iscsi_scsi_cmd_rx_done(conn);
		break;
	case ISCSI_OP_DATA_OUT:
		iscsi_data_out_rx_done(conn);
		break;
	case ISCSI_OP_TMF_REQ:
		iscsi_tmf_rx(conn);
		break;
	case ISCSI_OP_TEXT_REQ:
		conn_rx_text(conn);
		break;
	case ISCSI_OP_LOGOUT_REQ:
		conn_rx_logout(conn);
		break;
	case ISCSI_OP_LOGIN_REQ:
		/* §6.1 / §11.12: login is over on this connection. */
		iscsi_conn_send_reject(conn, ISCSI_REJECT_PROTOCOL_ERROR, conn->hdr);
		break;
	case ISCSI_OP_SNACK_REQ:
		/* ERL 0: no SNACK support (§11.16, §7.1). */
		iscsi_conn_send_reject(conn, ISCSI_REJECT_SNACK_REJECT, conn->hdr);
		break;
	default:
		iscsi_conn_send_reject(conn, ISCSI_REJECT_CMD_NOT_SUPPORTED, conn->hdr);
		break;
	}
}

/* Read into @iov; @return bytes, 0 if nothing now, -1 if the conn closed. */
static ssize_t conn_readv(struct iscsi_conn *conn, struct iovec *iov, int n)
{
	for (;;) {
		ssize_t r = readv(conn->fd, iov, n);

		if (r > 0) {
			return r;
		}
		if (r == 0) {
			iscsi_conn_close(conn, "peer closed");
			return -1;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		}
		iscsi_conn_close(conn, "read error");
		return -1;
	}
}

/* Copy up to the length of @iov from @src (advancing *off); @return bytes copied. */
static size_t conn_copy_in(const uint8_t *src, uint32_t *off, uint32_t len, struct iovec *iov,
			   int n)
{
	size_t done = 0;

	for (int i = 0; i < n && *off < len; i++) {
		size_t k = iov[i].iov_len;

		if (k > len - *off) {
			k = len - *off;
		}
		memcpy(iov[i].iov_base, src + *off, k);
		*off += (uint32_t)k;
		done += k;
		if (k < iov[i].iov_len) {
			break;
		}
	}
	return done;
}

/*
 * Fill @iov (the next piece the receive machine needs) from the spill, the
 * server's staging buffer, or the socket. @return bytes, 0 if nothing now,
 * -1 if the conn closed.
 */
static ssize_t conn_fill(struct iscsi_conn *conn, struct iovec *iov, int n)
{
	struct iscsi_server *srv = conn->server;
	struct iovec stage;
	size_t want = 0;
	ssize_t r;

	if (conn->rx_spill) {
		size_t k = conn_copy_in(conn->rx_spill, &conn->rx_spill_off, conn->rx_spill_len,
					iov, n);

		if (conn->rx_spill_off == conn->rx_spill_len) {
			free(conn->rx_spill);
			conn->rx_spill = NULL;
		}
		return (ssize_t)k;
	}
	if (srv->rx_stage_off < srv->rx_stage_len) {
		return (ssize_t)conn_copy_in(srv->rx_stage, &srv->rx_stage_off, srv->rx_stage_len,
					     iov, n);
	}
	if (conn->rx_drained) {
		return 0;
	}
	for (int i = 0; i < n; i++) {
		want += iov[i].iov_len;
	}
	if (want >= ISCSI_RX_DIRECT_MIN) {
		r = conn_readv(conn, iov, n);
		if (r > 0 && (size_t)r < want) {
			conn->rx_drained = true;
		}
		return r;
	}
	if (!srv->rx_stage) {
		srv->rx_stage = malloc(ISCSI_RX_STAGE_SIZE);
		if (!srv->rx_stage) {
			/* Degrade to reading piece by piece. */
			return conn_readv(conn, iov, n);
		}
	}
	stage.iov_base = srv->rx_stage;
	stage.iov_len = ISCSI_RX_STAGE_SIZE;
	r = conn_readv(conn, &stage, 1);
	if (r <= 0) {
		return r;
	}
	conn->rx_reads++;
	if ((size_t)r < ISCSI_RX_STAGE_SIZE) {
		conn->rx_drained = true;
	}
	srv->rx_stage_off = 0;
	srv->rx_stage_len = (uint32_t)r;
	return (ssize_t)conn_copy_in(srv->rx_stage, &srv->rx_stage_off, srv->rx_stage_len, iov, n);
}

static bool conn_data_digest_ok(struct iscsi_conn *conn)
{
	uint32_t len = conn->rx_layout.data_len;
	uint32_t pad = ISCSI_PAD(len) - len;
	uint32_t crc;

	if (conn->params.data_digest != ISCSI_DIGEST_CRC32C || len == 0 ||
	    conn->state == ISCSI_CONN_LOGIN) {
		return true;
	}
	crc = iscsi_crc32c_update(~0u, conn->rx_data, len);
	crc = iscsi_crc32c_update(crc, conn->trailer, pad);
	return ~crc == iscsi_digest_get(conn->trailer + pad);
}

/* Advance the receive machine once. @return 1 progress, 0 would block, -1 stop. */
static int conn_rx_step(struct iscsi_conn *conn)
{
	struct iovec iov[2];
	ssize_t r;

	switch (conn->rx_state) {
	case ISCSI_RX_BHS:
		iov[0].iov_base = conn->hdr + conn->rx_off;
		iov[0].iov_len = ISCSI_BHS_LEN - conn->rx_off;
		r = conn_fill(conn, iov, 1);
		if (r <= 0) {
			return (int)r;
		}
		conn->rx_off += (uint32_t)r;
		if (conn->rx_off < ISCSI_BHS_LEN) {
			return 1;
		}
		if (conn_rx_bhs(conn) != 0) {
			return -1;
		}
		/* fall through to check for an empty rest */
		if (conn->rx_layout.rest_header == 0) {
			return conn_rx_header(conn) == 0 ? 1 : -1;
		}
		return 1;
	case ISCSI_RX_HDR_REST:
		iov[0].iov_base = conn->hdr + ISCSI_BHS_LEN + conn->rx_off;
		iov[0].iov_len = conn->rx_layout.rest_header - conn->rx_off;
		r = conn_fill(conn, iov, 1);
		if (r <= 0) {
			return (int)r;
		}
		conn->rx_off += (uint32_t)r;
		if (conn->rx_off < conn->rx_layout.rest_header) {
			return 1;
		}
		return conn_rx_header(conn) == 0 ? 1 : -1;
	case ISCSI_RX_DATA: {
		uint32_t dlen = conn->rx_layout.data_len;
		uint32_t total = conn->rx_layout.rest_data;
		int n = 0;

		if (conn->rx_off < total) {
			if (conn->rx_off < dlen) {
				iov[n].iov_base = conn->rx_data + conn->rx_off;
				iov[n].iov_len = dlen - conn->rx_off;
				n++;
				iov[n].iov_base = conn->trailer;
				iov[n].iov_len = total - dlen;
			} else {
				iov[n].iov_base = conn->trailer + (conn->rx_off - dlen);
				iov[n].iov_len = total - conn->rx_off;
			}
			if (iov[n].iov_len) {
				n++;
			}
			r = conn_fill(conn, iov, n);
			if (r <= 0) {
				return (int)r;
			}
			conn->rx_off += (uint32_t)r;
			if (conn->rx_off < total) {
				return 1;
			}
		}
		if (conn->rx_discard) {
			/* Reject-worthy header: the data was only drained. */
			conn_rx_pdu(conn, true);
		} else {
			conn_rx_pdu(conn, conn_data_digest_ok(conn));
		}
		if (conn->state == ISCSI_CONN_DEAD) {
			return -1;
		}
		conn_rx_reset(conn);
		return 1;
	}
	}
	return -1;
}

/* Keep the staged bytes this connection did not consume (it paused). */
static void conn_rx_keep_rest(struct iscsi_conn *conn)
{
	struct iscsi_server *srv = conn->server;
	uint32_t off = srv->rx_stage_off, rest = srv->rx_stage_len - off;

	srv->rx_stage_off = srv->rx_stage_len = 0;
	if (rest == 0 || conn->state == ISCSI_CONN_DEAD) {
		return;
	}
	/* The spill is consumed before the stage is filled: it is empty. */
	conn->rx_spill = malloc(rest);
	if (!conn->rx_spill) {
		iscsi_conn_close(conn, "out of memory");
		return;
	}
	memcpy(conn->rx_spill, srv->rx_stage + off, rest);
	conn->rx_spill_off = 0;
	conn->rx_spill_len = rest;
}

static void conn_rx(struct iscsi_conn *conn)
{
	if (conn->in_rx) {
		return;
	}
	conn->in_rx = true;
	conn->rx_drained = false;
	conn->rx_reads = 0;
	while (conn->state != ISCSI_CONN_DEAD && !conn->rx_paused) {
		/* Fairness: after ISCSI_RX_READS_MAX reads, finish what is
		 * staged, then let other sockets run. */
		if (conn->rx_reads >= ISCSI_RX_READS_MAX && !conn->rx_spill &&
		    conn->server->rx_stage_off == conn->server->rx_stage_len) {
			break;
		}
		if (conn_rx_step(conn) <= 0) {
			break;
		}
	}
	conn_rx_keep_rest(conn);
	conn->in_rx = false;
	if (conn->state != ISCSI_CONN_DEAD && !conn->rx_paused && conn->rx_spill) {
		loop_pass_defer(&conn->rx_resume, LOOP_PASS_TX);
	}
}

static int32_t conn_io_cb(int32_t fd, int32_t revents, void *data)
{
	struct iscsi_conn *conn = data;
	(void)fd;

	iscsi_conn_reap_dead(conn->server);
	if (conn->state == ISCSI_CONN_DEAD) {
		return 0;
	}
	loop_pass_begin();
	if (revents & POLLOUT) {
		iscsi_conn_tx_kick(conn);
	}
	if (conn->state != ISCSI_CONN_DEAD && (revents & (POLLIN | POLLHUP | POLLERR))) {
		if (conn->state == ISCSI_CONN_CLOSING || conn->state == ISCSI_CONN_LOGGED_OUT) {
			if (revents & (POLLHUP | POLLERR)) {
				iscsi_conn_close(conn, "peer closed");
			}
		} else {
			conn_rx(conn);
		}
	}
	loop_pass_end();
	return 0;
}

/* Login finished: switch the receive limits and start the NOP timer. */
void iscsi_conn_enter_full_feature(struct iscsi_conn *conn)
{
	uint32_t cap = conn->params.max_recv_dsl;

	if (cap < ISCSI_LOGIN_DSL_MAX) {
		cap = ISCSI_LOGIN_DSL_MAX;
	}
	if (cap > conn->rx_buf_cap) {
		/* A fresh buffer, not realloc: the login data need not be kept,
		 * and pages of a large buffer nobody wrote cost no memory (an
		 * idle session never touches it). */
		uint8_t *nb = malloc(cap);

		if (!nb) {
			iscsi_conn_close(conn, "out of memory");
			return;
		}
		free(conn->rx_buf);
		conn->rx_buf = nb;
		conn->rx_buf_cap = cap;
	}
	conn->state = ISCSI_CONN_FULL_FEATURE;
	conn_update_prefix(conn);
	conn_log(conn, LOG_INFO, "full feature phase (%s session to '%s', hd=%s dd=%s mrdsl=%u/%u)",
		 conn->session->discovery ? "discovery" : "normal", conn->session->target_name,
		 conn->params.header_digest ? "crc32c" : "none",
		 conn->params.data_digest ? "crc32c" : "none", conn->params.max_recv_dsl,
		 conn->params.max_xmit_dsl);
	nop_timer_arm(conn, conn->server->cfg.nop_interval_s);
}
