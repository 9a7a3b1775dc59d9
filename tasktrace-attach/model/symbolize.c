/* --symbolize: a saved dump read back and symbolized offline.  See
 * symbolize.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tasktrace/protocol.h>

#include "model/dump.h"
#include "util/jsonread.h"
#include "util/escape.h"
#include "target/safefile.h"
#include "model/symbolize.h"
#include "symbols/findfile.h"
#include "symbols/findsaved.h"

/* One module the dump's frames name. */
struct symbolize_mod {
    const char *path;     /* the dump's string, copied into the symz */
    const char *build_id; /* the dump's hex string (copied), or NULL */
    uint64_t base;        /* load bias: pc - offset */
    bool loaded;          /* reported to the Dwfl, build id checked */
    char why[96];         /* why not, when not */
};

/* The state of one load. */
struct symbolize_load {
    struct symbolize *z;
    struct tt_dump *d;
    struct symbolize_mod mods[SYMZ_MAX_MODULES];
    size_t nmods;
    size_t last;     /* the module found last, tried first */
    size_t nunknown; /* modules past SYMZ_MAX_MODULES */
    bool oom;        /* a module's strings could not be copied */
    bool stopped;    /* a callback of jsonread_parse_each failed: why says why */
    dump_select_fn select;
    void *select_arg;
    size_t tasks_cap;
    char *why;
    size_t whylen;
};

static int symbolize_fail(struct symbolize_load *l, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int symbolize_fail(struct symbolize_load *l, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->why, l->whylen, fmt, ap);
    va_end(ap);
    return err;
}

/* A copy of S owned by the symz, or NULL for NULL (or out of memory,
 * which *ERR then says). */
static const char *symbolize_strdup(struct symbolize *z, const char *s, int *err)
{
    if (s == NULL)
        return NULL;
    if (z->nstrs == z->strs_cap) {
        size_t cap = z->strs_cap ? 2 * z->strs_cap : 64;
        char **grown = realloc(z->strs, cap * sizeof(*grown));
        if (grown == NULL) {
            *err = -ENOMEM;
            return NULL;
        }
        z->strs = grown;
        z->strs_cap = cap;
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    z->strs[z->nstrs++] = copy;
    return copy;
}

/* An address: a "0x..." string (as the tool writes it) or a plain
 * integer.  Returns 0 or -EINVAL. */
static int symbolize_addr(const struct jsonread_value *v, uint64_t *out)
{
    const char *s = jsonread_str(v);
    if (s == NULL)
        return jsonread_u64(v, out);
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s[2] == '\0' || strlen(s) > 18)
        return -EINVAL;
    uint64_t x = 0;
    for (const char *p = s + 2; *p != '\0'; p++) {
        int d = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                         : -1;
        if (d < 0)
            return -EINVAL;
        x = x << 4 | (uint64_t)d;
    }
    *out = x;
    return 0;
}

static bool symbolize_streq(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static struct symbolize_mod *symbolize_mod_find(struct symbolize_load *l, const char *path,
                                                const char *build_id)
{
    if (path == NULL)
        return NULL;
    if (l->last < l->nmods && strcmp(l->mods[l->last].path, path) == 0 &&
        symbolize_streq(l->mods[l->last].build_id, build_id))
        return &l->mods[l->last];
    for (size_t i = 0; i < l->nmods; i++) {
        if (strcmp(l->mods[i].path, path) == 0 && symbolize_streq(l->mods[i].build_id, build_id)) {
            l->last = i;
            return &l->mods[i];
        }
    }
    return NULL;
}

/* Notes the module of one frame (or of one entry of "modules"). */
static void symbolize_mod_note(struct symbolize_load *l, const char *path, const char *build_id,
                               bool has_base, uint64_t base)
{
    if (path == NULL || !has_base || symbolize_mod_find(l, path, build_id) != NULL)
        return;
    if (l->nmods == SYMZ_MAX_MODULES) {
        l->nunknown++;
        return;
    }
    /* The document's strings go with the task that holds them. */
    int err = 0;
    const char *p = symbolize_strdup(l->z, path, &err),
               *id = symbolize_strdup(l->z, build_id, &err);
    if (err != 0) {
        l->oom = true;
        return;
    }
    l->mods[l->nmods++] = (struct symbolize_mod){.path = p, .build_id = id, .base = base};
}

/* Notes the module of the frame F (may be NULL). */
static void symbolize_note_frame(struct symbolize_load *l, const struct jsonread_value *f)
{
    uint64_t pc = 0, off = 0;
    bool ok = symbolize_addr(jsonread_get(f, "pc"), &pc) == 0 &&
              symbolize_addr(jsonread_get(f, "offset"), &off) == 0;
    symbolize_mod_note(l, jsonread_str(jsonread_get(f, "module")),
                       jsonread_str(jsonread_get(f, "build_id")), ok, pc - off);
}

static void symbolize_note_stack(struct symbolize_load *l, const struct jsonread_value *st)
{
    for (size_t i = 0; st != NULL && st->type == JSONREAD_ARRAY && i < st->n; i++)
        symbolize_note_frame(l, &st->items[i]);
}

/* A module's file, found by findfile's saved-dump source and reported;
 * M->why says why not. */
static void symbolize_mod_report(struct symbolize_load *l, const struct safefile_cred *cred,
                                 struct symbolize_mod *m)
{
    m->loaded = findfile_report_saved(l->z->dwfl, cred, m->path, m->build_id, m->base, m->why,
                                      sizeof(m->why)) == 0;
}

/* A zeroed frame owned by Z, with EXTRA bytes after it; NULL with *ERR
 * -ENOMEM. */
static struct frame *symbolize_frame_new(struct symbolize *z, size_t extra, int *err)
{
    if (z->nframes == z->frames_cap) {
        size_t cap = z->frames_cap ? 2 * z->frames_cap : 64;
        struct frame **grown = realloc(z->frames, cap * sizeof(*grown));
        if (grown == NULL) {
            *err = -ENOMEM;
            return NULL;
        }
        z->frames = grown;
        z->frames_cap = cap;
    }
    struct frame *f = calloc(1, sizeof(*f) + extra);
    if (f == NULL) {
        *err = -ENOMEM;
        return NULL;
    }
    z->frames[z->nframes++] = f;
    return f;
}

/* A frame as the file gives it, copied. */
static const struct frame *symbolize_frame_copy(struct symbolize_load *l,
                                                const struct jsonread_value *v, int *err)
{
    struct symbolize *z = l->z;
    struct frame *f = symbolize_frame_new(z, 0, err);
    if (f == NULL)
        return NULL;
    int64_t line = 0, column = 0;
    uint64_t pc = 0, off = 0;
    f->function = symbolize_strdup(z, jsonread_str(jsonread_get(v, "function")), err);
    f->file = symbolize_strdup(z, jsonread_str(jsonread_get(v, "file")), err);
    f->module = symbolize_strdup(z, jsonread_str(jsonread_get(v, "module")), err);
    f->build_id = symbolize_strdup(z, jsonread_str(jsonread_get(v, "build_id")), err);
    if (jsonread_i64(jsonread_get(v, "line"), &line) == 0 && line > 0 && line <= INT32_MAX)
        f->line = (int)line;
    if (jsonread_i64(jsonread_get(v, "column"), &column) == 0 && column > 0 && column <= INT32_MAX)
        f->column = (int)column;
    f->inlined = jsonread_true(jsonread_get(v, "inlined"));
    f->tail_call = jsonread_true(jsonread_get(v, "tail_call"));
    symbolize_addr(jsonread_get(v, "pc"), &pc);
    f->pc = pc;
    if (f->module != NULL && symbolize_addr(jsonread_get(v, "offset"), &off) == 0) {
        f->module_off = off;
        f->module_base = pc - off;
    } else {
        /* A bare address merges only with the same address. */
        f->module_off = pc;
    }
    return f;
}

/* One stack: frames of one address (the first and the inlined ones after
 * it with the same pc) are symbolized again when their module was found,
 * else kept.  LIVE: a live stack, whose last address is where the thread
 * was, not a return address.  Returns 0 or -errno. */
static int symbolize_stack(struct symbolize_load *l, const struct jsonread_value *v, bool live,
                           struct tt_stack *out)
{
    size_t cap = 0;
    int err = 0;
    *out = (struct tt_stack){0};
    if (v == NULL || v->type != JSONREAD_ARRAY)
        return symbolize_fail(l, -EINVAL, "a stack is not an array");
    if (v->n > SYMZ_MAX_FRAMES)
        return symbolize_fail(l, -E2BIG, "a stack has more than %u frames", SYMZ_MAX_FRAMES);
    for (size_t i = 0; i < v->n;) {
        const struct jsonread_value *f = &v->items[i];
        if (f->type != JSONREAD_OBJECT)
            return symbolize_fail(l, -EINVAL, "a frame is not an object");
        uint64_t pc = 0, off = 0, pc2;
        bool has_pc = symbolize_addr(jsonread_get(f, "pc"), &pc) == 0;
        bool has_off = symbolize_addr(jsonread_get(f, "offset"), &off) == 0;
        size_t j = i + 1;
        while (has_pc && j < v->n && jsonread_true(jsonread_get(&v->items[j], "inlined")) &&
               symbolize_addr(jsonread_get(&v->items[j], "pc"), &pc2) == 0 && pc2 == pc)
            j++;
        struct symbolize_mod *m = symbolize_mod_find(l, jsonread_str(jsonread_get(f, "module")),
                                                     jsonread_str(jsonread_get(f, "build_id")));
        const struct frame *const *got = NULL;
        size_t ngot = 0;
        const struct frame *copies[1];
        bool ra = !(live && j == v->n);
        /* A frame a tail call removed, put back by the live tool: its pc
         * is a function's entry, not an address inside a call, and its
         * line the function's declaration: kept as the file says. */
        if (jsonread_true(jsonread_get(f, "tail_call")) || m == NULL || !m->loaded || !has_off ||
            lookup_pc(l->z->sym, m->base + off, ra, &got, &ngot) != 0) {
            /* Kept as the file says, one frame at a time. */
            if ((copies[0] = symbolize_frame_copy(l, f, &err)) == NULL || err != 0)
                return symbolize_fail(l, err ? err : -ENOMEM, "out of memory");
            got = copies;
            ngot = 1;
            j = i + 1;
        }
        if (out->n + ngot > cap) {
            size_t ncap = cap ? 2 * cap : 16;
            while (ncap < out->n + ngot)
                ncap *= 2;
            const struct frame **grown = realloc(out->frames, ncap * sizeof(*grown));
            if (grown == NULL)
                return symbolize_fail(l, -ENOMEM, "out of memory");
            out->frames = grown;
            cap = ncap;
        }
        for (size_t k = 0; k < ngot; k++)
            out->frames[out->n++] = got[k];
        i = j;
    }
    return 0;
}

/* Where a task was created, the frame V (a return address, as the live
 * tool looks it up): symbolized again when its module was found, the
 * innermost frame not a spawn function's, else kept as the file says.
 * Returns 0 or -errno. */
static int symbolize_spawned_at(struct symbolize_load *l, const struct jsonread_value *v,
                                const struct frame **out)
{
    uint64_t off = 0;
    int err = 0;
    const struct frame *const *got = NULL;
    size_t ngot = 0;
    struct symbolize_mod *m = symbolize_mod_find(l, jsonread_str(jsonread_get(v, "module")),
                                                 jsonread_str(jsonread_get(v, "build_id")));
    if (m != NULL && m->loaded && symbolize_addr(jsonread_get(v, "offset"), &off) == 0 &&
        lookup_pc(l->z->sym, m->base + off, true, &got, &ngot) == 0 && ngot > 0) {
        while (ngot > 1 && dump_spawn_glue(got[ngot - 1]))
            ngot--;
        *out = got[ngot - 1];
        return 0;
    }
    if ((*out = symbolize_frame_copy(l, v, &err)) == NULL || err != 0)
        return symbolize_fail(l, err ? err : -ENOMEM, "out of memory");
    return 0;
}

/* The frame a tail call removed, from a raw dump's chain entry V (a future's
 * poll function: module, offset): symbolized at the function's entry and
 * made a tail_call frame, owned by the symbolizer like copied frames.
 * NULL when its module was not found or it has no function name (then
 * there is nothing to place), or out of memory (*err). */
static const struct frame *symbolize_tail_call(struct symbolize_load *l,
                                               const struct jsonread_value *v, int *err)
{
    struct symbolize *z = l->z;
    uint64_t off = 0;
    const struct frame *const *got = NULL;
    size_t ngot = 0;
    if (v == NULL || v->type != JSONREAD_OBJECT)
        return NULL;
    struct symbolize_mod *m = symbolize_mod_find(l, jsonread_str(jsonread_get(v, "module")),
                                                 jsonread_str(jsonread_get(v, "build_id")));
    if (m == NULL || !m->loaded || symbolize_addr(jsonread_get(v, "offset"), &off) != 0 ||
        lookup_pc(z->sym, m->base + off, false, &got, &ngot) != 0 || ngot == 0 ||
        got[0]->function == NULL)
        return NULL;
    /* The frame and its name in one block, freed as one. */
    struct frame *f = symbolize_frame_new(z, strlen(got[0]->function) + 1, err);
    if (f == NULL)
        return NULL;
    dump_tail_call_frame(got[0], f, (char *)(f + 1));
    return f;
}

/* Puts back into stack ST the futures of CHAIN (a raw dump's chain of one
 * stack, outermost first) that tail calls left without a frame, as the
 * live tool does.  Returns 0 or -errno. */
static int symbolize_chain(struct symbolize_load *l, const struct jsonread_value *chain,
                           struct tt_stack *st)
{
    const struct frame *frames[TRT_RECORD_CHAIN_MAX];
    size_t n = 0;
    int err = 0;
    if (chain == NULL || chain->type != JSONREAD_ARRAY || chain->n == 0)
        return 0;
    for (size_t k = 0; k < chain->n && k < TRT_RECORD_CHAIN_MAX; k++) {
        frames[n++] = symbolize_tail_call(l, &chain->items[k], &err);
        if (err != 0)
            return symbolize_fail(l, err, "out of memory");
    }
    const struct frame **grown = realloc(st->frames, (st->n + n + 1) * sizeof(*grown));
    if (grown == NULL)
        return symbolize_fail(l, -ENOMEM, "out of memory");
    st->frames = grown;
    st->n = dump_chain_insert(st->frames, st->n, frames, n);
    return 0;
}

static uint32_t symbolize_state(const char *s)
{
    if (s == NULL)
        return 0xff;
    if (strcmp(s, "idle") == 0)
        return TRT_TASK_IDLE;
    if (strcmp(s, "polling") == 0)
        return TRT_TASK_POLLING;
    if (strcmp(s, "done") == 0)
        return TRT_TASK_DONE;
    if (strcmp(s, "free") == 0)
        return TRT_TASK_FREE;
    return 0xff; /* "unknown" */
}

static int64_t symbolize_i64_or(const struct jsonread_value *v, int64_t dflt)
{
    int64_t x;
    return jsonread_i64(v, &x) == 0 ? x : dflt;
}

static int symbolize_task(struct symbolize_load *l, const struct jsonread_value *v,
                          struct tt_task *t)
{
    uint64_t u;
    int err;
    if (v->type != JSONREAD_OBJECT || jsonread_u64(jsonread_get(v, "id"), &t->id) != 0)
        return symbolize_fail(l, -EINVAL, "a task without an id");
    jsonread_copy_str(v, "name", t->name, sizeof(t->name));
    t->state = symbolize_state(jsonread_str(jsonread_get(v, "state")));
    t->polls = jsonread_u64(jsonread_get(v, "polls"), &u) == 0 ? u : 0;
    t->idle_ns = symbolize_i64_or(jsonread_get(v, "idle_ns"), -1);
    int64_t tid = symbolize_i64_or(jsonread_get(v, "tid"), 0);
    t->tid = tid > 0 && tid <= INT32_MAX ? (int32_t)tid : 0;
    t->reported = jsonread_true(jsonread_get(v, "reported"));
    t->suspect = jsonread_true(jsonread_get(v, "suspect"));
    t->inherited = jsonread_true(jsonread_get(v, "inherited"));
    t->poll_ns = symbolize_i64_or(jsonread_get(v, "poll_ns"), -1);
    jsonread_copy_str(v, "thread_name", t->thread_name, sizeof(t->thread_name));
    char error[128];
    jsonread_copy_str(v, "thread_stack_error", error, sizeof(error));
    if (error[0])
        dump_task_error(t, "%s", error);
    const struct jsonread_value *stacks = jsonread_get(v, "stacks");
    if (stacks != NULL && stacks->type == JSONREAD_ARRAY && stacks->n > 0) {
        if (stacks->n > SYMZ_MAX_FRAMES)
            return symbolize_fail(l, -E2BIG, "a task has more than %u stacks", SYMZ_MAX_FRAMES);
        if ((t->stacks = calloc(stacks->n, sizeof(*t->stacks))) == NULL)
            return symbolize_fail(l, -ENOMEM, "out of memory");
        /* Counted first: dump_free frees what a failed stack holds. */
        t->nstacks = stacks->n;
        /* A raw dump's chains, parallel to its stacks. */
        const struct jsonread_value *chains = jsonread_get(v, "chains");
        if (chains != NULL && (chains->type != JSONREAD_ARRAY || chains->n != stacks->n))
            chains = NULL;
        for (size_t s = 0; s < stacks->n; s++) {
            if ((err = symbolize_stack(l, &stacks->items[s], false, &t->stacks[s])) != 0)
                return err;
            if (chains != NULL && (err = symbolize_chain(l, &chains->items[s], &t->stacks[s])) != 0)
                return err;
        }
    }
    /* How many captures each stack stands for: kept when the file gives
     * one count per stack, else each reads as 1. */
    const struct jsonread_value *counts = jsonread_get(v, "stack_counts");
    if (counts != NULL && counts->type == JSONREAD_ARRAY && counts->n == t->nstacks &&
        t->nstacks > 0) {
        if ((t->stack_counts = calloc(t->nstacks, sizeof(*t->stack_counts))) == NULL)
            return symbolize_fail(l, -ENOMEM, "out of memory");
        for (size_t s = 0; s < t->nstacks; s++)
            t->stack_counts[s] =
                jsonread_u64(&counts->items[s], &u) == 0 && u > 0 && u <= UINT32_MAX ? (size_t)u
                                                                                     : 1;
    }
    const struct jsonread_value *spawned = jsonread_get(v, "spawned_at");
    if (spawned != NULL && spawned->type == JSONREAD_OBJECT &&
        (err = symbolize_spawned_at(l, spawned, &t->spawned_at)) != 0)
        return err;
    const struct jsonread_value *live = jsonread_get(v, "thread_stack");
    if (live != NULL && live->type == JSONREAD_ARRAY) {
        if ((err = symbolize_stack(l, live, true, &t->thread_stack)) != 0)
            return err;
        t->has_thread_stack = true;
    }
    /* The file says only that something of the task was cut: the first
     * stack carries it, else the live one. */
    if (jsonread_true(jsonread_get(v, "truncated"))) {
        if (t->nstacks > 0)
            t->stacks[0].truncated = true;
        else
            t->thread_stack.truncated = true;
    }
    return 0;
}

static int symbolize_thread(struct symbolize_load *l, const struct jsonread_value *v,
                            struct tt_thread *th)
{
    int64_t tid = symbolize_i64_or(jsonread_get(v, "tid"), 0);
    uint64_t task;
    th->tid = tid > 0 && tid <= INT32_MAX ? (int32_t)tid : 0;
    jsonread_copy_str(v, "name", th->name, sizeof(th->name));
    const char *state = jsonread_str(jsonread_get(v, "state"));
    th->state = state != NULL && state[0] != '\0' && state[1] == '\0' ? state[0] : 0;
    jsonread_copy_str(v, "wchan", th->wchan, sizeof(th->wchan));
    th->task = jsonread_u64(jsonread_get(v, "task"), &task) == 0 ? task : 0;
    jsonread_copy_str(v, "error", th->error, sizeof(th->error));
    const struct jsonread_value *st = jsonread_get(v, "stack");
    if (st != NULL && st->type == JSONREAD_ARRAY) {
        int err = symbolize_stack(l, st, true, &th->stack);
        if (err != 0)
            return err;
        th->has_stack = true;
        th->stack.truncated = jsonread_true(jsonread_get(v, "truncated"));
    }
    return 0;
}

/* The modules that could not be used, as one problem of the dump. */
static void symbolize_note_missing(struct symbolize_load *l)
{
    size_t missing = l->nunknown, used = 0;
    char list[300] = "";
    for (size_t i = 0; i < l->nmods; i++) {
        struct symbolize_mod *m = &l->mods[i];
        if (m->loaded)
            continue;
        missing++;
        char esc[160];
        esc_term(esc, sizeof(esc), m->path, strlen(m->path), false);
        int w =
            snprintf(list + used, sizeof(list) - used, "%s%s (%s)", used ? ", " : "", esc, m->why);
        if (w < 0 || (size_t)w >= sizeof(list) - used) {
            list[used] = '\0';
            snprintf(list + used, sizeof(list) - used, "%s...", used ? ", " : "");
            break;
        }
        used += (size_t)w;
    }
    if (missing > 0)
        dump_problem(l->d, "modules_missing",
                     "%zu module%s of the dump could not be used, %s frames keep what the dump "
                     "says: %s",
                     missing, missing == 1 ? "" : "s", missing == 1 ? "its" : "their", list);
}

/* jsonread_each_fn of the first pass: notes the modules of one task's frames. */
static int symbolize_note_task(void *arg, const struct jsonread_value *v)
{
    struct symbolize_load *l = arg;
    const struct jsonread_value *stacks = jsonread_get(v, "stacks");
    for (size_t s = 0; stacks != NULL && stacks->type == JSONREAD_ARRAY && s < stacks->n; s++)
        symbolize_note_stack(l, &stacks->items[s]);
    const struct jsonread_value *chains = jsonread_get(v, "chains");
    for (size_t s = 0; chains != NULL && chains->type == JSONREAD_ARRAY && s < chains->n; s++)
        symbolize_note_stack(l, &chains->items[s]);
    symbolize_note_stack(l, jsonread_get(v, "thread_stack"));
    symbolize_note_frame(l, jsonread_get(v, "spawned_at"));
    return 0;
}

/* jsonread_each_fn of the second pass: one task read into the dump, symbolized,
 * and dropped again when the selection does not want it. */
static int symbolize_read_task(void *arg, const struct jsonread_value *v)
{
    struct symbolize_load *l = arg;
    struct tt_dump *d = l->d;
    int err;
    l->stopped = true; /* until it returns 0 */
    if (d->ntasks == SYMZ_MAX_TASKS)
        return symbolize_fail(l, -E2BIG, "more than %u tasks", SYMZ_MAX_TASKS);
    if (d->ntasks == l->tasks_cap) {
        size_t cap = l->tasks_cap ? 2 * l->tasks_cap : 64;
        struct tt_task *grown = realloc(d->tasks, cap * sizeof(*grown));
        if (grown == NULL)
            return symbolize_fail(l, -ENOMEM, "out of memory");
        d->tasks = grown;
        l->tasks_cap = cap;
    }
    struct tt_task *t = &d->tasks[d->ntasks];
    *t = (struct tt_task){0};
    d->ntasks++;
    if ((err = symbolize_task(l, v, t)) != 0)
        return err;
    if (l->select != NULL) {
        struct trt_task_slot slot = {.id = t->id};
        size_t nl = strnlen(t->name, sizeof(slot.name) - 1);
        memcpy(slot.name, t->name, nl);
        slot.name[nl] = '\0';
        if (!l->select(l->select_arg, &slot)) {
            /* Not selected: freed as dump_free would. */
            for (size_t s = 0; s < t->nstacks; s++)
                free(t->stacks[s].frames);
            free(t->stacks);
            free(t->stack_counts);
            free(t->thread_stack.frames);
            d->ntasks--;
        }
    }
    l->stopped = false;
    return 0;
}

/* One pass over the LEN bytes at TEXT, the tasks handed to FN one at a
 * time, the rest into *DOC.  Returns 0 or -errno with l->why set. */
static int symbolize_pass(struct symbolize_load *l, const char *text, size_t len,
                          jsonread_each_fn fn, struct jsonread_doc *doc)
{
    char inner[160];
    int err = jsonread_parse_each(text, len, "tasks", fn, l, doc, inner, sizeof(inner));
    if (err != 0 && !l->stopped)
        symbolize_fail(l, err, "%s", inner);
    return err;
}

/* Notes the modules the document ROOT lists and those of its threads'
 * stacks, after the tasks' (symbolize_note_task).  Returns 0 or -ENOMEM
 * with l->why set. */
static int symbolize_note_modules(struct symbolize_load *l, const struct jsonread_value *root)
{
    const struct jsonread_value *mods = jsonread_get(root, "modules");
    for (size_t i = 0; mods != NULL && mods->type == JSONREAD_ARRAY && i < mods->n; i++) {
        uint64_t base = 0;
        const struct jsonread_value *m = &mods->items[i];
        bool ok = symbolize_addr(jsonread_get(m, "base"), &base) == 0;
        symbolize_mod_note(l, jsonread_str(jsonread_get(m, "path")),
                           jsonread_str(jsonread_get(m, "build_id")), ok, base);
    }
    const struct jsonread_value *threads = jsonread_get(root, "threads");
    for (size_t i = 0; threads != NULL && threads->type == JSONREAD_ARRAY && i < threads->n; i++)
        symbolize_note_stack(l, jsonread_get(&threads->items[i], "stack"));
    return l->oom ? symbolize_fail(l, -ENOMEM, "out of memory") : 0;
}

/* Reports every module noted, before the first lookup, with the tool's
 * own credentials.  Returns 0 or -errno with l->why set. */
static int symbolize_report(struct symbolize_load *l)
{
    struct safefile_cred cred;
    int err = safefile_cred_read(getpid(), &cred);
    if (err != 0)
        return symbolize_fail(l, err, "cannot read this process's credentials: %s", strerror(-err));
    dwfl_report_begin(l->z->dwfl);
    for (size_t i = 0; i < l->nmods; i++)
        symbolize_mod_report(l, &cred, &l->mods[i]);
    if (dwfl_report_end(l->z->dwfl, NULL, NULL) != 0)
        return symbolize_fail(l, -EIO, "libdwfl: %s", dwfl_errmsg(-1));
    return 0;
}

/* The dump's own fields of the document ROOT, into D. */
static void symbolize_read_header(struct tt_dump *d, const struct jsonread_value *root)
{
    uint64_t u;
    int64_t pid = symbolize_i64_or(jsonread_get(root, "pid"), 0);
    d->pid = pid > 0 && pid <= INT32_MAX ? (int)pid : 0;
    d->generation = jsonread_u64(jsonread_get(root, "generation"), &u) == 0 && u <= UINT32_MAX
                        ? (uint32_t)u
                        : 0;
    d->records_lost = jsonread_u64(jsonread_get(root, "records_lost"), &u) == 0 ? u : 0;
    d->records_torn = jsonread_u64(jsonread_get(root, "records_torn"), &u) == 0 ? u : 0;
    d->passive = jsonread_true(jsonread_get(root, "passive"));
}

/* The threads of the document ROOT, when it lists them.  Returns 0 or
 * -errno with l->why set. */
static int symbolize_read_threads(struct symbolize_load *l, const struct jsonread_value *root)
{
    struct tt_dump *d = l->d;
    const struct jsonread_value *threads = jsonread_get(root, "threads");
    if (threads == NULL || threads->type != JSONREAD_ARRAY)
        return 0;
    if (threads->n > SYMZ_MAX_THREADS)
        return symbolize_fail(l, -E2BIG, "more than %u threads", SYMZ_MAX_THREADS);
    d->threads_listed = true;
    if (threads->n > 0 && (d->threads = calloc(threads->n, sizeof(*d->threads))) == NULL)
        return symbolize_fail(l, -ENOMEM, "out of memory");
    for (size_t i = 0; i < threads->n; i++) {
        d->nthreads++;
        int err = symbolize_thread(l, &threads->items[i], &d->threads[i]);
        if (err != 0)
            return err;
    }
    return 0;
}

/* The dump in the LEN bytes at TEXT, read twice a task at a time (the
 * tree of a dump of many tasks would cost many times the document): the
 * modules its frames name first, every one reported before the first
 * lookup; then the tasks, threads and problems. */
static int symbolize_build(struct symbolize_load *l, const char *text, size_t len)
{
    struct tt_dump *d = l->d;
    struct jsonread_doc doc = {0};
    int err = symbolize_pass(l, text, len, symbolize_note_task, &doc);
    if (err != 0)
        goto out;
    const struct jsonread_value *root = &doc.root, *tasks = jsonread_get(root, "tasks");
    if (root->type != JSONREAD_OBJECT || tasks == NULL || tasks->type != JSONREAD_ARRAY) {
        err = symbolize_fail(l, -EINVAL, "not a tasktrace-attach dump: no \"tasks\" array");
        goto out;
    }
    if ((err = symbolize_note_modules(l, root)) != 0 || (err = symbolize_report(l)) != 0)
        goto out;

    jsonread_free(&doc);
    if ((err = symbolize_pass(l, text, len, symbolize_read_task, &doc)) != 0)
        goto out;
    root = &doc.root;
    symbolize_read_header(d, root);
    if ((err = symbolize_read_threads(l, root)) != 0)
        goto out;
    const struct jsonread_value *problems = jsonread_get(root, "problems");
    for (size_t i = 0; problems != NULL && problems->type == JSONREAD_ARRAY && i < problems->n;
         i++) {
        char message[sizeof(d->problems[0].message)];
        jsonread_copy_str(&problems->items[i], "message", message, sizeof(message));
        /* The cause is copied only for a problem kept. */
        struct tt_problem *p = dump_problem(d, "unknown", "%s", message);
        const char *cause = jsonread_str(jsonread_get(&problems->items[i], "cause"));
        if (p != NULL && cause != NULL &&
            (p->cause = symbolize_strdup(l->z, cause, &err)) == NULL) {
            err = symbolize_fail(l, -ENOMEM, "out of memory");
            goto out;
        }
    }
    symbolize_note_missing(l);
    d->complete = d->nproblems == 0;
out:
    jsonread_free(&doc);
    return err;
}

int symbolize_load(const char *path, struct tt_dump *d, struct symbolize *z, bool short_names,
                   dump_select_fn select, void *arg, char *why, size_t whylen)
{
    struct symbolize_load *l = calloc(1, sizeof(*l));
    char *text = NULL;
    size_t len = 0;
    int err = 0;
    if (l == NULL) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    *l = (struct symbolize_load){
        .z = z, .d = d, .select = select, .select_arg = arg, .why = why, .whylen = whylen};
    /* Checked as --compare checks its files (jsonread_read_path): a FIFO or a
     * device is refused before a byte is read, a file past the bound
     * unread.  Stdin is what the user piped: read up to the bound. */
    err = strcmp(path, "-") == 0
              ? jsonread_read_fd(STDIN_FILENO, NULL, NULL, &text, &len, why, whylen)
              : jsonread_read_path(path, &text, &len, why, whylen);
    if (err != 0)
        goto out;
    if ((z->dwfl = findfile_dwfl_begin()) == NULL || (z->sym = lookup_new(z->dwfl)) == NULL) {
        err = symbolize_fail(l, -ENOMEM, "out of memory");
        goto out;
    }
    lookup_set_short_names(z->sym, short_names);
    err = symbolize_build(l, text, len);
out:
    free(text);
    free(l);
    return err;
}

void symbolize_end(struct symbolize *z)
{
    if (z == NULL)
        return;
    lookup_free(z->sym);
    if (z->dwfl != NULL)
        dwfl_end(z->dwfl);
    findsaved_end();
    for (size_t i = 0; i < z->nstrs; i++)
        free(z->strs[i]);
    free(z->strs);
    for (size_t i = 0; i < z->nframes; i++)
        free(z->frames[i]);
    free(z->frames);
    *z = (struct symbolize){0};
}
