/* The JSON view: one document per dump, keys in a fixed order, for scripts
 * and the integration tests.  Written by hand: the format is small and a
 * JSON library would be one more dependency for the tool. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "render.h"
#include "tree.h"
#include "unwind.h"

/* Writes S[0 .. LEN) as a JSON string.  Invalid UTF-8 bytes become U+FFFD
 * one for one: the document stays valid UTF-8 and readers see where a
 * byte was lost.  DEL is escaped too, so a dump printed raw to a terminal
 * stays inert. */
static void rj_strn(struct render__out *o, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    render__out_puts(o, "\"");
    while (i < len && o->err == 0) {
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x7f &&
               p[run] != '"' && p[run] != '\\')
            run++;
        render__out_write(o, s + i, run - i);
        i = run;
        if (i == len)
            break;
        unsigned char c = p[i];
        size_t seq = c >= 0x80 ? render__utf8_seq(p + i, len - i) : 0;
        if (seq > 0) {
            render__out_write(o, s + i, seq);
            i += seq;
            continue;
        }
        switch (c) {
        case '"':
            render__out_puts(o, "\\\"");
            break;
        case '\\':
            render__out_puts(o, "\\\\");
            break;
        case '\b':
            render__out_puts(o, "\\b");
            break;
        case '\f':
            render__out_puts(o, "\\f");
            break;
        case '\n':
            render__out_puts(o, "\\n");
            break;
        case '\r':
            render__out_puts(o, "\\r");
            break;
        case '\t':
            render__out_puts(o, "\\t");
            break;
        default:
            if (c >= 0x80)
                render__out_puts(o, "\\ufffd");
            else
                render__out_printf(o, "\\u%04x", c);
        }
        i++;
    }
    render__out_puts(o, "\"");
}

static void rj_str(struct render__out *o, const char *s)
{
    if (s == NULL)
        render__out_puts(o, "null");
    else
        rj_strn(o, s, strlen(s));
}

static void rj_int_or_null(struct render__out *o, int v)
{
    if (v > 0)
        render__out_printf(o, "%d", v);
    else
        render__out_puts(o, "null");
}

static void rj_frame(struct render__out *o, const struct sym_frame *f)
{
    render__out_puts(o, "{\"function\":");
    rj_str(o, f->function);
    render__out_puts(o, ",\"file\":");
    rj_str(o, f->file);
    render__out_puts(o, ",\"line\":");
    rj_int_or_null(o, f->line);
    render__out_puts(o, ",\"column\":");
    rj_int_or_null(o, f->column);
    render__out_printf(o, ",\"inlined\":%s,\"module\":", f->inlined ? "true" : "false");
    rj_str(o, f->module);
    render__out_printf(o, ",\"pc\":\"0x%" PRIx64 "\"}", f->pc);
}

/* A live thread stack as an array of frames, root first, trimmed to the
 * task's frames by unwind_trim unless RAW.  Returns 0 or -ENOMEM. */
static int rj_live_stack(struct render__out *o, const struct tt_stack *st, bool raw)
{
    const struct sym_frame **buf = malloc((st->n ? st->n : 1) * sizeof(*buf));
    if (buf == NULL)
        return -ENOMEM;
    size_t n = unwind_trim(st, raw, buf);
    render__out_puts(o, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            render__out_puts(o, ",");
        rj_frame(o, buf[i]);
    }
    render__out_puts(o, "]");
    free(buf);
    return 0;
}

/* --threads: {"tid","name","state","wchan","task","stack","truncated",
 * "error"}. */
static int rj_thread(struct render__out *o, const struct tt_thread *th)
{
    int err = 0;
    render__out_printf(o, "{\"tid\":%" PRId32 ",\"name\":", th->tid);
    if (th->name[0])
        rj_strn(o, th->name, strnlen(th->name, sizeof(th->name)));
    else
        render__out_puts(o, "null");
    if (th->state)
        render__out_printf(o, ",\"state\":\"%c\"", th->state);
    else
        render__out_puts(o, ",\"state\":null");
    render__out_puts(o, ",\"wchan\":");
    if (th->wchan[0])
        rj_strn(o, th->wchan, strnlen(th->wchan, sizeof(th->wchan)));
    else
        render__out_puts(o, "null");
    if (th->task)
        render__out_printf(o, ",\"task\":%" PRIu64, th->task);
    else
        render__out_puts(o, ",\"task\":null");
    render__out_puts(o, ",\"stack\":");
    if (th->has_stack)
        err = rj_live_stack(o, &th->stack, true);
    else
        render__out_puts(o, "null");
    render__out_printf(o, ",\"truncated\":%s",
                       th->has_stack && th->stack.truncated ? "true" : "false");
    render__out_puts(o, ",\"error\":");
    if (!th->has_stack && th->error[0])
        rj_strn(o, th->error, strnlen(th->error, sizeof(th->error)));
    else
        render__out_puts(o, "null");
    render__out_puts(o, "}");
    return err;
}

static int rj_task(struct render__out *o, const struct tt_task *t, bool raw)
{
    const struct sym_frame **buf = NULL;
    size_t bufcap = 0;
    int err = 0;

    render__out_printf(o, "{\"id\":%" PRIu64 ",\"name\":", t->id);
    rj_strn(o, t->name, strnlen(t->name, sizeof(t->name)));
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
        const struct tt_stack *st = &t->stacks[s];
        long trimmed = tree_trim_into(st, raw, &buf, &bufcap);
        if (trimmed < 0) {
            err = (int)trimmed;
            goto out;
        }
        size_t n = (size_t)trimmed;
        render__out_puts(o, s > 0 ? ",[" : "[");
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                render__out_puts(o, ",");
            rj_frame(o, buf[i]);
        }
        render__out_puts(o, "]");
    }
    render__out_printf(o, "],\"truncated\":%s,\"inherited\":%s",
                       tree_task_truncated(t) || (t->has_thread_stack && t->thread_stack.truncated)
                           ? "true"
                           : "false",
                       t->inherited ? "true" : "false");
    /* The live part (live.c): only a polling task has one. */
    bool polling = t->state == TRT_TASK_POLLING;
    if (polling && t->poll_ns >= 0)
        render__out_printf(o, ",\"poll_ns\":%" PRId64, t->poll_ns);
    else
        render__out_puts(o, ",\"poll_ns\":null");
    render__out_puts(o, ",\"thread_name\":");
    if (polling && t->thread_name[0])
        rj_strn(o, t->thread_name, strnlen(t->thread_name, sizeof(t->thread_name)));
    else
        render__out_puts(o, "null");
    render__out_puts(o, ",\"thread_stack\":");
    if (polling && t->has_thread_stack)
        err = rj_live_stack(o, &t->thread_stack, raw);
    else
        render__out_puts(o, "null");
    render__out_puts(o, ",\"thread_stack_error\":");
    if (polling && !t->has_thread_stack && t->thread_error[0])
        rj_strn(o, t->thread_error, strnlen(t->thread_error, sizeof(t->thread_error)));
    else
        render__out_puts(o, "null");
    render__out_puts(o, "}");
out:
    free(buf);
    return err;
}

int render_json(FILE *f, const struct tt_dump *dump,
                const struct render_opts *opts)
{
    struct render__out o = { .f = f };
    bool raw = opts != NULL && opts->raw;
    render__out_printf(&o,
              "{\"version\":1,\"pid\":%d,\"complete\":%s,\"generation\":%" PRIu32
              ",\"records_lost\":%" PRIu64 ",\"tasks\":[",
              dump->pid, dump->complete ? "true" : "false",
              dump->generation, dump->records_lost);
    for (size_t i = 0; i < dump->ntasks && o.err == 0; i++) {
        if (i > 0)
            render__out_puts(&o, ",");
        int err = rj_task(&o, &dump->tasks[i], raw);
        if (err != 0)
            return err;
    }
    render__out_printf(&o, "],\"records_torn\":%" PRIu64 ",\"problems\":[", dump->records_torn);
    for (size_t i = 0; i < dump->nproblems && o.err == 0; i++) {
        render__out_puts(&o, i > 0 ? ",{\"cause\":" : "{\"cause\":");
        rj_str(&o, dump->problems[i].cause);
        render__out_puts(&o, ",\"message\":");
        rj_str(&o, dump->problems[i].message);
        render__out_puts(&o, "}");
    }
    render__out_printf(&o, "],\"passive\":%s,\"threads\":", dump->passive ? "true" : "false");
    if (dump->threads_listed) {
        render__out_puts(&o, "[");
        for (size_t i = 0; i < dump->nthreads && o.err == 0; i++) {
            if (i > 0)
                render__out_puts(&o, ",");
            int err = rj_thread(&o, &dump->threads[i]);
            if (err != 0)
                return err;
        }
        render__out_puts(&o, "]");
    } else {
        render__out_puts(&o, "null");
    }
    render__out_puts(&o, "}\n");
    errno = 0;
    if (o.err == 0 && fflush(f) == EOF)
        render__out_fail(&o);
    return o.err;
}
