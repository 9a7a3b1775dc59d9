/* The runtime's function names that the tool relies on (TRT_FN_* in
 * protocol.h) exist in the built shared library: each is looked up by name
 * in the .symtab of the libtargetrt.so that `make` built, with libelf.  A
 * rename in the runtime fails here instead of silently breaking dumps. */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tasktrace/protocol.h>

#include "suites.h"

/* The library's path: TT_LIBTARGETRT from the test environment (Makefile.am
 * sets it to the build's .libs/libtargetrt.so). */
static const char *lib_path(void)
{
    const char *p = getenv("TT_LIBTARGETRT");
    ck_assert_msg(p && *p, "TT_LIBTARGETRT is not set: run through make check");
    return p;
}

/* Whether `name` is a function defined in the .symtab of `elf`. */
static bool symtab_has(Elf *elf, const char *name)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        for (size_t i = 0; data && i < n; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
                sym.st_shndx == SHN_UNDEF)
                continue;
            const char *s = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (s && strcmp(s, name) == 0)
                return true;
        }
    }
    return false;
}

/* Returns how many of `names` are missing from the library, naming each. */
static int missing_names(const char *const *names, size_t n)
{
    ck_assert_uint_ne(elf_version(EV_CURRENT), EV_NONE);
    int fd = open(lib_path(), O_RDONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "cannot open %s", lib_path());
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    ck_assert_ptr_nonnull(elf);
    int missing = 0;
    for (size_t i = 0; i < n; i++) {
        if (!symtab_has(elf, names[i])) {
            fprintf(stderr, "%s: no function %s in .symtab\n", lib_path(), names[i]);
            missing++;
        }
    }
    elf_end(elf);
    close(fd);
    return missing;
}

START_TEST(every_contract_name_is_defined)
{
    static const char *const names[] = {
        TRT_FN_TRACED_POLL,  TRT_FN_TRACED_POLL_TRACING,
        TRT_FN_TRACER_CLONE, TRT_FN_TRACER_WAKE_BY_REF,
        TRT_FN_CAPTURE,      TRT_FN_ABI_HELPERS,
    };
    ck_assert_int_eq(missing_names(names, sizeof(names) / sizeof(names[0])), 0);
    /* The internal names start with the prefix the tool cuts at. */
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(strncmp(names[i], TRT_FN_INTERNAL_PREFIX, strlen(TRT_FN_INTERNAL_PREFIX)),
                         0);
}
END_TEST

/* The check can fail: a name the runtime does not define is reported. */
START_TEST(a_wrong_name_is_caught)
{
    static const char *const names[] = {"trt__traced_poll_tracin", "trt_waker_clone"};
    ck_assert_int_eq(missing_names(names, 2), 1);
}
END_TEST

Suite *suite_contract(void)
{
    Suite *s = suite_create("contract");
    TCase *tc = tcase_create("contract");
    tcase_add_test(tc, every_contract_name_is_defined);
    tcase_add_test(tc, a_wrong_name_is_caught);
    suite_add_tcase(s, tc);
    return s;
}
