/* The tool's one stderr writer.  See diag.h. */
#include <stdarg.h>
#include <stdio.h>

#include "util/diag.h"
#include "util/escape.h"

static void diag_prefixed(const char *prefix, const char *fmt, va_list ap)
{
    fflush(stdout);
    fprintf(stderr, "tasktrace-attach: %s", prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void diag_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_prefixed("", fmt, ap);
    va_end(ap);
}

void diag_vline(const char *fmt, va_list ap)
{
    diag_prefixed("", fmt, ap);
}

void diag_module(const char *modname, const char *fmt, ...)
{
    char esc[512], prefix[sizeof(esc) + 16];
    va_list ap;
    snprintf(prefix, sizeof(prefix), "module %s: ", esc_ascii(modname, esc, sizeof(esc)));
    va_start(ap, fmt);
    diag_prefixed(prefix, fmt, ap);
    va_end(ap);
}
