/* proc.c: a process's memory and /proc files, here this very process's:
 * memory read and written both ways (process_vm_* and /proc/PID/mem), its
 * state, thread names and tracer, thread ids mapped across PID namespaces,
 * its mappings and root. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <check.h>

#include "suites.h"
#include "target/proc.h"

START_TEST(test_thread_from_ns)
{
    /* One namespace: the identity. */
    pid_t tid = (pid_t)syscall(SYS_gettid), host = 0;
    ck_assert_int_eq(proc_thread_from_ns(getpid(), tid, &host), 0);
    ck_assert_int_eq(host, tid);
    ck_assert_int_eq(proc_thread_from_ns(getpid(), getpid(), &host), 0);
    ck_assert_int_eq(host, getpid());
    ck_assert_int_eq(proc_thread_from_ns(getpid(), 0, &host), -EINVAL);
    ck_assert_int_eq(proc_thread_from_ns(getpid(), INT_MAX, &host), -ESRCH);
    ck_assert_int_eq(proc_thread_from_ns(INT_MAX, 1, &host), -ESRCH);
}
END_TEST

START_TEST(test_memory)
{
    static char word[16] = "tasktrace";
    /* Both ways of reading: process_vm_readv, and /proc/PID/mem (the
     * fallback, forced as the test hook forces it). */
    for (int mem = 0; mem < 2; mem++) {
        strcpy(word, "tasktrace");
        struct proc_target t;
        ck_assert_int_eq(proc_open(&t, getpid()), 0);
        t.force_mem = mem;
        char buf[16] = "";
        ck_assert_int_eq(proc_read(&t, (uintptr_t)word, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "tasktrace");
        /* The string with its NUL, from a buffer as long as what is written. */
        static const char via[2][8] = {"via vm", "via mem"};
        ck_assert_int_eq(proc_write(&t, (uintptr_t)word, via[mem], sizeof(via[mem])), 0);
        ck_assert_str_eq(word, via[mem]);
        /* An unmapped page: -EFAULT, not a short copy. */
        ck_assert_int_eq(proc_read(&t, 0x1000, buf, 8), -EFAULT);
        proc_close(&t);
    }
    struct proc_target t;
    ck_assert_int_eq(proc_open(&t, INT_MAX), -ESRCH);
}
END_TEST

START_TEST(test_state_comm)
{
    ck_assert_int_eq(proc_alive(getpid()), 1);
    ck_assert_int_eq(proc_alive(INT_MAX), 0);
    ck_assert_int_eq(proc_state(getpid()), 'R');
    ck_assert_int_eq(proc_state(INT_MAX), 0);
    ck_assert_int_eq(prctl(PR_SET_NAME, "tt-proc-test"), 0);
    char name[16];
    pid_t tid = (pid_t)syscall(SYS_gettid);
    ck_assert_int_eq(proc_thread_comm(getpid(), tid, name, sizeof(name)), 0);
    ck_assert_str_eq(name, "tt-proc-test");
    /* Cut to the buffer, still terminated. */
    ck_assert_int_eq(proc_thread_comm(getpid(), tid, name, 4), 0);
    ck_assert_str_eq(name, "tt-");
    ck_assert_int_lt(proc_thread_comm(getpid(), INT_MAX, name, sizeof(name)), 0);
    /* A thread that is gone has an unknown tracer, not none. */
    ck_assert_int_ge(proc_tracer(getpid(), tid), 0);
    ck_assert_int_eq(proc_tracer(getpid(), INT_MAX), -1);
}
END_TEST

/* proc_map_fn: counts the mappings, notes one that maps ARG's address,
 * stops with 7 at the [stack]. */
struct maps_seen {
    uintptr_t addr;
    size_t n;
    bool found;
    char perms[8];
};

static int maps_count(void *arg, const struct proc_map *m)
{
    struct maps_seen *seen = arg;
    seen->n++;
    if (m->start <= seen->addr && seen->addr < m->end) {
        seen->found = true;
        memcpy(seen->perms, m->perms, sizeof(seen->perms));
    }
    return strcmp(m->name, "[stack]") == 0 ? 7 : 0;
}

START_TEST(test_maps_root)
{
    /* This function's code is mapped executable; the walk stops where
     * the callback says, with what it said. */
    struct maps_seen seen = {.addr = (uintptr_t)maps_count};
    ck_assert_int_eq(proc_maps_each(getpid(), maps_count, &seen), 7);
    ck_assert(seen.found);
    ck_assert_int_eq(seen.perms[2], 'x');
    ck_assert_uint_gt(seen.n, 1);
    ck_assert_int_eq(proc_maps_each(INT_MAX, maps_count, &seen), -ENOENT);
    char root[64];
    ck_assert_int_gt(proc_root(getpid(), root, sizeof(root)), 0);
    ck_assert_int_eq(root[0], '/');
    ck_assert_int_eq(proc_root(getpid(), root, 1), -ENAMETOOLONG);
    ck_assert_int_eq(proc_root(INT_MAX, root, sizeof(root)), -ENOENT);
}
END_TEST

Suite *suite_proc(void)
{
    Suite *s = suite_create("proc");
    TCase *tc = tcase_create("self");
    tcase_add_test(tc, test_memory);
    tcase_add_test(tc, test_state_comm);
    tcase_add_test(tc, test_thread_from_ns);
    tcase_add_test(tc, test_maps_root);
    suite_add_tcase(s, tc);
    return s;
}
