/* util/escape.c: the bytes of a target made safe for a terminal, a JSON
 * string and a stderr line about a file; the one UTF-8 check under them
 * (tasktrace/utf8.h), and the runtime's raw dump writing strings as the
 * tool does over it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <tasktrace/utf8.h>

#include "../../libtargetrt/rawdump.h"
#include "util/escape.h"
#include "suites.h"

/* A sink into a fixed buffer, for the escapers' streaming form. */
struct esc_buf {
    char s[512];
    size_t len;
    int stop;
};

static void esc_buf_write(void *ctx, const char *s, size_t n)
{
    struct esc_buf *b = ctx;
    ck_assert_uint_lt(b->len + n, sizeof(b->s));
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static const char *term(struct esc_buf *b, const char *s, size_t n, bool quote)
{
    memset(b, 0, sizeof(*b));
    struct esc_sink sink = {esc_buf_write, b, NULL};
    esc_term_write(&sink, s, n, quote);
    return b->s;
}

static const char *json(struct esc_buf *b, const char *s, size_t n)
{
    memset(b, 0, sizeof(*b));
    struct esc_sink sink = {esc_buf_write, b, NULL};
    esc_json_write(&sink, s, n);
    return b->s;
}

/* Control byte, quote, backslash, DEL, é, a C1 CSI, a stray byte: the
 * name the text view's own test prints. */
static const char evil[] = "a\x01\"\\\x7f\xc3\xa9\xc2\x9b\xff";

static size_t seq(const char *s, size_t n)
{
    return trt_utf8_seq((const unsigned char *)s, n);
}

START_TEST(test_utf8_seq)
{
    const char *u = "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    ck_assert_uint_eq(seq(u, 10), 1);
    ck_assert_uint_eq(seq(u + 1, 9), 2);
    ck_assert_uint_eq(seq(u + 3, 7), 3);
    ck_assert_uint_eq(seq(u + 6, 4), 4);
    ck_assert_uint_eq(seq(u, 0), 0);
    /* Cut short by the end of the input, or by a byte that does not go on. */
    ck_assert_uint_eq(seq(u + 6, 3), 0);
    ck_assert_uint_eq(seq(u + 3, 2), 0);
    ck_assert_uint_eq(seq(u + 1, 1), 0);
    ck_assert_uint_eq(seq("\xe2\x82(", 3), 0);
    ck_assert_uint_eq(seq("\xf0\x9f\x98(", 4), 0);
    /* Overlong, a surrogate, past U+10FFFF, a stray continuation byte. */
    ck_assert_uint_eq(seq("\xc0\xaf", 2), 0);
    ck_assert_uint_eq(seq("\xc0\x80", 2), 0);
    ck_assert_uint_eq(seq("\xc1\xbf", 2), 0);
    ck_assert_uint_eq(seq("\xe0\x80\xaf", 3), 0);
    ck_assert_uint_eq(seq("\xe0\x80\x80", 3), 0);
    ck_assert_uint_eq(seq("\xe0\x9f\xbf", 3), 0);
    ck_assert_uint_eq(seq("\xf0\x8f\xbf\xbf", 4), 0);
    ck_assert_uint_eq(seq("\xed\xa0\x80", 3), 0);
    ck_assert_uint_eq(seq("\xed\xbf\xbf", 3), 0);
    ck_assert_uint_eq(seq("\xf4\x90\x80\x80", 4), 0);
    ck_assert_uint_eq(seq("\xf5\x80\x80\x80", 4), 0);
    ck_assert_uint_eq(seq("\xff", 1), 0);
    ck_assert_uint_eq(seq("\x80", 1), 0);
    /* The edges that are valid: the first of each length, the last
     * before and the first after the surrogates, U+10FFFF. */
    ck_assert_uint_eq(seq("\x7f", 1), 1);
    ck_assert_uint_eq(seq("\xc2\x80", 2), 2);
    ck_assert_uint_eq(seq("\xdf\xbf", 2), 2);
    ck_assert_uint_eq(seq("\xe0\xa0\x80", 3), 3);
    ck_assert_uint_eq(seq("\xed\x9f\xbf", 3), 3);
    ck_assert_uint_eq(seq("\xee\x80\x80", 3), 3);
    ck_assert_uint_eq(seq("\xef\xbf\xbf", 3), 3);
    ck_assert_uint_eq(seq("\xf0\x90\x80\x80", 4), 4);
    ck_assert_uint_eq(seq("\xf4\x8f\xbf\xbf", 4), 4);
}
END_TEST

START_TEST(test_utf8_c1_put)
{
    /* The C1 controls are U+0080 .. U+009F, no further. */
    ck_assert(trt_utf8_is_c1((const unsigned char *)"\xc2\x80", 2));
    ck_assert(trt_utf8_is_c1((const unsigned char *)"\xc2\x9f", 2));
    ck_assert(!trt_utf8_is_c1((const unsigned char *)"\xc2\xa0", 2));
    ck_assert(!trt_utf8_is_c1((const unsigned char *)"\xc3\x80", 2));
    ck_assert(!trt_utf8_is_c1((const unsigned char *)"\x1b", 1));
    /* Each code point at a length's edge encodes as the shortest form,
     * which the check takes back whole. */
    static const struct {
        uint32_t cp;
        const char *utf8;
    } cases[] = {{0x41, "A"},
                 {0x7f, "\x7f"},
                 {0x80, "\xc2\x80"},
                 {0x7ff, "\xdf\xbf"},
                 {0x800, "\xe0\xa0\x80"},
                 {0xfffd, "\xef\xbf\xbd"},
                 {0xffff, "\xef\xbf\xbf"},
                 {0x10000, "\xf0\x90\x80\x80"},
                 {0x10ffff, "\xf4\x8f\xbf\xbf"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[4];
        size_t n = trt_utf8_put(cases[i].cp, out);
        ck_assert_uint_eq(n, strlen(cases[i].utf8));
        ck_assert_int_eq(memcmp(out, cases[i].utf8, n), 0);
        ck_assert_uint_eq(seq(out, n), n);
    }
}
END_TEST

/* A raw dump's sink: what the runtime wrote, NUL-terminated. */
static int raw_sink(void *arg, const char *s, size_t n)
{
    struct esc_buf *b = arg;
    esc_buf_write(b, s, n);
    return 0;
}

/* The runtime writes a raw dump's strings (trt__out_string) as the tool
 * writes its JSON strings, byte for byte: the same UTF-8 check under
 * both, the same escapes of controls, DEL and C1 controls. */
START_TEST(test_raw_dump_agrees)
{
    static const char *const cases[] = {
        evil,          "plain",        "t\tn\n\b\f\r",     "\xc2\x80\xc2\x9f\xc2\xa0",
        "\xc0\x80",    "\xe0\x80\x80", "\xed\xa0\x80",     "\xf4\x90\x80\x80",
        "\xe2\x82",    "\xf0\x9f\x98", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf\xee\x80\x80",
        "caf\xc3\xa9", "\x01\x1f\x7f", "quote\"back\\",    "/a/b",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct esc_buf tool, raw;
        json(&tool, cases[i], strlen(cases[i]));
        memset(&raw, 0, sizeof(raw));
        static struct trt__out o;
        struct trt__dump_dest dest = {.fd = -1, .sink = raw_sink, .arg = &raw};
        trt__out_begin(&o, &dest);
        trt__out_string(&o, cases[i], strlen(cases[i]));
        trt__out_flush(&o);
        ck_assert_int_eq(o.err, 0);
        ck_assert_str_eq(raw.s, tool.s);
    }
    /* The C1 controls come out escaped, U+00A0 and U+10FFFF as they are. */
    struct esc_buf b;
    ck_assert_str_eq(json(&b, "\xc2\x80\xc2\x9f\xc2\xa0\xf4\x8f\xbf\xbf", 10),
                     "\"\\u0080\\u009f\xc2\xa0\xf4\x8f\xbf\xbf\"");
}
END_TEST

START_TEST(test_term)
{
    struct esc_buf b;
    ck_assert_str_eq(term(&b, evil, strlen(evil), true),
                     "a\\x01\\\"\\\\\\x7f\xc3\xa9\\xc2\\x9b\\xff");
    /* Without QUOTE the quote and the backslash pass, nothing else. */
    ck_assert_str_eq(term(&b, evil, strlen(evil), false), "a\\x01\"\\\\x7f\xc3\xa9\\xc2\\x9b\\xff");
    ck_assert_str_eq(term(&b, "f\x1b[2J", 5, false), "f\\x1b[2J");
    /* A NUL inside the length is a byte like the others. */
    ck_assert_str_eq(term(&b, "a\0b", 3, false), "a\\x00b");
    /* The bytes-into-a-buffer form gives the same, and cuts short. */
    char small[64];
    ck_assert_str_eq(esc_term(small, sizeof(small), evil, strlen(evil), true),
                     "a\\x01\\\"\\\\\\x7f\xc3\xa9\\xc2\\x9b\\xff");
    char tiny[6];
    ck_assert_ptr_eq(esc_term(tiny, sizeof(tiny), "\x01\x02", 2, false), tiny);
    ck_assert_uint_lt(strlen(tiny), sizeof(tiny));
    ck_assert_int_eq(strncmp(tiny, "\\x01", 4), 0);
}
END_TEST

START_TEST(test_term_stop)
{
    /* A writer that failed stops the escaper at once: none of the bytes
     * is written, only the JSON string's quotes, which the writer itself
     * drops once failed (render_out.c). */
    struct esc_buf b = {0};
    b.stop = 1;
    struct esc_sink sink = {esc_buf_write, &b, &b.stop};
    esc_term_write(&sink, evil, strlen(evil), true);
    ck_assert_uint_eq(b.len, 0);
    esc_json_write(&sink, evil, strlen(evil));
    ck_assert_str_eq(b.s, "\"\"");
}
END_TEST

START_TEST(test_json)
{
    struct esc_buf b;
    ck_assert_str_eq(json(&b, evil, strlen(evil)),
                     "\"a\\u0001\\\"\\\\\\u007f\xc3\xa9\\u009b\\ufffd\"");
    ck_assert_str_eq(json(&b, "t\tn\n", 4), "\"t\\tn\\n\"");
    ck_assert_str_eq(json(&b, "", 0), "\"\"");
    /* Each invalid byte is one U+FFFD: the reader sees where bytes were. */
    ck_assert_str_eq(json(&b, "\xc3\x28\xed\xa0\x80", 5), "\"\\ufffd(\\ufffd\\ufffd\\ufffd\"");
}
END_TEST

START_TEST(test_ascii)
{
    char buf[64];
    ck_assert_str_eq(esc_ascii("/usr/lib/libc.so.6", buf, sizeof(buf)), "/usr/lib/libc.so.6");
    ck_assert_str_eq(esc_ascii("/tmp/\xc3\xa9\n\"\\", buf, sizeof(buf)),
                     "/tmp/\\xc3\\xa9\\x0a\\x22\\x5c");
    ck_assert_str_eq(esc_ascii(NULL, buf, sizeof(buf)), "(null)");
    /* Too long: cut at a whole escape, and said so. */
    char cut[12];
    esc_ascii("/\x01\x01\x01\x01\x01", cut, sizeof(cut));
    ck_assert_uint_lt(strlen(cut), sizeof(cut));
    size_t n = strlen(cut);
    ck_assert_str_eq(cut + n - 3, "...");
    ck_assert_int_eq((int)(n - 4) % 4, 0); /* "/" then whole \xNN */
}
END_TEST

Suite *suite_escape(void)
{
    Suite *s = suite_create("escape");
    TCase *tc = tcase_create("escape");
    tcase_add_test(tc, test_utf8_seq);
    tcase_add_test(tc, test_utf8_c1_put);
    tcase_add_test(tc, test_raw_dump_agrees);
    tcase_add_test(tc, test_term);
    tcase_add_test(tc, test_term_stop);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_ascii);
    suite_add_tcase(s, tc);
    return s;
}
