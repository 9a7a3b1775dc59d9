/* findcore.c, a core's modules: a core_file as core_open fills it, whose
 * NT_FILE note names this process's own C library (as the kernel writes
 * it, from /proc/self/maps) and whose memory holds that library's first
 * pages, from a real file.  Its modules are reported with the build id of
 * the core's memory and their files found by findfile's core source;
 * --exe is checked against that build id; a core without the note, or
 * with a corrupt one, is refused. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <elfutils/libdwfl.h>

#include "suites.h"
#include "tmodule.h"
#include "symbols/findcore.h"
#include "target/core.h"

#define FINDCORE_TEST_MEM 65536u

static struct tmodule libc;
static struct core_file core;
static struct core_segment seg;
static char mem_path[] = "/tmp/tt-findcore-XXXXXX";

/* The NT_FILE note of the mappings of M (count, page size, then start,
 * end and offset in pages of each, then their names). */
static void note_files(const struct tmodule *m)
{
    size_t plen = strlen(m->path) + 1;
    size_t len = 16 + m->nmaps * (24 + plen);
    uint64_t head[2] = {m->nmaps, 4096};
    char *files = calloc(1, len + 1);
    ck_assert_ptr_nonnull(files);
    memcpy(files, head, sizeof(head));
    for (size_t i = 0; i < m->nmaps; i++) {
        uint64_t e[3] = {m->maps[i].start, m->maps[i].end, m->maps[i].offset / 4096};
        memcpy(files + 16 + i * 24, e, sizeof(e));
        memcpy(files + 16 + m->nmaps * 24 + i * plen, m->path, plen);
    }
    core.files = files;
    core.files_len = len;
}

static void setup(void)
{
    tmodule_of((const void *)&printf, &libc);
    memset(&core, 0, sizeof(core));
    core.fd = mkstemp(mem_path);
    ck_assert_int_ge(core.fd, 0);
    /* The core's memory at the library's head: its first pages, which
     * hold its ELF header, program headers and build id note. */
    ck_assert_int_eq(write(core.fd, (const void *)libc.head, FINDCORE_TEST_MEM), FINDCORE_TEST_MEM);
    seg = (struct core_segment){
        .vaddr = libc.head, .memsz = FINDCORE_TEST_MEM, .filesz = FINDCORE_TEST_MEM, .flags = PF_R};
    core.segs = &seg;
    core.nsegs = 1;
    /* Files are looked up as core_open has it: in this tool's root,
     * with the rights of the core's owner (here, this process). */
    ck_assert_int_eq(safefile_cred_read(getpid(), &core.cred), 0);
    note_files(&libc);
}

static void teardown(void)
{
    close(core.fd);
    unlink(mem_path);
    free(core.files);
}

START_TEST(test_modules)
{
    char why[256] = "", warn[256] = "x";
    int err = 1;
    Dwfl *dwfl = findcore_dwfl_open(&core, NULL, &err, why, sizeof(why), warn, sizeof(warn));
    ck_assert_msg(dwfl != NULL, "%s", why);
    ck_assert_int_eq(err, 0);
    ck_assert_str_eq(warn, "");
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, libc.head);
    ck_assert_ptr_nonnull(mod);
    /* The build id is the core's memory's, the file the one it names. */
    const unsigned char *id = NULL;
    GElf_Addr vaddr;
    ck_assert_int_eq(dwfl_module_build_id(mod, &id, &vaddr), (int)libc.idlen);
    ck_assert_mem_eq(id, libc.id, libc.idlen);
    Dwarf_Addr bias;
    const char *file = NULL;
    ck_assert_ptr_nonnull(dwfl_module_getelf(mod, &bias));
    dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &file, NULL);
    ck_assert_str_eq(file, libc.path);
    ck_assert_uint_eq(bias, libc.head);
    dwfl_end(dwfl);
}
END_TEST

START_TEST(test_exe)
{
    char why[256] = "", warn[256] = "";
    int err = 0;
    /* The library stands for the executable: AT_ENTRY inside it. */
    core.entry = libc.head + 0x100;
    Dwfl *dwfl = findcore_dwfl_open(&core, libc.path, &err, why, sizeof(why), warn, sizeof(warn));
    ck_assert_msg(dwfl != NULL, "%s", why);
    ck_assert_str_eq(warn, "");
    dwfl_end(dwfl);

    /* Another program: its build id is not the core's. */
    struct tmodule dw;
    tmodule_of((const void *)&dwfl_begin, &dw);
    ck_assert_ptr_null(
        findcore_dwfl_open(&core, dw.path, &err, why, sizeof(why), warn, sizeof(warn)));
    ck_assert_int_eq(err, -ENOEXEC);
    ck_assert_msg(strstr(why, " is not the program of this core: its build id is ") != NULL, "%s",
                  why);
    ck_assert_msg(strstr(why, libc.hex) != NULL, "%s", why);

    /* No file there at all. */
    ck_assert_ptr_null(findcore_dwfl_open(&core, "/nonexistent/program", &err, why, sizeof(why),
                                          warn, sizeof(warn)));
    ck_assert_int_eq(err, -ENOENT);
    ck_assert_msg(strstr(why, "cannot open --exe /nonexistent/program: ") == why, "%s", why);
}
END_TEST

START_TEST(test_refused)
{
    char why[256] = "", warn[256] = "";
    int err = 0;
    /* A core without NT_FILE: nothing says which files it mapped. */
    free(core.files);
    core.files = NULL;
    core.files_len = 0;
    ck_assert_ptr_null(findcore_dwfl_open(&core, NULL, &err, why, sizeof(why), warn, sizeof(warn)));
    ck_assert_int_eq(err, -ENOENT);
    ck_assert_msg(strstr(why, "no NT_FILE note") != NULL, "%s", why);

    /* A note claiming more mappings than it holds. */
    note_files(&libc);
    uint64_t lie = 1u << 30;
    memcpy(core.files, &lie, sizeof(lie));
    ck_assert_ptr_null(findcore_dwfl_open(&core, NULL, &err, why, sizeof(why), warn, sizeof(warn)));
    ck_assert_int_eq(err, -EPROTO);
    ck_assert_str_eq(why, "corrupt: its NT_FILE note claims 1073741824 mappings");
}
END_TEST

Suite *suite_findcore(void)
{
    Suite *s = suite_create("findcore");
    TCase *tc = tcase_create("findcore");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_modules);
    tcase_add_test(tc, test_exe);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return s;
}
