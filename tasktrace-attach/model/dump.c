/* Turning what target/rtread.c and target/records.c read (registry slots
 * and ring records) into the model of one dump (model.h): tasks with
 * symbolized, root-first stacks.  Everything here is linear in the
 * records: identical stacks and known addresses are found by hashing. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/clock.h>

#include "model/dump.h"
#include "util/escape.h"
#include "model/tree.h"

static int slot_cmp(const void *a, const void *b)
{
    const struct trt_task_slot *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Whether the N elements of SIZE bytes at BASE are in CMP's order already:
 * the registry lists tasks, and the ring their records, mostly in the
 * order a sort would give, and a sort of 100,000 slots costs more than
 * this look. */
static bool in_order(const void *base, size_t n, size_t size,
                     int (*cmp)(const void *, const void *))
{
    const char *p = base;
    for (size_t i = 1; i < n; i++)
        if (cmp(p + (i - 1) * size, p + i * size) > 0)
            return false;
    return true;
}

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

/* The addresses met so far: whether each is symbolized, or the frame that
 * stands for it when it is not.  Open addressing, at most half full. */
struct pc_entry {
    uint64_t pc;
    const struct frame *const *raw; /* NULL: ask the symbolizer */
    bool used;
};

struct pc_table {
    struct pc_entry *e;
    size_t cap, n;
};

/* An unsymbolized address's frame, and the one-element array that
 * lookup_pc's callers expect.  The frame comes first: dump_free frees
 * the block through it. */
struct raw_block {
    struct frame f;
    const struct frame *p;
    char name[]; /* a chain frame's function name, when it had to be cut */
};

static struct pc_entry *pc_find(struct pc_table *t, uint64_t pc)
{
    size_t i = mix64(pc) & (t->cap - 1);
    while (t->e[i].used && t->e[i].pc != pc)
        i = (i + 1) & (t->cap - 1);
    return &t->e[i];
}

static int pc_grow(struct pc_table *t)
{
    if (2 * (t->n + 1) <= t->cap)
        return 0;
    struct pc_table g = {calloc(t->cap ? t->cap * 2 : 1024, sizeof(*g.e)),
                         t->cap ? t->cap * 2 : 1024, t->n};
    if (!g.e)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->e[i].used)
            *pc_find(&g, t->e[i].pc) = t->e[i];
    free(t->e);
    *t = g;
    return 0;
}

/* Registers `pc` on first sight: symbolized while there is time and room,
 * else a bare-address frame owned by `d`.  Returns its entry or NULL
 * (out of memory). */
static struct pc_entry *pc_enter(struct tt_dump *d, struct pc_table *t, uint64_t pc,
                                 const struct dump_in *in)
{
    if (pc_grow(t) < 0)
        return NULL;
    struct pc_entry *e = pc_find(t, pc);
    if (e->used)
        return e;
    bool over = t->n >= DUMP_MAX_PCS;
    bool late = !over && in->deadline_ns && trt_clock_ns(CLOCK_MONOTONIC) >= in->deadline_ns;
    if (over || late) {
        if (d->nraw_frames == d->raw_frames_cap) {
            size_t cap = d->raw_frames_cap ? d->raw_frames_cap * 2 : 64;
            struct frame **grown = realloc(d->raw_frames, cap * sizeof(*grown));
            if (!grown)
                return NULL;
            d->raw_frames = grown;
            d->raw_frames_cap = cap;
        }
        struct raw_block *b = calloc(1, sizeof(*b));
        if (!b)
            return NULL;
        /* No module and no function: shown as the bare address, and
         * merged only with the same address (module_off). */
        b->f.pc = pc;
        b->f.module_off = pc;
        b->p = &b->f;
        d->raw_frames[d->nraw_frames++] = &b->f;
        e->raw = &b->p;
        if (over)
            d->pcs_over++;
        else
            d->pcs_late++;
    }
    e->pc = pc;
    e->used = true;
    t->n++;
    return e;
}

/* The length of NAME without a symbol-table offset ("+0x..." at its end). */
static size_t function_name_len(const char *name)
{
    const char *plus = strstr(name, "+0x");
    return plus ? (size_t)(plus - name) : strlen(name);
}

void dump_tail_call_frame(const struct frame *entry, struct frame *out, char *name)
{
    /* The function itself (the outermost frame at its entry), at its
     * declaration: no call site is left. */
    *out = *entry;
    if (entry->decl_line > 0 && (entry->decl_file != NULL || entry->file != NULL)) {
        /* libdw reads no name for DWARF 5's file 0 (clang's main source);
         * the file of the function's entry is that file. */
        out->file = entry->decl_file != NULL ? entry->decl_file : entry->file;
        out->line = entry->decl_line;
        out->column = 0;
    }
    /* A name from the symbol table reads "name+0x0" at the entry: the
     * function's own name is what a tail-call frame stands for. */
    size_t cut = function_name_len(entry->function);
    if (entry->function[cut] != '\0') {
        memcpy(name, entry->function, cut);
        name[cut] = '\0';
        out->function = name;
    }
    out->inlined = false;
    out->tail_call = true;
}

/* The frame of a future's poll function at `fn` (a chain entry), marked
 * tail_call: one per function, owned by `d` like the raw frames, cached in
 * `fns`.  NULL when it has no function name (nothing to match or show),
 * when DUMP_MAX_PCS functions were looked up already or the deadline
 * passed (the chain's values come from the target: their number is bounded
 * like the PCs'), or memory ran out (*err). */
static const struct frame *chain_frame(struct tt_dump *d, struct pc_table *fns, lookup_ctx *sym,
                                       uint64_t fn, const struct dump_in *in, int *err)
{
    if (pc_grow(fns) < 0) {
        *err = -ENOMEM;
        return NULL;
    }
    struct pc_entry *e = pc_find(fns, fn);
    if (e->used)
        return e->raw ? *e->raw : NULL;
    const struct frame *const *f;
    size_t n;
    struct raw_block *b = NULL;
    bool spent = fns->n >= DUMP_MAX_PCS ||
                 (in->deadline_ns && trt_clock_ns(CLOCK_MONOTONIC) >= in->deadline_ns);
    if (!spent && lookup_pc(sym, fn, false, &f, &n) == 0 && n > 0 && f[0]->function) {
        if (d->nraw_frames == d->raw_frames_cap) {
            size_t cap = d->raw_frames_cap ? d->raw_frames_cap * 2 : 64;
            struct frame **grown = realloc(d->raw_frames, cap * sizeof(*grown));
            if (!grown) {
                *err = -ENOMEM;
                return NULL;
            }
            d->raw_frames = grown;
            d->raw_frames_cap = cap;
        }
        if (!(b = calloc(1, sizeof(*b) + strlen(f[0]->function) + 1))) {
            *err = -ENOMEM;
            return NULL;
        }
        dump_tail_call_frame(f[0], &b->f, b->name);
        b->p = &b->f;
        d->raw_frames[d->nraw_frames++] = &b->f;
    }
    e->pc = fn;
    e->used = true;
    e->raw = b ? &b->p : NULL;
    fns->n++;
    return b ? &b->f : NULL;
}

/* Two frames are of one function when their names agree up to a
 * symbol-table offset ("name+0x1f"). */
static bool same_function(const struct frame *a, const struct frame *b)
{
    if (!a->function || !b->function)
        return false;
    size_t la = function_name_len(a->function), lb = function_name_len(b->function);
    return la == lb && memcmp(a->function, b->function, la) == 0;
}

size_t dump_chain_insert(const struct frame **frames, size_t len, const struct frame *const *chain,
                         size_t nchain)
{
    size_t cursor = 0;
    for (size_t j = 0; j < len; j++)
        if (tree_frame_is_wrapper(frames[j]))
            cursor = j + 1;
    const struct frame *missing[TRT_RECORD_CHAIN_MAX];
    size_t nmissing = 0;
    if (nchain > TRT_RECORD_CHAIN_MAX)
        nchain = TRT_RECORD_CHAIN_MAX;
    for (size_t k = 0; k <= nchain; k++) {
        size_t at = len;
        if (k < nchain) {
            const struct frame *cf = chain[k];
            if (!cf)
                continue;
            for (at = cursor; at < len && !same_function(frames[at], cf); at++)
                ;
            if (at == len) {
                missing[nmissing++] = cf;
                continue;
            }
        } else {
            /* The innermost missing ones: before the runtime's frames. */
            for (at = cursor; at < len && !(frames[at]->function &&
                                            strncmp(frames[at]->function, "trt_", 4) == 0);
                 at++)
                ;
        }
        if (nmissing) {
            memmove(frames + at + nmissing, frames + at, (len - at) * sizeof(*frames));
            memcpy(frames + at, missing, nmissing * sizeof(*frames));
            len += nmissing;
            at += nmissing;
            nmissing = 0;
        }
        cursor = at + 1;
    }
    return len;
}

/* dump_chain_insert with R's chain, its frames made by chain_frame. */
static size_t chain_insert(struct tt_dump *d, struct pc_table *fns, lookup_ctx *sym,
                           const struct records_rec *r, const struct dump_in *in,
                           const struct frame **frames, size_t len, int *err)
{
    const struct frame *chain[TRT_RECORD_CHAIN_MAX];
    size_t nchain = r->nchain < TRT_RECORD_CHAIN_MAX ? r->nchain : TRT_RECORD_CHAIN_MAX;
    for (size_t k = 0; k < nchain; k++)
        if (!(chain[k] = chain_frame(d, fns, sym, r->pc[r->npc + k], in, err)) && *err < 0)
            return len;
    return dump_chain_insert(frames, len, chain, nchain);
}

/* Symbolizes one record, root first.  Unless `raw`, the PCs are looked up
 * from the leaf outward only as far as the task wrapper: the executor's
 * frames above it would be trimmed anyway, and skipping them spares loading
 * the debug information of libc and the executor.  Returns the number of
 * frames in *out (malloc'd), or -ENOMEM. */
static long record_frames(struct tt_dump *d, struct pc_table *pcs, struct pc_table *fns,
                          lookup_ctx *sym, const struct records_rec *r, const struct dump_in *in,
                          const struct frame ***out)
{
    const struct frame *const *per_pc[TRT_RECORD_MAX_PCS];
    size_t nper[TRT_RECORD_MAX_PCS];
    uint32_t used = 0;
    size_t total = 0;
    for (uint32_t k = 0; k < r->npc && k < TRT_RECORD_MAX_PCS; k++) {
        struct pc_entry *e = pc_enter(d, pcs, r->pc[k], in);
        if (!e)
            return -ENOMEM;
        if (e->raw) {
            per_pc[used] = e->raw;
            nper[used] = 1;
        } else if (lookup_pc(sym, r->pc[k], true, &per_pc[used], &nper[used]) < 0) {
            continue;
        }
        total += nper[used];
        bool wrapper = false;
        for (size_t j = 0; j < nper[used]; j++)
            wrapper = wrapper || tree_frame_is_wrapper(per_pc[used][j]);
        used++;
        if (wrapper && !in->raw)
            break;
    }
    uint32_t nchain = in->raw ? 0 : r->nchain;
    const struct frame **frames = malloc((total + nchain + 1) * sizeof(*frames));
    if (!frames)
        return -ENOMEM;
    size_t len = 0;
    for (uint32_t k = used; k-- > 0;)
        for (size_t j = 0; j < nper[k]; j++)
            frames[len++] = per_pc[k][j];
    if (nchain) {
        int err = 0;
        len = chain_insert(d, fns, sym, r, in, frames, len, &err);
        if (err < 0) {
            free(frames);
            return err;
        }
    }
    *out = frames;
    return (long)len;
}

/* Orders records by task, then by position, so each task's records are one
 * run in capture order. */
static int record_cmp(const void *a, const void *b)
{
    const struct records_rec *x = a, *y = b;
    if (x->task_id != y->task_id)
        return x->task_id < y->task_id ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static uint64_t record_hash(const struct records_rec *r)
{
    uint64_t h = mix64(r->npc + 1);
    for (uint32_t i = 0; i < r->npc && i < TRT_RECORD_MAX_PCS; i++)
        h = mix64(h ^ r->pc[i]) + i;
    return h;
}

static bool same_pcs(const struct records_rec *a, const struct records_rec *b)
{
    return a->npc == b->npc &&
           (a->pc == b->pc || memcmp(a->pc, b->pc, a->npc * sizeof(a->pc[0])) == 0);
}

/* The symbolized frames of R's list of PCs: computed with record_frames
 * for the first record of that list, then shared (d->list_frames). */
static long list_frames(struct tt_dump *d, struct pc_table *pcs, struct pc_table *fns,
                        lookup_ctx *sym, const struct records_rec *r, const struct dump_in *in,
                        size_t *lens, const struct frame ***out)
{
    if (r->list < d->nlist_frames && d->list_frames[r->list]) {
        *out = d->list_frames[r->list];
        return (long)lens[r->list];
    }
    long len = record_frames(d, pcs, fns, sym, r, in, out);
    if (len >= 0 && r->list < d->nlist_frames) {
        d->list_frames[r->list] = *out;
        lens[r->list] = (size_t)len;
    }
    return len;
}

/* Turns one task's run of records (sorted, all of this task) into
 * root-first symbolized stacks, each distinct list of PCs once with the
 * count of its records: a leaf that clones twice in one poll records the
 * same stack twice, and so do 16 like leaves joined.  The stacks and counts
 * go into the dump's pools at *pool_used; their frames are shared by every
 * task with the same list. */
static int task_add_stacks(struct tt_dump *d, struct pc_table *pcs, struct pc_table *fns,
                           struct tt_task *task, lookup_ctx *sym, const struct records_rec *recs,
                           size_t n, const struct dump_in *in, size_t *lens, size_t *pool_used)
{
    size_t cap = 1, *seen = NULL, *stack_of = NULL;
    int err = 0;
    if (n == 0)
        return 0;
    task->stacks = d->stack_pool + *pool_used;
    task->stack_counts = d->count_pool + *pool_used;
    task->pooled = true;
    if (n > 1) {
        while (cap < 2 * n)
            cap *= 2;
        /* Indices + 1 of the records kept, by hash of their PCs; 0 is
         * empty.  Record seen[h] - 1 became stack stack_of[seen[h] - 1]. */
        seen = calloc(cap, sizeof(*seen));
        stack_of = calloc(n, sizeof(*stack_of));
        if (!seen || !stack_of) {
            err = -ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (n > 1) {
            size_t h = record_hash(&recs[i]) & (cap - 1);
            size_t dup = 0;
            for (; seen[h] != 0 && !dup; h = (h + 1) & (cap - 1))
                if (same_pcs(&recs[seen[h] - 1], &recs[i]))
                    dup = seen[h];
            if (dup) {
                task->stack_counts[stack_of[dup - 1]]++;
                continue;
            }
            seen[h] = i + 1;
            stack_of[i] = task->nstacks;
        }
        const struct frame **frames;
        long len = list_frames(d, pcs, fns, sym, &recs[i], in, lens, &frames);
        if (len < 0) {
            err = (int)len;
            goto out;
        }
        struct tt_stack *st = &task->stacks[task->nstacks++];
        (*pool_used)++;
        st->frames = frames;
        st->n = (size_t)len;
        st->shared = recs[i].list < d->nlist_frames;
        st->truncated = (recs[i].flags & TRT_RECORD_F_TRUNCATED) != 0;
        task->stack_counts[task->nstacks - 1] = 1;
    }
out:
    free(stack_of);
    free(seen);
    return err;
}

/* Names the tasks whose stacks are incomplete (stacks_lost), as a problem
 * of the dump: how many, and the first three by id and name. */
static void dump_note_stacks_lost(struct tt_dump *d)
{
    size_t n = 0, shown = 0;
    /* Three of: id, a name of at most 16 bytes escaped, quotes and "...";
     * short enough that the message always holds it. */
    char list[3 * (24 + 4 * 16 + 7) + 8] = "";
    size_t len = 0;
    for (size_t i = 0; i < d->ntasks; i++) {
        const struct tt_task *t = &d->tasks[i];
        if (!t->stacks_lost)
            continue;
        if (n++ >= 3)
            continue;
        char safe[4 * 16 + 1];
        size_t nl = strnlen(t->name, sizeof(t->name));
        esc_term(safe, sizeof(safe), t->name, nl < 16 ? nl : 16, true);
        int w = snprintf(list + len, sizeof(list) - len, "%s%" PRIu64 " \"%s%s\"",
                         shown ? ", " : "", t->id, safe, nl > 16 ? "..." : "");
        if (w > 0 && (size_t)w < sizeof(list) - len)
            len += (size_t)w;
        shown++;
    }
    if (n > 0)
        dump_problem(d, "stacks_lost",
                     "%zu task%s incomplete stacks (captures lost in the capture ring): %s%s", n,
                     n == 1 ? " has" : "s have", list, n > shown ? ", ..." : "");
}

struct tt_problem *dump_problem(struct tt_dump *d, const char *cause, const char *fmt, ...)
{
    if (d->nproblems == TT_MAX_PROBLEMS) {
        d->problems_dropped++;
        return NULL;
    }
    struct tt_problem *p = &d->problems[d->nproblems++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
    p->cause = cause;
    return p;
}

bool dump_spawn_glue(const struct frame *f)
{
    static const char *const glue[] = {TRT_FN_GLUE_SPAWN_PREFIXES};
    for (size_t i = 0; f->function && i < sizeof(glue) / sizeof(glue[0]); i++)
        if (strncmp(f->function, glue[i], strlen(glue[i])) == 0)
            return true;
    return false;
}

/* Symbolizes where TASK was created: SPAWN_PC is a return address, so
 * the innermost frame of its lookup holds the line of the call, unless
 * that frame is a binding's spawn function inlined into its caller: then
 * the caller's frame (the next one out) holds the call's line. */
static int task_spawned_at(struct tt_dump *d, struct pc_table *pcs, struct tt_task *task,
                           lookup_ctx *sym, uint64_t spawn_pc, const struct dump_in *in)
{
    const struct frame *const *frames;
    size_t n;
    struct pc_entry *e = pc_enter(d, pcs, spawn_pc, in);
    if (!e)
        return -ENOMEM;
    if (e->raw) {
        frames = e->raw;
        n = 1;
    } else if (lookup_pc(sym, spawn_pc, true, &frames, &n) < 0) {
        return -ENOMEM;
    }
    while (n > 1 && dump_spawn_glue(frames[n - 1]))
        n--;
    task->spawned_at = n ? frames[n - 1] : NULL;
    return 0;
}

/* Frees the live stacks livestack_fill (livestack.h) and corethreads_fill (corethreads.h)
 * added: the dump owns them, so that building and filling call only
 * downward (livestack calls dump_task_error, never the other way). */
static void dump_free_threads(struct tt_dump *d)
{
    for (size_t i = 0; i < d->ntasks; i++) {
        free(d->tasks[i].thread_stack.frames);
        d->tasks[i].thread_stack.frames = NULL;
        d->tasks[i].thread_stack.n = 0;
        d->tasks[i].has_thread_stack = false;
    }
    for (size_t i = 0; i < d->nthreads; i++)
        free(d->threads[i].stack.frames);
    free(d->threads);
    d->threads = NULL;
    d->nthreads = 0;
}

void dump_task_error(struct tt_task *t, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char *copy = strdup(buf);
    if (!copy)
        return;
    free(t->thread_error);
    t->thread_error = copy;
}

void dump_free(struct tt_dump *d)
{
    dump_free_threads(d);
    for (size_t i = 0; i < d->ntasks; i++) {
        for (size_t k = 0; k < d->tasks[i].nstacks; k++)
            if (!d->tasks[i].stacks[k].shared)
                free(d->tasks[i].stacks[k].frames);
        free(d->tasks[i].thread_error);
        if (!d->tasks[i].pooled) {
            free(d->tasks[i].stacks);
            free(d->tasks[i].stack_counts);
        }
    }
    free(d->tasks);
    for (size_t i = 0; i < d->nlist_frames; i++)
        free(d->list_frames[i]);
    free(d->list_frames);
    free(d->stack_pool);
    free(d->count_pool);
    d->list_frames = NULL;
    d->nlist_frames = 0;
    d->stack_pool = NULL;
    d->count_pool = NULL;
    for (size_t i = 0; i < d->nraw_frames; i++)
        free(d->raw_frames[i]);
    free(d->raw_frames);
    d->tasks = NULL;
    d->ntasks = 0;
    d->raw_frames = NULL;
    d->nraw_frames = d->raw_frames_cap = 0;
}

/* Whether the task in slot S goes into the dump of in->gen (REPORTED:
 * it reported that generation): unless in->all_tasks, only those that
 * reported it or owe it; and only those in->select picks. */
static bool slot_listed(const struct trt_task_slot *s, const struct dump_in *in, bool reported)
{
    uint32_t gen = in->gen;
    /* A doorbell that never started the generation marked nothing:
     * then every task still waiting owes it. */
    bool owing = gen != 0 && (s->pending_gen == gen || (!in->started && s->state != TRT_TASK_DONE));
    /* Tasks created during the dump, or finished and not yet freed,
     * were not part of it. */
    if (gen != 0 && !reported && !owing && !in->all_tasks)
        return false;
    return !in->select || in->select(in->arg, s);
}

/* Fills TASK with what slot S says of it, its ages measured to NOW
 * (unknown, -1, when in->now_ns is UINT64_MAX); REPORTED: it reported
 * in->gen.  Its stacks and spawned_at are the records' and the
 * symbolizer's. */
static void task_from_slot(struct tt_task *task, const struct trt_task_slot *s,
                           const struct dump_in *in, bool reported, uint64_t now)
{
    bool unknown = in->now_ns == UINT64_MAX;
    task->id = s->id;
    snprintf(task->name, sizeof(task->name), "%.*s", (int)sizeof(s->name), s->name);
    task->state = s->state;
    task->polls = s->polls;
    task->idle_ns = s->poll_end_ns == 0 || unknown ? -1
                    : now > s->poll_end_ns         ? (int64_t)(now - s->poll_end_ns)
                                                   : 0;
    task->tid = s->state == TRT_TASK_POLLING ? s->tid : 0;
    /* Inside its current poll since poll_start_ns (livestack.c refreshes
     * it when it reads the polling thread). */
    task->poll_ns = s->state != TRT_TASK_POLLING || s->poll_start_ns == 0 || unknown ? -1
                    : now > s->poll_start_ns ? (int64_t)(now - s->poll_start_ns)
                                             : 0;
    task->reported = reported || (in->gen == 0 && in->complete);
    task->suspect = reported && (s->flags & TRT_TASK_F_SUSPECT);
    /* Registered before the fork and not polled in this process since:
     * the parent's executor polled it, and no thread of this one does. */
    task->inherited = (s->flags & TRT_TASK_F_INHERITED) && in->fork_ns != 0 &&
                      s->state != TRT_TASK_POLLING && s->poll_end_ns <= in->fork_ns;
}

/* How many records of RING, from *REC on, are task ID's, with *REC moved
 * to the first of them.  The slots and the records are both sorted by
 * task id: dump_build walks them together, *REC only forward. */
static size_t records_of_task(const struct records_result *ring, size_t *rec, uint64_t id)
{
    while (*rec < ring->n && ring->recs[*rec].task_id < id)
        (*rec)++;
    size_t run = 0;
    while (*rec + run < ring->n && ring->recs[*rec + run].task_id == id)
        run++;
    return run;
}

int dump_build(struct tt_dump *d, lookup_ctx *sym, struct trt_task_slot *slots, size_t nslots,
               struct records_result *ring, const struct dump_in *in)
{
    struct pc_table pcs = {NULL, 0, 0};
    /* Chain entries' poll functions and their tail_call frames. */
    struct pc_table fns = {NULL, 0, 0};
    uint32_t gen = in->gen;
    int err = 0;
    if (nslots && !in_order(slots, nslots, sizeof(*slots), slot_cmp))
        qsort(slots, nslots, sizeof(*slots), slot_cmp);
    if (ring->n && !in_order(ring->recs, ring->n, sizeof(*ring->recs), record_cmp))
        qsort(ring->recs, ring->n, sizeof(*ring->recs), record_cmp);
    d->tasks = calloc(nslots ? nslots : 1, sizeof(*d->tasks));
    /* At most one stack per record, and one frames array per list. */
    d->stack_pool = calloc(ring->n ? ring->n : 1, sizeof(*d->stack_pool));
    d->count_pool = calloc(ring->n ? ring->n : 1, sizeof(*d->count_pool));
    d->list_frames = calloc(ring->nlists ? ring->nlists : 1, sizeof(*d->list_frames));
    size_t *lens = calloc(ring->nlists ? ring->nlists : 1, sizeof(*lens));
    size_t pool_used = 0;
    if (!d->tasks || !d->stack_pool || !d->count_pool || !d->list_frames || !lens) {
        free(lens);
        return -ENOMEM;
    }
    d->nlist_frames = ring->nlists;
    d->generation = gen;
    d->records_lost = ring->lost;
    d->records_torn = ring->torn;
    d->complete = in->complete && ring->lost == 0;
    /* The runtime stamps polls with the coarse clock: compare like with like. */
    uint64_t now = in->now_ns ? in->now_ns : trt_clock_ns(CLOCK_MONOTONIC_COARSE);
    size_t rec = 0;
    for (size_t i = 0; i < nslots; i++) {
        const struct trt_task_slot *s = &slots[i];
        bool reported = gen != 0 && s->traced_gen == gen;
        if (!slot_listed(s, in, reported))
            continue;
        struct tt_task *task = &d->tasks[d->ntasks++];
        task_from_slot(task, s, in, reported, now);
        if ((s->flags & TRT_TASK_F_SPAWN_PC) && s->spawn_pc != 0 &&
            (err = task_spawned_at(d, &pcs, task, sym, s->spawn_pc, in)) < 0)
            break;
        size_t run = records_of_task(ring, &rec, s->id);
        /* No offset on a NULL array (no records at all): undefined. */
        const struct records_rec *mine = run ? ring->recs + rec : NULL;
        if ((err = task_add_stacks(d, &pcs, &fns, task, sym, mine, run, in, lens, &pool_used)) < 0)
            break;
        /* The runtime counts the captures of the traced poll that reached
         * the ring; fewer read back were overwritten (or torn). */
        if (reported) {
            task->captures = s->traced_records;
            task->captures_found = run > UINT32_MAX ? UINT32_MAX : (uint32_t)run;
            task->stacks_lost = task->captures_found < task->captures;
        }
    }
    free(pcs.e);
    free(fns.e);
    free(lens);
    if (err == 0)
        dump_note_stacks_lost(d);
    return err;
}
