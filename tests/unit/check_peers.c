// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * check_peers: daemon/peers.c, the member table as this node presents it,
 * with the real ALUA table, a real SCSI target (null LU, two nexuses)
 * borrowing it, a real iSCSI server answering SendTargets for that target,
 * and the real loopback transport calling daemon_peers() and the serving
 * wiring of daemon/main.c. Another node's entries (which only the Corosync
 * transport produces, and no corosync runs here) are given to
 * daemon_peers() as that transport would give them.
 *
 * - Start-up: this node announces its portals (numeric form) and is
 *   presented Unavailable and unlisted until the serving signal, then
 *   Active/Optimized and listed.
 * - Other nodes: one group per node of the table (id = relative port = node
 *   id, preferred), Active/Optimized only while a member and serving; their
 *   portals listed by SendTargets with TPGT = node id while they serve; a
 *   change of any of that raises 2A/06 on this node's nexuses; a new summary
 *   alone changes nothing; a node gone from the table loses its group and
 *   portals; an id above 65535 and a portal that is not a numeric address
 *   are left out.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/check_main.h"
#include "daemon/daemon.h"
#include "daemon/iscsi/iscsi_int.h"
#include "quorum/cluster.h"
#include "tests/unit/check_scsi_util.h"

#define NULL_SIZE (16u << 20)
#define HERE_ADDR "192.0.2.1"
#define TARGET	  "iqn.2026-11.org.quorate:test"
#define T_INIT	  "iqn.2026-11.org.quorate:st"
#define HERE	  "TargetAddress=192.0.2.1:3260,1\n"
#define NODE2	  "TargetAddress=198.51.100.2:3260,2\nTargetAddress=[2001:db8::2]:3261,2\n"
#define NODE4	  "TargetAddress=198.51.100.4:3260,4\n"

static struct daemon d;
static struct iscsi_server *server;
static unsigned int serving_calls;
static uint8_t answer_buf[ISCSI_TEXT_ACCUM_MAX];
static char answer[ISCSI_TEXT_ACCUM_MAX];

static void on_deliver(uint64_t seq, uint32_t origin, const void *msg, size_t len, void *ctx)
{
	(void)seq;
	(void)origin;
	(void)msg;
	(void)len;
	(void)ctx;
}

/* What daemon_serving() (daemon/main.c) does besides logging. */
static void on_serving(bool serving, void *ctx)
{
	(void)serving;
	daemon_peers_refresh(ctx);
	serving_calls++;
}

static const struct cluster_callbacks cb = {
	.deliver = on_deliver,
	.serving = on_serving,
	.peers = daemon_peers,
};

/* TEST UNIT READY until no unit attention is left (the group may be Unavailable). */
static void drain_ua(struct scsi_nexus *nexus)
{
	static const uint8_t tur[6] = {0};
	struct scsi_task t;
	uint16_t asc;
	uint8_t key;

	for (int i = 0; i < 16; i++) {
		t_run(&t, nexus, 0, tur, sizeof(tur), NULL, 0, 0);
		if (t.status == SCSI_STATUS_GOOD) {
			return;
		}
		t_sense(&t, &key, &asc);
		if (key != SENSE_KEY_UNIT_ATTENTION) {
			return;
		}
	}
	ck_abort_msg("unit attentions do not clear");
}

/*
 * As quorated starts: the table with this node's group Unavailable, the
 * target with its LU borrowing it, the iSCSI server serving the target,
 * the loopback transport, then the node's portals announced.
 */
static void setup(void)
{
	struct iscsi_server_config icfg = {.tpgt = 1};
	struct scsi_lu_config cfg;

	t_setup_target();
	scsi_alua_set_serving(env.alua, false);
	t_lu_config(&cfg, "null", NULL, NULL_SIZE);
	ck_assert_int_eq(scsi_target_add_lu(env.target, 0, &cfg), 0);
	t_add_nexuses();
	ck_assert_int_eq(iscsi_server_create(env.loop, &icfg, &server), 0);
	ck_assert_int_eq(iscsi_target_register(server, env.target, NULL), 0);

	memset(&d, 0, sizeof(d));
	d.cfg.node_id = 1;
	d.cfg.iscsi.tpgt = 1;
	snprintf(d.cfg.node_name, sizeof(d.cfg.node_name), "here");
	d.loop = env.loop;
	d.alua = env.alua;
	d.iscsi = server;
	/* The configured portal as daemon_portals_open() records it (no socket here). */
	ck_assert_ptr_nonnull(daemon_portal_listened(&d, HERE_ADDR ":3260"));
	serving_calls = 0;
	ck_assert_int_eq(cluster_loopback_create(env.loop, 1, 0, &cb, &d, &d.cluster), 0);
	drain_ua(env.n1);
	drain_ua(env.n2);
}

static void teardown(void)
{
	cluster_destroy(d.cluster);
	daemon_peers_free(&d);
	daemon_portals_free(&d);
	iscsi_server_destroy(server);
	t_teardown();
}

/* SendTargets=All for T_INIT on a connection that came in at HERE_ADDR:3260. */
static const char *sendtargets(void)
{
	struct sockaddr_storage local;
	struct sockaddr_in *in = (struct sockaddr_in *)(void *)&local;
	struct iscsi_text_builder b;

	memset(&local, 0, sizeof(local));
	in->sin_family = AF_INET;
	in->sin_port = htons(3260);
	ck_assert_int_eq(inet_pton(AF_INET, HERE_ADDR, &in->sin_addr), 1);
	iscsi_text_builder_init(&b, answer_buf, sizeof(answer_buf));
	ck_assert_int_eq(iscsi_discovery_sendtargets(server, &local, T_INIT,
						     ISCSI_SESSION_DISCOVERY, "", "All", &b),
			 0);
	for (uint32_t i = 0; i < b.len; i++) {
		answer[i] = answer_buf[i] == '\0' ? '\n' : (char)answer_buf[i];
	}
	answer[b.len] = '\0';
	return answer;
}

/* REPORT TARGET PORT GROUPS through n1: the descriptors after the 4-byte header. */
static void expect_rtpg(const uint8_t *desc, size_t len)
{
	static const uint8_t cdb[12] = {0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
	struct scsi_task t;

	t_run(&t, env.n1, 0, cdb, sizeof(cdb), NULL, 0, 256);
	ck_assert_int_eq(t.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(t.data_in_len, 4 + len);
	ck_assert_uint_eq(get_be32(env.buf), len);
	ck_assert_mem_eq(env.buf + 4, desc, len);
}

static void expect_ua(struct scsi_nexus *nexus, bool ua)
{
	static const uint8_t tur[6] = {0};
	struct scsi_task t;

	t_run(&t, nexus, 0, tur, sizeof(tur), NULL, 0, 0);
	if (ua) {
		t_expect_sense(&t, SENSE_KEY_UNIT_ATTENTION, ASC_ASYMMETRIC_ACCESS_STATE_CHANGED);
		drain_ua(nexus);
	} else if (t.status != SCSI_STATUS_GOOD) {
		t_expect_sense(&t, SENSE_KEY_NOT_READY, ASC_LUN_NOT_ACCESSIBLE_TPG_UNAVAILABLE);
	}
}

/* A group descriptor with one port: PREF|state, AO_SUP|U_SUP, implicit status. */
#define T_RTPG_GROUP(pref_state, tpg, port)                                                        \
	(pref_state), 0x09, 0x00, (tpg), 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, (port)

/* One entry of the member table as a transport reports it; portals NULL-ended. */
static struct cluster_peer peer(uint32_t id, bool member, bool serving, ...)
{
	struct cluster_peer p = {.node_id = id, .member = member, .serving = serving};
	const char *portal;
	va_list ap;

	snprintf(p.name, sizeof(p.name), "node%u", id);
	va_start(ap, serving);
	while ((portal = va_arg(ap, const char *)) != NULL) {
		snprintf(p.portals[p.portal_count++], sizeof(p.portals[0]), "%s", portal);
	}
	va_end(ap);
	return p;
}

/* This node's entry as the loopback keeps it. */
static struct cluster_peer self(void)
{
	const struct cluster_peer *peers;
	size_t n = cluster_peers(d.cluster, &peers);

	for (size_t i = 0; i < n; i++) {
		if (peers[i].self) {
			return peers[i];
		}
	}
	ck_abort_msg("this node is not in its member table");
	return peers[0];
}

/* Start-up: announced, then Unavailable and unlisted until the serving signal. */
START_TEST(test_startup_follows_serving)
{
	static const uint8_t own_u[] = {T_RTPG_GROUP(0x83, 1, 1)};
	static const uint8_t own_ao[] = {T_RTPG_GROUP(0x80, 1, 1)};
	struct cluster_peer me;

	ck_assert_int_eq(daemon_peers_announce(&d), 0);
	me = self();
	ck_assert(me.member);
	ck_assert_uint_eq(me.portal_count, 1);
	ck_assert_str_eq(me.portals[0], HERE_ADDR ":3260");
	expect_rtpg(own_u, sizeof(own_u));
	ck_assert_str_eq(sendtargets(), "TargetName=" TARGET "\n");

	t_loop_pass();
	ck_assert(cluster_is_serving(d.cluster));
	ck_assert_uint_eq(serving_calls, 1);
	expect_ua(env.n1, true);
	expect_ua(env.n2, true);
	expect_rtpg(own_ao, sizeof(own_ao));
	ck_assert_str_eq(sendtargets(), "TargetName=" TARGET "\n" HERE);

	/* Held back again: Unavailable and unlisted, 2A/06. */
	ck_assert_int_eq(cluster_loopback_set_serving(d.cluster, false), 0);
	t_loop_pass();
	ck_assert_uint_eq(serving_calls, 2);
	expect_ua(env.n1, true);
	expect_rtpg(own_u, sizeof(own_u));
	ck_assert_str_eq(sendtargets(), "TargetName=" TARGET "\n");
}
END_TEST

/* Other nodes: groups and portals follow the table; UAs on every change only. */
START_TEST(test_other_nodes)
{
	static const uint8_t four[] = {
		T_RTPG_GROUP(0x80, 1, 1), /* this node, serving */
		T_RTPG_GROUP(0x80, 2, 2), /* member, serving */
		T_RTPG_GROUP(0x83, 3, 3), /* not a member (its last word: serving) */
		T_RTPG_GROUP(0x83, 4, 4), /* member, not serving */
	};
	static const uint8_t four_2u[] = {
		T_RTPG_GROUP(0x80, 1, 1),
		T_RTPG_GROUP(0x83, 2, 2),
		T_RTPG_GROUP(0x83, 3, 3),
		T_RTPG_GROUP(0x80, 4, 4),
	};
	static const uint8_t three[] = {
		T_RTPG_GROUP(0x80, 1, 1),
		T_RTPG_GROUP(0x83, 2, 2),
		T_RTPG_GROUP(0x80, 4, 4),
	};
	static const uint8_t three_1u[] = {
		T_RTPG_GROUP(0x83, 1, 1),
		T_RTPG_GROUP(0x83, 2, 2),
		T_RTPG_GROUP(0x80, 4, 4),
	};
	struct cluster_peer t[4];

	ck_assert_int_eq(daemon_peers_announce(&d), 0);
	t_loop_pass();
	expect_ua(env.n1, true);
	expect_ua(env.n2, true);

	t[0] = self();
	t[1] = peer(2, true, true, "198.51.100.2:3260", "[2001:db8::2]:3261", NULL);
	t[2] = peer(3, false, true, "198.51.100.3:3260", NULL);
	t[3] = peer(4, true, false, "198.51.100.4:3260", NULL);
	daemon_peers(t, 4, &d);
	expect_ua(env.n1, true);
	expect_ua(env.n2, true);
	expect_rtpg(four, sizeof(four));
	ck_assert_str_eq(sendtargets(), "TargetName=" TARGET "\n" HERE NODE2);

	/* New summaries only (every delivery brings some): nothing changes, no UA. */
	t[1].applied_seq = 17;
	t[1].epoch = 3;
	t[1].digest[0] = 0xab;
	daemon_peers(t, 4, &d);
	expect_ua(env.n1, false);
	expect_ua(env.n2, false);

	/* Node 2 stops serving, node 4 starts: 2A/06, groups and portals follow. */
	t[1].serving = false;
	t[3].serving = true;
	daemon_peers(t, 4, &d);
	expect_ua(env.n1, true);
	expect_ua(env.n2, true);
	expect_rtpg(four_2u, sizeof(four_2u));
	ck_assert_str_eq(sendtargets(), "TargetName=" TARGET "\n" HERE NODE4);

	/* Node 3 leaves the node list: its group goes, 2A/06. */
	t[2] = t[3];
	daemon_peers(t, 3, &d);
	expect_ua(env.n1, true);
	expect_rtpg(three, sizeof(three));
	ck_assert_str_eq(sendtargets(), "TargetName=" TARGET "\n" HERE NODE4);

	/*
	 * This node stops serving: its group follows the serving signal at
	 * once; the table the transport then reports (here: the loopback's,
	 * this node alone, then the full one again) keeps the others.
	 */
	ck_assert_int_eq(cluster_loopback_set_serving(d.cluster, false), 0);
	t_loop_pass();
	ck_assert_uint_eq(scsi_alua_local_state(env.alua), SCSI_ALUA_UNAVAILABLE);
	t[0] = self();
	ck_assert(!t[0].serving);
	daemon_peers(t, 3, &d);
	expect_ua(env.n1, true);
	expect_rtpg(three_1u, sizeof(three_1u));
	ck_assert_str_eq(sendtargets(), "TargetName=" TARGET "\n" NODE4);
}
END_TEST

/* What cannot be presented is left out; the rest still is. */
START_TEST(test_unpresentable_left_out)
{
	static const uint8_t two[] = {T_RTPG_GROUP(0x80, 1, 1), T_RTPG_GROUP(0x80, 2, 2)};
	struct cluster_peer t[3];

	ck_assert_int_eq(daemon_peers_announce(&d), 0);
	t_loop_pass();
	drain_ua(env.n1);
	t[0] = self();
	/* A host name (resolving it would block the loop) and a portal without a port. */
	t[1] = peer(2, true, true, "storage2.example:3260", "198.51.100.2", "198.51.100.2:0",
		    "198.51.100.2:3260", NULL);
	/* A node id that cannot be a 16-bit target port group. */
	t[2] = peer(70000, true, true, "198.51.100.7:3260", NULL);
	daemon_peers(t, 3, &d);
	expect_ua(env.n1, true);
	expect_rtpg(two, sizeof(two));
	ck_assert_str_eq(sendtargets(),
			 "TargetName=" TARGET "\n" HERE "TargetAddress=198.51.100.2:3260,2\n");
}
END_TEST

/* Portals are announced in numeric form, whatever the config says. */
START_TEST(test_announce_numeric)
{
	struct cluster_peer me;

	daemon_portals_free(&d);
	ck_assert_ptr_nonnull(daemon_portal_listened(&d, "[2001:DB8::1]:3262"));
	ck_assert_ptr_nonnull(daemon_portal_listened(&d, "localhost:3263"));
	ck_assert_ptr_nonnull(daemon_portal_listened(&d, HERE_ADDR ":3264"));
	ck_assert_int_eq(daemon_peers_announce(&d), 0);
	me = self();
	ck_assert_uint_eq(me.portal_count, 3);
	ck_assert_str_eq(me.portals[0], "[2001:db8::1]:3262");
	ck_assert_msg(strcmp(me.portals[1], "127.0.0.1:3263") == 0 ||
			      strcmp(me.portals[1], "[::1]:3263") == 0,
		      "localhost announced as %s", me.portals[1]);
	ck_assert_str_eq(me.portals[2], HERE_ADDR ":3264");
}
END_TEST

/* A free TCP port on 127.0.0.1 (bound and closed). */
static unsigned int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/*
 * Run-time portals of this node (daemon/portals.c): one it can listen on
 * is listened on, announced and listed by SendTargets at once, and gone
 * from both when removed; one it cannot bind (an address of no host here)
 * is kept as not listening with the error and neither announced nor listed.
 */
START_TEST(test_runtime_portals)
{
	const struct daemon_portal *p;
	char addr[32], row[64], want[256];

	ck_assert_int_eq(daemon_peers_announce(&d), 0);
	t_loop_pass();
	d.portals_open = true;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", free_port());
	daemon_portal_runtime(&d, addr, true);
	p = daemon_portal_find(&d, addr);
	ck_assert_ptr_nonnull(p);
	ck_assert(p->runtime && p->listening && !p->config);
	ck_assert_uint_eq(self().portal_count, 2);
	ck_assert_str_eq(self().portals[1], addr);
	snprintf(row, sizeof(row), "TargetAddress=%s,1\n", addr);
	snprintf(want, sizeof(want), "TargetName=%s\n%s%s", TARGET, HERE, row);
	ck_assert_str_eq(sendtargets(), want);

	daemon_portal_runtime(&d, "198.51.100.9:3260", true);
	p = daemon_portal_find(&d, "198.51.100.9:3260");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->runtime && !p->listening);
	ck_assert_int_eq(p->error, -EADDRNOTAVAIL);
	ck_assert_uint_eq(self().portal_count, 2);
	ck_assert_str_eq(sendtargets(), want);

	daemon_portal_runtime(&d, addr, false);
	ck_assert_ptr_null(daemon_portal_find(&d, addr));
	ck_assert_uint_eq(self().portal_count, 1);
	ck_assert_str_eq(sendtargets(), "TargetName=" TARGET "\n" HERE);
	daemon_portal_runtime(&d, "198.51.100.9:3260", false);
	ck_assert_ptr_null(daemon_portal_find(&d, "198.51.100.9:3260"));
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("peers");
	TCase *tc = tcase_create("peers");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_startup_follows_serving);
	tcase_add_test(tc, test_other_nodes);
	tcase_add_test(tc, test_unpresentable_left_out);
	tcase_add_test(tc, test_announce_numeric);
	tcase_add_test(tc, test_runtime_portals);
	suite_add_tcase(s, tc);
	return s;
}
