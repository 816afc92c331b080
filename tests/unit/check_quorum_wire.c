/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Corosync transport's pure parts (quorum/wire.h): the header codec,
 * chunking of proposals above the CPG message size and their reassembly per
 * sender (two receivers fed the same interleaved stream complete the same
 * messages at the same points), the handling of a chunk whose
 * start this node never saw (joined mid-proposal) or that arrives out of
 * order, and the reconnect back-off. Links only libquorum.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check_main.h"
#include "quorum/cluster.h"
#include "quorum/wire.h"

/* A small chunk size so that modest proposals take several messages. */
#define TEST_CHUNK (CLUSTER_WIRE_HDR_LEN + 100)

START_TEST(test_hdr_roundtrip)
{
	struct cluster_wire_hdr h = { .kind = CLUSTER_WIRE_KIND_PROPOSAL, .msg_id = 0xa1b2c3d4,
				      .total = 300000, .offset = 65516 }, d;
	uint8_t buf[CLUSTER_WIRE_HDR_LEN];

	cluster_wire_hdr_encode(buf, &h);
	ck_assert_int_eq(cluster_wire_hdr_decode(buf, sizeof(buf), &d), 0);
	ck_assert_uint_eq(d.kind, h.kind);
	ck_assert_uint_eq(d.msg_id, h.msg_id);
	ck_assert_uint_eq(d.total, h.total);
	ck_assert_uint_eq(d.offset, h.offset);
	/* Little-endian on the wire whatever the host: the magic reads "QTC1". */
	ck_assert_int_eq(memcmp(buf, "QTC1", 4), 0);
	ck_assert_int_eq(cluster_wire_hdr_decode(buf, sizeof(buf) - 1, &d), -EBADMSG);
	buf[4] = CLUSTER_WIRE_VERSION + 1;
	ck_assert_int_eq(cluster_wire_hdr_decode(buf, sizeof(buf), &d), -EBADMSG);
	buf[4] = CLUSTER_WIRE_VERSION;
	buf[0] ^= 1;
	ck_assert_int_eq(cluster_wire_hdr_decode(buf, sizeof(buf), &d), -EBADMSG);
}
END_TEST

START_TEST(test_chunk_count)
{
	size_t piece = CLUSTER_WIRE_CHUNK_MAX - CLUSTER_WIRE_HDR_LEN;

	ck_assert_uint_eq(cluster_wire_chunks(0, CLUSTER_WIRE_CHUNK_MAX), 0);
	ck_assert_uint_eq(cluster_wire_chunks(1, CLUSTER_WIRE_CHUNK_MAX), 1);
	ck_assert_uint_eq(cluster_wire_chunks(piece, CLUSTER_WIRE_CHUNK_MAX), 1);
	ck_assert_uint_eq(cluster_wire_chunks(piece + 1, CLUSTER_WIRE_CHUNK_MAX), 2);
	/* The largest proposal cluster_propose() takes is four 64 KiB messages. */
	ck_assert_uint_eq(cluster_wire_chunks(CLUSTER_MSG_MAX, CLUSTER_WIRE_CHUNK_MAX), 5);
}
END_TEST

START_TEST(test_backoff)
{
	static const uint32_t want[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000 };
	uint32_t ms = 0;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ms = cluster_backoff_next(ms);
		ck_assert_uint_eq(ms, want[i]);
	}
}
END_TEST

/* One proposal cut into messages, as the transport sends it. */
struct sent {
	uint32_t nodeid;
	uint8_t msgs[16][TEST_CHUNK];
	size_t lens[16];
	size_t n;
};

static void cut(struct sent *s, uint32_t nodeid, uint32_t msg_id, const void *msg, size_t len)
{
	size_t i;

	s->nodeid = nodeid;
	s->n = cluster_wire_chunks(len, TEST_CHUNK);
	ck_assert_uint_le(s->n, 16);
	for (i = 0; i < s->n; i++) {
		s->lens[i] = cluster_wire_chunk_build(s->msgs[i], CLUSTER_WIRE_KIND_PROPOSAL, msg_id,
						      msg, len, TEST_CHUNK, i);
	}
}

START_TEST(test_reassembly_interleaved)
{
	struct cluster_rx rx;
	struct cluster_rx_msg m;
	static struct sent a, b;
	uint8_t big[250], small[7] = "hello!";
	size_t i;

	for (i = 0; i < sizeof(big); i++) {
		big[i] = (uint8_t)(i * 7 + 3);
	}
	cut(&a, 1, 1, big, sizeof(big));	/* three messages: 100 + 100 + 50 */
	cut(&b, 2, 1, small, sizeof(small));
	ck_assert_uint_eq(a.n, 3);
	cluster_rx_init(&rx);
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[0], a.lens[0], &m), 0);
	/* Node 2's one-message proposal completes first. */
	ck_assert_int_eq(cluster_rx_feed(&rx, 2, 20, b.msgs[0], b.lens[0], &m), 1);
	ck_assert_uint_eq(m.len, sizeof(small));
	ck_assert_int_eq(memcmp(m.data, small, sizeof(small)), 0);
	ck_assert_ptr_null(m.owned);
	cluster_rx_msg_release(&m);
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[1], a.lens[1], &m), 0);
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[2], a.lens[2], &m), 1);
	ck_assert_uint_eq(m.len, sizeof(big));
	ck_assert_int_eq(memcmp(m.data, big, sizeof(big)), 0);
	cluster_rx_msg_release(&m);
	ck_assert_ptr_null(rx.partials);	/* nothing left half-assembled */
	cluster_rx_fini(&rx);
}
END_TEST

START_TEST(test_joined_midway_and_leave)
{
	struct cluster_rx rx;
	struct cluster_rx_msg m;
	static struct sent a, a2;
	uint8_t big[250] = { 1 }, other[150] = { 2 };

	cut(&a, 1, 1, big, sizeof(big));
	cut(&a2, 1, 2, other, sizeof(other));
	cluster_rx_init(&rx);
	/* This node joined after the first message of node 1's proposal. */
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[1], a.lens[1], &m), -ENOENT);
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[2], a.lens[2], &m), -ENOENT);
	ck_assert_ptr_null(rx.partials);
	/* The next proposal from the same sender arrives whole. */
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a2.msgs[0], a2.lens[0], &m), 0);
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a2.msgs[1], a2.lens[1], &m), 1);
	ck_assert_int_eq(memcmp(m.data, other, sizeof(other)), 0);
	cluster_rx_msg_release(&m);
	/* A sender that leaves mid-proposal: its part is forgotten. */
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[0], a.lens[0], &m), 0);
	cluster_rx_drop(&rx, 1, 10);
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[1], a.lens[1], &m), -ENOENT);
	/* Same node id, another process: a separate sender. */
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[0], a.lens[0], &m), 0);
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 11, a2.msgs[1], a2.lens[1], &m), -ENOENT);
	cluster_rx_drop_all(&rx);
	ck_assert_ptr_null(rx.partials);
	cluster_rx_fini(&rx);
}
END_TEST

START_TEST(test_bad_chunks)
{
	struct cluster_rx rx;
	struct cluster_rx_msg m;
	static struct sent a;
	uint8_t big[250] = { 3 }, bad[TEST_CHUNK];
	struct cluster_wire_hdr h = { .kind = CLUSTER_WIRE_KIND_PROPOSAL, .msg_id = 9 };

	cut(&a, 1, 1, big, sizeof(big));
	cluster_rx_init(&rx);
	/* Out of order: the partial is dropped, the rest is then unknown. */
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[0], a.lens[0], &m), 0);
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[2], a.lens[2], &m), -EBADMSG);
	ck_assert_int_eq(cluster_rx_feed(&rx, 1, 10, a.msgs[1], a.lens[1], &m), -ENOENT);
	/* A chunk reaching past the total, a zero total, a header alone. */
	h.total = 10;
	h.offset = 5;
	cluster_wire_hdr_encode(bad, &h);
	ck_assert_int_eq(cluster_rx_feed(&rx, 2, 1, bad, CLUSTER_WIRE_HDR_LEN + 6, &m), -EBADMSG);
	h.total = 0;
	h.offset = 0;
	cluster_wire_hdr_encode(bad, &h);
	ck_assert_int_eq(cluster_rx_feed(&rx, 2, 1, bad, CLUSTER_WIRE_HDR_LEN + 1, &m), -EBADMSG);
	h.total = 4;
	cluster_wire_hdr_encode(bad, &h);
	ck_assert_int_eq(cluster_rx_feed(&rx, 2, 1, bad, CLUSTER_WIRE_HDR_LEN, &m), -EBADMSG);
	h.total = CLUSTER_WIRE_MSG_MAX + 1;
	cluster_wire_hdr_encode(bad, &h);
	ck_assert_int_eq(cluster_rx_feed(&rx, 2, 1, bad, TEST_CHUNK, &m), -EBADMSG);
	ck_assert_int_eq(cluster_rx_feed(&rx, 2, 1, "junk", 4, &m), -EBADMSG);
	ck_assert_ptr_null(rx.partials);
	cluster_rx_fini(&rx);
}
END_TEST

/*
 * Three senders' proposals of random sizes, their messages interleaved at
 * random (each sender's in order, as CPG keeps them): two receivers fed the
 * same agreed stream complete every proposal at its last message, whole,
 * and at the same point.
 */
START_TEST(test_agreed_completion)
{
	enum { SENDERS = 3, PER_SENDER = 40 };
	static struct sent props[SENDERS][PER_SENDER];
	static uint8_t payload[SENDERS][PER_SENDER][1000];
	size_t plen[SENDERS][PER_SENDER], next_prop[SENDERS] = { 0 }, next_msg[SENDERS] = { 0 };
	struct cluster_rx rx1, rx2;
	size_t completed = 0;
	unsigned int seed = 12345;
	size_t s, p, left = 0;

	for (s = 0; s < SENDERS; s++) {
		for (p = 0; p < PER_SENDER; p++) {
			size_t i;

			plen[s][p] = 1 + (size_t)rand_r(&seed) % 1000;
			for (i = 0; i < plen[s][p]; i++) {
				payload[s][p][i] = (uint8_t)rand_r(&seed);
			}
			cut(&props[s][p], (uint32_t)s + 1, (uint32_t)p + 1, payload[s][p],
			    plen[s][p]);
			left += props[s][p].n;
		}
	}
	cluster_rx_init(&rx1);
	cluster_rx_init(&rx2);
	while (left > 0) {
		struct cluster_rx_msg m1, m2;
		struct sent *cur;
		int r1, r2;

		s = (size_t)rand_r(&seed) % SENDERS;
		if (next_prop[s] == PER_SENDER) {
			continue;
		}
		cur = &props[s][next_prop[s]];
		r1 = cluster_rx_feed(&rx1, cur->nodeid, 7, cur->msgs[next_msg[s]],
				     cur->lens[next_msg[s]], &m1);
		r2 = cluster_rx_feed(&rx2, cur->nodeid, 7, cur->msgs[next_msg[s]],
				     cur->lens[next_msg[s]], &m2);
		left--;
		ck_assert_int_eq(r1, r2);
		if (++next_msg[s] < cur->n) {
			ck_assert_int_eq(r1, 0);
			continue;
		}
		ck_assert_int_eq(r1, 1);
		completed++;
		ck_assert_uint_eq(m1.len, plen[s][next_prop[s]]);
		ck_assert_int_eq(memcmp(m1.data, payload[s][next_prop[s]], m1.len), 0);
		ck_assert_int_eq(memcmp(m2.data, m1.data, m1.len), 0);
		cluster_rx_msg_release(&m1);
		cluster_rx_msg_release(&m2);
		next_msg[s] = 0;
		next_prop[s]++;
	}
	ck_assert_uint_eq(completed, SENDERS * PER_SENDER);
	cluster_rx_fini(&rx1);
	cluster_rx_fini(&rx2);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("quorum_wire");
	TCase *tc = tcase_create("wire");

	tcase_add_test(tc, test_hdr_roundtrip);
	tcase_add_test(tc, test_chunk_count);
	tcase_add_test(tc, test_backoff);
	tcase_add_test(tc, test_reassembly_interleaved);
	tcase_add_test(tc, test_joined_midway_and_leave);
	tcase_add_test(tc, test_bad_chunks);
	tcase_add_test(tc, test_agreed_completion);
	suite_add_tcase(s, tc);
	return s;
}
