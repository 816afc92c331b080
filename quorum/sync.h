/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cluster's sync protocol, its pure parts (no Corosync, no loop, no
 * clock), so they are unit-tested on their own (DESIGN §3):
 *
 * - a sync round: after every configuration change of the CPG group (and
 *   when a member regains quorum) every member multicasts its summary
 *   (epoch, applied sequence, digest, quorate, fresh); all members see the
 *   same summaries in the same agreed order, so sync_decide() gives every
 *   one of them the same leader, the same list of members behind and the
 *   same divergences without another message;
 * - the payloads of the protocol's CPG messages (summary, snapshot,
 *   heartbeat, resync; proposals carry the generation they were sent in);
 * - the lease, heartbeat and grace periods derived from corosync's timeouts
 *   (the timing argument is in docs/ARCHITECTURE.md, "Serving and fencing").
 *
 * A round is named by its view (a hash of the members' (node id, pid)
 * pairs, which every member of one configuration computes alike) and its
 * number in that view; a message of another round is ignored.
 */
#ifndef QUORATE_QUORUM_SYNC_H
#define QUORATE_QUORUM_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quorum/cluster.h"

/* CPG's bound on a group's members (CPG_MEMBERS_MAX). */
#define SYNC_MEMBERS_MAX 128

struct sync_member {
	uint32_t node_id;
	uint32_t pid;
};

/** The view id of a member list (any order; the list is not changed). */
uint64_t sync_view_id(const struct sync_member *members, size_t count);

/* ---- summaries and the decision ---- */

struct sync_summary {
	uint32_t node_id; /* from CPG, not from the payload */
	uint32_t pid;
	uint64_t view;
	uint32_t round;
	bool quorate; /* votequorum said so when the sender sent it */
	bool fresh;   /* loaded from disk, not synced since the process started */
	uint64_t epoch;
	uint64_t seq;
	uint8_t digest[CLUSTER_DIGEST_LEN];
};

#define SYNC_SUMMARY_LEN (8 + 4 + 1 + 8 + 8 + CLUSTER_DIGEST_LEN)

size_t sync_summary_encode(uint8_t out[SYNC_SUMMARY_LEN], const struct sync_summary *s);
/** @return 0 or -EBADMSG. node_id and pid are left as they were. */
int sync_summary_decode(const uint8_t *buf, size_t len, struct sync_summary *s);

enum sync_role {
	SYNC_CURRENT,  /* holds the leader's state */
	SYNC_BEHIND,   /* takes the leader's snapshot */
	SYNC_DIVERGED, /* same (epoch, seq) as the leader, another state */
};

struct sync_decision {
	bool quorate;	/* every member was quorate: the round may bump the epoch */
	size_t leader;	/* index into the summaries */
	bool transfer;	/* a member is behind: the leader sends its snapshot */
	uint64_t epoch; /* the leader's */
	uint64_t seq;
};

/**
 * Decide a complete round from its @count (>= 1) summaries. The leader has
 * the newest (epoch, seq); among equals a node that has synced since it
 * started wins over a fresh one (a restarted node's power-on state must not
 * replace the state of nodes that kept running), then the lowest node id.
 */
void sync_decide(const struct sync_summary *s, size_t count, struct sync_decision *d);

/** What member @i is in decision @d. */
enum sync_role sync_role(const struct sync_summary *s, const struct sync_decision *d, size_t i);

/* ---- other payloads ---- */

/* SNAPSHOT: round, then the leader's (epoch, seq), then the snapshot bytes. */
#define SYNC_SNAPSHOT_HDR_LEN (8 + 4 + 8 + 8)

struct sync_snapshot_hdr {
	uint64_t view;
	uint32_t round;
	uint64_t epoch;
	uint64_t seq;
};

void sync_snapshot_hdr_encode(uint8_t out[SYNC_SNAPSHOT_HDR_LEN],
			      const struct sync_snapshot_hdr *h);
int sync_snapshot_hdr_decode(const uint8_t *buf, size_t len, struct sync_snapshot_hdr *h);

/* HEARTBEAT: what a member tells the others about itself, every heartbeat period. */
struct sync_heartbeat {
	uint32_t id;	  /* the sender's counter: renews its lease on its own delivery */
	uint64_t answers; /* the probe this heartbeat answers, 0: none */
	bool serving;
	bool diverged;
	uint64_t epoch;
	uint64_t seq;
	uint8_t digest[CLUSTER_DIGEST_LEN];
	size_t portal_count;
	char portals[CLUSTER_PEER_PORTALS_MAX][CLUSTER_PEER_PORTAL_LEN];
};

#define SYNC_HEARTBEAT_MAX                                                                         \
	(4 + 8 + 1 + 8 + 8 + CLUSTER_DIGEST_LEN + 1 +                                              \
	 CLUSTER_PEER_PORTALS_MAX * (1 + CLUSTER_PEER_PORTAL_LEN))

size_t sync_heartbeat_encode(uint8_t out[SYNC_HEARTBEAT_MAX], const struct sync_heartbeat *h);
int sync_heartbeat_decode(const uint8_t *buf, size_t len, struct sync_heartbeat *h);

/* PROPOSAL: the generation (the epoch of the last quorate round) it was sent in. */
#define SYNC_PROPOSAL_HDR_LEN 8

/* RESYNC: the view it asks a new round in. */
#define SYNC_RESYNC_LEN 8

/* APPLIED: the sender's last applied sequence. */
#define SYNC_APPLIED_LEN 8

/* PROBE: its id (sender's node id << 32 | counter); members answer with a heartbeat. */
#define SYNC_PROBE_LEN 8

void sync_put_u64(uint8_t *p, uint64_t v);
uint64_t sync_get_u64(const uint8_t *p);

/* ---- timing ---- */

/* Margin for clock rate differences, scheduling and backing I/O in flight. */
#define SYNC_MARGIN_MS	      1000
#define SYNC_HEARTBEAT_MIN_MS 20

struct sync_timing {
	uint32_t heartbeat_ms;	/* period of this node's heartbeats */
	uint32_t lease_base_ms; /* serving ends this long after the last own heartbeat was sent */
	uint32_t lease_ms;	/* or this long, if reach probes found the majority since */
	uint32_t grace_ms;	/* no proposal leaves this long after a member left */
};

/**
 * Leases and grace from corosync's configured timeouts (docs/ARCHITECTURE.md,
 * "Serving and fencing"): heartbeat h = token / 4; base lease = token + 2h
 * (a node whose heartbeats stop being delivered and that reaches no majority
 * stops after it); lease = token + consensus + 2h (a ring re-formation does
 * not end it), + the qdevice timeout with a quorum device (nor does
 * corosync's wait for its poll), for a node that reached a majority since
 * its last delivered heartbeat; grace = lease + margin, plus qdevice timeout
 * + token + consensus with a quorum device. The grace is derived from the
 * long lease: no node serves longer than that after its last delivery.
 */
void sync_timing_derive(const struct cluster_timing *in, struct sync_timing *out);

#endif
