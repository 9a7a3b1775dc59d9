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

#include "render.h"
#include "tree.h"
#include "unwind.h"

/* SGR sequences; written only when colour is on. */
#define RT_BOLD "1"
#define RT_DIM "2"
#define RT_RED "31"
#define RT_YELLOW "33"

/* Longest tree prefix: one 5-byte "│  " per level, plus the connector. */
#define RT_PREFIX_MAX (TREE_MAX_DEPTH * 5 + 16)

struct rt_out {
    struct render__out out;
    const struct render_opts *opts;
    char prefix[RT_PREFIX_MAX];
    size_t prefix_len;
    bool passive; /* the dump polled nothing: no task owed a report */
};

static void rt_sgr(struct rt_out *o, const char *code)
{
    if (o->opts->color)
        render__out_printf(&o->out, "\033[%sm", code);
}

static void rt_reset(struct rt_out *o)
{
    if (o->opts->color)
        render__out_puts(&o->out, "\033[0m");
}

/* Writes S[0 .. LEN) so that it can't drive a terminal: control bytes,
 * DEL, bytes outside valid UTF-8 and UTF-8-encoded C1 controls (U+0080 ..
 * U+009F, which some terminals obey) become \xNN; with QUOTE, '"' and '\'
 * are backslash-escaped too.  Valid UTF-8 passes through.  The one escaper
 * of target bytes for terminals: the text view and stderr (render_escape). */
static void rt_escaped_out(struct render__out *out, const char *s, size_t len, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len && out->err == 0) {
        size_t run = i;
        /* Pass plain runs through in one write. */
        while (run < len && p[run] >= 0x20 && p[run] < 0x7f &&
               !(quote && (p[run] == '"' || p[run] == '\\')))
            run++;
        render__out_write(out, s + i, run - i);
        i = run;
        if (i == len)
            break;
        unsigned char c = p[i];
        size_t seq = c >= 0x80 ? render__utf8_seq(p + i, len - i) : 0;
        if (seq == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
            render__out_printf(out, "\\x%02x\\x%02x", c, p[i + 1]);
            i += 2;
        } else if (seq > 0) {
            render__out_write(out, s + i, seq);
            i += seq;
        } else if (quote && (c == '"' || c == '\\')) {
            render__out_printf(out, "\\%c", c);
            i++;
        } else {
            render__out_printf(out, "\\x%02x", c);
            i++;
        }
    }
}

static void rt_escaped(struct rt_out *o, const char *s, size_t len, bool quote)
{
    rt_escaped_out(&o->out, s, len, quote);
}

const char *render_escape(char *buf, size_t len, const char *s, size_t n, bool quote)
{
    if (len == 0)
        return buf;
    memset(buf, 0, len);
    /* One byte short of the buffer: the last stays the terminator. */
    FILE *f = len > 1 ? fmemopen(buf, len - 1, "w") : NULL;
    if (f == NULL)
        return buf;
    setvbuf(f, NULL, _IONBF, 0);
    struct render__out out = {.f = f};
    rt_escaped_out(&out, s, n, quote);
    fclose(f);
    buf[len - 1] = '\0';
    return buf;
}

static void rt_escaped_str(struct rt_out *o, const char *s)
{
    rt_escaped(o, s, strlen(s), false);
}

/* ------------------------------------------------------------ helpers */

size_t render__utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of s[1] */
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

const char *render_state_name(uint32_t state)
{
    switch (state) {
    case TRT_TASK_FREE:
        return "free";
    case TRT_TASK_IDLE:
        return "idle";
    case TRT_TASK_POLLING:
        return "polling";
    case TRT_TASK_DONE:
        return "done";
    default:
        return "unknown";
    }
}

const char *render_duration(int64_t ns, char buf[RENDER_DURATION_MAX])
{
    const int64_t us = 1000, ms = 1000 * us, s = 1000 * ms;
    const int64_t min = 60 * s, h = 60 * min, d = 24 * h;
    if (ns < 0)
        snprintf(buf, RENDER_DURATION_MAX, "unknown");
    else if (ns < us)
        snprintf(buf, RENDER_DURATION_MAX, "%" PRId64 "ns", ns);
    else if (ns < ms)
        snprintf(buf, RENDER_DURATION_MAX, "%" PRId64 "us", ns / us);
    else if (ns < s)
        snprintf(buf, RENDER_DURATION_MAX, "%" PRId64 "ms", ns / ms);
    else if (ns < min)
        snprintf(buf, RENDER_DURATION_MAX, "%" PRId64 ".%02" PRId64 "s",
                 ns / s, ns % s / (10 * ms));
    else if (ns < h)
        snprintf(buf, RENDER_DURATION_MAX, "%" PRId64 "m%02" PRId64 "s",
                 ns / min, ns % min / s);
    else if (ns < d)
        snprintf(buf, RENDER_DURATION_MAX, "%" PRId64 "h%02" PRId64 "m",
                 ns / h, ns % h / min);
    else
        snprintf(buf, RENDER_DURATION_MAX, "%" PRId64 "d%02" PRId64 "h",
                 ns / d, ns % d / h);
    return buf;
}

/* ------------------------------------------------------------ the view */

static void rt_header(struct rt_out *o, const struct tt_task *t)
{
    char dur[RENDER_DURATION_MAX];
    render__out_printf(&o->out, "task %" PRIu64 " \"", t->id);
    rt_escaped(o, t->name, strnlen(t->name, sizeof(t->name)), true);
    render__out_printf(&o->out, "\" %s", render_state_name(t->state));
    if (t->state == TRT_TASK_POLLING) {
        /* How long the current poll has lasted, not the last one's end. */
        if (t->poll_ns >= 0)
            render__out_printf(&o->out, " for %s", render_duration(t->poll_ns, dur));
        render__out_printf(&o->out, " on thread %" PRId32, t->tid);
        if (t->thread_name[0]) {
            render__out_puts(&o->out, " \"");
            rt_escaped(o, t->thread_name, strnlen(t->thread_name, sizeof(t->thread_name)), true);
            render__out_puts(&o->out, "\"");
        }
        render__out_puts(&o->out, ",");
    } else if (t->idle_ns >= 0)
        render__out_printf(&o->out, " %s since last poll,",
                  render_duration(t->idle_ns, dur));
    else if (t->polls == 0)
        render__out_puts(&o->out, " never polled,");
    else
        render__out_puts(&o->out, ","); /* polled, but when is unknown */
    render__out_printf(&o->out, " %" PRIu64 " %s", t->polls, t->polls == 1 ? "poll" : "polls");
    if (t->suspect) {
        render__out_puts(&o->out, " ");
        rt_sgr(o, RT_YELLOW);
        render__out_puts(&o->out, "[lost wake-up suspect: pending without waker]");
        rt_reset(o);
    }
    if (tree_task_truncated(t)) {
        render__out_puts(&o->out, " ");
        rt_sgr(o, RT_YELLOW);
        render__out_printf(&o->out, "[stack cut at the root: deeper than %d frames]",
                           TRT_RECORD_MAX_PCS);
        rt_reset(o);
    }
    if (!t->reported && !o->passive) {
        render__out_puts(&o->out, " ");
        rt_sgr(o, RT_RED);
        render__out_puts(&o->out, "[did not report]");
        rt_reset(o);
    }
    if (t->inherited) {
        render__out_puts(&o->out, " ");
        rt_sgr(o, RT_YELLOW);
        render__out_puts(&o->out, "[inherited at fork, not polled since]");
        rt_reset(o);
    }
    render__out_puts(&o->out, "\n");
}

static const char *rt_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

static void rt_frame(struct rt_out *o, const struct sym_frame *f)
{
    if (f->function != NULL) {
        rt_sgr(o, RT_BOLD);
        rt_escaped_str(o, f->function);
        rt_reset(o);
    } else if (f->module != NULL) {
        rt_escaped_str(o, rt_basename(f->module));
        render__out_printf(&o->out, "+0x%" PRIx64, f->module_off);
    } else {
        render__out_printf(&o->out, "0x%" PRIx64, f->pc);
    }
    if (!o->opts->no_source && f->file != NULL) {
        render__out_puts(&o->out, " at ");
        rt_sgr(o, RT_DIM);
        rt_escaped_str(o, f->file);
        if (f->line > 0) {
            render__out_printf(&o->out, ":%d", f->line);
            if (f->column > 0)
                render__out_printf(&o->out, ":%d", f->column);
        }
        rt_reset(o);
    }
    if (f->inlined) {
        render__out_puts(&o->out, " ");
        rt_sgr(o, RT_DIM);
        render__out_puts(&o->out, "[inlined]");
        rt_reset(o);
    }
    render__out_puts(&o->out, "\n");
}

/* Writes NODE's children, each under o->prefix; the prefix grows by one
 * column group per level and is restored on return.  Depth is bounded by
 * TREE_MAX_DEPTH, so is the recursion. */
static void rt_children(struct rt_out *o, const struct tree_node *node)
{
    size_t saved = o->prefix_len;
    for (size_t i = 0; i < node->nchildren && o->out.err == 0; i++) {
        bool last = i + 1 == node->nchildren;
        render__out_write(&o->out, o->prefix, saved);
        render__out_puts(&o->out, last ? "└╼ " : "├╼ ");
        rt_frame(o, node->children[i].frame);
        const char *more = last ? "   " : "│  ";
        size_t len = strlen(more);
        if (saved + len < sizeof(o->prefix)) {
            memcpy(o->prefix + saved, more, len);
            o->prefix_len = saved + len;
        }
        rt_children(o, &node->children[i]);
        o->prefix_len = saved;
    }
}

/* Writes a live thread stack as a chain, root first: trimmed to the task's
 * frames (unwind_trim) unless raw or not a task's.  Returns 0 or -ENOMEM. */
static int rt_live_chain(struct rt_out *o, const struct tt_stack *st, bool trim)
{
    const struct sym_frame **buf = malloc((st->n ? st->n : 1) * sizeof(*buf));
    if (buf == NULL)
        return -ENOMEM;
    size_t n = unwind_trim(st, o->opts->raw || !trim, buf);
    if (n == 0)
        render__out_puts(&o->out, "  (every frame was trimmed)\n");
    if (st->truncated && n > 0)
        render__out_printf(&o->out, "  (cut at the root: deeper than %d frames)\n",
                           UNWIND_MAX_FRAMES);
    o->prefix_len = 0;
    for (size_t i = 0; i < n && o->out.err == 0; i++) {
        render__out_write(&o->out, o->prefix, o->prefix_len);
        render__out_puts(&o->out, i == 0 ? "╼ " : "└╼ ");
        rt_frame(o, buf[i]);
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
static int rt_task_live(struct rt_out *o, const struct tt_task *t)
{
    if (t->state != TRT_TASK_POLLING)
        return 0;
    if (!t->has_thread_stack) {
        if (t->thread_error[0]) {
            render__out_puts(&o->out, "  (no live stack of thread ");
            render__out_printf(&o->out, "%" PRId32 ": ", t->tid);
            rt_escaped(o, t->thread_error, strnlen(t->thread_error, sizeof(t->thread_error)),
                       false);
            render__out_puts(&o->out, ")\n");
        }
        return 0;
    }
    render__out_puts(&o->out, "  ");
    rt_sgr(o, RT_YELLOW);
    render__out_printf(&o->out, "live stack of thread %" PRId32, t->tid);
    rt_reset(o);
    render__out_puts(&o->out, ", inside this poll now (not a waker capture):\n");
    return rt_live_chain(o, &t->thread_stack, true);
}

static int rt_task(struct rt_out *o, const struct tt_task *t)
{
    struct tree tree;
    rt_header(o, t);
    if (t->nstacks == 0) {
        if (!t->has_thread_stack)
            render__out_puts(&o->out, o->passive && t->state != TRT_TASK_POLLING
                                          ? "  (passive dump: not polled, no stacks)\n"
                                          : "  (no stacks captured)\n");
        return rt_task_live(o, t);
    }
    int err = tree_build(t->stacks, t->nstacks, o->opts->raw, &tree);
    if (err != 0)
        return err;
    if (tree.nroots == 0)
        render__out_puts(&o->out, "  (every captured frame was trimmed)\n");
    for (size_t i = 0; i < tree.nroots && o->out.err == 0; i++) {
        render__out_puts(&o->out, "╼ ");
        rt_frame(o, tree.roots[i].frame);
        memcpy(o->prefix, "  ", 2);
        o->prefix_len = 2;
        rt_children(o, &tree.roots[i]);
    }
    tree_free(&tree);
    return rt_task_live(o, t);
}

/* --threads: every thread, its state and wait channel, the task it polls,
 * its live stack (raw). */
static int rt_threads(struct rt_out *o, const struct tt_dump *dump)
{
    for (size_t i = 0; i < dump->nthreads && o->out.err == 0; i++) {
        const struct tt_thread *th = &dump->threads[i];
        render__out_printf(&o->out, "\nthread %" PRId32 " \"", th->tid);
        rt_escaped(o, th->name, strnlen(th->name, sizeof(th->name)), true);
        render__out_printf(&o->out, "\" %c", th->state ? th->state : '?');
        if (th->wchan[0]) {
            render__out_puts(&o->out, " in ");
            rt_escaped(o, th->wchan, strnlen(th->wchan, sizeof(th->wchan)), false);
        }
        if (th->task)
            render__out_printf(&o->out, ", polling task %" PRIu64, th->task);
        render__out_puts(&o->out, "\n");
        if (!th->has_stack) {
            render__out_puts(&o->out, "  (no live stack: ");
            rt_escaped(o, th->error, strnlen(th->error, sizeof(th->error)), false);
            render__out_puts(&o->out, ")\n");
            continue;
        }
        int err = rt_live_chain(o, &th->stack, false);
        if (err != 0)
            return err;
    }
    return 0;
}

int render_text(FILE *f, const struct tt_dump *dump,
                const struct render_opts *opts)
{
    static const struct render_opts defaults;
    struct rt_out o = { .out = { .f = f }, .opts = opts != NULL ? opts : &defaults,
                        .passive = dump->passive };
    for (size_t i = 0; i < dump->ntasks && o.out.err == 0; i++) {
        if (i > 0)
            render__out_puts(&o.out, "\n");
        int err = rt_task(&o, &dump->tasks[i]);
        if (err != 0)
            return err;
    }
    int terr = rt_threads(&o, dump);
    if (terr != 0)
        return terr;
    /* What is missing, after the trees it is missing from. */
    for (size_t i = 0; i < dump->nproblems && o.out.err == 0; i++) {
        if (i == 0 && dump->ntasks > 0)
            render__out_puts(&o.out, "\n");
        rt_sgr(&o, RT_RED);
        render__out_puts(&o.out, "incomplete:");
        rt_reset(&o);
        render__out_printf(&o.out, " %s\n", dump->problems[i].message);
    }
    errno = 0;
    if (o.out.err == 0 && fflush(f) == EOF)
        render__out_fail(&o.out);
    return o.out.err;
}
