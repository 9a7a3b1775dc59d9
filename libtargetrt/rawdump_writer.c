/* The raw dump's output: a bounded buffer flushed to the caller's sink or
 * to write(2), and the JSON pieces the document is made of (numbers,
 * hexadecimal addresses, strings escaped as the tool escapes them, over
 * the UTF-8 check the tool uses too (tasktrace/utf8.h), and times).  Nothing here allocates or takes a
 * lock; the only system calls are poll and write in trt__write_bounded
 * (the sink is the caller's).  gmtime_r, which trt__out_time calls, is the
 * exception: glibc takes its time-zone lock, and the first time a process
 * converts a time reads the time-zone file and allocates. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tasktrace/utf8.h>

#include "rawdump.h"

/* How long a write of the dump may wait for its destination to take
 * anything. */
#define RAWDUMP_STALL_MS 5000

int trt__write_bounded(int fd, const char *buf, size_t len, uint64_t deadline_ns)
{
    size_t off = 0;
    while (off < len) {
        /* Writable first, and no more than PIPE_BUF at once: a pipe or a
         * terminal nobody reads then makes this wait at most until the
         * deadline instead of forever, without touching the descriptor's
         * flags, which the program shares. */
        uint64_t now = trt_clock_ns(CLOCK_MONOTONIC);
        if (now >= deadline_ns)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
        int ready = poll(&p, 1, left_ms > INT_MAX ? INT_MAX : (int)left_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return -errno;
        if (ready == 0)
            return -ETIMEDOUT;
        if (p.revents & (POLLERR | POLLNVAL))
            return p.revents & POLLNVAL ? -EBADF : -EIO;
        size_t piece = len - off < PIPE_BUF ? len - off : PIPE_BUF;
        ssize_t n = write(fd, buf + off, piece);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        off += (size_t)n;
    }
    return 0;
}

void trt__out_begin(struct trt__out *o, const struct trt__dump_dest *dest)
{
    o->dest = dest;
    o->err = 0;
    o->len = 0;
}

void trt__out_flush(struct trt__out *o)
{
    if (o->err == 0 && o->len > 0) {
        if (o->dest->sink) {
            int r = o->dest->sink(o->dest->arg, o->buf, o->len);
            if (r < 0)
                o->err = r;
        } else {
            /* A destination that takes nothing for this long is given up
             * (-ETIMEDOUT), so that later dumps are not held behind it. */
            o->err =
                trt__write_bounded(o->dest->fd, o->buf, o->len,
                                   trt_clock_ns(CLOCK_MONOTONIC) + RAWDUMP_STALL_MS * 1000000ull);
        }
    }
    o->len = 0;
}

void trt__out_bytes(struct trt__out *o, const char *s, size_t n)
{
    while (n > 0 && o->err == 0) {
        if (o->len == sizeof(o->buf))
            trt__out_flush(o);
        size_t k = sizeof(o->buf) - o->len < n ? sizeof(o->buf) - o->len : n;
        memcpy(o->buf + o->len, s, k);
        o->len += k;
        s += k;
        n -= k;
    }
}

void trt__out_text(struct trt__out *o, const char *s)
{
    trt__out_bytes(o, s, strlen(s));
}

void trt__out_u64(struct trt__out *o, uint64_t v)
{
    char b[24];
    size_t i = sizeof(b);
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    trt__out_bytes(o, b + i, sizeof(b) - i);
}

void trt__out_hex(struct trt__out *o, uint64_t v)
{
    char b[24];
    size_t i = sizeof(b);
    b[--i] = '"';
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    b[--i] = 'x';
    b[--i] = '0';
    b[--i] = '"';
    trt__out_bytes(o, b + i, sizeof(b) - i);
}

/* The escape JSON has for byte c, NULL if none has a short one. */
static const char *short_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        return NULL;
    }
}

/* The escape \u00XX of the code point c (below U+0100). */
static void out_u00(struct trt__out *o, unsigned char c)
{
    char u[6] = {'\\', 'u', '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
    trt__out_bytes(o, u, 6);
}

void trt__out_string(struct trt__out *o, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    trt__out_bytes(o, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        const char *esc = short_escape(c);
        size_t len;
        if (esc) {
            trt__out_text(o, esc);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            out_u00(o, c);
            i++;
        } else if ((len = trt_utf8_seq(s + i, n - i)) == 0) {
            trt__out_text(o, "\\ufffd");
            i++;
        } else if (trt_utf8_is_c1(s + i, len)) {
            /* A C1 control, which some terminals obey: \u0080 .. \u009f,
             * as the tool writes it. */
            out_u00(o, s[i + 1]);
            i += len;
        } else {
            trt__out_bytes(o, (const char *)s + i, len);
            i += len;
        }
    }
    trt__out_bytes(o, "\"", 1);
}

static void out_digits(struct trt__out *o, unsigned v, size_t width)
{
    char b[4];
    for (size_t i = width; i-- > 0; v /= 10)
        b[i] = (char)('0' + v % 10);
    trt__out_bytes(o, b, width);
}

void trt__out_time(struct trt__out *o, const struct timespec *ts)
{
    struct tm tm;
    time_t t = ts->tv_sec;
    if (!gmtime_r(&t, &tm)) {
        trt__out_text(o, "null");
        return;
    }
    trt__out_text(o, "\"");
    out_digits(o, (unsigned)(tm.tm_year + 1900) % 10000, 4);
    trt__out_text(o, "-");
    out_digits(o, (unsigned)tm.tm_mon + 1, 2);
    trt__out_text(o, "-");
    out_digits(o, (unsigned)tm.tm_mday, 2);
    trt__out_text(o, "T");
    out_digits(o, (unsigned)tm.tm_hour, 2);
    trt__out_text(o, ":");
    out_digits(o, (unsigned)tm.tm_min, 2);
    trt__out_text(o, ":");
    out_digits(o, (unsigned)tm.tm_sec, 2);
    trt__out_text(o, ".");
    out_digits(o, (unsigned)(ts->tv_nsec / 1000000), 3);
    trt__out_text(o, "Z\"");
}
