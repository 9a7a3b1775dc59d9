/* The capture's stack walk (stackwalk.c) finds the same return addresses as
 * backtrace(), through frames of every shape the compilers and libc make,
 * and gives up (for backtrace() to do the work) where it models nothing:
 * a signal frame. */
#include <alloca.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../libtargetrt/rt_internal.h"
#include "suites.h"

#define MAXPCS (TRT_RECORD_MAX_PCS + 1)

struct walk {
    uint64_t cfi[MAXPCS];
    int ncfi;
    void *bt[MAXPCS];
    int nbt;
    uint32_t gen;
};

static volatile int sink;

/* Both walks from one frame: their first entries are two call sites in
 * this function, the rest must be the same addresses. */
__attribute__((noinline)) static void walk_both(struct walk *w)
{
    w->ncfi = trt__stackwalk(w->cfi, MAXPCS, w->gen);
    sink++;
    w->nbt = backtrace(w->bt, MAXPCS);
    sink++;
}

/* The sanitizers intercept backtrace(): their interceptor's frame comes
 * first in its list, one entry the walk (called directly) does not have. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define INTERCEPTED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define INTERCEPTED 1
#endif
#endif
#ifndef INTERCEPTED
#define INTERCEPTED 0
#endif

static void assert_same(const struct walk *w)
{
    ck_assert_int_gt(w->ncfi, 2);
    /* An interceptor's frame shifts backtrace()'s list by one; a cut one
     * then ends one frame earlier. */
    int shift = w->nbt - w->ncfi;
    if (w->ncfi == MAXPCS && w->nbt == MAXPCS)
        shift = INTERCEPTED && w->cfi[1] != (uint64_t)(uintptr_t)w->bt[1];
    ck_assert_int_ge(shift, 0);
    ck_assert_int_le(shift, INTERCEPTED);
    for (int i = 1; i + shift < w->nbt && i < w->ncfi; i++)
        ck_assert_msg(w->cfi[i] == (uint64_t)(uintptr_t)w->bt[i + shift],
                      "frame %d: the walk found %#llx, backtrace() %p", i,
                      (unsigned long long)w->cfi[i], w->bt[i + shift]);
}

/* A frame whose CFA is rbp-based (alloca), recursing through frames of
 * plain rsp-based ones and one with a large array. */
__attribute__((noinline)) static void deep_big(struct walk *w, int depth);

__attribute__((noinline)) static void deep_alloca(struct walk *w, int depth)
{
    volatile char *p = alloca((size_t)(depth * 24 + 8));
    p[0] = (char)depth;
    deep_big(w, depth);
    sink += p[0];
}

__attribute__((noinline)) static void deep_big(struct walk *w, int depth)
{
    volatile char big[70000];
    big[depth] = 1;
    if (depth == 0)
        walk_both(w);
    else if (depth % 2)
        deep_alloca(w, depth - 1);
    else
        deep_big(w, depth - 1);
    sink += big[depth];
}

START_TEST(same_as_backtrace)
{
    struct walk w = {.gen = 7};
    deep_big(&w, 9);
    assert_same(&w);
    /* The second walk of a generation is answered from the table. */
    struct walk again = {.gen = 7};
    deep_big(&again, 9);
    assert_same(&again);
}
END_TEST

/* Through libc's own frames: a qsort comparator walks. */
static struct walk *cmp_walk;

static int cmp_walking(const void *a, const void *b)
{
    if (cmp_walk->ncfi == 0)
        walk_both(cmp_walk);
    return *(const int *)a - *(const int *)b;
}

START_TEST(through_libc)
{
    struct walk w = {.gen = 8};
    int v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (i * 37) % 64;
    cmp_walk = &w;
    qsort(v, 64, sizeof(v[0]), cmp_walking);
    assert_same(&w);
}
END_TEST

/* A thread's stack ends at clone's frame, as backtrace()'s does. */
static void *thread_walk(void *arg)
{
    deep_big(arg, 3);
    return NULL;
}

START_TEST(on_a_thread)
{
    struct walk w = {.gen = 9};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, thread_walk, &w), 0);
    pthread_join(t, NULL);
    assert_same(&w);
}
END_TEST

__attribute__((noinline)) static void deep_small(struct walk *w, int depth)
{
    volatile char small[40];
    small[depth % 40] = 1;
    if (depth == 0)
        deep_big(w, 2);
    else
        deep_small(w, depth - 1);
    sink += small[depth % 40];
}

/* A stack deeper than the record: `max` entries, like backtrace(). */
START_TEST(cut_at_max)
{
    struct walk w = {.gen = 10};
    deep_small(&w, 2 * MAXPCS);
    ck_assert_int_eq(w.ncfi, MAXPCS);
    assert_same(&w);
}
END_TEST

/* In a signal handler the walk meets the kernel's signal frame, which it
 * does not model: it says so, and the capture uses backtrace(). */
static volatile int handler_ret = 1;

static void on_signal(int sig)
{
    (void)sig;
    uint64_t pcs[MAXPCS];
    handler_ret = trt__stackwalk(pcs, MAXPCS, 11);
}

START_TEST(signal_frame_falls_back)
{
    struct sigaction sa = {.sa_handler = on_signal}, old;
    ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
    raise(SIGUSR1);
    sigaction(SIGUSR1, &old, NULL);
    ck_assert_int_eq(handler_ret, -ENOTSUP);
}
END_TEST

#if !defined(__x86_64__) || !defined(HAVE__DL_FIND_OBJECT)
/* Where the walk cannot run, it says so at once. */
START_TEST(unavailable)
{
    uint64_t pcs[4];
    ck_assert_int_eq(trt__stackwalk(pcs, 4, 1), -ENOSYS);
}
END_TEST
#endif

Suite *suite_stackwalk(void)
{
    Suite *s = suite_create("stackwalk");
    TCase *tc = tcase_create("core");
#if defined(__x86_64__) && defined(HAVE__DL_FIND_OBJECT)
    tcase_add_test(tc, same_as_backtrace);
    tcase_add_test(tc, through_libc);
    tcase_add_test(tc, on_a_thread);
    tcase_add_test(tc, cut_at_max);
    tcase_add_test(tc, signal_frame_falls_back);
#else
    tcase_add_test(tc, unavailable);
#endif
    suite_add_tcase(s, tc);
    return s;
}
