/* A seqlock-style reader.  A writer reserves a position (head), zeroes the
 * record's stamp, writes the payload and stores stamp = position + 1 last;
 * a record is kept only if its stamp is its position + 1 and its checksum
 * holds.  The one way a record read whole can still change under the copy
 * is a writer a whole lap ahead reusing its slot: after each window is
 * copied the header is read again, and records whose slot a later position
 * may have reused by then (head beyond position + capacity) count as torn.
 *
 * What is kept is compact: a dump of many tasks writes the same few stacks
 * over and over, so each distinct list of PCs is kept once and the records
 * point to it. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ringread.h"

/* Copies records [first, first + count) (positions) into buf, in up to two
 * pieces because the range may wrap. */
static int copy_range(ringread_fn read, void *ctx, uint64_t ring_addr, uint64_t capacity,
                      uint64_t first, uint64_t count, struct trt_record *buf)
{
    uint64_t base = ring_addr + sizeof(struct trt_ring);
    uint64_t slot = first & (capacity - 1);
    uint64_t part = capacity - slot < count ? capacity - slot : count;
    int err =
        read(ctx, base + slot * sizeof(struct trt_record), buf, part * sizeof(struct trt_record));
    if (err < 0 || part == count)
        return err;
    return read(ctx, base, buf + part, (count - part) * sizeof(struct trt_record));
}

static int header_valid(const struct trt_ring *h)
{
    return h->magic == TRT_RING_MAGIC && h->version == TRT_PROTOCOL_VERSION &&
           h->size == sizeof(struct trt_ring) && h->record_size == sizeof(struct trt_record) &&
           h->capacity >= 1 && (h->capacity & (h->capacity - 1)) == 0 &&
           h->capacity <= (1ull << 40) && h->head >= h->gen_start;
}

/* Records copied per window: the window's copy is what the reader holds
 * besides the records it keeps. */
#define WINDOW 4096u

/* The distinct lists of PCs (and chain) kept, back to back in `words`,
 * found again by hash.  A list's first word is its npc (a record's PCs and
 * chain are told apart by it), the rest its PCs and chain. */
struct lists {
    uint64_t *words;
    size_t nwords, capwords;
    size_t *start;   /* by list: its first word */
    uint32_t *len;   /* by list: its words */
    size_t n, cap;   /* lists */
    uint32_t *index; /* hash table: list + 1, 0 empty */
    size_t capindex; /* a power of two, at least twice n */
};

static uint64_t words_hash(const uint64_t *w, uint32_t n, uint32_t npc)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)npc << 32 | n);
    for (uint32_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

static int lists_rehash(struct lists *l, size_t cap)
{
    uint32_t *index = calloc(cap, sizeof(*index));
    if (!index)
        return -ENOMEM;
    for (size_t k = 0; k < l->n; k++) {
        const uint64_t *w = l->words + l->start[k];
        size_t h = (size_t)words_hash(w + 1, l->len[k] - 1, (uint32_t)w[0]) & (cap - 1);
        while (index[h])
            h = (h + 1) & (cap - 1);
        index[h] = (uint32_t)k + 1;
    }
    free(l->index);
    l->index = index;
    l->capindex = cap;
    return 0;
}

/* The list holding npc followed by the n words at `w`: found, or added.
 * Returns its index, or -ENOMEM. */
static long lists_find(struct lists *l, uint32_t npc, const uint64_t *w, uint32_t n)
{
    if (2 * (l->n + 1) > l->capindex && lists_rehash(l, l->capindex ? 2 * l->capindex : 256) < 0)
        return -ENOMEM;
    uint64_t hash = words_hash(w, n, npc);
    size_t h = (size_t)hash & (l->capindex - 1);
    for (; l->index[h]; h = (h + 1) & (l->capindex - 1)) {
        size_t k = l->index[h] - 1;
        const uint64_t *have = l->words + l->start[k];
        if (l->len[k] == n + 1 && have[0] == npc && memcmp(have + 1, w, n * sizeof(*w)) == 0)
            return (long)k;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        size_t *start = realloc(l->start, cap * sizeof(*start));
        if (start)
            l->start = start;
        uint32_t *len = realloc(l->len, cap * sizeof(*len));
        if (len)
            l->len = len;
        if (!start || !len)
            return -ENOMEM;
        l->cap = cap;
    }
    if (l->nwords + n + 1 > l->capwords) {
        size_t cap = l->capwords ? 2 * l->capwords : 4096;
        while (cap < l->nwords + n + 1)
            cap *= 2;
        uint64_t *words = realloc(l->words, cap * sizeof(*words));
        if (!words)
            return -ENOMEM;
        l->words = words;
        l->capwords = cap;
    }
    l->start[l->n] = l->nwords;
    l->len[l->n] = n + 1;
    l->words[l->nwords] = npc;
    memcpy(l->words + l->nwords + 1, w, n * sizeof(*w));
    l->nwords += n + 1;
    l->index[h] = (uint32_t)l->n + 1;
    return (long)l->n++;
}

int ringread_collect(ringread_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                     struct ringread_result *out)
{
    struct trt_ring h;
    struct trt_record *a = NULL;
    struct ringread_rec *kept = NULL;
    struct lists lists = {0};
    memset(out, 0, sizeof(*out));
    int err = read(ctx, ring_addr, &h, sizeof(h));
    if (err < 0)
        return err;
    if (!header_valid(&h))
        return -EPROTO;
    /* Released pages read back as zeros: every record would look torn. */
    if (h.gen != gen || h.released == gen)
        return -ESTALE;
    uint64_t first = h.gen_start, count = h.head - h.gen_start;
    if (count > h.capacity) {
        out->lost = count - h.capacity;
        first = h.head - h.capacity;
        count = h.capacity;
    }
    if (count > RINGREAD_MAX_RECORDS) {
        out->cut = count - RINGREAD_MAX_RECORDS;
        first += count - RINGREAD_MAX_RECORDS;
        count = RINGREAD_MAX_RECORDS;
    }
    if (count == 0)
        return 0;
    uint64_t window = count < WINDOW ? count : WINDOW;
    a = malloc(window * sizeof(*a));
    size_t nkept = 0, capkept = 0;
    if (!a) {
        err = -ENOMEM;
        goto out;
    }
    for (uint64_t base = 0; base < count; base += window) {
        uint64_t n = count - base < window ? count - base : window;
        if ((err = copy_range(read, ctx, ring_addr, h.capacity, first + base, n, a)) < 0)
            goto out;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        struct trt_ring now;
        if ((err = read(ctx, ring_addr, &now, sizeof(now))) < 0)
            goto out;
        for (uint64_t i = 0; i < n; i++) {
            const struct trt_record *r = &a[i];
            uint64_t pos = first + base + i;
            uint32_t nchain = r->npc <= TRT_RECORD_MAX_PCS ? trt_record_nchain(r) : 0;
            if (r->stamp != pos + 1 || r->npc > TRT_RECORD_MAX_PCS || now.head > pos + h.capacity ||
                r->check != trt_record_check(r)) {
                out->torn++;
                continue;
            }
            if (r->gen != gen)
                continue;
            if (nkept == capkept) {
                capkept = capkept ? capkept * 2 : window;
                struct ringread_rec *grown = realloc(kept, capkept * sizeof(*kept));
                if (!grown) {
                    err = -ENOMEM;
                    goto out;
                }
                kept = grown;
            }
            long list = lists_find(&lists, r->npc, r->pc, r->npc + nchain);
            if (list < 0) {
                err = (int)list;
                goto out;
            }
            /* pc is set at the end: the words move as they grow. */
            kept[nkept++] = (struct ringread_rec){.task_id = r->task_id,
                                                  .pos = r->stamp - 1,
                                                  .gen = r->gen,
                                                  .flags = r->flags,
                                                  .npc = r->npc,
                                                  .nchain = nchain,
                                                  .list = (uint32_t)list};
        }
    }
    /* A newer generation starting while we copied gives the pages of this
     * one back to the system: what we kept may be incomplete. */
    struct trt_ring h2;
    if ((err = read(ctx, ring_addr, &h2, sizeof(h2))) < 0)
        goto out;
    if (h2.gen != gen || h2.gen_start != h.gen_start || h2.released == gen) {
        err = -ESTALE;
        goto out;
    }
    for (size_t i = 0; i < nkept; i++)
        kept[i].pc = lists.words + lists.start[kept[i].list] + 1;
    out->recs = kept;
    out->n = nkept;
    out->nlists = lists.n;
    out->words = lists.words;
    kept = NULL;
    lists.words = NULL;
out:
    free(a);
    free(kept);
    free(lists.words);
    free(lists.start);
    free(lists.len);
    free(lists.index);
    return err;
}

void ringread_free(struct ringread_result *r)
{
    free(r->recs);
    free(r->words);
    r->recs = NULL;
    r->words = NULL;
    r->n = r->nlists = 0;
}
