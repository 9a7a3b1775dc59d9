/* The registry under concurrent creation and removal. */
#include <pthread.h>
#include <stdlib.h>

#include "../../libtargetrt/rt_internal.h"
#include "suites.h"
#include "twaker.h"

#define THREADS 4
#define ROUNDS 2000
#define BATCH 8

struct worker {
    struct tleaf leaves[BATCH];
    unsigned long long last_id;
    int errors;
};

static void *churn(void *arg)
{
    struct worker *w = arg;
    for (int r = 0; r < ROUNDS; r++) {
        trt_future *t[BATCH];
        for (int i = 0; i < BATCH; i++) {
            tleaf_init(&w->leaves[i]);
            t[i] = trt_traced_new(&w->leaves[i].base, "churn");
            if (!t[i]) {
                w->errors++;
                continue;
            }
            unsigned long long id = trt_traced_id(t[i]);
            /* Ids grow and are never reused. */
            if (id <= w->last_id)
                w->errors++;
            w->last_id = id;
        }
        for (int i = 0; i < BATCH; i++)
            trt_traced_free(t[i]);
    }
    return NULL;
}

START_TEST(concurrent_create_free)
{
    pthread_t th[THREADS];
    struct worker *w = calloc(THREADS, sizeof(*w));
    uint64_t live0 = trt__registry_live();
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, churn, &w[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(w[i].errors, 0);
    ck_assert_uint_eq(trt__registry_live(), live0);
    struct trt_registry *reg = trt__registry_get();
    ck_assert_uint_eq(reg->next_id, 1 + (uint64_t)THREADS * ROUNDS * BATCH);
    /* Slots are recycled: at most THREADS * BATCH were ever in use. */
    ck_assert_uint_eq(reg->nchunks, 1);
    struct trt_task_slot *slots = (struct trt_task_slot *)(uintptr_t)reg->chunks[0];
    for (uint32_t i = 0; i < TRT_REGISTRY_CHUNK_SLOTS; i++) {
        ck_assert_uint_eq(slots[i].id, 0);
        ck_assert_uint_eq(slots[i].state, TRT_TASK_FREE);
    }
    free(w);
}
END_TEST

START_TEST(grows_past_one_chunk)
{
    size_t n = TRT_REGISTRY_CHUNK_SLOTS + 10;
    struct tleaf *leaves = calloc(n, sizeof(*leaves));
    trt_future **t = calloc(n, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        tleaf_init(&leaves[i]);
        t[i] = trt_traced_new(&leaves[i].base, "many");
        ck_assert_ptr_nonnull(t[i]);
    }
    struct trt_registry *reg = trt__registry_get();
    ck_assert_uint_eq(reg->nchunks, 2);
    ck_assert_uint_eq(reg->live, n);
    for (size_t i = 0; i < n; i++)
        trt_traced_free(t[i]);
    ck_assert_uint_eq(reg->live, 0);
    free(t);
    free(leaves);
}
END_TEST

Suite *suite_registry(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("concurrency");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, concurrent_create_free);
    tcase_add_test(tc, grows_past_one_chunk);
    suite_add_tcase(s, tc);
    return s;
}
