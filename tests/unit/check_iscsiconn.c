// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the iSCSI server (daemon/iscsi/libiscsi.a) against the real
 * SCSI layer on a null backing store: the server runs on a qb_loop in the
 * test process, a forked client speaks raw PDUs over loopback TCP (the first
 * free port of 14150-14199, this test's range) and exits non-zero on the first
 * unexpected answer. Each test checks one documented reaction of conn.c, session.c,
 * scsi_cmd.c or tmf.c (see the comments at the top of those files).
 *
 * test_steady_state_no_alloc checks the data path's promise (iscsi_int.h,
 * loop_pass.h, backing.h) that nothing is allocated per command once the
 * pools are warm, by counting the heap calls of the statically linked
 * project code (see "allocation counting" below).
 */
#include <arpa/inet.h>
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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
#include "daemon/base/io_stats.h"
#include "daemon/iscsi/iscsi.h"
#include "daemon/iscsi/pdu.h"
#include "daemon/base/loop_pass.h"
#include "daemon/scsi/scsi.h"
#include "tests/unit/check_main.h"

/* This test's port range; parallel runs of it take different ports. */
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

/* ---------------------------------------------------- allocation counting */

/*
 * This binary is linked with -Wl,--wrap=malloc,... (daemon/iscsi/local.mk),
 * so every call that the statically linked objects (libiscsi.a, libscsi.a,
 * libbacking.a, libloop_pass.a, libreservations.a, this file and the static
 * libcheck) make to one of the functions below reaches __wrap_X, which
 * counts it and calls the real one (__real_X; under ASan that is the
 * sanitizer's malloc, so counting works there too).
 *
 * --wrap rewrites only references in the objects being linked, never calls
 * made inside shared libraries. So calls inside libc, libqb and liburing are
 * not counted, which is what we want, but it also means glibc's strdup()
 * calling its internal malloc is invisible to __wrap_malloc: strdup and
 * strndup are wrapped themselves. For the same reason the libqb calls that
 * allocate inside libqb (a job, a timer, a poll entry) are counted where our
 * code calls them.
 */
enum alloc_fn {
	ALLOC_MALLOC,
	ALLOC_CALLOC,
	ALLOC_REALLOC,
	ALLOC_REALLOCARRAY,
	ALLOC_POSIX_MEMALIGN,
	ALLOC_ALIGNED_ALLOC,
	ALLOC_STRDUP,
	ALLOC_STRNDUP,
	ALLOC_QB_JOB,
	ALLOC_QB_TIMER,
	ALLOC_QB_POLL,
	ALLOC_FNS,
};

static const char *const alloc_fn_name[ALLOC_FNS] = {
	[ALLOC_MALLOC] = "malloc",
	[ALLOC_CALLOC] = "calloc",
	[ALLOC_REALLOC] = "realloc",
	[ALLOC_REALLOCARRAY] = "reallocarray",
	[ALLOC_POSIX_MEMALIGN] = "posix_memalign",
	[ALLOC_ALIGNED_ALLOC] = "aligned_alloc",
	[ALLOC_STRDUP] = "strdup",
	[ALLOC_STRNDUP] = "strndup",
	[ALLOC_QB_JOB] = "qb_loop_job_add",
	[ALLOC_QB_TIMER] = "qb_loop_timer_add",
	[ALLOC_QB_POLL] = "qb_loop_poll_add",
};

/* The first distinct call sites after alloc_reset(), for the failure message. */
#define ALLOC_SITES_MAX 8u

static unsigned long alloc_calls[ALLOC_FNS];
static struct {
	enum alloc_fn fn;
	void *ret;
	unsigned long calls;
} alloc_sites[ALLOC_SITES_MAX];
static unsigned int alloc_nsites;
/* > 0 while the test's own loop plumbing calls a wrapped function. */
static unsigned int alloc_ignore;

static void alloc_reset(void)
{
	memset(alloc_calls, 0, sizeof(alloc_calls));
	alloc_nsites = 0;
}

static void alloc_note(enum alloc_fn fn, void *ret)
{
	if (alloc_ignore) {
		return;
	}
	alloc_calls[fn]++;
	for (unsigned int i = 0; i < alloc_nsites; i++) {
		if (alloc_sites[i].ret == ret) {
			alloc_sites[i].calls++;
			return;
		}
	}
	if (alloc_nsites < ALLOC_SITES_MAX) {
		alloc_sites[alloc_nsites].fn = fn;
		alloc_sites[alloc_nsites].ret = ret;
		alloc_sites[alloc_nsites].calls = 1;
		alloc_nsites++;
	}
}

#define ALLOC_CALLER() __builtin_return_address(0)

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__real_reallocarray(void *p, size_t n, size_t size);
void *__wrap_reallocarray(void *p, size_t n, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);
int __wrap_posix_memalign(void **p, size_t align, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
char *__real_strdup(const char *s);
char *__wrap_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
char *__wrap_strndup(const char *s, size_t n);
int32_t __real_qb_loop_job_add(qb_loop_t *l, enum qb_loop_priority p, void *data,
			       qb_loop_job_dispatch_fn fn);
int32_t __wrap_qb_loop_job_add(qb_loop_t *l, enum qb_loop_priority p, void *data,
			       qb_loop_job_dispatch_fn fn);
int32_t __real_qb_loop_timer_add(qb_loop_t *l, enum qb_loop_priority p, uint64_t ns, void *data,
				 qb_loop_timer_dispatch_fn fn, qb_loop_timer_handle *out);
int32_t __wrap_qb_loop_timer_add(qb_loop_t *l, enum qb_loop_priority p, uint64_t ns, void *data,
				 qb_loop_timer_dispatch_fn fn, qb_loop_timer_handle *out);
int32_t __real_qb_loop_poll_add(qb_loop_t *l, enum qb_loop_priority p, int32_t fd, int32_t events,
				void *data, qb_loop_poll_dispatch_fn fn);
int32_t __wrap_qb_loop_poll_add(qb_loop_t *l, enum qb_loop_priority p, int32_t fd, int32_t events,
				void *data, qb_loop_poll_dispatch_fn fn);

void *__wrap_malloc(size_t size)
{
	alloc_note(ALLOC_MALLOC, ALLOC_CALLER());
	return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	alloc_note(ALLOC_CALLOC, ALLOC_CALLER());
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	alloc_note(ALLOC_REALLOC, ALLOC_CALLER());
	return __real_realloc(p, size);
}

void *__wrap_reallocarray(void *p, size_t n, size_t size)
{
	alloc_note(ALLOC_REALLOCARRAY, ALLOC_CALLER());
	return __real_reallocarray(p, n, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
	alloc_note(ALLOC_POSIX_MEMALIGN, ALLOC_CALLER());
	return __real_posix_memalign(p, align, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
	alloc_note(ALLOC_ALIGNED_ALLOC, ALLOC_CALLER());
	return __real_aligned_alloc(align, size);
}

char *__wrap_strdup(const char *s)
{
	alloc_note(ALLOC_STRDUP, ALLOC_CALLER());
	return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	alloc_note(ALLOC_STRNDUP, ALLOC_CALLER());
	return __real_strndup(s, n);
}

int32_t __wrap_qb_loop_job_add(qb_loop_t *l, enum qb_loop_priority p, void *data,
			       qb_loop_job_dispatch_fn fn)
{
	alloc_note(ALLOC_QB_JOB, ALLOC_CALLER());
	return __real_qb_loop_job_add(l, p, data, fn);
}

int32_t __wrap_qb_loop_timer_add(qb_loop_t *l, enum qb_loop_priority p, uint64_t ns, void *data,
				 qb_loop_timer_dispatch_fn fn, qb_loop_timer_handle *out)
{
	alloc_note(ALLOC_QB_TIMER, ALLOC_CALLER());
	return __real_qb_loop_timer_add(l, p, ns, data, fn, out);
}

int32_t __wrap_qb_loop_poll_add(qb_loop_t *l, enum qb_loop_priority p, int32_t fd, int32_t events,
				void *data, qb_loop_poll_dispatch_fn fn)
{
	alloc_note(ALLOC_QB_POLL, ALLOC_CALLER());
	return __real_qb_loop_poll_add(l, p, fd, events, data, fn);
}

/* "file+0xoffset" of a return address, for addr2line -f -i -e file 0xoffset. */
static void alloc_site_str(void *ret, char *buf, size_t len)
{
	Dl_info di;

	if (dladdr(ret, &di) && di.dli_fname) {
		const char *base = strrchr(di.dli_fname, '/');

		snprintf(buf, len, "%s+0x%lx", base ? base + 1 : di.dli_fname,
			 (unsigned long)((uintptr_t)ret - (uintptr_t)di.dli_fbase));
	} else {
		snprintf(buf, len, "%p", ret);
	}
}

/* ------------------------------------------------------------ server side */

static qb_loop_t *loop;
static unsigned int test_port;
static char test_portal[32];
static struct iscsi_server *server;
static struct scsi_target *target;
static pid_t client_pid;
static int client_status;
static void (*server_hook)(void);

/* The LU configuration every LUN of these tests starts from (LUN 0: null store). */
static struct scsi_lu_config test_lu_config(void)
{
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

	return lu;
}

/* TARGET COLD RESET allowed for the next setup_server() (test_cold_reset_inflight). */
static bool setup_allow_cold_reset;

/* Server with a CmdSN window of @queue_depth and LUN 0 on the null store. */
static void setup_server(uint32_t queue_depth)
{
	struct scsi_port_info port = {.rel_port_id = 1, .tpg_id = 1};
	struct scsi_lu_config lu = test_lu_config();
	struct iscsi_server_config cfg = {
		.tpgt = 1,
		.max_recv_dsl = 262144,
		.max_burst = 262144,
		.first_burst = 65536,
		.max_outstanding_r2t = 1,
		.queue_depth = queue_depth,
		.max_sessions = 8,
		.allow_cold_reset = setup_allow_cold_reset,
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

static void setup(void)
{
	setup_allow_cold_reset = false;
	setup_server(16);
}

static void setup_cold_reset(void)
{
	setup_allow_cold_reset = true;
	setup_server(16);
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
	/* The test's own timer is not the data path's allocation. */
	alloc_ignore++;
	qb_loop_timer_add(loop, QB_LOOP_LOW, POLL_MS * 1000000ull, NULL, poll_child, &th);
	alloc_ignore--;
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

/*
 * Session statistics (iscsi.h, daemon/base/io_stats.h): a known sequence of
 * commands, some answered by the SCSI layer and two by the transport
 * itself (a Data-Out error, an EDTL beyond ISCSI_EDTL_MAX), moves the
 * session's counters and the LU's by exactly those commands.
 */
static struct io_stats stats_seen;
static bool stats_sampled;

static void stats_sample(const struct iscsi_session_info *info, void *ctx)
{
	(void)ctx;
	if (!info->discovery && info->connections == 1) {
		ck_assert_ptr_nonnull(info->stats);
		stats_seen = *info->stats;
		stats_sampled = true;
	}
}

static void hook_session_stats(void)
{
	iscsi_server_foreach_session(server, stats_sample, NULL);
}

static void client_session_stats(void)
{
	static const uint8_t tur[6];
	static const uint8_t unknown[6] = {0xc0};
	uint8_t read8[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0};
	uint8_t read1[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t write1[10] = {0x2a, 0, 0, 0, 0, 0x10, 0, 0, 1, 0};
	uint8_t write4[10] = {0x2a, 0, 0, 0, 0, 0x20, 0, 0, 4, 0};
	uint8_t big[10] = {0x28, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0};
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	static uint8_t payload[2048];
	struct client c;

	cl_login_ok(&c, 11);
	/* A new I_T nexus: one POWER ON unit attention, then GOOD. */
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	CL_CHECK(cl_recv(&c) && c.rsp[3] == SCSI_STATUS_CHECK_CONDITION);
	CL_CHECK((c.data[2 + 2] & 0x0f) == 0x06);
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	CL_CHECK(cl_recv(&c) && c.rsp[3] == SCSI_STATUS_GOOD);
	/* 4096 bytes read; then 512 of an EDTL of 1000 (underflow). */
	cl_scsi(&c, read8, sizeof(read8), 4096, true, false, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_DATA_IN);
	CL_CHECK(c.dlen == 4096 && (c.rsp[1] & ISCSI_DATAIN_FLAG_STATUS));
	cl_scsi(&c, read1, sizeof(read1), 1000, true, false, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_DATA_IN);
	CL_CHECK(c.dlen == TEST_BLOCK && (c.rsp[1] & ISCSI_DATAIN_FLAG_STATUS));
	/* 512 bytes written as immediate data. */
	cl_scsi(&c, write1, sizeof(write1), TEST_BLOCK, false, true, payload, TEST_BLOCK);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_SCSI_RSP);
	CL_CHECK(c.rsp[3] == SCSI_STATUS_GOOD);
	/* The transport's own answers: a wrong DataSN (4B/00), a huge EDTL (24/00). */
	cl_scsi(&c, write4, sizeof(write4), 2048, false, true, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_R2T);
	bhs[0] = ISCSI_OP_DATA_OUT;
	bhs[1] = ISCSI_FLAG_FINAL;
	put_be32(bhs + 16, c.itt);
	put_be32(bhs + 20, get_be32(c.rsp + 20));
	put_be32(bhs + 36, 7);
	cl_send(&c, bhs, payload, 2048);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_SCSI_RSP);
	CL_CHECK(c.rsp[3] == SCSI_STATUS_CHECK_CONDITION && (c.data[2 + 2] & 0x0f) == 0x0b);
	cl_scsi(&c, big, sizeof(big), 0xfffffff0u, true, false, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_SCSI_RSP);
	CL_CHECK(c.rsp[3] == SCSI_STATUS_CHECK_CONDITION && (c.data[2 + 2] & 0x0f) == 0x05);
	/* An opcode nobody knows: ILLEGAL REQUEST from the SCSI layer. */
	cl_scsi(&c, unknown, sizeof(unknown), 0, false, false, NULL, 0);
	CL_CHECK(cl_recv(&c) && c.rsp[3] == SCSI_STATUS_CHECK_CONDITION);
	CL_CHECK((c.data[2 + 2] & 0x0f) == 0x05);
	cl_nop_echo(&c, "done");
	CL_CHECK(cl_silent(&c)); /* the server samples the final counters meanwhile */
}

static uint64_t stats_hist_count(const struct io_stats *s)
{
	uint64_t n = 0;

	for (unsigned int k = 0; k < IO_STATS_LAT_BUCKETS; k++) {
		n += s->latency[k];
	}
	return n;
}

START_TEST(test_session_stats)
{
	const struct io_stats *lu;

	stats_sampled = false;
	server_hook = hook_session_stats;
	run_client(client_session_stats);
	ck_assert(stats_sampled);
	ck_assert_uint_eq(stats_seen.commands[IO_STATS_READ], 3);
	ck_assert_uint_eq(stats_seen.commands[IO_STATS_WRITE], 2);
	ck_assert_uint_eq(stats_seen.commands[IO_STATS_OTHER], 3);
	ck_assert_uint_eq(stats_seen.read_bytes, 4096 + TEST_BLOCK);
	ck_assert_uint_eq(stats_seen.written_bytes, TEST_BLOCK);
	for (unsigned int k = 0; k < IO_STATS_SENSE_KEYS; k++) {
		uint64_t want = k == 0x06 ? 1 : k == 0x0b ? 1 : k == 0x05 ? 2 : 0;

		ck_assert_msg(stats_seen.errors[k] == want, "%s: %llu", io_stats_sense_key_name(k),
			      (unsigned long long)stats_seen.errors[k]);
	}
	ck_assert_uint_eq(stats_seen.reservation_conflicts, 0);
	/* The two commands the transport answered have no SCSI-layer latency. */
	ck_assert_uint_eq(stats_hist_count(&stats_seen), 8 - 2);
	/* The LU saw only the six that reached it. */
	lu = scsi_lu_stats(target, 0);
	ck_assert_ptr_nonnull(lu);
	ck_assert_uint_eq(lu->commands[IO_STATS_READ], 2);
	ck_assert_uint_eq(lu->commands[IO_STATS_WRITE], 1);
	ck_assert_uint_eq(lu->commands[IO_STATS_OTHER], 3);
	ck_assert_uint_eq(lu->read_bytes, 4096 + TEST_BLOCK);
	ck_assert_uint_eq(lu->written_bytes, TEST_BLOCK);
	ck_assert_uint_eq(lu->errors[0x06], 1);
	ck_assert_uint_eq(lu->errors[0x05], 1);
	ck_assert_uint_eq(lu->errors[0x0b], 0);
	ck_assert_uint_eq(stats_hist_count(lu), 6);
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

	struct client other;

	cl_login_ok(&other, 6);
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
	/* Cold reset is not allowed by default: refused, nothing dropped. */
	bhs[1] = ISCSI_FLAG_FINAL | ISCSI_TMF_TARGET_COLD_RESET;
	put_be64(bhs + 8, 0);
	put_be32(bhs + 16, ++c.itt);
	cl_send(&c, bhs, NULL, 0);
	CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_TMF_RSP);
	CL_CHECK(c.rsp[2] == ISCSI_TMF_RSP_AUTH_FAILED);
	cl_nop_echo(&c, "after cold reset");
	/* The warm reset left the other initiator's session up (SAM-5: it
	 * resets the LUs, not the nexuses); it sees the reset's UA. */
	cl_nop_echo(&other, "other session");
	{
		static const uint8_t tur[6];

		cl_scsi(&other, tur, sizeof(tur), 0, false, false, NULL, 0);
		CL_CHECK(cl_recv(&other) && iscsi_bhs_opcode(other.rsp) == ISCSI_OP_SCSI_RSP);
		CL_CHECK(other.rsp[3] == SCSI_STATUS_CHECK_CONDITION);
	}
}

START_TEST(test_tmf)
{
	run_client(client_tmf);
}
END_TEST

/*
 * Issue 8 item 1: a command in flight in the backing store and TARGET COLD
 * RESET in one segment. The aborted READ's completion releases the held-back
 * TMF response, which closes the connection after sending: that close must
 * not run inside the completion (it freed the task and the session under
 * it: use-after-free). With allow_cold_reset the reset answers, every
 * session of the target is dropped, and the server goes on serving.
 */
static void client_cold_reset_inflight(void)
{
	struct client c, other, after;
	uint8_t pdus[2 * ISCSI_BHS_LEN] = {0};
	uint8_t *rd = pdus, *tmf = pdus + ISCSI_BHS_LEN;

	cl_login_ok(&other, 10);
	cl_login_ok(&c, 9);
	cl_clear_ua(&c);
	for (int round = 0; round < 2; round++) {
		rd[0] = ISCSI_OP_SCSI_CMD;
		rd[1] = ISCSI_FLAG_FINAL | ISCSI_CMD_FLAG_READ | SCSI_TASK_SIMPLE;
		put_be32(rd + 16, ++c.itt);
		put_be32(rd + 20, 512 * 1024);
		put_be32(rd + 24, c.cmdsn++);
		rd[32] = 0x28;
		put_be16(rd + 32 + 7, (512 * 1024) / TEST_BLOCK);
		tmf[0] = ISCSI_OP_TMF_REQ | ISCSI_FLAG_IMMEDIATE;
		tmf[1] = ISCSI_FLAG_FINAL | ISCSI_TMF_TARGET_COLD_RESET;
		put_be32(tmf + 16, ++c.itt);
		put_be32(tmf + 20, ISCSI_RESERVED_TAG);
		put_be32(tmf + 24, c.cmdsn);
		CL_CHECK(send(c.fd, pdus, sizeof(pdus), 0) == sizeof(pdus));
		CL_CHECK(cl_recv(&c));
		CL_CHECK(iscsi_bhs_opcode(c.rsp) == ISCSI_OP_TMF_RSP);
		CL_CHECK(c.rsp[2] == ISCSI_TMF_RSP_COMPLETE);
		CL_CHECK(cl_closed(&c));
		CL_CHECK(cl_closed(&other));
		close(c.fd);
		close(other.fd);
		/* Still serving. */
		cl_login_ok(&other, 10);
		cl_login_ok(&c, 9);
		cl_clear_ua(&c);
	}
	cl_login_ok(&after, 11);
	cl_nop_echo(&after, "alive");
}

START_TEST(test_cold_reset_inflight)
{
	run_client(client_cold_reset_inflight);
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

/*
 * Issue 8 item 19: the first ACL entry shuts out a logged-in initiator. Its
 * session gets an Asynchronous Message asking for logout within 5 s
 * (AsyncEvent 1, Parameter3), new commands get Reject "waiting for logout",
 * and a logout then ends it; a new login is refused.
 */
static unsigned int evict_ended = UINT32_MAX;

static void hook_acl_evict(void)
{
	uint16_t tsih = 0;

	iscsi_server_foreach_session(server, count_session, &tsih);
	if (tsih && evict_ended == UINT32_MAX) {
		ck_assert_int_eq(
			iscsi_target_acl_add(server, TEST_TARGET, "iqn.2026-11.org.quorate:other"), 0);
		evict_ended = iscsi_target_end_unadmitted(server, TEST_TARGET);
		/* Asked once: a second call ends nothing more. */
		ck_assert_uint_eq(iscsi_target_end_unadmitted(server, TEST_TARGET), 0);
	}
}

static void client_acl_evict(void)
{
	const uint8_t isid[6] = {0x80, 0x12, 0x34, 0x56, 0x00, 0x0b};
	static const uint8_t tur[6];
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	struct client c;

	cl_login_ok(&c, 0x0b);
	CL_CHECK(cl_recv(&c));
	CL_CHECK(iscsi_bhs_opcode(c.rsp) == ISCSI_OP_ASYNC_MSG);
	CL_CHECK(c.rsp[36] == ISCSI_ASYNC_LOGOUT_REQUEST);
	CL_CHECK(get_be16(c.rsp + 42) == 5);
	cl_scsi(&c, tur, sizeof(tur), 0, false, false, NULL, 0);
	cl_expect_reject(&c, ISCSI_REJECT_WAITING_FOR_LOGOUT, ISCSI_OP_SCSI_CMD);
	bhs[0] = ISCSI_OP_LOGOUT_REQ | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = ISCSI_FLAG_FINAL | ISCSI_LOGOUT_CLOSE_SESSION;
	put_be32(bhs + 16, ++c.itt);
	put_be32(bhs + 24, c.cmdsn);
	cl_send(&c, bhs, NULL, 0);
	CL_CHECK(cl_recv(&c));
	CL_CHECK(iscsi_bhs_opcode(c.rsp) == ISCSI_OP_LOGOUT_RSP && c.rsp[2] == ISCSI_LOGOUT_RSP_OK);
	CL_CHECK(cl_closed(&c));
	close(c.fd);
	cl_connect(&c);
	CL_CHECK(cl_login(&c, isid, 0) == ISCSI_LOGIN_FORBIDDEN);
}

START_TEST(test_acl_evict)
{
	evict_ended = UINT32_MAX;
	server_hook = hook_acl_evict;
	run_client(client_acl_evict);
	ck_assert_uint_eq(evict_ended, 1);
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

/*
 * RFC 7143 §4.2.2.1: an initiator with nothing outstanding must be able to
 * learn that the window reopened. A full window of READs on the null store
 * completes in one loop pass, so every response is stamped while all the
 * window's tasks are still held. The window the initiator then knows must
 * be open, or the target must announce the reopening (NOP-In, ITT
 * 0xffffffff, §11.19) by itself.
 */
static void client_window_reopens(void)
{
	struct client c;
	uint8_t cdb[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0};
	uint32_t base, n, max_seen = 0;

	cl_login_ok(&c, 0x12);
	cl_clear_ua(&c);
	cl_nop_echo(&c, "idle");
	base = c.cmdsn;
	n = get_be32(c.rsp + 32) - base + 1;
	CL_CHECK(n == 16);
	c.cmdsn = base + 1;
	for (uint32_t i = 1; i < n; i++) {
		cl_scsi(&c, cdb, sizeof(cdb), 8 * TEST_BLOCK, true, false, NULL, 0);
	}
	c.cmdsn = base;
	cl_scsi(&c, cdb, sizeof(cdb), 8 * TEST_BLOCK, true, false, NULL, 0);
	c.cmdsn = base + n;
	for (uint32_t i = 0; i < n; i++) {
		CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_DATA_IN);
		CL_CHECK((c.rsp[1] & ISCSI_DATAIN_FLAG_STATUS) && c.rsp[3] == SCSI_STATUS_GOOD);
		if ((int32_t)(get_be32(c.rsp + 32) - max_seen) > 0 || i == 0) {
			max_seen = get_be32(c.rsp + 32);
		}
	}
	if ((int32_t)(max_seen - c.cmdsn) < 0) {
		fprintf(stderr, "client: window closed after the burst: MaxCmdSN %u, CmdSN %u\n",
			max_seen, c.cmdsn);
		/* Closed: the target must reopen it without being asked. */
		CL_CHECK(cl_recv(&c) && iscsi_bhs_opcode(c.rsp) == ISCSI_OP_NOP_IN);
		CL_CHECK(iscsi_bhs_itt(c.rsp) == ISCSI_RESERVED_TAG);
		CL_CHECK((int32_t)(get_be32(c.rsp + 32) - c.cmdsn) >= 0);
	}
	cl_nop_echo(&c, "after");
}

START_TEST(test_window_reopens)
{
	run_client(client_window_reopens);
}
END_TEST

/* ------------------------------------------- no allocation in steady state */

/*
 * The data path allocates nothing per command once its pools are warm
 * (iscsi_int.h): the session's task pool, the server's size-classed buffer
 * pool, each LU's I/O contexts (sbc.c), each connection's control PDU cache,
 * the shared receive staging buffer; transmit descriptors are embedded and
 * loop_pass/engine deferral uses embedded links. The client logs in, warms
 * the pools, tells the server (a pipe, outside the iSCSI stream) that it is
 * idle, which resets the counters, runs ALLOC_STEADY_CMDS more commands of
 * the same mix, drains them and tells the server again. Between the two
 * marks the server was busy with data-path work only, and no counted
 * function may have been called.
 *
 * Warming is deterministic, not statistical: a pool never holds more than
 * the peak number of objects in use at once, and that peak is bounded by the
 * CmdSN window (ALLOC_QD tasks, each with at most one buffer and one I/O
 * context) and by ALLOC_NOP_QD for NOP-Ins. For every command kind the
 * warm-up sends a full window in one go with the first command held back, so
 * the other ALLOC_QD - 1 wait behind the CmdSN gap holding their task and
 * buffer, and the first one releases all of them into the SCSI layer in one
 * pass: every pool reaches the bound the later mix can never exceed.
 *
 * LUNs cover every backing path of backing/file.c: 0 the null store, 1 a
 * tmpfs file (copied at submit), 2 a file on disk through the page cache
 * (RWF_NOWAIT, else io_uring), 3 the same with O_DIRECT (always io_uring);
 * FUA writes take io_uring everywhere. Busy polling is on, as in quorated.
 */
#define ALLOC_QD	   32u /* queue_depth of this fixture: the CmdSN window */
#define ALLOC_NOP_QD	   4u  /* NOP-Outs in flight at most */
#define ALLOC_WARM_CMDS	   200u
#define ALLOC_STEADY_CMDS  2000u
#define ALLOC_BATCH_MAX	   8u  /* commands per send() in the mix */
#define ALLOC_SLOTS	   64u /* client's ITT table, > ALLOC_QD + ALLOC_NOP_QD */
#define ALLOC_LUNS	   4u
#define ALLOC_LBA_STEPS	   4096u /* start LBAs: 4 KiB steps over the first 16 MiB */
#define ALLOC_LEN_MAX	   262144u
#define ALLOC_IMM_MAX	   65536u /* FirstBurstLength cl_login() negotiates */
#define ALLOC_BUSY_POLL_US 50u
#define ALLOC_NOP_DATA	   "steady"
#define ALLOC_MARK_WARM	   'W' /* client idle after the warm-up: start counting */
#define ALLOC_MARK_END	   'E' /* client idle after the measured run: stop */
#define ALLOC_SYNC_MS	   3000
#define SCSI_OP_READ10	   0x28
#define SCSI_OP_WRITE10	   0x2a
#define CDB_FUA		   0x08

/* One command shape, sent to each of the ALLOC_LUNS LUNs. */
struct alloc_shape {
	bool write;
	bool fua;
	uint32_t len;
	uint32_t imm; /* immediate data bytes; the rest is solicited by R2T */
};

static const struct alloc_shape alloc_shapes[] = {
	{false, false, 4096, 0},      /* one Data-In, status collapsed */
	{false, false, 65536, 0},     /* one Data-In of the client's MRDSL */
	{false, false, 262144, 0},    /* four Data-In */
	{true, false, 4096, 4096},    /* immediate data through the stage */
	{true, false, 65536, 65536},  /* immediate data, FirstBurstLength */
	{true, false, 65536, 0},      /* R2T, one Data-Out */
	{true, false, 262144, 65536}, /* immediate + R2T for 192 KiB, three Data-Out */
	{true, true, 4096, 4096},     /* FUA: io_uring with RWF_DSYNC on files */
};

#define ALLOC_SHAPES (sizeof(alloc_shapes) / sizeof(alloc_shapes[0]))
#define ALLOC_KINDS  (ALLOC_SHAPES * ALLOC_LUNS)

struct alloc_cmd {
	bool busy;
	bool nop;
	uint16_t lun;
	const struct alloc_shape *shape;
	uint32_t itt;
	uint32_t done;	 /* Data-In received, or write data sent */
	uint32_t datasn; /* next Data-In DataSN */
};

struct alloc_client {
	struct client c;
	uint32_t max_cmdsn;
	uint32_t cmds_out; /* SCSI commands without their status yet */
	uint32_t nops_out;
	uint32_t rng;
	struct alloc_cmd cmd[ALLOC_SLOTS];
};

/* Server side: the pipes and what the counters said at each mark. */
static int alloc_mark_fd[2] = {-1, -1}; /* client -> server */
static int alloc_ack_fd[2] = {-1, -1};	/* server -> client */
static unsigned long alloc_warm[ALLOC_FNS], alloc_steady[ALLOC_FNS];
static unsigned int alloc_steady_nsites;
static bool alloc_counting, alloc_counted;

/* Client side: one send()'s worth of PDUs, and the data they carry. */
static uint8_t alloc_tx[(ALLOC_QD + ALLOC_NOP_QD) * (ISCSI_BHS_LEN + ALLOC_IMM_MAX)];
static uint8_t alloc_pattern[ALLOC_LEN_MAX];

static uint32_t alloc_rand(struct alloc_client *a)
{
	/* Numerical Recipes LCG: the mix is the same on every run. */
	a->rng = a->rng * 1664525u + 1013904223u;
	return a->rng >> 8;
}

static void alloc_send(struct alloc_client *a, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t w = send(a->c.fd, buf, len, 0);

		CL_CHECK(w > 0);
		buf += w;
		len -= (size_t)w;
	}
}

static struct alloc_cmd *alloc_slot_get(struct alloc_client *a)
{
	struct alloc_cmd *cmd;

	do {
		a->c.itt++;
		cmd = &a->cmd[a->c.itt % ALLOC_SLOTS];
	} while (cmd->busy || a->c.itt == ISCSI_RESERVED_TAG);
	memset(cmd, 0, sizeof(*cmd));
	cmd->busy = true;
	cmd->itt = a->c.itt;
	return cmd;
}

/* Append a READ(10)/WRITE(10) with its immediate data at @off; @return the new end. */
static size_t alloc_put_cmd(struct alloc_client *a, size_t off, uint16_t lun,
			    const struct alloc_shape *sh)
{
	struct alloc_cmd *cmd = alloc_slot_get(a);
	uint8_t *bhs = alloc_tx + off;
	uint32_t lba = (alloc_rand(a) % ALLOC_LBA_STEPS) * (4096u / TEST_BLOCK);

	CL_CHECK(off + ISCSI_BHS_LEN + sh->imm <= sizeof(alloc_tx));
	cmd->lun = lun;
	cmd->shape = sh;
	cmd->done = sh->imm;
	memset(bhs, 0, ISCSI_BHS_LEN);
	bhs[0] = ISCSI_OP_SCSI_CMD;
	/* F: InitialR2T=Yes, so no unsolicited Data-Out follows. */
	bhs[1] = ISCSI_FLAG_FINAL | (sh->write ? ISCSI_CMD_FLAG_WRITE : ISCSI_CMD_FLAG_READ) |
		 SCSI_TASK_SIMPLE;
	put_be64(bhs + 8, (uint64_t)lun << 48);
	put_be32(bhs + 16, cmd->itt);
	put_be32(bhs + 20, sh->len);
	put_be32(bhs + 24, a->c.cmdsn++);
	bhs[32] = sh->write ? SCSI_OP_WRITE10 : SCSI_OP_READ10;
	bhs[33] = sh->fua ? CDB_FUA : 0;
	put_be32(bhs + 34, lba);
	put_be16(bhs + 39, (uint16_t)(sh->len / TEST_BLOCK));
	iscsi_bhs_set_data_len(bhs, sh->imm);
	memcpy(bhs + ISCSI_BHS_LEN, alloc_pattern, sh->imm); /* multiple of 4: no pad */
	a->cmds_out++;
	return off + ISCSI_BHS_LEN + sh->imm;
}

/* Append an immediate NOP-Out (ping) at @off; @return the new end. */
static size_t alloc_put_nop(struct alloc_client *a, size_t off)
{
	struct alloc_cmd *cmd = alloc_slot_get(a);
	uint8_t *bhs = alloc_tx + off;
	uint32_t len = sizeof(ALLOC_NOP_DATA) - 1;

	CL_CHECK(off + ISCSI_BHS_LEN + ISCSI_PAD(len) <= sizeof(alloc_tx));
	cmd->nop = true;
	memset(bhs, 0, ISCSI_BHS_LEN + ISCSI_PAD(len));
	bhs[0] = ISCSI_OP_NOP_OUT | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = ISCSI_FLAG_FINAL;
	put_be32(bhs + 16, cmd->itt);
	put_be32(bhs + 20, ISCSI_RESERVED_TAG);
	put_be32(bhs + 24, a->c.cmdsn);
	iscsi_bhs_set_data_len(bhs, len);
	memcpy(bhs + ISCSI_BHS_LEN, ALLOC_NOP_DATA, len);
	a->nops_out++;
	return off + ISCSI_BHS_LEN + ISCSI_PAD(len);
}

/* Answer an R2T (§11.8) with Data-Out PDUs of at most CLIENT_MRDSL bytes. */
static void alloc_data_out(struct alloc_client *a, struct alloc_cmd *cmd)
{
	const uint8_t *r2t = a->c.rsp;
	uint32_t ttt = get_be32(r2t + 20), off = get_be32(r2t + 40), len = get_be32(r2t + 44);
	size_t n = 0;

	CL_CHECK(cmd->shape->write && off == cmd->done && len > 0 && len <= cmd->shape->len - off);
	for (uint32_t sn = 0, sent = 0; sent < len; sn++) {
		uint32_t piece = len - sent < CLIENT_MRDSL ? len - sent : CLIENT_MRDSL;
		uint8_t *bhs = alloc_tx + n;

		memset(bhs, 0, ISCSI_BHS_LEN);
		bhs[0] = ISCSI_OP_DATA_OUT;
		bhs[1] = sent + piece == len ? ISCSI_FLAG_FINAL : 0;
		put_be64(bhs + 8, (uint64_t)cmd->lun << 48);
		put_be32(bhs + 16, cmd->itt);
		put_be32(bhs + 20, ttt);
		put_be32(bhs + 36, sn);
		put_be32(bhs + 40, off + sent);
		iscsi_bhs_set_data_len(bhs, piece);
		memcpy(bhs + ISCSI_BHS_LEN, alloc_pattern + off + sent, piece);
		n += ISCSI_BHS_LEN + piece;
		sent += piece;
	}
	cmd->done += len;
	alloc_send(a, alloc_tx, n);
}

/* Receive and check one PDU; answer R2Ts. */
static void alloc_recv_one(struct alloc_client *a)
{
	struct client *c = &a->c;
	uint8_t op;
	uint32_t itt, max;
	struct alloc_cmd *cmd;

	CL_CHECK(cl_recv(c));
	op = iscsi_bhs_opcode(c->rsp);
	itt = iscsi_bhs_itt(c->rsp);
	cmd = &a->cmd[itt % ALLOC_SLOTS];
	CL_CHECK(cmd->busy && cmd->itt == itt);
	max = get_be32(c->rsp + 32);
	if ((int32_t)(max - a->max_cmdsn) > 0) {
		a->max_cmdsn = max;
	}
	switch (op) {
	case ISCSI_OP_NOP_IN:
		CL_CHECK(cmd->nop && c->dlen == sizeof(ALLOC_NOP_DATA) - 1 &&
			 memcmp(c->data, ALLOC_NOP_DATA, c->dlen) == 0);
		cmd->busy = false;
		a->nops_out--;
		return;
	case ISCSI_OP_R2T:
		CL_CHECK(!cmd->nop);
		alloc_data_out(a, cmd);
		return;
	case ISCSI_OP_DATA_IN:
		CL_CHECK(!cmd->nop && !cmd->shape->write);
		CL_CHECK(get_be32(c->rsp + 36) == cmd->datasn++);
		CL_CHECK(get_be32(c->rsp + 40) == cmd->done && c->dlen > 0);
		cmd->done += c->dlen;
		if (!(c->rsp[1] & ISCSI_DATAIN_FLAG_STATUS)) {
			return;
		}
		CL_CHECK(c->rsp[3] == SCSI_STATUS_GOOD && cmd->done == cmd->shape->len);
		CL_CHECK(!(c->rsp[1] & (ISCSI_RSP_FLAG_UNDERFLOW | ISCSI_RSP_FLAG_OVERFLOW)));
		break;
	case ISCSI_OP_SCSI_RSP:
		CL_CHECK(!cmd->nop);
		if (c->rsp[3] != SCSI_STATUS_GOOD) {
			fprintf(stderr,
				"client: lun %u op %s len %u: status 0x%02x sense %02x/%02x\n",
				cmd->lun, cmd->shape->write ? "write" : "read", cmd->shape->len,
				c->rsp[3], c->dlen > 4 ? c->data[2 + 12] : 0,
				c->dlen > 4 ? c->data[2 + 13] : 0);
		}
		CL_CHECK(cmd->shape->write && c->rsp[2] == ISCSI_RESPONSE_COMPLETED);
		CL_CHECK(c->rsp[3] == SCSI_STATUS_GOOD && cmd->done == cmd->shape->len);
		break;
	default:
		CL_CHECK(!"unexpected PDU");
	}
	cmd->busy = false;
	a->cmds_out--;
}

static void alloc_drain(struct alloc_client *a)
{
	while (a->cmds_out || a->nops_out) {
		alloc_recv_one(a);
	}
}

/* Idle, one NOP exchange: the answer carries the whole window again. */
static void alloc_idle_window(struct alloc_client *a)
{
	alloc_send(a, alloc_tx, alloc_put_nop(a, 0));
	alloc_drain(a);
	CL_CHECK(a->max_cmdsn - a->c.cmdsn + 1 == ALLOC_QD);
}

/*
 * ALLOC_QD commands of one kind at once, the first one sent last: the
 * others wait behind the CmdSN gap (§4.2.2.1) holding task and buffer, and
 * it releases them all into the SCSI layer in one pass.
 */
static void alloc_saturate(struct alloc_client *a, uint16_t lun, const struct alloc_shape *sh)
{
	uint32_t base;
	size_t n = 0;

	alloc_idle_window(a);
	base = a->c.cmdsn;
	a->c.cmdsn = base + 1;
	for (uint32_t i = 1; i < ALLOC_QD; i++) {
		n = alloc_put_cmd(a, n, lun, sh);
	}
	alloc_send(a, alloc_tx, n);
	a->c.cmdsn = base;
	alloc_send(a, alloc_tx, alloc_put_cmd(a, 0, lun, sh));
	a->c.cmdsn = base + ALLOC_QD;
	alloc_drain(a);
}

/*
 * @n commands of random kinds in batches of 1..ALLOC_BATCH_MAX per send(),
 * at most 8, 16 or 32 in flight (changing every 64 commands) and never
 * beyond MaxCmdSN, a NOP-Out in about every fourth batch.
 */
static void alloc_mix(struct alloc_client *a, uint32_t n)
{
	static const uint32_t depths[] = {8, 16, ALLOC_QD};
	uint32_t sent = 0, k = 0;

	while (sent < n || a->cmds_out || a->nops_out) {
		uint32_t depth = depths[(sent / 64) % (sizeof(depths) / sizeof(depths[0]))];
		int32_t room = (int32_t)(a->max_cmdsn - a->c.cmdsn) + 1;
		size_t len = 0;

		if (sent < n && k == 0) {
			k = 1 + alloc_rand(a) % ALLOC_BATCH_MAX;
			k = k < n - sent ? k : n - sent;
		}
		if (sent < n && !a->cmds_out && !a->nops_out && (int32_t)k > room) {
			/* Idle behind a window the last responses announced
			 * (nearly) closed: they were stamped while the tasks
			 * completed in the same pass were still held, and the
			 * server announces nothing when they are freed. Ask
			 * for the current MaxCmdSN with an immediate NOP-Out,
			 * as initiators do. */
			len = alloc_put_nop(a, 0);
			alloc_send(a, alloc_tx, len);
			alloc_recv_one(a);
			CL_CHECK((int32_t)(a->max_cmdsn - a->c.cmdsn) + 1 >= (int32_t)k);
			continue;
		}
		if (sent == n || a->cmds_out + k > depth || (int32_t)k > room) {
			alloc_recv_one(a);
			continue;
		}
		for (; k; k--, sent++) {
			uint32_t kind = alloc_rand(a) % ALLOC_KINDS;

			len = alloc_put_cmd(a, len, (uint16_t)(kind / ALLOC_SHAPES),
					    &alloc_shapes[kind % ALLOC_SHAPES]);
		}
		if (alloc_rand(a) % 4 == 0 && a->nops_out < ALLOC_NOP_QD) {
			len = alloc_put_nop(a, len);
		}
		alloc_send(a, alloc_tx, len);
	}
}

/* Tell the server the client is idle; wait until it has seen it. */
static void alloc_mark(char mark)
{
	struct pollfd pfd = {.fd = alloc_ack_fd[0], .events = POLLIN};
	char ack;

	CL_CHECK(write(alloc_mark_fd[1], &mark, 1) == 1);
	CL_CHECK(poll(&pfd, 1, ALLOC_SYNC_MS) == 1);
	CL_CHECK(read(alloc_ack_fd[0], &ack, 1) == 1 && ack == mark);
}

static void client_alloc(void)
{
	static struct alloc_client a;
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(alloc_pattern); i++) {
		alloc_pattern[i] = (uint8_t)(i * 7 + 3);
	}
	a.rng = 0x5eed;
	cl_login_ok(&a.c, 0x11);
	/* A send() into a server that stopped reading must fail, not hang. */
	setsockopt(a.c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	a.max_cmdsn = get_be32(a.c.rsp + 32);
	for (uint16_t lun = 0; lun < ALLOC_LUNS; lun++) {
		static const uint8_t tur[6];
		uint8_t bhs[ISCSI_BHS_LEN] = {0};
		int i;

		/* Power on / LUNs changed unit attentions, one TUR each. */
		for (i = 0; i < 4; i++) {
			bhs[0] = ISCSI_OP_SCSI_CMD;
			bhs[1] = ISCSI_FLAG_FINAL | SCSI_TASK_SIMPLE;
			put_be64(bhs + 8, (uint64_t)lun << 48);
			put_be32(bhs + 16, ++a.c.itt);
			put_be32(bhs + 24, a.c.cmdsn++);
			memcpy(bhs + 32, tur, sizeof(tur));
			cl_send(&a.c, bhs, NULL, 0);
			CL_CHECK(cl_recv(&a.c) && iscsi_bhs_opcode(a.c.rsp) == ISCSI_OP_SCSI_RSP);
			if (a.c.rsp[3] == SCSI_STATUS_GOOD) {
				break;
			}
		}
		CL_CHECK(i < 4);
	}
	a.max_cmdsn = get_be32(a.c.rsp + 32);
	/* Warm-up: the control PDU cache (ALLOC_NOP_QD NOP-Ins queued in one
	 * pass), then a full window of every kind, then the mix. */
	for (uint32_t i = 0; i < ALLOC_NOP_QD; i++) {
		n = alloc_put_nop(&a, n);
	}
	alloc_send(&a, alloc_tx, n);
	alloc_drain(&a);
	for (uint32_t kind = 0; kind < ALLOC_KINDS; kind++) {
		alloc_saturate(&a, (uint16_t)(kind / ALLOC_SHAPES),
			       &alloc_shapes[kind % ALLOC_SHAPES]);
	}
	alloc_mix(&a, ALLOC_WARM_CMDS);
	alloc_mark(ALLOC_MARK_WARM);
	alloc_mix(&a, ALLOC_STEADY_CMDS);
	alloc_mark(ALLOC_MARK_END);
	cl_nop_echo(&a.c, "done");
}

/* Server side of alloc_mark(): take the counters' state, acknowledge. */
static int32_t alloc_mark_cb(int32_t fd, int32_t revents, void *data)
{
	char mark;
	(void)revents;
	(void)data;

	if (read(fd, &mark, 1) != 1) {
		return 0;
	}
	/* No ck_* here: the static libcheck allocates, and it would count. */
	if (mark == ALLOC_MARK_WARM && !alloc_counting) {
		memcpy(alloc_warm, alloc_calls, sizeof(alloc_warm));
		alloc_reset();
		alloc_counting = true;
	} else if (mark == ALLOC_MARK_END && alloc_counting) {
		memcpy(alloc_steady, alloc_calls, sizeof(alloc_steady));
		alloc_steady_nsites = alloc_nsites;
		alloc_counting = false;
		alloc_counted = true;
	}
	if (write(alloc_ack_fd[1], &mark, 1) != 1) {
		return 0; /* the client times out and fails */
	}
	return 0;
}

static void setup_alloc(void)
{
	static const struct {
		uint16_t lun;
		const char *dir;
		bool direct_io;
	} files[] = {
		{1, "/dev/shm", false}, /* tmpfs: BACKING_INLINE_MEMORY */
		{2, "/var/tmp", false}, /* disk, page cache: RWF_NOWAIT, else io_uring */
		{3, "/var/tmp", true},	/* disk, O_DIRECT: io_uring */
	};

	setup_server(ALLOC_QD);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct scsi_lu_config lu = test_lu_config();
		char path[64], serial[sizeof(lu.serial)];
		int fd, rc;

		snprintf(path, sizeof(path), "%s/quorate-check-iscsiconn-XXXXXX", files[i].dir);
		fd = mkstemp(path);
		ck_assert_msg(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
		close(fd);
		snprintf(serial, sizeof(serial), "unit%u", (unsigned int)files[i].lun);
		lu.backing = "file";
		lu.path = path;
		lu.direct_io = files[i].direct_io;
		memcpy(lu.serial, serial, sizeof(serial));
		rc = scsi_target_add_lu(target, files[i].lun, &lu);
		/* The store keeps its descriptor; nothing is left behind. */
		unlink(path);
		ck_assert_msg(rc == 0, "LUN %u on %s: %s", files[i].lun, path, strerror(-rc));
	}
	ck_assert_int_eq(pipe2(alloc_mark_fd, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(alloc_ack_fd, O_CLOEXEC), 0);
	ck_assert_int_eq(
		qb_loop_poll_add(loop, QB_LOOP_HIGH, alloc_mark_fd[0], POLLIN, NULL, alloc_mark_cb),
		0);
	ck_assert_int_eq(loop_pass_busy_poll_start(loop, ALLOC_BUSY_POLL_US), 0);
	alloc_counting = alloc_counted = false;
}

static void teardown_alloc(void)
{
	loop_pass_busy_poll_stop();
	qb_loop_poll_del(loop, alloc_mark_fd[0]);
	for (int i = 0; i < 2; i++) {
		close(alloc_mark_fd[i]);
		close(alloc_ack_fd[i]);
	}
	teardown();
}

START_TEST(test_steady_state_no_alloc)
{
	static char msg[2048];
	unsigned long total = 0;
	size_t len = 0;

	alloc_reset();
	run_client(client_alloc);
	ck_assert_msg(alloc_counted, "the client never marked the end of the measured run");
	/* The counters work: login and warm-up grew the pools. */
	ck_assert_msg(alloc_warm[ALLOC_CALLOC] > 0 && alloc_warm[ALLOC_POSIX_MEMALIGN] > 0,
		      "no allocation counted during login and warm-up (calloc %lu, "
		      "posix_memalign %lu): is the binary linked with -Wl,--wrap=...?",
		      alloc_warm[ALLOC_CALLOC], alloc_warm[ALLOC_POSIX_MEMALIGN]);
	for (unsigned int f = 0; f < ALLOC_FNS; f++) {
		total += alloc_steady[f];
		if (alloc_steady[f]) {
			len += (size_t)snprintf(msg + len, sizeof(msg) - len, " %s x%lu",
						alloc_fn_name[f], alloc_steady[f]);
		}
	}
	for (unsigned int i = 0; i < alloc_steady_nsites && len < sizeof(msg) - 128; i++) {
		char site[128];

		alloc_site_str(alloc_sites[i].ret, site, sizeof(site));
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s %s x%lu from %s",
					i ? ";" : "; call sites (addr2line -f -i -e FILE OFFSET):",
					alloc_fn_name[alloc_sites[i].fn], alloc_sites[i].calls,
					site);
	}
	ck_assert_msg(total == 0, "%lu allocating calls in %u steady-state commands:%s", total,
		      ALLOC_STEADY_CMDS, msg);
}
END_TEST

Suite *check_suite(void)
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
	tcase_add_test(tc, test_session_stats);
	tcase_add_test(tc, test_tmf);
	tcase_add_test(tc, test_abort_inflight);
	tcase_add_test(tc, test_sendtargets);
	tcase_add_test(tc, test_reinstatement);
	tcase_add_test(tc, test_admin_close);
	tcase_add_test(tc, test_acl);
	tcase_add_test(tc, test_acl_evict);
	tcase_add_test(tc, test_portal_parse);
	tcase_add_test(tc, test_window_reopens);
	suite_add_tcase(s, tc);

	tc = tcase_create("cold_reset");
	tcase_add_checked_fixture(tc, setup_cold_reset, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cold_reset_inflight);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_checked_fixture(tc, setup_alloc, teardown_alloc);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_steady_state_no_alloc);
	suite_add_tcase(s, tc);
	return s;
}
