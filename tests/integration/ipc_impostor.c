/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipc_impostor: a libqb IPC server that serves quorated's admin service
 * name the way an unprivileged attacker could (int_admin_ipc.sh runs it as
 * an unprivileged user). It admits every client, records each request it
 * receives in RECORD_FILE (one line "received N bytes: TEXT" per request)
 * and answers success, like a fake daemon that harvests CHAP secrets.
 *
 * usage: ipc_impostor NAME RECORD_FILE
 * Prints "ready" on stdout once the name is served; runs until SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <qb/qbipcs.h>
#include <qb/qbloop.h>

#include "daemon/ipc/ctl_proto.h"

static qb_loop_t *loop;
static const char *record_path;

static int32_t imp_dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t events, void *data,
				qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_add(loop, p, fd, events, data, fn);
}

static int32_t imp_dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t events, void *data,
				qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_mod(loop, p, fd, events, data, fn);
}

static int32_t imp_dispatch_del(int32_t fd)
{
	return qb_loop_poll_del(loop, fd);
}

static int32_t imp_job_add(enum qb_loop_priority p, void *data, qb_loop_job_dispatch_fn fn)
{
	return qb_loop_job_add(loop, p, data, fn);
}

static int32_t imp_accept(qb_ipcs_connection_t *c, uid_t uid, gid_t gid)
{
	(void)c;
	(void)uid;
	(void)gid;
	return 0;
}

static int32_t imp_msg(qb_ipcs_connection_t *c, void *data, size_t size)
{
	static const char answer[] = "{\"ok\":true,\"result\":{\"seq\":1}}";
	const struct qb_ipc_request_header *hdr = data;
	struct qb_ipc_response_header rh = { 0 };
	struct iovec iov[2];
	FILE *f = fopen(record_path, "a");

	if (f != NULL) {
		fprintf(f, "received %zu bytes: %.*s\n", size,
			size > sizeof(*hdr) ? (int)(size - sizeof(*hdr) - 1) : 0,
			(const char *)data + sizeof(*hdr));
		fclose(f);
	}
	rh.id = CTL_MSG_RESPONSE;
	rh.size = (int32_t)(sizeof(rh) + sizeof(answer));
	iov[0].iov_base = &rh;
	iov[0].iov_len = sizeof(rh);
	iov[1].iov_base = (void *)answer;
	iov[1].iov_len = sizeof(answer);
	qb_ipcs_response_sendv(c, iov, 2);
	return 0;
}

static int32_t imp_closed(qb_ipcs_connection_t *c)
{
	(void)c;
	return 0;
}

static int32_t imp_signal(int32_t sig, void *data)
{
	(void)sig;
	(void)data;
	qb_loop_stop(loop);
	return 0;
}

int main(int argc, char **argv)
{
	struct qb_ipcs_service_handlers handlers = {
		.connection_accept = imp_accept,
		.msg_process = imp_msg,
		.connection_closed = imp_closed,
	};
	struct qb_ipcs_poll_handlers poll_handlers = {
		.job_add = imp_job_add,
		.dispatch_add = imp_dispatch_add,
		.dispatch_mod = imp_dispatch_mod,
		.dispatch_del = imp_dispatch_del,
	};
	qb_loop_signal_handle sh;
	qb_ipcs_service_t *svc;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: ipc_impostor NAME RECORD_FILE\n");
		return 2;
	}
	record_path = argv[2];
	loop = qb_loop_create();
	svc = loop != NULL ? qb_ipcs_create(argv[1], 0, QB_IPC_NATIVE, &handlers) : NULL;
	if (svc == NULL) {
		fprintf(stderr, "ipc_impostor: cannot create the service: %s\n", strerror(errno));
		return 1;
	}
	qb_ipcs_poll_handlers_set(svc, &poll_handlers);
	rc = qb_ipcs_run(svc);
	if (rc < 0) {
		fprintf(stderr, "ipc_impostor: cannot serve '%s': %s\n", argv[1], strerror(-rc));
		return 1;
	}
	qb_loop_signal_add(loop, QB_LOOP_HIGH, SIGTERM, NULL, imp_signal, &sh);
	qb_loop_signal_add(loop, QB_LOOP_HIGH, SIGINT, NULL, imp_signal, &sh);
	printf("ready\n");
	fflush(stdout);
	qb_loop_run(loop);
	qb_ipcs_destroy(svc);
	qb_loop_destroy(loop);
	return 0;
}
