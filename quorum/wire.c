/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Corosync transport's pure parts (see wire.h): header codec, chunk
 * count, reassembly per sender, reconnect back-off.
 *
 * Invariants: a partial proposal exists only between its first and last
 * chunk; its `have` equals the offset the next chunk must carry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "quorum/wire.h"

struct cluster_rx_partial {
	struct cluster_rx_partial *next;
	uint32_t nodeid;
	uint32_t pid;
	uint32_t msg_id;
	uint8_t kind;
	uint32_t total;
	uint32_t have;		/* bytes received so far */
	uint8_t *buf;		/* owned, total bytes */
};

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void cluster_wire_hdr_encode(uint8_t out[CLUSTER_WIRE_HDR_LEN], const struct cluster_wire_hdr *h)
{
	put_le32(out, CLUSTER_WIRE_MAGIC);
	out[4] = CLUSTER_WIRE_VERSION;
	out[5] = h->kind;
	out[6] = 0;
	out[7] = 0;
	put_le32(out + 8, h->msg_id);
	put_le32(out + 12, h->total);
	put_le32(out + 16, h->offset);
}

int cluster_wire_hdr_decode(const void *buf, size_t len, struct cluster_wire_hdr *h)
{
	const uint8_t *p = buf;

	if (len < CLUSTER_WIRE_HDR_LEN || get_le32(p) != CLUSTER_WIRE_MAGIC ||
	    p[4] != CLUSTER_WIRE_VERSION) {
		return -EBADMSG;
	}
	h->kind = p[5];
	h->msg_id = get_le32(p + 8);
	h->total = get_le32(p + 12);
	h->offset = get_le32(p + 16);
	return 0;
}

size_t cluster_wire_chunks(size_t len, size_t chunk_max)
{
	size_t piece = chunk_max - CLUSTER_WIRE_HDR_LEN;

	return len == 0 ? 0 : (len + piece - 1) / piece;
}

size_t cluster_wire_chunk_build(uint8_t *out, uint8_t kind, uint32_t msg_id, const void *msg,
				size_t len, size_t chunk_max, size_t index)
{
	size_t piece = chunk_max - CLUSTER_WIRE_HDR_LEN, off = index * piece;
	size_t plen = len - off < piece ? len - off : piece;
	struct cluster_wire_hdr h = {
		.kind = kind, .msg_id = msg_id, .total = (uint32_t)len, .offset = (uint32_t)off,
	};

	cluster_wire_hdr_encode(out, &h);
	memcpy(out + CLUSTER_WIRE_HDR_LEN, (const uint8_t *)msg + off, plen);
	return CLUSTER_WIRE_HDR_LEN + plen;
}

uint32_t cluster_backoff_next(uint32_t prev_ms)
{
	if (prev_ms == 0) {
		return CLUSTER_BACKOFF_FIRST_MS;
	}
	return prev_ms >= CLUSTER_BACKOFF_MAX_MS / 2 ? CLUSTER_BACKOFF_MAX_MS : prev_ms * 2;
}

void cluster_rx_init(struct cluster_rx *rx)
{
	rx->partials = NULL;
}

static struct cluster_rx_partial **rx_find(struct cluster_rx *rx, uint32_t nodeid, uint32_t pid)
{
	struct cluster_rx_partial **pp;

	for (pp = &rx->partials; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->nodeid == nodeid && (*pp)->pid == pid) {
			return pp;
		}
	}
	return pp;
}

static void rx_unlink_free(struct cluster_rx_partial **pp)
{
	struct cluster_rx_partial *p = *pp;

	*pp = p->next;
	free(p->buf);
	free(p);
}

void cluster_rx_drop(struct cluster_rx *rx, uint32_t nodeid, uint32_t pid)
{
	struct cluster_rx_partial **pp = rx_find(rx, nodeid, pid);

	if (*pp != NULL) {
		rx_unlink_free(pp);
	}
}

void cluster_rx_drop_all(struct cluster_rx *rx)
{
	while (rx->partials != NULL) {
		rx_unlink_free(&rx->partials);
	}
}

void cluster_rx_fini(struct cluster_rx *rx)
{
	cluster_rx_drop_all(rx);
}

void cluster_rx_msg_release(struct cluster_rx_msg *msg)
{
	free(msg->owned);
	msg->owned = NULL;
	msg->data = NULL;
}

static void rx_complete(uint8_t kind, const uint8_t *data, size_t len, void *owned,
			struct cluster_rx_msg *out)
{
	out->kind = kind;
	out->data = data;
	out->len = len;
	out->owned = owned;
}

int cluster_rx_feed(struct cluster_rx *rx, uint32_t nodeid, uint32_t pid, const void *buf,
		    size_t len, struct cluster_rx_msg *out)
{
	struct cluster_rx_partial **pp = rx_find(rx, nodeid, pid);
	struct cluster_rx_partial *p = *pp;
	struct cluster_wire_hdr h;
	const uint8_t *payload = (const uint8_t *)buf + CLUSTER_WIRE_HDR_LEN;
	size_t plen;

	if (cluster_wire_hdr_decode(buf, len, &h) < 0) {
		return -EBADMSG;
	}
	plen = len - CLUSTER_WIRE_HDR_LEN;
	if (h.total == 0 || h.total > CLUSTER_WIRE_MSG_MAX || plen == 0 ||
	    h.offset > h.total || plen > h.total - h.offset) {
		if (p != NULL) {
			rx_unlink_free(pp);
		}
		return -EBADMSG;
	}
	if (h.offset == 0) {
		/* A new proposal: a partial one left over cannot be finished any more. */
		if (p != NULL) {
			rx_unlink_free(pp);
		}
		if (plen == h.total) {
			rx_complete(h.kind, payload, plen, NULL, out);
			return 1;
		}
		p = calloc(1, sizeof(*p));
		if (p == NULL) {
			return -ENOMEM;
		}
		p->buf = malloc(h.total);
		if (p->buf == NULL) {
			free(p);
			return -ENOMEM;
		}
		p->nodeid = nodeid;
		p->pid = pid;
		p->msg_id = h.msg_id;
		p->kind = h.kind;
		p->total = h.total;
		memcpy(p->buf, payload, plen);
		p->have = (uint32_t)plen;
		p->next = rx->partials;
		rx->partials = p;
		return 0;
	}
	if (p == NULL) {
		return -ENOENT;
	}
	if (p->msg_id != h.msg_id || p->total != h.total || p->have != h.offset ||
	    p->kind != h.kind) {
		rx_unlink_free(pp);
		return -EBADMSG;
	}
	memcpy(p->buf + p->have, payload, plen);
	p->have += (uint32_t)plen;
	if (p->have < p->total) {
		return 0;
	}
	*pp = p->next;
	rx_complete(p->kind, p->buf, p->total, p->buf, out);
	free(p);
	return 1;
}
