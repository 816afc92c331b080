// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The portal table behind SendTargets (daemon/iscsi/discovery.c): the
 * answer a connection gets, byte for byte, for a server with real targets
 * and ACLs and a table fed as the daemon feeds it, including a second
 * node's portals. The server is real (on a qb_loop, never run) and so are
 * its targets; the connection's local address is given as the socket would
 * give it. SendTargets over a socket is covered by check_iscsiconn,
 * int_discovery.sh and int_chap_acl.sh (two portals).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qb/qbloop.h>

#include "tests/unit/check_main.h"
#include "daemon/iscsi/iscsi_int.h"
#include "daemon/scsi/scsi.h"

#define TGT_A	   "iqn.2026-12.org.quorate:a"
#define TGT_B	   "iqn.2026-12.org.quorate:b"
#define INIT_ONE   "iqn.2026-12.org.quorate:init-one"
#define INIT_TWO   "iqn.2026-12.org.quorate:init-two"
#define LOCAL_NODE 1u
#define OTHER_NODE 2u
/* The portals feed_two_nodes() gives this node and the other one. */
#define HERE  "TargetAddress=192.0.2.1:3260,1\n"
#define THERE "TargetAddress=198.51.100.2:3260,2\nTargetAddress=[2001:db8::2]:3261,2\n"

static qb_loop_t *loop;
static struct iscsi_server *server;
static struct scsi_target *tgt_a, *tgt_b;
static uint8_t answer_buf[ISCSI_TEXT_ACCUM_MAX];
static char answer[ISCSI_TEXT_ACCUM_MAX];

static void setup(void)
{
	struct scsi_port_info port = {.rel_port_id = LOCAL_NODE, .tpg_id = LOCAL_NODE};
	struct iscsi_server_config cfg = {.tpgt = LOCAL_NODE};

	loop = qb_loop_create();
	ck_assert_ptr_nonnull(loop);
	ck_assert_int_eq(scsi_target_create(loop, TGT_A, &port, &tgt_a), 0);
	ck_assert_int_eq(scsi_target_create(loop, TGT_B, &port, &tgt_b), 0);
	ck_assert_int_eq(iscsi_server_create(loop, &cfg, &server), 0);
	ck_assert_int_eq(iscsi_target_register(server, tgt_a, NULL), 0);
	ck_assert_int_eq(iscsi_target_register(server, tgt_b, NULL), 0);
}

static void teardown(void)
{
	iscsi_server_destroy(server);
	scsi_target_destroy(tgt_a);
	scsi_target_destroy(tgt_b);
	qb_loop_destroy(loop);
}

static struct sockaddr_storage addr4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;

	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	return ss;
}

/*
 * The SendTargets=@value answer for @initiator on a connection that came in
 * at @local, with "\n" for each NUL so that it compares as a string.
 */
static const char *ask(const struct sockaddr_storage *local, const char *initiator,
		       enum iscsi_session_type type, const char *session_target, const char *value)
{
	struct iscsi_text_builder b;

	iscsi_text_builder_init(&b, answer_buf, sizeof(answer_buf));
	ck_assert_int_eq(iscsi_discovery_sendtargets(server, local, initiator, type, session_target,
						     value, &b),
			 0);
	ck_assert(!b.overflow);
	for (uint32_t i = 0; i < b.len; i++) {
		answer[i] = answer_buf[i] == '\0' ? '\n' : (char)answer_buf[i];
	}
	answer[b.len] = '\0';
	return answer;
}

static const char *ask_all(const struct sockaddr_storage *local, const char *initiator)
{
	return ask(local, initiator, ISCSI_SESSION_DISCOVERY, "", "All");
}

/* This node on 192.0.2.1:3260 and the other on 198.51.100.2:3260 and [2001:db8::2]:3261. */
static void feed_two_nodes(bool other_serving)
{
	const struct iscsi_discovery_portal p[] = {
		{LOCAL_NODE, "192.0.2.1:3260", LOCAL_NODE, true},
		{OTHER_NODE, "198.51.100.2:3260", OTHER_NODE, other_serving},
		{OTHER_NODE, "[2001:db8::2]:3261", OTHER_NODE, other_serving},
	};

	ck_assert_int_eq(iscsi_discovery_set_portals(server, LOCAL_NODE, p, 3), 0);
}

/* Not fed: the server's own portals, at the address the connection came in on. */
START_TEST(test_unfed_uses_own_portals)
{
	struct sockaddr_storage local = addr4("127.0.0.1", 17655);

	ck_assert_str_eq(ask_all(&local, INIT_ONE), "TargetName=" TGT_A "\n"
						    "TargetAddress=127.0.0.1:17655,1\n"
						    "TargetName=" TGT_B "\n"
						    "TargetAddress=127.0.0.1:17655,1\n");
}
END_TEST

/* A second node's portals are listed after this node's, with their TPGT. */
START_TEST(test_other_node_listed_with_its_tpgt)
{
	struct sockaddr_storage local = addr4("192.0.2.1", 3260);

	feed_two_nodes(true);
	ck_assert_str_eq(ask_all(&local, INIT_ONE),
			 "TargetName=" TGT_A "\n" HERE THERE "TargetName=" TGT_B "\n" HERE THERE);
	/* One target by name (Discovery session) and the session's own (Normal). */
	ck_assert_str_eq(ask(&local, INIT_ONE, ISCSI_SESSION_DISCOVERY, "", TGT_B),
			 "TargetName=" TGT_B "\n" HERE THERE);
	ck_assert_str_eq(ask(&local, INIT_ONE, ISCSI_SESSION_NORMAL, TGT_A, ""),
			 "TargetName=" TGT_A "\n" HERE THERE);
}
END_TEST

/* A node that is not serving is not listed; serving again, it is. */
START_TEST(test_not_serving_not_listed)
{
	struct sockaddr_storage local = addr4("192.0.2.1", 3260);
	const char *only_here = "TargetName=" TGT_A "\n" HERE "TargetName=" TGT_B "\n" HERE;

	feed_two_nodes(false);
	ck_assert_str_eq(ask_all(&local, INIT_ONE), only_here);
	ck_assert_int_eq(iscsi_discovery_set_serving(server, OTHER_NODE, true), 0);
	ck_assert_ptr_nonnull(strstr(ask_all(&local, INIT_ONE), "198.51.100.2:3260,2"));
	ck_assert_int_eq(iscsi_discovery_set_serving(server, OTHER_NODE, false), 0);
	ck_assert_str_eq(ask_all(&local, INIT_ONE), only_here);
	ck_assert_int_eq(iscsi_discovery_set_serving(server, 7, true), -ENOENT);

	/* This node not serving: only the other node's portals. */
	ck_assert_int_eq(iscsi_discovery_set_serving(server, OTHER_NODE, true), 0);
	ck_assert_int_eq(iscsi_discovery_set_serving(server, LOCAL_NODE, false), 0);
	ck_assert_str_eq(ask(&local, INIT_ONE, ISCSI_SESSION_DISCOVERY, "", TGT_A),
			 "TargetName=" TGT_A "\n" THERE);
}
END_TEST

/*
 * The daemon replaces the whole table on every change of the member table
 * (daemon/peers.c): a node left out of the new feed is no longer listed,
 * the others are, in the order fed, each with its own TPGT, and a serving
 * flag of the new feed counts whatever the previous one said.
 */
START_TEST(test_refeed_replaces_nodes)
{
	struct sockaddr_storage local = addr4("192.0.2.1", 3260);
	const struct iscsi_discovery_portal three[] = {
		{LOCAL_NODE, "192.0.2.1:3260", LOCAL_NODE, true},
		{OTHER_NODE, "198.51.100.2:3260", OTHER_NODE, true},
		{OTHER_NODE, "[2001:db8::2]:3261", OTHER_NODE, true},
		{5, "198.51.100.5:3260", 5, true},
	};
	const struct iscsi_discovery_portal node2_gone[] = {
		{LOCAL_NODE, "192.0.2.1:3260", LOCAL_NODE, true},
		{5, "198.51.100.5:3260", 5, false},
		{7, "198.51.100.7:3270", 7, true},
	};

	ck_assert_int_eq(iscsi_discovery_set_portals(server, LOCAL_NODE, three, 4), 0);
	ck_assert_str_eq(ask(&local, INIT_ONE, ISCSI_SESSION_DISCOVERY, "", TGT_A),
			 "TargetName=" TGT_A "\n" HERE THERE "TargetAddress=198.51.100.5:3260,5\n");
	ck_assert_int_eq(iscsi_discovery_set_portals(server, LOCAL_NODE, node2_gone, 3), 0);
	ck_assert_str_eq(ask(&local, INIT_ONE, ISCSI_SESSION_DISCOVERY, "", TGT_A),
			 "TargetName=" TGT_A "\n" HERE "TargetAddress=198.51.100.7:3270,7\n");
	ck_assert_int_eq(iscsi_discovery_set_serving(server, OTHER_NODE, true), -ENOENT);
}
END_TEST

/*
 * Portal strings as the daemon announces them to other nodes and accepts
 * them from others (daemon/peers.c): the numeric form of a listening
 * portal, and which strings need no name resolution.
 */
START_TEST(test_portal_strings)
{
	static const char *const numeric[] = {
		"192.0.2.1:3260", "[2001:db8::2]:3261", "0.0.0.0:1", "[::]:65535",
	};
	static const char *const not_numeric[] = {
		"storage.example:3260", "192.0.2.1", "192.0.2.1:", "192.0.2.1:0",
		"192.0.2.1:65536", "192.0.2.1:32x", "[2001:db8::2]3260", "[192.0.2.1]:3260",
		"2001:db8::2:3260", ":3260", "",
	};
	char out[ISCSI_ADDR_STR_MAX];

	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
		ck_assert_msg(iscsi_portal_is_numeric(numeric[i]), "%s", numeric[i]);
		ck_assert_int_eq(iscsi_portal_numeric(numeric[i], out, sizeof(out)), 0);
		ck_assert_str_eq(out, numeric[i]);
	}
	for (size_t i = 0; i < sizeof(not_numeric) / sizeof(not_numeric[0]); i++) {
		ck_assert_msg(!iscsi_portal_is_numeric(not_numeric[i]), "%s", not_numeric[i]);
	}
	ck_assert(!iscsi_portal_is_numeric(NULL));
	ck_assert_int_eq(iscsi_portal_numeric("[2001:DB8:0::2]:3261", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "[2001:db8::2]:3261");
	ck_assert_int_eq(iscsi_portal_numeric("localhost:3262", out, sizeof(out)), 0);
	ck_assert_msg(strcmp(out, "127.0.0.1:3262") == 0 || strcmp(out, "[::1]:3262") == 0, "%s",
		      out);
	ck_assert_int_eq(iscsi_portal_numeric("192.0.2.1", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(iscsi_portal_numeric("192.0.2.1:3260", out, 8), -ENAMETOOLONG);
}
END_TEST

/* The ACL still hides targets, whatever the portals. */
START_TEST(test_acl_hides_targets)
{
	struct sockaddr_storage local = addr4("192.0.2.1", 3260);
	const char *b_only = "TargetName=" TGT_B "\n" HERE THERE;

	feed_two_nodes(true);
	ck_assert_int_eq(iscsi_target_acl_add(server, TGT_A, INIT_TWO), 0);
	ck_assert_str_eq(ask_all(&local, INIT_ONE), b_only);
	ck_assert_str_eq(ask(&local, INIT_ONE, ISCSI_SESSION_DISCOVERY, "", TGT_A), "");
	ck_assert_ptr_nonnull(strstr(ask_all(&local, INIT_TWO), "TargetName=" TGT_A "\n"));
	/* No initiator known: nothing is visible. */
	ck_assert_str_eq(ask_all(&local, NULL), "");
}
END_TEST

/*
 * Wildcard portals: this node's is reported at the address the connection
 * came in on, with the wildcard portal's port; another node's is not
 * reported at all (no address of it is known to be reachable).
 */
START_TEST(test_wildcard_portals)
{
	struct sockaddr_storage local = addr4("203.0.113.7", 3260);
	const struct iscsi_discovery_portal p[] = {
		{LOCAL_NODE, "0.0.0.0:3260", LOCAL_NODE, true},
		{LOCAL_NODE, "[::]:3261", LOCAL_NODE, true},
		{OTHER_NODE, "0.0.0.0:3260", OTHER_NODE, true},
		{OTHER_NODE, "198.51.100.2:3262", OTHER_NODE, true},
	};

	ck_assert_int_eq(iscsi_discovery_set_portals(server, LOCAL_NODE, p, 4), 0);
	ck_assert_str_eq(ask(&local, INIT_ONE, ISCSI_SESSION_DISCOVERY, "", TGT_A),
			 "TargetName=" TGT_A "\n"
			 "TargetAddress=203.0.113.7:3260,1\n"
			 "TargetAddress=203.0.113.7:3261,1\n"
			 "TargetAddress=198.51.100.2:3262,2\n");
}
END_TEST

/* A bad feed is refused whole and the previous table stays. */
START_TEST(test_bad_feed_keeps_table)
{
	struct sockaddr_storage local = addr4("192.0.2.1", 3260);
	const struct iscsi_discovery_portal wrong_tpgt[] = {
		{OTHER_NODE, "198.51.100.9:3260", OTHER_NODE, true},
		{LOCAL_NODE, "192.0.2.1:3260", 5, true},
	};
	const struct iscsi_discovery_portal bad_addr[] = {
		{OTHER_NODE, "198.51.100.9", OTHER_NODE, true},
	};
	char before[sizeof(answer)];

	feed_two_nodes(true);
	snprintf(before, sizeof(before), "%s", ask_all(&local, INIT_ONE));
	ck_assert_int_eq(iscsi_discovery_set_portals(server, LOCAL_NODE, wrong_tpgt, 2), -EINVAL);
	ck_assert_int_eq(iscsi_discovery_set_portals(server, LOCAL_NODE, bad_addr, 1), -EINVAL);
	ck_assert_int_eq(iscsi_discovery_set_portals(server, LOCAL_NODE, bad_addr,
						     ISCSI_DISCOVERY_PORTALS_MAX + 1),
			 -E2BIG);
	ck_assert_str_eq(ask_all(&local, INIT_ONE), before);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("iscsi_discovery");
	TCase *tc = tcase_create("sendtargets");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unfed_uses_own_portals);
	tcase_add_test(tc, test_other_node_listed_with_its_tpgt);
	tcase_add_test(tc, test_not_serving_not_listed);
	tcase_add_test(tc, test_refeed_replaces_nodes);
	tcase_add_test(tc, test_acl_hides_targets);
	tcase_add_test(tc, test_wildcard_portals);
	tcase_add_test(tc, test_bad_feed_keeps_table);
	tcase_add_test(tc, test_portal_strings);
	suite_add_tcase(s, tc);
	return s;
}
