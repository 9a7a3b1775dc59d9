/* The one clock and thread-id helper of the whole project: the runtime, the
 * tool, the tests and the benchmarks include this header instead of writing
 * the timespec-to-nanoseconds conversion again.  Not installed: it is part
 * of the build, like protocol.h, not of the public ABI. */
#ifndef TASKTRACE_CLOCK_H
#define TASKTRACE_CLOCK_H

#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/types.h>

/* A timespec as nanoseconds; negative fields are taken as 0. */
static inline uint64_t trt_timespec_ns(const struct timespec *ts)
{
    if (ts->tv_sec < 0 || ts->tv_nsec < 0)
        return 0;
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Clock `clk` (CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_REALTIME...)
 * in nanoseconds.  Through the vDSO: no syscall for the monotonic clocks. */
static inline uint64_t trt_clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return trt_timespec_ns(&ts);
}

/* Nanoseconds as a timespec, for nanosleep and futex timeouts. */
static inline struct timespec trt_ns_timespec(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    return ts;
}

/* The calling thread's kernel id, uncached (the runtime caches it per
 * thread in trt__tid). */
static inline pid_t trt_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

#endif
