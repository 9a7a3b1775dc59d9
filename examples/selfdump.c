/* selfdump: a process that dumps its own tasks, without tasktrace-attach.
 *
 *   foo -> bar -> join -+- fiz -> pending
 *                       +- buz -> baz -> pending
 *   sleeper -> sleep (an hour)
 *   dumper -> the dump future
 *
 * By default the task "dumper" awaits trt_dump_future_new(1, ...) on the
 * single-threaded reference executor: the raw dump of every task, "dumper"
 * included, goes to stdout as one line of JSON.  Before that it checks
 * that trt_dump_write, called inside its poll, refuses with EDEADLK.
 *   --serve    then prints "pid <PID>" and runs until killed, so that the
 *              tool can dump the same tasks live;
 *   --thread   "dumper" does not run: the executor runs on a thread of its
 *              own and the main thread calls trt_dump_write(1, ...);
 *   --stuck    with --thread: a task "stuck" blocks its executor's thread
 *              inside its poll, so the dump (waiting 500 ms) is partial.
 * First it checks what trt_dump_on_signal takes and gives back.
 * Exit status: the dump's result (0 complete, 1 partial), 2 if it could
 * not be written, 3 if trt_dump_write did not refuse inside a poll or
 * trt_dump_on_signal misbehaved, 64 on bad usage. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tasktrace/exec.h>
#include <tasktrace/rt.h>

#include "example.h"

#define KEEP_FRAME() __asm__ volatile("" ::: "memory")
#define POLL_FN __attribute__((noinline))
#define TIMEOUT_MS 5000

struct chain {
    trt_future base;
    trt_future *child;
};

/* One frame per level: calls its child and keeps its own frame. */
static POLL_FN trt_poll fiz_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct chain *)f)->child, cx);
    KEEP_FRAME();
    return r;
}

static POLL_FN trt_poll baz_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct chain *)f)->child, cx);
    KEEP_FRAME();
    return r;
}

static POLL_FN trt_poll buz_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct chain *)f)->child, cx);
    KEEP_FRAME();
    return r;
}

static POLL_FN trt_poll bar_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct chain *)f)->child, cx);
    KEEP_FRAME();
    return r;
}

static POLL_FN trt_poll foo_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct chain *)f)->child, cx);
    KEEP_FRAME();
    return r;
}

static trt_pending p1, p2;
static struct chain fiz = {{fiz_poll}, &p1.base}, baz = {{baz_poll}, &p2.base},
                    buz = {{buz_poll}, &baz.base};
static trt_future *children[2] = {&fiz.base, &buz.base};
static bool done[2];
static trt_join join;
static struct chain bar = {{bar_poll}, &join.base}, foo = {{foo_poll}, &bar.base};
static trt_sleep nap;

struct dumper {
    trt_future base;
    trt_future *dump; /* NULL until the first poll */
    int result;
};

static POLL_FN trt_poll dumper_poll(trt_future *f, trt_context *cx)
{
    struct dumper *d = (struct dumper *)f;
    if (!d->dump) {
        /* Inside a poll: the blocking call must refuse, not deadlock. */
        int err = trt_dump_write(STDOUT_FILENO, TIMEOUT_MS);
        if (err != -EDEADLK) {
            fprintf(stderr, "selfdump: trt_dump_write inside a poll: %d, not -EDEADLK\n", err);
            d->result = 3;
            return TRT_READY;
        }
        d->dump = trt_dump_future_new(STDOUT_FILENO, TIMEOUT_MS);
        if (!d->dump) {
            perror("selfdump: trt_dump_future_new");
            d->result = 2;
            return TRT_READY;
        }
    }
    trt_poll r = trt_future_poll(d->dump, cx);
    KEEP_FRAME();
    if (r == TRT_PENDING)
        return TRT_PENDING;
    int res = trt_dump_future_result(d->dump);
    if (res < 0)
        fprintf(stderr, "selfdump: dump: %s\n", strerror(-res));
    d->result = res < 0 ? 2 : res;
    trt_dump_future_free(d->dump);
    d->dump = NULL;
    return TRT_READY;
}

/* Blocks the thread polling it for a minute. */
static POLL_FN trt_poll stuck_poll(trt_future *f, trt_context *cx)
{
    (void)f;
    (void)cx;
    sleep(60);
    return TRT_READY;
}

static trt_future stuck = {stuck_poll};

static void own_handler(int signo)
{
    (void)signo;
}

/* A signal the program handles is refused; one handed over is given back
 * with the action it had; SIGKILL cannot serve.  0, or 3. */
static int check_signal_api(void)
{
    struct sigaction sa, got;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = own_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGURG, &sa, NULL) != 0)
        return 3;
    int busy = trt_dump_on_signal(SIGURG, "stderr");
    int nokill = trt_dump_on_signal(SIGKILL, "stderr");
    int none = trt_dump_on_signal(SIGWINCH, NULL);
    int take = trt_dump_on_signal(SIGWINCH, "stderr");
    sigaction(SIGWINCH, NULL, &got);
    bool taken = got.sa_handler != SIG_DFL;
    int back = trt_dump_on_signal(SIGWINCH, NULL);
    sigaction(SIGWINCH, NULL, &got);
    sigaction(SIGURG, NULL, &sa);
    if (busy != -EBUSY || nokill != -EINVAL || none != -ENOENT || take != 0 || !taken ||
        back != 0 || got.sa_handler != SIG_DFL || sa.sa_handler != own_handler) {
        fprintf(stderr,
                "selfdump: trt_dump_on_signal: busy %d kill %d none %d take %d (%d) back %d\n",
                busy, nokill, none, take, taken, back);
        return 3;
    }
    return 0;
}

static void *run_executor(void *arg)
{
    int err = trt_exec_run(arg);
    fprintf(stderr, "selfdump: run: %s\n", strerror(-err));
    _exit(2);
}

int main(int argc, char **argv)
{
    bool serve = false, thread = false, blocked = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--serve") == 0) {
            serve = true;
        } else if (strcmp(argv[i], "--thread") == 0) {
            thread = true;
        } else if (strcmp(argv[i], "--stuck") == 0) {
            blocked = true;
        } else {
            fprintf(stderr, "usage: selfdump [--serve] [--thread [--stuck]]\n");
            return 64;
        }
    }
    int rc = check_signal_api();
    if (rc != 0)
        return rc;
    trt_exec *ex = trt_exec_new();
    if (!ex) {
        perror("selfdump: trt_exec_new");
        return 2;
    }
    trt_pending_init(&p1);
    trt_pending_init(&p2);
    trt_join_init(&join, children, done, 2);
    trt_sleep_init(&nap, ex, 3600ull * 1000000000u);
    if (trt_exec_spawn(ex, &foo.base, "foo", NULL, NULL) < 0 ||
        trt_exec_spawn(ex, &nap.base, "sleeper", NULL, NULL) < 0) {
        fprintf(stderr, "selfdump: spawn failed\n");
        return 2;
    }
    if (blocked && trt_exec_spawn(ex, &stuck, "stuck", NULL, NULL) < 0) {
        fprintf(stderr, "selfdump: spawn failed\n");
        return 2;
    }
    fflush(stdout);
    if (thread) {
        pthread_t th;
        if (pthread_create(&th, NULL, run_executor, ex) != 0) {
            fprintf(stderr, "selfdump: pthread_create failed\n");
            return 2;
        }
        /* Let the executor poll its tasks once, so they have wakers. */
        usleep(200 * 1000);
        int res = trt_dump_write(STDOUT_FILENO, blocked ? 500 : TIMEOUT_MS);
        if (res < 0)
            fprintf(stderr, "selfdump: trt_dump_write: %s\n", strerror(-res));
        _exit(res < 0 ? 2 : res);
    }
    struct dumper d = {{dumper_poll}, NULL, 0};
    int err = trt_exec_block_on(ex, &d.base, "dumper");
    if (err < 0) {
        fprintf(stderr, "selfdump: run: %s\n", strerror(-err));
        return 2;
    }
    if (d.result != 0 || !serve)
        return d.result;
    return example_serve(ex, "selfdump", NULL);
}
