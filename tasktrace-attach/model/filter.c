/* Filters of the tasks shown (filter.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tasktrace/protocol.h>

#include "model/filter.h"
#include "model/tree.h"
#include "model/trim.h"

void filter_init(struct filter *f)
{
    memset(f, 0, sizeof(*f));
    f->min_idle_ns = -1;
}

int filter_set_match(struct filter *f, const char *regex, char *why, size_t whylen)
{
    if (f->has_match) {
        regfree(&f->match);
        f->has_match = false;
    }
    int rc = regcomp(&f->match, regex, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &f->match, why, whylen);
        return -EINVAL;
    }
    f->has_match = true;
    return 0;
}

int filter_add_states(struct filter *f, const char *arg)
{
    static const struct {
        const char *name;
        unsigned state;
    } names[] = {{"idle", TRT_TASK_IDLE}, {"polling", TRT_TASK_POLLING}, {"done", TRT_TASK_DONE}};
    const char *p = arg;
    for (;;) {
        size_t len = strcspn(p, ",");
        bool known = false;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (len == strlen(names[i].name) && strncmp(p, names[i].name, len) == 0) {
                f->states |= 1u << names[i].state;
                known = true;
            }
        if (!known)
            return -EINVAL;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

int filter_set_min_idle(struct filter *f, const char *seconds)
{
    char *end;
    errno = 0;
    double s = strtod(seconds, &end);
    if (errno || end == seconds || *end || !(s >= 0) || s > 1e9)
        return -EINVAL;
    f->min_idle_ns = (int64_t)(s * 1e9 + 0.5);
    return 0;
}

bool filter_active(const struct filter *f)
{
    return f->has_match || f->states != 0 || f->min_idle_ns >= 0;
}

static bool frame_matches(const struct filter *f, const struct frame *fr)
{
    return (fr->function && regexec(&f->match, fr->function, 0, NULL, 0) == 0) ||
           (fr->file && regexec(&f->match, fr->file, 0, NULL, 0) == 0);
}

/* Whether a frame of T, as printed, matches --match.  -ENOMEM as true:
 * a task is never hidden for want of memory. */
static bool task_matches(const struct filter *f, const struct tt_task *t, bool raw)
{
    size_t most = t->has_thread_stack ? t->thread_stack.n : 0;
    for (size_t s = 0; s < t->nstacks; s++)
        if (t->stacks[s].n > most)
            most = t->stacks[s].n;
    const struct frame **buf = malloc((most ? most : 1) * sizeof(*buf));
    if (!buf)
        return true;
    bool hit = false;
    for (size_t s = 0; s < t->nstacks && !hit; s++) {
        size_t n = tree_trim_stack(&t->stacks[s], raw, buf);
        for (size_t i = 0; i < n && !hit; i++)
            hit = frame_matches(f, buf[i]);
    }
    if (!hit && t->state == TRT_TASK_POLLING && t->has_thread_stack) {
        size_t n = trim_live_stack(&t->thread_stack, raw, buf);
        for (size_t i = 0; i < n && !hit; i++)
            hit = frame_matches(f, buf[i]);
    }
    free(buf);
    return hit;
}

bool filter_task(const struct filter *f, const struct tt_task *t, bool raw)
{
    if (f->states && (t->state >= 32 || !(f->states & (1u << t->state))))
        return false;
    if (f->min_idle_ns >= 0) {
        int64_t ns = t->state == TRT_TASK_POLLING ? t->poll_ns : t->idle_ns;
        if (ns < 0 || ns < f->min_idle_ns)
            return false;
    }
    return !f->has_match || task_matches(f, t, raw);
}

int filter_apply(const struct filter *f, struct tt_dump *d, bool raw)
{
    size_t n = d->ntasks, kept = 0, out = 0;
    if (!filter_active(f))
        return 0;
    struct tt_task *sorted = malloc((n ? n : 1) * sizeof(*sorted));
    bool *pass = malloc((n ? n : 1) * sizeof(*pass));
    if (!sorted || !pass) {
        free(sorted);
        free(pass);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        pass[i] = filter_task(f, &d->tasks[i], raw);
        kept += pass[i];
    }
    size_t in = 0;
    for (size_t i = 0; i < n; i++)
        sorted[pass[i] ? in++ : kept + out++] = d->tasks[i];
    if (n)
        memcpy(d->tasks, sorted, n * sizeof(*sorted));
    free(sorted);
    free(pass);
    d->ntasks_total = n;
    d->ntasks = kept;
    return 0;
}

void filter_free(struct filter *f)
{
    if (f->has_match)
        regfree(&f->match);
    f->has_match = false;
}
