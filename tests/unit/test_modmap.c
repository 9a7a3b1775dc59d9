/* Which mappings are a process's modules (modmap): a file's loaded copies
 * against a whole-file mapping of it, on mappings laid out as a real
 * process has them, and the program headers of this very executable. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "symbols/modmap.h"
#include "suites.h"

Suite *suite_modmap(void);

/* libtargetrt.so's segments: r at 0, r-x, r, and r-w (relro, then data). */
static const struct modmap_load rt_loads[] = {
    {0x0, 0x0, 0x2200, 0x1000, PF_R},
    {0x3000, 0x3000, 0x9c00, 0x1000, PF_R | PF_X},
    {0xd000, 0xd000, 0x2800, 0x1000, PF_R},
    {0xfd00, 0xed00, 0x1400, 0x1000, PF_R | PF_W},
};

/* Gives rt_loads for the file of inode 7, nothing for any other. */
static long fake_loads(void *arg, const struct modmap_map *const *group, size_t count,
                       struct modmap_load *loads, size_t max)
{
    (void)arg;
    (void)count;
    if (group[0]->ino != 7)
        return 0;
    size_t n = sizeof(rt_loads) / sizeof(rt_loads[0]);
    ck_assert_uint_ge(max, n);
    memcpy(loads, rt_loads, sizeof(rt_loads));
    return (long)n;
}

#define RT "/usr/lib/libtargetrt.so.0"
#define MAP(s, e, off, prot, ino, name)    \
    {                                      \
        s, e, off, prot, 0xfe00, ino, name \
    }
#define R MODMAP_R
#define RX (MODMAP_R | MODMAP_X)
#define RW (MODMAP_R | MODMAP_W)

/* The loader's mappings of libtargetrt.so at BASE. */
#define RT_AT(base)                                                                              \
    MAP(base, base + 0x3000, 0, R, 7, RT), MAP(base + 0x3000, base + 0xd000, 0x3000, RX, 7, RT), \
        MAP(base + 0xd000, base + 0xf000, 0xd000, R, 7, RT),                                     \
        MAP(base + 0xf000, base + 0x10000, 0xe000, R, 7, RT),                                    \
        MAP(base + 0x10000, base + 0x12000, 0xf000, RW, 7, RT)

START_TEST(test_whole_file_copy)
{
    /* A whole-file read-only mapping below the loaded library, with only
     * anonymous memory between (left out of the array, as from maps). */
    const struct modmap_map maps[] = {
        MAP(0x7f0000000000, 0x7f0000048000, 0, R, 7, RT),
        RT_AT(0x7f0000800000),
    };
    struct modmap_module out[8];
    long n = modmap_modules(maps, 6, 4096, fake_loads, NULL, out, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(out[0].name, RT);
    ck_assert_uint_eq(out[0].low, 0x7f0000800000);
    ck_assert_uint_eq(out[0].bias, 0x7f0000800000);
    ck_assert_uint_eq(out[0].high, 0x7f0000812000);
    ck_assert_uint_eq(out[0].map, 1);
    ck_assert_int_eq(out[0].has_bias, 1);
}
END_TEST

START_TEST(test_two_copies)
{
    /* Loaded twice (two namespaces), and mapped whole once more. */
    const struct modmap_map maps[] = {
        RT_AT(0x7e0000000000),
        MAP(0x7f0000000000, 0x7f0000048000, 0, R, 7, RT),
        RT_AT(0x7f0000800000),
    };
    struct modmap_module out[8];
    long n = modmap_modules(maps, 11, 4096, fake_loads, NULL, out, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(out[0].bias, 0x7e0000000000);
    ck_assert_uint_eq(out[0].high, 0x7e0000012000);
    ck_assert_uint_eq(out[1].bias, 0x7f0000800000);
    ck_assert_uint_eq(out[1].map, 6);
}
END_TEST

START_TEST(test_unknown_prot_and_unreadable)
{
    /* A core's mapping without permissions still anchors a copy; a file
     * whose headers cannot be read is a module per run of mappings. */
    const struct modmap_map maps[] = {
        MAP(0x1000, 0x3000, 0, R, 9, "/a"),
        MAP(0x3000, 0x4000, 0x2000, RX, 9, "/a"),
        MAP(0x5000, 0x6000, 0, R, 8, "/b"),
        MAP(0x6000, 0x7000, 0, R, 9, "/a"),
        MAP(0x10000, 0x13000, 0, MODMAP_PROT_UNKNOWN, 7, RT),
        MAP(0x13000, 0x1d000, 0x3000, MODMAP_PROT_UNKNOWN, 7, RT),
    };
    struct modmap_module out[8];
    long n = modmap_modules(maps, 6, 4096, fake_loads, NULL, out, 8);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(out[0].name, "/a");
    ck_assert_uint_eq(out[0].low, 0x1000);
    ck_assert_uint_eq(out[0].high, 0x4000);
    ck_assert_str_eq(out[1].name, "/b");
    ck_assert_uint_eq(out[2].low, 0x6000);
    ck_assert_int_eq(out[2].has_bias, 0);
    ck_assert_str_eq(out[3].name, RT);
    ck_assert_uint_eq(out[3].bias, 0x10000);
    ck_assert_uint_eq(out[3].high, 0x1d000);
}
END_TEST

static int fd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    return pread(*(int *)ctx, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

START_TEST(test_own_headers)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    struct modmap_load loads[MODMAP_LOADS_MAX];
    long n = modmap_elf_loads(fd_read, &fd, loads, MODMAP_LOADS_MAX);
    ck_assert_int_ge(n, 1);
    int exec = 0;
    for (long i = 0; i < n; i++)
        exec += (loads[i].flags & PF_X) != 0;
    ck_assert_int_ge(exec, 1);
    close(fd);
    /* Not ELF: no segments, no error. */
    fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(modmap_elf_loads(fd_read, &fd, loads, MODMAP_LOADS_MAX), 0);
    close(fd);
}
END_TEST

Suite *suite_modmap(void)
{
    Suite *s = suite_create("modmap");
    TCase *tc = tcase_create("rule");
    tcase_add_test(tc, test_whole_file_copy);
    tcase_add_test(tc, test_two_copies);
    tcase_add_test(tc, test_unknown_prot_and_unreadable);
    tcase_add_test(tc, test_own_headers);
    suite_add_tcase(s, tc);
    return s;
}
