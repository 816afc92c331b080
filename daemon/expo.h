/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A writer of the Prometheus text exposition format (version 0.0.4, what
 * every Prometheus and `promtool check metrics` reads): one growing buffer,
 * a family at a time (# HELP and # TYPE, then its samples, all together as
 * the format requires), label values escaped (\\, \", \n), counters as
 * decimal integers, and a struct io_stats latency histogram as cumulative
 * _bucket{le="SECONDS"} lines, _sum in seconds and _count.
 *
 * Pure: no I/O, no clock, nothing global. Out of memory leaves @failed set
 * and the text cut short; the caller answers an error instead.
 */
#ifndef QUORATE_DAEMON_EXPO_H
#define QUORATE_DAEMON_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/io_stats.h"

/* The Content-Type of the format. */
#define EXPO_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct expo {
	char *buf; /* owned, NUL-terminated */
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed: the text is incomplete */
};

struct expo_label {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, never "le" */
	const char *value; /* any UTF-8; escaped here */
};

void expo_init(struct expo *e);
void expo_fini(struct expo *e);
/** Hand the text over (the caller frees it); @e is empty again. NULL if it failed. */
char *expo_take(struct expo *e, size_t *len);

/** Begin family @name of @type ("counter", "gauge", "histogram") with @help. */
void expo_family(struct expo *e, const char *name, const char *type, const char *help);
/** One sample NAME{LABELS} @v. */
void expo_u64(struct expo *e, const char *name, const struct expo_label *labels, unsigned int n,
	      uint64_t v);
/**
 * The latency histogram of @s as family @name's samples (@name already
 * begun as a "histogram"): a cumulative bucket per upper bound in seconds,
 * le="+Inf" equal to _count, _sum in seconds.
 */
void expo_histogram(struct expo *e, const char *name, const struct expo_label *labels,
		    unsigned int n, const struct io_stats *s);

#endif
