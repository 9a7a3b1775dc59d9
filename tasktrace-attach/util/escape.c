/* Escaping the target's bytes for terminals and JSON.  See escape.h. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <tasktrace/utf8.h>

#include "util/escape.h"

static bool esc_stopped(const struct esc_sink *k)
{
    return k->stop != NULL && *k->stop != 0;
}

static void esc_put(const struct esc_sink *k, const char *s, size_t n)
{
    if (n > 0)
        k->write(k->ctx, s, n);
}

/* Writes the escape FMT of up to two bytes, as "\\x%02x" or "\\u%04x". */
static void esc_putf(const struct esc_sink *k, const char *fmt, unsigned a)
{
    char buf[16];
    int n = snprintf(buf, sizeof(buf), fmt, a);
    esc_put(k, buf, (size_t)n);
}

void esc_term_write(const struct esc_sink *k, const char *s, size_t len, bool quote)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len && !esc_stopped(k)) {
        size_t run = i;
        /* Pass plain runs through in one write. */
        while (run < len && p[run] >= 0x20 && p[run] < 0x7f &&
               !(quote && (p[run] == '"' || p[run] == '\\')))
            run++;
        esc_put(k, s + i, run - i);
        i = run;
        if (i == len)
            break;
        unsigned char c = p[i];
        size_t seq = c >= 0x80 ? trt_utf8_seq(p + i, len - i) : 0;
        if (trt_utf8_is_c1(p + i, seq)) {
            esc_putf(k, "\\x%02x", c);
            esc_putf(k, "\\x%02x", p[i + 1]);
            i += 2;
        } else if (seq > 0) {
            esc_put(k, s + i, seq);
            i += seq;
        } else if (quote && (c == '"' || c == '\\')) {
            esc_put(k, "\\", 1);
            esc_put(k, (const char *)&p[i], 1);
            i++;
        } else {
            esc_putf(k, "\\x%02x", c);
            i++;
        }
    }
}

/* A sink into a fixed buffer: what does not fit is dropped. */
struct esc_buf {
    char *buf;
    size_t cap, used;
};

static void esc_buf_write(void *ctx, const char *s, size_t n)
{
    struct esc_buf *b = ctx;
    size_t room = b->cap - b->used;
    if (n > room)
        n = room;
    memcpy(b->buf + b->used, s, n);
    b->used += n;
}

const char *esc_term(char *buf, size_t len, const char *s, size_t n, bool quote)
{
    if (len == 0)
        return buf;
    /* One byte short of the buffer: the last stays the terminator. */
    struct esc_buf b = {.buf = buf, .cap = len - 1};
    struct esc_sink k = {.write = esc_buf_write, .ctx = &b};
    esc_term_write(&k, s, n, quote);
    buf[b.used] = '\0';
    return buf;
}

void esc_json_write(const struct esc_sink *k, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    esc_put(k, "\"", 1);
    while (i < len && !esc_stopped(k)) {
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
            run++;
        esc_put(k, s + i, run - i);
        i = run;
        if (i == len)
            break;
        unsigned char c = p[i];
        size_t seq = c >= 0x80 ? trt_utf8_seq(p + i, len - i) : 0;
        if (trt_utf8_is_c1(p + i, seq)) {
            /* A C1 control (U+0080 .. U+009F), which some terminals
             * obey: escaped, as the terminal escaper escapes it, as \u0080. */
            esc_putf(k, "\\u%04x", p[i + 1]);
            i += 2;
            continue;
        }
        if (seq > 0) {
            esc_put(k, s + i, seq);
            i += seq;
            continue;
        }
        switch (c) {
        case '"':
            esc_put(k, "\\\"", 2);
            break;
        case '\\':
            esc_put(k, "\\\\", 2);
            break;
        case '\b':
            esc_put(k, "\\b", 2);
            break;
        case '\f':
            esc_put(k, "\\f", 2);
            break;
        case '\n':
            esc_put(k, "\\n", 2);
            break;
        case '\r':
            esc_put(k, "\\r", 2);
            break;
        case '\t':
            esc_put(k, "\\t", 2);
            break;
        default:
            if (c >= 0x80)
                esc_put(k, "\\ufffd", 6);
            else
                esc_putf(k, "\\u%04x", c);
        }
        i++;
    }
    esc_put(k, "\"", 1);
}

const char *esc_ascii(const char *s, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t starts[4] = {0}; /* where the last few escaped bytes start */
    unsigned n = 0;
    if (len == 0)
        return buf;
    if (s == NULL)
        s = "(null)";
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"';
        size_t need = plain ? 1 : 4;
        if (o + need + 1 > len) {
            /* Cut at the start of a whole escape, leaving room for the
             * "..." and the NUL. */
            for (unsigned k = 0; k < 4 && k < n && o + 4 > len; k++)
                o = starts[(n - 1 - k) % 4];
            if (o + 4 <= len) {
                memcpy(buf + o, "...", 3);
                o += 3;
            }
            break;
        }
        starts[n++ % 4] = o;
        if (plain) {
            buf[o++] = (char)ch;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[ch >> 4];
            buf[o++] = hex[ch & 15];
        }
    }
    buf[o] = '\0';
    return buf;
}
