/* Grouping tasks and threads that print alike (group.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "model/group.h"
#include "model/tree.h"
#include "model/trim.h"

/* Separators between an item's stacks in its list of frames: they are
 * never a symbolizer's frame, and compare equal only to themselves. */
static const struct frame group_end_stack = {.module_off = UINT64_MAX};
static const struct frame group_end_thread = {.module_off = UINT64_MAX - 1};

/* Every item's frames, one after the other; item i has
 * frames[off[i] .. off[i + 1]). */
struct group_keys {
    const struct frame **frames;
    size_t n, cap;
    size_t *off;
    uint64_t *attr; /* what else must agree: state and flags */
    uint64_t *hash;
    const char **text; /* a string of 64 bytes at most that must agree too,
                        or NULL */
};

static int keys_push(struct group_keys *k, const struct frame *f)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 1024;
        const struct frame **grown = realloc(k->frames, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        k->frames = grown;
        k->cap = cap;
    }
    k->frames[k->n++] = f;
    return 0;
}

static bool keys_equal(const struct group_keys *k, size_t a, size_t b)
{
    size_t na = k->off[a + 1] - k->off[a], nb = k->off[b + 1] - k->off[b];
    if (k->attr[a] != k->attr[b] || k->hash[a] != k->hash[b] || na != nb)
        return false;
    if (k->text && strncmp(k->text[a], k->text[b], 64) != 0)
        return false;
    for (size_t i = 0; i < na; i++) {
        const struct frame *x = k->frames[k->off[a] + i], *y = k->frames[k->off[b] + i];
        bool sx = x == &group_end_stack || x == &group_end_thread;
        bool sy = y == &group_end_stack || y == &group_end_thread;
        if ((sx || sy) ? x != y : !tree_frame_equal(x, y))
            return false;
    }
    return true;
}

static void keys_free(struct group_keys *k)
{
    free(k->frames);
    free(k->off);
    free(k->attr);
    free(k->hash);
    free(k->text);
}

/* Appends the N frames of BUF, then SEP, hashing them into *H; CONTENT
 * is their hash when known (trim_cached), else 0. */
static int keys_add(struct group_keys *k, const struct frame *const *buf, size_t n,
                    const struct frame *sep, uint64_t *h, uint64_t content)
{
    for (size_t i = 0; i < n; i++) {
        if (keys_push(k, buf[i]) < 0)
            return -ENOMEM;
        if (!content)
            *h = tree_frame_hash_from(*h, buf[i]);
    }
    if (content)
        *h = (*h ^ content) * 0x100000001b3ull;
    *h = (*h ^ (sep == &group_end_stack ? 1 : 2)) * 0x100000001b3ull;
    return keys_push(k, sep);
}

/* Orders group indices: the largest group first, ties by first item. */
/* Trimmed stacks by the frames they were trimmed from: tasks that wait in
 * the same place hold the same frame pointers (the symbolizer's cache), so
 * each distinct list of pointers is trimmed once.  Open addressing over
 * entries of an arena of frames. */
struct trim_entry {
    const struct frame *const *from; /* the untrimmed frames */
    size_t nfrom;
    size_t off, n; /* the trimmed ones: arena[off .. off + n) */
    uint64_t hash;
    uint64_t content; /* tree_frame_hash_from over the trimmed frames */
};

struct trim_cache {
    struct trim_entry *e;
    size_t cap, used;
    const struct frame **arena;
    size_t n, arena_cap;
};

static uint64_t hash_ptrs(const struct frame *const *f, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint64_t)(uintptr_t)f[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

/* Points *OUT at the trimmed frames of STACK (*N of them), trimming it
 * (tree_trim_stack, or trim_live_stack for a LIVE stack) only the first time
 * its list of frames is met.  Returns 0 or -ENOMEM. */
static int trim_cached(struct trim_cache *c, const struct tt_stack *st, bool raw, bool live,
                       const struct frame *const **out, size_t *n, uint64_t *content)
{
    if (2 * (c->used + 1) > c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        struct trim_entry *e = calloc(cap, sizeof(*e));
        if (!e)
            return -ENOMEM;
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->e[i].from && c->e[i].nfrom == 0 && c->e[i].hash == 0)
                continue;
            size_t h = c->e[i].hash & (cap - 1);
            while (e[h].hash != 0)
                h = (h + 1) & (cap - 1);
            e[h] = c->e[i];
        }
        free(c->e);
        c->e = e;
        c->cap = cap;
    }
    /* Live and captured stacks trim differently: told apart in the hash. */
    uint64_t hash = (hash_ptrs(st->frames, st->n) ^ live) | 1;
    size_t h = hash & (c->cap - 1);
    for (; c->e[h].hash != 0; h = (h + 1) & (c->cap - 1)) {
        struct trim_entry *t = &c->e[h];
        if (t->hash == hash && t->nfrom == st->n &&
            (st->n == 0 || memcmp(t->from, st->frames, st->n * sizeof(*st->frames)) == 0)) {
            *out = c->arena + t->off;
            *n = t->n;
            *content = t->content;
            return 0;
        }
    }
    if (c->n + st->n > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap : 1024;
        while (cap < c->n + st->n)
            cap *= 2;
        const struct frame **grown = realloc(c->arena, cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        c->arena = grown;
        c->arena_cap = cap;
    }
    size_t len = st->n == 0 ? 0
                 : live     ? trim_live_stack(st, raw, c->arena + c->n)
                            : tree_trim_stack(st, raw, c->arena + c->n);
    uint64_t sum = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        sum = tree_frame_hash_from(sum, c->arena[c->n + i]);
    c->e[h] = (struct trim_entry){st->frames, st->n, c->n, len, hash, sum};
    c->used++;
    *out = c->arena + c->n;
    *n = len;
    *content = sum;
    c->n += len;
    return 0;
}

static void trim_free(struct trim_cache *c)
{
    free(c->e);
    free(c->arena);
}

static int order_cmp(const void *a, const void *b, void *arg)
{
    const struct group *gs = arg;
    const struct group *x = &gs[*(const size_t *)a], *y = &gs[*(const size_t *)b];
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Groups the NITEMS items of K: fills OUT.  Returns 0 or -ENOMEM. */
static int group_keys_build(const struct group_keys *k, size_t nitems, struct group_set *out)
{
    size_t cap = 16, *table = NULL, *rank = NULL, *next = NULL;
    int err = -ENOMEM;
    *out = (struct group_set){0};
    while (cap < 2 * nitems)
        cap *= 2;
    table = calloc(cap, sizeof(*table)); /* group index + 1; 0 is empty */
    out->of = malloc((nitems ? nitems : 1) * sizeof(*out->of));
    out->members = malloc((nitems ? nitems : 1) * sizeof(*out->members));
    out->groups = malloc((nitems ? nitems : 1) * sizeof(*out->groups));
    if (!table || !out->of || !out->members || !out->groups)
        goto out;
    /* While grouping, a group's `first` is its first item. */
    for (size_t i = 0; i < nitems; i++) {
        size_t h = (size_t)k->hash[i] & (cap - 1);
        for (; table[h] != 0; h = (h + 1) & (cap - 1)) {
            struct group *g = &out->groups[table[h] - 1];
            if (keys_equal(k, g->first, i))
                break;
        }
        if (table[h] == 0) {
            out->groups[out->n] = (struct group){.first = i, .count = 0};
            table[h] = ++out->n;
        }
        out->of[i] = table[h] - 1;
        out->groups[table[h] - 1].count++;
    }
    /* The largest first, ties by first item; then lay the members out
     * group after group. */
    rank = malloc((out->n ? out->n : 1) * sizeof(*rank));
    next = malloc((out->n ? out->n : 1) * sizeof(*next));
    if (!rank || !next)
        goto out;
    for (size_t g = 0; g < out->n; g++)
        next[g] = g;
    qsort_r(next, out->n, sizeof(*next), order_cmp, out->groups);
    /* next[r] is the old index of the group of rank r. */
    struct group *sorted = malloc((out->n ? out->n : 1) * sizeof(*sorted));
    if (!sorted)
        goto out;
    for (size_t r = 0; r < out->n; r++) {
        rank[next[r]] = r;
        sorted[r] = out->groups[next[r]];
    }
    free(out->groups);
    out->groups = sorted;
    size_t at = 0;
    for (size_t g = 0; g < out->n; g++) {
        next[g] = at;
        out->groups[g].first = at;
        at += out->groups[g].count;
    }
    for (size_t i = 0; i < nitems; i++) {
        size_t g = rank[out->of[i]];
        out->of[i] = g;
        out->members[next[g]++] = i;
    }
    err = 0;
out:
    free(table);
    free(rank);
    free(next);
    if (err)
        group_free(out);
    return err;
}

int group_tasks(const struct tt_dump *d, bool raw, struct group_set *out)
{
    struct group_keys k = {0};
    struct trim_cache cache = {0};
    int err = -ENOMEM;
    size_t n = d->ntasks;
    *out = (struct group_set){0};
    k.off = malloc((n + 1) * sizeof(*k.off));
    k.attr = malloc((n ? n : 1) * sizeof(*k.attr));
    k.hash = malloc((n ? n : 1) * sizeof(*k.hash));
    if (!k.off || !k.attr || !k.hash)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct tt_task *t = &d->tasks[i];
        uint64_t h = 0xcbf29ce484222325ull;
        k.off[i] = k.n;
        const struct frame *const *frames;
        size_t len;
        uint64_t sum;
        for (size_t s = 0; s < t->nstacks; s++) {
            if (trim_cached(&cache, &t->stacks[s], raw, false, &frames, &len, &sum) < 0 ||
                keys_add(&k, frames, len, &group_end_stack, &h, sum | 1) < 0)
                goto out;
        }
        bool live = t->state == TRT_TASK_POLLING && t->has_thread_stack;
        if (live && (trim_cached(&cache, &t->thread_stack, raw, true, &frames, &len, &sum) < 0 ||
                     keys_add(&k, frames, len, &group_end_thread, &h, sum | 1) < 0))
            goto out;
        k.attr[i] = (uint64_t)t->state | (uint64_t)t->reported << 32 | (uint64_t)t->suspect << 33 |
                    (uint64_t)t->inherited << 34 | (uint64_t)tree_task_truncated(t) << 35 |
                    (uint64_t)live << 36 | (uint64_t)(live && t->thread_stack.truncated) << 37 |
                    (uint64_t)(t->thread_error != NULL) << 38;
        k.hash[i] = h ^ k.attr[i];
    }
    k.off[n] = k.n;
    err = group_keys_build(&k, n, out);
out:
    trim_free(&cache);
    keys_free(&k);
    return err;
}

int group_threads(const struct tt_dump *d, struct group_set *out)
{
    struct group_keys k = {0};
    int err = -ENOMEM;
    size_t n = d->nthreads;
    *out = (struct group_set){0};
    k.off = malloc((n + 1) * sizeof(*k.off));
    k.attr = malloc((n ? n : 1) * sizeof(*k.attr));
    k.hash = malloc((n ? n : 1) * sizeof(*k.hash));
    const char **text = malloc((n ? n : 1) * sizeof(*text));
    k.text = text;
    if (!k.off || !k.attr || !k.hash || !text)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct tt_thread *th = &d->threads[i];
        uint64_t h = 0xcbf29ce484222325ull;
        k.off[i] = k.n;
        if (th->has_stack &&
            keys_add(&k, th->stack.frames, th->stack.n, &group_end_thread, &h, 0) < 0)
            goto out;
        /* A thread polling a task is told apart: it names the task; and
         * threads in different wait channels too. */
        text[i] = th->wchan;
        k.attr[i] = (uint64_t)(unsigned char)th->state | (uint64_t)th->has_stack << 8 |
                    (uint64_t)(th->task != 0) << 9 | (th->task << 10);
        k.hash[i] = h ^ k.attr[i];
    }
    k.off[n] = k.n;
    err = group_keys_build(&k, n, out);
out:
    keys_free(&k);
    return err;
}

void group_free(struct group_set *g)
{
    free(g->groups);
    free(g->members);
    free(g->of);
    *g = (struct group_set){0};
}

const char *group_count(size_t n, char *buf)
{
    char digits[24];
    int len = snprintf(digits, sizeof(digits), "%zu", n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}
