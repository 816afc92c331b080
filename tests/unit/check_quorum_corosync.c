/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Corosync transport (quorum/corosync.c) against a fake corosync: this
 * file defines the libcpg, libvotequorum and libcmap functions the
 * transport calls (the binary links libquorum and libqb, not the corosync
 * libraries), backed by eventfds on the real qb_loop. That reaches what a
 * real cluster cannot trigger on demand: CPG flow control (CS_ERR_TRY_AGAIN)
 * with the queue retried in order from the loop, deliveries made in an
 * inquorate configuration dropped, corosync going away (not quorate, not
 * serving, membership empty, reconnect attempts spaced by the back-off, not
 * a spin, the proposals' waiters told) and coming back through a sync round,
 * a proposal dropped in a minority held for the grace period and re-sent once, a node id that differs from the configured one,
 * a callback destroying the cluster from inside a dispatch, and the two
 * leases: a node whose own heartbeats stop being delivered stops at the
 * base lease unless its reach probes (real TCP connects to node 1's ring
 * address, 127.0.0.1 here) find the majority, and then at the long one.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <qb/qbutil.h>

#include <corosync/cmap.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>
#include <qb/qbutil.h>

#include "tests/unit/check_listener.h"
#include "tests/unit/check_main.h"
#include "quorum/cluster.h"
#include "quorum/sync.h"
#include "quorum/wire.h"

#define FAKE_MAX_SENT 64
#define FAKE_MAX_EVENTS 64

enum fake_ev_kind { EV_DELIVER, EV_CONFCHG };

struct fake_ev {
	enum fake_ev_kind kind;
	uint32_t nodeid, pid;
	uint8_t *data;
	size_t len;
	struct cpg_address members[4], left[4], joined[4];
	size_t nm, nl, nj;
};

static struct {
	bool up;			/* corosync runs */
	bool ring_names;		/* ring0_addr is a name; runtime.members has the address */
	uint32_t nodeid;
	bool quorate;
	int try_again;			/* cpg_mcast_joined refusals still to come */
	int try_again_seen;
	int init_calls;
	cpg_model_v1_data_t model;
	void *cpg_ctx;
	void *vq_ctx;
	votequorum_callbacks_t vq_cb;
	bool vq_notify_pending;
	int efd_cpg, efd_vq, efd_cmap;
	uint8_t *sent[FAKE_MAX_SENT];
	size_t sent_len[FAKE_MAX_SENT];
	int nsent;
	struct fake_ev ev[FAKE_MAX_EVENTS];
	int nev;
} fk;

static void fake_kick(int fd)
{
	uint64_t one = 1;

	if (fd >= 0) {
		ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
	}
}

static void fake_drain(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0) {
		/* nothing pending: fine */
	}
}

/* This process for this node, pid 100 for the others. */
static uint32_t fake_pid(uint32_t nodeid)
{
	return nodeid == fk.nodeid ? (uint32_t)getpid() : 100;
}

static void fake_addrs(struct cpg_address *out, const uint32_t *ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[i] = (struct cpg_address){ ids[i], fake_pid(ids[i]), 0 };
	}
}

static void fake_confchg(const uint32_t *members, size_t nm, const uint32_t *joined, size_t nj,
			 const uint32_t *left, size_t nl)
{
	struct fake_ev *e = &fk.ev[fk.nev++];

	memset(e, 0, sizeof(*e));
	e->kind = EV_CONFCHG;
	fake_addrs(e->members, members, nm);
	fake_addrs(e->joined, joined, nj);
	fake_addrs(e->left, left, nl);
	e->nm = nm;
	e->nj = nj;
	e->nl = nl;
	fake_kick(fk.efd_cpg);
}

/* Queue a delivery of a raw CPG message (a chunk with its header). */
static void fake_deliver_raw(uint32_t nodeid, const void *data, size_t len)
{
	struct fake_ev *e = &fk.ev[fk.nev++];

	memset(e, 0, sizeof(*e));
	e->kind = EV_DELIVER;
	e->nodeid = nodeid;
	e->pid = fake_pid(nodeid);
	e->data = malloc(len);
	memcpy(e->data, data, len);
	e->len = len;
	fake_kick(fk.efd_cpg);
}

/* Loop back everything sent so far, in order, as this node's deliveries. */
static void fake_loop_back(void)
{
	int i;

	for (i = 0; i < fk.nsent; i++) {
		fake_deliver_raw(fk.nodeid, fk.sent[i], fk.sent_len[i]);
		free(fk.sent[i]);
	}
	fk.nsent = 0;
}

static void fake_set_quorate(bool q)
{
	fk.quorate = q;
	fk.vq_notify_pending = true;
	fake_kick(fk.efd_vq);
}

/* corosync dies: every fd becomes readable, every dispatch fails. */
static void fake_corosync_kill(void)
{
	fk.up = false;
	fake_kick(fk.efd_cpg);
	fake_kick(fk.efd_vq);
	fake_kick(fk.efd_cmap);
}

/* ---- the fake libraries ---- */

static cs_error_t fake_close(int *fd)
{
	close(*fd);
	*fd = -1;
	return CS_OK;
}

cs_error_t cpg_model_initialize(cpg_handle_t *handle, cpg_model_t model,
				cpg_model_data_t *model_data, void *context)
{
	fk.init_calls++;
	if (!fk.up) {
		return CS_ERR_LIBRARY;
	}
	ck_assert_int_eq(model, CPG_MODEL_V1);
	fk.model = *(cpg_model_v1_data_t *)model_data;
	ck_assert_uint_eq(fk.model.flags & CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
			  CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF);
	fk.cpg_ctx = context;
	fk.efd_cpg = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	*handle = 1;
	return CS_OK;
}

cs_error_t cpg_local_get(cpg_handle_t handle, unsigned int *local_nodeid)
{
	(void)handle;
	*local_nodeid = fk.nodeid;
	return CS_OK;
}

cs_error_t cpg_max_atomic_msgsize_get(cpg_handle_t handle, uint32_t *size)
{
	(void)handle;
	*size = 1024 * 1024;
	return CS_OK;
}

cs_error_t cpg_fd_get(cpg_handle_t handle, int *fd)
{
	(void)handle;
	*fd = fk.efd_cpg;
	return CS_OK;
}

cs_error_t cpg_context_get(cpg_handle_t handle, void **context)
{
	(void)handle;
	*context = fk.cpg_ctx;
	return CS_OK;
}

cs_error_t cpg_join(cpg_handle_t handle, const struct cpg_name *group)
{
	uint32_t me = fk.nodeid;

	(void)handle;
	ck_assert_uint_gt(group->length, 0);
	fake_confchg(&me, 1, &me, 1, NULL, 0);
	return CS_OK;
}

cs_error_t cpg_leave(cpg_handle_t handle, const struct cpg_name *group)
{
	(void)handle;
	(void)group;
	return CS_OK;
}

cs_error_t cpg_finalize(cpg_handle_t handle)
{
	(void)handle;
	return fake_close(&fk.efd_cpg);
}

cs_error_t cpg_mcast_joined(cpg_handle_t handle, cpg_guarantee_t guarantee,
			    const struct iovec *iovec, unsigned int iov_len)
{
	(void)handle;
	ck_assert_int_eq(guarantee, CPG_TYPE_AGREED);
	ck_assert_uint_eq(iov_len, 1);
	if (!fk.up) {
		return CS_ERR_LIBRARY;
	}
	if (fk.try_again > 0) {
		fk.try_again--;
		fk.try_again_seen++;
		return CS_ERR_TRY_AGAIN;
	}
	ck_assert_int_lt(fk.nsent, FAKE_MAX_SENT);
	ck_assert_uint_le(iovec[0].iov_len, CLUSTER_WIRE_CHUNK_MAX);
	fk.sent[fk.nsent] = malloc(iovec[0].iov_len);
	memcpy(fk.sent[fk.nsent], iovec[0].iov_base, iovec[0].iov_len);
	fk.sent_len[fk.nsent++] = iovec[0].iov_len;
	return CS_OK;
}

cs_error_t cpg_dispatch(cpg_handle_t handle, cs_dispatch_flags_t dispatch_types)
{
	int i, n;

	ck_assert_int_eq(dispatch_types, CS_DISPATCH_ALL);
	fake_drain(fk.efd_cpg);
	if (!fk.up) {
		return CS_ERR_LIBRARY;
	}
	/* Events queued by callbacks run in a later dispatch, as with libcpg. */
	n = fk.nev;
	for (i = 0; i < n; i++) {
		struct fake_ev *e = &fk.ev[i];
		struct cpg_name g = { .length = 1, .value = "g" };

		if (e->kind == EV_CONFCHG) {
			fk.model.cpg_confchg_fn(handle, &g, e->members, e->nm, e->left, e->nl,
						e->joined, e->nj);
		} else {
			fk.model.cpg_deliver_fn(handle, &g, e->nodeid, e->pid, e->data, e->len);
			free(e->data);
		}
		if (fk.efd_cpg < 0) {
			/* destroyed from a callback: libcpg would stop here too */
			for (i++; i < n; i++) {
				free(fk.ev[i].kind == EV_DELIVER ? fk.ev[i].data : NULL);
			}
			break;
		}
	}
	memmove(fk.ev, fk.ev + n, (size_t)(fk.nev - n) * sizeof(fk.ev[0]));
	fk.nev -= n;
	return CS_OK;
}

cs_error_t votequorum_initialize(votequorum_handle_t *handle, votequorum_callbacks_t *callbacks)
{
	if (!fk.up) {
		return CS_ERR_LIBRARY;
	}
	fk.vq_cb = *callbacks;
	fk.efd_vq = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	*handle = 2;
	return CS_OK;
}

cs_error_t votequorum_context_set(votequorum_handle_t handle, void *context)
{
	(void)handle;
	fk.vq_ctx = context;
	return CS_OK;
}

cs_error_t votequorum_context_get(votequorum_handle_t handle, void **context)
{
	(void)handle;
	*context = fk.vq_ctx;
	return CS_OK;
}

cs_error_t votequorum_getinfo(votequorum_handle_t handle, unsigned int nodeid,
			      struct votequorum_info *info)
{
	(void)handle;
	ck_assert_uint_eq(nodeid, fk.nodeid);
	memset(info, 0, sizeof(*info));
	info->node_id = nodeid;
	info->flags = fk.quorate ? VOTEQUORUM_INFO_QUORATE : 0;
	return fk.up ? CS_OK : CS_ERR_LIBRARY;
}

cs_error_t votequorum_fd_get(votequorum_handle_t handle, int *fd)
{
	(void)handle;
	*fd = fk.efd_vq;
	return CS_OK;
}

cs_error_t votequorum_trackstart(votequorum_handle_t handle, uint64_t context, unsigned int flags)
{
	(void)handle;
	(void)context;
	ck_assert_uint_eq(flags & CS_TRACK_CHANGES, CS_TRACK_CHANGES);
	fake_set_quorate(fk.quorate);
	return CS_OK;
}

cs_error_t votequorum_dispatch(votequorum_handle_t handle, cs_dispatch_flags_t dispatch_types)
{
	(void)dispatch_types;
	fake_drain(fk.efd_vq);
	if (!fk.up) {
		return CS_ERR_LIBRARY;
	}
	if (fk.vq_notify_pending) {
		fk.vq_notify_pending = false;
		fk.vq_cb.votequorum_quorum_notify_fn(handle, 0, fk.quorate, 0, NULL);
	}
	return CS_OK;
}

cs_error_t votequorum_finalize(votequorum_handle_t handle)
{
	(void)handle;
	return fake_close(&fk.efd_vq);
}

cs_error_t cmap_initialize(cmap_handle_t *handle)
{
	if (!fk.up) {
		return CS_ERR_LIBRARY;
	}
	fk.efd_cmap = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	*handle = 3;
	return CS_OK;
}

cs_error_t cmap_get_uint32(cmap_handle_t handle, const char *key_name, uint32_t *u32)
{
	(void)handle;
	if (strcmp(key_name, "runtime.config.totem.token") == 0) {
		*u32 = 1650;
	} else if (strcmp(key_name, "runtime.config.totem.consensus") == 0) {
		*u32 = 1980;
	} else if (strcmp(key_name, "nodelist.node.0.nodeid") == 0) {
		*u32 = 1;
	} else if (strcmp(key_name, "nodelist.node.1.nodeid") == 0) {
		*u32 = 2;
	} else {
		return CS_ERR_NOT_EXIST;
	}
	return CS_OK;
}

cs_error_t cmap_get_string(cmap_handle_t handle, const char *key_name, char **str)
{
	(void)handle;
	if (fk.ring_names && strncmp(key_name, "runtime.members.", 16) == 0 &&
	    strstr(key_name, ".ip") != NULL) {
		/* corosync's own resolution of the name, as it writes it. */
		*str = strdup("r(0) ip(127.0.0.1) ");
		return CS_OK;
	}
	if (strncmp(key_name, "nodelist.node.", 14) != 0) {
		return CS_ERR_NOT_EXIST;
	}
	/* Ring addresses on loopback: reach probes go there and nowhere else. */
	*str = strdup(strstr(key_name, ".name")   ? "nodeX" :
		      fk.ring_names ? "node-x.invalid" : "127.0.0.1");
	return CS_OK;
}

cs_error_t cmap_track_add(cmap_handle_t handle, const char *key_name, int32_t track_type,
			  cmap_notify_fn_t notify_fn, void *user_data,
			  cmap_track_handle_t *cmap_track_handle)
{
	(void)handle;
	(void)key_name;
	(void)track_type;
	(void)notify_fn;
	(void)user_data;
	*cmap_track_handle = 4;
	return CS_OK;
}

cs_error_t cmap_track_delete(cmap_handle_t handle, cmap_track_handle_t track_handle)
{
	(void)handle;
	(void)track_handle;
	return CS_OK;
}

cs_error_t cmap_fd_get(cmap_handle_t handle, int *fd)
{
	(void)handle;
	*fd = fk.efd_cmap;
	return CS_OK;
}

cs_error_t cmap_dispatch(cmap_handle_t handle, cs_dispatch_flags_t dispatch_types)
{
	(void)handle;
	(void)dispatch_types;
	fake_drain(fk.efd_cmap);
	return fk.up ? CS_OK : CS_ERR_LIBRARY;
}

cs_error_t cmap_finalize(cmap_handle_t handle)
{
	(void)handle;
	return fake_close(&fk.efd_cmap);
}

/* ---- the test's view ---- */

struct seen {
	qb_loop_t *loop;
	struct cluster *cluster;
	int delivered;
	uint64_t last_seq;
	size_t last_len;
	uint8_t last[200000];
	int quorum_calls;
	bool quorate;
	int serving_calls;
	bool serving;
	uint64_t serving_off_ms;	/* when it last stopped serving (monotonic) */
	int confchg_calls;
	bool self_joined;
	size_t members;
	bool destroy_on_deliver;
	/* The replicated state the sync rounds see: (epoch, applied seq). */
	uint64_t epoch;
	int lost_calls;
	uint64_t everywhere;		/* last applied_everywhere() */
	int notes;
	uint64_t lease_ns;		/* last lease() */
	uint32_t note_origin;
	char note[16];
};

static struct seen s;

static void on_deliver(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx)
{
	struct seen *x = ctx;

	ck_assert_uint_eq(origin, fk.nodeid);
	x->delivered++;
	x->last_seq = seq;
	x->last_len = len;
	ck_assert_uint_le(len, sizeof(x->last));
	memcpy(x->last, msg, len);
	if (x->destroy_on_deliver) {
		cluster_destroy(x->cluster);
		x->cluster = NULL;
	}
}

static void on_quorum(bool quorate, void *ctx)
{
	struct seen *x = ctx;

	x->quorum_calls++;
	x->quorate = quorate;
}

static void on_serving(bool serving, void *ctx)
{
	struct seen *x = ctx;

	x->serving_calls++;
	x->serving = serving;
	if (!serving) {
		x->serving_off_ms = qb_util_nano_current_get() / QB_TIME_NS_IN_MSEC;
	}
	/* DESIGN §3: serving implies quorate, in the order the callbacks came. */
	ck_assert(!serving || x->quorate);
}

static void on_membership(const uint32_t *members, size_t count, void *ctx)
{
	struct seen *x = ctx;

	(void)members;
	x->members = count;
}

static void on_confchg(const struct cluster_confchg *chg, void *ctx)
{
	struct seen *x = ctx;

	x->confchg_calls++;
	x->self_joined = chg->self_joined;
}

static int on_summary(struct cluster_summary *out, void *ctx)
{
	struct seen *x = ctx;

	memset(out, 0, sizeof(*out));
	out->epoch = x->epoch;
	out->applied_seq = x->last_seq;
	return 0;
}

static int on_epoch_set(uint64_t epoch, void *ctx)
{
	struct seen *x = ctx;

	x->epoch = epoch;
	return 0;
}

static void on_proposals_lost(const char *why, void *ctx)
{
	ck_assert_ptr_nonnull(why);
	((struct seen *)ctx)->lost_calls++;
}

static void on_everywhere(uint64_t seq, void *ctx)
{
	struct seen *x = ctx;

	ck_assert_uint_gt(seq, x->everywhere);
	x->everywhere = seq;
}

static void on_note(uint32_t origin, const void *msg, size_t len, void *ctx)
{
	struct seen *x = ctx;

	x->notes++;
	x->note_origin = origin;
	ck_assert_uint_lt(len, sizeof(x->note));
	memcpy(x->note, msg, len);
	x->note[len] = '\0';
}

static void on_lease(uint64_t until_ns, void *ctx)
{
	struct seen *x = ctx;

	ck_assert_uint_gt(until_ns, x->lease_ns);
	x->lease_ns = until_ns;
}

static const struct cluster_callbacks cbs = {
	.note = on_note,
	.lease = on_lease,
	.deliver = on_deliver,
	.membership = on_membership,
	.quorum = on_quorum,
	.serving = on_serving,
	.summary = on_summary,
	.epoch_set = on_epoch_set,
	.proposals_lost = on_proposals_lost,
	.applied_everywhere = on_everywhere,
};

/* Deliver a one-chunk message of @kind from node @node (pid 100), as if it sent it. */
static void inject(uint32_t node, uint8_t kind, const void *payload, size_t len)
{
	static uint32_t msg_id;
	uint8_t buf[CLUSTER_WIRE_HDR_LEN + 128];
	size_t n;

	ck_assert_uint_le(len, 128);
	n = cluster_wire_chunk_build(buf, kind, ++msg_id, payload, len, sizeof(buf), 0);
	fake_deliver_raw(node, buf, n);
}

/* CPG messages of @kind among those sent and not yet looped back. */
static int sent_of_kind(uint8_t kind)
{
	int i, n = 0;

	for (i = 0; i < fk.nsent; i++) {
		struct cluster_wire_hdr h;

		ck_assert_int_eq(cluster_wire_hdr_decode(fk.sent[i], fk.sent_len[i], &h), 0);
		n += h.kind == kind;
	}
	return n;
}

static void stop_loop(void *data)
{
	qb_loop_stop(data);
}

static void run_for(unsigned int ms)
{
	qb_loop_timer_handle t;

	ck_assert_int_eq(qb_loop_timer_add(s.loop, QB_LOOP_LOW, ms * QB_TIME_NS_IN_MSEC, s.loop,
					   stop_loop, &t), 0);
	qb_loop_run(s.loop);
}

/* Deliver this lone node's messages back to it until it serves (a sync round, a heartbeat). */
static void sync_until_serving(void)
{
	int i;

	for (i = 0; i < 10 && !s.serving; i++) {
		fake_loop_back();
		run_for(20);
	}
	ck_assert(s.serving);
}

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	memset(&s, 0, sizeof(s));
	fk.up = true;
	fk.nodeid = 2;
	fk.quorate = true;
	fk.efd_cpg = fk.efd_vq = fk.efd_cmap = -1;
	s.loop = qb_loop_create();
}

static void teardown(void)
{
	int i;

	cluster_destroy(s.cluster);
	for (i = 0; i < fk.nsent; i++) {
		free(fk.sent[i]);
	}
	for (i = 0; i < fk.nev; i++) {
		free(fk.ev[i].kind == EV_DELIVER ? fk.ev[i].data : NULL);
	}
	qb_loop_destroy(s.loop);
}

static void create_joined_synced_port(uint16_t reach_port)
{
	struct cluster_corosync_config cfg = { .group = "g", .confchg = on_confchg,
					       .reach_port = reach_port };
	const struct cluster_node *nodes;
	struct cluster_timing timing;

	ck_assert_int_eq(cluster_corosync_create(s.loop, &cfg, &cbs, &s, &s.cluster), 0);
	ck_assert_uint_eq(cluster_node_id(s.cluster), 2);
	ck_assert_str_eq(cluster_transport_name(s.cluster), "corosync");
	ck_assert_uint_eq(cluster_nodes(s.cluster, &nodes), 2);
	ck_assert_uint_eq(nodes[1].id, 2);
	ck_assert_int_eq(cluster_timing_get(s.cluster, &timing), 0);
	ck_assert_uint_eq(timing.token_ms, 1650);
	ck_assert_uint_eq(timing.qdevice_timeout_ms, 0);
	/* Nothing is signalled from inside create. */
	ck_assert_int_eq(s.quorum_calls + s.serving_calls + s.confchg_calls, 0);
	run_for(30);
	ck_assert_int_eq(s.confchg_calls, 1);
	ck_assert(s.self_joined);
	ck_assert(s.quorate);
	ck_assert_uint_eq(s.members, 1);
	/* Quorate but not synced: not serving until its sync round is over... */
	ck_assert(!s.serving);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_SUMMARY), 1);
	/* ...and its own heartbeat delivered (the lease, also told to the I/O path). */
	ck_assert_uint_eq(s.lease_ns, 0);
	sync_until_serving();
	ck_assert_uint_gt(s.lease_ns, qb_util_nano_current_get());
	ck_assert_uint_le(s.lease_ns, qb_util_nano_current_get() + UINT64_C(4455) * 1000000u);
	ck_assert_uint_eq(s.epoch, 1);
}

static void create_joined_synced(void)
{
	create_joined_synced_port(0);
}

START_TEST(test_flow_control_and_chunks)
{
	static uint8_t big[150000];
	size_t i;

	create_joined_synced();
	for (i = 0; i < sizeof(big); i++) {
		big[i] = (uint8_t)(i * 13);
	}
	fk.try_again = 3;
	ck_assert_int_eq(cluster_propose(s.cluster, big, sizeof(big)), 0);
	ck_assert_int_eq(cluster_propose(s.cluster, "tail", 4), 0);
	/* Refused at once by flow control: queued, not lost, not failed... */
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_PROPOSAL), 0);
	/* ...and retried from the loop's timer, not in a busy loop here. */
	ck_assert_int_eq(fk.try_again_seen, 1);
	run_for(200);
	ck_assert_int_eq(fk.try_again_seen, 3);
	/* Three 64 KiB chunks and the small one, in order. */
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_PROPOSAL), 4);
	fake_loop_back();
	run_for(30);
	ck_assert_int_eq(s.delivered, 2);
	ck_assert_uint_eq(s.last_seq, 2);
	ck_assert_uint_eq(s.last_len, 4);
	ck_assert_uint_eq(cluster_sequence(s.cluster), 2);
	/* The big one arrived whole before it (checked through its number). */
	ck_assert_int_eq(cluster_set_sequence(s.cluster, 41), 0);
	ck_assert_int_eq(cluster_propose(s.cluster, big, sizeof(big)), 0);
	fake_loop_back();
	run_for(30);
	ck_assert_uint_eq(s.last_seq, 42);
	ck_assert_uint_eq(s.last_len, sizeof(big));
	ck_assert_int_eq(memcmp(s.last, big, sizeof(big)), 0);
}
END_TEST

START_TEST(test_inquorate_deliveries_dropped)
{
	uint32_t me = 2, other = 1;

	create_joined_synced();
	ck_assert_int_eq(cluster_propose(s.cluster, "late", 4), 0);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_PROPOSAL), 1);
	/*
	 * The partition: corosync hands the new (minority) configuration and
	 * then this node's own late message, before votequorum's notification.
	 */
	fk.quorate = false;
	fake_confchg(&me, 1, NULL, 0, &other, 1);
	fake_loop_back();
	run_for(30);
	ck_assert_int_eq(s.delivered, 0);
	ck_assert(!s.quorate);
	ck_assert(!s.serving);
	ck_assert_uint_eq(cluster_sequence(s.cluster), 0);
	ck_assert_int_eq(cluster_propose(s.cluster, "x", 1), -EAGAIN);
	/* Quorum back: not serving until a new round (it asks for one) is over. */
	fake_set_quorate(true);
	run_for(30);
	ck_assert(s.quorate);
	ck_assert(!s.serving);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_RESYNC), 1);
	sync_until_serving();
	ck_assert_uint_eq(s.epoch, 2);
	/*
	 * A member left: the proposal dropped in the minority configuration
	 * waits for the grace period, then goes out again and is applied once.
	 */
	fake_loop_back();
	run_for(100);
	ck_assert_int_eq(s.delivered, 0);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_PROPOSAL), 0);
	run_for(5600);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_PROPOSAL), 1);
	fake_loop_back();
	run_for(30);
	ck_assert_int_eq(s.delivered, 1);
	ck_assert_uint_eq(s.last_seq, 1);
	ck_assert_int_eq(memcmp(s.last, "late", 4), 0);
}
END_TEST

START_TEST(test_corosync_lost_and_back)
{
	int calls;

	create_joined_synced();
	ck_assert_int_eq(cluster_propose(s.cluster, "a", 1), 0);
	fk.try_again = 1000;		/* stays queued */
	ck_assert_int_eq(cluster_propose(s.cluster, "b", 1), 0);
	calls = fk.init_calls;
	fake_corosync_kill();
	run_for(50);
	ck_assert(!s.quorate);
	ck_assert(!s.serving);
	ck_assert_uint_eq(s.members, 0);
	ck_assert_int_eq(cluster_propose(s.cluster, "c", 1), -EAGAIN);
	/* Back-off 100, 200, 400, 800 ms: about three attempts in a second, no spin. */
	run_for(1000);
	ck_assert_int_ge(fk.init_calls - calls, 2);
	ck_assert_int_le(fk.init_calls - calls, 4);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_PROPOSAL), 1);	/* "a" went out */
	/* Whether "a" reached the others is unknown: its waiter is told. */
	ck_assert_int_eq(s.lost_calls, 1);
	for (int i = 0; i < fk.nsent; i++) {
		free(fk.sent[i]);
	}
	fk.nsent = 0;
	fk.up = true;
	fk.try_again = 0;
	run_for(1700);
	ck_assert(s.quorate);
	ck_assert_int_ge(s.confchg_calls, 2);
	/* The node went through a loss: it serves only after a new sync round. */
	ck_assert(!s.serving);
	sync_until_serving();
	/* What was queued or sent when corosync died was dropped, not sent again. */
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_PROPOSAL), 0);
}
END_TEST

/*
 * This node synced alone, then node 1 (pid 100) joins holding the same
 * state, (epoch 1, seq 0) with an empty digest (its summary injected): the
 * round ends quorate at epoch 2.
 */
static void node1_joins_in_sync(void)
{
	uint32_t both[2] = { 1, 2 }, one = 1;
	struct sync_member view[2] = { { 1, 100 }, { 2, (uint32_t)getpid() } };
	struct sync_summary peer = { .view = sync_view_id(view, 2), .round = 0, .quorate = true };
	uint8_t sum[SYNC_SUMMARY_LEN];

	create_joined_synced();
	fake_confchg(both, 2, &one, 1, NULL, 0);
	run_for(20);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_SUMMARY), 1);
	peer.epoch = 1;
	sync_summary_encode(sum, &peer);
	fake_loop_back();
	inject(1, CLUSTER_WIRE_KIND_SUMMARY, sum, sizeof(sum));
	run_for(20);
	ck_assert_uint_eq(s.epoch, 2);
}

/*
 * Node 1 joins (its summary and acknowledgements injected): a proposal
 * applied here counts as applied everywhere only once node 1 acknowledged
 * it; when node 1 leaves with an acknowledgement outstanding, only after the
 * grace period (it may not have applied it and may still serve).
 */
START_TEST(test_applied_everywhere)
{
	uint32_t me = 2, one = 1;
	uint8_t ack[SYNC_APPLIED_LEN];

	node1_joins_in_sync();
	fake_loop_back();		/* the heartbeat renewing the lease */
	run_for(20);
	ck_assert(s.serving);

	ck_assert_int_eq(cluster_propose(s.cluster, "x", 1), 0);
	fake_loop_back();
	run_for(20);
	ck_assert_int_eq(s.delivered, 1);
	ck_assert_uint_eq(s.everywhere, 0);
	ck_assert_uint_eq(cluster_applied_everywhere(s.cluster), 0);
	/* This node acknowledges its own application too (an APPLIED went out). */
	ck_assert_int_ge(sent_of_kind(CLUSTER_WIRE_KIND_APPLIED), 1);
	sync_put_u64(ack, 1);
	inject(1, CLUSTER_WIRE_KIND_APPLIED, ack, sizeof(ack));
	run_for(20);
	ck_assert_uint_eq(s.everywhere, 1);

	ck_assert_int_eq(cluster_propose(s.cluster, "y", 1), 0);
	fake_loop_back();
	run_for(20);
	ck_assert_int_eq(s.delivered, 2);
	ck_assert_uint_eq(s.everywhere, 1);
	/* Node 1 leaves without acknowledging "y". */
	fake_confchg(&me, 1, NULL, 0, &one, 1);
	run_for(20);
	fake_loop_back();
	run_for(200);
	ck_assert(s.serving);
	ck_assert_uint_eq(s.everywhere, 1);
	run_for(5500);
	ck_assert_uint_eq(s.everywhere, 2);
}
END_TEST

/*
 * A member whose daemon hangs while its corosync keeps it in the membership
 * sends neither heartbeats nor acknowledgements: answers wait for it no
 * longer than the grace period from when it was last heard (its lease has
 * lapsed by then, and it applies everything before it can serve again).
 */
START_TEST(test_silent_member)
{
	const struct cluster_peer *peers;
	size_t n;

	node1_joins_in_sync();
	ck_assert_int_eq(cluster_propose(s.cluster, "x", 1), 0);
	fake_loop_back();
	run_for(20);
	ck_assert_int_eq(s.delivered, 1);
	run_for(4000);
	ck_assert_uint_eq(s.everywhere, 0);	/* node 1 may still serve */
	run_for(2000);
	ck_assert_uint_eq(s.everywhere, 1);
	/* The member table says so: the others present its port group Unavailable. */
	n = cluster_peers(s.cluster, &peers);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(peers[0].node_id, 1);
	ck_assert(peers[0].silent);
	ck_assert(!peers[1].silent);
}
END_TEST

/*
 * Notes (cluster_send_note): sent at once, in a sync round too, delivered
 * to the note callback with their origin, this node's own included, and
 * never numbered; too long or empty ones are refused.
 */
START_TEST(test_notes)
{
	uint32_t both[2] = { 1, 2 }, one = 1;
	char big[CLUSTER_NOTE_MAX + 1];

	create_joined_synced();
	ck_assert_int_eq(cluster_send_note(s.cluster, "own", 3), 0);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_NOTE), 1);
	fake_loop_back();
	run_for(20);
	ck_assert_int_eq(s.notes, 1);
	ck_assert_uint_eq(s.note_origin, 2);
	ck_assert_str_eq(s.note, "own");
	ck_assert_int_eq(s.delivered, 0);
	/* A round is open (node 1 joined, no summary from it yet): notes still flow. */
	fake_confchg(both, 2, &one, 1, NULL, 0);
	run_for(20);
	ck_assert_int_eq(cluster_send_note(s.cluster, "mid", 3), 0);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_NOTE), 1);
	inject(1, CLUSTER_WIRE_KIND_NOTE, "peer", 4);
	run_for(20);
	ck_assert_int_eq(s.notes, 2);
	ck_assert_uint_eq(s.note_origin, 1);
	ck_assert_str_eq(s.note, "peer");
	ck_assert_int_eq(s.delivered, 0);
	memset(big, 'n', sizeof(big));
	ck_assert_int_eq(cluster_send_note(s.cluster, big, sizeof(big)), -EMSGSIZE);
	ck_assert_int_eq(cluster_send_note(s.cluster, big, 0), -EMSGSIZE);
}
END_TEST

/*
 * This node's proposal reaches CPG but is dropped here (it arrives after a
 * configuration change), and the round finds this node behind node 1: the
 * others may have applied it, so it is not sent again (that could apply it
 * twice); its waiter is told the outcome is unknown.
 */
START_TEST(test_behind_drops_unapplied)
{
	uint32_t both[2] = { 1, 2 }, one = 1;
	struct sync_member view[2] = { { 1, 100 }, { 2, (uint32_t)getpid() } };
	struct sync_summary peer = { .view = sync_view_id(view, 2), .round = 0, .quorate = true,
				     .epoch = 7, .seq = 3 };
	uint8_t sum[SYNC_SUMMARY_LEN];

	create_joined_synced();
	ck_assert_int_eq(cluster_propose(s.cluster, "z", 1), 0);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_PROPOSAL), 1);
	fake_confchg(both, 2, &one, 1, NULL, 0);
	fake_loop_back();		/* "z" comes back after the change: dropped */
	run_for(20);
	ck_assert_int_eq(s.delivered, 0);
	sync_summary_encode(sum, &peer);
	fake_loop_back();		/* this node's summary */
	inject(1, CLUSTER_WIRE_KIND_SUMMARY, sum, sizeof(sum));
	run_for(20);
	ck_assert_int_eq(s.lost_calls, 1);
	ck_assert(!s.serving);
	/* Never sent again, whatever rounds follow. */
	fake_loop_back();
	run_for(600);
	ck_assert_int_eq(sent_of_kind(CLUSTER_WIRE_KIND_PROPOSAL), 0);
}
END_TEST

/*
 * Synced and serving, then none of this node's heartbeats is delivered any
 * more (nothing is looped back). Token 1650 ms: base lease 2474 ms, long
 * lease 4454 ms after the last delivered one was sent (just before t0).
 * @majority: node 1's ring address answers at the probe port, so 2 of the
 * nodelist's 2 votes are reached; else its SYN is dropped (1 of 2).
 */
static void lease_after_silence(bool majority, bool ring_names)
{
	uint16_t port;
	int filler = -1, lfd = majority ? check_tcp_socket(8, &port) : check_full_listener(&port, &filler);
	uint64_t t0;

	fk.ring_names = ring_names;
	create_joined_synced_port(port);
	t0 = qb_util_nano_current_get() / QB_TIME_NS_IN_MSEC;
	run_for(2200);
	ck_assert(s.serving);
	run_for(800);
	if (!majority) {
		/* The base lease ended it: no majority reached. */
		ck_assert(!s.serving);
		ck_assert_uint_ge(s.serving_off_ms - t0, 2100);
		ck_assert_uint_le(s.serving_off_ms - t0, 2500);
	} else {
		/* Beyond the base lease on the probes' evidence, up to the long lease. */
		ck_assert(s.serving);
		run_for(1700);
		ck_assert(!s.serving);
		ck_assert_uint_ge(s.serving_off_ms - t0, 4100);
		ck_assert_uint_le(s.serving_off_ms - t0, 4500);
	}
	if (filler >= 0) {
		close(filler);
	}
	close(lfd);
}

START_TEST(test_lease_base_without_majority)
{
	lease_after_silence(false, false);
}
END_TEST

START_TEST(test_lease_long_with_majority)
{
	lease_after_silence(true, false);
}
END_TEST

/* The nodelist names its nodes (as `pcs cluster setup` writes it): probed at corosync's address. */
START_TEST(test_lease_long_with_majority_ring_names)
{
	lease_after_silence(true, true);
}
END_TEST

START_TEST(test_node_id_mismatch_and_down)
{
	struct cluster_corosync_config cfg = { .group = "g", .node_id = 5 };

	ck_assert_int_eq(cluster_corosync_create(s.loop, &cfg, &cbs, &s, &s.cluster), -EINVAL);
	ck_assert_ptr_null(s.cluster);
	cfg.node_id = 0;
	fk.up = false;
	ck_assert_int_eq(cluster_corosync_create(s.loop, &cfg, &cbs, &s, &s.cluster), -ENOTCONN);
	cfg.group = "";
	fk.up = true;
	ck_assert_int_eq(cluster_corosync_create(s.loop, &cfg, &cbs, &s, &s.cluster), -EINVAL);
}
END_TEST

START_TEST(test_destroy_from_callback)
{
	create_joined_synced();
	ck_assert_int_eq(cluster_propose(s.cluster, "one", 3), 0);
	ck_assert_int_eq(cluster_propose(s.cluster, "two", 3), 0);
	fake_loop_back();
	s.destroy_on_deliver = true;
	run_for(30);
	/* Destroyed inside the first delivery: no second one, nothing leaked. */
	ck_assert_int_eq(s.delivered, 1);
	ck_assert_ptr_null(s.cluster);
}
END_TEST

Suite *check_suite(void)
{
	Suite *su = suite_create("quorum_corosync");
	TCase *tc = tcase_create("fake corosync");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_flow_control_and_chunks);
	tcase_add_test(tc, test_inquorate_deliveries_dropped);
	tcase_add_test(tc, test_corosync_lost_and_back);
	tcase_add_test(tc, test_applied_everywhere);
	tcase_add_test(tc, test_behind_drops_unapplied);
	tcase_add_test(tc, test_notes);
	tcase_add_test(tc, test_silent_member);
	tcase_add_test(tc, test_node_id_mismatch_and_down);
	tcase_add_test(tc, test_destroy_from_callback);
	tcase_add_test(tc, test_lease_base_without_majority);
	tcase_add_test(tc, test_lease_long_with_majority);
	tcase_add_test(tc, test_lease_long_with_majority_ring_names);
	suite_add_tcase(su, tc);
	return su;
}
