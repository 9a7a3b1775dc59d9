/* A multi-producer ring of fixed-size records with ever-growing 64-bit
 * positions.  Each record's stamp is 0 while it is written and position + 1
 * once whole, published with release ordering; a reader checks the stamp
 * before and after copying the payload, and the record's checksum. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring.h"

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 64;
    while (p < n && p < (1ull << 40))
        p <<= 1;
    return p;
}

size_t trt__ring_bytes(uint64_t capacity)
{
    return sizeof(struct trt_ring) + pow2_at_least(capacity) * sizeof(struct trt_record);
}

static struct trt_record *records(struct trt_ring *r)
{
    return (struct trt_record *)(r + 1);
}

struct trt_ring *trt__ring_new(uint64_t capacity)
{
    capacity = pow2_at_least(capacity);
    /* Reserved, not committed: pages cost memory only once a dump writes. */
    struct trt_ring *r = mmap(NULL, trt__ring_bytes(capacity), PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        return NULL;
    r->magic = TRT_RING_MAGIC;
    r->version = TRT_PROTOCOL_VERSION;
    r->size = sizeof(struct trt_ring);
    r->capacity = capacity;
    r->record_size = sizeof(struct trt_record);
    return r;
}

void trt__ring_free(struct trt_ring *r)
{
    if (r)
        munmap(r, trt__ring_bytes(r->capacity));
}

int trt__ring_release(struct trt_ring *r)
{
    /* Mark first: a reader checks the mark after copying. */
    __atomic_store_n(&r->released, __atomic_load_n(&r->gen, __ATOMIC_RELAXED), __ATOMIC_RELEASE);
    /* Every page but the first, which holds the header, replaced by fresh
     * zero pages that cost nothing until written.  mmap over the range, not
     * madvise: one system call fewer for a sandbox to allow, and the range
     * stays mapped throughout, so a straggling writer or a reader never
     * faults; a record zeroed under a writer only fails its stamp check. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = trt__ring_bytes(r->capacity);
    if (bytes <= page)
        return 0;
    void *p = mmap((char *)r + page, bytes - page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? -errno : 0;
}

void trt__ring_begin_gen(struct trt_ring *r, uint32_t gen)
{
    /* The generation starts at the ring's first slot (head rounded up to a
     * lap): dumps in a row write the same pages again, and a process
     * whose previous dump's pages were not given back yet commits no more
     * memory for this one.  A writer of an older generation that reserved
     * a position meanwhile makes the compare-and-swap retry. */
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE), start;
    do
        start = (head + r->capacity - 1) & ~(r->capacity - 1);
    while (start != head && !__atomic_compare_exchange_n(&r->head, &head, start, 0,
                                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    __atomic_store_n(&r->gen, gen, __ATOMIC_RELAXED);
    __atomic_store_n(&r->gen_start, start, __ATOMIC_RELEASE);
}

int trt__ring_write(struct trt_ring *r, uint32_t gen, uint64_t task_id, uint32_t flags,
                    const uint64_t *pcs, uint32_t n)
{
    return trt__ring_write_ex(r, gen, task_id, flags, pcs, n, 0);
}

int trt__ring_write_ex(struct trt_ring *r, uint32_t gen, uint64_t task_id, uint32_t flags,
                       const uint64_t *pcs, uint32_t n, uint32_t nextra)
{
    if (n > TRT_RECORD_MAX_PCS)
        n = TRT_RECORD_MAX_PCS;
    if (nextra > TRT_RECORD_MAX_PCS - n)
        nextra = TRT_RECORD_MAX_PCS - n;
    /* The checksum is computed from the values this writer stores, not read
     * back from the ring, where a writer that lapped this one may be
     * writing the same record. */
    struct trt_record local = {.gen = gen, .npc = n, .task_id = task_id, .flags = flags};
    memcpy(local.pc, pcs, (n + nextra) * sizeof(*pcs));
    uint32_t check = trt_record_check(&local);
    uint64_t pos = __atomic_fetch_add(&r->head, 1, __ATOMIC_ACQ_REL);
    struct trt_record *rec = &records(r)[trt_ring_slot(pos, r->capacity)];
    __atomic_store_n(&rec->stamp, 0, __ATOMIC_RELAXED);
    /* The zero stamp must be visible before any byte of the new payload. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    /* Relaxed atomic stores, not plain ones: a lapping writer may store the
     * same record at the same time, which the stamp and checksum catch, and
     * which is then no data race (a seqlock's payload). */
    __atomic_store_n(&rec->gen, gen, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->npc, n, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->task_id, task_id, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->flags, flags, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i < n + nextra; i++)
        __atomic_store_n(&rec->pc[i], pcs[i], __ATOMIC_RELAXED);
    __atomic_store_n(&rec->check, check, __ATOMIC_RELAXED);
    __atomic_store_n(&rec->stamp, pos + 1, __ATOMIC_RELEASE);
    uint64_t start = __atomic_load_n(&r->gen_start, __ATOMIC_ACQUIRE);
    return pos >= start + r->capacity ? 1 : 0;
}
