// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The /metrics endpoint (metrics.h) on libmicrohttpd.
 *
 * Threading: MHD runs in its "external polling" mode (no
 * MHD_USE_INTERNAL_POLLING_THREAD), driven from the daemon's qb_loop: the
 * one epoll fd MHD keeps (MHD_USE_EPOLL, MHD_DAEMON_INFO_EPOLL_FD) is a poll
 * source of the loop, and a loop timer follows MHD_get_timeout(). So
 * MHD_run(), and with it the request handler and the render callback, runs
 * on the loop's thread, between two events of the data path: the plain
 * counters of daemon/base/io_stats.h are read where they are written, with
 * no lock, no atomic and no copy. An MHD thread would have to read them
 * while the loop writes them (torn 64-bit reads are not the problem on
 * x86-64, but a scrape would see a histogram whose count and buckets
 * disagree) or work from snapshots the loop copies; a scrape every few
 * seconds costs the loop less than either. The price: rendering runs on the
 * loop (microseconds per LUN and session), and a slow client never blocks it
 * because MHD's sockets are non-blocking in this mode.
 *
 * Limits, since the endpoint has no authentication and anyone who reaches
 * the address may connect: at most METRICS_CONN_MAX connections
 * (METRICS_PER_IP_MAX from one address), idle ones closed after
 * METRICS_IDLE_S, request bodies discarded, only GET and HEAD of /metrics
 * answered (404 for other paths, 405 for other methods).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <config.h> /* autoconf: HAVE_MICROHTTPD */
#include "daemon/base/log.h"
#include "daemon/config.h"
#include "daemon/expo.h"
#include "daemon/metrics.h"

#define METRICS_URL_MAX (CONFIG_PORTAL_MAX + sizeof("http:///metrics"))

#ifdef HAVE_MICROHTTPD

#include <microhttpd.h>

#define METRICS_PATH	   "/metrics"
#define METRICS_CONN_MAX   16
#define METRICS_PER_IP_MAX 8
#define METRICS_IDLE_S	   10
#define NS_PER_MS	   1000000ull

struct metrics_server {
	qb_loop_t *loop;
	struct MHD_Daemon *mhd;
	int epoll_fd;
	bool polled; /* epoll_fd is a poll source of the loop */
	qb_loop_timer_handle timer;
	bool timer_armed;
	metrics_render_fn render;
	void *ctx;
	char url[METRICS_URL_MAX];
};

static void metrics_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
		msg[--n] = '\0';
	}
	log_warn("metrics: %s", msg);
}

static enum MHD_Result metrics_reply(struct MHD_Connection *conn, unsigned int status,
				     const char *type, char *body, size_t len, bool owned)
{
	struct MHD_Response *rsp;
	enum MHD_Result rc;

	rsp = MHD_create_response_from_buffer(
		len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!rsp) {
		if (owned) {
			free(body);
		}
		return MHD_NO;
	}
	MHD_add_response_header(rsp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
		MHD_add_response_header(rsp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	}
	rc = MHD_queue_response(conn, status, rsp);
	MHD_destroy_response(rsp);
	return rc;
}

static enum MHD_Result metrics_access(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **req_cls)
{
	static char not_found[] = "not found: the metrics are at " METRICS_PATH "\n";
	static char not_allowed[] = "only GET and HEAD\n";
	static char failed[] = "cannot render the metrics (out of memory)\n";
	static int seen;
	struct metrics_server *m = cls;
	size_t len = 0;
	char *text;

	(void)version;
	(void)upload_data;
	if (*req_cls == NULL) {
		*req_cls = &seen; /* headers only so far: answer once the request is in */
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* a body is not asked for: discard it */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		return metrics_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
				     strlen(not_allowed), false);
	}
	if (strcmp(url, METRICS_PATH) != 0) {
		return metrics_reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
				     strlen(not_found), false);
	}
	text = m->render(&len, m->ctx);
	if (!text) {
		return metrics_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", failed,
				     strlen(failed), false);
	}
	return metrics_reply(conn, MHD_HTTP_OK, EXPO_CONTENT_TYPE, text, len, true);
}

static void metrics_timer_cb(void *data);

/* Let MHD do what is ready, then wake up again when its timeouts say. */
static void metrics_run(struct metrics_server *m)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	MHD_run(m->mhd);
	if (m->timer_armed) {
		qb_loop_timer_del(m->loop, m->timer);
		m->timer_armed = false;
	}
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES &&
	    qb_loop_timer_add(m->loop, QB_LOOP_LOW, (uint64_t)ms * NS_PER_MS, m, metrics_timer_cb,
			      &m->timer) == 0) {
		m->timer_armed = true;
	}
}

static void metrics_timer_cb(void *data)
{
	struct metrics_server *m = data;

	m->timer_armed = false;
	metrics_run(m);
}

static int32_t metrics_poll_cb(int32_t fd, int32_t revents, void *data)
{
	(void)fd;
	(void)revents;
	metrics_run(data);
	return 0;
}

/* "HOST:PORT" / "[V6]:PORT" -> getaddrinfo() result (the caller frees it). */
static int metrics_resolve(const char *host_port, struct addrinfo **res)
{
	const struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	char host[CONFIG_PORTAL_MAX + 1];
	const char *port;
	int rc;

	if (!config_portal_valid(host_port)) {
		return -EINVAL;
	}
	if (host_port[0] == '[') {
		const char *close = strchr(host_port, ']');

		snprintf(host, sizeof(host), "%.*s", (int)(close - host_port - 1), host_port + 1);
		port = close + 2;
	} else {
		const char *colon = strrchr(host_port, ':');

		snprintf(host, sizeof(host), "%.*s", (int)(colon - host_port), host_port);
		port = colon + 1;
	}
	rc = getaddrinfo(host, port, &hints, res);
	if (rc != 0) {
		log_err("metrics: cannot resolve '%s': %s", host_port, gai_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

int metrics_server_create(qb_loop_t *loop, const char *host_port, metrics_render_fn render,
			  void *ctx, struct metrics_server **out)
{
	struct metrics_server *m;
	const union MHD_DaemonInfo *info;
	struct addrinfo *ai = NULL;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int rc;

	rc = metrics_resolve(host_port, &ai);
	if (rc < 0) {
		return rc;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	m->loop = loop;
	m->render = render;
	m->ctx = ctx;
	m->epoll_fd = -1;
	snprintf(m->url, sizeof(m->url), "http://%s%s", host_port, METRICS_PATH);
	if (ai->ai_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
	}
	errno = 0;
	/* The logger first, so that MHD reports every option's trouble through it. */
	m->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, metrics_access, m, MHD_OPTION_EXTERNAL_LOGGER, metrics_log, m,
		MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)METRICS_CONN_MAX, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)METRICS_PER_IP_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)METRICS_IDLE_S, MHD_OPTION_END);
	rc = errno ? -errno : -EADDRNOTAVAIL;
	freeaddrinfo(ai);
	if (!m->mhd) {
		log_err("metrics: cannot listen on '%s': %s", host_port, strerror(-rc));
		free(m);
		return rc;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	m->epoll_fd = info ? info->epoll_fd : -1;
	rc = m->epoll_fd < 0
		     ? -EIO
		     : qb_loop_poll_add(loop, QB_LOOP_LOW, m->epoll_fd, POLLIN, m, metrics_poll_cb);
	if (rc < 0) {
		log_perror(rc, "metrics: polling the HTTP server");
		MHD_stop_daemon(m->mhd);
		free(m);
		return rc;
	}
	m->polled = true;
	metrics_run(m);
	*out = m;
	return 0;
}

void metrics_server_destroy(struct metrics_server *m)
{
	if (!m) {
		return;
	}
	if (m->timer_armed) {
		qb_loop_timer_del(m->loop, m->timer);
	}
	if (m->polled) {
		qb_loop_poll_del(m->loop, m->epoll_fd);
	}
	MHD_stop_daemon(m->mhd);
	free(m);
}

const char *metrics_server_url(const struct metrics_server *m)
{
	return m->url;
}

#else /* !HAVE_MICROHTTPD */

int metrics_server_create(qb_loop_t *loop, const char *host_port, metrics_render_fn render,
			  void *ctx, struct metrics_server **out)
{
	(void)loop;
	(void)host_port;
	(void)render;
	(void)ctx;
	(void)out;
	return -ENOTSUP;
}

void metrics_server_destroy(struct metrics_server *m)
{
	(void)m;
}

const char *metrics_server_url(const struct metrics_server *m)
{
	(void)m;
	return "";
}

#endif
