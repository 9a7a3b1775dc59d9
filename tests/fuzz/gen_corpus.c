/* Writes the seed inputs of the fuzz target (fuzz_space.h) into a
 * directory: fake address spaces built from the protocol's own structs,
 * some valid dumps and some with one thing wrong each, so the fuzzer
 * starts past every header check.
 *
 *   gen_corpus DIR
 *
 * tests/fuzz/corpus/readers holds its output; test-fuzz.sh also seeds each
 * run with a fresh copy, which follows any change to the protocol. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "fuzz_space.h"

enum {
    CONTROL_ADDR = 0x10000,
    REGISTRY_ADDR = 0x20000,
    CHUNK_ADDR = 0x100000,
    RING_ADDR = 0x400000,
};

/* One input being built. */
struct input {
    unsigned char buf[1 << 18];
    size_t len;
    bool overflow;
};

static void input_put(struct input *in, const void *p, size_t n)
{
    if (n > sizeof(in->buf) - in->len) {
        in->overflow = true;
        return;
    }
    memcpy(in->buf + in->len, p, n);
    in->len += n;
}

/* Adds a region of `size` bytes at `addr` whose first `nbytes` are `p`. */
static void input_region(struct input *in, uint64_t addr, uint64_t size, const void *p,
                         uint32_t nbytes)
{
    struct fuzz_region r = {.addr = addr, .size = size, .nbytes = nbytes};
    input_put(in, &r, sizeof(r));
    input_put(in, p, nbytes);
}

/* The pieces of one fake target, filled by a case and then encoded. */
struct target {
    uint32_t flags;
    struct trt_control ctl;
    struct trt_registry reg;
    struct trt_task_slot slots[8];
    uint32_t nslots;
    struct trt_ring ring;
    struct trt_record recs[16];
    bool no_registry, no_ring;
};

static void target_init(struct target *t, uint32_t gen)
{
    memset(t, 0, sizeof(*t));
    t->ctl = (struct trt_control){
        .magic = TRT_CONTROL_MAGIC,
        .version = TRT_PROTOCOL_VERSION,
        .size = sizeof(struct trt_control),
        .request = gen,
        .active = gen,
        .done = gen,
        .doorbell_tid = 4242,
        .registry_addr = REGISTRY_ADDR,
        .ring_addr = RING_ADDR,
        .gen_tasks = 3,
        .read_done = gen - 1,
    };
    t->reg = (struct trt_registry){
        .magic = TRT_REGISTRY_MAGIC,
        .version = TRT_PROTOCOL_VERSION,
        .size = sizeof(struct trt_registry),
        .chunk_slots = TRT_REGISTRY_CHUNK_SLOTS,
        .slot_size = sizeof(struct trt_task_slot),
        .nchunks = 1,
        .max_chunks = TRT_REGISTRY_MAX_CHUNKS,
        .chunks = {CHUNK_ADDR},
    };
    t->ring = (struct trt_ring){
        .magic = TRT_RING_MAGIC,
        .version = TRT_PROTOCOL_VERSION,
        .size = sizeof(struct trt_ring),
        .capacity = 8,
        .record_size = sizeof(struct trt_record),
        .gen = gen,
    };
}

static struct trt_task_slot *target_task(struct target *t, uint64_t id, const char *name,
                                         uint32_t state, uint32_t traced_gen, uint32_t pending)
{
    struct trt_task_slot *s = &t->slots[t->nslots++];
    *s = (struct trt_task_slot){
        .id = id,
        .polls = id * 3,
        .created_ns = 1000,
        .poll_start_ns = 2000,
        .poll_end_ns = 3000,
        .state = state,
        .tid = state == TRT_TASK_POLLING ? 4243 : 0,
        .pending_gen = pending,
        .traced_gen = traced_gen,
        .traced_records = 1,
    };
    snprintf(s->name, sizeof(s->name), "%s", name);
    return s;
}

/* Appends a whole record of `task` at the ring's head with the stack
 * `pcs` (innermost first; small values name fuzz_fns, see fuzz_space.h). */
static struct trt_record *target_record(struct target *t, uint64_t task, uint32_t flags,
                                        const uint64_t *pcs, uint32_t npc)
{
    uint64_t pos = t->ring.head++;
    struct trt_record *r = &t->recs[pos & (t->ring.capacity - 1)];
    memset(r, 0, sizeof(*r));
    r->stamp = pos + 1;
    r->gen = t->ring.gen;
    r->npc = npc;
    r->task_id = task;
    r->flags = flags;
    memcpy(r->pc, pcs, npc * sizeof(pcs[0]));
    r->check = trt_record_check(r);
    return r;
}

static int target_write(const struct target *t, const char *dir, const char *name)
{
    static struct input in;
    in.len = 0;
    in.overflow = false;
    struct fuzz_head head = {.control_addr = CONTROL_ADDR, .flags = t->flags};
    input_put(&in, &head, sizeof(head));
    input_region(&in, CONTROL_ADDR, sizeof(t->ctl), &t->ctl, sizeof(t->ctl));
    if (!t->no_registry) {
        /* Only the chunk pointers in use are given; the rest read as 0. */
        uint32_t n = t->reg.nchunks < 4 ? t->reg.nchunks : 4;
        input_region(&in, REGISTRY_ADDR, sizeof(t->reg), &t->reg,
                     offsetof(struct trt_registry, chunks) + n * sizeof(uint64_t));
        input_region(&in, CHUNK_ADDR, TRT_REGISTRY_CHUNK_SLOTS * sizeof(struct trt_task_slot),
                     t->slots, t->nslots * sizeof(struct trt_task_slot));
    }
    if (!t->no_ring) {
        uint64_t cap = t->ring.capacity <= 16 ? t->ring.capacity : 16;
        input_region(&in, RING_ADDR, sizeof(t->ring), &t->ring, sizeof(t->ring));
        input_region(&in, RING_ADDR + sizeof(t->ring), cap * sizeof(struct trt_record), t->recs,
                     (uint32_t)(cap * sizeof(struct trt_record)));
    }
    if (in.overflow) {
        fprintf(stderr, "gen_corpus: %s does not fit\n", name);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(in.buf, 1, in.len, f) != in.len || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Stacks, innermost first, as the runtime captures them. */
static const uint64_t stack_read[] = {
    FUZZ_FN_CAPTURE,   FUZZ_FN_TRACER_CLONE, FUZZ_FN_WAKER_CLONE,    FUZZ_FN_LEAF_READ,
    FUZZ_FN_TASK_MAIN, FUZZ_FN_FUTURE_POLL,  FUZZ_FN_TRACED_TRACING, FUZZ_FN_EXEC_RUN,
};
static const uint64_t stack_sleep[] = {
    FUZZ_FN_CAPTURE,     FUZZ_FN_TRACER_WAKE, FUZZ_FN_LEAF_SLEEP,     FUZZ_FN_TASK_MAIN,
    FUZZ_FN_FUTURE_POLL, FUZZ_FN_TRACED_POLL, FUZZ_FN_TRACED_TRACING, FUZZ_FN_EXEC_RUN,
};
#define N(a) (uint32_t)(sizeof(a) / sizeof((a)[0]))

/* Three tasks: one reported twice with the same stack, one woken by
 * reference, one that still owes the generation. */
static void case_valid(struct target *t)
{
    target_init(t, 1);
    target_task(t, 1, "reader", TRT_TASK_IDLE, 1, 0);
    target_task(t, 2, "sleeper", TRT_TASK_IDLE, 1, 0)->flags = TRT_TASK_F_SUSPECT;
    target_task(t, 3, "main", TRT_TASK_POLLING, 0, 1);
    target_record(t, 1, 0, stack_read, N(stack_read));
    target_record(t, 1, 0, stack_read, N(stack_read));
    target_record(t, 2, TRT_RECORD_F_WAKE, stack_sleep, N(stack_sleep));
    target_record(t, 1, 0, stack_sleep, N(stack_sleep));
    t->ctl.done = 0;
}

int main(int argc, char **argv)
{
    static struct target t;
    int rc = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 64;
    }
    const char *dir = argv[1];

    case_valid(&t);
    rc |= target_write(&t, dir, "valid-three-tasks");
    t.ctl.done = t.ctl.active;
    t.flags = FUZZ_F_RAW | FUZZ_F_COLOR;
    rc |= target_write(&t, dir, "valid-complete-raw-color");
    t.flags = FUZZ_F_SELECT | FUZZ_F_NO_SOURCE;
    rc |= target_write(&t, dir, "valid-select-no-source");
    t.flags = FUZZ_F_NOT_STARTED;
    rc |= target_write(&t, dir, "valid-not-started");
    t.flags = FUZZ_F_ALL_TASKS | FUZZ_F_NO_CLOCK;
    rc |= target_write(&t, dir, "valid-all-tasks-no-clock");
    t.flags = FUZZ_F_PASSIVE;
    rc |= target_write(&t, dir, "valid-passive");

    /* A ring lapped by its writers: positions before head - capacity lost. */
    case_valid(&t);
    t.ring.capacity = 4;
    memset(t.recs, 0, sizeof(t.recs));
    t.ring.head = 0;
    for (int i = 0; i < 10; i++)
        target_record(&t, 1 + (uint64_t)i % 3, 0, i & 1 ? stack_read : stack_sleep, 8);
    rc |= target_write(&t, dir, "ring-lapped");

    /* Sealed by the fuzz target: records whose stamps and checksums it
     * sets, so that mutations of their task ids, flags and PCs reach dump
     * building: here stale ones, and PCs no module holds. */
    case_valid(&t);
    for (int i = 0; i < 4; i++) {
        t.recs[i].stamp = 0;
        t.recs[i].check = 0;
        t.recs[i].pc[1] = 0x400000 + (uint64_t)i;
    }
    t.flags = FUZZ_F_SEAL;
    rc |= target_write(&t, dir, "sealed-records");

    /* Records a reader must reject: bad checksum, being written, npc too
     * large, another generation. */
    case_valid(&t);
    t.recs[0].check ^= 1;
    t.recs[1].stamp = 0;
    t.recs[2].npc = TRT_RECORD_MAX_PCS + 1;
    t.recs[3].gen = 7;
    t.recs[3].check = trt_record_check(&t.recs[3]);
    rc |= target_write(&t, dir, "ring-torn");

    /* A deep, truncated stack of addresses no module holds, and the same
     * addresses in another order. */
    case_valid(&t);
    uint64_t deep[TRT_RECORD_MAX_PCS];
    for (int i = 0; i < TRT_RECORD_MAX_PCS; i++)
        deep[i] = 0x7f0000001000ull + (uint64_t)(i % 7) * 0x10;
    target_record(&t, 3, TRT_RECORD_F_TRUNCATED, deep, TRT_RECORD_MAX_PCS);
    deep[0] = FUZZ_FN_TRACED_POLL;
    target_record(&t, 3, TRT_RECORD_F_TRUNCATED, deep, TRT_RECORD_MAX_PCS);
    t.flags = FUZZ_F_RAW;
    rc |= target_write(&t, dir, "ring-deep-truncated");

    case_valid(&t);
    t.ring.capacity = 6;
    rc |= target_write(&t, dir, "ring-capacity-not-pow2");
    case_valid(&t);
    t.ring.gen = 5;
    rc |= target_write(&t, dir, "ring-other-generation");
    case_valid(&t);
    t.ring.released = 1;
    rc |= target_write(&t, dir, "ring-released");
    case_valid(&t);
    t.no_ring = true;
    rc |= target_write(&t, dir, "ring-unmapped");

    /* Names a terminal must not act on, and one with no terminator. */
    case_valid(&t);
    snprintf(t.slots[0].name, sizeof(t.slots[0].name),
             "\x1b[31mred\x1b[0m \"q\" \\ \xc3\x28 \xe2\x82");
    memset(t.slots[1].name, 'x', sizeof(t.slots[1].name));
    memcpy(t.slots[2].name, "\xc2\x9b\x32J\x7f\xf4\x90\x80\x80", 10);
    rc |= target_write(&t, dir, "names-hostile");

    /* Registries: corrupt header, one chunk listed three times with a
     * repeated task id, a chunk pointer to nowhere, none at all. */
    case_valid(&t);
    t.reg.nchunks = TRT_REGISTRY_MAX_CHUNKS + 1;
    rc |= target_write(&t, dir, "registry-too-many-chunks");
    case_valid(&t);
    t.reg.nchunks = 3;
    t.reg.chunks[1] = CHUNK_ADDR;
    t.reg.chunks[2] = CHUNK_ADDR;
    t.slots[2].id = 1;
    rc |= target_write(&t, dir, "registry-repeated");
    case_valid(&t);
    t.reg.nchunks = 2;
    t.reg.chunks[1] = 0xdead0000;
    rc |= target_write(&t, dir, "registry-chunk-unmapped");
    case_valid(&t);
    t.ctl.registry_addr = 0;
    t.no_registry = true;
    rc |= target_write(&t, dir, "registry-none");

    /* No dump ever ran: generation 0, no ring; every slot listed. */
    case_valid(&t);
    t.ctl.request = t.ctl.active = t.ctl.done = 0;
    t.ctl.ring_addr = 0;
    t.no_ring = true;
    rc |= target_write(&t, dir, "no-dump-yet");

    /* Control blocks that are not ours. */
    case_valid(&t);
    t.ctl.magic ^= 1;
    rc |= target_write(&t, dir, "control-bad-magic");
    case_valid(&t);
    t.ctl.version = TRT_PROTOCOL_VERSION + 1;
    rc |= target_write(&t, dir, "control-new-version");
    case_valid(&t);
    t.ctl.size = 128;
    rc |= target_write(&t, dir, "control-bad-size");
    return rc ? 1 : 0;
}
