/* The folded view (--folded): where the tasks wait, as the input of flame
 * graph tools (Brendan Gregg's flamegraph.pl and stackcollapse format,
 * read as is by inferno-flamegraph and speedscope).  One line per distinct
 * root-to-leaf path:
 *   worker_poll;step_poll;trt_pending_poll 10000
 * frames root first, separated by ';', then a space and how many stacks
 * end there.  Each task's stacks count once each, trimmed as the text
 * view trims them (merged as its tree merges them: a path a task reaches
 * twice counts twice); a task inside a poll adds its live thread stack;
 * a task with neither adds the one frame "[no stack: STATE]", so every
 * task is counted.  Lines are sorted by path. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "views/render.h"
#include "model/tree.h"
#include "model/trim.h"

/* The distinct paths met, by hash; each a NUL-terminated string. */
struct folded_path {
    char *text;
    uint64_t hash;
    uint64_t count;
};

struct folded_table {
    struct folded_path *e;
    size_t cap, n;
};

static uint64_t folded_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* Counts path S (LEN bytes, hashing to HASH) once more; *stored, if
 * given, is set to the table's copy of it (stable until the table is
 * freed). */
static int folded_add_hashed(struct folded_table *t, const char *s, size_t len, uint64_t hash,
                             const char **stored)
{
    if (2 * (t->n + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        struct folded_path *e = calloc(cap, sizeof(*e));
        if (!e)
            return -ENOMEM;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->e[i].text)
                continue;
            size_t h = t->e[i].hash & (cap - 1);
            while (e[h].text)
                h = (h + 1) & (cap - 1);
            e[h] = t->e[i];
        }
        free(t->e);
        t->e = e;
        t->cap = cap;
    }
    size_t h = hash & (t->cap - 1);
    for (; t->e[h].text; h = (h + 1) & (t->cap - 1))
        if (t->e[h].hash == hash && (t->e[h].text == s || (strlen(t->e[h].text) == len &&
                                                           memcmp(t->e[h].text, s, len) == 0))) {
            t->e[h].count++;
            if (stored)
                *stored = t->e[h].text;
            return 0;
        }
    char *text = malloc(len + 1);
    if (!text)
        return -ENOMEM;
    memcpy(text, s, len);
    text[len] = '\0';
    t->e[h] = (struct folded_path){text, hash, 1};
    t->n++;
    if (stored)
        *stored = text;
    return 0;
}

static int folded_add(struct folded_table *t, const char *s, size_t len)
{
    return folded_add_hashed(t, s, len, folded_hash(s, len), NULL);
}

/* A growing string. */
struct folded_buf {
    char *s;
    size_t len, cap;
};

static int folded_put(struct folded_buf *b, const char *s, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown)
            return -ENOMEM;
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, len);
    b->len += len;
    b->s[b->len] = '\0';
    return 0;
}

/* One frame's name: its function, else MODULE+0xOFF, else 0xPC; escaped
 * as the text view escapes it (control bytes, invalid UTF-8 as \xNN),
 * and ';', the separator, as \x3b.  Never empty. */
static int folded_frame(struct folded_buf *b, const struct frame *f)
{
    char raw[64], esc[4 * 512 + 1];
    const char *name = f->function;
    if (name == NULL && f->module != NULL) {
        const char *slash = strrchr(f->module, '/');
        const char *base = slash && slash[1] ? slash + 1 : f->module;
        snprintf(esc, sizeof(esc), "%s+0x%" PRIx64, base, f->module_off);
        name = esc;
    } else if (name == NULL) {
        snprintf(raw, sizeof(raw), "0x%" PRIx64, f->pc);
        name = raw;
    }
    char copy[4 * 512 + 1];
    snprintf(copy, sizeof(copy), "%s", name);
    esc_term(esc, sizeof(esc), copy, strlen(copy), false);
    if (esc[0] == '\0')
        return folded_put(b, "[unknown]", 9);
    for (const char *p = esc; *p; p++) {
        int err = *p == ';' ? folded_put(b, "\\x3b", 4) : folded_put(b, p, 1);
        if (err)
            return err;
    }
    return 0;
}

/* Makes in B the path of FRAMES (root first). */
static int folded_path_build(struct folded_buf *b, const struct frame **frames, size_t n)
{
    b->len = 0;
    if (n > TREE_MAX_DEPTH)
        n = TREE_MAX_DEPTH;
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && folded_put(b, ";", 1) < 0) || folded_frame(b, frames[i]) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int folded_path_add(struct folded_table *t, struct folded_buf *b,
                           const struct frame **frames, size_t n)
{
    if (folded_path_build(b, frames, n) < 0)
        return -ENOMEM;
    return folded_add(t, b->s, b->len);
}

static int folded_cmp(const void *a, const void *b)
{
    const struct folded_path *x = a, *y = b;
    return strcmp(x->text, y->text);
}

/* What the folded view holds while it walks the tasks. */
struct folded_walk {
    struct folded_table t;
    struct folded_buf b;
    /* The path made of each shared frames array: TEXT the table's copy,
     * AUX its hash. */
    struct render__memo memo;
    const struct frame **buf; /* a stack's frames, trimmed */
    size_t bufcap;
    bool raw;
};

/* Counts the path of stack ST once more, the one made of its shared
 * frames array before if there is one.  Returns 1 if the stack has a
 * path, 0 if trimming left none, or -ENOMEM. */
static int folded_stack(struct folded_walk *w, const struct tt_stack *st)
{
    struct render__memo_entry *seen = st->shared ? render__memo_find(&w->memo, st->frames) : NULL;
    if (seen) {
        if (seen->len == 0)
            return 0;
        if (folded_add_hashed(&w->t, seen->text, seen->len, seen->aux, NULL) < 0)
            return -ENOMEM;
        return 1;
    }
    long n = tree_trim_into(st, w->raw, &w->buf, &w->bufcap);
    if (n < 0)
        return -ENOMEM;
    struct render__memo_entry made = {st->frames, NULL, 0, 0};
    if (n > 0) {
        if (folded_path_build(&w->b, w->buf, (size_t)n) < 0)
            return -ENOMEM;
        made.len = w->b.len;
        made.aux = folded_hash(w->b.s, w->b.len);
        const char *stored;
        if (folded_add_hashed(&w->t, w->b.s, w->b.len, made.aux, &stored) < 0)
            return -ENOMEM;
        made.text = (char *)stored;
    }
    if (st->shared)
        render__memo_add(&w->memo, &made);
    return n > 0;
}

/* Counts the path of a polling task's live thread stack ST, trimmed as
 * the text view trims it.  Returns 1 if it has one, 0 if not, or
 * -ENOMEM. */
static int folded_thread_stack(struct folded_walk *w, const struct tt_stack *st)
{
    if (st->n > w->bufcap) {
        const struct frame **grown = realloc(w->buf, st->n * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        w->buf = grown;
        w->bufcap = st->n;
    }
    size_t n = trim_live_stack(st, w->raw, w->buf);
    if (n == 0)
        return 0;
    if (folded_path_add(&w->t, &w->b, w->buf, n) < 0)
        return -ENOMEM;
    return 1;
}

/* Counts TASK's paths: its stacks, its live thread stack, or else the
 * one frame "[no stack: STATE]".  Returns 0 or -ENOMEM. */
static int folded_task(struct folded_walk *w, const struct tt_task *task)
{
    size_t paths = 0;
    for (size_t s = 0; s < task->nstacks; s++) {
        int got = folded_stack(w, &task->stacks[s]);
        if (got < 0)
            return got;
        paths += (size_t)got;
    }
    if (task->state == TRT_TASK_POLLING && task->has_thread_stack) {
        int got = folded_thread_stack(w, &task->thread_stack);
        if (got < 0)
            return got;
        paths += (size_t)got;
    }
    if (paths == 0) {
        char none[64];
        int n = snprintf(none, sizeof(none), "[no stack: %s]", render_state_name(task->state));
        if (folded_add(&w->t, none, (size_t)n) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Writes T's paths to F sorted, each with its count, and frees them.
 * Returns 0, or the first write's -errno. */
static int folded_write(FILE *f, struct folded_table *t)
{
    /* Compact the table and sort it by path. */
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->e[i].text)
            t->e[n++] = t->e[i];
    if (n)
        qsort(t->e, n, sizeof(*t->e), folded_cmp);
    struct render__out o = {.f = f};
    for (size_t i = 0; i < n && o.err == 0; i++) {
        render__out_puts(&o, t->e[i].text);
        render__out_printf(&o, " %" PRIu64 "\n", t->e[i].count);
    }
    for (size_t i = 0; i < n; i++)
        free(t->e[i].text);
    t->cap = 0;
    errno = 0;
    if (o.err == 0 && fflush(f) == EOF)
        render__out_fail(&o);
    return o.err;
}

int render_folded(FILE *f, const struct tt_dump *dump, const struct render_opts *opts)
{
    struct folded_walk w = {.raw = opts != NULL && opts->raw};
    int err = 0;
    for (size_t i = 0; i < dump->ntasks && err == 0; i++)
        err = folded_task(&w, &dump->tasks[i]);
    if (err == 0)
        err = folded_write(f, &w.t);
    for (size_t i = 0; i < w.t.cap; i++)
        free(w.t.e[i].text);
    free(w.t.e);
    render__memo_free(&w.memo);
    free(w.b.s);
    free(w.buf);
    return err;
}
