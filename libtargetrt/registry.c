/* The registry of live traced tasks: protocol slots in chunks that are
 * allocated on demand and never freed, so that a reader outside the process
 * can follow registry->chunks[] at any moment.  Creation and removal take one
 * mutex; a poll never does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rt_internal.h"

static struct trt_registry registry = {
    .magic = TRT_REGISTRY_MAGIC,
    .version = TRT_PROTOCOL_VERSION,
    .size = sizeof(struct trt_registry),
    .chunk_slots = TRT_REGISTRY_CHUNK_SLOTS,
    .slot_size = sizeof(struct trt_task_slot),
    .max_chunks = TRT_REGISTRY_MAX_CHUNKS,
    .next_id = 1,
};

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
/* Per chunk: the task owning each slot, NULL when free. */
static struct trt__task **owners[TRT_REGISTRY_MAX_CHUNKS];
/* Free slot indices, a stack. */
static uint32_t *free_slots;
static size_t nfree, free_cap;

struct trt_registry *trt__registry_get(void)
{
    return &registry;
}

void trt__registry_lock(void)
{
    pthread_mutex_lock(&registry_mutex);
}

void trt__registry_unlock(void)
{
    pthread_mutex_unlock(&registry_mutex);
}

static struct trt_task_slot *slot_at(uint32_t index)
{
    struct trt_task_slot *chunk =
        (struct trt_task_slot *)(uintptr_t)registry.chunks[index / TRT_REGISTRY_CHUNK_SLOTS];
    return &chunk[index % TRT_REGISTRY_CHUNK_SLOTS];
}

/* Adds a chunk and pushes its slots on the free stack, highest first so that
 * low indices are used first.  Called with the mutex held. */
static int chunk_add(void)
{
    uint32_t c = registry.nchunks;
    if (c >= TRT_REGISTRY_MAX_CHUNKS)
        return -ENOSPC;
    /* Room for every slot there will be, so that a removal never fails. */
    size_t need = (size_t)(c + 1) * TRT_REGISTRY_CHUNK_SLOTS;
    if (need > free_cap) {
        uint32_t *grown = realloc(free_slots, need * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        free_slots = grown;
        free_cap = need;
    }
    /* mmap, not malloc: zeroed, page-aligned, and never reused by the heap. */
    void *slots = mmap(NULL, TRT_REGISTRY_CHUNK_SLOTS * sizeof(struct trt_task_slot),
                       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED)
        return -ENOMEM;
    owners[c] = calloc(TRT_REGISTRY_CHUNK_SLOTS, sizeof(*owners[c]));
    if (!owners[c]) {
        munmap(slots, TRT_REGISTRY_CHUNK_SLOTS * sizeof(struct trt_task_slot));
        return -ENOMEM;
    }
    TRT_STORE(&registry.chunks[c], (uint64_t)(uintptr_t)slots);
    for (uint32_t i = TRT_REGISTRY_CHUNK_SLOTS; i-- > 0;)
        free_slots[nfree++] = c * TRT_REGISTRY_CHUNK_SLOTS + i;
    /* Publish the chunk pointer before the count a reader bounds itself by. */
    __atomic_store_n(&registry.nchunks, c + 1, __ATOMIC_RELEASE);
    return 0;
}

int trt__registry_add(struct trt__task *t, const char *name)
{
    int err = 0;
    pthread_mutex_lock(&registry_mutex);
    TRT_STORE(&tasktrace_control.registry_addr, (uint64_t)(uintptr_t)&registry);
    if (nfree == 0 && (err = chunk_add()) < 0)
        goto out;
    uint32_t index = free_slots[--nfree];
    struct trt_task_slot *s = slot_at(index);
    memset(s->name, 0, sizeof(s->name));
    strncpy(s->name, name ? name : "task", sizeof(s->name) - 1);
    TRT_STORE(&s->polls, 0);
    TRT_STORE(&s->created_ns, trt__now_coarse_ns());
    TRT_STORE(&s->poll_start_ns, 0);
    TRT_STORE(&s->poll_end_ns, 0);
    TRT_STORE(&s->tid, 0);
    TRT_STORE(&s->pending_gen, 0);
    TRT_STORE(&s->traced_gen, 0);
    TRT_STORE(&s->traced_records, 0);
    TRT_STORE(&s->flags, 0);
    TRT_STORE(&s->state, TRT_TASK_IDLE);
    /* The id goes last: a reader takes a slot with id != 0 as registered. */
    __atomic_store_n(&s->id, registry.next_id++, __ATOMIC_RELEASE);
    owners[index / TRT_REGISTRY_CHUNK_SLOTS][index % TRT_REGISTRY_CHUNK_SLOTS] = t;
    TRT_STORE(&registry.live, registry.live + 1);
    t->slot = s;
    t->index = index;
out:
    pthread_mutex_unlock(&registry_mutex);
    return err;
}

uint32_t trt__registry_remove(struct trt__task *t)
{
    pthread_mutex_lock(&registry_mutex);
    struct trt_task_slot *s = t->slot;
    uint32_t owed = __atomic_exchange_n(&s->pending_gen, 0, __ATOMIC_ACQ_REL);
    __atomic_store_n(&s->id, 0, __ATOMIC_RELEASE);
    TRT_STORE(&s->state, TRT_TASK_FREE);
    owners[t->index / TRT_REGISTRY_CHUNK_SLOTS][t->index % TRT_REGISTRY_CHUNK_SLOTS] = NULL;
    /* free_cap covers every slot ever created, so this push cannot fail. */
    free_slots[nfree++] = t->index;
    TRT_STORE(&registry.live, registry.live - 1);
    pthread_mutex_unlock(&registry_mutex);
    return owed;
}

uint64_t trt__registry_live(void)
{
    return TRT_LOAD(&registry.live);
}

/* Takes a clone of t's cached waker, if it has one. */
static bool waker_take_clone(struct trt__task *t, trt_waker *out)
{
    while (atomic_flag_test_and_set_explicit(&t->lock, memory_order_acquire))
        ;
    bool have = t->waker.vtable != NULL;
    if (have)
        *out = trt_waker_clone(&t->waker);
    atomic_flag_clear_explicit(&t->lock, memory_order_release);
    return have;
}

size_t trt__registry_mark(uint32_t gen, trt_waker **wakers, size_t *nwakers)
{
    size_t marked = 0, nw = 0;
    pthread_mutex_lock(&registry_mutex);
    size_t live = registry.live;
    trt_waker *w = malloc((live ? live : 1) * sizeof(*w));
    uint32_t nchunks = registry.nchunks;
    for (uint32_t c = 0; c < nchunks; c++) {
        for (uint32_t i = 0; i < TRT_REGISTRY_CHUNK_SLOTS; i++) {
            struct trt__task *t = owners[c][i];
            if (!t || TRT_LOAD(&t->slot->state) == TRT_TASK_DONE)
                continue;
            /* Count before marking: the task may be traced at once. */
            __atomic_add_fetch(&tasktrace_control.gen_pending, 1, __ATOMIC_ACQ_REL);
            __atomic_store_n(&t->slot->pending_gen, gen, __ATOMIC_RELEASE);
            marked++;
            if (w && nw < live && waker_take_clone(t, &w[nw]))
                nw++;
        }
    }
    pthread_mutex_unlock(&registry_mutex);
    *wakers = w;
    *nwakers = nw;
    return marked;
}

/* fork() copies the registry with whatever state the mutex was in; holding it
 * across fork keeps the child's copy consistent. */
void trt__registry_atfork_prepare(void)
{
    pthread_mutex_lock(&registry_mutex);
}

void trt__registry_atfork_parent(void)
{
    pthread_mutex_unlock(&registry_mutex);
}

void trt__registry_atfork_child(void)
{
    pthread_mutex_unlock(&registry_mutex);
}
