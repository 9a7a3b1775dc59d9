/* A FILE writer that remembers its first error, so that a renderer can
 * write on unchecked and report once at the end. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "views/render.h"

void render__out_fail(struct render__out *o)
{
    if (o->err == 0)
        o->err = errno != 0 ? -errno : -EIO;
}

void render__out_printf(struct render__out *o, const char *fmt, ...)
{
    if (o->err != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    errno = 0;
    if (vfprintf(o->f, fmt, ap) < 0)
        render__out_fail(o);
    va_end(ap);
}

void render__out_write(struct render__out *o, const char *s, size_t len)
{
    if (o->err != 0 || len == 0)
        return;
    errno = 0;
    if (fwrite(s, 1, len, o->f) != len)
        render__out_fail(o);
}

void render__out_puts(struct render__out *o, const char *s)
{
    render__out_write(o, s, strlen(s));
}

static void render__out_sink_write(void *ctx, const char *s, size_t n)
{
    render__out_write(ctx, s, n);
}

struct esc_sink render__out_sink(struct render__out *o)
{
    return (struct esc_sink){.write = render__out_sink_write, .ctx = o, .stop = &o->err};
}

static size_t memo_slot(const struct render__memo *m, const void *key)
{
    return (size_t)(((uintptr_t)key >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (m->cap - 1);
}

struct render__memo_entry *render__memo_find(struct render__memo *m, const void *key)
{
    if (!m->cap)
        return NULL;
    for (size_t h = memo_slot(m, key); m->e[h].key; h = (h + 1) & (m->cap - 1))
        if (m->e[h].key == key)
            return &m->e[h];
    return NULL;
}

void render__memo_add(struct render__memo *m, const struct render__memo_entry *add)
{
    if (2 * (m->n + 1) > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 64;
        struct render__memo_entry *e = calloc(cap, sizeof(*e));
        if (!e) {
            if (m->owns)
                free(add->text);
            return;
        }
        struct render__memo old = *m;
        m->e = e;
        m->cap = cap;
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.e[i].key)
                render__memo_add(m, &old.e[i]);
        free(old.e);
    }
    size_t h = memo_slot(m, add->key);
    while (m->e[h].key)
        h = (h + 1) & (m->cap - 1);
    m->e[h] = *add;
    m->n++;
}

void render__memo_free(struct render__memo *m)
{
    for (size_t i = 0; m->owns && i < m->cap; i++)
        free(m->e[i].text);
    free(m->e);
    m->e = NULL;
    m->cap = m->n = 0;
}
