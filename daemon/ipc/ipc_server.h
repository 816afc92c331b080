/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon side of the admin protocol (ctl_proto.h): a qb_ipcs service on
 * the daemon's qb_loop that admits root, the daemon's own uid and members of
 * an optional admin group, parses each request into a
 * json-c object and hands it to the daemon's handler. The handler answers
 * with ipc_request_reply(), now or later (a mutation completes only after it
 * was delivered and applied). If the client went away meanwhile, the reply
 * is dropped; the request object stays valid until replied to.
 */
#ifndef QUORATE_DAEMON_IPC_IPC_SERVER_H
#define QUORATE_DAEMON_IPC_IPC_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <qb/qbloop.h>

struct ipc_server;
struct ipc_request;

/*
 * @cmd is the request's "cmd" string, @args its "args" object (never NULL:
 * an empty object if absent); both valid until the reply.
 */
typedef void (*ipc_request_fn)(struct ipc_request *req, const char *cmd, struct json_object *args,
			       void *ctx);

/**
 * Start serving @name; also admit members of @admin_group (NULL or "": none).
 * @return 0, -EADDRINUSE when another process serves @name (logged with its
 * pid and uid), -ENOENT for an unknown group, or another -errno.
 */
int ipc_server_create(qb_loop_t *loop, const char *name, const char *admin_group,
		      ipc_request_fn fn, void *ctx, struct ipc_server **out);
/** Stop serving; pending requests are dropped without a reply. NULL is a no-op. */
void ipc_server_destroy(struct ipc_server *server);

/** Reply {"ok": true, "result": @result} (ownership of @result passes; may be NULL). Frees @req. */
void ipc_request_reply_ok(struct ipc_request *req, struct json_object *result);
/** Reply {"ok": false, "error": "...", "kind": @kind (CTL_ERR_*)}. Frees @req. */
void ipc_request_reply_err(struct ipc_request *req, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** The uid of the client that sent @req ((uid_t)-1 once it went away), for logs. */
uid_t ipc_request_uid(const struct ipc_request *req);
/** Does the client still wait for the answer? */
bool ipc_request_connected(const struct ipc_request *req);

#endif
