/* Bounds on ELF files a target names, and copies it cannot change.  See
 * elfcheck.h. */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "symbols/elfcheck.h"

#define ELFCHECK_FUSE_MAGIC 0x65735546
/* The largest ratio zlib or zstd reach on real data is about 1:1000; a
 * compressed section claiming more is a lie whose buffer libdw would
 * allocate before finding out. */
#define ELFCHECK_RATIO_MAX 2048u

/* The file's headers as read: its class and byte order. */
struct elfcheck_hdr {
    bool is64;
    bool le; /* little-endian */
};

static uint64_t elfcheck_get(const struct elfcheck_hdr *h, const unsigned char *p, int size)
{
    uint64_t v = 0;
    for (int i = 0; i < size; i++)
        v = (v << 8) | p[h->le ? size - 1 - i : i];
    return v;
}

uint64_t elfcheck_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int elfcheck_why(char *why, size_t whylen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int elfcheck_why(char *why, size_t whylen, int err, const char *fmt, ...)
{
    va_list ap;
    if (whylen > 0) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return err;
}

static bool elfcheck_pread(int fd, void *buf, size_t len, uint64_t off)
{
    return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* Whether [OFF, OFF + LEN) lies within SIZE bytes. */
static bool elfcheck_within(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* What the ELF header says of the file's tables, the counts section 0
 * holds when they do not fit the header already read from it. */
struct elfcheck_tables {
    uint64_t phoff, phentsize, phnum;
    uint64_t shoff, shentsize, shnum;
    size_t want_sh; /* the size of a section header of the file's class */
};

/* Reads the ELF header of the file FD (SIZE bytes) into H and T.
 * Returns 0, or -ENOEXEC with WHY set when it is no ELF file or its
 * section header table is not in it. */
static int elfcheck_header(int fd, uint64_t size, struct elfcheck_hdr *h, struct elfcheck_tables *t,
                           char *why, size_t whylen)
{
    unsigned char eh[sizeof(Elf64_Ehdr)];
    if (size < sizeof(Elf32_Ehdr) || !elfcheck_pread(fd, eh, EI_NIDENT, 0) ||
        memcmp(eh, ELFMAG, SELFMAG) != 0 ||
        (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64) ||
        (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB))
        return elfcheck_why(why, whylen, -ENOEXEC, "it is not an ELF file");
    h->is64 = eh[EI_CLASS] == ELFCLASS64;
    h->le = eh[EI_DATA] == ELFDATA2LSB;
    size_t ehsize = h->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (size < ehsize || !elfcheck_pread(fd, eh, ehsize, 0))
        return elfcheck_why(why, whylen, -ENOEXEC, "it is not an ELF file");

    t->phoff = h->is64 ? elfcheck_get(h, eh + 32, 8) : elfcheck_get(h, eh + 28, 4);
    t->shoff = h->is64 ? elfcheck_get(h, eh + 40, 8) : elfcheck_get(h, eh + 32, 4);
    const unsigned char *tail = eh + (h->is64 ? 54 : 42);
    t->phentsize = elfcheck_get(h, tail, 2);
    t->phnum = elfcheck_get(h, tail + 2, 2);
    t->shentsize = elfcheck_get(h, tail + 4, 2);
    t->shnum = elfcheck_get(h, tail + 6, 2);
    t->want_sh = h->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);

    /* Section 0 holds the counts that do not fit e_shnum and e_phnum. */
    if (t->shoff != 0) {
        unsigned char s0[sizeof(Elf64_Shdr)];
        if (t->shentsize != t->want_sh || !elfcheck_within(t->shoff, t->want_sh, size) ||
            !elfcheck_pread(fd, s0, t->want_sh, t->shoff))
            return elfcheck_why(why, whylen, -ENOEXEC,
                                "its section header table is not in the file");
        if (t->shnum == 0)
            t->shnum = h->is64 ? elfcheck_get(h, s0 + 32, 8) : elfcheck_get(h, s0 + 20, 4);
        if (t->phnum == PN_XNUM)
            t->phnum = elfcheck_get(h, s0 + (h->is64 ? 44 : 28), 4);
    }
    return 0;
}

/* Checks the counts T against the limits and that the program headers lie
 * in the file (SIZE bytes).  Returns 0, or -E2BIG / -ENOEXEC with WHY set. */
static int elfcheck_counts(const struct elfcheck_hdr *h, const struct elfcheck_tables *t,
                           uint64_t size, char *why, size_t whylen)
{
    if (t->shnum > ELFCHECK_SECTIONS_MAX)
        return elfcheck_why(why, whylen, -E2BIG, "it claims %llu sections, more than the %u read",
                            (unsigned long long)t->shnum, ELFCHECK_SECTIONS_MAX);
    if (t->phnum > ELFCHECK_SEGMENTS_MAX)
        return elfcheck_why(why, whylen, -E2BIG,
                            "it claims %llu program headers, more than the %u read",
                            (unsigned long long)t->phnum, ELFCHECK_SEGMENTS_MAX);
    if (t->phnum > 0 && (t->phentsize != (h->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) ||
                         !elfcheck_within(t->phoff, t->phnum * t->phentsize, size)))
        return elfcheck_why(why, whylen, -ENOEXEC, "its program headers are not in the file");
    return 0;
}

/* Checks section I, whose header is S, of the file FD (SIZE bytes), and
 * adds to *INFLATED what it inflates to when compressed.  Returns 0, or
 * -ENOEXEC / -E2BIG with WHY set. */
static int elfcheck_section(int fd, const struct elfcheck_hdr *h, const unsigned char *s,
                            uint64_t i, uint64_t size, uint64_t *inflated, char *why, size_t whylen)
{
    uint64_t type = elfcheck_get(h, s + 4, 4);
    uint64_t flags = h->is64 ? elfcheck_get(h, s + 8, 8) : elfcheck_get(h, s + 8, 4);
    uint64_t off = h->is64 ? elfcheck_get(h, s + 24, 8) : elfcheck_get(h, s + 16, 4);
    uint64_t len = h->is64 ? elfcheck_get(h, s + 32, 8) : elfcheck_get(h, s + 20, 4);
    uint64_t ent = h->is64 ? elfcheck_get(h, s + 56, 8) : elfcheck_get(h, s + 36, 4);
    if (type == SHT_NOBITS || type == SHT_NULL)
        return 0;
    /* With ELF_C_READ libelf allocates what the header says and then
     * reads: the file's size bounds that. */
    if (!elfcheck_within(off, len, size))
        return elfcheck_why(why, whylen, -ENOEXEC, "its section %llu is not in the file",
                            (unsigned long long)i);
    if ((type == SHT_SYMTAB || type == SHT_DYNSYM) && ent != 0 && len / ent > ELFCHECK_SYMBOLS_MAX)
        return elfcheck_why(why, whylen, -E2BIG,
                            "its symbol table has %llu entries, more than the %u read",
                            (unsigned long long)(len / ent), ELFCHECK_SYMBOLS_MAX);
    if (!(flags & SHF_COMPRESSED))
        return 0;
    unsigned char ch[sizeof(Elf64_Chdr)];
    size_t chlen = h->is64 ? sizeof(Elf64_Chdr) : sizeof(Elf32_Chdr);
    uint64_t full = 0;
    if (len >= chlen && elfcheck_pread(fd, ch, chlen, off))
        full = h->is64 ? elfcheck_get(h, ch + 8, 8) : elfcheck_get(h, ch + 4, 4);
    if (full / ELFCHECK_RATIO_MAX > len)
        return elfcheck_why(
            why, whylen, -E2BIG, "its section %llu claims to inflate from %llu to %llu bytes",
            (unsigned long long)i, (unsigned long long)len, (unsigned long long)full);
    *inflated += full;
    return 0;
}

/* Reads the section header table T describes and checks every section.
 * Returns 0 or -errno with WHY set. */
static int elfcheck_sections(int fd, const struct elfcheck_hdr *h, const struct elfcheck_tables *t,
                             uint64_t size, char *why, size_t whylen)
{
    int err = 0;
    uint64_t inflated = 0;
    if (!elfcheck_within(t->shoff, t->shnum * t->want_sh, size))
        return elfcheck_why(why, whylen, -ENOEXEC, "its section header table is not in the file");
    unsigned char *sh = malloc(t->shnum * t->want_sh);
    if (sh == NULL)
        return elfcheck_why(why, whylen, -ENOMEM, "out of memory");
    if (!elfcheck_pread(fd, sh, t->shnum * t->want_sh, t->shoff)) {
        err = elfcheck_why(why, whylen, -EIO, "its section headers cannot be read");
        goto out;
    }
    for (uint64_t i = 1; i < t->shnum && err == 0; i++)
        err = elfcheck_section(fd, h, sh + i * t->want_sh, i, size, &inflated, why, whylen);
    if (err == 0 && inflated > ELFCHECK_INFLATED_MAX)
        err = elfcheck_why(why, whylen, -E2BIG,
                           "its compressed sections inflate to %llu bytes, more than the %llu "
                           "GiB read",
                           (unsigned long long)inflated, ELFCHECK_INFLATED_MAX >> 30);
out:
    free(sh);
    return err;
}

int elfcheck_file(int fd, char *why, size_t whylen)
{
    struct stat st;
    struct elfcheck_hdr h = {0};
    struct elfcheck_tables t = {0};
    int err;

    if (fstat(fd, &st) != 0)
        return elfcheck_why(why, whylen, -EIO, "cannot stat it: %s", strerror(errno));
    uint64_t size = (uint64_t)st.st_size;
    if (size > ELFCHECK_FILE_MAX)
        return elfcheck_why(why, whylen, -EFBIG,
                            "it is %llu bytes, more than the %llu GiB read of one file",
                            (unsigned long long)size, ELFCHECK_FILE_MAX >> 30);
    if ((err = elfcheck_header(fd, size, &h, &t, why, whylen)) != 0 ||
        (err = elfcheck_counts(&h, &t, size, why, whylen)) != 0)
        return err;
    if (t.shnum == 0)
        return 0;
    return elfcheck_sections(fd, &h, &t, size, why, whylen);
}

/* Whether a process other than root's could change the file FD (ST) while
 * the tool has it mapped: it is not root's (its owner may chmod and
 * write), group or others may write it, or a FUSE server serves it. */
static bool elfcheck_changeable(int fd, const struct stat *st)
{
    struct statfs sf;
    if (st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH)))
        return true;
    return fstatfs(fd, &sf) != 0 || sf.f_type == ELFCHECK_FUSE_MAGIC;
}

int elfcheck_stable(int fd, uint64_t deadline_ns, char *why, size_t whylen)
{
    struct stat st;
    int err = 0, mfd = -1;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        err = elfcheck_why(why, whylen, -errno, "cannot stat it: %s", strerror(errno));
        goto fail;
    }
    if (!elfcheck_changeable(fd, &st))
        return fd;
    uint64_t size = (uint64_t)st.st_size;
    if (size > ELFCHECK_COPY_MAX) {
        err = elfcheck_why(why, whylen, -EFBIG,
                           "it is %llu bytes, more than the %llu GiB copied of a file the "
                           "process's user may change",
                           (unsigned long long)size, ELFCHECK_COPY_MAX >> 30);
        goto fail;
    }
    mfd = memfd_create("tasktrace-elf", MFD_CLOEXEC);
    buf = malloc(1u << 20);
    if (mfd < 0 || buf == NULL) {
        err = elfcheck_why(why, whylen, -ENOMEM, "cannot copy it: out of memory");
        goto fail;
    }
    /* A file truncated while copied gives a shorter copy, which libelf
     * then finds cut: never more than SIZE bytes. */
    for (uint64_t off = 0; off < size;) {
        size_t want = size - off < (1u << 20) ? (size_t)(size - off) : (1u << 20);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (write(mfd, buf, (size_t)n) != n) {
            err = elfcheck_why(why, whylen, -ENOMEM, "cannot copy it: %s", strerror(errno));
            goto fail;
        }
        off += (uint64_t)n;
        if (deadline_ns != 0 && elfcheck_now_ns() >= deadline_ns) {
            err = elfcheck_why(why, whylen, -ETIME, "copying it ran out of time (see --timeout)");
            goto fail;
        }
    }
    free(buf);
    close(fd);
    /* What was checked may have changed before it was copied: the copy is
     * what libelf reads, so the copy is checked. */
    err = elfcheck_file(mfd, why, whylen);
    if (err != 0) {
        close(mfd);
        return err;
    }
    return mfd;
fail:
    free(buf);
    if (mfd >= 0)
        close(mfd);
    close(fd);
    return err;
}
