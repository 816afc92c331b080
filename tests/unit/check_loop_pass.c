/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of daemon/base/loop_pass: deferred work (when it runs, in which
 * order, exactly once, cancel) and busy polling on a real qb_loop.
 *
 * Each test runs in its own process (Check's fork mode), so the module's
 * static state starts fresh; the tests still leave no pass open and no
 * polling registered, so they also pass with CK_FORK=no.
 *
 * Busy polling is observed without test hooks: the module's eventfd is the
 * one eventfd that appears in /proc/self/fd when polling starts, and
 * "readable" is exactly what keeps qb_loop's epoll from sleeping. Whether
 * the loop sleeps is read from getrusage(): a loop blocked in epoll_wait()
 * makes voluntary context switches, a spinning one makes none and burns
 * CPU time. Timing is only asserted with wide margins (an idle loop uses
 * almost no CPU), and checks that need a timer to fire inside a window are
 * skipped, with a message, when the machine was too slow for that.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include <check.h>
#include <qb/qbloop.h>

#include "daemon/base/loop_pass.h"
#include "tests/unit/check_main.h"

#define NSEC_PER_MSEC 1000000ull
#define USEC_PER_MSEC 1000u
/* /proc/self/fd link text of an eventfd. */
#define EVENTFD_LINK "anon_inode:[eventfd]"
#define FD_SCAN_MAX  1024

/* A deferred item that records when it ran; @hook runs inside fn. */
struct item {
	struct loop_deferred d;
	char name;
	unsigned int runs;
	void (*hook)(struct item *it);
};

/* Names of the items in the order they ran. */
static char ran[64];
static unsigned int nran;

static void item_fn(struct loop_deferred *d)
{
	struct item *it = (struct item *)((char *)d - offsetof(struct item, d));

	/* The module disarms before calling: fn may re-arm. */
	ck_assert(!d->armed);
	it->runs++;
	ck_assert_uint_lt(nran, sizeof(ran) - 1);
	ran[nran++] = it->name;
	ran[nran] = '\0';
	if (it->hook) {
		it->hook(it);
	}
}

static void item_init(struct item *it, char name)
{
	memset(it, 0, sizeof(*it));
	it->name = name;
	it->d.fn = item_fn;
}

static void reset_log(void)
{
	nran = 0;
	ran[0] = '\0';
}

/* Where @name ran in the log, -1 if it did not. */
static int ran_at(char name)
{
	const char *p = strchr(ran, name);

	return p ? (int)(p - ran) : -1;
}

START_TEST(test_defer_outside_pass)
{
	struct item a;

	item_init(&a, 'a');
	reset_log();
	ck_assert(!loop_pass_active());
	/* No pass: a caller without begin/end is slower, not stuck. */
	loop_pass_defer(&a.d, LOOP_PASS_IO);
	ck_assert_uint_eq(a.runs, 1);
	ck_assert(!a.d.armed);
	loop_pass_defer(&a.d, LOOP_PASS_TX);
	ck_assert_uint_eq(a.runs, 2);
	/* An empty pass runs nothing and leaves no pass open. */
	loop_pass_begin();
	loop_pass_end();
	ck_assert_uint_eq(a.runs, 2);
	ck_assert(!loop_pass_active());
}
END_TEST

START_TEST(test_defer_in_pass)
{
	struct item a, b;

	item_init(&a, 'a');
	item_init(&b, 'b');
	reset_log();
	loop_pass_begin();
	ck_assert(loop_pass_active());
	loop_pass_defer(&a.d, LOOP_PASS_IO);
	loop_pass_defer(&b.d, LOOP_PASS_TX);
	ck_assert_uint_eq(a.runs, 0);
	ck_assert_uint_eq(b.runs, 0);
	ck_assert(a.d.armed);
	loop_pass_end();
	ck_assert_str_eq(ran, "ab");
	ck_assert(!a.d.armed);
	ck_assert(!b.d.armed);
	ck_assert(!loop_pass_active());
	/* The next pass starts empty: nothing runs a second time. */
	loop_pass_begin();
	loop_pass_end();
	ck_assert_str_eq(ran, "ab");
}
END_TEST

START_TEST(test_nested_passes)
{
	struct item a, b;

	item_init(&a, 'a');
	item_init(&b, 'b');
	reset_log();
	loop_pass_begin();
	loop_pass_begin();
	loop_pass_defer(&a.d, LOOP_PASS_TX);
	loop_pass_begin();
	loop_pass_defer(&b.d, LOOP_PASS_IO);
	loop_pass_end();
	ck_assert_str_eq(ran, "");
	ck_assert(loop_pass_active());
	loop_pass_end();
	ck_assert_str_eq(ran, "");
	ck_assert(loop_pass_active());
	/* Only the outermost end runs the work. */
	loop_pass_end();
	ck_assert_str_eq(ran, "ba");
	ck_assert(!loop_pass_active());
}
END_TEST

START_TEST(test_arm_twice)
{
	struct item a;

	item_init(&a, 'a');
	reset_log();
	loop_pass_begin();
	loop_pass_defer(&a.d, LOOP_PASS_IO);
	loop_pass_defer(&a.d, LOOP_PASS_IO);
	/* Armed in one stage: arming for the other is a no-op too. */
	loop_pass_defer(&a.d, LOOP_PASS_TX);
	loop_pass_end();
	ck_assert_uint_eq(a.runs, 1);
	ck_assert_str_eq(ran, "a");
}
END_TEST

/* IO work runs before TX work whatever the arming order; FIFO within a stage. */
START_TEST(test_stage_order)
{
	struct item t1, i1, t2, i2;

	item_init(&t1, 'T');
	item_init(&i1, 'i');
	item_init(&t2, 'U');
	item_init(&i2, 'j');
	reset_log();
	loop_pass_begin();
	loop_pass_defer(&t1.d, LOOP_PASS_TX);
	loop_pass_defer(&i1.d, LOOP_PASS_IO);
	loop_pass_defer(&t2.d, LOOP_PASS_TX);
	loop_pass_defer(&i2.d, LOOP_PASS_IO);
	loop_pass_end();
	ck_assert_str_eq(ran, "ijTU");
}
END_TEST

/* Items the hooks below arm while the end-of-pass run is going. */
static struct item late_io, late_tx, late_io2;
static bool active_in_fn;

static void hook_arm_io_and_tx(struct item *it)
{
	(void)it;
	active_in_fn = loop_pass_active();
	loop_pass_defer(&late_tx.d, LOOP_PASS_TX);
	loop_pass_defer(&late_io.d, LOOP_PASS_IO);
	/* Still "in the pass": armed, not run from inside this fn. */
	ck_assert_uint_eq(late_io.runs, 0);
	ck_assert_uint_eq(late_tx.runs, 0);
}

static void hook_arm_io2(struct item *it)
{
	(void)it;
	loop_pass_defer(&late_io2.d, LOOP_PASS_IO);
	ck_assert_uint_eq(late_io2.runs, 0);
}

/* An IO fn arms IO and TX work: both run before loop_pass_end() returns. */
START_TEST(test_arm_from_io_fn)
{
	struct item a, t;

	item_init(&a, 'a');
	item_init(&t, 't');
	item_init(&late_io, 'x');
	item_init(&late_tx, 'y');
	a.hook = hook_arm_io_and_tx;
	reset_log();
	active_in_fn = false;
	loop_pass_begin();
	loop_pass_defer(&t.d, LOOP_PASS_TX);
	loop_pass_defer(&a.d, LOOP_PASS_IO);
	loop_pass_end();
	ck_assert(active_in_fn);
	/* Everything ran once before loop_pass_end() returned; the IO item
	 * armed first ran before any TX work, TX work in arming order. */
	ck_assert_uint_eq(strlen(ran), 4);
	ck_assert_int_eq(ran_at('a'), 0);
	ck_assert_int_ge(ran_at('x'), 1);
	ck_assert_int_lt(ran_at('t'), ran_at('y'));
	ck_assert(!loop_pass_active());
}
END_TEST

/*
 * A TX fn arms IO and TX work: the IO work runs before the next TX round,
 * and TX work armed earlier in the same round is not held back by it.
 */
START_TEST(test_arm_from_tx_fn)
{
	struct item t1, t2;

	item_init(&t1, 'T');
	item_init(&t2, 'U');
	item_init(&late_io, 'x');
	item_init(&late_tx, 'y');
	item_init(&late_io2, 'z');
	t1.hook = hook_arm_io_and_tx;
	/* The late TX item, when it runs, arms IO work once more. */
	late_tx.hook = hook_arm_io2;
	reset_log();
	active_in_fn = false;
	loop_pass_begin();
	loop_pass_defer(&t1.d, LOOP_PASS_TX);
	loop_pass_defer(&t2.d, LOOP_PASS_TX);
	loop_pass_end();
	ck_assert(active_in_fn);
	ck_assert_uint_eq(strlen(ran), 5);
	ck_assert_int_eq(ran_at('T'), 0);
	/* IO armed by a TX fn runs before the TX work armed with it. */
	ck_assert_int_lt(ran_at('x'), ran_at('y'));
	ck_assert_int_lt(ran_at('U'), ran_at('y'));
	ck_assert_int_lt(ran_at('y'), ran_at('z'));
	ck_assert_uint_eq(late_io2.runs, 1);
	ck_assert(!loop_pass_active());
}
END_TEST

static void hook_rearm_self_once(struct item *it)
{
	if (it->runs == 1) {
		loop_pass_defer(&it->d, LOOP_PASS_TX);
	}
}

/* A fn may re-arm its own item: it runs again in a later round of the same end. */
START_TEST(test_rearm_self)
{
	struct item a, b;

	item_init(&a, 'a');
	item_init(&b, 'b');
	a.hook = hook_rearm_self_once;
	reset_log();
	loop_pass_begin();
	loop_pass_defer(&a.d, LOOP_PASS_IO);
	loop_pass_defer(&b.d, LOOP_PASS_TX);
	loop_pass_end();
	ck_assert_uint_eq(a.runs, 2);
	ck_assert_str_eq(ran, "aba");
	ck_assert(!a.d.armed);
}
END_TEST

/*
 * Cancel the item at @victim (0-based) of three armed in @stage, then arm a
 * fourth: the cancelled one never runs, the fourth runs last (the list's
 * tail was repaired), and the cancelled one can be armed again.
 */
static void check_cancel_at(unsigned int victim, enum loop_pass_stage stage)
{
	static const char *const want[] = {"bcd", "acd", "abd"};
	struct item it[3], d, again;

	item_init(&it[0], 'a');
	item_init(&it[1], 'b');
	item_init(&it[2], 'c');
	item_init(&d, 'd');
	reset_log();
	loop_pass_begin();
	for (unsigned int i = 0; i < 3; i++) {
		loop_pass_defer(&it[i].d, stage);
	}
	loop_pass_cancel(&it[victim].d);
	ck_assert(!it[victim].d.armed);
	loop_pass_defer(&d.d, stage);
	loop_pass_end();
	ck_assert_str_eq(ran, want[victim]);
	ck_assert_uint_eq(it[victim].runs, 0);

	/* Disarmed means re-armable; the rest of the list is gone. */
	reset_log();
	item_init(&again, 'e');
	loop_pass_begin();
	loop_pass_defer(&it[victim].d, stage);
	loop_pass_defer(&again.d, stage);
	loop_pass_end();
	ck_assert_uint_eq(it[victim].runs, 1);
	ck_assert_uint_eq(strlen(ran), 2);
	ck_assert_int_eq(ran[1], 'e');
}

START_TEST(test_cancel_first_middle_last)
{
	for (unsigned int victim = 0; victim < 3; victim++) {
		check_cancel_at(victim, LOOP_PASS_IO);
		check_cancel_at(victim, LOOP_PASS_TX);
	}
}
END_TEST

START_TEST(test_cancel_all_then_arm)
{
	struct item a, b, c;

	item_init(&a, 'a');
	item_init(&b, 'b');
	item_init(&c, 'c');
	reset_log();
	loop_pass_begin();
	loop_pass_defer(&a.d, LOOP_PASS_TX);
	loop_pass_defer(&b.d, LOOP_PASS_TX);
	loop_pass_cancel(&b.d);
	loop_pass_cancel(&a.d);
	/* The emptied list takes a new item at its head. */
	loop_pass_defer(&c.d, LOOP_PASS_TX);
	loop_pass_end();
	ck_assert_str_eq(ran, "c");
}
END_TEST

START_TEST(test_cancel_unarmed)
{
	struct item a, b, never;

	item_init(&a, 'a');
	item_init(&b, 'b');
	item_init(&never, 'n');
	reset_log();
	/* Never armed, outside and inside a pass. */
	loop_pass_cancel(&never.d);
	loop_pass_begin();
	loop_pass_defer(&a.d, LOOP_PASS_IO);
	loop_pass_cancel(&never.d);
	loop_pass_cancel(&never.d);
	loop_pass_defer(&b.d, LOOP_PASS_IO);
	loop_pass_end();
	ck_assert_str_eq(ran, "ab");
	/* Already ran: cancel is a no-op and the item can be used again. */
	loop_pass_cancel(&a.d);
	loop_pass_begin();
	loop_pass_defer(&a.d, LOOP_PASS_TX);
	loop_pass_end();
	ck_assert_str_eq(ran, "aba");
	ck_assert_uint_eq(never.runs, 0);
}
END_TEST

/* The item a hook cancels, as the owner of another object going away would. */
static struct item *cancel_victim;

static void hook_cancel_victim(struct item *it)
{
	(void)it;
	loop_pass_cancel(&cancel_victim->d);
	ck_assert(!cancel_victim->d.armed);
}

/*
 * Cancel from inside the end-of-pass run: a fn cancels an item armed after
 * it in the same stage (say, a connection whose write fails closes a second
 * connection of its session, which cancels that one's pending write). The
 * header's promise — cancel keeps the item from running — must hold there
 * too, or the fn of a freed owner runs.
 */
static void check_cancel_during_run(enum loop_pass_stage stage, enum loop_pass_stage victim_stage)
{
	struct item a, b, c;

	item_init(&a, 'a');
	item_init(&b, 'b');
	item_init(&c, 'c');
	a.hook = hook_cancel_victim;
	cancel_victim = &b;
	reset_log();
	loop_pass_begin();
	loop_pass_defer(&a.d, stage);
	loop_pass_defer(&b.d, victim_stage);
	loop_pass_defer(&c.d, victim_stage);
	loop_pass_end();
	ck_assert_msg(b.runs == 0, "item cancelled during the run ran anyway (order \"%s\")", ran);
	ck_assert_str_eq(ran, "ac");
	ck_assert(!b.d.armed);
}

START_TEST(test_cancel_during_run)
{
	check_cancel_during_run(LOOP_PASS_IO, LOOP_PASS_TX);
	check_cancel_during_run(LOOP_PASS_IO, LOOP_PASS_IO);
	check_cancel_during_run(LOOP_PASS_TX, LOOP_PASS_TX);
}
END_TEST

/* --- busy polling on a real qb_loop -------------------------------------- */

struct fdset {
	bool is_eventfd[FD_SCAN_MAX];
};

static void eventfds_scan(struct fdset *set)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;

	ck_assert_ptr_nonnull(dir);
	memset(set, 0, sizeof(*set));
	while ((de = readdir(dir)) != NULL) {
		char path[64], link[64];
		int fd = atoi(de->d_name);
		ssize_t n;

		if (de->d_name[0] == '.' || fd < 0 || fd >= FD_SCAN_MAX) {
			continue;
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0) {
			continue; /* the directory's own fd, closed meanwhile */
		}
		link[n] = '\0';
		set->is_eventfd[fd] = strcmp(link, EVENTFD_LINK) == 0;
	}
	closedir(dir);
}

/* @return the one eventfd that is open now and was not in @before, or -1 if none. */
static int eventfd_new_since(const struct fdset *before)
{
	struct fdset now;
	int found = -1;

	eventfds_scan(&now);
	for (int fd = 0; fd < FD_SCAN_MAX; fd++) {
		if (now.is_eventfd[fd] && !before->is_eventfd[fd]) {
			ck_assert_msg(found < 0, "more than one new eventfd (%d, %d)", found, fd);
			found = fd;
		}
	}
	return found;
}

static bool fd_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What one qb_loop_run() cost the process. */
struct run_cost {
	uint64_t cpu_us; /* user + system */
	long vcsw;	 /* voluntary context switches: sleeps */
	uint64_t wall_us;
};

static uint64_t tv_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000u + (uint64_t)tv->tv_usec;
}

static void stop_loop(void *data)
{
	qb_loop_stop(data);
}

/* Run @loop until a timer of @ms milliseconds stops it. */
static struct run_cost run_loop_for(qb_loop_t *loop, unsigned int ms)
{
	struct rusage r0, r1;
	qb_loop_timer_handle th;
	struct run_cost c;
	uint64_t t0;

	ck_assert_int_eq(
		qb_loop_timer_add(loop, QB_LOOP_HIGH, ms * NSEC_PER_MSEC, loop, stop_loop, &th), 0);
	ck_assert_int_eq(getrusage(RUSAGE_SELF, &r0), 0);
	t0 = mono_ns();
	qb_loop_run(loop);
	c.wall_us = (mono_ns() - t0) / 1000u;
	ck_assert_int_eq(getrusage(RUSAGE_SELF, &r1), 0);
	c.cpu_us = tv_us(&r1.ru_utime) + tv_us(&r1.ru_stime) - tv_us(&r0.ru_utime) -
		   tv_us(&r0.ru_stime);
	c.vcsw = r1.ru_nvcsw - r0.ru_nvcsw;
	return c;
}

/* An idle loop sleeps: 200 ms of it cost far less than 200 ms of CPU. */
static void assert_idle_loop_sleeps(qb_loop_t *loop)
{
	struct run_cost c = run_loop_for(loop, 200);

	ck_assert_msg(c.cpu_us < 50 * USEC_PER_MSEC,
		      "idle loop spun: %llu us of CPU in %llu us (%ld sleeps)",
		      (unsigned long long)c.cpu_us, (unsigned long long)c.wall_us, c.vcsw);
	ck_assert_int_ge(c.vcsw, 1);
}

START_TEST(test_busy_poll_off)
{
	qb_loop_t *loop = qb_loop_create();
	struct fdset before;

	ck_assert_ptr_nonnull(loop);
	eventfds_scan(&before);
	ck_assert_int_eq(loop_pass_busy_poll_start(loop, 0), 0);
	/* Nothing registered: no eventfd, and a pass leaves the loop idle. */
	ck_assert_int_eq(eventfd_new_since(&before), -1);
	loop_pass_begin();
	loop_pass_end();
	assert_idle_loop_sleeps(loop);
	/* Off is not "started": starting for real afterwards works. */
	ck_assert_int_eq(loop_pass_busy_poll_start(loop, 2000), 0);
	ck_assert_int_ge(eventfd_new_since(&before), 0);
	loop_pass_busy_poll_stop();
	ck_assert_int_eq(eventfd_new_since(&before), -1);
	qb_loop_destroy(loop);
}
END_TEST

/*
 * A 2 ms window: open (the eventfd readable, so epoll cannot sleep) right
 * after a pass, closed by the loop itself once 2 ms passed without one; then
 * the loop sleeps again.
 */
START_TEST(test_busy_poll_window_closes)
{
	qb_loop_t *loop = qb_loop_create();
	struct fdset before;
	struct run_cost c;
	int efd;

	ck_assert_ptr_nonnull(loop);
	eventfds_scan(&before);
	ck_assert_int_eq(loop_pass_busy_poll_start(loop, 2000), 0);
	efd = eventfd_new_since(&before);
	ck_assert_int_ge(efd, 0);
	ck_assert_int_eq(loop_pass_busy_poll_start(loop, 2000), -EALREADY);
	ck_assert_int_eq(loop_pass_busy_poll_start(loop, 0), -EALREADY);

	/* Before any pass the window is shut. */
	ck_assert(!fd_readable(efd));
	assert_idle_loop_sleeps(loop);

	/* Only the outermost end closes a pass and opens the window. */
	loop_pass_begin();
	loop_pass_begin();
	loop_pass_end();
	ck_assert(!fd_readable(efd));
	loop_pass_end();
	ck_assert(fd_readable(efd));
	c = run_loop_for(loop, 50);
	ck_assert_msg(!fd_readable(efd), "window still open %llu us after the pass",
		      (unsigned long long)c.wall_us);
	assert_idle_loop_sleeps(loop);

	/* A second pass opens it again. */
	loop_pass_begin();
	loop_pass_end();
	ck_assert(fd_readable(efd));
	run_loop_for(loop, 50);
	ck_assert(!fd_readable(efd));

	loop_pass_busy_poll_stop();
	ck_assert_int_eq(eventfd_new_since(&before), -1);
	qb_loop_destroy(loop);
}
END_TEST

static uint64_t pass_ns;
static bool checked_open, seen_open;
static uint64_t checked_at_ns;
static int spin_efd;

/* Timer inside the window: the loop has gone round, the window must still be open. */
static void check_window_open(void *data)
{
	(void)data;
	checked_open = true;
	checked_at_ns = mono_ns() - pass_ns;
	seen_open = fd_readable(spin_efd);
}

/*
 * A 1 s window: the loop spins (no sleep at all) while it is open, and the
 * window survives the loop going round. Only the first 100 ms of it run, so
 * the test costs 100 ms of CPU, not a second.
 */
START_TEST(test_busy_poll_spins_in_window)
{
	qb_loop_t *loop = qb_loop_create();
	qb_loop_timer_handle th;
	struct fdset before;
	struct run_cost idle, spin;
	uint64_t elapsed_ns;

	ck_assert_ptr_nonnull(loop);
	eventfds_scan(&before);
	ck_assert_int_eq(loop_pass_busy_poll_start(loop, 1000 * USEC_PER_MSEC), 0);
	spin_efd = eventfd_new_since(&before);
	ck_assert_int_ge(spin_efd, 0);

	/* Reference: the same run with the window shut sleeps. */
	idle = run_loop_for(loop, 20);
	ck_assert_int_ge(idle.vcsw, 1);

	checked_open = seen_open = false;
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_LOW, 20 * NSEC_PER_MSEC, NULL,
					   check_window_open, &th),
			 0);
	loop_pass_begin();
	loop_pass_end();
	pass_ns = mono_ns();
	spin = run_loop_for(loop, 100);
	elapsed_ns = mono_ns() - pass_ns;
	ck_assert(checked_open);
	/* On a machine so loaded that 1 s went by, nothing can be said. */
	if (elapsed_ns < 900 * NSEC_PER_MSEC) {
		ck_assert_msg(seen_open, "window shut %llu ns after the pass (1 s window)",
			      (unsigned long long)checked_at_ns);
		ck_assert(fd_readable(spin_efd));
		/* Spinning: epoll_wait() never blocked, so no voluntary switch. */
		ck_assert_msg(spin.vcsw == 0,
			      "loop slept %ld times inside the window (%llu us of CPU in %llu us)",
			      spin.vcsw, (unsigned long long)spin.cpu_us,
			      (unsigned long long)spin.wall_us);
	} else {
		fprintf(stderr, "check_loop_pass: machine too slow (%llu ms), window not checked\n",
			(unsigned long long)(elapsed_ns / NSEC_PER_MSEC));
	}

	/* Stop shuts the window at once, even though it has time left. */
	loop_pass_busy_poll_stop();
	ck_assert_int_eq(eventfd_new_since(&before), -1);
	assert_idle_loop_sleeps(loop);
	/* A pass without polling does not touch the closed eventfd. */
	loop_pass_begin();
	loop_pass_end();
	assert_idle_loop_sleeps(loop);

	/* Started again (stop then start works), on a fresh eventfd. */
	ck_assert_int_eq(loop_pass_busy_poll_start(loop, 2000), 0);
	spin_efd = eventfd_new_since(&before);
	ck_assert_int_ge(spin_efd, 0);
	ck_assert(!fd_readable(spin_efd));
	loop_pass_begin();
	loop_pass_end();
	ck_assert(fd_readable(spin_efd));
	run_loop_for(loop, 50);
	ck_assert(!fd_readable(spin_efd));
	loop_pass_busy_poll_stop();
	/* Stopping twice is harmless. */
	loop_pass_busy_poll_stop();
	qb_loop_destroy(loop);
}
END_TEST

static void extend_pass(void *data)
{
	(void)data;
	loop_pass_begin();
	loop_pass_end();
	pass_ns = mono_ns();
}

/*
 * The window counts from the last pass: a pass 150 ms into a 250 ms window
 * keeps it open past the first window's end (checked at 300 ms).
 */
START_TEST(test_busy_poll_pass_extends_window)
{
	qb_loop_t *loop = qb_loop_create();
	qb_loop_timer_handle t1, t2;
	struct fdset before;
	uint64_t first_ns;

	ck_assert_ptr_nonnull(loop);
	eventfds_scan(&before);
	ck_assert_int_eq(loop_pass_busy_poll_start(loop, 250 * USEC_PER_MSEC), 0);
	spin_efd = eventfd_new_since(&before);
	ck_assert_int_ge(spin_efd, 0);
	checked_open = seen_open = false;
	ck_assert_int_eq(
		qb_loop_timer_add(loop, QB_LOOP_HIGH, 150 * NSEC_PER_MSEC, NULL, extend_pass, &t1),
		0);
	ck_assert_int_eq(qb_loop_timer_add(loop, QB_LOOP_HIGH, 300 * NSEC_PER_MSEC, NULL,
					   check_window_open, &t2),
			 0);
	loop_pass_begin();
	loop_pass_end();
	first_ns = mono_ns();
	run_loop_for(loop, 320);
	ck_assert(checked_open);
	/* checked_at_ns counts from the second pass (extend_pass set pass_ns). */
	if (pass_ns - first_ns < 240 * NSEC_PER_MSEC && checked_at_ns < 240 * NSEC_PER_MSEC) {
		ck_assert_msg(seen_open, "window shut %llu ms after the second pass",
			      (unsigned long long)(checked_at_ns / NSEC_PER_MSEC));
	} else {
		fprintf(stderr, "check_loop_pass: timers too late, extension not checked\n");
	}
	loop_pass_busy_poll_stop();
	qb_loop_destroy(loop);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("loop_pass");
	TCase *tc = tcase_create("defer");
	TCase *tb = tcase_create("busy_poll");

	tcase_add_test(tc, test_defer_outside_pass);
	tcase_add_test(tc, test_defer_in_pass);
	tcase_add_test(tc, test_nested_passes);
	tcase_add_test(tc, test_arm_twice);
	tcase_add_test(tc, test_stage_order);
	tcase_add_test(tc, test_arm_from_io_fn);
	tcase_add_test(tc, test_arm_from_tx_fn);
	tcase_add_test(tc, test_rearm_self);
	tcase_add_test(tc, test_cancel_first_middle_last);
	tcase_add_test(tc, test_cancel_all_then_arm);
	tcase_add_test(tc, test_cancel_unarmed);
	tcase_add_test(tc, test_cancel_during_run);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tb, 30);
	tcase_add_test(tb, test_busy_poll_off);
	tcase_add_test(tb, test_busy_poll_window_closes);
	tcase_add_test(tb, test_busy_poll_spins_in_window);
	tcase_add_test(tb, test_busy_poll_pass_extends_window);
	suite_add_tcase(s, tb);
	return s;
}
