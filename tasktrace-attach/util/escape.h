/* Escaping bytes that came from the target (names, paths, messages) so
 * that printing them can neither drive a terminal nor break a JSON
 * document: one escaper for terminals, one for JSON strings, over the
 * project's one UTF-8 check (tasktrace/utf8.h, which the runtime's raw
 * dump shares), and one to printable ASCII for the paths of files the
 * target named.  The text, folded and JSON views, --compare's report
 * (views/render_compare.c) and every stderr line of the tool escape
 * through here.
 *
 * Pure functions of their input; thread-safe. */
#ifndef TT_ESCAPE_H
#define TT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* Where an escaper writes: WRITE(CTX, S, N) takes N bytes at S.  The
 * escapers stop early when STOP is not NULL and *STOP becomes nonzero
 * (a writer that keeps its first error sets it). */
struct esc_sink {
    void (*write)(void *ctx, const char *s, size_t n);
    void *ctx;
    const int *stop;
};

/* Writes S[0 .. LEN) to SINK so that it can't drive a terminal: control
 * bytes, DEL, bytes outside valid UTF-8 and UTF-8-encoded C1 controls
 * (U+0080 .. U+009F, which some terminals obey) become \xNN; with QUOTE,
 * '"' and '\' are backslash-escaped too.  Valid UTF-8 passes through. */
void esc_term_write(const struct esc_sink *sink, const char *s, size_t len, bool quote);

/* The same into BUF (LEN bytes; NUL-terminated, cut short if it does not
 * fit), for a line built with snprintf (stderr, a problem's message).
 * Returns BUF. */
const char *esc_term(char *buf, size_t len, const char *s, size_t n, bool quote);

/* Writes S[0 .. LEN) to SINK as a JSON string, quotes included.  Invalid
 * UTF-8 bytes become U+FFFD one for one: the document stays valid UTF-8
 * and readers see where a byte was lost.  DEL and the C1 controls are
 * escaped too (\u007f, \u0080), so a document printed raw to a terminal
 * stays inert. */
void esc_json_write(const struct esc_sink *sink, const char *s, size_t len);

/* Copies the string S into BUF (LEN bytes, at least 1) for a stderr line
 * about a file the target named (diag.h): every byte that is not
 * printable ASCII, and '\\' and '"', becomes \xNN, so the path shown is
 * the exact bytes to look for; a result longer than BUF is cut at a whole
 * escape and ends in "...".  S NULL reads "(null)".  Returns BUF. */
const char *esc_ascii(const char *s, char *buf, size_t len);

#endif
