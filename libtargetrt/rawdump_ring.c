/* The raw dump's reader of the capture ring, in the process that writes
 * it.  The tool reads the same ring from outside (tasktrace-attach/
 * target/records.c); the two share the ring's format and its decoding,
 * in protocol.h (trt_ring_slot, trt_ring_gen_first, trt_record_whole),
 * but not the reading, which the two places make different: here the
 * ring is the process's own, found through tasktrace_control and
 * trusted, and read in place one record at a time with atomic loads, its
 * stamp loaded before and after the copy as a seqlock's reader does,
 * nothing allocated; the tool copies many records at once from memory it
 * does not trust, through a callback that may fail, and bounds and
 * allocates what it keeps.  Lock-free: the executors keep capturing
 * while the doorbell thread reads. */
#include <string.h>

#include "rawdump.h"

void trt__ring_reader_open(struct trt__ring_reader *v, uint32_t gen)
{
    memset(v, 0, sizeof(*v));
    const struct trt_ring *r = (const struct trt_ring *)(uintptr_t)__atomic_load_n(
        &tasktrace_control.ring_addr, __ATOMIC_ACQUIRE);
    if (!r || __atomic_load_n(&r->gen, __ATOMIC_ACQUIRE) != gen)
        return;
    v->r = r;
    v->recs = (const struct trt_record *)((const char *)r + r->size);
    uint64_t gen_start = __atomic_load_n(&r->gen_start, __ATOMIC_ACQUIRE);
    v->end = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    v->lost = trt_ring_gen_first(gen_start, v->end, r->capacity, &v->start);
}

bool trt__ring_reader_copy(const struct trt__ring_reader *v, uint64_t pos, struct trt_record *out)
{
    const struct trt_record *rec = &v->recs[trt_ring_slot(pos, v->r->capacity)];
    if (__atomic_load_n(&rec->stamp, __ATOMIC_ACQUIRE) != pos + 1)
        return false;
    out->gen = __atomic_load_n(&rec->gen, __ATOMIC_RELAXED);
    out->npc = __atomic_load_n(&rec->npc, __ATOMIC_RELAXED);
    out->task_id = __atomic_load_n(&rec->task_id, __ATOMIC_RELAXED);
    out->flags = __atomic_load_n(&rec->flags, __ATOMIC_RELAXED);
    out->check = __atomic_load_n(&rec->check, __ATOMIC_RELAXED);
    if (out->npc > TRT_RECORD_MAX_PCS)
        return false;
    /* Every word: the checksum may cover words past the PCs (a record's
     * extra entries, as its flags say). */
    for (uint32_t i = 0; i < TRT_RECORD_MAX_PCS; i++)
        out->pc[i] = __atomic_load_n(&rec->pc[i], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    /* The stamp after the copy: a writer that began on the slot meanwhile
     * zeroed it first. */
    out->stamp = __atomic_load_n(&rec->stamp, __ATOMIC_RELAXED);
    return trt_record_whole(out, pos);
}

bool trt__ring_reader_may_be(const struct trt__ring_reader *v, uint64_t pos, uint32_t gen,
                             uint64_t id)
{
    const struct trt_record *rec = &v->recs[trt_ring_slot(pos, v->r->capacity)];
    return __atomic_load_n(&rec->stamp, __ATOMIC_ACQUIRE) == pos + 1 &&
           __atomic_load_n(&rec->task_id, __ATOMIC_RELAXED) == id &&
           __atomic_load_n(&rec->gen, __ATOMIC_RELAXED) == gen;
}

uint64_t trt__ring_reader_torn(const struct trt__ring_reader *v)
{
    uint64_t torn = 0;
    for (uint64_t pos = v->start; v->r && pos < v->end; pos++) {
        struct trt_record rec;
        if (!trt__ring_reader_copy(v, pos, &rec))
            torn++;
    }
    return torn;
}
