/* bench_watchdog: what starting the tool's watchdog costs, by the way it
 * is started.  The tool forks it (tasktrace-attach/target/watchdog.c); a clone
 * with CLONE_VM and a small stack would copy no page tables, but its
 * child shares the tool's memory, errno and all, so it could call nothing
 * of libc.  Measured in a process that has touched RSS_MB of memory (the
 * tool's peak is about 12 MiB): the time the parent spends in the call,
 * median and minimum of RUNS.
 *
 *   ./bench/bench_watchdog [RSS_MB [RUNS]]     (default 12 and 51) */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int child_fn(void *arg)
{
    (void)arg;
    /* Raw exit: nothing of libc in a child sharing the parent's memory. */
    syscall(SYS_exit, 0);
    return 0;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 12;
    int runs = argc > 2 ? atoi(argv[2]) : 51;
    if (mb > 4096 || runs < 1 || runs > 10000) {
        fprintf(stderr, "usage: bench_watchdog [RSS_MB [RUNS]]\n");
        return 64;
    }
    char *mem = malloc(mb << 20);
    if (mb && !mem)
        return 1;
    memset(mem, 1, mb << 20);
    double *f = calloc((size_t)runs, sizeof(*f)), *c = calloc((size_t)runs, sizeof(*c));
    char *stack = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!f || !c || stack == MAP_FAILED)
        return 1;
    for (int i = 0; i < runs; i++) {
        double t0 = now_us();
        pid_t p = fork();
        if (p == 0)
            _exit(0);
        f[i] = now_us() - t0;
        waitpid(p, NULL, 0);
        t0 = now_us();
        p = clone(child_fn, stack + 64 * 1024, CLONE_VM | SIGCHLD, NULL);
        c[i] = now_us() - t0;
        waitpid(p, NULL, 0);
    }
    qsort(f, (size_t)runs, sizeof(*f), dbl_cmp);
    qsort(c, (size_t)runs, sizeof(*c), dbl_cmp);
    printf("process of %zu MiB touched, %d runs each, interleaved\n", mb, runs);
    printf("fork:           median %7.1f us  (min %.1f)\n", f[runs / 2], f[0]);
    printf("clone CLONE_VM: median %7.1f us  (min %.1f)\n", c[runs / 2], c[0]);
    return 0;
}
