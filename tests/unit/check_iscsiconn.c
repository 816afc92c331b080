// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the iSCSI server (daemon/iscsi/libiscsi.a) against the real
 * SCSI layer on a null backing store: the server runs on a qb_loop in the
 * test process, a forked client speaks raw PDUs over loopback TCP (the first
 * free port of 14150-14199, engineer B's range) and exits non-zero on the first unexpected
 * answer. Each test checks one documented reaction of conn.c, session.c,
 * scsi_cmd.c or tmf.c (see the comments at the top of those files).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <qb/qbloop.h>

#include "daemon/backing/backing.h"
#include "daemon/iscsi/iscsi.h"
#include "daemon/iscsi/pdu.h"
#include "daemon/scsi/scsi.h"

/* Engineer B's port range; parallel runs of this test take different ports. */
#define TEST_PORT_FIRST 14150
#define TEST_PORT_LAST	14199
#define TEST_TARGET	"iqn.2026-11.org.quorate:unit"
#define TEST_INITIATOR	"iqn.2026-11.org.quorate:unit-init"
#define TEST_LU_BYTES	(64u * 1024u * 1024u)
#define TEST_BLOCK	512u
#define CLIENT_MRDSL	65536u
#define RECV_TIMEOUT_S	3
#define POLL_MS		10u
#define DATA_MAX	(CLIENT_MRDSL + 1024u)

/* ------------------------------------------------------------ server side */

static qb_loop_t *loop;
static unsigned int test_port;
static char test_portal[32];
static struct iscsi_server *server;
static struct scsi_target *target;
static pid_t client_pid;
static int client_status;
static void (*server_hook)(void);

static void setup(void)
{
	struct scsi_port_info port = {.rel_port_id = 1, .tpg_id = 1};
	struct scsi_lu_config lu = {
		.backing = "null",
		.size_bytes = TEST_LU_BYTES,
		.block_size = TEST_BLOCK,
		.write_cache = true,
		.serial = "unit0",
		.vendor = "QUORATE",
		.product = "UNIT",
		.revision = "0001",
	};
	struct iscsi_server_config cfg = {
		.tpgt = 1,
		.max_recv_dsl = 262144,
		.max_burst = 262144,
		.first_burst = 65536,
		.max_outstanding_r2t = 1,
		.queue_depth = 16,
		.max_sessions = 8,
	};

	signal(SIGPIPE, SIG_IGN);
	loop = qb_loop_create();
	ck_assert_ptr_nonnull(loop);
	ck_assert_int_eq(backing_engine_init(loop), 0);
	ck_assert_int_eq(scsi_target_create(loop, TEST_TARGET, &port, &target), 0);
	ck_assert_int_eq(scsi_target_add_lu(target, 0, &lu), 0);
	ck_assert_int_eq(iscsi_server_create(loop, &cfg, &server), 0);
	for (test_port = TEST_PORT_FIRST; test_port <= TEST_PORT_LAST; test_port++) {
		snprintf(test_portal, sizeof(test_portal), "127.0.0.1:%u", test_port);
		if (iscsi_server_add_portal(server, test_portal) == 0) {
			break;
		}
	}
	ck_assert_uint_le(test_port, TEST_PORT_LAST);
	ck_assert_int_eq(iscsi_target_register(server, target, NULL), 0);
	server_hook = NULL;
}

static void stop_loop(void *data)
{
	(void)data;
	qb_loop_stop(loop);
}

static void teardown(void)
{
	qb_loop_timer_handle th;

	iscsi_server_destroy(server);
	/* Let jobs queued during the teardown run before the loop goes. */
	qb_loop_timer_add(loop, QB_LOOP_LOW, POLL_MS * 1000000ull, NULL, stop_loop, &th);
	qb_loop_run(loop);
	scsi_target_destroy(target);
	backing_engine_fini();
	qb_loop_destroy(loop);
}

static void poll_child(void *data)
{
	qb_loop_timer_handle th;
	(void)data;

	if (waitpid(client_pid, &client_status, WNOHANG) == client_pid) {
		qb_loop_stop(loop);
		return;
	}
	if (server_hook) {
		server_hook();
	}
	qb_loop_timer_add(loop, QB_LOOP_LOW, POLL_MS * 1000000ull, NULL, poll_child, &th);
}

/* Run @client in a child process while the server loop runs here. */
static void run_client(void (*client)(void))
{
	qb_loop_timer_handle th;

	client_pid = fork();
	ck_assert_int_ge(client_pid, 0);
	if (client_pid == 0) {
		client();
		_exit(0);
	}
	qb_loop_timer_add(loop, QB_LOOP_LOW, POLL_MS * 1000000ull, NULL, poll_child, &th);
	qb_loop_run(loop);
	ck_assert_msg(WIFEXITED(client_status) && WEXITSTATUS(client_status) == 0,
		      "client failed (status 0x%x)", client_status);
}

/* ------------------------------------------------------------ client side */

#define CL_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "client: %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

struct client {
	int fd;
	uint32_t itt;
	uint32_t cmdsn;
	uint16_t tsih;
	uint8_t rsp[ISCSI_BHS_LEN];
	uint8_t data[DATA_MAX];
	uint32_t dlen;
};

static void cl_connect(struct client *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)test_port)};
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};

	memset(c, 0, sizeof(*c));
	c->itt = 0x10;
	c->cmdsn = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	CL_CHECK(c->fd >= 0);
	CL_CHECK(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void cl_send(struct client *c, uint8_t *bhs, const void *data, uint32_t len)
{
	static const uint8_t zero[4];
	uint32_t pad = ISCSI_PAD(len) - len;

	iscsi_bhs_set_data_len(bhs, len);
	CL_CHECK(send(c->fd, bhs, ISCSI_BHS_LEN, 0) == ISCSI_BHS_LEN);
	if (len) {
		CL_CHECK(send(c->fd, data, len, 0) == (ssize_t)len);
		if (pad) {
			CL_CHECK(send(c->fd, zero, pad, 0) == (ssize_t)pad);
		}
	}
}

static bool cl_read(struct client *c, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = recv(c->fd, (uint8_t *)buf + got, len - got, 0);

		if (r <= 0) {
			return false;
		}
		got += (size_t)r;
	}
	return true;
}

/* Receive one PDU into c->rsp / c->data. @return false on EOF or timeout. */
static bool cl_recv(struct client *c)
{
	uint8_t pad[4];
	uint32_t len;

	if (!cl_read(c, c->rsp, ISCSI_BHS_LEN)) {
		return false;
	}
	len = iscsi_bhs_data_len(c->rsp);
	CL_CHECK(len <= DATA_MAX);
	c->dlen = len;
	if (len && !cl_read(c, c->data, len)) {
		return false;
	}
	if (ISCSI_PAD(len) != len && !cl_read(c, pad, ISCSI_PAD(len) - len)) {
		return false;
	}
	return true;
}

/* True when the server closes the connection (EOF) within the timeout. */
static bool cl_closed(struct client *c)
{
	uint8_t buf[512];

	for (;;) {
		ssize_t r = recv(c->fd, buf, sizeof(buf), 0);

		if (r == 0 || (r < 0 && errno == ECONNRESET)) {
			return true;
		}
		if (r < 0) {
			return false; /* timeout */
		}
	}
}

/* Nothing may arrive for a while (a dropped or held-back command). */
static bool cl_silent(struct client *c)
{
	struct timeval shortwait = {.tv_usec = 300000}, normal = {.tv_sec = RECV_TIMEOUT_S};
	uint8_t b;
	ssize_t r;

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &shortwait, sizeof(shortwait));
	r = recv(c->fd, &b, 1, MSG_PEEK);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &normal, sizeof(normal));
	return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static uint32_t cl_text(uint8_t *buf, const char *const *keys)
{
	uint32_t n = 0;

	for (; *keys; keys++) {
		size_t l = strlen(*keys) + 1;

		memcpy(buf + n, *keys, l);
		n += (uint32_t)l;
	}
	return n;
}

/* Two-step login: security (AuthMethod=None) then operational. @return status. */
static uint16_t cl_login(struct client *c, const uint8_t isid[6], uint16_t tsih)
{
	static const char *const sec[] = {"InitiatorName=" TEST_INITIATOR,
					  "TargetName=" TEST_TARGET, "SessionType=Normal",
					  "AuthMethod=None", NULL};
	static const char *const ops[] = {"HeaderDigest=None",
					  "DataDigest=None",
					  "ImmediateData=Yes",
					  "InitialR2T=Yes",
					  "MaxRecvDataSegmentLength=65536",
					  "MaxBurstLength=262144",
					  "FirstBurstLength=65536",
					  NULL};
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	uint8_t text[1024];
	uint16_t status;

	bhs[0] = ISCSI_OP_LOGIN_REQ | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = ISCSI_LOGIN_FLAG_TRANSIT | (ISCSI_STAGE_SECURITY << ISCSI_LOGIN_CSG_SHIFT) |
		 ISCSI_STAGE_OPERATIONAL;
	memcpy(bhs + 8, isid, 6);
	put_be16(bhs + 14, tsih);
	put_be32(bhs + 16, c->itt);
	put_be32(bhs + 24, c->cmdsn);
	cl_send(c, bhs, text, cl_text(text, sec));
	CL_CHECK(cl_recv(c));
	CL_CHECK(iscsi_bhs_opcode(c->rsp) == ISCSI_OP_LOGIN_RSP);
	status = get_be16(c->rsp + 36);
	if (status) {
		return status;
	}
	bhs[1] = ISCSI_LOGIN_FLAG_TRANSIT | (ISCSI_STAGE_OPERATIONAL << ISCSI_LOGIN_CSG_SHIFT) |
		 ISCSI_STAGE_FULL_FEATURE;
	put_be32(bhs + 28, get_be32(c->rsp + 24) + 1);
	cl_send(c, bhs, text, cl_text(text, ops));
	CL_CHECK(cl_recv(c));
	status = get_be16(c->rsp + 36);
	c->tsih = get_be16(c->rsp + 14);
	return status;
}

static void cl_login_ok(struct client *c, uint8_t isid_last)
{
	const uint8_t isid[6] = {0x80, 0x12, 0x34, 0x56, 0x00, isid_last};

	cl_connect(c);
	CL_CHECK(cl_login(c, isid, 0) == ISCSI_LOGIN_SUCCESS);
	CL_CHECK(c->tsih != 0);
}

static void cl_scsi(struct client *c, const uint8_t *cdb, size_t cdb_len, uint32_t edtl, bool rd,
		    bool wr, const void *imm, uint32_t imm_len)
{
	uint8_t bhs[ISCSI_BHS_LEN] = {0};

	bhs[0] = ISCSI_OP_SCSI_CMD;
	bhs[1] = ISCSI_FLAG_FINAL | (rd ? ISCSI_CMD_FLAG_READ : 0) |
		 (wr ? ISCSI_CMD_FLAG_WRITE : 0) | SCSI_TASK_SIMPLE;
	put_be32(bhs + 16, ++c->itt);
	put_be32(bhs + 20, edtl);
	put_be32(bhs + 24, c->cmdsn++);
	memcpy(bhs + 32, cdb, cdb_len);
	cl_send(c, bhs, imm, imm_len);
}

/* TEST UNIT READY until GOOD (the first answers carry unit attentions). */
static void cl_clear_ua(struct client *c)
{
	static const uint8_t tur[6];

	for (int i = 0; i < 4; i++) {
		cl_scsi(c, tur, sizeof(tur), 0, false, false, NULL, 0);
		CL_CHECK(cl_recv(c));
		CL_CHECK(iscsi_bhs_opcode(c->rsp) == ISCSI_OP_SCSI_RSP);
		if (c->rsp[3] == SCSI_STATUS_GOOD) {
			return;
		}
	}
	CL_CHECK(!"unit attentions do not clear");
}

static void cl_nop_echo(struct client *c, const char *payload)
{
	uint8_t bhs[ISCSI_BHS_LEN] = {0};

	bhs[0] = ISCSI_OP_NOP_OUT | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = ISCSI_FLAG_FINAL;
	put_be32(bhs + 16, ++c->itt);
	put_be32(bhs + 20, ISCSI_RESERVED_TAG);
	put_be32(bhs + 24, c->cmdsn);
	cl_send(c, bhs, payload, (uint32_t)strlen(payload));
	CL_CHECK(cl_recv(c));
	CL_CHECK(iscsi_bhs_opcode(c->rsp) == ISCSI_OP_NOP_IN);
	CL_CHECK(iscsi_bhs_itt(c->rsp) == c->itt);
	CL_CHECK(c->dlen == strlen(payload) && memcmp(c->data, payload, c->dlen) == 0);
}

static void cl_expect_reject(struct client *c, uint8_t reason, uint8_t bad_opcode)
{
	CL_CHECK(cl_recv(c));
	CL_CHECK(iscsi_bhs_opcode(c->rsp) == ISCSI_OP_REJECT);
	CL_CHECK(c->rsp[2] == reason);
	CL_CHECK(c->dlen == ISCSI_BHS_LEN && (c->data[0] & ISCSI_OPCODE_MASK) == bad_opcode);
}

/* ------------------------------------------------------------------ tests */

static void client_login_nop_logout(void)
{
	struct client c;
	uint8_t bhs[ISCSI_BHS_LEN] = {0};

	cl_login_ok(&c, 1);
	cl_nop_echo(&c, "hello");
	bhs[0] = ISCSI_OP_LOGOUT_REQ | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = ISCSI_FLAG_FINAL | ISCSI_LOGOUT_CLOSE_SESSION;
	put_be32(bhs + 16, ++c.itt);
	put_be32(bhs + 24, c.cmdsn);
	cl_send(&c, bhs, NULL, 0);
	CL_CHECK(cl_recv(&c));
	CL_CHECK(iscsi_bhs_opcode(c.rsp) == ISCSI_OP_LOGOUT_RSP && c.rsp[2] == ISCSI_LOGOUT_RSP_OK);
	CL_CHECK(cl_closed(&c));
}

START_TEST(test_login_nop_logout)
{
	run_client(client_login_nop_logout);
}
END_TEST

static void client_bad_pdus(void)
{
	struct client c;
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	static const uint8_t tur[6];

	/* SCSI command before login: Login Response 0x020b, then close. */
	cl_connect(&c);
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	CL_CHECK(cl_recv(&c));
	CL_CHECK(iscsi_bhs_opcode(c.rsp) == ISCSI_OP_LOGIN_RSP);
	CL_CHECK(get_be16(c.rsp + 36) == ISCSI_LOGIN_INVALID_DURING_LOGIN);
	CL_CHECK(cl_closed(&c));
	close(c.fd);

	cl_login_ok(&c, 2);
	/* Unknown opcode: Reject (command not supported), connection kept. */
	bhs[0] = 0x1e;
	bhs[1] = ISCSI_FLAG_FINAL;
	cl_send(&c, bhs, NULL, 0);
	cl_expect_reject(&c, ISCSI_REJECT_CMD_NOT_SUPPORTED, 0x1e);
	cl_nop_echo(&c, "still here");
	/* Login Request in full feature phase: Reject (protocol error). */
	memset(bhs, 0, sizeof(bhs));
	bhs[0] = ISCSI_OP_LOGIN_REQ | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = ISCSI_LOGIN_FLAG_TRANSIT | ISCSI_STAGE_FULL_FEATURE;
	cl_send(&c, bhs, NULL, 0);
	cl_expect_reject(&c, ISCSI_REJECT_PROTOCOL_ERROR, ISCSI_OP_LOGIN_REQ);
	/* SNACK at ERL 0: Reject. */
	memset(bhs, 0, sizeof(bhs));
	bhs[0] = ISCSI_OP_SNACK_REQ;
	bhs[1] = ISCSI_FLAG_FINAL;
	cl_send(&c, bhs, NULL, 0);
	cl_expect_reject(&c, ISCSI_REJECT_SNACK_REJECT, ISCSI_OP_SNACK_REQ);
	/* DataSegmentLength above our MaxRecvDataSegmentLength: Reject, close. */
	memset(bhs, 0, sizeof(bhs));
	bhs[0] = ISCSI_OP_NOP_OUT | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = ISCSI_FLAG_FINAL;
	put_be32(bhs + 20, ISCSI_RESERVED_TAG);
	iscsi_bhs_set_data_len(bhs, ISCSI_DSL_MAX);
	CL_CHECK(send(c.fd, bhs, sizeof(bhs), 0) == sizeof(bhs));
	cl_expect_reject(&c, ISCSI_REJECT_PROTOCOL_ERROR, ISCSI_OP_NOP_OUT);
	CL_CHECK(cl_closed(&c));
}

START_TEST(test_bad_pdus)
{
	run_client(client_bad_pdus);
}
END_TEST

static void client_cmdsn_window(void)
{
	struct client c;
	static const uint8_t tur[6];
	uint32_t base;

	cl_login_ok(&c, 3);
	cl_clear_ua(&c);
	/* §4.2.2.1: a command ahead of ExpCmdSN waits for the gap. */
	base = c.cmdsn;
	c.cmdsn = base + 1;
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	CL_CHECK(cl_silent(&c));
	c.cmdsn = base;
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_SCSI_RSP);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_SCSI_RSP);
	CL_CHECK(get_be32(c.rsp + 28) == base + 2);
	/* The window never exceeds the queue depth (16). */
	CL_CHECK(get_be32(c.rsp + 32) - get_be32(c.rsp + 28) + 1 <= 16);
	/* Below the window: silently ignored. */
	c.cmdsn = base - 3;
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	CL_CHECK(cl_silent(&c));
	/* Beyond MaxCmdSN: silently ignored too. */
	c.cmdsn = get_be32(c.rsp + 32) + 1;
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	CL_CHECK(cl_silent(&c));
	c.cmdsn = base + 2;
	cl_nop_echo(&c, "alive");
}

START_TEST(test_cmdsn_window)
{
	run_client(client_cmdsn_window);
}
END_TEST

/* Task pool high-water marks seen by hook_task_pool (RFC 7143 §4.2.2.1 window). */
static uint32_t pool_first = UINT32_MAX;
static uint32_t pool_max;

static void pool_sample(const struct iscsi_session_info *info, void *ctx)
{
	(void)ctx;
	if (info->discovery || info->connections != 1) {
		return;
	}
	if (pool_first == UINT32_MAX) {
		pool_first = info->tasks;
	}
	if (info->tasks > pool_max) {
		pool_max = info->tasks;
	}
}

static void hook_task_pool(void)
{
	iscsi_server_foreach_session(server, pool_sample, NULL);
}

static void client_task_pool(void)
{
	struct client c;
	static const uint8_t tur[6];
	uint32_t base, n;

	cl_login_ok(&c, 8);
	cl_nop_echo(&c, "idle");
	CL_CHECK(cl_silent(&c)); /* idle long enough for the server to sample */
	cl_clear_ua(&c);
	/* Fill the window announced in the last response (16, or 15 when it was
	 * computed while that response's task was still held): all but the first
	 * command wait behind a CmdSN gap, then the first releases them all. */
	base = c.cmdsn;
	n = get_be32(c.rsp + 32) - base + 1;
	CL_CHECK(n >= 15 && n <= 16);
	c.cmdsn = base + 1;
	for (uint32_t i = 1; i < n; i++) {
		cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	}
	CL_CHECK(cl_silent(&c));
	c.cmdsn = base;
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	for (uint32_t i = 0; i < n; i++) {
		CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_SCSI_RSP);
		CL_CHECK(c.rsp[3] == SCSI_STATUS_GOOD);
	}
	c.cmdsn = base + n;
	cl_nop_echo(&c, "alive");
}

START_TEST(test_task_pool)
{
	pool_first = UINT32_MAX;
	pool_max = 0;
	server_hook = hook_task_pool;
	run_client(client_task_pool);
	/* An idle session holds no task; the pool grows to what the window
	 * used (15 or 16 at once) and never allocates the 4 immediate-command
	 * tasks no command needed, so it stays below queue_depth + 4. */
	ck_assert_uint_eq(pool_first, 0);
	ck_assert_uint_ge(pool_max, 15);
	ck_assert_uint_lt(pool_max, 16 + 4);
}
END_TEST

static void client_read_write(void)
{
	struct client c;
	uint8_t read10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0}; /* 512 blocks */
	uint8_t write10[10] = {0x2a, 0, 0, 0, 0, 8, 0, 0, 4, 0};      /* 4 blocks at 8 */
	uint8_t big[10] = {0x28, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0};
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	static uint8_t payload[2048];
	uint32_t n = 0, ttt;

	cl_login_ok(&c, 4);
	cl_clear_ua(&c);
	/* 256 KiB read, initiator MRDSL 64 KiB: 4 Data-In, S bit on the last. */
	cl_scsi(&c, read10, sizeof(read10), 262144, true, false, NULL, 0);
	for (;;) {
		CL_CHECK(cl_recv(&c));
		CL_CHECK(iscsi_bhs_opcode(c.rsp) == ISCSI_OP_DATA_IN);
		CL_CHECK(c.dlen == CLIENT_MRDSL);
		CL_CHECK(get_be32(c.rsp + 36) == n);
		CL_CHECK(get_be32(c.rsp + 40) == n * CLIENT_MRDSL);
		n++;
		if (c.rsp[1] & ISCSI_DATAIN_FLAG_STATUS) {
			break;
		}
		CL_CHECK(!(c.rsp[1] & ISCSI_FLAG_FINAL));
	}
	CL_CHECK(n == 4 && (c.rsp[1] & ISCSI_FLAG_FINAL) && c.rsp[3] == SCSI_STATUS_GOOD);
	/* Residual underflow: 1 block asked, EDTL 1000. */
	read10[7] = 0;
	read10[8] = 1;
	cl_scsi(&c, read10, sizeof(read10), 1000, true, false, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_DATA_IN);
	CL_CHECK(c.dlen == TEST_BLOCK && (c.rsp[1] & ISCSI_RSP_FLAG_UNDERFLOW));
	CL_CHECK(get_be32(c.rsp + 44) == 1000 - TEST_BLOCK);
	/* One block immediate, the rest solicited by one R2T. */
	memset(payload, 0x5a, sizeof(payload));
	cl_scsi(&c, write10, sizeof(write10), 2048, false, true, payload, TEST_BLOCK);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_R2T);
	CL_CHECK(get_be32(c.rsp + 40) == TEST_BLOCK &&
		 get_be32(c.rsp + 44) == 2048 - TEST_BLOCK);
	ttt = get_be32(c.rsp + 20);
	bhs[0] = ISCSI_OP_DATA_OUT;
	bhs[1] = ISCSI_FLAG_FINAL;
	put_be32(bhs + 16, c.itt);
	put_be32(bhs + 20, ttt);
	put_be32(bhs + 40, TEST_BLOCK);
	cl_send(&c, bhs, payload, 2048 - TEST_BLOCK);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_SCSI_RSP);
	CL_CHECK(c.rsp[3] == SCSI_STATUS_GOOD && get_be32(c.rsp + 36) == 1);
	/* A Data-Out with the wrong DataSN ends the task: ABORTED COMMAND 4B/00. */
	cl_scsi(&c, write10, sizeof(write10), 2048, false, true, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_R2T);
	put_be32(bhs + 16, c.itt);
	put_be32(bhs + 20, get_be32(c.rsp + 20));
	put_be32(bhs + 36, 7);
	put_be32(bhs + 40, 0);
	cl_send(&c, bhs, payload, 2048);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_SCSI_RSP);
	CL_CHECK(c.rsp[3] == SCSI_STATUS_CHECK_CONDITION);
	CL_CHECK(c.dlen >= 2 + 14 && (c.data[2 + 2] & 0x0f) == 0x0b && c.data[2 + 12] == 0x4b);
	/* EDTL beyond what we serve: CHECK CONDITION 24/00, no allocation. */
	cl_scsi(&c, big, sizeof(big), 0xfffffff0u, true, false, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_SCSI_RSP);
	CL_CHECK(c.rsp[3] == SCSI_STATUS_CHECK_CONDITION && c.data[2 + 12] == 0x24);
	cl_nop_echo(&c, "done");
}

START_TEST(test_read_write)
{
	run_client(client_read_write);
}
END_TEST

static void client_tmf(void)
{
	struct client c;
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	static const struct {
		uint8_t function;
		uint64_t lun;
		uint8_t response;
	} cases[] = {
		{ISCSI_TMF_ABORT_TASK, 0, ISCSI_TMF_RSP_NO_TASK},
		{ISCSI_TMF_CLEAR_ACA, 0, ISCSI_TMF_RSP_NOT_SUPPORTED},
		{ISCSI_TMF_TASK_REASSIGN, 0, ISCSI_TMF_RSP_NO_REASSIGN},
		{ISCSI_TMF_LUN_RESET, 0, ISCSI_TMF_RSP_COMPLETE},
		{ISCSI_TMF_LUN_RESET, 7ull << 48, ISCSI_TMF_RSP_NO_LUN},
		{ISCSI_TMF_TARGET_WARM_RESET, 0, ISCSI_TMF_RSP_COMPLETE},
		{0x30, 0, ISCSI_TMF_RSP_REJECTED},
	};

	cl_login_ok(&c, 5);
	cl_clear_ua(&c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(bhs, 0, sizeof(bhs));
		bhs[0] = ISCSI_OP_TMF_REQ | ISCSI_FLAG_IMMEDIATE;
		bhs[1] = ISCSI_FLAG_FINAL | cases[i].function;
		put_be64(bhs + 8, cases[i].lun);
		put_be32(bhs + 16, ++c.itt);
		put_be32(bhs + 20, 0xdead);
		put_be32(bhs + 24, c.cmdsn);
		put_be32(bhs + 32, c.cmdsn - 100); /* outside the window */
		cl_send(&c, bhs, NULL, 0);
		CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_TMF_RSP);
		CL_CHECK(iscsi_bhs_itt(c.rsp) == c.itt);
		CL_CHECK(c.rsp[2] == cases[i].response);
	}
	/* Cold reset: complete, then the connection is dropped. */
	bhs[1] = ISCSI_FLAG_FINAL | ISCSI_TMF_TARGET_COLD_RESET;
	put_be64(bhs + 8, 0);
	put_be32(bhs + 16, ++c.itt);
	cl_send(&c, bhs, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_TMF_RSP);
	CL_CHECK(c.rsp[2] == ISCSI_TMF_RSP_COMPLETE);
	CL_CHECK(cl_closed(&c));
}

START_TEST(test_tmf)
{
	run_client(client_tmf);
}
END_TEST

/*
 * READ and ABORT TASK in one segment: the server reads both in one pass, so
 * the READ is in flight in the (null) backing store when the ABORT arrives.
 * The READ gets no response; the TMF answers "function complete" after it.
 */
static void client_abort_inflight(void)
{
	struct client c;
	uint8_t pdus[2 * ISCSI_BHS_LEN] = {0};
	uint8_t *rd = pdus, *tmf = pdus + ISCSI_BHS_LEN;
	uint32_t read_itt;

	cl_login_ok(&c, 7);
	cl_clear_ua(&c);
	rd[0] = ISCSI_OP_SCSI_CMD;
	rd[1] = ISCSI_FLAG_FINAL | ISCSI_CMD_FLAG_READ | SCSI_TASK_SIMPLE;
	read_itt = ++c.itt;
	put_be32(rd + 16, read_itt);
	put_be32(rd + 20, 8 * TEST_BLOCK);
	put_be32(rd + 24, c.cmdsn++);
	rd[32] = 0x28;
	rd[32 + 8] = 8;
	tmf[0] = ISCSI_OP_TMF_REQ | ISCSI_FLAG_IMMEDIATE;
	tmf[1] = ISCSI_FLAG_FINAL | ISCSI_TMF_ABORT_TASK;
	put_be32(tmf + 16, ++c.itt);
	put_be32(tmf + 20, read_itt);
	put_be32(tmf + 24, c.cmdsn);
	put_be32(tmf + 32, c.cmdsn - 1);
	CL_CHECK(send(c.fd, pdus, sizeof(pdus), 0) == sizeof(pdus));
	CL_CHECK(cl_recv(&c));
	CL_CHECK(iscsi_bhs_opcode(c.rsp) == ISCSI_OP_TMF_RSP);
	CL_CHECK(c.rsp[2] == ISCSI_TMF_RSP_COMPLETE);
	CL_CHECK(cl_silent(&c));
	cl_nop_echo(&c, "after abort");
}

START_TEST(test_abort_inflight)
{
	run_client(client_abort_inflight);
}
END_TEST

/* Discovery login declaring a small MaxRecvDataSegmentLength. */
static void cl_login_discovery(struct client *c)
{
	static const char *const sec[] = {"InitiatorName=" TEST_INITIATOR, "SessionType=Discovery",
					  "AuthMethod=None", NULL};
	static const char *const ops[] = {"HeaderDigest=None", "DataDigest=None",
					  "MaxRecvDataSegmentLength=512", NULL};
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	uint8_t text[512];

	cl_connect(c);
	bhs[0] = ISCSI_OP_LOGIN_REQ | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = ISCSI_LOGIN_FLAG_TRANSIT | ISCSI_STAGE_OPERATIONAL;
	bhs[8] = 0x80;
	put_be32(bhs + 16, c->itt);
	put_be32(bhs + 24, c->cmdsn);
	cl_send(c, bhs, text, cl_text(text, sec));
	CL_CHECK(cl_recv(c) && get_be16(c->rsp + 36) == ISCSI_LOGIN_SUCCESS);
	bhs[1] = ISCSI_LOGIN_FLAG_TRANSIT | (ISCSI_STAGE_OPERATIONAL << ISCSI_LOGIN_CSG_SHIFT) |
		 ISCSI_STAGE_FULL_FEATURE;
	put_be32(bhs + 28, get_be32(c->rsp + 24) + 1);
	cl_send(c, bhs, text, cl_text(text, ops));
	CL_CHECK(cl_recv(c) && get_be16(c->rsp + 36) == ISCSI_LOGIN_SUCCESS);
}

#define EXTRA_TARGETS	   12
#define TEXT_FLAG_CONTINUE 0x40 /* §11.11.1 C bit */

/* SendTargets=All longer than 512 bytes: pieces with C=1 and a TTT (§11.11). */
static void client_sendtargets(void)
{
	struct client c;
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	static char all[16384];
	uint32_t len = 0, pieces = 0, ttt = ISCSI_RESERVED_TAG;
	static const uint8_t tur[6];
	char addr[64];

	cl_login_discovery(&c);
	for (;;) {
		memset(bhs, 0, sizeof(bhs));
		bhs[0] = ISCSI_OP_TEXT_REQ | ISCSI_FLAG_IMMEDIATE;
		bhs[1] = ISCSI_FLAG_FINAL;
		put_be32(bhs + 16, c.itt);
		put_be32(bhs + 20, ttt);
		put_be32(bhs + 24, c.cmdsn);
		if (pieces == 0) {
			cl_send(&c, bhs, "SendTargets=All", sizeof("SendTargets=All"));
		} else {
			cl_send(&c, bhs, NULL, 0);
		}
		CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_TEXT_RSP);
		CL_CHECK(c.dlen <= 512 && len + c.dlen < sizeof(all));
		memcpy(all + len, c.data, c.dlen);
		len += c.dlen;
		pieces++;
		ttt = get_be32(c.rsp + 20);
		if (c.rsp[1] & ISCSI_FLAG_FINAL) {
			CL_CHECK(ttt == ISCSI_RESERVED_TAG && !(c.rsp[1] & TEXT_FLAG_CONTINUE));
			break;
		}
		CL_CHECK(ttt != ISCSI_RESERVED_TAG && (c.rsp[1] & TEXT_FLAG_CONTINUE));
		CL_CHECK(pieces < 64);
	}
	CL_CHECK(pieces > 1);
	all[len] = '\0';
	/* Every target, each with the portal we came in on. */
	for (int i = 0; i < EXTRA_TARGETS; i++) {
		char name[128];

		snprintf(name, sizeof(name),
			 "TargetName=" TEST_TARGET "-with-a-rather-long-name-%02d", i);
		CL_CHECK(memmem(all, len, name, strlen(name)) != NULL);
	}
	snprintf(addr, sizeof(addr), "TargetAddress=%s,1", test_portal);
	CL_CHECK(memmem(all, len, addr, strlen(addr)) != NULL);
	/* A SCSI command in a discovery session: Reject (protocol error). */
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	cl_expect_reject(&c, ISCSI_REJECT_PROTOCOL_ERROR, ISCSI_OP_SCSI_CMD);
}

START_TEST(test_sendtargets)
{
	struct scsi_port_info port = {.rel_port_id = 1, .tpg_id = 1};
	struct scsi_target *extra[EXTRA_TARGETS];

	for (int i = 0; i < EXTRA_TARGETS; i++) {
		char name[128];

		snprintf(name, sizeof(name), TEST_TARGET "-with-a-rather-long-name-%02d", i);
		ck_assert_int_eq(scsi_target_create(loop, name, &port, &extra[i]), 0);
		ck_assert_int_eq(iscsi_target_register(server, extra[i], NULL), 0);
	}
	ck_assert_int_eq(iscsi_target_register(server, extra[0], NULL), -EEXIST);
	run_client(client_sendtargets);
	for (int i = 0; i < EXTRA_TARGETS; i++) {
		ck_assert_int_eq(iscsi_target_unregister(server, scsi_target_name(extra[i])), 0);
		scsi_target_destroy(extra[i]);
	}
}
END_TEST

static void client_reinstatement(void)
{
	const uint8_t isid[6] = {0x80, 0x12, 0x34, 0x56, 0x00, 0x09};
	struct client a, b, x;

	cl_connect(&a);
	CL_CHECK(cl_login(&a, isid, 0) == ISCSI_LOGIN_SUCCESS);
	/* Same InitiatorName + ISID, TSIH 0: the old session goes (§6.3.5). */
	cl_connect(&b);
	CL_CHECK(cl_login(&b, isid, 0) == ISCSI_LOGIN_SUCCESS);
	CL_CHECK(cl_closed(&a));
	cl_nop_echo(&b, "new session");
	/* A second connection to the live session: MaxConnections=1. */
	cl_connect(&x);
	CL_CHECK(cl_login(&x, isid, b.tsih) == ISCSI_LOGIN_TOO_MANY_CONNECTIONS);
	close(x.fd);
	cl_connect(&x);
	CL_CHECK(cl_login(&x, isid, (uint16_t)(b.tsih + 100)) ==
		 ISCSI_LOGIN_SESSION_DOES_NOT_EXIST);
}

START_TEST(test_reinstatement)
{
	run_client(client_reinstatement);
}
END_TEST

static void count_session(const struct iscsi_session_info *info, void *ctx)
{
	if (!info->discovery && strcmp(info->target_name, TEST_TARGET) == 0 &&
	    strcmp(info->initiator_name, TEST_INITIATOR) == 0 && info->connections == 1) {
		*(uint16_t *)ctx = info->tsih;
	}
}

static void hook_close_session(void)
{
	uint16_t tsih = 0;

	iscsi_server_foreach_session(server, count_session, &tsih);
	if (tsih) {
		ck_assert_int_eq(iscsi_session_close(server, tsih), 0);
		ck_assert_int_eq(iscsi_session_close(server, tsih), -ENOENT);
	}
}

static void client_admin_close(void)
{
	struct client c;
	struct timeval tv = {.tv_sec = 5};

	cl_login_ok(&c, 6);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CL_CHECK(cl_closed(&c));
}

START_TEST(test_admin_close)
{
	server_hook = hook_close_session;
	run_client(client_admin_close);
}
END_TEST

static void client_acl(void)
{
	const uint8_t isid[6] = {0x80, 0x12, 0x34, 0x56, 0x00, 0x0a};
	struct client c;

	cl_connect(&c);
	CL_CHECK(cl_login(&c, isid, 0) == ISCSI_LOGIN_FORBIDDEN);
	CL_CHECK(cl_closed(&c));
}

START_TEST(test_acl)
{
	ck_assert_int_eq(iscsi_target_acl_add(server, TEST_TARGET, "iqn.2026-11.org.quorate:other"),
			 0);
	ck_assert_int_eq(iscsi_target_acl_add(server, TEST_TARGET, "iqn.2026-11.org.quorate:other"),
			 -EEXIST);
	ck_assert_int_eq(iscsi_target_acl_add(server, "iqn.2026-11.org.quorate:nope", "x"),
			 -ENOENT);
	run_client(client_acl);
	ck_assert_int_eq(
		iscsi_target_acl_remove(server, TEST_TARGET, "iqn.2026-11.org.quorate:other"), 0);
	ck_assert_int_eq(
		iscsi_target_acl_remove(server, TEST_TARGET, "iqn.2026-11.org.quorate:other"),
		-ENOENT);
}
END_TEST

START_TEST(test_portal_parse)
{
	char v6[32];

	ck_assert_int_eq(iscsi_server_add_portal(server, "127.0.0.1"), -EINVAL);
	ck_assert_int_eq(iscsi_server_add_portal(server, "[::1"), -EINVAL);
	snprintf(v6, sizeof(v6), "[::1]:%u", test_port);
	ck_assert_int_eq(iscsi_server_add_portal(server, v6), 0);
	ck_assert_int_eq(iscsi_server_add_portal(server, test_portal), -EADDRINUSE);
}
END_TEST

static Suite *iscsiconn_suite(void)
{
	Suite *s = suite_create("iscsiconn");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_login_nop_logout);
	tcase_add_test(tc, test_bad_pdus);
	tcase_add_test(tc, test_cmdsn_window);
	tcase_add_test(tc, test_task_pool);
	tcase_add_test(tc, test_read_write);
	tcase_add_test(tc, test_tmf);
	tcase_add_test(tc, test_abort_inflight);
	tcase_add_test(tc, test_sendtargets);
	tcase_add_test(tc, test_reinstatement);
	tcase_add_test(tc, test_admin_close);
	tcase_add_test(tc, test_acl);
	tcase_add_test(tc, test_portal_parse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(iscsiconn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
