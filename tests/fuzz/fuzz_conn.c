// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the connection, session and task-management layer
 * (daemon/iscsi/conn.c, session.c, scsi_cmd.c, tmf.c): each input drives a
 * REAL connection of a real struct iscsi_server, over one end of a Unix
 * socketpair, through a valid login into full feature phase and then
 * through the PDU sequence the input describes, against the real SCSI
 * layer with LUN 0 on the null store and LUN 1 on a file in /dev/shm
 * (tmpfs; io_uring completions).
 *
 * The loop: the server's qb_loop calls are wrapped (-Wl,--wrap, see
 * local.mk) into a small deterministic loop here, so one input runs in
 * microseconds: registered descriptors are poll()ed with timeout 0 and
 * their callbacks run until nothing is ready; timers only fire when the
 * input asks for it (NOP-In pings, login timeout).
 *
 * Input: byte 0 picks the login's digests and data keys (bits 0..6) and
 * whether TARGET COLD RESET is allowed (bit 7 clear), then records:
 *   byte k: action = k & 7:
 *     0..4  a PDU: 48 bytes of BHS follow (zero padded at the end of the
 *           input), then its data segment (DataSegmentLength & 0x1ffff
 *           bytes, taken from the input, zero padded). Bits of k fix it up
 *           so the fuzzer gets past the cheap checks: 0x08 opcode from the
 *           table of initiator opcodes, 0x10 CmdSN/ExpStatSN as the session
 *           expects, 0x20 a Data-Out answers the last R2T (ITT, TTT,
 *           offset), 0x40 digests right (when negotiated), 0x80 several
 *           PDUs' bytes are written before the loop runs (batching);
 *     5     run the loop until idle;
 *     6     fire the pending timers;
 *     7     half-close the initiator's side (peer closed) and stop.
 * At the end the initiator's side closes and the loop runs until the
 * session is gone. Invariants: the server answers with well-formed PDUs,
 * the connection and session are freed (no task leaks: sanitizers and
 * the final check), nothing crashes.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <qb/qbloop.h>

#include "daemon/backing/backing.h"
#include "daemon/iscsi/iscsi_int.h"
#include "daemon/iscsi/pdu.h"
#include "daemon/scsi/scsi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_TARGET    "iqn.2026-11.org.quorate:fuzz"
#define FZ_INITIATOR "iqn.2026-11.org.quorate:fuzz-init"
#define FZ_FILE_SIZE (4u << 20)
#define FZ_DSL_MASK  0x1ffffu /* up to 128 KiB of data per PDU */
#define FZ_RX_MAX    (1u << 20)
#define FZ_ROUNDS    2000u /* loop rounds per "run until idle" */
#define FZ_END_WAIT_ROUNDS 20000u /* 1 ms polls for in-flight file I/O at the end */

/* ------------------------------------------------------ the wrapped loop */

struct fz_poll {
	bool used;
	int fd;
	int32_t events;
	void *data;
	qb_loop_poll_dispatch_fn fn;
};

struct fz_timer {
	bool used;
	qb_loop_timer_handle handle;
	void *data;
	qb_loop_timer_dispatch_fn fn;
};

#define FZ_POLLS  32u
#define FZ_TIMERS 32u
static struct fz_poll polls[FZ_POLLS];
static struct fz_timer timers[FZ_TIMERS];
static qb_loop_timer_handle timer_next = 1;

int32_t __wrap_qb_loop_poll_add(qb_loop_t *l, enum qb_loop_priority p, int32_t fd, int32_t events,
				void *data, qb_loop_poll_dispatch_fn fn);
int32_t __wrap_qb_loop_poll_mod(qb_loop_t *l, enum qb_loop_priority p, int32_t fd, int32_t events,
				void *data, qb_loop_poll_dispatch_fn fn);
int32_t __wrap_qb_loop_poll_del(qb_loop_t *l, int32_t fd);
int32_t __wrap_qb_loop_timer_add(qb_loop_t *l, enum qb_loop_priority p, uint64_t ns, void *data,
				 qb_loop_timer_dispatch_fn fn, qb_loop_timer_handle *out);
int32_t __wrap_qb_loop_timer_del(qb_loop_t *l, qb_loop_timer_handle h);

static struct fz_poll *poll_find(int fd)
{
	for (unsigned int i = 0; i < FZ_POLLS; i++) {
		if (polls[i].used && polls[i].fd == fd) {
			return &polls[i];
		}
	}
	return NULL;
}

int32_t __wrap_qb_loop_poll_add(qb_loop_t *l, enum qb_loop_priority p, int32_t fd, int32_t events,
				void *data, qb_loop_poll_dispatch_fn fn)
{
	(void)l;
	(void)p;
	if (poll_find(fd)) {
		return -EEXIST;
	}
	for (unsigned int i = 0; i < FZ_POLLS; i++) {
		if (!polls[i].used) {
			polls[i] = (struct fz_poll){true, fd, events, data, fn};
			return 0;
		}
	}
	return -ENOMEM;
}

int32_t __wrap_qb_loop_poll_mod(qb_loop_t *l, enum qb_loop_priority p, int32_t fd, int32_t events,
				void *data, qb_loop_poll_dispatch_fn fn)
{
	struct fz_poll *e = poll_find(fd);

	(void)l;
	(void)p;
	if (!e) {
		return -ENOENT;
	}
	e->events = events;
	e->data = data;
	e->fn = fn;
	return 0;
}

int32_t __wrap_qb_loop_poll_del(qb_loop_t *l, int32_t fd)
{
	struct fz_poll *e = poll_find(fd);

	(void)l;
	if (!e) {
		return -ENOENT;
	}
	e->used = false;
	return 0;
}

int32_t __wrap_qb_loop_timer_add(qb_loop_t *l, enum qb_loop_priority p, uint64_t ns, void *data,
				 qb_loop_timer_dispatch_fn fn, qb_loop_timer_handle *out)
{
	(void)l;
	(void)p;
	(void)ns;
	for (unsigned int i = 0; i < FZ_TIMERS; i++) {
		if (!timers[i].used) {
			timers[i] = (struct fz_timer){true, timer_next++, data, fn};
			if (out) {
				*out = timers[i].handle;
			}
			return 0;
		}
	}
	return -ENOMEM;
}

int32_t __wrap_qb_loop_timer_del(qb_loop_t *l, qb_loop_timer_handle h)
{
	(void)l;
	for (unsigned int i = 0; i < FZ_TIMERS; i++) {
		if (timers[i].used && timers[i].handle == h) {
			timers[i].used = false;
			return 0;
		}
	}
	return -ENOENT;
}

/* One round: poll every registered descriptor, run the ready callbacks. */
static bool loop_round(int timeout_ms)
{
	struct pollfd pfd[FZ_POLLS];
	unsigned int idx[FZ_POLLS], n = 0;
	bool ran = false;

	for (unsigned int i = 0; i < FZ_POLLS; i++) {
		if (polls[i].used && polls[i].events) {
			pfd[n].fd = polls[i].fd;
			pfd[n].events = (short)polls[i].events;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
	}
	if (n == 0 || poll(pfd, n, timeout_ms) <= 0) {
		return false;
	}
	for (unsigned int k = 0; k < n; k++) {
		struct fz_poll *e = &polls[idx[k]];

		/* A callback before may have removed or replaced this one. */
		if (!pfd[k].revents || !e->used || e->fd != pfd[k].fd) {
			continue;
		}
		e->fn(e->fd, pfd[k].revents, e->data);
		ran = true;
	}
	return ran;
}

static void timers_fire(void)
{
	struct fz_timer due[FZ_TIMERS];
	unsigned int n = 0;

	for (unsigned int i = 0; i < FZ_TIMERS; i++) {
		if (timers[i].used) {
			due[n++] = timers[i];
			timers[i].used = false;
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		due[i].fn(due[i].data);
	}
}

/* ------------------------------------------------ the initiator's side */

struct fz_client {
	int fd;
	bool hd, dd;	/* negotiated digests */
	uint32_t cmdsn, expstatsn, itt;
	uint32_t max_cmdsn;
	/* The last R2T: a fixed-up Data-Out answers it. */
	uint32_t r2t_itt, r2t_ttt, r2t_off, r2t_len, r2t_sent, r2t_datasn;
	uint8_t rx[FZ_RX_MAX];
	uint32_t rx_len;
	bool closed;
	uint16_t login_status;
	bool login_done;
};

static qb_loop_t *loop;
static struct iscsi_server *server;
static struct scsi_target *target;
static char shm_path[64];

static void fz_fail(const char *what)
{
	fprintf(stderr, "fuzz_conn: %s\n", what);
	abort();
}

/* Check and consume the whole PDUs the target sent. */
static void client_parse(struct fz_client *c)
{
	uint32_t off = 0;

	for (;;) {
		const uint8_t *p = c->rx + off;
		uint32_t avail = c->rx_len - off, ahs, dsl, total;
		uint8_t op;

		if (avail < ISCSI_BHS_LEN) {
			break;
		}
		ahs = (uint32_t)p[4] * 4u;
		dsl = iscsi_bhs_data_len(p);
		op = iscsi_bhs_opcode(p);
		if (ahs != 0 || dsl > FZ_RX_MAX / 2) {
			fz_fail("target sent an AHS or an oversized data segment");
		}
		total = ISCSI_BHS_LEN + (c->login_done && c->hd ? ISCSI_DIGEST_LEN : 0) +
			ISCSI_PAD(dsl) + (c->login_done && c->dd && dsl ? ISCSI_DIGEST_LEN : 0);
		if (avail < total) {
			break;
		}
		switch (op) {
		case ISCSI_OP_LOGIN_RSP:
			c->login_status = get_be16(p + 36);
			c->expstatsn = get_be32(p + 24) + 1;
			c->max_cmdsn = get_be32(p + 32);
			if ((p[1] & ISCSI_LOGIN_FLAG_TRANSIT) && (p[1] & 3) == ISCSI_STAGE_FULL_FEATURE &&
			    c->login_status == 0) {
				c->login_done = true;
			}
			break;
		case ISCSI_OP_R2T:
			c->r2t_itt = iscsi_bhs_itt(p);
			c->r2t_ttt = get_be32(p + 20);
			c->r2t_off = get_be32(p + 40);
			c->r2t_len = get_be32(p + 44);
			c->r2t_sent = 0;
			c->r2t_datasn = 0;
			c->max_cmdsn = get_be32(p + 32);
			break;
		case ISCSI_OP_NOP_IN:
		case ISCSI_OP_SCSI_RSP:
		case ISCSI_OP_TMF_RSP:
		case ISCSI_OP_LOGOUT_RSP:
		case ISCSI_OP_TEXT_RSP:
		case ISCSI_OP_REJECT:
		case ISCSI_OP_ASYNC_MSG:
		case ISCSI_OP_DATA_IN:
			if (op != ISCSI_OP_DATA_IN || (p[1] & ISCSI_DATAIN_FLAG_STATUS)) {
				c->expstatsn = get_be32(p + 24) + 1;
			}
			c->max_cmdsn = get_be32(p + 32);
			break;
		default:
			fz_fail("target sent an opcode a target never sends");
		}
		off += total;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
}

/* Read what the target sent (never blocks). */
static void client_drain(struct fz_client *c)
{
	for (;;) {
		ssize_t r;

		if (c->rx_len == FZ_RX_MAX) {
			/* Unparseable garbage filling the buffer is a framing bug. */
			fz_fail("target's stream cannot be framed");
		}
		r = read(c->fd, c->rx + c->rx_len, FZ_RX_MAX - c->rx_len);
		if (r <= 0) {
			if (r == 0) {
				c->closed = true;
			}
			break;
		}
		c->rx_len += (uint32_t)r;
		client_parse(c);
	}
}

static void run_until_idle(struct fz_client *c)
{
	for (unsigned int i = 0; i < FZ_ROUNDS; i++) {
		client_drain(c);
		if (!loop_round(0)) {
			client_drain(c);
			if (!loop_round(0)) {
				break;
			}
		}
	}
}

/* Write all of @buf, running the loop while the socket is full. */
static void client_write(struct fz_client *c, const uint8_t *buf, size_t len)
{
	unsigned int stuck = 0;

	while (len > 0) {
		ssize_t w = write(c->fd, buf, len);

		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			stuck = 0;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			return; /* the target closed: EPIPE */
		}
		run_until_idle(c);
		if (++stuck > 64) {
			return; /* the target stopped reading (closing) */
		}
	}
}

/* Append one PDU (digests as negotiated unless @bad_digest) to @out. */
static size_t pdu_wire(const struct fz_client *c, uint8_t *out, const uint8_t *bhs,
		       const uint8_t *seg, uint32_t dsl, bool bad_digest)
{
	size_t n = 0;
	uint32_t pad = ISCSI_PAD(dsl) - dsl;

	memcpy(out, bhs, ISCSI_BHS_LEN);
	iscsi_bhs_set_data_len(out, dsl);
	n = ISCSI_BHS_LEN;
	if (c->login_done && c->hd) {
		iscsi_digest_put(out + n, iscsi_crc32c(out, ISCSI_BHS_LEN) ^ (bad_digest ? 1u : 0u));
		n += ISCSI_DIGEST_LEN;
	}
	if (dsl) {
		memcpy(out + n, seg, dsl);
		memset(out + n + dsl, 0, pad);
		if (c->login_done && c->dd) {
			uint32_t crc = iscsi_crc32c_update(~0u, out + n, dsl + pad);

			iscsi_digest_put(out + n + dsl + pad, ~crc ^ (bad_digest ? 1u : 0u));
			n += ISCSI_DIGEST_LEN;
		}
		n += dsl + pad;
	}
	return n;
}

static uint32_t keys_put(uint8_t *buf, const char *const *keys)
{
	uint32_t n = 0;

	for (; *keys; keys++) {
		size_t l = strlen(*keys) + 1;

		memcpy(buf + n, *keys, l);
		n += (uint32_t)l;
	}
	return n;
}

/* Security + operational login; @mode picks digests and data keys. */
static bool client_login(struct fz_client *c, uint8_t mode)
{
	static const char *const sec[] = {"InitiatorName=" FZ_INITIATOR, "TargetName=" FZ_TARGET,
					  "SessionType=Normal", "AuthMethod=None", NULL};
	const char *ops[12];
	unsigned int k = 0;
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	uint8_t text[1024], wire[2048];
	const uint8_t isid[6] = {0x80, 0, 0, 0, 0, 1};

	ops[k++] = (mode & 1) ? "HeaderDigest=CRC32C" : "HeaderDigest=None";
	ops[k++] = (mode & 2) ? "DataDigest=CRC32C" : "DataDigest=None";
	ops[k++] = (mode & 4) ? "ImmediateData=No" : "ImmediateData=Yes";
	ops[k++] = (mode & 8) ? "InitialR2T=No" : "InitialR2T=Yes";
	ops[k++] = (mode & 16) ? "MaxRecvDataSegmentLength=512" : "MaxRecvDataSegmentLength=65536";
	ops[k++] = (mode & 32) ? "MaxBurstLength=4096" : "MaxBurstLength=262144";
	ops[k++] = (mode & 32) ? "FirstBurstLength=1024" : "FirstBurstLength=65536";
	ops[k++] = (mode & 64) ? "MaxOutstandingR2T=4" : "MaxOutstandingR2T=1";
	ops[k] = NULL;
	bhs[0] = ISCSI_OP_LOGIN_REQ | ISCSI_FLAG_IMMEDIATE;
	bhs[1] = ISCSI_LOGIN_FLAG_TRANSIT | (ISCSI_STAGE_SECURITY << ISCSI_LOGIN_CSG_SHIFT) |
		 ISCSI_STAGE_OPERATIONAL;
	memcpy(bhs + 8, isid, 6);
	put_be32(bhs + 16, c->itt);
	put_be32(bhs + 24, c->cmdsn);
	client_write(c, wire, pdu_wire(c, wire, bhs, text, keys_put(text, sec), false));
	run_until_idle(c);
	if (c->login_status != 0) {
		return false;
	}
	bhs[1] = ISCSI_LOGIN_FLAG_TRANSIT | (ISCSI_STAGE_OPERATIONAL << ISCSI_LOGIN_CSG_SHIFT) |
		 ISCSI_STAGE_FULL_FEATURE;
	put_be32(bhs + 28, c->expstatsn);
	client_write(c, wire, pdu_wire(c, wire, bhs, text, keys_put(text, ops), false));
	run_until_idle(c);
	c->hd = mode & 1;
	c->dd = mode & 2;
	return c->login_done;
}

static const uint8_t fz_opcodes[] = {
	ISCSI_OP_NOP_OUT,  ISCSI_OP_SCSI_CMD,	 ISCSI_OP_SCSI_CMD,    ISCSI_OP_SCSI_CMD,
	ISCSI_OP_TMF_REQ,  ISCSI_OP_TMF_REQ,	 ISCSI_OP_LOGIN_REQ,   ISCSI_OP_TEXT_REQ,
	ISCSI_OP_DATA_OUT, ISCSI_OP_DATA_OUT,	 ISCSI_OP_LOGOUT_REQ,  ISCSI_OP_SNACK_REQ,
	ISCSI_OP_NOP_OUT,  ISCSI_OP_DATA_OUT,	 0x1c /* vendor */,    ISCSI_OP_SCSI_CMD,
};

/* Build one PDU from the input at *pos; fixes per @ctl. @return bytes in @out. */
static size_t build_pdu(struct fz_client *c, uint8_t ctl, const uint8_t *data, size_t size,
			size_t *pos, uint8_t *out)
{
	static uint8_t seg[FZ_DSL_MASK + 1];
	uint8_t bhs[ISCSI_BHS_LEN] = {0};
	size_t take = size - *pos < ISCSI_BHS_LEN ? size - *pos : ISCSI_BHS_LEN;
	uint32_t dsl;
	uint8_t op;

	memcpy(bhs, data + *pos, take);
	*pos += take;
	if (ctl & 0x08) {
		bhs[0] = (uint8_t)((bhs[0] & ISCSI_FLAG_IMMEDIATE) |
				   fz_opcodes[bhs[0] % sizeof(fz_opcodes)]);
	}
	op = iscsi_bhs_opcode(bhs);
	bhs[4] &= 0x03; /* a small TotalAHSLength: AHS parsing, not 1 KiB of zeros */
	dsl = iscsi_bhs_data_len(bhs) & FZ_DSL_MASK;
	if ((ctl & 0x20) && op == ISCSI_OP_DATA_OUT && c->r2t_len) {
		uint32_t left = c->r2t_len - c->r2t_sent;

		put_be32(bhs + 16, c->r2t_itt);
		put_be32(bhs + 20, c->r2t_ttt);
		put_be32(bhs + 36, c->r2t_datasn++);
		put_be32(bhs + 40, c->r2t_off + c->r2t_sent);
		if (dsl > left || dsl == 0) {
			dsl = left;
		}
		if (dsl > 65536) {
			dsl = 65536;
		}
		c->r2t_sent += dsl;
		bhs[1] = c->r2t_sent >= c->r2t_len ? ISCSI_FLAG_FINAL : 0;
		bhs[4] = 0;
	}
	if (ctl & 0x10) {
		if (op != ISCSI_OP_DATA_OUT && op != ISCSI_OP_SNACK_REQ) {
			put_be32(bhs + 24, c->cmdsn);
			if (!(bhs[0] & ISCSI_FLAG_IMMEDIATE)) {
				c->cmdsn++;
			}
		}
		put_be32(bhs + 28, c->expstatsn);
	}
	take = size - *pos < dsl ? size - *pos : dsl;
	memcpy(seg, data + *pos, take);
	memset(seg + take, 0, dsl - take);
	*pos += take;
	if (bhs[4]) {
		/* AHS bytes right after the BHS: they are part of "data" here. */
		size_t n;
		uint32_t ahs = (uint32_t)bhs[4] * 4u;

		iscsi_bhs_set_data_len(bhs, dsl);
		memcpy(out, bhs, ISCSI_BHS_LEN);
		memset(out + ISCSI_BHS_LEN, 0, ahs);
		n = ISCSI_BHS_LEN + ahs;
		memcpy(out + n, seg, dsl);
		return n + ISCSI_PAD(dsl);
	}
	return pdu_wire(c, out, bhs, seg, dsl, !(ctl & 0x40) && (c->hd || c->dd));
}

static void fuzz_init(void)
{
	struct scsi_port_info port = {.rel_port_id = 1, .tpg_id = 1};
	struct scsi_lu_config lu = {
		.backing = "null",
		.size_bytes = 64u << 20,
		.block_size = 512,
		.thin = true,
		.write_cache = true,
		.naa = {0x60, 0x01},
		.serial = "FUZZ0",
		.vendor = "QUORATE",
		.product = "FUZZ",
		.revision = "0",
	};
	struct iscsi_server_config cfg = {
		.tpgt = 1,
		.max_recv_dsl = 65536,
		.max_burst = 262144,
		.first_burst = 65536,
		.max_outstanding_r2t = 4,
		.queue_depth = 16,
		.nop_interval_s = 5,
		.nop_timeout_s = 5,
		.max_sessions = 4,
	};
	int fd;

	signal(SIGPIPE, SIG_IGN);
	snprintf(shm_path, sizeof(shm_path), "/dev/shm/quorate-fuzz-conn.%d", (int)getpid());
	fd = open(shm_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, FZ_FILE_SIZE) < 0) {
		fz_fail("cannot create the tmpfs backing file");
	}
	close(fd);
	loop = qb_loop_create();
	if (!loop || backing_engine_init(loop) < 0 ||
	    scsi_target_create(loop, FZ_TARGET, &port, &target) < 0 ||
	    scsi_target_add_lu(target, 0, &lu) < 0) {
		fz_fail("setup");
	}
	lu.backing = "file";
	lu.path = shm_path;
	lu.size_bytes = 0;
	snprintf(lu.serial, sizeof(lu.serial), "FUZZ1");
	lu.naa[15] = 1;
	if (scsi_target_add_lu(target, 1, &lu) < 0 ||
	    iscsi_server_create(loop, &cfg, &server) < 0 ||
	    iscsi_target_register(server, target, NULL) < 0) {
		fz_fail("setup");
	}
	/* The file is open; its name is not needed any more. */
	unlink(shm_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_client c;
	static uint8_t wire[4 * (FZ_DSL_MASK + 1024)];
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
	int sv[2];
	size_t pos = 1, wlen = 0;

	if (!server) {
		fuzz_init();
	}
	if (size < 1) {
		return 0;
	}
	/* Both answers to TARGET COLD RESET: refused, or every session dropped. */
	server->cfg.allow_cold_reset = !(data[0] & 0x80);
	memset(&c, 0, sizeof(c));
	c.cmdsn = 1;
	c.itt = 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		fz_fail("socketpair");
	}
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (iscsi_conn_create(server, sv[0], (struct sockaddr *)&peer, (struct sockaddr *)&peer,
			      sizeof(peer)) < 0) {
		fz_fail("iscsi_conn_create");
	}
	c.fd = sv[1];
	if (!client_login(&c, data[0])) {
		fz_fail("login failed");
	}
	while (pos < size && !c.closed) {
		uint8_t ctl = data[pos++];

		switch (ctl & 7) {
		case 5:
			client_write(&c, wire, wlen);
			wlen = 0;
			run_until_idle(&c);
			break;
		case 6:
			client_write(&c, wire, wlen);
			wlen = 0;
			run_until_idle(&c);
			timers_fire();
			run_until_idle(&c);
			break;
		case 7:
			pos = size;
			break;
		default:
			wlen += build_pdu(&c, ctl, data, size, &pos, wire + wlen);
			if (!(ctl & 0x80) || wlen > sizeof(wire) / 2) {
				client_write(&c, wire, wlen);
				wlen = 0;
				run_until_idle(&c);
			}
			break;
		}
	}
	client_write(&c, wire, wlen);
	run_until_idle(&c);
	/* The initiator goes away: the connection and session must end and be
	 * freed once in-flight backing I/O is back. */
	shutdown(c.fd, SHUT_WR);
	for (unsigned int i = 0; i < FZ_END_WAIT_ROUNDS; i++) {
		client_drain(&c);
		if (qb_list_empty(&server->conns) && server->nsessions == 0) {
			break;
		}
		if (!loop_round(0)) {
			loop_round(1);
		}
	}
	close(c.fd);
	if (!qb_list_empty(&server->conns) || server->nsessions != 0) {
		fz_fail("connection or session left behind after the initiator closed");
	}
	iscsi_conn_reap_dead(server);
	/* Timers of dead connections are deleted; anything left is a leak. */
	for (unsigned int i = 0; i < FZ_TIMERS; i++) {
		if (timers[i].used) {
			fz_fail("timer left behind");
		}
	}
	return 0;
}
