/* The text and JSON views of small hand-made dumps. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fopencookie */
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <tasktrace/protocol.h>

#include "util/escape.h"
#include "views/render.h"
#include "suites.h"

#define MOD "/abs/examples/taskdump"
#define SRC "/abs/examples/taskdump.c"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define FRAME(fn, path, ln, col)                                                        \
    {                                                                                   \
        .function = (fn), .file = (path), .line = (ln), .column = (col), .module = MOD, \
        .pc = 0x55d0c0ffee00 + (ln), .module_off = (ln)                                 \
    }

static const struct frame f_traced = FRAME(TRT_FN_TRACED_POLL, SRC, 4, 1);
static const struct frame f_foo = FRAME("foo_poll", SRC, 41, 12);
static const struct frame f_bar = FRAME("bar_poll", SRC, 52, 9);
static const struct frame f_join =
    FRAME("trt_join_poll", "/abs/libtargetrt/exec/combine.c", 30, 17);
static const struct frame f_fiz = FRAME("fiz_poll", SRC, 60, 5);
static const struct frame f_buz = FRAME("buz_poll", SRC, 66, 5);
static const struct frame f_baz = {
    .function = "baz_poll",
    .file = SRC,
    .line = 72,
    .column = 5,
    .inlined = true,
    .module = MOD,
    .pc = 0x55d0c0ffee10,
    .module_off = 72,
};
static const struct frame f_pend = FRAME("pending_poll", SRC, 20, 5);
static const struct frame f_clone = FRAME("trt_waker_clone", SRC, 90, 1);
static const struct frame f_capture = FRAME(TRT_FN_CAPTURE, SRC, 94, 1);

static const struct frame *stack_fiz[] = {
    &f_traced, &f_foo, &f_bar, &f_join, &f_fiz, &f_pend, &f_clone, &f_capture,
};
static const struct frame *stack_baz[] = {
    &f_traced, &f_foo, &f_bar, &f_join, &f_buz, &f_baz, &f_pend, &f_capture,
};

/* Fills *D with a two-task dump; TASKS is the storage for its tasks. */
static void make_dump(struct tt_dump *d, struct tt_task tasks[2], struct tt_stack stacks[2])
{
    stacks[0] = (struct tt_stack){NELEM(stack_fiz), stack_fiz, false, false};
    stacks[1] = (struct tt_stack){NELEM(stack_baz), stack_baz, false, false};
    tasks[0] = (struct tt_task){
        .id = 1,
        .name = "foo",
        .state = TRT_TASK_IDLE,
        .polls = 3,
        .idle_ns = 1520000000,
        .reported = true,
        .nstacks = 2,
        .stacks = stacks,
    };
    tasks[1] = (struct tt_task){
        .id = 2,
        .name = "bar",
        .state = TRT_TASK_POLLING,
        .polls = 0,
        .idle_ns = -1,
        .tid = 4242,
        .reported = false,
        .suspect = true,
        .poll_ns = 850000000,
        .thread_name = "worker-1",
    };
    tasks[0].poll_ns = -1;
    *d = (struct tt_dump){.pid = 1234,
                          .complete = false,
                          .generation = 7,
                          .records_lost = 0,
                          .ntasks = 2,
                          .tasks = tasks};
}

/* Renders D with OPTS (JSON if JSON) into a malloc'd string. */
static char *render(const struct tt_dump *d, const struct render_opts *opts, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    int err = json ? render_json(f, d, opts) : render_text(f, d, opts);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

static const char expected_text[] =
    "task 1 \"foo\" idle 1.52s since last poll, 3 polls\n"
    "╼ foo_poll at /abs/examples/taskdump.c:41:12\n"
    "  └╼ bar_poll at /abs/examples/taskdump.c:52:9\n"
    "     └╼ trt_join_poll at /abs/libtargetrt/exec/combine.c:30:17\n"
    "        ├╼ fiz_poll at /abs/examples/taskdump.c:60:5\n"
    "        │  └╼ pending_poll at /abs/examples/taskdump.c:20:5\n"
    "        └╼ buz_poll at /abs/examples/taskdump.c:66:5\n"
    "           └╼ baz_poll at /abs/examples/taskdump.c:72:5 [inlined]\n"
    "              └╼ pending_poll at /abs/examples/taskdump.c:20:5\n"
    "\n"
    "task 2 \"bar\" polling for 850ms on thread 4242 \"worker-1\", 0 polls"
    " [lost wake-up suspect: pending without waker] [did not report]\n"
    "  (no stacks captured)\n";

START_TEST(test_text_taskdump)
{
    struct tt_dump d;
    struct tt_task tasks[2];
    struct tt_stack stacks[2];
    make_dump(&d, tasks, stacks);
    struct render_opts opts = {.color = false};
    char *out = render(&d, &opts, false);
    ck_assert_str_eq(out, expected_text);
    free(out);
    out = render(&d, NULL, false);
    ck_assert_str_eq(out, expected_text);
    free(out);
}
END_TEST

START_TEST(test_text_no_source_raw)
{
    struct tt_dump d;
    struct tt_task tasks[2];
    struct tt_stack stacks[2];
    make_dump(&d, tasks, stacks);
    d.ntasks = 1;
    stacks[1].n = 0; /* an empty capture adds nothing */
    struct render_opts opts = {.no_source = true};
    char *out = render(&d, &opts, false);
    ck_assert_str_eq(out, "task 1 \"foo\" idle 1.52s since last poll, 3 polls\n"
                          "╼ foo_poll\n"
                          "  └╼ bar_poll\n"
                          "     └╼ trt_join_poll\n"
                          "        └╼ fiz_poll\n"
                          "           └╼ pending_poll\n");
    free(out);

    opts.raw = true;
    out = render(&d, &opts, false);
    ck_assert_str_eq(out, "task 1 \"foo\" idle 1.52s since last poll, 3 polls\n"
                          "╼ " TRT_FN_TRACED_POLL "\n"
                          "  └╼ foo_poll\n"
                          "     └╼ bar_poll\n"
                          "        └╼ trt_join_poll\n"
                          "           └╼ fiz_poll\n"
                          "              └╼ pending_poll\n"
                          "                 └╼ trt_waker_clone\n"
                          "                    └╼ " TRT_FN_CAPTURE "\n");
    free(out);
}
END_TEST

START_TEST(test_text_unknown_frames)
{
    const struct frame nosym = {
        .module = "/usr/lib/libx.so.1", .module_off = 0x1a2b, .pc = 0x7f001a2b};
    const struct frame nomod = {.pc = 0xdeadbeef};
    const struct frame symtab = {.function = "helper+0x10", .module = MOD, .line = 3};
    const struct frame noline = {.function = "f", .file = SRC};
    const struct frame *st[] = {&nosym, &nomod, &symtab, &noline};
    struct tt_stack stack = {NELEM(st), st, true, false};
    struct tt_task task = {.id = 9,
                           .name = "u",
                           .state = TRT_TASK_DONE,
                           .polls = 1,
                           .idle_ns = 850000000,
                           .reported = true,
                           .nstacks = 1,
                           .stacks = &stack};
    struct tt_dump d = {.pid = 1, .ntasks = 1, .tasks = &task};
    char *out = render(&d, NULL, false);
    ck_assert_str_eq(out, "task 9 \"u\" done 850ms since last poll, 1 poll"
                          " [stack cut at the root: deeper than 60 frames]\n"
                          "╼ libx.so.1+0x1a2b\n"
                          "  └╼ 0xdeadbeef\n"
                          "     └╼ helper+0x10\n"
                          "        └╼ f at /abs/examples/taskdump.c\n");
    free(out);
}
END_TEST

START_TEST(test_text_escaping)
{
    struct tt_task task = {
        .id = 3, .state = TRT_TASK_IDLE, .polls = 2, .idle_ns = 192000000000, .reported = true};
    /* Control byte, quote, backslash, DEL, é, a C1 CSI, a stray byte. */
    strcpy(task.name, "a\x01\"\\\x7f\xc3\xa9\xc2\x9b\xff");
    const struct frame evil = {.function = "f\x1b[2J", .file = "/x\n.c", .line = 1};
    const struct frame *st[] = {&evil};
    struct tt_stack stack = {1, st, false, false};
    task.nstacks = 1;
    task.stacks = &stack;
    struct tt_dump d = {.pid = 1, .ntasks = 1, .tasks = &task};
    char *out = render(&d, NULL, false);
    ck_assert_str_eq(out, "task 3 \"a\\x01\\\"\\\\\\x7f\xc3\xa9\\xc2\\x9b\\xff\" idle 3m12s"
                          " since last poll, 2 polls\n"
                          "╼ f\\x1b[2J at /x\\x0a.c:1\n");
    free(out);
}
END_TEST

START_TEST(test_text_color)
{
    struct tt_dump d;
    struct tt_task tasks[2];
    struct tt_stack stacks[2];
    make_dump(&d, tasks, stacks);
    struct render_opts opts = {.color = true};
    char *out = render(&d, &opts, false);
    ck_assert_ptr_nonnull(strchr(out, '\033'));
    ck_assert_ptr_nonnull(strstr(out, "\033[1mfoo_poll\033[0m"));
    ck_assert_ptr_nonnull(strstr(out, "\033[33m[lost wake-up suspect"));
    ck_assert_ptr_nonnull(strstr(out, "\033[31m[did not report]"));
    free(out);
    opts.color = false;
    out = render(&d, &opts, false);
    ck_assert_ptr_null(strchr(out, '\033'));
    free(out);
}
END_TEST

START_TEST(test_json_exact)
{
    struct tt_dump d;
    struct tt_task tasks[2];
    struct tt_stack stacks[2];
    make_dump(&d, tasks, stacks);
    stacks[0].n = 3; /* traced_poll, foo, bar */
    tasks[0].nstacks = 1;
    char *out = render(&d, NULL, true);
    ck_assert_str_eq(out,
                     "{\"version\":1,\"pid\":1234,\"complete\":false,\"generation\":7,"
                     "\"records_lost\":0,\"tasks\":["
                     "{\"id\":1,\"name\":\"foo\",\"state\":\"idle\",\"polls\":3,"
                     "\"idle_ns\":1520000000,\"tid\":null,\"reported\":true,"
                     "\"suspect\":false,\"stacks\":[["
                     "{\"function\":\"foo_poll\",\"file\":\"" SRC "\",\"line\":41,"
                     "\"column\":12,\"inlined\":false,\"module\":\"" MOD "\","
                     "\"pc\":\"0x55d0c0ffee29\",\"build_id\":null,\"offset\":\"0x29\"},"
                     "{\"function\":\"bar_poll\",\"file\":\"" SRC "\",\"line\":52,"
                     "\"column\":9,\"inlined\":false,\"module\":\"" MOD "\","
                     "\"pc\":\"0x55d0c0ffee34\",\"build_id\":null,\"offset\":\"0x34\"}]],"
                     "\"truncated\":false,\"inherited\":false,"
                     "\"stack_counts\":[1],\"stacks_lost\":false,\"spawned_at\":null,"
                     "\"poll_ns\":null,\"thread_name\":null,\"thread_stack\":null,"
                     "\"thread_stack_error\":null},"
                     "{\"id\":2,\"name\":\"bar\",\"state\":\"polling\",\"polls\":0,"
                     "\"idle_ns\":null,\"tid\":4242,\"reported\":false,"
                     "\"suspect\":true,\"stacks\":[],\"truncated\":false,\"inherited\":false,"
                     "\"stack_counts\":[],\"stacks_lost\":false,\"spawned_at\":null,"
                     "\"poll_ns\":850000000,\"thread_name\":\"worker-1\",\"thread_stack\":null,"
                     "\"thread_stack_error\":null}],"
                     "\"records_torn\":0,\"problems\":[],\"passive\":false,\"threads\":null,"
                     "\"core\":null,\"stacks_age_ns\":null,\"crash\":null,"
                     "\"modules\":[{\"path\":\"" MOD "\",\"build_id\":null,\"base\":\"0x0\"}]}\n");
    free(out);
}
END_TEST

/* Writes D as JSON to a temporary file and runs python3 SCRIPT on it
 * (the file is sys.argv[1]); returns the script's exit status. */
static int json_check(const struct tt_dump *d, const struct render_opts *o, const char *script)
{
    char path[] = "/tmp/tt-test-render-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(render_json(f, d, o), 0);
    ck_assert_int_eq(fclose(f), 0);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "python3 -c '%s' %s", script, path);
    int status = system(cmd);
    unlink(path);
    ck_assert(WIFEXITED(status));
    /* The shell's "command not found": a machine without python3 cannot
     * check the JSON, which is a failure, said as such. */
    ck_assert_msg(WEXITSTATUS(status) != 127, "python3 is needed to check the JSON output");
    return WEXITSTATUS(status);
}

START_TEST(test_json_valid)
{
    struct tt_dump d;
    struct tt_task tasks[2];
    struct tt_stack stacks[2];
    make_dump(&d, tasks, stacks);
    strcpy(tasks[0].name, "\x01\xff\"\\");
    const struct frame bad = {
        .function = "f\t\x7f",
        .file = "/src/\xc3\x28\xe2\x82\xac\xed\xa0\x80.c",
        .line = 1,
        .module = NULL,
        .pc = 1,
    };
    const struct frame *st[] = {&bad};
    struct tt_stack extra[3] = {stacks[0], stacks[1], {1, st, false, false}};
    tasks[0].stacks = extra;
    tasks[0].nstacks = 3;
    ck_assert_int_eq(
        json_check(&d, NULL, "import json,sys; json.load(open(sys.argv[1], encoding=\"utf-8\"))"),
        0);
    ck_assert_int_eq(
        json_check(&d, NULL,
                   "import json,sys\n"
                   "d = json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
                   "t = d[\"tasks\"][0]\n"
                   "assert t[\"name\"] == \"\\x01\\ufffd\\x22\\\\\", repr(t[\"name\"])\n"
                   "assert len(t[\"stacks\"]) == 3\n"
                   "assert [f[\"function\"] for f in t[\"stacks\"][0]] == "
                   "[\"foo_poll\", \"bar_poll\", \"trt_join_poll\", \"fiz_poll\", "
                   "\"pending_poll\"]\n"
                   "b = t[\"stacks\"][2][0]\n"
                   "assert b[\"function\"] == \"f\\t\\x7f\"\n"
                   "assert b[\"file\"] == \"/src/\\ufffd(\\u20ac\\ufffd\\ufffd\\ufffd.c\", "
                   "repr(b[\"file\"])\n"
                   "assert b[\"module\"] is None and b[\"column\"] is None\n"
                   "assert t[\"stacks\"][1][4][\"inlined\"] is True\n"
                   "assert d[\"tasks\"][1][\"tid\"] == 4242\n"),
        0);

    struct render_opts raw = {.raw = true};
    ck_assert_int_eq(json_check(&d, &raw,
                                "import json,sys\n"
                                "d = json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
                                "assert len(d[\"tasks\"][0][\"stacks\"][0]) == 8\n"),
                     0);

    struct tt_dump empty = {.pid = 5, .complete = true};
    ck_assert_int_eq(
        json_check(&empty, NULL,
                   "import json,sys\n"
                   "d = json.load(open(sys.argv[1]))\n"
                   "assert d == {\"version\": 1, \"pid\": 5, \"complete\": True, \"generation\": 0,"
                   " \"records_lost\": 0, \"tasks\": [], \"records_torn\": 0, \"problems\": [],"
                   " \"passive\": False, \"threads\": None, \"core\": None,"
                   " \"stacks_age_ns\": None, \"crash\": None, \"modules\": []}, d\n"),
        0);
}
END_TEST

/* A stream over a device with `room` bytes left: a write that does not
 * fit fails whole with ENOSPC, as on a full disk.  The renderers must say
 * so whatever this machine has in /dev. */
struct full_stream {
    size_t room;
    size_t written;
    char buf[64];
};

static ssize_t full_write(void *cookie, const char *buf, size_t len)
{
    struct full_stream *fs = cookie;
    if (len > fs->room - fs->written) {
        errno = ENOSPC;
        return -1;
    }
    fs->written += len;
    return (ssize_t)len;
}

/* Opens a stream over *FS with ROOM bytes left; SMALL gives it a 64-byte
 * buffer, so that writes fail in the middle of the output, not only when
 * the renderer flushes at its end. */
static FILE *full_open(struct full_stream *fs, size_t room, bool small)
{
    fs->room = room;
    fs->written = 0;
    FILE *f = fopencookie(fs, "w", (cookie_io_functions_t){.write = full_write});
    ck_assert_ptr_nonnull(f);
    if (small)
        ck_assert_int_eq(setvbuf(f, fs->buf, _IOFBF, sizeof(fs->buf)), 0);
    return f;
}

START_TEST(test_write_error)
{
    struct tt_dump d;
    struct tt_task tasks[2];
    struct tt_stack stacks[2];
    make_dump(&d, tasks, stacks);
    /* Full from the first byte, or after 100 bytes of output. */
    const struct {
        size_t room;
        bool small;
    } cases[] = {
        {0, false},
        {0, true},
        {100, true},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        for (int json = 0; json < 2; json++) {
            struct full_stream fs;
            FILE *f = full_open(&fs, cases[i].room, cases[i].small);
            int err = json ? render_json(f, &d, NULL) : render_text(f, &d, NULL);
            ck_assert_msg(err == -ENOSPC, "%s, room %zu%s: got %d, not -ENOSPC",
                          json ? "json" : "text", cases[i].room,
                          cases[i].small ? ", small buffer" : "", err);
            ck_assert_uint_le(fs.written, cases[i].room);
            fclose(f);
        }
    }
    /* The kernel's own full device, where there is one. */
    FILE *f = fopen("/dev/full", "w");
    if (f == NULL) {
        fprintf(stderr,
                "SKIP: test_write_error: no /dev/full here (%s); checked on a "
                "full stream only\n",
                strerror(errno));
        return;
    }
    ck_assert_int_eq(render_text(f, &d, NULL), -ENOSPC);
    clearerr(f);
    ck_assert_int_eq(render_json(f, &d, NULL), -ENOSPC);
    fclose(f);
}
END_TEST

Suite *suite_render(void)
{
    Suite *s = suite_create("render");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, test_text_taskdump);
    tcase_add_test(tc, test_text_no_source_raw);
    tcase_add_test(tc, test_text_unknown_frames);
    tcase_add_test(tc, test_text_escaping);
    tcase_add_test(tc, test_text_color);
    suite_add_tcase(s, tc);
    tc = tcase_create("json");
    /* Each JSON check starts a python3: allow for a loaded machine. */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_json_exact);
    tcase_add_test(tc, test_json_valid);
    tcase_add_test(tc, test_write_error);
    suite_add_tcase(s, tc);
    return s;
}
