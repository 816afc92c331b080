/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sync protocol's pure parts (see sync.h): view ids, payload codecs, the
 * round decision and the timing derivation. Payloads are little-endian.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "quorum/sync.h"

void sync_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

uint64_t sync_get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v |= (uint64_t)p[i] << (8 * i);
	}
	return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- view ---- */

static int member_cmp(const void *a, const void *b)
{
	const struct sync_member *x = a, *y = b;

	if (x->node_id != y->node_id) {
		return x->node_id < y->node_id ? -1 : 1;
	}
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

uint64_t sync_view_id(const struct sync_member *members, size_t count)
{
	struct sync_member sorted[SYNC_MEMBERS_MAX];
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, 64 bit */

	if (count > SYNC_MEMBERS_MAX) {
		count = SYNC_MEMBERS_MAX;
	}
	memcpy(sorted, members, count * sizeof(*members));
	qsort(sorted, count, sizeof(*sorted), member_cmp);
	for (size_t i = 0; i < count; i++) {
		uint8_t b[8];

		put_u32(b, sorted[i].node_id);
		put_u32(b + 4, sorted[i].pid);
		for (int k = 0; k < 8; k++) {
			h = (h ^ b[k]) * 0x100000001b3ull;
		}
	}
	return h;
}

/* ---- summary ---- */

#define SUM_QUORATE 0x01
#define SUM_FRESH   0x02

size_t sync_summary_encode(uint8_t out[SYNC_SUMMARY_LEN], const struct sync_summary *s)
{
	sync_put_u64(out, s->view);
	put_u32(out + 8, s->round);
	out[12] = (uint8_t)((s->quorate ? SUM_QUORATE : 0) | (s->fresh ? SUM_FRESH : 0));
	sync_put_u64(out + 13, s->epoch);
	sync_put_u64(out + 21, s->seq);
	memcpy(out + 29, s->digest, CLUSTER_DIGEST_LEN);
	return SYNC_SUMMARY_LEN;
}

int sync_summary_decode(const uint8_t *buf, size_t len, struct sync_summary *s)
{
	if (len != SYNC_SUMMARY_LEN || (buf[12] & ~(SUM_QUORATE | SUM_FRESH)) != 0) {
		return -EBADMSG;
	}
	s->view = sync_get_u64(buf);
	s->round = get_u32(buf + 8);
	s->quorate = (buf[12] & SUM_QUORATE) != 0;
	s->fresh = (buf[12] & SUM_FRESH) != 0;
	s->epoch = sync_get_u64(buf + 13);
	s->seq = sync_get_u64(buf + 21);
	memcpy(s->digest, buf + 29, CLUSTER_DIGEST_LEN);
	return 0;
}

/* ---- decision ---- */

/* Is @a a better leader than @b? Newer state, then not fresh, then the lower id. */
static bool leads(const struct sync_summary *a, const struct sync_summary *b)
{
	if (a->epoch != b->epoch) {
		return a->epoch > b->epoch;
	}
	if (a->seq != b->seq) {
		return a->seq > b->seq;
	}
	if (a->fresh != b->fresh) {
		return !a->fresh;
	}
	return a->node_id < b->node_id;
}

void sync_decide(const struct sync_summary *s, size_t count, struct sync_decision *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->quorate = true;
	for (i = 0; i < count; i++) {
		if (!s[i].quorate) {
			d->quorate = false;
		}
		if (i > 0 && leads(&s[i], &s[d->leader])) {
			d->leader = i;
		}
	}
	d->epoch = s[d->leader].epoch;
	d->seq = s[d->leader].seq;
	for (i = 0; i < count; i++) {
		if (sync_role(s, d, i) == SYNC_BEHIND) {
			d->transfer = true;
		}
	}
}

enum sync_role sync_role(const struct sync_summary *s, const struct sync_decision *d, size_t i)
{
	const struct sync_summary *l = &s[d->leader], *m = &s[i];

	if (m->epoch != l->epoch || m->seq != l->seq) {
		return SYNC_BEHIND;
	}
	if (memcmp(m->digest, l->digest, CLUSTER_DIGEST_LEN) == 0) {
		return SYNC_CURRENT;
	}
	/*
	 * Same (epoch, seq), another state. A restarted node dropped what a
	 * power loss drops (SPC-4 5.13.4) while the leader kept running: it is
	 * behind, not diverged. Otherwise two histories claim one name.
	 */
	return m->fresh && !l->fresh ? SYNC_BEHIND : SYNC_DIVERGED;
}

/* ---- snapshot header ---- */

void sync_snapshot_hdr_encode(uint8_t out[SYNC_SNAPSHOT_HDR_LEN], const struct sync_snapshot_hdr *h)
{
	sync_put_u64(out, h->view);
	put_u32(out + 8, h->round);
	sync_put_u64(out + 12, h->epoch);
	sync_put_u64(out + 20, h->seq);
}

int sync_snapshot_hdr_decode(const uint8_t *buf, size_t len, struct sync_snapshot_hdr *h)
{
	if (len < SYNC_SNAPSHOT_HDR_LEN) {
		return -EBADMSG;
	}
	h->view = sync_get_u64(buf);
	h->round = get_u32(buf + 8);
	h->epoch = sync_get_u64(buf + 12);
	h->seq = sync_get_u64(buf + 20);
	return 0;
}

/* ---- heartbeat ---- */

#define HB_SERVING  0x01
#define HB_DIVERGED 0x02

size_t sync_heartbeat_encode(uint8_t out[SYNC_HEARTBEAT_MAX], const struct sync_heartbeat *h)
{
	size_t n = 0, count = h->portal_count;

	if (count > CLUSTER_PEER_PORTALS_MAX) {
		count = CLUSTER_PEER_PORTALS_MAX;
	}
	put_u32(out, h->id);
	sync_put_u64(out + 4, h->answers);
	out[12] = (uint8_t)((h->serving ? HB_SERVING : 0) | (h->diverged ? HB_DIVERGED : 0));
	sync_put_u64(out + 13, h->epoch);
	sync_put_u64(out + 21, h->seq);
	memcpy(out + 29, h->digest, CLUSTER_DIGEST_LEN);
	n = 29 + CLUSTER_DIGEST_LEN;
	out[n++] = (uint8_t)count;
	for (size_t i = 0; i < count; i++) {
		size_t l = strnlen(h->portals[i], CLUSTER_PEER_PORTAL_LEN - 1);

		out[n++] = (uint8_t)l;
		memcpy(out + n, h->portals[i], l);
		n += l;
	}
	return n;
}

int sync_heartbeat_decode(const uint8_t *buf, size_t len, struct sync_heartbeat *h)
{
	size_t n = 29 + CLUSTER_DIGEST_LEN;

	if (len < n + 1 || (buf[12] & ~(HB_SERVING | HB_DIVERGED)) != 0) {
		return -EBADMSG;
	}
	memset(h, 0, sizeof(*h));
	h->id = get_u32(buf);
	h->answers = sync_get_u64(buf + 4);
	h->serving = (buf[12] & HB_SERVING) != 0;
	h->diverged = (buf[12] & HB_DIVERGED) != 0;
	h->epoch = sync_get_u64(buf + 13);
	h->seq = sync_get_u64(buf + 21);
	memcpy(h->digest, buf + 29, CLUSTER_DIGEST_LEN);
	h->portal_count = buf[n++];
	if (h->portal_count > CLUSTER_PEER_PORTALS_MAX) {
		return -EBADMSG;
	}
	for (size_t i = 0; i < h->portal_count; i++) {
		size_t l;

		if (n >= len) {
			return -EBADMSG;
		}
		l = buf[n++];
		if (l == 0 || l >= CLUSTER_PEER_PORTAL_LEN || l > len - n ||
		    memchr(buf + n, '\0', l) != NULL) {
			return -EBADMSG;
		}
		memcpy(h->portals[i], buf + n, l);
		h->portals[i][l] = '\0';
		n += l;
	}
	return n == len ? 0 : -EBADMSG;
}

/* ---- timing ---- */

void sync_timing_derive(const struct cluster_timing *in, struct sync_timing *out)
{
	/* corosync's defaults when cmap did not say (token 1000 ms, consensus 1.2 x token). */
	uint32_t token = in->token_ms != 0 ? in->token_ms : 1000;
	uint32_t consensus = in->consensus_ms != 0 ? in->consensus_ms : token + token / 5;

	out->heartbeat_ms = token / 4 > SYNC_HEARTBEAT_MIN_MS ? token / 4 : SYNC_HEARTBEAT_MIN_MS;
	/*
	 * A node cut off sees no own heartbeat delivered after the cut: the
	 * token's loss is when it could know, 2h covers a heartbeat in flight.
	 */
	out->lease_base_ms = token + 2 * out->heartbeat_ms;
	out->lease_ms = token + consensus + 2 * out->heartbeat_ms;
	if (in->qdevice_timeout_ms != 0) {
		/*
		 * After a membership change corosync holds CPG back until the
		 * qdevice polls (up to its timeout here): the survivors' leases
		 * outlast that, or a node's death would stop them serving too.
		 */
		out->lease_ms += in->qdevice_timeout_ms;
	}
	out->grace_ms = out->lease_ms + SYNC_MARGIN_MS;
	if (in->qdevice_timeout_ms != 0) {
		/* An isolated node keeps the qdevice's vote this long after its ring re-forms. */
		out->grace_ms += in->qdevice_timeout_ms + token + consensus;
	}
}
