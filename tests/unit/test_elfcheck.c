/* elfcheck.c: the bounds an ELF file a target names must keep before
 * libelf reads it, on copies of this test's own executable with one header
 * field changed, and the copy that no target can truncate under the tool. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <check.h>

#include "suites.h"
#include "symbols/elfcheck.h"

static char path[64];

/* PATH: a copy of this test's executable, mode MODE; returns it open for
 * reading and writing. */
static int copy_self(mode_t mode)
{
    snprintf(path, sizeof(path), "/tmp/tt-elfcheck-XXXXXX");
    int out = mkstemp(path);
    ck_assert_int_ge(out, 0);
    ck_assert_int_eq(fchmod(out, mode), 0);
    int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(in, 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        ck_assert_int_eq(write(out, buf, (size_t)n), n);
    ck_assert_int_eq(n, 0);
    close(in);
    return out;
}

static void drop_copy(int fd)
{
    if (fd >= 0)
        close(fd);
    unlink(path);
}

START_TEST(test_limits)
{
    char why[128] = "";
    int fd = copy_self(0600);
    Elf64_Ehdr eh;
    ck_assert_int_eq(pread(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
    ck_assert_int_eq(eh.e_ident[EI_CLASS], ELFCLASS64);
    ck_assert_msg(elfcheck_file(fd, why, sizeof(why)) == 0, "%s", why);
    /* 16 million sections, told by section 0 as for a file with more
     * than 65535: refused before a byte of them is read. */
    Elf64_Ehdr bad = eh;
    bad.e_shnum = 0;
    ck_assert_int_eq(pwrite(fd, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
    uint64_t many = 1u << 24, size;
    ck_assert_int_eq(pread(fd, &size, 8, (off_t)eh.e_shoff + 32), 8);
    ck_assert_int_eq(pwrite(fd, &many, 8, (off_t)eh.e_shoff + 32), 8);
    ck_assert_int_eq(elfcheck_file(fd, why, sizeof(why)), -E2BIG);
    ck_assert_str_eq(why, "it claims 16777216 sections, more than the 65536 read");
    ck_assert_int_eq(pwrite(fd, &size, 8, (off_t)eh.e_shoff + 32), 8);
    /* Program headers past the file's end. */
    bad = eh;
    bad.e_phoff = (uint64_t)lseek(fd, 0, SEEK_END) - 8;
    ck_assert_int_eq(pwrite(fd, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
    ck_assert_int_eq(elfcheck_file(fd, why, sizeof(why)), -ENOEXEC);
    ck_assert_str_eq(why, "its program headers are not in the file");
    /* A section header table past the end. */
    bad = eh;
    bad.e_shoff = 1ull << 40;
    ck_assert_int_eq(pwrite(fd, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
    ck_assert_int_eq(elfcheck_file(fd, why, sizeof(why)), -ENOEXEC);
    ck_assert_str_eq(why, "its section header table is not in the file");
    /* The headers whole again: accepted again. */
    ck_assert_int_eq(pwrite(fd, &eh, sizeof(eh), 0), (ssize_t)sizeof(eh));
    ck_assert_int_eq(elfcheck_file(fd, why, sizeof(why)), 0);
    /* Not an ELF file, or too short for a header. */
    ck_assert_int_eq(pwrite(fd, "#!/bin/sh\n", 10, 0), 10);
    ck_assert_int_eq(elfcheck_file(fd, why, sizeof(why)), -ENOEXEC);
    ck_assert_str_eq(why, "it is not an ELF file");
    ck_assert_int_eq(ftruncate(fd, 4), 0);
    ck_assert_int_eq(pwrite(fd, ELFMAG, SELFMAG, 0), SELFMAG);
    ck_assert_int_eq(elfcheck_file(fd, why, sizeof(why)), -ENOEXEC);
    drop_copy(fd);
}
END_TEST

START_TEST(test_stable)
{
    char why[128] = "";
    /* A file others may write is handed over as a copy in memory, which
     * a truncation of the file cannot shorten. */
    int fd = copy_self(0666);
    off_t size = lseek(fd, 0, SEEK_END);
    int dup_fd = dup(fd);
    int st = elfcheck_stable(dup_fd, 0, why, sizeof(why));
    ck_assert_msg(st >= 0, "%d: %s", st, why);
    ck_assert_int_ne(st, dup_fd);
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    ck_assert_int_eq(lseek(st, 0, SEEK_END), size);
    char magic[SELFMAG];
    ck_assert_int_eq(pread(st, magic, SELFMAG, 0), SELFMAG);
    ck_assert_int_eq(memcmp(magic, ELFMAG, SELFMAG), 0);
    close(st);
    /* Its copy is checked again: now empty, it is no ELF file. */
    st = elfcheck_stable(dup(fd), 0, why, sizeof(why));
    ck_assert_int_eq(st, -ENOEXEC);
    drop_copy(fd);
}
END_TEST

Suite *suite_elfcheck(void)
{
    Suite *s = suite_create("elfcheck");
    TCase *tc = tcase_create("elfcheck");
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_stable);
    suite_add_tcase(s, tc);
    return s;
}
