/* A FILE writer that remembers its first error, so that a renderer can
 * write on unchecked and report once at the end. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "render.h"

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
