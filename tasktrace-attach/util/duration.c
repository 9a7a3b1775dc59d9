/* Durations for humans.  See duration.h. */
#include <inttypes.h>
#include <stdio.h>

#include "util/duration.h"

const char *duration_format(int64_t ns, char buf[DURATION_MAX])
{
    const int64_t us = 1000, ms = 1000 * us, s = 1000 * ms;
    const int64_t min = 60 * s, h = 60 * min, d = 24 * h;
    if (ns < 0)
        snprintf(buf, DURATION_MAX, "unknown");
    else if (ns < us)
        snprintf(buf, DURATION_MAX, "%" PRId64 "ns", ns);
    else if (ns < ms)
        snprintf(buf, DURATION_MAX, "%" PRId64 "us", ns / us);
    else if (ns < s)
        snprintf(buf, DURATION_MAX, "%" PRId64 "ms", ns / ms);
    else if (ns < min)
        snprintf(buf, DURATION_MAX, "%" PRId64 ".%02" PRId64 "s", ns / s, ns % s / (10 * ms));
    else if (ns < h)
        snprintf(buf, DURATION_MAX, "%" PRId64 "m%02" PRId64 "s", ns / min, ns % min / s);
    else if (ns < d)
        snprintf(buf, DURATION_MAX, "%" PRId64 "h%02" PRId64 "m", ns / h, ns % h / min);
    else
        snprintf(buf, DURATION_MAX, "%" PRId64 "d%02" PRId64 "h", ns / d, ns % d / h);
    return buf;
}
