/* A bounded recursive-descent JSON reader (RFC 8259).  See jsonread.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tasktrace/utf8.h>

#include "util/jsonread.h"

struct jsonread_parser {
    const char *s;
    size_t len, pos;
    size_t nvalues;
    char *why;
    size_t whylen;
    int err; /* the first error, 0 while none */
    /* jsonread_parse_each: the root member whose array elements go one at a
     * time to each_fn, instead of into the tree. */
    const char *each_key;
    jsonread_each_fn each_fn;
    void *each_arg;
};

/* Records the first error, with the line and column of the current
 * position; returns ERR. */
static int jsonread_fail(struct jsonread_parser *p, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int jsonread_fail(struct jsonread_parser *p, int err, const char *fmt, ...)
{
    if (p->err != 0)
        return p->err;
    p->err = err;
    if (p->why != NULL && p->whylen > 0) {
        size_t line = 1, col = 1;
        for (size_t i = 0; i < p->pos && i < p->len; i++) {
            if (p->s[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        int w = snprintf(p->why, p->whylen, "line %zu, column %zu: ", line, col);
        if (w >= 0 && (size_t)w < p->whylen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->why + w, p->whylen - (size_t)w, fmt, ap);
            va_end(ap);
        }
    }
    return err;
}

static void jsonread_ws(struct jsonread_parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int jsonread_hex4(struct jsonread_parser *p, unsigned *out)
{
    unsigned v = 0;
    if (p->len - p->pos < 4)
        return jsonread_fail(p, -EINVAL, "a \\u escape needs 4 hex digits");
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return jsonread_fail(p, -EINVAL, "a \\u escape needs 4 hex digits");
    }
    *out = v;
    return 0;
}

/* Reads the string at p->pos (its opening quote) into a malloc'd,
 * NUL-terminated copy.  Raw bytes are copied as they are (the renderers
 * escape whatever they print); a lone surrogate becomes U+FFFD.  One
 * function on purpose, as a parser reads best: a pass that finds the end
 * and whether anything needs decoding, then the decoding loop, one case
 * per escape of RFC 8259. */
static int jsonread_string(struct jsonread_parser *p, char **out, size_t *outlen)
{
    size_t start = ++p->pos, end = start;
    bool plain = true; /* no escape, no control character: copied whole */
    /* The decoded string is never longer than its source. */
    while (end < p->len && p->s[end] != '"') {
        unsigned char c = (unsigned char)p->s[end];
        if (c == '\\' || c < 0x20) {
            plain = false;
            end += c == '\\';
        }
        end++;
    }
    if (end >= p->len) {
        p->pos = start - 1;
        return jsonread_fail(p, -EINVAL, "a string is not closed");
    }
    if (end - start > 6 * (size_t)JSONREAD_MAX_STRING)
        return jsonread_fail(p, -E2BIG, "a string longer than %u bytes", JSONREAD_MAX_STRING);
    char *buf = malloc(end - start + 1);
    if (buf == NULL)
        return jsonread_fail(p, -ENOMEM, "out of memory");
    size_t o = 0;
    if (plain) {
        o = end - start;
        memcpy(buf, p->s + start, o);
        p->pos = end;
    }
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c < 0x20) {
            free(buf);
            p->pos--;
            return jsonread_fail(p, -EINVAL, "a control character in a string");
        }
        if (c != '\\') {
            buf[o++] = (char)c;
            continue;
        }
        char e = p->s[p->pos++];
        unsigned cp;
        switch (e) {
        case '"':
            buf[o++] = '"';
            break;
        case '\\':
            buf[o++] = '\\';
            break;
        case '/':
            buf[o++] = '/';
            break;
        case 'b':
            buf[o++] = '\b';
            break;
        case 'f':
            buf[o++] = '\f';
            break;
        case 'n':
            buf[o++] = '\n';
            break;
        case 'r':
            buf[o++] = '\r';
            break;
        case 't':
            buf[o++] = '\t';
            break;
        case 'u':
            if (jsonread_hex4(p, &cp) != 0) {
                free(buf);
                return p->err;
            }
            if (cp >= 0xd800 && cp < 0xdc00 && p->pos + 6 <= end && p->s[p->pos] == '\\' &&
                p->s[p->pos + 1] == 'u') {
                size_t save = p->pos;
                unsigned lo;
                p->pos += 2;
                if (jsonread_hex4(p, &lo) != 0) {
                    free(buf);
                    return p->err;
                }
                if (lo >= 0xdc00 && lo < 0xe000)
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                else
                    p->pos = save;
            }
            if (cp >= 0xd800 && cp < 0xe000)
                cp = 0xfffd;
            /* \uXXXX is 6 bytes, its UTF-8 at most 3; a pair 12 and 4. */
            o += trt_utf8_put(cp, buf + o);
            break;
        default:
            free(buf);
            p->pos--;
            return jsonread_fail(p, -EINVAL, "a bad escape in a string");
        }
    }
    p->pos = end + 1;
    if (o > JSONREAD_MAX_STRING) {
        free(buf);
        return jsonread_fail(p, -E2BIG, "a string longer than %u bytes", JSONREAD_MAX_STRING);
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return 0;
}

static size_t jsonread_digits(struct jsonread_parser *p)
{
    size_t n = 0;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        p->pos++;
        n++;
    }
    return n;
}

static int jsonread_number(struct jsonread_parser *p, struct jsonread_value *v)
{
    size_t start = p->pos;
    if (p->pos < p->len && p->s[p->pos] == '-')
        p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '0')
        p->pos++;
    else if (jsonread_digits(p) == 0)
        return jsonread_fail(p, -EINVAL, "a bad number");
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (jsonread_digits(p) == 0)
            return jsonread_fail(p, -EINVAL, "a bad number");
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (jsonread_digits(p) == 0)
            return jsonread_fail(p, -EINVAL, "a bad number");
    }
    if (p->pos - start > 64)
        return jsonread_fail(p, -E2BIG, "a number longer than 64 characters");
    char *text = malloc(p->pos - start + 1);
    if (text == NULL)
        return jsonread_fail(p, -ENOMEM, "out of memory");
    memcpy(text, p->s + start, p->pos - start);
    text[p->pos - start] = '\0';
    v->type = JSONREAD_NUMBER;
    v->str = text;
    v->len = p->pos - start;
    return 0;
}

static void jsonread_value_free(struct jsonread_value *v)
{
    for (size_t i = 0; i < v->n; i++)
        jsonread_value_free(&v->items[i]);
    free(v->items);
    free((char *)v->str);
    free((char *)v->key);
}

static int jsonread_value(struct jsonread_parser *p, struct jsonread_value *v, int depth);

/* The array at p->pos (its '['), the root's member p->each_key: each
 * element is parsed, handed to p->each_fn and freed, so that the tree
 * holds one element at a time; V stays an empty array.  The elements'
 * values count against JSONREAD_MAX_VALUES one element at a time. */
static int jsonread_each(struct jsonread_parser *p, struct jsonread_value *v, int depth)
{
    /* The array counts as one value, as each element's values do. */
    if (++p->nvalues > JSONREAD_MAX_VALUES)
        return jsonread_fail(p, -E2BIG, "more than %u values", JSONREAD_MAX_VALUES);
    v->type = JSONREAD_ARRAY;
    p->pos++;
    jsonread_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        struct jsonread_value item = {0};
        size_t before = p->nvalues;
        int err = jsonread_value(p, &item, depth + 1);
        if (err == 0 && (err = p->each_fn(p->each_arg, &item)) != 0)
            jsonread_fail(p, err, "the reader stopped");
        jsonread_value_free(&item);
        if (err != 0)
            return p->err;
        p->nvalues = before;
        jsonread_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        return jsonread_fail(p, -EINVAL, "expected ',' or ']'");
    }
}

/* An array or an object, its opening bracket at p->pos. */
static int jsonread_container(struct jsonread_parser *p, struct jsonread_value *v, int depth)
{
    bool object = p->s[p->pos] == '{';
    char close = object ? '}' : ']';
    size_t cap = 0;
    if (depth >= JSONREAD_MAX_DEPTH)
        return jsonread_fail(p, -E2BIG, "nested deeper than %d", JSONREAD_MAX_DEPTH);
    v->type = object ? JSONREAD_OBJECT : JSONREAD_ARRAY;
    p->pos++;
    jsonread_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    for (;;) {
        if (v->n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct jsonread_value *items = realloc(v->items, ncap * sizeof(*items));
            if (items == NULL)
                return jsonread_fail(p, -ENOMEM, "out of memory");
            v->items = items;
            cap = ncap;
        }
        struct jsonread_value *item = &v->items[v->n];
        bool streamed = false;
        *item = (struct jsonread_value){0};
        v->n++;
        jsonread_ws(p);
        if (object) {
            char *key = NULL;
            size_t klen = 0;
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return jsonread_fail(p, -EINVAL, "expected a member name");
            if (jsonread_string(p, &key, &klen) != 0)
                return p->err;
            item->key = key;
            item->key_len = klen;
            jsonread_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return jsonread_fail(p, -EINVAL, "expected ':'");
            p->pos++;
            jsonread_ws(p);
            if (depth == 0 && p->each_key != NULL && klen == strlen(p->each_key) &&
                memcmp(key, p->each_key, klen) == 0 && p->pos < p->len && p->s[p->pos] == '[') {
                /* The first such member only. */
                p->each_key = NULL;
                streamed = true;
            }
        }
        if (streamed ? jsonread_each(p, item, depth + 1) != 0
                     : jsonread_value(p, item, depth + 1) != 0)
            return p->err;
        jsonread_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return 0;
        }
        return jsonread_fail(p, -EINVAL, "expected ',' or '%c'", close);
    }
}

static int jsonread_value(struct jsonread_parser *p, struct jsonread_value *v, int depth)
{
    if (++p->nvalues > JSONREAD_MAX_VALUES)
        return jsonread_fail(p, -E2BIG, "more than %u values", JSONREAD_MAX_VALUES);
    jsonread_ws(p);
    if (p->pos >= p->len)
        return jsonread_fail(p, -EINVAL, "the document ends early");
    char c = p->s[p->pos];
    size_t left = p->len - p->pos;
    switch (c) {
    case '{':
    case '[':
        return jsonread_container(p, v, depth);
    case '"': {
        char *str = NULL;
        if (jsonread_string(p, &str, &v->len) != 0)
            return p->err;
        v->type = JSONREAD_STRING;
        v->str = str;
        return 0;
    }
    case 'n':
        if (left >= 4 && memcmp(p->s + p->pos, "null", 4) == 0) {
            p->pos += 4;
            v->type = JSONREAD_NULL;
            return 0;
        }
        break;
    case 't':
        if (left >= 4 && memcmp(p->s + p->pos, "true", 4) == 0) {
            p->pos += 4;
            v->type = JSONREAD_TRUE;
            return 0;
        }
        break;
    case 'f':
        if (left >= 5 && memcmp(p->s + p->pos, "false", 5) == 0) {
            p->pos += 5;
            v->type = JSONREAD_FALSE;
            return 0;
        }
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return jsonread_number(p, v);
    }
    return jsonread_fail(p, -EINVAL, "expected a value");
}

int jsonread_parse(const char *text, size_t len, struct jsonread_doc *doc, char *why, size_t whylen)
{
    return jsonread_parse_each(text, len, NULL, NULL, NULL, doc, why, whylen);
}

int jsonread_parse_each(const char *text, size_t len, const char *key, jsonread_each_fn fn,
                        void *arg, struct jsonread_doc *doc, char *why, size_t whylen)
{
    struct jsonread_parser p = {.s = text,
                                .len = len,
                                .why = why,
                                .whylen = whylen,
                                .each_key = fn != NULL ? key : NULL,
                                .each_fn = fn,
                                .each_arg = arg};
    *doc = (struct jsonread_doc){0};
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    if (len > JSONREAD_MAX_INPUT)
        return jsonread_fail(&p, -E2BIG, "the document is larger than %u bytes",
                             JSONREAD_MAX_INPUT);
    int err = jsonread_value(&p, &doc->root, 0);
    if (err == 0) {
        jsonread_ws(&p);
        if (p.pos != p.len)
            err = jsonread_fail(&p, -EINVAL, "more after the document");
    }
    if (err != 0) {
        jsonread_value_free(&doc->root);
        *doc = (struct jsonread_doc){0};
        return err;
    }
    doc->nvalues = p.nvalues;
    return 0;
}

int jsonread_read_fd(int fd, jsonread_wait_fn wait, void *wait_arg, char **text, size_t *textlen,
                     char *why, size_t whylen)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int err = 0;
    if (fstat(fd, &st) != 0) {
        err = -errno;
        snprintf(why, whylen, "%s", strerror(-err));
        goto out;
    }
    /* A regular file says its size: one too large is refused unread.
     * Anything else is read up to one byte past the bound. */
    if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > JSONREAD_MAX_INPUT) {
        err = -E2BIG;
        snprintf(why, whylen, "the document is larger than %u MiB", JSONREAD_MAX_INPUT >> 20);
        goto out;
    }
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : (size_t)1 << 16;
    if ((buf = malloc(cap)) == NULL) {
        err = -ENOMEM;
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    while (len <= JSONREAD_MAX_INPUT) {
        if (len == cap) {
            /* A regular file that grew while read, or a pipe. */
            size_t grown_cap =
                cap * 2 > (size_t)JSONREAD_MAX_INPUT + 1 ? (size_t)JSONREAD_MAX_INPUT + 1 : cap * 2;
            char *grown = realloc(buf, grown_cap);
            if (grown == NULL) {
                err = -ENOMEM;
                snprintf(why, whylen, "out of memory");
                goto out;
            }
            buf = grown;
            cap = grown_cap;
        }
        if (wait != NULL)
            wait(wait_arg);
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = -errno;
            snprintf(why, whylen, "%s", strerror(-err));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > JSONREAD_MAX_INPUT) {
        err = -E2BIG;
        snprintf(why, whylen, "the document is larger than %u MiB", JSONREAD_MAX_INPUT >> 20);
        goto out;
    }
    *text = buf;
    *textlen = len;
    buf = NULL;
out:
    free(buf);
    return err;
}

int jsonread_read_path(const char *path, char **text, size_t *textlen, char *why, size_t whylen)
{
    /* O_NONBLOCK: opening a FIFO with no writer does not wait for one;
     * it is refused below with the other files that are not regular. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    int err = 0;
    if (fd < 0 || fstat(fd, &st) != 0) {
        err = -errno;
        snprintf(why, whylen, "%s", strerror(-err));
    } else if (!S_ISREG(st.st_mode)) {
        err = -EINVAL;
        snprintf(why, whylen, "not a regular file");
    } else {
        err = jsonread_read_fd(fd, NULL, NULL, text, textlen, why, whylen);
    }
    if (fd >= 0)
        close(fd);
    return err;
}

void jsonread_free(struct jsonread_doc *doc)
{
    if (doc == NULL)
        return;
    jsonread_value_free(&doc->root);
    *doc = (struct jsonread_doc){0};
}

const struct jsonread_value *jsonread_get(const struct jsonread_value *v, const char *key)
{
    if (v == NULL || v->type != JSONREAD_OBJECT)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < v->n; i++)
        if (v->items[i].key_len == klen && memcmp(v->items[i].key, key, klen) == 0)
            return &v->items[i];
    return NULL;
}

int jsonread_u64(const struct jsonread_value *v, uint64_t *out)
{
    if (v == NULL || v->type != JSONREAD_NUMBER || v->len == 0 || v->str[0] == '-' ||
        strpbrk(v->str, ".eE") != NULL)
        return -EINVAL;
    uint64_t x = 0;
    for (size_t i = 0; i < v->len; i++) {
        unsigned d = (unsigned)(v->str[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -EINVAL;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

int jsonread_i64(const struct jsonread_value *v, int64_t *out)
{
    if (v == NULL || v->type != JSONREAD_NUMBER || v->len == 0)
        return -EINVAL;
    bool neg = v->str[0] == '-';
    struct jsonread_value mag = *v;
    mag.str += neg;
    mag.len -= neg;
    uint64_t x;
    if (jsonread_u64(&mag, &x) != 0 || x > (uint64_t)INT64_MAX + neg)
        return -EINVAL;
    *out = neg ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}

bool jsonread_true(const struct jsonread_value *v)
{
    return v != NULL && v->type == JSONREAD_TRUE;
}

const char *jsonread_str(const struct jsonread_value *v)
{
    return v != NULL && v->type == JSONREAD_STRING ? v->str : NULL;
}

void jsonread_copy_str(const struct jsonread_value *obj, const char *key, char *buf, size_t len)
{
    const struct jsonread_value *v = jsonread_get(obj, key);
    size_t n = v != NULL && v->type == JSONREAD_STRING ? v->len : 0;
    if (n >= len)
        n = len - 1;
    if (n > 0)
        memcpy(buf, v->str, n);
    buf[n] = '\0';
}
