/* A fuzz target for the tool's readers of target memory: the control block,
 * the registry and the ring are read out of a fake address space (see
 * fuzz_space.h) through the same callback the tool gives them for a live
 * process, and what they return goes through dump building, tree merging
 * and both renderers, as tasktrace-attach would print it.
 *
 * Built with libFuzzer (clang -fsanitize=fuzzer) as tests/fuzz/fuzz_readers,
 * and with a plain main (replay.c) as tests/fuzz/replay, which runs inputs
 * once each: the corpus in every build, a crash's reproducer on demand. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tasktrace/protocol.h>

#include "model/dump.h"
#include "views/render.h"
#include "target/records.h"
#include "target/rtread.h"
#include "symbols/lookup.h"
#include "fuzz.h"
#include "fuzz_space.h"

/* ---------------------------------------------------------------- space */

struct space_region {
    uint64_t addr, size;
    uint8_t *bytes;
    uint64_t nbytes;
};

struct space {
    struct space_region r[FUZZ_MAX_REGIONS];
    size_t n;
};

/* Decodes the regions after the head; malformed tails are dropped. */
static void space_decode(struct space *s, uint8_t *data, size_t size)
{
    s->n = 0;
    while (s->n < FUZZ_MAX_REGIONS && size >= sizeof(struct fuzz_region)) {
        struct fuzz_region fr;
        memcpy(&fr, data, sizeof(fr));
        data += sizeof(fr);
        size -= sizeof(fr);
        uint64_t nbytes = fr.nbytes < size ? fr.nbytes : size;
        if (nbytes > fr.size)
            nbytes = fr.size;
        if (fr.size != 0 && fr.addr + fr.size - 1 >= fr.addr) {
            struct space_region *r = &s->r[s->n++];
            r->addr = fr.addr;
            r->size = fr.size;
            r->bytes = data;
            r->nbytes = nbytes;
        }
        data += nbytes;
        size -= nbytes;
    }
}

/* The readers' callback: copies [addr, addr + len) from the one region
 * holding all of it, or fails with -EFAULT like an unmapped page. */
static int space_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    const struct space *s = ctx;
    if (len == 0)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct space_region *r = &s->r[i];
        if (addr < r->addr || addr - r->addr > r->size - 1 || len > r->size - (addr - r->addr))
            continue;
        uint64_t off = addr - r->addr;
        size_t given = 0;
        if (off < r->nbytes) {
            given = r->nbytes - off < len ? (size_t)(r->nbytes - off) : len;
            memcpy(buf, r->bytes + off, given);
        }
        memset((uint8_t *)buf + given, 0, len - given);
        return 0;
    }
    return -EFAULT;
}

/* The given bytes of [addr, addr + len), all in one region, or NULL. */
static uint8_t *space_bytes(struct space *s, uint64_t addr, size_t len)
{
    for (size_t i = 0; i < s->n; i++) {
        struct space_region *r = &s->r[i];
        if (addr >= r->addr && addr - r->addr <= r->nbytes && len <= r->nbytes - (addr - r->addr))
            return r->bytes + (addr - r->addr);
    }
    return NULL;
}

/* FUZZ_F_SEAL: makes the newest records of the ring whole, as a writer
 * would leave them, whatever the fuzzer did to their payload. */
static void space_seal(struct space *s, uint64_t control_addr)
{
    struct trt_control c;
    struct trt_ring h;
    if (space_read(s, control_addr, &c, sizeof(c)) < 0 || c.ring_addr == 0 ||
        space_read(s, c.ring_addr, &h, sizeof(h)) < 0 || h.capacity == 0 ||
        (h.capacity & (h.capacity - 1)) != 0 || h.capacity > (1ull << 40))
        return;
    uint64_t n = h.head - h.gen_start;
    if (n > 256)
        n = 256;
    if (n > h.capacity)
        n = h.capacity;
    for (uint64_t pos = h.head - n; pos != h.head; pos++) {
        uint64_t addr = c.ring_addr + sizeof(struct trt_ring) +
                        (pos & (h.capacity - 1)) * sizeof(struct trt_record);
        uint8_t *p = space_bytes(s, addr, sizeof(struct trt_record));
        if (!p)
            continue;
        struct trt_record r;
        memcpy(&r, p, sizeof(r));
        r.stamp = pos + 1;
        r.check = trt_record_check(&r);
        memcpy(p, &r, sizeof(r));
    }
}

/* ---------------------------------------------------------------- names */

/* Functions with the names the tool trims stacks by.  Each body differs,
 * so none is folded into another; a record's small PCs become their
 * return addresses (FUZZ_PC_NAMED). */
#if defined(__clang__)
#define FUZZ_NOINLINE __attribute__((noinline, used))
#else
#define FUZZ_NOINLINE __attribute__((noinline, noclone, used))
#endif

static volatile int fuzz_sink;
#define FUZZ_FN(name, k)                 \
    FUZZ_NOINLINE static void name(void) \
    {                                    \
        fuzz_sink = k;                   \
        fuzz_sink += k;                  \
    }
FUZZ_FN(trt__capture, 1)
FUZZ_FN(trt__tracer_clone, 2)
FUZZ_FN(trt__tracer_wake_by_ref, 3)
FUZZ_FN(trt_waker_clone, 4)
FUZZ_FN(fuzz_leaf_read, 5)
FUZZ_FN(fuzz_leaf_sleep, 6)
FUZZ_FN(fuzz_task_main, 7)
FUZZ_FN(trt_future_poll, 8)
FUZZ_FN(trt__traced_poll, 9)
FUZZ_FN(trt__traced_poll_tracing, 10)
FUZZ_FN(fuzz_exec_run, 11)

/* Each function with the name protocol.h gives it, when it has one: a
 * rename there fails the fuzz target's start instead of leaving it to
 * fuzz stacks the tool no longer recognizes. */
static const struct {
    void (*fn)(void);
    const char *c_name;
    const char *contract;
} fuzz_fns[FUZZ_NFUNCS] = {
    [FUZZ_FN_CAPTURE] = {trt__capture, "trt__capture", TRT_FN_CAPTURE},
    [FUZZ_FN_TRACER_CLONE] = {trt__tracer_clone, "trt__tracer_clone", TRT_FN_TRACER_CLONE},
    [FUZZ_FN_TRACER_WAKE] = {trt__tracer_wake_by_ref, "trt__tracer_wake_by_ref",
                             TRT_FN_TRACER_WAKE_BY_REF},
    [FUZZ_FN_WAKER_CLONE] = {trt_waker_clone, "trt_waker_clone", NULL},
    [FUZZ_FN_LEAF_READ] = {fuzz_leaf_read, "fuzz_leaf_read", NULL},
    [FUZZ_FN_LEAF_SLEEP] = {fuzz_leaf_sleep, "fuzz_leaf_sleep", NULL},
    [FUZZ_FN_TASK_MAIN] = {fuzz_task_main, "fuzz_task_main", NULL},
    [FUZZ_FN_FUTURE_POLL] = {trt_future_poll, "trt_future_poll", NULL},
    [FUZZ_FN_TRACED_POLL] = {trt__traced_poll, "trt__traced_poll", TRT_FN_TRACED_POLL},
    [FUZZ_FN_TRACED_TRACING] = {trt__traced_poll_tracing, "trt__traced_poll_tracing",
                                TRT_FN_TRACED_POLL_TRACING},
    [FUZZ_FN_EXEC_RUN] = {fuzz_exec_run, "fuzz_exec_run", NULL},
};

static const char *const fuzz_abi_helpers[] = {TRT_FN_ABI_HELPERS};

static bool fuzz_is_abi_helper(const char *name)
{
    for (size_t i = 0; i < sizeof(fuzz_abi_helpers) / sizeof(fuzz_abi_helpers[0]); i++)
        if (strcmp(name, fuzz_abi_helpers[i]) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- target */

static Dwfl *fuzz_dwfl;
static FILE *fuzz_out;

int fuzz_init(bool print)
{
    for (int i = 0; i < FUZZ_NFUNCS; i++) {
        const char *want = fuzz_fns[i].contract;
        if (want && strcmp(want, fuzz_fns[i].c_name) != 0) {
            fprintf(stderr, "fuzz: protocol.h names %s, the fuzz target %s: rename it\n", want,
                    fuzz_fns[i].c_name);
            return -1;
        }
        if (strncmp(fuzz_fns[i].c_name, "trt_", 4) == 0 &&
            strncmp(fuzz_fns[i].c_name, TRT_FN_INTERNAL_PREFIX, strlen(TRT_FN_INTERNAL_PREFIX)) &&
            !fuzz_is_abi_helper(fuzz_fns[i].c_name)) {
            fprintf(stderr, "fuzz: %s is no longer in TRT_FN_ABI_HELPERS\n", fuzz_fns[i].c_name);
            return -1;
        }
    }
    /* This process's own modules: the named functions above symbolize,
     * every other PC degrades to a frame with an address only. */
    int err = 0;
    fuzz_dwfl = lookup_dwfl_open_pid(getpid(), &err);
    if (!fuzz_dwfl) {
        fprintf(stderr, "fuzz: cannot report this process's modules: %s\n", strerror(-err));
        return -1;
    }
    fuzz_out = print ? stdout : fopen("/dev/null", "w");
    if (!fuzz_out) {
        perror("fuzz: /dev/null");
        return -1;
    }
    return 0;
}

static bool fuzz_select(void *arg, const struct trt_task_slot *s)
{
    return (s->id & 1) != 0;
}

/* Turns the small PCs of the records into return addresses of fuzz_fns. */
static void fuzz_name_pcs(struct records_result *ring)
{
    for (size_t i = 0; i < ring->n; i++) {
        struct records_rec *r = &ring->recs[i];
        for (uint32_t k = 0; k < r->npc && k < TRT_RECORD_MAX_PCS; k++)
            if (r->pc[k] < FUZZ_PC_NAMED)
                r->pc[k] = (uint64_t)(uintptr_t)fuzz_fns[r->pc[k] % FUZZ_NFUNCS].fn + 1;
    }
}

int fuzz_one(const uint8_t *data, size_t size)
{
    struct fuzz_head head;
    struct space space;
    struct trt_control ctl;
    struct rtread_registry reg = {0};
    struct records_result ring = {0};
    struct tt_dump d = {0};
    lookup_ctx *sym = NULL;
    char why[256];
    int rc = -1;
    uint8_t *copy = NULL;

    if (size < sizeof(head))
        return -1;
    memcpy(&head, data, sizeof(head));
    /* A copy, which FUZZ_F_SEAL may change. */
    copy = malloc(size);
    if (!copy)
        return -1;
    memcpy(copy, data, size);
    space_decode(&space, copy + sizeof(head), size - sizeof(head));
    if (head.flags & FUZZ_F_SEAL)
        space_seal(&space, head.control_addr);

    if (rtread_control_read(space_read, &space, head.control_addr, &ctl, why, sizeof(why)) < 0)
        goto out;
    /* As the tool does after its wait: the generation the runtime last
     * started, complete if the runtime says it is done. */
    uint32_t gen = ctl.active;
    bool started = !(head.flags & FUZZ_F_NOT_STARTED);
    bool complete = (int32_t)(ctl.done - gen) >= 0;
    if (ctl.registry_addr != 0 &&
        rtread_registry_read(space_read, &space, ctl.registry_addr, &reg, why, sizeof(why)) < 0)
        goto out;
    /* A ring that cannot be read ends the tool's run; the dump is still
     * built here, from the registry alone, to reach dump_build with it. */
    if (started && ctl.ring_addr != 0 &&
        records_collect(space_read, &space, ctl.ring_addr, gen, &ring) < 0)
        memset(&ring, 0, sizeof(ring));
    fuzz_name_pcs(&ring);

    bool raw = head.flags & FUZZ_F_RAW;
    sym = lookup_new(fuzz_dwfl);
    if (!sym)
        goto out;
    struct dump_in in = {
        .gen = gen,
        .started = started,
        .complete = complete,
        .raw = raw,
        .fork_ns = ctl.fork_ns,
        .now_ns = head.flags & FUZZ_F_NO_CLOCK ? UINT64_MAX : FUZZ_NOW_NS,
        .all_tasks = head.flags & FUZZ_F_ALL_TASKS,
        .select = head.flags & FUZZ_F_SELECT ? fuzz_select : NULL,
    };
    if (dump_build(&d, sym, reg.slots, reg.n, &ring, &in) == 0) {
        d.passive = head.flags & FUZZ_F_PASSIVE;
        struct render_opts ro = {
            .raw = raw,
            .no_source = head.flags & FUZZ_F_NO_SOURCE,
            .color = head.flags & FUZZ_F_COLOR,
        };
        render_text(fuzz_out, &d, &ro);
        render_json(fuzz_out, &d, &ro);
        rc = 0;
    }
out:
    dump_free(&d);
    lookup_free(sym);
    records_free(&ring);
    rtread_registry_free(&reg);
    free(copy);
    return rc;
}
