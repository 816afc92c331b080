// SPDX-License-Identifier: GPL-2.0-or-later
/* Work deferred to the end of the current main-loop pass (loop_pass.h). */
#include "config.h"

#include <stddef.h>

#include "daemon/loop_pass.h"

static unsigned int depth;
static struct loop_deferred *head[LOOP_PASS_STAGES];
static struct loop_deferred **tail[LOOP_PASS_STAGES] = {&head[LOOP_PASS_IO], &head[LOOP_PASS_TX]};

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
	struct loop_deferred *d = head[stage], *next;

	if (!d) {
		return false;
	}
	head[stage] = NULL;
	tail[stage] = &head[stage];
	for (; d; d = next) {
		/* fn may re-arm d (it then joins the fresh list): read next first. */
		next = d->next;
		d->next = NULL;
		d->armed = false;
		d->fn(d);
	}
	return true;
}

void loop_pass_end(void)
{
	if (depth > 1) {
		depth--;
		return;
	}
	/* Still "in the pass" while running: work armed now is batched too. */
	for (;;) {
		bool ran = run_stage(LOOP_PASS_IO);

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
	if (!d->armed) {
		return;
	}
	for (int s = 0; s < LOOP_PASS_STAGES; s++) {
		struct loop_deferred **pp;

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
