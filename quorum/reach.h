/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reach probes: is anybody there? One TCP connect to each address of a
 * list, non-blocking on the caller's qb_loop (no thread, no blocking call),
 * each socket closed as soon as its outcome is known. A host that accepts
 * the connection or refuses it with a RST answered; no route, an ICMP
 * unreachable or silence until the timeout did not.
 *
 * The Corosync transport uses it to learn whether this node is still on
 * the winning side of a partition while its own heartbeats are not being
 * delivered (docs/ARCHITECTURE.md, "Serving and fencing"); this module
 * knows nothing of clusters: it probes addresses and reports outcomes.
 */
#ifndef QUORATE_QUORUM_REACH_H
#define QUORATE_QUORUM_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <qb/qbloop.h>

/* Targets of one round at most. */
#define REACH_TARGETS_MAX 64

enum reach_outcome {
	REACH_PENDING,	   /* not known yet */
	REACH_CONNECTED,   /* the connection was accepted */
	REACH_REFUSED,	   /* RST: the host is there, nothing listens on the port */
	REACH_UNREACHABLE, /* no route, or ICMP net/host unreachable */
	REACH_TIMEOUT,	   /* no answer within the round's timeout */
	REACH_FAILED,	   /* any other error (socket(), a local limit) */
};

/** Did the host answer (connected or refused)? */
static inline bool reach_answered(enum reach_outcome o)
{
	return o == REACH_CONNECTED || o == REACH_REFUSED;
}

/** The outcome in words, for logs ("connected", "timed out", ...). */
const char *reach_outcome_name(enum reach_outcome o);

struct reach_target {
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

/**
 * Fill @t from a numeric IPv4 or IPv6 address (no name lookup: this runs on
 * the daemon's loop) and @port. @return 0, or -EINVAL when @host is not a
 * numeric address.
 */
int reach_target_set(struct reach_target *t, const char *host, uint16_t port);

/*
 * One outcome of the running round: target @index of the list given to
 * reach_start() now has outcome @o (never REACH_PENDING). Called once per
 * target, always from the loop, never from inside reach_start(); the round
 * is over (reach_running() false) when the last target's call comes. The
 * callback may start the next round or destroy @r.
 */
typedef void (*reach_result_fn)(size_t index, enum reach_outcome o, void *arg);

struct reach;

/** @return 0 or -ENOMEM. */
int reach_create(qb_loop_t *loop, reach_result_fn fn, void *arg, struct reach **out);

/** Close every socket of a running round (no more callbacks) and free. NULL: no-op. */
void reach_destroy(struct reach *r);

/**
 * Connect to each of @targets (@count, at most REACH_TARGETS_MAX, copied)
 * at once; those without an answer after @timeout_ms time out. A round
 * still running is cancelled first (its remaining outcomes are not
 * reported). @return 0, -E2BIG or -ENOMEM (then nothing runs).
 */
int reach_start(struct reach *r, const struct reach_target *targets, size_t count,
		uint32_t timeout_ms);

/** Stop the running round, if any: its sockets closed, no more callbacks. */
void reach_cancel(struct reach *r);

/** Is a round running (some outcome not reported yet)? */
bool reach_running(const struct reach *r);

#endif
