/* The report of a comparison of dumps (--compare, --repeat): text, or one
 * JSON document (docs/json.md), of what model/compare.c found.  The
 * target's strings in it (task names, states) are escaped as the text
 * view escapes them. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "views/render.h"
#include "model/group.h"
#include "util/duration.h"

static void put_name(FILE *out, const char *name)
{
    char safe[4 * 96 + 1];
    fprintf(out, "\"%s\"", esc_term(safe, sizeof(safe), name, strlen(name), true));
}

/* One line for a run of N alike entries E: count, ids, a few names. */
static void put_run(FILE *out, const struct compare_entry *e, size_t n, bool detail)
{
    char c[28], lo[28], hi[28], dur[DURATION_MAX];
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
                esc_term(safe, sizeof(safe), e[0].t->state, strlen(e[0].t->state), false),
                e[0].t->polls, e[0].t->polls == 1 ? "poll" : "polls");
        if (e[0].t->idle_ns >= 0)
            fprintf(out, ", idle %s", duration_format(e[0].t->idle_ns, dur));
    }
    fputs("\n", out);
}

static const char *const kind_title[COMPARE_KINDS] = {
    "did not move (same poll count, same stacks",
    "moved (polled in between)",
    "appeared (not in the first dump)",
    "finished (not in the last dump)",
};
static const char *const kind_key[COMPARE_KINDS] = {"still", "moved", "appeared", "finished"};

static void print_json(const struct compare *c, const struct compare_result *r, FILE *out)
{
    int64_t ta = r->taken_ms[0], tb = r->taken_ms[1];
    fprintf(out, "{\"version\":1,\"pid\":%d,\"first_taken_at\":", r->pid);
    fprintf(out, ta >= 0 ? "\"%s\"" : "null", r->taken_at[0]);
    fputs(",\"second_taken_at\":", out);
    fprintf(out, tb >= 0 ? "\"%s\"" : "null", r->taken_at[1]);
    if (ta >= 0 && tb >= 0)
        fprintf(out, ",\"interval_ms\":%" PRId64, tb - ta);
    else
        fputs(",\"interval_ms\":null", out);
    fprintf(out, ",\"dumps\":%zu,\"partial\":[", c->ndumps);
    for (size_t i = 0; i < c->npartial; i++)
        fprintf(out, i ? ",%zu" : "%zu", c->partial[i]);
    fputs("]", out);
    size_t at = 0;
    for (int kind = 0; kind < COMPARE_KINDS; kind++) {
        fprintf(out, ",\"%s\":[", kind_key[kind]);
        for (size_t m = 0; m < r->count[kind]; m++, at++)
            fprintf(out, m ? ",%" PRIu64 : "%" PRIu64, r->e[at].t->id);
        fputs("]", out);
    }
    fputs("}\n", out);
}

static void print_text(const struct compare *c, const struct compare_result *r, FILE *out)
{
    char n[4][28], dur[DURATION_MAX];
    int64_t ta = r->taken_ms[0], tb = r->taken_ms[1];
    const size_t *count = r->count;
    fprintf(out, "PID %d", r->pid);
    if (ta >= 0 && tb >= 0) {
        duration_format(tb >= ta ? (tb - ta) * 1000000 : (ta - tb) * 1000000, dur);
        if (c->ndumps == 2)
            fprintf(out, ", dumps %s%s apart", tb < ta ? "-" : "", dur);
        else
            fprintf(out, ", %zu dumps over %s%s", c->ndumps, tb < ta ? "-" : "", dur);
    } else if (c->ndumps > 2) {
        fprintf(out, ", %zu dumps", c->ndumps);
    }
    fprintf(out, ": %s did not move, %s moved, %s appeared, %s finished\n",
            group_count(count[COMPARE_STILL], n[0]), group_count(count[COMPARE_MOVED], n[1]),
            group_count(count[COMPARE_APPEARED], n[2]), group_count(count[COMPARE_FINISHED], n[3]));
    size_t at = 0;
    for (int kind = 0; kind < COMPARE_KINDS; kind++) {
        if (count[kind] && kind == COMPARE_STILL)
            fprintf(out, "%s%s):\n", kind_title[kind], c->ndumps > 2 ? ", in every dump" : "");
        else if (count[kind])
            fprintf(out, "%s:\n", kind_title[kind]);
        /* Tasks that did not move, alike ones on one line; the others,
         * one line for each kind. */
        size_t end = at + count[kind];
        while (at < end) {
            size_t run = 1;
            if (kind == COMPARE_STILL)
                while (at + run < end && r->e[at + run].t->hash == r->e[at].t->hash)
                    run++;
            else
                run = end - at;
            put_run(out, r->e + at, run, kind == COMPARE_STILL);
            at += run;
        }
    }
    for (size_t i = 0; i < c->npartial; i++)
        fprintf(out, "incomplete: dump %zu of %zu is partial (%s)\n", c->partial[i], c->ndumps,
                c->partial_causes[i]);
}

int compare_print(struct compare *c, bool json, FILE *out, char *why, size_t whylen,
                  const char **code)
{
    struct compare_result r;
    if (compare_result_build(c, &r, why, whylen, code) != 0)
        return -1;
    errno = 0;
    if (json)
        print_json(c, &r, out);
    else
        print_text(c, &r, out);
    int rc = r.verdict;
    if (fflush(out) != 0 || ferror(out)) {
        int err = errno ? errno : EIO;
        snprintf(why, whylen, "cannot write the output: %s", strerror(err));
        *code = "OUTPUT";
        /* The reader went away (| head): it has what it wanted. */
        if (err != EPIPE)
            rc = -1;
    }
    compare_result_free(&r);
    return rc;
}
