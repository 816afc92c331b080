// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The Prometheus text format writer (expo.h). Numbers are written with
 * integer arithmetic only, so a bucket bound or a sum reads the same in
 * every scrape (the le label is part of a series' identity): 2^k
 * microseconds are exactly "S.UUUUUU" seconds, nanoseconds "S.NNNNNNNNN".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/expo.h"

#define EXPO_CHUNK 16384
#define US_PER_S   1000000u
#define NS_PER_S   1000000000u

void expo_init(struct expo *e)
{
	memset(e, 0, sizeof(*e));
}

void expo_fini(struct expo *e)
{
	free(e->buf);
	expo_init(e);
}

char *expo_take(struct expo *e, size_t *len)
{
	char *text = e->failed ? NULL : e->buf;

	*len = e->failed ? 0 : e->len;
	if (e->failed) {
		free(e->buf);
	}
	expo_init(e);
	return text;
}

/* Room for @n more bytes and the NUL. */
static bool expo_room(struct expo *e, size_t n)
{
	size_t cap;
	char *b;

	if (e->failed) {
		return false;
	}
	if (e->len + n + 1 <= e->cap) {
		return true;
	}
	cap = e->cap ? e->cap : EXPO_CHUNK;
	while (cap < e->len + n + 1) {
		cap *= 2;
	}
	b = realloc(e->buf, cap);
	if (!b) {
		e->failed = true;
		return false;
	}
	e->buf = b;
	e->cap = cap;
	return true;
}

static void expo_put(struct expo *e, const char *s, size_t n)
{
	if (expo_room(e, n)) {
		memcpy(e->buf + e->len, s, n);
		e->len += n;
		e->buf[e->len] = '\0';
	}
}

static void expo_puts(struct expo *e, const char *s)
{
	expo_put(e, s, strlen(s));
}

static void expo_printf(struct expo *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void expo_printf(struct expo *e, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(tmp)) {
		expo_put(e, tmp, (size_t)n);
	} else {
		e->failed = true; /* only numbers go through here */
	}
}

/* @s with backslash and newline escaped, and the double quote if @quote. */
static void expo_escaped(struct expo *e, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\') {
			expo_puts(e, "\\\\");
		} else if (*s == '\n') {
			expo_puts(e, "\\n");
		} else if (quote && *s == '"') {
			expo_puts(e, "\\\"");
		} else {
			expo_put(e, s, 1);
		}
	}
}

void expo_family(struct expo *e, const char *name, const char *type, const char *help)
{
	expo_puts(e, "# HELP ");
	expo_puts(e, name);
	expo_puts(e, " ");
	expo_escaped(e, help, false);
	expo_puts(e, "\n# TYPE ");
	expo_puts(e, name);
	expo_puts(e, " ");
	expo_puts(e, type);
	expo_puts(e, "\n");
}

/* NAME{l1="v1",...,le="LE"} (no braces without labels); @le may be NULL. */
static void expo_series(struct expo *e, const char *name, const char *suffix,
			const struct expo_label *labels, unsigned int n, const char *le)
{
	expo_puts(e, name);
	expo_puts(e, suffix);
	if (n == 0 && !le) {
		return;
	}
	expo_puts(e, "{");
	for (unsigned int i = 0; i < n; i++) {
		expo_puts(e, i ? "," : "");
		expo_puts(e, labels[i].name);
		expo_puts(e, "=\"");
		expo_escaped(e, labels[i].value, true);
		expo_puts(e, "\"");
	}
	if (le) {
		expo_puts(e, n ? ",le=\"" : "le=\"");
		expo_puts(e, le);
		expo_puts(e, "\"");
	}
	expo_puts(e, "}");
}

void expo_u64(struct expo *e, const char *name, const struct expo_label *labels, unsigned int n,
	      uint64_t v)
{
	expo_series(e, name, "", labels, n, NULL);
	expo_printf(e, " %" PRIu64 "\n", v);
}

void expo_histogram(struct expo *e, const char *name, const struct expo_label *labels,
		    unsigned int n, const struct io_stats *s)
{
	uint64_t cum = 0;
	char le[32];

	for (unsigned int k = 0; k < IO_STATS_LAT_BUCKETS; k++) {
		uint64_t us = io_stats_bucket_le_us(k);

		cum += s->latency[k];
		if (us) {
			snprintf(le, sizeof(le), "%" PRIu64 ".%06" PRIu64, us / US_PER_S,
				 us % US_PER_S);
		} else {
			snprintf(le, sizeof(le), "+Inf");
		}
		expo_series(e, name, "_bucket", labels, n, le);
		expo_printf(e, " %" PRIu64 "\n", cum);
	}
	expo_series(e, name, "_sum", labels, n, NULL);
	expo_printf(e, " %" PRIu64 ".%09" PRIu64 "\n", s->latency_sum_ns / NS_PER_S,
		    s->latency_sum_ns % NS_PER_S);
	expo_series(e, name, "_count", labels, n, NULL);
	expo_printf(e, " %" PRIu64 "\n", cum);
}
