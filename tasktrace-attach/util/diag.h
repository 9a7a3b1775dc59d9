/* The one stderr writer of the layers below cli: a warning the tool goes
 * on after, such as a module file it will not read, as one line
 * "tasktrace-attach: <what> <context>: <reason>".  The command line's own
 * messages (cli) are written by its diag; these lines look the same.
 *
 * stdout is flushed first, so a line lands after the output it follows.
 * Not for a forked child, which must not touch stdio (target/watchdog.c
 * writes its one line with write(2)).  Thread-safe as stdio is. */
#ifndef TT_DIAG_H
#define TT_DIAG_H

/* Writes "tasktrace-attach: ", FMT formatted, and a newline.  Every byte
 * of the target in the arguments must already be escaped (escape.h). */
void diag_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes "tasktrace-attach: module MODNAME: ", FMT formatted, and a
 * newline; MODNAME, a path the target named, is escaped here (esc_ascii),
 * every other target string in the arguments by the caller. */
void diag_module(const char *modname, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
