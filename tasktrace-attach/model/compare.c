/* Comparing dumps of one process (compare.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model/compare.h"
#include "util/jsonread.h"
#include "util/escape.h"

struct compare_dump {
    int pid;
    char taken_at[40]; /* "" unknown */
    struct compare_task *tasks;
    size_t n;
};

#define FNV_OFFSET 0xcbf29ce484222325ull

/* FNV-1a, eight bytes a step (with a shift that brings the high bits of
 * the product down into the next step's low ones), then a byte a step.
 * Each step is a bijection of the state for a given input, so inputs that
 * differ in one step never collide. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, sizeof(w));
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; n > 0; n--, b++)
        h = (h ^ *b) * 0x100000001b3ull;
    return h;
}

/* A hash of the value V as parsed: its kind, member names and contents,
 * in order.  Two dumps of one process write the same stacks the same
 * way.  The recursion is as deep as the document, which jsonread.h
 * bounds. */
static uint64_t hash_value(uint64_t h, const struct jsonread_value *v)
{
    unsigned char type = (unsigned char)v->type;
    uint64_t n = v->n;
    h = hash_bytes(h, &type, 1);
    if (v->key != NULL) {
        h = hash_bytes(h, &v->key_len, sizeof(v->key_len));
        h = hash_bytes(h, v->key, v->key_len);
    }
    if (v->str != NULL) {
        h = hash_bytes(h, &v->len, sizeof(v->len));
        h = hash_bytes(h, v->str, v->len);
    }
    h = hash_bytes(h, &n, sizeof(n));
    for (size_t i = 0; i < v->n; i++)
        h = hash_value(h, &v->items[i]);
    return h;
}

int compare_read_file(const char *path, char **out, size_t *len, char *why, size_t whylen,
                      const char **code)
{
    int err = jsonread_read_path(path, out, len, why, whylen);
    if (err == -EINVAL || err == -E2BIG)
        *code = "BAD_INPUT";
    else if (err < 0)
        *code = err == -ENOMEM ? "ENOMEM" : strerrorname_np(-err) ? strerrorname_np(-err) : "EIO";
    return err < 0 ? -1 : 0;
}

/* One task of a dump.  Returns 0, or -1 with WHY. */
static int read_task(const struct jsonread_value *v, struct compare_task *t, char *why,
                     size_t whylen)
{
    memset(t, 0, sizeof(*t));
    if (v->type != JSONREAD_OBJECT || jsonread_u64(jsonread_get(v, "id"), &t->id) != 0 ||
        jsonread_u64(jsonread_get(v, "polls"), &t->polls) != 0) {
        snprintf(why, whylen, "a task without \"id\" or \"polls\"");
        return -1;
    }
    if (jsonread_i64(jsonread_get(v, "idle_ns"), &t->idle_ns) != 0)
        t->idle_ns = -1;
    jsonread_copy_str(v, "name", t->name, sizeof(t->name));
    jsonread_copy_str(v, "state", t->state, sizeof(t->state));
    /* Alike tasks hash alike: their state and stacks, as the tool wrote
     * them. */
    t->hash = hash_bytes(FNV_OFFSET, t->state, strlen(t->state) + 1);
    static const char *const keys[] = {"stacks", "thread_stack"};
    for (size_t k = 0; k < 2; k++) {
        const struct jsonread_value *s = jsonread_get(v, keys[k]);
        if (s != NULL)
            t->hash = hash_value(hash_bytes(t->hash, keys[k], strlen(keys[k])), s);
    }
    return 0;
}

static int compare_task_cmp(const void *a, const void *b)
{
    const struct compare_task *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The causes of the problems of a partial dump, escaped, into CAUSES. */
static void read_causes(const struct jsonread_value *root, char *causes, size_t len)
{
    const struct jsonread_value *p = jsonread_get(root, "problems");
    size_t used = 0;
    causes[0] = '\0';
    for (size_t i = 0; p != NULL && p->type == JSONREAD_ARRAY && i < p->n; i++) {
        const struct jsonread_value *cause = jsonread_get(&p->items[i], "cause");
        char safe[4 * 32 + 1];
        if (cause == NULL || cause->type != JSONREAD_STRING)
            continue;
        esc_term(safe, sizeof(safe), cause->str, cause->len < 32 ? cause->len : 32, false);
        if (strstr(causes, safe) != NULL)
            continue; /* one mention of each */
        int w = snprintf(causes + used, len - used, "%s%s", used ? ", " : "", safe);
        if (w < 0 || (size_t)w >= len - used) {
            causes[used] = '\0';
            break;
        }
        used += (size_t)w;
    }
    if (used == 0)
        snprintf(causes, len, "%s", "unknown");
}

/* What the tasks of one document are read into, one at a time. */
struct each_task {
    struct compare_dump *d;
    size_t cap;
    char why[96]; /* why each_task stopped the parse */
};

/* jsonread_each_fn: one task of the "tasks" array, reduced to a compare_task. */
static int each_task(void *arg, const struct jsonread_value *v)
{
    struct each_task *st = arg;
    struct compare_dump *d = st->d;
    if (d->n == COMPARE_MAX_TASKS) {
        snprintf(st->why, sizeof(st->why), "more than %u tasks, more than the comparison reads",
                 COMPARE_MAX_TASKS);
        return -E2BIG;
    }
    if (d->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 1024;
        struct compare_task *grown = realloc(d->tasks, cap * sizeof(*grown));
        if (grown == NULL) {
            snprintf(st->why, sizeof(st->why), "out of memory");
            return -ENOMEM;
        }
        d->tasks = grown;
        st->cap = cap;
    }
    if (read_task(v, &d->tasks[d->n], st->why, sizeof(st->why)) != 0)
        return -EINVAL;
    d->n++;
    return 0;
}

/* Checks the parsed document ROOT, whose tasks each_task read into *D,
 * and reads the rest.  Sets *PARTIAL when the dump says it is not
 * complete.  Returns 0 or -1 with WHY and *CODE. */
static int read_dump(const struct jsonread_value *root, struct compare_dump *d, bool *partial,
                     char *why, size_t whylen, const char **code)
{
    int64_t version = 0, pid = 0;
    const struct jsonread_value *error = jsonread_get(root, "error");
    const struct jsonread_value *tasks = jsonread_get(root, "tasks");
    *code = "BAD_INPUT";
    if (root->type != JSONREAD_OBJECT) {
        snprintf(why, whylen, "not a tasktrace-attach --json dump: not an object");
        return -1;
    }
    if (error != NULL) {
        char ecode[32], safe[4 * sizeof(ecode) + 1];
        jsonread_copy_str(error, "code", ecode, sizeof(ecode));
        snprintf(why, whylen, "an error document (%s), not a dump",
                 esc_term(safe, sizeof(safe), ecode, strlen(ecode), false));
        return -1;
    }
    if (jsonread_i64(jsonread_get(root, "version"), &version) != 0 ||
        jsonread_i64(jsonread_get(root, "pid"), &pid) != 0 || pid <= 0 || pid > INT32_MAX ||
        tasks == NULL) {
        snprintf(why, whylen, "not a tasktrace-attach --json dump: %s",
                 "no \"version\", \"pid\" or \"tasks\"");
        return -1;
    }
    if (version != 1) {
        snprintf(why, whylen, "not a tasktrace-attach --json dump: not version 1");
        return -1;
    }
    if (tasks->type == JSONREAD_NULL) {
        snprintf(why, whylen,
                 "a dump printed with --group, which lists no tasks; compare "
                 "dumps taken without it");
        return -1;
    }
    if (tasks->type != JSONREAD_ARRAY) {
        snprintf(why, whylen, "not a tasktrace-attach --json dump: \"tasks\" is not an array");
        return -1;
    }
    d->pid = (int)pid;
    jsonread_copy_str(root, "taken_at", d->taken_at, sizeof(d->taken_at));
    const struct jsonread_value *complete = jsonread_get(root, "complete");
    *partial = complete != NULL && complete->type == JSONREAD_FALSE;
    if (d->n)
        qsort(d->tasks, d->n, sizeof(*d->tasks), compare_task_cmp);
    for (size_t i = 1; i < d->n; i++)
        if (d->tasks[i].id == d->tasks[i - 1].id) {
            snprintf(why, whylen, "task id %" PRIu64 " is listed twice", d->tasks[i].id);
            return -1;
        }
    return 0;
}

static void cdump_free(struct compare_dump *d)
{
    if (d != NULL)
        free(d->tasks);
    free(d);
}

int compare_add(struct compare *c, const char *text, size_t len, char *causes, size_t causeslen,
                char *why, size_t whylen, const char **code)
{
    struct jsonread_doc doc = {0};
    struct compare_dump *d = NULL;
    char inner[160];
    bool partial = false;
    int rc = -1;
    causes[0] = '\0';
    if (c->ndumps == COMPARE_MAX_DUMPS) {
        snprintf(why, whylen, "more than %d dumps", COMPARE_MAX_DUMPS);
        *code = "E2BIG";
        return -1;
    }
    if ((d = calloc(1, sizeof(*d))) == NULL) {
        snprintf(why, whylen, "out of memory");
        *code = "ENOMEM";
        return -1;
    }
    /* The tasks one at a time: the tree of a dump of many tasks would
     * cost many times the document. */
    struct each_task st = {.d = d};
    int err = jsonread_parse_each(text, len, "tasks", each_task, &st, &doc, inner, sizeof(inner));
    if (err != 0) {
        snprintf(why, whylen, "not a tasktrace-attach --json dump: %s",
                 st.why[0]        ? st.why
                 : err == -ENOMEM ? "out of memory"
                                  : inner);
        *code = err == -ENOMEM ? "ENOMEM" : "BAD_INPUT";
        goto out;
    }
    if (read_dump(&doc.root, d, &partial, why, whylen, code) != 0)
        goto out;
    if (partial)
        read_causes(&doc.root, causes, causeslen);
    if (c->first == NULL) {
        /* Every task of the first dump is still until a later dump says
         * otherwise. */
        if ((c->still = malloc(d->n + 1)) == NULL) {
            snprintf(why, whylen, "out of memory");
            *code = "ENOMEM";
            goto out;
        }
        memset(c->still, 1, d->n + 1);
        c->first = c->last = d;
    } else {
        const struct compare_dump *f = c->first;
        if (d->pid != f->pid) {
            snprintf(why, whylen, "the dumps are of two processes, PID %d and PID %d", f->pid,
                     d->pid);
            *code = "NOT_SAME_PROCESS";
            goto out;
        }
        /* Both sorted by id: a task of the first dump stays still while
         * each dump lists it with its first poll count and stacks. */
        size_t k = 0;
        for (size_t i = 0; i < f->n; i++) {
            while (k < d->n && d->tasks[k].id < f->tasks[i].id)
                k++;
            if (k == d->n || d->tasks[k].id != f->tasks[i].id ||
                d->tasks[k].polls != f->tasks[i].polls || d->tasks[k].hash != f->tasks[i].hash)
                c->still[i] = false;
        }
        if (c->last != c->first)
            cdump_free(c->last);
        c->last = d;
    }
    d = NULL;
    c->ndumps++;
    if (partial) {
        c->partial[c->npartial] = c->ndumps;
        snprintf(c->partial_causes[c->npartial], sizeof(c->partial_causes[0]), "%s", causes);
        c->npartial++;
    }
    rc = 0;
out:
    cdump_free(d);
    jsonread_free(&doc);
    return rc;
}

void compare_free(struct compare *c)
{
    if (c == NULL)
        return;
    if (c->last != c->first)
        cdump_free(c->last);
    cdump_free(c->first);
    free(c->still);
    memset(c, 0, sizeof(*c));
}

/* Milliseconds since the epoch of an RFC 3339 UTC time as the tool
 * writes it ("2026-11-27T09:54:50.123Z"), or -1. */
static int64_t parse_taken_at(const char *s)
{
    struct tm tm = {0};
    int ms = 0, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &used) != 7 ||
        s[used] != '\0')
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t < 0 ? -1 : (int64_t)t * 1000 + ms;
}

static int centry_cmp(const void *a, const void *b)
{
    const struct compare_entry *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    /* Alike tasks together: by state and stacks, then id. */
    if (x->kind == COMPARE_STILL && x->t->hash != y->t->hash)
        return x->t->hash < y->t->hash ? -1 : 1;
    return x->t->id < y->t->id ? -1 : x->t->id > y->t->id;
}

int compare_result_build(const struct compare *c, struct compare_result *r, char *why,
                         size_t whylen, const char **code)
{
    const struct compare_dump *da = c->first, *db = c->last;
    struct compare_entry *e = NULL;
    size_t n = 0;
    memset(r, 0, sizeof(*r));
    if (c->ndumps < 2) {
        snprintf(why, whylen, "cannot compare fewer than two dumps");
        *code = "FAILED";
        return -1;
    }
    e = malloc((da->n + db->n + 1) * sizeof(*e));
    if (!e) {
        snprintf(why, whylen, "out of memory");
        *code = "ENOMEM";
        return -1;
    }
    size_t i = 0, k = 0;
    while (i < da->n || k < db->n) {
        if (k == db->n || (i < da->n && da->tasks[i].id < db->tasks[k].id)) {
            e[n++] = (struct compare_entry){COMPARE_FINISHED, &da->tasks[i++]};
        } else if (i == da->n || db->tasks[k].id < da->tasks[i].id) {
            e[n++] = (struct compare_entry){COMPARE_APPEARED, &db->tasks[k++]};
        } else {
            /* In both: still when every dump between agreed too. */
            bool still = c->still[i++];
            e[n++] = (struct compare_entry){still ? COMPARE_STILL : COMPARE_MOVED, &db->tasks[k++]};
        }
        r->count[e[n - 1].kind]++;
    }
    if (n)
        qsort(e, n, sizeof(*e), centry_cmp);
    r->pid = db->pid;
    r->taken_at[0] = da->taken_at;
    r->taken_at[1] = db->taken_at;
    r->taken_ms[0] = parse_taken_at(da->taken_at);
    r->taken_ms[1] = parse_taken_at(db->taken_at);
    r->e = e;
    r->n = n;
    r->verdict = r->count[COMPARE_STILL] ? COMPARE_VERDICT_STILL
                 : c->npartial           ? COMPARE_VERDICT_PARTIAL
                                         : COMPARE_VERDICT_MOVED;
    return 0;
}

void compare_result_free(struct compare_result *r)
{
    free(r->e);
    memset(r, 0, sizeof(*r));
}
