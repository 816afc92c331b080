/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one main() of every Check binary in tests/unit (check_main.c): each
 * test file defines check_suite(), main() runs it and exits non-zero when a
 * test failed. Check's own environment (CK_FORK, CK_RUN_CASE, CK_VERBOSITY)
 * applies as usual.
 */
#ifndef QUORATE_TESTS_UNIT_CHECK_MAIN_H
#define QUORATE_TESTS_UNIT_CHECK_MAIN_H

#include <check.h>

/** The suite this test binary runs. */
Suite *check_suite(void);

#endif
