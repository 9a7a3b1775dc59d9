/* Dumps requested from inside the process: a queue of requests, the
 * signal that asks for one, and the doorbell's serving of them.
 *
 * A request (struct trt__dumpreq, in the caller's memory: a dump future or
 * the stack of trt_dump_write) is queued and a generation requested the
 * way a tool requests one.  The doorbell takes every queued request just
 * before it starts its next generation, starts it, waits for it to finish
 * (each request bounds that wait with its own timeout), writes a raw dump
 * (rawdump.c) to each request's destination and completes the requests:
 * their state word goes to DONE (a futex a blocking caller waits on) and
 * the waker a future left is woken.  The doorbell does all the writing, so
 * a destination that blocks holds up the doorbell, and with it the next
 * dump, but no task.
 *
 * A signal handed over with trt_dump_on_signal (or TASKTRACE_SIGNAL)
 * stands for one more request whose destination is fixed: the handler
 * only sets a flag and requests a generation (an atomic store and a
 * FUTEX_WAKE, both async-signal-safe).  Signals that come while that dump
 * is being served are coalesced into it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "rt_internal.h"

/* How long a signal's dump waits for the tasks to report. */
#define SIGNAL_TIMEOUT_MS 5000

/* Guards the queue, every queued request's waker and the signal's
 * destination. */
static pthread_mutex_t req_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct trt__dumpreq *queue;
/* The batch the doorbell is serving, NULL if none. */
static struct trt__dumpbatch *serving;
/* Set by the signal handler, cleared by the doorbell. */
static uint32_t sig_pending;
/* Set while the doorbell serves a signal's dump: a signal then only sets
 * sig_pending, which the end of that dump clears (coalesced), and asks
 * for no generation, which nobody would read. */
static uint32_t sig_serving;
/* The handed-over signal (0 if none), its old action, and where its dumps
 * go: "stderr", or a path with %p and %t. */
static int sig_no;
static struct sigaction sig_old;
static char sig_dest[PATH_MAX];
_Static_assert(sizeof(sig_dest) == sizeof(((struct trt__dumpbatch *)0)->sig_dest), "batch");

bool trt__dumpreq_pending(void)
{
    return __atomic_load_n(&sig_pending, __ATOMIC_SEQ_CST) ||
           __atomic_load_n(&queue, __ATOMIC_SEQ_CST) != NULL;
}

void trt__dumpreq_submit(struct trt__dumpreq *r)
{
    pthread_mutex_lock(&req_mutex);
    r->state = TRT__REQ_QUEUED;
    r->result = 0;
    r->next = queue;
    __atomic_store_n(&queue, r, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&req_mutex);
    /* After the queue: a doorbell that saw no request before this store
     * sees the request word change (see doorbell.c). */
    (void)trt__dump_request();
}

void trt__dumpreq_set_waker(struct trt__dumpreq *r, const trt_waker *w)
{
    trt_waker old = {NULL, NULL};
    trt_waker fresh = trt_waker_clone(w);
    pthread_mutex_lock(&req_mutex);
    if (r->state != TRT__REQ_DONE) {
        old = r->waker;
        r->waker = fresh;
        fresh.vtable = NULL;
    }
    pthread_mutex_unlock(&req_mutex);
    if (old.vtable)
        trt_waker_drop(old);
    if (fresh.vtable)
        trt_waker_wake(fresh);
}

uint32_t trt__dumpreq_state(struct trt__dumpreq *r)
{
    return __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
}

/* Waits until the doorbell completed r, up to deadline_ns (0: no limit);
 * false on timeout. */
static bool wait_done(struct trt__dumpreq *r, uint64_t deadline_ns)
{
    for (;;) {
        uint32_t st = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
        if (st == TRT__REQ_DONE)
            return true;
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
        if (deadline_ns && now >= deadline_ns)
            return false;
        uint64_t nap = deadline_ns ? deadline_ns - now : 1000000000u;
        struct timespec ts = trt_ns_timespec(nap < 1000000000u ? nap : 1000000000u);
        syscall(SYS_futex, &r->state, FUTEX_WAIT_PRIVATE, st, &ts, NULL, 0);
    }
}

int trt__dumpreq_wait(struct trt__dumpreq *r, uint64_t deadline_ns)
{
    if (!wait_done(r, deadline_ns)) {
        /* Not taken yet (no doorbell ran): withdrawn.  Taken: the doorbell
         * is serving it and bounds that by the request's own timeout. */
        pthread_mutex_lock(&req_mutex);
        bool queued = r->state == TRT__REQ_QUEUED;
        if (queued) {
            struct trt__dumpreq **p = &queue;
            while (*p != r)
                p = &(*p)->next;
            __atomic_store_n(p, r->next, __ATOMIC_SEQ_CST);
            r->state = TRT__REQ_DONE;
            r->result = -ETIMEDOUT;
        }
        pthread_mutex_unlock(&req_mutex);
        if (!queued)
            wait_done(r, 0);
    }
    return r->result;
}

void trt__dumpreq_cancel(struct trt__dumpreq *r)
{
    pthread_mutex_lock(&req_mutex);
    if (r->state == TRT__REQ_QUEUED) {
        struct trt__dumpreq **p = &queue;
        while (*p != r)
            p = &(*p)->next;
        __atomic_store_n(p, r->next, __ATOMIC_SEQ_CST);
        r->state = TRT__REQ_DONE;
        r->result = -ECANCELED;
    }
    pthread_mutex_unlock(&req_mutex);
    /* Being served: the doorbell writes into r until it completes it. */
    wait_done(r, 0);
    if (r->waker.vtable) {
        trt_waker_drop(r->waker);
        r->waker.vtable = NULL;
    }
}

void trt__dumpreq_take(struct trt__dumpbatch *b)
{
    pthread_mutex_lock(&req_mutex);
    b->list = queue;
    for (struct trt__dumpreq *r = queue; r; r = r->next)
        __atomic_store_n(&r->state, TRT__REQ_TAKEN, __ATOMIC_RELEASE);
    __atomic_store_n(&queue, NULL, __ATOMIC_SEQ_CST);
    b->signal = __atomic_exchange_n(&sig_pending, 0, __ATOMIC_SEQ_CST) != 0 && sig_no != 0;
    __atomic_store_n(&sig_serving, b->signal, __ATOMIC_SEQ_CST);
    if (b->signal)
        memcpy(b->sig_dest, sig_dest, sizeof(b->sig_dest));
    serving = b;
    pthread_mutex_unlock(&req_mutex);
}

/* Unlinks *p from the batch and completes it. */
static void complete(struct trt__dumpreq **p, int result)
{
    pthread_mutex_lock(&req_mutex);
    struct trt__dumpreq *r = *p;
    *p = r->next;
    trt_waker w = r->waker;
    r->waker.vtable = NULL;
    r->result = result;
    __atomic_store_n(&r->state, TRT__REQ_DONE, __ATOMIC_RELEASE);
    /* r may be freed from here on, by its owner. */
    pthread_mutex_unlock(&req_mutex);
    syscall(SYS_futex, &r->state, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
    if (w.vtable)
        trt_waker_wake(w);
}

/* One line on stderr, with no stdio: a signal's dump has no caller to
 * return an error to. */
static void say5(const char *a, const char *b, const char *c, const char *d, const char *e)
{
    char line[PATH_MAX + 200];
    size_t n = 0;
    const char *parts[] = {"libtargetrt: ", a, b, c, d, e};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t k = parts[i] ? strlen(parts[i]) : 0;
        if (k > sizeof(line) - 1 - n)
            k = sizeof(line) - 1 - n;
        memcpy(line + n, parts[i], k);
        n += k;
    }
    line[n++] = '\n';
    (void)trt__write_bounded(STDERR_FILENO, line, n, trt_clock_ns(CLOCK_MONOTONIC) + 1000000000ull);
}

static void say(const char *a, const char *b, const char *c)
{
    say5(a, b, c, "", "");
}

static void serve_signal(const char *dest, uint32_t gen, uint64_t waited_ms)
{
    /* A destination refused when the signal was handed over: the signal
     * is still caught (its default action would end the program). */
    if (!*dest) {
        say("a signal asked for a dump; none written: ", "TASKTRACE_DUMP was refused at start", "");
        return;
    }
    struct trt__dest_file f;
    int err = trt__dest_open(dest, &f);
    if (err < 0) {
        say("cannot write a dump to ", f.path[0] ? f.path : dest,
            err == -ELOOP    ? ": a directory on the way is a symbolic link (name its real path)"
            : err == -ENXIO  ? ": a FIFO nobody reads"
            : err == -EPERM  ? ": a FIFO of another user"
            : err == -EEXIST ? ": every name is taken"
                             : ": open failed");
        return;
    }
    struct trt__dump_dest d = {f.fd, NULL, NULL};
    err = trt__dest_close(&f, trt__rawdump_write(gen, waited_ms, &d));
    if (err < 0)
        say5("cannot write a dump to ", f.path[0] ? f.path : "stderr", ": ", strerror(-err),
             f.created ? " (the partial file is removed)" : "");
}

void trt__dumpreq_serve(struct trt__dumpbatch *b, uint32_t gen)
{
    uint64_t start = trt_clock_ns(CLOCK_MONOTONIC);
    uint64_t sig_deadline = b->signal ? start + SIGNAL_TIMEOUT_MS * 1000000ull : 0;
    for (;;) {
        bool done =
            (int32_t)(__atomic_load_n(&tasktrace_control.done, __ATOMIC_ACQUIRE) - gen) >= 0;
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
        uint64_t waited_ms = (now - start) / 1000000u;
        /* Each request whose time is up gets the dump as it stands. */
        uint64_t earliest = 0;
        for (struct trt__dumpreq **p = &b->list; *p;) {
            struct trt__dumpreq *r = *p;
            uint64_t deadline = start + (uint64_t)r->timeout_ms * 1000000u;
            if (done || now >= deadline) {
                complete(p, trt__rawdump_write(gen, waited_ms, &r->dest));
                continue;
            }
            if (earliest == 0 || deadline < earliest)
                earliest = deadline;
            p = &r->next;
        }
        if (b->signal && (done || now >= sig_deadline)) {
            serve_signal(b->sig_dest, gen, waited_ms);
            b->signal = false;
            /* Signals that came during this dump are served by it. */
            __atomic_store_n(&sig_pending, 0, __ATOMIC_SEQ_CST);
            __atomic_store_n(&sig_serving, 0, __ATOMIC_SEQ_CST);
        }
        if (b->signal && (earliest == 0 || sig_deadline < earliest))
            earliest = sig_deadline;
        if (earliest == 0)
            break;
        uint64_t left_ms = (earliest - now + 999999u) / 1000000u;
        (void)trt__dump_wait(gen, left_ms > INT32_MAX ? INT32_MAX : (int)left_ms);
    }
    pthread_mutex_lock(&req_mutex);
    serving = NULL;
    pthread_mutex_unlock(&req_mutex);
}

void trt__dumpreq_atfork_prepare(void)
{
    pthread_mutex_lock(&req_mutex);
}

void trt__dumpreq_atfork_parent(void)
{
    pthread_mutex_unlock(&req_mutex);
}

/* The child has none of the threads that asked for these dumps (a future
 * may still be awaited by an inherited task) and no doorbell: each
 * request is completed with -ECANCELED, without a wake, so that freeing it
 * never waits.  A signal that came before the fork is the parent's. */
void trt__dumpreq_atfork_child(void)
{
    struct trt__dumpreq *lists[2] = {queue, serving ? serving->list : NULL};
    for (int i = 0; i < 2; i++)
        for (struct trt__dumpreq *r = lists[i]; r; r = r->next) {
            r->result = -ECANCELED;
            __atomic_store_n(&r->state, TRT__REQ_DONE, __ATOMIC_RELEASE);
        }
    __atomic_store_n(&queue, NULL, __ATOMIC_SEQ_CST);
    serving = NULL;
    __atomic_store_n(&sig_pending, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sig_serving, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&req_mutex);
}

static void on_signal(int signo)
{
    (void)signo;
    int saved = errno;
    __atomic_store_n(&sig_pending, 1, __ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&sig_serving, __ATOMIC_SEQ_CST))
        (void)trt__dump_request();
    errno = saved;
}

static bool signal_can_serve(int signo)
{
    return !(signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP ||
             signo == SIGSEGV || signo == SIGBUS || signo == SIGILL || signo == SIGFPE ||
             signo == SIGTRAP || signo == SIGABRT || signo == SIGPIPE || signo == SIGCHLD);
}

/* Installs (dest) or gives back (NULL) the handler; dest "" catches the
 * signal and writes no dump (a destination refused at start). */
static int signal_install(int signo, const char *dest)
{
    int err = 0;
    if (dest && strlen(dest) >= sizeof(sig_dest))
        return -ENAMETOOLONG;
    pthread_mutex_lock(&req_mutex);
    if (!dest) {
        /* Handed back: the action it had before. */
        if (sig_no == signo) {
            sigaction(sig_no, &sig_old, NULL);
            sig_no = 0;
        } else {
            err = -ENOENT;
        }
        goto out;
    }
    if (sig_no != signo) {
        struct sigaction sa, old;
        if (sigaction(signo, NULL, &old) != 0) {
            err = -errno;
            goto out;
        }
        /* A handler the program installed is never replaced. */
        if ((old.sa_flags & SA_SIGINFO) ||
            (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)) {
            err = -EBUSY;
            goto out;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(signo, &sa, NULL) != 0) {
            err = -errno;
            goto out;
        }
        if (sig_no != 0)
            sigaction(sig_no, &sig_old, NULL);
        sig_old = old;
        sig_no = signo;
    }
    strcpy(sig_dest, dest);
out:
    pthread_mutex_unlock(&req_mutex);
    return err;
}

int trt__dumpreq_signal(int signo, const char *dest)
{
    if (!signal_can_serve(signo))
        return -EINVAL;
    int err = dest ? trt__dest_check(dest) : 0;
    return err < 0 ? err : signal_install(signo, dest);
}

static int signal_by_name(const char *s)
{
    static const struct {
        const char *name;
        int no;
    } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"USR1", SIGUSR1},
                 {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR}};
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].no;
    char *end;
    long n = strtol(s, &end, 10);
    return *s && !*end && n > 0 && n < NSIG ? (int)n : -1;
}

void trt__dumpreq_env(void)
{
    /* Once per process: a retried or a forked child's doorbell start
     * keeps what the first one installed. */
    static bool read;
    if (read)
        return;
    read = true;
    const char *sig = getenv("TASKTRACE_SIGNAL");
    const char *dest = getenv("TASKTRACE_DUMP");
    if (!sig || !*sig) {
        if (dest && *dest)
            say("TASKTRACE_DUMP is set without TASKTRACE_SIGNAL: ", "no signal dumps", "");
        return;
    }
    int signo = signal_by_name(sig);
    if (signo < 0 || !signal_can_serve(signo)) {
        say("TASKTRACE_SIGNAL=", sig, ": not a signal that can ask for a dump; ignored");
        return;
    }
    if (!dest || !*dest)
        dest = "stderr";
    int err = trt__dest_check(dest);
    if (err < 0) {
        /* Said once, here; the signal is still caught, so that sending it
         * (as the setting invites) never ends the program. */
        char shown[80];
        size_t k = strlen(dest) < sizeof(shown) - 4 ? strlen(dest) : sizeof(shown) - 4;
        memcpy(shown, dest, k);
        strcpy(shown + k, strlen(dest) > k ? "..." : "");
        say5("TASKTRACE_DUMP=", shown,
             err == -ENAMETOOLONG ? ": the path is too long (once %p and %t are expanded it must "
                                    "stay under 4,096 bytes, the file's name under 256)"
             : err == -ELOOP      ? ": a directory on the way is a symbolic link (name its real "
                                    "path)"
             : err == -EISDIR     ? ": names a directory, not a file"
                                  : ": only %p, %t and %% may follow a %",
             "; the signal is caught and writes no dump", "");
        err = signal_install(signo, "");
    } else {
        err = signal_install(signo, dest);
    }
    if (err == -EBUSY)
        say("TASKTRACE_SIGNAL=", sig, ": the program handles this signal itself; ignored");
    else if (err < 0)
        say("TASKTRACE_SIGNAL=", sig, ": not a signal that can ask for a dump; ignored");
}
