/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 'portal list|add|remove' (admin_portal.c): the portals of every node, and
 * run-time portals as replicated state (kind PORTAL, keyed by node id).
 * Also what admin.c shares with it: proposing a change with its log line.
 */
#ifndef QUORATE_DAEMON_ADMIN_PORTAL_H
#define QUORATE_DAEMON_ADMIN_PORTAL_H

#include <json-c/json.h>

#include "daemon/daemon.h"

struct ipc_request;

typedef void (*admin_done_fn)(struct daemon *d, struct daemon_pending *p, int rc, const char *err);

/**
 * Propose @op for @req (admin.c): logged with the requesting uid; @done runs
 * when it was applied (it may end with admin_change_done()). @return 0, or
 * -errno after replying with the error (@result is freed).
 */
int admin_propose_change(struct daemon *d, struct ipc_request *req, struct mutation *op,
			 struct json_object *result, admin_done_fn done);
/** The usual completion (admin.c): log the outcome, reply with @p->result or the error. */
void admin_change_done(struct daemon *d, struct daemon_pending *p, int rc, const char *err);

/* The IPC commands portal.list, portal.add, portal.remove (args as ctl_proto.h). */
void admin_portal_list(struct daemon *d, struct ipc_request *req, struct json_object *args);
void admin_portal_add(struct daemon *d, struct ipc_request *req, struct json_object *args);
void admin_portal_remove(struct daemon *d, struct ipc_request *req, struct json_object *args);

/**
 * @in as a run-time portal is kept: the numeric canonical form into @out.
 * @return 0, or -EINVAL with the reason in @err.
 */
int admin_portal_canonical(const char *in, char *out, size_t cap, char *err, size_t errlen);

#endif
