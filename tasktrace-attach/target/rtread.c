/* The tool's reader of the runtime's structures. */
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target/rtread.h"

struct locate {
    Dwfl_Module *mods[512];
    int nmods;
};

static int collect_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
                          void *arg)
{
    struct locate *l = arg;
    if (l->nmods < (int)(sizeof(l->mods) / sizeof(l->mods[0])))
        l->mods[l->nmods++] = mod;
    return DWARF_CB_OK;
}

static int module_rank(Dwfl_Module *mod)
{
    const char *main = NULL;
    const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &main, NULL);
    if (name && strstr(name, "libtargetrt"))
        return 0;
    /* libc, libdw and friends never hold the runtime: look there last. */
    if (name && (strstr(name, "/libc.so") || strstr(name, "/ld-linux") || strstr(name, "[vdso]") ||
                 strstr(name, "linux-vdso")))
        return 3;
    if (name && strstr(name, ".so"))
        return 2;
    return 1;
}

static int find_in_module(Dwfl_Module *mod, uint64_t *addr)
{
    int n = dwfl_module_getsymtab(mod);
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr a;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &a, NULL, NULL, NULL);
        if (name && GELF_ST_TYPE(sym.st_info) == STT_OBJECT && sym.st_shndx != SHN_UNDEF &&
            strcmp(name, TRT_CONTROL_SYMBOL) == 0) {
            *addr = a;
            return 0;
        }
    }
    return -ENOENT;
}

int rtread_locate(Dwfl *dwfl, uint64_t *addr)
{
    struct locate l = {.nmods = 0};
    dwfl_getmodules(dwfl, collect_module, &l, 0);
    for (int rank = 0; rank <= 3; rank++)
        for (int i = 0; i < l.nmods; i++)
            if (module_rank(l.mods[i]) == rank && find_in_module(l.mods[i], addr) == 0)
                return 0;
    return -ENOENT;
}

int rtread_control_read(rtread_read_fn read, void *ctx, uint64_t addr, struct trt_control *out,
                        char *why, size_t whylen)
{
    int err = read(ctx, addr, out, sizeof(*out));
    if (err < 0)
        return err;
    if (out->magic != TRT_CONTROL_MAGIC) {
        snprintf(why, whylen, "bad magic 0x%016llx", (unsigned long long)out->magic);
        return -EPROTO;
    }
    if (out->version != TRT_PROTOCOL_VERSION) {
        snprintf(why, whylen, "protocol version %u, this tool speaks %u", out->version,
                 TRT_PROTOCOL_VERSION);
        return -EPROTO;
    }
    if (out->size != sizeof(*out)) {
        snprintf(why, whylen, "control block size %u, expected %zu", out->size, sizeof(*out));
        return -EPROTO;
    }
    return 0;
}

/* A set of task ids (never 0): open addressing, linear probing, kept at
 * most half full. */
struct idset {
    uint64_t *ids;
    size_t cap; /* a power of two */
    size_t n;
};

static size_t idset_hash(uint64_t id, size_t cap)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    return (size_t)id & (cap - 1);
}

/* Adds `id`: returns 1 if it is new, 0 if it was there, -ENOMEM. */
static int idset_add(struct idset *s, uint64_t id)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8192;
        uint64_t *ids = calloc(cap, sizeof(*ids));
        if (!ids)
            return -ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->ids[i] == 0)
                continue;
            size_t h = idset_hash(s->ids[i], cap);
            while (ids[h] != 0)
                h = (h + 1) & (cap - 1);
            ids[h] = s->ids[i];
        }
        free(s->ids);
        s->ids = ids;
        s->cap = cap;
    }
    size_t h = idset_hash(id, s->cap);
    while (s->ids[h] != 0) {
        if (s->ids[h] == id)
            return 0;
        h = (h + 1) & (s->cap - 1);
    }
    s->ids[h] = id;
    s->n++;
    return 1;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether chunk pointer `p` is in the sorted list `sorted` more than once. */
static bool chunk_repeated(const uint64_t *sorted, size_t n, uint64_t p)
{
    const uint64_t *hit = bsearch(&p, sorted, n, sizeof(*sorted), u64_cmp);
    return hit && ((hit > sorted && hit[-1] == p) || (hit + 1 < sorted + n && hit[1] == p));
}

void rtread_registry_free(struct rtread_registry *r)
{
    free(r->slots);
    memset(r, 0, sizeof(*r));
}

/* Reads the registry's header at ADDR into REG and checks it: 0, the
 * read's -errno, or -EPROTO with WHY set. */
static int registry_header_read(rtread_read_fn read, void *ctx, uint64_t addr,
                                struct trt_registry *reg, char *why, size_t whylen)
{
    int err = read(ctx, addr, reg, sizeof(*reg));
    if (err < 0)
        return err;
    if (reg->magic != TRT_REGISTRY_MAGIC || reg->version != TRT_PROTOCOL_VERSION ||
        reg->size != sizeof(*reg) || reg->chunk_slots != TRT_REGISTRY_CHUNK_SLOTS ||
        reg->slot_size != sizeof(struct trt_task_slot) || reg->nchunks > TRT_REGISTRY_MAX_CHUNKS) {
        snprintf(why, whylen, "registry header at 0x%llx is corrupt", (unsigned long long)addr);
        return -EPROTO;
    }
    return 0;
}

/* One walk over the registry's chunks: the slots kept so far and what
 * finds repeated chunks and ids. */
struct registry_walk {
    struct trt_task_slot *all; /* the slots kept: room for cap */
    size_t count, cap;
    struct trt_task_slot *chunk; /* one chunk, read here when all has no room */
    struct idset ids;
    uint64_t sorted[TRT_REGISTRY_MAX_CHUNKS]; /* the chunk pointers, sorted */
    uint64_t seen[TRT_REGISTRY_MAX_CHUNKS];   /* the repeated ones read already */
    size_t nseen;
};

/* Makes room for the walk over REG's chunks: 0 or -ENOMEM. */
static int walk_start(struct registry_walk *w, const struct trt_registry *reg)
{
    /* A chunk pointer given twice would list its tasks twice: read each
     * chunk once.  The sorted copy finds repeats in O(n log n). */
    memcpy(w->sorted, reg->chunks, reg->nchunks * sizeof(w->sorted[0]));
    qsort(w->sorted, reg->nchunks, sizeof(w->sorted[0]), u64_cmp);
    w->chunk = malloc(TRT_REGISTRY_CHUNK_SLOTS * sizeof(*w->chunk));
    if (!w->chunk)
        return -ENOMEM;
    /* Room for every slot the chunks can hold, at once: only the pages
     * written take memory, and nothing is copied as the list grows. */
    w->cap = (size_t)reg->nchunks * TRT_REGISTRY_CHUNK_SLOTS;
    if (w->cap > RTREAD_MAX_TASKS)
        w->cap = RTREAD_MAX_TASKS;
    if (w->cap && (w->all = malloc(w->cap * sizeof(*w->all))) == NULL)
        return -ENOMEM;
    return 0;
}

/* Whether the chunk at P, one of NCHUNKS, was read already. */
static bool walk_chunk_again(struct registry_walk *w, uint32_t nchunks, uint64_t p)
{
    if (!chunk_repeated(w->sorted, nchunks, p))
        return false;
    for (size_t k = 0; k < w->nseen; k++)
        if (w->seen[k] == p)
            return true;
    w->seen[w->nseen++] = p;
    return false;
}

/* Where the next chunk is read: straight into the list where it has room
 * (then compacted in place by walk_keep: a slot moves only down), else
 * into w->chunk. */
static struct trt_task_slot *walk_room(struct registry_walk *w)
{
    return w->cap - w->count >= TRT_REGISTRY_CHUNK_SLOTS ? w->all + w->count : w->chunk;
}

/* Keeps the registered slots of the chunk read at FROM, counting in OUT
 * those cut and those whose id was seen: 0 or -ENOMEM. */
static int walk_keep(struct registry_walk *w, const struct trt_task_slot *from,
                     struct rtread_registry *out)
{
    for (uint32_t i = 0; i < TRT_REGISTRY_CHUNK_SLOTS; i++) {
        if (from[i].id == 0)
            continue;
        /* cap is the chunks' slots, or RTREAD_MAX_TASKS if fewer. */
        if (w->count == w->cap) {
            out->cut++;
            continue;
        }
        /* Overlapping chunks show the same slots twice: one id, one task. */
        int fresh = idset_add(&w->ids, from[i].id);
        if (fresh < 0)
            return fresh;
        if (!fresh) {
            out->dup_ids++;
            continue;
        }
        if (&w->all[w->count] != &from[i])
            w->all[w->count] = from[i];
        /* The name may be corrupt: always terminate it. */
        w->all[w->count].name[TRT_TASK_NAME_MAX - 1] = '\0';
        w->count++;
    }
    return 0;
}

/* Hands the slots kept to OUT, giving back the room not used. */
static void walk_finish(struct registry_walk *w, struct rtread_registry *out)
{
    if (w->count && w->count < w->cap) {
        struct trt_task_slot *fit = realloc(w->all, w->count * sizeof(*w->all));
        if (fit)
            w->all = fit;
    }
    out->slots = w->all;
    out->n = w->count;
    w->all = NULL;
}

int rtread_registry_read(rtread_read_fn read, void *ctx, uint64_t addr, struct rtread_registry *out,
                         char *why, size_t whylen)
{
    struct trt_registry reg;
    struct registry_walk w = {.all = NULL};
    memset(out, 0, sizeof(*out));
    int err = registry_header_read(read, ctx, addr, &reg, why, whylen);
    if (err < 0)
        return err;
    if ((err = walk_start(&w, &reg)) < 0)
        goto out;
    for (uint32_t c = 0; c < reg.nchunks; c++) {
        uint64_t p = reg.chunks[c];
        if (walk_chunk_again(&w, reg.nchunks, p)) {
            out->dup_chunks++;
            continue;
        }
        struct trt_task_slot *from = walk_room(&w);
        if ((err = read(ctx, p, from, TRT_REGISTRY_CHUNK_SLOTS * sizeof(*from))) < 0 ||
            (err = walk_keep(&w, from, out)) < 0)
            goto out;
    }
    walk_finish(&w, out);
out:
    free(w.ids.ids);
    free(w.chunk);
    free(w.all);
    if (err < 0)
        memset(out, 0, sizeof(*out));
    return err;
}

int rtread_proc_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    return proc_read(ctx, addr, buf, len);
}

int rtread_read_control(struct proc_target *t, uint64_t addr, struct trt_control *out, char *why,
                        size_t whylen)
{
    return rtread_control_read(rtread_proc_read, t, addr, out, why, whylen);
}

int rtread_read_registry(struct proc_target *t, uint64_t addr, struct rtread_registry *out,
                         char *why, size_t whylen)
{
    return rtread_registry_read(rtread_proc_read, t, addr, out, why, whylen);
}

int rtread_read_ring(struct proc_target *t, uint64_t ring_addr, uint32_t gen,
                     struct records_result *out)
{
    return records_collect(rtread_proc_read, t, ring_addr, gen, out);
}
