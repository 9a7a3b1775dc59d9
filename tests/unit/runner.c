/* Runs every module's suite; CK_FORK keeps a crash to one failed test.
 * Set CK_RUN_SUITE / CK_RUN_CASE to run a subset.
 *
 * `runner NEED` runs instead the cases that need NEED ("ptrace",
 * "core", "map-files"), after checking that this machine grants it: when it does
 * not, it prints "SKIP: why" and exits 77, the harness's skip, rather than
 * passing cases it never ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "tchild.h"
#include "tcore.h"

static int run(SRunner *sr)
{
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int run_need(const char *need)
{
    const char *missing;
    Suite *s = suite_create(need);
    if (strcmp(need, "ptrace") == 0) {
        missing = child_ptrace_missing();
        suite_add_tcase(s, tcase_thread_ptrace());
        suite_add_tcase(s, tcase_unwind_ptrace());
        suite_add_tcase(s, tcase_watchdog_ptrace());
        suite_add_tcase(s, tcase_rtread_ptrace());
    } else if (strcmp(need, "core") == 0) {
        missing = core_child_missing();
        suite_add_tcase(s, tcase_core_file());
        suite_add_tcase(s, tcase_corethreads_file());
    } else if (strcmp(need, "map-files") == 0) {
        missing = safefile_map_files_missing();
        suite_add_tcase(s, tcase_safefile_map_files());
    } else {
        fprintf(stderr, "runner: unknown need '%s' (ptrace, core, map-files)\n", need);
        return 99;
    }
    if (missing != NULL) {
        printf("SKIP: the unit cases that need %s: %s\n", need, missing);
        /* A runner frees its suites and their cases: nothing is left for
         * LeakSanitizer to report on a skip. */
        srunner_free(srunner_create(s));
        return 77;
    }
    return run(srunner_create(s));
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return run_need(argv[1]);
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
    srunner_add_suite(sr, suite_lookup());
    srunner_add_suite(sr, suite_findfile());
    srunner_add_suite(sr, suite_findcore());
    srunner_add_suite(sr, suite_tree());
    srunner_add_suite(sr, suite_render());
    srunner_add_suite(sr, suite_thread());
    srunner_add_suite(sr, suite_livestack());
    srunner_add_suite(sr, suite_proc());
    srunner_add_suite(sr, suite_filter());
    srunner_add_suite(sr, suite_group());
    srunner_add_suite(sr, suite_elfcheck());
    srunner_add_suite(sr, suite_safefile());
    srunner_add_suite(sr, suite_modmap());
    srunner_add_suite(sr, suite_jsonread());
    /* The tool's modules tested apart from the views and the model that
     * use them. */
    srunner_add_suite(sr, suite_duration());
    srunner_add_suite(sr, suite_escape());
    srunner_add_suite(sr, suite_trim());
    srunner_add_suite(sr, suite_dump());
    srunner_add_suite(sr, suite_render_folded());
    srunner_add_suite(sr, suite_render_out());
    srunner_add_suite(sr, suite_compare());
    srunner_add_suite(sr, suite_symbolize());
    srunner_add_suite(sr, suite_watchdog());
    srunner_add_suite(sr, suite_rtread());
    srunner_add_suite(sr, suite_core());
    srunner_add_suite(sr, suite_diag());
    return run(sr);
}
