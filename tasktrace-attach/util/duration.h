/* Durations for humans, as the views and the tool's messages print
 * them ("stuck 850ms").  Pure; thread-safe. */
#ifndef TT_DURATION_H
#define TT_DURATION_H

#include <stdint.h>

/* Longest string duration_format writes, NUL included. */
#define DURATION_MAX 32

/* Formats NS for humans into BUF: "420us", "850ms", "1.52s", "3m12s",
 * "2h05m", "3d04h" (truncated, not rounded); "unknown" if NS < 0.
 * Returns BUF. */
const char *duration_format(int64_t ns, char buf[DURATION_MAX]);

#endif
