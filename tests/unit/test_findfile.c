/* findfile.c, the seam for finding modules' files: this process's own C
 * library, a real ELF file with a build id, found through each source's
 * policy (a live process, a core, a saved dump), and what each refuses:
 * a file of another build id, a FIFO, a module no source marked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>
#include <elfutils/libdwfl.h>

#include "suites.h"
#include "tmodule.h"
#include "symbols/findfile.h"
#include "symbols/lookup.h"
#include "target/safefile.h"

static struct tmodule libc;
static struct safefile_cred self;

static void setup(void)
{
    /* Never reach for the network from a unit test. */
    unsetenv("DEBUGINFOD_URLS");
    tmodule_of((const void *)&printf, &libc);
    ck_assert_int_eq(safefile_cred_read(getpid(), &self), 0);
}

/* The main file libdwfl has for MOD, or NULL; loads it. */
static const char *main_file(Dwfl_Module *mod)
{
    Dwarf_Addr bias;
    const char *file = NULL;
    if (dwfl_module_getelf(mod, &bias) == NULL)
        return NULL;
    dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &file, NULL);
    return file;
}

/* The build id libdwfl knows for MOD matches libc's. */
static bool has_libc_id(Dwfl_Module *mod)
{
    const unsigned char *id = NULL;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &id, &vaddr);
    return len == (int)libc.idlen && memcmp(id, libc.id, libc.idlen) == 0;
}

/* A Dwfl of the core source with one module NAME over libc's extent,
 * reported with build id ID (IDLEN bytes, 0 for none). */
static Dwfl *core_dwfl(const char *name, const unsigned char *id, size_t idlen, bool exe,
                       const char *exe_path, Dwfl_Module **mod)
{
    Dwfl *dwfl = findfile_dwfl_begin();
    ck_assert_ptr_nonnull(dwfl);
    findfile_core_use(&self, exe_path);
    dwfl_report_begin(dwfl);
    *mod = dwfl_report_module(dwfl, name, libc.low, libc.high);
    ck_assert_ptr_nonnull(*mod);
    findfile_attach_core(*mod, exe);
    if (idlen > 0)
        ck_assert_int_eq(dwfl_module_report_build_id(*mod, id, idlen, 0), 0);
    ck_assert_int_eq(dwfl_report_end(dwfl, NULL, NULL), 0);
    return dwfl;
}

START_TEST(test_live)
{
    /* The target's own maps, its file through map_files or its root. */
    int err = 1;
    Dwfl *dwfl = lookup_dwfl_open_pid(getpid(), &err);
    ck_assert_ptr_nonnull(dwfl);
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, libc.head);
    ck_assert_ptr_nonnull(mod);
    const char *file = main_file(mod);
    ck_assert_ptr_nonnull(file);
    ck_assert_str_eq(file, libc.path);
    ck_assert(has_libc_id(mod));
    dwfl_end(dwfl);
}
END_TEST

START_TEST(test_core)
{
    /* The file the core names, its build id the one reported. */
    Dwfl_Module *mod;
    Dwfl *dwfl = core_dwfl(libc.path, libc.id, libc.idlen, false, NULL, &mod);
    const char *file = main_file(mod);
    ck_assert_ptr_nonnull(file);
    ck_assert_str_eq(file, libc.path);
    ck_assert(has_libc_id(mod));
    dwfl_end(dwfl);

    /* --exe stands in for the executable, whatever path the core says. */
    dwfl = core_dwfl("/nonexistent/program", libc.id, libc.idlen, true, libc.path, &mod);
    file = main_file(mod);
    ck_assert_ptr_nonnull(file);
    ck_assert_str_eq(file, libc.path);
    dwfl_end(dwfl);
}
END_TEST

START_TEST(test_core_refused)
{
    /* A FIFO named as a module is never opened for reading (which would
     * block): said once on stderr, escaped, and the module has no file. */
    char dir[] = "/tmp/tt-findfile-XXXXXX", fifo[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(fifo, sizeof(fifo), "%s/lib\x01.so", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    Dwfl_Module *mod;
    Dwfl *dwfl = core_dwfl(fifo, NULL, 0, false, NULL, &mod);
    tmodule_stderr_begin();
    ck_assert_ptr_null(main_file(mod));
    char *err = tmodule_stderr_end();
    ck_assert_msg(strstr(err, "tasktrace-attach: module ") == err, "stderr: %s", err);
    ck_assert_msg(strstr(err, "lib\\x01.so: not reading its file: ") != NULL, "stderr: %s", err);
    ck_assert_msg(strstr(err, "; its frames show module+offset\n") != NULL, "stderr: %s", err);
    ck_assert_ptr_null(strchr(err, '\x01'));
    free(err);
    dwfl_end(dwfl);
    unlink(fifo);
    rmdir(dir);
}
END_TEST

START_TEST(test_unmarked)
{
    /* The seam serves only the modules a source marked. */
    Dwfl *dwfl = findfile_dwfl_begin();
    ck_assert_ptr_nonnull(dwfl);
    dwfl_report_begin(dwfl);
    Dwfl_Module *mod = dwfl_report_module(dwfl, libc.path, libc.low, libc.high);
    ck_assert_ptr_nonnull(mod);
    ck_assert_int_eq(dwfl_report_end(dwfl, NULL, NULL), 0);
    ck_assert_ptr_null(main_file(mod));
    dwfl_end(dwfl);
}
END_TEST

/* Reports libc's file as a saved dump's module PATH with build id HEX. */
static int report_saved(Dwfl *dwfl, const char *path, const char *hex, char *why, size_t len)
{
    dwfl_report_begin(dwfl);
    int err = findfile_report_saved(dwfl, &self, path, hex, libc.head, why, len);
    ck_assert_int_eq(dwfl_report_end(dwfl, NULL, NULL), 0);
    return err;
}

START_TEST(test_saved)
{
    char why[96] = "";
    Dwfl *dwfl = findfile_dwfl_begin();
    ck_assert_ptr_nonnull(dwfl);
    ck_assert_int_eq(report_saved(dwfl, libc.path, libc.hex, why, sizeof(why)), 0);
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, libc.head);
    ck_assert_ptr_nonnull(mod);
    ck_assert_str_eq(main_file(mod), libc.path);
    ck_assert(has_libc_id(mod));
    dwfl_end(dwfl);
}
END_TEST

START_TEST(test_saved_refused)
{
    /* Each refusal is one short reason, for the list of modules missing. */
    static const struct {
        const char *path, *hex, *why;
    } cases[] = {
        {NULL, "00112233445566778899aabbccddeeff00112233", "its build id differs"},
        {"lib/relative.so", NULL, "not an absolute path"},
        {"/nonexistent/libx.so", NULL, "no such file"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[96] = "";
        Dwfl *dwfl = findfile_dwfl_begin();
        ck_assert_ptr_nonnull(dwfl);
        const char *path = cases[i].path != NULL ? cases[i].path : libc.path;
        ck_assert_int_eq(report_saved(dwfl, path, cases[i].hex, why, sizeof(why)), -1);
        ck_assert_str_eq(why, cases[i].why);
        ck_assert_ptr_null(dwfl_addrmodule(dwfl, libc.head));
        dwfl_end(dwfl);
    }
}
END_TEST

Suite *suite_findfile(void)
{
    Suite *s = suite_create("findfile");
    TCase *tc = tcase_create("findfile");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_live);
    tcase_add_test(tc, test_core);
    tcase_add_test(tc, test_core_refused);
    tcase_add_test(tc, test_unmarked);
    tcase_add_test(tc, test_saved);
    tcase_add_test(tc, test_saved_refused);
    suite_add_tcase(s, tc);
    return s;
}
