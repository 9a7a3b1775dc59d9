/* The Check suites, each named after the module it tests; runner.c runs
 * them all.  Not every module has one.
 *
 * The runtime (libtargetrt/): waker, registry, ring, doorbell, generation,
 * capture, stackwalk, fork and dumpdest, and contract (the function names
 * protocol.h promises the tool); control, dumpreq, rawdump, selfdump,
 * task, traced, version and exec/ have no suite of their own and are run
 * by the others and by the integration tests.
 *
 * The tool (tasktrace-attach/): jsonread; proc, safefile and thread;
 * elfcheck, modmap, lookup and unwind (with model/trim); livestack, tree,
 * filter and group; render (views/render_text and render_json, with
 * util/duration and util/escape).  target/doorbell and target/records are
 * tested from the runtime's side, in the doorbell, ring, capture and
 * generation suites.  util/diag, target/rtread, core and watchdog,
 * symbols/findfile and findcore, model/dump, corethreads, symbolize and
 * compare, views/render_folded and render_out, and cli/ have no suite
 * yet: only the integration tests, which run the tool on real targets,
 * test them.
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
Suite *suite_unwind(void);
Suite *suite_livestack(void);
Suite *suite_proc(void);
Suite *suite_filter(void);
Suite *suite_group(void);
Suite *suite_elfcheck(void);
Suite *suite_safefile(void);
Suite *suite_modmap(void);
Suite *suite_jsonread(void);
Suite *suite_dumpdest(void);

/* Need "ptrace": a child of the test stopped and unwound. */
TCase *tcase_thread_ptrace(void);
TCase *tcase_unwind_ptrace(void);

/* Need "map-files": opening /proc/PID/map_files. */
TCase *tcase_safefile_map_files(void);
/* NULL when this process may open what /proc/self/map_files lists, else
 * why not. */
const char *safefile_map_files_missing(void);

#endif
