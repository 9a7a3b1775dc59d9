/* The Check suites, each named after the module it tests; runner.c runs
 * them all.  Not every module has one.
 *
 * The runtime (libtargetrt/): waker, registry, ring, doorbell, generation,
 * capture, stackwalk, fork and dumpdest, and contract (the function names
 * protocol.h promises the tool); control, dumpreq, rawdump, selfdump,
 * task, traced, version and exec/ have no suite of their own and are run
 * by the others and by the integration tests.
 *
 * The tool (tasktrace-attach/): elfcheck, filter, group, jsonread, live,
 * modmap, proc, render (render_text and render_json), safefile, sym,
 * thread, tree and unwind; bell and ringread are tested from the
 * runtime's side, in the doorbell, ring, capture and generation suites.
 * compare, core, corelive, dump, main, render_folded, render_out, snap,
 * symbolize, symfind and watchdog have no suite yet: only the integration
 * tests, which run the tool on real targets, test them.
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
