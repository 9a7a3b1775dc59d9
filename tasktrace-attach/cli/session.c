/* What every mode that prints a dump shares. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/clock.h>

#include "cli/diag.h"
#include "model/dump.h"
#include "cli/exitcodes.h"
#include "model/filter.h"
#include "cli/problems.h"
#include "util/duration.h"
#include "util/escape.h"
#include "views/render.h"
#include "cli/session.h"

volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    interrupted = sig;
    /* A second Ctrl-C ends the tool at once. */
    signal(sig, SIG_DFL);
}

void session_catch_interrupts(void)
{
    /* Not SA_RESTART: an interrupt ends the naps of the wait at once. */
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void session_start_clock(struct session *ss, int64_t taken_at_ms)
{
    struct timespec wall;
    ss->t_start = trt_clock_ns(CLOCK_MONOTONIC);
    clock_gettime(CLOCK_REALTIME, &wall);
    ss->d.taken_at_ms =
        taken_at_ms ? taken_at_ms : (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
}

bool task_selected(struct options *o, const struct trt_task_slot *s)
{
    if (o->ntasks == 0)
        return true;
    bool any = false;
    for (int i = 0; i < o->ntasks; i++) {
        char *end;
        unsigned long long id = strtoull(o->tasks[i], &end, 10);
        bool hit = (*end == '\0' && end != o->tasks[i] && id == s->id) ||
                   strcmp(o->tasks[i], s->name) == 0;
        if (hit) {
            o->task_matched[i] = true;
            any = true;
        }
    }
    return any;
}

bool select_cb(void *arg, const struct trt_task_slot *s)
{
    return task_selected(arg, s);
}

/* Prints the dump in the view the options ask for.  Returns 0, -EPIPE
 * when the reader went away, or another -errno. */
static int print_dump(struct session *ss)
{
    const struct options *o = &ss->o;
    const char *term = getenv("TERM");
    struct render_opts ro = {
        .raw = o->raw,
        .no_source = o->no_source,
        .group = o->group,
        .summary = true,
        .color = o->color == 1 || (o->color == -1 && isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
                                   !(term && strcmp(term, "dumb") == 0)),
    };
    errno = 0;
    int err = o->json     ? render_json(stdout, &ss->d, &ro)
              : o->folded ? render_folded(stdout, &ss->d, &ro)
                          : render_text(stdout, &ss->d, &ro);
    diag_output_written();
    if (err == 0 && (fflush(stdout) != 0 || ferror(stdout)))
        err = errno ? -errno : -EIO;
    return err;
}

int session_report(struct session *ss)
{
    const struct options *o = &ss->o;
    int filters_hit = 0;
    for (int i = 0; i < o->ntasks; i++)
        filters_hit += o->task_matched[i];
    if (o->ntasks > 0 && filters_hit == 0) {
        char safe[256];
        fatal("NO_TASK", "PID %d has no task with id or name '%s'%s", (int)o->pid,
              esc(safe, sizeof(safe), o->tasks[0], false),
              o->ntasks > 1 ? " (nor any other --task given)" : "");
        return EXIT_FATAL;
    }
    problems_of_dump(ss);
    /* Complete means nothing is missing: no problem was named.  With
     * --task, that the selected tasks reported is enough. */
    ss->d.complete = ss->d.nproblems == 0 && ss->d.problems_dropped == 0;
    int rc = ss->d.complete ? EXIT_COMPLETE : EXIT_PARTIAL;
    /* The filters choose what is shown, once what is missing is named:
     * they change neither the problems nor the exit status. */
    if (filter_apply(&o->filter, &ss->d, o->raw) < 0) {
        fatal("ENOMEM", "out of memory");
        return EXIT_FATAL;
    }
    ss->d.elapsed_ns = trt_clock_ns(CLOCK_MONOTONIC) - ss->t_start;
    int err = print_dump(ss);
    /* The reader went away (| head): it has what it wanted. */
    if (err < 0 && err != -EPIPE) {
        fatal("OUTPUT", "cannot write the output: %s", strerror(-err));
        return EXIT_FATAL;
    }
    for (size_t i = 0; i < ss->d.nproblems; i++)
        msg("%s", ss->d.problems[i].message);
    return rc;
}

static void session_end(struct session *ss)
{
    /* The tasks the filters left out are still the dump's to free. */
    if (ss->d.ntasks_total > ss->d.ntasks)
        ss->d.ntasks = ss->d.ntasks_total;
    filter_free(&ss->o.filter);
    dump_free(&ss->d);
    records_free(&ss->ring);
    records_progress_free(&ss->ring_steps);
    rtread_registry_free(&ss->reg);
    if (ss->sym)
        lookup_free(ss->sym);
    if (ss->dwfl)
        dwfl_end(ss->dwfl);
    symbolize_end(&ss->symz);
    if (ss->core_opened)
        core_close(&ss->core);
    proc_close(&ss->t);
}

int session_finish(struct session *ss, int rc)
{
    /* --json: a failure is a document too, for scripts to branch on. */
    if (rc == EXIT_FATAL && ss->o.json)
        diag_error_document(ss->o.mode == MODE_COMPARE ? 0 : ss->o.pid, ss->d.taken_at_ms);
    session_end(ss);
    return rc;
}
