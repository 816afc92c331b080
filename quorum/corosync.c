/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Corosync transport behind quorum/cluster.h (DESIGN §2, §3): one CPG
 * group per cluster with CPG_TYPE_AGREED multicast, votequorum's quorate
 * flag, cmap for this node's id, the nodelist and the configured timeouts.
 * Everything runs on the daemon's qb_loop: the dispatch fds of cpg,
 * votequorum and cmap are polled there, and every callback comes from a
 * dispatch, a timer or a job, never from inside a call into this module.
 *
 * Sending: every CPG message is cut into chunks (wire.h) on a bounded FIFO;
 * CS_ERR_TRY_AGAIN (CPG flow control) leaves the rest queued and a timer
 * retries. Receiving: chunks are reassembled per sender; complete messages
 * go to the sync protocol (quorum/sync.h, docs/ARCHITECTURE.md "The sync
 * protocol"): summaries, snapshots, heartbeats, resync requests, probes,
 * and proposals, which are numbered only when applied.
 *
 * Losing corosync (a dispatch or send failing with anything but TRY_AGAIN):
 * report not quorate and not serving, drop what was queued and half
 * reassembled and this node's unapplied proposals (their waiters are told),
 * finalize the handles, and reconnect from a timer with back-off.
 * Reconnecting does not make the node synced: a sync round does.
 *
 * Leases (docs/ARCHITECTURE.md, "Serving and fencing"): a delivery of this
 * node's own heartbeat, sent at S, leases it until S + the base lease; when
 * none has been delivered for two heartbeat periods, reach probes (reach.h)
 * knock on the other nodes' ring addresses and the qnetd host, and if the
 * votes behind the hosts that answered (this node's included) would be
 * quorate, the lease runs to S + the long lease instead.
 *
 * Invariants: base.quorate == connected && joined && vq_quorate; serving only
 * while quorate && synced && !diverged && now < lease_until_ms
 * (cluster_serving_set enforces the first part); no proposal is applied
 * while a round is open; every handle is valid exactly while connected; at
 * most one of each timer armed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>
#include <qb/qblog.h>
#include <qb/qbutil.h>

#include "quorum/cluster_int.h"
#include "quorum/reach.h"
#include "quorum/sync.h"
#include "quorum/wire.h"

/* CPG flow control: how soon a send refused with TRY_AGAIN is retried. */
#define COROSYNC_RETRY_MS 10
/* Bound of the send FIFO: proposals beyond it fail with -EAGAIN. */
#define COROSYNC_QUEUE_MAX_BYTES (16u * 1024 * 1024)
/* Nodes read from cmap's nodelist. */
#define COROSYNC_NODES_MAX 64
/* Reach probes: this node's iSCSI port unless configured, corosync-qnetd's default port. */
#define COROSYNC_REACH_PORT 3260
#define COROSYNC_QNETD_PORT 5403

struct corosync_chunk {
	struct corosync_chunk *next;
	size_t len;
	uint8_t data[];		/* header + payload, ready for cpg_mcast_joined */
};

struct corosync {
	struct cluster base;			/* first: struct cluster * casts to us */
	struct cpg_name group;
	uint32_t want_node_id;			/* configured, 0: any */
	void (*confchg)(const struct cluster_confchg *chg, void *ctx);

	bool connected;				/* handles below are valid */
	cpg_handle_t cpg;
	votequorum_handle_t vq;
	cmap_handle_t cmap;
	cmap_track_handle_t track;
	int fd_cpg, fd_vq, fd_cmap;		/* polled while connected */
	bool joined;				/* our own join confchg seen */
	bool vq_quorate;
	bool synced;				/* set by a quorate sync round */
	uint64_t dropped;			/* deliveries while not quorate */
	uint32_t chunk_max;
	uint32_t msg_id;
	uint64_t ring_id_seq;			/* last totem ring */
	uint32_t local_pid;

	struct cluster_rx rx;
	struct corosync_chunk *head;		/* owned FIFO of chunks to send */
	struct corosync_chunk **tail;
	size_t queued_bytes;
	bool flow_waited;			/* TRY_AGAIN since the queue was last empty */

	uint32_t *members;			/* owned, node ids ascending */
	size_t member_count;
	struct cluster_node nodes[COROSYNC_NODES_MAX];
	size_t node_count;
	struct cluster_timing timing;

	qb_loop_timer_handle retry_timer;
	bool retry_armed;
	qb_loop_timer_handle reconnect_timer;
	bool reconnect_armed;
	uint32_t backoff_ms;
	bool lost_queued;			/* job: corosync_lost */

	int in_dispatch;			/* >0 inside a *_dispatch() */
	bool destroy_pending;			/* destroyed from a callback */

	/* The sync protocol (sync.h): one round per configuration change. */
	uint64_t seq;				/* last proposal delivered (numbered) */
	uint64_t gen;				/* epoch of the last quorate round */
	uint64_t view;				/* sync_view_id of the membership */
	uint32_t round;				/* rounds started in this view */
	bool round_open;			/* summaries or the snapshot awaited */
	uint64_t round_started_ms;
	bool await_snapshot;
	bool behind;				/* this round: takes the leader's snapshot */
	bool resync_wanted;			/* the last round ended inquorate */
	bool fresh;				/* not synced since the process started */
	bool diverged;				/* sticky: differs at the same (epoch, seq) */
	struct sync_member view_members[CPG_MEMBERS_MAX];
	size_t view_count;
	uint64_t acked[CPG_MEMBERS_MAX];	/* view member i applied up to acked[i] */
	uint64_t heard_ms[CPG_MEMBERS_MAX];	/* view member i's last heartbeat delivered here */
	bool silent[CPG_MEMBERS_MAX];		/* not heard for the grace period (logged) */
	bool ack_due;				/* applied something: APPLIED after the dispatch */
	struct sync_summary sums[CPG_MEMBERS_MAX];
	size_t sum_count;
	struct sync_decision decision;

	/* Own proposals not yet delivered: re-sent after a round (tagged anew). */
	struct corosync_out *out_head;
	struct corosync_out **out_tail;
	size_t out_bytes;

	/* Lease, heartbeats and grace (sync_timing_derive). */
	struct sync_timing st;
	uint64_t lease_until_ms;		/* monotonic; serving needs now < it */
	uint64_t lease_reported_ms;		/* the last the lease callback was told */
	uint64_t grace_until_ms;		/* no proposal leaves before it */
	uint32_t hb_id;
	uint64_t hb_sent_ms[16];		/* send time of heartbeat id % 16 */
	qb_loop_timer_handle hb_timer, lease_timer, grace_timer;
	bool hb_armed, lease_armed, grace_armed;
	uint64_t renewed_sent_ms;		/* send time of the last own heartbeat delivered */
	bool evidence;				/* reach probes since then found a majority */

	/* Reach probes: the other nodes' ring addresses and the qnetd host. */
	struct reach *reach;
	uint16_t reach_port;			/* probed at the other nodes' ring addresses */
	struct reach_target reach_targets[REACH_TARGETS_MAX];
	bool may_resolve;			/* start-up: names may go to the resolver */
	char resolved_name[256];		/* the last name the resolver answered ... */
	char resolved_addr[INET6_ADDRSTRLEN];	/* ... with this address */
	char reach_names[REACH_TARGETS_MAX][96];	/* "node 1 at 198.18.0.1:3260" */
	uint32_t reach_votes[REACH_TARGETS_MAX];
	enum reach_outcome reach_outcomes[REACH_TARGETS_MAX];	/* of the last round */
	size_t reach_count;
	size_t reach_qdevice_at;		/* the qnetd host's index, reach_count: none */
	bool reach_qdevice;			/* a quorum device is configured */
	uint32_t node_votes[COROSYNC_NODES_MAX];	/* nodelist.node.N.quorum_votes */
	uint32_t reach_node_votes;		/* the whole nodelist's, this node included */
	uint32_t reach_qdevice_votes;		/* quorum.device.votes, 0: not set */
	uint32_t own_votes, expected_votes;	/* for this round (votequorum, else counted) */
	uint32_t reached_votes;			/* this node's + those that answered this round */
	uint64_t reach_round_ms;		/* start of the running or last round */
	qb_loop_timer_handle reach_timer;
	bool reach_armed;

	/* A running cluster_probe_summaries() (probe_id 0: none). */
	uint64_t probe_id;
	uint32_t probe_counter;
	cluster_probe_done_fn probe_done;
	void *probe_arg;
	bool probe_delivered;			/* expected = the view when it was */
	struct sync_member probe_expect[CPG_MEMBERS_MAX];
	size_t probe_expect_n;
	struct sync_member probe_from[CPG_MEMBERS_MAX];
	struct cluster_summary probe_sums[CPG_MEMBERS_MAX];
	size_t probe_n;
	qb_loop_timer_handle probe_timer;
	bool probe_armed;
};

/* An own proposal: an 8-byte generation slot, then the proposal. */
struct corosync_out {
	struct corosync_out *next;
	uint64_t sent_gen;			/* 0: not multicast yet */
	size_t len;				/* of data, slot included */
	uint8_t data[];
};

static const struct cluster_ops corosync_ops;

static int cs_to_errno(cs_error_t err)
{
	switch (err) {
	case CS_OK:
		return 0;
	case CS_ERR_TRY_AGAIN:
		return -EAGAIN;
	case CS_ERR_NO_MEMORY:
		return -ENOMEM;
	case CS_ERR_INVALID_PARAM:
		return -EINVAL;
	case CS_ERR_TOO_BIG:
		return -EMSGSIZE;
	case CS_ERR_ACCESS:
		return -EACCES;
	default:
		return -ENOTCONN;
	}
}

/* ---- quorate / serving ---- */

static uint64_t now_ms(void)
{
	return qb_util_nano_current_get() / QB_TIME_NS_IN_MSEC;
}

static void corosync_destroy_now(struct corosync *c);
static void corosync_send_resync(struct corosync *c);
static void corosync_lease_expired(void *data);

/*
 * DESIGN §3: serve only while quorate, synced and leased. The lease timer
 * ends serving on this node's own clock even when no callback comes (a
 * hung corosync delivers nothing, so nothing renews the lease).
 */
static void corosync_serving_eval(struct corosync *c)
{
	uint64_t now = now_ms();
	bool leased = now < c->lease_until_ms;

	if (c->lease_armed) {
		qb_loop_timer_del(c->base.loop, c->lease_timer);
		c->lease_armed = false;
	}
	if (leased && qb_loop_timer_add(c->base.loop, QB_LOOP_HIGH,
					(c->lease_until_ms - now) * QB_TIME_NS_IN_MSEC, c,
					corosync_lease_expired, &c->lease_timer) == 0) {
		c->lease_armed = true;
	}
	if (c->lease_until_ms != c->lease_reported_ms && c->base.cb.lease != NULL) {
		c->lease_reported_ms = c->lease_until_ms;
		c->base.cb.lease(c->lease_until_ms * QB_TIME_NS_IN_MSEC, c->base.ctx);
	}
	cluster_serving_set(&c->base, c->base.quorate && c->synced && !c->diverged && leased);
}

/* What the last reach round did not reach, for the log. */
static void corosync_reach_missing(const struct corosync *c, char *out, size_t size)
{
	size_t len;
	int n;

	if (c->reach_round_ms == 0 || c->reach_round_ms <= c->renewed_sent_ms) {
		snprintf(out, size, "no reach probe since the last delivered heartbeat");
		return;
	}
	n = snprintf(out, size, "reached %" PRIu32 " of %" PRIu32 " expected votes", c->reached_votes,
		     c->expected_votes);
	len = n > 0 && (size_t)n < size ? (size_t)n : size - 1;
	for (size_t i = 0; i < c->reach_count && len < size - 1; i++) {
		enum reach_outcome o = c->reach_outcomes[i];

		if (reach_answered(o)) {
			continue;
		}
		n = snprintf(out + len, size - len, "; %s %s", c->reach_names[i],
			     o == REACH_PENDING ? "no answer yet" : reach_outcome_name(o));
		len = n > 0 && (size_t)n < size - len ? len + (size_t)n : size - 1;
	}
}

static void corosync_lease_expired(void *data)
{
	struct corosync *c = data;

	c->lease_armed = false;
	if (c->base.serving && now_ms() >= c->lease_until_ms) {
		if (c->evidence) {
			qb_log(LOG_WARNING, "cluster: lease expired (no own heartbeat delivered for %"
			       PRIu32 " ms): not serving", c->st.lease_ms);
		} else {
			char missing[512];

			corosync_reach_missing(c, missing, sizeof(missing));
			qb_log(LOG_WARNING, "cluster: lease expired (no own heartbeat delivered for %"
			       PRIu32 " ms and no majority reached: %s): not serving",
			       c->st.lease_base_ms, missing);
		}
	}
	c->in_dispatch++;
	corosync_serving_eval(c);
	c->in_dispatch--;
	if (c->destroy_pending) {
		corosync_destroy_now(c);
	}
}

static void corosync_lease_extend(struct corosync *c, uint64_t until)
{
	if (until > c->lease_until_ms) {
		c->lease_until_ms = until;
	}
}

static void corosync_reach_tick(void *data);

static void corosync_reach_arm(struct corosync *c, uint64_t delay_ms)
{
	if (c->reach_armed) {
		qb_loop_timer_del(c->base.loop, c->reach_timer);
		c->reach_armed = false;
	}
	if (qb_loop_timer_add(c->base.loop, QB_LOOP_HIGH, delay_ms * QB_TIME_NS_IN_MSEC, c,
			      corosync_reach_tick, &c->reach_timer) == 0) {
		c->reach_armed = true;
	}
}

/*
 * This node's heartbeat sent at @sent was delivered back to it while
 * quorate: it serves until the base lease after @sent, and probes for the
 * majority if the next one is two heartbeat periods late.
 */
static void corosync_lease_renew(struct corosync *c, uint64_t sent)
{
	if (sent > c->renewed_sent_ms) {
		uint64_t due = sent + 2 * (uint64_t)c->st.heartbeat_ms, now = now_ms();

		c->renewed_sent_ms = sent;
		c->evidence = false;
		corosync_reach_arm(c, due > now ? due - now + 1 : 1);
	}
	corosync_lease_extend(c, sent + c->st.lease_base_ms);
}

/*
 * Evidence of being on the winning side since the last delivered heartbeat:
 * a reach round begun after it reached hosts whose votes, with this node's,
 * are more than half of those expected. Then the lease runs to the long
 * lease after that heartbeat's send time, no further (the grace periods of
 * the others are derived from it).
 */
static void corosync_reach_check(struct corosync *c)
{
	if (c->evidence || c->reach_round_ms <= c->renewed_sent_ms ||
	    2 * (uint64_t)c->reached_votes <= c->expected_votes) {
		return;
	}
	c->evidence = true;
	corosync_lease_extend(c, c->renewed_sent_ms + c->st.lease_ms);
	qb_log(LOG_INFO, "cluster: no own heartbeat delivered for %" PRIu64 " ms, but reach probes "
	       "found %" PRIu32 " of %" PRIu32 " expected votes: lease up to %" PRIu32 " ms after "
	       "the last", now_ms() - c->renewed_sent_ms, c->reached_votes, c->expected_votes,
	       c->st.lease_ms);
	corosync_serving_eval(c);
}

/* Votes of this round: votequorum's view, else what the nodelist says. */
static void corosync_reach_votes(struct corosync *c)
{
	struct votequorum_info info;
	uint32_t qdev = c->reach_qdevice_votes != 0 ? c->reach_qdevice_votes : 1;
	uint32_t expected;

	c->own_votes = 1;
	for (size_t i = 0; i < c->node_count; i++) {
		if (c->nodes[i].id == c->base.node_id) {
			c->own_votes = c->node_votes[i];
		}
	}
	if (c->connected && votequorum_getinfo(c->vq, c->base.node_id, &info) == CS_OK) {
		if (info.node_votes > 0) {
			c->own_votes = info.node_votes;
		}
		if (info.qdevice_votes > 0) {
			qdev = info.qdevice_votes;
		}
		expected = info.highest_expected > info.node_expected_votes
				   ? info.highest_expected
				   : info.node_expected_votes;
	} else {
		expected = 0;
	}
	/* Never fewer than the nodelist's votes (and the device's): the stricter count. */
	if (expected < c->reach_node_votes + (c->reach_qdevice ? qdev : 0)) {
		expected = c->reach_node_votes + (c->reach_qdevice ? qdev : 0);
	}
	c->expected_votes = expected;
	if (c->reach_qdevice_at < c->reach_count) {
		c->reach_votes[c->reach_qdevice_at] = qdev;
	}
}

/* Start a reach round: every other node's ring address and the qnetd host. */
static void corosync_reach_round(struct corosync *c)
{
	int rc;

	corosync_reach_votes(c);
	for (size_t i = 0; i < c->reach_count; i++) {
		c->reach_outcomes[i] = REACH_PENDING;
	}
	c->reached_votes = c->own_votes;
	c->reach_round_ms = now_ms();
	/* A round still running is about to time out: the new one replaces it. */
	rc = reach_start(c->reach, c->reach_targets, c->reach_count, c->st.heartbeat_ms);
	if (rc < 0) {
		qb_log(LOG_ERR, "cluster: cannot start reach probes: %s", strerror(-rc));
	}
	qb_log(LOG_DEBUG, "cluster: no own heartbeat delivered for %" PRIu64 " ms: probing %zu "
	       "host(s)", c->reach_round_ms - c->renewed_sent_ms, c->reach_count);
	corosync_reach_check(c);	/* alone in the nodelist: its own votes may do */
}

/* One host's answer (or silence) in the running round. */
static void corosync_reach_result(size_t i, enum reach_outcome o, void *arg)
{
	struct corosync *c = arg;

	if (i >= c->reach_count) {
		return;
	}
	c->reach_outcomes[i] = o;
	if (reach_answered(o)) {
		c->reached_votes += c->reach_votes[i];
	}
	c->in_dispatch++;
	corosync_reach_check(c);
	c->in_dispatch--;
	if (c->destroy_pending && c->in_dispatch == 0) {
		corosync_destroy_now(c);
	}
}

/*
 * Two heartbeat periods after the send time of the last delivered own
 * heartbeat with none newer delivered, and every period after that while
 * there is a lease to gain: a reach round, unless one already found the
 * majority or this node could not serve anyway.
 */
static void corosync_reach_tick(void *data)
{
	struct corosync *c = data;
	uint64_t now = now_ms(), due = c->renewed_sent_ms + 2 * (uint64_t)c->st.heartbeat_ms;

	c->reach_armed = false;
	if (c->renewed_sent_ms == 0 || now >= c->renewed_sent_ms + c->st.lease_ms) {
		return;
	}
	if (now < due) {
		corosync_reach_arm(c, due - now + 1);
		return;
	}
	corosync_reach_arm(c, c->st.heartbeat_ms);
	if (c->evidence || !c->base.quorate || !c->synced || c->diverged) {
		return;
	}
	c->in_dispatch++;
	corosync_reach_round(c);
	c->in_dispatch--;
	if (c->destroy_pending) {
		corosync_destroy_now(c);
	}
}

static void corosync_quorate_update(struct corosync *c)
{
	bool q = c->connected && c->joined && c->vq_quorate;

	if (q != c->base.quorate) {
		c->base.quorate = q;
		/* Deliveries are dropped while not quorate: a sync round must follow. */
		if (!q) {
			c->synced = false;
		}
		qb_log(LOG_NOTICE, "cluster: %s", q ? "quorate" : "not quorate");
		if (c->base.cb.quorum != NULL) {
			c->base.cb.quorum(q, c->base.ctx);
		}
		if (q && (!c->synced || c->round_open)) {
			corosync_send_resync(c);
		}
	}
	corosync_serving_eval(c);
}

static int corosync_set_sequence(struct cluster *cluster, uint64_t seq)
{
	struct corosync *c = (struct corosync *)cluster;

	c->seq = seq;
	return 0;
}

static uint64_t corosync_sequence(const struct cluster *cluster)
{
	return ((const struct corosync *)cluster)->seq;
}

static size_t corosync_nodes(const struct cluster *cluster, const struct cluster_node **nodes)
{
	const struct corosync *c = (const struct corosync *)cluster;

	*nodes = c->nodes;
	return c->node_count;
}

static int corosync_timing_get(const struct cluster *cluster, struct cluster_timing *out)
{
	*out = ((const struct corosync *)cluster)->timing;
	return 0;
}

/* ---- send FIFO ---- */

static void corosync_queue_drop(struct corosync *c)
{
	size_t n = 0;

	while (c->head != NULL) {
		struct corosync_chunk *k = c->head;

		c->head = k->next;
		free(k);
		n++;
	}
	c->tail = &c->head;
	c->queued_bytes = 0;
	if (n > 0) {
		qb_log(LOG_WARNING, "cluster: dropped %zu unsent CPG messages", n);
	}
}

static void corosync_lost_schedule(struct corosync *c);

static void corosync_retry(void *data);

static void corosync_flush(struct corosync *c)
{
	while (c->connected && c->head != NULL && !c->retry_armed) {
		struct corosync_chunk *k = c->head;
		struct iovec iov = { .iov_base = k->data, .iov_len = k->len };
		cs_error_t err = cpg_mcast_joined(c->cpg, CPG_TYPE_AGREED, &iov, 1);

		if (err == CS_ERR_TRY_AGAIN) {
			/* CPG flow control: corosync's queue is full; come back later. */
			if (!c->flow_waited) {
				qb_log(LOG_INFO, "cluster: CPG flow control, %zu bytes queued",
				       c->queued_bytes);
			}
			c->flow_waited = true;
			if (qb_loop_timer_add(c->base.loop, QB_LOOP_MED,
					      COROSYNC_RETRY_MS * QB_TIME_NS_IN_MSEC, c,
					      corosync_retry, &c->retry_timer) == 0) {
				c->retry_armed = true;
			}
			return;
		}
		if (err != CS_OK) {
			qb_log(LOG_ERR, "cluster: cpg_mcast_joined: error %d", err);
			corosync_lost_schedule(c);
			return;
		}
		c->head = k->next;
		if (c->head == NULL) {
			c->tail = &c->head;
		}
		c->queued_bytes -= k->len;
		free(k);
	}
	if (c->head == NULL) {
		c->flow_waited = false;
	}
}

static void corosync_retry(void *data)
{
	struct corosync *c = data;

	c->retry_armed = false;
	corosync_flush(c);
}

/*
 * Queue @len bytes as one CPG message of @kind (chunked) and start sending.
 * @return 0, -EAGAIN (not joined, or the FIFO is full) or -ENOMEM.
 */
static int corosync_send(struct corosync *c, uint8_t kind, const void *msg, size_t len)
{
	size_t n = cluster_wire_chunks(len, c->chunk_max), i;
	struct corosync_chunk *first = NULL, **last = &first;
	uint32_t msg_id;
	size_t bytes = 0;

	if (!c->connected || !c->joined) {
		return -EAGAIN;
	}
	if (c->queued_bytes + len + n * CLUSTER_WIRE_HDR_LEN > COROSYNC_QUEUE_MAX_BYTES &&
	    kind == CLUSTER_WIRE_KIND_PROPOSAL) {
		return -EAGAIN;
	}
	msg_id = ++c->msg_id;
	for (i = 0; i < n; i++) {
		size_t piece = c->chunk_max - CLUSTER_WIRE_HDR_LEN, rest = len - i * piece;
		struct corosync_chunk *k =
			malloc(sizeof(*k) + CLUSTER_WIRE_HDR_LEN + (rest < piece ? rest : piece));

		if (k == NULL) {
			while (first != NULL) {
				k = first;
				first = k->next;
				free(k);
			}
			return -ENOMEM;
		}
		k->len = cluster_wire_chunk_build(k->data, kind, msg_id, msg, len, c->chunk_max, i);
		k->next = NULL;
		*last = k;
		last = &k->next;
		bytes += k->len;
	}
	c->queued_bytes += bytes;
	*c->tail = first;
	c->tail = last;
	/* cpg_mcast_joined never calls back: delivery comes from the loop. */
	corosync_flush(c);
	return 0;
}

/* ---- own proposals: held while syncing or in grace, re-sent after a round ---- */

static bool corosync_may_send_proposals(const struct corosync *c)
{
	return c->base.quorate && c->synced && !c->diverged && !c->round_open &&
	       now_ms() >= c->grace_until_ms;
}

/*
 * Multicast every own proposal not yet sent in this generation. One sent
 * in an older generation was dropped by every member (sync.h): sending it
 * again applies it once.
 */
static void corosync_outbox_release(struct corosync *c)
{
	struct corosync_out *o;

	if (!corosync_may_send_proposals(c)) {
		return;
	}
	for (o = c->out_head; o != NULL; o = o->next) {
		if (o->sent_gen == c->gen) {
			continue;
		}
		sync_put_u64(o->data, c->gen);
		if (corosync_send(c, CLUSTER_WIRE_KIND_PROPOSAL, o->data, o->len) < 0) {
			return;		/* FIFO full: the next release retries */
		}
		o->sent_gen = c->gen;
	}
}

/* Own proposal delivered in this generation: it is the oldest sent one. */
static void corosync_outbox_delivered(struct corosync *c)
{
	struct corosync_out *o = c->out_head;

	if (o == NULL || o->sent_gen != c->gen) {
		qb_log(LOG_ERR, "cluster: an own proposal was delivered that was not sent");
		return;
	}
	c->out_head = o->next;
	if (c->out_head == NULL) {
		c->out_tail = &c->out_head;
	}
	c->out_bytes -= o->len;
	free(o);
}

/*
 * The fate of this node's unapplied proposals is unknown (corosync went
 * away under them, or this node fell behind the others): drop them all.
 */
/* Free every own proposal not yet applied; @return how many. */
static size_t corosync_outbox_free(struct corosync *c)
{
	size_t n = 0;

	while (c->out_head != NULL) {
		struct corosync_out *o = c->out_head;

		c->out_head = o->next;
		free(o);
		n++;
	}
	c->out_tail = &c->out_head;
	c->out_bytes = 0;
	return n;
}

static void corosync_outbox_lost(struct corosync *c, const char *why)
{
	size_t n = corosync_outbox_free(c);

	if (n > 0) {
		qb_log(LOG_WARNING, "cluster: %zu own proposal(s) dropped: whether the cluster "
		       "applied them is unknown", n);
	}
	/* Also those applied here but not yet known to be applied everywhere. */
	if (c->base.cb.proposals_lost != NULL) {
		c->base.cb.proposals_lost(why, c->base.ctx);
	}
}

static int corosync_propose(struct cluster *cluster, const void *msg, size_t len)
{
	struct corosync *c = (struct corosync *)cluster;
	struct corosync_out *o;

	if (!c->connected || !c->joined) {
		return -EAGAIN;
	}
	if (c->out_bytes + len > COROSYNC_QUEUE_MAX_BYTES) {
		return -EAGAIN;
	}
	o = malloc(sizeof(*o) + SYNC_PROPOSAL_HDR_LEN + len);
	if (o == NULL) {
		return -ENOMEM;
	}
	o->next = NULL;
	o->sent_gen = 0;
	o->len = SYNC_PROPOSAL_HDR_LEN + len;
	memcpy(o->data + SYNC_PROPOSAL_HDR_LEN, msg, len);
	*c->out_tail = o;
	c->out_tail = &o->next;
	c->out_bytes += o->len;
	corosync_outbox_release(c);
	return 0;
}

/* ---- callbacks from libcpg / libvotequorum / libcmap ---- */

/* ---- the sync round (sync.h) ---- */

static void corosync_heartbeat(void *data);
static void corosync_heartbeat_send(struct corosync *c, uint64_t answers);

static void corosync_peers_changed(struct corosync *c)
{
	cluster_peers_notify(&c->base);
}

/*
 * Has view member @i been silent for the grace period (no heartbeat of its
 * delivered here)? Then its lease has lapsed on its own clock, so it does
 * not serve, and it cannot serve again before its next heartbeat comes back
 * to it, after every delivery made before it: it will have applied them.
 * Answers stop waiting for its acknowledgement (a member whose daemon hangs
 * while its corosync stays in the membership would hold them forever).
 */
static bool corosync_member_silent(struct corosync *c, size_t i, uint64_t now)
{
	bool silent = now - c->heard_ms[i] > c->st.grace_ms;
	struct cluster_peer *p;

	if (silent != c->silent[i]) {
		c->silent[i] = silent;
		p = cluster_peer_get(&c->base, c->view_members[i].node_id);
		if (p != NULL) {
			p->silent = silent;
			corosync_peers_changed(c);	/* its port group, range-lock grants */
		}
		qb_log(silent ? LOG_WARNING : LOG_NOTICE,
		       silent ? "cluster: node %" PRIu32 " unheard for %" PRIu64 " ms: its lease has "
				"lapsed, answers no longer wait for its acknowledgement"
			      : "cluster: node %" PRIu32 " heard again after %" PRIu64 " ms",
		       c->view_members[i].node_id, now - c->heard_ms[i]);
	}
	return silent;
}

/*
 * Applied everywhere = the least sequence every synced member of the view
 * acknowledged, but only between rounds and after any grace period: a
 * member that left may not have applied what the others did, and it may
 * serve until its lease ends. Silent members do not count.
 */
static void corosync_everywhere_update(struct corosync *c)
{
	uint64_t least = c->seq, now = now_ms();

	if (c->round_open || !c->synced || now < c->grace_until_ms) {
		return;
	}
	for (size_t i = 0; i < c->view_count; i++) {
		const struct sync_member *m = &c->view_members[i];
		const struct cluster_peer *p;

		if (m->node_id == c->base.node_id && m->pid == c->local_pid) {
			continue;
		}
		p = cluster_peer_get(&c->base, m->node_id);
		if (p != NULL && p->diverged) {
			continue;	/* out of the game until its state is replaced */
		}
		if (!corosync_member_silent(c, i, now) && c->acked[i] < least) {
			least = c->acked[i];
		}
	}
	cluster_everywhere_set(&c->base, least);
}

static void corosync_ack_send(struct corosync *c)
{
	uint8_t buf[SYNC_APPLIED_LEN];

	c->ack_due = false;
	sync_put_u64(buf, c->seq);
	(void)corosync_send(c, CLUSTER_WIRE_KIND_APPLIED, buf, sizeof(buf));
}

static void on_applied(struct corosync *c, uint32_t nodeid, uint32_t pid, const uint8_t *data,
		       size_t len)
{
	if (len != SYNC_APPLIED_LEN) {
		return;
	}
	for (size_t i = 0; i < c->view_count; i++) {
		if (c->view_members[i].node_id == nodeid && c->view_members[i].pid == pid) {
			uint64_t seq = sync_get_u64(data);

			if (seq > c->acked[i]) {
				c->acked[i] = seq;
			}
			corosync_everywhere_update(c);
			return;
		}
	}
}

static bool corosync_own_summary(struct corosync *c, struct sync_summary *out)
{
	struct cluster_summary sum = { 0 };

	if (c->base.cb.summary == NULL || c->base.cb.summary(&sum, c->base.ctx) < 0) {
		return false;
	}
	out->epoch = sum.epoch;
	out->seq = sum.applied_seq;
	memcpy(out->digest, sum.digest, sizeof(out->digest));
	return true;
}

/*
 * Start round @round of this view: proposals stop being applied (every
 * member stops at the same point of the agreed stream) and this node
 * multicasts its summary. A node that was synced keeps serving meanwhile:
 * nobody applies anything until the round ends.
 */
static void corosync_round_start(struct corosync *c, uint32_t round)
{
	struct sync_summary me = { .view = c->view, .round = round };
	uint8_t buf[SYNC_SUMMARY_LEN];

	c->round = round;
	c->round_open = true;
	c->await_snapshot = false;
	c->behind = false;
	c->sum_count = 0;
	c->round_started_ms = now_ms();
	if (!c->joined) {
		return;
	}
	me.quorate = c->base.quorate;
	me.fresh = c->fresh;
	if (!corosync_own_summary(c, &me)) {
		qb_log(LOG_ERR, "cluster: cannot take this node's summary; sync round %" PRIu32
		       " waits", round);
		return;
	}
	sync_summary_encode(buf, &me);
	if (corosync_send(c, CLUSTER_WIRE_KIND_SUMMARY, buf, sizeof(buf)) < 0) {
		qb_log(LOG_ERR, "cluster: cannot send this node's summary");
	}
}

static void corosync_send_resync(struct corosync *c)
{
	uint8_t buf[SYNC_RESYNC_LEN];

	if (!c->joined || c->diverged) {
		return;
	}
	sync_put_u64(buf, c->view);
	(void)corosync_send(c, CLUSTER_WIRE_KIND_RESYNC, buf, sizeof(buf));
}

/* The round is over for every member at this point of the agreed stream. */
static void corosync_round_complete(struct corosync *c, bool installed)
{
	const struct sync_decision *d = &c->decision;

	c->round_open = false;
	c->await_snapshot = false;
	if (!d->quorate) {
		/* An inquorate partition never names a new state; a later round will. */
		c->synced = false;
		qb_log(LOG_NOTICE, "cluster: sync round %" PRIu32 " ended without quorum",
		       c->round);
	} else if (c->diverged || (c->behind && !installed)) {
		c->synced = false;
	} else {
		uint64_t epoch = d->epoch + 1;
		int rc = c->base.cb.epoch_set != NULL ? c->base.cb.epoch_set(epoch, c->base.ctx)
						       : 0;

		c->seq = d->seq;
		c->gen = epoch;
		c->synced = rc == 0;
		c->fresh = false;
		/* Every member now holds the state at d->seq (and was just heard). */
		for (size_t i = 0; i < c->view_count; i++) {
			c->acked[i] = d->seq;
			c->heard_ms[i] = now_ms();
			c->silent[i] = false;
		}
		for (size_t k = 0; k < c->base.peer_count; k++) {
			c->base.peers[k].silent = false;
		}
		if (rc < 0) {
			qb_log(LOG_ERR, "cluster: cannot record epoch %" PRIu64 ": %s", epoch,
			       strerror(-rc));
		} else {
			qb_log(LOG_NOTICE, "cluster: synced with %zu member(s) at seq %" PRIu64
			       ", epoch %" PRIu64, c->sum_count, c->seq, epoch);
		}
	}
	corosync_serving_eval(c);
	corosync_outbox_release(c);
	corosync_everywhere_update(c);
	corosync_peers_changed(c);
	if (c->synced && !c->base.serving && c->hb_armed) {
		/* Synced but not leased yet: renew now rather than a period later. */
		qb_loop_timer_del(c->base.loop, c->hb_timer);
		c->hb_armed = false;
		if (qb_loop_timer_add(c->base.loop, QB_LOOP_HIGH, 0, c, corosync_heartbeat,
				      &c->hb_timer) == 0) {
			c->hb_armed = true;
		}
	}
}

/* Every member's summary is in: every member decides the same. */
static void corosync_round_decide(struct corosync *c)
{
	struct sync_decision *d = &c->decision;
	size_t me = c->sum_count, i;

	sync_decide(c->sums, c->sum_count, d);
	for (i = 0; i < c->sum_count; i++) {
		enum sync_role role = sync_role(c->sums, d, i);
		struct cluster_peer *p = cluster_peer_get(&c->base, c->sums[i].node_id);

		if (c->sums[i].node_id == c->base.node_id && c->sums[i].pid == c->local_pid) {
			me = i;
		}
		if (role == SYNC_DIVERGED) {
			qb_log(LOG_ERR, "cluster: node %" PRIu32 " DIVERGED: its state at epoch %"
			       PRIu64 ", seq %" PRIu64 " differs from node %" PRIu32 "'s",
			       c->sums[i].node_id, d->epoch, d->seq, c->sums[d->leader].node_id);
			if (p != NULL) {
				p->diverged = true;
			}
		}
	}
	if (me == c->sum_count) {
		return;		/* cannot happen: our own summary completed the set */
	}
	if (!d->quorate) {
		corosync_round_complete(c, false);
		return;
	}
	switch (sync_role(c->sums, d, me)) {
	case SYNC_DIVERGED:
		c->diverged = true;
		c->synced = false;
		qb_log(LOG_CRIT, "cluster: this node's state DIVERGED from the cluster's: not "
		       "serving until its state is replaced (quoratectl snapshot install "
		       "--replace, or a restart with an empty data directory)");
		break;
	case SYNC_BEHIND:
		c->behind = true;
		c->synced = false;	/* its state is old: stop serving now */
		/*
		 * Whether the leader's state holds this node's unapplied
		 * proposals is unknown (a partition may have applied one that
		 * this node dropped): sending them again could apply one twice.
		 * Their clients are told the outcome is unknown.
		 */
		corosync_outbox_lost(c, "this node fell behind the cluster and took its state");
		qb_log(LOG_NOTICE, "cluster: behind (epoch %" PRIu64 ", seq %" PRIu64
		       "): taking node %" PRIu32 "'s state (epoch %" PRIu64 ", seq %" PRIu64 ")",
		       c->sums[me].epoch, c->sums[me].seq, c->sums[d->leader].node_id, d->epoch,
		       d->seq);
		break;
	case SYNC_CURRENT:
		break;
	}
	corosync_serving_eval(c);
	if (!d->transfer) {
		corosync_round_complete(c, false);
		return;
	}
	c->await_snapshot = true;
	if (me == d->leader) {
		struct sync_snapshot_hdr h = {
			.view = c->view, .round = c->round, .epoch = d->epoch, .seq = d->seq,
		};
		void *snap = NULL;
		size_t len = 0;
		uint64_t seq = 0, epoch = 0;
		uint8_t *buf;
		int rc = c->base.cb.snapshot_get != NULL
				 ? c->base.cb.snapshot_get(&snap, &len, &seq, &epoch, c->base.ctx)
				 : -EOPNOTSUPP;

		if (rc == 0 && (seq != d->seq || epoch != d->epoch)) {
			rc = -ESTALE;
		}
		buf = rc == 0 ? malloc(SYNC_SNAPSHOT_HDR_LEN + len) : NULL;
		if (buf != NULL) {
			sync_snapshot_hdr_encode(buf, &h);
			memcpy(buf + SYNC_SNAPSHOT_HDR_LEN, snap, len);
			rc = corosync_send(c, CLUSTER_WIRE_KIND_SNAPSHOT, buf,
					   SYNC_SNAPSHOT_HDR_LEN + len);
			free(buf);
		} else if (rc == 0) {
			rc = -ENOMEM;
		}
		free(snap);
		if (rc < 0) {
			qb_log(LOG_ERR, "cluster: cannot send the snapshot: %s (the round is "
			       "retried)", strerror(-rc));
		} else {
			qb_log(LOG_NOTICE, "cluster: sending the state (epoch %" PRIu64 ", seq %"
			       PRIu64 ", %zu bytes) to the members behind", d->epoch, d->seq, len);
		}
	}
}

/* The index of (@nodeid, @pid) among the view's members, or -1. */
static ssize_t corosync_view_index(const struct corosync *c, uint32_t nodeid, uint32_t pid)
{
	for (size_t i = 0; i < c->view_count; i++) {
		if (c->view_members[i].node_id == nodeid && c->view_members[i].pid == pid) {
			return (ssize_t)i;
		}
	}
	return -1;
}

static bool corosync_in_view(const struct corosync *c, uint32_t nodeid, uint32_t pid)
{
	return corosync_view_index(c, nodeid, pid) >= 0;
}

static void on_summary(struct corosync *c, uint32_t nodeid, uint32_t pid, const uint8_t *data,
		       size_t len)
{
	struct sync_summary s = { .node_id = nodeid, .pid = pid };
	size_t i;

	if (sync_summary_decode(data, len, &s) < 0) {
		qb_log(LOG_ERR, "cluster: bad summary from node %" PRIu32, nodeid);
		return;
	}
	if (!c->round_open || c->await_snapshot || s.view != c->view || s.round != c->round ||
	    !corosync_in_view(c, nodeid, pid)) {
		return;		/* another round's */
	}
	for (i = 0; i < c->sum_count; i++) {
		if (c->sums[i].node_id == nodeid && c->sums[i].pid == pid) {
			return;
		}
	}
	c->sums[c->sum_count++] = s;
	if (c->sum_count == c->view_count) {
		corosync_round_decide(c);
	}
}

static void on_snapshot(struct corosync *c, const uint8_t *data, size_t len)
{
	struct sync_snapshot_hdr h;
	bool installed = false;

	if (sync_snapshot_hdr_decode(data, len, &h) < 0 || !c->round_open || !c->await_snapshot ||
	    h.view != c->view || h.round != c->round || h.epoch != c->decision.epoch ||
	    h.seq != c->decision.seq) {
		return;
	}
	if (c->behind) {
		int rc = c->base.cb.snapshot_put != NULL
				 ? c->base.cb.snapshot_put(data + SYNC_SNAPSHOT_HDR_LEN,
							   len - SYNC_SNAPSHOT_HDR_LEN, h.seq,
							   h.epoch, c->base.ctx)
				 : -EOPNOTSUPP;

		installed = rc == 0;
		if (rc < 0) {
			qb_log(LOG_ERR, "cluster: installing the cluster's state failed: %s; not "
			       "serving", strerror(-rc));
		}
	}
	corosync_round_complete(c, installed);
}

static void on_resync(struct corosync *c, const uint8_t *data, size_t len)
{
	if (len != SYNC_RESYNC_LEN || sync_get_u64(data) != c->view) {
		return;
	}
	corosync_round_start(c, c->round + 1);
}

/* ---- probes: every member's summary at one point of the agreed stream ---- */

static void corosync_probe_finish(struct corosync *c, bool complete)
{
	struct cluster_summary sums[CPG_MEMBERS_MAX];
	cluster_probe_done_fn done = c->probe_done;
	void *arg = c->probe_arg;
	size_t i, n = 0;

	if (c->probe_id == 0) {
		return;
	}
	if (c->probe_armed) {
		qb_loop_timer_del(c->base.loop, c->probe_timer);
		c->probe_armed = false;
	}
	/* This node first, then the others. */
	for (i = 0; i < c->probe_n; i++) {
		if (c->probe_sums[i].node_id == c->base.node_id) {
			sums[n++] = c->probe_sums[i];
		}
	}
	for (i = 0; i < c->probe_n; i++) {
		if (c->probe_sums[i].node_id != c->base.node_id) {
			sums[n++] = c->probe_sums[i];
		}
	}
	c->probe_id = 0;
	c->probe_done = NULL;
	done(sums, n, complete, arg);
}

static void corosync_probe_timeout(void *data)
{
	struct corosync *c = data;

	c->probe_armed = false;
	c->in_dispatch++;
	corosync_probe_finish(c, false);
	c->in_dispatch--;
	if (c->destroy_pending) {
		corosync_destroy_now(c);
	}
}

static int corosync_probe(struct cluster *cluster, cluster_probe_done_fn done, void *arg)
{
	struct corosync *c = (struct corosync *)cluster;
	uint8_t buf[SYNC_PROBE_LEN];
	uint64_t id;
	int rc;

	if (c->probe_id != 0) {
		return -EBUSY;
	}
	id = (uint64_t)c->base.node_id << 32 | ++c->probe_counter;
	sync_put_u64(buf, id);
	rc = corosync_send(c, CLUSTER_WIRE_KIND_PROBE, buf, sizeof(buf));
	if (rc < 0) {
		return rc;
	}
	c->probe_id = id;
	c->probe_done = done;
	c->probe_arg = arg;
	c->probe_delivered = false;
	c->probe_n = 0;
	if (qb_loop_timer_add(c->base.loop, QB_LOOP_HIGH, 1000 * QB_TIME_NS_IN_MSEC, c,
			      corosync_probe_timeout, &c->probe_timer) == 0) {
		c->probe_armed = true;
	}
	return 0;
}

/* Every member answers a probe with its state as of this point of the stream. */
static void on_probe(struct corosync *c, uint32_t nodeid, uint32_t pid, const uint8_t *data,
		     size_t len)
{
	uint64_t id;

	if (len != SYNC_PROBE_LEN || !corosync_in_view(c, nodeid, pid)) {
		return;
	}
	id = sync_get_u64(data);
	if (id == c->probe_id && nodeid == c->base.node_id && pid == c->local_pid) {
		c->probe_delivered = true;
		memcpy(c->probe_expect, c->view_members, c->view_count * sizeof(c->view_members[0]));
		c->probe_expect_n = c->view_count;
	}
	corosync_heartbeat_send(c, id);
}

static void corosync_probe_answer(struct corosync *c, uint32_t nodeid, uint32_t pid,
				  const struct sync_heartbeat *h)
{
	size_t i;
	bool expected = false;

	if (c->probe_id == 0 || h->answers != c->probe_id || !c->probe_delivered) {
		return;
	}
	for (i = 0; i < c->probe_expect_n; i++) {
		expected |= c->probe_expect[i].node_id == nodeid && c->probe_expect[i].pid == pid;
	}
	for (i = 0; i < c->probe_n; i++) {
		if (c->probe_from[i].node_id == nodeid && c->probe_from[i].pid == pid) {
			return;
		}
	}
	if (!expected) {
		return;
	}
	c->probe_from[c->probe_n] = (struct sync_member){ .node_id = nodeid, .pid = pid };
	c->probe_sums[c->probe_n] = (struct cluster_summary){
		.node_id = nodeid, .epoch = h->epoch, .applied_seq = h->seq,
	};
	memcpy(c->probe_sums[c->probe_n].digest, h->digest, CLUSTER_DIGEST_LEN);
	if (++c->probe_n == c->probe_expect_n) {
		corosync_probe_finish(c, true);
	}
}

static void on_heartbeat(struct corosync *c, uint32_t nodeid, uint32_t pid, const uint8_t *data,
			 size_t len)
{
	struct sync_heartbeat h;
	struct cluster_peer *p;
	bool own = nodeid == c->base.node_id && pid == c->local_pid;
	ssize_t i;

	if (sync_heartbeat_decode(data, len, &h) < 0) {
		qb_log(LOG_ERR, "cluster: bad heartbeat from node %" PRIu32, nodeid);
		return;
	}
	corosync_probe_answer(c, nodeid, pid, &h);
	if (own) {
		/*
		 * Renewed only by this node's own heartbeat, delivered in agreed
		 * order in a quorate membership, from the time it was sent.
		 */
		if (c->base.quorate && c->hb_id - h.id < 16) {
			corosync_lease_renew(c, c->hb_sent_ms[h.id % 16]);
			corosync_serving_eval(c);
		}
		return;
	}
	i = corosync_view_index(c, nodeid, pid);
	if (i < 0 || (p = cluster_peer_get(&c->base, nodeid)) == NULL) {
		return;
	}
	c->heard_ms[i] = now_ms();
	(void)corosync_member_silent(c, (size_t)i, c->heard_ms[i]);	/* logs its return */
	if (p->serving != h.serving || p->diverged != h.diverged || !p->member ||
	    p->portal_count != h.portal_count ||
	    memcmp(p->portals, h.portals, sizeof(p->portals)) != 0 || p->applied_seq != h.seq ||
	    p->epoch != h.epoch) {
		p->member = true;
		p->serving = h.serving;
		p->diverged = h.diverged;
		p->epoch = h.epoch;
		p->applied_seq = h.seq;
		memcpy(p->digest, h.digest, sizeof(p->digest));
		p->portal_count = h.portal_count;
		memcpy(p->portals, h.portals, sizeof(p->portals));
		corosync_peers_changed(c);
	}
}

static void on_proposal(struct corosync *c, uint32_t nodeid, uint32_t pid, const uint8_t *data,
			size_t len)
{
	bool own = nodeid == c->base.node_id && pid == c->local_pid;

	if (len <= SYNC_PROPOSAL_HDR_LEN) {
		qb_log(LOG_ERR, "cluster: empty proposal from node %" PRIu32, nodeid);
		return;
	}
	/*
	 * Applied only between rounds, by a synced quorate member, and only if
	 * sent in this generation: then every member applying it gives it the
	 * same number. Anything else is dropped by every member alike (a sender
	 * sends its own again after the next round).
	 */
	if (c->round_open || !c->synced || c->diverged || !c->base.quorate ||
	    sync_get_u64(data) != c->gen) {
		if (!c->base.quorate && c->dropped++ == 0) {
			qb_log(LOG_WARNING, "cluster: dropping deliveries while not quorate");
		}
		return;
	}
	c->seq++;
	c->base.cb.deliver(c->seq, nodeid, data + SYNC_PROPOSAL_HDR_LEN,
			   len - SYNC_PROPOSAL_HDR_LEN, c->base.ctx);
	if (c->destroy_pending) {
		return;
	}
	if (own) {
		corosync_outbox_delivered(c);
	}
	/*
	 * One acknowledgement for all deliveries of this dispatch, sent when
	 * it returns (corosync_ready): not from a loop job, which libqb may
	 * run only after its next poll timeout (tens of milliseconds on an
	 * idle node, on every PR OUT's path).
	 */
	c->ack_due = true;
	corosync_everywhere_update(c);
}

/* ---- callbacks from libcpg / libvotequorum / libcmap ---- */

static void corosync_deliver(cpg_handle_t handle, const struct cpg_name *group_name,
			     uint32_t nodeid, uint32_t pid, void *msg, size_t msg_len)
{
	struct corosync *c = NULL;
	struct cluster_rx_msg m;
	int rc;

	(void)group_name;
	if (cpg_context_get(handle, (void **)&c) != CS_OK || c == NULL || c->destroy_pending) {
		return;
	}
	rc = cluster_rx_feed(&c->rx, nodeid, pid, msg, msg_len, &m);
	if (rc == -ENOENT) {
		return;		/* the end of a message begun before we joined */
	}
	if (rc < 0) {
		qb_log(LOG_ERR, "cluster: bad CPG message from node %" PRIu32 " (%zu bytes): %s",
		       nodeid, msg_len, strerror(-rc));
		return;
	}
	if (rc == 0) {
		return;
	}
	switch (m.kind) {
	case CLUSTER_WIRE_KIND_PROPOSAL:
		on_proposal(c, nodeid, pid, m.data, m.len);
		break;
	case CLUSTER_WIRE_KIND_SUMMARY:
		on_summary(c, nodeid, pid, m.data, m.len);
		break;
	case CLUSTER_WIRE_KIND_SNAPSHOT:
		on_snapshot(c, m.data, m.len);
		break;
	case CLUSTER_WIRE_KIND_HEARTBEAT:
		on_heartbeat(c, nodeid, pid, m.data, m.len);
		break;
	case CLUSTER_WIRE_KIND_RESYNC:
		on_resync(c, m.data, m.len);
		break;
	case CLUSTER_WIRE_KIND_PROBE:
		on_probe(c, nodeid, pid, m.data, m.len);
		break;
	case CLUSTER_WIRE_KIND_APPLIED:
		on_applied(c, nodeid, pid, m.data, m.len);
		break;
	case CLUSTER_WIRE_KIND_NOTE:
		if (c->base.cb.note != NULL && m.len > 0) {
			c->base.cb.note(nodeid, m.data, m.len, c->base.ctx);
		}
		break;
	default:
		qb_log(LOG_ERR, "cluster: unknown message kind %u from node %" PRIu32, m.kind,
		       nodeid);
		break;
	}
	cluster_rx_msg_release(&m);
}

/* ---- heartbeats, grace ---- */

static void corosync_heartbeat_arm(struct corosync *c)
{
	if (qb_loop_timer_add(c->base.loop, QB_LOOP_HIGH,
			      (uint64_t)c->st.heartbeat_ms * QB_TIME_NS_IN_MSEC, c,
			      corosync_heartbeat, &c->hb_timer) == 0) {
		c->hb_armed = true;
	}
}

/* Multicast a heartbeat: this node's state now, answering probe @answers (0: none). */
static void corosync_heartbeat_send(struct corosync *c, uint64_t answers)
{
	struct sync_heartbeat h = { .answers = answers };
	struct sync_summary me = { 0 };
	const struct cluster_peer *self = cluster_peer_get(&c->base, c->base.node_id);
	uint8_t buf[SYNC_HEARTBEAT_MAX];

	if (corosync_own_summary(c, &me)) {
		h.epoch = me.epoch;
		h.seq = me.seq;
		memcpy(h.digest, me.digest, sizeof(h.digest));
	}
	h.id = ++c->hb_id;
	h.serving = c->base.serving;
	h.diverged = c->diverged;
	if (self != NULL) {
		h.portal_count = self->portal_count;
		memcpy(h.portals, self->portals, sizeof(h.portals));
	}
	c->hb_sent_ms[h.id % 16] = now_ms();
	(void)corosync_send(c, CLUSTER_WIRE_KIND_HEARTBEAT, buf, sync_heartbeat_encode(buf, &h));
}

static void corosync_heartbeat(void *data)
{
	struct corosync *c = data;

	c->hb_armed = false;
	corosync_heartbeat_arm(c);
	if (!c->connected || !c->joined) {
		return;
	}
	c->in_dispatch++;
	corosync_heartbeat_send(c, 0);
	corosync_everywhere_update(c);	/* a member may have fallen silent */
	/*
	 * A quorate node left unsynced (a round without quorum, a failed
	 * install) or a round that stalled (a member never answered) asks for
	 * a new round, paced by the heartbeat.
	 */
	if (c->base.quorate && !c->diverged &&
	    ((!c->synced && !c->round_open) ||
	     (c->round_open && now_ms() - c->round_started_ms > 4 * (uint64_t)c->st.lease_ms))) {
		corosync_send_resync(c);
	}
	c->in_dispatch--;
	if (c->destroy_pending) {
		corosync_destroy_now(c);
	}
}

static void corosync_grace_end(void *data)
{
	struct corosync *c = data;

	c->grace_armed = false;
	qb_log(LOG_INFO, "cluster: grace period over: proposals flow again");
	c->in_dispatch++;
	corosync_outbox_release(c);
	corosync_everywhere_update(c);
	c->in_dispatch--;
	if (c->destroy_pending) {
		corosync_destroy_now(c);
	}
}

/* A member left: hold every proposal back for the grace period (DESIGN §3). */
static void corosync_grace_start(struct corosync *c)
{
	c->grace_until_ms = now_ms() + c->st.grace_ms;
	if (c->grace_armed) {
		qb_loop_timer_del(c->base.loop, c->grace_timer);
		c->grace_armed = false;
	}
	if (qb_loop_timer_add(c->base.loop, QB_LOOP_HIGH,
			      (uint64_t)c->st.grace_ms * QB_TIME_NS_IN_MSEC, c, corosync_grace_end,
			      &c->grace_timer) == 0) {
		c->grace_armed = true;
	}
	qb_log(LOG_NOTICE, "cluster: a member left: no reservation or configuration change "
	       "completes for %" PRIu32 " ms (grace, so a node cut off has stopped serving)",
	       c->st.grace_ms);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Node ids of @list, sorted, without duplicates (a node may run several members). */
static size_t ids_from_addrs(uint32_t *out, const struct cpg_address *list, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		out[i] = list[i].nodeid;
	}
	qsort(out, n, sizeof(*out), cmp_u32);
	for (i = 0; i < n; i++) {
		if (k == 0 || out[k - 1] != out[i]) {
			out[k++] = out[i];
		}
	}
	return k;
}

static bool addrs_have(const struct cpg_address *list, size_t n, uint32_t nodeid, uint32_t pid)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (list[i].nodeid == nodeid && list[i].pid == pid) {
			return true;
		}
	}
	return false;
}

static void corosync_vq_refresh(struct corosync *c)
{
	struct votequorum_info info;

	if (votequorum_getinfo(c->vq, c->base.node_id, &info) == CS_OK) {
		c->vq_quorate = (info.flags & VOTEQUORUM_INFO_QUORATE) != 0;
	}
}

/*
 * A configuration change: the peer table follows the membership, a
 * departure starts the grace period, and a new sync round begins.
 */
static void corosync_view_set(struct corosync *c, const struct cpg_address *list, size_t n,
			      const struct cluster_confchg *chg)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		c->view_members[i].node_id = list[i].nodeid;
		c->view_members[i].pid = list[i].pid;
	}
	c->view_count = n;
	c->view = sync_view_id(c->view_members, n);
	memset(c->acked, 0, sizeof(c->acked));
	corosync_probe_finish(c, false);
	for (k = 0; k < c->base.peer_count; k++) {
		struct cluster_peer *p = &c->base.peers[k];
		bool member = false;

		for (i = 0; i < chg->member_count; i++) {
			member = member || chg->members[i] == p->node_id;
		}
		p->member = p->self ? c->joined : member;
		if (!p->member && !p->self) {
			p->serving = false;
		}
	}
	for (i = 0; i < chg->member_count; i++) {
		struct cluster_peer *p = cluster_peer_get(&c->base, chg->members[i]);

		if (p != NULL) {
			p->member = p->self ? c->joined : true;
		}
	}
	for (i = 0; i < chg->left_count; i++) {
		if (c->joined && chg->left[i] != c->base.node_id) {
			corosync_grace_start(c);
			break;
		}
	}
	corosync_round_start(c, 0);
	corosync_peers_changed(c);
}

static void corosync_confchg(cpg_handle_t handle, const struct cpg_name *group_name,
			     const struct cpg_address *member_list, size_t member_list_entries,
			     const struct cpg_address *left_list, size_t left_list_entries,
			     const struct cpg_address *joined_list, size_t joined_list_entries)
{
	struct corosync *c = NULL;
	uint32_t ids[3][CPG_MEMBERS_MAX];
	struct cluster_confchg chg;
	uint32_t *members;
	size_t i;

	(void)group_name;
	if (cpg_context_get(handle, (void **)&c) != CS_OK || c == NULL || c->destroy_pending) {
		return;
	}
	if (member_list_entries > CPG_MEMBERS_MAX || left_list_entries > CPG_MEMBERS_MAX ||
	    joined_list_entries > CPG_MEMBERS_MAX) {
		return;		/* libcpg never sends more than CPG_MEMBERS_MAX */
	}
	for (i = 0; i < left_list_entries; i++) {
		cluster_rx_drop(&c->rx, left_list[i].nodeid, left_list[i].pid);
	}
	chg.members = ids[0];
	chg.member_count = ids_from_addrs(ids[0], member_list, member_list_entries);
	chg.left = ids[1];
	chg.left_count = ids_from_addrs(ids[1], left_list, left_list_entries);
	chg.joined = ids[2];
	chg.joined_count = ids_from_addrs(ids[2], joined_list, joined_list_entries);
	chg.ring_id_seq = c->ring_id_seq;
	if (c->dropped > 0) {
		qb_log(LOG_WARNING, "cluster: dropped %" PRIu64 " deliveries while not quorate",
		       c->dropped);
		c->dropped = 0;
	}
	/*
	 * votequorum's notification comes on its own fd, maybe after this
	 * group's deliveries in the new configuration: ask now, so that none
	 * of them is taken as agreed by a quorate membership when it is not.
	 */
	corosync_vq_refresh(c);
	chg.self_joined = addrs_have(joined_list, joined_list_entries, c->base.node_id,
				     c->local_pid);
	c->joined = addrs_have(member_list, member_list_entries, c->base.node_id, c->local_pid);
	qb_log(LOG_NOTICE, "cluster: group %.*s has %zu members (%zu joined, %zu left)",
	       (int)c->group.length, c->group.value, chg.member_count, chg.joined_count,
	       chg.left_count);
	members = malloc((chg.member_count ? chg.member_count : 1) * sizeof(*members));
	if (members != NULL) {
		memcpy(members, ids[0], chg.member_count * sizeof(*members));
		free(c->members);
		c->members = members;
		c->member_count = chg.member_count;
	}
	corosync_quorate_update(c);
	corosync_view_set(c, member_list, member_list_entries, &chg);
	if (c->confchg != NULL && !c->destroy_pending) {
		c->confchg(&chg, c->base.ctx);
	}
	if (c->destroy_pending) {
		return;
	}
	if (c->base.cb.membership != NULL) {
		c->base.cb.membership(ids[0], chg.member_count, c->base.ctx);
	}
}

static void corosync_totem_confchg(cpg_handle_t handle, struct cpg_ring_id ring_id,
				   uint32_t member_list_entries, const uint32_t *member_list)
{
	struct corosync *c = NULL;

	(void)member_list;
	if (cpg_context_get(handle, (void **)&c) != CS_OK || c == NULL || c->destroy_pending) {
		return;
	}
	c->ring_id_seq = ring_id.seq;
	qb_log(LOG_INFO, "cluster: totem ring %" PRIu32 ".%" PRIu64 " with %" PRIu32 " nodes",
	       ring_id.nodeid, ring_id.seq, member_list_entries);
}

static void corosync_vq_notify(votequorum_handle_t handle, uint64_t context, uint32_t quorate,
			       uint32_t node_list_entries, votequorum_node_t node_list[])
{
	struct corosync *c = NULL;

	(void)context;
	(void)node_list_entries;
	(void)node_list;
	if (votequorum_context_get(handle, (void **)&c) != CS_OK || c == NULL ||
	    c->destroy_pending) {
		return;
	}
	c->vq_quorate = quorate != 0;
	corosync_quorate_update(c);
}

static uint32_t cmap_u32(cmap_handle_t h, const char *key, uint32_t dflt)
{
	uint32_t v;

	return cmap_get_uint32(h, key, &v) == CS_OK ? v : dflt;
}

static void cmap_str(cmap_handle_t h, const char *key, char *out, size_t size)
{
	char *s = NULL;

	out[0] = '\0';
	if (cmap_get_string(h, key, &s) == CS_OK && s != NULL) {
		snprintf(out, size, "%s", s);
	}
	free(s);
}

/* A number that corosync.conf may leave as a string in cmap (keys corosync does not type). */
static uint32_t cmap_num(cmap_handle_t h, const char *key, uint32_t dflt)
{
	char buf[32], *end;
	unsigned long v;
	uint32_t u;

	if (cmap_get_uint32(h, key, &u) == CS_OK) {
		return u;
	}
	cmap_str(h, key, buf, sizeof(buf));
	v = strtoul(buf, &end, 10);
	return buf[0] != '\0' && *end == '\0' && v <= UINT32_MAX ? (uint32_t)v : dflt;
}

/*
 * The numeric address of @host (a name in corosync.conf: what `pcs cluster
 * setup` writes) into @out. For node @id (0: qnetd) corosync's own
 * resolution comes first (runtime.members.ID.ip, "r(0) ip(ADDR) "); else the
 * resolver, but only at start-up, before the loop runs (it may block), and
 * its answer is kept for the same name later. @return 0 or -1.
 */
static int corosync_resolve(struct corosync *c, uint32_t id, const char *host, char *out,
			    size_t size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *ai = NULL;
	char key[CMAP_KEYNAME_MAXLEN + 1], ip[128];
	const char *p, *e;
	int rc = -1;

	if (id != 0) {
		snprintf(key, sizeof(key), "runtime.members.%" PRIu32 ".ip", id);
		cmap_str(c->cmap, key, ip, sizeof(ip));
		p = strstr(ip, "ip(");
		e = p != NULL ? strchr(p + 3, ')') : NULL;
		if (e != NULL && (size_t)(e - p - 3) < size) {
			snprintf(out, size, "%.*s", (int)(e - p - 3), p + 3);
			return 0;
		}
	}
	if (strcmp(host, c->resolved_name) == 0) {
		snprintf(out, size, "%s", c->resolved_addr);
		return 0;
	}
	if (!c->may_resolve || getaddrinfo(host, NULL, &hints, &ai) != 0 || ai == NULL) {
		return -1;
	}
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, out, (socklen_t)size, NULL, 0,
			NI_NUMERICHOST) == 0) {
		snprintf(c->resolved_name, sizeof(c->resolved_name), "%s", host);
		snprintf(c->resolved_addr, sizeof(c->resolved_addr), "%s", out);
		rc = 0;
	}
	freeaddrinfo(ai);
	return rc;
}

/* Add "@what at @host:@port" (node @id; 0: qnetd) to the reach targets. */
static void corosync_reach_add(struct corosync *c, const char *what, uint32_t id,
			       const char *host, uint16_t port, uint32_t votes)
{
	size_t k = c->reach_count;
	char addr[INET6_ADDRSTRLEN];
	bool v6;

	if (k == REACH_TARGETS_MAX) {
		return;
	}
	if (reach_target_set(&c->reach_targets[k], host, port) < 0) {
		if (corosync_resolve(c, id, host, addr, sizeof(addr)) < 0 ||
		    reach_target_set(&c->reach_targets[k], addr, port) < 0) {
			/* Without probes to it, a survivor may pause at a departure. */
			qb_log(LOG_WARNING, "cluster: %s: cannot resolve '%s' to an address: reach "
			       "probes leave it out", what, host);
			return;
		}
		host = addr;
	}
	v6 = strchr(host, ':') != NULL;
	snprintf(c->reach_names[k], sizeof(c->reach_names[k]), "%s at %s%s%s:%u", what,
		 v6 ? "[" : "", host, v6 ? "]" : "", port);
	c->reach_votes[k] = votes;
	c->reach_outcomes[k] = REACH_PENDING;
	c->reach_count++;
}

/*
 * The hosts a reach round knocks on: every other node's ring0 address at
 * this node's iSCSI port (a RST from a host where nothing listens on it
 * answers as well as an accept), and corosync-qnetd's host and port.
 */
static void corosync_reach_targets(struct corosync *c)
{
	char what[32], host[256];

	if (c->reach != NULL) {
		reach_cancel(c->reach);
	}
	c->reach_count = 0;
	c->reach_node_votes = 0;
	for (size_t i = 0; i < c->node_count; i++) {
		c->reach_node_votes += c->node_votes[i];
		if (c->nodes[i].id == c->base.node_id) {
			continue;
		}
		snprintf(what, sizeof(what), "node %" PRIu32, c->nodes[i].id);
		corosync_reach_add(c, what, c->nodes[i].id, c->nodes[i].addr, c->reach_port,
				   c->node_votes[i]);
	}
	c->reach_qdevice_at = SIZE_MAX;
	cmap_str(c->cmap, "quorum.device.model", host, sizeof(host));
	c->reach_qdevice = host[0] != '\0';
	c->reach_qdevice_votes = c->reach_qdevice ? cmap_num(c->cmap, "quorum.device.votes", 0) : 0;
	if (c->reach_qdevice) {
		cmap_str(c->cmap, "quorum.device.net.host", host, sizeof(host));
		if (host[0] != '\0') {
			size_t k = c->reach_count;

			corosync_reach_add(c, "qnetd", 0, host,
					   (uint16_t)cmap_num(c->cmap, "quorum.device.net.port",
							      COROSYNC_QNETD_PORT),
					   1);
			if (c->reach_count > k) {
				c->reach_qdevice_at = k;
			}
		}
	}
}

/* Nodelist and timeouts from cmap (start-up and every nodelist change). */
static void corosync_cmap_read(struct corosync *c)
{
	char key[CMAP_KEYNAME_MAXLEN + 1];
	size_t i, n = 0;

	for (i = 0; n < COROSYNC_NODES_MAX; i++) {
		struct cluster_node *node = &c->nodes[n];
		uint32_t id;

		snprintf(key, sizeof(key), "nodelist.node.%zu.nodeid", i);
		if (cmap_get_uint32(c->cmap, key, &id) != CS_OK) {
			break;
		}
		node->id = id;
		snprintf(key, sizeof(key), "nodelist.node.%zu.name", i);
		cmap_str(c->cmap, key, node->name, sizeof(node->name));
		snprintf(key, sizeof(key), "nodelist.node.%zu.ring0_addr", i);
		cmap_str(c->cmap, key, node->addr, sizeof(node->addr));
		snprintf(key, sizeof(key), "nodelist.node.%zu.quorum_votes", i);
		c->node_votes[n] = cmap_num(c->cmap, key, 1);
		n++;
	}
	c->node_count = n;
	for (i = 0; i < n; i++) {
		struct cluster_peer *p = cluster_peer_get(&c->base, c->nodes[i].id);

		if (p != NULL) {
			snprintf(p->name, sizeof(p->name), "%s", c->nodes[i].name);
		}
	}
	c->timing.token_ms = cmap_u32(c->cmap, "runtime.config.totem.token", 0);
	c->timing.consensus_ms = cmap_u32(c->cmap, "runtime.config.totem.consensus", 0);
	/* Only with a quorum device: its defaults apply when the section exists. */
	cmap_str(c->cmap, "quorum.device.model", key, sizeof(key));
	if (key[0] != '\0') {
		c->timing.qdevice_timeout_ms = cmap_u32(c->cmap, "quorum.device.timeout", 10000);
		c->timing.qdevice_sync_timeout_ms =
			cmap_u32(c->cmap, "quorum.device.sync_timeout", 30000);
	} else {
		c->timing.qdevice_timeout_ms = 0;
		c->timing.qdevice_sync_timeout_ms = 0;
	}
	sync_timing_derive(&c->timing, &c->st);
	c->timing.heartbeat_ms = c->st.heartbeat_ms;
	c->timing.lease_base_ms = c->st.lease_base_ms;
	c->timing.lease_ms = c->st.lease_ms;
	c->timing.grace_ms = c->st.grace_ms;
	corosync_reach_targets(c);
}

static void corosync_cmap_notify(cmap_handle_t handle, cmap_track_handle_t track, int32_t event,
				 const char *key_name, struct cmap_notify_value new_value,
				 struct cmap_notify_value old_value, void *user_data)
{
	struct corosync *c = user_data;

	(void)handle;
	(void)track;
	(void)event;
	(void)key_name;
	(void)new_value;
	(void)old_value;
	if (!c->destroy_pending) {
		corosync_cmap_read(c);
	}
}

/* ---- connection ---- */

/* After a *_dispatch(): a failure other than TRY_AGAIN means corosync is gone. */
static int32_t corosync_dispatched(struct corosync *c, cs_error_t err, int32_t revents,
				   const char *what)
{
	if (c->destroy_pending) {
		if (c->in_dispatch == 0) {
			corosync_destroy_now(c);
		}
		return 0;
	}
	if ((err != CS_OK && err != CS_ERR_TRY_AGAIN) ||
	    (err != CS_OK && (revents & (POLLHUP | POLLERR | POLLNVAL)))) {
		qb_log(LOG_WARNING, "cluster: %s dispatch failed (error %d): corosync lost", what,
		       err);
		corosync_lost_schedule(c);
	}
	return 0;
}

/* cpg_dispatch, votequorum_dispatch and cmap_dispatch: every handle is a uint64_t. */
typedef cs_error_t (*corosync_dispatch_fn)(uint64_t handle, cs_dispatch_flags_t flags);

static int32_t corosync_ready(struct corosync *c, int32_t revents, corosync_dispatch_fn fn,
			      uint64_t handle, const char *what)
{
	cs_error_t err;

	if (!c->connected) {
		return 0;
	}
	c->in_dispatch++;
	err = fn(handle, CS_DISPATCH_ALL);
	if (c->ack_due && c->connected && !c->destroy_pending) {
		corosync_ack_send(c);
	}
	c->in_dispatch--;
	return corosync_dispatched(c, err, revents, what);
}

static int32_t corosync_cpg_ready(int32_t fd, int32_t revents, void *data)
{
	struct corosync *c = data;

	(void)fd;
	return corosync_ready(c, revents, cpg_dispatch, c->cpg, "cpg");
}

static int32_t corosync_vq_ready(int32_t fd, int32_t revents, void *data)
{
	struct corosync *c = data;

	(void)fd;
	return corosync_ready(c, revents, votequorum_dispatch, c->vq, "votequorum");
}

static int32_t corosync_cmap_ready(int32_t fd, int32_t revents, void *data)
{
	struct corosync *c = data;

	(void)fd;
	return corosync_ready(c, revents, cmap_dispatch, c->cmap, "cmap");
}

/* Close whatever is open; no callbacks. */
static void corosync_close(struct corosync *c)
{
	if (c->fd_cpg >= 0) {
		qb_loop_poll_del(c->base.loop, c->fd_cpg);
	}
	if (c->fd_vq >= 0) {
		qb_loop_poll_del(c->base.loop, c->fd_vq);
	}
	if (c->fd_cmap >= 0) {
		qb_loop_poll_del(c->base.loop, c->fd_cmap);
	}
	c->fd_cpg = c->fd_vq = c->fd_cmap = -1;
	if (c->cpg != 0) {
		cpg_finalize(c->cpg);
	}
	if (c->vq != 0) {
		votequorum_finalize(c->vq);
	}
	if (c->cmap != 0) {
		if (c->track != 0) {
			cmap_track_delete(c->cmap, c->track);
		}
		cmap_finalize(c->cmap);
	}
	c->cpg = 0;
	c->vq = 0;
	c->cmap = 0;
	c->track = 0;
	c->connected = false;
	c->joined = false;
	c->vq_quorate = false;
	if (c->retry_armed) {
		qb_loop_timer_del(c->base.loop, c->retry_timer);
		c->retry_armed = false;
	}
	corosync_queue_drop(c);
	cluster_rx_drop_all(&c->rx);
}

static int corosync_poll_add(struct corosync *c, int fd, qb_loop_poll_dispatch_fn fn, int *slot)
{
	int rc = qb_loop_poll_add(c->base.loop, QB_LOOP_HIGH, fd, POLLIN | POLLPRI, c, fn);

	if (rc == 0) {
		*slot = fd;
	}
	return rc;
}

static int corosync_connect(struct corosync *c)
{
	cpg_model_v1_data_t model = {
		.model = CPG_MODEL_V1,
		.cpg_deliver_fn = corosync_deliver,
		.cpg_confchg_fn = corosync_confchg,
		.cpg_totem_confchg_fn = corosync_totem_confchg,
		.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
	};
	votequorum_callbacks_t vq_cb = { .votequorum_quorum_notify_fn = corosync_vq_notify };
	unsigned int local = 0;
	uint32_t atomic = 0;
	int fd, rc;
	cs_error_t err;

	err = cpg_model_initialize(&c->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&model, c);
	if (err != CS_OK) {
		c->cpg = 0;
		rc = cs_to_errno(err);
		goto fail;
	}
	err = cpg_local_get(c->cpg, &local);
	if (err != CS_OK) {
		rc = cs_to_errno(err);
		goto fail;
	}
	if (c->want_node_id != 0 && local != c->want_node_id) {
		qb_log(LOG_ERR, "cluster: configured node id %" PRIu32
		       " differs from corosync's node id %u", c->want_node_id, local);
		rc = -EINVAL;
		goto fail;
	}
	if (c->base.node_id != 0 && local != c->base.node_id) {
		qb_log(LOG_ERR, "cluster: corosync's node id changed from %" PRIu32 " to %u",
		       c->base.node_id, local);
		rc = -EINVAL;
		goto fail;
	}
	c->base.node_id = local;
	c->local_pid = (uint32_t)getpid();
	c->chunk_max = CLUSTER_WIRE_CHUNK_MAX;
	if (cpg_max_atomic_msgsize_get(c->cpg, &atomic) == CS_OK &&
	    atomic > CLUSTER_WIRE_HDR_LEN * 2 && atomic < c->chunk_max) {
		c->chunk_max = atomic;
	}

	err = votequorum_initialize(&c->vq, &vq_cb);
	if (err != CS_OK) {
		c->vq = 0;
		rc = cs_to_errno(err);
		goto fail;
	}
	votequorum_context_set(c->vq, c);
	corosync_vq_refresh(c);

	err = cmap_initialize(&c->cmap);
	if (err != CS_OK) {
		c->cmap = 0;
		rc = cs_to_errno(err);
		goto fail;
	}
	c->may_resolve = true;	/* not yet on the loop: the resolver may take its time */
	corosync_cmap_read(c);
	c->may_resolve = false;
	err = cmap_track_add(c->cmap, "nodelist.",
			     CMAP_TRACK_ADD | CMAP_TRACK_DELETE | CMAP_TRACK_MODIFY | CMAP_TRACK_PREFIX,
			     corosync_cmap_notify, c, &c->track);
	if (err != CS_OK) {
		c->track = 0;
		rc = cs_to_errno(err);
		goto fail;
	}

	if (cpg_fd_get(c->cpg, &fd) != CS_OK ||
	    (rc = corosync_poll_add(c, fd, corosync_cpg_ready, &c->fd_cpg)) < 0 ||
	    votequorum_fd_get(c->vq, &fd) != CS_OK ||
	    (rc = corosync_poll_add(c, fd, corosync_vq_ready, &c->fd_vq)) < 0 ||
	    cmap_fd_get(c->cmap, &fd) != CS_OK ||
	    (rc = corosync_poll_add(c, fd, corosync_cmap_ready, &c->fd_cmap)) < 0) {
		rc = -ENOTCONN;
		goto fail;
	}
	err = votequorum_trackstart(c->vq, 0, CS_TRACK_CURRENT | CS_TRACK_CHANGES);
	if (err != CS_OK) {
		rc = cs_to_errno(err);
		goto fail;
	}
	err = cpg_join(c->cpg, &c->group);
	if (err != CS_OK) {
		rc = cs_to_errno(err);
		goto fail;
	}
	c->connected = true;
	qb_log(LOG_NOTICE, "cluster: connected to corosync as node %" PRIu32
	       ", group %.*s, %" PRIu32 "-byte CPG messages", c->base.node_id,
	       (int)c->group.length, c->group.value, c->chunk_max);
	return 0;
fail:
	corosync_close(c);
	return rc;
}

static void corosync_reconnect(void *data);

static void corosync_reconnect_arm(struct corosync *c)
{
	c->backoff_ms = cluster_backoff_next(c->backoff_ms);
	if (qb_loop_timer_add(c->base.loop, QB_LOOP_LOW, c->backoff_ms * QB_TIME_NS_IN_MSEC, c,
			      corosync_reconnect, &c->reconnect_timer) == 0) {
		c->reconnect_armed = true;
	} else {
		qb_log(LOG_ERR, "cluster: cannot arm the reconnect timer");
	}
}

static void corosync_reconnect(void *data)
{
	struct corosync *c = data;
	int rc;

	c->reconnect_armed = false;
	rc = corosync_connect(c);
	if (rc < 0) {
		qb_log(LOG_DEBUG, "cluster: reconnect failed: %s; next try in %" PRIu32 " ms",
		       strerror(-rc), cluster_backoff_next(c->backoff_ms));
		corosync_reconnect_arm(c);
		return;
	}
	c->backoff_ms = 0;
}

static void corosync_lost(void *data)
{
	struct corosync *c = data;

	c->lost_queued = false;
	if (!c->connected) {
		return;
	}
	corosync_close(c);
	/* A node that lost corosync must go through a sync round again. */
	c->synced = false;
	c->round_open = false;
	c->view_count = 0;
	free(c->members);
	c->members = NULL;
	c->member_count = 0;
	for (size_t i = 0; i < c->base.peer_count; i++) {
		c->base.peers[i].member = false;
		if (!c->base.peers[i].self) {
			c->base.peers[i].serving = false;
		}
	}
	c->in_dispatch++;
	corosync_probe_finish(c, false);
	corosync_outbox_lost(c, "the cluster connection was lost");
	corosync_quorate_update(c);
	corosync_peers_changed(c);
	if (c->base.cb.membership != NULL && !c->destroy_pending) {
		c->base.cb.membership(NULL, 0, c->base.ctx);
	}
	c->in_dispatch--;
	if (c->destroy_pending) {
		corosync_destroy_now(c);
		return;
	}
	corosync_reconnect_arm(c);
}

static void corosync_lost_schedule(struct corosync *c)
{
	if (c->lost_queued) {
		return;
	}
	if (qb_loop_job_add(c->base.loop, QB_LOOP_HIGH, c, corosync_lost) == 0) {
		c->lost_queued = true;
	}
}

/* ---- life cycle ---- */

static void corosync_destroy_now(struct corosync *c)
{
	if (c->lost_queued) {
		qb_loop_job_del(c->base.loop, QB_LOOP_HIGH, c, corosync_lost);
	}
	if (c->reconnect_armed) {
		qb_loop_timer_del(c->base.loop, c->reconnect_timer);
	}
	if (c->hb_armed) {
		qb_loop_timer_del(c->base.loop, c->hb_timer);
	}
	if (c->lease_armed) {
		qb_loop_timer_del(c->base.loop, c->lease_timer);
	}
	if (c->grace_armed) {
		qb_loop_timer_del(c->base.loop, c->grace_timer);
	}
	if (c->probe_armed) {
		qb_loop_timer_del(c->base.loop, c->probe_timer);
	}
	if (c->reach_armed) {
		qb_loop_timer_del(c->base.loop, c->reach_timer);
	}
	reach_destroy(c->reach);
	(void)corosync_outbox_free(c);
	if (c->cpg != 0 && c->joined) {
		cpg_leave(c->cpg, &c->group);
	}
	corosync_close(c);
	cluster_rx_fini(&c->rx);
	free(c->members);
	free(c);
}

static void corosync_destroy(struct cluster *cluster)
{
	struct corosync *c = (struct corosync *)cluster;

	/* From inside a dispatch: libcpg still holds its handle; finish afterwards. */
	if (c->in_dispatch > 0) {
		c->destroy_pending = true;
		return;
	}
	corosync_destroy_now(c);
}

/*
 * An administrator installed a state by hand (the way out of a divergence):
 * this node rejoins like a restarted one, behind anyone at its (epoch, seq).
 */
static void corosync_state_replaced(struct cluster *cluster)
{
	struct corosync *c = (struct corosync *)cluster;
	struct cluster_peer *me = cluster_peer_get(cluster, cluster->node_id);

	if (c->diverged) {
		qb_log(LOG_NOTICE, "cluster: state replaced: no longer diverged, resyncing");
	}
	c->diverged = false;
	c->fresh = true;
	c->synced = false;
	if (me != NULL) {
		me->diverged = false;
	}
	corosync_serving_eval(c);
	corosync_send_resync(c);
}

static int corosync_send_note(struct cluster *cluster, const void *msg, size_t len)
{
	return corosync_send((struct corosync *)cluster, CLUSTER_WIRE_KIND_NOTE, msg, len);
}

static const struct cluster_ops corosync_ops = {
	.name = "corosync",
	.propose = corosync_propose,
	.destroy = corosync_destroy,
	.set_sequence = corosync_set_sequence,
	.sequence = corosync_sequence,
	.nodes = corosync_nodes,
	.timing_get = corosync_timing_get,
	.probe = corosync_probe,
	.state_replaced = corosync_state_replaced,
	.portals_changed = NULL,	/* the next heartbeat carries them */
	.send_note = corosync_send_note,
};

int cluster_corosync_create(qb_loop_t *loop, const struct cluster_corosync_config *cfg,
			    const struct cluster_callbacks *cb, void *ctx, struct cluster **out)
{
	struct corosync *c;
	size_t glen;
	int rc;

	if (cfg == NULL || cfg->group == NULL || cb == NULL || cb->deliver == NULL) {
		return -EINVAL;
	}
	glen = strlen(cfg->group);
	if (glen == 0 || glen >= CPG_MAX_NAME_LENGTH) {
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return -ENOMEM;
	}
	c->base.ops = &corosync_ops;
	c->base.loop = loop;
	c->base.cb = *cb;
	c->base.ctx = ctx;
	c->want_node_id = cfg->node_id;
	c->confchg = cfg->confchg;
	memcpy(c->group.value, cfg->group, glen);
	c->group.length = (uint32_t)glen;
	c->fd_cpg = c->fd_vq = c->fd_cmap = -1;
	c->tail = &c->head;
	c->out_tail = &c->out_head;
	c->seq = cfg->applied_seq;
	c->base.everywhere = cfg->applied_seq;
	c->fresh = true;
	c->reach_port = cfg->reach_port != 0 ? cfg->reach_port : COROSYNC_REACH_PORT;
	if (reach_create(loop, corosync_reach_result, c, &c->reach) < 0) {
		free(c);
		return -ENOMEM;
	}
	cluster_rx_init(&c->rx);
	rc = corosync_connect(c);
	if (rc < 0) {
		if (rc != -EINVAL) {
			qb_log(LOG_ERR, "cluster: cannot connect to corosync: %s", strerror(-rc));
			rc = -ENOTCONN;
		}
		cluster_rx_fini(&c->rx);
		reach_destroy(c->reach);
		free(c);
		return rc;
	}
	cluster_peer_get(&c->base, c->base.node_id);
	corosync_heartbeat_arm(c);
	qb_log(LOG_INFO, "cluster: token %" PRIu32 " ms, consensus %" PRIu32 " ms, qdevice "
	       "timeout %" PRIu32 " ms: heartbeat %" PRIu32 " ms, lease %" PRIu32 " ms (%" PRIu32
	       " ms with a majority reached), grace %" PRIu32 " ms; %zu host(s) to probe",
	       c->timing.token_ms, c->timing.consensus_ms, c->timing.qdevice_timeout_ms,
	       c->st.heartbeat_ms, c->st.lease_base_ms, c->st.lease_ms, c->st.grace_ms,
	       c->reach_count);
	*out = &c->base;
	return 0;
}
