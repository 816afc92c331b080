// SPDX-License-Identifier: GPL-2.0-or-later
/* Work deferred to the end of the current main-loop pass (loop_pass.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "daemon/base/loop_pass.h"

/* Busy polling: the eventfd is readable while the window is open. */
static struct {
	qb_loop_t *loop;
	int efd;
	uint64_t window_ns;
	uint64_t last_pass_ns;
	bool open;
} busy = {.efd = -1};

static unsigned int depth;
static struct loop_deferred *head[LOOP_PASS_STAGES];
static struct loop_deferred **tail[LOOP_PASS_STAGES] = {&head[LOOP_PASS_IO], &head[LOOP_PASS_TX]};
/* What run_stage() still has to run of the list it detached (cancel looks here too). */
static struct loop_deferred *running;

void loop_pass_begin(void)
{
	depth++;
}

bool loop_pass_active(void)
{
	return depth > 0;
}

/* Detach the list of @stage and run it; @return whether anything ran. */
static bool run_stage(enum loop_pass_stage stage)
{
	struct loop_deferred *d;

	if (!head[stage]) {
		return false;
	}
	running = head[stage];
	head[stage] = NULL;
	tail[stage] = &head[stage];
	/* fn may re-arm d (it then joins the fresh list) or cancel items
	 * still on this one (loop_pass_cancel unlinks them from running). */
	while ((d = running) != NULL) {
		running = d->next;
		d->next = NULL;
		d->armed = false;
		d->fn(d);
	}
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A pass ran: (re)open the polling window. */
static void busy_poll_touch(void)
{
	uint64_t one = 1;

	if (busy.efd < 0) {
		return;
	}
	busy.last_pass_ns = now_ns();
	if (!busy.open && write(busy.efd, &one, sizeof(one)) == (ssize_t)sizeof(one)) {
		busy.open = true;
	}
}

/* The eventfd is readable: the loop went round once; close the window when it expired. */
static int32_t busy_poll_cb(int32_t fd, int32_t revents, void *data)
{
	uint64_t count;

	(void)revents;
	(void)data;
	if (now_ns() - busy.last_pass_ns < busy.window_ns) {
		/* Spin politely: a task waiting for this CPU (the initiator, when
		 * the scheduler woke it here) runs now instead of after our
		 * time slice. With nobody waiting this returns at once. */
		sched_yield();
		return 0;
	}
	if (read(fd, &count, sizeof(count)) == (ssize_t)sizeof(count) || errno == EAGAIN) {
		busy.open = false;
	}
	return 0;
}

int loop_pass_busy_poll_start(qb_loop_t *loop, uint32_t poll_us)
{
	int rc;

	if (busy.efd >= 0) {
		return -EALREADY;
	}
	if (poll_us == 0) {
		return 0;
	}
	busy.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (busy.efd < 0) {
		return -errno;
	}
	rc = qb_loop_poll_add(loop, QB_LOOP_LOW, busy.efd, POLLIN, NULL, busy_poll_cb);
	if (rc < 0) {
		close(busy.efd);
		busy.efd = -1;
		return rc;
	}
	busy.loop = loop;
	busy.window_ns = (uint64_t)poll_us * 1000u;
	busy.open = false;
	return 0;
}

void loop_pass_busy_poll_stop(void)
{
	if (busy.efd < 0) {
		return;
	}
	qb_loop_poll_del(busy.loop, busy.efd);
	close(busy.efd);
	busy.efd = -1;
	busy.open = false;
}

void loop_pass_end(void)
{
	if (depth > 1) {
		depth--;
		return;
	}
	busy_poll_touch();
	/* Still "in the pass" while running: work armed now is batched too.
	 * IO runs until it settles (a completion may submit more I/O that
	 * completes at once), so its responses join the same writes. */
	for (;;) {
		bool ran = false;

		while (run_stage(LOOP_PASS_IO)) {
			ran = true;
		}
		ran |= run_stage(LOOP_PASS_TX);
		if (!ran) {
			break;
		}
	}
	depth = 0;
}

void loop_pass_defer(struct loop_deferred *d, enum loop_pass_stage stage)
{
	if (d->armed) {
		return;
	}
	if (depth == 0) {
		d->fn(d);
		return;
	}
	d->armed = true;
	d->next = NULL;
	*tail[stage] = d;
	tail[stage] = &d->next;
}

void loop_pass_cancel(struct loop_deferred *d)
{
	struct loop_deferred **pp;

	if (!d->armed) {
		return;
	}
	/* Detached by the stage that is running now, not run yet. */
	for (pp = &running; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			d->next = NULL;
			d->armed = false;
			return;
		}
	}
	for (int s = 0; s < LOOP_PASS_STAGES; s++) {
		for (pp = &head[s]; *pp; pp = &(*pp)->next) {
			if (*pp != d) {
				continue;
			}
			*pp = d->next;
			if (tail[s] == &d->next) {
				tail[s] = pp;
			}
			d->next = NULL;
			d->armed = false;
			return;
		}
	}
}
