/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Corosync transport behind quorum/cluster.h (DESIGN §2, §3): one CPG
 * group per cluster with CPG_TYPE_AGREED multicast, votequorum's quorate
 * flag, cmap for this node's id, the nodelist and the configured timeouts.
 * Everything runs on the daemon's qb_loop: the dispatch fds of cpg,
 * votequorum and cmap are polled there, and every callback comes from a
 * dispatch, a timer or a job, never from inside a call into this module.
 *
 * Sending: a proposal is cut into chunks (wire.h) on a bounded FIFO;
 * CS_ERR_TRY_AGAIN (CPG flow control) leaves the rest queued and a timer
 * retries. Receiving: chunks are reassembled per sender and complete
 * proposals numbered in agreed order (cluster_rx).
 *
 * Losing corosync (a dispatch or send failing with anything but TRY_AGAIN):
 * report not quorate and not serving, drop what was queued and half
 * reassembled, finalize the handles, and reconnect from a timer with
 * back-off. Reconnecting does not make the node synced: the daemon's sync
 * protocol does (cluster_set_synced()).
 *
 * Invariants: base.quorate == connected && joined && vq_quorate; serving only
 * while quorate && synced (cluster_serving_set enforces the first part);
 * every handle is valid exactly while connected; at most one retry timer,
 * one reconnect timer and one of each job pending.
 */
#include <errno.h>
#include <inttypes.h>
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

#include "quorum/cluster_int.h"
#include "quorum/wire.h"

/* CPG flow control: how soon a send refused with TRY_AGAIN is retried. */
#define COROSYNC_RETRY_MS 10
/* Bound of the send FIFO: proposals beyond it fail with -EAGAIN. */
#define COROSYNC_QUEUE_MAX_BYTES (16u * 1024 * 1024)
/* Nodes read from cmap's nodelist. */
#define COROSYNC_NODES_MAX 64

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
	bool synced;				/* cluster_set_synced() */
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
	bool serving_queued;			/* job: corosync_serving_job */

	int in_dispatch;			/* >0 inside a *_dispatch() */
	bool destroy_pending;			/* destroyed from a callback */
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

static void corosync_quorate_update(struct corosync *c)
{
	bool q = c->connected && c->joined && c->vq_quorate;

	if (q != c->base.quorate) {
		c->base.quorate = q;
		/* Whatever the node missed meanwhile, the daemon's sync must tell. */
		if (!q) {
			c->synced = false;
		}
		qb_log(LOG_NOTICE, "cluster: %s", q ? "quorate" : "not quorate");
		if (c->base.cb.quorum != NULL) {
			c->base.cb.quorum(q, c->base.ctx);
		}
	}
	cluster_serving_set(&c->base, q && c->synced);
}

static void corosync_destroy_now(struct corosync *c);

static void corosync_serving_job(void *data)
{
	struct corosync *c = data;

	c->serving_queued = false;
	c->in_dispatch++;
	cluster_serving_set(&c->base, c->base.quorate && c->synced);
	c->in_dispatch--;
	if (c->destroy_pending) {
		corosync_destroy_now(c);
	}
}

static int corosync_set_synced(struct cluster *cluster, bool synced)
{
	struct corosync *c = (struct corosync *)cluster;
	int rc;

	c->synced = synced;
	if (c->serving_queued) {
		return 0;
	}
	rc = qb_loop_job_add(cluster->loop, QB_LOOP_HIGH, c, corosync_serving_job);
	if (rc < 0) {
		return rc;
	}
	c->serving_queued = true;
	return 0;
}

static int corosync_set_sequence(struct cluster *cluster, uint64_t seq)
{
	struct corosync *c = (struct corosync *)cluster;

	c->rx.seq = seq;
	return 0;
}

static uint64_t corosync_sequence(const struct cluster *cluster)
{
	return ((const struct corosync *)cluster)->rx.seq;
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

static int corosync_propose(struct cluster *cluster, const void *msg, size_t len)
{
	struct corosync *c = (struct corosync *)cluster;
	size_t n = cluster_wire_chunks(len, c->chunk_max), i;
	struct corosync_chunk *first = NULL, **last = &first;
	uint32_t msg_id;
	size_t bytes = 0;

	if (!c->connected || !c->joined) {
		return -EAGAIN;
	}
	if (c->queued_bytes + len + n * CLUSTER_WIRE_HDR_LEN > COROSYNC_QUEUE_MAX_BYTES) {
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
		k->len = cluster_wire_chunk_build(k->data, CLUSTER_WIRE_KIND_PROPOSAL, msg_id, msg,
						  len, c->chunk_max, i);
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
		return;		/* the end of a proposal begun before we joined */
	}
	if (rc < 0) {
		qb_log(LOG_ERR, "cluster: bad CPG message from node %" PRIu32 " (%zu bytes): %s",
		       nodeid, msg_len, strerror(-rc));
		return;
	}
	if (rc == 0) {
		return;
	}
	if (!c->base.quorate) {
		/*
		 * CPG delivers what this node multicast before it noticed a
		 * partition in its own minority configuration; the majority
		 * never sees it, so it must not be applied (DESIGN §3: only a
		 * quorate partition mutates). Its sequence number is taken
		 * back: the node resyncs before it serves again.
		 */
		c->rx.seq--;
		if (c->dropped++ == 0) {
			qb_log(LOG_WARNING, "cluster: dropping deliveries while not quorate");
		}
	} else if (m.kind == CLUSTER_WIRE_KIND_PROPOSAL) {
		c->base.cb.deliver(m.seq, nodeid, m.data, m.len, c->base.ctx);
	}
	cluster_rx_msg_release(&m);
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
		n++;
	}
	c->node_count = n;
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
	corosync_cmap_read(c);
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
	/* A node that lost corosync must go through the daemon's sync again. */
	c->synced = false;
	free(c->members);
	c->members = NULL;
	c->member_count = 0;
	c->in_dispatch++;
	corosync_quorate_update(c);
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
	if (c->serving_queued) {
		qb_loop_job_del(c->base.loop, QB_LOOP_HIGH, c, corosync_serving_job);
	}
	if (c->reconnect_armed) {
		qb_loop_timer_del(c->base.loop, c->reconnect_timer);
	}
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

static const struct cluster_ops corosync_ops = {
	.name = "corosync",
	.propose = corosync_propose,
	.destroy = corosync_destroy,
	.set_synced = corosync_set_synced,
	.set_sequence = corosync_set_sequence,
	.sequence = corosync_sequence,
	.nodes = corosync_nodes,
	.timing_get = corosync_timing_get,
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
	cluster_rx_init(&c->rx, cfg->applied_seq);
	rc = corosync_connect(c);
	if (rc < 0) {
		if (rc != -EINVAL) {
			qb_log(LOG_ERR, "cluster: cannot connect to corosync: %s", strerror(-rc));
			rc = -ENOTCONN;
		}
		cluster_rx_fini(&c->rx);
		free(c);
		return rc;
	}
	*out = &c->base;
	return 0;
}
