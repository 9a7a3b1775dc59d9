/* The tool's one stderr writer: every line the tool writes on stderr, as
 * "tasktrace-attach: <what> <context>: <reason>".  The layers below cli
 * call it for a warning they go on after, such as a module file they will
 * not read; cli/diag's msg() and fatal() write through diag_vline, and
 * keep the last line for the JSON error document.
 *
 * stdout is flushed first, so a line lands after the output it follows.
 * Not for a forked child, which must not touch stdio (target/watchdog.c
 * writes its one line with write(2)).  Thread-safe as stdio is. */
#ifndef TT_DIAG_H
#define TT_DIAG_H

#include <stdarg.h>

/* Writes "tasktrace-attach: ", FMT formatted, and a newline.  Every byte
 * of the target in the arguments must already be escaped (escape.h). */
void diag_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* diag_line with its arguments as a va_list (AP is used up). */
void diag_vline(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Writes "tasktrace-attach: module MODNAME: ", FMT formatted, and a
 * newline; MODNAME, a path the target named, is escaped here (esc_ascii),
 * every other target string in the arguments by the caller. */
void diag_module(const char *modname, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
