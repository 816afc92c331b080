/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Corosync transport's wire format and its pure parts (no Corosync, no
 * loop, no clock), so they are unit-tested on their own:
 *
 * - every CPG message is a header plus one chunk of a proposal; a proposal
 *   larger than the chunk size travels as several CPG messages that the
 *   receivers reassemble per sender (node id, pid). One sender's chunks are
 *   multicast in order and CPG keeps one sender's messages in order, so a
 *   proposal is complete when its last chunk is delivered;
 * - a message is complete at the agreed-order delivery of its last chunk,
 *   so every member that saw the same deliveries completes the same
 *   messages in the same order (the sync protocol, sync.h, numbers the
 *   proposals it applies);
 * - the reconnect back-off after corosync went away.
 *
 * Header (little-endian, CLUSTER_WIRE_HDR_LEN bytes): magic, version, kind,
 * flags (0), message id (per sender, for checking only), total length of the
 * proposal, offset of this chunk in it.
 */
#ifndef QUORATE_QUORUM_WIRE_H
#define QUORATE_QUORUM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_WIRE_MAGIC 0x31435451u	/* "QTC1" read as little-endian bytes */
#define CLUSTER_WIRE_VERSION 1
#define CLUSTER_WIRE_HDR_LEN 20
/* Message kinds; their payloads are described in sync.h. */
#define CLUSTER_WIRE_KIND_PROPOSAL 1	/* numbered when applied */
#define CLUSTER_WIRE_KIND_SUMMARY 2	/* a member's state, once per sync round */
#define CLUSTER_WIRE_KIND_SNAPSHOT 3	/* the round leader's state for those behind */
#define CLUSTER_WIRE_KIND_HEARTBEAT 4	/* renews the sender's lease; its peer-table entry */
#define CLUSTER_WIRE_KIND_RESYNC 5	/* asks the members for a new round */
#define CLUSTER_WIRE_KIND_PROBE 6	/* asks every member for its summary at this point */
#define CLUSTER_WIRE_KIND_APPLIED 7	/* the sender applied up to this sequence */
#define CLUSTER_WIRE_KIND_NOTE 8	/* opaque to the transport (cluster_send_note) */
/*
 * Largest CPG message we send, header included. CPG itself fragments larger
 * messages, but a 64 KiB piece keeps one sender from holding the totem ring
 * for a whole snapshot and stays below cpg_max_atomic_msgsize_get().
 */
#define CLUSTER_WIRE_CHUNK_MAX (64 * 1024)
/* Largest proposal a receiver reassembles (snapshots included). */
#define CLUSTER_WIRE_MSG_MAX (64u * 1024 * 1024)

/* Reconnect back-off after losing corosync: 100 ms doubling up to 5 s. */
#define CLUSTER_BACKOFF_FIRST_MS 100
#define CLUSTER_BACKOFF_MAX_MS 5000

struct cluster_wire_hdr {
	uint8_t kind;
	uint32_t msg_id;
	uint32_t total;		/* length of the whole proposal */
	uint32_t offset;	/* of this chunk's payload in the proposal */
};

void cluster_wire_hdr_encode(uint8_t out[CLUSTER_WIRE_HDR_LEN], const struct cluster_wire_hdr *h);
/** @return 0, or -EBADMSG for a short message, a foreign magic or version. */
int cluster_wire_hdr_decode(const void *buf, size_t len, struct cluster_wire_hdr *h);

/** Number of CPG messages a proposal of @len bytes takes with @chunk_max-byte messages. */
size_t cluster_wire_chunks(size_t len, size_t chunk_max);

/**
 * Write CPG message @index (0-based, < cluster_wire_chunks()) of proposal
 * @msg into @out (room for @chunk_max bytes). @return the bytes written.
 */
size_t cluster_wire_chunk_build(uint8_t *out, uint8_t kind, uint32_t msg_id, const void *msg,
				size_t len, size_t chunk_max, size_t index);

/** The back-off after @prev_ms (0: the first retry). */
uint32_t cluster_backoff_next(uint32_t prev_ms);

struct cluster_rx_partial;

/* Receiver: reassembly of every sender's message in progress. */
struct cluster_rx {
	struct cluster_rx_partial *partials;	/* owned list */
};

/* A complete proposal handed out by cluster_rx_feed(). */
struct cluster_rx_msg {
	uint8_t kind;
	const uint8_t *data;	/* valid until cluster_rx_msg_release() */
	size_t len;
	void *owned;		/* reassembly buffer, or NULL (data points into the input) */
};

void cluster_rx_init(struct cluster_rx *rx);
void cluster_rx_fini(struct cluster_rx *rx);

/**
 * Feed one delivered CPG message from (@nodeid, @pid).
 * @return 1 and @out filled (release it) when a proposal completed, 0 when
 * it was a chunk in the middle, -ENOENT for a chunk whose start this node
 * did not see (it joined mid-proposal: ignored), -EBADMSG for a malformed or
 * out-of-order chunk (that sender's partial proposal is dropped), -ENOMEM.
 */
int cluster_rx_feed(struct cluster_rx *rx, uint32_t nodeid, uint32_t pid, const void *buf,
		    size_t len, struct cluster_rx_msg *out);
void cluster_rx_msg_release(struct cluster_rx_msg *msg);

/** A sender left the group: forget its partial proposal. */
void cluster_rx_drop(struct cluster_rx *rx, uint32_t nodeid, uint32_t pid);
/** Forget every partial proposal (this node lost the group). */
void cluster_rx_drop_all(struct cluster_rx *rx);

#endif
