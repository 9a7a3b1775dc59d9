/* The Check suites, each named after the module it tests; runner.c runs
 * them all.
 *
 * The runtime (libtargetrt/): waker, registry, ring, doorbell, generation,
 * capture, stackwalk, fork and dumpdest, and contract (the function names
 * protocol.h promises the tool); control, dumpreq, rawdump, selfdump,
 * task, traced, version and exec/ have no suite of their own and are run
 * by the others (rawdump by symbolize too) and by the integration tests.
 *
 * The tool (tasktrace-attach/), folder by folder:
 *   util     diag, duration, escape (with the UTF-8 check both halves
 *            share, protocol/tasktrace/utf8.h), jsonread;
 *   target   proc, safefile, thread, watchdog, rtread, core; records is
 *            tested from the runtime's side, in the ring, capture and
 *            generation suites, and doorbell in the doorbell suite,
 *            which rings the runtime's doorbell as the tool does;
 *   symbols  elfcheck, modmap, lookup, findfile (the seam's live, core
 *            and saved-dump sources, and through them finddebug and
 *            findsaved), findcore, and unwind (its one case needs
 *            ptrace);
 *   model    dump (its problems; building a dump is run by the
 *            symbolize and corethreads suites), tree, group, filter,
 *            livestack, trim, compare, symbolize, corethreads (a case
 *            that needs a core);
 *   views    render (render_text and render_json), render_folded,
 *            render_out, and render_compare in the compare suite;
 *   cli      no unit suite: the command line is tested by the integration
 *            tests (tests/integration/), which run the tool on real
 *            targets and compare its output with expected files.
 *
 * The cases that need what a machine may forbid are test cases apart
 * (tcase_*), which `runner NEED` runs alone; it exits 77 when the need is
 * missing, so that the harness reports a skip (tests/unit/need-*.sh). */
#ifndef TT_TEST_SUITES_H
#define TT_TEST_SUITES_H

#include <check.h>

Suite *suite_waker(void);
Suite *suite_registry(void);
Suite *suite_ring(void);
Suite *suite_doorbell(void);
Suite *suite_generation(void);
Suite *suite_capture(void);
Suite *suite_stackwalk(void);
Suite *suite_fork(void);
Suite *suite_contract(void);
Suite *suite_lookup(void);
Suite *suite_findfile(void);
Suite *suite_findcore(void);
Suite *suite_tree(void);
Suite *suite_render(void);
Suite *suite_thread(void);
Suite *suite_livestack(void);
Suite *suite_proc(void);
Suite *suite_filter(void);
Suite *suite_group(void);
Suite *suite_elfcheck(void);
Suite *suite_safefile(void);
Suite *suite_modmap(void);
Suite *suite_jsonread(void);
Suite *suite_dumpdest(void);
Suite *suite_duration(void);
Suite *suite_escape(void);
Suite *suite_trim(void);
Suite *suite_render_folded(void);
Suite *suite_render_out(void);
Suite *suite_compare(void);
Suite *suite_symbolize(void);
Suite *suite_watchdog(void);
Suite *suite_rtread(void);
Suite *suite_core(void);
Suite *suite_diag(void);
Suite *suite_dump(void);

/* Need "ptrace": a child of the test stopped and unwound. */
TCase *tcase_thread_ptrace(void);
TCase *tcase_unwind_ptrace(void);
TCase *tcase_watchdog_ptrace(void);
TCase *tcase_rtread_ptrace(void);

/* Need "core": a core file the kernel wrote of a child of the test
 * (tcore.h says when it cannot). */
TCase *tcase_core_file(void);
TCase *tcase_corethreads_file(void);

/* Need "map-files": opening /proc/PID/map_files. */
TCase *tcase_safefile_map_files(void);
/* NULL when this process may open what /proc/self/map_files lists, else
 * why not. */
const char *safefile_map_files_missing(void);

#endif
