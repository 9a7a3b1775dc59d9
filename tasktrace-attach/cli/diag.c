/* The cli's messages, written by the one stderr writer (util/diag), and
 * the error document. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/diag.h"
#include "util/diag.h"
#include "util/duration.h"
#include "util/escape.h"
#include "views/render.h"

const char *progname = "tasktrace-attach";

static char last_message[DIAG_LINE_MAX];
static char fail_code[32];
static bool failed;
static bool output_written;

void msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vline(fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof(last_message), fmt, ap);
    va_end(ap);
}

void fatal(const char *code, const char *fmt, ...)
{
    char line[DIAG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    msg("%s", line);
    snprintf(fail_code, sizeof(fail_code), "%s", code ? code : "FAILED");
    failed = true;
}

void diag_set_failure(const char *code, const char *line)
{
    if (line != last_message)
        snprintf(last_message, sizeof(last_message), "%s", line);
    snprintf(fail_code, sizeof(fail_code), "%s", code);
    failed = true;
}

const char *diag_fail_code(void)
{
    return failed ? fail_code : NULL;
}

const char *diag_last_message(void)
{
    return last_message;
}

const char *esc(char *buf, size_t len, const char *s, bool quote)
{
    return esc_term(buf, len, s, strlen(s), quote);
}

void diag_output_written(void)
{
    output_written = true;
}

void diag_error_document(int pid, int64_t taken_at_ms)
{
    if (output_written || (failed && strcmp(fail_code, "OUTPUT") == 0))
        return;
    render_json_error(stdout, pid, failed ? fail_code : "FAILED", last_message, taken_at_ms);
}
