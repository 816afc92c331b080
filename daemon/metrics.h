/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Prometheus endpoint: an HTTP server (libmicrohttpd) answering
 * GET/HEAD /metrics with what @render returns, in the text exposition
 * format (daemon/expo.h). Off unless [metrics] listen is configured; built
 * only with libmicrohttpd (HAVE_MICROHTTPD), else creating it fails with
 * -ENOTSUP.
 *
 * Everything runs on the daemon's qb_loop thread (see metrics.c for why),
 * so @render reads the counters of the I/O path without a lock.
 */
#ifndef QUORATE_DAEMON_METRICS_H
#define QUORATE_DAEMON_METRICS_H

#include <stddef.h>

#include <qb/qbloop.h>

struct metrics_server;

/* The exposition text, malloc()ed (the server frees it), or NULL: answer 500. */
typedef char *(*metrics_render_fn)(size_t *len, void *ctx);

/**
 * Listen on @host_port ("HOST:PORT" or "[V6]:PORT", as config_portal_valid()
 * accepts) and serve /metrics from @loop. @return 0, -ENOTSUP (built without
 * libmicrohttpd), -EINVAL (the address does not resolve) or the error of
 * binding (logged with the reason).
 */
int metrics_server_create(qb_loop_t *loop, const char *host_port, metrics_render_fn render,
			  void *ctx, struct metrics_server **out);
/** Close the listener and every connection. NULL is a no-op. */
void metrics_server_destroy(struct metrics_server *m);
/** "http://HOST:PORT/metrics", as configured. */
const char *metrics_server_url(const struct metrics_server *m);

#endif
