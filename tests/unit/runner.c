/* Runs every module's suite; CK_FORK keeps a crash to one failed test.
 * Set CK_RUN_SUITE / CK_RUN_CASE to run a subset. */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(suite_waker());
    srunner_add_suite(sr, suite_registry());
    srunner_add_suite(sr, suite_ring());
    srunner_add_suite(sr, suite_doorbell());
    srunner_add_suite(sr, suite_generation());
    srunner_add_suite(sr, suite_capture());
    srunner_add_suite(sr, suite_stackwalk());
    srunner_add_suite(sr, suite_fork());
    srunner_add_suite(sr, suite_dumpdest());
    srunner_add_suite(sr, suite_contract());
    srunner_add_suite(sr, suite_sym());
    srunner_add_suite(sr, suite_tree());
    srunner_add_suite(sr, suite_render());
    srunner_add_suite(sr, suite_thread());
    srunner_add_suite(sr, suite_safefile());
    srunner_add_suite(sr, suite_modmap());
    srunner_add_suite(sr, suite_jsonread());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
