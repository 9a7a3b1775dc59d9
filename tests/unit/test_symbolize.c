/* model/symbolize.c: saved dumps read back into the model of a dump and
 * symbolized offline against this very runner, unstripped: a --json
 * document whose names were blanked out, and a raw dump the runtime wrote
 * of tasks of this process; a saved dump's problems and a module not
 * found, kept or counted past the cap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "../../libtargetrt/rt_internal.h"
#include "model/symbolize.h"
#include "views/render.h"
#include "gen_util.h"
#include "suites.h"

struct chain {
    trt_future base;
    trt_future *next;
};

static volatile int sink;

/* noinline and work after the call: each stays a real frame. */
__attribute__((noinline)) static trt_poll symz_outer_poll(trt_future *f, trt_context *cx)
{
    trt_poll r = trt_future_poll(((struct chain *)f)->next, cx);
    sink++;
    return r;
}

__attribute__((noinline)) static trt_poll symz_leaf_poll(trt_future *f, trt_context *cx)
{
    (void)f;
    trt_waker w = trt_waker_clone(cx->waker);
    trt_waker_drop(w);
    sink++;
    return TRT_PENDING;
}

/* A temporary file's path, in PATH (room for 64 bytes), and its fd. */
static int temp_file(char *path)
{
    strcpy(path, "/tmp/tt-test-symbolize-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* SAVED written as the --json --raw view writes it, to a temporary file
 * whose path goes into PATH (room for 64 bytes). */
static void write_saved(const struct tt_dump *saved, char *path)
{
    FILE *f = fdopen(temp_file(path), "w");
    ck_assert_ptr_nonnull(f);
    struct render_opts raw = {.raw = true, .group = 0};
    ck_assert_int_eq(render_json(f, saved, &raw), 0);
    ck_assert_int_eq(fclose(f), 0);
}

/* The functions of every frame of every stack of task NAME in D, root
 * first, one string separated by spaces. */
static void stack_names(const struct tt_dump *d, const char *name, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->ntasks; i++) {
        if (strcmp(d->tasks[i].name, name) != 0)
            continue;
        for (size_t s = 0; s < d->tasks[i].nstacks; s++)
            for (size_t k = 0; k < d->tasks[i].stacks[s].n; k++) {
                const char *fn = d->tasks[i].stacks[s].frames[k]->function;
                int w = snprintf(out + used, len - used, "%s ", fn ? fn : "?");
                ck_assert_int_lt(w, (int)(len - used));
                used += (size_t)w;
            }
    }
}

START_TEST(test_symbolize_json)
{
    /* Two frames of this process, looked up live as the tool would... */
    int err;
    Dwfl *dwfl = lookup_dwfl_open_pid(getpid(), &err);
    ck_assert_ptr_nonnull(dwfl);
    lookup_ctx *sym = lookup_new(dwfl);
    ck_assert_ptr_nonnull(sym);
    uint64_t pcs[2] = {(uintptr_t)symz_outer_poll + 4, (uintptr_t)symz_leaf_poll + 4};
    struct frame blank[2];
    const struct frame *frames[2];
    for (int i = 0; i < 2; i++) {
        const struct frame *const *f;
        size_t nf;
        ck_assert_int_eq(lookup_pc(sym, pcs[i], false, &f, &nf), 0);
        ck_assert_ptr_nonnull(f[0]->build_id);
        /* ...then blanked out but for module, build id and offset. */
        blank[i] = (struct frame){.module = f[0]->module,
                                  .build_id = f[0]->build_id,
                                  .pc = f[0]->pc,
                                  .module_off = f[0]->module_off,
                                  .module_base = f[0]->module_base};
        frames[i] = &blank[i];
    }
    struct tt_stack st = {2, frames, false, false};
    struct tt_task task = {.id = 7,
                           .name = "saved",
                           .state = TRT_TASK_IDLE,
                           .polls = 2,
                           .idle_ns = 1000,
                           .reported = true,
                           .nstacks = 1,
                           .stacks = &st,
                           .poll_ns = -1};
    struct tt_dump saved = {
        .pid = getpid(), .complete = true, .generation = 3, .ntasks = 1, .tasks = &task};
    char path[64];
    write_saved(&saved, path);
    lookup_free(sym);
    dwfl_end(dwfl);

    struct tt_dump d = {0};
    struct symbolize z = {0};
    char why[256] = "";
    err = symbolize_load(path, &d, &z, false, NULL, NULL, why, sizeof(why));
    unlink(path);
    ck_assert_msg(err == 0, "symbolize_load: %s", why);
    ck_assert_int_eq(d.pid, getpid());
    ck_assert(d.complete);
    ck_assert_uint_eq(d.generation, 3);
    ck_assert_uint_eq(d.ntasks, 1);
    ck_assert_uint_eq(d.tasks[0].id, 7);
    ck_assert_uint_eq(d.tasks[0].polls, 2);
    char names[512];
    stack_names(&d, "saved", names, sizeof(names));
    ck_assert_str_eq(names, "symz_outer_poll symz_leaf_poll ");
    /* Found from the file: a source line of this file. */
    const struct frame *leaf = d.tasks[0].stacks[0].frames[1];
    ck_assert_ptr_nonnull(leaf->file);
    ck_assert_ptr_nonnull(strstr(leaf->file, "test_symbolize.c"));
    ck_assert_int_gt(leaf->line, 0);
    dump_free(&d);
    symbolize_end(&z);
}
END_TEST

START_TEST(test_symbolize_raw)
{
    /* Tasks of this process, dumped by the runtime itself. */
    struct chain leaf = {{symz_leaf_poll}, NULL};
    struct chain outer = {{symz_outer_poll}, &leaf.base};
    struct ttask task = {.inner = &outer.base};
    task.traced = trt_traced_new(&outer.base, "raw-symz");
    ck_assert_ptr_nonnull(task.traced);
    ttask_poll(&task);
    uint32_t gen = trt__dump_request();
    ck_assert_int_eq(ttask_run_until_done(&task, 1, gen, 5000), 0);
    char path[64];
    int fd = temp_file(path);
    struct trt__dump_dest dest = {.fd = fd};
    ck_assert_int_eq(trt__rawdump_write(gen, 0, &dest), 0);
    close(fd);
    trt_traced_free(task.traced);

    struct tt_dump d = {0};
    struct symbolize z = {0};
    char why[256] = "";
    int err = symbolize_load(path, &d, &z, false, NULL, NULL, why, sizeof(why));
    unlink(path);
    ck_assert_msg(err == 0, "symbolize_load: %s", why);
    ck_assert_int_eq(d.pid, getpid());
    ck_assert_uint_eq(d.generation, gen);
    char names[4096];
    stack_names(&d, "raw-symz", names, sizeof(names));
    /* Whole, as captured (the views trim): the wrapper, the task's
     * future, its leaf, in that order. */
    const char *wrap = strstr(names, " trt__traced_poll_tracing ");
    const char *outer_at = wrap ? strstr(wrap, " symz_outer_poll ") : NULL;
    ck_assert_msg(outer_at && strstr(outer_at, " symz_leaf_poll "), "stack: %s", names);
    dump_free(&d);
    symbolize_end(&z);
}
END_TEST

/* A saved dump with NSAVED problems (cause "timeout") and one task whose
 * frame names a module no file is found for, loaded into *D. */
static void load_gone_module(size_t nsaved, struct tt_dump *d, struct symbolize *z)
{
    struct frame gone = {.module = "/nonexistent/tt-test/libgone.so",
                         .build_id = "0123456789abcdef0123456789abcdef01234567",
                         .pc = 0x7f0000001234,
                         .module_off = 0x1234,
                         .module_base = 0x7f0000000000};
    const struct frame *frames[] = {&gone};
    struct tt_stack st = {1, frames, false, false};
    struct tt_task task = {
        .id = 9, .name = "gone", .reported = true, .nstacks = 1, .stacks = &st, .poll_ns = -1};
    struct tt_dump saved = {.pid = getpid(), .ntasks = 1, .tasks = &task};
    for (size_t i = 0; i < nsaved; i++)
        dump_problem(&saved, "timeout", "saved problem %zu", i);
    char path[64];
    write_saved(&saved, path);
    /* No debuginfod: the module is missing here, at once. */
    unsetenv("DEBUGINFOD_URLS");
    char why[256] = "";
    int err = symbolize_load(path, d, z, false, NULL, NULL, why, sizeof(why));
    unlink(path);
    ck_assert_msg(err == 0, "symbolize_load: %s", why);
}

START_TEST(test_symbolize_problems)
{
    /* Room for one more: the saved problems, their causes copied, then
     * the missing module. */
    struct tt_dump d = {0};
    struct symbolize z = {0};
    load_gone_module(TT_MAX_PROBLEMS - 1, &d, &z);
    ck_assert(!d.complete);
    ck_assert_uint_eq(d.nproblems, TT_MAX_PROBLEMS);
    ck_assert_uint_eq(d.problems_dropped, 0);
    ck_assert_str_eq(d.problems[0].cause, "timeout");
    ck_assert_str_eq(d.problems[0].message, "saved problem 0");
    ck_assert_str_eq(d.problems[TT_MAX_PROBLEMS - 1].cause, "modules_missing");
    ck_assert_ptr_nonnull(
        strstr(d.problems[TT_MAX_PROBLEMS - 1].message, "/nonexistent/tt-test/libgone.so"));
    dump_free(&d);
    symbolize_end(&z);

    /* None left: the missing module is counted as dropped, not lost. */
    memset(&d, 0, sizeof(d));
    memset(&z, 0, sizeof(z));
    load_gone_module(TT_MAX_PROBLEMS, &d, &z);
    ck_assert_uint_eq(d.nproblems, TT_MAX_PROBLEMS);
    ck_assert_uint_eq(d.problems_dropped, 1);
    ck_assert_str_eq(d.problems[TT_MAX_PROBLEMS - 1].cause, "timeout");
    dump_free(&d);
    symbolize_end(&z);
}
END_TEST

START_TEST(test_symbolize_refused)
{
    char why[256];
    struct tt_dump d = {0};
    struct symbolize z = {0};
    ck_assert_int_eq(
        symbolize_load("/nonexistent/dump.json", &d, &z, false, NULL, NULL, why, sizeof(why)),
        -ENOENT);
    dump_free(&d);
    symbolize_end(&z);
    static const char *const bad[] = {
        "not json\n",
        "{\"version\":1,\"error\":{\"code\":\"ESRCH\",\"message\":\"gone\"},\"pid\":1}\n",
        "[1,2,3]\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[64];
        int fd = temp_file(path);
        ck_assert_int_eq(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
        close(fd);
        memset(&d, 0, sizeof(d));
        memset(&z, 0, sizeof(z));
        why[0] = '\0';
        int err = symbolize_load(path, &d, &z, false, NULL, NULL, why, sizeof(why));
        unlink(path);
        ck_assert_msg(err == -EINVAL, "%s: %d (%s)", bad[i], err, why);
        ck_assert_str_ne(why, "");
        dump_free(&d);
        symbolize_end(&z);
    }
}
END_TEST

Suite *suite_symbolize(void)
{
    Suite *s = suite_create("symbolize");
    TCase *tc = tcase_create("symbolize");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_symbolize_json);
    tcase_add_test(tc, test_symbolize_raw);
    tcase_add_test(tc, test_symbolize_problems);
    tcase_add_test(tc, test_symbolize_refused);
    suite_add_tcase(s, tc);
    return s;
}
