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
 * (backing-store submissions and completions), run until it arms nothing
 * more, and then the transmit stage (socket writes), so that completions
 * found by the I/O stage join the same write. Outside a pass (a timer, an IPC request) loop_pass_defer() runs the
 * work at once, so a caller that forgot to open a pass is slower, not stuck.
 *
 * Busy polling (loop_pass_busy_poll_start): for a short window after the
 * last pass the loop polls instead of sleeping, so the next command of an
 * active initiator is picked up at once instead of after a wake-up of the
 * idle CPU (tens of microseconds on a virtual machine). It works with an
 * eventfd that stays readable while the window is open: qb_loop's epoll
 * then never blocks, and the eventfd's own low-priority callback closes the
 * window (reads the counter back to zero) once poll_us passed without a
 * pass. An idle daemon does not spin; a busy one spins between commands.
 *
 * Single-threaded, like the loop itself; nothing is allocated.
 */
#ifndef QUORATE_DAEMON_LOOP_PASS_H
#define QUORATE_DAEMON_LOOP_PASS_H

#include <stdbool.h>
#include <stdint.h>

#include <qb/qbloop.h>

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

/**
 * Poll for @poll_us microseconds after each pass on @loop instead of
 * sleeping (0: never). @return 0 or -errno.
 */
int loop_pass_busy_poll_start(qb_loop_t *loop, uint32_t poll_us);
void loop_pass_busy_poll_stop(void);

#endif
