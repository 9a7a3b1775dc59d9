/* Turning what snap.c read (registry slots and ring records) into the
 * model of one dump (model.h): tasks with symbolized, root-first stacks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "tree.h"

static int slot_cmp(const void *a, const void *b)
{
    const struct trt_task_slot *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static bool same_pcs(const struct trt_record *a, const struct trt_record *b)
{
    return a->npc == b->npc && memcmp(a->pc, b->pc, a->npc * sizeof(a->pc[0])) == 0;
}

/* Symbolizes one record, root first.  Unless `raw`, the PCs are looked up
 * from the leaf outward only as far as the task wrapper: the executor's
 * frames above it would be trimmed anyway, and skipping them spares loading
 * the debug information of libc and the executor.  Returns the number of
 * frames in *out (malloc'd), or -ENOMEM. */
static long record_frames(sym_ctx *sym, const struct trt_record *r, bool raw,
                          const struct sym_frame ***out)
{
    const struct sym_frame *const *per_pc[TRT_RECORD_MAX_PCS];
    size_t nper[TRT_RECORD_MAX_PCS];
    uint32_t used = 0;
    size_t total = 0;
    for (uint32_t k = 0; k < r->npc; k++) {
        if (sym_lookup(sym, r->pc[k], true, &per_pc[used], &nper[used]) < 0)
            continue;
        total += nper[used];
        bool wrapper = false;
        for (size_t j = 0; j < nper[used]; j++)
            wrapper = wrapper || tree_frame_is_wrapper(per_pc[used][j]);
        used++;
        if (wrapper && !raw)
            break;
    }
    const struct sym_frame **frames = malloc((total ? total : 1) * sizeof(*frames));
    if (!frames)
        return -ENOMEM;
    size_t len = 0;
    for (uint32_t k = used; k-- > 0;)
        for (size_t j = 0; j < nper[k]; j++)
            frames[len++] = per_pc[k][j];
    *out = frames;
    return (long)len;
}

/* Orders records by task, then by position, so each task's records are one
 * run in capture order. */
static int record_cmp(const void *a, const void *b)
{
    const struct trt_record *x = a, *y = b;
    if (x->task_id != y->task_id)
        return x->task_id < y->task_id ? -1 : 1;
    return x->stamp < y->stamp ? -1 : x->stamp > y->stamp;
}

/* Turns one task's run of records (sorted, all of this task) into
 * root-first symbolized stacks. */
static int task_add_stacks(struct tt_task *task, sym_ctx *sym, const struct trt_record *recs,
                           size_t n, bool raw)
{
    if (n == 0)
        return 0;
    task->stacks = calloc(n, sizeof(*task->stacks));
    if (!task->stacks)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        /* A leaf that clones twice in one poll records the same stack. */
        bool dup = false;
        for (size_t k = 0; k < i && !dup; k++)
            dup = same_pcs(&recs[k], &recs[i]);
        if (dup)
            continue;
        const struct sym_frame **frames;
        long len = record_frames(sym, &recs[i], raw, &frames);
        if (len < 0)
            return (int)len;
        struct tt_stack *st = &task->stacks[task->nstacks++];
        st->frames = frames;
        st->n = (size_t)len;
        st->truncated = (recs[i].flags & TRT_RECORD_F_TRUNCATED) != 0;
    }
    return 0;
}

void dump_free(struct tt_dump *d)
{
    for (size_t i = 0; i < d->ntasks; i++) {
        for (size_t k = 0; k < d->tasks[i].nstacks; k++)
            free(d->tasks[i].stacks[k].frames);
        free(d->tasks[i].stacks);
    }
    free(d->tasks);
}

static uint64_t coarse_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int dump_build(struct tt_dump *d, sym_ctx *sym, struct trt_task_slot *slots, size_t nslots,
               struct ringread_result *ring, uint32_t gen, bool started, bool complete, bool raw,
               dump_select_fn select, void *arg)
{
    if (nslots)
        qsort(slots, nslots, sizeof(*slots), slot_cmp);
    if (ring->n)
        qsort(ring->recs, ring->n, sizeof(*ring->recs), record_cmp);
    d->tasks = calloc(nslots ? nslots : 1, sizeof(*d->tasks));
    if (!d->tasks)
        return -ENOMEM;
    d->generation = gen;
    d->records_lost = ring->lost;
    d->complete = complete && ring->lost == 0;
    /* The runtime stamps polls with the coarse clock: compare like with like. */
    uint64_t now = coarse_now_ns();
    size_t rec = 0;
    for (size_t i = 0; i < nslots; i++) {
        const struct trt_task_slot *s = &slots[i];
        bool reported = gen != 0 && s->traced_gen == gen;
        /* A doorbell that never started the generation marked nothing:
         * then every task still waiting owes it. */
        bool owing = gen != 0 && (s->pending_gen == gen ||
                                  (!started && s->state != TRT_TASK_DONE));
        /* Tasks created during the dump, or finished and not yet freed,
         * were not part of it. */
        if (gen != 0 && !reported && !owing)
            continue;
        if (select && !select(arg, s))
            continue;
        struct tt_task *task = &d->tasks[d->ntasks++];
        task->id = s->id;
        snprintf(task->name, sizeof(task->name), "%s", s->name);
        task->state = s->state;
        task->polls = s->polls;
        task->idle_ns = s->poll_end_ns == 0 ? -1
                        : now > s->poll_end_ns ? (int64_t)(now - s->poll_end_ns)
                                               : 0;
        task->tid = s->state == TRT_TASK_POLLING ? s->tid : 0;
        task->reported = reported || gen == 0;
        task->suspect = reported && (s->flags & TRT_TASK_F_SUSPECT);
        /* Both lists are sorted by task id: walk them together. */
        while (rec < ring->n && ring->recs[rec].task_id < s->id)
            rec++;
        size_t run = 0;
        while (rec + run < ring->n && ring->recs[rec + run].task_id == s->id)
            run++;
        int err = task_add_stacks(task, sym, ring->recs + rec, run, raw);
        if (err < 0)
            return err;
    }
    return 0;
}
