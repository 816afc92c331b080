/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qb_ipcs service for quoratectl (see ipc_server.h, ctl_proto.h).
 *
 * Ownership: each connection has a struct ipc_conn (context of the qb
 * connection) that lists its pending requests. A request is owned by the
 * daemon handler until it replies; when the connection is destroyed first,
 * its requests are detached (conn = NULL) so a late reply only frees them.
 * Requests are rare admin actions, so they are plain heap objects.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <qb/qbipcs.h>

#include "daemon/ipc/ctl_proto.h"
#include "daemon/ipc/ipc_server.h"
#include "daemon/base/log.h"

#define IPC_ERR_MAX 512
#define IPC_NGROUPS_MAX 1024		/* supplementary groups looked at per client */

struct ipc_server {
	qb_loop_t *loop;		/* borrowed */
	qb_ipcs_service_t *service;	/* owned */
	ipc_request_fn fn;
	void *ctx;
	uid_t self_uid;			/* the daemon's effective uid: always admitted */
	bool have_admin_gid;
	gid_t admin_gid;		/* [node] admin_group: its members are admitted */
};

struct ipc_conn {
	qb_ipcs_connection_t *qbc;	/* borrowed: holds a reference per pending request */
	uid_t uid;			/* the client's, as the kernel reported it */
	struct ipc_request *pending;	/* list of unanswered requests */
};

struct ipc_request {
	struct ipc_conn *conn;		/* NULL once the client disconnected */
	struct ipc_request *next;
	struct json_object *msg;	/* owned: the parsed request */
};

/* The qb_ipcs callbacks have no user pointer; one server per process. */
static struct ipc_server *ipc_the_server;

static int32_t ipc_dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t events, void *data,
				qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_add(ipc_the_server->loop, p, fd, events, data, fn);
}

static int32_t ipc_dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t events, void *data,
				qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_mod(ipc_the_server->loop, p, fd, events, data, fn);
}

static int32_t ipc_dispatch_del(int32_t fd)
{
	return qb_loop_poll_del(ipc_the_server->loop, fd);
}

static int32_t ipc_job_add(enum qb_loop_priority p, void *data, qb_loop_job_dispatch_fn fn)
{
	return qb_loop_job_add(ipc_the_server->loop, p, data, fn);
}

/* Is @uid (primary group @gid) a member of the admin group? */
static bool ipc_uid_in_group(uid_t uid, gid_t gid, gid_t group)
{
	gid_t groups[IPC_NGROUPS_MAX];
	int n = IPC_NGROUPS_MAX;
	struct passwd *pw;

	if (gid == group) {
		return true;
	}
	/* Supplementary groups come from the user database, as login(1) sets them. */
	pw = getpwuid(uid);
	if (pw == NULL || getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0) {
		return false;
	}
	for (int i = 0; i < n; i++) {
		if (groups[i] == group) {
			return true;
		}
	}
	return false;
}

/* The connection's context, made at accept: the only callback that is told the uid. */
static int32_t ipc_conn_attach(qb_ipcs_connection_t *c, uid_t uid)
{
	struct ipc_conn *conn = calloc(1, sizeof(*conn));

	if (conn == NULL) {
		log_err("ipc: out of memory for a new connection");
		return -ENOMEM;
	}
	conn->qbc = c;
	conn->uid = uid;
	qb_ipcs_context_set(c, conn);
	return 0;
}

static int32_t ipc_conn_accept(qb_ipcs_connection_t *c, uid_t uid, gid_t gid)
{
	struct ipc_server *s = ipc_the_server;

	/*
	 * Admin actions change targets and set CHAP secrets: root, the user
	 * the daemon runs as (who owns its data anyway), and members of the
	 * configured admin group.
	 */
	if (uid == 0 || uid == s->self_uid) {
		return ipc_conn_attach(c, uid);
	}
	if (s->have_admin_gid && ipc_uid_in_group(uid, gid, s->admin_gid)) {
		/* The client maps the daemon's shared-memory files: let the group in. */
		qb_ipcs_connection_auth_set(c, (uid_t)-1, s->admin_gid,
					    S_IRUSR | S_IWUSR | S_IRGRP | S_IWGRP);
		return ipc_conn_attach(c, uid);
	}
	log_warn("ipc: refusing connection from uid %u (admitted: root, uid %u%s)",
		 (unsigned int)uid, (unsigned int)s->self_uid,
		 s->have_admin_gid ? " and the admin group" : "");
	return -EACCES;
}

static void ipc_conn_created(qb_ipcs_connection_t *c)
{
	(void)c;	/* the context was made at accept */
}

static void ipc_conn_destroyed(qb_ipcs_connection_t *c)
{
	struct ipc_conn *conn = qb_ipcs_context_get(c);

	if (conn == NULL) {
		return;
	}
	/* Requests still owned by the daemon are detached, not freed. */
	for (struct ipc_request *r = conn->pending; r != NULL; r = r->next) {
		r->conn = NULL;
	}
	qb_ipcs_context_set(c, NULL);
	free(conn);
}

static int32_t ipc_conn_closed(qb_ipcs_connection_t *c)
{
	(void)c;
	return 0;
}

static void ipc_send(qb_ipcs_connection_t *qbc, struct json_object *resp)
{
	struct qb_ipc_response_header hdr = { 0 };
	const char *text = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text) + 1;
	struct iovec iov[2];
	ssize_t rc;

	if (sizeof(hdr) + len > CTL_MSG_MAX) {
		/* Cannot happen for sane listings; answer with an error instead. */
		static const char too_big[] = "{\"ok\":false,\"error\":\"response too large\","
					      "\"kind\":\"" CTL_ERR_FAILED "\"}";

		text = too_big;
		len = sizeof(too_big);
	}
	hdr.id = CTL_MSG_RESPONSE;
	hdr.size = (int32_t)(sizeof(hdr) + len);
	hdr.error = 0;
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)text;
	iov[1].iov_len = len;
	rc = qb_ipcs_response_sendv(qbc, iov, 2);
	if (rc < 0) {
		log_perror((int)rc, "ipc: sending a response");
	}
}

/* Unlink @req from its connection, send @resp if still connected, free both. */
static void ipc_request_finish(struct ipc_request *req, struct json_object *resp)
{
	struct ipc_conn *conn = req->conn;

	if (conn != NULL) {
		for (struct ipc_request **pp = &conn->pending; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == req) {
				*pp = req->next;
				break;
			}
		}
		ipc_send(conn->qbc, resp);
		qb_ipcs_connection_unref(conn->qbc);
	}
	json_object_put(resp);
	json_object_put(req->msg);
	free(req);
}

uid_t ipc_request_uid(const struct ipc_request *req)
{
	return req->conn != NULL ? req->conn->uid : (uid_t)-1;
}

bool ipc_request_connected(const struct ipc_request *req)
{
	return req->conn != NULL;
}

void ipc_request_reply_ok(struct ipc_request *req, struct json_object *result)
{
	struct json_object *resp = json_object_new_object();

	json_object_object_add(resp, "ok", json_object_new_boolean(1));
	json_object_object_add(resp, "result", result);
	ipc_request_finish(req, resp);
}

void ipc_request_reply_err(struct ipc_request *req, const char *kind, const char *fmt, ...)
{
	struct json_object *resp = json_object_new_object();
	char msg[IPC_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(resp, "ok", json_object_new_boolean(0));
	json_object_object_add(resp, "error", json_object_new_string(msg));
	json_object_object_add(resp, "kind", json_object_new_string(kind));
	ipc_request_finish(req, resp);
}

/* Answer a request that never reached the handler. */
static void ipc_reply_early(qb_ipcs_connection_t *c, const char *error)
{
	struct json_object *resp = json_object_new_object();

	json_object_object_add(resp, "ok", json_object_new_boolean(0));
	json_object_object_add(resp, "error", json_object_new_string(error));
	json_object_object_add(resp, "kind", json_object_new_string(
						     strcmp(error, "out of memory") == 0
							     ? CTL_ERR_FAILED
							     : CTL_ERR_INVALID));
	ipc_send(c, resp);
	json_object_put(resp);
}

static int32_t ipc_msg_process(qb_ipcs_connection_t *c, void *data, size_t size)
{
	struct ipc_conn *conn = qb_ipcs_context_get(c);
	const struct qb_ipc_request_header *hdr = data;
	const char *text = (const char *)data + sizeof(*hdr);
	size_t text_len;
	struct json_object *msg, *cmd, *args, *version;
	struct json_tokener *tok;
	struct ipc_request *req;

	if (size < sizeof(*hdr) + 1 || hdr->id != CTL_MSG_REQUEST || (size_t)hdr->size != size) {
		ipc_reply_early(c, "malformed request header");
		return 0;
	}
	text_len = size - sizeof(*hdr);
	if (text[text_len - 1] != '\0' || strlen(text) != text_len - 1) {
		ipc_reply_early(c, "request is not a NUL-terminated string");
		return 0;
	}
	tok = json_tokener_new();
	if (tok == NULL) {
		ipc_reply_early(c, "out of memory");
		return 0;
	}
	msg = json_tokener_parse_ex(tok, text, (int)text_len);
	json_tokener_free(tok);
	if (msg == NULL || !json_object_is_type(msg, json_type_object) ||
	    !json_object_object_get_ex(msg, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string)) {
		json_object_put(msg);
		ipc_reply_early(c, "request is not a JSON object with a \"cmd\" string");
		return 0;
	}
	if (json_object_object_get_ex(msg, "version", &version) &&
	    json_object_get_int(version) != CTL_PROTO_VERSION) {
		json_object_put(msg);
		ipc_reply_early(c, "unsupported protocol version");
		return 0;
	}
	if (!json_object_object_get_ex(msg, "args", &args) || args == NULL) {
		args = json_object_new_object();
		json_object_object_add(msg, "args", args);
	}
	if (!json_object_is_type(args, json_type_object)) {
		json_object_put(msg);
		ipc_reply_early(c, "\"args\" must be an object");
		return 0;
	}
	req = calloc(1, sizeof(*req));
	if (req == NULL || conn == NULL) {
		free(req);
		json_object_put(msg);
		ipc_reply_early(c, "out of memory");
		return 0;
	}
	req->conn = conn;
	req->msg = msg;
	req->next = conn->pending;
	conn->pending = req;
	/* Keep the connection object alive until the reply. */
	qb_ipcs_connection_ref(c);
	ipc_the_server->fn(req, json_object_get_string(cmd), args, ipc_the_server->ctx);
	return 0;
}

/* The abstract socket name is taken: say by whom (see ctl_ipc_listener_cred()). */
static void ipc_report_name_taken(const char *name)
{
	struct ucred cred;

	if (ctl_ipc_listener_cred(name, &cred) == 0) {
		log_err("ipc: the IPC service name '%s' is already served by pid %ld (uid %u): "
			"another quorated with the same ipc_name, or a process impersonating "
			"it; stop it or choose another [node] ipc_name / --ipc-name",
			name, (long)cred.pid, (unsigned int)cred.uid);
	} else {
		log_err("ipc: the IPC service name '%s' is already in use by another process; "
			"stop it or choose another [node] ipc_name / --ipc-name", name);
	}
}

int ipc_server_create(qb_loop_t *loop, const char *name, const char *admin_group,
		      ipc_request_fn fn, void *ctx, struct ipc_server **out)
{
	static struct qb_ipcs_service_handlers handlers = {
		.connection_accept = ipc_conn_accept,
		.connection_created = ipc_conn_created,
		.msg_process = ipc_msg_process,
		.connection_closed = ipc_conn_closed,
		.connection_destroyed = ipc_conn_destroyed,
	};
	static struct qb_ipcs_poll_handlers poll_handlers = {
		.job_add = ipc_job_add,
		.dispatch_add = ipc_dispatch_add,
		.dispatch_mod = ipc_dispatch_mod,
		.dispatch_del = ipc_dispatch_del,
	};
	struct ipc_server *server;
	int rc;

	if (ipc_the_server != NULL) {
		return -EBUSY;
	}
	server = calloc(1, sizeof(*server));
	if (server == NULL) {
		return -ENOMEM;
	}
	server->loop = loop;
	server->fn = fn;
	server->ctx = ctx;
	server->self_uid = geteuid();
	if (admin_group != NULL && admin_group[0] != '\0') {
		struct group *gr = getgrnam(admin_group);

		if (gr == NULL) {
			log_err("ipc: admin_group '%s': no such group", admin_group);
			free(server);
			return -ENOENT;
		}
		server->have_admin_gid = true;
		server->admin_gid = gr->gr_gid;
	}
	server->service = qb_ipcs_create(name, 0, QB_IPC_NATIVE, &handlers);
	if (server->service == NULL) {
		rc = -errno != 0 ? -errno : -EINVAL;
		free(server);
		return rc;
	}
	ipc_the_server = server;
	qb_ipcs_poll_handlers_set(server->service, &poll_handlers);
	rc = qb_ipcs_run(server->service);
	if (rc == -EADDRINUSE) {
		ipc_report_name_taken(name);
	}
	if (rc < 0) {
		/* qb_ipcs_run() already dropped the service's reference on failure. */
		ipc_the_server = NULL;
		free(server);
		return rc;
	}
	*out = server;
	return 0;
}

void ipc_server_destroy(struct ipc_server *server)
{
	if (server == NULL) {
		return;
	}
	qb_ipcs_destroy(server->service);
	ipc_the_server = NULL;
	free(server);
}
