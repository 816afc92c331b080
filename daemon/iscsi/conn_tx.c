// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The transmit side of an iSCSI connection (RFC 7143, ERL 0): PDUs are
 * struct iscsi_tx embedded in their owner (task or control PDU) and queued
 * FIFO. The queue drains with writev() batching many PDUs per call: what is
 * queued during a loop pass (daemon/base/loop_pass.h: the receive callback,
 * a batch of backing-store completions) goes out with one writev when the
 * pass ends; outside a pass (timers) at once. A partial write leaves the
 * rest queued with POLLOUT on. (Not a qb_loop job: libqb runs jobs only
 * after the next poll timeout, which added ~50 ms to every response.)
 *
 * Invariants: StatSN is stamped when a PDU is queued, so queue order is
 * StatSN order; each queued PDU's sent_fn runs exactly once (written, or
 * the connection died); while more than ISCSI_TX_BACKLOG_MAX bytes wait,
 * POLLIN is turned off (iscsi_conn_update_rx()). A connection that is
 * CLOSING or LOGGED_OUT is closed here once its queue is empty.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>

#include "daemon/iscsi/iscsi_int.h"

static void conn_tx_flush_cb(struct loop_deferred *d)
{
	struct iscsi_conn *conn =
		(struct iscsi_conn *)((char *)d - offsetof(struct iscsi_conn, tx_flush));

	if (conn->state != ISCSI_CONN_DEAD) {
		iscsi_conn_tx_kick(conn);
	}
}

void iscsi_conn_tx_init(struct iscsi_conn *conn)
{
	qb_list_init(&conn->tx_queue);
	conn->tx_flush.fn = conn_tx_flush_cb;
}

void iscsi_conn_tx_fini(struct iscsi_conn *conn)
{
	/* Fail everything still queued; owners recycle their PDUs. */
	while (!qb_list_empty(&conn->tx_queue)) {
		struct iscsi_tx *tx = qb_list_first_entry(&conn->tx_queue, struct iscsi_tx, node);

		qb_list_del(&tx->node);
		tx->queued = false;
		tx->sent_fn(conn, tx, false);
	}
	conn->tx_backlog = 0;
	loop_pass_cancel(&conn->tx_flush);
}

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
					iscsi_conn_poll_update(conn);
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
		iscsi_conn_poll_update(conn);
	}
}
