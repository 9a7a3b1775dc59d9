/* A seqlock-style reader: the record range is copied twice, and a record is
 * kept only if both copies agree, its stamp is its position + 1 and its
 * checksum holds.  A writer zeroes the stamp before touching a payload, so a
 * record changed between or during the copies always differs or fails. */
#include <errno.h>
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

/* Records copied per window: the two copies of a window are what the
 * reader holds besides the records it keeps. */
#define WINDOW 4096u

int ringread_collect(ringread_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                     struct ringread_result *out)
{
    struct trt_ring h;
    struct trt_record *a = NULL, *b = NULL, *kept = NULL;
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
    b = malloc(window * sizeof(*b));
    size_t nkept = 0, capkept = 0;
    if (!a || !b) {
        err = -ENOMEM;
        goto out;
    }
    for (uint64_t base = 0; base < count; base += window) {
        uint64_t n = count - base < window ? count - base : window;
        if ((err = copy_range(read, ctx, ring_addr, h.capacity, first + base, n, a)) < 0)
            goto out;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if ((err = copy_range(read, ctx, ring_addr, h.capacity, first + base, n, b)) < 0)
            goto out;
        for (uint64_t i = 0; i < n; i++) {
            const struct trt_record *r = &a[i];
            /* The PCs and the chain of futures after them (bounded by
             * trt_record_nchain). */
            size_t used = offsetof(struct trt_record, pc) +
                          (r->npc <= TRT_RECORD_MAX_PCS ? r->npc + trt_record_nchain(r) : 0) *
                              sizeof(uint64_t);
            if (r->stamp != first + base + i + 1 || r->npc > TRT_RECORD_MAX_PCS ||
                memcmp(r, &b[i], used) != 0 || r->check != trt_record_check(r)) {
                out->torn++;
                continue;
            }
            if (r->gen != gen)
                continue;
            if (nkept == capkept) {
                capkept = capkept ? capkept * 2 : window;
                struct trt_record *grown = realloc(kept, capkept * sizeof(*kept));
                if (!grown) {
                    err = -ENOMEM;
                    goto out;
                }
                kept = grown;
            }
            kept[nkept++] = *r;
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
    out->recs = kept;
    out->n = nkept;
    kept = NULL;
out:
    free(a);
    free(b);
    free(kept);
    return err;
}
