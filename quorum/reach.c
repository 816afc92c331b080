/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reach probes (reach.h): a round is one non-blocking connect per target,
 * its socket polled on the loop for writability; the first of an answer
 * (SO_ERROR says connected, refused or unreachable) or the round's timer
 * decides the target's outcome, and the socket is closed at once with a
 * RST (SO_LINGER 0: no TIME_WAIT left behind by a probe, and the host that
 * accepted sees the connection end without waiting for data).
 *
 * Invariants: a slot's fd is >= 0 exactly while its outcome is pending and
 * it is polled; every outcome is reported once, from a timer or a poll
 * callback; at most one timeout timer and one report timer are armed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qb/qbdefs.h>
#include <qb/qbloop.h>

#include "quorum/reach.h"

struct reach;

struct reach_slot {
	struct reach *r;
	int fd; /* -1: closed */
	enum reach_outcome outcome;
	bool reported;
};

struct reach {
	qb_loop_t *loop;
	reach_result_fn fn;
	void *arg;
	struct reach_slot slots[REACH_TARGETS_MAX];
	size_t count;
	size_t reported;
	uint64_t round; /* grows with every reach_start(): a callback's start ends a report pass */
	qb_loop_timer_handle timeout_timer, report_timer;
	bool timeout_armed, report_armed;
	int in_callback;
	bool destroy_pending;
};

const char *reach_outcome_name(enum reach_outcome o)
{
	switch (o) {
	case REACH_PENDING:
		return "pending";
	case REACH_CONNECTED:
		return "connected";
	case REACH_REFUSED:
		return "refused";
	case REACH_UNREACHABLE:
		return "unreachable";
	case REACH_TIMEOUT:
		return "timed out";
	case REACH_FAILED:
		return "failed";
	}
	return "?";
}

int reach_target_set(struct reach_target *t, const char *host, uint16_t port)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&t->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&t->addr;

	memset(t, 0, sizeof(*t));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		t->addr_len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		t->addr_len = sizeof(*v6);
		return 0;
	}
	return -EINVAL;
}

static enum reach_outcome outcome_of(int err)
{
	switch (err) {
	case 0:
		return REACH_CONNECTED;
	case ECONNREFUSED:
		return REACH_REFUSED;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
		return REACH_UNREACHABLE;
	case ETIMEDOUT:
		return REACH_TIMEOUT;
	default:
		return REACH_FAILED;
	}
}

/* Close slot @s's socket without waiting (RST, no TIME_WAIT). */
static void slot_close(struct reach *r, struct reach_slot *s)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (s->fd < 0) {
		return;
	}
	qb_loop_poll_del(r->loop, s->fd);
	(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(s->fd);
	s->fd = -1;
}

static void reach_free(struct reach *r)
{
	reach_cancel(r);
	free(r);
}

/* Report every decided, unreported outcome; the round ends with the last. */
static void reach_report(struct reach *r)
{
	uint64_t round = r->round;

	for (size_t i = 0; i < r->count; i++) {
		struct reach_slot *s = &r->slots[i];

		if (s->outcome == REACH_PENDING || s->reported) {
			continue;
		}
		s->reported = true;
		if (++r->reported == r->count && r->timeout_armed) {
			qb_loop_timer_del(r->loop, r->timeout_timer);
			r->timeout_armed = false;
		}
		r->in_callback++;
		r->fn(i, s->outcome, r->arg);
		r->in_callback--;
		if (r->destroy_pending || r->round != round) {
			break; /* destroyed, or a new round started from the callback */
		}
	}
	if (r->destroy_pending && r->in_callback == 0) {
		reach_free(r);
	}
}

static void reach_report_timer(void *data)
{
	struct reach *r = data;

	r->report_armed = false;
	reach_report(r);
}

static void reach_timeout(void *data)
{
	struct reach *r = data;

	r->timeout_armed = false;
	for (size_t i = 0; i < r->count; i++) {
		struct reach_slot *s = &r->slots[i];

		if (s->outcome == REACH_PENDING) {
			slot_close(r, s);
			s->outcome = REACH_TIMEOUT;
		}
	}
	reach_report(r);
}

static int32_t reach_ready(int32_t fd, int32_t revents, void *data)
{
	struct reach_slot *s = data;
	struct reach *r = s->r;
	int err = 0;
	socklen_t len = sizeof(err);

	if (s->fd != fd || (revents & (POLLOUT | POLLERR | POLLHUP)) == 0) {
		return 0;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
		err = errno;
	}
	if (err == EINPROGRESS || err == EALREADY) {
		return 0; /* woken early: still connecting */
	}
	slot_close(r, s);
	s->outcome = outcome_of(err);
	reach_report(r);
	return 0;
}

void reach_cancel(struct reach *r)
{
	for (size_t i = 0; i < r->count; i++) {
		slot_close(r, &r->slots[i]);
	}
	if (r->timeout_armed) {
		qb_loop_timer_del(r->loop, r->timeout_timer);
		r->timeout_armed = false;
	}
	if (r->report_armed) {
		qb_loop_timer_del(r->loop, r->report_timer);
		r->report_armed = false;
	}
	r->count = 0;
	r->reported = 0;
	r->round++;
}

bool reach_running(const struct reach *r)
{
	return r->reported < r->count;
}

/* Start slot @s's connect; an outcome known at once is left for the report timer. */
static void slot_start(struct reach *r, struct reach_slot *s, const struct reach_target *t)
{
	int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	s->r = r;
	s->fd = -1;
	s->reported = false;
	s->outcome = REACH_PENDING;
	if (fd < 0) {
		s->outcome = REACH_FAILED;
		return;
	}
	if (connect(fd, (const struct sockaddr *)&t->addr, t->addr_len) == 0) {
		s->outcome = REACH_CONNECTED;
	} else if (errno != EINPROGRESS) {
		s->outcome = outcome_of(errno);
	} else if (qb_loop_poll_add(r->loop, QB_LOOP_HIGH, fd, POLLOUT, s, reach_ready) == 0) {
		s->fd = fd;
		return;
	} else {
		s->outcome = REACH_FAILED;
	}
	close(fd);
}

int reach_start(struct reach *r, const struct reach_target *targets, size_t count,
		uint32_t timeout_ms)
{
	bool now = false;

	if (count > REACH_TARGETS_MAX) {
		return -E2BIG;
	}
	reach_cancel(r);
	for (size_t i = 0; i < count; i++) {
		slot_start(r, &r->slots[i], &targets[i]);
		now = now || r->slots[i].outcome != REACH_PENDING;
	}
	r->count = count;
	if (count > 0 &&
	    qb_loop_timer_add(r->loop, QB_LOOP_HIGH, (uint64_t)timeout_ms * QB_TIME_NS_IN_MSEC, r,
			      reach_timeout, &r->timeout_timer) != 0) {
		reach_cancel(r);
		return -ENOMEM;
	}
	r->timeout_armed = count > 0;
	/* Outcomes known at once (no route, a local error) come from the loop too. */
	if (now) {
		if (qb_loop_timer_add(r->loop, QB_LOOP_HIGH, 0, r, reach_report_timer,
				      &r->report_timer) != 0) {
			reach_cancel(r);
			return -ENOMEM;
		}
		r->report_armed = true;
	}
	return 0;
}

int reach_create(qb_loop_t *loop, reach_result_fn fn, void *arg, struct reach **out)
{
	struct reach *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		return -ENOMEM;
	}
	r->loop = loop;
	r->fn = fn;
	r->arg = arg;
	*out = r;
	return 0;
}

void reach_destroy(struct reach *r)
{
	if (r == NULL) {
		return;
	}
	if (r->in_callback > 0) {
		reach_cancel(r);
		r->destroy_pending = true;
		return;
	}
	reach_free(r);
}
