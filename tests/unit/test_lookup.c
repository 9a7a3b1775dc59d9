/* The symbolizer on real code: this test process itself, reported through
 * /proc/self like any target (dwfl_linux_proc_report works on getpid()). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, RTLD_NOLOAD */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libelf.h>

#include "symbols/lookup.h"
#include "suites.h"

/* Stores the tests read back: they keep the calls below real calls (no
 * tail calls, nothing folded away) and record the line of each call. */
/* noclone keeps GCC from making .constprop copies; clang has no such
 * attribute and does not need it. */
#if defined(__clang__)
#define LOOKUP_TEST_NOINLINE __attribute__((noinline))
#else
#define LOOKUP_TEST_NOINLINE __attribute__((noinline, noclone))
#endif

static volatile uintptr_t lookup_test_sink;
static volatile int lookup_test_line_call;
static volatile int lookup_test_line_inner;
static volatile int lookup_test_line_outer;

enum { LOOKUP_TEST_TARGET_LINE = __LINE__ + 2 };
LOOKUP_TEST_NOINLINE static int lookup_test_target(int x)
{
    lookup_test_sink += (uintptr_t)x;
    return (int)lookup_test_sink;
}

LOOKUP_TEST_NOINLINE static uintptr_t lookup_test_capture(void)
{
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    lookup_test_sink = ra;
    return ra;
}

LOOKUP_TEST_NOINLINE static uintptr_t lookup_test_caller(void)
{
    uintptr_t ra = lookup_test_capture();
    lookup_test_line_call = __LINE__ - 1; /* the call on the line above */
    lookup_test_sink += 1;
    return ra;
}

/* always_inline is honoured at any optimization level, and GCC describes
 * the inlined body with a DW_TAG_inlined_subroutine even at -O0. */
static inline __attribute__((always_inline)) uintptr_t lookup_test_inner(void)
{
    uintptr_t ra = lookup_test_capture();
    lookup_test_line_inner = __LINE__ - 1; /* the call on the line above */
    return ra;
}

LOOKUP_TEST_NOINLINE static uintptr_t lookup_test_outer(void)
{
    uintptr_t ra = lookup_test_inner();
    lookup_test_line_outer = __LINE__ - 1; /* the call on the line above */
    lookup_test_sink += 2;
    return ra;
}

static Dwfl *dwfl;
static lookup_ctx *ctx;

static void setup(void)
{
    /* Never reach for the network from a unit test. */
    unsetenv("DEBUGINFOD_URLS");
    int err = 1;
    dwfl = lookup_dwfl_open_pid(getpid(), &err);
    ck_assert_ptr_nonnull(dwfl);
    ck_assert_int_eq(err, 0);
    ctx = lookup_new(dwfl);
    ck_assert_ptr_nonnull(ctx);
}

static void teardown(void)
{
    lookup_free(ctx);
    dwfl_end(dwfl);
    ctx = NULL;
    dwfl = NULL;
}

static const char *base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static void lookup(uint64_t pc, bool ra, const struct frame *const **fr, size_t *n)
{
    ck_assert_int_eq(lookup_pc(ctx, pc, ra, fr, n), 0);
    ck_assert_uint_ge(*n, 1);
    ck_assert_uint_le(*n, LOOKUP_MAX_FRAMES);
}

START_TEST(test_function_address)
{
    const struct frame *const *fr;
    size_t n;
    uintptr_t pc = (uintptr_t)&lookup_test_target;
    lookup(pc, false, &fr, &n);
    ck_assert_uint_eq(n, 1);
    const struct frame *f = fr[0];
    ck_assert_str_eq(f->function, "lookup_test_target");
    ck_assert_ptr_nonnull(f->file);
    ck_assert_str_eq(base(f->file), "test_lookup.c");
    ck_assert_int_ge(f->line, LOOKUP_TEST_TARGET_LINE);
    ck_assert_int_le(f->line, LOOKUP_TEST_TARGET_LINE + 2);
    ck_assert(!f->inlined);
    ck_assert_uint_eq(f->pc, pc);

    /* The module is this executable, at its load base. */
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    ck_assert_int_gt(len, 0);
    exe[len] = '\0';
    ck_assert_ptr_nonnull(f->module);
    ck_assert_str_eq(f->module, exe);
    Dl_info info;
    ck_assert_int_ne(dladdr((void *)pc, &info), 0);
    ck_assert_uint_eq(f->module_off, pc - (uintptr_t)info.dli_fbase);
}
END_TEST

START_TEST(test_return_address)
{
    const struct frame *const *fr;
    size_t n;
    uintptr_t ra = lookup_test_caller();
    lookup(ra, true, &fr, &n);
    ck_assert_uint_eq(n, 1);
    const struct frame *f = fr[0];
    ck_assert_str_eq(f->function, "lookup_test_caller");
    ck_assert_str_eq(base(f->file), "test_lookup.c");
    ck_assert_int_eq(f->line, lookup_test_line_call);
    ck_assert_uint_eq(f->pc, ra); /* not ra - 1 */
}
END_TEST

START_TEST(test_inlined)
{
    const struct frame *const *fr;
    size_t n;
    uintptr_t ra = lookup_test_outer();
    lookup(ra, true, &fr, &n);
    ck_assert_uint_eq(n, 2);
    /* Root first: the out-of-line function at the inlined call's site,
     * then the inlined callee at the real call. */
    ck_assert_str_eq(fr[0]->function, "lookup_test_outer");
    ck_assert(!fr[0]->inlined);
    ck_assert_str_eq(base(fr[0]->file), "test_lookup.c");
    ck_assert_int_eq(fr[0]->line, lookup_test_line_outer);
    ck_assert_str_eq(fr[1]->function, "lookup_test_inner");
    ck_assert(fr[1]->inlined);
    ck_assert_str_eq(base(fr[1]->file), "test_lookup.c");
    ck_assert_int_eq(fr[1]->line, lookup_test_line_inner);
    ck_assert_uint_eq(fr[0]->pc, ra);
    ck_assert_uint_eq(fr[1]->pc, ra);
    ck_assert_ptr_eq(fr[0]->module, fr[1]->module);
}
END_TEST

START_TEST(test_cache)
{
    const struct frame *const *a, *const *b, *const *c;
    size_t na, nb, nc;
    uintptr_t ra = lookup_test_caller();
    lookup(ra, true, &a, &na);
    lookup(ra, true, &b, &nb);
    ck_assert_ptr_eq(a, b);
    ck_assert_uint_eq(na, nb);
    /* The same pc as a plain address is another entry. */
    lookup(ra, false, &c, &nc);
    ck_assert_ptr_ne(a, c);
    /* Strings are interned: one copy per distinct string. */
    ck_assert_ptr_eq(a[0]->file, c[0]->file);
    ck_assert_ptr_eq(a[0]->module, c[0]->module);

    /* Entries stay put while the table grows. */
    uintptr_t start = (uintptr_t)&lookup_test_target;
    for (uintptr_t pc = start; pc < start + 3000; pc++) {
        const struct frame *const *fr;
        size_t n;
        lookup(pc, true, &fr, &n);
    }
    lookup(ra, true, &b, &nb);
    ck_assert_ptr_eq(a, b);
    ck_assert_str_eq(b[0]->function, "lookup_test_caller");
}
END_TEST

START_TEST(test_no_module)
{
    /* A stack address lies above every module: libdwfl would say it is
     * in the last one. */
    int local = 0;
    const uint64_t pcs[] = {0, 0x10, (uintptr_t)&local, UINT64_MAX};
    for (size_t i = 0; i < sizeof(pcs) / sizeof(pcs[0]); i++) {
        for (int ra = 0; ra < 2; ra++) {
            const struct frame *const *fr;
            size_t n;
            lookup(pcs[i], ra, &fr, &n);
            ck_assert_uint_eq(n, 1);
            ck_assert_ptr_null(fr[0]->function);
            ck_assert_ptr_null(fr[0]->file);
            ck_assert_ptr_null(fr[0]->module);
            ck_assert_int_eq(fr[0]->line, 0);
            ck_assert_uint_eq(fr[0]->pc, pcs[i]);
        }
    }
}
END_TEST

START_TEST(test_symtab_fallback)
{
    /* libelf ships stripped, with no debuginfo installed here: only its
     * dynamic symbol table names elf_version. */
    const struct frame *const *fr;
    size_t n;
    /* libelf's own definition: in a non-PIE runner &elf_version is the
     * executable's PLT entry, but a lookup in libelf's handle finds the
     * library's code whatever the runner is. */
    void *libelf = dlopen("libelf.so.1", RTLD_LAZY | RTLD_NOLOAD);
    ck_assert_msg(libelf != NULL, "libelf.so.1 is not loaded: %s", dlerror());
    void *def = dlsym(libelf, "elf_version");
    ck_assert_ptr_nonnull(def);
    uintptr_t pc = (uintptr_t)def;
    lookup(pc + 1, true, &fr, &n);
    const struct frame *f = fr[n - 1];
    ck_assert_ptr_nonnull(f->module);
    ck_assert_msg(strstr(f->module, "libelf") != NULL, "elf_version found in %s", f->module);
    dlclose(libelf);
    ck_assert_ptr_nonnull(f->function);
    if (f->file == NULL) {
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(f->function, "elf_version+0x1");
    } else {
        ck_assert_str_eq(f->function, "elf_version"); /* debuginfo found */
    }
}
END_TEST

START_TEST(test_errors)
{
    int err = 0;
    ck_assert_ptr_null(lookup_dwfl_open_pid(INT_MAX, &err));
    ck_assert_int_eq(err, -ESRCH);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_ptr_null(lookup_dwfl_open_pid(INT_MAX, NULL));
    errno = 0;
    ck_assert_ptr_null(lookup_new(NULL));
    ck_assert_int_eq(errno, EINVAL);
    const struct frame *const *fr;
    size_t n;
    ck_assert_int_eq(lookup_pc(NULL, 1, false, &fr, &n), -EINVAL);
    lookup_free(NULL);
}
END_TEST

Suite *suite_lookup(void)
{
    Suite *s = suite_create("sym");
    TCase *tc = tcase_create("lookup");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_function_address);
    tcase_add_test(tc, test_return_address);
    tcase_add_test(tc, test_inlined);
    tcase_add_test(tc, test_cache);
    tcase_add_test(tc, test_no_module);
    tcase_add_test(tc, test_symtab_fallback);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}
