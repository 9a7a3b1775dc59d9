/* The text view: a header line per task, then its await tree drawn with
 * box characters, like
 *   ╼ foo_poll at /src/taskdump.c:41:12
 *     └╼ trt_join_poll at /src/combine.c:30:17
 *        ├╼ fiz_poll at /src/taskdump.c:60:5
 *        └╼ buz_poll at /src/taskdump.c:66:5
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "model/group.h"
#include "util/duration.h"
#include "util/escape.h"
#include "views/render.h"
#include "model/tree.h"
#include "model/trim.h"

/* SGR sequences; written only when colour is on. */
#define TEXT_BOLD "1"
#define TEXT_DIM "2"
#define TEXT_RED "31"
#define TEXT_YELLOW "33"

/* Longest tree prefix: one 5-byte "│  " per level, plus the connector. */
#define TEXT_PREFIX_MAX (TREE_MAX_DEPTH * 5 + 16)

struct text_out {
    struct render__out out;
    const struct render_opts *opts;
    char prefix[TEXT_PREFIX_MAX];
    size_t prefix_len;
    bool passive; /* the dump polled nothing: no task owed a report */
    bool core;    /* a core file's dump: thread stacks are the core's */
};

static void text_sgr(struct text_out *o, const char *code)
{
    if (o->opts->color)
        render__out_printf(&o->out, "\033[%sm", code);
}

static void text_reset(struct text_out *o)
{
    if (o->opts->color)
        render__out_puts(&o->out, "\033[0m");
}

/* Target bytes in the view go through the one terminal escaper. */
static void text_escaped(struct text_out *o, const char *s, size_t len, bool quote)
{
    struct esc_sink k = render__out_sink(&o->out);
    esc_term_write(&k, s, len, quote);
}

static void text_escaped_str(struct text_out *o, const char *s)
{
    text_escaped(o, s, strlen(s), false);
}

/* ------------------------------------------------------------ helpers */

const char *render_state_name(uint32_t state)
{
    return trt_task_state_name(state);
}

/* ------------------------------------------------------------ the view */

/* The line under a task's header that says where it was created:
 *   spawned at example.c:42 (main)
 * the function alone without a file, the module and offset without
 * either; nothing when the runtime recorded no place. */
static void text_spawned_at(struct text_out *o, const struct frame *f)
{
    if (f == NULL)
        return;
    render__out_puts(&o->out, "  spawned at ");
    bool where = f->file != NULL && !o->opts->no_source;
    if (where) {
        text_escaped_str(o, f->file);
        if (f->line > 0)
            render__out_printf(&o->out, ":%d", f->line);
    }
    if (f->function != NULL) {
        render__out_puts(&o->out, where ? " (" : "");
        text_escaped_str(o, f->function);
        render__out_puts(&o->out, where ? ")" : "");
    } else if (!where && f->module != NULL) {
        text_escaped_str(o, f->module);
        render__out_printf(&o->out, "+0x%" PRIx64, f->module_off);
    } else if (!where) {
        render__out_printf(&o->out, "0x%" PRIx64, f->pc);
    }
    render__out_puts(&o->out, "\n");
}

static void text_header(struct text_out *o, const struct tt_task *t)
{
    char dur[DURATION_MAX];
    render__out_printf(&o->out, "task %" PRIu64 " \"", t->id);
    text_escaped(o, t->name, strnlen(t->name, sizeof(t->name)), true);
    render__out_printf(&o->out, "\" %s", render_state_name(t->state));
    if (t->state == TRT_TASK_POLLING) {
        /* How long the current poll has lasted, not the last one's end. */
        if (t->poll_ns >= 0)
            render__out_printf(&o->out, " for %s", duration_format(t->poll_ns, dur));
        render__out_printf(&o->out, " on thread %" PRId32, t->tid);
        if (t->thread_name[0]) {
            render__out_puts(&o->out, " \"");
            text_escaped(o, t->thread_name, strnlen(t->thread_name, sizeof(t->thread_name)), true);
            render__out_puts(&o->out, "\"");
        }
        render__out_puts(&o->out, ",");
    } else if (t->idle_ns >= 0)
        render__out_printf(&o->out, " %s since last poll,", duration_format(t->idle_ns, dur));
    else if (t->polls == 0)
        render__out_puts(&o->out, " never polled,");
    else
        render__out_puts(&o->out, ","); /* polled, but when is unknown */
    render__out_printf(&o->out, " %" PRIu64 " %s", t->polls, t->polls == 1 ? "poll" : "polls");
    if (t->suspect) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_YELLOW);
        render__out_puts(&o->out, "[lost wake-up suspect: pending without waker]");
        text_reset(o);
    }
    if (tree_task_truncated(t)) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_YELLOW);
        render__out_printf(&o->out, "[stack cut at the root: deeper than %d frames]",
                           TRT_RECORD_MAX_PCS);
        text_reset(o);
    }
    if (!t->reported && !o->passive) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_RED);
        render__out_puts(&o->out, "[did not report]");
        text_reset(o);
    }
    if (t->inherited) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_YELLOW);
        render__out_puts(&o->out, "[inherited at fork, not polled since]");
        text_reset(o);
    }
    if (t->stacks_lost) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_RED);
        render__out_printf(&o->out, "[stacks lost: %" PRIu32 " of %" PRIu32 " captures read]",
                           t->captures_found, t->captures);
        text_reset(o);
    }
    render__out_puts(&o->out, "\n");
    text_spawned_at(o, t->spawned_at);
}

static const char *text_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

/* Writes frame F; COUNT > 1 (a leaf that many stacks end at) is shown as
 * " ×COUNT". */
static void text_frame_count(struct text_out *o, const struct frame *f, size_t count)
{
    if (f->function != NULL) {
        text_sgr(o, TEXT_BOLD);
        text_escaped_str(o, f->function);
        text_reset(o);
    } else if (f->module != NULL) {
        text_escaped_str(o, text_basename(f->module));
        render__out_printf(&o->out, "+0x%" PRIx64, f->module_off);
    } else {
        render__out_printf(&o->out, "0x%" PRIx64, f->pc);
    }
    if (!o->opts->no_source && f->file != NULL) {
        render__out_puts(&o->out, " at ");
        text_sgr(o, TEXT_DIM);
        text_escaped_str(o, f->file);
        if (f->line > 0) {
            render__out_printf(&o->out, ":%d", f->line);
            if (f->column > 0)
                render__out_printf(&o->out, ":%d", f->column);
        }
        text_reset(o);
    }
    if (f->inlined) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_DIM);
        render__out_puts(&o->out, "[inlined]");
        text_reset(o);
    }
    if (f->tail_call) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_DIM);
        render__out_puts(&o->out, "[tail call]");
        text_reset(o);
    }
    if (count > 1)
        render__out_printf(&o->out, " \u00d7%zu", count);
    render__out_puts(&o->out, "\n");
}

static void text_frame(struct text_out *o, const struct frame *f)
{
    text_frame_count(o, f, 0);
}

/* How many stacks end at NODE when it is a leaf, else 0. */
static size_t text_leaf_count(const struct tree_node *node)
{
    return node->nchildren == 0 ? node->leaves : 0;
}

/* Writes NODE's children, each under o->prefix; the prefix grows by one
 * column group per level and is restored on return.  Depth is bounded by
 * TREE_MAX_DEPTH, so is the recursion. */
static void text_children(struct text_out *o, const struct tree_node *node)
{
    size_t saved = o->prefix_len;
    for (size_t i = 0; i < node->nchildren && o->out.err == 0; i++) {
        bool last = i + 1 == node->nchildren;
        render__out_write(&o->out, o->prefix, saved);
        render__out_puts(&o->out, last ? "└╼ " : "├╼ ");
        text_frame_count(o, node->children[i].frame, text_leaf_count(&node->children[i]));
        const char *more = last ? "   " : "│  ";
        size_t len = strlen(more);
        if (saved + len < sizeof(o->prefix)) {
            memcpy(o->prefix + saved, more, len);
            o->prefix_len = saved + len;
        }
        text_children(o, &node->children[i]);
        o->prefix_len = saved;
    }
}

/* Writes a live thread stack as a chain, root first: trimmed to the task's
 * frames (trim_live_stack) unless raw or not a task's.  Returns 0 or -ENOMEM. */
static int text_live_chain(struct text_out *o, const struct tt_stack *st, bool trim)
{
    const struct frame **buf = malloc((st->n ? st->n : 1) * sizeof(*buf));
    if (buf == NULL)
        return -ENOMEM;
    size_t n = trim_live_stack(st, o->opts->raw || !trim, buf);
    if (n == 0)
        render__out_puts(&o->out, "  (every frame was trimmed)\n");
    if (st->truncated && n > 0)
        render__out_printf(&o->out, "  (cut at the root: deeper than %d frames)\n",
                           UNWIND_MAX_FRAMES);
    o->prefix_len = 0;
    for (size_t i = 0; i < n && o->out.err == 0; i++) {
        render__out_write(&o->out, o->prefix, o->prefix_len);
        render__out_puts(&o->out, i == 0 ? "╼ " : "└╼ ");
        text_frame(o, buf[i]);
        const char *more = i == 0 ? "  " : "   ";
        if (o->prefix_len + strlen(more) < sizeof(o->prefix)) {
            memcpy(o->prefix + o->prefix_len, more, strlen(more));
            o->prefix_len += strlen(more);
        }
    }
    o->prefix_len = 0;
    free(buf);
    return 0;
}

/* The live stack of the thread polling T, or why there is none. */
static int text_task_live(struct text_out *o, const struct tt_task *t)
{
    if (t->state != TRT_TASK_POLLING)
        return 0;
    if (!t->has_thread_stack) {
        if (t->thread_error) {
            render__out_puts(&o->out,
                             o->core ? "  (no stack of thread " : "  (no live stack of thread ");
            render__out_printf(&o->out, "%" PRId32 ": ", t->tid);
            text_escaped(o, t->thread_error, strlen(t->thread_error), false);
            render__out_puts(&o->out, ")\n");
        }
        return 0;
    }
    render__out_puts(&o->out, "  ");
    text_sgr(o, TEXT_YELLOW);
    render__out_printf(&o->out,
                       o->core ? "stack of thread %" PRId32 " in the core"
                               : "live stack of thread %" PRId32,
                       t->tid);
    text_reset(o);
    render__out_puts(&o->out, o->core ? ", inside this poll when the core was written (not a "
                                        "waker capture):\n"
                                      : ", inside this poll now (not a waker capture):\n");
    return text_live_chain(o, &t->thread_stack, true);
}

/* T's await tree and live stack, below its header (or its group's). */
static int text_body(struct text_out *o, const struct tt_task *t)
{
    struct tree tree;
    if (t->nstacks == 0) {
        if (!t->has_thread_stack)
            render__out_puts(&o->out, o->passive && t->state != TRT_TASK_POLLING
                                          ? "  (passive dump: not polled, no stacks)\n"
                                          : "  (no stacks captured)\n");
        return text_task_live(o, t);
    }
    int err = tree_build_counted(t->stacks, t->stack_counts, t->nstacks, o->opts->raw, &tree);
    if (err != 0)
        return err;
    if (tree.nroots == 0)
        render__out_puts(&o->out, "  (every captured frame was trimmed)\n");
    for (size_t i = 0; i < tree.nroots && o->out.err == 0; i++) {
        render__out_puts(&o->out, "╼ ");
        text_frame_count(o, tree.roots[i].frame, text_leaf_count(&tree.roots[i]));
        memcpy(o->prefix, "  ", 2);
        o->prefix_len = 2;
        text_children(o, &tree.roots[i]);
    }
    tree_free(&tree);
    return text_task_live(o, t);
}

static int text_task(struct text_out *o, const struct tt_task *t)
{
    text_header(o, t);
    return text_body(o, t);
}

/* Up to three names of a group's members, `"conn-17", "conn-18", ...`. */
static void text_group_names(struct text_out *o, const struct tt_dump *dump,
                             const struct group_set *gs, const struct group *g)
{
    size_t shown = g->count < 3 ? g->count : 3;
    for (size_t m = 0; m < shown; m++) {
        const struct tt_task *t = &dump->tasks[gs->members[g->first + m]];
        render__out_puts(&o->out, m ? ", \"" : "\"");
        text_escaped(o, t->name, strnlen(t->name, sizeof(t->name)), true);
        render__out_puts(&o->out, "\"");
    }
    if (g->count > shown)
        render__out_puts(&o->out, ", ...");
}

/* A group's header, for groups of more than one task:
 *   1,832 tasks (ids 17-9,402: "conn-17", "conn-18", "conn-19", ...) idle,
 *   longest 4.20s since last poll (17 "conn-17"), 1-3 polls
 * then the flags its tasks share, as a task's header gives them. */
static void text_group_header(struct text_out *o, const struct tt_dump *dump,
                              const struct group_set *gs, const struct group *g)
{
    char n[28], lo[28], hi[28], dur[DURATION_MAX];
    const struct tt_task *first = &dump->tasks[gs->members[g->first]];
    const struct tt_task *last = &dump->tasks[gs->members[g->first + g->count - 1]];
    const struct tt_task *longest = NULL;
    uint64_t pmin = UINT64_MAX, pmax = 0;
    bool polling = first->state == TRT_TASK_POLLING;
    for (size_t m = 0; m < g->count; m++) {
        const struct tt_task *t = &dump->tasks[gs->members[g->first + m]];
        int64_t ns = polling ? t->poll_ns : t->idle_ns;
        if (ns >= 0 && (!longest || ns > (polling ? longest->poll_ns : longest->idle_ns)))
            longest = t;
        pmin = t->polls < pmin ? t->polls : pmin;
        pmax = t->polls > pmax ? t->polls : pmax;
    }
    render__out_printf(&o->out, "%s tasks (ids %s-%s: ", group_count(g->count, n),
                       group_count((size_t)first->id, lo), group_count((size_t)last->id, hi));
    text_group_names(o, dump, gs, g);
    render__out_printf(&o->out, ") %s", render_state_name(first->state));
    if (longest) {
        int64_t ns = polling ? longest->poll_ns : longest->idle_ns;
        render__out_printf(&o->out, ", longest %s %s (%" PRIu64 " \"", duration_format(ns, dur),
                           polling ? "in a poll" : "since last poll", longest->id);
        text_escaped(o, longest->name, strnlen(longest->name, sizeof(longest->name)), true);
        render__out_puts(&o->out, "\")");
    }
    if (pmin == pmax)
        render__out_printf(&o->out, ", %" PRIu64 " %s", pmin, pmin == 1 ? "poll" : "polls");
    else
        render__out_printf(&o->out, ", %" PRIu64 "-%" PRIu64 " polls", pmin, pmax);
    if (first->suspect) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_YELLOW);
        render__out_puts(&o->out, "[lost wake-up suspects: pending without waker]");
        text_reset(o);
    }
    if (tree_task_truncated(first)) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_YELLOW);
        render__out_printf(&o->out, "[stacks cut at the root: deeper than %d frames]",
                           TRT_RECORD_MAX_PCS);
        text_reset(o);
    }
    if (!first->reported && !o->passive) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_RED);
        render__out_puts(&o->out, "[did not report]");
        text_reset(o);
    }
    if (first->inherited) {
        render__out_puts(&o->out, " ");
        text_sgr(o, TEXT_YELLOW);
        render__out_puts(&o->out, "[inherited at fork, not polled since]");
        text_reset(o);
    }
    render__out_puts(&o->out, "\n");
}

/* The tasks, alike ones grouped (group.h): a group of one is a task as
 * without grouping; a larger one gets its header, then its first task's
 * tree (the others' are the same). */
static int text_groups(struct text_out *o, const struct tt_dump *dump)
{
    struct group_set gs;
    int err = group_tasks(dump, o->opts->raw, &gs);
    for (size_t i = 0; err == 0 && i < gs.n && o->out.err == 0; i++) {
        const struct group *g = &gs.groups[i];
        const struct tt_task *t = &dump->tasks[gs.members[g->first]];
        if (i > 0)
            render__out_puts(&o->out, "\n");
        if (g->count == 1) {
            err = text_task(o, t);
            continue;
        }
        text_group_header(o, dump, &gs, g);
        err = text_body(o, t);
    }
    group_free(&gs);
    return err;
}

/* Whether the text view groups: always, never, or past GROUP_AUTO_MIN. */
static bool text_grouping(const struct text_out *o, size_t n)
{
    return o->opts->group == 1 || (o->opts->group == -1 && n >= GROUP_AUTO_MIN);
}

/* --threads: every thread, its state and wait channel, the task it polls,
 * its live stack (raw). */
static int text_threads(struct text_out *o, const struct tt_dump *dump)
{
    /* Alike threads (same state, wait channel and stack) grouped. */
    struct group_set gs = {0};
    bool grouped = text_grouping(o, dump->nthreads);
    if (grouped && group_threads(dump, &gs) < 0)
        return -ENOMEM;
    size_t nitems = grouped ? gs.n : dump->nthreads;
    for (size_t k = 0; k < nitems && o->out.err == 0; k++) {
        size_t i = grouped ? gs.members[gs.groups[k].first] : k;
        const struct tt_thread *th = &dump->threads[i];
        if (grouped && gs.groups[k].count > 1) {
            const struct group *g = &gs.groups[k];
            char n[28];
            render__out_printf(&o->out, "\n%s threads (", group_count(g->count, n));
            for (size_t m = 0; m < g->count && m < 3; m++) {
                const struct tt_thread *mt = &dump->threads[gs.members[g->first + m]];
                render__out_printf(&o->out, "%s%" PRId32 " \"", m ? ", " : "", mt->tid);
                text_escaped(o, mt->name, strnlen(mt->name, sizeof(mt->name)), true);
                render__out_puts(&o->out, "\"");
            }
            render__out_printf(&o->out, "%s)", g->count > 3 ? ", ..." : "");
        } else {
            render__out_printf(&o->out, "\nthread %" PRId32 " \"", th->tid);
            text_escaped(o, th->name, strnlen(th->name, sizeof(th->name)), true);
            render__out_puts(&o->out, "\"");
        }
        render__out_printf(&o->out, " %c", th->state ? th->state : '?');
        if (th->wchan[0]) {
            render__out_puts(&o->out, " in ");
            text_escaped(o, th->wchan, strnlen(th->wchan, sizeof(th->wchan)), false);
        }
        if (th->task)
            render__out_printf(&o->out, ", polling task %" PRIu64, th->task);
        render__out_puts(&o->out, "\n");
        if (!th->has_stack) {
            render__out_puts(&o->out, "  (no live stack: ");
            text_escaped(o, th->error, strnlen(th->error, sizeof(th->error)), false);
            render__out_puts(&o->out, ")\n");
            continue;
        }
        int err = text_live_chain(o, &th->stack, false);
        if (err != 0) {
            group_free(&gs);
            return err;
        }
    }
    group_free(&gs);
    return 0;
}

/* The one-line summary: how many tasks, by state, those that did not
 * report, the suspects, the longest idle task and how long the dump took:
 *   200 tasks: 198 idle, 2 polling (2 did not report); 1 lost wake-up
 *   suspect; longest idle 4.20s (17 "conn-17"); dumped in 12ms */
static void text_summary(struct text_out *o, const struct tt_dump *dump)
{
    static const uint32_t order[] = {TRT_TASK_IDLE, TRT_TASK_POLLING, TRT_TASK_DONE, TRT_TASK_FREE};
    size_t by_state[5] = {0}, missing = 0, suspects = 0;
    const struct tt_task *longest = NULL;
    char n[28], total[28], dur[DURATION_MAX];
    for (size_t i = 0; i < dump->ntasks; i++) {
        const struct tt_task *t = &dump->tasks[i];
        by_state[t->state <= TRT_TASK_DONE ? t->state : 4]++;
        missing += !t->reported;
        suspects += t->suspect;
        if (t->state != TRT_TASK_POLLING && t->idle_ns >= 0 &&
            (!longest || t->idle_ns > longest->idle_ns))
            longest = t;
    }
    if (dump->ntasks_total > dump->ntasks)
        render__out_printf(&o->out, "%s of %s tasks shown", group_count(dump->ntasks, n),
                           group_count(dump->ntasks_total, total));
    else
        render__out_printf(&o->out, "%s %s", group_count(dump->ntasks, n),
                           dump->ntasks == 1 ? "task" : "tasks");
    const char *sep = ": ";
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]) + 1; k++) {
        size_t count = k < 4 ? by_state[order[k]] : by_state[4];
        if (count == 0)
            continue;
        render__out_printf(&o->out, "%s%s %s", sep, group_count(count, n),
                           k < 4 ? render_state_name(order[k]) : "unknown");
        sep = ", ";
    }
    if (dump->passive)
        render__out_puts(&o->out, " (passive: nothing polled)");
    else if (missing)
        render__out_printf(&o->out, " (%s did not report)", group_count(missing, n));
    if (suspects)
        render__out_printf(&o->out, "; %s lost wake-up %s", group_count(suspects, n),
                           suspects == 1 ? "suspect" : "suspects");
    if (longest) {
        render__out_printf(&o->out, "; longest idle %s (%" PRIu64 " \"",
                           duration_format(longest->idle_ns, dur), longest->id);
        text_escaped(o, longest->name, strnlen(longest->name, sizeof(longest->name)), true);
        render__out_puts(&o->out, "\")");
    }
    if (dump->elapsed_ns)
        render__out_printf(&o->out, "; dumped in %s",
                           duration_format((int64_t)dump->elapsed_ns, dur));
    render__out_puts(&o->out, "\n");
}

/* A core's dump begins with the crash, when there is one:
 * `crashed in task 17 "conn-17" (SIGSEGV at parse_header, crash.c:88:13)`,
 * then says what the core is and how old the captured stacks are. */
static void text_core(struct text_out *o, const struct tt_dump *dump)
{
    char dur[DURATION_MAX];
    if (dump->core == NULL)
        return;
    if (dump->has_crash) {
        const struct tt_crash *k = &dump->crash;
        text_sgr(o, TEXT_RED);
        if (k->task) {
            render__out_printf(&o->out, "crashed in task %" PRIu64 " \"", k->task);
            text_escaped(o, k->task_name, strnlen(k->task_name, sizeof(k->task_name)), true);
            render__out_puts(&o->out, "\"");
        } else {
            render__out_printf(&o->out, "crashed in thread %" PRId32 ", outside any task's poll",
                               k->thread);
        }
        text_reset(o);
        if (k->signal)
            render__out_printf(&o->out, " (%s", k->signal);
        else
            render__out_printf(&o->out, " (signal %d", k->signo);
        const struct frame *f = k->frame;
        if (f != NULL && f->function != NULL) {
            render__out_puts(&o->out, " at ");
            text_escaped_str(o, f->function);
        } else if (f != NULL && f->module != NULL) {
            render__out_puts(&o->out, " at ");
            text_escaped_str(o, text_basename(f->module));
            render__out_printf(&o->out, "+0x%" PRIx64, f->module_off);
        }
        if (f != NULL && f->file != NULL && !o->opts->no_source) {
            render__out_puts(&o->out, ", ");
            text_escaped_str(o, text_basename(f->file));
            if (f->line > 0)
                render__out_printf(&o->out, ":%d", f->line);
            if (f->line > 0 && f->column > 0)
                render__out_printf(&o->out, ":%d", f->column);
        }
        if (k->task)
            render__out_printf(&o->out, ", thread %" PRId32, k->thread);
        render__out_puts(&o->out, ")\n");
    }
    render__out_puts(&o->out, "core ");
    text_escaped_str(o, dump->core);
    render__out_printf(&o->out, " of PID %d: ", dump->pid);
    if (dump->stacks_age_ns >= 0)
        render__out_printf(&o->out,
                           "captured stacks of dump %" PRIu32 ", %s older than the "
                           "core; times to the runtime's last event\n",
                           dump->generation, duration_format(dump->stacks_age_ns, dur));
    else
        render__out_puts(&o->out, "no dump's captured stacks in it; times to the runtime's "
                                  "last event\n");
    if (dump->ntasks > 0)
        render__out_puts(&o->out, "\n");
}

int render_text(FILE *f, const struct tt_dump *dump, const struct render_opts *opts)
{
    static const struct render_opts defaults;
    struct text_out o = {.out = {.f = f},
                         .opts = opts != NULL ? opts : &defaults,
                         .passive = dump->passive,
                         .core = dump->core != NULL};
    text_core(&o, dump);
    if (text_grouping(&o, dump->ntasks)) {
        int err = text_groups(&o, dump);
        if (err != 0)
            return err;
    }
    for (size_t i = 0; !text_grouping(&o, dump->ntasks) && i < dump->ntasks && o.out.err == 0;
         i++) {
        if (i > 0)
            render__out_puts(&o.out, "\n");
        int err = text_task(&o, &dump->tasks[i]);
        if (err != 0)
            return err;
    }
    int terr = text_threads(&o, dump);
    if (terr != 0)
        return terr;
    /* The summary, then what is missing, after the trees it is missing
     * from: the last lines of the output. */
    if (dump->ntasks > 0 && (o.opts->summary || dump->nproblems > 0))
        render__out_puts(&o.out, "\n");
    if (o.opts->summary)
        text_summary(&o, dump);
    for (size_t i = 0; i < dump->nproblems && o.out.err == 0; i++) {
        text_sgr(&o, TEXT_RED);
        render__out_puts(&o.out, "incomplete:");
        text_reset(&o);
        render__out_printf(&o.out, " %s\n", dump->problems[i].message);
    }
    errno = 0;
    if (o.out.err == 0 && fflush(f) == EOF)
        render__out_fail(&o.out);
    return o.out.err;
}
