/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * quorated.conf parsing: a complete good file, the defaults, and each kind of
 * bad input with the FILE:LINE it must be reported at; lines longer than
 * inih's default 200 bytes (never split), duplicate keys, NUL bytes and a
 * directory as the file.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <config.h>		/* autoconf: HAVE_DECL_INI_MAX_LINE, HAVE_MICROHTTPD */
#include "daemon/config.h"
#include "tests/unit/check_main.h"

static char path[64];

static void write_conf_len(const char *text, size_t len)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/check_config.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void write_conf(const char *text)
{
	write_conf_len(text, strlen(text));
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

/* [iscsi] admission keys (daemon/iscsi/admit.c): defaults and bounds. */
START_TEST(test_admission_keys)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	config_init(&cfg);
	ck_assert_uint_eq(cfg.iscsi.max_discovery_sessions, 16);
	ck_assert_uint_eq(cfg.iscsi.discovery_idle_timeout_s, 30);
	ck_assert_uint_eq(cfg.iscsi.max_login_connections, 128);
	ck_assert_uint_eq(cfg.iscsi.chap_backoff_max_s, 60);
	ck_assert_uint_eq(cfg.iscsi.require_mutual_chap, 0);
	ck_assert_int_eq(parse("[iscsi]\nmax_discovery_sessions = 0\ndiscovery_idle_timeout = 5\n"
			       "max_login_connections = 10\nchap_backoff_max = 0\n"
			       "require_mutual_chap = 1\n",
			       &cfg, err),
			 0);
	ck_assert_uint_eq(cfg.iscsi.max_discovery_sessions, 0);
	ck_assert_uint_eq(cfg.iscsi.discovery_idle_timeout_s, 5);
	ck_assert_uint_eq(cfg.iscsi.max_login_connections, 10);
	ck_assert_uint_eq(cfg.iscsi.chap_backoff_max_s, 0);
	ck_assert_uint_eq(cfg.iscsi.require_mutual_chap, 1);
	expect_error("[iscsi]\nrequire_mutual_chap = 2\n", 2, "require_mutual_chap: '2'");
	expect_error("[iscsi]\nchap_backoff_max = 3601\n", 2, "chap_backoff_max");
	expect_error("[iscsi]\nmax_login_connections = 65536\n", 2, "max_login_connections");
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

/* A comment longer than 200 bytes stays a comment: its tail is no setting. */
START_TEST(test_long_comment_not_split)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX], text[1024];
	char pad[400];

	/* 1 + 198 bytes fill inih's default 200-byte line buffer exactly. */
	memset(pad, 'x', 198);
	pad[198] = '\0';
	snprintf(text, sizeof(text), "[iscsi]\n#%slisten = 10.9.8.7:3260\nqueue_depth = 8\n", pad);
	ck_assert_msg(parse(text, &cfg, err) == 0, "%s", err);
	ck_assert_uint_eq(cfg.listen_count, 1);
	ck_assert_str_eq(cfg.listen[0], "0.0.0.0:3260");
	ck_assert_uint_eq(cfg.iscsi.queue_depth, 8);
	teardown();
	/* Longer still (several buffers' worth), and a value line after it. */
	memset(pad, 'y', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(text, sizeof(text), "[node]\n; %s name = tail\nname = real\n", pad);
	ck_assert_msg(parse(text, &cfg, err) == 0, "%s", err);
	ck_assert_str_eq(cfg.node_name, "real");
}
END_TEST

/* 14 portals on one listen line (about 300 bytes), and the maximum, 16. */
START_TEST(test_long_listen_line)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX], text[2048];
	size_t off;

	for (int n = 14; n <= CONFIG_LISTEN_MAX; n += CONFIG_LISTEN_MAX - 14) {
		off = (size_t)snprintf(text, sizeof(text), "[iscsi]\nlisten = ");
		for (int i = 0; i < n; i++) {
			off += (size_t)snprintf(text + off, sizeof(text) - off, "%s192.168.100.%d:%d",
						i > 0 ? ", " : "", 100 + i, 32600 + i);
		}
		snprintf(text + off, sizeof(text) - off, "\nqueue_depth = 16\n");
		ck_assert_uint_gt(strlen(text), 250);
#if !defined(HAVE_DECL_INI_MAX_LINE) || !HAVE_DECL_INI_MAX_LINE
		/* A libinih with a fixed 200-byte line: refused, never split. */
		ck_assert_int_eq(parse(text, &cfg, err), -EINVAL);
		ck_assert_msg(strstr(err, ":2: line longer than") != NULL, "'%s'", err);
		teardown();
		continue;
#endif
		ck_assert_msg(parse(text, &cfg, err) == 0, "%d portals: %s", n, err);
		ck_assert_uint_eq(cfg.listen_count, (unsigned int)n);
		ck_assert_str_eq(cfg.listen[n - 1], n == 14 ? "192.168.100.113:32613"
							    : "192.168.100.115:32615");
		ck_assert_uint_eq(cfg.iscsi.queue_depth, 16);
		teardown();
	}
}
END_TEST

/* A line too long even for the bigger buffer is an error, not two lines. */
START_TEST(test_overlong_line_refused)
{
	static char text[8192];
	size_t off = (size_t)snprintf(text, sizeof(text), "[node]\n# ");

	memset(text + off, 'z', 6000);
	snprintf(text + off + 6000, sizeof(text) - off - 6000, "\nname = x\n");
	expect_error(text, 2, "line longer than");
}
END_TEST

START_TEST(test_duplicate_keys)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	expect_error("[node]\nname = a\nname = b\n", 3,
		     "duplicate key 'name' in [node] (first set at line 2)");
	/* Also when the section is opened a second time. */
	expect_error("[iscsi]\nlisten = 127.0.0.1:1\n[node]\nid = 2\n[iscsi]\n"
		     "listen = 127.0.0.1:2\n", 6, "duplicate key 'listen' in [iscsi]");
	/* The same key in two sections is two keys. */
	ck_assert_msg(parse("[node]\nlog_level = debug\n[iscsi]\nqueue_depth = 4\n", &cfg, err) == 0,
		      "%s", err);
}
END_TEST

START_TEST(test_nul_byte_refused)
{
	static const char text[] = "[node]\nname = a\0b\nid = 2\n";
	struct config cfg;
	char err[CONFIG_ERR_MAX], where[96];

	config_init(&cfg);
	write_conf_len(text, sizeof(text) - 1);
	ck_assert_int_eq(config_load(&cfg, path, err, sizeof(err)), -EINVAL);
	snprintf(where, sizeof(where), "%s:2: ", path);
	ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "'%s'", err);
	ck_assert_msg(strstr(err, "NUL") != NULL, "'%s'", err);
}
END_TEST

START_TEST(test_directory_refused)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX], dir[] = "/tmp/check_config_dir.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	config_init(&cfg);
	ck_assert_int_eq(config_load(&cfg, dir, err, sizeof(err)), -EISDIR);
	ck_assert_msg(strstr(err, dir) != NULL && strstr(err, "directory") != NULL, "'%s'", err);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_pid_file_key)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	ck_assert_msg(parse("[node]\npid_file = /run/quorated.pid\n", &cfg, err) == 0, "%s", err);
	ck_assert_str_eq(cfg.pid_file, "/run/quorated.pid");
	teardown();
	expect_error("[node]\npid_file = run/q.pid\n", 2, "pid_file: must be an absolute path");
}
END_TEST

/*
 * [metrics] listen: off by default, one HOST:PORT, strict like the other
 * sections; a build without libmicrohttpd refuses the key with the reason.
 */
START_TEST(test_metrics_section)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];

	config_init(&cfg);
	ck_assert_str_eq(cfg.metrics_listen, "");
	ck_assert_msg(parse("[metrics]\n", &cfg, err) == 0, "%s", err);
	ck_assert_str_eq(cfg.metrics_listen, "");
	teardown();
#ifdef HAVE_MICROHTTPD
	ck_assert_msg(parse("[metrics]\nlisten = 127.0.0.1:9464\n", &cfg, err) == 0, "%s", err);
	ck_assert_str_eq(cfg.metrics_listen, "127.0.0.1:9464");
	teardown();
	ck_assert_msg(parse("[metrics]\nlisten = [::1]:9464\n", &cfg, err) == 0, "%s", err);
	ck_assert_str_eq(cfg.metrics_listen, "[::1]:9464");
	teardown();
	expect_error("[metrics]\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n", 3,
		     "duplicate key 'listen' in [metrics]");
#else
	expect_error("[metrics]\nlisten = 127.0.0.1:9464\n", 2, "built without libmicrohttpd");
#endif
	expect_error("[metrics]\nlisten = 127.0.0.1\n", 2, "listen: bad address '127.0.0.1'");
	expect_error("[metrics]\nlisten = 127.0.0.1:0\n", 2, "bad address");
	expect_error("[metrics]\nlisten = 127.0.0.1:1,127.0.0.1:2\n", 2, "bad address");
	expect_error("[metrics]\n\nport = 9464\n", 3, "unknown key 'port' in [metrics]");
	expect_error("[node]\nid = 2\n[metric]\n", 3, "unknown section [metric]");
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_good_file);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_cross_key_rule);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_portal_syntax);
	tcase_add_test(tc, test_long_comment_not_split);
	tcase_add_test(tc, test_long_listen_line);
	tcase_add_test(tc, test_overlong_line_refused);
	tcase_add_test(tc, test_duplicate_keys);
	tcase_add_test(tc, test_nul_byte_refused);
	tcase_add_test(tc, test_directory_refused);
	tcase_add_test(tc, test_pid_file_key);
	tcase_add_test(tc, test_admission_keys);
	tcase_add_test(tc, test_metrics_section);
	suite_add_tcase(s, tc);
	return s;
}
