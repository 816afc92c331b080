/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shared main() of the Check binaries (check_main.h). */
#include <stdlib.h>

#include "tests/unit/check_main.h"

int main(void)
{
	SRunner *sr = srunner_create(check_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
