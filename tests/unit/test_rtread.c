/* target/rtread.c: the runtime found in a real child process that links
 * it, and its control block and registry read from outside (a case that
 * needs ptrace's access to another process's memory:
 * tcase_rtread_ptrace); and the checks and bounds on what it reads, over
 * control blocks and registries made corrupt here. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <check.h>

#include "../../libtargetrt/rt_internal.h"
#include "symbols/lookup.h"
#include "target/proc.h"
#include "target/rtread.h"
#include "gen_util.h"
#include "suites.h"

/* The child: three traced tasks, "rt-b" polled twice, then a wait to be
 * killed.  Tells the parent through FD once they are registered. */
static _Noreturn void rtread_child(int fd)
{
    static const char *const names[] = {"rt-a", "rt-b", "rt-c"};
    static struct tleaf leaves[3];
    static struct ttask tasks[3];
    for (int i = 0; i < 3; i++) {
        tleaf_init(&leaves[i]);
        tasks[i].inner = &leaves[i].base;
        tasks[i].traced = trt_traced_new(tasks[i].inner, names[i]);
        if (tasks[i].traced == NULL)
            _exit(2);
        ttask_poll(&tasks[i]);
    }
    ttask_poll(&tasks[1]);
    if (write(fd, "r", 1) != 1)
        _exit(3);
    for (;;)
        pause();
}

START_TEST(test_rtread_child)
{
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        rtread_child(ready[1]);
    }
    close(ready[1]);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);

    int err;
    Dwfl *dwfl = lookup_dwfl_open_pid(pid, &err);
    ck_assert_msg(dwfl != NULL, "lookup_dwfl_open_pid: %d", err);
    uint64_t addr = 0;
    ck_assert_int_eq(rtread_locate(dwfl, &addr), 0);
    /* A fork of this runner: the symbol is where it is here. */
    ck_assert_uint_eq(addr, (uintptr_t)&tasktrace_control);
    struct proc_target t;
    ck_assert_int_eq(proc_open(&t, pid), 0);
    struct trt_control ctl;
    char why[256] = "";
    ck_assert_int_eq(rtread_read_control(&t, addr, &ctl, why, sizeof(why)), 0);
    ck_assert_uint_eq(ctl.magic, TRT_CONTROL_MAGIC);
    ck_assert_uint_ne(ctl.registry_addr, 0);
    struct rtread_registry reg;
    ck_assert_int_eq(rtread_read_registry(&t, ctl.registry_addr, &reg, why, sizeof(why)), 0);
    ck_assert_uint_eq(reg.n, 3);
    ck_assert_uint_eq(reg.dup_chunks, 0);
    ck_assert_uint_eq(reg.dup_ids, 0);
    ck_assert_uint_eq(reg.cut, 0);
    uint64_t polls[3] = {0};
    for (size_t i = 0; i < reg.n; i++) {
        const char *name = reg.slots[i].name;
        ck_assert_msg(strncmp(name, "rt-", 3) == 0 && name[3] >= 'a' && name[3] <= 'c' &&
                          name[4] == '\0',
                      "a slot named \"%s\"", name);
        ck_assert_uint_ne(reg.slots[i].id, 0);
        polls[name[3] - 'a'] = reg.slots[i].polls;
    }
    ck_assert_uint_eq(polls[0], 1);
    ck_assert_uint_eq(polls[1], 2);
    ck_assert_uint_eq(polls[2], 1);
    rtread_registry_free(&reg);
    ck_assert_ptr_null(reg.slots);
    proc_close(&t);
    dwfl_end(dwfl);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(test_rtread_control_checked)
{
    struct trt_control ctl = tasktrace_control, out;
    char why[256];
    ck_assert_int_eq(
        rtread_control_read(tt_mem_read, NULL, (uintptr_t)&ctl, &out, why, sizeof(why)), 0);
    ctl.size = 8;
    ck_assert_int_eq(
        rtread_control_read(tt_mem_read, NULL, (uintptr_t)&ctl, &out, why, sizeof(why)), -EPROTO);
    char want[64];
    snprintf(want, sizeof(want), "control block size 8, expected %zu", sizeof(ctl));
    ck_assert_str_eq(why, want);
    ctl.version = 99;
    ck_assert_int_eq(
        rtread_control_read(tt_mem_read, NULL, (uintptr_t)&ctl, &out, why, sizeof(why)), -EPROTO);
    ck_assert_ptr_nonnull(strstr(why, "protocol version 99"));
    ctl.magic = 0x1122334455667788ull;
    ck_assert_int_eq(
        rtread_control_read(tt_mem_read, NULL, (uintptr_t)&ctl, &out, why, sizeof(why)), -EPROTO);
    ck_assert_str_eq(why, "bad magic 0x1122334455667788");
}
END_TEST

/* A registry header made here, as the runtime would write it. */
static void registry_init(struct trt_registry *r)
{
    memset(r, 0, sizeof(*r));
    r->magic = TRT_REGISTRY_MAGIC;
    r->version = TRT_PROTOCOL_VERSION;
    r->size = sizeof(*r);
    r->chunk_slots = TRT_REGISTRY_CHUNK_SLOTS;
    r->slot_size = sizeof(struct trt_task_slot);
    r->max_chunks = TRT_REGISTRY_MAX_CHUNKS;
}

static int read_fails(void *ctx, uint64_t addr, void *buf, size_t len)
{
    (void)ctx, (void)addr, (void)buf, (void)len;
    return -EFAULT;
}

START_TEST(test_rtread_registry_corrupt)
{
    static struct trt_registry reg;
    struct rtread_registry out;
    char why[256];
    registry_init(&reg);
    /* Two chunks: A (ids 1, 2) given twice, B (ids 2, 3) overlapping it,
     * with a name that has no NUL. */
    struct trt_task_slot *a = calloc(TRT_REGISTRY_CHUNK_SLOTS, sizeof(*a));
    struct trt_task_slot *b = calloc(TRT_REGISTRY_CHUNK_SLOTS, sizeof(*b));
    ck_assert(a && b);
    a[0].id = 1;
    a[5].id = 2;
    b[7].id = 2;
    b[9].id = 3;
    memset(b[9].name, 'x', sizeof(b[9].name));
    reg.nchunks = 3;
    reg.chunks[0] = (uintptr_t)a;
    reg.chunks[1] = (uintptr_t)b;
    reg.chunks[2] = (uintptr_t)a;
    ck_assert_int_eq(
        rtread_registry_read(tt_mem_read, NULL, (uintptr_t)&reg, &out, why, sizeof(why)), 0);
    ck_assert_uint_eq(out.n, 3);
    ck_assert_uint_eq(out.dup_chunks, 1);
    ck_assert_uint_eq(out.dup_ids, 1);
    ck_assert_uint_eq(out.slots[0].id, 1);
    ck_assert_uint_eq(out.slots[1].id, 2);
    ck_assert_uint_eq(out.slots[2].id, 3);
    ck_assert_uint_eq(strlen(out.slots[2].name), TRT_TASK_NAME_MAX - 1);
    rtread_registry_free(&out);

    /* A header that claims more chunks than there may be. */
    reg.nchunks = TRT_REGISTRY_MAX_CHUNKS + 1;
    ck_assert_int_eq(
        rtread_registry_read(tt_mem_read, NULL, (uintptr_t)&reg, &out, why, sizeof(why)), -EPROTO);
    char want[96];
    snprintf(want, sizeof(want), "registry header at 0x%llx is corrupt",
             (unsigned long long)(uintptr_t)&reg);
    ck_assert_str_eq(why, want);
    ck_assert_uint_eq(out.n, 0);
    /* A read that fails: its error, and nothing kept. */
    ck_assert_int_eq(rtread_registry_read(read_fails, NULL, 0x1000, &out, why, sizeof(why)),
                     -EFAULT);
    ck_assert_ptr_null(out.slots);
    free(a);
    free(b);
}
END_TEST

Suite *suite_rtread(void)
{
    Suite *s = suite_create("rtread");
    TCase *tc = tcase_create("checked");
    tcase_add_test(tc, test_rtread_control_checked);
    tcase_add_test(tc, test_rtread_registry_corrupt);
    suite_add_tcase(s, tc);
    return s;
}

TCase *tcase_rtread_ptrace(void)
{
    TCase *tc = tcase_create("rtread_child");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_rtread_child);
    return tc;
}
