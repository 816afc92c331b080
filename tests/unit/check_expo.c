// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The Prometheus text format writer (daemon/expo.c): families, samples with
 * and without labels, label values and help text escaped as the format
 * says, and an io_stats histogram written cumulatively with exact decimal
 * bounds, _sum in seconds and _count equal to the +Inf bucket. The whole
 * text is compared byte for byte.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/expo.h"
#include "tests/unit/check_main.h"

START_TEST(test_family_and_samples)
{
	static const char want[] =
		"# HELP t_gauge a \\\\ and a\\nnewline \"quoted\"\n"
		"# TYPE t_gauge gauge\n"
		"t_gauge 7\n"
		"t_gauge{a=\"x\",b=\"q\\\"uo\\\\te\\nd\"} 18446744073709551615\n";
	const struct expo_label labels[] = {{"a", "x"}, {"b", "q\"uo\\te\nd"}};
	struct expo e;
	size_t len;
	char *text;

	expo_init(&e);
	expo_family(&e, "t_gauge", "gauge", "a \\ and a\nnewline \"quoted\"");
	expo_u64(&e, "t_gauge", NULL, 0, 7);
	expo_u64(&e, "t_gauge", labels, 2, UINT64_MAX);
	text = expo_take(&e, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(text, want);
	free(text);
	/* Taken: the writer is empty and reusable. */
	ck_assert_ptr_null(e.buf);
	ck_assert_uint_eq(e.len, 0);
	expo_fini(&e);
}
END_TEST

START_TEST(test_histogram)
{
	const struct expo_label labels[] = {{"lun", "0"}};
	struct io_stats s = {0};
	struct expo e;
	char line[128], *text, *p;
	size_t len;
	uint64_t last = 0;
	unsigned int buckets = 0;

	io_stats_record(&s, IO_STATS_READ, IO_STATS_STATUS_GOOD, -1, 0, 500);	      /* <= 1 us */
	io_stats_record(&s, IO_STATS_READ, IO_STATS_STATUS_GOOD, -1, 0, 3000);	      /* <= 4 us */
	io_stats_record(&s, IO_STATS_READ, IO_STATS_STATUS_GOOD, -1, 0, 1500000000);  /* 1.5 s */
	io_stats_record(&s, IO_STATS_READ, IO_STATS_STATUS_GOOD, -1, 0, 60000000000); /* > 33.5 s */
	expo_init(&e);
	expo_family(&e, "t_seconds", "histogram", "h");
	expo_histogram(&e, "t_seconds", labels, 1, &s);
	text = expo_take(&e, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert(strstr(text, "t_seconds_bucket{lun=\"0\",le=\"0.000001\"} 1\n") != NULL);
	ck_assert(strstr(text, "t_seconds_bucket{lun=\"0\",le=\"0.000002\"} 1\n") != NULL);
	ck_assert(strstr(text, "t_seconds_bucket{lun=\"0\",le=\"0.000004\"} 2\n") != NULL);
	ck_assert(strstr(text, "t_seconds_bucket{lun=\"0\",le=\"1.048576\"} 2\n") != NULL);
	ck_assert(strstr(text, "t_seconds_bucket{lun=\"0\",le=\"2.097152\"} 3\n") != NULL);
	ck_assert(strstr(text, "t_seconds_bucket{lun=\"0\",le=\"33.554432\"} 3\n") != NULL);
	ck_assert(strstr(text, "t_seconds_bucket{lun=\"0\",le=\"+Inf\"} 4\n") != NULL);
	ck_assert(strstr(text, "t_seconds_sum{lun=\"0\"} 61.500003500\n") != NULL);
	ck_assert(strstr(text, "t_seconds_count{lun=\"0\"} 4\n") != NULL);
	/* Every bucket once, in order, never decreasing. */
	for (p = strstr(text, "t_seconds_bucket"); p != NULL;
	     p = strstr(p + 1, "t_seconds_bucket")) {
		const char *sp = strchr(p, ' ');
		uint64_t v = strtoull(sp + 1, NULL, 10);

		snprintf(line, sizeof(line), "%.*s", (int)(strchr(p, '\n') - p), p);
		ck_assert_msg(v >= last, "decreasing: %s", line);
		last = v;
		buckets++;
	}
	ck_assert_uint_eq(buckets, IO_STATS_LAT_BUCKETS);
	free(text);
}
END_TEST

Suite *check_suite(void)
{
	Suite *s = suite_create("expo");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, test_family_and_samples);
	tcase_add_test(tc, test_histogram);
	suite_add_tcase(s, tc);
	return s;
}
