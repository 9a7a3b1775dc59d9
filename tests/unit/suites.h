/* One Check suite per module; runner.c runs them all. */
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
Suite *suite_sym(void);
Suite *suite_tree(void);
Suite *suite_render(void);
Suite *suite_thread(void);
Suite *suite_safefile(void);
Suite *suite_modmap(void);
Suite *suite_jsonread(void);
Suite *suite_dumpdest(void);

#endif
