/* The tool's reader of the capture ring, in a process it is dumping or
 * in a core.  The runtime reads the same ring for a raw dump, in place
 * (libtargetrt/rawdump_ring.c); the two share the ring's format and its
 * decoding, in protocol.h (trt_ring_slot, trt_ring_gen_first,
 * trt_record_whole), but not the reading, which the two places make
 * different: here the ring is another process's memory, read through a
 * callback (process_vm_readv, a core's segments) that may fail, so its
 * header is checked before any count in it is used and records are
 * copied many at once, which rules out reading each one's stamp again
 * after its copy; the runtime reads its own, trusted ring one record at
 * a time with atomic loads, as a seqlock's reader, allocating nothing.
 *
 * A writer reserves a position (head), zeroes the record's stamp, writes
 * the payload and stores stamp = position + 1 last; a record is kept only
 * if it is whole (stamp, npc and checksum: trt_record_whole).  The one way
 * a record read whole can still change under the copy is a writer a whole
 * lap ahead reusing its slot: after each window is copied the header is
 * read again, and records whose slot a later position may have reused by
 * then (head beyond position + capacity) count as torn.
 *
 * What is kept is compact: a dump of many tasks writes the same few stacks
 * over and over, so each distinct list of PCs is kept once and the records
 * point to it.
 *
 * The read can be made in steps while the target still writes (the tool
 * waiting for the tasks to report): each step keeps the records whole
 * from where the last one stopped up to the first one a writer may still
 * be on, and the final read goes on from there.  A record copied whole is
 * kept whatever a writer does to its slot later. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "target/records.h"

/* Copies records [first, first + count) (positions) into buf, in up to two
 * pieces because the range may wrap. */
static int copy_range(records_fn read, void *ctx, uint64_t ring_addr, uint64_t capacity,
                      uint64_t first, uint64_t count, struct trt_record *buf)
{
    uint64_t base = ring_addr + sizeof(struct trt_ring);
    uint64_t slot = trt_ring_slot(first, capacity);
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

/* What a read in steps holds between them (struct records_progress's
 * state). */
struct records_state {
    uint64_t ring_addr;
    uint32_t gen;
    uint64_t gen_start;
    uint64_t next; /* the first position not yet read */
    struct trt_record *window;
    struct records_rec *kept;
    size_t nkept, capkept;
    uint64_t torn;
    struct lists lists;
};

static void state_free(struct records_state *st)
{
    if (!st)
        return;
    free(st->window);
    free(st->kept);
    free(st->lists.words);
    free(st->lists.start);
    free(st->lists.len);
    free(st->lists.index);
    free(st);
}

static struct records_state *state_new(uint64_t ring_addr, uint32_t gen, uint64_t gen_start)
{
    struct records_state *st = calloc(1, sizeof(*st));
    if (st && !(st->window = malloc(WINDOW * sizeof(*st->window)))) {
        free(st);
        return NULL;
    }
    if (st) {
        st->ring_addr = ring_addr;
        st->gen = gen;
        st->gen_start = gen_start;
        st->next = gen_start;
    }
    return st;
}

static int keep(struct records_state *st, const struct trt_record *r, uint32_t nchain)
{
    if (st->nkept == st->capkept) {
        size_t cap = st->capkept ? st->capkept * 2 : WINDOW;
        struct records_rec *grown = realloc(st->kept, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        st->kept = grown;
        st->capkept = cap;
    }
    long list = lists_find(&st->lists, r->npc, r->pc, r->npc + nchain);
    if (list < 0)
        return (int)list;
    /* pc is set at the end: the words move as they grow. */
    st->kept[st->nkept++] = (struct records_rec){.task_id = r->task_id,
                                                 .pos = r->stamp - 1,
                                                 .gen = r->gen,
                                                 .flags = r->flags,
                                                 .npc = r->npc,
                                                 .nchain = nchain,
                                                 .list = (uint32_t)list};
    return 0;
}

/* Reads positions [st->next, end) of the ring whose header was `h`,
 * window by window.  A record that is not whole is torn, or, unless
 * `final`, where this step stops: a writer may still be on it, and the
 * next step reads it again.  Returns 0 or -errno. */
static int scan(records_fn read, void *ctx, struct records_state *st, const struct trt_ring *h,
                uint64_t end, bool final)
{
    while (st->next < end) {
        uint64_t first = st->next;
        uint64_t n = end - first < WINDOW ? end - first : WINDOW;
        int err = copy_range(read, ctx, st->ring_addr, h->capacity, first, n, st->window);
        if (err < 0)
            return err;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        struct trt_ring now;
        if ((err = read(ctx, st->ring_addr, &now, sizeof(now))) < 0)
            return err;
        for (uint64_t i = 0; i < n; i++) {
            const struct trt_record *r = &st->window[i];
            uint64_t pos = first + i;
            uint32_t nchain = r->npc <= TRT_RECORD_MAX_PCS ? trt_record_nchain(r) : 0;
            if (!trt_record_whole(r, pos) || now.head > pos + h->capacity) {
                if (!final) {
                    st->next = pos;
                    return 0;
                }
                st->torn++;
                continue;
            }
            if (r->gen == st->gen && (err = keep(st, r, nchain)) < 0)
                return err;
        }
        st->next = first + n;
    }
    return 0;
}

/* Reads and checks the ring's header: -EPROTO, or -ESTALE when it is no
 * longer generation `gen`'s (or its pages were given back). */
static int header_read(records_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                       struct trt_ring *h)
{
    int err = read(ctx, ring_addr, h, sizeof(*h));
    if (err < 0)
        return err;
    if (!header_valid(h))
        return -EPROTO;
    /* Released pages read back as zeros: every record would look torn. */
    if (h->gen != gen || h->released == gen)
        return -ESTALE;
    return 0;
}

int records_step(records_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                 struct records_progress *p)
{
    struct trt_ring h;
    struct records_state *st = p->state;
    int err = header_read(read, ctx, ring_addr, gen, &h);
    if (err == 0 && st &&
        (st->ring_addr != ring_addr || st->gen != gen || st->gen_start != h.gen_start))
        err = -ESTALE;
    /* Past what one lap or one read holds, the final read decides what
     * is lost or cut: the steps leave it all to it. */
    if (err == 0 &&
        (h.head - h.gen_start > h.capacity || h.head - h.gen_start > RECORDS_MAX_RECORDS))
        err = -E2BIG;
    if (err == 0 && !st && !(st = p->state = state_new(ring_addr, gen, h.gen_start)))
        err = -ENOMEM;
    if (err == 0)
        err = scan(read, ctx, st, &h, h.head, false);
    if (err < 0) {
        records_progress_free(p);
        p->gave_up = true;
    }
    return err;
}

void records_progress_free(struct records_progress *p)
{
    state_free(p->state);
    p->state = NULL;
}

int records_finish(records_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                   struct records_progress *p, struct records_result *out)
{
    struct trt_ring h;
    struct records_state *st = p ? p->state : NULL;
    if (p)
        p->state = NULL;
    memset(out, 0, sizeof(*out));
    int err = header_read(read, ctx, ring_addr, gen, &h);
    if (err < 0)
        goto out;
    uint64_t first;
    out->lost = trt_ring_gen_first(h.gen_start, h.head, h.capacity, &first);
    uint64_t count = h.head - first;
    if (count > RECORDS_MAX_RECORDS) {
        out->cut = count - RECORDS_MAX_RECORDS;
        first += count - RECORDS_MAX_RECORDS;
        count = RECORDS_MAX_RECORDS;
    }
    /* What steps kept stands only for this same ring and generation, and
     * when none of it was lost or cut since (then all is read again). */
    if (st && (st->ring_addr != ring_addr || st->gen != gen || st->gen_start != h.gen_start ||
               first != h.gen_start || st->next > h.head)) {
        state_free(st);
        st = NULL;
    }
    if (count == 0)
        goto out;
    if (!st && !(st = state_new(ring_addr, gen, first))) {
        err = -ENOMEM;
        goto out;
    }
    if ((err = scan(read, ctx, st, &h, first + count, true)) < 0)
        goto out;
    /* A newer generation starting while we copied gives the pages of this
     * one back to the system: what we kept may be incomplete. */
    struct trt_ring h2;
    if ((err = read(ctx, ring_addr, &h2, sizeof(h2))) < 0)
        goto out;
    if (h2.gen != gen || h2.gen_start != h.gen_start || h2.released == gen) {
        err = -ESTALE;
        goto out;
    }
    for (size_t i = 0; i < st->nkept; i++)
        st->kept[i].pc = st->lists.words + st->lists.start[st->kept[i].list] + 1;
    out->recs = st->kept;
    out->n = st->nkept;
    out->nlists = st->lists.n;
    out->words = st->lists.words;
    out->torn = st->torn;
    st->kept = NULL;
    st->lists.words = NULL;
out:
    state_free(st);
    return err;
}

int records_collect(records_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                    struct records_result *out)
{
    return records_finish(read, ctx, ring_addr, gen, NULL, out);
}

void records_free(struct records_result *r)
{
    free(r->recs);
    free(r->words);
    r->recs = NULL;
    r->words = NULL;
    r->n = r->nlists = 0;
}
