/* The loaded modules among a process's file mappings.  See modmap.h. */
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "symbols/modmap.h"
#include "target/proc.h"

/* Orders mappings by file, then address. */
static int modmap_cmp(const void *a, const void *b)
{
    const struct modmap_map *x = *(const struct modmap_map *const *)a;
    const struct modmap_map *y = *(const struct modmap_map *const *)b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    if (x->dev == 0 && x->ino == 0) {
        int c = strcmp(x->name, y->name);
        if (c != 0)
            return c;
    }
    return x->start < y->start ? -1 : x->start > y->start;
}

static bool modmap_same_file(const struct modmap_map *x, const struct modmap_map *y)
{
    if (x->dev != y->dev || x->ino != y->ino)
        return false;
    return x->dev != 0 || x->ino != 0 || strcmp(x->name, y->name) == 0;
}

static int modmap_mod_cmp(const void *a, const void *b)
{
    const struct modmap_module *x = a, *y = b;
    return x->low < y->low ? -1 : x->low > y->low;
}

/* The old rule, for one file: each run of its mappings with no other
 * file's mapping between them (consecutive in MAPS) is a module. */
static size_t modmap_runs(const struct modmap_map *maps, const struct modmap_map *const *group,
                          size_t count, struct modmap_module *out, size_t room)
{
    size_t k = 0;
    for (size_t i = 0; i < count && k < room;) {
        size_t j = i + 1;
        while (j < count && group[j] == group[j - 1] + 1)
            j++;
        out[k++] = (struct modmap_module){
            .name = group[i]->name,
            .low = group[i]->start,
            .high = group[j - 1]->end,
            .map = (size_t)(group[i] - maps),
        };
        i = j;
    }
    return k;
}

/* The loaded copies of one file, from its PT_LOAD segments LOADS[0..NL):
 * see modmap.h.  Returns how many went into OUT, 0 when none was found. */
static size_t modmap_copies(const struct modmap_map *maps, const struct modmap_map *const *group,
                            size_t count, uint64_t page, const struct modmap_load *loads, size_t nl,
                            struct modmap_module *out, size_t room)
{
    const struct modmap_load *x = NULL;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < nl; i++) {
        const struct modmap_load *l = &loads[i];
        if (l->memsz > UINT64_MAX - page || l->vaddr > UINT64_MAX - page - l->memsz)
            return 0;
        if (x == NULL && (l->flags & PF_X))
            x = l;
        uint64_t a = l->vaddr & ~(page - 1), b = (l->vaddr + l->memsz + page - 1) & ~(page - 1);
        lo = a < lo ? a : lo;
        hi = b > hi ? b : hi;
    }
    if (x == NULL || hi <= lo)
        return 0;
    /* libdwfl's bias is LOW less the first segment's p_vaddr aligned
     * down to its p_align (a power of two, or no alignment). */
    uint64_t align = loads[0].align;
    uint64_t first =
        (align != 0 && (align & (align - 1)) == 0) ? loads[0].vaddr & ~(align - 1) : loads[0].vaddr;
    uint64_t x_off = x->offset & ~(page - 1), x_vaddr = x->vaddr & ~(page - 1);
    size_t k = 0;
    for (size_t i = 0; i < count && k < room; i++) {
        const struct modmap_map *m = group[i];
        bool exec = (m->prot & MODMAP_PROT_UNKNOWN) || (m->prot & MODMAP_X);
        if (!exec || m->offset != x_off || m->start < x_vaddr)
            continue;
        uint64_t bias = m->start - x_vaddr;
        if (bias > UINT64_MAX - hi)
            continue;
        bool seen = false;
        for (size_t j = 0; j < k; j++)
            seen |= out[j].bias == bias;
        if (seen)
            continue;
        /* The copy's other mappings: those inside its extent. */
        uint64_t high = m->end;
        size_t firstmap = (size_t)(m - maps);
        for (size_t j = 0; j < count; j++) {
            const struct modmap_map *o = group[j];
            if (o->start < bias + lo || o->end > bias + hi)
                continue;
            if (o->end > high)
                high = o->end;
            if (o->start < maps[firstmap].start)
                firstmap = (size_t)(o - maps);
        }
        out[k++] = (struct modmap_module){
            .name = m->name,
            .low = bias + first,
            .high = high,
            .bias = bias,
            .has_bias = 1,
            .map = firstmap,
        };
    }
    return k;
}

long modmap_modules(const struct modmap_map *maps, size_t n, uint64_t page, modmap_loads_fn loads,
                    void *arg, struct modmap_module *out, size_t max)
{
    if (n == 0 || max == 0)
        return 0;
    if (page == 0 || (page & (page - 1)) != 0)
        return -EINVAL;
    const struct modmap_map **idx = malloc(n * sizeof(*idx));
    struct modmap_load *ld = malloc(MODMAP_LOADS_MAX * sizeof(*ld));
    long err = 0;
    size_t k = 0;
    if (idx == NULL || ld == NULL) {
        err = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = &maps[i];
    qsort(idx, n, sizeof(*idx), modmap_cmp);
    for (size_t g = 0; g < n && k < max;) {
        size_t e = g + 1;
        while (e < n && modmap_same_file(idx[g], idx[e]))
            e++;
        long nl = loads(arg, idx + g, e - g, ld, MODMAP_LOADS_MAX);
        if (nl < 0) {
            err = nl;
            goto out;
        }
        size_t got =
            nl > 0 ? modmap_copies(maps, idx + g, e - g, page, ld, (size_t)nl, out + k, max - k)
                   : 0;
        if (got == 0)
            got = modmap_runs(maps, idx + g, e - g, out + k, max - k);
        k += got;
        g = e;
    }
    qsort(out, k, sizeof(*out), modmap_mod_cmp);
out:
    free(idx);
    free(ld);
    return err != 0 ? err : (long)k;
}

/* ELF program headers, 32 or 64 bits, as a PT_LOAD list. */
long modmap_elf_loads(int (*read)(void *ctx, uint64_t off, void *buf, size_t len), void *ctx,
                      struct modmap_load *loads, size_t max)
{
    Elf64_Ehdr eh;
    unsigned char ident[EI_NIDENT];
    if (read(ctx, 0, ident, sizeof(ident)) != 0 || memcmp(ident, ELFMAG, SELFMAG) != 0)
        return 0;
#if __BYTE_ORDER == __LITTLE_ENDIAN
    if (ident[EI_DATA] != ELFDATA2LSB)
        return 0;
#else
    if (ident[EI_DATA] != ELFDATA2MSB)
        return 0;
#endif
    bool is64 = ident[EI_CLASS] == ELFCLASS64;
    uint64_t phoff;
    size_t phnum, phent;
    if (is64) {
        if (read(ctx, 0, &eh, sizeof(eh)) != 0)
            return 0;
        phoff = eh.e_phoff, phnum = eh.e_phnum, phent = eh.e_phentsize;
        if (phent != sizeof(Elf64_Phdr))
            return 0;
    } else if (ident[EI_CLASS] == ELFCLASS32) {
        Elf32_Ehdr e32;
        if (read(ctx, 0, &e32, sizeof(e32)) != 0)
            return 0;
        phoff = e32.e_phoff, phnum = e32.e_phnum, phent = e32.e_phentsize;
        if (phent != sizeof(Elf32_Phdr))
            return 0;
    } else {
        return 0;
    }
    /* PN_XNUM (the count kept in a section header) is no loaded file's. */
    if (phnum == 0 || phnum >= PN_XNUM || phnum > MODMAP_PHDRS_MAX ||
        phoff > UINT64_MAX - phnum * phent)
        return 0;
    size_t k = 0;
    for (size_t i = 0; i < phnum && k < max; i++) {
        struct modmap_load l;
        uint32_t type;
        if (is64) {
            Elf64_Phdr ph;
            if (read(ctx, phoff + i * phent, &ph, sizeof(ph)) != 0)
                return 0;
            type = ph.p_type;
            l = (struct modmap_load){ph.p_vaddr, ph.p_offset, ph.p_memsz, ph.p_align, ph.p_flags};
        } else {
            Elf32_Phdr ph;
            if (read(ctx, phoff + i * phent, &ph, sizeof(ph)) != 0)
                return 0;
            type = ph.p_type;
            l = (struct modmap_load){ph.p_vaddr, ph.p_offset, ph.p_memsz, ph.p_align, ph.p_flags};
        }
        if (type == PT_LOAD)
            loads[k++] = l;
    }
    return (long)k;
}

/* ------------------------------------------------------- /proc/PID/maps */

void modmap_pid_free(struct modmap_map *maps, size_t n)
{
    if (maps == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free((char *)maps[i].name);
    free(maps);
}

/* What modmap_pid_read gathers as proc_maps_each reads. */
struct modmap_pid_read {
    struct modmap_map *m;
    size_t used, have;
    uint64_t *vdso_start, *vdso_end;
};

/* proc_map_fn of modmap_pid_read: keeps a mapping of a file, notes the
 * [vdso].  Returns 0, 1 at MODMAP_MAPS_MAX, or -ENOMEM. */
static int modmap_pid_line(void *arg, const struct proc_map *pm)
{
    struct modmap_pid_read *r = arg;
    if (pm->end <= pm->start)
        return 0;
    if (strcmp(pm->name, "[vdso]") == 0) {
        *r->vdso_start = pm->start;
        *r->vdso_end = pm->end;
        return 0;
    }
    if (pm->name[0] != '/' || (pm->inode == 0 && pm->dev_major == 0 && pm->dev_minor == 0))
        return 0;
    if (r->used == r->have) {
        size_t want = r->have ? r->have * 2 : 64;
        struct modmap_map *bigger = realloc(r->m, want * sizeof(*r->m));
        if (bigger == NULL)
            return -ENOMEM;
        r->m = bigger;
        r->have = want;
    }
    char *copy = strdup(pm->name);
    if (copy == NULL)
        return -ENOMEM;
    const char *perms = pm->perms;
    r->m[r->used++] = (struct modmap_map){
        .start = pm->start,
        .end = pm->end,
        .offset = pm->offset,
        .prot = (perms[0] == 'r' ? MODMAP_R : 0) | (perms[1] == 'w' ? MODMAP_W : 0) |
                (perms[2] == 'x' ? MODMAP_X : 0),
        .dev = makedev(pm->dev_major, pm->dev_minor),
        .ino = pm->inode,
        .name = copy,
    };
    return r->used == MODMAP_MAPS_MAX;
}

int modmap_pid_read(pid_t pid, struct modmap_map **maps, size_t *n, uint64_t *vdso_start,
                    uint64_t *vdso_end)
{
    struct modmap_pid_read r = {.vdso_start = vdso_start, .vdso_end = vdso_end};
    *maps = NULL;
    *n = 0;
    *vdso_start = *vdso_end = 0;
    int err = proc_maps_each(pid, modmap_pid_line, &r);
    if (err < 0) {
        modmap_pid_free(r.m, r.used);
        return err;
    }
    *maps = r.m;
    *n = r.used;
    return 0;
}
