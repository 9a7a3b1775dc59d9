/* The JSON view: one document per dump, keys in a fixed order, for scripts
 * and the integration tests.  Written by hand: the format is small and a
 * JSON library would be one more dependency for the tool. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tasktrace/protocol.h>

#include "model/group.h"
#include "views/render.h"
#include "model/tree.h"
#include "model/trim.h"

/* Writes S[0 .. LEN) as a JSON string through the one JSON escaper
 * (util/escape.h): names, paths and messages all come through here. */
static void json_strn(struct render__out *o, const char *s, size_t len)
{
    struct esc_sink k = render__out_sink(o);
    esc_json_write(&k, s, len);
}

static void json_str(struct render__out *o, const char *s)
{
    if (s == NULL)
        render__out_puts(o, "null");
    else
        json_strn(o, s, strlen(s));
}

static void json_int_or_null(struct render__out *o, int v)
{
    if (v > 0)
        render__out_printf(o, "%d", v);
    else
        render__out_puts(o, "null");
}

static void json_frame(struct render__out *o, const struct frame *f)
{
    render__out_puts(o, "{\"function\":");
    json_str(o, f->function);
    render__out_puts(o, ",\"file\":");
    json_str(o, f->file);
    render__out_puts(o, ",\"line\":");
    json_int_or_null(o, f->line);
    render__out_puts(o, ",\"column\":");
    json_int_or_null(o, f->column);
    render__out_printf(o, ",\"inlined\":%s,\"module\":", f->inlined ? "true" : "false");
    json_str(o, f->module);
    render__out_printf(o, ",\"pc\":\"0x%" PRIx64 "\",\"build_id\":", f->pc);
    json_str(o, f->module != NULL ? f->build_id : NULL);
    if (f->module != NULL)
        render__out_printf(o, ",\"offset\":\"0x%" PRIx64 "\"", f->module_off);
    else
        render__out_puts(o, ",\"offset\":null");
    /* Only on a frame restored from the chain of polled futures. */
    if (f->tail_call)
        render__out_puts(o, ",\"tail_call\":true");
    render__out_puts(o, "}");
}

/* The distinct modules the dump's frames name, in first-seen order, each
 * by one of its frames; a set keyed by path and build id. */
struct json_modules {
    const struct frame **list;
    size_t n, cap;
    size_t *index; /* 1 + position in list, 0 empty; open addressing */
    size_t index_cap;
};

static size_t json_hash(const char *s, size_t h)
{
    for (; s != NULL && *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static bool json_same_module(const struct frame *a, const struct frame *b)
{
    return strcmp(a->module, b->module) == 0 && a->module_base == b->module_base &&
           (a->build_id == b->build_id ||
            (a->build_id != NULL && b->build_id != NULL && strcmp(a->build_id, b->build_id) == 0));
}

static int json_modules_add(struct json_modules *m, const struct frame *f)
{
    if (f == NULL || f->module == NULL)
        return 0;
    if (2 * (m->n + 1) > m->index_cap) {
        size_t cap = m->index_cap ? 2 * m->index_cap : 64;
        size_t *index = calloc(cap, sizeof(*index));
        const struct frame **list = realloc(m->list, cap * sizeof(*list));
        if (index == NULL || list == NULL) {
            free(index);
            if (list != NULL)
                m->list = list;
            return -ENOMEM;
        }
        m->list = list;
        for (size_t i = 0; i < m->n; i++) {
            size_t k = json_hash(list[i]->module, 0xcbf29ce484222325ull) & (cap - 1);
            while (index[k] != 0)
                k = (k + 1) & (cap - 1);
            index[k] = i + 1;
        }
        free(m->index);
        m->index = index;
        m->index_cap = cap;
    }
    size_t k = json_hash(f->module, 0xcbf29ce484222325ull) & (m->index_cap - 1);
    for (; m->index[k] != 0; k = (k + 1) & (m->index_cap - 1))
        if (json_same_module(m->list[m->index[k] - 1], f))
            return 0;
    m->list[m->n++] = f;
    m->index[k] = m->n;
    return 0;
}

static int json_modules_stack(struct json_modules *m, const struct tt_stack *st)
{
    int err = 0;
    for (size_t i = 0; i < st->n && err == 0; i++)
        err = json_modules_add(m, st->frames[i]);
    return err;
}

/* "modules": every module an address of the dump is in (also addresses
 * whose frames the view trims), with its build id and load bias, so that
 * a frame's offset can be looked up in the file elsewhere. */
static int json_modules(struct render__out *o, const struct tt_dump *d)
{
    struct json_modules m = {0};
    /* A frames array shared by many stacks is looked at once. */
    struct render__memo seen = {0};
    int err = 0;
    for (size_t i = 0; i < d->ntasks && err == 0; i++) {
        const struct tt_task *t = &d->tasks[i];
        for (size_t s = 0; s < t->nstacks && err == 0; s++) {
            const struct tt_stack *st = &t->stacks[s];
            if (st->shared && render__memo_find(&seen, st->frames))
                continue;
            err = json_modules_stack(&m, st);
            if (st->shared)
                render__memo_add(&seen, &(struct render__memo_entry){st->frames, NULL, 0, 0});
        }
        if (t->has_thread_stack && err == 0)
            err = json_modules_stack(&m, &t->thread_stack);
    }
    for (size_t i = 0; d->threads_listed && i < d->nthreads && err == 0; i++)
        if (d->threads[i].has_stack)
            err = json_modules_stack(&m, &d->threads[i].stack);
    render__out_puts(o, ",\"modules\":[");
    for (size_t i = 0; i < m.n && err == 0; i++) {
        render__out_puts(o, i > 0 ? ",{\"path\":" : "{\"path\":");
        json_str(o, m.list[i]->module);
        render__out_puts(o, ",\"build_id\":");
        json_str(o, m.list[i]->build_id);
        render__out_printf(o, ",\"base\":\"0x%" PRIx64 "\"}", m.list[i]->module_base);
    }
    render__out_puts(o, "]");
    render__memo_free(&seen);
    free(m.list);
    free(m.index);
    return err;
}

/* A live thread stack as an array of frames, root first, trimmed to the
 * task's frames by trim_live_stack unless RAW.  Returns 0 or -ENOMEM. */
static int json_live_stack(struct render__out *o, const struct tt_stack *st, bool raw)
{
    const struct frame **buf = malloc((st->n ? st->n : 1) * sizeof(*buf));
    if (buf == NULL)
        return -ENOMEM;
    size_t n = trim_live_stack(st, raw, buf);
    render__out_puts(o, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            render__out_puts(o, ",");
        json_frame(o, buf[i]);
    }
    render__out_puts(o, "]");
    free(buf);
    return 0;
}

/* --threads: {"tid","name","state","wchan","task","stack","truncated",
 * "error"}. */
static int json_thread(struct render__out *o, const struct tt_thread *th)
{
    int err = 0;
    render__out_printf(o, "{\"tid\":%" PRId32 ",\"name\":", th->tid);
    if (th->name[0])
        json_strn(o, th->name, strnlen(th->name, sizeof(th->name)));
    else
        render__out_puts(o, "null");
    if (th->state)
        render__out_printf(o, ",\"state\":\"%c\"", th->state);
    else
        render__out_puts(o, ",\"state\":null");
    render__out_puts(o, ",\"wchan\":");
    if (th->wchan[0])
        json_strn(o, th->wchan, strnlen(th->wchan, sizeof(th->wchan)));
    else
        render__out_puts(o, "null");
    if (th->task)
        render__out_printf(o, ",\"task\":%" PRIu64, th->task);
    else
        render__out_puts(o, ",\"task\":null");
    render__out_puts(o, ",\"stack\":");
    if (th->has_stack)
        err = json_live_stack(o, &th->stack, true);
    else
        render__out_puts(o, "null");
    render__out_printf(o, ",\"truncated\":%s",
                       th->has_stack && th->stack.truncated ? "true" : "false");
    render__out_puts(o, ",\"error\":");
    if (!th->has_stack && th->error[0])
        json_strn(o, th->error, strnlen(th->error, sizeof(th->error)));
    else
        render__out_puts(o, "null");
    render__out_puts(o, "}");
    return err;
}

/* One task; GROUP is the index of its group in "groups" (group.h), or
 * -1 to leave "group" out (a group's own "task"). */
/* One stack of a task, trimmed unless RAW, as an array of frames; a
 * shared frames array (every task with the same PCs) is written once into
 * MEMO and copied from there after.  *BUF is the trimming's room.
 * Returns 0 or -ENOMEM. */
static int json_stack(struct render__out *o, const struct tt_stack *st, bool raw,
                      struct render__memo *memo, const struct frame ***buf, size_t *bufcap)
{
    struct render__memo_entry *seen = st->shared ? render__memo_find(memo, st->frames) : NULL;
    if (seen) {
        render__out_write(o, seen->text, seen->len);
        return 0;
    }
    long trimmed = tree_trim_into(st, raw, buf, bufcap);
    if (trimmed < 0)
        return (int)trimmed;
    struct render__memo_entry made = {st->frames, NULL, 0, 0};
    struct render__out mo = {NULL, 0};
    struct render__out *w = o;
    if (st->shared && (mo.f = open_memstream(&made.text, &made.len)) != NULL)
        w = &mo;
    render__out_puts(w, "[");
    for (size_t i = 0; i < (size_t)trimmed; i++) {
        if (i > 0)
            render__out_puts(w, ",");
        json_frame(w, (*buf)[i]);
    }
    render__out_puts(w, "]");
    if (w == &mo) {
        if (fclose(mo.f) != 0 || mo.err != 0) {
            free(made.text);
            return -ENOMEM;
        }
        render__out_write(o, made.text, made.len);
        render__memo_add(memo, &made);
    }
    return 0;
}

static int json_task(struct render__out *o, const struct tt_task *t, bool raw, long group,
                     struct render__memo *memo)
{
    const struct frame **buf = NULL;
    size_t bufcap = 0;
    int err = 0;

    render__out_printf(o, "{\"id\":%" PRIu64 ",\"name\":", t->id);
    json_strn(o, t->name, strnlen(t->name, sizeof(t->name)));
    render__out_printf(o, ",\"state\":\"%s\",\"polls\":%" PRIu64 ",\"idle_ns\":",
                       render_state_name(t->state), t->polls);
    if (t->idle_ns >= 0)
        render__out_printf(o, "%" PRId64, t->idle_ns);
    else
        render__out_puts(o, "null");
    if (t->state == TRT_TASK_POLLING)
        render__out_printf(o, ",\"tid\":%" PRId32, t->tid);
    else
        render__out_puts(o, ",\"tid\":null");
    render__out_printf(o, ",\"reported\":%s,\"suspect\":%s,\"stacks\":[",
                       t->reported ? "true" : "false", t->suspect ? "true" : "false");
    for (size_t s = 0; s < t->nstacks && o->err == 0; s++) {
        if (s > 0)
            render__out_puts(o, ",");
        if ((err = json_stack(o, &t->stacks[s], raw, memo, &buf, &bufcap)) != 0)
            goto out;
    }
    render__out_printf(o, "],\"truncated\":%s,\"inherited\":%s",
                       tree_task_truncated(t) || (t->has_thread_stack && t->thread_stack.truncated)
                           ? "true"
                           : "false",
                       t->inherited ? "true" : "false");
    /* How many like captures each stack stands for, parallel to stacks. */
    render__out_puts(o, ",\"stack_counts\":[");
    for (size_t s = 0; s < t->nstacks; s++)
        render__out_printf(o, "%s%zu", s ? "," : "",
                           t->stack_counts ? t->stack_counts[s] : (size_t)1);
    render__out_printf(o, "],\"stacks_lost\":%s", t->stacks_lost ? "true" : "false");
    render__out_puts(o, ",\"spawned_at\":");
    if (t->spawned_at != NULL)
        json_frame(o, t->spawned_at);
    else
        render__out_puts(o, "null");
    /* The live part (model/livestack.c): only a polling task has one. */
    bool polling = t->state == TRT_TASK_POLLING;
    if (polling && t->poll_ns >= 0)
        render__out_printf(o, ",\"poll_ns\":%" PRId64, t->poll_ns);
    else
        render__out_puts(o, ",\"poll_ns\":null");
    render__out_puts(o, ",\"thread_name\":");
    if (polling && t->thread_name[0])
        json_strn(o, t->thread_name, strnlen(t->thread_name, sizeof(t->thread_name)));
    else
        render__out_puts(o, "null");
    render__out_puts(o, ",\"thread_stack\":");
    if (polling && t->has_thread_stack)
        err = json_live_stack(o, &t->thread_stack, raw);
    else
        render__out_puts(o, "null");
    render__out_puts(o, ",\"thread_stack_error\":");
    if (polling && !t->has_thread_stack && t->thread_error)
        json_strn(o, t->thread_error, strlen(t->thread_error));
    else
        render__out_puts(o, "null");
    if (group >= 0)
        render__out_printf(o, ",\"group\":%ld", group);
    render__out_puts(o, "}");
out:
    free(buf);
    return err;
}

/* --json --group: {"count","ids","names","polls_min","polls_max",
 * "idle_ns_max","longest_idle_id","task"}, "task" being the first member
 * (its stacks and flags are every member's). */
static int json_group(struct render__out *o, const struct tt_dump *dump, const struct group_set *gs,
                      const struct group *g, bool raw, struct render__memo *memo)
{
    const struct tt_task *longest = NULL;
    uint64_t pmin = UINT64_MAX, pmax = 0;
    render__out_printf(o, "{\"count\":%zu,\"ids\":[", g->count);
    for (size_t m = 0; m < g->count && o->err == 0; m++) {
        const struct tt_task *t = &dump->tasks[gs->members[g->first + m]];
        render__out_printf(o, m ? ",%" PRIu64 : "%" PRIu64, t->id);
        if (t->idle_ns >= 0 && (!longest || t->idle_ns > longest->idle_ns))
            longest = t;
        pmin = t->polls < pmin ? t->polls : pmin;
        pmax = t->polls > pmax ? t->polls : pmax;
    }
    render__out_puts(o, "],\"names\":[");
    for (size_t m = 0; m < g->count && m < 3; m++) {
        const struct tt_task *t = &dump->tasks[gs->members[g->first + m]];
        if (m)
            render__out_puts(o, ",");
        json_strn(o, t->name, strnlen(t->name, sizeof(t->name)));
    }
    render__out_printf(o, "],\"polls_min\":%" PRIu64 ",\"polls_max\":%" PRIu64, pmin, pmax);
    if (longest)
        render__out_printf(o, ",\"idle_ns_max\":%" PRId64 ",\"longest_idle_id\":%" PRIu64,
                           longest->idle_ns, longest->id);
    else
        render__out_puts(o, ",\"idle_ns_max\":null,\"longest_idle_id\":null");
    render__out_puts(o, ",\"task\":");
    int err = json_task(o, &dump->tasks[gs->members[g->first]], raw, -1, memo);
    render__out_puts(o, "}");
    return err;
}

/* "taken_at": the dump's wall-clock start, RFC 3339 in UTC with
 * milliseconds ("2026-11-27T09:54:50.123Z"), or null when unknown. */
static void json_taken_at(struct render__out *o, int64_t ms)
{
    struct tm tm;
    time_t sec = (time_t)(ms / 1000);
    char buf[64];
    if (ms <= 0 || gmtime_r(&sec, &tm) == NULL ||
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        render__out_puts(o, ",\"taken_at\":null");
        return;
    }
    render__out_printf(o, ",\"taken_at\":\"%s.%03dZ\"", buf, (int)(ms % 1000));
}

int render_json_error(FILE *f, int pid, const char *code, const char *message, int64_t taken_at_ms)
{
    struct render__out o = {.f = f};
    render__out_puts(&o, "{\"version\":1,\"error\":{\"code\":");
    json_str(&o, code);
    render__out_puts(&o, ",\"message\":");
    json_str(&o, message);
    if (pid > 0)
        render__out_printf(&o, "},\"pid\":%d", pid);
    else
        render__out_puts(&o, "},\"pid\":null");
    json_taken_at(&o, taken_at_ms);
    render__out_puts(&o, "}\n");
    errno = 0;
    if (o.err == 0 && fflush(f) == EOF)
        render__out_fail(&o);
    return o.err;
}

/* "core", "stacks_age_ns" and "crash": null for a live process. */
static void json_core(struct render__out *o, const struct tt_dump *dump)
{
    render__out_puts(o, ",\"core\":");
    json_str(o, dump->core);
    if (dump->core != NULL && dump->stacks_age_ns >= 0)
        render__out_printf(o, ",\"stacks_age_ns\":%" PRId64, dump->stacks_age_ns);
    else
        render__out_puts(o, ",\"stacks_age_ns\":null");
    render__out_puts(o, ",\"crash\":");
    if (dump->core == NULL || !dump->has_crash) {
        render__out_puts(o, "null");
        return;
    }
    const struct tt_crash *k = &dump->crash;
    render__out_printf(o, "{\"signal\":");
    json_str(o, k->signal);
    render__out_printf(o, ",\"signo\":%d,\"code\":%d,\"address\":", k->signo, k->code);
    if (k->has_addr)
        render__out_printf(o, "\"0x%" PRIx64 "\"", k->addr);
    else
        render__out_puts(o, "null");
    render__out_printf(o, ",\"thread\":%" PRId32 ",\"task\":", k->thread);
    if (k->task)
        render__out_printf(o, "%" PRIu64, k->task);
    else
        render__out_puts(o, "null");
    render__out_puts(o, ",\"task_name\":");
    if (k->task)
        json_strn(o, k->task_name, strnlen(k->task_name, sizeof(k->task_name)));
    else
        render__out_puts(o, "null");
    render__out_puts(o, ",\"frame\":");
    if (k->frame != NULL)
        json_frame(o, k->frame);
    else
        render__out_puts(o, "null");
    render__out_puts(o, "}");
}

/* The members of "tasks", comma-separated, each with its "group" (its
 * index in GS) when GS is given.  Returns 0 or json_task's error. */
static int json_tasks(struct render__out *o, const struct tt_dump *dump, bool raw,
                      const struct group_set *gs, struct render__memo *memo)
{
    for (size_t i = 0; i < dump->ntasks && o->err == 0; i++) {
        if (i > 0)
            render__out_puts(o, ",");
        int err = json_task(o, &dump->tasks[i], raw, gs != NULL ? (long)gs->of[i] : -1, memo);
        if (err != 0)
            return err;
    }
    return 0;
}

/* The members of "problems". */
static void json_problems(struct render__out *o, const struct tt_dump *dump)
{
    for (size_t i = 0; i < dump->nproblems && o->err == 0; i++) {
        render__out_puts(o, i > 0 ? ",{\"cause\":" : "{\"cause\":");
        json_str(o, dump->problems[i].cause);
        render__out_puts(o, ",\"message\":");
        json_str(o, dump->problems[i].message);
        render__out_puts(o, "}");
    }
}

/* The value of "threads": the array of the threads listed, or null when
 * they were not.  Returns 0 or json_thread's error. */
static int json_threads(struct render__out *o, const struct tt_dump *dump)
{
    if (!dump->threads_listed) {
        render__out_puts(o, "null");
        return 0;
    }
    render__out_puts(o, "[");
    for (size_t i = 0; i < dump->nthreads && o->err == 0; i++) {
        if (i > 0)
            render__out_puts(o, ",");
        int err = json_thread(o, &dump->threads[i]);
        if (err != 0)
            return err;
    }
    render__out_puts(o, "]");
    return 0;
}

/* The value of "groups" with --json --group: the array of GS's groups.
 * Returns 0 or json_group's error. */
static int json_groups(struct render__out *o, const struct tt_dump *dump,
                       const struct group_set *gs, bool raw, struct render__memo *memo)
{
    render__out_puts(o, "[");
    for (size_t i = 0; i < gs->n && o->err == 0; i++) {
        if (i > 0)
            render__out_puts(o, ",");
        int err = json_group(o, dump, gs, &gs->groups[i], raw, memo);
        if (err != 0)
            return err;
    }
    render__out_puts(o, "]");
    return 0;
}

/* The document from its start through "groups": the tasks (null when
 * GROUPS lists groups instead), problems, threads and, when GS is given
 * (any grouping), "tasks_total" and "groups" (null unless GROUPS).
 * Returns 0 or the first error of a task, thread or group. */
static int json_listing(struct render__out *o, const struct tt_dump *dump, bool raw, bool groups,
                        const struct group_set *gs, struct render__memo *memo)
{
    render__out_printf(o,
                       "{\"version\":1,\"pid\":%d,\"complete\":%s,\"generation\":%" PRIu32
                       ",\"records_lost\":%" PRIu64 ",\"tasks\":%s",
                       dump->pid, dump->complete ? "true" : "false", dump->generation,
                       dump->records_lost, groups ? "null" : "[");
    int err = groups ? 0 : json_tasks(o, dump, raw, gs, memo);
    if (err != 0)
        return err;
    render__out_printf(o, "%s,\"records_torn\":%" PRIu64 ",\"problems\":[", groups ? "" : "]",
                       dump->records_torn);
    json_problems(o, dump);
    render__out_printf(o, "],\"passive\":%s,\"threads\":", dump->passive ? "true" : "false");
    if ((err = json_threads(o, dump)) != 0)
        return err;
    if (dump->taken_at_ms > 0)
        json_taken_at(o, dump->taken_at_ms);
    if (gs == NULL)
        return 0;
    render__out_printf(o, ",\"tasks_total\":%zu,\"groups\":",
                       dump->ntasks_total > dump->ntasks ? dump->ntasks_total : dump->ntasks);
    if (!groups) {
        render__out_puts(o, "null");
        return 0;
    }
    return json_groups(o, dump, gs, raw, memo);
}

int render_json(FILE *f, const struct tt_dump *dump, const struct render_opts *opts)
{
    struct render__out o = {.f = f};
    bool raw = opts != NULL && opts->raw;
    bool groups = opts != NULL && opts->group == 1;
    /* The caller asks for grouping keys by any group setting but 0. */
    bool grouping = opts != NULL && opts->group != 0;
    struct group_set gs = {0};
    /* The text of each shared stack, made once. */
    struct render__memo memo = {.owns = true};
    if (grouping && group_tasks(dump, raw, &gs) < 0)
        return -ENOMEM;
    int err = json_listing(&o, dump, raw, groups, grouping ? &gs : NULL, &memo);
    group_free(&gs);
    render__memo_free(&memo);
    if (err != 0)
        return err;
    json_core(&o, dump);
    if ((err = json_modules(&o, dump)) != 0)
        return err;
    render__out_puts(&o, "}\n");
    errno = 0;
    if (o.err == 0 && fflush(f) == EOF)
        render__out_fail(&o);
    return o.err;
}
