/* Comparing two dumps of one process (compare.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"
#include "group.h"
#include "jsonr.h"
#include "render.h"

/* What one task of a dump says, as far as the comparison needs. */
struct ctask {
    uint64_t id, polls, hash;
    int64_t idle_ns; /* -1 unknown */
    char name[96];   /* decoded, possibly cut */
    char state[12];
};

struct cdump {
    char *buf; /* the file */
    int pid;
    char taken_at[40]; /* "" unknown */
    struct ctask *tasks;
    size_t n;
};

static uint64_t hash_bytes(uint64_t h, const char *from, const char *to)
{
    for (const char *p = from; p < to; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    return h;
}

/* Reads all of PATH, a regular file of at most COMPARE_MAX_BYTES. */
static int read_file(const char *path, char **out, size_t *len, char *why, size_t whylen,
                     const char **code)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    char *buf = NULL;
    size_t have = 0;
    int err = 0;
    if (fd < 0 || fstat(fd, &st) != 0) {
        err = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "not a regular file");
        *code = "BAD_INPUT";
        err = -EINVAL;
        goto out;
    }
    if ((unsigned long long)st.st_size > COMPARE_MAX_BYTES) {
        snprintf(why, whylen, "larger than %llu MiB", COMPARE_MAX_BYTES >> 20);
        *code = "BAD_INPUT";
        err = -EFBIG;
        goto out;
    }
    size_t cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (!buf) {
        err = -ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = -errno;
            goto out;
        }
        if (n == 0)
            break;
        have += (size_t)n;
        if (have == cap) {
            /* It grew while read: still bounded. */
            if (cap > COMPARE_MAX_BYTES) {
                snprintf(why, whylen, "larger than %llu MiB", COMPARE_MAX_BYTES >> 20);
                *code = "BAD_INPUT";
                err = -EFBIG;
                goto out;
            }
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                err = -ENOMEM;
                goto out;
            }
            buf = grown;
            cap *= 2;
        }
    }
    *out = buf;
    *len = have;
    buf = NULL;
out:
    if (err < 0 && !why[0]) {
        snprintf(why, whylen, "%s", strerror(-err));
        *code = err == -ENOMEM ? "ENOMEM" : strerrorname_np(-err) ? strerrorname_np(-err) : "EIO";
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return err;
}

static bool read_task(struct jsonr *j, struct ctask *t)
{
    char key[32];
    bool has_id = false, has_polls = false, is_null;
    memset(t, 0, sizeof(*t));
    t->idle_ns = -1;
    t->hash = 0xcbf29ce484222325ull;
    if (!jsonr_object_begin(j))
        return false;
    while (jsonr_object_next(j, key, sizeof(key))) {
        const char *from, *to;
        if (strcmp(key, "id") == 0) {
            has_id = jsonr_uint(j, &t->id, NULL);
        } else if (strcmp(key, "polls") == 0) {
            has_polls = jsonr_uint(j, &t->polls, NULL);
        } else if (strcmp(key, "idle_ns") == 0) {
            if (jsonr_int(j, &t->idle_ns, &is_null) && is_null)
                t->idle_ns = -1;
        } else if (strcmp(key, "name") == 0) {
            jsonr_string(j, t->name, sizeof(t->name));
        } else if (strcmp(key, "state") == 0) {
            jsonr_string(j, t->state, sizeof(t->state));
            t->hash = hash_bytes(t->hash, t->state, t->state + strlen(t->state) + 1);
        } else if (strcmp(key, "stacks") == 0 || strcmp(key, "thread_stack") == 0) {
            /* The stacks, as the tool wrote them: two dumps of one
             * process write the same stacks byte for byte. */
            if (jsonr_skip(j, &from, &to)) {
                t->hash = hash_bytes(t->hash, key, key + strlen(key));
                t->hash = hash_bytes(t->hash, from, to);
            }
        } else {
            jsonr_skip(j, NULL, NULL);
        }
    }
    if (!j->failed && (!has_id || !has_polls))
        return jsonr_fail(j, "a task without \"id\" or \"polls\"");
    return !j->failed;
}

static int ctask_cmp(const void *a, const void *b)
{
    const struct ctask *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Reads the dump in PATH into *D.  Returns 0 or -1 with WHY and *CODE. */
static int read_dump(const char *path, struct cdump *d, char *why, size_t whylen, const char **code)
{
    size_t len = 0, cap = 0;
    char key[32];
    bool has_version = false, has_tasks = false, grouped = false;
    why[0] = '\0';
    if (read_file(path, &d->buf, &len, why, whylen, code) < 0)
        return -1;
    struct jsonr j;
    jsonr_init(&j, d->buf, len);
    d->pid = -1;
    if (jsonr_object_begin(&j)) {
        while (jsonr_object_next(&j, key, sizeof(key))) {
            int64_t v;
            if (strcmp(key, "version") == 0) {
                if (jsonr_int(&j, &v, NULL) && v != 1)
                    jsonr_fail(&j, "not version 1");
                has_version = true;
            } else if (strcmp(key, "pid") == 0) {
                if (jsonr_int(&j, &v, NULL))
                    d->pid = v > 0 && v <= INT32_MAX ? (int)v : -1;
            } else if (strcmp(key, "taken_at") == 0) {
                if (!jsonr_null(&j))
                    jsonr_string(&j, d->taken_at, sizeof(d->taken_at));
            } else if (strcmp(key, "error") == 0) {
                char ecode[32] = "", ekey[16];
                if (jsonr_object_begin(&j)) {
                    while (jsonr_object_next(&j, ekey, sizeof(ekey))) {
                        if (strcmp(ekey, "code") == 0)
                            jsonr_string(&j, ecode, sizeof(ecode));
                        else
                            jsonr_skip(&j, NULL, NULL);
                    }
                }
                char safe[4 * sizeof(ecode) + 1];
                snprintf(why, whylen, "an error document (%s), not a dump",
                         render_escape(safe, sizeof(safe), ecode, strlen(ecode), false));
                *code = "BAD_INPUT";
                return -1;
            } else if (strcmp(key, "tasks") == 0) {
                has_tasks = true;
                if (jsonr_null(&j)) {
                    grouped = true;
                    continue;
                }
                if (!jsonr_array_begin(&j))
                    break;
                while (jsonr_array_next(&j)) {
                    if (d->n == COMPARE_MAX_TASKS) {
                        jsonr_fail(&j, "more tasks than the comparison reads");
                        break;
                    }
                    if (d->n == cap) {
                        cap = cap ? 2 * cap : 1024;
                        struct ctask *grown = realloc(d->tasks, cap * sizeof(*grown));
                        if (!grown) {
                            snprintf(why, whylen, "out of memory");
                            *code = "ENOMEM";
                            return -1;
                        }
                        d->tasks = grown;
                    }
                    if (!read_task(&j, &d->tasks[d->n]))
                        break;
                    d->n++;
                }
            } else {
                jsonr_skip(&j, NULL, NULL);
            }
        }
    }
    if (!j.failed && jsonr_peek(&j) != 0)
        jsonr_fail(&j, "more after the document");
    if (j.failed || !has_version || !has_tasks || d->pid < 0) {
        snprintf(why, whylen, "not a tasktrace-attach --json dump: %s",
                 j.failed ? j.why : "no \"version\", \"pid\" or \"tasks\"");
        *code = "BAD_INPUT";
        return -1;
    }
    if (grouped) {
        snprintf(why, whylen,
                 "a dump printed with --group, which lists no tasks; compare "
                 "dumps taken without it");
        *code = "BAD_INPUT";
        return -1;
    }
    if (d->n)
        qsort(d->tasks, d->n, sizeof(*d->tasks), ctask_cmp);
    for (size_t i = 1; i < d->n; i++)
        if (d->tasks[i].id == d->tasks[i - 1].id) {
            snprintf(why, whylen, "task id %" PRIu64 " is listed twice", d->tasks[i].id);
            *code = "BAD_INPUT";
            return -1;
        }
    return 0;
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

enum { C_STILL, C_MOVED, C_APPEARED, C_FINISHED, C_KINDS };

/* One task of the comparison: its kind and its entry in A or B. */
struct centry {
    int kind;
    const struct ctask *t;   /* in B, or in A when finished */
    const struct ctask *was; /* in A, when in both */
};

static int centry_cmp(const void *a, const void *b)
{
    const struct centry *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    /* Alike tasks together: by state and stacks, then id. */
    if (x->kind == C_STILL && x->t->hash != y->t->hash)
        return x->t->hash < y->t->hash ? -1 : 1;
    return x->t->id < y->t->id ? -1 : x->t->id > y->t->id;
}

static void put_name(FILE *out, const char *name)
{
    char safe[4 * 96 + 1];
    fprintf(out, "\"%s\"", render_escape(safe, sizeof(safe), name, strlen(name), true));
}

/* One line for a run of N alike entries E: count, ids, a few names. */
static void put_run(FILE *out, const struct centry *e, size_t n, bool detail)
{
    char c[28], lo[28], hi[28], dur[RENDER_DURATION_MAX];
    uint64_t min = e[0].t->id, max = e[0].t->id;
    for (size_t i = 1; i < n; i++) {
        min = e[i].t->id < min ? e[i].t->id : min;
        max = e[i].t->id > max ? e[i].t->id : max;
    }
    if (n == 1)
        fprintf(out, "  task %s ", group_count((size_t)e[0].t->id, lo));
    else
        fprintf(out, "  %s tasks (ids %s-%s: ", group_count(n, c), group_count((size_t)min, lo),
                group_count((size_t)max, hi));
    for (size_t i = 0; i < n && i < 3; i++) {
        if (i)
            fputs(", ", out);
        put_name(out, e[i].t->name);
    }
    if (n > 3)
        fputs(", ...", out);
    if (n > 1)
        fputs(")", out);
    if (detail) {
        char safe[4 * 12 + 1];
        fprintf(out, " %s, %" PRIu64 " %s",
                render_escape(safe, sizeof(safe), e[0].t->state, strlen(e[0].t->state), false),
                e[0].t->polls, e[0].t->polls == 1 ? "poll" : "polls");
        if (e[0].t->idle_ns >= 0)
            fprintf(out, ", idle %s", render_duration(e[0].t->idle_ns, dur));
    }
    fputs("\n", out);
}

static const char *const kind_title[C_KINDS] = {
    "did not move (same poll count, same stacks)",
    "moved (polled in between)",
    "appeared (not in the first dump)",
    "finished (not in the second dump)",
};
static const char *const kind_key[C_KINDS] = {"still", "moved", "appeared", "finished"};

int compare_files(const char *a, const char *b, bool json, FILE *out, char *why, size_t whylen,
                  const char **code)
{
    struct cdump da = {0}, db = {0};
    struct centry *e = NULL;
    size_t n = 0, count[C_KINDS] = {0};
    int rc = -1;
    char inner[256];
    const char *path = a;
    if (read_dump(a, &da, inner, sizeof(inner), code) < 0 ||
        (path = b, read_dump(b, &db, inner, sizeof(inner), code) < 0)) {
        char safe[4 * 256 + 1];
        snprintf(why, whylen, "cannot compare %s: %s",
                 render_escape(safe, sizeof(safe), path, strlen(path), false), inner);
        goto out;
    }
    if (da.pid != db.pid) {
        snprintf(why, whylen, "cannot compare: the dumps are of two processes, PID %d and PID %d",
                 da.pid, db.pid);
        *code = "NOT_SAME_PROCESS";
        goto out;
    }
    e = malloc((da.n + db.n + 1) * sizeof(*e));
    if (!e) {
        snprintf(why, whylen, "out of memory");
        *code = "ENOMEM";
        goto out;
    }
    size_t i = 0, k = 0;
    while (i < da.n || k < db.n) {
        if (k == db.n || (i < da.n && da.tasks[i].id < db.tasks[k].id)) {
            e[n++] = (struct centry){C_FINISHED, &da.tasks[i++], NULL};
        } else if (i == da.n || db.tasks[k].id < da.tasks[i].id) {
            e[n++] = (struct centry){C_APPEARED, &db.tasks[k++], NULL};
        } else {
            const struct ctask *was = &da.tasks[i++], *now = &db.tasks[k++];
            bool still = was->polls == now->polls && was->hash == now->hash;
            e[n++] = (struct centry){still ? C_STILL : C_MOVED, now, was};
        }
        count[e[n - 1].kind]++;
    }
    if (n)
        qsort(e, n, sizeof(*e), centry_cmp);
    int64_t ta = parse_taken_at(da.taken_at), tb = parse_taken_at(db.taken_at);
    if (json) {
        fprintf(out, "{\"version\":1,\"pid\":%d,\"first_taken_at\":", db.pid);
        fprintf(out, ta >= 0 ? "\"%s\"" : "null", da.taken_at);
        fputs(",\"second_taken_at\":", out);
        fprintf(out, tb >= 0 ? "\"%s\"" : "null", db.taken_at);
        if (ta >= 0 && tb >= 0)
            fprintf(out, ",\"interval_ms\":%" PRId64, tb - ta);
        else
            fputs(",\"interval_ms\":null", out);
        size_t at = 0;
        for (int kind = 0; kind < C_KINDS; kind++) {
            fprintf(out, ",\"%s\":[", kind_key[kind]);
            for (size_t m = 0; m < count[kind]; m++, at++)
                fprintf(out, m ? ",%" PRIu64 : "%" PRIu64, e[at].t->id);
            fputs("]", out);
        }
        fputs("}\n", out);
    } else {
        char c[4][28], dur[RENDER_DURATION_MAX];
        fprintf(out, "PID %d", db.pid);
        if (ta >= 0 && tb >= 0)
            fprintf(out, ", dumps %s%s apart", tb < ta ? "-" : "",
                    render_duration(tb >= ta ? (tb - ta) * 1000000 : (ta - tb) * 1000000, dur));
        fprintf(out, ": %s did not move, %s moved, %s appeared, %s finished\n",
                group_count(count[C_STILL], c[0]), group_count(count[C_MOVED], c[1]),
                group_count(count[C_APPEARED], c[2]), group_count(count[C_FINISHED], c[3]));
        size_t at = 0;
        for (int kind = 0; kind < C_KINDS; kind++) {
            if (count[kind])
                fprintf(out, "%s:\n", kind_title[kind]);
            /* Tasks that did not move, alike ones on one line; the
             * others, one line for each kind. */
            size_t end = at + count[kind];
            while (at < end) {
                size_t run = 1;
                if (kind == C_STILL)
                    while (at + run < end && e[at + run].t->hash == e[at].t->hash)
                        run++;
                else
                    run = end - at;
                put_run(out, e + at, run, kind == C_STILL);
                at += run;
            }
        }
    }
    rc = count[C_STILL] ? COMPARE_EXIT_STILL : 0;
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(why, whylen, "cannot write the output: %s", strerror(errno));
        *code = "OUTPUT";
        rc = -1;
    }
out:
    free(e);
    free(da.buf);
    free(da.tasks);
    free(db.buf);
    free(db.tasks);
    return rc;
}
