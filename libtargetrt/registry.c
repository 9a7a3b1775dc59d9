/* The registry of live traced tasks: protocol slots in chunks that are
 * allocated on demand and never freed, so that a reader outside the process
 * can follow registry->chunks[] at any moment.  Creation, removal and the
 * doorbell's walk take one mutex; a poll never does. */
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

int trt__registry_add(struct trt__task *t, const char *name, uint64_t spawn_pc)
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
    TRT_STORE(&s->spawn_pc, spawn_pc);
    TRT_STORE(&s->flags, spawn_pc ? TRT_TASK_F_SPAWN_PC : 0);
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

void trt__registry_walk(uint32_t *cursor, bool (*fn)(struct trt__task *t, void *arg), void *arg)
{
    pthread_mutex_lock(&registry_mutex);
    uint64_t end = (uint64_t)registry.nchunks * TRT_REGISTRY_CHUNK_SLOTS;
    uint64_t i = *cursor;
    for (; i < end; i++) {
        struct trt__task *t = owners[i / TRT_REGISTRY_CHUNK_SLOTS][i % TRT_REGISTRY_CHUNK_SLOTS];
        if (t && !fn(t, arg))
            break;
    }
    *cursor = i < end ? (uint32_t)i : UINT32_MAX;
    pthread_mutex_unlock(&registry_mutex);
}

/* Calls fn on every registered task; the mutex is already held. */
static void each_locked(void (*fn)(struct trt__task *t))
{
    for (uint32_t c = 0; c < registry.nchunks; c++)
        for (uint32_t i = 0; i < TRT_REGISTRY_CHUNK_SLOTS; i++)
            if (owners[c][i])
                fn(owners[c][i]);
}

static void mark_inherited(struct trt__task *t)
{
    TRT_STORE(&t->slot->flags, TRT_LOAD(&t->slot->flags) | TRT_TASK_F_INHERITED);
}

/* fork() copies the registry, and each task's cached waker, with whatever
 * state their locks were in: holding them all across fork keeps the child's
 * copy consistent and its locks free.  Each waker lock is held only briefly
 * (a pointer swap, or the doorbell's clone of one waker), so taking them
 * all is bounded by the number of live tasks. */
void trt__registry_atfork_prepare(void)
{
    pthread_mutex_lock(&registry_mutex);
    each_locked(trt__task_lock);
}

void trt__registry_atfork_parent(void)
{
    each_locked(trt__task_unlock);
    pthread_mutex_unlock(&registry_mutex);
}

uint64_t trt__registry_atfork_child(void)
{
    each_locked(trt__task_unlock);
    each_locked(mark_inherited);
    uint64_t live = registry.live;
    pthread_mutex_unlock(&registry_mutex);
    return live;
}
