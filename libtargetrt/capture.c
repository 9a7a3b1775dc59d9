/* The ring's lifetime and the stack capture into it.
 *
 * A published ring is never unmapped.  Writers load `current` and write into
 * whatever ring they loaded, with no count and no lock; a ring replaced by a
 * larger one is retired, its pages given back with the next give-back, its
 * mapping (header page and address range) kept for the life of the
 * process.  A late writer therefore always writes into mapped memory, and a
 * tool that read the old ring_addr still finds a valid header.  Capacities
 * at least double at each replacement, so the retired rings add up to less
 * address space than the current one, and none of it is committed memory
 * once given back.
 *
 * System calls are kept out of a dump: the ring is mapped when the doorbell
 * starts, and a larger spare one is mapped ahead, when task creation makes
 * the live count outgrow it; starting a generation then only swaps
 * pointers.  A generation that finds no ring large enough (the spare could
 * not be mapped) tries one mmap, and if that is refused too keeps the ring
 * it has and says so in ring_errno / ring_errno_gen.
 *
 * Size: before any dump, RING_RECORDS_PER_TASK records per live task.  A
 * generation then shows how many records a dump of this process writes
 * (its head - gen_start, lost ones included), and the ring is sized for
 * that count and a quarter more from then on: after the dump has been read
 * the doorbell maps the larger spare (trt__capture_give_back), so the next
 * dump swaps rings instead of mapping one, and a task with many leaves loses
 * records in its first dump at most.  Every size is bounded by the memory
 * cap, TASKTRACE_RING_MAX_MB (MiB, the ring's header included), read once at
 * the first traced task and published as ring_max_mb; a ring at the cap
 * loses what does not fit, and records_lost says so. */
#include <errno.h>
#include <execinfo.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "rt_internal.h"

/* Records the ring holds per live task before it overwrites its own
 * generation, until a dump has shown how many it needs: room for a few
 * leaves each. */
#define RING_RECORDS_PER_TASK 4
#define RING_MIN_RECORDS 1024
/* The memory cap without TASKTRACE_RING_MAX_MB, and the largest one taken
 * from it (1 TiB: the ring's own bound is 2^40 records). */
#define RING_MAX_MB_DEFAULT 1024u
#define RING_MAX_MB_LIMIT (1u << 20)
/* Capacities double from RING_MIN_RECORDS up to the ring's own bound of
 * 2^40 records: far fewer replacements than this. */
#define RETIRED_MAX 48

/* Guards `spare` and `retired` (not `current`, which writers load without
 * it).  Taken by task creation when it maps a spare, and by the doorbell. */
static pthread_mutex_t ring_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct trt_ring *_Atomic current;
/* Mapped ahead, not yet published: nobody else can hold it. */
static struct trt_ring *spare;
/* Published once, replaced since; still mapped. */
static struct trt_ring *retired[RETIRED_MAX];
static unsigned nretired;
/* Retired rings whose pages were given back since they were retired. */
static unsigned nretired_given;
/* The larger of the current and the spare ring's capacities: task creation
 * reads it without the mutex to see that nothing needs mapping. */
static _Atomic uint64_t ready_capacity;

/* The most records a ring may hold under the memory cap: a power of two
 * (ring capacities are), set once by cap_init. */
static uint64_t max_records;
static pthread_once_t cap_once = PTHREAD_ONCE_INIT;
/* Records the last generation wrote, a quarter more for growth: what the
 * next ring is sized for.  0 before the first generation. */
static _Atomic uint64_t gen_records_want;
/* Whether captures walk the stack with stackwalk.c (the default) or always
 * with backtrace() (TASKTRACE_UNWIND=backtrace), set once by cap_init. */
static _Atomic bool walk_cfi;

/* Reads TASKTRACE_RING_MAX_MB once (a positive whole number of MiB; anything
 * else, or nothing, is the default), bounds it and publishes it. */
static void cap_init(void)
{
    unsigned long mb = RING_MAX_MB_DEFAULT;
    const char *env = getenv("TASKTRACE_RING_MAX_MB");
    if (env && *env >= '0' && *env <= '9') {
        char *end;
        errno = 0;
        unsigned long v = strtoul(env, &end, 10);
        if (errno == 0 && *end == '\0' && v > 0)
            mb = v < RING_MAX_MB_LIMIT ? v : RING_MAX_MB_LIMIT;
    }
    uint64_t fit = (((uint64_t)mb << 20) - sizeof(struct trt_ring)) / sizeof(struct trt_record);
    uint64_t p = 64; /* the smallest ring trt__ring_new makes */
    while (p * 2 <= fit)
        p *= 2;
    max_records = p;
    TRT_STORE(&tasktrace_control.ring_max_mb, (uint32_t)mb);
    const char *unwind = getenv("TASKTRACE_UNWIND");
    atomic_store_explicit(&walk_cfi, !unwind || strcmp(unwind, "backtrace") != 0,
                          memory_order_relaxed);
}

static uint64_t ring_want(uint64_t live)
{
    pthread_once(&cap_once, cap_init);
    uint64_t want = live * RING_RECORDS_PER_TASK;
    uint64_t seen = atomic_load_explicit(&gen_records_want, memory_order_relaxed);
    if (want < seen)
        want = seen;
    if (want < RING_MIN_RECORDS)
        want = RING_MIN_RECORDS;
    return want < max_records ? want : max_records;
}

/* Learns from ring `r` how many records its generation `gen` wrote, lost
 * ones included (positions are reserved even when they overwrite), so that
 * the next rings are sized for it.  Called with ring_mutex held. */
static void gen_records_note(const struct trt_ring *r, uint32_t gen)
{
    if (!r || gen == 0 || __atomic_load_n(&r->gen, __ATOMIC_RELAXED) != gen)
        return;
    uint64_t start = __atomic_load_n(&r->gen_start, __ATOMIC_ACQUIRE);
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    uint64_t wrote = head - start;
    if (wrote > (1ull << 40))
        wrote = 1ull << 40;
    atomic_store_explicit(&gen_records_want, wrote + wrote / 4, memory_order_relaxed);
}

static uint64_t capacity_of(const struct trt_ring *r)
{
    return r ? r->capacity : 0;
}

/* Maps a spare for `want` records, replacing a smaller spare.  The smaller
 * one was never published, so no writer can be in it: it is unmapped, or,
 * during a dump (`in_dump`), where no munmap is made, kept with the retired
 * rings.  Called with ring_mutex held. */
static int spare_map(uint64_t want, bool in_dump)
{
    if (capacity_of(spare) >= want)
        return 0;
    struct trt_ring *fresh = trt__ring_new(want);
    if (!fresh)
        return -errno;
    if (spare && in_dump && nretired < RETIRED_MAX)
        retired[nretired++] = spare;
    else
        trt__ring_free(spare);
    spare = fresh;
    atomic_store_explicit(&ready_capacity, fresh->capacity, memory_order_relaxed);
    return 0;
}

int trt__capture_reserve(uint64_t live)
{
    uint64_t want = ring_want(live);
    /* The common case, without the mutex: a ring large enough is ready. */
    if (atomic_load_explicit(&ready_capacity, memory_order_relaxed) >= want)
        return 0;
    pthread_mutex_lock(&ring_mutex);
    int err = capacity_of(atomic_load(&current)) >= want ? 0 : spare_map(want, false);
    pthread_mutex_unlock(&ring_mutex);
    return err;
}

/* Makes `r` the current ring and retires the one it replaces.  Called with
 * ring_mutex held. */
static void publish(struct trt_ring *r)
{
    struct trt_ring *old = atomic_load(&current);
    atomic_store_explicit(&current, r, memory_order_release);
    TRT_STORE(&tasktrace_control.ring_addr, (uint64_t)(uintptr_t)r);
    if (old && nretired < RETIRED_MAX)
        retired[nretired++] = old;
    /* Past RETIRED_MAX (not reachable: see above) the old ring stays mapped
     * and its pages stay too; nothing is unmapped under a writer. */
}

void trt__capture_begin_gen(uint32_t gen, uint64_t live)
{
    int err = 0;
    pthread_mutex_lock(&ring_mutex);
    /* A generation requested before the last one's give-back mapped the
     * spare for its count: learn that count here. */
    struct trt_ring *cur = atomic_load(&current);
    if (cur)
        gen_records_note(cur, __atomic_load_n(&cur->gen, __ATOMIC_RELAXED));
    uint64_t want = ring_want(live);
    if (capacity_of(atomic_load(&current)) < want) {
        /* A spare mapped ahead, else one mmap now. */
        if (capacity_of(spare) < want)
            err = spare_map(want, true);
        if (spare && capacity_of(spare) > capacity_of(atomic_load(&current))) {
            publish(spare);
            spare = NULL;
        }
    }
    struct trt_ring *r = atomic_load(&current);
    pthread_mutex_unlock(&ring_mutex);
    if (r)
        trt__ring_begin_gen(r, gen);
    /* A ring that is missing or smaller than wanted still serves (it loses
     * records, which records_lost counts); the tool says why from here. */
    TRT_STORE(&tasktrace_control.ring_errno, (int32_t)(r && err == 0 ? 0 : err ? -err : ENOMEM));
    __atomic_store_n(&tasktrace_control.ring_errno_gen, gen, __ATOMIC_RELEASE);
}

int trt__capture_give_back(uint32_t gen)
{
    int err = 0;
    pthread_mutex_lock(&ring_mutex);
    struct trt_ring *r = atomic_load(&current);
    /* The dump is over: map now, ahead of the next one, a spare as large as
     * this generation showed it needs.  A failure leaves the next
     * generation to try (and to say so in ring_errno). */
    gen_records_note(r, gen);
    uint64_t want = ring_want(trt__registry_live());
    if (capacity_of(r) < want)
        (void)spare_map(want, false);
    if (r && __atomic_load_n(&r->gen, __ATOMIC_RELAXED) == gen)
        err = trt__ring_release(r);
    for (; nretired_given < nretired; nretired_given++) {
        int e = trt__ring_release(retired[nretired_given]);
        if (e < 0) {
            err = e;
            break;
        }
    }
    pthread_mutex_unlock(&ring_mutex);
    return err;
}

void trt__capture_atfork_prepare(void)
{
    pthread_mutex_lock(&ring_mutex);
}

void trt__capture_atfork_release(void)
{
    pthread_mutex_unlock(&ring_mutex);
}

TRT_NAMED_FRAME int trt__capture(uint32_t gen, uint64_t id, uint32_t flags)
{
    /* One spare slot to tell a stack that fits from one that was cut. */
    uint64_t words[TRT_RECORD_MAX_PCS + 1];
    int n = -1;
    if (atomic_load_explicit(&walk_cfi, memory_order_relaxed))
        n = trt__stackwalk(words, TRT_RECORD_MAX_PCS + 1, gen);
    if (n < 0) {
        void *pcs[TRT_RECORD_MAX_PCS + 1];
        n = backtrace(pcs, TRT_RECORD_MAX_PCS + 1);
        for (int i = 0; i < n; i++)
            words[i] = (uint64_t)(uintptr_t)pcs[i];
    }
    if (n > TRT_RECORD_MAX_PCS) {
        n = TRT_RECORD_MAX_PCS;
        flags |= TRT_RECORD_F_TRUNCATED;
    }
    /* The chain of polled futures, after the PCs, as far as it fits. */
    uint32_t nchain = 0;
    const struct trt__chain *c = trt__chain_cur;
    if (c) {
        nchain = c->depth < TRT_RECORD_CHAIN_MAX ? c->depth : TRT_RECORD_CHAIN_MAX;
        if (nchain > (uint32_t)(TRT_RECORD_MAX_PCS - n))
            nchain = (uint32_t)(TRT_RECORD_MAX_PCS - n);
        for (uint32_t i = 0; i < nchain; i++)
            words[n + i] = c->fn[i];
        if (nchain)
            flags |= TRT_RECORD_F_CHAIN | nchain << TRT_RECORD_CHAIN_SHIFT;
    }
    /* Published rings are never unmapped: no count, no lock. */
    struct trt_ring *r = atomic_load_explicit(&current, memory_order_acquire);
    if (!r)
        return -ENOMEM;
    int lost = trt__ring_write_ex(r, gen, id, flags, words, (uint32_t)n, nchain);
    __atomic_add_fetch(&tasktrace_control.records_written, 1, __ATOMIC_RELAXED);
    if (lost) {
        __atomic_add_fetch(&tasktrace_control.records_lost, 1, __ATOMIC_RELAXED);
        return -ENOSPC;
    }
    return 0;
}
