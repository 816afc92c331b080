/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The replication transport as the daemon sees it (DESIGN §1, §2): a node
 * proposes opaque byte strings; every member has each proposal delivered in
 * one agreed order, numbered by a sequence that grows by one per delivery.
 * Membership and quorum changes arrive through callbacks, and the snapshot
 * hooks let a joining node take the cluster's state instead of its own.
 *
 * Implementations: the standalone loopback (cluster_loopback_create, in
 * loopback.c) and, later, Corosync CPG. Both run on the daemon's qb_loop and
 * never call a callback from inside cluster_propose(): delivery always comes
 * from the loop, so the proposer may hold state across the call.
 *
 * Payloads are opaque: this module knows nothing about SCSI or the store.
 */
#ifndef QUORATE_QUORUM_CLUSTER_H
#define QUORATE_QUORUM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <qb/qbloop.h>

/* Largest payload cluster_propose() accepts (CPG messages stay well below 1 MiB). */
#define CLUSTER_MSG_MAX (256 * 1024)

struct cluster;

/* ---- state synchronisation vocabulary ------------------------------------ */

#define CLUSTER_DIGEST_LEN 32		/* SHA-256 of the canonical snapshot */

/*
 * What members compare to find who is behind and whether states diverged:
 * two members at the same (epoch, applied_seq) must have the same digest.
 */
struct cluster_summary {
	uint32_t node_id;
	uint64_t epoch;
	uint64_t applied_seq;
	uint8_t digest[CLUSTER_DIGEST_LEN];
};

/*
 * Every member's summary taken at one point of the agreed stream: this node
 * multicasts a probe, and each member answers with its summary as it was
 * when the probe was delivered to it, so members in sync report the same
 * (epoch, seq) even while proposals flow. @done runs once from the loop
 * with this node first; @complete is false when a member did not answer
 * within a second or the membership changed (the entries are then what
 * came). @return 0, -EBUSY (a probe is running) or -EAGAIN (not joined).
 */
typedef void (*cluster_probe_done_fn)(const struct cluster_summary *sums, size_t count,
				      bool complete, void *arg);
int cluster_probe_summaries(struct cluster *cluster, cluster_probe_done_fn done, void *arg);

/**
 * Install snapshot @buf taken at (@epoch, @seq) on this node through the
 * snapshot_put hook, and continue numbering deliveries after @seq. For
 * state transfer and the maintenance command `quoratectl snapshot install`.
 * @return 0, -EOPNOTSUPP (no hook) or the hook's -errno.
 */
int cluster_snapshot_install(struct cluster *cluster, const void *buf, size_t len,
			     uint64_t seq, uint64_t epoch);

/* ---- the member table --------------------------------------------------- */

#define CLUSTER_PEERS_MAX 64
#define CLUSTER_PEER_PORTALS_MAX 8
#define CLUSTER_PEER_PORTAL_LEN 64	/* "[v6addr]:port" and its NUL */
#define CLUSTER_PEER_NAME_LEN 64

/*
 * One node as this node sees it. For other nodes, serving, the summary and
 * the portals are what that node last announced in its heartbeats while a
 * member; a node out of the membership is never serving.
 */
struct cluster_peer {
	uint32_t node_id;
	char name[CLUSTER_PEER_NAME_LEN];	/* corosync nodelist name, or "" */
	bool self;
	bool member;		/* in this node's current membership */
	bool serving;
	bool diverged;		/* its state differs at the same (epoch, seq) */
	bool silent;		/* a member not heard for the grace period: its lease
				 * has lapsed, nothing waits for it (corosync.c) */
	uint64_t epoch;
	uint64_t applied_seq;
	uint8_t digest[CLUSTER_DIGEST_LEN];
	size_t portal_count;
	char portals[CLUSTER_PEER_PORTALS_MAX][CLUSTER_PEER_PORTAL_LEN];
};

/**
 * This node's portals ("addr:port"), announced to the other members so that
 * their SendTargets lists them. @return 0, -E2BIG (more than
 * CLUSTER_PEER_PORTALS_MAX) or -ENAMETOOLONG.
 */
int cluster_set_portals(struct cluster *cluster, const char *const *portals, size_t count);

/**
 * The member table, ascending node ids, this node included (its summary
 * taken now). Valid until the next loop pass.
 */
size_t cluster_peers(struct cluster *cluster, const struct cluster_peer **peers);

/* --------------------------------------------------------------------------- */

struct cluster_callbacks {
	/*
	 * One agreed-order delivery. @seq is the cluster-wide sequence number
	 * (the previous delivery's + 1), @origin the node id that proposed it.
	 * @msg is valid only during the call.
	 */
	void (*deliver)(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx);
	/* The member list changed (node ids, ascending). May be NULL. */
	void (*membership)(const uint32_t *members, size_t count, void *ctx);
	/* This node gained or lost quorum. May be NULL. */
	void (*quorum)(bool quorate, void *ctx);
	/*
	 * State synchronisation hooks (the summary exchanged on a
	 * configuration change, and state transfer to members behind).
	 * snapshot_get fills a malloc()ed buffer the transport frees, taken at
	 * (@epoch, @seq); snapshot_put installs a received snapshot taken at
	 * (@epoch, @seq), after which deliveries continue at @seq + 1; summary
	 * describes this node's state. All return 0 or -errno. May be NULL
	 * (then the transport cannot sync this node).
	 */
	int (*snapshot_get)(void **buf, size_t *len, uint64_t *seq, uint64_t *epoch, void *ctx);
	int (*snapshot_put)(const void *buf, size_t len, uint64_t seq, uint64_t epoch, void *ctx);
	int (*summary)(struct cluster_summary *out, void *ctx);

	/*
	 * Serving (DESIGN §3): this node may serve media access and accept
	 * PR OUT. serving = quorate && synced with the members (and, with
	 * Corosync, a fresh lease). Called from the loop on every change;
	 * the node starts not serving. May be NULL.
	 */
	void (*serving)(bool serving, void *ctx);

	/*
	 * The member table changed (cluster_peers(): every node configured in
	 * corosync's nodelist and every member, this node included): who is a
	 * member, who serves, their portals and summaries. Drives the other
	 * nodes' ALUA port groups and SendTargets portals. Called from the
	 * loop; may be NULL.
	 */
	void (*peers)(const struct cluster_peer *peers, size_t count, void *ctx);

	/*
	 * A sync round completed in a quorate membership: the members hold one
	 * state, which from now on is named by epoch @epoch (DESIGN §3: the
	 * epoch grows on every change of the quorate membership). Persist it;
	 * return 0 or -errno (then this node does not serve). May be NULL.
	 */
	int (*epoch_set)(uint64_t epoch, void *ctx);
	/*
	 * Proposals this node made may or may not have been applied by the
	 * others (@why: corosync went away under them, or this node fell
	 * behind and takes the others' state), and none will be delivered here
	 * any more. Complete whatever waits for them, including those applied
	 * here and held for applied_everywhere, with an error. May be NULL.
	 */
	void (*proposals_lost)(const char *why, void *ctx);
	/*
	 * Every member of the membership has applied the deliveries up to
	 * @seq (and, if a member left meanwhile, the grace period is over):
	 * the proposer may now tell its client that the change holds on every
	 * node (DESIGN §3: a reservation must not be seen through one node and
	 * missed through another). Standalone: right after each delivery. May
	 * be NULL.
	 */
	void (*applied_everywhere)(uint64_t seq, void *ctx);
	/*
	 * A note (cluster_send_note) from member @origin, this node's own
	 * included, in the agreed order of the membership's deliveries: every
	 * member that stays in the membership sees the same notes in the same
	 * order between the same configuration changes. @msg is valid only
	 * during the call. May be NULL.
	 */
	void (*note)(uint32_t origin, const void *msg, size_t len, void *ctx);
	/*
	 * Serving ends at @until_ns (CLOCK_MONOTONIC) at the latest, unless
	 * the lease is renewed first: called each time that moves. The serving
	 * callback follows from a timer, but a loop that was frozen past the
	 * lease (the process stopped, the host paused) runs the commands that
	 * queued meanwhile before that timer: the I/O path compares this with
	 * its own clock. Never called by the loopback (no lease). May be NULL.
	 */
	void (*lease)(uint64_t until_ns, void *ctx);
};

/*
 * The standalone transport: a single-member, always-quorate cluster whose
 * node id is @node_id. Deliveries continue numbering after @applied_seq (the
 * last sequence the node's store applied). The membership, quorum and
 * serving callbacks run once from the loop after creation.
 */
int cluster_loopback_create(qb_loop_t *loop, uint32_t node_id, uint64_t applied_seq,
			    const struct cluster_callbacks *cb, void *ctx, struct cluster **out);

/** Stop delivering (undelivered proposals are dropped) and free. NULL is a no-op. */
void cluster_destroy(struct cluster *cluster);

/**
 * Propose @len bytes (copied) for agreed-order delivery.
 * @return 0, -EMSGSIZE (len 0 or above CLUSTER_MSG_MAX), -EAGAIN (not quorate
 * or syncing: retry later), -ENOMEM.
 */
int cluster_propose(struct cluster *cluster, const void *msg, size_t len);

/* Largest note cluster_send_note() accepts. */
#define CLUSTER_NOTE_MAX 1024

/**
 * Multicast @len bytes (copied) to every member, this node included (the
 * note callback). Unlike a proposal a note is not numbered, not applied to
 * the state, not held during a sync round or a grace period and not sent
 * again: a node that joins later never sees it. For coordination that lives
 * no longer than a membership (the LBA range locks of COMPARE AND WRITE).
 * @return 0, -EMSGSIZE, -EAGAIN (not a member now) or -EOPNOTSUPP (a
 * transport with no other member: the loopback).
 */
int cluster_send_note(struct cluster *cluster, const void *msg, size_t len);

uint32_t cluster_node_id(const struct cluster *cluster);
bool cluster_is_quorate(const struct cluster *cluster);
/** Name of the transport ("standalone", "corosync"), for status output. */
const char *cluster_transport_name(const struct cluster *cluster);

/* ---- serving ---- */

/** Does this node serve now (the last value the serving callback got)? */
bool cluster_is_serving(const struct cluster *cluster);

/*
 * Tests: the loopback serves from its first loop pass after creation;
 * cluster_loopback_set_serving(false) right after creation holds that back
 * (the node stays quorate, not serving) and (true) releases it. The change
 * is signalled from a later loop pass, never from inside this call.
 * @return 0 or -errno.
 */
int cluster_loopback_set_serving(struct cluster *cluster, bool serving);

/* ---- Corosync transport (quorum/corosync.c) ---- */

/* A node of corosync's nodelist (cmap nodelist.node.N.*). */
struct cluster_node {
	uint32_t id;
	char name[64];		/* nodelist.node.N.name, or "" */
	char addr[64];		/* nodelist.node.N.ring0_addr */
};

/* Corosync's configured timeouts (cmap), the inputs of the lease and grace. */
struct cluster_timing {
	uint32_t token_ms;		/* runtime.config.totem.token (grown per node) */
	uint32_t consensus_ms;		/* runtime.config.totem.consensus */
	uint32_t qdevice_timeout_ms;	/* quorum.device.timeout, 0 without a qdevice */
	uint32_t qdevice_sync_timeout_ms; /* quorum.device.sync_timeout, 0 without */
	/* Derived from the above (quorum/sync.h, docs/ARCHITECTURE.md "Serving and fencing"). */
	uint32_t heartbeat_ms;
	uint32_t lease_base_ms;		/* without reach probes finding a majority */
	uint32_t lease_ms;		/* with them */
	uint32_t grace_ms;
};

/*
 * A configuration change of the CPG group, reported before the membership
 * callback (the transport's own sync round starts at the same point). Node
 * ids ascending; @ring_id_seq is the totem ring this change belongs to.
 */
struct cluster_confchg {
	const uint32_t *members;
	size_t member_count;
	const uint32_t *joined;
	size_t joined_count;
	const uint32_t *left;
	size_t left_count;
	uint64_t ring_id_seq;
	bool self_joined;	/* this node is among @joined (it was not a member) */
};

struct cluster_corosync_config {
	const char *group;	/* CPG group name, one per cluster (< 128 bytes) */
	uint32_t node_id;	/* expected node id, 0: take corosync's */
	uint64_t applied_seq;	/* the store's last applied sequence */
	/*
	 * This node's iSCSI portal port (0: 3260): reach probes connect to it
	 * at the other nodes' ring0 addresses (docs/ARCHITECTURE.md, "Serving
	 * and fencing").
	 */
	uint16_t reach_port;
	/* Optional, called from the loop before the membership callback. */
	void (*confchg)(const struct cluster_confchg *chg, void *ctx);
};

/*
 * The Corosync transport: CPG group @cfg->group with agreed-order delivery,
 * votequorum's quorate flag, cmap's node id, nodelist and timeouts. Connects
 * once before returning: -ENOTCONN when corosync is not running, -EINVAL
 * when cfg->node_id is set and differs from corosync's (logged with both).
 * Later losses of corosync make the node inquorate and not serving; it then
 * reconnects with back-off (100 ms doubling to 5 s). The transport keeps
 * the members' states equal through the callbacks' summary and snapshot
 * hooks (quorum/sync.h); serving = quorate && synced && leased, and the node
 * starts not synced.
 */
int cluster_corosync_create(qb_loop_t *loop, const struct cluster_corosync_config *cfg,
			    const struct cluster_callbacks *cb, void *ctx, struct cluster **out);

/**
 * Number the next delivery @seq + 1 (after installing a snapshot taken at
 * @seq). @return 0 or -EOPNOTSUPP.
 */
int cluster_set_sequence(struct cluster *cluster, uint64_t seq);

/** The last sequence delivered (or set). */
uint64_t cluster_sequence(const struct cluster *cluster);

/** The last sequence every member is known to have applied (applied_everywhere). */
uint64_t cluster_applied_everywhere(const struct cluster *cluster);

/**
 * Corosync's nodelist as last read from cmap (empty for the loopback).
 * The array stays valid until the next loop pass.
 */
size_t cluster_nodes(const struct cluster *cluster, const struct cluster_node **nodes);

/** Corosync's timeouts as last read from cmap; -EOPNOTSUPP for the loopback. */
int cluster_timing_get(const struct cluster *cluster, struct cluster_timing *out);

#endif
