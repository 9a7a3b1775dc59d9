/* The ring: two writers and a concurrent reader that must never accept a
 * torn record. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../libtargetrt/ring.h"
#include "target/records.h"
#include "gen_util.h"
#include "suites.h"

#define WRITES 1000000

struct writer {
    struct trt_ring *ring;
    uint64_t base;   /* task ids of this writer: base + i */
    uint64_t writes; /* how many records it writes */
};

/* Every record's content is a function of its task id. */
static uint32_t npc_of(uint64_t id)
{
    return 1 + (uint32_t)(id % TRT_RECORD_MAX_PCS);
}

static uint64_t pc_of(uint64_t id, uint32_t i)
{
    return id * 1000003u + i;
}

static void *write_many(void *arg)
{
    struct writer *w = arg;
    uint64_t pcs[TRT_RECORD_MAX_PCS];
    for (uint64_t i = 0; i < w->writes; i++) {
        uint64_t id = w->base + i;
        for (uint32_t k = 0; k < npc_of(id); k++)
            pcs[k] = pc_of(id, k);
        trt__ring_write(w->ring, 1, id, 0, pcs, npc_of(id));
    }
    return NULL;
}

START_TEST(two_writers_one_reader)
{
    struct trt_ring *r = trt__ring_new(256);
    ck_assert_ptr_nonnull(r);
    trt__ring_begin_gen(r, 1);
    struct writer w[2] = {{r, 1, WRITES}, {r, 1ull << 40, WRITES}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
    uint64_t accepted = 0, reads = 0;
    while (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) < 2ull * WRITES) {
        struct records_result res;
        ck_assert_int_eq(records_collect(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 1, &res), 0);
        for (size_t i = 0; i < res.n; i++) {
            const struct records_rec *rec = &res.recs[i];
            ck_assert_uint_eq(rec->npc, npc_of(rec->task_id));
            for (uint32_t k = 0; k < rec->npc; k++)
                ck_assert_uint_eq(rec->pc[k], pc_of(rec->task_id, k));
        }
        accepted += res.n;
        reads++;
        records_free(&res);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(r->head, 2ull * WRITES);
    ck_assert_uint_gt(reads, 0);
    ck_assert_uint_gt(accepted, 0);
    /* Once the writers are done, everything still in the ring is whole. */
    struct records_result fin;
    ck_assert_int_eq(records_collect(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 1, &fin), 0);
    ck_assert_uint_eq(fin.n, r->capacity);
    ck_assert_uint_eq(fin.torn, 0);
    ck_assert_uint_eq(fin.lost, 2ull * WRITES - r->capacity);
    records_free(&fin);
    trt__ring_free(r);
}
END_TEST

START_TEST(reader_rejects_corruption)
{
    struct trt_ring *r = trt__ring_new(64);
    trt__ring_begin_gen(r, 7);
    uint64_t pcs[3] = {1, 2, 3};
    for (int i = 0; i < 4; i++)
        trt__ring_write(r, 7, 100 + i, 0, pcs, 3);
    struct trt_record *recs = (struct trt_record *)(r + 1);
    recs[1].pc[2] = 99;    /* payload changed: checksum fails */
    recs[2].stamp = 12345; /* stamp of another position */
    recs[3].npc = 1000;    /* out of bounds */
    struct records_result res;
    ck_assert_int_eq(records_collect(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 7, &res), 0);
    ck_assert_uint_eq(res.n, 1);
    ck_assert_uint_eq(res.recs[0].task_id, 100);
    ck_assert_uint_eq(res.torn, 3);
    records_free(&res);
    /* Another generation's ring, and a header that is not a ring. */
    ck_assert_int_eq(records_collect(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 8, &res), -ESTALE);
    r->capacity = 1000;
    ck_assert_int_eq(records_collect(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 7, &res), -EPROTO);
    r->capacity = 64;
    r->gen_start = r->head + 1;
    ck_assert_int_eq(records_collect(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 7, &res), -EPROTO);
    /* A head far past the ring only counts as lost records. */
    r->gen_start = 0;
    r->head = 1ull << 62;
    ck_assert_int_eq(records_collect(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 7, &res), 0);
    ck_assert_uint_eq(res.n, 0);
    ck_assert_uint_eq(res.lost, (1ull << 62) - 64);
    records_free(&res);
    r->head = 4;
    trt__ring_free(r);
}
END_TEST

/* The decoding both readers share (protocol.h): a copy is whole only with
 * its own position's stamp, npc in bounds and its checksum; a generation
 * keeps the last `capacity` of its positions, the rest lost. */
START_TEST(shared_decoding)
{
    struct trt_ring *r = trt__ring_new(64);
    trt__ring_begin_gen(r, 3);
    uint64_t pcs[2] = {5, 6};
    trt__ring_write(r, 3, 9, 0, pcs, 2);
    struct trt_record rec = ((struct trt_record *)(r + 1))[trt_ring_slot(0, r->capacity)];
    ck_assert(trt_record_whole(&rec, 0));
    ck_assert(!trt_record_whole(&rec, 1));
    rec.pc[1] = 7;
    ck_assert(!trt_record_whole(&rec, 0));
    rec.pc[1] = 6;
    rec.npc = TRT_RECORD_MAX_PCS + 1;
    ck_assert(!trt_record_whole(&rec, 0));
    rec.npc = 2;
    rec.stamp = 0; /* being written */
    ck_assert(!trt_record_whole(&rec, 0));
    trt__ring_free(r);

    ck_assert_uint_eq(trt_ring_slot(64 + 5, 64), 5);
    uint64_t first = 0;
    ck_assert_uint_eq(trt_ring_gen_first(10, 74, 64, &first), 0);
    ck_assert_uint_eq(first, 10);
    ck_assert_uint_eq(trt_ring_gen_first(10, 75, 64, &first), 1);
    ck_assert_uint_eq(first, 11);
    ck_assert_uint_eq(trt_ring_gen_first(10, 10, 64, &first), 0);
    ck_assert_uint_eq(first, 10);
}
END_TEST

START_TEST(generation_filters_records)
{
    struct trt_ring *r = trt__ring_new(64);
    uint64_t pcs[1] = {42};
    trt__ring_begin_gen(r, 1);
    trt__ring_write(r, 1, 1, 0, pcs, 1);
    trt__ring_begin_gen(r, 2);
    trt__ring_write(r, 2, 2, 0, pcs, 1);
    trt__ring_write(r, 1, 3, 0, pcs, 1); /* a straggler of generation 1 */
    struct records_result res;
    ck_assert_int_eq(records_collect(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 2, &res), 0);
    ck_assert_uint_eq(res.n, 1);
    ck_assert_uint_eq(res.recs[0].task_id, 2);
    records_free(&res);
    trt__ring_free(r);
}
END_TEST

/* Reads in steps while two writers fill a ring large enough for all their
 * records, then the final read: every record kept exactly once, whole. */
#define STEP_WRITES 20000

START_TEST(steps_then_final)
{
    struct trt_ring *r = trt__ring_new(65536);
    ck_assert_ptr_nonnull(r);
    trt__ring_begin_gen(r, 1);
    struct writer w[2] = {{r, 1, STEP_WRITES}, {r, 1ull << 40, STEP_WRITES}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, write_many, &w[i]), 0);
    struct records_progress p = {0};
    unsigned steps = 0;
    do {
        ck_assert_int_eq(records_step(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 1, &p), 0);
        steps++;
    } while (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) < 2ull * STEP_WRITES);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert(!p.gave_up);
    struct records_result res;
    ck_assert_int_eq(records_finish(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 1, &p, &res), 0);
    ck_assert_ptr_null(p.state);
    ck_assert_uint_eq(res.n, 2ull * STEP_WRITES);
    ck_assert_uint_eq(res.torn, 0);
    ck_assert_uint_eq(res.lost, 0);
    uint64_t seen[2] = {0, 0};
    for (size_t i = 0; i < res.n; i++) {
        const struct records_rec *rec = &res.recs[i];
        ck_assert_uint_eq(rec->npc, npc_of(rec->task_id));
        for (uint32_t k = 0; k < rec->npc; k++)
            ck_assert_uint_eq(rec->pc[k], pc_of(rec->task_id, k));
        /* Each writer's ids come in order, once each. */
        int who = rec->task_id >= (1ull << 40);
        ck_assert_uint_eq(rec->task_id, w[who].base + seen[who]);
        seen[who]++;
        if (i > 0)
            ck_assert_uint_gt(rec->pos, res.recs[i - 1].pos);
    }
    ck_assert_uint_gt(steps, 0);
    records_free(&res);

    /* A step of another generation drops what was kept: the final read
     * reads all. */
    struct records_progress q = {0};
    ck_assert_int_eq(records_step(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 1, &q), 0);
    ck_assert_ptr_nonnull(q.state);
    ck_assert_int_eq(records_step(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 2, &q), -ESTALE);
    ck_assert(q.gave_up);
    ck_assert_ptr_null(q.state);
    ck_assert_int_eq(records_finish(tt_mem_read, NULL, (uint64_t)(uintptr_t)r, 1, &q, &res), 0);
    ck_assert_uint_eq(res.n, 2ull * STEP_WRITES);
    records_free(&res);
    trt__ring_free(r);
}
END_TEST

Suite *suite_ring(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("ring");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_writers_one_reader);
    tcase_add_test(tc, steps_then_final);
    tcase_add_test(tc, reader_rejects_corruption);
    tcase_add_test(tc, generation_filters_records);
    tcase_add_test(tc, shared_decoding);
    suite_add_tcase(s, tc);
    return s;
}
