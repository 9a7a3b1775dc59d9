/* views/render_out.c: the renderers' checked writer, which keeps its first
 * error and writes nothing after it, and their memo of what a shared
 * frames array became. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "views/render.h"
#include "suites.h"

START_TEST(test_out_writes)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    struct render__out o = {.f = f};
    render__out_puts(&o, "task ");
    render__out_printf(&o, "%d \"", 7);
    struct esc_sink sink = render__out_sink(&o);
    esc_term_write(&sink, "a\x01", 2, true);
    render__out_write(&o, "\"\n", 2);
    render__out_write(&o, NULL, 0); /* nothing to write is no error */
    ck_assert_int_eq(o.err, 0);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_str_eq(buf, "task 7 \"a\\x01\"\n");
    free(buf);
}
END_TEST

START_TEST(test_out_first_error_kept)
{
    FILE *f = fopen("/dev/full", "w");
    if (f == NULL) {
        fprintf(stderr, "SKIP: test_out_first_error_kept: no /dev/full here\n");
        return;
    }
    /* Unbuffered, so that the first write reaches the full device. */
    setvbuf(f, NULL, _IONBF, 0);
    struct render__out o = {.f = f};
    render__out_puts(&o, "x");
    ck_assert_int_eq(o.err, -ENOSPC);
    /* Later errors do not replace it, and nothing more is tried. */
    errno = EBADF;
    render__out_fail(&o);
    ck_assert_int_eq(o.err, -ENOSPC);
    render__out_printf(&o, "%s", "y");
    ck_assert_int_eq(o.err, -ENOSPC);
    fclose(f);
    /* A failure that set no errno is still one: -EIO. */
    struct render__out fresh = {.f = NULL};
    errno = 0;
    render__out_fail(&fresh);
    ck_assert_int_eq(fresh.err, -EIO);
    /* Once failed, writes do not touch the FILE at all (NULL here). */
    render__out_puts(&fresh, "never written");
    ck_assert_int_eq(fresh.err, -EIO);
}
END_TEST

START_TEST(test_memo)
{
    /* Past its first table size, keys found again after every growth. */
    enum { N = 300 };
    static int keys[N];
    struct render__memo m = {.owns = true};
    ck_assert_ptr_null(render__memo_find(&m, &keys[0]));
    for (int i = 0; i < N; i++) {
        char *text = malloc(24);
        ck_assert_ptr_nonnull(text);
        int len = snprintf(text, 24, "path %d", i);
        struct render__memo_entry e = {&keys[i], text, (size_t)len, (uint64_t)i};
        render__memo_add(&m, &e);
    }
    ck_assert_uint_eq(m.n, N);
    for (int i = 0; i < N; i++) {
        struct render__memo_entry *e = render__memo_find(&m, &keys[i]);
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(e->aux, (uint64_t)i);
        char want[24]; /* "path " and any int */
        snprintf(want, sizeof(want), "path %d", i);
        ck_assert_str_eq(e->text, want);
    }
    int other;
    ck_assert_ptr_null(render__memo_find(&m, &other));
    render__memo_free(&m);
    ck_assert_uint_eq(m.n, 0);
    ck_assert_ptr_null(render__memo_find(&m, &keys[0]));
}
END_TEST

Suite *suite_render_out(void)
{
    Suite *s = suite_create("render_out");
    TCase *tc = tcase_create("out");
    tcase_add_test(tc, test_out_writes);
    tcase_add_test(tc, test_out_first_error_kept);
    tcase_add_test(tc, test_memo);
    suite_add_tcase(s, tc);
    return s;
}
