// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Admission of connections and logins: what keeps anonymous or hostile
 * peers from taking what authenticated initiators need.
 *
 *  - Descriptors: when accept4() fails for want of a descriptor or memory
 *    (EMFILE, ENFILE, ENOBUFS, ENOMEM) the listening sockets stay readable
 *    and a level-triggered loop would call us again at once, forever. The
 *    listeners leave the loop for ADMIT_ACCEPT_PAUSE_MS instead, and the
 *    failure is logged once per ADMIT_ACCEPT_LOG_MS. At start-up the soft
 *    RLIMIT_NOFILE is raised to the hard limit (iscsi_raise_fd_limit()).
 *  - Connections that have not finished login hold a descriptor and buffers
 *    without having proved anything: at most max_login_connections of them,
 *    and a quarter of that from one source address; beyond that a new
 *    connection is closed as soon as it is accepted (the initiator retries),
 *    so they cannot exhaust the descriptors logged-in sessions and new
 *    logins need, and one address cannot take all the slots.
 *  - Discovery sessions are counted apart from normal sessions, up to
 *    max_discovery_sessions (max_sessions counts normal sessions only), and
 *    one that sent nothing but NOP-Outs for discovery_idle_timeout seconds
 *    is closed (a SendTargets exchange takes milliseconds; open-iscsi and
 *    Windows log out right after it).
 *  - CHAP failures are counted per initiator name and per source address
 *    (table below). After ADMIT_AUTH_FREE_FAILURES failures in a row, each
 *    further failure blocks CHAP verification for that name and that
 *    address for 1 s, 2 s, 4 s, ... up to chap_backoff_max seconds: a login
 *    that reaches CHAP_R in that time is refused with 0x0301 (service
 *    unavailable, which initiators retry later) without looking at its
 *    response, so a guesser gets a handful of tries a minute instead of
 *    hundreds a second. A successful CHAP login clears both entries.
 *  - Log lines about refused logins and back-off go through a limiter of
 *    ADMIT_LOG_BURST lines per ADMIT_LOG_INTERVAL_MS; the next line that
 *    passes says how many were suppressed.
 *
 * All of it runs on the loop thread; the failure table has a fixed size
 * (oldest entry evicted) so no peer can make it grow.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "daemon/iscsi/iscsi_int.h"
#include "daemon/base/log.h"

#define ADMIT_ACCEPT_PAUSE_MS 1000u	/* listeners off after EMFILE & co. */
#define ADMIT_ACCEPT_LOG_MS 10000u	/* one line per this about it */
#define ADMIT_SWEEP_MS 1000u		/* idle discovery session check */
#define ADMIT_LOG_BURST 5u
#define ADMIT_LOG_INTERVAL_MS 10000u
#define ADMIT_LOGIN_ADDR_SHARE 4u	/* one address: 1/4 of max_login_connections */
#define ADMIT_AUTH_FREE_FAILURES 3u	/* typos cost nothing */
#define ADMIT_AUTH_BASE_MS 1000u	/* first back-off */
#define ADMIT_AUTH_FORGET_MS (15u * 60u * 1000u) /* failures older than this are forgotten */
#define MS_PER_S 1000u
#define NS_PER_MS 1000000ull

/* ---------------------------------------------------------------- logging */

bool iscsi_log_limit_pass(struct iscsi_log_limit *l, uint32_t burst, uint32_t interval_ms,
			  uint64_t *suppressed)
{
	uint64_t now = iscsi_now_ms();

	if (l->window_start == 0 || now - l->window_start >= interval_ms) {
		l->window_start = now;
		l->in_window = 0;
	}
	if (l->in_window >= burst) {
		l->suppressed++;
		return false;
	}
	l->in_window++;
	*suppressed = l->suppressed;
	l->suppressed = 0;
	return true;
}

/* A login-related notice through the server's limiter. */
#define admit_log(server, lvl, fmt, ...)                                                      \
	do {                                                                                  \
		uint64_t sup_;                                                                \
		if (iscsi_log_limit_pass(&(server)->admit.login_log, ADMIT_LOG_BURST,         \
					 ADMIT_LOG_INTERVAL_MS, &sup_)) {                     \
			if (sup_) {                                                           \
				qb_log(lvl, "iscsi: " fmt " (%" PRIu64 " similar messages "   \
					    "suppressed)", ##__VA_ARGS__, sup_);              \
			} else {                                                              \
				qb_log(lvl, "iscsi: " fmt, ##__VA_ARGS__);                    \
			}                                                                     \
		}                                                                             \
	} while (0)

void iscsi_admit_log_login_failure(struct iscsi_conn *conn, const char *what, uint16_t status,
				   const char *reason)
{
	admit_log(conn->server, LOG_NOTICE, "[%s] %s failed: status 0x%04x: %s", conn->peer,
		  what, status, reason);
}

/* ------------------------------------------------------------- descriptors */

/* The address part of "addr:port" / "[v6]:port". */
static void peer_addr(const char *peer, char *out, size_t cap)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);

	snprintf(out, cap, "%.*s", (int)n, peer);
}

void iscsi_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) {
		return;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
		log_info("iscsi: open file limit raised to %llu", (unsigned long long)rl.rlim_cur);
	} else {
		log_notice("iscsi: cannot raise the open file limit to %llu: %s",
			   (unsigned long long)rl.rlim_max, strerror(errno));
	}
}

static void admit_accept_resume(void *data)
{
	struct iscsi_server *server = data;
	struct iscsi_portal *p;

	server->admit.accept_timer_armed = false;
	server->admit.accept_paused = false;
	qb_list_for_each_entry(p, &server->portals, node) {
		if (qb_loop_poll_add(server->loop, QB_LOOP_MED, p->fd, POLLIN, p,
				     iscsi_portal_accept_cb) != 0) {
			log_err("iscsi: cannot resume listening on %s", p->addr);
		}
	}
}

bool iscsi_admit_accept_failed(struct iscsi_portal *portal, int err)
{
	struct iscsi_server *server = portal->server;
	struct iscsi_admit *a = &server->admit;
	struct iscsi_portal *p;
	uint64_t now = iscsi_now_ms();

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		return false;
	}
	a->accept_failures++;
	if (a->accept_log_ms == 0 || now - a->accept_log_ms >= ADMIT_ACCEPT_LOG_MS) {
		log_warn("iscsi: accept on %s: %s; not accepting connections for %u ms "
			 "(%" PRIu64 " such failures since the last message)",
			 portal->addr, strerror(err), ADMIT_ACCEPT_PAUSE_MS, a->accept_failures);
		a->accept_log_ms = now;
		a->accept_failures = 0;
	}
	if (a->accept_paused) {
		return true;
	}
	qb_list_for_each_entry(p, &server->portals, node) {
		qb_loop_poll_del(server->loop, p->fd);
	}
	a->accept_paused = true;
	if (qb_loop_timer_add(server->loop, QB_LOOP_LOW, ADMIT_ACCEPT_PAUSE_MS * NS_PER_MS, server,
			      admit_accept_resume, &a->accept_timer) == 0) {
		a->accept_timer_armed = true;
	} else {
		/* No timer: listening again at once beats never again. */
		admit_accept_resume(server);
	}
	return true;
}

bool iscsi_admit_conn(struct iscsi_server *server, const char *peer)
{
	uint32_t cap = server->cfg.max_login_connections;
	uint32_t per_addr = cap / ADMIT_LOGIN_ADDR_SHARE > 0 ? cap / ADMIT_LOGIN_ADDR_SHARE : 1;
	char addr[ISCSI_ADDR_STR_MAX], caddr[ISCSI_ADDR_STR_MAX];
	struct iscsi_conn *c;
	uint32_t n = 0, n_addr = 0;

	if (cap == 0) {
		return true;
	}
	peer_addr(peer, addr, sizeof(addr));
	qb_list_for_each_entry(c, &server->conns, node) {
		if (c->state != ISCSI_CONN_LOGIN) {
			continue;
		}
		n++;
		peer_addr(c->peer, caddr, sizeof(caddr));
		if (strcmp(caddr, addr) == 0) {
			n_addr++;
		}
	}
	if (n < cap && n_addr < per_addr) {
		return true;
	}
	admit_log(server, LOG_NOTICE,
		  "[%s] connection refused: %" PRIu32 " connections (%" PRIu32 " from this "
		  "address) have not finished login (max_login_connections %" PRIu32
		  ", %" PRIu32 " per address)", peer, n, n_addr, cap, per_addr);
	return false;
}

/* ------------------------------------------------------ discovery sessions */

static void admit_sweep_arm(struct iscsi_server *server);

static void admit_sweep(void *data)
{
	struct iscsi_server *server = data;
	uint64_t now = iscsi_now_ms();
	uint64_t limit = (uint64_t)server->cfg.discovery_idle_timeout_s * MS_PER_S;
	struct iscsi_conn *c, *cn;

	server->admit.sweep_armed = false;
	qb_list_for_each_entry_safe(c, cn, &server->conns, node) {
		if (c->state == ISCSI_CONN_FULL_FEATURE && c->session && c->session->discovery &&
		    now - c->last_request_ms >= limit) {
			iscsi_conn_close(c, "discovery session idle");
		}
	}
	admit_sweep_arm(server);
}

static void admit_sweep_arm(struct iscsi_server *server)
{
	if (server->admit.sweep_armed || server->ndiscovery == 0 ||
	    server->cfg.discovery_idle_timeout_s == 0 || server->destroying) {
		return;
	}
	if (qb_loop_timer_add(server->loop, QB_LOOP_LOW, ADMIT_SWEEP_MS * NS_PER_MS, server,
			      admit_sweep, &server->admit.sweep_timer) == 0) {
		server->admit.sweep_armed = true;
	}
}

int iscsi_admit_discovery(struct iscsi_server *server, const char *peer)
{
	if (server->cfg.max_discovery_sessions &&
	    server->ndiscovery >= server->cfg.max_discovery_sessions) {
		admit_log(server, LOG_NOTICE,
			  "[%s] discovery session refused: %" PRIu32
			  " discovery sessions (max_discovery_sessions)", peer, server->ndiscovery);
		return -EBUSY;
	}
	return 0;
}

void iscsi_admit_discovery_started(struct iscsi_conn *conn)
{
	conn->last_request_ms = iscsi_now_ms();
	admit_sweep_arm(conn->server);
}

/* ------------------------------------------------------------ CHAP back-off */


static struct iscsi_auth_fail *auth_find(struct iscsi_admit *a, char kind, const char *key,
					 bool create, uint64_t now)
{
	struct iscsi_auth_fail *f, *victim = NULL;

	for (unsigned int i = 0; i < ISCSI_AUTH_TRACK; i++) {
		f = &a->auth[i];
		if (f->kind != '\0' && now - f->last_ms >= ADMIT_AUTH_FORGET_MS) {
			f->kind = '\0';
		}
		if (f->kind == kind && strcmp(f->key, key) == 0) {
			return f;
		}
		/* Victim: a free slot, else the entry with the oldest failure. */
		if (f->kind == '\0') {
			if (!victim || victim->kind != '\0') {
				victim = f;
			}
		} else if (!victim || (victim->kind != '\0' && f->last_ms < victim->last_ms)) {
			victim = f;
		}
	}
	if (!create) {
		return NULL;
	}
	memset(victim, 0, sizeof(*victim));
	victim->kind = kind;
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	return victim;
}

int iscsi_admit_chap_attempt(struct iscsi_conn *conn, const char *initiator)
{
	struct iscsi_admit *a = &conn->server->admit;
	uint64_t now = iscsi_now_ms(), until = 0;
	char addr[ISCSI_ADDR_STR_MAX];
	struct iscsi_auth_fail *f;

	if (conn->server->cfg.chap_backoff_max_s == 0) {
		return 0;
	}
	peer_addr(conn->peer, addr, sizeof(addr));
	f = auth_find(a, 'i', initiator, false, now);
	if (f && f->until_ms > until) {
		until = f->until_ms;
	}
	f = auth_find(a, 'a', addr, false, now);
	if (f && f->until_ms > until) {
		until = f->until_ms;
	}
	if (until <= now) {
		return 0;
	}
	admit_log(conn->server, LOG_NOTICE,
		  "[%s] CHAP of '%s' refused: back-off after failed authentications, "
		  "%" PRIu64 " ms left", conn->peer, initiator, until - now);
	return -EAGAIN;
}

static void auth_note_failure(struct iscsi_auth_fail *f, uint64_t now, uint64_t max_ms)
{
	uint64_t delay;

	f->failures++;
	f->last_ms = now;
	if (f->failures <= ADMIT_AUTH_FREE_FAILURES) {
		return;
	}
	delay = f->failures - ADMIT_AUTH_FREE_FAILURES - 1u >= 32u ?
			max_ms :
			(uint64_t)ADMIT_AUTH_BASE_MS << (f->failures - ADMIT_AUTH_FREE_FAILURES - 1u);
	if (delay > max_ms) {
		delay = max_ms;
	}
	f->until_ms = now + delay;
}

void iscsi_admit_chap_result(struct iscsi_conn *conn, const char *initiator, bool ok)
{
	struct iscsi_admit *a = &conn->server->admit;
	uint64_t now = iscsi_now_ms();
	uint64_t max_ms = (uint64_t)conn->server->cfg.chap_backoff_max_s * MS_PER_S;
	char addr[ISCSI_ADDR_STR_MAX];
	struct iscsi_auth_fail *fi, *fa;

	if (max_ms == 0) {
		return;
	}
	peer_addr(conn->peer, addr, sizeof(addr));
	fi = auth_find(a, 'i', initiator, !ok, now);
	if (ok) {
		if (fi) {
			fi->kind = '\0';
		}
		fa = auth_find(a, 'a', addr, false, now);
		if (fa) {
			fa->kind = '\0';
		}
		return;
	}
	auth_note_failure(fi, now, max_ms);
	fa = auth_find(a, 'a', addr, true, now);
	auth_note_failure(fa, now, max_ms);
}

/* ---------------------------------------------------------------- lifetime */

void iscsi_admit_fini(struct iscsi_server *server)
{
	struct iscsi_admit *a = &server->admit;

	if (a->accept_timer_armed) {
		qb_loop_timer_del(server->loop, a->accept_timer);
		a->accept_timer_armed = false;
	}
	if (a->sweep_armed) {
		qb_loop_timer_del(server->loop, a->sweep_timer);
		a->sweep_armed = false;
	}
}
