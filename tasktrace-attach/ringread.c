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
    int err = read(ctx, base + slot * sizeof(struct trt_record), buf,
                   part * sizeof(struct trt_record));
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

int ringread_collect(ringread_fn read, void *ctx, uint64_t ring_addr, uint32_t gen,
                     struct ringread_result *out)
{
    struct trt_ring h;
    struct trt_record *a = NULL, *b = NULL;
    memset(out, 0, sizeof(*out));
    int err = read(ctx, ring_addr, &h, sizeof(h));
    if (err < 0)
        return err;
    if (!header_valid(&h))
        return -EPROTO;
    if (h.gen != gen)
        return -ESTALE;
    uint64_t first = h.gen_start, count = h.head - h.gen_start;
    if (count > h.capacity) {
        out->lost = count - h.capacity;
        first = h.head - h.capacity;
        count = h.capacity;
    }
    if (count > RINGREAD_MAX_RECORDS) {
        out->lost += count - RINGREAD_MAX_RECORDS;
        first += count - RINGREAD_MAX_RECORDS;
        count = RINGREAD_MAX_RECORDS;
    }
    if (count == 0)
        return 0;
    a = malloc(count * sizeof(*a));
    b = malloc(count * sizeof(*b));
    if (!a || !b) {
        err = -ENOMEM;
        goto out;
    }
    if ((err = copy_range(read, ctx, ring_addr, h.capacity, first, count, a)) < 0)
        goto out;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if ((err = copy_range(read, ctx, ring_addr, h.capacity, first, count, b)) < 0)
        goto out;
    size_t kept = 0;
    for (uint64_t i = 0; i < count; i++) {
        const struct trt_record *r = &a[i];
        size_t used = offsetof(struct trt_record, pc) +
                      (r->npc <= TRT_RECORD_MAX_PCS ? r->npc : 0) * sizeof(uint64_t);
        if (r->stamp != first + i + 1 || r->npc > TRT_RECORD_MAX_PCS ||
            memcmp(r, &b[i], used) != 0 || r->check != trt_record_check(r)) {
            out->torn++;
            continue;
        }
        if (r->gen != gen)
            continue;
        if (kept != i)
            a[kept] = *r;
        kept++;
    }
    out->recs = a;
    out->n = kept;
    a = NULL;
out:
    free(a);
    free(b);
    return err;
}
