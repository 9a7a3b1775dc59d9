/* The bounded JSON reader (jsonread.c) on valid documents, on every kind
 * of malformed one, and at its bounds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/jsonread.h"
#include "suites.h"

static int parse(const char *text, struct jsonread_doc *doc, char *why, size_t whylen)
{
    return jsonread_parse(text, strlen(text), doc, why, whylen);
}

START_TEST(test_values)
{
    struct jsonread_doc doc;
    char why[128];
    const char *text =
        " {\"a\": [1, -2, 3.5e2, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\","
        " \"nul\": \"a\\u0000b\", \"lone\": \"\\ud800z\", \"a\": 7,"
        " \"big\": 18446744073709551615, \"min\": -9223372036854775808} ";
    ck_assert_int_eq(parse(text, &doc, why, sizeof(why)), 0);
    const struct jsonread_value *a = jsonread_get(&doc.root, "a");
    ck_assert_ptr_nonnull(a);
    /* The first of a repeated key. */
    ck_assert_int_eq(a->type, JSONREAD_ARRAY);
    ck_assert_uint_eq(a->n, 6);
    uint64_t u;
    int64_t i;
    ck_assert_int_eq(jsonread_u64(&a->items[0], &u), 0);
    ck_assert_uint_eq(u, 1);
    ck_assert_int_eq(jsonread_u64(&a->items[1], &u), -EINVAL);
    ck_assert_int_eq(jsonread_i64(&a->items[1], &i), 0);
    ck_assert_int_eq(i, -2);
    ck_assert_int_eq(jsonread_u64(&a->items[2], &u), -EINVAL); /* not an integer */
    ck_assert(jsonread_true(&a->items[3]));
    ck_assert(!jsonread_true(&a->items[4]));
    ck_assert_int_eq(a->items[5].type, JSONREAD_NULL);
    ck_assert_ptr_null(jsonread_str(&a->items[5]));
    ck_assert_str_eq(jsonread_str(jsonread_get(&doc.root, "s")), "x\xc3\xa9\xf0\x9f\x98\x80\n");
    const struct jsonread_value *nul = jsonread_get(&doc.root, "nul");
    ck_assert_uint_eq(nul->len, 3);
    ck_assert(memcmp(nul->str, "a\0b", 3) == 0);
    ck_assert_str_eq(jsonread_str(jsonread_get(&doc.root, "lone")), "\xef\xbf\xbdz");
    ck_assert_int_eq(jsonread_u64(jsonread_get(&doc.root, "big"), &u), 0);
    ck_assert_uint_eq(u, UINT64_MAX);
    ck_assert_int_eq(jsonread_i64(jsonread_get(&doc.root, "min"), &i), 0);
    ck_assert(i == INT64_MIN);
    ck_assert_ptr_null(jsonread_get(&doc.root, "missing"));
    ck_assert_ptr_null(jsonread_get(a, "a")); /* not an object */
    jsonread_free(&doc);
    jsonread_free(&doc); /* empty: harmless */
}
END_TEST

START_TEST(test_integer_range)
{
    struct jsonread_doc doc;
    uint64_t u;
    int64_t i;
    ck_assert_int_eq(
        parse("[18446744073709551616, 9223372036854775808, -9223372036854775809]", &doc, NULL, 0),
        0);
    ck_assert_int_eq(jsonread_u64(&doc.root.items[0], &u), -EINVAL);
    ck_assert_int_eq(jsonread_i64(&doc.root.items[1], &i), -EINVAL);
    ck_assert_int_eq(jsonread_i64(&doc.root.items[2], &i), -EINVAL);
    jsonread_free(&doc);
}
END_TEST

/* \u escapes at each UTF-8 length's edge decode to the shortest form
 * (tasktrace/utf8.h's trt_utf8_put); surrogates that make no pair become
 * U+FFFD; raw bytes, valid UTF-8 or not, are copied as they are. */
START_TEST(test_unicode_escapes)
{
    static const struct {
        const char *text, *str;
    } cases[] = {
        {"\"\\u007f\"", "\x7f"},
        {"\"\\u0080\"", "\xc2\x80"},
        {"\"\\u07FF\"", "\xdf\xbf"},
        {"\"\\u0800\"", "\xe0\xa0\x80"},
        {"\"\\ud7ff\\ue000\"", "\xed\x9f\xbf\xee\x80\x80"},
        {"\"\\uffff\"", "\xef\xbf\xbf"},
        {"\"\\ud800\\udc00\"", "\xf0\x90\x80\x80"},
        {"\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf"},
        {"\"\\udc00\"", "\xef\xbf\xbd"},
        {"\"\\ud800\\u0041\"", "\xef\xbf\xbd\x41"},
        {"\"\\ud800\"", "\xef\xbf\xbd"},
        {"\"\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80\"", "\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct jsonread_doc doc;
        char why[128];
        ck_assert_int_eq(parse(cases[i].text, &doc, why, sizeof(why)), 0);
        ck_assert_uint_eq(doc.root.len, strlen(cases[i].str));
        ck_assert_str_eq(jsonread_str(&doc.root), cases[i].str);
        jsonread_free(&doc);
    }
}
END_TEST

/* Each malformed document is refused with -EINVAL and a reason that says
 * where. */
START_TEST(test_malformed)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "line 1, column 1: the document ends early"},
        {"{\"a\" 1}", "line 1, column 6: expected ':'"},
        {"[1 2]", "line 1, column 4: expected ',' or ']'"},
        {"[1,]", "line 1, column 4: expected a value"},
        {"{\"a\":1,}", "line 1, column 8: expected a member name"},
        {"\"abc", "line 1, column 1: a string is not closed"},
        {"\"a\tb\"", "line 1, column 3: a control character in a string"},
        {"\"\\x\"", "line 1, column 3: a bad escape in a string"},
        {"\"\\u12g4\"", "a \\u escape needs 4 hex digits"},
        {"01", "line 1, column 2: more after the document"},
        {"-", "a bad number"},
        {"1.", "a bad number"},
        {"1e", "a bad number"},
        {"tru", "expected a value"},
        {"{}\n{}", "line 2, column 1: more after the document"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct jsonread_doc doc;
        char why[128];
        ck_assert_msg(parse(bad[k].text, &doc, why, sizeof(why)) == -EINVAL, "%s", bad[k].text);
        ck_assert_msg(strstr(why, bad[k].why) != NULL, "%s: %s", bad[k].text, why);
        ck_assert_int_eq(doc.root.type, JSONREAD_NULL);
        ck_assert_uint_eq(doc.root.n, 0);
    }
}
END_TEST

static char *nested(int depth)
{
    char *s = malloc(2 * (size_t)depth + 1);
    memset(s, '[', (size_t)depth);
    memset(s + depth, ']', (size_t)depth);
    s[2 * depth] = '\0';
    return s;
}

START_TEST(test_bounds)
{
    struct jsonread_doc doc;
    char why[128];
    char *ok = nested(JSONREAD_MAX_DEPTH), *deep = nested(JSONREAD_MAX_DEPTH + 1);
    ck_assert_int_eq(parse(ok, &doc, why, sizeof(why)), 0);
    jsonread_free(&doc);
    ck_assert_int_eq(parse(deep, &doc, why, sizeof(why)), -E2BIG);
    ck_assert_ptr_nonnull(strstr(why, "nested deeper than 64"));
    free(ok);
    free(deep);

    /* A string one byte past the bound. */
    size_t n = JSONREAD_MAX_STRING + 1;
    char *s = malloc(n + 3);
    s[0] = '"';
    memset(s + 1, 'a', n);
    s[n + 1] = '"';
    s[n + 2] = '\0';
    ck_assert_int_eq(parse(s, &doc, why, sizeof(why)), -E2BIG);
    s[n] = '"';
    s[n + 1] = '\0';
    ck_assert_int_eq(parse(s, &doc, why, sizeof(why)), 0);
    ck_assert_uint_eq(doc.root.len, JSONREAD_MAX_STRING);
    jsonread_free(&doc);
    free(s);
}
END_TEST

/* A document read from a pipe (what --symbolize reads from its standard
 * input), then parsed. */
START_TEST(test_read_stream)
{
    static const char text[] = "{\"tasks\": [{\"id\": 1}]}\n";
    struct jsonread_doc doc;
    char why[128], *buf = NULL;
    size_t len = 0;
    uint64_t id;
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fds[1]);
    ck_assert_int_eq(jsonread_read_fd(fds[0], NULL, NULL, &buf, &len, why, sizeof(why)), 0);
    close(fds[0]);
    ck_assert_uint_eq(len, sizeof(text) - 1);
    ck_assert_int_eq(jsonread_parse(buf, len, &doc, why, sizeof(why)), 0);
    free(buf);
    const struct jsonread_value *tasks = jsonread_get(&doc.root, "tasks");
    ck_assert_uint_eq(tasks->n, 1);
    ck_assert_int_eq(jsonread_u64(jsonread_get(&tasks->items[0], "id"), &id), 0);
    ck_assert_uint_eq(id, 1);
    jsonread_free(&doc);
}
END_TEST

/* What a streaming parse hands its callback: ids seen, in order, and an
 * error to return at the Nth element. */
struct each_seen {
    uint64_t ids[8];
    size_t n;
    size_t stop_at; /* 1-based; 0 never */
};

static int each_collect(void *arg, const struct jsonread_value *item)
{
    struct each_seen *e = arg;
    uint64_t id = 0;
    if (jsonread_u64(jsonread_get(item, "id"), &id) != 0)
        return -EINVAL;
    if (e->n < 8)
        e->ids[e->n] = id;
    e->n++;
    return e->stop_at != 0 && e->n == e->stop_at ? -ECANCELED : 0;
}

START_TEST(test_parse_each)
{
    struct jsonread_doc doc;
    char why[128];
    struct each_seen e = {{0}, 0, 0};
    /* Elements come one at a time, in order; the member stays an empty
     * array; only the first "tasks" is streamed, a later one is kept. */
    const char *text = "{\"v\":1,\"tasks\":[{\"id\":3},{\"id\":1},{\"id\":2}],"
                       "\"tasks\":[{\"id\":9}],\"other\":[{\"id\":5}]}";
    ck_assert_int_eq(
        jsonread_parse_each(text, strlen(text), "tasks", each_collect, &e, &doc, why, sizeof(why)),
        0);
    ck_assert_uint_eq(e.n, 3);
    ck_assert_uint_eq(e.ids[0], 3);
    ck_assert_uint_eq(e.ids[1], 1);
    ck_assert_uint_eq(e.ids[2], 2);
    const struct jsonread_value *tasks = jsonread_get(&doc.root, "tasks");
    ck_assert_ptr_nonnull(tasks);
    ck_assert_int_eq(tasks->type, JSONREAD_ARRAY);
    ck_assert_uint_eq(tasks->n, 0);
    ck_assert_ptr_nonnull(jsonread_get(&doc.root, "other"));
    ck_assert_uint_eq(jsonread_get(&doc.root, "other")->n, 1);
    jsonread_free(&doc);

    /* A member that is not an array stays in the tree, nothing streamed. */
    e.n = 0;
    const char *obj = "{\"tasks\":{\"id\":1}}";
    ck_assert_int_eq(
        jsonread_parse_each(obj, strlen(obj), "tasks", each_collect, &e, &doc, why, sizeof(why)),
        0);
    ck_assert_uint_eq(e.n, 0);
    ck_assert_int_eq(jsonread_get(&doc.root, "tasks")->type, JSONREAD_OBJECT);
    jsonread_free(&doc);

    /* The callback's error stops the parse, said as where it stopped. */
    e = (struct each_seen){{0}, 0, 2};
    ck_assert_int_eq(
        jsonread_parse_each(text, strlen(text), "tasks", each_collect, &e, &doc, why, sizeof(why)),
        -ECANCELED);
    ck_assert_uint_eq(e.n, 2);
    ck_assert_ptr_nonnull(strstr(why, "the reader stopped"));
    ck_assert_ptr_null(doc.root.items);

    /* A malformed element after good ones: the error, after the good ones
     * were handed over. */
    e = (struct each_seen){{0}, 0, 0};
    const char *bad = "{\"tasks\":[{\"id\":1},{\"id\":}]}";
    ck_assert_int_eq(
        jsonread_parse_each(bad, strlen(bad), "tasks", each_collect, &e, &doc, why, sizeof(why)),
        -EINVAL);
    ck_assert_uint_eq(e.n, 1);

    /* FN NULL is jsonread_parse: the array is kept whole. */
    ck_assert_int_eq(
        jsonread_parse_each(text, strlen(text), "tasks", NULL, NULL, &doc, why, sizeof(why)), 0);
    ck_assert_uint_eq(jsonread_get(&doc.root, "tasks")->n, 3);
    jsonread_free(&doc);
}
END_TEST

Suite *suite_jsonread(void)
{
    Suite *s = suite_create("jsonread");
    TCase *tc = tcase_create("jsonread");
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_integer_range);
    tcase_add_test(tc, test_unicode_escapes);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_read_stream);
    tcase_add_test(tc, test_parse_each);
    suite_add_tcase(s, tc);
    return s;
}
