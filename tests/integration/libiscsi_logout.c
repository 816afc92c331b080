/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libiscsi_logout URL WAIT: a libiscsi initiator that logs in to URL
 * (iscsi://HOST:PORT/TARGET/LUN, the initiator name from
 * $QT_INITIATOR_NAME) and keeps its session serviced with iscsi_service()
 * while int_session_logout.py runs 'quoratectl session logout'.
 *
 * What libiscsi 1.19 does with an Asynchronous Message, AsyncEvent 1
 * (lib/pdu.c): it logs "target requests logout within <Parameter3> seconds"
 * at level 2 and sends a Logout Request; when the Logout Response comes it
 * marks the context for reconnection, and the next iscsi_service() logs in
 * again (a new session), logging "reconnect was successful". That is what
 * this program checks, from libiscsi's own log: the message with Parameter3
 * = WAIT, then the reconnection, then a TEST UNIT READY on the new session.
 *
 * Protocol with the test, one line each on stdout: "logged-in" once the
 * first login succeeded; "async-logout WAIT" when libiscsi reported the
 * message; "reconnected" after the reconnection and the TEST UNIT READY.
 * It then waits for a line (or EOF) on stdin, logs out and exits 0. Any
 * failure: a line on stderr and exit 1; no message within 20 s: exit 1.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define DEADLINE_S 20
#define LOG_LEVEL_EVENTS 2 /* libiscsi logs async events and reconnects at 2 */

static int want_wait;
static bool saw_async;		/* the logout request, with the right Parameter3 */
static bool saw_reconnect;

static void log_line(int level, const char *msg)
{
	unsigned int secs;

	fprintf(stderr, "libiscsi[%d]: %s\n", level, msg);
	if (sscanf(msg, "target requests logout within %u seconds", &secs) == 1) {
		if ((int)secs != want_wait) {
			fprintf(stderr, "libiscsi_logout: Parameter3 %u, want %d\n", secs, want_wait);
			exit(1);
		}
		saw_async = true;
		printf("async-logout %u\n", secs);
		fflush(stdout);
	} else if (strstr(msg, "reconnect was successful") != NULL) {
		saw_reconnect = true;
	}
}

static int fail(struct iscsi_context *iscsi, const char *what)
{
	fprintf(stderr, "libiscsi_logout: %s: %s\n", what,
		iscsi != NULL ? iscsi_get_error(iscsi) : "");
	return 1;
}

/* One iscsi_service() round: what poll() says about the context's socket. */
static int service_once(struct iscsi_context *iscsi)
{
	struct pollfd pfd = { .fd = iscsi_get_fd(iscsi), .events = iscsi_which_events(iscsi) };

	if (poll(&pfd, 1, 100) < 0) {
		return -1;
	}
	return iscsi_service(iscsi, pfd.revents);
}

int main(int argc, char **argv)
{
	const char *name = getenv("QT_INITIATOR_NAME");
	struct iscsi_context *iscsi;
	struct iscsi_url *url;
	struct scsi_task *task;
	time_t deadline;
	char line[16];

	if (argc != 3 || name == NULL) {
		fprintf(stderr, "usage: QT_INITIATOR_NAME=IQN libiscsi_logout URL WAIT\n");
		return 2;
	}
	want_wait = atoi(argv[2]);
	iscsi = iscsi_create_context(name);
	if (iscsi == NULL) {
		return fail(NULL, "iscsi_create_context");
	}
	iscsi_set_log_fn(iscsi, log_line);
	iscsi_set_log_level(iscsi, LOG_LEVEL_EVENTS);
	url = iscsi_parse_full_url(iscsi, argv[1]);
	if (url == NULL) {
		return fail(iscsi, "parsing the URL");
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
		return fail(iscsi, "login");
	}
	printf("logged-in\n");
	fflush(stdout);

	deadline = time(NULL) + DEADLINE_S;
	while (!(saw_async && saw_reconnect) && time(NULL) < deadline) {
		if (service_once(iscsi) < 0) {
			return fail(iscsi, "iscsi_service");
		}
	}
	if (!saw_async) {
		fprintf(stderr, "libiscsi_logout: no logout request within %d s\n", DEADLINE_S);
		return 1;
	}
	if (!saw_reconnect) {
		fprintf(stderr, "libiscsi_logout: libiscsi did not log in again within %d s\n",
			DEADLINE_S);
		return 1;
	}
	task = iscsi_testunitready_sync(iscsi, url->lun);
	/* The new session's first command may carry a unit attention. */
	if (task != NULL && task->status == SCSI_STATUS_CHECK_CONDITION) {
		scsi_free_scsi_task(task);
		task = iscsi_testunitready_sync(iscsi, url->lun);
	}
	if (task == NULL || task->status != SCSI_STATUS_GOOD) {
		return fail(iscsi, "TEST UNIT READY on the new session");
	}
	scsi_free_scsi_task(task);
	printf("reconnected\n");
	fflush(stdout);

	(void)fgets(line, sizeof(line), stdin);
	iscsi_logout_sync(iscsi);
	iscsi_destroy_url(url);
	iscsi_destroy_context(iscsi);
	return 0;
}
