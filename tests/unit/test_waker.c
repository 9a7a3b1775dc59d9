/* The ABI helpers and the wrapper's cached waker: every clone is dropped. */
#include <errno.h>
#include <unistd.h>

#include "../../libtargetrt/rt_internal.h"
#include "suites.h"
#include "twaker.h"

START_TEST(helpers_forward_to_vtable)
{
    struct twaker tw = {0};
    trt_waker b = twaker_borrow(&tw);
    trt_waker c = trt_waker_clone(&b);
    ck_assert_int_eq(atomic_load(&tw.refs), 1);
    ck_assert(trt_waker_will_wake(&b, &c));
    trt_waker_wake_by_ref(&c);
    ck_assert_int_eq(atomic_load(&tw.wakes), 1);
    trt_waker_wake(c);
    ck_assert_int_eq(atomic_load(&tw.wakes), 2);
    ck_assert_int_eq(atomic_load(&tw.refs), 0);
    struct twaker other = {0};
    trt_waker o = twaker_borrow(&other);
    ck_assert(!trt_waker_will_wake(&b, &o));
}
END_TEST

START_TEST(wrapper_clone_drop_balance)
{
    struct twaker a = {0}, b = {0};
    struct tleaf leaf;
    tleaf_init(&leaf);
    trt_future *t = trt_traced_new(&leaf.base, "balance");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_gt(trt_traced_id(t), 0);
    trt_waker wa = twaker_borrow(&a), wb = twaker_borrow(&b);
    trt_context ca = {&wa}, cb = {&wb};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(trt_future_poll(t, &ca), TRT_PENDING);
    /* The leaf keeps one clone, the wrapper one: same waker, no churn. */
    ck_assert_int_eq(atomic_load(&a.refs), 2);
    ck_assert_int_eq(trt_future_poll(t, &cb), TRT_PENDING);
    ck_assert_int_eq(atomic_load(&a.refs), 0);
    ck_assert_int_eq(atomic_load(&b.refs), 2);
    leaf.ready = true;
    ck_assert_int_eq(trt_future_poll(t, &cb), TRT_READY);
    tleaf_drop(&leaf);
    trt_traced_free(t);
    ck_assert_int_eq(atomic_load(&b.refs), 0);
}
END_TEST

START_TEST(traced_new_rejects_bad_input)
{
    errno = 0;
    ck_assert_ptr_null(trt_traced_new(NULL, "x"));
    ck_assert_int_eq(errno, EINVAL);
    trt_future nopoll = {NULL};
    ck_assert_ptr_null(trt_traced_new(&nopoll, "x"));
    ck_assert_uint_eq(trt_traced_id(&nopoll), 0);
    trt_traced_free(NULL);
}
END_TEST

START_TEST(slot_tracks_polls_and_state)
{
    struct twaker a = {0};
    struct tleaf leaf;
    tleaf_init(&leaf);
    trt_future *t = trt_traced_new(
        &leaf.base, "a name that is much longer than the sixty-three bytes a slot keeps, really");
    struct trt__task *task = (struct trt__task *)t;
    ck_assert_uint_eq(strlen(task->slot->name), TRT_TASK_NAME_MAX - 1);
    ck_assert_uint_eq(task->slot->state, TRT_TASK_IDLE);
    ck_assert_uint_eq(task->slot->poll_end_ns, 0);
    trt_waker wa = twaker_borrow(&a);
    trt_context ca = {&wa};
    trt_future_poll(t, &ca);
    trt_future_poll(t, &ca);
    ck_assert_uint_eq(task->slot->polls, 2);
    ck_assert_uint_gt(task->slot->poll_end_ns, 0);
    ck_assert_uint_eq(task->slot->tid, 0);
    leaf.ready = true;
    trt_future_poll(t, &ca);
    ck_assert_uint_eq(task->slot->state, TRT_TASK_DONE);
    tleaf_drop(&leaf);
    trt_traced_free(t);
}
END_TEST

/* A leaf that sleeps inside its poll and notes what the slot said then. */
struct slow_leaf {
    trt_future base;
    struct trt_task_slot *slot;
    uint64_t seen_start;
    uint32_t seen_state;
    pid_t seen_tid;
};

static trt_poll slow_leaf_poll(trt_future *f, trt_context *cx)
{
    struct slow_leaf *l = (struct slow_leaf *)f;
    (void)cx;
    usleep(60 * 1000);
    l->seen_start = TRT_LOAD(&l->slot->poll_start_ns);
    l->seen_state = TRT_LOAD(&l->slot->state);
    l->seen_tid = TRT_LOAD(&l->slot->tid);
    return TRT_PENDING;
}

/* poll_start_ns is the start of the poll in progress, however long the
 * polling thread was idle before it; poll_end_ns, once the poll returned,
 * is that same reading. */
START_TEST(poll_times_are_this_polls)
{
    struct twaker a = {0};
    struct slow_leaf leaf = {{slow_leaf_poll}, NULL, 0, 0, 0};
    trt_future *t = trt_traced_new(&leaf.base, "slow");
    ck_assert_ptr_nonnull(t);
    leaf.slot = ((struct trt__task *)t)->slot;
    ck_assert_uint_eq(leaf.slot->poll_start_ns, 0);
    trt_waker wa = twaker_borrow(&a);
    trt_context ca = {&wa};
    trt_future_poll(t, &ca);
    /* The thread is idle for 200 ms between two polls. */
    usleep(200 * 1000);
    /* Coarse clock: one tick (at most 10 ms) of resolution either way. */
    const uint64_t tick = 10 * 1000000ull;
    uint64_t before = trt_clock_ns(CLOCK_MONOTONIC);
    trt_future_poll(t, &ca);
    uint64_t after = trt_clock_ns(CLOCK_MONOTONIC);
    ck_assert_uint_eq(leaf.seen_state, TRT_TASK_POLLING);
    ck_assert_int_eq(leaf.seen_tid, trt_gettid());
    /* Read as the poll began, not at the end of the thread's last poll. */
    ck_assert_uint_ge(leaf.seen_start + tick, before);
    ck_assert_uint_le(leaf.seen_start, before + tick);
    ck_assert_uint_le(leaf.seen_start, after);
    ck_assert_uint_eq(leaf.slot->poll_start_ns, leaf.seen_start);
    ck_assert_uint_eq(leaf.slot->poll_end_ns, leaf.seen_start);
    ck_assert_uint_eq(leaf.slot->state, TRT_TASK_IDLE);
    trt_traced_free(t);
}
END_TEST

Suite *suite_waker(void)
{
    Suite *s = suite_create("waker");
    TCase *tc = tcase_create("abi");
    tcase_add_test(tc, helpers_forward_to_vtable);
    tcase_add_test(tc, wrapper_clone_drop_balance);
    tcase_add_test(tc, traced_new_rejects_bad_input);
    tcase_add_test(tc, slot_tracks_polls_and_state);
    tcase_add_test(tc, poll_times_are_this_polls);
    suite_add_tcase(s, tc);
    return s;
}
