/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reach probes (quorum/reach.c) against real sockets on the real qb_loop:
 * a listening socket answers (connected), a closed port answers with a RST
 * (refused), a listener whose accept queue is full drops the SYN so the
 * probe times out (Linux drops a SYN to a full queue, answering nothing: the
 * case of a firewall that drops silently), and inside a fresh network
 * namespace, with no route at all, a TEST-NET-1 address is unreachable at
 * once. Outcomes come from the loop, never from inside reach_start(); a
 * callback may start the next round or destroy the prober. Links only
 * libquorum and libqb.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <qb/qbloop.h>
#include <qb/qbutil.h>

#include "tests/unit/check_listener.h"
#include "tests/unit/check_main.h"
#include "quorum/reach.h"

#define N_MAX 8

static struct {
	qb_loop_t *loop;
	struct reach *r;
	bool in_start;
	int calls;
	int want; /* stop the loop after this many results */
	enum reach_outcome out[N_MAX];
	uint64_t at_ms[N_MAX]; /* when each came, from the round's start */
	uint64_t t0;
	bool destroy_in_callback;
	bool restart_in_callback;
	struct reach_target restart_target;
} t;

static uint64_t now_ms(void)
{
	return qb_util_nano_current_get() / QB_TIME_NS_IN_MSEC;
}

static void on_result(size_t i, enum reach_outcome o, void *arg)
{
	ck_assert_ptr_eq(arg, &t);
	ck_assert(!t.in_start);
	ck_assert_int_ne(o, REACH_PENDING);
	ck_assert_uint_lt(i, N_MAX);
	t.out[i] = o;
	t.at_ms[i] = now_ms() - t.t0;
	t.calls++;
	if (t.destroy_in_callback) {
		reach_destroy(t.r);
		t.r = NULL;
		qb_loop_stop(t.loop);
		return;
	}
	if (t.restart_in_callback) {
		t.restart_in_callback = false;
		t.in_start = true;
		ck_assert_int_eq(reach_start(t.r, &t.restart_target, 1, 1000), 0);
		t.in_start = false;
		return;
	}
	if (t.calls == t.want) {
		qb_loop_stop(t.loop);
	}
}

static void stop_loop(void *data)
{
	qb_loop_stop(data);
}

/* Run the loop until @want results came or @limit_ms passed. */
static void run(int want, unsigned int limit_ms)
{
	qb_loop_timer_handle h;

	t.want = want;
	ck_assert_int_eq(qb_loop_timer_add(t.loop, QB_LOOP_LOW, limit_ms * QB_TIME_NS_IN_MSEC,
					   t.loop, stop_loop, &h),
			 0);
	qb_loop_run(t.loop);
	qb_loop_timer_del(t.loop, h);
}

static void start(const struct reach_target *targets, size_t n, uint32_t timeout_ms)
{
	for (size_t i = 0; i < N_MAX; i++) {
		t.out[i] = REACH_PENDING;
	}
	t.calls = 0;
	t.t0 = now_ms();
	t.in_start = true;
	ck_assert_int_eq(reach_start(t.r, targets, n, timeout_ms), 0);
	t.in_start = false;
	ck_assert(reach_running(t.r));
}

static void setup(void)
{
	memset(&t, 0, sizeof(t));
	t.loop = qb_loop_create();
	ck_assert_ptr_nonnull(t.loop);
	ck_assert_int_eq(reach_create(t.loop, on_result, &t, &t.r), 0);
}

static void teardown(void)
{
	reach_destroy(t.r);
	qb_loop_destroy(t.loop);
}

START_TEST(test_targets)
{
	struct reach_target x;
	struct reach_target many[REACH_TARGETS_MAX + 1];

	ck_assert_int_eq(reach_target_set(&x, "198.18.0.1", 3260), 0);
	ck_assert_int_eq(x.addr.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&x.addr)->sin_port), 3260);
	ck_assert_int_eq(reach_target_set(&x, "fd00::1", 5403), 0);
	ck_assert_int_eq(x.addr.ss_family, AF_INET6);
	ck_assert_uint_eq(x.addr_len, sizeof(struct sockaddr_in6));
	/* Names are not resolved (that could block the loop). */
	ck_assert_int_eq(reach_target_set(&x, "node1", 3260), -EINVAL);
	ck_assert_int_eq(reach_target_set(&x, "", 3260), -EINVAL);
	ck_assert_int_eq(reach_target_set(&x, "198.18.0.1:3260", 3260), -EINVAL);
	memset(many, 0, sizeof(many));
	ck_assert_int_eq(reach_start(t.r, many, REACH_TARGETS_MAX + 1, 100), -E2BIG);
	ck_assert(!reach_running(t.r));
	/* An empty round is over at once and reports nothing. */
	ck_assert_int_eq(reach_start(t.r, many, 0, 100), 0);
	ck_assert(!reach_running(t.r));
	ck_assert_str_eq(reach_outcome_name(REACH_TIMEOUT), "timed out");
	ck_assert(reach_answered(REACH_CONNECTED) && reach_answered(REACH_REFUSED));
	ck_assert(!reach_answered(REACH_UNREACHABLE) && !reach_answered(REACH_TIMEOUT) &&
		  !reach_answered(REACH_FAILED));
}
END_TEST

START_TEST(test_connected_refused_timeout)
{
	struct reach_target tg[3];
	uint16_t open_port, full_port;
	int lfd = check_tcp_socket(8, &open_port), filler,
	    ffd = check_full_listener(&full_port, &filler);

	ck_assert_int_eq(reach_target_set(&tg[0], "127.0.0.1", open_port), 0);
	ck_assert_int_eq(reach_target_set(&tg[1], "127.0.0.1", check_closed_port()), 0);
	ck_assert_int_eq(reach_target_set(&tg[2], "127.0.0.1", full_port), 0);
	start(tg, 3, 300);
	run(3, 3000);
	ck_assert_int_eq(t.calls, 3);
	ck_assert(!reach_running(t.r));
	ck_assert_int_eq(t.out[0], REACH_CONNECTED);
	ck_assert_int_eq(t.out[1], REACH_REFUSED);
	ck_assert_int_eq(t.out[2], REACH_TIMEOUT);
	/* Answers come when they come; silence costs the timeout. */
	ck_assert_uint_lt(t.at_ms[0], 250);
	ck_assert_uint_lt(t.at_ms[1], 250);
	ck_assert_uint_ge(t.at_ms[2], 295);
	ck_assert_uint_lt(t.at_ms[2], 1500);
	/* The probe's connection was closed at once: the listener has it queued, ended. */
	{
		char c;
		int afd = accept(lfd, NULL, NULL);

		ck_assert_int_ge(afd, 0);
		ck_assert_int_le(recv(afd, &c, 1, 0), 0);
		close(afd);
	}
	close(filler);
	close(ffd);
	close(lfd);
}
END_TEST

/*
 * A fresh network namespace has no route (its lo is down): a TEST-NET-1
 * address is unreachable at once, and no packet leaves the namespace. The
 * probe runs in a child that enters the namespace; without the privilege
 * to create one the case is skipped (said on stderr).
 */
START_TEST(test_unreachable_in_empty_netns)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct reach_target tg;

		if (unshare(CLONE_NEWNET) < 0 && (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)) {
			_exit(77);
		}
		/* A loop of its own: the parent's epoll set is shared across fork(). */
		t.loop = qb_loop_create();
		if (t.loop == NULL || reach_create(t.loop, on_result, &t, &t.r) < 0 ||
		    reach_target_set(&tg, "192.0.2.1", 3260) < 0) {
			_exit(1);
		}
		start(&tg, 1, 2000);
		run(1, 5000);
		/* Known at once (no route), not after the 2 s timeout. */
		_exit(t.calls == 1 && t.out[0] == REACH_UNREACHABLE && t.at_ms[0] < 1000 ? 0 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		fprintf(stderr, "check_quorum_reach: cannot create a network namespace here: "
				"the unreachable case is skipped\n");
		return;
	}
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* A callback that starts the next round: the rest of the old one is never reported. */
START_TEST(test_restart_from_callback)
{
	struct reach_target tg[2];
	uint16_t open_port;
	int lfd = check_tcp_socket(8, &open_port);

	ck_assert_int_eq(reach_target_set(&tg[0], "127.0.0.1", check_closed_port()), 0);
	ck_assert_int_eq(reach_target_set(&tg[1], "127.0.0.1", check_closed_port()), 0);
	ck_assert_int_eq(reach_target_set(&t.restart_target, "127.0.0.1", open_port), 0);
	t.restart_in_callback = true;
	start(tg, 2, 1000);
	run(2, 3000);
	/* The first result of round 1, then the only one of round 2 (index 0). */
	ck_assert_int_eq(t.calls, 2);
	ck_assert_int_eq(t.out[0], REACH_CONNECTED);
	ck_assert(!reach_running(t.r));
	close(lfd);
}
END_TEST

/* Destroyed from its own callback: no further callback, every socket closed. */
START_TEST(test_destroy_from_callback)
{
	struct reach_target tg[2];

	ck_assert_int_eq(reach_target_set(&tg[0], "127.0.0.1", check_closed_port()), 0);
	ck_assert_int_eq(reach_target_set(&tg[1], "127.0.0.1", check_closed_port()), 0);
	t.destroy_in_callback = true;
	start(tg, 2, 1000);
	run(2, 1500);
	ck_assert_int_eq(t.calls, 1);
	ck_assert_ptr_null(t.r);
	/* Nothing of it is left on the loop. */
	run(1, 1200);
	ck_assert_int_eq(t.calls, 1);
}
END_TEST

/* Cancelled: nothing more is reported. */
START_TEST(test_cancel)
{
	struct reach_target tg;
	uint16_t full_port;
	int filler, ffd = check_full_listener(&full_port, &filler);

	ck_assert_int_eq(reach_target_set(&tg, "127.0.0.1", full_port), 0);
	start(&tg, 1, 200);
	reach_cancel(t.r);
	ck_assert(!reach_running(t.r));
	run(1, 500);
	ck_assert_int_eq(t.calls, 0);
	close(filler);
	close(ffd);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("quorum_reach");
	TCase *tc = tcase_create("reach");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_targets);
	tcase_add_test(tc, test_connected_refused_timeout);
	tcase_add_test(tc, test_unreachable_in_empty_netns);
	tcase_add_test(tc, test_restart_from_callback);
	tcase_add_test(tc, test_destroy_from_callback);
	tcase_add_test(tc, test_cancel);
	suite_add_tcase(s, tc);
	return s;
}
