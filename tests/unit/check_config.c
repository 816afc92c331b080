/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quorated.conf parsing: a complete good file, the defaults, and each kind of
 * bad input with the FILE:LINE it must be reported at.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/config.h"

static char path[64];

static void write_conf(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/check_config.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void teardown(void)
{
	if (path[0] != '\0') {
		unlink(path);
		path[0] = '\0';
	}
}

/* Parse @text; return the rc and leave the message in @err. */
static int parse(const char *text, struct config *cfg, char *err)
{
	config_init(cfg);
	write_conf(text);
	err[0] = '\0';
	return config_load(cfg, path, err, CONFIG_ERR_MAX);
}

/* Assert that @text fails at @line with a message containing @needle. */
static void expect_error(const char *text, int line, const char *needle)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX], where[96];

	ck_assert_int_eq(parse(text, &cfg, err), -EINVAL);
	snprintf(where, sizeof(where), "%s:%d: ", path, line);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "'%s' does not start with '%s'",
		      err, where);
	ck_assert_msg(strstr(err, needle) != NULL, "'%s' lacks '%s'", err, needle);
	teardown();
}

START_TEST(test_defaults)
{
	struct config cfg;

	config_init(&cfg);
	ck_assert_str_eq(cfg.ipc_name, "quorated");
	ck_assert_int_eq(cfg.cluster, CONFIG_CLUSTER_STANDALONE);
	ck_assert_uint_eq(cfg.listen_count, 1);
	ck_assert_str_eq(cfg.listen[0], "0.0.0.0:3260");
	ck_assert_int_eq(cfg.log_level, LOG_INFO);
	ck_assert_uint_eq(cfg.node_id, 1);
	ck_assert_uint_eq(cfg.iscsi.tpgt, 1);
	ck_assert_uint_le(cfg.iscsi.first_burst, cfg.iscsi.max_burst);
	ck_assert_uint_ge(cfg.iscsi.max_recv_dsl, 512);
	ck_assert_uint_eq(cfg.iscsi.busy_poll_us, 50);
	ck_assert(!cfg.iscsi.allow_cold_reset);
	ck_assert(cfg.node_name[0] != '\0');
}
END_TEST

START_TEST(test_good_file)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	ck_assert_int_eq(parse("# a comment\n"
			       "[node]\n"
			       "name = node-a\n"
			       "id = 3\n"
			       "data_dir = /var/lib/quorate-test\n"
			       "cluster = standalone\n"
			       "log_level = debug\n"
			       "ipc_name = quorated-test\n"
			       "\n"
			       "[iscsi]\n"
			       "listen = 127.0.0.1:14400, [::1]:14401\n"
			       "max_recv_data_segment_length = 65536\n"
			       "max_burst_length = 524288\n"
			       "first_burst_length = 262144\n"
			       "max_outstanding_r2t = 8\n"
			       "queue_depth = 64\n"
			       "nop_interval = 0\n"
			       "nop_timeout = 20\n"
			       "max_sessions = 16\n"
			       "busy_poll = 0\n"
			       "allow_cold_reset = true\n",
			       &cfg, err),
			 0);
	ck_assert_str_eq(cfg.node_name, "node-a");
	ck_assert_uint_eq(cfg.node_id, 3);
	ck_assert_uint_eq(cfg.iscsi.tpgt, 3);
	ck_assert_str_eq(cfg.data_dir, "/var/lib/quorate-test");
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	ck_assert_str_eq(cfg.ipc_name, "quorated-test");
	ck_assert_uint_eq(cfg.listen_count, 2);
	ck_assert_str_eq(cfg.listen[0], "127.0.0.1:14400");
	ck_assert_str_eq(cfg.listen[1], "[::1]:14401");
	ck_assert_uint_eq(cfg.iscsi.max_recv_dsl, 65536);
	ck_assert_uint_eq(cfg.iscsi.max_burst, 524288);
	ck_assert_uint_eq(cfg.iscsi.first_burst, 262144);
	ck_assert_uint_eq(cfg.iscsi.max_outstanding_r2t, 8);
	ck_assert_uint_eq(cfg.iscsi.queue_depth, 64);
	ck_assert_uint_eq(cfg.iscsi.nop_interval_s, 0);
	ck_assert_uint_eq(cfg.iscsi.nop_timeout_s, 20);
	ck_assert_uint_eq(cfg.iscsi.max_sessions, 16);
	ck_assert_uint_eq(cfg.iscsi.busy_poll_us, 0);
	ck_assert(cfg.iscsi.allow_cold_reset);
}
END_TEST

START_TEST(test_bad_values)
{
	expect_error("[node]\nname = a\nbogus = 1\n", 3, "unknown key 'bogus' in [node]");
	expect_error("[node]\n[frobnicate]\nx = 1\n", 2, "unknown section [frobnicate]");
	/* An unknown section is an error even without keys. */
	expect_error("[iscsi]\nqueue_depth = 4\n[empty]\n", 3, "unknown section [empty]");
	expect_error("orphan = 1\n", 1, "outside of a section");
	expect_error("[node]\ncluster = corosync\n", 2, "not yet supported");
	expect_error("[node]\ncluster = raft\n", 2, "unknown mode 'raft'");
	expect_error("[node]\nlog_level = loud\n", 2, "unknown level 'loud'");
	expect_error("[node]\ndata_dir = relative/dir\n", 2, "absolute path");
	expect_error("[node]\nid = 0\n", 2, "id:");
	expect_error("[node]\nipc_name = a/b\n", 2, "ipc_name");
	expect_error("[iscsi]\nlisten = 127.0.0.1\n", 2, "bad portal '127.0.0.1'");
	expect_error("[iscsi]\nlisten = 127.0.0.1:99999\n", 2, "bad portal");
	expect_error("[iscsi]\nlisten = host:80, :81\n", 2, "bad portal ':81'");
	expect_error("[iscsi]\n\nmax_burst_length = 100\n", 3, "max_burst_length");
	expect_error("[iscsi]\nmax_recv_data_segment_length = 16777216\n", 2, "512..16777215");
	expect_error("[iscsi]\nqueue_depth = 12abc\n", 2, "queue_depth: '12abc'");
	expect_error("[iscsi]\nqueue_depth = -1\n", 2, "queue_depth");
	expect_error("[iscsi]\nmax_outstanding_r2t = 0\n", 2, "max_outstanding_r2t");
	expect_error("[iscsi]\nfrob = 1\n", 2, "unknown key 'frob' in [iscsi]");
	expect_error("[iscsi]\nbusy_poll = 1001\n", 2, "busy_poll");
	expect_error("[iscsi]\nallow_cold_reset = maybe\n", 2, "allow_cold_reset");
	expect_error("[node\nname = x\n", 1, "syntax error");
	/* The first error wins. */
	expect_error("[node]\nname = ok\nlog_level = x\nbogus = y\n", 3, "log_level");
}
END_TEST

START_TEST(test_cross_key_rule)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	ck_assert_int_eq(parse("[iscsi]\nmax_burst_length = 8192\nfirst_burst_length = 65536\n",
			       &cfg, err),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "first_burst_length"));
}
END_TEST

START_TEST(test_missing_file)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	config_init(&cfg);
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/quorated.conf", err, sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/quorated.conf"));
}
END_TEST

START_TEST(test_reload_log_level_only)
{
	int level = LOG_INFO;
	char err[CONFIG_ERR_MAX];

	write_conf("[node]\nname = x\nlog_level = warning\n[iscsi]\nqueue_depth = 8\n");
	ck_assert_int_eq(config_reload_log_level(path, &level, err, sizeof(err)), 0);
	ck_assert_int_eq(level, LOG_WARNING);
}
END_TEST

START_TEST(test_portal_syntax)
{
	ck_assert(config_portal_valid("0.0.0.0:3260"));
	ck_assert(config_portal_valid("[fe80::1]:3260"));
	ck_assert(config_portal_valid("localhost:1"));
	ck_assert(!config_portal_valid("::1:3260"));
	ck_assert(!config_portal_valid("[::1]3260"));
	ck_assert(!config_portal_valid("host:0"));
	ck_assert(!config_portal_valid("host:+5"));
	ck_assert(!config_portal_valid("host:"));
	ck_assert(!config_portal_valid("[]:5"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_cross_key_rule);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_reload_log_level_only);
	tcase_add_test(tc, test_portal_syntax);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
