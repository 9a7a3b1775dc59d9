/* A real module of the test process and stderr read back.  See tmodule.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <elfutils/libdwelf.h>
#include <libelf.h>

#include "tmodule.h"

size_t tmodule_build_id(const char *path, unsigned char *id)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    ck_assert_ptr_nonnull(elf);
    const void *bits = NULL;
    ssize_t len = dwelf_elf_gnu_build_id(elf, &bits);
    size_t n = len > 0 && len <= 64 ? (size_t)len : 0;
    memcpy(id, bits, n);
    elf_end(elf);
    close(fd);
    return n;
}

void tmodule_of(const void *addr, struct tmodule *m)
{
    Dl_info info;
    memset(m, 0, sizeof(*m));
    ck_assert_int_ne(dladdr(addr, &info), 0);
    ck_assert_ptr_nonnull(realpath(info.dli_fname, m->path));
    FILE *f = fopen("/proc/self/maps", "re");
    ck_assert_ptr_nonnull(f);
    char line[4096 + 128];
    while (fgets(line, sizeof(line), f) != NULL) {
        uint64_t s, e, off;
        int at = 0;
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %*s %*s %n", &s, &e, &off, &at) <
                3 ||
            at == 0 || strcmp(line + at, m->path) != 0)
            continue;
        if (m->low == 0 || s < m->low)
            m->low = s;
        if (e > m->high)
            m->high = e;
        if (off == 0 && m->head == 0)
            m->head = s;
        if (m->nmaps < TMODULE_MAPS_MAX) {
            m->maps[m->nmaps].start = s;
            m->maps[m->nmaps].end = e;
            m->maps[m->nmaps++].offset = off;
        }
    }
    fclose(f);
    ck_assert_uint_ne(m->low, 0);
    ck_assert_uint_ne(m->head, 0);
    m->idlen = tmodule_build_id(m->path, m->id);
    ck_assert_msg(m->idlen > 0, "%s has no build id", m->path);
    for (size_t i = 0; i < m->idlen; i++)
        snprintf(m->hex + 2 * i, 3, "%02x", m->id[i]);
}

static int tmodule_saved_stderr = -1;
static FILE *tmodule_err;

void tmodule_stderr_begin(void)
{
    fflush(stderr);
    tmodule_err = tmpfile();
    ck_assert_ptr_nonnull(tmodule_err);
    tmodule_saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(tmodule_saved_stderr, 0);
    ck_assert_int_ge(dup2(fileno(tmodule_err), STDERR_FILENO), 0);
}

char *tmodule_stderr_end(void)
{
    fflush(stderr);
    ck_assert_int_ge(dup2(tmodule_saved_stderr, STDERR_FILENO), 0);
    close(tmodule_saved_stderr);
    /* Written through the descriptor, not the FILE: its size says how
     * much. */
    int fd = fileno(tmodule_err);
    off_t len = lseek(fd, 0, SEEK_END);
    ck_assert_int_ge(len, 0);
    char *text = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(pread(fd, text, (size_t)len, 0), len);
    fclose(tmodule_err);
    return text;
}
