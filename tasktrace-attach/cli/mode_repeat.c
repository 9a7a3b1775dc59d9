/* --repeat N PID: N dumps of PID, o.interval seconds from the start of one
 * to the start of the next, compared as --compare compares two files
 * (compare.h): a task did not move when every dump lists it with the
 * first one's poll count and stacks.  Each dump is taken by a child of
 * this process running the dump mode with --json, into a pipe: the dumps
 * share the path of a single one and its problems, messages and
 * failures. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <tasktrace/clock.h>

#include "model/compare.h"
#include "cli/diag.h"
#include "cli/exitcodes.h"
#include "util/jsonread.h"
#include "cli/modes.h"
#include "util/duration.h"
#include "util/escape.h"
#include "views/render.h"
#include "cli/session.h"
#include "cli/spawn.h"

static int64_t wall_ms(void)
{
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    return (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
}

/* What the child of one dump needs. */
struct dump_child {
    struct session *ss;
    struct compare *c;
    pid_t parent;
    int64_t taken_at_ms; /* the dump's moment, taken before the fork */
};

/* The child of one dump: the dump mode with --json, its stdout the pipe
 * WFD.  Exits with the dump's status. */
static void dump_child(void *arg, int wfd)
{
    struct dump_child *dc = arg;
    struct session *ss = dc->ss;
    /* It dies with this process: a dump nobody will read is not to go on
     * holding the target's threads.  A parent gone before the prctl is
     * seen by getppid. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != dc->parent)
        _exit(EXIT_FATAL);
    /* Its own process group: a Ctrl-C reaches this process only, which
     * passes it on once. */
    setpgid(0, 0);
    if (wfd != STDOUT_FILENO && dup2(wfd, STDOUT_FILENO) < 0)
        _exit(EXIT_FATAL);
    /* Without CLOEXEC on the copy: it is the dump's stdout. */
    if (wfd == STDOUT_FILENO)
        fcntl(STDOUT_FILENO, F_SETFD, 0);
    else
        close(wfd);
    compare_free(dc->c);
    ss->o.json = true;
    ss->o.group = 0;
    ss->o.repeat = 0;
    ss->o.mode = MODE_DUMP;
    session_start_clock(ss, dc->taken_at_ms);
    exit(session_finish(ss, mode_live(ss)));
}

/* Why a dump of --repeat failed (exit status 2), from the error document
 * DOC (LEN bytes) its child wrote: its code and its message (the line the
 * child said on stderr), kept for this process's own error document. */
static void repeat_failure(const char *doc, size_t len)
{
    struct jsonread_doc d;
    char inner[128], code[32] = "FAILED", why[DIAG_LINE_MAX] = "the dump failed";
    if (jsonread_parse(doc, len, &d, inner, sizeof(inner)) == 0) {
        const struct jsonread_value *error = jsonread_get(&d.root, "error");
        const char *c = jsonread_str(jsonread_get(error, "code")),
                   *m = jsonread_str(jsonread_get(error, "message"));
        if (c != NULL && strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") == strlen(c))
            snprintf(code, sizeof(code), "%s", c);
        /* The child escaped what it said; a control byte would still not
         * be copied to the terminal. */
        if (m != NULL) {
            snprintf(why, sizeof(why), "%s", m);
            for (char *p = why; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    *p = '?';
        }
        jsonread_free(&d);
    }
    diag_set_failure(code, why);
}

/* Takes dump I of N in a child and adds it to C.  Returns 0, or -1 after
 * saying why nothing is compared. */
static int repeat_one(struct session *ss, struct compare *c, int i, int n)
{
    pid_t pid = ss->o.pid;
    /* The dump's moment is taken here, before the fork: the spacing of
     * the dumps is then the interval's, whenever the scheduler first runs
     * each child. */
    struct dump_child dc = {.ss = ss, .c = c, .parent = getpid(), .taken_at_ms = wall_ms()};
    struct spawn sp = {.stop = &interrupted};
    int err = spawn_start(&sp, dump_child, &dc);
    if (err != 0) {
        fatal(err == -EMFILE ? "EMFILE" : "FAILED", "cannot take dump %d of %d of PID %d: %s", i, n,
              (int)pid, strerror(-err));
        return -1;
    }
    /* The child's document, up to JSONREAD_MAX_INPUT bytes; past that, or
     * once it could not grow, the rest is drained (the child is not left
     * blocked on a full pipe). */
    char *doc = NULL, rwhy[128];
    size_t doclen = 0;
    int status = 0;
    int rerr = jsonread_read_fd(sp.fd, spawn_forward, &sp, &doc, &doclen, rwhy, sizeof(rwhy));
    err = spawn_finish(&sp, NULL, NULL, &status);
    err = rerr ? rerr : err;
    if (err != 0) {
        free(doc);
        fatal(err == -ENOMEM ? "ENOMEM" : "FAILED", "dump %d of %d of PID %d: %s", i, n, (int)pid,
              err == -E2BIG ? "the document is too large to compare" : strerror(-err));
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FATAL) {
        /* The child said why on stderr; its error document has the same
         * line and its code. */
        msg("dump %d of %d of PID %d failed; nothing is compared", i, n, (int)pid);
        repeat_failure(doc, doclen);
        free(doc);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) > EXIT_PARTIAL) {
        free(doc);
        fatal("FAILED", "dump %d of %d of PID %d failed: %s %d", i, n, (int)pid,
              WIFEXITED(status) ? "exit status" : "killed by signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return -1;
    }
    char why[512], causes[128];
    const char *code = "FAILED";
    err = compare_add(c, doc, doclen, causes, sizeof(causes), why, sizeof(why), &code);
    free(doc);
    if (err != 0) {
        fatal(code, "dump %d of %d of PID %d: %s", i, n, (int)pid, why);
        return -1;
    }
    if (causes[0])
        msg("dump %d of %d of PID %d is partial (%s): a task it missed may show as moved", i, n,
            (int)pid, causes);
    return 0;
}

/* Sleeps until NEXT (CLOCK_MONOTONIC, ns) or an interrupt. */
static void sleep_until(uint64_t next)
{
    struct timespec ts = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
    while (!interrupted && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int mode_repeat(struct session *ss)
{
    struct options *o = &ss->o;
    struct compare c = {0};
    int rc = EXIT_FATAL, n = o->repeat;
    uint64_t step = (uint64_t)(o->interval * 1e9), next = 0;
    for (int i = 1; i <= n && !interrupted; i++) {
        if (i > 1)
            sleep_until(next);
        if (interrupted)
            break;
        next = trt_clock_ns(CLOCK_MONOTONIC) + step;
        if (repeat_one(ss, &c, i, n) != 0)
            goto out;
    }
    if (interrupted) {
        msg("interrupted after %zu of %d dumps of PID %d; nothing is compared", c.ndumps, n,
            (int)o->pid);
        diag_set_failure("INTERRUPTED", diag_last_message());
        if (o->json)
            render_json_error(stdout, o->pid, "INTERRUPTED", diag_last_message(),
                              ss->d.taken_at_ms);
        diag_output_written();
        rc = EXIT_INTERRUPTED;
        goto out;
    }
    rc = compare_report(&c, o->json);
out:
    compare_free(&c);
    return rc;
}
