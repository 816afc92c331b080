/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Work deferred to the end of the current main-loop pass.
 *
 * Every loop callback that can produce I/O (socket readiness, backing-store
 * completions) brackets its work with loop_pass_begin()/loop_pass_end().
 * Work that is cheaper done once for many events — submitting the queued
 * io_uring requests, writing a connection's queued PDUs — is armed with
 * loop_pass_defer() while the pass runs and done once when it ends: the 20
 * commands read from one socket in one pass cost one io_uring_enter() and
 * one writev(), not 20 of each.
 *
 * Two stages run in order, repeatedly, until nothing is armed: the I/O stage
 * (backing-store submissions and completions) and then the transmit stage
 * (socket writes), so that completions found by the I/O stage join the same
 * write. Outside a pass (a timer, an IPC request) loop_pass_defer() runs the
 * work at once, so a caller that forgot to open a pass is slower, not stuck.
 *
 * Single-threaded, like the loop itself; nothing is allocated.
 */
#ifndef QUORATE_DAEMON_LOOP_PASS_H
#define QUORATE_DAEMON_LOOP_PASS_H

#include <stdbool.h>

enum loop_pass_stage {
	LOOP_PASS_IO = 0, /* backing-store submissions and completions */
	LOOP_PASS_TX,	  /* socket writes */
	LOOP_PASS_STAGES,
};

/* Embedded in its owner; zero-initialised is "not armed". */
struct loop_deferred {
	struct loop_deferred *next;
	bool armed;
	void (*fn)(struct loop_deferred *d);
};

void loop_pass_begin(void);
/** Close a pass; the outermost close runs everything armed. */
void loop_pass_end(void);
/** Is a pass open (deferred work waits for its end)? */
bool loop_pass_active(void);
/** Run @d->fn once at the end of the pass (at once outside one). Arming twice is a no-op. */
void loop_pass_defer(struct loop_deferred *d, enum loop_pass_stage stage);
/** Disarm @d (its owner is going away). */
void loop_pass_cancel(struct loop_deferred *d);

#endif
