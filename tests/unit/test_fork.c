/* fork() beside a busy runtime: the child inherits no lock held, no thread,
 * and gets a working doorbell at its first task. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../libtargetrt/rt_internal.h"
#include "gen_util.h"
#include "suites.h"

/* gcc 12's AddressSanitizer allocator takes no lock around fork(): a lock
 * of it that another thread of the parent held is held for good in the
 * child, whose doorbell thread then waits on it at its first allocation
 * (seen: the child's dump never starts).  A plain build forks as glibc
 * does, with malloc's locks reset in the child. */
#if defined(__SANITIZE_ADDRESS__)
#define FORK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FORK_ASAN 1
#endif
#endif

#ifndef FORK_ASAN
static atomic_bool stop;

/* Polls one traced task with two wakers in turn, so that every poll
 * replaces its cached waker under the task's spin lock. */
static void *swap_wakers(void *arg)
{
    struct ttask *t = arg;
    while (!atomic_load(&stop)) {
        ttask_poll(&t[0]);
        ttask_poll(&t[1]);
    }
    return NULL;
}

START_TEST(fork_beside_waker_swaps)
{
    struct tleaf l;
    tleaf_init(&l);
    /* t[2] is the child's own task; the thread polls t[0] and t[1]. */
    struct ttask t[3] = {{.inner = &l.base}, {.inner = &l.base}, {.inner = NULL}};
    t[0].traced = trt_traced_new(&l.base, "swapped");
    t[1].traced = t[0].traced;
    ck_assert_ptr_nonnull(t[0].traced);
    /* A waker cached before the first fork, so the child can wake it. */
    ttask_poll(&t[0]);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, swap_wakers, t), 0);
    for (int i = 0; i < 60; i++) {
        pid_t child = fork();
        ck_assert_int_ge(child, 0);
        if (child == 0) {
            /* A lock inherited held would make the dump spin forever. */
            alarm(10);
            struct tleaf l2;
            tleaf_init(&l2);
            t[2].inner = &l2.base;
            t[2].traced = trt_traced_new(&l2.base, "child");
            if (!t[2].traced)
                _exit(10);
            ttask_poll(&t[2]);
            uint32_t gen = trt__dump_request();
            if (ttask_run_until_done(t, 3, gen, 5000) < 0)
                _exit(11);
            struct trt_task_slot *s = ((struct trt__task *)t[0].traced)->slot;
            _exit(s->traced_gen == gen && (s->flags & TRT_TASK_F_INHERITED) ? 0 : 12);
        }
        int st;
        ck_assert_int_eq(waitpid(child, &st, 0), child);
        ck_assert_msg(WIFEXITED(st), "fork %d: child killed by signal %d", i, WTERMSIG(st));
        ck_assert_msg(WEXITSTATUS(st) == 0, "fork %d: child exit %d", i, WEXITSTATUS(st));
    }
    atomic_store(&stop, true);
    pthread_join(th, NULL);
    tleaf_drop(&l);
    trt_traced_free(t[0].traced);
}
END_TEST
#endif

Suite *suite_fork(void)
{
    Suite *s = suite_create("fork");
    TCase *tc = tcase_create("fork");
    tcase_set_timeout(tc, 60);
#ifdef FORK_ASAN
    printf("SKIP: fork_beside_waker_swaps: built with AddressSanitizer, whose allocator is not "
           "fork-safe beside other threads\n");
#else
    tcase_add_test(tc, fork_beside_waker_swaps);
#endif
    suite_add_tcase(s, tc);
    return s;
}
