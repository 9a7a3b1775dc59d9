/* The one UTF-8 check of the whole project: the runtime's raw dump
 * (libtargetrt/rawdump_writer.c) and the tool's escapers and JSON reader
 * (tasktrace-attach/util/escape.c, jsonread.c) decide with the same code
 * which bytes are valid UTF-8 and which are a C1 control, so a name
 * comes out of a raw dump escaped exactly as the tool escapes it.
 *
 * Pure, static inline, no libc call and no allocation: async-signal-safe
 * and usable anywhere in the runtime.  Not installed: it is part of the
 * build, like protocol.h, not of the public ABI. */
#ifndef TASKTRACE_UTF8_H
#define TASKTRACE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length (1-4) of the valid shortest-form UTF-8 sequence at S, which
 * has N bytes left, or 0 if S[0] does not start one: overlong forms (C0 80,
 * E0 80 80), surrogates (ED A0 80 .. ED BF BF), code points past U+10FFFF
 * (F4 90 80 80 and up), stray continuation bytes and sequences cut short
 * by the end of the input are invalid.  N 0 returns 0. */
static inline size_t trt_utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of s[1] */
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Whether the valid sequence of LEN bytes at S (LEN from trt_utf8_seq)
 * encodes a C1 control, U+0080 .. U+009F, which some terminals obey
 * (U+009B is a CSI): every escaper writes those escaped. */
static inline bool trt_utf8_is_c1(const unsigned char *s, size_t len)
{
    return len == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

/* Writes the code point CP (at most U+10FFFF) as UTF-8 into OUT; returns
 * how many bytes (1-4).  CP is not checked: a surrogate is encoded as it
 * is, so a caller that must write valid UTF-8 replaces those first. */
static inline size_t trt_utf8_put(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

#endif
