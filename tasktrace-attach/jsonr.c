/* A small bounded JSON reader (jsonr.h). */
#include <stdio.h>
#include <string.h>

#include "jsonr.h"

void jsonr_init(struct jsonr *j, const char *buf, size_t len)
{
    memset(j, 0, sizeof(*j));
    j->start = j->p = buf;
    j->end = buf + len;
}

bool jsonr_fail(struct jsonr *j, const char *what)
{
    if (!j->failed)
        snprintf(j->why, sizeof(j->why), "%s at byte %zu", what, (size_t)(j->p - j->start));
    j->failed = true;
    j->p = j->end; /* nothing more is read */
    return false;
}

char jsonr_peek(struct jsonr *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
    return j->p < j->end ? *j->p : 0;
}

bool jsonr_expect(struct jsonr *j, char c)
{
    if (jsonr_peek(j) != c || j->failed) {
        char what[32];
        snprintf(what, sizeof(what), "expected '%c'", c);
        return jsonr_fail(j, what);
    }
    j->p++;
    return true;
}

/* Enters one level of nesting, bounded. */
static bool jsonr_enter(struct jsonr *j, char c)
{
    if (j->depth >= JSONR_MAX_DEPTH)
        return jsonr_fail(j, "nested too deep");
    if (!jsonr_expect(j, c))
        return false;
    j->depth++;
    return true;
}

/* After an element or member: ',' (more follow) or CLOSE (none).  The
 * first call of a container is told by FIRST. */
static bool jsonr_next(struct jsonr *j, char close, bool *first)
{
    char c = jsonr_peek(j);
    if (j->failed)
        return false;
    if (c == close) {
        j->p++;
        j->depth--;
        return false;
    }
    if (!*first) {
        if (c != ',')
            return jsonr_fail(j, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        j->p++;
    }
    *first = false;
    return true;
}

/* The "first" flags of the open containers, one bit per depth. */
static bool jsonr_first_bits(struct jsonr *j, bool set, bool value)
{
    uint64_t bit = 1ull << (j->depth & 63);
    if (set)
        j->first = value ? j->first | bit : j->first & ~bit;
    return (j->first & bit) != 0;
}

bool jsonr_object_begin(struct jsonr *j)
{
    if (!jsonr_enter(j, '{'))
        return false;
    jsonr_first_bits(j, true, true);
    return true;
}

bool jsonr_object_next(struct jsonr *j, char *key, size_t keylen)
{
    bool first = jsonr_first_bits(j, false, false);
    bool more = jsonr_next(j, '}', &first);
    if (more) {
        jsonr_first_bits(j, true, false);
        if (!jsonr_string(j, key, keylen) || !jsonr_expect(j, ':'))
            return false;
    }
    return more;
}

bool jsonr_array_begin(struct jsonr *j)
{
    if (!jsonr_enter(j, '['))
        return false;
    jsonr_first_bits(j, true, true);
    return true;
}

bool jsonr_array_next(struct jsonr *j)
{
    bool first = jsonr_first_bits(j, false, false);
    bool more = jsonr_next(j, ']', &first);
    if (more)
        jsonr_first_bits(j, true, false);
    return more;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static bool jsonr_hex4(struct jsonr *j, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = j->p < j->end ? hexval(*j->p) : -1;
        if (h < 0)
            return jsonr_fail(j, "bad \\u escape");
        *v = *v << 4 | (unsigned)h;
        j->p++;
    }
    return true;
}

/* Appends code point CP as UTF-8 to BUF if it fits whole. */
static void put_utf8(char *buf, size_t len, size_t *n, unsigned cp)
{
    char tmp[4];
    size_t k;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xc0 | cp >> 6);
        tmp[1] = (char)(0x80 | (cp & 0x3f));
        k = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xe0 | cp >> 12);
        tmp[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        tmp[2] = (char)(0x80 | (cp & 0x3f));
        k = 3;
    } else {
        tmp[0] = (char)(0xf0 | cp >> 18);
        tmp[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        tmp[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        tmp[3] = (char)(0x80 | (cp & 0x3f));
        k = 4;
    }
    if (*n + k < len) {
        memcpy(buf + *n, tmp, k);
        *n += k;
    }
}

bool jsonr_string(struct jsonr *j, char *buf, size_t len)
{
    size_t n = 0;
    if (!jsonr_expect(j, '"'))
        return false;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20)
            return jsonr_fail(j, "control character in a string");
        if (c != '\\') {
            /* Bytes pass through; a cut never splits a UTF-8 sequence
             * because a partial one is dropped below. */
            if (buf && n + 1 < len)
                buf[n++] = (char)c;
            continue;
        }
        if (j->p >= j->end)
            break;
        char e = *j->p++;
        unsigned cp;
        switch (e) {
        case '"':
            cp = '"';
            break;
        case '\\':
            cp = '\\';
            break;
        case '/':
            cp = '/';
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            if (!jsonr_hex4(j, &cp))
                return false;
            if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' &&
                j->p[1] == 'u') {
                const char *save = j->p;
                unsigned lo;
                j->p += 2;
                if (!jsonr_hex4(j, &lo))
                    return false;
                if (lo >= 0xdc00 && lo < 0xe000)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                else
                    j->p = save;
            }
            if (cp >= 0xd800 && cp < 0xe000)
                cp = 0xfffd;
            break;
        default:
            return jsonr_fail(j, "bad escape in a string");
        }
        if (buf)
            put_utf8(buf, len, &n, cp);
    }
    if (j->p >= j->end)
        return jsonr_fail(j, "unterminated string");
    j->p++;
    if (buf && len > 0) {
        /* Drop a UTF-8 sequence the cut left partial. */
        size_t k = n;
        while (k > 0 && ((unsigned char)buf[k - 1] & 0xc0) == 0x80)
            k--;
        if (k > 0 && (unsigned char)buf[k - 1] >= 0xc0) {
            unsigned char lead = (unsigned char)buf[k - 1];
            size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
            if (n - (k - 1) < want)
                n = k - 1;
        }
        buf[n] = '\0';
    }
    return true;
}

static bool jsonr_literal(struct jsonr *j, const char *word)
{
    size_t n = strlen(word);
    jsonr_peek(j);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return false;
    j->p += n;
    return true;
}

bool jsonr_null(struct jsonr *j)
{
    return !j->failed && jsonr_literal(j, "null");
}

bool jsonr_bool(struct jsonr *j, bool *v)
{
    if (jsonr_literal(j, "true"))
        *v = true;
    else if (jsonr_literal(j, "false"))
        *v = false;
    else
        return jsonr_fail(j, "expected true or false");
    return true;
}

/* Digits of an integer, with an optional '-'; fraction or exponent
 * refused. */
static bool jsonr_digits(struct jsonr *j, bool *neg, uint64_t *mag)
{
    *neg = false;
    *mag = 0;
    jsonr_peek(j);
    if (j->p < j->end && *j->p == '-') {
        *neg = true;
        j->p++;
    }
    const char *d = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        unsigned dig = (unsigned)(*j->p - '0');
        if (*mag > (UINT64_MAX - dig) / 10)
            return jsonr_fail(j, "integer out of range");
        *mag = *mag * 10 + dig;
        j->p++;
    }
    if (j->p == d)
        return jsonr_fail(j, "expected a number");
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return jsonr_fail(j, "expected an integer");
    return true;
}

bool jsonr_uint(struct jsonr *j, uint64_t *v, bool *is_null)
{
    bool neg;
    *v = 0;
    if (is_null && (*is_null = jsonr_null(j)))
        return true;
    if (!jsonr_digits(j, &neg, v))
        return false;
    if (neg && *v)
        return jsonr_fail(j, "expected an unsigned integer");
    return true;
}

bool jsonr_int(struct jsonr *j, int64_t *v, bool *is_null)
{
    bool neg;
    uint64_t mag;
    *v = 0;
    if (is_null && (*is_null = jsonr_null(j)))
        return true;
    if (!jsonr_digits(j, &neg, &mag))
        return false;
    if (mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return jsonr_fail(j, "integer out of range");
    *v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

/* Skips a number's syntax: -?digits(.digits)?([eE][+-]?digits)? */
static bool jsonr_skip_number(struct jsonr *j)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    size_t digits = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++, digits++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (digits == 0) {
        j->p = s;
        return jsonr_fail(j, "expected a value");
    }
    return true;
}

bool jsonr_skip(struct jsonr *j, const char **from, const char **to)
{
    char c = jsonr_peek(j), key[8];
    if (from)
        *from = j->p;
    bool ok;
    if (j->failed)
        return false;
    if (c == '{') {
        ok = jsonr_object_begin(j);
        while (ok && jsonr_object_next(j, key, sizeof(key)))
            ok = jsonr_skip(j, NULL, NULL);
        ok = ok && !j->failed;
    } else if (c == '[') {
        ok = jsonr_array_begin(j);
        while (ok && jsonr_array_next(j))
            ok = jsonr_skip(j, NULL, NULL);
        ok = ok && !j->failed;
    } else if (c == '"') {
        ok = jsonr_string(j, NULL, 0);
    } else if (c == 't' || c == 'f') {
        bool b;
        ok = jsonr_bool(j, &b);
    } else if (c == 'n') {
        ok = jsonr_null(j) || jsonr_fail(j, "expected a value");
    } else {
        ok = jsonr_skip_number(j);
    }
    if (to)
        *to = j->p;
    return ok;
}
